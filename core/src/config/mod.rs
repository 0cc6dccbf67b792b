//! The phone's configuration: a serde type that firmware stores in flash as a checked blob
//! ([`PhoneConfig::encode_blob`]) and the std side reads from a file; [`PhoneConfig::validate`]
//! checks it for every front end. The agent's reason labels live apart, in a [`Vocabulary`].

mod blob;
mod idle_timeout;
mod validate;
mod vocabulary;

pub use blob::{
    crc32, BlobError, BLOB_CRC_LEN, BLOB_FORMAT_VERSION, BLOB_HEADER_LEN, BLOB_MAGIC, BLOB_MAX_LEN,
};
pub use validate::{
    parse_host, ConfigError, ConfigField, ConfigWarning, Host, HostError, HEARTBEAT_MAX_SECS,
    HOST_LABEL_MAX, HOST_NAME_MAX, PROTOCOL_VERSION_MAX, PROTOCOL_VERSION_MIN, TIMER_MIN_SECS,
};
pub use vocabulary::{Reason, ReasonKind, Vocabulary, VocabularyError, DEFAULT_LABEL_BYTES};

pub use idle_timeout::{
    check_idle_timeout, IdleTimeoutAdvice, IdleTimeoutError, IDLE_TIMEOUT_LIMIT_SECS,
    IDLE_TIMEOUT_MIN_SECS,
};

use heapless::{String, Vec};
use serde::{Deserialize, Serialize};

/// Text of an agent identity field (AgentID is at most 128 characters on the wire).
pub type IdText = String<128>;
/// Text of a short field (extension, instrument, password, host).
pub type ShortText = String<64>;

/// One CTI server (side A or side B).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ServerAddr {
    /// An IPv4 or IPv6 literal or a host name, as text; [`ServerAddr::host`] reads it.
    pub host: ShortText,
    /// TCP port.
    pub port: u16,
}

/// When the phone sends HEARTBEAT_REQ. Cisco's pages disagree: "How a Session is Maintained"
/// (<https://developer.cisco.com/docs/contact-center-express/how-a-session-is-maintained>)
/// asks for a heartbeat "whenever no messages have been sent for the heartbeat interval" and,
/// in a note on the same page, for heartbeats "regardless of line activity". The default
/// follows the note, which a strict server also accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HeartbeatMode {
    /// One HEARTBEAT_REQ every interval, whatever else was sent.
    #[default]
    Always,
    /// A HEARTBEAT_REQ only after an interval in which nothing was sent.
    WhenIdle,
}

/// The default CTI server port (README decision 2: a real Unified CCX 11.6/12.0 listened on it).
pub const DEFAULT_PORT: u16 = 12028;

/// Everything the phone needs to know before it connects.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneConfig {
    /// Side A, and optionally side B.
    pub servers: Vec<ServerAddr, 2>,
    /// AgentID (tag 194).
    pub agent_id: IdText,
    /// AgentExtension (tag 4).
    pub agent_extension: ShortText,
    /// AgentInstrument (tag 6); the extension when empty.
    pub agent_instrument: ShortText,
    /// AgentPassword for login. A secret: never printed.
    pub agent_password: ShortText,
    /// ClientID of OPEN_REQ.
    pub client_id: ShortText,
    /// ClientPassword of OPEN_REQ. A secret: never printed.
    pub client_password: ShortText,
    /// Protocol version requested in OPEN_REQ (10..=18, default 17).
    pub protocol_version: u8,
    /// Width of a floating field's length under version 18 (1 or 2).
    pub v18_length_width: u8,
    /// Seconds without sending anything after which the phone sends HEARTBEAT_REQ (the
    /// server accepts at most 30). 0 sends no heartbeats.
    pub heartbeat_secs: u16,
    /// Whether heartbeats go out every interval or only when the line was quiet.
    pub heartbeat_mode: HeartbeatMode,
    /// IdleTimeout of OPEN_REQ in seconds (see [`check_idle_timeout`]; 4 × heartbeat by
    /// default). The phone also gives the session up when it has received nothing for this
    /// long; 0 turns that check off (the server still gets the value).
    pub idle_timeout_secs: u16,
    /// Unanswered heartbeats after which the session is declared dead (0 counts as 1).
    pub missed_heartbeats: u8,
    /// Seconds a request (OPEN_REQ and CLOSE_REQ included) may wait for its confirmation
    /// (0 counts as 1).
    pub request_timeout_secs: u16,
    /// Seconds to wait before reconnecting after a failure. After a refused OPEN_REQ the
    /// phone waits at least 10 s whatever this says (wire-session.md §4.12); after
    /// E_CTI_SERVER_NOT_MASTER it tries the other side after 1 s.
    pub reconnect_secs: u16,
    /// Seconds a TCP connect may take before the phone gives the attempt up (0 counts as 1).
    pub connect_timeout_secs: u16,
    /// ServicesRequested of OPEN_REQ.
    pub services_requested: u32,
    /// CallMsgMask of OPEN_REQ.
    pub call_msg_mask: u32,
    /// AgentStateMask of OPEN_REQ.
    pub agent_state_mask: u32,
    /// Log in with the outbound feature (AgentCapacity bit 0x1, from v12).
    pub outbound: bool,
    /// The terminal the agent works on when Agent Device Selection is on: sent as
    /// ActiveTerminal (tag 303) in SET_AGENT_STATE_REQ LOGIN under protocol version 18 only
    /// (<https://developer.cisco.com/docs/contact-center-express/set_agent_state_req>).
    /// Empty: not sent.
    pub active_terminal: ShortText,
    /// Seed of the jitter that shortens reconnect waits after the first (the core has no
    /// random source): give each phone its own (a serial number, a MAC address) so that a
    /// fleet that lost its server does not come back in step. 0 is a valid seed.
    #[serde(default)]
    pub reconnect_seed: u32,
}

