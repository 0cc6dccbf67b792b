//! Byte-level vectors: every message with a layout, under protocol versions 10, 17 and 18, plus
//! the worked examples of the protocol digest and a real server's bytes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use ccx_cti::trace::{self, TraceOptions};
use ccx_cti::wire::{self, decode, fields, tag, Encoder, MessageType, WireVersion};
use common::{hex, hex_of, vectors};

fn shown(msg: &wire::Message<'_>) -> String {
    trace::display_with(
        msg,
        TraceOptions {
            show_secrets: true,
            indent: 2,
        },
    )
    .to_string()
}

#[test]
fn every_message_with_a_layout_has_a_vector_per_version() {
    let with_layout = wire::MESSAGES.iter().filter(|m| m.layout.is_some()).count();
    let all = vectors();
    for v in [10, 17, 18] {
        assert_eq!(
            all.iter().filter(|x| x.version == v).count(),
            with_layout,
            "version {v}"
        );
    }
}

#[test]
fn encoding_the_text_gives_the_vector_bytes() {
    for v in vectors() {
        let mut buf = [0u8; 2048];
        let n = trace::parse_message(&v.text, &mut buf, WireVersion::new(v.version))
            .unwrap_or_else(|e| panic!("v{}: {e}\n{}", v.version, v.text));
        assert_eq!(
            hex_of(&buf[..n]),
            hex_of(&v.frame),
            "v{}:\n{}",
            v.version,
            v.text
        );
    }
}

#[test]
fn decoding_the_vector_bytes_gives_the_text() {
    for v in vectors() {
        let msg = decode(&v.frame, WireVersion::new(v.version))
            .unwrap_or_else(|e| panic!("v{}: {e}\n{}", v.version, v.text));
        assert_eq!(shown(&msg), v.text, "v{}", v.version);
    }
}

#[test]
fn a_vector_decoded_under_a_version_with_other_widths_is_refused_not_misread() {
    // A v18 frame (2-byte tags) read as v17 must not pass as the same message.
    for v in vectors().iter().filter(|v| v.version == 18) {
        let body_has_fields = decode(&v.frame, WireVersion::new(18))
            .unwrap()
            .fields()
            .next()
            .is_some();
        if !body_has_fields {
            continue;
        }
        let as_17 = decode(&v.frame, WireVersion::new(17)).map(|m| shown(&m));
        assert_ne!(as_17.ok().as_deref(), Some(v.text.as_str()));
    }
}

// ---- the digest's worked examples (wire-session.md §1.5, §1.6, §6) ----

#[test]
fn heartbeat_req_worked_example() {
    let mut buf = [0u8; 32];
    let mut enc = Encoder::new(&mut buf, MessageType::HeartbeatReq, WireVersion::new(17));
    enc.set(fields::heartbeat_req::INVOKE_ID, 7);
    let n = enc.finish().unwrap();
    assert_eq!(&buf[..n], &hex("00000004 00000005 00000007")[..]);
}

