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
    /// The guide's label; empty for a reserved slot.
    pub label: &'static str,
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
    /// Whether this is a reserved slot (no label of its own).
    pub fn is_reserved(&self) -> bool {
        self.label.is_empty()
    }

    /// Whether the field is on the wire under protocol version `version`.
    pub fn present_in(&self, version: u32) -> bool {
        u32::from(self.since_version) <= version
    }

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
}

impl Layout {
    /// Size of the fixed part under protocol version `version`.
    pub fn fixed_size_for(&self, version: u32) -> usize {
        self.fixed
            .iter()
            .filter(|f| f.present_in(version))
            .map(|f| usize::from(f.offset) + f.ty.size())
            .max()
            .unwrap_or(0)
    }

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

    /// The floating field of this message labelled `label` (its label in this message, or an
    /// alias of its tag).
    pub fn floating_named(&self, label: &str) -> Option<&'static FloatDef> {
        self.floating.iter().find(|f| {
            f.label == label
                || tag_def(f.tag).is_some_and(|t| t.name == f.label && t.aliases.contains(&label))
        })
    }

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
    /// The guide's name (`CALL_DELIVERED_EVENT`).
    pub name: &'static str,
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
    /// The guide's name.
    pub name: &'static str,
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
    /// Its name (`AgentState`).
    pub name: &'static str,
    /// Values or bits.
    pub kind: EnumKind,
    /// Trace text prints the value as a number even where it has a name.
    pub print_numeric: bool,
    /// The named values.
    pub values: &'static [EnumValue],
}

impl EnumDef {
    /// The printed name of `value`.
    pub fn name_of(&self, value: u32) -> Option<&'static str> {
        self.values
            .iter()
            .find(|v| v.value == value)
            .map(|v| v.name)
    }

    /// The value named `name` (name or alias).
    pub fn value_of(&self, name: &str) -> Option<u32> {
        self.values
            .iter()
            .find(|v| v.name == name || v.aliases.contains(&name))
            .map(|v| v.value)
    }
}

/// The entry with key `key` of a table sorted by that key.
fn sorted_lookup<T, K: Ord>(
    table: &'static [T],
    key: K,
    key_of: impl Fn(&T) -> K,
) -> Option<&'static T> {
    table
        .binary_search_by_key(&key, key_of)
        .ok()
        .and_then(|i| table.get(i))
}

/// The message with type number `id`.
pub fn message_def(id: u32) -> Option<&'static MessageDef> {
    sorted_lookup(super::generated::MESSAGES, id, |m| m.id)
}

/// The message named `name` (name or alias).
pub fn message_named(name: &str) -> Option<&'static MessageDef> {
    super::generated::MESSAGES.iter().find(|m| m.is_named(name))
}

/// The tag with number `id`.
pub fn tag_def(id: u16) -> Option<&'static TagDef> {
    sorted_lookup(super::generated::TAGS, id, |t| t.id)
}

/// The tag named `name` (name or alias).
pub fn tag_named(name: &str) -> Option<&'static TagDef> {
    super::generated::TAGS
        .iter()
        .find(|t| t.name == name || t.aliases.contains(&name))
}
