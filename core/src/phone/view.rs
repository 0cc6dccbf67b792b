//! [`PhoneView`]: everything the phone knows, readable at any moment, borrowed from the phone
//! (no copy, no allocation). A screen, a flight recorder or a proxy reads it between events
//! instead of keeping its own copy of the phone's state.

use super::{
    AgentReason, AgentView, Call, CommandError, Engine, Instant, InvokeId, PendingRequest,
    PreviewAnswer, ReasonText, SessionEndReason, SessionState, DEFAULT_VAR_BYTES,
};
use crate::config::{ReasonKind, Vocabulary};
use crate::wire::{AgentState, LocalConnectionState as Lcs};

/// Where the view finds the label of a reason: the application's [`Vocabulary`], or
/// [`NoLabels`]. An administrator's code shows by its label; a system reason has its own
/// words ([`AgentReason::words`]), which a label for its code replaces (a site's wording or
/// language).
pub trait ReasonLabels {
    /// The label configured for `reason` in the list `kind` (`None` for no reason).
    fn reason_label(&self, kind: ReasonKind, reason: AgentReason) -> Option<&str>;
}

impl<const N: usize, const LABEL: usize> ReasonLabels for Vocabulary<N, LABEL> {
    fn reason_label(&self, kind: ReasonKind, reason: AgentReason) -> Option<&str> {
        // Code 0 never has a label (the vocabulary refuses it).
        self.label(kind, reason.code())
    }
}

/// No labels: an administrator's reason shows as its code, a system reason by its words.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLabels;

impl ReasonLabels for NoLabels {
    fn reason_label(&self, _: ReasonKind, _: AgentReason) -> Option<&str> {
        None
    }
}

/// The session: its state, the server, the version, and when and why the next attempt comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SessionStatus {
    /// State.
    pub state: SessionState,
    /// The server the session is on or tries next (0 = side A, 1 = side B).
    pub side: usize,
    /// The protocol version asked for, then the one in use.
    pub version: u32,
    /// While disconnected: when the phone tries again (`None`: not by itself).
    pub next_attempt: Option<Instant>,
    /// Why the last session ended (`None` before the first one ended).
    pub last_end: Option<SessionEndReason>,
    /// Sessions lost in a row since one last opened (the reconnect back-off's count).
    pub failures: u32,
}

/// A SET_AGENT_STATE_REQ waiting for its confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PendingStateChange {
    /// Its InvokeID.
    pub invoke_id: InvokeId,
    /// The state asked for.
    pub state: AgentState,
    /// When it times out.
    pub deadline: Instant,
}

/// The agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentStatus<'p> {
    /// Current state.
    pub state: AgentState,
    /// Why, as the last EventReasonCode gave it.
    pub reason: AgentReason,
    /// The reason's label from the vocabulary (Not Ready reasons while Not Ready, logout
    /// reasons while logged out).
    pub reason_label: Option<&'p str>,
    /// When the phone learned of the state.
    pub since: Instant,
    /// A state change the agent asked for that the server has not confirmed yet.
    pub pending: Option<PendingStateChange>,
}

impl<'p> AgentStatus<'p> {
    /// The reason for people: the administrator's label, the system reason's words, else
    /// "reason 7"; `None` without a reason or in a state the reason does not explain (Not
    /// Ready and logged out are; a Ready agent's last reason is history).
    pub fn reason_text(&self) -> Option<ReasonText<'p>> {
        let explained = matches!(self.state, AgentState::NotReady | AgentState::Logout);
        (explained && !self.reason.is_none()).then(|| self.reason.text(self.reason_label))
    }
}

/// The pending outbound preview contact as a card (the BA* variables, wire-calls.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreviewCard<'p> {
    /// The reservation's CallID.
    pub call: u32,
    /// BABuddyName: the customer's name.
    pub name: Option<&'p str>,
    /// BAPhoneNumber, else the call's DialedNumber: the number that will be dialed.
    pub number: Option<&'p str>,
    /// BAAccountNumber.
    pub account: Option<&'p str>,
    /// BACampaign: the campaign's name.
    pub campaign: Option<&'p str>,
    /// BACampaignID.
    pub campaign_id: Option<&'p str>,
    /// BADialedListID.
    pub dialed_list_id: Option<&'p str>,
}

