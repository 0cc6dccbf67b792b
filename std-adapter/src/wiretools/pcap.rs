//! `ccx decode --pcap`: CTI messages out of a pcap or pcapng capture.
//!
//! Packets are parsed down to TCP (Ethernet, Linux cooked v1/v2, BSD loopback, raw IP; IPv4 and
//! IPv6), and each stream's bytes are put back in order per direction. A retransmitted or
//! overlapping segment is reported and its old bytes dropped; a segment after a hole waits for
//! the hole to fill, and a hole that never fills is reported with what it cost: nothing after
//! it is guessed at. Each stream's protocol version comes from its OPEN_REQ, else the flag.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ccx_cti::wire::{MessageType, HEADER_LEN};
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgReader};
use serde::Serialize;

use super::{describe, DecodeOptions, MessageOut, Way};

/// The CTI server ports a stream is recognised by when its SYN is not in the capture.
pub const CTI_PORTS: [u16; 2] = [12028, 42027];
/// Largest body a frame may declare (12 500 bytes with the header).
const MAX_BODY: u32 = 12_492;

/// One packet of a capture, reduced to what the reassembly needs.
#[derive(Debug, Clone)]
pub struct Packet {
    /// 1-based packet number (Wireshark's `frame.number`).
    pub number: u64,
    /// Seconds since 1970.
    pub time: f64,
    /// Link-layer type (pcap LINKTYPE_*).
    pub linktype: u32,
    /// The captured bytes.
    pub data: Vec<u8>,
}

/// Read every packet of a pcap or pcapng file.
pub fn read_packets(bytes: &[u8]) -> Result<Vec<Packet>, String> {
    let magic = bytes
        .get(..4)
        .ok_or("the file is too short to be a capture")?;
    let mut out = Vec::new();
    if magic == [0x0a, 0x0d, 0x0d, 0x0a] {
        let mut reader = PcapNgReader::new(bytes).map_err(|e| format!("pcapng: {e}"))?;
        let mut number = 0u64;
        while let Some(block) = reader.next_block() {
            let block = block.map_err(|e| format!("pcapng block after packet {number}: {e}"))?;
            let (iface, ticks, data) = match block {
                Block::EnhancedPacket(p) => (
                    p.interface_id,
                    p.timestamp.as_nanos() as u64,
                    p.data.into_owned(),
                ),
                Block::SimplePacket(p) => (0, 0, p.data.into_owned()),
                Block::Packet(p) => (u32::from(p.interface_id), p.timestamp, p.data.into_owned()),
                _ => continue,
            };
            number += 1;
            let desc = reader.interfaces().get(iface as usize);
            let linktype = desc.map(|d| u32::from(d.linktype)).unwrap_or(1);
            // if_tsresol: 10^-n seconds by default (n = 6), 2^-n with the high bit set.
            let resol = desc
                .and_then(|d| {
                    d.options.iter().find_map(|o| match o {
                        InterfaceDescriptionOption::IfTsResol(r) => Some(*r),
                        _ => None,
                    })
                })
                .unwrap_or(6);
            let per_sec = if resol & 0x80 != 0 {
                2f64.powi(i32::from(resol & 0x7f))
            } else {
                10f64.powi(i32::from(resol))
            };
            out.push(Packet {
                number,
                time: ticks as f64 / per_sec,
                linktype,
                data,
            });
        }
    } else {
        let mut reader = PcapReader::new(bytes).map_err(|e| format!("pcap: {e}"))?;
        let linktype = u32::from(reader.header().datalink);
        let mut number = 0u64;
        while let Some(p) = reader.next_packet() {
            let p = p.map_err(|e| format!("pcap record after packet {number}: {e}"))?;
            number += 1;
            out.push(Packet {
                number,
                time: p.timestamp.as_secs_f64(),
                linktype,
                data: p.data.into_owned(),
            });
        }
    }
    Ok(out)
}

