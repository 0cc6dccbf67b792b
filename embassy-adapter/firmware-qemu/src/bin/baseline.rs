//! The size baseline: the firmware image without the phone. Same two embassy-net stacks wired
//! back to back, same time driver, defmt and semihosting, but one TCP echo instead of the CTI
//! story. `size(firmware) - size(baseline)` is what the ccx-cti core, the adapter and the
//! scripted server add. It runs too (exit 0 when the echo comes back), so it stays honest.
#![no_std]
#![no_main]

#[path = "../board.rs"]
mod board;
#[path = "../time_driver.rs"]
mod time_driver;

use board::exit_failure;
use cortex_m as _; // links the critical-section implementation
use cortex_m_semihosting::debug::{self, EXIT_SUCCESS};
use defmt::{error, info};
use defmt_semihosting as _;
use embassy_executor::Spawner;
use embassy_net::tcp::TcpSocket;
use embassy_net::Stack;
use embassy_time::{with_timeout, Duration};

const PORT: u16 = 12028;

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let (client_stack, server_stack) = board::start(spawner);
    spawner.spawn(echo_task(server_stack).unwrap());
    embassy_futures::yield_now().await;

    let mut rx = [0u8; 2048];
    let mut tx = [0u8; 1024];
    let mut socket = TcpSocket::new(client_stack, &mut rx, &mut tx);
    let echoed = with_timeout(Duration::from_secs(10), async {
        socket.connect((board::SERVER_IP, PORT)).await.ok()?;
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
