//! Connections and sessions: OPEN_REQ, heartbeats, CLOSE_REQ, the dispatch of every request,
//! and the replies and refusals that go back.

use super::*;

impl World {
    // ---- connections ---------------------------------------------------------------------

    pub(crate) fn add_conn(&mut self, node: Arc<NodeState>, now: Instant) -> u64 {
        let id = self.next_conn_id;
        self.next_conn_id += 1;
        self.conns.insert(
            id,
            Conn {
                node,
                connected_at: now,
                version: None,
                agent: None,
                idle_timeout: None,
                last_rx: now,
                call_mask: 0,
                agent_mask: 0,
            },
        );
        self.counters.connections += 1;
        id
    }

    /// The connection is gone (closed by either side).
    pub(crate) fn remove_conn(&mut self, conn_id: u64) {
        let Some(conn) = self.conns.remove(&conn_id) else {
            return;
        };
        self.outgoing.push((conn_id, Out::Close));
        self.rules.forget(conn_id);
        self.story_forget(conn_id);
        if conn.version.is_some() {
            self.counters.sessions_ended += 1;
            log::info!(
                "simulator: session of connection {conn_id} ended{}",
                conn.agent
                    .map(|a| format!(" ({})", self.agent_id(a)))
                    .unwrap_or_default()
            );
        }
        if let Some(a) = conn.agent {
            if self.agents.get(a).and_then(|ag| ag.conn) == Some(conn_id) {
                if let Some(mut agent) = self.agents.get_mut(a) {
                    agent.conn = None;
                }
                self.withdraw_reservation(a);
            }
        }
    }

    /// A reservation needs an agent to answer it: without a session it goes back to the list.
    pub(super) fn withdraw_reservation(&mut self, a: usize) {
        let ids: Vec<(u32, usize)> = self
            .calls
            .values()
            .filter_map(|c| match c.kind {
                CallKind::Reservation { contact } if c.agent == a => Some((c.id, contact)),
                _ => None,
            })
            .collect();
        for (id, contact) in ids {
            self.calls.remove(&id);
            if let Some(mut rec) = self.contacts.get_mut(contact) {
                rec.status = ContactStatus::Open;
                self.contacts_ready.push_front(contact);
            }
            if let Some(mut agent) = self.agents.get_mut(a) {
                agent.state = AgentState::Available;
                agent.reason = 0;
            }
        }
    }

    pub(super) fn version_of(&self, conn_id: u64) -> WireVersion {
        self.conns
            .get(&conn_id)
            .and_then(|c| c.version)
            .unwrap_or(WireVersion::DEFAULT)
    }

    pub(super) fn wire_version(&self, number: u32) -> WireVersion {
        WireVersion::new(number).with_v18_length_width(self.cfg.v18_length_width)
    }

