//! `ccx load`: many phones in one process against a simulator (its own, or `--server`).
//!
//! The phones are sans-io [`ccx_cti::phone::Phone`]s driven from one poll loop per core
//! (`worker`), each with an agent (`agent`) that logs in, becomes ready, answers inbound
//! calls, answers preview reservations at random, talks for a while, releases and wraps up.
//! The report gives messages per second, the latency from a request to its confirmation
//! (p50/p90/p99), reconnects and errors, sessions lost and why (a session replaced by another
//! client, a server that closed or died), and why a phone never opened. At the end the
//! simulator stops offering work, and every phone's view (agent state, calls) is compared
//! with the simulator's; any difference, or an event the phone had to drop, fails the run.

mod agent;
mod worker;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use rand::rngs::StdRng;
use rand::SeedableRng;

use ccx_cti::config::{PhoneConfig, ShortText};
use ccx_cti::phone::{Phone, SessionState};
use ccx_cti::wire::LocalConnectionState;

use crate::config_file::parse_server;
use crate::sim::{AgentDef, Campaign, SimConfig, Simulator};

/// `ccx load` options.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// Number of phones (agents agent0000, agent0001 … with extensions 10000, 10001 …).
    #[arg(long, default_value_t = 10, value_parser = phone_count)]
    pub phones: usize,
    /// How long the traffic runs: `30s`, `5m`, `250ms`, or a bare number of seconds.
    #[arg(long, default_value = "10", value_parser = crate::cli::parse_positive_duration)]
    pub duration: Duration,
    /// Use this server (`host:port`, e.g. a `ccx sim --agents N`) instead of an own simulator;
    /// the final consistency check then only covers what the phones saw.
    #[arg(long)]
    pub server: Option<String>,
    /// Protocol version the phones ask for.
    #[arg(long, default_value_t = 17, value_parser = clap::value_parser!(u8).range(10..=18))]
    pub protocol_version: u8,
    /// Inbound calls per minute (own simulator; default 6 per phone).
    #[arg(long, value_parser = crate::sim::config::parse_rate)]
    pub rate: Option<f64>,
    /// Milliseconds an agent talks before releasing.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    pub talk_ms: u64,
    /// Poll loops (threads) that drive the phones (default: one per core, less the one the
    /// run's own simulator takes).
    #[arg(long, value_parser = loop_count)]
    pub loops: Option<usize>,
    /// Seed of the agents' random answers.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print the final summary as one JSON object on stdout (progress stays on stderr).
    #[arg(long)]
    pub json: bool,
    /// At most one progress line on stderr per this long (`0`: none).
    #[arg(long, default_value = "1s", value_parser = crate::cli::parse_duration)]
    pub progress: Duration,
    /// Run a scenario file (arrival rates per CSQ, talk and wrap-up times, agent behaviours,
    /// a campaign, timed faults) on a virtual clock instead; its seed gives its schedule.
    /// `--example-scenario` prints one.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<std::path::PathBuf>,
    /// Print an example scenario file (a busy hour of 400 agents) and exit.
    #[arg(long)]
    pub example_scenario: bool,
    /// The phones start spread evenly over this long, as a floor of phones powered on over a
    /// few seconds would (default: 1 ms a phone, at most a quarter of `--duration`; `0`: all
    /// at once). Requests pressed during it are reported apart, as the login storm.
    #[arg(long, value_parser = crate::cli::parse_duration)]
    pub ramp: Option<Duration>,
    /// With `--scenario`: play it with real phones over TCP against the run's own simulator,
    /// in real time divided by `--speed` (the virtual clock stays the deterministic run).
    #[arg(long, requires = "scenario", conflicts_with = "server")]
    pub real: bool,
    /// With `--real`: this many times faster than real time (an hour at 60: a minute).
    #[arg(long, default_value_t = 1.0, requires = "real")]
    pub speed: f64,
}

/// `--loops`: 1 to 256.
fn loop_count(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=256).contains(&n) => Ok(n),
        _ => Err(format!("`{text}` is not a number of loops from 1 to 256")),
    }
}

