//! `ccx recorder FILE`: a flight-recorder dump from a phone (the firmware's `ccx-cti-recorder`
//! ring) turned into the guide's trace text, a flow file `ccx replay` runs, or a pcap.
//!
//! FILE is the binary dump, or any log that holds its hex lines (`ccx-rec <hex>`: the firmware
//! prints them over defmt or a serial port; other text on the lines and between them is
//! skipped; of several dumps in one log the last whole one is read), or the phone's dump region
//! read from its flash (`"CCXD"`: the ring the phone saved when a session was lost, read with
//! `ccx_cti_store::dump_region::read`).
//!
//! The dump format is the recorder crate's (embassy-adapter/recorder/src/lib.rs): `"CCXR"`,
//! version 1, flags (bit 0: wall-clock times), records dropped (u32), record bytes (u32), then
//! records `kind u8, flags u8, length u16, time_ms u64, payload`, little-endian. A record holds
//! a frame or any chunk of the TCP bytes: frames are cut out again here, per session and way.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::wiretools::capture::{CaptureFile, TcpFlow};
use crate::wiretools::flowgen::{write_flow, FlowMessage};
use crate::wiretools::{describe, utc_text, DecodeOptions, MessageOut, Way};

/// `ccx recorder` options.
#[derive(Debug, Args)]
pub struct RecorderArgs {
    /// The dump: binary, a log with `ccx-rec` hex lines, or the flash's dump region.
    pub file: PathBuf,
    /// Also write a pcap (one TCP stream per session) to this file.
    #[arg(long)]
    pub pcap: Option<PathBuf>,
    /// Also write a flow file of one session to this file.
    #[arg(long)]
    pub flow: Option<PathBuf>,
    /// The session (1 = the oldest in the dump) for `--flow`; default the last that opened.
    #[arg(long)]
    pub session: Option<usize>,
    /// Print passwords instead of `********`.
    #[arg(long)]
    pub show_secrets: bool,
}

/// What a record holds (the recorder crate's `Kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bytes the phone sent.
    Sent,
    /// Bytes the phone received.
    Received,
    /// A connection opened (payload: server address and port, then the phone's).
    Connected,
    /// A connection closed (payload: reason text).
    Closed,
    /// A note in text.
    Note,
}

/// When a record was made: milliseconds since 1970 (`wall`) or since boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Milliseconds.
    pub ms: u64,
    /// Since 1970 (the phone had set its clock), else since boot.
    pub wall: bool,
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.wall {
            f.write_str(&utc_text(self.ms as f64 / 1000.0))
        } else {
            write!(f, "+{}.{:03} s since boot", self.ms / 1000, self.ms % 1000)
        }
    }
}

/// One record of a dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// What it holds.
    pub kind: Kind,
    /// Milliseconds: since 1970 when the record (or, in a dump whose records say nothing, the
    /// dump) says wall clock, else since boot.
    pub at_ms: u64,
    /// Whether `at_ms` is wall clock.
    pub wall: bool,
    /// The payload was cut to fit the ring.
    pub truncated: bool,
    /// Its bytes.
    pub payload: Vec<u8>,
}

/// A whole dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dump {
    /// Times are wall clock (the phone had set its clock by SNTP).
    pub wall_clock: bool,
    /// Records the ring dropped to make room before the dump.
    pub dropped: u32,
    /// Oldest first.
    pub records: Vec<Record>,
}

