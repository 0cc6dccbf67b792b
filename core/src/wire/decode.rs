//! Decoding: check a frame once, then read it through a borrowed view.

use super::generated::MAX_COUNTS;
use super::spec::{self, Direction, FixedDef, Layout, LayoutPlan, MessageDef};
use super::{
    find_nul, read_uint, tag, Fixed, FixedValue, MessageType, WireVersion, HEADER_LEN, MESSAGES,
    PLANS,
};

/// Longest named-variable name, its NUL included (wire-session.md §1.6).
pub const MAX_VARIABLE_NAME: usize = 33;
/// Longest named-variable value, its NUL included.
pub const MAX_VARIABLE_VALUE: usize = 211;
/// Most bytes that all named variables and arrays of one message may take together.
pub const MAX_NAMED_DATA: usize = 2000;

/// What is wrong with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// Fewer than 8 bytes: no whole header.
    HeaderCut,
    /// The header's MessageLength disagrees with the frame's size.
    LengthMismatch {
        /// MessageLength from the header.
        declared: u32,
        /// Body bytes actually present.
        actual: usize,
    },
    /// The body ends inside the fixed part.
    FixedPartCut {
        /// Fixed-part size of this message under the session's version.
        needed: usize,
        /// Body bytes present.
        available: usize,
    },
    /// The body ends inside a floating field's tag or length.
    FieldHeaderCut,
    /// A floating field's length runs past the end of the body.
    FieldOverrun {
        /// The field's tag.
        tag: u16,
        /// Its declared data length.
        length: usize,
        /// Bytes left in the body.
        available: usize,
    },
    /// A numeric floating field has the wrong length for its type.
    FieldSize {
        /// The field's tag.
        tag: u16,
        /// Its data length.
        length: usize,
        /// The length its type has.
        expected: usize,
    },
    /// A named variable or array element lacks the NUL after its name or value.
    NamedVariableNul {
        /// NamedVariable (82) or NamedArray (83).
        tag: u16,
    },
    /// A named variable's name or value is longer than the protocol allows.
    NamedVariableTooLong {
        /// NamedVariable (82) or NamedArray (83).
        tag: u16,
        /// The length found, its NUL included.
        length: usize,
        /// The limit, its NUL included.
        max: usize,
    },
    /// A named variable's name or value is not UTF-8.
    NamedVariableUtf8 {
        /// NamedVariable (82) or NamedArray (83).
        tag: u16,
    },
    /// All named variables and arrays together exceed 2000 bytes.
    TooMuchNamedData {
        /// Their total size.
        total: usize,
    },
    /// A count in the fixed part disagrees with the floating fields it counts.
    CountMismatch {
        /// The count's label.
        field: &'static str,
        /// The count's value.
        declared: u32,
        /// How many records are present.
        found: u32,
    },
}

/// A frame that cannot be decoded, with the byte offset (from the frame's first header byte)
/// where the problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DecodeError {
    /// What is wrong.
    pub kind: DecodeErrorKind,
    /// Offset in the frame, header included.
    pub offset: usize,
    /// The frame's message type number (0 when the header itself is cut).
    pub message_type: u32,
}

/// Writes a tag's name in parentheses after its number (nothing without the `names` feature).
struct TagNote(u16);

impl core::fmt::Display for TagNote {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        #[cfg(feature = "names")]
        return write!(f, " ({})", spec::tag_name(self.0).unwrap_or("unknown tag"));
        #[cfg(not(feature = "names"))]
        {
            let _ = (f, self.0);
            Ok(())
        }
    }
}

/// A named-variable tag by name, or by number without the `names` feature.
struct TagWord(u16);

