//! Session behaviour: OPEN_REQ, resynchronisation, heartbeats, failures, failover, close.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod phone_support;

use ccx_cti::phone::{
    AgentReason, Command, CommandError, Event, Instant, InvokeId, RequestKind, SessionEndReason,
    SessionState, TransportAction,
};
use ccx_cti::wire::{
    fields, tag, AgentState, CCXStatus, EventReasonCode, MessageType, StatusCode, SystemEventID,
};
use phone_support::*;

const NOT_MASTER: u32 = 92;
const NEW_SESSION_OPENED: u32 = 11;
const LOGOUT: u32 = 1;

fn session_lost(events: &[Event]) -> Vec<(SessionEndReason, Option<Instant>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::SessionLost {
                reason,
                reconnect_at,
            } => Some((*reason, *reconnect_at)),
            _ => None,
        })
        .collect()
}

#[test]
fn asks_to_connect_at_once_and_sends_open_req() {
    let mut h = Harness::new(config());
    assert_eq!(h.phone.session().state, SessionState::Disconnected);
    assert_eq!(h.phone.poll_timeout(), Some(Instant::ZERO));
    assert_eq!(
        h.phone.poll_transport(h.now),
        Some(TransportAction::Connect { server: 0 })
    );
    assert_eq!(h.phone.session().state, SessionState::Connecting);
    assert_eq!(h.phone.poll_transport(h.now), None);
    h.phone.connected(h.now);
    assert_eq!(h.phone.session().state, SessionState::Opening);
    let open = h.sent_one(MessageType::OpenReq);
    let msg = decoded(&open);
    use fields::open_req as f;
    assert_eq!(msg.get(f::VERSION_NUMBER), Some(17));
    assert_eq!(msg.get(f::IDLE_TIMEOUT), Some(80));
    assert_eq!(msg.get(f::SERVICES_REQUESTED), Some(7));
    assert_eq!(msg.get(f::CALL_MSG_MASK), Some(0x0001_EFFF));
    assert_eq!(msg.get(f::AGENT_STATE_MASK), Some(0x1FF));
    assert_eq!(msg.get(f::CONFIG_MSG_MASK), Some(0));
    let tags: Vec<u16> = msg.fields().map(|f| f.tag).collect();
    assert_eq!(
        tags,
        [
            tag::CLIENT_ID,
            tag::CLIENT_PASSWORD,
            tag::AGENT_EXTENSION,
            tag::AGENT_INSTRUMENT,
            tag::AGENT_ID
        ]
    );
    assert_eq!(msg.field(tag::CLIENT_PASSWORD), Some(&[][..]));
    assert_eq!(msg.string(tag::CLIENT_ID), Some("phone"));
    assert_eq!(msg.string(tag::AGENT_ID), Some("chli4020"));
    assert_eq!(msg.fixed_part().len(), 44);
}

#[test]
fn open_req_leaves_out_agent_fields_that_are_not_configured() {
    let mut c = config();
    c.agent_extension.clear();
    c.agent_id.clear();
    let mut h = Harness::new(c);
    h.connect();
    let open = h.sent_one(MessageType::OpenReq);
    let tags: Vec<u16> = decoded(&open).fields().map(|f| f.tag).collect();
    assert_eq!(
        tags,
        [tag::CLIENT_ID, tag::CLIENT_PASSWORD, tag::AGENT_INSTRUMENT]
    );
}

#[test]
fn open_conf_opens_reports_missing_services_and_resynchronises() {
    let mut h = Harness::new(config());
    h.connect();
    let invoke = decoded(&h.sent_one(MessageType::OpenReq))
        .invoke_id()
        .unwrap();
    h.feed(&frame(
        MessageType::OpenConf,
        &[
            ("InvokeID", invoke),
            ("ServicesGranted", 5),
            ("AgentState", NOT_READY),
        ],
        &[],
        &[],
    ));
    assert_eq!(h.phone.session().state, SessionState::Open);
    assert_eq!(h.phone.agent().state, AgentState::NotReady);
    let events = h.events();
    assert_eq!(events[0], Event::SessionOpened { server: 0 });
    assert!(events.contains(&Event::ServicesNotGranted { missing: 2 }));
    let sent = h.sent();
    let types: Vec<MessageType> = sent.iter().map(|f| decoded(f).message_type()).collect();
    assert_eq!(
        types,
        [
            MessageType::QueryAgentStateReq,
            MessageType::SnapshotDeviceReq
        ]
    );
    let snapshot = decoded(&sent[1]);
    assert_eq!(
        snapshot
            .get(fields::snapshot_device_req::SNAPSHOT_DEVICE_TYPE)
            .map(|t| t.value()),
        Some(0)
    );
    assert_eq!(snapshot.string(tag::AGENT_INSTRUMENT), Some("4020"));
    let query = decoded(&sent[0]);
    assert_eq!(query.string(tag::AGENT_ID), Some("chli4020"));
    assert_eq!(query.string(tag::AGENT_EXTENSION), Some("4020"));
    assert_eq!(h.phone.pending_requests().count(), 2);
}

