//! The agent's screen: one model of what the agent sees and what each key does, for the
//! phone's display (`ui::draw`, feature `display`) and the terminal phone alike.
//!
//! [`Screen`] reads a [`PhoneView`](crate::phone::PhoneView) and the agent's key presses and decides: the state line,
//! the call and preview cards, the pick lists (Not Ready, logout and wrap-up reasons,
//! reclassification, the six preview answers, every action), the pads (dial, consult, tones,
//! callback date, password), four softkey labels that follow what is valid now, and a message
//! line in plain words. It owns no phone and sends nothing: a key returns a [`Reaction`], the
//! application gives the command to [`crate::phone::Phone::command`] and tells the screen the
//! outcome with [`Screen::sent`] and the phone's events with [`Screen::event`]. Like the phone
//! it reads no clock: every call takes `now`. No allocation, no panic; lists have no cap of
//! their own (a reason list is as long as the [`ReasonList`] given).
//!
//! ```text
//!   key pressed -> screen.key(&view, &vocabulary, key, now) -> Reaction::Send(cmd)
//!                  -> phone.command(now, cmd.as_command()) -> screen.sent(kind, result, now)
//!   phone event -> screen.event(&event, now)
//!   redraw      -> screen.frame(&view, &vocabulary, now) -> Frame -> draw / terminal
//! ```

mod actions;
mod frame;
mod keys;
mod notice;
mod text;

#[cfg(feature = "display")]
pub mod draw;

#[cfg(test)]
mod tests;

pub use actions::{Action, Soft, Why};
pub use frame::{Frame, FrameLine, LineStyle, LINE_BYTES, MAX_ROWS, MESSAGE_BYTES, SOFTKEY_BYTES};
pub use notice::{ConfigRejected, Kept};

use crate::config::{ReasonKind, Vocabulary};
use crate::phone::{
    CommandError, CommandKind, Event, Instant, InvokeId, NoLabels, OwnedCommand, PreviewAnswer,
    Refusal, RequestKind, DEFAULT_COMMAND_TEXT,
};
use crate::wire::StatusCode;

/// Bytes a pad holds (a number, tones, a callback date and time, a password).
pub const ENTRY_BYTES: usize = 32;

/// A key of a hardware agent phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Key {
    /// Softkey 0 to 3, left to right, under the labels.
    Soft(u8),
    /// Up.
    Up,
    /// Down.
    Down,
    /// Select (OK).
    Select,
    /// Back (cancel).
    Back,
    /// A dial-pad key: `b'0'..=b'9'`, `b'*'`, `b'#'` (the password pad also takes any
    /// printable ASCII a keyboard types).
    Digit(u8),
    /// The hook switch: answers a ringing call, hangs up a call, or opens the dial pad.
    Hook,
}

/// What the application does after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reaction {
    /// Nothing to send (the screen changed, or the message line says why not).
    None,
    /// Give this command to the phone, then report the outcome with [`Screen::sent`].
    Send(OwnedCommand<DEFAULT_COMMAND_TEXT>),
}

/// Reason lists the pick lists show: the application's [`Vocabulary`] (any size), or
/// [`NoLabels`].
pub trait ReasonList {
    /// How many reasons the list `kind` holds.
    fn reason_count(&self, kind: ReasonKind) -> usize;
    /// The `index`th reason of the list: its code and label.
    fn reason_at(&self, kind: ReasonKind, index: usize) -> Option<(u16, &str)>;
}

impl<const N: usize, const LABEL: usize> ReasonList for Vocabulary<N, LABEL> {
    fn reason_count(&self, kind: ReasonKind) -> usize {
        self.reasons(kind).count()
    }
    fn reason_at(&self, kind: ReasonKind, index: usize) -> Option<(u16, &str)> {
        self.reasons(kind)
            .nth(index)
            .map(|r| (r.code, r.label.as_str()))
    }
}

impl ReasonList for NoLabels {
    fn reason_count(&self, _: ReasonKind) -> usize {
        0
    }
    fn reason_at(&self, _: ReasonKind, _: usize) -> Option<(u16, &str)> {
        None
    }
}

/// A pick list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ListKind {
    /// Not Ready reasons (the first entry: no reason).
    NotReady,
    /// Logout reasons (the first entry: no reason).
    Logout,
    /// Wrap-up reasons.
    WrapUp,
    /// Reclassification of the customer call.
    Reclassify,
    /// The six preview answers.
    PreviewAnswers,
    /// Every action valid now.
    Actions,
}

