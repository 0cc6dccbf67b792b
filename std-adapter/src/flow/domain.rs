//! The values an `expect:` path can have (FORMAT.md §2): a value outside its path's domain
//! can never match, so the flow is refused when it is read instead of failing later.

use ccx_cti::wire::{AgentState, CallType, EventReasonCode, LocalConnectionState};

/// What `expect:` may compare a path with.
enum Domain {
    /// One of these words.
    Words(&'static [&'static str]),
    /// A name of this enumeration (or an alias), its number, or `none` (a call that is gone).
    Enum(&'static ccx_cti::wire::spec::EnumDef),
    /// A name of this enumeration (or an alias), or its number: a code that is always there.
    Code(&'static ccx_cti::wire::spec::EnumDef),
    /// A whole number.
    Number,
    /// A CallID or `none`.
    CallOrNone,
    /// `primary`, `secondary(DEVICE)` or `none`.
    Line,
    /// Any text.
    Text,
}

fn domain(path: &str) -> Result<Domain, String> {
    Ok(match path {
        "session.state" => {
            Domain::Words(&["disconnected", "connecting", "opening", "open", "closing"])
        }
        "session.server" | "calls.count" => Domain::Number,
        // The guide's number (0: none; an administrator's code) or a system reason's name.
        "agent.reason" => Domain::Code(EventReasonCode::DEF),
        "agent.state" => Domain::Enum(AgentState::DEF),
        "instrument.in_service" | "preview.pending" => Domain::Words(&["true", "false"]),
        "preview.call" => Domain::CallOrNone,
        _ => {
            let rest = path
                .strip_prefix("call[")
                .and_then(|r| r.split_once(']'))
                .ok_or_else(|| format!("unknown state path `{path}`"))?;
            let (key, field) = rest;
            let id = key.split_once('@').map_or(key, |(id, _)| id);
            if id.trim().parse::<u32>().is_err() {
                return Err(format!("`{id}` is not a call ID in `{path}`"));
            }
            match field {
                ".state" => Domain::Enum(LocalConnectionState::DEF),
                ".type" => Domain::Enum(CallType::DEF),
                ".line" => Domain::Line,
                ".device" => Domain::Text,
                f if f.starts_with(".var[") && f.ends_with(']') && f.len() > 6 => Domain::Text,
                _ => return Err(format!("unknown state path `{path}`")),
            }
        }
    })
}

/// Whether `value` is something `path` can be; the reason when not.
pub(crate) fn check_expect(path: &str, value: &str) -> Result<(), String> {
    let ok = match domain(path)? {
        Domain::Words(words) => words.contains(&value),
        Domain::Enum(en) => {
            // `none`: the call is gone (the runner prints it so).
            value == "none" || en.value_of(value).is_some() || value.parse::<u32>().is_ok()
        }
        Domain::Code(en) => en.value_of(value).is_some() || value.parse::<u16>().is_ok(),
        Domain::Number => value.parse::<u64>().is_ok(),
        Domain::CallOrNone => value == "none" || value.parse::<u32>().is_ok(),
        Domain::Line => {
            value == "none"
                || value == "primary"
                || (value.starts_with("secondary(") && value.ends_with(')'))
        }
        Domain::Text => true,
    };
    if ok {
        return Ok(());
    }
    let what = match domain(path)? {
        Domain::Words(words) => format!("one of {}", words.join(", ")),
        Domain::Enum(en) | Domain::Code(en) => format!("a {} name or number", en.name),
        Domain::Number => "a number".into(),
        Domain::CallOrNone => "a CallID or none".into(),
        Domain::Line => "primary, secondary(DEVICE) or none".into(),
        Domain::Text => "text".into(),
    };
    Err(format!(
        "`{value}` is not a value of {path} (expected {what})"
    ))
}

#[cfg(test)]
mod tests {
    use super::check_expect;

    #[test]
    fn values_outside_a_paths_domain_are_refused() {
        for (path, good, bad) in [
            ("session.state", "open", "opened"),
            ("agent.state", "AVAILABLE", "AVAILABEL"),
            ("agent.state", "3", "x3"),
            ("agent.reason", "32767", "lunch"),
            ("agent.reason", "AGT_SKIPS", "none"),
            ("agent.reason", "12", "65536"),
            ("calls.count", "0", "none"),
            ("preview.pending", "true", "yes"),
            ("preview.call", "none", "call"),
            ("call[5].state", "LCS_CONNECT", "CONNECTED"),
            ("call[5].type", "CALLTYPE_ACD_IN", "ACD"),
            ("call[5@4020].line", "secondary(4021)", "second"),
            ("instrument.in_service", "false", "0"),
        ] {
            assert_eq!(check_expect(path, good), Ok(()), "{path} = {good}");
            assert!(check_expect(path, bad).is_err(), "{path} = {bad}");
        }
        assert!(check_expect("call[5].var[BAStatus]", "anything").is_ok());
        assert!(check_expect("agent.mood", "happy").is_err());
        assert!(check_expect("call[x].state", "LCS_CONNECT").is_err());
    }
}
