//! The time of day by SNTP (RFC 4330): one client request over UDP, the server's transmit
//! timestamp taken as now (a LAN's delay is far below the recorder's millisecond).

use core::net::Ipv4Addr;

use embassy_net::udp::{PacketMetadata, UdpSocket};
use embassy_net::Stack;
use embassy_time::{with_timeout, Duration};

/// Seconds from 1900 (NTP's era) to 1970.
const NTP_TO_UNIX: u64 = 2_208_988_800;

/// Milliseconds since 1970 from the SNTP server at `server`.
pub async fn query(stack: Stack<'_>, server: Ipv4Addr) -> Result<u64, &'static str> {
    let mut rx_meta = [PacketMetadata::EMPTY; 2];
    let mut tx_meta = [PacketMetadata::EMPTY; 2];
    let mut rx = [0u8; 128];
    let mut tx = [0u8; 64];
    let mut socket = UdpSocket::new(stack, &mut rx_meta, &mut rx, &mut tx_meta, &mut tx);
    socket.bind(12_300).map_err(|_| "cannot bind a UDP port")?;
    let mut request = [0u8; 48];
    // LI 0, version 4, mode 3 (client).
    request[0] = 0x23;
    for _ in 0..3 {
        socket
            .send_to(&request, (server, 123))
            .await
            .map_err(|_| "cannot send")?;
        let mut answer = [0u8; 48];
        match with_timeout(Duration::from_secs(2), socket.recv_from(&mut answer)).await {
            Ok(Ok((n, _))) if n >= 48 => {
                // Mode 4 (server) and a transmit timestamp.
                if answer[0] & 0x07 != 4 {
                    return Err("the answer is not from a server");
                }
                let secs = u64::from(u32::from_be_bytes([
                    answer[40], answer[41], answer[42], answer[43],
                ]));
                let frac = u64::from(u32::from_be_bytes([
                    answer[44], answer[45], answer[46], answer[47],
                ]));
                let unix = secs.checked_sub(NTP_TO_UNIX).ok_or("a time before 1970")?;
                return Ok(unix * 1000 + ((frac * 1000) >> 32));
            }
            Ok(_) => return Err("a short answer"),
            Err(_) => continue,
        }
    }
    Err("no answer in 3 tries")
}
