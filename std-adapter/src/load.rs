//! `ccx load`: many phones in one process against a simulator (its own, or `--server`).
//!
//! Each phone runs in its own [driver] with a small agent thread that logs in,
//! becomes ready, answers inbound calls, answers preview reservations at random, talks for a
//! while, releases and wraps up. The report gives messages per second, the latency from a
//! request to its confirmation (p50/p90/p99), reconnects and errors. At the end the simulator
//! stops offering work, and every phone's view (agent state, calls) is compared with the
//! simulator's; any difference, or an event the phone had to drop, fails the run.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use ccx_cti::config::{PhoneConfig, ShortText};
use ccx_cti::phone::{Command, Event, PreviewAnswer, SessionState};
use ccx_cti::wire::{AgentState, CallType, LocalConnectionState};

use crate::config_file::parse_server;
use crate::driver::{self, AgentCommand, DriverEvent, DriverHandle, DriverOptions, PhoneView};
use crate::sim::{AgentDef, Campaign, SimConfig, Simulator};

/// The longest an agent sleeps without an event.
const AGENT_TICK: Duration = Duration::from_millis(500);
/// How long an agent waits before pressing the same button again.
const REPEAT_GUARD: Duration = Duration::from_millis(500);

/// `ccx load` options.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// Number of phones (agents agent0000, agent0001 … with extensions 10000, 10001 …).
    #[arg(long, default_value_t = 10)]
    pub phones: usize,
    /// Seconds of traffic.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Use this server (`host:port`, e.g. a `ccx sim --agents N`) instead of an own simulator;
    /// the final consistency check then only covers what the phones saw.
    #[arg(long)]
    pub server: Option<String>,
    /// Protocol version the phones ask for.
    #[arg(long, default_value_t = 17, value_parser = clap::value_parser!(u8).range(10..=18))]
    pub protocol_version: u8,
    /// Inbound calls per minute (own simulator; default 6 per phone).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Milliseconds an agent talks before releasing.
    #[arg(long, default_value_t = 200)]
    pub talk_ms: u64,
    /// Seed of the agents' random answers.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

impl Default for LoadArgs {
    fn default() -> Self {
        LoadArgs {
            phones: 10,
            duration: 10,
            server: None,
            protocol_version: 17,
            rate: None,
            talk_ms: 200,
            seed: 1,
        }
    }
}

/// What one agent thread measured.
#[derive(Debug, Default, Clone)]
struct AgentStats {
    sent: u64,
    received: u64,
    latencies: Vec<Duration>,
    sessions: u64,
    refused: u64,
    refusals: std::collections::BTreeMap<String, u64>,
    timed_out: u64,
    command_errors: u64,
    malformed: u64,
    events_lost: u64,
    answers: u64,
    previews: u64,
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
    /// Request-to-confirmation latencies, sorted.
    pub latencies: Vec<Duration>,
    /// Sessions opened beyond the first of each phone.
    pub reconnects: u64,
    /// Phones that never opened a session.
    pub never_opened: usize,
    /// Requests refused by the server.
    pub refused: u64,
    /// Refusals by request and status.
    pub refusals: std::collections::BTreeMap<String, u64>,
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
}

