//! The agent phone's flight recorder: the last frames in both directions with their times, and
//! marks for the session's connections, in a fixed RAM ring whose size is chosen at build time.
//! When the ring is full the oldest records make room. After an incident the ring is dumped
//! (over defmt/serial or semihosting) and `ccx recorder` on the host turns the dump into trace
//! text, a flow file or a pcap.
//!
//! The driver reports frames through [`FrameSink`], one call per frame (or per chunk of TCP
//! bytes: the host splits chunks into frames again), so the recorder plugs into any tap.
//!
//! Dump format (all little-endian):
//!
//! ```text
//!  "CCXR"  version u8 (1)  flags u8 (bit 0: times are wall clock)  dropped u32  bytes u32
//!  records, oldest first, `bytes` in all:
//!    kind u8  flags u8 (bit 0: payload truncated, bit 1: wall-clock time)  length u16
//!    time_ms u64  payload
//! ```
//!
//! Kinds: [`Kind`]. A [`Kind::Connected`] payload is the server's address (4 or 16 address
//! bytes, then the port); the phone's own address follows it when known.
#![no_std]

pub mod tcp_tap;
pub use tcp_tap::TcpTap;

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Kind {
    /// Bytes the phone sent to the server.
    Sent = 0,
    /// Bytes the phone received from the server.
    Received = 1,
    /// A connection to a server opened (payload: its address and port).
    Connected = 2,
    /// The connection closed or was lost (payload: a short reason in text).
    Closed = 3,
    /// A phone event or a note, in text.
    Note = 4,
}

impl Kind {
    /// The kind of a stored byte.
    pub fn from_u8(b: u8) -> Option<Kind> {
        Some(match b {
            0 => Kind::Sent,
            1 => Kind::Received,
            2 => Kind::Connected,
            3 => Kind::Closed,
            4 => Kind::Note,
            _ => return None,
        })
    }
}

/// Where the phone's driver reports what it sends and receives.
pub trait FrameSink {
    /// One record: `kind`, its bytes, and the time in milliseconds (wall clock once the phone
    /// has it, else since boot).
    fn record(&mut self, kind: Kind, bytes: &[u8], at_ms: u64);
}

/// Bytes before each record's payload.
pub const RECORD_HEADER: usize = 12;
/// Bytes of the dump header.
pub const DUMP_HEADER: usize = 14;
/// The dump magic.
pub const DUMP_MAGIC: [u8; 4] = *b"CCXR";
/// The dump format version.
pub const DUMP_VERSION: u8 = 1;
/// What starts each line of a text dump (`dump_hex`); the host looks for it in any log.
pub const LINE_PREFIX: &str = "ccx-rec ";
/// Bytes of a record's payload kept at most: longer frames are cut (and flagged).
pub const MAX_PAYLOAD: usize = 2048;

const FLAG_TRUNCATED: u8 = 1;
/// In a record's flags: its time is wall clock (the clock was set when it was recorded).
const FLAG_RECORD_WALL_CLOCK: u8 = 2;
/// In the dump's flags: the clock was set by the time of the dump.
const FLAG_WALL_CLOCK: u8 = 1;

/// A ring of `BYTES` bytes of records.
pub struct Recorder<const BYTES: usize> {
    ring: [u8; BYTES],
    /// Where the oldest record starts.
    head: usize,
    /// Bytes in use.
    used: usize,
    dropped: u32,
    wall_clock: bool,
    /// The ring is being saved: new records are dropped so the saved bytes stay whole.
    held: bool,
}

impl<const BYTES: usize> Default for Recorder<BYTES> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const BYTES: usize> Recorder<BYTES> {
    /// An empty recorder (`const`: it can live in a `static`).
    pub const fn new() -> Self {
        Recorder {
            ring: [0; BYTES],
            head: 0,
            used: 0,
            dropped: 0,
            wall_clock: false,
            held: false,
        }
    }

