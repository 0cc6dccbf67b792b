//! The phone's capacities by name: [`phone_type!`](crate::phone_type) names a phone type
//! with each capacity spelled out and checks them against their minimums at compile time.
//!
//! | capacity | default | minimum | RAM each | running out |
//! |---|---|---|---|---|
//! | `calls`: calls tracked at once | [`DEFAULT_CALLS`] (4) | [`MIN_CALLS`] (1) | 408 B + `var_bytes` | [`Event::CallTableFull`] |
//! | `var_bytes`: bytes of named variables (ECC, BA*) per call | [`DEFAULT_VAR_BYTES`] (512) | 0 (no ECC variables, no preview card) | 1 B per call | [`Event::VariableStorageFull`] |
//! | `pending`: requests awaiting their confirmation | [`DEFAULT_PENDING`] (8) | [`MIN_PENDING`] (2: the resynchronisation after OPEN_CONF sends two) | 24 B | [`CommandError::TooManyPending`] |
//! | `tx_bytes`: the transmit queue, frames encoded straight into it | [`DEFAULT_TX_BYTES`] (1,024) | [`MIN_TX_BYTES`] (128); it must hold the configuration's OPEN_REQ: 85 B plus the identity fields' lengths | 1 B | [`CommandError::TransmitQueueFull`]; a frame longer than the queue: [`Event::TransmitBufferTooSmall`] |
//! | `events`: events waiting for `poll_event` | [`DEFAULT_EVENTS`] (16) | [`MIN_EVENTS`] (1) | 48 B | the oldest dropped, then [`Event::EventsLost`] |
//! | `frame_bytes`: the largest frame taken in (the phone's frame accumulator) | 12,500 (the protocol's largest) | [`MIN_FRAME_BYTES`] (512) | 1 B | `SessionLost` with `FramingError` |
//!
//! The default [`Phone`] takes about 6.8 KB without its frame accumulator (within 8 KiB, a
//! test keeps it there) and 19.3 KB with it.
//! `core::mem::size_of` of a named type is its exact RAM.

#[cfg(doc)]
use super::{CommandError, Event, Phone};
#[cfg(doc)]
use super::{DEFAULT_CALLS, DEFAULT_EVENTS, DEFAULT_PENDING, DEFAULT_TX_BYTES, DEFAULT_VAR_BYTES};

/// Fewest calls a phone can track: with none, every call would be [`Event::CallTableFull`].
pub const MIN_CALLS: usize = 1;
/// Fewest pending requests: after OPEN_CONF the phone asks for the agent's state and the
/// device's calls at once.
pub const MIN_PENDING: usize = 2;
/// Smallest transmit queue: an OPEN_REQ with short identity fields (85 bytes) and a heartbeat.
/// A configuration with longer fields needs more; the phone reports a queue shorter than its
/// OPEN_REQ ([`Event::TransmitBufferTooSmall`], then `SessionLost` with
/// `InvalidConfiguration`).
pub const MIN_TX_BYTES: usize = 128;
/// Fewest queued events: the queue keeps the newest and counts the dropped.
pub const MIN_EVENTS: usize = 1;
/// Smallest frame accumulator: the session's own answers (OPEN_CONF, agent state, call
/// events without variables) fit. A frame longer than the accumulator ends the session
/// (`SessionLost` with `FramingError`), so size it for the calls' variables: the protocol's
/// largest frame is [`DEFAULT_FRAME_CAPACITY`](crate::wire::DEFAULT_FRAME_CAPACITY) bytes.
pub const MIN_FRAME_BYTES: usize = 512;

/// Name a [`Phone`](crate::phone::Phone) type with its capacities spelled out, checked
/// against their minimums when the crate compiles.
///
/// ```
/// ccx_cti::phone_type! {
///     /// One call at a time, for a small MCU.
///     pub type SmallPhone = Phone {
///         calls: 1,       // 408 B + var_bytes each
///         var_bytes: 128, // ECC and BA* variables per call
///         pending: 2,     // requests awaiting their confirmation, 24 B each
///         tx_bytes: 256,  // transmit queue
///         events: 4,      // 48 B each
///         frame_bytes: 2048, // the largest frame taken in
///     };
/// }
/// let phone = SmallPhone::new(ccx_cti::config::PhoneConfig::default());
/// assert!(core::mem::size_of::<SmallPhone>() <= 2560 + 2064);
/// # drop(phone);
/// ```
///
/// A capacity below its minimum does not compile:
///
/// ```compile_fail
/// ccx_cti::phone_type! {
///     type TooSmall = Phone {
///         calls: 1, var_bytes: 0, pending: 2, tx_bytes: 64, events: 4, frame_bytes: 2048,
///     };
/// }
/// ```
#[macro_export]
macro_rules! phone_type {
    (
        $(#[$meta:meta])*
        $vis:vis type $name:ident = Phone {
            calls: $calls:expr,
            var_bytes: $var_bytes:expr,
            pending: $pending:expr,
            tx_bytes: $tx_bytes:expr,
            events: $events:expr,
            frame_bytes: $frame_bytes:expr $(,)?
        };
    ) => {
        $(#[$meta])*
        $vis type $name =
            $crate::phone::Phone<
                { $calls },
                { $var_bytes },
                { $pending },
                { $tx_bytes },
                { $events },
                { $frame_bytes },
            >;
        const _: () = {
            assert!($calls >= $crate::phone::MIN_CALLS, "calls: below phone::MIN_CALLS");
            assert!($pending >= $crate::phone::MIN_PENDING, "pending: below phone::MIN_PENDING");
            assert!($tx_bytes >= $crate::phone::MIN_TX_BYTES, "tx_bytes: below phone::MIN_TX_BYTES");
            assert!($events >= $crate::phone::MIN_EVENTS, "events: below phone::MIN_EVENTS");
            assert!(
                $frame_bytes >= $crate::phone::MIN_FRAME_BYTES,
                "frame_bytes: below phone::MIN_FRAME_BYTES"
            );
        };
    };
}
