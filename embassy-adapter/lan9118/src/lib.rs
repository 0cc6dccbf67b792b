//! An `embassy-net-driver` for the SMSC LAN9118 Ethernet controller, as qemu emulates it on
//! the mps2-an386 board (registers at [`MPS2_AN386_BASE`]), so the phone's product image runs
//! on an emulated network card over `-nic tap`.
//!
//! The controller is driven through its FIFOs with programmed I/O: a received frame is read
//! from the RX status and data FIFOs word by word, a frame to send is written to the TX data
//! FIFO after its two command words. Only what qemu emulates is used (no EEPROM, no PHY
//! set-up beyond what reset leaves, no flow control). Every frame both ways is shown to a
//! [`FrameTap`] (the flight recorder's hook) before it goes up or out.
//!
//! Received frames raise the controller's interrupt (line [`MPS2_AN386_IRQ`] on the AN386): the
//! firmware's handler calls [`on_interrupt`], which wakes the network task, so the CPU sleeps
//! between frames. Without [`Lan9118::enable_interrupt`] the driver polls instead (it asks the
//! executor to poll it again whenever no frame is waiting).
#![no_std]

use core::task::Context;

use embassy_net_driver::{Capabilities, HardwareAddress, LinkState};
use embassy_sync::waitqueue::AtomicWaker;

/// Where mps2-an386 maps the controller.
pub const MPS2_AN386_BASE: usize = 0x4020_0000;
/// The controller's interrupt line on mps2-an386 (qemu's mps2.c: 13 on AN385/AN386).
pub const MPS2_AN386_IRQ: u16 = 13;
/// Largest Ethernet frame without its FCS.
pub const MTU: usize = 1514;

const RX_DATA_FIFO: usize = 0x00;
const TX_DATA_FIFO: usize = 0x20;
const RX_STATUS_FIFO: usize = 0x40;
const TX_STATUS_FIFO: usize = 0x48;
const ID_REV: usize = 0x50;
const IRQ_CFG: usize = 0x54;
const INT_STS: usize = 0x58;
const INT_EN: usize = 0x5C;
const FIFO_INT: usize = 0x68;
const BYTE_TEST: usize = 0x64;
const TX_CFG: usize = 0x70;
const HW_CFG: usize = 0x74;
const RX_FIFO_INF: usize = 0x7C;
const TX_FIFO_INF: usize = 0x80;
const MAC_CSR_CMD: usize = 0xA4;
const MAC_CSR_DATA: usize = 0xA8;

const MAC_CR: u32 = 1;
const MAC_ADDRH: u32 = 2;
const MAC_ADDRL: u32 = 3;
const MAC_CR_TXEN: u32 = 1 << 3;
const MAC_CR_RXEN: u32 = 1 << 2;
const CSR_BUSY: u32 = 1 << 31;
const CSR_READ: u32 = 1 << 30;
const TX_ON: u32 = 1 << 1;
const HW_CFG_SRST: u32 = 1;
const TX_CMD_A_FIRST: u32 = 1 << 13;
const TX_CMD_A_LAST: u32 = 1 << 12;
const RX_STATUS_ERROR: u32 = 1 << 15;
/// INT_STS/INT_EN: the RX status FIFO holds more entries than FIFO_INT's level.
const RSFL_INT: u32 = 1 << 3;
/// IRQ_CFG: enabled, active high, push-pull.
const IRQ_EN_HIGH_PUSH_PULL: u32 = (1 << 8) | (1 << 4) | 1;

static RX_WAKER: AtomicWaker = AtomicWaker::new();

/// Call from the controller's interrupt handler: acknowledges the receive interrupt and wakes
/// the network task.
///
/// # Safety
/// `base` must be the register block of the controller a [`Lan9118`] drives.
pub unsafe fn on_interrupt(base: usize) {
    // SAFETY: the caller's contract; INT_STS is write-one-to-clear.
    unsafe { core::ptr::write_volatile((base + INT_STS) as *mut u32, RSFL_INT) };
    RX_WAKER.wake();
}
/// Room a frame needs in the TX data FIFO: the frame ([`MTU`]) and its two command words.
const TX_ROOM: u32 = 1514 + 8 + 4;

/// Which way a frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Sent by this station.
    Out,
    /// Received by this station.
    In,
}