    /// From now on the times given are wall clock (ms since 1970), not time since boot. Each
    /// record says which its time is, so records before keep their uptime.
    pub fn set_wall_clock(&mut self, wall: bool) {
        self.wall_clock = wall;
    }

    /// Bytes in use.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Records dropped to make room, or while the ring was held.
    pub fn dropped(&self) -> u32 {
        self.dropped
    }

    /// Hold the ring still (`true`) while it is saved piece by piece with
    /// [`Recorder::dump_read`], then let it go on (`false`). Records that come while it is held
    /// are dropped (and counted).
    pub fn hold(&mut self, held: bool) {
        self.held = held;
    }

    /// Bytes of the dump ([`Recorder::dump`]): its header and the records.
    pub fn dump_len(&self) -> usize {
        DUMP_HEADER + self.used
    }

    /// The dump's bytes from `offset` into `buf` (what is past the end is left as it is): the
    /// dump piece by piece, for a save to flash between which the ring is held.
    pub fn dump_read(&self, offset: usize, buf: &mut [u8]) {
        let mut at = 0usize;
        self.dump(|piece| {
            let end = at + piece.len();
            let from = offset.max(at);
            let to = end.min(offset.saturating_add(buf.len()));
            if from < to {
                if let (Some(src), Some(dst)) = (
                    piece.get(from - at..to - at),
                    buf.get_mut(from - offset..to - offset),
                ) {
                    dst.copy_from_slice(src);
                }
            }
            at = end;
        });
    }

    fn byte(&self, at: usize) -> u8 {
        self.ring.get(at % BYTES.max(1)).copied().unwrap_or(0)
    }

    fn put(&mut self, at: usize, b: u8) {
        if let Some(slot) = self.ring.get_mut(at % BYTES.max(1)) {
            *slot = b;
        }
    }

    /// Drop the oldest record.
    fn drop_oldest(&mut self) {
        let len = usize::from(u16::from_le_bytes([
            self.byte(self.head + 2),
            self.byte(self.head + 3),
        ]));
        let size = (RECORD_HEADER + len).min(self.used);
        self.head = (self.head + size) % BYTES.max(1);
        self.used -= size;
        self.dropped = self.dropped.saturating_add(1);
    }

    /// Walk the records oldest first: `(start in the ring, whole size)`.
    fn for_each_record(&self, mut f: impl FnMut(usize, usize)) {
        let mut at = self.head;
        let mut left = self.used;
        while left >= RECORD_HEADER {
            let len = usize::from(u16::from_le_bytes([self.byte(at + 2), self.byte(at + 3)]));
            let size = (RECORD_HEADER + len).min(left);
            f(at, size);
            at = (at + size) % BYTES.max(1);
            left -= size;
        }
    }

    /// The dump: header and records, oldest first, in pieces to `out`.
    pub fn dump(&self, mut out: impl FnMut(&[u8])) {
        let flags = if self.wall_clock { FLAG_WALL_CLOCK } else { 0 };
        let used = u32::try_from(self.used).unwrap_or(u32::MAX).to_le_bytes();
        let dropped = self.dropped.to_le_bytes();
        let mut header = [0u8; DUMP_HEADER];
        for (slot, b) in header.iter_mut().zip(
            DUMP_MAGIC
                .iter()
                .chain(&[DUMP_VERSION, flags])
                .chain(&dropped)
                .chain(&used),
        ) {
            *slot = *b;
        }
        out(&header);
        // The ring in at most two slices: from head to the end, then from the start.
        let end = self.head + self.used;
        if end <= BYTES {
            out(self.ring.get(self.head..end).unwrap_or(&[]));
        } else {
            out(self.ring.get(self.head..).unwrap_or(&[]));
            out(self.ring.get(..end - BYTES).unwrap_or(&[]));
        }
    }

