//! The phone's configuration as a TOML file, and `ccx config encode|decode`: the same
//! [`PhoneConfig`] as the postcard blob firmware keeps in flash.
//!
//! Every key is optional; a missing key keeps [`PhoneConfig::default`]. Keys are the field
//! names of `PhoneConfig`, servers as `"host:port"` strings:
//!
//! ```toml
//! servers = ["10.0.0.5:12028", "uccx-b.example.com:12028"]   # side A, side B
//! agent_id = "chli4020"
//! agent_extension = "4020"
//! protocol_version = 17
//! heartbeat_secs = 20
//!
//! [[not_ready_reasons]]        # the agent's vocabulary (not part of the blob)
//! code = 12
//! label = "Lunch"
//! [[wrap_up_reasons]]
//! code = 1
//! label = "Sale"
//! ```
//!
//! Every front end checks the result with [`check`] ([`PhoneConfig::validate`]), which names
//! each bad field with the file and line that set it.

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ccx_cti::config::{
    HeartbeatMode, PhoneConfig, ReasonKind, ServerAddr, ShortText, Vocabulary, BLOB_MAX_LEN,
    DEFAULT_PORT,
};

/// The vocabulary the std front ends load (boxed: about 70 bytes a reason).
pub type StdVocabulary = Vocabulary<1024>;

/// One reason of the vocabulary sections (`[[not_ready_reasons]]`, `[[logout_reasons]]`,
/// `[[wrap_up_reasons]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonEntry {
    /// The code (1..=65535).
    pub code: u16,
    /// The label the agent sees.
    pub label: String,
}

/// What a secret prints as unless the user asks otherwise.
pub const MASK: &str = "********";

/// The TOML form of a [`PhoneConfig`]: every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PhoneFile {
    /// Side A and optionally side B, `"host:port"` (port 12028 when left out).
    pub servers: Option<Vec<String>>,
    /// AgentID.
    pub agent_id: Option<String>,
    /// AgentExtension.
    pub agent_extension: Option<String>,
    /// AgentInstrument.
    pub agent_instrument: Option<String>,
    /// AgentPassword (better given through `CCX_AGENT_PASSWORD` or the prompt).
    pub agent_password: Option<String>,
    /// ClientID of OPEN_REQ.
    pub client_id: Option<String>,
    /// ClientPassword of OPEN_REQ.
    pub client_password: Option<String>,
    /// Protocol version (10..=18).
    pub protocol_version: Option<u8>,
    /// Width of a floating field's length under version 18 (1 or 2).
    pub v18_length_width: Option<u8>,
    /// Seconds between heartbeats.
    pub heartbeat_secs: Option<u16>,
    /// `"always"` (one HEARTBEAT_REQ every interval) or `"when-idle"` (only after a quiet one).
    pub heartbeat_mode: Option<HeartbeatModeName>,
    /// IdleTimeout of OPEN_REQ.
    pub idle_timeout_secs: Option<u16>,
    /// Unanswered heartbeats before the session is declared dead.
    pub missed_heartbeats: Option<u8>,
    /// Seconds a request may wait for its confirmation.
    pub request_timeout_secs: Option<u16>,
    /// Seconds before reconnecting.
    pub reconnect_secs: Option<u16>,
    /// Seconds a TCP connect may take.
    pub connect_timeout_secs: Option<u16>,
    /// ServicesRequested.
    pub services_requested: Option<u32>,
    /// CallMsgMask.
    pub call_msg_mask: Option<u32>,
    /// AgentStateMask.
    pub agent_state_mask: Option<u32>,
    /// Log in with the outbound capacity.
    pub outbound: Option<bool>,
    /// The terminal sent as ActiveTerminal at login under protocol version 18 (Agent Device
    /// Selection).
    pub active_terminal: Option<String>,
    /// Not Ready reason codes and their labels.
    pub not_ready_reasons: Option<Vec<ReasonEntry>>,
    /// Logout reason codes and their labels.
    pub logout_reasons: Option<Vec<ReasonEntry>>,
    /// Wrap-up reasons and their labels.
    pub wrap_up_reasons: Option<Vec<ReasonEntry>>,
}

