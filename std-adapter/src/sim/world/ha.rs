//! Side A / side B: a node that stops or turns standby closes its sessions; the cluster's
//! state (agents, calls) lives on for the other side. Between two processes the master
//! sends that state to the standby as a [`Replica`] (`sim::replica`), which the standby
//! applies, so that the phones find their agent and calls there after a failover. After
//! that whole state it sends a [`Delta`] of the records the world marked as it changed them
//! (`dirty`), so the cost of an interval follows what changed, not the size of the center.

use std::collections::BTreeSet;

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
pub(super) struct AgentRep {
    id: String,
    state: u16,
    reason: u16,
    outbound: bool,
    pending: Option<(u16, u16)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct CallRep {
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
pub(super) struct ContactRep {
    account: String,
    /// 0 open, 1 offered, 2 dialed, 3 closed.
    status: u8,
    attempts: u32,
    outcome: String,
    callback: Option<String>,
}

/// What changed since the last update: once the standby has a whole state, the master
/// sends only this (a state is about 100 bytes an agent, 1 MB at 10 000 agents). The master
/// does not compare states to find it: the world marks each record as it changes it
/// (`dirty`), and this holds just the marked ones.
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

impl Delta {
    fn is_empty(&self) -> bool {
        self.agents.is_empty()
            && self.calls.is_empty()
            && self.gone.is_empty()
            && self.contacts.is_empty()
    }
}

/// One line of the replication link from the master: the whole state (the first on a
/// connection), what changed since the last line (`delta {..}`), or nothing (an empty line,
/// which still says the master is there).
#[derive(Debug)]
pub(crate) enum Update {
    Whole(Replica),
    Changes(Delta),
    Nothing,
}

impl Update {
    /// The line as it goes on the link (without its newline).
    pub(crate) fn line(&self) -> String {
        match self {
            Update::Whole(r) => serde_json::to_string(r).unwrap_or_default(),
            Update::Changes(d) => {
                format!("delta {}", serde_json::to_string(d).unwrap_or_default())
            }
            Update::Nothing => String::new(),
        }
    }

    /// A line from the link.
    pub(crate) fn parse(line: &str) -> Result<Update, serde_json::Error> {
        let line = line.trim_end();
        if line.is_empty() {
            return Ok(Update::Nothing);
        }
        match line.strip_prefix("delta ") {
            Some(json) => serde_json::from_str(json).map(Update::Changes),
            None => serde_json::from_str(line).map(Update::Whole),
        }
    }
}

/// The standby this side feeds: which feed has the marks, and what it last said of the
/// next CallID (the only value that changes without a record).
#[derive(Debug, Default)]
pub(super) struct Feed {
    current: Option<(u64, u32)>,
    last_id: u64,
}

impl dirty::Replicated for Agent {
    type Rep = AgentRep;
    fn rep(&self) -> AgentRep {
        AgentRep {
            id: self.def.id.clone(),
            state: self.state.value(),
            reason: self.reason,
            outbound: self.outbound,
            pending: self.pending.map(|(s, r)| (s.value(), r)),
        }
    }
}

impl Agent {
    /// The other side's state of this agent.
    fn take(&mut self, rep: &AgentRep) {
        self.state = AgentState::from(rep.state);
        self.reason = rep.reason;
        self.outbound = rep.outbound;
        self.pending = rep.pending.map(|(s, r)| (AgentState::from(s), r));
    }
}

impl dirty::Replicated for Call {
    type Rep = CallRep;
    fn rep(&self) -> CallRep {
        let (kind, of) = match self.kind {
            CallKind::Inbound => (0, 0),
            CallKind::Reservation { contact } => (1, contact as u64),
            CallKind::Customer { contact } => (2, contact as u64),
            CallKind::Consult { of } => (3, u64::from(of)),
            CallKind::Dialed => (4, 0),
        };
        CallRep {
            id: self.id,
            kind,
            of,
            agent: self.agent,
            call_type: self.call_type.value(),
            lcs: self.lcs.value(),
            party: self.party.clone(),
            dnis: self.dnis.clone(),
            csq: self.csq,
            vars: self.vars.list().to_vec(),
            call_vars: self.call_vars.clone(),
        }
    }
}

impl dirty::Replicated for ContactRec {
    type Rep = ContactRep;
    fn rep(&self) -> ContactRep {
        ContactRep {
            account: self.contact.account.clone(),
            status: match self.status {
                ContactStatus::Open => 0,
                ContactStatus::Offered => 1,
                ContactStatus::Dialed => 2,
                ContactStatus::Closed => 3,
            },
            attempts: self.attempts,
            outcome: self.outcome.clone(),
            callback: self.callback.clone(),
        }
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
        use dirty::Replicated;
        Replica {
            agents: self.agents.iter().map(Agent::rep).collect(),
            calls: self.calls.values().map(Call::rep).collect(),
            next_call_id: self.next_call_id,
            contacts: self.contacts.iter().map(ContactRec::rep).collect(),
        }
    }

    /// What the link sends next to the standby it feeds as `feed`: the records marked since
    /// the last update, or (a standby new to this side, another feed since, marks lost) the
    /// whole state, from which marking starts again. Returns the feed's number for the next.
    pub(crate) fn update_for(&mut self, feed: Option<u64>) -> (u64, Update) {
        if let (Some(id), Some((current, sent_next))) = (feed, self.feed.current) {
            if id == current {
                let marks = (
                    self.agents.take_marks(),
                    self.calls.take_marks(),
                    self.contacts.take_marks(),
                );
                if let (Some(agents), Some(calls), Some(contacts)) = marks {
                    let d = self.delta_of(&agents, &calls, &contacts);
                    if d.is_empty() && d.next_call_id == sent_next {
                        return (id, Update::Nothing);
                    }
                    self.feed.current = Some((id, d.next_call_id));
                    return (id, Update::Changes(d));
                }
            }
        }
        self.agents.start_marks();
        self.calls.start_marks();
        self.contacts.start_marks();
        self.feed.last_id = self.feed.last_id.wrapping_add(1);
        let id = self.feed.last_id;
        self.feed.current = Some((id, self.next_call_id));
        (id, Update::Whole(self.replica()))
    }

    /// The standby fed as `feed` is gone: nobody needs the marks any more.
    pub(crate) fn end_feed(&mut self, feed: u64) {
        if self.feed.current.is_some_and(|(id, _)| id == feed) {
            self.feed.current = None;
            self.agents.stop_marks();
            self.calls.stop_marks();
            self.contacts.stop_marks();
        }
    }

    /// The marked records as they are now; a marked call that is no longer there is gone.
    fn delta_of(
        &self,
        agents: &BTreeSet<usize>,
        calls: &BTreeSet<u32>,
        contacts: &BTreeSet<usize>,
    ) -> Delta {
        use dirty::Replicated;
        let (mut changed, mut gone) = (Vec::new(), Vec::new());
        for id in calls {
            match self.calls.get(id) {
                Some(c) => changed.push(c.rep()),
                None => gone.push(*id),
            }
        }
        Delta {
            agents: agents
                .iter()
                .filter_map(|&i| Some((i, self.agents.get(i)?.rep())))
                .collect(),
            calls: changed,
            gone,
            next_call_id: self.next_call_id,
            contacts: contacts
                .iter()
                .filter_map(|&i| Some((i, self.contacts.get(i)?.rep())))
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

    /// Take a line of the master's (a standby).
    pub(crate) fn apply_update(&mut self, u: Update) {
        match u {
            Update::Whole(r) => self.apply_replica(r),
            Update::Changes(d) => self.apply_delta(d),
            Update::Nothing => {}
        }
    }

    /// Take what changed on the master since the last state (a standby that has one).
    fn apply_delta(&mut self, d: Delta) {
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
            Some(mut a) => a.take(&rep),
            None => log::warn!(
                "simulator: the master has agent {} that this side does not; skipped",
                rep.id
            ),
        }
    }

    /// The master's contact `rep`, at place `i` of its list (skipped if it is another).
    fn set_contact(&mut self, i: usize, rep: ContactRep) {
        let Some(mut rec) = self.contacts.get_mut(i) else {
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
            if let Some(mut agent) = self.agents.get_mut(a) {
                agent.take(rep);
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
#[path = "ha_sequence.rs"]
mod sequence;

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

    /// Through the link's text, as the standby gets it.
    fn over_the_link(u: &Update) -> Update {
        let parsed = Update::parse(&u.line());
        assert!(parsed.is_ok(), "{parsed:?}");
        parsed.unwrap_or(Update::Nothing)
    }

    fn call(id: u32, agent: usize, lcs: u16) -> CallRep {
        CallRep {
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
        }
    }

    #[test]
    fn a_state_reaches_each_agent_by_its_id_whatever_the_order() {
        let mut master = world(0..50);
        for i in 0..50 {
            if let Some(mut a) = master.agents.get_mut(i) {
                a.state = if i % 3 == 0 {
                    AgentState::Talking
                } else {
                    AgentState::Available
                };
                a.reason = u16::try_from(i).unwrap_or(0);
            }
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
    fn whole_then_marked_changes_give_the_standby_the_masters_state() {
        let mut master = world(0..20);
        let mut first = master.replica();
        first.calls = vec![call(10, 1, 2), call(11, 2, 2)];
        master.apply_replica(first);
        let (feed, whole) = master.update_for(None);
        assert!(matches!(whole, Update::Whole(_)), "{whole:?}");
        let mut standby = world(0..20);
        standby.apply_update(over_the_link(&whole));
        assert_eq!(standby.replica(), master.replica());
        // Nothing changed: nothing to send but the empty line.
        let (again, none) = master.update_for(Some(feed));
        assert_eq!(again, feed);
        assert!(matches!(none, Update::Nothing), "{none:?}");

        // One call ends, one changes, one starts; one agent moves; a session opens (not
        // replicated: no agent goes for it).
        let mut second = master.replica();
        second.calls = vec![call(11, 2, 3), call(12, 4, 2)];
        second.next_call_id = 13;
        if let Some(a) = second.agents.get_mut(4) {
            a.state = AgentState::Talking.value();
            a.reason = 32;
        }
        master.apply_replica(second);
        if let Some(mut a) = master.agents.get_mut(7) {
            a.conn = Some(99);
        }
        let (_, changes) = master.update_for(Some(feed));
        let Update::Changes(d) = &changes else {
            panic!("not a delta: {changes:?}");
        };
        let agents: Vec<usize> = d.agents.iter().map(|(i, _)| *i).collect();
        assert_eq!(agents, vec![4], "{d:?}");
        assert_eq!(d.gone, vec![10]);
        let calls: Vec<u32> = d.calls.iter().map(|c| c.id).collect();
        assert_eq!(calls, vec![11, 12], "{d:?}");
        standby.apply_update(over_the_link(&changes));
        assert_eq!(standby.replica(), master.replica());
    }

    #[test]
    fn a_standby_that_joins_anew_or_after_another_gets_the_whole_state_first() {
        let mut master = world(0..5);
        let (first, _) = master.update_for(None);
        // Another standby comes: it starts with the whole state, and the first one, whose
        // marks the newcomer took, gets the whole state again rather than a partial delta.
        let (second, whole) = master.update_for(None);
        assert_ne!(first, second);
        assert!(matches!(whole, Update::Whole(_)));
        let (_, again) = master.update_for(Some(first));
        assert!(matches!(again, Update::Whole(_)), "{again:?}");
        // A feed that ended stops the marks; whoever comes next starts from the whole.
        let (third, _) = master.update_for(None);
        master.end_feed(third);
        assert_eq!(master.agents.take_marks(), None);
        let (_, back) = master.update_for(Some(third));
        assert!(matches!(back, Update::Whole(_)), "{back:?}");
    }
}
