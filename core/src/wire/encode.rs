//! Encoding: write a message into a caller's buffer.

use super::decode::{MAX_NAMED_DATA, MAX_VARIABLE_NAME, MAX_VARIABLE_VALUE};
use super::generated::MAX_COUNTS;
use super::spec::{self, FieldSlot, LayoutPlan};
use super::{
    find_nul, put, tag, write_uint, Fixed, FixedValue, MessageType, WireVersion, HEADER_LEN, PLANS,
};

/// Why a message could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum EncodeError {
    /// The buffer is too small; `needed` bytes would have been written.
    BufferTooSmall {
        /// Size of the whole frame.
        needed: usize,
    },
    /// A value is longer than its field allows.
    ValueTooLong {
        /// The field's tag (0 for a fixed field).
        tag: u16,
        /// Bytes the value takes on the wire (a string's NUL included).
        length: usize,
        /// The most the field takes.
        max: usize,
    },
    /// A fixed-field handle or index of another message, or a field the version lacks.
    NotInMessage {
        /// The message being encoded.
        message: u32,
    },
    /// A value given for a numeric floating field does not fit its type.
    NotNumeric {
        /// The field's tag.
        tag: u16,
    },
    /// A named variable's name or value holds a NUL, which would end it early on the wire.
    NulInText {
        /// NamedVariable (82) or NamedArray (83).
        tag: u16,
    },
    /// Named variables and arrays of one message would take more than 2000 bytes in all.
    TooMuchNamedData {
        /// Their total size, tag and length bytes included.
        total: usize,
    },
    /// A reserved byte slot was given a value of another size.
    WrongSize {
        /// Bytes given.
        length: usize,
        /// The slot's size.
        size: usize,
    },
}

impl core::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            EncodeError::BufferTooSmall { needed } => {
                write!(f, "buffer too small: {needed} bytes needed")
            }
            EncodeError::ValueTooLong { tag, length, max } => {
                let name = spec::tag_name(tag).unwrap_or("field");
                write!(
                    f,
                    "{name} ({tag}): value takes {length} bytes, at most {max} allowed"
                )
            }
            EncodeError::NotInMessage { message } => {
                f.write_str("field is not part of ")?;
                match spec::message_name(message) {
                    Some(name) => f.write_str(name)?,
                    None if cfg!(feature = "names") => f.write_str("this message")?,
                    None => write!(f, "message {message}")?,
                }
                f.write_str(" (under this protocol version)")
            }
            EncodeError::NotNumeric { tag } => {
                write!(f, "field {tag} takes a number of its own size")
            }
            EncodeError::NulInText { tag } => {
                let name = spec::tag_name(tag).unwrap_or("named variable");
                write!(f, "{name}: a name or value holds a NUL byte")
            }
            EncodeError::TooMuchNamedData { total } => write!(
                f,
                "named variables would take {total} bytes; at most {MAX_NAMED_DATA} allowed"
            ),
            EncodeError::WrongSize { length, size } => {
                write!(f, "{length} bytes given for a slot of {size}")
            }
        }
    }
}

impl core::error::Error for EncodeError {}

/// Writes one message into a caller's buffer.
///
/// `new` writes the header and copies the message's fixed-part template (the reserved
/// constants, 0 elsewhere); `set` changes fixed fields, the floating writers append fields in
/// call order and count them, and `finish` writes the length and the counts the caller did not
/// set, and returns the frame's size. Errors are kept and reported by `finish`, so a builder
/// chain needs no `?` per call.
///
/// ```
/// use ccx_cti::wire::{fields::heartbeat_req, Encoder, MessageType, WireVersion};
/// let mut buf = [0u8; 16];
/// let mut enc = Encoder::new(&mut buf, MessageType::HeartbeatReq, WireVersion::DEFAULT);
/// enc.set(heartbeat_req::INVOKE_ID, 7);
/// let n = enc.finish().unwrap();
/// assert_eq!(&buf[..n], &[0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 7]);
/// ```
#[derive(Debug)]
pub struct Encoder<'b> {
    buf: &'b mut [u8],
    type_id: u32,
    plan: Option<&'static LayoutPlan>,
    version: WireVersion,
    /// Bytes the frame takes so far (may exceed `buf`).
    len: usize,
    /// Counts of the plan the caller set (bit i = count i), so `finish` fills only the rest.
    explicit: u32,
    /// Fields written so far of each counted tag of the plan.
    counts: [u32; MAX_COUNTS],
    /// Bytes of the named variables and arrays written so far (tag and length included).
    named_total: usize,
    error: Option<EncodeError>,
}

