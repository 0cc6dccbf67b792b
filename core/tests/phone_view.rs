//! The phone's view (`Phone::view`): what a screen reads, checked against what the server
//! said; the frame tap; the reconnect back-off as the phone applies it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod phone_support;

use ccx_cti::config::{ReasonKind, Vocabulary};
use ccx_cti::phone::{
    AgentReason, CommandKind, Duration, FrameDirection, Instant, SessionEndReason, SessionState,
    TransportAction,
};
use ccx_cti::wire::{tag, AgentState, EventReasonCode, LocalConnectionState as Lcs, MessageType};
use phone_support::*;

fn open() -> Harness {
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    h
}

fn kinds(h: &Harness) -> Vec<(CommandKind, Option<u32>)> {
    h.phone
        .view()
        .valid_commands()
        .map(|v| (v.kind, v.call))
        .collect()
}

#[test]
fn a_call_shows_its_numbers_variables_and_times() {
    let mut h = open();
    h.advance_secs(3);
    h.feed(&frame(
        MessageType::BeginCallEvent,
        &[
            ("ConnectionCallID", 77),
            ("CallType", CALLTYPE_ACD_IN),
            ("ConnectionDeviceType", 0),
        ],
        &[
            (tag::CONNECTION_DEVICE_ID, "4020"),
            (tag::ANI, "5551234"),
            (tag::DNIS, "8000"),
            (tag::DIALED_NUMBER, "8001"),
            (tag::CALL_VAR1, "gold"),
            (tag::CALL_VAR10, "last"),
            (tag::CALL_WRAPUP_DATA, "sale"),
        ],
        &[("user.layout", "OODefault")],
    ));
    h.feed(&call_event(
        MessageType::CallEstablishedEvent,
        77,
        LCS_CONNECT,
        "4020",
    ));
    h.advance_secs(2);
    h.feed(&call_event(
        MessageType::CallHeldEvent,
        77,
        LCS_HOLD,
        "4020",
    ));
    let view = h.phone.view();
    let call = view.call(77).unwrap();
    assert_eq!(call.ani.as_str(), "5551234");
    assert_eq!(call.dnis.as_str(), "8000");
    assert_eq!(call.dialed_number.as_str(), "8001");
    assert_eq!(call.wrap_up.as_str(), "sale");
    assert_eq!(call.call_var(1), Some("gold"));
    assert_eq!(call.call_var(10), Some("last"));
    assert_eq!(call.call_var(2), None);
    assert_eq!(call.call_var(0), None);
    assert_eq!(call.call_var(11), None);
    assert_eq!(
        call.ecc_vars().collect::<Vec<_>>(),
        [("user.layout", "OODefault")]
    );
    assert_eq!(call.since, Instant::from_secs(3));
    assert_eq!(call.state, Lcs::Hold);
    assert_eq!(call.held_since, Some(Instant::from_secs(5)));
    // Retrieved: no longer held.
    h.advance_secs(1);
    h.feed(&call_event(
        MessageType::CallRetrievedEvent,
        77,
        LCS_CONNECT,
        "4020",
    ));
    assert_eq!(h.phone.view().call(77).unwrap().held_since, None);
}