/// `--phones`: 1 to 100 000.
fn phone_count(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=100_000).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{text}` is not a number of phones from 1 to 100000"
        )),
    }
}

impl Default for LoadArgs {
    fn default() -> Self {
        LoadArgs {
            phones: 10,
            duration: Duration::from_secs(10),
            server: None,
            protocol_version: 17,
            rate: None,
            talk_ms: 200,
            loops: None,
            seed: 1,
            json: false,
            progress: Duration::from_secs(1),
            scenario: None,
            example_scenario: false,
            ramp: None,
            real: false,
            speed: 1.0,
        }
    }
}

/// The result of a load run.
#[derive(Debug, Default, Clone)]
pub struct LoadReport {
    /// Phones run.
    pub phones: usize,
    /// Seconds of traffic measured.
    pub seconds: f64,
    /// Frames sent by all phones.
    pub sent: u64,
    /// Frames received by all phones.
    pub received: u64,
    /// Request-to-confirmation latencies of requests pressed after the ramp-up, sorted.
    pub latencies: Vec<Duration>,
    /// How long the phones took to start (see [`LoadArgs::ramp`]).
    pub ramp: Duration,
    /// Latencies of requests pressed during the ramp-up (logins, the first ready), sorted.
    pub ramp_latencies: Vec<Duration>,
    /// Sessions opened beyond the first of each phone.
    pub reconnects: u64,
    /// Phones that never opened a session.
    pub never_opened: usize,
    /// Why phones never opened (the last failure of each), by reason.
    pub never_opened_why: BTreeMap<String, u64>,
    /// Every phone that failed (never opened, or without a session at the end): its
    /// agent and why.
    pub failed_phones: Vec<(String, String)>,
    /// Whether SIGINT/SIGTERM cut the run short.
    pub interrupted: bool,
    /// Sessions lost after they opened, by why (replaced, closed by the server…).
    pub sessions_lost: BTreeMap<String, u64>,
    /// Phones without an open session at the end, by their last failure.
    pub down_at_end: BTreeMap<String, u64>,
    /// Poll loops the phones ran on.
    pub loops: usize,
    /// Requests refused by the server.
    pub refused: u64,
    /// Refusals by request and status.
    pub refusals: BTreeMap<String, u64>,
    /// Requests without an answer in time.
    pub timed_out: u64,
    /// Commands the phone refused locally.
    pub command_errors: u64,
    /// Frames that did not decode.
    pub malformed: u64,
    /// Events the phones had to drop.
    pub events_lost: u64,
    /// Calls answered and preview answers given.
    pub calls_answered: u64,
    /// Preview reservations answered.
    pub previews_answered: u64,
    /// Differences between a phone's view and the simulator's at the end.
    pub mismatches: Vec<String>,
    /// Whether the views were compared (only against the run's own simulator).
    pub checked: bool,
    /// The simulator's summary (own simulator only).
    pub simulator: String,
    /// Not Ready pressed by the phones, by reason code (a scenario's plan).
    pub not_ready_by_reason: BTreeMap<u16, u64>,
    /// The scenario's timed faults as they were played, in words.
    pub faults: Vec<String>,
}

impl LoadReport {
    /// A latency percentile (0..=100) after the ramp-up.
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        percentile(&self.latencies, p)
    }

    /// A latency percentile (0..=100) during the ramp-up.
    pub fn ramp_percentile(&self, p: f64) -> Option<Duration> {
        percentile(&self.ramp_latencies, p)
    }

    /// Messages (both directions) per second.
    pub fn messages_per_second(&self) -> f64 {
        if self.seconds <= 0.0 {
            0.0
        } else {
            (self.sent + self.received) as f64 / self.seconds
        }
    }

    /// Whether the run passed: no mismatch, no lost event, every phone opened, no session
    /// replaced by another client, every phone still open at the end.
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty()
            && self.events_lost == 0
            && self.never_opened == 0
            && self.replaced() == 0
            && self.down_at_end.is_empty()
    }

    /// Sessions another client's OPEN_REQ for the same agent replaced.
    pub fn replaced(&self) -> u64 {
        self.sessions_lost
            .iter()
            .filter(|(k, _)| k.starts_with("replaced"))
            .map(|(_, v)| *v)
            .sum()
    }

    /// The report as one JSON object (for scripts: `ccx load --json`).
    pub fn json(&self) -> serde_json::Value {
        let ms = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1000.0);
        serde_json::json!({
            "command": "load",
            "result": if self.passed() { "pass" } else { "fail" },
            "interrupted": self.interrupted,
            "phones": self.phones,
            "loops": self.loops,
            "seconds": self.seconds,
            "messages": {
                "sent": self.sent,
                "received": self.received,
                "per_second": self.messages_per_second(),
            },
            "latency_ms": {
                "requests": self.latencies.len(),
                "p50": ms(self.percentile(50.0)),
                "p90": ms(self.percentile(90.0)),
                "p99": ms(self.percentile(99.0)),
                "max": ms(self.latencies.last().copied()),
            },
            "ramp_seconds": self.ramp.as_secs_f64(),
            "ramp_latency_ms": {
                "requests": self.ramp_latencies.len(),
                "p50": ms(self.ramp_percentile(50.0)),
                "p99": ms(self.ramp_percentile(99.0)),
                "max": ms(self.ramp_latencies.last().copied()),
            },
            "calls_answered": self.calls_answered,
            "previews_answered": self.previews_answered,
            "reconnects": self.reconnects,
            "never_opened": self.never_opened,
            "never_opened_why": self.never_opened_why,
            "sessions_lost": self.sessions_lost,
            "down_at_end": self.down_at_end,
            "failed_phones": self
                .failed_phones
                .iter()
                .map(|(agent, why)| serde_json::json!({"agent": agent, "why": why}))
                .collect::<Vec<_>>(),
            "refused": self.refused,
            "refusals": self.refusals,
            "timed_out": self.timed_out,
            "command_errors": self.command_errors,
            "malformed": self.malformed,
            "events_lost": self.events_lost,
            "not_ready_by_reason": self.not_ready_by_reason,
            "faults": self.faults,
            "consistency_checked": self.checked,
            "mismatches": self.mismatches,
        })
    }

    /// The report as text.
    pub fn text(&self) -> String {
        use std::fmt::Write;
        let ms = |d: Option<Duration>| {
            d.map(|d| format!("{:.2} ms", d.as_secs_f64() * 1000.0))
                .unwrap_or_else(|| "-".into())
        };
        let mut s = String::new();
        let _ = writeln!(
            s,
            "ccx load: {} phones on {} poll loops for {:.1} s",
            self.phones, self.loops, self.seconds
        );
        let _ = writeln!(
            s,
            "  messages: {} sent, {} received, {:.0} per second",
            self.sent,
            self.received,
            self.messages_per_second()
        );
        if !self.ramp.is_zero() {
            let _ = writeln!(
                s,
                "  ramp-up: phones started over {:.1} s; {} requests pressed meanwhile: p50 {}, p99 {}, max {}",
                self.ramp.as_secs_f64(),
                self.ramp_latencies.len(),
                ms(self.ramp_percentile(50.0)),
                ms(self.ramp_percentile(99.0)),
                ms(self.ramp_latencies.last().copied())
            );
        }
        let _ =
            writeln!(
            s,
            "  request -> confirmation latency over {} requests{}: p50 {}, p90 {}, p99 {}, max {}",
            self.latencies.len(),
            if self.ramp.is_zero() { "" } else { " after the ramp-up" },
            ms(self.percentile(50.0)),
            ms(self.percentile(90.0)),
            ms(self.percentile(99.0)),
            ms(self.latencies.last().copied())
        );
        let _ = writeln!(
            s,
            "  calls answered {}, previews answered {}",
            self.calls_answered, self.previews_answered
        );
        for f in &self.faults {
            let _ = writeln!(s, "  fault: {f}");
        }
        if !self.not_ready_by_reason.is_empty() {
            let _ = writeln!(s, "  not ready by reason: {:?}", self.not_ready_by_reason);
        }
        let _ = writeln!(
            s,
            "  reconnects {}, phones never opened {}, refused {}, timed out {}, local command errors {}, malformed {}, events lost {}",
            self.reconnects, self.never_opened, self.refused, self.timed_out, self.command_errors, self.malformed, self.events_lost
        );
        let list = |m: &BTreeMap<String, u64>| {
            m.iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !self.never_opened_why.is_empty() {
            let _ = writeln!(s, "  never opened, why: {}", list(&self.never_opened_why));
        }
        if !self.failed_phones.is_empty() {
            let shown: Vec<String> = self
                .failed_phones
                .iter()
                .take(20)
                .map(|(a, why)| format!("{a} ({why})"))
                .collect();
            let more = self.failed_phones.len().saturating_sub(shown.len());
            let _ = writeln!(
                s,
                "  phones that failed: {}{}",
                shown.join(", "),
                if more > 0 {
                    format!(" … and {more} more")
                } else {
                    String::new()
                }
            );
        }
        if self.interrupted {
            let _ = writeln!(s, "  interrupted: the run was cut short by a signal");
        }
        if !self.sessions_lost.is_empty() {
            let _ = writeln!(s, "  sessions lost: {}", list(&self.sessions_lost));
        }
        if self.replaced() > 0 {
            let _ = writeln!(
                s,
                "  {} sessions were replaced: another client opened a session for the same agent",
                self.replaced()
            );
        }
        if !self.down_at_end.is_empty() {
            let all = self.down_at_end.values().sum::<u64>() == self.phones as u64;
            let _ = writeln!(
                s,
                "  {}without a session at the end: {}",
                if all {
                    "the server is gone: every phone is "
                } else {
                    ""
                },
                list(&self.down_at_end)
            );
        }
        if !self.refusals.is_empty() {
            let parts: Vec<String> = self
                .refusals
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            let _ = writeln!(s, "  refused: {}", parts.join(", "));
        }
        if !self.checked {
            let _ = writeln!(
                s,
                "  consistency: not checked (the server is not this run's simulator)"
            );
        } else if self.mismatches.is_empty() {
            let _ = writeln!(s, "  consistency: every phone agrees with the simulator");
        } else {
            let _ = writeln!(s, "  consistency: {} mismatches", self.mismatches.len());
            for m in self.mismatches.iter().take(60) {
                let _ = writeln!(s, "    {m}");
            }
        }
        s.push_str(&self.simulator);
        let _ = writeln!(
            s,
            "  result: {}",
            if self.passed() { "PASS" } else { "FAIL" }
        );
        s
    }
}

/// The `p`th percentile (0..=100) of sorted `latencies`.
fn percentile(latencies: &[Duration], p: f64) -> Option<Duration> {
    let last = latencies.len().checked_sub(1)?;
    let rank = ((p / 100.0) * last as f64).round() as usize;
    latencies.get(rank.min(last)).copied()
}

fn phone_config(server: &str, index: usize, version: u8) -> anyhow::Result<PhoneConfig> {
    let def = AgentDef::generated(index);
    let mut cfg = PhoneConfig::default();
    cfg.servers.clear();
    let _ = cfg.servers.push(parse_server(server)?);
    cfg.agent_id.clear();
    let _ = cfg.agent_id.push_str(&def.id);
    let mut ext = ShortText::new();
    let _ = ext.push_str(&def.extension);
    cfg.agent_extension = ext;
    cfg.agent_instrument.clear();
    cfg.protocol_version = version;
    cfg.heartbeat_secs = 5;
    cfg.idle_timeout_secs = 20;
    cfg.reconnect_secs = 1;
    cfg.request_timeout_secs = 10;
    cfg.connect_timeout_secs = 5;
    cfg.outbound = true;
    // Like every front end: a bad --server or --protocol-version is refused by field name.
    let origin = crate::config_file::Origin {
        otherwise: Some("ccx load".into()),
        ..Default::default()
    };
    crate::config_file::check(&cfg, &origin)?;
    Ok(cfg)
}

/// Run a load test; `progress` gets a line now and then.
pub fn run(args: &LoadArgs, progress: &mut dyn FnMut(&str)) -> anyhow::Result<LoadReport> {
    run_until(args, progress, &AtomicBool::new(false))
}

/// [`run`], cut short (with the same checks and report) when `stop` is raised.
pub fn run_until(
    args: &LoadArgs,
    progress: &mut dyn FnMut(&str),
    stop: &AtomicBool,
) -> anyhow::Result<LoadReport> {
    run_with(args, progress, stop, None)
}

/// A run of `args`; with a scenario (and its speed), the phones follow its plans against
/// the run's own simulator, and its timed faults are played.
pub(crate) fn run_with(
    args: &LoadArgs,
    progress: &mut dyn FnMut(&str),
    stop: &AtomicBool,
    scenario: Option<(&crate::scenario::Scenario, f64)>,
) -> anyhow::Result<LoadReport> {
    let own = match (&args.server, scenario) {
        (_, Some((s, speed))) => Some(Simulator::start(s.real_sim_config(speed))?),
        (Some(_), None) => None,
        (None, None) => {
            let mut campaign = Campaign::generated(args.phones.max(1) * 50);
            campaign.offer_delay_ms = 300;
            campaign.retry_delay_ms = 5_000;
            let mut cfg = SimConfig {
                agents: (0..args.phones).map(AgentDef::generated).collect(),
                campaign: Some(campaign),
                ..SimConfig::loopback()
            };
            cfg.limits.max_connections = cfg.limits.max_connections.max(args.phones + 100);
            cfg.inbound.rate_per_min = args.rate.unwrap_or(6.0 * args.phones as f64);
            cfg.inbound.seed = args.seed;
            Some(Simulator::start(cfg)?)
        }
    };
    // A scenario's failover needs the other side: a standby of the same cluster.
    let mut faults = scenario.map(|(s, speed)| crate::scenario::FaultPlayer::new(s, speed));
    let pair = match (&own, scenario, &faults) {
        (Some(a), Some((s, speed)), Some(f)) if f.needs_pair() => Some(Simulator::start_pair_of(
            a,
            SimConfig {
                standby: true,
                ..s.real_sim_config(speed)
            },
        )?),
        _ => None,
    };
    let server = match (&args.server, &own) {
        (Some(s), _) => s.clone(),
        (None, Some(sim)) => sim.addr().to_string(),
        (None, None) => anyhow::bail!("no server"),
    };
    // One loop per core; the run's own simulator has a loop of its own and takes one core.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let loops = args
        .loops
        .unwrap_or(cores.saturating_sub(usize::from(own.is_some())))
        .clamp(1, args.phones.max(1));
    progress(&format!(
        "starting {} phones against {server} on {loops} poll loops",
        args.phones
    ));
    let start = Instant::now();
    let ramp = args.ramp.unwrap_or_else(|| {
        (Duration::from_millis(1) * u32::try_from(args.phones).unwrap_or(u32::MAX))
            .min(args.duration / 4)
    });
    let steady_from = start + ramp;
    let mut shares: Vec<Vec<worker::Slot>> = (0..loops).map(|_| Vec::new()).collect();
    for i in 0..args.phones {
        let mut cfg = phone_config(&server, i, args.protocol_version)?;
        if let Some(b) = &pair {
            let _ = cfg.servers.push(parse_server(&b.addr().to_string())?);
        }
        let rng = StdRng::seed_from_u64(args.seed.wrapping_add(i as u64));
        // Phone i powers on at i/phones of the ramp.
        let offset = ramp.mul_f64(i as f64 / args.phones.max(1) as f64);
        let slot = worker::Slot::new(
            cfg,
            agent::Agent::new(rng, Duration::from_millis(args.talk_ms), steady_from)
                .with_plan(scenario.map(|(s, speed)| s.plan(i, speed))),
            start + offset,
        );
        if let Some(share) = shares.get_mut(i % loops) {
            share.push(slot);
        }
    }
    let quiet = Arc::new(AtomicBool::new(false));
    let finish = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for (n, share) in shares.into_iter().enumerate() {
        let mut w = worker::Worker::new(share, start)?;
        let (q, f) = (Arc::clone(&quiet), Arc::clone(&finish));
        threads.push(
            std::thread::Builder::new()
                .name(format!("ccx-load-{n}"))
                .spawn(move || {
                    w.run(&q, &f);
                    w.slots
                })?,
        );
    }
    let started = Instant::now();
    let total = args.duration;
    let mut limit = crate::cli::RateLimit::new(args.progress);
    limit.ready(started);
    let mut played = Vec::new();
    while started.elapsed() < total && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100).min(total.saturating_sub(started.elapsed())));
        if let (Some(f), Some(a)) = (&mut faults, &own) {
            let sims: Vec<&Simulator> = [Some(a), pair.as_ref()].into_iter().flatten().collect();
            for line in f.tick(started.elapsed(), &sims) {
                progress(&format!("  fault: {line}"));
                played.push(line);
            }
        }
        if !limit.ready(Instant::now()) {
            continue;
        }
        if let Some(sim) = &own {
            let c = sim.counters();
            progress(&format!(
                "  {:>4.0} s: sessions {}, messages in {} out {}, inbound answered {}, reservations {}",
                started.elapsed().as_secs_f64(),
                c.sessions_opened,
                c.messages_in,
                c.messages_out,
                c.inbound_answered,
                c.reservations_offered
            ));
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    // No new work from here on; the agents stop pressing buttons and what is in flight lands.
    if let Some(sim) = &own {
        sim.set_paused(true);
    }
    quiet.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(500));
    finish.store(true, Ordering::SeqCst);
    let mut report = LoadReport {
        phones: args.phones,
        seconds,
        loops,
        ramp,
        interrupted: stop.load(Ordering::SeqCst),
        faults: played,
        ..LoadReport::default()
    };
    // Phones back in their index order (phone i ran on loop i % loops).
    let mut per_loop = Vec::new();
    for t in threads {
        per_loop.push(
            t.join()
                .map_err(|_| anyhow::anyhow!("a load loop panicked"))?
                .into_iter(),
        );
    }
    let mut phones = Vec::with_capacity(args.phones);
    for i in 0..args.phones {
        if let Some(slot) = per_loop.get_mut(i % loops).and_then(|it| it.next()) {
            phones.push(slot);
        }
    }
    for (i, slot) in phones.iter().enumerate() {
        let stats = &slot.agent.stats;
        report.sent += stats.sent;
        report.received += stats.received;
        report.latencies.extend(stats.latencies.iter().copied());
        report
            .ramp_latencies
            .extend(stats.ramp_latencies.iter().copied());
        report.reconnects += stats.sessions.saturating_sub(1);
        let why = stats
            .last_failure
            .clone()
            .unwrap_or_else(|| "no answer".into());
        let agent = format!("agent{i:04}");
        if stats.sessions == 0 {
            report.never_opened += 1;
            *report.never_opened_why.entry(why.clone()).or_default() += 1;
            report
                .failed_phones
                .push((agent, format!("never opened: {why}")));
        } else if slot.phone.session().state != SessionState::Open {
            *report.down_at_end.entry(why.clone()).or_default() += 1;
            report
                .failed_phones
                .push((agent, format!("no session at the end: {why}")));
        }
        for (k, v) in &stats.lost {
            *report.sessions_lost.entry(k.clone()).or_default() += v;
        }
        if let Some(plan) = &slot.agent.plan {
            for (k, v) in &plan.not_ready_by_reason {
                *report.not_ready_by_reason.entry(*k).or_default() += v;
            }
        }
        report.refused += stats.refused;
        for (k, v) in &stats.refusals {
            *report.refusals.entry(k.clone()).or_default() += v;
        }
        report.timed_out += stats.timed_out;
        report.command_errors += stats.command_errors;
        report.malformed += stats.malformed;
        report.events_lost += stats.events_lost;
        report.calls_answered += stats.answers;
        report.previews_answered += stats.previews;
    }
    report.latencies.sort();
    report.ramp_latencies.sort();
    if let Some(sim) = &own {
        let views: Vec<&Phone> = phones.iter().map(|s| &*s.phone).collect();
        report.mismatches = compare(sim, &views);
        // What led there: the last events of the first phones that disagree.
        let mut shown = std::collections::BTreeSet::new();
        for m in report.mismatches.clone() {
            let Some(i) = m
                .strip_prefix("agent")
                .and_then(|r| r.split(':').next())
                .and_then(|n| n.parse::<usize>().ok())
            else {
                continue;
            };
            if shown.len() < 3 && shown.insert(i) {
                if let Some(slot) = phones.get(i) {
                    for h in &slot.agent.history {
                        report
                            .mismatches
                            .push(format!("  agent{i:04} history: {h}"));
                    }
                }
            }
        }
        report.checked = true;
        report.simulator = sim.summary();
    }
    // Sessions end only now, after the comparison.
    drop(phones);
    if let Some(sim) = own {
        sim.stop();
    }
    Ok(report)
}

/// Every difference between what the phones show and what the simulator holds.
fn compare(sim: &Simulator, phones: &[&Phone]) -> Vec<String> {
    let agents = sim.agents();
    let mut out = Vec::new();
    for (i, view) in phones.iter().enumerate() {
        let Some(agent) = agents.get(i) else {
            out.push(format!("phone {i}: no such agent in the simulator"));
            continue;
        };
        if view.agent().state != agent.state {
            out.push(format!(
                "{}: phone shows {:?}, simulator {:?}",
                agent.id,
                view.agent().state,
                agent.state
            ));
        }
        let mut phone_calls: Vec<(u32, LocalConnectionState)> =
            view.calls().map(|c| (c.id, c.state)).collect();
        let mut sim_calls: Vec<(u32, LocalConnectionState)> =
            agent.calls.iter().map(|c| (c.id, c.state)).collect();
        phone_calls.sort_by_key(|c| c.0);
        sim_calls.sort_by_key(|c| c.0);
        if phone_calls != sim_calls {
            out.push(format!(
                "{}: phone calls {phone_calls:?}, simulator calls {sim_calls:?}",
                agent.id
            ));
        }
    }
    out
}

/// `ccx load`: run and print the report; exit 1 on a mismatch or a lost event.
pub fn load_main(args: &LoadArgs) -> ExitCode {
    if args.example_scenario {
        print!("{}", crate::scenario::EXAMPLE_TOML);
        return ExitCode::SUCCESS;
    }
    if let (Some(path), false) = (&args.scenario, args.real) {
        return match crate::scenario::Scenario::from_file(path) {
            Ok(s) => {
                let report = crate::scenario::run(&s);
                if args.json {
                    println!("{}", report.json());
                } else {
                    print!("{}", report.text());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("ccx load: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    let mut progress = |line: &str| eprintln!("{line}");
    let stop = match crate::cli::stop_on_signals() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("ccx load: cannot watch for SIGINT/SIGTERM: {e}");
            return ExitCode::from(2);
        }
    };
    let run = match &args.scenario {
        Some(path) => crate::scenario::Scenario::from_file(path)
            .and_then(|s| crate::scenario::run_real(&s, args, &mut progress, &stop)),
        None => run_until(args, &mut progress, &stop),
    };
    match run {
        Ok(report) => {
            if args.json {
                println!("{}", report.json());
            } else {
                print!("{}", report.text());
            }
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("ccx load: {e:#}");
            ExitCode::from(2)
        }
    }
}