const MAGIC: &[u8; 4] = b"CCXR";
const HEADER: usize = 14;
const RECORD_HEADER: usize = 12;
/// What starts a hex line of a text dump.
pub const LINE_PREFIX: &str = "ccx-rec ";

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Read a binary dump.
pub fn parse_dump(bytes: &[u8]) -> Result<Dump, String> {
    if bytes.get(..4) != Some(MAGIC) {
        return Err("not a recorder dump (no CCXR magic)".into());
    }
    match bytes.get(4) {
        Some(1) => {}
        Some(v) => {
            return Err(format!(
                "recorder dump version {v}; this ccx reads version 1"
            ))
        }
        None => return Err("the dump is cut short in its header".into()),
    }
    let flags = bytes.get(5).copied().unwrap_or(0);
    let dropped = le_u32(bytes, 6).ok_or("the dump is cut short in its header")?;
    let len = le_u32(bytes, 10).ok_or("the dump is cut short in its header")? as usize;
    let body = bytes.get(HEADER..HEADER + len).ok_or_else(|| {
        format!(
            "the dump declares {len} record bytes; {} are there",
            bytes.len().saturating_sub(HEADER)
        )
    })?;
    let mut records = Vec::new();
    let mut at = 0;
    while at < body.len() {
        let head = body
            .get(at..at + RECORD_HEADER)
            .ok_or_else(|| format!("record at byte {at}: header cut short"))?;
        let kind = match head.first() {
            Some(0) => Kind::Sent,
            Some(1) => Kind::Received,
            Some(2) => Kind::Connected,
            Some(3) => Kind::Closed,
            Some(4) => Kind::Note,
            other => return Err(format!("record at byte {at}: unknown kind {other:?}")),
        };
        let n = usize::from(u16::from_le_bytes([head[2], head[3]]));
        let at_ms = u64::from_le_bytes(head[4..12].try_into().map_err(|_| "header")?);
        let payload = body
            .get(at + RECORD_HEADER..at + RECORD_HEADER + n)
            .ok_or_else(|| {
                format!("record at byte {at}: {n} payload bytes declared, fewer there")
            })?;
        records.push(Record {
            kind,
            at_ms,
            wall: head[1] & 2 != 0,
            truncated: head[1] & 1 != 0,
            payload: payload.to_vec(),
        });
        at += RECORD_HEADER + n;
    }
    // Records that say nothing of their clock: the dump's flag holds for all.
    if flags & 1 != 0 && records.iter().all(|r| !r.wall) {
        for r in &mut records {
            r.wall = true;
        }
    }
    Ok(Dump {
        wall_clock: flags & 1 != 0,
        dropped,
        records,
    })
}