/// What the agent can ask for, without its arguments (see [`super::Command`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CommandKind {
    /// `Command::Login`
    Login,
    /// `Command::Logout`
    Logout,
    /// `Command::Ready`
    Ready,
    /// `Command::NotReady`
    NotReady,
    /// `Command::WorkReady`
    WorkReady,
    /// `Command::WorkNotReady`
    WorkNotReady,
    /// `Command::Answer`
    Answer,
    /// `Command::Release`
    Release,
    /// `Command::Hold`
    Hold,
    /// `Command::Retrieve`
    Retrieve,
    /// `Command::Dtmf`
    Dtmf,
    /// `Command::Dial`
    Dial,
    /// `Command::Consult`
    Consult,
    /// `Command::Transfer`
    Transfer,
    /// `Command::Conference`
    Conference,
    /// `Command::Preview`
    Preview,
    /// `Command::Reclassify`, `Command::Callback`, `Command::SetVar` without a call
    SetCallData,
    /// `Command::Close`
    Close,
}

impl CommandKind {
    /// Every kind, in the order a screen lists them.
    pub const ALL: [CommandKind; 18] = [
        CommandKind::Login,
        CommandKind::Logout,
        CommandKind::Ready,
        CommandKind::NotReady,
        CommandKind::WorkReady,
        CommandKind::WorkNotReady,
        CommandKind::Answer,
        CommandKind::Release,
        CommandKind::Hold,
        CommandKind::Retrieve,
        CommandKind::Dtmf,
        CommandKind::Dial,
        CommandKind::Consult,
        CommandKind::Transfer,
        CommandKind::Conference,
        CommandKind::Preview,
        CommandKind::SetCallData,
        CommandKind::Close,
    ];

    /// The command's name as flow files and the terminal phone write it.
    pub const fn name(self) -> &'static str {
        match self {
            CommandKind::Login => "login",
            CommandKind::Logout => "logout",
            CommandKind::Ready => "ready",
            CommandKind::NotReady => "not-ready",
            CommandKind::WorkReady => "work-ready",
            CommandKind::WorkNotReady => "work-not-ready",
            CommandKind::Answer => "answer",
            CommandKind::Release => "release",
            CommandKind::Hold => "hold",
            CommandKind::Retrieve => "retrieve",
            CommandKind::Dtmf => "dtmf",
            CommandKind::Dial => "dial",
            CommandKind::Consult => "consult",
            CommandKind::Transfer => "transfer",
            CommandKind::Conference => "conference",
            CommandKind::Preview => "preview",
            CommandKind::SetCallData => "call data",
            CommandKind::Close => "close",
        }
    }

    /// The kind of a command.
    pub fn of(command: &super::Command<'_>) -> CommandKind {
        use super::Command as C;
        match command {
            C::Login { .. } => CommandKind::Login,
            C::Logout { .. } => CommandKind::Logout,
            C::Ready => CommandKind::Ready,
            C::NotReady { .. } => CommandKind::NotReady,
            C::WorkReady => CommandKind::WorkReady,
            C::WorkNotReady => CommandKind::WorkNotReady,
            C::Answer { .. } => CommandKind::Answer,
            C::Release { .. } => CommandKind::Release,
            C::Hold { .. } => CommandKind::Hold,
            C::Retrieve { .. } => CommandKind::Retrieve,
            C::Dtmf { .. } => CommandKind::Dtmf,
            C::Dial { .. } => CommandKind::Dial,
            C::Consult { .. } => CommandKind::Consult,
            C::Transfer => CommandKind::Transfer,
            C::Conference => CommandKind::Conference,
            C::Preview(_) => CommandKind::Preview,
            C::Reclassify { .. } | C::Callback { .. } | C::SetVar { .. } => {
                CommandKind::SetCallData
            }
            C::Close => CommandKind::Close,
        }
    }
}

/// A command that is valid now and the call it would act on (`None`: no call, as for the
/// agent's state changes; Transfer and Conference name the connected call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ValidCommand {
    /// What.
    pub kind: CommandKind,
    /// The CallID it would act on.
    pub call: Option<u32>,
}

/// The phone's state, borrowed from it. See [`super::Engine::view`].
#[derive(Debug, Clone, Copy)]
pub struct PhoneView<'p, const VAR_BYTES: usize = DEFAULT_VAR_BYTES> {
    /// The session.
    pub session: SessionStatus,
    /// The agent.
    pub agent: AgentStatus<'p>,
    pub(super) calls: &'p [Call<VAR_BYTES>],
    pub(super) preview: Option<&'p Call<VAR_BYTES>>,
    pub(super) pending: &'p [PendingRequest],
    pub(super) pending_full: bool,
    pub(super) halted: bool,
}

