//! The agent's screen ([`ccx_cti::ui::Frame`]) on a terminal: as a text box (the demo's
//! `--screens`) and as a ratatui widget (the terminal phone). Both draw the core's one screen
//! model; nothing here decides what the agent sees.

use ccx_cti::ui::{Frame, LineStyle};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

/// The frame as a box of `width` columns (at least 24): the state line and timer, the body,
/// the message line, the four softkeys.
pub fn frame_box(frame: &Frame, width: usize) -> String {
    let inner = width.max(24) - 4;
    let mut out = String::new();
    let rule = format!("+{}+\n", "-".repeat(inner + 2));
    let row = |out: &mut String, text: &str| {
        let text: String = text.chars().take(inner).collect();
        let pad = inner - text.chars().count();
        out.push_str(&format!("| {text}{} |\n", " ".repeat(pad)));
    };
    out.push_str(&rule);
    let timer_len = frame.timer.chars().count();
    let status: String = frame
        .status
        .chars()
        .take(inner.saturating_sub(timer_len + 1))
        .collect();
    let gap = inner.saturating_sub(status.chars().count() + timer_len);
    row(
        &mut out,
        &format!("{status}{}{}", " ".repeat(gap), frame.timer),
    );
    out.push_str(&rule);
    for line in &frame.body {
        let text = match line.style {
            LineStyle::Selected => format!("> {}", line.text),
            LineStyle::Title => format!("{}", line.text).to_uppercase(),
            LineStyle::Text | LineStyle::Dim => format!("  {}", line.text),
        };
        row(&mut out, &text);
    }
    row(&mut out, "");
    row(&mut out, &frame.message);
    row(&mut out, &softkeys(frame));
    out.push_str(&rule);
    out
}

/// The four softkeys as `[1 Accept] [2 Skip] …`, blank ones left out.
pub fn softkeys(frame: &Frame) -> String {
    frame
        .softkeys
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, l)| format!("[F{} {l}]", i + 1))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The frame as a ratatui widget: a bordered box titled by the state line; `color: false`
/// (NO_COLOR) draws with emphasis only.
pub struct ScreenWidget<'f> {
    /// The frame.
    pub frame: &'f Frame,
    /// Colours allowed.
    pub color: bool,
}

impl Widget for ScreenWidget<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let paint = |fg: Color| {
            if self.color {
                Style::default().fg(fg)
            } else {
                Style::default()
            }
        };
        let mut lines: Vec<Line<'_>> = Vec::new();
        for line in &self.frame.body {
            let style = match line.style {
                LineStyle::Title => paint(Color::Cyan).add_modifier(Modifier::BOLD),
                LineStyle::Text => Style::default(),
                LineStyle::Dim => paint(Color::DarkGray),
                LineStyle::Selected => Style::default().add_modifier(Modifier::REVERSED),
            };
            lines.push(Line::from(Span::styled(line.text.as_str(), style)));
        }
        let body_rows = usize::from(area.height.saturating_sub(4));
        while lines.len() < body_rows {
            lines.push(Line::from(""));
        }
        lines.truncate(body_rows);
        lines.push(Line::from(Span::styled(
            self.frame.message.as_str(),
            paint(Color::Yellow).add_modifier(Modifier::BOLD),
        )));
        let keys: Vec<Span<'_>> = self
            .frame
            .softkeys
            .iter()
            .enumerate()
            .filter(|(_, l)| !l.is_empty())
            .flat_map(|(i, l)| {
                [
                    Span::styled(
                        format!("F{}", i + 1),
                        Style::default().add_modifier(Modifier::REVERSED),
                    ),
                    Span::raw(format!(" {l}  ")),
                ]
            })
            .collect();
        lines.push(Line::from(keys));
        let title = format!(" {}  {} ", self.frame.status, self.frame.timer);
        let block = Block::default().borders(Borders::ALL).title(Span::styled(
            title,
            paint(Color::Green).add_modifier(Modifier::BOLD),
        ));
        Paragraph::new(lines).block(block).render(area, buf);
    }
}

/// What a terminal key does on the terminal phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermKey {
    /// A key of the phone (softkeys F1-F4, arrows, Enter, Esc, digits, Space for the hook).
    Phone(ccx_cti::ui::Key),
    /// Open or close the protocol trace pane.
    ToggleTrace,
    /// Show or hide the help.
    Help,
    /// Scroll the trace up (PgUp).
    TraceUp,
    /// Scroll the trace down (PgDn).
    TraceDown,
    /// Close the session in order and quit.
    Quit,
    /// Quit at once.
    QuitNow,
}

