//! `ccx decode --log`: CTI records out of Unified CCX MIVR logs (facility ICD_CTI) and Finesse
//! logs, as trace text.
//!
//! Three kinds of record are read ([`mivr`](super::mivr) and [`finesse`](super::finesse) find
//! them): MIVR's hex dumps of whole frames (decoded exactly), MIVR's Java object dumps and
//! Finesse's `DECODED_MESSAGE_FROM_CTI_SERVER` records (their fields mapped to the guide's
//! labels by [`javanames`](super::javanames)). Every record keeps its log time and line
//! number; other lines are skipped; a damaged record is reported and the rest goes on.

use ccx_cti::trace::{EXPANDED_CALL_CONTEXT, SECRET_MASK};
use ccx_cti::wire::spec::{Direction, MessageDef};
use ccx_cti::wire::{message_def, MESSAGES};
use serde::Serialize;

use super::javanames::label_for;
use super::{DecodeOptions, FieldOut, MessageOut, Way};

/// Which form a record had in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// MIVR `MHDR: ... MDATA: ...` hex dump of a whole frame.
    MivrBinary,
    /// MIVR `Msg is {...}` or `got an event message: {...}` object dump.
    MivrObject,
    /// Finesse `DECODED_MESSAGE_FROM_CTI_SERVER` record.
    Finesse,
}

/// One CTI record of a log.
#[derive(Debug, Clone, Serialize)]
pub struct LogRecord {
    /// 1-based line number where the record starts.
    pub line: usize,
    /// The time stamp the log gave the record, as written.
    pub time: String,
    /// The record's form.
    pub kind: RecordKind,
    /// Which way the message went, where the log or the table tells.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Way>,
    /// The message.
    #[serde(flatten)]
    pub message: MessageOut,
    /// Names the log printed that no label of the message matches, as `name=value`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unmapped: Vec<String>,
}

/// A record that could not be read.
#[derive(Debug, Clone, Serialize)]
pub struct LogProblem {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub text: String,
}

/// What a log held.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LogReport {
    /// Records in log order.
    pub records: Vec<LogRecord>,
    /// Damaged records.
    pub problems: Vec<LogProblem>,
}

/// Read every CTI record of a log.
pub fn decode_log(text: &str, opts: &DecodeOptions) -> LogReport {
    let lines: Vec<&str> = text.lines().collect();
    let mut report = LogReport::default();
    let mut version: Option<u32> = None;
    let mut i = 0usize;
    while i < lines.len() {
        let line = lines.get(i).copied().unwrap_or("");
        let number = i + 1;
        i += 1;
        let result = if line.contains("MHDR:") {
            // A hex dump may go on over the following lines.
            let mut record = line.to_string();
            while let Some(next) = lines.get(i) {
                if super::mivr::is_dump_continuation(next) {
                    record.push(' ');
                    record.push_str(next);
                    i += 1;
                } else {
                    break;
                }
            }
            super::mivr::binary_record(&record, opts, &mut version)
        } else if line.contains("DECODED_MESSAGE_FROM_CTI_SERVER") && line.contains("cti_message=")
        {
            super::finesse::record(line, opts)
        } else if line.contains("Msg is {") || line.contains("got an event message:") {
            super::mivr::object_record(line, opts)
        } else {
            continue;
        };
        match result {
            Ok(mut rec) => {
                rec.line = number;
                report.records.push(rec);
            }
            Err(text) => report.problems.push(LogProblem { line: number, text }),
        }
    }
    report
}

/// The log's time stamp of a line: what comes before `marker` (or before the first ` %`),
/// less a leading sequence number and host address (`12345: `, `10.1.1.1: `).
pub fn log_time(line: &str, marker: usize) -> String {
    let head = line.get(..marker).unwrap_or(line);
    let head = match head.find(" %").or_else(|| head.find('%')) {
        Some(p) => head.get(..p).unwrap_or(head),
        None => head,
    };
    let mut rest = head.trim();
    while let Some((first, after)) = rest.split_once(": ") {
        let plain = !first.is_empty()
            && first
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == ':' || c.is_ascii_hexdigit());
        if plain && !first.contains(' ') {
            rest = after.trim_start();
        } else {
            break;
        }
    }
    rest.trim_end_matches(':').trim().to_string()
}

/// The message a logger's type name means: the guide's name (`AGENT_STATE_EVENT`), a Java
/// class name (`AgentStateEvent`, `CTIAgentStateEvent`, `AgentStateEventMsg`) or a number.
pub fn message_for(name: &str) -> Option<&'static MessageDef> {
    // `AGENT_STATE_EVENT(30)`, `AgentStateEvent[30]`: the name before the number.
    let name = name.split(['(', '[']).next().unwrap_or(name).trim();
    if let Ok(n) = name.parse::<u32>() {
        return message_def(n);
    }
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '_')
            .map(|c| c.to_ascii_uppercase())
            .collect()
    };
    let want = squash(name);
    let candidates = [
        want.clone(),
        want.strip_prefix("CTI").unwrap_or(&want).to_string(),
        want.strip_suffix("MSG").unwrap_or(&want).to_string(),
        want.strip_prefix("CTI")
            .unwrap_or(&want)
            .strip_suffix("MSG")
            .unwrap_or(&want)
            .to_string(),
    ];
    MESSAGES.iter().find(|m| {
        let n = squash(m.name);
        candidates.contains(&n) || m.aliases.iter().any(|a| candidates.contains(&squash(a)))
    })
}

