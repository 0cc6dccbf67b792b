//! What both images of this crate share (the firmware and its size baseline): the emulated
//! board's two embassy-net stacks wired back to back, the exit through semihosting, and the
//! panic and HardFault handlers that end the run with status 1 (panic-probe would hang qemu).

use core::net::Ipv4Addr;

use cortex_m_rt::{exception, ExceptionFrame};
use cortex_m_semihosting::debug::{self, EXIT_FAILURE};
use defmt::error;
use embassy_executor::Spawner;
use embassy_net::{Config, Ipv4Cidr, Stack, StackResources, StaticConfigV4};
use embassy_net_driver_channel as ch;
use static_cell::StaticCell;

/// Ethernet MTU of the emulated link.
pub const MTU: usize = 1514;
/// The client's (the phone's) address.
pub const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// The server's address.
pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

type Link = ch::State<MTU, 2, 2>;
type Device = ch::Device<'static, MTU>;

static CLIENT_LINK: StaticCell<Link> = StaticCell::new();
static SERVER_LINK: StaticCell<Link> = StaticCell::new();
static CLIENT_NET: StaticCell<StackResources<2>> = StaticCell::new();
static SERVER_NET: StaticCell<StackResources<2>> = StaticCell::new();

defmt::timestamp!("{=u64:ms}", embassy_time::Instant::now().as_millis());

/// Start the SysTick time driver and two stacks joined by an in-memory Ethernet link; returns
/// (client stack, server stack).
pub fn start(spawner: Spawner) -> (Stack<'static>, Stack<'static>) {
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        error!("core peripherals taken twice");
        exit_failure()
    };
    crate::time_driver::init(peripherals.SYST);
    let (client_runner, client_device) = ch::new(
        CLIENT_LINK.init(Link::new()),
        ch::driver::HardwareAddress::Ethernet([0x02, 0, 0, 0, 0, 2]),
    );
    let (server_runner, server_device) = ch::new(
        SERVER_LINK.init(Link::new()),
        ch::driver::HardwareAddress::Ethernet([0x02, 0, 0, 0, 0, 1]),
    );
    let (client_state, client_rx, client_tx) = client_runner.split();
    let (server_state, server_rx, server_tx) = server_runner.split();
    client_state.set_link_state(ch::driver::LinkState::Up);
    server_state.set_link_state(ch::driver::LinkState::Up);
    spawner.spawn(bridge(client_tx, server_rx).unwrap());
    spawner.spawn(bridge(server_tx, client_rx).unwrap());
    let (client_stack, client_net) = embassy_net::new(
        client_device,
        static_config(CLIENT_IP),
        CLIENT_NET.init(StackResources::new()),
        0x0123_4567_89ab_cdef,
    );
    let (server_stack, server_net) = embassy_net::new(
        server_device,
        static_config(SERVER_IP),
        SERVER_NET.init(StackResources::new()),
        0xfedc_ba98_7654_3210,
    );
    spawner.spawn(net_task(client_net).unwrap());
    spawner.spawn(net_task(server_net).unwrap());
    (client_stack, server_stack)
}

fn static_config(ip: Ipv4Addr) -> Config {
    Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(ip, 24),
        gateway: None,
        dns_servers: heapless::Vec::new(),
    })
}

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

/// End the run with status 1.
pub fn exit_failure() -> ! {
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
