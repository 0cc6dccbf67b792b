//! `ccx demo`: the whole story of an agent phone against a simulated Unified CCX, in a few
//! seconds. A simulator starts on a free loopback port, one phone connects to it through the
//! [driver], and the agent opens the session, logs in, becomes ready, skips the
//! first preview contact (the guide's skip flow), accepts the next one, talks to the customer,
//! releases, wraps up, becomes ready, logs out and closes. Every message in both directions is
//! printed as the guide's trace text with a timestamp and its direction.

use std::io::Write;
use std::time::{Duration, Instant};

use ccx_cti::config::{PhoneConfig, ServerAddr, ShortText};
use ccx_cti::phone::{AgentReason, Event, PreviewAnswer, SessionEndReason, SessionState};
use ccx_cti::trace;
use ccx_cti::wire::{decode, AgentState, LocalConnectionState, WireVersion};

use crate::driver::{
    self, AgentCommand, Direction, DriverEvent, DriverHandle, DriverOptions, PhoneView,
};
use crate::sim::{Campaign, SimConfig, Simulator};

/// How to run the demo.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Print the messages (trace text); the summary is printed either way.
    pub trace: bool,
    /// Protocol version the phone asks for.
    pub version: u8,
    /// The longest any one step may take.
    pub step_timeout: Duration,
    /// How long the agent talks to the customer.
    pub talk: Duration,
    /// Print the agent's screen (the core's screen model) after each step (`--screens`).
    pub screens: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            trace: true,
            version: 17,
            step_timeout: Duration::from_secs(5),
            talk: Duration::from_millis(300),
            screens: false,
        }
    }
}

/// How the story went.
#[derive(Debug, Clone, Default)]
pub struct DemoReport {
    /// Each step and whether it completed.
    pub steps: Vec<(String, bool)>,
    /// Why the story stopped, if it did not complete.
    pub failure: Option<String>,
    /// Frames the phone sent.
    pub sent: usize,
    /// Frames the phone received.
    pub received: usize,
    /// How long it took.
    pub elapsed: Duration,
    /// The simulator's summary.
    pub simulator: String,
}

impl DemoReport {
    /// Whether every step completed.
    pub fn completed(&self) -> bool {
        self.failure.is_none() && !self.steps.is_empty() && self.steps.iter().all(|(_, ok)| *ok)
    }

    /// The report as one JSON object (for scripts: `ccx demo --json`).
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "command": "demo",
            "result": if self.completed() { "pass" } else { "fail" },
            "steps": self
                .steps
                .iter()
                .map(|(name, ok)| serde_json::json!({"step": name, "completed": ok}))
                .collect::<Vec<_>>(),
            "failure": self.failure,
            "sent": self.sent,
            "received": self.received,
            "elapsed_ms": self.elapsed.as_secs_f64() * 1000.0,
        })
    }
}

/// The text of one frame: the guide's trace form, or why it does not decode.
pub fn frame_text(frame: &[u8], version: WireVersion) -> String {
    match decode(frame, version) {
        Ok(msg) => trace::display(&msg).to_string(),
        Err(e) => {
            let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
            format!("# undecodable frame: {e}\n# {hex}\n")
        }
    }
}

/// The configuration of the demo's phone for a server at `addr`.
pub fn phone_config(addr: std::net::SocketAddr, version: u8) -> PhoneConfig {
    phone_config_for(&[addr], version)
}

/// [`phone_config`] with side A and side B (`servers` in the phone's order; past the second,
/// ignored).
pub fn phone_config_for(servers: &[std::net::SocketAddr], version: u8) -> PhoneConfig {
    let mut cfg = PhoneConfig::default();
    cfg.servers.clear();
    for addr in servers {
        let mut host = ShortText::new();
        let _ = host.push_str(&addr.ip().to_string());
        let _ = cfg.servers.push(ServerAddr {
            host,
            port: addr.port(),
        });
    }
    let set = |s: &mut heapless::String<64>, v: &str| {
        s.clear();
        let _ = s.push_str(v);
    };
    cfg.agent_id.clear();
    let _ = cfg.agent_id.push_str("chli4020");
    set(&mut cfg.agent_extension, "4020");
    set(&mut cfg.agent_instrument, "4020");
    set(&mut cfg.agent_password, "secret");
    cfg.protocol_version = version;
    cfg.heartbeat_secs = 5;
    cfg.idle_timeout_secs = 20;
    cfg.reconnect_secs = 1;
    cfg.request_timeout_secs = 5;
    cfg.connect_timeout_secs = 2;
    cfg.outbound = true;
    cfg
}

