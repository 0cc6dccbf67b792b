//! The `ccx` command-line tool: codec, flow replay, the Unified CCX simulator, a terminal
//! agent phone, the demo, a load generator and the configuration blob.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use ccx_cti_std::sim::{InboundCall, SimConfig, Simulator, Story};
use ccx_cti_std::{codec_cli, config_file, demo, flow};

#[derive(Debug, Parser)]
#[command(name = "ccx", version, about = "Unified CCX CTI agent phone tools")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Binary or hex frames -> the guide's trace text.
    Decode(codec_cli::DecodeArgs),
    /// Trace text -> binary or hex frames.
    Encode(codec_cli::EncodeArgs),
    /// Run flow files against the phone (PASS/FAIL per flow).
    Replay(flow::ReplayArgs),
    /// Run a simulated Unified CCX CTI server.
    Sim(Box<SimArgs>),
    /// A terminal agent phone for a real or simulated server.
    Phone(ccx_cti_std::tui::PhoneArgs),
    /// The whole story of a phone against a simulator, printed as trace text.
    Demo(DemoArgs),
    /// A decoding man in the middle between a CTI client and a server (trace, pcap, flow).
    Proxy(ccx_cti_std::wiretools::proxy::ProxyArgs),
    /// Many phones against a simulator: throughput, latency, consistency.
    Load(ccx_cti_std::load::LoadArgs),
    /// The phone configuration: check a file, or turn it into the blob firmware stores in
    /// flash (magic, format version, postcard, CRC-32) and back.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// A phone's flight-recorder dump -> trace text, a flow file (--flow) or a pcap (--pcap).
    Recorder(ccx_cti_std::recorder::RecorderArgs),
}

/// `ccx sim` options. With `--interactive`, commands on stdin while it runs: `status`,
/// `promote`, `demote`, `offline` (SYSTEM_EVENT SYS_CCX_OFFLINE to every session, then
/// standby), `isolate` / `heal` (cut or heal the replication link), `call [ANI [name=value
/// …]]`, `quit` (prints the summary).
#[derive(Debug, Args)]
struct SimArgs {
    /// Read commands from stdin (`status`, `promote`, `demote`, `call [ANI [name=value …]]`, `quit`). Off by default
    /// so that `ccx sim &` is not stopped for reading the terminal in the background.
    #[arg(long, short)]
    interactive: bool,
    /// Print an example configuration file (every section) and exit.
    #[arg(long)]
    example_config: bool,
    /// Address to listen on (default: the configuration file's `listen`, else
    /// 127.0.0.1:12028).
    #[arg(long)]
    listen: Option<String>,
    /// A TOML file: agents, reason codes, inbound scenario, campaign, faults.
    #[arg(long)]
    config: Option<PathBuf>,
    /// A contact list CSV (`account,name,phone`) for the preview campaign.
    #[arg(long)]
    contacts: Option<PathBuf>,
    /// Generate this many agents (agent0000 / extension 10000 …) instead of the default one.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    agents: Option<u32>,
    /// Start as the standby side (OPEN_REQ refused with E_CTI_SERVER_NOT_MASTER).
    #[arg(long)]
    standby: bool,
    /// The other side: a standby probes it and takes over when it stops answering.
    #[arg(long)]
    peer: Option<String>,
    /// The replication link between two processes. Side A listens here (port 0 picks one,
    /// printed at start) and is master unless side B already is (then it joins as standby);
    /// side B (`--standby`) connects here. The master sends its agents, calls and campaign
    /// progress; the standby applies them and takes over when the master falls silent.
    #[arg(long, value_name = "ADDR")]
    replication: Option<String>,
    /// Take the inbound calls (per CSQ, Poisson with its profile, from its seed) and the
    /// number of agents from a scenario file (`ccx load --example-scenario`); the phones
    /// (e.g. `ccx load --server`) bring the talk times and behaviours.
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Run the scenario this many times faster than real time (an hour at 60: a minute).
    #[arg(long, default_value_t = 1.0, value_parser = speed)]
    speed: f64,
    /// Inbound ACD calls per minute (random arrivals).
    #[arg(long, value_parser = ccx_cti_std::sim::config::parse_rate)]
    rate: Option<f64>,
    /// After a call the agent goes straight back to AVAILABLE instead of WORK.
    #[arg(long)]
    no_auto_work: bool,
    /// Milliseconds of WORK after which the agent becomes AVAILABLE by itself.
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=86_400_000))]
    wrapup_ms: Option<u64>,
    /// Stop after this long (`30s`, `5m`, `250ms`, or a bare number of seconds) and print the
    /// summary (0: run until `quit` with --interactive, or SIGINT/SIGTERM).
    #[arg(long, default_value = "0", value_parser = ccx_cti_std::cli::parse_duration)]
    duration: Duration,
    /// Print the final summary as one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Serve Prometheus metrics on this address (`127.0.0.1:9102`; port 0 picks one, printed
    /// at start).
    #[arg(long, value_name = "ADDR")]
    metrics: Option<String>,
    /// At most one progress line on stderr per this long (`0`: none).
    #[arg(long, default_value = "10s", value_parser = ccx_cti_std::cli::parse_duration)]
    progress: Duration,
    /// Fault: close a connection after it received N messages.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    drop_after: Option<u32>,
    /// Fault: close a connection after any message with this probability.
    #[arg(long, value_name = "P", value_parser = ccx_cti_std::sim::config::parse_probability)]
    drop_probability: Option<f64>,
    /// Seed of the random faults.
    #[arg(long)]
    seed: Option<u64>,
    /// Fault: delay every frame sent by this many milliseconds.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(0..=60_000))]
    delay_ms: Option<u64>,
    /// Fault: never answer HEARTBEAT_REQ.
    #[arg(long)]
    ignore_heartbeats: bool,
    /// Fault: corrupt every Nth frame sent.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    corrupt_every: Option<u32>,
    /// Fault: send half of every Nth frame, then close.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    truncate_every: Option<u32>,
    /// Fault: send an unknown message type after every Nth frame.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    unknown_message_every: Option<u32>,
    /// Fault: append an unknown floating field to every frame.
    #[arg(long)]
    unknown_tags: bool,
    /// Require the agent's password to replace a session and for every state change. Off by
    /// default, as on Unified CCX: anyone who knows an agent ID can open a session for it
    /// and so end the agent's own.
    #[arg(long)]
    require_password: bool,
    /// Open connections at most; one more is accepted and closed at once.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_connections: Option<u32>,
    /// Milliseconds from connect within which a connection must open a session.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(100..=3_600_000))]
    open_deadline_ms: Option<u64>,
    /// Play a script on every connection instead of the contact center: `preview` is the
    /// firmware's outbound preview story (agent chli4020, extension 4020; a reservation
    /// skipped, the next accepted), the same script its in-memory and qemu runs play.
    #[arg(long, value_enum, conflicts_with_all = ["standby", "peer", "replication", "scenario", "agents", "contacts", "interactive"])]
    story: Option<Story>,
    /// Log level.
    #[arg(long, default_value = "info", value_parser = ["off", "error", "warn", "info", "debug", "trace"])]
    log: String,
}

