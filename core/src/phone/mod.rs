//! The sans-io agent phone.
//!
//! [`Phone`] is the brain of a hardware agent phone: it opens and keeps the CTI session, logs
//! the agent in and changes its state, tracks the agent's calls and the pending outbound
//! preview, and turns the agent's button presses into requests. It does no I/O and reads no
//! clock: an adapter feeds it bytes and the current [`Instant`], and polls it for bytes to
//! send, events for the UI, the next deadline and what to do with the transport.
//!
//! ```text
//!   adapter loop:
//!     match phone.poll_transport(now) { Connect{server} => connect, then phone.connected(now)
//!                                       Disconnect      => close,   then phone.disconnected(now) }
//!     bytes read      -> phone.handle_bytes(now, bytes)
//!     button pressed  -> phone.command(now, Command::...)
//!     deadline passed -> phone.handle_timeout(now)
//!     while let Some(n) = phone.poll_transmit(&mut buf) { write buf[..n] }
//!     while let Some(ev) = phone.poll_event() { show ev }
//!     sleep until phone.poll_timeout() or input
//! ```
//!
//! Capacities are const generics (`Phone<CALLS, VAR_BYTES, PENDING, TX, EVENTS, FRAME>`, defaults
//! in the `DEFAULT_*` constants); [`phone_type!`](crate::phone_type) names a phone type with
//! each capacity spelled out and checked against its minimum, and the
//! [`capacities`] table gives the RAM each costs. Running out of one is an [`Event`], never a
//! panic and never a silent drop.
//!
//! # Session life
//!
//! After `connected` the phone sends OPEN_REQ; OPEN_CONF opens the session and the phone
//! asks for the agent's state (QUERY_AGENT_STATE_REQ) and the calls at the agent's device
//! (SNAPSHOT_DEVICE_REQ). Calls tracked before a reconnect that the snapshot does not list
//! are reported as [`Event::CallLost`]; if the snapshot is refused or unanswered, all of them
//! are. When the session ends, [`Event::SessionLost`] says why and when the next attempt is
//! due, and every request still waiting is reported as [`Event::RequestAborted`]:
//!
//! | what happened | next attempt |
//! |---|---|
//! | OPEN_REQ refused | after `max(`[`OPEN_REFUSED_MIN_WAIT`]`, reconnect_secs)`, other side |
//! | E_CTI_SERVER_NOT_MASTER | after [`NOT_MASTER_RETRY`], other side (one server: as refused) |
//! | heartbeats unanswered, nothing received for IdleTimeout, FAILURE_CONF to a heartbeat | after `reconnect_secs`, other side |
//! | SYSTEM_EVENT SYS_CCX_OFFLINE, or a CCXStatus other than 0 and CCX_IN_SERVICE | after `reconnect_secs`, other side |
//! | the server closed the connection, connect failed or timed out, OPEN_CONF timed out | after `reconnect_secs`, other side |
//! | framing error | after `reconnect_secs`, same side |
//! | E_CTI_NEW_SESSION_OPENED, CLOSE_CONF | none until [`Phone::reconnect`] or `Command::Login` |
//!
//! "Other side" alternates between `config.servers[0]` and `[1]` when two are configured.
//! "After `reconnect_secs`" is the first retry; each further failure in a row waits longer
//! ([`reconnect_wait`]: doubling up to [`RECONNECT_MAX_WAIT`], shortened by a jitter from
//! `config.reconnect_seed`) until a session opens again.
//!
//! # Reading the phone
//!
//! [`Engine::view`] (or [`Engine::view_with`] and the application's vocabulary) is everything
//! the phone knows, borrowed: the session and its next attempt, the agent and a change in
//! flight, every call, the preview contact as a card, the requests in flight and the commands
//! valid now with the call each would act on. [`PhoneSnapshot`] is an owned copy for another
//! task. [`Phone::handle_bytes_tapped`] and [`Phone::poll_transmit_tapped`] show a
//! [`FrameTap`] every frame both ways.
//!
//! # Calls on a real server
//!
//! A call is its CallID and the agent's line: several calls may share a CallID, and
//! CALL_ESTABLISHED goes to the one without a destination connection yet
//! (<https://developer.cisco.com/docs/contact-center-express/call_established_event>). The
//! agent's devices are recognised plain or as `primary.actual` (a non-ICD secondary line,
//! v14+), and each call shows its [`Line`]. A conference keeps its PrimaryCallID and answers
//! to its other CallIDs ([`Call::aliases`]). Heartbeats follow
//! [`crate::config::HeartbeatMode`].

