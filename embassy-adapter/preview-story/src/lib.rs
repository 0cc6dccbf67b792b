//! The shared scripted server, no_std and no-alloc so that the firmware (qemu, TAP) can run it where the std simulator cannot; the simulator runs this same script (`ccx sim --story preview`).
//!
//! The outbound-preview story that the embassy adapter's qemu firmware and host TAP run play,
//! and that `ccx sim --story preview` serves on every TCP connection (std-adapter's
//! `sim/world/story.rs`; its test checks that a phone over TCP sees the same events as
//! [`play_in_memory`]).
//!
//! - [`PreviewServer`]: a scripted Unified CCX, sans-io, built from the core codec. It opens the
//!   session, logs the agent in, makes it ready, offers reservation [`SKIP_CALL`] exactly as
//!   `tests/flows/outbound-skip.flow` step 0, checks the agent's `BAResponse=Skip` and answers as
//!   that flow's steps 1–3, then offers [`ACCEPT_CALL`], checks `BAResponse=Accept` and clears
//!   it as `tests/flows/outbound-accept.flow` does, and ends with the agent AVAILABLE.
//! - [`PreviewAgent`]: the agent's side: which button to press on which phone event.
//! - [`check_final_state`]: what the phone must look like at the end.
//! - [`play_in_memory`]: both sides wired together without a network (tests).
//!
//! Transports (an embassy-net socket in the firmware, a Linux socket on the host) only move
//! bytes in and out of [`PreviewServer::receive`] / [`PreviewServer::output`].
#![no_std]
#![forbid(unsafe_code)]

#[macro_use]
mod fmt;
mod agent;

pub use agent::{
    check_final_state, play_in_memory, play_in_memory_observed, Ending, FinalStateError,
    PreviewAgent, StoryError,
};

use ccx_cti::config::{PhoneConfig, ServerAddr};
use ccx_cti::phone::PreviewAnswer;
use ccx_cti::wire::{
    decode, fields, message_def, tag, AgentState, CallType, CalledPartyDisposition,
    ConnectionDeviceType, DeviceType, Encoder, EventCause, FeedResult, FrameAccumulator,
    LocalConnectionState, Message, MessageType, WireVersion,
};

/// The reservation call the agent skips (outbound-skip.flow).
pub const SKIP_CALL: u32 = 16_800_098;
/// The reservation call the agent accepts.
pub const ACCEPT_CALL: u32 = 16_800_099;
/// The call the guide's skip flow ends without the phone tracking it.
pub const FOREIGN_CALL: u32 = 16_800_095;
/// The agent of the flows.
pub const AGENT_ID: &str = "chli4020";
/// The agent's extension and instrument.
pub const EXTENSION: &str = "4020";
/// The TCP port the scripted server listens on.
pub const PORT: u16 = 12028;

/// Bytes of replies the server may hold before the transport takes them.
const OUTBOX: usize = 4096;
/// Largest frame the server accepts or sends.
const FRAME: usize = 1024;

/// The phone configuration of the story, with the server at `host` (an IPv4 address).
pub fn story_config(host: &str, port: u16) -> PhoneConfig {
    let mut config = PhoneConfig::default();
    config.servers.clear();
    let mut server_host = heapless::String::new();
    let _ = server_host.push_str(host);
    let _ = config.servers.push(ServerAddr {
        host: server_host,
        port,
    });
    config.agent_id.clear();
    let _ = config.agent_id.push_str(AGENT_ID);
    config.agent_extension.clear();
    let _ = config.agent_extension.push_str(EXTENSION);
    config.agent_instrument.clear();
    let _ = config.agent_instrument.push_str(EXTENSION);
    config.connect_timeout_secs = 2;
    // The runs are short: a lost connection is retried after a second, not ten.
    config.reconnect_secs = 1;
    config
}

/// A one-line summary of a message for the trace: its name and key fields.
pub struct Summary<'a> {
    msg: &'a Message<'a>,
}

impl<'a> Summary<'a> {
    /// The summary of `msg`.
    pub fn of(msg: &'a Message<'a>) -> Self {
        Summary { msg }
    }

    fn name(&self) -> &'static str {
        message_def(self.msg.message_type().id())
            .map(|d| d.name)
            .unwrap_or("UNKNOWN")
    }

    fn agent_state(&self) -> Option<&'static str> {
        let raw = self.msg.fixed_named("AgentState")?;
        AgentState::from_value(u16::try_from(raw).ok()?).name()
    }
}