/// `ccx demo` options.
#[derive(Debug, Args)]
struct DemoArgs {
    /// Print only the summary, not the messages.
    #[arg(long, short)]
    quiet: bool,
    /// Protocol version the phone asks for.
    #[arg(long, default_value_t = 17, value_parser = clap::value_parser!(u8).range(10..=18))]
    protocol_version: u8,
    /// The longest one step may take, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    step_timeout_ms: u64,
    /// Print the agent's screen after each step, beside the trace.
    #[arg(long)]
    screens: bool,
    /// Print only the summary, as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum ConfigCmd {
    /// Check a TOML file: every bad field named with its line; exit status 2 if any.
    Check {
        /// The TOML file.
        file: PathBuf,
    },
    /// TOML file -> blob on stdout (`ccx config encode phone.toml > phone.bin`); a file with a
    /// bad field is refused (unless `--unchecked`).
    Encode {
        /// The TOML file.
        file: PathBuf,
        /// Write the blob even when validate() refuses it, with the problems on stderr: to
        /// test what a phone does with a configuration it must reject (`store-image
        /// --newer-unchecked`).
        #[arg(long)]
        unchecked: bool,
    },
    /// Blob, or a store region dumped from a phone -> TOML on stdout; passwords masked. An
    /// old or damaged blob is refused; a region shows its newest good configuration and the
    /// agent's last state.
    Decode {
        /// The blob, or the store region (the flash image the firmware reads).
        file: PathBuf,
        /// Print passwords instead of `********`.
        #[arg(long)]
        show_secrets: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Decode(args) => codec_cli::decode_main(&args),
        Cmd::Encode(args) => codec_cli::encode_main(&args),
        Cmd::Replay(args) => flow::replay_main(&args),
        Cmd::Sim(args) => report(sim_main(*args)),
        Cmd::Phone(args) => ccx_cti_std::tui::phone_main(&args),
        Cmd::Demo(args) => demo_main(&args),
        Cmd::Load(args) => ccx_cti_std::load::load_main(&args),
        Cmd::Proxy(args) => ccx_cti_std::wiretools::proxy::proxy_main(&args),
        Cmd::Config(cmd) => report(config_main(cmd)),
        Cmd::Recorder(args) => ccx_cti_std::recorder::recorder_main(&args),
    }
}

