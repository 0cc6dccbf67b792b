//! The bounded event queue and the English text of events.

use core::fmt;

use super::{Event, RequestKind, SessionEndReason};
use crate::wire::{message_name, message_plan, LocalConnectionState, MessageType, StatusCode};

/// Events waiting for `poll_event`. When full, the oldest event is dropped and counted, so
/// that the UI learns of the loss ([`Event::EventsLost`]) instead of missing it silently.
pub(super) struct EventQueue<const N: usize> {
    queue: heapless::Deque<Event, N>,
    lost: u32,
}

impl<const N: usize> EventQueue<N> {
    pub(super) const fn new() -> Self {
        EventQueue {
            queue: heapless::Deque::new(),
            lost: 0,
        }
    }

    pub(super) fn push(&mut self, event: Event) {
        if self.queue.is_full() {
            let _ = self.queue.pop_front();
            self.lost = self.lost.saturating_add(1);
        }
        if self.queue.push_back(event).is_err() {
            // Only a zero-capacity queue gets here.
            self.lost = self.lost.saturating_add(1);
        }
    }

    pub(super) fn pop(&mut self) -> Option<Event> {
        if self.lost > 0 {
            let count = self.lost;
            self.lost = 0;
            return Some(Event::EventsLost { count });
        }
        self.queue.pop_front()
    }
}

impl RequestKind {
    /// The request's message type.
    pub const fn message_type(self) -> MessageType {
        match self {
            RequestKind::Open => MessageType::OpenReq,
            RequestKind::Heartbeat => MessageType::HeartbeatReq,
            RequestKind::Close => MessageType::CloseReq,
            RequestKind::SetAgentState => MessageType::SetAgentStateReq,
            RequestKind::QueryAgentState => MessageType::QueryAgentStateReq,
            RequestKind::SnapshotDevice => MessageType::SnapshotDeviceReq,
            RequestKind::Answer => MessageType::AnswerCallReq,
            RequestKind::Release => MessageType::ClearConnectionReq,
            RequestKind::Hold => MessageType::HoldCallReq,
            RequestKind::Retrieve => MessageType::RetrieveCallReq,
            RequestKind::Dial => MessageType::MakeCallReq,
            RequestKind::Consult => MessageType::ConsultationCallReq,
            RequestKind::Transfer => MessageType::TransferCallReq,
            RequestKind::Conference => MessageType::ConferenceCallReq,
            RequestKind::Dtmf => MessageType::SendDtmfSignalReq,
            RequestKind::SetCallData => MessageType::SetCallDataReq,
        }
    }
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match message_name(self.message_type().id()) {
            Some(name) => f.write_str(name),
            None => write!(f, "message {}", self.message_type().id()),
        }
    }
}

/// A status code as `N (NAME)`, or `N` when the table does not name it.
struct Status(u32);

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match StatusCode::from_value(self.0).name() {
            Some(name) => write!(f, "{} ({name})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

impl fmt::Display for SessionEndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SessionEndReason::TransportClosed => f.write_str("the connection closed"),
            SessionEndReason::ConnectFailed => f.write_str("the connection attempt failed"),
            SessionEndReason::HeartbeatTimeout => f.write_str("heartbeats unanswered"),
            SessionEndReason::OpenRefused { status } => {
                write!(f, "OPEN_REQ refused with status {}", Status(status.value()))
            }
            SessionEndReason::NotMaster => {
                f.write_str("the server is not the master (E_CTI_SERVER_NOT_MASTER)")
            }
            SessionEndReason::Replaced => f.write_str(
                "the session was replaced: another session opened for this agent \
                 (E_CTI_NEW_SESSION_OPENED)",
            ),
            SessionEndReason::FramingError => {
                f.write_str("framing error: the byte stream could not be framed")
            }
            SessionEndReason::ServerFailure { status } => {
                write!(
                    f,
                    "the server reported failure status {}",
                    Status(status.value())
                )
            }
            SessionEndReason::Closed => f.write_str("closed by the agent"),
            SessionEndReason::OpenTimedOut => f.write_str("OPEN_REQ got no answer"),
            SessionEndReason::ServerOffline => {
                f.write_str("the server reported Unified CCX offline (SYS_CCX_OFFLINE)")
            }
            SessionEndReason::ServerOutOfService { status } => write!(
                f,
                "the server reported CCX status 0x{:X}: out of service, trying the next node",
                status.value()
            ),
            SessionEndReason::InvalidConfiguration => {
                f.write_str("the configuration does not fit OPEN_REQ")
            }
        }
    }
}

/// A message by name, or by number where the table has no name for it (or none at all,
/// without the `names` feature).
struct MessageLabel(u32);