/// Read a file: a binary dump, or the last whole dump in a log's `ccx-rec` hex lines.
pub fn read_dump(bytes: &[u8]) -> Result<Dump, String> {
    if bytes.starts_with(MAGIC) {
        return parse_dump(bytes);
    }
    // The dump region of the phone's flash, read from it whole (the ring saved at a session
    // loss): the store's own reader.
    if bytes.starts_with(&ccx_cti_store::dump_region::MAGIC) {
        let dump = ccx_cti_store::dump_region::read(bytes)
            .map_err(|e| format!("a flash dump region: {e}"))?;
        return parse_dump(dump).map_err(|e| format!("the dump saved in flash: {e}"));
    }
    let text = String::from_utf8_lossy(bytes);
    let mut dumps: Vec<Vec<u8>> = Vec::new();
    for line in text.lines() {
        let Some(pos) = line.find(LINE_PREFIX) else {
            continue;
        };
        let hex = line[pos + LINE_PREFIX.len()..]
            .split_whitespace()
            .next()
            .unwrap_or("");
        let chunk: Option<Vec<u8>> = (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
            .collect();
        let chunk = chunk.ok_or_else(|| format!("not hex after `{LINE_PREFIX}`: {hex}"))?;
        // A header starts a new dump.
        if chunk.starts_with(MAGIC) || dumps.is_empty() {
            dumps.push(Vec::new());
        }
        if let Some(d) = dumps.last_mut() {
            d.extend_from_slice(&chunk);
        }
    }
    let mut last_error =
        String::from("no recorder dump in the file (no CCXR magic, no `ccx-rec` lines)");
    for d in dumps.iter().rev() {
        match parse_dump(d) {
            Ok(dump) => return Ok(dump),
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

/// One connection of a dump and the frames cut out of its bytes.
#[derive(Debug, Clone)]
pub struct Session {
    /// The server (unknown: 0.0.0.0:12028).
    pub server: SocketAddr,
    /// The phone (unknown: 10.0.0.2 and a port per session).
    pub client: SocketAddr,
    /// Frames in order: way, time, bytes.
    pub frames: Vec<(Way, Stamp, Vec<u8>)>,
    /// Byte chunks in order as recorded (for the pcap).
    pub chunks: Vec<(Way, Stamp, Vec<u8>)>,
    /// When it opened.
    pub opened: Stamp,
    /// Why it closed, when the dump says.
    pub closed: Option<String>,
    /// Bytes left over at the end that make no whole frame, per way.
    pub partial: [usize; 2],
}

fn address(b: &[u8]) -> Option<(SocketAddr, &[u8])> {
    let port = |p: &[u8]| Some(u16::from_be_bytes([*p.first()?, *p.get(1)?]));
    if b.len() >= 18 && b.len() != 12 {
        let ip: [u8; 16] = b.get(..16)?.try_into().ok()?;
        return Some((
            SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port(&b[16..])?),
            &b[18..],
        ));
    }
    let ip: [u8; 4] = b.get(..4)?.try_into().ok()?;
    Some((
        SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port(b.get(4..)?)?),
        &b[6..],
    ))
}

/// The dump's sessions: each `Connected` record starts one (bytes before the first go to a
/// session with unknown addresses).
pub fn sessions(dump: &Dump) -> Vec<Session> {
    let mut out: Vec<Session> = Vec::new();
    let mut bufs: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    let new_session =
        |n: usize, at: Stamp, server: Option<SocketAddr>, client: Option<SocketAddr>| Session {
            server: server.unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 12028)),
            client: client.unwrap_or(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
                49152 + u16::try_from(n % 16_000).unwrap_or(0),
            )),
            frames: Vec::new(),
            chunks: Vec::new(),
            opened: at,
            closed: None,
            partial: [0, 0],
        };
    for r in &dump.records {
        let stamp = Stamp {
            ms: r.at_ms,
            wall: r.wall,
        };
        match r.kind {
            Kind::Connected => {
                let (server, rest) =
                    address(&r.payload).map_or((None, &[][..]), |(s, r)| (Some(s), r));
                let client = address(rest).map(|(c, _)| c);
                if let Some(s) = out.last_mut() {
                    s.partial = [bufs[0].len(), bufs[1].len()];
                }
                bufs = [Vec::new(), Vec::new()];
                out.push(new_session(out.len(), stamp, server, client));
            }
            Kind::Closed => {
                if let Some(s) = out.last_mut() {
                    s.closed = Some(String::from_utf8_lossy(&r.payload).into_owned());
                }
            }
            Kind::Note => {}
            Kind::Sent | Kind::Received => {
                if out.is_empty() {
                    out.push(new_session(0, stamp, None, None));
                }
                let (way, i) = if r.kind == Kind::Sent {
                    (Way::ToServer, 0)
                } else {
                    (Way::ToClient, 1)
                };
                let Some(s) = out.last_mut() else { continue };
                s.chunks.push((way, stamp, r.payload.clone()));
                let buf = &mut bufs[i];
                buf.extend_from_slice(&r.payload);
                while let Some(len) = buf
                    .get(..4)
                    .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
                {
                    if buf.len() < 8 + len {
                        break;
                    }
                    let frame: Vec<u8> = buf.drain(..8 + len).collect();
                    s.frames.push((way, stamp, frame));
                }
            }
        }
    }
    if let Some(s) = out.last_mut() {
        s.partial = [bufs[0].len(), bufs[1].len()];
    }
    out
}

/// The protocol version a session's OPEN_REQ asks for.
fn session_version(s: &Session, opts: &DecodeOptions) -> Option<u32> {
    s.frames.iter().find_map(|(way, _, f)| {
        let type_id = u32::from_be_bytes(f.get(4..8)?.try_into().ok()?);
        if *way != Way::ToServer || type_id != 3 {
            return None;
        }
        let v = u32::from_be_bytes(f.get(12..16)?.try_into().ok()?);
        let _ = opts;
        (10..=18).contains(&v).then_some(v)
    })
}

/// The session's messages, decoded.
pub fn messages(
    s: &Session,
    opts: &DecodeOptions,
) -> Vec<(Way, Stamp, Result<MessageOut, String>)> {
    let version = opts.wire_version(session_version(s, opts));
    s.frames
        .iter()
        .map(|(way, at, f)| (*way, *at, describe(f, version, opts.show_secrets)))
        .collect()
}

