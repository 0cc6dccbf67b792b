//! Strict inputs: the simulator's configuration files and flags, and flow files, are refused
//! when they say something the tools would otherwise ignore or misread.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::process::{Command, Output};

use ccx_cti_std::sim::SimConfig;

fn ccx(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ccx"))
        .args(args)
        .output()
        .unwrap()
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ccx-strict-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn unknown_keys_and_sections_are_refused_with_key_and_line() {
    for (text, key, line) in [
        (
            "listen = \"127.0.0.1:0\"\nauto_wrok = true\n",
            "auto_wrok",
            "line 2",
        ),
        (
            "[[agents]]\nid = \"a\"\npasword = \"x\"\n",
            "pasword",
            "line 3",
        ),
        ("[fautls]\ndelay_ms = 1\n", "fautls", "line 1"),
        ("[limits]\nmax_conections = 5\n", "max_conections", "line 2"),
        (
            "[inbound]\n[[inbound.calls]]\nanis = \"1\"\n",
            "anis",
            "line 3",
        ),
    ] {
        let path = temp_file("unknown.toml", text);
        let e = format!("{:#}", SimConfig::from_toml_file(&path).unwrap_err());
        assert!(e.contains(key) && e.contains(line), "{text:?}: {e}");
    }
}

#[test]
fn values_out_of_range_in_a_file_are_refused_with_their_key() {
    for (text, key) in [
        (
            "[faults]\ndrop_probability = 7.0\n",
            "faults.drop_probability",
        ),
        ("[faults]\ncorrupt_every = 0\n", "faults.corrupt_every"),
        ("v18_length_width = 3\n", "v18_length_width"),
        ("[limits]\nmax_connections = 0\n", "limits.max_connections"),
        ("[inbound]\nrate_per_min = -1.0\n", "inbound.rate_per_min"),
    ] {
        let path = temp_file("range.toml", text);
        let e = format!("{:#}", SimConfig::from_toml_file(&path).unwrap_err());
        assert!(e.contains(key), "{text:?}: {e}");
    }
    let ok = temp_file("example.toml", ccx_cti_std::sim::config::EXAMPLE_TOML);
    std::fs::write(ok.with_file_name("contacts.csv"), "AC1,John Doe,5550100\n").unwrap();
    SimConfig::from_toml_file(&ok).unwrap();
}

#[test]
fn every_sim_flag_is_range_checked() {
    for args in [
        &["sim", "--drop-probability", "7"][..],
        &["sim", "--drop-probability=-0.1"],
        &["sim", "--log", "verbose"],
        &["sim", "--agents", "0"],
        &["sim", "--rate=-5"],
        &["sim", "--rate", "inf"],
        &["sim", "--corrupt-every", "0"],
        &["sim", "--drop-after", "0"],
        &["sim", "--delay-ms", "3600000"],
        &["sim", "--max-connections", "0"],
        &["sim", "--open-deadline-ms", "5"],
        &["load", "--phones", "0"],
        &["load", "--duration", "0"],
        &["load", "--rate=-1"],
    ] {
        let o = ccx(args);
        assert_eq!(o.status.code(), Some(2), "{args:?} was accepted");
        assert!(
            stderr(&o).contains("invalid value"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_files_listen_is_honoured_unless_the_flag_is_given() {
    let port = free_port();
    let path = temp_file("listen.toml", &format!("listen = \"127.0.0.1:{port}\"\n"));
    let file = path.to_str().unwrap();
    let o = ccx(&["sim", "--config", file, "--duration", "1", "--log", "warn"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&format!("listening on 127.0.0.1:{port}")),
        "{out}"
    );
    let other = free_port();
    let flag = format!("127.0.0.1:{other}");
    let o = ccx(&[
        "sim",
        "--config",
        file,
        "--listen",
        &flag,
        "--duration",
        "1",
        "--log",
        "warn",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains(&format!("listening on {flag}")), "{out}");
}

#[test]
fn a_bad_start_line_or_an_empty_flow_is_a_parse_error_exit_2() {
    for (name, text, line) in [
        (
            "bad-start.flow",
            "# t\nstart: logged-in AVAILABEL\nstep 1: x\nexpect: calls.count = 0\n",
            "line 2",
        ),
        ("empty.flow", "", "line 1"),
        (
            "prologue-only.flow",
            "config:\n  AgentID: a\nstart: connected\n",
            "line 3",
        ),
        ("stepp.flow", "start: connected\nstepp 1: x\n", "line 2"),
        (
            "domain.flow",
            "start: connected\nstep 1: x\nexpect: session.state = opened\n",
            "line 3",
        ),
    ] {
        let path = temp_file(name, text);
        let o = ccx(&["replay", path.to_str().unwrap()]);
        let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
        assert_eq!(o.status.code(), Some(2), "{name}: {all}");
        assert!(all.contains(line), "{name}: {all}");
    }
}

#[test]
fn the_demo_summary_names_the_simulators_real_role() {
    let mut out = Vec::new();
    let opts = ccx_cti_std::demo::DemoOptions {
        trace: false,
        ..ccx_cti_std::demo::DemoOptions::default()
    };
    let report = ccx_cti_std::demo::run(&opts, &mut out);
    let text = String::from_utf8_lossy(&out);
    assert!(report.completed(), "{text}");
    assert!(
        text.contains("(master, the only node of its cluster)"),
        "{text}"
    );
    assert!(!text.contains("standby"), "{text}");
}
