//! The outbound preview story played through the agent's screen, the same on the qemu
//! firmware and on the host, so that CI can compare the pixels of both.
//!
//! [`play`] runs the phone against the scripted [`PreviewServer`] in memory with a virtual
//! clock (one second a round). The agent's buttons of [`PreviewAgent`] (Login, Ready, Skip,
//! Accept) are pressed as softkeys: the key under the label that names the button, on the
//! screens of two displays (320x240 colour, 128x64 monochrome). Whenever the phone reports
//! events, both screens are drawn — the monochrome one into a [`MonoFramebuffer`], the colour
//! one in 16-row strips ([`ColourStrip`], 10 KiB of RAM) into a running CRC-32 — and handed to
//! the dump callback: the scripted instants.
#![no_std]
#![forbid(unsafe_code)]

use ccx_cti::config::{ReasonKind, Vocabulary};
use ccx_cti::phone::{Command, CommandKind, Instant, Phone, TransportAction};
use ccx_cti::ui::{draw, Frame, Key, Reaction, Screen};
use ccx_cti_preview_story::{check_final_state, Ending, PreviewAgent, PreviewServer};
use embedded_graphics::pixelcolor::raw::RawU16;
use embedded_graphics::pixelcolor::{BinaryColor, Rgb565};
use embedded_graphics::prelude::*;

/// The monochrome display.
pub const MONO_SIZE: Size = Size::new(128, 64);
/// The colour display.
pub const COLOUR_SIZE: Size = Size::new(320, 240);
/// Rows of a colour strip.
pub const STRIP_ROWS: u32 = 16;

const MONO_BYTES: usize = 128 * 64 / 8;
const STRIP_PIXELS: usize = 320 * 16;
const FRAME: usize = 1024;

/// A 128x64 one-bit framebuffer, rows top to bottom, 8 pixels a byte, the leftmost in the
/// high bit.
pub struct MonoFramebuffer {
    bits: [u8; MONO_BYTES],
}

impl Default for MonoFramebuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl MonoFramebuffer {
    /// All pixels off.
    pub const fn new() -> Self {
        MonoFramebuffer {
            bits: [0; MONO_BYTES],
        }
    }

    /// The packed pixels.
    pub fn bytes(&self) -> &[u8] {
        &self.bits
    }

    /// Page `page` (0-7) in the layout of an SSD1306-type panel controller, whose memory is
    /// column-major in 8-row pages: byte `x` holds column `x` of the page's eight rows, the
    /// top row in bit 0. A panel driver sends the frame a page at a time from this,
    /// without a second 1 KiB buffer; a page past the last comes out blank.
    pub fn controller_page(&self, page: usize, out: &mut [u8; 128]) {
        for (x, byte) in out.iter_mut().enumerate() {
            let mask = 0x80u8 >> (x % 8);
            let mut column = 0u8;
            for bit in 0..8 {
                let row = page * 8 + bit;
                let on = self
                    .bits
                    .get(row * 16 + x / 8)
                    .is_some_and(|b| b & mask != 0);
                column |= u8::from(on) << bit;
            }
            *byte = column;
        }
    }
}

impl OriginDimensions for MonoFramebuffer {
    fn size(&self) -> Size {
        MONO_SIZE
    }
}

impl DrawTarget for MonoFramebuffer {
    type Color = BinaryColor;
    type Error = core::convert::Infallible;

    fn draw_iter<I: IntoIterator<Item = Pixel<BinaryColor>>>(
        &mut self,
        pixels: I,
    ) -> Result<(), Self::Error> {
        for Pixel(p, color) in pixels {
            let (Ok(x), Ok(y)) = (usize::try_from(p.x), usize::try_from(p.y)) else {
                continue;
            };
            if x >= 128 || y >= 64 {
                continue;
            }
            let index = y * 16 + x / 8;
            let mask = 0x80u8 >> (x % 8);
            if let Some(byte) = self.bits.get_mut(index) {
                if color.is_on() {
                    *byte |= mask;
                } else {
                    *byte &= !mask;
                }
            }
        }
        Ok(())
    }
}

/// Sixteen rows of the 320x240 colour display: drawing the whole frame into it keeps only its
/// rows, so a frame is drawn strip by strip with little RAM.
pub struct ColourStrip {
    first_row: i32,
    pixels: [u16; STRIP_PIXELS],
}

impl Default for ColourStrip {
    fn default() -> Self {
        Self::new()
    }
}

