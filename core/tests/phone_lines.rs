//! The phone on a real Unified CCX server: calls sharing a CallID, the agent's lines in
//! "primary.actual" form, the conference's CallIDs, SYSTEM_EVENT and the v18 ActiveTerminal.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod phone_support;

use ccx_cti::config::HeartbeatMode;
use ccx_cti::phone::{Command, Event, Instant, Line, Phone, SessionState, TransportAction};
use ccx_cti::wire::{
    decode, fields, tag, AgentState, Encoder, LocalConnectionState, MessageType, WireVersion,
};
use phone_support::*;

/// A connection event at `connection` whose own device field (`role`) names `own`.
fn event(ty: MessageType, id: u32, lcs: u32, connection: &str, role: u16, own: &str) -> Vec<u8> {
    frame(
        ty,
        &[("ConnectionCallID", id), ("LocalConnectionState", lcs)],
        &[(tag::CONNECTION_DEVICE_ID, connection), (role, own)],
        &[],
    )
}

fn delivered(id: u32, device: &str) -> Vec<u8> {
    event(
        MessageType::CallDeliveredEvent,
        id,
        LCS_ALERTING,
        device,
        tag::ALERTING_DEVICE_ID,
        device,
    )
}

fn established(id: u32, connection: &str, answering: &str) -> Vec<u8> {
    event(
        MessageType::CallEstablishedEvent,
        id,
        LCS_CONNECT,
        connection,
        tag::ANSWERING_DEVICE_ID,
        answering,
    )
}

// https://developer.cisco.com/docs/contact-center-express/call_established_event: "When more
// than one call with the same CallID value exists, the connection being created by this
// CALL_ESTABLISHED_EVENT shall apply to the call that does not yet have a destination
// connection established."
#[test]
fn call_established_goes_to_the_call_without_a_destination_connection() {
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    h.feed(&delivered(9, "4020"));
    h.feed(&established(9, "4020", "4020"));
    // The same CallID rings on the secondary line: a second call.
    h.feed(&delivered(9, "4020.4021"));
    assert_eq!(h.phone.calls().count(), 2);
    // The server names the agent's primary device: the rule, not the device, decides.
    h.feed(&established(9, "6125550177", "4020"));
    let second = h.phone.call_at(9, "4020.4021").unwrap();
    assert_eq!(second.state, LocalConnectionState::Connect);
    assert_eq!(second.line, Line::Secondary);
    assert_eq!(second.actual_device(), "4021");
    let first = h.phone.call_at(9, "4020").unwrap();
    assert_eq!(first.state, LocalConnectionState::Connect);
    assert_eq!(first.line, Line::Primary);
    // A HELD on the secondary line touches that call only.
    h.feed(&event(
        MessageType::CallHeldEvent,
        9,
        LCS_HOLD,
        "4020.4021",
        tag::HOLDING_DEVICE_ID,
        "4020.4021",
    ));
    assert_eq!(
        h.phone.call_at(9, "4020.4021").unwrap().state,
        LocalConnectionState::Hold
    );
    assert_eq!(
        h.phone.call_at(9, "4020").unwrap().state,
        LocalConnectionState::Connect
    );
    // `retrieve 9` picks the held one of the two.
    h.events();
    h.sent();
    h.phone
        .command(h.now, Command::Retrieve { call: Some(9) })
        .unwrap();
    let req = h.sent_one(MessageType::RetrieveCallReq);
    assert_eq!(
        decoded(&req).string(tag::HELD_CONNECTION_DEVICE_ID),
        Some("4020.4021")
    );
    // CALL_CLEARED ends every call with the CallID.
    h.feed(&frame(
        MessageType::CallClearedEvent,
        &[("ConnectionCallID", 9)],
        &[(tag::CONNECTION_DEVICE_ID, "4020")],
        &[],
    ));
    assert_eq!(h.phone.calls().count(), 0);
}