/// [`HeartbeatMode`] as the file spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HeartbeatModeName {
    /// [`HeartbeatMode::Always`]
    Always,
    /// [`HeartbeatMode::WhenIdle`]
    WhenIdle,
}

impl From<HeartbeatModeName> for HeartbeatMode {
    fn from(name: HeartbeatModeName) -> Self {
        match name {
            HeartbeatModeName::Always => HeartbeatMode::Always,
            HeartbeatModeName::WhenIdle => HeartbeatMode::WhenIdle,
        }
    }
}

impl From<HeartbeatMode> for HeartbeatModeName {
    fn from(mode: HeartbeatMode) -> Self {
        match mode {
            HeartbeatMode::Always => HeartbeatModeName::Always,
            HeartbeatMode::WhenIdle => HeartbeatModeName::WhenIdle,
        }
    }
}

/// A problem with one key of the file (its line is looked up by the loader).
#[derive(Debug)]
pub struct FieldError {
    /// The key.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}

fn set_text<const N: usize>(
    field: &mut heapless::String<N>,
    value: &str,
    name: &'static str,
) -> anyhow::Result<()> {
    field.clear();
    field.push_str(value).map_err(|_| {
        FieldError {
            field: name,
            message: format!("{} bytes long; at most {N} fit", value.len()),
        }
        .into()
    })
}

/// A server as `host:port` (`[v6]:port` for an IPv6 literal).
pub fn server_text(server: &ServerAddr) -> String {
    if server.host.contains(':') && !server.host.starts_with('[') {
        format!("[{}]:{}", server.host, server.port)
    } else {
        format!("{}:{}", server.host, server.port)
    }
}

/// Parse `host:port` (port 12028 when left out; `[v6]:port` or a bare IPv6 literal).
pub fn parse_server(text: &str) -> anyhow::Result<ServerAddr> {
    let (host, port) = match text.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') || h.starts_with('[') => (
            h.trim_matches(|c| c == '[' || c == ']'),
            p.parse::<u16>()
                .map_err(|_| anyhow::anyhow!("`{text}`: `{p}` is not a port"))?,
        ),
        _ => (text, DEFAULT_PORT),
    };
    if host.is_empty() {
        anyhow::bail!("`{text}`: no host");
    }
    let mut h = ShortText::new();
    set_text(&mut h, host, "a server host")?;
    Ok(ServerAddr { host: h, port })
}

impl PhoneFile {
    /// Parse the TOML text.
    pub fn from_toml(text: &str) -> anyhow::Result<PhoneFile> {
        Ok(toml::from_str(text)?)
    }

    /// Read a TOML file (errors name the file and line, see [`Source::phone_file`]).
    pub fn read(path: &Path) -> anyhow::Result<PhoneFile> {
        Source::read(path)?.phone_file()
    }

