//! The replication link between two simulator processes (`ccx sim --replication ADDR`).
//!
//! Side A listens on ADDR; side B (`--standby`) connects to it. Whoever connects says
//! first whether it is master and how many sessions it has (`hello {..}`); the listening
//! side answers with the role the connecting side takes on this connection (`role feed`:
//! send your state; `role follow`: take mine; `role none`: neither of us is master). The
//! master then sends its whole state (agents, calls, campaign progress: `world::Replica`) as
//! one JSON line, then every interval what changed since (`delta` and a `world::Delta`: the
//! records the world marked as it changed them), or an empty line when nothing did; the standby
//! applies each state and holds still (no arrivals, no timers). When the master falls
//! silent — killed, paused or cut off — for `silence`, the standby takes over with the
//! state the phones had, and records how long after the master's last word that was.
//!
//! Side A starts by listening for a while before it calls itself master: if side B is
//! master already (A was killed and B took over), A joins as B's standby and takes B's
//! state, so a restarted master never makes a second master.
//!
//! Island mode: the link is cut (`isolate`, or the network) while the phones still reach
//! both sides. The standby takes over, and both sides are master, each with its own phones.
//! When the two sides see each other again, one of them demotes: the side with fewer
//! sessions, or side B on a tie. It hands over the state of the agents it has sessions for
//! (and their calls), tells its phones SYSTEM_EVENT SYS_CCX_OFFLINE, closes their sessions
//! and follows; its phones, refused with E_CTI_SERVER_NOT_MASTER, move to the other side
//! and find their state there.

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::net::LoopHandle;
use super::NodeState;

/// SYSTEM_EVENT CCXStatus CCX_SHUTTING_DOWN and SystemEventID SYS_CCX_OFFLINE
/// (<https://developer.cisco.com/docs/contact-center-express/systemeventid-values>): what the
/// side that demotes after an island tells its phones before it closes their sessions.
const CCX_SHUTTING_DOWN: u32 = 0x200;
const SYS_CCX_OFFLINE: u32 = 4;

/// How often the master speaks on the link.
pub(super) const INTERVAL: Duration = Duration::from_millis(50);

/// How long the connecting side waits for the listening side's answer to its hello.
const HELLO_WAIT: Duration = Duration::from_secs(1);

/// What went over the link, for the metrics endpoint (`ccx_sim_replication_*`).
#[derive(Debug, Default)]
pub(crate) struct LinkStats {
    /// States sent (as master) and applied (as standby).
    states_sent: AtomicU64,
    states_applied: AtomicU64,
    /// Bytes of states and keep-alive lines sent and received.
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
    /// Microseconds the master's loop spent taking its state for the link, and the standby's
    /// applying one: what replication costs the simulator's one thread.
    snapshot_us: AtomicU64,
    apply_us: AtomicU64,
}

impl LinkStats {
    fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    fn add_time(counter: &AtomicU64, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        counter.fetch_add(us, Ordering::Relaxed);
    }

    /// The Prometheus text lines.
    pub(crate) fn render(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let secs = |c: &AtomicU64| get(c) as f64 / 1e6;
        format!(
            "# HELP ccx_sim_replication_states_total States sent to the standby / applied from the master.\n\
             # TYPE ccx_sim_replication_states_total counter\n\
             ccx_sim_replication_states_total{{direction=\"sent\"}} {}\n\
             ccx_sim_replication_states_total{{direction=\"applied\"}} {}\n\
             # HELP ccx_sim_replication_bytes_total Bytes on the replication link.\n\
             # TYPE ccx_sim_replication_bytes_total counter\n\
             ccx_sim_replication_bytes_total{{direction=\"sent\"}} {}\n\
             ccx_sim_replication_bytes_total{{direction=\"received\"}} {}\n\
             # HELP ccx_sim_replication_loop_seconds_total Time the simulator's loop spent taking states (master) or applying them (standby).\n\
             # TYPE ccx_sim_replication_loop_seconds_total counter\n\
             ccx_sim_replication_loop_seconds_total{{work=\"snapshot\"}} {}\n\
             ccx_sim_replication_loop_seconds_total{{work=\"apply\"}} {}\n",
            get(&self.states_sent),
            get(&self.states_applied),
            get(&self.bytes_sent),
            get(&self.bytes_received),
            secs(&self.snapshot_us),
            secs(&self.apply_us),
        )
    }
}

