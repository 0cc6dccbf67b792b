//! The phone (through the std driver) against the simulator over loopback TCP: the demo
//! story, every preview answer, an inbound call through hold, consult, transfer and
//! conference, failover from side A to side B, a simulator restart, and the behaviours of a
//! real server the simulator plays (the fault flags are in `phone_sim_faults.rs`).
//! Every wait is bounded; nothing asserts on wall-clock durations.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::{Duration, Instant};

use ccx_cti::config::HeartbeatMode;
use ccx_cti::phone::{
    AgentReason, Event, PreviewAnswer, RequestKind, SessionEndReason, SessionState,
};
use ccx_cti::wire::{AgentState, EventReasonCode, LocalConnectionState, StatusCode};
use ccx_cti_std::demo::{self, DemoOptions};
use ccx_cti_std::driver::AgentCommand;
use ccx_cti_std::sim::{
    HeartbeatRule, HeartbeatRuleMode, InboundCall, Scene, SimConfig, Simulator,
};

mod support;
use support::*;

#[test]
fn the_demo_story_completes() {
    let mut out = Vec::new();
    let report = demo::run(
        &DemoOptions {
            trace: true,
            ..DemoOptions::default()
        },
        &mut out,
    );
    let text = String::from_utf8(out).unwrap();
    assert!(report.completed(), "{:?}\n{text}", report.failure);
    assert!(text.contains("phone -> server\nMsgType: OPEN_REQ"));
    assert!(text.contains("BAResponse: Skip"));
    assert!(text.contains("BAResponse: Accept"));
    assert!(text.contains("MsgType: CLOSE_CONF"));
    assert!(text.contains("contact answers: accepted 1, skipped 1"));
}

#[test]
fn the_demo_story_completes_at_versions_10_and_18() {
    for version in [10, 18] {
        let mut out = Vec::new();
        let report = demo::run(
            &DemoOptions {
                trace: true,
                version,
                ..DemoOptions::default()
            },
            &mut out,
        );
        let text = String::from_utf8_lossy(&out);
        assert!(
            report.completed(),
            "version {version}: {:?}\n{text}",
            report.failure,
        );
        // The story ran at that version: the phone asked for it and both answers went out.
        assert!(
            text.contains(&format!("VersionNumber: {version}\n")),
            "version {version} not asked for:\n{text}"
        );
        assert!(text.contains("BAResponse: Skip"), "{text}");
        assert!(text.contains("BAResponse: Accept"), "{text}");
    }
}

/// Offer one contact, answer it, and check both sides.
fn answer_preview(answer: PreviewAnswer) -> (Simulator, TestPhone) {
    let sim = campaign_sim(1);
    let mut phone = TestPhone::start(config(&[sim.addr()]));
    phone.login_ready();
    let view = phone.wait("a preview offer", |v| v.preview.is_some());
    let call = view.preview.unwrap();
    assert_eq!(view.call(call).unwrap().var("BAStatus"), Some("DO"));
    assert_eq!(view.agent.state, AgentState::Reserved);
    phone.press(AgentCommand::Preview(answer));
    phone.wait("the reservation to go", |v| {
        v.call(call).is_none() && v.preview.is_none()
    });
    (sim, phone)
}

#[test]
fn accept_then_reclassify_and_callback() {
    let (sim, mut phone) = answer_preview(PreviewAnswer::Accept);
    let view = phone.wait("the customer call", |v| {
        v.agent.state == AgentState::Talking
            && v.calls.iter().any(|c| c.var("BAStatus") == Some("CO"))
    });
    let customer = view.calls[0].id;
    agree(&sim, &view);
    phone.press(cmd("preview reclassify REX_ANS_MACHINE"));
    let end = Instant::now() + LIMIT;
    while sim.contacts()[0].outcome != "REX_ANS_MACHINE" {
        assert!(Instant::now() < end, "{:?}", sim.contacts());
        phone.pump();
    }
    phone.press(cmd("preview callback 12312026 09:30"));
    while sim.contacts()[0].callback.is_none() {
        assert!(Instant::now() < end, "{:?}", sim.contacts());
        phone.pump();
    }
    assert_eq!(
        sim.contacts()[0].callback.as_deref(),
        Some("12312026 09:30")
    );
    phone.press(AgentCommand::Release {
        call: Some(customer),
    });
    let view = phone.state(AgentState::WorkNotReady);
    assert!(view.calls.is_empty());
    agree(&sim, &view);
    assert_eq!(sim.contacts()[0].status, "dialed");
}

