//! Framing: cut a byte stream into whole frames.
//!
//! [`FrameAccumulator`] takes chunks of any size, as a socket delivers them, and hands out
//! complete frames (header included). It owns a fixed buffer of `N` bytes; a frame whose
//! declared length does not fit is an error before anything is buffered, never an overrun.
//! Incomplete input is a status ([`FeedResult::Consumed`]), not an error, as in httparse.

use super::read_uint;

/// Bytes of the message header (MessageLength + MessageType).
pub const HEADER_LEN: usize = 8;

/// Default capacity of a [`FrameAccumulator`]: the largest message of the related Unified CCE
/// protocol, header included (README decision 3).
pub const DEFAULT_FRAME_CAPACITY: usize = 12_500;

/// A framing error: the stream cannot be resynchronised after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FrameError {
    /// A header declares a body longer than the buffer can hold.
    TooLong {
        /// The declared body length (MessageLength).
        length: u32,
        /// The largest body length this accumulator accepts.
        max: usize,
        /// Offset of the header in the stream fed so far.
        offset: u64,
    },
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FrameError::TooLong { length, max, offset } => write!(
                f,
                "frame at stream offset {offset} declares a body of {length} bytes; at most {max} fit"
            ),
        }
    }
}

impl core::error::Error for FrameError {}

/// What one [`FrameAccumulator::feed`] call produced.
///
/// `'f` is the frame's lifetime (it may live in the accumulator), `'i` the input's: the
/// remaining input outlives the frame, so a loop can feed it again once the frame is handled.
#[derive(Debug, PartialEq, Eq)]
pub enum FeedResult<'f, 'i> {
    /// All input was taken; no frame is complete yet.
    Consumed,
    /// A frame is complete. `remaining` is the input not yet looked at: feed it again.
    Frame {
        /// The whole frame, header included.
        frame: &'f [u8],
        /// Input after the frame.
        remaining: &'i [u8],
    },
    /// A header declared an impossible length. The accumulator has dropped what it held; the
    /// stream must be reset (the session reconnects).
    Error {
        /// What went wrong.
        error: FrameError,
        /// Input after the bad header.
        remaining: &'i [u8],
    },
}

/// Cuts a byte stream into frames with a fixed buffer of `N` bytes.
///
/// ```
/// use ccx_cti::wire::{FeedResult, FrameAccumulator};
/// let mut acc: FrameAccumulator = FrameAccumulator::new();
/// let stream = [0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 7, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 8];
/// let mut frames = 0;
/// for chunk in stream.chunks(5) {
///     let mut input = chunk;
///     loop {
///         match acc.feed(input) {
///             FeedResult::Consumed => break,
///             FeedResult::Frame { frame, remaining } => {
///                 assert_eq!(frame.len(), 12);
///                 frames += 1;
///                 input = remaining;
///             }
///             FeedResult::Error { error, .. } => panic!("{error}"),
///         }
///     }
/// }
/// assert_eq!(frames, 2);
/// ```
#[derive(Debug)]
pub struct FrameAccumulator<const N: usize = DEFAULT_FRAME_CAPACITY> {
    buf: [u8; N],
    cursor: Cursor,
}

/// Where the accumulator stands in its buffer. Frames are cut by `Cursor` over the buffer as
/// a slice, so that code is linked once for all capacities, not once per `N`.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    len: usize,
    /// A frame handed out from the buffer on the last call, to drop on the next one.
    pending_consume: usize,
    /// Stream offset of the buffer's first byte, for error reports.
    stream_offset: u64,
}

impl<const N: usize> Default for FrameAccumulator<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FrameAccumulator<N> {
    /// An empty accumulator.
    pub const fn new() -> Self {
        FrameAccumulator {
            buf: [0; N],
            cursor: Cursor {
                len: 0,
                pending_consume: 0,
                stream_offset: 0,
            },
        }
    }

    /// The largest body length (MessageLength) this accumulator accepts.
    pub const fn max_body_len(&self) -> usize {
        N.saturating_sub(HEADER_LEN)
    }

    /// Bytes held for an incomplete frame.
    pub fn buffered(&self) -> usize {
        self.cursor.len.saturating_sub(self.cursor.pending_consume)
    }

    /// Forget everything buffered (after a reconnect).
    pub fn reset(&mut self) {
        self.cursor.reset();
    }

