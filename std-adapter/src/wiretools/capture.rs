//! Writing a pcap capture of CTI traffic that was seen above TCP (by `ccx proxy`, or by tests).
//!
//! Each connection becomes one TCP stream with a handshake, consistent sequence and
//! acknowledgement numbers, and a closing FIN, on Ethernet and IPv4 or IPv6, so Wireshark,
//! tshark and `ccx decode --pcap` read it as they would a real capture. A maximum segment size
//! can cut the bytes into smaller segments, to show frames split across segments.

use std::fs::File;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::DataLink;

use super::Way;

/// A pcap file that several connections write to.
#[derive(Clone)]
pub struct CaptureFile {
    inner: Arc<Mutex<PcapWriter<Box<dyn Write + Send>>>>,
}

impl std::fmt::Debug for CaptureFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CaptureFile")
    }
}

impl CaptureFile {
    /// Create (truncate) a pcap file.
    pub fn create(path: &std::path::Path) -> std::io::Result<CaptureFile> {
        // Unbuffered: every packet is in the file as soon as it is written, so a capture can
        // be read while the proxy runs, or after it is killed.
        Self::new(Box::new(File::create(path)?))
    }

    /// A capture written to any writer.
    pub fn new(out: Box<dyn Write + Send>) -> std::io::Result<CaptureFile> {
        let header = PcapHeader {
            datalink: DataLink::ETHERNET,
            ..PcapHeader::default()
        };
        let w = PcapWriter::with_header(out, header).map_err(std::io::Error::other)?;
        Ok(CaptureFile {
            inner: Arc::new(Mutex::new(w)),
        })
    }

    fn write(&self, at: Duration, packet: &[u8]) -> std::io::Result<()> {
        let mut w = self
            .inner
            .lock()
            .map_err(|_| std::io::Error::other("capture writer poisoned"))?;
        let len = u32::try_from(packet.len()).unwrap_or(u32::MAX);
        w.write_packet(&PcapPacket::new(at, len, packet))
            .map_err(std::io::Error::other)?;
        Ok(())
    }

    /// Nothing is buffered here; kept so callers can mark where a capture is complete.
    pub fn flush(&self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One TCP connection in a capture.
#[derive(Debug)]
pub struct TcpFlow {
    file: CaptureFile,
    client: SocketAddr,
    server: SocketAddr,
    /// Next sequence number of the client and of the server.
    seq: [u32; 2],
    max_segment: usize,
    closed: bool,
}

const ISN: [u32; 2] = [0x1000_0000, 0x2000_0000];
const ACK: u8 = 0x10;
const PSH: u8 = 0x08;
const SYN: u8 = 0x02;
const FIN: u8 = 0x01;

fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

impl TcpFlow {
    /// A connection from `client` to `server`; writes its handshake. `max_segment` (at least
    /// 1) cuts the data into segments of at most that many bytes.
    pub fn open(
        file: &CaptureFile,
        client: SocketAddr,
        server: SocketAddr,
        max_segment: usize,
    ) -> std::io::Result<TcpFlow> {
        let mut flow = TcpFlow {
            file: file.clone(),
            client,
            server,
            seq: ISN,
            max_segment: max_segment.max(1),
            closed: false,
        };
        let t = now();
        flow.packet(t, Way::ToServer, SYN, &[])?;
        flow.seq[0] = flow.seq[0].wrapping_add(1);
        flow.packet(t, Way::ToClient, SYN | ACK, &[])?;
        flow.seq[1] = flow.seq[1].wrapping_add(1);
        flow.packet(t, Way::ToServer, ACK, &[])?;
        Ok(flow)
    }

    /// Bytes that went `way`, as one or more segments.
    pub fn data(&mut self, way: Way, bytes: &[u8]) -> std::io::Result<()> {
        let t = now();
        for chunk in bytes.chunks(self.max_segment) {
            self.packet(t, way, ACK | PSH, chunk)?;
            let i = usize::from(way == Way::ToClient);
            if let Some(s) = self.seq.get_mut(i) {
                *s = s.wrapping_add(u32::try_from(chunk.len()).unwrap_or(0));
            }
        }
        Ok(())
    }

    /// The connection closed (a FIN each way); later calls do nothing.
    pub fn close(&mut self) -> std::io::Result<()> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        let t = now();
        self.packet(t, Way::ToServer, FIN | ACK, &[])?;
        self.seq[0] = self.seq[0].wrapping_add(1);
        self.packet(t, Way::ToClient, FIN | ACK, &[])?;
        self.seq[1] = self.seq[1].wrapping_add(1);
        self.file.flush()
    }

    fn packet(&self, at: Duration, way: Way, flags: u8, payload: &[u8]) -> std::io::Result<()> {
        let (src, dst, seq, ack) = match way {
            Way::ToServer => (self.client, self.server, self.seq[0], self.seq[1]),
            Way::ToClient => (self.server, self.client, self.seq[1], self.seq[0]),
        };
        let ack = if flags & ACK != 0 { ack } else { 0 };
        let mut tcp = Vec::with_capacity(20 + payload.len());
        tcp.extend_from_slice(&src.port().to_be_bytes());
        tcp.extend_from_slice(&dst.port().to_be_bytes());
        tcp.extend_from_slice(&seq.to_be_bytes());
        tcp.extend_from_slice(&ack.to_be_bytes());
        tcp.push(5 << 4);
        tcp.push(flags);
        tcp.extend_from_slice(&65_535u16.to_be_bytes());
        tcp.extend_from_slice(&[0, 0, 0, 0]); // checksum (left 0: not verified by readers), urgent
        tcp.extend_from_slice(payload);
        let mut pkt = Vec::with_capacity(14 + 40 + tcp.len());
        pkt.extend_from_slice(&[0x02, 0, 0, 0, 0, 2]);
        pkt.extend_from_slice(&[0x02, 0, 0, 0, 0, 1]);
        match (src.ip(), dst.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                pkt.extend_from_slice(&[0x08, 0x00]);
                let total = u16::try_from(20 + tcp.len()).unwrap_or(u16::MAX);
                let mut ip = vec![0x45, 0];
                ip.extend_from_slice(&total.to_be_bytes());
                ip.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
                ip.extend_from_slice(&s.octets());
                ip.extend_from_slice(&d.octets());
                let sum = checksum(&ip);
                if let Some(c) = ip.get_mut(10..12) {
                    c.copy_from_slice(&sum.to_be_bytes());
                }
                pkt.extend_from_slice(&ip);
            }
            (s, d) => {
                let v6 = |a: IpAddr| match a {
                    IpAddr::V6(a) => a,
                    IpAddr::V4(a) => a.to_ipv6_mapped(),
                };
                pkt.extend_from_slice(&[0x86, 0xdd]);
                pkt.extend_from_slice(&[0x60, 0, 0, 0]);
                let plen = u16::try_from(tcp.len()).unwrap_or(u16::MAX);
                pkt.extend_from_slice(&plen.to_be_bytes());
                pkt.extend_from_slice(&[6, 64]);
                pkt.extend_from_slice(&v6(s).octets());
                pkt.extend_from_slice(&v6(d).octets());
            }
        }
        pkt.extend_from_slice(&tcp);
        self.file.write(at, &pkt)
    }
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