impl ColourStrip {
    /// The first strip.
    pub const fn new() -> Self {
        ColourStrip {
            first_row: 0,
            pixels: [0; STRIP_PIXELS],
        }
    }

    /// The strip's pixels, row by row.
    pub fn pixels(&self) -> &[u16] {
        &self.pixels
    }

    /// The CRC-32 of a frame drawn on the colour display: every pixel as big-endian RGB565,
    /// rows top to bottom.
    pub fn frame_crc(&mut self, frame: &Frame) -> u32 {
        let mut crc = Crc32::new();
        let mut row = 0;
        while row < COLOUR_SIZE.height {
            self.first_row = i32::try_from(row).unwrap_or(0);
            let _ = draw::draw(frame, self);
            for px in self.pixels.iter() {
                crc.update(&px.to_be_bytes());
            }
            row += STRIP_ROWS;
        }
        crc.finish()
    }
}

impl OriginDimensions for ColourStrip {
    fn size(&self) -> Size {
        COLOUR_SIZE
    }
}

impl DrawTarget for ColourStrip {
    type Color = Rgb565;
    type Error = core::convert::Infallible;

    fn draw_iter<I: IntoIterator<Item = Pixel<Rgb565>>>(
        &mut self,
        pixels: I,
    ) -> Result<(), Self::Error> {
        for Pixel(p, color) in pixels {
            let y = p.y.saturating_sub(self.first_row);
            let (Ok(x), Ok(y)) = (usize::try_from(p.x), usize::try_from(y)) else {
                continue;
            };
            if x >= 320 || y >= 16 {
                continue;
            }
            if let Some(px) = self.pixels.get_mut(y * 320 + x) {
                *px = RawU16::from(color).into_inner();
            }
        }
        Ok(())
    }
}

/// CRC-32 (IEEE 802.3), fed piece by piece.
pub struct Crc32(u32);

impl Default for Crc32 {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc32 {
    /// Nothing fed yet.
    pub const fn new() -> Self {
        Crc32(0xFFFF_FFFF)
    }
    /// Feed `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u32::from(*b);
            for _ in 0..8 {
                let mask = (self.0 & 1).wrapping_neg();
                self.0 = (self.0 >> 1) ^ (0xEDB8_8320 & mask);
            }
        }
    }
    /// The checksum.
    pub fn finish(&self) -> u32 {
        !self.0
    }
}

/// The reason labels of the story's agent.
pub fn vocabulary() -> Vocabulary<8> {
    let mut v = Vocabulary::new();
    let _ = v.add(ReasonKind::NotReady, 32760, "Just logged in");
    let _ = v.add(ReasonKind::NotReady, 4, "Lunch");
    let _ = v.add(ReasonKind::Logout, 7, "End of shift");
    v
}

/// One scripted instant: the frames of both displays.
pub struct Snapshot<'a> {
    /// 0, 1, 2…
    pub index: u32,
    /// The virtual time.
    pub now: Instant,
    /// The 128x64 screen's frame.
    pub mono: &'a Frame,
    /// The 320x240 screen's frame.
    pub colour: &'a Frame,
}

/// Why the story failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreenStoryError {
    /// The preview story itself failed (server script or final state).
    Story,
    /// No softkey carried the label of the button the agent wanted.
    NoSuchKey(CommandKind),
    /// The key sent another command than its label said.
    WrongCommand(CommandKind),
    /// The phone refused the command.
    Refused,
    /// Nobody had anything left to do.
    Stalled,
}

