//! Commands as text and as owned values.
//!
//! [`Command::parse`] reads the agent commands of the flow format (`preview skip`,
//! `not-ready 7`, `dial 5551234`, `set-var BAResponse Callback 12312026 14:30 16800099`) without
//! copying: the arguments borrow the text. [`OwnedCommand`] holds the same buttons with each
//! text argument in a `heapless::String`, so a command can travel through a queue or channel
//! (from a UI task to the phone task) and be lent back to the phone with
//! [`OwnedCommand::as_command`].

use heapless::String;

use super::{AgentReason, PreviewAnswer};

/// A command whose text arguments borrow from the caller (what [`super::Phone::command`]
/// takes).
pub type Command<'a> = CommandWith<&'a str>;

/// A command that owns its text arguments, each in a `heapless::String<TEXT>`, so it can travel
/// through a queue or a channel. Build one from a [`Command`] with `TryFrom` (fails when a text
/// does not fit) and lend it back to the phone with [`OwnedCommand::as_command`].
pub type OwnedCommand<const TEXT: usize = DEFAULT_COMMAND_TEXT> = CommandWith<String<TEXT>>;

/// A button the agent pressed (FORMAT.md §2 agent commands), with its text arguments of type
/// `S`: borrowed in [`Command`], owned in [`OwnedCommand`].
///
/// `Debug` and `defmt::Format` print `Login`'s password as `********`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum CommandWith<S> {
    /// Log in (SET_AGENT_STATE_REQ LOGIN); `None` uses the configured password.
    Login {
        /// Password to use instead of the configured one.
        password: Option<S>,
    },
    /// Log out with a reason code.
    Logout {
        /// EventReasonCode ([`AgentReason::None`]: none).
        reason: AgentReason,
    },
    /// Become ready (AVAILABLE).
    Ready,
    /// Become not ready with a reason code.
    NotReady {
        /// EventReasonCode ([`AgentReason::None`]: none).
        reason: AgentReason,
    },
    /// WORK_READY.
    WorkReady,
    /// WORK_NOT_READY.
    WorkNotReady,
    /// Answer a call (the alerting one when `None`).
    Answer {
        /// CallID.
        call: Option<u32>,
    },
    /// Release the agent's own connection (CLEAR_CONNECTION_REQ); the connected call when `None`.
    Release {
        /// CallID.
        call: Option<u32>,
    },
    /// Hold a call (the connected one when `None`).
    Hold {
        /// CallID.
        call: Option<u32>,
    },
    /// Retrieve a held call (the held one when `None`).
    Retrieve {
        /// CallID.
        call: Option<u32>,
    },
    /// MAKE_CALL_REQ to a number.
    Dial {
        /// DialedNumber.
        number: S,
    },
    /// CONSULTATION_CALL_REQ from the connected call.
    Consult {
        /// DialedNumber.
        number: S,
    },
    /// TRANSFER_CALL_REQ of the held call to the consult call.
    Transfer,
    /// CONFERENCE_CALL_REQ of the held call and the consult call.
    Conference,
    /// SEND_DTMF_SIGNAL_REQ on the connected call.
    Dtmf {
        /// DTMFString.
        digits: S,
    },
    /// Answer the pending preview reservation.
    Preview(PreviewAnswer),
    /// Reclassify the customer call (REX_VOICE, REX_ANS_MACHINE, REX_FAX, REX_INVALID,
    /// DO_NOT_CALL, BUSY).
    Reclassify {
        /// BAResponse value.
        value: S,
    },
    /// Ask for a callback of the customer call: `Callback MMDDYYYY HH:MM`.
    Callback {
        /// `MMDDYYYY`.
        date: S,
        /// `HH:MM`.
        time: S,
    },
    /// SET_CALL_DATA_REQ with one named variable.
    SetVar {
        /// Variable name.
        name: S,
        /// Value.
        value: S,
        /// CallID (the current call when `None`).
        call: Option<u32>,
    },
    /// Close the session in order (CLOSE_REQ).
    Close,
}

/// Prints `********` in place of a password.
struct Masked;

impl core::fmt::Debug for Masked {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("********")
    }
}

