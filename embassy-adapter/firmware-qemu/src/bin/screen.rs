//! The agent's screen on the device: the outbound preview story played through the screen
//! model with scripted key presses (the softkeys labelled Login, Ready, Skip, Accept), each
//! scripted instant drawn into a 128x64 framebuffer and, strip by strip, onto a 320x240 colour
//! display's CRC, and dumped over semihosting as `screen N mono HEX colour-crc CRC`. CI compares
//! the dump with the host's rendering of the same story (embassy-adapter/screen-story,
//! `SCREEN_DUMP=log cargo test`). Exit 0 when the story ends as scripted.
#![no_std]
#![no_main]

#[allow(dead_code)]
#[path = "../board.rs"]
mod board;
#[allow(dead_code)]
#[path = "../time_driver.rs"]
mod time_driver;

use board::exit_failure;
use cortex_m_rt::entry;
use cortex_m_semihosting::debug::{self, EXIT_SUCCESS};
use defmt_semihosting as _;

/// A dump line: "screen N mono " + 2048 hex digits + " colour-crc " + 8.
const LINE: usize = 2_200;

#[entry]
fn main() -> ! {
    let played = ccx_cti_screen_story::play(&mut |snapshot| {
        let mut line = heapless::String::<LINE>::new();
        if ccx_cti_screen_story::dump_line(&mut line, snapshot).is_err() {
            defmt::error!("screen {}: dump line too long", snapshot.index);
            exit_failure();
        }
        defmt::println!("{=str}", line.as_str());
    });
    match played {
        Ok(instants) => {
            defmt::info!("screen story: {} instants dumped", instants);
            debug::exit(EXIT_SUCCESS);
        }
        Err(error) => defmt::error!("screen story failed: {}", defmt::Debug2Format(&error)),
    }
    exit_failure()
}
