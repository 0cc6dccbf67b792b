//! Agent state: SET_AGENT_STATE_REQ, its rules (reason codes, passwords, what a busy agent may
//! do) and the AGENT_STATE_EVENTs that follow.

use super::*;

impl World {
    // ---- agent state ---------------------------------------------------------------------

    pub(super) fn emit_agent_state(&mut self, a: usize) {
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
    pub(super) fn set_state(&mut self, a: usize, state: AgentState, reason: u16, now: Instant) {
        let offer_delay = self
            .cfg
            .campaign
            .as_ref()
            .map(|c| c.offer_delay_ms)
            .unwrap_or(0);
        {
            let Some(mut agent) = self.agents.get_mut(a) else {
                return;
            };
            if state == AgentState::Available && agent.state != AgentState::Available {
                agent.available_since = now;
                agent.next_offer_at = now + Duration::from_millis(offer_delay);
            }
            if agent.state != state {
                log::info!(
                    "simulator: agent {} {:?} -> {state:?}{}",
                    agent.def.id,
                    agent.state,
                    match AgentReason::from_code(reason) {
                        AgentReason::None => String::new(),
                        named => format!(" ({named})"),
                    }
                );
            }
            agent.state = state;
            agent.reason = reason;
        }
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

    pub(super) fn reason_ok(&self, reason: u16) -> bool {
        reason == 0
            || SYSTEM_REASONS.contains(&reason)
            || self.cfg.reason_codes.is_empty()
            || self.cfg.reason_codes.iter().any(|r| r.code == reason)
    }

    pub(super) fn agent_calls(&self, a: usize) -> impl Iterator<Item = &Call> {
        self.calls.values().filter(move |c| c.agent == a)
    }

    pub(super) fn set_agent_state(
        &mut self,
        conn_id: u64,
        a: usize,
        msg: &Message<'_>,
        now: Instant,
    ) {
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
                if let Some(mut agent) = self.agents.get_mut(a) {
                    agent.outbound = capacity & 1 != 0 || old_client;
                    log::info!(
                        "simulator: agent {} logged in at ext {}{}",
                        agent.def.id,
                        agent.def.extension,
                        if agent.outbound { " (outbound)" } else { "" }
                    );
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
                    if let Some(mut agent) = self.agents.get_mut(a) {
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

    pub(super) fn query_agent_state(&mut self, conn_id: u64, a: usize, msg: &Message<'_>) {
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

    pub(super) fn snapshot_device(&mut self, conn_id: u64, a: usize, msg: &Message<'_>) {
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

    pub(super) fn agent_id(&self, a: usize) -> &str {
        self.agents.get(a).map_or("?", |ag| ag.def.id.as_str())
    }

    pub(super) fn ext(&self, a: usize) -> String {
        self.agents
            .get(a)
            .map(|ag| ag.def.extension.clone())
            .unwrap_or_default()
    }
}
