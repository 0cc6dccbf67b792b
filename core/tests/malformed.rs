//! Malformed input: each case gives the documented error with its offset, or is skipped and
//! kept as documented, and never panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use ccx_cti::wire::{decode, tag, AgentState, DecodeErrorKind, Encoder, MessageType, WireVersion};

const V17: WireVersion = WireVersion::new(17);

/// A valid CALL_DATA_UPDATE_EVENT (the seed's), to break in different ways.
fn seed_update() -> Vec<u8> {
    let mut buf = [0u8; 256];
    let mut enc = Encoder::new(&mut buf, MessageType::CallDataUpdateEvent, V17);
    enc.string(tag::CONNECTION_DEVICE_ID, "4020")
        .named_var("BAResponse", "Skip");
    let n = enc.finish().unwrap();
    buf[..n].to_vec()
}

fn with_length(mut frame: Vec<u8>) -> Vec<u8> {
    let body = u32::try_from(frame.len() - 8).unwrap();
    frame[..4].copy_from_slice(&body.to_be_bytes());
    frame
}

#[test]
fn the_valid_frame_decodes() {
    assert!(decode(&seed_update(), V17).is_ok());
}

#[test]
fn a_cut_header() {
    for n in 0..8 {
        let e = decode(&seed_update()[..n], V17).unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::HeaderCut);
        assert_eq!(e.offset, n);
    }
}

#[test]
fn a_length_that_disagrees_with_the_frame() {
    let mut f = seed_update();
    f.pop();
    let e = decode(&f, V17).unwrap_err();
    assert!(
        matches!(
            e.kind,
            DecodeErrorKind::LengthMismatch {
                declared: 65,
                actual: 64
            }
        ),
        "{e}"
    );
}

#[test]
fn a_fixed_part_cut_short() {
    let f = with_length(seed_update()[..8 + 39].to_vec());
    let e = decode(&f, V17).unwrap_err();
    assert_eq!(
        e.kind,
        DecodeErrorKind::FixedPartCut {
            needed: 40,
            available: 39
        }
    );
    assert_eq!(e.offset, 47);
    assert!(
        e.to_string()
            .starts_with("CALL_DATA_UPDATE_EVENT at byte 47: fixed part cut short"),
        "{e}"
    );
}

#[test]
fn a_floating_field_running_past_the_end() {
    let mut f = seed_update();
    f.truncate(f.len() - 3);
    let f = with_length(f);
    let e = decode(&f, V17).unwrap_err();
    // The NamedVariable at body offset 47 (after the 40-byte fixed part and the 7-byte
    // ConnectionDeviceID) declares 16 bytes; 13 remain.
    assert_eq!(
        e.kind,
        DecodeErrorKind::FieldOverrun {
            tag: 82,
            length: 16,
            available: 13
        }
    );
    assert_eq!(e.offset, 8 + 47);
    // Cut inside a tag/length pair.
    let g = with_length(seed_update()[..8 + 40 + 1].to_vec());
    assert_eq!(
        decode(&g, V17).unwrap_err().kind,
        DecodeErrorKind::FieldHeaderCut
    );
}

#[test]
fn a_named_variable_without_its_nul() {
    let mut buf = [0u8; 128];
    let mut enc = Encoder::new(&mut buf, MessageType::CallDataUpdateEvent, V17);
    enc.field(tag::NAMED_VARIABLE, b"BAResponse\0Skip");
    let n = enc.finish().unwrap();
    let e = decode(&buf[..n], V17).unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::NamedVariableNul { tag: 82 });
    assert_eq!(e.offset, 48);
    let mut enc = Encoder::new(&mut buf, MessageType::CallDataUpdateEvent, V17);
    enc.field(tag::NAMED_VARIABLE, b"BAResponse");
    let n = enc.finish().unwrap();
    assert_eq!(
        decode(&buf[..n], V17).unwrap_err().kind,
        DecodeErrorKind::NamedVariableNul { tag: 82 }
    );
}

#[test]
fn a_named_variable_longer_than_allowed() {
    let value = "v".repeat(211);
    let mut data = b"BAResponse\0".to_vec();
    data.extend_from_slice(value.as_bytes());
    data.push(0);
    let mut buf = [0u8; 512];
    let mut enc = Encoder::new(&mut buf, MessageType::CallDataUpdateEvent, V17);
    enc.field(tag::NAMED_VARIABLE, &data);
    let n = enc.finish().unwrap();
    let e = decode(&buf[..n], V17).unwrap_err();
    assert_eq!(
        e.kind,
        DecodeErrorKind::NamedVariableTooLong {
            tag: 82,
            length: 212,
            max: 211
        }
    );
}

#[test]
fn a_count_that_disagrees_with_the_fields() {
    let mut f = seed_update();
    f[8 + 12..8 + 14].copy_from_slice(&2u16.to_be_bytes()); // NumNamedVariables = 2, one present
    let e = decode(&f, V17).unwrap_err();
    assert_eq!(
        e.kind,
        DecodeErrorKind::CountMismatch {
            field: "NumNamedVariables",
            declared: 2,
            found: 1
        }
    );
    assert_eq!(e.offset, 8 + 12);
    assert!(
        e.to_string()
            .contains("NumNamedVariables is 2 but 1 records are present"),
        "{e}"
    );
}