#[test]
fn open_req_worked_example() {
    use fields::open_req as f;
    let expected = hex("00000040 00000003
         00000001 00000011 00000050 00000000 00000007 0001EFFF 000001FF 00000000
         00000000 00000000 00000000
         01 02 61 00 | 02 00 | 06 05 32 30 30 31 00 | C2 05 6A 64 6F 65 00");
    let mut buf = [0u8; 128];
    let mut enc = Encoder::new(&mut buf, MessageType::OpenReq, WireVersion::new(17));
    enc.set(f::INVOKE_ID, 1)
        .set(f::VERSION_NUMBER, 17)
        .set(f::IDLE_TIMEOUT, 80)
        .set(f::SERVICES_REQUESTED, 7)
        .set(f::CALL_MSG_MASK, 0x0001_EFFF)
        .set(f::AGENT_STATE_MASK, 0x1FF)
        .string(tag::CLIENT_ID, "a")
        .bytes(tag::CLIENT_PASSWORD, b"")
        .string(tag::AGENT_INSTRUMENT, "2001")
        .string(tag::AGENT_ID, "jdoe");
    let n = enc.finish().unwrap();
    assert_eq!(hex_of(&buf[..n]), hex_of(&expected));
    let msg = decode(&expected, WireVersion::new(17)).unwrap();
    assert_eq!(msg.get(f::IDLE_TIMEOUT), Some(80));
    assert_eq!(msg.string(tag::AGENT_ID), Some("jdoe"));
    assert_eq!(msg.field(tag::CLIENT_PASSWORD), Some(&[][..]));
}

#[test]
fn floating_field_worked_examples() {
    // ClientID "ab" -> 01 03 61 62 00; NamedVariable x=1 -> 52 04 78 00 31 00.
    let mut buf = [0u8; 64];
    let mut enc = Encoder::new(
        &mut buf,
        MessageType::CallDataUpdateEvent,
        WireVersion::new(17),
    );
    enc.string(tag::CLIENT_ID, "ab").named_var("x", "1");
    let n = enc.finish().unwrap();
    assert_eq!(
        &buf[8 + 40..n],
        &hex("01 03 61 62 00 52 04 78 00 31 00")[..]
    );
}

#[test]
fn a_real_servers_begin_call_event_decodes() {
    // README decision 8: floating fields in any order; ConnectionDeviceID is not first.
    let frame = hex(
        "00000036 00000017 00000000 00000001 0015 0000 0000 0000 0001 0000 01000110 0000
         08 05 32303036 00 0B 05 37303030 00 19 05 39303236 00 0A 05 37303030 00",
    );
    let msg = decode(&frame, WireVersion::new(16)).unwrap();
    use fields::begin_call_event as f;
    assert_eq!(msg.message_type(), MessageType::BeginCallEvent);
    assert_eq!(msg.get(f::CALL_TYPE), Some(wire::CallType::CcxIn));
    assert_eq!(msg.get(f::CONNECTION_CALL_ID), Some(0x0100_0110));
    assert_eq!(msg.string(tag::CONNECTION_DEVICE_ID), Some("9026"));
    assert_eq!(msg.string(tag::ANI), Some("2006"));
    assert_eq!(msg.string(tag::DNIS), Some("7000"));
    assert_eq!(msg.string(tag::DIALED_NUMBER), Some("7000"));
    let tags: Vec<u16> = msg.fields().map(|f| f.tag).collect();
    assert_eq!(
        tags,
        [
            tag::ANI,
            tag::DIALED_NUMBER,
            tag::CONNECTION_DEVICE_ID,
            tag::DNIS
        ]
    );
}

#[test]
fn version_12_adds_agent_capacity_to_set_agent_state_req() {
    use fields::set_agent_state_req as f;
    for (version, fixed) in [(11, 17), (12, 21)] {
        let mut buf = [0u8; 64];
        let mut enc = Encoder::new(
            &mut buf,
            MessageType::SetAgentStateReq,
            WireVersion::new(version),
        );
        enc.set(f::AGENT_STATE, wire::AgentState::Login);
        if version >= 12 {
            enc.set(f::AGENT_CAPACITY, 1);
        }
        let n = enc.finish().unwrap();
        assert_eq!(n, 8 + fixed, "v{version}");
        let msg = decode(&buf[..n], WireVersion::new(version)).unwrap();
        assert_eq!(msg.get(f::AGENT_CAPACITY), (version >= 12).then_some(1));
    }
    // Setting the v12 field under v11 is an error, not a silently longer message.
    let mut buf = [0u8; 64];
    let mut enc = Encoder::new(
        &mut buf,
        MessageType::SetAgentStateReq,
        WireVersion::new(11),
    );
    enc.set(f::AGENT_CAPACITY, 1);
    assert!(matches!(
        enc.finish(),
        Err(wire::EncodeError::NotInMessage { message: 38 })
    ));
}

#[test]
fn buffer_too_small_reports_the_size_needed() {
    let mut big = [0u8; 256];
    let mut enc = Encoder::new(&mut big, MessageType::SetCallDataReq, WireVersion::new(17));
    enc.string(tag::CONNECTION_DEVICE_ID, "4020")
        .named_var("BAResponse", "Skip");
    let needed = enc.finish().unwrap();
    for size in 0..needed {
        let mut small = vec![0u8; size];
        let mut enc = Encoder::new(
            &mut small,
            MessageType::SetCallDataReq,
            WireVersion::new(17),
        );
        enc.string(tag::CONNECTION_DEVICE_ID, "4020")
            .named_var("BAResponse", "Skip");
        assert_eq!(
            enc.finish(),
            Err(wire::EncodeError::BufferTooSmall { needed }),
            "buffer of {size}"
        );
    }
}

#[test]
fn values_longer_than_their_field_are_refused() {
    let mut buf = [0u8; 512];
    let mut enc = Encoder::new(&mut buf, MessageType::SetCallDataReq, WireVersion::new(17));
    enc.string(tag::AGENT_EXTENSION, "12345678901234567"); // 17 chars + NUL > 16
    assert_eq!(
        enc.finish(),
        Err(wire::EncodeError::ValueTooLong {
            tag: tag::AGENT_EXTENSION,
            length: 18,
            max: 16
        })
    );
    let long_name = "n".repeat(33);
    let mut enc = Encoder::new(&mut buf, MessageType::SetCallDataReq, WireVersion::new(17));
    enc.named_var(&long_name, "v");
    assert!(matches!(
        enc.finish(),
        Err(wire::EncodeError::ValueTooLong { tag: 82, .. })
    ));
}
