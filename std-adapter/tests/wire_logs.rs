//! `ccx decode --log` on Unified CCX MIVR (ICD_CTI) and Finesse logs written for the test from
//! the formats the loggers print (tests/data/logs/): binary hex dumps, object dumps,
//! DECODED_MESSAGE_FROM_CTI_SERVER records, and a file mixing them with unrelated lines.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;
use std::process::Command;

use ccx_cti::wire::WireVersion;
use ccx_cti_std::codec_cli::encode_text;
use ccx_cti_std::wiretools::logs::{decode_log, RecordKind};
use ccx_cti_std::wiretools::{describe, DecodeOptions};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/logs")
        .join(name)
}

/// `ccx decode --log FILE [--json]`: (exit code, stdout, stderr).
fn ccx(name: &str, json: bool) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ccx"));
    cmd.arg("decode");
    if json {
        cmd.arg("--json");
    }
    let out = cmd.arg("--log").arg(data(name)).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn records(name: &str) -> Vec<serde_json::Value> {
    let (_, out, _) = ccx(name, true);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["records"].as_array().unwrap().clone()
}

fn field<'v>(rec: &'v serde_json::Value, label: &str) -> Option<&'v str> {
    rec["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["label"] == label)
        .and_then(|f| f["value"].as_str())
}

#[test]
fn binary_records_are_the_exact_frames_and_a_damaged_one_is_reported() {
    let (code, out, err) = ccx("mivr-binary.log", false);
    assert_eq!(code, 1, "a damaged record makes the exit status 1");
    assert!(
        err.contains("line 8: MDATA: `0020:` where the row `0010:` was expected"),
        "{err}"
    );
    assert!(out.contains("# [Nov 30 02:15:51.101 UTC] line 2 (MIVR frame, client -> server)\nMsgType: OPEN_REQ\n"), "{out}");
    assert!(out.contains("# [Nov 30 02:15:52.400 UTC] line 9 (MIVR frame, server -> client)\nMsgType: AGENT_STATE_EVENT\n"), "{out}");
    assert!(!out.contains("hunter2") && out.contains("ClientPassword: ********"));
    // The record spread over four lines: the named variable at its end is there.
    assert!(
        out.contains("line 4 (MIVR frame, client -> server)"),
        "{out}"
    );
    assert!(out.contains("  BAResponse: Skip\n"), "{out}");
    let recs = records("mivr-binary.log");
    let lines: Vec<u64> = recs.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [2, 3, 4, 9]);
}

#[test]
fn a_dumped_frame_decodes_exactly_as_the_frame_itself() {
    let text = "MsgType: BEGIN_CALL_EVENT\n  ConnectionCallID: 16800098\n  CallType: CALLTYPE_RESERVATION\n  ConnectionDeviceID: 4020\n  ANI: 5551234\n  ExpandedCallContxt:\n  BAStatus: DO\n  BACampaign: summer sale\n";
    let mut frame = Vec::new();
    encode_text(
        text,
        WireVersion::DEFAULT,
        false,
        &mut frame,
        &mut std::io::sink(),
    )
    .unwrap();
    let row = |b: &[u8], at: usize| {
        let hex: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
        let ascii: String = b
            .iter()
            .map(|x| {
                if x.is_ascii_graphic() {
                    *x as char
                } else {
                    '.'
                }
            })
            .collect();
        format!("{at:04x}: {}  {ascii}", hex.join(" "))
    };
    let body: Vec<String> = frame[8..]
        .chunks(16)
        .enumerate()
        .map(|(i, c)| row(c, i * 16))
        .collect();
    let log = format!(
        "noise\n1: Nov 30 02:00:00.000 UTC %MIVR-ICD_CTI-7-UNK:writing... MHDR: {} MDATA: {}\n",
        row(&frame[..8], 0),
        body.join(" ")
    );
    let report = decode_log(&log, &DecodeOptions::default());
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.records.len(), 1);
    let rec = &report.records[0];
    assert_eq!(rec.kind, RecordKind::MivrBinary);
    assert_eq!(rec.time, "Nov 30 02:00:00.000 UTC");
    let direct = describe(&frame, WireVersion::DEFAULT, false).unwrap();
    assert_eq!(rec.message, direct);
}

