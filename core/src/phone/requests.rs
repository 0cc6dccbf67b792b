//! The agent's commands as requests: encoding, InvokeID correlation, confirmations,
//! failures and timeouts.

use super::{
    AgentReason, Call, Command, CommandError, Engine, Event, Instant, InvokeId, PendingRequest,
    Refusal, RequestKind, SessionState,
};
use crate::config::{PhoneConfig, ShortText};
use crate::wire::{
    fields, tag, AgentState, ConnectionDeviceType, ConsultType, EncodeError, Encoder, Fixed,
    LocalConnectionState, Message, MessageType, StatusCode,
};

/// What a request's fields are built from: the phone's configuration and calls, borrowed
/// apart from its transmit queue so that the request is encoded straight into the queue.
pub(super) struct Sources<'a, const VAR_BYTES: usize> {
    pub(super) config: &'a PhoneConfig,
    pub(super) calls: &'a [Call<VAR_BYTES>],
}

impl<const VAR_BYTES: usize> Sources<'_, VAR_BYTES> {
    /// The tracked call with `id` (the first one, as [`Engine::call`]).
    pub(super) fn call(&self, id: u32) -> Option<&Call<VAR_BYTES>> {
        self.calls.iter().find(|c| c.id == id)
    }

    /// The agent identity fields that are configured, as floating fields.
    pub(super) fn agent_fields(&self, enc: &mut Encoder<'_>) {
        let c = self.config;
        for (tag_id, value) in [
            (tag::AGENT_EXTENSION, c.agent_extension.as_str()),
            (tag::AGENT_INSTRUMENT, c.agent_instrument.as_str()),
            (tag::AGENT_ID, c.agent_id.as_str()),
        ] {
            if !value.is_empty() {
                enc.string(tag_id, value);
            }
        }
    }
}

/// What fills a request's fields. One `dyn` type rather than a closure type per request, so
/// that the encode-and-queue path is linked once and not once per kind of request.
pub(super) type Build<'b, const VAR_BYTES: usize> =
    &'b dyn Fn(&Sources<'_, VAR_BYTES>, &mut Encoder<'_>);

/// TerminalDeviceName (tag 303), labelled ActiveTerminal inside SET_AGENT_STATE_REQ from
/// protocol version 18: the terminal an agent with Agent Device Selection logs in on
/// (<https://developer.cisco.com/docs/contact-center-express/set_agent_state_req>).
const ACTIVE_TERMINAL_TAG: u16 = crate::wire::tag::TERMINAL_DEVICE_NAME;
/// The first protocol version whose SET_AGENT_STATE_REQ carries ActiveTerminal.
const ACTIVE_TERMINAL_SINCE: u32 = 18;

/// A call-control request on one connection of the agent: CallID, its ConnectionDeviceType
/// and ConnectionDeviceID, then AgentInstrument (wire-calls.md §4).
struct ConnectionRequest {
    kind: RequestKind,
    call_id: Fixed<u32>,
    device_type: Fixed<ConnectionDeviceType>,
    device_tag: u16,
}

const ANSWER: ConnectionRequest = ConnectionRequest {
    kind: RequestKind::Answer,
    call_id: fields::answer_call_req::CONNECTION_CALL_ID,
    device_type: fields::answer_call_req::CONNECTION_DEVICE_TYPE,
    device_tag: tag::CONNECTION_DEVICE_ID,
};
const RELEASE: ConnectionRequest = ConnectionRequest {
    kind: RequestKind::Release,
    call_id: fields::clear_connection_req::CONNECTION_CALL_ID,
    device_type: fields::clear_connection_req::CONNECTION_DEVICE_TYPE,
    device_tag: tag::CONNECTION_DEVICE_ID,
};
const HOLD: ConnectionRequest = ConnectionRequest {
    kind: RequestKind::Hold,
    call_id: fields::hold_call_req::CONNECTION_CALL_ID,
    device_type: fields::hold_call_req::CONNECTION_DEVICE_TYPE,
    device_tag: tag::CONNECTION_DEVICE_ID,
};
const RETRIEVE: ConnectionRequest = ConnectionRequest {
    kind: RequestKind::Retrieve,
    call_id: fields::retrieve_call_req::HELD_CALL_ID,
    device_type: fields::retrieve_call_req::HELD_CONNECTION_DEVICE_TYPE,
    device_tag: tag::HELD_CONNECTION_DEVICE_ID,
};
const DTMF: ConnectionRequest = ConnectionRequest {
    kind: RequestKind::Dtmf,
    call_id: fields::send_dtmf_signal_req::CONNECTION_CALL_ID,
    device_type: fields::send_dtmf_signal_req::CONNECTION_DEVICE_TYPE,
    device_tag: tag::CONNECTION_DEVICE_ID,
};

