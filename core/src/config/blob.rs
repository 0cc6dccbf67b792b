//! The stored form of a [`PhoneConfig`] (what firmware keeps in flash, `ccx config encode`
//! writes): a header that says what the bytes are, the postcard payload, and a CRC-32, so that
//! an old, foreign or damaged blob is reported instead of half-read.
//!
//! ```text
//!  offset  size  field
//!  0       4     magic "CCXP"
//!  4       2     format version, little-endian (BLOB_FORMAT_VERSION)
//!  6       2     payload length, little-endian
//!  8       n     payload: the PhoneConfig in postcard
//!  8+n     4     CRC-32 (IEEE 802.3) of bytes 0..8+n, little-endian
//! ```
//!
//! Bytes after the CRC are ignored (a flash sector's erased tail); the length field decides
//! where the blob ends. The CRC is the small table-less CRC-32 below (no extra crate): it is
//! run once at boot over a few hundred bytes, so speed does not matter.

use super::{HeartbeatMode, PhoneConfig};

/// The first four bytes of every configuration blob.
pub const BLOB_MAGIC: [u8; 4] = *b"CCXP";
/// The blob format this code writes and reads. A change to [`PhoneConfig`]'s fields is a new
/// format version: postcard has no field names, so an old payload would be misread.
pub const BLOB_FORMAT_VERSION: u16 = 2;
/// Bytes before the payload.
pub const BLOB_HEADER_LEN: usize = 8;
/// Bytes after the payload.
pub const BLOB_CRC_LEN: usize = 4;
/// The largest blob of a [`PhoneConfig`] (every text full, every number at its largest): a
/// buffer this long always holds one. A test checks it.
pub const BLOB_MAX_LEN: usize = 720;

/// Why a blob could not be written or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BlobError {
    /// The output buffer is too small ([`BLOB_MAX_LEN`] always suffices).
    BufferTooSmall {
        /// Bytes of the buffer.
        capacity: usize,
    },
    /// Fewer bytes than the header or its payload length says.
    Truncated {
        /// Bytes given.
        length: usize,
        /// Bytes needed.
        needed: usize,
    },
    /// The bytes do not start with [`BLOB_MAGIC`]: not a configuration blob, or one written
    /// before the blob had a header (re-encode it from its file).
    WrongMagic,
    /// Written by a newer version of this code.
    NewerFormat {
        /// The blob's format version.
        found: u16,
    },
    /// Written in a format this code no longer reads.
    OlderFormat {
        /// The blob's format version.
        found: u16,
    },
    /// The CRC does not match: the blob is damaged.
    CrcMismatch {
        /// The CRC stored in the blob.
        stored: u32,
        /// The CRC of its bytes.
        computed: u32,
    },
    /// The CRC matches but the payload is no configuration of this format (it was written by a
    /// program with a different layout under the same version), or it has bytes left over.
    BadPayload,
}

impl core::fmt::Display for BlobError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Self::BufferTooSmall { capacity } => write!(
                f,
                "a configuration blob may need {BLOB_MAX_LEN} bytes; the buffer has {capacity}"
            ),
            Self::Truncated { length, needed } => write!(
                f,
                "the configuration blob is cut short: {length} bytes of {needed}"
            ),
            Self::WrongMagic => f.write_str(
                "not a configuration blob (no CCXP magic; a blob written before format 1 must \
                 be encoded again from its file)",
            ),
            Self::NewerFormat { found } => write!(
                f,
                "the configuration blob has format {found}; this program reads format \
                 {BLOB_FORMAT_VERSION}: update it"
            ),
            Self::OlderFormat { found } => write!(
                f,
                "the configuration blob has the old format {found}; this program reads format \
                 {BLOB_FORMAT_VERSION}: encode it again from its file"
            ),
            Self::CrcMismatch { stored, computed } => write!(
                f,
                "the configuration blob is damaged: CRC {computed:#010x}, stored {stored:#010x}"
            ),
            Self::BadPayload => f.write_str(
                "the configuration blob's checksum is right but its content is no \
                 configuration of this format",
            ),
        }
    }
}

