//! Rendering a decoded message as trace text.

use core::fmt::{self, Write};

use super::{float_label, is_numeric, is_secret, FloatLabel, EXPANDED_CALL_CONTEXT, SECRET_MASK};
use crate::wire::decode::parse_named;
use crate::wire::spec::{self, EnumDef, EnumKind, FixedDef, FixedType, TagType};
use crate::wire::{read_uint, Message};

/// Options for rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TraceOptions {
    /// Print passwords instead of `********`.
    pub show_secrets: bool,
    /// Spaces before each field line.
    pub indent: usize,
}

impl Default for TraceOptions {
    fn default() -> Self {
        TraceOptions {
            show_secrets: false,
            indent: 2,
        }
    }
}

/// A message rendered as trace text (implements `Display`; ends with a newline).
#[derive(Debug, Clone, Copy)]
pub struct TraceDisplay<'m, 'a> {
    msg: &'m Message<'a>,
    opts: TraceOptions,
}

/// Render `msg` as trace text with secrets masked.
pub fn display<'m, 'a>(msg: &'m Message<'a>) -> TraceDisplay<'m, 'a> {
    TraceDisplay {
        msg,
        opts: TraceOptions::default(),
    }
}

/// Render `msg` as trace text with the given options.
pub fn display_with<'m, 'a>(msg: &'m Message<'a>, opts: TraceOptions) -> TraceDisplay<'m, 'a> {
    TraceDisplay { msg, opts }
}

/// Writes the blank after `Label:` only when a value follows, so an empty value leaves no
/// trailing space (the guide prints `CustomerPhoneNumber:`).
struct ValueWriter<'f, 'g> {
    f: &'f mut fmt::Formatter<'g>,
    started: bool,
}

impl Write for ValueWriter<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if !self.started && !s.is_empty() {
            self.started = true;
            self.f.write_char(' ')?;
        }
        self.f.write_str(s)
    }
}

/// Writes `data` as `0x` and lower-case hex digits.
struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("0x")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// Text that trace text can carry unchanged: parsing it back gives the same bytes.
fn printable_text(data: &[u8]) -> Option<&str> {
    // Exactly one NUL, at the end (a STRING as Unified CCX sends it).
    let (last, body) = data.split_last()?;
    if *last != 0 || body.contains(&0) {
        return None;
    }
    let s = core::str::from_utf8(body).ok()?;
    let plain = s.trim() == s && !s.chars().any(char::is_control) && !looks_like_hex(s);
    plain.then_some(s)
}