/// The terminal key for a crossterm key code.
pub fn term_key(code: crossterm::event::KeyCode) -> Option<TermKey> {
    use ccx_cti::ui::Key;
    use crossterm::event::KeyCode as K;
    Some(match code {
        K::F(n @ 1..=4) => TermKey::Phone(Key::Soft(n - 1)),
        K::Up => TermKey::Phone(Key::Up),
        K::Down => TermKey::Phone(Key::Down),
        K::Enter => TermKey::Phone(Key::Select),
        K::Esc | K::Backspace => TermKey::Phone(Key::Back),
        K::Char(' ') => TermKey::Phone(Key::Hook),
        K::Char(c @ ('0'..='9' | '*' | '#')) => TermKey::Phone(Key::Digit(c as u8)),
        K::Char('t') => TermKey::ToggleTrace,
        K::Char('?') => TermKey::Help,
        K::PageUp => TermKey::TraceUp,
        K::PageDown => TermKey::TraceDown,
        K::Char('q') => TermKey::Quit,
        K::Char('Q') => TermKey::QuitNow,
        _ => return None,
    })
}

/// The key hints under the screen: they fit 80 columns.
pub const HINTS: &str =
    "F1-F4 softkeys  Up/Down Enter Esc  0-9*#  Space hook  t trace  ? help  q quit";

/// The help the `?` key shows.
pub const HELP: &str = "\
The screen shows what you can do now; the four labels at its foot are F1 to F4.
  F1-F4        the softkey under the label (Accept, Skip, Hold, Transfer...)
  Up/Down      move in a list (reasons, answers, More)
  Enter        choose; on the home screen: the first softkey
  Esc          back; clears the message line
  0-9 * #      dial pad: make a call, consult, send tones, callback date, password
  Space        the hook: answer a ringing call, end a call, or dial
  t            open or close the protocol trace (PgUp/PgDn scroll it)
  ?            this help
  q / Q        sign off and quit / quit at once
NO_COLOR set: no colours.";

/// Whether colours may be used: not when `NO_COLOR` is set to a non-empty value
/// (<https://no-color.org>).
pub fn color_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// What the terminal phone draws around the screen.
pub struct PhoneLayout<'a> {
    /// The agent's screen.
    pub frame: &'a Frame,
    /// The protocol trace, oldest first (shown only when `trace_open`).
    pub trace: &'a [String],
    /// Lines scrolled back from the end of the trace.
    pub trace_back: usize,
    /// The trace pane is open.
    pub trace_open: bool,
    /// The help is shown.
    pub help: bool,
    /// Colours allowed.
    pub color: bool,
}

impl Widget for PhoneLayout<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        use ratatui::layout::{Constraint, Direction, Layout};
        use ratatui::widgets::{Clear, Wrap};
        let [main, hints] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
        Paragraph::new(Line::from(Span::styled(
            HINTS,
            Style::default().add_modifier(Modifier::DIM),
        )))
        .render(hints, buf);
        // Agent words first: the screen keeps its room; the trace takes what is left.
        let (screen_area, trace_area) = if !self.trace_open {
            (main, None)
        } else if main.width >= 120 {
            let [s, t] =
                Layout::horizontal([Constraint::Length(60), Constraint::Min(20)]).areas(main);
            (s, Some(t))
        } else {
            let [s, t] = Layout::default()
                .direction(Direction::Vertical)
                .constraints([
                    Constraint::Length(main.height.saturating_mul(3) / 5),
                    Constraint::Min(3),
                ])
                .areas(main);
            (s, Some(t))
        };
        ScreenWidget {
            frame: self.frame,
            color: self.color,
        }
        .render(screen_area, buf);
        if let Some(t) = trace_area {
            let rows = usize::from(t.height.saturating_sub(2));
            let end = self.trace.len().saturating_sub(self.trace_back);
            let start = end.saturating_sub(rows);
            let lines: Vec<Line<'_>> = self.trace[start..end]
                .iter()
                .map(|l| Line::from(l.as_str()))
                .collect();
            Paragraph::new(lines)
                .block(
                    Block::default()
                        .borders(Borders::ALL)
                        .title(" protocol trace (t closes) "),
                )
                .render(t, buf);
        }
        if self.help {
            Clear.render(main, buf);
            Paragraph::new(HELP)
                .wrap(Wrap { trim: false })
                .block(
                    Block::default()
                        .borders(Borders::ALL)
                        .title(" help (? closes) "),
                )
                .render(main, buf);
        }
    }
}