#[test]
fn heartbeat_after_the_interval_and_failover_after_three_missed() {
    let mut c = config();
    // Keep the idle timeout out of the way so the heartbeat count decides.
    c.idle_timeout_secs = 119;
    let mut h = Harness::new(c);
    h.open(AVAILABLE);
    assert_eq!(h.phone.poll_timeout(), Some(Instant::from_secs(20)));
    h.advance_ms(19_999);
    assert!(h.sent().is_empty());
    h.advance_ms(1);
    let hb = h.sent_one(MessageType::HeartbeatReq);
    // Answered: the count starts again.
    h.feed(&conf(
        MessageType::HeartbeatConf,
        decoded(&hb).invoke_id().unwrap(),
    ));
    for _ in 0..3 {
        h.advance_secs(20);
        h.sent_one(MessageType::HeartbeatReq);
        assert_eq!(h.phone.session().state, SessionState::Open);
    }
    assert!(session_lost(&h.events()).is_empty());
    h.advance_secs(20);
    assert_eq!(h.phone.session().state, SessionState::Disconnected);
    let lost = session_lost(&h.events());
    assert_eq!(
        lost,
        [(
            SessionEndReason::HeartbeatTimeout,
            Some(Instant::from_secs(110))
        )]
    );
    assert_eq!(
        h.phone.poll_transport(h.now),
        Some(TransportAction::Disconnect)
    );
    h.phone.disconnected(h.now);
    assert!(
        h.events().is_empty(),
        "the phone's own close is not reported twice"
    );
    assert_eq!(h.phone.poll_transport(h.now), None);
    h.advance_secs(10);
    assert_eq!(
        h.phone.poll_transport(h.now),
        Some(TransportAction::Connect { server: 1 })
    );
}

#[test]
fn idle_timeout_ends_a_silent_session() {
    let mut c = config();
    // The idle timeout expires before the heartbeat count can.
    c.heartbeat_secs = 30;
    c.idle_timeout_secs = 40;
    let mut h = Harness::new(c);
    h.open(AVAILABLE);
    h.advance_secs(20);
    h.feed(&agent_state_event(NOT_READY, 0));
    h.advance_secs(30);
    h.sent_one(MessageType::HeartbeatReq);
    h.advance_ms(9_999);
    assert_eq!(h.phone.session().state, SessionState::Open);
    h.advance_ms(1);
    assert_eq!(
        session_lost(&h.events()),
        [(
            SessionEndReason::HeartbeatTimeout,
            Some(Instant::from_secs(70))
        )]
    );
}

#[test]
fn failure_conf_to_a_heartbeat_resets_the_session() {
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    h.advance_secs(20);
    let hb = decoded(&h.sent_one(MessageType::HeartbeatReq))
        .invoke_id()
        .unwrap();
    h.feed(&failure_conf(hb, 15));
    assert_eq!(
        session_lost(&h.events()),
        [(
            SessionEndReason::ServerFailure {
                status: StatusCode::from_value(15),
            },
            Some(Instant::from_secs(30))
        )]
    );
    assert_eq!(
        h.phone.poll_transport(h.now),
        Some(TransportAction::Disconnect)
    );
}

