//! Replication by marks, checked against the whole state. A master world is changed at random
//! the ways it changes in a run — its phones' requests (sessions, agent states, answer, hold,
//! release, consult, transfer, conference, dialing, call data, preview answers), its clock
//! (arrivals, routing, offers, wrap-up and hang-up timers), sessions that end, island
//! handovers, a takeover's CallID jump — and a standby takes the master's link lines, as
//! text, after each interval. After every interval the standby's state must be the master's:
//! a change the world makes without marking it leaves the standby behind and fails here.
//! Standbys also come and go (a new one, the feed ending, another feed taking the marks),
//! and each must start from the whole state.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::sim::config::{Campaign, InboundScenario};
use crate::sim::replica::LinkStats;
use ccx_cti::wire::WireVersion;

const AGENTS: usize = 10;
const SEEDS: u64 = 24;
const STEPS: usize = 400;

fn config(seed: u64) -> SimConfig {
    SimConfig {
        agents: (0..AGENTS).map(AgentDef::generated).collect(),
        campaign: Some(Campaign {
            offer_delay_ms: 0,
            retry_delay_ms: 400,
            max_attempts: 2,
            ..Campaign::generated(8)
        }),
        inbound: InboundScenario {
            customer_hangup_ms: Some(5_000),
            seed,
            ..InboundScenario::default()
        },
        auto_work: seed.is_multiple_of(2),
        wrapup_ms: Some(1_500),
        ..SimConfig::default()
    }
}

fn master_node() -> Arc<NodeState> {
    Arc::new(NodeState {
        master: AtomicBool::new(true),
        stopped: AtomicBool::new(false),
        fault_counts: Mutex::new(BTreeMap::new()),
        conn_seq: AtomicU64::new(0),
        failover_ms: AtomicU64::new(u64::MAX),
        isolated: AtomicBool::new(false),
        link: LinkStats::default(),
    })
}

