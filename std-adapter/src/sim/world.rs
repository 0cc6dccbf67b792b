//! The simulated Unified CCX itself: agents, calls, the campaign, and the answer to every
//! message. One `World` sits behind a mutex shared by the connections of both sides of a
//! cluster; it never touches a socket: frames go out through each connection's channel.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use ccx_cti::wire::{
    self, decode, fields, message_def, tag, AgentState, CallType, CalledPartyDisposition,
    ConnectionDeviceType, ControlFailureCode, DeviceType, Encoder, EventCause, EventReasonCode,
    LineType, LocalConnectionState, Message, MessageType, PeripheralErrorCode, StatusCode,
    WireVersion, HEADER_LEN,
};

mod rules;
mod scenes;
mod vars;

pub use scenes::Scene;

use super::config::{AgentDef, Contact, InboundCall, SimConfig};
use super::{AgentSnapshot, CallSnapshot, ContactSnapshot, Counters, NodeState};

/// Services this simulator grants (agent mode): client events, call data update, client
/// control, agent-state control only.
const SUPPORTED_SERVICES: u32 = wire::service_mask::CTI_SERVICE_CLIENT_EVENTS
    | wire::service_mask::CTI_SERVICE_CALL_DATA_UPDATE
    | wire::service_mask::CTI_SERVICE_CLIENT_CONTROL
    | wire::service_mask::CTI_AGENT_STATE_CONTROL_ONLY;

/// LineType 3: a business (ACD) call, as Unified CCX marks it.
const LINE_TYPE_BUSINESS: u16 = 3;
/// The first CallID the simulator hands out (close to the guide's samples).
const FIRST_CALL_ID: u32 = 16_800_100;
/// System reason codes (wire-session.md §5.10) that are always accepted.
const SYSTEM_REASONS: std::ops::RangeInclusive<u16> = 32_747..=32_767;

/// What a connection's writer is told (through [`World::outgoing`]).
#[derive(Debug)]
pub(crate) enum Out {
    /// Send this frame (encoded under `version`).
    Frame(Vec<u8>, WireVersion),
    /// Close the connection.
    Close,
}

/// What the connection's reader should do after a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum After {
    /// Keep reading.
    Continue,
    /// The session ended: stop reading.
    Close,
}

struct Conn {
    node: Arc<NodeState>,
    /// When the connection was accepted: the session-open deadline runs from here, so junk
    /// frames cannot keep an unopened connection alive.
    connected_at: Instant,
    version: Option<WireVersion>,
    agent: Option<usize>,
    idle_timeout: Option<Duration>,
    last_rx: Instant,
    call_mask: u32,
    agent_mask: u32,
}

