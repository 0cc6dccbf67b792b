//! The wire layer: framing, decoding and encoding of Unified CCX CTI messages.
//!
//! A frame is an 8-byte header (`MessageLength` of the body, then `MessageType`, both
//! big-endian UINTs) and a body: a fixed part in a fixed order, then floating fields
//! (tag, length, data) in any order. Everything here borrows: [`decode`] checks a frame once
//! and returns a [`Message`] view whose accessors cannot panic; [`Encoder`] writes into a
//! caller's buffer and reports `BufferTooSmall { needed }` instead of growing.
//!
//! Every message is declared once, in the generated protocol table ([`MESSAGES`], [`TAGS`],
//! the enumerations and the typed handles in [`fields`]). Decode, encode, trace text and
//! lookup by name all read that table. Decode and encode read it through what code generation
//! works out from it: a packed plan per message ([`PLANS`]: fixed-part sizes, the encoder's
//! template, the counts to check and fill) and tag and message indexes, so they do no lookup
//! by search and link none of the names (feature `names`, on by default, carries them).
//!
//! Contract, as in smoltcp's `wire`: after [`decode`] returns `Ok`, no accessor panics; the
//! encoder never writes past the buffer it was given.

pub(crate) mod decode;
mod encode;
mod frame;
#[rustfmt::skip]
#[allow(clippy::all, missing_docs, unused_imports)]
mod generated;
pub mod spec;

pub use decode::{
    decode, DecodeError, DecodeErrorKind, FloatingField, FloatingFields, Message, NamedVar,
    NamedVars,
};
pub use encode::{EncodeError, Encoder};
pub use frame::{FeedResult, FrameAccumulator, FrameError, DEFAULT_FRAME_CAPACITY, HEADER_LEN};
pub use generated::*;
pub use spec::{message_def, message_name, message_plan, tag_def, tag_name};
#[cfg(feature = "names")]
pub use spec::{message_named, tag_named};

use core::marker::PhantomData;

/// The width of a floating field's length under protocol version 18.
///
/// UNCONFIRMED: the Unified CCX pages print the v18 FieldLength as a UCHAR (1 byte) while
/// Unified CCE moved to 2 bytes with protocol 20 (wire-session.md §1.5). The project follows
/// the Unified CCX pages; [`WireVersion::with_v18_length_width`] changes it per session.
pub const V18_LENGTH_WIDTH_DEFAULT: u8 = 1;

/// The protocol version a session negotiated, and with it the floating-field widths.
///
/// Versions 10–17 use a 1-byte tag and a 1-byte length; version 18 and later a 2-byte tag and a
/// length whose width is a setting ([`V18_LENGTH_WIDTH_DEFAULT`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct WireVersion {
    number: u32,
    tag_width: u8,
    length_width: u8,
}

impl WireVersion {
    /// The version the phone asks for by default.
    pub const DEFAULT: WireVersion = WireVersion::new(17);
    /// Oldest version Unified CCX accepts.
    pub const MIN: u32 = 10;
    /// Newest version Unified CCX accepts.
    pub const MAX: u32 = 18;

    /// The widths for protocol version `number`.
    pub const fn new(number: u32) -> Self {
        if number >= 18 {
            WireVersion {
                number,
                tag_width: 2,
                length_width: V18_LENGTH_WIDTH_DEFAULT,
            }
        } else {
            WireVersion {
                number,
                tag_width: 1,
                length_width: 1,
            }
        }
    }

    /// The same version with another v18 length width (1 or 2 bytes; other values are taken
    /// as 2). Has no effect before version 18.
    pub const fn with_v18_length_width(self, width: u8) -> Self {
        if self.number >= 18 {
            WireVersion {
                length_width: if width == 1 { 1 } else { 2 },
                ..self
            }
        } else {
            self
        }
    }

    /// The protocol version number.
    pub const fn number(self) -> u32 {
        self.number
    }

