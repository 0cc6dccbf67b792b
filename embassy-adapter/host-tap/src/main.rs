//! The embassy adapter on a Linux host, over a real TAP interface.
//!
//! ```text
//! host-tap serve ADDR:PORT [--drop-first]
//!                                        the scripted Unified CCX on a Linux socket; prints
//!                                        "LISTENING ADDR:PORT", serves one phone, exits 0 when
//!                                        the story was told without a script failure.
//!                                        `--drop-first`: close the first connection right after
//!                                        OPEN_CONF, then play the story on the next one
//! host-tap phone TAP IP/PREFIX SERVER [--ends-talking]
//!                                        the phone: embassy-net on TAP device TAP with address
//!                                        IP/PREFIX, connecting to SERVER:12028; plays the agent's
//!                                        side and prints "PASS ..." (exit 0) or "FAIL ..." (exit 1).
//!                                        `--ends-talking`: the server is a full Unified CCX
//!                                        (`ccx sim`) that dials the accepted contact, so the
//!                                        story ends with the agent TALKING to the customer
//! ```
//!
//! `tests/tap_e2e.rs` runs both inside a network namespace of its own.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::process::ExitCode;
use std::time::Duration as StdDuration;

use ccx_cti::phone::{Event, Phone};
use ccx_cti_embassy::{Buffers, Link, OwnedCommand};
use ccx_cti_preview_story::{
    check_final_state, story_config, Ending, PreviewAgent, PreviewServer, PORT,
};
use embassy_executor::{Executor, Spawner};
use embassy_futures::select::{select, Either};
use embassy_net::{Config, Ipv4Cidr, StackResources, StaticConfigV4};
use embassy_net_tuntap::TunTapDevice;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::Channel;
use embassy_sync::signal::Signal;
use embassy_time::{Duration, Timer};
use static_cell::StaticCell;

/// The story takes well under a second on a TAP link; this only stops a hang.
const STORY_DEADLINE: Duration = Duration::from_secs(20);

static EXECUTOR: StaticCell<Executor> = StaticCell::new();
static NET: StaticCell<StackResources<3>> = StaticCell::new();
static COMMANDS: Channel<CriticalSectionRawMutex, OwnedCommand, 4> = Channel::new();
static EVENTS: Channel<CriticalSectionRawMutex, Event, 8> = Channel::new();
static AGENT_DONE: Signal<CriticalSectionRawMutex, ()> = Signal::new();

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .target(env_logger::Target::Stdout)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["serve", addr] => serve(addr, false),
        ["serve", addr, "--drop-first"] => serve(addr, true),
        ["phone", tap, cidr, server, rest @ ..] => {
            let ending = match rest {
                [] => Ending::Available,
                ["--ends-talking"] => Ending::TalkingToCustomer,
                _ => {
                    eprintln!("unknown options: {rest:?}");
                    return ExitCode::from(2);
                }
            };
            let Some(address) = parse_cidr(cidr) else {
                eprintln!("not an IPv4 address/prefix: {cidr}");
                return ExitCode::from(2);
            };
            let Ok(server) = server.parse::<Ipv4Addr>() else {
                eprintln!("not an IPv4 address: {server}");
                return ExitCode::from(2);
            };
            let tap = tap.to_string();
            EXECUTOR.init(Executor::new()).run(move |spawner| {
                spawner.spawn(phone(spawner, tap, address, server, ending).unwrap());
            })
        }
        _ => {
            eprintln!(
                "usage: host-tap serve ADDR:PORT [--drop-first] | host-tap phone TAP IP/PREFIX SERVER_IP [--ends-talking]"
            );
            ExitCode::from(2)
        }
    }
}

fn parse_cidr(text: &str) -> Option<Ipv4Cidr> {
    let (ip, prefix) = text.split_once('/')?;
    Some(Ipv4Cidr::new(ip.parse().ok()?, prefix.parse().ok()?))
}

