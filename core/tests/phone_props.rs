//! Property tests: any sequence of server messages, garbage, button presses, time steps and
//! transport changes leaves the phone within its limits and consistent.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod phone_support;

use ccx_cti::phone::{
    Command, CommandKind, Event, Instant, InvokeId, Phone, PreviewAnswer, RequestKind, SessionState,
};
use ccx_cti::wire::{decode, tag, MessageType, WireVersion};
use phone_support::{config, frame, snapshot_conf};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

/// A server message from a small vocabulary, with ids in small ranges so that they hit the
/// phone's calls and requests often.
#[derive(Debug, Clone)]
enum Server {
    Call {
        ty: u8,
        call: u32,
        lcs: u32,
        device: bool,
    },
    Begin {
        call: u32,
        reservation: bool,
        vars: Vec<(String, String)>,
    },
    DataUpdate {
        call: u32,
        new: u32,
        var: (String, String),
    },
    Merge {
        conference: bool,
        primary: u32,
        secondary: u32,
    },
    Conf {
        ty: u8,
        invoke: u32,
    },
    Failure {
        invoke: u32,
        status: u32,
    },
    ControlFailure {
        invoke: u32,
    },
    OpenConf {
        invoke: u32,
        state: u32,
    },
    Snapshot {
        invoke: u32,
        calls: Vec<(u32, u32)>,
    },
    AgentState {
        state: u32,
        mine: bool,
    },
    FailureEvent {
        status: u32,
    },
}

const CALL_EVENTS: [MessageType; 12] = [
    MessageType::CallDeliveredEvent,
    MessageType::CallEstablishedEvent,
    MessageType::CallHeldEvent,
    MessageType::CallRetrievedEvent,
    MessageType::CallClearedEvent,
    MessageType::CallConnectionClearedEvent,
    MessageType::CallOriginatedEvent,
    MessageType::CallFailedEvent,
    MessageType::CallDivertedEvent,
    MessageType::CallServiceInitiatedEvent,
    MessageType::CallQueuedEvent,
    MessageType::CallDequeuedEvent,
];

const CONFS: [MessageType; 8] = [
    MessageType::HeartbeatConf,
    MessageType::SetAgentStateConf,
    MessageType::SetCallDataConf,
    MessageType::AnswerCallConf,
    MessageType::HoldCallConf,
    MessageType::CloseConf,
    MessageType::QueryAgentStateConf,
    MessageType::MakeCallConf,
];

