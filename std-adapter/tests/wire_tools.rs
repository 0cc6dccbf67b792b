//! The tools for captures and logs: captures the tests make from the simulator through
//! `ccx proxy` (the demo story, every preview answer, an inbound call with hold and transfer,
//! under versions 10, 17 and 18, whole and cut into small segments) decoded by `ccx decode
//! --pcap`, cross-checked against the generated Wireshark dissector under tshark when tshark
//! is installed (CCX_REQUIRE_TSHARK=1 makes its absence a failure, as in CI); the proxy's
//! forwarding compared byte for byte on both sides; the flows it and `--pcap --flow` write
//! replayed; retransmissions and holes reported.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ccx_cti::phone::{PreviewAnswer, SessionState};
use ccx_cti::wire::{AgentState, LocalConnectionState};
use ccx_cti_std::demo::{self, DemoOptions};
use ccx_cti_std::driver::{self, AgentCommand, DriverHandle, DriverOptions, PhoneView};
use ccx_cti_std::flow::{replay_file, FileResult};
use ccx_cti_std::sim::{Campaign, InboundCall, SimConfig, Simulator};
use ccx_cti_std::wiretools::pcap::decode_capture;
use ccx_cti_std::wiretools::proxy::{self, Proxy, ProxyArgs};
use ccx_cti_std::wiretools::DecodeOptions;

