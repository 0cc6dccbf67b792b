//! `ccx recorder` on the phone's flash dump region: the ring the phone saved when its session
//! was lost, written here by the store's own code (`ccx_cti_store::dump_region::save`) over a
//! RAM flash, then read back from the region file as a support engineer would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;
use std::process::Command;

use ccx_cti_store::dump_region;
use ccx_cti_store::ram_flash::{RamFlash, PAGE};
use embassy_futures::block_on;

/// A 5-page region holding `dump`, as the phone saves it.
fn region(dump: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0xFF; 5 * PAGE];
    let end = bytes.len() as u32;
    let mut flash = RamFlash::new(&mut bytes);
    block_on(dump_region::save(
        &mut flash,
        0..end,
        dump.len(),
        |at, buf| buf.copy_from_slice(&dump[at..at + buf.len()]),
    ))
    .unwrap();
    bytes
}

fn recorder(name: &str, bytes: &[u8]) -> (std::process::Output, String) {
    let dir = std::env::temp_dir().join(format!("ccx-rec-flash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ccx"))
        .arg("recorder")
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    (out, path.display().to_string())
}

#[test]
fn the_ring_saved_in_flash_reads_as_the_dump_itself() {
    let golden = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/recorder-golden.dump"),
    )
    .unwrap();
    let (direct, _) = recorder("golden.dump", &golden);
    assert!(direct.status.success());
    let (saved, _) = recorder("recorder-region.bin", &region(&golden));
    let text = String::from_utf8_lossy(&saved.stdout);
    assert!(
        saved.status.success(),
        "{}",
        String::from_utf8_lossy(&saved.stderr)
    );
    assert!(
        text.contains("# session 1: 10.0.0.2:49152 -> 10.0.0.1:12028"),
        "{text}"
    );
    assert_eq!(saved.stdout, direct.stdout);
}

#[test]
fn a_region_without_a_whole_saved_dump_is_refused() {
    let golden = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/recorder-golden.dump"),
    )
    .unwrap();
    let mut damaged = region(&golden);
    damaged[dump_region::HEADER + 20] ^= 0x40;
    let mut erased_header = region(&golden);
    erased_header[..dump_region::HEADER].fill(0xFF);
    // A cut save that wrote the magic but not the rest of the header reads as "cut"; one that
    // wrote nothing of it is no dump at all (and not a recorder file either).
    let cases: [(&str, Vec<u8>, &str); 2] = [
        (
            "damaged.bin",
            damaged,
            "a flash dump region: the saved dump is damaged: CRC",
        ),
        ("erased.bin", erased_header, "no recorder dump in the file"),
    ];
    for (name, bytes, expected) in cases {
        let (out, path) = recorder(name, &bytes);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(out.stdout.is_empty(), "{name}");
        assert!(
            err.contains(&format!("error: {path}: {expected}")),
            "{name}: {err}"
        );
    }
}
