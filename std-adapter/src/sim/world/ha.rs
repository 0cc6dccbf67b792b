//! Side A / side B: a node that stops or turns standby closes its sessions; the cluster's
//! state (agents, calls) lives on for the other side. Between two processes the master
//! sends that state to the standby as a [`Replica`] (`sim::replica`), which the standby
//! applies, so that the phones find their agent and calls there after a failover.

use serde::{Deserialize, Serialize};

use super::*;

/// What the standby needs to answer as the master would: agents, calls, campaign progress.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Replica {
    agents: Vec<AgentRep>,
    calls: Vec<CallRep>,
    next_call_id: u32,
    contacts: Vec<ContactRep>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct AgentRep {
    id: String,
    state: u16,
    reason: u16,
    outbound: bool,
    pending: Option<(u16, u16)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct CallRep {
    id: u32,
    /// 0 inbound, 1 reservation, 2 customer, 3 consult, 4 dialed.
    kind: u8,
    /// The contact (reservation, customer) or the consulted call.
    of: u64,
    agent: usize,
    call_type: u16,
    lcs: u16,
    party: String,
    dnis: String,
    csq: u32,
    vars: Vec<(String, String)>,
    call_vars: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ContactRep {
    account: String,
    /// 0 open, 1 offered, 2 dialed, 3 closed.
    status: u8,
    attempts: u32,
    outcome: String,
    callback: Option<String>,
}

/// What changed from one state to the next: once the standby has a whole state, the master
/// sends only this (a state is about 100 bytes an agent, 1 MB at 10 000 agents).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Delta {
    /// Agents that changed, with their place in the master's list.
    agents: Vec<(usize, AgentRep)>,
    /// Calls that are new or changed.
    calls: Vec<CallRep>,
    /// CallIDs of the calls that are gone.
    gone: Vec<u32>,
    next_call_id: u32,
    /// Contacts that changed, with their place in the master's list.
    contacts: Vec<(usize, ContactRep)>,
}

impl Replica {
    /// What changed since `prev`; `None` when the lists changed shape (send the whole).
    pub(crate) fn delta_from(&self, prev: &Replica) -> Option<Delta> {
        if self.agents.len() != prev.agents.len() || self.contacts.len() != prev.contacts.len() {
            return None;
        }
        let agents = self
            .agents
            .iter()
            .zip(&prev.agents)
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .map(|(i, (a, _))| (i, a.clone()))
            .collect();
        let contacts = self
            .contacts
            .iter()
            .zip(&prev.contacts)
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .map(|(i, (a, _))| (i, a.clone()))
            .collect();
        let before: HashMap<u32, &CallRep> = prev.calls.iter().map(|c| (c.id, c)).collect();
        let now: HashSet<u32> = self.calls.iter().map(|c| c.id).collect();
        let calls = self
            .calls
            .iter()
            .filter(|c| before.get(&c.id) != Some(c))
            .cloned()
            .collect();
        let gone = prev
            .calls
            .iter()
            .map(|c| c.id)
            .filter(|id| !now.contains(id))
            .collect();
        Some(Delta {
            agents,
            calls,
            gone,
            next_call_id: self.next_call_id,
            contacts,
        })
    }
}

/// How far a side that takes over moves its next CallID on.
const TAKEOVER_CALL_ID_STEP: u32 = 1_000_000;

impl Replica {
    /// Agents in it.
    pub(crate) fn agent_count(&self) -> usize {
        self.agents.len()
    }
}

impl World {
    /// Close every connection of a node (the node stops).
    pub(crate) fn close_node(&mut self, node: &Arc<NodeState>) {
        let ids: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| Arc::ptr_eq(&c.node, node))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.remove_conn(id);
        }
    }

    /// Open sessions on `node`: the side with fewer gives way when an island heals.
    pub(crate) fn sessions_of(&self, node: &Arc<NodeState>) -> usize {
        self.conns
            .values()
            .filter(|c| Arc::ptr_eq(&c.node, node) && c.version.is_some())
            .count()
    }

    /// The state a standby takes over.
    pub(crate) fn replica(&self) -> Replica {
        Replica {
            agents: self
                .agents
                .iter()
                .map(|a| AgentRep {
                    id: a.def.id.clone(),
                    state: a.state.value(),
                    reason: a.reason,
                    outbound: a.outbound,
                    pending: a.pending.map(|(s, r)| (s.value(), r)),
                })
                .collect(),
            calls: self
                .calls
                .values()
                .map(|c| {
                    let (kind, of) = match c.kind {
                        CallKind::Inbound => (0, 0),
                        CallKind::Reservation { contact } => (1, contact as u64),
                        CallKind::Customer { contact } => (2, contact as u64),
                        CallKind::Consult { of } => (3, u64::from(of)),
                        CallKind::Dialed => (4, 0),
                    };
                    CallRep {
                        id: c.id,
                        kind,
                        of,
                        agent: c.agent,
                        call_type: c.call_type.value(),
                        lcs: c.lcs.value(),
                        party: c.party.clone(),
                        dnis: c.dnis.clone(),
                        csq: c.csq,
                        vars: c.vars.list().to_vec(),
                        call_vars: c.call_vars.clone(),
                    }
                })
                .collect(),
            next_call_id: self.next_call_id,
            contacts: self
                .contacts
                .iter()
                .map(|c| ContactRep {
                    account: c.contact.account.clone(),
                    status: match c.status {
                        ContactStatus::Open => 0,
                        ContactStatus::Offered => 1,
                        ContactStatus::Dialed => 2,
                        ContactStatus::Closed => 3,
                    },
                    attempts: c.attempts,
                    outcome: c.outcome.clone(),
                    callback: c.callback.clone(),
                })
                .collect(),
        }
    }

    /// Take the master's state (a standby). Agents and contacts are matched by ID and account
    /// (both sides run one configuration); an unknown one is skipped with a warning.
    pub(crate) fn apply_replica(&mut self, r: Replica) {
        for (i, rep) in r.agents.into_iter().enumerate() {
            self.set_agent(i, rep);
        }
        self.calls.clear();
        for c in r.calls {
            self.calls.insert(c.id, call_of(c));
        }
        self.next_call_id = self.next_call_id.max(r.next_call_id);
        for (i, rep) in r.contacts.into_iter().enumerate() {
            self.set_contact(i, rep);
        }
    }

    /// Take what changed on the master since the last state (a standby that has one).
    pub(crate) fn apply_delta(&mut self, d: Delta) {
        for (i, rep) in d.agents {
            self.set_agent(i, rep);
        }
        for id in d.gone {
            self.calls.remove(&id);
        }
        for c in d.calls {
            self.calls.insert(c.id, call_of(c));
        }
        self.next_call_id = self.next_call_id.max(d.next_call_id);
        for (i, rep) in d.contacts {
            self.set_contact(i, rep);
        }
    }

    /// The master's agent `rep`, at place `i` of its list.
    fn set_agent(&mut self, i: usize, rep: AgentRep) {
        // Both sides run one configuration: the agent is almost always at the same place,
        // and a search per agent would cost n² with thousands of agents.
        let at = match self.agents.get(i) {
            Some(a) if a.def.id == rep.id => Some(i),
            _ => self.agents.iter().position(|a| a.def.id == rep.id),
        };
        match at.and_then(|i| self.agents.get_mut(i)) {
            Some(a) => {
                a.state = AgentState::from(rep.state);
                a.reason = rep.reason;
                a.outbound = rep.outbound;
                a.pending = rep.pending.map(|(s, r)| (AgentState::from(s), r));
            }
            None => log::warn!(
                "simulator: the master has agent {} that this side does not; skipped",
                rep.id
            ),
        }
    }

    /// The master's contact `rep`, at place `i` of its list (skipped if it is another).
    fn set_contact(&mut self, i: usize, rep: ContactRep) {
        let Some(rec) = self.contacts.get_mut(i) else {
            return;
        };
        if rec.contact.account != rep.account {
            return;
        }
        rec.status = match rep.status {
            0 => ContactStatus::Open,
            1 => ContactStatus::Offered,
            2 => ContactStatus::Dialed,
            _ => ContactStatus::Closed,
        };
        rec.attempts = rep.attempts;
        rec.outcome = rep.outcome;
        rec.callback = rep.callback;
    }

    /// This side becomes master by takeover: it runs again, and its new calls take IDs from
    /// a range of their own, so that they never meet the old master's calls of an island.
    pub(crate) fn took_over(&mut self) {
        self.paused = false;
        self.next_call_id = self.next_call_id.saturating_add(TAKEOVER_CALL_ID_STEP);
    }

    /// The state of the agents with a session on `node`, and their calls: what a side
    /// hands over when an island heals and it demotes.
    pub(crate) fn replica_of(&self, node: &Arc<NodeState>) -> Replica {
        let mut r = self.replica();
        let mine: HashSet<String> = self
            .agents
            .iter()
            .filter(|a| {
                a.conn
                    .and_then(|c| self.conns.get(&c))
                    .is_some_and(|c| Arc::ptr_eq(&c.node, node))
            })
            .map(|a| a.def.id.clone())
            .collect();
        r.agents.retain(|a| mine.contains(&a.id));
        r.calls.retain(|c| {
            self.agents
                .get(c.agent)
                .is_some_and(|a| mine.contains(&a.def.id))
        });
        r.contacts.clear();
        r
    }

    /// Take over the agents (and their calls) of a side that demotes after an island: their
    /// phones come here with the state they had there. Returns how many agents came.
    pub(crate) fn apply_handover(&mut self, r: Replica) -> usize {
        let mut came = 0;
        for rep in &r.agents {
            let Some(a) = self.agents.iter().position(|a| a.def.id == rep.id) else {
                continue;
            };
            // Their calls here are stale: the other side had the agent.
            let stale: Vec<u32> = self
                .calls
                .values()
                .filter(|c| c.agent == a)
                .map(|c| c.id)
                .collect();
            for id in stale {
                self.calls.remove(&id);
            }
            if let Some(agent) = self.agents.get_mut(a) {
                agent.state = AgentState::from(rep.state);
                agent.reason = rep.reason;
                agent.outbound = rep.outbound;
                agent.pending = rep.pending.map(|(s, r)| (AgentState::from(s), r));
            }
            came += 1;
        }
        for c in r.calls {
            if self.calls.contains_key(&c.id) {
                log::warn!(
                    "simulator: call {} of the other side has an ID in use here; dropped",
                    c.id
                );
                continue;
            }
            let Some(agent) = self.agents.get(c.agent) else {
                continue;
            };
            if !r.agents.iter().any(|a| a.id == agent.def.id) {
                continue;
            }
            self.next_call_id = self.next_call_id.max(c.id.saturating_add(1));
            self.calls.insert(c.id, call_of(c));
        }
        came
    }
}