// https://developer.cisco.com/docs/contact-center-express/example-message-flow-for-a-conferenced-call
#[test]
fn the_conference_answers_to_all_its_call_ids() {
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    h.feed(&delivered(16_777_541, "4020"));
    h.feed(&established(16_777_541, "4020", "4020"));
    h.events();
    h.feed(&frame(
        MessageType::CallDataUpdateEvent,
        &[
            ("ConnectionCallID", 16_777_539),
            ("CallType", 15),
            ("NewConnectionCallID", 0xFFFF_FFFF),
        ],
        &[(tag::CONNECTION_DEVICE_ID, "2005")],
        &[],
    ));
    let mut conferenced = vec![0u8; 512];
    let mut enc = Encoder::new(
        &mut conferenced,
        MessageType::CallConferencedEvent,
        WireVersion::DEFAULT,
    );
    use fields::call_conferenced_event as f;
    enc.set(f::PRIMARY_CALL_ID, 16_777_507)
        .set(f::SECONDARY_CALL_ID, 16_777_541)
        .set(
            f::LOCAL_CONNECTION_STATE,
            LocalConnectionState::from_value(3),
        );
    for device in ["2005", "2006", "4020"] {
        enc.number(tag::CONNECTED_PARTY_CALL_ID, 16_777_539)
            .number(tag::CONNECTED_PARTY_DEVICE_TYPE, 0)
            .string(tag::CONNECTED_PARTY_DEVICE_ID, device);
    }
    let n = enc.finish().unwrap();
    h.feed(&conferenced[..n]);
    let events = h.events();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::UnknownCall { .. })),
        "{events:?}"
    );
    assert_eq!(h.phone.calls().count(), 1);
    let call = h.phone.call(16_777_507).unwrap();
    assert_eq!(call.call_type.value(), 15);
    assert!(call.answers_to(16_777_539) && call.answers_to(16_777_541));
    h.feed(&call_event(
        MessageType::CallHeldEvent,
        16_777_539,
        LCS_HOLD,
        "4020",
    ));
    assert_eq!(
        h.phone.call(16_777_507).unwrap().state,
        LocalConnectionState::Hold
    );
    // The old consult leg's END_CALL leaves the conference; the agent's own clearing ends it.
    h.feed(&end_call(16_777_541));
    assert_eq!(h.phone.calls().count(), 1);
    h.feed(&call_event(
        MessageType::CallConnectionClearedEvent,
        16_777_539,
        LCS_NULL,
        "4020",
    ));
    assert_eq!(h.phone.calls().count(), 0);
    let events = h.events();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::UnknownCall { .. })),
        "{events:?}"
    );
}

// https://developer.cisco.com/docs/contact-center-express/system_event and
// https://developer.cisco.com/docs/contact-center-express/connect-cti-sessions-in-a-clustered-unified-ccx
#[test]
fn a_system_event_out_of_service_moves_to_the_next_node() {
    for (status, leaves) in [(0, false), (0x400, false), (0x500, true), (0x600, true)] {
        let mut h = Harness::new(config());
        h.open(AVAILABLE);
        h.feed(&frame(
            MessageType::SystemEvent,
            &[("CCXStatus", status), ("SystemEventID", 5)],
            &[],
            &[],
        ));
        let open = h.phone.session().state == SessionState::Open;
        assert_eq!(open, !leaves, "CCXStatus 0x{status:X}");
        if leaves {
            let events = h.events();
            assert!(
                events
                    .iter()
                    .any(|e| e.to_string().contains("trying the next node")),
                "{events:?}"
            );
            assert_eq!(
                h.phone.poll_transport(h.now),
                Some(TransportAction::Disconnect)
            );
            h.phone.disconnected(h.now);
            h.advance_secs(u64::from(config().reconnect_secs));
            assert_eq!(
                h.phone.poll_transport(h.now),
                Some(TransportAction::Connect { server: 1 })
            );
        }
    }
}

