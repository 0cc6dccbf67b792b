//! Parsing trace text and encoding it straight into a caller's buffer.

use core::fmt;

use super::lookup::{resolve_field, FieldRef};
use super::render::looks_like_hex;
use super::{is_numeric, EXPANDED_CALL_CONTEXT};
use crate::wire::spec::{self, EnumDef, FixedType, Layout, MessageDef, TagType};
use crate::wire::{EncodeError, Encoder, MessageType, WireVersion};

/// Longest field label kept in a [`ParseError`].
const LABEL_CAP: usize = 48;

/// What is wrong with a line of trace text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// A field line came before any `MsgType:` line.
    ExpectedMsgType,
    /// The line is not `Label: value`.
    MissingColon,
    /// `MsgType:` names no known message.
    UnknownMessageType,
    /// The label is not a field of the message (and no `ExpandedCallContxt` line came before).
    UnknownField {
        /// The message.
        message: &'static str,
        /// The label (cut to 48 bytes).
        label: heapless::String<LABEL_CAP>,
    },
    /// The value does not fit the field.
    BadValue {
        /// The label (cut to 48 bytes).
        label: heapless::String<LABEL_CAP>,
        /// What the field takes.
        expected: &'static str,
    },
    /// The field does not exist under the protocol version being encoded.
    NotInVersion {
        /// The label (cut to 48 bytes).
        label: heapless::String<LABEL_CAP>,
    },
    /// The message could not be encoded (buffer too small, value too long…).
    Encode(EncodeError),
}

/// A line of trace text that cannot be read, with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ParseError {
    /// 1-based line number in the text given to the parser.
    pub line: usize,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        match &self.kind {
            ParseErrorKind::ExpectedMsgType => f.write_str("expected a `MsgType: NAME` line"),
            ParseErrorKind::MissingColon => f.write_str("expected `Field: value`"),
            ParseErrorKind::UnknownMessageType => f.write_str("unknown message type"),
            ParseErrorKind::UnknownField { message, label } => {
                write!(f, "unknown field `{label}` in {message} (named variables need an `{EXPANDED_CALL_CONTEXT}:` line before them)")
            }
            ParseErrorKind::BadValue { label, expected } => {
                write!(f, "bad value for `{label}`: expected {expected}")
            }
            ParseErrorKind::NotInVersion { label } => {
                write!(
                    f,
                    "`{label}` is not part of the message under this protocol version"
                )
            }
            ParseErrorKind::Encode(e) => write!(f, "cannot encode the message: {e}"),
        }
    }
}

impl core::error::Error for ParseError {}

pub(super) fn cut(label: &str) -> heapless::String<LABEL_CAP> {
    let mut s = heapless::String::new();
    for c in label.chars() {
        if s.push(c).is_err() {
            break;
        }
    }
    s
}

/// One meaningful line: its number, indentation and trimmed text.
#[derive(Debug, Clone, Copy)]
struct Line<'t> {
    number: usize,
    indent: usize,
    text: &'t str,
}

/// Reads messages from trace text one after another.
///
/// ```
/// use ccx_cti::trace::TextParser;
/// use ccx_cti::wire::WireVersion;
/// let text = "MsgType: HEARTBEAT_REQ\n  InvokeID: 7\n";
/// let mut buf = [0u8; 64];
/// let mut parser = TextParser::new(text);
/// let n = parser.next_message(&mut buf, WireVersion::DEFAULT).unwrap().unwrap();
/// assert_eq!(&buf[..n], &[0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 7]);
/// assert!(parser.next_message(&mut buf, WireVersion::DEFAULT).is_none());
/// ```
#[derive(Debug, Clone)]
pub struct TextParser<'t> {
    lines: core::iter::Enumerate<Lines<'t>>,
    peeked: Option<Line<'t>>,
}

/// The text's lines, numbered from 0.
type Lines<'t> = core::str::Split<'t, fn(char) -> bool>;

fn is_newline(c: char) -> bool {
    c == '\n'
}

impl<'t> TextParser<'t> {
    /// A parser over `text` (line numbers count from its first line).
    pub fn new(text: &'t str) -> Self {
        TextParser {
            // Split on '\n' by predicate rather than `lines()`: the same lines here (blank
            // ones and a trailing '\r' are dropped by `trim`), without the memchr search
            // whose bounds checks keep a panic path in firmware images.
            lines: text.split(is_newline as fn(char) -> bool).enumerate(),
            peeked: None,
        }
    }

