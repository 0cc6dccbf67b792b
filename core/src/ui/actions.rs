//! What the agent can do now: every action, its softkey label, whether the phone would take it
//! now, and which four the softkeys show in each situation.

use crate::config::ReasonKind;
use crate::phone::{CommandError, CommandKind, PhoneView, PreviewAnswer};
use crate::wire::{AgentState, LocalConnectionState as Lcs};

use super::ReasonList;

/// One thing the agent can do from the home screen: a command, or a list or pad that leads to
/// one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Action {
    /// Log in (asks for the password again after a wrong one).
    Login,
    /// Become Ready.
    Ready,
    /// Pick a Not Ready reason.
    NotReady,
    /// Pick a logout reason, then log out.
    Logout,
    /// Answer the ringing call.
    Answer,
    /// Hang up.
    Release,
    /// Hold the call.
    Hold,
    /// Take the held call back.
    Retrieve,
    /// Transfer the held caller to the consulted party.
    Transfer,
    /// Join the held caller and the consulted party.
    Conference,
    /// Dial pad: make a call.
    Dial,
    /// Dial pad: consult another party.
    Consult,
    /// Dial pad: send tones on the call.
    Dtmf,
    /// Pick a reclassification of the customer call.
    Reclassify,
    /// Enter a callback date and time.
    Callback,
    /// Pick a wrap-up reason.
    WrapUp,
    /// Answer the preview contact.
    Preview(PreviewAnswer),
    /// All six answers to the preview contact.
    PreviewAll,
    /// Sign off from the server.
    Close,
}

/// The order the "More" list shows actions in.
pub(super) const ALL: [Action; 21] = [
    Action::Login,
    Action::Answer,
    Action::Preview(PreviewAnswer::Accept),
    Action::Preview(PreviewAnswer::Skip),
    Action::Preview(PreviewAnswer::Reject),
    Action::PreviewAll,
    Action::Hold,
    Action::Retrieve,
    Action::Transfer,
    Action::Conference,
    Action::Release,
    Action::Consult,
    Action::Dtmf,
    Action::Reclassify,
    Action::Callback,
    Action::WrapUp,
    Action::Ready,
    Action::NotReady,
    Action::Dial,
    Action::Logout,
    Action::Close,
];

