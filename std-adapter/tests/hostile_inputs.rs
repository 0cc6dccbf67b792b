//! Files from a live contact center are whatever they are: cut off, edited by hand, damaged on
//! the way. Every reader `ccx` has (flow files, captures, server logs, recorder dumps,
//! configuration blobs and TOML files) takes the project's own samples with random damage and
//! must answer with a result or an error, never a panic; a flow that parses is also run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use proptest::prelude::*;

mod support;

use ccx_cti_std::flow::{parse_flow, run_flow, validate};
use ccx_cti_std::wiretools::logs::decode_log;
use ccx_cti_std::wiretools::pcap::decode_capture;
use ccx_cti_std::wiretools::DecodeOptions;
use ccx_cti_std::{config_file, recorder};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn files(dir: &str, ext: &str) -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(repo().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no *.{ext} in {dir}");
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn flows() -> &'static [Vec<u8>] {
    static FLOWS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    FLOWS.get_or_init(|| files("tests/flows", "flow"))
}

fn logs() -> &'static [Vec<u8>] {
    static LOGS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    LOGS.get_or_init(|| files("std-adapter/tests/data/logs", "log"))
}

fn dump() -> &'static [u8] {
    static DUMP: OnceLock<Vec<u8>> = OnceLock::new();
    DUMP.get_or_init(|| {
        std::fs::read(repo().join("std-adapter/tests/data/recorder-golden.dump")).unwrap()
    })
}

/// The demo story as a pcap (Ethernet, IPv4, TCP) in 7-byte segments, written by `ccx
/// proxy`'s code.
fn capture() -> &'static [u8] {
    static PCAP: OnceLock<Vec<u8>> = OnceLock::new();
    PCAP.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("ccx-hostile-{}.pcap", std::process::id()));
        support::proxied::demo_through_proxy(Some(&path), Box::new(std::io::sink()), 7);
        let bytes = std::fs::read(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        bytes
    })
}

fn blob() -> &'static [u8] {
    static BLOB: OnceLock<Vec<u8>> = OnceLock::new();
    BLOB.get_or_init(|| {
        let cfg = ccx_cti::config::PhoneConfig::default();
        config_file::encode_blob(&cfg).unwrap()
    })
}

/// Pieces a hand edit or a damaged file leaves in text.
const TOKENS: &[&str] = &[
    "",
    " ",
    "\t",
    ":",
    "::",
    "[",
    "]",
    "[99999999999]",
    "-1",
    "4294967296",
    "N/A",
    "#",
    "MsgType:",
    "MsgType: BEGIN_CALL_EVENT",
    "  ExpandedCallContxt: <TotalBytes: 99999>",
    "  BAResponse:",
    "server:",
    "client:",
    "expect:",
    "agent: preview",
    "time: +",
    "time: +5s",
    "net: drop",
    "net: reconnect",
    "start: logged-in",
    "step 1:",
    "config:",
    "é",
    "\u{0}",
    "0x",
    "fff",
    "=",
    "!=",
    "call[",
    "].var[",
    "{",
    "}",
    "<",
    ">",
    ",",
];

/// One edit of a text, by lines.
#[derive(Debug, Clone)]
enum LineEdit {
    Delete(usize),
    Duplicate(usize),
    Swap(usize, usize),
    Insert(usize, usize),
    /// Replace from a byte offset of a line to its end with a token.
    CutTail(usize, usize, usize),
    /// Insert a token at a byte offset of a line.
    Splice(usize, usize, usize),
}

fn line_edit() -> impl Strategy<Value = LineEdit> {
    let i = any::<usize>();
    let t = 0..TOKENS.len();
    prop_oneof![
        i.prop_map(LineEdit::Delete),
        i.prop_map(LineEdit::Duplicate),
        (i, i).prop_map(|(a, b)| LineEdit::Swap(a, b)),
        (i, t.clone()).prop_map(|(a, t)| LineEdit::Insert(a, t)),
        (i, i, t.clone()).prop_map(|(a, at, t)| LineEdit::CutTail(a, at, t)),
        (i, i, t).prop_map(|(a, at, t)| LineEdit::Splice(a, at, t)),
    ]
}

