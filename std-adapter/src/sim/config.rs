//! What a simulated Unified CCX knows before it starts: agents, reason codes, the inbound
//! scenario, the outbound campaign and the faults to inject. Everything deserialises from a TOML
//! file (`ccx sim --config sim.toml`, see [`EXAMPLE_TOML`]); the contact list may also come
//! from a CSV file.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A simulator configuration file with every section (`ccx sim --config FILE`).
pub const EXAMPLE_TOML: &str = r#"listen = "127.0.0.1:12028"
auto_work = true          # after a call the agent goes to WORK
wrapup_ms = 30000         # ...and back to AVAILABLE after 30 s
require_active_terminal = false   # Agent Device Selection: a v18 LOGIN must name ActiveTerminal
heartbeat_rule = { mode = "always", interval_ms = 30000 }   # or "when-idle"; breakers are closed

[[agents]]
id = "chli4020"
extension = "4020"
password = "secret"
csqs = [1]

[[agents]]
id = "agt2007"
extension = "2007"
password = "pw2007"
allow_empty_password = false
csqs = [1, 2]

[[reason_codes]]
code = 10
label = "Lunch"

[inbound]
rate_per_min = 2.0        # random arrivals
customer_hangup_ms = 60000
[[inbound.calls]]         # and scripted ones
at_ms = 5000
ani = "5551234"
dnis = "7000"
csq = 1
call_vars = ["order 42"]
vars = [["user.layout", "Default"]]

[campaign]
name = "LoadCamp"
contacts_file = "contacts.csv"   # account,name,phone (relative to this file)
offer_delay_ms = 2000
retry_delay_ms = 600000
[[campaign.contacts]]
account = "AC111"
name = "John Doe"
phone = "5550100"

[faults]
delay_ms = 0
unknown_tags = false

[limits]                  # what one client may take
max_connections = 10000
max_queued_bytes = 1048576   # unread replies; a client that falls behind is closed
write_timeout_ms = 10000
open_deadline_ms = 60000     # from connect to OPEN_CONF
max_call_vars = 200
max_call_var_bytes = 65536
warnings_per_second = 10
"#;

use ccx_cti::config::DEFAULT_PORT;

/// One agent the simulated Unified CCX knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentDef {
    /// AgentID (login id).
    pub id: String,
    /// The agent's ACD extension.
    pub extension: String,
    /// The agent's instrument (the extension when empty).
    pub instrument: String,
    /// The password SET_AGENT_STATE_REQ LOGIN must carry.
    pub password: String,
    /// Also accept an empty password (the built-in demo agent does).
    pub allow_empty_password: bool,
    /// The CSQs (Contact Service Queues) the agent is skilled in.
    pub csqs: Vec<u32>,
}

impl Default for AgentDef {
    fn default() -> Self {
        AgentDef {
            id: "chli4020".into(),
            extension: "4020".into(),
            // The instrument is the extension (4020) unless a file says otherwise.
            instrument: String::new(),
            password: "secret".into(),
            allow_empty_password: true,
            csqs: vec![1],
        }
    }
}

impl AgentDef {
    /// The instrument, or the extension when none is configured.
    pub fn instrument(&self) -> &str {
        if self.instrument.is_empty() {
            &self.extension
        } else {
            &self.instrument
        }
    }

    /// Whether `password` logs this agent in.
    pub fn password_ok(&self, password: &str) -> bool {
        password == self.password || (self.allow_empty_password && password.is_empty())
    }

    /// Agent number `i` of a generated population (load tests): `agent0001` / `10001`.
    pub fn generated(i: usize) -> AgentDef {
        AgentDef {
            id: format!("agent{i:04}"),
            extension: format!("{}", 10_000 + i),
            instrument: String::new(),
            password: String::new(),
            allow_empty_password: true,
            csqs: vec![1],
        }
    }
}

/// A customer-defined Not Ready / Logout reason code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonCode {
    /// The code.
    pub code: u16,
    /// What it means.
    pub label: String,
}

/// One record of the campaign's contact list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Customer account number (BAAccountNumber).
    pub account: String,
    /// Customer name, "First Last" or "First,Last" (BABuddyName is "First,Last").
    pub name: String,
    /// Phone number to dial.
    pub phone: String,
}

