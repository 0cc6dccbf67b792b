//! Unit tests of the phone's building blocks; the behaviour of the whole phone is tested
//! through its public API in `core/tests/phone_*.rs`.

use std::format;
use std::println;
use std::string::ToString;

use super::events::EventQueue;
use super::tx::TxQueue;
use super::*;
use crate::wire::{ControlFailureCode, DecodeErrorKind, PeripheralErrorCode, StatusCode};

#[test]
fn phone_size_with_default_capacities() {
    let size = core::mem::size_of::<Engine>();
    println!("size_of::<Engine>() = {size} bytes");
    // The default phone without its frame buffer must stay small enough for a
    // microcontroller's static memory.
    assert!(size <= 8 * 1024, "Engine is {size} bytes");
    let frame = core::mem::size_of::<crate::wire::FrameAccumulator>();
    assert!(core::mem::size_of::<Phone>() <= size + frame + 8);
}

fn heartbeat(invoke: u8) -> [u8; 12] {
    [0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, invoke]
}

#[test]
fn tx_queue_hands_out_whole_frames_in_order() {
    let mut q: TxQueue<32> = TxQueue::new();
    assert!(q.push_frame(&heartbeat(1)));
    assert!(q.push_frame(&heartbeat(2)));
    let mut small = [0u8; 11];
    assert_eq!(
        q.pop_frame(&mut small),
        None,
        "a short buffer leaves the frame queued"
    );
    let mut buf = [0u8; 64];
    assert_eq!(q.pop_frame(&mut buf), Some(12));
    assert_eq!(buf[..12], heartbeat(1));
    assert_eq!(q.pop_frame(&mut buf), Some(12));
    assert_eq!(buf[..12], heartbeat(2));
    assert_eq!(q.pop_frame(&mut buf), None);
}

#[test]
fn tx_queue_refuses_a_frame_that_does_not_fit() {
    let mut q: TxQueue<30> = TxQueue::new();
    assert!(q.push_frame(&heartbeat(1)));
    assert!(q.push_frame(&heartbeat(2)));
    assert!(!q.push_frame(&heartbeat(3)), "6 bytes left, 12 needed");
    let mut buf = [0u8; 64];
    assert_eq!(q.pop_frame(&mut buf), Some(12));
    assert!(q.push_frame(&heartbeat(3)));
    assert_eq!(q.pop_frame(&mut buf), Some(12));
    assert_eq!(buf[11], 2);
    assert_eq!(q.pop_frame(&mut buf), Some(12));
    assert_eq!(buf[11], 3);
}

#[test]
fn event_queue_drops_the_oldest_and_reports_the_loss_first() {
    let mut q: EventQueue<2> = EventQueue::new();
    for call in 1..=5 {
        q.push(Event::CallAdded { call });
    }
    assert_eq!(q.pop(), Some(Event::EventsLost { count: 3 }));
    assert_eq!(q.pop(), Some(Event::CallAdded { call: 4 }));
    assert_eq!(q.pop(), Some(Event::CallAdded { call: 5 }));
    assert_eq!(q.pop(), None);
}

fn call_with_capacity<const N: usize>() -> Call<N> {
    Call::new(1)
}

#[test]
fn named_variables_replace_by_name_and_append_otherwise() {
    let mut call: Call<64> = call_with_capacity();
    assert!(call.set_var("BAStatus", "DO"));
    assert!(call.set_var("BAResponse", ""));
    assert!(call.set_var("BAStatus", "CO"));
    let vars: std::vec::Vec<_> = call.vars().collect();
    assert_eq!(vars, [("BAResponse", ""), ("BAStatus", "CO")]);
    assert!(!call.is_reservation());
}

#[test]
fn named_variable_storage_full_keeps_the_old_value() {
    // 20 bytes: "a\0" + "0123456789\0" = 13, then "b\0xxxxxx\0" (9) does not fit.
    let mut call: Call<20> = call_with_capacity();
    assert!(call.set_var("a", "0123456789"));
    assert!(!call.set_var("b", "xxxxxx"));
    assert!(!call.set_var("a", "0123456789012345678"));
    assert_eq!(call.var("a"), Some("0123456789"));
    assert!(
        call.set_var("a", "short"),
        "a replacement may use the bytes it frees"
    );
    assert_eq!(call.var("a"), Some("short"));
}

#[test]
fn event_text_is_plain_english() {
    let cases: [(Event, &str); 6] = [
        (
            Event::RequestFailed {
                invoke_id: InvokeId(5),
                request: RequestKind::SetAgentState,
                refusal: Refusal::Control {
                    failure: ControlFailureCode::from_value(17),
                    peripheral_error: PeripheralErrorCode::from_value(88005),
                },
            },
            "request 5 (SET_AGENT_STATE_REQ) failed: status 17, peripheral error 88005",
        ),
        (
            Event::SessionLost {
                reason: SessionEndReason::HeartbeatTimeout,
                reconnect_at: Some(Instant::from_secs(90)),
            },
            "session lost: heartbeats unanswered; next attempt at 90000 ms",
        ),
        (
            Event::CallTableFull { call: 123 },
            "call table full: call 123 not tracked",
        ),
        (
            Event::SessionLost {
                reason: SessionEndReason::OpenRefused {
                    status: StatusCode::InvalidVersion,
                },
                reconnect_at: None,
            },
            "session lost: OPEN_REQ refused with status 1 (E_CTI_INVALID_VERSION); not reconnecting",
        ),
        (
            Event::RequestTimedOut {
                invoke_id: InvokeId(9),
                request: RequestKind::Answer,
            },
            "request 9 (ANSWER_CALL_REQ) timed out",
        ),
        (
            Event::EventsLost { count: 3 },
            "3 events lost: the event queue was full",
        ),
    ];
    for (event, text) in cases {
        assert!(
            event.to_string().starts_with(text),
            "{event:?} printed {:?}",
            event.to_string()
        );
    }
    let malformed = Event::MalformedMessage {
        error: crate::wire::DecodeError {
            kind: DecodeErrorKind::FieldHeaderCut,
            offset: 20,
            message_type: 9,
        },
    };
    assert_eq!(
        format!("{malformed}"),
        "malformed message: CALL_DELIVERED_EVENT at byte 20: body ends inside a floating field's tag or length"
    );
}
