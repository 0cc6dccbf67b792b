//! Two calls become one: CALL_TRANSFERRED_EVENT and CALL_CONFERENCED_EVENT, and the other
//! CallIDs a conference keeps answering to.
//!
//! The guide's conferenced-call flow
//! (<https://developer.cisco.com/docs/contact-center-express/example-message-flow-for-a-conferenced-call>)
//! announces a third CallID with a CALL_DATA_UPDATE_EVENT of CallType 15
//! (CALLTYPE_CONFERENCE) before CALL_CONFERENCED_EVENT, which then names it in every
//! ConnectedPartyCallID. The agent sees one conference call: it keeps the PrimaryCallID, and
//! the SecondaryCallID and the connected-party CallIDs become its aliases, so that later
//! events under any of them update it and none is reported as an unknown call.

use super::call::set_text;
use super::{Call, Engine, Event, MAX_ALIASES};
use crate::wire::{fields, tag, CallType, Fixed, LocalConnectionState, Message};

/// NULL_CALL_ID: "no call".
const NULL_CALL_ID: u32 = 0xFFFF_FFFF;
/// Announced conference CallIDs remembered until their CALL_CONFERENCED_EVENT.
const ANNOUNCED: usize = 2;

/// CALL_TRANSFERRED_EVENT / CALL_CONFERENCED_EVENT: two calls become one.
pub(super) struct MergeEvent {
    primary: Fixed<u32>,
    secondary: Fixed<u32>,
    state: Fixed<LocalConnectionState>,
    /// The merged call keeps answering to the other CallIDs (a conference).
    keeps_aliases: bool,
}

pub(super) const TRANSFERRED: MergeEvent = MergeEvent {
    primary: fields::call_transferred_event::PRIMARY_CALL_ID,
    secondary: fields::call_transferred_event::SECONDARY_CALL_ID,
    state: fields::call_transferred_event::LOCAL_CONNECTION_STATE,
    keeps_aliases: false,
};
pub(super) const CONFERENCED: MergeEvent = MergeEvent {
    primary: fields::call_conferenced_event::PRIMARY_CALL_ID,
    secondary: fields::call_conferenced_event::SECONDARY_CALL_ID,
    state: fields::call_conferenced_event::LOCAL_CONNECTION_STATE,
    keeps_aliases: true,
};

/// CallIDs a CALL_DATA_UPDATE_EVENT announced as conference calls, with the CallType it
/// gave, oldest first.
pub(super) struct Announced {
    ids: heapless::Vec<(u32, CallType), ANNOUNCED>,
}

impl Announced {
    pub(super) const fn new() -> Self {
        Announced {
            ids: heapless::Vec::new(),
        }
    }

    fn push(&mut self, id: u32, call_type: CallType) {
        if self.ids.iter().any(|(a, _)| *a == id) {
            return;
        }
        if self.ids.is_full() && !self.ids.is_empty() {
            self.ids.remove(0);
        }
        let _ = self.ids.push((id, call_type));
    }

    fn take(&mut self, id: u32) -> Option<CallType> {
        let index = self.ids.iter().position(|(a, _)| *a == id)?;
        (index < self.ids.len()).then(|| self.ids.remove(index).1)
    }

