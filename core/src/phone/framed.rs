//! [`Phone`]: the engine and its frame accumulator, and the phone's mutating methods (the
//! rest it takes from its [`Engine`] by `Deref`).

use super::{
    Command, CommandError, Engine, Event, FrameDirection, FrameTap, Instant, InvokeId, NoTap,
    TransportAction, DEFAULT_CALLS, DEFAULT_EVENTS, DEFAULT_PENDING, DEFAULT_TX_BYTES,
    DEFAULT_VAR_BYTES,
};
use crate::config::PhoneConfig;
use crate::wire::{FrameAccumulator, DEFAULT_FRAME_CAPACITY};

/// The sans-io agent phone. See the [module documentation](crate::phone).
///
/// `CALLS`: calls tracked at once; `VAR_BYTES`: named-variable bytes per call; `PENDING`:
/// requests awaiting confirmation; `TX`: bytes of queued outgoing frames; `EVENTS`: queued
/// events; `FRAME`: the largest frame taken in (the phone's own frame accumulator). Name
/// them with [`phone_type!`](crate::phone_type); [`capacities`](crate::phone::capacities) gives each one's RAM.
///
/// Every method but [`Phone::new`] and the `handle_bytes` pair is the [`Engine`]'s: the phone
/// is its engine and its frame accumulator.
///
/// ```
/// use ccx_cti::config::PhoneConfig;
/// use ccx_cti::phone::{Event, Instant, Phone, SessionState, TransportAction};
/// use ccx_cti::wire::{fields::open_conf, Encoder, MessageType, WireVersion};
///
/// let mut phone: Phone = Phone::new(PhoneConfig::default());
/// let now = Instant::ZERO;
/// assert_eq!(phone.poll_transport(now), Some(TransportAction::Connect { server: 0 }));
/// phone.connected(now);
/// let mut frame = [0u8; 1024];
/// assert!(phone.poll_transmit(&mut frame).is_some());
/// assert_eq!(frame[4..8], [0, 0, 0, 3]); // OPEN_REQ
///
/// // The server opens the session.
/// let invoke_id = u32::from_be_bytes([frame[8], frame[9], frame[10], frame[11]]);
/// let mut reply = [0u8; 64];
/// let mut enc = Encoder::new(&mut reply, MessageType::OpenConf, WireVersion::DEFAULT);
/// enc.set(open_conf::INVOKE_ID, invoke_id).set(open_conf::SERVICES_GRANTED, 7);
/// let len = enc.finish().unwrap();
/// phone.handle_bytes(now, &reply[..len]);
/// assert_eq!(phone.session().state, SessionState::Open);
/// assert_eq!(phone.poll_event(), Some(Event::SessionOpened { server: 0 }));
/// ```
pub struct Phone<
    const CALLS: usize = DEFAULT_CALLS,
    const VAR_BYTES: usize = DEFAULT_VAR_BYTES,
    const PENDING: usize = DEFAULT_PENDING,
    const TX: usize = DEFAULT_TX_BYTES,
    const EVENTS: usize = DEFAULT_EVENTS,
    const FRAME: usize = DEFAULT_FRAME_CAPACITY,
> {
    engine: Engine<CALLS, VAR_BYTES, PENDING, TX, EVENTS>,
    /// Bytes of a frame not yet whole.
    acc: FrameAccumulator<FRAME>,
}

