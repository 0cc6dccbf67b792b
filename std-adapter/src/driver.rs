//! A blocking std driver for the sans-io [`Phone`]: a thin loop that owns the TCP connection
//! to side A or B as the phone asks, feeds it bytes and time, writes what it sends, and hands
//! its events to the caller. It makes no protocol decision of its own.
//!
//! One thread runs the loop; a reader thread per connection turns socket input into messages
//! on the loop's channel, next to the caller's commands, so that the loop sleeps until the
//! next input or the phone's next deadline (`poll_timeout`), whichever comes first.
//!
//! ```no_run
//! use ccx_cti_std::driver::{spawn, AgentCommand, DriverOptions};
//! let handle = spawn(ccx_cti::config::PhoneConfig::default(), DriverOptions::default()).unwrap();
//! handle.command(AgentCommand::Login { password: None });
//! for event in handle.events().iter().take(3) {
//!     println!("{event:?}");
//! }
//! handle.stop();
//! ```

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use ccx_cti::config::PhoneConfig;
use ccx_cti::phone::{
    AgentReason, AgentView, Command, CommandError, Event, Instant, InvokeId, OwnedCommand, Phone,
    PhoneView as CorePhoneView, ReasonLabels, SessionState, SessionView, TextTooLong,
    TransportAction,
};
use ccx_cti::wire::{
    AgentState, CallType, FeedResult, FrameAccumulator, LocalConnectionState, WireVersion,
};

/// The longest the loop sleeps without a deadline (it then just looks again).
const IDLE_WAKE: Duration = Duration::from_secs(1);
/// Bytes of the transmit buffer (more than any frame the phone sends).
const TX_BUF: usize = 16 * 1024;

/// A button the agent pressed, owning its arguments: the core's [`OwnedCommand`], so that it
/// can travel through the driver's channel.
pub type AgentCommand = OwnedCommand;

/// An owned command from a borrowed one (an argument longer than the command's text
/// capacity is refused).
pub fn owned(command: Command<'_>) -> Result<AgentCommand, TextTooLong> {
    AgentCommand::try_from(command)
}

/// Read a command in the flow files' words (FORMAT.md §2: `ready`, `preview skip`,
/// `dial 5551234`, `set-var NAME VALUE [CALLID]`…) into an owned command.
/// An error names the command with its password masked.
pub fn parse_command(text: &str) -> Result<AgentCommand, String> {
    let shown = || {
        if is_login(text) {
            "login ********".to_string()
        } else {
            text.trim().to_string()
        }
    };
    let command = Command::parse(text).map_err(|e| format!("`{}`: {e}", shown()))?;
    owned(command).map_err(|e| format!("`{}`: {e}", shown()))
}

fn is_login(text: &str) -> bool {
    text.split_whitespace().next() == Some("login")
}

/// Command text as it is being typed, for a prompt line: after `login`, every character but
/// white space shows as `*`, so the password never appears on screen.
pub fn mask_command_text(text: &str) -> String {
    if !is_login(text) {
        return text.to_string();
    }
    let start = text.len() - text.trim_start().len() + "login".len();
    let (head, tail) = text.split_at(start);
    let masked: String = tail
        .chars()
        .map(|c| if c.is_whitespace() { c } else { '*' })
        .collect();
    format!("{head}{masked}")
}

/// A command as text for a trace or a status line, its password masked.
pub fn command_text(command: &AgentCommand) -> String {
    match command {
        AgentCommand::Login { password: Some(_) } => "Login { password: ******** }".to_string(),
        other => format!("{other:?}"),
    }
}

/// Which way a frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Phone to server.
    Sent,
    /// Server to phone.
    Received,
}

/// What happened to the transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportNote {
    /// Connecting to `config.servers[server]` at `addr`.
    Connecting {
        /// Server index (0 = side A, 1 = side B).
        server: usize,
        /// `host:port`.
        addr: String,
    },
    /// Connected.
    Connected {
        /// Server index.
        server: usize,
    },
    /// The connection attempt failed.
    ConnectFailed {
        /// Server index.
        server: usize,
        /// Why.
        error: String,
    },
    /// The connection closed (either side).
    Closed,
}