impl LoadReport {
    /// A latency percentile (0..=100).
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        if self.latencies.is_empty() {
            return None;
        }
        let rank = ((p / 100.0) * (self.latencies.len() - 1) as f64).round() as usize;
        self.latencies
            .get(rank.min(self.latencies.len() - 1))
            .copied()
    }

    /// Messages (both directions) per second.
    pub fn messages_per_second(&self) -> f64 {
        if self.seconds <= 0.0 {
            0.0
        } else {
            (self.sent + self.received) as f64 / self.seconds
        }
    }

    /// Whether the run passed: no mismatch, no lost event, every phone opened.
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty() && self.events_lost == 0 && self.never_opened == 0
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
            "ccx load: {} phones for {:.1} s",
            self.phones, self.seconds
        );
        let _ = writeln!(
            s,
            "  messages: {} sent, {} received, {:.0} per second",
            self.sent,
            self.received,
            self.messages_per_second()
        );
        let _ = writeln!(
            s,
            "  request -> confirmation latency over {} requests: p50 {}, p90 {}, p99 {}, max {}",
            self.latencies.len(),
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
        let _ = writeln!(
            s,
            "  reconnects {}, phones never opened {}, refused {}, timed out {}, local command errors {}, malformed {}, events lost {}",
            self.reconnects, self.never_opened, self.refused, self.timed_out, self.command_errors, self.malformed, self.events_lost
        );
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
            for m in self.mismatches.iter().take(20) {
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

/// One agent's behaviour: one request at a time, chosen from the phone's view.
struct Agent {
    handle: DriverHandle,
    rng: StdRng,
    talk: Duration,
    stats: AgentStats,
    /// The request waiting for its confirmation, and when the agent pressed the button.
    waiting: Option<(Option<u32>, Instant)>,
    talking_since: Option<(u32, Instant)>,
    reclassified: bool,
    /// The last button pressed: the same one is not pressed again until the view moved on
    /// (a confirmation may arrive before the event that changes the call).
    last: Option<(AgentCommand, Instant)>,
}

impl Agent {
    fn press(&mut self, command: AgentCommand) {
        self.waiting = Some((None, Instant::now()));
        self.handle.command(command);
    }

    fn on_event(&mut self, event: DriverEvent) {
        match event {
            // Frames are counted by the driver (`frames()`), not traced here.
            DriverEvent::Frame { .. } => {}
            DriverEvent::CommandDone { result, .. } => match result {
                Ok(id) => {
                    if let Some((slot @ None, _)) = self.waiting.as_mut() {
                        *slot = Some(id);
                    }
                }
                Err(_) => {
                    self.stats.command_errors += 1;
                    self.waiting = None;
                }
            },
            DriverEvent::Phone { event, .. } => self.on_phone_event(event),
            DriverEvent::Transport { .. } => {}
        }
    }

    fn on_phone_event(&mut self, event: Event) {
        let done = |w: &Option<(Option<u32>, Instant)>, id: u32| matches!(w, Some((Some(x), _)) if *x == id);
        match event {
            Event::SessionOpened { .. } => {
                self.stats.sessions += 1;
                self.waiting = None;
            }
            Event::SessionLost { .. } => self.waiting = None,
            Event::RequestSucceeded { invoke_id, .. } if done(&self.waiting, invoke_id) => {
                if let Some((_, at)) = self.waiting.take() {
                    self.stats.latencies.push(at.elapsed());
                }
            }
            Event::RequestFailed {
                invoke_id,
                request,
                status,
                ..
            } => {
                self.stats.refused += 1;
                let key = format!(
                    "{} status {status}",
                    crate::tui::view::request_name(request)
                );
                *self.stats.refusals.entry(key).or_default() += 1;
                if done(&self.waiting, invoke_id) {
                    self.waiting = None;
                }
            }
            Event::RequestTimedOut { invoke_id, .. } => {
                self.stats.timed_out += 1;
                if done(&self.waiting, invoke_id) {
                    self.waiting = None;
                }
            }
            Event::MalformedMessage { .. } => self.stats.malformed += 1,
            Event::EventsLost { count } => self.stats.events_lost += u64::from(count),
            _ => {}
        }
    }

    /// The next button to press, if any.
    fn next_action(&mut self, view: &PhoneView) -> Option<AgentCommand> {
        if view.session.state != SessionState::Open {
            return None;
        }
        if view.preview.is_some() {
            let answer = match self.rng.gen_range(0..100) {
                0..=39 => PreviewAnswer::Accept,
                40..=59 => PreviewAnswer::Skip,
                60..=74 => PreviewAnswer::Reject,
                75..=84 => PreviewAnswer::RejectClose,
                85..=94 => PreviewAnswer::SkipClose,
                _ => PreviewAnswer::CancelReservation,
            };
            return Some(AgentCommand::Preview(answer));
        }
        if let Some(ringing) = view
            .calls
            .iter()
            // A reservation also "alerts", but it is answered with BAResponse only.
            .find(|c| {
                c.state == LocalConnectionState::Alerting && c.call_type != CallType::Reservation
            })
        {
            return Some(AgentCommand::Answer {
                call: Some(ringing.id),
            });
        }
        if let Some(talking) = view
            .calls
            .iter()
            .find(|c| c.state == LocalConnectionState::Connect)
        {
            let since = match self.talking_since {
                Some((id, at)) if id == talking.id => at,
                _ => {
                    self.talking_since = Some((talking.id, Instant::now()));
                    self.reclassified = false;
                    return None;
                }
            };
            if since.elapsed() < self.talk {
                return None;
            }
            if talking.var("BAStatus") == Some("CO") && !self.reclassified {
                self.reclassified = true;
                let value = ["REX_VOICE", "REX_ANS_MACHINE", "BUSY", "DO_NOT_CALL"]
                    [self.rng.gen_range(0..4)];
                return driver::owned(Command::Reclassify { value }).ok();
            }
            return Some(AgentCommand::Release {
                call: Some(talking.id),
            });
        }
        if !view.calls.is_empty() {
            return None;
        }
        match view.agent.state {
            AgentState::Logout => Some(AgentCommand::Login { password: None }),
            AgentState::NotReady | AgentState::WorkNotReady | AgentState::WorkReady => {
                Some(AgentCommand::Ready)
            }
            _ => None,
        }
    }

    /// How long the agent may sleep when no event comes: until its talk or repeat timer ends.
    fn next_wake(&self) -> Duration {
        let talk = self
            .talking_since
            .map(|(_, at)| self.talk.saturating_sub(at.elapsed()));
        let repeat = self
            .last
            .as_ref()
            .map(|(_, at)| REPEAT_GUARD.saturating_sub(at.elapsed()));
        [talk, repeat]
            .into_iter()
            .flatten()
            .filter(|d| !d.is_zero())
            .min()
            .unwrap_or(AGENT_TICK)
            .clamp(Duration::from_millis(1), AGENT_TICK)
    }

    fn run(mut self, stop: &AtomicBool) -> (AgentStats, DriverHandle) {
        while !stop.load(Ordering::SeqCst) {
            // Events wake the agent; the timeout covers its own timers (talking, repeats).
            if let Ok(event) = self.handle.events().recv_timeout(self.next_wake()) {
                self.on_event(event);
                while let Ok(event) = self.handle.events().try_recv() {
                    self.on_event(event);
                }
            }
            // A request that never got an answer is given up after a while.
            if self
                .waiting
                .is_some_and(|(_, at)| at.elapsed() > Duration::from_secs(15))
            {
                self.waiting = None;
            }
            if self.waiting.is_none() {
                let view = self.handle.view();
                if let Some(cmd) = self.next_action(&view) {
                    let repeat = self
                        .last
                        .as_ref()
                        .is_some_and(|(c, at)| *c == cmd && at.elapsed() < REPEAT_GUARD);
                    if !repeat {
                        match cmd {
                            AgentCommand::Answer { .. } => self.stats.answers += 1,
                            AgentCommand::Preview(_) => self.stats.previews += 1,
                            _ => {}
                        }
                        self.last = Some((cmd.clone(), Instant::now()));
                        self.press(cmd);
                    }
                }
            }
        }
        // Count what is still queued, without acting on it.
        while let Ok(event) = self
            .handle
            .events()
            .recv_timeout(Duration::from_millis(100))
        {
            self.on_event(event);
        }
        let (sent, received) = self.handle.frames();
        self.stats.sent = sent;
        self.stats.received = received;
        (self.stats, self.handle)
    }
}

/// Run a load test; `progress` gets a line now and then.
pub fn run(args: &LoadArgs, progress: &mut dyn FnMut(&str)) -> anyhow::Result<LoadReport> {
    let own = match &args.server {
        Some(_) => None,
        None => {
            let mut campaign = Campaign::generated(args.phones.max(1) * 50);
            campaign.offer_delay_ms = 300;
            campaign.retry_delay_ms = 5_000;
            let mut cfg = SimConfig {
                agents: (0..args.phones).map(AgentDef::generated).collect(),
                campaign: Some(campaign),
                ..SimConfig::loopback()
            };
            cfg.inbound.rate_per_min = args.rate.unwrap_or(6.0 * args.phones as f64);
            cfg.inbound.seed = args.seed;
            Some(Simulator::start(cfg)?)
        }
    };
    let server = match (&args.server, &own) {
        (Some(s), _) => s.clone(),
        (None, Some(sim)) => sim.addr().to_string(),
        (None, None) => anyhow::bail!("no server"),
    };
    progress(&format!("starting {} phones against {server}", args.phones));
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for i in 0..args.phones {
        let cfg = phone_config(&server, i, args.protocol_version)?;
        let handle = driver::spawn(
            cfg,
            DriverOptions {
                trace_frames: false,
                name: format!("{i}"),
            },
        )?;
        let agent = Agent {
            handle,
            rng: StdRng::seed_from_u64(args.seed.wrapping_add(i as u64)),
            talk: Duration::from_millis(args.talk_ms),
            stats: AgentStats::default(),
            waiting: None,
            talking_since: None,
            reclassified: false,
            last: None,
        };
        let stop = Arc::clone(&stop);
        threads.push(
            std::thread::Builder::new()
                .name(format!("ccx-load-{i}"))
                .spawn(move || agent.run(&stop))?,
        );
    }
    let started = Instant::now();
    let total = Duration::from_secs(args.duration);
    while started.elapsed() < total {
        std::thread::sleep(Duration::from_secs(1).min(total.saturating_sub(started.elapsed())));
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
    stop.store(true, Ordering::SeqCst);
    let mut report = LoadReport {
        phones: args.phones,
        seconds,
        ..LoadReport::default()
    };
    let mut handles = Vec::new();
    for t in threads {
        let (stats, handle) = t
            .join()
            .map_err(|_| anyhow::anyhow!("an agent thread panicked"))?;
        report.sent += stats.sent;
        report.received += stats.received;
        report.latencies.extend(stats.latencies);
        report.reconnects += stats.sessions.saturating_sub(1);
        report.never_opened += usize::from(stats.sessions == 0);
        report.refused += stats.refused;
        for (k, v) in stats.refusals {
            *report.refusals.entry(k).or_default() += v;
        }
        report.timed_out += stats.timed_out;
        report.command_errors += stats.command_errors;
        report.malformed += stats.malformed;
        report.events_lost += stats.events_lost;
        report.calls_answered += stats.answers;
        report.previews_answered += stats.previews;
        handles.push(handle);
    }
    report.latencies.sort();
    std::thread::sleep(Duration::from_millis(300));
    if let Some(sim) = &own {
        report.mismatches = compare(sim, &handles);
        report.checked = true;
        report.simulator = sim.summary();
    }
    for h in handles {
        h.stop();
    }
    if let Some(sim) = own {
        sim.stop();
    }
    Ok(report)
}

/// Every difference between what the phones show and what the simulator holds.
fn compare(sim: &Simulator, handles: &[DriverHandle]) -> Vec<String> {
    let agents = sim.agents();
    let mut out = Vec::new();
    for (i, h) in handles.iter().enumerate() {
        let view = h.view();
        let Some(agent) = agents.get(i) else {
            out.push(format!("phone {i}: no such agent in the simulator"));
            continue;
        };
        if view.agent.state != agent.state {
            out.push(format!(
                "{}: phone shows {:?}, simulator {:?}",
                agent.id, view.agent.state, agent.state
            ));
        }
        let mut phone_calls: Vec<(u32, LocalConnectionState)> =
            view.calls.iter().map(|c| (c.id, c.state)).collect();
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
    let mut progress = |line: &str| eprintln!("{line}");
    match run(args, &mut progress) {
        Ok(report) => {
            print!("{}", report.text());
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
