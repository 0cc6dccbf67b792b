//! Power-fail tests of the configuration store: a simulated NOR flash that loses power after
//! any number of programmed bytes (or in the middle of an erase), then a reboot on what is left.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use ccx_cti::config::{ConfigError, PhoneConfig, ServerAddr};
use ccx_cti::ui::{ConfigRejected, Kept};
use ccx_cti_store::{AgentRecord, ConfigStore, Problem, SaveError, Source};
use embassy_futures::block_on;
use embedded_storage_async::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

const PAGE: usize = 4096;
const PAGES: usize = 4;

/// The power went off (every access after the cut fails too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PowerLost;

impl NorFlashError for PowerLost {
    fn kind(&self) -> NorFlashErrorKind {
        NorFlashErrorKind::Other
    }
}

/// NOR flash whose power is cut after `budget` units of work: one unit per programmed byte and
/// one per page erase. The byte being programmed at the cut gets only some of its bits (the
/// low nibble), a page being erased at the cut only its first half.
#[derive(Clone)]
struct CutFlash {
    bytes: Vec<u8>,
    budget: Option<usize>,
    used: usize,
    erases: usize,
}

impl CutFlash {
    fn new() -> Self {
        Self::with_pages(PAGES)
    }

    fn with_pages(pages: usize) -> Self {
        CutFlash {
            bytes: vec![0xFF; PAGE * pages],
            budget: None,
            used: 0,
            erases: 0,
        }
    }

    fn cut_after(mut self, units: usize) -> Self {
        self.budget = Some(units);
        self.used = 0;
        self
    }

    /// Power back on: no cut any more.
    fn reboot(mut self) -> Self {
        self.budget = None;
        self.used = 0;
        self
    }

    /// Takes one unit; false when the power is already gone.
    fn spend(&mut self) -> bool {
        self.used += 1;
        self.budget.is_none_or(|b| self.used <= b)
    }
}

impl ErrorType for CutFlash {
    type Error = PowerLost;
}

impl ReadNorFlash for CutFlash {
    const READ_SIZE: usize = 1;
    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), PowerLost> {
        if self.budget.is_some_and(|b| self.used > b) {
            return Err(PowerLost);
        }
        let at = offset as usize;
        bytes.copy_from_slice(&self.bytes[at..at + bytes.len()]);
        Ok(())
    }
    fn capacity(&self) -> usize {
        self.bytes.len()
    }
}

impl NorFlash for CutFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = PAGE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), PowerLost> {
        for page in (from as usize..to as usize).step_by(PAGE) {
            if !self.spend() {
                self.bytes[page..page + PAGE / 2].fill(0xFF);
                return Err(PowerLost);
            }
            self.bytes[page..page + PAGE].fill(0xFF);
            self.erases += 1;
        }
        Ok(())
    }

    async fn write(&mut self, offset: u32, data: &[u8]) -> Result<(), PowerLost> {
        for (i, new) in data.iter().enumerate() {
            let at = offset as usize + i;
            assert_eq!(
                self.bytes[at] & new,
                *new,
                "the store programmed a byte that was not erased at {at:#x}"
            );
            if !self.spend() {
                self.bytes[at] &= new | 0xF0;
                return Err(PowerLost);
            }
            self.bytes[at] &= new;
        }
        Ok(())
    }
}

fn config(n: usize) -> PhoneConfig {
    let mut c = PhoneConfig::default();
    c.servers.clear();
    for side in ["side-a.example", "side-b.example"] {
        let mut host = heapless::String::new();
        host.push_str(side).unwrap();
        c.servers.push(ServerAddr { host, port: 12028 }).unwrap();
    }
    c.agent_id.push_str(&format!("agent{n:04}")).unwrap();
    c.agent_extension.push_str("4020").unwrap();
    c.client_password.push_str("client-secret").unwrap();
    c.agent_password.push_str("Secr3t-Agent-Pw").unwrap();
    c.heartbeat_secs = u16::try_from(5 + n % 20).unwrap();
    c.idle_timeout_secs = c.heartbeat_secs * 4;
    c
}

/// What a store keeps of `n`: everything but the agent's password.
fn stored(n: usize) -> PhoneConfig {
    let mut c = config(n);
    c.agent_password.clear();
    c
}

fn factory() -> PhoneConfig {
    config(9999)
}

fn range() -> core::ops::Range<u32> {
    0..(PAGE * PAGES) as u32
}

fn store(flash: CutFlash) -> ConfigStore<CutFlash> {
    let end = flash.bytes.len() as u32;
    ConfigStore::new(flash, 0..end).unwrap()
}