/// A request on two calls of the agent: the consult (active) call and the held call.
struct TwoCallRequest {
    kind: RequestKind,
    active_call: Fixed<u32>,
    held_call: Fixed<u32>,
    active_type: Fixed<ConnectionDeviceType>,
    held_type: Fixed<ConnectionDeviceType>,
    with_instrument: bool,
}

const TRANSFER: TwoCallRequest = TwoCallRequest {
    kind: RequestKind::Transfer,
    active_call: fields::transfer_call_req::ACTIVE_CALL_ID,
    held_call: fields::transfer_call_req::HELD_CALL_ID,
    active_type: fields::transfer_call_req::ACTIVE_CONNECTION_DEVICE_TYPE,
    held_type: fields::transfer_call_req::HELD_CONNECTION_DEVICE_TYPE,
    with_instrument: false,
};
// CONFERENCE_CALL_REQ puts Held before Active (wire-calls.md §4); the handles carry the
// offsets, so the order cannot be mixed up here.
const CONFERENCE: TwoCallRequest = TwoCallRequest {
    kind: RequestKind::Conference,
    active_call: fields::conference_call_req::ACTIVE_CALL_ID,
    held_call: fields::conference_call_req::HELD_CALL_ID,
    active_type: fields::conference_call_req::ACTIVE_CONNECTION_DEVICE_TYPE,
    held_type: fields::conference_call_req::HELD_CONNECTION_DEVICE_TYPE,
    with_instrument: true,
};

fn encode_error(e: EncodeError) -> CommandError {
    match e {
        EncodeError::BufferTooSmall { .. } | EncodeError::ValueTooLong { .. } => {
            CommandError::ArgumentTooLong
        }
        _ => CommandError::InvalidArgument,
    }
}

/// `MMDDYYYY` and `HH:MM`, digits where digits belong.
fn valid_callback(date: &str, time: &str) -> bool {
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let t = time.as_bytes();
    date.len() == 8
        && digits(date.as_bytes())
        && t.len() == 5
        && t.get(2) == Some(&b':')
        && digits(t.get(..2).unwrap_or(&[]))
        && digits(t.get(3..).unwrap_or(&[]))
}