    /// Write the keys that are set into `cfg`.
    pub fn apply(&self, cfg: &mut PhoneConfig) -> anyhow::Result<()> {
        if let Some(servers) = &self.servers {
            if servers.len() > 2 {
                return Err(FieldError {
                    field: "servers",
                    message: format!("{} given; side A and at most a side B", servers.len()),
                }
                .into());
            }
            cfg.servers.clear();
            for s in servers {
                let server = parse_server(s).map_err(|e| FieldError {
                    field: "servers",
                    message: e.to_string(),
                })?;
                let _ = cfg.servers.push(server);
            }
        }
        if let Some(v) = &self.agent_id {
            set_text(&mut cfg.agent_id, v, "agent_id")?;
        }
        if let Some(v) = &self.agent_extension {
            set_text(&mut cfg.agent_extension, v, "agent_extension")?;
        }
        if let Some(v) = &self.agent_instrument {
            set_text(&mut cfg.agent_instrument, v, "agent_instrument")?;
        }
        if let Some(v) = &self.agent_password {
            set_text(&mut cfg.agent_password, v, "agent_password")?;
        }
        if let Some(v) = &self.client_id {
            set_text(&mut cfg.client_id, v, "client_id")?;
        }
        if let Some(v) = &self.client_password {
            set_text(&mut cfg.client_password, v, "client_password")?;
        }
        if let Some(v) = &self.active_terminal {
            set_text(&mut cfg.active_terminal, v, "active_terminal")?;
        }
        if let Some(mode) = self.heartbeat_mode {
            cfg.heartbeat_mode = mode.into();
        }
        macro_rules! copy {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { cfg.$f = v; } )* };
        }
        // Ranges are checked by PhoneConfig::validate, in one place for every front end.
        copy!(
            protocol_version,
            v18_length_width,
            heartbeat_secs,
            idle_timeout_secs,
            missed_heartbeats,
            request_timeout_secs,
            reconnect_secs,
            connect_timeout_secs,
            services_requested,
            call_msg_mask,
            agent_state_mask,
            outbound
        );
        Ok(())
    }

    /// A configuration: the defaults with this file's keys applied.
    pub fn to_config(&self) -> anyhow::Result<PhoneConfig> {
        let mut cfg = PhoneConfig::default();
        self.apply(&mut cfg)?;
        Ok(cfg)
    }

    /// Every field of `cfg`; passwords masked unless `show_secrets`.
    pub fn from_config(cfg: &PhoneConfig, show_secrets: bool) -> PhoneFile {
        let secret = |s: &str| {
            if show_secrets || s.is_empty() {
                s.to_string()
            } else {
                MASK.to_string()
            }
        };
        PhoneFile {
            servers: Some(cfg.servers.iter().map(server_text).collect()),
            agent_id: Some(cfg.agent_id.to_string()),
            agent_extension: Some(cfg.agent_extension.to_string()),
            agent_instrument: Some(cfg.agent_instrument.to_string()),
            agent_password: Some(secret(&cfg.agent_password)),
            client_id: Some(cfg.client_id.to_string()),
            client_password: Some(secret(&cfg.client_password)),
            protocol_version: Some(cfg.protocol_version),
            v18_length_width: Some(cfg.v18_length_width),
            heartbeat_secs: Some(cfg.heartbeat_secs),
            idle_timeout_secs: Some(cfg.idle_timeout_secs),
            missed_heartbeats: Some(cfg.missed_heartbeats),
            request_timeout_secs: Some(cfg.request_timeout_secs),
            reconnect_secs: Some(cfg.reconnect_secs),
            connect_timeout_secs: Some(cfg.connect_timeout_secs),
            services_requested: Some(cfg.services_requested),
            call_msg_mask: Some(cfg.call_msg_mask),
            agent_state_mask: Some(cfg.agent_state_mask),
            outbound: Some(cfg.outbound),
            active_terminal: Some(cfg.active_terminal.to_string()),
            heartbeat_mode: Some(cfg.heartbeat_mode.into()),
            not_ready_reasons: None,
            logout_reasons: None,
            wrap_up_reasons: None,
        }
    }

    /// The vocabulary of the reason sections (empty without them).
    pub fn vocabulary(&self) -> anyhow::Result<Box<StdVocabulary>> {
        let mut vocabulary = Box::<StdVocabulary>::default();
        for (kind, entries) in [
            (ReasonKind::NotReady, &self.not_ready_reasons),
            (ReasonKind::Logout, &self.logout_reasons),
            (ReasonKind::WrapUp, &self.wrap_up_reasons),
        ] {
            for entry in entries.iter().flatten() {
                vocabulary.add(kind, entry.code, &entry.label)?;
            }
        }
        Ok(vocabulary)
    }

    /// The TOML text.
    pub fn to_toml(&self) -> anyhow::Result<String> {
        Ok(toml::to_string(self)?)
    }
}

/// The blob of a configuration (what firmware stores in flash): magic, format version,
/// postcard payload and CRC-32, see [`PhoneConfig::encode_blob`].
pub fn encode_blob(cfg: &PhoneConfig) -> anyhow::Result<Vec<u8>> {
    let mut buf = [0u8; BLOB_MAX_LEN];
    Ok(cfg.encode_blob(&mut buf)?.to_vec())
}