impl<S: core::fmt::Debug> core::fmt::Debug for CommandWith<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // `Name { field: value, … }`, as a derived Debug prints it.
        macro_rules! with_fields {
            ($name:literal $(, $field:ident)*) => {
                f.debug_struct($name)$(.field(stringify!($field), $field))*.finish()
            };
        }
        match self {
            Self::Login { password } => f
                .debug_struct("Login")
                .field("password", &password.as_ref().map(|_| Masked))
                .finish(),
            Self::Logout { reason } => with_fields!("Logout", reason),
            Self::Ready => f.write_str("Ready"),
            Self::NotReady { reason } => with_fields!("NotReady", reason),
            Self::WorkReady => f.write_str("WorkReady"),
            Self::WorkNotReady => f.write_str("WorkNotReady"),
            Self::Answer { call } => with_fields!("Answer", call),
            Self::Release { call } => with_fields!("Release", call),
            Self::Hold { call } => with_fields!("Hold", call),
            Self::Retrieve { call } => with_fields!("Retrieve", call),
            Self::Dial { number } => with_fields!("Dial", number),
            Self::Consult { number } => with_fields!("Consult", number),
            Self::Transfer => f.write_str("Transfer"),
            Self::Conference => f.write_str("Conference"),
            Self::Dtmf { digits } => with_fields!("Dtmf", digits),
            Self::Preview(answer) => f.debug_tuple("Preview").field(answer).finish(),
            Self::Reclassify { value } => with_fields!("Reclassify", value),
            Self::Callback { date, time } => with_fields!("Callback", date, time),
            Self::SetVar { name, value, call } => with_fields!("SetVar", name, value, call),
            Self::Close => f.write_str("Close"),
        }
    }
}

/// Through `Debug`, so the password is masked the same way.
#[cfg(feature = "defmt")]
impl<S: core::fmt::Debug> defmt::Format for CommandWith<S> {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(f, "{}", defmt::Debug2Format(self))
    }
}

impl<S> CommandWith<S> {
    /// The same command with every text argument passed through `f`; the first error stops.
    pub fn try_map_text<'s, T, E>(
        &'s self,
        mut f: impl FnMut(&'s S) -> Result<T, E>,
    ) -> Result<CommandWith<T>, E> {
        Ok(match self {
            Self::Login { password } => CommandWith::Login {
                password: password.as_ref().map(&mut f).transpose()?,
            },
            Self::Logout { reason } => CommandWith::Logout { reason: *reason },
            Self::Ready => CommandWith::Ready,
            Self::NotReady { reason } => CommandWith::NotReady { reason: *reason },
            Self::WorkReady => CommandWith::WorkReady,
            Self::WorkNotReady => CommandWith::WorkNotReady,
            Self::Answer { call } => CommandWith::Answer { call: *call },
            Self::Release { call } => CommandWith::Release { call: *call },
            Self::Hold { call } => CommandWith::Hold { call: *call },
            Self::Retrieve { call } => CommandWith::Retrieve { call: *call },
            Self::Dial { number } => CommandWith::Dial { number: f(number)? },
            Self::Consult { number } => CommandWith::Consult { number: f(number)? },
            Self::Transfer => CommandWith::Transfer,
            Self::Conference => CommandWith::Conference,
            Self::Dtmf { digits } => CommandWith::Dtmf { digits: f(digits)? },
            Self::Preview(answer) => CommandWith::Preview(*answer),
            Self::Reclassify { value } => CommandWith::Reclassify { value: f(value)? },
            Self::Callback { date, time } => CommandWith::Callback {
                date: f(date)?,
                time: f(time)?,
            },
            Self::SetVar { name, value, call } => CommandWith::SetVar {
                name: f(name)?,
                value: f(value)?,
                call: *call,
            },
            Self::Close => CommandWith::Close,
        })
    }
}

/// Default capacity of each text argument of an [`OwnedCommand`]: room for a dialed number, a
/// password, a callback date or a named variable's name.
pub const DEFAULT_COMMAND_TEXT: usize = 64;

/// A command line that is not one of the agent commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CommandParseError {
    /// The first word names no command.
    UnknownCommand,
    /// `preview` with a word that is no preview answer.
    UnknownPreviewAnswer,
    /// A required argument is missing.
    MissingArgument(&'static str),
    /// A reason code is not a number from 0 to 65535.
    BadReason,
    /// A call ID is not a number.
    BadCallId,
}

impl core::fmt::Display for CommandParseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::UnknownCommand => f.write_str("unknown agent command"),
            Self::UnknownPreviewAnswer => f.write_str(
                "unknown preview answer (accept, reject, reject-close, skip, skip-close, cancel-reservation, reclassify VALUE, callback MMDDYYYY HH:MM)",
            ),
            Self::MissingArgument(what) => write!(f, "missing {what}"),
            Self::BadReason => f.write_str("a reason code is a number from 0 to 65535"),
            Self::BadCallId => f.write_str("a call ID is a number"),
        }
    }
}

impl core::error::Error for CommandParseError {}

