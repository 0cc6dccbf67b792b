//! Inputs the fuzz targets (fuzz/) found, kept as tests.
//!
//! Each says what was found and what the fix was.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use ccx_cti::trace;
use ccx_cti::wire::{
    decode, EncodeError, Encoder, FeedResult, FrameAccumulator, MessageType, WireVersion,
};

/// What feeding `stream` in chunks of `chunk` bytes gives: frames, then the first error.
fn frame_in_chunks<const N: usize>(stream: &[u8], chunk: usize) -> (Vec<Vec<u8>>, Option<String>) {
    let mut acc: FrameAccumulator<N> = FrameAccumulator::new();
    let mut frames = Vec::new();
    for piece in stream.chunks(chunk) {
        let mut input = piece;
        loop {
            match acc.feed(input) {
                FeedResult::Consumed => break,
                FeedResult::Frame { frame, remaining } => {
                    frames.push(frame.to_vec());
                    input = remaining;
                }
                FeedResult::Error { error, .. } => return (frames, Some(error.to_string())),
            }
        }
    }
    (frames, None)
}

/// fuzz `framing`: a header that declares a too-long body was refused as soon as 4 of its
/// bytes lay in one read (the fast path), but only after all 8 when they came one by one.
/// The outcome depended on how TCP cut the stream. The fast path now needs a whole header.
#[test]
fn a_too_long_header_is_judged_the_same_whatever_the_reads() {
    let cut_header = [0xFF, 0xFF, 0xFF, 0xFF, 0x00];
    assert_eq!(frame_in_chunks::<64>(&cut_header, 5), (vec![], None));
    assert_eq!(frame_in_chunks::<64>(&cut_header, 1), (vec![], None));
    let mut stream = vec![0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 7];
    stream.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 5, 1, 2]);
    let whole = frame_in_chunks::<64>(&stream, stream.len());
    assert_eq!(whole.0.len(), 1);
    assert!(whole.1.is_some());
    for chunk in 1..stream.len() {
        assert_eq!(
            frame_in_chunks::<64>(&stream, chunk),
            whole,
            "reads of {chunk}"
        );
    }
}

/// fuzz `trace_parse`: an explicit count line that the records do not match is written as
/// given, so the frame does not decode (`NumNamedVariables is 1 but 2 records are present`).
/// That is on purpose: a count the text sets is how a flow or a fault test crafts a frame with
/// a wrong count; a count the text leaves out is filled in from the records.
#[test]
fn an_explicit_count_is_written_as_given_and_an_omitted_one_is_counted() {
    let wrong =
        "MsgType: CALL_DATA_UPDATE_EVENT\n  NumNamedVariables: 1\n  ConnectionCallID: 7\n  \
                 ExpandedCallContxt: <TotalBytes: 0>\n  a: 1\n  b: 2\n";
    let mut buf = [0u8; 1024];
    let n = trace::parse_message(wrong, &mut buf, WireVersion::DEFAULT).unwrap();
    let err = decode(&buf[..n], WireVersion::DEFAULT).unwrap_err();
    assert!(
        err.to_string()
            .contains("NumNamedVariables is 1 but 2 records are present"),
        "{err}"
    );
    let counted = wrong.replace("  NumNamedVariables: 1\n", "");
    let n = trace::parse_message(&counted, &mut buf, WireVersion::DEFAULT).unwrap();
    let msg = decode(&buf[..n], WireVersion::DEFAULT).unwrap();
    assert_eq!(msg.named_vars().count(), 2);
}

/// fuzz `trace_parse`: a named variable whose name or value holds a NUL is encoded as it is;
/// the frame then fails to decode (`NamedVariable without the NUL after its name or value`),
/// and a phone given such a `SetVar` would send it. Fixed: `Encoder::named_var` refuses a NUL
/// in the name or the value (`EncodeError::NulInText`).
#[test]
fn a_nul_inside_a_named_variable_is_refused_by_the_encoder() {
    let mut buf = [0u8; 256];
    let mut enc = Encoder::new(&mut buf, MessageType::SetCallDataReq, WireVersion::DEFAULT);
    enc.named_var("user\0x", "1");
    assert!(
        matches!(enc.finish(), Err(EncodeError::NulInText { tag: 82 })),
        "a NUL in a NamedVariable's name must be refused"
    );
    let mut enc = Encoder::new(&mut buf, MessageType::SetCallDataReq, WireVersion::DEFAULT);
    enc.named_var("user.x", "1\0x");
    assert!(
        matches!(enc.finish(), Err(EncodeError::NulInText { tag: 82 })),
        "a NUL in a NamedVariable's value must be refused"
    );
}

