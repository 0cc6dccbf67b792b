//! The simulator under attack, one test per attack, scaled to run in seconds: each time the
//! simulator stays up with its memory bounded, and well-behaved clients beside the attacker
//! are still served (their heartbeat round-trip p99 is printed, never asserted as wall-clock).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use ccx_cti::wire::{decode, fields, tag, AgentState, MessageType, StatusCode, WireVersion};
use ccx_cti_std::sim::{AgentDef, InboundCall, SimConfig, Simulator};

const V17: u32 = 17;

mod support;
use support::{status_of, RawClient};

/// What the attacks ask of a client beyond the shared one.
trait AttackClient {
    /// Ask for `state` (with `password`, if any); the answer (conf or failure), past the
    /// AGENT_STATE_EVENTs before it.
    fn set_state(&mut self, state: AgentState, password: Option<&str>) -> Vec<u8>;
    /// Heartbeat round trips: the service a well-behaved client gets.
    fn round_trips(&mut self, n: usize) -> Vec<Duration>;
}

impl AttackClient for RawClient {
    fn set_state(&mut self, state: AgentState, password: Option<&str>) -> Vec<u8> {
        self.send(MessageType::SetAgentStateReq, |e| {
            e.set(fields::set_agent_state_req::AGENT_STATE, state);
            if let Some(p) = password {
                e.string(tag::AGENT_PASSWORD, p);
            }
        });
        loop {
            let f = self.next().expect("an answer");
            if self.type_of(&f) != MessageType::AgentStateEvent {
                return f;
            }
        }
    }

    fn round_trips(&mut self, n: usize) -> Vec<Duration> {
        (0..n)
            .map(|_| {
                let at = Instant::now();
                self.send(MessageType::HeartbeatReq, |_| {});
                self.expect_past_state_events(MessageType::HeartbeatConf);
                at.elapsed()
            })
            .collect()
    }
}

/// One client with an open session for each generated agent numbered in `agents`
/// (`agent0000` is 0).
fn sessions(sim: &Simulator, agents: std::ops::Range<usize>) -> Vec<RawClient> {
    agents
        .map(|i| RawClient::opened(sim, &format!("agent{i:04}")))
        .collect()
}

fn sim_with(agents: usize, tune: impl FnOnce(&mut SimConfig)) -> Simulator {
    let mut cfg = SimConfig {
        agents: (0..agents).map(AgentDef::generated).collect(),
        ..SimConfig::loopback()
    };
    tune(&mut cfg);
    Simulator::start(cfg).unwrap()
}

/// Well-behaved clients beside the attacker: all served; their p99 is printed.
fn well_behaved_are_served(what: &str, good: &mut [RawClient]) {
    let mut all: Vec<Duration> = good.iter_mut().flat_map(|c| c.round_trips(20)).collect();
    all.sort();
    let p99 = all[(all.len() * 99 / 100).min(all.len() - 1)];
    println!(
        "{what}: {} round trips of well-behaved clients, p99 {:.2} ms",
        all.len(),
        p99.as_secs_f64() * 1000.0
    );
}

/// Resident memory of this process (simulator included), in KiB (Linux).
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn assert_memory_bounded(before: Option<u64>, what: &str, limit_mib: u64) {
    if let (Some(b), Some(a)) = (before, rss_kib()) {
        let grown = a.saturating_sub(b) / 1024;
        println!("{what}: resident memory grew {grown} MiB");
        assert!(grown < limit_mib, "{what}: memory grew {grown} MiB");
    }
}