mod backoff;
mod call;
mod calls;
pub mod capacities;
mod command;
mod conference;
mod events;
mod framed;
mod lines;
mod outcome;
mod reason;
mod requests;
mod session;
mod snapshot;
mod tap;
mod time;
mod tx;
mod view;

#[cfg(test)]
mod tests;

pub use backoff::{reconnect_wait, RECONNECT_MAX_WAIT};
pub use call::Call;
pub use capacities::{MIN_CALLS, MIN_EVENTS, MIN_FRAME_BYTES, MIN_PENDING, MIN_TX_BYTES};
pub use command::{
    Command, CommandParseError, CommandWith, OwnedCommand, TextTooLong, DEFAULT_COMMAND_TEXT,
};
pub use framed::Phone;
pub use lines::Line;
pub use outcome::{InvokeId, Refusal};
pub use reason::{AgentReason, ReasonText};
pub use session::{NOT_MASTER_RETRY, OPEN_REFUSED_MIN_WAIT};
pub use snapshot::PhoneSnapshot;
pub use tap::{FrameDirection, FrameTap, NoTap};
pub use time::{Duration, Instant};
pub use view::{
    AgentStatus, CommandKind, NoLabels, PendingStateChange, PhoneView, PreviewCard, ReasonLabels,
    SessionStatus, ValidCommand,
};

use crate::config::PhoneConfig;
use crate::wire::{
    AgentState, CCXStatus, DecodeError, LocalConnectionState, StatusCode, SystemEventID,
};
use events::EventQueue;
use tx::TxQueue;

/// CallIDs besides its own that one call answers to (a conference's other legs).
pub const MAX_ALIASES: usize = 4;

/// Default number of calls a phone tracks at once.
pub const DEFAULT_CALLS: usize = 4;
/// Default bytes of named-variable storage per call (names and values with their NULs).
pub const DEFAULT_VAR_BYTES: usize = 512;
/// Default number of requests that may wait for a confirmation at once.
pub const DEFAULT_PENDING: usize = 8;
/// Default bytes of the transmit queue (encoded frames waiting for `poll_transmit`).
pub const DEFAULT_TX_BYTES: usize = 1024;
/// Default number of events waiting for `poll_event`.
pub const DEFAULT_EVENTS: usize = 16;

/// The session's state (FORMAT.md `session.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SessionState {
    /// No transport.
    Disconnected,
    /// Waiting for the transport to connect.
    Connecting,
    /// OPEN_REQ sent, waiting for OPEN_CONF.
    Opening,
    /// The session is open.
    Open,
    /// CLOSE_REQ sent.
    Closing,
}

/// What the adapter should do with the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TransportAction {
    /// Open a TCP connection to `config.servers[server]`, then call `connected` (or
    /// `connect_failed`).
    Connect {
        /// Index into the configured servers (0 = side A, 1 = side B).
        server: usize,
    },
    /// Close the TCP connection, then call `disconnected`.
    Disconnect,
}

/// The agent's answer to an outbound preview reservation (BAResponse values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PreviewAnswer {
    /// `Accept`
    Accept,
    /// `Reject`
    Reject,
    /// `Reject-Close`
    RejectClose,
    /// `Skip`
    Skip,
    /// `Skip-Close`
    SkipClose,
    /// `Cancel Reservation`
    CancelReservation,
}

impl PreviewAnswer {
    /// The BAResponse value sent for this answer.
    pub const fn ba_response(self) -> &'static str {
        match self {
            Self::Accept => "Accept",
            Self::Reject => "Reject",
            Self::RejectClose => "Reject-Close",
            Self::Skip => "Skip",
            Self::SkipClose => "Skip-Close",
            Self::CancelReservation => "Cancel Reservation",
        }
    }
}

/// A command the phone refused before sending anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum CommandError {
    /// The session is not open.
    NotConnected,
    /// No call fits the command (answer with no alerting call, hold with no connected call…).
    NoSuchCall,
    /// A preview answer with no pending reservation.
    NoPreview,
    /// The command makes no sense in the agent's current state.
    InvalidState,
    /// Too many requests are waiting for their confirmation.
    TooManyPending,
    /// The transmit queue is full.
    TransmitQueueFull,
    /// An argument does not fit its field.
    ArgumentTooLong,
    /// An argument is malformed (a callback date that is not `MMDDYYYY`, a time not `HH:MM`).
    InvalidArgument,
}