/// Something the driver reports; `at` is the time since the driver started.
#[derive(Debug, Clone)]
pub enum DriverEvent {
    /// A whole frame went over the wire (only with [`DriverOptions::trace_frames`]).
    Frame {
        /// When.
        at: Duration,
        /// Which way.
        direction: Direction,
        /// The frame, header included.
        frame: Vec<u8>,
        /// The protocol version to decode it with.
        version: WireVersion,
    },
    /// An event of the phone.
    Phone {
        /// When.
        at: Duration,
        /// The event.
        event: Event,
    },
    /// A command was handed to the phone.
    CommandDone {
        /// When.
        at: Duration,
        /// The command.
        command: AgentCommand,
        /// The InvokeID of the request it queued, or why the phone refused it.
        result: Result<InvokeId, CommandError>,
    },
    /// The transport changed.
    Transport {
        /// When.
        at: Duration,
        /// What.
        note: TransportNote,
    },
}

/// One call as the phone sees it (an owned copy of a core [`ccx_cti::phone::Call`] for the
/// caller; a screen reads the core view through [`DriverHandle::with_view`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallView {
    /// CallID.
    pub id: u32,
    /// CallType.
    pub call_type: CallType,
    /// The agent's connection state.
    pub state: LocalConnectionState,
    /// ConnectionDeviceID of the agent's connection.
    pub device_id: String,
    /// ANI.
    pub ani: String,
    /// DNIS.
    pub dnis: String,
    /// Named variables.
    pub vars: Vec<(String, String)>,
}

impl CallView {
    /// The value of the named variable `name`.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An owned copy of the phone's view ([`ccx_cti::phone::PhoneView`], the one source), for a
/// caller that keeps it or sends it across threads. [`DriverHandle::with_view`] reads the
/// core view itself, with everything it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneView {
    /// The session.
    pub session: SessionView,
    /// The agent.
    pub agent: AgentView,
    /// The calls.
    pub calls: Vec<CallView>,
    /// CallID of the pending preview reservation.
    pub preview: Option<u32>,
    /// The phone's clock when the view was taken.
    pub now: Instant,
}

impl PhoneView {
    /// An owned copy of the core's view, for another thread to keep.
    pub fn of<const V: usize>(view: &CorePhoneView<'_, V>, now: Instant) -> PhoneView {
        PhoneView {
            session: SessionView {
                state: view.session.state,
                server: view.session.side,
                version: view.session.version,
            },
            agent: AgentView {
                state: view.agent.state,
                reason: view.agent.reason,
                since: view.agent.since,
            },
            calls: view
                .calls()
                .iter()
                .map(|c| CallView {
                    id: c.id,
                    call_type: c.call_type,
                    state: c.state,
                    device_id: c.device_id.to_string(),
                    ani: c.ani.to_string(),
                    dnis: c.dnis.to_string(),
                    vars: c
                        .vars()
                        .map(|(n, v)| (n.to_string(), v.to_string()))
                        .collect(),
                })
                .collect(),
            preview: view.preview().map(|card| card.call),
            now,
        }
    }

    /// The view of a phone that has not started.
    pub fn initial(config: &PhoneConfig) -> PhoneView {
        PhoneView {
            session: SessionView {
                state: SessionState::Disconnected,
                server: 0,
                version: u32::from(config.protocol_version),
            },
            agent: AgentView {
                state: AgentState::Logout,
                reason: AgentReason::None,
                since: Instant::ZERO,
            },
            calls: Vec::new(),
            preview: None,
            now: Instant::ZERO,
        }
    }

    /// The call with `id`.
    pub fn call(&self, id: u32) -> Option<&CallView> {
        self.calls.iter().find(|c| c.id == id)
    }
}

/// How to run the driver.
#[derive(Debug, Clone, Default)]
pub struct DriverOptions {
    /// Report every frame ([`DriverEvent::Frame`]); off for load runs.
    pub trace_frames: bool,
    /// Thread name suffix (for debugging many phones in one process).
    pub name: String,
}

enum Input {
    Command(AgentCommand),
    Bytes(u64, Vec<u8>),
    Closed(u64),
    Stop,
}

/// Frames counted by a driver (with or without tracing).
#[derive(Debug, Default)]
pub struct FrameCounts {
    /// Frames the phone sent.
    pub sent: AtomicU64,
    /// Whole frames the phone received.
    pub received: AtomicU64,
}

/// The caller's side of a running driver.
pub struct DriverHandle {
    tx: Sender<Input>,
    events: Receiver<DriverEvent>,
    phone: SharedPhone,
    start: std::time::Instant,
    counts: Arc<FrameCounts>,
    thread: Option<JoinHandle<()>>,
}

impl DriverHandle {
    /// Press a button. The result arrives as [`DriverEvent::CommandDone`].
    pub fn command(&self, command: AgentCommand) {
        let _ = self.tx.send(Input::Command(command));
    }

