//! Every flow in tests/flows/ passes `ccx replay`; broken copies of them fail where they should.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use ccx_cti_std::flow::{replay_file, FileResult};

fn flows_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("flows")
}

fn all_flows() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(flows_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "flow"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_flow_passes() {
    let flows = all_flows();
    assert!(flows.len() >= 2);
    let mut failures = Vec::new();
    for path in &flows {
        let (result, title, transcript) = replay_file(path);
        match result {
            FileResult::Passed => {}
            FileResult::Failed(f) => failures.push(format!(
                "FAIL {}: {title}: {f}\n{transcript}",
                path.display()
            )),
            FileResult::Unusable(r) => failures.push(format!("ERROR {}: {r}", path.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Write `text` to a temporary flow file and replay it.
fn replay_text(name: &str, text: &str) -> FileResult {
    let dir = std::env::temp_dir().join(format!("ccx-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.flow"));
    std::fs::write(&path, text).unwrap();
    replay_file(&path).0
}

#[test]
fn a_wrong_expectation_fails_with_its_step_and_line() {
    let skip = std::fs::read_to_string(flows_dir().join("outbound-skip.flow")).unwrap();
    let broken = skip.replace(
        "    BAResponse: Skip\nserver:",
        "    BAResponse: Accept\nserver:",
    );
    assert_ne!(broken, skip);
    match replay_text("broken-skip", &broken) {
        FileResult::Failed(f) => {
            assert!(f.step.starts_with("step 1"), "{f}");
            assert!(
                f.reason.contains("BAResponse") && f.reason.contains("Skip"),
                "{f}"
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    let wrong_state = skip.replace(
        "expect: agent.state = AVAILABLE\nexpect: session.state = open",
        "expect: agent.state = NOT_READY\nexpect: session.state = open",
    );
    assert_ne!(wrong_state, skip);
    assert!(matches!(
        replay_text("wrong-state", &wrong_state),
        FileResult::Failed(_)
    ));
}

#[test]
fn an_unreadable_or_unparsable_file_is_unusable() {
    assert!(matches!(
        replay_file(Path::new("/nonexistent/x.flow")).0,
        FileResult::Unusable(_)
    ));
    match replay_text("bad", "config:\n  AgentID: a\nstep 1: x\nagent: fly\n") {
        FileResult::Unusable(r) => assert!(
            r.contains("line 4") && r.contains("unknown agent command"),
            "{r}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn without_start_the_phone_begins_disconnected_and_opens_when_asked() {
    let flow = "\
config:
  AgentID: chli4020
  AgentExtension: 4020
expect: session.state = disconnected
client:
  MsgType: OPEN_REQ
    VersionNumber: 17
    IdleTimeout: 80
    ServicesRequested: 7
    AgentID: chli4020
    AgentExtension: 4020
expect: session.state = opening
server:
  MsgType: OPEN_CONF
    ServicesGranted: 7
    CCXOnline: 1
    AgentState: LOGOUT
expect: session.state = open
client:
  MsgType: QUERY_AGENT_STATE_REQ
    AgentID: chli4020
  MsgType: SNAPSHOT_DEVICE_REQ
server:
  MsgType: QUERY_AGENT_STATE_CONF
    AgentState: NOT_READY
  MsgType: SNAPSHOT_DEVICE_CONF
    NumCalls: 0
expect: agent.state = NOT_READY
";
    match replay_text("no-start", flow) {
        FileResult::Passed => {}
        other => panic!("{other:?}"),
    }
}
