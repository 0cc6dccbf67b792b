//! A scenario on a virtual clock: a discrete-event run of the contact center.
//!
//! Every random choice comes from one seeded generator in event order, and events at the
//! same millisecond run in the order they were scheduled, so one seed gives one schedule.
//! The schedule's fingerprint (FNV-1a over every event run) and the final counts show it.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{Behaviour, Distribution, Scenario};

/// Not Ready time when the behaviour gives none.
const DEFAULT_NOT_READY_MS: u64 = 60_000;
/// Answer delay when the behaviour gives none.
const DEFAULT_ANSWER_MS: u64 = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Arrival { csq: usize },
    Abandon { call: usize },
    Answer { agent: usize, call: usize },
    Hangup { agent: usize },
    WrapEnd { agent: usize },
    Ready { agent: usize },
    PreviewCheck { agent: usize, gen: u64 },
    PreviewAnswer { agent: usize },
    FaultStart { fault: usize },
    FaultEnd { fault: usize },
    Reconnect { agent: usize },
}

impl Event {
    /// (kind, id) for the fingerprint.
    fn key(&self) -> (u8, u64) {
        match *self {
            Event::Arrival { csq } => (0, csq as u64),
            Event::Abandon { call } => (1, call as u64),
            Event::Answer { agent, call } => (2, ((agent as u64) << 32) | call as u64),
            Event::Hangup { agent } => (3, agent as u64),
            Event::WrapEnd { agent } => (4, agent as u64),
            Event::Ready { agent } => (5, agent as u64),
            Event::PreviewCheck { agent, gen } => (6, ((agent as u64) << 32) ^ gen),
            Event::PreviewAnswer { agent } => (7, agent as u64),
            Event::FaultStart { fault } => (8, fault as u64),
            Event::FaultEnd { fault } => (9, fault as u64),
            Event::Reconnect { agent } => (10, agent as u64),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    Available,
    Ringing,
    Talking,
    Work,
    NotReady,
    Preview,
}

#[derive(Debug)]
struct Agent {
    behaviour: usize,
    state: St,
    session_up: bool,
    idle_since: u64,
    /// Bumped whenever the agent leaves Available, so stale preview checks do nothing.
    gen: u64,
}

#[derive(Debug)]
struct Call {
    csq: usize,
    arrived: u64,
    queued: bool,
}

/// Counts of one CSQ.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CsqCounts {
    /// Calls that arrived.
    pub offered: u64,
    /// Calls answered by an agent.
    pub answered: u64,
    /// Callers who hung up while queued.
    pub abandoned: u64,
    /// Answered within the service level.
    pub within_service_level: u64,
    /// Sum of the waits (arrival to answer) of answered calls, in milliseconds.
    pub wait_ms: u64,
    /// Calls still queued at the end.
    pub queued_at_end: u64,
}

/// What a scenario run did.
#[derive(Debug, Clone, Default)]
pub struct ScenarioReport {
    /// The seed.
    pub seed: u64,
    /// Agents.
    pub agents: u32,
    /// Simulated time.
    pub simulated: Duration,
    /// Wall time the run took.
    pub wall: Duration,
    /// Events run.
    pub events: u64,
    /// FNV-1a over every event run (time, kind, ids): equal schedules, equal fingerprints.
    pub fingerprint: u64,
    /// Per CSQ, by name.
    pub csq: BTreeMap<String, CsqCounts>,
    /// Calls completed (inbound and customer calls).
    pub completed: u64,
    /// The longest queue seen.
    pub max_queue: u64,
    /// Not Ready periods by reason code.
    pub not_ready: BTreeMap<u16, u64>,
    /// Preview reservations offered, accepted and rejected.
    pub reservations: u64,
    /// Previews accepted.
    pub previews_accepted: u64,
    /// Previews rejected (the contact goes back to the list).
    pub previews_rejected: u64,
    /// Customer calls that were answered.
    pub customer_calls: u64,
    /// Customer calls not answered.
    pub customer_no_answer: u64,
    /// Contacts never reached by the end.
    pub contacts_left: u64,
    /// Failovers and how long each left the phones without a master (ms).
    pub failovers: Vec<u64>,
    /// Sessions dropped by faults (the agents kept their state and calls).
    pub sessions_dropped: u64,
    /// Answers delayed by a slow server.
    pub slow_answers: u64,
    /// Agents by behaviour name.
    pub behaviours: BTreeMap<String, u64>,
    /// Agents by state at the end.
    pub final_states: BTreeMap<String, u64>,
}

struct Run<'a> {
    s: &'a Scenario,
    rng: StdRng,
    now: u64,
    end: u64,
    seq: u64,
    heap: BinaryHeap<Reverse<(u64, u64, Event)>>,
    agents: Vec<Agent>,
    /// Available agents by (idle since, index): the longest available first.
    available: BTreeSet<(u64, usize)>,
    calls: Vec<Call>,
    queue: VecDeque<usize>,
    /// Routing stops while a failover lasts (until this time).
    routing_from: u64,
    slow_until: u64,
    slow_ms: u64,
    contacts_left: u64,
    behaviours: Vec<Behaviour>,
    r: ScenarioReport,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Run a scenario to its end on the virtual clock.
pub fn run(s: &Scenario) -> ScenarioReport {
    let wall = Instant::now();
    let behaviours = if s.behaviour.is_empty() {
        vec![Behaviour {
            name: "default".into(),
            share: 1.0,
            answer_delay: None,
            not_ready_share: 0.0,
            reason_codes: Vec::new(),
            not_ready_time: None,
            preview_accept: 1.0,
        }]
    } else {
        s.behaviour.clone()
    };
    let mut run = Run {
        s,
        rng: StdRng::seed_from_u64(s.seed),
        now: 0,
        end: ms(s.duration),
        seq: 0,
        heap: BinaryHeap::new(),
        agents: Vec::new(),
        available: BTreeSet::new(),
        calls: Vec::new(),
        queue: VecDeque::new(),
        routing_from: 0,
        slow_until: 0,
        slow_ms: 0,
        contacts_left: s.campaign.as_ref().map_or(0, |c| u64::from(c.contacts)),
        behaviours,
        r: ScenarioReport {
            seed: s.seed,
            agents: s.agents,
            simulated: s.duration,
            fingerprint: 0xcbf2_9ce4_8422_2325,
            ..ScenarioReport::default()
        },
    };
    run.setup();
    while let Some(Reverse((t, _, ev))) = run.heap.pop() {
        if t > run.end {
            break;
        }
        run.now = t;
        run.r.events += 1;
        let (kind, id) = ev.key();
        for b in t
            .to_le_bytes()
            .into_iter()
            .chain([kind])
            .chain(id.to_le_bytes())
        {
            run.r.fingerprint = (run.r.fingerprint ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        run.handle(ev);
    }
    run.finish();
    run.r.wall = wall.elapsed();
    run.r
}

impl Run<'_> {
    fn at(&mut self, t: u64, ev: Event) {
        self.seq += 1;
        self.heap.push(Reverse((t, self.seq, ev)));
    }

    fn sample(&mut self, d: Option<&Distribution>, default_ms: u64) -> u64 {
        let Some(d) = d else {
            return default_ms;
        };
        let mean = d.mean.map_or(default_ms, ms);
        match d.kind.as_str() {
            "fixed" => mean,
            "uniform" => {
                let (lo, hi) = (d.min.map_or(0, ms), d.max.map_or(0, ms));
                if hi > lo {
                    self.rng.gen_range(lo..=hi)
                } else {
                    lo
                }
            }
            _ => {
                let u: f64 = self.rng.gen();
                (-(mean as f64) * (1.0 - u).ln()) as u64
            }
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.gen::<f64>() < p
    }

    fn setup(&mut self) {
        // Agents split among the behaviours by share, in order (the first ones get the first).
        let n = self.s.agents as usize;
        let counts = super::real::behaviour_counts(&self.behaviours, n);
        for (b, count) in counts.iter().enumerate() {
            for _ in 0..*count {
                if self.agents.len() < n {
                    self.agents.push(Agent {
                        behaviour: b,
                        state: St::Available,
                        session_up: true,
                        idle_since: 0,
                        gen: 0,
                    });
                }
            }
            let name = self
                .behaviours
                .get(b)
                .map(|x| x.name.clone())
                .filter(|x| !x.is_empty())
                .unwrap_or_else(|| format!("behaviour{b}"));
            *self.r.behaviours.entry(name).or_default() += *count as u64;
        }
        for a in 0..self.agents.len() {
            self.become_available(a);
        }
        for (i, q) in self.s.csq.iter().enumerate() {
            self.r.csq.entry(q.name.clone()).or_default();
            self.next_arrival(i);
        }
        for (i, f) in self.s.fault.iter().enumerate() {
            self.at(ms(f.at), Event::FaultStart { fault: i });
        }
    }

    /// The rate of a CSQ (calls per ms) at `t`.
    fn rate(&self, csq: usize, t: u64) -> f64 {
        let Some(q) = self.s.csq.get(csq) else {
            return 0.0;
        };
        let factor = if q.profile.is_empty() {
            1.0
        } else {
            let slice =
                (t as u128 * q.profile.len() as u128 / u128::from(self.end.max(1))) as usize;
            q.profile
                .get(slice.min(q.profile.len() - 1))
                .copied()
                .unwrap_or(1.0)
        };
        q.calls_per_hour * factor / 3_600_000.0
    }

    /// Poisson arrivals with a rate that follows the profile (thinning).
    fn next_arrival(&mut self, csq: usize) {
        let Some(q) = self.s.csq.get(csq) else {
            return;
        };
        let peak = q.profile.iter().copied().fold(0.0_f64, f64::max);
        let max_rate =
            q.calls_per_hour * if q.profile.is_empty() { 1.0 } else { peak } / 3_600_000.0;
        if max_rate <= 0.0 {
            return;
        }
        let mut t = self.now as f64;
        loop {
            let u: f64 = self.rng.gen();
            t += -(1.0 - u).ln() / max_rate;
            if t > self.end as f64 {
                return;
            }
            let accept: f64 = self.rng.gen();
            if accept * max_rate <= self.rate(csq, t as u64) {
                break;
            }
        }
        self.at(t as u64, Event::Arrival { csq });
    }

    fn routable(&self, a: usize) -> bool {
        self.now >= self.routing_from
            && self
                .agents
                .get(a)
                .is_some_and(|ag| ag.session_up && ag.state == St::Available)
    }

    fn leave_available(&mut self, a: usize) {
        if let Some(ag) = self.agents.get_mut(a) {
            self.available.remove(&(ag.idle_since, a));
            ag.gen += 1;
        }
    }

    fn set(&mut self, a: usize, st: St) {
        if let Some(ag) = self.agents.get_mut(a) {
            ag.state = st;
        }
    }

    fn answer_delay(&mut self, a: usize) -> u64 {
        let b = self.agents.get(a).map_or(0, |ag| ag.behaviour);
        let d = self.behaviours.get(b).and_then(|b| b.answer_delay.clone());
        let mut t = self.sample(d.as_ref(), DEFAULT_ANSWER_MS);
        if self.now < self.slow_until {
            t += self.slow_ms;
            self.r.slow_answers += 1;
        }
        t
    }

    /// The agent is Available: a queued call first, else wait (and maybe get a preview).
    fn become_available(&mut self, a: usize) {
        self.set(a, St::Available);
        if self.routable(a) {
            while let Some(call) = self.queue.pop_front() {
                if self.calls.get(call).is_some_and(|c| c.queued) {
                    return self.ring(a, call);
                }
            }
        }
        let now = self.now;
        let offer_after = self.s.campaign.as_ref().map(|c| ms(c.offer_after_idle));
        if let Some(ag) = self.agents.get_mut(a) {
            ag.idle_since = now;
            ag.gen += 1;
            let gen = ag.gen;
            self.available.insert((now, a));
            if let Some(after) = offer_after {
                if self.contacts_left > 0 {
                    self.at(now + after, Event::PreviewCheck { agent: a, gen });
                }
            }
        }
    }

    fn ring(&mut self, a: usize, call: usize) {
        self.leave_available(a);
        if let Some(c) = self.calls.get_mut(call) {
            c.queued = false;
        }
        self.set(a, St::Ringing);
        let t = self.now + self.answer_delay(a);
        self.at(t, Event::Answer { agent: a, call });
    }

    /// Longest-available agent that can take a call now.
    fn pick(&self) -> Option<usize> {
        self.available
            .iter()
            .map(|&(_, a)| a)
            .find(|&a| self.routable(a))
    }

    fn drain_queue(&mut self) {
        while !self.queue.is_empty() {
            let Some(a) = self.pick() else {
                return;
            };
            match self.queue.pop_front() {
                Some(call) if self.calls.get(call).is_some_and(|c| c.queued) => self.ring(a, call),
                Some(_) => {}
                None => return,
            }
        }
    }

    fn csq_counts(&mut self, csq: usize) -> Option<&mut CsqCounts> {
        let name = self.s.csq.get(csq)?.name.clone();
        self.r.csq.get_mut(&name)
    }

    fn handle(&mut self, ev: Event) {
        match ev {
            Event::Arrival { csq } => {
                self.next_arrival(csq);
                let call = self.calls.len();
                self.calls.push(Call {
                    csq,
                    arrived: self.now,
                    queued: true,
                });
                if let Some(c) = self.csq_counts(csq) {
                    c.offered += 1;
                }
                match self.pick() {
                    Some(a) => self.ring(a, call),
                    None => {
                        self.queue.push_back(call);
                        self.r.max_queue = self.r.max_queue.max(self.queue.len() as u64);
                        let patience = self.s.csq.get(csq).and_then(|q| q.patience);
                        if let Some(p) = patience {
                            let d = Distribution {
                                kind: "exponential".into(),
                                mean: Some(p),
                                min: None,
                                max: None,
                            };
                            let t = self.now + self.sample(Some(&d), ms(p));
                            self.at(t, Event::Abandon { call });
                        }
                    }
                }
            }
            Event::Abandon { call } => {
                let Some(c) = self.calls.get_mut(call) else {
                    return;
                };
                if c.queued {
                    c.queued = false;
                    let csq = c.csq;
                    if let Some(c) = self.csq_counts(csq) {
                        c.abandoned += 1;
                    }
                }
            }
            Event::Answer { agent, call } => {
                // A phone cut off from its server answers once it is back.
                if let Some(resume) = self.resume_at(agent) {
                    return self.at(resume, ev);
                }
                self.set(agent, St::Talking);
                let (csq, arrived) = self.calls.get(call).map_or((0, 0), |c| (c.csq, c.arrived));
                let wait = self.now - arrived;
                let sl = ms(self.s.service_level);
                if let Some(c) = self.csq_counts(csq) {
                    c.answered += 1;
                    c.wait_ms += wait;
                    c.within_service_level += u64::from(wait <= sl);
                }
                let talk = self.sample(Some(&self.s.talk.clone()), 0);
                self.at(self.now + talk, Event::Hangup { agent });
            }
            Event::Hangup { agent } => {
                self.r.completed += 1;
                self.set(agent, St::Work);
                let w = self.sample(Some(&self.s.wrapup.clone()), 0);
                self.at(self.now + w, Event::WrapEnd { agent });
            }
            Event::WrapEnd { agent } => {
                let b = self.agents.get(agent).map_or(0, |a| a.behaviour);
                let beh = self.behaviours.get(b).cloned();
                let nr = beh.as_ref().map_or(0.0, |b| b.not_ready_share);
                if self.chance(nr) {
                    let codes = beh
                        .as_ref()
                        .map(|b| b.reason_codes.clone())
                        .unwrap_or_default();
                    let code = if codes.is_empty() {
                        0
                    } else {
                        codes
                            .get(self.rng.gen_range(0..codes.len()))
                            .copied()
                            .unwrap_or(0)
                    };
                    *self.r.not_ready.entry(code).or_default() += 1;
                    self.set(agent, St::NotReady);
                    let d = beh.and_then(|b| b.not_ready_time);
                    let t = self.sample(d.as_ref(), DEFAULT_NOT_READY_MS);
                    self.at(self.now + t, Event::Ready { agent });
                } else {
                    self.become_available(agent);
                }
            }
            Event::Ready { agent } => self.become_available(agent),
            Event::PreviewCheck { agent, gen } => {
                let current = self.agents.get(agent).map(|a| a.gen);
                if current != Some(gen) || !self.routable(agent) || self.contacts_left == 0 {
                    return;
                }
                self.contacts_left -= 1;
                self.r.reservations += 1;
                self.leave_available(agent);
                self.set(agent, St::Preview);
                let t = self.now + self.answer_delay(agent);
                self.at(t, Event::PreviewAnswer { agent });
            }
            Event::PreviewAnswer { agent } => {
                if let Some(resume) = self.resume_at(agent) {
                    return self.at(resume, ev);
                }
                let b = self.agents.get(agent).map_or(0, |a| a.behaviour);
                let accept = self.behaviours.get(b).map_or(1.0, |b| b.preview_accept);
                if !self.chance(accept) {
                    self.r.previews_rejected += 1;
                    self.contacts_left += 1;
                    return self.become_available(agent);
                }
                self.r.previews_accepted += 1;
                let answers = self.s.campaign.as_ref().map_or(1.0, |c| c.answer_share);
                if self.chance(answers) {
                    self.r.customer_calls += 1;
                    self.set(agent, St::Talking);
                    let talk = self.sample(Some(&self.s.talk.clone()), 0);
                    self.at(self.now + talk, Event::Hangup { agent });
                } else {
                    self.r.customer_no_answer += 1;
                    self.set(agent, St::Work);
                    let w = self.sample(Some(&self.s.wrapup.clone()), 0);
                    self.at(self.now + w, Event::WrapEnd { agent });
                }
            }
            Event::FaultStart { fault } => self.fault_start(fault),
            Event::FaultEnd { fault } => {
                if self
                    .s
                    .fault
                    .get(fault)
                    .is_some_and(|f| f.kind == "failover")
                {
                    for a in &mut self.agents {
                        a.session_up = true;
                    }
                }
                self.drain_queue();
            }
            Event::Reconnect { agent } => {
                if let Some(a) = self.agents.get_mut(agent) {
                    a.session_up = true;
                }
                self.drain_queue();
            }
        }
    }

    /// When an agent cut off from the server can act again (`None`: it can now).
    fn resume_at(&self, agent: usize) -> Option<u64> {
        if self.now < self.routing_from {
            return Some(self.routing_from);
        }
        match self.agents.get(agent) {
            // Reconnect is scheduled; try again a second later.
            Some(a) if !a.session_up => Some(self.now + 1_000),
            _ => None,
        }
    }

    fn fault_start(&mut self, fault: usize) {
        let Some(f) = self.s.fault.get(fault).cloned() else {
            return;
        };
        let lasts = ms(f.lasts);
        match f.kind.as_str() {
            "failover" => {
                // The standby holds the replicated state: agents keep their state and calls;
                // nothing is routed and no request answered until it takes over.
                self.routing_from = self.now + lasts;
                self.r.failovers.push(lasts);
                for a in &mut self.agents {
                    a.session_up = false;
                }
                self.r.sessions_dropped += self.agents.len() as u64;
            }
            "heartbeat_loss" => {
                for a in 0..self.agents.len() {
                    if self.chance(f.share) {
                        if let Some(ag) = self.agents.get_mut(a) {
                            ag.session_up = false;
                        }
                        self.r.sessions_dropped += 1;
                        self.at(self.now + lasts, Event::Reconnect { agent: a });
                    }
                }
            }
            _ => {
                self.slow_until = self.now + lasts;
                self.slow_ms = f.delay.map_or(0, ms);
            }
        }
        self.at(self.now + lasts, Event::FaultEnd { fault });
    }

    fn finish(&mut self) {
        for &call in &self.queue {
            if let Some(c) = self.calls.get(call).filter(|c| c.queued) {
                if let Some(q) = self.s.csq.get(c.csq) {
                    if let Some(counts) = self.r.csq.get_mut(&q.name) {
                        counts.queued_at_end += 1;
                    }
                }
            }
        }
        self.r.contacts_left = self.contacts_left;
        for a in &self.agents {
            *self
                .r
                .final_states
                .entry(format!("{:?}", a.state))
                .or_default() += 1;
        }
    }
}

impl ScenarioReport {
    /// Everything but the wall time: equal for two runs of one seed.
    pub fn counts(&self) -> serde_json::Value {
        serde_json::json!({
            "seed": self.seed,
            "agents": self.agents,
            "simulated_s": self.simulated.as_secs_f64(),
            "events": self.events,
            "fingerprint": format!("{:016x}", self.fingerprint),
            "csq": self.csq,
            "completed": self.completed,
            "max_queue": self.max_queue,
            "not_ready_by_reason": self.not_ready.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
            "reservations": self.reservations,
            "previews_accepted": self.previews_accepted,
            "previews_rejected": self.previews_rejected,
            "customer_calls": self.customer_calls,
            "customer_no_answer": self.customer_no_answer,
            "contacts_left": self.contacts_left,
            "failovers_ms": self.failovers,
            "sessions_dropped": self.sessions_dropped,
            "calls_lost_in_failover": 0,
            "slow_answers": self.slow_answers,
            "behaviours": self.behaviours,
            "final_states": self.final_states,
        })
    }

    /// The report as one JSON object (`ccx load --scenario FILE --json`).
    pub fn json(&self) -> serde_json::Value {
        let mut v = self.counts();
        if let Some(o) = v.as_object_mut() {
            o.insert("command".into(), "load-scenario".into());
            o.insert(
                "wall_ms".into(),
                serde_json::json!(self.wall.as_secs_f64() * 1000.0),
            );
        }
        v
    }

    /// The report as text.
    pub fn text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "ccx load --scenario: {} agents, {:.0} simulated minutes in {:.2} s of wall time (seed {}, {} events, schedule {:016x})",
            self.agents,
            self.simulated.as_secs_f64() / 60.0,
            self.wall.as_secs_f64(),
            self.seed,
            self.events,
            self.fingerprint
        );
        for (name, c) in &self.csq {
            let asa = if c.answered > 0 {
                c.wait_ms as f64 / c.answered as f64 / 1000.0
            } else {
                0.0
            };
            let sl = if c.answered > 0 {
                100.0 * c.within_service_level as f64 / c.answered as f64
            } else {
                0.0
            };
            let _ = writeln!(
                s,
                "  csq {name}: offered {}, answered {}, abandoned {}, queued at end {}, average wait {asa:.1} s, service level {sl:.1} %",
                c.offered, c.answered, c.abandoned, c.queued_at_end
            );
        }
        let _ = writeln!(
            s,
            "  calls completed {}, longest queue {}",
            self.completed, self.max_queue
        );
        let nr: Vec<String> = self
            .not_ready
            .iter()
            .map(|(k, v)| format!("reason {k}: {v}"))
            .collect();
        if !nr.is_empty() {
            let _ = writeln!(s, "  not ready: {}", nr.join(", "));
        }
        let _ = writeln!(
            s,
            "  previews offered {}, accepted {}, rejected {}; customer calls {}, no answer {}; contacts left {}",
            self.reservations,
            self.previews_accepted,
            self.previews_rejected,
            self.customer_calls,
            self.customer_no_answer,
            self.contacts_left
        );
        if !self.failovers.is_empty() || self.sessions_dropped > 0 || self.slow_answers > 0 {
            let _ = writeln!(
                s,
                "  faults: failovers {:?} ms, sessions dropped {} (agents kept state and calls), answers slowed {}",
                self.failovers, self.sessions_dropped, self.slow_answers
            );
        }
        let st: Vec<String> = self
            .final_states
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(s, "  agents at the end: {}", st.join(", "));
        s
    }
}
