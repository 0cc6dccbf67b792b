//! The agent phone's product image on qemu mps2-an386 (Cortex-M4F), on the emulated LAN9118
//! Ethernet controller:
//!
//! 1. the configuration comes from the flash store (a RAM region qemu loads with
//!    `-device loader`; a damaged, missing or invalid one is reported and the factory one used);
//! 2. the network by itself: a DHCP lease, the clock by SNTP (from the DHCP server's address),
//!    side A and side B looked up by DNS;
//! 3. the phone, through the embassy adapter's public `drive_until`, with an agent task that
//!    logs in and becomes ready after every session opening (a failover too);
//! 4. the flight recorder: every Ethernet frame of the CTI connection goes through the
//!    recorder's TCP tap; the ring is dumped as `ccx-rec` hex lines at the end.
//!
//! The run ends (exit 0 through semihosting) when the agent is ready on side B after a session
//! on side A, that is after a failover; `.ci/firmware.sh` stops side A once the agent is ready
//! there. Without a failover in `RUN_LIMIT` it exits 1 (after the dump).
#![no_std]
#![no_main]

#[path = "../../firmware-qemu/src/time_driver.rs"]
mod time_driver;

mod board;
mod sntp;

use core::cell::{Cell, RefCell};

use ccx_cti::config::{PhoneConfig, ServerAddr};
use ccx_cti::phone::{Event, Phone};
use ccx_cti::wire::AgentState;
use ccx_cti_embassy::{Buffers, OwnedCommand};
use ccx_cti_lan9118::{Direction, FrameTap, Lan9118, MPS2_AN386_BASE};
use ccx_cti_recorder::{FrameSink, Kind, Recorder, TcpTap, LINE_PREFIX};
use ccx_cti_store::ram_flash::RamFlash;
use ccx_cti_store::{AgentRecord, ConfigStore, Source};
use cortex_m as _; // links the critical-section implementation
use cortex_m_semihosting::debug::{self, EXIT_SUCCESS};
use defmt::{error, info, warn};
use defmt_semihosting as _;
use embassy_executor::Spawner;
use embassy_futures::select::{select, Either};
use embassy_net::dns::DnsQueryType;
use embassy_net::{Config, DhcpConfig, StackResources};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::channel::Channel;
use embassy_sync::signal::Signal;
use embassy_time::{with_timeout, Duration, Instant, Timer};
use static_cell::StaticCell;

/// The configuration region: 8 pages of 4 KiB at the top of SSRAM2/3, outside the linker's RAM
/// (memory.x gives the program the first MiB), so `-device loader` can fill it before boot.
const STORE_BASE: usize = 0x2038_0000;
const STORE_LEN: usize = 8 * ccx_cti_store::ram_flash::PAGE;
/// The recorder's ring (build time).
#[cfg(not(feature = "recorder-64k"))]
const RECORDER_BYTES: usize = 16 * 1024;
#[cfg(feature = "recorder-64k")]
const RECORDER_BYTES: usize = 64 * 1024;
/// A run without a failover ends here.
const RUN_LIMIT: Duration = Duration::from_secs(90);

type Shared<T> = Mutex<CriticalSectionRawMutex, RefCell<T>>;

static RECORDER: Shared<Recorder<RECORDER_BYTES>> = Mutex::new(RefCell::new(Recorder::new()));
static TAP: Shared<TcpTap> = Mutex::new(RefCell::new(TcpTap::new(ccx_cti::config::DEFAULT_PORT)));
/// Wall clock minus uptime, in ms, once SNTP answered.
static WALL_OFFSET_MS: Mutex<CriticalSectionRawMutex, Cell<Option<u64>>> =
    Mutex::new(Cell::new(None));
static NET: StaticCell<StackResources<5>> = StaticCell::new();
static PHONE: StaticCell<Phone> = StaticCell::new();
static BUFFERS: StaticCell<Buffers> = StaticCell::new();
static COMMANDS: Channel<CriticalSectionRawMutex, OwnedCommand, 4> = Channel::new();
static EVENTS: Channel<CriticalSectionRawMutex, Event, 4> = Channel::new();
/// The agent is ready on side B after a session on side A.
static FAILED_OVER: Signal<CriticalSectionRawMutex, AgentRecord> = Signal::new();

/// The time the recorder stamps: wall clock once known, else uptime.
fn stamp() -> u64 {
    let up = Instant::now().as_millis();
    WALL_OFFSET_MS.lock(|o| o.get()).map_or(up, |off| up + off)
}

/// The Ethernet driver's frames go to the recorder through its TCP tap.
struct RecorderTap;

impl FrameTap for RecorderTap {
    fn frame(&mut self, direction: Direction, frame: &[u8]) {
        let at = stamp();
        TAP.lock(|tap| {
            RECORDER.lock(|rec| {
                tap.borrow_mut().frame(
                    direction == Direction::Out,
                    frame,
                    at,
                    &mut *rec.borrow_mut(),
                )
            })
        });
    }
}