    /// The dump as lines of hex (32 bytes a line, without [`LINE_PREFIX`]: the caller prints
    /// `LINE_PREFIX` and the line, over defmt or a serial port).
    pub fn dump_hex(&self, mut line: impl FnMut(&str)) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = [0u8; 64];
        let mut n = 0;
        let flush = |text: &[u8; 64], n: &mut usize, line: &mut dyn FnMut(&str)| {
            if let Ok(s) = core::str::from_utf8(text.get(..*n).unwrap_or(&[])) {
                if !s.is_empty() {
                    line(s);
                }
            }
            *n = 0;
        };
        self.dump(|bytes| {
            for b in bytes {
                for nibble in [b >> 4, b & 0xF] {
                    if let Some(slot) = text.get_mut(n) {
                        *slot = HEX.get(usize::from(nibble)).copied().unwrap_or(b'0');
                        n += 1;
                    }
                }
                if n == text.len() {
                    flush(&text, &mut n, &mut line);
                }
            }
        });
        flush(&text, &mut n, &mut line);
    }

    /// The records as `(kind, payload pieces, time)`, oldest first (tests, a screen).
    pub fn for_each(&self, mut f: impl FnMut(Kind, u64, &mut dyn Iterator<Item = u8>)) {
        self.for_each_record(|at, size| {
            let Some(kind) = Kind::from_u8(self.byte(at)) else {
                return;
            };
            let mut t = [0u8; 8];
            for (i, slot) in t.iter_mut().enumerate() {
                *slot = self.byte(at + 4 + i);
            }
            let mut payload = (RECORD_HEADER..size).map(|i| self.byte(at + i));
            f(kind, u64::from_le_bytes(t), &mut payload);
        });
    }
}

