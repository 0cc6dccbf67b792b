//! [`Link`]: the phone's network side in one value (the stack, the socket's buffers, the
//! command and event channel ends) and the driver's loop behind its `drive` methods.
//!
//! The phone's six capacities are named once, in the [`DrivenPhone`] implementation for
//! [`Phone`]; the channels' mutex and depths are erased by embassy-sync's dynamic channel ends.
//! So a firmware writes `link.drive_until(&mut phone, stop)` and its types stay its own.

use crate::{now, to_embassy, Buffers, ConnectFailure, PublishedView, CLOSE_GRACE};
use ccx_cti::config::{Host, PhoneConfig, ServerAddr};
use ccx_cti::phone::{
    self as phone_mod, Command, CommandError, Event, InvokeId, OwnedCommand, Phone,
    TransportAction, DEFAULT_COMMAND_TEXT,
};
use core::future::Future;
use embassy_futures::select::{select, select4, Either, Either4};
use embassy_net::tcp::TcpSocket;
use embassy_net::{IpAddress, Stack};
use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::channel::{DynamicReceiver, DynamicSender, TrySendError};
use embassy_time::{with_timeout, Duration, Timer};
use embedded_io_async::Write;

mod sealed {
    pub trait Sealed {}
}

/// What the driver asks of a phone: implemented for every [`Phone`], whatever its capacities,
/// so the driver's signatures name one phone type rather than its six capacities. Sealed: the
/// driver relies on the core's phone.
pub trait DrivenPhone: sealed::Sealed {
    #[doc(hidden)]
    fn config(&self) -> &PhoneConfig;
    #[doc(hidden)]
    fn poll_transport(&mut self, now: phone_mod::Instant) -> Option<TransportAction>;
    #[doc(hidden)]
    fn connected(&mut self, now: phone_mod::Instant);
    #[doc(hidden)]
    fn connect_failed(&mut self, now: phone_mod::Instant);
    #[doc(hidden)]
    fn disconnected(&mut self, now: phone_mod::Instant);
    #[doc(hidden)]
    fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<usize>;
    #[doc(hidden)]
    fn poll_event(&mut self) -> Option<Event>;
    #[doc(hidden)]
    fn poll_timeout(&self) -> Option<phone_mod::Instant>;
    #[doc(hidden)]
    fn handle_one_frame(&mut self, now: phone_mod::Instant, bytes: &[u8]) -> usize;
    #[doc(hidden)]
    fn handle_timeout(&mut self, now: phone_mod::Instant);
    #[doc(hidden)]
    fn command(
        &mut self,
        now: phone_mod::Instant,
        command: Command<'_>,
    ) -> Result<InvokeId, CommandError>;
}

/// A view the driver can publish `P` to: a [`PublishedView`] whose capacities match the
/// phone's (the calls, variables and requests it copies). Sealed, like [`DrivenPhone`].
pub trait PublishTo<P>: sealed::Sealed {
    #[doc(hidden)]
    fn publish(&self, phone: &P);
}

// The one place the phone's capacities are spelled out.
impl<
        const CALLS: usize,
        const VAR_BYTES: usize,
        const PENDING: usize,
        const TX: usize,
        const EVENTS: usize,
        const FRAME: usize,
    > sealed::Sealed for Phone<CALLS, VAR_BYTES, PENDING, TX, EVENTS, FRAME>
{
}

impl<
        const CALLS: usize,
        const VAR_BYTES: usize,
        const PENDING: usize,
        const TX: usize,
        const EVENTS: usize,
        const FRAME: usize,
    > DrivenPhone for Phone<CALLS, VAR_BYTES, PENDING, TX, EVENTS, FRAME>
{
    fn config(&self) -> &PhoneConfig {
        phone_mod::Engine::config(self)
    }
    fn poll_transport(&mut self, now: phone_mod::Instant) -> Option<TransportAction> {
        Phone::poll_transport(self, now)
    }
    fn connected(&mut self, now: phone_mod::Instant) {
        Phone::connected(self, now);
    }
    fn connect_failed(&mut self, now: phone_mod::Instant) {
        Phone::connect_failed(self, now);
    }
    fn disconnected(&mut self, now: phone_mod::Instant) {
        Phone::disconnected(self, now);
    }
    fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<usize> {
        Phone::poll_transmit(self, buf)
    }
    fn poll_event(&mut self) -> Option<Event> {
        Phone::poll_event(self)
    }
    fn poll_timeout(&self) -> Option<phone_mod::Instant> {
        phone_mod::Engine::poll_timeout(self)
    }
    fn handle_one_frame(&mut self, now: phone_mod::Instant, bytes: &[u8]) -> usize {
        Phone::handle_one_frame(self, now, bytes)
    }
    fn handle_timeout(&mut self, now: phone_mod::Instant) {
        Phone::handle_timeout(self, now);
    }
    fn command(
        &mut self,
        now: phone_mod::Instant,
        command: Command<'_>,
    ) -> Result<InvokeId, CommandError> {
        Phone::command(self, now, command)
    }
}

impl<M: RawMutex, const CALLS: usize, const VAR_BYTES: usize, const PENDING: usize> sealed::Sealed
    for PublishedView<M, CALLS, VAR_BYTES, PENDING>
{
}

