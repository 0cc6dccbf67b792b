//! Not the simulator: these tests hand the phone exact frames, wrong ones too, at virtual instants (the simulator answers by itself, on the wall clock, over sockets), and a dev-dependency on std-adapter would build core with its `log` feature in every core test.
//! Shared helpers for the phone tests: a scripted server built on the wire encoder, and a
//! harness that drives a `Phone` with explicit time.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use ccx_cti::config::{PhoneConfig, ServerAddr};
use ccx_cti::phone::{Event, Instant, Phone, SessionState, TransportAction};
use ccx_cti::wire::{decode, message_def, tag, Encoder, Message, MessageType, WireVersion};

/// The agent of the guide's outbound samples, with two servers.
pub fn config() -> PhoneConfig {
    let mut c = PhoneConfig {
        agent_id: "chli4020".try_into().unwrap(),
        agent_extension: "4020".try_into().unwrap(),
        agent_instrument: "4020".try_into().unwrap(),
        agent_password: "secret".try_into().unwrap(),
        client_id: "phone".try_into().unwrap(),
        ..PhoneConfig::default()
    };
    c.servers.clear();
    for host in ["side-a", "side-b"] {
        c.servers
            .push(ServerAddr {
                host: host.try_into().unwrap(),
                port: 12028,
            })
            .unwrap();
    }
    c
}

/// A frame of `ty` with fixed fields by label, floating strings and named variables, in
/// that order.
pub fn frame(
    ty: MessageType,
    fixed: &[(&str, u32)],
    strings: &[(u16, &str)],
    vars: &[(&str, &str)],
) -> Vec<u8> {
    let layout = message_def(ty.id()).and_then(|d| d.layout).unwrap();
    let mut buf = vec![0u8; 4096];
    let mut enc = Encoder::new(&mut buf, ty, WireVersion::DEFAULT);
    for (label, value) in fixed {
        let (index, _) = layout
            .fixed_named(label)
            .unwrap_or_else(|| panic!("{label} is not a fixed field of {ty:?}"));
        enc.set_fixed_raw(index, *value);
    }
    for (t, s) in strings {
        enc.string(*t, s);
    }
    for (name, value) in vars {
        enc.named_var(name, value);
    }
    let n = enc.finish().unwrap();
    buf.truncate(n);
    buf
}

/// A confirmation that carries only its InvokeID.
pub fn conf(ty: MessageType, invoke_id: u32) -> Vec<u8> {
    frame(ty, &[("InvokeID", invoke_id)], &[], &[])
}

pub fn failure_conf(invoke_id: u32, status: u32) -> Vec<u8> {
    frame(
        MessageType::FailureConf,
        &[("InvokeID", invoke_id), ("Status", status)],
        &[],
        &[],
    )
}

pub fn agent_state_event(state: u32, reason: u32) -> Vec<u8> {
    frame(
        MessageType::AgentStateEvent,
        &[("AgentState", state), ("EventReasonCode", reason)],
        &[(tag::AGENT_ID, "chli4020"), (tag::AGENT_EXTENSION, "4020")],
        &[],
    )
}

/// BEGIN_CALL_EVENT of call `id` at the agent's extension.
pub fn begin_call(id: u32, call_type: u32, vars: &[(&str, &str)]) -> Vec<u8> {
    frame(
        MessageType::BeginCallEvent,
        &[
            ("ConnectionCallID", id),
            ("CallType", call_type),
            ("ConnectionDeviceType", 0),
        ],
        &[(tag::CONNECTION_DEVICE_ID, "4020")],
        vars,
    )
}

/// A connection event of call `id` with `LocalConnectionState` `lcs`, about `device`.
pub fn call_event(ty: MessageType, id: u32, lcs: u32, device: &str) -> Vec<u8> {
    frame(
        ty,
        &[("ConnectionCallID", id), ("LocalConnectionState", lcs)],
        &[(tag::CONNECTION_DEVICE_ID, device)],
        &[],
    )
}

pub fn end_call(id: u32) -> Vec<u8> {
    frame(
        MessageType::EndCallEvent,
        &[("ConnectionCallID", id)],
        &[(tag::CONNECTION_DEVICE_ID, "")],
        &[],
    )
}

pub const LCS_NULL: u32 = 0;
pub const LCS_INITIATE: u32 = 1;
pub const LCS_ALERTING: u32 = 2;
pub const LCS_CONNECT: u32 = 3;
pub const LCS_HOLD: u32 = 4;
pub const LCS_NONE: u32 = 0xFFFF;
pub const CALLTYPE_ACD_IN: u32 = 1;
pub const CALLTYPE_RESERVATION: u32 = 18;
pub const AVAILABLE: u32 = 3;
pub const NOT_READY: u32 = 2;
pub const LOGOUT: u32 = 1;

/// Decode a frame the phone sent.
pub fn decoded(frame: &[u8]) -> Message<'_> {
    decode(frame, WireVersion::DEFAULT).unwrap()
}

/// Drives one phone with explicit time (milliseconds).
pub struct Harness<
    const CALLS: usize = 4,
    const VAR_BYTES: usize = 512,
    const PENDING: usize = 8,
    const TX: usize = 1024,
    const EVENTS: usize = 16,
    const FRAME: usize = 12_500,
> {
    pub phone: Phone<CALLS, VAR_BYTES, PENDING, TX, EVENTS, FRAME>,
    pub now: Instant,
}

impl Harness {
    /// A phone with the default capacities.
    pub fn new(config: PhoneConfig) -> Self {
        Harness::with_phone(Phone::new(config))
    }
}