#[test]
fn the_preview_contact_is_a_card() {
    let mut h = open();
    h.feed(&begin_call(
        16_800_097,
        CALLTYPE_RESERVATION,
        &[
            ("BACampaign", "LoadCamp"),
            ("BACampaignID", ""),
            ("BAStatus", "DO"),
            ("BAAccountNumber", "AC111"),
            ("BADialedListID", "20779"),
            ("BABuddyName", "John,Doe"),
            ("BAPhoneNumber", "5550100"),
        ],
    ));
    h.feed(&call_event(
        MessageType::CallDeliveredEvent,
        16_800_097,
        LCS_ALERTING,
        "4020",
    ));
    let view = h.phone.view();
    let card = view.preview().expect("a preview card");
    assert_eq!(card.call, 16_800_097);
    assert_eq!(card.name, Some("John,Doe"));
    assert_eq!(card.number, Some("5550100"));
    assert_eq!(card.account, Some("AC111"));
    assert_eq!(card.campaign, Some("LoadCamp"));
    assert_eq!(card.campaign_id, None, "an empty BACampaignID is no value");
    assert_eq!(card.dialed_list_id, Some("20779"));
    // The reservation is answered by a preview answer, never by Answer.
    let valid = kinds(&h);
    assert!(
        valid.contains(&(CommandKind::Preview, Some(16_800_097))),
        "{valid:?}"
    );
    assert!(
        !valid.iter().any(|(k, _)| *k == CommandKind::Answer),
        "{valid:?}"
    );
    assert_eq!(view.preview_answers().len(), 6);
    assert_eq!(
        view.check(CommandKind::Answer),
        Err(ccx_cti::phone::CommandError::NoSuchCall)
    );
}

#[test]
fn valid_commands_follow_the_session_the_agent_and_the_calls() {
    let mut h = Harness::new(config());
    let view = h.phone.view();
    assert!(view.check(CommandKind::Ready).is_err());
    assert_eq!(view.session.next_attempt, Some(Instant::ZERO));
    h.open(AVAILABLE);
    let valid = kinds(&h);
    for kind in [
        CommandKind::Logout,
        CommandKind::NotReady,
        CommandKind::Dial,
    ] {
        assert!(valid.contains(&(kind, None)), "{kind:?} in {valid:?}");
    }
    assert!(
        !valid.iter().any(|(k, _)| *k == CommandKind::Login),
        "{valid:?}"
    );
    assert!(
        !valid.iter().any(|(k, _)| *k == CommandKind::Hold),
        "{valid:?}"
    );
    h.feed(&begin_call(5, CALLTYPE_ACD_IN, &[]));
    h.feed(&call_event(
        MessageType::CallDeliveredEvent,
        5,
        LCS_ALERTING,
        "4020",
    ));
    assert!(kinds(&h).contains(&(CommandKind::Answer, Some(5))));
    h.feed(&call_event(
        MessageType::CallEstablishedEvent,
        5,
        LCS_CONNECT,
        "4020",
    ));
    let valid = kinds(&h);
    assert!(valid.contains(&(CommandKind::Hold, Some(5))), "{valid:?}");
    assert!(
        valid.contains(&(CommandKind::Release, Some(5))),
        "{valid:?}"
    );
    assert!(
        !valid.iter().any(|(k, _)| *k == CommandKind::Transfer),
        "{valid:?}"
    );
    // A held call and a consult call: transfer and conference act on the connected one.
    h.feed(&call_event(MessageType::CallHeldEvent, 5, LCS_HOLD, "4020"));
    h.feed(&begin_call(6, CALLTYPE_ACD_IN, &[]));
    h.feed(&call_event(
        MessageType::CallEstablishedEvent,
        6,
        LCS_CONNECT,
        "4020",
    ));
    let valid = kinds(&h);
    assert!(
        valid.contains(&(CommandKind::Transfer, Some(6))),
        "{valid:?}"
    );
    assert!(
        valid.contains(&(CommandKind::Retrieve, Some(5))),
        "{valid:?}"
    );
    // What the view says is what the phone does.
    for kind in CommandKind::ALL {
        let said = h.phone.view().check(kind);
        let command = match kind {
            CommandKind::Hold => ccx_cti::phone::Command::Hold { call: None },
            CommandKind::Answer => ccx_cti::phone::Command::Answer { call: None },
            CommandKind::Preview => {
                ccx_cti::phone::Command::Preview(ccx_cti::phone::PreviewAnswer::Skip)
            }
            _ => continue,
        };
        let done = h.phone.command(h.now, command);
        assert_eq!(
            said.is_ok(),
            done.is_ok(),
            "{kind:?}: view {said:?}, phone {done:?}"
        );
    }
}