const LIMIT: Duration = Duration::from_secs(15);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A directory for this test's files (kept under target/ for CI to look at).
fn out_dir(name: &str) -> PathBuf {
    let dir = match std::env::var_os("CCX_CAPTURE_DIR") {
        Some(d) => PathBuf::from(d),
        None => root().join("target").join("wire-tools"),
    }
    .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn proxy_to(
    server: SocketAddr,
    pcap: Option<PathBuf>,
    flow: Option<PathBuf>,
    segment: usize,
) -> Proxy {
    let args = ProxyArgs {
        listen: "127.0.0.1:0".into(),
        server: server.to_string(),
        pcap,
        flow,
        protocol_version: 17,
        v18_length_width: 1,
        show_secrets: false,
        segment_size: segment,
        connections: None,
    };
    proxy::start(&args, Box::new(std::io::sink())).unwrap()
}

fn wait_finished(proxy: &Proxy, n: usize) {
    let end = Instant::now() + LIMIT;
    while proxy.finished() < n {
        assert!(Instant::now() < end, "the proxy's session did not end");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The demo story through a proxy that records `pcap` (and `flow`).
fn demo_capture(version: u8, segment: usize, pcap: &Path, flow: Option<PathBuf>) {
    let holder: Mutex<Option<Proxy>> = Mutex::new(None);
    let opts = DemoOptions {
        trace: false,
        version,
        ..DemoOptions::default()
    };
    let report = demo::run_via(&opts, &mut std::io::sink(), &|sim| {
        let p = proxy_to(sim, Some(pcap.to_path_buf()), flow.clone(), segment);
        let addr = p.addr();
        *holder.lock().unwrap() = Some(p);
        addr
    });
    assert!(report.completed(), "{:?}", report.failure);
    let p = holder.lock().unwrap().take().unwrap();
    wait_finished(&p, 1);
    p.stop();
}

struct Phone {
    handle: DriverHandle,
}

impl Phone {
    fn start(addr: SocketAddr, version: u8) -> Phone {
        let cfg = demo::phone_config(addr, version);
        Phone {
            handle: driver::spawn(cfg, DriverOptions::default()).unwrap(),
        }
    }
    fn wait(&self, what: &str, done: impl Fn(&PhoneView) -> bool) -> PhoneView {
        let end = Instant::now() + LIMIT;
        loop {
            while self.handle.events().try_recv().is_ok() {}
            let v = self.handle.view();
            if done(&v) {
                return v;
            }
            assert!(Instant::now() < end, "gave up waiting for {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    fn press(&self, c: AgentCommand) {
        self.handle.command(c);
    }
    fn login_ready(&self) {
        self.wait("open", |v| v.session.state == SessionState::Open);
        self.press(AgentCommand::Login { password: None });
        self.wait("not ready", |v| v.agent.state == AgentState::NotReady);
        self.press(AgentCommand::Ready);
    }
    fn close(self) {
        self.press(AgentCommand::Close);
        self.wait("closed", |v| v.session.state == SessionState::Disconnected);
        self.handle.stop();
    }
}

/// One preview contact answered with `answer`, recorded.
fn preview_capture(answer: PreviewAnswer, version: u8, segment: usize, pcap: &Path) {
    let mut campaign = Campaign::generated(1);
    campaign.offer_delay_ms = 0;
    campaign.retry_delay_ms = 600_000;
    let sim = Simulator::start(SimConfig {
        campaign: Some(campaign),
        ..SimConfig::loopback()
    })
    .unwrap();
    let p = proxy_to(sim.addr(), Some(pcap.to_path_buf()), None, segment);
    let phone = Phone::start(p.addr(), version);
    phone.login_ready();
    let view = phone.wait("a preview offer", |v| v.preview.is_some());
    let call = view.preview.unwrap();
    phone.press(AgentCommand::Preview(answer));
    phone.wait("the reservation to go", |v| {
        v.call(call).is_none() && v.preview.is_none()
    });
    if answer == PreviewAnswer::Accept {
        let v = phone.wait("the customer call", |v| {
            v.agent.state == AgentState::Talking
        });
        phone.press(AgentCommand::Release {
            call: v.calls.first().map(|c| c.id),
        });
        phone.wait("wrap-up", |v| v.calls.is_empty());
    }
    phone.close();
    wait_finished(&p, 1);
    p.stop();
    sim.stop();
}

/// An inbound call answered, held, retrieved, consulted and transferred, recorded.
fn inbound_capture(version: u8, segment: usize, pcap: &Path) {
    let sim = Simulator::start(SimConfig::loopback()).unwrap();
    let p = proxy_to(sim.addr(), Some(pcap.to_path_buf()), None, segment);
    let phone = Phone::start(p.addr(), version);
    phone.login_ready();
    phone.wait("available", |v| v.agent.state == AgentState::Available);
    sim.offer_call(InboundCall {
        call_vars: vec!["account 42".into(), "gold".into()],
        vars: vec![("user.lang".into(), "fr".into())],
        ..InboundCall::default()
    });
    let v = phone.wait("ringing", |v| {
        v.calls
            .iter()
            .any(|c| c.state == LocalConnectionState::Alerting)
    });
    let call = v.calls[0].id;
    phone.press(AgentCommand::Answer { call: None });
    phone.wait("talking", |v| {
        v.call(call)
            .is_some_and(|c| c.state == LocalConnectionState::Connect)
    });
    phone.press(AgentCommand::Hold { call: None });
    phone.wait("held", |v| {
        v.call(call)
            .is_some_and(|c| c.state == LocalConnectionState::Hold)
    });
    phone.press(AgentCommand::Retrieve { call: None });
    phone.wait("retrieved", |v| {
        v.call(call)
            .is_some_and(|c| c.state == LocalConnectionState::Connect)
    });
    phone.press(driver::parse_command("consult 5001").unwrap());
    phone.wait("a consult call", |v| v.calls.len() == 2);
    phone.press(AgentCommand::Transfer);
    phone.wait("the transfer", |v| {
        v.calls.is_empty() && v.agent.state == AgentState::WorkNotReady
    });
    phone.close();
    wait_finished(&p, 1);
    p.stop();
    sim.stop();
}

fn ccx_json(pcap: &Path) -> PathBuf {
    let out = Command::new(env!("CARGO_BIN_EXE_ccx"))
        .args(["decode", "--json", "--pcap"])
        .arg(pcap)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ccx decode --pcap {}: {}",
        pcap.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let path = pcap.with_extension("json");
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

fn have_tshark() -> bool {
    let found = Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CCX_REQUIRE_TSHARK").is_none(),
            "tshark is required (CCX_REQUIRE_TSHARK is set) but not installed"
        );
        eprintln!("tshark is not installed: the dissector cross-check is skipped (apt-get install tshark)");
    }
    found
}

fn crosscheck(pcap: &Path, json: &Path) {
    let out = Command::new("python3")
        .arg(root().join("tools/wireshark/crosscheck.py"))
        .arg(pcap)
        .arg(json)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprint!("{text}");
}

/// Decode a capture; no problem may be reported; returns the message names.
fn decoded(pcap: &Path) -> Vec<String> {
    let bytes = std::fs::read(pcap).unwrap();
    let report = decode_capture(&bytes, &DecodeOptions::default()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    report
        .messages
        .iter()
        .map(|m| m.message.msgtype.clone())
        .collect()
}

#[test]
fn captures_of_the_simulator_decode_and_agree_with_the_dissector() {
    let dir = out_dir("captures");
    let mut captures = Vec::new();
    for (version, segment) in [
        (10u8, 65_535usize),
        (10, 5),
        (17, 65_535),
        (17, 7),
        (18, 65_535),
        (18, 3),
    ] {
        let pcap = dir.join(format!("demo-v{version}-seg{segment}.pcap"));
        demo_capture(version, segment, &pcap, None);
        captures.push(pcap);
    }
    for (answer, name) in [
        (PreviewAnswer::Accept, "accept"),
        (PreviewAnswer::Reject, "reject"),
        (PreviewAnswer::RejectClose, "reject-close"),
        (PreviewAnswer::Skip, "skip"),
        (PreviewAnswer::SkipClose, "skip-close"),
        (PreviewAnswer::CancelReservation, "cancel-reservation"),
    ] {
        let pcap = dir.join(format!("preview-{name}-v17.pcap"));
        preview_capture(answer, 17, 65_535, &pcap);
        captures.push(pcap);
    }
    for (version, segment) in [(10u8, 11usize), (17, 65_535), (18, 6)] {
        let pcap = dir.join(format!(
            "inbound-hold-transfer-v{version}-seg{segment}.pcap"
        ));
        inbound_capture(version, segment, &pcap);
        captures.push(pcap);
    }
    for pcap in &captures {
        let names = decoded(pcap);
        assert_eq!(
            names.first().map(String::as_str),
            Some("OPEN_REQ"),
            "{}",
            pcap.display()
        );
        assert!(
            names.contains(&"CLOSE_CONF".to_string()),
            "{}: {names:?}",
            pcap.display()
        );
    }
    let tshark = have_tshark();
    for pcap in &captures {
        let json = ccx_json(pcap);
        if tshark {
            crosscheck(pcap, &json);
        }
    }
}

/// A forwarder that keeps every byte it passes, per direction.
struct Tap {
    addr: SocketAddr,
    up: Arc<Mutex<Vec<u8>>>,
    down: Arc<Mutex<Vec<u8>>>,
}

fn tap(to: SocketAddr) -> Tap {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let up = Arc::new(Mutex::new(Vec::new()));
    let down = Arc::new(Mutex::new(Vec::new()));
    let (u, d) = (up.clone(), down.clone());
    std::thread::spawn(move || {
        let (client, _) = listener.accept().unwrap();
        let server = TcpStream::connect(to).unwrap();
        let copy = |mut from: TcpStream, mut to: TcpStream, keep: Arc<Mutex<Vec<u8>>>| {
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = from.read(&mut buf) {
                    if n == 0 || to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    keep.lock().unwrap().extend_from_slice(&buf[..n]);
                }
                let _ = to.shutdown(std::net::Shutdown::Write);
            })
        };
        let a = copy(client.try_clone().unwrap(), server.try_clone().unwrap(), u);
        let b = copy(server, client, d);
        let _ = (a.join(), b.join());
    });
    Tap { addr, up, down }
}

#[test]
fn the_demo_story_passes_the_proxy_byte_identical_and_its_flow_replays() {
    let dir = out_dir("proxy");
    let flow = dir.join("demo.flow");
    let pcap = dir.join("demo.pcap");
    let _ = std::fs::remove_file(&flow);
    let holder: Mutex<Vec<(Tap, Tap, Proxy)>> = Mutex::new(Vec::new());
    let opts = DemoOptions {
        trace: false,
        ..DemoOptions::default()
    };
    // phone -> tap (client side) -> ccx proxy -> tap (server side) -> simulator
    let report = demo::run_via(&opts, &mut std::io::sink(), &|sim| {
        let server_side = tap(sim);
        let p = proxy_to(
            server_side.addr,
            Some(pcap.clone()),
            Some(flow.clone()),
            65_535,
        );
        let client_side = tap(p.addr());
        let addr = client_side.addr;
        holder.lock().unwrap().push((client_side, server_side, p));
        addr
    });
    assert!(report.completed(), "{:?}", report.failure);
    let (client_side, server_side, p) = holder.lock().unwrap().pop().unwrap();
    wait_finished(&p, 1);
    p.stop();
    let up = (
        client_side.up.lock().unwrap().clone(),
        server_side.up.lock().unwrap().clone(),
    );
    let down = (
        client_side.down.lock().unwrap().clone(),
        server_side.down.lock().unwrap().clone(),
    );
    assert!(
        up.0.len() > 200 && down.0.len() > 500,
        "{} / {}",
        up.0.len(),
        down.0.len()
    );
    assert!(up.0 == up.1, "phone -> server bytes changed in the proxy");
    assert!(
        down.0 == down.1,
        "server -> phone bytes changed in the proxy"
    );
    assert_eq!(
        report.sent as usize,
        decoded(&pcap).len() - report.received as usize
    );

    let text = std::fs::read_to_string(&flow).unwrap();
    assert!(
        text.contains("agent: preview skip") && text.contains("agent: preview accept"),
        "{text}"
    );
    assert!(!text.contains("secret"), "a password reached the flow file");
    let (result, _, transcript) = replay_file(&flow);
    assert!(
        matches!(result, FileResult::Passed),
        "{result:?}\n{transcript}\n{text}"
    );
}

#[test]
fn a_flow_written_from_a_capture_replays_green() {
    let dir = out_dir("pcap-flow");
    for version in [10u8, 18] {
        let pcap = dir.join(format!("demo-v{version}.pcap"));
        demo_capture(version, 9, &pcap, None);
        let flow = dir.join(format!("demo-v{version}.flow"));
        let out = Command::new(env!("CARGO_BIN_EXE_ccx"))
            .args(["decode", "--pcap"])
            .arg(&pcap)
            .arg("--flow")
            .arg(&flow)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("client -> server") && text.contains("MsgType: BEGIN_CALL_EVENT"));
        let replay = Command::new(env!("CARGO_BIN_EXE_ccx"))
            .arg("replay")
            .arg(&flow)
            .output()
            .unwrap();
        assert!(
            replay.status.success(),
            "{}{}",
            String::from_utf8_lossy(&replay.stdout),
            std::fs::read_to_string(&flow).unwrap()
        );
    }
}

/// The packet records of a pcap file (after its 24-byte header).
fn records(pcap: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 24;
    let big = pcap[..4] == [0xa1, 0xb2, 0xc3, 0xd4];
    while at + 16 <= pcap.len() {
        let field: [u8; 4] = pcap[at + 8..at + 12].try_into().unwrap();
        let len = if big {
            u32::from_be_bytes(field)
        } else {
            u32::from_le_bytes(field)
        } as usize;
        out.push(pcap[at..at + 16 + len].to_vec());
        at += 16 + len;
    }
    out
}

#[test]
fn retransmissions_and_holes_are_reported_not_guessed_over() {
    let dir = out_dir("damaged");
    let pcap = dir.join("demo.pcap");
    demo_capture(17, 50, &pcap, None);
    let bytes = std::fs::read(&pcap).unwrap();
    let recs = records(&bytes);
    let whole = decoded(&pcap);
    // A data packet sent twice: reported once, decoded once.
    let k = 8;
    let mut dup = bytes[..24].to_vec();
    for (i, r) in recs.iter().enumerate() {
        dup.extend_from_slice(r);
        if i == k {
            dup.extend_from_slice(r);
        }
    }
    let report = decode_capture(&dup, &DecodeOptions::default()).unwrap();
    let names: Vec<_> = report
        .messages
        .iter()
        .map(|m| m.message.msgtype.clone())
        .collect();
    assert_eq!(names, whole);
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(
        report.problems[0].text.starts_with("retransmission"),
        "{:?}",
        report.problems
    );
    // Two packets swapped: put back in order, nothing reported.
    let mut swapped = bytes[..24].to_vec();
    let mut order: Vec<usize> = (0..recs.len()).collect();
    order.swap(k, k + 1);
    for i in &order {
        swapped.extend_from_slice(&recs[*i]);
    }
    let report = decode_capture(&swapped, &DecodeOptions::default()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.messages.len(), whole.len());
    // A packet lost: the hole is reported and nothing after it in that direction decodes.
    let mut lost = bytes[..24].to_vec();
    for (i, r) in recs.iter().enumerate() {
        if i != k {
            lost.extend_from_slice(r);
        }
    }
    let report = decode_capture(&lost, &DecodeOptions::default()).unwrap();
    assert!(report.messages.len() < whole.len());
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.text.contains("bytes missing at relative sequence")),
        "{:?}",
        report.problems
    );
}