struct Agent {
    def: AgentDef,
    state: AgentState,
    reason: u16,
    conn: Option<u64>,
    outbound: bool,
    /// A state asked for while talking, applied when the calls end.
    pending: Option<(AgentState, u16)>,
    /// Since when the agent is available (longest-available routing).
    available_since: Instant,
    /// No contact is offered before this time.
    next_offer_at: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallKind {
    Inbound,
    Reservation { contact: usize },
    Customer { contact: usize },
    Consult { of: u32 },
    Dialed,
}

struct Call {
    id: u32,
    kind: CallKind,
    agent: usize,
    call_type: CallType,
    lcs: LocalConnectionState,
    /// The far party: the caller (inbound) or the dialed number.
    party: String,
    dnis: String,
    csq: u32,
    vars: vars::CallVars,
    call_vars: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ContactStatus {
    Open,
    Offered,
    Dialed,
    Closed,
}

struct ContactRec {
    contact: Contact,
    dialed_list_id: u32,
    status: ContactStatus,
    attempts: u32,
    next_try: Instant,
    outcome: String,
    callback: Option<String>,
}

enum Action {
    WrapupExpired { agent: usize },
    CustomerHangup { call: u32 },
}

/// The shared state of a simulated cluster.
pub(crate) struct World {
    cfg: SimConfig,
    start: Instant,
    agents: Vec<Agent>,
    conns: HashMap<u64, Conn>,
    calls: BTreeMap<u32, Call>,
    next_call_id: u32,
    next_conn_id: u64,
    contacts: Vec<ContactRec>,
    /// Open contacts that may be offered now, in dialing order (stale entries are skipped).
    contacts_ready: VecDeque<usize>,
    /// Open contacts waiting for their retry time.
    contacts_later: BinaryHeap<Reverse<(Instant, usize)>>,
    queue: VecDeque<InboundCall>,
    script: VecDeque<InboundCall>,
    next_arrival: Option<Instant>,
    rng: StdRng,
    scheduled: Vec<(Instant, Action)>,
    pub(crate) counters: Counters,
    /// No arrivals, no routing, no offers, no timers: the contact center holds still.
    pub(crate) paused: bool,
    last_idle_check: Instant,
    /// The session rules' bookkeeping (heartbeat rule, active terminals).
    rules: rules::Rules,
    /// Frames and closes for the connections, in order; the event loop takes them after
    /// every event (the world does no I/O).
    pub(crate) outgoing: Vec<(u64, Out)>,
    /// Warnings a client can provoke at will are rate-limited.
    pub(crate) warn_limit: crate::sim::ratelog::RateLog,
}

fn encode_frame(
    ty: MessageType,
    version: WireVersion,
    build: impl Fn(&mut Encoder<'_>),
) -> Option<Vec<u8>> {
    // Nearly every frame fits a small buffer; the largest one a message may take is the retry.
    let mut small = [0u8; 2048];
    let mut enc = Encoder::new(&mut small, ty, version);
    build(&mut enc);
    let needed = match enc.finish() {
        Ok(n) => return small.get(..n).map(<[u8]>::to_vec),
        Err(wire::EncodeError::BufferTooSmall { needed }) => needed,
        Err(e) => {
            log::error!("simulator could not encode {ty:?}: {e}");
            return None;
        }
    };
    let mut buf = vec![0u8; needed.min(wire::DEFAULT_FRAME_CAPACITY)];
    let mut enc = Encoder::new(&mut buf, ty, version);
    build(&mut enc);
    match enc.finish() {
        Ok(n) => {
            buf.truncate(n);
            Some(buf)
        }
        Err(e) => {
            log::error!("simulator could not encode {ty:?}: {e}");
            None
        }
    }
}

/// The CallMsgMask bit that governs an event (None: always sent).
fn call_mask_bit(ty: MessageType) -> Option<u32> {
    use wire::call_msg_mask as m;
    Some(match ty {
        MessageType::CallDeliveredEvent => m::CALL_DELIVERED_MASK,
        MessageType::CallQueuedEvent => m::CALL_QUEUED_MASK,
        MessageType::CallEstablishedEvent => m::CALL_ESTABLISHED_MASK,
        MessageType::CallHeldEvent => m::CALL_HELD_MASK,
        MessageType::CallRetrievedEvent => m::CALL_RETRIEVED_MASK,
        MessageType::CallClearedEvent => m::CALL_CLEARED_MASK,
        MessageType::CallConnectionClearedEvent => m::CALL_CONNECTION_CLEARED_MASK,
        MessageType::CallOriginatedEvent => m::CALL_ORIGINATED_MASK,
        MessageType::CallConferencedEvent => m::CALL_CONFERENCED_MASK,
        MessageType::CallTransferredEvent => m::CALL_TRANSFERRED_MASK,
        MessageType::CallDivertedEvent => m::CALL_DIVERTED_MASK,
        MessageType::CallServiceInitiatedEvent => m::CALL_SERVICE_INITIATED_MASK,
        MessageType::BeginCallEvent => m::BEGIN_CALL_MASK,
        MessageType::EndCallEvent => m::END_CALL_MASK,
        MessageType::CallDataUpdateEvent => m::CALL_DATA_UPDATE_MASK,
        MessageType::CallFailedEvent => m::CALL_FAILED_MASK,
        _ => return None,
    })
}

/// The AgentStateMask bit of a state (bit n for state n, LOGIN 0 … RESERVED 8).
fn agent_mask_bit(state: AgentState) -> u32 {
    1u32.checked_shl(u32::from(state.value())).unwrap_or(0)
}

fn is_logged_in(state: AgentState) -> bool {
    !matches!(state, AgentState::Logout | AgentState::Login)
}

impl World {
    pub(crate) fn new(cfg: SimConfig) -> World {
        let now = Instant::now();
        let contacts: Vec<ContactRec> = cfg
            .campaign
            .as_ref()
            .map(|c| {
                c.contacts
                    .iter()
                    .enumerate()
                    .map(|(i, contact)| ContactRec {
                        contact: contact.clone(),
                        dialed_list_id: c
                            .first_dialed_list_id
                            .saturating_add(u32::try_from(i).unwrap_or(u32::MAX)),
                        status: ContactStatus::Open,
                        attempts: 0,
                        next_try: now,
                        outcome: String::new(),
                        callback: None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let agents = cfg
            .agents
            .iter()
            .map(|def| Agent {
                def: def.clone(),
                state: AgentState::Logout,
                reason: 0,
                conn: None,
                outbound: false,
                pending: None,
                available_since: now,
                next_offer_at: now,
            })
            .collect();
        let mut script: Vec<InboundCall> = cfg.inbound.calls.clone();
        script.sort_by_key(|c| c.at_ms);
        let rng = StdRng::seed_from_u64(cfg.inbound.seed);
        let mut world = World {
            start: now,
            agents,
            conns: HashMap::new(),
            calls: BTreeMap::new(),
            next_call_id: FIRST_CALL_ID,
            next_conn_id: 1,
            contacts_ready: (0..contacts.len()).collect(),
            contacts_later: BinaryHeap::new(),
            contacts,
            queue: VecDeque::new(),
            script: script.into(),
            next_arrival: None,
            rng,
            scheduled: Vec::new(),
            counters: Counters::default(),
            paused: false,
            last_idle_check: now,
            rules: rules::Rules::default(),
            outgoing: Vec::new(),
            warn_limit: crate::sim::ratelog::RateLog::new(cfg.limits.warnings_per_second),
            cfg,
        };
        world.next_arrival = world.draw_arrival(now);
        world
    }

    fn draw_arrival(&mut self, now: Instant) -> Option<Instant> {
        let rate = self.cfg.inbound.rate_per_min;
        if rate <= 0.0 {
            return None;
        }
        let u: f64 = self.rng.gen_range(f64::EPSILON..1.0);
        let secs = -u.ln() * 60.0 / rate;
        Some(now + Duration::from_secs_f64(secs.min(3600.0)))
    }

    // ---- connections ---------------------------------------------------------------------

    pub(crate) fn add_conn(&mut self, node: Arc<NodeState>, now: Instant) -> u64 {
        let id = self.next_conn_id;
        self.next_conn_id += 1;
        self.conns.insert(
            id,
            Conn {
                node,
                connected_at: now,
                version: None,
                agent: None,
                idle_timeout: None,
                last_rx: now,
                call_mask: 0,
                agent_mask: 0,
            },
        );
        self.counters.connections += 1;
        id
    }

    /// The connection is gone (closed by either side).
    pub(crate) fn remove_conn(&mut self, conn_id: u64) {
        let Some(conn) = self.conns.remove(&conn_id) else {
            return;
        };
        self.outgoing.push((conn_id, Out::Close));
        self.rules.forget(conn_id);
        if conn.version.is_some() {
            self.counters.sessions_ended += 1;
        }
        if let Some(a) = conn.agent {
            if self.agents.get(a).and_then(|ag| ag.conn) == Some(conn_id) {
                if let Some(agent) = self.agents.get_mut(a) {
                    agent.conn = None;
                }
                self.withdraw_reservation(a);
            }
        }
    }

    /// A reservation needs an agent to answer it: without a session it goes back to the list.
    fn withdraw_reservation(&mut self, a: usize) {
        let ids: Vec<(u32, usize)> = self
            .calls
            .values()
            .filter_map(|c| match c.kind {
                CallKind::Reservation { contact } if c.agent == a => Some((c.id, contact)),
                _ => None,
            })
            .collect();
        for (id, contact) in ids {
            self.calls.remove(&id);
            if let Some(rec) = self.contacts.get_mut(contact) {
                rec.status = ContactStatus::Open;
                self.contacts_ready.push_front(contact);
            }
            if let Some(agent) = self.agents.get_mut(a) {
                agent.state = AgentState::Available;
                agent.reason = 0;
            }
        }
    }

    /// Close every connection of a node (the node stops).
    pub(crate) fn close_node(&mut self, node: &Arc<NodeState>) {
        let ids: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| Arc::ptr_eq(&c.node, node))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.remove_conn(id);
        }
    }

    fn version_of(&self, conn_id: u64) -> WireVersion {
        self.conns
            .get(&conn_id)
            .and_then(|c| c.version)
            .unwrap_or(WireVersion::DEFAULT)
    }

    fn wire_version(&self, number: u32) -> WireVersion {
        WireVersion::new(number).with_v18_length_width(self.cfg.v18_length_width)
    }

    /// Send a frame to a connection.
    fn send(&mut self, conn_id: u64, ty: MessageType, build: impl Fn(&mut Encoder<'_>)) {
        let version = self.version_of(conn_id);
        self.send_with(conn_id, version, ty, build);
    }

    fn send_with(
        &mut self,
        conn_id: u64,
        version: WireVersion,
        ty: MessageType,
        build: impl Fn(&mut Encoder<'_>),
    ) {
        if !self.conns.contains_key(&conn_id) {
            return;
        }
        if let Some(frame) = encode_frame(ty, version, build) {
            self.outgoing.push((conn_id, Out::Frame(frame, version)));
            self.counters.messages_out += 1;
        }
    }

    /// Send an event to an agent's session, if it has one and its masks ask for it.
    fn emit(&mut self, a: usize, ty: MessageType, build: impl Fn(&mut Encoder<'_>)) {
        let Some(conn_id) = self.agents.get(a).and_then(|ag| ag.conn) else {
            return;
        };
        let Some(conn) = self.conns.get(&conn_id) else {
            return;
        };
        if let Some(bit) = call_mask_bit(ty) {
            if conn.call_mask & bit == 0 {
                return;
            }
        }
        self.send(conn_id, ty, build);
    }

    fn close(&mut self, conn_id: u64) {
        self.remove_conn(conn_id);
    }

    // ---- incoming messages -----------------------------------------------------------------

    /// Handle one frame from a connection.
    pub(crate) fn on_frame(&mut self, conn_id: u64, frame: &[u8], now: Instant) -> After {
        self.counters.messages_in += 1;
        let Some(conn) = self.conns.get_mut(&conn_id) else {
            return After::Close;
        };
        conn.last_rx = now;
        let version = match conn.version {
            Some(v) => v,
            None => self.requested_version(frame),
        };
        let msg = match decode(frame, version) {
            Ok(m) => m,
            Err(e) => {
                if self.warn_limit.allow("malformed", now) {
                    log::warn!("simulator: malformed frame from connection {conn_id}: {e}");
                }
                self.counters.malformed_in += 1;
                if !self.conns.get(&conn_id).is_some_and(|c| c.version.is_some()) {
                    self.refuse_raw_open(conn_id, frame);
                }
                return After::Continue;
            }
        };
        let ty = msg.message_type();
        let open = self.conns.get(&conn_id).and_then(|c| c.version).is_some();
        if ty == MessageType::OpenReq {
            return self.open(conn_id, &msg, now);
        }
        let agent = self.conns.get(&conn_id).and_then(|c| c.agent);
        let (true, Some(a)) = (open, agent) else {
            self.failure_conf(conn_id, &msg, StatusCode::SessionNotOpen);
            return After::Continue;
        };
        if self.heartbeat_rule_breaks(conn_id, ty, now) {
            return After::Close;
        }
        match ty {
            MessageType::HeartbeatReq => {
                if !self.cfg.faults.ignore_heartbeats {
                    let id = msg.get(fields::heartbeat_req::INVOKE_ID).unwrap_or(0);
                    self.send(conn_id, MessageType::HeartbeatConf, |e| {
                        e.set(fields::heartbeat_conf::INVOKE_ID, id);
                    });
                }
            }
            MessageType::CloseReq => {
                let id = msg.get(fields::close_req::INVOKE_ID).unwrap_or(0);
                self.send(conn_id, MessageType::CloseConf, |e| {
                    e.set(fields::close_conf::INVOKE_ID, id);
                });
                self.counters.sessions_closed += 1;
                self.close(conn_id);
                return After::Close;
            }
            MessageType::SetAgentStateReq => self.set_agent_state(conn_id, a, &msg, now),
            MessageType::QueryAgentStateReq => self.query_agent_state(conn_id, a, &msg),
            MessageType::SnapshotDeviceReq => self.snapshot_device(conn_id, a, &msg),
            MessageType::AnswerCallReq => self.answer(conn_id, a, &msg, now),
            MessageType::HoldCallReq => self.hold(conn_id, a, &msg),
            MessageType::RetrieveCallReq => self.retrieve(conn_id, a, &msg),
            MessageType::ClearConnectionReq | MessageType::ClearCallReq => {
                self.clear(conn_id, a, &msg, now)
            }
            MessageType::ConsultationCallReq => self.consult(conn_id, a, &msg),
            MessageType::TransferCallReq => self.transfer(conn_id, a, &msg, now),
            MessageType::ConferenceCallReq => self.conference(conn_id, a, &msg),
            MessageType::ReconnectCallReq => self.reconnect(conn_id, a, &msg),
            MessageType::MakeCallReq => self.make_call(conn_id, a, &msg),
            MessageType::SendDtmfSignalReq => self.dtmf(conn_id, a, &msg),
            MessageType::SetCallDataReq => self.set_call_data(conn_id, a, &msg, now),
            _ => {
                self.counters.requests_refused += 1;
                self.failure_conf(conn_id, &msg, StatusCode::InvalidMessageType);
            }
        }
        After::Continue
    }

    /// The version an OPEN_REQ asks for (its fixed part does not depend on the version).
    fn requested_version(&self, frame: &[u8]) -> WireVersion {
        for guess in [17, 18] {
            if let Ok(msg) = decode(frame, self.wire_version(guess)) {
                if let Some(v) = msg.get(fields::open_req::VERSION_NUMBER) {
                    return self.wire_version(v.clamp(WireVersion::MIN, WireVersion::MAX));
                }
                return self.wire_version(guess);
            }
        }
        WireVersion::DEFAULT
    }

    /// An OPEN_REQ that does not decode under any version the simulator speaks (version 19
    /// or later, a damaged body) still gets its FAILURE_CONF: InvokeID and VersionNumber
    /// are the first two words of the fixed part in every version, and FAILURE_CONF has no
    /// floating part.
    fn refuse_raw_open(&mut self, conn_id: u64, frame: &[u8]) {
        let word = |at: usize| {
            frame
                .get(at..at + 4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(u32::from_be_bytes)
        };
        if word(4) != Some(MessageType::OpenReq.id()) {
            return;
        }
        let invoke = word(HEADER_LEN).unwrap_or(0);
        let status = match word(HEADER_LEN + 4) {
            Some(v) if (WireVersion::MIN..=WireVersion::MAX).contains(&v) => {
                StatusCode::UnspecifiedFailure
            }
            _ => StatusCode::InvalidVersion,
        };
        self.counters.sessions_refused += 1;
        self.send_with(conn_id, WireVersion::DEFAULT, MessageType::FailureConf, |e| {
            e.set(fields::failure_conf::INVOKE_ID, invoke)
                .set(fields::failure_conf::STATUS, status);
        });
    }

    fn failure_conf(&mut self, conn_id: u64, msg: &Message<'_>, status: StatusCode) {
        let id = msg.invoke_id().unwrap_or(0);
        self.send(conn_id, MessageType::FailureConf, |e| {
            e.set(fields::failure_conf::INVOKE_ID, id)
                .set(fields::failure_conf::STATUS, status);
        });
    }

    fn control_failure(
        &mut self,
        conn_id: u64,
        msg: &Message<'_>,
        status: StatusCode,
        error: PeripheralErrorCode,
    ) {
        self.counters.requests_refused += 1;
        let id = msg.invoke_id().unwrap_or(0);
        let code = control_failure_code(status);
        self.send(conn_id, MessageType::ControlFailureConf, |e| {
            e.set(fields::control_failure_conf::INVOKE_ID, id)
                .set(fields::control_failure_conf::FAILURE_CODE, code)
                .set(fields::control_failure_conf::PERIPHERAL_ERROR_CODE, error);
        });
    }

    fn confirm(&mut self, conn_id: u64, ty: MessageType, msg: &Message<'_>) {
        let id = msg.invoke_id().unwrap_or(0);
        // Every simple confirmation is InvokeID only: write it through the layout's first
        // field rather than a per-message handle.
        self.send(conn_id, ty, |e| {
            e.set_fixed_raw(0, id);
        });
    }

    fn open(&mut self, conn_id: u64, msg: &Message<'_>, now: Instant) -> After {
        let invoke = msg.get(fields::open_req::INVOKE_ID).unwrap_or(0);
        let requested = msg.get(fields::open_req::VERSION_NUMBER).unwrap_or(0);
        let reply_version = msg.version();
        let refuse = |world: &mut World, status: StatusCode| {
            world.counters.sessions_refused += 1;
            world.send_with(conn_id, reply_version, MessageType::FailureConf, |e| {
                e.set(fields::failure_conf::INVOKE_ID, invoke)
                    .set(fields::failure_conf::STATUS, status);
            });
            After::Continue
        };
        let master = self
            .conns
            .get(&conn_id)
            .map(|c| c.node.is_master())
            .unwrap_or(false);
        if !master {
            return refuse(self, StatusCode::ServerNotMaster);
        }
        if !(WireVersion::MIN..=WireVersion::MAX).contains(&requested) {
            return refuse(self, StatusCode::InvalidVersion);
        }
        let idle = msg.get(fields::open_req::IDLE_TIMEOUT).unwrap_or(0);
        if !rules::idle_timeout_ok(idle, self.cfg.heartbeat_rule.as_ref()) {
            return refuse(self, StatusCode::InvalidTimeout);
        }
        if self.conns.get(&conn_id).and_then(|c| c.version).is_some() {
            return refuse(self, StatusCode::SessionAlreadyOpen);
        }
        let id = msg.string(tag::AGENT_ID).filter(|s| !s.is_empty());
        let ext = msg.string(tag::AGENT_EXTENSION).filter(|s| !s.is_empty());
        let inst = msg.string(tag::AGENT_INSTRUMENT).filter(|s| !s.is_empty());
        let found = self.agents.iter().position(|a| {
            let by_id = id.map(|v| v == a.def.id);
            let by_ext = ext.map(|v| v == a.def.extension);
            let by_inst = inst.map(|v| v == a.def.instrument());
            let named = [by_id, by_ext, by_inst];
            named.contains(&Some(true)) && !named.contains(&Some(false))
        });
        let Some(a) = found else {
            return refuse(self, StatusCode::InvalidAgentData);
        };
        // A second session for the same agent ends the first. Unified CCX asks for no
        // password here; under `require_password` the OPEN_REQ's ClientPassword (or an
        // AgentPassword field) must be the agent's.
        if let Some(old) = self.agents.get(a).and_then(|ag| ag.conn) {
            if old != conn_id && self.cfg.require_password {
                let given = msg
                    .string(tag::AGENT_PASSWORD)
                    .map(str::as_bytes)
                    .or_else(|| {
                        msg.field(tag::CLIENT_PASSWORD)
                            .map(|b| b.strip_suffix(&[0]).unwrap_or(b))
                    })
                    .unwrap_or(&[]);
                let known = self.agents.get(a).map(|ag| ag.def.password.as_bytes());
                if known != Some(given) {
                    return refuse(self, StatusCode::InvalidPassword);
                }
            }
            if old != conn_id {
                self.counters.sessions_replaced += 1;
                self.send(old, MessageType::FailureEvent, |e| {
                    e.set(fields::failure_event::STATUS, StatusCode::NewSessionOpened);
                });
                self.close(old);
            }
        }
        let version = self.wire_version(requested);
        let services = msg.get(fields::open_req::SERVICES_REQUESTED).unwrap_or(0);
        if let Some(conn) = self.conns.get_mut(&conn_id) {
            conn.version = Some(version);
            conn.agent = Some(a);
            conn.idle_timeout = match self.cfg.idle_timeout_override_ms {
                Some(ms) => Some(Duration::from_millis(ms)),
                None => (idle != u32::MAX).then(|| Duration::from_secs(u64::from(idle))),
            };
            conn.call_mask = msg.get(fields::open_req::CALL_MSG_MASK).unwrap_or(0);
            conn.agent_mask = msg.get(fields::open_req::AGENT_STATE_MASK).unwrap_or(0);
            conn.last_rx = now;
        }
        let Some(agent) = self.agents.get_mut(a) else {
            return After::Continue;
        };
        agent.conn = Some(conn_id);
        let (state, def) = (agent.state, agent.def.clone());
        self.rules.opened(conn_id, now);
        self.counters.sessions_opened += 1;
        self.send(conn_id, MessageType::OpenConf, |e| {
            e.set(fields::open_conf::INVOKE_ID, invoke)
                .set(
                    fields::open_conf::SERVICES_GRANTED,
                    services & SUPPORTED_SERVICES,
                )
                .set(fields::open_conf::CCX_ONLINE, true)
                .set(fields::open_conf::AGENT_STATE, state);
            e.string(tag::AGENT_EXTENSION, &def.extension)
                .string(tag::AGENT_INSTRUMENT, def.instrument())
                .string(tag::AGENT_ID, &def.id);
            if version.number() >= 14 {
                e.number(tag::NUM_PERIPHERALS, 1)
                    .number(tag::FLT_PERIPHERAL_ID, 1)
                    .number(tag::MULTILINE_AGENT_CONTROL, 1);
            }
            if version.number() >= 18 {
                e.number(tag::CONFIG_MSG_MASK_GRANTED, 0);
            }
        });
        After::Continue
    }

    // ---- agent state ---------------------------------------------------------------------

    fn emit_agent_state(&mut self, a: usize) {
        let Some(agent) = self.agents.get(a) else {
            return;
        };
        let (state, reason) = (agent.state, agent.reason);
        let (id, ext) = (agent.def.id.clone(), agent.def.extension.clone());
        if let Some(conn) = agent.conn.and_then(|c| self.conns.get(&c)) {
            if conn.agent_mask & agent_mask_bit(state) == 0 {
                return;
            }
        }
        self.emit(a, MessageType::AgentStateEvent, |e| {
            use fields::agent_state_event as f;
            e.set(f::CSQ_STATE, state)
                .set(f::STATE_DURATION, 0)
                .set(f::CSQID, u32::MAX)
                .set(f::AGENT_STATE, state)
                .set(f::EVENT_REASON_CODE, EventReasonCode::from_value(reason))
                .set(f::NUM_CS_QS, 0);
            e.string(tag::AGENT_ID, &id)
                .string(tag::AGENT_EXTENSION, &ext);
        });
    }

    /// Change an agent's state and report it.
    fn set_state(&mut self, a: usize, state: AgentState, reason: u16, now: Instant) {
        let offer_delay = self
            .cfg
            .campaign
            .as_ref()
            .map(|c| c.offer_delay_ms)
            .unwrap_or(0);
        let Some(agent) = self.agents.get_mut(a) else {
            return;
        };
        if state == AgentState::Available && agent.state != AgentState::Available {
            agent.available_since = now;
            agent.next_offer_at = now + Duration::from_millis(offer_delay);
        }
        agent.state = state;
        agent.reason = reason;
        if state == AgentState::WorkNotReady {
            if let Some(ms) = self.cfg.wrapup_ms {
                self.scheduled.push((
                    now + Duration::from_millis(ms),
                    Action::WrapupExpired { agent: a },
                ));
            }
        }
        self.emit_agent_state(a);
    }

    fn reason_ok(&self, reason: u16) -> bool {
        reason == 0
            || SYSTEM_REASONS.contains(&reason)
            || self.cfg.reason_codes.is_empty()
            || self.cfg.reason_codes.iter().any(|r| r.code == reason)
    }

    fn agent_calls(&self, a: usize) -> impl Iterator<Item = &Call> {
        self.calls.values().filter(move |c| c.agent == a)
    }

    fn set_agent_state(&mut self, conn_id: u64, a: usize, msg: &Message<'_>, now: Instant) {
        use fields::set_agent_state_req as f;
        if msg.get(f::AGENT_STATE) == Some(AgentState::Login)
            && self.refuse_without_terminal(conn_id, a, msg)
        {
            return;
        }
        let Some(agent) = self.agents.get(a) else {
            return;
        };
        let current = agent.state;
        let requested = msg
            .get(f::AGENT_STATE)
            .unwrap_or(AgentState::Unknown(u16::MAX));
        let reason = msg
            .get(f::EVENT_REASON_CODE)
            .map(|r| r.value())
            .unwrap_or(0);
        let busy = self.agent_calls(a).next().is_some();
        let logged_in = is_logged_in(current);
        let refuse = |w: &mut World, status, err| w.control_failure(conn_id, msg, status, err);
        if self.cfg.require_password
            && msg.string(tag::AGENT_PASSWORD).unwrap_or("") != agent.def.password
        {
            return refuse(
                self,
                StatusCode::InvalidPassword,
                PeripheralErrorCode::AgentInvalid,
            );
        }
        match requested {
            AgentState::Login => {
                let password = msg.string(tag::AGENT_PASSWORD).unwrap_or("");
                if !agent.def.password_ok(password) {
                    return refuse(
                        self,
                        StatusCode::InvalidPassword,
                        PeripheralErrorCode::AgentInvalid,
                    );
                }
                let capacity = msg.get(f::AGENT_CAPACITY).unwrap_or(0);
                self.confirm(conn_id, MessageType::SetAgentStateConf, msg);
                // AgentCapacity exists from version 12; an older client cannot say, so its
                // agent is taken as configured for outbound.
                let old_client = msg.version().number() < 12;
                if let Some(agent) = self.agents.get_mut(a) {
                    agent.outbound = capacity & 1 != 0 || old_client;
                }
                if msg.get(f::FORCED_FLAG) == Some(2) {
                    return; // authenticate only, no state change (v12+)
                }
                if logged_in {
                    self.set_state(a, current, EventReasonCode::Relogon.value(), now);
                } else {
                    self.set_state(a, AgentState::NotReady, EventReasonCode::Logon.value(), now);
                }
            }
            AgentState::Logout => {
                if !logged_in {
                    return refuse(
                        self,
                        StatusCode::AgentNotLoggedOn,
                        PeripheralErrorCode::AgentInvalid,
                    );
                }
                if busy || !self.reason_ok(reason) {
                    return refuse(
                        self,
                        StatusCode::UnspecifiedFailure,
                        PeripheralErrorCode::InvalidArgument,
                    );
                }
                self.confirm(conn_id, MessageType::SetAgentStateConf, msg);
                self.set_state(a, AgentState::Logout, reason, now);
            }
            AgentState::NotReady
            | AgentState::Available
            | AgentState::WorkNotReady
            | AgentState::WorkReady => {
                if !logged_in {
                    return refuse(
                        self,
                        StatusCode::AgentNotLoggedOn,
                        PeripheralErrorCode::AgentInvalid,
                    );
                }
                if requested == AgentState::NotReady && !self.reason_ok(reason) {
                    return refuse(
                        self,
                        StatusCode::UnspecifiedFailure,
                        PeripheralErrorCode::InvalidArgument,
                    );
                }
                if current == AgentState::Reserved {
                    // A reservation or a ringing call: the agent answers it first.
                    return refuse(
                        self,
                        StatusCode::UnspecifiedFailure,
                        PeripheralErrorCode::AgentDeviceBusy,
                    );
                }
                if busy || current == AgentState::Talking {
                    // Unified CCX takes the state when the calls end.
                    self.confirm(conn_id, MessageType::SetAgentStateConf, msg);
                    if let Some(agent) = self.agents.get_mut(a) {
                        agent.pending = Some((requested, reason));
                    }
                    return;
                }
                // Only Not Ready carries the agent's reason code.
                let reason = if requested == AgentState::NotReady {
                    reason
                } else {
                    0
                };
                self.confirm(conn_id, MessageType::SetAgentStateConf, msg);
                self.set_state(a, requested, reason, now);
            }
            _ => refuse(
                self,
                StatusCode::UnspecifiedFailure,
                PeripheralErrorCode::InvalidArgument,
            ),
        }
    }

    fn query_agent_state(&mut self, conn_id: u64, a: usize, msg: &Message<'_>) {
        let Some(agent) = self.agents.get(a) else {
            return;
        };
        let (state, def) = (agent.state, agent.def.clone());
        let invoke = msg.invoke_id().unwrap_or(0);
        self.send(conn_id, MessageType::QueryAgentStateConf, |e| {
            use fields::query_agent_state_conf as f;
            e.set(f::INVOKE_ID, invoke).set(f::AGENT_STATE, state);
            e.string(tag::AGENT_EXTENSION, &def.extension)
                .string(tag::AGENT_INSTRUMENT, def.instrument())
                .string(tag::AGENT_ID, &def.id);
            for csq in def.csqs.iter().take(20) {
                e.number(tag::CSQID, *csq)
                    .number(tag::RESERVED63, 0)
                    .number(tag::RESERVED64, 0)
                    .number(tag::CSQ_STATE, u32::from(state.value()));
            }
        });
    }

    fn snapshot_device(&mut self, conn_id: u64, a: usize, msg: &Message<'_>) {
        let ext = self.ext(a);
        let calls: Vec<(u32, u16)> = self.agent_calls(a).map(|c| (c.id, c.lcs.value())).collect();
        let invoke = msg.invoke_id().unwrap_or(0);
        self.send(conn_id, MessageType::SnapshotDeviceConf, |e| {
            e.set(fields::snapshot_device_conf::INVOKE_ID, invoke);
            for (id, lcs) in &calls {
                e.number(tag::CALL_CONNECTION_CALL_ID, *id)
                    .number(tag::CALL_CONNECTION_DEVICE_TYPE, 0)
                    .string(tag::CALL_CONNECTION_DEVICE_ID, &ext)
                    .number(tag::CALL_DEVICE_CONNECTION_STATE, u32::from(*lcs));
            }
        });
    }

    fn ext(&self, a: usize) -> String {
        self.agents
            .get(a)
            .map(|ag| ag.def.extension.clone())
            .unwrap_or_default()
    }

    // ---- call events -----------------------------------------------------------------------

    fn new_call_id(&mut self) -> u32 {
        let id = self.next_call_id;
        self.next_call_id = self.next_call_id.wrapping_add(1).max(FIRST_CALL_ID);
        id
    }

    fn ev_begin_call(&mut self, id: u32, extra: &[(u16, String)]) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let (a, ct, vars, party, dnis) = (
            call.agent,
            call.call_type,
            call.vars.list().to_vec(),
            call.party.clone(),
            call.dnis.clone(),
        );
        let call_vars = call.call_vars.clone();
        let inbound = call.kind == CallKind::Inbound;
        let ext = self.ext(a);
        self.emit(a, MessageType::BeginCallEvent, |e| {
            use fields::begin_call_event as f;
            e.set(f::NUM_CTI_CLIENTS, 0)
                .set(f::CALL_TYPE, ct)
                .set(f::CONNECTION_DEVICE_TYPE, ConnectionDeviceType::Static)
                .set(f::CONNECTION_CALL_ID, id)
                .set(
                    f::CALLED_PARTY_DISPOSITION,
                    CalledPartyDisposition::CdInvalid,
                );
            e.string(tag::CONNECTION_DEVICE_ID, &ext);
            if inbound {
                e.string(tag::ANI, &party).string(tag::DNIS, &dnis);
            }
            for (i, v) in call_vars.iter().take(10).enumerate() {
                let t = tag::CALL_VAR1 + u16::try_from(i).unwrap_or(0);
                e.string(t, v);
            }
            for (name, value) in &vars {
                e.named_var(name, value);
            }
            for (t, v) in extra {
                e.string(*t, v);
            }
        });
    }

    fn ev_delivered(&mut self, id: u32) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let (a, party, dnis, csq, kind) = (
            call.agent,
            call.party.clone(),
            call.dnis.clone(),
            call.csq,
            call.kind,
        );
        let ext = self.ext(a);
        self.emit(a, MessageType::CallDeliveredEvent, |e| {
            use fields::call_delivered_event as f;
            e.set(f::CONNECTION_DEVICE_TYPE, ConnectionDeviceType::Static)
                .set(f::CONNECTION_CALL_ID, id)
                .set(f::LOCAL_CONNECTION_STATE, LocalConnectionState::Alerting)
                .set(f::EVENT_CAUSE, EventCause::CecNewCall);
            if let CallKind::Reservation { .. } = kind {
                // The guide's sample: alerting and called device are the agent itself.
                e.string(tag::ALERTING_DEVICE_ID, &ext)
                    .string(tag::CONNECTION_DEVICE_ID, &ext)
                    .string(tag::CALLED_DEVICE_ID, &ext);
            } else {
                e.set(f::LINE_TYPE, LineType::from_value(LINE_TYPE_BUSINESS))
                    .set(f::APPLICATION_ID, 1)
                    .set(f::CSQID, csq)
                    .set(f::ALERTING_DEVICE_TYPE, DeviceType::AgentDeviceIdentifier)
                    .set(f::CALLING_DEVICE_TYPE, DeviceType::DeviceIdentifier)
                    .set(f::CALLED_DEVICE_TYPE, DeviceType::AgentDeviceIdentifier)
                    .set(f::LAST_REDIRECT_DEVICE_TYPE, DeviceType::RoutePoint);
                e.string(tag::CONNECTION_DEVICE_ID, &ext)
                    .string(tag::ALERTING_DEVICE_ID, &ext)
                    .string(tag::CALLING_DEVICE_ID, &party)
                    .string(tag::CALLED_DEVICE_ID, &ext)
                    .string(tag::LAST_REDIRECT_DEVICE_ID, &dnis)
                    .string(tag::ANI, &party)
                    .string(tag::DNIS, &dnis);
            }
        });
    }

    /// The agent's connection is talking (answered inbound call, or an outgoing call the far
    /// end answered).
    fn ev_established(&mut self, id: u32) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let (a, party, csq, incoming) = (
            call.agent,
            call.party.clone(),
            call.csq,
            call.kind == CallKind::Inbound,
        );
        let ext = self.ext(a);
        self.emit(a, MessageType::CallEstablishedEvent, |e| {
            use fields::call_established_event as f;
            e.set(f::CONNECTION_DEVICE_TYPE, ConnectionDeviceType::Static)
                .set(f::CONNECTION_CALL_ID, id)
                .set(f::LINE_TYPE, LineType::from_value(LINE_TYPE_BUSINESS))
                .set(f::CSQID, csq)
                .set(f::LOCAL_CONNECTION_STATE, LocalConnectionState::Connect)
                .set(f::EVENT_CAUSE, EventCause::CecNone);
            if incoming {
                e.set(f::ANSWERING_DEVICE_TYPE, DeviceType::AgentDeviceIdentifier)
                    .set(f::CALLING_DEVICE_TYPE, DeviceType::DeviceIdentifier)
                    .set(f::CALLED_DEVICE_TYPE, DeviceType::AgentDeviceIdentifier);
                e.string(tag::CONNECTION_DEVICE_ID, &ext)
                    .string(tag::ANSWERING_DEVICE_ID, &ext)
                    .string(tag::CALLING_DEVICE_ID, &party)
                    .string(tag::CALLED_DEVICE_ID, &ext);
            } else {
                e.set(f::ANSWERING_DEVICE_TYPE, DeviceType::DeviceIdentifier)
                    .set(f::CALLING_DEVICE_TYPE, DeviceType::AgentDeviceIdentifier)
                    .set(f::CALLED_DEVICE_TYPE, DeviceType::DeviceIdentifier);
                e.string(tag::CONNECTION_DEVICE_ID, &ext)
                    .string(tag::ANSWERING_DEVICE_ID, &party)
                    .string(tag::CALLING_DEVICE_ID, &ext)
                    .string(tag::CALLED_DEVICE_ID, &party);
            }
        });
    }

    /// An outgoing call from the agent's phone: SERVICE_INITIATED, ORIGINATED, ESTABLISHED.
    fn ev_outgoing(&mut self, id: u32) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let (a, party) = (call.agent, call.party.clone());
        let ext = self.ext(a);
        self.emit(a, MessageType::CallServiceInitiatedEvent, |e| {
            use fields::call_service_initiated_event as f;
            e.set(f::CONNECTION_DEVICE_TYPE, ConnectionDeviceType::Static)
                .set(f::CONNECTION_CALL_ID, id)
                .set(f::APPLICATION_ID, u32::MAX)
                .set(f::CSQID, u32::MAX)
                .set(f::LINE_TYPE, LineType::from_value(LINE_TYPE_BUSINESS))
                .set(f::CALLING_DEVICE_TYPE, DeviceType::AgentDeviceIdentifier)
                .set(f::LOCAL_CONNECTION_STATE, LocalConnectionState::Initiate)
                .set(f::EVENT_CAUSE, EventCause::CecNone);
            e.string(tag::CONNECTION_DEVICE_ID, &ext)
                .string(tag::CALLING_DEVICE_ID, &ext);
        });
        self.emit(a, MessageType::CallOriginatedEvent, |e| {
            use fields::call_originated_event as f;
            e.set(f::CONNECTION_DEVICE_TYPE, ConnectionDeviceType::Static)
                .set(f::CONNECTION_CALL_ID, id)
                .set(f::LINE_TYPE, LineType::from_value(LINE_TYPE_BUSINESS))
                .set(f::APPLICATION_ID, u32::MAX)
                .set(f::CSQID, u32::MAX)
                .set(f::CALLING_DEVICE_TYPE, DeviceType::AgentDeviceIdentifier)
                .set(f::CALLED_DEVICE_TYPE, DeviceType::DeviceIdentifier)
                .set(f::LOCAL_CONNECTION_STATE, LocalConnectionState::Initiate)
                .set(f::EVENT_CAUSE, EventCause::CecNone);
            e.string(tag::CONNECTION_DEVICE_ID, &ext)
                .string(tag::CALLING_DEVICE_ID, &ext)
                .string(tag::CALLED_DEVICE_ID, &party);
        });
        if let Some(call) = self.calls.get_mut(&id) {
            call.lcs = LocalConnectionState::Connect;
        }
        self.ev_established(id);
    }

    fn ev_held(&mut self, id: u32, held: bool) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let a = call.agent;
        let ext = self.ext(a);
        if held {
            self.emit(a, MessageType::CallHeldEvent, |e| {
                use fields::call_held_event as f;
                e.set(f::CONNECTION_DEVICE_TYPE, ConnectionDeviceType::Static)
                    .set(f::CONNECTION_CALL_ID, id)
                    .set(f::HOLDING_DEVICE_TYPE, DeviceType::AgentDeviceIdentifier)
                    .set(f::LOCAL_CONNECTION_STATE, LocalConnectionState::Hold)
                    .set(f::EVENT_CAUSE, EventCause::CecNone);
                e.string(tag::CONNECTION_DEVICE_ID, &ext)
                    .string(tag::HOLDING_DEVICE_ID, &ext);
            });
        } else {
            self.emit(a, MessageType::CallRetrievedEvent, |e| {
                use fields::call_retrieved_event as f;
                e.set(f::CONNECTION_DEVICE_TYPE, ConnectionDeviceType::Static)
                    .set(f::CONNECTION_CALL_ID, id)
                    .set(f::RETRIEVING_DEVICE_TYPE, DeviceType::AgentDeviceIdentifier)
                    .set(f::LOCAL_CONNECTION_STATE, LocalConnectionState::Connect)
                    .set(f::EVENT_CAUSE, EventCause::CecNone);
                e.string(tag::CONNECTION_DEVICE_ID, &ext)
                    .string(tag::RETRIEVING_DEVICE_ID, &ext);
            });
        }
    }

    /// The call ends for the agent: CONNECTION_CLEARED (the agent's leg), CALL_CLEARED when
    /// `whole`, END_CALL. The reservation call clears with LCS_NONE as in the guide.
    fn ev_clear(&mut self, id: u32, whole: bool, cause: EventCause) {
        let Some(call) = self.calls.remove(&id) else {
            return;
        };
        let a = call.agent;
        let ext = self.ext(a);
        let lcs = if matches!(call.kind, CallKind::Reservation { .. }) {
            LocalConnectionState::None
        } else {
            LocalConnectionState::Null
        };
        self.emit(a, MessageType::CallConnectionClearedEvent, |e| {
            use fields::call_connection_cleared_event as f;
            e.set(f::CONNECTION_DEVICE_TYPE, ConnectionDeviceType::Static)
                .set(f::CONNECTION_CALL_ID, id)
                .set(f::RELEASING_DEVICE_TYPE, DeviceType::AgentDeviceIdentifier)
                .set(f::LOCAL_CONNECTION_STATE, lcs)
                .set(f::EVENT_CAUSE, cause);
            e.string(tag::CONNECTION_DEVICE_ID, &ext)
                .string(tag::RELEASING_DEVICE_ID, &ext);
        });
        if whole {
            self.emit(a, MessageType::CallClearedEvent, |e| {
                use fields::call_cleared_event as f;
                e.set(f::CONNECTION_DEVICE_TYPE, ConnectionDeviceType::Static)
                    .set(f::CONNECTION_CALL_ID, id)
                    .set(f::LOCAL_CONNECTION_STATE, LocalConnectionState::Null)
                    .set(f::EVENT_CAUSE, cause);
                e.string(tag::CONNECTION_DEVICE_ID, &ext);
            });
        }
        self.emit(a, MessageType::EndCallEvent, |e| {
            use fields::end_call_event as f;
            e.set(f::CONNECTION_DEVICE_TYPE, ConnectionDeviceType::Static)
                .set(f::CONNECTION_CALL_ID, id);
            e.string(tag::CONNECTION_DEVICE_ID, "");
        });
    }

    /// CALL_DATA_UPDATE_EVENT with the given variables, in the form of the guide's echo.
    fn ev_data_update(&mut self, id: u32, vars: &[(String, String)], call_vars: &[(u16, String)]) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let (a, ct) = (call.agent, call.call_type);
        let ext = self.ext(a);
        self.emit(a, MessageType::CallDataUpdateEvent, |e| {
            use fields::call_data_update_event as f;
            e.set(f::NUM_CTI_CLIENTS, 0)
                .set(f::CALL_TYPE, ct)
                .set(f::CONNECTION_DEVICE_TYPE, ConnectionDeviceType::Static)
                .set(f::CONNECTION_CALL_ID, id)
                .set(f::NEW_CONNECTION_DEVICE_TYPE, ConnectionDeviceType::Static)
                .set(f::NEW_CONNECTION_CALL_ID, id)
                .set(
                    f::CALLED_PARTY_DISPOSITION,
                    CalledPartyDisposition::CdInvalid,
                )
                .set(f::CAMPAIGN_ID, 0)
                .set(f::QUERY_RULE_ID, 0);
            e.string(tag::CONNECTION_DEVICE_ID, &ext)
                .string(tag::NEW_CONNECTION_DEVICE_ID, &ext);
            for (t, v) in call_vars {
                e.string(*t, v);
            }
            for (name, value) in vars {
                e.named_var(name, value);
            }
            e.string(tag::CUSTOMER_PHONE_NUMBER, "")
                .string(tag::CUSTOMER_ACCOUNT_NUMBER, "");
        });
    }

    /// The agent's calls are over: a state asked for meanwhile, else WORK or AVAILABLE.
    fn after_calls_end(&mut self, a: usize, now: Instant) {
        if self.agent_calls(a).next().is_some() {
            return;
        }
        let Some(agent) = self.agents.get_mut(a) else {
            return;
        };
        if !is_logged_in(agent.state) {
            return;
        }
        match agent.pending.take() {
            Some((state, reason)) => self.set_state(a, state, reason, now),
            None if self.cfg.auto_work => self.set_state(a, AgentState::WorkNotReady, 0, now),
            None => self.set_state(a, AgentState::Available, 0, now),
        }
    }

    fn becomes_talking(&mut self, a: usize, now: Instant) {
        if self.agents.get(a).map(|ag| ag.state) != Some(AgentState::Talking) {
            self.set_state(a, AgentState::Talking, 0, now);
        }
    }

    // ---- call control --------------------------------------------------------------------

    /// The call named by a request's fixed CallID field, if it is this agent's.
    fn own_call(&self, a: usize, id: Option<u32>) -> Option<u32> {
        let id = id?;
        self.calls.get(&id).filter(|c| c.agent == a).map(|c| c.id)
    }

    fn invalid_call(&mut self, conn_id: u64, msg: &Message<'_>) {
        self.control_failure(
            conn_id,
            msg,
            StatusCode::InvalidCallid,
            PeripheralErrorCode::RmcmContactInvalid,
        );
    }

    fn call_state(&self, id: u32) -> Option<LocalConnectionState> {
        self.calls.get(&id).map(|c| c.lcs)
    }

    fn answer(&mut self, conn_id: u64, a: usize, msg: &Message<'_>, now: Instant) {
        let requested = msg
            .get(fields::answer_call_req::CONNECTION_CALL_ID)
            .filter(|id| *id != u32::MAX);
        // CallID may be left out (0xFFFFFFFF): the alerting call of the agent.
        let id = match requested {
            Some(id) => self.own_call(a, Some(id)),
            None => self
                .agent_calls(a)
                .find(|c| c.lcs == LocalConnectionState::Alerting && c.kind == CallKind::Inbound)
                .map(|c| c.id),
        };
        let Some(id) = id else {
            return self.invalid_call(conn_id, msg);
        };
        let call = self.calls.get(&id);
        if call.map(|c| c.kind) != Some(CallKind::Inbound)
            || call.map(|c| c.lcs) != Some(LocalConnectionState::Alerting)
        {
            // Nothing rings for a reservation: it is answered with BAResponse.
            return self.control_failure(
                conn_id,
                msg,
                StatusCode::UnspecifiedFailure,
                PeripheralErrorCode::TerminalConnectionNull,
            );
        }
        self.confirm(conn_id, MessageType::AnswerCallConf, msg);
        if let Some(c) = self.calls.get_mut(&id) {
            c.lcs = LocalConnectionState::Connect;
        }
        self.counters.inbound_answered += 1;
        self.ev_established(id);
        self.becomes_talking(a, now);
        if let Some(ms) = self.cfg.inbound.customer_hangup_ms {
            self.scheduled.push((
                now + Duration::from_millis(ms),
                Action::CustomerHangup { call: id },
            ));
        }
    }

    fn hold(&mut self, conn_id: u64, a: usize, msg: &Message<'_>) {
        let id = self.own_call(a, msg.get(fields::hold_call_req::CONNECTION_CALL_ID));
        match id {
            Some(id) if self.call_state(id) == Some(LocalConnectionState::Connect) => {
                self.confirm(conn_id, MessageType::HoldCallConf, msg);
                if let Some(c) = self.calls.get_mut(&id) {
                    c.lcs = LocalConnectionState::Hold;
                }
                self.ev_held(id, true);
            }
            _ => self.invalid_call(conn_id, msg),
        }
    }

    fn retrieve(&mut self, conn_id: u64, a: usize, msg: &Message<'_>) {
        let id = self.own_call(a, msg.get(fields::retrieve_call_req::HELD_CALL_ID));
        match id {
            Some(id) if self.call_state(id) == Some(LocalConnectionState::Hold) => {
                self.confirm(conn_id, MessageType::RetrieveCallConf, msg);
                if let Some(c) = self.calls.get_mut(&id) {
                    c.lcs = LocalConnectionState::Connect;
                }
                self.ev_held(id, false);
            }
            _ => self.invalid_call(conn_id, msg),
        }
    }

    fn clear(&mut self, conn_id: u64, a: usize, msg: &Message<'_>, now: Instant) {
        let raw = match msg.message_type() {
            MessageType::ClearCallReq => msg.get(fields::clear_call_req::CONNECTION_CALL_ID),
            _ => msg.get(fields::clear_connection_req::CONNECTION_CALL_ID),
        };
        let Some(id) = self.own_call(a, raw) else {
            return self.invalid_call(conn_id, msg);
        };
        if matches!(
            self.calls.get(&id).map(|c| c.kind),
            Some(CallKind::Reservation { .. })
        ) {
            // A reservation is answered with BAResponse, not released.
            return self.control_failure(
                conn_id,
                msg,
                StatusCode::UnspecifiedFailure,
                PeripheralErrorCode::TerminalConnectionNull,
            );
        }
        let conf = if msg.message_type() == MessageType::ClearCallReq {
            MessageType::ClearCallConf
        } else {
            MessageType::ClearConnectionConf
        };
        self.confirm(conn_id, conf, msg);
        self.finish_call(id, EventCause::CecNone, now);
    }

    /// A call of the agent ends (released by either side).
    fn finish_call(&mut self, id: u32, cause: EventCause, now: Instant) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let (a, kind) = (call.agent, call.kind);
        match kind {
            CallKind::Inbound => self.counters.inbound_completed += 1,
            CallKind::Customer { contact } => {
                if let Some(rec) = self.contacts.get_mut(contact) {
                    if rec.outcome.is_empty() {
                        rec.outcome = "REX_VOICE".into();
                    }
                }
            }
            _ => {}
        }
        self.ev_clear(id, true, cause);
        // A consult whose original call is gone goes with it, and the other way round.
        let linked: Vec<u32> = self
            .calls
            .values()
            .filter(|c| c.kind == CallKind::Consult { of: id })
            .map(|c| c.id)
            .collect();
        for other in linked {
            self.ev_clear(other, true, cause);
        }
        self.after_calls_end(a, now);
    }

    fn consult(&mut self, conn_id: u64, a: usize, msg: &Message<'_>) {
        let active = self.own_call(a, msg.get(fields::consultation_call_req::ACTIVE_CALL_ID));
        let number = msg.string(tag::DIALED_NUMBER).unwrap_or("").to_string();
        let Some(active) =
            active.filter(|id| self.call_state(*id) == Some(LocalConnectionState::Connect))
        else {
            return self.invalid_call(conn_id, msg);
        };
        if number.is_empty() {
            return self.control_failure(
                conn_id,
                msg,
                StatusCode::RequiredDataMissing,
                PeripheralErrorCode::DialedNumberNull,
            );
        }
        if let Some(c) = self.calls.get_mut(&active) {
            c.lcs = LocalConnectionState::Hold;
        }
        self.ev_held(active, true);
        self.place_call(conn_id, a, msg, CallKind::Consult { of: active }, number);
        self.counters.consults += 1;
    }

    /// A new call from agent `a` to `number` (a consult or a dialed call): confirm it with the
    /// request's confirmation (CONSULTATION_CALL_CONF and MAKE_CALL_CONF share their layout),
    /// track it, and send its first events.
    fn place_call(
        &mut self,
        conn_id: u64,
        a: usize,
        msg: &Message<'_>,
        kind: CallKind,
        number: String,
    ) {
        let id = self.new_call_id();
        let ext = self.ext(a);
        let invoke = msg.invoke_id().unwrap_or(0);
        let (conf, call_type) = match kind {
            CallKind::Consult { .. } => (MessageType::ConsultationCallConf, CallType::Consult),
            _ => (MessageType::MakeCallConf, CallType::AgentInside),
        };
        self.send(conn_id, conf, |e| {
            let layout = message_def(conf.id()).and_then(|d| d.layout);
            for (label, value) in [
                ("InvokeID", invoke),
                ("NewConnectionCallID", id),
                (
                    "NewConnectionDeviceType",
                    u32::from(ConnectionDeviceType::Static.value()),
                ),
            ] {
                if let Some((index, _)) = layout.and_then(|l| l.fixed_named(label)) {
                    e.set_fixed_raw(index, value);
                }
            }
            e.string(tag::NEW_CONNECTION_DEVICE_ID, &ext);
        });
        self.calls.insert(
            id,
            Call {
                id,
                kind,
                agent: a,
                call_type,
                lcs: LocalConnectionState::Initiate,
                party: number.clone(),
                dnis: String::new(),
                csq: 0,
                vars: vars::CallVars::default(),
                call_vars: Vec::new(),
            },
        );
        self.ev_begin_call(id, &[(tag::DIALED_NUMBER, number)]);
        self.ev_outgoing(id);
    }

    /// The held original and the active consult call of a transfer or conference request.
    fn consult_pair(&self, a: usize, active: Option<u32>, held: Option<u32>) -> Option<(u32, u32)> {
        let active = self.own_call(a, active)?;
        let held = self.own_call(a, held)?;
        let consult = self.calls.get(&active)?;
        (consult.kind == CallKind::Consult { of: held }).then_some((active, held))
    }

    fn parties_of(&self, held: u32, active: u32) -> (String, String) {
        let customer = self
            .calls
            .get(&held)
            .map(|c| c.party.clone())
            .unwrap_or_default();
        let target = self
            .calls
            .get(&active)
            .map(|c| c.party.clone())
            .unwrap_or_default();
        (customer, target)
    }

    fn transfer(&mut self, conn_id: u64, a: usize, msg: &Message<'_>, now: Instant) {
        use fields::transfer_call_req as f;
        let Some((active, held)) =
            self.consult_pair(a, msg.get(f::ACTIVE_CALL_ID), msg.get(f::HELD_CALL_ID))
        else {
            return self.invalid_call(conn_id, msg);
        };
        let (customer, target) = self.parties_of(held, active);
        let ext = self.ext(a);
        let invoke = msg.invoke_id().unwrap_or(0);
        self.send(conn_id, MessageType::TransferCallConf, |e| {
            use fields::transfer_call_conf as c;
            e.set(c::INVOKE_ID, invoke)
                .set(c::NEW_CONNECTION_CALL_ID, held)
                .set(c::NEW_CONNECTION_DEVICE_TYPE, ConnectionDeviceType::Static);
            e.string(tag::NEW_CONNECTION_DEVICE_ID, &ext);
            for party in [&customer, &target] {
                e.number(tag::CONNECTED_PARTY_CALL_ID, held)
                    .number(tag::CONNECTED_PARTY_DEVICE_TYPE, 0)
                    .string(tag::CONNECTED_PARTY_DEVICE_ID, party);
            }
        });
        self.emit(a, MessageType::CallTransferredEvent, |e| {
            use fields::call_transferred_event as t;
            e.set(t::PRIMARY_DEVICE_TYPE, ConnectionDeviceType::Static)
                .set(t::PRIMARY_CALL_ID, held)
                .set(t::LINE_TYPE, LineType::from_value(LINE_TYPE_BUSINESS))
                .set(t::SECONDARY_DEVICE_TYPE, ConnectionDeviceType::Static)
                .set(t::SECONDARY_CALL_ID, active)
                .set(
                    t::TRANSFERRING_DEVICE_TYPE,
                    DeviceType::AgentDeviceIdentifier,
                )
                .set(t::TRANSFERRED_DEVICE_TYPE, DeviceType::DeviceIdentifier)
                .set(t::LOCAL_CONNECTION_STATE, LocalConnectionState::Null)
                .set(t::EVENT_CAUSE, EventCause::CecTransfer);
            e.string(tag::PRIMARY_DEVICE_ID, &ext)
                .string(tag::SECONDARY_DEVICE_ID, &ext)
                .string(tag::TRANSFERRING_DEVICE_ID, &ext)
                .string(tag::TRANSFERRED_DEVICE_ID, &target);
            for party in [&customer, &target] {
                e.number(tag::CONNECTED_PARTY_CALL_ID, held)
                    .number(tag::CONNECTED_PARTY_DEVICE_TYPE, 0)
                    .string(tag::CONNECTED_PARTY_DEVICE_ID, party);
            }
        });
        self.counters.transfers += 1;
        if let Some(CallKind::Inbound) = self.calls.get(&held).map(|c| c.kind) {
            self.counters.inbound_completed += 1;
        }
        // The agent leaves both calls; the customer and the target talk on.
        self.ev_clear(active, true, EventCause::CecTransfer);
        self.ev_clear(held, false, EventCause::CecTransfer);
        self.after_calls_end(a, now);
    }

    fn conference(&mut self, conn_id: u64, a: usize, msg: &Message<'_>) {
        use fields::conference_call_req as f;
        let Some((active, held)) =
            self.consult_pair(a, msg.get(f::ACTIVE_CALL_ID), msg.get(f::HELD_CALL_ID))
        else {
            return self.invalid_call(conn_id, msg);
        };
        let (customer, target) = self.parties_of(held, active);
        let ext = self.ext(a);
        let invoke = msg.invoke_id().unwrap_or(0);
        let parties = [customer.clone(), ext.clone(), target.clone()];
        self.send(conn_id, MessageType::ConferenceCallConf, |e| {
            use fields::conference_call_conf as c;
            e.set(c::INVOKE_ID, invoke)
                .set(c::NEW_CONNECTION_CALL_ID, held)
                .set(c::NEW_CONNECTION_DEVICE_TYPE, ConnectionDeviceType::Static);
            e.string(tag::NEW_CONNECTION_DEVICE_ID, &ext);
            for party in &parties {
                e.number(tag::CONNECTED_PARTY_CALL_ID, held)
                    .number(tag::CONNECTED_PARTY_DEVICE_TYPE, 0)
                    .string(tag::CONNECTED_PARTY_DEVICE_ID, party);
            }
        });
        self.emit(a, MessageType::CallConferencedEvent, |e| {
            use fields::call_conferenced_event as t;
            e.set(t::PRIMARY_DEVICE_TYPE, ConnectionDeviceType::Static)
                .set(t::PRIMARY_CALL_ID, held)
                .set(t::LINE_TYPE, LineType::from_value(LINE_TYPE_BUSINESS))
                .set(t::SECONDARY_DEVICE_TYPE, ConnectionDeviceType::Static)
                .set(t::SECONDARY_CALL_ID, active)
                .set(t::CONTROLLER_DEVICE_TYPE, DeviceType::AgentDeviceIdentifier)
                .set(t::ADDED_PARTY_DEVICE_TYPE, DeviceType::DeviceIdentifier)
                .set(t::LOCAL_CONNECTION_STATE, LocalConnectionState::Connect)
                .set(t::EVENT_CAUSE, EventCause::CecKeyConference);
            e.string(tag::PRIMARY_DEVICE_ID, &ext)
                .string(tag::SECONDARY_DEVICE_ID, &ext)
                .string(tag::CONTROLLER_DEVICE_ID, &ext)
                .string(tag::ADDED_PARTY_DEVICE_ID, &target);
            for party in &parties {
                e.number(tag::CONNECTED_PARTY_CALL_ID, held)
                    .number(tag::CONNECTED_PARTY_DEVICE_TYPE, 0)
                    .string(tag::CONNECTED_PARTY_DEVICE_ID, party);
            }
        });
        self.counters.conferences += 1;
        // The consult call merges into the original one, which talks again.
        self.calls.remove(&active);
        self.emit(a, MessageType::EndCallEvent, |e| {
            use fields::end_call_event as t;
            e.set(t::CONNECTION_DEVICE_TYPE, ConnectionDeviceType::Static)
                .set(t::CONNECTION_CALL_ID, active);
            e.string(tag::CONNECTION_DEVICE_ID, "");
        });
        if let Some(c) = self.calls.get_mut(&held) {
            c.lcs = LocalConnectionState::Connect;
            c.call_type = CallType::Conference;
            c.party = format!("{customer}+{target}");
        }
    }

    fn reconnect(&mut self, conn_id: u64, a: usize, msg: &Message<'_>) {
        use fields::reconnect_call_req as f;
        let Some((active, held)) =
            self.consult_pair(a, msg.get(f::ACTIVE_CALL_ID), msg.get(f::HELD_CALL_ID))
        else {
            return self.invalid_call(conn_id, msg);
        };
        self.confirm(conn_id, MessageType::ReconnectCallConf, msg);
        self.ev_clear(active, true, EventCause::CecNone);
        if let Some(c) = self.calls.get_mut(&held) {
            c.lcs = LocalConnectionState::Connect;
        }
        self.ev_held(held, false);
    }

    fn make_call(&mut self, conn_id: u64, a: usize, msg: &Message<'_>) {
        let number = msg.string(tag::DIALED_NUMBER).unwrap_or("").to_string();
        let state = self
            .agents
            .get(a)
            .map(|ag| ag.state)
            .unwrap_or(AgentState::Logout);
        if number.is_empty() {
            return self.control_failure(
                conn_id,
                msg,
                StatusCode::RequiredDataMissing,
                PeripheralErrorCode::DialedNumberNull,
            );
        }
        if matches!(
            state,
            AgentState::Available | AgentState::Reserved | AgentState::Talking
        ) || self.agent_calls(a).next().is_some()
        {
            // Unified CCX lets an agent dial out only when not ready or in work.
            return self.control_failure(
                conn_id,
                msg,
                StatusCode::UnspecifiedFailure,
                PeripheralErrorCode::AgentDeviceBusy,
            );
        }
        self.place_call(conn_id, a, msg, CallKind::Dialed, number);
        self.becomes_talking(a, Instant::now());
    }

    fn dtmf(&mut self, conn_id: u64, a: usize, msg: &Message<'_>) {
        let id = self.own_call(a, msg.get(fields::send_dtmf_signal_req::CONNECTION_CALL_ID));
        match id {
            Some(id) if self.call_state(id) == Some(LocalConnectionState::Connect) => {
                self.counters.dtmf += 1;
                self.confirm(conn_id, MessageType::SendDtmfSignalConf, msg);
            }
            _ => self.invalid_call(conn_id, msg),
        }
    }

    // ---- call data and the outbound preview ------------------------------------------------

    fn set_call_data(&mut self, conn_id: u64, a: usize, msg: &Message<'_>, now: Instant) {
        let Some(id) = self.own_call(a, msg.get(fields::set_call_data_req::CONNECTION_CALL_ID))
        else {
            return self.control_failure(
                conn_id,
                msg,
                StatusCode::NotCallParty,
                PeripheralErrorCode::RmcmContactInvalid,
            );
        };
        let vars: Vec<(String, String)> = msg
            .named_vars()
            .filter(|v| v.index.is_none())
            .map(|v| (v.name.to_string(), v.value.to_string()))
            .collect();
        let call_vars: Vec<(u16, String)> = msg
            .fields()
            .filter(|f| (tag::CALL_VAR1..=tag::CALL_VAR10).contains(&f.tag))
            .map(|f| (f.tag, wire_text(f.data)))
            .collect();
        let response = vars
            .iter()
            .find(|(n, _)| n == "BAResponse")
            .map(|(_, v)| v.clone());
        let kind = self.calls.get(&id).map(|c| c.kind);
        match (kind, response) {
            (Some(CallKind::Reservation { contact }), Some(resp)) => {
                self.preview_answer(conn_id, a, id, contact, &resp, msg, now)
            }
            (Some(CallKind::Reservation { .. }), None) => self.control_failure(
                conn_id,
                msg,
                StatusCode::RequiredDataMissing,
                PeripheralErrorCode::InvalidArgument,
            ),
            (Some(CallKind::Customer { contact }), Some(resp)) => {
                if !valid_reclassification(&resp) || !self.store_vars(id, &vars) {
                    return self.control_failure(
                        conn_id,
                        msg,
                        StatusCode::UnspecifiedFailure,
                        PeripheralErrorCode::InvalidArgument,
                    );
                }
                if let Some(rec) = self.contacts.get_mut(contact) {
                    if let Some(when) = resp.strip_prefix("Callback ") {
                        rec.callback = Some(when.to_string());
                        rec.outcome = "callback".into();
                    } else {
                        rec.outcome = resp.clone();
                    }
                }
                self.confirm(conn_id, MessageType::SetCallDataConf, msg);
                self.ev_data_update(id, &vars, &call_vars);
            }
            _ => {
                if !self.store_vars(id, &vars) {
                    return self.control_failure(
                        conn_id,
                        msg,
                        StatusCode::UnspecifiedFailure,
                        PeripheralErrorCode::InvalidArgument,
                    );
                }
                if let Some(c) = self.calls.get_mut(&id) {
                    for (t, v) in &call_vars {
                        let i = usize::from(t - tag::CALL_VAR1);
                        if c.call_vars.len() <= i {
                            c.call_vars.resize(i + 1, String::new());
                        }
                        if let Some(slot) = c.call_vars.get_mut(i) {
                            *slot = v.clone();
                        }
                    }
                }
                self.confirm(conn_id, MessageType::SetCallDataConf, msg);
                self.ev_data_update(id, &vars, &call_vars);
            }
        }
    }

    /// Store a request's variables on the call; false (nothing stored) past the caps.
    fn store_vars(&mut self, id: u32, vars: &[(String, String)]) -> bool {
        let (count, bytes) = (
            self.cfg.limits.max_call_vars,
            self.cfg.limits.max_call_var_bytes,
        );
        match self.calls.get_mut(&id).map(|c| c.vars.store(vars, count, bytes)) {
            Some(Err(full)) => {
                self.counters.call_vars_refused += 1;
                let key = "call variables";
                if self.warn_limit.allow(key, Instant::now()) {
                    log::warn!("simulator: call {id}: call variables refused ({full:?} cap: {count} names, {bytes} bytes)");
                }
                false
            }
            _ => true,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn preview_answer(
        &mut self,
        conn_id: u64,
        a: usize,
        id: u32,
        contact: usize,
        response: &str,
        msg: &Message<'_>,
        now: Instant,
    ) {
        let retry = self
            .cfg
            .campaign
            .as_ref()
            .map(|c| Duration::from_millis(c.retry_delay_ms))
            .unwrap_or_default();
        let max_attempts = self
            .cfg
            .campaign
            .as_ref()
            .map(|c| c.max_attempts)
            .unwrap_or(1);
        let echo = vec![("BAResponse".to_string(), response.to_string())];
        let outcome: &str = match response {
            "Accept" => "accepted",
            "Reject" => "rejected",
            "Reject-Close" => "reject-closed",
            "Skip" => "skipped",
            "Skip-Close" => "skip-closed",
            "Cancel Reservation" => "reservation-cancelled",
            _ => {
                return self.control_failure(
                    conn_id,
                    msg,
                    StatusCode::UnspecifiedFailure,
                    PeripheralErrorCode::InvalidArgument,
                )
            }
        };
        *self
            .counters
            .contacts
            .entry(outcome.to_string())
            .or_default() += 1;
        let _ = self.store_vars(id, &echo);
        self.confirm(conn_id, MessageType::SetCallDataConf, msg);
        if let Some(rec) = self.contacts.get_mut(contact) {
            rec.outcome = outcome.to_string();
            match response {
                "Accept" => rec.status = ContactStatus::Dialed,
                "Reject-Close" | "Skip-Close" => rec.status = ContactStatus::Closed,
                "Cancel Reservation" => {
                    rec.status = ContactStatus::Open;
                    self.contacts_ready.push_back(contact);
                }
                _ if rec.attempts >= max_attempts => rec.status = ContactStatus::Closed,
                _ => {
                    rec.status = ContactStatus::Open;
                    rec.next_try = now + retry;
                    self.contacts_later.push(Reverse((rec.next_try, contact)));
                }
            }
        }
        match response {
            "Accept" => {
                self.ev_data_update(id, &echo, &[]);
                self.ev_clear(id, true, EventCause::CecNone);
                self.place_customer_call(a, contact, now);
            }
            "Skip" | "Skip-Close" => {
                // The guide's "agent skips the contact" flow.
                self.set_state(a, AgentState::Available, 0, now);
                self.ev_data_update(id, &echo, &[]);
                self.ev_clear(id, true, EventCause::CecNone);
            }
            "Cancel Reservation" => {
                self.ev_data_update(id, &echo, &[]);
                self.ev_clear(id, true, EventCause::CecNone);
                self.set_state(
                    a,
                    AgentState::NotReady,
                    EventReasonCode::CancelReservation.value(),
                    now,
                );
            }
            _ => {
                self.ev_data_update(id, &echo, &[]);
                self.ev_clear(id, true, EventCause::CecNone);
                self.set_state(a, AgentState::Available, 0, now);
            }
        }
    }

    fn offer_contact(&mut self, a: usize, contact: usize, now: Instant) {
        let Some(campaign) = self.cfg.campaign.as_ref() else {
            return;
        };
        let Some(rec) = self.contacts.get_mut(contact) else {
            return;
        };
        rec.status = ContactStatus::Offered;
        rec.attempts += 1;
        let vars = vec![
            ("BACampaign".to_string(), campaign.name.clone()),
            ("BACampaignID".to_string(), campaign.id.clone()),
            ("BAStatus".to_string(), "DO".to_string()),
            ("BAResponse".to_string(), String::new()),
            ("user.layout".to_string(), campaign.layout.clone()),
            ("BAAccountNumber".to_string(), rec.contact.account.clone()),
            ("BADialedListID".to_string(), rec.dialed_list_id.to_string()),
            ("BABuddyName".to_string(), rec.contact.buddy_name()),
        ];
        let id = self.new_call_id();
        let ext = self.ext(a);
        self.calls.insert(
            id,
            Call {
                id,
                kind: CallKind::Reservation { contact },
                agent: a,
                call_type: CallType::Reservation,
                lcs: LocalConnectionState::Alerting,
                party: ext,
                dnis: String::new(),
                csq: 0,
                vars: vars::CallVars::from_list(vars),
                call_vars: Vec::new(),
            },
        );
        self.counters.reservations_offered += 1;
        self.set_state(a, AgentState::Reserved, 0, now);
        self.ev_begin_call(id, &[]);
        self.ev_delivered(id);
    }

    fn place_customer_call(&mut self, a: usize, contact: usize, now: Instant) {
        let Some(campaign) = self.cfg.campaign.as_ref() else {
            return;
        };
        let Some(rec) = self.contacts.get(contact) else {
            return;
        };
        let phone = rec.contact.phone.clone();
        let account = rec.contact.account.clone();
        let vars = vec![
            ("BACampaign".to_string(), campaign.name.clone()),
            ("BAStatus".to_string(), "CO".to_string()),
            ("BAResponse".to_string(), String::new()),
            ("BAAccountNumber".to_string(), account.clone()),
            ("BADialedListID".to_string(), rec.dialed_list_id.to_string()),
            ("BABuddyName".to_string(), rec.contact.buddy_name()),
            ("BACustomerNumber".to_string(), phone.clone()),
        ];
        let id = self.new_call_id();
        self.calls.insert(
            id,
            Call {
                id,
                kind: CallKind::Customer { contact },
                agent: a,
                // Unified CCX tells reservation and customer calls apart by BAStatus; the
                // customer call is typed as a preview call here.
                call_type: CallType::Preview,
                lcs: LocalConnectionState::Initiate,
                party: phone.clone(),
                dnis: String::new(),
                csq: 0,
                vars: vars::CallVars::from_list(vars),
                call_vars: Vec::new(),
            },
        );
        self.counters.customer_calls += 1;
        self.ev_begin_call(
            id,
            &[
                (tag::DIALED_NUMBER, phone.clone()),
                (tag::CUSTOMER_PHONE_NUMBER, phone),
                (tag::CUSTOMER_ACCOUNT_NUMBER, account),
            ],
        );
        self.ev_outgoing(id);
        self.becomes_talking(a, now);
    }

    // ---- time ------------------------------------------------------------------------------

    /// Offer an inbound call now (it queues until an agent is available).
    pub(crate) fn enqueue_call(&mut self, call: InboundCall) {
        self.queue.push_back(call);
    }

    /// Let time pass: arrivals, routing, campaign offers, timers, idle sessions.
    pub(crate) fn tick(&mut self, now: Instant) {
        if self.paused {
            self.expire_idle(now);
            return;
        }
        let elapsed = now.saturating_duration_since(self.start);
        while self
            .script
            .front()
            .is_some_and(|c| Duration::from_millis(c.at_ms) <= elapsed)
        {
            if let Some(call) = self.script.pop_front() {
                self.queue.push_back(call);
            }
        }
        while let Some(at) = self.next_arrival.filter(|t| *t <= now) {
            let n = self.counters.inbound_offered + self.queue.len() as u64;
            self.queue.push_back(InboundCall {
                ani: format!("555{:04}", n % 10_000),
                ..InboundCall::default()
            });
            self.next_arrival = self.draw_arrival(at);
        }
        if !self.queue.is_empty() || self.cfg.campaign.is_some() {
            let mut idle = self.idle_agents();
            if !idle.is_empty() {
                self.route_inbound(now, &mut idle);
                self.offer_contacts(now, &mut idle);
            }
        }
        self.run_scheduled(now);
        self.expire_idle(now);
    }

    /// Agents that may take work: AVAILABLE, with a session, without calls.
    fn idle_agents(&self) -> Vec<usize> {
        let busy: HashSet<usize> = self.calls.values().map(|c| c.agent).collect();
        self.agents
            .iter()
            .enumerate()
            .filter(|(i, a)| {
                a.state == AgentState::Available && a.conn.is_some() && !busy.contains(i)
            })
            .map(|(i, _)| i)
            .collect()
    }

    fn route_inbound(&mut self, now: Instant, idle: &mut Vec<usize>) {
        while let Some(call) = self.queue.front() {
            let csq = call.csq;
            let best =
                idle.iter()
                    .enumerate()
                    .filter(|(_, a)| {
                        csq == 0
                            || self.agents.get(**a).is_some_and(|ag| {
                                ag.def.csqs.is_empty() || ag.def.csqs.contains(&csq)
                            })
                    })
                    .min_by_key(|(_, a)| self.agents.get(**a).map(|ag| ag.available_since))
                    .map(|(i, a)| (i, *a));
            let Some((slot, a)) = best else {
                break;
            };
            let Some(call) = self.queue.pop_front() else {
                break;
            };
            idle.swap_remove(slot);
            self.offer_inbound(a, call, now);
        }
    }

    fn offer_inbound(&mut self, a: usize, call: InboundCall, now: Instant) {
        let id = self.new_call_id();
        self.calls.insert(
            id,
            Call {
                id,
                kind: CallKind::Inbound,
                agent: a,
                call_type: CallType::AcdIn,
                lcs: LocalConnectionState::Alerting,
                party: call.ani,
                dnis: call.dnis,
                csq: call.csq,
                vars: vars::CallVars::from_list(call.vars),
                call_vars: call.call_vars,
            },
        );
        self.counters.inbound_offered += 1;
        self.set_state(a, AgentState::Reserved, 0, now);
        self.ev_begin_call(id, &[]);
        self.ev_delivered(id);
    }

    fn offer_contacts(&mut self, now: Instant, idle: &mut Vec<usize>) {
        if self.cfg.campaign.is_none() {
            return;
        }
        while let Some(Reverse((at, contact))) = self.contacts_later.peek().copied() {
            if at > now {
                break;
            }
            self.contacts_later.pop();
            self.contacts_ready.push_back(contact);
        }
        let mut i = 0;
        while let Some(&a) = idle.get(i) {
            let due = self
                .agents
                .get(a)
                .is_some_and(|ag| ag.outbound && ag.next_offer_at <= now);
            if !due {
                i += 1;
                continue;
            }
            // The next open contact; entries of contacts that changed since are dropped.
            let next = loop {
                match self.contacts_ready.pop_front() {
                    Some(c)
                        if self
                            .contacts
                            .get(c)
                            .is_some_and(|r| r.status == ContactStatus::Open) =>
                    {
                        break Some(c)
                    }
                    Some(_) => continue,
                    None => break None,
                }
            };
            let Some(contact) = next else {
                return;
            };
            idle.swap_remove(i);
            self.offer_contact(a, contact, now);
        }
    }

    fn run_scheduled(&mut self, now: Instant) {
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.scheduled)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.scheduled = later;
        for (_, action) in due {
            match action {
                Action::WrapupExpired { agent } => {
                    if self.agents.get(agent).map(|a| a.state) == Some(AgentState::WorkNotReady) {
                        self.set_state(
                            agent,
                            AgentState::Available,
                            EventReasonCode::WorkTimerExp.value(),
                            now,
                        );
                    }
                }
                Action::CustomerHangup { call } => {
                    if self.calls.contains_key(&call) {
                        self.finish_call(call, EventCause::CecNone, now);
                    }
                }
            }
        }
    }

    fn expire_idle(&mut self, now: Instant) {
        // Idle timeouts are seconds long: a look every 50 ms is plenty.
        if now.saturating_duration_since(self.last_idle_check) < Duration::from_millis(50) {
            return;
        }
        self.last_idle_check = now;
        let open_deadline = Duration::from_millis(self.cfg.limits.open_deadline_ms);
        let unopened: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                c.version.is_none() && now.saturating_duration_since(c.connected_at) > open_deadline
            })
            .map(|(id, _)| *id)
            .collect();
        for id in unopened {
            if self.warn_limit.allow("open deadline", now) {
                log::info!("simulator: connection {id} opened no session within {open_deadline:?} of connecting; closing");
            }
            self.counters.open_deadlines += 1;
            self.close(id);
        }
        let expired: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                c.version.is_some()
                    && c.idle_timeout
                        .is_some_and(|l| now.saturating_duration_since(c.last_rx) > l)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            log::info!("simulator: connection {id} idle for longer than its IdleTimeout; closing");
            self.counters.idle_timeouts += 1;
            self.close(id);
        }
        self.expire_heartbeats(now);
    }

