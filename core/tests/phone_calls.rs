//! The call table: creation, connection states, data, re-keying, merges, limits and the
//! snapshot after a reconnect.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod phone_support;

use ccx_cti::phone::{Event, Phone, RequestKind, SessionState};
use ccx_cti::wire::{tag, CallType, LocalConnectionState as Lcs, MessageType};
use phone_support::*;

fn open() -> Harness {
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    h
}

#[test]
fn connection_events_move_the_agents_state() {
    let mut h = open();
    let steps: [(MessageType, u32, &str, Lcs); 6] = [
        (
            MessageType::CallDeliveredEvent,
            LCS_ALERTING,
            "4020",
            Lcs::Alerting,
        ),
        (
            MessageType::CallEstablishedEvent,
            LCS_NONE,
            "4020",
            Lcs::Connect,
        ),
        (MessageType::CallHeldEvent, LCS_NONE, "4020", Lcs::Hold),
        (
            MessageType::CallRetrievedEvent,
            LCS_NONE,
            "4020",
            Lcs::Connect,
        ),
        // Another device's connection changes nothing of the agent's.
        (MessageType::CallHeldEvent, LCS_HOLD, "5000", Lcs::Connect),
        (MessageType::CallFailedEvent, 6, "4020", Lcs::Fail),
    ];
    for (ty, lcs, device, expected) in steps {
        h.feed(&call_event(ty, 1, lcs, device));
        assert_eq!(
            h.phone.call(1).unwrap().state,
            expected,
            "after {ty:?} at {device}"
        );
    }
    let events = h.events();
    assert_eq!(events[0], Event::CallAdded { call: 1 });
    assert_eq!(
        events[1],
        Event::CallStateChanged {
            call: 1,
            state: Lcs::Alerting
        }
    );
    // An unknown call created by DELIVERED has no type yet.
    assert_eq!(h.phone.call(1).unwrap().call_type, CallType::NullCalltype);
}

#[test]
fn an_outgoing_call_connects_when_the_far_end_answers() {
    let mut h = open();
    h.feed(&frame(
        MessageType::CallOriginatedEvent,
        &[
            ("ConnectionCallID", 2),
            ("LocalConnectionState", LCS_INITIATE),
        ],
        &[
            (tag::CONNECTION_DEVICE_ID, "4020"),
            (tag::CALLING_DEVICE_ID, "4020"),
            (tag::CALLED_DEVICE_ID, "5000"),
        ],
        &[],
    ));
    h.feed(&frame(
        MessageType::CallDeliveredEvent,
        &[
            ("ConnectionCallID", 2),
            ("LocalConnectionState", LCS_ALERTING),
        ],
        &[
            (tag::CONNECTION_DEVICE_ID, "5000"),
            (tag::ALERTING_DEVICE_ID, "5000"),
        ],
        &[],
    ));
    assert_eq!(h.phone.call(2).unwrap().state, Lcs::Initiate);
    h.feed(&frame(
        MessageType::CallEstablishedEvent,
        &[("ConnectionCallID", 2)],
        &[
            (tag::CONNECTION_DEVICE_ID, "5000"),
            (tag::ANSWERING_DEVICE_ID, "5000"),
            (tag::CALLING_DEVICE_ID, "4020"),
        ],
        &[],
    ));
    let call = h.phone.call(2).unwrap();
    assert_eq!(call.state, Lcs::Connect);
    assert_eq!(
        call.device_id, "4020",
        "requests use the agent's own connection"
    );
}

#[test]
fn clearing_removes_only_the_agents_connection_and_ignores_unknown_calls() {
    let mut h = open();
    h.feed(&begin_call(3, CALLTYPE_ACD_IN, &[]));
    h.feed(&call_event(
        MessageType::CallConnectionClearedEvent,
        3,
        LCS_NULL,
        "5000",
    ));
    assert!(h.phone.call(3).is_some(), "another party left");
    h.events();
    for ty in [
        MessageType::CallConnectionClearedEvent,
        MessageType::CallClearedEvent,
    ] {
        h.feed(&call_event(ty, 99, LCS_NULL, "4020"));
    }
    h.feed(&end_call(99));
    assert!(
        h.events().is_empty(),
        "rule 7.3.2: no report for calls already gone"
    );
    h.feed(&call_event(
        MessageType::CallHeldEvent,
        99,
        LCS_HOLD,
        "4020",
    ));
    let events = h.events();
    assert_eq!(
        events,
        [Event::UnknownCall {
            call: 99,
            message_type: 11
        }]
    );
    assert_eq!(
        events[0].to_string(),
        "unknown call 99: CALL_HELD_EVENT ignored"
    );
    h.feed(&call_event(
        MessageType::CallConnectionClearedEvent,
        3,
        LCS_NULL,
        "4020",
    ));
    assert_eq!(h.events(), [Event::CallRemoved { call: 3 }]);
}

