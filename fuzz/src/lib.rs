//! Not the simulator: here the fuzzer's input is the server (every byte the phone receives comes from it), and targets must be deterministic, single-threaded and core-only (no sockets, clocks or std adapter).
//! Shared drivers of the fuzz targets, and the byte encoding of the phone target's operations
//! (the seed writer uses it too, so seeds and target cannot disagree).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use ccx_cti::config::{PhoneConfig, ServerAddr};
use ccx_cti::phone::{Command, Event, Instant, Phone, PreviewAnswer, TransportAction};
use ccx_cti::trace::{self, TraceOptions};
use ccx_cti::wire::spec::{Direction, MessageDef, TagType};
use ccx_cti::wire::{
    decode, tag_def, DecodeErrorKind, Encoder, FeedResult, FrameAccumulator, FrameError,
    MessageType, WireVersion, MESSAGES,
};

/// The versions the decode-side targets use, chosen by one input byte.
pub fn version_from(byte: u8) -> WireVersion {
    match byte % 4 {
        0 => WireVersion::new(10),
        1 => WireVersion::new(17),
        2 => WireVersion::new(18),
        _ => WireVersion::new(18).with_v18_length_width(2),
    }
}

/// The inverse of [`version_from`] for the seed writer.
pub fn version_byte(version: u32, v18_width: u8) -> u8 {
    match (version, v18_width) {
        (10, _) => 0,
        (17, _) => 1,
        (18, 1) => 2,
        _ => 3,
    }
}

// ---------------------------------------------------------------------------------------------
// Framing

/// What a stream framed into: the frames, then the first error (framing stops there: the
/// stream cannot be resynchronised after one).
#[derive(Debug, PartialEq, Eq)]
pub struct Framed {
    /// Every whole frame, header included.
    pub frames: Vec<Vec<u8>>,
    /// The first framing error.
    pub error: Option<FrameError>,
}

/// Frame `stream` fed in chunks whose sizes `next_chunk` picks (0 counts as 1), checking the
/// accumulator's own promises on the way.
pub fn frame_stream<const N: usize>(
    stream: &[u8],
    next_chunk: &mut dyn FnMut() -> usize,
) -> Framed {
    let mut acc: FrameAccumulator<N> = FrameAccumulator::new();
    let mut out = Framed {
        frames: Vec::new(),
        error: None,
    };
    let mut rest = stream;
    while !rest.is_empty() {
        let take = next_chunk().clamp(1, rest.len());
        let (chunk, after) = rest.split_at(take);
        rest = after;
        let mut input = chunk;
        loop {
            match acc.feed(input) {
                FeedResult::Consumed => break,
                FeedResult::Frame { frame, remaining } => {
                    assert!(frame.len() >= 8, "frame shorter than its header");
                    let declared = u32::from_be_bytes(frame[..4].try_into().unwrap());
                    assert_eq!(frame.len(), 8 + declared as usize, "frame length");
                    assert!(frame.len() <= N, "frame larger than the buffer");
                    assert!(remaining.len() < input.len(), "a frame must consume input");
                    out.frames.push(frame.to_vec());
                    input = remaining;
                }
                FeedResult::Error { error, remaining } => {
                    assert!(remaining.len() <= input.len());
                    out.error = Some(error);
                    return out;
                }
            }
            assert!(acc.buffered() <= N);
        }
        assert!(acc.buffered() <= N);
    }
    // What was framed is exactly a prefix of the stream.
    let joined: Vec<u8> = out.frames.concat();
    assert_eq!(
        &stream[..joined.len()],
        &joined[..],
        "frames are not the stream"
    );
    assert_eq!(
        stream.len() - joined.len(),
        acc.buffered(),
        "bytes lost or invented"
    );
    out
}

