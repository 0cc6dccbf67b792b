//! `ccx` when its standard output goes away (`ccx decode … | head`) or fills up: the tool ends
//! quietly with the status a shell shows for SIGPIPE (141), or says why on standard error
//! (status 2); it never panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

mod support;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn spawn(args: &[&str], stdin: Stdio, stdout: Stdio) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ccx"))
        .args(args)
        .current_dir(repo())
        .stdin(stdin)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Reads one line of the child's output, closes the pipe, and returns (status, stderr). The
/// output is far larger than a pipe's buffer, so the child is still writing when it closes.
fn first_line_then_close(mut child: Child) -> (Option<i32>, String, String) {
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    drop(reader);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), line, stderr)
}

/// The guide's seed story as frames, repeated until its trace text is about 1 MB.
fn many_frames(dir: &Path) -> PathBuf {
    let seed = std::fs::read(repo().join("tests/traces/guide-skip.trace")).unwrap();
    let mut encode = spawn(&["encode"], Stdio::piped(), Stdio::piped());
    encode.stdin.take().unwrap().write_all(&seed).unwrap();
    let frames = encode.wait_with_output().unwrap();
    assert!(frames.status.success());
    let path = dir.join("many.bin");
    let mut file = File::create(&path).unwrap();
    for _ in 0..500 {
        file.write_all(&frames.stdout).unwrap();
    }
    path
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ccx-closed-output-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn decode_ends_quietly_when_its_reader_goes_away() {
    let dir = scratch("decode");
    let frames = many_frames(&dir);
    let child = spawn(
        &["decode", frames.to_str().unwrap()],
        Stdio::null(),
        Stdio::piped(),
    );
    let (status, line, stderr) = first_line_then_close(child);
    assert_eq!(line, "MsgType: AGENT_STATE_EVENT\n");
    assert_eq!(status, Some(141), "stderr: {stderr}");
    assert_eq!(
        stderr, "",
        "nothing to say when the reader stopped on purpose"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn replay_ends_quietly_when_its_reader_goes_away() {
    let flow = "tests/flows/call-data-rekey.flow";
    let mut args = vec!["replay"];
    args.extend(std::iter::repeat_n(flow, 2000));
    let child = spawn(&args, Stdio::null(), Stdio::piped());
    let (status, line, stderr) = first_line_then_close(child);
    assert!(
        line.starts_with("PASS tests/flows/call-data-rekey.flow"),
        "{line}"
    );
    assert_eq!(status, Some(141), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_full_disk_is_said_on_standard_error() {
    let Ok(full) = File::options().write(true).open("/dev/full") else {
        return; // Not Linux: no device that is always full.
    };
    let child = spawn(
        &["replay", "tests/flows/call-data-rekey.flow"],
        Stdio::null(),
        Stdio::from(full),
    );
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("ccx: cannot write to standard output: No space left on device"),
        "{stderr}"
    );
}

/// A trace reader that has gone away.
struct ClosedPipe;

impl Write for ClosedPipe {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::ErrorKind::BrokenPipe.into())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Err(std::io::ErrorKind::BrokenPipe.into())
    }
}

#[test]
fn the_proxy_keeps_forwarding_and_capturing_when_its_trace_reader_goes_away() {
    use ccx_cti_std::wiretools::pcap::decode_capture;
    use ccx_cti_std::wiretools::DecodeOptions;

    let dir = scratch("proxy");
    let pcap = dir.join("demo.pcap");
    let (report, _) =
        support::proxied::demo_through_proxy(Some(&pcap), Box::new(ClosedPipe), 65_535);
    let capture =
        decode_capture(&std::fs::read(&pcap).unwrap(), &DecodeOptions::default()).unwrap();
    assert_eq!(
        capture.messages.len(),
        report.sent + report.received,
        "every message of the session is in the capture"
    );
    let _ = std::fs::remove_dir_all(dir);
}