/// A configuration from its blob; an old, foreign or damaged blob is an error.
pub fn decode_blob(bytes: &[u8]) -> anyhow::Result<PhoneConfig> {
    Ok(PhoneConfig::decode_blob(bytes)?)
}

/// What `ccx config decode` read: a blob, or a whole store region dumped from a phone.
#[derive(Debug)]
pub struct Decoded {
    /// The configuration (from a region: the newest record that passes validation).
    pub config: PhoneConfig,
    /// What else a region holds (its records, the agent's last state), as `# ` comment lines
    /// for the head of the TOML; empty for a blob.
    pub about: Vec<String>,
    /// Problems worth a warning: a newer record passed over, a blob that fails validation.
    pub warnings: Vec<String>,
}

/// Read the bytes of `name`: a configuration blob (it starts with the blob magic) or a store
/// region (the flash image the firmware reads, `store-image` writes and a phone's dump holds),
/// read by the store's own code ([`ccx_cti_store::ram_flash::read_region`]), as the phone
/// does at boot. Every error names the file and what is wrong.
pub fn decode_file(name: &str, bytes: &[u8]) -> anyhow::Result<Decoded> {
    let magic = &ccx_cti::config::BLOB_MAGIC;
    if bytes.starts_with(magic) || (bytes.len() < magic.len() && magic.starts_with(bytes)) {
        let config = decode_blob(bytes).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        // A blob read whole may still hold values written before validation existed.
        let origin = Origin {
            otherwise: Some(name.to_string()),
            ..Origin::default()
        };
        let warnings = match check(&config, &origin) {
            Err(e) => vec![format!("{e:#}")],
            Ok(_) => Vec::new(),
        };
        return Ok(Decoded {
            config,
            about: Vec::new(),
            warnings,
        });
    }
    let mut region = bytes.to_vec();
    let contents = ccx_cti_store::ram_flash::read_region(&mut region).map_err(|e| {
        anyhow::anyhow!("{name}: not a configuration blob (no CCXP magic), and {e}")
    })?;
    let pages = bytes.len() / ccx_cti_store::ram_flash::PAGE;
    let agent = match contents.agent {
        Some(a) => format!(
            "the agent's last state: {}, {}, last reason code {}{}",
            if a.logged_in {
                "logged in"
            } else {
                "logged out"
            },
            ccx_cti::wire::AgentState::from(a.state),
            a.reason_code,
            // A system reason by its words as well; an administrator's code has its label in
            // the vocabulary, which the region does not hold.
            ccx_cti::phone::AgentReason::from_code(a.reason_code)
                .words()
                .map(|w| format!(" ({w})"))
                .unwrap_or_default()
        ),
        None => "no agent state stored".to_string(),
    };
    let Some(config) = contents.config else {
        anyhow::bail!(
            "{name}: {} ({pages}-page store region; {agent})",
            match (&contents.newer_problem, &contents.flash) {
                (Some(p), _) => format!("no usable configuration: the newest record is {p}"),
                (None, Some(e)) => format!("the store cannot read this region ({e:?})"),
                (None, None) => "no configuration in this region".to_string(),
            }
        );
    };
    let mut warnings = Vec::new();
    if let Some(p) = &contents.newer_problem {
        warnings.push(format!(
            "{name}: the newest configuration record is {p}; showing the previous one (the \
             phone boots with it)"
        ));
    }
    let about = vec![
        format!(
            "# {name}: a store region of {pages} pages, {} configuration record(s)",
            contents.config_records
        ),
        format!("# {agent}"),
        "# the agent's password is not stored: the phone asks for it at login".to_string(),
    ];
    Ok(Decoded {
        config,
        about,
        warnings,
    })
}

/// The configuration file's text, kept to name the line a key is on.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
}