impl<'p, const VAR_BYTES: usize> PhoneView<'p, VAR_BYTES> {
    pub(super) fn agent_status(
        agent: AgentView,
        pending: &[PendingRequest],
        labels: &'p dyn ReasonLabels,
    ) -> AgentStatus<'p> {
        let kind = match agent.state {
            AgentState::Logout => Some(ReasonKind::Logout),
            AgentState::NotReady => Some(ReasonKind::NotReady),
            _ => None,
        };
        AgentStatus {
            state: agent.state,
            reason: agent.reason,
            reason_label: kind.and_then(|k| labels.reason_label(k, agent.reason)),
            since: agent.since,
            pending: pending.iter().find_map(|p| {
                Some(PendingStateChange {
                    invoke_id: p.invoke_id,
                    state: p.agent_state?,
                    deadline: p.deadline,
                })
            }),
        }
    }

    /// Every call the phone tracks (CallID, line, CallType, connection state, ANI, DNIS,
    /// DialedNumber, CallVar1-10, ECC variables, wrap-up data, since, held since).
    pub fn calls(&self) -> &'p [Call<VAR_BYTES>] {
        self.calls
    }

    /// The call with `id` (its own CallID or an alias).
    pub fn call(&self, id: u32) -> Option<&'p Call<VAR_BYTES>> {
        self.calls.iter().find(|c| c.answers_to(id))
    }

    /// The pending preview reservation, if the agent has not answered it yet.
    pub fn preview_call(&self) -> Option<&'p Call<VAR_BYTES>> {
        self.preview
    }

    /// The pending preview contact as a card.
    pub fn preview(&self) -> Option<PreviewCard<'p>> {
        let c = self.preview?;
        let non_empty = |v: Option<&'p str>| v.filter(|s| !s.is_empty());
        Some(PreviewCard {
            call: c.id,
            name: non_empty(c.var("BABuddyName")),
            number: non_empty(c.var("BAPhoneNumber"))
                .or_else(|| non_empty(Some(c.dialed_number.as_str()))),
            account: non_empty(c.var("BAAccountNumber")),
            campaign: non_empty(c.var("BACampaign")),
            campaign_id: non_empty(c.var("BACampaignID")),
            dialed_list_id: non_empty(c.var("BADialedListID")),
        })
    }

    /// The requests waiting for their confirmation.
    pub fn requests(&self) -> &'p [PendingRequest] {
        self.pending
    }

    /// Whether `kind` would be accepted now, and the call it would act on; the error is the
    /// one [`super::Phone::command`] would return (before checking the command's arguments
    /// and the transmit queue's room).
    pub fn check(&self, kind: CommandKind) -> Result<Option<u32>, CommandError> {
        let open = self.session.state == SessionState::Open;
        match kind {
            CommandKind::Close => {
                return if self.halted {
                    Err(CommandError::NotConnected)
                } else {
                    Ok(None)
                }
            }
            CommandKind::Login if self.halted => return Ok(None),
            _ if !open => return Err(CommandError::NotConnected),
            _ => {}
        }
        let logged_out = self.agent.state == AgentState::Logout;
        let call = |states: &[Lcs]| pick_call(self.calls, None, states).map(|c| Some(c.id));
        let result = match kind {
            CommandKind::Login if logged_out => Ok(None),
            CommandKind::Login => Err(CommandError::InvalidState),
            CommandKind::Logout
            | CommandKind::Ready
            | CommandKind::NotReady
            | CommandKind::WorkReady
            | CommandKind::WorkNotReady
                if logged_out =>
            {
                Err(CommandError::InvalidState)
            }
            CommandKind::Logout
            | CommandKind::Ready
            | CommandKind::NotReady
            | CommandKind::WorkReady
            | CommandKind::WorkNotReady
            | CommandKind::Dial => Ok(None),
            CommandKind::Answer => call(&[Lcs::Alerting]),
            CommandKind::Release => call(RELEASABLE),
            CommandKind::Hold | CommandKind::Dtmf | CommandKind::Consult => call(&[Lcs::Connect]),
            CommandKind::Retrieve => call(&[Lcs::Hold]),
            CommandKind::Transfer | CommandKind::Conference => {
                call(&[Lcs::Hold])?;
                call(&[Lcs::Connect])
            }
            CommandKind::Preview => self
                .preview
                .map(|c| Some(c.id))
                .ok_or(CommandError::NoPreview),
            CommandKind::SetCallData => customer_call(self.calls).map(|c| Some(c.id)),
            CommandKind::Close => Ok(None),
        };
        let needs_slot = !matches!(kind, CommandKind::Close);
        match result {
            Ok(_) if needs_slot && self.pending_full => Err(CommandError::TooManyPending),
            other => other,
        }
    }

    /// The commands valid now, each with the call it would act on.
    pub fn valid_commands(&self) -> impl Iterator<Item = ValidCommand> + '_ {
        CommandKind::ALL.into_iter().filter_map(|kind| {
            self.check(kind)
                .ok()
                .map(|call| ValidCommand { kind, call })
        })
    }

    /// The preview answers valid now (all of them while a reservation is pending).
    pub fn preview_answers(&self) -> &'static [PreviewAnswer] {
        match self.check(CommandKind::Preview) {
            Ok(_) => &[
                PreviewAnswer::Accept,
                PreviewAnswer::Skip,
                PreviewAnswer::Reject,
                PreviewAnswer::SkipClose,
                PreviewAnswer::RejectClose,
                PreviewAnswer::CancelReservation,
            ],
            Err(_) => &[],
        }
    }
}

