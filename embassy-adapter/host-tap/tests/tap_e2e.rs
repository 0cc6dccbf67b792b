//! The embassy adapter over a real TAP interface: the phone (embassy-net in user space on
//! `tap0`, 192.168.69.2) plays the outbound preview story against the scripted Unified CCX on a
//! Linux socket (192.168.69.1:12028), both inside a network namespace this test creates. The
//! namespace has no route out, so nothing leaves it.
//!
//! Creating a namespace and opening /dev/net/tun need root (CAP_NET_ADMIN); without it the test
//! prints `SKIP: ...` and passes. CI runs as root, so there it really runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const SERVER: &str = "192.168.69.1";
const PHONE: &str = "192.168.69.2/24";
const BIN: &str = env!("CARGO_BIN_EXE_host-tap");

/// A network namespace that is deleted when the test ends, however it ends.
struct Netns(String);

impl Netns {
    fn create() -> Option<Netns> {
        let name = format!("ccx-tap-{}", std::process::id());
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
    let Some(netns) = Netns::create() else {
        println!("SKIP: cannot create network namespace (need root/CAP_NET_ADMIN and iproute2)");
        return;
    };
    netns.run(&["ip", "link", "set", "lo", "up"]);
    netns.run(&["ip", "tuntap", "add", "dev", "tap0", "mode", "tap"]);
    netns.run(&["ip", "addr", "add", &format!("{SERVER}/24"), "dev", "tap0"]);
    netns.run(&["ip", "link", "set", "tap0", "up"]);

    let listen = format!("{SERVER}:12028");
    let mut server = Reaper(
        netns
            .command(BIN)
            .args(["serve", &listen])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    // Read the server's output on a thread: the pipe must stay open while it writes.
    let (lines_tx, lines_rx) = mpsc::channel::<String>();
    let server_out = server.0.stdout.take().unwrap();
    let reader = thread::spawn(move || {
        for line in BufReader::new(server_out).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let first = lines_rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(first.starts_with("LISTENING"), "server said {first:?}");

    let mut phone = Reaper(
        netns
            .command("timeout")
            .args(["60", BIN, "phone", "tap0", PHONE, SERVER])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let mut phone_out = String::new();
    phone
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut phone_out)
        .unwrap();
    let phone_status = phone.0.wait().unwrap();
    println!("--- phone ---\n{phone_out}");

    // The phone closed its connection at the end, so the server finishes on its own; after a
    // failed phone it may wait for ever, so stop it.
    if !phone_status.success() {
        let _ = server.0.kill();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let server_status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not finish");
        thread::sleep(Duration::from_millis(50));
    };
    reader.join().unwrap();
    let server_out: Vec<String> = lines_rx.try_iter().collect();
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
