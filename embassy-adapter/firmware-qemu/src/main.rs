//! The agent phone on an emulated Cortex-M4 (qemu mps2-an386), playing the outbound preview
//! story against a scripted Unified CCX in the same image.
//!
//! Two embassy-net stacks are wired back to back through embassy-net-driver-channel:
//!
//! ```text
//!  phone stack 10.0.0.2  <-- bridge tasks (Ethernet frames) -->  server stack 10.0.0.1:12028
//!  ccx_cti_embassy::Link::drive(Phone)                                   PreviewServer (core codec)
//!        ^ commands            | events
//!        +---- agent task <----+   (presses Login, Ready, Skip, Accept)
//! ```
//!
//! The run ends when the agent has seen the whole story: the phone's final state is checked and
//! the firmware exits through semihosting with 0 (pass) or 1 (fail).
#![no_std]
#![no_main]

mod board;
mod time_driver;

use core::cell::Cell;

use board::exit_failure;
use ccx_cti::phone::{Event, Phone};
use ccx_cti_embassy::{Buffers, Link, OwnedCommand, PublishedView};
use ccx_cti_preview_story::{
    check_final_state, story_config, Ending, PreviewAgent, PreviewServer, ScriptFailure, Stage,
    PORT,
};
use cortex_m as _; // links the critical-section implementation
use cortex_m_semihosting::debug::{self, EXIT_SUCCESS};
use defmt::{error, info};
use defmt_semihosting as _;
use embassy_executor::Spawner;
use embassy_futures::select::{select3, Either3};
use embassy_net::tcp::TcpSocket;
use embassy_net::Stack;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::channel::Channel;
use embassy_sync::signal::Signal;
use embassy_time::{Duration, Timer};
use static_cell::StaticCell;

/// The whole story takes well under a second of emulated time; this only stops a hang.
const STORY_DEADLINE: Duration = Duration::from_secs(10);

static PHONE: StaticCell<Phone> = StaticCell::new();
/// The phone's view for the screen: the driver publishes it, the screen task reads it.
static VIEW: PublishedView<CriticalSectionRawMutex> = PublishedView::new();
/// Preview contact names the screen showed (the verdict checks the story's two contacts).
static SCREEN_PREVIEWS: Mutex<CriticalSectionRawMutex, Cell<u8>> = Mutex::new(Cell::new(0));
static BUFFERS: StaticCell<Buffers> = StaticCell::new();

static COMMANDS: Channel<CriticalSectionRawMutex, OwnedCommand, 4> = Channel::new();
/// Small on purpose: the phone reports up to seven events at once, so the driver's path that
/// waits for room (and must not lose an event) runs in every story.
static EVENTS: Channel<CriticalSectionRawMutex, Event, 2> = Channel::new();
/// The agent has seen the whole story.
static AGENT_DONE: Signal<CriticalSectionRawMutex, ()> = Signal::new();
/// The server's script broke.
static SCRIPT_BROKEN: Signal<CriticalSectionRawMutex, ScriptFailure> = Signal::new();
/// The server is listening.
static SERVER_LISTENING: Signal<CriticalSectionRawMutex, ()> = Signal::new();
/// Where the server's script is, for the final verdict.
static SERVER_STAGE: Mutex<CriticalSectionRawMutex, Cell<Stage>> =
    Mutex::new(Cell::new(Stage::AwaitOpen));

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let (phone_stack, server_stack) = board::start(spawner);
    info!("ccx-cti phone on an emulated Cortex-M4: outbound preview story");
    spawner.spawn(server_task(server_stack).unwrap());
    spawner.spawn(agent_task().unwrap());
    spawner.spawn(screen_task().unwrap());
    SERVER_LISTENING.wait().await;

    let mut host = heapless::String::<16>::new();
    let _ = core::fmt::write(&mut host, format_args!("{}", board::SERVER_IP));
    let config = story_config(&host, PORT);
    // Like every front end, the firmware refuses a configuration validate() rejects.
    match config.validate() {
        Ok(None) => {}
        Ok(Some(warning)) => info!("configuration: {:?}", warning),
        Err(problem) => fail_with("configuration", problem),
    }
    let phone = PHONE.init(Phone::new(config));
    let buffers = BUFFERS.init(Buffers::new());
    let mut link = Link::new(phone_stack, buffers, COMMANDS.receiver(), EVENTS.sender());
    let stop = select3(
        AGENT_DONE.wait(),
        SCRIPT_BROKEN.wait(),
        Timer::after(STORY_DEADLINE),
    );
    let end = link.drive_until_published(phone, &VIEW, stop).await;
    match end {
        Either3::First(()) => {}
        Either3::Second(failure) => fail_with("server script broken", failure),
        Either3::Third(()) => {
            let stage = SERVER_STAGE.lock(Cell::get);
            fail_with("story did not finish in time; server stage", stage)
        }
    }
    let stage = SERVER_STAGE.lock(Cell::get);
    if stage != Stage::Done {
        fail_with("the server's script is not done", stage);
    }
    if let Err(wrong) = check_final_state(phone, Ending::Available) {
        fail_with("wrong final phone state", wrong);
    }
    let previews = SCREEN_PREVIEWS.lock(Cell::get);
    if previews < 2 {
        fail_with(
            "the screen showed fewer preview cards than offered",
            previews,
        );
    }
    info!(
        "PASS: agent {:?}, {=usize} calls, preview pending: {=bool}, session {:?}",
        phone.agent().state,
        phone.calls().count(),
        phone.preview().is_some(),
        phone.session().state
    );
    debug::exit(EXIT_SUCCESS);
    loop {
        cortex_m::asm::wfi();
    }
}

