//! The agent phone's configuration and the agent's last state, kept in NOR flash.
//!
//! Built on `sequential-storage`'s map (wear-levelled, append-only, repaired after a power
//! loss): every change appends a new item and the newest whole item of a key wins, so a write
//! cut at any point leaves the old or the new configuration, never a broken one. Pages are only
//! erased when the store is full and its oldest page has to be reclaimed.
//!
//! What is stored, per key:
//! - [`KEY_CONFIG`]: the configuration as the core's checked blob (`ccx_cti::config::blob`:
//!   magic, format version, CRC-32), exactly what `ccx config encode` writes, **without the
//!   agent's password** (see [`ConfigStore::save_config`]);
//! - [`KEY_AGENT`]: [`AgentRecord`], the agent's last state (logged in, the last reason).
//!
//! The store never writes a configuration that fails `PhoneConfig::validate()`; it reports it
//! and the stored (last good) one stays. At boot the newest record that reads and passes
//! `validate()` is used; a newer one that does not (a firmware that validates more strictly, a
//! region written by another tool) is reported and passed over, and with no good record at all
//! the caller's factory configuration is used: the phone always boots with a valid
//! configuration.
#![no_std]

pub mod dump_region;
pub mod ram_flash;

use ccx_cti::config::{BlobError, BLOB_MAX_LEN};
use ccx_cti::config::{ConfigError, PhoneConfig};
use ccx_cti::ui::{ConfigRejected, Kept};
use core::ops::Range;
use embedded_storage_async::nor_flash::NorFlash;
use sequential_storage::cache::{Cache, Uncached};
use sequential_storage::map::{MapConfig, MapConfigError, MapStorage};

/// Map key of the configuration blob.
pub const KEY_CONFIG: u8 = 1;
/// Map key of the agent's last state.
pub const KEY_AGENT: u8 = 2;
/// Bytes of the store's work buffer: the largest blob, its key and word rounding.
pub const BUFFER_LEN: usize = BLOB_MAX_LEN + 16;
/// Bytes of an encoded [`AgentRecord`].
pub const AGENT_RECORD_LEN: usize = 6;
const AGENT_RECORD_VERSION: u8 = 1;

/// The agent's state the phone had when it last changed: after a restart the phone logs the
/// agent back in (the password asked again) and shows the last reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AgentRecord {
    /// The agent was logged in.
    pub logged_in: bool,
    /// The agent state as the protocol numbers it (AgentState).
    pub state: u16,
    /// The last reason code given (not ready or logout), 0 for none.
    pub reason_code: u16,
}

impl AgentRecord {
    /// The record's stored bytes: a version byte, flags, state and reason little-endian.
    pub fn to_bytes(&self) -> [u8; AGENT_RECORD_LEN] {
        let s = self.state.to_le_bytes();
        let r = self.reason_code.to_le_bytes();
        [
            AGENT_RECORD_VERSION,
            u8::from(self.logged_in),
            s[0],
            s[1],
            r[0],
            r[1],
        ]
    }

    /// Read stored bytes; `None` for another version or length.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        match *bytes {
            [AGENT_RECORD_VERSION, flags @ (0 | 1), s0, s1, r0, r1] => Some(AgentRecord {
                logged_in: flags == 1,
                state: u16::from_le_bytes([s0, s1]),
                reason_code: u16::from_le_bytes([r0, r1]),
            }),
            _ => None,
        }
    }
}

/// Where the configuration the phone boots with came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Source {
    /// The newest stored configuration.
    Stored,
    /// An older stored configuration, the last good one: the newest record is rejected (the
    /// problem says why; a configuration a newer firmware validates more strictly, say).
    Previous,
    /// The caller's factory configuration (nothing usable was stored: see the problem).
    Factory,
}

/// Why the stored configuration was not used, to show on the screen.
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Problem<E> {
    /// Nothing stored yet (a new phone, or the region was erased).
    Empty,
    /// The flash failed, or its contents are beyond the store's repair.
    Flash(sequential_storage::Error<E>),
    /// The stored bytes are no configuration blob this firmware reads.
    Blob(BlobError),
    /// The stored configuration fails this firmware's validation.
    Invalid(ConfigError),
}

