//! Not the simulator: a prologue must bring the phone to exactly the state a flow's `start:` names, on the flow's virtual clock, and then fall silent so that the flow's `server:` lines are the only server, where the simulator runs on the wall clock and acts by itself (offers, timers, heartbeat rules).
//!
//! The `start:` prologue: a Unified CCX that answers what the phone sends until the flow's
//! starting state (session open, agent logged in, ready…) is reached.

use ccx_cti::phone::{AgentReason, Command, SessionState};
use ccx_cti::wire::{self, decode, fields, tag, AgentState, Encoder, MessageType};

use super::{Failure, Runner};
use crate::flow::parse::Start;

impl<'o, const CALLS: usize> Runner<'o, CALLS> {
    /// Answer what the phone sends as a Unified CCX server would, until it is quiet.
    pub(super) fn serve_until_quiet(&mut self) {
        for _ in 0..100 {
            let pending = std::mem::take(&mut self.sent);
            if pending.is_empty() {
                return;
            }
            for frame in pending {
                let replies = self.answer(&frame);
                for r in replies {
                    self.feed(&r);
                }
            }
        }
    }

    pub(super) fn answer(&mut self, frame: &[u8]) -> Vec<Vec<u8>> {
        let version = self.version();
        let Ok(msg) = decode(frame, version) else {
            return Vec::new();
        };
        let invoke = msg.invoke_id().unwrap_or(0);
        let cfg = self.config.clone();
        let agent_fields = |e: &mut Encoder<'_>| {
            if !cfg.agent_extension.is_empty() {
                e.string(tag::AGENT_EXTENSION, &cfg.agent_extension);
            }
            if !cfg.instrument().is_empty() {
                e.string(tag::AGENT_INSTRUMENT, cfg.instrument());
            }
            if !cfg.agent_id.is_empty() {
                e.string(tag::AGENT_ID, &cfg.agent_id);
            }
        };
        let state = self.server_agent_state;
        match msg.message_type() {
            MessageType::OpenReq => {
                let services = msg.get(fields::open_req::SERVICES_REQUESTED).unwrap_or(0);
                vec![self.build(MessageType::OpenConf, |e| {
                    use fields::open_conf as f;
                    e.set(f::INVOKE_ID, invoke)
                        .set(f::SERVICES_GRANTED, services)
                        .set(f::CCX_ONLINE, true);
                    e.set(f::AGENT_STATE, state);
                    agent_fields(e);
                })]
            }
            MessageType::QueryAgentStateReq => {
                vec![self.build(MessageType::QueryAgentStateConf, |e| {
                    use fields::query_agent_state_conf as f;
                    e.set(f::INVOKE_ID, invoke).set(f::AGENT_STATE, state);
                    agent_fields(e);
                })]
            }
            MessageType::SnapshotDeviceReq => {
                vec![self.build(MessageType::SnapshotDeviceConf, |e| {
                    e.set(fields::snapshot_device_conf::INVOKE_ID, invoke);
                })]
            }
            MessageType::SetAgentStateReq => {
                let requested = msg
                    .get(fields::set_agent_state_req::AGENT_STATE)
                    .unwrap_or(AgentState::NotReady);
                let reason = msg
                    .get(fields::set_agent_state_req::EVENT_REASON_CODE)
                    .map(u16::from)
                    .unwrap_or(0);
                let new_state = if requested == AgentState::Login {
                    AgentState::NotReady
                } else {
                    requested
                };
                self.server_agent_state = new_state;
                let conf = self.build(MessageType::SetAgentStateConf, |e| {
                    e.set(fields::set_agent_state_conf::INVOKE_ID, invoke);
                });
                vec![conf, self.agent_state_event(new_state, reason)]
            }
            _ => Vec::new(),
        }
    }

    pub(super) fn agent_state_event(&self, state: AgentState, reason: u16) -> Vec<u8> {
        let cfg = &self.config;
        self.build(MessageType::AgentStateEvent, |e| {
            use fields::agent_state_event as f;
            e.set(f::CSQ_STATE, state)
                .set(f::AGENT_STATE, state)
                .set(f::CSQID, u32::MAX)
                .set(
                    f::EVENT_REASON_CODE,
                    wire::EventReasonCode::from_value(reason),
                );
            if !cfg.agent_id.is_empty() {
                e.string(tag::AGENT_ID, &cfg.agent_id);
            }
            if !cfg.agent_extension.is_empty() {
                e.string(tag::AGENT_EXTENSION, &cfg.agent_extension);
            }
        })
    }

    pub(super) fn prologue(&mut self, start: &Start) -> Result<(), Failure> {
        self.accept_connections = true;
        self.pump();
        self.serve_until_quiet();
        if self.phone.session().state != SessionState::Open {
            return Err(self.fail(
                0,
                format!(
                    "the session did not open (state {:?})",
                    self.phone.session().state
                ),
            ));
        }
        if let Start::LoggedIn(state_name) = start {
            let target = AgentState::DEF
                .value_of(state_name)
                .or_else(|| state_name.parse().ok())
                .and_then(|v| u16::try_from(v).ok())
                .map(AgentState::from_value)
                .ok_or_else(|| self.fail(0, format!("unknown agent state `{state_name}`")))?;
            self.command_in_prologue(Command::Login { password: None })?;
            let by_request = match target {
                AgentState::Available => Some(Command::Ready),
                AgentState::WorkReady => Some(Command::WorkReady),
                AgentState::WorkNotReady => Some(Command::WorkNotReady),
                AgentState::Logout => Some(Command::Logout {
                    reason: AgentReason::None,
                }),
                _ => None,
            };
            match by_request {
                Some(cmd) => self.command_in_prologue(cmd)?,
                None if target != AgentState::NotReady => {
                    // States the server sets (RESERVED, TALKING, …) arrive as an event.
                    self.server_agent_state = target;
                    let ev = self.agent_state_event(target, 0);
                    self.feed(&ev);
                    self.serve_until_quiet();
                }
                None => {}
            }
            if self.phone.agent().state != target {
                return Err(self.fail(
                    0,
                    format!(
                        "the agent did not reach {} (it is {})",
                        state_name,
                        self.phone.agent().state
                    ),
                ));
            }
        }
        self.sent.clear();
        self.outstanding.clear();
        self.reports.clear();
        Ok(())
    }

    pub(super) fn command_in_prologue(&mut self, cmd: Command<'_>) -> Result<(), Failure> {
        let now = self.instant();
        self.phone
            .command(now, cmd)
            .map_err(|e| self.fail(0, format!("{cmd:?} refused: {e}")))?;
        self.pump();
        self.serve_until_quiet();
        Ok(())
    }
}
