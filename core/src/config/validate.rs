//! [`PhoneConfig::validate`]: every value checked before the phone uses it, each problem named
//! by its field, the value and the limit.
//!
//! The text limits come from the generated tag table (one source of truth with the encoder):
//! a STRING tag's `max` counts its NUL, an UNSPEC tag's does not. Without these checks a
//! 20-character extension is accepted here and refused by the server much later, and a
//! `connect_timeout_secs` of 0 makes every connect fail at once.

use core::net::{Ipv4Addr, Ipv6Addr};

use super::{check_idle_timeout, IdleTimeoutAdvice, IdleTimeoutError, PhoneConfig, ServerAddr};
use crate::wire::spec::{tag_def, TagType};
use crate::wire::tag;

/// The lowest protocol version the phone speaks.
pub const PROTOCOL_VERSION_MIN: u8 = 10;
/// The highest protocol version the phone speaks.
pub const PROTOCOL_VERSION_MAX: u8 = 18;
/// The longest heartbeat interval the server accepts, in seconds (HEARTBEAT_REQ page).
pub const HEARTBEAT_MAX_SECS: u16 = 30;
/// The shortest reconnect, connect and request timer, in seconds (0 would busy-loop the
/// reconnect or fail every connect at once).
pub const TIMER_MIN_SECS: u16 = 1;
/// The longest host name (RFC 1035: 253 characters in text form).
pub const HOST_NAME_MAX: usize = 253;
/// The longest label of a host name (RFC 1035).
pub const HOST_LABEL_MAX: usize = 63;

/// A field of [`PhoneConfig`]; its [`name`](Self::name) is the Rust field and the TOML key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ConfigField {
    /// `servers`.
    Servers,
    /// `agent_id`.
    AgentId,
    /// `agent_extension`.
    AgentExtension,
    /// `agent_instrument`.
    AgentInstrument,
    /// `agent_password`.
    AgentPassword,
    /// `client_id`.
    ClientId,
    /// `client_password`.
    ClientPassword,
    /// `protocol_version`.
    ProtocolVersion,
    /// `v18_length_width`.
    V18LengthWidth,
    /// `heartbeat_secs`.
    HeartbeatSecs,
    /// `idle_timeout_secs`.
    IdleTimeoutSecs,
    /// `request_timeout_secs`.
    RequestTimeoutSecs,
    /// `reconnect_secs`.
    ReconnectSecs,
    /// `connect_timeout_secs`.
    ConnectTimeoutSecs,
}

impl ConfigField {
    /// The field's name in [`PhoneConfig`] and in the configuration file.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Servers => "servers",
            Self::AgentId => "agent_id",
            Self::AgentExtension => "agent_extension",
            Self::AgentInstrument => "agent_instrument",
            Self::AgentPassword => "agent_password",
            Self::ClientId => "client_id",
            Self::ClientPassword => "client_password",
            Self::ProtocolVersion => "protocol_version",
            Self::V18LengthWidth => "v18_length_width",
            Self::HeartbeatSecs => "heartbeat_secs",
            Self::IdleTimeoutSecs => "idle_timeout_secs",
            Self::RequestTimeoutSecs => "request_timeout_secs",
            Self::ReconnectSecs => "reconnect_secs",
            Self::ConnectTimeoutSecs => "connect_timeout_secs",
        }
    }

    /// Whether the field holds a secret (its value is never shown).
    pub const fn is_secret(self) -> bool {
        matches!(self, Self::AgentPassword | Self::ClientPassword)
    }
}

impl core::fmt::Display for ConfigField {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// A server's host as the phone connects to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host<'a> {
    /// An IPv4 literal.
    Ipv4(Ipv4Addr),
    /// An IPv6 literal (without brackets).
    Ipv6(Ipv6Addr),
    /// A host name to resolve (RFC 1123 syntax).
    Name(&'a str),
}

#[cfg(feature = "defmt")]
impl defmt::Format for Host<'_> {
    fn format(&self, f: defmt::Formatter) {
        // core::net's addresses have no defmt::Format of their own.
        match self {
            Self::Ipv4(ip) => {
                let [a, b, c, d] = ip.octets();
                defmt::write!(f, "{}.{}.{}.{}", a, b, c, d)
            }
            Self::Ipv6(ip) => defmt::write!(f, "{=[?]:x}", ip.segments()),
            Self::Name(name) => defmt::write!(f, "{=str}", name),
        }
    }
}