/// The agent's reason as a person reads it after AGENT_STATE_EVENT with that EventReasonCode.
fn reason_text(state: u32, code: u32, vocabulary: &Vocabulary<4>) -> Option<String> {
    let mut h = open();
    h.feed(&agent_state_event(state, code));
    let view = h.phone.view_with(vocabulary);
    view.agent.reason_text().map(|t| t.to_string())
}

#[test]
fn a_reason_shows_by_its_words_its_label_or_its_number() {
    let mut vocabulary: Vocabulary<4> = Vocabulary::new();
    vocabulary.add(ReasonKind::NotReady, 12, "Lunch").unwrap();
    vocabulary.add(ReasonKind::Logout, 12, "Home time").unwrap();
    // A system reason: Unified CCX's own words, never a number.
    assert_eq!(
        reason_text(NOT_READY, 32760, &vocabulary).as_deref(),
        Some("Logged in")
    );
    assert_eq!(
        reason_text(NOT_READY, 32763, &vocabulary).as_deref(),
        Some("Call not answered")
    );
    // The administrator's code: its label from the list of the agent's state.
    assert_eq!(
        reason_text(NOT_READY, 12, &vocabulary).as_deref(),
        Some("Lunch")
    );
    assert_eq!(
        reason_text(LOGOUT, 12, &vocabulary).as_deref(),
        Some("Home time")
    );
    // A code nobody named (32748 is in the system's band but not in its table): its number.
    assert_eq!(
        reason_text(NOT_READY, 7, &vocabulary).as_deref(),
        Some("reason 7")
    );
    assert_eq!(
        reason_text(NOT_READY, 32748, &vocabulary).as_deref(),
        Some("reason 32748")
    );
    // A label for a system code is the site's wording of it.
    vocabulary
        .add(ReasonKind::NotReady, 32763, "Missed a call")
        .unwrap();
    assert_eq!(
        reason_text(NOT_READY, 32763, &vocabulary).as_deref(),
        Some("Missed a call")
    );
    // No reason, or a state the reason does not explain: nothing to show.
    assert_eq!(reason_text(NOT_READY, 0, &vocabulary), None);
    assert_eq!(reason_text(AVAILABLE, 32751, &vocabulary), None);
}

#[test]
fn a_reason_code_sorts_into_its_kind_and_back_unchanged() {
    for code in [
        0,
        1,
        7,
        12,
        32740,
        32741,
        32748,
        32760,
        32766,
        32767,
        32768,
        u16::MAX,
    ] {
        assert_eq!(AgentReason::from_code(code).code(), code, "{code}");
        let wire = EventReasonCode::from(AgentReason::from_code(code));
        assert_eq!(wire.value(), code, "{code}");
    }
    assert_eq!(AgentReason::from_code(0), AgentReason::None);
    assert!(matches!(
        AgentReason::from_code(32751),
        AgentReason::System(EventReasonCode::Skips)
    ));
    assert!(matches!(
        AgentReason::from_code(32748),
        AgentReason::Configured(32748)
    ));
    assert!(matches!(
        AgentReason::from(EventReasonCode::Unknown(0)),
        AgentReason::None
    ));
    // Equal by code, however it was made.
    assert_eq!(
        AgentReason::Configured(32760),
        AgentReason::System(EventReasonCode::Logon)
    );
    assert_eq!(AgentReason::Configured(32760).words(), Some("Logged in"));
    // Without a vocabulary.
    assert_eq!(AgentReason::Configured(12).to_string(), "reason 12");
    assert_eq!(AgentReason::None.to_string(), "no reason");
    assert_eq!(
        AgentReason::System(EventReasonCode::Skips).to_string(),
        "Preview call skipped"
    );
}

