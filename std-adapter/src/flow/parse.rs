//! Reading flow files (FORMAT.md §2) into a list of directives.

use std::fmt;

use ccx_cti::wire::AgentState;

/// A parsed flow file.
#[derive(Debug, Clone, Default)]
pub struct Flow {
    /// `# title:` comment, or the file name.
    pub title: String,
    /// `config:` settings: (name, value, line).
    pub config: Vec<(String, String, usize)>,
    /// `start:` directive, if any.
    pub start: Option<Start>,
    /// Everything after the prologue, in order.
    pub items: Vec<Item>,
}

/// How the runner brings the phone up before the first step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// `start: connected`: the session is open.
    Connected,
    /// `start: logged-in STATE`: the agent is logged in and in STATE.
    LoggedIn(String),
}

/// A block of trace text with the line number of its first line.
#[derive(Debug, Clone)]
pub struct TextBlock {
    /// The lines, as in the file (indentation kept).
    pub text: String,
    /// File line number of the block's first line.
    pub first_line: usize,
}

/// `==` or `!=` in an `expect:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
}

/// One directive after `start:`.
#[derive(Debug, Clone)]
pub enum Item {
    /// `step N: text`
    Step {
        /// The label as written.
        label: String,
    },
    /// `server:` messages to feed.
    Server(TextBlock),
    /// `client:` messages the phone must have sent.
    Client(TextBlock),
    /// `agent: COMMAND ARGS`
    Agent(String),
    /// `time: +N[s|ms]`, in milliseconds.
    Time(u64),
    /// `net: drop`
    NetDrop,
    /// `net: reconnect`
    NetReconnect,
    /// `expect: PATH = VALUE`
    Expect {
        /// State path.
        path: String,
        /// `=` or `!=`.
        comparison: Comparison,
        /// Expected value.
        value: String,
    },
    /// `expect-error: TEXT`
    ExpectError(String),
    /// `expect-no-error: TEXT`
    ExpectNoError(String),
}

/// An item with its line number.
#[derive(Debug, Clone)]
pub struct Located<T> {
    /// File line number (1-based).
    pub line: usize,
    /// The item.
    pub item: T,
}

/// A flow file that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for FlowParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for FlowParseError {}

/// The parsed flow with line numbers for every item.
#[derive(Debug, Clone, Default)]
pub struct FlowFile {
    /// Header information.
    pub flow: Flow,
    /// Items with their lines (the same as `flow.items`, located).
    pub located: Vec<Located<Item>>,
}

fn err(line: usize, reason: impl Into<String>) -> FlowParseError {
    FlowParseError {
        line,
        reason: reason.into(),
    }
}

/// `+5s`, `+250ms`, `+3` (seconds) -> milliseconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    let t = text.trim();
    let t = t.strip_prefix('+').unwrap_or(t).trim();
    if let Some(ms) = t.strip_suffix("ms") {
        return ms.trim().parse().ok();
    }
    if let Some(m) = t.strip_suffix("min") {
        return m.trim().parse::<u64>().ok().map(|m| m * 60_000);
    }
    if let Some(m) = t.strip_suffix('m') {
        return m.trim().parse::<u64>().ok().map(|m| m * 60_000);
    }
    let secs = t.strip_suffix('s').unwrap_or(t).trim();
    if let Ok(s) = secs.parse::<u64>() {
        return Some(s * 1000);
    }
    secs.parse::<f64>()
        .ok()
        .filter(|s| *s >= 0.0)
        .map(|s| (s * 1000.0).round() as u64)
}