/// FAILURE_CONF to OPEN_REQ: (status, reconnect_secs, servers) -> (reason, wait, server).
#[test]
fn refused_open_backs_off_and_picks_the_side() {
    let cases: [(u32, u16, usize, SessionEndReason, u64, usize); 4] = [
        (
            1,
            1,
            2,
            SessionEndReason::OpenRefused {
                status: StatusCode::from_value(1),
            },
            10_000,
            1,
        ),
        (
            1,
            30,
            2,
            SessionEndReason::OpenRefused {
                status: StatusCode::from_value(1),
            },
            30_000,
            1,
        ),
        (NOT_MASTER, 10, 2, SessionEndReason::NotMaster, 1_000, 1),
        (NOT_MASTER, 1, 1, SessionEndReason::NotMaster, 10_000, 0),
    ];
    for (status, reconnect_secs, servers, reason, wait_ms, server) in cases {
        let mut c = config();
        c.reconnect_secs = reconnect_secs;
        c.servers.truncate(servers);
        let mut h = Harness::new(c);
        h.advance_secs(5);
        h.connect();
        let invoke = decoded(&h.sent_one(MessageType::OpenReq))
            .invoke_id()
            .unwrap();
        h.feed(&failure_conf(invoke, status));
        let expected_at = Instant::from_millis(5_000 + wait_ms);
        assert_eq!(
            session_lost(&h.events()),
            [(reason, Some(expected_at))],
            "status {status}"
        );
        assert_eq!(
            h.phone.poll_transport(h.now),
            Some(TransportAction::Disconnect)
        );
        h.phone.disconnected(h.now);
        h.advance_ms(wait_ms - 1);
        assert_eq!(h.phone.poll_transport(h.now), None);
        h.advance_ms(1);
        assert_eq!(
            h.phone.poll_transport(h.now),
            Some(TransportAction::Connect { server }),
            "status {status}"
        );
    }
}

#[test]
fn replaced_session_does_not_reconnect_until_asked() {
    for replaced_by_event in [true, false] {
        let mut h = Harness::new(config());
        h.open(AVAILABLE);
        if replaced_by_event {
            h.feed(&frame(
                MessageType::FailureEvent,
                &[("Status", NEW_SESSION_OPENED)],
                &[],
                &[],
            ));
        } else {
            h.feed(&failure_conf(0, NEW_SESSION_OPENED));
        }
        assert_eq!(
            session_lost(&h.events()),
            [(SessionEndReason::Replaced, None)]
        );
        assert_eq!(
            h.phone.poll_transport(h.now),
            Some(TransportAction::Disconnect)
        );
        h.phone.disconnected(h.now);
        h.advance_secs(3600);
        assert_eq!(h.phone.poll_transport(h.now), None);
        assert_eq!(h.phone.poll_timeout(), None);
        h.phone.reconnect(h.now);
        assert_eq!(
            h.phone.poll_transport(h.now),
            Some(TransportAction::Connect { server: 0 }),
            "the same side: nothing failed there"
        );
    }
}

#[test]
fn login_after_the_session_was_replaced_reconnects_and_logs_in() {
    let mut h = Harness::new(config());
    h.open(LOGOUT);
    h.feed(&failure_conf(0, NEW_SESSION_OPENED));
    let _ = h.phone.poll_transport(h.now);
    h.phone.disconnected(h.now);
    let invoke = h
        .phone
        .command(h.now, Command::Login { password: None })
        .unwrap();
    let rest = h.open(LOGOUT);
    assert_eq!(rest.len(), 1);
    let login = &rest[0];
    let msg = decoded(login);
    assert_eq!(msg.invoke_id(), Some(invoke.value()));
    assert_eq!(
        msg.get(fields::set_agent_state_req::AGENT_STATE),
        Some(AgentState::Login)
    );
    assert_eq!(msg.string(tag::AGENT_PASSWORD), Some("secret"));
}

#[test]
fn server_close_reconnects_on_the_other_side_and_connect_failure_backs_off() {
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    h.advance_secs(3);
    h.phone.disconnected(h.now);
    assert_eq!(
        session_lost(&h.events()),
        [(
            SessionEndReason::TransportClosed,
            Some(Instant::from_secs(13))
        )]
    );
    assert_eq!(
        h.phone.poll_transport(h.now),
        None,
        "no Disconnect: it is closed"
    );
    h.advance_secs(10);
    assert_eq!(
        h.phone.poll_transport(h.now),
        Some(TransportAction::Connect { server: 1 })
    );
    h.phone.connect_failed(h.now);
    // The second failure in a row waits longer: up to twice reconnect_secs, less the
    // jitter of the configured seed (ccx_cti::phone::reconnect_wait).
    let wait = ccx_cti::phone::reconnect_wait(core::time::Duration::from_secs(10), 2, 0);
    assert!(
        wait > core::time::Duration::from_secs(15) && wait <= core::time::Duration::from_secs(20)
    );
    assert_eq!(
        session_lost(&h.events()),
        [(
            SessionEndReason::ConnectFailed,
            Some(Instant::from_secs(13) + wait)
        )]
    );
    h.advance_secs(10);
    assert_eq!(
        h.phone.poll_transport(h.now),
        None,
        "not after reconnect_secs again"
    );
    h.now = Instant::from_secs(13) + wait;
    assert_eq!(
        h.phone.poll_transport(h.now),
        Some(TransportAction::Connect { server: 0 })
    );
}