    fn next_line(&mut self) -> Option<Line<'t>> {
        if let Some(l) = self.peeked.take() {
            return Some(l);
        }
        for (i, raw) in self.lines.by_ref() {
            let text = raw.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            let indent = raw.len() - raw.trim_start().len();
            return Some(Line {
                number: i + 1,
                indent,
                text,
            });
        }
        None
    }

    /// Encode the next message into `buf` under `version`; returns the frame's length, or
    /// `None` at the end of the text.
    pub fn next_message(
        &mut self,
        buf: &mut [u8],
        version: WireVersion,
    ) -> Option<Result<usize, ParseError>> {
        let first = self.next_line()?;
        let Some(name) = split_field(first.text)
            .filter(|(l, _)| *l == "MsgType")
            .map(|(_, v)| v)
        else {
            return Some(Err(ParseError {
                line: first.number,
                kind: ParseErrorKind::ExpectedMsgType,
            }));
        };
        let def = match resolve_message(name) {
            Some(d) => d,
            None => {
                return Some(Err(ParseError {
                    line: first.number,
                    kind: ParseErrorKind::UnknownMessageType,
                }))
            }
        };
        let mut state = MessageState::new(buf, def, version);
        while let Some(line) = self.next_line() {
            if line.indent <= first.indent {
                self.peeked = Some(line);
                break;
            }
            let result = state
                .field(line.text)
                .and_then(|()| match state.enc.error() {
                    Some(e) => Err(ParseErrorKind::Encode(e)),
                    None => Ok(()),
                });
            if let Err(kind) = result {
                // Skip the rest of this message so the next call starts at a MsgType line.
                while let Some(l) = self.next_line() {
                    if l.indent <= first.indent {
                        self.peeked = Some(l);
                        break;
                    }
                }
                return Some(Err(ParseError {
                    line: line.number,
                    kind,
                }));
            }
        }
        Some(state.finish().map_err(|e| ParseError {
            line: first.number,
            kind: ParseErrorKind::Encode(e),
        }))
    }
}

/// Encode exactly the first message of `text` into `buf`.
pub fn parse_message(
    text: &str,
    buf: &mut [u8],
    version: WireVersion,
) -> Result<usize, ParseError> {
    match TextParser::new(text).next_message(buf, version) {
        Some(r) => r,
        None => Err(ParseError {
            line: 1,
            kind: ParseErrorKind::ExpectedMsgType,
        }),
    }
}

/// `Label: value` -> (label, value), both trimmed.
fn split_field(text: &str) -> Option<(&str, &str)> {
    let (label, value) = text.split_once(':')?;
    Some((label.trim(), value.trim()))
}

/// A message by name, alias, or number.
fn resolve_message(name: &str) -> Option<MessageResolved> {
    if let Some(def) = spec::message_named(name) {
        return Some(MessageResolved {
            ty: MessageType::from_id(def.id),
            def: Some(def),
        });
    }
    let id: u32 = name.parse().ok()?;
    Some(MessageResolved {
        ty: MessageType::from_id(id),
        def: spec::message_def(id),
    })
}

#[derive(Debug, Clone, Copy)]
struct MessageResolved {
    ty: MessageType,
    def: Option<&'static MessageDef>,
}

/// Encoding state of one message being parsed.
struct MessageState<'b> {
    enc: Encoder<'b>,
    def: Option<&'static MessageDef>,
    layout: Option<&'static Layout>,
    version: WireVersion,
    context_seen: bool,
}

impl<'b> MessageState<'b> {
    fn new(buf: &'b mut [u8], msg: MessageResolved, version: WireVersion) -> Self {
        MessageState {
            enc: Encoder::new(buf, msg.ty, version),
            def: msg.def,
            layout: msg.def.and_then(|d| d.layout),
            version,
            context_seen: false,
        }
    }

    fn finish(self) -> Result<usize, EncodeError> {
        self.enc.finish()
    }

    fn field(&mut self, text: &str) -> Result<(), ParseErrorKind> {
        let (label, value) = split_field(text).ok_or(ParseErrorKind::MissingColon)?;
        let bad = |expected| ParseErrorKind::BadValue {
            label: cut(label),
            expected,
        };
        match resolve_field(self.def, label, self.context_seen)? {
            FieldRef::ExpandedCallContext => {
                self.context_seen = true;
                Ok(())
            }
            FieldRef::Body => self.hex_raw(value).ok_or(bad("hex bytes (0x…)")),
            FieldRef::Fixed(index) => {
                let def = self
                    .layout
                    .and_then(|l| l.fixed.get(index))
                    .ok_or(bad("a field of this message"))?;
                if !def.present_in(self.version.number()) {
                    return Err(ParseErrorKind::NotInVersion { label: cut(label) });
                }
                self.fixed(index, def.ty, def.enumeration, label, value)
            }
            FieldRef::Floating(tag) | FieldRef::Grouped { tag, .. } => {
                self.floating(tag, label, value)
            }
            FieldRef::NamedVar(name) => {
                self.enc.named_var(name, value);
                Ok(())
            }
            FieldRef::NamedArray { name, index } => {
                self.enc.named_array(index, name, value);
                Ok(())
            }
        }
    }