#[test]
fn a_capture_without_the_handshake_finds_the_client_from_the_messages() {
    let dir = out_dir("no-handshake");
    let pcap = dir.join("demo.pcap");
    demo_capture(17, 65_535, &pcap, None);
    let bytes = std::fs::read(&pcap).unwrap();
    let whole = decode_capture(&bytes, &DecodeOptions::default()).unwrap();
    // Leave out SYN, SYN-ACK, ACK (the simulator's port is no CTI port either).
    let mut cut = bytes[..24].to_vec();
    for r in records(&bytes).iter().skip(3) {
        cut.extend_from_slice(r);
    }
    let report = decode_capture(&cut, &DecodeOptions::default()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let ways = |r: &ccx_cti_std::wiretools::pcap::CaptureReport| {
        r.messages
            .iter()
            .map(|m| (m.message.msgtype.clone(), m.direction))
            .collect::<Vec<_>>()
    };
    assert_eq!(ways(&report), ways(&whole));
}

/// A writer the test can read back.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_proxy_forwards_a_malformed_frame_unchanged_and_reports_it() {
    // A raw "server": a frame whose floating field overruns the body, then a good heartbeat
    // confirmation, then a length no frame can have, then more bytes.
    let mut wire = vec![0, 0, 0, 6, 0, 0, 0, 6, 0, 0, 0, 1, 0x07, 0x09];
    wire.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 6, 0, 0, 0, 2]);
    wire.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 6, 1, 2, 3, 4, 5]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = listener.local_addr().unwrap();
    let sent = wire.clone();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        for chunk in sent.chunks(5) {
            s.write_all(chunk).unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
    });
    let out = Shared::default();
    let args = ProxyArgs {
        listen: "127.0.0.1:0".into(),
        server: server.to_string(),
        pcap: None,
        flow: None,
        protocol_version: 17,
        v18_length_width: 1,
        show_secrets: false,
        segment_size: 65_535,
        connections: None,
    };
    let p = proxy::start(&args, Box::new(out.clone())).unwrap();
    let mut client = TcpStream::connect(p.addr()).unwrap();
    client.shutdown(std::net::Shutdown::Write).unwrap();
    let mut got = Vec::new();
    client.read_to_end(&mut got).unwrap();
    assert_eq!(got, wire, "the proxy changed the bytes");
    wait_finished(&p, 1);
    p.stop();
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("malformed frame, forwarded unchanged"),
        "{text}"
    );
    assert!(text.contains("MsgType: HEARTBEAT_CONF"), "{text}");
    assert!(
        text.contains("forwarded, not decoded from here on"),
        "{text}"
    );
}

