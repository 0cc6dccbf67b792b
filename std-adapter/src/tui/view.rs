//! What the terminal phone shows, as plain data ([`ViewModel`]), and one pure function that
//! draws it ([`render`]), so that every screen can be checked on a test backend.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use ccx_cti::phone::{AgentReason, Event, Refusal, RequestKind, SessionState};
use ccx_cti::wire::spec::EnumDef;
use ccx_cti::wire::{
    AgentState, CallType, ControlFailureCode, LocalConnectionState, PeripheralErrorCode, StatusCode,
};

use ccx_cti::phone::{Instant, PhoneView};

/// The name an enumeration gives `value`, or the number.
pub fn enum_name(def: &EnumDef, value: u32) -> String {
    def.values
        .iter()
        .find(|v| v.value == value)
        .map(|v| v.name.to_string())
        .unwrap_or_else(|| value.to_string())
}

/// A refusal's code by name (a status code for FAILURE_CONF, a failure code for
/// CONTROL_FAILURE_CONF), or by number where the table has no name.
fn refusal_name(refusal: Refusal) -> String {
    match refusal {
        Refusal::Status(status) => enum_name(StatusCode::DEF, status.value()),
        Refusal::Control { failure, .. } => {
            enum_name(ControlFailureCode::DEF, u32::from(failure.value()))
        }
    }
}

/// One row of the calls panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRow {
    /// CallID.
    pub id: u32,
    /// CallType name.
    pub call_type: String,
    /// The agent's connection state (LCS name).
    pub state: String,
    /// The other party (ANI) and DNIS, if known.
    pub party: String,
    /// DialedNumber, CallVar1-10 and the ECC variables, `name=value`.
    pub vars: Vec<String>,
    /// Seconds since the phone began tracking the call.
    pub secs: u64,
    /// Seconds on hold, while held.
    pub held_secs: Option<u64>,
}

/// The pending preview reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewRow {
    /// The reservation's CallID.
    pub call: u32,
    /// The card: name, number, account, campaign, as `(label, value)` for those present.
    pub vars: Vec<(String, String)>,
}

/// A line of the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// An error (shown in red) or information.
    pub error: bool,
    /// The text.
    pub text: String,
}

/// Everything the screen shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ViewModel {
    /// Who and where: agent, extension, servers.
    pub title: String,
    /// Session state, side, protocol version.
    pub session: String,
    /// Agent state name.
    pub agent_state: String,
    /// Seconds in that state.
    pub agent_secs: u64,
    /// The agent's last reason.
    pub reason: AgentReason,
    /// Its label from the vocabulary.
    pub reason_label: Option<String>,
    /// A state change asked for and not confirmed yet.
    pub pending_change: Option<String>,
    /// The commands valid now, with the call each acts on.
    pub valid: String,
    /// The calls.
    pub calls: Vec<CallRow>,
    /// The pending preview reservation.
    pub preview: Option<PreviewRow>,
    /// The message trace, oldest first.
    pub trace: Vec<String>,
    /// Lines scrolled up from the end of the trace.
    pub scroll: usize,
    /// The status bar.
    pub status: Option<Status>,
    /// An input prompt: label and what was typed so far.
    pub prompt: Option<(String, String)>,
}