#[test]
fn open_conf_that_never_comes_times_out() {
    let mut h = Harness::new(config());
    h.connect();
    h.sent();
    assert_eq!(h.phone.poll_timeout(), Some(Instant::from_secs(10)));
    h.advance_secs(10);
    assert_eq!(
        session_lost(&h.events()),
        [(SessionEndReason::OpenTimedOut, Some(Instant::from_secs(20)))]
    );
}

#[test]
fn close_sends_close_req_and_stops_after_close_conf() {
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    let invoke = h.phone.command(h.now, Command::Close).unwrap();
    let close = h.sent_one(MessageType::CloseReq);
    let msg = decoded(&close);
    assert_eq!(msg.invoke_id(), Some(invoke.value()));
    assert_eq!(
        msg.get(fields::close_req::STATUS).map(|s| s.value()),
        Some(0)
    );
    assert_eq!(h.phone.session().state, SessionState::Closing);
    h.feed(&conf(MessageType::CloseConf, invoke.value()));
    assert_eq!(
        session_lost(&h.events()),
        [(SessionEndReason::Closed, None)]
    );
    assert_eq!(
        h.phone.poll_transport(h.now),
        Some(TransportAction::Disconnect)
    );
    h.advance_secs(600);
    assert_eq!(h.phone.poll_transport(h.now), None);
}

#[test]
fn framing_error_resets_the_accumulator_and_reconnects() {
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    h.feed(&[0x00, 0x01, 0x00, 0x00, 0, 0, 0, 9, 1, 2, 3]);
    assert_eq!(h.phone.buffered(), 0);
    let events = h.events();
    assert_eq!(
        session_lost(&events),
        [(SessionEndReason::FramingError, Some(Instant::from_secs(10)))]
    );
    assert!(events[0].to_string().contains("could not be framed"));
    assert_eq!(
        h.phone.poll_transport(h.now),
        Some(TransportAction::Disconnect)
    );
    // Same side: the server did nothing wrong that another node would fix.
    h.phone.disconnected(h.now);
    h.advance_secs(10);
    assert_eq!(
        h.phone.poll_transport(h.now),
        Some(TransportAction::Connect { server: 0 })
    );
}

#[test]
fn malformed_unknown_and_system_messages_leave_the_session_up() {
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    // CALL_HELD_EVENT with a floating field that runs past the end.
    let mut bad = call_event(MessageType::CallHeldEvent, 1, LCS_HOLD, "4020");
    let len = bad.len();
    bad[len - 6] = 40;
    h.feed(&bad);
    h.feed(&[0, 0, 0, 2, 0, 0, 0x03, 0xE7, 0xAA, 0xBB]);
    h.feed(&frame(
        MessageType::SystemEvent,
        &[("CCXStatus", 0x400), ("SystemEventID", 10)],
        &[],
        &[],
    ));
    let events = h.events();
    assert_eq!(events.len(), 4, "{events:?}");
    assert!(matches!(events[0], Event::MalformedMessage { .. }));
    assert!(events[0]
        .to_string()
        .starts_with("malformed message: CALL_HELD_EVENT"));
    assert_eq!(events[1], Event::UnexpectedMessage { message_type: 999 });
    assert_eq!(
        events[2],
        Event::SystemEvent {
            id: SystemEventID::from_value(10),
            status: CCXStatus::from_value(0x400)
        }
    );
    // SYS_INSTRUMENT_OUT_OF_SERVICE is shown to the agent; the server stays in service.
    assert_eq!(events[3], Event::InstrumentService { in_service: false });
    assert!(!h.phone.instrument_in_service());
    assert_eq!(h.phone.session().state, SessionState::Open);
    // Bytes split anywhere still make frames.
    let begin = begin_call(7, CALLTYPE_ACD_IN, &[]);
    for chunk in begin.chunks(3) {
        h.feed(chunk);
    }
    assert!(h.phone.call(7).is_some());
}

