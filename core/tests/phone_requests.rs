//! Commands: what the phone sends for each button, what it refuses, and how answers,
//! failures and timeouts come back.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod phone_support;

use ccx_cti::phone::{
    Command, CommandError, Event, Instant, InvokeId, Phone, PreviewAnswer, Refusal, RequestKind,
};
use ccx_cti::wire::{
    decode, fields, tag, AgentState, ControlFailureCode, MessageType, PeripheralErrorCode,
    StatusCode, WireVersion,
};
use phone_support::*;

const LOGOUT: u32 = 1;

#[test]
fn login_sends_the_agent_fields_and_capacity_from_version_12() {
    for (version, capacity, fixed_len) in [(17u8, Some(1u32), 21usize), (11, None, 17)] {
        let mut c = config();
        c.protocol_version = version;
        let mut h = Harness::new(c);
        h.open(LOGOUT);
        let invoke = h
            .phone
            .command(
                h.now,
                Command::Login {
                    password: Some("pw"),
                },
            )
            .unwrap();
        let sent = h.sent();
        assert_eq!(sent.len(), 1);
        let msg = decode(&sent[0], WireVersion::new(u32::from(version))).unwrap();
        use fields::set_agent_state_req as f;
        assert_eq!(msg.message_type(), MessageType::SetAgentStateReq);
        assert_eq!(msg.invoke_id(), Some(invoke.value()));
        assert_eq!(msg.get(f::AGENT_STATE), Some(AgentState::Login));
        assert_eq!(msg.get(f::EVENT_REASON_CODE).map(|r| r.value()), Some(0));
        assert_eq!(msg.get(f::FORCED_FLAG), Some(0));
        assert_eq!(msg.get(f::AGENT_CAPACITY), capacity);
        assert_eq!(msg.fixed_part().len(), fixed_len);
        let floating: Vec<(u16, &[u8])> = msg.fields().map(|f| (f.tag, f.data)).collect();
        assert_eq!(
            floating,
            [
                (tag::AGENT_INSTRUMENT, &b"4020\0"[..]),
                (tag::AGENT_PASSWORD, &b"pw\0"[..]),
                (tag::AGENT_ID, &b"chli4020\0"[..]),
            ]
        );
    }
}

#[test]
fn agent_state_commands_send_the_state_and_reason() {
    let cases = [
        (Command::Ready, AgentState::Available, 0u16),
        (
            Command::NotReady { reason: 7.into() },
            AgentState::NotReady,
            7,
        ),
        (Command::WorkReady, AgentState::WorkReady, 0),
        (Command::WorkNotReady, AgentState::WorkNotReady, 0),
        (Command::Logout { reason: 9.into() }, AgentState::Logout, 9),
    ];
    for (command, state, reason) in cases {
        let mut h = Harness::new(config());
        h.open(NOT_READY);
        h.phone.command(h.now, command).unwrap();
        let sent = h.sent_one(MessageType::SetAgentStateReq);
        let msg = decoded(&sent);
        use fields::set_agent_state_req as f;
        assert_eq!(msg.get(f::AGENT_STATE), Some(state));
        assert_eq!(
            msg.get(f::EVENT_REASON_CODE).map(|r| r.value()),
            Some(reason)
        );
        assert_eq!(
            msg.get(f::AGENT_CAPACITY),
            Some(0),
            "capacity only at login"
        );
        assert_eq!(msg.field(tag::AGENT_PASSWORD), None);
        assert_eq!(msg.string(tag::AGENT_INSTRUMENT), Some("4020"));
    }
}

