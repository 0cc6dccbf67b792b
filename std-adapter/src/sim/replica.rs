//! The replication link between two simulator processes (`ccx sim --replication ADDR`).
//!
//! The master listens on ADDR and sends the standby its state (agents, calls, campaign
//! progress: `world::Replica`) as one JSON line whenever it changed, and an empty line every
//! interval otherwise. The standby applies each state and holds still (no arrivals, no
//! timers) while it is standby. When the master falls silent — killed, paused or cut off —
//! for `silence`, the standby takes over with the state the phones had, and records how
//! long after the master's last word that was (the failover time).
//!
//! Island mode: `isolate` cuts the link (the phones still reach both sides). The standby
//! takes over, and both sides are master, each with its own phones. When the link heals, the
//! side that took over finds the other one still speaking as master: it hands over the state
//! of the agents it has sessions for (and their calls), demotes, and follows again; its
//! phones, refused with E_CTI_SERVER_NOT_MASTER, move to the master and find their state.

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::net::LoopHandle;
use super::NodeState;

/// SYSTEM_EVENT CCXStatus CCX_SHUTTING_DOWN and SystemEventID SYS_CCX_OFFLINE
/// (<https://developer.cisco.com/docs/contact-center-express/systemeventid-values>): what the
/// side that demotes after an island tells its phones before it closes their sessions.
const CCX_SHUTTING_DOWN: u32 = 0x200;
const SYS_CCX_OFFLINE: u32 = 4;

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
            if node.isolated.load(Ordering::SeqCst) {
                // Cut off: connections wait in the backlog until the link heals.
                std::thread::sleep(INTERVAL);
                continue;
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

/// Send the state to one standby until it goes away, this side stops being master, or the
/// link is cut; take a handover from it (an island healing).
fn feed(mut stream: TcpStream, cluster: &Weak<LoopHandle>, node: &NodeState) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let Ok(incoming) = stream.try_clone() else {
        return;
    };
    let _ = incoming.set_read_timeout(Some(Duration::from_millis(5)));
    let mut incoming = BufReader::new(incoming);
    let mut partial = Vec::new();
    let mut last = String::new();
    loop {
        if node.stopped.load(Ordering::SeqCst)
            || !node.is_master()
            || node.isolated.load(Ordering::SeqCst)
        {
            return;
        }
        let Some(c) = cluster.upgrade() else {
            return;
        };
        let Some(replica) = c.call(|c| c.world.replica()) else {
            return;
        };
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
        match incoming.read_until(b'\n', &mut partial) {
            Ok(0) => return,
            Ok(_) if partial.ends_with(b"\n") => {
                let text = String::from_utf8_lossy(&partial).into_owned();
                partial.clear();
                if let Some(json) = text.strip_prefix("handover ") {
                    match serde_json::from_str::<super::world::Replica>(json) {
                        Ok(r) => {
                            let came = c.call(move |c| c.world.apply_handover(r)).unwrap_or(0);
                            log::info!(
                                "simulator: island healed: the other side demoted and handed over {came} agent(s) with their calls"
                            );
                        }
                        Err(e) => log::warn!("simulator: replication link: a bad handover: {e}"),
                    }
                }
            }
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
        drop(c);
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
    let node = Arc::clone(&node);
    std::thread::Builder::new()
        .name("ccx-sim-follow".into())
        .spawn(move || {
            let mut heard: Option<Instant> = None;
            let mut applied = 0u64;
            while !node.stopped.load(Ordering::SeqCst) {
                let isolated = node.isolated.load(Ordering::SeqCst);
                if !node.is_master() && !isolated {
                    if let Some(stream) = connect(&addr) {
                        read(stream, &cluster, &node, silence, &mut heard, &mut applied);
                    }
                } else if node.is_master() && !isolated {
                    // Master by takeover: if the other side answers as master, an island heals.
                    if let Some(stream) = connect(&addr) {
                        heal(stream, &cluster, &node, &mut heard);
                    }
                }
                if !node.is_master() && heard.is_some_and(|h| h.elapsed() >= silence) {
                    take_over(&node, &cluster, heard, applied);
                }
                std::thread::sleep(INTERVAL);
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
        if node.stopped.load(Ordering::SeqCst)
            || node.is_master()
            || node.isolated.load(Ordering::SeqCst)
        {
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

fn take_over(node: &NodeState, cluster: &Weak<LoopHandle>, heard: Option<Instant>, applied: u64) {
    let ms = heard.map_or(0, |h| {
        u64::try_from(h.elapsed().as_millis()).unwrap_or(u64::MAX)
    });
    node.failover_ms.store(ms, Ordering::SeqCst);
    node.master.store(true, Ordering::SeqCst);
    if let Some(c) = cluster.upgrade() {
        c.call(|c| c.world.took_over());
    }
    log::info!(
        "simulator: the master fell silent; master now, {ms} ms after its last word, with its state ({applied} states applied)"
    );
}

/// The other side answers on the link while this side is master: hand over this side's
/// agents, demote (its sessions close; the phones move over), and follow again.
fn heal(
    stream: TcpStream,
    cluster: &Weak<LoopHandle>,
    node: &Arc<NodeState>,
    heard: &mut Option<Instant>,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut first = String::new();
    // The master's first line is its whole state.
    if reader.read_line(&mut first).unwrap_or(0) == 0 || first.trim().is_empty() {
        return;
    }
    let Ok(theirs) = serde_json::from_str::<super::world::Replica>(&first) else {
        return;
    };
    let Some(c) = cluster.upgrade() else {
        return;
    };
    let n = Arc::clone(node);
    let Some(mine) = c.call(move |c| c.world.replica_of(&n)) else {
        return;
    };
    let agents = mine.agent_count();
    let line = serde_json::to_string(&mine).unwrap_or_default();
    if out
        .write_all(format!("handover {line}\n").as_bytes())
        .is_err()
    {
        return;
    }
    node.master.store(false, Ordering::SeqCst);
    let n = Arc::clone(node);
    c.call(move |c| {
        // As a node going out of service does: SYSTEM_EVENT, then the sessions close.
        c.world
            .report_to_node(&n, CCX_SHUTTING_DOWN, SYS_CCX_OFFLINE);
        c.world.close_node(&n);
        c.world.apply_replica(theirs);
        c.world.paused = true;
    });
    *heard = Some(Instant::now());
    log::info!(
        "simulator: island healed: the other side is master; this side handed over {agents} agent(s) and demoted"
    );
}