fn report(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ccx: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn demo_main(args: &DemoArgs) -> ExitCode {
    let opts = demo::DemoOptions {
        trace: !args.quiet && !args.json,
        version: args.protocol_version,
        step_timeout: Duration::from_millis(args.step_timeout_ms),
        screens: args.screens && !args.json,
        ..demo::DemoOptions::default()
    };
    let mut out = ccx_cti_std::output::stdout();
    let report = if args.json {
        let report = demo::run(&opts, &mut std::io::sink());
        let _ = writeln!(out, "{}", report.json());
        report
    } else {
        demo::run(&opts, &mut out)
    };
    let _ = out.flush();
    if report.completed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn config_main(cmd: ConfigCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCmd::Check { file } => {
            let (cfg, vocabulary, warning) = config_file::load(&file)?;
            if let Some(w) = warning {
                eprintln!("warning: {w}");
            }
            ccx_cti_std::outln!(
                "{}: usable ({} server(s), {} reasons)",
                file.display(),
                cfg.servers.len(),
                vocabulary.len()
            );
        }
        ConfigCmd::Encode { file, unchecked } => {
            let (cfg, warning) = if unchecked {
                let (cfg, _, origin) = config_file::load_unvalidated(&file)?;
                match config_file::check(&cfg, &origin) {
                    Ok(warning) => (cfg, warning),
                    Err(problems) => {
                        eprintln!("warning: {problems:#}");
                        eprintln!(
                            "warning: written all the same (--unchecked): a phone rejects this \
                             configuration"
                        );
                        (cfg, None)
                    }
                }
            } else {
                let (cfg, _, warning) = config_file::load(&file)?;
                (cfg, warning)
            };
            if let Some(w) = warning {
                eprintln!("warning: {w}");
            }
            let blob = config_file::encode_blob(&cfg)?;
            ccx_cti_std::output::stdout().write_all(&blob)?;
        }
        ConfigCmd::Decode { file, show_secrets } => {
            let bytes =
                std::fs::read(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let decoded = config_file::decode_file(&file.display().to_string(), &bytes)?;
            for w in &decoded.warnings {
                eprintln!("warning: {w}");
            }
            for line in &decoded.about {
                ccx_cti_std::outln!("{line}");
            }
            let cfg = decoded.config;
            ccx_cti_std::out!(
                "{}",
                config_file::PhoneFile::from_config(&cfg, show_secrets).to_toml()?
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn sim_config(args: &SimArgs) -> anyhow::Result<SimConfig> {
    let mut cfg = match &args.config {
        Some(path) => SimConfig::from_toml_file(path)?,
        None => SimConfig::default(),
    };
    if let Some(listen) = &args.listen {
        cfg.listen = listen.clone();
    }
    if let Some(path) = &args.scenario {
        let s = ccx_cti_std::scenario::Scenario::from_file(path)?;
        let csqs: Vec<u32> = (1..=s.csq.len() as u32).collect();
        cfg.agents = (0..s.agents as usize)
            .map(|i| ccx_cti_std::sim::AgentDef {
                csqs: csqs.clone(),
                ..ccx_cti_std::sim::AgentDef::generated(i)
            })
            .collect();
        cfg.inbound.calls = s.arrivals(args.speed);
        cfg.inbound.rate_per_min = 0.0;
        cfg.limits.max_connections = cfg.limits.max_connections.max(s.agents as usize + 100);
    }
    if let Some(n) = args.agents {
        cfg.agents = (0..n as usize)
            .map(ccx_cti_std::sim::AgentDef::generated)
            .collect();
    }
    cfg.require_password |= args.require_password;
    if let Some(n) = args.max_connections {
        cfg.limits.max_connections = n as usize;
    }
    if let Some(ms) = args.open_deadline_ms {
        cfg.limits.open_deadline_ms = ms;
    }
    if let Some(path) = &args.contacts {
        let contacts = ccx_cti_std::sim::config::load_contacts(path)?;
        cfg.campaign
            .get_or_insert_with(Default::default)
            .contacts
            .extend(contacts);
    }
    cfg.standby |= args.standby;
    if args.peer.is_some() {
        cfg.peer = args.peer.clone();
    }
    if let Some(rate) = args.rate {
        cfg.inbound.rate_per_min = rate;
    }
    if args.no_auto_work {
        cfg.auto_work = false;
    }
    if args.wrapup_ms.is_some() {
        cfg.wrapup_ms = args.wrapup_ms;
    }
    let f = &mut cfg.faults;
    if args.drop_after.is_some() {
        f.drop_after = args.drop_after;
    }
    if let Some(p) = args.drop_probability {
        f.drop_probability = p;
    }
    if let Some(s) = args.seed {
        f.seed = s;
    }
    if let Some(d) = args.delay_ms {
        f.delay_ms = d;
    }
    f.ignore_heartbeats |= args.ignore_heartbeats;
    if args.corrupt_every.is_some() {
        f.corrupt_every = args.corrupt_every;
    }
    if args.truncate_every.is_some() {
        f.truncate_every = args.truncate_every;
    }
    if args.unknown_message_every.is_some() {
        f.unknown_message_every = args.unknown_message_every;
    }
    f.unknown_tags |= args.unknown_tags;
    cfg.check()?;
    Ok(cfg)
}

/// `--speed`: more than 0, at most 10 000.
fn speed(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 10_000.0 => Ok(v),
        _ => Err(format!("`{text}` is not a speed from above 0 to 10000")),
    }
}

fn sim_main(args: SimArgs) -> anyhow::Result<ExitCode> {
    if args.example_config {
        ccx_cti_std::out!("{}", ccx_cti_std::sim::config::EXAMPLE_TOML);
        return Ok(ExitCode::SUCCESS);
    }
    env_logger::Builder::new()
        .parse_filters(&args.log)
        .format_timestamp_millis()
        .init();
    let cfg = sim_config(&args)?;
    let stop = ccx_cti_std::cli::stop_on_signals()?;
    let (sim, cast) = match args.story {
        Some(story) => (
            Simulator::start_story(cfg, story)?,
            format!("the {story:?} story").to_lowercase(),
        ),
        None => {
            let sim = Simulator::start(cfg)?;
            let agents = format!("{} agents", sim.config().agents.len());
            (sim, agents)
        }
    };
    // With --json, stdout carries the summary object only; the banner goes to stderr.
    let banner = format!(
        "ccx sim: listening on {} as {} ({cast}){}",
        sim.addr(),
        if sim.is_master() { "master" } else { "standby" },
        if args.interactive {
            ". Commands: status, promote, demote, call [ANI], quit"
        } else {
            ""
        }
    );
    if args.json {
        eprintln!("{banner}");
    } else {
        ccx_cti_std::outln!("{banner}");
    }
    if let Some(addr) = &args.replication {
        // Side A listens (and joins the other side if that is master already); side B follows.
        if !sim.config().standby {
            let bound = sim.serve_replication(addr)?;
            eprintln!("ccx sim: replication link on {bound}");
        } else {
            sim.follow(addr)?;
            eprintln!("ccx sim: following the master's replication link at {addr}");
        }
    }
    if let Some(listen) = &args.metrics {
        let addr = sim.serve_metrics(listen)?;
        eprintln!("ccx sim: metrics on http://{addr}/metrics");
    }
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    if args.interactive {
        // At the end of stdin the simulator keeps running until --duration.
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
    }
    let started = std::time::Instant::now();
    let deadline = (!args.duration.is_zero()).then(|| started + args.duration);
    let mut limit = ccx_cti_std::cli::RateLimit::new(args.progress);
    limit.ready(started);
    let mut was_master = sim.is_master();
    loop {
        let now = std::time::Instant::now();
        if sim.is_master() && !was_master {
            match sim.failover_time() {
                Some(t) => eprintln!(
                    "ccx sim: master now; failover {} ms after the master's last word",
                    t.as_millis()
                ),
                None => eprintln!("ccx sim: master now"),
            }
        }
        was_master = sim.is_master();
        if deadline.is_some_and(|d| now >= d) || stop.load(std::sync::atomic::Ordering::SeqCst) {
            break;
        }
        if limit.ready(now) {
            eprintln!(
                "ccx sim: {:>6.0} s: {}",
                now.duration_since(started).as_secs_f64(),
                sim.progress_line()
            );
        }
        let line = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => line,
            Err(_) => continue,
        };
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["quit"] | ["exit"] | ["stop"] => break,
            ["status"] => ccx_cti_std::out!("{}", sim.summary()),
            ["promote"] => sim.promote(),
            ["isolate"] => sim.set_isolated(true),
            // SYSTEM_EVENT CCX_SHUTTING_DOWN / SYS_CCX_OFFLINE to every session, then standby.
            ["offline"] => {
                let told = sim.report_out_of_service(0x200, 4);
                ccx_cti_std::outln!("told {told} session(s) SYS_CCX_OFFLINE; standby now");
            }
            ["heal"] => sim.set_isolated(false),
            ["demote"] => sim.demote(),
            ["call", rest @ ..] => sim.offer_call(InboundCall {
                ani: rest
                    .first()
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "5551234".into()),
                // `call ANI name=value …`: call variables the agent sees.
                vars: rest
                    .iter()
                    .skip(1)
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                ..InboundCall::default()
            }),
            [] => {}
            _ => ccx_cti_std::outln!(
                "commands: status, promote, demote, offline, isolate, heal, call [ANI [name=value …]], quit"
            ),
        }
    }
    if args.json {
        ccx_cti_std::outln!("{}", sim.summary_json());
    } else {
        ccx_cti_std::out!("{}", sim.summary());
    }
    sim.stop();
    Ok(ExitCode::SUCCESS)
}