/// What the connecting side says first.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Hello {
    master: bool,
    sessions: usize,
    /// A standby that has followed a master (and holds its state).
    followed: bool,
}

/// What one side remembers of its master's words.
#[derive(Debug, Default)]
struct Heard {
    /// When the master last spoke (`None`: no master was ever heard).
    last: Option<Instant>,
    /// States applied so far.
    applied: u64,
}

impl Heard {
    fn silent_for(&self, silence: Duration) -> bool {
        self.last.is_some_and(|h| h.elapsed() >= silence)
    }
}

/// One connection: its reading half (buffered: the handshake's lines and the states share
/// it) and its writing half.
struct Link {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Link {
    fn new(stream: TcpStream, read_timeout: Duration) -> Option<Link> {
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_nodelay(true);
        let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
        let _ = stream.set_read_timeout(Some(read_timeout));
        let writer = stream.try_clone().ok()?;
        Some(Link {
            reader: BufReader::new(stream),
            writer,
        })
    }

    fn send(&mut self, line: &str) -> bool {
        self.writer
            .write_all(format!("{line}\n").as_bytes())
            .is_ok()
    }

    /// One whole line, or `None` (closed, timed out, not text).
    fn line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(n) if n > 0 && line.ends_with('\n') => Some(line),
            _ => None,
        }
    }

    fn set_read_timeout(&self, t: Duration) {
        let _ = self.reader.get_ref().set_read_timeout(Some(t));
    }
}

/// This side's hello: whether it is master and how many sessions it has.
fn hello_of(cluster: &Weak<LoopHandle>, node: &Arc<NodeState>, heard: &Heard) -> Option<Hello> {
    let c = cluster.upgrade()?;
    let n = Arc::clone(node);
    let sessions = c.call(move |c| c.world.sessions_of(&n))?;
    Some(Hello {
        master: node.is_master(),
        sessions,
        followed: heard.applied > 0,
    })
}