fn call_of(c: CallRep) -> Call {
    let kind = match c.kind {
        1 => CallKind::Reservation {
            contact: c.of as usize,
        },
        2 => CallKind::Customer {
            contact: c.of as usize,
        },
        3 => CallKind::Consult {
            of: u32::try_from(c.of).unwrap_or(0),
        },
        4 => CallKind::Dialed,
        _ => CallKind::Inbound,
    };
    Call {
        id: c.id,
        kind,
        agent: c.agent,
        call_type: CallType::from(c.call_type),
        lcs: LocalConnectionState::from(c.lcs),
        party: c.party,
        dnis: c.dnis,
        csq: c.csq,
        vars: vars::CallVars::from_list(c.vars),
        call_vars: c.call_vars,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::AgentDef;

    fn world(ids: impl Iterator<Item = usize>) -> World {
        World::new(SimConfig {
            agents: ids.map(AgentDef::generated).collect(),
            ..SimConfig::default()
        })
    }

    #[test]
    fn a_state_reaches_each_agent_by_its_id_whatever_the_order() {
        let mut master = world(0..50);
        for (i, a) in master.agents.iter_mut().enumerate() {
            a.state = if i % 3 == 0 {
                AgentState::Talking
            } else {
                AgentState::Available
            };
            a.reason = u16::try_from(i).unwrap_or(0);
        }
        // Same order (the usual case) and another order (a configuration edited in between).
        for mut standby in [world(0..50), world((0..50).rev())] {
            standby.apply_replica(master.replica());
            for a in &standby.agents {
                let m = master.agents.iter().find(|m| m.def.id == a.def.id);
                let m = m.map(|m| (m.state, m.reason));
                assert_eq!(Some((a.state, a.reason)), m, "{}", a.def.id);
            }
        }
    }

    #[test]
    fn whole_then_changes_give_the_standby_the_masters_state() {
        let mut master = world(0..20);
        let before = master.replica();
        let call = |id: u32, agent: usize, lcs: u16| CallRep {
            id,
            kind: 0,
            of: 0,
            agent,
            call_type: 1,
            lcs,
            party: format!("555{id}"),
            dnis: "7000".into(),
            csq: 1,
            vars: vec![("order".into(), format!("A-{id}"))],
            call_vars: Vec::new(),
        };
        // Two calls, then one of them ends, one changes and one starts; agents move.
        let mut first = before.clone();
        first.calls = vec![call(10, 1, 2), call(11, 2, 2)];
        master.apply_replica(first.clone());
        let first = master.replica();
        let mut second = first.clone();
        second.calls = vec![call(11, 2, 3), call(12, 4, 2)];
        second.next_call_id = 13;
        if let Some(a) = second.agents.get_mut(4) {
            a.state = AgentState::Talking.value();
            a.reason = 32;
        }
        master.apply_replica(second);
        let second = master.replica();

        let mut standby = world(0..20);
        standby.apply_replica(first.clone());
        let d = second.delta_from(&first).unwrap();
        assert_eq!(d.agents.len(), 1, "{d:?}");
        assert_eq!(d.gone, vec![10]);
        assert_eq!(d.calls.len(), 2, "{d:?}");
        standby.apply_delta(d);
        assert_eq!(standby.replica(), second);
        // Nothing changed: nothing to send.
        let none = second.delta_from(&second).unwrap();
        assert!(none.agents.is_empty() && none.calls.is_empty() && none.gone.is_empty());
    }
}