impl core::fmt::Display for TagWord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        #[cfg(feature = "names")]
        return f.write_str(spec::tag_name(self.0).unwrap_or("unknown tag"));
        #[cfg(not(feature = "names"))]
        return write!(f, "tag {}", self.0);
    }
}

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match spec::message_name(self.message_type) {
            Some(name) => write!(f, "{name} at byte {}: ", self.offset)?,
            None => write!(
                f,
                "message type {} at byte {}: ",
                self.message_type, self.offset
            )?,
        }
        match self.kind {
            DecodeErrorKind::HeaderCut => write!(f, "frame shorter than its 8-byte header"),
            DecodeErrorKind::LengthMismatch { declared, actual } => {
                write!(
                    f,
                    "header declares a {declared}-byte body but {actual} bytes follow"
                )
            }
            DecodeErrorKind::FixedPartCut { needed, available } => {
                write!(
                    f,
                    "fixed part cut short: {needed} bytes needed, {available} present"
                )
            }
            DecodeErrorKind::FieldHeaderCut => {
                write!(f, "body ends inside a floating field's tag or length")
            }
            DecodeErrorKind::FieldOverrun {
                tag,
                length,
                available,
            } => write!(
                f,
                "floating field {tag}{} declares {length} bytes but only {available} remain",
                TagNote(tag)
            ),
            DecodeErrorKind::FieldSize {
                tag,
                length,
                expected,
            } => write!(
                f,
                "floating field {tag}{} is {length} bytes long; its type takes {expected}",
                TagNote(tag)
            ),
            DecodeErrorKind::NamedVariableNul { tag } => {
                write!(
                    f,
                    "{} without the NUL after its name or value",
                    TagWord(tag)
                )
            }
            DecodeErrorKind::NamedVariableTooLong { tag, length, max } => write!(
                f,
                "{} name or value of {length} bytes (NUL included); at most {max} allowed",
                TagWord(tag)
            ),
            DecodeErrorKind::NamedVariableUtf8 { tag } => {
                write!(f, "{} is not UTF-8", TagWord(tag))
            }
            DecodeErrorKind::TooMuchNamedData { total } => {
                write!(
                    f,
                    "named variables take {total} bytes; at most {MAX_NAMED_DATA} allowed"
                )
            }
            DecodeErrorKind::CountMismatch {
                field,
                declared,
                found,
            } => {
                write!(f, "{field} is {declared} but {found} records are present")
            }
        }
    }
}

impl core::error::Error for DecodeError {}

/// A decoded message: a checked, borrowed view of one frame's body.
#[derive(Clone, Copy)]
pub struct Message<'a> {
    type_id: u32,
    /// Position in the message tables (MESSAGES, PLANS), if the type is known.
    index: Option<u8>,
    plan: Option<&'static LayoutPlan>,
    body: &'a [u8],
    fixed_len: usize,
    version: WireVersion,
}

impl core::fmt::Debug for Message<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Message")
            .field("type", &self.message_type())
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Message<'_> {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(
            f,
            "Message {{ type: {}, body_len: {} }}",
            self.message_type(),
            self.body.len()
        )
    }
}

/// Decode one whole frame (header included) under protocol version `version`.
///
/// Unknown message types and messages without a known layout decode to a view of the opaque
/// body (README decision 4: skipped by length and reported, not an error). Unknown tags are
/// kept and skipped. Everything else that does not add up is a [`DecodeError`] with an offset.
pub fn decode(frame: &[u8], version: WireVersion) -> Result<Message<'_>, DecodeError> {
    let Some((&[l0, l1, l2, l3, t0, t1, t2, t3], body)) = frame.split_first_chunk::<HEADER_LEN>()
    else {
        return Err(DecodeError {
            kind: DecodeErrorKind::HeaderCut,
            offset: frame.len(),
            message_type: 0,
        });
    };
    let length = u32::from_be_bytes([l0, l1, l2, l3]);
    let type_id = u32::from_be_bytes([t0, t1, t2, t3]);
    let err = |kind, offset| DecodeError {
        kind,
        offset,
        message_type: type_id,
    };
    if body.len() != length as usize {
        return Err(err(
            DecodeErrorKind::LengthMismatch {
                declared: length,
                actual: body.len(),
            },
            0,
        ));
    }
    let index = spec::message_index(type_id);
    let entry = index.and_then(|i| PLANS.get(i));
    // Fewer than 256 messages (generate.py checks), so the position fits a byte.
    let index = index.and_then(|i| u8::try_from(i).ok());
    let Some(plan) = entry.and_then(|p| p.layout) else {
        return Ok(Message {
            type_id,
            index,
            plan: None,
            body,
            fixed_len: body.len(),
            version,
        });
    };
    let fixed_len = plan.fixed_size_for(version.number());
    let Some((fixed, floating)) = body.split_at_checked(fixed_len) else {
        return Err(err(
            DecodeErrorKind::FixedPartCut {
                needed: fixed_len,
                available: body.len(),
            },
            HEADER_LEN + body.len(),
        ));
    };
    // Nothing floating and nothing counted (most confirmations): nothing to walk.
    if !floating.is_empty() || !plan.counts.is_empty() {
        check_body(fixed, floating, plan, version)
            .map_err(|(kind, offset)| err(kind, HEADER_LEN + offset))?;
    }
    Ok(Message {
        type_id,
        index,
        plan: Some(plan),
        body,
        fixed_len,
        version,
    })
}