    /// Bytes of a floating field's tag.
    pub const fn tag_width(self) -> usize {
        self.tag_width as usize
    }

    /// Bytes of a floating field's length.
    pub const fn length_width(self) -> usize {
        self.length_width as usize
    }

    /// Bytes of a floating field's tag and length together.
    pub const fn field_header_len(self) -> usize {
        self.tag_width() + self.length_width()
    }

    /// The largest data length one floating field can carry.
    pub const fn max_field_len(self) -> usize {
        if self.length_width == 1 {
            0xFF
        } else {
            0xFFFF
        }
    }
}

impl Default for WireVersion {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A value that a fixed-part field holds: an integer, a bool or an enumeration.
pub trait FixedValue: Copy {
    /// The wire type.
    const TYPE: spec::FixedType;
    /// From the raw value read off the wire (zero-extended).
    fn from_raw(raw: u32) -> Self;
    /// To the raw value written on the wire (truncated to the type's size).
    fn to_raw(self) -> u32;
}

macro_rules! fixed_int {
    ($t:ty, $ft:ident, $from:expr, $to:expr) => {
        impl FixedValue for $t {
            const TYPE: spec::FixedType = spec::FixedType::$ft;
            fn from_raw(raw: u32) -> Self {
                $from(raw)
            }
            fn to_raw(self) -> u32 {
                $to(self)
            }
        }
    };
}

fixed_int!(u32, Uint, |r| r, |v| v);
fixed_int!(i32, Int, |r: u32| r as i32, |v: i32| v as u32);
fixed_int!(
    u16,
    Ushort,
    |r: u32| u16::try_from(r & 0xFFFF).unwrap_or(u16::MAX),
    u32::from
);
fixed_int!(
    i16,
    Short,
    |r: u32| u16::try_from(r & 0xFFFF).unwrap_or(u16::MAX) as i16,
    |v: i16| u32::from(v as u16)
);
fixed_int!(
    u8,
    Uchar,
    |r: u32| u8::try_from(r & 0xFF).unwrap_or(u8::MAX),
    u32::from
);
fixed_int!(bool, Bool, |r: u32| r != 0, u32::from);

/// A typed handle of one fixed field of one message (generated in [`fields`]).
///
/// `Message::get(handle)` reads it, `Encoder::set(handle, value)` writes it; a handle of
/// another message, or of a field the session's version lacks, reads as `None`.
pub struct Fixed<T> {
    message: u32,
    offset: u16,
    since_version: u8,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for Fixed<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Fixed<T> {}

impl<T> core::fmt::Debug for Fixed<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Fixed(message {}, offset {})", self.message, self.offset)
    }
}

impl<T> Fixed<T> {
    /// A handle of the field at `offset` of message `message`.
    pub const fn new(message: u32, offset: u16, since_version: u8) -> Self {
        Fixed {
            message,
            offset,
            since_version,
            _type: PhantomData,
        }
    }

    /// The message type number the field belongs to.
    pub const fn message(&self) -> u32 {
        self.message
    }

    /// The body offset of the field.
    pub const fn offset(&self) -> usize {
        self.offset as usize
    }

    /// First protocol version with the field.
    pub const fn since_version(&self) -> u32 {
        self.since_version as u32
    }
}

/// Read a big-endian unsigned integer of `size` (1, 2 or 4) bytes at `offset`.
#[inline]
pub(crate) fn read_uint(bytes: &[u8], offset: usize, size: usize) -> Option<u32> {
    let s = bytes.get(offset..)?;
    // The three sizes the protocol has, without a loop; any other size byte by byte.
    match size {
        1 => s.first().map(|b| u32::from(*b)),
        2 => s
            .first_chunk::<2>()
            .map(|c| u32::from(u16::from_be_bytes(*c))),
        4 => s.first_chunk::<4>().map(|c| u32::from_be_bytes(*c)),
        _ => Some(
            s.get(..size)?
                .iter()
                .fold(0u32, |acc, b| (acc << 8) | u32::from(*b)),
        ),
    }
}

