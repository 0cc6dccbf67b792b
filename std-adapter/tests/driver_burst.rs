//! A burst of events in one TCP read reaches the application whole: the driver hands the
//! phone one frame at a time and passes its events on after each, so the phone's 16-slot event
//! queue never overflows. Before, 20 state events in one read lost 3; this test's 1,000 lost 986.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use ccx_cti::config::{PhoneConfig, ServerAddr};
use ccx_cti::phone::{Event, SessionEndReason};
use ccx_cti::wire::{
    decode, fields, message_def, tag, AgentState, Encoder, FeedResult, FrameAccumulator,
    MessageType, WireVersion,
};
use ccx_cti_std::driver::{spawn, DriverEvent, DriverOptions};

const BURST: u32 = 1000;

fn agent_state_event(state: AgentState, reason: u32) -> Vec<u8> {
    let ty = MessageType::AgentStateEvent;
    let layout = message_def(ty.id()).and_then(|d| d.layout).unwrap();
    let mut buf = vec![0u8; 1024];
    let mut enc = Encoder::new(&mut buf, ty, WireVersion::DEFAULT);
    for (label, value) in [
        ("AgentState", u32::from(state.value())),
        ("EventReasonCode", reason),
    ] {
        let (index, _) = layout.fixed_named(label).unwrap();
        enc.set_fixed_raw(index, value);
    }
    enc.string(tag::AGENT_ID, "chli4020")
        .string(tag::AGENT_EXTENSION, "4020");
    let n = enc.finish().unwrap();
    buf.truncate(n);
    buf
}

fn open_conf(invoke_id: u32) -> Vec<u8> {
    let mut buf = vec![0u8; 256];
    let mut enc = Encoder::new(&mut buf, MessageType::OpenConf, WireVersion::DEFAULT);
    enc.set(fields::open_conf::INVOKE_ID, invoke_id)
        .set(fields::open_conf::SERVICES_GRANTED, 7);
    let n = enc.finish().unwrap();
    buf.truncate(n);
    buf
}

/// Read frames from `stream` until one of type `ty`; its InvokeID.
fn wait_for(stream: &mut std::net::TcpStream, ty: MessageType) -> u32 {
    let mut acc: Box<FrameAccumulator> = Box::default();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "the phone closed before sending {ty:?}");
        let mut input = &buf[..n];
        while !input.is_empty() {
            match acc.feed(input) {
                FeedResult::Consumed => break,
                FeedResult::Frame { frame, remaining } => {
                    let msg = decode(frame, WireVersion::DEFAULT).unwrap();
                    if msg.message_type() == ty {
                        return msg.invoke_id().unwrap();
                    }
                    input = remaining;
                }
                FeedResult::Error { error, .. } => panic!("{error}"),
            }
        }
    }
}

fn config_for(port: u16) -> PhoneConfig {
    let mut config = PhoneConfig {
        agent_id: "chli4020".try_into().unwrap(),
        agent_extension: "4020".try_into().unwrap(),
        ..PhoneConfig::default()
    };
    config.servers.clear();
    config
        .servers
        .push(ServerAddr {
            host: "127.0.0.1".try_into().unwrap(),
            port,
        })
        .unwrap();
    config.validate().unwrap();
    config
}

#[test]
fn a_frame_too_long_split_across_reads_still_ends_the_session_as_a_framing_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let invoke_id = wait_for(&mut stream, MessageType::OpenReq);
        stream.write_all(&open_conf(invoke_id)).unwrap();
        // A header declaring a 1 MB body, in two writes so that the driver frames it across
        // two reads.
        let mut header = 0x0010_0000u32.to_be_bytes().to_vec();
        stream.write_all(&header[..2]).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        header.extend_from_slice(&MessageType::AgentStateEvent.id().to_be_bytes());
        stream.write_all(&header[2..]).unwrap();
        let mut sink = [0u8; 4096];
        while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
    });
    let handle = spawn(config_for(port), DriverOptions::default()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut reason = None;
    while reason.is_none() && Instant::now() < deadline {
        if let Ok(DriverEvent::Phone {
            event: Event::SessionLost { reason: r, .. },
            ..
        }) = handle.events().recv_timeout(Duration::from_millis(200))
        {
            reason = Some(r);
        }
    }
    assert_eq!(reason, Some(SessionEndReason::FramingError));
    handle.stop();
    let _ = peer.join();
}

#[test]
fn a_burst_of_1000_events_in_one_write_reaches_the_application_whole() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = config_for(port);
    let burst: Vec<u8> = (1..=BURST)
        .flat_map(|reason| {
            let state = if reason % 2 == 0 {
                AgentState::Available
            } else {
                AgentState::NotReady
            };
            agent_state_event(state, reason)
        })
        .collect();
    let peer = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let invoke_id = wait_for(&mut stream, MessageType::OpenReq);
        stream.write_all(&open_conf(invoke_id)).unwrap();
        // All 1,000 frames in one write (about 40 KB: one or a few reads on loopback).
        stream.write_all(&burst).unwrap();
        // Keep the connection up until the test is done reading.
        let mut sink = [0u8; 4096];
        while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
    });

    let handle = spawn(config, DriverOptions::default()).unwrap();
    let mut reasons = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while reasons.len() < BURST as usize && Instant::now() < deadline {
        match handle.events().recv_timeout(Duration::from_millis(200)) {
            // OPEN_CONF may announce the agent's state first, with reason 0; the burst's
            // reasons are 1..=1000.
            Ok(DriverEvent::Phone {
                event: Event::AgentStateChanged { reason, .. },
                ..
            }) if !reason.is_none() => reasons.push(u32::from(reason.code())),
            Ok(DriverEvent::Phone {
                event: Event::EventsLost { count },
                ..
            }) => panic!("{count} events lost"),
            _ => {}
        }
    }
    let expected: Vec<u32> = (1..=BURST).collect();
    assert_eq!(reasons.len(), expected.len(), "events that arrived");
    assert_eq!(reasons, expected);
    let (_, received) = handle.frames();
    assert!(received > u64::from(BURST), "{received} frames counted");
    handle.stop();
    let _ = peer.join();
}

#[test]
fn an_ipv6_server_is_reached() {
    let Ok(listener) = TcpListener::bind("[::1]:0") else {
        eprintln!("SKIP: no IPv6 loopback here");
        return;
    };
    let port = listener.local_addr().unwrap().port();
    let mut config = config_for(port);
    config.servers[0].host = "::1".try_into().unwrap();
    config.validate().unwrap();
    let peer = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let invoke_id = wait_for(&mut stream, MessageType::OpenReq);
        stream.write_all(&open_conf(invoke_id)).unwrap();
        let mut sink = [0u8; 4096];
        while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
    });
    let handle = spawn(config, DriverOptions::default()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut opened = false;
    while !opened && Instant::now() < deadline {
        opened = matches!(
            handle.events().recv_timeout(Duration::from_millis(200)),
            Ok(DriverEvent::Phone {
                event: Event::SessionOpened { .. },
                ..
            })
        );
    }
    assert!(opened, "no session over IPv6");
    handle.stop();
    let _ = peer.join();
}
