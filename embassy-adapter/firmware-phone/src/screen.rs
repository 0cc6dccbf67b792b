//! The agent's screen in the product image: the core's screen model (`ccx_cti::ui::Screen`, the
//! one the terminal phone and the screen story use), fed with what the store booted with and
//! the phone's events, drawn into a 128x64 framebuffer and dumped as one `ccx-screen` hex line
//! when asked (qemu has no display; the Nucleo-F429ZI board sends the framebuffer to its SPI
//! OLED, and dumps it on request). The hex is the framebuffer as it is, rows top to bottom,
//! the leftmost pixel in the high bit: a PBM (P4) body, which `.ci/firmware.sh` saves as an
//! image.

use core::cell::RefCell;

use ccx_cti::phone::{Event, NoLabels, PhoneView};
use ccx_cti::ui::{draw, ConfigRejected, Frame, Screen};
use ccx_cti_screen_story::{MonoFramebuffer, MONO_SIZE};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::blocking_mutex::Mutex;

/// The dump line's prefix; the line is `ccx-screen LABEL 128x64 HEX`.
pub const LINE_PREFIX: &str = "ccx-screen ";
/// "ccx-screen " + a label + " 128x64 " + 2,048 hex digits.
const LINE: usize = 2_100;

static SCREEN: Mutex<CriticalSectionRawMutex, RefCell<Option<Screen>>> =
    Mutex::new(RefCell::new(None));

fn with<R>(f: impl FnOnce(&mut Screen) -> R) -> R {
    SCREEN.lock(|s| {
        let mut s = s.borrow_mut();
        f(s.get_or_insert_with(|| Screen::new(draw::body_rows(MONO_SIZE))))
    })
}

/// The stored configuration failed validation: the screen says which field, why, and what the
/// phone runs with.
pub fn config_rejected(rejected: ConfigRejected) {
    // The field by its configuration file name: what CI looks for next to the boot screen.
    defmt::info!(
        "screen: configuration rejected: {=str} ({:?}), {:?} kept",
        rejected.error.field().name(),
        rejected.error,
        rejected.kept
    );
    with(|s| s.config_rejected(rejected, ccx_cti_embassy::now()));
}

/// A phone event, for the message line.
pub fn event(event: &Event) {
    with(|s| s.event(event, ccx_cti_embassy::now()));
}

/// The screen's content for `view` (quick: what a task holding the view's lock may do).
pub fn frame<const V: usize>(view: &PhoneView<'_, V>) -> Frame {
    with(|s| s.frame(view, &NoLabels, ccx_cti_embassy::now()))
}

/// Draw `frame` into a 128x64 framebuffer (what a display shows).
pub fn render(frame: &Frame) -> MonoFramebuffer {
    let mut mono = MonoFramebuffer::new();
    let _ = draw::draw(frame, &mut mono);
    mono
}

/// Draw the screen of `view` and dump it as a `ccx-screen` line.
pub fn dump<const V: usize>(label: &str, view: &PhoneView<'_, V>) {
    dump_framebuffer(label, &render(&frame(view)));
}

/// Dump `mono` as a `ccx-screen` line.
pub fn dump_framebuffer(label: &str, mono: &MonoFramebuffer) {
    let mut line = heapless::String::<LINE>::new();
    let mut ok = line.push_str(label).is_ok() && line.push_str(" 128x64 ").is_ok();
    for b in mono.bytes() {
        for digit in [b >> 4, b & 0xF] {
            let c = char::from_digit(u32::from(digit), 16).unwrap_or('0');
            ok &= line.push(c).is_ok();
        }
    }
    if ok {
        defmt::info!("{=str}{=str}", LINE_PREFIX, line.as_str());
    } else {
        defmt::warn!("screen: the dump of {=str} does not fit its line", label);
    }
}
