//! `ccx proxy --listen ADDR --server ADDR`: a transparent man in the middle between a real
//! CTI client (a phone, Finesse, a desktop) and a real server.
//!
//! Every chunk read from one side is numbered and recorded in the pcap (a file write), then
//! written to the other side unchanged and in order; only then is it decoded and printed
//! (trace text with direction and time) and collected for a flow file. Numbering and recording
//! before forwarding keeps cause before effect in the capture and the flow: an answer cannot
//! be read before the request it answers was forwarded. A frame that does
//! not decode is forwarded all the same and reported; a length no frame can have stops the
//! decoding of that direction (the frame boundaries are lost), never the forwarding.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Args;

use super::capture::{CaptureFile, TcpFlow};
use super::flowgen::{write_flow, FlowMessage};
use super::{describe, utc_text, DecodeOptions, Way};

/// `ccx proxy` options.
#[derive(Debug, Clone, Args)]
pub struct ProxyArgs {
    /// Address to listen on for the client (e.g. 0.0.0.0:12028).
    #[arg(long)]
    pub listen: String,
    /// The real CTI server (host:port).
    #[arg(long)]
    pub server: String,
    /// Also write everything as a pcap capture to this file.
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// Also write each session as a flow file (the second session to FILE.2, ...).
    #[arg(long, value_name = "FILE")]
    pub flow: Option<PathBuf>,
    /// Protocol version until a session's OPEN_REQ tells (10-18).
    #[arg(long, default_value_t = 17, value_parser = clap::value_parser!(u32).range(10..=18))]
    pub protocol_version: u32,
    /// Width of a floating field's length under version 18 (1 or 2 bytes).
    #[arg(long, default_value_t = ccx_cti::wire::V18_LENGTH_WIDTH_DEFAULT, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub v18_length_width: u8,
    /// Print passwords instead of `********`.
    #[arg(long)]
    pub show_secrets: bool,
    /// Cut the recorded capture's TCP segments to at most N bytes (frames then span segments,
    /// as on a slow or busy link); the forwarding is not affected.
    #[arg(long, value_name = "N", default_value_t = 65_535, hide = true)]
    pub segment_size: usize,
    /// Stop after this many client connections have come and gone.
    #[arg(long, value_name = "N")]
    pub connections: Option<usize>,
}

/// A running proxy.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    done: Arc<AtomicUsize>,
}

impl Proxy {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections that have come and gone.
    pub fn finished(&self) -> usize {
        self.done.load(Ordering::SeqCst)
    }

    /// Stop accepting and wait for the accept loop.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

type Out = Arc<Mutex<TraceOut>>;

/// Where the trace text goes. A proxy stands in a live session: when its trace can no longer
/// be written (the reader of a pipe went away) it keeps forwarding, says so once, and the pcap
/// and flow files go on.
struct TraceOut {
    writer: Box<dyn Write + Send>,
    lost: bool,
}

impl TraceOut {
    fn write_text(&mut self, text: &str) {
        if self.lost {
            return;
        }
        if let Err(e) = self
            .writer
            .write_all(text.as_bytes())
            .and_then(|()| self.writer.flush())
        {
            self.lost = true;
            eprintln!("ccx proxy: the trace text can no longer be written ({e}); still forwarding");
        }
    }
}

/// Start a proxy; trace text goes to `out`.
pub fn start(args: &ProxyArgs, out: Box<dyn Write + Send>) -> std::io::Result<Proxy> {
    let listener = TcpListener::bind(&args.listen)?;
    let addr = listener.local_addr()?;
    let server: SocketAddr = args
        .server
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("`{}` names no address", args.server)))?;
    let capture = match &args.pcap {
        Some(p) => Some(CaptureFile::create(p)?),
        None => None,
    };
    let out: Out = Arc::new(Mutex::new(TraceOut {
        writer: out,
        lost: false,
    }));
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let opts = DecodeOptions {
        version: args.protocol_version,
        v18_length_width: args.v18_length_width,
        show_secrets: args.show_secrets,
    };
    let flow_path = args.flow.clone();
    let segment = args.segment_size;
    let (stop2, done2) = (stop.clone(), done.clone());
    let accept = std::thread::Builder::new()
        .name("proxy-accept".into())
        .spawn(move || {
            let mut n = 0usize;
            for client in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                n += 1;
                let session = Session {
                    number: n,
                    server,
                    capture: capture.clone(),
                    out: out.clone(),
                    opts,
                    flow_path: flow_path.clone().map(|p| {
                        if n == 1 {
                            p
                        } else {
                            PathBuf::from(format!("{}.{n}", p.display()))
                        }
                    }),
                    done: done2.clone(),
                    segment,
                };
                let _ = std::thread::Builder::new()
                    .name(format!("proxy-{n}"))
                    .spawn(move || session.run(client));
            }
        })?;
    Ok(Proxy {
        addr,
        stop,
        accept: Some(accept),
        done,
    })
}