impl core::fmt::Display for CommandError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            CommandError::NotConnected => "the session is not open",
            CommandError::NoSuchCall => "no call fits the command",
            CommandError::NoPreview => "no preview reservation is pending",
            CommandError::InvalidState => "the command makes no sense in the agent's current state",
            CommandError::TooManyPending => "too many requests wait for their confirmation",
            CommandError::TransmitQueueFull => "the transmit queue is full",
            CommandError::ArgumentTooLong => "an argument is longer than its field allows",
            CommandError::InvalidArgument => "an argument is malformed",
        })
    }
}

impl core::error::Error for CommandError {}

/// The kind of a request, as events report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RequestKind {
    /// OPEN_REQ
    Open,
    /// HEARTBEAT_REQ
    Heartbeat,
    /// CLOSE_REQ
    Close,
    /// SET_AGENT_STATE_REQ
    SetAgentState,
    /// QUERY_AGENT_STATE_REQ
    QueryAgentState,
    /// SNAPSHOT_DEVICE_REQ
    SnapshotDevice,
    /// ANSWER_CALL_REQ
    Answer,
    /// CLEAR_CONNECTION_REQ
    Release,
    /// HOLD_CALL_REQ
    Hold,
    /// RETRIEVE_CALL_REQ
    Retrieve,
    /// MAKE_CALL_REQ
    Dial,
    /// CONSULTATION_CALL_REQ
    Consult,
    /// TRANSFER_CALL_REQ
    Transfer,
    /// CONFERENCE_CALL_REQ
    Conference,
    /// SEND_DTMF_SIGNAL_REQ
    Dtmf,
    /// SET_CALL_DATA_REQ
    SetCallData,
}

/// Why the session ended or could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SessionEndReason {
    /// The transport closed or failed.
    TransportClosed,
    /// The connection attempt failed.
    ConnectFailed,
    /// Heartbeats went unanswered.
    HeartbeatTimeout,
    /// OPEN_REQ was refused with this status.
    OpenRefused {
        /// FAILURE_CONF Status.
        status: StatusCode,
    },
    /// The server is a standby (E_CTI_SERVER_NOT_MASTER): try the other side.
    NotMaster,
    /// Another client opened a session for this agent (E_CTI_NEW_SESSION_OPENED); the phone
    /// does not reconnect by itself.
    Replaced,
    /// The byte stream could not be framed (a length beyond the buffer).
    FramingError,
    /// The server refused a heartbeat or reported failure.
    ServerFailure {
        /// Status code.
        status: StatusCode,
    },
    /// The agent closed the session.
    Closed,
    /// OPEN_REQ got no answer within the request timeout.
    OpenTimedOut,
    /// The server announced that Unified CCX went offline (SYSTEM_EVENT SYS_CCX_OFFLINE): the
    /// phone reconnects, to the other side when there is one (wire-session.md §4.12).
    ServerOffline,
    /// SYSTEM_EVENT reported a CCXStatus other than 0 and CCX_IN_SERVICE: the node cannot
    /// serve CTI, and the phone moves to the next node
    /// (<https://developer.cisco.com/docs/contact-center-express/connect-cti-sessions-in-a-clustered-unified-ccx>).
    ServerOutOfService {
        /// CCXStatus.
        status: CCXStatus,
    },
    /// OPEN_REQ cannot be built from the configuration (a field too long for its tag, or
    /// the frame larger than the transmit queue); the phone does not retry.
    InvalidConfiguration,
}

