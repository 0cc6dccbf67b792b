//! `ccx config encode --unchecked`: a blob of a configuration `validate()` refuses, written all
//! the same with the problems on stderr, to test what a phone does with it (CI stores it as the
//! newest record of the qemu image's region); and `ccx config decode` of such a region.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ccx_cti::config::{ConfigError, PhoneConfig};
use ccx_cti_store::ram_flash::{RamFlash, PAGE};
use ccx_cti_store::{ConfigStore, BUFFER_LEN, KEY_CONFIG};
use embassy_futures::block_on;
use sequential_storage::cache::Cache;
use sequential_storage::map::{MapConfig, MapStorage};

const GOOD: &str = "servers = [\"side-a.example:12028\"]\nagent_id = \"chli4020\"\n";
const REJECTED: &str =
    "servers = [\"side-a.example:12028\"]\nagent_id = \"chli4099\"\nprotocol_version = 3\n";

struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("ccx-unchecked-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ccx(args: &[&str], file: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ccx"))
        .args(args)
        .arg(file)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn unchecked_writes_a_refused_configuration_with_its_problems_on_stderr() {
    let dir = Dir::new("encode");
    let toml = dir.file("rejected.toml", REJECTED.as_bytes());
    let place = toml.display().to_string();

    let refused = ccx(&["config", "encode"], &toml);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(refused.stdout.is_empty());

    let out = ccx(&["config", "encode", "--unchecked"], &toml);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "warning: the phone configuration is not usable:\n{place}:3: protocol_version 3"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("written all the same (--unchecked): a phone rejects this configuration"),
        "{stderr}"
    );
    let config = PhoneConfig::decode_blob(&out.stdout).unwrap();
    assert_eq!(config.protocol_version, 3);
    assert_eq!(config.agent_id, "chli4099");
    assert!(matches!(
        config.validate(),
        Err(ConfigError::ProtocolVersion { version: 3 })
    ));

    // A good file: the same blob with or without the flag, and no warning.
    let good = dir.file("good.toml", GOOD.as_bytes());
    let checked = ccx(&["config", "encode"], &good);
    let unchecked = ccx(&["config", "encode", "--unchecked"], &good);
    assert!(checked.status.success() && unchecked.status.success());
    assert_eq!(checked.stdout, unchecked.stdout);
    assert!(unchecked.stderr.is_empty(), "{}", text(&unchecked.stderr));

    // Only validate() is skipped: a file that does not read is still refused.
    let broken = dir.file("broken.toml", b"agent_id = 42\n");
    let out = ccx(&["config", "encode", "--unchecked"], &broken);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
}

/// The blobs `ccx config encode` writes, stored as the qemu image's region is in CI: the good
/// one through the store, the `--unchecked` one behind it as the newest record.
#[test]
fn decode_of_a_region_with_an_unchecked_newest_record_shows_the_last_good_one() {
    let dir = Dir::new("region");
    let good = ccx(
        &["config", "encode"],
        &dir.file("good.toml", GOOD.as_bytes()),
    );
    let newer = ccx(
        &["config", "encode", "--unchecked"],
        &dir.file("rejected.toml", REJECTED.as_bytes()),
    );
    assert!(good.status.success() && newer.status.success());

    let mut region = vec![0xFF; 8 * PAGE];
    let end = region.len() as u32;
    let mut store = ConfigStore::new(RamFlash::new(&mut region), 0..end).unwrap();
    block_on(store.save_config(&PhoneConfig::decode_blob(&good.stdout).unwrap())).unwrap();
    let mut map = MapStorage::<u8, _, _>::new(
        store.into_flash(),
        MapConfig::new(0..end),
        Cache::new_uncached(),
    );
    let mut buf = [0u8; BUFFER_LEN];
    block_on(map.store_item(&mut buf, &KEY_CONFIG, &&newer.stdout[..])).unwrap();
    let _ = map.destroy();

    let path = dir.file("store.bin", &region);
    let name = path.display().to_string();
    let out = ccx(&["config", "decode"], &path);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "warning: {name}: the newest configuration record is rejected: protocol_version 3"
        )) && stderr.contains("showing the previous one"),
        "{stderr}"
    );
    assert!(stdout.contains("agent_id = \"chli4020\""), "{stdout}");
    assert!(!stdout.contains("chli4099"), "{stdout}");
    assert!(stdout.contains("2 configuration record(s)"), "{stdout}");
}