    /// Feed a chunk. Call again with `remaining` until it returns [`FeedResult::Consumed`].
    ///
    /// A frame that lies whole in `input` while nothing is buffered is returned as a slice of
    /// `input` without a copy.
    #[inline]
    pub fn feed<'f, 'i: 'f>(&'f mut self, input: &'i [u8]) -> FeedResult<'f, 'i> {
        // The common case first, here where the capacity is a constant: nothing buffered and
        // whole frames in the input. The rest goes to the cursor, linked once.
        if self.cursor.len == 0 {
            if let Some(result) = self.cursor.whole_frame(input, self.max_body_len()) {
                return result;
            }
        }
        self.cursor.feed(&mut self.buf, input)
    }
}

impl Cursor {
    fn reset(&mut self) {
        self.len = 0;
        self.pending_consume = 0;
        self.stream_offset = 0;
    }

    fn drop_consumed(&mut self, buf: &mut [u8]) {
        if self.pending_consume > 0 {
            // `len <= buf.len()` always; saying so lets the compiler drop copy_within's panic
            // path.
            let end = self.len.min(buf.len());
            let n = self.pending_consume.min(end);
            buf.copy_within(n..end, 0);
            self.len -= n;
            self.stream_offset += n as u64;
            self.pending_consume = 0;
        }
    }

    /// With nothing buffered: the frame or the error at the start of `input` when its header
    /// and (for a frame) its body are all there, as a slice of `input` without a copy.
    #[inline]
    fn whole_frame<'i>(&mut self, input: &'i [u8], max: usize) -> Option<FeedResult<'i, 'i>> {
        if input.len() < HEADER_LEN {
            return None;
        }
        let length = read_uint(input, 0, 4)?;
        if length as usize > max {
            let offset = self.stream_offset;
            self.stream_offset += HEADER_LEN.min(input.len()) as u64;
            return Some(FeedResult::Error {
                error: FrameError::TooLong {
                    length,
                    max,
                    offset,
                },
                remaining: input.get(HEADER_LEN..).unwrap_or(&[]),
            });
        }
        let total = HEADER_LEN + length as usize;
        if input.len() < total {
            return None;
        }
        self.stream_offset += total as u64;
        let (frame, remaining) = input.split_at(total);
        Some(FeedResult::Frame { frame, remaining })
    }

    /// [`FrameAccumulator::feed`] with the accumulator's buffer.
    fn feed<'f, 'i: 'f>(&mut self, buf: &'f mut [u8], input: &'i [u8]) -> FeedResult<'f, 'i> {
        self.drop_consumed(buf);
        let max = buf.len().saturating_sub(HEADER_LEN);
        if self.len == 0 {
            if let Some(result) = self.whole_frame(input, max) {
                return result;
            }
        }
        // Slow path: collect the header, then the body, in the buffer.
        let mut input = input;
        if self.len < HEADER_LEN {
            let take = (HEADER_LEN - self.len).min(input.len());
            let (head, rest) = input.split_at(take);
            if let Some(dst) = buf.get_mut(self.len..self.len + take) {
                dst.copy_from_slice(head);
            }
            self.len += take;
            input = rest;
            if self.len < HEADER_LEN {
                return FeedResult::Consumed;
            }
        }
        let length = read_uint(buf, 0, 4).unwrap_or(0);
        if length as usize > max {
            let offset = self.stream_offset;
            self.reset();
            self.stream_offset = offset + HEADER_LEN as u64;
            return FeedResult::Error {
                error: FrameError::TooLong {
                    length,
                    max,
                    offset,
                },
                remaining: input,
            };
        }
        let total = HEADER_LEN + length as usize;
        let take = (total - self.len).min(input.len());
        let (body, rest) = input.split_at(take);
        if let Some(dst) = buf.get_mut(self.len..self.len + take) {
            dst.copy_from_slice(body);
        }
        self.len += take;
        if self.len < total {
            return FeedResult::Consumed;
        }
        self.pending_consume = total;
        FeedResult::Frame {
            frame: buf.get(..total).unwrap_or(&[]),
            remaining: rest,
        }
    }
}

#[cfg(feature = "defmt")]
impl<const N: usize> defmt::Format for FrameAccumulator<N> {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(
            f,
            "FrameAccumulator {{ capacity: {}, buffered: {} }}",
            N,
            self.buffered()
        )
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for FeedResult<'_, '_> {
    fn format(&self, f: defmt::Formatter) {
        match self {
            FeedResult::Consumed => defmt::write!(f, "Consumed"),
            FeedResult::Frame { frame, remaining } => {
                defmt::write!(
                    f,
                    "Frame {{ len: {}, remaining: {} }}",
                    frame.len(),
                    remaining.len()
                )
            }
            FeedResult::Error { error, remaining } => {
                defmt::write!(
                    f,
                    "Error {{ error: {}, remaining: {} }}",
                    error,
                    remaining.len()
                )
            }
        }
    }
}
