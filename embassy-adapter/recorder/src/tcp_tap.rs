//! Records a CTI session from the Ethernet frames a network driver sees: the TCP payload to and
//! from the server's port, once each (a retransmitted segment is not recorded twice), and the
//! connection's opening (SYN: addresses) and end (FIN or RST). It needs no hook in the phone's
//! driver, only in the Ethernet driver's send and receive path.

use crate::{FrameSink, Kind};

/// TCP state of the one CTI connection being recorded.
#[derive(Debug, Default)]
pub struct TcpTap {
    port: u16,
    /// Next sequence number expected, sent and received.
    next: [Option<u32>; 2],
    syn: Option<(u16, u32)>,
    closed: bool,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

impl TcpTap {
    /// Record connections to servers on `port` (the CTI port, 12028 by default).
    pub const fn new(port: u16) -> Self {
        TcpTap {
            port,
            next: [None, None],
            syn: None,
            closed: false,
        }
    }

    /// One Ethernet frame, `outgoing` when this station sent it.
    pub fn frame(&mut self, outgoing: bool, frame: &[u8], at_ms: u64, sink: &mut impl FrameSink) {
        let _ = self.try_frame(outgoing, frame, at_ms, sink);
    }

    fn try_frame(
        &mut self,
        outgoing: bool,
        frame: &[u8],
        at_ms: u64,
        sink: &mut impl FrameSink,
    ) -> Option<()> {
        if be16(frame, 12)? != 0x0800 {
            return None;
        }
        let ip = frame.get(14..)?;
        let ihl = usize::from(ip.first()? & 0x0F) * 4;
        if *ip.get(9)? != 6 {
            return None;
        }
        let total = usize::from(be16(ip, 2)?).min(ip.len());
        let tcp = ip.get(ihl..total)?;
        let (sport, dport) = (be16(tcp, 0)?, be16(tcp, 2)?);
        let way = match (outgoing, sport == self.port, dport == self.port) {
            (true, _, true) => 0,
            (false, true, _) => 1,
            _ => return None,
        };
        let seq = be32(tcp, 4)?;
        let flags = *tcp.get(13)?;
        let payload = tcp.get(usize::from(tcp.get(12)? >> 4) * 4..)?;
        if flags & SYN != 0 {
            if way == 0 && flags & ACK == 0 {
                if self.syn == Some((sport, seq)) {
                    return Some(()); // the SYN again
                }
                self.syn = Some((sport, seq));
                self.closed = false;
                self.next = [Some(seq.wrapping_add(1)), None];
                // Server address and port, then the phone's.
                let mut mark = [0u8; 12];
                for (slot, b) in mark.iter_mut().zip(
                    ip.get(16..20)?
                        .iter()
                        .chain(&dport.to_be_bytes())
                        .chain(ip.get(12..16)?)
                        .chain(&sport.to_be_bytes()),
                ) {
                    *slot = *b;
                }
                sink.record(Kind::Connected, &mark, at_ms);
            } else if way == 1 {
                if let Some(n) = self.next.get_mut(1) {
                    *n = Some(seq.wrapping_add(1));
                }
            }
            return Some(());
        }
        if !payload.is_empty() {
            let slot = self.next.get_mut(way)?;
            let new = match *slot {
                // Bytes before `next` were recorded already (a retransmission).
                Some(next) => {
                    let behind = next.wrapping_sub(seq);
                    if behind < 0x8000_0000 {
                        payload.get(usize::try_from(behind).ok()?..).unwrap_or(&[])
                    } else {
                        payload
                    }
                }
                None => payload,
            };
            if !new.is_empty() {
                let len = u32::try_from(payload.len()).ok()?;
                *slot = Some(seq.wrapping_add(len));
                let kind = if way == 0 { Kind::Sent } else { Kind::Received };
                sink.record(kind, new, at_ms);
            }
        }
        if flags & (FIN | RST) != 0 && !self.closed {
            self.closed = true;
            let why: &[u8] = match (way, flags & RST != 0) {
                (0, false) => b"closed by the phone (FIN)",
                (0, true) => b"reset by the phone (RST)",
                (_, false) => b"closed by the server (FIN)",
                (_, true) => b"reset by the server (RST)",
            };
            sink.record(Kind::Closed, why, at_ms);
        }
        Some(())
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    extern crate std;
    use super::*;
    use crate::Recorder;
    use std::vec::Vec;

    fn segment(out: bool, seq: u32, flags: u8, data: &[u8]) -> Vec<u8> {
        let (phone, server) = ([192, 168, 69, 50], [192, 168, 69, 1]);
        let (src, dst, sp, dp) = if out {
            (phone, server, 49152u16, 12028u16)
        } else {
            (server, phone, 12028, 49152)
        };
        let mut f = std::vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        let total = u16::try_from(20 + 20 + data.len()).unwrap();
        let [hi, lo] = total.to_be_bytes();
        f.extend_from_slice(&[0x45, 0, hi, lo, 0, 0, 0, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(&sp.to_be_bytes());
        f.extend_from_slice(&dp.to_be_bytes());
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 0, 0x50, flags, 0, 0, 0, 0, 0, 0]);
        f.extend_from_slice(data);
        f.extend_from_slice(&[0; 6]); // Ethernet padding is not payload
        f
    }

    #[test]
    fn records_a_connection_once_per_byte_with_its_end() {
        let mut r = Recorder::<1024>::new();
        let mut tap = TcpTap::new(12028);
        tap.frame(true, &segment(true, 100, SYN, &[]), 1, &mut r);
        tap.frame(true, &segment(true, 100, SYN, &[]), 2, &mut r); // SYN again
        tap.frame(false, &segment(false, 500, SYN | ACK, &[]), 3, &mut r);
        tap.frame(true, &segment(true, 101, ACK, b"abcd"), 4, &mut r);
        tap.frame(true, &segment(true, 101, ACK, b"abcdef"), 5, &mut r); // retransmitted + 2 new
        tap.frame(false, &segment(false, 501, ACK, b"xyz"), 6, &mut r);
        tap.frame(false, &segment(false, 504, FIN | ACK, &[]), 7, &mut r);
        let mut got = Vec::new();
        r.for_each(|k, t, p| got.push((k, t, p.collect::<Vec<u8>>())));
        assert_eq!(
            got,
            [
                (
                    Kind::Connected,
                    1,
                    std::vec![192, 168, 69, 1, 0x2e, 0xfc, 192, 168, 69, 50, 0xc0, 0]
                ),
                (Kind::Sent, 4, b"abcd".to_vec()),
                (Kind::Sent, 5, b"ef".to_vec()),
                (Kind::Received, 6, b"xyz".to_vec()),
                (Kind::Closed, 7, b"closed by the server (FIN)".to_vec()),
            ]
        );
    }

    #[test]
    fn other_traffic_is_not_recorded() {
        let mut r = Recorder::<256>::new();
        let mut tap = TcpTap::new(12029);
        tap.frame(true, &segment(true, 1, ACK, b"abc"), 1, &mut r);
        tap.frame(true, &[0xff; 60], 1, &mut r);
        tap.frame(true, &[], 1, &mut r);
        assert_eq!(r.used(), 0);
    }
}