/// Something the UI should know.
///
/// Every command is answered by exactly one event: [`Event::CommandRefused`] when the phone
/// refused it, or, for a command that sent a request, one of [`Event::RequestSucceeded`],
/// [`Event::RequestFailed`], [`Event::RequestTimedOut`] or [`Event::RequestAborted`] with the
/// [`InvokeId`] that [`Phone::command`] returned (unless the queue overflowed in between,
/// which [`Event::EventsLost`] reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Event {
    /// The session is open (after OPEN_CONF), on server `server`.
    SessionOpened {
        /// Index of the server.
        server: usize,
    },
    /// The session ended; `reconnect_at` says when the phone will try again (`None`: it will
    /// not by itself).
    SessionLost {
        /// Why.
        reason: SessionEndReason,
        /// When the next attempt is due.
        reconnect_at: Option<Instant>,
    },
    /// The agent's state changed.
    AgentStateChanged {
        /// The new state.
        state: AgentState,
        /// Why (EventReasonCode).
        reason: AgentReason,
    },
    /// A call is now tracked.
    CallAdded {
        /// CallID.
        call: u32,
    },
    /// The agent's connection state on a call changed.
    CallStateChanged {
        /// CallID.
        call: u32,
        /// New state.
        state: LocalConnectionState,
    },
    /// A call's data (ECC variables, ANI, DNIS…) changed.
    CallDataChanged {
        /// CallID.
        call: u32,
    },
    /// A call got a new CallID (CALL_DATA_UPDATE re-keying).
    CallRekeyed {
        /// Old CallID.
        old: u32,
        /// New CallID.
        new: u32,
    },
    /// A call is no longer tracked.
    CallRemoved {
        /// CallID.
        call: u32,
    },
    /// An outbound preview reservation awaits the agent's answer.
    PreviewOffered {
        /// The reservation's CallID.
        call: u32,
    },
    /// The preview reservation is answered or gone.
    PreviewEnded {
        /// The reservation's CallID.
        call: u32,
    },
    /// A request was confirmed.
    RequestSucceeded {
        /// Its InvokeID.
        invoke_id: InvokeId,
        /// What it was.
        request: RequestKind,
    },
    /// A request was refused (FAILURE_CONF or CONTROL_FAILURE_CONF).
    RequestFailed {
        /// Its InvokeID.
        invoke_id: InvokeId,
        /// What it was.
        request: RequestKind,
        /// How the server refused it.
        refusal: Refusal,
    },
    /// A request got no answer in time.
    RequestTimedOut {
        /// Its InvokeID.
        invoke_id: InvokeId,
        /// What it was.
        request: RequestKind,
    },
    /// A call could not be tracked: the table is full.
    CallTableFull {
        /// The CallID that did not fit.
        call: u32,
    },
    /// A call's named variables did not all fit its storage.
    VariableStorageFull {
        /// CallID.
        call: u32,
    },
    /// An event named a call the phone does not track; it was ignored.
    UnknownCall {
        /// CallID.
        call: u32,
        /// The event's message type number.
        message_type: u32,
    },
    /// A call the phone tracked before a reconnect is gone from the server's snapshot.
    CallLost {
        /// CallID.
        call: u32,
    },
    /// A frame could not be decoded; it was skipped and the session goes on.
    MalformedMessage {
        /// The decode error, with its offset.
        error: DecodeError,
    },
    /// A message type the phone does not know or does not expect; skipped by length.
    UnexpectedMessage {
        /// Its type number.
        message_type: u32,
    },
    /// The server reported a system event (SYSTEM_EVENT) the UI may show.
    SystemEvent {
        /// SystemEventID.
        id: SystemEventID,
        /// CCXStatus.
        status: CCXStatus,
    },
    /// The agent's instrument went out of service (SYSTEM_EVENT SYS_INSTRUMENT_OUT_OF_SERVICE,
    /// `in_service: false`) or came back (SYS_INSTRUMENT_BACK_IN_SERVICE, `true`).
    InstrumentService {
        /// Whether the instrument is in service now.
        in_service: bool,
    },
    /// Events were dropped because the event queue was full; this many.
    EventsLost {
        /// How many.
        count: u32,
    },
    /// OPEN_CONF granted fewer services than OPEN_REQ asked for.
    ServicesNotGranted {
        /// The requested service bits the server did not grant.
        missing: u32,
    },
    /// A request was waiting for its confirmation when the session ended; it has no outcome.
    RequestAborted {
        /// Its InvokeID.
        invoke_id: InvokeId,
        /// What it was.
        request: RequestKind,
    },
    /// The server sent FAILURE_EVENT (other than E_CTI_NEW_SESSION_OPENED); the session goes on.
    ServerReportedFailure {
        /// Status code.
        status: StatusCode,
    },
    /// The phone refused a command before sending anything ([`Phone::command`] returned the
    /// same error): a command is answered either by this event or, once its request is
    /// settled, by exactly one of [`Event::RequestSucceeded`], [`Event::RequestFailed`],
    /// [`Event::RequestTimedOut`] or [`Event::RequestAborted`] for its InvokeID.
    CommandRefused {
        /// What the agent asked for.
        command: CommandKind,
        /// Why it was refused, as a screen can show it (`Display`).
        why: CommandError,
    },
    /// `poll_transmit` was given a buffer shorter than the next frame: the frame stays queued
    /// (and everything behind it) until a buffer of `needed` bytes comes.
    TransmitBufferTooSmall {
        /// Bytes of the next frame.
        needed: usize,
        /// Bytes of the buffer given.
        capacity: usize,
    },
    /// An internal request (heartbeat, resynchronisation) did not fit the transmit queue or
    /// the pending table and was not sent.
    TransmitQueueFull {
        /// What was not sent.
        request: RequestKind,
    },
}