impl Source {
    /// Read the file.
    pub fn read(path: &Path) -> anyhow::Result<Source> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok(Source {
            path: path.to_path_buf(),
            text,
        })
    }

    /// The 1-based line of the top-level `key = …`, if the file sets it.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        for (n, line) in self.text.lines().enumerate() {
            let line = line.trim_start();
            if line.starts_with('[') {
                // Keys after the first table header belong to that table.
                return None;
            }
            let name = line
                .split('=')
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches('"');
            if line.contains('=') && name == key {
                return Some(n + 1);
            }
        }
        None
    }

    /// `path:line` of `key`, or `path` when the file does not set it.
    pub fn place(&self, key: &str) -> String {
        match self.line_of(key) {
            Some(line) => format!("{}:{line}", self.path.display()),
            None => self.path.display().to_string(),
        }
    }

    /// Parse the file, naming the file and line of a bad key. The TOML error's quote of the
    /// line is left out where the line holds a password (it would show the secret).
    pub fn phone_file(&self) -> anyhow::Result<PhoneFile> {
        toml::from_str(&self.text).map_err(|e: toml::de::Error| {
            let path = self.path.display();
            let Some(span) = e.span() else {
                return anyhow::anyhow!("{path}: {}", e.message());
            };
            let before = self.text.get(..span.start).unwrap_or("");
            let line_no = before.matches('\n').count() + 1;
            let line = self.text.lines().nth(line_no - 1).unwrap_or("");
            if line.contains("password") {
                anyhow::anyhow!(
                    "{path}:{line_no}: the value is not valid here (not shown: the line holds a \
                     password)"
                )
            } else {
                anyhow::anyhow!("{path}:{line_no}: {e}")
            }
        })
    }

    /// Name the file and line in an error of [`PhoneFile::apply`].
    pub fn locate(&self, error: anyhow::Error) -> anyhow::Error {
        match error.downcast_ref::<FieldError>() {
            Some(f) => anyhow::anyhow!("{}: {f}", self.place(f.field)),
            None => anyhow::anyhow!("{}: {error}", self.path.display()),
        }
    }
}

/// Where a configuration's values came from, to name it in a problem.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The file, if any.
    pub file: Option<Source>,
    /// Fields set by something other than the file (a flag, the environment), and by what.
    pub overrides: Vec<(&'static str, String)>,
    /// What to name a field the file and the overrides do not set ("default" when `None`).
    pub otherwise: Option<String>,
}

impl Origin {
    /// Where `field` came from: `--flag`, `file:line`, or the default.
    pub fn of(&self, field: &str) -> String {
        if let Some((_, by)) = self.overrides.iter().find(|(f, _)| *f == field) {
            return by.clone();
        }
        match &self.file {
            Some(src) if src.line_of(field).is_some() => src.place(field),
            Some(src) => format!("{} (default)", src.path.display()),
            None => self
                .otherwise
                .clone()
                .unwrap_or_else(|| "default".to_string()),
        }
    }
}

/// Validate `cfg` ([`PhoneConfig::validate`]): every problem, one a line, each with its field
/// and where it was set; `Ok` carries the warning worth showing, if any.
pub fn check(cfg: &PhoneConfig, origin: &Origin) -> anyhow::Result<Option<String>> {
    let mut problems = String::new();
    let warning = cfg.for_each_problem(|e| {
        let _ = writeln!(problems, "{}: {e}", origin.of(e.field().name()));
    });
    if !problems.is_empty() {
        anyhow::bail!(
            "the phone configuration is not usable:\n{}",
            problems.trim_end()
        );
    }
    Ok(warning.map(|w| format!("{}: {w}", origin.of(w.field().name()))))
}

/// Read, apply and validate a configuration file: the configuration, its vocabulary and the
/// warning worth showing.
pub fn load(path: &Path) -> anyhow::Result<(PhoneConfig, Box<StdVocabulary>, Option<String>)> {
    let (cfg, vocabulary, origin) = load_unvalidated(path)?;
    let warning = check(&cfg, &origin)?;
    Ok((cfg, vocabulary, warning))
}

