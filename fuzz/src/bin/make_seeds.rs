//! Writes the seed corpora of the fuzz targets from the repository's traces and byte vectors.
//!
//! `cargo run --no-default-features --features seeds --bin make-seeds -- <corpus dir>`
//! (run from `fuzz/`; the default directory is `corpus`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::fs;
use std::path::{Path, PathBuf};

use ccx_cti::trace::TextParser;
use ccx_cti::wire::{tag, Encoder, MessageType, WireVersion};
use ccx_cti_fuzz::{op, version_byte};

const VERSIONS: [(u32, u8); 4] = [(10, 1), (17, 1), (18, 1), (18, 2)];

fn hex(s: &str) -> Vec<u8> {
    let digits: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect()
}

/// (version, text, frame) of every vector in vectors.txt.
fn vectors(root: &Path) -> Vec<(u32, String, Vec<u8>)> {
    let text = fs::read_to_string(root.join("core/tests/data/vectors.txt")).unwrap();
    let mut out = Vec::new();
    let mut version = 17;
    let mut msg = String::new();
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("@version ") {
            version = v.parse().unwrap();
        } else if let Some(h) = line.strip_prefix("= ") {
            out.push((version, std::mem::take(&mut msg), hex(h)));
        } else if !(line.starts_with('#') || line.is_empty()) {
            msg.push_str(line);
            msg.push('\n');
        }
    }
    out
}

fn encode_trace(text: &str, version: WireVersion) -> Vec<Vec<u8>> {
    let mut parser = TextParser::new(text);
    let mut buf = vec![0u8; 1 << 16];
    let mut frames = Vec::new();
    while let Some(r) = parser.next_message(&mut buf, version) {
        frames.push(buf[..r.unwrap()].to_vec());
    }
    frames
}

fn frame(ty: MessageType, fixed: &[(&str, u32)], floats: &[(u16, u32)]) -> Vec<u8> {
    let layout = ccx_cti::wire::message_def(ty.id())
        .and_then(|d| d.layout)
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let mut enc = Encoder::new(&mut buf, ty, WireVersion::DEFAULT);
    for (label, value) in fixed {
        enc.set_fixed_raw(layout.fixed_named(label).unwrap().0, *value);
    }
    for (t, v) in floats {
        enc.number(*t, *v);
    }
    let n = enc.finish().unwrap();
    buf.truncate(n);
    buf
}

fn long_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(op::LONG_BYTES);
    out.extend_from_slice(&u16::try_from(bytes.len()).unwrap().to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The phone target's input for: connect, open, resynchronise, then `story` (server frames),
/// the agent's `answer` to the preview, and a reconnect.
fn phone_story(head: u8, story: &[Vec<u8>], answer: u8) -> Vec<u8> {
    let mut s = vec![head, op::CONNECT, op::TRANSMIT];
    long_bytes(
        &mut s,
        &frame(
            MessageType::OpenConf,
            &[("InvokeID", 1), ("ServicesGranted", 7), ("AgentState", 3)],
            &[],
        ),
    );
    s.push(op::TRANSMIT);
    long_bytes(
        &mut s,
        &frame(
            MessageType::QueryAgentStateConf,
            &[("InvokeID", 2), ("AgentState", 3)],
            &[],
        ),
    );
    long_bytes(
        &mut s,
        &frame(
            MessageType::SnapshotDeviceConf,
            &[("InvokeID", 3)],
            &[(tag::CALL_CONNECTION_CALL_ID, 16_800_095)],
        ),
    );
    s.push(op::EVENTS);
    for f in story {
        long_bytes(&mut s, f);
        s.push(op::EVENTS);
    }
    s.extend_from_slice(&[op::COMMAND, 15, answer, op::TRANSMIT, op::EVENTS]);
    s.extend_from_slice(&[op::COMMAND, 2, op::TRANSMIT, op::ADVANCE, 0x07, 0xD0]);
    s.extend_from_slice(&[op::DEADLINE, op::TRANSMIT, op::EVENTS, op::DISCONNECT]);
    s.extend_from_slice(&[
        op::ADVANCE,
        0x03,
        0xE8,
        op::CONNECT,
        op::TRANSMIT,
        op::EVENTS,
    ]);
    s
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join(name), bytes).unwrap();
}

fn main() {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "corpus".into()));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut traces: Vec<(String, String)> = fs::read_dir(root.join("tests/traces"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "trace"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, fs::read_to_string(&p).unwrap())
        })
        .collect();
    traces.sort();
    let mut written = 0usize;
    for (name, text) in &traces {
        for (version, width) in VERSIONS {
            let v = WireVersion::new(version).with_v18_length_width(width);
            let vb = version_byte(version, width);
            let frames = encode_trace(text, v);
            for (i, f) in frames.iter().enumerate() {
                let mut seed = vec![vb];
                seed.extend_from_slice(f);
                write(&out.join("decode"), &format!("{name}-v{vb}-{i}"), &seed);
                written += 1;
            }
            let mut stream = vec![5u8, 3];
            stream.extend(frames.concat());
            write(&out.join("framing"), &format!("{name}-v{vb}"), &stream);
            let mut t = vec![vb];
            t.extend_from_slice(text.as_bytes());
            write(&out.join("trace_parse"), &format!("{name}-v{vb}"), &t);
            written += 2;
        }
        let frames = encode_trace(text, WireVersion::DEFAULT);
        for (head, answer) in [(0u8, 0u8), (4, 3), (1, 1)] {
            write(
                &out.join("phone"),
                &format!("{name}-h{head}-a{answer}"),
                &phone_story(head, &frames, answer),
            );
            written += 1;
        }
    }
    let vectors = vectors(&root);
    for (i, (version, text, frame)) in vectors.iter().enumerate() {
        let vb = version_byte(*version, 1);
        let mut seed = vec![vb];
        seed.extend_from_slice(frame);
        write(&out.join("decode"), &format!("vector-{i}"), &seed);
        let mut t = vec![vb];
        t.extend_from_slice(text.as_bytes());
        write(&out.join("trace_parse"), &format!("vector-{i}"), &t);
        written += 2;
    }
    for version in [10u32, 17, 18] {
        let mut stream = vec![1u8, 200];
        for (_, _, f) in vectors.iter().filter(|(v, _, _)| *v == version) {
            stream.extend_from_slice(f);
        }
        write(
            &out.join("framing"),
            &format!("vectors-v{version}"),
            &stream,
        );
        written += 1;
    }
    println!("wrote {written} seeds under {}", out.display());
}