impl core::error::Error for BlobError {}

/// CRC-32 (IEEE 802.3, reflected, as zlib and Ethernet): nibble at a time with a 16-entry
/// table, small in flash.
pub fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 16] = [
        0x0000_0000,
        0x1DB7_1064,
        0x3B6E_20C8,
        0x26D9_30AC,
        0x76DC_4190,
        0x6B6B_51F4,
        0x4DB2_6158,
        0x5005_713C,
        0xEDB8_8320,
        0xF00F_9344,
        0xD6D6_A3E8,
        0xCB61_B38C,
        0x9B64_C2B0,
        0x86D3_D2D4,
        0xA00A_E278,
        0xBDBD_F21C,
    ];
    let step = |crc: u32| {
        let index = usize::try_from(crc & 0x0F).unwrap_or(0);
        (crc >> 4) ^ TABLE.get(index).copied().unwrap_or(0)
    };
    !bytes
        .iter()
        .fold(!0u32, |crc, &b| step(step(crc ^ u32::from(b))))
}

fn le_u16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at + 2)?;
    Some(u16::from_le_bytes([*b.first()?, *b.get(1)?]))
}

fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_le_bytes([
        *b.first()?,
        *b.get(1)?,
        *b.get(2)?,
        *b.get(3)?,
    ]))
}

impl PhoneConfig {
    /// Write the blob of this configuration into `buf`; returns the bytes written.
    pub fn encode_blob<'b>(&self, buf: &'b mut [u8]) -> Result<&'b [u8], BlobError> {
        let too_small = BlobError::BufferTooSmall {
            capacity: buf.len(),
        };
        let payload_len = {
            let room = buf
                .get_mut(BLOB_HEADER_LEN..buf.len().saturating_sub(BLOB_CRC_LEN))
                .ok_or(too_small)?;
            let mut out = Out { buf: room, len: 0 };
            out.config(self).ok_or(too_small)?;
            out.len
        };
        let len_field = u16::try_from(payload_len).map_err(|_| too_small)?;
        let version = BLOB_FORMAT_VERSION.to_le_bytes();
        let length = len_field.to_le_bytes();
        let header = buf.get_mut(..BLOB_HEADER_LEN).ok_or(too_small)?;
        for (slot, byte) in header
            .iter_mut()
            .zip(BLOB_MAGIC.iter().chain(&version).chain(&length))
        {
            *slot = *byte;
        }
        let body_end = BLOB_HEADER_LEN + payload_len;
        let crc = crc32(buf.get(..body_end).ok_or(too_small)?);
        let crc_bytes = crc.to_le_bytes();
        let slot = buf
            .get_mut(body_end..body_end + BLOB_CRC_LEN)
            .ok_or(too_small)?;
        // Byte by byte: copy_from_slice keeps a length-mismatch panic the optimiser cannot drop.
        for (to, from) in slot.iter_mut().zip(crc_bytes) {
            *to = from;
        }
        buf.get(..body_end + BLOB_CRC_LEN).ok_or(too_small)
    }

    /// Read a blob: header, CRC and payload all checked before anything is returned.
    pub fn decode_blob(bytes: &[u8]) -> Result<PhoneConfig, BlobError> {
        let truncated = |needed| BlobError::Truncated {
            length: bytes.len(),
            needed,
        };
        // The magic first: a foreign file is "not a blob", not "too short".
        let magic = bytes.get(..BLOB_MAGIC.len());
        if magic.is_some_and(|m| m != BLOB_MAGIC)
            || (magic.is_none() && !BLOB_MAGIC.starts_with(bytes))
        {
            return Err(BlobError::WrongMagic);
        }
        let version = le_u16(bytes, 4).ok_or(truncated(BLOB_HEADER_LEN))?;
        if version > BLOB_FORMAT_VERSION {
            return Err(BlobError::NewerFormat { found: version });
        }
        if version < BLOB_FORMAT_VERSION {
            return Err(BlobError::OlderFormat { found: version });
        }
        let payload_len = usize::from(le_u16(bytes, 6).ok_or(truncated(BLOB_HEADER_LEN))?);
        let body_end = BLOB_HEADER_LEN + payload_len;
        let needed = body_end + BLOB_CRC_LEN;
        let stored = le_u32(bytes, body_end).ok_or(truncated(needed))?;
        let body = bytes.get(..body_end).ok_or(truncated(needed))?;
        let computed = crc32(body);
        if computed != stored {
            return Err(BlobError::CrcMismatch { stored, computed });
        }
        let payload = body.get(BLOB_HEADER_LEN..).ok_or(BlobError::BadPayload)?;
        match postcard::take_from_bytes::<PhoneConfig>(payload) {
            Ok((config, [])) => Ok(config),
            _ => Err(BlobError::BadPayload),
        }
    }
}

