//! Scenarios on the virtual clock: a 400-agent busy hour in well under a second of wall
//! time, the same seed giving the same schedule and counts, and the file refused by key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::process::Command;
use std::time::Duration;

use ccx_cti_std::scenario::{run, Scenario, EXAMPLE_TOML};

fn ccx() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ccx"))
}

fn example_path() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/busy-hour.toml").to_string()
}

#[test]
fn one_seed_gives_one_schedule_and_one_set_of_counts() {
    let s = Scenario::from_toml(EXAMPLE_TOML).unwrap();
    let (a, b) = (run(&s), run(&s));
    assert_eq!(a.counts(), b.counts());
    assert_eq!(a.fingerprint, b.fingerprint);
    let mut other = s.clone();
    other.seed += 1;
    let c = run(&other);
    assert_ne!(a.fingerprint, c.fingerprint);
    assert_ne!(a.counts(), c.counts());
}

#[test]
fn a_busy_hour_of_400_agents_runs_in_seconds_and_adds_up() {
    let s = Scenario::from_toml(EXAMPLE_TOML).unwrap();
    let r = run(&s);
    assert_eq!(r.agents, 400);
    assert_eq!(r.simulated, Duration::from_secs(3600));
    assert!(r.wall < Duration::from_secs(10), "{:?}", r.wall);
    let offered: u64 = r.csq.values().map(|c| c.offered).sum();
    let answered: u64 = r.csq.values().map(|c| c.answered).sum();
    let abandoned: u64 = r.csq.values().map(|c| c.abandoned).sum();
    let queued: u64 = r.csq.values().map(|c| c.queued_at_end).sum();
    // Two queues of 5000 calls an hour: Poisson, so near 10000.
    assert!((9000..11000).contains(&offered), "{offered}");
    // Every call is answered, abandoned, still queued, or ringing at the end.
    let ringing = r.final_states.get("Ringing").copied().unwrap_or(0);
    assert_eq!(
        offered,
        answered + abandoned + queued + ringing,
        "{}",
        r.text()
    );
    // Behaviours split 80/20, the failover at minute 5 counted with its length.
    assert_eq!(r.behaviours["steady"], 320);
    assert_eq!(r.behaviours["slow"], 80);
    assert_eq!(r.failovers, vec![8000]);
    assert!(r.sessions_dropped >= 400);
    assert!(r.slow_answers > 0);
    // Previews: offered = accepted + rejected + one still being decided at most per agent.
    assert!(r.previews_accepted + r.previews_rejected <= r.reservations);
    assert_eq!(r.previews_accepted, r.customer_calls + r.customer_no_answer);
    assert!(r.not_ready.contains_key(&101) && r.not_ready.contains_key(&103));
}