    fn fixed(
        &mut self,
        index: usize,
        ty: FixedType,
        en: Option<&'static EnumDef>,
        label: &str,
        value: &str,
    ) -> Result<(), ParseErrorKind> {
        let bad = |expected| ParseErrorKind::BadValue {
            label: cut(label),
            expected,
        };
        if let FixedType::Bytes(n) = ty {
            // A reserved byte slot carries its exact bytes.
            let digits = value
                .strip_prefix("0x")
                .ok_or(bad("hex bytes (0x…)"))?
                .as_bytes();
            if digits.len() != 2 * usize::from(n) {
                return Err(bad("hex bytes of the slot's size"));
            }
            let mut bytes = [0u8; 255];
            for (dst, pair) in bytes.iter_mut().zip(digits.chunks(2)) {
                let hi = pair.first().copied().and_then(hex_digit);
                let lo = pair.get(1).copied().and_then(hex_digit);
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(bad("hex bytes (0x…)"));
                };
                *dst = (hi << 4) | lo;
            }
            self.enc
                .set_fixed_bytes(index, bytes.get(..usize::from(n)).unwrap_or(&[]));
            return Ok(());
        }
        let raw = parse_number(value, ty.size(), en).ok_or(bad(expected_of(en)))?;
        self.enc.set_fixed_raw(index, raw);
        Ok(())
    }

    fn floating(&mut self, tag: u16, label: &str, value: &str) -> Result<(), ParseErrorKind> {
        let bad = |expected| ParseErrorKind::BadValue {
            label: cut(label),
            expected,
        };
        let def = spec::tag_def(tag);
        let ty = def.map(|d| d.ty).unwrap_or(TagType::Opaque);
        if is_numeric(ty) {
            let size = ty.numeric_size().unwrap_or(4);
            if looks_like_hex(value) && value.len() != 2 + 2 * size {
                return self.hex_field(tag, value).ok_or(bad("hex bytes (0x…)"));
            }
            let raw = parse_number(value, size, def.and_then(|d| d.enumeration))
                .ok_or(bad("a number"))?;
            self.enc.number(tag, raw);
            return Ok(());
        }
        match ty {
            TagType::String | TagType::Opaque if !looks_like_hex(value) => {
                self.enc.string(tag, value);
                Ok(())
            }
            TagType::Unspec if !looks_like_hex(value) => {
                self.enc.bytes(tag, value.as_bytes());
                Ok(())
            }
            _ => self.hex_field(tag, value).ok_or(bad("hex bytes (0x…)")),
        }
    }

    fn hex_field(&mut self, tag: u16, value: &str) -> Option<()> {
        let digits = value.strip_prefix("0x")?;
        if digits.len() % 2 != 0 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.enc.field_header(tag, digits.len() / 2);
        self.hex_raw(value)
    }

    /// Decode hex in small pieces so no buffer the size of the value is needed.
    fn hex_raw(&mut self, value: &str) -> Option<()> {
        let digits = value.strip_prefix("0x")?.as_bytes();
        if digits.len() % 2 != 0 {
            return None;
        }
        let mut chunk = [0u8; 32];
        for piece in digits.chunks(64) {
            let mut n = 0;
            for pair in piece.chunks(2) {
                let hi = hex_digit(*pair.first()?)?;
                let lo = hex_digit(*pair.get(1)?)?;
                *chunk.get_mut(n)? = (hi << 4) | lo;
                n += 1;
            }
            self.enc.raw(chunk.get(..n)?);
        }
        Some(())
    }
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn expected_of(en: Option<&EnumDef>) -> &'static str {
    if en.is_some() {
        "a name of the field's enumeration or a number"
    } else {
        "a number or N/A"
    }
}

/// A value of a numeric field of `size` bytes: an enumeration name or alias, `N/A`, or a
/// (possibly negative, as the guide prints `-1`) decimal number, or `0x` hex.
fn parse_number(value: &str, size: usize, en: Option<&EnumDef>) -> Option<u32> {
    let max: u64 = match size {
        1 => 0xFF,
        2 => 0xFFFF,
        _ => 0xFFFF_FFFF,
    };
    if let Some(v) = en.and_then(|e| e.value_of(value)) {
        return Some(v);
    }
    if value == "N/A" {
        return u32::try_from(max).ok();
    }
    let n: i64 = if let Some(h) = value.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()?
    } else {
        value.parse().ok()?
    };
    let n = if n < 0 {
        // Two's complement in the field's width: -1 is all ones.
        let modulus = i64::try_from(max).ok()? + 1;
        if n < -modulus / 2 {
            return None;
        }
        n + modulus
    } else {
        n
    };
    let n = u64::try_from(n).ok()?;
    if n > max {
        return None;
    }
    u32::try_from(n).ok()
}

#[cfg(feature = "defmt")]
impl defmt::Format for TextParser<'_> {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(f, "TextParser")
    }
}
