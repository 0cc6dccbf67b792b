//! Session rules a strict Unified CCX applies that the simulator can enforce: the IdleTimeout
//! of OPEN_REQ (through the one rule the phone's configuration also uses), a heartbeat rule,
//! and ActiveTerminal at a v18 LOGIN when Agent Device Selection is on.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ccx_cti::config::check_idle_timeout;
use ccx_cti::wire::{Message, MessageType, PeripheralErrorCode, StatusCode};

use super::World;
use crate::sim::config::{HeartbeatRule, HeartbeatRuleMode};

/// TerminalDeviceName (tag 303), labelled ActiveTerminal inside SET_AGENT_STATE_REQ from v18
/// (<https://developer.cisco.com/docs/contact-center-express/set_agent_state_req>).
pub(crate) const ACTIVE_TERMINAL_TAG: u16 = ccx_cti::wire::tag::TERMINAL_DEVICE_NAME;
/// The first protocol version with ActiveTerminal.
const ACTIVE_TERMINAL_SINCE: u32 = 18;
/// The shortest slack the heartbeat rule allows (threads and sockets take time).
const MIN_SLACK: Duration = Duration::from_millis(200);

/// What the rules remember per session.
#[derive(Default)]
pub(crate) struct Rules {
    sessions: HashMap<u64, Track>,
    /// The active terminal each agent logged in on (by agent index).
    pub(crate) terminals: HashMap<usize, String>,
}

struct Track {
    last_heartbeat: Instant,
    last_other: Instant,
}

fn slack(rule: &HeartbeatRule) -> Duration {
    (Duration::from_millis(rule.interval_ms) / 2).max(MIN_SLACK)
}

/// Whether OPEN_REQ's IdleTimeout passes `check_idle_timeout`, against the heartbeat interval
/// of the enforced rule (or only the server's bounds without one). A refusal and advice are
/// logged.
pub(crate) fn idle_timeout_ok(idle: u32, rule: Option<&HeartbeatRule>) -> bool {
    let heartbeat_secs = rule.map_or(0, |r| u32::try_from(r.interval_ms / 1000).unwrap_or(0));
    match check_idle_timeout(idle, heartbeat_secs) {
        Ok(None) => true,
        Ok(Some(advice)) => {
            log::info!("simulator: OPEN_REQ accepted: {advice}");
            true
        }
        Err(e) => {
            log::warn!("simulator: OPEN_REQ refused with E_CTI_INVALID_TIMEOUT: {e}");
            false
        }
    }
}

impl Rules {
    pub(crate) fn opened(&mut self, conn_id: u64, now: Instant) {
        self.sessions.insert(
            conn_id,
            Track {
                last_heartbeat: now,
                last_other: now,
            },
        );
    }

    pub(crate) fn forget(&mut self, conn_id: u64) {
        self.sessions.remove(&conn_id);
    }

    /// A message of `ty` arrived on an open session: why it breaks `rule`, if it does.
    pub(crate) fn on_message(
        &mut self,
        rule: Option<&HeartbeatRule>,
        conn_id: u64,
        ty: MessageType,
        now: Instant,
    ) -> Option<String> {
        let track = self.sessions.get_mut(&conn_id)?;
        let mut broken = None;
        if ty == MessageType::HeartbeatReq {
            if let Some(rule) = rule.filter(|r| r.mode == HeartbeatRuleMode::WhenIdle) {
                let quiet = now.saturating_duration_since(track.last_other);
                let needed = Duration::from_millis(rule.interval_ms).saturating_sub(slack(rule));
                if quiet < needed {
                    broken = Some(format!(
                        "HEARTBEAT_REQ {} ms after another message; the when-idle rule wants {} ms of quiet",
                        quiet.as_millis(),
                        needed.as_millis()
                    ));
                }
            }
            track.last_heartbeat = now;
        }
        track.last_other = now;
        broken
    }

    /// Sessions that went longer than the interval (and slack) without a heartbeat under the
    /// always rule.
    pub(crate) fn overdue(&self, rule: Option<&HeartbeatRule>, now: Instant) -> Vec<u64> {
        let Some(rule) = rule.filter(|r| r.mode == HeartbeatRuleMode::Always) else {
            return Vec::new();
        };
        let limit = Duration::from_millis(rule.interval_ms) + slack(rule);
        self.sessions
            .iter()
            .filter(|(_, t)| now.saturating_duration_since(t.last_heartbeat) > limit)
            .map(|(id, _)| *id)
            .collect()
    }
}

impl World {
    /// Apply the heartbeat rule to a message of an open session; `true` when the session was
    /// closed for breaking it.
    pub(super) fn heartbeat_rule_breaks(
        &mut self,
        conn_id: u64,
        ty: MessageType,
        now: Instant,
    ) -> bool {
        let rule = self.cfg.heartbeat_rule;
        match self.rules.on_message(rule.as_ref(), conn_id, ty, now) {
            Some(why) => {
                self.end_for_heartbeat_rule(conn_id, &why);
                true
            }
            None => false,
        }
    }

    /// Close the sessions that missed a heartbeat under the always rule.
    pub(super) fn expire_heartbeats(&mut self, now: Instant) {
        let rule = self.cfg.heartbeat_rule;
        for conn_id in self.rules.overdue(rule.as_ref(), now) {
            self.end_for_heartbeat_rule(conn_id, "no HEARTBEAT_REQ within the interval");
        }
    }

    fn end_for_heartbeat_rule(&mut self, conn_id: u64, why: &str) {
        log::warn!("simulator: connection {conn_id} broke the heartbeat rule ({why}); closing");
        self.counters.heartbeat_rule_broken += 1;
        self.close(conn_id);
    }

    /// A LOGIN that Agent Device Selection refuses: under v18 without ActiveTerminal. The
    /// refusal is CONTROL_FAILURE_CONF; CCX_ACTIVE_TERMINAL_NOT_SPECIFIED has no confirmed
    /// number, so E_CTI_REQUIRED_DATA_MISSING with CCX_INVALID_ARGUMENT stands for it. Returns
    /// `true` when refused; a given terminal is remembered for the agent.
    pub(super) fn refuse_without_terminal(
        &mut self,
        conn_id: u64,
        a: usize,
        msg: &Message<'_>,
    ) -> bool {
        let terminal = msg
            .string(ACTIVE_TERMINAL_TAG)
            .filter(|t| !t.is_empty())
            .filter(|_| msg.version().number() >= ACTIVE_TERMINAL_SINCE);
        if let Some(t) = terminal {
            self.rules.terminals.insert(a, t.to_string());
            return false;
        }
        if !self.cfg.require_active_terminal || msg.version().number() < ACTIVE_TERMINAL_SINCE {
            return false;
        }
        log::warn!("simulator: LOGIN without ActiveTerminal refused (Agent Device Selection)");
        self.control_failure(
            conn_id,
            msg,
            StatusCode::RequiredDataMissing,
            PeripheralErrorCode::InvalidArgument,
        );
        true
    }
}