/// Side A's end: listen on `listen` until the cluster's loop is gone. It joins first: it is
/// master only if no master answers within `silence`.
pub(super) fn serve(
    listen: &str,
    cluster: Weak<LoopHandle>,
    node: Arc<NodeState>,
    silence: Duration,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(listen)?;
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    // Hold still until it is known whether the other side is master already.
    let was_master = node.master.swap(false, Ordering::SeqCst);
    if let Some(c) = cluster.upgrade() {
        c.call(|c| c.world.paused = true);
    }
    std::thread::Builder::new()
        .name("ccx-sim-replica".into())
        .spawn(move || {
            let started = Instant::now();
            let mut joining = was_master;
            let mut heard = Heard::default();
            loop {
                if cluster.strong_count() == 0 || node.stopped.load(Ordering::SeqCst) {
                    return;
                }
                if joining && started.elapsed() >= silence {
                    joining = false;
                    start_as_master(&node, &cluster);
                }
                if !node.is_master() && heard.silent_for(silence) {
                    take_over(&node, &cluster, &mut heard);
                }
                if node.isolated.load(Ordering::SeqCst) {
                    // Cut off: a connection is closed at once, as over a cut link (left in
                    // the backlog it would bring a stale hello when the link is back).
                    while listener.accept().is_ok() {}
                    std::thread::sleep(INTERVAL);
                    continue;
                }
                match listener.accept() {
                    Ok((stream, peer)) => {
                        if let Some(link) = Link::new(stream, HELLO_WAIT) {
                            answer(
                                link,
                                peer,
                                &cluster,
                                &node,
                                &mut joining,
                                &mut heard,
                                silence,
                            );
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(INTERVAL),
                    Err(e) => {
                        log::warn!("simulator: replication link: accept failed: {e}");
                        std::thread::sleep(INTERVAL);
                    }
                }
            }
        })?;
    log::info!("simulator: replication link on {addr}");
    Ok(addr)
}

/// Side A takes the hello of side B and answers with B's role on this connection.
fn answer(
    mut link: Link,
    peer: SocketAddr,
    cluster: &Weak<LoopHandle>,
    node: &Arc<NodeState>,
    joining: &mut bool,
    heard: &mut Heard,
    silence: Duration,
) {
    let Some(theirs) = link
        .line()
        .and_then(|l| l.strip_prefix("hello ").map(str::to_owned))
        .and_then(|j| serde_json::from_str::<Hello>(&j).ok())
    else {
        log::warn!("simulator: replication link: {peer} said no hello; closed");
        return;
    };
    if *joining && !theirs.master && !theirs.followed {
        // A fresh standby: this side is the master it waits for. (A standby that holds a
        // master's state takes over first: this side then joins it.)
        *joining = false;
        start_as_master(node, cluster);
    }
    let Some(mine) = hello_of(cluster, node, heard) else {
        return;
    };
    match (mine.master, theirs.master) {
        (true, false) => {
            if link.send("role follow") {
                log::info!("simulator: standby {peer} follows this side");
                feed(link, cluster, node);
                log::info!("simulator: standby {peer} left the replication link");
            }
        }
        (true, true) => {
            if mine.sessions < theirs.sessions {
                // Island healing: this side has fewer sessions and demotes (on a tie,
                // the connecting side does).
                if link.send("role feed") && give_way(&mut link, cluster, node) {
                    heard.last = Some(Instant::now());
                    follow_on(link, cluster, node, silence, heard);
                }
            } else if link.send("role follow") {
                feed(link, cluster, node);
            }
        }
        (false, true) => {
            if *joining {
                *joining = false;
                log::info!("simulator: {peer} is master already: this side joins as its standby");
            }
            if link.send("role feed") {
                heard.last = Some(Instant::now());
                follow_on(link, cluster, node, silence, heard);
            }
        }
        (false, false) => {
            let _ = link.send("role none");
        }
    }
}

/// Side B's end: connect to side A at `addr` again and again; follow it, feed it, or (an
/// island healing) demote to it, as its answer says; take over after `silence` without a
/// word from a master.
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
            let mut heard = Heard::default();
            while !node.stopped.load(Ordering::SeqCst) && cluster.strong_count() > 0 {
                if !node.is_master() && heard.silent_for(silence) {
                    take_over(&node, &cluster, &mut heard);
                }
                if !node.isolated.load(Ordering::SeqCst) {
                    if let Some(link) = connect(&addr) {
                        greet(link, &cluster, &node, silence, &mut heard);
                    }
                }
                std::thread::sleep(INTERVAL);
            }
        })
}

fn connect(addr: &str) -> Option<Link> {
    let sa = addr.to_socket_addrs().ok()?.next()?;
    let stream = TcpStream::connect_timeout(&sa, Duration::from_millis(200)).ok()?;
    Link::new(stream, HELLO_WAIT)
}

/// Side B says hello and takes the role side A gives it.
fn greet(
    mut link: Link,
    cluster: &Weak<LoopHandle>,
    node: &Arc<NodeState>,
    silence: Duration,
    heard: &mut Heard,
) {
    let Some(mine) = hello_of(cluster, node, heard) else {
        return;
    };
    let hello = serde_json::to_string(&mine).unwrap_or_default();
    if !link.send(&format!("hello {hello}")) {
        return;
    }
    let Some(role) = link.line() else {
        return;
    };
    match role.trim() {
        "role feed" => feed(link, cluster, node),
        "role follow" => {
            if node.is_master() && !give_way(&mut link, cluster, node) {
                return;
            }
            follow_on(link, cluster, node, silence, heard);
        }
        _ => {}
    }
}

/// Send the state to the other side until it goes away, this side stops being master, or
/// the link is cut; take a handover from it (an island healing). The world marks what it
/// changes while it feeds a standby; when the feed ends, it stops.
fn feed(mut link: Link, cluster: &Weak<LoopHandle>, node: &NodeState) {
    let mut fed = None;
    feed_on(&mut link, cluster, node, &mut fed);
    if let (Some(id), Some(c)) = (fed, cluster.upgrade()) {
        c.call(move |c| c.world.end_feed(id));
    }
}

