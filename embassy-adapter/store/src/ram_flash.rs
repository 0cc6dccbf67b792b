//! A NOR flash in RAM: the qemu image's configuration region (loaded by qemu's `-device loader`
//! before the firmware starts, dumped by the host after) and the host tool that builds it.
//! It behaves as NOR flash does: erase sets a page to 0xFF, a write can only clear bits.

use embedded_storage_async::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// Erase page of the RAM flash (as a small NOR part's sector).
pub const PAGE: usize = 4096;
/// Write granularity.
pub const WORD: usize = 4;

/// Why an access failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RamFlashError {
    /// Outside the region.
    OutOfBounds,
    /// Not aligned to the word or page.
    NotAligned,
    /// A write would set bits an erase has not set (the page was not erased first).
    NotErased,
}

impl NorFlashError for RamFlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            Self::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            Self::NotAligned => NorFlashErrorKind::NotAligned,
            Self::NotErased => NorFlashErrorKind::Other,
        }
    }
}

/// NOR flash over a byte region.
pub struct RamFlash<'a> {
    bytes: &'a mut [u8],
    erases: u32,
}

impl<'a> RamFlash<'a> {
    /// Flash over `bytes` (a whole number of pages).
    pub fn new(bytes: &'a mut [u8]) -> Self {
        RamFlash { bytes, erases: 0 }
    }

    /// The region's bytes (for a dump).
    pub fn bytes(&self) -> &[u8] {
        self.bytes
    }

    /// Pages erased since [`RamFlash::new`].
    pub fn erases(&self) -> u32 {
        self.erases
    }

    fn range(&self, offset: u32, len: usize) -> Result<core::ops::Range<usize>, RamFlashError> {
        let start = usize::try_from(offset).map_err(|_| RamFlashError::OutOfBounds)?;
        let end = start.checked_add(len).ok_or(RamFlashError::OutOfBounds)?;
        if end > self.bytes.len() {
            return Err(RamFlashError::OutOfBounds);
        }
        Ok(start..end)
    }
}

impl ErrorType for RamFlash<'_> {
    type Error = RamFlashError;
}

impl ReadNorFlash for RamFlash<'_> {
    const READ_SIZE: usize = 1;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let range = self.range(offset, bytes.len())?;
        let from = self.bytes.get(range).ok_or(RamFlashError::OutOfBounds)?;
        bytes.copy_from_slice(from);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.bytes.len()
    }
}

impl NorFlash for RamFlash<'_> {
    const WRITE_SIZE: usize = WORD;
    const ERASE_SIZE: usize = PAGE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        let len =
            usize::try_from(to.saturating_sub(from)).map_err(|_| RamFlashError::OutOfBounds)?;
        let range = self.range(from, len)?;
        if !range.start.is_multiple_of(PAGE) || !range.end.is_multiple_of(PAGE) {
            return Err(RamFlashError::NotAligned);
        }
        self.erases = self
            .erases
            .saturating_add(u32::try_from(len / PAGE).unwrap_or(u32::MAX));
        self.bytes
            .get_mut(range)
            .ok_or(RamFlashError::OutOfBounds)?
            .fill(0xFF);
        Ok(())
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let range = self.range(offset, bytes.len())?;
        if !range.start.is_multiple_of(WORD) || !bytes.len().is_multiple_of(WORD) {
            return Err(RamFlashError::NotAligned);
        }
        let to = self
            .bytes
            .get_mut(range)
            .ok_or(RamFlashError::OutOfBounds)?;
        for (old, new) in to.iter_mut().zip(bytes) {
            if *old & *new != *new {
                return Err(RamFlashError::NotErased);
            }
            *old &= *new;
        }
        Ok(())
    }
}

/// Why bytes are no store region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NotARegion {
    /// The length given, in bytes.
    pub len: usize,
}

impl core::fmt::Display for NotARegion {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} bytes is not a store region (a whole number of {PAGE}-byte pages, at least 2)",
            self.len
        )
    }
}

/// Read a whole store region as the phone does at boot ([`crate::ConfigStore::contents`]), from
/// its bytes: a region dumped from a phone, the file `store-image` writes, what qemu loads. The
/// one reader of the host's tools (`store-image --read`, `ccx config decode`). A power-cut item
/// is repaired in `bytes`, as the phone would; the caller reads a copy of the file.
pub fn read_region(bytes: &mut [u8]) -> Result<crate::Contents<RamFlashError>, NotARegion> {
    let len = bytes.len();
    let not = NotARegion { len };
    if len < 2 * PAGE || !len.is_multiple_of(PAGE) {
        return Err(not);
    }
    let end = u32::try_from(len).map_err(|_| not)?;
    let mut store = crate::ConfigStore::new(RamFlash::new(bytes), 0..end).map_err(|_| not)?;
    Ok(embassy_futures::block_on(store.contents()))
}
