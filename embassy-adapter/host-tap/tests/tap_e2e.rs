//! The embassy adapter over a real TAP interface: the phone (embassy-net in user space on
//! `tap0`, 192.168.69.2) plays the outbound preview story against a CTI server on a Linux socket
//! (192.168.69.1:12028), both inside a network namespace each test creates: the scripted
//! Unified CCX of this crate, and the std adapter's simulator (`ccx sim`, when `CCX_BIN` names
//! the `ccx` binary). The namespaces have no route out, so nothing leaves them.
//!
//! Creating a namespace and opening /dev/net/tun need root (CAP_NET_ADMIN); without it the test
//! prints `SKIP: ...` and passes. CI runs as root, so there it really runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const SERVER: &str = "192.168.69.1";
const PHONE: &str = "192.168.69.2/24";
const BIN: &str = env!("CARGO_BIN_EXE_host-tap");

/// A network namespace that is deleted when the test ends, however it ends.
struct Netns(String);

impl Netns {
    /// `ccx-tap-<pid>-<test>`: tests of one process run in parallel.
    fn create(test: &str) -> Option<Netns> {
        let name = format!("ccx-tap-{}-{test}", std::process::id());
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        ok.then_some(Netns(name))
    }

    /// Run `args` inside the namespace and require success.
    fn run(&self, args: &[&str]) {
        let status = Command::new("ip")
            .args(["netns", "exec", &self.0])
            .args(args)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "`{}` failed in {}",
            args.join(" "),
            self.0
        );
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.0, program]);
        cmd
    }
}

impl Netns {
    /// tap0 with the server's address, up.
    fn add_tap(&self) {
        self.run(&["ip", "link", "set", "lo", "up"]);
        self.run(&["ip", "tuntap", "add", "dev", "tap0", "mode", "tap"]);
        self.run(&["ip", "addr", "add", &format!("{SERVER}/24"), "dev", "tap0"]);
        self.run(&["ip", "link", "set", "tap0", "up"]);
    }

    /// Start a server and wait until a line of its output says it listens. Its output keeps
    /// arriving on the returned channel (the pipe must stay open while it writes).
    fn start_server(
        &self,
        program: &str,
        args: &[&str],
        listening: &str,
    ) -> (Reaper, mpsc::Receiver<String>, thread::JoinHandle<()>) {
        let mut child = self
            .command(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let (lines_tx, lines_rx) = mpsc::channel::<String>();
        let out = child.stdout.take().unwrap();
        let reader = thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = lines_tx.send(line);
            }
        });
        loop {
            let line = lines_rx.recv_timeout(Duration::from_secs(30)).unwrap();
            println!("server: {line}");
            if line.contains(listening) {
                break;
            }
        }
        (Reaper(child), lines_rx, reader)
    }

    /// Run the phone to the end of the story; its exit status and output.
    fn run_phone(&self, extra: &[&str]) -> (ExitStatus, String) {
        let mut phone = Reaper(
            self.command("timeout")
                .args(["60", BIN, "phone", "tap0", PHONE, SERVER])
                .args(extra)
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap(),
        );
        let mut out = String::new();
        phone
            .0
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        let status = phone.0.wait().unwrap();
        println!("--- phone ---\n{out}");
        (status, out)
    }
}

/// Wait for a child to end by itself.
fn wait_for(child: &mut Child, what: &str) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "{what} did not finish");
        thread::sleep(Duration::from_millis(50));
    }
}

