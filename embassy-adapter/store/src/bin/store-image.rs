//! Build the configuration region a phone boots from: `store-image BLOB OUT [PAGES]` stores the
//! blob `ccx config encode` wrote (its configuration checked with `validate()` first, the agent's
//! password left out) in an erased region of PAGES (default 8) pages of 4 KiB, exactly as the
//! firmware's store would, and writes the region to OUT (qemu: `-device loader,file=OUT,...`).
//! `--newer-unchecked BLOB2` then stores BLOB2 as the newest record as it is, without
//! `validate()` (the password still left out): the region a phone finds after an update whose
//! firmware checks more strictly, so a test sees the phone pass over it for the last good one
//! (BLOB2 from `ccx config encode --unchecked`).
//! `store-image --read REGION` prints what a phone would boot with from a dumped region (the
//! store's own reader, `ram_flash::read_region`, as `ccx config decode` uses).

use std::io::Write;
use std::process::ExitCode;

use ccx_cti::config::{PhoneConfig, BLOB_MAX_LEN};
use ccx_cti_store::ram_flash::{read_region, RamFlash, RamFlashError, PAGE};
use ccx_cti_store::{stored_blob, ConfigStore, Problem, BUFFER_LEN, KEY_CONFIG};
use embassy_futures::block_on;
use sequential_storage::cache::Cache;
use sequential_storage::map::{MapConfig, MapStorage};

const USAGE: &str = "usage: store-image BLOB OUT [PAGES] [--newer-unchecked BLOB2] | store-image \
                     --read REGION";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("store-image: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let mut args = args.to_vec();
    let newer = match args.iter().position(|a| a == "--newer-unchecked") {
        Some(at) if at + 1 < args.len() => {
            let blob = args.remove(at + 1);
            args.remove(at);
            Some(blob)
        }
        Some(_) => return Err(format!("--newer-unchecked needs a blob; {USAGE}")),
        None => None,
    };
    match (args.as_slice(), newer) {
        ([flag, region], None) if flag == "--read" => read(region),
        ([blob, out], newer) => write(blob, out, 8, newer.as_deref()),
        ([blob, out, pages], newer) => write(
            blob,
            out,
            pages.parse().map_err(|_| "PAGES is a number")?,
            newer.as_deref(),
        ),
        _ => Err(USAGE.into()),
    }
}

/// A blob file's configuration.
fn decode(path: &str) -> Result<PhoneConfig, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    PhoneConfig::decode_blob(&bytes).map_err(|e| format!("{path}: {e}"))
}

fn write(blob: &str, out: &str, pages: usize, newer: Option<&str>) -> Result<(), String> {
    let config = decode(blob)?;
    // Read before anything is written: a wrong BLOB2 leaves no half-made region behind.
    let newer = newer
        .map(|path| decode(path).map(|c| (path, c)))
        .transpose()?;
    let mut region = vec![0xFF; pages * PAGE];
    let size = region.len();
    let len = u32::try_from(size).map_err(|_| "region too large")?;
    let mut store = ConfigStore::new(RamFlash::new(&mut region), 0..len)
        .map_err(|e| format!("a store of {pages} pages: {e:?}"))?;
    block_on(store.save_config(&config)).map_err(|e| format!("{blob}: not stored: {e:?}"))?;
    let flash = store.into_flash();
    let mut report = format!(
        "{out}: {} bytes ({pages} pages of {PAGE}), agent {} (password not stored)\n",
        size, config.agent_id
    );
    if let Some((path, newer)) = newer {
        store_unchecked(flash, len, &newer).map_err(|e| format!("{path}: not stored: {e}"))?;
        let verdict = match newer.validate() {
            Ok(_) => "it passes validate()".to_string(),
            Err(e) => format!("a phone rejects it: {e}"),
        };
        report += &format!(
            "{out}: newest record from {path}, agent {}, stored without validate(): {verdict}\n",
            newer.agent_id
        );
    }
    std::fs::write(out, &region).map_err(|e| format!("{out}: {e}"))?;
    print_out(&report)
}

/// Append `config` as the newest configuration record behind the store's back: the store's own
/// map and key, the password left out as the store leaves it, but no `validate()` (the store's
/// `save_config` refuses such a configuration, as it must on a phone).
fn store_unchecked(flash: RamFlash<'_>, len: u32, config: &PhoneConfig) -> Result<(), String> {
    let map_config = MapConfig::try_new(0..len).map_err(|e| format!("{e:?}"))?;
    let mut map = MapStorage::<u8, _, _>::new(flash, map_config, Cache::new_uncached());
    let mut blob = [0u8; BLOB_MAX_LEN];
    let bytes = stored_blob(config, &mut blob).map_err(|e| e.to_string())?;
    let mut buf = [0u8; BUFFER_LEN];
    block_on(map.store_item(&mut buf, &KEY_CONFIG, &bytes)).map_err(|e| format!("{e:?}"))
}

fn read(path: &str) -> Result<(), String> {
    let mut region = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let contents = read_region(&mut region).map_err(|e| format!("{path}: {e}"))?;
    if let Some(e) = &contents.flash {
        eprintln!("store-image: {path}: the flash cannot be read as a store ({e:?})");
    }
    let Some(config) = contents.config else {
        let why = match contents.newer_problem {
            Some(p) => format!("no usable configuration: the newest record is {p}"),
            None => Problem::<RamFlashError>::Empty.to_string(),
        };
        return Err(format!("{path}: {why}"));
    };
    if let Some(p) = &contents.newer_problem {
        eprintln!(
            "store-image: {path}: the newest configuration record is {p}; showing the previous one"
        );
    }
    let mut text = format!("{config:#?}\n");
    if let Some(agent) = contents.agent {
        text += &format!("agent state: {agent:?}\n");
    }
    print_out(&text)
}

/// Standard output that a reader may close early (`store-image --read R | grep -m1 …`): the tool
/// then ends quietly with the shell's SIGPIPE status (141), as a C tool would, instead of the
/// panic `println!` gives.
fn print_out(text: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(141),
        Err(e) => Err(format!("cannot write to standard output: {e}")),
    }
}