/// A pad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PadKind {
    /// A number to call.
    Dial,
    /// A number to consult.
    Consult,
    /// Tones to send on the call.
    Dtmf,
    /// Callback date and time: `MMDDYYYYHHMM`.
    Callback,
    /// The password (shown masked).
    Password,
}

/// What the screen shows besides the home screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// The state line and the cards.
    Home,
    /// A pick list with its cursor and the first row shown.
    List {
        /// Which list.
        list: ListKind,
        /// The entry under the cursor.
        cursor: usize,
        /// The first entry shown.
        top: usize,
    },
    /// A pad and what was typed.
    Pad {
        /// Which pad.
        pad: PadKind,
        /// The keys typed.
        text: heapless::String<ENTRY_BYTES>,
    },
}

/// The reclassification values (BAResponse) and their words.
pub const RECLASSIFY: [(&str, &str); 6] = [
    ("REX_VOICE", "Voice: a person"),
    ("REX_ANS_MACHINE", "Answering machine"),
    ("REX_FAX", "Fax"),
    ("REX_INVALID", "Invalid number"),
    ("DO_NOT_CALL", "Do not call"),
    ("BUSY", "Busy"),
];

/// The six preview answers, in the list's order.
pub const ANSWERS: [PreviewAnswer; 6] = [
    PreviewAnswer::Accept,
    PreviewAnswer::Skip,
    PreviewAnswer::Reject,
    PreviewAnswer::SkipClose,
    PreviewAnswer::RejectClose,
    PreviewAnswer::CancelReservation,
];

/// The named variable a wrap-up reason is written to (SET_CALL_DATA_REQ on the customer call).
pub const WRAP_UP_VAR: &str = "CallWrapupData";

/// The agent's screen. See the [module](crate::ui) documentation.
#[derive(Debug, Clone)]
pub struct Screen {
    rows: usize,
    mode: Mode,
    message: heapless::String<MESSAGE_BYTES>,
    message_at: Instant,
    /// The server side of the last open session, to tell a failover from a reconnect.
    last_side: Option<usize>,
    /// The session was lost since it last opened.
    lost: bool,
    /// The last command the phone took (to read a refusal of a login as a wrong password).
    last_sent: Option<CommandKind>,
    /// A configuration the phone rejected, shown on the idle home screen until a good one is
    /// taken.
    config_rejected: Option<ConfigRejected>,
}

impl Screen {
    /// A screen whose body shows `rows` lines (lists scroll within them; at least 2).
    pub fn new(rows: usize) -> Self {
        Screen {
            rows: rows.clamp(2, MAX_ROWS),
            mode: Mode::Home,
            message: heapless::String::new(),
            message_at: Instant::ZERO,
            last_side: None,
            lost: false,
            last_sent: None,
            config_rejected: None,
        }
    }

    /// What the screen shows besides home.
    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    /// Body rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The message line.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// When the message line was last written.
    pub fn message_at(&self) -> Instant {
        self.message_at
    }

    /// Write the message line.
    pub fn say(&mut self, now: Instant, args: core::fmt::Arguments<'_>) {
        self.message = text::line(args);
        self.message_at = now;
    }

    /// A configuration failed `PhoneConfig::validate()` (at boot, or when one was saved) and
    /// the phone runs with `rejected.kept` instead: the message line says so (a call may fill
    /// the body), and the idle home screen shows the field, why, and what the phone uses until
    /// [`Screen::config_accepted`].
    pub fn config_rejected(&mut self, rejected: ConfigRejected, now: Instant) {
        self.config_rejected = Some(rejected);
        self.say(now, format_args!("Configuration not taken"));
    }

    /// A configuration that passed validation was taken: the rejection is no longer shown.
    pub fn config_accepted(&mut self) {
        self.config_rejected = None;
    }

    /// The configuration rejection the screen shows, if any.
    pub fn rejected_config(&self) -> Option<&ConfigRejected> {
        self.config_rejected.as_ref()
    }

    /// The outcome of a command a key asked for: a refusal goes to the message line.
    pub fn sent(
        &mut self,
        kind: CommandKind,
        result: Result<InvokeId, CommandError>,
        now: Instant,
    ) {
        match result {
            Ok(_) => {
                self.last_sent = Some(kind);
                self.message.clear();
            }
            Err(e) => self.say(now, format_args!("Cannot: {}", text::refusal(e))),
        }
    }