struct Session {
    number: usize,
    server: SocketAddr,
    capture: Option<CaptureFile>,
    out: Out,
    opts: DecodeOptions,
    flow_path: Option<PathBuf>,
    done: Arc<AtomicUsize>,
    segment: usize,
}

/// What both directions of one session share.
struct Shared {
    number: usize,
    out: Out,
    opts: DecodeOptions,
    flow: Option<Mutex<TcpFlow>>,
    version: Mutex<Option<u32>>,
    messages: Mutex<Vec<(u64, FlowMessage)>>,
    /// Chunks read so far, both ways: the order of events across the two directions.
    chunks: AtomicUsize,
}

impl Shared {
    fn print(&self, text: &str) {
        if let Ok(mut o) = self.out.lock() {
            o.write_text(text);
        }
    }
}

fn now_text() -> String {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    utc_text(t)
}

impl Session {
    fn run(self, client: TcpStream) {
        let peer = client.peer_addr().ok();
        let header = |s: &str| format!("# [{}] session {}: {s}\n", now_text(), self.number);
        let upstream = match TcpStream::connect(self.server) {
            Ok(s) => s,
            Err(e) => {
                if let Ok(mut o) = self.out.lock() {
                    o.write_text(&header(&format!(
                        "cannot reach the server {}: {e}",
                        self.server
                    )));
                }
                self.done.fetch_add(1, Ordering::SeqCst);
                return;
            }
        };
        let _ = client.set_nodelay(true);
        let _ = upstream.set_nodelay(true);
        let client_addr = peer.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
        let flow = self.capture.as_ref().and_then(|c| {
            TcpFlow::open(c, client_addr, self.server, self.segment)
                .ok()
                .map(Mutex::new)
        });
        let shared = Arc::new(Shared {
            number: self.number,
            out: self.out.clone(),
            opts: self.opts,
            flow,
            version: Mutex::new(None),
            messages: Mutex::new(Vec::new()),
            chunks: AtomicUsize::new(0),
        });
        shared.print(&header(&format!(
            "client {client_addr} <-> server {}",
            self.server
        )));
        let (Ok(c2), Ok(u2)) = (client.try_clone(), upstream.try_clone()) else {
            self.done.fetch_add(1, Ordering::SeqCst);
            return;
        };
        let s2 = shared.clone();
        let up = std::thread::spawn(move || pump(client, u2, Way::ToServer, &s2));
        pump(upstream, c2, Way::ToClient, &shared);
        let _ = up.join();
        if let Some(f) = &shared.flow {
            if let Ok(mut f) = f.lock() {
                let _ = f.close();
            }
        }
        shared.print(&header("closed"));
        if let Some(path) = &self.flow_path {
            let mut numbered = shared
                .messages
                .lock()
                .map(|m| m.clone())
                .unwrap_or_default();
            numbered.sort_by_key(|(n, _)| *n);
            let messages: Vec<FlowMessage> = numbered.into_iter().map(|(_, m)| m).collect();
            let title = format!(
                "session {} recorded by ccx proxy between {client_addr} and {}",
                self.number, self.server
            );
            if let Err(e) = std::fs::write(path, write_flow(&title, &messages)) {
                shared.print(&header(&format!("cannot write {}: {e}", path.display())));
            }
        }
        self.done.fetch_add(1, Ordering::SeqCst);
    }
}