/// Write the low `size` (1, 2 or 4) bytes of `value` big-endian at `offset`.
#[inline]
pub(crate) fn write_uint(bytes: &mut [u8], offset: usize, size: usize, value: u32) -> bool {
    let [b0, b1, b2, b3] = value.to_be_bytes();
    match size {
        1 => put(bytes, offset, [b3]),
        2 => put(bytes, offset, [b2, b3]),
        4 => put(bytes, offset, [b0, b1, b2, b3]),
        _ => false,
    }
}

/// The position of the first NUL byte of `text`, eight bytes at a time (names and values are
/// short: this beats both a byte loop and a memchr call).
#[inline]
pub(crate) fn find_nul(text: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut words = text.chunks_exact(8);
    let mut at = 0;
    for w in &mut words {
        let v = u64::from_le_bytes(w.try_into().unwrap_or([1; 8]));
        // The lowest byte flagged here is the first zero byte (a flag above a zero byte may
        // be false, one below it never is).
        let zeros = v.wrapping_sub(ONES) & !v & HIGH;
        if zeros != 0 {
            return Some(at + (zeros.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|b| *b == 0)
        .map(|i| at + i)
}

/// Write `value` at `offset` if it fits.
#[inline]
pub(crate) fn put<const N: usize>(bytes: &mut [u8], offset: usize, value: [u8; N]) -> bool {
    match bytes
        .get_mut(offset..)
        .and_then(|s| s.first_chunk_mut::<N>())
    {
        Some(dst) => {
            *dst = value;
            true
        }
        None => false,
    }
}

#[cfg(feature = "defmt")]
impl<T> defmt::Format for Fixed<T> {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(f, "Fixed(message {}, offset {})", self.message, self.offset)
    }
}

#[cfg(all(test, feature = "names"))]
mod tests {
    use super::*;

    /// Every named value converts to its variant and back, and every other number to
    /// `Unknown`, whichever way the enumeration converts (match or tables).
    macro_rules! round_trip {
        ($($t:ident: $rt:ty),* $(,)?) => {$(
            for v in $t::DEF.values {
                let n = <$rt>::try_from(v.value).unwrap();
                let e = $t::from_value(n);
                assert!(!matches!(e, $t::Unknown(_)), "{} {}", stringify!($t), v.value);
                assert_eq!(e.value(), n, "{} {}", stringify!($t), v.value);
                assert_eq!(e.name(), Some(v.name));
            }
            // Small numbers, the neighbours of every named value, and the extremes (quick
            // enough for Miri).
            let near = $t::DEF.values.iter().flat_map(|v| [v.value.wrapping_sub(1), v.value.wrapping_add(1)]);
            let unnamed = (0..300u32)
                .chain(near)
                .chain([0xFFFF, 0x1_0000, u32::MAX])
                .filter(|n| $t::DEF.values.iter().all(|v| v.value != *n))
                .filter_map(|n| <$rt>::try_from(n).ok());
            for n in unnamed {
                assert_eq!($t::from_value(n), $t::Unknown(n), "{} {n}", stringify!($t));
            }
        )*};
    }

    #[test]
    fn enumerations_convert_both_ways() {
        round_trip!(
            EventCause: u16, CallType: u16, StatusCode: u32, PeripheralErrorCode: u32,
            EventReasonCode: u16, AgentState: u16, DeviceType: u16, LineType: u16,
            SystemEventID: u32, LocalConnectionState: u16,
        );
    }

    #[test]
    fn message_types_convert_both_ways() {
        for m in MESSAGES {
            assert_eq!(MessageType::from_id(m.id).id(), m.id);
            assert!(!matches!(
                MessageType::from_id(m.id),
                MessageType::Unknown(_)
            ));
        }
        for n in [0, 2, 245, 1000, u32::MAX] {
            if message_def(n).is_none() {
                assert_eq!(MessageType::from_id(n), MessageType::Unknown(n));
            }
        }
    }
}
