//! High availability across two `ccx sim` processes: the master replicates agents and calls
//! to the standby over `--replication`; the master is killed mid-call, and the phone finds
//! its agent still talking on the same call, with its data, on the other side. A killed
//! master that restarts joins the side that took over as its standby.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ccx_cti::phone::SessionState;
use ccx_cti::wire::{AgentState, LocalConnectionState};
use ccx_cti_std::demo;
use ccx_cti_std::driver::{self, AgentCommand, DriverHandle, DriverOptions, PhoneView};

const LIMIT: Duration = Duration::from_secs(20);

fn ccx() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ccx"))
}

/// Kills the process if the test fails half way.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn addr_after(line: &str, needle: &str) -> SocketAddr {
    let rest = &line[line.find(needle).unwrap() + needle.len()..];
    rest.split_whitespace().next().unwrap().parse().unwrap()
}

fn line_with(r: &mut impl BufRead, needle: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(r.read_line(&mut line).unwrap() > 0, "no `{needle}`");
        if line.contains(needle) {
            return line;
        }
    }
}

fn wait(phone: &DriverHandle, what: &str, done: impl Fn(&PhoneView) -> bool) -> PhoneView {
    let end = Instant::now() + LIMIT;
    loop {
        let view = phone.view();
        if done(&view) {
            return view;
        }
        assert!(
            Instant::now() < end,
            "gave up waiting for {what}: {:?} {:?} {:?}",
            view.session.state,
            view.agent.state,
            view.calls
        );
        while phone
            .events()
            .recv_timeout(Duration::from_millis(5))
            .is_ok()
        {}
    }
}

/// How the master goes away.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Down {
    /// SIGKILL: its sockets close at once.
    Kill,
    /// SIGSTOP: its sockets stay open and silent (a hung server).
    Pause,
    /// `offline`: SYSTEM_EVENT SYS_CCX_OFFLINE to its sessions, and it turns standby.
    Offline,
}

#[test]
fn killing_the_master_mid_call_keeps_the_agent_and_the_call() {
    failover_mid_call(Down::Kill);
}

#[test]
fn pausing_the_master_mid_call_keeps_the_agent_and_the_call() {
    failover_mid_call(Down::Pause);
}

#[test]
fn a_master_going_offline_with_system_event_mid_call_keeps_the_agent_and_the_call() {
    failover_mid_call(Down::Offline);
}

fn failover_mid_call(down: Down) {
    let mut a = Side::start(&[
        "--listen",
        "127.0.0.1:0",
        "--replication",
        "127.0.0.1:0",
        "--interactive",
        "--no-auto-work",
    ]);
    let link = addr_after(&a.logged("replication link on "), "replication link on ").to_string();
    let b = Side::start(&[
        "--listen",
        "127.0.0.1:0",
        "--standby",
        "--replication",
        &link,
    ]);
    // A silent server is noticed by its missing heartbeat answers (`phone_for`'s settings).
    let phone = phone_for("chli4020", "4020", &[a.addr, b.addr]);
    wait(&phone, "a session on side A", |v| {
        v.session.state == SessionState::Open && v.session.server == 0
    });
    phone.command(AgentCommand::Login { password: None });
    wait(&phone, "not ready", |v| {
        v.agent.state == AgentState::NotReady
    });
    phone.command(AgentCommand::Ready);
    wait(&phone, "available", |v| {
        v.agent.state == AgentState::Available
    });
    let stdin = a.proc.0.stdin.as_mut().unwrap();
    writeln!(stdin, "call 5559876 order=A-1234").unwrap();
    stdin.flush().unwrap();
    let ringing = wait(&phone, "a ringing call", |v| !v.calls.is_empty());
    let id = ringing.calls[0].id;
    phone.command(AgentCommand::Answer { call: Some(id) });
    let before = wait(&phone, "talking", |v| {
        v.agent.state == AgentState::Talking
            && v.calls
                .first()
                .is_some_and(|c| c.state == LocalConnectionState::Connect)
    });
    assert_eq!(before.calls[0].ani, "5559876");
    assert_eq!(before.calls[0].var("order"), Some("A-1234"));
    // Let the state reach side B (the link speaks every 50 ms).
    std::thread::sleep(Duration::from_millis(400));

    let killed = Instant::now();
    match down {
        Down::Kill => a.proc.0.kill().unwrap(),
        Down::Offline => {
            let stdin = a.proc.0.stdin.as_mut().unwrap();
            writeln!(stdin, "offline").unwrap();
            stdin.flush().unwrap();
            line_with(&mut a.out, "told 1 session(s) SYS_CCX_OFFLINE; standby now");
        }
        Down::Pause => {
            let stopped = Command::new("kill")
                .args(["-STOP", &a.proc.0.id().to_string()])
                .status()
                .unwrap();
            assert!(stopped.success());
        }
    }
    let after = wait(&phone, "the session on side B with the call", |v| {
        v.session.state == SessionState::Open
            && v.session.server == 1
            && v.agent.state == AgentState::Talking
            && v.calls.iter().any(|c| c.id == id)
    });
    let phone_failover = killed.elapsed();
    eprintln!(
        "failover ({down:?}): the phone had its call back on side B {} ms after the master went",
        phone_failover.as_millis()
    );
    let call = after.calls.iter().find(|c| c.id == id).unwrap();
    assert_eq!(call.state, LocalConnectionState::Connect);
    assert_eq!(call.ani, "5559876");
    assert_eq!(call.var("order"), Some("A-1234"), "{call:?}");
    assert_eq!(after.calls.len(), 1, "{:?}", after.calls);

    // Side B goes on: the agent releases the call there.
    phone.command(AgentCommand::Release { call: Some(id) });
    wait(&phone, "the call released on side B", |v| {
        v.calls.is_empty()
    });
    drop(phone);
    let log = b.logged("ms after the master's last word");
    assert!(log.contains("master now; failover"), "{log}");
    let summary = b.summary();
    assert!(summary.contains("failover: took over"), "{summary}");
    assert!(
        summary.contains("inbound calls offered 0, answered 0, completed 1"),
        "{summary}"
    );
}

