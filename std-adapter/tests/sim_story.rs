//! `ccx sim --story preview`: the simulator runs the firmware's scripted server
//! (`ccx-cti-preview-story`), and the real phone core meets over TCP the same story, event
//! for event, as the firmware's in-memory run.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant as StdInstant};

use ccx_cti::phone::{Event, Instant, Phone, TransportAction};
use ccx_cti_preview_story::{
    check_final_state, play_in_memory_observed, story_config, Ending, PreviewAgent, PORT,
};
use ccx_cti_std::sim::{SimConfig, Simulator, Story};

/// The longest a story may take over loopback.
const LIMIT: Duration = Duration::from_secs(10);

/// The events the phone reports when the story is played in memory (the firmware's test).
fn in_memory_events() -> Vec<Event> {
    let mut phone: Phone = Phone::new(story_config("10.0.0.1", PORT));
    let mut events = Vec::new();
    play_in_memory_observed(&mut phone, |e| events.push(*e)).unwrap();
    events
}

/// Play the story with the phone core over a TCP connection to `addr`, pressing the agent's
/// buttons as the firmware does; returns the phone's events once the agent is done, after
/// the final-state check.
fn play_over_tcp(addr: SocketAddr) -> Vec<Event> {
    let mut phone: Phone = Phone::new(story_config(&addr.ip().to_string(), addr.port()));
    let mut agent = PreviewAgent::new(Ending::Available);
    let mut stream: Option<TcpStream> = None;
    let mut events = Vec::new();
    let (mut out, mut inbuf) = ([0u8; 4096], [0u8; 4096]);
    let start = StdInstant::now();
    let now = || Instant::from_millis(u64::try_from(start.elapsed().as_millis()).unwrap());
    while !agent.done() {
        assert!(start.elapsed() < LIMIT, "the story stalled: {events:?}");
        while let Some(action) = phone.poll_transport(now()) {
            match action {
                TransportAction::Connect { .. } => {
                    let s = TcpStream::connect(addr).unwrap();
                    s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
                    s.set_nodelay(true).unwrap();
                    stream = Some(s);
                    phone.connected(now());
                }
                TransportAction::Disconnect => {
                    stream = None;
                    phone.disconnected(now());
                }
            }
        }
        let s = stream.as_mut().expect("the phone connects first");
        while let Some(n) = phone.poll_transmit(&mut out) {
            s.write_all(&out[..n]).unwrap();
        }
        match s.read(&mut inbuf) {
            Ok(0) => panic!("the simulator closed the connection: {events:?}"),
            Ok(n) => phone.handle_bytes(now(), &inbuf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("read: {e}"),
        }
        if phone.poll_timeout().is_some_and(|t| t <= now()) {
            phone.handle_timeout(now());
        }
        while let Some(event) = phone.poll_event() {
            events.push(event);
            if let Some(command) = agent.on_event(&event) {
                phone.command(now(), command).unwrap();
            }
        }
    }
    check_final_state(&phone, Ending::Available).unwrap();
    events
}

#[test]
fn the_phone_meets_the_firmware_story_over_tcp() {
    let sim = Simulator::start_story(SimConfig::loopback(), Story::Preview).unwrap();
    let expected = in_memory_events();
    assert!(expected.len() > 10, "{expected:?}");
    assert_eq!(play_over_tcp(sim.addr()), expected);
    let c = sim.counters();
    assert_eq!(c.sessions_opened, 1);
    assert_eq!(c.reservations_offered, 2);
    assert_eq!(c.contacts.get("skipped"), Some(&1), "{c:?}");
    assert_eq!(c.contacts.get("accepted"), Some(&1), "{c:?}");
    assert_eq!(c.requests_refused, 0);
}

#[test]
fn every_connection_gets_its_own_script() {
    let sim = Simulator::start_story(SimConfig::loopback(), Story::Preview).unwrap();
    let addr = sim.addr();
    let phones: Vec<_> = (0..3)
        .map(|_| std::thread::spawn(move || play_over_tcp(addr)))
        .collect();
    let expected = in_memory_events();
    for p in phones {
        assert_eq!(p.join().unwrap(), expected);
    }
    assert_eq!(sim.counters().contacts.get("accepted"), Some(&3));
}

#[test]
fn a_phone_that_leaves_the_script_is_closed() {
    let sim = Simulator::start_story(SimConfig::loopback(), Story::Preview).unwrap();
    let mut s = TcpStream::connect(sim.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    // A HEARTBEAT_REQ is fine at any stage; a CLOSE_CONF (a server's message) never is.
    let mut frame = [0u8; 12];
    frame[..4].copy_from_slice(&4u32.to_be_bytes());
    frame[4..8].copy_from_slice(&ccx_cti::wire::MessageType::CloseConf.id().to_be_bytes());
    s.write_all(&frame).unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest)
        .expect("the simulator closes the connection");
    assert!(rest.is_empty(), "no reply to a message out of the script");
    assert_eq!(sim.counters().requests_refused, 1);
}

#[test]
fn ccx_sim_story_preview_serves_the_story() {
    let mut child = Process::new(env!("CARGO_BIN_EXE_ccx"))
        .args(["sim", "--story", "preview", "--listen", "127.0.0.1:0"])
        .args(["--duration", "8", "--log", "warn"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    out.read_line(&mut banner).unwrap();
    assert!(banner.contains("(the preview story)"), "{banner}");
    let needle = "listening on ";
    let at = banner.find(needle).unwrap() + needle.len();
    let addr: SocketAddr = banner[at..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let events = play_over_tcp(addr);
    assert_eq!(events, in_memory_events());
    let mut summary = String::new();
    out.read_to_string(&mut summary).unwrap();
    assert!(child.wait().unwrap().success());
    assert!(
        summary.contains("contact answers: accepted 1, skipped 1"),
        "{summary}"
    );
}
