//! The `server:` and `client:` directives: messages fed to the phone, and what it sent
//! compared field by field with the flow's text.

use ccx_cti::trace::{self, resolve_field, FieldRef, FieldValue, SECRET_MASK};
use ccx_cti::wire::{decode, message_named, tag, Message, MessageType};

use super::{split_messages, Failure, Runner, FRAME_MAX};
use crate::flow::parse::TextBlock;

impl<'o, const CALLS: usize> Runner<'o, CALLS> {
    pub(super) fn server(&mut self, block: &TextBlock) -> Result<(), Failure> {
        for (line, text) in split_messages(block) {
            let mut buf = vec![0u8; FRAME_MAX];
            let n = trace::parse_message(&text, &mut buf, self.version())
                .map_err(|e| self.fail(line + e.line - 1, e.to_string()))?;
            buf.truncate(n);
            self.fill_invoke_id(&text, &mut buf);
            self.feed(&buf);
        }
        Ok(())
    }

    /// In a confirmation without an `InvokeID` line, use the oldest request of the matching
    /// kind that still waits for an answer.
    pub(super) fn fill_invoke_id(&self, text: &str, frame: &mut [u8]) {
        let listed = text
            .lines()
            .skip(1)
            .any(|l| l.trim_start().starts_with("InvokeID:"));
        let Ok(msg) = decode(frame, self.version()) else {
            return;
        };
        let Some(def) = msg.def() else { return };
        if listed || !def.name.ends_with("_CONF") || msg.invoke_id().is_none() {
            return;
        }
        let generic = matches!(
            msg.message_type(),
            MessageType::FailureConf | MessageType::ControlFailureConf
        );
        let request_name = format!("{}_REQ", def.name.trim_end_matches("_CONF"));
        let request = message_named(&request_name).map(|d| MessageType::from_id(d.id));
        let found = self.outstanding.iter().find(|o| {
            if generic {
                o.message != MessageType::HeartbeatReq
            } else {
                Some(o.message) == request
            }
        });
        if let (Some(o), Some(slot)) = (found, frame.get_mut(8..12)) {
            slot.copy_from_slice(&o.invoke_id.to_be_bytes());
        }
    }

    // ---- client: ----

    pub(super) fn client(&mut self, block: &TextBlock) -> Result<(), Failure> {
        let expected = split_messages(block);
        let lists_heartbeats = expected.iter().any(|(_, t)| {
            t.lines()
                .next()
                .is_some_and(|l| l.contains("HEARTBEAT_REQ"))
        });
        let version = self.version();
        let sent: Vec<Vec<u8>> = std::mem::take(&mut self.sent)
            .into_iter()
            .filter(|f| {
                lists_heartbeats
                    || decode(f, version)
                        .map(|m| m.message_type() != MessageType::HeartbeatReq)
                        .unwrap_or(true)
            })
            .collect();
        let names = |frames: &[Vec<u8>]| -> String {
            frames
                .iter()
                .map(|f| match decode(f, version) {
                    Ok(m) => m
                        .def()
                        .map(|d| d.name.to_string())
                        .unwrap_or_else(|| m.message_type().id().to_string()),
                    Err(e) => format!("(undecodable: {e})"),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        if sent.len() != expected.len() {
            return Err(self.fail(
                block.first_line.saturating_sub(1),
                format!(
                    "expected {} message(s) from the phone, it sent {}: [{}]",
                    expected.len(),
                    sent.len(),
                    names(&sent)
                ),
            ));
        }
        for (k, ((line, text), actual)) in expected.iter().zip(&sent).enumerate() {
            self.compare(k + 1, *line, text, actual)?;
        }
        Ok(())
    }

    pub(super) fn compare(
        &self,
        index: usize,
        line: usize,
        text: &str,
        actual_frame: &[u8],
    ) -> Result<(), Failure> {
        let version = self.version();
        let mut buf = vec![0u8; FRAME_MAX];
        let n = trace::parse_message(text, &mut buf, version)
            .map_err(|e| self.fail(line + e.line - 1, e.to_string()))?;
        let expected = decode(&buf[..n], version).map_err(|e| self.fail(line, e.to_string()))?;
        let actual = decode(actual_frame, version).map_err(|e| {
            self.fail(
                line,
                format!("message {index}: the phone sent an undecodable frame: {e}"),
            )
        })?;
        let exp_name = expected.def().map(|d| d.name).unwrap_or("?");
        if expected.message_type() != actual.message_type() {
            let got = actual
                .def()
                .map(|d| d.name.to_string())
                .unwrap_or_else(|| actual.message_type().id().to_string());
            return Err(self.fail(
                line,
                format!("message {index}: expected {exp_name}, the phone sent {got}"),
            ));
        }
        let mut after_context = false;
        let mut seen: Vec<FieldRef<'_>> = Vec::new();
        for (offset, field_line) in text.lines().enumerate().skip(1) {
            let t = field_line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let Some((label, value)) = t.split_once(':') else {
                continue;
            };
            let (label, value) = (label.trim(), value.trim());
            let field = resolve_field(expected.def(), label, after_context)
                .map_err(|e| self.fail(line + offset, format!("{e:?}")))?;
            if field == FieldRef::ExpandedCallContext {
                after_context = true;
                if value.is_empty() {
                    continue;
                }
            }
            let occurrence = match field {
                FieldRef::Grouped { .. } => 0,
                _ => seen.iter().filter(|f| **f == field).count(),
            };
            seen.push(field);
            let got = actual.lookup(&field, occurrence);
            if value == SECRET_MASK && got.is_some() {
                continue;
            }
            let want = expected.lookup(&field, occurrence);
            if want != got && is_secret_field(&field) {
                // A password differs: say so without printing either one.
                return Err(self.fail(
                    line + offset,
                    format!(
                        "message {index} ({exp_name}): `{label}` differs from the one expected \
                         (passwords are not shown)"
                    ),
                ));
            }
            if want != got {
                return Err(self.fail(
                    line + offset,
                    format!(
                        "message {index} ({exp_name}): `{label}` expected {}, the phone sent {}",
                        show(&expected, &field, want),
                        show(&actual, &field, got)
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// ClientPassword and AgentPassword, wherever they stand: never printed in a failure.
fn is_secret_field(field: &FieldRef<'_>) -> bool {
    let secret = |tag: u16| tag == tag::CLIENT_PASSWORD || tag == tag::AGENT_PASSWORD;
    match *field {
        FieldRef::Floating(t) | FieldRef::Grouped { tag: t, .. } => secret(t),
        _ => false,
    }
}

/// A looked-up value as the report prints it.
fn show(msg: &Message<'_>, field: &FieldRef<'_>, value: Option<FieldValue<'_>>) -> String {
    match value {
        None => "nothing (the field is absent)".to_string(),
        Some(FieldValue::Text(t)) => format!("`{t}`"),
        Some(FieldValue::Number(n)) => {
            let en = match field {
                FieldRef::Fixed(i) => msg
                    .layout()
                    .and_then(|l| l.fixed.get(*i))
                    .and_then(|d| d.enumeration),
                _ => None,
            };
            match en.and_then(|e| e.name_of(n)) {
                Some(name) => format!("{name} ({n})"),
                None => n.to_string(),
            }
        }
        Some(FieldValue::Bytes(b)) => {
            let text = b.strip_suffix(&[0]).unwrap_or(b);
            match std::str::from_utf8(text) {
                Ok(s) if !s.contains('\0') => format!("`{s}`"),
                _ => format!(
                    "0x{}",
                    b.iter().map(|x| format!("{x:02x}")).collect::<String>()
                ),
            }
        }
    }
}
