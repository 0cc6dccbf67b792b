//! Calls: the call events the simulator emits, and the call control requests (answer, hold,
//! retrieve, release, consult, transfer, conference, reconnect, make call, DTMF).

use super::*;

impl World {
    // ---- call events -----------------------------------------------------------------------

    pub(super) fn new_call_id(&mut self) -> u32 {
        let id = self.next_call_id;
        self.next_call_id = self.next_call_id.wrapping_add(1).max(FIRST_CALL_ID);
        id
    }

    pub(super) fn ev_begin_call(&mut self, id: u32, extra: &[(u16, String)]) {
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

    pub(super) fn ev_delivered(&mut self, id: u32) {
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
    pub(super) fn ev_established(&mut self, id: u32) {
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
    pub(super) fn ev_outgoing(&mut self, id: u32) {
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
        if let Some(mut call) = self.calls.get_mut(&id) {
            call.lcs = LocalConnectionState::Connect;
        }
        self.ev_established(id);
    }

    pub(super) fn ev_held(&mut self, id: u32, held: bool) {
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
    pub(super) fn ev_clear(&mut self, id: u32, whole: bool, cause: EventCause) {
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
    pub(super) fn ev_data_update(
        &mut self,
        id: u32,
        vars: &[(String, String)],
        call_vars: &[(u16, String)],
    ) {
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
    pub(super) fn after_calls_end(&mut self, a: usize, now: Instant) {
        if self.agent_calls(a).next().is_some() {
            return;
        }
        let pending = {
            let Some(mut agent) = self.agents.get_mut(a) else {
                return;
            };
            if !is_logged_in(agent.state) {
                return;
            }
            agent.pending.take()
        };
        match pending {
            Some((state, reason)) => self.set_state(a, state, reason, now),
            None if self.cfg.auto_work => self.set_state(a, AgentState::WorkNotReady, 0, now),
            None => self.set_state(a, AgentState::Available, 0, now),
        }
    }

    pub(super) fn becomes_talking(&mut self, a: usize, now: Instant) {
        if self.agents.get(a).map(|ag| ag.state) != Some(AgentState::Talking) {
            self.set_state(a, AgentState::Talking, 0, now);
        }
    }

    // ---- call control --------------------------------------------------------------------

    /// The call named by a request's fixed CallID field, if it is this agent's.
    pub(super) fn own_call(&self, a: usize, id: Option<u32>) -> Option<u32> {
        let id = id?;
        self.calls.get(&id).filter(|c| c.agent == a).map(|c| c.id)
    }

    pub(super) fn invalid_call(&mut self, conn_id: u64, msg: &Message<'_>) {
        self.control_failure(
            conn_id,
            msg,
            StatusCode::InvalidCallid,
            PeripheralErrorCode::RmcmContactInvalid,
        );
    }

    pub(super) fn call_state(&self, id: u32) -> Option<LocalConnectionState> {
        self.calls.get(&id).map(|c| c.lcs)
    }

    pub(super) fn answer(&mut self, conn_id: u64, a: usize, msg: &Message<'_>, now: Instant) {
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
        if let Some(mut c) = self.calls.get_mut(&id) {
            c.lcs = LocalConnectionState::Connect;
        }
        self.counters.inbound_answered += 1;
        log::info!("simulator: call {id} answered by {}", self.agent_id(a));
        self.ev_established(id);
        self.becomes_talking(a, now);
        if let Some(ms) = self.cfg.inbound.customer_hangup_ms {
            self.scheduled.push((
                now + Duration::from_millis(ms),
                Action::CustomerHangup { call: id },
            ));
        }
    }

    pub(super) fn hold(&mut self, conn_id: u64, a: usize, msg: &Message<'_>) {
        let id = self.own_call(a, msg.get(fields::hold_call_req::CONNECTION_CALL_ID));
        match id {
            Some(id) if self.call_state(id) == Some(LocalConnectionState::Connect) => {
                self.confirm(conn_id, MessageType::HoldCallConf, msg);
                if let Some(mut c) = self.calls.get_mut(&id) {
                    c.lcs = LocalConnectionState::Hold;
                }
                self.ev_held(id, true);
            }
            _ => self.invalid_call(conn_id, msg),
        }
    }

    pub(super) fn retrieve(&mut self, conn_id: u64, a: usize, msg: &Message<'_>) {
        let id = self.own_call(a, msg.get(fields::retrieve_call_req::HELD_CALL_ID));
        match id {
            Some(id) if self.call_state(id) == Some(LocalConnectionState::Hold) => {
                self.confirm(conn_id, MessageType::RetrieveCallConf, msg);
                if let Some(mut c) = self.calls.get_mut(&id) {
                    c.lcs = LocalConnectionState::Connect;
                }
                self.ev_held(id, false);
            }
            _ => self.invalid_call(conn_id, msg),
        }
    }

    pub(super) fn clear(&mut self, conn_id: u64, a: usize, msg: &Message<'_>, now: Instant) {
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
    pub(super) fn finish_call(&mut self, id: u32, cause: EventCause, now: Instant) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let (a, kind) = (call.agent, call.kind);
        log::info!(
            "simulator: call {id} of {} ended ({cause:?})",
            self.agent_id(a)
        );
        match kind {
            CallKind::Inbound => self.counters.inbound_completed += 1,
            CallKind::Customer { contact } => {
                if let Some(mut rec) = self.contacts.get_mut(contact) {
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

    pub(super) fn consult(&mut self, conn_id: u64, a: usize, msg: &Message<'_>) {
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
        if let Some(mut c) = self.calls.get_mut(&active) {
            c.lcs = LocalConnectionState::Hold;
        }
        self.ev_held(active, true);
        self.place_call(conn_id, a, msg, CallKind::Consult { of: active }, number);
        self.counters.consults += 1;
    }

    /// A new call from agent `a` to `number` (a consult or a dialed call): confirm it with the
    /// request's confirmation (CONSULTATION_CALL_CONF and MAKE_CALL_CONF share their layout),
    /// track it, and send its first events.
    pub(super) fn place_call(
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
    pub(super) fn consult_pair(
        &self,
        a: usize,
        active: Option<u32>,
        held: Option<u32>,
    ) -> Option<(u32, u32)> {
        let active = self.own_call(a, active)?;
        let held = self.own_call(a, held)?;
        let consult = self.calls.get(&active)?;
        (consult.kind == CallKind::Consult { of: held }).then_some((active, held))
    }

    pub(super) fn parties_of(&self, held: u32, active: u32) -> (String, String) {
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

    pub(super) fn transfer(&mut self, conn_id: u64, a: usize, msg: &Message<'_>, now: Instant) {
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

    pub(super) fn conference(&mut self, conn_id: u64, a: usize, msg: &Message<'_>) {
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
        if let Some(mut c) = self.calls.get_mut(&held) {
            c.lcs = LocalConnectionState::Connect;
            c.call_type = CallType::Conference;
            c.party = format!("{customer}+{target}");
        }
    }

    pub(super) fn reconnect(&mut self, conn_id: u64, a: usize, msg: &Message<'_>) {
        use fields::reconnect_call_req as f;
        let Some((active, held)) =
            self.consult_pair(a, msg.get(f::ACTIVE_CALL_ID), msg.get(f::HELD_CALL_ID))
        else {
            return self.invalid_call(conn_id, msg);
        };
        self.confirm(conn_id, MessageType::ReconnectCallConf, msg);
        self.ev_clear(active, true, EventCause::CecNone);
        if let Some(mut c) = self.calls.get_mut(&held) {
            c.lcs = LocalConnectionState::Connect;
        }
        self.ev_held(held, false);
    }

    pub(super) fn make_call(&mut self, conn_id: u64, a: usize, msg: &Message<'_>) {
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

    pub(super) fn dtmf(&mut self, conn_id: u64, a: usize, msg: &Message<'_>) {
        let id = self.own_call(a, msg.get(fields::send_dtmf_signal_req::CONNECTION_CALL_ID));
        match id {
            Some(id) if self.call_state(id) == Some(LocalConnectionState::Connect) => {
                self.counters.dtmf += 1;
                self.confirm(conn_id, MessageType::SendDtmfSignalConf, msg);
            }
            _ => self.invalid_call(conn_id, msg),
        }
    }
}