impl core::fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())?;
        if let Some(id) = self.msg.invoke_id() {
            write!(f, " InvokeID={id}")?;
        }
        if let Some(call) = self.msg.fixed_named("ConnectionCallID") {
            write!(f, " CallID={call}")?;
        }
        if let Some(state) = self.agent_state() {
            write!(f, " AgentState={state}")?;
        }
        for var in self.msg.named_vars() {
            if var.name == "BAResponse" || var.name == "BAStatus" {
                write!(f, " {}={}", var.name, var.value)?;
            }
        }
        Ok(())
    }
}

impl core::fmt::Debug for Summary<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(self, f)
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Summary<'_> {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(f, "{=str}", self.name());
        if let Some(id) = self.msg.invoke_id() {
            defmt::write!(f, " InvokeID={=u32}", id);
        }
        if let Some(call) = self.msg.fixed_named("ConnectionCallID") {
            defmt::write!(f, " CallID={=u32}", call);
        }
        if let Some(state) = self.agent_state() {
            defmt::write!(f, " AgentState={=str}", state);
        }
        for var in self.msg.named_vars() {
            if var.name == "BAResponse" || var.name == "BAStatus" {
                defmt::write!(f, " {=str}={=str}", var.name, var.value);
            }
        }
    }
}

/// Where the script is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Stage {
    /// Waiting for OPEN_REQ.
    AwaitOpen,
    /// Waiting for the login (SET_AGENT_STATE_REQ LOGIN).
    AwaitLogin,
    /// Waiting for SET_AGENT_STATE_REQ AVAILABLE.
    AwaitReady,
    /// Reservation [`SKIP_CALL`] offered; waiting for `BAResponse=Skip`.
    AwaitSkip,
    /// Reservation [`ACCEPT_CALL`] offered; waiting for `BAResponse=Accept`.
    AwaitAccept,
    /// The story is told.
    Done,
    /// The phone did something the script does not allow.
    Failed,
}

/// What the phone did wrong, as the script sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ScriptFailure {
    /// The byte stream could not be framed.
    Framing,
    /// A frame could not be decoded.
    Undecodable {
        /// Its message type number.
        message_type: u32,
    },
    /// A message the script does not expect at this stage.
    Unexpected {
        /// Its message type number.
        message_type: u32,
        /// The stage.
        stage: Stage,
    },
    /// SET_AGENT_STATE_REQ asked for the wrong state.
    WrongAgentState {
        /// The raw AgentState asked for.
        requested: u32,
        /// The stage.
        stage: Stage,
    },
    /// SET_CALL_DATA_REQ named the wrong call.
    WrongCall {
        /// The reservation on offer.
        expected: u32,
        /// The ConnectionCallID sent.
        got: u32,
    },
    /// SET_CALL_DATA_REQ carried the wrong BAResponse.
    WrongAnswer {
        /// The call.
        call: u32,
        /// The BAResponse the script waits for.
        expected: &'static str,
    },
    /// A reply did not fit the server's buffers.
    OutputFull,
}

/// The scripted Unified CCX server. Sans-io: feed it the phone's bytes with
/// [`receive`](Self::receive), send what [`output`](Self::output) holds.
pub struct PreviewServer {
    version: WireVersion,
    stage: Stage,
    agent_state: AgentState,
    failure: Option<ScriptFailure>,
    accumulator: FrameAccumulator<FRAME>,
    outbox: heapless::Vec<u8, OUTBOX>,
    received: u32,
    sent: u32,
}

impl Default for PreviewServer {
    fn default() -> Self {
        Self::new()
    }
}

impl PreviewServer {
    /// A server waiting for OPEN_REQ.
    pub const fn new() -> Self {
        PreviewServer {
            version: WireVersion::DEFAULT,
            stage: Stage::AwaitOpen,
            agent_state: AgentState::Logout,
            failure: None,
            accumulator: FrameAccumulator::new(),
            outbox: heapless::Vec::new(),
            received: 0,
            sent: 0,
        }
    }

    /// Where the script is.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// The first thing the phone did wrong, if any.
    pub fn failure(&self) -> Option<ScriptFailure> {
        self.failure
    }

    /// The story is told and nothing went wrong.
    pub fn finished(&self) -> bool {
        self.stage == Stage::Done && self.failure.is_none()
    }

    /// The protocol version of the session (the OPEN_REQ's, once it arrived): the frames
    /// in [`output`](Self::output) are encoded under it.
    pub fn version(&self) -> WireVersion {
        self.version
    }

    /// Messages received and sent so far.
    pub fn counts(&self) -> (u32, u32) {
        (self.received, self.sent)
    }

    /// Bytes waiting to go to the phone.
    pub fn output(&self) -> &[u8] {
        &self.outbox
    }