/// Boot on `flash` and return what the phone would run with.
fn boot(flash: CutFlash) -> (PhoneConfig, Source, CutFlash) {
    let mut s = store(flash.reboot());
    let b = block_on(s.boot(factory));
    assert!(
        b.config.validate().is_ok(),
        "booted with an invalid configuration"
    );
    (b.config, b.source, s.into_flash())
}

fn save(flash: CutFlash, n: usize) -> (Result<(), SaveError<PowerLost>>, CutFlash) {
    let mut s = store(flash);
    let r = block_on(s.save_config(&config(n)));
    (r, s.into_flash())
}

#[test]
fn every_valid_config_of_the_tests_validates() {
    for n in [0, 1, 77, 9999] {
        config(n).validate().unwrap();
    }
}

/// For each of 80 consecutive changes on the smallest store (2 pages: each is filled and
/// reclaimed several times), cut the power after every possible unit of the change: the reboot
/// finds the configuration before or after the change, and the store takes the next change.
#[test]
fn a_cut_at_any_point_of_a_change_leaves_the_old_or_the_new_configuration() {
    let mut flash = CutFlash::with_pages(2);
    let mut cuts = 0usize;
    let mut erasing_cuts = 0usize;
    for n in 0..80 {
        // How much work this change is, on a copy that is not cut.
        let (r, done) = save(flash.clone(), n);
        r.unwrap();
        let units = done.used;
        let erasing = done.erases > flash.erases;
        for cut in 0..units {
            let (r, after_cut) = save(flash.clone().cut_after(cut), n);
            assert!(
                r.is_err(),
                "change {n} finished within {cut} of {units} units"
            );
            let (config, source, rebooted) = boot(after_cut);
            let old_or_factory = if n == 0 { factory() } else { stored(n - 1) };
            assert!(
                config == stored(n) || config == old_or_factory,
                "change {n} cut after {cut}/{units} units booted with {config:?} ({source:?})"
            );
            if n > 0 {
                assert_eq!(
                    source,
                    Source::Stored,
                    "change {n} cut at {cut} lost the store"
                );
            }
            // The store repairs itself and takes the next change.
            let (r, next) = save(rebooted, 1000 + n);
            r.unwrap_or_else(|e| panic!("change {n} cut at {cut}: the next save failed: {e:?}"));
            assert_eq!(boot(next).0, stored(1000 + n));
            cuts += 1;
            erasing_cuts += usize::from(erasing);
        }
        flash = done.reboot();
        assert_eq!(boot(flash.clone()).0, stored(n));
    }
    println!("power cuts tried: {cuts} (of which {erasing_cuts} in changes that erased a page)");
    assert!(
        erasing_cuts > 0,
        "no change reclaimed a page: the test misses erases"
    );
}

/// The agent's last state is stored and cut the same way.
#[test]
fn a_cut_while_storing_the_agent_state_keeps_the_config_and_old_or_new_state() {
    let (r, flash) = save(CutFlash::new(), 1);
    r.unwrap();
    let old = AgentRecord {
        logged_in: false,
        state: 0,
        reason_code: 0,
    };
    let new = AgentRecord {
        logged_in: true,
        state: 2,
        reason_code: 32,
    };
    let mut s = store(flash);
    block_on(s.save_agent(&old)).unwrap();
    let flash = s.into_flash().reboot();
    let mut s = store(flash.clone());
    block_on(s.save_agent(&new)).unwrap();
    let units = s.into_flash().used;
    for cut in 0..units {
        let mut s = store(flash.clone().cut_after(cut));
        assert!(block_on(s.save_agent(&new)).is_err());
        let mut s = store(s.into_flash().reboot());
        let b = block_on(s.boot(factory));
        assert_eq!(b.config, stored(1));
        assert!(
            b.agent == Some(old) || b.agent == Some(new),
            "cut {cut}: {:?}",
            b.agent
        );
    }
}

/// Erases per configuration change, measured over 1,000 changes on 4 pages of 4 KiB.
#[test]
fn erases_per_configuration_change_are_measured() {
    let mut flash = CutFlash::new();
    let changes = 1000;
    for n in 0..changes {
        let (r, f) = save(flash, n);
        r.unwrap();
        flash = f;
    }
    let (mut s, blob_len) = (store(flash), {
        let mut buf = [0u8; ccx_cti::config::BLOB_MAX_LEN];
        ccx_cti_store::stored_blob(&config(1), &mut buf)
            .unwrap()
            .len()
    });
    let b = block_on(s.boot(factory));
    assert_eq!(b.config, stored(changes - 1));
    let erases = s.into_flash().erases;
    let per_change = erases as f64 / changes as f64;
    println!(
        "erases per configuration change: {per_change:.3} ({erases} page erases for {changes} \
         changes of a {blob_len}-byte blob, {PAGES} pages of {PAGE} B)"
    );
    // A page holds about PAGE / blob items; one erase per page filled, so well under 1.
    assert!(per_change < 0.15, "{per_change} erases per change");
}