/// no-panic link check (tools/no-panic): `{:pad$}` with a run-time width panics in
/// `core::fmt` when the width exceeds `u16::MAX`, so a huge `TraceOptions::indent` made
/// rendering panic. The indent is now capped.
#[test]
fn a_huge_indent_does_not_panic() {
    let mut buf = [0u8; 64];
    let n = trace::parse_message(
        "MsgType: HEARTBEAT_REQ\n  InvokeID: 7\n",
        &mut buf,
        WireVersion::DEFAULT,
    )
    .unwrap();
    let msg = decode(&buf[..n], WireVersion::DEFAULT).unwrap();
    let text = trace::display_with(
        &msg,
        trace::TraceOptions {
            show_secrets: false,
            indent: 70_000,
        },
    )
    .to_string();
    assert!(text.starts_with("MsgType: HEARTBEAT_REQ\n"));
    assert!(text.ends_with("InvokeID: 7\n"));
}

/// fuzz `decode`: frames that decode but whose trace text does not read back as the same
/// message. The first byte picks the version as in the fuzz target (0: v10, 1: v17, 2: v18,
/// 3: v18 with 2-byte lengths).
///
/// - a reserved byte slot that is neither all 00 nor all ff (TEAM_CONFIG_REQ): rendered as
///   hex, refused by the parser on purpose;
/// - a value longer than its tag's maximum (ANI_II): decoded, but the encoder refuses it;
/// - a named-variable name that reads as something else in text: `#` (a comment), `a:b`
///   (split at the colon), `Tag<…` and `CallVar9` (taken for fields of the message).
///
/// Fixed in the text format: such a named variable, and a value longer than its field, print
/// as `Tag<N>: 0x…` with their raw bytes, and a reserved byte slot reads back as any bytes.
#[test]
fn every_decodable_frame_survives_a_text_round_trip() {
    const CASES: [&str; 5] = [
        "020000000e000000f2000186a000010000090000000000",
        "0100000060000000ed0001b7020000d004000000d0bd020002be055331393000d6055332313400cf055332\
         3037008a05533133380089055331333700d7055331373300860553313334008d040000008dbf0200bf3e04\
         0000003e40020040f70200f7f6055332343600",
        "000000001a00000055000186a000013804000000383902383553043a2300000002003d",
        "01000000c1000000170000000000000001001500000008000000120000010059610000190534303230005214\
         424143616d706169676e004c6f616443616d7000520e424143616d706169676e49440000520c424153746174\
         757300444f00520c4241526573706f6e736500005216757365722e6c3a796f75744f656100664f44756c7400\
         521642414163636f756e744e756d62657200414331313200521542414469616c65644c697374494400323037\
         3739005215424142756464794e616d65004a6f686e2c446f6500",
        "03000000d3000000170000000000000001001500000008000000120000190061010000005900053431323000\
         005200145461673c6d706169676e004c6f616443616d70000052000e424143616d706169676e494400000052\
         000c43616c6c5661723900444f000052000c4241526573706f6e7365000000520016757365722e6c61796f75\
         74004f4f44656661756c74000052001642414163636f756e744e756d626572004143313131000052001542414\
         469616c65644c69737449440032303737390000520015424142756464794e616d65004a6f686e2c446f6500",
    ];
    let mut failures = Vec::new();
    for hex in CASES {
        let digits: Vec<u8> = hex.bytes().filter(u8::is_ascii_hexdigit).collect();
        let bytes: Vec<u8> = digits
            .chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect();
        let version = match bytes[0] % 4 {
            0 => WireVersion::new(10),
            1 => WireVersion::new(17),
            2 => WireVersion::new(18),
            _ => WireVersion::new(18).with_v18_length_width(2),
        };
        let msg = decode(&bytes[1..], version).unwrap();
        let opts = trace::TraceOptions {
            show_secrets: true,
            indent: 2,
        };
        let text = trace::display_with(&msg, opts).to_string();
        let mut buf = vec![0u8; 8192];
        let again = trace::parse_message(&text, &mut buf, version)
            .ok()
            .and_then(|n| decode(&buf[..n], version).ok())
            .map(|m| trace::display_with(&m, opts).to_string());
        if again.as_deref() != Some(text.as_str()) {
            failures.push(text);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// fuzz `trace_parse`: named variables and arrays of more than 2000 bytes in all are encoded,
/// but `decode` refuses the frame (`named variables take 2030 bytes; at most 2000 allowed`).
/// Fixed: `Encoder::named_var`/`named_array` keep the running total and fail past
/// `MAX_NAMED_DATA` (`EncodeError::TooMuchNamedData`).
#[test]
fn named_data_past_2000_bytes_is_refused_by_the_encoder() {
    let mut buf = [0u8; 4096];
    let mut enc = Encoder::new(&mut buf, MessageType::SetCallDataReq, WireVersion::DEFAULT);
    let value = "v".repeat(200);
    for i in 0..10 {
        enc.named_var(&format!("user.var{i}"), &value);
    }
    match enc.finish() {
        Err(EncodeError::TooMuchNamedData { total }) => assert!(total > 2000, "{total}"),
        other => panic!("2,200 bytes of named data must be refused, got {other:?}"),
    }
    // Just under the limit is written and decodes.
    let mut enc = Encoder::new(&mut buf, MessageType::SetCallDataReq, WireVersion::DEFAULT);
    for i in 0..9 {
        enc.named_var(&format!("user.var{i}"), &value);
    }
    let n = enc.finish().unwrap();
    assert_eq!(
        decode(&buf[..n], WireVersion::DEFAULT)
            .unwrap()
            .named_vars()
            .count(),
        9
    );
}

/// fuzz `trace_parse`: a string field sent as a lone NUL and the same field sent with no byte
/// at all both render as `Label:` with nothing after it, and parse back as the lone NUL, so
/// text -> bytes -> text -> bytes changed the frame. Fixed: the zero-length form renders as
/// `0x` (no bytes), the lone NUL still as nothing, as the guide prints it.
#[test]
fn an_empty_string_with_and_without_its_nul_renders_differently() {
    let render = |data: &[u8]| {
        let mut buf = [0u8; 256];
        let mut enc = Encoder::new(
            &mut buf,
            MessageType::QueryAgentStateReq,
            WireVersion::DEFAULT,
        );
        enc.bytes(ccx_cti::wire::tag::AGENT_INSTRUMENT, data);
        let n = enc.finish().unwrap();
        let msg = decode(&buf[..n], WireVersion::DEFAULT).unwrap();
        trace::display(&msg).to_string()
    };
    assert_ne!(render(&[0]), render(&[]));
}

/// fuzz `phone`: a CALL_DELIVERED_EVENT whose named variables turned the pending reservation
/// into a customer call (BAStatus CO) left it offered as the preview; only BEGIN_CALL and
/// CALL_DATA_UPDATE re-checked the preview. Every event that merges call data now does.
#[test]
fn data_on_a_connection_event_that_ends_the_reservation_ends_the_preview() {
    use ccx_cti::config::PhoneConfig;
    use ccx_cti::phone::{Event, Instant, Phone, TransportAction};
    let config = PhoneConfig {
        agent_id: "chli4020".try_into().unwrap(),
        agent_extension: "4020".try_into().unwrap(),
        ..PhoneConfig::default()
    };
    let mut phone: Phone = Phone::new(config);
    let now = Instant::from_secs(1);
    assert_eq!(
        phone.poll_transport(now),
        Some(TransportAction::Connect { server: 0 })
    );
    phone.connected(now);
    let feed = |phone: &mut Phone, text: &str| {
        let mut parser = trace::TextParser::new(text);
        let mut buf = [0u8; 1024];
        while let Some(r) = parser.next_message(&mut buf, WireVersion::DEFAULT) {
            let n = r.unwrap();
            phone.handle_bytes(now, &buf[..n]);
        }
    };
    feed(
        &mut phone,
        "MsgType: OPEN_CONF\n  InvokeID: 1\n  ServicesGranted: 7\n  AgentState: RESERVED\n",
    );
    feed(
        &mut phone,
        "MsgType: BEGIN_CALL_EVENT\n  CallType: CALLTYPE_PREVIEW\n  ConnectionCallID: 9\n  ConnectionDeviceID: 4020\n  \
         ExpandedCallContxt:\n  BAStatus: DO\n",
    );
    // Only BAStatus DO makes this call a reservation.
    assert_eq!(phone.preview().map(|c| c.id), Some(9));
    feed(
        &mut phone,
        "MsgType: CALL_DELIVERED_EVENT\n  ConnectionCallID: 9\n  LocalConnectionState: LCS_ALERTING\n  \
         ConnectionDeviceID: 4020\n  ExpandedCallContxt:\n  BAStatus: CO\n",
    );
    assert!(
        phone.preview().is_none(),
        "BAStatus CO: the call is no longer a reservation"
    );
    let mut events = Vec::new();
    while let Some(e) = phone.poll_event() {
        events.push(e);
    }
    assert!(
        events.contains(&Event::PreviewEnded { call: 9 }),
        "{events:?}"
    );
}