#[test]
fn ccx_offline_ends_the_session_and_reconnects_to_the_other_side() {
    let mut cfg = config();
    cfg.servers.clear();
    for host in ["10.0.0.1", "10.0.0.2"] {
        cfg.servers
            .push(ccx_cti::config::ServerAddr {
                host: host.try_into().unwrap(),
                port: 12028,
            })
            .unwrap();
    }
    let mut h = Harness::new(cfg);
    h.open(AVAILABLE);
    assert_eq!(h.phone.session().server, 0);
    h.feed(&frame(
        MessageType::SystemEvent,
        &[("CCXStatus", 0x600), ("SystemEventID", 4)],
        &[],
        &[],
    ));
    let events = h.events();
    assert!(
        events.iter().any(|e| matches!(
            e,
            Event::SessionLost {
                reason: ccx_cti::phone::SessionEndReason::ServerOffline,
                reconnect_at: Some(_)
            }
        )),
        "{events:?}"
    );
    assert_ne!(h.phone.session().state, SessionState::Open);
    assert_eq!(h.phone.session().server, 1, "the other side is tried next");
}

#[test]
fn session_loss_reports_requests_that_will_get_no_answer() {
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    let invoke = h.phone.command(h.now, Command::Ready).unwrap();
    h.phone.disconnected(h.now);
    let events = h.events();
    assert!(events.contains(&Event::RequestAborted {
        invoke_id: invoke,
        request: RequestKind::SetAgentState
    }));
    assert_eq!(h.phone.pending_requests().count(), 0);
    assert_eq!(
        h.sent().len(),
        0,
        "nothing of the old session is sent on the new one"
    );
    assert_eq!(
        h.phone.command(h.now, Command::Ready),
        Err(CommandError::NotConnected)
    );
}

#[test]
fn event_queue_overflow_is_reported_first() {
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    // 39 changes (the first event repeats the current state), 16 kept.
    for i in 0..40u32 {
        h.feed(&agent_state_event(AVAILABLE - (i % 2), i));
    }
    let events = h.events();
    assert_eq!(events[0], Event::EventsLost { count: 23 });
    assert_eq!(events.len(), 17);
    assert_eq!(
        events[16],
        Event::AgentStateChanged {
            state: AgentState::NotReady,
            reason: AgentReason::Configured(39)
        }
    );
}

#[test]
fn agent_state_events_about_another_agent_are_ignored() {
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    h.feed(&frame(
        MessageType::AgentStateEvent,
        &[("AgentState", NOT_READY)],
        &[(tag::AGENT_ID, "someone-else")],
        &[],
    ));
    h.feed(&frame(
        MessageType::AgentStateEvent,
        &[("AgentState", NOT_READY)],
        &[(tag::AGENT_EXTENSION, "9999")],
        &[],
    ));
    assert_eq!(h.phone.agent().state, AgentState::Available);
    h.feed(&frame(
        MessageType::AgentStateEvent,
        &[("AgentState", NOT_READY), ("EventReasonCode", 32760)],
        &[],
        &[],
    ));
    assert_eq!(h.phone.agent().state, AgentState::NotReady);
    assert_eq!(
        h.phone.agent().reason,
        AgentReason::System(EventReasonCode::Logon)
    );
}

#[test]
fn a_frame_cut_by_a_dropped_connection_does_not_spoil_the_next() {
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    let begin = begin_call(7, CALLTYPE_ACD_IN, &[]);
    h.feed(&begin[..5]);
    h.phone.disconnected(h.now);
    h.advance_secs(10);
    h.open(AVAILABLE);
    assert_eq!(h.phone.session().server, 1);
    h.feed(&begin);
    assert!(h.phone.call(7).is_some());
}

#[test]
fn other_failure_events_are_reported_and_the_session_goes_on() {
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    h.feed(&frame(
        MessageType::FailureEvent,
        &[("Status", 15)],
        &[],
        &[],
    ));
    let events = h.events();
    assert_eq!(
        events,
        [Event::ServerReportedFailure {
            status: StatusCode::from_value(15)
        }]
    );
    assert!(events[0].to_string().contains("status 15"));
    assert_eq!(h.phone.session().state, SessionState::Open);
}

