//! What scripts and test engineers read from a run: `--json` summaries of `load`, `replay`,
//! `demo` and `sim`, the simulator's Prometheus endpoint during a run, the summary printed
//! on SIGINT/SIGTERM, durations with units, and a failing load that names its phones.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

fn ccx() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ccx"))
}

fn json_of(out: &std::process::Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| {
        panic!(
            "not one JSON object ({e}):\n{text}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Read stderr lines until one contains `needle`; returns the line.
fn wait_for(err: &mut BufReader<ChildStderr>, needle: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "stderr ended before `{needle}`"
        );
        if line.contains(needle) {
            return line;
        }
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// The address after `needle` in a line such as `... listening on 127.0.0.1:4242 as ...`.
fn addr_after(line: &str, needle: &str) -> String {
    let rest = &line[line.find(needle).unwrap() + needle.len()..];
    rest.split(|c: char| c.is_whitespace() || c == '/')
        .next()
        .unwrap()
        .to_string()
}

fn scrape(addr: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    text
}

/// The value of one sample line (`name{labels} value`).
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|r| r.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
        .parse()
        .unwrap()
}

#[test]
fn demo_json_is_one_object() {
    let out = ccx().args(["demo", "--json"]).output().unwrap();
    assert!(out.status.success());
    let v = json_of(&out);
    assert_eq!(v["command"], "demo");
    assert_eq!(v["result"], "pass");
    assert!(v["steps"].as_array().unwrap().len() > 3, "{v}");
    assert!(v["sent"].as_u64().unwrap() > 0);
}

#[test]
fn replay_json_lists_every_flow() {
    let flows = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/flows/");
    let out = ccx()
        .args(["replay", "--json"])
        .arg(format!("{flows}outbound-skip.flow"))
        .arg(format!("{flows}command-refused.flow"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let v = json_of(&out);
    assert_eq!(v["command"], "replay");
    assert_eq!(v["passed"], 2);
    assert_eq!(v["failed"], 0);
    assert_eq!(v["flows"][0]["result"], "pass");
    let missing = ccx()
        .args(["replay", "--json", "/nonexistent.flow"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let v = json_of(&missing);
    assert_eq!(v["errors"], 1);
    assert_eq!(v["flows"][0]["result"], "error");
}

#[test]
fn load_json_with_a_duration_in_milliseconds() {
    let out = ccx()
        .args(["load", "--phones", "4", "--duration", "1500ms", "--json"])
        .output()
        .unwrap();
    let v = json_of(&out);
    assert!(out.status.success(), "{v}");
    assert_eq!(v["command"], "load");
    assert_eq!(v["result"], "pass");
    assert_eq!(v["phones"], 4);
    let secs = v["seconds"].as_f64().unwrap();
    assert!((1.4..3.0).contains(&secs), "{secs}");
    assert!(v["messages"]["sent"].as_u64().unwrap() > 0);
    assert!(v["latency_ms"]["p50"].is_number(), "{v}");
    assert_eq!(v["consistency_checked"], true);
}

#[test]
fn load_powers_phones_on_over_the_ramp_and_reports_its_requests_apart() {
    let run = |ramp: &str| {
        let out = ccx()
            .args([
                "load",
                "--phones",
                "20",
                "--duration",
                "2s",
                "--json",
                "--ramp",
                ramp,
            ])
            .output()
            .unwrap();
        let v = json_of(&out);
        assert!(out.status.success(), "{v}");
        v
    };
    // Over 1 s: the logins and first "ready"s are the ramp-up's.
    let v = run("1s");
    assert_eq!(v["ramp_seconds"], 1.0, "{v}");
    assert!(
        v["ramp_latency_ms"]["requests"].as_u64().unwrap() >= 20,
        "{v}"
    );
    assert!(v["latency_ms"]["requests"].as_u64().unwrap() > 0, "{v}");
    // All at once: nothing is set apart.
    let v = run("0");
    assert_eq!(v["ramp_seconds"], 0.0, "{v}");
    assert_eq!(v["ramp_latency_ms"]["requests"], 0, "{v}");
}

#[test]
fn a_failing_load_names_its_phones_and_why() {
    // Nothing listens on port 1: every phone fails to connect.
    let out = ccx()
        .args([
            "load",
            "--server",
            "127.0.0.1:1",
            "--phones",
            "3",
            "--duration",
            "1s",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("phones that failed: agent0000 (never opened:"),
        "{text}"
    );
    assert!(text.contains("agent0002 (never opened:"), "{text}");
    let out = ccx()
        .args([
            "load",
            "--server",
            "127.0.0.1:1",
            "--phones",
            "2",
            "--duration",
            "1",
            "--json",
        ])
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(v["result"], "fail");
    let failed = v["failed_phones"].as_array().unwrap();
    assert_eq!(failed.len(), 2, "{v}");
    assert_eq!(failed[1]["agent"], "agent0001");
    assert!(
        failed[1]["why"]
            .as_str()
            .unwrap()
            .starts_with("never opened"),
        "{v}"
    );
}

#[test]
fn durations_refuse_unknown_units() {
    let out = ccx()
        .args(["load", "--duration", "5parsecs"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown unit `parsecs`"), "{err}");
}

#[test]
fn sim_serves_metrics_during_a_run_and_prints_json_on_sigterm() {
    let mut sim = ccx()
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--metrics",
            "127.0.0.1:0",
            "--agents",
            "3",
            "--json",
            "--progress",
            "200ms",
            "--log",
            "warn",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(sim.stderr.take().unwrap());
    let server = addr_after(&wait_for(&mut err, "listening on "), "listening on ");
    let metrics = addr_after(&wait_for(&mut err, "metrics on http://"), "http://");
    // Progress comes on stderr while the simulator runs.
    wait_for(&mut err, "sessions opened");
    let mut load = ccx()
        .args([
            "load",
            "--server",
            &server,
            "--phones",
            "3",
            "--duration",
            "3s",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let text = scrape(&metrics);
    assert_eq!(metric(&text, "ccx_sim_sessions_open"), 3.0, "{text}");
    assert_eq!(metric(&text, "ccx_sim_master"), 1.0);
    assert!(metric(&text, "ccx_sim_messages_total{direction=\"in\"}") > 0.0);
    assert!(metric(&text, "ccx_sim_request_seconds_count") > 0.0);
    assert!(text.contains("# TYPE ccx_sim_request_seconds histogram"));
    assert!(text.contains("ccx_sim_request_seconds_bucket{le=\"+Inf\"}"));
    assert!(text.contains("ccx_sim_agents{state="), "{text}");
    assert!(text.contains("ccx_sim_calls_total{kind=\"offered\"}"));
    assert!(text.contains("ccx_sim_messages_per_second "));
    assert!(load.wait().unwrap().success());
    signal(&sim, "-TERM");
    let out = sim.wait_with_output().unwrap();
    assert!(out.status.success());
    let v = json_of(&out);
    assert_eq!(v["command"], "sim");
    assert_eq!(v["agents"], 3);
    assert_eq!(v["sessions"]["opened"], 3, "{v}");
    assert!(v["messages"]["in"].as_u64().unwrap() > 0);
}

#[test]
fn sim_prints_its_summary_on_sigint_and_accepts_minutes() {
    let mut sim = ccx()
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--agents",
            "1",
            "--duration",
            "5m",
            "--log",
            "info",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(sim.stdout.take().unwrap());
    let mut banner = String::new();
    out.read_line(&mut banner).unwrap();
    let server = addr_after(&banner, "listening on ");
    // One session (agent0000): logged at info level.
    let load = ccx()
        .args([
            "load",
            "--server",
            &server,
            "--phones",
            "1",
            "--duration",
            "1",
        ])
        .output()
        .unwrap();
    assert!(load.status.success());
    signal(&sim, "-INT");
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let mut log = String::new();
    sim.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    assert!(sim.wait().unwrap().success());
    assert!(rest.contains("sessions opened 1"), "{rest}");
    assert!(log.contains("session opened on connection"), "{log}");
    assert!(
        log.contains("agent agent0000 logged in at ext 10000"),
        "{log}"
    );
    assert!(
        log.contains("agent agent0000 NotReady -> Available"),
        "{log}"
    );
}

#[test]
fn load_prints_its_report_on_sigint() {
    let mut load = ccx()
        .args(["load", "--phones", "2", "--duration", "10m", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(load.stderr.take().unwrap());
    wait_for(&mut err, "sessions");
    signal(&load, "-INT");
    let out = load.wait_with_output().unwrap();
    let v = json_of(&out);
    assert_eq!(v["interrupted"], true, "{v}");
    assert!(v["seconds"].as_f64().unwrap() < 60.0);
    assert_eq!(v["result"], "pass", "{v}");
}