impl Contact {
    /// The name as BABuddyName prints it: "First,Last".
    pub fn buddy_name(&self) -> String {
        if self.name.contains(',') {
            self.name.clone()
        } else {
            match self.name.split_once(' ') {
                Some((first, last)) => format!("{},{}", first.trim(), last.trim()),
                None => self.name.clone(),
            }
        }
    }
}

/// Parse a contact list: one `account,name,phone` line per contact; blank lines, `#` comments
/// and a header line starting with `account` are skipped. A name may be quoted to hold a comma.
pub fn parse_contacts_csv(text: &str) -> anyhow::Result<Vec<Contact>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty()
            || line.starts_with('#')
            || line.to_ascii_lowercase().starts_with("account")
        {
            continue;
        }
        let cells = split_csv_line(line);
        match cells.as_slice() {
            [account, name, phone, ..] => out.push(Contact {
                account: account.clone(),
                name: name.clone(),
                phone: phone.clone(),
            }),
            _ => anyhow::bail!(
                "line {}: expected `account,name,phone`, found `{line}`",
                n + 1
            ),
        }
    }
    Ok(out)
}

fn split_csv_line(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => cells.push(std::mem::take(&mut cell).trim().to_string()),
            _ => cell.push(c),
        }
    }
    cells.push(cell.trim().to_string());
    cells
}

/// The outbound preview campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Campaign {
    /// BACampaign.
    pub name: String,
    /// BACampaignID (the guide's sample sends it empty).
    pub id: String,
    /// user.layout.
    pub layout: String,
    /// The contacts, in dialing order.
    pub contacts: Vec<Contact>,
    /// A CSV file with more contacts (`account,name,phone`).
    pub contacts_file: Option<PathBuf>,
    /// First BADialedListID; contact `i` gets `first_dialed_list_id + i`.
    pub first_dialed_list_id: u32,
    /// Milliseconds an agent is available before a contact is offered.
    pub offer_delay_ms: u64,
    /// Milliseconds before a rejected or skipped contact may be offered again.
    pub retry_delay_ms: u64,
    /// Offers of one contact before it is closed.
    pub max_attempts: u32,
}

impl Default for Campaign {
    fn default() -> Self {
        Campaign {
            name: "LoadCamp".into(),
            id: String::new(),
            layout: "OODefault".into(),
            contacts: Vec::new(),
            contacts_file: None,
            first_dialed_list_id: 20779,
            offer_delay_ms: 200,
            retry_delay_ms: 60_000,
            max_attempts: 3,
        }
    }
}

impl Campaign {
    /// The guide's sample campaign: John Doe (AC111), then a second contact.
    pub fn demo() -> Campaign {
        Campaign {
            contacts: vec![
                Contact {
                    account: "AC111".into(),
                    name: "John Doe".into(),
                    phone: "5550100".into(),
                },
                Contact {
                    account: "AC112".into(),
                    name: "Jane Roe".into(),
                    phone: "5550101".into(),
                },
            ],
            ..Campaign::default()
        }
    }

    /// `n` generated contacts (load tests).
    pub fn generated(n: usize) -> Campaign {
        Campaign {
            contacts: (0..n)
                .map(|i| Contact {
                    account: format!("AC{i:06}"),
                    name: format!("Customer {i}"),
                    phone: format!("555{:07}", i),
                })
                .collect(),
            ..Campaign::default()
        }
    }
}

/// One inbound ACD call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InboundCall {
    /// Milliseconds after the simulator starts (scripted calls only).
    pub at_ms: u64,
    /// The caller's number.
    pub ani: String,
    /// The number the caller dialed.
    pub dnis: String,
    /// The CSQ the call queues on (0: any agent).
    pub csq: u32,
    /// CallVariable1..10 values (the first ones; missing ones are not sent).
    pub call_vars: Vec<String>,
    /// ECC variables, `name = value`.
    pub vars: Vec<(String, String)>,
}