/// The simulator of the demo: the default agent and the guide's two-contact campaign.
pub fn sim_config() -> SimConfig {
    let campaign = Campaign {
        offer_delay_ms: 100,
        // A skipped contact does not come back during the demo.
        retry_delay_ms: 600_000,
        ..Campaign::demo()
    };
    SimConfig {
        campaign: Some(campaign),
        auto_work: true,
        ..SimConfig::loopback()
    }
}

struct Story<'o> {
    handle: DriverHandle,
    out: &'o mut dyn Write,
    trace: bool,
    timeout: Duration,
    /// Phone events since the current step began.
    events: Vec<Event>,
    report: DemoReport,
    /// The agent's screen, when asked for (`--screens`).
    screen: Option<AgentScreen>,
}

/// The agent's screen beside the trace: the core's screen model fed the phone's events and
/// the commands' outcomes, drawn as a text box after each step.
struct AgentScreen {
    screen: ccx_cti::ui::Screen,
    vocabulary: ccx_cti::config::Vocabulary<8>,
}

impl AgentScreen {
    fn new() -> Self {
        use ccx_cti::config::ReasonKind;
        let mut vocabulary = ccx_cti::config::Vocabulary::new();
        // The demo agent's reason labels, as an administrator would configure them.
        let _ = vocabulary.add(ReasonKind::NotReady, 32760, "Just logged in");
        AgentScreen {
            screen: ccx_cti::ui::Screen::new(10),
            vocabulary,
        }
    }
}

fn core_instant(at: Duration) -> ccx_cti::phone::Instant {
    ccx_cti::phone::Instant::from_millis(u64::try_from(at.as_millis()).unwrap_or(u64::MAX))
}