/// A TCP segment out of a packet.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Source address and port.
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// Sequence number.
    pub seq: u32,
    /// SYN flag.
    pub syn: bool,
    /// ACK flag.
    pub ack: bool,
    /// FIN or RST flag.
    pub fin: bool,
    /// The capture kept fewer bytes than the IP header says the packet had.
    pub truncated: bool,
    /// The payload.
    pub payload: Vec<u8>,
}

fn read_uint(d: &[u8], at: usize, _size: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

/// The TCP segment a packet carries, or `None` (not IP, not TCP, cut short).
pub fn tcp_segment(linktype: u32, data: &[u8]) -> Option<Segment> {
    let (ethertype, ip) = match linktype {
        1 => {
            // Ethernet, with up to two VLAN tags.
            let mut at = 12;
            let mut et = be16(data, at)?;
            while et == 0x8100 || et == 0x88a8 {
                at += 4;
                et = be16(data, at)?;
            }
            (et, data.get(at + 2..)?)
        }
        113 => (be16(data, 14)?, data.get(16..)?),
        276 => (be16(data, 0)?, data.get(20..)?),
        0 | 108 => {
            let fam = data.get(..4)?;
            let v = if linktype == 0 {
                u32::from_le_bytes(fam.try_into().ok()?)
                    .min(u32::from_be_bytes(fam.try_into().ok()?))
            } else {
                u32::from_be_bytes(fam.try_into().ok()?)
            };
            (if v == 2 { 0x0800 } else { 0x86dd }, data.get(4..)?)
        }
        101 | 12 | 14 | 228 | 229 => {
            let v = data.first()? >> 4;
            (if v == 4 { 0x0800 } else { 0x86dd }, data)
        }
        _ => return None,
    };
    let truncated;
    let (src_ip, dst_ip, tcp): (IpAddr, IpAddr, &[u8]) = match ethertype {
        0x0800 => {
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            if *ip.get(9)? != 6 {
                return None;
            }
            let total = usize::from(be16(ip, 2)?);
            let frag = be16(ip, 6)? & 0x3fff;
            if frag != 0 {
                return None;
            }
            let s: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let d: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            // A total length of 0 is what segmentation offload leaves: take what was captured.
            let total = if total == 0 { ip.len() } else { total };
            truncated = total > ip.len();
            let end = total.min(ip.len());
            (
                Ipv4Addr::from(s).into(),
                Ipv4Addr::from(d).into(),
                ip.get(ihl..end)?,
            )
        }
        0x86dd => {
            if *ip.get(6)? != 6 {
                return None;
            }
            let plen = usize::from(be16(ip, 4)?);
            let s: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let d: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            let plen = if plen == 0 {
                ip.len().saturating_sub(40)
            } else {
                plen
            };
            truncated = 40 + plen > ip.len();
            let end = (40 + plen).min(ip.len());
            (
                Ipv6Addr::from(s).into(),
                Ipv6Addr::from(d).into(),
                ip.get(40..end)?,
            )
        }
        _ => return None,
    };
    let sport = be16(tcp, 0)?;
    let dport = be16(tcp, 2)?;
    let seq = u32::from_be_bytes(tcp.get(4..8)?.try_into().ok()?);
    let off = usize::from(tcp.get(12)? >> 4) * 4;
    let flags = *tcp.get(13)?;
    Some(Segment {
        src: SocketAddr::new(src_ip, sport),
        dst: SocketAddr::new(dst_ip, dport),
        seq,
        syn: flags & 0x02 != 0,
        ack: flags & 0x10 != 0,
        fin: flags & 0x05 != 0,
        truncated,
        payload: tcp.get(off..)?.to_vec(),
    })
}

/// The client end of every stream: the sender of the SYN; else the end that is not on a CTI
/// server port; else the sender of the first frame whose type the table says goes to the
/// server (or the receiver of one that goes to the client); else the first sender.
fn client_sides(segments: &[(&Packet, Segment)]) -> HashMap<(SocketAddr, SocketAddr), SocketAddr> {
    let mut syn: HashMap<_, SocketAddr> = HashMap::new();
    let mut port: HashMap<_, SocketAddr> = HashMap::new();
    let mut typed: HashMap<_, SocketAddr> = HashMap::new();
    let mut first: HashMap<_, SocketAddr> = HashMap::new();
    for (_, seg) in segments {
        let key = if seg.src <= seg.dst {
            (seg.src, seg.dst)
        } else {
            (seg.dst, seg.src)
        };
        first.entry(key).or_insert(seg.src);
        if seg.syn {
            syn.entry(key)
                .or_insert(if seg.ack { seg.dst } else { seg.src });
        }
        if CTI_PORTS.contains(&seg.dst.port()) && !CTI_PORTS.contains(&seg.src.port()) {
            port.entry(key).or_insert(seg.src);
        } else if CTI_PORTS.contains(&seg.src.port()) && !CTI_PORTS.contains(&seg.dst.port()) {
            port.entry(key).or_insert(seg.dst);
        }
        if let std::collections::hash_map::Entry::Vacant(slot) = typed.entry(key) {
            let len = read_uint(&seg.payload, 0, 4);
            let def = read_uint(&seg.payload, 4, 4).and_then(ccx_cti::wire::message_def);
            if let (Some(len), Some(def)) = (len, def) {
                if len <= MAX_BODY {
                    slot.insert(match def.direction {
                        ccx_cti::wire::spec::Direction::ToServer => seg.src,
                        ccx_cti::wire::spec::Direction::ToClient => seg.dst,
                    });
                }
            }
        }
    }
    first
        .into_iter()
        .map(|(key, f)| {
            let client = syn
                .get(&key)
                .or(port.get(&key))
                .or(typed.get(&key))
                .copied()
                .unwrap_or(f);
            (key, client)
        })
        .collect()
}

/// One message found in a capture (or a log): when, where, which way, and what.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    /// Packet number whose bytes completed the message (1-based; the log line for logs).
    pub frame: u64,
    /// Seconds since 1970 (captures) or the log's own time stamp.
    pub time: String,
    /// TCP stream index (0-based, in order of first appearance, as Wireshark counts them).
    pub stream: u64,
    /// Sender.
    pub src: String,
    /// Receiver.
    pub dst: String,
    /// Which way.
    pub direction: Way,
    /// Protocol version the message was decoded with.
    pub version: u32,
    /// The message.
    #[serde(flatten)]
    pub message: MessageOut,
    /// The frame bytes.
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// Something that could not be decoded, or bytes that were not where they should be.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// Packet number (1-based).
    pub frame: u64,
    /// TCP stream index.
    pub stream: u64,
    /// Which way.
    pub direction: Way,
    /// What happened.
    pub text: String,
}

