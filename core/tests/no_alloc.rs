//! Zero allocations: a counting global allocator wraps the system one, and every core call on
//! the shared traces and flows (parse, decode, render, framing, the phone) must leave its
//! counters unchanged. The test itself allocates freely between those calls (reading files,
//! building frames); only the core calls are measured.
//!
//! One `#[test]` only: the counters are process-wide, and a second test running on another
//! thread would be counted too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use core::fmt::Write as _;
use std::alloc::System;

use ccx_cti::config::PhoneConfig;
use ccx_cti::phone::{
    Command, Event, FrameDirection, Instant, Phone, PreviewAnswer, SessionState, TransportAction,
};
use ccx_cti::trace::{self, TextParser};
use ccx_cti::wire::{decode, message_def, Encoder, FrameAccumulator, MessageType, WireVersion};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Run `f` and fail if it allocated, reallocated or freed anything.
fn no_alloc<R>(what: &str, f: impl FnOnce() -> R) -> R {
    let region = Region::new(GLOBAL);
    let result = f();
    let change = region.change();
    assert!(
        change.allocations == 0 && change.reallocations == 0 && change.deallocations == 0,
        "{what} allocated: {change:?}"
    );
    result
}

/// A fixed-size text buffer: rendering into it cannot allocate by construction.
struct FixedText<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> FixedText<N> {
    fn new() -> Self {
        FixedText {
            buf: [0; N],
            len: 0,
        }
    }
    fn clear(&mut self) {
        self.len = 0;
    }
    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap()
    }
}

impl<const N: usize> core::fmt::Write for FixedText<N> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(core::fmt::Error)?;
        self.buf
            .get_mut(self.len..end)
            .ok_or(core::fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

const TRACES: [&str; 4] = [
    include_str!("../../tests/traces/guide-skip.trace"),
    include_str!("../../tests/traces/guide-accept.trace"),
    include_str!("../../tests/traces/guide-consult-transfer.trace"),
    include_str!("../../tests/traces/guide-queued-answered.trace"),
];

/// Every trace under versions 10, 17 and 18: parse, decode, render masked and shown, parse the
/// rendering back, frame the whole stream in TCP-sized chunks. Returns the messages seen.
fn traces_without_allocating() -> usize {
    let mut seen = 0;
    let mut text = FixedText::<8192>::new();
    for trace_text in TRACES {
        for version in [10, 17, 18] {
            let v = WireVersion::new(version);
            let mut stream = Vec::new();
            let mut parser = no_alloc("TextParser::new", || TextParser::new(trace_text));
            loop {
                let mut buf = [0u8; 4096];
                let Some(result) = no_alloc("TextParser::next_message", || {
                    parser.next_message(&mut buf, v)
                }) else {
                    break;
                };
                let n = result.unwrap();
                let frame = &buf[..n];
                let msg = no_alloc("decode", || decode(frame, v)).unwrap();
                for show_secrets in [false, true] {
                    text.clear();
                    let opts = trace::TraceOptions {
                        show_secrets,
                        indent: 2,
                    };
                    no_alloc("render", || {
                        write!(text, "{}", trace::display_with(&msg, opts))
                    })
                    .unwrap();
                }
                assert!(text.as_str().starts_with("MsgType: "));
                let mut again = [0u8; 4096];
                let m = no_alloc("parse_message", || {
                    trace::parse_message(text.as_str(), &mut again, v)
                })
                .unwrap();
                assert_eq!(&again[..m], frame, "render/parse round trip");
                stream.extend_from_slice(frame);
                seen += 1;
            }
            // The stream framed as a socket delivers it.
            let mut acc: FrameAccumulator = FrameAccumulator::new();
            let mut frames = 0;
            for chunk in stream.chunks(37) {
                let mut input = chunk;
                loop {
                    let step = no_alloc("FrameAccumulator::feed", || match acc.feed(input) {
                        ccx_cti::wire::FeedResult::Consumed => None,
                        ccx_cti::wire::FeedResult::Frame { frame, remaining } => {
                            decode(frame, v).unwrap();
                            Some(remaining)
                        }
                        ccx_cti::wire::FeedResult::Error { error, .. } => panic!("{error}"),
                    });
                    match step {
                        Some(rest) => {
                            frames += 1;
                            input = rest;
                        }
                        None => break,
                    }
                }
            }
            assert!(frames > 0);
        }
    }
    seen
}

/// What a flow file says happens, in order.
#[derive(Debug)]
enum Action {
    /// The server sends this message (trace text).
    Server(String),
    /// The agent presses a button (`agent:` line).
    Agent(String),
    /// The phone sends a message of this name.
    Client(String),
}

/// The steps of a flow file (FORMAT.md), read as far as this test needs.
fn flow_steps(text: &str) -> (String, Vec<Vec<Action>>) {
    let mut start = String::new();
    let mut steps: Vec<Vec<Action>> = vec![Vec::new()];
    let mut block: Option<&str> = None;
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let step = steps.last_mut().unwrap();
        if let Some(indented) = line.strip_prefix("  ") {
            match block {
                Some("server") => {
                    if indented.starts_with("MsgType:") {
                        step.push(Action::Server(String::new()));
                    }
                    if let Some(Action::Server(last)) = step.last_mut() {
                        last.push_str(indented);
                        last.push('\n');
                    }
                }
                Some("client") => {
                    if let Some(name) = indented.strip_prefix("MsgType: ") {
                        step.push(Action::Client(name.trim().to_string()));
                    }
                }
                _ => {}
            }
            continue;
        }
        block = None;
        if line.starts_with("step ") {
            steps.push(Vec::new());
        } else if let Some(s) = line.strip_prefix("start: ") {
            start = s.trim().to_string();
        } else if let Some(a) = line.strip_prefix("agent: ") {
            step.push(Action::Agent(a.trim().to_string()));
        } else if line.starts_with("server:") {
            block = Some("server");
        } else if line.starts_with("client:") {
            block = Some("client");
        }
    }
    (start, steps)
}

