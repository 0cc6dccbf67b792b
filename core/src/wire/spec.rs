//! The shape of the protocol table: what `generated.rs` declares for every message, tag and
//! enumeration. Decode, encode, trace text and field lookup all read these declarations, so
//! they cannot disagree about a message.

/// Who sends a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Direction {
    /// Client (the phone) to server.
    ToServer,
    /// Server to client.
    ToClient,
}

/// How sure the protocol digest is that Unified CCX supports a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Support {
    /// A Unified CCX page or list names it.
    Yes,
    /// Almost certainly (the confirmation of a supported request, or marked "?" with evidence).
    Likely,
    /// Unified CCE only, or no evidence that Unified CCX sends or accepts it.
    No,
}

/// The wire type of a fixed-part field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FixedType {
    /// UCHAR, 1 byte.
    Uchar,
    /// USHORT, 2 bytes.
    Ushort,
    /// SHORT, 2 bytes, signed.
    Short,
    /// UINT, 4 bytes.
    Uint,
    /// INT, 4 bytes, signed.
    Int,
    /// BOOL, 2 bytes (0 or 1).
    Bool,
    /// TIME, 4 bytes of seconds since 1970.
    Time,
    /// Raw bytes of a fixed size (only reserved slots use it).
    Bytes(u8),
}

impl FixedType {
    /// Size on the wire in bytes.
    pub const fn size(self) -> usize {
        match self {
            Self::Uchar => 1,
            Self::Ushort | Self::Short | Self::Bool => 2,
            Self::Uint | Self::Int | Self::Time => 4,
            Self::Bytes(n) => n as usize,
        }
    }

    /// The all-ones "none" value of the type (0xFFFF / 0xFFFFFFFF), printed `N/A`.
    pub const fn none_value(self) -> Option<u32> {
        match self {
            Self::Ushort | Self::Short => Some(0xFFFF),
            Self::Uint | Self::Int | Self::Time => Some(0xFFFF_FFFF),
            Self::Uchar | Self::Bool | Self::Bytes(_) => None,
        }
    }
}

/// One field of a message's fixed part.
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FixedDef {
    #[cfg(feature = "names")]
    /// The guide's label; empty for a reserved slot.
    pub label: &'static str,
    #[cfg(feature = "names")]
    /// Other labels accepted on input.
    pub aliases: &'static [&'static str],
    /// Wire type.
    pub ty: FixedType,
    /// Offset from the first body byte.
    pub offset: u16,
    /// First protocol version that has the field (0: every version).
    pub since_version: u8,
    /// For a reserved slot: the constant Unified CCX sends and the client must send.
    pub reserved: Option<u32>,
    /// The enumeration that names the field's values.
    pub enumeration: Option<&'static EnumDef>,
}

impl FixedDef {
    /// Whether this is a reserved slot (no label of its own, a constant to send).
    pub fn is_reserved(&self) -> bool {
        self.reserved.is_some()
    }

    /// Whether the field is on the wire under protocol version `version`.
    pub fn present_in(&self, version: u32) -> bool {
        u32::from(self.since_version) <= version
    }

    #[cfg(feature = "names")]
    /// Whether `label` names this field (its label or an alias).
    pub fn is_named(&self, label: &str) -> bool {
        !self.is_reserved() && (self.label == label || self.aliases.contains(&label))
    }

    /// The value an encoder writes when the caller does not set the field: the reserved
    /// constant, else 0.
    pub fn default_value(&self) -> u32 {
        self.reserved.unwrap_or(0)
    }
}

/// One floating field a message may carry.
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FloatDef {
    /// Tag number (FieldDataID).
    pub tag: u16,
    #[cfg(feature = "names")]
    /// The label trace text uses for it in this message.
    pub label: &'static str,
    /// Whether the digest says the field is required.
    pub required: bool,
    /// Index into the fixed fields of the count that says how often it occurs.
    pub count_field: Option<u8>,
    /// Fields with the same group number form one repeated record, in declaration order.
    pub group: Option<u8>,
    /// First protocol version that has the field (0: every version).
    pub since_version: u8,
}