impl<
        const CALLS: usize,
        const VAR_BYTES: usize,
        const PENDING: usize,
        const TX: usize,
        const EVENTS: usize,
        const FRAME: usize,
    > Harness<CALLS, VAR_BYTES, PENDING, TX, EVENTS, FRAME>
{
    pub fn with_phone(phone: Phone<CALLS, VAR_BYTES, PENDING, TX, EVENTS, FRAME>) -> Self {
        Harness {
            phone,
            now: Instant::ZERO,
        }
    }

    /// Connect to whichever server the phone asks for; returns its index.
    pub fn connect(&mut self) -> usize {
        match self.phone.poll_transport(self.now) {
            Some(TransportAction::Connect { server }) => {
                self.phone.connected(self.now);
                server
            }
            other => panic!("expected a connect, got {other:?}"),
        }
    }

    /// The frames the phone queued since the last call.
    pub fn sent(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = [0u8; 2048];
        while let Some(n) = self.phone.poll_transmit(&mut buf) {
            out.push(buf[..n].to_vec());
        }
        out
    }

    /// The one frame the phone queued since the last call, not decoded.
    pub fn sent_one_raw(&mut self) -> Vec<u8> {
        let sent = self.sent();
        assert_eq!(
            sent.len(),
            1,
            "expected exactly one frame, got {}",
            sent.len()
        );
        sent.into_iter().next().unwrap()
    }

    /// The one frame the phone queued since the last call, of type `ty`.
    pub fn sent_one(&mut self, ty: MessageType) -> Vec<u8> {
        let sent = self.sent();
        assert_eq!(
            sent.len(),
            1,
            "expected exactly one {ty:?}, got {}",
            sent.len()
        );
        let f = sent.into_iter().next().unwrap();
        assert_eq!(decoded(&f).message_type(), ty);
        f
    }

    pub fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.phone.poll_event()).collect()
    }

    pub fn feed(&mut self, frame: &[u8]) {
        self.phone.handle_bytes(self.now, frame);
    }

    /// Move the clock and fire the timers.
    pub fn advance_ms(&mut self, ms: u64) {
        self.now = Instant::from_millis(self.now.as_millis() + ms);
        self.phone.handle_timeout(self.now);
    }

    pub fn advance_secs(&mut self, secs: u64) {
        self.advance_ms(secs * 1000);
    }

    /// Connect, answer OPEN_REQ with OPEN_CONF (agent in `agent_state`) and answer the
    /// resynchronisation requests (no calls). Clears events; returns the other frames the
    /// phone sent.
    pub fn open(&mut self, agent_state: u32) -> Vec<Vec<u8>> {
        self.accept_open(agent_state);
        let rest = self.answer_resync(agent_state, &[]);
        self.events();
        rest
    }

    /// Like [`Self::open`] with the agent available, the snapshot listing `calls`; keeps
    /// the events.
    pub fn open_with_snapshot(&mut self, calls: &[(u32, u32)]) {
        self.accept_open(AVAILABLE);
        self.answer_resync(AVAILABLE, calls);
    }

    /// Connect and answer OPEN_REQ with OPEN_CONF (agent in `agent_state`): the session is
    /// open.
    fn accept_open(&mut self, agent_state: u32) {
        self.connect();
        let open = self.sent_one(MessageType::OpenReq);
        let invoke = decoded(&open).invoke_id().unwrap();
        self.feed(&frame(
            MessageType::OpenConf,
            &[
                ("InvokeID", invoke),
                ("ServicesGranted", 7),
                ("AgentState", agent_state),
            ],
            &[],
            &[],
        ));
        assert_eq!(self.phone.session().state, SessionState::Open);
    }

    /// Answer QUERY_AGENT_STATE_REQ and SNAPSHOT_DEVICE_REQ with `calls` (id, state); returns
    /// the other frames.
    pub fn answer_resync(&mut self, agent_state: u32, calls: &[(u32, u32)]) -> Vec<Vec<u8>> {
        let mut rest = Vec::new();
        for req in self.sent() {
            let msg = decoded(&req);
            let invoke = msg.invoke_id().unwrap();
            match msg.message_type() {
                MessageType::QueryAgentStateReq => self.feed(&frame(
                    MessageType::QueryAgentStateConf,
                    &[("InvokeID", invoke), ("AgentState", agent_state)],
                    &[],
                    &[],
                )),
                MessageType::SnapshotDeviceReq => self.feed(&snapshot_conf(invoke, calls)),
                _ => rest.push(req.clone()),
            }
        }
        rest
    }
}

/// SNAPSHOT_DEVICE_CONF listing `calls` (id, state) at the agent's extension.
pub fn snapshot_conf(invoke_id: u32, calls: &[(u32, u32)]) -> Vec<u8> {
    let layout = message_def(85).and_then(|d| d.layout).unwrap();
    let mut buf = vec![0u8; 4096];
    let mut enc = Encoder::new(
        &mut buf,
        MessageType::SnapshotDeviceConf,
        WireVersion::DEFAULT,
    );
    enc.set_fixed_raw(layout.fixed_named("InvokeID").unwrap().0, invoke_id);
    for (id, state) in calls {
        enc.number(tag::CALL_CONNECTION_CALL_ID, *id)
            .number(tag::CALL_CONNECTION_DEVICE_TYPE, 0)
            .string(tag::CALL_CONNECTION_DEVICE_ID, "4020")
            .number(tag::CALL_DEVICE_CONNECTION_STATE, *state);
    }
    let n = enc.finish().unwrap();
    buf.truncate(n);
    buf
}
