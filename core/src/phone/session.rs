//! The session: connect, OPEN_REQ / OPEN_CONF, heartbeats, idle detection, close, failures
//! and side A/B failover with back-off (wire-session.md §4.12).

use super::backoff::reconnect_wait_ms;
use super::{
    AgentReason, Duration, Engine, Event, Instant, Refusal, RequestKind, SessionEndReason,
    SessionState, TransportAction,
};
use crate::config::{HeartbeatMode, ShortText};
use crate::wire::{
    decode, fields, spec::Direction, tag, AgentState, CCXStatus, ControlFailureCode, Message,
    MessageType, PeripheralErrorCode, StatusCode, SystemEventID,
};

/// Wait before retrying on the other side after E_CTI_SERVER_NOT_MASTER: the standby said
/// where the master is not, so there is no reason for the long back-off.
pub const NOT_MASTER_RETRY: Duration = Duration::from_secs(1);

/// Shortest wait before retrying after a refused OPEN_REQ ("wait at least 10 s",
/// wire-session.md §4.12).
pub const OPEN_REFUSED_MIN_WAIT: Duration = Duration::from_secs(10);

/// Heartbeat InvokeIDs remembered to recognise a FAILURE_CONF to a heartbeat.
const TRACKED_HEARTBEATS: usize = 4;

/// Where the next attempt goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Same,
    Other,
}

/// What happens after the session is lost.
#[derive(Clone, Copy)]
pub(super) enum Retry {
    /// Only a new `Command::Login` or `Phone::reconnect` starts again.
    Never,
    /// Try again after the delay.
    After(Duration, Side),
    /// Try again after `reconnect_secs` the first time, longer after each failure in a row
    /// ([`super::backoff::reconnect_wait`]).
    Backoff(Side),
}

/// Transport and session bookkeeping that the public views do not show.
pub(super) struct Link {
    /// When to ask for a connection (while disconnected); `None`: not by itself.
    pub(super) reconnect_at: Option<Instant>,
    /// A `Disconnect` action waits for `poll_transport`.
    pub(super) disconnect_pending: bool,
    /// `Disconnect` was handed out; the adapter's `disconnected` call is expected.
    pub(super) awaiting_disconnected: bool,
    /// Deadline of the current step (connect, OPEN_CONF, CLOSE_CONF).
    pub(super) deadline: Instant,
    pub(super) last_sent: Instant,
    /// When the last HEARTBEAT_REQ went out (or the session started).
    pub(super) last_heartbeat: Instant,
    /// The server said the agent's instrument is out of service (SYSTEM_EVENT).
    pub(super) instrument_out_of_service: bool,
    pub(super) last_received: Instant,
    pub(super) close_invoke_id: u32,
    pub(super) heartbeat_ids: heapless::Deque<u32, TRACKED_HEARTBEATS>,
    pub(super) unanswered_heartbeats: u8,
    /// A login the agent asked for while the session was down: (InvokeID, password).
    pub(super) login_after_open: Option<(u32, ShortText)>,
    /// A new transport is up: the adapter's accumulator may still hold part of a frame of
    /// the old one, so the next `handle_bytes` starts it afresh.
    pub(super) fresh_stream: bool,
    /// Sessions lost in a row since the last one opened (the back-off's attempt number).
    pub(super) failures: u32,
    /// Why the last session ended (the view's "why" of the next attempt).
    pub(super) last_end: Option<SessionEndReason>,
}

impl Link {
    pub(super) const fn new() -> Self {
        Link {
            reconnect_at: Some(Instant::ZERO),
            disconnect_pending: false,
            awaiting_disconnected: false,
            deadline: Instant::ZERO,
            last_sent: Instant::ZERO,
            last_heartbeat: Instant::ZERO,
            instrument_out_of_service: false,
            last_received: Instant::ZERO,
            close_invoke_id: 0,
            heartbeat_ids: heapless::Deque::new(),
            unanswered_heartbeats: 0,
            login_after_open: None,
            fresh_stream: false,
            failures: 0,
            last_end: None,
        }
    }
}