impl Default for InboundCall {
    fn default() -> Self {
        InboundCall {
            at_ms: 0,
            ani: "5551234".into(),
            dnis: "7000".into(),
            csq: 1,
            call_vars: Vec::new(),
            vars: Vec::new(),
        }
    }
}

/// Where inbound calls come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InboundScenario {
    /// Random arrivals per minute (Poisson); 0 for none.
    pub rate_per_min: f64,
    /// Explicit calls at fixed times.
    pub calls: Vec<InboundCall>,
    /// The caller hangs up this many milliseconds after the agent answered (never when unset).
    pub customer_hangup_ms: Option<u64>,
    /// Seed of the arrival process.
    pub seed: u64,
}

impl Default for InboundScenario {
    fn default() -> Self {
        InboundScenario {
            rate_per_min: 0.0,
            calls: Vec::new(),
            customer_hangup_ms: None,
            seed: 1,
        }
    }
}

/// Faults to inject (every one off by default).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Close a connection after it has received this many messages.
    pub drop_after: Option<u32>,
    /// Close a connection after any received message with this probability (0..1).
    pub drop_probability: f64,
    /// Seed of the random faults.
    pub seed: u64,
    /// Delay every frame sent by this many milliseconds.
    pub delay_ms: u64,
    /// Never answer HEARTBEAT_REQ.
    pub ignore_heartbeats: bool,
    /// Corrupt every Nth frame sent (a floating field that runs past the end of the body).
    pub corrupt_every: Option<u32>,
    /// Send only the first half of every Nth frame, then close the connection.
    pub truncate_every: Option<u32>,
    /// Send a frame of an unknown message type after every Nth frame.
    pub unknown_message_every: Option<u32>,
    /// Append an unknown floating field to every frame sent.
    pub unknown_tags: bool,
}

/// Everything a simulator needs to start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: String,
    /// The agents.
    pub agents: Vec<AgentDef>,
    /// Customer-defined reason codes; when not empty, Not Ready and Logout reasons outside
    /// this list and the system codes are refused.
    pub reason_codes: Vec<ReasonCode>,
    /// The inbound scenario.
    pub inbound: InboundScenario,
    /// The outbound preview campaign.
    pub campaign: Option<Campaign>,
    /// Start as the standby side (OPEN_REQ refused with E_CTI_SERVER_NOT_MASTER).
    pub standby: bool,
    /// The other side's address: a standby probes it and becomes master when it stops
    /// answering.
    pub peer: Option<String>,
    /// Milliseconds between probes of the peer.
    pub probe_interval_ms: u64,
    /// Failed probes in a row after which a standby becomes master.
    pub probe_failures: u32,
    /// After an ACD call the agent goes to WORK (else straight back to AVAILABLE).
    pub auto_work: bool,
    /// Milliseconds of WORK after which the agent becomes AVAILABLE by itself (never if unset).
    pub wrapup_ms: Option<u64>,
    /// Width of a floating field's length under version 18 (1 or 2).
    pub v18_length_width: u8,
    /// Close a silent session after this many milliseconds instead of its IdleTimeout (tests;
    /// the IdleTimeout a client may ask for is at least 20 s).
    pub idle_timeout_override_ms: Option<u64>,
    /// Enforce a heartbeat rule: a session that breaks it is closed (see [`HeartbeatRule`]).
    /// Its interval also feeds the IdleTimeout check of OPEN_REQ.
    pub heartbeat_rule: Option<HeartbeatRule>,
    /// Agent Device Selection is on: under protocol version 18 a LOGIN without ActiveTerminal
    /// (tag 303) is refused
    /// (<https://developer.cisco.com/docs/contact-center-express/set_agent_state_req>).
    pub require_active_terminal: bool,
    /// Faults to inject.
    pub faults: Faults,
    /// Resource bounds that keep one client from taking the simulator down.
    pub limits: Limits,
    /// A session that replaces another agent's session, and every SET_AGENT_STATE_REQ, must
    /// carry the agent's password. Off by default, as on Unified CCX, where anyone who knows
    /// an agent ID can open a session for it and so end the agent's own.
    pub require_password: bool,
}

