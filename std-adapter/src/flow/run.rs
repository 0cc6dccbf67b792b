//! Running a parsed flow against the sans-io phone with a virtual clock: no sockets, fully
//! deterministic.
//!
//! The directives live by concern: `messages` (`server:`, `client:`), `expect` (`expect:`),
//! `prologue` (`start:`); this file holds the runner, its clock and the step loop.

use std::fmt::Write as _;

use ccx_cti::config::{HeartbeatMode, PhoneConfig, ServerAddr};
use ccx_cti::phone::{
    Command, CommandError, Event, Instant, InvokeId, NoLabels, Phone, PhoneView, ReasonLabels,
    TransportAction,
};
use ccx_cti::trace::{self, TraceOptions};
use ccx_cti::wire::{decode, fields, AgentState, Encoder, MessageType, WireVersion};

use super::parse::{FlowFile, Item, TextBlock};

mod expect;
mod messages;
mod prologue;

/// Why a flow did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The last `step` label before the failure (or `prologue`).
    pub step: String,
    /// File line of the directive that failed.
    pub line: usize,
    /// What differed.
    pub reason: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (line {}): {}", self.step, self.line, self.reason)
    }
}

/// A setting or command in the file that the runner cannot use: reported like a parse error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupError {
    /// File line.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// The outcome of one flow, with the trace of what crossed the virtual wire.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `Ok` when every check passed.
    pub result: Result<(), Failure>,
    /// Every message in both directions, as trace text with the virtual time.
    pub transcript: String,
}

/// Largest frame the runner handles.
const FRAME_MAX: usize = 16_384;

/// Build the phone configuration of a flow's `config:` block.
pub fn flow_config(file: &FlowFile) -> Result<(PhoneConfig, usize), SetupError> {
    let mut config = PhoneConfig::default();
    let mut calls = ccx_cti::phone::DEFAULT_CALLS;
    for (name, value, line) in &file.flow.config {
        let bad = |what: &str| SetupError {
            line: *line,
            reason: format!("`{name}: {value}`: {what}"),
        };
        let text = |cap: usize| -> Result<heapless::String<128>, SetupError> {
            if value.len() > cap {
                return Err(bad(&format!("at most {cap} characters")));
            }
            heapless::String::try_from(value.as_str()).map_err(|_| bad("too long"))
        };
        let short = || -> Result<heapless::String<64>, SetupError> {
            heapless::String::try_from(value.as_str()).map_err(|_| bad("at most 64 characters"))
        };
        match name.as_str() {
            "AgentID" => config.agent_id = text(128)?,
            "AgentExtension" => config.agent_extension = short()?,
            "AgentInstrument" => config.agent_instrument = short()?,
            "AgentPassword" => config.agent_password = short()?,
            "ClientID" => config.client_id = short()?,
            "ClientPassword" => config.client_password = short()?,
            "ProtocolVersion" => {
                let v: u8 = value.parse().map_err(|_| bad("a number from 10 to 18"))?;
                if !(10..=18).contains(&v) {
                    return Err(bad("a number from 10 to 18"));
                }
                config.protocol_version = v;
            }
            "HeartbeatMode" => {
                config.heartbeat_mode = match value.as_str() {
                    "always" => HeartbeatMode::Always,
                    "when-idle" => HeartbeatMode::WhenIdle,
                    _ => return Err(bad("`always` or `when-idle`")),
                }
            }
            "ActiveTerminal" => config.active_terminal = short()?,
            "HeartbeatSeconds" => {
                config.heartbeat_secs = value.parse().map_err(|_| bad("a number of seconds"))?
            }
            "IdleTimeout" => {
                config.idle_timeout_secs = value.parse().map_err(|_| bad("a number of seconds"))?
            }
            "RequestTimeout" => {
                config.request_timeout_secs =
                    value.parse().map_err(|_| bad("a number of seconds"))?
            }
            "ReconnectSeconds" => {
                config.reconnect_secs = value.parse().map_err(|_| bad("a number of seconds"))?
            }
            "MissedHeartbeats" => {
                config.missed_heartbeats = value.parse().map_err(|_| bad("a number"))?
            }
            "V18LengthWidth" => {
                config.v18_length_width = value.parse().map_err(|_| bad("1 or 2"))?
            }
            "Outbound" => config.outbound = matches!(value.as_str(), "true" | "yes" | "1"),
            "CallCapacity" => {
                calls = value.parse().map_err(|_| bad("a number of calls"))?;
                if calls == 0 || calls > 64 {
                    return Err(bad("from 1 to 64"));
                }
            }
            "Servers" => {
                config.servers.clear();
                for part in value.split(',') {
                    let (host, port) = part
                        .trim()
                        .rsplit_once(':')
                        .ok_or_else(|| bad("host:port[,host:port]"))?;
                    let port = port.parse().map_err(|_| bad("a port number"))?;
                    let host =
                        heapless::String::try_from(host).map_err(|_| bad("host name too long"))?;
                    config
                        .servers
                        .push(ServerAddr { host, port })
                        .map_err(|_| bad("at most two servers"))?;
                }
            }
            _ => eprintln!("warning: line {line}: unknown setting `{name}` ignored"),
        }
    }
    Ok((config, calls))
}

