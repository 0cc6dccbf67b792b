//! Finesse log records of messages from the CTI server:
//! `... DECODED_MESSAGE_FROM_CTI_SERVER: %[cti_message=CTIAgentStateEvent [agentState=3
//! (AVAILABLE), agentID=chli4020, ...]][...]: Decoded Message to Finesse from backend cti server`.
//! The Java names are mapped to the guide's labels as MIVR's object dumps are.

use super::logs::{log_time, matching_close, object_message, split_items, LogRecord, RecordKind};
use super::DecodeOptions;

/// One `DECODED_MESSAGE_FROM_CTI_SERVER` line.
pub fn record(line: &str, _opts: &DecodeOptions) -> Result<LogRecord, String> {
    let marker = line
        .find("DECODED_MESSAGE_FROM_CTI_SERVER")
        .ok_or("no DECODED_MESSAGE_FROM_CTI_SERVER")?;
    let time = log_time(line, marker);
    let at = line.find("cti_message=").ok_or("no `cti_message=`")? + "cti_message=".len();
    let rest = line.get(at..).unwrap_or("");
    let name_end = rest
        .find(|c: char| matches!(c, '[' | '{' | ']' | '}') || c.is_whitespace())
        .unwrap_or(rest.len());
    let type_name = rest.get(..name_end).unwrap_or("").trim();
    if type_name.is_empty() {
        return Err("no message name after `cti_message=`".into());
    }
    let open = rest
        .get(name_end..)
        .and_then(|s| s.find(['[', '{']))
        .map(|p| p + name_end)
        .ok_or_else(|| format!("no `[` after `{type_name}`"))?;
    let close = matching_close(rest, open)
        .ok_or_else(|| format!("the fields of `{type_name}` are not closed (no matching `]`)"))?;
    let inner = rest.get(open + 1..close).unwrap_or("");
    let mut pairs = Vec::new();
    for item in split_items(inner) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| format!("`{item}` is not `key=value`"))?;
        pairs.push((key.trim().to_string(), value.trim().to_string()));
    }
    object_message(type_name, None, &pairs, RecordKind::Finesse, time)
}
