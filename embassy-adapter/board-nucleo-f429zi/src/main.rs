//! The agent phone on an STM32 Nucleo-F429ZI: the product image of `firmware-phone/` on a real
//! board (see `board.rs` for the pin-out). The configuration comes from the flash store in
//! bank 2, the network by DHCP, the clock by SNTP, the servers by DNS; the agent works the
//! phone with GPIO keys; the agent's screen (`firmware-phone/src/screen.rs`) is drawn into a
//! framebuffer at every change of the phone's view and sent to an SSD1306 OLED on SPI4
//! (`panel.rs`; without one the phone runs on); a session loss saves the flight recorder's
//! ring to a flash sector (`firmware-phone/src/persist.rs`); the user button B1 dumps the
//! recorder, the saved region and the screen over defmt (RTT).
#![no_std]
#![no_main]

mod board;
mod panel;
#[path = "../../firmware-phone/src/persist.rs"]
mod persist;
#[path = "../../firmware-phone/src/product.rs"]
mod product;
#[path = "../../firmware-phone/src/screen.rs"]
mod screen;
#[path = "../../firmware-phone/src/sntp.rs"]
mod sntp;
mod tap;

use ccx_cti::phone::{Event, Phone};
use ccx_cti_embassy::{Buffers, Link, OwnedCommand, PublishedView};
use ccx_cti_screen_story::MonoFramebuffer;
use ccx_cti_store::{AgentRecord, ConfigStore};
use core::cell::RefCell;
use defmt::{info, warn};
use embassy_executor::Spawner;
use embassy_net::{Config, DhcpConfig, StackResources};
use embassy_stm32::bind_interrupts;
use embassy_stm32::dma;
use embassy_stm32::eth::{self, Ethernet, GenericPhy, PacketQueue};
use embassy_stm32::flash::{self, Bank2Region1, Flash};
use embassy_stm32::gpio::{Input, Level, Output, Pull, Speed};
use embassy_stm32::peripherals::{DMA2_CH1, ETH, ETH_SMA};
use embassy_stm32::spi::{self, Spi};
use embassy_stm32::time::Hertz;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::channel::Channel;
use embassy_sync::signal::Signal;
use embassy_time::{Duration, Timer};
use static_cell::StaticCell;
use {defmt_rtt as _, panic_probe as _};

bind_interrupts!(struct Irqs {
    ETH => eth::InterruptHandler;
    FLASH => flash::InterruptHandler;
    DMA2_STREAM1 => dma::InterruptHandler<DMA2_CH1>;
});

/// The store: two 16 KiB sectors at the start of bank 2's first region.
const STORE_LEN: u32 = 2 * 16 * 1024;
// The recorder's saved ring fits sector 16 (a 64 KiB ring with `recorder-64k` would need bank
// 2's third region, 128 KiB sectors: a change of `board::DumpFlash`).
const _: () = assert!(persist::LEN <= 64 * 1024);

type Device = Ethernet<'static, ETH, GenericPhy<eth::Sma<'static, ETH_SMA>>>;
static PACKETS: StaticCell<PacketQueue<4, 4>> = StaticCell::new();
static NET: StaticCell<StackResources<5>> = StaticCell::new();
static PHONE: StaticCell<Phone> = StaticCell::new();
static BUFFERS: StaticCell<Buffers> = StaticCell::new();
static COMMANDS: Channel<CriticalSectionRawMutex, OwnedCommand, 4> = Channel::new();
static EVENTS: Channel<CriticalSectionRawMutex, Event, 4> = Channel::new();
/// The agent's state changed: the store keeps the latest.
static AGENT_STATE: Signal<CriticalSectionRawMutex, AgentRecord> = Signal::new();
/// The phone's view, published by the driver for the screen task.
static VIEW: PublishedView<CriticalSectionRawMutex> = PublishedView::new();
/// What the display shows: the screen task draws here at every change and sends it to the
/// panel (`panel.rs`); B1 dumps it.
static SHOWN: Mutex<CriticalSectionRawMutex, RefCell<MonoFramebuffer>> =
    Mutex::new(RefCell::new(MonoFramebuffer::new()));