/// What a capture held.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CaptureReport {
    /// The messages in the order their last byte arrived.
    pub messages: Vec<Found>,
    /// Retransmissions, holes, undecodable frames.
    pub problems: Vec<Problem>,
}

#[derive(Default)]
struct Half {
    isn: Option<u32>,
    /// Next expected sequence number, relative to `isn`.
    next: u64,
    /// Bytes received out of order, by relative sequence number.
    pending: BTreeMap<u64, (u64, Vec<u8>)>,
    buf: Vec<u8>,
    /// Decoding stopped (a frame too long to be real); the text said why.
    dead: bool,
}

struct Stream {
    index: u64,
    client: SocketAddr,
    server: SocketAddr,
    version: Option<u32>,
    halves: [Half; 2],
}

/// Decode every CTI message of a capture. `default_version` is for streams whose OPEN_REQ the
/// capture does not hold.
pub fn decode_capture(bytes: &[u8], opts: &DecodeOptions) -> Result<CaptureReport, String> {
    let packets = read_packets(bytes)?;
    let mut report = CaptureReport::default();
    let mut streams: HashMap<(SocketAddr, SocketAddr), usize> = HashMap::new();
    let mut list: Vec<Stream> = Vec::new();
    let segments: Vec<(&Packet, Segment)> = packets
        .iter()
        .filter_map(|p| tcp_segment(p.linktype, &p.data).map(|s| (p, s)))
        .collect();
    let roles = client_sides(&segments);
    for (p, seg) in &segments {
        let (p, seg) = (*p, seg);
        let key = if seg.src <= seg.dst {
            (seg.src, seg.dst)
        } else {
            (seg.dst, seg.src)
        };
        let ix = match streams.get(&key) {
            Some(ix) => *ix,
            None => {
                let client = roles.get(&key).copied().unwrap_or(seg.src);
                let server = if client == seg.src { seg.dst } else { seg.src };
                list.push(Stream {
                    index: list.len() as u64,
                    client,
                    server,
                    version: None,
                    halves: [Half::default(), Half::default()],
                });
                streams.insert(key, list.len() - 1);
                list.len() - 1
            }
        };
        let Some(stream) = list.get_mut(ix) else {
            continue;
        };
        let way = if seg.src == stream.client {
            Way::ToServer
        } else {
            Way::ToClient
        };
        if seg.truncated {
            // The capture kept fewer bytes than the packet had (snap length): what is missing
            // is a hole, reported when the stream ends.
            report.problems.push(Problem {
                frame: p.number,
                stream: stream.index,
                direction: way,
                text: format!(
                    "packet cut short by the capture's snap length ({} payload bytes kept): its data is not used",
                    seg.payload.len()
                ),
            });
            continue;
        }
        feed_segment(stream, way, seg, p, opts, &mut report);
    }
    for stream in &list {
        for (h, way) in stream.halves.iter().zip([Way::ToServer, Way::ToClient]) {
            if let Some((&at, _)) = h.pending.iter().next() {
                let held: usize = h.pending.values().map(|(_, d)| d.len()).sum();
                report.problems.push(Problem {
                    frame: packets.last().map(|p| p.number).unwrap_or(0),
                    stream: stream.index,
                    direction: way,
                    text: format!(
                        "{} bytes missing at relative sequence {} (never captured): the {held} bytes after the hole are not decoded",
                        at - h.next,
                        h.next
                    ),
                });
            } else if !h.buf.is_empty() && !h.dead {
                report.problems.push(Problem {
                    frame: packets.last().map(|p| p.number).unwrap_or(0),
                    stream: stream.index,
                    direction: way,
                    text: format!(
                        "the capture ends inside a frame ({} bytes of it present)",
                        h.buf.len()
                    ),
                });
            }
        }
    }
    Ok(report)
}