    /// The transport sent the first `n` bytes of [`output`](Self::output).
    pub fn consume_output(&mut self, n: usize) {
        let n = n.min(self.outbox.len());
        self.outbox.copy_within(n.., 0);
        self.outbox.truncate(self.outbox.len() - n);
    }

    /// Bytes arrived from the phone.
    pub fn receive(&mut self, bytes: &[u8]) {
        let mut input = bytes;
        loop {
            let mut frame_buf = [0u8; FRAME];
            let frame_len = match self.accumulator.feed(input) {
                FeedResult::Consumed => return,
                FeedResult::Frame { frame, remaining } => {
                    input = remaining;
                    let len = frame.len();
                    match frame_buf.get_mut(..len) {
                        Some(dst) => dst.copy_from_slice(frame),
                        None => {
                            self.fail(ScriptFailure::OutputFull);
                            return;
                        }
                    }
                    len
                }
                FeedResult::Error { .. } => {
                    self.fail(ScriptFailure::Framing);
                    return;
                }
            };
            self.handle_frame(frame_buf.get(..frame_len).unwrap_or(&[]));
        }
    }

    fn fail(&mut self, failure: ScriptFailure) {
        story_error!("server: script broken: {:?}", failure);
        if self.failure.is_none() {
            self.failure = Some(failure);
        }
        self.stage = Stage::Failed;
    }

    fn handle_frame(&mut self, frame: &[u8]) {
        let msg = match decode(frame, self.version) {
            Ok(msg) => msg,
            Err(error) => {
                story_warn!("server: undecodable frame: {:?}", error);
                self.fail(ScriptFailure::Undecodable {
                    message_type: error.message_type,
                });
                return;
            }
        };
        self.received += 1;
        story_info!("server <- {}", Summary::of(&msg));
        if self.stage == Stage::Failed {
            return;
        }
        let invoke_id = msg.invoke_id().unwrap_or(0);
        let ty = msg.message_type();
        match (ty, self.stage) {
            (MessageType::OpenReq, Stage::AwaitOpen) => {
                if let Some(v) = msg.get(fields::open_req::VERSION_NUMBER) {
                    self.version = WireVersion::new(v);
                }
                let services = msg.get(fields::open_req::SERVICES_REQUESTED).unwrap_or(0);
                self.emit(MessageType::OpenConf, |e| {
                    e.set(fields::open_conf::INVOKE_ID, invoke_id)
                        .set(fields::open_conf::SERVICES_GRANTED, services)
                        .set(fields::open_conf::CCX_ONLINE, true)
                        .set(fields::open_conf::AGENT_STATE, AgentState::Logout)
                        .string(tag::AGENT_EXTENSION, EXTENSION)
                        .string(tag::AGENT_ID, AGENT_ID)
                        .string(tag::AGENT_INSTRUMENT, EXTENSION);
                });
                self.stage = Stage::AwaitLogin;
            }
            (MessageType::HeartbeatReq, _) => self.emit(MessageType::HeartbeatConf, |e| {
                e.set(fields::heartbeat_conf::INVOKE_ID, invoke_id);
            }),
            (MessageType::QueryAgentStateReq, s) if s != Stage::AwaitOpen => {
                let state = self.agent_state;
                self.emit(MessageType::QueryAgentStateConf, |e| {
                    e.set(fields::query_agent_state_conf::INVOKE_ID, invoke_id)
                        .set(fields::query_agent_state_conf::AGENT_STATE, state)
                        .string(tag::AGENT_EXTENSION, EXTENSION)
                        .string(tag::AGENT_ID, AGENT_ID)
                        .string(tag::AGENT_INSTRUMENT, EXTENSION);
                });
            }
            (MessageType::SnapshotDeviceReq, s) if s != Stage::AwaitOpen => {
                self.emit(MessageType::SnapshotDeviceConf, |e| {
                    e.set(fields::snapshot_device_conf::INVOKE_ID, invoke_id)
                        .set(fields::snapshot_device_conf::NUM_CALLS, 0);
                });
            }
            (MessageType::SetAgentStateReq, Stage::AwaitLogin | Stage::AwaitReady) => {
                self.set_agent_state(&msg, invoke_id)
            }
            (MessageType::SetCallDataReq, Stage::AwaitSkip) => {
                if self.check_answer(&msg, SKIP_CALL, PreviewAnswer::Skip) {
                    self.skip_answered(invoke_id);
                    self.offer(ACCEPT_CALL);
                    self.stage = Stage::AwaitAccept;
                }
            }
            (MessageType::SetCallDataReq, Stage::AwaitAccept) => {
                if self.check_answer(&msg, ACCEPT_CALL, PreviewAnswer::Accept) {
                    self.accept_answered(invoke_id);
                    self.stage = Stage::Done;
                    story_info!("server: story told");
                }
            }
            (MessageType::CloseReq, _) => self.emit(MessageType::CloseConf, |e| {
                e.set(fields::close_conf::INVOKE_ID, invoke_id);
            }),
            (ty, stage) => self.fail(ScriptFailure::Unexpected {
                message_type: ty.id(),
                stage,
            }),
        }
    }