/// The scripted Unified CCX on a Linux socket: one phone, one story. With `drop_first`, the
/// first connection is closed right after OPEN_CONF (a fault), and the story is played on the
/// phone's next connection.
fn serve(addr: &str, drop_first: bool) -> ExitCode {
    let listener = match TcpListener::bind(addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            return ExitCode::from(2);
        }
    };
    println!("LISTENING {addr}");
    let _ = std::io::stdout().flush();
    if drop_first {
        if let Err(e) = open_then_drop(&listener) {
            log::error!("server: first connection: {e}");
            return ExitCode::FAILURE;
        }
    }
    let (mut stream, peer) = match listener.accept() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("accept failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    log::info!("server: phone connected from {peer}");
    let _ = stream.set_read_timeout(Some(StdDuration::from_secs(30)));
    let _ = stream.set_nodelay(true);
    let mut server = PreviewServer::new();
    let mut buf = [0u8; 2048];
    loop {
        if !server.output().is_empty() {
            if let Err(e) = stream.write_all(server.output()) {
                log::error!("server: write failed: {e}");
                return ExitCode::FAILURE;
            }
            let n = server.output().len();
            server.consume_output(n);
        }
        if let Some(failure) = server.failure() {
            println!("SERVER FAIL: {failure:?}");
            return ExitCode::FAILURE;
        }
        // The phone closes the connection when it has checked its state; closing first would
        // race with its check of the session.
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => server.receive(buf.get(..n).unwrap_or(&[])),
            Err(e) => {
                log::error!("server: read failed: {e}");
                break;
            }
        }
    }
    let (received, sent) = server.counts();
    if server.finished() {
        println!("SERVER DONE: received {received} messages, sent {sent}");
        ExitCode::SUCCESS
    } else {
        println!("SERVER FAIL: the story stopped at {:?}", server.stage());
        ExitCode::FAILURE
    }
}

/// Accept a connection, answer its OPEN_REQ, and close it.
fn open_then_drop(listener: &TcpListener) -> std::io::Result<()> {
    let (mut stream, peer) = listener.accept()?;
    log::info!("server: phone connected from {peer}; it will be dropped after OPEN_CONF");
    let _ = stream.set_read_timeout(Some(StdDuration::from_secs(30)));
    let mut server = PreviewServer::new();
    let mut buf = [0u8; 2048];
    while server.output().is_empty() {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        server.receive(buf.get(..n).unwrap_or(&[]));
    }
    stream.write_all(server.output())?;
    log::info!("server: dropping the connection (fault)");
    stream.shutdown(std::net::Shutdown::Both)
}

#[embassy_executor::task]
async fn phone(spawner: Spawner, tap: String, address: Ipv4Cidr, server: Ipv4Addr, ending: Ending) {
    let device = match TunTapDevice::new(&tap) {
        Ok(d) => d,
        Err(e) => exit(&format!("cannot open TAP device {tap}: {e}")),
    };
    let config = Config::ipv4_static(StaticConfigV4 {
        address,
        gateway: None,
        dns_servers: heapless::Vec::new(),
    });
    let seed = u64::from(std::process::id()) ^ 0x5eed_cafe_f00d_d00d;
    let (stack, runner) = embassy_net::new(device, config, NET.init(StackResources::new()), seed);
    spawner.spawn(net_task(runner).unwrap());
    spawner.spawn(agent_task(ending).unwrap());
    stack.wait_config_up().await;
    log::info!("phone: {address} on {tap}, server {server}:{PORT}");

    let mut phone: Phone = Phone::new(story_config(&server.to_string(), PORT));
    let mut buffers: Buffers = Buffers::new();
    let mut link = Link::new(stack, &mut buffers, COMMANDS.receiver(), EVENTS.sender());
    let end = link
        .drive_until(
            &mut phone,
            select(AGENT_DONE.wait(), Timer::after(STORY_DEADLINE)),
        )
        .await;
    if let Either::Second(()) = end {
        exit("FAIL: the story did not finish in time");
    }
    match check_final_state(&phone, ending) {
        Ok(()) => {
            println!(
                "PASS: agent {:?}, {} calls, preview pending: {}, session {:?}",
                phone.agent().state,
                phone.calls().count(),
                phone.preview().is_some(),
                phone.session().state
            );
            std::process::exit(0)
        }
        Err(wrong) => exit(&format!("FAIL: wrong final phone state: {wrong:?}")),
    }
}

fn exit(message: &str) -> ! {
    println!("{message}");
    std::process::exit(1)
}

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, TunTapDevice>) -> ! {
    runner.run().await
}

/// The agent at the phone: shows each event and presses the story's buttons.
#[embassy_executor::task]
async fn agent_task(ending: Ending) {
    let mut agent = PreviewAgent::new(ending);
    loop {
        let event = EVENTS.receive().await;
        log::info!("phone event: {event:?}");
        if let Some(command) = agent.on_event(&event) {
            log::info!("agent presses {command:?}");
            match OwnedCommand::try_from(command) {
                Ok(owned) => COMMANDS.send(owned).await,
                Err(e) => log::error!("agent: {e}"),
            }
        }
        if agent.done() {
            AGENT_DONE.signal(());
        }
    }
}