/// Check the floating part in one walk, specialised for the version's field widths: lengths,
/// numeric sizes, named-variable structure and total, and every count against the records
/// counted on the way. Errors come in the order of the checks: the first bad field, then the
/// named-variable total, then the first count that disagrees (in table order).
fn check_body(
    fixed: &[u8],
    floating: &[u8],
    plan: &LayoutPlan,
    version: WireVersion,
) -> Result<(), (DecodeErrorKind, usize)> {
    let mut counts = [0u32; MAX_COUNTS];
    let at = fixed.len();
    let named_total = match (version.tag_width(), version.length_width()) {
        (1, _) => walk::<1, 1>(floating, at, plan, &mut counts)?,
        (_, 1) => walk::<2, 1>(floating, at, plan, &mut counts)?,
        _ => walk::<2, 2>(floating, at, plan, &mut counts)?,
    };
    if named_total > MAX_NAMED_DATA {
        return Err((DecodeErrorKind::TooMuchNamedData { total: named_total }, at));
    }
    for (count, found) in plan.counts.iter().zip(counts) {
        if u32::from(count.since_version) > version.number() {
            continue;
        }
        let offset = usize::from(count.offset);
        let declared = read_uint(fixed, offset, usize::from(count.size)).unwrap_or(0);
        if declared != found {
            return Err((
                DecodeErrorKind::CountMismatch {
                    field: count.field,
                    declared,
                    found,
                },
                offset,
            ));
        }
    }
    Ok(())
}

/// A floating field's tag and length at the start of `b`, for TW-byte tags and LW-byte
/// lengths (1/1, 2/1 or 2/2).
#[inline(always)]
fn field_header<const TW: usize, const LW: usize>(b: &[u8]) -> Option<(u16, usize)> {
    match (TW, LW) {
        (1, 1) => match b {
            [t, l, ..] => Some((u16::from(*t), usize::from(*l))),
            _ => None,
        },
        (2, 1) => match b {
            [t0, t1, l, ..] => Some((u16::from_be_bytes([*t0, *t1]), usize::from(*l))),
            _ => None,
        },
        _ => match b {
            [t0, t1, l0, l1, ..] => Some((
                u16::from_be_bytes([*t0, *t1]),
                usize::from(u16::from_be_bytes([*l0, *l1])),
            )),
            _ => None,
        },
    }
}

/// Walk the floating part `rest` (starting at body offset `offset`) once; returns the bytes
/// the named variables take and leaves the records of each count in `counts`.
fn walk<const TW: usize, const LW: usize>(
    mut rest: &[u8],
    mut offset: usize,
    plan: &LayoutPlan,
    counts: &mut [u32; MAX_COUNTS],
) -> Result<usize, (DecodeErrorKind, usize)> {
    let mut named_total = 0usize;
    while !rest.is_empty() {
        let Some((tag, len)) = field_header::<TW, LW>(rest) else {
            return Err((DecodeErrorKind::FieldHeaderCut, offset));
        };
        let end = TW + LW + len;
        let Some(data) = rest.get(TW + LW..end) else {
            return Err((
                DecodeErrorKind::FieldOverrun {
                    tag,
                    length: len,
                    available: rest.len().saturating_sub(TW + LW),
                },
                offset,
            ));
        };
        let checks = spec::tag_checks(tag);
        if checks.needs_decode_check() {
            let size = checks.numeric_size();
            if size != 0 && len != size {
                return Err((
                    DecodeErrorKind::FieldSize {
                        tag,
                        length: len,
                        expected: size,
                    },
                    offset,
                ));
            }
            if checks.is_named() {
                parse_named(tag, data).map_err(|k| (k, offset))?;
                named_total += end;
            }
            if checks.is_counted() {
                for (count, n) in plan.counts.iter().zip(counts.iter_mut()) {
                    if count.tag == tag {
                        *n += 1;
                    }
                }
            }
        }
        rest = rest.get(end..).unwrap_or(&[]);
        offset += end;
    }
    Ok(named_total)
}

