//! [`AgentReason`]: why the agent is in its state, as the EventReasonCode of
//! AGENT_STATE_EVENT and SET_AGENT_STATE_REQ carries it: nothing, one of Unified CCX's system
//! reasons, or a Not Ready / logout reason code the administrator configured.

use core::fmt;

use crate::wire::EventReasonCode;

/// An EventReasonCode as the agent phone reads it (wire-session.md §5.10,
/// <https://developer.cisco.com/docs/contact-center-express/reason-codes-for-agent-state-change>).
///
/// [`Self::from_code`] sorts a wire number into its variant and [`Self::code`] gives it back
/// unchanged, so a reason goes out exactly as it came in. Two reasons are equal when their
/// codes are (`Configured(32760)` equals `System(EventReasonCode::Logon)`).
#[derive(Debug, Clone, Copy, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AgentReason {
    /// Code 0: no reason given.
    #[default]
    None,
    /// A reason Unified CCX itself gives (the codes its table names, 32741 to 32767).
    System(EventReasonCode),
    /// Any other code: a Not Ready or logout reason the administrator configured, shown by
    /// its label from the application's [`crate::config::Vocabulary`].
    Configured(u16),
}

impl AgentReason {
    /// The reason a wire number stands for.
    pub const fn from_code(code: u16) -> Self {
        Self::from_event_code(EventReasonCode::from_value(code))
    }

    /// The reason a decoded EventReasonCode stands for (sorted already: no second look-up).
    #[inline]
    pub const fn from_event_code(code: EventReasonCode) -> Self {
        match code {
            EventReasonCode::Unknown(0) => Self::None,
            EventReasonCode::Unknown(n) => Self::Configured(n),
            system => Self::System(system),
        }
    }

    /// The wire number (0 for none).
    #[inline]
    pub const fn code(self) -> u16 {
        match self {
            Self::None => 0,
            Self::System(s) => s.value(),
            Self::Configured(n) => n,
        }
    }

    /// Whether no reason is given (code 0).
    pub const fn is_none(self) -> bool {
        self.code() == 0
    }

    /// A system reason in the agent's words (`None` for no reason and for the
    /// administrator's codes, which have labels instead).
    pub fn words(self) -> Option<&'static str> {
        use EventReasonCode as R;
        // Sorted again: `Configured(32760)` is the system's 32760 all the same.
        let Self::System(system) = Self::from_code(self.code()) else {
            return None;
        };
        Some(match system {
            R::Relogon => "Logged in again",
            R::ConnDown => "Desktop connection lost",
            R::CcxFailure => "Contact center failure",
            R::Rna => "Call not answered",
            R::Offhook => "Phone off hook",
            R::NonIcd => "Non-business call",
            R::Logon => "Logged in",
            R::PhoneDown => "Phone out of service",
            R::WorkTimerExp => "Wrap-up time over",
            R::CmFailover => "Call Manager failover",
            R::PhoneUp => "Phone back in service",
            R::CallEnded => "Call ended",
            R::DeviceRestricted => "Phone restricted",
            R::LineRestricted => "Line restricted",
            R::CancelReservation => "Preview reservation cancelled",
            R::Skips => "Preview call skipped",
            R::IcdExtensionChanged => "Extension changed",
            R::CancelConsult => "Consult cancelled",
            R::ReservedOutbound => "Reserved for an outbound call",
            R::ReservedOutboundDirectpreview => "Reserved for a preview call",
            R::EmailContactNotAccepted => "Email not accepted",
            R::SecLineOffhook => "Other line in use",
            R::ExtensionConflict => "Extension taken by another agent",
            R::Unknown(_) => return None,
        })
    }

    /// The reason for people: `label` (from the vocabulary) when given,
    /// else the system reason's words, else "reason 7"; "no reason" for none.
    pub const fn text(self, label: Option<&str>) -> ReasonText<'_> {
        ReasonText {
            reason: self,
            label,
        }
    }
}

/// By code; the common pairs first, as every AGENT_STATE_EVENT compares its reason.
impl PartialEq for AgentReason {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::None, Self::None) => true,
            (Self::Configured(a), Self::Configured(b)) => a == b,
            _ => same_code(*self, *other),
        }
    }
}

/// The rest of `==`, cold and out of line: `eq` is inlined where reasons are compared, and
/// each copy of `code` carries EventReasonCode's 23-arm table.
#[cold]
#[inline(never)]
fn same_code(a: AgentReason, b: AgentReason) -> bool {
    a.code() == b.code()
}

impl Eq for AgentReason {}

impl core::hash::Hash for AgentReason {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.code().hash(state);
    }
}

impl From<u16> for AgentReason {
    fn from(code: u16) -> Self {
        Self::from_code(code)
    }
}

impl From<AgentReason> for u16 {
    fn from(reason: AgentReason) -> u16 {
        reason.code()
    }
}

impl From<EventReasonCode> for AgentReason {
    #[inline]
    fn from(code: EventReasonCode) -> Self {
        Self::from_event_code(code)
    }
}

impl From<AgentReason> for EventReasonCode {
    fn from(reason: AgentReason) -> Self {
        match reason {
            AgentReason::System(s) => s,
            other => EventReasonCode::from_value(other.code()),
        }
    }
}

/// Without a vocabulary: the system reason's words, else "reason 7"; "no reason" for none.
impl fmt::Display for AgentReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.text(None).fmt(f)
    }
}

/// An [`AgentReason`] with its vocabulary label, for people (see [`AgentReason::text`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReasonText<'a> {
    reason: AgentReason,
    label: Option<&'a str>,
}

impl fmt::Display for ReasonText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.label, self.reason.words()) {
            (Some(label), _) => f.write_str(label),
            (None, Some(words)) => f.write_str(words),
            (None, None) if self.reason.is_none() => f.write_str("no reason"),
            (None, None) => write!(f, "reason {}", self.reason.code()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AgentReason;
    use crate::wire::EventReasonCode;

    /// `==` is equality of codes for every pair of variants, including the shortcuts.
    #[test]
    fn reasons_are_equal_exactly_when_their_codes_are() {
        let codes = [0u16, 1, 5, 12, 32740, 32741, 32751, 32760, 32767, u16::MAX];
        let mut reasons = std::vec![AgentReason::None];
        for code in codes {
            reasons.push(AgentReason::Configured(code));
            reasons.push(AgentReason::System(EventReasonCode::from_value(code)));
            reasons.push(AgentReason::System(EventReasonCode::Unknown(code)));
            reasons.push(AgentReason::from_code(code));
        }
        for a in &reasons {
            for b in &reasons {
                assert_eq!(a == b, a.code() == b.code(), "{a:?} vs {b:?}");
            }
        }
    }
}