    pub(super) fn clear(&mut self) {
        self.ids.clear();
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
    /// A CALL_DATA_UPDATE_EVENT for an unknown CallID: when it announces a conference call
    /// (CallType 15), remember the CallID for the CALL_CONFERENCED_EVENT that follows and
    /// return `true` (it is not an unknown call).
    pub(super) fn announce_conference(&mut self, msg: &Message<'_>) -> bool {
        use fields::call_data_update_event as f;
        let (Some(id), Some(call_type)) = (msg.get(f::CONNECTION_CALL_ID), msg.get(f::CALL_TYPE))
        else {
            return false;
        };
        // CallType 15, CALLTYPE_CONFERENCE
        // (<https://developer.cisco.com/docs/contact-center-express/calltype-fields>).
        if call_type != CallType::Conference {
            return false;
        }
        self.announced.push(id, call_type);
        true
    }

    pub(super) fn on_merge(&mut self, msg: &Message<'_>, spec: &MergeEvent) {
        let (Some(primary), Some(secondary)) = (msg.get(spec.primary), msg.get(spec.secondary))
        else {
            return;
        };
        let primary_known = self.calls.iter().any(|c| c.id == primary);
        let secondary_index = (secondary != primary && secondary != NULL_CALL_ID)
            .then(|| self.calls.iter().position(|c| c.answers_to(secondary)))
            .flatten();
        match (primary_known, secondary_index) {
            (false, None) => match self.index_of(primary) {
                // The primary is already a leg of a conference the agent is in.
                Some(_) => {}
                None => {
                    self.push_event(Event::UnknownCall {
                        call: primary,
                        message_type: msg.message_type().id(),
                    });
                    return;
                }
            },
            (false, Some(index)) => {
                let old = self.calls.get(index).map_or(secondary, |c| c.id);
                self.rekey(old, primary);
            }
            (true, Some(index)) => {
                if index < self.calls.len() {
                    let merged = self.calls.remove(index);
                    self.merge_into(primary, &merged);
                    self.push_event(Event::CallRemoved { call: merged.id });
                    if self.preview == Some(merged.id) {
                        self.preview = None;
                        self.push_event(Event::PreviewEnded { call: merged.id });
                    }
                }
            }
            (true, None) => {}
        }
        let Some(index) = self.index_of(primary) else {
            return;
        };
        if spec.keeps_aliases {
            self.add_conference_ids(index, primary, secondary, msg);
        }
        if let Some(call) = self.calls.get_mut(index) {
            call.stale = false;
        }
        if let Some(state) = msg
            .get(spec.state)
            .filter(|s| *s != LocalConnectionState::None)
        {
            self.set_call_state(index, state);
        }
        let id = self.calls.get(index).map_or(primary, |c| c.id);
        self.push_event(Event::CallDataChanged { call: id });
        self.recheck_preview();
    }

    /// The conference call at `index` answers to the secondary and every connected-party
    /// CallID from now on; a call the phone tracked under one of them is folded in.
    fn add_conference_ids(
        &mut self,
        index: usize,
        primary: u32,
        secondary: u32,
        msg: &Message<'_>,
    ) {
        let parties = msg
            .fields()
            .filter(|f| f.tag == tag::CONNECTED_PARTY_CALL_ID)
            .filter_map(|f| <[u8; 4]>::try_from(f.data).ok().map(u32::from_be_bytes));
        let mut ids: heapless::Vec<u32, { MAX_ALIASES + 1 }> = heapless::Vec::new();
        for id in core::iter::once(secondary).chain(parties) {
            if id != primary && id != NULL_CALL_ID && !ids.contains(&id) {
                let _ = ids.push(id);
            }
        }
        for id in ids {
            // Another record under this CallID is the same conference now.
            if let Some(other) = self
                .calls
                .iter()
                .position(|c| c.id == id)
                .filter(|i| *i != index && *i < self.calls.len())
            {
                let merged = self.calls.remove(other);
                self.merge_into(primary, &merged);
                self.push_event(Event::CallRemoved { call: merged.id });
            }
            let announced = self.announced.take(id);
            let Some(call) = self.calls.iter_mut().find(|c| c.id == primary) else {
                return;
            };
            if let Some(call_type) = announced {
                call.call_type = call_type;
            }
            if !call.aliases.contains(&id) && call.aliases.push(id).is_err() {
                // Full: the oldest leg gives way to the newest.
                if !call.aliases.is_empty() {
                    call.aliases.remove(0);
                }
                let _ = call.aliases.push(id);
            }
        }
    }

    /// Data of the `secondary` call that the primary lacks.
    fn merge_into(&mut self, primary: u32, secondary: &Call<VAR_BYTES>) {
        let Some(call) = self.calls.iter_mut().find(|c| c.id == primary) else {
            return;
        };
        if call.ani.is_empty() {
            call.ani.clone_from(&secondary.ani);
        }
        if call.dnis.is_empty() {
            call.dnis.clone_from(&secondary.dnis);
        }
        if call.own_device.is_empty() && !secondary.own_device.is_empty() {
            set_text(&mut call.own_device, &secondary.own_device);
            call.line = secondary.line;
        }
        let mut full = false;
        for (name, value) in secondary.vars() {
            if call.var(name).is_none() {
                full |= !call.set_var(name, value);
            }
        }
        if full {
            self.push_event(Event::VariableStorageFull { call: primary });
        }
    }
}