const SKIP_NO_NETNS: &str =
    "SKIP: cannot create network namespace (need root/CAP_NET_ADMIN and iproute2)";

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Kills the child when the test ends early.
struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn preview_story_over_a_tap_link() {
    let Some(netns) = Netns::create("script") else {
        println!("{SKIP_NO_NETNS}");
        return;
    };
    netns.add_tap();
    let listen = format!("{SERVER}:12028");
    let (mut server, lines, reader) = netns.start_server(BIN, &["serve", &listen], "LISTENING");
    let (phone_status, phone_out) = netns.run_phone(&[]);

    // The phone closed its connection at the end, so the server finishes on its own; after a
    // failed phone it may wait for ever, so stop it.
    if !phone_status.success() {
        let _ = server.0.kill();
    }
    let server_status = wait_for(&mut server.0, "the scripted server");
    reader.join().unwrap();
    let server_out: Vec<String> = lines.try_iter().collect();
    println!("--- server ---\n{}", server_out.join("\n"));

    assert!(phone_status.success(), "phone failed: {phone_status}");
    assert!(phone_out.contains("PASS: agent Available"), "no PASS line");
    assert!(phone_out.contains("Preview(Skip)") && phone_out.contains("Preview(Accept)"));
    assert!(server_status.success(), "server failed: {server_status}");
    let answers: Vec<&str> = server_out
        .iter()
        .filter(|l| l.contains("server <- SET_CALL_DATA_REQ"))
        .map(String::as_str)
        .collect();
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert!(
        answers[0].ends_with("CallID=16800098 BAResponse=Skip"),
        "{answers:?}"
    );
    assert!(
        answers[1].ends_with("CallID=16800099 BAResponse=Accept"),
        "{answers:?}"
    );
    assert!(server_out.iter().any(|l| l.starts_with("SERVER DONE")));
}

#[test]
fn preview_story_survives_a_dropped_connection() {
    let Some(netns) = Netns::create("drop") else {
        println!("{SKIP_NO_NETNS}");
        return;
    };
    netns.add_tap();
    let listen = format!("{SERVER}:12028");
    let (mut server, lines, reader) =
        netns.start_server(BIN, &["serve", &listen, "--drop-first"], "LISTENING");
    let (phone_status, phone_out) = netns.run_phone(&[]);
    if !phone_status.success() {
        let _ = server.0.kill();
    }
    let server_status = wait_for(&mut server.0, "the scripted server");
    reader.join().unwrap();
    let server_out: Vec<String> = lines.try_iter().collect();
    println!("--- server ---\n{}", server_out.join("\n"));

    assert!(phone_status.success(), "phone failed: {phone_status}");
    assert!(phone_out.contains("SessionLost { reason: TransportClosed"));
    assert_eq!(phone_out.matches("connected to server 0").count(), 2);
    assert_eq!(phone_out.matches("SessionOpened").count(), 2);
    assert!(phone_out.contains("PASS: agent Available"), "no PASS line");
    assert!(server_status.success(), "server failed: {server_status}");
    assert!(server_out
        .iter()
        .any(|l| l.contains("dropping the connection (fault)")));
    assert!(server_out.iter().any(|l| l.starts_with("SERVER DONE")));
}

#[test]
fn preview_story_over_a_tap_link_against_ccx_sim() {
    let Some(ccx) = std::env::var("CCX_BIN").ok().filter(|p| !p.is_empty()) else {
        println!("SKIP: CCX_BIN does not name the std adapter's `ccx` binary");
        return;
    };
    let Some(netns) = Netns::create("sim") else {
        println!("{SKIP_NO_NETNS}");
        return;
    };
    netns.add_tap();
    // Two contacts: the agent skips the first and accepts the second.
    let contacts = std::env::temp_dir().join(format!("{}-contacts.csv", netns.0));
    std::fs::write(
        &contacts,
        "account,name,phone\nAC111,\"John,Doe\",5550100\nAC112,Jane Roe,5550101\n",
    )
    .unwrap();
    let listen = format!("{SERVER}:12028");
    let (mut sim, lines, reader) = netns.start_server(
        &ccx,
        &[
            "sim",
            // Reads `status` and `quit` from stdin, which the test sends at the end.
            "--interactive",
            "--listen",
            &listen,
            "--contacts",
            contacts.to_str().unwrap(),
        ],
        "listening on",
    );
    let (phone_status, phone_out) = netns.run_phone(&["--ends-talking"]);

    let _ = sim.0.stdin.take().unwrap().write_all(b"status\nquit\n");
    let sim_status = wait_for(&mut sim.0, "ccx sim");
    reader.join().unwrap();
    let _ = std::fs::remove_file(&contacts);
    let sim_out: Vec<String> = lines.try_iter().collect();
    println!("--- ccx sim ---\n{}", sim_out.join("\n"));

    assert!(phone_status.success(), "phone failed: {phone_status}");
    assert!(
        phone_out.contains("PASS: agent Talking, 1 calls"),
        "no PASS line"
    );
    assert!(phone_out.contains("Preview(Skip)") && phone_out.contains("Preview(Accept)"));
    assert!(sim_status.success(), "ccx sim failed: {sim_status}");
}