    /// The events of the phone, the frames (if traced) and the transport.
    pub fn events(&self) -> &Receiver<DriverEvent> {
        &self.events
    }

    /// Frames sent and received so far.
    pub fn frames(&self) -> (u64, u64) {
        (
            self.counts.sent.load(Ordering::Relaxed),
            self.counts.received.load(Ordering::Relaxed),
        )
    }

    /// An owned copy of the phone's state as of its last input.
    pub fn view(&self) -> PhoneView {
        let now = clock(self.start);
        self.with_view(|view, _| PhoneView::of(view, now))
    }

    /// Read the phone's own view (borrowed from the phone, so the driver waits meanwhile:
    /// keep `read` short) with the driver's clock.
    pub fn with_view<R>(&self, read: impl FnOnce(&CorePhoneView<'_>, Instant) -> R) -> R {
        let now = clock(self.start);
        let phone = lock(&self.phone);
        read(&phone.view(), now)
    }

    /// [`Self::with_view`] with the agent's reasons labelled from `labels`.
    pub fn with_labelled_view<R>(
        &self,
        labels: &dyn ReasonLabels,
        read: impl FnOnce(&CorePhoneView<'_>, Instant) -> R,
    ) -> R {
        let now = clock(self.start);
        let phone = lock(&self.phone);
        read(&phone.view_with(labels), now)
    }

    /// Stop the loop and close the connection (without CLOSE_REQ: send
    /// [`AgentCommand::Close`] first for an orderly end).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.tx.send(Input::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for DriverHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Start a phone with `config` in a driver thread.
pub fn spawn(config: PhoneConfig, options: DriverOptions) -> std::io::Result<DriverHandle> {
    let (tx, rx) = mpsc::channel();
    let (ev_tx, ev_rx) = mpsc::channel();
    let phone: SharedPhone = Arc::new(Mutex::new(Box::new(Phone::new(config))));
    let start = std::time::Instant::now();
    let counts = Arc::new(FrameCounts::default());
    let name = if options.name.is_empty() {
        "ccx-driver".to_string()
    } else {
        format!("ccx-driver-{}", options.name)
    };
    let mut driver = Driver {
        phone: Arc::clone(&phone),
        start,
        stream: None,
        generation: 0,
        acc: Box::default(),
        input_tx: tx.clone(),
        events: ev_tx,
        counts: Arc::clone(&counts),
        trace: options.trace_frames,
        tx_buf: vec![0u8; TX_BUF],
    };
    let thread = std::thread::Builder::new()
        .name(name)
        .spawn(move || driver.run(&rx))?;
    Ok(DriverHandle {
        tx,
        events: ev_rx,
        phone,
        start,
        counts,
        thread: Some(thread),
    })
}

/// The phone, shared by the driver's loop and the handle's view readers.
type SharedPhone = Arc<Mutex<Box<Phone>>>;

/// The phone, even after a panic elsewhere poisoned the lock (its state is still whole: the
/// core does not panic).
fn lock(phone: &Mutex<Box<Phone>>) -> std::sync::MutexGuard<'_, Box<Phone>> {
    phone
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The driver's clock: time since it started.
fn clock(start: std::time::Instant) -> Instant {
    Instant::from_millis(u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX))
}

struct Driver {
    phone: SharedPhone,
    start: std::time::Instant,
    stream: Option<TcpStream>,
    /// Counts connections, so that a reader of an old one is not taken for the current one.
    generation: u64,
    /// Frames the input; the phone gets whole frames (see `receive`).
    acc: Box<FrameAccumulator>,
    input_tx: Sender<Input>,
    events: Sender<DriverEvent>,
    counts: Arc<FrameCounts>,
    trace: bool,
    tx_buf: Vec<u8>,
}

impl Driver {
    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    fn now(&self) -> Instant {
        clock(self.start)
    }

    fn emit(&self, event: DriverEvent) {
        let _ = self.events.send(event);
    }

    fn version(&self) -> WireVersion {
        let phone = lock(&self.phone);
        WireVersion::new(phone.session().version)
            .with_v18_length_width(phone.config().v18_length_width)
    }

    fn run(&mut self, rx: &Receiver<Input>) {
        loop {
            let now = self.now();
            {
                let mut phone = lock(&self.phone);
                if phone.poll_timeout().is_some_and(|t| t <= now) {
                    phone.handle_timeout(now);
                }
            }
            self.drive_transport();
            self.flush();
            let now = self.now();
            let next = lock(&self.phone).poll_timeout();
            let wait = next
                .map(|t| Duration::from_millis(t.as_millis().saturating_sub(now.as_millis())))
                .unwrap_or(IDLE_WAKE)
                .min(IDLE_WAKE);
            if wait.is_zero() {
                continue;
            }
            match rx.recv_timeout(wait) {
                Ok(Input::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Ok(input) => self.handle(input),
                Err(RecvTimeoutError::Timeout) => {}
            }
            // Take whatever else is already waiting before writing.
            while let Ok(input) = rx.try_recv() {
                if matches!(input, Input::Stop) {
                    self.close_stream();
                    return;
                }
                self.handle(input);
            }
        }
        self.close_stream();
    }

    fn handle(&mut self, input: Input) {
        let now = self.now();
        match input {
            Input::Command(command) => {
                let result = lock(&self.phone).command(now, command.as_command());
                self.emit(DriverEvent::CommandDone {
                    at: self.elapsed(),
                    command,
                    result,
                });
            }
            Input::Bytes(generation, bytes) if generation == self.generation => {
                self.receive(&bytes);
            }
            Input::Closed(generation) if generation == self.generation => {
                self.close_stream();
                self.emit(DriverEvent::Transport {
                    at: self.elapsed(),
                    note: TransportNote::Closed,
                });
                lock(&self.phone).disconnected(now);
            }
            Input::Bytes(..) | Input::Closed(_) | Input::Stop => {}
        }
    }

    /// Frame the input and hand the phone one frame at a time, passing on its events after
    /// each: the phone's event queue (16 by default) then never has to hold a whole read's
    /// worth (a burst of state events in one TCP read used to lose all but the last 16).
    fn receive(&mut self, bytes: &[u8]) {
        let version = self.version();
        let mut input = bytes;
        while !input.is_empty() {
            let left = match self.acc.feed(input) {
                FeedResult::Consumed => break,
                FeedResult::Frame { frame, remaining } => {
                    self.counts.received.fetch_add(1, Ordering::Relaxed);
                    if self.trace {
                        let _ = self.events.send(DriverEvent::Frame {
                            at: self.start.elapsed(),
                            direction: Direction::Received,
                            frame: frame.to_vec(),
                            version,
                        });
                    }
                    let now = Instant::from_millis(
                        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX),
                    );
                    lock(&self.phone).handle_frame(now, frame);
                    remaining.len()
                }
                FeedResult::Error { .. } => {
                    // Let the phone meet the same error through its own framing, so that it
                    // ends the session as a framing error: a header no accumulator accepts.
                    self.acc.reset();
                    let now = self.now();
                    lock(&self.phone).handle_bytes(now, &[0xFF; ccx_cti::wire::HEADER_LEN]);
                    self.acc.reset();
                    break;
                }
            };
            // `remaining` is always a suffix of `input`.
            input = input.get(input.len().saturating_sub(left)..).unwrap_or(&[]);
            self.flush();
        }
    }

    fn drive_transport(&mut self) {
        // A phone asks for one action at a time; a few rounds cover connect-then-fail chains.
        for _ in 0..4 {
            let now = self.now();
            let action = lock(&self.phone).poll_transport(now);
            match action {
                Some(TransportAction::Connect { server }) => self.connect(server),
                Some(TransportAction::Disconnect) => {
                    self.close_stream();
                    self.emit(DriverEvent::Transport {
                        at: self.elapsed(),
                        note: TransportNote::Closed,
                    });
                    let now = self.now();
                    lock(&self.phone).disconnected(now);
                }
                None => return,
            }
        }
    }

    fn connect(&mut self, server: usize) {
        self.close_stream();
        let cfg = lock(&self.phone).config().clone();
        let Some(target) = cfg.servers.get(server) else {
            self.emit(DriverEvent::Transport {
                at: self.elapsed(),
                note: TransportNote::ConnectFailed {
                    server,
                    error: "no such server in the configuration".into(),
                },
            });
            let now = self.now();
            lock(&self.phone).connect_failed(now);
            return;
        };
        let addr = crate::config_file::server_text(target);
        let timeout = Duration::from_secs(u64::from(cfg.connect_timeout_secs.max(1)));
        self.emit(DriverEvent::Transport {
            at: self.elapsed(),
            note: TransportNote::Connecting {
                server,
                addr: addr.clone(),
            },
        });
        match open_stream(&addr, timeout) {
            Ok(stream) => match self.start_reader(&stream) {
                Ok(()) => {
                    self.stream = Some(stream);
                    self.acc.reset();
                    self.emit(DriverEvent::Transport {
                        at: self.elapsed(),
                        note: TransportNote::Connected { server },
                    });
                    let now = self.now();
                    lock(&self.phone).connected(now);
                }
                Err(e) => self.connect_failed(server, e.to_string()),
            },
            Err(e) => self.connect_failed(server, e.to_string()),
        }
    }

    fn connect_failed(&mut self, server: usize, error: String) {
        self.emit(DriverEvent::Transport {
            at: self.elapsed(),
            note: TransportNote::ConnectFailed { server, error },
        });
        let now = self.now();
        lock(&self.phone).connect_failed(now);
    }

    fn start_reader(&mut self, stream: &TcpStream) -> std::io::Result<()> {
        self.generation += 1;
        let generation = self.generation;
        let mut reader = stream.try_clone()?;
        let tx = self.input_tx.clone();
        std::thread::Builder::new()
            .name("ccx-driver-read".into())
            .spawn(move || {
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) | Err(_) => {
                            let _ = tx.send(Input::Closed(generation));
                            return;
                        }
                        Ok(n) => {
                            let bytes = buf.get(..n).unwrap_or(&[]).to_vec();
                            if tx.send(Input::Bytes(generation, bytes)).is_err() {
                                return;
                            }
                        }
                    }
                }
            })?;
        Ok(())
    }

    fn close_stream(&mut self) {
        if let Some(stream) = self.stream.take() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        // Input still in flight from the old reader is ignored from now on.
        self.generation += 1;
    }

    fn flush(&mut self) {
        loop {
            let Some(n) = lock(&self.phone).poll_transmit(&mut self.tx_buf) else {
                break;
            };
            let frame = self.tx_buf.get(..n).unwrap_or(&[]);
            self.counts.sent.fetch_add(1, Ordering::Relaxed);
            let written = match self.stream.as_mut() {
                Some(stream) => stream.write_all(frame).is_ok(),
                None => false,
            };
            if self.trace {
                let frame = frame.to_vec();
                let event = DriverEvent::Frame {
                    at: self.elapsed(),
                    direction: Direction::Sent,
                    frame,
                    version: self.version(),
                };
                self.emit(event);
            }
            if !written && self.stream.is_some() {
                self.close_stream();
                self.emit(DriverEvent::Transport {
                    at: self.elapsed(),
                    note: TransportNote::Closed,
                });
                let now = self.now();
                lock(&self.phone).disconnected(now);
            }
        }
        // The view is the phone's own: a caller that gets an event finds it at least that new.
        loop {
            let Some(event) = lock(&self.phone).poll_event() else {
                break;
            };
            self.emit(DriverEvent::Phone {
                at: self.elapsed(),
                event,
            });
        }
    }
}

