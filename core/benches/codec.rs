//! Criterion benchmarks of the codec, the trace text and the phone (`cargo bench -p ccx-cti`).
//!
//! Each decode case runs against a naive reference decoder too (`naive/…`: an owned map of
//! owned values per message, in the benchmarks only), so every figure has a ratio beside it.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::hint::black_box;
use std::time::Duration;

use ccx_cti::phone::{Command, Instant};
use ccx_cti::trace;
use ccx_cti::wire::{decode, fields, tag, AgentState, CallType, Encoder, FixedValue, MessageType};
use common::*;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn decode_families(c: &mut Criterion) {
    let f = families();
    let cases: [(&str, &[u8]); 4] = [
        ("call_event", &f.call_event),
        ("agent_event", &f.agent_event),
        ("confirmation", &f.confirmation),
        ("begin_call_8_vars", &f.begin_call),
    ];
    let mut g = c.benchmark_group("decode");
    for (name, frame) in cases {
        g.throughput(Throughput::Bytes(frame.len() as u64));
        g.bench_function(format!("{name}/view"), |b| {
            b.iter(|| decode(black_box(frame), V).map(|m| m.body().len()))
        });
        g.bench_function(format!("{name}/read_all"), |b| {
            b.iter(|| decode_and_read(black_box(frame)))
        });
        g.bench_function(format!("{name}/naive"), |b| {
            b.iter(|| naive_decode_and_read(black_box(frame)))
        });
    }
    g.finish();
}

/// SET_CALL_DATA_REQ with BAResponse, as the phone answers a preview.
pub fn encode_set_call_data(buf: &mut [u8]) -> usize {
    use fields::set_call_data_req as f;
    let mut enc = Encoder::new(buf, MessageType::SetCallDataReq, V);
    enc.set(f::INVOKE_ID, 42)
        .set(f::CONNECTION_DEVICE_TYPE, FixedValue::from_raw(0))
        .set(f::CONNECTION_CALL_ID, 16_800_098)
        .set(f::CALL_TYPE, CallType::Reservation)
        .string(tag::CONNECTION_DEVICE_ID, "4020")
        .named_var("BAResponse", "Skip");
    enc.finish().unwrap()
}

fn encode_requests(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    let mut buf = [0u8; 512];
    g.bench_function("set_call_data_req_ba_response", |b| {
        b.iter(|| encode_set_call_data(black_box(&mut buf)))
    });
    g.bench_function("set_agent_state_req", |b| {
        b.iter(|| {
            use fields::set_agent_state_req as f;
            let mut enc = Encoder::new(black_box(&mut buf), MessageType::SetAgentStateReq, V);
            enc.set(f::INVOKE_ID, 43)
                .set(f::AGENT_STATE, AgentState::Available)
                .string(tag::AGENT_INSTRUMENT, "4020")
                .string(tag::AGENT_ID, "chli4020");
            enc.finish().unwrap()
        })
    });
    g.bench_function("answer_call_req", |b| {
        b.iter(|| {
            use fields::answer_call_req as f;
            let mut enc = Encoder::new(black_box(&mut buf), MessageType::AnswerCallReq, V);
            enc.set(f::INVOKE_ID, 44)
                .set(f::CONNECTION_CALL_ID, 16_777_301)
                .string(tag::CONNECTION_DEVICE_ID, "4020");
            enc.finish().unwrap()
        })
    });
    g.bench_function("heartbeat_req", |b| {
        b.iter(|| {
            let mut enc = Encoder::new(black_box(&mut buf), MessageType::HeartbeatReq, V);
            enc.set(fields::heartbeat_req::INVOKE_ID, 45);
            enc.finish().unwrap()
        })
    });
    g.finish();
}

fn streams(c: &mut Criterion) {
    let guide = guide_stream();
    let busy = shift(300);
    let mut stream_acc = Box::new(ccx_cti::wire::FrameAccumulator::new());
    let mut g = c.benchmark_group("frame_and_decode");
    g.throughput(Throughput::Bytes(guide.len() as u64));
    g.bench_function("guide_traces", |b| {
        b.iter(|| frame_and_decode(&mut stream_acc, black_box(&guide), &READS))
    });
    g.throughput(Throughput::Bytes(busy.len() as u64));
    g.bench_function("busy_shift_300_calls", |b| {
        b.iter(|| frame_and_decode(&mut stream_acc, black_box(&busy), &READS))
    });
    g.finish();
}

fn trace_text(c: &mut Criterion) {
    let f = families();
    let msg = decode(&f.begin_call, V).unwrap();
    let text = trace::display(&msg).to_string();
    let mut g = c.benchmark_group("trace");
    let mut out = String::with_capacity(4096);
    g.bench_function("render_begin_call", |b| {
        b.iter(|| {
            use std::fmt::Write;
            out.clear();
            write!(out, "{}", trace::display(black_box(&msg))).unwrap();
            out.len()
        })
    });
    let mut buf = [0u8; 4096];
    g.bench_function("parse_begin_call", |b| {
        b.iter(|| trace::parse_message(black_box(&text), &mut buf, V).unwrap())
    });
    g.finish();
}

fn phone(c: &mut Criterion) {
    let mut g = c.benchmark_group("phone");
    let event = frame(
        MessageType::AgentStateEvent,
        &[("AgentState", 3)],
        &[(tag::AGENT_ID, "chli4020"), (tag::AGENT_EXTENSION, "4020")],
        &[],
    );
    let mut p = open_phone();
    let now = Instant::from_millis(2);
    g.bench_function("handle_event_agent_state", |b| {
        b.iter(|| {
            p.handle_frame(now, black_box(&event));
            while p.poll_event().is_some() {}
        })
    });
    // A command, its frame out, its confirmation in.
    let mut p = open_phone();
    let mut tx = [0u8; 1024];
    let mut conf = frame(MessageType::SetAgentStateConf, &[("InvokeID", 0)], &[], &[]);
    g.bench_function("command_ready_round_trip", |b| {
        b.iter(|| {
            let id = p.command(now, Command::Ready).unwrap();
            let n = p.poll_transmit(&mut tx).unwrap();
            conf[8..12].copy_from_slice(&id.value().to_be_bytes());
            p.handle_frame(now, &conf);
            while p.poll_event().is_some() {}
            n
        })
    });
    g.finish();
}

fn seed_flow(c: &mut Criterion) {
    let stream: Vec<u8> = encode_trace(SEED).concat();
    let mut g = c.benchmark_group("seed_flow");
    g.throughput(Throughput::Elements(7));
    let mut p = open_phone();
    let now = Instant::from_millis(3);
    g.bench_function("7_messages_frame_decode_phone", |b| {
        b.iter(|| {
            p.handle_bytes(now, black_box(&stream));
            while p.poll_event().is_some() {}
        })
    });
    g.finish();
}

fn criterion_config() -> Criterion {
    // `NUMBERS_QUICK=1` (scripts/numbers.sh) keeps every case short.
    if std::env::var_os("NUMBERS_QUICK").is_some() {
        Criterion::default()
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1))
            .sample_size(20)
    } else {
        Criterion::default()
    }
}

criterion_group! {
    name = benches;
    config = criterion_config();
    targets = decode_families, encode_requests, streams, trace_text, phone, seed_flow
}
criterion_main!(benches);
