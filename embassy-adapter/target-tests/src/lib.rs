//! Support for the core's tests on an emulated Cortex-M4: defmt over semihosting, and panic and
//! HardFault handlers that end qemu with exit status 1 (a failing test must not hang).
#![no_std]

use cortex_m as _; // links the critical-section implementation
use cortex_m_rt::{exception, ExceptionFrame};
use cortex_m_semihosting::debug::{self, EXIT_FAILURE};
use defmt_semihosting as _;

/// Decode hex digits into `out`; returns the number of bytes. Panics on bad input (tests only).
pub fn hex(text: &str, out: &mut [u8]) -> usize {
    let digits = text.as_bytes();
    assert!(digits.len().is_multiple_of(2) && digits.len() / 2 <= out.len());
    for (i, pair) in digits.chunks(2).enumerate() {
        let nibble = |c: u8| match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not a hex digit"),
        };
        out[i] = (nibble(pair[0]) << 4) | nibble(pair[1]);
    }
    digits.len() / 2
}

fn exit_failure() -> ! {
    debug::exit(EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    defmt::error!("panic: {}", defmt::Display2Format(info));
    exit_failure()
}

#[defmt::panic_handler]
fn defmt_panic() -> ! {
    exit_failure()
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    defmt::error!("HardFault at pc {=u32:#x}", frame.pc());
    exit_failure()
}