impl Server {
    fn encode(&self) -> Vec<u8> {
        match self {
            Server::Call {
                ty,
                call,
                lcs,
                device,
            } => {
                let ty = CALL_EVENTS[usize::from(*ty) % CALL_EVENTS.len()];
                let device = if *device { "4020" } else { "5000" };
                let mut fixed = vec![("ConnectionCallID", *call)];
                if ty != MessageType::CallDequeuedEvent || *lcs < 7 {
                    fixed.push(("LocalConnectionState", *lcs));
                }
                frame(ty, &fixed, &[(tag::CONNECTION_DEVICE_ID, device)], &[])
            }
            Server::Begin {
                call,
                reservation,
                vars,
            } => {
                let vars: Vec<(&str, &str)> =
                    vars.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
                frame(
                    MessageType::BeginCallEvent,
                    &[
                        ("ConnectionCallID", *call),
                        ("CallType", if *reservation { 18 } else { 1 }),
                    ],
                    &[(tag::CONNECTION_DEVICE_ID, "4020")],
                    &vars,
                )
            }
            Server::DataUpdate { call, new, var } => frame(
                MessageType::CallDataUpdateEvent,
                &[("ConnectionCallID", *call), ("NewConnectionCallID", *new)],
                &[
                    (tag::CONNECTION_DEVICE_ID, "4020"),
                    (tag::NEW_CONNECTION_DEVICE_ID, "4020"),
                ],
                &[(var.0.as_str(), var.1.as_str())],
            ),
            Server::Merge {
                conference,
                primary,
                secondary,
            } => frame(
                if *conference {
                    MessageType::CallConferencedEvent
                } else {
                    MessageType::CallTransferredEvent
                },
                &[("PrimaryCallID", *primary), ("SecondaryCallID", *secondary)],
                &[],
                &[],
            ),
            Server::Conf { ty, invoke } => frame(
                CONFS[usize::from(*ty) % CONFS.len()],
                &[("InvokeID", *invoke)],
                &[],
                &[],
            ),
            Server::Failure { invoke, status } => frame(
                MessageType::FailureConf,
                &[("InvokeID", *invoke), ("Status", *status)],
                &[],
                &[],
            ),
            Server::ControlFailure { invoke } => frame(
                MessageType::ControlFailureConf,
                &[
                    ("InvokeID", *invoke),
                    ("FailureCode", 17),
                    ("PeripheralErrorCode", 88005),
                ],
                &[],
                &[],
            ),
            Server::OpenConf { invoke, state } => frame(
                MessageType::OpenConf,
                &[
                    ("InvokeID", *invoke),
                    ("ServicesGranted", 7),
                    ("AgentState", *state),
                ],
                &[],
                &[],
            ),
            Server::Snapshot { invoke, calls } => snapshot_conf(*invoke, calls),
            Server::AgentState { state, mine } => frame(
                MessageType::AgentStateEvent,
                &[("AgentState", *state)],
                &[(tag::AGENT_ID, if *mine { "chli4020" } else { "other" })],
                &[],
            ),
            Server::FailureEvent { status } => {
                frame(MessageType::FailureEvent, &[("Status", *status)], &[], &[])
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Step {
    Server(Server),
    /// A server message cut into two chunks at `split`.
    Split(Server, usize),
    Garbage(Vec<u8>),
    Button(u8, u32),
    Advance(u64),
    /// OPEN_CONF for the phone's last OPEN_REQ, with this agent state.
    AnswerOpen(u32),
    /// Answer the phone's n-th pending request: confirm it, or refuse it.
    AnswerPending(usize, bool, Vec<(u32, u32)>),
    Connected,
    Disconnected,
    ConnectFailed,
    Reconnect,
}

fn call_id() -> impl Strategy<Value = u32> {
    1u32..8
}

fn invoke_id() -> impl Strategy<Value = u32> {
    0u32..48
}

fn var() -> impl Strategy<Value = (String, String)> {
    (
        prop::sample::select(vec!["BAStatus", "BAResponse", "user.a", "user.b"]),
        prop::sample::select(vec![
            "DO",
            "CO",
            "",
            "Skip",
            "a long enough value 0123456789",
        ]),
    )
        .prop_map(|(n, v)| (n.to_string(), v.to_string()))
}

fn server() -> impl Strategy<Value = Server> {
    prop_oneof![
        4 => (any::<u8>(), call_id(), prop_oneof![0u32..7, Just(0xFFFF)], any::<bool>())
            .prop_map(|(ty, call, lcs, device)| Server::Call { ty, call, lcs, device }),
        2 => (call_id(), any::<bool>(), prop::collection::vec(var(), 0..6))
            .prop_map(|(call, reservation, vars)| Server::Begin { call, reservation, vars }),
        1 => (call_id(), call_id(), var())
            .prop_map(|(call, new, var)| Server::DataUpdate { call, new, var }),
        1 => (any::<bool>(), call_id(), call_id())
            .prop_map(|(conference, primary, secondary)| Server::Merge { conference, primary, secondary }),
        2 => (any::<u8>(), invoke_id()).prop_map(|(ty, invoke)| Server::Conf { ty, invoke }),
        1 => (invoke_id(), prop::sample::select(vec![2u32, 11, 15, 17, 92]))
            .prop_map(|(invoke, status)| Server::Failure { invoke, status }),
        1 => invoke_id().prop_map(|invoke| Server::ControlFailure { invoke }),
        2 => (invoke_id(), 0u32..10).prop_map(|(invoke, state)| Server::OpenConf { invoke, state }),
        1 => (invoke_id(), prop::collection::vec((call_id(), 0u32..7), 0..6))
            .prop_map(|(invoke, calls)| Server::Snapshot { invoke, calls }),
        1 => (0u32..10, any::<bool>()).prop_map(|(state, mine)| Server::AgentState { state, mine }),
        1 => prop::sample::select(vec![11u32, 15]).prop_map(|status| Server::FailureEvent { status }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => server().prop_map(Step::Server),
        1 => (server(), 0usize..80).prop_map(|(s, at)| Step::Split(s, at)),
        1 => prop::collection::vec(any::<u8>(), 0..40).prop_map(Step::Garbage),
        4 => (any::<u8>(), call_id()).prop_map(|(b, c)| Step::Button(b, c)),
        3 => prop_oneof![0u64..2_000, 5_000u64..40_000].prop_map(Step::Advance),
        2 => (0u32..10).prop_map(Step::AnswerOpen),
        3 => (0usize..8, any::<bool>(), prop::collection::vec((call_id(), 0u32..7), 0..4))
            .prop_map(|(n, ok, calls)| Step::AnswerPending(n, ok, calls)),
        2 => Just(Step::Connected),
        1 => Just(Step::Disconnected),
        1 => Just(Step::ConnectFailed),
        1 => Just(Step::Reconnect),
    ]
}

fn button(b: u8, call: u32) -> Command<'static> {
    let some = if b & 0x80 != 0 { Some(call) } else { None };
    match b % 21 {
        0 => Command::Login { password: None },
        1 => Command::Logout { reason: 3.into() },
        2 => Command::Ready,
        3 => Command::NotReady { reason: 1.into() },
        4 => Command::WorkReady,
        5 => Command::WorkNotReady,
        6 => Command::Answer { call: some },
        7 => Command::Release { call: some },
        8 => Command::Hold { call: some },
        9 => Command::Retrieve { call: some },
        10 => Command::Dial { number: "5551234" },
        11 => Command::Consult { number: "4021" },
        12 => Command::Transfer,
        13 => Command::Conference,
        14 => Command::Dtmf { digits: "12#" },
        15 => Command::Preview(PreviewAnswer::Skip),
        16 => Command::Preview(PreviewAnswer::Accept),
        17 => Command::Reclassify { value: "REX_VOICE" },
        18 => Command::Callback {
            date: "12312026",
            time: "09:30",
        },
        19 => Command::SetVar {
            name: "user.a",
            value: "x",
            call: some,
        },
        _ => Command::Close,
    }
}

fn run<const C: usize, const V: usize, const P: usize, const T: usize, const E: usize>(
    steps: &[Step],
) -> bool {
    let mut phone: Phone<C, V, P, T, E> = Phone::new(config());
    let mut now = Instant::ZERO;
    let mut buf = vec![0u8; T];
    let mut open_invoke = 0;
    let mut reached_open = false;
    // What the event stream has said about the calls: records per CallID, and the
    // reservation offered and not ended.
    let mut announced: std::collections::HashMap<u32, i64> = std::collections::HashMap::new();
    let mut offered: Option<u32> = None;
    // Commands: InvokeIDs handed out, and how many outcomes each got.
    let mut issued: std::collections::HashSet<InvokeId> = std::collections::HashSet::new();
    let mut outcomes: std::collections::HashMap<InvokeId, u32> = std::collections::HashMap::new();
    // An event was dropped (EventsLost) at some point: outcomes can no longer be counted.
    let mut ever_lost = false;
    for step in steps {
        let mut refused: Option<(CommandKind, ccx_cti::phone::CommandError)> = None;
        match step {
            Step::AnswerOpen(state) => {
                let conf = Server::OpenConf {
                    invoke: open_invoke,
                    state: *state,
                };
                phone.handle_bytes(now, &conf.encode());
            }
            Step::AnswerPending(n, ok, calls) => {
                let pending: Vec<_> = phone.pending_requests().copied().collect();
                if let Some(p) = pending.get(n % pending.len().max(1)) {
                    let invoke = p.invoke_id.value();
                    let answer = match (ok, p.request) {
                        (false, _) => Server::ControlFailure { invoke },
                        (true, RequestKind::SnapshotDevice) => Server::Snapshot {
                            invoke,
                            calls: calls.clone(),
                        },
                        (true, RequestKind::QueryAgentState) => Server::Conf { ty: 6, invoke },
                        (true, _) => Server::Conf { ty: 1, invoke },
                    };
                    phone.handle_bytes(now, &answer.encode());
                }
            }
            Step::Server(s) => phone.handle_bytes(now, &s.encode()),
            Step::Split(s, at) => {
                let bytes = s.encode();
                let (a, b) = bytes.split_at((*at).min(bytes.len()));
                phone.handle_bytes(now, a);
                phone.handle_bytes(now, b);
            }
            Step::Garbage(bytes) => phone.handle_bytes(now, bytes),
            Step::Button(b, call) => {
                let command = button(*b, *call);
                let kind = CommandKind::of(&command);
                match phone.command(now, command) {
                    Err(why) => refused = Some((kind, why)),
                    Ok(id) if !matches!(kind, CommandKind::Close | CommandKind::Login) => {
                        issued.insert(id);
                    }
                    Ok(_) => {}
                }
            }
            Step::Advance(ms) => {
                now = Instant::from_millis(now.as_millis() + ms);
                phone.handle_timeout(now);
            }
            Step::Connected => phone.connected(now),
            Step::Disconnected => phone.disconnected(now),
            Step::ConnectFailed => phone.connect_failed(now),
            Step::Reconnect => phone.reconnect(now),
        }
        let _ = phone.poll_transport(now);

        // Every frame the phone sends decodes.
        while let Some(n) = phone.poll_transmit(&mut buf) {
            let frame = &buf[..n];
            let version = WireVersion::new(17);
            let msg = decode(frame, version);
            assert!(msg.is_ok(), "sent an undecodable frame {frame:02x?}");
            if let Ok(msg) = msg {
                if msg.message_type() == MessageType::OpenReq {
                    open_invoke = msg.invoke_id().unwrap();
                }
            }
        }
        // Every event prints, and the calls and the preview the view shows are those the
        // events announced and did not remove. After a loss (EventsLost) the stream cannot
        // say, so the model starts again from the view.
        let mut lost = false;
        while let Some(event) = phone.poll_event() {
            assert!(!event.to_string().is_empty());
            match event {
                Event::CallAdded { call } => *announced.entry(call).or_default() += 1,
                Event::CallRemoved { call } | Event::CallLost { call } => {
                    *announced.entry(call).or_default() -= 1
                }
                Event::CallRekeyed { old, new } => {
                    let moved = announced.remove(&old).unwrap_or(0);
                    *announced.entry(new).or_default() += moved;
                    if offered == Some(old) {
                        offered = Some(new);
                    }
                }
                Event::PreviewOffered { call } => offered = Some(call),
                Event::PreviewEnded { call } if offered == Some(call) => offered = None,
                Event::EventsLost { .. } => {
                    lost = true;
                    ever_lost = true;
                }
                Event::CommandRefused { command, why } => {
                    assert_eq!(
                        refused.take(),
                        Some((command, why)),
                        "a refusal reported twice"
                    );
                }
                Event::RequestSucceeded { invoke_id, .. }
                | Event::RequestFailed { invoke_id, .. }
                | Event::RequestTimedOut { invoke_id, .. }
                | Event::RequestAborted { invoke_id, .. }
                    if issued.contains(&invoke_id) =>
                {
                    let n = outcomes.entry(invoke_id).or_default();
                    *n += 1;
                    assert_eq!(*n, 1, "command {invoke_id} answered twice");
                }
                _ => {}
            }
        }
        // A refused command was reported (unless the report itself was lost).
        assert!(
            lost || refused.is_none(),
            "{refused:?} refused without an event"
        );
        let view = phone.view();
        let mut in_view: std::collections::HashMap<u32, i64> = std::collections::HashMap::new();
        for call in view.calls() {
            *in_view.entry(call.id).or_default() += 1;
        }
        if lost {
            announced = in_view.clone();
            offered = view.preview().map(|card| card.call);
        }
        announced.retain(|_, n| *n != 0);
        assert_eq!(
            in_view, announced,
            "the view's calls (left) are not those the events announced and did not remove"
        );
        assert_eq!(
            view.preview().map(|card| card.call),
            offered,
            "the view's preview is not the one offered and not ended"
        );
        if let Some(preview) = view.preview_call() {
            assert!(preview.is_reservation());
        }
        // Every command the view calls valid names a call the view shows (or none).
        for valid in view.valid_commands() {
            if let Some(id) = valid.call {
                assert!(view.calls().iter().any(|c| c.id == id), "{valid:?}");
            }
        }
        // The limits and the consistency of what the phone shows.
        // Calls may share a CallID, each on its own line of the agent
        // (https://developer.cisco.com/docs/contact-center-express/call_established_event):
        // a call is its CallID and its line.
        let ids: Vec<(u32, Option<String>)> = phone.calls().map(call_key).collect();
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "a call is tracked twice: {ids:?}");
        let pending: Vec<_> = phone.pending_requests().copied().collect();
        for p in &pending {
            assert!(p.deadline > now, "{p:?} is past its deadline at {now:?}");
            assert!(p.deadline <= now + core::time::Duration::from_secs(10));
        }
        if let Some(first) = pending.iter().map(|p| p.deadline).min() {
            let timeout = phone.poll_timeout();
            assert!(
                timeout.is_some_and(|t| t <= first),
                "{timeout:?} after {first:?}"
            );
        }
        reached_open |= phone.session().state == SessionState::Open;
        if phone.session().state != SessionState::Open {
            assert!(pending.is_empty() || phone.session().state == SessionState::Closing);
        }
    }
    // Every command the phone accepted is answered by exactly one outcome event: the
    // connection drops so that nothing stays in flight (RequestAborted), then the outcomes
    // are counted.
    phone.disconnected(now);
    assert_eq!(
        phone.pending_requests().count(),
        0,
        "requests left in flight"
    );
    while let Some(event) = phone.poll_event() {
        match event {
            Event::EventsLost { .. } => ever_lost = true,
            Event::RequestSucceeded { invoke_id, .. }
            | Event::RequestFailed { invoke_id, .. }
            | Event::RequestTimedOut { invoke_id, .. }
            | Event::RequestAborted { invoke_id, .. }
                if issued.contains(&invoke_id) =>
            {
                *outcomes.entry(invoke_id).or_default() += 1;
            }
            _ => {}
        }
    }
    if !ever_lost {
        for id in &issued {
            assert_eq!(
                outcomes.get(id).copied().unwrap_or(0),
                1,
                "command {id} was not answered by exactly one event"
            );
        }
    }
    reached_open
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn default_phone_survives_anything(steps in prop::collection::vec(step(), 1..120)) {
        run::<4, 512, 8, 1024, 16>(&steps);
    }

    #[test]
    fn tiny_phone_survives_anything(steps in prop::collection::vec(step(), 1..120)) {
        run::<2, 24, 2, 160, 3>(&steps);
    }
}

/// The walks must get past the opening often, or the properties above say little.
#[test]
fn walks_reach_an_open_session() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = prop::collection::vec(step(), 60..120);
    let runs = 64;
    let opened = (0..runs)
        .filter(|_| {
            let steps = strategy.new_tree(&mut runner).unwrap().current();
            run::<4, 512, 8, 1024, 16>(&steps)
        })
        .count();
    println!("{opened} of {runs} walks opened a session");
    assert!(
        opened * 4 >= runs,
        "only {opened} of {runs} walks opened a session"
    );
}

/// A call's identity: its CallID and, once the agent's own device on it is known, its line
/// (`None` for the primary line's key `""`).
fn call_key<const V: usize>(c: &ccx_cti::phone::Call<V>) -> (u32, Option<String>) {
    if c.own_device().is_empty() {
        return (c.id, None);
    }
    let line = match c.line {
        ccx_cti::phone::Line::Primary => String::new(),
        ccx_cti::phone::Line::Secondary => c.actual_device().to_string(),
    };
    (c.id, Some(line))
}