#[test]
fn a_call_diverted_away_while_ringing_is_gone() {
    let mut h = open();
    h.feed(&call_event(
        MessageType::CallDeliveredEvent,
        4,
        LCS_ALERTING,
        "4020",
    ));
    h.feed(&frame(
        MessageType::CallDivertedEvent,
        &[("ConnectionCallID", 4), ("LocalConnectionState", LCS_NULL)],
        &[
            (tag::CONNECTION_DEVICE_ID, "4020"),
            (tag::DIVERTING_DEVICE_ID, "4020"),
            (tag::CALLED_DEVICE_ID, "4021"),
        ],
        &[],
    ));
    assert_eq!(h.phone.calls().count(), 0);
}

#[test]
fn a_full_call_table_keeps_the_calls_it_has() {
    let mut h = open();
    for id in 1..=5 {
        h.feed(&begin_call(id, CALLTYPE_ACD_IN, &[]));
    }
    let ids: Vec<u32> = h.phone.calls().map(|c| c.id).collect();
    assert_eq!(ids, [1, 2, 3, 4]);
    let events = h.events();
    assert_eq!(events.last(), Some(&Event::CallTableFull { call: 5 }));
    assert_eq!(
        events.last().unwrap().to_string(),
        "call table full: call 5 not tracked"
    );
    // Events for the call that did not fit are about an unknown call.
    h.feed(&call_event(MessageType::CallHeldEvent, 5, LCS_HOLD, "4020"));
    assert!(matches!(
        h.events()[..],
        [Event::UnknownCall { call: 5, .. }]
    ));
}

#[test]
fn variable_storage_keeps_what_fits() {
    let phone: Phone<4, 40, 8, 1024, 16> = Phone::new(config());
    let mut h = Harness::with_phone(phone);
    h.open(AVAILABLE);
    // "BAStatus\0DO\0" (12) + "BACampaign\0LoadCamp\0" (20) fit in 40; the next does not.
    h.feed(&begin_call(
        6,
        CALLTYPE_RESERVATION,
        &[
            ("BAStatus", "DO"),
            ("BACampaign", "LoadCamp"),
            ("BABuddyName", "John,Doe"),
        ],
    ));
    let call = h.phone.call(6).unwrap();
    assert_eq!(call.var("BAStatus"), Some("DO"));
    assert_eq!(call.var("BACampaign"), Some("LoadCamp"));
    assert_eq!(call.var("BABuddyName"), None);
    assert!(h.events().contains(&Event::VariableStorageFull { call: 6 }));
}

#[test]
fn data_update_merges_variables_and_rekeys() {
    let mut h = open();
    h.feed(&begin_call(
        10,
        CALLTYPE_RESERVATION,
        &[("BAStatus", "DO"), ("BAResponse", "")],
    ));
    h.events();
    h.feed(&frame(
        MessageType::CallDataUpdateEvent,
        &[
            ("CallType", CALLTYPE_RESERVATION),
            ("ConnectionCallID", 10),
            ("NewConnectionCallID", 11),
        ],
        &[
            (tag::CONNECTION_DEVICE_ID, "4020"),
            (tag::NEW_CONNECTION_DEVICE_ID, "4020"),
            (tag::ANI, "5551234"),
        ],
        &[("BAResponse", "Skip"), ("user.x", "1")],
    ));
    assert!(h.phone.call(10).is_none());
    let call = h.phone.call(11).unwrap();
    let vars: Vec<_> = call.vars().collect();
    assert_eq!(
        vars,
        [("BAStatus", "DO"), ("BAResponse", "Skip"), ("user.x", "1")]
    );
    assert_eq!(call.ani, "5551234");
    assert_eq!(
        h.phone.preview().map(|c| c.id),
        Some(11),
        "the preview follows"
    );
    assert_eq!(
        h.events(),
        [
            Event::CallRekeyed { old: 10, new: 11 },
            Event::CallDataChanged { call: 11 }
        ]
    );
    // An update for a call the phone does not track is reported.
    h.feed(&frame(
        MessageType::CallDataUpdateEvent,
        &[("ConnectionCallID", 12), ("NewConnectionCallID", 12)],
        &[
            (tag::CONNECTION_DEVICE_ID, ""),
            (tag::NEW_CONNECTION_DEVICE_ID, ""),
        ],
        &[],
    ));
    assert!(matches!(
        h.events()[..],
        [Event::UnknownCall { call: 12, .. }]
    ));
}