/// The agent as the phone knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AgentView {
    /// Current state.
    pub state: AgentState,
    /// Why, as the last EventReasonCode gave it.
    pub reason: AgentReason,
    /// When the phone learned of the state.
    pub since: Instant,
}

/// The session as the phone knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SessionView {
    /// State.
    pub state: SessionState,
    /// Index of the server the session is on (or tries).
    pub server: usize,
    /// Protocol version in use.
    pub version: u32,
}

/// A request that waits for its confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PendingRequest {
    /// Its InvokeID.
    pub invoke_id: InvokeId,
    /// What it is.
    pub request: RequestKind,
    /// When it times out ([`Event::RequestTimedOut`]).
    pub deadline: Instant,
    /// For SET_AGENT_STATE_REQ: the state asked for (the view's pending state change).
    pub agent_state: Option<AgentState>,
}

/// The phone without its frame accumulator: the session, the agent, the calls, the requests
/// and the queues. A [`Phone`] dereferences to it, so these are the phone's methods; it is
/// apart so that a frame can be handled while it still lies in the accumulator.
pub struct Engine<
    const CALLS: usize = DEFAULT_CALLS,
    const VAR_BYTES: usize = DEFAULT_VAR_BYTES,
    const PENDING: usize = DEFAULT_PENDING,
    const TX: usize = DEFAULT_TX_BYTES,
    const EVENTS: usize = DEFAULT_EVENTS,
> {
    config: PhoneConfig,
    session: SessionView,
    agent: AgentView,
    calls: heapless::Vec<Call<VAR_BYTES>, CALLS>,
    /// CallID of the reservation awaiting the agent's answer.
    preview: Option<u32>,
    /// CallIDs that CALL_DATA_UPDATE announced as conference calls before the
    /// CALL_CONFERENCED that names them.
    announced: conference::Announced,
    pending: heapless::Vec<PendingRequest, PENDING>,
    tx: TxQueue<TX>,
    events: EventQueue<EVENTS>,
    link: session::Link,
    next_invoke_id: u32,
    /// The latest `now` the adapter gave: when calls began and went on hold.
    clock: Instant,
    /// [`Event::TransmitBufferTooSmall`] was reported for the frame at the queue's front.
    tx_too_small_reported: bool,
}

