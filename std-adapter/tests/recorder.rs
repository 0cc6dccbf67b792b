//! `ccx recorder`: a flight-recorder dump of a real session (the demo story through the
//! capturing proxy, its TCP segments recorded as the firmware's recorder does) turned into
//! trace text, a flow that `ccx replay` passes and a pcap that `ccx decode --pcap` reads; and
//! the recorder crate's own dump (a golden file it writes) read back.

use std::path::{Path, PathBuf};
use std::process::Command;

use ccx_cti_std::recorder::{read_dump, sessions, Kind};

mod support;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn out_dir() -> PathBuf {
    let dir = root().join("target").join("recorder-test");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The demo story through the proxy, captured to `pcap` in 7-byte segments: the
/// simulator's port.
fn demo_capture(pcap: &Path) -> u16 {
    let (_, sim) = support::proxied::demo_through_proxy(Some(pcap), Box::new(std::io::sink()), 7);
    sim.port()
}

/// The TCP payloads of an Ethernet/IPv4 pcap: (to the server?, bytes).
fn payloads(pcap: &[u8], server_port: u16) -> Vec<(bool, Vec<u8>)> {
    let mut out = Vec::new();
    let mut reader = pcap_file::pcap::PcapReader::new(pcap).unwrap();
    while let Some(packet) = reader.next_packet() {
        let p = packet.unwrap().data.into_owned();
        let ihl = usize::from(p[14] & 0x0F) * 4;
        let tcp = &p[14 + ihl..];
        let dst = u16::from_be_bytes([tcp[2], tcp[3]]);
        let data = &tcp[usize::from(tcp[12] >> 4) * 4..];
        if !data.is_empty() {
            out.push((dst == server_port, data.to_vec()));
        }
    }
    out
}

/// A dump as the firmware's recorder writes it (format in the recorder crate).
fn dump(records: &[(u8, u64, Vec<u8>)], wall: bool) -> Vec<u8> {
    let mut body = Vec::new();
    for (kind, at, payload) in records {
        body.push(*kind);
        body.push(0);
        body.extend_from_slice(&u16::try_from(payload.len()).unwrap().to_le_bytes());
        body.extend_from_slice(&at.to_le_bytes());
        body.extend_from_slice(payload);
    }
    let mut d = b"CCXR".to_vec();
    d.push(1);
    d.push(u8::from(wall));
    d.extend_from_slice(&0u32.to_le_bytes());
    d.extend_from_slice(&u32::try_from(body.len()).unwrap().to_le_bytes());
    d.extend_from_slice(&body);
    d
}

/// As the firmware prints it: a log with other lines between the hex lines.
fn as_log(d: &[u8]) -> String {
    let mut s = String::from("INFO  phone booted\n");
    for chunk in d.chunks(32) {
        let hex: String = chunk.iter().map(|b| format!("{b:02x}")).collect();
        s.push_str(&format!(
            "0.123 INFO  ccx-rec {hex}\n└─ firmware::dump @ src/main.rs:1\n"
        ));
    }
    s.push_str("INFO  dump done\n");
    s
}

fn ccx(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ccx"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_recorded_session_becomes_trace_text_a_passing_flow_and_a_readable_pcap() {
    let dir = out_dir();
    let capture = dir.join("demo.pcap");
    let port = demo_capture(&capture);
    let segments = payloads(&std::fs::read(&capture).unwrap(), port);
    assert!(segments.len() > 20, "{} segments", segments.len());
    let start = 1_796_000_000_000u64;
    let mut records = vec![(
        2u8,
        start,
        vec![192, 168, 69, 1, 0x2e, 0xfc, 192, 168, 69, 2, 0xc0, 0x00],
    )];
    for (i, (to_server, bytes)) in segments.into_iter().enumerate() {
        records.push((if to_server { 0 } else { 1 }, start + 10 * i as u64, bytes));
    }
    records.push((3, start + 99_999, b"closed by the phone".to_vec()));
    let log = dir.join("phone.log");
    std::fs::write(&log, as_log(&dump(&records, true))).unwrap();

    let flow = dir.join("recorded.flow");
    let pcap = dir.join("recorded.pcap");
    let out = ccx(&[
        "recorder".as_ref(),
        log.as_os_str(),
        "--flow".as_ref(),
        flow.as_os_str(),
        "--pcap".as_ref(),
        pcap.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("# session 1: 192.168.69.2:49152 -> 192.168.69.1:12028 at 2026-"),
        "{text}"
    );
    assert!(
        text.contains("MsgType: OPEN_REQ") && text.contains("MsgType: OPEN_CONF"),
        "{text}"
    );
    assert!(text.contains("client -> server") && text.contains("server -> client"));
    assert!(text.contains("# session 1 closed: closed by the phone"));
    assert!(!text.contains("not decoded"), "{text}");

    let replay = ccx(&["replay".as_ref(), flow.as_os_str()]);
    assert!(
        replay.status.success(),
        "{}{}",
        String::from_utf8_lossy(&replay.stdout),
        std::fs::read_to_string(&flow).unwrap()
    );

    let decoded = ccx(&["decode".as_ref(), "--pcap".as_ref(), pcap.as_os_str()]);
    assert!(
        decoded.status.success(),
        "{}",
        String::from_utf8_lossy(&decoded.stderr)
    );
    let decoded = String::from_utf8_lossy(&decoded.stdout);
    for m in ["OPEN_REQ", "OPEN_CONF", "SET_AGENT_STATE_REQ", "CLOSE_CONF"] {
        assert!(
            decoded.contains(&format!("MsgType: {m}")),
            "{m} missing from the pcap's decode"
        );
    }
}

#[test]
fn a_dump_with_a_failover_has_two_sessions_and_the_flow_takes_the_last() {
    let open = |side: u8| vec![10, 0, 0, side, 0x2e, 0xfc];
    let d = dump(
        &[
            (2, 5, open(1)),
            (0, 6, vec![0, 0, 0, 0, 0, 0, 0, 5]), // a HEARTBEAT_REQ-sized empty frame of type 5
            (3, 7, b"lost".to_vec()),
            (2, 8, open(2)),
            (0, 9, vec![0, 0, 0]), // a frame cut short by the dump
        ],
        false,
    );
    let dump = read_dump(&d).unwrap();
    assert!(!dump.wall_clock);
    let s = sessions(&dump);
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].server.to_string(), "10.0.0.1:12028");
    assert_eq!(s[1].server.to_string(), "10.0.0.2:12028");
    assert_eq!(s[0].frames.len(), 1);
    assert_eq!(s[0].closed.as_deref(), Some("lost"));
    assert_eq!(s[1].partial, [3, 0]);
}

#[test]
fn the_recorder_crates_golden_dump_reads_back() {
    let golden = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/recorder-golden.dump"),
    )
    .unwrap();
    let dump = read_dump(&golden).unwrap();
    let kinds: Vec<Kind> = dump.records.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            Kind::Connected,
            Kind::Sent,
            Kind::Received,
            Kind::Closed,
            Kind::Note
        ]
    );
    assert_eq!(dump.records[1].at_ms, 1_000);
    assert_eq!(dump.records[2].payload, [0, 0, 0, 0, 0, 0, 0, 6]);
    assert!(dump.wall_clock);
    // Each record says whether its time is wall clock: only the one after the clock was set.
    let wall: Vec<bool> = dump.records.iter().map(|r| r.wall).collect();
    assert_eq!(wall, [false, false, false, false, true]);
    assert_eq!(dump.dropped, 1);
}
