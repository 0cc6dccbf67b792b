//! Instruction counts under callgrind: `callgrind_cases CASE N` runs one case N times.
//!
//! scripts/callgrind-cases.sh (for scripts/numbers.sh and the CI budgets in .ci/budgets.sh) runs
//! each case with N = 1 and N = 1001 under `valgrind --tool=callgrind` and divides the
//! difference by 1000, so set-up and process start cancel out and the figure is the
//! instructions of one run of the case. `callgrind_cases frames` prints the frames of the
//! stream cases.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::hint::black_box;

use ccx_cti::phone::Instant;
use ccx_cti::trace;
use ccx_cti::wire::{decode, fields, tag, CallType, Encoder, FixedValue, MessageType};
use common::*;

/// The cases, by name.
pub const CASES: [&str; 12] = [
    "decode_call_event",
    "decode_agent_event",
    "decode_confirmation",
    "decode_begin_call",
    "naive_decode_begin_call",
    "encode_set_call_data_req",
    "render_begin_call",
    "parse_begin_call",
    "phone_agent_state_event",
    "seed_flow_7_messages",
    "busy_shift_frame_decode",
    "guide_traces_frame_decode",
];

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_default();
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    if case == "frames" {
        // Frames per run of the stream cases, for per-frame figures.
        println!("busy_shift_frame_decode\t{}", frame_count(&shift(100)));
        println!(
            "guide_traces_frame_decode\t{}",
            frame_count(&guide_stream())
        );
        return;
    }
    if !CASES.contains(&case.as_str()) {
        eprintln!("usage: callgrind_cases CASE N; cases: {}", CASES.join(" "));
        std::process::exit(2);
    }
    let f = families();
    let begin_text = trace::display(&decode(&f.begin_call, V).unwrap()).to_string();
    let seed: Vec<u8> = encode_trace(SEED).concat();
    let busy = shift(100);
    let guide = guide_stream();
    let mut stream_acc = Box::new(ccx_cti::wire::FrameAccumulator::new());
    let event = frame(
        MessageType::AgentStateEvent,
        &[("AgentState", 3)],
        &[(tag::AGENT_ID, "chli4020"), (tag::AGENT_EXTENSION, "4020")],
        &[],
    );
    let mut phone = open_phone();
    let now = Instant::from_millis(5);
    let mut buf = [0u8; 4096];
    let mut text = String::with_capacity(4096);
    let mut sink = 0usize;
    for _ in 0..n {
        sink = sink.wrapping_add(match case.as_str() {
            "decode_call_event" => decode_and_read(black_box(&f.call_event)),
            "decode_agent_event" => decode_and_read(black_box(&f.agent_event)),
            "decode_confirmation" => decode_and_read(black_box(&f.confirmation)),
            "decode_begin_call" => decode_and_read(black_box(&f.begin_call)),
            "naive_decode_begin_call" => naive_decode_and_read(black_box(&f.begin_call)),
            "encode_set_call_data_req" => {
                use fields::set_call_data_req as s;
                let mut enc = Encoder::new(black_box(&mut buf), MessageType::SetCallDataReq, V);
                enc.set(s::INVOKE_ID, 42)
                    .set(s::CONNECTION_DEVICE_TYPE, FixedValue::from_raw(0))
                    .set(s::CONNECTION_CALL_ID, 16_800_098)
                    .set(s::CALL_TYPE, CallType::Reservation)
                    .string(tag::CONNECTION_DEVICE_ID, "4020")
                    .named_var("BAResponse", "Skip");
                enc.finish().unwrap()
            }
            "render_begin_call" => {
                use std::fmt::Write;
                text.clear();
                let msg = decode(&f.begin_call, V).unwrap();
                write!(text, "{}", trace::display(black_box(&msg))).unwrap();
                text.len()
            }
            "parse_begin_call" => {
                trace::parse_message(black_box(&begin_text), &mut buf, V).unwrap()
            }
            "phone_agent_state_event" => {
                phone.handle_frame(now, black_box(&event));
                while phone.poll_event().is_some() {}
                1
            }
            "seed_flow_7_messages" => {
                phone.handle_bytes(now, black_box(&seed));
                while phone.poll_event().is_some() {}
                1
            }
            "busy_shift_frame_decode" => {
                frame_and_decode(&mut stream_acc, black_box(&busy), &READS)
            }
            "guide_traces_frame_decode" => {
                frame_and_decode(&mut stream_acc, black_box(&guide), &READS)
            }
            _ => 0,
        });
    }
    black_box(sink);
}

/// Frames in a stream.
fn frame_count(stream: &[u8]) -> usize {
    let mut acc: ccx_cti::wire::FrameAccumulator = ccx_cti::wire::FrameAccumulator::new();
    let mut n = 0;
    let mut input = stream;
    while let ccx_cti::wire::FeedResult::Frame { remaining, .. } = acc.feed(input) {
        n += 1;
        input = remaining;
    }
    n
}
