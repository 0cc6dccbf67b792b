//! The outbound preview flows of tests/flows (skip and accept), driven through
//! `handle_bytes` with the server's messages built by the wire encoder.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod phone_support;

use ccx_cti::phone::{AgentReason, Command, Event, PreviewAnswer, RequestKind, SessionState};
use ccx_cti::wire::{tag, AgentState, CallType, LocalConnectionState, MessageType};
use phone_support::*;

const RESERVED: u32 = 8;

/// The reservation's BEGIN_CALL_EVENT and CALL_DELIVERED_EVENT as the guide prints them.
fn offer(h: &mut Harness, call: u32) {
    h.feed(&agent_state_event(RESERVED, 0));
    h.feed(&frame(
        MessageType::BeginCallEvent,
        &[
            ("NumCTIClients", 0),
            ("NumNamedArrays", 0),
            ("CallType", CALLTYPE_RESERVATION),
            ("ConnectionDeviceType", 0),
            ("ConnectionCallID", call),
            ("CalledPartyDisposition", 0),
        ],
        &[(tag::CONNECTION_DEVICE_ID, "4020")],
        &[
            ("BACampaign", "LoadCamp"),
            ("BACampaignID", ""),
            ("BAStatus", "DO"),
            ("BAResponse", ""),
            ("user.layout", "OODefault"),
            ("BAAccountNumber", "AC111"),
            ("BADialedListID", "20779"),
            ("BABuddyName", "John,Doe"),
        ],
    ));
    h.feed(&frame(
        MessageType::CallDeliveredEvent,
        &[
            ("ConnectionCallID", call),
            ("LocalConnectionState", LCS_ALERTING),
            ("EventCause", 22),
        ],
        &[
            (tag::ALERTING_DEVICE_ID, "4020"),
            (tag::CONNECTION_DEVICE_ID, "4020"),
            (tag::CALLED_DEVICE_ID, "4020"),
        ],
        &[],
    ));
}

/// The exact SET_CALL_DATA_REQ the guide shows for a preview answer on `call`.
fn expected_answer(invoke_id: u32, call: u32, response: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&invoke_id.to_be_bytes());
    body.extend_from_slice(&1u32.to_be_bytes()); // reserved PeripheralID
    body.extend_from_slice(&0u16.to_be_bytes()); // ConnectionDeviceType STATIC
    body.extend_from_slice(&call.to_be_bytes());
    body.extend_from_slice(&1u16.to_be_bytes()); // NumNamedVariables
    body.extend_from_slice(&0u16.to_be_bytes()); // NumNamedArrays
    body.extend_from_slice(&18u16.to_be_bytes()); // CallType echoed
    body.extend_from_slice(&0u16.to_be_bytes()); // CalledPartyDisposition echoed
    body.extend_from_slice(&0u32.to_be_bytes()); // reserved
    body.extend_from_slice(&1u32.to_be_bytes()); // reserved, 1 as documented
    body.extend_from_slice(&[25, 5, b'4', b'0', b'2', b'0', 0]);
    let var_len = u8::try_from("BAResponse".len() + response.len() + 2).unwrap();
    body.extend_from_slice(&[82, var_len]);
    body.extend_from_slice(b"BAResponse\0");
    body.extend_from_slice(response.as_bytes());
    body.push(0);
    let mut frame = Vec::new();
    frame.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(&26u32.to_be_bytes());
    frame.extend_from_slice(&body);
    frame
}