#[test]
fn commands_that_make_no_sense_are_refused_before_sending() {
    let mut closed = Harness::new(config());
    assert_eq!(
        closed.phone.command(closed.now, Command::Ready),
        Err(CommandError::NotConnected)
    );
    let mut logged_out = Harness::new(config());
    logged_out.open(LOGOUT);
    let mut logged_in = Harness::new(config());
    logged_in.open(AVAILABLE);
    let cases: [(bool, Command<'_>, CommandError); 13] = [
        (false, Command::Ready, CommandError::InvalidState),
        (
            false,
            Command::NotReady { reason: 1.into() },
            CommandError::InvalidState,
        ),
        (
            false,
            Command::Logout { reason: 0.into() },
            CommandError::InvalidState,
        ),
        (
            true,
            Command::Login { password: None },
            CommandError::InvalidState,
        ),
        (
            true,
            Command::Answer { call: None },
            CommandError::NoSuchCall,
        ),
        (
            true,
            Command::Answer { call: Some(5) },
            CommandError::NoSuchCall,
        ),
        (true, Command::Hold { call: None }, CommandError::NoSuchCall),
        (
            true,
            Command::Retrieve { call: None },
            CommandError::NoSuchCall,
        ),
        (true, Command::Transfer, CommandError::NoSuchCall),
        (
            true,
            Command::Dtmf { digits: "1" },
            CommandError::NoSuchCall,
        ),
        (
            true,
            Command::Preview(PreviewAnswer::Accept),
            CommandError::NoPreview,
        ),
        (
            true,
            Command::Callback {
                date: "1231202",
                time: "09:30",
            },
            CommandError::InvalidArgument,
        ),
        (
            true,
            Command::Dial { number: "" },
            CommandError::InvalidArgument,
        ),
    ];
    for (logged, command, error) in cases {
        let h = if logged {
            &mut logged_in
        } else {
            &mut logged_out
        };
        assert_eq!(h.phone.command(h.now, command), Err(error), "{command:?}");
        assert!(h.sent().is_empty(), "{command:?} sent something");
        assert_eq!(h.phone.pending_requests().count(), 0);
    }
}

#[test]
fn control_failure_conf_fails_the_request() {
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    let invoke = h
        .phone
        .command(h.now, Command::NotReady { reason: 0.into() })
        .unwrap();
    h.sent();
    h.feed(&frame(
        MessageType::ControlFailureConf,
        &[
            ("InvokeID", invoke.value()),
            ("FailureCode", 17),
            ("PeripheralErrorCode", 88005),
        ],
        &[],
        &[],
    ));
    let events = h.events();
    assert_eq!(
        events,
        [Event::RequestFailed {
            invoke_id: invoke,
            request: RequestKind::SetAgentState,
            refusal: Refusal::Control {
                failure: ControlFailureCode::from_value(17),
                peripheral_error: PeripheralErrorCode::from_value(88005),
            },
        }]
    );
    assert!(events[0].to_string().contains(&format!(
        "request {invoke} (SET_AGENT_STATE_REQ) failed: status 17, peripheral error 88005"
    )));
    assert_eq!(h.phone.pending_requests().count(), 0);
    // FAILURE_CONF for a request: no peripheral error.
    let invoke = h.phone.command(h.now, Command::Ready).unwrap();
    h.feed(&failure_conf(invoke.value(), 9));
    assert_eq!(
        h.events(),
        [Event::RequestFailed {
            invoke_id: invoke,
            request: RequestKind::SetAgentState,
            refusal: Refusal::Status(StatusCode::from_value(9)),
        }]
    );
    // Answers nobody waits for are ignored.
    h.feed(&conf(MessageType::SetAgentStateConf, invoke.value()));
    h.feed(&failure_conf(4242, 17));
    assert!(h.events().is_empty());
}

#[test]
fn requests_time_out_and_late_answers_are_ignored() {
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    h.advance_secs(1);
    let invoke = h.phone.command(h.now, Command::Ready).unwrap();
    let pending: Vec<_> = h.phone.pending_requests().copied().collect();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].deadline, Instant::from_secs(11));
    assert_eq!(h.phone.poll_timeout(), Some(Instant::from_secs(11)));
    h.advance_ms(9_999);
    assert!(h.events().is_empty());
    h.advance_ms(1);
    assert_eq!(
        h.events(),
        [Event::RequestTimedOut {
            invoke_id: invoke,
            request: RequestKind::SetAgentState
        }]
    );
    assert_eq!(h.phone.pending_requests().count(), 0);
    h.feed(&conf(MessageType::SetAgentStateConf, invoke.value()));
    assert!(h.events().is_empty());
}

#[test]
fn pending_table_and_transmit_queue_limits_refuse_commands() {
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    for _ in 0..8 {
        h.phone.command(h.now, Command::Ready).unwrap();
    }
    assert_eq!(
        h.phone.command(h.now, Command::Ready),
        Err(CommandError::TooManyPending)
    );

    // 128 bytes hold OPEN_REQ, or two SET_AGENT_STATE_REQs but not three.
    let phone: Phone<4, 512, 8, 128, 16> = Phone::new(config());
    let mut h = Harness::with_phone(phone);
    h.open(AVAILABLE);
    h.phone.command(h.now, Command::Ready).unwrap();
    h.phone.command(h.now, Command::Ready).unwrap();
    assert_eq!(
        h.phone.command(h.now, Command::Ready),
        Err(CommandError::TransmitQueueFull)
    );
    assert_eq!(h.phone.pending_requests().count(), 2);
    assert_eq!(h.sent().len(), 2);
    h.phone.command(h.now, Command::Ready).unwrap();
}