#[embassy_executor::task]
async fn server_task(stack: Stack<'static>) {
    let mut rx = [0u8; 2048];
    let mut tx = [0u8; 4096];
    let mut socket = TcpSocket::new(stack, &mut rx, &mut tx);
    let mut server = PreviewServer::new();
    SERVER_LISTENING.signal(());
    if let Err(e) = socket.accept(PORT).await {
        error!("server: accept failed: {:?}", e);
        SCRIPT_BROKEN.signal(ScriptFailure::Framing);
        return;
    }
    info!(
        "server: phone connected from {:?}",
        socket.remote_endpoint()
    );
    let mut buf = [0u8; 1024];
    loop {
        while !server.output().is_empty() {
            match socket.write(server.output()).await {
                Ok(n) => server.consume_output(n),
                Err(e) => {
                    error!("server: write failed: {:?}", e);
                    return;
                }
            }
        }
        SERVER_STAGE.lock(|s| s.set(server.stage()));
        if let Some(failure) = server.failure() {
            SCRIPT_BROKEN.signal(failure);
            return;
        }
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => {
                info!("server: connection closed");
                return;
            }
            Ok(n) => server.receive(&buf[..n]),
        }
    }
}

/// The phone's screen: draws (logs) what the published view holds whenever it changes, and
/// keeps nothing of its own between frames except what it last drew, to draw only changes.
#[embassy_executor::task]
async fn screen_task() {
    let mut last_preview: Option<u32> = None;
    let mut last_line: (u16, usize, Option<u32>) = (u16::MAX, usize::MAX, None);
    loop {
        VIEW.changed().await;
        VIEW.read(|view| {
            let line = (
                view.agent.state.value(),
                view.calls().len(),
                view.preview().map(|card| card.call),
            );
            if line != last_line {
                last_line = line;
                info!(
                    "screen: session {:?}, agent {:?}, {=usize} calls, can {=usize} commands",
                    view.session.state,
                    view.agent.state,
                    view.calls().len(),
                    view.valid_commands().count()
                );
                for call in view.calls() {
                    info!(
                        "screen:   call {=u32} {:?} ANI {=str} since {=u64} ms",
                        call.id,
                        call.state,
                        call.ani.as_str(),
                        call.since.as_millis()
                    );
                }
            }
            if let Some(card) = view.preview() {
                if last_preview != Some(card.call) {
                    last_preview = Some(card.call);
                    SCREEN_PREVIEWS.lock(|n| n.set(n.get().saturating_add(1)));
                    info!(
                        "screen: preview contact {=u32}: {=str}, account {=str}, campaign {=str}",
                        card.call,
                        card.name.unwrap_or("?"),
                        card.account.unwrap_or("?"),
                        card.campaign.unwrap_or("?")
                    );
                }
            }
        });
    }
}

/// The agent at the phone: shows each event and presses the story's buttons.
#[embassy_executor::task]
async fn agent_task() {
    let mut agent = PreviewAgent::new(Ending::Available);
    loop {
        let event = EVENTS.receive().await;
        info!("phone event: {:?}", event);
        if let Some(command) = agent.on_event(&event) {
            info!("agent presses {:?}", command);
            match OwnedCommand::try_from(command) {
                Ok(owned) => COMMANDS.send(owned).await,
                Err(e) => error!("agent: {:?}", e),
            }
        }
        if agent.done() {
            AGENT_DONE.signal(());
        }
    }
}

fn fail_with<T: defmt::Format>(reason: &str, detail: T) -> ! {
    error!("FAIL: {=str}: {:?}", reason, detail);
    exit_failure()
}
