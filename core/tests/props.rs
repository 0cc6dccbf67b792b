//! Property tests: for every message type, arbitrary valid field values round-trip through
//! encode/decode and through render/parse, under protocol versions 10, 17 and 18.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use ccx_cti::trace::{self, TraceOptions};
use ccx_cti::wire::spec::{FixedType, MessageDef, TagType};
use ccx_cti::wire::{self, decode, tag_def, Encoder, MessageType, WireVersion, MESSAGES};
use proptest::prelude::*;

fn with_layout() -> Vec<&'static MessageDef> {
    MESSAGES.iter().filter(|m| m.layout.is_some()).collect()
}

#[derive(Debug, Clone)]
struct Case {
    message: usize,
    version: u32,
    numbers: Vec<u32>,
    texts: Vec<String>,
    present: Vec<bool>,
}

fn cases() -> impl Strategy<Value = Case> {
    (
        0..with_layout().len(),
        prop::sample::select(vec![10u32, 17, 18]),
        prop::collection::vec(any::<u32>(), 48),
        prop::collection::vec("[A-Za-z0-9.,_-]{0,12}", 48),
        prop::collection::vec(any::<bool>(), 48),
    )
        .prop_map(|(message, version, numbers, texts, present)| Case {
            message,
            version,
            numbers,
            texts,
            present,
        })
}

fn mask(raw: u32, size: usize) -> u32 {
    match size {
        1 => raw & 0xFF,
        2 => raw & 0xFFFF,
        _ => raw,
    }
}

/// Encode the case; returns the frame and the fixed values set (index, raw).
fn encode_case(c: &Case) -> (Vec<u8>, Vec<(usize, u32)>) {
    let def = with_layout()[c.message];
    let layout = def.layout.unwrap();
    let version = WireVersion::new(c.version);
    let mut buf = vec![0u8; 8192];
    let mut enc = Encoder::new(&mut buf, MessageType::from_id(def.id), version);
    let counts: Vec<usize> = layout
        .floating
        .iter()
        .filter_map(|f| f.count_field.map(usize::from))
        .collect();
    let mut set = Vec::new();
    for (i, f) in layout.fixed.iter().enumerate() {
        if !f.present_in(c.version) || matches!(f.ty, FixedType::Bytes(_)) || counts.contains(&i) {
            continue;
        }
        // Reserved slots keep their constant most of the time, as servers send them.
        if f.is_reserved() && !c.present[i % 48] {
            continue;
        }
        let raw = mask(c.numbers[i % 48], f.ty.size());
        enc.set_fixed_raw(i, raw);
        set.push((i, raw));
    }
    let mut done_groups = Vec::new();
    for (j, fl) in layout.floating.iter().enumerate() {
        if fl.since_version > 0 && u32::from(fl.since_version) > c.version {
            continue;
        }
        let include = match fl.group {
            Some(g) => {
                // A whole record or none, decided by its first field.
                let first = layout
                    .floating
                    .iter()
                    .position(|x| x.group == Some(g))
                    .unwrap();
                if j == first {
                    done_groups.push(g);
                }
                c.present[first % 48]
            }
            None => c.present[j % 48],
        };
        if !include {
            continue;
        }
        let text = &c.texts[j % 48];
        let number = c.numbers[(j + 7) % 48];
        let tag = tag_def(fl.tag);
        let ty = tag.map(|t| t.ty).unwrap_or(TagType::Opaque);
        match ty {
            TagType::NamedVariable => {
                enc.named_var(&format!("v_{text}"), &c.texts[(j + 1) % 48]);
            }
            TagType::NamedArray => {
                enc.named_array(
                    u8::try_from(j).unwrap(),
                    &format!("a_{text}"),
                    &c.texts[(j + 1) % 48],
                );
            }
            TagType::Unspec => {
                enc.bytes(
                    fl.tag,
                    &text.as_bytes()[..text.len().min(usize::from(tag.unwrap().max))],
                );
            }
            TagType::String | TagType::Opaque => {
                let max = tag
                    .map(|t| usize::from(t.max))
                    .filter(|m| *m > 0)
                    .unwrap_or(64);
                enc.string(fl.tag, &text[..text.len().min(max - 1)]);
            }
            numeric => {
                enc.number(fl.tag, mask(number, numeric.numeric_size().unwrap()));
            }
        }
    }
    let n = enc.finish().unwrap_or_else(|e| panic!("{}: {e}", def.name));
    buf.truncate(n);
    (buf, set)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn encode_decode_and_render_parse_round_trip(c in cases()) {
        let (frame, set) = encode_case(&c);
        let version = WireVersion::new(c.version);
        let def = with_layout()[c.message];
        let msg = decode(&frame, version).unwrap_or_else(|e| panic!("{}: {e}", def.name));
        prop_assert_eq!(msg.message_type().id(), def.id);
        let layout = def.layout.unwrap();
        for (i, raw) in set {
            prop_assert_eq!(msg.fixed_raw(&layout.fixed[i]), Some(raw), "{} field {}", def.name, i);
        }
        let text = trace::display_with(&msg, TraceOptions { show_secrets: true, indent: 4 }).to_string();
        let mut again = vec![0u8; 8192];
        let n = trace::parse_message(&text, &mut again, version).unwrap_or_else(|e| panic!("{e}\n{text}"));
        prop_assert_eq!(&again[..n], &frame[..], "{}", text);
    }
}

#[test]
fn every_message_type_is_reachable_by_the_property() {
    // The strategy draws message indexes over all messages with a layout.
    assert!(with_layout().len() >= 70);
    assert!(with_layout()
        .iter()
        .any(|m| m.id == wire::MessageType::SetCallDataReq.id()));
}
