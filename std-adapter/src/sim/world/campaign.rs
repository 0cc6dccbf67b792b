//! Call data and the outbound preview campaign: SET_CALL_DATA_REQ, the agent's answers to a
//! reservation, and the customer calls placed after Accept.

use super::*;

impl World {
    // ---- call data and the outbound preview ------------------------------------------------

    pub(super) fn set_call_data(
        &mut self,
        conn_id: u64,
        a: usize,
        msg: &Message<'_>,
        now: Instant,
    ) {
        let Some(id) = self.own_call(a, msg.get(fields::set_call_data_req::CONNECTION_CALL_ID))
        else {
            return self.control_failure(
                conn_id,
                msg,
                StatusCode::NotCallParty,
                PeripheralErrorCode::RmcmContactInvalid,
            );
        };
        let vars: Vec<(String, String)> = msg
            .named_vars()
            .filter(|v| v.index.is_none())
            .map(|v| (v.name.to_string(), v.value.to_string()))
            .collect();
        let call_vars: Vec<(u16, String)> = msg
            .fields()
            .filter(|f| (tag::CALL_VAR1..=tag::CALL_VAR10).contains(&f.tag))
            .map(|f| (f.tag, wire_text(f.data)))
            .collect();
        let response = vars
            .iter()
            .find(|(n, _)| n == "BAResponse")
            .map(|(_, v)| v.clone());
        let kind = self.calls.get(&id).map(|c| c.kind);
        match (kind, response) {
            (Some(CallKind::Reservation { contact }), Some(resp)) => {
                self.preview_answer(conn_id, a, id, contact, &resp, msg, now)
            }
            (Some(CallKind::Reservation { .. }), None) => self.control_failure(
                conn_id,
                msg,
                StatusCode::RequiredDataMissing,
                PeripheralErrorCode::InvalidArgument,
            ),
            (Some(CallKind::Customer { contact }), Some(resp)) => {
                if !valid_reclassification(&resp) || !self.store_vars(id, &vars) {
                    return self.control_failure(
                        conn_id,
                        msg,
                        StatusCode::UnspecifiedFailure,
                        PeripheralErrorCode::InvalidArgument,
                    );
                }
                if let Some(mut rec) = self.contacts.get_mut(contact) {
                    if let Some(when) = resp.strip_prefix("Callback ") {
                        rec.callback = Some(when.to_string());
                        rec.outcome = "callback".into();
                    } else {
                        rec.outcome = resp.clone();
                    }
                }
                self.confirm(conn_id, MessageType::SetCallDataConf, msg);
                self.ev_data_update(id, &vars, &call_vars);
            }
            _ => {
                if !self.store_vars(id, &vars) {
                    return self.control_failure(
                        conn_id,
                        msg,
                        StatusCode::UnspecifiedFailure,
                        PeripheralErrorCode::InvalidArgument,
                    );
                }
                if let Some(mut c) = self.calls.get_mut(&id) {
                    for (t, v) in &call_vars {
                        let i = usize::from(t - tag::CALL_VAR1);
                        if c.call_vars.len() <= i {
                            c.call_vars.resize(i + 1, String::new());
                        }
                        if let Some(slot) = c.call_vars.get_mut(i) {
                            *slot = v.clone();
                        }
                    }
                }
                self.confirm(conn_id, MessageType::SetCallDataConf, msg);
                self.ev_data_update(id, &vars, &call_vars);
            }
        }
    }