#[test]
fn a_heartbeat_that_does_not_fit_is_reported_and_counted() {
    // 104 bytes: OPEN_REQ (85) fits; two SET_AGENT_STATE_REQs (47 each) that nobody
    // drains leave no room for a 12-byte heartbeat.
    let phone: ccx_cti::phone::Phone<4, 512, 8, 104, 16> = ccx_cti::phone::Phone::new(config());
    let mut h = Harness::with_phone(phone);
    h.open(AVAILABLE);
    for _ in 0..2 {
        h.phone.command(h.now, Command::Ready).unwrap();
    }
    h.advance_secs(20);
    assert!(h.events().contains(&Event::TransmitQueueFull {
        request: RequestKind::Heartbeat
    }));
    // Still unanswered three intervals later: the session is declared dead.
    h.advance_secs(60);
    let lost = session_lost(&h.events());
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0].0, SessionEndReason::HeartbeatTimeout);
}

#[test]
fn close_while_connecting_stops_without_a_session() {
    let mut h = Harness::new(config());
    assert_eq!(
        h.phone.poll_transport(h.now),
        Some(TransportAction::Connect { server: 0 })
    );
    assert_eq!(h.phone.command(h.now, Command::Close), Ok(InvokeId(0)));
    assert_eq!(
        session_lost(&h.events()),
        [(SessionEndReason::Closed, None)]
    );
    assert_eq!(
        h.phone.poll_transport(h.now),
        Some(TransportAction::Disconnect)
    );
    // A late `connected` for the abandoned attempt changes nothing.
    h.phone.connected(h.now);
    assert_eq!(h.phone.session().state, SessionState::Disconnected);
    assert!(h.sent().is_empty());
}

#[test]
fn version_18_writes_two_byte_tags() {
    let mut c = config();
    c.protocol_version = 18;
    let mut h = Harness::new(c);
    h.connect();
    let open = h.sent_one_raw();
    let msg = ccx_cti::wire::decode(&open, ccx_cti::wire::WireVersion::new(18)).unwrap();
    assert_eq!(msg.get(fields::open_req::VERSION_NUMBER), Some(18));
    assert_eq!(msg.string(tag::AGENT_ID), Some("chli4020"));
    // ClientID is the first floating field: tag 1 as two bytes, then its length.
    assert_eq!(msg.floating_part()[..3], [0, 1, 6]);
}

ccx_cti::phone_type! {
    /// Every capacity at its documented minimum.
    type MinimalPhone = Phone {
        calls: ccx_cti::phone::MIN_CALLS,
        var_bytes: 0,
        pending: ccx_cti::phone::MIN_PENDING,
        tx_bytes: ccx_cti::phone::MIN_TX_BYTES,
        events: ccx_cti::phone::MIN_EVENTS,
        frame_bytes: ccx_cti::phone::MIN_FRAME_BYTES,
    };
}

/// The documented minimums are enough to open a session, resynchronise and change the
/// agent's state.
#[test]
fn a_phone_at_the_minimum_capacities_opens_and_changes_state() {
    let mut h = Harness::with_phone(MinimalPhone::new(config()));
    h.open(LOGOUT);
    let invoke = h
        .phone
        .command(h.now, Command::Login { password: None })
        .unwrap();
    let sent = h.sent_one(MessageType::SetAgentStateReq);
    assert_eq!(decoded(&sent).invoke_id(), Some(invoke.value()));
    h.feed(&conf(MessageType::SetAgentStateConf, invoke.value()));
    assert_eq!(
        h.events(),
        [Event::RequestSucceeded {
            invoke_id: invoke,
            request: RequestKind::SetAgentState
        }]
    );
}

/// `handle_one_frame` takes one frame of a read and says how much it took, so that an adapter
/// passes each frame's events on before the next: a burst in one read never overflows the
/// phone's event queue.
#[test]
fn handle_one_frame_takes_one_frame_of_a_read() {
    let mut h = Harness::new(config());
    h.open(LOGOUT);
    let first = agent_state_event(3, 1);
    let read: Vec<u8> = first
        .iter()
        .chain(&agent_state_event(2, 2))
        .copied()
        .collect();
    let used = h.phone.handle_one_frame(h.now, &read);
    assert_eq!(used, first.len());
    assert!(matches!(
        h.events()[..],
        [Event::AgentStateChanged { reason, .. }] if reason.code() == 1
    ));
    // A partial frame is kept in the phone until the rest comes.
    let rest = &read[used..];
    assert_eq!(h.phone.handle_one_frame(h.now, &rest[..5]), 5);
    assert_eq!(h.phone.buffered(), 5);
    assert!(h.events().is_empty());
    assert_eq!(h.phone.handle_one_frame(h.now, &rest[5..]), rest.len() - 5);
    assert!(matches!(
        h.events()[..],
        [Event::AgentStateChanged { reason, .. }] if reason.code() == 2
    ));
}
