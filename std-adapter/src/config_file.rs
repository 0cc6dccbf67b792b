//! The phone's configuration as a TOML file, and `ccx config encode|decode`: the same
//! [`PhoneConfig`] as the postcard blob firmware keeps in flash.
//!
//! Every key is optional; a missing key keeps [`PhoneConfig::default`]. Keys are the field
//! names of `PhoneConfig`, servers as `"host:port"` strings:
//!
//! ```toml
//! servers = ["10.0.0.5:12028", "10.0.0.6:12028"]   # side A, side B
//! agent_id = "chli4020"
//! agent_extension = "4020"
//! protocol_version = 17
//! heartbeat_secs = 20
//! ```

use serde::{Deserialize, Serialize};
use std::path::Path;

use ccx_cti::config::{PhoneConfig, ServerAddr, ShortText, DEFAULT_PORT};

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
}

fn set_text<const N: usize>(
    field: &mut heapless::String<N>,
    value: &str,
    name: &str,
) -> anyhow::Result<()> {
    field.clear();
    field
        .push_str(value)
        .map_err(|_| anyhow::anyhow!("{name} is longer than {} bytes", N))
}

/// Parse `host:port` (port 12028 when left out).
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

    /// Read a TOML file.
    pub fn read(path: &Path) -> anyhow::Result<PhoneFile> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        PhoneFile::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// Write the keys that are set into `cfg`.
    pub fn apply(&self, cfg: &mut PhoneConfig) -> anyhow::Result<()> {
        if let Some(servers) = &self.servers {
            if servers.is_empty() || servers.len() > 2 {
                anyhow::bail!("servers: give side A and at most a side B");
            }
            cfg.servers.clear();
            for s in servers {
                let _ = cfg.servers.push(parse_server(s)?);
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
        if let Some(v) = self.protocol_version {
            if !(10..=18).contains(&v) {
                anyhow::bail!("protocol_version {v}: Unified CCX speaks 10 to 18");
            }
            cfg.protocol_version = v;
        }
        macro_rules! copy {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { cfg.$f = v; } )* };
        }
        copy!(
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
            servers: Some(
                cfg.servers
                    .iter()
                    .map(|s| format!("{}:{}", s.host, s.port))
                    .collect(),
            ),
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
        }
    }

    /// The TOML text.
    pub fn to_toml(&self) -> anyhow::Result<String> {
        Ok(toml::to_string(self)?)
    }
}

/// The postcard blob of a configuration (what firmware stores in flash).
pub fn encode_blob(cfg: &PhoneConfig) -> anyhow::Result<Vec<u8>> {
    Ok(postcard::to_stdvec(cfg)?)
}

/// A configuration from its postcard blob.
pub fn decode_blob(bytes: &[u8]) -> anyhow::Result<PhoneConfig> {
    postcard::from_bytes(bytes).map_err(|e| anyhow::anyhow!("not a phone configuration blob: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_to_blob_and_back_keeps_everything_and_masks_secrets() {
        let file = PhoneFile::from_toml(
            "servers = [\"10.0.0.5:12028\", \"side-b\"]\nagent_id = \"chli4020\"\nagent_extension = \"4020\"\nagent_password = \"pw\"\nprotocol_version = 16\nheartbeat_secs = 15\n",
        )
        .unwrap();
        let cfg = file.to_config().unwrap();
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
        assert!(PhoneFile::from_toml("protocol_version = 9")
            .unwrap()
            .to_config()
            .is_err());
        assert!(PhoneFile::from_toml("nonsense = 1").is_err());
        assert!(parse_server("h:99999").is_err());
        assert!(decode_blob(&[0xFF; 3]).is_err());
    }
}