impl fmt::Display for MessageLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match message_name(self.0) {
            Some(name) => f.write_str(name),
            None if cfg!(feature = "names") => f.write_str("unknown message"),
            None => write!(f, "message {}", self.0),
        }
    }
}

/// A connection state by name, or by number without a name.
struct LcsName(LocalConnectionState);

impl fmt::Display for LcsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.name() {
            Some(name) => f.write_str(name),
            None if cfg!(feature = "names") => f.write_str("unknown state"),
            None => write!(f, "state {}", self.0.value()),
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Event::SessionOpened { server } => write!(f, "session open on server {server}"),
            Event::SessionLost {
                reason,
                reconnect_at,
            } => {
                write!(f, "session lost: {reason}")?;
                match reconnect_at {
                    Some(at) => write!(f, "; next attempt at {} ms", at.as_millis()),
                    None => f.write_str("; not reconnecting"),
                }
            }
            Event::AgentStateChanged { state, reason } => {
                write!(f, "agent state {state} ({reason})")
            }
            Event::CallAdded { call } => write!(f, "call {call} added"),
            Event::CallStateChanged { call, state } => {
                write!(f, "call {call} is now {}", LcsName(state))
            }
            Event::CallDataChanged { call } => write!(f, "call {call} data changed"),
            Event::CallRekeyed { old, new } => write!(f, "call {old} is now call {new}"),
            Event::CallRemoved { call } => write!(f, "call {call} removed"),
            Event::PreviewOffered { call } => {
                write!(f, "preview reservation offered on call {call}")
            }
            Event::PreviewEnded { call } => write!(f, "preview reservation on call {call} ended"),
            Event::RequestSucceeded { invoke_id, request } => {
                write!(f, "request {invoke_id} ({request}) succeeded")
            }
            Event::RequestFailed {
                invoke_id,
                request,
                refusal,
            } => {
                write!(
                    f,
                    "request {invoke_id} ({request}) failed: status {}, peripheral error {}",
                    refusal.code(),
                    refusal.peripheral_error_code()
                )?;
                match (refusal.code_name(), refusal.peripheral_error_name()) {
                    (Some(s), Some(p)) => write!(f, " ({s}, {p})"),
                    (Some(s), None) => write!(f, " ({s})"),
                    (None, Some(p)) => write!(f, " ({p})"),
                    (None, None) => Ok(()),
                }
            }
            Event::RequestTimedOut { invoke_id, request } => {
                write!(f, "request {invoke_id} ({request}) timed out")
            }
            Event::RequestAborted { invoke_id, request } => {
                write!(
                    f,
                    "request {invoke_id} ({request}) abandoned: the session ended"
                )
            }
            Event::CallTableFull { call } => write!(f, "call table full: call {call} not tracked"),
            Event::VariableStorageFull { call } => write!(
                f,
                "variable storage full: call {call} keeps only the variables that fit"
            ),
            Event::UnknownCall { call, message_type } => {
                write!(
                    f,
                    "unknown call {call}: {} ignored",
                    MessageLabel(message_type)
                )
            }
            Event::CallLost { call } => {
                write!(f, "call {call} lost: the server no longer reports it")
            }
            Event::MalformedMessage { error } => write!(f, "malformed message: {error}"),
            Event::UnexpectedMessage { message_type } => match message_name(message_type) {
                Some(name) => write!(f, "unexpected message {name} ({message_type}) skipped"),
                None if cfg!(feature = "names") || message_plan(message_type).is_none() => {
                    write!(f, "unknown message type {message_type} skipped")
                }
                None => write!(f, "unexpected message type {message_type} skipped"),
            },
            Event::SystemEvent { id, status } => {
                match id.name() {
                    Some(name) => write!(f, "system event {name}")?,
                    None => write!(f, "system event {}", id.value())?,
                }
                write!(f, " (CCX status 0x{:X})", status.value())
            }
            Event::InstrumentService { in_service: false } => {
                f.write_str("the agent's instrument is out of service")
            }
            Event::InstrumentService { in_service: true } => {
                f.write_str("the agent's instrument is back in service")
            }
            Event::EventsLost { count } => {
                write!(f, "{count} events lost: the event queue was full")
            }
            Event::ServicesNotGranted { missing } => {
                write!(
                    f,
                    "services not granted: 0x{missing:X} requested but refused"
                )
            }
            Event::ServerReportedFailure { status } => {
                write!(f, "the server reported failure: status {}", Status(status.value()))
            }
            Event::TransmitBufferTooSmall { needed, capacity } => write!(
                f,
                "transmit buffer too small: the next frame needs {needed} bytes, the buffer has {capacity}; sending stalls"
            ),
            Event::CommandRefused { command, why } => {
                write!(f, "command {} refused: {why}", command.name())
            }
            Event::TransmitQueueFull { request } => {
                write!(f, "transmit queue full: {request} not sent")
            }
        }
    }
}