#[test]
fn object_records_map_java_names_to_the_guides_labels() {
    let (code, out, err) = ccx("mivr-object.log", false);
    assert_eq!(code, 1);
    assert!(err.contains("line 5: the object is not closed"), "{err}");
    assert!(
        !out.contains("hunter2") && !out.contains("secret99"),
        "{out}"
    );
    let recs = records("mivr-object.log");
    assert_eq!(recs.len(), 4);
    let open = &recs[0];
    assert_eq!(open["msgtype"], "OPEN_REQ");
    assert_eq!(open["time"], "Nov 30 02:16:10.001 UTC");
    assert_eq!(open["length"], 81);
    for (label, value) in [
        ("VersionNumber", "17"),
        ("IdleTimeout", "80"),
        ("AgentExtension", "4020"),
        ("AgentID", "chli4020"),
        ("ClientPassword", "********"),
    ] {
        assert_eq!(field(open, label), Some(value), "{label}");
    }
    let state = &recs[1];
    assert_eq!(field(state, "AgentState"), Some("AVAILABLE"));
    assert_eq!(field(state, "CSQState"), Some("AVAILABLE"));
    assert_eq!(field(state, "CSQID"), Some("N/A"));
    assert_eq!(
        field(state, "AgentInstrument"),
        None,
        "null is an absent field"
    );
    assert!(state["unmapped"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u == "monitorID=0"));
    let begin = &recs[2];
    assert_eq!(begin["msgtype"], "BEGIN_CALL_EVENT");
    for (label, value) in [
        ("ANI", "5551234"),
        ("DNIS", "7000"),
        ("ConnectionCallID", "16800098"),
        ("CallVar1", "account 42"),
        ("CallVar10", "gold"),
        ("CallType", "CALLTYPE_RESERVATION"),
    ] {
        assert_eq!(field(begin, label), Some(value), "{label}");
    }
    assert_eq!(field(begin, "CallVar2"), None);
    assert!(
        out.contains("  # monitorID=0\n"),
        "unknown names stay as comments: {out}"
    );
    let delivered = &recs[3];
    assert_eq!(
        delivered["msgtype"], "CALL_DELIVERED_EVENT",
        "a Java class name"
    );
    assert_eq!(field(delivered, "AlertingDeviceID"), Some("4020"));
    assert_eq!(
        field(delivered, "LocalConnectionState"),
        Some("LCS_ALERTING")
    );
}

#[test]
fn finesse_records_read_like_the_object_dumps() {
    let (code, out, err) = ccx("finesse.log", false);
    assert_eq!(code, 1);
    assert!(err.contains("line 4: no message name"), "{err}");
    assert!(out.contains("# [Nov 30 2026 02:16:20.100 +0000] line 1 (Finesse, server -> client)\nMsgType: AGENT_STATE_EVENT\n"), "{out}");
    let recs = records("finesse.log");
    assert_eq!(recs.len(), 3);
    assert_eq!(field(&recs[0], "AgentState"), Some("AVAILABLE"));
    assert_eq!(field(&recs[0], "NumCSQs"), Some("0"));
    assert_eq!(
        field(&recs[1], "ConnectionDeviceType"),
        Some("CONNECTION_ID_STATIC")
    );
    assert_eq!(field(&recs[1], "EventCause"), Some("CEC_NEW_CALL"));
    assert_eq!(field(&recs[1], "CallVar3"), Some("vip"));
    assert!(out.contains("  # someNewField=42\n"));
    assert!(!out.contains("lineHandle"), "null is left out");
    assert_eq!(recs[2]["msgtype"], "QUERY_AGENT_STATE_CONF");
}

#[test]
fn a_mixed_log_skips_other_lines_and_keeps_every_record_in_order() {
    let (code, out, err) = ccx("mixed.log", false);
    assert_eq!(code, 1);
    assert!(err.contains("line 13:"), "{err}");
    let recs = records("mixed.log");
    let got: Vec<(u64, String)> = recs
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["msgtype"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        (4, "OPEN_REQ"),
        (6, "BEGIN_CALL_EVENT"),
        (7, "AGENT_STATE_EVENT"),
        (9, "SET_CALL_DATA_REQ"),
        (14, "CALL_DELIVERED_EVENT"),
    ];
    let want: Vec<(u64, String)> = want.iter().map(|(l, n)| (*l, n.to_string())).collect();
    assert_eq!(got, want);
    assert!(!out.contains("Route point") && !out.contains("NullPointer"));
    let kinds: Vec<&str> = recs.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "mivr_binary",
            "mivr_object",
            "finesse",
            "mivr_binary",
            "finesse"
        ]
    );
}

#[test]
fn an_ascii_column_that_looks_like_hex_or_holds_blanks_is_skipped_by_its_width() {
    // Body bytes whose ASCII column reads "0010: 41 42 43 44" and holds blanks.
    let text = "MsgType: SET_CALL_DATA_REQ\n  InvokeID: 7\n  ConnectionCallID: 1\n  ExpandedCallContxt:\n  x: 0010: 41 42\n";
    let mut frame = Vec::new();
    encode_text(
        text,
        WireVersion::DEFAULT,
        false,
        &mut frame,
        &mut std::io::sink(),
    )
    .unwrap();
    let row = |b: &[u8], at: usize, ascii: bool| {
        let hex: Vec<String> = b.iter().map(|x| format!("{x:02X}")).collect();
        let col: String = b
            .iter()
            .map(|x| {
                if (32..127).contains(x) {
                    *x as char
                } else {
                    '.'
                }
            })
            .collect();
        if ascii {
            format!("{at:04X}: {}  {col}", hex.join(" "))
        } else {
            format!("{at:04X}: {}", hex.join(" "))
        }
    };
    for ascii in [true, false] {
        let body: Vec<String> = frame[8..]
            .chunks(16)
            .enumerate()
            .map(|(i, c)| row(c, i * 16, ascii))
            .collect();
        let log = format!(
            "7: Dec 01 10:00:00.000 EST %MIVR-ICD_CTI-7-UNK:reading... MHDR: {} MDATA: {}\n",
            row(&frame[..8], 0, ascii),
            body.join(" ")
        );
        let report = decode_log(&log, &DecodeOptions::default());
        assert!(report.problems.is_empty(), "{:?}\n{log}", report.problems);
        let direct = describe(&frame, WireVersion::DEFAULT, false).unwrap();
        assert_eq!(report.records[0].message, direct);
        assert!(direct.text.contains("x: 0010: 41 42"), "{}", direct.text);
    }
}