    /// A phone event: session changes, refusals and losses go to the message line in plain
    /// words; a wrong password opens the password pad again.
    pub fn event(&mut self, event: &Event, now: Instant) {
        match *event {
            Event::SessionOpened { server } => {
                let side = text::side(server);
                match self.last_side {
                    Some(before) if before != server => {
                        self.say(now, format_args!("Server {side} took over"))
                    }
                    Some(_) if self.lost => {
                        self.say(now, format_args!("Reconnected to server {side}"))
                    }
                    Some(_) => {}
                    None => self.say(now, format_args!("Connected to server {side}")),
                }
                self.last_side = Some(server);
                self.lost = false;
            }
            Event::SessionLost {
                reason,
                reconnect_at,
            } => {
                self.lost = true;
                let why = text::session_end(reason);
                match reconnect_at {
                    Some(_) => self.say(now, format_args!("{}; reconnecting", Capital(why))),
                    None => self.say(now, format_args!("{}", Capital(why))),
                }
                if !matches!(
                    self.mode,
                    Mode::Pad {
                        pad: PadKind::Password,
                        ..
                    }
                ) {
                    self.mode = Mode::Home;
                }
            }
            Event::RequestFailed {
                request, refusal, ..
            } => {
                let login = request == RequestKind::SetAgentState
                    && self.last_sent == Some(CommandKind::Login);
                if refusal == Refusal::Status(StatusCode::InvalidPassword) || login {
                    let words = match text::refusal_words(refusal) {
                        "" => "login refused",
                        w => w,
                    };
                    self.say(now, format_args!("{}: enter it again", Capital(words)));
                    self.mode = Mode::Pad {
                        pad: PadKind::Password,
                        text: heapless::String::new(),
                    };
                } else {
                    match text::refusal_words(refusal) {
                        "" => self.say(
                            now,
                            format_args!("Server refused {}", text::request(request)),
                        ),
                        w => self.say(
                            now,
                            format_args!("Server refused {}: {w}", text::request(request)),
                        ),
                    }
                }
            }
            Event::RequestTimedOut { request, .. } => self.say(
                now,
                format_args!("No answer from the server to {}", text::request(request)),
            ),
            // The phone reports every refusal as an event too: front ends that send commands
            // another way (a driver thread) still show why.
            Event::CommandRefused { why, .. } => {
                self.say(now, format_args!("Cannot: {}", text::refusal(why)))
            }
            Event::CallLost { .. } => self.say(now, format_args!("Call lost during reconnect")),
            Event::CallTableFull { .. } => {
                self.say(now, format_args!("Too many calls: one is not shown"))
            }
            Event::EventsLost { .. } => self.say(now, format_args!("Some updates were missed")),
            Event::InstrumentService { in_service } => {
                if in_service {
                    self.say(now, format_args!("Phone line back in service"))
                } else {
                    self.say(now, format_args!("Phone line out of service"))
                }
            }
            Event::ServicesNotGranted { .. } => {
                self.say(now, format_args!("Server withheld some services"))
            }
            Event::PreviewEnded { .. } => {
                if matches!(
                    self.mode,
                    Mode::List {
                        list: ListKind::PreviewAnswers,
                        ..
                    }
                ) {
                    self.mode = Mode::Home;
                }
            }
            Event::RequestSucceeded {
                request: RequestKind::SetAgentState,
                ..
            } => self.last_sent = None,
            // Logged in (by this pad or otherwise): the password pad has done its job.
            Event::AgentStateChanged { state, .. }
                if state != crate::wire::AgentState::Logout
                    && matches!(
                        self.mode,
                        Mode::Pad {
                            pad: PadKind::Password,
                            ..
                        }
                    ) =>
            {
                self.mode = Mode::Home;
            }
            _ => {}
        }
    }
}

impl Default for Screen {
    fn default() -> Self {
        Screen::new(MAX_ROWS)
    }
}

/// A message that starts with a capital letter.
struct Capital<'a>(&'a str);

impl core::fmt::Display for Capital<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut chars = self.0.chars();
        if let Some(c) = chars.next() {
            for u in c.to_uppercase() {
                core::fmt::Write::write_char(f, u)?;
            }
        }
        f.write_str(chars.as_str())
    }
}