impl<'a> CommandWith<&'a str> {
    /// Read an agent command in the flow format's words (FORMAT.md §2):
    /// `login [PASSWORD]`, `logout [REASON]`, `ready`, `not-ready [REASON]`, `work-ready`,
    /// `work-not-ready`, `answer|release|hold|retrieve [CALLID]`, `dial NUMBER`,
    /// `consult NUMBER`, `transfer`, `conference`, `dtmf DIGITS`, `preview ANSWER`,
    /// `preview reclassify VALUE`, `preview callback MMDDYYYY HH:MM`,
    /// `set-var NAME VALUE [CALLID]`, `close`.
    pub fn parse(text: &'a str) -> Result<Self, CommandParseError> {
        let mut words = text.split_whitespace();
        let first = words.next().unwrap_or("");
        let second = words.next();
        let reason = |w: Option<&str>| match w {
            None => Ok(AgentReason::None),
            Some(r) => r
                .parse::<u16>()
                .map(AgentReason::from_code)
                .map_err(|_| CommandParseError::BadReason),
        };
        let call = |w: Option<&str>| match w {
            None => Ok(None),
            Some(c) => c
                .parse::<u32>()
                .map(Some)
                .map_err(|_| CommandParseError::BadCallId),
        };
        let need = |w: Option<&'a str>, what| w.ok_or(CommandParseError::MissingArgument(what));
        Ok(match first {
            "login" => Command::Login { password: second },
            "logout" => Command::Logout {
                reason: reason(second)?,
            },
            "ready" => Command::Ready,
            "not-ready" => Command::NotReady {
                reason: reason(second)?,
            },
            "work-ready" => Command::WorkReady,
            "work-not-ready" | "work" => Command::WorkNotReady,
            "answer" => Command::Answer {
                call: call(second)?,
            },
            "release" => Command::Release {
                call: call(second)?,
            },
            "hold" => Command::Hold {
                call: call(second)?,
            },
            "retrieve" => Command::Retrieve {
                call: call(second)?,
            },
            "dial" => Command::Dial {
                number: need(second, "the number to dial")?,
            },
            "consult" => Command::Consult {
                number: need(second, "the number to consult")?,
            },
            "transfer" => Command::Transfer,
            "conference" => Command::Conference,
            "dtmf" => Command::Dtmf {
                digits: need(second, "the digits")?,
            },
            "close" => Command::Close,
            "preview" => match need(second, "the preview answer")? {
                "accept" => Command::Preview(PreviewAnswer::Accept),
                "reject" => Command::Preview(PreviewAnswer::Reject),
                "reject-close" => Command::Preview(PreviewAnswer::RejectClose),
                "skip" => Command::Preview(PreviewAnswer::Skip),
                "skip-close" => Command::Preview(PreviewAnswer::SkipClose),
                "cancel-reservation" | "cancel" => {
                    Command::Preview(PreviewAnswer::CancelReservation)
                }
                "reclassify" => Command::Reclassify {
                    value: need(words.next(), "the reclassification")?,
                },
                "callback" => Command::Callback {
                    date: need(words.next(), "the callback date MMDDYYYY")?,
                    time: need(words.next(), "the callback time HH:MM")?,
                },
                _ => return Err(CommandParseError::UnknownPreviewAnswer),
            },
            "set-var" => {
                let name = need(second, "the variable name")?;
                // The value is the rest of the line, less a trailing call ID.
                let rest = text
                    .trim_start()
                    .get("set-var".len()..)
                    .unwrap_or("")
                    .trim_start();
                let rest = rest.get(name.len()..).unwrap_or("").trim();
                if rest.is_empty() {
                    return Err(CommandParseError::MissingArgument("the value"));
                }
                match rest.rsplit_once(char::is_whitespace) {
                    Some((value, id)) if id.parse::<u32>().is_ok() => Command::SetVar {
                        name,
                        value: value.trim_end(),
                        call: id.parse().ok(),
                    },
                    _ => Command::SetVar {
                        name,
                        value: rest,
                        call: None,
                    },
                }
            }
            _ => return Err(CommandParseError::UnknownCommand),
        })
    }
}

/// A text argument is longer than the [`OwnedCommand`]'s `TEXT` capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TextTooLong {
    /// Bytes of the text.
    pub length: usize,
    /// The capacity.
    pub capacity: usize,
}

impl core::fmt::Display for TextTooLong {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "a command argument of {} bytes does not fit {} bytes",
            self.length, self.capacity
        )
    }
}

impl core::error::Error for TextTooLong {}

fn owned<const TEXT: usize>(text: &str) -> Result<String<TEXT>, TextTooLong> {
    let mut s = String::new();
    s.push_str(text).map_err(|_| TextTooLong {
        length: text.len(),
        capacity: TEXT,
    })?;
    Ok(s)
}

impl<const TEXT: usize> OwnedCommand<TEXT> {
    /// The borrowed command the phone takes.
    pub fn as_command(&self) -> Command<'_> {
        let lent: Result<Command<'_>, core::convert::Infallible> =
            self.try_map_text(|s| Ok(s.as_str()));
        match lent {
            Ok(command) => command,
            Err(never) => match never {},
        }
    }
}