/// A phone for `agent` (extension `ext`) with its servers in this order.
fn phone_for(agent: &str, ext: &str, servers: &[SocketAddr]) -> DriverHandle {
    let mut cfg = demo::phone_config_for(servers, 17);
    cfg.agent_id.clear();
    cfg.agent_id.push_str(agent).unwrap();
    cfg.agent_extension.clear();
    cfg.agent_extension.push_str(ext).unwrap();
    cfg.agent_instrument.clear();
    cfg.agent_password.clear();
    cfg.reconnect_secs = 1;
    cfg.heartbeat_secs = 1;
    cfg.missed_heartbeats = 2;
    driver::spawn(cfg, DriverOptions::default()).unwrap()
}

fn ready(phone: &DriverHandle, server: usize) {
    wait(phone, "a session", |v| {
        v.session.state == SessionState::Open && v.session.server == server
    });
    phone.command(AgentCommand::Login { password: None });
    wait(phone, "not ready", |v| {
        v.agent.state == AgentState::NotReady
    });
    phone.command(AgentCommand::Ready);
    wait(phone, "available", |v| {
        v.agent.state == AgentState::Available
    });
}

fn talk(phone: &DriverHandle, sim: &mut Child, ani: &str) -> u32 {
    let stdin = sim.stdin.as_mut().unwrap();
    writeln!(stdin, "call {ani} order={ani}").unwrap();
    stdin.flush().unwrap();
    let ringing = wait(phone, "a ringing call", |v| !v.calls.is_empty());
    let id = ringing.calls[0].id;
    phone.command(AgentCommand::Answer { call: Some(id) });
    wait(phone, "talking", |v| v.agent.state == AgentState::Talking);
    id
}

#[test]
fn an_island_heals_and_the_phones_of_the_side_that_demotes_keep_their_call() {
    let side = |extra: &[&str]| {
        let args = [
            "--listen",
            "127.0.0.1:0",
            "--agents",
            "2",
            "--interactive",
            "--no-auto-work",
        ];
        Side::start(&[&args[..], extra].concat())
    };
    let mut a = side(&["--replication", "127.0.0.1:0"]);
    let link = addr_after(&a.logged("replication link on "), "replication link on ").to_string();
    let mut b = side(&["--standby", "--replication", &link]);
    let (a_addr, b_addr) = (a.addr, b.addr);
    // Phone 1 stays on side A; phone 2 would rather be on side B.
    let one = phone_for("agent0000", "10000", &[a_addr, b_addr]);
    ready(&one, 0);
    std::thread::sleep(Duration::from_millis(300));
    // The link is cut: side B takes over, and both sides are master.
    writeln!(b.proc.0.stdin.as_mut().unwrap(), "isolate").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let two = phone_for("agent0001", "10001", &[b_addr, a_addr]);
    ready(&two, 0);
    let call_two = talk(&two, &mut b.proc.0, "5552222");
    let call_one = talk(&one, &mut a.proc.0, "5551111");
    // Each phone stayed on its side.
    assert_eq!(one.view().session.server, 0);
    assert_eq!(two.view().session.server, 0);
    // The link heals: side B hands agent0001 and its call over and demotes.
    writeln!(b.proc.0.stdin.as_mut().unwrap(), "heal").unwrap();
    let healed = Instant::now();
    let after = wait(&two, "phone 2 on side A with its call", |v| {
        v.session.state == SessionState::Open
            && v.session.server == 1
            && v.agent.state == AgentState::Talking
            && v.calls.iter().any(|c| c.id == call_two)
    });
    eprintln!(
        "island healed: phone 2 had its call on side A {} ms after the heal",
        healed.elapsed().as_millis()
    );
    let call = after.calls.iter().find(|c| c.id == call_two).unwrap();
    assert_eq!(call.ani, "5552222");
    assert_eq!(call.var("order"), Some("5552222"));
    // Phone 1 was not disturbed.
    let v = one.view();
    assert_eq!(v.session.server, 0);
    assert!(v.calls.iter().any(|c| c.id == call_one), "{:?}", v.calls);
    drop((one, two));
    b.logged("handed over 1 agent(s) and demoted");
    a.logged("handed over 1 agent(s) with their calls");
}

