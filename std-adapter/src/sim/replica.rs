//! The replication link between two simulator processes (`ccx sim --replication ADDR`).
//!
//! The master listens on ADDR and sends the standby its state (agents, calls, campaign
//! progress: `world::Replica`) as one JSON line whenever it changed, and an empty line every
//! interval otherwise. The standby applies each state and holds still (no arrivals, no
//! timers) while it is standby. When the master falls silent — killed, paused or cut off —
//! for `silence`, the standby takes over with the state the phones had, and records how
//! long after the master's last word that was (the failover time).

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::net::LoopHandle;
use super::NodeState;

/// How often the master speaks on the link.
pub(super) const INTERVAL: Duration = Duration::from_millis(50);

/// The master's end: serve the link on `listen` until the cluster's loop is gone.
pub(super) fn serve(
    listen: &str,
    cluster: Weak<LoopHandle>,
    node: Arc<NodeState>,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(listen)?;
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    std::thread::Builder::new()
        .name("ccx-sim-replica".into())
        .spawn(move || loop {
            if cluster.strong_count() == 0 || node.stopped.load(Ordering::SeqCst) {
                return;
            }
            match listener.accept() {
                Ok((stream, peer)) => {
                    log::info!("simulator: standby {peer} follows this side");
                    feed(stream, &cluster, &node);
                    log::info!("simulator: standby {peer} left the replication link");
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(INTERVAL),
                Err(e) => {
                    log::warn!("simulator: replication link: accept failed: {e}");
                    std::thread::sleep(INTERVAL);
                }
            }
        })?;
    log::info!("simulator: replication link on {addr}");
    Ok(addr)
}

/// Send the state to one standby until it goes away or this side stops being master.
fn feed(mut stream: TcpStream, cluster: &Weak<LoopHandle>, node: &NodeState) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let mut last = String::new();
    loop {
        if node.stopped.load(Ordering::SeqCst) || !node.is_master() {
            return;
        }
        let Some(c) = cluster.upgrade() else {
            return;
        };
        let Some(replica) = c.call(|c| c.world.replica()) else {
            return;
        };
        drop(c);
        let line = serde_json::to_string(&replica).unwrap_or_default();
        let sent = if line != last {
            let r = stream.write_all(format!("{line}\n").as_bytes());
            last = line;
            r
        } else {
            stream.write_all(b"\n")
        };
        if sent.is_err() {
            return;
        }
        std::thread::sleep(INTERVAL);
    }
}

/// The standby's end: follow the master at `addr`; take over after `silence` without a word.
pub(super) fn follow(
    addr: String,
    cluster: Weak<LoopHandle>,
    node: Arc<NodeState>,
    silence: Duration,
) -> std::io::Result<JoinHandle<()>> {
    if let Some(c) = cluster.upgrade() {
        c.call(|c| c.world.paused = true);
    }
    std::thread::Builder::new()
        .name("ccx-sim-follow".into())
        .spawn(move || {
            let mut heard: Option<Instant> = None;
            let mut applied = 0u64;
            while !node.stopped.load(Ordering::SeqCst) && !node.is_master() {
                if let Some(stream) = connect(&addr) {
                    read(stream, &cluster, &node, silence, &mut heard, &mut applied);
                }
                if !node.is_master() && heard.is_some_and(|h| h.elapsed() >= silence) {
                    take_over(&node, heard, applied);
                }
                std::thread::sleep(INTERVAL);
            }
            if let Some(c) = cluster.upgrade() {
                c.call(|c| c.world.paused = false);
            }
        })
}

fn connect(addr: &str) -> Option<TcpStream> {
    let sa = addr.to_socket_addrs().ok()?.next()?;
    TcpStream::connect_timeout(&sa, Duration::from_millis(200)).ok()
}

fn read(
    stream: TcpStream,
    cluster: &Weak<LoopHandle>,
    node: &NodeState,
    silence: Duration,
    heard: &mut Option<Instant>,
    applied: &mut u64,
) {
    let _ = stream.set_read_timeout(Some(INTERVAL));
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        if node.stopped.load(Ordering::SeqCst) || node.is_master() {
            return;
        }
        match reader.read_line(&mut line) {
            Ok(0) => return,
            Ok(_) if line.ends_with('\n') => {
                *heard = Some(Instant::now());
                let text = std::mem::take(&mut line);
                if text.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<super::world::Replica>(&text) {
                    Ok(r) => {
                        let Some(c) = cluster.upgrade() else {
                            return;
                        };
                        c.call(move |c| c.world.apply_replica(r));
                        *applied += 1;
                    }
                    Err(e) => log::warn!("simulator: replication link: a bad state: {e}"),
                }
            }
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if heard.is_some_and(|h| h.elapsed() >= silence) {
                    // Paused or cut off: silent while the connection stays up.
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

fn take_over(node: &NodeState, heard: Option<Instant>, applied: u64) {
    let ms = heard.map_or(0, |h| {
        u64::try_from(h.elapsed().as_millis()).unwrap_or(u64::MAX)
    });
    node.failover_ms.store(ms, Ordering::SeqCst);
    node.master.store(true, Ordering::SeqCst);
    log::info!(
        "simulator: the master fell silent; master now, {ms} ms after its last word, with its state ({applied} states applied)"
    );
}
