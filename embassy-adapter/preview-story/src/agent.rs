//! The agent's side of the story: which button to press on which phone event, what the phone
//! must show at the end, and both sides played together in memory.

use ccx_cti::phone::{
    AgentView, Command, Event, Instant, Phone, PreviewAnswer, SessionState, TransportAction,
};
use ccx_cti::wire::{AgentState, CallType};

use crate::{PreviewServer, ScriptFailure, Stage, FRAME};

/// How the story ends for the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Ending {
    /// [`PreviewServer`]: the accepted reservation is cleared and the agent is AVAILABLE again,
    /// with no calls.
    Available,
    /// A full Unified CCX (the std adapter's `ccx sim`): the accepted contact is dialed and the
    /// agent is TALKING on the customer call.
    TalkingToCustomer,
}

/// The agent's side of the story: which button to press on which event. The first contact
/// offered is skipped, the next one accepted.
#[derive(Debug)]
pub struct PreviewAgent {
    ending: Ending,
    ready_pressed: bool,
    skipped: Option<u32>,
    accepted: Option<u32>,
    accepted_call_gone: bool,
    done: bool,
}

impl PreviewAgent {
    /// An agent who has not pressed anything yet.
    pub const fn new(ending: Ending) -> Self {
        PreviewAgent {
            ending,
            ready_pressed: false,
            skipped: None,
            accepted: None,
            accepted_call_gone: false,
            done: false,
        }
    }

    /// The phone reported `event`: the button to press, if any.
    pub fn on_event(&mut self, event: &Event) -> Option<Command<'static>> {
        match *event {
            Event::SessionOpened { .. } => Some(Command::Login { password: None }),
            Event::AgentStateChanged {
                state: AgentState::NotReady,
                ..
            } if !self.ready_pressed => {
                self.ready_pressed = true;
                Some(Command::Ready)
            }
            Event::PreviewOffered { call } if self.skipped.is_none() => {
                self.skipped = Some(call);
                Some(Command::Preview(PreviewAnswer::Skip))
            }
            Event::PreviewOffered { call }
                if self.accepted.is_none() && self.skipped != Some(call) =>
            {
                self.accepted = Some(call);
                Some(Command::Preview(PreviewAnswer::Accept))
            }
            Event::CallRemoved { call } if self.accepted == Some(call) => {
                self.accepted_call_gone = true;
                None
            }
            Event::AgentStateChanged { state, .. } => {
                let end_state = match self.ending {
                    Ending::Available => AgentState::Available,
                    Ending::TalkingToCustomer => AgentState::Talking,
                };
                if state == end_state && self.accepted_call_gone {
                    self.done = true;
                }
                None
            }
            _ => None,
        }
    }

    /// The agent skipped the first contact, accepted the next, saw its reservation cleared and
    /// reached the story's end state.
    pub fn done(&self) -> bool {
        self.done
    }
}

/// What is wrong with the phone at the end of the story.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FinalStateError {
    /// The session is not open.
    Session(SessionState),
    /// The agent is not in the story's end state.
    Agent(AgentView),
    /// The phone tracks the wrong number of calls.
    Calls(usize),
    /// The call the phone tracks is not the customer call.
    NotACustomerCall(u32),
    /// A preview is still pending.
    PreviewPending(u32),
}

/// The phone must end with the session open and no preview pending; for
/// [`Ending::Available`] the agent AVAILABLE with no calls, for [`Ending::TalkingToCustomer`]
/// the agent TALKING on one call that is not a reservation.
pub fn check_final_state<
    const CALLS: usize,
    const VAR_BYTES: usize,
    const PENDING: usize,
    const TX: usize,
    const EVENTS: usize,
    const PHONE_FRAME: usize,