impl<
        const CALLS: usize,
        const VAR_BYTES: usize,
        const PENDING: usize,
        const TX: usize,
        const EVENTS: usize,
    > Engine<CALLS, VAR_BYTES, PENDING, TX, EVENTS>
{
    fn new(config: PhoneConfig) -> Self {
        let version = u32::from(config.protocol_version);
        Engine {
            config,
            session: SessionView {
                state: SessionState::Disconnected,
                server: 0,
                version,
            },
            agent: AgentView {
                state: AgentState::Logout,
                reason: AgentReason::None,
                since: Instant::ZERO,
            },
            calls: heapless::Vec::new(),
            preview: None,
            announced: conference::Announced::new(),
            pending: heapless::Vec::new(),
            tx: TxQueue::new(),
            events: EventQueue::new(),
            link: session::Link::new(),
            next_invoke_id: 1,
            clock: Instant::ZERO,
            tx_too_small_reported: false,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PhoneConfig {
        &self.config
    }

    /// The next frame to send, written into `buf`. Returns its length.
    ///
    /// A buffer of `TX` bytes ([`DEFAULT_TX_BYTES`] by default) always holds any frame. When
    /// `buf` is too small for the next frame, the frame stays queued and this returns `None`
    /// ([`Self::next_transmit_len`] tells how much room it needs).
    ///
    /// A buffer too small for the next frame would stall the queue for good, so the phone
    /// says so once per frame ([`Event::TransmitBufferTooSmall`]).
    #[must_use = "a frame handed out and not sent is lost"]
    pub fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<usize> {
        let popped = self.tx.pop_frame(buf);
        match (popped, self.tx.front_len()) {
            (None, Some(needed)) if !self.tx_too_small_reported => {
                self.tx_too_small_reported = true;
                self.push_event(Event::TransmitBufferTooSmall {
                    needed,
                    capacity: buf.len(),
                });
            }
            (Some(_), _) => self.tx_too_small_reported = false,
            _ => {}
        }
        popped
    }

    /// [`Self::poll_transmit`], showing `tap` the frame handed out, stamped `now`.
    #[must_use = "a frame handed out and not sent is lost"]
    pub fn poll_transmit_tapped(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        tap: &mut dyn FrameTap,
    ) -> Option<usize> {
        let len = self.poll_transmit(buf)?;
        tap.frame(FrameDirection::Sent, now, buf.get(..len).unwrap_or(&[]));
        Some(len)
    }

    /// Bytes of the next frame `poll_transmit` would hand out, if any: a buffer at least this
    /// long takes it.
    pub fn next_transmit_len(&self) -> Option<usize> {
        self.tx.front_len()
    }

    /// The next event for the UI. After events were dropped for lack of room, the first
    /// call returns [`Event::EventsLost`].
    #[must_use = "an event taken from the queue and dropped is lost"]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop()
    }

    /// The session.
    pub fn session(&self) -> SessionView {
        self.session
    }

    /// The agent.
    pub fn agent(&self) -> AgentView {
        self.agent
    }

    /// The tracked calls.
    pub fn calls(&self) -> impl Iterator<Item = &Call<VAR_BYTES>> {
        self.calls.iter()
    }

    /// The tracked call with `id` (the first one when several calls share the CallID).
    pub fn call(&self, id: u32) -> Option<&Call<VAR_BYTES>> {
        self.calls.iter().find(|c| c.id == id)
    }

    /// The tracked call with `id` whose own connection is `device` (either form of a
    /// `primary.actual` device matches its line).
    pub fn call_at(&self, id: u32, device: &str) -> Option<&Call<VAR_BYTES>> {
        let key = self.line_key(device);
        self.calls.iter().find(|c| {
            c.id == id
                && (c.device_id.as_str() == device
                    || c.own_device.as_str() == device
                    || (key.is_some() && self.line_key(&c.own_device) == key))
        })
    }

    /// The pending preview reservation, if the agent has not answered it yet.
    pub fn preview(&self) -> Option<&Call<VAR_BYTES>> {
        self.preview.and_then(|id| self.call(id))
    }

    /// The requests that wait for their confirmation (heartbeats, OPEN_REQ and CLOSE_REQ are
    /// tracked by the session and not listed).
    pub fn pending_requests(&self) -> impl Iterator<Item = &PendingRequest> {
        self.pending.iter()
    }

    fn push_event(&mut self, event: Event) {
        self.events.push(event);
    }

    fn fresh_invoke_id(&mut self) -> u32 {
        let id = self.next_invoke_id;
        // 0 is never used so that "no request" cannot collide with a real one.
        self.next_invoke_id = match id.wrapping_add(1) {
            0 => 1,
            n => n,
        };
        id
    }
}

impl<
        const CALLS: usize,
        const VAR_BYTES: usize,
        const PENDING: usize,
        const TX: usize,
        const EVENTS: usize,
    > core::fmt::Debug for Engine<CALLS, VAR_BYTES, PENDING, TX, EVENTS>
{
    /// A summary: the session, the agent and the tracked calls (never the configuration's
    /// passwords).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Phone")
            .field("session", &self.session())
            .field("agent", &self.agent())
            .field(
                "calls",
                &self
                    .calls()
                    .map(|c| c.id)
                    .collect::<heapless::Vec<u32, CALLS>>(),
            )
            .field("preview", &self.preview().map(|c| c.id))
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "defmt")]
impl<
        const CALLS: usize,
        const VAR_BYTES: usize,
        const PENDING: usize,
        const TX: usize,
        const EVENTS: usize,
    > defmt::Format for Engine<CALLS, VAR_BYTES, PENDING, TX, EVENTS>
{
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(
            f,
            "Phone {{ session: {}, agent: {}, calls: {}, preview: {} }}",
            self.session(),
            self.agent(),
            self.calls().count(),
            self.preview().map(|c| c.id)
        )
    }
}
