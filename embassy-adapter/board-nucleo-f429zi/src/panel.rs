//! The SPI display: a 128x64 monochrome SSD1306 OLED module on SPI4 (pins in `board.rs`),
//! driven by the `ssd1306` crate over async SPI with DMA.
//!
//! The screen is drawn once, by `ui::draw` into the framebuffer B1 dumps (`SHOWN` in
//! `main.rs`); the panel gets a copy of it, page by page. The framebuffer is row-major (8
//! pixels a byte, the leftmost in the high bit), the controller's memory column-major in 8-row
//! pages (a byte is 8 pixels of one column, the top one in the low bit): `MonoFramebuffer::
//! controller_page` turns one into the other, 128 bytes at a time, so no second 1 KiB buffer
//! is kept.
//!
//! SPI to an SSD1306 is write-only: a panel that is not there does not fail, it just shows
//! nothing. What can fail (the SPI peripheral, its DMA, a transfer that never ends) is reported
//! by `init` and `show`; the caller logs it once and goes on without the panel.

use display_interface::DisplayError;
use embassy_stm32::gpio::Output;
use embassy_stm32::mode::Async;
use embassy_stm32::spi::mode::Master;
use embassy_stm32::spi::Spi;
use embassy_time::{with_timeout, Delay, Duration};
use embedded_hal_bus::spi::ExclusiveDevice;
use ssd1306::command::AddrMode;
use ssd1306::mode::BasicMode;
use ssd1306::prelude::{DisplayRotation, DisplaySize128x64, SPIInterface};
use ssd1306::Ssd1306Async;

/// Columns, and bytes of a page.
pub const WIDTH: usize = 128;
/// 8-row pages of the 64 rows.
pub const PAGES: usize = 8;

/// The SSD1306 takes at most 10 MHz; SPI4 runs off APB2 (90 MHz), so this gives 5.6 MHz
/// (90 / 16), about 1.5 ms a frame.
pub const SPI_HZ: u32 = 8_000_000;
/// Longer than the reset (11 ms) and the 25 initialisation commands take.
const INIT_TIMEOUT: Duration = Duration::from_millis(200);
/// A whole frame takes about 1.5 ms; a transfer that outlasts this has stopped.
const SHOW_TIMEOUT: Duration = Duration::from_millis(100);

type Bus = Spi<'static, Async, Master>;
type Interface = SPIInterface<ExclusiveDevice<Bus, Output<'static>, Delay>, Output<'static>>;

/// Why the panel was given up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, defmt::Format)]
pub enum PanelFault {
    /// Chip select could not be driven high at start.
    ChipSelect,
    /// The reset pulse could not be driven.
    Reset,
    /// The SPI write failed (or the interface refused the data).
    Bus,
    /// The initialisation did not finish within `INIT_TIMEOUT`.
    InitTimeout,
    /// A frame did not go out within `SHOW_TIMEOUT`.
    ShowTimeout,
}

impl From<DisplayError> for PanelFault {
    fn from(_: DisplayError) -> Self {
        // With GPIO pins that cannot fail, every DisplayError here is the SPI write's.
        PanelFault::Bus
    }
}

/// The panel before it is reset and initialised.
pub struct Wired {
    display: Ssd1306Async<Interface, DisplaySize128x64, BasicMode>,
    reset: Output<'static>,
}

/// The panel, initialised.
pub struct Panel {
    display: Ssd1306Async<Interface, DisplaySize128x64, BasicMode>,
}

impl Wired {
    /// The panel on `spi` (SCK and MOSI only) with its chip select, data/command and reset
    /// pins. Nothing is sent yet.
    pub fn new(
        spi: Bus,
        cs: Output<'static>,
        dc: Output<'static>,
        reset: Output<'static>,
    ) -> Result<Self, PanelFault> {
        let device = ExclusiveDevice::new(spi, cs, Delay).map_err(|_| PanelFault::ChipSelect)?;
        let display = Ssd1306Async::new(
            SPIInterface::new(device, dc),
            DisplaySize128x64,
            DisplayRotation::Rotate0,
        );
        Ok(Wired { display, reset })
    }

    /// Reset the controller and set it up (horizontal addressing, the whole panel as the
    /// drawing area, display on).
    pub async fn init(self) -> Result<Panel, PanelFault> {
        let Wired {
            mut display,
            mut reset,
        } = self;
        let init = async {
            display
                .reset(&mut reset, &mut Delay)
                .await
                .map_err(|_| PanelFault::Reset)?;
            display.init_with_addr_mode(AddrMode::Horizontal).await?;
            Ok::<(), PanelFault>(())
        };
        with_timeout(INIT_TIMEOUT, init)
            .await
            .map_err(|_| PanelFault::InitTimeout)??;
        Ok(Panel { display })
    }
}

impl Panel {
    /// Send the framebuffer to the panel; `fill(page, out)` copies page `page` of it into
    /// `out` (`MonoFramebuffer::controller_page`), so the caller decides how the framebuffer is reached (under a
    /// lock, a page at a time).
    pub async fn show(
        &mut self,
        mut fill: impl FnMut(usize, &mut [u8; WIDTH]),
    ) -> Result<(), PanelFault> {
        let display = &mut self.display;
        let send = async {
            // The whole panel, from its top-left corner: the pages follow one another.
            display.set_draw_area((0, 0), (128, 64)).await?;
            let mut out = [0u8; WIDTH];
            for p in 0..PAGES {
                fill(p, &mut out);
                display.draw(&out).await?;
            }
            Ok::<(), PanelFault>(())
        };
        with_timeout(SHOW_TIMEOUT, send)
            .await
            .map_err(|_| PanelFault::ShowTimeout)?
    }
}
