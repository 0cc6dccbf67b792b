//! Inputs shared by the criterion benchmarks and the callgrind cases: frames from the guide's
//! traces, a synthetic shift of a busy agent, an open phone, and a naive reference decoder.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::HashMap;

use ccx_cti::config::PhoneConfig;
use ccx_cti::phone::{Instant, Phone, TransportAction};
use ccx_cti::trace::TextParser;
use ccx_cti::wire::spec::{FixedType, TagType};
use ccx_cti::wire::{
    decode, message_def, tag, tag_def, Encoder, FeedResult, FrameAccumulator, MessageType,
    WireVersion,
};

pub const V: WireVersion = WireVersion::DEFAULT;

pub const TRACES: [&str; 4] = [
    include_str!("../../../tests/traces/guide-skip.trace"),
    include_str!("../../../tests/traces/guide-accept.trace"),
    include_str!("../../../tests/traces/guide-consult-transfer.trace"),
    include_str!("../../../tests/traces/guide-queued-answered.trace"),
];

/// The seed: the 7 server messages of the guide's "The Agent Skips the Contact".
pub const SEED: &str = TRACES[0];

pub fn encode_trace(text: &str) -> Vec<Vec<u8>> {
    let mut parser = TextParser::new(text);
    let mut buf = [0u8; 4096];
    let mut frames = Vec::new();
    while let Some(r) = parser.next_message(&mut buf, V) {
        frames.push(buf[..r.unwrap()].to_vec());
    }
    frames
}

/// A frame of `ty` with fixed fields by label, floating strings and named variables.
pub fn frame(
    ty: MessageType,
    fixed: &[(&str, u32)],
    strings: &[(u16, &str)],
    vars: &[(&str, &str)],
) -> Vec<u8> {
    let layout = message_def(ty.id()).and_then(|d| d.layout).unwrap();
    let mut buf = vec![0u8; 4096];
    let mut enc = Encoder::new(&mut buf, ty, V);
    for (label, value) in fixed {
        enc.set_fixed_raw(layout.fixed_named(label).unwrap().0, *value);
    }
    for (t, s) in strings {
        enc.string(*t, s);
    }
    for (name, value) in vars {
        enc.named_var(name, value);
    }
    let n = enc.finish().unwrap();
    buf.truncate(n);
    buf
}

pub const PREVIEW_VARS: [(&str, &str); 8] = [
    ("BACampaign", "LoadCamp"),
    ("BACampaignID", "5"),
    ("BAStatus", "DO"),
    ("BAResponse", ""),
    ("user.layout", "OODefault"),
    ("BAAccountNumber", "AC111"),
    ("BADialedListID", "20779"),
    ("BABuddyName", "John,Doe"),
];

/// One frame per message family the benchmarks decode.
pub struct Families {
    /// CALL_DELIVERED_EVENT (call events).
    pub call_event: Vec<u8>,
    /// AGENT_STATE_EVENT (agent events).
    pub agent_event: Vec<u8>,
    /// SET_CALL_DATA_CONF (confirmations).
    pub confirmation: Vec<u8>,
    /// BEGIN_CALL_EVENT with 8 ECC variables.
    pub begin_call: Vec<u8>,
}

pub fn families() -> Families {
    let accept = encode_trace(TRACES[1]);
    let find = |frames: &[Vec<u8>], ty: MessageType| {
        frames
            .iter()
            .find(|f| decode(f, V).unwrap().message_type() == ty)
            .unwrap()
            .clone()
    };
    Families {
        call_event: find(&accept, MessageType::CallDeliveredEvent),
        agent_event: find(&accept, MessageType::AgentStateEvent),
        confirmation: frame(MessageType::SetCallDataConf, &[("InvokeID", 42)], &[], &[]),
        begin_call: find(&accept, MessageType::BeginCallEvent),
    }
}