#[test]
fn an_invalid_configuration_is_refused_and_the_last_good_one_stays() {
    let (r, flash) = save(CutFlash::new(), 3);
    r.unwrap();
    let mut bad = config(4);
    bad.protocol_version = 99;
    let mut s = store(flash);
    match block_on(s.save_config(&bad)) {
        Err(e @ SaveError::Invalid(_)) => assert_eq!(
            e.rejected(),
            Some(ConfigRejected {
                error: ConfigError::ProtocolVersion { version: 99 },
                kept: Kept::LastGood
            })
        ),
        other => panic!("an invalid configuration was not refused: {other:?}"),
    }
    let (config, source, _) = boot(s.into_flash());
    assert_eq!((config, source), (stored(3), Source::Stored));
}

/// A blob in flash that this firmware no longer accepts (written by hand, or by a firmware with
/// looser rules), with no good one before it, is reported, and the phone boots with the factory
/// configuration.
#[test]
fn a_stored_configuration_that_fails_validation_is_reported() {
    use sequential_storage::cache::Cache;
    use sequential_storage::map::{MapConfig, MapStorage};
    let mut bad = config(5);
    bad.protocol_version = 3;
    let mut blob = [0u8; ccx_cti::config::BLOB_MAX_LEN];
    let bytes = bad.encode_blob(&mut blob).unwrap();
    let mut map = MapStorage::<u8, _, _>::new(
        CutFlash::new(),
        MapConfig::new(range()),
        Cache::new_uncached(),
    );
    let mut buf = [0u8; ccx_cti_store::BUFFER_LEN];
    block_on(map.store_item(&mut buf, &ccx_cti_store::KEY_CONFIG, &bytes)).unwrap();
    let mut s = store(map.destroy().0);
    let b = block_on(s.boot(factory));
    assert_eq!(b.source, Source::Factory);
    assert!(
        matches!(b.problem, Some(Problem::Invalid(_))),
        "{:?}",
        b.problem
    );
    assert_eq!(b.config, factory());
    assert_eq!(b.rejected().map(|r| r.kept), Some(Kept::Factory));
}

/// Bytes stored as the newest configuration record behind the store's back (its own
/// `save_config` refuses them): what a region written by another tool or firmware may hold.
fn with_newer_record(flash: CutFlash, bytes: &[u8]) -> CutFlash {
    use sequential_storage::cache::Cache;
    use sequential_storage::map::{MapConfig, MapStorage};
    let mut map =
        MapStorage::<u8, _, _>::new(flash, MapConfig::new(range()), Cache::new_uncached());
    let mut buf = [0u8; ccx_cti_store::BUFFER_LEN];
    block_on(map.store_item(&mut buf, &ccx_cti_store::KEY_CONFIG, &bytes)).unwrap();
    map.destroy().0
}

/// A newer record that fails validation, or whose blob is damaged, is passed over: the phone
/// boots with the last good one and says why.
#[test]
fn a_newer_rejected_record_leaves_the_last_good_configuration() {
    let mut bad = config(9);
    bad.protocol_version = 3;
    let mut blob = [0u8; ccx_cti::config::BLOB_MAX_LEN];
    let invalid = bad.encode_blob(&mut blob).unwrap().to_vec();
    let mut damaged = config(9).encode_blob(&mut blob).unwrap().to_vec();
    let at = damaged.len() - 6;
    damaged[at] ^= 0x01;
    for (name, bytes) in [("invalid", invalid), ("damaged", damaged)] {
        let (r, flash) = save(CutFlash::new(), 3);
        r.unwrap();
        let mut s = store(with_newer_record(flash, &bytes));
        let b = block_on(s.boot(factory));
        assert_eq!(b.config, stored(3), "{name}");
        assert_eq!(b.source, Source::Previous, "{name}");
        match (name, &b.problem) {
            ("invalid", Some(Problem::Invalid(_))) | ("damaged", Some(Problem::Blob(_))) => {}
            _ => panic!("{name}: {:?}", b.problem),
        }
        // What the screen tells: a validation failure, naming the field; a damaged record is
        // only logged.
        let told = (name == "invalid").then_some(ConfigRejected {
            error: ConfigError::ProtocolVersion { version: 3 },
            kept: Kept::LastGood,
        });
        assert_eq!(b.rejected(), told, "{name}");
        let c = block_on(s.contents());
        assert_eq!(c.config_records, 2, "{name}");
        // A good configuration saved after it is the newest again.
        block_on(s.save_config(&config(10))).unwrap();
        let b = block_on(s.boot(factory));
        assert_eq!((b.config, b.source), (stored(10), Source::Stored), "{name}");
        assert!(b.problem.is_none(), "{name}");
    }
}

