//! `ccx config decode` on a whole store region (the flash image a phone boots from, as the
//! store's own code writes it on the host), on a blob, and on files that are neither.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::process::{Command, Output};

use ccx_cti::config::{PhoneConfig, ServerAddr, BLOB_MAX_LEN};
use ccx_cti_store::ram_flash::{RamFlash, PAGE};
use ccx_cti_store::{AgentRecord, ConfigStore, BUFFER_LEN, KEY_CONFIG};
use embassy_futures::block_on;
use sequential_storage::cache::Cache;
use sequential_storage::map::{MapConfig, MapStorage};

const PAGES: usize = 8;

fn config(agent: &str) -> PhoneConfig {
    let mut c = PhoneConfig::default();
    c.servers.clear();
    let mut host = heapless::String::new();
    host.push_str("side-a.example").unwrap();
    c.servers.push(ServerAddr { host, port: 12028 }).unwrap();
    c.agent_id.push_str(agent).unwrap();
    c.agent_password.push_str("Secr3t-Agent-Pw").unwrap();
    c
}

/// A region the store's code writes: each configuration in turn, then `agent`.
fn region(configs: &[PhoneConfig], agent: Option<AgentRecord>) -> Vec<u8> {
    let mut bytes = vec![0xFF; PAGES * PAGE];
    let end = bytes.len() as u32;
    let mut store = ConfigStore::new(RamFlash::new(&mut bytes), 0..end).unwrap();
    for c in configs {
        block_on(store.save_config(c)).unwrap();
    }
    if let Some(a) = agent {
        block_on(store.save_agent(&a)).unwrap();
    }
    let _ = store.into_flash();
    bytes
}

/// `bytes` appended to `region` as its newest configuration record, behind the store's back
/// (its `save_config` refuses them): what another tool or an older firmware may leave.
fn with_newer_record(mut region: Vec<u8>, bytes: &[u8]) -> Vec<u8> {
    let end = region.len() as u32;
    let mut map = MapStorage::<u8, _, _>::new(
        RamFlash::new(&mut region),
        MapConfig::new(0..end),
        Cache::new_uncached(),
    );
    let mut buf = [0u8; BUFFER_LEN];
    block_on(map.store_item(&mut buf, &KEY_CONFIG, &bytes)).unwrap();
    let _ = map.destroy();
    region
}

fn blob(c: &PhoneConfig) -> Vec<u8> {
    let mut buf = [0u8; BLOB_MAX_LEN];
    c.encode_blob(&mut buf).unwrap().to_vec()
}

struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("ccx-region-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    /// `ccx config decode` on a file of `bytes`: the output and the file's name.
    fn decode(&self, name: &str, bytes: &[u8]) -> (Output, String) {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_ccx"))
            .args(["config", "decode"])
            .arg(&path)
            .output()
            .unwrap();
        (out, path.display().to_string())
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_region_shows_its_newest_configuration_and_the_agents_last_state() {
    let dir = Dir::new("good");
    let agent = AgentRecord {
        logged_in: true,
        state: 3, // AVAILABLE
        reason_code: 12,
    };
    let bytes = region(&[config("chli4020"), config("chli4021")], Some(agent));
    let (out, name) = dir.decode("store.bin", &bytes);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    assert!(stdout.contains("agent_id = \"chli4021\""), "{stdout}");
    assert!(
        !stdout.contains("chli4020"),
        "an older record shown: {stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "# {name}: a store region of 8 pages, 2 configuration record(s)"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("# the agent's last state: logged in, AVAILABLE, last reason code 12"),
        "{stdout}"
    );
    assert!(stdout.contains("agent_password = \"\""), "{stdout}");
    assert!(!stdout.contains("Secr3t"), "{stdout}");
    // The same file's blob still decodes as a blob.
    let (out, _) = dir.decode("phone.blob", &blob(&config("chli4020")));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("agent_id = \"chli4020\""), "{stdout}");
    assert!(!stdout.contains("store region"), "{stdout}");
}

#[test]
fn a_newer_record_that_is_damaged_or_rejected_shows_the_previous_one() {
    let dir = Dir::new("newer");
    let mut damaged = blob(&config("chli4099"));
    let at = damaged.len() - 6;
    damaged[at] ^= 0x01;
    let mut invalid = config("chli4099");
    invalid.protocol_version = 3;
    let cases = [
        (
            "damaged",
            damaged,
            "the newest configuration record is not readable: the configuration blob is damaged: CRC",
        ),
        (
            "invalid",
            blob(&invalid),
            "the newest configuration record is rejected: protocol_version 3",
        ),
    ];
    for (case, newer, expected) in cases {
        let bytes = with_newer_record(region(&[config("chli4020")], None), &newer);
        let (out, name) = dir.decode(&format!("{case}.bin"), &bytes);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "{case}: {stderr}");
        assert!(
            stderr.contains(&format!("warning: {name}: {expected}"))
                && stderr.contains("showing the previous one"),
            "{case}: {stderr}"
        );
        assert!(
            stdout.contains("agent_id = \"chli4020\""),
            "{case}: {stdout}"
        );
        assert!(
            stdout.contains("2 configuration record(s)"),
            "{case}: {stdout}"
        );
        assert!(
            stdout.contains("# no agent state stored"),
            "{case}: {stdout}"
        );
    }
}

#[test]
fn a_region_without_a_usable_configuration_or_a_garbage_file_is_refused() {
    let dir = Dir::new("bad");
    let mut invalid = config("chli4099");
    invalid.protocol_version = 3;
    let erased = vec![0xFF; PAGES * PAGE];
    // A pseudo-random file: no magic, no page structure.
    let mut x = 0x2545_f491_u32;
    let garbage: Vec<u8> = (0..10_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[0]
        })
        .collect();
    let cases: [(&str, Vec<u8>, &str); 3] = [
        (
            "erased.bin",
            erased.clone(),
            "no configuration in this region (8-page store region; no agent state stored)",
        ),
        (
            "only-invalid.bin",
            with_newer_record(erased, &blob(&invalid)),
            "no usable configuration: the newest record is rejected: protocol_version 3",
        ),
        (
            "garbage.bin",
            garbage,
            "not a configuration blob (no CCXP magic), and 10000 bytes is not a store region",
        ),
    ];
    for (file, bytes, expected) in cases {
        let (out, name) = dir.decode(file, &bytes);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
        assert!(
            out.stdout.is_empty(),
            "{file}: half-read: {}",
            text(&out.stdout)
        );
        assert!(
            stderr.contains(&format!("ccx: {name}: {expected}")),
            "{file}: {stderr}"
        );
    }
}
