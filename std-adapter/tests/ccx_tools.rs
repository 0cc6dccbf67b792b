//! The `ccx` binary itself: demo, load, config encode/decode, sim.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::Write;
use std::process::{Command, Stdio};

fn ccx() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ccx"))
}

#[test]
fn demo_prints_the_story_and_exits_zero() {
    let out = ccx().arg("demo").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("] phone -> server\nMsgType: OPEN_REQ"),
        "{text}"
    );
    assert!(
        text.contains("] server -> phone\nMsgType: BEGIN_CALL_EVENT"),
        "{text}"
    );
    assert!(text.contains("BAStatus: DO"), "{text}");
    assert!(text.contains("story complete"), "{text}");
    let quiet = ccx().args(["demo", "--quiet"]).output().unwrap();
    let q = String::from_utf8_lossy(&quiet.stdout);
    assert!(quiet.status.success());
    assert!(!q.contains("MsgType:") && q.contains("==== summary"), "{q}");
}

#[test]
fn load_reports_and_checks_consistency() {
    let out = ccx()
        .args(["load", "--phones", "8", "--duration", "2"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("p50") && text.contains("p99"), "{text}");
    assert!(
        text.contains("every phone agrees with the simulator"),
        "{text}"
    );
    assert!(text.contains("result: PASS"), "{text}");
}

#[test]
fn config_encode_then_decode_masks_the_password() {
    let dir = std::env::temp_dir().join(format!("ccx-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let toml = dir.join("phone.toml");
    std::fs::write(
        &toml,
        "servers = [\"10.0.0.5:12028\"]\nagent_id = \"chli4020\"\nagent_password = \"hunter2\"\n",
    )
    .unwrap();
    let blob = ccx()
        .args(["config", "encode"])
        .arg(&toml)
        .output()
        .unwrap();
    assert!(blob.status.success());
    let bin = dir.join("phone.bin");
    std::fs::write(&bin, &blob.stdout).unwrap();
    let shown = ccx().args(["config", "decode"]).arg(&bin).output().unwrap();
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.status.success());
    assert!(
        text.contains("agent_id = \"chli4020\"") && text.contains("********"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
    let secret = ccx()
        .args(["config", "decode", "--show-secrets"])
        .arg(&bin)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&secret.stdout).contains("hunter2"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_encode_and_phone_refuse_a_bad_file_naming_field_and_line() {
    let dir = std::env::temp_dir().join(format!("ccx-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let toml = dir.join("phone.toml");
    std::fs::write(
        &toml,
        "agent_id = \"chli4020\"\nagent_extension = \"12345678901234567890\"\nconnect_timeout_secs = 0\n",
    )
    .unwrap();
    let place = toml.display().to_string();
    for args in [
        &["config", "encode"][..],
        &["config", "check"][..],
        &["phone", "--no-password-prompt", "--config"][..],
    ] {
        let out = ccx().args(args).arg(&toml).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?} wrote output");
        assert!(
            err.contains(&format!(
                "{place}:2: agent_extension is 20 bytes long; the server takes at most 15"
            )),
            "{args:?}: {err}"
        );
        assert!(
            err.contains(&format!("{place}:3: connect_timeout_secs 0: at least 1 s")),
            "{args:?}: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_decode_refuses_an_old_or_damaged_blob() {
    let dir = std::env::temp_dir().join(format!("ccx-cli-blob-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let toml = dir.join("phone.toml");
    std::fs::write(&toml, "agent_id = \"chli4020\"\n").unwrap();
    let blob = ccx()
        .args(["config", "encode"])
        .arg(&toml)
        .output()
        .unwrap()
        .stdout;
    assert_eq!(&blob[..4], b"CCXP");
    let mut damaged = blob.clone();
    let last = damaged.len() - 6;
    damaged[last] ^= 0x01;
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("damaged.bin", damaged, "damaged: CRC"),
        ("short.bin", blob[..blob.len() - 1].to_vec(), "cut short"),
        ("old.bin", vec![1, 9, 99, 0, 0], "not a configuration blob"),
    ];
    for (name, bytes, expected) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = ccx()
            .args(["config", "decode"])
            .arg(&path)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(out.stdout.is_empty(), "{name}: half-read");
        assert!(err.contains(expected), "{name}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sim_prints_its_summary_on_quit() {
    let mut child = ccx()
        .args([
            "sim",
            "--interactive",
            "--listen",
            "127.0.0.1:0",
            "--log",
            "error",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"status\nquit\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("listening on 127.0.0.1:"), "{text}");
    assert!(text.contains("sessions opened 0"), "{text}");
}

#[test]
fn sim_stops_after_its_duration_with_a_summary() {
    let out = ccx()
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--duration",
            "1",
            "--log",
            "error",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("agent chli4020 ext 4020"), "{text}");
}