/// Check a flow's settings and commands before running it.
pub fn validate(file: &FlowFile) -> Result<(), SetupError> {
    flow_config(file)?;
    for l in &file.located {
        if let Item::Agent(text) = &l.item {
            Command::parse(text).map_err(|e| SetupError {
                line: l.line,
                reason: format!("`{text}`: {e}"),
            })?;
        }
        if let Item::Server(b) | Item::Client(b) = &l.item {
            for (line, chunk) in split_messages(b) {
                let mut buf = vec![0u8; FRAME_MAX];
                trace::parse_message(&chunk, &mut buf, WireVersion::DEFAULT).map_err(|e| {
                    SetupError {
                        line: line + e.line - 1,
                        reason: e
                            .to_string()
                            .split_once(": ")
                            .map(|(_, r)| r.to_string())
                            .unwrap_or_default(),
                    }
                })?;
            }
        }
    }
    Ok(())
}

/// Split a block of trace text into one text per message, with its first file line.
fn split_messages(block: &TextBlock) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for (i, line) in block.text.lines().enumerate() {
        if line.trim_start().starts_with("MsgType:") || out.is_empty() {
            out.push((block.first_line + i, String::new()));
        }
        if let Some((_, text)) = out.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    out.retain(|(_, t)| !t.trim().is_empty());
    out
}

/// Watches a flow as it runs: what the agent's screen would show at each step.
pub trait FlowObserver {
    /// The phone reported an event.
    fn event(&mut self, _now: Instant, _event: &Event) {}
    /// An `agent:` command went to the phone, with the phone's answer.
    fn command(
        &mut self,
        _now: Instant,
        _command: &Command<'_>,
        _result: Result<InvokeId, CommandError>,
    ) {
    }
    /// A step (or the prologue) ended; `view` is the phone as the step left it.
    fn step(&mut self, _now: Instant, _label: &str, _view: &PhoneView<'_>) {}
}

struct NoObserver;

impl FlowObserver for NoObserver {}

/// Run a parsed, validated flow.
pub fn run_flow(file: &FlowFile) -> Outcome {
    run_flow_observed(file, &NoLabels, &mut NoObserver)
}

/// Run a parsed, validated flow and tell `observer` what happens; the view's reason labels
/// come from `labels`.
pub fn run_flow_observed(
    file: &FlowFile,
    labels: &dyn ReasonLabels,
    observer: &mut dyn FlowObserver,
) -> Outcome {
    let (config, calls) = match flow_config(file) {
        Ok(c) => c,
        Err(e) => {
            return Outcome {
                result: Err(Failure {
                    step: "config".into(),
                    line: e.line,
                    reason: e.reason,
                }),
                transcript: String::new(),
            }
        }
    };
    macro_rules! with_capacity {
        ($($n:literal),*) => {
            match calls {
                $(c if c <= $n => Runner::<$n>::new(config, labels, observer).run(file),)*
                _ => Runner::<64>::new(config, labels, observer).run(file),
            }
        };
    }
    with_capacity!(1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 32)
}

/// A request the phone sent that has not been answered yet.
#[derive(Debug, Clone, Copy)]
struct Outstanding {
    invoke_id: u32,
    message: MessageType,
}

struct Runner<'o, const CALLS: usize> {
    labels: &'o dyn ReasonLabels,
    observer: &'o mut dyn FlowObserver,
    phone: Phone<CALLS>,
    config: PhoneConfig,
    now: u64,
    connected: bool,
    accept_connections: bool,
    sent: Vec<Vec<u8>>,
    outstanding: Vec<Outstanding>,
    reports: Vec<String>,
    transcript: String,
    step: String,
    /// The agent state the prologue's server believes in.
    server_agent_state: AgentState,
}

