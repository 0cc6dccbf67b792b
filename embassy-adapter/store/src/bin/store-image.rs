//! Build the configuration region a phone boots from: `store-image BLOB OUT [PAGES]` stores the
//! blob `ccx config encode` wrote (its configuration checked with `validate()` first, the agent's
//! password left out) in an erased region of PAGES (default 8) pages of 4 KiB, exactly as the
//! firmware's store would, and writes the region to OUT (qemu: `-device loader,file=OUT,...`).
//! `store-image --read REGION` prints what a phone would boot with from a dumped region (the
//! store's own reader, `ram_flash::read_region`, as `ccx config decode` uses).

use std::io::Write;
use std::process::ExitCode;

use ccx_cti::config::PhoneConfig;
use ccx_cti_store::ram_flash::{read_region, RamFlash, RamFlashError, PAGE};
use ccx_cti_store::{ConfigStore, Problem};
use embassy_futures::block_on;

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
    match args {
        [flag, region] if flag == "--read" => read(region),
        [blob, out] => write(blob, out, 8),
        [blob, out, pages] => write(blob, out, pages.parse().map_err(|_| "PAGES is a number")?),
        _ => Err("usage: store-image BLOB OUT [PAGES] | store-image --read REGION".into()),
    }
}

fn write(blob: &str, out: &str, pages: usize) -> Result<(), String> {
    let bytes = std::fs::read(blob).map_err(|e| format!("{blob}: {e}"))?;
    let config = PhoneConfig::decode_blob(&bytes).map_err(|e| format!("{blob}: {e}"))?;
    let mut region = vec![0xFF; pages * PAGE];
    let len = u32::try_from(region.len()).map_err(|_| "region too large")?;
    let mut store = ConfigStore::new(RamFlash::new(&mut region), 0..len)
        .map_err(|e| format!("a store of {pages} pages: {e:?}"))?;
    block_on(store.save_config(&config)).map_err(|e| format!("{blob}: not stored: {e:?}"))?;
    let _ = store.into_flash();
    std::fs::write(out, &region).map_err(|e| format!("{out}: {e}"))?;
    print_out(&format!(
        "{out}: {} bytes ({pages} pages of {PAGE}), agent {} (password not stored)\n",
        region.len(),
        config.agent_id
    ))
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