#[test]
fn reject_keeps_the_contact_for_a_retry() {
    let (sim, mut phone) = answer_preview(PreviewAnswer::Reject);
    let view = phone.state(AgentState::Available);
    agree(&sim, &view);
    let c = &sim.contacts()[0];
    assert_eq!(
        (c.status.as_str(), c.outcome.as_str()),
        ("open", "rejected")
    );
}

#[test]
fn reject_close_closes_the_contact() {
    let (sim, mut phone) = answer_preview(PreviewAnswer::RejectClose);
    let view = phone.state(AgentState::Available);
    agree(&sim, &view);
    assert_eq!(sim.contacts()[0].status, "closed");
}

#[test]
fn skip_makes_the_agent_available_again() {
    let (sim, mut phone) = answer_preview(PreviewAnswer::Skip);
    let view = phone.state(AgentState::Available);
    agree(&sim, &view);
    let c = &sim.contacts()[0];
    assert_eq!((c.status.as_str(), c.outcome.as_str()), ("open", "skipped"));
}

#[test]
fn skip_close_closes_the_contact() {
    let (sim, mut phone) = answer_preview(PreviewAnswer::SkipClose);
    let view = phone.state(AgentState::Available);
    agree(&sim, &view);
    assert_eq!(sim.contacts()[0].status, "closed");
}

#[test]
fn cancel_reservation_makes_the_agent_not_ready() {
    let (sim, mut phone) = answer_preview(PreviewAnswer::CancelReservation);
    let view = phone.wait("not ready for cancel reservation", |v| {
        v.agent.state == AgentState::NotReady
            && v.agent.reason == AgentReason::System(EventReasonCode::CancelReservation)
    });
    agree(&sim, &view);
    assert_eq!(sim.contacts()[0].outcome, "reservation-cancelled");
}

fn ringing(phone: &mut TestPhone, sim: &Simulator) -> u32 {
    phone.state(AgentState::Available);
    sim.offer_call(InboundCall::default());
    let view = phone.wait("a ringing call", |v| {
        v.calls
            .iter()
            .any(|c| c.state == LocalConnectionState::Alerting)
    });
    assert_eq!(view.calls[0].ani, "5551234");
    view.calls[0].id
}

