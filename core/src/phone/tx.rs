//! The transmit queue: whole encoded frames, back to back, in a fixed byte ring.
//!
//! Each frame carries its own length in its header, so the queue needs no separate index.

use crate::wire::HEADER_LEN;

/// Encoded frames waiting for `poll_transmit`.
pub(super) struct TxQueue<const N: usize> {
    bytes: heapless::Deque<u8, N>,
}

impl<const N: usize> TxQueue<N> {
    pub(super) const fn new() -> Self {
        TxQueue {
            bytes: heapless::Deque::new(),
        }
    }

    /// Whether a frame of `len` bytes fits now.
    pub(super) fn has_room(&self, len: usize) -> bool {
        self.bytes.capacity().saturating_sub(self.bytes.len()) >= len
    }

    /// Queue a whole frame; `false` (and nothing queued) when it does not fit.
    pub(super) fn push_frame(&mut self, frame: &[u8]) -> bool {
        if frame.len() < HEADER_LEN || !self.has_room(frame.len()) {
            return false;
        }
        for b in frame {
            if self.bytes.push_back(*b).is_err() {
                return false;
            }
        }
        true
    }

    /// Frame length of the frame at the front, from its header.
    pub(super) fn front_len(&self) -> Option<usize> {
        let mut header = [0u8; 4];
        for (i, slot) in header.iter_mut().enumerate() {
            *slot = *self.bytes.get(i)?;
        }
        let body = usize::try_from(u32::from_be_bytes(header)).ok()?;
        body.checked_add(HEADER_LEN)
    }

    /// Move the front frame into `buf`; `None` when empty or `buf` is too small (the frame
    /// stays queued).
    pub(super) fn pop_frame(&mut self, buf: &mut [u8]) -> Option<usize> {
        let len = self.front_len()?;
        let dst = buf.get_mut(..len)?;
        for slot in dst.iter_mut() {
            *slot = self.bytes.pop_front()?;
        }
        Some(len)
    }

    pub(super) fn clear(&mut self) {
        self.bytes.clear();
    }
}
