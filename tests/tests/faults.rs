//! Not the simulator: this raw peer sends what no correct server sends, at the byte a test picks (a frame cut mid-way, a 4 GiB length, garbage bodies, one byte per 100 ms, duplicate and unknown-call events), where the simulator's faults hit whole replies every Nth frame or at random.
//! Faults from the network and the server, over real loopback TCP: the phone (through the std
//! driver) against a raw scripted peer that misbehaves on purpose. For each fault the phone
//! must not panic or hang, must report it, must reconnect when the stream is lost, and after a
//! reconnect must resynchronise or report what it lost.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use ccx_cti::config::{PhoneConfig, ServerAddr};
use ccx_cti::phone::{Command, Event, SessionEndReason, SessionState};
use ccx_cti::trace;
use ccx_cti::wire::{decode, tag, Encoder, MessageType, WireVersion};
use ccx_cti_std::driver::{self, DriverEvent, DriverHandle, DriverOptions};

const WAIT: Duration = Duration::from_secs(10);
const V17: WireVersion = WireVersion::new(17);

/// The scripted peer: a listener the phone connects to.
struct Peer {
    listener: TcpListener,
}

impl Peer {
    fn new() -> Peer {
        Peer {
            listener: TcpListener::bind("127.0.0.1:0").unwrap(),
        }
    }

    fn config(&self) -> PhoneConfig {
        let port = self.listener.local_addr().unwrap().port();
        let mut config = PhoneConfig {
            agent_id: "chli4020".try_into().unwrap(),
            agent_extension: "4020".try_into().unwrap(),
            agent_instrument: "4020".try_into().unwrap(),
            reconnect_secs: 1,
            ..PhoneConfig::default()
        };
        config.servers.clear();
        config
            .servers
            .push(ServerAddr {
                host: "127.0.0.1".try_into().unwrap(),
                port,
            })
            .unwrap();
        config
    }

    /// Accept the phone's next connection and open its session; the agent is `state`, and
    /// the device snapshot lists no call.
    fn accept_and_open(&self, state: &str) -> TcpStream {
        self.listener.set_nonblocking(false).unwrap();
        let (mut s, _) = self.listener.accept().unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        let open = read_frame(&mut s);
        let invoke = decode(&open, V17).unwrap().invoke_id().unwrap();
        assert_eq!(
            decode(&open, V17).unwrap().message_type(),
            MessageType::OpenReq
        );
        send(&mut s, &format!("MsgType: OPEN_CONF\n  InvokeID: {invoke}\n  ServicesGranted: 7\n  CCXOnline: 1\n  AgentState: {state}\n"));
        for _ in 0..2 {
            let req = read_frame(&mut s);
            let msg = decode(&req, V17).unwrap();
            let invoke = msg.invoke_id().unwrap();
            match msg.message_type() {
                MessageType::QueryAgentStateReq => send(
                    &mut s,
                    &format!("MsgType: QUERY_AGENT_STATE_CONF\n  InvokeID: {invoke}\n  AgentState: {state}\n"),
                ),
                MessageType::SnapshotDeviceReq => {
                    send(&mut s, &format!("MsgType: SNAPSHOT_DEVICE_CONF\n  InvokeID: {invoke}\n  NumCalls: 0\n"))
                }
                other => panic!("unexpected {other:?} while opening"),
            }
        }
        s
    }
}

fn encode(text: &str) -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    let n = trace::parse_message(text, &mut buf, V17).unwrap();
    buf.truncate(n);
    buf
}

fn send(s: &mut TcpStream, text: &str) {
    s.write_all(&encode(text)).unwrap();
}

fn read_frame(s: &mut TcpStream) -> Vec<u8> {
    loop {
        let mut head = [0u8; 8];
        s.read_exact(&mut head).unwrap();
        let len = u32::from_be_bytes(head[..4].try_into().unwrap()) as usize;
        let mut frame = head.to_vec();
        frame.resize(8 + len, 0);
        s.read_exact(&mut frame[8..]).unwrap();
        // Heartbeats are answered at once and not part of any script.
        let msg = decode(&frame, V17).unwrap();
        if msg.message_type() == MessageType::HeartbeatReq {
            let invoke = msg.invoke_id().unwrap();
            send(
                s,
                &format!("MsgType: HEARTBEAT_CONF\n  InvokeID: {invoke}\n"),
            );
            continue;
        }
        return frame;
    }
}

fn begin_call(id: u32) -> String {
    format!(
        "MsgType: BEGIN_CALL_EVENT\n  CallType: CALLTYPE_ACD_IN\n  ConnectionCallID: {id}\n  ConnectionDeviceID: 4020\n\
         MsgType: CALL_DELIVERED_EVENT\n  ConnectionCallID: {id}\n  LocalConnectionState: LCS_ALERTING\n  ConnectionDeviceID: 4020\n  AlertingDeviceID: 4020\n"
    )
}