/// Resource bounds of the simulator (`[limits]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Open connections; one more is accepted and closed at once.
    pub max_connections: usize,
    /// Bytes waiting to be written to one connection; a client that reads slower than this
    /// lets pile up is closed.
    pub max_queued_bytes: usize,
    /// Milliseconds a write may make no progress before the connection is closed.
    pub write_timeout_ms: u64,
    /// Milliseconds from connect within which a connection must open a session.
    pub open_deadline_ms: u64,
    /// Named variables stored per call.
    pub max_call_vars: usize,
    /// Bytes of named-variable names and values stored per call.
    pub max_call_var_bytes: usize,
    /// Warnings of one kind logged per second; the rest are counted and summed up.
    pub warnings_per_second: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 10_000,
            max_queued_bytes: 1 << 20,
            write_timeout_ms: 10_000,
            open_deadline_ms: 60_000,
            max_call_vars: 200,
            max_call_var_bytes: 64 * 1024,
            warnings_per_second: 10,
        }
    }
}

/// The two heartbeat rules of
/// <https://developer.cisco.com/docs/contact-center-express/how-a-session-is-maintained>.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HeartbeatRuleMode {
    /// "Heartbeat messages must be sent regardless of line activity": a session that goes
    /// longer than the interval (and some slack) without a HEARTBEAT_REQ is closed.
    Always,
    /// "whenever no messages have been sent for the heartbeat interval": a HEARTBEAT_REQ that
    /// comes well within the interval after another message is a violation.
    WhenIdle,
}

/// A heartbeat rule the simulator enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HeartbeatRule {
    /// Which rule.
    pub mode: HeartbeatRuleMode,
    /// The client's heartbeat interval, in milliseconds.
    pub interval_ms: u64,
}

impl Default for HeartbeatRule {
    fn default() -> Self {
        HeartbeatRule {
            mode: HeartbeatRuleMode::Always,
            interval_ms: 20_000,
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: format!("127.0.0.1:{DEFAULT_PORT}"),
            agents: vec![AgentDef::default()],
            reason_codes: Vec::new(),
            inbound: InboundScenario::default(),
            campaign: None,
            standby: false,
            peer: None,
            probe_interval_ms: 200,
            probe_failures: 3,
            auto_work: true,
            wrapup_ms: None,
            v18_length_width: ccx_cti::wire::V18_LENGTH_WIDTH_DEFAULT,
            idle_timeout_override_ms: None,
            heartbeat_rule: None,
            require_active_terminal: false,
            faults: Faults::default(),
            limits: Limits::default(),
            require_password: false,
        }
    }
}

/// A probability flag (`--drop-probability`): a number from 0 to 1.
pub fn parse_probability(text: &str) -> Result<f64, String> {
    let p: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!("{p} is not a probability (0 to 1)"))
    }
}

/// A rate flag (calls per minute): a finite number, 0 or more.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let r: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if r.is_finite() && (0.0..=1_000_000.0).contains(&r) {
        Ok(r)
    } else {
        Err(format!("{r} is not a rate from 0 to 1000000 per minute"))
    }
}

impl SimConfig {
    /// Every value in its range (the parts serde's types do not bound); the error names the
    /// key.
    pub fn check(&self) -> anyhow::Result<()> {
        let bad = |key: &str, why: String| Err(anyhow::anyhow!("`{key}`: {why}"));
        let f = &self.faults;
        if let Err(e) = parse_probability(&f.drop_probability.to_string()) {
            return bad("faults.drop_probability", e);
        }
        if let Err(e) = parse_rate(&self.inbound.rate_per_min.to_string()) {
            return bad("inbound.rate_per_min", e);
        }
        for (key, every) in [
            ("faults.drop_after", f.drop_after),
            ("faults.corrupt_every", f.corrupt_every),
            ("faults.truncate_every", f.truncate_every),
            ("faults.unknown_message_every", f.unknown_message_every),
        ] {
            if every == Some(0) {
                return bad(key, "must be 1 or more".into());
            }
        }
        if f.delay_ms > 60_000 {
            return bad(
                "faults.delay_ms",
                format!("{} is more than 60000", f.delay_ms),
            );
        }
        if !matches!(self.v18_length_width, 1 | 2) {
            return bad(
                "v18_length_width",
                format!("{} is not 1 or 2", self.v18_length_width),
            );
        }
        if self.probe_failures == 0 || self.probe_interval_ms == 0 {
            return bad(
                "probe_failures / probe_interval_ms",
                "must be 1 or more".into(),
            );
        }
        let l = &self.limits;
        for (key, v) in [
            ("limits.max_connections", l.max_connections),
            ("limits.max_queued_bytes", l.max_queued_bytes),
            ("limits.max_call_vars", l.max_call_vars),
            ("limits.max_call_var_bytes", l.max_call_var_bytes),
        ] {
            if v == 0 {
                return bad(key, "must be 1 or more".into());
            }
        }
        if l.write_timeout_ms < 100 || l.open_deadline_ms < 100 {
            return bad(
                "limits.write_timeout_ms / limits.open_deadline_ms",
                "must be 100 or more".into(),
            );
        }
        if self.listen.parse::<std::net::SocketAddr>().is_err() && !self.listen.contains(':') {
            return bad("listen", format!("`{}` is not host:port", self.listen));
        }
        Ok(())
    }

