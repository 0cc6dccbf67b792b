//! The `ccx` binary as a user runs it: decode, encode and replay, with their exit statuses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn ccx(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ccx"))
        .args(args)
        .current_dir(repo())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const SEED: &str = include_str!("../../tests/traces/guide-skip.trace");

#[test]
fn encode_then_decode_gives_the_seed_back_in_binary_and_hex() {
    let expected: String = SEED
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    for hex in [false, true] {
        let flag: &[&str] = if hex { &["--hex"] } else { &[] };
        let enc = ccx(&[&["encode"], flag].concat(), SEED.as_bytes());
        assert!(enc.status.success(), "{}", text(&enc.stderr));
        let dec = ccx(&[&["decode"], flag].concat(), &enc.stdout);
        assert!(dec.status.success(), "{}", text(&dec.stderr));
        assert_eq!(text(&dec.stdout), expected);
    }
}

#[test]
fn decode_reads_a_file_and_reports_a_malformed_frame_with_its_offset() {
    // HEARTBEAT_REQ, then a CALL_CLEARED_EVENT whose fixed part is cut (4 of 20 bytes).
    let hex = "# two frames\n00000004 00000005 00000007\n00000004 0000000d 00000000\n";
    let dir = std::env::temp_dir().join(format!("ccx-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("frames.hex");
    std::fs::write(&file, hex).unwrap();
    let out = ccx(&["decode", "--hex", file.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "MsgType: HEARTBEAT_REQ\n  InvokeID: 7\n");
    let err = text(&out.stderr);
    assert!(
        err.contains("frame 2 at byte offset 24") && err.contains("fixed part cut short"),
        "{err}"
    );
}

#[test]
fn encode_names_the_bad_line() {
    let out = ccx(
        &["encode", "--hex"],
        b"MsgType: HEARTBEAT_REQ\n  InvokeID: 1\n  Colour: blue\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("line 3"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn encode_writes_a_wrong_count_as_given_and_warns_on_stderr() {
    let out = ccx(
        &["encode", "--hex"],
        b"MsgType: CALL_DATA_UPDATE_EVENT\n  NumNamedVariables: 2\n  ConnectionDeviceID: 4020\n  ExpandedCallContxt:\n  BAResponse: Skip\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // NumNamedVariables (body offset 12, hex digits 40..44 of the line) is written as 2.
    let frame = text(&out.stdout);
    assert_eq!(frame.lines().count(), 1, "{frame}");
    assert_eq!(&frame[40..44], "0002", "{frame}");
    assert_eq!(
        text(&out.stderr),
        "warning: line 1: CALL_DATA_UPDATE_EVENT: NumNamedVariables is 2 but 1 records follow; the frame is written as given\n"
    );
}

#[test]
fn version_18_uses_two_byte_tags() {
    let msg = b"MsgType: END_CALL_EVENT\n  ConnectionCallID: 1\n  ConnectionDeviceID: 4020\n";
    let v17 = ccx(&["encode", "--hex"], msg);
    let v18 = ccx(&["encode", "--hex", "--protocol-version", "18"], msg);
    assert!(text(&v17.stdout).trim_end().ends_with("19053430323000"));
    assert!(text(&v18.stdout).trim_end().ends_with("0019053430323000"));
    let back = ccx(
        &["decode", "--hex", "--protocol-version", "18"],
        &v18.stdout,
    );
    assert!(
        text(&back.stdout).contains("ConnectionDeviceID: 4020"),
        "{}",
        text(&back.stdout)
    );
}

#[test]
fn replay_exit_statuses() {
    let flows: Vec<String> = std::fs::read_dir(repo().join("tests/flows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "flow"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let args: Vec<&str> = std::iter::once("replay")
        .chain(flows.iter().map(String::as_str))
        .collect();
    let out = ccx(&args, b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(text(&out.stdout).matches("PASS ").count(), flows.len());

    let dir = std::env::temp_dir().join(format!("ccx-cli-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let failing = dir.join("failing.flow");
    std::fs::write(
        &failing,
        "start: connected\nexpect: session.state = closing\n",
    )
    .unwrap();
    let out = ccx(&["replay", failing.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("FAIL") && text(&out.stdout).contains("line 2"));

    let broken = dir.join("broken.flow");
    std::fs::write(&broken, "start: connected\nexpect session.state\n").unwrap();
    let out = ccx(
        &[
            "replay",
            broken.to_str().unwrap(),
            failing.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("line 2"));
    let out = ccx(&["replay", "/nonexistent.flow"], b"");
    assert_eq!(out.status.code(), Some(2));
}
