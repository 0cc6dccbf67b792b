//! A flash region that keeps one dump: the flight recorder's ring, saved when the session is
//! lost, so that it outlives a power cycle and a support engineer can read it from the flash.
//! Apart from the configuration store (a dump is larger than a map item may be, and losing it
//! must never touch the configuration).
//!
//! Layout (little-endian): a 16-byte header, then the dump.
//!
//! ```text
//!  "CCXD"  version u8 (1)  0xFF 0xFF 0xFF  length u32  CRC-32 of the dump u32  dump bytes
//! ```
//!
//! A save erases the region, writes the dump, and writes the header last: a power cut during a
//! save leaves no header (or one whose CRC fails), never a dump that reads as whole. Each save
//! erases every page of the region, so the caller limits how often it saves.

use core::ops::Range;

use embedded_storage_async::nor_flash::NorFlash;

/// The region's magic.
pub const MAGIC: [u8; 4] = *b"CCXD";
/// The format version.
pub const VERSION: u8 = 1;
/// Bytes before the dump.
pub const HEADER: usize = 16;
/// Bytes written at a time (a multiple of every common NOR write size).
const CHUNK: usize = 256;

/// Why a dump was not saved. The region holds no whole dump afterwards unless the error came
/// before the erase ([`SaveError::TooLarge`], [`SaveError::NotAligned`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SaveError<E> {
    /// The dump does not fit the region.
    TooLarge {
        /// Bytes of the dump.
        len: usize,
        /// Bytes the region holds for a dump.
        room: usize,
    },
    /// The flash's write size does not divide the header and the chunks.
    NotAligned,
    /// The flash failed.
    Flash(E),
}

/// Bytes a dump of `len` bytes takes, rounded up to `page` (to size the region).
pub const fn region_len(len: usize, page: usize) -> usize {
    (HEADER + len).div_ceil(page) * page
}

/// Save `len` bytes of a dump into `range` of `flash`; `fill(offset, buf)` gives the dump's
/// bytes at `offset` (the caller keeps them still while it saves).
pub async fn save<F: NorFlash>(
    flash: &mut F,
    range: Range<u32>,
    len: usize,
    mut fill: impl FnMut(usize, &mut [u8]),
) -> Result<(), SaveError<F::Error>> {
    let room = usize::try_from(range.end.saturating_sub(range.start))
        .unwrap_or(0)
        .saturating_sub(HEADER);
    if len > room {
        return Err(SaveError::TooLarge { len, room });
    }
    if F::WRITE_SIZE == 0
        || !CHUNK.is_multiple_of(F::WRITE_SIZE)
        || !HEADER.is_multiple_of(F::WRITE_SIZE)
    {
        return Err(SaveError::NotAligned);
    }
    flash
        .erase(range.start, range.end)
        .await
        .map_err(SaveError::Flash)?;
    let mut crc = Crc32::new();
    let mut buf = [0xFFu8; CHUNK];
    let mut offset = 0;
    while offset < len {
        let n = (len - offset).min(CHUNK);
        let piece = buf.get_mut(..n).unwrap_or(&mut []);
        fill(offset, piece);
        crc.update(piece);
        // The last piece is padded with 0xFF (programs nothing) to the write size.
        let padded = n.div_ceil(F::WRITE_SIZE) * F::WRITE_SIZE;
        if let Some(pad) = buf.get_mut(n..padded) {
            pad.fill(0xFF);
        }
        let at = address(range.start, HEADER + offset)?;
        flash
            .write(at, buf.get(..padded).unwrap_or(&[]))
            .await
            .map_err(SaveError::Flash)?;
        offset += n;
    }
    let mut header = [0xFFu8; HEADER];
    let length = u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes();
    let sum = crc.finish().to_le_bytes();
    for (slot, b) in header.iter_mut().zip(
        MAGIC
            .iter()
            .chain(&[VERSION, 0xFF, 0xFF, 0xFF])
            .chain(&length)
            .chain(&sum),
    ) {
        *slot = *b;
    }
    flash
        .write(range.start, &header)
        .await
        .map_err(SaveError::Flash)
}

fn address<E>(start: u32, offset: usize) -> Result<u32, SaveError<E>> {
    u32::try_from(offset)
        .ok()
        .and_then(|o| start.checked_add(o))
        .ok_or(SaveError::TooLarge {
            len: offset,
            room: 0,
        })
}

/// Why a region holds no dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ReadError {
    /// No header: nothing saved yet, or a save was cut before its end.
    Empty,
    /// A format this code does not read.
    Version(u8),
    /// The header's length runs past the region.
    Cut {
        /// The length the header gives.
        len: usize,
        /// Bytes the region holds for a dump.
        room: usize,
    },
    /// The dump's bytes do not match the header's CRC (a save cut while writing the header).
    Crc {
        /// The CRC in the header.
        stored: u32,
        /// The CRC of the bytes.
        computed: u32,
    },
}

impl core::fmt::Display for ReadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Self::Empty => f.write_str(
                "no saved dump in this region (nothing saved yet, or the save was cut short)",
            ),
            Self::Version(v) => write!(f, "a dump region of version {v}; this reads {VERSION}"),
            Self::Cut { len, room } => write!(
                f,
                "the header gives a dump of {len} bytes; the region holds {room}"
            ),
            Self::Crc { stored, computed } => write!(
                f,
                "the saved dump is damaged: CRC {computed:#010x}, stored {stored:#010x}"
            ),
        }
    }
}

/// The dump's length the region's header gives (the first [`HEADER`] bytes at least), without
/// checking the dump itself: to read no more of a flash than the dump takes. [`read`] checks.
pub fn dump_len(header: &[u8]) -> Result<usize, ReadError> {
    match header.get(..MAGIC.len()) {
        Some(m) if m == MAGIC => {}
        _ => return Err(ReadError::Empty),
    }
    let version = header.get(4).copied().unwrap_or(0);
    if version != VERSION {
        return Err(ReadError::Version(version));
    }
    Ok(usize::try_from(word(header, 8)).unwrap_or(usize::MAX))
}

fn word(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .unwrap_or(u32::MAX)
}

/// The dump a region holds (a region read from the flash, whole).
pub fn read(region: &[u8]) -> Result<&[u8], ReadError> {
    let len = dump_len(region)?;
    let stored = word(region, 12);
    let room = region.len().saturating_sub(HEADER);
    let dump = HEADER
        .checked_add(len)
        .and_then(|end| region.get(HEADER..end))
        .ok_or(ReadError::Cut { len, room })?;
    let mut crc = Crc32::new();
    crc.update(dump);
    let computed = crc.finish();
    if computed != stored {
        return Err(ReadError::Crc { stored, computed });
    }
    Ok(dump)
}

/// CRC-32 (IEEE, the core's `config::crc32`) over pieces.
struct Crc32(u32);

impl Crc32 {
    fn new() -> Self {
        Crc32(0xFFFF_FFFF)
    }

    fn update(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u32::from(*b);
            for _ in 0..8 {
                self.0 = if self.0 & 1 == 1 {
                    (self.0 >> 1) ^ 0xEDB8_8320
                } else {
                    self.0 >> 1
                };
            }
        }
    }

    fn finish(&self) -> u32 {
        !self.0
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_crc_is_the_cores() {
        for bytes in [&b""[..], b"123456789", &[0xA5; 1000]] {
            let mut c = super::Crc32::new();
            let (a, b) = bytes.split_at(bytes.len() / 3);
            c.update(a);
            c.update(b);
            assert_eq!(c.finish(), ccx_cti::config::crc32(bytes));
        }
    }
}