    /// Store a request's variables on the call; false (nothing stored) past the caps.
    pub(super) fn store_vars(&mut self, id: u32, vars: &[(String, String)]) -> bool {
        let (count, bytes) = (
            self.cfg.limits.max_call_vars,
            self.cfg.limits.max_call_var_bytes,
        );
        match self
            .calls
            .get_mut(&id)
            .map(|mut c| c.vars.store(vars, count, bytes))
        {
            Some(Err(full)) => {
                self.counters.call_vars_refused += 1;
                let key = "call variables";
                if self.warn_limit.allow(key, Instant::now()) {
                    log::warn!("simulator: call {id}: call variables refused ({full:?} cap: {count} names, {bytes} bytes)");
                }
                false
            }
            _ => true,
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn preview_answer(
        &mut self,
        conn_id: u64,
        a: usize,
        id: u32,
        contact: usize,
        response: &str,
        msg: &Message<'_>,
        now: Instant,
    ) {
        let retry = self
            .cfg
            .campaign
            .as_ref()
            .map(|c| Duration::from_millis(c.retry_delay_ms))
            .unwrap_or_default();
        let max_attempts = self
            .cfg
            .campaign
            .as_ref()
            .map(|c| c.max_attempts)
            .unwrap_or(1);
        let echo = vec![("BAResponse".to_string(), response.to_string())];
        let outcome: &str = match response {
            "Accept" => "accepted",
            "Reject" => "rejected",
            "Reject-Close" => "reject-closed",
            "Skip" => "skipped",
            "Skip-Close" => "skip-closed",
            "Cancel Reservation" => "reservation-cancelled",
            _ => {
                return self.control_failure(
                    conn_id,
                    msg,
                    StatusCode::UnspecifiedFailure,
                    PeripheralErrorCode::InvalidArgument,
                )
            }
        };
        *self
            .counters
            .contacts
            .entry(outcome.to_string())
            .or_default() += 1;
        let _ = self.store_vars(id, &echo);
        self.confirm(conn_id, MessageType::SetCallDataConf, msg);
        if let Some(mut rec) = self.contacts.get_mut(contact) {
            rec.outcome = outcome.to_string();
            match response {
                "Accept" => rec.status = ContactStatus::Dialed,
                "Reject-Close" | "Skip-Close" => rec.status = ContactStatus::Closed,
                "Cancel Reservation" => {
                    rec.status = ContactStatus::Open;
                    self.contacts_ready.push_back(contact);
                }
                _ if rec.attempts >= max_attempts => rec.status = ContactStatus::Closed,
                _ => {
                    rec.status = ContactStatus::Open;
                    rec.next_try = now + retry;
                    self.contacts_later.push(Reverse((rec.next_try, contact)));
                }
            }
        }
        match response {
            "Accept" => {
                self.ev_data_update(id, &echo, &[]);
                self.ev_clear(id, true, EventCause::CecNone);
                self.place_customer_call(a, contact, now);
            }
            "Skip" | "Skip-Close" => {
                // The guide's "agent skips the contact" flow.
                self.set_state(a, AgentState::Available, 0, now);
                self.ev_data_update(id, &echo, &[]);
                self.ev_clear(id, true, EventCause::CecNone);
            }
            "Cancel Reservation" => {
                self.ev_data_update(id, &echo, &[]);
                self.ev_clear(id, true, EventCause::CecNone);
                self.set_state(
                    a,
                    AgentState::NotReady,
                    EventReasonCode::CancelReservation.value(),
                    now,
                );
            }
            _ => {
                self.ev_data_update(id, &echo, &[]);
                self.ev_clear(id, true, EventCause::CecNone);
                self.set_state(a, AgentState::Available, 0, now);
            }
        }
    }

    pub(super) fn offer_contact(&mut self, a: usize, contact: usize, now: Instant) {
        let Some(campaign) = self.cfg.campaign.as_ref() else {
            return;
        };
        let vars = {
            let Some(mut rec) = self.contacts.get_mut(contact) else {
                return;
            };
            rec.status = ContactStatus::Offered;
            rec.attempts += 1;
            vec![
                ("BACampaign".to_string(), campaign.name.clone()),
                ("BACampaignID".to_string(), campaign.id.clone()),
                ("BAStatus".to_string(), "DO".to_string()),
                ("BAResponse".to_string(), String::new()),
                ("user.layout".to_string(), campaign.layout.clone()),
                ("BAAccountNumber".to_string(), rec.contact.account.clone()),
                ("BADialedListID".to_string(), rec.dialed_list_id.to_string()),
                ("BABuddyName".to_string(), rec.contact.buddy_name()),
            ]
        };
        let id = self.new_call_id();
        let ext = self.ext(a);
        self.calls.insert(
            id,
            Call {
                id,
                kind: CallKind::Reservation { contact },
                agent: a,
                call_type: CallType::Reservation,
                lcs: LocalConnectionState::Alerting,
                party: ext,
                dnis: String::new(),
                csq: 0,
                vars: vars::CallVars::from_list(vars),
                call_vars: Vec::new(),
            },
        );
        self.counters.reservations_offered += 1;
        self.set_state(a, AgentState::Reserved, 0, now);
        self.ev_begin_call(id, &[]);
        self.ev_delivered(id);
    }

    pub(super) fn place_customer_call(&mut self, a: usize, contact: usize, now: Instant) {
        let Some(campaign) = self.cfg.campaign.as_ref() else {
            return;
        };
        let Some(rec) = self.contacts.get(contact) else {
            return;
        };
        let phone = rec.contact.phone.clone();
        let account = rec.contact.account.clone();
        let vars = vec![
            ("BACampaign".to_string(), campaign.name.clone()),
            ("BAStatus".to_string(), "CO".to_string()),
            ("BAResponse".to_string(), String::new()),
            ("BAAccountNumber".to_string(), account.clone()),
            ("BADialedListID".to_string(), rec.dialed_list_id.to_string()),
            ("BABuddyName".to_string(), rec.contact.buddy_name()),
            ("BACustomerNumber".to_string(), phone.clone()),
        ];
        let id = self.new_call_id();
        self.calls.insert(
            id,
            Call {
                id,
                kind: CallKind::Customer { contact },
                agent: a,
                // Unified CCX tells reservation and customer calls apart by BAStatus; the
                // customer call is typed as a preview call here.
                call_type: CallType::Preview,
                lcs: LocalConnectionState::Initiate,
                party: phone.clone(),
                dnis: String::new(),
                csq: 0,
                vars: vars::CallVars::from_list(vars),
                call_vars: Vec::new(),
            },
        );
        self.counters.customer_calls += 1;
        self.ev_begin_call(
            id,
            &[
                (tag::DIALED_NUMBER, phone.clone()),
                (tag::CUSTOMER_PHONE_NUMBER, phone),
                (tag::CUSTOMER_ACCOUNT_NUMBER, account),
            ],
        );
        self.ev_outgoing(id);
        self.becomes_talking(a, now);
    }
}
