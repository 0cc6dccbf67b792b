//! The emulated board's glue: the SysTick time driver's start, the network task, the exit
//! through semihosting, and the panic and HardFault handlers that end the run with status 1.

use cortex_m_rt::{exception, ExceptionFrame};
use cortex_m_semihosting::debug::{self, EXIT_FAILURE};
use defmt::error;

use ccx_cti_lan9118::Lan9118;

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
