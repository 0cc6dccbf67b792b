//! One call the phone tracks: its CallID and the agent's connection on it, its data, and the
//! other CallIDs it answers to.

use super::{Instant, Line, DEFAULT_VAR_BYTES, MAX_ALIASES};
use crate::wire::{CallType, LocalConnectionState};

/// The labels CallVar1 to CallVar10 are stored under.
pub(super) const CALL_VAR_NAMES: [&str; 10] = [
    "CallVar1",
    "CallVar2",
    "CallVar3",
    "CallVar4",
    "CallVar5",
    "CallVar6",
    "CallVar7",
    "CallVar8",
    "CallVar9",
    "CallVar10",
];

/// One call the phone tracks.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Call<const VAR_BYTES: usize = DEFAULT_VAR_BYTES> {
    /// CallID.
    pub id: u32,
    /// CallType.
    pub call_type: CallType,
    /// The agent's own connection state.
    pub state: LocalConnectionState,
    /// ConnectionDeviceType of the agent's connection.
    pub device_type: u16,
    /// ConnectionDeviceID of the agent's connection (`primary.actual` on a secondary line).
    pub device_id: heapless::String<64>,
    /// The agent's line the call is on.
    pub line: Line,
    /// ANI, if known.
    pub ani: heapless::String<40>,
    /// DNIS, if known.
    pub dnis: heapless::String<32>,
    /// DialedNumber, if known.
    pub dialed_number: heapless::String<40>,
    /// CallWrapupData, if known.
    pub wrap_up: heapless::String<40>,
    /// CalledPartyDisposition from BEGIN_CALL (echoed in SET_CALL_DATA_REQ).
    pub disposition: u16,
    /// When the phone began tracking the call.
    pub since: Instant,
    /// When the agent's connection went on hold, while it is held.
    pub held_since: Option<Instant>,
    /// Named variables, packed as `name\0value\0` pairs.
    pub(super) vars: heapless::Vec<u8, VAR_BYTES>,
    /// Tracked before the session was lost and not yet confirmed by the new session.
    pub(super) stale: bool,
    /// The agent has answered this call's preview reservation; it is not offered again.
    pub(super) preview_answered: bool,
    /// The agent's own device on this call as the last event naming it said (AlertingDeviceID,
    /// AnsweringDeviceID, ConnectionDeviceID…); empty while unknown.
    pub(super) own_device: heapless::String<64>,
    /// The call's destination connection is established (CALL_ESTABLISHED applied): a later
    /// CALL_ESTABLISHED for the same CallID belongs to another call.
    pub(super) answered: bool,
    /// Other CallIDs under which the server reports this call: a conference's secondary and
    /// connected-party CallIDs.
    pub(super) aliases: heapless::Vec<u32, MAX_ALIASES>,
}

impl<const VAR_BYTES: usize> Call<VAR_BYTES> {
    /// The named variables as (name, value) pairs. A named array element is named
    /// `Name[index]`.
    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut parts = self.vars.split(|b| *b == 0);
        core::iter::from_fn(move || {
            let name = parts.next()?;
            let value = parts.next()?;
            Some((
                core::str::from_utf8(name).ok()?,
                core::str::from_utf8(value).ok()?,
            ))
        })
    }

    /// CallVar1 to CallVar10 (`n` = 1..=10): kept in the call's variable storage under their
    /// labels, so that they cost RAM only when the server fills them.
    pub fn call_var(&self, n: u8) -> Option<&str> {
        let name = CALL_VAR_NAMES.get(usize::from(n).checked_sub(1)?)?;
        self.var(name)
    }

    /// The ECC (named) variables alone, without CallVar1-10.
    pub fn ecc_vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars().filter(|(n, _)| !CALL_VAR_NAMES.contains(n))
    }

    /// The value of the named variable `name`.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The other CallIDs under which the server reports this call (a conference's secondary
    /// and connected-party CallIDs).
    pub fn aliases(&self) -> &[u32] {
        &self.aliases
    }

    /// Whether events for `id` are about this call (its own CallID or one of its aliases).
    pub fn answers_to(&self, id: u32) -> bool {
        self.id == id || self.aliases.contains(&id)
    }

    /// Whether this is an outbound preview reservation (CallType CALLTYPE_RESERVATION or
    /// BAStatus `DO`): a call the phone never answers with ANSWER_CALL_REQ.
    pub fn is_reservation(&self) -> bool {
        self.call_type == CallType::Reservation || self.var("BAStatus") == Some("DO")
    }
}

/// Copy `src` into `dst`, keeping the longest prefix that fits on a character boundary.
pub(super) fn set_text<const N: usize>(dst: &mut heapless::String<N>, src: &str) {
    dst.clear();
    // The prefix fits, so this cannot fail.
    let _ = dst.push_str(prefix_within(src, N));
}

/// The longest prefix of `src` of at most `max` bytes that ends on a character boundary
/// (not generic over the destination's capacity: one copy serves every text field).
fn prefix_within(src: &str, max: usize) -> &str {
    let end = (0..=src.len().min(max))
        .rev()
        .find(|&i| src.is_char_boundary(i))
        .unwrap_or(0);
    src.get(..end).unwrap_or("")
}

const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/// `name[i]`, the key an array element is stored under. Written by hand rather than with
/// `write!`, which would link `core::fmt` into every phone image for this one name.
pub(super) fn indexed_name(name: &str, i: u8) -> Option<heapless::String<48>> {
    let mut key: heapless::String<48> = heapless::String::new();
    key.push_str(name).ok()?;
    key.push_str("[").ok()?;
    let digits = [i / 100, i / 10 % 10, i % 10];
    let first = match i {
        0..=9 => 2,
        10..=99 => 1,
        _ => 0,
    };
    for d in digits.iter().skip(first) {
        key.push_str(DIGITS.get(usize::from(*d))?).ok()?;
    }
    key.push_str("]").ok()?;
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::{indexed_name, set_text};

    #[test]
    fn indexed_name_writes_the_index_in_decimal_as_write_would() {
        for (i, want) in [
            (0, "v[0]"),
            (7, "v[7]"),
            (10, "v[10]"),
            (99, "v[99]"),
            (100, "v[100]"),
        ] {
            assert_eq!(indexed_name("v", i).as_deref(), Some(want));
        }
        assert_eq!(indexed_name("v", 255).as_deref(), Some("v[255]"));
        // 48 bytes at most, as the heapless string the key was written into before.
        assert_eq!(
            indexed_name(&"n".repeat(43), 255).map(|k| k.len()),
            Some(48)
        );
        assert_eq!(indexed_name(&"n".repeat(44), 255), None);
    }

    #[test]
    fn set_text_keeps_the_longest_prefix_that_fits_on_a_character_boundary() {
        let mut s: heapless::String<4> = heapless::String::new();
        set_text(&mut s, "old!");
        assert_eq!(s, "old!");
        set_text(&mut s, "ab");
        assert_eq!(s, "ab");
        set_text(&mut s, "abcdef");
        assert_eq!(s, "abcd");
        // 'é' is two bytes: "abé" is 4, "aéé" would be 5, so the second 'é' is dropped.
        set_text(&mut s, "abé");
        assert_eq!(s, "abé");
        set_text(&mut s, "aéé");
        assert_eq!(s, "aé");
        set_text(&mut s, "€€");
        assert_eq!(s, "€");
        set_text(&mut s, "");
        assert_eq!(s, "");
    }
}