fn send_all(s: &mut TcpStream, text: &str) {
    let mut parser = trace::TextParser::new(text);
    let mut buf = vec![0u8; 4096];
    while let Some(r) = parser.next_message(&mut buf, V17) {
        let n = r.unwrap();
        s.write_all(&buf[..n]).unwrap();
    }
}

fn phone(peer: &Peer) -> DriverHandle {
    driver::spawn(
        peer.config(),
        DriverOptions {
            trace_frames: false,
            name: "faults".into(),
        },
    )
    .unwrap()
}

/// Wait until a phone event satisfies `pred`; the events seen on the way are returned too.
fn wait_event(h: &DriverHandle, what: &str, pred: impl Fn(&Event) -> bool) -> Vec<Event> {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Ok(DriverEvent::Phone { event, .. }) =
            h.events().recv_timeout(Duration::from_millis(50))
        {
            let hit = pred(&event);
            seen.push(event);
            if hit {
                return seen;
            }
        }
    }
    panic!("no {what} within {WAIT:?}; events seen: {seen:?}");
}

fn wait_view(h: &DriverHandle, what: &str, pred: impl Fn(&driver::PhoneView) -> bool) {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if pred(&h.view()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what} not reached; view: {:?}", h.view());
}

#[test]
fn the_server_closes_mid_frame_and_the_reopen_reports_the_lost_call() {
    let peer = Peer::new();
    let h = phone(&peer);
    let mut s = peer.accept_and_open("AVAILABLE");
    send_all(&mut s, &begin_call(77));
    wait_view(&h, "call 77 tracked", |v| v.call(77).is_some());
    let half = encode("MsgType: AGENT_STATE_EVENT\n  AgentState: TALKING\n");
    s.write_all(&half[..half.len() / 2]).unwrap();
    drop(s);
    wait_event(&h, "session lost", |e| {
        matches!(e, Event::SessionLost { .. })
    });
    // The phone reconnects; the server's snapshot no longer has the call.
    let _s = peer.accept_and_open("AVAILABLE");
    wait_event(&h, "the lost call reported", |e| {
        matches!(e, Event::CallLost { call: 77 })
    });
    wait_view(&h, "open again, no call", |v| {
        v.session.state == SessionState::Open && v.calls.is_empty()
    });
    h.stop();
}

#[test]
fn a_length_of_4_gib_resets_the_stream_and_the_phone_reconnects() {
    let peer = Peer::new();
    let h = phone(&peer);
    let mut s = peer.accept_and_open("NOT_READY");
    s.write_all(&[0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 30]).unwrap();
    wait_event(&h, "a framing error", |e| {
        matches!(
            e,
            Event::SessionLost {
                reason: SessionEndReason::FramingError,
                reconnect_at: Some(_)
            }
        )
    });
    let _s = peer.accept_and_open("NOT_READY");
    wait_view(&h, "open again", |v| v.session.state == SessionState::Open);
    h.stop();
}

#[test]
fn garbage_inside_a_frame_is_reported_and_the_session_stays_up() {
    let peer = Peer::new();
    let h = phone(&peer);
    let mut s = peer.accept_and_open("NOT_READY");
    // A known type whose body is garbage, then an unknown type: both skipped by length.
    s.write_all(&[0, 0, 0, 5, 0, 0, 0, 30, 0xde, 0xad, 0xbe, 0xef, 0x01])
        .unwrap();
    s.write_all(&[0, 0, 0, 3, 0, 0, 0x27, 0x0F, 1, 2, 3])
        .unwrap();
    wait_event(&h, "the malformed frame", |e| {
        matches!(e, Event::MalformedMessage { .. })
    });
    wait_event(&h, "the unknown type", |e| {
        matches!(e, Event::UnexpectedMessage { message_type: 9999 })
    });
    send(
        &mut s,
        "MsgType: AGENT_STATE_EVENT\n  AgentState: AVAILABLE\n  AgentID: chli4020\n",
    );
    wait_view(&h, "the next message still handled", |v| {
        v.session.state == SessionState::Open
            && v.agent.state == ccx_cti::wire::AgentState::Available
    });
    h.stop();
}