fn open_stream(addr: &str, timeout: Duration) -> std::io::Result<TcpStream> {
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "address did not resolve");
    for a in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => {
                s.set_nodelay(true)?;
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccx_cti::phone::PreviewAnswer;

    #[test]
    fn commands_parse_as_the_flow_files_write_them() {
        assert_eq!(parse_command("ready"), Ok(AgentCommand::Ready));
        assert_eq!(
            parse_command("preview cancel-reservation"),
            Ok(AgentCommand::Preview(PreviewAnswer::CancelReservation))
        );
        assert_eq!(
            parse_command("preview callback 12312026 09:30").map(|c| c.as_command()
                == Command::Callback {
                    date: "12312026",
                    time: "09:30"
                }),
            Ok(true)
        );
        assert!(parse_command("dial").is_err());
        let login = parse_command("login hunter2").unwrap();
        assert!(!command_text(&login).contains("hunter2"));
        assert!(parse_command("fly").is_err());
        // Neither a refused login nor a driver event shows the password.
        let long = format!("login hunter2{}", "x".repeat(300));
        assert_eq!(
            parse_command(&long).unwrap_err().split(':').next(),
            Some("`login ********`")
        );
        let event = DriverEvent::CommandDone {
            at: Duration::ZERO,
            command: login.clone(),
            result: Ok(InvokeId(1)),
        };
        assert!(!format!("{event:?}").contains("hunter2"));
        assert_eq!(mask_command_text("login hunter2"), "login *******");
        assert_eq!(mask_command_text("dial 5551234"), "dial 5551234");
        assert!(parse_command(&format!("dial {}", "9".repeat(200))).is_err());
    }
}