    // ---- views for checks ------------------------------------------------------------------

    pub(crate) fn agent_snapshots(&self) -> Vec<AgentSnapshot> {
        self.agents
            .iter()
            .enumerate()
            .map(|(i, a)| AgentSnapshot {
                id: a.def.id.clone(),
                extension: a.def.extension.clone(),
                state: a.state,
                reason: a.reason,
                connected: a.conn.is_some(),
                outbound: a.outbound,
                calls: self
                    .agent_calls(i)
                    .map(|c| CallSnapshot {
                        id: c.id,
                        call_type: c.call_type,
                        state: c.lcs,
                        party: c.party.clone(),
                        vars: c.vars.list().to_vec(),
                    })
                    .collect(),
            })
            .collect()
    }

    pub(crate) fn contact_snapshots(&self) -> Vec<ContactSnapshot> {
        self.contacts
            .iter()
            .map(|c| ContactSnapshot {
                account: c.contact.account.clone(),
                status: format!("{:?}", c.status).to_lowercase(),
                attempts: c.attempts,
                outcome: c.outcome.clone(),
                callback: c.callback.clone(),
            })
            .collect()
    }
}

/// The text of a STRING field's data (its NUL dropped).
fn wire_text(data: &[u8]) -> String {
    let end = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    String::from_utf8_lossy(data.get(..end).unwrap_or(&[])).into_owned()
}

