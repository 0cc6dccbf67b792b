//! The guide's decoded text form of messages ("trace text"), both ways, without allocation.
//!
//! ```text
//! MsgType: CALL_DATA_UPDATE_EVENT
//!   NumCTIClients: 0
//!   NumNamedVariables: 1
//!   CallType: CALLTYPE_RESERVATION
//!   ConnectionCallID: 16800098
//!   ConnectionDeviceID: 4020
//!   ExpandedCallContxt: <TotalBytes: 18>
//!   BAResponse: Skip
//! ```
//!
//! [`display`] renders a decoded [`Message`](crate::wire::Message): fixed fields in wire
//! order (reserved slots only when they differ from their constant, as `Reserved@OFFSET`), then
//! floating fields in the order received, named variables after an `ExpandedCallContxt` line.
//! [`TextParser`] reads text back and encodes each message straight into a caller's buffer.
//! Both follow the same table as the codec, so `decode(encode(text))` renders the text again.

mod lookup;
mod parse;
mod render;

pub use lookup::{resolve_field, FieldRef, FieldValue};
pub use parse::{parse_message, ParseError, ParseErrorKind, TextParser};
pub use render::{display, display_with, TraceDisplay, TraceOptions};

use crate::wire::spec::{Layout, TagType};
use crate::wire::tag;

/// The label that introduces named variables.
pub const EXPANDED_CALL_CONTEXT: &str = "ExpandedCallContxt";
/// What a secret prints as unless the caller asks for it.
pub const SECRET_MASK: &str = "********";

/// How trace text names one floating field of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FloatLabel {
    /// `Label: value`
    Plain(&'static str),
    /// `Label[i]: value` (a field of a repeated record)
    Grouped(&'static str),
    /// A named variable or array element (after `ExpandedCallContxt`).
    Named,
    /// `Tag<N>: value` (unknown to this message, or its label is also a fixed label)
    Tag,
}

/// How the floating field `tag` of a message with `layout` is labelled.
fn float_label(layout: Option<&'static Layout>, tag_id: u16) -> FloatLabel {
    if tag_id == tag::NAMED_VARIABLE || tag_id == tag::NAMED_ARRAY {
        return FloatLabel::Named;
    }
    let Some(layout) = layout else {
        return FloatLabel::Tag;
    };
    match layout.floating_tag(tag_id) {
        Some(f) if f.group.is_some() => FloatLabel::Grouped(f.label),
        Some(f) if !layout.label_clashes(f.label) => FloatLabel::Plain(f.label),
        _ => FloatLabel::Tag,
    }
}

/// Whether a tag's value is a secret (ClientPassword, AgentPassword).
fn is_secret(tag_id: u16) -> bool {
    tag_id == tag::CLIENT_PASSWORD || tag_id == tag::AGENT_PASSWORD
}

/// Whether a floating value of this type prints as a number.
fn is_numeric(ty: TagType) -> bool {
    ty.numeric_size().is_some()
}
