//! The phone (through the std driver) against the simulator's fault flags over loopback TCP:
//! dropped connections, random drops, delayed replies, unanswered heartbeats, corrupt and
//! truncated frames, unknown messages and tags. Every wait is bounded; nothing asserts on
//! wall-clock durations.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;
use support::*;

use std::time::{Duration, Instant};

use ccx_cti::phone::{Event, SessionEndReason, SessionState};
use ccx_cti::wire::AgentState;
use ccx_cti_std::sim::{Faults, SimConfig, Simulator};

fn faulty(faults: Faults) -> (Simulator, TestPhone) {
    let sim = Simulator::start(SimConfig {
        faults,
        ..SimConfig::loopback()
    })
    .unwrap();
    let mut cfg = config(&[sim.addr()]);
    cfg.heartbeat_secs = 1;
    cfg.missed_heartbeats = 2;
    cfg.request_timeout_secs = 2;
    let phone = TestPhone::start(cfg);
    (sim, phone)
}

fn opened(e: &Event) -> bool {
    matches!(e, Event::SessionOpened { .. })
}

#[test]
fn fault_drop_after_n_messages_the_phone_reconnects() {
    let (sim, mut phone) = faulty(Faults {
        drop_after: Some(4),
        ..Faults::default()
    });
    let end = Instant::now() + LIMIT;
    while phone.count(opened) < 2 {
        assert!(Instant::now() < end, "{:?}", phone.events);
        phone.pump();
    }
    assert!(phone.count(|e| matches!(e, Event::SessionLost { .. })) >= 1);
    assert!(
        sim.counters()
            .faults
            .get("drop-after")
            .copied()
            .unwrap_or(0)
            >= 1
    );
}

#[test]
fn fault_random_drops_the_phone_reconnects() {
    let (sim, mut phone) = faulty(Faults {
        drop_probability: 0.5,
        seed: 7,
        ..Faults::default()
    });
    let end = Instant::now() + LIMIT;
    while phone.count(opened) < 2 {
        assert!(Instant::now() < end, "{:?}", phone.events);
        phone.pump();
    }
    assert!(
        sim.counters()
            .faults
            .get("drop-random")
            .copied()
            .unwrap_or(0)
            >= 1
    );
}

#[test]
fn fault_delayed_replies_still_log_in() {
    let (_sim, mut phone) = faulty(Faults {
        delay_ms: 30,
        ..Faults::default()
    });
    phone.login_ready();
    phone.state(AgentState::Available);
}

#[test]
fn fault_unanswered_heartbeats_end_the_session_and_it_comes_back() {
    let (_sim, mut phone) = faulty(Faults {
        ignore_heartbeats: true,
        ..Faults::default()
    });
    phone.wait_event("a heartbeat timeout", |e| {
        matches!(
            e,
            Event::SessionLost {
                reason: SessionEndReason::HeartbeatTimeout,
                ..
            }
        )
    });
    let end = Instant::now() + LIMIT;
    while phone.count(opened) < 2 {
        assert!(Instant::now() < end, "{:?}", phone.events);
        phone.pump();
    }
}

#[test]
fn fault_corrupt_frames_are_reported_and_skipped() {
    let (_sim, mut phone) = faulty(Faults {
        corrupt_every: Some(5),
        ..Faults::default()
    });
    phone.wait_event("a malformed message", |e| {
        matches!(e, Event::MalformedMessage { .. })
    });
    // Skipped: the session goes on (no reconnect) and later frames are still handled
    // (heartbeats every second are answered).
    let (_, received) = phone.handle.frames();
    let end = Instant::now() + Duration::from_millis(2500);
    while Instant::now() < end {
        phone.pump();
    }
    assert!(
        phone.handle.frames().1 > received,
        "nothing handled after the bad frame"
    );
    assert_eq!(phone.handle.view().session.state, SessionState::Open);
    assert_eq!(phone.count(opened), 1, "reconnected: {:?}", phone.events);
    assert_eq!(
        phone.count(|e| matches!(e, Event::SessionLost { .. })),
        0,
        "{:?}",
        phone.events
    );
}

#[test]
fn fault_truncated_frames_end_the_session_and_it_comes_back() {
    let (sim, mut phone) = faulty(Faults {
        truncate_every: Some(3),
        ..Faults::default()
    });
    let end = Instant::now() + LIMIT;
    while phone.count(opened) < 2 {
        assert!(Instant::now() < end, "{:?}", phone.events);
        phone.pump();
    }
    assert!(sim.counters().faults.get("truncate").copied().unwrap_or(0) >= 1);
    // It came back because the session ended: a cut frame leaves the stream unframeable or
    // the server waits on bytes that never come.
    assert!(
        phone.count(|e| matches!(e, Event::SessionLost { .. })) >= 1,
        "{:?}",
        phone.events
    );
}

#[test]
fn fault_unknown_messages_and_tags_are_tolerated() {
    let (_sim, mut phone) = faulty(Faults {
        unknown_message_every: Some(2),
        unknown_tags: true,
        ..Faults::default()
    });
    phone.login_ready();
    phone.state(AgentState::Available);
    phone.wait_event("an unexpected message report", |e| {
        matches!(e, Event::UnexpectedMessage { message_type: 9999 })
    });
    assert_eq!(phone.count(opened), 1, "no reconnect: {:?}", phone.events);
}

// ---- a real Unified CCX: behaviours the simulator plays on demand -----------------