fn command(line: &str) -> Option<Command<'_>> {
    let mut words = line.split_whitespace();
    let verb = words.next()?;
    let arg = words.next();
    let reason = || arg.and_then(|a| a.parse().ok()).unwrap_or(0).into();
    Some(match verb {
        "login" => Command::Login { password: None },
        "logout" => Command::Logout { reason: reason() },
        "ready" => Command::Ready,
        "not-ready" => Command::NotReady { reason: reason() },
        "answer" => Command::Answer { call: None },
        "release" => Command::Release { call: None },
        "hold" => Command::Hold { call: None },
        "retrieve" => Command::Retrieve { call: None },
        "consult" => Command::Consult { number: arg? },
        "dial" => Command::Dial { number: arg? },
        "transfer" => Command::Transfer,
        "conference" => Command::Conference,
        "dtmf" => Command::Dtmf { digits: arg? },
        "preview" => Command::Preview(match arg? {
            "accept" => PreviewAnswer::Accept,
            "skip" => PreviewAnswer::Skip,
            "reject" => PreviewAnswer::Reject,
            _ => return None,
        }),
        _ => return None,
    })
}

fn encode(ty: MessageType, fixed: &[(&str, u32)]) -> Vec<u8> {
    let layout = message_def(ty.id()).and_then(|d| d.layout).unwrap();
    let mut buf = vec![0u8; 1024];
    let mut enc = Encoder::new(&mut buf, ty, WireVersion::DEFAULT);
    for (label, value) in fixed {
        enc.set_fixed_raw(layout.fixed_named(label).unwrap().0, *value);
    }
    let n = enc.finish().unwrap();
    buf.truncate(n);
    buf
}

struct FlowPhone {
    phone: Phone,
    now: Instant,
    /// InvokeIDs of the requests the phone sent, newest last.
    invoked: Vec<u32>,
    previews: usize,
    vocabulary: ccx_cti::config::Vocabulary<4>,
    snapshot: Box<ccx_cti::phone::PhoneSnapshot>,
}

impl FlowPhone {
    fn feed(&mut self, frame: &[u8]) {
        let (phone, now) = (&mut self.phone, self.now);
        let mut seen = 0usize;
        let mut tap = |_: FrameDirection, _: Instant, f: &[u8]| seen += f.len();
        no_alloc("Phone::handle_bytes_tapped", || {
            phone.handle_bytes_tapped(now, frame, &mut tap)
        });
        assert_eq!(seen, frame.len(), "the tap saw the frame");
    }