/// A BAResponse value allowed during the customer call (wire-calls.md §5.2).
fn valid_reclassification(value: &str) -> bool {
    const CLASSES: [&str; 7] = [
        "Reclassify",
        "REX_VOICE",
        "REX_ANS_MACHINE",
        "REX_FAX",
        "REX_INVALID",
        "DO_NOT_CALL",
        "BUSY",
    ];
    if CLASSES.contains(&value) {
        return true;
    }
    // "Callback MMDDYYYY HH:MM"
    let Some(rest) = value.strip_prefix("Callback ") else {
        return false;
    };
    let Some((date, time)) = rest.split_once(' ') else {
        return false;
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let month = date.get(0..2).and_then(|m| m.parse::<u32>().ok());
    date.len() == 8
        && digits(date)
        && month.is_some_and(|m| (1..=12).contains(&m))
        && time.len() == 5
        && time.as_bytes().get(2) == Some(&b':')
        && time.get(0..2).is_some_and(digits)
        && time.get(3..5).is_some_and(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_values_are_checked() {
        assert!(valid_reclassification("Callback 12312026 09:30"));
        assert!(valid_reclassification("REX_FAX"));
        assert!(!valid_reclassification("Callback 13312026 09:30"));
        assert!(!valid_reclassification("Callback 1231202 09:30"));
        assert!(!valid_reclassification("Accept"));
    }

    #[test]
    fn agent_mask_bits_follow_the_state_numbers() {
        assert_eq!(agent_mask_bit(AgentState::Available), 0x8);
        assert_eq!(agent_mask_bit(AgentState::Reserved), 0x100);
    }
}

/// CONTROL_FAILURE_CONF's FailureCode takes the Control Failure (CF) values, not the session's
/// status codes (<https://developer.cisco.com/docs/contact-center-express/control-failure-cf-values>):
/// the simulator decides in status codes and says the nearest CF value.
fn control_failure_code(status: StatusCode) -> ControlFailureCode {
    match status {
        StatusCode::InvalidCallid => ControlFailureCode::InvalidCstaCallId,
        StatusCode::NotCallParty => ControlFailureCode::InvalidCstaConnectionId,
        StatusCode::RequiredDataMissing => ControlFailureCode::ValueOutOfRange,
        _ => ControlFailureCode::GenericUnspecified,
    }
}