/// Parse a flow file.
pub fn parse_flow(text: &str, default_title: &str) -> Result<FlowFile, FlowParseError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = FlowFile::default();
    out.flow.title = default_title.to_string();
    let mut i = 0;
    let mut seen_step_or_item = false;
    while i < lines.len() {
        let raw = lines[i];
        let number = i + 1;
        i += 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            if let Some(title) = comment.trim().strip_prefix("title:") {
                out.flow.title = title.trim().to_string();
            }
            continue;
        }
        if raw.starts_with(char::is_whitespace) {
            return Err(err(
                number,
                format!("indented line outside a block: `{trimmed}`"),
            ));
        }
        let (directive, rest) = match trimmed.split_once(':') {
            Some((d, r)) => (d.trim(), r.trim()),
            None => {
                return Err(err(
                    number,
                    format!("expected a directive (`name: ...`), found `{trimmed}`"),
                ))
            }
        };
        // Collect the indented block that follows, if any.
        let mut block = String::new();
        let block_start = i + 1;
        while i < lines.len() {
            let l = lines[i];
            if l.trim().is_empty() || l.trim_start().starts_with('#') {
                block.push('\n');
                i += 1;
                continue;
            }
            if !l.starts_with(char::is_whitespace) {
                break;
            }
            block.push_str(l);
            block.push('\n');
            i += 1;
        }
        let has_block = !block.trim().is_empty();
        // Directives match exactly (FORMAT.md §2): `Step 1:` or `stepp 1:` is an error, not a
        // step.
        let item = match directive {
            "config" => {
                if seen_step_or_item {
                    return Err(err(number, "`config:` must come before the first step"));
                }
                for (k, l) in block.lines().enumerate() {
                    let t = l.trim();
                    if t.is_empty() || t.starts_with('#') {
                        continue;
                    }
                    let (name, value) = t.split_once(':').ok_or_else(|| {
                        err(
                            block_start + k,
                            format!("expected `Name: value`, found `{t}`"),
                        )
                    })?;
                    out.flow.config.push((
                        name.trim().to_string(),
                        value.trim().to_string(),
                        block_start + k,
                    ));
                }
                continue;
            }
            "start" => {
                if seen_step_or_item {
                    return Err(err(number, "`start:` must come before the first step"));
                }
                if out.flow.start.is_some() {
                    return Err(err(number, "a second `start:`"));
                }
                let mut words = rest.split_whitespace();
                out.flow.start = match (words.next(), words.next(), words.next()) {
                    (Some("connected"), None, None) => Some(Start::Connected),
                    (Some("logged-in"), Some(state), None) => {
                        if AgentState::DEF.value_of(state).is_none()
                            && state.parse::<u16>().is_err()
                        {
                            return Err(err(
                                number,
                                format!("`{state}` is not an agent state (AVAILABLE, NOT_READY, … or a number)"),
                            ));
                        }
                        Some(Start::LoggedIn(state.to_string()))
                    }
                    (Some("logged-in"), None, None) => {
                        Some(Start::LoggedIn("NOT_READY".to_string()))
                    }
                    _ => return Err(err(number, format!("expected `start: connected` or `start: logged-in STATE`, found `{rest}`"))),
                };
                continue;
            }
            "server" | "client" => {
                if !rest.is_empty() {
                    return Err(err(
                        number,
                        format!("`{directive}:` takes its messages on the indented lines below it"),
                    ));
                }
                if !has_block {
                    return Err(err(number, format!("`{directive}:` without messages")));
                }
                let b = TextBlock {
                    text: block.clone(),
                    first_line: block_start,
                };
                if directive == "server" {
                    Item::Server(b)
                } else {
                    Item::Client(b)
                }
            }
            "agent" => {
                if rest.is_empty() {
                    return Err(err(number, "`agent:` without a command"));
                }
                Item::Agent(rest.to_string())
            }
            "time" => Item::Time(parse_duration(rest).ok_or_else(|| {
                err(
                    number,
                    format!("bad duration `{rest}` (expected +N, +Ns or +Nms)"),
                )
            })?),
            "net" => match rest {
                "drop" => Item::NetDrop,
                "reconnect" => Item::NetReconnect,
                _ => {
                    return Err(err(
                        number,
                        format!("expected `net: drop` or `net: reconnect`, found `{rest}`"),
                    ))
                }
            },
            "expect" => {
                let (path, comparison, value) = if let Some((p, v)) = rest.split_once("!=") {
                    (p, Comparison::NotEqual, v)
                } else if let Some((p, v)) = rest.split_once('=') {
                    (p, Comparison::Equal, v)
                } else {
                    return Err(err(
                        number,
                        format!("expected `expect: PATH = VALUE`, found `{rest}`"),
                    ));
                };
                if let Err(why) = super::domain::check_expect(path.trim(), value.trim()) {
                    return Err(err(number, why));
                }
                Item::Expect {
                    path: path.trim().to_string(),
                    comparison,
                    value: value.trim().to_string(),
                }
            }
            "expect-error" => Item::ExpectError(rest.to_string()),
            "expect-no-error" => Item::ExpectNoError(rest.to_string()),
            d if d == "step" || d.starts_with("step ") => Item::Step {
                label: format!("{directive}: {rest}")
                    .trim_end_matches(": ")
                    .to_string(),
            },
            _ => return Err(err(number, format!("unknown directive `{directive}:`"))),
        };
        if has_block && !matches!(item, Item::Server(_) | Item::Client(_)) {
            return Err(err(
                block_start,
                format!("`{directive}:` takes no indented lines"),
            ));
        }
        seen_step_or_item = true;
        out.flow.items.push(item.clone());
        out.located.push(Located { line: number, item });
    }
    if out.located.is_empty() {
        // An empty file, or one with only `config:`/`start:`, checks nothing.
        return Err(err(
            lines.len().max(1),
            "no directive after the prologue: a flow needs at least one step, message or expect",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_flows_parse() {
        for (name, text) in [
            (
                "skip",
                include_str!("../../../tests/flows/outbound-skip.flow"),
            ),
            (
                "accept",
                include_str!("../../../tests/flows/outbound-accept.flow"),
            ),
        ] {
            let f = parse_flow(text, name).unwrap();
            assert!(
                f.flow.title.starts_with("Outbound preview"),
                "{}",
                f.flow.title
            );
            assert_eq!(f.flow.start, Some(Start::LoggedIn("AVAILABLE".into())));
            assert_eq!(f.flow.config.len(), 3);
            assert!(f.located.iter().any(|l| matches!(l.item, Item::Client(_))));
        }
    }

    #[test]
    fn strict_directives_start_lines_and_empty_flows() {
        // Directives match exactly.
        for bad in [
            "stepp 1: x\n",
            "Step 1: x\n",
            "steps: x\n",
            "Agent: ready\n",
        ] {
            let e = parse_flow(bad, "t").unwrap_err();
            assert_eq!(e.line, 1, "{bad}");
            assert!(e.reason.contains("unknown directive"), "{bad}: {e}");
        }
        assert!(parse_flow("step: x\n", "t").is_ok());
        // A bad `start:` is a parse error with its line.
        for bad in [
            "start: logged-in AVAILABEL\nstep 1: x\n",
            "start: loged-in\nstep 1: x\n",
            "start: connected now\nstep 1: x\n",
        ] {
            let e = parse_flow(&format!("# c\n{bad}"), "t").unwrap_err();
            assert_eq!(e.line, 2, "{bad}: {e}");
        }
        let e = parse_flow("step 1: x\nstart: connected\n", "t").unwrap_err();
        assert_eq!(e.line, 2);
        // Nothing after the prologue: refused, an empty file too.
        for empty in [
            "",
            "\n\n# only a comment\n",
            "config:\n  AgentID: a\nstart: connected\n",
        ] {
            assert!(parse_flow(empty, "t").is_err(), "{empty:?}");
        }
        // `expect:` values are checked against the path's domain, with their line.
        let e = parse_flow("step 1: x\nexpect: agent.state = AVAILABEL\n", "t").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.reason.contains("AVAILABEL"), "{e}");
        let e = parse_flow("step 1: x\nexpect: agent.mood = happy\n", "t").unwrap_err();
        assert!(e.reason.contains("unknown state path"), "{e}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("+5s"), Some(5000));
        assert_eq!(parse_duration("+250ms"), Some(250));
        assert_eq!(parse_duration("+3"), Some(3000));
        assert_eq!(parse_duration("+2m"), Some(120_000));
        assert_eq!(parse_duration("+1.5s"), Some(1500));
        assert_eq!(parse_duration("soon"), None);
    }

    #[test]
    fn errors_name_their_line() {
        let e = parse_flow("config:\n  AgentID: a\nbogus: x\n", "t").unwrap_err();
        assert_eq!(e.line, 3);
        let e = parse_flow("step 1: x\ntime: later\n", "t").unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse_flow("server:\nstep 1: x\n", "t").unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse_flow("  MsgType: X\n", "t").unwrap_err();
        assert_eq!(e.line, 1);
    }

    #[test]
    fn expect_forms() {
        let f = parse_flow("expect: agent.state != READY\nexpect: call[5].var[BAStatus] = DO\nexpect-error: refused\n", "t").unwrap();
        assert!(
            matches!(&f.flow.items[0], Item::Expect { comparison: Comparison::NotEqual, value, .. } if value == "READY")
        );
        assert!(
            matches!(&f.flow.items[1], Item::Expect { path, value, .. } if path == "call[5].var[BAStatus]" && value == "DO")
        );
        assert!(matches!(&f.flow.items[2], Item::ExpectError(t) if t == "refused"));
    }
}