/// The framing target: `data[0..2]` pick a chunk pattern, the rest is the stream. Framing it
/// whole and in chunks must give the same frames and the same first error, for a small and the
/// default buffer.
pub fn framing_target(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let (pattern, stream) = data.split_at(2);
    let (a, b) = (usize::from(pattern[0]), usize::from(pattern[1]));
    fn check<const N: usize>(stream: &[u8], a: usize, b: usize) {
        let whole = frame_stream::<N>(stream, &mut || usize::MAX);
        let mut turn = 0usize;
        let chunked = frame_stream::<N>(stream, &mut || {
            turn += 1;
            // Alternate two sizes; `b` varies them so splits land inside headers too.
            if turn % 2 == 0 {
                a % 17 + 1
            } else {
                b + 1
            }
        });
        let bytewise = frame_stream::<N>(stream, &mut || 1);
        assert_eq!(whole, chunked, "whole vs chunked");
        assert_eq!(whole, bytewise, "whole vs byte by byte");
    }
    check::<64>(stream, a, b);
    check::<{ ccx_cti::wire::DEFAULT_FRAME_CAPACITY }>(stream, a, b);
}

// ---------------------------------------------------------------------------------------------
// Decode and trace text

/// Render `frame` (decoded under `version`) with secrets shown.
pub fn render_shown(msg: &ccx_cti::wire::Message<'_>) -> String {
    trace::display_with(
        msg,
        TraceOptions {
            show_secrets: true,
            indent: 2,
        },
    )
    .to_string()
}

/// The decode target: `data[0]` picks the version, the rest is one frame. A frame that decodes
/// must render, parse back and render to the same text.
pub fn decode_target(data: &[u8]) {
    let Some((&v, frame)) = data.split_first() else {
        return;
    };
    let version = version_from(v);
    let Ok(msg) = decode(frame, version) else {
        return;
    };
    // Every accessor of a decoded message is total.
    let _ = msg.invoke_id();
    for f in msg.fields() {
        let _ = (msg.string(f.tag), msg.number(f.tag), msg.field(f.tag));
    }
    if let Some(layout) = msg.layout() {
        for def in layout.fixed {
            let _ = msg.fixed_raw(def);
        }
    }
    let _ = msg.named_vars().count();
    let _ = msg.named_var("BAStatus");
    let masked = trace::display(&msg).to_string();
    let shown = render_shown(&msg);
    assert!(masked.starts_with("MsgType: "));
    let mut buf = vec![0u8; 1 << 17];
    let n = match trace::parse_message(&shown, &mut buf, version) {
        Ok(n) => n,
        Err(e) => panic!("rendered text does not parse back: {e}\n{shown}"),
    };
    // Trace text is lossless: the frame comes back byte for byte.
    assert_eq!(&buf[..n], frame, "bytes -> text -> bytes\n{shown}");
}