impl<
        const CALLS: usize,
        const VAR_BYTES: usize,
        const PENDING: usize,
        const TX: usize,
        const EVENTS: usize,
    > Engine<CALLS, VAR_BYTES, PENDING, TX, EVENTS>
{
    /// The agent pressed a button. Returns the InvokeID of the request it queued.
    ///
    /// Nothing is sent when the command is refused. `Command::Login` while the phone has
    /// stopped by itself (session replaced or closed) reconnects and logs in once the
    /// session is open. `Command::Close` while no session is open stops reconnecting and
    /// returns 0.
    ///
    /// A refusal is also reported as [`Event::CommandRefused`], so that an application that
    /// only reads events learns of it.
    pub fn command(
        &mut self,
        now: Instant,
        command: Command<'_>,
    ) -> Result<InvokeId, CommandError> {
        self.clock = self.clock.max(now);
        let kind = super::CommandKind::of(&command);
        let result = self.run_command(now, command);
        if let Err(why) = result {
            self.push_event(Event::CommandRefused { command: kind, why });
        }
        result.map(InvokeId)
    }

    fn run_command(&mut self, now: Instant, command: Command<'_>) -> Result<u32, CommandError> {
        match command {
            Command::Close => return self.close(now),
            Command::Login { password } if self.is_halted() => {
                return self.login_later(now, password)
            }
            _ => {}
        }
        if self.session.state != SessionState::Open {
            return Err(CommandError::NotConnected);
        }
        match command {
            Command::Login { password } => {
                if self.agent.state != AgentState::Logout {
                    return Err(CommandError::InvalidState);
                }
                let invoke_id = self.fresh_invoke_id();
                self.set_agent_state(
                    now,
                    invoke_id,
                    AgentState::Login,
                    AgentReason::None,
                    password,
                )
            }
            Command::Logout { reason } => self.agent_command(now, AgentState::Logout, reason),
            Command::Ready => self.agent_command(now, AgentState::Available, AgentReason::None),
            Command::NotReady { reason } => self.agent_command(now, AgentState::NotReady, reason),
            Command::WorkReady => self.agent_command(now, AgentState::WorkReady, AgentReason::None),
            Command::WorkNotReady => {
                self.agent_command(now, AgentState::WorkNotReady, AgentReason::None)
            }
            Command::Answer { call } => {
                let call = self.pick_call(call, &[LocalConnectionState::Alerting])?;
                self.connection_request(now, &ANSWER, call, None)
            }
            Command::Release { call } => {
                let call = self.pick_call(call, super::view::RELEASABLE)?;
                self.connection_request(now, &RELEASE, call, None)
            }
            Command::Hold { call } => {
                let call = self.pick_call(call, &[LocalConnectionState::Connect])?;
                self.connection_request(now, &HOLD, call, None)
            }
            Command::Retrieve { call } => {
                let call = self.pick_call(call, &[LocalConnectionState::Hold])?;
                self.connection_request(now, &RETRIEVE, call, None)
            }
            Command::Dtmf { digits } => {
                if digits.is_empty() {
                    return Err(CommandError::InvalidArgument);
                }
                let call = self.pick_call(None, &[LocalConnectionState::Connect])?;
                self.connection_request(now, &DTMF, call, Some(digits))
            }
            Command::Dial { number } => {
                if number.is_empty() {
                    return Err(CommandError::InvalidArgument);
                }
                self.send_request(now, RequestKind::Dial, &|p, enc| {
                    enc.string(tag::AGENT_INSTRUMENT, p.config.instrument())
                        .string(tag::DIALED_NUMBER, number);
                })
            }
            Command::Consult { number } => {
                if number.is_empty() {
                    return Err(CommandError::InvalidArgument);
                }
                use fields::consultation_call_req as f;
                let active = self.pick_call(None, &[LocalConnectionState::Connect])?;
                self.send_request(now, RequestKind::Consult, &|p, enc| {
                    if let Some(c) = p.calls.get(active) {
                        enc.set(f::ACTIVE_CALL_ID, c.id)
                            .set_number(f::ACTIVE_CONNECTION_DEVICE_TYPE, c.device_type.into())
                            // CT_UNSPECIFIED: the agent decides later between transfer and
                            // conference.
                            .set(f::CONSULT_TYPE, ConsultType::from_value(0))
                            .string(tag::ACTIVE_CONNECTION_DEVICE_ID, &c.device_id);
                    }
                    enc.string(tag::DIALED_NUMBER, number)
                        .string(tag::AGENT_INSTRUMENT, p.config.instrument());
                })
            }
            Command::Transfer => self.two_call_request(now, &TRANSFER),
            Command::Conference => self.two_call_request(now, &CONFERENCE),
            Command::Preview(answer) => {
                let call = self.preview.ok_or(CommandError::NoPreview)?;
                let invoke_id =
                    self.set_call_data(now, call, "BAResponse", answer.ba_response())?;
                self.preview = None;
                if let Some(c) = self.calls.iter_mut().find(|c| c.id == call) {
                    c.preview_answered = true;
                }
                self.push_event(Event::PreviewEnded { call });
                Ok(invoke_id)
            }
            Command::Reclassify { value } => {
                if value.is_empty() {
                    return Err(CommandError::InvalidArgument);
                }
                let call = self.customer_call()?;
                self.set_call_data(now, call, "BAResponse", value)
            }
            Command::Callback { date, time } => {
                if !valid_callback(date, time) {
                    return Err(CommandError::InvalidArgument);
                }
                let mut value: heapless::String<32> = heapless::String::new();
                for part in ["Callback ", date, " ", time] {
                    value
                        .push_str(part)
                        .map_err(|_| CommandError::ArgumentTooLong)?;
                }
                let call = self.customer_call()?;
                self.set_call_data(now, call, "BAResponse", &value)
            }
            Command::SetVar { name, value, call } => {
                if name.is_empty() {
                    return Err(CommandError::InvalidArgument);
                }
                let call = match call {
                    Some(id) => self
                        .call(id)
                        .map(|c| c.id)
                        .ok_or(CommandError::NoSuchCall)?,
                    None => self.customer_call()?,
                };
                self.set_call_data(now, call, name, value)
            }
            Command::Close => self.close(now),
        }
    }

    fn close(&mut self, now: Instant) -> Result<u32, CommandError> {
        match self.session.state {
            SessionState::Open => {
                let invoke_id = self.fresh_invoke_id();
                self.queue_frame(now, MessageType::CloseReq, invoke_id, &|_, enc| {
                    enc.set(fields::close_req::STATUS, StatusCode::from_value(0));
                })?;
                self.link.close_invoke_id = invoke_id;
                self.link.deadline = now + self.request_timeout();
                self.session.state = SessionState::Closing;
                Ok(invoke_id)
            }
            SessionState::Closing => Ok(self.link.close_invoke_id),
            SessionState::Connecting | SessionState::Opening => {
                let close_transport = true;
                self.lose_session(
                    now,
                    super::SessionEndReason::Closed,
                    super::session::Retry::Never,
                    close_transport,
                );
                Ok(0)
            }
            SessionState::Disconnected => {
                self.link.reconnect_at = None;
                self.link.login_after_open = None;
                Ok(0)
            }
        }
    }

    /// Login while the phone has stopped: connect now and log in once the session is open.
    fn login_later(&mut self, now: Instant, password: Option<&str>) -> Result<u32, CommandError> {
        let password = password.unwrap_or(self.config.agent_password.as_str());
        let password = ShortText::try_from(password).map_err(|_| CommandError::ArgumentTooLong)?;
        let invoke_id = self.fresh_invoke_id();
        self.link.login_after_open = Some((invoke_id, password));
        self.reconnect(now);
        Ok(invoke_id)
    }

    /// The login kept by [`Self::login_later`], once the session is open.
    pub(super) fn login_after_open(&mut self, now: Instant, invoke_id: u32, password: &str) {
        if self.agent.state != AgentState::Logout {
            // Already logged in (the server kept the agent while the phone was away).
            self.push_event(Event::RequestSucceeded {
                invoke_id: InvokeId(invoke_id),
                request: RequestKind::SetAgentState,
            });
            return;
        }
        if self
            .set_agent_state(
                now,
                invoke_id,
                AgentState::Login,
                AgentReason::None,
                Some(password),
            )
            .is_err()
        {
            self.push_event(Event::TransmitQueueFull {
                request: RequestKind::SetAgentState,
            });
        }
    }

    fn agent_command(
        &mut self,
        now: Instant,
        state: AgentState,
        reason: AgentReason,
    ) -> Result<u32, CommandError> {
        if self.agent.state == AgentState::Logout {
            return Err(CommandError::InvalidState);
        }
        let invoke_id = self.fresh_invoke_id();
        self.set_agent_state(now, invoke_id, state, reason, None)
    }

    fn set_agent_state(
        &mut self,
        now: Instant,
        invoke_id: u32,
        state: AgentState,
        reason: AgentReason,
        password: Option<&str>,
    ) -> Result<u32, CommandError> {
        use fields::set_agent_state_req as f;
        let login = state == AgentState::Login;
        let sent =
            self.send_request_as(now, invoke_id, RequestKind::SetAgentState, &|p, enc| {
                let c = &p.config;
                enc.set(f::AGENT_STATE, state)
                    // The code as it came: AgentReason keeps it unchanged.
                    .set_number(f::EVENT_REASON_CODE, reason.code().into())
                    .set(f::FORCED_FLAG, 0);
                if login
                    && c.outbound
                    && enc.version().number() >= f::AGENT_CAPACITY.since_version()
                {
                    // Bit 0x1: the outbound feature (wire-session.md §4.10).
                    enc.set(f::AGENT_CAPACITY, 1);
                }
                enc.string(tag::AGENT_INSTRUMENT, c.instrument());
                if login {
                    let password = password.unwrap_or(c.agent_password.as_str());
                    enc.string(tag::AGENT_PASSWORD, password);
                }
                if !c.agent_id.is_empty() {
                    enc.string(tag::AGENT_ID, &c.agent_id);
                }
                let v18 = enc.version().number() >= ACTIVE_TERMINAL_SINCE;
                if login && v18 && !c.active_terminal.is_empty() {
                    enc.string(ACTIVE_TERMINAL_TAG, &c.active_terminal);
                }
            })?;
        if let Some(p) = self
            .pending
            .iter_mut()
            .find(|p| p.invoke_id == InvokeId(sent))
        {
            p.agent_state = Some(state);
        }
        Ok(sent)
    }

    /// The call a command acts on, as an index into the table (see [`super::view`]).
    fn pick_call(
        &self,
        given: Option<u32>,
        states: &[LocalConnectionState],
    ) -> Result<usize, CommandError> {
        super::view::pick_index(&self.calls, given, states)
    }

    /// The outbound customer call (BAStatus `CO`), else the connected call.
    fn customer_call(&self) -> Result<u32, CommandError> {
        super::view::customer_call(&self.calls).map(|c| c.id)
    }

    fn connection_request(
        &mut self,
        now: Instant,
        spec: &ConnectionRequest,
        call: usize,
        dtmf: Option<&str>,
    ) -> Result<u32, CommandError> {
        self.send_request(now, spec.kind, &|p, enc| {
            if let Some(c) = p.calls.get(call) {
                enc.set(spec.call_id, c.id)
                    .set_number(spec.device_type, c.device_type.into())
                    .string(spec.device_tag, &c.device_id);
            }
            if let Some(digits) = dtmf {
                enc.string(tag::DTMF_STRING, digits);
            }
            enc.string(tag::AGENT_INSTRUMENT, p.config.instrument());
        })
    }

    fn two_call_request(
        &mut self,
        now: Instant,
        spec: &TwoCallRequest,
    ) -> Result<u32, CommandError> {
        let active = self.pick_call(None, &[LocalConnectionState::Connect])?;
        let held = self.pick_call(None, &[LocalConnectionState::Hold])?;
        self.send_request(now, spec.kind, &|p, enc| {
            if let (Some(a), Some(h)) = (p.calls.get(active), p.calls.get(held)) {
                enc.set(spec.active_call, a.id)
                    .set(spec.held_call, h.id)
                    .set_number(spec.active_type, a.device_type.into())
                    .set_number(spec.held_type, h.device_type.into())
                    .string(tag::ACTIVE_CONNECTION_DEVICE_ID, &a.device_id)
                    .string(tag::HELD_CONNECTION_DEVICE_ID, &h.device_id);
            }
            if spec.with_instrument {
                enc.string(tag::AGENT_INSTRUMENT, p.config.instrument());
            }
        })
    }

    /// SET_CALL_DATA_REQ with one named variable, echoing the call's type and disposition
    /// (wire-calls.md §5.5).
    fn set_call_data(
        &mut self,
        now: Instant,
        call: u32,
        name: &str,
        value: &str,
    ) -> Result<u32, CommandError> {
        use fields::set_call_data_req as f;
        if self.call(call).is_none() {
            return Err(CommandError::NoSuchCall);
        }
        self.send_request(now, RequestKind::SetCallData, &|p, enc| {
            if let Some(c) = p.call(call) {
                enc.set_number(f::CONNECTION_DEVICE_TYPE, c.device_type.into())
                    .set(f::CONNECTION_CALL_ID, c.id)
                    .set(f::NUM_NAMED_VARIABLES, 1)
                    .set(f::NUM_NAMED_ARRAYS, 0)
                    .set(f::CALL_TYPE, c.call_type)
                    .set_number(f::CALLED_PARTY_DISPOSITION, c.disposition.into())
                    .string(tag::CONNECTION_DEVICE_ID, &c.device_id);
            }
            enc.named_var(name, value);
        })
    }

    /// Encode a message whose first fixed field is its InvokeID straight into the transmit
    /// queue's free space.
    ///
    /// A frame that does not fit the free space now is [`CommandError::TransmitQueueFull`];
    /// one longer than the whole queue could never be sent, so it is also reported as
    /// [`Event::TransmitBufferTooSmall`] with the queue's capacity.
    pub(super) fn queue_frame(
        &mut self,
        now: Instant,
        message_type: MessageType,
        invoke_id: u32,
        build: Build<'_, VAR_BYTES>,
    ) -> Result<(), CommandError> {
        let sources = Sources {
            config: &self.config,
            calls: &self.calls,
        };
        let mut enc = Encoder::new(self.tx.free_mut(), message_type, self.config.wire_version());
        enc.set_fixed_raw(0, invoke_id);
        build(&sources, &mut enc);
        let len = match enc.finish() {
            Ok(len) => len,
            Err(EncodeError::BufferTooSmall { needed }) => {
                let capacity = self.tx.capacity();
                if needed > capacity {
                    self.push_event(Event::TransmitBufferTooSmall { needed, capacity });
                }
                return Err(CommandError::TransmitQueueFull);
            }
            Err(e) => return Err(encode_error(e)),
        };
        if !self.tx.commit(len) {
            return Err(CommandError::TransmitQueueFull);
        }
        self.link.last_sent = now;
        Ok(())
    }

    /// Queue a request with a fresh InvokeID and wait for its confirmation.
    fn send_request(
        &mut self,
        now: Instant,
        kind: RequestKind,
        build: Build<'_, VAR_BYTES>,
    ) -> Result<u32, CommandError> {
        if self.pending.is_full() {
            return Err(CommandError::TooManyPending);
        }
        let invoke_id = self.fresh_invoke_id();
        self.send_request_as(now, invoke_id, kind, build)
    }

    fn send_request_as(
        &mut self,
        now: Instant,
        invoke_id: u32,
        kind: RequestKind,
        build: Build<'_, VAR_BYTES>,
    ) -> Result<u32, CommandError> {
        if self.pending.is_full() {
            return Err(CommandError::TooManyPending);
        }
        self.queue_frame(now, kind.message_type(), invoke_id, build)?;
        let deadline = now + self.request_timeout();
        self.pending
            .push(PendingRequest {
                invoke_id: InvokeId(invoke_id),
                request: kind,
                deadline,
                agent_state: None,
            })
            .map_err(|_| CommandError::TooManyPending)?;
        Ok(invoke_id)
    }

    /// A request the phone makes by itself: a refusal becomes an event.
    pub(super) fn send_internal(
        &mut self,
        now: Instant,
        kind: RequestKind,
        build: Build<'_, VAR_BYTES>,
    ) -> Option<u32> {
        match self.send_request(now, kind, build) {
            Ok(invoke_id) => Some(invoke_id),
            Err(_) => {
                self.push_event(Event::TransmitQueueFull { request: kind });
                None
            }
        }
    }

    fn take_pending(&mut self, invoke_id: u32) -> Option<PendingRequest> {
        let index = self
            .pending
            .iter()
            .position(|p| p.invoke_id == InvokeId(invoke_id))?;
        (index < self.pending.len()).then(|| self.pending.remove(index))
    }

    /// A positive confirmation (`*_CONF`): match it to its request by InvokeID. A
    /// confirmation nobody waits for is ignored (a late or repeated answer).
    pub(super) fn on_confirmation(&mut self, now: Instant, msg: &Message<'_>) {
        let Some(invoke_id) = msg.invoke_id() else {
            return;
        };
        let Some(pending) = self.take_pending(invoke_id) else {
            return;
        };
        match msg.message_type() {
            MessageType::QueryAgentStateConf => {
                if let Some(state) = msg.get(fields::query_agent_state_conf::AGENT_STATE) {
                    self.update_agent(now, state, self.agent.reason);
                }
            }
            MessageType::SnapshotDeviceConf => self.apply_snapshot(msg),
            _ => {}
        }
        self.push_event(Event::RequestSucceeded {
            invoke_id: pending.invoke_id,
            request: pending.request,
        });
    }

    /// FAILURE_CONF or CONTROL_FAILURE_CONF for a request; unknown InvokeIDs are ignored.
    pub(super) fn fail_request(&mut self, invoke_id: u32, refusal: Refusal) {
        let Some(pending) = self.take_pending(invoke_id) else {
            return;
        };
        self.push_event(Event::RequestFailed {
            invoke_id: pending.invoke_id,
            request: pending.request,
            refusal,
        });
        if pending.request == RequestKind::SnapshotDevice {
            self.drop_stale_calls();
        }
    }

    /// Requests past their deadline.
    pub(super) fn expire_requests(&mut self, now: Instant) {
        while let Some(index) = self.pending.iter().position(|p| now >= p.deadline) {
            if index >= self.pending.len() {
                break;
            }
            let pending = self.pending.remove(index);
            self.push_event(Event::RequestTimedOut {
                invoke_id: pending.invoke_id,
                request: pending.request,
            });
            if pending.request == RequestKind::SnapshotDevice {
                self.drop_stale_calls();
            }
        }
    }

    /// The session ended: no request can be answered any more.
    pub(super) fn abort_requests(&mut self) {
        let mut index = 0;
        while let Some(pending) = self.pending.get(index).copied() {
            self.push_event(Event::RequestAborted {
                invoke_id: pending.invoke_id,
                request: pending.request,
            });
            index += 1;
        }
        self.pending.clear();
    }
}