/// The layout of a message body.
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Layout {
    /// Size of the fixed part under the newest version.
    pub fixed_size: u16,
    /// Size of the fixed part without the fields that newer versions add.
    pub fixed_size_min: u16,
    /// Fixed fields in wire order.
    pub fixed: &'static [FixedDef],
    /// Floating fields the message may carry.
    pub floating: &'static [FloatDef],
    /// What decode and encode need of the layout, worked out by code generation.
    pub plan: &'static LayoutPlan,
}

impl Layout {
    /// Size of the fixed part under protocol version `version`.
    pub fn fixed_size_for(&self, version: u32) -> usize {
        self.plan.fixed_size_for(version)
    }

    #[cfg(feature = "names")]
    /// The fixed field named `label` (label or alias).
    pub fn fixed_named(&self, label: &str) -> Option<(usize, &'static FixedDef)> {
        self.fixed
            .iter()
            .enumerate()
            .find(|(_, f)| f.is_named(label))
    }

    /// The floating field of this message with tag `tag`.
    pub fn floating_tag(&self, tag: u16) -> Option<&'static FloatDef> {
        self.floating.iter().find(|f| f.tag == tag)
    }

    #[cfg(feature = "names")]
    /// The floating field of this message labelled `label` (its label in this message, or an
    /// alias of its tag).
    pub fn floating_named(&self, label: &str) -> Option<&'static FloatDef> {
        // Few tags have aliases: unless `label` is one of them, only labels can match.
        if !super::generated::TAG_ALIAS_NAMES.contains(&label) {
            return self.floating.iter().find(|f| f.label == label);
        }
        self.floating.iter().find(|f| {
            f.label == label
                || tag_def(f.tag).is_some_and(|t| t.name == f.label && t.aliases.contains(&label))
        })
    }

    #[cfg(feature = "names")]
    /// Whether a floating label of this message is also a fixed label (trace text then prints
    /// the floating field as `Tag<N>` or `Label[i]`).
    pub fn label_clashes(&self, label: &str) -> bool {
        self.fixed.iter().any(|f| f.is_named(label))
    }
}

/// One message of the protocol table.
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MessageDef {
    /// Message type number.
    pub id: u32,
    #[cfg(feature = "names")]
    /// The guide's name (`CALL_DELIVERED_EVENT`).
    pub name: &'static str,
    #[cfg(feature = "names")]
    /// Other names accepted on input (`CONSULT_CALL_REQ`).
    pub aliases: &'static [&'static str],
    /// Who sends it.
    pub direction: Direction,
    /// Unified CCX support.
    pub support: Support,
    /// The body layout; `None` where neither the digest nor the project gives one (the body is
    /// then kept as opaque bytes).
    pub layout: Option<&'static Layout>,
}

impl MessageDef {
    #[cfg(feature = "names")]
    /// Whether `name` names this message.
    pub fn is_named(&self, name: &str) -> bool {
        self.name == name || self.aliases.contains(&name)
    }
}

/// The value type of a floating field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TagType {
    /// NUL-terminated UTF-8 text; the NUL counts in the length.
    String,
    /// Raw bytes.
    Unspec,
    /// UCHAR.
    Uchar,
    /// USHORT.
    Ushort,
    /// SHORT.
    Short,
    /// UINT.
    Uint,
    /// INT.
    Int,
    /// BOOL (2 bytes).
    Bool,
    /// TIME (4 bytes).
    Time,
    /// A named variable (ECC): name NUL value NUL.
    NamedVariable,
    /// A named array element: index, name NUL, value NUL.
    NamedArray,
    /// The digest gives no type: kept as bytes.
    Opaque,
}

impl TagType {
    /// The exact data length of a numeric type.
    pub const fn numeric_size(self) -> Option<usize> {
        match self {
            Self::Uchar => Some(1),
            Self::Ushort | Self::Short | Self::Bool => Some(2),
            Self::Uint | Self::Int | Self::Time => Some(4),
            _ => None,
        }
    }
}

/// One floating-field tag.
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TagDef {
    /// Tag number.
    pub id: u16,
    #[cfg(feature = "names")]
    /// The guide's name.
    pub name: &'static str,
    #[cfg(feature = "names")]
    /// Other names accepted on input.
    pub aliases: &'static [&'static str],
    /// Value type.
    pub ty: TagType,
    /// Largest data length (a STRING's max counts its NUL); 0 where the digest gives none.
    pub max: u16,
    /// The enumeration that names its values.
    pub enumeration: Option<&'static EnumDef>,
}

