//! A configuration the phone did not take, told on the screen in the agent's words: which
//! field, why, and what the phone runs with instead. Short enough for a 128x64 display (31
//! characters a line) and a 320x240 one.

use core::fmt;

use crate::config::{ConfigError, IdleTimeoutError, HEARTBEAT_MAX_SECS, IDLE_TIMEOUT_MIN_SECS};

/// The configuration the phone runs with after it rejected one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Kept {
    /// The last configuration that passed validation (stored before, or running now).
    LastGood,
    /// The factory configuration: no good one was stored.
    Factory,
}

/// A configuration that failed `PhoneConfig::validate()`, as the screen tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConfigRejected {
    /// The first problem `validate()` found.
    pub error: ConfigError,
    /// What the phone runs with instead.
    pub kept: Kept,
}

/// What the phone uses instead, the third line.
pub(super) fn kept(kept: Kept) -> &'static str {
    match kept {
        Kept::LastGood => "Using the last good one",
        Kept::Factory => "Using factory settings",
    }
}

/// `field: why`, the second line: the field as the configuration file names it.
pub(super) struct Problem(pub(super) ConfigError);

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.0.field())?;
        let side = |server: usize| if server == 0 { "A" } else { "B" };
        match self.0 {
            ConfigError::TextTooLong { .. } => f.write_str("too long"),
            ConfigError::NoServer => f.write_str("none given"),
            ConfigError::PortZero { server } => write!(f, "side {} port 0", side(server)),
            ConfigError::BadHost { server, .. } => write!(f, "side {} bad name", side(server)),
            ConfigError::ProtocolVersion { version } => write!(f, "{version} unknown"),
            ConfigError::V18LengthWidth { width } => write!(f, "{width}, not 1 or 2"),
            ConfigError::HeartbeatTooLong { .. } => write!(f, "over {HEARTBEAT_MAX_SECS} s"),
            ConfigError::IdleTimeout(IdleTimeoutError::BelowServerMinimum { .. }) => {
                write!(f, "under {IDLE_TIMEOUT_MIN_SECS} s")
            }
            // Two heartbeats do not fit in it (`ccx config check` says it in full).
            ConfigError::IdleTimeout(IdleTimeoutError::BelowTwiceHeartbeat { .. }) => {
                f.write_str("too short")
            }
            ConfigError::IdleTimeout(IdleTimeoutError::TooLong { .. }) => f.write_str("too long"),
            ConfigError::TimerTooShort { .. } => f.write_str("too short"),
        }
    }
}
