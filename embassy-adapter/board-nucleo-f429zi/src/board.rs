//! The board file: what is wired where on an STM32 Nucleo-F429ZI (NUCLEO-F429ZI, MB1137), and
//! the clocks. A firmware engineer porting the phone to another board starts here.
//!
//! | function | pins | notes |
//! |---|---|---|
//! | Ethernet RMII (on-board LAN8742A PHY) | REF_CLK PA1, MDIO PA2, MDC PC1, CRS_DV PA7, RXD0 PC4, RXD1 PC5, TX_EN PG11, TXD0 PG13, TXD1 PB13 | solder bridges as shipped (JP6 on) |
//! | SPI display: a 128x64 SSD1306 OLED module (`panel.rs`) | SPI4 (AF5): SCK PE2 (module D0), MOSI PE6 (D1); GPIO: CS PE4, DC PE3, RESET PE5 (RES); 3V3, GND | transmit only, DMA2 stream 1; PA5/PA7 (SPI1) collide with RMII, SPI4 is free on the ZIO connector CN9 |
//! | keys (to ground, internal pull-up) | LOGIN PF13, READY PF14, NOT_READY PF15, ANSWER PG14, RELEASE PG9 | on CN10/CN9 |
//! | user button B1 | PC13 (pull-down on the board, high when pressed) | dumps the flight recorder |
//! | LEDs | LD1 PB0 (session open), LD2 PB7 (agent ready), LD3 PB14 (error) | |
//! | debug | ST-LINK V2-1 SWD; defmt over RTT | `probe-rs run --chip STM32F429ZITx` |
//!
//! Flash: 2 MiB in two banks; the configuration store takes two 16 KiB sectors of bank 2
//! (sectors 12 and 13 at 0x0810_0000), the flight recorder's saved ring the 64 KiB sector 16
//! (0x0811_0000, bank 2's second region), both away from the program in bank 1.

use embassy_stm32::time::Hertz;

/// The flash the recorder's ring is saved to on a session loss (`persist.rs`): sector 16, one
/// 64 KiB erase page, so a save erases once. The program (bank 1) never reaches it.
pub type DumpFlash = embassy_stm32::flash::Bank2Region2<'static>;

/// The phone's MAC address: locally administered, from the chip's unique ID.
pub fn mac_address() -> [u8; 6] {
    let uid = embassy_stm32::uid::uid();
    [
        0x02,
        0xcc,
        uid[0] ^ uid[4],
        uid[1] ^ uid[5],
        uid[2] ^ uid[6],
        uid[3] ^ uid[7],
    ]
}

/// 180 MHz from the ST-LINK's 8 MHz clock (HSE bypass); 45 MHz APB1, 90 MHz APB2.
pub fn clocks() -> embassy_stm32::Config {
    use embassy_stm32::rcc::*;
    let mut config = embassy_stm32::Config::default();
    config.rcc.hse = Some(Hse {
        freq: Hertz(8_000_000),
        mode: HseMode::Bypass,
    });
    config.rcc.pll_src = PllSource::HSE;
    config.rcc.pll = Some(Pll {
        prediv: PllPreDiv::DIV4,
        mul: PllMul::MUL180,
        divp: Some(PllPDiv::DIV2),
        divq: None,
        divr: None,
    });
    config.rcc.ahb_pre = AHBPrescaler::DIV1;
    config.rcc.apb1_pre = APBPrescaler::DIV4;
    config.rcc.apb2_pre = APBPrescaler::DIV2;
    config.rcc.sys = Sysclk::PLL1_P;
    config
}
