//! The guide's traces: text -> bytes -> text and bytes -> text -> bytes are exact, and the
//! seed (the guide's "The Agent Skips the Contact") renders exactly as the guide prints it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use ccx_cti::trace::{self, TextParser};
use ccx_cti::wire::{decode, fields, tag, CallType, MessageType, WireVersion};

const SEED: &str = include_str!("../../tests/traces/guide-skip.trace");
const TRACES: [(&str, &str, &str); 3] = [
    (
        "guide-accept",
        include_str!("../../tests/traces/guide-accept.trace"),
        include_str!("../../tests/traces/guide-accept.canonical"),
    ),
    (
        "guide-consult-transfer",
        include_str!("../../tests/traces/guide-consult-transfer.trace"),
        include_str!("../../tests/traces/guide-consult-transfer.canonical"),
    ),
    (
        "guide-queued-answered",
        include_str!("../../tests/traces/guide-queued-answered.trace"),
        include_str!("../../tests/traces/guide-queued-answered.canonical"),
    ),
];

/// Encode every message of `text`; return the frames.
fn encode_all(text: &str, version: WireVersion) -> Vec<Vec<u8>> {
    let mut parser = TextParser::new(text);
    let mut buf = [0u8; 4096];
    let mut frames = Vec::new();
    while let Some(r) = parser.next_message(&mut buf, version) {
        let n = r.unwrap_or_else(|e| panic!("{e}"));
        frames.push(buf[..n].to_vec());
    }
    frames
}

fn render_all(frames: &[Vec<u8>], version: WireVersion) -> String {
    frames
        .iter()
        .map(|f| trace::display(&decode(f, version).unwrap()).to_string())
        .collect()
}