impl<
        const CALLS: usize,
        const VAR_BYTES: usize,
        const PENDING: usize,
        const TX: usize,
        const EVENTS: usize,
    > Engine<CALLS, VAR_BYTES, PENDING, TX, EVENTS>
{
    /// Everything the phone knows, borrowed: session, agent, calls, the preview card, the
    /// requests in flight and the commands valid now. Reason codes show without labels; see
    /// [`Self::view_with`].
    pub fn view(&self) -> PhoneView<'_, VAR_BYTES> {
        self.view_with(&NoLabels)
    }

    /// [`Self::view`] with the agent's reason labelled from `labels` (the application's
    /// [`crate::config::Vocabulary`]).
    pub fn view_with<'p>(&'p self, labels: &'p dyn ReasonLabels) -> PhoneView<'p, VAR_BYTES> {
        PhoneView {
            session: SessionStatus {
                state: self.session.state,
                side: self.session.server,
                version: self.session.version,
                next_attempt: match self.session.state {
                    SessionState::Disconnected => self.link.reconnect_at,
                    _ => None,
                },
                last_end: self.link.last_end,
                failures: self.link.failures,
            },
            agent: PhoneView::<VAR_BYTES>::agent_status(self.agent, &self.pending, labels),
            calls: &self.calls,
            preview: self.preview(),
            pending: &self.pending,
            pending_full: self.pending.is_full(),
            halted: self.is_halted(),
        }
    }
}

/// The states Release acts on, in order of preference.
pub(super) const RELEASABLE: &[Lcs] = &[Lcs::Connect, Lcs::Initiate, Lcs::Hold, Lcs::Alerting];

/// The call a command acts on, as an index into `calls`: the given CallID (of the calls
/// sharing it, the first whose own connection is in one of `states`), or the first call
/// (reservations left out) whose own connection is in the first state of `states` that has
/// one.
pub(super) fn pick_index<const V: usize>(
    calls: &[Call<V>],
    given: Option<u32>,
    states: &[Lcs],
) -> Result<usize, CommandError> {
    match given {
        Some(id) => {
            let with_id = || calls.iter().enumerate().filter(|(_, c)| c.id == id);
            let (index, call) = states
                .iter()
                .find_map(|state| with_id().find(|(_, c)| c.state == *state))
                .or_else(|| with_id().next())
                .ok_or(CommandError::NoSuchCall)?;
            if call.is_reservation() {
                // A reservation has no real phone call; only SET_CALL_DATA_REQ answers it.
                return Err(CommandError::InvalidState);
            }
            Ok(index)
        }
        None => states
            .iter()
            .find_map(|state| {
                calls
                    .iter()
                    .position(|c| c.state == *state && !c.is_reservation())
            })
            .ok_or(CommandError::NoSuchCall),
    }
}

fn pick_call<'c, const V: usize>(
    calls: &'c [Call<V>],
    given: Option<u32>,
    states: &[Lcs],
) -> Result<&'c Call<V>, CommandError> {
    let index = pick_index(calls, given, states)?;
    calls.get(index).ok_or(CommandError::NoSuchCall)
}

/// The outbound customer call (BAStatus `CO`), else the connected call.
pub(super) fn customer_call<const V: usize>(calls: &[Call<V>]) -> Result<&Call<V>, CommandError> {
    calls
        .iter()
        .find(|c| c.var("BAStatus") == Some("CO"))
        .or_else(|| calls.iter().find(|c| c.state == Lcs::Connect))
        .ok_or(CommandError::NoSuchCall)
}