impl Action {
    /// The softkey label (at most 8 characters: four fit a 128-pixel display).
    pub fn label(self) -> &'static str {
        match self {
            Action::Login => "Login",
            Action::Ready => "Ready",
            Action::NotReady => "NotReady",
            Action::Logout => "Logout",
            Action::Answer => "Answer",
            Action::Release => "End",
            Action::Hold => "Hold",
            Action::Retrieve => "Resume",
            Action::Transfer => "Transfer",
            Action::Conference => "Confer",
            Action::Dial => "Dial",
            Action::Consult => "Consult",
            Action::Dtmf => "Keypad",
            Action::Reclassify => "Reclass",
            Action::Callback => "Callback",
            Action::WrapUp => "Wrap-up",
            Action::Preview(a) => answer_label(a),
            Action::PreviewAll => "Answers",
            Action::Close => "SignOff",
        }
    }

    /// The longer name the "More" list shows.
    pub fn name(self) -> &'static str {
        match self {
            Action::Login => "Log in",
            Action::Ready => "Become Ready",
            Action::NotReady => "Not Ready (reason)",
            Action::Logout => "Log out (reason)",
            Action::Answer => "Answer",
            Action::Release => "End the call",
            Action::Hold => "Hold",
            Action::Retrieve => "Resume the held call",
            Action::Transfer => "Transfer",
            Action::Conference => "Conference",
            Action::Dial => "Make a call",
            Action::Consult => "Consult",
            Action::Dtmf => "Send tones",
            Action::Reclassify => "Reclassify",
            Action::Callback => "Schedule a callback",
            Action::WrapUp => "Wrap-up reason",
            Action::Preview(a) => answer_name(a),
            Action::PreviewAll => "All contact answers",
            Action::Close => "Sign off the server",
        }
    }

    /// The command the action leads to.
    pub fn kind(self) -> CommandKind {
        match self {
            Action::Login => CommandKind::Login,
            Action::Ready => CommandKind::Ready,
            Action::NotReady => CommandKind::NotReady,
            Action::Logout => CommandKind::Logout,
            Action::Answer => CommandKind::Answer,
            Action::Release => CommandKind::Release,
            Action::Hold => CommandKind::Hold,
            Action::Retrieve => CommandKind::Retrieve,
            Action::Transfer => CommandKind::Transfer,
            Action::Conference => CommandKind::Conference,
            Action::Dial => CommandKind::Dial,
            Action::Consult => CommandKind::Consult,
            Action::Dtmf => CommandKind::Dtmf,
            Action::Reclassify | Action::Callback | Action::WrapUp => CommandKind::SetCallData,
            Action::Preview(_) | Action::PreviewAll => CommandKind::Preview,
            Action::Close => CommandKind::Close,
        }
    }

    /// Whether the phone would take the action now, or why not.
    pub fn check<const V: usize>(
        self,
        view: &PhoneView<'_, V>,
        lists: &dyn ReasonList,
    ) -> Result<(), Why> {
        view.check(self.kind()).map_err(Why::Phone)?;
        let state = view.agent.state;
        match self {
            Action::Ready if state == AgentState::Available => Err(Why::Already),
            Action::Ready if state == AgentState::Reserved || state == AgentState::Talking => {
                Err(Why::OnCall)
            }
            Action::Dial
                if !view.calls().is_empty()
                    || view.preview().is_some()
                    || matches!(state, AgentState::Reserved | AgentState::Talking) =>
            {
                Err(Why::OnCall)
            }
            Action::Dial if state == AgentState::Logout => {
                Err(Why::Phone(CommandError::InvalidState))
            }
            Action::Logout if view.calls().iter().any(|c| !c.is_reservation()) => Err(Why::OnCall),
            Action::NotReady if state == AgentState::Talking || state == AgentState::Reserved => {
                Err(Why::OnCall)
            }
            Action::WrapUp if lists.reason_count(ReasonKind::WrapUp) == 0 => Err(Why::NoList),
            Action::Reclassify | Action::Callback if !outbound(view) => Err(Why::NotOutbound),
            Action::Retrieve if has(view, Lcs::Connect) => Err(Why::OnCall),
            _ => Ok(()),
        }
    }
}

/// Why an action is not offered now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Why {
    /// The phone would refuse it.
    Phone(CommandError),
    /// The agent is in that state already.
    Already,
    /// Not while on a call.
    OnCall,
    /// No reasons are configured for the list.
    NoList,
    /// Only on an outbound customer call.
    NotOutbound,
    /// The key has no action here.
    Nothing,
}

impl Why {
    /// In plain words.
    pub fn words(self) -> &'static str {
        match self {
            Why::Phone(e) => super::text::refusal(e),
            Why::Already => "already in that state",
            Why::OnCall => "not while on a call",
            Why::NoList => "no reasons are configured",
            Why::NotOutbound => "only on an outbound contact call",
            Why::Nothing => "nothing on this key now",
        }
    }
}

fn has<const V: usize>(view: &PhoneView<'_, V>, state: Lcs) -> bool {
    view.calls()
        .iter()
        .any(|c| c.state == state && !c.is_reservation())
}

/// Whether the agent is on an outbound preview customer call (BAStatus `CO`).
fn outbound<const V: usize>(view: &PhoneView<'_, V>) -> bool {
    view.calls().iter().any(|c| c.var("BAStatus") == Some("CO"))
}