impl<'b> Encoder<'b> {
    /// Start a message of type `ty` under `version`.
    pub fn new(buf: &'b mut [u8], ty: MessageType, version: WireVersion) -> Self {
        let type_id = ty.id();
        let plan = spec::message_index(type_id)
            .and_then(|i| PLANS.get(i))
            .and_then(|p| p.layout);
        let fixed_len = plan.map_or(0, |p| p.fixed_size_for(version.number()));
        let len = HEADER_LEN + fixed_len;
        if let Some((header, rest)) = buf.split_first_chunk_mut::<HEADER_LEN>() {
            if rest.len() >= fixed_len {
                let t = type_id.to_be_bytes();
                *header = [0, 0, 0, 0, t[0], t[1], t[2], t[3]];
                // An older version's fixed part is a prefix of the template (generate.py
                // checks it).
                let template = plan.and_then(|p| p.defaults.get(..fixed_len));
                if let (Some(dst), Some(src)) = (rest.get_mut(..fixed_len), template) {
                    dst.copy_from_slice(src);
                }
            }
        }
        Encoder {
            buf,
            type_id,
            plan,
            version,
            len,
            explicit: 0,
            counts: [0; MAX_COUNTS],
            named_total: 0,
            error: None,
        }
    }

    /// The message type being written.
    pub fn message_type(&self) -> MessageType {
        MessageType::from_id(self.type_id)
    }

    /// The protocol version being written.
    pub fn version(&self) -> WireVersion {
        self.version
    }

    /// The first error met so far (reported again by `finish`).
    pub fn error(&self) -> Option<EncodeError> {
        self.error
    }