/// Why a server's host is not usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HostError {
    /// No host given.
    Empty,
    /// A name longer than [`HOST_NAME_MAX`].
    NameTooLong {
        /// Its length in bytes.
        length: usize,
    },
    /// A label (between dots) empty or longer than [`HOST_LABEL_MAX`].
    BadLabelLength {
        /// Byte offset of the label in the host.
        at: usize,
    },
    /// A character other than a letter, a digit, `-` or `.` in a name.
    BadCharacter {
        /// Byte offset of the character.
        at: usize,
    },
    /// A label that starts or ends with `-`.
    HyphenAtLabelEdge {
        /// Byte offset of the label.
        at: usize,
    },
    /// Digits and dots only, yet no IPv4 address (`10.0.0.256`): a name's last label is never
    /// all digits (RFC 1123 §2.1).
    NotAnAddress,
}

impl core::fmt::Display for HostError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Self::Empty => f.write_str("no host given"),
            Self::NameTooLong { length } => write!(
                f,
                "the host name is {length} characters long; at most {HOST_NAME_MAX} are allowed"
            ),
            Self::BadLabelLength { at } => write!(
                f,
                "the part of the host name at character {at} is empty or longer than \
                 {HOST_LABEL_MAX} characters"
            ),
            Self::BadCharacter { at } => write!(
                f,
                "character {at} of the host is not a letter, a digit, `-` or `.` (an IPv6 \
                 address must be whole)"
            ),
            Self::HyphenAtLabelEdge { at } => write!(
                f,
                "the part of the host name at character {at} starts or ends with `-`"
            ),
            Self::NotAnAddress => f.write_str("the host looks like an IPv4 address but is not one"),
        }
    }
}

impl core::error::Error for HostError {}

impl ServerAddr {
    /// The host, typed: an IPv4 or IPv6 literal, or a host name to resolve.
    pub fn host(&self) -> Result<Host<'_>, HostError> {
        parse_host(&self.host)
    }
}

/// Read `text` as an IPv4 literal, an IPv6 literal (brackets allowed) or a host name.
pub fn parse_host(text: &str) -> Result<Host<'_>, HostError> {
    if text.is_empty() {
        return Err(HostError::Empty);
    }
    if let Some(ip) = parse_ipv4(text) {
        return Ok(Host::Ipv4(ip));
    }
    let bare = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    if let Some(ip) = parse_ipv6(bare) {
        return Ok(Host::Ipv6(ip));
    }
    check_host_name(text).map(|()| Host::Name(text))
}

// The address parsers below accept what core::net's `FromStr` accepts (a test compares them):
// core's parser keeps a panic path the no-panic link check finds.

