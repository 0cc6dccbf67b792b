//! [`Frame`]: the screen as lines of text with a style each, ready for any renderer (a display
//! through [`super::draw`], the terminal phone).

use core::fmt::Write;

use crate::config::ReasonKind;
use crate::phone::{Call, Instant, PhoneView, SessionState};
use crate::wire::{AgentState, LocalConnectionState as Lcs};

use super::actions::{answer_name, valid};
use super::notice::{kept, Problem};
use super::text::{self, line, Cut, Timer};
use super::{ListKind, Mode, PadKind, ReasonList, Screen, ANSWERS, RECLASSIFY};

/// Bytes of one line (a 320-pixel display shows 45 characters of a 7-pixel font).
pub const LINE_BYTES: usize = 48;
/// Bytes of the message line.
pub const MESSAGE_BYTES: usize = 64;
/// Bytes of a softkey label.
pub const SOFTKEY_BYTES: usize = 10;
/// Most body rows a frame holds.
pub const MAX_ROWS: usize = 16;

/// How a line looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LineStyle {
    /// A card's or list's heading.
    Title,
    /// Plain text.
    Text,
    /// The list entry under the cursor.
    Selected,
    /// A hint.
    Dim,
}

/// One body line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameLine {
    /// The text, cut to fit.
    pub text: heapless::String<LINE_BYTES>,
    /// Its style.
    pub style: LineStyle,
}

/// The screen at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The agent state and reason, or the connection.
    pub status: heapless::String<LINE_BYTES>,
    /// Time in the state.
    pub timer: heapless::String<12>,
    /// The body: cards, a list or a pad.
    pub body: heapless::Vec<FrameLine, MAX_ROWS>,
    /// The four softkey labels, left to right.
    pub softkeys: [&'static str; 4],
    /// The message line (empty: none).
    pub message: heapless::String<MESSAGE_BYTES>,
}

impl Frame {
    fn push(&mut self, style: LineStyle, args: core::fmt::Arguments<'_>) {
        let _ = self.body.push(FrameLine {
            text: line(args),
            style,
        });
    }
}

impl Screen {
    /// The screen now.
    pub fn frame<const V: usize>(
        &self,
        view: &PhoneView<'_, V>,
        lists: &dyn ReasonList,
        now: Instant,
    ) -> Frame {
        let mut frame = Frame {
            status: heapless::String::new(),
            timer: heapless::String::new(),
            body: heapless::Vec::new(),
            softkeys: self.softkeys(view, lists),
            message: self.message.clone(),
        };
        status(&mut frame, view, now);
        match &self.mode {
            Mode::Home => self.home(&mut frame, view, now),
            Mode::List { list, cursor, top } => {
                self.list(&mut frame, view, lists, *list, *cursor, *top)
            }
            Mode::Pad { pad, text } => pad_body(&mut frame, *pad, text),
        }
        frame
    }

    fn home<const V: usize>(&self, frame: &mut Frame, view: &PhoneView<'_, V>, now: Instant) {
        if let Some(card) = view.preview() {
            frame.push(LineStyle::Title, format_args!("Outbound contact"));
            let rows = [
                ("Name", card.name),
                ("Number", card.number),
                ("Account", card.account),
                ("Campaign", card.campaign),
                ("List", card.dialed_list_id),
            ];
            for (label, value) in rows {
                if let Some(v) = value {
                    frame.push(LineStyle::Text, format_args!("{label}: {v}"));
                }
            }
        }
        for call in view.calls().iter().filter(|c| !c.is_reservation()) {
            call_card(frame, call, now);
        }
        if frame.body.is_empty() {
            if let Some(r) = &self.config_rejected {
                frame.push(LineStyle::Title, format_args!("Configuration rejected"));
                frame.push(LineStyle::Text, format_args!("{}", Problem(r.error)));
                frame.push(LineStyle::Dim, format_args!("{}", kept(r.kept)));
            }
            let hint = match (view.session.state, view.agent.state) {
                (SessionState::Open, AgentState::Logout) => "Press Login to start",
                (SessionState::Open, _) => "No calls",
                _ => "Waiting for the server",
            };
            frame.push(LineStyle::Dim, format_args!("{hint}"));
        }
        frame.body.truncate(self.rows);
    }