fn feed_segment(
    stream: &mut Stream,
    way: Way,
    seg: &Segment,
    p: &Packet,
    opts: &DecodeOptions,
    report: &mut CaptureReport,
) {
    let Stream {
        index,
        client,
        server,
        version: stream_version,
        halves,
    } = stream;
    let index = *index;
    let problem = |report: &mut CaptureReport, text: String| {
        report.problems.push(Problem {
            frame: p.number,
            stream: index,
            direction: way,
            text,
        })
    };
    let Some(half) = halves.get_mut(usize::from(way == Way::ToClient)) else {
        return;
    };
    if seg.syn {
        half.isn = Some(seg.seq.wrapping_add(1));
        half.next = 0;
        return;
    }
    if seg.payload.is_empty() {
        return;
    }
    let isn = *half.isn.get_or_insert(seg.seq);
    // Relative sequence numbers, unwrapped around the expected one.
    let rel_raw = seg.seq.wrapping_sub(isn);
    let mut rel = (half.next & !0xffff_ffff) | u64::from(rel_raw);
    if rel + (1 << 31) < half.next {
        rel += 1 << 32;
    } else if rel > half.next + (1 << 31) && rel >= 1 << 32 {
        rel -= 1 << 32;
    }
    let end = rel + seg.payload.len() as u64;
    if end <= half.next {
        problem(
            report,
            format!(
                "retransmission: {} bytes at relative sequence {rel} seen before; dropped",
                seg.payload.len()
            ),
        );
        return;
    }
    let mut data = seg.payload.as_slice();
    if rel < half.next {
        let dup = (half.next - rel) as usize;
        problem(
            report,
            format!("overlap: the first {dup} bytes of this segment at relative sequence {rel} were seen before; dropped"),
        );
        data = data.get(dup..).unwrap_or(&[]);
        rel = half.next;
    }
    if rel > half.next {
        match half.pending.entry(rel) {
            std::collections::btree_map::Entry::Occupied(_) => problem(
                report,
                format!(
                    "retransmission of an out-of-order segment at relative sequence {rel}; dropped"
                ),
            ),
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert((rel + data.len() as u64, data.to_vec()));
            }
        }
        return;
    }
    half.buf.extend_from_slice(data);
    half.next = rel + data.len() as u64;
    // Fill from the segments that waited for this one.
    while let Some((&at, _)) = half.pending.iter().next() {
        if at > half.next {
            break;
        }
        let Some((end, d)) = half.pending.remove(&at) else {
            break;
        };
        if end > half.next {
            let skip = (half.next - at) as usize;
            half.buf.extend_from_slice(d.get(skip..).unwrap_or(&[]));
            half.next = end;
        }
    }
    if half.dead {
        half.buf.clear();
        return;
    }
    // Whole frames out of the buffer.
    let mut used = 0usize;
    loop {
        let rest = half.buf.get(used..).unwrap_or(&[]);
        if rest.len() < HEADER_LEN {
            break;
        }
        let len = read_uint(rest, 0, 4).unwrap_or(0);
        if len > MAX_BODY {
            problem(
                report,
                format!("a frame declares {len} body bytes (more than {MAX_BODY}): this direction is not decoded further"),
            );
            half.dead = true;
            used = half.buf.len();
            break;
        }
        let total = HEADER_LEN + len as usize;
        if rest.len() < total {
            break;
        }
        let frame = rest.get(..total).unwrap_or(&[]).to_vec();
        used += total;
        let type_id = read_uint(&frame, 4, 4).unwrap_or(0);
        if way == Way::ToServer && MessageType::from_id(type_id) == MessageType::OpenReq {
            if let Some(v) = read_uint(&frame, HEADER_LEN + 4, 4).filter(|v| (10..=18).contains(v))
            {
                *stream_version = Some(v);
            }
        }
        let version = opts.wire_version(*stream_version);
        let (src, dst) = match way {
            Way::ToServer => (*client, *server),
            Way::ToClient => (*server, *client),
        };
        match describe(&frame, version, opts.show_secrets) {
            Ok(message) => report.messages.push(Found {
                frame: p.number,
                time: format!("{:.6}", p.time),
                stream: index,
                src: src.to_string(),
                dst: dst.to_string(),
                direction: way,
                version: version.number(),
                message,
                bytes: frame,
            }),
            Err(e) => {
                let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
                problem(report, format!("undecodable frame: {e}: {hex}"));
            }
        }
    }
    half.buf.drain(..used.min(half.buf.len()));
}