/// A busy agent's shift: `calls` inbound and preview calls, every event of each, as one
/// byte stream.
pub fn shift(calls: u32) -> Vec<u8> {
    let mut s = Vec::new();
    for i in 0..calls {
        let id = 16_800_000 + i;
        let preview = i % 3 == 0;
        s.extend(frame(
            MessageType::AgentStateEvent,
            &[("AgentState", if preview { 8 } else { 3 })],
            &[(tag::AGENT_ID, "chli4020"), (tag::AGENT_EXTENSION, "4020")],
            &[],
        ));
        s.extend(frame(
            MessageType::BeginCallEvent,
            &[
                ("ConnectionCallID", id),
                ("CallType", if preview { 18 } else { 1 }),
            ],
            &[
                (tag::CONNECTION_DEVICE_ID, "4020"),
                (tag::ANI, "6125550100"),
            ],
            if preview {
                &PREVIEW_VARS
            } else {
                &PREVIEW_VARS[..2]
            },
        ));
        s.extend(frame(
            MessageType::CallDeliveredEvent,
            &[("ConnectionCallID", id), ("LocalConnectionState", 2)],
            &[
                (tag::ALERTING_DEVICE_ID, "4020"),
                (tag::CONNECTION_DEVICE_ID, "4020"),
                (tag::CALLED_DEVICE_ID, "4020"),
            ],
            &[],
        ));
        s.extend(frame(
            MessageType::SetCallDataConf,
            &[("InvokeID", i + 1)],
            &[],
            &[],
        ));
        s.extend(frame(
            MessageType::CallEstablishedEvent,
            &[("ConnectionCallID", id), ("LocalConnectionState", 3)],
            &[(tag::CONNECTION_DEVICE_ID, "4020")],
            &[],
        ));
        s.extend(frame(
            MessageType::AgentStateEvent,
            &[("AgentState", 4)],
            &[(tag::AGENT_ID, "chli4020"), (tag::AGENT_EXTENSION, "4020")],
            &[],
        ));
        s.extend(frame(
            MessageType::CallDataUpdateEvent,
            &[("ConnectionCallID", id), ("NewConnectionCallID", id)],
            &[
                (tag::CONNECTION_DEVICE_ID, "4020"),
                (tag::NEW_CONNECTION_DEVICE_ID, "4020"),
            ],
            &[("BAResponse", "Accept")],
        ));
        s.extend(frame(
            MessageType::CallConnectionClearedEvent,
            &[("ConnectionCallID", id), ("LocalConnectionState", 0)],
            &[
                (tag::CONNECTION_DEVICE_ID, "4020"),
                (tag::RELEASING_DEVICE_ID, "4020"),
            ],
            &[],
        ));
        s.extend(frame(
            MessageType::EndCallEvent,
            &[("ConnectionCallID", id)],
            &[(tag::CONNECTION_DEVICE_ID, "4020")],
            &[],
        ));
        s.extend(frame(
            MessageType::HeartbeatConf,
            &[("InvokeID", i + 7)],
            &[],
            &[],
        ));
    }
    s
}

/// The guide's traces, all messages, as one stream.
pub fn guide_stream() -> Vec<u8> {
    TRACES
        .iter()
        .flat_map(|t| encode_trace(t))
        .flatten()
        .collect()
}

/// Frame and decode `stream` fed in reads of the sizes in `reads` (cycled) through `acc` (reset
/// first: one accumulator serves a connection, so its 12.5 KB buffer is not cleared per
/// stream); returns the frames decoded (a checksum of work done).
pub fn frame_and_decode(acc: &mut FrameAccumulator, stream: &[u8], reads: &[usize]) -> usize {
    acc.reset();
    let mut decoded = 0usize;
    let mut rest = stream;
    let mut i = 0;
    while !rest.is_empty() {
        let n = reads[i % reads.len()].min(rest.len());
        i += 1;
        let (chunk, after) = rest.split_at(n);
        rest = after;
        let mut input = chunk;
        loop {
            match acc.feed(input) {
                FeedResult::Consumed => break,
                FeedResult::Frame { frame, remaining } => {
                    if let Ok(m) = decode(frame, V) {
                        decoded += m.body().len() & 1 | 1;
                    }
                    input = remaining;
                }
                FeedResult::Error { .. } => return decoded,
            }
        }
    }
    decoded
}

/// TCP-like read sizes: full segments and the odd short one.
pub const READS: [usize; 6] = [1460, 1460, 536, 1460, 97, 1460];

/// Decode and read every field, as a caller that uses them all would.
pub fn decode_and_read(frame: &[u8]) -> usize {
    let msg = decode(frame, V).unwrap();
    let mut acc = 0usize;
    if let Some(layout) = msg.layout() {
        for def in layout.fixed {
            acc = acc.wrapping_add(msg.fixed_raw(def).unwrap_or(0) as usize);
        }
    }
    for f in msg.fields() {
        acc = acc.wrapping_add(f.data.len());
    }
    for v in msg.named_vars() {
        acc = acc.wrapping_add(v.name.len() + v.value.len());
    }
    acc
}

// ---------------------------------------------------------------------------------------------
// The naive reference: one owned allocation per field, the way many CTI client libraries
// decode (a map from field name to an owned value). For ratios only.

#[derive(Debug)]
pub enum NaiveValue {
    Number(u32),
    Text(String),
    Bytes(Vec<u8>),
}

#[derive(Debug)]
pub struct NaiveMessage {
    pub name: String,
    pub fields: HashMap<String, NaiveValue>,
    pub vars: HashMap<String, String>,
}