impl ViewModel {
    /// Fill the phone's part from the phone's own view at `now`: everything the screen shows
    /// about the phone comes from it, nothing is kept between frames.
    pub fn update(&mut self, view: &PhoneView<'_>, now: Instant) {
        let secs_since = |t: Instant| now.saturating_duration_since(t).as_secs();
        let side = if view.session.side == 0 { "A" } else { "B" };
        self.session = format!(
            "{} (side {side}, protocol {})",
            session_name(view.session.state),
            view.session.version
        );
        if let (Some(at), Some(why)) = (view.session.next_attempt, view.session.last_end) {
            self.session.push_str(&format!(
                "; next attempt in {} s ({why})",
                at.saturating_duration_since(now).as_secs()
            ));
        }
        self.agent_state = enum_name(AgentState::DEF, u32::from(view.agent.state.value()));
        self.agent_secs = secs_since(view.agent.since);
        self.reason = view.agent.reason;
        self.reason_label = view.agent.reason_label.map(str::to_string);
        self.pending_change = view
            .agent
            .pending
            .map(|p| enum_name(AgentState::DEF, u32::from(p.state.value())));
        self.calls = view
            .calls()
            .iter()
            .map(|c| {
                let mut vars = Vec::new();
                if !c.dialed_number.is_empty() {
                    vars.push(format!("DialedNumber={}", c.dialed_number));
                }
                for n in 1..=10 {
                    if let Some(v) = c.call_var(n) {
                        vars.push(format!("CallVar{n}={v}"));
                    }
                }
                vars.extend(c.ecc_vars().map(|(n, v)| format!("{n}={v}")));
                if !c.wrap_up.is_empty() {
                    vars.push(format!("wrap-up={}", c.wrap_up));
                }
                CallRow {
                    id: c.id,
                    call_type: enum_name(CallType::DEF, u32::from(c.call_type.value())),
                    state: enum_name(LocalConnectionState::DEF, u32::from(c.state.value())),
                    party: match (c.ani.is_empty(), c.dnis.is_empty()) {
                        (false, false) => format!("{} -> {}", c.ani, c.dnis),
                        (false, true) => c.ani.to_string(),
                        _ => String::new(),
                    },
                    vars,
                    secs: secs_since(c.since),
                    held_secs: c.held_since.map(secs_since),
                }
            })
            .collect();
        self.preview = view.preview().map(|card| PreviewRow {
            call: card.call,
            vars: [
                ("Name", card.name),
                ("Number", card.number),
                ("Account", card.account),
                ("Campaign", card.campaign),
            ]
            .into_iter()
            .filter_map(|(label, value)| Some((label.to_string(), value?.to_string())))
            .collect(),
        });
        self.valid = view
            .valid_commands()
            .map(|v| match v.call {
                Some(call) => format!("{} {call}", v.kind.name()),
                None => v.kind.name().to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ");
    }
}

/// The FORMAT.md name of a session state.
pub fn session_name(state: SessionState) -> &'static str {
    match state {
        SessionState::Disconnected => "disconnected",
        SessionState::Connecting => "connecting",
        SessionState::Opening => "opening",
        SessionState::Open => "open",
        SessionState::Closing => "closing",
    }
}

/// A status line for a phone event worth showing, if any.
pub fn status_for(event: &Event) -> Option<Status> {
    let info = |text: String| Some(Status { error: false, text });
    let error = |text: String| Some(Status { error: true, text });
    match event {
        Event::RequestFailed {
            request, refusal, ..
        } => error(format!(
            "{} refused: {} ({}), peripheral error {}",
            request_name(*request),
            refusal_name(*refusal),
            refusal.code(),
            enum_name(PeripheralErrorCode::DEF, refusal.peripheral_error_code())
        )),
        Event::RequestTimedOut { request, .. } => {
            error(format!("{} got no answer in time", request_name(*request)))
        }
        Event::SessionLost { reason, .. } => error(format!("session lost: {reason:?}")),
        Event::SessionOpened { server } => info(format!(
            "session open on side {}",
            if *server == 0 { "A" } else { "B" }
        )),
        Event::PreviewOffered { call } => info(format!(
            "preview contact offered (call {call}): 1 accept, 2 reject, 3 reject-close, 4 skip, 5 skip-close, 6 cancel"
        )),
        Event::MalformedMessage { error: e } => error(format!("malformed message skipped: {e}")),
        Event::EventsLost { count } => error(format!("{count} events lost")),
        _ => None,
    }
}

/// The guide's name of a request kind.
pub fn request_name(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Open => "OPEN_REQ",
        RequestKind::Heartbeat => "HEARTBEAT_REQ",
        RequestKind::Close => "CLOSE_REQ",
        RequestKind::SetAgentState => "SET_AGENT_STATE_REQ",
        RequestKind::QueryAgentState => "QUERY_AGENT_STATE_REQ",
        RequestKind::SnapshotDevice => "SNAPSHOT_DEVICE_REQ",
        RequestKind::Answer => "ANSWER_CALL_REQ",
        RequestKind::Release => "CLEAR_CONNECTION_REQ",
        RequestKind::Hold => "HOLD_CALL_REQ",
        RequestKind::Retrieve => "RETRIEVE_CALL_REQ",
        RequestKind::Dial => "MAKE_CALL_REQ",
        RequestKind::Consult => "CONSULTATION_CALL_REQ",
        RequestKind::Transfer => "TRANSFER_CALL_REQ",
        RequestKind::Conference => "CONFERENCE_CALL_REQ",
        RequestKind::Dtmf => "SEND_DTMF_SIGNAL_REQ",
        RequestKind::SetCallData => "SET_CALL_DATA_REQ",
    }
}

/// The key help shown at the bottom (the same list as `ccx phone --help`).
pub const KEY_HELP: &str = "l login  o logout  r ready  n not-ready  w work  W work-ready  a answer  x release  h hold  u retrieve  d dial  c consult  t transfer  f conference  m dtmf  1-6 preview  v reclassify  b callback  s set-var  : command  PgUp/PgDn trace  q close+quit  Q quit";

fn state_color(state: &str) -> Color {
    match state {
        "AVAILABLE" => Color::Green,
        "TALKING" => Color::Yellow,
        "RESERVED" => Color::Magenta,
        "LOGOUT" => Color::DarkGray,
        _ => Color::Cyan,
    }
}