#[test]
fn transfer_and_conference_merge_the_secondary_into_the_primary() {
    for ty in [
        MessageType::CallTransferredEvent,
        MessageType::CallConferencedEvent,
    ] {
        let mut h = open();
        h.feed(&begin_call(1, CALLTYPE_ACD_IN, &[("a", "primary")]));
        h.feed(&call_event(MessageType::CallHeldEvent, 1, LCS_HOLD, "4020"));
        h.feed(&begin_call(
            2,
            CALLTYPE_ACD_IN,
            &[("a", "secondary"), ("b", "2")],
        ));
        h.feed(&call_event(
            MessageType::CallEstablishedEvent,
            2,
            LCS_CONNECT,
            "4020",
        ));
        h.events();
        h.feed(&frame(
            ty,
            &[
                ("PrimaryCallID", 1),
                ("SecondaryCallID", 2),
                ("LocalConnectionState", LCS_CONNECT),
            ],
            &[],
            &[],
        ));
        let ids: Vec<u32> = h.phone.calls().map(|c| c.id).collect();
        assert_eq!(ids, [1], "{ty:?}");
        let call = h.phone.call(1).unwrap();
        assert_eq!(call.var("a"), Some("primary"));
        assert_eq!(call.var("b"), Some("2"));
        assert_eq!(call.state, Lcs::Connect);
        let events = h.events();
        assert!(events.contains(&Event::CallRemoved { call: 2 }), "{ty:?}");

        // Only the secondary known: it becomes the primary.
        h.feed(&begin_call(3, CALLTYPE_ACD_IN, &[]));
        h.feed(&frame(
            ty,
            &[("PrimaryCallID", 4), ("SecondaryCallID", 3)],
            &[],
            &[],
        ));
        assert!(h.phone.call(3).is_none() && h.phone.call(4).is_some());
    }
}

#[test]
fn reopen_snapshot_keeps_confirmed_calls_and_reports_lost_ones() {
    let mut h = open();
    h.feed(&call_event(
        MessageType::CallEstablishedEvent,
        10,
        LCS_CONNECT,
        "4020",
    ));
    h.feed(&call_event(
        MessageType::CallDeliveredEvent,
        11,
        LCS_ALERTING,
        "4020",
    ));
    h.phone.disconnected(h.now);
    h.events();
    assert_eq!(h.phone.calls().count(), 2, "calls outlive the transport");
    h.advance_secs(10);
    h.open_with_snapshot(&[(11, LCS_CONNECT), (12, LCS_HOLD)]);
    let events = h.events();
    assert!(events.contains(&Event::CallLost { call: 10 }), "{events:?}");
    assert!(events.contains(&Event::CallAdded { call: 12 }));
    assert!(!events.contains(&Event::CallLost { call: 11 }));
    let ids: Vec<u32> = h.phone.calls().map(|c| c.id).collect();
    assert_eq!(ids, [11, 12]);
    assert_eq!(h.phone.call(11).unwrap().state, Lcs::Connect);
    assert_eq!(h.phone.call(12).unwrap().state, Lcs::Hold);
    assert_eq!(h.phone.call(12).unwrap().call_type, CallType::NullCalltype);
}

#[test]
fn a_refused_or_unanswered_snapshot_loses_the_old_calls_loudly() {
    for refuse in [true, false] {
        let mut h = open();
        h.feed(&call_event(
            MessageType::CallEstablishedEvent,
            10,
            LCS_CONNECT,
            "4020",
        ));
        h.phone.disconnected(h.now);
        h.advance_secs(10);
        h.connect();
        let invoke = decoded(&h.sent_one(MessageType::OpenReq))
            .invoke_id()
            .unwrap();
        h.feed(&frame(
            MessageType::OpenConf,
            &[
                ("InvokeID", invoke),
                ("ServicesGranted", 7),
                ("AgentState", AVAILABLE),
            ],
            &[],
            &[],
        ));
        let snapshot = h
            .sent()
            .into_iter()
            .find(|f| decoded(f).message_type() == MessageType::SnapshotDeviceReq)
            .unwrap();
        let invoke = decoded(&snapshot).invoke_id().unwrap();
        h.events();
        if refuse {
            h.feed(&failure_conf(invoke, 2));
        } else {
            h.advance_secs(10);
        }
        let events = h.events();
        assert!(events.contains(&Event::CallLost { call: 10 }), "{events:?}");
        assert!(events.iter().any(|e| matches!(
            e,
            Event::RequestFailed {
                request: RequestKind::SnapshotDevice,
                ..
            } | Event::RequestTimedOut {
                request: RequestKind::SnapshotDevice,
                ..
            }
        )));
        assert_eq!(h.phone.calls().count(), 0);
        assert_eq!(h.phone.session().state, SessionState::Open);
    }
}

#[test]
fn named_array_elements_are_kept_by_index() {
    let mut h = open();
    let layout = ccx_cti::wire::message_def(23)
        .and_then(|d| d.layout)
        .unwrap();
    let mut buf = vec![0u8; 512];
    let mut enc = ccx_cti::wire::Encoder::new(
        &mut buf,
        MessageType::BeginCallEvent,
        ccx_cti::wire::WireVersion::DEFAULT,
    );
    enc.set_fixed_raw(layout.fixed_named("ConnectionCallID").unwrap().0, 8)
        .string(tag::CONNECTION_DEVICE_ID, "4020")
        .named_array(2, "list", "c");
    let n = enc.finish().unwrap();
    h.feed(&buf[..n]);
    assert_eq!(h.phone.call(8).unwrap().var("list[2]"), Some("c"));
}
