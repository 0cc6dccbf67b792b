//! `ccx sim --story preview`: the simulator runs the firmware's scripted server instead of
//! its contact center. Each connection gets its own
//! [`PreviewServer`](ccx_cti_preview_story::PreviewServer) (the `no_std` script that the qemu
//! firmware and the TAP run play in memory), fed by the simulator's event loop with the
//! connection's frames; its replies go out through the same bounded queues, limits and
//! faults as the contact center's. So the story the firmware tells itself and the story a
//! phone meets over TCP are one script, not two servers that could drift apart.
//!
//! The script knows one agent ([`ccx_cti_preview_story::AGENT_ID`]) and no side B: the
//! contact center (agents, calls, campaign, HA) stays idle while a story runs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use ccx_cti::wire::{MessageType, HEADER_LEN};
use ccx_cti_preview_story::{PreviewServer, Stage};

use super::{After, Out, World};
use crate::sim::{net, SimConfig, Simulator};

/// A script the simulator can run in place of its contact center.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Story {
    /// The outbound preview story of the firmware (`ccx-cti-preview-story`): open, login,
    /// ready, a reservation skipped, the next accepted and cleared, the agent AVAILABLE.
    Preview,
}

/// One script per connection.
#[derive(Default)]
pub(super) struct Stories {
    servers: HashMap<u64, Box<PreviewServer>>,
}

impl Simulator {
    /// Start a simulator that plays `story` on every connection (on `cfg.listen`, with its
    /// limits and faults); the configuration's agents, calls and campaign are not used.
    pub fn start_story(mut cfg: SimConfig, story: Story) -> std::io::Result<Simulator> {
        cfg.agents.clear();
        cfg.campaign = None;
        cfg.inbound = Default::default();
        cfg.standby = false;
        cfg.peer = None;
        let mut world = World::new(cfg.clone());
        match story {
            Story::Preview => world.story = Some(Stories::default()),
        }
        let cluster = Arc::new(net::start(world, cfg.limits.clone())?);
        Simulator::start_node(cfg, cluster)
    }
}

/// The message type in a frame's header (the same in every protocol version).
fn message_type(frame: &[u8]) -> Option<u32> {
    let bytes: [u8; 4] = frame.get(4..HEADER_LEN)?.try_into().ok()?;
    Some(u32::from_be_bytes(bytes))
}

impl World {
    /// Hand `frame` to the connection's script when a story runs (`None`: no story, the
    /// contact center answers).
    pub(super) fn story_frame(
        &mut self,
        conn_id: u64,
        frame: &[u8],
        now: Instant,
    ) -> Option<After> {
        let stories = self.story.as_mut()?;
        self.counters.messages_in += 1;
        let Some(conn) = self.conns.get_mut(&conn_id) else {
            return Some(After::Close);
        };
        conn.last_rx = now;
        let server = stories
            .servers
            .entry(conn_id)
            .or_insert_with(|| Box::new(PreviewServer::new()));
        let before = server.stage();
        server.receive(frame);
        let after = server.stage();
        let version = server.version();
        let mut rest = server.output();
        while let Some(head) = rest.get(..4) {
            let body = <[u8; 4]>::try_from(head).map_or(u32::MAX, u32::from_be_bytes);
            let len = usize::try_from(body).map_or(usize::MAX, |b| b.saturating_add(HEADER_LEN));
            let Some(out) = rest.get(..len) else {
                break;
            };
            self.outgoing
                .push((conn_id, Out::Frame(out.to_vec(), version)));
            self.counters.messages_out += 1;
            rest = rest.get(len..).unwrap_or(&[]);
        }
        let written = server.output().len() - rest.len();
        server.consume_output(written);
        let failure = server.failure();
        if before == Stage::AwaitOpen && after != Stage::AwaitOpen && failure.is_none() {
            // The session is open: the open deadline no longer applies.
            conn.version = Some(version);
            self.counters.sessions_opened += 1;
        }
        self.count_story_step(before, after);
        if let Some(failure) = failure {
            if self.warn_limit.allow("story", now) {
                log::warn!("simulator: connection {conn_id}: the phone left the story's script: {failure:?}; closing");
            }
            self.counters.requests_refused += 1;
            return Some(After::Close);
        }
        if message_type(frame) == Some(MessageType::CloseReq.id()) {
            self.counters.sessions_closed += 1;
            return Some(After::Close);
        }
        Some(After::Continue)
    }

    /// The script moved from `before` to `after`: count offers and answers as the contact
    /// center does.
    fn count_story_step(&mut self, before: Stage, after: Stage) {
        let answer = match (before, after) {
            (Stage::AwaitReady, Stage::AwaitSkip) => None,
            (Stage::AwaitSkip, Stage::AwaitAccept) => Some("skipped"),
            (Stage::AwaitAccept, Stage::Done) => Some("accepted"),
            _ => return,
        };
        if after != Stage::Done {
            self.counters.reservations_offered += 1;
        }
        if let Some(answer) = answer {
            *self
                .counters
                .contacts
                .entry(answer.to_string())
                .or_default() += 1;
        }
    }

    /// The connection is gone: so is its script.
    pub(super) fn story_forget(&mut self, conn_id: u64) {
        if let Some(stories) = self.story.as_mut() {
            stories.servers.remove(&conn_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_type_is_read_from_the_header() {
        let mut frame = [0u8; HEADER_LEN];
        frame[4..8].copy_from_slice(&MessageType::CloseReq.id().to_be_bytes());
        assert_eq!(message_type(&frame), Some(MessageType::CloseReq.id()));
        assert_eq!(message_type(&frame[..6]), None);
    }
}
