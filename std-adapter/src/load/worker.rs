//! One loop per core: a thread polls the sockets of its share of the phones (mio) and drives
//! each sans-io [`Phone`] from them, with no thread per phone.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use ccx_cti::config::PhoneConfig;
use ccx_cti::phone::{Phone, SessionState, TransportAction};
use ccx_cti::wire::HEADER_LEN;

use super::agent::Agent;

/// How often every phone of a loop is looked at (timers, the agents' next buttons).
const SWEEP: Duration = Duration::from_millis(5);
/// The longest a phone goes without a look from the sweep.
const IDLE_LOOK: Duration = Duration::from_secs(1);
/// Bytes read per `read`, and of the transmit buffer (more than any frame).
const BUF: usize = 16 * 1024;

/// One phone with its socket and agent.
pub(super) struct Slot {
    pub(super) phone: Box<Phone>,
    pub(super) agent: Agent,
    stream: Option<TcpStream>,
    /// A connect in progress since this time.
    connecting: Option<Instant>,
    out: Vec<u8>,
    counter: FrameCounter,
    /// When the sweep must look at this phone next (its timers, the agent's); I/O events
    /// look at it in between.
    wake: Instant,
}

impl Slot {
    /// A phone that powers on (first looked at) at `start_at`.
    pub(super) fn new(config: PhoneConfig, agent: Agent, start_at: Instant) -> Slot {
        Slot {
            phone: Box::new(Phone::new(config)),
            agent,
            stream: None,
            connecting: None,
            out: Vec::new(),
            counter: FrameCounter::default(),
            wake: start_at,
        }
    }
}

/// Counts whole frames in a byte stream by their headers (the report's "received").
#[derive(Default)]
struct FrameCounter {
    head: [u8; 4],
    head_len: usize,
    skip: usize,
}

impl FrameCounter {
    fn feed(&mut self, mut bytes: &[u8]) -> u64 {
        let mut frames = 0;
        while !bytes.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(bytes.len());
                self.skip -= n;
                bytes = bytes.get(n..).unwrap_or(&[]);
                continue;
            }
            let Some((&b, rest)) = bytes.split_first() else {
                break;
            };
            if let Some(slot) = self.head.get_mut(self.head_len) {
                *slot = b;
            }
            self.head_len += 1;
            bytes = rest;
            if self.head_len == 4 {
                self.head_len = 0;
                let body = usize::try_from(u32::from_be_bytes(self.head)).unwrap_or(0);
                self.skip = HEADER_LEN - 4 + body;
                frames += 1;
            }
        }
        frames
    }
}

/// A loop's phones and sockets.
pub(super) struct Worker {
    poll: Poll,
    pub(super) slots: Vec<Slot>,
    start: Instant,
    addrs: HashMap<usize, Option<SocketAddr>>,
    buf: Vec<u8>,
    connect_timeout: Duration,
}

impl Worker {
    pub(super) fn new(slots: Vec<Slot>, start: Instant) -> std::io::Result<Worker> {
        Ok(Worker {
            poll: Poll::new()?,
            slots,
            start,
            addrs: HashMap::new(),
            buf: vec![0; BUF],
            connect_timeout: Duration::from_secs(5),
        })
    }