#[test]
fn the_agent_shows_its_reason_label_and_the_change_in_flight() {
    let mut h = open();
    let mut vocabulary: Vocabulary<4> = Vocabulary::new();
    vocabulary.add(ReasonKind::NotReady, 12, "Lunch").unwrap();
    h.advance_secs(7);
    h.feed(&agent_state_event(NOT_READY, 12));
    let view = h.phone.view_with(&vocabulary);
    assert_eq!(view.agent.state, AgentState::NotReady);
    assert_eq!(view.agent.reason, AgentReason::Configured(12));
    assert_eq!(view.agent.reason_label, Some("Lunch"));
    assert_eq!(view.agent.since, Instant::from_secs(7));
    assert_eq!(
        h.phone.view().agent.reason_label,
        None,
        "no vocabulary, no label"
    );
    let invoke = h
        .phone
        .command(h.now, ccx_cti::phone::Command::Ready)
        .unwrap();
    let pending = h.phone.view().agent.pending.expect("a change in flight");
    assert_eq!(pending.invoke_id, invoke);
    assert_eq!(pending.state, AgentState::Available);
    assert_eq!(h.phone.view().requests().len(), 1);
    h.feed(&conf(MessageType::SetAgentStateConf, invoke.value()));
    assert_eq!(h.phone.view().agent.pending, None);
    assert!(h.phone.view().requests().is_empty());
}

#[test]
fn the_tap_sees_every_frame_both_ways_with_its_time() {
    let mut h = Harness::new(config());
    let mut seen: Vec<(FrameDirection, Instant, Vec<u8>)> = Vec::new();
    let mut tap = |d: FrameDirection, at: Instant, f: &[u8]| seen.push((d, at, f.to_vec()));
    h.connect();
    let mut buf = [0u8; 1024];
    let n = h
        .phone
        .poll_transmit_tapped(Instant::from_millis(5), &mut buf, &mut tap)
        .unwrap();
    let invoke = decoded(&buf[..n]).invoke_id().unwrap();
    let reply = frame(
        MessageType::OpenConf,
        &[("InvokeID", invoke), ("ServicesGranted", 7)],
        &[],
        &[],
    );
    // Two frames in one read, the second cut in two.
    let heartbeat = conf(MessageType::HeartbeatConf, 99);
    let mut bytes = reply.clone();
    bytes.extend_from_slice(&heartbeat[..5]);
    let at = Instant::from_millis(9);
    h.phone.handle_bytes_tapped(at, &bytes, &mut tap);
    h.phone.handle_bytes_tapped(at, &heartbeat[5..], &mut tap);
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(
        seen[0],
        (
            FrameDirection::Sent,
            Instant::from_millis(5),
            buf[..n].to_vec()
        )
    );
    assert_eq!(seen[1], (FrameDirection::Received, at, reply));
    assert_eq!(seen[2], (FrameDirection::Received, at, heartbeat));
    assert_eq!(h.phone.session().state, SessionState::Open);
}

#[test]
fn peek_transport_tells_without_taking_the_action() {
    let mut h = Harness::new(config());
    let now = Instant::ZERO;
    let peeked = h.phone.peek_transport(now);
    assert_eq!(peeked, Some(TransportAction::Connect { server: 0 }));
    assert_eq!(h.phone.peek_transport(now), peeked);
    assert_eq!(h.phone.session().state, SessionState::Disconnected);
    assert_eq!(h.phone.poll_transport(now), peeked);
    assert_eq!(h.phone.session().state, SessionState::Connecting);
    assert_eq!(h.phone.peek_transport(now), None);
}