impl<const BYTES: usize> FrameSink for Recorder<BYTES> {
    fn record(&mut self, kind: Kind, bytes: &[u8], at_ms: u64) {
        if self.held {
            self.dropped = self.dropped.saturating_add(1);
            return;
        }
        let room = BYTES.saturating_sub(RECORD_HEADER).min(MAX_PAYLOAD);
        let (payload, mut flags) = match bytes.get(..room) {
            Some(cut) if cut.len() < bytes.len() => (cut, FLAG_TRUNCATED),
            Some(all) => (all, 0),
            None => (bytes, 0),
        };
        if self.wall_clock {
            flags |= FLAG_RECORD_WALL_CLOCK;
        }
        let need = RECORD_HEADER + payload.len();
        if need > BYTES {
            return;
        }
        while BYTES - self.used < need {
            self.drop_oldest();
        }
        let len = u16::try_from(payload.len())
            .unwrap_or(u16::MAX)
            .to_le_bytes();
        let start = self.head + self.used;
        let header = [kind as u8, flags, len[0], len[1]];
        for (i, b) in header
            .iter()
            .chain(&at_ms.to_le_bytes())
            .chain(payload)
            .enumerate()
        {
            self.put(start + i, *b);
        }
        self.used += need;
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn records<const N: usize>(r: &Recorder<N>) -> Vec<(Kind, u64, Vec<u8>)> {
        let mut v = Vec::new();
        r.for_each(|k, t, p| v.push((k, t, p.collect())));
        v
    }

    /// Read piece by piece, across the ring's wrap, the dump is the dump; a held ring takes
    /// nothing in.
    #[test]
    fn the_dump_reads_piece_by_piece_and_a_held_ring_stays_still() {
        let mut r = Recorder::<100>::new();
        for i in 0..9u8 {
            r.record(Kind::Received, &[i; 13], u64::from(i) * 1000);
        }
        let mut whole = Vec::new();
        r.dump(|p| whole.extend_from_slice(p));
        assert_eq!(r.dump_len(), whole.len());
        for piece in [1, 7, 32, 256] {
            let mut read = std::vec![0u8; whole.len()];
            for (n, chunk) in read.chunks_mut(piece).enumerate() {
                r.dump_read(n * piece, chunk);
            }
            assert_eq!(read, whole, "pieces of {piece}");
        }
        r.hold(true);
        r.record(Kind::Sent, &[0xEE; 5], 99_000);
        let mut held = Vec::new();
        r.dump(|p| held.extend_from_slice(p));
        assert_eq!(held[14..], whole[14..]);
        assert_eq!(r.dropped(), 6);
        r.hold(false);
        r.record(Kind::Sent, &[0xEE; 5], 99_000);
        assert_eq!(records(&r).last().map(|g| g.1), Some(99_000));
    }

    #[test]
    fn keeps_the_newest_records_when_full() {
        let mut r = Recorder::<100>::new();
        for i in 0..20u8 {
            r.record(Kind::Sent, &[i; 10], u64::from(i));
        }
        // 22 bytes a record: four fit in 100.
        let got = records(&r);
        assert_eq!(got.len(), 4);
        assert_eq!(got.first().map(|g| g.1), Some(16));
        assert_eq!(got.last().map(|g| g.2.clone()), Some([19u8; 10].to_vec()));
        assert_eq!(r.dropped(), 16);
    }

    #[test]
    fn dump_is_header_then_records_oldest_first_across_the_wrap() {
        let mut r = Recorder::<50>::new();
        r.record(Kind::Connected, &[10, 0, 0, 1, 0x2e, 0xfc], 1);
        r.record(Kind::Sent, b"abcdefghij", 2);
        r.record(Kind::Received, b"0123456789", 3); // wraps, drops the first
        let mut d = Vec::new();
        r.dump(|b| d.extend_from_slice(b));
        assert_eq!(&d[..4], b"CCXR");
        assert_eq!(d[10..14], 44u32.to_le_bytes());
        assert_eq!(d[6..10], 1u32.to_le_bytes());
        let body = &d[DUMP_HEADER..];
        assert_eq!(body[0], Kind::Sent as u8);
        assert_eq!(&body[12..22], b"abcdefghij");
        assert_eq!(body[22], Kind::Received as u8);
        assert_eq!(&body[34..44], b"0123456789");
    }

    #[test]
    fn a_frame_longer_than_the_ring_is_cut_and_flagged() {
        let mut r = Recorder::<40>::new();
        r.record(Kind::Received, &[7; 100], 5);
        let got = records(&r);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].2.len(), 28);
        let mut d = Vec::new();
        r.dump(|b| d.extend_from_slice(b));
        assert_eq!(d[DUMP_HEADER + 1], 1, "truncated flag");
    }

    #[test]
    fn hex_lines_are_the_dump() {
        let mut r = Recorder::<256>::new();
        r.record(Kind::Sent, &[0xAB; 50], 9);
        let mut d = Vec::new();
        r.dump(|b| d.extend_from_slice(b));
        let mut text = std::string::String::new();
        r.dump_hex(|l| {
            assert!(l.len() <= 64);
            text.push_str(l)
        });
        let back: Vec<u8> = (0..text.len() / 2)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        assert_eq!(back, d);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod golden {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    /// The dump the host's `ccx recorder` tests read (std-adapter/tests/data): both sides
    /// agree on the format through this file. `UPDATE_GOLDEN=1` writes it again.
    #[test]
    fn the_golden_dump_is_what_the_recorder_writes() {
        let mut r = Recorder::<100>::new();
        r.record(Kind::Note, b"dropped first", 0);
        r.record(Kind::Connected, &[10, 0, 0, 1, 0x2e, 0xfc], 900);
        r.record(Kind::Sent, &[0, 0, 0, 0, 0, 0, 0, 5], 1_000);
        r.record(Kind::Received, &[0, 0, 0, 0, 0, 0, 0, 6], 1_010);
        r.record(Kind::Closed, b"lost", 2_000);
        r.set_wall_clock(true);
        r.record(Kind::Note, b"end", 2_001);
        let mut d = Vec::new();
        r.dump(|b| d.extend_from_slice(b));
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../std-adapter/tests/data/recorder-golden.dump"
        );
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(path, &d).unwrap();
        }
        assert_eq!(
            std::fs::read(path).unwrap(),
            d,
            "the dump format changed: UPDATE_GOLDEN=1"
        );
    }
}
