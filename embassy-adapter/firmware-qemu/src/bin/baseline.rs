//! The size baseline: the firmware image without the phone. Same two embassy-net stacks wired
//! back to back, same time driver, defmt and semihosting, but one TCP echo instead of the CTI
//! story. `size(firmware) - size(baseline)` is what the ccx-cti core, the adapter and the
//! scripted server add. It runs too (exit 0 when the echo comes back), so it stays honest.
#![no_std]
#![no_main]

#[path = "../time_driver.rs"]
mod time_driver;

use core::net::Ipv4Addr;

use cortex_m as _; // links the critical-section implementation
use cortex_m_rt::{exception, ExceptionFrame};
use cortex_m_semihosting::debug::{self, EXIT_FAILURE, EXIT_SUCCESS};
use defmt::{error, info};
use defmt_semihosting as _;
use embassy_executor::Spawner;
use embassy_net::tcp::TcpSocket;
use embassy_net::{Config, Ipv4Cidr, Stack, StackResources, StaticConfigV4};
use embassy_net_driver_channel as ch;
use embassy_time::{with_timeout, Duration};
use static_cell::StaticCell;

const MTU: usize = 1514;
const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PORT: u16 = 12028;

type Link = ch::State<MTU, 2, 2>;
type Device = ch::Device<'static, MTU>;

static CLIENT_LINK: StaticCell<Link> = StaticCell::new();
static SERVER_LINK: StaticCell<Link> = StaticCell::new();
static CLIENT_NET: StaticCell<StackResources<2>> = StaticCell::new();
static SERVER_NET: StaticCell<StackResources<2>> = StaticCell::new();

defmt::timestamp!("{=u64:ms}", embassy_time::Instant::now().as_millis());

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        exit_failure()
    };
    time_driver::init(peripherals.SYST);
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
        1,
    );
    let (server_stack, server_net) = embassy_net::new(
        server_device,
        static_config(SERVER_IP),
        SERVER_NET.init(StackResources::new()),
        2,
    );
    spawner.spawn(net_task(client_net).unwrap());
    spawner.spawn(net_task(server_net).unwrap());
    spawner.spawn(echo_task(server_stack).unwrap());
    embassy_futures::yield_now().await;

    let mut rx = [0u8; 2048];
    let mut tx = [0u8; 1024];
    let mut socket = TcpSocket::new(client_stack, &mut rx, &mut tx);
    let echoed = with_timeout(Duration::from_secs(10), async {
        socket.connect((SERVER_IP, PORT)).await.ok()?;
        socket.write(b"ping").await.ok()?;
        let mut buf = [0u8; 4];
        let n = socket.read(&mut buf).await.ok()?;
        Some(&buf[..n] == b"ping")
    })
    .await;
    if echoed == Ok(Some(true)) {
        info!("baseline: echo came back");
        debug::exit(EXIT_SUCCESS);
    }
    error!("baseline: no echo");
    exit_failure()
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

#[embassy_executor::task]
async fn echo_task(stack: Stack<'static>) {
    let mut rx = [0u8; 2048];
    let mut tx = [0u8; 4096];
    let mut socket = TcpSocket::new(stack, &mut rx, &mut tx);
    if socket.accept(PORT).await.is_err() {
        return;
    }
    let mut buf = [0u8; 64];
    while let Ok(n @ 1..) = socket.read(&mut buf).await {
        if socket.write(&buf[..n]).await.is_err() {
            return;
        }
    }
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