    /// Drain what the phone sent; returns the message names.
    fn sent(&mut self) -> Vec<&'static str> {
        let mut names = Vec::new();
        loop {
            let mut buf = [0u8; 2048];
            let now = self.now;
            let mut tap = |_: FrameDirection, _: Instant, _: &[u8]| {};
            let Some(n) = no_alloc("Phone::poll_transmit_tapped", || {
                self.phone.poll_transmit_tapped(now, &mut buf, &mut tap)
            }) else {
                break;
            };
            let msg = no_alloc("decode", || decode(&buf[..n], WireVersion::DEFAULT)).unwrap();
            if let Some(id) = msg.invoke_id() {
                self.invoked.push(id);
            }
            names.push(msg.def().unwrap().name);
        }
        names
    }

    fn drain_events(&mut self) {
        while let Some(e) = no_alloc("Phone::poll_event", || self.phone.poll_event()) {
            if matches!(e, Event::PreviewOffered { .. }) {
                self.previews += 1;
            }
        }
        // Everything a screen reads, from the view and from a snapshot of it.
        let read = |view: &ccx_cti::phone::PhoneView<'_>| {
            let mut n = view.valid_commands().count() + view.requests().len();
            n += view.preview().map_or(0, |c| c.name.map_or(0, str::len));
            for call in view.calls() {
                n += call.ecc_vars().count() + call.call_var(1).map_or(0, str::len);
            }
            n + view.agent.reason_label.map_or(0, str::len)
        };
        let phone = &self.phone;
        let vocabulary = &self.vocabulary;
        no_alloc("Phone::view_with", || read(&phone.view_with(vocabulary)));
        let snapshot = &mut self.snapshot;
        no_alloc("PhoneSnapshot::refresh", || snapshot.refresh(phone));
        no_alloc("PhoneSnapshot::view", || read(&snapshot.view()));
    }

    /// Answer the resynchronisation requests after OPEN_CONF.
    fn answer(&mut self, names: &[&str]) {
        let ids: Vec<u32> = self.invoked[self.invoked.len() - names.len()..].to_vec();
        for (name, id) in names.iter().zip(ids) {
            let reply = match *name {
                "QUERY_AGENT_STATE_REQ" => encode(
                    MessageType::QueryAgentStateConf,
                    &[("InvokeID", id), ("AgentState", 3)],
                ),
                "SNAPSHOT_DEVICE_REQ" => {
                    encode(MessageType::SnapshotDeviceConf, &[("InvokeID", id)])
                }
                _ => continue,
            };
            self.feed(&reply);
        }
    }
}