/// The trace-text target: `data[0]` picks the version, the rest is text. Every message the
/// parser encodes must decode, and its rendering must read back to the same text.
pub fn trace_parse_target(data: &[u8]) {
    let Some((&v, text)) = data.split_first() else {
        return;
    };
    let Ok(text) = core::str::from_utf8(text) else {
        return;
    };
    let version = version_from(v);
    let mut parser = trace::TextParser::new(text);
    let mut buf = vec![0u8; 1 << 16];
    let mut again = vec![0u8; 1 << 16];
    let mut messages = 0usize;
    while let Some(result) = parser.next_message(&mut buf, version) {
        messages += 1;
        assert!(messages <= text.len() + 1, "the parser does not advance");
        let Ok(n) = result else { continue };
        assert!(n <= buf.len());
        let msg = match decode(&buf[..n], version) {
            Ok(msg) => msg,
            // By design: an explicit `NumNamedVariables:`/`Num…:` line is written as given even
            // when the records that follow disagree (regressions.rs documents it).
            Err(e) if matches!(e.kind, DecodeErrorKind::CountMismatch { .. }) => continue,
            // By design: hex given for a numeric field is written as it is, whatever its
            // length (the escape hatch for building malformed frames).
            Err(e)
                if matches!(e.kind, DecodeErrorKind::FieldSize { .. }) && text.contains("0x") =>
            {
                continue
            }
            Err(e) => panic!("parsed text encodes an undecodable frame: {e}\n{text}"),
        };
        let shown = render_shown(&msg);
        let m = trace::parse_message(&shown, &mut again, version)
            .unwrap_or_else(|e| panic!("rendered text does not parse back: {e}\n{shown}"));
        assert_eq!(
            &again[..m],
            &buf[..n],
            "text -> bytes -> text -> bytes\n{shown}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The phone

/// Operation codes of the phone target's input (one byte each, then their arguments).
pub mod op {
    /// Connect if the phone asks to.
    pub const CONNECT: u8 = 0;
    /// Fail the connection the phone asks for.
    pub const CONNECT_FAILED: u8 = 1;
    /// The transport closed.
    pub const DISCONNECT: u8 = 2;
    /// Raw bytes: one length byte, then the bytes.
    pub const BYTES: u8 = 3;
    /// A well-formed server message built from the following bytes.
    pub const FRAME: u8 = 4;
    /// A button press built from the following bytes.
    pub const COMMAND: u8 = 5;
    /// Time passes: two bytes of tens of milliseconds.
    pub const ADVANCE: u8 = 6;
    /// Jump to the phone's next deadline and handle it.
    pub const DEADLINE: u8 = 7;
    /// Send what the phone queued.
    pub const TRANSMIT: u8 = 8;
    /// Show the queued events.
    pub const EVENTS: u8 = 9;
    /// Ask the phone to reconnect.
    pub const RECONNECT: u8 = 10;
    /// Raw bytes: two length bytes, then the bytes.
    pub const LONG_BYTES: u8 = 11;
    /// Number of operations.
    pub const COUNT: u8 = 12;
}

/// Reads the target's input one byte at a time; past the end it reads zeros.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// Over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }
    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    /// One byte.
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }
    /// Up to `n` bytes.
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }
    /// A number that is often one the phone knows (small values, the guide's CallIDs, N/A).
    pub fn value(&mut self) -> u32 {
        const SPECIAL: [u32; 8] = [
            16_800_098,
            16_800_099,
            0xFFFF,
            0xFFFF_FFFF,
            0x7FFF_FFFF,
            1000,
            65_535,
            0x1_0000,
        ];
        let b = self.byte();
        if b >= 248 {
            SPECIAL[usize::from(b - 248)]
        } else {
            u32::from(b)
        }
    }
    /// A short text from a pool the phone cares about.
    pub fn text(&mut self) -> &'static str {
        const POOL: [&str; 12] = [
            "4020",
            "chli4020",
            "",
            "5000",
            "DO",
            "Skip",
            "Accept",
            "11242026 10:30",
            "0x00",
            "a-much-longer-value-that-still-fits-a-field",
            " padded ",
            "4021",
        ];
        POOL[usize::from(self.byte()) % POOL.len()]
    }
}

/// The agent of the guide's outbound samples, with two servers.
pub fn phone_config(version: u8) -> PhoneConfig {
    let mut c = PhoneConfig {
        agent_id: "chli4020".try_into().unwrap(),
        agent_extension: "4020".try_into().unwrap(),
        agent_instrument: "4020".try_into().unwrap(),
        agent_password: "secret".try_into().unwrap(),
        client_id: "phone".try_into().unwrap(),
        protocol_version: version,
        ..PhoneConfig::default()
    };
    c.servers.clear();
    for host in ["side-a", "side-b"] {
        c.servers
            .push(ServerAddr {
                host: host.try_into().unwrap(),
                port: 12028,
            })
            .unwrap();
    }
    c
}

fn server_messages() -> impl Iterator<Item = &'static MessageDef> {
    MESSAGES
        .iter()
        .filter(|m| m.direction == Direction::ToClient && m.layout.is_some())
}

