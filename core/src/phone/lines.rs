//! The agent's lines: device IDs in "primary.actual" form and which line a call is on.
//!
//! From protocol version 14, a call on a non-ICD secondary line of a logged-in agent names
//! its devices as the agent's primary (ICD) extension, a dot and the extension actually used
//! (`1000.1001`), with DeviceType 78 (DEVID_NON_ACD_DEVICE_IDENTIFIER); ConnectionDeviceID,
//! the event's own device fields, ANI, DNIS and DialedNumber may all take that form
//! (<https://developer.cisco.com/docs/contact-center-express/primary-actual-field-format>,
//! <https://developer.cisco.com/docs/contact-center-express/general-rules>). The phone
//! recognises its own device in either form and keeps, per call, the line it is on.

use super::{Call, Engine};

/// Which of the agent's lines a call's own connection is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Line {
    /// The agent's ACD (ICD) extension, or a call whose own connection is not known yet.
    #[default]
    Primary,
    /// A non-ICD secondary line: the device is `primary.actual`;
    /// [`Call::actual_device`] gives the extension used.
    Secondary,
}

/// `primary.actual` split at its dot; `None` for a plain device ID.
pub(super) fn split_primary_actual(device: &str) -> Option<(&str, &str)> {
    device
        .split_once('.')
        .filter(|(p, a)| !p.is_empty() && !a.is_empty())
}

impl<const VAR_BYTES: usize> Call<VAR_BYTES> {
    /// The agent's own device on this call as the server named it (either form); empty
    /// while no event has named it.
    pub fn own_device(&self) -> &str {
        &self.own_device
    }

    /// The extension the agent's connection actually uses: the part after the dot of a
    /// `primary.actual` device, else the whole device ID.
    pub fn actual_device(&self) -> &str {
        let device = if self.own_device.is_empty() {
            &self.device_id
        } else {
            &self.own_device
        };
        split_primary_actual(device).map_or(device.as_str(), |(_, a)| a)
    }
}

impl<
        const CALLS: usize,
        const VAR_BYTES: usize,
        const PENDING: usize,
        const TX: usize,
        const EVENTS: usize,
    > Engine<CALLS, VAR_BYTES, PENDING, TX, EVENTS>
{
    /// Whether `device` is exactly the agent's extension or instrument.
    fn is_my_plain_device(&self, device: &str) -> bool {
        !device.is_empty()
            && (device == self.config.agent_extension.as_str()
                || device == self.config.instrument())
    }

    /// Whether `device` is the agent's: its extension or instrument, plain or as the primary
    /// part of `primary.actual`.
    pub(super) fn is_my_device(&self, device: &str) -> bool {
        self.is_my_plain_device(device)
            || split_primary_actual(device).is_some_and(|(p, _)| self.is_my_plain_device(p))
    }

    /// The line of one of the agent's devices: `""` for the primary line, the actual
    /// extension for a secondary one; `None` when the device is not the agent's.
    pub(super) fn line_key<'d>(&self, device: &'d str) -> Option<&'d str> {
        if self.is_my_plain_device(device) {
            return Some("");
        }
        match split_primary_actual(device) {
            Some((p, a)) if self.is_my_plain_device(p) => {
                Some(if self.is_my_plain_device(a) { "" } else { a })
            }
            _ => None,
        }
    }

    /// The [`Line`] of one of the agent's devices (primary when it is not the agent's).
    pub(super) fn line_of(&self, device: &str) -> Line {
        match self.line_key(device) {
            Some(key) if !key.is_empty() => Line::Secondary,
            _ => Line::Primary,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PhoneConfig;
    use crate::phone::Phone;

    fn phone() -> Phone {
        Phone::new(PhoneConfig {
            agent_extension: "1000".try_into().unwrap_or_default(),
            ..PhoneConfig::default()
        })
    }

    // The page's own example: primary 1000, actual 1001
    // (https://developer.cisco.com/docs/contact-center-express/primary-actual-field-format).
    #[test]
    fn the_agents_device_is_recognised_in_either_form() {
        let p = phone();
        assert!(p.is_my_device("1000"));
        assert!(p.is_my_device("1000.1001"));
        assert!(!p.is_my_device("1001"));
        assert!(!p.is_my_device("2000.1000"));
        assert!(!p.is_my_device("1000."));
        assert_eq!(p.line_key("1000"), Some(""));
        assert_eq!(p.line_key("1000.1001"), Some("1001"));
        assert_eq!(p.line_key("1000.1000"), Some(""));
        assert_eq!(p.line_of("1000.1001"), Line::Secondary);
        assert_eq!(p.line_of("1000"), Line::Primary);
        let mut call: Call = Call::new(1);
        call.device_id = "1000.1001".try_into().unwrap_or_default();
        assert_eq!(call.actual_device(), "1001");
        call.own_device = "1000".try_into().unwrap_or_default();
        assert_eq!(call.actual_device(), "1000");
    }
}