#[test]
fn inbound_call_hold_consult_conference_then_transfer() {
    let sim = Simulator::start(SimConfig::loopback()).unwrap();
    let mut phone = TestPhone::start(config(&[sim.addr()]));
    phone.login_ready();

    // First call: answer, hold, retrieve, consult, conference, release.
    let call = ringing(&mut phone, &sim);
    phone.press(AgentCommand::Answer { call: None });
    phone.wait("talking", |v| {
        v.agent.state == AgentState::Talking
            && v.call(call)
                .is_some_and(|c| c.state == LocalConnectionState::Connect)
    });
    phone.press(AgentCommand::Hold { call: None });
    phone.wait("held", |v| {
        v.call(call)
            .is_some_and(|c| c.state == LocalConnectionState::Hold)
    });
    phone.press(AgentCommand::Retrieve { call: None });
    phone.wait("retrieved", |v| {
        v.call(call)
            .is_some_and(|c| c.state == LocalConnectionState::Connect)
    });
    phone.press(cmd("dtmf 123#"));
    phone.press(cmd("consult 5000"));
    let view = phone.wait("a consult call", |v| {
        v.calls.len() == 2
            && v.call(call)
                .is_some_and(|c| c.state == LocalConnectionState::Hold)
            && v.calls
                .iter()
                .any(|c| c.id != call && c.state == LocalConnectionState::Connect)
    });
    agree(&sim, &view);
    phone.press(AgentCommand::Conference);
    let view = phone.wait("the conference", |v| {
        v.calls.len() == 1
            && v.call(call)
                .is_some_and(|c| c.state == LocalConnectionState::Connect)
    });
    agree(&sim, &view);
    phone.press(AgentCommand::Release { call: None });
    let view = phone.wait("wrap-up", |v| {
        v.calls.is_empty() && v.agent.state == AgentState::WorkNotReady
    });
    agree(&sim, &view);

    // Second call: consult, then transfer.
    phone.press(AgentCommand::Ready);
    let call = ringing(&mut phone, &sim);
    phone.press(AgentCommand::Answer { call: Some(call) });
    phone.wait("talking", |v| v.agent.state == AgentState::Talking);
    phone.press(cmd("consult 5001"));
    phone.wait("a consult call", |v| v.calls.len() == 2);
    phone.press(AgentCommand::Transfer);
    let view = phone.wait("the transfer", |v| {
        v.calls.is_empty() && v.agent.state == AgentState::WorkNotReady
    });
    agree(&sim, &view);
    let c = sim.counters();
    assert_eq!(
        (c.conferences, c.transfers, c.consults, c.dtmf),
        (1, 1, 2, 1)
    );
}

#[test]
fn failover_to_side_b_keeps_the_agent_state() {
    let a = Simulator::start(SimConfig::loopback()).unwrap();
    let b = Simulator::start_pair_of(
        &a,
        SimConfig {
            standby: true,
            peer: Some(a.addr().to_string()),
            probe_interval_ms: 50,
            probe_failures: 2,
            ..SimConfig::loopback()
        },
    )
    .unwrap();
    assert!(!b.is_master());
    let mut phone = TestPhone::start(config(&[a.addr(), b.addr()]));
    phone.login_ready();
    let before = phone.state(AgentState::Available);
    assert_eq!(before.session.server, 0);
    a.stop();
    phone.wait("a session on side B", |v| {
        v.session.state == SessionState::Open && v.session.server == 1
    });
    assert!(b.is_master());
    let view = phone.wait("the agent state after failover", |v| {
        v.agent.state == AgentState::Available
    });
    assert_eq!(view.session.server, 1);
    agree(&b, &view);
    // Side B works: a call rings on the phone.
    ringing(&mut phone, &b);
}

#[test]
fn a_restarted_simulator_is_found_again() {
    let first = Simulator::start(SimConfig::loopback()).unwrap();
    let addr = first.addr();
    let mut phone = TestPhone::start(config(&[addr]));
    phone.login_ready();
    phone.state(AgentState::Available);
    first.stop();
    drop(first);
    phone.wait_event("the session loss", |e| {
        matches!(e, Event::SessionLost { .. })
    });
    let second = Simulator::start(SimConfig {
        listen: addr.to_string(),
        ..SimConfig::default()
    })
    .unwrap();
    // The new server knows nothing of the agent: the phone takes its word for it.
    let view = phone.wait("a new session and the fresh agent state", |v| {
        v.session.state == SessionState::Open && v.agent.state == AgentState::Logout
    });
    agree(&second, &view);
    phone.press(AgentCommand::Login { password: None });
    let view = phone.state(AgentState::NotReady);
    agree(&second, &view);
}

/// A logged-in, available phone on a simulator started with `sim`.
fn real_server(sim: SimConfig, version: u8) -> (Simulator, TestPhone) {
    let sim = Simulator::start(sim).unwrap();
    let mut cfg = config(&[sim.addr()]);
    cfg.protocol_version = version;
    let mut phone = TestPhone::start(cfg);
    phone.login_ready();
    phone.state(AgentState::Available);
    (sim, phone)
}