/// A well-formed server message built from `input` under `version`; `None` when the encoder
/// refused it (too long).
pub fn server_frame(input: &mut Input<'_>, version: WireVersion) -> Option<Vec<u8>> {
    let count = server_messages().count();
    let def = server_messages().nth(usize::from(input.byte()) % count)?;
    let layout = def.layout?;
    let mut buf = vec![0u8; 8192];
    let mut enc = Encoder::new(&mut buf, MessageType::from_id(def.id), version);
    for (i, f) in layout.fixed.iter().enumerate() {
        if f.present_in(version.number()) && !f.is_reserved() {
            let v = input.value();
            enc.set_fixed_raw(i, v);
        }
    }
    let floats = usize::from(input.byte() % 8);
    for _ in 0..floats {
        if layout.floating.is_empty() {
            break;
        }
        let fl = &layout.floating[usize::from(input.byte()) % layout.floating.len()];
        let ty = tag_def(fl.tag).map(|t| t.ty).unwrap_or(TagType::Opaque);
        match ty {
            TagType::NamedVariable => {
                let (name, value) = (input.byte(), input.text());
                let name = [
                    "BAStatus",
                    "BAResponse",
                    "BACampaign",
                    "user.x",
                    "BADialedListID",
                ][usize::from(name) % 5];
                enc.named_var(name, value);
            }
            TagType::NamedArray => {
                let (ix, value) = (input.byte(), input.text());
                enc.named_array(ix % 4, "arr", value);
            }
            TagType::String | TagType::Opaque => {
                let s = input.text();
                enc.string(fl.tag, s);
            }
            TagType::Unspec => {
                let s = input.text();
                enc.bytes(fl.tag, s.as_bytes());
            }
            numeric => {
                let v = input.value();
                let v = match numeric.numeric_size() {
                    Some(1) => v & 0xFF,
                    Some(2) => v & 0xFFFF,
                    _ => v,
                };
                enc.number(fl.tag, v);
            }
        }
    }
    let n = enc.finish().ok()?;
    buf.truncate(n);
    Some(buf)
}

fn command<'s>(input: &mut Input<'_>) -> Command<'s> {
    let call = |input: &mut Input<'_>| match input.byte() {
        0 => None,
        _ => Some(input.value()),
    };
    let reason = |input: &mut Input<'_>| u16::try_from(input.value() & 0xFFFF).unwrap_or(0);
    match input.byte() % 20 {
        0 => Command::Login {
            password: (input.byte() % 2 == 0).then_some("pw"),
        },
        1 => Command::Logout {
            reason: reason(input).into(),
        },
        2 => Command::Ready,
        3 => Command::NotReady {
            reason: reason(input).into(),
        },
        4 => Command::WorkReady,
        5 => Command::WorkNotReady,
        6 => Command::Answer { call: call(input) },
        7 => Command::Release { call: call(input) },
        8 => Command::Hold { call: call(input) },
        9 => Command::Retrieve { call: call(input) },
        10 => Command::Dial {
            number: input.text(),
        },
        11 => Command::Consult {
            number: input.text(),
        },
        12 => Command::Transfer,
        13 => Command::Conference,
        14 => Command::Dtmf {
            digits: input.text(),
        },
        15 => Command::Preview(
            [
                PreviewAnswer::Accept,
                PreviewAnswer::Reject,
                PreviewAnswer::RejectClose,
                PreviewAnswer::Skip,
                PreviewAnswer::SkipClose,
                PreviewAnswer::CancelReservation,
            ][usize::from(input.byte()) % 6],
        ),
        16 => Command::Reclassify {
            value: input.text(),
        },
        17 => Command::Callback {
            date: ["11242026", "1124202", "aa242026", "13322026"][usize::from(input.byte()) % 4],
            time: ["10:30", "1030", "25:61", "ab:cd"][usize::from(input.byte()) % 4],
        },
        18 => Command::SetVar {
            name: input.text(),
            value: input.text(),
            call: call(input),
        },
        _ => Command::Close,
    }
}

/// Drives one phone and checks its invariants after every step.
struct Driver<
    const CALLS: usize,
    const VAR_BYTES: usize,
    const PENDING: usize,
    const TX: usize,
    const EVENTS: usize,