/// Split a named variable (`name\0value\0`) or array element (`index name\0value\0`).
pub(crate) fn parse_named(tag_id: u16, data: &[u8]) -> Result<NamedVar<'_>, DecodeErrorKind> {
    let (index, rest) = if tag_id == tag::NAMED_ARRAY {
        match data.split_first() {
            Some((i, rest)) => (Some(*i), rest),
            None => return Err(DecodeErrorKind::NamedVariableNul { tag: tag_id }),
        }
    } else {
        (None, data)
    };
    let Some(name_end) = find_nul(rest) else {
        return Err(DecodeErrorKind::NamedVariableNul { tag: tag_id });
    };
    // `name NUL value NUL`: the value's NUL is the last byte and the only one after the name.
    let Some((0, text)) = rest.split_last() else {
        return Err(DecodeErrorKind::NamedVariableNul { tag: tag_id });
    };
    let value_start = name_end + 1;
    let value_len = text.len().saturating_sub(value_start);
    if name_end == text.len() || find_nul(text.get(value_start..).unwrap_or(&[])).is_some() {
        return Err(DecodeErrorKind::NamedVariableNul { tag: tag_id });
    }
    if name_end + 1 > MAX_VARIABLE_NAME {
        return Err(DecodeErrorKind::NamedVariableTooLong {
            tag: tag_id,
            length: name_end + 1,
            max: MAX_VARIABLE_NAME,
        });
    }
    if value_len + 1 > MAX_VARIABLE_VALUE {
        return Err(DecodeErrorKind::NamedVariableTooLong {
            tag: tag_id,
            length: value_len + 1,
            max: MAX_VARIABLE_VALUE,
        });
    }
    // One UTF-8 check for both: a NUL is a character of its own, so the text is valid
    // exactly when the name and the value are.
    let split = core::str::from_utf8(text)
        .ok()
        .and_then(|t| Some((t.get(..name_end)?, t.get(value_start..)?)));
    match split {
        Some((name, value)) => Ok(NamedVar { index, name, value }),
        None => Err(DecodeErrorKind::NamedVariableUtf8 { tag: tag_id }),
    }
}

impl<'a> Message<'a> {
    /// The message type.
    pub fn message_type(&self) -> MessageType {
        MessageType::from_id(self.type_id)
    }

    /// The message type number.
    pub fn type_id(&self) -> u32 {
        self.type_id
    }

    /// The table entry of the message, if the type is known.
    pub fn def(&self) -> Option<&'static MessageDef> {
        MESSAGES.get(usize::from(self.index?))
    }

    /// Who sends the message, if the type is known (read from the packed table, so a caller
    /// that needs only this does not link the full one).
    pub fn direction(&self) -> Option<Direction> {
        PLANS.get(usize::from(self.index?)).map(|p| p.direction)
    }

    /// The layout the body was checked against, if the message has one.
    pub fn layout(&self) -> Option<&'static Layout> {
        self.def().and_then(|d| d.layout)
    }

    /// The packed plan the body was checked against, if the message has a layout.
    pub fn plan(&self) -> Option<&'static LayoutPlan> {
        self.plan
    }

    /// The protocol version the frame was decoded under.
    pub fn version(&self) -> WireVersion {
        self.version
    }

    /// The whole body (fixed and floating parts).
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The fixed part (the whole body for a message without a layout).
    pub fn fixed_part(&self) -> &'a [u8] {
        self.body.get(..self.fixed_len).unwrap_or(&[])
    }

    /// The floating part.
    pub fn floating_part(&self) -> &'a [u8] {
        self.body.get(self.fixed_len..).unwrap_or(&[])
    }

    /// Read a fixed field through its typed handle; `None` for a handle of another message or
    /// a field the session's version does not have.
    pub fn get<T: FixedValue>(&self, field: Fixed<T>) -> Option<T> {
        self.get_number(field).map(T::from_raw)
    }

    /// [`Self::get`] as the wire number: for a number kept as it came (and echoed back),
    /// without a round trip through the enumeration.
    pub fn get_number<T: FixedValue>(&self, field: Fixed<T>) -> Option<u32> {
        if field.message() != self.type_id || field.since_version() > self.version.number() {
            return None;
        }
        read_uint(self.fixed_part(), field.offset(), T::TYPE.size())
    }

    /// Read a fixed field by its table entry (numeric types; raw bytes read as `None`).
    pub fn fixed_raw(&self, def: &FixedDef) -> Option<u32> {
        if !def.present_in(self.version.number()) || def.ty.size() > 4 {
            return None;
        }
        read_uint(self.fixed_part(), usize::from(def.offset), def.ty.size())
    }

    /// Read a fixed field by label or alias.
    #[cfg(feature = "names")]
    pub fn fixed_named(&self, label: &str) -> Option<u32> {
        let (_, def) = self.layout()?.fixed_named(label)?;
        self.fixed_raw(def)
    }

    /// The InvokeID of a request or confirmation (`None` for events).
    pub fn invoke_id(&self) -> Option<u32> {
        if self.plan?.invoke_id {
            read_uint(self.fixed_part(), 0, 4)
        } else {
            None
        }
    }

    /// The floating fields in wire order.
    pub fn fields(&self) -> FloatingFields<'a> {
        FloatingFields {
            rest: self.floating_part(),
            offset: self.fixed_len,
            version: self.version,
        }
    }

    /// The data of the first floating field with `tag`.
    pub fn field(&self, tag: u16) -> Option<&'a [u8]> {
        self.fields().find(|f| f.tag == tag).map(|f| f.data)
    }

    /// The first floating field with `tag` as text: its NUL and anything after it dropped;
    /// `None` when absent or not UTF-8.
    pub fn string(&self, tag: u16) -> Option<&'a str> {
        self.field(tag).and_then(field_str)
    }

    /// The first floating field with `tag` as an unsigned number (1, 2 or 4 bytes).
    pub fn number(&self, tag: u16) -> Option<u32> {
        let data = self.field(tag)?;
        matches!(data.len(), 1 | 2 | 4)
            .then(|| read_uint(data, 0, data.len()))
            .flatten()
    }

    /// The named variables and named array elements (ECC variables), in wire order.
    pub fn named_vars(&self) -> NamedVars<'a> {
        NamedVars {
            fields: self.fields(),
        }
    }

    /// The value of the first named variable called `name`.
    pub fn named_var(&self, name: &str) -> Option<&'a str> {
        self.named_vars()
            .find(|v| v.index.is_none() && v.name == name)
            .map(|v| v.value)
    }

    /// The wire size of all named variables and arrays, tag and length bytes included (the
    /// guide's `ExpandedCallContxt: <TotalBytes: N>`).
    pub fn named_total_bytes(&self) -> usize {
        self.fields()
            .filter(|f| f.tag == tag::NAMED_VARIABLE || f.tag == tag::NAMED_ARRAY)
            .map(|f| self.version.field_header_len() + f.data.len())
            .sum()
    }
}

