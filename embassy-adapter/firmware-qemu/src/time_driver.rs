//! An embassy-time driver on the Cortex-M SysTick: a 1 kHz tick counted in software (64 bits,
//! so it never wraps) and a small timer queue checked on every tick. A real board would use its
//! HAL's driver; qemu's mps2-an386 has no HAL crate, and SysTick is in every Cortex-M.

use core::cell::{Cell, RefCell};
use core::task::Waker;

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;
use cortex_m_rt::exception;
use critical_section::Mutex;
use embassy_time_driver::Driver;
use embassy_time_queue_utils::queue_generic::ConstGenericQueue;

/// mps2-an386 runs its CPU (and so SysTick's core clock) at 25 MHz.
const CPU_HZ: u32 = 25_000_000;
/// Must match embassy-time's `tick-hz-1_000` feature.
const TICK_HZ: u32 = 1_000;
/// Timers pending at once: one per task that sleeps, with room to spare.
const TIMERS: usize = 16;

struct SysTickDriver {
    ticks: Mutex<Cell<u64>>,
    queue: Mutex<RefCell<ConstGenericQueue<TIMERS>>>,
}

impl Driver for SysTickDriver {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.ticks.borrow(cs).get())
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            let now = self.ticks.borrow(cs).get();
            let mut queue = self.queue.borrow_ref_mut(cs);
            queue.schedule_wake(at, waker);
            // A deadline already passed fires now rather than on the next tick.
            if at <= now {
                queue.next_expiration(now);
            }
        });
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver {
    ticks: Mutex::new(Cell::new(0)),
    queue: Mutex::new(RefCell::new(ConstGenericQueue::new())),
});

/// Start the tick. Call once, before the executor runs.
pub fn init(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(CPU_HZ / TICK_HZ - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

#[exception]
fn SysTick() {
    critical_section::with(|cs| {
        let ticks = DRIVER.ticks.borrow(cs);
        let now = ticks.get() + 1;
        ticks.set(now);
        DRIVER.queue.borrow_ref_mut(cs).next_expiration(now);
    });
}