/// `ccx decode --pcap` output as text: a comment line per message (time, packet, stream,
/// direction, addresses), then its trace text; problems as `# !` comment lines in place.
pub fn report_text(report: &CaptureReport) -> String {
    let mut out = String::new();
    let mut problems = report.problems.iter().peekable();
    for m in &report.messages {
        while let Some(p) = problems.next_if(|p| p.frame <= m.frame) {
            out.push_str(&problem_line(p));
        }
        let secs: f64 = m.time.parse().unwrap_or(0.0);
        out.push_str(&format!(
            "# [{}] packet {} stream {} {} {} -> {} (v{})\n",
            super::utc_text(secs),
            m.frame,
            m.stream,
            m.direction.arrow(),
            m.src,
            m.dst,
            m.version
        ));
        out.push_str(&m.message.text);
    }
    for p in problems {
        out.push_str(&problem_line(p));
    }
    out
}

fn problem_line(p: &Problem) -> String {
    format!(
        "# ! packet {} stream {} {}: {}\n",
        p.frame,
        p.stream,
        p.direction.arrow(),
        p.text
    )
}

/// Read a whole file or standard input.
pub fn read_all(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    let mut data = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut data)?;
    } else {
        data = std::fs::read(path)?;
    }
    Ok(data)
}
