//! The frame tap: every whole frame the phone receives or hands out for sending, with its
//! direction and time, shown to an observer the adapter passes in. A trace, a flight recorder
//! or a pcap writer reads the frames here and needs no framing of its own.

use super::Instant;

/// Which way a frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FrameDirection {
    /// Phone to server (handed out by `poll_transmit_tapped`).
    Sent,
    /// Server to phone (framed by `handle_bytes_tapped`, before the phone handles it).
    Received,
}

/// An observer of the phone's frames.
pub trait FrameTap {
    /// One whole frame, header included, at `at`.
    fn frame(&mut self, direction: FrameDirection, at: Instant, frame: &[u8]);
}

/// No observer.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTap;

impl FrameTap for NoTap {
    fn frame(&mut self, _: FrameDirection, _: Instant, _: &[u8]) {}
}

/// A closure is an observer.
impl<F: FnMut(FrameDirection, Instant, &[u8])> FrameTap for F {
    fn frame(&mut self, direction: FrameDirection, at: Instant, frame: &[u8]) {
        self(direction, at, frame)
    }
}
