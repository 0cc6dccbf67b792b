//! Inputs the fuzz targets (fuzz/) found, kept as tests.
//!
//! The ignored ones reproduce findings that are not fixed yet; each says what the fix is.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use ccx_cti::trace;
use ccx_cti::wire::{decode, Encoder, FeedResult, FrameAccumulator, MessageType, WireVersion};

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
/// given, so the parser produces a frame that `decode` refuses (`NumNamedVariables is 1 but
/// 2 records are present`). Fix: `Encoder::finish` (or the parser) checks an explicitly set
/// count against the records it counts and fails instead of writing it.
#[test]
#[ignore = "open finding: the text parser writes a count that contradicts its records"]
fn an_explicit_count_that_contradicts_the_records_is_refused() {
    let text = "MsgType: CALL_DATA_UPDATE_EVENT\n  NumNamedVariables: 1\n  ConnectionCallID: 7\n  \
                ExpandedCallContxt: <TotalBytes: 0>\n  a: 1\n  b: 2\n";
    let mut buf = [0u8; 1024];
    match trace::parse_message(text, &mut buf, WireVersion::DEFAULT) {
        Err(_) => {}
        Ok(n) => {
            decode(&buf[..n], WireVersion::DEFAULT).unwrap();
        }
    }
}

/// fuzz `trace_parse`: a named variable whose name or value holds a NUL is encoded as it is;
/// the frame then fails to decode (`NamedVariable without the NUL after its name or value`),
/// and a phone given such a `SetVar` would send it. Fix: `Encoder::check_named` refuses a
/// NUL in the name or the value.
#[test]
#[ignore = "open finding: Encoder::named_var accepts a NUL inside the name or value"]
fn a_nul_inside_a_named_variable_is_refused_by_the_encoder() {
    let mut buf = [0u8; 256];
    let mut enc = Encoder::new(&mut buf, MessageType::SetCallDataReq, WireVersion::DEFAULT);
    enc.named_var("user\0x", "1");
    match enc.finish() {
        Err(_) => {}
        Ok(n) => {
            decode(&buf[..n], WireVersion::DEFAULT).unwrap();
        }
    }
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