    fn set_agent_state(&mut self, msg: &Message<'_>, invoke_id: u32) {
        let requested = msg.get(fields::set_agent_state_req::AGENT_STATE);
        let next = match (requested, self.stage) {
            (Some(AgentState::Login), Stage::AwaitLogin) => AgentState::NotReady,
            (Some(AgentState::Available), Stage::AwaitReady) => AgentState::Available,
            (other, stage) => {
                self.fail(ScriptFailure::WrongAgentState {
                    requested: other.map(|s| u32::from(s.value())).unwrap_or(u32::MAX),
                    stage,
                });
                return;
            }
        };
        self.emit(MessageType::SetAgentStateConf, |e| {
            e.set(fields::set_agent_state_conf::INVOKE_ID, invoke_id);
        });
        self.agent_state_event(next);
        if next == AgentState::Available {
            self.offer(SKIP_CALL);
            self.stage = Stage::AwaitSkip;
        } else {
            self.stage = Stage::AwaitReady;
        }
    }

    /// Is `msg` the agent's `answer` on reservation `call`? Records the failure if not.
    fn check_answer(&mut self, msg: &Message<'_>, call: u32, answer: PreviewAnswer) -> bool {
        let got = msg
            .get(fields::set_call_data_req::CONNECTION_CALL_ID)
            .unwrap_or(0);
        if got != call {
            self.fail(ScriptFailure::WrongCall {
                expected: call,
                got,
            });
            return false;
        }
        let expected = answer.ba_response();
        if msg.named_var("BAResponse") != Some(expected) {
            self.fail(ScriptFailure::WrongAnswer { call, expected });
            return false;
        }
        true
    }

    /// outbound-skip.flow step 0 for reservation `call`.
    fn offer(&mut self, call: u32) {
        self.agent_state_event(AgentState::Reserved);
        self.emit(MessageType::BeginCallEvent, |e| {
            e.set(fields::begin_call_event::CALL_TYPE, CallType::Reservation)
                .set(
                    fields::begin_call_event::CONNECTION_DEVICE_TYPE,
                    ConnectionDeviceType::Static,
                )
                .set(fields::begin_call_event::CONNECTION_CALL_ID, call)
                .set(
                    fields::begin_call_event::CALLED_PARTY_DISPOSITION,
                    CalledPartyDisposition::CdInvalid,
                )
                .string(tag::CONNECTION_DEVICE_ID, EXTENSION)
                .named_var("BACampaign", "LoadCamp")
                .named_var("BACampaignID", "")
                .named_var("BAStatus", "DO")
                .named_var("BAResponse", "")
                .named_var("user.layout", "OODefault")
                .named_var("BAAccountNumber", "AC111")
                .named_var("BADialedListID", "20779")
                .named_var("BABuddyName", "John,Doe");
        });
        self.emit(MessageType::CallDeliveredEvent, |e| {
            e.set(fields::call_delivered_event::CONNECTION_CALL_ID, call)
                .set(
                    fields::call_delivered_event::LOCAL_CONNECTION_STATE,
                    LocalConnectionState::Alerting,
                )
                .set(
                    fields::call_delivered_event::EVENT_CAUSE,
                    EventCause::CecNewCall,
                )
                .string(tag::ALERTING_DEVICE_ID, EXTENSION)
                .string(tag::CONNECTION_DEVICE_ID, EXTENSION)
                .string(tag::CALLED_DEVICE_ID, EXTENSION);
        });
    }

    /// outbound-skip.flow steps 1–3.
    fn skip_answered(&mut self, invoke_id: u32) {
        self.emit(MessageType::SetCallDataConf, |e| {
            e.set(fields::set_call_data_conf::INVOKE_ID, invoke_id);
        });
        self.agent_state_event(AgentState::Available);
        self.end_call(FOREIGN_CALL, "");
        self.call_data_update(SKIP_CALL, "Skip");
        self.agent_state_event(AgentState::Available);
        self.clear_call(SKIP_CALL);
    }

