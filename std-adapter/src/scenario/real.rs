//! A scenario played by real phones (`ccx load --scenario FILE --real`): the run's own
//! simulator takes the scenario's inbound calls (`Scenario::arrivals`) and each sans-io
//! phone of `ccx load` follows a [`Plan`] from the scenario — its behaviour's answer delay,
//! the talk and wrap-up times, Not Ready with a reason code for a time after a share of its
//! calls, the preview answers by share — in real time divided by the speed factor. The
//! virtual-clock run (`scenario::run`) stays the deterministic one: here the network and the
//! threads decide the order of things.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{Behaviour, Distribution, Scenario};
use crate::sim::{AgentDef, Campaign, SimConfig};

/// Not Ready time and answer delay when the behaviour gives none (as on the virtual clock).
const DEFAULT_NOT_READY: Duration = Duration::from_secs(60);
const DEFAULT_ANSWER: Duration = Duration::from_secs(2);

impl Scenario {
    /// The behaviour of agent `index`.
    fn behaviour_of(&self, index: usize) -> Option<&Behaviour> {
        let mut seen = 0;
        let counts = behaviour_counts(&self.behaviour, self.agents as usize);
        for (b, count) in self.behaviour.iter().zip(counts) {
            seen += count;
            if index < seen {
                return Some(b);
            }
        }
        None
    }

    /// The simulator of a real run: the scenario's agents on its CSQs, its inbound calls at
    /// `speed`, its campaign; the agents stay in WORK until their phone ends the wrap-up.
    pub fn real_sim_config(&self, speed: f64) -> SimConfig {
        let csqs: Vec<u32> = (1..=self.csq.len() as u32).collect();
        let mut cfg = SimConfig {
            agents: (0..self.agents as usize)
                .map(|i| AgentDef {
                    csqs: csqs.clone(),
                    ..AgentDef::generated(i)
                })
                .collect(),
            auto_work: true,
            wrapup_ms: None,
            ..SimConfig::loopback()
        };
        cfg.inbound.calls = self.arrivals(speed);
        cfg.inbound.rate_per_min = 0.0;
        cfg.limits.max_connections = cfg.limits.max_connections.max(self.agents as usize + 100);
        if let Some(c) = &self.campaign {
            let mut campaign = Campaign::generated(c.contacts as usize);
            campaign.offer_delay_ms = ms(c.offer_after_idle.div_f64(speed_of(speed)));
            cfg.campaign = Some(campaign);
        }
        cfg
    }

    /// The plan of the phone of agent `index`.
    pub fn plan(&self, index: usize, speed: f64) -> Plan {
        Plan {
            behaviour: self.behaviour_of(index).cloned(),
            talk: self.talk.clone(),
            wrapup: self.wrapup.clone(),
            speed: speed_of(speed),
            rng: StdRng::seed_from_u64(self.seed.wrapping_add(index as u64)),
            ringing: None,
            work_until: None,
            not_ready: None,
            not_ready_until: None,
            not_ready_by_reason: BTreeMap::new(),
        }
    }
}

/// A scenario played by real phones (`--scenario FILE --real`): its agents' phones against
/// the run's own simulator, for the scenario's duration divided by `speed`.
pub fn run_real(
    s: &Scenario,
    args: &crate::load::LoadArgs,
    progress: &mut dyn FnMut(&str),
    stop: &std::sync::atomic::AtomicBool,
) -> anyhow::Result<crate::load::LoadReport> {
    let speed = if args.speed.is_finite() && args.speed > 0.0 {
        args.speed
    } else {
        anyhow::bail!("--speed: {} is not a factor above 0", args.speed)
    };
    let args = crate::load::LoadArgs {
        phones: s.agents as usize,
        duration: s.duration.div_f64(speed).max(Duration::from_secs(1)),
        server: None,
        seed: s.seed,
        ..args.clone()
    };
    crate::load::run_with(&args, progress, stop, Some((s, speed)))
}