impl<'o, const CALLS: usize> Runner<'o, CALLS> {
    fn new(
        config: PhoneConfig,
        labels: &'o dyn ReasonLabels,
        observer: &'o mut dyn FlowObserver,
    ) -> Self {
        Runner {
            labels,
            observer,
            phone: Phone::new(config.clone()),
            config,
            now: 0,
            connected: false,
            // Connection attempts succeed until `net: drop`; `net: reconnect` lets them through again.
            accept_connections: true,
            sent: Vec::new(),
            outstanding: Vec::new(),
            reports: Vec::new(),
            transcript: String::new(),
            step: "before the first step".into(),
            server_agent_state: AgentState::Logout,
        }
    }

    fn version(&self) -> WireVersion {
        self.config.wire_version()
    }

    fn instant(&self) -> Instant {
        Instant::from_millis(self.now)
    }

    fn fail(&self, line: usize, reason: impl Into<String>) -> Failure {
        Failure {
            step: self.step.clone(),
            line,
            reason: reason.into(),
        }
    }

    fn log(&mut self, direction: &str, frame: &[u8]) {
        let _ = writeln!(
            self.transcript,
            "[{:>9.3}] {direction}",
            self.now as f64 / 1000.0
        );
        match decode(frame, self.version()) {
            Ok(msg) => {
                let _ = write!(
                    self.transcript,
                    "{}",
                    trace::display_with(
                        &msg,
                        TraceOptions {
                            show_secrets: false,
                            indent: 2
                        }
                    )
                );
            }
            Err(e) => {
                let _ = writeln!(self.transcript, "  (undecodable: {e})");
            }
        }
    }

    /// Let the phone act until it has nothing more to do at this instant.
    fn pump(&mut self) {
        let mut buf = vec![0u8; FRAME_MAX];
        for _ in 0..10_000 {
            let mut progress = false;
            if let Some(action) = self.phone.poll_transport(self.instant()) {
                progress = true;
                match action {
                    TransportAction::Connect { .. } => {
                        if self.accept_connections {
                            self.connected = true;
                            self.phone.connected(self.instant());
                        } else {
                            self.phone.connect_failed(self.instant());
                        }
                    }
                    TransportAction::Disconnect => {
                        self.connected = false;
                        self.phone.disconnected(self.instant());
                    }
                }
            }
            while let Some(n) = self.phone.poll_transmit(&mut buf) {
                progress = true;
                let frame = buf[..n].to_vec();
                self.log("phone -> server", &frame);
                let Ok(msg) = decode(&frame, self.version()) else {
                    self.sent.push(frame);
                    continue;
                };
                if msg.message_type() == MessageType::HeartbeatReq {
                    // The server side answers heartbeats at once, as Unified CCX does.
                    let invoke = msg.invoke_id().unwrap_or(0);
                    let reply = self.build(MessageType::HeartbeatConf, |e| {
                        e.set(fields::heartbeat_conf::INVOKE_ID, invoke);
                    });
                    self.sent.push(frame);
                    self.feed(&reply);
                    continue;
                }
                if let Some(invoke_id) = msg.invoke_id() {
                    self.outstanding.push(Outstanding {
                        invoke_id,
                        message: msg.message_type(),
                    });
                }
                self.sent.push(frame);
            }
            while let Some(event) = self.phone.poll_event() {
                progress = true;
                self.observer.event(self.instant(), &event);
                let text = event.to_string();
                let _ = writeln!(
                    self.transcript,
                    "[{:>9.3}] event: {text}",
                    self.now as f64 / 1000.0
                );
                self.reports.push(text);
            }
            if !progress {
                return;
            }
        }
    }