#[test]
fn an_empty_flash_boots_the_factory_configuration() {
    let mut s = store(CutFlash::new());
    let b = block_on(s.boot(factory));
    assert_eq!(b.source, Source::Factory);
    assert!(matches!(b.problem, Some(Problem::Empty)));
}

#[test]
fn the_agent_password_is_not_in_the_flash_image() {
    let (r, flash) = save(CutFlash::new(), 7);
    r.unwrap();
    let image = &flash.bytes;
    let has = |needle: &[u8]| image.windows(needle.len()).any(|w| w == needle);
    // The scan works: the agent id is stored in clear.
    assert!(has(b"agent0007"));
    assert!(
        !has(b"Secr3t-Agent-Pw"),
        "the agent's password is in the flash image"
    );
    let (config, _, _) = boot(flash);
    assert!(config.agent_password.is_empty());
}

/// The store's RAM: its work buffer and the map's state (reported in the README).
#[test]
fn the_store_is_small_in_ram() {
    let size = core::mem::size_of::<ConfigStore<ccx_cti_store::ram_flash::RamFlash<'static>>>();
    println!("ConfigStore on RamFlash: {size} bytes of RAM");
    assert!(size < 1024, "{size}");
}

/// The flight recorder's dump region: a save cut after any programmed byte or in an erase
/// leaves either the whole new dump or no dump, never a dump that reads but is wrong.
#[test]
fn a_cut_dump_save_leaves_the_whole_dump_or_none() {
    use ccx_cti_store::dump_region::{self, ReadError};
    let dump: Vec<u8> = (0..1500u32).map(|i| (i * 7 + 3) as u8).collect();
    let range = 0..PAGE as u32;
    let save = |flash: &mut CutFlash| {
        block_on(dump_region::save(
            flash,
            range.clone(),
            dump.len(),
            |at, buf| buf.copy_from_slice(&dump[at..at + buf.len()]),
        ))
    };
    let mut whole = CutFlash::with_pages(1);
    save(&mut whole).unwrap();
    assert_eq!(dump_region::read(&whole.bytes), Ok(&dump[..]));
    // The header alone gives the length (a board reads no more of its flash than that).
    let header = &whole.bytes[..dump_region::HEADER];
    assert_eq!(dump_region::dump_len(header), Ok(dump.len()));
    assert_eq!(
        dump_region::dump_len(&[0xFF; dump_region::HEADER]),
        Err(ReadError::Empty)
    );
    let units = whole.used;
    let (mut read, mut none) = (0, 0);
    for cut in 0..units {
        // Over an older dump, so that a cut can leave old bytes behind.
        let mut flash = CutFlash::with_pages(1);
        block_on(dump_region::save(&mut flash, range.clone(), 700, |_, b| {
            b.fill(0x11)
        }))
        .unwrap();
        let mut flash = flash.cut_after(cut);
        assert!(
            save(&mut flash).is_err(),
            "the save finished within {cut} of {units}"
        );
        match dump_region::read(&flash.bytes) {
            Ok(d) => {
                assert_eq!(d, &dump[..], "cut at {cut}: a wrong dump reads as whole");
                read += 1;
            }
            // Any error is "no dump": a cut header reads as empty, another version, a length
            // past the region or a CRC that fails.
            Err(ReadError::Empty | ReadError::Crc { .. } | ReadError::Version(_)) => none += 1,
            Err(ReadError::Cut { .. }) => none += 1,
        }
    }
    println!("dump save cut at {units} points: {none} left no dump, {read} the whole dump");
    assert!(none > 0);
    // Too large for the region: refused before anything is erased.
    let mut small = whole.clone();
    let big = block_on(dump_region::save(
        &mut small,
        range.clone(),
        PAGE,
        |_, _| {},
    ));
    assert!(
        matches!(big, Err(dump_region::SaveError::TooLarge { .. })),
        "{big:?}"
    );
    assert_eq!(dump_region::read(&small.bytes), Ok(&dump[..]));
}
