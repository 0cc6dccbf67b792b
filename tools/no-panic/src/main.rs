//! A firmware image whose panic handler calls a function that does not exist.
//!
//! Built in release (LTO, `panic = "abort"`), every function the entry point cannot reach is
//! dropped before linking. If any path from the entry points below can still panic (an
//! `unwrap`, an index out of bounds, an overflow check, a `panic!` in the core library's
//! formatting), the panic handler is kept, it names `ccx_cti_panic_path_is_reachable`, and the
//! link fails. A link that succeeds proves that no panic is reachable from them.
//!
//! The inputs come through `core::hint::black_box`, so the optimiser cannot know them and
//! cannot drop a check by constant folding. The crate links no allocator either: if the core
//! used `alloc`, the link would fail for lack of a global allocator.
#![no_std]
#![no_main]

use core::fmt::Write;
use core::hint::black_box;

use ccx_cti::config::PhoneConfig;
use ccx_cti::phone::CommandKind;
use ccx_cti::phone::{Command, Instant, Phone, PreviewAnswer};
use ccx_cti::trace::{self, TraceOptions};
use ccx_cti::ui::{draw, Key, Reaction, Screen};
use ccx_cti::wire::{decode, WireVersion};
use embedded_graphics::pixelcolor::Rgb565;
use embedded_graphics::prelude::*;

#[cfg(not(feature = "locate"))]
extern "C" {
    /// Never defined: referencing it fails the link.
    fn ccx_cti_panic_path_is_reachable() -> !;
}

#[cfg(not(feature = "locate"))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: the symbol does not exist; a reachable call is exactly what the link detects.
    unsafe { ccx_cti_panic_path_is_reachable() }
}

/// With `--features locate` the image links, so that a disassembly can show which functions
/// still call into the panic machinery (scripts: `.ci/hardening.sh` prints them on failure).
#[cfg(feature = "locate")]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        black_box(());
    }
}

/// Input the optimiser cannot see (a receive buffer, in a real image).
static INPUT: [u8; 2048] = [0; 2048];

/// Counts rendered text instead of storing it: any `fmt::Write` would do.
struct Sink(usize);

impl Write for Sink {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0 = self.0.wrapping_add(s.len());
        Ok(())
    }
}

fn bytes(len: usize) -> &'static [u8] {
    let input: &'static [u8] = black_box(&INPUT);
    input.get(..len.min(input.len())).unwrap_or(&[])
}

fn text(len: usize) -> &'static str {
    core::str::from_utf8(bytes(len)).unwrap_or("")
}

fn command(which: u8) -> Command<'static> {
    let t = text(black_box(16));
    let call = black_box(Some(16_800_098));
    match which % 20 {
        0 => Command::Login { password: Some(t) },
        1 => Command::Logout {
            reason: black_box(7).into(),
        },
        2 => Command::Ready,
        3 => Command::NotReady {
            reason: black_box(3).into(),
        },
        4 => Command::WorkReady,
        5 => Command::WorkNotReady,
        6 => Command::Answer { call },
        7 => Command::Release { call },
        8 => Command::Hold { call },
        9 => Command::Retrieve { call },
        10 => Command::Dial { number: t },
        11 => Command::Consult { number: t },
        12 => Command::Transfer,
        13 => Command::Conference,
        14 => Command::Dtmf { digits: t },
        15 => Command::Preview(black_box(PreviewAnswer::Skip)),
        16 => Command::Reclassify { value: t },
        17 => Command::Callback { date: t, time: t },
        18 => Command::SetVar {
            name: t,
            value: t,
            call,
        },
        _ => Command::Close,
    }
}

/// A display that only counts pixels, of a size the optimiser cannot know.
struct Display(u32);

impl OriginDimensions for Display {
    fn size(&self) -> Size {
        Size::new(black_box(320), black_box(240))
    }
}

impl DrawTarget for Display {
    type Color = Rgb565;
    type Error = core::convert::Infallible;

    fn draw_iter<I: IntoIterator<Item = Pixel<Rgb565>>>(
        &mut self,
        pixels: I,
    ) -> Result<(), Self::Error> {
        for Pixel(p, c) in pixels {
            self.0 = self
                .0
                .wrapping_add(p.x.unsigned_abs())
                .wrapping_add(u32::from(c.g()));
        }
        Ok(())
    }
}

fn key(which: u8) -> Key {
    match which % 8 {
        0 => Key::Soft(black_box(which)),
        1 => Key::Up,
        2 => Key::Down,
        3 => Key::Select,
        4 => Key::Back,
        5 => Key::Digit(black_box(which)),
        _ => Key::Hook,
    }
}