    /// outbound-accept.flow steps 4–5, then the agent is free again.
    fn accept_answered(&mut self, invoke_id: u32) {
        self.emit(MessageType::SetCallDataConf, |e| {
            e.set(fields::set_call_data_conf::INVOKE_ID, invoke_id);
        });
        self.call_data_update(ACCEPT_CALL, "Accept");
        self.clear_call(ACCEPT_CALL);
        self.agent_state_event(AgentState::Available);
    }

    fn agent_state_event(&mut self, state: AgentState) {
        self.agent_state = state;
        self.emit(MessageType::AgentStateEvent, |e| {
            e.set(fields::agent_state_event::CSQ_STATE, state)
                .set(fields::agent_state_event::CSQID, u32::MAX)
                .set(fields::agent_state_event::AGENT_STATE, state)
                .string(tag::AGENT_ID, AGENT_ID)
                .string(tag::AGENT_EXTENSION, EXTENSION);
        });
    }

    fn call_data_update(&mut self, call: u32, answer: &str) {
        use fields::call_data_update_event as f;
        self.emit(MessageType::CallDataUpdateEvent, |e| {
            e.set(f::CALL_TYPE, CallType::Reservation)
                .set(f::CONNECTION_DEVICE_TYPE, ConnectionDeviceType::Static)
                .set(f::CONNECTION_CALL_ID, call)
                .set(f::NEW_CONNECTION_DEVICE_TYPE, ConnectionDeviceType::Static)
                .set(f::NEW_CONNECTION_CALL_ID, call)
                .set(
                    f::CALLED_PARTY_DISPOSITION,
                    CalledPartyDisposition::CdInvalid,
                )
                .string(tag::CONNECTION_DEVICE_ID, EXTENSION)
                .string(tag::NEW_CONNECTION_DEVICE_ID, EXTENSION)
                .named_var("BAResponse", answer)
                .string(tag::CUSTOMER_PHONE_NUMBER, "")
                .string(tag::CUSTOMER_ACCOUNT_NUMBER, "");
        });
    }

    fn clear_call(&mut self, call: u32) {
        self.emit(MessageType::CallConnectionClearedEvent, |e| {
            use fields::call_connection_cleared_event as f;
            e.set(f::CONNECTION_DEVICE_TYPE, ConnectionDeviceType::Static)
                .set(f::CONNECTION_CALL_ID, call)
                .set(f::RELEASING_DEVICE_TYPE, DeviceType::AgentDeviceIdentifier)
                .set(f::LOCAL_CONNECTION_STATE, LocalConnectionState::None)
                .set(f::EVENT_CAUSE, EventCause::CecNone)
                .string(tag::CONNECTION_DEVICE_ID, EXTENSION)
                .string(tag::RELEASING_DEVICE_ID, EXTENSION);
        });
        self.emit(MessageType::CallClearedEvent, |e| {
            use fields::call_cleared_event as f;
            e.set(f::CONNECTION_DEVICE_TYPE, ConnectionDeviceType::Static)
                .set(f::CONNECTION_CALL_ID, call)
                .set(f::LOCAL_CONNECTION_STATE, LocalConnectionState::Null)
                .set(f::EVENT_CAUSE, EventCause::CecNone)
                .string(tag::CONNECTION_DEVICE_ID, EXTENSION);
        });
        self.end_call(call, "");
    }

    fn end_call(&mut self, call: u32, device: &str) {
        self.emit(MessageType::EndCallEvent, |e| {
            e.set(
                fields::end_call_event::CONNECTION_DEVICE_TYPE,
                ConnectionDeviceType::Static,
            )
            .set(fields::end_call_event::CONNECTION_CALL_ID, call)
            .string(tag::CONNECTION_DEVICE_ID, device);
        });
    }

    /// Encode one message with `build` and queue it for the phone.
    fn emit(&mut self, ty: MessageType, build: impl FnOnce(&mut Encoder<'_>)) {
        let mut buf = [0u8; FRAME];
        let mut encoder = Encoder::new(&mut buf, ty, self.version);
        build(&mut encoder);
        let frame = match encoder.finish() {
            Ok(len) => buf.get(..len).unwrap_or(&[]),
            Err(error) => {
                story_error!("server: cannot encode {:?}: {:?}", ty, error);
                self.fail(ScriptFailure::OutputFull);
                return;
            }
        };
        if let Ok(msg) = decode(frame, self.version) {
            story_info!("server -> {}", Summary::of(&msg));
        }
        if self.outbox.extend_from_slice(frame).is_err() {
            self.fail(ScriptFailure::OutputFull);
            return;
        }
        self.sent += 1;
    }
}
