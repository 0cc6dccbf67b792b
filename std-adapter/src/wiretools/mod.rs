//! Tools for the engineer at a real contact center: decode a packet capture (`ccx decode
//! --pcap`), a Unified CCX MIVR or Finesse log (`ccx decode --log`), sit between a client and
//! a server as a decoding proxy (`ccx proxy`), and write what was seen as a flow file.
//!
//! Everything reads the same protocol table as the codec: a message is decoded by
//! [`ccx_cti::wire::decode`] and printed by [`ccx_cti::trace`], so these tools, `ccx decode`
//! and the Wireshark dissector that code generation writes (`tools/wireshark/ccxcti.lua`)
//! cannot disagree about a label or a value.

pub mod capture;
pub mod cli;
pub mod finesse;
pub mod flowgen;
pub mod javanames;
pub mod logs;
pub mod mivr;
pub mod pcap;
pub mod proxy;

use ccx_cti::trace::{self, TraceOptions};
use ccx_cti::wire::spec::{FixedType, TagType};
use ccx_cti::wire::{decode, tag, tag_def, WireVersion};
use serde::Serialize;

/// One field of a decoded message as trace text prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldOut {
    /// The trace label without a record index (`CSQID`, not `CSQID[0]`); a named variable's
    /// name; `Tag<N>` or `Reserved@OFFSET` as trace text prints them.
    pub label: String,
    /// The value as trace text prints it (enumeration names, `N/A`, `********`, hex).
    pub value: String,
    /// For a numeric field, the number on the wire (signed for SHORT and INT), as a
    /// dissector's typed field holds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<i64>,
    /// Whether this is a named (ECC) variable.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub named: bool,
}

/// One decoded message: its name, declared length, fields and trace text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageOut {
    /// The message name as trace text prints it (a number for an unknown type).
    pub msgtype: String,
    /// The length field of the header (body bytes).
    pub length: u32,
    /// The fields in wire order.
    pub fields: Vec<FieldOut>,
    /// The trace text (FORMAT.md §1), ending with a newline.
    #[serde(skip)]
    pub text: String,
}

/// Decode one whole frame (header included) into its fields and trace text.
pub fn describe(
    frame: &[u8],
    version: WireVersion,
    show_secrets: bool,
) -> Result<MessageOut, String> {
    let msg = decode(frame, version).map_err(|e| e.to_string())?;
    let opts = TraceOptions {
        show_secrets,
        indent: 2,
    };
    let text = trace::display_with(&msg, opts).to_string();
    let msgtype = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("MsgType: "))
        .unwrap_or("")
        .to_string();
    let raws = raw_values(&msg);
    let mut fields = Vec::new();
    let mut raw_iter = raws.into_iter();
    for line in text.lines().skip(1) {
        let Some((label, value)) = line.trim_start().split_once(':') else {
            continue;
        };
        let value = value.strip_prefix(' ').unwrap_or(value).to_string();
        if label == trace::EXPANDED_CALL_CONTEXT {
            continue;
        }
        let (raw, named) = raw_iter.next().unwrap_or((None, false));
        let label = match label.split_once('[') {
            Some((base, _)) if !named => base.to_string(),
            _ => label.to_string(),
        };
        fields.push(FieldOut {
            label,
            value,
            raw,
            named,
        });
    }
    Ok(MessageOut {
        msgtype,
        length: u32::try_from(frame.len().saturating_sub(8)).unwrap_or(u32::MAX),
        fields,
        text,
    })
}