impl<
        M: RawMutex,
        const CALLS: usize,
        const VAR_BYTES: usize,
        const PENDING: usize,
        const TX: usize,
        const EVENTS: usize,
        const FRAME: usize,
    > PublishTo<Phone<CALLS, VAR_BYTES, PENDING, TX, EVENTS, FRAME>>
    for PublishedView<M, CALLS, VAR_BYTES, PENDING>
{
    fn publish(&self, phone: &Phone<CALLS, VAR_BYTES, PENDING, TX, EVENTS, FRAME>) {
        PublishedView::publish(self, phone);
    }
}

/// The phone's network side: an embassy-net stack, the socket's [`Buffers`], the channel the
/// agent's commands come from and the one its events go to. Build it once; drive a phone with
/// [`Self::drive`] (forever), [`Self::drive_until`] or [`Self::drive_until_published`].
///
/// ```ignore
/// let mut link = Link::new(stack, BUFFERS.init(Buffers::new()), COMMANDS.receiver(), EVENTS.sender());
/// let end = link.drive_until(&mut phone, stop).await;
/// ```
pub struct Link<'a, const TEXT: usize = DEFAULT_COMMAND_TEXT> {
    stack: Stack<'a>,
    socket_rx: &'a mut [u8],
    socket_tx: &'a mut [u8],
    out: &'a mut [u8],
    commands: DynamicReceiver<'a, OwnedCommand<TEXT>>,
    events: DynamicSender<'a, Event>,
}

impl<'a, const TEXT: usize> Link<'a, TEXT> {
    /// A link over `stack` working in `buffers`; commands are read from `commands` and events
    /// sent to `events` (a channel's `receiver()` and `sender()`, or their dynamic ends).
    ///
    /// When the event channel is full the driver waits for room and reads no more from the
    /// socket meanwhile (TCP holds the server back), so no event is lost.
    pub fn new<const SOCKET_RX: usize, const SOCKET_TX: usize, const OUT: usize>(
        stack: Stack<'a>,
        buffers: &'a mut Buffers<SOCKET_RX, SOCKET_TX, OUT>,
        commands: impl Into<DynamicReceiver<'a, OwnedCommand<TEXT>>>,
        events: impl Into<DynamicSender<'a, Event>>,
    ) -> Self {
        let Buffers {
            socket_rx,
            socket_tx,
            out,
        } = buffers;
        Link {
            stack,
            socket_rx,
            socket_tx,
            out,
            commands: commands.into(),
            events: events.into(),
        }
    }

    /// Drive `phone` over a TCP socket, forever.
    pub async fn drive<P: DrivenPhone>(&mut self, phone: &mut P) -> ! {
        let stop = core::future::pending::<core::convert::Infallible>();
        match self.run(phone, stop, &mut |_| {}).await {}
    }

    /// Drive `phone` until `stop` completes; then close the connection in order and return
    /// `stop`'s output.
    ///
    /// The phone is not told about that close: its views keep the state of the moment `stop`
    /// completed, for the caller to inspect (a device shutting down, a test checking the
    /// outcome). Call `phone.disconnected` before driving the same phone again.
    pub async fn drive_until<P: DrivenPhone, S: Future>(
        &mut self,
        phone: &mut P,
        stop: S,
    ) -> S::Output {
        self.run(phone, stop, &mut |_| {}).await
    }

    /// [`Self::drive_until`], publishing the phone's view to `view` after every step, for the
    /// application's other tasks to read ([`PublishedView::read`]) without holding the phone.
    pub async fn drive_until_published<P: DrivenPhone, S: Future>(
        &mut self,
        phone: &mut P,
        view: &impl PublishTo<P>,
        stop: S,
    ) -> S::Output {
        self.run(phone, stop, &mut |p| view.publish(p)).await
    }

    async fn run<P: DrivenPhone, S: Future>(
        &mut self,
        phone: &mut P,
        stop: S,
        publish: &mut dyn FnMut(&P),
    ) -> S::Output {
        let mut socket = TcpSocket::new(self.stack, self.socket_rx, self.socket_tx);
        let serving = serve(
            self.stack,
            &mut socket,
            self.out,
            phone,
            self.commands,
            self.events,
            publish,
        );
        let output = match select(serving, stop).await {
            Either::First(never) => match never {},
            Either::Second(output) => output,
        };
        close(&mut socket).await;
        output
    }
}

/// The driver's loop: transport actions, transmit, events, then wait for input or a deadline.
async fn serve<P: DrivenPhone, const TEXT: usize>(
    stack: Stack<'_>,
    socket: &mut TcpSocket<'_>,
    out: &mut [u8],
    phone: &mut P,
    commands: DynamicReceiver<'_, OwnedCommand<TEXT>>,
    events: DynamicSender<'_, Event>,
    publish: &mut dyn FnMut(&P),
) -> ! {
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
async fn lose_connection(
    socket: &mut TcpSocket<'_>,
    connected: &mut bool,
    phone: &mut impl DrivenPhone,
) {
    socket.abort();
    let _ = with_timeout(CLOSE_GRACE, socket.flush()).await;
    if *connected {
        *connected = false;
        phone.disconnected(now());
    }
}