/// Whether an enumeration lists values or bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EnumKind {
    /// One value at a time.
    Values,
    /// A mask of bits.
    Bits,
}

/// One named value of an enumeration.
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EnumValue {
    /// Wire value.
    pub value: u32,
    /// Name printed in trace text.
    pub name: &'static str,
    /// Other names accepted on input.
    pub aliases: &'static [&'static str],
}

/// An enumeration of the protocol table.
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EnumDef {
    #[cfg(feature = "names")]
    /// Its name (`AgentState`).
    pub name: &'static str,
    /// Values or bits.
    pub kind: EnumKind,
    /// Trace text prints the value as a number even where it has a name.
    pub print_numeric: bool,
    #[cfg(feature = "names")]
    /// The named values.
    pub values: &'static [EnumValue],
}

impl EnumDef {
    /// The printed name of `value` (always `None` without the `names` feature: the values
    /// print as numbers).
    pub fn name_of(&self, value: u32) -> Option<&'static str> {
        #[cfg(feature = "names")]
        return self
            .values
            .iter()
            .find(|v| v.value == value)
            .map(|v| v.name);
        #[cfg(not(feature = "names"))]
        {
            let _ = value;
            None
        }
    }

    #[cfg(feature = "names")]
    /// The value named `name` (name or alias).
    pub fn value_of(&self, name: &str) -> Option<u32> {
        self.values
            .iter()
            .find(|v| v.name == name || v.aliases.contains(&name))
            .map(|v| v.value)
    }
}

/// One count in a message's fixed part and the floating field it counts (a repeated record
/// is counted by its first field). Generated per layout, so decode counts while it walks the
/// floating fields once, and the encoder counts while it writes them.
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CountPlan {
    /// The counted tag.
    pub tag: u16,
    /// Body offset of the count.
    pub offset: u16,
    /// Size of the count (1, 2 or 4 bytes).
    pub size: u8,
    /// First protocol version with the count (0: every version).
    pub since_version: u8,
    /// The count's label (kept without the `names` feature: errors name it).
    pub field: &'static str,
}

/// What decode and encode need of a layout, worked out by code generation: no names and no
/// per-field entries, so a phone that links only these leaves the full table out.
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LayoutPlan {
    /// The fixed part's size from each protocol version on, ascending: `(since, size)`.
    pub fixed_sizes: &'static [(u8, u16)],
    /// The fixed part under the newest version as an encoder starts it (reserved constants, 0
    /// elsewhere); an older version's fixed part is a prefix of it.
    pub defaults: &'static [u8],
    /// Every fixed field in wire order, packed (the same order as [`Layout::fixed`]).
    pub fields: &'static [FieldSlot],
    /// The counts in the fixed part, in table order (the order their mismatches are reported).
    pub counts: &'static [CountPlan],
    /// The first fixed field is the InvokeID (UINT at offset 0).
    pub invoke_id: bool,
}

impl LayoutPlan {
    /// Size of the fixed part under protocol version `version`.
    pub fn fixed_size_for(&self, version: u32) -> usize {
        let mut size = 0;
        for &(since, n) in self.fixed_sizes {
            if u32::from(since) <= version {
                size = usize::from(n);
            }
        }
        size
    }
}

/// One fixed field, packed: where it is, from which version, and how it is written.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FieldSlot {
    /// Body offset.
    pub offset: u16,
    /// First protocol version with the field (0: every version).
    pub since_version: u8,
    /// Size in bytes (1, 2 or 4) of a number; 0x80 + size of a reserved byte slot.
    pub kind: u8,
}

impl FieldSlot {
    /// Size in bytes.
    pub fn size(self) -> usize {
        usize::from(self.kind & 0x7F)
    }

    /// Whether the field is a reserved byte slot (raw bytes rather than a number).
    pub fn is_bytes(self) -> bool {
        self.kind & 0x80 != 0
    }

    /// Whether the field is on the wire under protocol version `version`.
    pub fn present_in(self, version: u32) -> bool {
        u32::from(self.since_version) <= version
    }
}

/// The packed entry of one message: what decode and encode read (see [`LayoutPlan`]).
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MessagePlan {
    /// Message type number.
    pub id: u32,
    /// Who sends it.
    pub direction: Direction,
    /// The body's plan; `None` where the message has no known layout.
    pub layout: Option<&'static LayoutPlan>,
}