    fn fail(&mut self, e: EncodeError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    fn fits(&self) -> bool {
        self.len <= self.buf.len()
    }

    fn not_in_message(&mut self) {
        self.fail(EncodeError::NotInMessage {
            message: self.type_id,
        });
    }

    /// The fixed field at `index` of the layout, from the packed plan.
    fn slot(&self, index: usize) -> Option<FieldSlot> {
        self.plan?.fields.get(index).copied()
    }

    /// Remember that the caller set the fixed field at body offset `offset`, if it is a count.
    fn note_set(&mut self, offset: usize) {
        if let Some(plan) = self.plan {
            for (i, c) in plan.counts.iter().enumerate() {
                if usize::from(c.offset) == offset {
                    self.explicit |= 1u32
                        .checked_shl(u32::try_from(i).unwrap_or(32))
                        .unwrap_or(0);
                }
            }
        }
    }

    fn write_fixed(&mut self, offset: usize, size: usize, bytes: bool, raw: u32) {
        let at = HEADER_LEN + offset;
        if bytes {
            if let Some(s) = self.buf.get_mut(at..at + size) {
                s.fill(if raw == 0 { 0 } else { 0xFF });
            }
        } else {
            write_uint(self.buf, at, size, raw);
        }
    }

    /// Set a fixed field through its typed handle (see [`super::fields`]).
    pub fn set<T: FixedValue>(&mut self, field: Fixed<T>, value: T) -> &mut Self {
        self.set_number(field, value.to_raw())
    }

    /// Set a fixed field through its typed handle to its wire number (its low bytes for a
    /// narrower field): a number kept as received and echoed back, without a round trip
    /// through the enumeration (which gives the same number, at the cost of two table
    /// walks).
    pub fn set_number<T: FixedValue>(&mut self, field: Fixed<T>, raw: u32) -> &mut Self {
        if field.message() != self.type_id || field.since_version() > self.version.number() {
            self.not_in_message();
            return self;
        }
        self.note_set(field.offset());
        if self.fits() {
            self.write_fixed(field.offset(), T::TYPE.size(), false, raw);
        }
        self
    }

    /// Set the fixed field at `index` of the layout to `raw` (the trace parser's way in).
    pub fn set_fixed_raw(&mut self, index: usize, raw: u32) -> &mut Self {
        match self.slot(index) {
            Some(slot) if slot.present_in(self.version.number()) => {
                let offset = usize::from(slot.offset);
                self.note_set(offset);
                if self.fits() {
                    self.write_fixed(offset, slot.size(), slot.is_bytes(), raw);
                }
            }
            _ => self.not_in_message(),
        }
        self
    }

    /// Set the raw-bytes fixed field (a reserved byte slot) at `index` of the layout to `data`,
    /// which must have the slot's size.
    pub fn set_fixed_bytes(&mut self, index: usize, data: &[u8]) -> &mut Self {
        match self.slot(index) {
            Some(slot) if slot.present_in(self.version.number()) => {
                if !slot.is_bytes() {
                    self.not_in_message();
                    return self;
                }
                let size = slot.size();
                if data.len() != size {
                    self.fail(EncodeError::WrongSize {
                        length: data.len(),
                        size,
                    });
                    return self;
                }
                self.note_set(usize::from(slot.offset));
                let at = HEADER_LEN + usize::from(slot.offset);
                if self.fits() {
                    if let Some(dst) = self.buf.get_mut(at..at + data.len()) {
                        dst.copy_from_slice(data);
                    }
                }
            }
            _ => self.not_in_message(),
        }
        self
    }

    /// Append a floating field with raw data.
    pub fn field(&mut self, tag: u16, data: &[u8]) -> &mut Self {
        self.field_parts(tag, &[data])
    }

    fn field_parts(&mut self, tag_id: u16, parts: &[&[u8]]) -> &mut Self {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if !self.header(tag_id, len) {
            return self;
        }
        let start = self.len;
        self.len += len;
        // Nothing is written once the frame outgrows the buffer (`finish` reports it).
        if let Some(mut dst) = self.buf.get_mut(start..self.len) {
            for p in parts {
                let Some((head, rest)) = dst.split_at_mut_checked(p.len()) else {
                    break;
                };
                match (head, *p) {
                    // The NULs and index bytes, without a call to copy one byte.
                    ([d], [b]) => *d = *b,
                    (head, p) => head.copy_from_slice(p),
                }
                dst = rest;
            }
        }
        self
    }

    /// Append a STRING field: the text and its NUL. Checks the tag's maximum.
    pub fn string(&mut self, tag_id: u16, text: &str) -> &mut Self {
        let checks = spec::tag_checks(tag_id);
        let max = checks.max();
        if checks.is_string() && max > 0 && text.len() + 1 > max {
            self.fail(EncodeError::ValueTooLong {
                tag: tag_id,
                length: text.len() + 1,
                max,
            });
            return self;
        }
        self.field_parts(tag_id, &[text.as_bytes(), &[0]])
    }

    /// Append raw bytes (UNSPEC). Checks the tag's maximum.
    pub fn bytes(&mut self, tag_id: u16, data: &[u8]) -> &mut Self {
        let checks = spec::tag_checks(tag_id);
        let max = checks.max();
        if checks.is_unspec() && max > 0 && data.len() > max {
            self.fail(EncodeError::ValueTooLong {
                tag: tag_id,
                length: data.len(),
                max,
            });
            return self;
        }
        self.field(tag_id, data)
    }

    /// Append a numeric field in its type's natural size (UINT 4, USHORT 2, …).
    pub fn number(&mut self, tag_id: u16, value: u32) -> &mut Self {
        let size = match spec::tag_checks(tag_id).numeric_size() {
            0 => 4,
            n => n,
        };
        if size < 4 && value >> (8 * size) != 0 {
            self.fail(EncodeError::NotNumeric { tag: tag_id });
            return self;
        }
        let be = value.to_be_bytes();
        self.field(tag_id, be.get(4 - size..).unwrap_or(&be))
    }

    /// Whether a named variable or array element of `data_len` bytes may be written: name and
    /// value within their limits, no NUL inside them, the message's total within 2000 bytes.
    fn check_named(&mut self, tag_id: u16, name: &str, value: &str, data_len: usize) -> bool {
        if has_nul(name.as_bytes()) || has_nul(value.as_bytes()) {
            self.fail(EncodeError::NulInText { tag: tag_id });
            return false;
        }
        let total = self.named_total + self.version.field_header_len() + data_len;
        if total > MAX_NAMED_DATA {
            self.fail(EncodeError::TooMuchNamedData { total });
            return false;
        }
        self.named_total = total;
        if name.len() + 1 > MAX_VARIABLE_NAME {
            self.fail(EncodeError::ValueTooLong {
                tag: tag_id,
                length: name.len() + 1,
                max: MAX_VARIABLE_NAME,
            });
            return false;
        }
        if value.len() + 1 > MAX_VARIABLE_VALUE {
            self.fail(EncodeError::ValueTooLong {
                tag: tag_id,
                length: value.len() + 1,
                max: MAX_VARIABLE_VALUE,
            });
            return false;
        }
        true
    }

    /// Append a named variable (ECC variable): `name\0value\0`.
    pub fn named_var(&mut self, name: &str, value: &str) -> &mut Self {
        if self.check_named(
            tag::NAMED_VARIABLE,
            name,
            value,
            name.len() + value.len() + 2,
        ) {
            let (name, value) = (name.as_bytes(), value.as_bytes());
            let len = name.len() + value.len() + 2;
            if self.header(tag::NAMED_VARIABLE, len) {
                let start = self.len;
                self.len += len;
                if let Some(dst) = self.buf.get_mut(start..self.len) {
                    put_text(dst, name, value);
                }
            }
        }
        self
    }

    /// Append a named array element: `index name\0value\0`.
    pub fn named_array(&mut self, index: u8, name: &str, value: &str) -> &mut Self {
        if self.check_named(tag::NAMED_ARRAY, name, value, name.len() + value.len() + 3) {
            self.field_parts(
                tag::NAMED_ARRAY,
                &[&[index], name.as_bytes(), &[0], value.as_bytes(), &[0]],
            );
        }
        self
    }

    /// Append the tag and length of a floating field whose `len` data bytes the caller then
    /// writes with [`Encoder::raw`] (data produced in pieces, such as hex text).
    pub fn field_header(&mut self, tag_id: u16, len: usize) -> &mut Self {
        self.header(tag_id, len);
        self
    }

    /// Append a field's tag and length and count the field; `false` (and the error kept) when
    /// the length does not fit the version's length width.
    fn header(&mut self, tag_id: u16, len: usize) -> bool {
        let max = self.version.max_field_len();
        if len > max {
            self.fail(EncodeError::ValueTooLong {
                tag: tag_id,
                length: len,
                max,
            });
            return false;
        }
        // max_field_len is at most 0xFFFF.
        let len16 = u16::try_from(len).unwrap_or(u16::MAX);
        let start = self.len;
        let [t0, t1] = tag_id.to_be_bytes();
        let [l0, l1] = len16.to_be_bytes();
        // Written only while the frame fits the buffer (`finish` reports it otherwise).
        self.len += match (self.version.tag_width(), self.version.length_width()) {
            (1, _) => {
                put(self.buf, start, [t1, l1]);
                2
            }
            (_, 1) => {
                put(self.buf, start, [t0, t1, l1]);
                3
            }
            _ => {
                put(self.buf, start, [t0, t1, l0, l1]);
                4
            }
        };
        if let Some(plan) = self.plan {
            for (c, n) in plan.counts.iter().zip(self.counts.iter_mut()) {
                if c.tag == tag_id {
                    *n = n.saturating_add(1);
                }
            }
        }
        true
    }

    /// Append raw body bytes (a message without a known layout, or field data after
    /// [`Encoder::field_header`]).
    pub fn raw(&mut self, data: &[u8]) -> &mut Self {
        let start = self.len;
        self.len += data.len();
        if self.fits() {
            if let Some(dst) = self.buf.get_mut(start..self.len) {
                dst.copy_from_slice(data);
            }
        }
        self
    }

    /// Finish the frame: write its length and the counts the caller did not set. Returns the
    /// frame's size, or the first error met.
    pub fn finish(self) -> Result<usize, EncodeError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if !self.fits() {
            return Err(EncodeError::BufferTooSmall { needed: self.len });
        }
        let body_len = u32::try_from(self.len - HEADER_LEN).unwrap_or(u32::MAX);
        write_uint(self.buf, 0, 4, body_len);
        if let Some(plan) = self.plan {
            for (i, (c, n)) in plan.counts.iter().zip(self.counts).enumerate() {
                let explicit = self.explicit >> i & 1 != 0;
                if explicit || u32::from(c.since_version) > self.version.number() {
                    continue;
                }
                let at = HEADER_LEN + usize::from(c.offset);
                write_uint(self.buf, at, usize::from(c.size), n);
            }
        }
        Ok(self.len)
    }
}

