//! Sockets of the simulator: the acceptor, a reader and a writer thread per connection (the
//! writer is where faults are injected), and the standby's probe of its peer.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use ccx_cti::wire::{
    tag, Encoder, FeedResult, FrameAccumulator, MessageType, WireVersion, HEADER_LEN,
};

use super::config::{Faults, SimConfig};
use super::world::{After, Out, World};
use super::{lock, NodeState};

/// Pause after a failed accept (out of descriptors), so as not to spin.
const ACCEPT_POLL: Duration = Duration::from_millis(10);
/// A tag no message of the protocol table uses, for the unknown-tag fault.
const UNKNOWN_TAG_V17: u16 = 251;
/// The same for version 18 (2-byte tags).
const UNKNOWN_TAG_V18: u16 = 9_999;
/// A message type the protocol does not define, for the unknown-message fault.
const UNKNOWN_MESSAGE_TYPE: u32 = 9_999;

fn spawn_named(name: &str, f: impl FnOnce() + Send + 'static) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name(name.to_string()).spawn(f)
}

pub(super) fn spawn_acceptor(
    listener: TcpListener,
    node: Arc<NodeState>,
    world: Arc<Mutex<World>>,
    cfg: SimConfig,
) -> std::io::Result<JoinHandle<()>> {
    spawn_named("sim-accept", move || loop {
        let accepted = listener.accept();
        // `stop` sets the flag, then connects once to wake this blocking accept.
        if node.stopped.load(Ordering::SeqCst) {
            return;
        }
        match accepted {
            Ok((stream, peer)) => {
                log::debug!("simulator: connection from {peer}");
                if let Err(e) = serve(stream, &node, &world, &cfg.faults) {
                    log::warn!("simulator: cannot serve {peer}: {e}");
                }
            }
            Err(e) => {
                log::warn!("simulator: accept failed: {e}");
                std::thread::sleep(ACCEPT_POLL);
            }
        }
    })
}

fn serve(
    stream: TcpStream,
    node: &Arc<NodeState>,
    world: &Arc<Mutex<World>>,
    faults: &Faults,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    let writer_stream = stream.try_clone()?;
    let (tx, rx) = mpsc::channel();
    let conn_id = lock(world).add_conn(tx, Arc::clone(node));
    let seq = node.conn_seq.fetch_add(1, Ordering::SeqCst);
    let (f1, n1) = (faults.clone(), Arc::clone(node));
    spawn_named("sim-write", move || write_loop(writer_stream, rx, &f1, &n1))?;
    let (f2, n2, w2) = (faults.clone(), Arc::clone(node), Arc::clone(world));
    spawn_named("sim-read", move || {
        read_loop(stream, conn_id, seq, &f2, &n2, &w2)
    })?;
    Ok(())
}

fn read_loop(
    mut stream: TcpStream,
    conn_id: u64,
    seq: u64,
    faults: &Faults,
    node: &NodeState,
    world: &Mutex<World>,
) {
    let mut acc: Box<FrameAccumulator> = Box::default();
    let mut buf = vec![0u8; 16 * 1024];
    let mut received: u32 = 0;
    let mut rng = StdRng::seed_from_u64(faults.seed ^ seq.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    'read: loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut offset = 0;
        while offset < n {
            let Some(input) = buf.get(offset..n) else {
                break;
            };
            let rest = match acc.feed(input) {
                FeedResult::Consumed => break,
                FeedResult::Frame { frame, remaining } => {
                    let after = lock(world).on_frame(conn_id, frame, Instant::now());
                    if after == After::Close {
                        break 'read;
                    }
                    remaining.len()
                }
                FeedResult::Error { error, .. } => {
                    log::warn!("simulator: connection {conn_id}: {error}; closing");
                    break 'read;
                }
            };
            offset = n - rest;
            received = received.saturating_add(1);
            if faults.drop_after.is_some_and(|limit| received >= limit) {
                node.count_fault("drop-after");
                break 'read;
            }
            if faults.drop_probability > 0.0 && rng.gen::<f64>() < faults.drop_probability {
                node.count_fault("drop-random");
                break 'read;
            }
        }
    }
    // The writer closes the socket once it has sent what is queued (a CLOSE_CONF).
    lock(world).remove_conn(conn_id);
}

/// Grow the header's MessageLength by `extra` body bytes.
fn grow_length(frame: &mut [u8], extra: usize) {
    if let Some(head) = frame.get_mut(..4) {
        let mut len = [0u8; 4];
        len.copy_from_slice(head);
        let new = u32::from_be_bytes(len).saturating_add(u32::try_from(extra).unwrap_or(0));
        head.copy_from_slice(&new.to_be_bytes());
    }
}