impl Story<'_> {
    fn print(&mut self, text: &str) {
        let _ = self.out.write_all(text.as_bytes());
    }

    /// Take one driver event (waiting at most `wait`), print it, remember phone events.
    fn pump(&mut self, wait: Duration) {
        if let Ok(event) = self.handle.events().recv_timeout(wait) {
            self.show(event);
        }
    }

    /// Print one driver event and remember phone events.
    fn show(&mut self, event: DriverEvent) {
        match event {
            DriverEvent::Frame {
                at,
                direction,
                frame,
                version,
            } => {
                let arrow = match direction {
                    Direction::Sent => {
                        self.report.sent += 1;
                        "phone -> server"
                    }
                    Direction::Received => {
                        self.report.received += 1;
                        "server -> phone"
                    }
                };
                if self.trace {
                    let text = frame_text(&frame, version);
                    self.print(&format!("[{:8.3}] {arrow}\n{text}", at.as_secs_f64()));
                    if !text.ends_with('\n') {
                        self.print("\n");
                    }
                }
            }
            DriverEvent::Phone { at, event } => {
                if let Some(s) = &mut self.screen {
                    s.screen.event(&event, core_instant(at));
                }
                if self.trace {
                    self.print(&format!("# [{:8.3}] phone: {event}\n", at.as_secs_f64()));
                }
                self.events.push(event);
            }
            DriverEvent::CommandDone {
                at,
                command,
                result,
            } => {
                if let Some(s) = &mut self.screen {
                    let kind = ccx_cti::phone::CommandKind::of(&command.as_command());
                    s.screen.sent(kind, result, core_instant(at));
                }
                if self.trace {
                    let r = match result {
                        Ok(id) => format!("InvokeID {id}"),
                        Err(e) => format!("refused: {e}"),
                    };
                    self.print(&format!(
                        "# [{:8.3}] agent: {} -> {r}\n",
                        at.as_secs_f64(),
                        driver::command_text(&command)
                    ));
                }
            }
            DriverEvent::Transport { at, note } => {
                if self.trace {
                    self.print(&format!(
                        "# [{:8.3}] transport: {note:?}\n",
                        at.as_secs_f64()
                    ));
                }
            }
        }
    }

    fn step(
        &mut self,
        title: &str,
        command: Option<AgentCommand>,
        done: impl Fn(&PhoneView, &[Event]) -> bool,
    ) -> Result<PhoneView, String> {
        if self.trace {
            self.print(&format!("\n# ---- {title}\n"));
        }
        self.events.clear();
        if let Some(c) = command {
            self.handle.command(c);
        }
        let deadline = Instant::now() + self.timeout;
        loop {
            let view = self.handle.view();
            if done(&view, &self.events) {
                // What led here is reported right after the view: print it before the next step.
                while let Ok(event) = self.handle.events().recv_timeout(Duration::from_millis(5)) {
                    self.show(event);
                }
                self.report.steps.push((title.to_string(), true));
                self.print_screen(title);
                return Ok(view);
            }
            if Instant::now() >= deadline {
                self.report.steps.push((title.to_string(), false));
                return Err(format!(
                    "step `{title}` did not complete within {:?} (session {:?}, agent {:?}, {} call(s))",
                    self.timeout,
                    view.session.state,
                    view.agent.state,
                    view.calls.len()
                ));
            }
            self.pump(Duration::from_millis(10));
        }
    }

    /// The agent's screen as the step left it (with `--screens`).
    fn print_screen(&mut self, title: &str) {
        let Some(s) = &self.screen else { return };
        let frame = self.handle.with_labelled_view(&s.vocabulary, |view, now| {
            s.screen.frame(view, &s.vocabulary, now)
        });
        let text = crate::screen::frame_box(&frame, 48);
        self.print(&format!("# the agent's screen after: {title}\n{text}"));
    }

    /// Print what is still queued (the last confirmations).
    fn drain(&mut self, for_at_most: Duration) {
        let end = Instant::now() + for_at_most;
        while Instant::now() < end {
            self.pump(Duration::from_millis(20));
        }
    }
}

fn saw(events: &[Event], f: impl Fn(&Event) -> bool) -> bool {
    events.iter().any(f)
}

fn offered(events: &[Event]) -> Option<u32> {
    events.iter().find_map(|e| match e {
        Event::PreviewOffered { call } => Some(*call),
        _ => None,
    })
}

fn play(story: &mut Story<'_>, opts: &DemoOptions) -> Result<(), String> {
    story.step("open the session", None, |v, _| {
        v.session.state == SessionState::Open
    })?;
    story.step(
        "log in (NOT_READY)",
        Some(AgentCommand::Login { password: None }),
        |v, _| v.agent.state == AgentState::NotReady,
    )?;
    let view = story.step(
        "ready: the agent is reserved and a preview contact is offered",
        Some(AgentCommand::Ready),
        |v, e| v.preview.is_some() && offered(e).is_some(),
    )?;
    let first = view.preview.unwrap_or_default();
    let step = format!("skip contact {first} (the guide's skip flow); the next one is offered");
    let view = story.step(
        &step,
        Some(AgentCommand::Preview(PreviewAnswer::Skip)),
        move |v, e| {
            saw(
                e,
                |ev| matches!(ev, Event::CallRemoved { call } if *call == first),
            ) && v.preview.is_some_and(|p| p != first)
        },
    )?;
    let second = view.preview.unwrap_or_default();
    let step = format!("accept contact {second}: the customer call is placed and talks");
    let view = story.step(
        &step,
        Some(AgentCommand::Preview(PreviewAnswer::Accept)),
        |v, _| {
            v.agent.state == AgentState::Talking
                && v.calls.iter().any(|c| {
                    c.var("BAStatus") == Some("CO") && c.state == LocalConnectionState::Connect
                })
        },
    )?;
    let customer = view
        .calls
        .iter()
        .find(|c| c.var("BAStatus") == Some("CO"))
        .map(|c| c.id);
    story.drain(opts.talk);
    story.step(
        "release the customer call: wrap-up (WORK)",
        Some(AgentCommand::Release { call: customer }),
        |v, _| v.calls.is_empty() && v.agent.state == AgentState::WorkNotReady,
    )?;
    story.step("ready after wrap-up", Some(AgentCommand::Ready), |v, _| {
        v.agent.state == AgentState::Available
    })?;
    story.step(
        "log out",
        Some(AgentCommand::Logout {
            reason: AgentReason::None,
        }),
        |v, _| v.agent.state == AgentState::Logout,
    )?;
    story.step("close the session", Some(AgentCommand::Close), |v, e| {
        saw(e, |ev| {
            matches!(
                ev,
                Event::SessionLost {
                    reason: SessionEndReason::Closed,
                    ..
                }
            )
        }) || v.session.state == SessionState::Disconnected
    })?;
    Ok(())
}