/// Sees every Ethernet frame the driver sends and receives.
pub trait FrameTap {
    /// One whole Ethernet frame (without FCS).
    fn frame(&mut self, direction: Direction, frame: &[u8]);
}

/// No tap.
impl FrameTap for () {
    fn frame(&mut self, _: Direction, _: &[u8]) {}
}

/// Why the controller was not found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lan9118Error {
    /// BYTE_TEST did not read 0x87654321: nothing (or a big-endian bus) at the address.
    NoDevice {
        /// What it read.
        byte_test: u32,
    },
    /// ID_REV is not a LAN9118's.
    WrongId {
        /// What it read.
        id_rev: u32,
    },
}

/// The controller at one address.
pub struct Lan9118<T: FrameTap> {
    base: usize,
    mac: [u8; 6],
    rx: [u8; MTU + 4],
    rx_len: usize,
    tx: [u8; MTU],
    tap: T,
    interrupt: bool,
    /// Frames received with an error status and dropped.
    pub rx_errors: u32,
}

impl<T: FrameTap> Lan9118<T> {
    /// Reset the controller at `base`, enable transmit and receive and take the MAC address
    /// qemu gave it (`-nic ...,mac=`).
    ///
    /// # Safety
    /// `base` must be the controller's register block, used by nothing else while this driver
    /// lives.
    pub unsafe fn new(base: usize, tap: T) -> Result<Self, Lan9118Error> {
        let mut dev = Lan9118 {
            base,
            mac: [0; 6],
            rx: [0; MTU + 4],
            rx_len: 0,
            tx: [0; MTU],
            tap,
            interrupt: false,
            rx_errors: 0,
        };
        let byte_test = dev.read(BYTE_TEST);
        if byte_test != 0x8765_4321 {
            return Err(Lan9118Error::NoDevice { byte_test });
        }
        let id_rev = dev.read(ID_REV);
        if id_rev >> 16 != 0x0118 {
            return Err(Lan9118Error::WrongId { id_rev });
        }
        dev.write(HW_CFG, HW_CFG_SRST);
        while dev.read(HW_CFG) & HW_CFG_SRST != 0 {}
        let low = dev.mac_read(MAC_ADDRL).to_le_bytes();
        let high = dev.mac_read(MAC_ADDRH).to_le_bytes();
        dev.mac = [low[0], low[1], low[2], low[3], high[0], high[1]];
        // Exact address, broadcast, no promiscuous mode.
        dev.mac_write(MAC_CR, MAC_CR_TXEN | MAC_CR_RXEN);
        dev.write(TX_CFG, TX_ON);
        Ok(dev)
    }

    /// Raise the interrupt when a frame arrives (the firmware unmasks the line and calls
    /// [`on_interrupt`] from its handler); from now on the driver waits for it instead of
    /// polling.
    pub fn enable_interrupt(&mut self) {
        // Level 0: an interrupt as soon as one status is in the RX status FIFO.
        self.write(FIFO_INT, self.read(FIFO_INT) & !0xFF);
        self.write(INT_STS, RSFL_INT);
        self.write(INT_EN, RSFL_INT);
        self.write(IRQ_CFG, IRQ_EN_HIGH_PUSH_PULL);
        self.interrupt = true;
    }

    /// The station's MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// The tap (to dump what it holds).
    pub fn tap(&mut self) -> &mut T {
        &mut self.tap
    }

    fn read(&self, offset: usize) -> u32 {
        // SAFETY: `new`'s contract: base + offset is one of the controller's 32-bit
        // registers (all offsets used are below 0x100, the block's size).
        unsafe { core::ptr::read_volatile((self.base + offset) as *const u32) }
    }

    fn write(&self, offset: usize, value: u32) {
        // SAFETY: as in `read`.
        unsafe { core::ptr::write_volatile((self.base + offset) as *mut u32, value) }
    }

    fn mac_wait(&self) {
        while self.read(MAC_CSR_CMD) & CSR_BUSY != 0 {}
    }

    fn mac_read(&self, reg: u32) -> u32 {
        self.mac_wait();
        self.write(MAC_CSR_CMD, CSR_BUSY | CSR_READ | reg);
        self.mac_wait();
        self.read(MAC_CSR_DATA)
    }

    fn mac_write(&self, reg: u32, value: u32) {
        self.mac_wait();
        self.write(MAC_CSR_DATA, value);
        self.write(MAC_CSR_CMD, CSR_BUSY | reg);
        self.mac_wait();
    }

