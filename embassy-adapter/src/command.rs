//! Agent commands that own their text, so they can travel through an `embassy_sync` channel
//! from the UI task to the phone task.

use ccx_cti::phone::{Command, PreviewAnswer};
use heapless::String;

/// Default capacity of each text argument of an [`OwnedCommand`]: room for a dialed number, a
/// password, a callback date or an ECC variable name.
pub const DEFAULT_TEXT: usize = 40;

/// An owned copy of [`Command`]: the same buttons, with each text argument in a
/// `heapless::String<TEXT>`.
///
/// Build one from a [`Command`] with `TryFrom` (fails when a text does not fit) and turn it
/// back with [`OwnedCommand::as_command`] on the phone's side.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum OwnedCommand<const TEXT: usize = DEFAULT_TEXT> {
    /// [`Command::Login`].
    Login {
        /// Password to use instead of the configured one.
        password: Option<String<TEXT>>,
    },
    /// [`Command::Logout`].
    Logout {
        /// EventReasonCode.
        reason: u16,
    },
    /// [`Command::Ready`].
    Ready,
    /// [`Command::NotReady`].
    NotReady {
        /// EventReasonCode.
        reason: u16,
    },
    /// [`Command::WorkReady`].
    WorkReady,
    /// [`Command::WorkNotReady`].
    WorkNotReady,
    /// [`Command::Answer`].
    Answer {
        /// CallID.
        call: Option<u32>,
    },
    /// [`Command::Release`].
    Release {
        /// CallID.
        call: Option<u32>,
    },
    /// [`Command::Hold`].
    Hold {
        /// CallID.
        call: Option<u32>,
    },
    /// [`Command::Retrieve`].
    Retrieve {
        /// CallID.
        call: Option<u32>,
    },
    /// [`Command::Dial`].
    Dial {
        /// DialedNumber.
        number: String<TEXT>,
    },
    /// [`Command::Consult`].
    Consult {
        /// DialedNumber.
        number: String<TEXT>,
    },
    /// [`Command::Transfer`].
    Transfer,
    /// [`Command::Conference`].
    Conference,
    /// [`Command::Dtmf`].
    Dtmf {
        /// DTMFString.
        digits: String<TEXT>,
    },
    /// [`Command::Preview`].
    Preview(PreviewAnswer),
    /// [`Command::Reclassify`].
    Reclassify {
        /// BAResponse value.
        value: String<TEXT>,
    },
    /// [`Command::Callback`].
    Callback {
        /// `MMDDYYYY`.
        date: String<TEXT>,
        /// `HH:MM`.
        time: String<TEXT>,
    },
    /// [`Command::SetVar`].
    SetVar {
        /// Variable name.
        name: String<TEXT>,
        /// Value.
        value: String<TEXT>,
        /// CallID.
        call: Option<u32>,
    },
    /// [`Command::Close`].
    Close,
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
        match self {
            Self::Login { password } => Command::Login {
                password: password.as_deref(),
            },
            Self::Logout { reason } => Command::Logout { reason: *reason },
            Self::Ready => Command::Ready,
            Self::NotReady { reason } => Command::NotReady { reason: *reason },
            Self::WorkReady => Command::WorkReady,
            Self::WorkNotReady => Command::WorkNotReady,
            Self::Answer { call } => Command::Answer { call: *call },
            Self::Release { call } => Command::Release { call: *call },
            Self::Hold { call } => Command::Hold { call: *call },
            Self::Retrieve { call } => Command::Retrieve { call: *call },
            Self::Dial { number } => Command::Dial { number },
            Self::Consult { number } => Command::Consult { number },
            Self::Transfer => Command::Transfer,
            Self::Conference => Command::Conference,
            Self::Dtmf { digits } => Command::Dtmf { digits },
            Self::Preview(answer) => Command::Preview(*answer),
            Self::Reclassify { value } => Command::Reclassify { value },
            Self::Callback { date, time } => Command::Callback { date, time },
            Self::SetVar { name, value, call } => Command::SetVar {
                name,
                value,
                call: *call,
            },
            Self::Close => Command::Close,
        }
    }
}

impl<const TEXT: usize> TryFrom<Command<'_>> for OwnedCommand<TEXT> {
    type Error = TextTooLong;

    fn try_from(command: Command<'_>) -> Result<Self, TextTooLong> {
        Ok(match command {
            Command::Login { password } => Self::Login {
                password: password.map(owned).transpose()?,
            },
            Command::Logout { reason } => Self::Logout { reason },
            Command::Ready => Self::Ready,
            Command::NotReady { reason } => Self::NotReady { reason },
            Command::WorkReady => Self::WorkReady,
            Command::WorkNotReady => Self::WorkNotReady,
            Command::Answer { call } => Self::Answer { call },
            Command::Release { call } => Self::Release { call },
            Command::Hold { call } => Self::Hold { call },
            Command::Retrieve { call } => Self::Retrieve { call },
            Command::Dial { number } => Self::Dial {
                number: owned(number)?,
            },
            Command::Consult { number } => Self::Consult {
                number: owned(number)?,
            },
            Command::Transfer => Self::Transfer,
            Command::Conference => Self::Conference,
            Command::Dtmf { digits } => Self::Dtmf {
                digits: owned(digits)?,
            },
            Command::Preview(answer) => Self::Preview(answer),
            Command::Reclassify { value } => Self::Reclassify {
                value: owned(value)?,
            },
            Command::Callback { date, time } => Self::Callback {
                date: owned(date)?,
                time: owned(time)?,
            },
            Command::SetVar { name, value, call } => Self::SetVar {
                name: owned(name)?,
                value: owned(value)?,
                call,
            },
            Command::Close => Self::Close,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trips_text_commands() {
        let cmd = Command::SetVar {
            name: "BAResponse",
            value: "Callback 11242026 10:30",
            call: Some(16_800_098),
        };
        let owned: OwnedCommand = OwnedCommand::try_from(cmd).unwrap();
        assert_eq!(owned.as_command(), cmd);
    }

    #[test]
    fn refuses_text_that_does_not_fit() {
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