/// Writes postcard's format by hand: postcard's own serializer keeps bounds checks the
/// optimiser cannot remove (the no-panic link check finds them), its deserializer does not.
/// A test checks the bytes against postcard's for many configurations.
struct Out<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl Out<'_> {
    fn byte(&mut self, b: u8) -> Option<()> {
        *self.buf.get_mut(self.len)? = b;
        self.len += 1;
        Some(())
    }

    /// Unsigned LEB128, as postcard writes u16, u32 and lengths.
    fn varint(&mut self, mut value: u32) -> Option<()> {
        loop {
            let low = u8::try_from(value & 0x7F).unwrap_or(0);
            value >>= 7;
            if value == 0 {
                return self.byte(low);
            }
            self.byte(low | 0x80)?;
        }
    }

    fn text(&mut self, text: &str) -> Option<()> {
        self.varint(u32::try_from(text.len()).ok()?)?;
        text.bytes().try_for_each(|b| self.byte(b))
    }

    fn config(&mut self, c: &PhoneConfig) -> Option<()> {
        // No `..`: a new field fails to compile here until it is written.
        let PhoneConfig {
            servers,
            agent_id,
            agent_extension,
            agent_instrument,
            agent_password,
            client_id,
            client_password,
            protocol_version,
            v18_length_width,
            heartbeat_secs,
            heartbeat_mode,
            idle_timeout_secs,
            missed_heartbeats,
            request_timeout_secs,
            reconnect_secs,
            connect_timeout_secs,
            services_requested,
            call_msg_mask,
            agent_state_mask,
            outbound,
            active_terminal,
            reconnect_seed,
        } = c;
        self.varint(u32::try_from(servers.len()).ok()?)?;
        for server in servers {
            self.text(&server.host)?;
            self.varint(u32::from(server.port))?;
        }
        for text in [
            agent_id.as_str(),
            agent_extension,
            agent_instrument,
            agent_password,
            client_id,
            client_password,
        ] {
            self.text(text)?;
        }
        self.byte(*protocol_version)?;
        self.byte(*v18_length_width)?;
        self.varint(u32::from(*heartbeat_secs))?;
        // An enum is its variant's index.
        self.varint(match heartbeat_mode {
            HeartbeatMode::Always => 0,
            HeartbeatMode::WhenIdle => 1,
        })?;
        self.varint(u32::from(*idle_timeout_secs))?;
        self.byte(*missed_heartbeats)?;
        for secs in [request_timeout_secs, reconnect_secs, connect_timeout_secs] {
            self.varint(u32::from(*secs))?;
        }
        for mask in [services_requested, call_msg_mask, agent_state_mask] {
            self.varint(*mask)?;
        }
        self.byte(u8::from(*outbound))?;
        self.text(active_terminal)?;
        self.varint(*reconnect_seed)
    }
}

#[cfg(test)]
mod tests {
    use super::crc32;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }
}