impl core::fmt::Debug for PhoneConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PhoneConfig")
            .field("servers", &self.servers)
            .field("agent_id", &self.agent_id)
            .field("agent_extension", &self.agent_extension)
            .field("agent_instrument", &self.agent_instrument)
            .field("agent_password", &"********")
            .field("client_id", &self.client_id)
            .field("client_password", &"********")
            .field("protocol_version", &self.protocol_version)
            .field("heartbeat_secs", &self.heartbeat_secs)
            .field("heartbeat_mode", &self.heartbeat_mode)
            .field("idle_timeout_secs", &self.idle_timeout_secs)
            .field("active_terminal", &self.active_terminal)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for PhoneConfig {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(
            f,
            "PhoneConfig {{ agent_id: {}, agent_extension: {}, protocol_version: {} }}",
            self.agent_id.as_str(),
            self.agent_extension.as_str(),
            self.protocol_version
        )
    }
}

impl Default for PhoneConfig {
    fn default() -> Self {
        let mut servers = Vec::new();
        let mut host = ShortText::new();
        let _ = host.push_str("127.0.0.1");
        let _ = servers.push(ServerAddr {
            host,
            port: DEFAULT_PORT,
        });
        let mut client_id = ShortText::new();
        let _ = client_id.push_str("ccx-cti");
        PhoneConfig {
            servers,
            agent_id: IdText::new(),
            agent_extension: ShortText::new(),
            agent_instrument: ShortText::new(),
            agent_password: ShortText::new(),
            client_id,
            client_password: ShortText::new(),
            protocol_version: 17,
            v18_length_width: crate::wire::V18_LENGTH_WIDTH_DEFAULT,
            heartbeat_secs: 20,
            heartbeat_mode: HeartbeatMode::Always,
            idle_timeout_secs: 80,
            missed_heartbeats: 3,
            request_timeout_secs: 10,
            reconnect_secs: 10,
            connect_timeout_secs: 5,
            services_requested: crate::wire::service_mask::CTI_SERVICE_CLIENT_EVENTS
                | crate::wire::service_mask::CTI_SERVICE_CALL_DATA_UPDATE
                | crate::wire::service_mask::CTI_SERVICE_CLIENT_CONTROL,
            call_msg_mask: 0x0001_EFFF,
            agent_state_mask: 0x0000_01FF,
            outbound: true,
            active_terminal: ShortText::new(),
            reconnect_seed: 0,
        }
    }
}

impl PhoneConfig {
    /// The instrument to use: AgentInstrument, or the extension when it is empty.
    pub fn instrument(&self) -> &str {
        if self.agent_instrument.is_empty() {
            &self.agent_extension
        } else {
            &self.agent_instrument
        }
    }

    /// The negotiated wire version and field widths this configuration asks for.
    pub fn wire_version(&self) -> crate::wire::WireVersion {
        crate::wire::WireVersion::new(u32::from(self.protocol_version))
            .with_v18_length_width(self.v18_length_width)
    }
}
