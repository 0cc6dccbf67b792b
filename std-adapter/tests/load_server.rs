//! `ccx load --server`: what the phones notice about a server that is not the run's own —
//! sessions replaced by another client, a server that dies, and why a phone never opened.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use ccx_cti::wire::{fields, tag, Encoder, MessageType, WireVersion};
use ccx_cti_std::load::{run, LoadArgs, LoadReport};
use ccx_cti_std::sim::{AgentDef, SimConfig, Simulator};

fn sim(agents: usize, tune: impl FnOnce(&mut SimConfig)) -> Simulator {
    let mut cfg = SimConfig {
        agents: (0..agents).map(AgentDef::generated).collect(),
        ..SimConfig::loopback()
    };
    tune(&mut cfg);
    Simulator::start(cfg).unwrap()
}

fn load_against(server: String, phones: usize, secs: u64) -> std::thread::JoinHandle<LoadReport> {
    std::thread::spawn(move || {
        let args = LoadArgs {
            phones,
            duration: std::time::Duration::from_secs(secs),
            server: Some(server),
            ..LoadArgs::default()
        };
        run(&args, &mut |_| {}).unwrap()
    })
}

/// Another client opens a session for `agent` (as anyone may on Unified CCX).
fn steal(sim: &Simulator, agent: &str) -> TcpStream {
    let mut s = TcpStream::connect(sim.addr()).unwrap();
    let mut buf = vec![0u8; 512];
    let mut e = Encoder::new(&mut buf, MessageType::OpenReq, WireVersion::new(17));
    e.set_fixed_raw(0, 1);
    e.set(fields::open_req::VERSION_NUMBER, 17)
        .set(fields::open_req::IDLE_TIMEOUT, 80);
    e.string(tag::CLIENT_ID, "thief")
        .bytes(tag::CLIENT_PASSWORD, &[]);
    e.string(tag::AGENT_ID, agent);
    let n = e.finish().unwrap();
    s.write_all(&buf[..n]).unwrap();
    s
}

#[test]
fn a_replaced_session_is_noticed() {
    let sim = sim(3, |_| {});
    let run = load_against(sim.addr().to_string(), 3, 2);
    std::thread::sleep(Duration::from_millis(800));
    let _thief = steal(&sim, "agent0001");
    let report = run.join().unwrap();
    let text = report.text();
    assert_eq!(report.replaced(), 1, "{text}");
    assert!(text.contains("sessions were replaced"), "{text}");
    assert!(!report.passed(), "{text}");
}

#[test]
fn a_server_that_dies_is_noticed() {
    let sim = sim(3, |_| {});
    let run = load_against(sim.addr().to_string(), 3, 2);
    std::thread::sleep(Duration::from_millis(800));
    sim.stop();
    let report = run.join().unwrap();
    let text = report.text();
    assert_eq!(report.down_at_end.values().sum::<u64>(), 3, "{text}");
    assert!(text.contains("the server is gone"), "{text}");
    assert!(!report.passed());
}

#[test]
fn why_a_phone_never_opened_is_said() {
    // Nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let report = load_against(format!("127.0.0.1:{port}"), 2, 1)
        .join()
        .unwrap();
    assert_eq!(report.never_opened, 2);
    let why: Vec<&String> = report.never_opened_why.keys().collect();
    assert!(
        why.iter()
            .all(|w| w.contains("connect") && w.to_lowercase().contains("refused")),
        "{why:?}"
    );
    // A server at its connection limit: the phone above it is closed without a session.
    let full = sim(3, |c| c.limits.max_connections = 2);
    let report = load_against(full.addr().to_string(), 3, 1).join().unwrap();
    assert_eq!(report.never_opened, 1, "{}", report.text());
    assert!(
        report.text().contains("never opened, why"),
        "{}",
        report.text()
    );
}