> {
    phone: Phone<CALLS, VAR_BYTES, PENDING, TX, EVENTS>,
    now: u64,
    /// The preview the events announced and did not end yet.
    offered: Option<u32>,
}

impl<
        const CALLS: usize,
        const VAR_BYTES: usize,
        const PENDING: usize,
        const TX: usize,
        const EVENTS: usize,
    > Driver<CALLS, VAR_BYTES, PENDING, TX, EVENTS>
{
    fn now(&self) -> Instant {
        Instant::from_millis(self.now)
    }

    fn version(&self) -> WireVersion {
        WireVersion::new(self.phone.session().version)
            .with_v18_length_width(self.phone.config().v18_length_width)
    }

    fn step(&mut self, input: &mut Input<'_>) {
        let now = self.now();
        match input.byte() % op::COUNT {
            op::CONNECT => match self.phone.poll_transport(now) {
                Some(TransportAction::Connect { server }) => {
                    assert!(server < self.phone.config().servers.len());
                    self.phone.connected(now);
                }
                Some(TransportAction::Disconnect) => self.phone.disconnected(now),
                None => {}
            },
            op::CONNECT_FAILED => {
                if let Some(TransportAction::Connect { .. }) = self.phone.poll_transport(now) {
                    self.phone.connect_failed(now);
                }
            }
            op::DISCONNECT => self.phone.disconnected(now),
            op::BYTES => {
                let n = usize::from(input.byte());
                let bytes = input.bytes(n);
                self.phone.handle_bytes(now, bytes);
            }
            op::LONG_BYTES => {
                let n = usize::from(u16::from_be_bytes([input.byte(), input.byte()]));
                let bytes = input.bytes(n);
                self.phone.handle_bytes(now, bytes);
            }
            op::FRAME => {
                let split = usize::from(input.byte());
                if let Some(frame) = server_frame(input, self.version()) {
                    // Delivered in two reads, as TCP may.
                    let (a, b) = frame.split_at(split.min(frame.len()));
                    self.phone.handle_bytes(now, a);
                    self.phone.handle_bytes(now, b);
                }
            }
            op::COMMAND => {
                let cmd = command(input);
                let had_preview = self.phone.preview().is_some();
                let result = self.phone.command(now, cmd);
                if let Command::Preview(_) = cmd {
                    if !had_preview {
                        assert!(
                            result.is_err(),
                            "a preview answer went out with no preview shown"
                        );
                    }
                }
                // Close answers 0 when it had nothing to send; every request has an id.
                if let (Ok(invoke_id), false) = (result, matches!(cmd, Command::Close)) {
                    assert_ne!(invoke_id.value(), 0, "InvokeID 0 is never used");
                }
            }
            op::ADVANCE => {
                let tens = u64::from(u16::from_be_bytes([input.byte(), input.byte()]));
                self.now += tens * 10;
                let now = self.now();
                if self.phone.poll_timeout().is_some_and(|t| t <= now) {
                    self.phone.handle_timeout(now);
                }
            }
            op::DEADLINE => {
                if let Some(t) = self.phone.poll_timeout() {
                    self.now = self.now.max(t.as_millis());
                }
                self.phone.handle_timeout(self.now());
            }
            op::TRANSMIT => self.transmit(),
            op::EVENTS => self.events(),
            op::RECONNECT => self.phone.reconnect(now),
            _ => {}
        }
        self.check();
    }

    fn transmit(&mut self) {
        let mut buf = vec![0u8; TX.max(16)];
        let version = self.version();
        let mut frames = 0;
        while let Some(n) = self.phone.poll_transmit(&mut buf) {
            frames += 1;
            assert!(frames <= TX, "poll_transmit does not drain");
            assert!(n <= buf.len());
            let frame = &buf[..n];
            let msg = decode(frame, version).unwrap_or_else(|e| {
                panic!("the phone sent a frame it cannot decode: {e}: {frame:02x?}")
            });
            // A request never carries the password in clear text when rendered by default.
            let _ = trace::display(&msg).to_string();
        }
    }

    fn events(&mut self) {
        let mut lost = false;
        let mut count = 0;
        while let Some(event) = self.phone.poll_event() {
            count += 1;
            assert!(count <= EVENTS + 1, "poll_event does not drain");
            match event {
                Event::EventsLost { count } => {
                    assert!(count > 0);
                    lost = true;
                }
                Event::PreviewOffered { call } => {
                    if !lost {
                        assert_eq!(self.offered, None, "a second preview while one is shown");
                    }
                    self.offered = Some(call);
                }
                Event::PreviewEnded { call } => {
                    if !lost {
                        assert_eq!(self.offered, Some(call), "ended a preview never offered");
                    }
                    self.offered = None;
                }
                Event::CallRekeyed { old, new } => {
                    if self.offered == Some(old) {
                        self.offered = Some(new);
                    }
                }
                _ => {}
            }
        }
        let shown = self.phone.preview().map(|c| c.id);
        if !lost {
            assert_eq!(
                self.offered, shown,
                "the preview events disagree with preview()"
            );
        }
        self.offered = shown;
    }

    fn check(&self) {
        let ids: Vec<u32> = self.phone.calls().map(|c| c.id).collect();
        assert!(ids.len() <= CALLS, "more calls than the capacity");
        // Calls may share a CallID, each on its own line of the agent: a call is its CallID
        // and, once known, its line.
        let keys: Vec<(u32, Option<&str>)> = self
            .phone
            .calls()
            .map(|c| {
                let line = match c.line {
                    ccx_cti::phone::Line::Primary => "",
                    ccx_cti::phone::Line::Secondary => c.actual_device(),
                };
                (c.id, (!c.own_device().is_empty()).then_some(line))
            })
            .collect();
        for (i, key) in keys.iter().enumerate() {
            assert!(!keys[..i].contains(key), "call {key:?} tracked twice");
        }
        assert!(self.phone.pending_requests().count() <= PENDING);
        if let Some(p) = self.phone.preview() {
            assert!(p.is_reservation(), "a preview that is not a reservation");
        }
        // The view shows what the phone holds, and every command it calls valid names a call
        // it shows.
        let view = self.phone.view();
        assert_eq!(view.calls().len(), ids.len(), "the view's calls");
        assert_eq!(
            view.preview().map(|card| card.call),
            self.phone.preview().map(|c| c.id),
            "the view's preview"
        );
        for valid in view.valid_commands() {
            if let Some(id) = valid.call {
                assert!(
                    ids.contains(&id),
                    "{valid:?} names a call the view does not show"
                );
            }
        }
        for c in self.phone.calls() {
            for (name, _) in c.vars() {
                assert!(!name.is_empty() || c.vars().count() > 0);
            }
        }
    }
}

fn run_phone<
    const CALLS: usize,
    const VAR_BYTES: usize,
    const PENDING: usize,
    const TX: usize,
    const EVENTS: usize,
>(
    config: PhoneConfig,
    input: &mut Input<'_>,
) {
    let mut d: Driver<CALLS, VAR_BYTES, PENDING, TX, EVENTS> = Driver {
        phone: Phone::new(config),
        now: 0,
        offered: None,
    };
    let mut steps = 0;
    while !input.is_empty() && steps < 4096 {
        d.step(input);
        steps += 1;
    }
    d.transmit();
    d.events();
}

/// The phone target: `data[0]` picks the protocol version and the capacities, the rest is a
/// list of [`op`]s.
pub fn phone_target(data: &[u8]) {
    let mut input = Input::new(data);
    let head = input.byte();
    let version = [17u8, 10, 18, 13][usize::from(head & 3)];
    let config = phone_config(version);
    if head & 4 == 0 {
        run_phone::<4, 512, 8, 1024, 16>(config, &mut input);
    } else {
        // Small capacities reach the full-table, full-queue and lost-event paths.
        run_phone::<2, 64, 2, 160, 3>(config, &mut input);
    }
}