/// Whether `text` holds a NUL byte.
fn has_nul(text: &[u8]) -> bool {
    find_nul(text).is_some()
}

/// Write `name NUL value NUL` into `dst`, which has exactly that size.
fn put_text(dst: &mut [u8], name: &[u8], value: &[u8]) {
    let Some((n, rest)) = dst.split_at_mut_checked(name.len()) else {
        return;
    };
    n.copy_from_slice(name);
    let Some((nul, rest)) = rest.split_first_mut() else {
        return;
    };
    *nul = 0;
    let Some((v, rest)) = rest.split_at_mut_checked(value.len()) else {
        return;
    };
    v.copy_from_slice(value);
    if let Some(nul) = rest.first_mut() {
        *nul = 0;
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Encoder<'_> {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(
            f,
            "Encoder {{ type: {}, len: {}, error: {} }}",
            self.message_type(),
            self.len,
            self.error
        )
    }
}

#[cfg(test)]
mod tests {
    use super::{find_nul, has_nul};

    #[test]
    fn has_nul_finds_a_nul_anywhere_and_nothing_else() {
        for len in 0..40 {
            let clean: std::vec::Vec<u8> = (0..len)
                .map(|i| 1 + u8::try_from(i * 37 % 255).unwrap())
                .collect();
            assert!(!has_nul(&clean), "{len}");
            // Bytes whose high bit is set, and 0x01 next to them, are not NULs.
            assert!(!has_nul(&[
                0x80, 0x01, 0xFF, 0x81, 0x01, 0x01, 0x80, 0xFE, 0x01
            ]));
            for at in 0..len {
                let mut t = clean.clone();
                t[at] = 0;
                assert!(has_nul(&t), "{len} {at}");
                assert_eq!(find_nul(&t), Some(at), "{len} {at}");
                // A 0x01 after a NUL borrows in the word arithmetic: still the first NUL.
                if at + 1 < len {
                    t[at + 1] = 1;
                    assert_eq!(find_nul(&t), Some(at), "{len} {at}");
                }
                if at + 2 < len {
                    t[at + 2] = 0;
                    assert_eq!(find_nul(&t), Some(at), "{len} {at}");
                }
            }
        }
    }

