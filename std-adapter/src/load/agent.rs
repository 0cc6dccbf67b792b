//! One simulated agent of `ccx load`: which button it presses next, read from its sans-io
//! phone, and what it measured.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::Rng;

use ccx_cti::phone::{
    Command, Event, InvokeId, OwnedCommand, Phone, PreviewAnswer, SessionEndReason, SessionState,
};
use ccx_cti::wire::{AgentState, CallType, LocalConnectionState};

/// How long an agent waits before pressing the same button again.
const REPEAT_GUARD: Duration = Duration::from_millis(500);
/// A request without an answer is given up after this.
const GIVE_UP: Duration = Duration::from_secs(15);

/// What one agent measured.
#[derive(Debug, Default, Clone)]
pub(super) struct AgentStats {
    pub(super) sent: u64,
    pub(super) received: u64,
    pub(super) latencies: Vec<Duration>,
    /// Latencies of requests pressed before the ramp-up ended.
    pub(super) ramp_latencies: Vec<Duration>,
    pub(super) sessions: u64,
    pub(super) refused: u64,
    pub(super) refusals: BTreeMap<String, u64>,
    pub(super) timed_out: u64,
    pub(super) command_errors: u64,
    pub(super) malformed: u64,
    pub(super) events_lost: u64,
    pub(super) answers: u64,
    pub(super) previews: u64,
    /// Sessions lost, by why.
    pub(super) lost: BTreeMap<String, u64>,
    /// Why the last session attempt failed (a connect error, a refusal, a close).
    pub(super) last_failure: Option<String>,
}

/// One agent's behaviour: one request at a time, chosen from the phone's state.
pub(super) struct Agent {
    pub(super) rng: StdRng,
    pub(super) talk: Duration,
    pub(super) stats: AgentStats,
    /// Requests pressed from here on count as the steady state.
    steady_from: Instant,
    /// The request waiting for its confirmation, and when the agent pressed the button.
    waiting: Option<(Option<InvokeId>, Instant)>,
    talking_since: Option<(u32, Instant)>,
    reclassified: bool,
    /// The last button pressed: the same one is not pressed again until the view moved on
    /// (a confirmation may arrive before the event that changes the call).
    last: Option<(OwnedCommand, Instant)>,
    /// The phone's last events and the agent's last buttons, for a mismatch's report.
    pub(super) history: std::collections::VecDeque<String>,
    /// A scenario's plan (`--scenario FILE --real`): answer delay, talk and wrap-up times,
    /// Not Ready with reasons, preview answers. Without one the agent answers at once,
    /// talks `talk` and goes Ready at once.
    pub(super) plan: Option<crate::scenario::Plan>,
}

/// Entries kept in [`Agent::history`].
const HISTORY: usize = 16;

/// Why a session ended, in a report's words.
pub(super) fn lost_reason(reason: &SessionEndReason) -> String {
    match reason {
        SessionEndReason::Replaced => "replaced by another client's session for the agent".into(),
        SessionEndReason::TransportClosed => "connection closed".into(),
        SessionEndReason::ConnectFailed => "connect failed".into(),
        SessionEndReason::HeartbeatTimeout => "heartbeats unanswered".into(),
        SessionEndReason::OpenRefused { status } => {
            format!("OPEN_REQ refused (status {})", status.value())
        }
        SessionEndReason::NotMaster => "server is standby".into(),
        other => format!("{other:?}"),
    }
}

impl Agent {
    pub(super) fn new(rng: StdRng, talk: Duration, steady_from: Instant) -> Agent {
        Agent {
            rng,
            talk,
            steady_from,
            stats: AgentStats::default(),
            waiting: None,
            talking_since: None,
            reclassified: false,
            last: None,
            history: std::collections::VecDeque::with_capacity(HISTORY),
            plan: None,
        }
    }

    /// The agent follows a scenario's plan.
    pub(super) fn with_plan(mut self, plan: Option<crate::scenario::Plan>) -> Agent {
        self.plan = plan;
        self
    }

    fn remember(&mut self, what: String) {
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(what);
    }

    pub(super) fn on_event(&mut self, event: Event) {
        if !matches!(event, Event::RequestSucceeded { .. }) {
            self.remember(format!("{event:?}"));
        }
        let done = |w: &Option<(Option<InvokeId>, Instant)>, id: InvokeId| matches!(w, Some((Some(x), _)) if *x == id);
        match event {
            Event::SessionOpened { .. } => {
                self.stats.sessions += 1;
                self.stats.last_failure = None;
                self.waiting = None;
            }
            Event::SessionLost { reason, .. } => {
                self.waiting = None;
                let why = lost_reason(&reason);
                if self.stats.sessions > 0 && reason != SessionEndReason::ConnectFailed {
                    *self.stats.lost.entry(why.clone()).or_default() += 1;
                }
                // A connect error says more than "connect failed": keep it.
                if reason != SessionEndReason::ConnectFailed || self.stats.last_failure.is_none() {
                    self.stats.last_failure = Some(why);
                }
            }
            Event::RequestSucceeded { invoke_id, .. } if done(&self.waiting, invoke_id) => {
                if let Some((_, at)) = self.waiting.take() {
                    if at < self.steady_from {
                        self.stats.ramp_latencies.push(at.elapsed());
                    } else {
                        self.stats.latencies.push(at.elapsed());
                    }
                }
            }
            Event::RequestFailed {
                invoke_id,
                request,
                refusal,
            } => {
                self.stats.refused += 1;
                let key = format!(
                    "{} status {}",
                    crate::tui::view::request_name(request),
                    refusal.code()
                );
                *self.stats.refusals.entry(key).or_default() += 1;
                if done(&self.waiting, invoke_id) {
                    self.waiting = None;
                }
            }
            Event::RequestTimedOut { invoke_id, .. } => {
                self.stats.timed_out += 1;
                if done(&self.waiting, invoke_id) {
                    self.waiting = None;
                }
            }
            Event::MalformedMessage { .. } => self.stats.malformed += 1,
            Event::EventsLost { count } => self.stats.events_lost += u64::from(count),
            _ => {}
        }
    }