#[test]
fn pcapng_with_linux_cooked_headers_reads_like_the_pcap() {
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
    use pcap_file::pcapng::blocks::interface_description::{
        InterfaceDescriptionBlock, InterfaceDescriptionOption,
    };
    use pcap_file::pcapng::PcapNgWriter;
    use pcap_file::DataLink;

    let dir = out_dir("pcapng");
    let pcap = dir.join("demo.pcap");
    demo_capture(18, 13, &pcap, None);
    let bytes = std::fs::read(&pcap).unwrap();
    let whole = decode_capture(&bytes, &DecodeOptions::default()).unwrap();
    // The same packets as pcapng, Linux cooked (SLL) instead of Ethernet, nanosecond times.
    let mut reader = pcap_file::pcap::PcapReader::new(&bytes[..]).unwrap();
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    let mut idb = InterfaceDescriptionBlock::new(DataLink::LINUX_SLL, 65_535);
    idb.options.push(InterfaceDescriptionOption::IfTsResol(9));
    w.write_pcapng_block(idb).unwrap();
    while let Some(p) = reader.next_packet() {
        let p = p.unwrap();
        let mut data = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00];
        data.extend_from_slice(&p.data[14..]);
        let epb = EnhancedPacketBlock {
            interface_id: 0,
            timestamp: p.timestamp,
            original_len: data.len() as u32,
            data: data.into(),
            options: vec![],
        };
        w.write_pcapng_block(epb).unwrap();
    }
    let ng = w.into_inner();
    let report = decode_capture(&ng, &DecodeOptions::default()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.messages.len(), whole.messages.len());
    for (a, b) in report.messages.iter().zip(&whole.messages) {
        assert_eq!(
            (&a.message, a.direction, &a.time),
            (&b.message, b.direction, &b.time)
        );
    }
    // And through the command, as text.
    let path = dir.join("demo-sll.pcapng");
    std::fs::write(&path, &ng).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ccx"))
        .args(["decode", "--pcap"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("(v18)\nMsgType: OPEN_REQ\n"), "{text}");
}
