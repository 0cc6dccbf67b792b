//! The simulator's sockets on one poll loop: the thread that runs the loop owns the
//! simulated contact center (the world), so no lock sits on the message path. Each
//! connection reads straight into its own frame buffer, and its replies wait in a bounded
//! queue: a client that does not read is closed once the queue passes
//! [`Limits::max_queued_bytes`], or when a write makes no progress for
//! [`Limits::write_timeout_ms`]. Above [`Limits::max_connections`] a new connection is
//! accepted and closed at once. The API of [`super::Simulator`] reaches the world through
//! commands run on the loop thread.

use std::collections::{HashMap, VecDeque};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use ccx_cti::wire::{tag, Encoder, MessageType, WireVersion, DEFAULT_FRAME_CAPACITY, HEADER_LEN};

use super::config::{Faults, Limits};
use super::world::{After, Out, World};
use super::NodeState;

/// How often the simulated contact center lets time pass (arrivals, offers, idle checks).
const TICK: Duration = Duration::from_millis(5);
/// A tag no message of the protocol table uses, for the unknown-tag fault.
const UNKNOWN_TAG_V17: u16 = 251;
/// The same for version 18 (2-byte tags).
const UNKNOWN_TAG_V18: u16 = 9_999;
/// A message type the protocol does not define, for the unknown-message fault.
const UNKNOWN_MESSAGE_TYPE: u32 = 9_999;
/// The loop's own token (commands from the API).
const WAKER: Token = Token(usize::MAX);
/// Listener tokens count down from here; connection tokens are the world's connection ids.
const FIRST_LISTENER: usize = usize::MAX - 1;
/// Bytes read per `read` call (a frame buffer is at least this big).
const READ_CHUNK: usize = 16 * 1024;
/// `read` calls per connection before the loop turns to the others.
const READ_BUDGET: usize = 4;

/// Work for the loop thread, sent by the API.
pub(super) type Command = Box<dyn FnOnce(&mut Cluster) + Send>;

/// The API's end of a running loop.
pub(super) struct LoopHandle {
    tx: Sender<Command>,
    waker: Waker,
    thread: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl LoopHandle {
    /// Run `f` on the loop thread and wait for its result (`None` when the loop is gone).
    pub(super) fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Cluster) -> R + Send + 'static,
    ) -> Option<R> {
        let (tx, rx) = mpsc::sync_channel(1);
        let cmd: Command = Box::new(move |c| {
            let _ = tx.send(f(c));
        });
        self.tx.send(cmd).ok()?;
        self.waker.wake().ok()?;
        rx.recv().ok()
    }
}

impl Drop for LoopHandle {
    fn drop(&mut self) {
        let _ = self.tx.send(Box::new(|c: &mut Cluster| c.exit = true));
        let _ = self.waker.wake();
        if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = t.join();
        }
    }
}

/// Start a cluster's loop with its world; the nodes' listeners are added by command.
pub(super) fn start(world: World, limits: Limits) -> std::io::Result<LoopHandle> {
    let poll = Poll::new()?;
    let waker = Waker::new(poll.registry(), WAKER)?;
    let (tx, rx) = mpsc::channel();
    let mut cluster = Cluster {
        poll,
        world,
        limits,
        listeners: HashMap::new(),
        next_listener: FIRST_LISTENER,
        conns: HashMap::new(),
        again: Vec::new(),
        exit: false,
    };
    let thread = std::thread::Builder::new()
        .name("sim-loop".into())
        .spawn(move || cluster.run(&rx))?;
    Ok(LoopHandle {
        tx,
        waker,
        thread: std::sync::Mutex::new(Some(thread)),
    })
}

struct Listener {
    socket: TcpListener,
    node: Arc<NodeState>,
    faults: Faults,
}

struct Conn {
    stream: TcpStream,
    node: Arc<NodeState>,
    faults: Faults,
    /// No per-frame fault to inject (frames skip the fault path).
    plain: bool,
    rng: StdRng,
    /// The frame buffer: bytes read land here and frames are decoded in place.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Replies not yet written, from `out_pos`.
    out: Vec<u8>,
    out_pos: usize,
    /// Replies held back by the delay fault, with the time they may go.
    delayed: VecDeque<(Instant, Vec<u8>)>,
    /// Since when written bytes wait without progress.
    stalled_since: Option<Instant>,
    /// Close once `out` is written (a CLOSE_CONF, a truncated frame, a closed session).
    closing: bool,
    /// Nothing more is read (the peer closed, or the session ended).
    read_done: bool,
    received: u32,
    sent: u32,
}