    /// The phone reads a ConnectionDeviceType or CalledPartyDisposition as its number and
    /// echoes that number: the same bytes as a read and write through the enumeration.
    #[test]
    fn a_number_through_get_number_and_set_number_is_the_enumeration_s_round_trip() {
        use crate::wire::{
            decode, fields::set_call_data_req as f, CalledPartyDisposition, ConnectionDeviceType,
            Encoder, FixedValue, MessageType, WireVersion,
        };
        let version = WireVersion::new(17);
        let encode = |buf: &mut [u8; 64], typed: bool, n: u16| {
            let mut enc = Encoder::new(buf, MessageType::SetCallDataReq, version);
            if typed {
                enc.set(
                    f::CONNECTION_DEVICE_TYPE,
                    ConnectionDeviceType::from_raw(n.into()),
                )
                .set(
                    f::CALLED_PARTY_DISPOSITION,
                    CalledPartyDisposition::from_raw(n.into()),
                );
            } else {
                enc.set_number(f::CONNECTION_DEVICE_TYPE, n.into())
                    .set_number(f::CALLED_PARTY_DISPOSITION, n.into());
            }
            enc.finish().unwrap()
        };
        for n in (0..=u16::MAX).step_by(7).chain([u16::MAX, 0xFFFE, 1, 2, 3]) {
            let (mut a, mut b) = ([0u8; 64], [0u8; 64]);
            let (len_a, len_b) = (encode(&mut a, true, n), encode(&mut b, false, n));
            assert_eq!(a[..len_a], b[..len_b], "{n}");
            let msg = decode(&a[..len_a], version).unwrap();
            assert_eq!(msg.get_number(f::CONNECTION_DEVICE_TYPE), Some(n.into()));
            let disposition = msg.get(f::CALLED_PARTY_DISPOSITION);
            assert_eq!(disposition.map(|d| d.value()), Some(n));
        }
    }
}
