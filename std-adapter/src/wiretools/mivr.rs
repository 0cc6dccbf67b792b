//! Unified CCX MIVR log records (facility ICD_CTI).
//!
//! - Binary trace: `... writing... MHDR: 0000: 00 00 00 14 00 00 00 03  ........ MDATA: 0000:
//!   <16 bytes> <ascii> 0010: ...`, on one line or continued on the next ones. The header's
//!   8 bytes give the body length, so exactly that many bytes are read from the rows (16 a
//!   row, each row's offset checked), whatever the ASCII column holds; the frame is decoded.
//!   `writing` is the server sending, `reading`/`read` the server receiving.
//! - Object dumps: `Msg is {length=N type=NAME,key=value,...}` and `got an event message: {
//!   length=N type=NAME, key: value, ... }`.

use super::logs::{log_time, matching_close, object_message, split_items, LogRecord, RecordKind};
use super::{describe, DecodeOptions, Way};

/// Whether a line goes on a hex dump begun on an earlier line (`0010: 00 01 ...`, or
/// `MDATA: ...`).
pub fn is_dump_continuation(line: &str) -> bool {
    let t = line.trim_start();
    if t.starts_with("MDATA:") {
        return true;
    }
    let Some((off, rest)) = t.split_once(": ") else {
        return false;
    };
    off.len() == 4
        && off.chars().all(|c| c.is_ascii_hexdigit())
        && rest
            .split_whitespace()
            .next()
            .is_some_and(|tok| tok.len() == 2 && tok.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Read `count` bytes of hex-dump rows from `text` (`0000: xx xx ... ascii 0010: ...`).
///
/// Each row holds `min(16, left)` bytes after its offset; its ASCII column, when there is
/// one, is exactly that many characters and may hold blanks or anything that looks like hex,
/// so it is skipped by its width, not by its look.
fn read_rows(text: &str, count: usize, what: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(count);
    let mut rest = text.trim_start();
    while out.len() < count {
        let expected = format!("{:04x}:", out.len());
        let Some(offset) = rest.get(..5) else {
            return Err(format!(
                "{what}: {} of {count} bytes present; the dump ends early",
                out.len()
            ));
        };
        if !offset.eq_ignore_ascii_case(&expected) {
            let found: String = rest.chars().take(5).collect();
            return Err(format!(
                "{what}: `{found}` where the row `{expected}` was expected ({} of {count} bytes read)",
                out.len()
            ));
        }
        rest = rest.get(5..).unwrap_or("");
        let row = (count - out.len()).min(16);
        for _ in 0..row {
            rest = rest.trim_start();
            let tok = rest.get(..2).unwrap_or(rest);
            let byte = u8::from_str_radix(tok, 16)
                .ok()
                .filter(|_| tok.len() == 2)
                .ok_or_else(|| {
                    format!("{what}: `{tok}` at byte {} is not a hex byte", out.len())
                })?;
            out.push(byte);
            rest = rest.get(2..).unwrap_or("");
        }
        if out.len() == count {
            break;
        }
        // The ASCII column (if any): `row` characters after the blanks that follow the bytes.
        let next = format!("{:04x}:", out.len());
        let trimmed = rest.trim_start();
        let at_next = trimmed
            .get(..5)
            .is_some_and(|t| t.eq_ignore_ascii_case(&next));
        rest = if at_next && !looks_like_ascii(trimmed, row, &next) {
            // No ASCII column: the next row follows the bytes.
            trimmed
        } else {
            let skip: usize = trimmed.chars().take(row).map(char::len_utf8).sum();
            trimmed.get(skip..).unwrap_or("").trim_start()
        };
    }
    Ok(out)
}

/// Whether the `row` characters at the start of `text` are an ASCII column: after them comes
/// the next row's offset.
fn looks_like_ascii(text: &str, row: usize, next: &str) -> bool {
    let skip: usize = text.chars().take(row).map(char::len_utf8).sum();
    text.get(skip..)
        .map(str::trim_start)
        .and_then(|t| t.get(..5))
        .is_some_and(|t| t.eq_ignore_ascii_case(next))
}

/// A binary trace record: the exact frame, decoded. `version` is the session's version, set
/// from an OPEN_REQ record.
pub fn binary_record(
    line: &str,
    opts: &DecodeOptions,
    version: &mut Option<u32>,
) -> Result<LogRecord, String> {
    let hdr_at = line.find("MHDR:").ok_or("no MHDR")?;
    let head = line.get(..hdr_at).unwrap_or("");
    let lower = head.to_ascii_lowercase();
    let direction = match (lower.rfind("writing"), lower.rfind("reading")) {
        (Some(w), Some(r)) if r > w => Some(Way::ToServer),
        (Some(_), _) => Some(Way::ToClient),
        (None, Some(_)) => Some(Way::ToServer),
        (None, None) => None,
    };
    let marker = lower
        .rfind("writing")
        .or_else(|| lower.rfind("reading"))
        .unwrap_or(hdr_at);
    let time = log_time(line, marker);
    let after = line.get(hdr_at + 5..).unwrap_or("");
    let (hdr_text, data_text) = match after.find("MDATA:") {
        Some(p) => (
            after.get(..p).unwrap_or(""),
            after.get(p + 6..).unwrap_or(""),
        ),
        None => (after, ""),
    };
    let header = read_rows(hdr_text, 8, "MHDR")?;
    let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    if len > 12_492 {
        return Err(format!("MHDR declares {len} body bytes (more than 12492)"));
    }
    let body = if len == 0 {
        Vec::new()
    } else {
        if !after.contains("MDATA:") {
            return Err(format!(
                "MHDR declares {len} body bytes but there is no MDATA"
            ));
        }
        read_rows(data_text, len as usize, "MDATA")?
    };
    let mut frame = header;
    frame.extend_from_slice(&body);
    let type_id = u32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    if type_id == 3 && frame.len() >= 16 {
        let v = u32::from_be_bytes([frame[12], frame[13], frame[14], frame[15]]);
        if (10..=18).contains(&v) {
            *version = Some(v);
        }
    }
    let wv = opts.wire_version(*version);
    let message = describe(&frame, wv, opts.show_secrets).map_err(|e| {
        let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
        format!("frame does not decode: {e}: {hex}")
    })?;
    Ok(LogRecord {
        line: 0,
        time,
        kind: RecordKind::MivrBinary,
        direction,
        message,
        unmapped: Vec::new(),
    })
}

/// An object dump: `Msg is {length=N type=NAME,key=value,...}` or `got an event message: {
/// length=N type=NAME, key: value, ... }`.
pub fn object_record(line: &str, _opts: &DecodeOptions) -> Result<LogRecord, String> {
    let marker = line
        .find("Msg is {")
        .or_else(|| line.find("got an event message:"))
        .ok_or("no object record")?;
    let time = log_time(line, marker);
    let open = line
        .get(marker..)
        .and_then(|s| s.find('{'))
        .map(|p| p + marker)
        .ok_or("no `{` after the record's marker")?;
    let close = matching_close(line, open).ok_or("the object is not closed (no matching `}`)")?;
    let inner = line.get(open + 1..close).unwrap_or("");
    let (type_name, length, pairs) = object_pairs(inner)?;
    object_message(&type_name, length, &pairs, RecordKind::MivrObject, time)
}

/// What an object dump says: its type name, its `length=` and its `(key, value)` pairs.
pub type ObjectDump = (String, Option<u32>, Vec<(String, String)>);

/// `length=N type=NAME` and the `key=value` / `key: value` pairs of an object dump.
pub fn object_pairs(inner: &str) -> Result<ObjectDump, String> {
    let mut type_name = None;
    let mut length = None;
    let mut pairs = Vec::new();
    for item in split_items(inner) {
        let mut rest = item.trim();
        // `length=N type=NAME` may share the first item, separated by blanks.
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(v) = lower
                .strip_prefix("length=")
                .or_else(|| lower.strip_prefix("length:"))
            {
                let v = v.trim_start();
                let end = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
                length = Some(
                    v.get(..end)
                        .unwrap_or("")
                        .parse()
                        .map_err(|_| format!("bad length in `{item}`"))?,
                );
                let cut = rest.len() - v.len() + end;
                rest = rest.get(cut..).unwrap_or("").trim_start();
                continue;
            }
            if let Some(v) = lower
                .strip_prefix("type=")
                .or_else(|| lower.strip_prefix("type:"))
            {
                let v = v.trim_start();
                let end = v.find(char::is_whitespace).unwrap_or(v.len());
                let start = rest.len() - v.len();
                type_name = Some(rest.get(start..start + end).unwrap_or("").to_string());
                rest = rest.get(start + end..).unwrap_or("").trim_start();
                continue;
            }
            break;
        }
        if rest.is_empty() {
            continue;
        }
        let split = match (rest.find('='), rest.find(':')) {
            (Some(e), Some(c)) => e.min(c),
            (Some(e), None) => e,
            (None, Some(c)) => c,
            (None, None) => return Err(format!("`{rest}` is not `key=value` or `key: value`")),
        };
        let key = rest.get(..split).unwrap_or("").trim().to_string();
        let value = rest.get(split + 1..).unwrap_or("").trim().to_string();
        pairs.push((key, value));
    }
    let type_name = type_name.ok_or("no `type=` in the object")?;
    Ok((type_name, length, pairs))
}
