//! A flow file (docs/FORMAT.md §2) from the messages of one session seen on the wire.
//!
//! `config:` comes from the OPEN_REQ (agent identity, client id, version, idle timeout) and the
//! login request; passwords are written masked and never checked. A request the agent's
//! button makes (SET_AGENT_STATE_REQ, ANSWER_CALL_REQ, SET_CALL_DATA_REQ with a BAResponse,
//! ...) becomes an `agent:` line followed by a `client:` check; a request the phone sends on
//! its own (OPEN_REQ, QUERY_AGENT_STATE_REQ, SNAPSHOT_DEVICE_REQ) a `client:` check alone;
//! the server's messages `server:` blocks. InvokeIDs are left out everywhere (the runner fills
//! confirmations' and does not check requests'), and so are heartbeats.

use super::{MessageOut, Way};
use ccx_cti::trace::SECRET_MASK;

/// One message of the session, in the order it was seen.
#[derive(Debug, Clone)]
pub struct FlowMessage {
    /// Which way it went.
    pub way: Way,
    /// The decoded message.
    pub message: MessageOut,
    /// Where it was seen (a time or packet), for comments.
    pub at: String,
}

fn field<'m>(m: &'m MessageOut, label: &str) -> Option<&'m str> {
    m.fields
        .iter()
        .find(|f| !f.named && f.label.eq_ignore_ascii_case(label))
        .map(|f| f.value.as_str())
}

fn var<'m>(m: &'m MessageOut, name: &str) -> Option<&'m str> {
    m.fields
        .iter()
        .find(|f| f.named && f.label == name)
        .map(|f| f.value.as_str())
}

/// The agent's button behind a request, or `None` for one the phone sends by itself.
pub fn agent_command(m: &MessageOut) -> Option<String> {
    let call = || field(m, "ConnectionCallID").unwrap_or("").to_string();
    let with = |cmd: &str, arg: &str| {
        if arg.is_empty() {
            cmd.to_string()
        } else {
            format!("{cmd} {arg}")
        }
    };
    Some(match m.msgtype.as_str() {
        "SET_AGENT_STATE_REQ" => {
            let reason = field(m, "EventReasonCode")
                .filter(|r| *r != "0")
                .unwrap_or("");
            match field(m, "AgentState")? {
                "LOGIN" => "login".into(),
                "LOGOUT" => with("logout", reason),
                "NOT_READY" => with("not-ready", reason),
                "AVAILABLE" => "ready".into(),
                "WORK_READY" => "work-ready".into(),
                "WORK_NOT_READY" => "work-not-ready".into(),
                _ => return None,
            }
        }
        "ANSWER_CALL_REQ" => with("answer", &call()),
        "CLEAR_CONNECTION_REQ" | "CLEAR_CALL_REQ" => with("release", &call()),
        "HOLD_CALL_REQ" => with("hold", &call()),
        "RETRIEVE_CALL_REQ" => with("retrieve", &call()),
        "MAKE_CALL_REQ" => with("dial", field(m, "DialedNumber")?),
        "CONSULTATION_CALL_REQ" => with("consult", field(m, "DialedNumber")?),
        "TRANSFER_CALL_REQ" => "transfer".into(),
        "CONFERENCE_CALL_REQ" => "conference".into(),
        "SEND_DTMF_SIGNAL_REQ" => with("dtmf", field(m, "DTMFString")?),
        "CLOSE_REQ" => "close".into(),
        "SET_CALL_DATA_REQ" => {
            match var(m, "BAResponse") {
                Some(answer) => {
                    let lower = answer.to_ascii_lowercase();
                    match lower.as_str() {
                        "accept" | "reject" | "reject-close" | "skip" | "skip-close" => {
                            format!("preview {lower}")
                        }
                        "cancel reservation" => "preview cancel-reservation".into(),
                        _ if lower.starts_with("callback ") => format!("preview {answer}")
                            .replacen("preview Callback", "preview callback", 1),
                        _ => format!("preview reclassify {answer}"),
                    }
                }
                None => {
                    let v = m.fields.iter().find(|f| f.named)?;
                    format!("set-var {} {} {}", v.label, v.value, call())
                }
            }
        }
        _ => return None,
    })
}

/// Message text for a flow block: InvokeID and masked secrets left out, indented by four.
fn block_text(m: &MessageOut) -> String {
    let mut out = String::new();
    for (i, line) in m.text.lines().enumerate() {
        let t = line.trim_start();
        // Passwords never reach a flow file, even from a capture decoded with --show-secrets.
        let secret = ["ClientPassword:", "AgentPassword:"]
            .iter()
            .any(|p| t.starts_with(p));
        if i > 0 && (t.starts_with("InvokeID:") || t.ends_with(SECRET_MASK) || secret) {
            continue;
        }
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Write the flow of one session. `title` goes on the `# title:` line.
pub fn write_flow(title: &str, messages: &[FlowMessage]) -> String {
    let mut out = format!(
        "# title: {title}\n# written by ccx from the wire: passwords masked, InvokeIDs and heartbeats not checked\n"
    );
    let open = messages
        .iter()
        .find(|m| m.way == Way::ToServer && m.message.msgtype == "OPEN_REQ");
    out.push_str("config:\n");
    if let Some(open) = open {
        let o = &open.message;
        for (label, key) in [
            ("AgentID", "AgentID"),
            ("AgentExtension", "AgentExtension"),
            ("AgentInstrument", "AgentInstrument"),
            ("ClientID", "ClientID"),
            ("VersionNumber", "ProtocolVersion"),
            ("IdleTimeout", "IdleTimeout"),
        ] {
            if let Some(v) = field(o, label).filter(|v| !v.is_empty()) {
                out.push_str(&format!("  {key}: {v}\n"));
            }
        }
    }
    // The agent's password comes from the login request: masked, never the real one.
    let login = messages.iter().any(|m| {
        m.way == Way::ToServer
            && m.message.msgtype == "SET_AGENT_STATE_REQ"
            && field(&m.message, "AgentState") == Some("LOGIN")
    });
    if login {
        out.push_str(&format!("  AgentPassword: {SECRET_MASK}\n"));
    }
    // Messages the phone sends by itself are checked just before the agent's next button (or
    // at the end): the order within each direction is exact on the wire, the order across
    // directions is not (a request and the answer to an earlier one cross in flight).
    let mut pending: Vec<&MessageOut> = Vec::new();
    let mut in_server = false;
    let mut step = 0;
    let flush = |out: &mut String, pending: &mut Vec<&MessageOut>| {
        if !pending.is_empty() {
            out.push_str("client:\n");
            for m in pending.drain(..) {
                out.push_str(&block_text(m));
            }
        }
    };
    for m in messages {
        let name = m.message.msgtype.as_str();
        if name == "HEARTBEAT_REQ" || name == "HEARTBEAT_CONF" {
            continue;
        }
        match m.way {
            Way::ToClient => {
                if !in_server {
                    out.push_str("server:\n");
                    in_server = true;
                }
                out.push_str(&block_text(&m.message));
            }
            Way::ToServer => match agent_command(&m.message) {
                Some(cmd) => {
                    flush(&mut out, &mut pending);
                    step += 1;
                    out.push_str(&format!("\nstep {step}: the agent: {cmd} ({})\n", m.at));
                    out.push_str(&format!("agent: {cmd}\nclient:\n"));
                    out.push_str(&block_text(&m.message));
                    in_server = false;
                }
                None => pending.push(&m.message),
            },
        }
    }
    flush(&mut out, &mut pending);
    out
}