/// `text` split at the ASCII byte `sep` (str::split keeps a slicing panic path).
fn split(text: &str, sep: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    core::iter::from_fn(move || {
        let current = rest?;
        match current.bytes().position(|b| b == sep) {
            Some(at) => {
                rest = current.get(at + 1..);
                current.get(..at)
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// A dotted-quad IPv4 address: four decimal octets, no leading zeros.
fn parse_ipv4(text: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = split(text, b'.');
    for slot in octets.iter_mut() {
        *slot = parse_octet(parts.next()?)?;
    }
    match parts.next() {
        Some(_) => None,
        None => Some(Ipv4Addr::from(octets)),
    }
}

fn parse_octet(part: &str) -> Option<u8> {
    let digits_ok = part.bytes().all(|b| b.is_ascii_digit());
    if part.is_empty() || part.len() > 3 || !digits_ok || (part.len() > 1 && part.starts_with('0'))
    {
        return None;
    }
    let value = part.bytes().fold(0u16, |v, b| v * 10 + u16::from(b - b'0'));
    u8::try_from(value).ok()
}

/// An IPv6 address in RFC 4291 text form: eight groups, or fewer around one `::` standing for
/// at least one group, the last 32 bits possibly as a dotted quad.
fn parse_ipv6(text: &str) -> Option<Ipv6Addr> {
    let mut head = [0u16; 8];
    let mut tail = [0u16; 8];
    let double_colon = text.as_bytes().windows(2).position(|w| w == b"::");
    let (_, tail_len) = match double_colon {
        None => {
            let n = ipv6_groups(text, &mut head)?;
            (n == 8).then_some((n, 0))?
        }
        Some(at) => {
            let before = text.get(..at)?;
            let after = text.get(at + 2..)?;
            // The dotted quad may only end the address.
            let n = if before.contains('.') {
                return None;
            } else {
                ipv6_groups(before, &mut head)?
            };
            let m = ipv6_groups(after, &mut tail)?;
            (n + m <= 7).then_some((n, m))?
        }
    };
    let mut groups = head;
    for (i, group) in tail.iter().take(tail_len).enumerate() {
        *groups.get_mut(8 - tail_len + i)? = *group;
    }
    Some(Ipv6Addr::from(groups))
}

/// Groups separated by `:` (an empty text has none); the last may be a dotted quad (two
/// groups). Returns how many were written.
fn ipv6_groups(text: &str, out: &mut [u16; 8]) -> Option<usize> {
    if text.is_empty() {
        return Some(0);
    }
    let mut n = 0;
    let mut parts = split(text, b':').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() && part.contains('.') {
            let [a, b, c, d] = parse_ipv4(part)?.octets();
            *out.get_mut(n)? = u16::from_be_bytes([a, b]);
            *out.get_mut(n + 1)? = u16::from_be_bytes([c, d]);
            return Some(n + 2);
        }
        if part.is_empty() || part.len() > 4 {
            return None;
        }
        let mut value = 0u16;
        for b in part.bytes() {
            let digit = char::from(b).to_digit(16)?;
            value = (value << 4) | u16::try_from(digit).ok()?;
        }
        *out.get_mut(n)? = value;
        n += 1;
    }
    Some(n)
}

fn check_host_name(name: &str) -> Result<(), HostError> {
    // A trailing dot (the root) is allowed in a fully qualified name.
    let body = name.strip_suffix('.').unwrap_or(name);
    if body.len() > HOST_NAME_MAX {
        return Err(HostError::NameTooLong { length: name.len() });
    }
    if let Some(at) = body
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'.'))
    {
        return Err(HostError::BadCharacter { at });
    }
    let mut at = 0;
    let mut last_all_digits = false;
    for label in split(body, b'.') {
        if label.is_empty() || label.len() > HOST_LABEL_MAX {
            return Err(HostError::BadLabelLength { at });
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(HostError::HyphenAtLabelEdge { at });
        }
        last_all_digits = label.bytes().all(|b| b.is_ascii_digit());
        at += label.len() + 1;
    }
    if last_all_digits {
        return Err(HostError::NotAnAddress);
    }
    Ok(())
}

/// What is wrong with a configuration: the field, the value's problem and the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ConfigError {
    /// A text longer than its tag allows on the wire.
    TextTooLong {
        /// Which text.
        field: ConfigField,
        /// Its length in bytes.
        length: usize,
        /// The most bytes the server takes (a STRING's NUL not counted).
        max: usize,
    },
    /// No server configured.
    NoServer,
    /// A server's port is 0.
    PortZero {
        /// Index of the server (0 = side A, 1 = side B).
        server: usize,
    },
    /// A server's host is neither an IP address nor a host name.
    BadHost {
        /// Index of the server (0 = side A, 1 = side B).
        server: usize,
        /// What is wrong with it.
        problem: HostError,
    },
    /// A protocol version the phone does not speak.
    ProtocolVersion {
        /// The version asked for.
        version: u8,
    },
    /// A v18 length width other than 1 or 2.
    V18LengthWidth {
        /// The width asked for.
        width: u8,
    },
    /// A heartbeat interval above the server's limit.
    HeartbeatTooLong {
        /// The interval asked for, in seconds.
        heartbeat_secs: u16,
    },
    /// An IdleTimeout the server refuses or that two late heartbeats would break.
    IdleTimeout(IdleTimeoutError),
    /// A reconnect, connect or request timer below [`TIMER_MIN_SECS`].
    TimerTooShort {
        /// Which timer.
        field: ConfigField,
        /// The value asked for, in seconds.
        secs: u16,
    },
}

impl ConfigError {
    /// The field the problem is in.
    pub fn field(&self) -> ConfigField {
        match *self {
            Self::TextTooLong { field, .. } | Self::TimerTooShort { field, .. } => field,
            Self::NoServer | Self::PortZero { .. } | Self::BadHost { .. } => ConfigField::Servers,
            Self::ProtocolVersion { .. } => ConfigField::ProtocolVersion,
            Self::V18LengthWidth { .. } => ConfigField::V18LengthWidth,
            Self::HeartbeatTooLong { .. } => ConfigField::HeartbeatSecs,
            Self::IdleTimeout(_) => ConfigField::IdleTimeoutSecs,
        }
    }
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let field = self.field();
        match *self {
            Self::TextTooLong { length, max, .. } => write!(
                f,
                "{field} is {length} bytes long; the server takes at most {max}"
            ),
            Self::NoServer => write!(f, "{field}: give at least side A (at most side A and B)"),
            Self::PortZero { server } => {
                write!(f, "{field}: side {} has port 0", side(server))
            }
            Self::BadHost { server, problem } => {
                write!(f, "{field}: side {}: {problem}", side(server))
            }
            Self::ProtocolVersion { version } => write!(
                f,
                "{field} {version}: the phone speaks versions {PROTOCOL_VERSION_MIN} to \
                 {PROTOCOL_VERSION_MAX}"
            ),
            Self::V18LengthWidth { width } => {
                write!(f, "{field} {width}: a length is 1 or 2 bytes wide")
            }
            Self::HeartbeatTooLong { heartbeat_secs } => write!(
                f,
                "{field} {heartbeat_secs}: the server accepts at most {HEARTBEAT_MAX_SECS} s \
                 (0 sends no heartbeats)"
            ),
            Self::IdleTimeout(e) => write!(f, "{field}: {e}"),
            Self::TimerTooShort { secs, .. } => {
                write!(f, "{field} {secs}: at least {TIMER_MIN_SECS} s")
            }
        }
    }
}