/// The dump as trace text: each session's header, then each message with its time and way.
pub fn trace_text(dump: &Dump, opts: &DecodeOptions) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# recorder dump: {} records, {} dropped before, times {}",
        dump.records.len(),
        dump.dropped,
        if dump.wall_clock { "UTC" } else { "since boot" }
    );
    for (n, s) in sessions(dump).iter().enumerate() {
        let _ = writeln!(
            out,
            "\n# session {}: {} -> {} at {}",
            n + 1,
            s.client,
            s.server,
            s.opened
        );
        for (way, at, m) in messages(s, opts) {
            let _ = writeln!(out, "# {} {}", at, way.arrow());
            match m {
                Ok(m) => out.push_str(&m.text),
                Err(e) => {
                    let _ = writeln!(out, "# not decoded: {e}");
                }
            }
        }
        for (i, left) in s.partial.iter().enumerate() {
            if *left > 0 {
                let way = if i == 0 { "sent" } else { "received" };
                let _ = writeln!(out, "# {left} bytes {way} at the end make no whole frame");
            }
        }
        if let Some(why) = &s.closed {
            let _ = writeln!(out, "# session {} closed: {why}", n + 1);
        }
    }
    for r in dump.records.iter().filter(|r| r.kind == Kind::Note) {
        let _ = writeln!(
            out,
            "# note at {}: {}",
            Stamp {
                ms: r.at_ms,
                wall: r.wall
            },
            String::from_utf8_lossy(&r.payload)
        );
    }
    out
}

/// A pcap with one TCP stream per session.
pub fn write_pcap(dump: &Dump, path: &Path) -> std::io::Result<()> {
    let file = CaptureFile::create(path)?;
    for s in sessions(dump) {
        let mut flow = TcpFlow::open(&file, s.client, s.server, 1460)?;
        for (way, _, bytes) in &s.chunks {
            flow.data(*way, bytes)?;
        }
        flow.close()?;
    }
    file.flush()
}

/// A flow file of session `which` (1-based; default: the last one with an OPEN_REQ).
pub fn flow_text(
    dump: &Dump,
    which: Option<usize>,
    opts: &DecodeOptions,
    title: &str,
) -> Result<String, String> {
    let all = sessions(dump);
    let opens = |s: &Session| {
        messages(s, opts).iter().any(|(w, _, m)| {
            *w == Way::ToServer && m.as_ref().is_ok_and(|m| m.msgtype == "OPEN_REQ")
        })
    };
    let n = match which {
        Some(n) if (1..=all.len()).contains(&n) => n,
        Some(n) => return Err(format!("session {n}: the dump has {}", all.len())),
        None => all
            .iter()
            .rposition(opens)
            .map(|i| i + 1)
            .ok_or("no session in the dump opened (no OPEN_REQ)")?,
    };
    let s = &all[n - 1];
    let flow_messages: Vec<FlowMessage> = messages(s, opts)
        .into_iter()
        .filter_map(|(way, at, m)| {
            Some(FlowMessage {
                way,
                message: m.ok()?,
                at: at.to_string(),
            })
        })
        .collect();
    Ok(write_flow(&format!("{title}, session {n}"), &flow_messages))
}

/// `ccx recorder FILE [--pcap OUT] [--flow OUT]`: prints the trace text.
pub fn recorder_main(args: &RecorderArgs) -> ExitCode {
    let fail = |e: String| {
        eprintln!("error: {}: {e}", args.file.display());
        ExitCode::from(2)
    };
    let bytes = match std::fs::read(&args.file) {
        Ok(b) => b,
        Err(e) => return fail(e.to_string()),
    };
    let dump = match read_dump(&bytes) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let opts = DecodeOptions {
        show_secrets: args.show_secrets,
        ..DecodeOptions::default()
    };
    if let Some(path) = &args.pcap {
        if let Err(e) = write_pcap(&dump, path) {
            return fail(format!("cannot write {}: {e}", path.display()));
        }
    }
    if let Some(path) = &args.flow {
        let title = format!(
            "recorder dump {}",
            args.file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        let text = match flow_text(&dump, args.session, &opts, &title) {
            Ok(t) => t,
            Err(e) => return fail(e),
        };
        if let Err(e) = std::fs::write(path, text) {
            return fail(format!("cannot write {}: {e}", path.display()));
        }
    }
    crate::out!("{}", trace_text(&dump, &opts));
    ExitCode::SUCCESS
}