impl<E: core::fmt::Debug> core::fmt::Display for Problem<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Empty => f.write_str("no configuration in this region"),
            Self::Flash(e) => write!(f, "the flash cannot be read as a store ({e:?})"),
            Self::Blob(e) => write!(f, "not readable: {e}"),
            Self::Invalid(e) => write!(f, "rejected: {e}"),
        }
    }
}

/// Everything a store region holds, as [`ConfigStore::contents`] reads it.
#[derive(Debug)]
pub struct Contents<E> {
    /// The newest configuration record that reads and passes `validate()`.
    pub config: Option<PhoneConfig>,
    /// Why the newest configuration record is not `config` (`None` when it is).
    pub newer_problem: Option<Problem<E>>,
    /// The agent's last state, when one was stored.
    pub agent: Option<AgentRecord>,
    /// Configuration records in the region (each change adds one until a page is reclaimed).
    pub config_records: usize,
    /// The flash failed, or the region is no store (what was read before stays).
    pub flash: Option<sequential_storage::Error<E>>,
}

/// What the phone boots with.
#[derive(Debug)]
pub struct Boot<E> {
    /// A configuration that passed `validate()` (the stored one, or the factory one).
    pub config: PhoneConfig,
    /// Where it came from.
    pub source: Source,
    /// Why the stored one was not used.
    pub problem: Option<Problem<E>>,
    /// The agent's last state, when one was stored.
    pub agent: Option<AgentRecord>,
}

impl<E> Boot<E> {
    /// The agent's password is not stored: the phone asks for it at login.
    pub fn needs_password(&self) -> bool {
        self.config.agent_password.is_empty()
    }

    /// The stored configuration failed `validate()`: what the screen tells
    /// (`ccx_cti::ui::Screen::config_rejected`), with what the phone runs with instead.
    pub fn rejected(&self) -> Option<ConfigRejected> {
        let kept = match self.source {
            Source::Stored => return None,
            Source::Previous => Kept::LastGood,
            Source::Factory => Kept::Factory,
        };
        match self.problem {
            Some(Problem::Invalid(error)) => Some(ConfigRejected { error, kept }),
            _ => None,
        }
    }
}

/// Why a save was refused or failed. On any error the stored configuration is the one before.
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SaveError<E> {
    /// The configuration fails `validate()`: not written, the last good one stays.
    Invalid(ConfigError),
    /// The configuration has no blob (cannot happen with `BUFFER_LEN`; kept for honesty).
    Blob(BlobError),
    /// The flash failed (a power loss in the middle of the write is the same as this).
    Flash(sequential_storage::Error<E>),
}

impl<E> SaveError<E> {
    /// The configuration failed `validate()` and the stored one stays: what the screen tells.
    pub fn rejected(&self) -> Option<ConfigRejected> {
        match *self {
            SaveError::Invalid(error) => Some(ConfigRejected {
                error,
                kept: Kept::LastGood,
            }),
            _ => None,
        }
    }
}

/// The configuration store on a region of a NOR flash.
pub struct ConfigStore<F: NorFlash> {
    map: MapStorage<u8, F, Cache<Uncached, Uncached, Uncached, u8>>,
    buf: [u8; BUFFER_LEN],
}

impl<F: NorFlash> ConfigStore<F> {
    /// A store on `range` of `flash` (page aligned, at least two erase pages).
    pub fn new(flash: F, range: Range<u32>) -> Result<Self, MapConfigError> {
        let config = MapConfig::<F>::try_new(range)?;
        Ok(ConfigStore {
            map: MapStorage::new(flash, config, Cache::new_uncached()),
            buf: [0; BUFFER_LEN],
        })
    }