/// A side of the shift tests: three agents, commands on stdin, no automatic wrap-up.
const SHIFT: &[&str] = &["--agents", "3", "--interactive", "--no-auto-work"];

/// One `ccx sim` process, its stdout and its log (read on in a thread, so that the pipe
/// never fills).
struct Side {
    proc: Proc,
    addr: SocketAddr,
    out: BufReader<std::process::ChildStdout>,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Side {
    /// `ccx sim --log info ARGS`, every pipe taken.
    fn start(args: &[&str]) -> Side {
        let mut proc = Proc(
            ccx()
                .args(["sim", "--log", "info"])
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let mut out = BufReader::new(proc.0.stdout.take().unwrap());
        let addr = addr_after(&line_with(&mut out, "listening on "), "listening on ");
        let err = proc.0.stderr.take().unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let to = std::sync::Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let mut l = to.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        Side {
            proc,
            addr,
            out,
            log,
        }
    }

    /// Wait for `needle` in the log; the log so far.
    fn logged(&self, needle: &str) -> String {
        let end = Instant::now() + LIMIT;
        loop {
            let log = self.log.lock().unwrap().clone();
            if log.contains(needle) {
                return log;
            }
            assert!(Instant::now() < end, "no `{needle}` in:\n{log}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, and the summary it prints.
    fn summary(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.proc.0.id().to_string()])
            .status();
        let mut s = String::new();
        self.out.read_to_string(&mut s).unwrap();
        s
    }
}

/// Whether `phone` is talking on call `id` (its ANI and data intact) on server `server`.
fn on_call(v: &PhoneView, server: usize, id: u32, ani: &str) -> bool {
    v.session.state == SessionState::Open
        && v.session.server == server
        && v.agent.state == AgentState::Talking
        && v.calls
            .iter()
            .any(|c| c.id == id && c.ani == ani && c.var("order") == Some(ani))
}

#[test]
fn a_killed_master_restarts_as_the_standby_of_the_side_that_took_over() {
    let mut a = Side::start(
        &[
            SHIFT,
            &["--listen", "127.0.0.1:0", "--replication", "127.0.0.1:0"],
        ]
        .concat(),
    );
    let link = addr_after(&a.logged("replication link on "), "replication link on ").to_string();
    let b = Side::start(
        &[
            SHIFT,
            &[
                "--listen",
                "127.0.0.1:0",
                "--standby",
                "--replication",
                &link,
            ],
        ]
        .concat(),
    );
    let phone = phone_for("agent0000", "10000", &[a.addr, b.addr]);
    ready(&phone, 0);
    let id = talk(&phone, &mut a.proc.0, "5553333");
    std::thread::sleep(Duration::from_millis(400));

    // Side A dies; side B takes over with the call.
    a.proc.0.kill().unwrap();
    let _ = a.proc.0.wait();
    wait(&phone, "the call on side B", |v| {
        on_call(v, 1, id, "5553333")
    });
    b.logged("master now; failover");

    // Side A comes back on its addresses: side B is master, so A joins as its standby.
    let a_addr = a.addr.to_string();
    let a2 = Side::start(&[SHIFT, &["--listen", &a_addr, "--replication", &link]].concat());
    a2.logged("is master already: this side joins as its standby");
    std::thread::sleep(Duration::from_millis(1500));
    let v = phone.view();
    assert!(
        on_call(&v, 1, id, "5553333"),
        "{:?} {:?}",
        v.session,
        v.calls
    );
    let log = a2.log.lock().unwrap().clone();
    assert!(!log.contains("this side is master"), "{log}");
    assert!(!log.contains("master now"), "{log}");

    // Side B dies: the phone fails over to side A, with the state A took from B.
    let killed = Instant::now();
    drop(b);
    let after = wait(&phone, "the call on side A again", |v| {
        on_call(v, 0, id, "5553333")
    });
    eprintln!(
        "failover back: the phone had its call on side A {} ms after side B was killed",
        killed.elapsed().as_millis()
    );
    assert_eq!(after.calls.len(), 1, "{:?}", after.calls);
    a2.logged("master now; failover");
    phone.command(AgentCommand::Release { call: Some(id) });
    wait(&phone, "the call released on side A", |v| {
        v.calls.is_empty()
    });
    drop(phone);
    let summary = a2.summary();
    assert!(summary.contains("failover: took over"), "{summary}");
    assert!(summary.contains("completed 1"), "{summary}");
}

/// The replication link through a proxy the test can cut and mend, as a network would: a
/// cut closes the connections through it and drops new ones.
struct LinkProxy {
    addr: SocketAddr,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    live: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl LinkProxy {
    fn to(target: SocketAddr) -> LinkProxy {
        use std::net::{TcpListener, TcpStream};
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let live: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (c, l) = (Arc::clone(&cut), Arc::clone(&live));
        std::thread::spawn(move || {
            for down in listener.incoming() {
                let Ok(down) = down else { continue };
                if c.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(up) = TcpStream::connect(target) else {
                    continue;
                };
                let mut l = l.lock().unwrap();
                l.push(down.try_clone().unwrap());
                l.push(up.try_clone().unwrap());
                for (mut from, mut to) in [
                    (down.try_clone().unwrap(), up.try_clone().unwrap()),
                    (up, down),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        LinkProxy { addr, cut, live }
    }

    fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        for s in self.live.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    fn mend(&self) {
        self.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn an_island_heals_by_itself_when_the_link_comes_back_and_the_side_with_fewer_sessions_demotes() {
    let mut a = Side::start(
        &[
            SHIFT,
            &["--listen", "127.0.0.1:0", "--replication", "127.0.0.1:0"],
        ]
        .concat(),
    );
    let link = addr_after(&a.logged("replication link on "), "replication link on ");
    let proxy = LinkProxy::to(link);
    let through = proxy.addr.to_string();
    let mut b = Side::start(
        &[
            SHIFT,
            &[
                "--listen",
                "127.0.0.1:0",
                "--standby",
                "--replication",
                &through,
            ],
        ]
        .concat(),
    );
    a.logged("follows this side");
    // Phone 1 is on side A; phones 2 and 3 would rather be on side B.
    let one = phone_for("agent0000", "10000", &[a.addr, b.addr]);
    ready(&one, 0);
    std::thread::sleep(Duration::from_millis(300));

    // The network cuts the link (no command to either side): side B takes over.
    proxy.cut();
    b.logged("master now; failover");
    let two = phone_for("agent0001", "10001", &[b.addr, a.addr]);
    ready(&two, 0);
    let call_two = talk(&two, &mut b.proc.0, "5552222");
    let three = phone_for("agent0002", "10002", &[b.addr, a.addr]);
    ready(&three, 0);
    let call_one = talk(&one, &mut a.proc.0, "5551111");
    assert_eq!(one.view().session.server, 0);
    assert_eq!(two.view().session.server, 0);

    // The link comes back by itself. Side A has 1 session, side B 2: side A demotes, tells
    // its phone SYSTEM_EVENT, and the phone moves to side B with its agent and call.
    let mended = Instant::now();
    proxy.mend();
    let end = Instant::now() + LIMIT;
    let mut told = false;
    loop {
        while let Ok(e) = one.events().recv_timeout(Duration::from_millis(5)) {
            if let driver::DriverEvent::Phone { event, .. } = e {
                told |= format!("{event:?}").contains("SystemEvent");
            }
        }
        if on_call(&one.view(), 1, call_one, "5551111") {
            break;
        }
        let v = one.view();
        assert!(Instant::now() < end, "{:?} {:?}", v.session, v.calls);
    }
    eprintln!(
        "island healed by itself: phone 1 had its call on side B {} ms after the link came back",
        mended.elapsed().as_millis()
    );
    assert!(told, "phone 1 was not told SYSTEM_EVENT");
    // Side B's phones were not disturbed.
    assert!(on_call(&two.view(), 0, call_two, "5552222"));
    let v = three.view();
    assert_eq!((v.session.state, v.session.server), (SessionState::Open, 0));
    assert_eq!(v.agent.state, AgentState::Available);
    a.logged("handed over 1 agent(s) and demoted");
    b.logged("handed over 1 agent(s) with their calls");
    // Side A follows side B again: phone 1 releases its call there.
    one.command(AgentCommand::Release {
        call: Some(call_one),
    });
    wait(&one, "the call released on side B", |v| v.calls.is_empty());
    drop((one, two, three));
    let summary = b.summary();
    assert!(summary.contains("completed 1"), "{summary}");
    drop(a);
}