#[derive(Clone, Copy)]
struct RecorderTap;

impl tap::Tap for RecorderTap {
    fn frame(self, outgoing: bool, frame: &[u8]) {
        product::record_frame(outgoing, frame);
    }
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let p = embassy_stm32::init(board::clocks());
    info!("ccx-cti phone on a Nucleo-F429ZI");

    let regions = Flash::new(p.FLASH, Irqs).into_regions();
    let mut store = match ConfigStore::new(regions.bank2_region1, 0..STORE_LEN) {
        Ok(s) => s,
        Err(e) => defmt::panic!("store: {:?}", e),
    };
    persist::init(regions.bank2_region2).await;
    let boot = store.boot(product::factory).await;
    product::report_boot(&boot);
    if let Some(rejected) = boot.rejected() {
        screen::config_rejected(rejected);
    }
    let config = boot.config;

    let mac = board::mac_address();
    let device: Device = Ethernet::new(
        PACKETS.init(PacketQueue::new()),
        p.ETH,
        Irqs,
        p.PA1,
        p.PA7,
        p.PC4,
        p.PC5,
        p.PG13,
        p.PB13,
        p.PG11,
        mac,
        p.ETH_SMA,
        p.PA2,
        p.PC1,
    );
    let device = tap::Tapped::new(device, RecorderTap);
    let seed = u64::from_le_bytes([mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], 0x17, 0x71]);
    let (stack, runner) = embassy_net::new(
        device,
        Config::dhcpv4(DhcpConfig::default()),
        NET.init(StackResources::new()),
        seed,
    );
    spawner.spawn(net_task(runner).unwrap());
    if let Err(e) = product::network_up(stack, &config).await {
        warn!("network: {=str}", e);
    }

    let leds = (
        Output::new(p.PB0, Level::Low, Speed::Low),
        Output::new(p.PB7, Level::Low, Speed::Low),
    );
    spawner.spawn(event_task(leds).unwrap());
    // The display: SPI4 transmit-only, its DMA on stream 1 (SPI4_TX, channel 4).
    let mut spi_config = spi::Config::default();
    spi_config.frequency = Hertz(panel::SPI_HZ);
    let spi = Spi::new_txonly(p.SPI4, p.PE2, p.PE6, p.DMA2_CH1, Irqs, spi_config);
    let display = panel::Wired::new(
        spi,
        Output::new(p.PE4, Level::High, Speed::VeryHigh),
        Output::new(p.PE3, Level::Low, Speed::VeryHigh),
        Output::new(p.PE5, Level::High, Speed::Low),
    );
    spawner.spawn(screen_task(display).unwrap());
    spawner.spawn(store_task(store).unwrap());
    spawner.spawn(
        keys_task(
            [
                Input::new(p.PF13, Pull::Up),
                Input::new(p.PF14, Pull::Up),
                Input::new(p.PF15, Pull::Up),
                Input::new(p.PG14, Pull::Up),
                Input::new(p.PG9, Pull::Up),
            ],
            Input::new(p.PC13, Pull::Down),
        )
        .unwrap(),
    );
    let phone = PHONE.init(Phone::new(config));
    screen::dump("boot", &phone.view());
    let buffers = BUFFERS.init(Buffers::new());
    let forever = core::future::pending::<core::convert::Infallible>();
    let mut link = Link::new(stack, buffers, COMMANDS.receiver(), EVENTS.sender());
    match link.drive_until_published(phone, &VIEW, forever).await {}
}