fn run_preview_flow(call: u32, answer: PreviewAnswer) {
    let mut h = Harness::new(config());
    h.open(AVAILABLE);

    // Step: the reservation is offered.
    offer(&mut h, call);
    assert_eq!(h.phone.agent().state, AgentState::Reserved);
    assert_eq!(h.phone.preview().map(|c| c.id), Some(call));
    let c = h.phone.call(call).unwrap();
    assert_eq!(c.call_type, CallType::Reservation);
    assert_eq!(c.state, LocalConnectionState::Alerting);
    assert_eq!(c.var("BAStatus"), Some("DO"));
    assert_eq!(c.var("BABuddyName"), Some("John,Doe"));
    assert_eq!(c.var("BACampaign"), Some("LoadCamp"));
    assert_eq!(c.var("BAAccountNumber"), Some("AC111"));
    let events = h.events();
    assert!(events.contains(&Event::PreviewOffered { call }));
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Event::PreviewOffered { .. }))
            .count(),
        1,
        "BEGIN_CALL and CALL_DELIVERED offer the reservation once"
    );

    // Step: the agent answers; exactly one SET_CALL_DATA_REQ, byte for byte.
    let invoke = h.phone.command(h.now, Command::Preview(answer)).unwrap();
    let sent = h.sent_one(MessageType::SetCallDataReq);
    assert_eq!(
        sent,
        expected_answer(invoke.value(), call, answer.ba_response())
    );
    let msg = decoded(&sent);
    use ccx_cti::wire::fields::set_call_data_req as f;
    assert_eq!(msg.get(f::CONNECTION_CALL_ID), Some(call));
    assert_eq!(msg.get(f::NUM_NAMED_VARIABLES), Some(1));
    assert_eq!(msg.string(tag::CONNECTION_DEVICE_ID), Some("4020"));
    assert_eq!(msg.named_var("BAResponse"), Some(answer.ba_response()));
    assert!(h.phone.preview().is_none());
    assert!(h.events().contains(&Event::PreviewEnded { call }));
    assert!(h.phone.command(h.now, Command::Preview(answer)).is_err());
    assert_eq!(
        h.events(),
        [Event::CommandRefused {
            command: ccx_cti::phone::CommandKind::Preview,
            why: ccx_cti::phone::CommandError::NoPreview
        }],
        "a second answer is refused, and the refusal is an event"
    );

    // Step: the server confirms, the agent becomes available, an untracked call ends.
    h.feed(&conf(MessageType::SetCallDataConf, invoke.value()));
    h.feed(&agent_state_event(AVAILABLE, 0));
    h.feed(&end_call(16_800_095));
    let events = h.events();
    assert_eq!(
        events,
        vec![
            Event::RequestSucceeded {
                invoke_id: invoke,
                request: RequestKind::SetCallData
            },
            Event::AgentStateChanged {
                state: AgentState::Available,
                reason: AgentReason::None
            },
        ],
        "END_CALL of an untracked call is ignored silently"
    );

    // Step: the echo of the answer on the reservation call.
    h.feed(&frame(
        MessageType::CallDataUpdateEvent,
        &[
            ("CallType", CALLTYPE_RESERVATION),
            ("ConnectionCallID", call),
            ("NewConnectionCallID", call),
        ],
        &[
            (tag::CONNECTION_DEVICE_ID, "4020"),
            (tag::NEW_CONNECTION_DEVICE_ID, "4020"),
            (tag::CUSTOMER_PHONE_NUMBER, ""),
            (tag::CUSTOMER_ACCOUNT_NUMBER, ""),
        ],
        &[("BAResponse", answer.ba_response())],
    ));
    let c = h.phone.call(call).unwrap();
    assert_eq!(c.var("BAResponse"), Some(answer.ba_response()));
    assert_eq!(c.var("BACampaign"), Some("LoadCamp"));
    assert!(
        h.phone.preview().is_none(),
        "the echo does not offer it again"
    );
    assert_eq!(h.sent().len(), 0);

    // Step: the reservation is cleared.
    h.feed(&frame(
        MessageType::CallConnectionClearedEvent,
        &[
            ("ConnectionCallID", call),
            ("ReleasingDeviceType", 76),
            ("LocalConnectionState", LCS_NONE),
            ("EventCause", 0xFFFF),
        ],
        &[
            (tag::CONNECTION_DEVICE_ID, "4020"),
            (tag::RELEASING_DEVICE_ID, "4020"),
        ],
        &[],
    ));
    h.feed(&call_event(
        MessageType::CallClearedEvent,
        call,
        LCS_NULL,
        "4020",
    ));
    h.feed(&end_call(call));
    assert_eq!(h.phone.calls().count(), 0);
    assert!(h.phone.preview().is_none());
    assert_eq!(h.phone.agent().state, AgentState::Available);
    assert_eq!(h.phone.session().state, SessionState::Open);
    assert_eq!(
        h.events()
            .iter()
            .filter(|e| **e == Event::CallRemoved { call })
            .count(),
        1
    );
}

#[test]
fn outbound_skip_flow() {
    run_preview_flow(16_800_098, PreviewAnswer::Skip);
}

#[test]
fn outbound_accept_flow() {
    run_preview_flow(16_800_097, PreviewAnswer::Accept);
}