    /// What the region holds, read as the phone reads it at boot: the newest configuration
    /// record that reads and passes `validate()`, why any newer record was passed over, and the
    /// agent's last state. Only a power-cut item is repaired (sequential-storage does that on
    /// any access); nothing else is written. The firmware's boot and the host's tools
    /// (`store-image --read`, `ccx config decode` on a dumped region) all read through this.
    pub async fn contents(&mut self) -> Contents<F::Error> {
        let mut contents = Contents {
            config: None,
            newer_problem: None,
            agent: None,
            config_records: 0,
            flash: None,
        };
        if let Ok(Some(bytes)) = self
            .map
            .fetch_item::<&[u8]>(&mut self.buf, &KEY_AGENT)
            .await
        {
            contents.agent = AgentRecord::from_bytes(bytes);
        }
        // The newest record through the map's own lookup: the path the power-fail tests prove
        // (it repairs a cut change first). The scan below only counts and, when the newest is
        // rejected, finds the last good one.
        match self
            .map
            .fetch_item::<&[u8]>(&mut self.buf, &KEY_CONFIG)
            .await
        {
            Ok(None) => {}
            Err(e) => contents.flash = Some(e),
            Ok(Some(bytes)) => match checked::<F::Error>(bytes) {
                Ok(config) => contents.config = Some(config),
                Err(p) => contents.newer_problem = Some(p),
            },
        }
        let want_older = contents.newer_problem.is_some();
        let mut items = match self.map.fetch_all_items(&mut self.buf).await {
            Ok(items) => items,
            Err(e) => {
                contents.flash.get_or_insert(e);
                return contents;
            }
        };
        // Oldest first, the newest (rejected) one last: the last good one seen is the one kept.
        loop {
            match items.next::<&[u8]>(&mut self.buf).await {
                Ok(Some((KEY_CONFIG, bytes))) => {
                    contents.config_records = contents.config_records.saturating_add(1);
                    if want_older {
                        if let Ok(config) = checked::<F::Error>(bytes) {
                            contents.config = Some(config);
                        }
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    if contents.config.is_none() {
                        contents.flash.get_or_insert(e);
                    }
                    break;
                }
            }
        }
        contents
    }

    /// Read what the phone boots with. Never fails: the newest stored configuration that
    /// passes `validate()` (an older one when the newest is rejected: see the problem), else
    /// `factory` (which must pass `validate()`) with the reason.
    pub async fn boot(&mut self, factory: impl FnOnce() -> PhoneConfig) -> Boot<F::Error> {
        let c = self.contents().await;
        match c.config {
            Some(config) => Boot {
                config,
                source: match c.newer_problem {
                    None => Source::Stored,
                    Some(_) => Source::Previous,
                },
                problem: c.newer_problem,
                agent: c.agent,
            },
            None => Boot {
                config: factory(),
                source: Source::Factory,
                problem: Some(match (c.flash, c.newer_problem) {
                    (Some(e), _) => Problem::Flash(e),
                    (None, Some(p)) => p,
                    (None, None) => Problem::Empty,
                }),
                agent: c.agent,
            },
        }
    }

    /// Store a new configuration, after `validate()`: one that fails is refused and the
    /// stored one stays. The agent's password is left out (stored empty): a flash image or a
    /// dump never holds it, and the phone asks for it at login.
    pub async fn save_config(&mut self, config: &PhoneConfig) -> Result<(), SaveError<F::Error>> {
        config.validate().map_err(SaveError::Invalid)?;
        let mut blob = [0u8; BLOB_MAX_LEN];
        let bytes = stored_blob(config, &mut blob).map_err(SaveError::Blob)?;
        self.map
            .store_item(&mut self.buf, &KEY_CONFIG, &bytes)
            .await
            .map_err(SaveError::Flash)
    }

    /// Store the agent's last state (skipped when it is the stored one, to spare the flash).
    pub async fn save_agent(&mut self, agent: &AgentRecord) -> Result<(), SaveError<F::Error>> {
        let bytes = agent.to_bytes();
        if let Ok(Some(stored)) = self
            .map
            .fetch_item::<&[u8]>(&mut self.buf, &KEY_AGENT)
            .await
        {
            if stored == bytes {
                return Ok(());
            }
        }
        self.map
            .store_item(&mut self.buf, &KEY_AGENT, &&bytes[..])
            .await
            .map_err(SaveError::Flash)
    }

    /// The flash back (to dump it, or to reboot on it in a test).
    pub fn into_flash(self) -> F {
        self.map.destroy().0
    }
}

/// A stored blob read and validated.
fn checked<E>(bytes: &[u8]) -> Result<PhoneConfig, Problem<E>> {
    let config = PhoneConfig::decode_blob(bytes).map_err(Problem::Blob)?;
    config.validate().map_err(Problem::Invalid)?;
    Ok(config)
}

/// The blob the store keeps for `config`: the core's blob with the agent's password empty.
pub fn stored_blob<'b>(config: &PhoneConfig, buf: &'b mut [u8]) -> Result<&'b [u8], BlobError> {
    if config.agent_password.is_empty() {
        return config.encode_blob(buf);
    }
    let mut without = config.clone();
    without.agent_password.clear();
    without.encode_blob(buf)
}