/// Whether a value would be read back as hex (`0x` and hex digits).
pub(super) fn looks_like_hex(s: &str) -> bool {
    s.strip_prefix("0x")
        .is_some_and(|h| h.len() % 2 == 0 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Write a number of a field with `ty`, naming it through `en` where it can.
fn write_number(
    f: &mut dyn Write,
    raw: u32,
    none: Option<u32>,
    signed_size: Option<usize>,
    en: Option<&EnumDef>,
) -> fmt::Result {
    if let Some(en) = en.filter(|e| e.kind == EnumKind::Values && !e.print_numeric) {
        if let Some(name) = en.name_of(raw) {
            return f.write_str(name);
        }
    }
    if none == Some(raw) {
        return f.write_str("N/A");
    }
    match signed_size {
        Some(2) => write!(f, "{}", u16::try_from(raw & 0xFFFF).unwrap_or(0) as i16),
        Some(4) => write!(f, "{}", raw as i32),
        _ => write!(f, "{raw}"),
    }
}

fn fixed_value(f: &mut dyn Write, msg: &Message<'_>, def: &FixedDef) -> fmt::Result {
    if let FixedType::Bytes(n) = def.ty {
        let at = usize::from(def.offset);
        let bytes = msg.fixed_part().get(at..at + usize::from(n)).unwrap_or(&[]);
        return write!(f, "{}", Hex(bytes));
    }
    let raw = msg.fixed_raw(def).unwrap_or(0);
    let signed = match def.ty {
        FixedType::Short => Some(2),
        FixedType::Int => Some(4),
        _ => None,
    };
    write_number(f, raw, def.ty.none_value(), signed, def.enumeration)
}

fn reserved_differs(msg: &Message<'_>, def: &FixedDef) -> bool {
    let expected = def.reserved.unwrap_or(0);
    match def.ty {
        FixedType::Bytes(n) => {
            let at = usize::from(def.offset);
            let bytes = msg.fixed_part().get(at..at + usize::from(n)).unwrap_or(&[]);
            bytes.iter().any(|b| u32::from(*b) != expected)
        }
        _ => msg.fixed_raw(def) != Some(expected),
    }
}

fn floating_value(f: &mut dyn Write, data: &[u8], tag_id: u16, opts: TraceOptions) -> fmt::Result {
    if is_secret(tag_id) && !opts.show_secrets {
        return f.write_str(SECRET_MASK);
    }
    let def = spec::tag_def(tag_id);
    let ty = def.map(|d| d.ty).unwrap_or(TagType::Opaque);
    if is_numeric(ty) && ty.numeric_size() == Some(data.len()) {
        let raw = read_uint(data, 0, data.len()).unwrap_or(0);
        let none = match data.len() {
            2 => Some(0xFFFF),
            4 => Some(0xFFFF_FFFF),
            _ => None,
        };
        let signed = matches!(ty, TagType::Short | TagType::Int).then_some(data.len());
        return write_number(f, raw, none, signed, def.and_then(|d| d.enumeration));
    }
    match ty {
        TagType::String | TagType::Opaque => match printable_text(data) {
            Some(s) => f.write_str(s),
            None => write!(f, "{}", Hex(data)),
        },
        _ => write!(f, "{}", Hex(data)),
    }
}

impl fmt::Display for TraceDisplay<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let msg = self.msg;
        // core::fmt refuses a run-time width beyond u16::MAX (it panics).
        let pad = self.opts.indent.min(usize::from(u16::MAX));
        match msg.def() {
            Some(def) => writeln!(f, "MsgType: {}", def.name)?,
            None => writeln!(f, "MsgType: {}", msg.message_type().id())?,
        }
        let Some(layout) = msg.layout() else {
            if !msg.body().is_empty() {
                writeln!(f, "{:pad$}Body: {}", "", Hex(msg.body()))?;
            }
            return Ok(());
        };
        let version = msg.version().number();
        for def in layout.fixed.iter().filter(|d| d.present_in(version)) {
            if def.is_reserved() {
                if reserved_differs(msg, def) {
                    write!(f, "{:pad$}Reserved@{}:", "", def.offset)?;
                    fixed_value(&mut ValueWriter { f, started: false }, msg, def)?;
                    f.write_char('\n')?;
                }
                continue;
            }
            indent(f, pad)?;
            f.write_str(def.label)?;
            f.write_char(':')?;
            fixed_value(&mut ValueWriter { f, started: false }, msg, def)?;
            f.write_char('\n')?;
        }
        let mut context_printed = false;
        for (i, field) in msg.fields().enumerate() {
            match float_label(Some(layout), field.tag) {
                FloatLabel::Named => {
                    if !context_printed {
                        writeln!(
                            f,
                            "{:pad$}{}: <TotalBytes: {}>",
                            "",
                            EXPANDED_CALL_CONTEXT,
                            msg.named_total_bytes()
                        )?;
                        context_printed = true;
                    }
                    // The field was checked by decode: it parses as the next named variable.
                    if let Ok(var) = parse_named(field.tag, field.data) {
                        if plain_named(msg, &var) {
                            match var.index {
                                Some(ix) => write!(f, "{:pad$}{}[{}]:", "", var.name, ix)?,
                                None => {
                                    indent(f, pad)?;
                                    f.write_str(var.name)?;
                                    f.write_char(':')?;
                                }
                            }
                            ValueWriter { f, started: false }.write_str(var.value)?;
                        } else {
                            // A name or value that would read back as something else in
                            // text travels as its raw bytes.
                            write!(f, "{:pad$}Tag<{}>: {}", "", field.tag, Hex(field.data))?;
                        }
                        f.write_char('\n')?;
                    }
                    continue;
                }
                // A value longer than its field allows decodes, but could not be encoded again
                // under its label: it travels as raw bytes.
                _ if exceeds_max(field.tag, field.data) => {
                    writeln!(f, "{:pad$}Tag<{}>: {}", "", field.tag, Hex(field.data))?;
                    continue;
                }
                FloatLabel::Plain(label) => {
                    indent(f, pad)?;
                    f.write_str(label)?;
                    f.write_char(':')?;
                }
                FloatLabel::Grouped(label) => {
                    let record = msg.fields().take(i).filter(|p| p.tag == field.tag).count();
                    write!(f, "{:pad$}{label}[{record}]:", "")?
                }
                FloatLabel::Tag => write!(f, "{:pad$}Tag<{}>:", "", field.tag)?,
            }
            floating_value(
                &mut ValueWriter { f, started: false },
                field.data,
                field.tag,
                self.opts,
            )?;
            f.write_char('\n')?;
        }
        Ok(())
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for TraceDisplay<'_, '_> {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(f, "TraceDisplay({})", self.msg)
    }
}

/// Write `pad` spaces (a run-time width through `{:pad$}` costs a formatting pass per line).
fn indent(f: &mut fmt::Formatter<'_>, pad: usize) -> fmt::Result {
    const SPACES: &str = "                                ";
    let mut left = pad;
    while left > 0 {
        let n = left.min(SPACES.len());
        f.write_str(SPACES.get(..n).unwrap_or(""))?;
        left -= n;
    }
    Ok(())
}

/// Whether a named variable can be written as `Name: value` (or `Name[i]: value`) and read
/// back as the same variable.
fn plain_named(msg: &Message<'_>, var: &crate::wire::NamedVar<'_>) -> bool {
    let name = var.name;
    let text_ok = |t: &str| {
        !t.starts_with(char::is_whitespace)
            && !t.ends_with(char::is_whitespace)
            && !t.chars().any(char::is_control)
    };
    let name_ok = !name.is_empty()
        && text_ok(name)
        && !name.starts_with('#')
        && !name.contains([':', '[', ']'])
        && reads_back_as_variable(msg, name);
    name_ok && text_ok(var.value)
}

/// Whether `name` (not empty, without `:`, `[`, `]`, not starting with `#`) names neither a
/// field of the message nor anything else trace text gives a meaning, so `Name: value` after
/// `ExpandedCallContxt` reads back as the variable. That is what `resolve_field` decides, with
/// the steps that cannot apply to such a name left out, and `Name[i]` of a record label also
/// refused (it would read back as that record's field).
fn reads_back_as_variable(msg: &Message<'_>, name: &str) -> bool {
    let fast = match msg.layout() {
        Some(layout) => {
            name != super::EXPANDED_CALL_CONTEXT
                && !(name.starts_with("Tag<") && name.ends_with('>'))
                && !name.starts_with("Reserved@")
                && layout.fixed_named(name).is_none()
                && layout.floating_named(name).is_none()
        }
        None => super::resolve_field(msg.def(), name, true)
            .is_ok_and(|r| r == super::FieldRef::NamedVar(name)),
    };
    debug_assert_eq!(
        fast,
        super::resolve_field(msg.def(), name, true)
            .is_ok_and(|r| r == super::FieldRef::NamedVar(name))
            && msg
                .layout()
                .is_none_or(|l| l.floating_named(name).is_none()),
        "{name}"
    );
    fast
}

/// Whether `data` is longer than the tag's documented maximum.
fn exceeds_max(tag_id: u16, data: &[u8]) -> bool {
    spec::tag_def(tag_id).is_some_and(|d| {
        d.max > 0
            && matches!(d.ty, TagType::String | TagType::Unspec)
            && data.len() > usize::from(d.max)
    })
}
