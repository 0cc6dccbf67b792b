//! A client of the simulator that speaks the protocol by hand, one frame at a time, built from
//! the codec: the tests that check exact message sequences (`sim_protocol`) and the attacks
//! (`sim_attacks`) both talk through it. [`proxied`]: the demo story through `ccx proxy`.
// Each test file uses a part of it.
#![allow(dead_code)]

pub mod proxied;

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use ccx_cti::wire::{
    decode, fields, tag, Encoder, FeedResult, FrameAccumulator, MessageType, WireVersion,
};
use ccx_cti_std::sim::Simulator;

/// How long a read waits before the client counts the connection as closed.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// A raw TCP client of the simulator.
pub struct RawClient {
    /// The socket, for tests that write bytes no request builder makes.
    pub stream: TcpStream,
    acc: Box<FrameAccumulator>,
    pending: VecDeque<Vec<u8>>,
    /// The protocol version frames are encoded and decoded under (17 unless a test changes it).
    pub version: WireVersion,
    invoke: u32,
}

impl RawClient {
    /// Connect to `sim`.
    pub fn connect(sim: &Simulator) -> RawClient {
        let stream = TcpStream::connect(sim.addr()).unwrap();
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        RawClient {
            stream,
            acc: Box::default(),
            pending: VecDeque::new(),
            version: WireVersion::new(17),
            invoke: 0,
        }
    }

    /// Connect to `sim` and open a session for `agent` (no password).
    pub fn opened(sim: &Simulator, agent: &str) -> RawClient {
        let mut c = RawClient::connect(sim);
        c.open(agent);
        c
    }

    /// A request frame with the next InvokeID, encoded under `version`.
    pub fn frame_as(
        &mut self,
        ty: MessageType,
        version: WireVersion,
        build: impl FnOnce(&mut Encoder<'_>),
    ) -> Vec<u8> {
        self.invoke += 1;
        let mut buf = vec![0u8; 4096];
        let mut enc = Encoder::new(&mut buf, ty, version);
        enc.set_fixed_raw(0, self.invoke);
        build(&mut enc);
        let n = enc.finish().unwrap();
        buf.truncate(n);
        buf
    }

    /// A request frame with the next InvokeID, encoded under the client's version.
    pub fn frame(&mut self, ty: MessageType, build: impl FnOnce(&mut Encoder<'_>)) -> Vec<u8> {
        self.frame_as(ty, self.version, build)
    }

    /// Send a request; its InvokeID, or why the write failed (a server may close an attacker).
    pub fn try_send(
        &mut self,
        ty: MessageType,
        build: impl FnOnce(&mut Encoder<'_>),
    ) -> std::io::Result<u32> {
        let frame = self.frame(ty, build);
        self.stream.write_all(&frame)?;
        Ok(self.invoke)
    }

    /// Send a request; its InvokeID.
    pub fn send(&mut self, ty: MessageType, build: impl FnOnce(&mut Encoder<'_>)) -> u32 {
        self.try_send(ty, build).unwrap()
    }

    /// Send an OPEN_REQ for `agent` with `password` (version 17, IdleTimeout 80 s, every
    /// call and agent-state event).
    pub fn open_req(&mut self, agent: &str, password: &[u8]) -> u32 {
        self.send(MessageType::OpenReq, |e| {
            e.set(fields::open_req::VERSION_NUMBER, 17)
                .set(fields::open_req::IDLE_TIMEOUT, 80)
                .set(fields::open_req::SERVICES_REQUESTED, 7)
                .set(fields::open_req::CALL_MSG_MASK, 0x0001_EFFF)
                .set(fields::open_req::AGENT_STATE_MASK, 0x1FF);
            e.string(tag::CLIENT_ID, "test")
                .bytes(tag::CLIENT_PASSWORD, password);
            e.string(tag::AGENT_ID, agent);
        })
    }

    /// Open a session for `agent` (no password); the OPEN_CONF.
    pub fn open(&mut self, agent: &str) -> Vec<u8> {
        self.open_req(agent, &[]);
        self.expect(MessageType::OpenConf)
    }

    /// The next frame, or None when the server closed the connection (or said nothing for
    /// the read timeout).
    pub fn next(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(frame) = self.pending.pop_front() {
                return Some(frame);
            }
            let mut buf = [0u8; 4096];
            let n = self.stream.read(&mut buf).ok()?;
            if n == 0 {
                return None;
            }
            let mut input: &[u8] = &buf[..n];
            loop {
                match self.acc.feed(input) {
                    FeedResult::Consumed => break,
                    FeedResult::Frame { frame, remaining } => {
                        self.pending.push_back(frame.to_vec());
                        // `remaining` is always a suffix of the input.
                        input = &buf[n - remaining.len()..n];
                    }
                    FeedResult::Error { error, .. } => panic!("framing: {error}"),
                }
            }
        }
    }

    /// The message type of `frame`.
    pub fn type_of(&self, frame: &[u8]) -> MessageType {
        decode(frame, self.version).unwrap().message_type()
    }

    /// The next frame, which must be a `ty`.
    pub fn expect(&mut self, ty: MessageType) -> Vec<u8> {
        let frame = self
            .next()
            .unwrap_or_else(|| panic!("closed while waiting for {ty:?}"));
        let got = self.type_of(&frame);
        assert_eq!(got, ty, "expected {ty:?}, got {got:?}");
        frame
    }

    /// The next `ty`, past any AGENT_STATE_EVENTs (and nothing else) before it.
    pub fn expect_past_state_events(&mut self, ty: MessageType) -> Vec<u8> {
        loop {
            let frame = self
                .next()
                .unwrap_or_else(|| panic!("closed while waiting for {ty:?}"));
            let got = self.type_of(&frame);
            if got == ty {
                return frame;
            }
            assert_eq!(
                got,
                MessageType::AgentStateEvent,
                "expected {ty:?}, got {got:?}"
            );
        }
    }
}

/// The StatusCode of a FAILURE_CONF (version 17).
pub fn status_of(frame: &[u8]) -> u32 {
    decode(frame, WireVersion::new(17))
        .unwrap()
        .get(fields::failure_conf::STATUS)
        .unwrap()
        .value()
}
