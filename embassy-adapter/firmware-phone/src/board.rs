//! The emulated board's glue: the SysTick time driver's start, the network task, the exit
//! through semihosting, and the panic and HardFault handlers that end the run with status 1.

use cortex_m_rt::{exception, ExceptionFrame};
use cortex_m_semihosting::debug::{self, EXIT_FAILURE};
use defmt::error;

use ccx_cti_lan9118::{Lan9118, MPS2_AN386_BASE, MPS2_AN386_IRQ};
use ccx_cti_store::ram_flash::RamFlash;

/// The flash the recorder's ring is saved to (`persist.rs`): SSRAM as NOR flash, after the
/// configuration region, outside the program's memory.
pub type DumpFlash = RamFlash<'static>;
/// Where the dump region starts.
pub const DUMP_BASE: usize = 0x2038_8000;

/// The LAN9118's line, for the NVIC.
#[derive(Clone, Copy)]
struct EthernetIrq;

// SAFETY: 13 is a valid external interrupt number on the AN386 (qemu's mps2.c wires the
// LAN9118 there) and the number is the same on every call.
unsafe impl cortex_m::interrupt::InterruptNumber for EthernetIrq {
    fn number(self) -> u16 {
        MPS2_AN386_IRQ
    }
}

/// Let the LAN9118's interrupt through (after `Lan9118::enable_interrupt`).
pub fn unmask_ethernet_interrupt() {
    // SAFETY: the handler (`DefaultHandler` below) only acknowledges and wakes; it touches no
    // state a critical section protects.
    unsafe { cortex_m::peripheral::NVIC::unmask(EthernetIrq) };
}

/// cortex-m-rt without a device crate routes every external interrupt here.
#[exception]
unsafe fn DefaultHandler(irqn: i16) {
    if irqn == MPS2_AN386_IRQ as i16 {
        // SAFETY: the one LAN9118 of the board, driven by this firmware.
        unsafe { ccx_cti_lan9118::on_interrupt(MPS2_AN386_BASE) };
    }
}

defmt::timestamp!("{=u64:ms}", embassy_time::Instant::now().as_millis());

/// Start the 1 kHz SysTick time driver.
pub fn init_time() {
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        fail("core peripherals taken twice")
    };
    crate::time_driver::init(peripherals.SYST);
}

#[embassy_executor::task]
pub async fn net_task(mut runner: embassy_net::Runner<'static, Lan9118<crate::RecorderTap>>) -> ! {
    runner.run().await
}

/// End the run with status 1.
pub fn exit_failure() -> ! {
    debug::exit(EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

/// Report and end with status 1.
pub fn fail(reason: &str) -> ! {
    error!("FAIL: {=str}", reason);
    exit_failure()
}

/// Report with a detail and end with status 1.
pub fn fail_with<T: defmt::Format>(reason: &str, detail: T) -> ! {
    error!("FAIL: {=str}: {:?}", reason, detail);
    exit_failure()
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