impl<const TEXT: usize> TryFrom<Command<'_>> for OwnedCommand<TEXT> {
    type Error = TextTooLong;

    fn try_from(command: Command<'_>) -> Result<Self, TextTooLong> {
        command.try_map_text(|s| owned(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::EventReasonCode;

    #[test]
    fn every_command_word_parses() {
        let cases: &[(&str, Command<'_>)] = &[
            ("login", Command::Login { password: None }),
            (
                "login s3cret",
                Command::Login {
                    password: Some("s3cret"),
                },
            ),
            (
                "logout 7",
                Command::Logout {
                    reason: AgentReason::Configured(7),
                },
            ),
            ("ready", Command::Ready),
            (
                "not-ready",
                Command::NotReady {
                    reason: AgentReason::None,
                },
            ),
            (
                "not-ready 32760",
                Command::NotReady {
                    reason: AgentReason::System(EventReasonCode::Logon),
                },
            ),
            ("work-ready", Command::WorkReady),
            ("work-not-ready", Command::WorkNotReady),
            ("answer", Command::Answer { call: None }),
            (
                "answer 16800098",
                Command::Answer {
                    call: Some(16_800_098),
                },
            ),
            ("release", Command::Release { call: None }),
            ("hold 5", Command::Hold { call: Some(5) }),
            ("retrieve", Command::Retrieve { call: None }),
            ("dial 5551234", Command::Dial { number: "5551234" }),
            ("consult 2007", Command::Consult { number: "2007" }),
            ("transfer", Command::Transfer),
            ("conference", Command::Conference),
            ("dtmf 1234#", Command::Dtmf { digits: "1234#" }),
            ("preview accept", Command::Preview(PreviewAnswer::Accept)),
            ("preview reject", Command::Preview(PreviewAnswer::Reject)),
            (
                "preview reject-close",
                Command::Preview(PreviewAnswer::RejectClose),
            ),
            ("preview skip", Command::Preview(PreviewAnswer::Skip)),
            (
                "preview skip-close",
                Command::Preview(PreviewAnswer::SkipClose),
            ),
            (
                "preview cancel-reservation",
                Command::Preview(PreviewAnswer::CancelReservation),
            ),
            (
                "preview reclassify REX_FAX",
                Command::Reclassify { value: "REX_FAX" },
            ),
            (
                "preview callback 12312026 14:30",
                Command::Callback {
                    date: "12312026",
                    time: "14:30",
                },
            ),
            (
                "set-var user.note hello",
                Command::SetVar {
                    name: "user.note",
                    value: "hello",
                    call: None,
                },
            ),
            (
                "set-var BAResponse Callback 12312026 14:30 16800099",
                Command::SetVar {
                    name: "BAResponse",
                    value: "Callback 12312026 14:30",
                    call: Some(16_800_099),
                },
            ),
            (
                "  set-var  x  two words ",
                Command::SetVar {
                    name: "x",
                    value: "two words",
                    call: None,
                },
            ),
            ("close", Command::Close),
        ];
        for (text, expected) in cases {
            assert_eq!(Command::parse(text), Ok(*expected), "{text}");
        }
    }

    #[test]
    fn bad_commands_say_why() {
        assert_eq!(
            Command::parse("fly"),
            Err(CommandParseError::UnknownCommand)
        );
        assert_eq!(Command::parse(""), Err(CommandParseError::UnknownCommand));
        assert_eq!(
            Command::parse("preview maybe"),
            Err(CommandParseError::UnknownPreviewAnswer)
        );
        assert_eq!(
            Command::parse("not-ready soon"),
            Err(CommandParseError::BadReason)
        );
        assert_eq!(Command::parse("hold x"), Err(CommandParseError::BadCallId));
        assert!(matches!(
            Command::parse("dial"),
            Err(CommandParseError::MissingArgument(_))
        ));
        assert!(matches!(
            Command::parse("set-var x"),
            Err(CommandParseError::MissingArgument(_))
        ));
        assert!(matches!(
            Command::parse("preview callback 12312026"),
            Err(CommandParseError::MissingArgument(_))
        ));
    }

    #[test]
    fn owned_commands_round_trip_and_refuse_what_does_not_fit() {
        let cmd = Command::SetVar {
            name: "BAResponse",
            value: "Callback 11242026 10:30",
            call: Some(16_800_098),
        };
        let owned: OwnedCommand = OwnedCommand::try_from(cmd).unwrap();
        assert_eq!(owned.as_command(), cmd);
        let err = OwnedCommand::<4>::try_from(Command::Dial { number: "12345" }).unwrap_err();
        assert_eq!(
            err,
            TextTooLong {
                length: 5,
                capacity: 4
            }
        );
    }
}