fn unknown_call(e: &Event) -> bool {
    matches!(e, Event::UnknownCall { .. })
}

// https://developer.cisco.com/docs/contact-center-express/call_established_event
#[test]
fn sim_two_calls_share_a_call_id() {
    let (sim, mut phone) = real_server(SimConfig::loopback(), 17);
    let secondary = "4021".to_string();
    let id = sim
        .play("chli4020", &Scene::SharedCallId { secondary })
        .unwrap();
    let view = phone.wait("two connected calls with one CallID", |v| {
        v.calls.len() == 2
            && v.calls
                .iter()
                .all(|c| c.id == id && c.state == LocalConnectionState::Connect)
    });
    let mut devices: Vec<&str> = view.calls.iter().map(|c| c.device_id.as_str()).collect();
    devices.sort_unstable();
    assert_eq!(devices, ["4020", "4020.4021"]);
    assert_eq!(phone.count(unknown_call), 0, "{:?}", phone.events);
}

// https://developer.cisco.com/docs/contact-center-express/example-message-flow-for-a-conferenced-call
#[test]
fn sim_the_guides_conference_is_one_call() {
    let (sim, mut phone) = real_server(SimConfig::loopback(), 17);
    let primary = sim.play("chli4020", &Scene::Conference).unwrap();
    // The HELD under the third CallID reaches the conference.
    phone.wait("the conference on hold", |v| {
        v.calls.len() == 1
            && v.call(primary)
                .is_some_and(|c| c.state == LocalConnectionState::Hold && c.call_type.value() == 15)
    });
    assert_eq!(phone.count(unknown_call), 0, "{:?}", phone.events);
    assert_eq!(sim.counters().conferences, 1);
}

// https://developer.cisco.com/docs/contact-center-express/primary-actual-field-format
#[test]
fn sim_a_call_on_the_secondary_line() {
    let (sim, mut phone) = real_server(SimConfig::loopback(), 16);
    let secondary = "4021".to_string();
    let id = sim
        .play("chli4020", &Scene::SecondaryLine { secondary })
        .unwrap();
    let view = phone.wait("the call ringing on the secondary line", |v| {
        v.call(id)
            .is_some_and(|c| c.state == LocalConnectionState::Alerting)
    });
    assert_eq!(view.call(id).unwrap().device_id, "4020.4021");
    assert_eq!(view.call(id).unwrap().dnis, "4020.4021");
}

// https://developer.cisco.com/docs/contact-center-express/system_event and
// https://developer.cisco.com/docs/contact-center-express/connect-cti-sessions-in-a-clustered-unified-ccx
#[test]
fn sim_system_event_out_of_service_moves_the_phone_to_the_next_node() {
    let a = Simulator::start(SimConfig::loopback()).unwrap();
    let b = Simulator::start_pair_of(
        &a,
        SimConfig {
            standby: true,
            ..SimConfig::loopback()
        },
    )
    .unwrap();
    let mut phone = TestPhone::start(config(&[a.addr(), b.addr()]));
    phone.login_ready();
    phone.state(AgentState::Available);
    // The instrument first: shown, the session stays.
    assert_eq!(a.play("chli4020", &Scene::InstrumentOutOfService), None);
    phone.wait_event("the instrument out of service", |e| {
        *e == Event::InstrumentService { in_service: false }
    });
    assert_eq!(phone.handle.view().session.state, SessionState::Open);
    // Then the node: CCX_OUT_OF_SERVICE.
    assert_eq!(a.report_out_of_service(0x600, 0), 1);
    b.promote();
    phone.wait_event("the session closed for the status", |e| {
        matches!(
            e,
            Event::SessionLost {
                reason: SessionEndReason::ServerOutOfService {
                    status: ccx_cti::wire::CCXStatus::OutOfService,
                },
                ..
            }
        )
    });
    let view = phone.wait("a session on side B", |v| {
        v.session.state == SessionState::Open && v.session.server == 1
    });
    agree(&b, &view);
}