/// The agent's screen: redrawn at every change of the phone's view into `SHOWN`, which then
/// goes to the panel. The frame is made under the view's lock (short); the drawing outside
/// it. A panel that fails is reported once and left alone: the framebuffer goes on.
#[embassy_executor::task]
async fn screen_task(display: Result<panel::Wired, panel::PanelFault>) {
    let display = match display {
        Ok(wired) => wired.init().await,
        Err(fault) => Err(fault),
    };
    let mut display = match display {
        Ok(oled) => {
            info!("display: SSD1306 128x64 on SPI4");
            Some(oled)
        }
        Err(fault) => {
            warn!(
                "display: {:?}, the screen is kept in the framebuffer only",
                fault
            );
            None
        }
    };
    loop {
        // The first pass clears the panel (its memory is random at power-up).
        if let Some(oled) = display.as_mut() {
            let fill = |n, out: &mut _| SHOWN.lock(|mono| mono.borrow().controller_page(n, out));
            if let Err(fault) = oled.show(fill).await {
                warn!(
                    "display: {:?}, the screen is kept in the framebuffer only",
                    fault
                );
                display = None;
            }
        }
        VIEW.changed().await;
        let frame = VIEW.read(screen::frame);
        let mono = screen::render(&frame);
        SHOWN.lock(|shown| *shown.borrow_mut() = mono);
    }
}

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, tap::Tapped<Device, RecorderTap>>) -> ! {
    runner.run().await
}

/// Keeps the agent's last state in flash (the store skips a write when nothing changed).
#[embassy_executor::task]
async fn store_task(mut store: ConfigStore<Bank2Region1<'static>>) {
    loop {
        let agent = AGENT_STATE.wait().await;
        if let Err(e) = store.save_agent(&agent).await {
            warn!("store: agent state not saved: {:?}", e);
        }
    }
}

/// Events to the log, the screen's message line, the LEDs and the recorder (saved to flash
/// when the session is lost).
#[embassy_executor::task]
async fn event_task(mut leds: (Output<'static>, Output<'static>)) {
    loop {
        let event = EVENTS.receive().await;
        info!("phone event: {:?}", event);
        screen::event(&event);
        match event {
            Event::SessionOpened { .. } => leds.0.set_high(),
            Event::SessionLost { .. } => {
                leds.0.set_low();
                leds.1.set_low();
                product::note("session lost");
                persist::session_lost().await;
            }
            Event::AgentStateChanged { state, reason } => {
                AGENT_STATE.signal(AgentRecord {
                    logged_in: state != ccx_cti::wire::AgentState::Logout,
                    state: state.value(),
                    reason_code: reason.code(),
                });
                if state == ccx_cti::wire::AgentState::Available {
                    leds.1.set_high()
                } else {
                    leds.1.set_low()
                }
            }
            _ => {}
        }
    }
}

/// The keys, polled every 20 ms (a press is a key held low over two polls): LOGIN, READY,
/// NOT_READY, ANSWER, RELEASE; B1 dumps the recorder, the region it was saved to and the
/// screen.
#[embassy_executor::task]
async fn keys_task(keys: [Input<'static>; 5], dump: Input<'static>) {
    let mut was = [false; 5];
    let mut dump_was = false;
    loop {
        Timer::after(Duration::from_millis(20)).await;
        for (i, key) in keys.iter().enumerate() {
            let down = key.is_low();
            let pressed = down && !was.get(i).copied().unwrap_or(true);
            if let Some(w) = was.get_mut(i) {
                *w = down;
            }
            if !pressed {
                continue;
            }
            let command = match i {
                0 => OwnedCommand::Login { password: None },
                1 => OwnedCommand::Ready,
                2 => OwnedCommand::NotReady { reason: 0.into() },
                3 => OwnedCommand::Answer { call: None },
                _ => OwnedCommand::Release { call: None },
            };
            COMMANDS.send(command).await;
        }
        let down = dump.is_high();
        if down && !dump_was {
            product::dump_recorder();
            persist::dump_region().await;
            SHOWN.lock(|shown| screen::dump_framebuffer("now", &shown.borrow()));
        }
        dump_was = down;
    }
}