/// How many of `n` agents each behaviour gets, in order (the first agents get the first).
pub(crate) fn behaviour_counts(behaviours: &[Behaviour], n: usize) -> Vec<usize> {
    let total: f64 = behaviours.iter().map(|b| b.share).sum();
    let mut counts: Vec<usize> = behaviours
        .iter()
        .map(|b| {
            if total > 0.0 {
                ((b.share / total) * n as f64).round() as usize
            } else {
                0
            }
        })
        .collect();
    let assigned: usize = counts.iter().sum();
    if let Some(first) = counts.first_mut() {
        *first = (*first + n).saturating_sub(assigned);
    }
    counts
}

fn speed_of(speed: f64) -> f64 {
    if speed.is_finite() && speed > 0.0 {
        speed
    } else {
        1.0
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// What one phone's agent does, from the scenario; its times are real ones (scenario time
/// divided by the speed).
#[derive(Debug, Clone)]
pub struct Plan {
    behaviour: Option<Behaviour>,
    talk: Distribution,
    wrapup: Distribution,
    speed: f64,
    rng: StdRng,
    /// The ringing call and when the agent answers it.
    ringing: Option<(u32, Instant)>,
    /// The wrap-up of the last call ends then.
    work_until: Option<Instant>,
    /// After the wrap-up: Not Ready with this reason for this long.
    not_ready: Option<(u16, Duration)>,
    /// In Not Ready until then.
    not_ready_until: Option<Instant>,
    /// Not Ready pressed, by reason code.
    pub not_ready_by_reason: BTreeMap<u16, u64>,
}

/// What the agent does now about the state it is in, when it has no call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing yet.
    Wait,
    /// Press Ready.
    Ready,
    /// Press Not Ready with this reason code.
    NotReady(u16),
}

impl Plan {
    fn sample(&mut self, d: &Distribution, default: Duration) -> Duration {
        let mean = d.mean.unwrap_or(default);
        let t = match d.kind.as_str() {
            "fixed" => mean,
            "uniform" => {
                let (lo, hi) = (d.min.map_or(0, ms), d.max.map_or(0, ms));
                Duration::from_millis(if hi > lo {
                    self.rng.gen_range(lo..=hi)
                } else {
                    lo
                })
            }
            _ => {
                let u: f64 = self.rng.gen();
                mean.mul_f64(-(1.0 - u).ln())
            }
        };
        t.div_f64(self.speed)
    }

    /// Whether the agent answers ringing call `call` now (its answer delay is over).
    pub fn answers(&mut self, call: u32, now: Instant) -> bool {
        match self.ringing {
            Some((id, at)) if id == call => now >= at,
            _ => {
                let d = self.behaviour.as_ref().and_then(|b| b.answer_delay.clone());
                let delay = match d {
                    Some(d) => self.sample(&d, DEFAULT_ANSWER),
                    None => Duration::ZERO,
                };
                self.ringing = Some((call, now + delay));
                delay.is_zero()
            }
        }
    }

    /// How long the agent talks on a call it just answered; decides what it does after.
    pub fn talk(&mut self) -> Duration {
        self.ringing = None;
        self.work_until = None;
        let talk = self.talk.clone();
        let t = self.sample(&talk, Duration::from_secs(180));
        self.not_ready = None;
        if let Some(b) = self.behaviour.clone() {
            if !b.reason_codes.is_empty() && self.rng.gen::<f64>() < b.not_ready_share {
                let i = self.rng.gen_range(0..b.reason_codes.len());
                let reason = b.reason_codes.get(i).copied().unwrap_or(0);
                let time = match &b.not_ready_time {
                    Some(d) => self.sample(d, DEFAULT_NOT_READY),
                    None => DEFAULT_NOT_READY.div_f64(self.speed),
                };
                self.not_ready = Some((reason, time));
            }
        }
        t
    }

    /// In WORK after a call: Ready (or Not Ready with a reason) once the wrap-up is over.
    pub fn in_work(&mut self, now: Instant) -> Step {
        let until = match self.work_until {
            Some(t) => t,
            None => {
                let wrapup = self.wrapup.clone();
                let t = now + self.sample(&wrapup, Duration::from_secs(30));
                self.work_until = Some(t);
                t
            }
        };
        if now < until {
            return Step::Wait;
        }
        self.work_until = None;
        match self.not_ready.take() {
            Some((reason, time)) => {
                self.not_ready_until = Some(now + time);
                *self.not_ready_by_reason.entry(reason).or_default() += 1;
                Step::NotReady(reason)
            }
            None => Step::Ready,
        }
    }

    /// In NOT_READY: Ready once its time is over (at once after the login).
    pub fn in_not_ready(&mut self, now: Instant) -> Step {
        match self.not_ready_until {
            Some(t) if now < t => Step::Wait,
            _ => {
                self.not_ready_until = None;
                Step::Ready
            }
        }
    }

    /// Whether a preview reservation is accepted (the behaviour's share).
    pub fn accepts_preview(&mut self) -> bool {
        let share = self.behaviour.as_ref().map_or(1.0, |b| b.preview_accept);
        self.rng.gen::<f64>() < share
    }

    /// When the plan next needs a look.
    pub fn next_wake(&self) -> Option<Instant> {
        [
            self.ringing.map(|(_, t)| t),
            self.work_until,
            self.not_ready_until,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// The scenario's timed faults in a real run, at their time divided by the speed:
/// `slow_server` delays every frame by its `delay` (divided by the speed too) for its time,
/// `heartbeat_loss` leaves the heartbeats of its share of the sessions unanswered for its
/// time (the phones only notice when that outlasts their own heartbeat interval, which is
/// not compressed), and `failover` takes the master out of service (SYSTEM_EVENT
/// SYS_CCX_OFFLINE) once the standby of its pair is master, so the phones move over.
#[derive(Debug)]
pub struct FaultPlayer {
    faults: Vec<super::TimedFault>,
    speed: f64,
    /// Per fault: started, ended.
    done: Vec<(bool, bool)>,
}

/// Delay of a `slow_server` fault that gives none (scenario time).
const DEFAULT_SLOW: Duration = Duration::from_secs(2);

impl FaultPlayer {
    /// The player of `s`'s faults at `speed`.
    pub fn new(s: &Scenario, speed: f64) -> FaultPlayer {
        FaultPlayer {
            faults: s.fault.clone(),
            speed: speed_of(speed),
            done: vec![(false, false); s.fault.len()],
        }
    }

    /// Whether a fault needs a pair of simulators (a failover).
    pub fn needs_pair(&self) -> bool {
        self.faults.iter().any(|f| f.kind == "failover")
    }

    /// Start and end what is due `elapsed` into the run on `sims` (the pair, or one);
    /// returns what it did, in words.
    pub fn tick(&mut self, elapsed: Duration, sims: &[&crate::sim::Simulator]) -> Vec<String> {
        let mut out = Vec::new();
        for (f, (started, ended)) in self.faults.iter().zip(self.done.iter_mut()) {
            let at = f.at.div_f64(self.speed);
            let until = (f.at + f.lasts).div_f64(self.speed);
            if !*started && elapsed >= at {
                *started = true;
                match f.kind.as_str() {
                    "slow_server" => {
                        let d = ms(f.delay.unwrap_or(DEFAULT_SLOW).div_f64(self.speed));
                        sims.iter().for_each(|s| s.set_reply_delay(d));
                        out.push(format!("slow server: every frame {d} ms late"));
                    }
                    "heartbeat_loss" => {
                        sims.iter().for_each(|s| s.set_heartbeat_loss(f.share));
                        out.push(format!(
                            "heartbeat loss: {:.0} % of the sessions unanswered",
                            f.share * 100.0
                        ));
                    }
                    _ => {
                        let from = sims.iter().find(|s| s.is_master());
                        let to = sims.iter().find(|s| !s.is_master());
                        if let (Some(from), Some(to)) = (from, to) {
                            to.promote();
                            // SystemEventID SYS_CCX_OFFLINE with CCX_SHUTTING_DOWN.
                            let told = from.report_out_of_service(0x200, 4);
                            out.push(format!(
                                "failover: {} out of service ({told} sessions told), {} master",
                                from.addr(),
                                to.addr()
                            ));
                        }
                    }
                }
            }
            if *started && !*ended && elapsed >= until {
                *ended = true;
                match f.kind.as_str() {
                    "slow_server" => {
                        sims.iter().for_each(|s| s.set_reply_delay(0));
                        out.push("slow server: over".into());
                    }
                    "heartbeat_loss" => {
                        sims.iter().for_each(|s| s.set_heartbeat_loss(0.0));
                        out.push("heartbeat loss: over".into());
                    }
                    _ => {}
                }
            }
        }
        out
    }
}