#[test]
fn connections_above_the_limit_are_refused_cleanly() {
    let sim = sim_with(4, |c| c.limits.max_connections = 40);
    let mut good = sessions(&sim, 0..4);
    let before = rss_kib();
    // 36 idle connections fill the limit; every one after them is closed at once.
    let idle: Vec<TcpStream> = (0..36)
        .map(|_| TcpStream::connect(sim.addr()).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    for _ in 0..20 {
        let mut extra = TcpStream::connect(sim.addr()).unwrap();
        extra
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut b = [0u8; 16];
        let n = extra.read(&mut b).unwrap_or(0);
        assert_eq!(
            n, 0,
            "a connection above the limit is closed without a byte"
        );
    }
    assert_eq!(sim.counters().connections_refused, 20);
    well_behaved_are_served("connection limit", &mut good);
    assert_memory_bounded(before, "connection limit", 50);
    drop(idle);
    // Room again once the idle ones are gone.
    std::thread::sleep(Duration::from_millis(100));
    RawClient::connect(&sim).open_req("agent0000", &[]);
}

#[test]
fn hundreds_of_idle_connections_cost_no_threads() {
    let sim = sim_with(2, |_| {});
    let mut good = sessions(&sim, 0..2);
    let threads = || {
        std::fs::read_dir("/proc/self/task")
            .map(|d| d.count())
            .unwrap_or(0)
    };
    let (t0, before) = (threads(), rss_kib());
    let idle: Vec<TcpStream> = (0..400)
        .map(|_| TcpStream::connect(sim.addr()).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(sim.counters().connections, 402);
    assert!(
        threads() <= t0 + 1,
        "threads grew from {t0} to {}",
        threads()
    );
    well_behaved_are_served("400 idle connections", &mut good);
    assert_memory_bounded(before, "400 idle connections", 64);
    drop(idle);
}

/// Floods `c` with requests without reading, until the server closes it or `limit` passes.
fn flood_without_reading(c: &mut RawClient, limit: Duration) -> bool {
    let frame = c.frame(MessageType::QueryAgentStateReq, |_| {});
    let batch: Vec<u8> = frame
        .iter()
        .copied()
        .cycle()
        .take(frame.len() * 500)
        .collect();
    c.stream
        .set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let started = Instant::now();
    while started.elapsed() < limit {
        match c.stream.write_all(&batch) {
            Ok(()) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn a_client_that_never_reads_is_closed_when_its_queue_is_full() {
    let sim = sim_with(3, |c| c.limits.max_queued_bytes = 256 * 1024);
    let mut good = sessions(&sim, 1..3);
    let before = rss_kib();
    let mut attacker = RawClient::opened(&sim, "agent0000");
    let closed = flood_without_reading(&mut attacker, Duration::from_secs(20));
    assert!(closed, "the server closed the flooding client");
    assert_eq!(sim.counters().slow_readers_closed, 1);
    well_behaved_are_served("reader that falls behind", &mut good);
    assert_memory_bounded(before, "reader that falls behind", 64);
}

#[test]
fn a_write_that_makes_no_progress_times_out() {
    let sim = sim_with(3, |c| {
        c.limits.max_queued_bytes = 512 << 20;
        c.limits.write_timeout_ms = 300;
    });
    let mut good = sessions(&sim, 1..3);
    let before = rss_kib();
    let mut attacker = RawClient::opened(&sim, "agent0000");
    let closed = flood_without_reading(&mut attacker, Duration::from_secs(20));
    assert!(closed, "the server closed the stalled client");
    let c = sim.counters();
    assert_eq!((c.write_timeouts, c.slow_readers_closed), (1, 0));
    well_behaved_are_served("write timeout", &mut good);
    assert_memory_bounded(before, "write timeout", 200);
}

#[test]
fn junk_frames_do_not_keep_an_unopened_connection_alive() {
    let sim = sim_with(2, |c| c.limits.open_deadline_ms = 400);
    let mut good = vec![RawClient::opened(&sim, "agent0001")];
    let mut attacker = RawClient::connect(&sim);
    let junk = [0u8, 0, 0, 4, 0, 0, 0, 99, 1, 2, 3, 4];
    let started = Instant::now();
    let mut cut = false;
    while started.elapsed() < Duration::from_secs(5) {
        if attacker.stream.write_all(&junk).is_err() {
            cut = true;
            break;
        }
        attacker
            .stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut b = [0u8; 64];
        if let Ok(0) = attacker.stream.read(&mut b) {
            cut = true;
            break;
        }
    }
    assert!(cut, "the connection was closed");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(sim.counters().open_deadlines, 1);
    // The open session is not bound by the open deadline.
    std::thread::sleep(Duration::from_millis(500));
    well_behaved_are_served("open deadline", &mut good);
}

#[test]
fn idle_timeout_has_an_upper_bound() {
    let sim = sim_with(1, |_| {});
    for idle in [120, 3600, u32::MAX] {
        let mut c = RawClient::connect(&sim);
        c.send(MessageType::OpenReq, |e| {
            e.set(fields::open_req::VERSION_NUMBER, V17)
                .set(fields::open_req::IDLE_TIMEOUT, idle);
            e.string(tag::CLIENT_ID, "t")
                .bytes(tag::CLIENT_PASSWORD, &[]);
            e.string(tag::AGENT_ID, "agent0000");
        });
        let f = c.expect_past_state_events(MessageType::FailureConf);
        assert_eq!(
            status_of(&f),
            StatusCode::InvalidTimeout.value(),
            "IdleTimeout {idle}"
        );
    }
}

#[test]
fn every_refused_open_req_gets_failure_conf_including_version_19() {
    let sim = sim_with(1, |_| {});
    for version in [19, 20, 255] {
        for encoded_as in [17, 18] {
            let mut c = RawClient::connect(&sim);
            let mut f = c.frame_as(MessageType::OpenReq, WireVersion::new(encoded_as), |e| {
                e.set(fields::open_req::IDLE_TIMEOUT, 80);
                e.string(tag::CLIENT_ID, "t")
                    .bytes(tag::CLIENT_PASSWORD, &[]);
                e.string(tag::AGENT_ID, "agent0000");
            });
            f[12..16].copy_from_slice(&u32::to_be_bytes(version));
            c.stream.write_all(&f).unwrap();
            let conf = c.expect_past_state_events(MessageType::FailureConf);
            assert_eq!(
                status_of(&conf),
                StatusCode::InvalidVersion.value(),
                "v{version}"
            );
        }
    }
    // An OPEN_REQ whose floating part is damaged is refused too, not ignored.
    let mut c = RawClient::connect(&sim);
    let mut f = c.frame(MessageType::OpenReq, |e| {
        e.set(fields::open_req::VERSION_NUMBER, V17)
            .set(fields::open_req::IDLE_TIMEOUT, 80);
        e.string(tag::AGENT_ID, "agent0000");
    });
    let last = f.len() - 1;
    f[last - 10] = 200; // a field length past the end
    c.stream.write_all(&f).unwrap();
    c.expect_past_state_events(MessageType::FailureConf);
}

#[test]
fn call_variables_are_capped_per_call() {
    let sim = sim_with(2, |c| {
        c.limits.max_call_vars = 50;
        c.limits.max_call_var_bytes = 4096;
        c.auto_work = false;
    });
    let mut good = vec![RawClient::opened(&sim, "agent0001")];
    let mut attacker = RawClient::opened(&sim, "agent0000");
    attacker.set_state(AgentState::Login, None);
    attacker.set_state(AgentState::Available, None);
    sim.offer_call(InboundCall::default());
    let begin = attacker.expect_past_state_events(MessageType::BeginCallEvent);
    let id = decode(&begin, WireVersion::new(V17))
        .unwrap()
        .get(fields::begin_call_event::CONNECTION_CALL_ID)
        .unwrap();
    let before = rss_kib();
    let mut refused = 0;
    for round in 0..40 {
        attacker.send(MessageType::SetCallDataReq, |e| {
            e.set(fields::set_call_data_req::CONNECTION_CALL_ID, id);
            e.string(tag::CONNECTION_DEVICE_ID, "10000");
            for k in 0..10 {
                e.named_var(&format!("user.v{round}_{k}"), "x");
            }
        });
        let answer = loop {
            let f = attacker.next().unwrap();
            let ty = decode(&f, WireVersion::new(V17)).unwrap().message_type();
            if matches!(
                ty,
                MessageType::SetCallDataConf | MessageType::ControlFailureConf
            ) {
                break ty;
            }
        };
        if answer == MessageType::ControlFailureConf {
            refused += 1;
        }
    }
    // 5 requests of 10 fit the cap of 50; the other 35 are refused.
    assert_eq!(refused, 35);
    assert_eq!(sim.counters().call_vars_refused, 35);
    let agent = sim.agent("agent0000").unwrap();
    assert_eq!(agent.calls[0].vars.len(), 50);
    well_behaved_are_served("call variables", &mut good);
    assert_memory_bounded(before, "call variables", 32);
}

#[test]
fn malformed_frames_are_counted_and_the_simulator_goes_on() {
    let sim = sim_with(2, |_| {});
    let mut good = vec![RawClient::opened(&sim, "agent0001")];
    let mut attacker = RawClient::opened(&sim, "agent0000");
    // A SET_CALL_DATA_REQ whose field overruns the body: frames, but does not decode.
    let mut f = attacker.frame(MessageType::SetCallDataReq, |e| {
        e.string(tag::CONNECTION_DEVICE_ID, "10000");
    });
    let last = f.len() - 1;
    f[last - 6] = 200;
    let flood: Vec<u8> = f.iter().copied().cycle().take(f.len() * 5000).collect();
    attacker.stream.write_all(&flood).unwrap();
    attacker.round_trips(1);
    assert_eq!(sim.counters().malformed_in, 5000);
    well_behaved_are_served("malformed frames", &mut good);
}

#[test]
fn require_password_guards_session_replacement_and_state_changes() {
    let sim = sim_with(0, |c| {
        c.agents = vec![AgentDef::default()]; // chli4020, password "secret"
        c.require_password = true;
    });
    let mut owner = RawClient::connect(&sim);
    owner.open_req("chli4020", b"secret");
    owner.expect_past_state_events(MessageType::OpenConf);
    // No password: the owner's session stays.
    let mut thief = RawClient::connect(&sim);
    thief.open_req("chli4020", &[]);
    let f = thief.expect_past_state_events(MessageType::FailureConf);
    assert_eq!(status_of(&f), StatusCode::InvalidPassword.value());
    // A state change without the password is refused, with it accepted.
    let refused = owner.set_state(AgentState::Login, None);
    assert_eq!(
        decode(&refused, WireVersion::new(V17))
            .unwrap()
            .message_type(),
        MessageType::ControlFailureConf
    );
    let ok = owner.set_state(AgentState::Login, Some("secret"));
    assert_eq!(
        decode(&ok, WireVersion::new(V17)).unwrap().message_type(),
        MessageType::SetAgentStateConf
    );
    // With the password the replacement goes through, as it always does without the flag.
    let mut second = RawClient::connect(&sim);
    second.open_req("chli4020", b"secret");
    second.expect_past_state_events(MessageType::OpenConf);
    assert_eq!(sim.counters().sessions_replaced, 1);
}