fn without_comments(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn the_seed_renders_exactly_as_the_guide_prints_it() {
    for version in [10, 17] {
        let v = WireVersion::new(version);
        let frames = encode_all(SEED, v);
        assert_eq!(frames.len(), 7);
        assert_eq!(render_all(&frames, v), without_comments(SEED), "v{version}");
    }
}

#[test]
fn the_seeds_call_data_update_has_the_guides_bytes() {
    // The CALL_DATA_UPDATE_EVENT of the seed, laid out by hand from wire-calls.md §3.3.
    let expected = "0000004e00000019\
        00000000 00000001 0015 0000 0001 0000 0012 0000 01005962 0000 01005962 0000 00000000 00000000\
        19 05 34303230 00 2f 05 34303230 00 52 10 4241526573706f6e7365 00 536b6970 00 5f 01 00 60 01 00";
    let expected = common::hex(expected);
    let frames = encode_all(SEED, WireVersion::new(17));
    assert_eq!(frames[2], expected);
    let msg = decode(&frames[2], WireVersion::new(17)).unwrap();
    assert_eq!(msg.message_type(), MessageType::CallDataUpdateEvent);
    assert_eq!(
        msg.get(fields::call_data_update_event::CALL_TYPE),
        Some(CallType::Reservation)
    );
    assert_eq!(
        msg.get(fields::call_data_update_event::NEW_CONNECTION_CALL_ID),
        Some(16_800_098)
    );
    assert_eq!(msg.named_var("BAResponse"), Some("Skip"));
    assert_eq!(msg.string(tag::CUSTOMER_PHONE_NUMBER), Some(""));
}

#[test]
fn baresponse_skip_totals_18_bytes_under_version_17() {
    let frames = encode_all(SEED, WireVersion::new(17));
    let msg = decode(&frames[2], WireVersion::new(17)).unwrap();
    assert_eq!(msg.named_total_bytes(), 18);
    assert!(trace::display(&msg)
        .to_string()
        .contains("  ExpandedCallContxt: <TotalBytes: 18>\n"));
    // Version 18's 2-byte tag makes it 19.
    let frames = encode_all(SEED, WireVersion::new(18));
    let msg = decode(&frames[2], WireVersion::new(18)).unwrap();
    assert_eq!(msg.named_total_bytes(), 19);
}

#[test]
fn every_trace_round_trips_to_its_output_spelling() {
    for version in [10, 17, 18] {
        let v = WireVersion::new(version);
        for (name, text, canonical) in TRACES {
            let frames = encode_all(text, v);
            let rendered = render_all(&frames, v);
            // The canonical files hold the 1-byte-tag totals; v18 tags take a byte more.
            if version < 18 {
                assert_eq!(
                    rendered, canonical,
                    "{name} v{version}: text -> bytes -> text"
                );
            }
            // The output spelling is a fixed point, and bytes -> text -> bytes is exact.
            assert_eq!(
                encode_all(&rendered, v),
                frames,
                "{name} v{version}: bytes -> text -> bytes"
            );
        }
    }
}

#[test]
fn aliases_and_numbers_read_as_the_names_they_stand_for() {
    let v = WireVersion::new(17);
    let by_alias = "MsgType: CALL_DELIVERED_EVENT\n  CallID: 7\n  AlertingDevice: 4020\n  LocalConnectionState: 2\n  NumNamedVars: 0\n";
    let by_name = "MsgType: CALL_DELIVERED_EVENT\n  ConnectionCallID: 7\n  AlertingDeviceID: 4020\n  LocalConnectionState: LCS_ALERTING\n  NumNamedVariables: 0\n";
    assert_eq!(encode_all(by_alias, v), encode_all(by_name, v));
    let states = "MsgType: AGENT_STATE_EVENT\n  AgentState: AGENT_STATE_READY\n  CSQID: -1\n";
    let canonical = "MsgType: AGENT_STATE_EVENT\n  AgentState: AVAILABLE\n  CSQID: N/A\n";
    assert_eq!(encode_all(states, v), encode_all(canonical, v));
}

#[test]
fn the_guides_wrong_total_is_ignored_on_input() {
    // guide-accept prints TotalBytes 161 for variables that take 160.
    let frames = encode_all(TRACES[0].1, WireVersion::new(17));
    let begin = decode(&frames[1], WireVersion::new(17)).unwrap();
    assert_eq!(begin.named_total_bytes(), 160);
    assert_eq!(begin.named_vars().count(), 8);
    assert_eq!(begin.named_var("BABuddyName"), Some("John,Doe"));
}

#[test]
fn secrets_are_masked_unless_asked_for() {
    let text = "MsgType: SET_AGENT_STATE_REQ\n  AgentState: LOGIN\n  AgentInstrument: 4020\n  AgentPassword: hunter2\n";
    let frames = encode_all(text, WireVersion::new(17));
    let msg = decode(&frames[0], WireVersion::new(17)).unwrap();
    let masked = trace::display(&msg).to_string();
    assert!(
        masked.contains("AgentPassword: ********") && !masked.contains("hunter2"),
        "{masked}"
    );
    let shown = trace::display_with(
        &msg,
        trace::TraceOptions {
            show_secrets: true,
            indent: 2,
        },
    )
    .to_string();
    assert!(shown.contains("AgentPassword: hunter2"));
    assert!(
        !format!("{msg:?}").contains("hunter2"),
        "Debug never shows the body"
    );
}

#[test]
fn unknown_types_tags_and_reserved_values_survive_the_round_trip() {
    let v = WireVersion::new(17);
    let text = "MsgType: 999\n  Body: 0x0102\nMsgType: END_CALL_EVENT\n  Reserved@4: 2\n  ConnectionCallID: 5\n  Tag<250>: 0x00ff\n  Tag<251>: hello\n";
    let frames = encode_all(text, v);
    assert_eq!(frames[0], [0, 0, 0, 2, 0, 0, 0x03, 0xE7, 1, 2]);
    let rendered = render_all(&frames, v);
    assert_eq!(
        rendered,
        "MsgType: 999\n  Body: 0x0102\nMsgType: END_CALL_EVENT\n  Reserved@4: 2\n  ConnectionDeviceType: CONNECTION_ID_STATIC\n  ConnectionCallID: 5\n  Tag<250>: 0x00ff\n  Tag<251>: hello\n"
    );
    assert_eq!(encode_all(&rendered, v), frames);
}

#[test]
fn bad_lines_name_their_line_number() {
    let cases = [
        ("  InvokeID: 1\n", 1, "expected a `MsgType: NAME` line"),
        ("MsgType: NO_SUCH_MESSAGE\n", 1, "unknown message type"),
        ("# c\nMsgType: HEARTBEAT_REQ\n  InvokeID 1\n", 3, "expected `Field: value`"),
        ("MsgType: HEARTBEAT_REQ\n  InvokeID: many\n", 2, "bad value for `InvokeID`"),
        ("MsgType: HEARTBEAT_REQ\n  InvokeID: 4294967296\n", 2, "bad value"),
        ("MsgType: CALL_CLEARED_EVENT\n  BAResponse: Skip\n", 2, "unknown field `BAResponse`"),
        ("MsgType: CALL_CLEARED_EVENT\n  LocalConnectionState: LCS_NOPE\n", 2, "bad value"),
        ("MsgType: CALL_CLEARED_EVENT\n  ConnectionDeviceID: 1234567890123456789012345678901234567890123456789012345678901234\n", 2, "at most 64"),
    ];
    for (text, line, what) in cases {
        let mut buf = [0u8; 256];
        let err = trace::parse_message(text, &mut buf, WireVersion::new(17)).unwrap_err();
        assert_eq!(err.line, line, "{text}");
        assert!(err.to_string().contains(what), "{text}: {err}");
    }
    // A field only newer versions have.
    let mut buf = [0u8; 256];
    let err = trace::parse_message(
        "MsgType: SET_AGENT_STATE_REQ\n  AgentCapacity: 1\n",
        &mut buf,
        WireVersion::new(11),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("not part of the message under this protocol version"),
        "{err}"
    );
}

#[test]
fn the_parser_goes_on_after_a_bad_message() {
    let text = "MsgType: HEARTBEAT_REQ\n  Bogus: 1\nMsgType: HEARTBEAT_REQ\n  InvokeID: 9\n";
    let mut parser = TextParser::new(text);
    let mut buf = [0u8; 64];
    assert!(parser
        .next_message(&mut buf, WireVersion::DEFAULT)
        .unwrap()
        .is_err());
    let n = parser
        .next_message(&mut buf, WireVersion::DEFAULT)
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], &[0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 9]);
}

#[test]
fn fields_are_found_by_their_trace_labels() {
    use ccx_cti::trace::{resolve_field, FieldRef, FieldValue};
    let frames = encode_all(SEED, WireVersion::new(17));
    let msg = decode(&frames[2], WireVersion::new(17)).unwrap();
    let def = msg.def();
    let look = |label: &str, after: bool| msg.lookup(&resolve_field(def, label, after).unwrap(), 0);
    assert_eq!(look("CallID", false), Some(FieldValue::Number(16_800_098)));
    assert_eq!(look("CallType", false), Some(FieldValue::Number(18)));
    assert_eq!(
        look("NewConnectionDeviceID", false),
        Some(FieldValue::Bytes(b"4020\0"))
    );
    assert_eq!(look("BAResponse", true), Some(FieldValue::Text("Skip")));
    assert_eq!(
        look("ExpandedCallContxt", false),
        Some(FieldValue::Number(18))
    );
    assert!(
        resolve_field(def, "BAResponse", false).is_err(),
        "a name before ExpandedCallContxt is no field"
    );
    assert_eq!(
        resolve_field(def, "Tag<47>", false).unwrap(),
        FieldRef::Floating(47)
    );
}
