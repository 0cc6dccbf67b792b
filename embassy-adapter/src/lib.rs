//! # ccx-cti-embassy
//!
//! An async driver that runs the [`ccx_cti`] agent phone over an `embassy-net` TCP socket and
//! `embassy-time`. It moves bytes, time and button presses in and out of the sans-io
//! [`Phone`]; every protocol decision stays in the core.
//!
//! ```text
//!  commands (Receiver<OwnedCommand>) --> phone.command()        phone.poll_event() --> events (Sender<Event>)
//!  TcpSocket bytes ------------------> phone.handle_one_frame() phone.poll_transmit() --> TcpSocket
//!  Timer::at(phone.poll_timeout()) --> phone.handle_timeout()   phone.poll_transport() --> connect / close
//! ```
//!
//! [`run`] is the whole task for a phone with the default capacities; [`drive`] takes a phone
//! and buffers the caller owns (to choose capacities); [`drive_until`] also stops when a future
//! completes, closes the connection in order and hands the phone back for inspection.
//!
//! The same code runs on an MCU (no `std`: embassy-time gets its driver from the HAL) and on a
//! host (feature `std`: embassy-time's std driver, a TAP device under embassy-net).
//!
//! Servers are IPv4 literals by default; feature `ipv6` adds IPv6 literals and feature `dns`
//! host names, resolved with embassy-net's DNS client (the stack needs a DNS server, e.g. from
//! DHCP). Check the configuration with [`PhoneConfig::validate`] before handing it over.
//!
//! The driver hands the phone one received frame at a time and passes its events on after
//! each; while the event channel is full it stops reading the socket (TCP holds the server
//! back) rather than let the phone's own queue overflow, so a burst loses no event.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

#[macro_use]
mod fmt;

pub use ccx_cti::phone::{OwnedCommand, TextTooLong, DEFAULT_COMMAND_TEXT};

use ccx_cti::config::{Host, PhoneConfig, ServerAddr};
use ccx_cti::phone::{self, Event, Phone, PhoneSnapshot, PhoneView, ReasonLabels, TransportAction};
use core::cell::RefCell;
use core::future::Future;
use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use embassy_sync::signal::Signal;

use embassy_futures::select::{select, select4, Either, Either4};
use embassy_net::tcp::TcpSocket;
use embassy_net::{IpAddress, Stack};
use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::channel::{Receiver, Sender, TrySendError};
use embassy_time::{with_timeout, Duration, Timer};
use embedded_io_async::Write;

/// Default bytes of the socket's receive buffer.
pub const DEFAULT_SOCKET_RX: usize = 2048;
/// Default bytes of the socket's transmit buffer.
pub const DEFAULT_SOCKET_TX: usize = 1024;
/// Default bytes of the buffer one outgoing frame is encoded into (the core's transmit queue
/// hands out frames no longer than its own default).
pub const DEFAULT_OUT: usize = phone::DEFAULT_TX_BYTES;

/// How long a closing connection may take to flush before it is aborted.
const CLOSE_GRACE: Duration = Duration::from_millis(500);

/// The memory the driver works in besides the phone (which holds its own frame accumulator):
/// the TCP socket's buffers and one outgoing frame. Put it in a `static` (it is `const`-constructible) on small MCUs.
pub struct Buffers<
    const SOCKET_RX: usize = DEFAULT_SOCKET_RX,
    const SOCKET_TX: usize = DEFAULT_SOCKET_TX,
    const OUT: usize = DEFAULT_OUT,
> {
    socket_rx: [u8; SOCKET_RX],
    socket_tx: [u8; SOCKET_TX],
    out: [u8; OUT],
}

impl<const SOCKET_RX: usize, const SOCKET_TX: usize, const OUT: usize>
    Buffers<SOCKET_RX, SOCKET_TX, OUT>
{
    /// Zeroed buffers.
    pub const fn new() -> Self {
        Buffers {
            socket_rx: [0; SOCKET_RX],
            socket_tx: [0; SOCKET_TX],
            out: [0; OUT],
        }
    }
}

impl<const SOCKET_RX: usize, const SOCKET_TX: usize, const OUT: usize> Default
    for Buffers<SOCKET_RX, SOCKET_TX, OUT>
{
    fn default() -> Self {
        Self::new()
    }
}

