//! The agent phone's product image on qemu mps2-an386 (Cortex-M4F), on the emulated LAN9118
//! Ethernet controller:
//!
//! 1. the configuration comes from the flash store (a RAM region qemu loads with
//!    `-device loader`; a newest record that is damaged or fails validation is reported and the
//!    last good one used (the screen says which field and why), with none the factory one);
//! 2. the network by itself: a DHCP lease, the clock by SNTP (from the DHCP server's address),
//!    side A and side B looked up by DNS;
//! 3. the phone, through the embassy adapter's public `Link::drive_until`, with an agent task that
//!    logs in and becomes ready after every session opening (a failover too);
//! 4. the agent's screen (the core's screen model), dumped as a 128x64 framebuffer at boot and
//!    at the end;
//! 5. the flight recorder: every Ethernet frame of the CTI connection goes through the
//!    recorder's TCP tap; the ring is saved to a flash region when the session is lost
//!    (`persist.rs`), and dumped as `ccx-rec` hex lines at the end, with the flash region as
//!    `ccx-flash` lines.
//!
//! The run ends (exit 0 through semihosting) when the agent is ready on side B after a session
//! on side A, that is after a failover; `.ci/firmware.sh` stops side A once the agent is ready
//! there. Without a failover in `RUN_LIMIT` it exits 1 (after the dump).
#![no_std]
#![no_main]

#[path = "../../firmware-qemu/src/time_driver.rs"]
mod time_driver;

mod board;
mod persist;
mod product;
mod screen;
mod sntp;

use ccx_cti::phone::{Event, Phone};
use ccx_cti::wire::AgentState;
use ccx_cti_embassy::{Buffers, Link, OwnedCommand};
use ccx_cti_lan9118::{Direction, FrameTap, Lan9118, MPS2_AN386_BASE};
use ccx_cti_store::ram_flash::RamFlash;
use ccx_cti_store::{AgentRecord, ConfigStore};
use cortex_m as _; // links the critical-section implementation
use cortex_m_semihosting::debug::{self, EXIT_SUCCESS};
use defmt::{error, info, warn};
use defmt_semihosting as _;
use embassy_executor::Spawner;
use embassy_futures::select::{select, Either};
use embassy_net::{Config, DhcpConfig, StackResources};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::Channel;
use embassy_sync::signal::Signal;
use embassy_time::{Duration, Timer};
use static_cell::StaticCell;

/// The configuration region: 8 pages of 4 KiB at the top of SSRAM2/3, outside the linker's RAM
/// (memory.x gives the program the first MiB), so `-device loader` can fill it before boot.
const STORE_BASE: usize = 0x2038_0000;
const STORE_LEN: usize = 8 * ccx_cti_store::ram_flash::PAGE;
// The recorder's dump region (persist.rs) follows the configuration region, below 4 MiB.
const _: () = assert!(board::DUMP_BASE >= STORE_BASE + STORE_LEN);
const _: () = assert!(board::DUMP_BASE + persist::LEN <= 0x2040_0000);
/// A run without a failover ends here.
const RUN_LIMIT: Duration = Duration::from_secs(90);

static NET: StaticCell<StackResources<5>> = StaticCell::new();
static PHONE: StaticCell<Phone> = StaticCell::new();
static BUFFERS: StaticCell<Buffers> = StaticCell::new();
static COMMANDS: Channel<CriticalSectionRawMutex, OwnedCommand, 4> = Channel::new();
static EVENTS: Channel<CriticalSectionRawMutex, Event, 4> = Channel::new();
/// The agent is ready on side B after a session on side A.
static FAILED_OVER: Signal<CriticalSectionRawMutex, AgentRecord> = Signal::new();

/// The Ethernet driver's frames go to the recorder through its TCP tap.
struct RecorderTap;

impl FrameTap for RecorderTap {
    fn frame(&mut self, direction: Direction, frame: &[u8]) {
        product::record_frame(direction == Direction::Out, frame);
    }
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    board::init_time();
    info!("ccx-cti phone (product image): LAN9118, DHCP, DNS, SNTP, flash store, recorder");

