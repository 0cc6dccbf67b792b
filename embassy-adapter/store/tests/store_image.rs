//! The `store-image` tool as CI runs it: a region with a good configuration and, with
//! `--newer-unchecked`, a newer record the phone must reject; read back by the store's own boot.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::path::PathBuf;
use std::process::{Command, Output};

use ccx_cti::config::{ConfigError, PhoneConfig, ServerAddr, BLOB_MAX_LEN};
use ccx_cti::ui::{ConfigRejected, Kept};
use ccx_cti_store::ram_flash::{read_region, RamFlash};
use ccx_cti_store::{ConfigStore, Problem, Source};
use embassy_futures::block_on;

fn config(agent: &str, password: &str) -> PhoneConfig {
    let mut c = PhoneConfig::default();
    c.servers.clear();
    let mut host = heapless::String::new();
    host.push_str("side-a.example").unwrap();
    c.servers.push(ServerAddr { host, port: 12028 }).unwrap();
    c.agent_id.push_str(agent).unwrap();
    c.agent_password.push_str(password).unwrap();
    c
}

/// A configuration this firmware rejects: a protocol version it does not speak.
fn rejected_config() -> PhoneConfig {
    let mut c = config("chli4099", "Newer-Secret-77");
    c.protocol_version = 3;
    c
}

struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("store-image-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    fn blob(&self, name: &str, c: &PhoneConfig) -> String {
        let mut buf = [0u8; BLOB_MAX_LEN];
        let path = self.0.join(name);
        std::fs::write(&path, c.encode_blob(&mut buf).unwrap()).unwrap();
        path.display().to_string()
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn store_image(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_store-image"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_newer_unchecked_record_is_passed_over_for_the_last_good_one() {
    let dir = Dir::new("newer");
    let good = dir.blob("good.blob", &config("chli4020", "Typed-At-The-Keypad-42"));
    let newer = dir.blob("newer.blob", &rejected_config());
    let out = dir.path("store.bin");
    let run = store_image(&[&good, &out, "--newer-unchecked", &newer]);
    let (stdout, stderr) = (text(&run.stdout), text(&run.stderr));
    assert!(run.status.success(), "{stderr}");
    assert!(
        stdout.contains(&format!(
            "{out}: newest record from {newer}, agent chli4099, stored without validate(): a \
             phone rejects it: protocol_version 3"
        )),
        "{stdout}"
    );

    let mut region = std::fs::read(&out).unwrap();
    for secret in ["Typed-At-The-Keypad-42", "Newer-Secret-77"] {
        assert!(
            !region.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} is in the region"
        );
    }
    let contents = read_region(&mut region.clone()).unwrap();
    assert_eq!(contents.config_records, 2);
    assert_eq!(contents.config.unwrap().agent_id, "chli4020");
    assert!(
        matches!(
            contents.newer_problem,
            Some(Problem::Invalid(ConfigError::ProtocolVersion {
                version: 3
            }))
        ),
        "{:?}",
        contents.newer_problem
    );

    // What the firmware does at boot with this region.
    let end = region.len() as u32;
    let mut store = ConfigStore::new(RamFlash::new(&mut region), 0..end).unwrap();
    let boot = block_on(store.boot(|| panic!("the factory configuration was used")));
    assert_eq!(boot.source, Source::Previous);
    assert_eq!(boot.config.agent_id, "chli4020");
    assert_eq!(
        boot.rejected(),
        Some(ConfigRejected {
            error: ConfigError::ProtocolVersion { version: 3 },
            kept: Kept::LastGood,
        })
    );

    // The tool's own reader says the same.
    let read = store_image(&["--read", &out]);
    let (stdout, stderr) = (text(&read.stdout), text(&read.stderr));
    assert!(read.status.success(), "{stderr}");
    assert!(
        stderr.contains("the newest configuration record is rejected: protocol_version 3")
            && stderr.contains("showing the previous one"),
        "{stderr}"
    );
    assert!(
        stdout.contains("chli4020") && !stdout.contains("chli4099"),
        "{stdout}"
    );
}

#[test]
fn a_region_without_the_flag_holds_one_good_record() {
    let dir = Dir::new("plain");
    let good = dir.blob("good.blob", &config("chli4020", "pw"));
    let out = dir.path("store.bin");
    let run = store_image(&[&good, &out]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(!text(&run.stdout).contains("newest record"));
    let contents = read_region(&mut std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(contents.config_records, 1);
    assert!(contents.newer_problem.is_none());
    // The first blob is still checked: only BLOB2 goes in unchecked.
    let bad = dir.blob("bad.blob", &rejected_config());
    let run = store_image(&[&bad, &dir.path("bad.bin")]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        text(&run.stderr).contains("not stored: Invalid(ProtocolVersion"),
        "{}",
        text(&run.stderr)
    );
}

#[test]
fn a_missing_or_unreadable_newer_blob_writes_no_region() {
    let dir = Dir::new("bad");
    let good = dir.blob("good.blob", &config("chli4020", "pw"));
    let out = dir.path("store.bin");
    let run = store_image(&[&good, &out, "--newer-unchecked"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        text(&run.stderr).contains("--newer-unchecked needs a blob"),
        "{}",
        text(&run.stderr)
    );
    let junk = dir.path("junk.blob");
    std::fs::write(&junk, b"not a blob at all").unwrap();
    let run = store_image(&[&good, &out, "--newer-unchecked", &junk]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        text(&run.stderr).contains(&format!("{junk}: ")),
        "{}",
        text(&run.stderr)
    );
    assert!(!std::path::Path::new(&out).exists(), "a region was written");
}