/// The wire number behind each line trace text prints for `msg` (after `MsgType`, the
/// `ExpandedCallContxt` line left out), in the same order: `Some` for a field printed from a
/// number, and whether the line is a named variable.
fn raw_values(msg: &ccx_cti::wire::Message<'_>) -> Vec<(Option<i64>, bool)> {
    let mut out = Vec::new();
    let Some(layout) = msg.layout() else {
        if !msg.body().is_empty() {
            out.push((None, false));
        }
        return out;
    };
    let version = msg.version().number();
    for def in layout.fixed.iter().filter(|d| d.present_in(version)) {
        if def.is_reserved() {
            let printed = match def.ty {
                FixedType::Bytes(n) => {
                    let at = usize::from(def.offset);
                    let bytes = msg.fixed_part().get(at..at + usize::from(n)).unwrap_or(&[]);
                    bytes
                        .iter()
                        .any(|b| u32::from(*b) != def.reserved.unwrap_or(0))
                }
                _ => msg.fixed_raw(def) != Some(def.reserved.unwrap_or(0)),
            };
            if printed {
                out.push((fixed_number(msg, def), false));
            }
            continue;
        }
        out.push((fixed_number(msg, def), false));
    }
    for field in msg.fields() {
        if field.tag == tag::NAMED_VARIABLE || field.tag == tag::NAMED_ARRAY {
            out.push((None, true));
            continue;
        }
        let def = tag_def(field.tag);
        let ty = def.map(|d| d.ty).unwrap_or(TagType::Opaque);
        let secret = field.tag == tag::CLIENT_PASSWORD || field.tag == tag::AGENT_PASSWORD;
        let raw = match ty.numeric_size() {
            Some(n) if n == field.data.len() && !secret => {
                let v = field
                    .data
                    .iter()
                    .fold(0u64, |acc, b| acc << 8 | u64::from(*b));
                Some(match (ty, n) {
                    (TagType::Short, 2) => i64::from(v as u16 as i16),
                    (TagType::Int, 4) => i64::from(v as u32 as i32),
                    _ => v as i64,
                })
            }
            _ => None,
        };
        out.push((raw, false));
    }
    out
}

fn fixed_number(
    msg: &ccx_cti::wire::Message<'_>,
    def: &ccx_cti::wire::spec::FixedDef,
) -> Option<i64> {
    let raw = msg.fixed_raw(def)?;
    Some(match def.ty {
        FixedType::Bytes(_) => return None,
        FixedType::Short => i64::from(raw as u16 as i16),
        FixedType::Int => i64::from(raw as i32),
        _ => i64::from(raw),
    })
}

/// How to decode: the version for streams that do not say, and whether to show passwords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Protocol version of a stream whose OPEN_REQ was not seen (10-18).
    pub version: u32,
    /// Width of a floating field's length under version 18.
    pub v18_length_width: u8,
    /// Print passwords instead of `********`.
    pub show_secrets: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            version: 17,
            v18_length_width: ccx_cti::wire::V18_LENGTH_WIDTH_DEFAULT,
            show_secrets: false,
        }
    }
}

impl DecodeOptions {
    /// The widths for a stream that announced `seen` (or did not).
    pub fn wire_version(&self, seen: Option<u32>) -> WireVersion {
        WireVersion::new(seen.unwrap_or(self.version)).with_v18_length_width(self.v18_length_width)
    }
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Way {
    /// From the client (phone, desktop, Finesse) to the CTI server.
    ToServer,
    /// From the CTI server to the client.
    ToClient,
}

impl Way {
    /// `client -> server` or `server -> client`.
    pub fn arrow(self) -> &'static str {
        match self {
            Way::ToServer => "client -> server",
            Way::ToClient => "server -> client",
        }
    }
}

/// Seconds since 1970 as `YYYY-MM-DD HH:MM:SS.ffffff` (UTC).
pub fn utc_text(secs: f64) -> String {
    let micros = (secs * 1_000_000.0).round() as i64;
    let (s, us) = (micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000));
    let (days, rem) = (s.div_euclid(86_400), s.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{us:06}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_text_counts_days_right() {
        assert_eq!(utc_text(0.0), "1970-01-01 00:00:00.000000");
        assert_eq!(utc_text(1_796_004_951.25), "2026-11-30 02:15:51.250000");
    }
}
