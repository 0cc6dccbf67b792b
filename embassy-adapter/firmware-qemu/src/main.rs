//! The agent phone on an emulated Cortex-M4 (qemu mps2-an386), playing the outbound preview
//! story against a scripted Unified CCX in the same image.
//!
//! Two embassy-net stacks are wired back to back through embassy-net-driver-channel:
//!
//! ```text
//!  phone stack 10.0.0.2  <-- bridge tasks (Ethernet frames) -->  server stack 10.0.0.1:12028
//!  ccx_cti_embassy::drive(Phone)                                   PreviewServer (core codec)
//!        ^ commands            | events
//!        +---- agent task <----+   (presses Login, Ready, Skip, Accept)
//! ```
//!
//! The run ends when the agent has seen the whole story: the phone's final state is checked and
//! the firmware exits through semihosting with 0 (pass) or 1 (fail).
#![no_std]
#![no_main]

mod time_driver;

use core::cell::Cell;
use core::net::Ipv4Addr;

use ccx_cti::phone::{Event, Phone};
use ccx_cti_embassy::{Buffers, OwnedCommand};
use ccx_cti_preview_story::{
    check_final_state, story_config, Ending, PreviewAgent, PreviewServer, ScriptFailure, Stage,
    PORT,
};
use cortex_m as _; // links the critical-section implementation
use cortex_m_rt::{exception, ExceptionFrame};
use cortex_m_semihosting::debug::{self, EXIT_FAILURE, EXIT_SUCCESS};
use defmt::{error, info};
use defmt_semihosting as _;
use embassy_executor::Spawner;
use embassy_futures::select::{select3, Either3};
use embassy_net::tcp::TcpSocket;
use embassy_net::{Config, Ipv4Cidr, Stack, StackResources, StaticConfigV4};
use embassy_net_driver_channel as ch;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::channel::Channel;
use embassy_sync::signal::Signal;
use embassy_time::{Duration, Timer};
use static_cell::StaticCell;

const MTU: usize = 1514;
const PHONE_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// The whole story takes well under a second of emulated time; this only stops a hang.
const STORY_DEADLINE: Duration = Duration::from_secs(10);

type Link = ch::State<MTU, 2, 2>;
type Device = ch::Device<'static, MTU>;

static PHONE_LINK: StaticCell<Link> = StaticCell::new();
static SERVER_LINK: StaticCell<Link> = StaticCell::new();
static PHONE_NET: StaticCell<StackResources<2>> = StaticCell::new();
static SERVER_NET: StaticCell<StackResources<2>> = StaticCell::new();
static PHONE: StaticCell<Phone> = StaticCell::new();
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

defmt::timestamp!("{=u64:ms}", embassy_time::Instant::now().as_millis());

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        fail("core peripherals taken twice");
    };
    time_driver::init(peripherals.SYST);
    info!("ccx-cti phone on an emulated Cortex-M4: outbound preview story");

    let (phone_runner, phone_device) = ch::new(
        PHONE_LINK.init(Link::new()),
        ch::driver::HardwareAddress::Ethernet([0x02, 0, 0, 0, 0, 2]),
    );
    let (server_runner, server_device) = ch::new(
        SERVER_LINK.init(Link::new()),
        ch::driver::HardwareAddress::Ethernet([0x02, 0, 0, 0, 0, 1]),
    );
    let (phone_state, phone_rx, phone_tx) = phone_runner.split();
    let (server_state, server_rx, server_tx) = server_runner.split();
    phone_state.set_link_state(ch::driver::LinkState::Up);
    server_state.set_link_state(ch::driver::LinkState::Up);
    spawner.spawn(bridge(phone_tx, server_rx).unwrap());
    spawner.spawn(bridge(server_tx, phone_rx).unwrap());

    let (phone_stack, phone_net) = embassy_net::new(
        phone_device,
        static_config(PHONE_IP),
        PHONE_NET.init(StackResources::new()),
        0x0123_4567_89ab_cdef,
    );
    let (server_stack, server_net) = embassy_net::new(
        server_device,
        static_config(SERVER_IP),
        SERVER_NET.init(StackResources::new()),
        0xfedc_ba98_7654_3210,
    );
    spawner.spawn(net_task(phone_net).unwrap());
    spawner.spawn(net_task(server_net).unwrap());
    spawner.spawn(server_task(server_stack).unwrap());
    spawner.spawn(agent_task().unwrap());
    SERVER_LISTENING.wait().await;

    let mut host = heapless::String::<16>::new();
    let _ = core::fmt::write(&mut host, format_args!("{}", SERVER_IP));
    let phone = PHONE.init(Phone::new(story_config(&host, PORT)));
    let buffers = BUFFERS.init(Buffers::new());
    let end = ccx_cti_embassy::drive_until(
        phone_stack,
        phone,
        buffers,
        COMMANDS.receiver(),
        EVENTS.sender(),
        select3(
            AGENT_DONE.wait(),
            SCRIPT_BROKEN.wait(),
            Timer::after(STORY_DEADLINE),
        ),
    )
    .await;
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

fn static_config(ip: Ipv4Addr) -> Config {
    Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(ip, 24),
        gateway: None,
        dns_servers: heapless::Vec::new(),
    })
}

/// Moves Ethernet frames from one stack's transmit queue to the other's receive queue.
#[embassy_executor::task(pool_size = 2)]
async fn bridge(mut from: ch::TxRunner<'static, MTU>, mut to: ch::RxRunner<'static, MTU>) -> ! {
    loop {
        let frame = from.tx_buf().await;
        let dst = to.rx_buf().await;
        let len = frame.len().min(dst.len());
        dst[..len].copy_from_slice(&frame[..len]);
        to.rx_done(len);
        from.tx_done();
    }
}

#[embassy_executor::task(pool_size = 2)]
async fn net_task(mut runner: embassy_net::Runner<'static, Device>) -> ! {
    runner.run().await
}

/// The scripted Unified CCX: accept one connection and let [`PreviewServer`] answer.
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

fn fail(reason: &str) -> ! {
    error!("FAIL: {=str}", reason);
    exit_failure()
}

fn fail_with<T: defmt::Format>(reason: &str, detail: T) -> ! {
    error!("FAIL: {=str}: {:?}", reason, detail);
    exit_failure()
}

fn exit_failure() -> ! {
    debug::exit(EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    error!("panic: {}", defmt::Display2Format(info));
    exit_failure()
}

#[defmt::panic_handler]
fn defmt_panic() -> ! {
    exit_failure()
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    error!("HardFault at pc {=u32:#x}", frame.pc());
    exit_failure()
}