impl core::error::Error for ConfigError {}

fn side(server: usize) -> char {
    if server == 0 {
        'A'
    } else {
        'B'
    }
}

/// Something allowed that the caller may want to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ConfigWarning {
    /// IdleTimeout is not four times the heartbeat interval.
    IdleTimeout(IdleTimeoutAdvice),
}

impl ConfigWarning {
    /// The field the warning is about.
    pub fn field(&self) -> ConfigField {
        match self {
            Self::IdleTimeout(_) => ConfigField::IdleTimeoutSecs,
        }
    }
}

impl core::fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::IdleTimeout(advice) => write!(f, "{}: {advice}", self.field()),
        }
    }
}

/// The most bytes of text `tag_id` takes on the wire (None: the table gives no limit).
fn text_limit(tag_id: u16) -> Option<usize> {
    let def = tag_def(tag_id)?;
    let max = usize::from(def.max);
    match def.ty {
        _ if max == 0 => None,
        TagType::String => Some(max.saturating_sub(1)),
        _ => Some(max),
    }
}

impl PhoneConfig {
    /// Check every value. `Ok(Some(warning))`: usable, with something worth showing.
    /// The first problem is returned; [`Self::for_each_problem`] reports them all.
    pub fn validate(&self) -> Result<Option<ConfigWarning>, ConfigError> {
        let mut first = None;
        let warning = self.for_each_problem(|e| {
            if first.is_none() {
                first = Some(e);
            }
        });
        match first {
            Some(e) => Err(e),
            None => Ok(warning),
        }
    }

    /// Call `report` with every problem, in field order; return the warning, if any.
    pub fn for_each_problem(&self, mut report: impl FnMut(ConfigError)) -> Option<ConfigWarning> {
        if self.servers.is_empty() {
            report(ConfigError::NoServer);
        }
        for (server, addr) in self.servers.iter().enumerate() {
            if addr.port == 0 {
                report(ConfigError::PortZero { server });
            }
            if let Err(problem) = addr.host() {
                report(ConfigError::BadHost { server, problem });
            }
        }
        let texts: [(ConfigField, u16, &str); 6] = [
            (ConfigField::AgentId, tag::AGENT_ID, &self.agent_id),
            (
                ConfigField::AgentExtension,
                tag::AGENT_EXTENSION,
                &self.agent_extension,
            ),
            (
                ConfigField::AgentInstrument,
                tag::AGENT_INSTRUMENT,
                &self.agent_instrument,
            ),
            (
                ConfigField::AgentPassword,
                tag::AGENT_PASSWORD,
                &self.agent_password,
            ),
            (ConfigField::ClientId, tag::CLIENT_ID, &self.client_id),
            (
                ConfigField::ClientPassword,
                tag::CLIENT_PASSWORD,
                &self.client_password,
            ),
        ];
        for (field, tag_id, text) in texts {
            if let Some(max) = text_limit(tag_id).filter(|&max| text.len() > max) {
                report(ConfigError::TextTooLong {
                    field,
                    length: text.len(),
                    max,
                });
            }
        }
        if !(PROTOCOL_VERSION_MIN..=PROTOCOL_VERSION_MAX).contains(&self.protocol_version) {
            report(ConfigError::ProtocolVersion {
                version: self.protocol_version,
            });
        }
        if !matches!(self.v18_length_width, 1 | 2) {
            report(ConfigError::V18LengthWidth {
                width: self.v18_length_width,
            });
        }
        if self.heartbeat_secs > HEARTBEAT_MAX_SECS {
            report(ConfigError::HeartbeatTooLong {
                heartbeat_secs: self.heartbeat_secs,
            });
        }
        let warning = match check_idle_timeout(
            u32::from(self.idle_timeout_secs),
            u32::from(self.heartbeat_secs),
        ) {
            Ok(advice) => advice.map(ConfigWarning::IdleTimeout),
            Err(e) => {
                report(ConfigError::IdleTimeout(e));
                None
            }
        };
        for (field, secs) in [
            (ConfigField::RequestTimeoutSecs, self.request_timeout_secs),
            (ConfigField::ReconnectSecs, self.reconnect_secs),
            (ConfigField::ConnectTimeoutSecs, self.connect_timeout_secs),
        ] {
            if secs < TIMER_MIN_SECS {
                report(ConfigError::TimerTooShort { field, secs });
            }
        }
        warning
    }
}
