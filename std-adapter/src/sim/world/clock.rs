//! Time passing in the contact center: arrivals, routing to the longest-available agent,
//! contact offers, scheduled actions and idle timeouts.

use super::*;

impl World {
    // ---- time ------------------------------------------------------------------------------

    /// Offer an inbound call now (it queues until an agent is available).
    pub(crate) fn enqueue_call(&mut self, call: InboundCall) {
        self.queue.push_back(call);
    }

    /// Let time pass: arrivals, routing, campaign offers, timers, idle sessions.
    pub(crate) fn tick(&mut self, now: Instant) {
        if self.paused {
            self.expire_idle(now);
            return;
        }
        let elapsed = now.saturating_duration_since(self.start);
        while self
            .script
            .front()
            .is_some_and(|c| Duration::from_millis(c.at_ms) <= elapsed)
        {
            if let Some(call) = self.script.pop_front() {
                self.queue.push_back(call);
            }
        }
        while let Some(at) = self.next_arrival.filter(|t| *t <= now) {
            let n = self.counters.inbound_offered + self.queue.len() as u64;
            self.queue.push_back(InboundCall {
                ani: format!("555{:04}", n % 10_000),
                ..InboundCall::default()
            });
            self.next_arrival = self.draw_arrival(at);
        }
        if !self.queue.is_empty() || self.cfg.campaign.is_some() {
            let mut idle = self.idle_agents();
            if !idle.is_empty() {
                self.route_inbound(now, &mut idle);
                self.offer_contacts(now, &mut idle);
            }
        }
        self.run_scheduled(now);
        self.expire_idle(now);
    }

    /// Agents that may take work: AVAILABLE, with a session, without calls.
    pub(super) fn idle_agents(&self) -> Vec<usize> {
        let busy: HashSet<usize> = self.calls.values().map(|c| c.agent).collect();
        self.agents
            .iter()
            .enumerate()
            .filter(|(i, a)| {
                a.state == AgentState::Available && a.conn.is_some() && !busy.contains(i)
            })
            .map(|(i, _)| i)
            .collect()
    }

    pub(super) fn route_inbound(&mut self, now: Instant, idle: &mut Vec<usize>) {
        while let Some(call) = self.queue.front() {
            let csq = call.csq;
            let best =
                idle.iter()
                    .enumerate()
                    .filter(|(_, a)| {
                        csq == 0
                            || self.agents.get(**a).is_some_and(|ag| {
                                ag.def.csqs.is_empty() || ag.def.csqs.contains(&csq)
                            })
                    })
                    .min_by_key(|(_, a)| self.agents.get(**a).map(|ag| ag.available_since))
                    .map(|(i, a)| (i, *a));
            let Some((slot, a)) = best else {
                break;
            };
            let Some(call) = self.queue.pop_front() else {
                break;
            };
            idle.swap_remove(slot);
            self.offer_inbound(a, call, now);
        }
    }

    pub(super) fn offer_inbound(&mut self, a: usize, call: InboundCall, now: Instant) {
        let id = self.new_call_id();
        self.calls.insert(
            id,
            Call {
                id,
                kind: CallKind::Inbound,
                agent: a,
                call_type: CallType::AcdIn,
                lcs: LocalConnectionState::Alerting,
                party: call.ani,
                dnis: call.dnis,
                csq: call.csq,
                vars: vars::CallVars::from_list(call.vars),
                call_vars: call.call_vars,
            },
        );
        self.counters.inbound_offered += 1;
        log::info!(
            "simulator: call {id} offered to {} (ext {})",
            self.agent_id(a),
            self.ext(a)
        );
        self.set_state(a, AgentState::Reserved, 0, now);
        self.ev_begin_call(id, &[]);
        self.ev_delivered(id);
    }

    pub(super) fn offer_contacts(&mut self, now: Instant, idle: &mut Vec<usize>) {
        if self.cfg.campaign.is_none() {
            return;
        }
        while let Some(Reverse((at, contact))) = self.contacts_later.peek().copied() {
            if at > now {
                break;
            }
            self.contacts_later.pop();
            self.contacts_ready.push_back(contact);
        }
        let mut i = 0;
        while let Some(&a) = idle.get(i) {
            let due = self
                .agents
                .get(a)
                .is_some_and(|ag| ag.outbound && ag.next_offer_at <= now);
            if !due {
                i += 1;
                continue;
            }
            // The next open contact; entries of contacts that changed since are dropped.
            let next = loop {
                match self.contacts_ready.pop_front() {
                    Some(c)
                        if self
                            .contacts
                            .get(c)
                            .is_some_and(|r| r.status == ContactStatus::Open) =>
                    {
                        break Some(c)
                    }
                    Some(_) => continue,
                    None => break None,
                }
            };
            let Some(contact) = next else {
                return;
            };
            idle.swap_remove(i);
            self.offer_contact(a, contact, now);
        }
    }

    pub(super) fn run_scheduled(&mut self, now: Instant) {
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.scheduled)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.scheduled = later;
        for (_, action) in due {
            match action {
                Action::WrapupExpired { agent } => {
                    if self.agents.get(agent).map(|a| a.state) == Some(AgentState::WorkNotReady) {
                        self.set_state(
                            agent,
                            AgentState::Available,
                            EventReasonCode::WorkTimerExp.value(),
                            now,
                        );
                    }
                }
                Action::CustomerHangup { call } => {
                    if self.calls.contains_key(&call) {
                        self.finish_call(call, EventCause::CecNone, now);
                    }
                }
            }
        }
    }

    pub(super) fn expire_idle(&mut self, now: Instant) {
        // Idle timeouts are seconds long: a look every 50 ms is plenty.
        if now.saturating_duration_since(self.last_idle_check) < Duration::from_millis(50) {
            return;
        }
        self.last_idle_check = now;
        let open_deadline = Duration::from_millis(self.cfg.limits.open_deadline_ms);
        let unopened: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                c.version.is_none() && now.saturating_duration_since(c.connected_at) > open_deadline
            })
            .map(|(id, _)| *id)
            .collect();
        for id in unopened {
            if self.warn_limit.allow("open deadline", now) {
                log::info!("simulator: connection {id} opened no session within {open_deadline:?} of connecting; closing");
            }
            self.counters.open_deadlines += 1;
            self.close(id);
        }
        let expired: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                c.version.is_some()
                    && c.idle_timeout
                        .is_some_and(|l| now.saturating_duration_since(c.last_rx) > l)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            log::info!("simulator: connection {id} idle for longer than its IdleTimeout; closing");
            self.counters.idle_timeouts += 1;
            self.close(id);
        }
        self.expire_heartbeats(now);
    }
}