/// Append a floating-field header (tag, length) with the version's widths, and `data`.
fn append_field(
    frame: &mut Vec<u8>,
    version: WireVersion,
    tag_id: u16,
    declared: usize,
    data: &[u8],
) {
    let before = frame.len();
    let tag_bytes = u32::from(tag_id).to_be_bytes();
    let len_bytes = u32::try_from(declared).unwrap_or(0).to_be_bytes();
    frame.extend_from_slice(tag_bytes.get(4 - version.tag_width()..).unwrap_or(&[]));
    frame.extend_from_slice(len_bytes.get(4 - version.length_width()..).unwrap_or(&[]));
    frame.extend_from_slice(data);
    let added = frame.len() - before;
    grow_length(frame, added);
}

fn unknown_message(version: WireVersion) -> Vec<u8> {
    let mut buf = vec![0u8; 64];
    let mut enc = Encoder::new(
        &mut buf,
        MessageType::Unknown(UNKNOWN_MESSAGE_TYPE),
        version,
    );
    enc.raw(&[0xDE, 0xAD, 0xBE, 0xEF]);
    match enc.finish() {
        Ok(n) => {
            buf.truncate(n);
            buf
        }
        Err(_) => Vec::new(),
    }
}

fn every(n: Option<u32>, count: u32) -> bool {
    n.is_some_and(|n| n > 0 && count.is_multiple_of(n))
}

/// Apply the per-frame faults to `frame` and append it to `batch`; false when the
/// connection is to be cut after the batch (a truncated frame).
fn add_frame(
    batch: &mut Vec<u8>,
    mut frame: Vec<u8>,
    version: WireVersion,
    sent: u32,
    faults: &Faults,
    node: &NodeState,
) -> bool {
    if faults.unknown_tags && frame.len() >= HEADER_LEN {
        let t = if version.tag_width() == 1 {
            UNKNOWN_TAG_V17
        } else {
            UNKNOWN_TAG_V18
        };
        append_field(&mut frame, version, t, 2, &[0xAB, 0xCD]);
        node.count_fault("unknown-tag");
    }
    if every(faults.corrupt_every, sent) {
        // A field that declares more data than the body holds: the frame still frames,
        // but does not decode.
        append_field(&mut frame, version, tag::CONNECTION_DEVICE_ID, 200, &[]);
        node.count_fault("corrupt");
    }
    if every(faults.truncate_every, sent) {
        let half = frame.len() / 2;
        batch.extend_from_slice(frame.get(..half).unwrap_or(&[]));
        node.count_fault("truncate");
        return false;
    }
    batch.extend_from_slice(&frame);
    if every(faults.unknown_message_every, sent) {
        batch.extend_from_slice(&unknown_message(version));
        node.count_fault("unknown-message");
    }
    true
}

fn write_loop(mut stream: TcpStream, rx: Receiver<Out>, faults: &Faults, node: &NodeState) {
    let mut sent: u32 = 0;
    let mut batch = Vec::with_capacity(4096);
    // Frames queued together (an event burst) go out in one write, so the client wakes once.
    'outer: while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        let mut keep = true;
        let mut close = false;
        batch.clear();
        while let Some(out) = next.take() {
            match out {
                Out::Frame(frame, version) => {
                    sent = sent.wrapping_add(1);
                    keep = add_frame(&mut batch, frame, version, sent, faults, node);
                    if !keep {
                        break;
                    }
                }
                Out::Close => {
                    close = true;
                    break;
                }
            }
            next = rx.try_recv().ok();
        }
        if faults.delay_ms > 0 {
            std::thread::sleep(Duration::from_millis(faults.delay_ms));
        }
        if stream.write_all(&batch).is_err() || !keep || close {
            break 'outer;
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

pub(super) fn spawn_prober(peer: String, node: Arc<NodeState>, cfg: &SimConfig) -> JoinHandle<()> {
    let interval = Duration::from_millis(cfg.probe_interval_ms.max(10));
    let limit = cfg.probe_failures.max(1);
    let started = spawn_named("sim-probe", move || {
        let mut failures = 0;
        while !node.stopped.load(Ordering::SeqCst) && !node.is_master() {
            let alive = peer
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .is_some_and(|addr| TcpStream::connect_timeout(&addr, interval).is_ok());
            failures = if alive { 0 } else { failures + 1 };
            if failures >= limit {
                log::info!("simulator: peer {peer} did not answer {failures} probes; taking over as master");
                node.master.store(true, Ordering::SeqCst);
                return;
            }
            std::thread::sleep(interval);
        }
    });
    match started {
        Ok(h) => h,
        Err(e) => {
            log::error!("simulator: cannot start the peer probe: {e}");
            std::thread::spawn(|| {})
        }
    }
}
