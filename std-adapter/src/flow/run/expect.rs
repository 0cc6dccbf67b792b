//! The `expect:` directive: a path into the phone's state (`agent.state`, `call[ID].vars…`)
//! read and compared with the flow's value.

use ccx_cti::phone::{Call, Line, SessionState};
use ccx_cti::wire::{self, AgentState, CallType, EventReasonCode, LocalConnectionState};

use super::{Failure, Runner};
use crate::flow::parse::Comparison;

impl<'o, const CALLS: usize> Runner<'o, CALLS> {
    pub(super) fn expect(
        &self,
        line: usize,
        path: &str,
        comparison: Comparison,
        value: &str,
    ) -> Result<(), Failure> {
        let actual = self.state_value(path).map_err(|r| self.fail(line, r))?;
        let equal = values_match(path, &actual, value);
        let ok = match comparison {
            Comparison::Equal => equal,
            Comparison::NotEqual => !equal,
        };
        if ok {
            Ok(())
        } else {
            let op = if comparison == Comparison::Equal {
                "="
            } else {
                "!="
            };
            Err(self.fail(
                line,
                format!("expected {path} {op} {value}, it is {actual}"),
            ))
        }
    }

    pub(super) fn state_value(&self, path: &str) -> Result<String, String> {
        let p = &self.phone;
        match path {
            "session.state" => {
                return Ok(match p.session().state {
                    SessionState::Disconnected => "disconnected",
                    SessionState::Connecting => "connecting",
                    SessionState::Opening => "opening",
                    SessionState::Open => "open",
                    SessionState::Closing => "closing",
                }
                .to_string())
            }
            "session.server" => return Ok(p.session().server.to_string()),
            "agent.state" => return Ok(p.agent().state.to_string()),
            // The guide's name of a system reason, else the number (as a trace prints it).
            "agent.reason" => return Ok(EventReasonCode::from(p.agent().reason).to_string()),
            "calls.count" => return Ok(p.calls().count().to_string()),
            "instrument.in_service" => return Ok(p.instrument_in_service().to_string()),
            "preview.pending" => return Ok(p.preview().is_some().to_string()),
            "preview.call" => {
                return Ok(p
                    .preview()
                    .map(|c| c.id.to_string())
                    .unwrap_or_else(|| "none".into()))
            }
            _ => {}
        }
        let rest = path
            .strip_prefix("call[")
            .ok_or_else(|| format!("unknown state path `{path}`"))?;
        let (key, rest) = rest
            .split_once(']')
            .ok_or_else(|| format!("unknown state path `{path}`"))?;
        // `call[ID]`: the call with that CallID (the first of several); `call[ID@DEVICE]`: the
        // one whose own connection is DEVICE (either form of a primary.actual device).
        let (id, device) = match key.split_once('@') {
            Some((id, device)) => (id, Some(device.trim())),
            None => (key, None),
        };
        let id: u32 = id
            .trim()
            .parse()
            .map_err(|_| format!("`{id}` is not a call ID in `{path}`"))?;
        let call = match device {
            Some(device) => p.call_at(id, device),
            None => p.call(id),
        };
        let or_none = |value: Option<String>| value.unwrap_or_else(|| "none".into());
        match rest {
            ".state" => Ok(or_none(call.map(|c| c.state.to_string()))),
            ".type" => Ok(or_none(call.map(|c| c.call_type.to_string()))),
            ".line" => Ok(or_none(call.map(line_text))),
            ".device" => Ok(or_none(call.map(|c| c.own_device().to_string()))),
            r => {
                let name = r
                    .strip_prefix(".var[")
                    .and_then(|n| n.strip_suffix(']'))
                    .ok_or_else(|| format!("unknown state path `{path}`"))?;
                Ok(or_none(call.and_then(|c| c.var(name).map(str::to_string))))
            }
        }
    }
}

/// A call's line as `call[ID].line` prints it: `primary`, or `secondary(ACTUAL)`.
fn line_text(call: &Call) -> String {
    match call.line {
        Line::Primary => "primary".into(),
        Line::Secondary => format!("secondary({})", call.actual_device()),
    }
}

/// Compare a state value with an expected one, by name or number where the path is an
/// enumeration.
fn values_match(path: &str, actual: &str, expected: &str) -> bool {
    if actual == expected {
        return true;
    }
    let number =
        |en: &wire::spec::EnumDef, s: &str| en.value_of(s).or_else(|| s.parse::<u32>().ok());
    let en: Option<&wire::spec::EnumDef> = if path == "agent.state" {
        Some(AgentState::DEF)
    } else if path == "agent.reason" {
        Some(EventReasonCode::DEF)
    } else if path.ends_with(".state") {
        Some(LocalConnectionState::DEF)
    } else if path.ends_with(".type") {
        Some(CallType::DEF)
    } else {
        None
    };
    match en {
        Some(en) => {
            matches!((number(en, actual), number(en, expected)), (Some(a), Some(b)) if a == b)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::values_match;

    #[test]
    fn a_reason_matches_by_number_or_by_its_system_name() {
        // The runner prints a system reason by its name, any other code as its number.
        assert!(values_match("agent.reason", "AGT_RNA", "32763"));
        assert!(values_match("agent.reason", "AGT_RNA", "AGT_RNA"));
        assert!(values_match("agent.reason", "12", "12"));
        assert!(values_match("agent.reason", "0", "0"));
        assert!(!values_match("agent.reason", "AGT_RNA", "32762"));
        assert!(!values_match("agent.reason", "12", "0"));
    }
}
