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
//! [`run`] is the whole task for a phone with the default capacities; [`Link`] holds the
//! network side (stack, socket buffers, channel ends) for a phone the caller owns (to choose
//! capacities): [`Link::drive`] runs it forever, [`Link::drive_until`] also stops when a future
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

mod link;

pub use ccx_cti::phone::{OwnedCommand, TextTooLong, DEFAULT_COMMAND_TEXT};
pub use link::{DrivenPhone, Link, PublishTo};

use ccx_cti::config::PhoneConfig;
use ccx_cti::phone::{self, Event, Phone, PhoneSnapshot, PhoneView, ReasonLabels};
use core::cell::RefCell;
use embassy_net::Stack;
use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use embassy_sync::channel::{DynamicReceiver, DynamicSender};
use embassy_sync::signal::Signal;
use embassy_time::Duration;

/// Default bytes of the socket's receive buffer.
pub const DEFAULT_SOCKET_RX: usize = 2048;
/// Default bytes of the socket's transmit buffer.
pub const DEFAULT_SOCKET_TX: usize = 1024;
/// Default bytes of the buffer one outgoing frame is encoded into (the core's transmit queue
/// hands out frames no longer than its own default).
pub const DEFAULT_OUT: usize = phone::DEFAULT_TX_BYTES;

/// How long a closing connection may take to flush before it is aborted.
pub(crate) const CLOSE_GRACE: Duration = Duration::from_millis(500);

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

/// The phone's view published by [`Link::drive_until_published`] for the application's other tasks:
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

pub(crate) fn to_embassy(at: phone::Instant) -> embassy_time::Instant {
    embassy_time::Instant::from_millis(at.as_millis())
}

/// Why a connection attempt failed (for the log; the phone only learns that it failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[allow(dead_code)] // the payloads are read by the log only
pub(crate) enum ConnectFailure {
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
/// Commands come from `commands` and events go to `events` (see [`Link::new`]).
pub async fn run<'a, const TEXT: usize>(
    stack: Stack<'a>,
    config: &PhoneConfig,
    commands: impl Into<DynamicReceiver<'a, OwnedCommand<TEXT>>>,
    events: impl Into<DynamicSender<'a, Event>>,
) -> ! {
    let mut phone: Phone = Phone::new(config.clone());
    let mut buffers: Buffers = Buffers::new();
    let (commands, events) = (commands.into(), events.into());
    Link::new(stack, &mut buffers, commands, events)
        .drive(&mut phone)
        .await
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