fn frame(ty: MessageType, build: impl Fn(&mut Encoder<'_>)) -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    let mut e = Encoder::new(&mut buf, ty, WireVersion::new(17));
    build(&mut e);
    let n = e.finish();
    assert!(n.is_ok(), "{ty:?}: {n:?}");
    buf.truncate(n.unwrap_or(0));
    buf
}

/// The first difference between two states, briefly (the whole states are long).
fn difference(standby: &Replica, master: &Replica) -> Option<String> {
    if standby.next_call_id != master.next_call_id {
        return Some(format!(
            "next CallID {} here, {} on the master",
            standby.next_call_id, master.next_call_id
        ));
    }
    for (s, m) in standby.agents.iter().zip(&master.agents) {
        if s != m {
            return Some(format!("agent {s:?} here, {m:?} on the master"));
        }
    }
    for (s, m) in standby.contacts.iter().zip(&master.contacts) {
        if s != m {
            return Some(format!("contact {s:?} here, {m:?} on the master"));
        }
    }
    let ids = |r: &Replica| r.calls.iter().map(|c| c.id).collect::<Vec<_>>();
    if ids(standby) != ids(master) {
        return Some(format!(
            "calls {:?} here, {:?} on the master",
            ids(standby),
            ids(master)
        ));
    }
    for (s, m) in standby.calls.iter().zip(&master.calls) {
        if s != m {
            return Some(format!("call {s:?} here, {m:?} on the master"));
        }
    }
    (standby != master).then(|| "the states differ".to_string())
}

/// What the runs did, so that a run that never reached a kind of change cannot pass.
#[derive(Debug, Default)]
struct Seen {
    intervals: u64,
    wholes: u64,
    deltas: u64,
    agents_sent: u64,
    calls_sent: u64,
    gone_sent: u64,
    contacts_sent: u64,
    handovers: u64,
    conferences: u64,
    transfers: u64,
    callbacks: u64,
    reservations: u64,
    customer_calls: u64,
}

struct Run {
    rng: StdRng,
    seed: u64,
    master: World,
    node: Arc<NodeState>,
    now: Instant,
    /// Each agent's connection, as its phone knows it.
    conns: Vec<Option<u64>>,
    standby: World,
    feed: Option<u64>,
    seen: Seen,
}

impl Run {
    fn new(seed: u64) -> Run {
        Run {
            rng: StdRng::seed_from_u64(seed),
            seed,
            master: World::new(config(seed)),
            node: master_node(),
            now: Instant::now(),
            conns: vec![None; AGENTS],
            standby: World::new(config(seed)),
            feed: None,
            seen: Seen::default(),
        }
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> Option<T> {
        if from.is_empty() {
            return None;
        }
        from.get(self.rng.gen_range(0..from.len())).copied()
    }

    fn send(&mut self, a: usize, ty: MessageType, build: impl Fn(&mut Encoder<'_>)) {
        let Some(conn) = self.conns.get(a).copied().flatten() else {
            return;
        };
        let f = frame(ty, build);
        self.master.on_frame(conn, &f, self.now);
        self.master.outgoing.clear();
    }

    /// A random call of the master, with its agent.
    fn call(&mut self, wanted: impl Fn(&Call) -> bool) -> Option<(u32, usize)> {
        let calls: Vec<(u32, usize)> = self
            .master
            .calls
            .values()
            .filter(|c| wanted(c))
            .map(|c| (c.id, c.agent))
            .collect();
        self.pick(&calls)
    }

    fn step(&mut self) {
        let a = self.rng.gen_range(0..AGENTS);
        match self.rng.gen_range(0..100) {
            0..=7 => {
                let conn = self.master.add_conn(Arc::clone(&self.node), self.now);
                if let Some(slot) = self.conns.get_mut(a) {
                    *slot = Some(conn);
                }
                let id = self.master.agents.get(a).map(|ag| ag.def.id.clone());
                let id = id.unwrap_or_default();
                self.send(a, MessageType::OpenReq, |e| {
                    e.set(fields::open_req::VERSION_NUMBER, 17)
                        .set(fields::open_req::IDLE_TIMEOUT, 80)
                        .set(fields::open_req::SERVICES_REQUESTED, 7)
                        .set(fields::open_req::CALL_MSG_MASK, 0x0001_EFFF)
                        .set(fields::open_req::AGENT_STATE_MASK, 0x1FF);
                    e.string(tag::CLIENT_ID, "sequence")
                        .string(tag::AGENT_ID, &id);
                });
            }
            8..=10 => {
                if let Some(conn) = self.conns.get_mut(a).and_then(Option::take) {
                    self.master.remove_conn(conn);
                }
            }
            11..=27 => {
                let states = [
                    AgentState::Login,
                    AgentState::Login,
                    AgentState::NotReady,
                    AgentState::Available,
                    AgentState::Available,
                    AgentState::Available,
                    AgentState::WorkNotReady,
                    AgentState::WorkReady,
                    AgentState::Logout,
                ];
                let state = self.pick(&states).unwrap_or(AgentState::Available);
                let reason = self.pick(&[0u16, 7, 32_759]).unwrap_or(0);
                // Mostly outbound agents, so that the campaign offers contacts.
                let capacity = u32::from(self.rng.gen_range(0..4) != 0);
                self.send(a, MessageType::SetAgentStateReq, |e| {
                    use fields::set_agent_state_req as f;
                    e.set(f::AGENT_STATE, state)
                        .set(f::EVENT_REASON_CODE, EventReasonCode::from_value(reason))
                        .set(f::AGENT_CAPACITY, capacity);
                });
            }
            28..=31 => {
                let n: u32 = self.rng.gen_range(0..1000);
                let vars = if n.is_multiple_of(2) {
                    vec![("order".to_string(), format!("A-{n}"))]
                } else {
                    Vec::new()
                };
                self.master.enqueue_call(InboundCall {
                    ani: format!("555{n:04}"),
                    call_vars: vec![format!("cv{n}")],
                    vars,
                    ..InboundCall::default()
                });
            }
            32..=47 => {
                self.now += Duration::from_millis(self.rng.gen_range(0..2_500));
                self.master.tick(self.now);
                self.master.outgoing.clear();
            }
            48..=55 => {
                let ringing = |c: &Call| {
                    c.kind == CallKind::Inbound && c.lcs == LocalConnectionState::Alerting
                };
                if let Some((id, a)) = self.call(ringing) {
                    self.send(a, MessageType::AnswerCallReq, |e| {
                        e.set(fields::answer_call_req::CONNECTION_CALL_ID, id);
                    });
                }
            }
            56..=60 => {
                if let Some((id, a)) = self.call(|c| c.lcs == LocalConnectionState::Connect) {
                    self.send(a, MessageType::HoldCallReq, |e| {
                        e.set(fields::hold_call_req::CONNECTION_CALL_ID, id);
                    });
                }
                if let Some((id, a)) = self.call(|c| c.lcs == LocalConnectionState::Hold) {
                    self.send(a, MessageType::RetrieveCallReq, |e| {
                        e.set(fields::retrieve_call_req::HELD_CALL_ID, id);
                    });
                }
            }
            61..=66 => {
                if let Some((id, a)) = self.call(|_| true) {
                    self.send(a, MessageType::ClearConnectionReq, |e| {
                        e.set(fields::clear_connection_req::CONNECTION_CALL_ID, id);
                    });
                }
            }
            67..=71 => {
                if let Some((id, a)) = self.call(|c| c.lcs == LocalConnectionState::Connect) {
                    self.send(a, MessageType::ConsultationCallReq, |e| {
                        e.set(fields::consultation_call_req::ACTIVE_CALL_ID, id);
                        e.string(tag::DIALED_NUMBER, "4021");
                    });
                }
            }
            72..=77 => self.join_or_split(),
            78..=80 => {
                self.send(a, MessageType::MakeCallReq, |e| {
                    e.string(tag::DIALED_NUMBER, "5559999");
                });
            }
            81..=91 => self.call_data(),
            92..=94 => self.handover(),
            95 => self.master.took_over(),
            _ => {
                self.now += Duration::from_millis(self.rng.gen_range(1_000..6_000));
                self.master.tick(self.now);
                self.master.outgoing.clear();
            }
        }
        // Sessions the world closed (a replaced session, an idle one) are gone for the phone.
        for slot in &mut self.conns {
            if slot.is_some_and(|c| !self.master.conns.contains_key(&c)) {
                *slot = None;
            }
        }
    }

    /// Transfer, conference or reconnect a consult call.
    fn join_or_split(&mut self) {
        let consult = |c: &Call| matches!(c.kind, CallKind::Consult { .. });
        let Some((id, a)) = self.call(consult) else {
            return;
        };
        let held = match self.master.calls.get(&id).map(|c| c.kind) {
            Some(CallKind::Consult { of }) => of,
            _ => return,
        };
        match self.rng.gen_range(0..3) {
            0 => {
                self.seen.transfers += 1;
                self.send(a, MessageType::TransferCallReq, |e| {
                    e.set(fields::transfer_call_req::ACTIVE_CALL_ID, id)
                        .set(fields::transfer_call_req::HELD_CALL_ID, held);
                });
            }
            1 => {
                self.seen.conferences += 1;
                self.send(a, MessageType::ConferenceCallReq, |e| {
                    e.set(fields::conference_call_req::ACTIVE_CALL_ID, id)
                        .set(fields::conference_call_req::HELD_CALL_ID, held);
                });
            }
            _ => {
                self.send(a, MessageType::ReconnectCallReq, |e| {
                    e.set(fields::reconnect_call_req::ACTIVE_CALL_ID, id)
                        .set(fields::reconnect_call_req::HELD_CALL_ID, held);
                });
            }
        }
    }

    /// SET_CALL_DATA_REQ: call variables, or the agent's answer to a reservation or a
    /// customer call.
    fn call_data(&mut self) {
        let campaign = |c: &Call| {
            matches!(
                c.kind,
                CallKind::Reservation { .. } | CallKind::Customer { .. }
            )
        };
        let found = match self.rng.gen_range(0..3) {
            0 => self.call(|_| true),
            _ => self.call(campaign).or_else(|| self.call(|_| true)),
        };
        let Some((id, a)) = found else {
            return;
        };
        let kind = self.master.calls.get(&id).map(|c| c.kind);
        let n: u32 = self.rng.gen_range(0..100);
        let answer = match kind {
            Some(CallKind::Reservation { .. }) => {
                let answers = [
                    "Accept",
                    "Accept",
                    "Reject",
                    "Reject-Close",
                    "Skip",
                    "Skip-Close",
                    "Cancel Reservation",
                ];
                self.pick(&answers)
            }
            Some(CallKind::Customer { .. }) => {
                let answers = [
                    "REX_VOICE",
                    "BUSY",
                    "Callback 12312026 09:30",
                    "DO_NOT_CALL",
                ];
                let answer = self.pick(&answers);
                if answer.is_some_and(|r| r.starts_with("Callback")) {
                    self.seen.callbacks += 1;
                }
                answer
            }
            _ => None,
        };
        let var = self.pick(&[tag::CALL_VAR1, tag::CALL_VAR3, tag::CALL_VAR10]);
        self.send(a, MessageType::SetCallDataReq, |e| {
            e.set(fields::set_call_data_req::CONNECTION_CALL_ID, id);
            if let Some(t) = var {
                e.string(t, &format!("v{n}"));
            }
            match answer {
                Some(r) => e.named_var("BAResponse", r),
                None => e.named_var("note", &format!("n{n}")),
            };
        });
    }

    /// The other side of an island demotes and hands over some agents, moved on there, with
    /// a call of theirs; their calls here are stale.
    fn handover(&mut self) {
        let mut r = self.master.replica();
        let keep: Vec<String> = (0..self.rng.gen_range(1..4))
            .filter_map(|_| {
                let i = self.rng.gen_range(0..AGENTS);
                self.master.agents.get(i).map(|a| a.def.id.clone())
            })
            .collect();
        r.agents.retain(|a| keep.contains(&a.id));
        for a in &mut r.agents {
            a.state = AgentState::NotReady.value();
            a.reason = 7;
        }
        let agent = self
            .master
            .agents
            .iter()
            .position(|a| keep.first() == Some(&a.def.id));
        r.calls = agent
            .map(|agent| {
                let id = self.master.next_call_id.wrapping_add(5_000_000);
                let mut call = CallRep {
                    id,
                    kind: 0,
                    of: 0,
                    agent,
                    call_type: CallType::AcdIn.value(),
                    lcs: LocalConnectionState::Connect.value(),
                    party: "5550000".into(),
                    dnis: "7000".into(),
                    csq: 1,
                    vars: vec![("from".into(), "the other side".into())],
                    call_vars: Vec::new(),
                };
                call.call_vars.push("island".into());
                call
            })
            .into_iter()
            .collect();
        r.contacts.clear();
        self.master.apply_handover(r);
        self.seen.handovers += 1;
    }

    /// One interval of the link: the master's line, as text, applied by the standby, whose
    /// state must then be the master's.
    fn interval(&mut self, step: usize) {
        match self.rng.gen_range(0..60) {
            // A new standby (one restarted, or the other side after an island).
            0 => {
                self.standby = World::new(config(self.seed));
                self.feed = None;
            }
            // The feed ended (the link broke) and the same standby comes back.
            1 => {
                if let Some(id) = self.feed {
                    self.master.end_feed(id);
                }
                self.feed = None;
            }
            // Another feed took the marks meanwhile.
            2 => {
                let _ = self.master.update_for(None);
            }
            _ => {}
        }
        let (id, update) = self.master.update_for(self.feed);
        if self.feed.is_none() {
            assert!(
                matches!(update, Update::Whole(_)),
                "seed {} step {step}: a new standby must get the whole state first",
                self.seed
            );
        }
        self.feed = Some(id);
        self.seen.intervals += 1;
        match &update {
            Update::Whole(_) => self.seen.wholes += 1,
            Update::Changes(d) => {
                self.seen.deltas += 1;
                self.seen.agents_sent += d.agents.len() as u64;
                self.seen.calls_sent += d.calls.len() as u64;
                self.seen.gone_sent += d.gone.len() as u64;
                self.seen.contacts_sent += d.contacts.len() as u64;
            }
            Update::Nothing => {}
        }
        let line = update.line();
        let parsed = Update::parse(&line);
        assert!(parsed.is_ok(), "seed {}: {line}: {parsed:?}", self.seed);
        if let Ok(update) = parsed {
            self.standby.apply_update(update);
        }
        let (standby, master) = (self.standby.replica(), self.master.replica());
        if let Some(d) = difference(&standby, &master) {
            panic!(
                "seed {} step {step}: after {line:.300}\nthe standby is not the master: {d}",
                self.seed
            );
        }
    }
}

#[test]
fn after_every_interval_the_standby_has_the_masters_state() {
    let mut seen = Seen::default();
    for seed in 0..SEEDS {
        let mut run = Run::new(seed);
        for step in 0..STEPS {
            run.step();
            if run.rng.gen_range(0..4) == 0 {
                run.interval(step);
            }
        }
        run.interval(STEPS);
        let s = &run.seen;
        seen.intervals += s.intervals;
        seen.wholes += s.wholes;
        seen.deltas += s.deltas;
        seen.agents_sent += s.agents_sent;
        seen.calls_sent += s.calls_sent;
        seen.gone_sent += s.gone_sent;
        seen.contacts_sent += s.contacts_sent;
        seen.handovers += s.handovers;
        seen.conferences += s.conferences;
        seen.transfers += s.transfers;
        seen.callbacks += s.callbacks;
        seen.reservations += run.master.counters.reservations_offered;
        seen.customer_calls += run.master.counters.customer_calls;
    }
    // Every kind of change happened, and most intervals were deltas, not whole states.
    let all = [
        seen.wholes,
        seen.deltas,
        seen.agents_sent,
        seen.calls_sent,
        seen.gone_sent,
        seen.contacts_sent,
        seen.handovers,
        seen.conferences,
        seen.transfers,
        seen.callbacks,
        seen.reservations,
        seen.customer_calls,
    ];
    assert!(all.iter().all(|n| *n > 0), "{seen:?}");
    assert!(seen.deltas > 4 * seen.wholes, "{seen:?}");
}