    fn now(&self) -> ccx_cti::phone::Instant {
        ccx_cti::phone::Instant::from_millis(
            u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX),
        )
    }

    /// Run until `finish`; the agents press buttons until `quiet`.
    pub(super) fn run(&mut self, quiet: &AtomicBool, finish: &Arc<AtomicBool>) {
        let mut events = Events::with_capacity(1024);
        let mut next_sweep = Instant::now();
        while !finish.load(Ordering::SeqCst) {
            let timeout = next_sweep.saturating_duration_since(Instant::now());
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != ErrorKind::Interrupted {
                    log::error!("ccx load: poll failed: {e}");
                    return;
                }
            }
            let acting = !quiet.load(Ordering::Relaxed);
            for ev in events.iter() {
                let i = ev.token().0;
                if ev.is_writable() {
                    self.writable(i);
                }
                if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                    self.readable(i);
                }
                self.service(i, acting);
            }
            let now = Instant::now();
            if now >= next_sweep {
                for i in 0..self.slots.len() {
                    if self.slots.get(i).is_some_and(|s| s.wake <= now) {
                        self.service(i, acting);
                    }
                }
                next_sweep = Instant::now() + SWEEP;
            }
        }
        // The sockets stay open: the phones are compared with the simulator first, and a
        // closed session would make the simulator withdraw its reservations meanwhile.
    }

    /// Timers, transport actions, events, the agent's next button, and the frames to send.
    fn service(&mut self, i: usize, acting: bool) {
        let now = self.now();
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        if slot.phone.poll_timeout().is_some_and(|t| t <= now) {
            slot.phone.handle_timeout(now);
        }
        if slot
            .connecting
            .is_some_and(|at| at.elapsed() > self.connect_timeout)
        {
            slot.agent.connect_error("connect timed out".into());
            self.close(i);
            if let Some(slot) = self.slots.get_mut(i) {
                slot.phone.connect_failed(now);
            }
        }
        for _ in 0..4 {
            let Some(slot) = self.slots.get_mut(i) else {
                return;
            };
            match slot.phone.poll_transport(now) {
                Some(TransportAction::Connect { server }) => self.connect(i, server),
                Some(TransportAction::Disconnect) => {
                    self.close(i);
                    if let Some(slot) = self.slots.get_mut(i) {
                        slot.phone.disconnected(now);
                    }
                }
                None => break,
            }
        }
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        while let Some(event) = slot.phone.poll_event() {
            slot.agent.on_event(event);
        }
        if acting {
            slot.agent.act(&mut slot.phone, now);
            while let Some(event) = slot.phone.poll_event() {
                slot.agent.on_event(event);
            }
        }
        // The next look: the phone's deadline, the agent's timers, or IDLE_LOOK from now.
        let now_std = Instant::now();
        let phone_due = slot.phone.poll_timeout().map(|t| {
            let ms = t.as_millis().saturating_sub(now.as_millis());
            now_std + Duration::from_millis(ms)
        });
        slot.wake = [phone_due, slot.agent.next_wake(), Some(now_std + IDLE_LOOK)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now_std);
        if slot.connecting.is_some() {
            slot.wake = slot.wake.min(now_std + SWEEP * 20);
        }
        let open = slot.stream.is_some() && slot.connecting.is_none();
        while let Some(n) = slot.phone.poll_transmit(&mut self.buf) {
            slot.agent.stats.sent += 1;
            if open {
                slot.out.extend_from_slice(self.buf.get(..n).unwrap_or(&[]));
            }
        }
        self.writable(i);
    }

    fn connect(&mut self, i: usize, server: usize) {
        self.close(i);
        let now = self.now();
        let addr = match self.addrs.get(&server) {
            Some(a) => *a,
            None => {
                let a = self.slots.get(i).and_then(|s| {
                    let t = s.phone.config().servers.get(server)?;
                    format!("{}:{}", t.host, t.port)
                        .to_socket_addrs()
                        .ok()?
                        .next()
                });
                self.addrs.insert(server, a);
                a
            }
        };
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        let Some(addr) = addr else {
            slot.agent
                .connect_error(format!("server {server} does not resolve"));
            slot.phone.connect_failed(now);
            return;
        };
        let registered = TcpStream::connect(addr).and_then(|mut s| {
            self.poll.registry().register(
                &mut s,
                Token(i),
                Interest::READABLE | Interest::WRITABLE,
            )?;
            Ok(s)
        });
        match registered {
            Ok(s) => {
                slot.stream = Some(s);
                slot.connecting = Some(Instant::now());
            }
            Err(e) => {
                slot.agent.connect_error(format!("connect: {e}"));
                slot.phone.connect_failed(now);
            }
        }
    }

    fn close(&mut self, i: usize) {
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        if let Some(mut s) = slot.stream.take() {
            let _ = self.poll.registry().deregister(&mut s);
            let _ = s.shutdown(Shutdown::Both);
        }
        slot.connecting = None;
        slot.out.clear();
    }

    fn writable(&mut self, i: usize) {
        let now = self.now();
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        let Some(stream) = slot.stream.as_mut() else {
            return;
        };
        if slot.connecting.is_some() {
            match stream.take_error() {
                Ok(Some(e)) | Err(e) => {
                    slot.agent.connect_error(format!("connect: {e}"));
                    self.close(i);
                    if let Some(slot) = self.slots.get_mut(i) {
                        slot.phone.connect_failed(now);
                    }
                    return;
                }
                Ok(None) => {}
            }
            match stream.peer_addr() {
                Ok(_) => {
                    let _ = stream.set_nodelay(true);
                    slot.connecting = None;
                    slot.counter = FrameCounter::default();
                    slot.phone.connected(now);
                    // OPEN_REQ goes out at the next service.
                    return;
                }
                Err(e) if e.kind() == ErrorKind::NotConnected => return,
                Err(e) => {
                    slot.agent.connect_error(format!("connect: {e}"));
                    self.close(i);
                    if let Some(slot) = self.slots.get_mut(i) {
                        slot.phone.connect_failed(now);
                    }
                    return;
                }
            }
        }
        let mut written = 0;
        let mut broken = false;
        while written < slot.out.len() {
            match stream.write(slot.out.get(written..).unwrap_or(&[])) {
                Ok(0) => {
                    broken = true;
                    break;
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    broken = true;
                    break;
                }
            }
        }
        slot.out.drain(..written);
        if broken {
            self.lost(i);
        }
    }

    fn readable(&mut self, i: usize) {
        let now = self.now();
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        if slot.connecting.is_some() {
            return;
        }
        let Some(stream) = slot.stream.as_mut() else {
            return;
        };
        let mut closed = false;
        loop {
            match stream.read(&mut self.buf) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => {
                    let bytes = self.buf.get(..n).unwrap_or(&[]);
                    slot.agent.stats.received += slot.counter.feed(bytes);
                    slot.phone.handle_bytes(now, bytes);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    slot.agent.connect_error(format!("read: {e}"));
                    closed = true;
                    break;
                }
            }
        }
        if closed {
            self.lost(i);
        }
    }

    /// The server closed the connection (or it broke).
    fn lost(&mut self, i: usize) {
        let now = self.now();
        self.close(i);
        if let Some(slot) = self.slots.get_mut(i) {
            if slot.phone.session().state != SessionState::Disconnected {
                slot.phone.disconnected(now);
            }
        }
    }
}