/// Draw the whole screen. Pure: the same model always draws the same screen.
pub fn render(frame: &mut Frame<'_>, vm: &ViewModel) {
    let [title, body, status, help] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(5),
        Constraint::Length(1),
        Constraint::Length(2),
    ])
    .areas(frame.area());
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(
                " ccx phone ",
                Style::default().add_modifier(Modifier::REVERSED),
            ),
            Span::raw(format!(" {}  session: {}", vm.title, vm.session)),
        ])),
        title,
    );
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(body);
    render_left(frame, vm, left);
    render_trace(frame, vm, right);
    let status_line = match (&vm.prompt, &vm.status) {
        (Some((label, input)), _) => Line::from(vec![
            Span::styled(
                format!("{label}: "),
                Style::default().add_modifier(Modifier::BOLD),
            ),
            Span::raw(format!("{input}_")),
        ]),
        (None, Some(s)) => Line::from(Span::styled(
            s.text.clone(),
            Style::default().fg(if s.error { Color::Red } else { Color::Green }),
        )),
        (None, None) => Line::from(""),
    };
    frame.render_widget(Paragraph::new(status_line), status);
    frame.render_widget(
        Paragraph::new(KEY_HELP)
            .style(Style::default().fg(Color::DarkGray))
            .wrap(Wrap { trim: true }),
        help,
    );
}

fn render_left(frame: &mut Frame<'_>, vm: &ViewModel, area: Rect) {
    let preview_height = vm
        .preview
        .as_ref()
        .map(|p| p.vars.len() as u16 + 3)
        .unwrap_or(0);
    let [agent, calls, preview] = Layout::vertical([
        Constraint::Length(5),
        Constraint::Min(3),
        Constraint::Length(preview_height),
    ])
    .areas(area);
    let agent_lines = vec![
        Line::from(vec![
            Span::raw("State: "),
            Span::styled(
                vm.agent_state.clone(),
                Style::default()
                    .fg(state_color(&vm.agent_state))
                    .add_modifier(Modifier::BOLD),
            ),
            Span::raw(format!(
                "  for {}:{:02}",
                vm.agent_secs / 60,
                vm.agent_secs % 60
            )),
        ]),
        Line::from({
            let reason = vm.reason.text(vm.reason_label.as_deref());
            match &vm.pending_change {
                None => format!("Reason: {reason}"),
                Some(to) => format!("Reason: {reason}  -> {to}…"),
            }
        }),
        Line::from(Span::styled(
            format!("Now: {}", vm.valid),
            Style::default().fg(Color::DarkGray),
        )),
    ];
    frame.render_widget(
        Paragraph::new(agent_lines).block(Block::default().borders(Borders::ALL).title(" Agent ")),
        agent,
    );
    let mut call_lines = Vec::new();
    if vm.calls.is_empty() {
        call_lines.push(Line::from(Span::styled(
            "no calls",
            Style::default().fg(Color::DarkGray),
        )));
    }
    for c in &vm.calls {
        call_lines.push(Line::from(vec![
            Span::styled(
                format!("{} ", c.id),
                Style::default().add_modifier(Modifier::BOLD),
            ),
            Span::styled(format!("{} ", c.state), Style::default().fg(Color::Yellow)),
            Span::raw(format!("{} {}", c.call_type, c.party)),
            Span::styled(
                match c.held_secs {
                    Some(h) => format!(
                        "  {}:{:02}, held {}:{:02}",
                        c.secs / 60,
                        c.secs % 60,
                        h / 60,
                        h % 60
                    ),
                    None => format!("  {}:{:02}", c.secs / 60, c.secs % 60),
                },
                Style::default().fg(Color::DarkGray),
            ),
        ]));
        if !c.vars.is_empty() {
            call_lines.push(Line::from(format!("   {}", c.vars.join(" "))));
        }
    }
    frame.render_widget(
        Paragraph::new(call_lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(" Calls ")),
        calls,
    );
    if let Some(p) = &vm.preview {
        let mut lines: Vec<Line<'_>> = p
            .vars
            .iter()
            .map(|(n, v)| Line::from(format!("{n}: {v}")))
            .collect();
        lines.push(Line::from(Span::styled(
            "1 accept 2 reject 3 reject-close 4 skip 5 skip-close 6 cancel",
            Style::default().fg(Color::Magenta),
        )));
        frame.render_widget(
            Paragraph::new(lines).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(format!(" Preview contact (call {}) ", p.call)),
            ),
            preview,
        );
    }
}

fn render_trace(frame: &mut Frame<'_>, vm: &ViewModel, area: Rect) {
    let height = usize::from(area.height.saturating_sub(2));
    let end = vm.trace.len().saturating_sub(vm.scroll);
    let start = end.saturating_sub(height);
    let lines: Vec<Line<'_>> = vm
        .trace
        .get(start..end)
        .unwrap_or(&[])
        .iter()
        .map(|l| {
            if l.starts_with('[') {
                Line::from(Span::styled(l.clone(), Style::default().fg(Color::Cyan)))
            } else if l.starts_with('#') {
                Line::from(Span::styled(
                    l.clone(),
                    Style::default().fg(Color::DarkGray),
                ))
            } else {
                Line::from(l.clone())
            }
        })
        .collect();
    let title = if vm.scroll > 0 {
        format!(" Trace (scrolled up {} lines) ", vm.scroll)
    } else {
        " Trace ".to_string()
    };
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}