#[test]
fn cli_prints_summary_and_json() {
    let out = ccx()
        .args(["load", "--scenario", &example_path()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("400 agents, 60 simulated minutes"), "{text}");
    assert!(text.contains("csq sales: offered"), "{text}");
    let a = ccx()
        .args(["load", "--scenario", &example_path(), "--json"])
        .output()
        .unwrap();
    let b = ccx()
        .args(["load", "--scenario", &example_path(), "--json"])
        .output()
        .unwrap();
    let mut va: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    let mut vb: serde_json::Value = serde_json::from_slice(&b.stdout).unwrap();
    assert_eq!(va["command"], "load-scenario");
    assert_eq!(va["agents"], 400);
    assert!(va["wall_ms"].as_f64().unwrap() > 0.0);
    va.as_object_mut().unwrap().remove("wall_ms");
    vb.as_object_mut().unwrap().remove("wall_ms");
    assert_eq!(va, vb);
}

#[test]
fn a_scenario_with_an_unknown_key_is_refused_with_key_and_line() {
    let dir = std::env::temp_dir().join(format!("ccx-scenario-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.toml");
    std::fs::write(
        &file,
        "duration = \"1m\"\nagents = 4\nagentz = 5\n[talk]\nmean = \"1m\"\n[wrapup]\nmean = \"5s\"\n",
    )
    .unwrap();
    let out = ccx()
        .args(["load", "--scenario"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("agentz") && err.contains("line 3"), "{err}");
    std::fs::write(
        &file,
        "duration = \"1m\"\nagents = 4\n[talk]\nkind = \"gauss\"\nmean = \"1m\"\n[wrapup]\nmean = \"5s\"\n",
    )
    .unwrap();
    let out = ccx()
        .args(["load", "--scenario"])
        .arg(&file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`talk.kind`: `gauss`"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sim_takes_its_calls_from_a_scenario_time_compressed() {
    let dir = std::env::temp_dir().join(format!("ccx-scenario-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("small.toml");
    // Ten agents; 1200 calls an hour for five minutes (about 100), at 100 times: 3 s.
    std::fs::write(
        &file,
        "seed = 3\nduration = \"5m\"\nagents = 10\n[[csq]]\nname = \"a\"\ncalls_per_hour = 1200\n\
         [talk]\nmean = \"1m\"\n[wrapup]\nkind = \"fixed\"\nmean = \"5s\"\n",
    )
    .unwrap();
    let expected = Scenario::from_file(&file).unwrap().arrivals(100.0).len() as u64;
    assert!(expected > 50, "{expected}");
    let mut sim = ccx()
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--speed",
            "100",
            "--duration",
            "5s",
        ])
        .args(["--json", "--log", "warn", "--progress", "0", "--scenario"])
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(sim.stderr.take().unwrap());
    let mut banner = String::new();
    std::io::BufRead::read_line(&mut err, &mut banner).unwrap();
    assert!(banner.contains("(10 agents)"), "{banner}");
    let addr = banner
        .split("listening on ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap()
        .to_string();
    let load = ccx()
        .args([
            "load",
            "--server",
            &addr,
            "--phones",
            "10",
            "--duration",
            "4s",
        ])
        .args(["--talk-ms", "20", "--progress", "0"])
        .output()
        .unwrap();
    assert!(
        load.status.success(),
        "{}",
        String::from_utf8_lossy(&load.stdout)
    );
    let out = sim.wait_with_output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let offered = v["inbound"]["offered"].as_u64().unwrap();
    // The phones open within a second; every call after that rings.
    assert!(
        offered * 10 >= expected * 6 && offered <= expected,
        "offered {offered} of {expected}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two agents, calls enough to keep them busy, the talk, wrap-up, answer delay and Not
/// Ready of the scenario: ten minutes in ten seconds.
const REAL: &str = r#"
seed = 7
duration = "10m"
agents = 2

[[csq]]
name = "sales"
calls_per_hour = 14400

[talk]
kind = "fixed"
mean = "60s"

[wrapup]
kind = "fixed"
mean = "30s"

[[behaviour]]
name = "steady"
share = 1.0
answer_delay = { kind = "fixed", mean = "6s" }
not_ready_share = 0.5
reason_codes = [7, 9]
not_ready_time = { kind = "fixed", mean = "30s" }
"#;

/// `ccx load --scenario` with real phones at 60 times the scenario's speed: its JSON summary.
fn real_run(name: &str, scenario: &str) -> serde_json::Value {
    let path = std::env::temp_dir().join(format!("ccx-real-{name}-{}.toml", std::process::id()));
    std::fs::write(&path, scenario).unwrap();
    let out = ccx()
        .args(["load", "--scenario"])
        .arg(&path)
        .args(["--real", "--speed", "60", "--json", "--progress", "0"])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn real_phones_play_the_scenarios_talk_wrapup_and_not_ready() {
    let j = real_run("talk", REAL);
    assert_eq!(j["result"], "pass", "{j}");
    assert_eq!(j["phones"], 2);
    let secs = j["seconds"].as_f64().unwrap();
    assert!((9.5..12.0).contains(&secs), "{secs}");
    // Each call takes 0.1 s of ringing, 1 s of talk, 0.5 s of wrap-up and half the time
    // 0.5 s of Not Ready (scenario times / 60): about 11 calls for two agents in 10 s, where
    // phones answering at once and talking 200 ms would take about 50.
    let answered = j["calls_answered"].as_u64().unwrap();
    assert!(
        (6..=16).contains(&answered),
        "{answered} calls answered: {j}"
    );
    let reasons = j["not_ready_by_reason"].as_object().unwrap();
    assert!(reasons.keys().all(|k| k == "7" || k == "9"), "{reasons:?}");
    let not_ready: u64 = reasons.values().map(|v| v.as_u64().unwrap()).sum();
    assert!(
        (1..answered).contains(&not_ready),
        "{not_ready} Not Ready after {answered} calls"
    );
}

#[test]
fn real_phones_live_through_the_scenarios_timed_failover_and_slow_server() {
    let text = format!(
        "{REAL}\n[[fault]]\nat = \"2m\"\nkind = \"failover\"\n\n\
         [[fault]]\nat = \"5m\"\nkind = \"slow_server\"\nlasts = \"2m\"\ndelay = \"6s\"\n"
    );
    let j = real_run("faults", &text);
    // Every phone moved to the other side at minute 2 (two seconds in) and still agrees
    // with the simulator at the end.
    assert_eq!(j["result"], "pass", "{j}");
    let faults: Vec<&str> = j["faults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(faults.len(), 3, "{faults:?}");
    assert!(faults[0].starts_with("failover: "), "{faults:?}");
    assert_eq!(faults[1], "slow server: every frame 100 ms late");
    assert_eq!(j["reconnects"], 2, "{j}");
    assert!(j["calls_answered"].as_u64().unwrap() >= 4, "{j}");
    // From minute 5 to 7 every answer came 6 s / 60 = 100 ms late.
    let p99 = j["latency_ms"]["p99"].as_f64().unwrap();
    assert!((90.0..1000.0).contains(&p99), "p99 {p99} ms: {j}");
}

#[test]
fn a_timed_heartbeat_loss_leaves_the_share_of_sessions_unanswered_until_it_ends() {
    use ccx_cti::phone::{Event, SessionEndReason, SessionState};
    use ccx_cti_std::driver::{self, DriverEvent, DriverOptions};
    use ccx_cti_std::sim::{SimConfig, Simulator};

    let sim = Simulator::start(SimConfig::loopback()).unwrap();
    let mut cfg = ccx_cti_std::demo::phone_config(sim.addr(), 17);
    cfg.heartbeat_secs = 1;
    cfg.missed_heartbeats = 2;
    cfg.reconnect_secs = 1;
    let phone = driver::spawn(cfg, DriverOptions::default()).unwrap();
    let end = std::time::Instant::now() + Duration::from_secs(20);
    let lost = |until: Duration| {
        let end = std::time::Instant::now() + until;
        while std::time::Instant::now() < end {
            if let Ok(DriverEvent::Phone {
                event: Event::SessionLost { reason, .. },
                ..
            }) = phone.events().recv_timeout(Duration::from_millis(20))
            {
                return Some(reason);
            }
        }
        None
    };
    while phone.view().session.state != SessionState::Open {
        assert!(std::time::Instant::now() < end, "no session");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Heartbeats answered: the session holds.
    assert_eq!(lost(Duration::from_millis(3500)), None);
    sim.set_heartbeat_loss(1.0);
    assert_eq!(
        lost(Duration::from_secs(6)),
        Some(SessionEndReason::HeartbeatTimeout)
    );
    sim.set_heartbeat_loss(0.0);
    while phone.view().session.state != SessionState::Open {
        assert!(std::time::Instant::now() < end, "no session again");
        std::thread::sleep(Duration::from_millis(20));
    }
    while phone.events().try_recv().is_ok() {}
    assert_eq!(lost(Duration::from_millis(3500)), None);
}