/// The phone's view published by [`drive_until_published`] for the application's other tasks:
/// a [`PhoneSnapshot`] behind a blocking mutex, and a signal that it changed. A screen task
/// waits for [`Self::changed`] and draws from [`Self::read`]; it never holds the phone.
pub struct PublishedView<
    M: RawMutex,
    const CALLS: usize = { phone::DEFAULT_CALLS },
    const VAR_BYTES: usize = { phone::DEFAULT_VAR_BYTES },
    const PENDING: usize = { phone::DEFAULT_PENDING },
> {
    snapshot: BlockingMutex<M, RefCell<PhoneSnapshot<CALLS, VAR_BYTES, PENDING>>>,
    changed: Signal<M, u32>,
}

impl<M: RawMutex, const CALLS: usize, const VAR_BYTES: usize, const PENDING: usize> Default
    for PublishedView<M, CALLS, VAR_BYTES, PENDING>
{
    fn default() -> Self {
        Self::new()
    }
}

impl<M: RawMutex, const CALLS: usize, const VAR_BYTES: usize, const PENDING: usize>
    PublishedView<M, CALLS, VAR_BYTES, PENDING>
{
    /// Nothing published yet (the view of a phone that has not started).
    pub const fn new() -> Self {
        PublishedView {
            snapshot: BlockingMutex::new(RefCell::new(PhoneSnapshot::new())),
            changed: Signal::new(),
        }
    }

    /// Read the latest view (keep `read` short: the driver waits for the lock meanwhile).
    pub fn read<R>(&self, read: impl FnOnce(&PhoneView<'_, VAR_BYTES>) -> R) -> R {
        self.snapshot.lock(|s| read(&s.borrow().view()))
    }

    /// [`Self::read`] with the agent's reasons labelled from `labels` (the application's
    /// vocabulary).
    pub fn read_with<R>(
        &self,
        labels: &dyn ReasonLabels,
        read: impl FnOnce(&PhoneView<'_, VAR_BYTES>) -> R,
    ) -> R {
        self.snapshot.lock(|s| read(&s.borrow().view_with(labels)))
    }

    /// Wait until the driver published a newer view; returns its generation.
    pub async fn changed(&self) -> u32 {
        self.changed.wait().await
    }

    fn publish<const TX: usize, const EVENTS: usize, const FRAME: usize>(
        &self,
        phone: &Phone<CALLS, VAR_BYTES, PENDING, TX, EVENTS, FRAME>,
    ) {
        let generation = self.snapshot.lock(|s| {
            let mut s = s.borrow_mut();
            s.refresh(phone);
            s.generation
        });
        self.changed.signal(generation);
    }
}

/// The phone's clock: embassy-time's uptime in milliseconds.
pub fn now() -> phone::Instant {
    phone::Instant::from_millis(embassy_time::Instant::now().as_millis())
}

fn to_embassy(at: phone::Instant) -> embassy_time::Instant {
    embassy_time::Instant::from_millis(at.as_millis())
}

/// Why a connection attempt failed (for the log; the phone only learns that it failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[allow(dead_code)] // the payloads are read by the log only
enum ConnectFailure {
    NoSuchServer,
    /// The host is neither an IP address nor a host name (PhoneConfig::validate says why).
    BadHost,
    /// An IPv6 literal without the `ipv6` feature.
    Ipv6NotEnabled,
    /// A host name without the `dns` feature.
    NameNeedsDns,
    #[cfg(feature = "dns")]
    Dns(embassy_net::dns::Error),
    #[cfg(feature = "dns")]
    NameNotFound,
    Refused(embassy_net::tcp::ConnectError),
    TimedOut,
}

/// Run a phone with the default capacities for `config`, forever: the whole phone task.
///
/// The future holds the phone and its [`Buffers`] (about 22 KB with the defaults), so spawn it
/// as a task (whose storage is static) rather than awaiting it on a small stack.
///
/// Commands come from `commands`; events go to `events` (when the channel is full the driver
/// waits for room and leaves further events queued in the phone, whose own queue reports
/// overflow as [`Event::EventsLost`]).
pub async fn run<M: RawMutex, const TEXT: usize, const COMMANDS: usize, const EVENTS: usize>(
    stack: Stack<'_>,
    config: &PhoneConfig,
    commands: Receiver<'_, M, OwnedCommand<TEXT>, COMMANDS>,
    events: Sender<'_, M, Event, EVENTS>,
) -> ! {
    let mut phone: Phone = Phone::new(config.clone());
    let mut buffers: Buffers = Buffers::new();
    drive(stack, &mut phone, &mut buffers, commands, events).await
}

/// Drive `phone` over a TCP socket on `stack`, forever.
pub async fn drive<
    M: RawMutex,
    const CALLS: usize,
    const VAR_BYTES: usize,
    const PENDING: usize,
    const TX: usize,
    const QUEUED_EVENTS: usize,
    const SOCKET_RX: usize,
    const SOCKET_TX: usize,
    const FRAME: usize,
    const OUT: usize,
    const TEXT: usize,
    const COMMANDS: usize,
    const EVENTS: usize,
>(
    stack: Stack<'_>,
    phone: &mut Phone<CALLS, VAR_BYTES, PENDING, TX, QUEUED_EVENTS, FRAME>,
    buffers: &mut Buffers<SOCKET_RX, SOCKET_TX, OUT>,
    commands: Receiver<'_, M, OwnedCommand<TEXT>, COMMANDS>,
    events: Sender<'_, M, Event, EVENTS>,
) -> ! {
    let never = drive_until(
        stack,
        phone,
        buffers,
        commands,
        events,
        core::future::pending::<core::convert::Infallible>(),
    )
    .await;
    match never {}
}

/// Drive `phone` over a TCP socket on `stack` until `stop` completes; then close the
/// connection in order and return `stop`'s output.
///
/// The phone is not told about that close: its views keep the state of the moment `stop`
/// completed, for the caller to inspect (a device shutting down, a test checking the outcome).
/// Call `phone.disconnected` before driving the same phone again.
pub async fn drive_until<
    M: RawMutex,
    S: Future,
    const CALLS: usize,
    const VAR_BYTES: usize,
    const PENDING: usize,
    const TX: usize,
    const QUEUED_EVENTS: usize,
    const SOCKET_RX: usize,
    const SOCKET_TX: usize,
    const FRAME: usize,
    const OUT: usize,
    const TEXT: usize,
    const COMMANDS: usize,
    const EVENTS: usize,
>(
    stack: Stack<'_>,
    phone: &mut Phone<CALLS, VAR_BYTES, PENDING, TX, QUEUED_EVENTS, FRAME>,
    buffers: &mut Buffers<SOCKET_RX, SOCKET_TX, OUT>,
    commands: Receiver<'_, M, OwnedCommand<TEXT>, COMMANDS>,
    events: Sender<'_, M, Event, EVENTS>,
    stop: S,
) -> S::Output {
    run_until(stack, phone, buffers, commands, events, stop, &mut |_| {}).await
}

/// [`drive_until`], publishing the phone's view to `view` after every step, for the
/// application's other tasks to read ([`PublishedView::read`]) without holding the phone.
#[allow(clippy::too_many_arguments)]
pub async fn drive_until_published<
    M: RawMutex,
    VM: RawMutex,
    S: Future,
    const CALLS: usize,
    const VAR_BYTES: usize,
    const PENDING: usize,
    const TX: usize,
    const QUEUED_EVENTS: usize,
    const SOCKET_RX: usize,
    const SOCKET_TX: usize,
    const FRAME: usize,
    const OUT: usize,
    const TEXT: usize,
    const COMMANDS: usize,
    const EVENTS: usize,
>(
    stack: Stack<'_>,
    phone: &mut Phone<CALLS, VAR_BYTES, PENDING, TX, QUEUED_EVENTS, FRAME>,
    buffers: &mut Buffers<SOCKET_RX, SOCKET_TX, OUT>,
    commands: Receiver<'_, M, OwnedCommand<TEXT>, COMMANDS>,
    events: Sender<'_, M, Event, EVENTS>,
    view: &PublishedView<VM, CALLS, VAR_BYTES, PENDING>,
    stop: S,
) -> S::Output {
    let mut publish =
        |p: &Phone<CALLS, VAR_BYTES, PENDING, TX, QUEUED_EVENTS, FRAME>| view.publish(p);
    run_until(stack, phone, buffers, commands, events, stop, &mut publish).await
}

#[allow(clippy::too_many_arguments)]
async fn run_until<
    M: RawMutex,
    S: Future,
    const CALLS: usize,
    const VAR_BYTES: usize,
    const PENDING: usize,
    const TX: usize,
    const QUEUED_EVENTS: usize,
    const SOCKET_RX: usize,
    const SOCKET_TX: usize,
    const FRAME: usize,
    const OUT: usize,
    const TEXT: usize,
    const COMMANDS: usize,
    const EVENTS: usize,
>(
    stack: Stack<'_>,
    phone: &mut Phone<CALLS, VAR_BYTES, PENDING, TX, QUEUED_EVENTS, FRAME>,
    buffers: &mut Buffers<SOCKET_RX, SOCKET_TX, OUT>,
    commands: Receiver<'_, M, OwnedCommand<TEXT>, COMMANDS>,
    events: Sender<'_, M, Event, EVENTS>,
    stop: S,
    publish: &mut dyn FnMut(&Phone<CALLS, VAR_BYTES, PENDING, TX, QUEUED_EVENTS, FRAME>),
) -> S::Output {
    let Buffers {
        socket_rx,
        socket_tx,
        out,
    } = buffers;
    let mut socket = TcpSocket::new(stack, socket_rx, socket_tx);
    let loop_io = LoopIo {
        socket: &mut socket,
        out,
    };
    let serving = serve(stack, loop_io, phone, commands, events, publish);
    let output = match select(serving, stop).await {
        Either::First(never) => match never {},
        Either::Second(output) => output,
    };
    close(&mut socket).await;
    output
}

/// What the loop works with besides the phone.
struct LoopIo<'a, 's> {
    socket: &'a mut TcpSocket<'s>,
    out: &'a mut [u8],
}

/// The driver's loop: transport actions, transmit, events, then wait for input or a deadline.
async fn serve<
    M: RawMutex,
    const CALLS: usize,
    const VAR_BYTES: usize,
    const PENDING: usize,
    const TX: usize,
    const QUEUED_EVENTS: usize,
    const FRAME: usize,
    const TEXT: usize,
    const COMMANDS: usize,
    const EVENTS: usize,
>(
    stack: Stack<'_>,
    io: LoopIo<'_, '_>,
    phone: &mut Phone<CALLS, VAR_BYTES, PENDING, TX, QUEUED_EVENTS, FRAME>,
    commands: Receiver<'_, M, OwnedCommand<TEXT>, COMMANDS>,
    events: Sender<'_, M, Event, EVENTS>,
    publish: &mut dyn FnMut(&Phone<CALLS, VAR_BYTES, PENDING, TX, QUEUED_EVENTS, FRAME>),
) -> ! {
    let LoopIo { socket, out } = io;
    let mut connected = false;
    // An event the channel had no room for; sent before any newer one.
    let mut unsent: Option<Event> = None;

    loop {
        while let Some(action) = phone.poll_transport(now()) {
            match action {
                TransportAction::Connect { server } => {
                    if connected {
                        // The phone has given up on the old connection; do not leave it open.
                        close(socket).await;
                        connected = false;
                    }
                    match connect(socket, stack, phone.config(), server).await {
                        Ok(()) => {
                            adapter_info!("connected to server {:?}", server);
                            connected = true;
                            phone.connected(now());
                        }
                        Err(failure) => {
                            adapter_warn!("connect to server {:?} failed: {:?}", server, failure);
                            socket.abort();
                            let _ = with_timeout(CLOSE_GRACE, socket.flush()).await;
                            phone.connect_failed(now());
                        }
                    }
                }
                TransportAction::Disconnect => {
                    close(socket).await;
                    connected = false;
                    phone.disconnected(now());
                }
            }
        }

        while let Some(len) = phone.poll_transmit(&mut *out) {
            let frame = out.get(..len).unwrap_or(&[]);
            if !connected {
                adapter_warn!("dropping a {:?}-byte frame: not connected", len);
                continue;
            }
            if let Err(error) = socket.write_all(frame).await {
                adapter_warn!("write failed: {:?}", error);
                lose_connection(socket, &mut connected, phone).await;
            }
        }

        // The view first: an application that gets an event finds the view at least that new.
        publish(phone);
        if unsent.is_none() {
            while let Some(event) = phone.poll_event() {
                adapter_debug!("event {:?}", event);
                if let Err(TrySendError::Full(event)) = events.try_send(event) {
                    adapter_debug!("event channel full: {:?} waits for room", event);
                    unsent = Some(event);
                    break;
                }
            }
        }

        let deadline = phone.poll_timeout();
        let readable = async {
            // While an event waits for room, read nothing: the next frame's events would
            // pile up in the phone's queue and overflow it.
            if !connected || unsent.is_some() {
                return core::future::pending().await;
            }
            socket
                .read_with(|bytes| {
                    let used = phone.handle_one_frame(now(), bytes);
                    (used, used)
                })
                .await
        };
        let timer = async {
            match deadline {
                Some(at) => Timer::at(to_embassy(at)).await,
                None => core::future::pending().await,
            }
        };
        let room_for_event = async {
            match unsent {
                Some(event) => events.send(event).await,
                None => core::future::pending().await,
            }
        };
        match select4(readable, commands.receive(), timer, room_for_event).await {
            Either4::First(Ok(_)) => {}
            Either4::First(Err(error)) => {
                adapter_info!("connection closed: {:?}", error);
                lose_connection(socket, &mut connected, phone).await;
            }
            Either4::Second(command) => {
                if let Err(error) = phone.command(now(), command.as_command()) {
                    adapter_warn!("command {:?} refused: {:?}", command, error);
                }
            }
            Either4::Third(()) => phone.handle_timeout(now()),
            Either4::Fourth(()) => unsent = None,
        }
    }
}

/// Open the TCP connection to `config.servers[server]` within the configured connect timeout
/// (name resolution included).
async fn connect(
    socket: &mut TcpSocket<'_>,
    stack: Stack<'_>,
    config: &PhoneConfig,
    server: usize,
) -> Result<(), ConnectFailure> {
    let addr = config
        .servers
        .get(server)
        .ok_or(ConnectFailure::NoSuchServer)?;
    // validate() refuses 0; a configuration that skipped it must not fail every connect.
    let timeout = Duration::from_secs(u64::from(config.connect_timeout_secs.max(1)));
    let attempt = async {
        let ip = resolve(stack, addr).await?;
        socket
            .connect((ip, addr.port))
            .await
            .map_err(ConnectFailure::Refused)
    };
    match with_timeout(timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(ConnectFailure::TimedOut),
    }
}

/// The address of a server's host: a literal as it is, a name through DNS.
async fn resolve(stack: Stack<'_>, addr: &ServerAddr) -> Result<IpAddress, ConnectFailure> {
    let _ = stack; // used by the `dns` feature only
    match addr.host().map_err(|_| ConnectFailure::BadHost)? {
        Host::Ipv4(ip) => Ok(IpAddress::Ipv4(ip)),
        #[cfg(feature = "ipv6")]
        Host::Ipv6(ip) => Ok(IpAddress::Ipv6(ip)),
        #[cfg(not(feature = "ipv6"))]
        Host::Ipv6(_) => Err(ConnectFailure::Ipv6NotEnabled),
        #[cfg(feature = "dns")]
        Host::Name(name) => stack
            .dns_query(name, embassy_net::dns::DnsQueryType::A)
            .await
            .map_err(ConnectFailure::Dns)?
            .first()
            .copied()
            .ok_or(ConnectFailure::NameNotFound),
        #[cfg(not(feature = "dns"))]
        Host::Name(_) => Err(ConnectFailure::NameNeedsDns),
    }
}

/// Close in order (FIN after queued data), then make sure the socket is free for the next
/// connect.
async fn close(socket: &mut TcpSocket<'_>) {
    socket.close();
    let _ = with_timeout(CLOSE_GRACE, socket.flush()).await;
    socket.abort();
    let _ = with_timeout(CLOSE_GRACE, socket.flush()).await;
}

/// The connection broke under the phone: free the socket and tell the phone.
async fn lose_connection<
    const CALLS: usize,
    const VAR_BYTES: usize,
    const PENDING: usize,
    const TX: usize,
    const QUEUED_EVENTS: usize,
    const FRAME: usize,
>(
    socket: &mut TcpSocket<'_>,
    connected: &mut bool,
    phone: &mut Phone<CALLS, VAR_BYTES, PENDING, TX, QUEUED_EVENTS, FRAME>,
) {
    socket.abort();
    let _ = with_timeout(CLOSE_GRACE, socket.flush()).await;
    if *connected {
        *connected = false;
        phone.disconnected(now());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use ccx_cti::phone::{Instant, SessionEndReason};
    use ccx_cti::wire::WireVersion;
    use ccx_cti::wire::{decode, fields, message_def, tag, AgentState, Encoder, MessageType};
    use std::vec::Vec;

    fn frame(ty: MessageType, build: impl FnOnce(&mut Encoder<'_>)) -> Vec<u8> {
        let mut buf = std::vec![0u8; 512];
        let mut enc = Encoder::new(&mut buf, ty, WireVersion::DEFAULT);
        build(&mut enc);
        let n = enc.finish().unwrap();
        buf.truncate(n);
        buf
    }

    fn agent_state_event(reason: u16) -> Vec<u8> {
        let ty = MessageType::AgentStateEvent;
        let layout = message_def(ty.id()).and_then(|d| d.layout).unwrap();
        frame(ty, |enc| {
            let state = if reason.is_multiple_of(2) {
                AgentState::Available
            } else {
                AgentState::NotReady
            };
            for (label, value) in [
                ("AgentState", u32::from(state.value())),
                ("EventReasonCode", u32::from(reason)),
            ] {
                enc.set_fixed_raw(layout.fixed_named(label).unwrap().0, value);
            }
            enc.string(tag::AGENT_ID, "chli4020")
                .string(tag::AGENT_EXTENSION, "4020");
        })
    }

    /// A phone with an open session.
    fn open_phone() -> Phone {
        let config = PhoneConfig {
            agent_id: "chli4020".try_into().unwrap(),
            agent_extension: "4020".try_into().unwrap(),
            ..PhoneConfig::default()
        };
        let mut phone: Phone = Phone::new(config);
        let now = Instant::ZERO;
        assert!(phone.poll_transport(now).is_some());
        phone.connected(now);
        let mut out = [0u8; DEFAULT_OUT];
        let n = phone.poll_transmit(&mut out).unwrap();
        let invoke_id = decode(&out[..n], WireVersion::DEFAULT)
            .unwrap()
            .invoke_id()
            .unwrap();
        let conf = frame(MessageType::OpenConf, |enc| {
            enc.set(fields::open_conf::INVOKE_ID, invoke_id)
                .set(fields::open_conf::SERVICES_GRANTED, 7);
        });
        assert_eq!(phone.handle_one_frame(now, &conf), conf.len());
        while phone.poll_event().is_some() {}
        phone
    }

    /// What the driver's loop does with one socket read: one frame per call, events passed
    /// on after each.
    fn read_all(phone: &mut Phone, read: &[u8]) -> Vec<Event> {
        let mut events = Vec::new();
        let mut input = read;
        while !input.is_empty() {
            let used = phone.handle_one_frame(Instant::ZERO, input);
            assert!(used > 0 && used <= input.len());
            input = &input[used..];
            while let Some(event) = phone.poll_event() {
                events.push(event);
            }
        }
        events
    }

    #[test]
    fn a_read_of_1000_events_reaches_the_application_whole() {
        let mut phone = open_phone();
        let burst: Vec<u8> = (1..=1000).flat_map(agent_state_event).collect();
        // The burst in one read, then split at an odd size across reads.
        for chunk in [burst.len(), 777] {
            let mut reasons = Vec::new();
            for read in burst.chunks(chunk) {
                for event in read_all(&mut phone, read) {
                    match event {
                        Event::AgentStateChanged { reason, .. } => reasons.push(reason.code()),
                        Event::EventsLost { count } => panic!("{count} events lost"),
                        _ => {}
                    }
                }
            }
            assert_eq!(reasons, (1..=1000).collect::<Vec<u16>>());
        }
    }

    #[test]
    fn a_frame_too_long_ends_the_session_as_a_framing_error() {
        let mut phone = open_phone();
        let events = read_all(&mut phone, &[0x00, 0x10, 0x00, 0x00, 0, 0, 0, 1]);
        assert!(events.iter().any(|e| matches!(
            e,
            Event::SessionLost {
                reason: SessionEndReason::FramingError,
                ..
            }
        )));
    }
}