/// Every flow of tests/flows through the phone: the server's messages parsed from trace text
/// and fed as bytes, the agent's commands, what the phone sends, its events and timers.
fn flows_without_allocating() -> (usize, usize) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/flows");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "flow"))
        .collect();
    paths.sort();
    let mut flows = 0;
    let mut strict_flows = 0;
    let mut previews = 0;
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let (start, steps) = flow_steps(&text);
        // The skip and accept stories are checked step by step; the other flows are driven for
        // the allocation check only (their refusals, failovers and timers are other tests').
        let strict = name == "outbound-skip.flow" || name == "outbound-accept.flow";
        let unknown = steps.iter().flatten().find_map(|a| match a {
            Action::Agent(line) if command(line).is_none() => Some(line.as_str()),
            _ => None,
        });
        let timed = text
            .lines()
            .any(|l| l.starts_with("net:") || l.starts_with("time:"));
        if let Some(a) = unknown.or(timed.then_some("net:/time:")) {
            assert!(!strict, "{name}: `{a}`");
            println!("{name}: skipped, `{a}` is not driven here");
            continue;
        }
        let mut config = PhoneConfig {
            agent_id: "chli4020".try_into().unwrap(),
            agent_extension: "4020".try_into().unwrap(),
            agent_instrument: "4020".try_into().unwrap(),
            agent_password: "pw4020".try_into().unwrap(),
            ..PhoneConfig::default()
        };
        config.client_password = "client-secret".try_into().unwrap();
        let phone = no_alloc("Phone::new", || Phone::new(config));
        let mut p = FlowPhone {
            phone,
            now: Instant::from_millis(1000),
            invoked: Vec::new(),
            previews: 0,
            vocabulary: {
                let mut v = ccx_cti::config::Vocabulary::new();
                v.add(ccx_cti::config::ReasonKind::NotReady, 1, "Break")
                    .unwrap();
                v
            },
            snapshot: Box::default(),
        };
        // Open the session, then answer OPEN_REQ and the resynchronisation.
        let now = p.now;
        let action = no_alloc("Phone::poll_transport", || p.phone.poll_transport(now));
        assert_eq!(action, Some(TransportAction::Connect { server: 0 }));
        no_alloc("Phone::connected", || p.phone.connected(now));
        assert_eq!(p.sent(), ["OPEN_REQ"]);
        let agent_state = match start.as_str() {
            "logged-in AVAILABLE" => 3,
            "logged-in NOT_READY" => 2,
            _ => 1,
        };
        let open_id = *p.invoked.last().unwrap();
        p.feed(&encode(
            MessageType::OpenConf,
            &[
                ("InvokeID", open_id),
                ("ServicesGranted", 7),
                ("AgentState", agent_state),
            ],
        ));
        let resync = p.sent();
        p.answer(&resync);
        assert_eq!(p.phone.session().state, SessionState::Open, "{name}");
        p.drain_events();
        let mut sent = std::collections::VecDeque::new();
        for step in &steps {
            for action in step {
                match action {
                    Action::Agent(line) => {
                        let cmd = command(line).unwrap();
                        let now = p.now;
                        let result = no_alloc("Phone::command", || p.phone.command(now, cmd));
                        if strict {
                            result.unwrap_or_else(|e| panic!("{name}: `{line}`: {e}"));
                        }
                    }
                    Action::Client(expected) => {
                        if sent.is_empty() {
                            sent.extend(p.sent());
                        }
                        let got = sent.pop_front();
                        if strict {
                            assert_eq!(got, Some(expected.as_str()), "{name}: what was sent");
                        }
                    }
                    Action::Server(server_text) => {
                        let mut buf = [0u8; 4096];
                        let n = no_alloc("parse_message", || {
                            trace::parse_message(server_text, &mut buf, WireVersion::DEFAULT)
                        })
                        .unwrap();
                        // A confirmation answers the request the phone sent last, whatever
                        // the InvokeID the flow prints.
                        let is_conf = decode(&buf[..n], WireVersion::DEFAULT)
                            .unwrap()
                            .def()
                            .is_some_and(|d| d.name.ends_with("_CONF"));
                        if is_conf {
                            if let Some(id) = p.invoked.last() {
                                buf[8..12].copy_from_slice(&id.to_be_bytes());
                            }
                        }
                        p.feed(&buf[..n]);
                    }
                }
            }
            sent.extend(p.sent());
            assert!(
                !strict || sent.is_empty(),
                "{name}: unexpected frames {sent:?}"
            );
            sent.clear();
            p.drain_events();
            // Time passes: a heartbeat is due and answered.
            p.now = Instant::from_millis(p.now.as_millis() + 21_000);
            let now = p.now;
            let deadline = no_alloc("Phone::poll_timeout", || p.phone.poll_timeout());
            no_alloc("Phone::handle_timeout", || p.phone.handle_timeout(now));
            let beat = p.sent();
            if strict {
                assert!(deadline.is_some_and(|d| d <= now), "{name}: heartbeat due");
                assert_eq!(beat, ["HEARTBEAT_REQ"], "{name}");
            }
            if let Some(id) = p.invoked.last() {
                p.feed(&encode(MessageType::HeartbeatConf, &[("InvokeID", *id)]));
            }
            p.drain_events();
            if strict {
                assert_eq!(p.phone.session().state, SessionState::Open, "{name}");
            }
        }
        // The transport drops; the phone plans a reconnect.
        let now = p.now;
        no_alloc("Phone::disconnected", || p.phone.disconnected(now));
        p.drain_events();
        flows += 1;
        strict_flows += usize::from(strict);
        previews += p.previews;
    }
    assert_eq!(strict_flows, 2, "the skip and accept flows were driven");
    (flows, previews)
}

#[test]
fn core_calls_do_not_allocate_on_the_shared_traces_and_flows() {
    // The harness's main thread allocates a little right after it starts this test's thread
    // (the counters are process-wide); let it settle first.
    std::thread::sleep(std::time::Duration::from_millis(300));
    // The counter works: an allocation in a measured region is seen.
    let region = Region::new(GLOBAL);
    let v: Vec<u8> = Vec::with_capacity(16);
    assert!(region.change().allocations >= 1);
    drop(v);

    let messages = traces_without_allocating();
    assert!(messages >= 3 * 15, "{messages} messages");
    let (flows, previews) = flows_without_allocating();
    assert!(flows >= 2, "{flows} flows driven");
    assert!(
        previews >= 2,
        "the skip and accept stories offer a preview each"
    );
}