// https://developer.cisco.com/docs/contact-center-express/set_agent_state_req
#[test]
fn sim_agent_device_selection_wants_the_active_terminal_at_a_v18_login() {
    let strict = || SimConfig {
        require_active_terminal: true,
        ..SimConfig::loopback()
    };
    let sim = Simulator::start(strict()).unwrap();
    let mut cfg = config(&[sim.addr()]);
    cfg.protocol_version = 18;
    let mut phone = TestPhone::start(cfg.clone());
    phone.wait("an open session", |v| v.session.state == SessionState::Open);
    phone.press(AgentCommand::Login { password: None });
    phone.wait_event("the refused login", |e| {
        matches!(
            e,
            Event::RequestFailed {
                request: RequestKind::SetAgentState,
                ..
            }
        )
    });
    assert_eq!(phone.handle.view().agent.state, AgentState::Logout);
    drop(phone);
    cfg.active_terminal = "SEP00AABBCCDDEE".try_into().unwrap();
    let mut phone = TestPhone::start(cfg);
    phone.login_ready();
    phone.state(AgentState::Available);
    assert_eq!(
        sim.active_terminal("chli4020").as_deref(),
        Some("SEP00AABBCCDDEE")
    );
}

/// A phone with 1 s heartbeats in `mode` that sends a request every 300 ms for 3 s against a
/// simulator enforcing `rule`; how many sessions the simulator closed for the rule.
fn heartbeat_rule_broken(rule: HeartbeatRuleMode, mode: HeartbeatMode) -> u64 {
    let sim = Simulator::start(SimConfig {
        heartbeat_rule: Some(HeartbeatRule {
            mode: rule,
            interval_ms: 1000,
        }),
        ..SimConfig::loopback()
    })
    .unwrap();
    let mut cfg = config(&[sim.addr()]);
    cfg.heartbeat_secs = 1;
    cfg.heartbeat_mode = mode;
    let mut phone = TestPhone::start(cfg);
    phone.login_ready();
    phone.state(AgentState::Available);
    for i in 0..10 {
        let c = if i % 2 == 0 { "not-ready" } else { "ready" };
        phone.press(cmd(c));
        std::thread::sleep(Duration::from_millis(300));
        phone.pump();
    }
    sim.counters().heartbeat_rule_broken
}

// https://developer.cisco.com/docs/contact-center-express/how-a-session-is-maintained
#[test]
fn sim_enforces_the_when_idle_heartbeat_rule() {
    assert!(heartbeat_rule_broken(HeartbeatRuleMode::WhenIdle, HeartbeatMode::Always) >= 1);
    assert_eq!(
        heartbeat_rule_broken(HeartbeatRuleMode::WhenIdle, HeartbeatMode::WhenIdle),
        0
    );
}

// https://developer.cisco.com/docs/contact-center-express/how-a-session-is-maintained
#[test]
fn sim_enforces_the_always_heartbeat_rule() {
    assert!(heartbeat_rule_broken(HeartbeatRuleMode::Always, HeartbeatMode::WhenIdle) >= 1);
    assert_eq!(
        heartbeat_rule_broken(HeartbeatRuleMode::Always, HeartbeatMode::Always),
        0
    );
}

// https://developer.cisco.com/docs/contact-center-express/open_req: IdleTimeout under 120 s.
#[test]
fn sim_refuses_an_idle_timeout_the_rule_refuses() {
    let sim = Simulator::start(SimConfig::loopback()).unwrap();
    let mut cfg = config(&[sim.addr()]);
    cfg.idle_timeout_secs = 120;
    let mut phone = TestPhone::start(cfg);
    let invalid = StatusCode::InvalidTimeout.value();
    phone.wait_event("OPEN_REQ refused for its IdleTimeout", |e| {
        matches!(
            e,
            Event::SessionLost {
                reason: SessionEndReason::OpenRefused { status },
                ..
            } if status.value() == invalid
        )
    });
    assert!(sim.counters().sessions_refused >= 1);
}