    /// Read the next received frame into `rx` (true when there is one).
    fn pull(&mut self) -> bool {
        while (self.read(RX_FIFO_INF) >> 16) & 0xFF != 0 {
            let status = self.read(RX_STATUS_FIFO);
            // The length counts the 4-byte FCS, which is in the FIFO too.
            let len = usize::try_from((status >> 16) & 0x3FFF).unwrap_or(0);
            let words = len.div_ceil(4);
            let mut at = 0;
            for _ in 0..words {
                for b in self.read(RX_DATA_FIFO).to_le_bytes() {
                    if let Some(slot) = self.rx.get_mut(at) {
                        *slot = b;
                    }
                    at += 1;
                }
            }
            if status & RX_STATUS_ERROR != 0 || len < 14 + 4 || len > self.rx.len() {
                self.rx_errors = self.rx_errors.saturating_add(1);
                continue;
            }
            self.rx_len = len - 4;
            if let Some(frame) = self.rx.get(..self.rx_len) {
                self.tap.frame(Direction::In, frame);
            }
            return true;
        }
        false
    }

    fn tx_room(&self) -> bool {
        // Statuses of sent frames are not needed: drop them so their FIFO never fills.
        while (self.read(TX_FIFO_INF) >> 16) & 0xFF != 0 {
            let _ = self.read(TX_STATUS_FIFO);
        }
        self.read(TX_FIFO_INF) & 0xFFFF >= TX_ROOM
    }
}

/// A received frame.
pub struct RxToken<'a> {
    frame: &'a mut [u8],
}

impl embassy_net_driver::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

/// Room for a frame to send.
pub struct TxToken<'a, T: FrameTap> {
    base: usize,
    buf: &'a mut [u8; MTU],
    tap: &'a mut T,
}

impl<T: FrameTap> embassy_net_driver::TxToken for TxToken<'_, T> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let len = len.min(MTU);
        let frame = self.buf.get_mut(..len).unwrap_or(&mut []);
        let r = f(frame);
        self.tap.frame(Direction::Out, frame);
        let write = |offset: usize, value: u32| {
            // SAFETY: the token was made by a driver whose `new` contract covers `base`.
            unsafe { core::ptr::write_volatile((self.base + offset) as *mut u32, value) }
        };
        let n = u32::try_from(frame.len()).unwrap_or(0);
        write(TX_DATA_FIFO, TX_CMD_A_FIRST | TX_CMD_A_LAST | n);
        write(TX_DATA_FIFO, n);
        for chunk in frame.chunks(4) {
            let mut word = [0u8; 4];
            for (w, b) in word.iter_mut().zip(chunk) {
                *w = *b;
            }
            write(TX_DATA_FIFO, u32::from_le_bytes(word));
        }
        r
    }
}

impl<T: FrameTap> embassy_net_driver::Driver for Lan9118<T> {
    type RxToken<'a>
        = RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a, T>
    where
        Self: 'a;

    fn receive(&mut self, cx: &mut Context) -> Option<(RxToken<'_>, TxToken<'_, T>)> {
        if self.interrupt {
            // Before looking, so a frame that arrives after the look still wakes the task.
            RX_WAKER.register(cx.waker());
        }
        if !self.tx_room() {
            cx.waker().wake_by_ref();
            return None;
        }
        if !self.pull() {
            if !self.interrupt {
                cx.waker().wake_by_ref();
            }
            return None;
        }
        let len = self.rx_len;
        let rx = RxToken {
            frame: self.rx.get_mut(..len)?,
        };
        let tx = TxToken {
            base: self.base,
            buf: &mut self.tx,
            tap: &mut self.tap,
        };
        Some((rx, tx))
    }

    fn transmit(&mut self, cx: &mut Context) -> Option<TxToken<'_, T>> {
        if !self.tx_room() {
            cx.waker().wake_by_ref();
            return None;
        }
        Some(TxToken {
            base: self.base,
            buf: &mut self.tx,
            tap: &mut self.tap,
        })
    }

    fn link_state(&mut self, _cx: &mut Context) -> LinkState {
        // qemu's link is up from reset (a `set_link` monitor command is not followed).
        LinkState::Up
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        caps.max_transmission_unit = MTU;
        caps.max_burst_size = Some(1);
        caps
    }

    fn hardware_address(&self) -> HardwareAddress {
        HardwareAddress::Ethernet(self.mac)
    }
}