pub fn naive_decode(frame: &[u8]) -> Option<NaiveMessage> {
    let be = |b: &[u8]| b.iter().fold(0u32, |a, x| (a << 8) | u32::from(*x));
    if frame.len() < 8 {
        return None;
    }
    let len = be(&frame[0..4]) as usize;
    let ty = be(&frame[4..8]);
    let body = frame.get(8..8 + len)?.to_vec();
    let def = message_def(ty)?;
    let layout = def.layout?;
    let mut out = NaiveMessage {
        name: def.name.to_string(),
        fields: HashMap::new(),
        vars: HashMap::new(),
    };
    let mut fixed_end = 0;
    for f in layout.fixed.iter().filter(|f| f.present_in(V.number())) {
        let at = usize::from(f.offset);
        let size = f.ty.size();
        let raw = body.get(at..at + size)?.to_vec();
        fixed_end = fixed_end.max(at + size);
        if f.is_reserved() {
            continue;
        }
        let value = match f.ty {
            FixedType::Bytes(_) => NaiveValue::Bytes(raw),
            _ => NaiveValue::Number(be(&raw)),
        };
        out.fields.insert(f.label.to_string(), value);
    }
    let mut rest = body.get(fixed_end..)?.to_vec();
    while !rest.is_empty() {
        let tag = u16::from(*rest.first()?);
        let n = usize::from(*rest.get(1)?);
        let data = rest.get(2..2 + n)?.to_vec();
        rest = rest[2 + n..].to_vec();
        let ty = tag_def(tag).map(|t| t.ty).unwrap_or(TagType::Opaque);
        match ty {
            TagType::NamedVariable => {
                let parts: Vec<String> = data
                    .split(|b| *b == 0)
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect();
                out.vars
                    .insert(parts.first()?.clone(), parts.get(1)?.clone());
            }
            TagType::String | TagType::Opaque => {
                let text = String::from_utf8_lossy(data.strip_suffix(&[0]).unwrap_or(&data));
                let name = tag_def(tag).map_or(format!("Tag{tag}"), |t| t.name.to_string());
                out.fields.insert(name, NaiveValue::Text(text.into_owned()));
            }
            t if t.numeric_size().is_some() => {
                let name = tag_def(tag).map_or(format!("Tag{tag}"), |t| t.name.to_string());
                out.fields.insert(name, NaiveValue::Number(be(&data)));
            }
            _ => {
                out.fields
                    .insert(format!("Tag{tag}"), NaiveValue::Bytes(data));
            }
        }
    }
    Some(out)
}

/// Read every field of a naive message (the same work as [`decode_and_read`]).
pub fn naive_decode_and_read(frame: &[u8]) -> usize {
    let m = naive_decode(frame).unwrap();
    let mut acc = m.name.len();
    for v in m.fields.values() {
        acc = acc.wrapping_add(match v {
            NaiveValue::Number(n) => *n as usize,
            NaiveValue::Text(s) => s.len(),
            NaiveValue::Bytes(b) => b.len(),
        });
    }
    for (k, v) in &m.vars {
        acc = acc.wrapping_add(k.len() + v.len());
    }
    acc
}

// ---------------------------------------------------------------------------------------------
// The phone

pub fn config() -> PhoneConfig {
    PhoneConfig {
        agent_id: "chli4020".try_into().unwrap(),
        agent_extension: "4020".try_into().unwrap(),
        agent_instrument: "4020".try_into().unwrap(),
        agent_password: "secret".try_into().unwrap(),
        ..PhoneConfig::default()
    }
}

/// A phone with an open session, the agent available, nothing pending.
pub fn open_phone() -> Phone {
    let mut phone: Phone = Phone::new(config());
    let now = Instant::from_millis(1);
    assert_eq!(
        phone.poll_transport(now),
        Some(TransportAction::Connect { server: 0 })
    );
    phone.connected(now);
    let mut buf = [0u8; 2048];
    let mut reply = Vec::new();
    while let Some(n) = phone.poll_transmit(&mut buf) {
        let msg = decode(&buf[..n], V).unwrap();
        let id = msg.invoke_id().unwrap();
        reply.push(match msg.message_type() {
            MessageType::OpenReq => frame(
                MessageType::OpenConf,
                &[("InvokeID", id), ("ServicesGranted", 7), ("AgentState", 3)],
                &[],
                &[],
            ),
            other => panic!("unexpected {other:?}"),
        });
    }
    for r in reply.drain(..) {
        phone.handle_bytes(now, &r);
    }
    while let Some(n) = phone.poll_transmit(&mut buf) {
        let msg = decode(&buf[..n], V).unwrap();
        let id = msg.invoke_id().unwrap();
        reply.push(match msg.message_type() {
            MessageType::QueryAgentStateConf | MessageType::QueryAgentStateReq => frame(
                MessageType::QueryAgentStateConf,
                &[("InvokeID", id), ("AgentState", 3)],
                &[],
                &[],
            ),
            MessageType::SnapshotDeviceReq => frame(
                MessageType::SnapshotDeviceConf,
                &[("InvokeID", id)],
                &[],
                &[],
            ),
            _ => continue,
        });
    }
    for r in reply {
        phone.handle_bytes(now, &r);
    }
    while phone.poll_event().is_some() {}
    phone
}