impl<
        const CALLS: usize,
        const VAR_BYTES: usize,
        const PENDING: usize,
        const TX: usize,
        const EVENTS: usize,
        const FRAME: usize,
    > Phone<CALLS, VAR_BYTES, PENDING, TX, EVENTS, FRAME>
{
    /// A phone that is not connected yet; it asks to connect to side A on the first
    /// `poll_transport`.
    pub fn new(config: PhoneConfig) -> Self {
        Phone {
            engine: Engine::new(config),
            acc: FrameAccumulator::new(),
        }
    }

    /// Bytes arrived from the server: frame them with the phone's own frame accumulator and
    /// handle every whole frame.
    ///
    /// A framing error (a length beyond `FRAME`) ends the session
    /// ([`SessionEndReason::FramingError`](super::SessionEndReason::FramingError)), drops the partial frame and the rest of `bytes`:
    /// the stream cannot be resynchronised. Bytes that arrive while no transport is up are
    /// dropped. The first bytes after `connected` start a fresh frame, so that a frame cut
    /// short by the old connection cannot spoil the new one.
    pub fn handle_bytes(&mut self, now: Instant, bytes: &[u8]) {
        self.handle_bytes_tapped(now, bytes, &mut NoTap);
    }

    /// Bytes of a frame not yet whole, held until the rest arrives.
    pub fn buffered(&self) -> usize {
        self.acc.buffered()
    }

    /// [`Self::handle_bytes`], showing `tap` every whole frame before the phone handles it.
    pub fn handle_bytes_tapped(&mut self, now: Instant, bytes: &[u8], tap: &mut dyn FrameTap) {
        let mut input = bytes;
        while !input.is_empty() {
            let used = self.handle_one_frame_tapped(now, input, tap);
            if used == 0 {
                return;
            }
            input = input.get(used..).unwrap_or(&[]);
        }
    }

    /// [`Self::handle_bytes`] for at most one whole frame: returns how many bytes of `bytes`
    /// it took. An adapter that passes the frame's events on before handing over the rest
    /// never lets a burst of events in one read overflow the phone's event queue.
    /// After a framing error the whole of `bytes` counts as taken (the rest is dropped).
    pub fn handle_one_frame(&mut self, now: Instant, bytes: &[u8]) -> usize {
        self.handle_one_frame_tapped(now, bytes, &mut NoTap)
    }

    /// [`Self::handle_one_frame`], showing `tap` the frame before the phone handles it.
    pub fn handle_one_frame_tapped(
        &mut self,
        now: Instant,
        bytes: &[u8],
        tap: &mut dyn FrameTap,
    ) -> usize {
        if !self.engine.link_is_up() {
            return bytes.len();
        }
        if self.engine.link.fresh_stream {
            self.acc.reset();
            self.engine.link.fresh_stream = false;
        }
        // The frame is handled where it lies in the accumulator: the engine is a field apart.
        match self.acc.feed(bytes) {
            crate::wire::FeedResult::Consumed => bytes.len(),
            crate::wire::FeedResult::Frame { frame, remaining } => {
                // `remaining` is always a suffix of `bytes`.
                let used = bytes.len().saturating_sub(remaining.len());
                tap.frame(FrameDirection::Received, now, frame);
                self.engine.handle_frame(now, frame);
                used
            }
            crate::wire::FeedResult::Error { .. } => {
                self.acc.reset();
                self.engine.framing_error(now);
                bytes.len()
            }
        }
    }

    /// [`Engine::poll_transport`]: what to do with the transport now (taking the action).
    #[must_use = "the phone now waits for the connect or disconnect it asked for"]
    pub fn poll_transport(&mut self, now: Instant) -> Option<TransportAction> {
        self.engine.poll_transport(now)
    }

    /// [`Engine::connected`]: the transport is connected; the phone queues OPEN_REQ.
    pub fn connected(&mut self, now: Instant) {
        self.engine.connected(now);
    }

    /// [`Engine::connect_failed`]: the connection attempt failed.
    pub fn connect_failed(&mut self, now: Instant) {
        self.engine.connect_failed(now);
    }

    /// [`Engine::disconnected`]: the transport closed.
    pub fn disconnected(&mut self, now: Instant) {
        self.engine.disconnected(now);
    }

    /// [`Engine::reconnect`]: start again after the phone stopped by itself.
    pub fn reconnect(&mut self, now: Instant) {
        self.engine.reconnect(now);
    }

    /// [`Engine::handle_timeout`]: a deadline from `poll_timeout` passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.engine.handle_timeout(now);
    }

    /// [`Engine::handle_frame`]: one whole frame, framed by the caller.
    pub fn handle_frame(&mut self, now: Instant, frame: &[u8]) {
        self.engine.handle_frame(now, frame);
    }

    /// [`Engine::command`]: the agent pressed a button.
    pub fn command(
        &mut self,
        now: Instant,
        command: Command<'_>,
    ) -> Result<InvokeId, CommandError> {
        self.engine.command(now, command)
    }

    /// [`Engine::poll_transmit`]: the next frame to send, written into `buf`.
    #[must_use = "a frame handed out and not sent is lost"]
    pub fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<usize> {
        self.engine.poll_transmit(buf)
    }

    /// [`Engine::poll_transmit_tapped`]: [`Self::poll_transmit`], showing `tap` the frame.
    #[must_use = "a frame handed out and not sent is lost"]
    pub fn poll_transmit_tapped(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        tap: &mut dyn FrameTap,
    ) -> Option<usize> {
        self.engine.poll_transmit_tapped(now, buf, tap)
    }

    /// [`Engine::poll_event`]: the next event for the UI.
    #[must_use = "an event taken from the queue and dropped is lost"]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.engine.poll_event()
    }
}

impl<
        const CALLS: usize,
        const VAR_BYTES: usize,
        const PENDING: usize,
        const TX: usize,
        const EVENTS: usize,
        const FRAME: usize,
    > core::ops::Deref for Phone<CALLS, VAR_BYTES, PENDING, TX, EVENTS, FRAME>
{
    type Target = Engine<CALLS, VAR_BYTES, PENDING, TX, EVENTS>;

    fn deref(&self) -> &Self::Target {
        &self.engine
    }
}

impl<
        const CALLS: usize,
        const VAR_BYTES: usize,
        const PENDING: usize,
        const TX: usize,
        const EVENTS: usize,
        const FRAME: usize,
    > core::fmt::Debug for Phone<CALLS, VAR_BYTES, PENDING, TX, EVENTS, FRAME>
{
    /// The engine's summary (never the configuration's passwords).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.engine.fmt(f)
    }
}

#[cfg(feature = "defmt")]
impl<
        const CALLS: usize,
        const VAR_BYTES: usize,
        const PENDING: usize,
        const TX: usize,
        const EVENTS: usize,
        const FRAME: usize,
    > defmt::Format for Phone<CALLS, VAR_BYTES, PENDING, TX, EVENTS, FRAME>
{
    fn format(&self, f: defmt::Formatter) {
        self.engine.format(f)
    }
}