    /// Encode a reply with the session's widths.
    fn build(&self, ty: MessageType, fill: impl FnOnce(&mut Encoder<'_>)) -> Vec<u8> {
        let mut buf = vec![0u8; FRAME_MAX];
        let mut enc = Encoder::new(&mut buf, ty, self.version());
        fill(&mut enc);
        let n = enc.finish().unwrap_or(0);
        buf.truncate(n);
        buf
    }

    /// Feed one frame to the phone as bytes (through the framing layer).
    fn feed(&mut self, frame: &[u8]) {
        self.log("server -> phone", frame);
        if let Ok(msg) = decode(frame, self.version()) {
            if let Some(id) = msg.invoke_id() {
                self.outstanding.retain(|o| o.invoke_id != id);
            }
        }
        let now = self.instant();
        self.phone.handle_bytes(now, frame);
        self.pump();
    }

    /// Move the clock to `target`, firing every timer on the way.
    fn advance(&mut self, target: u64) {
        for _ in 0..1_000_000 {
            match self.phone.poll_timeout() {
                Some(t) if t.as_millis() <= target => {
                    self.now = self.now.max(t.as_millis());
                    self.phone.handle_timeout(self.instant());
                    self.pump();
                }
                _ => break,
            }
        }
        self.now = target;
        self.phone.handle_timeout(self.instant());
        self.pump();
    }

    fn run(mut self, file: &FlowFile) -> Outcome {
        let result = self.run_inner(file);
        Outcome {
            result,
            transcript: self.transcript,
        }
    }

    fn run_inner(&mut self, file: &FlowFile) -> Result<(), Failure> {
        if let Some(start) = &file.flow.start {
            self.step = "prologue".into();
            self.prologue(start)?;
        }
        for located in &file.located {
            let line = located.line;
            // The phone acts on what is due before the runner does anything; checks of its
            // state see it as the last action left it.
            if !matches!(
                located.item,
                Item::Expect { .. }
                    | Item::ExpectError(_)
                    | Item::ExpectNoError(_)
                    | Item::Step { .. }
            ) {
                self.pump();
            }
            match &located.item {
                Item::Step { label } => {
                    self.step_done();
                    self.step = label.clone();
                }
                Item::Server(block) => self.server(block)?,
                Item::Client(block) => self.client(block)?,
                Item::Agent(text) => {
                    let cmd = Command::parse(text)
                        .map_err(|e| self.fail(line, format!("`{text}`: {e}")))?;
                    let now = self.instant();
                    let result = self.phone.command(now, cmd);
                    self.observer.command(now, &cmd, result);
                    if let Err(e) = result {
                        let msg = format!("command `{text}` refused: {e}");
                        let _ =
                            writeln!(self.transcript, "[{:>9.3}] {msg}", self.now as f64 / 1000.0);
                        self.reports.push(msg);
                    }
                    self.pump();
                }
                Item::Time(ms) => {
                    let target = self.now + ms;
                    self.advance(target);
                }
                Item::NetDrop => {
                    self.accept_connections = false;
                    if self.connected {
                        self.connected = false;
                        let _ = writeln!(
                            self.transcript,
                            "[{:>9.3}] net: the server closes the connection",
                            self.now as f64 / 1000.0
                        );
                        self.phone.disconnected(self.instant());
                    }
                    self.pump();
                }
                Item::NetReconnect => {
                    self.accept_connections = true;
                    self.pump();
                }
                Item::Expect {
                    path,
                    comparison,
                    value,
                } => self.expect(line, path, *comparison, value)?,
                Item::ExpectNoError(text) => {
                    let wanted = text.to_lowercase();
                    if let Some(seen) = self
                        .reports
                        .iter()
                        .find(|r| r.to_lowercase().contains(&wanted))
                    {
                        return Err(self.fail(
                            line,
                            format!("an error containing `{text}` was reported: {seen}"),
                        ));
                    }
                    self.reports.clear();
                }
                Item::ExpectError(text) => {
                    let wanted = text.to_lowercase();
                    if !self
                        .reports
                        .iter()
                        .any(|r| r.to_lowercase().contains(&wanted))
                    {
                        let seen = if self.reports.is_empty() {
                            "none".to_string()
                        } else {
                            self.reports.join("; ")
                        };
                        return Err(self.fail(
                            line,
                            format!("no error containing `{text}` was reported (reported: {seen})"),
                        ));
                    }
                    self.reports.clear();
                }
            }
        }
        self.step_done();
        Ok(())
    }

    /// Show the observer the phone as the step (or the prologue) left it.
    fn step_done(&mut self) {
        if self.step == "before the first step" {
            return;
        }
        let view = self.phone.view_with(self.labels);
        self.observer.step(self.instant(), &self.step, &view);
    }
}
