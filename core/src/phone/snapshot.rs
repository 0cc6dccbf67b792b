//! [`PhoneSnapshot`]: an owned, fixed-capacity copy of what [`PhoneView`] shows, for an
//! application that reads the phone from another task (a firmware screen beside the driver's
//! task) without holding the phone. Its [`PhoneSnapshot::view`] is the same view, borrowed from
//! the copy, so the two cannot disagree.

use super::view::{AgentStatus, ReasonLabels, SessionStatus};
use super::{
    AgentReason, AgentView, Call, Instant, NoLabels, PendingRequest, Phone, PhoneView,
    SessionState, DEFAULT_CALLS, DEFAULT_PENDING, DEFAULT_VAR_BYTES,
};
use crate::wire::AgentState;

/// An owned copy of the phone's view, for a task that does not hold the phone; [`Self::view`] reads it.
#[derive(Debug, Clone)]
pub struct PhoneSnapshot<
    const CALLS: usize = DEFAULT_CALLS,
    const VAR_BYTES: usize = DEFAULT_VAR_BYTES,
    const PENDING: usize = DEFAULT_PENDING,
> {
    session: SessionStatus,
    agent: AgentView,
    calls: heapless::Vec<Call<VAR_BYTES>, CALLS>,
    preview: Option<u32>,
    pending: heapless::Vec<PendingRequest, PENDING>,
    pending_full: bool,
    halted: bool,
    /// How many times it was refreshed: a reader can tell whether anything may have changed.
    pub generation: u32,
}

impl<const CALLS: usize, const VAR_BYTES: usize, const PENDING: usize> Default
    for PhoneSnapshot<CALLS, VAR_BYTES, PENDING>
{
    fn default() -> Self {
        Self::new()
    }
}

impl<const CALLS: usize, const VAR_BYTES: usize, const PENDING: usize>
    PhoneSnapshot<CALLS, VAR_BYTES, PENDING>
{
    /// The snapshot of a phone that has not started.
    pub const fn new() -> Self {
        PhoneSnapshot {
            session: SessionStatus {
                state: SessionState::Disconnected,
                side: 0,
                version: 0,
                next_attempt: None,
                last_end: None,
                failures: 0,
            },
            agent: AgentView {
                state: AgentState::Logout,
                reason: AgentReason::None,
                since: Instant::ZERO,
            },
            calls: heapless::Vec::new(),
            preview: None,
            pending: heapless::Vec::new(),
            pending_full: false,
            halted: false,
            generation: 0,
        }
    }

    /// Copy `phone`'s state into this snapshot (its capacities match the phone's, so nothing
    /// is left out).
    pub fn refresh<const TX: usize, const EVENTS: usize, const FRAME: usize>(
        &mut self,
        phone: &Phone<CALLS, VAR_BYTES, PENDING, TX, EVENTS, FRAME>,
    ) {
        let view = phone.view();
        self.session = view.session;
        self.agent = phone.agent();
        self.calls.clear();
        for call in view.calls() {
            // Same capacity as the phone's table: never refused.
            let _ = self.calls.push(call.clone());
        }
        self.preview = view.preview_call().map(|c| c.id);
        self.pending.clear();
        for request in view.requests() {
            let _ = self.pending.push(*request);
        }
        self.pending_full = view.pending_full;
        self.halted = view.halted;
        self.generation = self.generation.wrapping_add(1);
    }

    /// The view, as [`Engine::view`](super::Engine::view) gave it when the snapshot was taken.
    pub fn view(&self) -> PhoneView<'_, VAR_BYTES> {
        self.view_with(&NoLabels)
    }

    /// [`Self::view`] with the agent's reason labelled from `labels`.
    pub fn view_with<'s>(&'s self, labels: &'s dyn ReasonLabels) -> PhoneView<'s, VAR_BYTES> {
        let agent: AgentStatus<'s> =
            PhoneView::<VAR_BYTES>::agent_status(self.agent, &self.pending, labels);
        PhoneView {
            session: self.session,
            agent,
            calls: &self.calls,
            preview: self
                .preview
                .and_then(|id| self.calls.iter().find(|c| c.id == id)),
            pending: &self.pending,
            pending_full: self.pending_full,
            halted: self.halted,
        }
    }
}