    /// Send a frame to a connection.
    pub(super) fn send(&mut self, conn_id: u64, ty: MessageType, build: impl Fn(&mut Encoder<'_>)) {
        let version = self.version_of(conn_id);
        self.send_with(conn_id, version, ty, build);
    }

    pub(super) fn send_with(
        &mut self,
        conn_id: u64,
        version: WireVersion,
        ty: MessageType,
        build: impl Fn(&mut Encoder<'_>),
    ) {
        if !self.conns.contains_key(&conn_id) {
            return;
        }
        if let Some(frame) = encode_frame(ty, version, build) {
            self.outgoing.push((conn_id, Out::Frame(frame, version)));
            self.counters.messages_out += 1;
        }
    }

    /// Send an event to an agent's session, if it has one and its masks ask for it.
    pub(super) fn emit(&mut self, a: usize, ty: MessageType, build: impl Fn(&mut Encoder<'_>)) {
        let Some(conn_id) = self.agents.get(a).and_then(|ag| ag.conn) else {
            return;
        };
        let Some(conn) = self.conns.get(&conn_id) else {
            return;
        };
        if let Some(bit) = call_mask_bit(ty) {
            if conn.call_mask & bit == 0 {
                return;
            }
        }
        self.send(conn_id, ty, build);
    }

    pub(super) fn close(&mut self, conn_id: u64) {
        self.remove_conn(conn_id);
    }

    // ---- incoming messages -----------------------------------------------------------------

    /// Handle one frame from a connection.
    pub(crate) fn on_frame(&mut self, conn_id: u64, frame: &[u8], now: Instant) -> After {
        if let Some(after) = self.story_frame(conn_id, frame, now) {
            return after;
        }
        self.counters.messages_in += 1;
        let Some(conn) = self.conns.get_mut(&conn_id) else {
            return After::Close;
        };
        conn.last_rx = now;
        let version = match conn.version {
            Some(v) => v,
            None => self.requested_version(frame),
        };
        let msg = match decode(frame, version) {
            Ok(m) => m,
            Err(e) => {
                if self.warn_limit.allow("malformed", now) {
                    log::warn!("simulator: malformed frame from connection {conn_id}: {e}");
                }
                self.counters.malformed_in += 1;
                if self.conns.get(&conn_id).is_none_or(|c| c.version.is_none()) {
                    self.refuse_raw_open(conn_id, frame);
                }
                return After::Continue;
            }
        };
        let ty = msg.message_type();
        let open = self.conns.get(&conn_id).and_then(|c| c.version).is_some();
        if ty == MessageType::OpenReq {
            return self.open(conn_id, &msg, now);
        }
        let agent = self.conns.get(&conn_id).and_then(|c| c.agent);
        let (true, Some(a)) = (open, agent) else {
            self.failure_conf(conn_id, &msg, StatusCode::SessionNotOpen);
            return After::Continue;
        };
        if self.heartbeat_rule_breaks(conn_id, ty, now) {
            return After::Close;
        }
        match ty {
            MessageType::HeartbeatReq => {
                // A timed heartbeat loss hits the same share of sessions for its whole time.
                let lost = ((conn_id % 100) as f64) < self.heartbeat_loss * 100.0;
                if !self.cfg.faults.ignore_heartbeats && !lost {
                    let id = msg.get(fields::heartbeat_req::INVOKE_ID).unwrap_or(0);
                    self.send(conn_id, MessageType::HeartbeatConf, |e| {
                        e.set(fields::heartbeat_conf::INVOKE_ID, id);
                    });
                }
            }
            MessageType::CloseReq => {
                let id = msg.get(fields::close_req::INVOKE_ID).unwrap_or(0);
                self.send(conn_id, MessageType::CloseConf, |e| {
                    e.set(fields::close_conf::INVOKE_ID, id);
                });
                self.counters.sessions_closed += 1;
                self.close(conn_id);
                return After::Close;
            }
            MessageType::SetAgentStateReq => self.set_agent_state(conn_id, a, &msg, now),
            MessageType::QueryAgentStateReq => self.query_agent_state(conn_id, a, &msg),
            MessageType::SnapshotDeviceReq => self.snapshot_device(conn_id, a, &msg),
            MessageType::AnswerCallReq => self.answer(conn_id, a, &msg, now),
            MessageType::HoldCallReq => self.hold(conn_id, a, &msg),
            MessageType::RetrieveCallReq => self.retrieve(conn_id, a, &msg),
            MessageType::ClearConnectionReq | MessageType::ClearCallReq => {
                self.clear(conn_id, a, &msg, now)
            }
            MessageType::ConsultationCallReq => self.consult(conn_id, a, &msg),
            MessageType::TransferCallReq => self.transfer(conn_id, a, &msg, now),
            MessageType::ConferenceCallReq => self.conference(conn_id, a, &msg),
            MessageType::ReconnectCallReq => self.reconnect(conn_id, a, &msg),
            MessageType::MakeCallReq => self.make_call(conn_id, a, &msg),
            MessageType::SendDtmfSignalReq => self.dtmf(conn_id, a, &msg),
            MessageType::SetCallDataReq => self.set_call_data(conn_id, a, &msg, now),
            _ => {
                self.counters.requests_refused += 1;
                self.failure_conf(conn_id, &msg, StatusCode::InvalidMessageType);
            }
        }
        After::Continue
    }

    /// The version an OPEN_REQ asks for (its fixed part does not depend on the version).
    pub(super) fn requested_version(&self, frame: &[u8]) -> WireVersion {
        for guess in [17, 18] {
            if let Ok(msg) = decode(frame, self.wire_version(guess)) {
                if let Some(v) = msg.get(fields::open_req::VERSION_NUMBER) {
                    return self.wire_version(v.clamp(WireVersion::MIN, WireVersion::MAX));
                }
                return self.wire_version(guess);
            }
        }
        WireVersion::DEFAULT
    }

    /// An OPEN_REQ that does not decode under any version the simulator speaks (version 19
    /// or later, a damaged body) still gets its FAILURE_CONF: InvokeID and VersionNumber
    /// are the first two words of the fixed part in every version, and FAILURE_CONF has no
    /// floating part.
    pub(super) fn refuse_raw_open(&mut self, conn_id: u64, frame: &[u8]) {
        let word = |at: usize| {
            frame
                .get(at..at + 4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(u32::from_be_bytes)
        };
        if word(4) != Some(MessageType::OpenReq.id()) {
            return;
        }
        let invoke = word(HEADER_LEN).unwrap_or(0);
        let status = match word(HEADER_LEN + 4) {
            Some(v) if (WireVersion::MIN..=WireVersion::MAX).contains(&v) => {
                StatusCode::UnspecifiedFailure
            }
            _ => StatusCode::InvalidVersion,
        };
        self.counters.sessions_refused += 1;
        self.send_with(
            conn_id,
            WireVersion::DEFAULT,
            MessageType::FailureConf,
            |e| {
                e.set(fields::failure_conf::INVOKE_ID, invoke)
                    .set(fields::failure_conf::STATUS, status);
            },
        );
    }

    pub(super) fn failure_conf(&mut self, conn_id: u64, msg: &Message<'_>, status: StatusCode) {
        let id = msg.invoke_id().unwrap_or(0);
        self.send(conn_id, MessageType::FailureConf, |e| {
            e.set(fields::failure_conf::INVOKE_ID, id)
                .set(fields::failure_conf::STATUS, status);
        });
    }

    pub(super) fn control_failure(
        &mut self,
        conn_id: u64,
        msg: &Message<'_>,
        status: StatusCode,
        error: PeripheralErrorCode,
    ) {
        self.counters.requests_refused += 1;
        let id = msg.invoke_id().unwrap_or(0);
        let code = control_failure_code(status);
        self.send(conn_id, MessageType::ControlFailureConf, |e| {
            e.set(fields::control_failure_conf::INVOKE_ID, id)
                .set(fields::control_failure_conf::FAILURE_CODE, code)
                .set(fields::control_failure_conf::PERIPHERAL_ERROR_CODE, error);
        });
    }

    pub(super) fn confirm(&mut self, conn_id: u64, ty: MessageType, msg: &Message<'_>) {
        let id = msg.invoke_id().unwrap_or(0);
        // Every simple confirmation is InvokeID only: write it through the layout's first
        // field rather than a per-message handle.
        self.send(conn_id, ty, |e| {
            e.set_fixed_raw(0, id);
        });
    }

    pub(super) fn open(&mut self, conn_id: u64, msg: &Message<'_>, now: Instant) -> After {
        let invoke = msg.get(fields::open_req::INVOKE_ID).unwrap_or(0);
        let requested = msg.get(fields::open_req::VERSION_NUMBER).unwrap_or(0);
        let reply_version = msg.version();
        let refuse = |world: &mut World, status: StatusCode| {
            world.counters.sessions_refused += 1;
            world.send_with(conn_id, reply_version, MessageType::FailureConf, |e| {
                e.set(fields::failure_conf::INVOKE_ID, invoke)
                    .set(fields::failure_conf::STATUS, status);
            });
            After::Continue
        };
        let master = self
            .conns
            .get(&conn_id)
            .map(|c| c.node.is_master())
            .unwrap_or(false);
        if !master {
            return refuse(self, StatusCode::ServerNotMaster);
        }
        if !(WireVersion::MIN..=WireVersion::MAX).contains(&requested) {
            return refuse(self, StatusCode::InvalidVersion);
        }
        let idle = msg.get(fields::open_req::IDLE_TIMEOUT).unwrap_or(0);
        if !rules::idle_timeout_ok(idle, self.cfg.heartbeat_rule.as_ref()) {
            return refuse(self, StatusCode::InvalidTimeout);
        }
        if self.conns.get(&conn_id).and_then(|c| c.version).is_some() {
            return refuse(self, StatusCode::SessionAlreadyOpen);
        }
        let id = msg.string(tag::AGENT_ID).filter(|s| !s.is_empty());
        let ext = msg.string(tag::AGENT_EXTENSION).filter(|s| !s.is_empty());
        let inst = msg.string(tag::AGENT_INSTRUMENT).filter(|s| !s.is_empty());
        let found = self.agents.iter().position(|a| {
            let by_id = id.map(|v| v == a.def.id);
            let by_ext = ext.map(|v| v == a.def.extension);
            let by_inst = inst.map(|v| v == a.def.instrument());
            let named = [by_id, by_ext, by_inst];
            named.contains(&Some(true)) && !named.contains(&Some(false))
        });
        let Some(a) = found else {
            return refuse(self, StatusCode::InvalidAgentData);
        };
        // A second session for the same agent ends the first. Unified CCX asks for no
        // password here; under `require_password` the OPEN_REQ's ClientPassword (or an
        // AgentPassword field) must be the agent's.
        if let Some(old) = self.agents.get(a).and_then(|ag| ag.conn) {
            if old != conn_id && self.cfg.require_password {
                let given = msg
                    .string(tag::AGENT_PASSWORD)
                    .map(str::as_bytes)
                    .or_else(|| {
                        msg.field(tag::CLIENT_PASSWORD)
                            .map(|b| b.strip_suffix(&[0]).unwrap_or(b))
                    })
                    .unwrap_or(&[]);
                let known = self.agents.get(a).map(|ag| ag.def.password.as_bytes());
                if known != Some(given) {
                    return refuse(self, StatusCode::InvalidPassword);
                }
            }
            if old != conn_id {
                self.counters.sessions_replaced += 1;
                self.send(old, MessageType::FailureEvent, |e| {
                    e.set(fields::failure_event::STATUS, StatusCode::NewSessionOpened);
                });
                self.close(old);
            }
        }
        let version = self.wire_version(requested);
        let services = msg.get(fields::open_req::SERVICES_REQUESTED).unwrap_or(0);
        if let Some(conn) = self.conns.get_mut(&conn_id) {
            conn.version = Some(version);
            conn.agent = Some(a);
            conn.idle_timeout = match self.cfg.idle_timeout_override_ms {
                Some(ms) => Some(Duration::from_millis(ms)),
                None => (idle != u32::MAX).then(|| Duration::from_secs(u64::from(idle))),
            };
            conn.call_mask = msg.get(fields::open_req::CALL_MSG_MASK).unwrap_or(0);
            conn.agent_mask = msg.get(fields::open_req::AGENT_STATE_MASK).unwrap_or(0);
            conn.last_rx = now;
        }
        let (state, def) = {
            let Some(mut agent) = self.agents.get_mut(a) else {
                return After::Continue;
            };
            agent.conn = Some(conn_id);
            (agent.state, agent.def.clone())
        };
        self.rules.opened(conn_id, now);
        self.counters.sessions_opened += 1;
        log::info!(
            "simulator: session opened on connection {conn_id} for {} (ext {}, {state:?})",
            def.id,
            def.extension
        );
        self.send(conn_id, MessageType::OpenConf, |e| {
            e.set(fields::open_conf::INVOKE_ID, invoke)
                .set(
                    fields::open_conf::SERVICES_GRANTED,
                    services & SUPPORTED_SERVICES,
                )
                .set(fields::open_conf::CCX_ONLINE, true)
                .set(fields::open_conf::AGENT_STATE, state);
            e.string(tag::AGENT_EXTENSION, &def.extension)
                .string(tag::AGENT_INSTRUMENT, def.instrument())
                .string(tag::AGENT_ID, &def.id);
            if version.number() >= 14 {
                e.number(tag::NUM_PERIPHERALS, 1)
                    .number(tag::FLT_PERIPHERAL_ID, 1)
                    .number(tag::MULTILINE_AGENT_CONTROL, 1);
            }
            if version.number() >= 18 {
                e.number(tag::CONFIG_MSG_MASK_GRANTED, 0);
            }
        });
        After::Continue
    }
}
