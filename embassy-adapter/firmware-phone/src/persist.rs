//! The flight recorder's ring saved to flash when the session is lost, so that it outlives a
//! power cycle: a dump region of its own (`ccx_cti_store::dump_region`), apart from the
//! configuration region, which `ccx recorder` reads from a flash image. Shared by the qemu image
//! and the Nucleo-F429ZI board; each board file says which flash (`board::DumpFlash`: qemu's
//! SSRAM after the configuration region, the F429's sector 16). At most one save an
//! hour (each save erases the region's pages: a flapping link must not wear the flash out);
//! the first loss after boot is always saved.

use ccx_cti_store::dump_region;
use defmt::{info, warn};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::mutex::Mutex;
use embassy_time::{Duration, Instant};
use embedded_storage_async::nor_flash::{ErrorType, NorFlash, ReadNorFlash};

use crate::board::DumpFlash;
use crate::product;

/// Bytes of the region: the largest dump the ring gives, in whole erase pages of the board's
/// flash (the board file gives the region: `board::DumpFlash` from its offset 0).
pub const LEN: usize = dump_region::region_len(
    product::RECORDER_BYTES + ccx_cti_recorder::DUMP_HEADER,
    <DumpFlash as NorFlash>::ERASE_SIZE,
);
/// The least time between two saves.
const EVERY: Duration = Duration::from_secs(3600);
/// What starts each line of the region's hex dump (what a probe reading the flash gets).
pub const LINE_PREFIX: &str = "ccx-flash ";

struct Region {
    flash: DumpFlash,
    saved_at: Option<Instant>,
}

static REGION: Mutex<CriticalSectionRawMutex, Option<Region>> = Mutex::new(None);

/// Take the dump region's flash.
pub async fn init(flash: DumpFlash) {
    *REGION.lock().await = Some(Region {
        flash,
        saved_at: None,
    });
}

/// The session was lost: save the ring, unless a save was made within the hour.
pub async fn session_lost() {
    let mut region = REGION.lock().await;
    let Some(region) = region.as_mut() else {
        return;
    };
    if region.saved_at.is_some_and(|at| at.elapsed() < EVERY) {
        info!("recorder: saved less than an hour ago; not saved again");
        return;
    }
    region.saved_at = Some(Instant::now());
    match save(&mut region.flash).await {
        Ok(len) => info!("recorder: {=usize} bytes saved to flash", len),
        Err(e) => warn!("recorder: not saved to flash: {:?}", e),
    }
}

async fn save(
    flash: &mut DumpFlash,
) -> Result<usize, dump_region::SaveError<<DumpFlash as ErrorType>::Error>> {
    // Held still while it is copied: records that come meanwhile are dropped and counted.
    let len = product::with_recorder(|r| {
        r.hold(true);
        r.dump_len()
    });
    let result = dump_region::save(flash, 0..LEN as u32, len, |at, buf| {
        product::with_recorder(|r| r.dump_read(at, buf))
    })
    .await;
    product::with_recorder(|r| r.hold(false));
    result.map(|()| len)
}

/// Print the region as far as it holds a dump, as hex lines read through the flash (what a
/// probe reading the flash would get; `.ci/firmware.sh` rebuilds the region from them for
/// `ccx recorder`).
pub async fn dump_region() {
    let mut region = REGION.lock().await;
    let Some(region) = region.as_mut() else {
        return;
    };
    let mut header = [0u8; dump_region::HEADER];
    if let Err(e) = ReadNorFlash::read(&mut region.flash, 0, &mut header).await {
        warn!("recorder: the dump region does not read: {:?}", e);
        return;
    }
    let used = match dump_region::dump_len(&header) {
        Ok(len) => (dump_region::HEADER + len).min(LEN),
        Err(e) => {
            warn!(
                "recorder: the flash holds no saved dump: {}",
                defmt::Display2Format(&e)
            );
            return;
        }
    };
    let mut chunk = [0u8; 32];
    let mut at = 0;
    while at < used {
        let n = (used - at).min(chunk.len());
        let Some(piece) = chunk.get_mut(..n) else {
            return;
        };
        // used <= LEN, a u32 offset on every board.
        if let Err(e) = ReadNorFlash::read(&mut region.flash, at as u32, piece).await {
            warn!("recorder: the dump region does not read: {:?}", e);
            return;
        }
        let mut line = heapless::String::<64>::new();
        for b in piece.iter() {
            for digit in [b >> 4, b & 0xF] {
                let _ = line.push(char::from_digit(u32::from(digit), 16).unwrap_or('0'));
            }
        }
        info!("{=str}{=str}", LINE_PREFIX, line.as_str());
        at += n;
    }
    info!("recorder: flash region dump done ({=usize} bytes)", used);
}