fn char_boundary(line: &str, at: usize) -> usize {
    let mut at = at % (line.len() + 1);
    while !line.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn edit_text(text: &str, edits: &[LineEdit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for edit in edits {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let n = lines.len();
        match *edit {
            LineEdit::Delete(a) => {
                lines.remove(a % n);
            }
            LineEdit::Duplicate(a) => {
                let line = lines[a % n].clone();
                lines.insert(a % n, line);
            }
            LineEdit::Swap(a, b) => lines.swap(a % n, b % n),
            LineEdit::Insert(a, t) => lines.insert(a % (n + 1), TOKENS[t].to_owned()),
            LineEdit::CutTail(a, at, t) => {
                let line = &mut lines[a % n];
                let at = char_boundary(line, at);
                line.truncate(at);
                line.push_str(TOKENS[t]);
            }
            LineEdit::Splice(a, at, t) => {
                let line = &mut lines[a % n];
                let at = char_boundary(line, at);
                line.insert_str(at, TOKENS[t]);
            }
        }
    }
    lines.join("\n")
}

/// One edit of binary data.
#[derive(Debug, Clone)]
enum ByteEdit {
    Flip(usize, u8),
    Delete(usize),
    Insert(usize, u8),
    Truncate(usize),
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    let i = any::<usize>();
    prop_oneof![
        4 => (i, 1..=255u8).prop_map(|(a, x)| ByteEdit::Flip(a, x)),
        1 => i.prop_map(ByteEdit::Delete),
        1 => (i, any::<u8>()).prop_map(|(a, x)| ByteEdit::Insert(a, x)),
        1 => i.prop_map(ByteEdit::Truncate),
    ]
}

fn edit_bytes(data: &[u8], edits: &[ByteEdit]) -> Vec<u8> {
    let mut data = data.to_vec();
    for edit in edits {
        let n = data.len().max(1);
        match *edit {
            ByteEdit::Flip(a, x) => {
                if let Some(b) = data.get_mut(a % n) {
                    *b ^= x;
                }
            }
            ByteEdit::Delete(a) => {
                if a % n < data.len() {
                    data.remove(a % n);
                }
            }
            ByteEdit::Insert(a, x) => data.insert(a % (data.len() + 1), x),
            ByteEdit::Truncate(a) => data.truncate(a % n),
        }
    }
    data
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn a_damaged_flow_file_is_an_error_or_a_run(
        which in any::<usize>(),
        edits in prop::collection::vec(line_edit(), 1..6),
    ) {
        let original = &flows()[which % flows().len()];
        let text = edit_text(&String::from_utf8_lossy(original), &edits);
        if let Ok(file) = parse_flow(&text, "damaged") {
            if validate(&file).is_ok() {
                let _ = run_flow(&file);
            }
        }
    }

    #[test]
    fn a_damaged_server_log_is_reported_not_fatal(
        which in any::<usize>(),
        edits in prop::collection::vec(line_edit(), 1..6),
    ) {
        let original = &logs()[which % logs().len()];
        let text = edit_text(&String::from_utf8_lossy(original), &edits);
        let _ = decode_log(&text, &DecodeOptions::default());
    }

    #[test]
    fn a_damaged_capture_is_an_error_or_a_report(
        edits in prop::collection::vec(byte_edit(), 1..8),
    ) {
        let bytes = edit_bytes(capture(), &edits);
        if let Ok(report) = decode_capture(&bytes, &DecodeOptions::default()) {
            let _ = ccx_cti_std::wiretools::pcap::report_text(&report);
        }
    }

    #[test]
    fn a_damaged_recorder_dump_is_an_error_or_a_trace(
        edits in prop::collection::vec(byte_edit(), 1..8),
    ) {
        let bytes = edit_bytes(dump(), &edits);
        if let Ok(dump) = recorder::read_dump(&bytes) {
            let _ = recorder::trace_text(&dump, &DecodeOptions::default());
        }
    }

    #[test]
    fn a_damaged_configuration_blob_is_refused_or_read(
        edits in prop::collection::vec(byte_edit(), 1..4),
    ) {
        let bytes = edit_bytes(blob(), &edits);
        let _ = config_file::decode_file("damaged.bin", &bytes);
    }
}

#[test]
fn the_samples_themselves_read_cleanly() {
    // Otherwise the damage above would only ever meet an error path.
    assert!(!flows().is_empty() && !logs().is_empty());
    let report = decode_capture(capture(), &DecodeOptions::default()).unwrap();
    assert!(report.messages.len() > 10, "{}", report.messages.len());
    let dump = recorder::read_dump(dump()).unwrap();
    assert!(recorder::trace_text(&dump, &DecodeOptions::default())
        .contains("# session 1: 10.0.0.2:49152 -> 10.0.0.1:12028"));
    assert!(config_file::decode_file("good.bin", blob()).is_ok());
    for flow in flows() {
        let file = parse_flow(&String::from_utf8_lossy(flow), "sample").unwrap();
        assert!(run_flow(&file).result.is_ok());
    }
}