/// Position of message `id` in [`MESSAGES`](super::MESSAGES) and [`PLANS`](super::PLANS).
pub(crate) fn message_index(id: u32) -> Option<usize> {
    let i = usize::try_from(id).ok()?;
    match super::generated::MESSAGE_INDEX.get(i) {
        Some(&n) if n > 0 => Some(usize::from(n) - 1),
        _ => None,
    }
}

/// The packed entry of message `id`.
pub fn message_plan(id: u32) -> Option<&'static MessagePlan> {
    super::generated::PLANS.get(message_index(id)?)
}

/// The message with type number `id`.
pub fn message_def(id: u32) -> Option<&'static MessageDef> {
    super::generated::MESSAGES.get(message_index(id)?)
}

/// The name of message `id`; `None` when unknown, and always without the `names` feature
/// (callers print the number then).
pub fn message_name(id: u32) -> Option<&'static str> {
    #[cfg(feature = "names")]
    return super::generated::MESSAGE_NAMES
        .get(message_index(id)?)
        .copied();
    #[cfg(not(feature = "names"))]
    {
        let _ = id;
        None
    }
}

/// The name of tag `id`; `None` when unknown, and always without the `names` feature.
pub fn tag_name(id: u16) -> Option<&'static str> {
    #[cfg(feature = "names")]
    return super::generated::TAG_NAMES.get(tag_index(id)?).copied();
    #[cfg(not(feature = "names"))]
    {
        let _ = id;
        None
    }
}

/// The message named `name` (name or alias).
#[cfg(feature = "names")]
pub fn message_named(name: &str) -> Option<&'static MessageDef> {
    super::generated::MESSAGES.iter().find(|m| m.is_named(name))
}

/// Position of tag `id` in [`TAGS`](super::TAGS).
fn tag_index(id: u16) -> Option<usize> {
    match super::generated::TAG_INDEX.get(usize::from(id)) {
        Some(&n) if n > 0 => Some(usize::from(n) - 1),
        _ => None,
    }
}

/// The packed checks of tag `id` (0 for a tag the table does not know): see
/// [`TagChecks`].
#[inline]
pub(crate) fn tag_checks(id: u16) -> TagChecks {
    TagChecks(
        tag_index(id)
            .and_then(|i| super::generated::TAG_PACKED.get(i))
            .copied()
            .unwrap_or(0),
    )
}

/// What decode and encode check of one tag, from one packed word.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TagChecks(u32);

impl TagChecks {
    /// Whether decode checks anything of the field beyond its length (a numeric size, a named
    /// variable's structure, a count).
    #[inline]
    pub(crate) fn needs_decode_check(self) -> bool {
        use super::generated::{TAG_COUNTED, TAG_NAMED, TAG_NUMERIC_SHIFT};
        self.0 & (TAG_COUNTED | TAG_NAMED | (7 << TAG_NUMERIC_SHIFT)) != 0
    }
    /// The data length a numeric type takes (0: not numeric).
    pub(crate) fn numeric_size(self) -> usize {
        ((self.0 >> super::generated::TAG_NUMERIC_SHIFT) & 7) as usize
    }
    /// A named variable or array element.
    pub(crate) fn is_named(self) -> bool {
        self.0 & super::generated::TAG_NAMED != 0
    }
    /// Some layout counts the tag.
    pub(crate) fn is_counted(self) -> bool {
        self.0 & super::generated::TAG_COUNTED != 0
    }
    /// A STRING.
    pub(crate) fn is_string(self) -> bool {
        self.0 & super::generated::TAG_STRING != 0
    }
    /// UNSPEC bytes.
    pub(crate) fn is_unspec(self) -> bool {
        self.0 & super::generated::TAG_UNSPEC != 0
    }
    /// Largest data length (0: none given).
    pub(crate) fn max(self) -> usize {
        (self.0 & 0xFFFF) as usize
    }
}

/// The tag with number `id`.
pub fn tag_def(id: u16) -> Option<&'static TagDef> {
    super::generated::TAGS.get(tag_index(id)?)
}

/// The tag named `name` (name or alias).
#[cfg(feature = "names")]
pub fn tag_named(name: &str) -> Option<&'static TagDef> {
    super::generated::TAGS
        .iter()
        .find(|t| t.name == name || t.aliases.contains(&name))
}