/// Split `text` at commas outside brackets, braces and parentheses.
pub fn split_items(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '[' | '{' | '(' => depth += 1,
            ']' | '}' | ')' => depth -= 1,
            ',' if depth <= 0 => {
                out.push(text.get(start..i).unwrap_or(""));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(text.get(start..).unwrap_or(""));
    out
}

/// The byte index of the bracket that closes the one at `open`.
pub fn matching_close(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (i, c) in text.get(open..)?.char_indices() {
        match c {
            '[' | '{' | '(' => depth += 1,
            ']' | '}' | ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Turn a message name and the `(name, value)` pairs a logger printed into a record: labels
/// from the table, values in trace text's form, `null` left out, secrets masked, the rest
/// kept as comments.
pub fn object_message(
    type_name: &str,
    length: Option<u32>,
    pairs: &[(String, String)],
    kind: RecordKind,
    time: String,
) -> Result<LogRecord, String> {
    let def = message_for(type_name);
    let msgtype = def
        .map(|d| d.name.to_string())
        .unwrap_or_else(|| type_name.to_string());
    let mut fields = Vec::new();
    let mut unmapped = Vec::new();
    let mut named = Vec::new();
    for (java, value) in pairs {
        let value = value.trim();
        let java = java.trim();
        if java.is_empty() || value.eq_ignore_ascii_case("null") {
            continue;
        }
        let secret_name = java.to_ascii_lowercase().contains("password");
        let Some(info) = label_for(def, java) else {
            if secret_name {
                unmapped.push(format!("{java}={SECRET_MASK}"));
            } else {
                unmapped.push(format!("{java}={value}"));
            }
            continue;
        };
        let text = if info.secret || secret_name {
            SECRET_MASK.to_string()
        } else {
            value_text(value, info.enumeration, info.numeric)
        };
        fields.push(FieldOut {
            label: info.label.to_string(),
            value: text,
            raw: None,
            named: false,
        });
        if info.label == "NamedVariable" {
            named.push(value.to_string());
        }
    }
    let mut text = format!("MsgType: {msgtype}\n");
    for f in &fields {
        if f.value.is_empty() {
            text.push_str(&format!("  {}:\n", f.label));
        } else {
            text.push_str(&format!("  {}: {}\n", f.label, f.value));
        }
    }
    if !named.is_empty() {
        text.push_str(&format!("  # {EXPANDED_CALL_CONTEXT}: as logged\n"));
    }
    for u in &unmapped {
        text.push_str(&format!("  # {u}\n"));
    }
    let direction = def.map(|d| match d.direction {
        Direction::ToServer => Way::ToServer,
        Direction::ToClient => Way::ToClient,
    });
    Ok(LogRecord {
        line: 0,
        time,
        kind,
        direction,
        message: MessageOut {
            msgtype,
            length: length.unwrap_or(0),
            fields,
            text,
        },
        unmapped,
    })
}

/// A logged value in trace text's form: an enumeration's name where the log gives the number
/// (`3`, `3 (AVAILABLE)`) or the name, else the value as written.
fn value_text(
    value: &str,
    enumeration: Option<&'static ccx_cti::wire::spec::EnumDef>,
    numeric: bool,
) -> String {
    let value = value.trim().trim_matches('"');
    let (head, paren) = match value.split_once('(') {
        Some((h, p)) if value.ends_with(')') => (h.trim(), Some(p.trim_end_matches(')').trim())),
        _ => (value, None),
    };
    if let Some(en) = enumeration {
        if let Some(name) = paren.filter(|p| en.value_of(p).is_some()) {
            return en
                .name_of(en.value_of(name).unwrap_or(0))
                .unwrap_or(name)
                .to_string();
        }
        if let Ok(n) = head.parse::<i64>() {
            let raw = n as u32;
            if en.kind == ccx_cti::wire::spec::EnumKind::Values
                && !["EventReasonCode"].contains(&en.name)
            {
                if let Some(name) = en.name_of(raw) {
                    return name.to_string();
                }
            }
            return number_text(n);
        }
        if let Some(v) = en.value_of(head) {
            return en.name_of(v).unwrap_or(head).to_string();
        }
        return head.to_string();
    }
    if numeric {
        if let Ok(n) = head.parse::<i64>() {
            return number_text(n);
        }
        return head.to_string();
    }
    value.to_string()
}

fn number_text(n: i64) -> String {
    if n == 0xFFFF_FFFF || n == -1 {
        "N/A".into()
    } else {
        n.to_string()
    }
}

/// Text output of a log: a comment line per record (time, line, form, direction), then its
/// trace text; damaged records as `# !` lines in place.
pub fn report_text(report: &LogReport) -> String {
    let mut out = String::new();
    let mut problems = report.problems.iter().peekable();
    for r in &report.records {
        while let Some(p) = problems.next_if(|p| p.line < r.line) {
            out.push_str(&format!("# ! line {}: {}\n", p.line, p.text));
        }
        let kind = match r.kind {
            RecordKind::MivrBinary => "MIVR frame",
            RecordKind::MivrObject => "MIVR object",
            RecordKind::Finesse => "Finesse",
        };
        let dir = r
            .direction
            .map(|d| format!(", {}", d.arrow()))
            .unwrap_or_default();
        out.push_str(&format!("# [{}] line {} ({kind}{dir})\n", r.time, r.line));
        out.push_str(&r.message.text);
    }
    for p in problems {
        out.push_str(&format!("# ! line {}: {}\n", p.line, p.text));
    }
    out
}