fn note(text: &str) {
    let at = stamp();
    RECORDER.lock(|rec| rec.borrow_mut().record(Kind::Note, text.as_bytes(), at));
}

/// The configuration a phone without a usable stored one runs with: it looks for its servers
/// by the names a site's DNS is expected to have.
fn factory() -> PhoneConfig {
    let mut c = PhoneConfig::default();
    c.servers.clear();
    for name in ["side-a.example", "side-b.example"] {
        let mut host = heapless::String::new();
        let _ = host.push_str(name);
        let _ = c.servers.push(ServerAddr {
            host,
            port: ccx_cti::config::DEFAULT_PORT,
        });
    }
    let _ = c.agent_id.push_str("chli4020");
    let _ = c.agent_extension.push_str("4020");
    c
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
    let boot = store.boot(factory).await;
    match (&boot.source, &boot.problem) {
        (Source::Stored, _) => info!("config: from flash, agent {=str}", boot.config.agent_id),
        (Source::Factory, Some(problem)) => {
            warn!(
                "config: the stored one is not used ({:?}): factory configuration",
                problem
            )
        }
        (Source::Factory, None) => warn!("config: factory configuration"),
    }
    if boot.needs_password() {
        // No keypad on qemu: the login goes out with an empty password (ccx sim's default
        // agent accepts it). A board asks the agent here.
        info!("config: the agent's password is not stored; it is asked at login");
    }
    if let Some(agent) = boot.agent {
        info!("config: the agent's last state: {:?}", agent);
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
    if with_timeout(Duration::from_secs(30), stack.wait_config_up())
        .await
        .is_err()
    {
        board::fail("no DHCP lease in 30 s");
    }
    let Some(lease) = stack.config_v4() else {
        board::fail("DHCP up without an IPv4 configuration")
    };
    info!(
        "DHCP lease: {} gateway {} DNS {}",
        lease.address,
        lease.gateway,
        lease.dns_servers.as_slice()
    );
    note("DHCP lease");
    // The SNTP server: the gateway (the DHCP server's side of the link), else the DNS server.
    if let Some(server) = lease.gateway.or(lease.dns_servers.first().copied()) {
        match sntp::query(stack, server).await {
            Ok(unix_ms) => {
                let up = Instant::now().as_millis();
                WALL_OFFSET_MS.lock(|o| o.set(Some(unix_ms.saturating_sub(up))));
                RECORDER.lock(|r| r.borrow_mut().set_wall_clock(true));
                info!("SNTP: {} s since 1970 from {}", unix_ms / 1000, server);
                note("clock set by SNTP");
            }
            Err(e) => warn!("SNTP from {}: {=str}: times stay uptime", server, e),
        }
    }
    for (side, server) in ["A", "B"].iter().zip(config.servers.iter()) {
        match stack.dns_query(&server.host, DnsQueryType::A).await {
            Ok(addrs) => info!(
                "DNS side {=str}: {=str} -> {}",
                side,
                server.host,
                addrs.as_slice()
            ),
            Err(e) => warn!("DNS side {=str}: {=str}: {:?}", side, server.host, e),
        }
    }

    // 3. The phone.
    if let Err(problem) = config.validate() {
        board::fail_with("configuration", problem);
    }
    spawner.spawn(agent_task(config.servers.len()).unwrap());
    let phone = PHONE.init(Phone::new(config));
    let buffers = BUFFERS.init(Buffers::new());
    let end = ccx_cti_embassy::drive_until(
        stack,
        phone,
        buffers,
        COMMANDS.receiver(),
        EVENTS.sender(),
        select(FAILED_OVER.wait(), Timer::after(RUN_LIMIT)),
    )
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

    // 4. The recorder's dump.
    RECORDER.lock(|r| {
        let r = r.borrow();
        info!(
            "recorder: {=usize} of {=usize} bytes, {=u32} records dropped",
            r.used(),
            RECORDER_BYTES,
            r.dropped()
        );
        r.dump_hex(|line| info!("{=str}{=str}", LINE_PREFIX, line));
    });
    info!("recorder: dump done");
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
        let command = match event {
            Event::SessionOpened { server } => {
                side = Some(server);
                info!("session open on side {=str}", side_name(server));
                note(if server == 0 {
                    "session open on side A"
                } else {
                    "session open on side B"
                });
                Some(OwnedCommand::Login { password: None })
            }
            Event::SessionLost { .. } => {
                note("session lost");
                None
            }
            Event::AgentStateChanged {
                state: AgentState::NotReady,
                ..
            } => {
                note("agent not ready");
                Some(OwnedCommand::Ready)
            }
            Event::AgentStateChanged {
                state: AgentState::Available,
                reason,
            } => {
                let on = side.unwrap_or(0);
                info!("agent ready on side {=str}", side_name(on));
                note("agent ready");
                if on == 0 {
                    was_on_a = true;
                } else if was_on_a && servers > 1 {
                    FAILED_OVER.signal(AgentRecord {
                        logged_in: true,
                        state: AgentState::Available.value(),
                        reason_code: reason,
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
