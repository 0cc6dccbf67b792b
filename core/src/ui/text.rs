//! Plain words for the agent: state names, timers, refusals and session changes, written into
//! fixed-size strings that cut the text instead of failing.

use core::fmt::{self, Write};

use crate::phone::{CommandError, Duration, Refusal, RequestKind, SessionEndReason};
use crate::wire::{AgentState, LocalConnectionState as Lcs, StatusCode};

/// A `fmt::Write` into a `heapless::String` that keeps what fits and drops the rest (a screen
/// line is cut, never an error).
pub(super) struct Cut<'s, const N: usize>(pub(super) &'s mut heapless::String<N>);

impl<const N: usize> Write for Cut<'_, N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if self.0.push(c).is_err() {
                break;
            }
        }
        Ok(())
    }
}

/// `text` formatted into a fresh string of `N` bytes, cut to fit.
pub(super) fn line<const N: usize>(args: fmt::Arguments<'_>) -> heapless::String<N> {
    let mut s = heapless::String::new();
    let _ = Cut(&mut s).write_fmt(args);
    s
}

/// A duration as `m:ss`, or `h:mm:ss` from an hour on.
pub(super) struct Timer(pub(super) Duration);

impl fmt::Display for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        if h > 0 {
            write!(f, "{h}:{m:02}:{s:02}")
        } else {
            write!(f, "{m}:{s:02}")
        }
    }
}

/// The agent state as Finesse words.
pub(super) fn agent_state(state: AgentState) -> &'static str {
    match state {
        AgentState::Login => "Logging in",
        AgentState::Logout => "Logged out",
        AgentState::NotReady => "Not Ready",
        AgentState::Available => "Ready",
        AgentState::Talking => "Talking",
        AgentState::WorkNotReady => "Wrap-up",
        AgentState::WorkReady => "Wrap-up, then Ready",
        AgentState::BusyOther => "Busy elsewhere",
        AgentState::Reserved => "Reserved",
        AgentState::Hold => "On hold",
        AgentState::Active => "Active",
        AgentState::Paused => "Paused",
        AgentState::Interrupted => "Interrupted",
        AgentState::NotActive => "Not active",
        AgentState::Unknown9 | AgentState::Unknown(_) => "Unknown state",
    }
}

/// The agent's own connection on a call, in words.
pub(super) fn call_state(state: Lcs) -> &'static str {
    match state {
        Lcs::Alerting => "Ringing",
        Lcs::Connect => "Talking",
        Lcs::Hold => "On hold",
        Lcs::Initiate => "Dialing",
        Lcs::Queued => "Queued",
        Lcs::Fail => "Failed",
        Lcs::Null | Lcs::None | Lcs::Unknown(_) => "Ended",
    }
}

/// The server's side as a letter (A, B).
pub(super) fn side(index: usize) -> char {
    match index {
        0 => 'A',
        1 => 'B',
        _ => '?',
    }
}

/// A refusal before anything was sent, in plain words.
pub(super) fn refusal(error: CommandError) -> &'static str {
    match error {
        CommandError::NotConnected => "not connected to the server",
        CommandError::NoSuchCall => "no call for that",
        CommandError::NoPreview => "no contact is offered",
        CommandError::InvalidState => "not possible in this state",
        CommandError::TooManyPending => "busy: waiting for the server",
        CommandError::TransmitQueueFull => "busy: try again",
        CommandError::ArgumentTooLong => "too long",
        CommandError::InvalidArgument => "not a valid entry",
    }
}

/// What a request did, for "the server refused …".
pub(super) fn request(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Open => "signing on",
        RequestKind::Heartbeat => "the keep-alive",
        RequestKind::Close => "signing off",
        RequestKind::SetAgentState => "the state change",
        RequestKind::QueryAgentState | RequestKind::SnapshotDevice => "the refresh",
        RequestKind::Answer => "answer",
        RequestKind::Release => "hang up",
        RequestKind::Hold => "hold",
        RequestKind::Retrieve => "retrieve",
        RequestKind::Dial => "the call",
        RequestKind::Consult => "the consult call",
        RequestKind::Transfer => "transfer",
        RequestKind::Conference => "conference",
        RequestKind::Dtmf => "the tones",
        RequestKind::SetCallData => "the call data",
    }
}

/// A refusal in words where the agent can act on it.
pub(super) fn refusal_words(refusal: Refusal) -> &'static str {
    match refusal {
        Refusal::Status(StatusCode::InvalidPassword) => "wrong password",
        _ => "",
    }
}

/// Why a session ended, in plain words.
pub(super) fn session_end(reason: SessionEndReason) -> &'static str {
    match reason {
        SessionEndReason::TransportClosed => "connection lost",
        SessionEndReason::ConnectFailed => "server unreachable",
        SessionEndReason::HeartbeatTimeout => "server stopped answering",
        SessionEndReason::OpenRefused { .. } => "server refused the phone",
        SessionEndReason::NotMaster => "server is on standby",
        SessionEndReason::Replaced => "signed on elsewhere",
        SessionEndReason::FramingError => "garbled data from the server",
        SessionEndReason::ServerFailure { .. } => "server reported a failure",
        SessionEndReason::Closed => "signed off",
        SessionEndReason::OpenTimedOut => "server did not answer",
        SessionEndReason::ServerOffline => "contact center went offline",
        SessionEndReason::ServerOutOfService { .. } => "server out of service",
        SessionEndReason::InvalidConfiguration => "phone settings are wrong",
    }
}