fn secs(s: u16) -> Duration {
    Duration::from_secs(u64::from(s))
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

impl<
        const CALLS: usize,
        const VAR_BYTES: usize,
        const PENDING: usize,
        const TX: usize,
        const EVENTS: usize,
    > Engine<CALLS, VAR_BYTES, PENDING, TX, EVENTS>
{
    /// What the adapter should do with the transport now, if anything, without taking it:
    /// the same answer as [`Self::poll_transport`] would give, with no change of state.
    #[must_use]
    pub fn peek_transport(&self, now: Instant) -> Option<TransportAction> {
        if self.link.disconnect_pending {
            return Some(TransportAction::Disconnect);
        }
        if self.session.state != SessionState::Disconnected {
            return None;
        }
        let at = self.link.reconnect_at?;
        if now < at {
            return None;
        }
        let server = if self.session.server >= self.config.servers.len() {
            0
        } else {
            self.session.server
        };
        Some(TransportAction::Connect { server })
    }

    /// What the adapter should do with the transport now, if anything. This takes the
    /// action: the phone counts a `Connect` as under way (state `Connecting`, connect
    /// deadline set) and a `Disconnect` as asked for, so the adapter must carry it out.
    /// [`Self::peek_transport`] tells without changing anything.
    #[must_use = "the phone now waits for the connect or disconnect it asked for"]
    pub fn poll_transport(&mut self, now: Instant) -> Option<TransportAction> {
        if self.link.disconnect_pending {
            self.link.disconnect_pending = false;
            self.link.awaiting_disconnected = true;
            return Some(TransportAction::Disconnect);
        }
        if self.session.state != SessionState::Disconnected {
            return None;
        }
        let at = self.link.reconnect_at?;
        if now < at {
            return None;
        }
        self.link.reconnect_at = None;
        // A `disconnected` call for the old transport cannot come after a new connect.
        self.link.awaiting_disconnected = false;
        if self.session.server >= self.config.servers.len() {
            self.session.server = 0;
        }
        self.session.state = SessionState::Connecting;
        self.link.deadline = now + secs(self.config.connect_timeout_secs.max(1));
        Some(TransportAction::Connect {
            server: self.session.server,
        })
    }

    /// The transport to `config.servers[server]` is connected: the phone queues OPEN_REQ.
    pub fn connected(&mut self, now: Instant) {
        if self.session.state != SessionState::Connecting {
            return;
        }
        self.session.state = SessionState::Opening;
        self.link.fresh_stream = true;
        self.session.version = u32::from(self.config.protocol_version);
        self.link.last_received = now;
        self.link.last_heartbeat = now;
        self.link.instrument_out_of_service = false;
        self.link.heartbeat_ids.clear();
        self.link.unanswered_heartbeats = 0;
        self.tx.clear();
        let invoke_id = self.fresh_invoke_id();
        self.link.deadline = now + self.request_timeout();
        if self.queue_open_req(now, invoke_id).is_err() {
            self.lose_session(
                now,
                SessionEndReason::InvalidConfiguration,
                Retry::Never,
                true,
            );
        }
    }

    /// The connection attempt failed.
    pub fn connect_failed(&mut self, now: Instant) {
        if self.session.state == SessionState::Connecting {
            let retry = Retry::Backoff(Side::Other);
            self.lose_session(now, SessionEndReason::ConnectFailed, retry, false);
        }
    }

    /// The transport closed (by either side, or after a `Disconnect` action).
    pub fn disconnected(&mut self, now: Instant) {
        if self.link.disconnect_pending || self.link.awaiting_disconnected {
            // The phone asked for this close and has already reported why.
            self.link.disconnect_pending = false;
            self.link.awaiting_disconnected = false;
            return;
        }
        let retry = Retry::Backoff(Side::Other);
        match self.session.state {
            SessionState::Disconnected => {}
            SessionState::Connecting => {
                self.lose_session(now, SessionEndReason::ConnectFailed, retry, false)
            }
            SessionState::Closing => {
                self.lose_session(now, SessionEndReason::Closed, Retry::Never, false)
            }
            SessionState::Opening | SessionState::Open => {
                self.lose_session(now, SessionEndReason::TransportClosed, retry, false)
            }
        }
    }

    /// Connect again now after the phone stopped by itself (the session was replaced or
    /// closed) or cut a back-off short. No effect while a session is up or being set up.
    pub fn reconnect(&mut self, now: Instant) {
        if self.session.state == SessionState::Disconnected {
            self.link.reconnect_at = Some(now);
        }
    }

    /// When `handle_timeout` must be called next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let session = match self.session.state {
            SessionState::Disconnected => self.link.reconnect_at,
            SessionState::Connecting | SessionState::Opening | SessionState::Closing => {
                Some(self.link.deadline)
            }
            SessionState::Open => earliest(self.heartbeat_due(), self.idle_deadline()),
        };
        let requests = self.pending.iter().map(|p| p.deadline).min();
        earliest(session, requests)
    }

    /// Time passed: fire the timers that are due.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.clock = self.clock.max(now);
        self.expire_requests(now);
        let retry = Retry::Backoff(Side::Other);
        match self.session.state {
            SessionState::Disconnected => {}
            SessionState::Connecting if now >= self.link.deadline => {
                self.lose_session(now, SessionEndReason::ConnectFailed, retry, true)
            }
            SessionState::Opening if now >= self.link.deadline => {
                self.lose_session(now, SessionEndReason::OpenTimedOut, retry, true)
            }
            SessionState::Closing if now >= self.link.deadline => {
                self.lose_session(now, SessionEndReason::Closed, Retry::Never, true)
            }
            SessionState::Open => self.session_timers(now),
            _ => {}
        }
    }

    fn heartbeat_due(&self) -> Option<Instant> {
        let since = match self.config.heartbeat_mode {
            HeartbeatMode::Always => self.link.last_heartbeat,
            HeartbeatMode::WhenIdle => self.link.last_sent,
        };
        (self.config.heartbeat_secs > 0).then(|| since + secs(self.config.heartbeat_secs))
    }

    fn idle_deadline(&self) -> Option<Instant> {
        (self.config.idle_timeout_secs > 0)
            .then(|| self.link.last_received + secs(self.config.idle_timeout_secs))
    }

    fn session_timers(&mut self, now: Instant) {
        let retry = Retry::Backoff(Side::Other);
        if self.idle_deadline().is_some_and(|t| now >= t) {
            self.lose_session(now, SessionEndReason::HeartbeatTimeout, retry, true);
            return;
        }
        if self.heartbeat_due().is_none_or(|t| now < t) {
            return;
        }
        if self.link.unanswered_heartbeats >= self.config.missed_heartbeats.max(1) {
            self.lose_session(now, SessionEndReason::HeartbeatTimeout, retry, true);
            return;
        }
        let invoke_id = self.fresh_invoke_id();
        let sent = self.queue_frame(now, MessageType::HeartbeatReq, invoke_id, &|_, _| {});
        if sent.is_err() {
            self.push_event(Event::TransmitQueueFull {
                request: RequestKind::Heartbeat,
            });
        }
        // A heartbeat that could not even be queued is as unanswered as a lost one; the
        // next attempt comes one interval later either way.
        self.link.last_sent = now;
        self.link.last_heartbeat = now;
        self.link.unanswered_heartbeats = self.link.unanswered_heartbeats.saturating_add(1);
        if self.link.heartbeat_ids.is_full() {
            let _ = self.link.heartbeat_ids.pop_front();
        }
        let _ = self.link.heartbeat_ids.push_back(invoke_id);
    }

    pub(super) fn link_is_up(&self) -> bool {
        matches!(
            self.session.state,
            SessionState::Opening | SessionState::Open | SessionState::Closing
        )
    }

    /// Whether the phone has stopped and waits for the agent (replaced or closed).
    pub(super) fn is_halted(&self) -> bool {
        self.session.state == SessionState::Disconnected && self.link.reconnect_at.is_none()
    }

    pub(super) fn request_timeout(&self) -> Duration {
        secs(self.config.request_timeout_secs.max(1))
    }

    fn other_server(&self) -> usize {
        if self.config.servers.len() >= 2 {
            usize::from(self.session.server == 0)
        } else {
            0
        }
    }

    /// End the session: report why, drop what belonged to it, plan the next attempt.
    pub(super) fn lose_session(
        &mut self,
        now: Instant,
        reason: SessionEndReason,
        retry: Retry,
        close_transport: bool,
    ) {
        self.session.state = SessionState::Disconnected;
        if close_transport {
            self.link.disconnect_pending = true;
        }
        self.tx.clear();
        self.link.heartbeat_ids.clear();
        self.link.unanswered_heartbeats = 0;
        self.announced.clear();
        self.link.failures = self.link.failures.saturating_add(1);
        self.link.last_end = Some(reason);
        // The next attempt in milliseconds since the origin: see `reconnect_wait_ms`.
        let (at_ms, side) = match retry {
            Retry::Never => (None, Side::Same),
            Retry::After(delay, side) => (Some(now.saturating_add(delay).as_millis()), side),
            Retry::Backoff(side) => {
                let base_ms = u64::from(self.config.reconnect_secs) * 1000;
                let (failures, seed) = (self.link.failures, self.config.reconnect_seed);
                let wait_ms = reconnect_wait_ms(base_ms, failures, seed);
                (Some(now.as_millis().saturating_add(wait_ms)), side)
            }
        };
        if at_ms.is_some() && side == Side::Other {
            self.session.server = self.other_server();
        }
        let reconnect_at = at_ms.map(Instant::from_millis);
        self.link.reconnect_at = reconnect_at;
        self.push_event(Event::SessionLost {
            reason,
            reconnect_at,
        });
        self.abort_requests();
        // The calls may still exist; the next session's snapshot decides.
        for call in self.calls.iter_mut() {
            call.stale = true;
        }
    }

    pub(super) fn framing_error(&mut self, now: Instant) {
        let retry = Retry::Backoff(Side::Same);
        self.lose_session(now, SessionEndReason::FramingError, retry, true);
    }

    fn queue_open_req(&mut self, now: Instant, invoke_id: u32) -> Result<(), super::CommandError> {
        use fields::open_req as f;
        self.queue_frame(now, MessageType::OpenReq, invoke_id, &|p, enc| {
            let c = &p.config;
            enc.set(f::VERSION_NUMBER, u32::from(c.protocol_version))
                .set(f::IDLE_TIMEOUT, u32::from(c.idle_timeout_secs))
                .set(f::SERVICES_REQUESTED, c.services_requested)
                .set(f::CALL_MSG_MASK, c.call_msg_mask)
                .set(f::AGENT_STATE_MASK, c.agent_state_mask)
                .set(f::CONFIG_MSG_MASK, 0)
                .string(tag::CLIENT_ID, &c.client_id)
                .bytes(tag::CLIENT_PASSWORD, c.client_password.as_bytes());
            p.agent_fields(enc);
        })
    }

    /// One whole frame (header included) arrived from the server. Frames that arrive while
    /// no transport is up are dropped.
    pub fn handle_frame(&mut self, now: Instant, frame: &[u8]) {
        self.clock = self.clock.max(now);
        if !self.link_is_up() {
            return;
        }
        self.link.last_received = now;
        let msg = match decode(frame, self.config.wire_version()) {
            Ok(msg) => msg,
            Err(error) => {
                self.push_event(Event::MalformedMessage { error });
                return;
            }
        };
        match msg.message_type() {
            MessageType::OpenConf => self.on_open_conf(now, &msg),
            MessageType::HeartbeatConf => {
                self.link.unanswered_heartbeats = 0;
                self.link.heartbeat_ids.clear();
            }
            MessageType::CloseConf if self.session.state == SessionState::Closing => {
                self.lose_session(now, SessionEndReason::Closed, Retry::Never, true)
            }
            MessageType::FailureConf => self.on_failure_conf(now, &msg),
            MessageType::FailureEvent => {
                let status = msg
                    .get(fields::failure_event::STATUS)
                    .unwrap_or(StatusCode::Unknown(0));
                // E_CTI_NEW_SESSION_OPENED: another client took over this agent's session.
                if status == StatusCode::NewSessionOpened {
                    self.lose_session(now, SessionEndReason::Replaced, Retry::Never, true);
                } else {
                    self.push_event(Event::ServerReportedFailure { status });
                }
            }
            MessageType::ControlFailureConf => {
                use fields::control_failure_conf as f;
                let invoke_id = msg.get(f::INVOKE_ID).unwrap_or(0);
                let failure = msg
                    .get(f::FAILURE_CODE)
                    .unwrap_or(ControlFailureCode::from_value(0));
                let peripheral_error = msg
                    .get(f::PERIPHERAL_ERROR_CODE)
                    .unwrap_or(PeripheralErrorCode::from_value(0));
                let refusal = Refusal::Control {
                    failure,
                    peripheral_error,
                };
                self.fail_request(invoke_id, refusal);
            }
            MessageType::SystemEvent => self.on_system_event(now, &msg),
            MessageType::AgentStateEvent => self.on_agent_state_event(now, &msg),
            _ => {
                if self.on_call_event(&msg) {
                    return;
                }
                let is_confirmation =
                    msg.invoke_id().is_some() && msg.direction() == Some(Direction::ToClient);
                if is_confirmation {
                    self.on_confirmation(now, &msg);
                } else {
                    self.push_event(Event::UnexpectedMessage {
                        message_type: msg.message_type().id(),
                    });
                }
            }
        }
    }

    /// SYSTEM_EVENT (<https://developer.cisco.com/docs/contact-center-express/system_event>):
    /// any CCXStatus other than 0 and CCX_IN_SERVICE means the node cannot serve CTI, and the
    /// clustered-connect procedure
    /// (<https://developer.cisco.com/docs/contact-center-express/connect-cti-sessions-in-a-clustered-unified-ccx>)
    /// closes the session and tries the next node; so does SYS_CCX_OFFLINE. The agent's
    /// instrument going out of (or back into) service is reported and shown. The values:
    /// <https://developer.cisco.com/docs/contact-center-express/unified-ccx-status-values>,
    /// <https://developer.cisco.com/docs/contact-center-express/systemeventid-values>.
    fn on_system_event(&mut self, now: Instant, msg: &Message<'_>) {
        use fields::system_event as f;
        let id = msg
            .get(f::SYSTEM_EVENT_ID)
            .unwrap_or(SystemEventID::Unknown(0));
        let ccx_status = msg.get(f::CCX_STATUS).unwrap_or(CCXStatus::from_value(0));
        self.push_event(Event::SystemEvent {
            id,
            status: ccx_status,
        });
        // Typed comparisons: the same tests as on the numbers, without the enumeration's
        // value() tables.
        match id {
            SystemEventID::InstrumentOutOfService => {
                self.link.instrument_out_of_service = true;
                self.push_event(Event::InstrumentService { in_service: false });
            }
            SystemEventID::InstrumentBackInService => {
                self.link.instrument_out_of_service = false;
                self.push_event(Event::InstrumentService { in_service: true });
            }
            _ => {}
        }
        let retry = Retry::Backoff(Side::Other);
        if id == SystemEventID::CcxOffline {
            self.lose_session(now, SessionEndReason::ServerOffline, retry, true);
        } else if ccx_status != CCXStatus::from_value(0) && ccx_status != CCXStatus::InService {
            self.lose_session(
                now,
                SessionEndReason::ServerOutOfService { status: ccx_status },
                retry,
                true,
            );
        }
    }

    /// Whether the agent's instrument is in service as far as the server has said
    /// (SYSTEM_EVENT SYS_INSTRUMENT_OUT_OF_SERVICE / _BACK_IN_SERVICE); a new session starts
    /// with "in service".
    pub fn instrument_in_service(&self) -> bool {
        !self.link.instrument_out_of_service
    }

    fn on_open_conf(&mut self, now: Instant, msg: &Message<'_>) {
        use fields::open_conf as f;
        // OPEN_REQ is the only request of a session being opened, so the InvokeID is not
        // checked: a server that echoes a wrong one still opens the session.
        if self.session.state != SessionState::Opening {
            self.push_event(Event::UnexpectedMessage {
                message_type: msg.message_type().id(),
            });
            return;
        }
        self.session.state = SessionState::Open;
        self.link.failures = 0;
        self.push_event(Event::SessionOpened {
            server: self.session.server,
        });
        let granted = msg.get(f::SERVICES_GRANTED).unwrap_or(0);
        let missing = self.config.services_requested & !granted;
        if missing != 0 {
            self.push_event(Event::ServicesNotGranted { missing });
        }
        if let Some(state) = msg.get(f::AGENT_STATE) {
            self.update_agent(now, state, self.agent.reason);
        }
        self.resynchronise(now);
        if let Some((invoke_id, password)) = self.link.login_after_open.take() {
            self.login_after_open(now, invoke_id, &password);
        }
    }

    fn on_failure_conf(&mut self, now: Instant, msg: &Message<'_>) {
        use fields::failure_conf as f;
        let invoke_id = msg.get(f::INVOKE_ID).unwrap_or(0);
        let status = msg.get(f::STATUS).unwrap_or(StatusCode::from_value(0));
        // E_CTI_NEW_SESSION_OPENED: another client took over this agent's session.
        if status == StatusCode::NewSessionOpened {
            self.lose_session(now, SessionEndReason::Replaced, Retry::Never, true);
            return;
        }
        // While opening, OPEN_REQ is the only request a FAILURE_CONF can answer.
        if self.session.state == SessionState::Opening {
            let long_wait = secs(self.config.reconnect_secs).max(OPEN_REFUSED_MIN_WAIT);
            // E_CTI_SERVER_NOT_MASTER: a standby node answered OPEN_REQ.
            if status == StatusCode::ServerNotMaster {
                let retry = if self.config.servers.len() >= 2 {
                    Retry::After(NOT_MASTER_RETRY, Side::Other)
                } else {
                    Retry::After(long_wait, Side::Same)
                };
                self.lose_session(now, SessionEndReason::NotMaster, retry, true);
            } else {
                let retry = Retry::After(long_wait, Side::Other);
                self.lose_session(now, SessionEndReason::OpenRefused { status }, retry, true);
            }
            return;
        }
        if self.link.heartbeat_ids.iter().any(|id| *id == invoke_id) {
            let retry = Retry::Backoff(Side::Other);
            self.lose_session(now, SessionEndReason::ServerFailure { status }, retry, true);
            return;
        }
        if self.session.state == SessionState::Closing && invoke_id == self.link.close_invoke_id {
            self.lose_session(now, SessionEndReason::Closed, Retry::Never, true);
            return;
        }
        self.fail_request(invoke_id, Refusal::Status(status));
    }

    fn on_agent_state_event(&mut self, now: Instant, msg: &Message<'_>) {
        use fields::agent_state_event as f;
        let matches = |field: Option<&str>, configured: &str| match field {
            Some(value) => configured.is_empty() || value == configured,
            None => true,
        };
        let about_me = matches(msg.string(tag::AGENT_ID), &self.config.agent_id)
            && matches(
                msg.string(tag::AGENT_EXTENSION),
                &self.config.agent_extension,
            );
        if !about_me {
            return;
        }
        if let Some(state) = msg.get(f::AGENT_STATE) {
            let reason = msg
                .get(f::EVENT_REASON_CODE)
                .map_or(AgentReason::None, AgentReason::from);
            self.update_agent(now, state, reason);
        }
    }

    pub(super) fn update_agent(&mut self, now: Instant, state: AgentState, reason: AgentReason) {
        if state != self.agent.state || reason != self.agent.reason {
            self.agent.state = state;
            self.agent.reason = reason;
            self.agent.since = now;
            self.push_event(Event::AgentStateChanged { state, reason });
        }
    }

    /// After OPEN_CONF: learn the agent's state and the calls at the agent's device again.
    fn resynchronise(&mut self, now: Instant) {
        let has_agent_fields = !(self.config.agent_id.is_empty()
            && self.config.agent_extension.is_empty()
            && self.config.agent_instrument.is_empty());
        if has_agent_fields {
            let _ = self.send_internal(now, RequestKind::QueryAgentState, &|p, enc| {
                p.agent_fields(enc);
            });
        }
        let snapshot = if self.config.instrument().is_empty() {
            None
        } else {
            self.send_internal(now, RequestKind::SnapshotDevice, &|p, enc| {
                enc.set(
                    fields::snapshot_device_req::SNAPSHOT_DEVICE_TYPE,
                    crate::wire::DeviceType::from_value(0),
                )
                .string(tag::AGENT_INSTRUMENT, p.config.instrument());
            })
        };
        if snapshot.is_none() {
            // Without a snapshot nothing can confirm the old calls: report them lost now.
            self.drop_stale_calls();
        }
    }
}