fn feed_on(link: &mut Link, cluster: &Weak<LoopHandle>, node: &NodeState, fed: &mut Option<u64>) {
    link.set_read_timeout(Duration::from_millis(5));
    let mut partial = Vec::new();
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
        // The whole state first, then only the records the world marked since.
        let last = *fed;
        let Some((id, update, took)) = c.call(move |c| {
            let start = Instant::now();
            let (id, update) = c.world.update_for(last);
            (id, update, start.elapsed())
        }) else {
            return;
        };
        *fed = Some(id);
        LinkStats::add_time(&node.link.snapshot_us, took);
        if !matches!(update, super::world::Update::Nothing) {
            LinkStats::add(&node.link.states_sent, 1);
        }
        let line = update.line();
        LinkStats::add(&node.link.bytes_sent, line.len() + 1);
        if !link.send(&line) {
            return;
        }
        match link.reader.read_until(b'\n', &mut partial) {
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

/// Apply the master's states until it falls silent for `silence`, the connection closes,
/// this side becomes master, or the link is cut.
fn follow_on(
    mut link: Link,
    cluster: &Weak<LoopHandle>,
    node: &NodeState,
    silence: Duration,
    heard: &mut Heard,
) {
    link.set_read_timeout(INTERVAL);
    let mut line = String::new();
    loop {
        if node.stopped.load(Ordering::SeqCst)
            || node.is_master()
            || node.isolated.load(Ordering::SeqCst)
        {
            return;
        }
        match link.reader.read_line(&mut line) {
            Ok(0) => return,
            Ok(_) if line.ends_with('\n') => {
                heard.last = Some(Instant::now());
                LinkStats::add(&node.link.bytes_received, line.len());
                let text = std::mem::take(&mut line);
                match super::world::Update::parse(&text) {
                    Ok(super::world::Update::Nothing) => {}
                    Ok(update) => {
                        let Some(c) = cluster.upgrade() else {
                            return;
                        };
                        if let Some(took) = c.call(move |c| {
                            let start = Instant::now();
                            c.world.apply_update(update);
                            start.elapsed()
                        }) {
                            LinkStats::add_time(&node.link.apply_us, took);
                        }
                        LinkStats::add(&node.link.states_applied, 1);
                        heard.applied += 1;
                    }
                    Err(e) => log::warn!("simulator: replication link: a bad state: {e}"),
                }
            }
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if heard.silent_for(silence) {
                    // Paused or cut off: silent while the connection stays up.
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

/// Side A found no master on the link: it is master, as it was started to be.
fn start_as_master(node: &NodeState, cluster: &Weak<LoopHandle>) {
    if node.master.swap(true, Ordering::SeqCst) {
        return;
    }
    if let Some(c) = cluster.upgrade() {
        c.call(|c| c.world.paused = false);
    }
    log::info!("simulator: no master on the replication link: this side is master");
}

fn take_over(node: &NodeState, cluster: &Weak<LoopHandle>, heard: &mut Heard) {
    let ms = heard.last.map_or(0, |h| {
        u64::try_from(h.elapsed().as_millis()).unwrap_or(u64::MAX)
    });
    // One takeover per silence: the next needs a master heard again.
    heard.last = None;
    node.failover_ms.store(ms, Ordering::SeqCst);
    node.master.store(true, Ordering::SeqCst);
    if let Some(c) = cluster.upgrade() {
        c.call(|c| c.world.took_over());
    }
    log::info!(
        "simulator: the master fell silent; master now, {ms} ms after its last word, with its state ({} states applied)",
        heard.applied
    );
}

/// Both sides are master and this one gives way (an island healing). Only once the other
/// side's first state has come (it is there and speaking, not a connection left over from
/// before) does it hand over the agents it has sessions for, with their calls, tell its
/// phones SYSTEM_EVENT, close their sessions, take that state and hold still as a standby.
/// Whether it gave way.
fn give_way(link: &mut Link, cluster: &Weak<LoopHandle>, node: &Arc<NodeState>) -> bool {
    let Some(theirs) = link
        .line()
        .and_then(|l| serde_json::from_str::<super::world::Replica>(&l).ok())
    else {
        return false;
    };
    let Some(c) = cluster.upgrade() else {
        return false;
    };
    let n = Arc::clone(node);
    let Some(mine) = c.call(move |c| c.world.replica_of(&n)) else {
        return false;
    };
    let agents = mine.agent_count();
    let line = serde_json::to_string(&mine).unwrap_or_default();
    if !link.send(&format!("handover {line}")) {
        return false;
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
    log::info!(
        "simulator: island healed: the other side is master; this side handed over {agents} agent(s) and demoted"
    );
    true
}