/// The first retry keeps `reconnect_secs` (flows rely on it); later ones grow, shortened by
/// the seed's jitter, and an opened session starts the count again.
#[test]
fn reconnect_waits_grow_after_the_first_and_reset_when_a_session_opens() {
    let mut c = config();
    c.reconnect_secs = 4;
    c.reconnect_seed = 0x1234_5678;
    let mut h = Harness::new(c);
    let mut waits = Vec::new();
    for _ in 0..5 {
        assert!(matches!(
            h.phone.poll_transport(h.now),
            Some(TransportAction::Connect { .. })
        ));
        h.phone.connect_failed(h.now);
        let view = h.phone.view();
        assert_eq!(view.session.last_end, Some(SessionEndReason::ConnectFailed));
        let at = view.session.next_attempt.unwrap();
        waits.push(at.saturating_duration_since(h.now));
        h.events();
        h.now = at;
    }
    assert_eq!(waits[0], Duration::from_secs(4), "{waits:?}");
    for pair in waits.windows(2) {
        assert!(pair[1] > pair[0], "waits must grow: {waits:?}");
    }
    assert!(
        waits[1] <= Duration::from_secs(8) && waits[1] > Duration::from_secs(6),
        "{waits:?}"
    );
    assert_eq!(h.phone.view().session.failures, 5);
    h.open(AVAILABLE);
    assert_eq!(h.phone.view().session.failures, 0);
    h.phone.disconnected(h.now);
    let next = h.phone.view().session.next_attempt.unwrap();
    assert_eq!(
        next.saturating_duration_since(h.now),
        Duration::from_secs(4)
    );
}

/// The README's RAM budget: the default phone within 8 KiB without its frame buffer (its
/// `FrameAccumulator`, 12,520 bytes by default); a snapshot of it costs about as much again.
/// The numbers printed here are the README's.
#[test]
fn the_default_phone_fits_its_ram_budget() {
    use ccx_cti::phone::{Engine, Phone, PhoneSnapshot};
    use ccx_cti::wire::FrameAccumulator;
    use core::mem::size_of;
    let engine = size_of::<Engine>();
    let phone = size_of::<Phone>();
    ccx_cti::phone_type! {
        type SmallPhone = Phone {
            calls: 1, var_bytes: 128, pending: 2, tx_bytes: 256, events: 4, frame_bytes: 2048,
        };
    }
    let small = size_of::<SmallPhone>();
    let small_frame = size_of::<FrameAccumulator<2048>>();
    let snapshot = size_of::<PhoneSnapshot>();
    let frame = size_of::<FrameAccumulator>();
    println!("Phone {phone} B (without its frame buffer {engine} B), SmallPhone (1 call, 128 B of variables, 2 pending, 256 B queue, 4 events, 2,048 B frames) {small} B, PhoneSnapshot {snapshot} B, FrameAccumulator {frame} B");
    assert!(
        engine <= 8 * 1024,
        "the default phone without its frame buffer takes {engine} bytes"
    );
    assert!(phone <= engine + frame + 8, "the phone takes {phone} bytes");
    assert!(
        small - small_frame <= 2560,
        "the smallest useful phone takes {small} bytes"
    );
    assert!(snapshot <= engine, "a snapshot takes {snapshot} bytes");
}

/// The README's per-capacity costs.
#[test]
fn per_capacity_costs_are_as_the_readme_says() {
    use ccx_cti::phone::{Call, Event, PendingRequest, Phone};
    use core::mem::size_of;
    let call = size_of::<Phone<2, 0, 1, 0, 1>>() - size_of::<Phone<1, 0, 1, 0, 1>>();
    println!(
        "call {call} (Call<0> {}), pending {}, event {}",
        size_of::<Call<0>>(),
        size_of::<PendingRequest>(),
        size_of::<Event>()
    );
    assert!(call <= 416, "a call costs {call} bytes");
    assert!(size_of::<PendingRequest>() <= 24);
    assert!(size_of::<Event>() <= 48);
}

/// A transmit buffer shorter than the next frame used to stall the queue without a word.
#[test]
fn a_transmit_buffer_too_small_is_reported_once_and_the_frame_kept() {
    let mut h = Harness::new(config());
    h.connect();
    let needed = h.phone.next_transmit_len().unwrap();
    let mut small = [0u8; 16];
    assert_eq!(h.phone.poll_transmit(&mut small), None);
    assert_eq!(h.phone.poll_transmit(&mut small), None);
    assert_eq!(
        h.events(),
        [ccx_cti::phone::Event::TransmitBufferTooSmall {
            needed,
            capacity: 16
        }],
        "reported once per frame"
    );
    let mut big = [0u8; 1024];
    assert_eq!(h.phone.poll_transmit(&mut big), Some(needed));
}