#[test]
fn a_numeric_field_of_the_wrong_size() {
    let mut buf = [0u8; 128];
    let mut enc = Encoder::new(&mut buf, MessageType::AgentStateEvent, V17);
    enc.field(tag::NEXT_AGENT_STATE, &[0, 0, 0, 1]);
    let n = enc.finish().unwrap();
    let e = decode(&buf[..n], V17).unwrap_err();
    assert_eq!(
        e.kind,
        DecodeErrorKind::FieldSize {
            tag: tag::NEXT_AGENT_STATE,
            length: 4,
            expected: 2
        }
    );
}

#[test]
fn an_unknown_message_type_is_kept_with_its_body() {
    let f = [0, 0, 0, 3, 0, 0, 0x12, 0x34, 7, 8, 9];
    let msg = decode(&f, V17).unwrap();
    assert_eq!(msg.message_type(), MessageType::Unknown(0x1234));
    assert_eq!(msg.body(), &[7, 8, 9]);
    assert!(msg.def().is_none());
}

#[test]
fn an_unknown_tag_is_skipped_and_kept() {
    let mut buf = [0u8; 128];
    let mut enc = Encoder::new(&mut buf, MessageType::CallClearedEvent, V17);
    enc.field(250, &[1, 2, 3])
        .string(tag::CONNECTION_DEVICE_ID, "4020");
    let n = enc.finish().unwrap();
    let msg = decode(&buf[..n], V17).unwrap();
    assert_eq!(msg.field(250), Some(&[1, 2, 3][..]));
    assert_eq!(msg.string(tag::CONNECTION_DEVICE_ID), Some("4020"));
}

#[test]
fn an_unknown_enum_value_is_kept_as_a_number() {
    let mut buf = [0u8; 128];
    let mut enc = Encoder::new(&mut buf, MessageType::AgentStateEvent, V17);
    enc.set(
        ccx_cti::wire::fields::agent_state_event::AGENT_STATE,
        AgentState::Unknown(77),
    );
    let n = enc.finish().unwrap();
    let msg = decode(&buf[..n], V17).unwrap();
    assert_eq!(
        msg.get(ccx_cti::wire::fields::agent_state_event::AGENT_STATE),
        Some(AgentState::Unknown(77))
    );
    assert!(ccx_cti::trace::display(&msg)
        .to_string()
        .contains("  AgentState: 77\n"));
}

#[test]
fn too_much_named_data() {
    let mut refused = vec![0u8; 4096];
    let mut typed = Encoder::new(&mut refused, MessageType::CallDataUpdateEvent, V17);
    for i in 0..10 {
        typed.named_var(&format!("v{i}"), &"x".repeat(200));
    }
    assert!(matches!(
        typed.finish(),
        Err(ccx_cti::wire::EncodeError::TooMuchNamedData { .. })
    ));
    let mut buf = vec![0u8; 4096];
    let mut enc = Encoder::new(&mut buf, MessageType::CallDataUpdateEvent, V17);
    let value = "x".repeat(200);
    // The typed writer refuses to go past 2000 bytes; raw fields craft what a faulty server sends.
    for i in 0..10 {
        let data = [format!("v{i}").as_bytes(), &[0], value.as_bytes(), &[0]].concat();
        enc.field(tag::NAMED_VARIABLE, &data);
    }
    let n = enc.finish().unwrap();
    let e = decode(&buf[..n], V17).unwrap_err();
    assert!(
        matches!(e.kind, DecodeErrorKind::TooMuchNamedData { total } if total > 2000),
        "{e}"
    );
}

#[test]
fn handles_of_another_message_read_nothing() {
    let f = seed_update();
    let msg = decode(&f, V17).unwrap();
    assert_eq!(
        msg.get(ccx_cti::wire::fields::call_cleared_event::CONNECTION_CALL_ID),
        None
    );
}

/// Discards what it is given: rendering into it exercises the renderer without allocating.
struct Sink;

impl std::fmt::Write for Sink {
    fn write_str(&mut self, _: &str) -> std::fmt::Result {
        Ok(())
    }
}

#[test]
fn every_truncation_and_every_byte_flip_of_every_vector_is_handled() {
    use std::fmt::Write as _;
    // Every vector: every message with a layout under versions 10, 17 and 18, each mutated
    // under its own version (the tag width differs from v18 on).
    let vectors = common::vectors();
    for v in [10, 17, 18] {
        assert!(vectors.iter().any(|x| x.version == v), "no v{v} vectors");
    }
    let mut decoded = 0usize;
    for v in &vectors {
        let version = WireVersion::new(v.version);
        let frame = &v.frame;
        assert!(
            decode(frame, version).is_ok(),
            "v{}:\n{}",
            v.version,
            v.text
        );
        for cut in 0..frame.len() {
            let _ = decode(&frame[..cut], version);
            let _ = decode(&with_length(frame[..cut.max(8)].to_vec()), version);
        }
        let mut g = frame.clone();
        for i in 8..frame.len() {
            for flip in [0x01u8, 0x80, 0xFF] {
                g[i] ^= flip;
                if let Ok(msg) = decode(&g, version) {
                    // Whatever decodes must render and its accessors must not panic.
                    write!(Sink, "{}", ccx_cti::trace::display(&msg)).unwrap();
                    let _ = msg.named_vars().count();
                    decoded += 1;
                }
                g[i] ^= flip;
            }
        }
    }
    // The flips reach the renderer, not just the error paths.
    assert!(decoded > vectors.len(), "{decoded}");
}