/// The entry point: every public entry of the codec, the trace text and the phone, on input
/// the optimiser cannot know.
#[no_mangle]
pub extern "C" fn _start() -> ! {
    let version = WireVersion::new(black_box(17)).with_v18_length_width(black_box(2));

    // Decode and render.
    let frame = bytes(black_box(512));
    if let Ok(msg) = decode(frame, version) {
        let mut sink = Sink(0);
        let opts = TraceOptions {
            show_secrets: black_box(false),
            indent: black_box(2),
        };
        let _ = write!(sink, "{}", trace::display_with(&msg, opts));
        let _ = write!(sink, "{}", trace::display(&msg));
        black_box(sink.0);
    }

    // Parse trace text.
    let mut buf = [0u8; 1024];
    let mut parser = trace::TextParser::new(text(black_box(1024)));
    while let Some(r) = parser.next_message(&mut buf, version) {
        let _ = black_box(r);
    }

    // The configuration: validation, the blob both ways, the vocabulary.
    let mut config = black_box(PhoneConfig::default());
    if let Ok(c) = PhoneConfig::decode_blob(bytes(black_box(640))) {
        config = c;
    }
    let _ = black_box(config.validate());
    let mut blob = [0u8; ccx_cti::config::BLOB_MAX_LEN];
    let _ = black_box(config.encode_blob(&mut blob).map(|b| b.len()));
    let mut vocabulary: ccx_cti::config::Vocabulary<8> = ccx_cti::config::Vocabulary::new();
    let kind = ccx_cti::config::ReasonKind::NotReady;
    let _ = black_box(vocabulary.add(kind, black_box(12), text(black_box(40))));
    black_box(vocabulary.label(kind, black_box(12)).map(str::len));

    // The phone, its frame tap, its view and a snapshot of it.
    struct Tap(usize);
    impl ccx_cti::phone::FrameTap for Tap {
        fn frame(&mut self, d: ccx_cti::phone::FrameDirection, at: Instant, f: &[u8]) {
            self.0 = black_box(
                self.0 ^ f.len() ^ usize::from(d == ccx_cti::phone::FrameDirection::Sent),
            );
            black_box(at);
        }
    }
    let mut tap = Tap(0);
    let mut snapshot: ccx_cti::phone::PhoneSnapshot = ccx_cti::phone::PhoneSnapshot::new();
    let mut phone: Phone = Phone::new(config);
    let mut tx = [0u8; 1024];
    let mut now = Instant::from_millis(black_box(0));
    // The agent's screen on the same phone.
    let mut screen = Screen::new(black_box(8));
    let mut display = Display(0);
    loop {
        match black_box(0u8) {
            0 => {
                let _ = black_box(phone.poll_transport(now));
            }
            1 => phone.connected(now),
            2 => phone.connect_failed(now),
            3 => phone.disconnected(now),
            4 => phone.handle_bytes(now, bytes(black_box(300))),
            5 => phone.handle_frame(now, bytes(black_box(300))),
            6 => {
                let _ = black_box(phone.command(now, command(black_box(0))));
            }
            7 => phone.handle_timeout(now),
            8 => phone.reconnect(now),
            9 => phone.handle_bytes_tapped(now, bytes(black_box(300)), &mut tap),
            10 => {
                black_box(phone.poll_transmit_tapped(now, &mut tx, &mut tap));
            }
            11 => {
                black_box(phone.peek_transport(now));
            }
            12 => {
                let wait = ccx_cti::phone::reconnect_wait(
                    core::time::Duration::from_millis(black_box(10_000)),
                    black_box(3),
                    black_box(7),
                );
                black_box(wait);
            }
            13 => snapshot.refresh(&phone),
            14 => {
                let reaction = {
                    let view = phone.view_with(&vocabulary);
                    screen.key(&view, &vocabulary, key(black_box(0)), now)
                };
                if let Reaction::Send(cmd) = reaction {
                    let result = phone.command(now, cmd.as_command());
                    screen.sent(CommandKind::of(&cmd.as_command()), result, now);
                }
            }
            15 => {
                let view = phone.view_with(&vocabulary);
                let frame = screen.frame(&view, &vocabulary, now);
                let _ = draw::draw(&frame, &mut display);
                black_box(display.0);
            }
            _ => now = Instant::from_millis(black_box(now.as_millis())),
        }
        while let Some(n) = phone.poll_transmit(&mut tx) {
            black_box(n);
        }
        while let Some(e) = phone.poll_event() {
            screen.event(&e, now);
            black_box(e);
        }
        black_box(phone.poll_timeout());
        black_box((phone.preview().is_some(), phone.calls().count()));
        for view in [phone.view_with(&vocabulary), snapshot.view()] {
            black_box((view.session, view.agent.reason_label.map(str::len)));
            black_box(
                view.preview()
                    .map(|card| (card.name.map(str::len), card.number)),
            );
            for valid in view.valid_commands() {
                black_box(valid);
            }
            black_box(view.preview_answers().len());
            for call in view.calls() {
                black_box((call.call_var(black_box(3)), call.ecc_vars().count()));
                black_box((call.since, call.held_since, call.dialed_number.len()));
            }
            black_box(view.requests().len());
        }
    }
}