    /// When the agent's own timers (talking, the repeat guard, giving up) next need a look.
    pub(super) fn next_wake(&self) -> Option<Instant> {
        let talk = self.talking_since.map(|(_, at)| at + self.talk);
        let repeat = self.last.as_ref().map(|(_, at)| *at + REPEAT_GUARD);
        let give_up = self.waiting.map(|(_, at)| at + GIVE_UP);
        let plan = self.plan.as_ref().and_then(|p| p.next_wake());
        let now = Instant::now();
        [talk, repeat, give_up, plan]
            .into_iter()
            .flatten()
            .filter(|t| *t > now)
            .min()
    }

    /// A connect attempt failed for `why` (the OS's words).
    pub(super) fn connect_error(&mut self, why: String) {
        self.stats.last_failure = Some(why);
    }

    /// Press the next button, if any; the phone's answer to `command` is returned.
    pub(super) fn act(&mut self, phone: &mut Phone, now: ccx_cti::phone::Instant) {
        if self.waiting.is_some_and(|(_, at)| at.elapsed() > GIVE_UP) {
            self.waiting = None;
        }
        if self.waiting.is_some() {
            return;
        }
        let Some(cmd) = self.next_action(phone) else {
            return;
        };
        let repeat = self
            .last
            .as_ref()
            .is_some_and(|(c, at)| *c == cmd && at.elapsed() < REPEAT_GUARD);
        if repeat {
            return;
        }
        match cmd {
            OwnedCommand::Answer { .. } => self.stats.answers += 1,
            OwnedCommand::Preview(_) => self.stats.previews += 1,
            _ => {}
        }
        let pressed = Instant::now();
        self.remember(format!("pressed {cmd:?}"));
        match phone.command(now, cmd.as_command()) {
            Ok(id) => self.waiting = Some((Some(id), pressed)),
            Err(_) => self.stats.command_errors += 1,
        }
        self.last = Some((cmd, pressed));
    }

    /// The next button to press, if any.
    fn next_action(&mut self, phone: &Phone) -> Option<OwnedCommand> {
        if phone.session().state != SessionState::Open {
            return None;
        }
        if phone.preview().is_some() {
            if let Some(plan) = &mut self.plan {
                let answer = if plan.accepts_preview() {
                    PreviewAnswer::Accept
                } else {
                    PreviewAnswer::Reject
                };
                return Some(OwnedCommand::Preview(answer));
            }
            let answer = match self.rng.gen_range(0..100) {
                0..=39 => PreviewAnswer::Accept,
                40..=59 => PreviewAnswer::Skip,
                60..=74 => PreviewAnswer::Reject,
                75..=84 => PreviewAnswer::RejectClose,
                85..=94 => PreviewAnswer::SkipClose,
                _ => PreviewAnswer::CancelReservation,
            };
            return Some(OwnedCommand::Preview(answer));
        }
        // A reservation also "alerts", but it is answered with BAResponse only.
        if let Some(ringing) = phone.calls().find(|c| {
            c.state == LocalConnectionState::Alerting && c.call_type != CallType::Reservation
        }) {
            if let Some(plan) = &mut self.plan {
                if !plan.answers(ringing.id, Instant::now()) {
                    return None;
                }
            }
            return Some(OwnedCommand::Answer {
                call: Some(ringing.id),
            });
        }
        if let Some(talking) = phone
            .calls()
            .find(|c| c.state == LocalConnectionState::Connect)
        {
            let since = match self.talking_since {
                Some((id, at)) if id == talking.id => at,
                _ => {
                    self.talking_since = Some((talking.id, Instant::now()));
                    self.reclassified = false;
                    if let Some(plan) = &mut self.plan {
                        self.talk = plan.talk();
                    }
                    return None;
                }
            };
            if since.elapsed() < self.talk {
                return None;
            }
            if talking.var("BAStatus") == Some("CO") && !self.reclassified {
                self.reclassified = true;
                let values = ["REX_VOICE", "REX_ANS_MACHINE", "BUSY", "DO_NOT_CALL"];
                let value = values.get(self.rng.gen_range(0..values.len()))?;
                return OwnedCommand::try_from(Command::Reclassify { value }).ok();
            }
            return Some(OwnedCommand::Release {
                call: Some(talking.id),
            });
        }
        if phone.calls().next().is_some() {
            return None;
        }
        if let Some(plan) = &mut self.plan {
            let step = match phone.agent().state {
                AgentState::NotReady => plan.in_not_ready(Instant::now()),
                AgentState::WorkNotReady | AgentState::WorkReady => plan.in_work(Instant::now()),
                _ => crate::scenario::Step::Wait,
            };
            match step {
                crate::scenario::Step::Ready => return Some(OwnedCommand::Ready),
                crate::scenario::Step::NotReady(reason) => {
                    return Some(OwnedCommand::NotReady {
                        reason: reason.into(),
                    })
                }
                crate::scenario::Step::Wait if phone.agent().state != AgentState::Logout => {
                    return None
                }
                crate::scenario::Step::Wait => {}
            }
        }
        match phone.agent().state {
            AgentState::Logout => Some(OwnedCommand::Login { password: None }),
            AgentState::NotReady | AgentState::WorkNotReady | AgentState::WorkReady => {
                Some(OwnedCommand::Ready)
            }
            _ => None,
        }
    }
}