/// A phone at protocol version `version` with the session open and the agent logged out.
fn open_at(version: u8, terminal: &str) -> (Phone, Instant) {
    let mut c = config();
    c.protocol_version = version;
    c.active_terminal = terminal.try_into().unwrap();
    let mut phone: Phone = Phone::new(c);
    let now = Instant::from_millis(1);
    assert!(phone.poll_transport(now).is_some());
    phone.connected(now);
    let mut buf = [0u8; 1024];
    let n = phone.poll_transmit(&mut buf).unwrap();
    let wire = WireVersion::new(u32::from(version));
    let invoke = decode(&buf[..n], wire).unwrap().invoke_id().unwrap();
    let mut reply = [0u8; 64];
    let mut enc = Encoder::new(&mut reply, MessageType::OpenConf, wire);
    enc.set(fields::open_conf::INVOKE_ID, invoke)
        .set(fields::open_conf::SERVICES_GRANTED, 7)
        .set(fields::open_conf::AGENT_STATE, AgentState::Logout);
    let len = enc.finish().unwrap();
    phone.handle_bytes(now, &reply[..len]);
    assert_eq!(phone.session().state, SessionState::Open);
    while phone.poll_transmit(&mut buf).is_some() {}
    (phone, now)
}

/// The ActiveTerminal (tag 303) of the next SET_AGENT_STATE_REQ the phone sends.
fn active_terminal_sent(phone: &mut Phone, version: u8) -> Option<String> {
    let mut buf = [0u8; 1024];
    let n = phone.poll_transmit(&mut buf).unwrap();
    let msg = decode(&buf[..n], WireVersion::new(u32::from(version))).unwrap();
    assert_eq!(msg.message_type(), MessageType::SetAgentStateReq);
    if version < 18 {
        // Below v18 a tag needs one byte: 303 cannot be written at all, under any tag.
        let name = b"SEP00AABBCCDDEE";
        assert!(!buf[..n].windows(name.len()).any(|w| w == name));
    }
    msg.string(303).map(str::to_string)
}

// https://developer.cisco.com/docs/contact-center-express/set_agent_state_req: ActiveTerminal
// (tag 303, version 18) at LOGIN when Agent Device Selection is on.
#[test]
fn active_terminal_goes_with_login_under_v18_only() {
    let (mut phone, now) = open_at(18, "SEP00AABBCCDDEE");
    phone
        .command(now, Command::Login { password: None })
        .unwrap();
    assert_eq!(
        active_terminal_sent(&mut phone, 18).as_deref(),
        Some("SEP00AABBCCDDEE")
    );
    for version in [16, 17] {
        let (mut phone, now) = open_at(version, "SEP00AABBCCDDEE");
        phone
            .command(now, Command::Login { password: None })
            .unwrap();
        assert_eq!(
            active_terminal_sent(&mut phone, version),
            None,
            "v{version}"
        );
    }
    let (mut phone, now) = open_at(18, "");
    phone
        .command(now, Command::Login { password: None })
        .unwrap();
    assert_eq!(active_terminal_sent(&mut phone, 18), None);
}

// https://developer.cisco.com/docs/contact-center-express/how-a-session-is-maintained: the
// note's rule (always) and the first paragraph's (when idle).
#[test]
fn heartbeats_follow_the_configured_rule() {
    for (mode, heartbeat_at) in [
        (HeartbeatMode::Always, 20u64),
        (HeartbeatMode::WhenIdle, 35),
    ] {
        let mut c = config();
        c.heartbeat_mode = mode;
        c.heartbeat_secs = 20;
        let mut h = Harness::new(c);
        h.open(AVAILABLE);
        h.advance_secs(15);
        h.phone
            .command(h.now, Command::NotReady { reason: 0.into() })
            .unwrap();
        h.sent();
        h.advance_secs(heartbeat_at - 15 - 1);
        assert!(h.sent().is_empty(), "{mode:?}: a heartbeat came early");
        h.advance_secs(1);
        let sent = h.sent();
        assert_eq!(sent.len(), 1, "{mode:?}");
        assert_eq!(decoded(&sent[0]).message_type(), MessageType::HeartbeatReq);
    }
}
