//! What every image of the phone does, whatever its board: the recorder and its clock, the
//! factory configuration, the report of what the store booted with, the network brought up by
//! itself (DHCP lease, SNTP, DNS of side A and side B) and the recorder's dump. The qemu image
//! (`main.rs` here) and the Nucleo-F429ZI image (`../board-nucleo-f429zi`) both include this file;
//! only the chip's drivers, the keys and the end of a run differ.

use core::cell::{Cell, RefCell};

use ccx_cti::config::{PhoneConfig, ServerAddr, DEFAULT_PORT};
use ccx_cti_recorder::{FrameSink, Kind, Recorder, TcpTap, LINE_PREFIX};
use ccx_cti_store::{Boot, Source};
use defmt::{info, warn};
use embassy_net::dns::DnsQueryType;
use embassy_net::Stack;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::blocking_mutex::Mutex;
use embassy_time::{with_timeout, Duration, Instant};

/// The recorder's ring (build time: the `recorder-64k` feature for a larger one).
#[cfg(not(feature = "recorder-64k"))]
pub const RECORDER_BYTES: usize = 16 * 1024;
#[cfg(feature = "recorder-64k")]
pub const RECORDER_BYTES: usize = 64 * 1024;

type Shared<T> = Mutex<CriticalSectionRawMutex, RefCell<T>>;

static RECORDER: Shared<Recorder<RECORDER_BYTES>> = Mutex::new(RefCell::new(Recorder::new()));
static TCP_TAP: Shared<TcpTap> = Mutex::new(RefCell::new(TcpTap::new(DEFAULT_PORT)));
/// Wall clock minus uptime, in ms, once SNTP answered.
static WALL_OFFSET_MS: Mutex<CriticalSectionRawMutex, Cell<Option<u64>>> =
    Mutex::new(Cell::new(None));

/// The time the recorder stamps: wall clock once known, else uptime.
pub fn stamp() -> u64 {
    let up = Instant::now().as_millis();
    WALL_OFFSET_MS.lock(|o| o.get()).map_or(up, |off| up + off)
}

/// An Ethernet frame the driver sent (`outgoing`) or received, for the recorder's TCP tap.
pub fn record_frame(outgoing: bool, frame: &[u8]) {
    let at = stamp();
    TCP_TAP.lock(|tap| {
        RECORDER.lock(|rec| {
            tap.borrow_mut()
                .frame(outgoing, frame, at, &mut *rec.borrow_mut())
        })
    });
}

/// The recorder itself, for a moment (`persist.rs` saves it to flash on a session loss).
pub fn with_recorder<R>(f: impl FnOnce(&mut Recorder<RECORDER_BYTES>) -> R) -> R {
    RECORDER.lock(|r| f(&mut r.borrow_mut()))
}

/// A note in the recorder (the phone's events).
pub fn note(text: &str) {
    let at = stamp();
    RECORDER.lock(|rec| rec.borrow_mut().record(Kind::Note, text.as_bytes(), at));
}

/// Print the recorder as `ccx-rec` hex lines (for `ccx recorder`).
pub fn dump_recorder() {
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
}

/// The configuration a phone without a usable stored one runs with: it looks for its servers
/// by the names a site's DNS is expected to have.
pub fn factory() -> PhoneConfig {
    let mut c = PhoneConfig::default();
    c.servers.clear();
    for name in ["side-a.example", "side-b.example"] {
        let mut host = heapless::String::new();
        let _ = host.push_str(name);
        let _ = c.servers.push(ServerAddr {
            host,
            port: DEFAULT_PORT,
        });
    }
    let _ = c.agent_id.push_str("chli4020");
    let _ = c.agent_extension.push_str("4020");
    c
}

/// Say what the store booted with (a board's screen shows the same).
pub fn report_boot<E: defmt::Format>(boot: &Boot<E>) {
    match (&boot.source, &boot.problem) {
        (Source::Stored, _) => info!("config: from flash, agent {=str}", boot.config.agent_id),
        (Source::Previous, problem) => warn!(
            "config: the newest stored one is not used ({:?}): the last good one, agent {=str}",
            problem, boot.config.agent_id
        ),
        (Source::Factory, Some(problem)) => {
            warn!(
                "config: the stored one is not used ({:?}): factory configuration",
                problem
            )
        }
        (Source::Factory, None) => warn!("config: factory configuration"),
    }
    if boot.needs_password() {
        info!("config: the agent's password is not stored; it is asked at login");
    }
    if let Some(agent) = boot.agent {
        info!("config: the agent's last state: {:?}", agent);
    }
}

/// Wait for a DHCP lease, set the clock by SNTP (from the gateway, else the DNS server) and
/// look both sides up by DNS (the phone's driver resolves them again at every connection).
pub async fn network_up(stack: Stack<'_>, config: &PhoneConfig) -> Result<(), &'static str> {
    if with_timeout(Duration::from_secs(30), stack.wait_config_up())
        .await
        .is_err()
    {
        return Err("no DHCP lease in 30 s");
    }
    let lease = stack
        .config_v4()
        .ok_or("DHCP up without an IPv4 configuration")?;
    info!(
        "DHCP lease: {} gateway {} DNS {}",
        lease.address,
        lease.gateway,
        lease.dns_servers.as_slice()
    );
    note("DHCP lease");
    if let Some(server) = lease.gateway.or(lease.dns_servers.first().copied()) {
        match crate::sntp::query(stack, server).await {
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
    Ok(())
}