/// Read and apply a configuration file without [`check`]: what [`load`] does before it
/// validates, for `ccx config encode --unchecked` (a blob a phone must reject, to test it). A
/// file that does not parse, or whose values do not fit the configuration, is still an error.
pub fn load_unvalidated(path: &Path) -> anyhow::Result<(PhoneConfig, Box<StdVocabulary>, Origin)> {
    let source = Source::read(path)?;
    let file = source.phone_file()?;
    let cfg = file.to_config().map_err(|e| source.locate(e))?;
    let vocabulary = file
        .vocabulary()
        .map_err(|e| anyhow::anyhow!("{}: {e}", source.path.display()))?;
    let origin = Origin {
        file: Some(source),
        ..Origin::default()
    };
    Ok((cfg, vocabulary, origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_to_blob_and_back_keeps_everything_and_masks_secrets() {
        let file = PhoneFile::from_toml(
            "servers = [\"10.0.0.5:12028\", \"side-b\"]\nagent_id = \"chli4020\"\nagent_extension = \"4020\"\nagent_password = \"pw\"\nprotocol_version = 16\nheartbeat_secs = 15\nheartbeat_mode = \"when-idle\"\nactive_terminal = \"SEP00AABBCCDDEE\"\n",
        )
        .unwrap();
        let cfg = file.to_config().unwrap();
        assert_eq!(cfg.heartbeat_mode, HeartbeatMode::WhenIdle);
        assert_eq!(cfg.active_terminal, "SEP00AABBCCDDEE");
        assert_eq!(cfg.servers.len(), 2);
        assert_eq!(cfg.servers[1].port, DEFAULT_PORT);
        assert_eq!(cfg.protocol_version, 16);
        let back = decode_blob(&encode_blob(&cfg).unwrap()).unwrap();
        assert_eq!(back, cfg);
        let shown = PhoneFile::from_config(&back, false).to_toml().unwrap();
        assert!(shown.contains(MASK) && !shown.contains("\"pw\""));
        let secret = PhoneFile::from_config(&back, true).to_toml().unwrap();
        assert!(secret.contains("\"pw\""));
        assert_eq!(
            PhoneFile::from_toml(&secret).unwrap().to_config().unwrap(),
            cfg
        );
    }

    #[test]
    fn bad_values_are_reported() {
        assert!(PhoneFile::from_toml("nonsense = 1").is_err());
        assert!(PhoneFile::from_toml("heartbeat_mode = \"sometimes\"").is_err());
        assert!(parse_server("h:99999").is_err());
        assert!(decode_blob(&[0xFF; 3]).is_err());
        let three = PhoneFile::from_toml("servers = [\"a\", \"b\", \"c\"]").unwrap();
        let e = three.to_config().unwrap_err();
        assert_eq!(e.downcast_ref::<FieldError>().unwrap().field, "servers");
    }

    fn source(text: &str) -> Source {
        Source {
            path: PathBuf::from("phone.toml"),
            text: text.to_string(),
        }
    }

    fn problems(text: &str) -> String {
        let src = source(text);
        let cfg = src.phone_file().unwrap().to_config().unwrap();
        let origin = Origin {
            file: Some(src),
            ..Origin::default()
        };
        check(&cfg, &origin).unwrap_err().to_string()
    }

    #[test]
    fn a_bad_field_is_refused_with_its_file_and_line() {
        let text = "agent_id = \"a1\"\n# the desk phone\nagent_extension = \"12345678901234567890\"\nprotocol_version = 9\n";
        let e = problems(text);
        assert!(
            e.contains(
                "phone.toml:3: agent_extension is 20 bytes long; the server takes at most 15"
            ),
            "{e}"
        );
        assert!(e.contains("phone.toml:4: protocol_version 9"), "{e}");
    }

    #[test]
    fn a_default_that_clashes_is_named_as_the_default() {
        // A 45 s heartbeat is too long, and makes the default IdleTimeout of 80 s too short.
        let e = problems("heartbeat_secs = 45\n");
        assert!(e.contains("phone.toml:1: heartbeat_secs 45"), "{e}");
        assert!(
            e.contains("phone.toml (default): idle_timeout_secs: IdleTimeout 80 s"),
            "{e}"
        );
        let e = problems("heartbeat_secs = 30\nidle_timeout_secs = 40\n");
        assert!(
            e.contains("phone.toml:2: idle_timeout_secs: IdleTimeout 40 s is less than twice"),
            "{e}"
        );
        let e = problems("reconnect_secs = 0\nservers = [\"10.0.0.5:0\", \"cti_b\"]\n");
        assert!(
            e.contains("phone.toml:1: reconnect_secs 0: at least 1 s"),
            "{e}"
        );
        assert!(
            e.contains("phone.toml:2: servers: side A has port 0"),
            "{e}"
        );
        assert!(
            e.contains("phone.toml:2: servers: side B: character 3"),
            "{e}"
        );
    }

    #[test]
    fn an_override_is_named_by_its_flag() {
        let cfg = PhoneConfig {
            connect_timeout_secs: 0,
            ..PhoneConfig::default()
        };
        let origin = Origin {
            file: None,
            overrides: vec![("connect_timeout_secs", "--connect-timeout-secs".into())],
            otherwise: None,
        };
        let e = check(&cfg, &origin).unwrap_err().to_string();
        assert!(
            e.contains("--connect-timeout-secs: connect_timeout_secs 0"),
            "{e}"
        );
    }

    #[test]
    fn a_toml_error_on_a_password_line_does_not_quote_it() {
        for text in [
            "agent_id = \"a\"\nagent_password = \"hunter2\n",
            "agent_password = 'hunter2' 'x'\n",
            "client_password = 1234567\n",
        ] {
            let e = source(text).phone_file().unwrap_err().to_string();
            assert!(!e.contains("hunter2") && !e.contains("1234567"), "{e}");
            assert!(e.starts_with("phone.toml:"), "{e}");
        }
        // Other lines keep the TOML library's quote.
        let e = source("agent_id = 7\n")
            .phone_file()
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("phone.toml:1: ") && e.contains("agent_id = 7"),
            "{e}"
        );
    }

    #[test]
    fn a_capacity_overflow_names_the_line() {
        let src = source(&format!("\nclient_id = \"{}\"\n", "c".repeat(70)));
        let e = src
            .locate(src.phone_file().unwrap().to_config().unwrap_err())
            .to_string();
        assert_eq!(e, "phone.toml:2: client_id: 70 bytes long; at most 64 fit");
    }

    #[test]
    fn the_vocabulary_sections_load_and_refuse_duplicates() {
        let mut text = String::new();
        for code in 1..=250 {
            text += &format!("[[not_ready_reasons]]\ncode = {code}\nlabel = \"Reason {code}\"\n");
        }
        text += "[[wrap_up_reasons]]\ncode = 7\nlabel = \"Sale\"\n";
        let file = PhoneFile::from_toml(&text).unwrap();
        let v = file.vocabulary().unwrap();
        assert_eq!(v.len(), 251);
        assert_eq!(v.label(ReasonKind::NotReady, 250), Some("Reason 250"));
        assert_eq!(v.label(ReasonKind::WrapUp, 7), Some("Sale"));
        text += "[[wrap_up_reasons]]\ncode = 7\nlabel = \"Again\"\n";
        let e = PhoneFile::from_toml(&text)
            .unwrap()
            .vocabulary()
            .unwrap_err();
        assert_eq!(e.to_string(), "wrap_up_reasons code 7 is given twice");
    }

    #[test]
    fn ipv6_servers_keep_their_brackets_in_text() {
        let s = parse_server("[fd00::5]:2000").unwrap();
        assert_eq!(s.host.as_str(), "fd00::5");
        assert_eq!(server_text(&s), "[fd00::5]:2000");
        assert_eq!(parse_server(&server_text(&s)).unwrap(), s);
        assert_eq!(parse_server("fd00::5").unwrap().port, DEFAULT_PORT);
    }
}