    fn list<const V: usize>(
        &self,
        frame: &mut Frame,
        view: &PhoneView<'_, V>,
        lists: &dyn ReasonList,
        list: ListKind,
        cursor: usize,
        top: usize,
    ) {
        let len = self.list_len(view, lists, list);
        let title = match list {
            ListKind::NotReady => "Not Ready reason",
            ListKind::Logout => "Logout reason",
            ListKind::WrapUp => "Wrap-up reason",
            ListKind::Reclassify => "Reclassify the call",
            ListKind::PreviewAnswers => "Answer the contact",
            ListKind::Actions => "More",
        };
        frame.push(
            LineStyle::Title,
            format_args!("{title} {}/{len}", cursor.saturating_add(1).min(len)),
        );
        let visible = self.rows.saturating_sub(1).max(1);
        for index in top..top.saturating_add(visible).min(len) {
            let style = if index == cursor {
                LineStyle::Selected
            } else {
                LineStyle::Text
            };
            let mut text = heapless::String::<LINE_BYTES>::new();
            let mut out = Cut(&mut text);
            let reason = |kind| match index.checked_sub(1) {
                None => None,
                Some(i) => lists.reason_at(kind, i),
            };
            let _ = match list {
                ListKind::NotReady | ListKind::Logout => {
                    let kind = if list == ListKind::NotReady {
                        ReasonKind::NotReady
                    } else {
                        ReasonKind::Logout
                    };
                    match reason(kind) {
                        Some((code, label)) => write!(out, "{label} ({code})"),
                        None => out.write_str("No reason"),
                    }
                }
                ListKind::WrapUp => match lists.reason_at(ReasonKind::WrapUp, index) {
                    Some((code, label)) => write!(out, "{label} ({code})"),
                    None => Ok(()),
                },
                ListKind::Reclassify => match RECLASSIFY.get(index) {
                    Some((_, words)) => out.write_str(words),
                    None => Ok(()),
                },
                ListKind::PreviewAnswers => match ANSWERS.get(index) {
                    Some(a) => out.write_str(answer_name(*a)),
                    None => Ok(()),
                },
                ListKind::Actions => match valid(view, lists).nth(index) {
                    Some(a) => out.write_str(a.name()),
                    None => Ok(()),
                },
            };
            let _ = frame.body.push(FrameLine { text, style });
        }
    }
}

fn status<const V: usize>(frame: &mut Frame, view: &PhoneView<'_, V>, now: Instant) {
    let session = &view.session;
    let side = text::side(session.side);
    let mut out = Cut(&mut frame.status);
    let _ = match session.state {
        SessionState::Open => {
            let agent = &view.agent;
            let _ = out.write_str(text::agent_state(agent.state));
            let _ = match agent.reason_text() {
                Some(reason) => write!(out, " - {reason}"),
                None => Ok(()),
            };
            match agent.pending {
                Some(p) => write!(out, " > {}", text::agent_state(p.state)),
                None => Ok(()),
            }
        }
        SessionState::Connecting | SessionState::Opening => {
            write!(out, "Connecting to server {side}")
        }
        SessionState::Closing => out.write_str("Signing off"),
        SessionState::Disconnected => match session.next_attempt {
            Some(at) => {
                let wait = at.saturating_duration_since(now).as_secs();
                write!(out, "Offline: server {side} in {wait} s")
            }
            None => out.write_str("Offline"),
        },
    };
    if session.state == SessionState::Open {
        frame.timer = line(format_args!(
            "{}",
            Timer(now.saturating_duration_since(view.agent.since))
        ));
    }
}

fn call_card<const V: usize>(frame: &mut Frame, call: &Call<V>, now: Instant) {
    let party = [
        call.ani.as_str(),
        call.dialed_number.as_str(),
        call.dnis.as_str(),
    ]
    .into_iter()
    .find(|s| !s.is_empty())
    .unwrap_or("(no number)");
    let talk = Timer(now.saturating_duration_since(call.since));
    frame.push(
        LineStyle::Title,
        format_args!("{} {party} {talk}", text::call_state(call.state)),
    );
    if let (Lcs::Hold, Some(held)) = (call.state, call.held_since) {
        frame.push(
            LineStyle::Text,
            format_args!("On hold {}", Timer(now.saturating_duration_since(held))),
        );
    }
    if !call.dnis.is_empty() || !call.dialed_number.is_empty() {
        let to = if call.dialed_number.is_empty() {
            call.dnis.as_str()
        } else {
            call.dialed_number.as_str()
        };
        frame.push(LineStyle::Text, format_args!("Dialed {to}"));
    }
    for n in 1..=10u8 {
        if let Some(v) = call.call_var(n).filter(|v| !v.is_empty()) {
            frame.push(LineStyle::Text, format_args!("Var{n}: {v}"));
        }
    }
    if !call.wrap_up.is_empty() {
        frame.push(LineStyle::Text, format_args!("Wrap-up: {}", call.wrap_up));
    }
}

fn pad_body(frame: &mut Frame, pad: PadKind, typed: &str) {
    let title = match pad {
        PadKind::Dial => "Make a call: number",
        PadKind::Consult => "Consult: number",
        PadKind::Dtmf => "Send tones",
        PadKind::Callback => "Callback date and time",
        PadKind::Password => "Password",
    };
    frame.push(LineStyle::Title, format_args!("{title}"));
    match pad {
        PadKind::Password => {
            let mut masked = heapless::String::<LINE_BYTES>::new();
            for _ in typed.chars() {
                let _ = masked.push('*');
            }
            frame.push(LineStyle::Selected, format_args!("{masked}_"));
            frame.push(LineStyle::Dim, format_args!("Digits, then Login"));
        }
        PadKind::Callback => {
            // MM/DD/YYYY HH:MM, filled as the digits come.
            let mut shown = heapless::String::<LINE_BYTES>::new();
            let template = "MM/DD/YYYY HH:MM";
            let mut digits = typed.chars();
            for t in template.chars() {
                let c = if t.is_ascii_alphabetic() {
                    digits.next().unwrap_or(t)
                } else {
                    t
                };
                let _ = shown.push(c);
            }
            frame.push(LineStyle::Selected, format_args!("{shown}"));
            frame.push(LineStyle::Dim, format_args!("Digits, then Set"));
        }
        PadKind::Dial | PadKind::Consult | PadKind::Dtmf => {
            frame.push(LineStyle::Selected, format_args!("{typed}_"));
            frame.push(LineStyle::Dim, format_args!("Digits * #, then Send"));
        }
    }
}