#[test]
fn a_confirmation_trickling_in_one_byte_every_100_ms_still_lands() {
    let peer = Peer::new();
    let h = phone(&peer);
    let mut s = peer.accept_and_open("NOT_READY");
    h.command(driver::owned(Command::Ready).unwrap());
    let req = read_frame(&mut s);
    let invoke = decode(&req, V17).unwrap().invoke_id().unwrap();
    let conf = encode(&format!(
        "MsgType: SET_AGENT_STATE_CONF\n  InvokeID: {invoke}\n"
    ));
    for b in conf {
        s.write_all(&[b]).unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    wait_event(
        &h,
        "the request confirmed",
        |e| matches!(e, Event::RequestSucceeded { invoke_id, .. } if invoke_id.value() == invoke),
    );
    assert_eq!(h.view().session.state, SessionState::Open);
    h.stop();
}

#[test]
fn a_server_that_refuses_every_request_is_reported_request_by_request() {
    let peer = Peer::new();
    let h = phone(&peer);
    let mut s = peer.accept_and_open("NOT_READY");
    for cmd in [
        Command::Ready,
        Command::NotReady { reason: 7.into() },
        Command::Dial { number: "5550100" },
    ] {
        h.command(driver::owned(cmd).unwrap());
        let req = read_frame(&mut s);
        let invoke = decode(&req, V17).unwrap().invoke_id().unwrap();
        send(&mut s, &format!("MsgType: CONTROL_FAILURE_CONF\n  InvokeID: {invoke}\n  FailureCode: 17\n  PeripheralErrorCode: 88005\n"));
        wait_event(&h, "the refusal", |e| {
            matches!(e, Event::RequestFailed { invoke_id, refusal, .. }
                if invoke_id.value() == invoke
                    && refusal.code() == 17
                    && refusal.peripheral_error_code() == 88005)
        });
    }
    let v = h.view();
    assert_eq!(v.session.state, SessionState::Open);
    assert_eq!(
        v.agent.state,
        ccx_cti::wire::AgentState::NotReady,
        "a refused request changes nothing"
    );
    h.stop();
}

#[test]
fn duplicate_out_of_order_and_unknown_call_events_keep_the_table_sane() {
    let peer = Peer::new();
    let h = phone(&peer);
    let mut s = peer.accept_and_open("AVAILABLE");
    // Duplicate offer, a clear for a call never seen, a hold for an unknown call, and the
    // clearing of call 5 arriving before its establishment.
    send_all(&mut s, &begin_call(5));
    send_all(&mut s, &begin_call(5));
    send_all(
        &mut s,
        "MsgType: CALL_CLEARED_EVENT\n  ConnectionCallID: 999\n  LocalConnectionState: LCS_NULL\n\
         MsgType: CALL_HELD_EVENT\n  ConnectionCallID: 888\n  LocalConnectionState: LCS_HOLD\n  ConnectionDeviceID: 4020\n  HoldingDeviceID: 4020\n",
    );
    wait_event(&h, "the unknown call reported", |e| {
        matches!(e, Event::UnknownCall { call: 888, .. })
    });
    wait_view(&h, "one call 5, tracked once", |v| {
        v.calls.len() == 1 && v.call(5).is_some()
    });
    send_all(
        &mut s,
        "MsgType: CALL_CLEARED_EVENT\n  ConnectionCallID: 5\n  LocalConnectionState: LCS_NULL\n  ConnectionDeviceID: 4020\n\
         MsgType: CALL_ESTABLISHED_EVENT\n  ConnectionCallID: 5\n  LocalConnectionState: LCS_CONNECT\n  ConnectionDeviceID: 4020\n\
         MsgType: END_CALL_EVENT\n  ConnectionCallID: 5\n  ConnectionDeviceID:\n",
    );
    wait_view(&h, "no call left", |v| {
        v.calls.is_empty() && v.session.state == SessionState::Open
    });
    h.stop();
}

#[test]
fn more_calls_than_the_table_holds_are_reported_and_the_rest_kept() {
    let peer = Peer::new();
    let h = phone(&peer);
    let mut s = peer.accept_and_open("AVAILABLE");
    let capacity = ccx_cti::phone::DEFAULT_CALLS as u32;
    for id in 1..=capacity + 2 {
        send_all(&mut s, &begin_call(id));
    }
    let seen = wait_event(&h, "a full table", |e| {
        matches!(e, Event::CallTableFull { .. })
    });
    assert!(seen
        .iter()
        .any(|e| matches!(e, Event::CallTableFull { call } if *call == capacity + 1)));
    wait_view(&h, "the first calls kept", |v| {
        v.calls.len() == capacity as usize && (1..=capacity).all(|id| v.call(id).is_some())
    });
    h.stop();
}

#[test]
fn a_named_variable_longer_than_allowed_is_reported_and_the_session_stays_up() {
    let peer = Peer::new();
    let h = phone(&peer);
    let mut s = peer.accept_and_open("AVAILABLE");
    let mut buf = vec![0u8; 1024];
    let mut enc = Encoder::new(&mut buf, MessageType::BeginCallEvent, V17);
    let value = "v".repeat(240);
    enc.string(tag::CONNECTION_DEVICE_ID, "4020").field(
        tag::NAMED_VARIABLE,
        &[b"user.note\0".as_slice(), value.as_bytes(), &[0]].concat(),
    );
    let n = enc.finish().unwrap();
    s.write_all(&buf[..n]).unwrap();
    let seen = wait_event(&h, "the malformed message", |e| {
        matches!(e, Event::MalformedMessage { .. })
    });
    let text = seen.last().unwrap().to_string();
    assert!(
        text.contains("NamedVariable") && text.contains("at most 211"),
        "{text}"
    );
    send_all(&mut s, &begin_call(42));
    wait_view(&h, "the next call tracked", |v| {
        v.call(42).is_some() && v.session.state == SessionState::Open
    });
    h.stop();
}
