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

/// The flows of the phone's behaviour on a real Unified CCX server (each cites its Cisco page),
/// with a change to each that must make it fail: (file, text, replacement).
const REAL_SERVER_FLOWS: &[(&str, &str, &str)] = &[
    // The second call rings on the primary line: it is the same call, and the count stays 1.
    (
        "two-calls-one-callid.flow",
        "    ConnectionDeviceID: 4020.4021\n    AlertingDeviceID: 4020.4021\n",
        "    ConnectionDeviceID: 4020\n    AlertingDeviceID: 4020\n",
    ),
    // Another agent's secondary line is not the agent's.
    ("second-line.flow", "4020.4021", "4030.4021"),
    // Without CallType 15 the third CallID is an unknown call.
    (
        "conference-guide.flow",
        "    CallType: 15\n",
        "    CallType: 12\n",
    ),
    // CCX_IN_SERVICE keeps the session.
    (
        "system-event-out-of-service.flow",
        "    CCXStatus: 1280\n",
        "    CCXStatus: 1024\n",
    ),
    // Without the setting LOGIN names no terminal.
    (
        "login-v18-active-terminal.flow",
        "  ActiveTerminal: SEP00AABBCCDDEE\n",
        "",
    ),
    // The quiet rule puts the heartbeat off.
    (
        "heartbeat-always.flow",
        "  IdleTimeout: 80\n",
        "  IdleTimeout: 80\n  HeartbeatMode: when-idle\n",
    ),
    // Heartbeats regardless of traffic come at 20 s and 40 s, not 35 s.
    (
        "heartbeat-when-idle.flow",
        "  HeartbeatMode: when-idle\n",
        "  HeartbeatMode: always\n",
    ),
];

#[test]
fn every_flow_passes() {
    let flows = all_flows();
    for (name, _, _) in REAL_SERVER_FLOWS {
        assert!(
            flows.iter().any(|p| p.ends_with(name)),
            "{name} is missing from tests/flows"
        );
    }
    let mut failures = Vec::new();
    let mut passed = 0;
    for path in &flows {
        let (result, title, transcript) = replay_file(path);
        match result {
            FileResult::Passed => passed += 1,
            FileResult::Failed(f) => failures.push(format!(
                "FAIL {}: {title}: {f}\n{transcript}",
                path.display()
            )),
            FileResult::Unusable(r) => failures.push(format!("ERROR {}: {r}", path.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(passed, flows.len());
}

#[test]
fn a_broken_copy_of_each_real_server_flow_fails() {
    for (name, from, to) in REAL_SERVER_FLOWS {
        let text = std::fs::read_to_string(flows_dir().join(name)).unwrap();
        assert!(text.contains(from), "{name}: `{from}` not found");
        let broken = text.replace(from, to);
        match replay_text(&format!("broken-{name}"), &broken) {
            FileResult::Failed(_) => {}
            other => panic!("{name}: the broken copy should fail, got {other:?}"),
        }
    }
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

#[test]
fn a_password_that_differs_is_reported_without_either_password() {
    let flow = std::fs::read_to_string(flows_dir().join("login-logout.flow")).unwrap();
    let broken = flow.replacen(
        "    AgentPassword: pw4020\n",
        "    AgentPassword: hunter2\n",
        1,
    );
    assert_ne!(broken, flow);
    match replay_text("password-differs", &broken) {
        FileResult::Failed(f) => {
            let text = f.to_string();
            assert!(text.contains("AgentPassword"), "{text}");
            assert!(
                !text.contains("hunter2") && !text.contains("pw4020"),
                "a password leaked: {text}"
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}