    // 1. Configuration from flash.
    // SAFETY: the region is outside the program's memory (memory.x) and used by nothing else.
    let region = unsafe { core::slice::from_raw_parts_mut(STORE_BASE as *mut u8, STORE_LEN) };
    let Ok(mut store) = ConfigStore::new(RamFlash::new(region), 0..STORE_LEN as u32) else {
        board::fail("the store region is not a whole number of pages")
    };
    // SAFETY: the dump region follows the store's, outside the program's memory, used by
    // nothing else.
    let dump =
        unsafe { core::slice::from_raw_parts_mut(board::DUMP_BASE as *mut u8, persist::LEN) };
    persist::init(RamFlash::new(dump)).await;
    let boot = store.boot(product::factory).await;
    // No keypad on qemu: the login goes out with an empty password when none is stored (ccx
    // sim's default agent accepts it). A board asks the agent.
    product::report_boot(&boot);
    if let Some(rejected) = boot.rejected() {
        screen::config_rejected(rejected);
    }
    let config = boot.config;

    // 2. Network: DHCP, then SNTP and DNS.
    // SAFETY: mps2-an386 maps one LAN9118 there; this is its only driver.
    let mut device = match unsafe { Lan9118::new(MPS2_AN386_BASE, RecorderTap) } {
        Ok(d) => d,
        Err(e) => board::fail_with("no LAN9118", defmt::Debug2Format(&e)),
    };
    device.enable_interrupt();
    board::unmask_ethernet_interrupt();
    let mac = device.mac();
    info!("net: LAN9118 up, MAC {=[u8]:02x}", mac);
    let seed = u64::from_le_bytes([mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], 0x5a, 0xa5]);
    let (stack, runner) = embassy_net::new(
        device,
        Config::dhcpv4(DhcpConfig::default()),
        NET.init(StackResources::new()),
        seed,
    );
    spawner.spawn(board::net_task(runner).unwrap());
    if let Err(e) = product::network_up(stack, &config).await {
        board::fail(e);
    }

    // 3. The phone.
    if let Err(problem) = config.validate() {
        board::fail_with("configuration", problem);
    }
    spawner.spawn(agent_task(config.servers.len()).unwrap());
    let phone = PHONE.init(Phone::new(config));
    screen::dump("boot", &phone.view());
    let buffers = BUFFERS.init(Buffers::new());
    let mut link = Link::new(stack, buffers, COMMANDS.receiver(), EVENTS.sender());
    let end = link
        .drive_until(phone, select(FAILED_OVER.wait(), Timer::after(RUN_LIMIT)))
        .await;
    let passed = match end {
        Either::First(agent) => {
            info!("PASS: failover from side A to side B, agent ready on B");
            if let Err(e) = store.save_agent(&agent).await {
                warn!("store: agent state not saved: {:?}", e);
            } else {
                info!("store: agent state saved: {:?}", agent);
            }
            true
        }
        Either::Second(()) => {
            error!("FAIL: no failover to side B in {} s", RUN_LIMIT.as_secs());
            false
        }
    };
    // Let the last frames (the close) reach the recorder.
    Timer::after(Duration::from_millis(300)).await;

    // 4. The screen as the run ends, and the recorder's dump.
    screen::dump("end", &phone.view());
    product::dump_recorder();
    persist::dump_region().await;
    if passed {
        debug::exit(EXIT_SUCCESS);
    }
    board::exit_failure()
}

/// The agent at the phone: logs in and becomes ready after every session opening, and says
/// when that happened on side B after side A.
#[embassy_executor::task]
async fn agent_task(servers: usize) {
    let mut side: Option<usize> = None;
    let mut was_on_a = false;
    loop {
        let event = EVENTS.receive().await;
        info!("phone event: {:?}", event);
        screen::event(&event);
        let command = match event {
            Event::SessionOpened { server } => {
                side = Some(server);
                info!("session open on side {=str}", side_name(server));
                product::note(if server == 0 {
                    "session open on side A"
                } else {
                    "session open on side B"
                });
                Some(OwnedCommand::Login { password: None })
            }
            Event::SessionLost { .. } => {
                product::note("session lost");
                persist::session_lost().await;
                None
            }
            Event::AgentStateChanged {
                state: AgentState::NotReady,
                ..
            } => {
                product::note("agent not ready");
                Some(OwnedCommand::Ready)
            }
            Event::AgentStateChanged {
                state: AgentState::Available,
                reason,
            } => {
                let on = side.unwrap_or(0);
                info!("agent ready on side {=str}", side_name(on));
                product::note("agent ready");
                if on == 0 {
                    was_on_a = true;
                } else if was_on_a && servers > 1 {
                    FAILED_OVER.signal(AgentRecord {
                        logged_in: true,
                        state: AgentState::Available.value(),
                        reason_code: reason.code(),
                    });
                }
                None
            }
            _ => None,
        };
        if let Some(c) = command {
            COMMANDS.send(c).await;
        }
    }
}

fn side_name(server: usize) -> &'static str {
    match server {
        0 => "A",
        1 => "B",
        _ => "?",
    }
}