/// Forward `from` -> `to` until `from` ends; decode on the side.
fn pump(mut from: TcpStream, mut to: TcpStream, way: Way, shared: &Shared) {
    let mut buf = vec![0u8; 65_536];
    let mut pending: Vec<u8> = Vec::new();
    let mut lost = false;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = buf.get(..n).unwrap_or(&[]);
        let order = shared.chunks.fetch_add(1, Ordering::SeqCst) as u64;
        if let Some(f) = &shared.flow {
            if let Ok(mut f) = f.lock() {
                let _ = f.data(way, chunk);
            }
        }
        // Forward before decoding: decoding may not hold the bytes back.
        if to.write_all(chunk).is_err() {
            break;
        }
        if lost {
            continue;
        }
        pending.extend_from_slice(chunk);
        lost = !frames(&mut pending, way, shared, order);
    }
    let _ = to.shutdown(Shutdown::Write);
    if !pending.is_empty() && !lost {
        shared.print(&format!(
            "# ! [{}] session {} {}: the connection ended inside a frame ({} bytes of it)\n",
            now_text(),
            shared.number,
            way.arrow(),
            pending.len()
        ));
    }
}

/// Decode and print the whole frames at the front of `pending`; false when a length no frame
/// can have makes the rest of this direction unreadable.
fn frames(pending: &mut Vec<u8>, way: Way, shared: &Shared, order: u64) -> bool {
    let mut used = 0usize;
    let mut ok = true;
    while let Some(head) = pending.get(used..used + 8) {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        if len > 12_492 {
            shared.print(&format!(
                "# ! [{}] session {} {}: a frame declares {len} body bytes (more than 12492): forwarded, not decoded from here on\n",
                now_text(),
                shared.number,
                way.arrow()
            ));
            ok = false;
            used = pending.len();
            break;
        }
        let total = 8 + len as usize;
        let Some(frame) = pending.get(used..used + total) else {
            break;
        };
        used += total;
        let type_id = u32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
        let mut version = shared.version.lock().map(|v| *v).unwrap_or(None);
        if way == Way::ToServer && type_id == 3 && frame.len() >= 16 {
            let v = u32::from_be_bytes([frame[12], frame[13], frame[14], frame[15]]);
            if (10..=18).contains(&v) {
                version = Some(v);
                if let Ok(mut g) = shared.version.lock() {
                    *g = Some(v);
                }
            }
        }
        let at = now_text();
        match describe(
            frame,
            shared.opts.wire_version(version),
            shared.opts.show_secrets,
        ) {
            Ok(message) => {
                shared.print(&format!(
                    "# [{at}] session {} {}\n{}",
                    shared.number,
                    way.arrow(),
                    message.text
                ));
                if let Ok(mut m) = shared.messages.lock() {
                    m.push((order, FlowMessage { way, message, at }));
                }
            }
            Err(e) => {
                let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
                shared.print(&format!(
                    "# ! [{at}] session {} {}: malformed frame, forwarded unchanged: {e}\n# ! {hex}\n",
                    shared.number,
                    way.arrow()
                ));
            }
        }
    }
    pending.drain(..used.min(pending.len()));
    ok
}

/// `ccx proxy`: run until stopped (or until `--connections` sessions have ended).
pub fn proxy_main(args: &ProxyArgs) -> std::process::ExitCode {
    let proxy = match start(args, Box::new(std::io::stdout())) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot start the proxy on {}: {e}", args.listen);
            return std::process::ExitCode::from(2);
        }
    };
    eprintln!(
        "ccx proxy: listening on {}, forwarding to {}",
        proxy.addr(),
        args.server
    );
    loop {
        std::thread::sleep(Duration::from_millis(100));
        if args.connections.is_some_and(|n| proxy.finished() >= n) {
            break;
        }
    }
    proxy.stop();
    std::process::ExitCode::SUCCESS
}
