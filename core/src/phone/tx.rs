//! The transmit queue: whole encoded frames, back to back, in one fixed byte buffer.
//!
//! Requests are encoded straight into the queue's free space ([`TxQueue::free_mut`], then
//! [`TxQueue::commit`]), so the phone needs no encoding buffer of its own: any frame that fits
//! the queue can be sent, and no private size can wedge it. Each frame carries its own length
//! in its header, so the queue needs no separate index.

use crate::wire::HEADER_LEN;

/// Encoded frames waiting for `poll_transmit`.
pub(super) struct TxQueue<const N: usize> {
    bytes: [u8; N],
    /// Bytes of whole frames at the front of `bytes`.
    len: usize,
}

impl<const N: usize> TxQueue<N> {
    pub(super) const fn new() -> Self {
        TxQueue {
            bytes: [0; N],
            len: 0,
        }
    }

    /// Bytes the queue holds when empty: no frame longer than this can ever be queued.
    pub(super) const fn capacity(&self) -> usize {
        N
    }

    /// The free space after the queued frames, to encode the next frame into.
    pub(super) fn free_mut(&mut self) -> &mut [u8] {
        self.bytes.get_mut(self.len..).unwrap_or(&mut [])
    }

    /// Take the first `len` bytes of the free space (a whole frame encoded there) into the
    /// queue; `false` (and nothing queued) when it is not a frame or does not fit.
    pub(super) fn commit(&mut self, len: usize) -> bool {
        let fits = len >= HEADER_LEN && len <= N.saturating_sub(self.len);
        if fits {
            self.len += len;
        }
        fits
    }

    /// Queue a whole frame; `false` (and nothing queued) when it does not fit.
    #[cfg(test)]
    pub(super) fn push_frame(&mut self, frame: &[u8]) -> bool {
        match self.free_mut().get_mut(..frame.len()) {
            Some(dst) if frame.len() >= HEADER_LEN => dst.copy_from_slice(frame),
            _ => return false,
        }
        self.commit(frame.len())
    }

    /// Frame length of the frame at the front, from its header.
    pub(super) fn front_len(&self) -> Option<usize> {
        let header: [u8; 4] = self.bytes.get(..self.len.min(4))?.try_into().ok()?;
        let body = usize::try_from(u32::from_be_bytes(header)).ok()?;
        body.checked_add(HEADER_LEN)
    }

    /// Move the front frame into `buf`; `None` when empty or `buf` is too small (the frame
    /// stays queued).
    pub(super) fn pop_frame(&mut self, buf: &mut [u8]) -> Option<usize> {
        let len = self.front_len()?;
        let dst = buf.get_mut(..len)?;
        dst.copy_from_slice(self.bytes.get(..len.min(self.len))?.get(..len)?);
        // The queue holds a few frames at most: shifting the rest down keeps the free space
        // in one piece for the next encoding.
        let rest = self.len.saturating_sub(len);
        for i in 0..rest {
            let b = self.bytes.get(i.saturating_add(len)).copied().unwrap_or(0);
            if let Some(slot) = self.bytes.get_mut(i) {
                *slot = b;
            }
        }
        self.len = rest;
        Some(len)
    }

    pub(super) fn clear(&mut self) {
        self.len = 0;
    }
}