/// The text of a STRING field's data: up to its first NUL; `None` if not UTF-8.
pub fn field_str(data: &[u8]) -> Option<&str> {
    let end = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    core::str::from_utf8(data.get(..end).unwrap_or(&[])).ok()
}

/// One floating field of a decoded message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FloatingField<'a> {
    /// Tag (FieldDataID).
    pub tag: u16,
    /// The data bytes.
    pub data: &'a [u8],
    /// Body offset of the field's tag.
    pub offset: usize,
}

/// Iterator over the floating fields of a message (see [`Message::fields`]).
#[derive(Debug, Clone)]
pub struct FloatingFields<'a> {
    rest: &'a [u8],
    offset: usize,
    version: WireVersion,
}

impl<'a> Iterator for FloatingFields<'a> {
    type Item = FloatingField<'a>;

    /// Fields of a checked message; stops at the first field that does not fit (which a
    /// message from [`decode`] does not have).
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let header = match (self.version.tag_width(), self.version.length_width()) {
            (1, _) => field_header::<1, 1>(self.rest),
            (_, 1) => field_header::<2, 1>(self.rest),
            _ => field_header::<2, 2>(self.rest),
        };
        let hdr = self.version.field_header_len();
        let data = header.and_then(|(tag, len)| Some((tag, self.rest.get(hdr..hdr + len)?)));
        let Some((tag, data)) = data else {
            self.rest = &[];
            return None;
        };
        let end = hdr + data.len();
        let field = FloatingField {
            tag,
            data,
            offset: self.offset,
        };
        self.rest = self.rest.get(end..).unwrap_or(&[]);
        self.offset += end;
        Some(field)
    }
}

/// One named variable (ECC variable) or named array element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NamedVar<'a> {
    /// The element index of a named array; `None` for a named variable.
    pub index: Option<u8>,
    /// Variable name (`BAResponse`, `user.layout`).
    pub name: &'a str,
    /// Value (may be empty).
    pub value: &'a str,
}

/// Iterator over the named variables of a message (see [`Message::named_vars`]).
#[derive(Debug, Clone)]
pub struct NamedVars<'a> {
    fields: FloatingFields<'a>,
}

impl<'a> Iterator for NamedVars<'a> {
    type Item = NamedVar<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        for f in self.fields.by_ref() {
            if f.tag == tag::NAMED_VARIABLE || f.tag == tag::NAMED_ARRAY {
                if let Ok(v) = parse_named(f.tag, f.data) {
                    return Some(v);
                }
            }
        }
        None
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for FloatingFields<'_> {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(f, "FloatingFields {{ remaining: {} }}", self.rest.len())
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for NamedVars<'_> {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(f, "NamedVars {{ remaining: {} }}", self.fields.rest.len())
    }
}