/// Run the story; the trace and the summary go to `out`.
pub fn run(opts: &DemoOptions, out: &mut dyn Write) -> DemoReport {
    run_via(opts, out, &|addr| addr)
}

/// Run the story with the phone sent to `route(simulator address)` instead of the simulator
/// itself: a proxy in between (`ccx proxy`, a test's tap) sees the whole story.
pub fn run_via(
    opts: &DemoOptions,
    out: &mut dyn Write,
    route: &dyn Fn(std::net::SocketAddr) -> std::net::SocketAddr,
) -> DemoReport {
    let started = Instant::now();
    let sim = match Simulator::start(sim_config()) {
        Ok(sim) => sim,
        Err(e) => {
            return DemoReport {
                failure: Some(format!("cannot start the simulator: {e}")),
                ..DemoReport::default()
            }
        }
    };
    let options = DriverOptions {
        trace_frames: true,
        name: "demo".into(),
    };
    let handle = match driver::spawn(phone_config(route(sim.addr()), opts.version), options) {
        Ok(h) => h,
        Err(e) => {
            return DemoReport {
                failure: Some(format!("cannot start the phone: {e}")),
                ..DemoReport::default()
            }
        }
    };
    let _ = writeln!(
        out,
        "# ccx demo: a phone (agent chli4020, extension 4020, protocol {}) against a simulated Unified CCX on {}",
        opts.version,
        sim.addr()
    );
    let mut story = Story {
        handle,
        out,
        trace: opts.trace,
        timeout: opts.step_timeout,
        events: Vec::new(),
        report: DemoReport::default(),
        screen: opts.screens.then(AgentScreen::new),
    };
    let result = play(&mut story, opts);
    story.drain(Duration::from_millis(50));
    let mut report = std::mem::take(&mut story.report);
    report.failure = result.err();
    let final_view = story.handle.view();
    story.handle.stop();
    // Taken while the simulator runs: the one node of its cluster is master, not the
    // "standby" a stopped node would report.
    report.simulator = sim.summary();
    sim.stop();
    report.elapsed = started.elapsed();
    print_summary(story.out, &report, &final_view);
    report
}

fn print_summary(out: &mut dyn Write, report: &DemoReport, view: &PhoneView) {
    let _ = writeln!(out, "\n==== summary");
    for (i, (title, ok)) in report.steps.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {} {:2}. {title}",
            if *ok { "ok  " } else { "FAIL" },
            i + 1
        );
    }
    let _ = writeln!(
        out,
        "  phone: {} frames sent, {} received; session {:?}, agent {:?}",
        report.sent, report.received, view.session.state, view.agent.state
    );
    let _ = write!(out, "{}", report.simulator);
    match &report.failure {
        None => {
            let _ = writeln!(
                out,
                "  story complete in {:.2} s",
                report.elapsed.as_secs_f64()
            );
        }
        Some(why) => {
            let _ = writeln!(out, "  story NOT complete: {why}");
        }
    }
}