/// Calls 100 connected, 200 held, 300 alerting, all at the agent's extension.
fn three_calls() -> Harness {
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    for (id, events) in [
        (100, &[MessageType::CallEstablishedEvent][..]),
        (
            200,
            &[
                MessageType::CallEstablishedEvent,
                MessageType::CallHeldEvent,
            ][..],
        ),
        (300, &[MessageType::CallDeliveredEvent][..]),
    ] {
        h.feed(&begin_call(id, CALLTYPE_ACD_IN, &[]));
        for ty in events {
            h.feed(&call_event(*ty, id, LCS_NONE, "4020"));
        }
    }
    h.events();
    h
}

#[test]
fn call_commands_pick_the_right_call_and_fields() {
    type Check = fn(&ccx_cti::wire::Message<'_>);
    let cases: [(Command<'_>, MessageType, Check); 9] = [
        (
            Command::Answer { call: None },
            MessageType::AnswerCallReq,
            |m| {
                assert_eq!(
                    m.get(fields::answer_call_req::CONNECTION_CALL_ID),
                    Some(300)
                );
                assert_eq!(m.string(tag::CONNECTION_DEVICE_ID), Some("4020"));
                assert_eq!(m.string(tag::AGENT_INSTRUMENT), Some("4020"));
            },
        ),
        (
            Command::Hold { call: None },
            MessageType::HoldCallReq,
            |m| {
                assert_eq!(m.get(fields::hold_call_req::CONNECTION_CALL_ID), Some(100));
            },
        ),
        (
            Command::Retrieve { call: None },
            MessageType::RetrieveCallReq,
            |m| {
                assert_eq!(m.get(fields::retrieve_call_req::HELD_CALL_ID), Some(200));
                assert_eq!(m.string(tag::HELD_CONNECTION_DEVICE_ID), Some("4020"));
            },
        ),
        (
            Command::Release { call: None },
            MessageType::ClearConnectionReq,
            |m| {
                assert_eq!(
                    m.get(fields::clear_connection_req::CONNECTION_CALL_ID),
                    Some(100)
                );
                assert_eq!(m.string(tag::CONNECTION_DEVICE_ID), Some("4020"));
            },
        ),
        (
            Command::Dtmf { digits: "12#" },
            MessageType::SendDtmfSignalReq,
            |m| {
                assert_eq!(
                    m.get(fields::send_dtmf_signal_req::CONNECTION_CALL_ID),
                    Some(100)
                );
                assert_eq!(m.string(tag::DTMF_STRING), Some("12#"));
            },
        ),
        (
            Command::Dial { number: "5551234" },
            MessageType::MakeCallReq,
            |m| {
                assert_eq!(m.string(tag::DIALED_NUMBER), Some("5551234"));
                assert_eq!(m.string(tag::AGENT_INSTRUMENT), Some("4020"));
            },
        ),
        (
            Command::Consult { number: "4021" },
            MessageType::ConsultationCallReq,
            |m| {
                use fields::consultation_call_req as f;
                assert_eq!(m.get(f::ACTIVE_CALL_ID), Some(100));
                assert_eq!(m.string(tag::ACTIVE_CONNECTION_DEVICE_ID), Some("4020"));
                assert_eq!(m.string(tag::DIALED_NUMBER), Some("4021"));
            },
        ),
        (Command::Transfer, MessageType::TransferCallReq, |m| {
            use fields::transfer_call_req as f;
            assert_eq!(m.get(f::ACTIVE_CALL_ID), Some(100));
            assert_eq!(m.get(f::HELD_CALL_ID), Some(200));
            assert_eq!(m.field(tag::AGENT_INSTRUMENT), None);
        }),
        (Command::Conference, MessageType::ConferenceCallReq, |m| {
            // Held before Active on the wire.
            assert_eq!(m.body()[8..12], 200u32.to_be_bytes());
            assert_eq!(m.body()[12..16], 100u32.to_be_bytes());
            assert_eq!(m.string(tag::HELD_CONNECTION_DEVICE_ID), Some("4020"));
            assert_eq!(m.string(tag::AGENT_INSTRUMENT), Some("4020"));
        }),
    ];
    for (command, ty, check) in cases {
        let mut h = three_calls();
        let invoke = h.phone.command(h.now, command).unwrap();
        let sent = h.sent_one(ty);
        let msg = decoded(&sent);
        assert_eq!(msg.invoke_id(), Some(invoke.value()));
        check(&msg);
        let pending: Vec<_> = h.phone.pending_requests().map(|p| p.invoke_id).collect();
        assert_eq!(pending, [invoke]);
    }
}

#[test]
fn a_reservation_is_never_answered() {
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    h.feed(&begin_call(
        400,
        CALLTYPE_RESERVATION,
        &[("BAStatus", "DO")],
    ));
    h.feed(&call_event(
        MessageType::CallDeliveredEvent,
        400,
        LCS_ALERTING,
        "4020",
    ));
    assert_eq!(
        h.phone.command(h.now, Command::Answer { call: Some(400) }),
        Err(CommandError::InvalidState)
    );
    assert_eq!(
        h.phone.command(h.now, Command::Answer { call: None }),
        Err(CommandError::NoSuchCall)
    );
    // BAStatus DO alone makes a reservation too.
    h.feed(&begin_call(401, CALLTYPE_ACD_IN, &[("BAStatus", "DO")]));
    assert_eq!(
        h.phone.command(h.now, Command::Answer { call: Some(401) }),
        Err(CommandError::InvalidState)
    );
    assert!(h.sent().is_empty());
}

#[test]
fn reclassify_callback_and_set_var_go_to_the_customer_call() {
    let mut h = three_calls();
    h.feed(&begin_call(500, CALLTYPE_ACD_IN, &[("BAStatus", "CO")]));
    let cases: [(Command<'_>, u32, &str, &str); 3] = [
        (
            Command::Reclassify { value: "REX_FAX" },
            500,
            "BAResponse",
            "REX_FAX",
        ),
        (
            Command::Callback {
                date: "12312026",
                time: "09:30",
            },
            500,
            "BAResponse",
            "Callback 12312026 09:30",
        ),
        (
            Command::SetVar {
                name: "user.note",
                value: "vip",
                call: Some(100),
            },
            100,
            "user.note",
            "vip",
        ),
    ];
    for (command, call, name, value) in cases {
        h.phone.command(h.now, command).unwrap();
        let sent = h.sent_one(MessageType::SetCallDataReq);
        let msg = decoded(&sent);
        assert_eq!(
            msg.get(fields::set_call_data_req::CONNECTION_CALL_ID),
            Some(call)
        );
        let vars: Vec<_> = msg.named_vars().map(|v| (v.name, v.value)).collect();
        assert_eq!(vars, [(name, value)]);
    }
}

/// Requests are encoded straight into the transmit queue's free space: after a partial drain
/// the next request goes behind the frame still queued, and all come out whole and in order.
#[test]
fn requests_encoded_into_the_queue_come_out_whole_after_a_partial_drain() {
    // 128 bytes: two SET_AGENT_STATE_REQs (47 each), not three.
    let phone: Phone<4, 512, 8, 128, 16> = Phone::new(config());
    let mut h = Harness::with_phone(phone);
    h.open(AVAILABLE);
    let first = h.phone.command(h.now, Command::Ready).unwrap();
    let second = h
        .phone
        .command(h.now, Command::NotReady { reason: 7.into() })
        .unwrap();
    let mut buf = [0u8; 128];
    let len = h.phone.poll_transmit(&mut buf).unwrap();
    assert_eq!(decoded(&buf[..len]).invoke_id().map(InvokeId), Some(first));
    let third = h.phone.command(h.now, Command::Ready).unwrap();
    let sent = h.sent();
    let ids: Vec<_> = sent
        .iter()
        .map(|f| decoded(f).invoke_id().map(InvokeId))
        .collect();
    assert_eq!(ids, [Some(second), Some(third)]);
    use fields::set_agent_state_req as f;
    assert_eq!(
        decoded(&sent[0]).get(f::AGENT_STATE),
        Some(AgentState::NotReady)
    );
    assert_eq!(
        decoded(&sent[1]).get(f::AGENT_STATE),
        Some(AgentState::Available)
    );
}

/// A transmit queue shorter than OPEN_REQ could never send it: the phone says how many bytes
/// the frame needs and stops instead of retrying for ever.
#[test]
fn a_transmit_queue_shorter_than_open_req_is_reported() {
    let phone: Phone<4, 512, 8, 64, 16> = Phone::new(config());
    let mut h = Harness::with_phone(phone);
    h.connect();
    let events = h.events();
    let Some(Event::TransmitBufferTooSmall { needed, capacity }) = events.first().copied() else {
        panic!("no report of the short queue: {events:?}");
    };
    assert_eq!(capacity, 64);
    assert!(needed > 64, "OPEN_REQ takes {needed} bytes");
    assert!(matches!(
        events.get(1),
        Some(Event::SessionLost {
            reason: ccx_cti::phone::SessionEndReason::InvalidConfiguration,
            reconnect_at: None
        })
    ));
    assert!(h.sent().is_empty());
}
