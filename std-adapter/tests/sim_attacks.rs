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

use ccx_cti::wire::{
    decode, fields, tag, AgentState, Encoder, FeedResult, FrameAccumulator, MessageType,
    StatusCode, WireVersion,
};
use ccx_cti_std::sim::{AgentDef, InboundCall, SimConfig, Simulator};

const V17: u32 = 17;

/// A client that speaks the protocol by hand.
struct Client {
    stream: TcpStream,
    acc: Box<FrameAccumulator>,
    pending: Vec<Vec<u8>>,
    invoke: u32,
}

impl Client {
    fn connect(sim: &Simulator) -> Client {
        let stream = TcpStream::connect(sim.addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        Client {
            stream,
            acc: Box::default(),
            pending: Vec::new(),
            invoke: 0,
        }
    }

    fn frame(
        &mut self,
        ty: MessageType,
        version: u32,
        build: impl FnOnce(&mut Encoder<'_>),
    ) -> Vec<u8> {
        self.invoke += 1;
        let mut buf = vec![0u8; 4096];
        let mut enc = Encoder::new(&mut buf, ty, WireVersion::new(version));
        enc.set_fixed_raw(0, self.invoke);
        build(&mut enc);
        let n = enc.finish().unwrap();
        buf.truncate(n);
        buf
    }

    fn send(
        &mut self,
        ty: MessageType,
        build: impl FnOnce(&mut Encoder<'_>),
    ) -> std::io::Result<()> {
        let f = self.frame(ty, V17, build);
        self.stream.write_all(&f)
    }

    /// The next frame, or None when the server closed the connection.
    fn next(&mut self) -> Option<Vec<u8>> {
        loop {
            if !self.pending.is_empty() {
                return Some(self.pending.remove(0));
            }
            let mut buf = [0u8; 4096];
            let n = self.stream.read(&mut buf).ok()?;
            if n == 0 {
                return None;
            }
            let mut input: &[u8] = &buf[..n];
            loop {
                match self.acc.feed(input) {
                    FeedResult::Consumed => break,
                    FeedResult::Frame { frame, remaining } => {
                        self.pending.push(frame.to_vec());
                        input = &buf[n - remaining.len()..n];
                    }
                    FeedResult::Error { error, .. } => panic!("framing: {error}"),
                }
            }
        }
    }

    fn expect(&mut self, ty: MessageType) -> Vec<u8> {
        loop {
            let frame = self
                .next()
                .unwrap_or_else(|| panic!("closed while waiting for {ty:?}"));
            let got = decode(&frame, WireVersion::new(V17))
                .unwrap()
                .message_type();
            // Agent state events may come between; skip them.
            if got == ty {
                return frame;
            }
            assert_eq!(
                got,
                MessageType::AgentStateEvent,
                "expected {ty:?}, got {got:?}"
            );
        }
    }

    fn open_req(&mut self, agent: &str, password: &[u8]) -> std::io::Result<()> {
        self.send(MessageType::OpenReq, |e| {
            e.set(fields::open_req::VERSION_NUMBER, V17)
                .set(fields::open_req::IDLE_TIMEOUT, 80)
                .set(fields::open_req::SERVICES_REQUESTED, 7)
                .set(fields::open_req::CALL_MSG_MASK, 0x0001_EFFF)
                .set(fields::open_req::AGENT_STATE_MASK, 0x1FF);
            e.string(tag::CLIENT_ID, "test")
                .bytes(tag::CLIENT_PASSWORD, password);
            e.string(tag::AGENT_ID, agent);
        })
    }

    fn open(sim: &Simulator, agent: &str) -> Client {
        let mut c = Client::connect(sim);
        c.open_req(agent, &[]).unwrap();
        c.expect(MessageType::OpenConf);
        c
    }

    fn set_state(&mut self, state: AgentState, password: Option<&str>) -> Vec<u8> {
        self.send(MessageType::SetAgentStateReq, |e| {
            e.set(fields::set_agent_state_req::AGENT_STATE, state);
            if let Some(p) = password {
                e.string(tag::AGENT_PASSWORD, p);
            }
        })
        .unwrap();
        loop {
            let f = self.next().expect("an answer");
            let ty = decode(&f, WireVersion::new(V17)).unwrap().message_type();
            if ty != MessageType::AgentStateEvent {
                return f;
            }
        }
    }

    /// Heartbeat round trips: the service a well-behaved client gets.
    fn round_trips(&mut self, n: usize) -> Vec<Duration> {
        (0..n)
            .map(|_| {
                let at = Instant::now();
                self.send(MessageType::HeartbeatReq, |_| {}).unwrap();
                self.expect(MessageType::HeartbeatConf);
                at.elapsed()
            })
            .collect()
    }
}

fn status_of(frame: &[u8]) -> u32 {
    decode(frame, WireVersion::new(V17))
        .unwrap()
        .get(fields::failure_conf::STATUS)
        .unwrap()
        .value()
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
fn well_behaved_are_served(what: &str, good: &mut [Client]) {
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
    let mut good: Vec<Client> = (0..4)
        .map(|i| Client::open(&sim, &format!("agent{i:04}")))
        .collect();
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
    Client::connect(&sim).open_req("agent0000", &[]).unwrap();
}

#[test]
fn hundreds_of_idle_connections_cost_no_threads() {
    let sim = sim_with(2, |_| {});
    let mut good: Vec<Client> = (0..2)
        .map(|i| Client::open(&sim, &format!("agent{i:04}")))
        .collect();
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
fn flood_without_reading(c: &mut Client, limit: Duration) -> bool {
    let frame = c.frame(MessageType::QueryAgentStateReq, V17, |_| {});
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
    let mut good: Vec<Client> = (1..3)
        .map(|i| Client::open(&sim, &format!("agent{i:04}")))
        .collect();
    let before = rss_kib();
    let mut attacker = Client::open(&sim, "agent0000");
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
    let mut good: Vec<Client> = (1..3)
        .map(|i| Client::open(&sim, &format!("agent{i:04}")))
        .collect();
    let before = rss_kib();
    let mut attacker = Client::open(&sim, "agent0000");
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
    let mut good = vec![Client::open(&sim, "agent0001")];
    let mut attacker = Client::connect(&sim);
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
        let mut c = Client::connect(&sim);
        c.send(MessageType::OpenReq, |e| {
            e.set(fields::open_req::VERSION_NUMBER, V17)
                .set(fields::open_req::IDLE_TIMEOUT, idle);
            e.string(tag::CLIENT_ID, "t")
                .bytes(tag::CLIENT_PASSWORD, &[]);
            e.string(tag::AGENT_ID, "agent0000");
        })
        .unwrap();
        let f = c.expect(MessageType::FailureConf);
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
            let mut c = Client::connect(&sim);
            let mut f = c.frame(MessageType::OpenReq, encoded_as, |e| {
                e.set(fields::open_req::IDLE_TIMEOUT, 80);
                e.string(tag::CLIENT_ID, "t")
                    .bytes(tag::CLIENT_PASSWORD, &[]);
                e.string(tag::AGENT_ID, "agent0000");
            });
            f[12..16].copy_from_slice(&u32::to_be_bytes(version));
            c.stream.write_all(&f).unwrap();
            let conf = c.expect(MessageType::FailureConf);
            assert_eq!(
                status_of(&conf),
                StatusCode::InvalidVersion.value(),
                "v{version}"
            );
        }
    }
    // An OPEN_REQ whose floating part is damaged is refused too, not ignored.
    let mut c = Client::connect(&sim);
    let mut f = c.frame(MessageType::OpenReq, 17, |e| {
        e.set(fields::open_req::VERSION_NUMBER, V17)
            .set(fields::open_req::IDLE_TIMEOUT, 80);
        e.string(tag::AGENT_ID, "agent0000");
    });
    let last = f.len() - 1;
    f[last - 10] = 200; // a field length past the end
    c.stream.write_all(&f).unwrap();
    c.expect(MessageType::FailureConf);
}

#[test]
fn call_variables_are_capped_per_call() {
    let sim = sim_with(2, |c| {
        c.limits.max_call_vars = 50;
        c.limits.max_call_var_bytes = 4096;
        c.auto_work = false;
    });
    let mut good = vec![Client::open(&sim, "agent0001")];
    let mut attacker = Client::open(&sim, "agent0000");
    attacker.set_state(AgentState::Login, None);
    attacker.set_state(AgentState::Available, None);
    sim.offer_call(InboundCall::default());
    let begin = attacker.expect(MessageType::BeginCallEvent);
    let id = decode(&begin, WireVersion::new(V17))
        .unwrap()
        .get(fields::begin_call_event::CONNECTION_CALL_ID)
        .unwrap();
    let before = rss_kib();
    let mut refused = 0;
    for round in 0..40 {
        attacker
            .send(MessageType::SetCallDataReq, |e| {
                e.set(fields::set_call_data_req::CONNECTION_CALL_ID, id);
                e.string(tag::CONNECTION_DEVICE_ID, "10000");
                for k in 0..10 {
                    e.named_var(&format!("user.v{round}_{k}"), "x");
                }
            })
            .unwrap();
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
    let mut good = vec![Client::open(&sim, "agent0001")];
    let mut attacker = Client::open(&sim, "agent0000");
    // A SET_CALL_DATA_REQ whose field overruns the body: frames, but does not decode.
    let mut f = attacker.frame(MessageType::SetCallDataReq, V17, |e| {
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
    let mut owner = Client::connect(&sim);
    owner.open_req("chli4020", b"secret").unwrap();
    owner.expect(MessageType::OpenConf);
    // No password: the owner's session stays.
    let mut thief = Client::connect(&sim);
    thief.open_req("chli4020", &[]).unwrap();
    let f = thief.expect(MessageType::FailureConf);
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
    let mut second = Client::connect(&sim);
    second.open_req("chli4020", b"secret").unwrap();
    second.expect(MessageType::OpenConf);
    assert_eq!(sim.counters().sessions_replaced, 1);
}
