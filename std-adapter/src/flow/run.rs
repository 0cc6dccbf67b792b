//! Running a parsed flow against the sans-io phone with a virtual clock: no sockets, fully
//! deterministic.

use std::fmt::Write as _;

use ccx_cti::config::{HeartbeatMode, PhoneConfig, ServerAddr};
use ccx_cti::phone::{
    Call, Command, CommandError, Event, Instant, InvokeId, Line, NoLabels, Phone, PhoneView,
    ReasonLabels, SessionState, TransportAction,
};
use ccx_cti::trace::{self, resolve_field, FieldRef, FieldValue, TraceOptions, SECRET_MASK};
use ccx_cti::wire::{
    self, decode, fields, message_named, tag, AgentState, CallType, Encoder, LocalConnectionState,
    Message, MessageType, WireVersion,
};

use super::parse::{Comparison, FlowFile, Item, Start, TextBlock};

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

    // ---- server: ----

    fn server(&mut self, block: &TextBlock) -> Result<(), Failure> {
        for (line, text) in split_messages(block) {
            let mut buf = vec![0u8; FRAME_MAX];
            let n = trace::parse_message(&text, &mut buf, self.version())
                .map_err(|e| self.fail(line + e.line - 1, e.to_string()))?;
            buf.truncate(n);
            self.fill_invoke_id(&text, &mut buf);
            self.feed(&buf);
        }
        Ok(())
    }

    /// In a confirmation without an `InvokeID` line, use the oldest request of the matching
    /// kind that still waits for an answer.
    fn fill_invoke_id(&self, text: &str, frame: &mut [u8]) {
        let listed = text
            .lines()
            .skip(1)
            .any(|l| l.trim_start().starts_with("InvokeID:"));
        let Ok(msg) = decode(frame, self.version()) else {
            return;
        };
        let Some(def) = msg.def() else { return };
        if listed || !def.name.ends_with("_CONF") || msg.invoke_id().is_none() {
            return;
        }
        let generic = matches!(
            msg.message_type(),
            MessageType::FailureConf | MessageType::ControlFailureConf
        );
        let request_name = format!("{}_REQ", def.name.trim_end_matches("_CONF"));
        let request = message_named(&request_name).map(|d| MessageType::from_id(d.id));
        let found = self.outstanding.iter().find(|o| {
            if generic {
                o.message != MessageType::HeartbeatReq
            } else {
                Some(o.message) == request
            }
        });
        if let (Some(o), Some(slot)) = (found, frame.get_mut(8..12)) {
            slot.copy_from_slice(&o.invoke_id.to_be_bytes());
        }
    }

    // ---- client: ----

    fn client(&mut self, block: &TextBlock) -> Result<(), Failure> {
        let expected = split_messages(block);
        let lists_heartbeats = expected.iter().any(|(_, t)| {
            t.lines()
                .next()
                .is_some_and(|l| l.contains("HEARTBEAT_REQ"))
        });
        let version = self.version();
        let sent: Vec<Vec<u8>> = std::mem::take(&mut self.sent)
            .into_iter()
            .filter(|f| {
                lists_heartbeats
                    || decode(f, version)
                        .map(|m| m.message_type() != MessageType::HeartbeatReq)
                        .unwrap_or(true)
            })
            .collect();
        let names = |frames: &[Vec<u8>]| -> String {
            frames
                .iter()
                .map(|f| match decode(f, version) {
                    Ok(m) => m
                        .def()
                        .map(|d| d.name.to_string())
                        .unwrap_or_else(|| m.message_type().id().to_string()),
                    Err(e) => format!("(undecodable: {e})"),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        if sent.len() != expected.len() {
            return Err(self.fail(
                block.first_line.saturating_sub(1),
                format!(
                    "expected {} message(s) from the phone, it sent {}: [{}]",
                    expected.len(),
                    sent.len(),
                    names(&sent)
                ),
            ));
        }
        for (k, ((line, text), actual)) in expected.iter().zip(&sent).enumerate() {
            self.compare(k + 1, *line, text, actual)?;
        }
        Ok(())
    }

    fn compare(
        &self,
        index: usize,
        line: usize,
        text: &str,
        actual_frame: &[u8],
    ) -> Result<(), Failure> {
        let version = self.version();
        let mut buf = vec![0u8; FRAME_MAX];
        let n = trace::parse_message(text, &mut buf, version)
            .map_err(|e| self.fail(line + e.line - 1, e.to_string()))?;
        let expected = decode(&buf[..n], version).map_err(|e| self.fail(line, e.to_string()))?;
        let actual = decode(actual_frame, version).map_err(|e| {
            self.fail(
                line,
                format!("message {index}: the phone sent an undecodable frame: {e}"),
            )
        })?;
        let exp_name = expected.def().map(|d| d.name).unwrap_or("?");
        if expected.message_type() != actual.message_type() {
            let got = actual
                .def()
                .map(|d| d.name.to_string())
                .unwrap_or_else(|| actual.message_type().id().to_string());
            return Err(self.fail(
                line,
                format!("message {index}: expected {exp_name}, the phone sent {got}"),
            ));
        }
        let mut after_context = false;
        let mut seen: Vec<FieldRef<'_>> = Vec::new();
        for (offset, field_line) in text.lines().enumerate().skip(1) {
            let t = field_line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let Some((label, value)) = t.split_once(':') else {
                continue;
            };
            let (label, value) = (label.trim(), value.trim());
            let field = resolve_field(expected.def(), label, after_context)
                .map_err(|e| self.fail(line + offset, format!("{e:?}")))?;
            if field == FieldRef::ExpandedCallContext {
                after_context = true;
                if value.is_empty() {
                    continue;
                }
            }
            let occurrence = match field {
                FieldRef::Grouped { .. } => 0,
                _ => seen.iter().filter(|f| **f == field).count(),
            };
            seen.push(field);
            let got = actual.lookup(&field, occurrence);
            if value == SECRET_MASK && got.is_some() {
                continue;
            }
            let want = expected.lookup(&field, occurrence);
            if want != got && is_secret_field(&field) {
                // A password differs: say so without printing either one.
                return Err(self.fail(
                    line + offset,
                    format!(
                        "message {index} ({exp_name}): `{label}` differs from the one expected \
                         (passwords are not shown)"
                    ),
                ));
            }
            if want != got {
                return Err(self.fail(
                    line + offset,
                    format!(
                        "message {index} ({exp_name}): `{label}` expected {}, the phone sent {}",
                        show(&expected, &field, want),
                        show(&actual, &field, got)
                    ),
                ));
            }
        }
        Ok(())
    }

    // ---- expect: ----

    fn expect(
        &self,
        line: usize,
        path: &str,
        comparison: Comparison,
        value: &str,
    ) -> Result<(), Failure> {
        let actual = self.state_value(path).map_err(|r| self.fail(line, r))?;
        let equal = values_match(path, &actual, value);
        let ok = match comparison {
            Comparison::Equal => equal,
            Comparison::NotEqual => !equal,
        };
        if ok {
            Ok(())
        } else {
            let op = if comparison == Comparison::Equal {
                "="
            } else {
                "!="
            };
            Err(self.fail(
                line,
                format!("expected {path} {op} {value}, it is {actual}"),
            ))
        }
    }

    fn state_value(&self, path: &str) -> Result<String, String> {
        let p = &self.phone;
        match path {
            "session.state" => {
                return Ok(match p.session().state {
                    SessionState::Disconnected => "disconnected",
                    SessionState::Connecting => "connecting",
                    SessionState::Opening => "opening",
                    SessionState::Open => "open",
                    SessionState::Closing => "closing",
                }
                .to_string())
            }
            "session.server" => return Ok(p.session().server.to_string()),
            "agent.state" => return Ok(p.agent().state.to_string()),
            "agent.reason" => return Ok(p.agent().reason.to_string()),
            "calls.count" => return Ok(p.calls().count().to_string()),
            "instrument.in_service" => return Ok(p.instrument_in_service().to_string()),
            "preview.pending" => return Ok(p.preview().is_some().to_string()),
            "preview.call" => {
                return Ok(p
                    .preview()
                    .map(|c| c.id.to_string())
                    .unwrap_or_else(|| "none".into()))
            }
            _ => {}
        }
        let rest = path
            .strip_prefix("call[")
            .ok_or_else(|| format!("unknown state path `{path}`"))?;
        let (key, rest) = rest
            .split_once(']')
            .ok_or_else(|| format!("unknown state path `{path}`"))?;
        // `call[ID]`: the call with that CallID (the first of several); `call[ID@DEVICE]`: the
        // one whose own connection is DEVICE (either form of a primary.actual device).
        let (id, device) = match key.split_once('@') {
            Some((id, device)) => (id, Some(device.trim())),
            None => (key, None),
        };
        let id: u32 = id
            .trim()
            .parse()
            .map_err(|_| format!("`{id}` is not a call ID in `{path}`"))?;
        let call = match device {
            Some(device) => p.call_at(id, device),
            None => p.call(id),
        };
        let or_none = |value: Option<String>| value.unwrap_or_else(|| "none".into());
        match rest {
            ".state" => Ok(or_none(call.map(|c| c.state.to_string()))),
            ".type" => Ok(or_none(call.map(|c| c.call_type.to_string()))),
            ".line" => Ok(or_none(call.map(line_text))),
            ".device" => Ok(or_none(call.map(|c| c.own_device().to_string()))),
            r => {
                let name = r
                    .strip_prefix(".var[")
                    .and_then(|n| n.strip_suffix(']'))
                    .ok_or_else(|| format!("unknown state path `{path}`"))?;
                Ok(or_none(call.and_then(|c| c.var(name).map(str::to_string))))
            }
        }
    }

    // ---- start: ----

    /// Answer what the phone sends as a Unified CCX server would, until it is quiet.
    fn serve_until_quiet(&mut self) {
        for _ in 0..100 {
            let pending = std::mem::take(&mut self.sent);
            if pending.is_empty() {
                return;
            }
            for frame in pending {
                let replies = self.answer(&frame);
                for r in replies {
                    self.feed(&r);
                }
            }
        }
    }

    fn answer(&mut self, frame: &[u8]) -> Vec<Vec<u8>> {
        let version = self.version();
        let Ok(msg) = decode(frame, version) else {
            return Vec::new();
        };
        let invoke = msg.invoke_id().unwrap_or(0);
        let cfg = self.config.clone();
        let agent_fields = |e: &mut Encoder<'_>| {
            if !cfg.agent_extension.is_empty() {
                e.string(tag::AGENT_EXTENSION, &cfg.agent_extension);
            }
            if !cfg.instrument().is_empty() {
                e.string(tag::AGENT_INSTRUMENT, cfg.instrument());
            }
            if !cfg.agent_id.is_empty() {
                e.string(tag::AGENT_ID, &cfg.agent_id);
            }
        };
        let state = self.server_agent_state;
        match msg.message_type() {
            MessageType::OpenReq => {
                let services = msg.get(fields::open_req::SERVICES_REQUESTED).unwrap_or(0);
                vec![self.build(MessageType::OpenConf, |e| {
                    use fields::open_conf as f;
                    e.set(f::INVOKE_ID, invoke)
                        .set(f::SERVICES_GRANTED, services)
                        .set(f::CCX_ONLINE, true);
                    e.set(f::AGENT_STATE, state);
                    agent_fields(e);
                })]
            }
            MessageType::QueryAgentStateReq => {
                vec![self.build(MessageType::QueryAgentStateConf, |e| {
                    use fields::query_agent_state_conf as f;
                    e.set(f::INVOKE_ID, invoke).set(f::AGENT_STATE, state);
                    agent_fields(e);
                })]
            }
            MessageType::SnapshotDeviceReq => {
                vec![self.build(MessageType::SnapshotDeviceConf, |e| {
                    e.set(fields::snapshot_device_conf::INVOKE_ID, invoke);
                })]
            }
            MessageType::SetAgentStateReq => {
                let requested = msg
                    .get(fields::set_agent_state_req::AGENT_STATE)
                    .unwrap_or(AgentState::NotReady);
                let reason = msg
                    .get(fields::set_agent_state_req::EVENT_REASON_CODE)
                    .map(u16::from)
                    .unwrap_or(0);
                let new_state = if requested == AgentState::Login {
                    AgentState::NotReady
                } else {
                    requested
                };
                self.server_agent_state = new_state;
                let conf = self.build(MessageType::SetAgentStateConf, |e| {
                    e.set(fields::set_agent_state_conf::INVOKE_ID, invoke);
                });
                vec![conf, self.agent_state_event(new_state, reason)]
            }
            _ => Vec::new(),
        }
    }

    fn agent_state_event(&self, state: AgentState, reason: u16) -> Vec<u8> {
        let cfg = &self.config;
        self.build(MessageType::AgentStateEvent, |e| {
            use fields::agent_state_event as f;
            e.set(f::CSQ_STATE, state)
                .set(f::AGENT_STATE, state)
                .set(f::CSQID, u32::MAX)
                .set(
                    f::EVENT_REASON_CODE,
                    wire::EventReasonCode::from_value(reason),
                );
            if !cfg.agent_id.is_empty() {
                e.string(tag::AGENT_ID, &cfg.agent_id);
            }
            if !cfg.agent_extension.is_empty() {
                e.string(tag::AGENT_EXTENSION, &cfg.agent_extension);
            }
        })
    }

    fn prologue(&mut self, start: &Start) -> Result<(), Failure> {
        self.accept_connections = true;
        self.pump();
        self.serve_until_quiet();
        if self.phone.session().state != SessionState::Open {
            return Err(self.fail(
                0,
                format!(
                    "the session did not open (state {:?})",
                    self.phone.session().state
                ),
            ));
        }
        if let Start::LoggedIn(state_name) = start {
            let target = AgentState::DEF
                .value_of(state_name)
                .or_else(|| state_name.parse().ok())
                .and_then(|v| u16::try_from(v).ok())
                .map(AgentState::from_value)
                .ok_or_else(|| self.fail(0, format!("unknown agent state `{state_name}`")))?;
            self.command_in_prologue(Command::Login { password: None })?;
            let by_request = match target {
                AgentState::Available => Some(Command::Ready),
                AgentState::WorkReady => Some(Command::WorkReady),
                AgentState::WorkNotReady => Some(Command::WorkNotReady),
                AgentState::Logout => Some(Command::Logout { reason: 0 }),
                _ => None,
            };
            match by_request {
                Some(cmd) => self.command_in_prologue(cmd)?,
                None if target != AgentState::NotReady => {
                    // States the server sets (RESERVED, TALKING, …) arrive as an event.
                    self.server_agent_state = target;
                    let ev = self.agent_state_event(target, 0);
                    self.feed(&ev);
                    self.serve_until_quiet();
                }
                None => {}
            }
            if self.phone.agent().state != target {
                return Err(self.fail(
                    0,
                    format!(
                        "the agent did not reach {} (it is {})",
                        state_name,
                        self.phone.agent().state
                    ),
                ));
            }
        }
        self.sent.clear();
        self.outstanding.clear();
        self.reports.clear();
        Ok(())
    }

    fn command_in_prologue(&mut self, cmd: Command<'_>) -> Result<(), Failure> {
        let now = self.instant();
        self.phone
            .command(now, cmd)
            .map_err(|e| self.fail(0, format!("{cmd:?} refused: {e}")))?;
        self.pump();
        self.serve_until_quiet();
        Ok(())
    }
}

/// A call's line as `call[ID].line` prints it: `primary`, or `secondary(ACTUAL)`.
fn line_text(call: &Call) -> String {
    match call.line {
        Line::Primary => "primary".into(),
        Line::Secondary => format!("secondary({})", call.actual_device()),
    }
}

/// Compare a state value with an expected one, by name or number where the path is an
/// enumeration.
fn values_match(path: &str, actual: &str, expected: &str) -> bool {
    if actual == expected {
        return true;
    }
    let number =
        |en: &wire::spec::EnumDef, s: &str| en.value_of(s).or_else(|| s.parse::<u32>().ok());
    let en: Option<&wire::spec::EnumDef> = if path == "agent.state" {
        Some(AgentState::DEF)
    } else if path.ends_with(".state") {
        Some(LocalConnectionState::DEF)
    } else if path.ends_with(".type") {
        Some(CallType::DEF)
    } else {
        None
    };
    match en {
        Some(en) => {
            matches!((number(en, actual), number(en, expected)), (Some(a), Some(b)) if a == b)
        }
        None => false,
    }
}

/// A looked-up value as the report prints it.
/// ClientPassword and AgentPassword, wherever they stand: never printed in a failure.
fn is_secret_field(field: &FieldRef<'_>) -> bool {
    let secret = |tag: u16| tag == tag::CLIENT_PASSWORD || tag == tag::AGENT_PASSWORD;
    match *field {
        FieldRef::Floating(t) | FieldRef::Grouped { tag: t, .. } => secret(t),
        _ => false,
    }
}

fn show(msg: &Message<'_>, field: &FieldRef<'_>, value: Option<FieldValue<'_>>) -> String {
    match value {
        None => "nothing (the field is absent)".to_string(),
        Some(FieldValue::Text(t)) => format!("`{t}`"),
        Some(FieldValue::Number(n)) => {
            let en = match field {
                FieldRef::Fixed(i) => msg
                    .layout()
                    .and_then(|l| l.fixed.get(*i))
                    .and_then(|d| d.enumeration),
                _ => None,
            };
            match en.and_then(|e| e.name_of(n)) {
                Some(name) => format!("{name} ({n})"),
                None => n.to_string(),
            }
        }
        Some(FieldValue::Bytes(b)) => {
            let text = b.strip_suffix(&[0]).unwrap_or(b);
            match std::str::from_utf8(text) {
                Ok(s) if !s.contains('\0') => format!("`{s}`"),
                _ => format!(
                    "0x{}",
                    b.iter().map(|x| format!("{x:02x}")).collect::<String>()
                ),
            }
        }
    }
}
