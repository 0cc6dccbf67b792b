//! The simulated Unified CCX itself: agents, calls, the campaign, and the answer to every
//! message. One `World` is owned by its cluster's poll loop thread (both sides of a cluster
//! when they share a process), so the message path takes no lock; it never touches a
//! socket: frames go out through `outgoing`, which the loop writes to each connection.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use ccx_cti::phone::AgentReason;
use ccx_cti::wire::{
    self, decode, fields, message_def, tag, AgentState, CallType, CalledPartyDisposition,
    ConnectionDeviceType, ControlFailureCode, DeviceType, Encoder, EventCause, EventReasonCode,
    LineType, LocalConnectionState, Message, MessageType, PeripheralErrorCode, StatusCode,
    WireVersion, HEADER_LEN,
};

mod agents;
mod calls;
mod campaign;
mod clock;
mod dirty;
mod ha;
pub(crate) use ha::{Replica, Update};
mod rules;
mod scenes;
mod sessions;
mod story;
mod vars;

pub use scenes::Scene;
pub use story::Story;

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
    /// Agents, calls and contacts mark their changes for the standby (`dirty`, `ha`).
    agents: dirty::List<Agent>,
    conns: HashMap<u64, Conn>,
    calls: dirty::Map<Call>,
    next_call_id: u32,
    next_conn_id: u64,
    contacts: dirty::List<ContactRec>,
    /// The standby this side feeds, if any (`ha`).
    feed: ha::Feed,
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
    /// The share of sessions whose HEARTBEAT_REQs go unanswered now (a timed fault).
    pub(crate) heartbeat_loss: f64,
    last_idle_check: Instant,
    /// The session rules' bookkeeping (heartbeat rule, active terminals).
    rules: rules::Rules,
    /// Frames and closes for the connections, in order; the event loop takes them after
    /// every event (the world does no I/O).
    pub(crate) outgoing: Vec<(u64, Out)>,
    /// Warnings a client can provoke at will are rate-limited.
    pub(crate) warn_limit: crate::sim::ratelog::RateLog,
    /// A script that answers every connection instead of the contact center.
    story: Option<story::Stories>,
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
        let agents: Vec<Agent> = cfg
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
            agents: dirty::List::new(agents),
            conns: HashMap::new(),
            calls: dirty::Map::new(),
            next_call_id: FIRST_CALL_ID,
            next_conn_id: 1,
            contacts_ready: (0..contacts.len()).collect(),
            contacts_later: BinaryHeap::new(),
            contacts: dirty::List::new(contacts),
            feed: ha::Feed::default(),
            queue: VecDeque::new(),
            script: script.into(),
            next_arrival: None,
            rng,
            scheduled: Vec::new(),
            counters: Counters::default(),
            paused: false,
            heartbeat_loss: 0.0,
            last_idle_check: now,
            rules: rules::Rules::default(),
            outgoing: Vec::new(),
            warn_limit: crate::sim::ratelog::RateLog::new(cfg.limits.warnings_per_second),
            story: None,
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

    // ---- views for checks ------------------------------------------------------------------

    /// What the metrics endpoint shows.
    pub(crate) fn metrics_sample(&self) -> super::metrics::Sample {
        let mut by_state = std::collections::BTreeMap::new();
        let mut sessions_open = 0;
        for a in &self.agents {
            *by_state.entry(format!("{:?}", a.state)).or_default() += 1;
            sessions_open += u64::from(a.conn.is_some());
        }
        super::metrics::Sample {
            counters: self.counters.clone(),
            sessions_open,
            agents_by_state: by_state,
            calls_active: self.calls.len() as u64,
        }
    }

    pub(crate) fn agent_snapshots(&self) -> Vec<AgentSnapshot> {
        self.agents
            .iter()
            .enumerate()
            .map(|(i, a)| AgentSnapshot {
                id: a.def.id.clone(),
                extension: a.def.extension.clone(),
                state: a.state,
                reason: AgentReason::from_code(a.reason),
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