>(
    phone: &Phone<CALLS, VAR_BYTES, PENDING, TX, EVENTS, PHONE_FRAME>,
    ending: Ending,
) -> Result<(), FinalStateError> {
    let session = phone.session();
    if session.state != SessionState::Open {
        return Err(FinalStateError::Session(session.state));
    }
    if let Some(call) = phone.preview() {
        return Err(FinalStateError::PreviewPending(call.id));
    }
    let agent = phone.agent();
    let (state, calls) = match ending {
        Ending::Available => (AgentState::Available, 0),
        Ending::TalkingToCustomer => (AgentState::Talking, 1),
    };
    if agent.state != state {
        return Err(FinalStateError::Agent(agent));
    }
    let count = phone.calls().count();
    if count != calls {
        return Err(FinalStateError::Calls(count));
    }
    if let Some(call) = phone.calls().find(|c| c.call_type == CallType::Reservation) {
        return Err(FinalStateError::NotACustomerCall(call.id));
    }
    Ok(())
}

/// Why [`play_in_memory`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StoryError {
    /// The server's script broke.
    Script(ScriptFailure),
    /// The story stalled at this stage: nobody had anything left to do.
    Stalled(Stage),
    /// The phone refused the agent's button.
    Refused(ccx_cti::phone::CommandError),
    /// The phone's final state is wrong.
    FinalState(FinalStateError),
}

/// Play the whole story between `phone` and a [`PreviewServer`] in memory (no network, a clock
/// that stands still). Returns the number of messages the server received and sent.
pub fn play_in_memory<
    const CALLS: usize,
    const VAR_BYTES: usize,
    const PENDING: usize,
    const TX: usize,
    const EVENTS: usize,
    const PHONE_FRAME: usize,
>(
    phone: &mut Phone<CALLS, VAR_BYTES, PENDING, TX, EVENTS, PHONE_FRAME>,
) -> Result<(u32, u32), StoryError> {
    play_in_memory_observed(phone, |_| {})
}

/// [`play_in_memory`], handing every event of the phone to `observe` in order (so that a run
/// of the same script over a network can be compared with this one).
pub fn play_in_memory_observed<
    const CALLS: usize,
    const VAR_BYTES: usize,
    const PENDING: usize,
    const TX: usize,
    const EVENTS: usize,
    const PHONE_FRAME: usize,
>(
    phone: &mut Phone<CALLS, VAR_BYTES, PENDING, TX, EVENTS, PHONE_FRAME>,
    mut observe: impl FnMut(&Event),
) -> Result<(u32, u32), StoryError> {
    let now = Instant::from_millis(1_000);
    let mut server = PreviewServer::new();
    let mut agent = PreviewAgent::new(Ending::Available);
    let mut out = [0u8; FRAME];
    // Each round must make progress; a bounded number of rounds keeps a broken phone from
    // looping forever.
    for _ in 0..1_000 {
        let mut progressed = false;
        while let Some(action) = phone.poll_transport(now) {
            progressed = true;
            match action {
                TransportAction::Connect { .. } => phone.connected(now),
                TransportAction::Disconnect => phone.disconnected(now),
            }
        }
        while let Some(len) = phone.poll_transmit(&mut out) {
            progressed = true;
            server.receive(out.get(..len).unwrap_or(&[]));
        }
        if let Some(failure) = server.failure() {
            return Err(StoryError::Script(failure));
        }
        if !server.output().is_empty() {
            progressed = true;
            phone.handle_bytes(now, server.output());
            let n = server.output().len();
            server.consume_output(n);
        }
        while let Some(event) = phone.poll_event() {
            progressed = true;
            story_info!("phone event: {:?}", event);
            observe(&event);
            if let Some(command) = agent.on_event(&event) {
                story_info!("agent presses {:?}", command);
                phone.command(now, command).map_err(StoryError::Refused)?;
            }
        }
        if agent.done() && server.finished() {
            check_final_state(phone, Ending::Available).map_err(StoryError::FinalState)?;
            return Ok(server.counts());
        }
        if !progressed {
            return Err(StoryError::Stalled(server.stage()));
        }
    }
    Err(StoryError::Stalled(server.stage()))
}
