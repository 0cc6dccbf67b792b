//! Field lookup by trace label: the one resolver that the parser and the flow runner share.

use super::parse::{cut, ParseErrorKind};
use super::{float_label, FloatLabel, EXPANDED_CALL_CONTEXT};
use crate::wire::spec::{FixedType, MessageDef};
use crate::wire::{read_uint, Message};

/// Which part of a message a trace label names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FieldRef<'t> {
    /// `ExpandedCallContxt`: the named variables' total size.
    ExpandedCallContext,
    /// `Body`: the opaque body of a message without a layout.
    Body,
    /// A fixed field: its index in the layout.
    Fixed(usize),
    /// A floating field by tag (`Label` or `Tag<N>`).
    Floating(u16),
    /// A field of a repeated record: `Label[record]`.
    Grouped {
        /// Tag.
        tag: u16,
        /// Record index.
        record: usize,
    },
    /// A named variable (after `ExpandedCallContxt`).
    NamedVar(&'t str),
    /// A named array element `Name[index]` (after `ExpandedCallContxt`).
    NamedArray {
        /// Name.
        name: &'t str,
        /// Element index.
        index: u8,
    },
}

/// A value found by [`Message::lookup`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FieldValue<'a> {
    /// A number (fixed fields, numeric floating fields, the named-variable total).
    Number(u32),
    /// Raw bytes (STRING, UNSPEC and unknown floating fields, reserved byte slots, bodies).
    Bytes(&'a [u8]),
    /// A named variable's value.
    Text(&'a str),
}

/// What `label` names in message `def`. `after_context` says whether an
/// `ExpandedCallContxt` line came before it (only then may a name be a named variable).
pub fn resolve_field<'t>(
    def: Option<&'static MessageDef>,
    label: &'t str,
    after_context: bool,
) -> Result<FieldRef<'t>, ParseErrorKind> {
    let unknown = || ParseErrorKind::UnknownField {
        message: def.map(|d| d.name).unwrap_or("this message"),
        label: cut(label),
    };
    let bad = |expected| ParseErrorKind::BadValue {
        label: cut(label),
        expected,
    };
    if label == EXPANDED_CALL_CONTEXT {
        return Ok(FieldRef::ExpandedCallContext);
    }
    let layout = def.and_then(|d| d.layout);
    if label == "Body" && layout.is_none() {
        return Ok(FieldRef::Body);
    }
    if let Some(n) = label.strip_prefix("Tag<").and_then(|r| r.strip_suffix('>')) {
        return n
            .parse()
            .map(FieldRef::Floating)
            .map_err(|_| bad("Tag<number>"));
    }
    let layout = layout.ok_or_else(unknown)?;
    if let Some(off) = label.strip_prefix("Reserved@") {
        let off: u16 = off.parse().map_err(|_| bad("Reserved@OFFSET"))?;
        return layout
            .fixed
            .iter()
            .position(|f| f.offset == off && f.is_reserved())
            .map(FieldRef::Fixed)
            .ok_or_else(unknown);
    }
    if let Some((base, index)) = split_index(label) {
        if let Some(f) = layout.floating_named(base).filter(|f| f.group.is_some()) {
            return Ok(FieldRef::Grouped {
                tag: f.tag,
                record: index,
            });
        }
        if after_context {
            let index = u8::try_from(index).map_err(|_| bad("an array index 0..=255"))?;
            return Ok(FieldRef::NamedArray { name: base, index });
        }
        return Err(unknown());
    }
    if let Some((index, _)) = layout.fixed_named(label) {
        return Ok(FieldRef::Fixed(index));
    }
    if let Some(f) = layout.floating_named(label) {
        if matches!(float_label(Some(layout), f.tag), FloatLabel::Plain(_)) {
            return Ok(FieldRef::Floating(f.tag));
        }
    }
    if after_context {
        return Ok(FieldRef::NamedVar(label));
    }
    Err(unknown())
}

/// `Name[3]` -> ("Name", 3).
pub(super) fn split_index(label: &str) -> Option<(&str, usize)> {
    let (base, rest) = label.split_once('[')?;
    let index = rest.strip_suffix(']')?.parse().ok()?;
    Some((base, index))
}

impl<'a> Message<'a> {
    /// The value a [`FieldRef`] names; `occurrence` picks among repeated plain floating
    /// fields and named variables of the same name (0 = the first).
    pub fn lookup(&self, field: &FieldRef<'_>, occurrence: usize) -> Option<FieldValue<'a>> {
        match *field {
            FieldRef::ExpandedCallContext => u32::try_from(self.named_total_bytes())
                .ok()
                .map(FieldValue::Number),
            FieldRef::Body => Some(FieldValue::Bytes(self.body())),
            FieldRef::Fixed(i) => {
                let def = self.layout()?.fixed.get(i)?;
                if let FixedType::Bytes(n) = def.ty {
                    let at = usize::from(def.offset);
                    return self
                        .fixed_part()
                        .get(at..at + usize::from(n))
                        .map(FieldValue::Bytes);
                }
                self.fixed_raw(def).map(FieldValue::Number)
            }
            FieldRef::Floating(tag) => self.floating_value(tag, occurrence),
            FieldRef::Grouped { tag, record } => self.floating_value(tag, record),
            FieldRef::NamedVar(name) => self
                .named_vars()
                .filter(|v| v.index.is_none() && v.name == name)
                .nth(occurrence)
                .map(|v| FieldValue::Text(v.value)),
            FieldRef::NamedArray { name, index } => self
                .named_vars()
                .filter(|v| v.index == Some(index) && v.name == name)
                .nth(occurrence)
                .map(|v| FieldValue::Text(v.value)),
        }
    }

    fn floating_value(&self, tag: u16, occurrence: usize) -> Option<FieldValue<'a>> {
        let data = self.fields().filter(|f| f.tag == tag).nth(occurrence)?.data;
        let numeric = crate::wire::tag_def(tag).and_then(|d| d.ty.numeric_size());
        match numeric {
            Some(n) if n == data.len() => read_uint(data, 0, n).map(FieldValue::Number),
            _ => Some(FieldValue::Bytes(data)),
        }
    }
}
