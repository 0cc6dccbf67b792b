//! What the core costs in flash and RAM on a Cortex-M4 (thumbv7em-none-eabihf, opt-level "s",
//! fat LTO). Built once per feature set by scripts/numbers.sh and measured with `llvm-size -A`:
//!
//! - no feature: the empty image (the baseline subtracted from the others);
//! - `codec`: decode and encode;
//! - `phone`: the codec and the phone;
//! - `trace`: all of that and the trace text (render and parse);
//! - `event-text`: the phone's events written as text, as a firmware that logs them would
//!   (with or without the core's `names`, the `names` feature here).
//!
//! Inputs come through `black_box`, so the optimiser keeps every path a real image would.
//! `sizes` adds symbols whose sizes are `size_of` a default and a minimal `Phone` and a
//! `FrameAccumulator` on the target (`llvm-nm -S`).
#![no_std]
#![no_main]

use core::hint::black_box;

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        black_box(());
    }
}

#[cfg_attr(not(feature = "codec"), allow(dead_code))]
static INPUT: [u8; 1024] = [0; 1024];

#[cfg_attr(not(feature = "codec"), allow(dead_code))]
fn input(len: usize) -> &'static [u8] {
    let input: &'static [u8] = black_box(&INPUT);
    input.get(..len.min(input.len())).unwrap_or(&[])
}

#[cfg(feature = "codec")]
fn codec() {
    use ccx_cti::wire::{
        decode, tag, Encoder, FeedResult, FrameAccumulator, MessageType, WireVersion,
    };
    let version = WireVersion::new(black_box(17));
    let mut acc: FrameAccumulator<2048> = FrameAccumulator::new();
    let mut rest = input(black_box(700));
    while let FeedResult::Frame { frame, remaining } = acc.feed(rest) {
        if let Ok(msg) = decode(frame, version) {
            black_box((msg.invoke_id(), msg.string(tag::CONNECTION_DEVICE_ID)));
            for v in msg.named_vars() {
                black_box(v);
            }
        }
        rest = remaining;
    }
    let mut buf = [0u8; 512];
    let ty = MessageType::from_id(black_box(26));
    let mut enc = Encoder::new(&mut buf, ty, version);
    enc.number(black_box(tag::AGENT_ID), black_box(1))
        .string(black_box(tag::CONNECTION_DEVICE_ID), "4020")
        .named_var("BAResponse", "Skip");
    black_box(enc.finish().ok());
}

#[cfg(feature = "phone")]
fn phone() {
    use ccx_cti::config::PhoneConfig;
    use ccx_cti::phone::{Command, Instant, Phone};
    let mut phone: Phone = Phone::new(black_box(PhoneConfig::default()));
    let mut tx = [0u8; 1024];
    let now = Instant::from_millis(black_box(0));
    let _ = black_box(phone.poll_transport(now));
    phone.connected(now);
    phone.handle_bytes(now, input(black_box(600)));
    let _ = black_box(phone.command(now, black_box(Command::Ready)));
    phone.handle_timeout(now);
    while let Some(n) = phone.poll_transmit(&mut tx) {
        black_box(n);
    }
    while let Some(e) = phone.poll_event() {
        // A firmware that logs its events as text (the names then come with the core's
        // `names` feature; without it the text carries numbers).
        #[cfg(feature = "event-text")]
        {
            use core::fmt::Write;
            let mut sink = Sink(0);
            let _ = write!(sink, "{e}");
            black_box(sink.0);
        }
        black_box(e);
    }
    black_box(phone.poll_timeout());
}

/// Counts what would be written.
#[cfg(feature = "event-text")]
struct Sink(usize);

#[cfg(feature = "event-text")]
impl core::fmt::Write for Sink {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0 = self.0.wrapping_add(s.len());
        Ok(())
    }
}

#[cfg(feature = "trace")]
fn trace_text() {
    use ccx_cti::trace;
    use ccx_cti::wire::{decode, WireVersion};
    use core::fmt::Write;
    struct Sink(usize);
    impl Write for Sink {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            self.0 = self.0.wrapping_add(s.len());
            Ok(())
        }
    }
    let version = WireVersion::new(black_box(17));
    if let Ok(msg) = decode(input(black_box(300)), version) {
        let mut sink = Sink(0);
        let _ = write!(sink, "{}", trace::display(&msg));
        black_box(sink.0);
    }
    let text = core::str::from_utf8(input(black_box(900))).unwrap_or("");
    let mut buf = [0u8; 512];
    black_box(trace::parse_message(text, &mut buf, version).ok());
}

/// `size_of` on the target, as symbol sizes.
#[cfg(feature = "sizes")]
mod sizes {
    use ccx_cti::phone::Engine;
    use ccx_cti::wire::FrameAccumulator;
    use core::mem::size_of;
    /// The default phone without its frame accumulator (the phone is its engine and the
    /// accumulator).
    #[used]
    #[no_mangle]
    static SIZE_OF_PHONE_DEFAULT: [u8; size_of::<Engine>()] = [0; size_of::<Engine>()];
    /// One call, 128 bytes of variables, 2 pending requests, 256 bytes of transmit queue,
    /// 4 events, without the frame accumulator.
    #[used]
    #[no_mangle]
    static SIZE_OF_PHONE_MINIMAL: [u8; size_of::<Engine<1, 128, 2, 256, 4>>()] =
        [0; size_of::<Engine<1, 128, 2, 256, 4>>()];
    #[used]
    #[no_mangle]
    static SIZE_OF_FRAME_ACCUMULATOR_DEFAULT: [u8; size_of::<FrameAccumulator>()] =
        [0; size_of::<FrameAccumulator>()];
    #[used]
    #[no_mangle]
    static SIZE_OF_FRAME_ACCUMULATOR_2048: [u8; size_of::<FrameAccumulator<2048>>()] =
        [0; size_of::<FrameAccumulator<2048>>()];
}

#[no_mangle]
pub extern "C" fn _start() -> ! {
    loop {
        #[cfg(feature = "codec")]
        codec();
        #[cfg(feature = "phone")]
        phone();
        #[cfg(feature = "trace")]
        trace_text();
        black_box(());
    }
}
