//! The screen story on the host: its framebuffers agree with embedded-graphics-simulator's
//! rendering of the same frames, and, with `SCREEN_DUMP=FILE` (the qemu firmware's output),
//! the firmware's dump equals the host's line for line.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ccx_cti::ui::{draw, Frame};
use ccx_cti_screen_story::{dump_line, play, Crc32, COLOUR_SIZE, MONO_SIZE};
use embedded_graphics::pixelcolor::raw::RawU16;
use embedded_graphics::pixelcolor::{BinaryColor, Rgb565};
use embedded_graphics::prelude::*;
use embedded_graphics_simulator::SimulatorDisplay;

/// The dump line as the simulator renders it (another path than the crate's framebuffers).
fn simulator_line(index: u32, mono: &Frame, colour: &Frame) -> String {
    let mut display = SimulatorDisplay::<BinaryColor>::new(MONO_SIZE);
    draw::draw(mono, &mut display).unwrap();
    let mut line = format!("screen {index} mono ");
    for y in 0..64 {
        for byte in 0..16 {
            let mut b = 0u8;
            for bit in 0..8 {
                if display.get_pixel(Point::new(byte * 8 + bit, y)).is_on() {
                    b |= 0x80 >> bit;
                }
            }
            line.push_str(&format!("{b:02x}"));
        }
    }
    let mut display = SimulatorDisplay::<Rgb565>::new(COLOUR_SIZE);
    draw::draw(colour, &mut display).unwrap();
    let mut crc = Crc32::new();
    for y in 0..240 {
        for x in 0..320 {
            let px = RawU16::from(display.get_pixel(Point::new(x, y))).into_inner();
            crc.update(&px.to_be_bytes());
        }
    }
    line.push_str(&format!(" colour-crc {:08x}", crc.finish()));
    line
}

#[test]
fn the_device_framebuffers_equal_the_simulators_and_the_firmware_dump() {
    let mut host = Vec::new();
    let mut device = Vec::new();
    let n = play(&mut |s| {
        host.push(simulator_line(s.index, s.mono, s.colour));
        let mut line = String::new();
        dump_line(&mut line, s).unwrap();
        device.push(line);
    })
    .unwrap();
    assert!(n >= 6, "{n} instants");
    assert_eq!(
        host, device,
        "the framebuffers differ from the simulator's rendering"
    );
    // The instants differ from each other: the screens follow the story.
    let distinct: std::collections::BTreeSet<_> = host
        .iter()
        .map(|l| l.split_once(" mono ").unwrap().1)
        .collect();
    assert!(distinct.len() >= 4, "{} distinct screens", distinct.len());
    if let Some(path) = std::env::var_os("SCREEN_DUMP") {
        let text = std::fs::read_to_string(&path).unwrap();
        let firmware: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("screen ") && l.contains(" mono "))
            .collect();
        assert_eq!(
            firmware.len(),
            host.len(),
            "instants dumped by the firmware"
        );
        for (f, h) in firmware.iter().zip(&host) {
            assert_eq!(f, h, "the firmware's screen differs from the host's");
        }
        println!("firmware dump: {} screens equal the host's", firmware.len());
    }
}

/// The RAM the screen costs on the device (the README's figures).
#[test]
fn screen_ram() {
    use ccx_cti::ui::Screen;
    use ccx_cti_screen_story::{ColourStrip, MonoFramebuffer};
    let sizes = [
        ("Screen", std::mem::size_of::<Screen>()),
        ("Frame", std::mem::size_of::<Frame>()),
        ("MonoFramebuffer", std::mem::size_of::<MonoFramebuffer>()),
        ("ColourStrip", std::mem::size_of::<ColourStrip>()),
    ];
    for (name, size) in sizes {
        println!("size_of::<{name}>() = {size} B");
    }
    // A screen and its frame fit a small MCU's RAM next to the phone.
    assert!(std::mem::size_of::<Screen>() <= 256);
    assert!(std::mem::size_of::<Frame>() <= 1536);
}

/// The pages a panel driver sends hold the same pixels as the simulator's display, in the
/// SSD1306's layout (columns of 8 rows, the top row in bit 0), for every screen of the story.
#[test]
fn controller_pages_hold_the_simulators_pixels() {
    use ccx_cti_screen_story::MonoFramebuffer;
    let mut screens = 0;
    play(&mut |snapshot| {
        let mut mono = MonoFramebuffer::new();
        draw::draw(snapshot.mono, &mut mono).unwrap();
        let mut display = SimulatorDisplay::<BinaryColor>::new(MONO_SIZE);
        draw::draw(snapshot.mono, &mut display).unwrap();
        for page in 0u8..8 {
            let mut out = [0u8; 128];
            mono.controller_page(usize::from(page), &mut out);
            for (x, column) in (0i32..).zip(out) {
                for bit in 0u8..8 {
                    let point = Point::new(x, i32::from(page * 8 + bit));
                    assert_eq!(
                        column >> bit & 1 == 1,
                        display.get_pixel(point).is_on(),
                        "screen {screens}, pixel {point:?}"
                    );
                }
            }
        }
        screens += 1;
    })
    .unwrap();
    assert!(screens > 3, "{screens} screens");
    // Past the last page: blank, not a panic.
    let mut out = [0xAAu8; 128];
    MonoFramebuffer::new().controller_page(8, &mut out);
    assert_eq!(out, [0u8; 128]);
}
