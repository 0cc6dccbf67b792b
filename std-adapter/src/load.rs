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
mod report;
mod worker;

pub use report::LoadReport;

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
        if view.agent().state != agent.state || view.agent().reason != agent.reason {
            out.push(format!(
                "{}: phone shows {:?} ({}), simulator {:?} ({})",
                agent.id,
                view.agent().state,
                view.agent().reason,
                agent.state,
                agent.reason
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
        crate::out!("{}", crate::scenario::EXAMPLE_TOML);
        return ExitCode::SUCCESS;
    }
    if let (Some(path), false) = (&args.scenario, args.real) {
        return match crate::scenario::Scenario::from_file(path) {
            Ok(s) => {
                let report = crate::scenario::run(&s);
                if args.json {
                    crate::outln!("{}", report.json());
                } else {
                    crate::out!("{}", report.text());
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
                crate::outln!("{}", report.json());
            } else {
                crate::out!("{}", report.text());
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