/// The softkey label of the agent's button.
fn label_of(command: &Command<'_>) -> Option<&'static str> {
    Some(match command {
        Command::Login { .. } => "Login",
        Command::Ready => "Ready",
        Command::Preview(a) => ccx_cti::ui::Action::Preview(*a).label(),
        _ => return None,
    })
}

/// Play the story; `dump` sees both screens at every scripted instant. Returns the number of
/// instants.
pub fn play(dump: &mut dyn FnMut(&Snapshot<'_>)) -> Result<u32, ScreenStoryError> {
    let vocab = vocabulary();
    let mut phone: Phone = Phone::new(ccx_cti_preview_story::story_config("10.0.0.1", 12028));
    let mut server = PreviewServer::new();
    let mut agent = PreviewAgent::new(Ending::Available);
    let mut screens = [
        Screen::new(draw::body_rows(MONO_SIZE)),
        Screen::new(draw::body_rows(COLOUR_SIZE)),
    ];
    let mut out = [0u8; FRAME];
    let mut index = 0u32;
    for round in 0..1_000u64 {
        let now = Instant::from_secs(round.saturating_add(1));
        let mut progressed = false;
        let mut events = false;
        while let Some(action) = phone.poll_transport(now) {
            progressed = true;
            match action {
                TransportAction::Connect { .. } => phone.connected(now),
                TransportAction::Disconnect => phone.disconnected(now),
            }
        }
        while let Some(len) = phone.poll_transmit(&mut out) {
            progressed = true;
            server.receive(out.get(..len).unwrap_or(&[]));
        }
        if server.failure().is_some() {
            return Err(ScreenStoryError::Story);
        }
        if !server.output().is_empty() {
            progressed = true;
            phone.handle_bytes(now, server.output());
            let n = server.output().len();
            server.consume_output(n);
        }
        let mut wanted: Option<Command<'static>> = None;
        while let Some(event) = phone.poll_event() {
            progressed = true;
            events = true;
            for screen in screens.iter_mut() {
                screen.event(&event, now);
            }
            if let Some(command) = agent.on_event(&event) {
                wanted = Some(command);
            }
        }
        if events {
            dump_both(&phone, &vocab, &screens, index, now, dump);
            index = index.saturating_add(1);
        }
        if let Some(command) = wanted {
            press(&mut phone, &vocab, &mut screens, &command, now)?;
            // The instant after the key: the screen shows the change asked for.
            dump_both(&phone, &vocab, &screens, index, now, dump);
            index = index.saturating_add(1);
        }
        if agent.done() && server.finished() {
            check_final_state(&phone, Ending::Available).map_err(|_| ScreenStoryError::Story)?;
            return Ok(index);
        }
        if !progressed {
            return Err(ScreenStoryError::Stalled);
        }
    }
    Err(ScreenStoryError::Stalled)
}

fn dump_both(
    phone: &Phone,
    vocab: &Vocabulary<8>,
    screens: &[Screen; 2],
    index: u32,
    now: Instant,
    dump: &mut dyn FnMut(&Snapshot<'_>),
) {
    let view = phone.view_with(vocab);
    let [mono, colour] = screens;
    let mono = mono.frame(&view, vocab, now);
    let colour = colour.frame(&view, vocab, now);
    dump(&Snapshot {
        index,
        now,
        mono: &mono,
        colour: &colour,
    });
}

/// Press the softkey labelled as the agent's button on both screens and give the phone the
/// command the key produced.
fn press(
    phone: &mut Phone,
    vocab: &Vocabulary<8>,
    screens: &mut [Screen; 2],
    command: &Command<'_>,
    now: Instant,
) -> Result<(), ScreenStoryError> {
    let kind = CommandKind::of(command);
    let label = label_of(command).ok_or(ScreenStoryError::NoSuchKey(kind))?;
    let mut sent = None;
    for screen in screens.iter_mut() {
        let view = phone.view_with(vocab);
        let slot = screen
            .softkeys(&view, vocab)
            .iter()
            .position(|l| *l == label)
            .and_then(|i| u8::try_from(i).ok())
            .ok_or(ScreenStoryError::NoSuchKey(kind))?;
        match screen.key(&view, vocab, Key::Soft(slot), now) {
            Reaction::Send(cmd) if cmd.as_command() == *command => sent = Some(cmd),
            _ => return Err(ScreenStoryError::WrongCommand(kind)),
        }
    }
    let cmd = sent.ok_or(ScreenStoryError::NoSuchKey(kind))?;
    let result = phone.command(now, cmd.as_command());
    for screen in screens.iter_mut() {
        screen.sent(kind, result, now);
    }
    result.map(|_| ()).map_err(|_| ScreenStoryError::Refused)
}

/// The dump line of one instant: `screen N mono HEX colour-crc XXXXXXXX`.
pub fn dump_line<W: core::fmt::Write>(out: &mut W, snapshot: &Snapshot<'_>) -> core::fmt::Result {
    let mut mono = MonoFramebuffer::new();
    let _ = draw::draw(snapshot.mono, &mut mono);
    write!(out, "screen {} mono ", snapshot.index)?;
    for b in mono.bytes() {
        write!(out, "{b:02x}")?;
    }
    let mut strip = ColourStrip::new();
    write!(out, " colour-crc {:08x}", strip.frame_crc(snapshot.colour))
}
