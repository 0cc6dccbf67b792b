//! Any embassy-net driver with a tap: every frame both ways is shown to the flight recorder's
//! TCP tap (the chip's own driver has no hook). The tap is a `Copy` handle to state kept in a
//! static, because a receive hands out a receive and a transmit token at once.

use core::task::Context;

use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState, RxToken, TxToken};

/// Sees every Ethernet frame (`outgoing`: sent by this station).
pub trait Tap: Copy {
    /// One frame.
    fn frame(self, outgoing: bool, frame: &[u8]);
}

/// `D` with a tap.
pub struct Tapped<D, T> {
    inner: D,
    tap: T,
}

impl<D, T> Tapped<D, T> {
    /// Wrap `inner`.
    pub fn new(inner: D, tap: T) -> Self {
        Tapped { inner, tap }
    }
}

/// A received frame, shown to the tap when it is read.
pub struct Rx<R, T> {
    inner: R,
    tap: T,
}

/// A frame to send, shown to the tap once it is written.
pub struct Tx<X, T> {
    inner: X,
    tap: T,
}

impl<R: RxToken, T: Tap> RxToken for Rx<R, T> {
    fn consume<U, F: FnOnce(&mut [u8]) -> U>(self, f: F) -> U {
        let tap = self.tap;
        self.inner.consume(|frame| {
            tap.frame(false, frame);
            f(frame)
        })
    }
}

impl<X: TxToken, T: Tap> TxToken for Tx<X, T> {
    fn consume<U, F: FnOnce(&mut [u8]) -> U>(self, len: usize, f: F) -> U {
        let tap = self.tap;
        self.inner.consume(len, |frame| {
            let r = f(frame);
            tap.frame(true, frame);
            r
        })
    }
}

impl<D: Driver, T: Tap> Driver for Tapped<D, T> {
    type RxToken<'a>
        = Rx<D::RxToken<'a>, T>
    where
        Self: 'a;
    type TxToken<'a>
        = Tx<D::TxToken<'a>, T>
    where
        Self: 'a;

    fn receive(&mut self, cx: &mut Context) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let tap = self.tap;
        let (rx, tx) = self.inner.receive(cx)?;
        Some((Rx { inner: rx, tap }, Tx { inner: tx, tap }))
    }

    fn transmit(&mut self, cx: &mut Context) -> Option<Self::TxToken<'_>> {
        let tap = self.tap;
        let tx = self.inner.transmit(cx)?;
        Some(Tx { inner: tx, tap })
    }

    fn link_state(&mut self, cx: &mut Context) -> LinkState {
        self.inner.link_state(cx)
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn hardware_address(&self) -> HardwareAddress {
        self.inner.hardware_address()
    }
}