/// A preview answer's softkey label.
pub(super) fn answer_label(answer: PreviewAnswer) -> &'static str {
    match answer {
        PreviewAnswer::Accept => "Accept",
        PreviewAnswer::Skip => "Skip",
        PreviewAnswer::Reject => "Reject",
        PreviewAnswer::SkipClose => "SkipCls",
        PreviewAnswer::RejectClose => "RejCls",
        PreviewAnswer::CancelReservation => "Cancel",
    }
}

/// A preview answer in words.
pub(super) fn answer_name(answer: PreviewAnswer) -> &'static str {
    match answer {
        PreviewAnswer::Accept => "Accept: call now",
        PreviewAnswer::Skip => "Skip: next contact",
        PreviewAnswer::Reject => "Reject: not me",
        PreviewAnswer::SkipClose => "Skip and close contact",
        PreviewAnswer::RejectClose => "Reject and close contact",
        PreviewAnswer::CancelReservation => "Cancel reservation",
    }
}

/// The actions the agent most likely wants first, by situation; the softkeys show the first
/// valid ones and "More" lists the rest.
fn preferred<const V: usize>(view: &PhoneView<'_, V>) -> &'static [Action] {
    if view.preview().is_some() {
        return &[
            Action::Preview(PreviewAnswer::Accept),
            Action::Preview(PreviewAnswer::Skip),
            Action::Preview(PreviewAnswer::Reject),
            Action::PreviewAll,
        ];
    }
    let ringing = has(view, Lcs::Alerting);
    let talking = has(view, Lcs::Connect);
    let held = has(view, Lcs::Hold);
    match (ringing, talking, held) {
        (true, _, _) => &[Action::Answer, Action::Release],
        (_, true, true) => &[Action::Transfer, Action::Conference, Action::Release],
        (_, true, false) => &[Action::Hold, Action::Release, Action::Consult],
        (_, false, true) => &[Action::Retrieve, Action::Release],
        _ => match view.agent.state {
            AgentState::Logout => &[Action::Login, Action::Close],
            AgentState::Available => &[Action::NotReady, Action::Dial, Action::Logout],
            AgentState::WorkNotReady | AgentState::WorkReady => {
                &[Action::Ready, Action::WrapUp, Action::NotReady]
            }
            _ => &[Action::Ready, Action::NotReady, Action::Dial],
        },
    }
}

/// A softkey: the action it performs (`None`: blank) or the "More" list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Soft {
    /// Blank.
    None,
    /// Performs the action.
    Do(Action),
    /// Opens the list of every action valid now.
    More,
}

impl Soft {
    /// The label.
    pub fn label(self) -> &'static str {
        match self {
            Soft::None => "",
            Soft::Do(a) => a.label(),
            Soft::More => "More",
        }
    }
}

/// The actions valid now, in the order of the "More" list.
pub(super) fn valid<'a, const V: usize>(
    view: &'a PhoneView<'a, V>,
    lists: &'a dyn ReasonList,
) -> impl Iterator<Item = Action> + 'a {
    ALL.into_iter()
        .filter(move |a| a.check(view, lists).is_ok())
}

/// The four home softkeys: the preferred actions valid now, then the other valid ones; the
/// fourth is "More" when more than four are valid.
pub(super) fn home_softkeys<const V: usize>(
    view: &PhoneView<'_, V>,
    lists: &dyn ReasonList,
) -> [Soft; 4] {
    let mut keys = [Soft::None; 4];
    let total = valid(view, lists).count();
    let firsts = preferred(view)
        .iter()
        .copied()
        .filter(|a| a.check(view, lists).is_ok());
    let rest = valid(view, lists).filter(|a| !preferred(view).contains(a));
    let slots = if total > 4 { 3 } else { 4 };
    for (slot, action) in keys.iter_mut().zip(firsts.chain(rest)).take(slots) {
        *slot = Soft::Do(action);
    }
    if total > 4 {
        if let Some(last) = keys.last_mut() {
            *last = Soft::More;
        }
    }
    keys
}