    /// A configuration that listens on a free loopback port.
    pub fn loopback() -> SimConfig {
        SimConfig {
            listen: "127.0.0.1:0".into(),
            ..SimConfig::default()
        }
    }

    /// Read a TOML file; a campaign's `contacts_file` is read relative to it.
    pub fn from_toml_file(path: &Path) -> anyhow::Result<SimConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        // Unknown keys and sections are refused (deny_unknown_fields): the error names the key
        // and its line.
        let mut cfg: SimConfig =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        cfg.check()
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        if let Some(campaign) = cfg.campaign.as_mut() {
            if let Some(file) = campaign.contacts_file.clone() {
                let file = match path.parent() {
                    Some(dir) if file.is_relative() => dir.join(file),
                    _ => file,
                };
                campaign.contacts.extend(load_contacts(&file)?);
            }
        }
        Ok(cfg)
    }
}

/// Read a contact list CSV file.
pub fn load_contacts(path: &Path) -> anyhow::Result<Vec<Contact>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    parse_contacts_csv(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_skips_header_and_comments_and_keeps_quoted_commas() {
        let text =
            "account,name,phone\n# a comment\nAC1,John Doe,5550100\n\nAC2,\"Roe, Jane\",5550101\n";
        let contacts = parse_contacts_csv(text).unwrap();
        assert_eq!(contacts.len(), 2);
        assert_eq!(contacts[0].buddy_name(), "John,Doe");
        assert_eq!(contacts[1].name, "Roe, Jane");
        assert!(parse_contacts_csv("AC1;x").is_err());
    }

    #[test]
    fn the_example_file_parses() {
        let mut cfg: SimConfig = toml::from_str(EXAMPLE_TOML).unwrap();
        assert_eq!(cfg.agents.len(), 2);
        assert_eq!(cfg.reason_codes[0].code, 10);
        assert_eq!(cfg.inbound.calls[0].vars[0].1, "Default");
        assert_eq!(
            cfg.heartbeat_rule,
            Some(HeartbeatRule {
                mode: HeartbeatRuleMode::Always,
                interval_ms: 30_000
            })
        );
        assert!(!cfg.require_active_terminal);
        let campaign = cfg.campaign.take().unwrap();
        assert_eq!(
            campaign.contacts_file.as_deref(),
            Some(Path::new("contacts.csv"))
        );
        assert_eq!(campaign.contacts.len(), 1);
    }

    #[test]
    fn toml_config_fills_defaults() {
        let cfg: SimConfig = toml::from_str(
            "listen = \"127.0.0.1:0\"\n[[agents]]\nid = \"a1\"\nextension = \"1001\"\n[campaign]\nname = \"C\"\n[[campaign.contacts]]\naccount = \"A\"\nname = \"N M\"\nphone = \"1\"\n",
        )
        .unwrap();
        assert_eq!(cfg.agents[0].id, "a1");
        assert_eq!(cfg.agents[0].instrument(), "1001");
        assert_eq!(cfg.campaign.unwrap().contacts.len(), 1);
        assert!(cfg.auto_work);
    }
}
