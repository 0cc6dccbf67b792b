//! What the terminal phone shows, as plain data ([`ViewModel`]), and one pure function that
//! draws it ([`render`]), so that every screen can be checked on a test backend.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use ccx_cti::phone::{Event, RequestKind, SessionState};
use ccx_cti::wire::spec::EnumDef;
use ccx_cti::wire::{AgentState, CallType, LocalConnectionState, PeripheralErrorCode, StatusCode};

use crate::driver::PhoneView;

/// The name an enumeration gives `value`, or the number.
pub fn enum_name(def: &EnumDef, value: u32) -> String {
    def.values
        .iter()
        .find(|v| v.value == value)
        .map(|v| v.name.to_string())
        .unwrap_or_else(|| value.to_string())
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
    /// The named variables, `name=value`.
    pub vars: Vec<String>,
}

/// The pending preview reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewRow {
    /// The reservation's CallID.
    pub call: u32,
    /// Its BA* variables, `(name, value)`.
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
    /// Last reason code.
    pub reason: u16,
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
    /// Fill the phone's part from a driver view.
    pub fn update(&mut self, view: &PhoneView) {
        let side = if view.session.server == 0 { "A" } else { "B" };
        self.session = format!(
            "{} (side {side}, protocol {})",
            session_name(view.session.state),
            view.session.version
        );
        self.agent_state = enum_name(AgentState::DEF, u32::from(view.agent.state.value()));
        self.agent_secs = view
            .now
            .saturating_duration_since(view.agent.since)
            .as_secs();
        self.reason = view.agent.reason;
        self.calls = view
            .calls
            .iter()
            .map(|c| CallRow {
                id: c.id,
                call_type: enum_name(CallType::DEF, u32::from(c.call_type.value())),
                state: enum_name(LocalConnectionState::DEF, u32::from(c.state.value())),
                party: match (c.ani.is_empty(), c.dnis.is_empty()) {
                    (false, false) => format!("{} -> {}", c.ani, c.dnis),
                    (false, true) => c.ani.clone(),
                    _ => String::new(),
                },
                vars: c.vars.iter().map(|(n, v)| format!("{n}={v}")).collect(),
            })
            .collect();
        self.preview = view.preview.and_then(|id| {
            view.call(id).map(|c| PreviewRow {
                call: id,
                vars: c
                    .vars
                    .iter()
                    .filter(|(n, _)| n.starts_with("BA") || n == "user.layout")
                    .cloned()
                    .collect(),
            })
        });
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
            request,
            status,
            peripheral_error,
            ..
        } => error(format!(
            "{} refused: {} ({}), peripheral error {}",
            request_name(*request),
            enum_name(StatusCode::DEF, *status),
            status,
            enum_name(PeripheralErrorCode::DEF, *peripheral_error)
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
        Constraint::Length(4),
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
        Line::from(format!("Reason: {}", vm.reason)),
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