/// A cluster's loop: its world, its listeners (one per node) and connections.
pub(crate) struct Cluster {
    poll: Poll,
    pub(super) world: World,
    limits: Limits,
    listeners: HashMap<Token, Listener>,
    next_listener: usize,
    conns: HashMap<u64, Conn>,
    /// Connections that still had bytes to read when their budget ran out.
    again: Vec<u64>,
    exit: bool,
}

enum ReadEnd {
    Open,
    Closed,
}

impl Cluster {
    fn run(&mut self, rx: &Receiver<Command>) {
        let mut events = Events::with_capacity(1024);
        let mut next_tick = Instant::now();
        while !self.exit {
            let timeout = if self.again.is_empty() {
                next_tick.saturating_duration_since(Instant::now())
            } else {
                Duration::ZERO
            };
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != ErrorKind::Interrupted {
                    log::error!("simulator: poll failed: {e}");
                    return;
                }
            }
            for ev in events.iter() {
                let token = ev.token();
                if token == WAKER {
                    continue;
                }
                if self.listeners.contains_key(&token) {
                    self.accept(token);
                    continue;
                }
                let id = token.0 as u64;
                if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                    self.read(id);
                }
                self.flush_world();
                if ev.is_writable() {
                    self.write(id);
                }
            }
            for id in std::mem::take(&mut self.again) {
                self.read(id);
                self.flush_world();
            }
            while let Ok(cmd) = rx.try_recv() {
                cmd(self);
                self.flush_world();
            }
            let now = Instant::now();
            if now >= next_tick {
                self.world.tick(now);
                self.flush_world();
                self.housekeeping(now);
                next_tick = now + TICK;
            }
        }
    }

    /// Listen for one node; returns the address.
    pub(super) fn add_listener(
        &mut self,
        std_listener: std::net::TcpListener,
        node: Arc<NodeState>,
        faults: Faults,
    ) -> std::io::Result<()> {
        std_listener.set_nonblocking(true)?;
        let mut socket = TcpListener::from_std(std_listener);
        let token = Token(self.next_listener);
        self.next_listener -= 1;
        self.poll
            .registry()
            .register(&mut socket, token, Interest::READABLE)?;
        self.listeners.insert(
            token,
            Listener {
                socket,
                node,
                faults,
            },
        );
        Ok(())
    }

    /// Delay every frame `node` sends from now on by `delay_ms` (a timed slow server; 0 ends
    /// it). Frames already held back go out first.
    pub(super) fn set_delay(&mut self, node: &Arc<NodeState>, delay_ms: u64) {
        for l in self.listeners.values_mut() {
            if Arc::ptr_eq(&l.node, node) {
                l.faults.delay_ms = delay_ms;
            }
        }
        for c in self.conns.values_mut() {
            if Arc::ptr_eq(&c.node, node) {
                c.faults.delay_ms = delay_ms;
                c.plain = plain(&c.faults);
            }
        }
    }

    /// Stop listening for `node` and close its connections once their replies are out.
    pub(super) fn stop_node(&mut self, node: &Arc<NodeState>) {
        self.listeners.retain(|_, l| !Arc::ptr_eq(&l.node, node));
        self.world.close_node(node);
        self.flush_world();
    }

    fn accept(&mut self, token: Token) {
        loop {
            let Some(l) = self.listeners.get(&token) else {
                return;
            };
            let (stream, peer) = match l.socket.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => {
                    // Out of descriptors, typically: the connection waits in the backlog and
                    // the next tick tries again.
                    if self.world.warn_limit.allow("accept", Instant::now()) {
                        log::warn!("simulator: accept failed: {e}");
                    }
                    return;
                }
            };
            let (node, faults) = (Arc::clone(&l.node), l.faults.clone());
            if node.stopped.load(Ordering::SeqCst) {
                return;
            }
            if self.conns.len() >= self.limits.max_connections {
                self.world.counters.connections_refused += 1;
                if self
                    .world
                    .warn_limit
                    .allow("connection limit", Instant::now())
                {
                    log::warn!(
                        "simulator: {peer} refused: {} connections open (the limit)",
                        self.conns.len()
                    );
                }
                let _ = stream.shutdown(Shutdown::Both);
                continue;
            }
            self.register(stream, node, faults);
        }
    }

    fn register(&mut self, mut stream: TcpStream, node: Arc<NodeState>, faults: Faults) {
        let _ = stream.set_nodelay(true);
        let now = Instant::now();
        let seq = node.conn_seq.fetch_add(1, Ordering::SeqCst);
        let id = self.world.add_conn(Arc::clone(&node), now);
        let Ok(token) = usize::try_from(id) else {
            return;
        };
        if let Err(e) = self.poll.registry().register(
            &mut stream,
            Token(token),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            log::warn!("simulator: cannot watch a connection: {e}");
            self.world.remove_conn(id);
            self.world.outgoing.clear();
            return;
        }
        let rng = StdRng::seed_from_u64(faults.seed ^ seq.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        self.conns.insert(
            id,
            Conn {
                stream,
                node,
                plain: plain(&faults),
                faults,
                rng,
                buf: vec![0; DEFAULT_FRAME_CAPACITY.max(READ_CHUNK)],
                start: 0,
                end: 0,
                out: Vec::new(),
                out_pos: 0,
                delayed: VecDeque::new(),
                stalled_since: None,
                closing: false,
                read_done: false,
                received: 0,
                sent: 0,
            },
        );
    }

    /// Read what the connection has, handing each whole frame to the world.
    fn read(&mut self, id: u64) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if conn.closing || conn.read_done {
            return;
        }
        let mut budget = READ_BUDGET;
        let end = loop {
            if budget == 0 {
                // Fairness: a client that never stops sending must not hold the loop; it is
                // read again after the others had their turn (edge-triggered: no new event
                // would come for what is already buffered).
                self.again.push(id);
                break ReadEnd::Open;
            }
            budget -= 1;
            if conn.start > 0 && conn.buf.len() - conn.end < READ_CHUNK {
                conn.buf.copy_within(conn.start..conn.end, 0);
                conn.end -= conn.start;
                conn.start = 0;
            }
            let Some(space) = conn.buf.get_mut(conn.end..) else {
                break ReadEnd::Closed;
            };
            if space.is_empty() {
                break ReadEnd::Closed;
            }
            match conn.stream.read(space) {
                Ok(0) => break ReadEnd::Closed,
                Ok(n) => {
                    conn.end += n;
                    if frames(conn, id, &mut self.world) == After::Close {
                        break ReadEnd::Closed;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break ReadEnd::Open,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break ReadEnd::Closed,
            }
        };
        if let ReadEnd::Closed = end {
            // The writer closes the socket once it has sent what is queued (a CLOSE_CONF).
            // (the world queues the close behind the replies already queued)
            self.world.remove_conn(id);
            if let Some(conn) = self.conns.get_mut(&id) {
                conn.read_done = true;
            }
        }
    }

    /// Move the world's replies into the connections' queues, and write them.
    fn flush_world(&mut self) {
        if self.world.outgoing.is_empty() {
            return;
        }
        let outgoing = std::mem::take(&mut self.world.outgoing);
        let now = Instant::now();
        let mut touched = Vec::new();
        for (id, out) in outgoing {
            let Some(conn) = self.conns.get_mut(&id) else {
                continue;
            };
            match out {
                Out::Frame(frame, version) => {
                    if conn.closing {
                        continue;
                    }
                    conn.sent = conn.sent.wrapping_add(1);
                    if conn.plain && conn.delayed.is_empty() {
                        // No fault to inject: the frame goes straight into the queue.
                        conn.out.extend_from_slice(&frame);
                        if touched.last() != Some(&id) {
                            touched.push(id);
                        }
                        continue;
                    }
                    let mut batch = Vec::new();
                    let keep = add_frame(
                        &mut batch,
                        frame,
                        version,
                        conn.sent,
                        &conn.faults,
                        &conn.node,
                    );
                    // Behind frames still held back (a delay that just ended) too.
                    if conn.faults.delay_ms > 0 || !conn.delayed.is_empty() {
                        let due = now + Duration::from_millis(conn.faults.delay_ms);
                        conn.delayed.push_back((due, batch));
                    } else {
                        conn.out.extend_from_slice(&batch);
                    }
                    if !keep {
                        conn.closing = true;
                    }
                }
                Out::Close => conn.closing = true,
            }
            if touched.last() != Some(&id) {
                touched.push(id);
            }
        }
        for id in touched {
            self.write(id);
        }
    }

    /// Write what is queued; close a connection whose queue overflowed or that is done.
    fn write(&mut self, id: u64) {
        let now = Instant::now();
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        while conn.delayed.front().is_some_and(|(due, _)| *due <= now) {
            if let Some((_, bytes)) = conn.delayed.pop_front() {
                conn.out.extend_from_slice(&bytes);
            }
        }
        let mut broken = false;
        while conn.out_pos < conn.out.len() {
            let Some(pending) = conn.out.get(conn.out_pos..) else {
                break;
            };
            match conn.stream.write(pending) {
                Ok(0) => {
                    broken = true;
                    break;
                }
                Ok(n) => {
                    conn.out_pos += n;
                    conn.stalled_since = None;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    conn.stalled_since.get_or_insert(now);
                    break;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    broken = true;
                    break;
                }
            }
        }
        if conn.out_pos >= conn.out.len() {
            conn.out.clear();
            conn.out_pos = 0;
        } else if conn.out_pos > READ_CHUNK {
            conn.out.drain(..conn.out_pos);
            conn.out_pos = 0;
        }
        let queued = conn.out.len() - conn.out_pos;
        if queued > self.limits.max_queued_bytes {
            self.world.counters.slow_readers_closed += 1;
            if self.world.warn_limit.allow("slow reader", now) {
                log::warn!("simulator: connection {id} does not read its replies ({queued} bytes queued); closing");
            }
            self.drop_conn(id);
            return;
        }
        let done = conn.closing && queued == 0 && conn.delayed.is_empty();
        if broken || done {
            self.drop_conn(id);
        }
    }

    /// Forget a connection now, written or not.
    fn drop_conn(&mut self, id: u64) {
        self.world.remove_conn(id);
        self.world.outgoing.retain(|(c, _)| *c != id);
        if let Some(mut conn) = self.conns.remove(&id) {
            let _ = self.poll.registry().deregister(&mut conn.stream);
            let _ = conn.stream.shutdown(Shutdown::Both);
        }
    }

    /// Per tick: write timeouts, delayed replies, accepts that failed for want of descriptors.
    fn housekeeping(&mut self, now: Instant) {
        let timeout = Duration::from_millis(self.limits.write_timeout_ms);
        let mut stalled = Vec::new();
        let mut delayed = Vec::new();
        for (id, c) in &self.conns {
            if c.stalled_since
                .is_some_and(|t| now.saturating_duration_since(t) > timeout)
            {
                stalled.push(*id);
            } else if !c.delayed.is_empty() {
                delayed.push(*id);
            }
        }
        for id in stalled {
            self.world.counters.write_timeouts += 1;
            if self.world.warn_limit.allow("write timeout", now) {
                log::warn!(
                    "simulator: connection {id}: no write progress for {timeout:?}; closing"
                );
            }
            self.drop_conn(id);
        }
        for id in delayed {
            self.write(id);
        }
        let tokens: Vec<Token> = self.listeners.keys().copied().collect();
        for t in tokens {
            self.accept(t);
        }
    }
}

/// Hand every whole frame in the connection's buffer to the world.
fn frames(conn: &mut Conn, id: u64, world: &mut World) -> After {
    let max_body = DEFAULT_FRAME_CAPACITY - HEADER_LEN;
    loop {
        let Some(avail) = conn.buf.get(conn.start..conn.end) else {
            return After::Close;
        };
        let Some(head) = avail.get(..4) else {
            return After::Continue;
        };
        let mut len = [0u8; 4];
        len.copy_from_slice(head);
        let body = usize::try_from(u32::from_be_bytes(len)).unwrap_or(usize::MAX);
        if body > max_body {
            if world.warn_limit.allow("frame too long", Instant::now()) {
                log::warn!("simulator: connection {id}: a frame declares {body} bytes (at most {max_body}); closing");
            }
            return After::Close;
        }
        let Some(frame) = avail.get(..HEADER_LEN + body) else {
            return After::Continue;
        };
        conn.start += frame.len();
        let arrived = Instant::now();
        let after = world.on_frame(id, frame, arrived);
        world.counters.handling.record(arrived.elapsed());
        if after == After::Close {
            return After::Close;
        }
        conn.received = conn.received.saturating_add(1);
        if conn
            .faults
            .drop_after
            .is_some_and(|limit| conn.received >= limit)
        {
            conn.node.count_fault("drop-after");
            return After::Close;
        }
        if conn.faults.drop_probability > 0.0
            && conn.rng.gen::<f64>() < conn.faults.drop_probability
        {
            conn.node.count_fault("drop-random");
            return After::Close;
        }
    }
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

/// No per-frame fault to inject: frames skip the fault path.
fn plain(faults: &Faults) -> bool {
    *faults
        == Faults {
            seed: faults.seed,
            drop_after: faults.drop_after,
            drop_probability: faults.drop_probability,
            ignore_heartbeats: faults.ignore_heartbeats,
            ..Faults::default()
        }
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

/// The standby's probe of its peer: a thread of its own, since it blocks on connects.
pub(super) fn spawn_prober(
    peer: String,
    node: Arc<NodeState>,
    interval_ms: u64,
    failures_limit: u32,
) -> Option<JoinHandle<()>> {
    let interval = Duration::from_millis(interval_ms.max(10));
    let limit = failures_limit.max(1);
    let started = std::thread::Builder::new()
        .name("sim-probe".into())
        .spawn(move || {
            let mut failures = 0;
            while !node.stopped.load(Ordering::SeqCst) && !node.is_master() {
                let alive = peer
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut a| a.next())
                    .is_some_and(|addr| {
                        std::net::TcpStream::connect_timeout(&addr, interval).is_ok()
                    });
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
        Ok(h) => Some(h),
        Err(e) => {
            log::error!("simulator: cannot start the peer probe: {e}");
            None
        }
    }
}
