//! The call table: what call events do to the agent's calls (wire-calls.md §3, §7), their
//! named variables, the outbound preview reservation, and the snapshot after a reconnect.

use super::call::{set_text, CALL_VAR_NAMES};
use super::{Call, Engine, Event, Instant};
use crate::wire::{
    fields, tag, CallType, ConnectionDeviceType, Fixed, FixedValue, LocalConnectionState, Message,
    MessageType,
};

/// NULL_CALL_ID (wire-calls.md §6.9): "no call".
const NULL_CALL_ID: u32 = 0xFFFF_FFFF;

/// How an event sets the agent's own connection state.
#[derive(Clone, Copy)]
enum StateRule {
    /// Always this state (HELD -> LCS_HOLD).
    Always(LocalConnectionState),
    /// The event's LocalConnectionState; this one when the event says LCS_NONE.
    FromEvent(LocalConnectionState),
}

/// A connection-level call event and how it changes the agent's connection.
struct ConnectionEvent {
    message_type: MessageType,
    call_id: Fixed<u32>,
    device_type: Fixed<ConnectionDeviceType>,
    state: Fixed<LocalConnectionState>,
    /// The floating field naming the device the event is about (AlertingDeviceID…); when it
    /// is absent, ConnectionDeviceID decides.
    role: Option<u16>,
    /// Another device field that also makes the event the agent's (the caller of an
    /// established call).
    also_mine: Option<u16>,
    rule: StateRule,
    /// An unknown call is created (wire-calls.md §7.2); otherwise it is reported.
    creates: bool,
}

macro_rules! connection_event {
    ($ty:ident, $m:ident, role: $role:expr, also: $also:expr, $rule:expr, creates: $creates:expr) => {
        ConnectionEvent {
            message_type: MessageType::$ty,
            call_id: fields::$m::CONNECTION_CALL_ID,
            device_type: fields::$m::CONNECTION_DEVICE_TYPE,
            state: fields::$m::LOCAL_CONNECTION_STATE,
            role: $role,
            also_mine: $also,
            rule: $rule,
            creates: $creates,
        }
    };
}

use LocalConnectionState as Lcs;
use StateRule::{Always, FromEvent};

static CONNECTION_EVENTS: [ConnectionEvent; 8] = [
    connection_event!(CallDeliveredEvent, call_delivered_event,
        role: Some(tag::ALERTING_DEVICE_ID), also: None, FromEvent(Lcs::Alerting), creates: true),
    connection_event!(CallEstablishedEvent, call_established_event,
        role: Some(tag::ANSWERING_DEVICE_ID), also: Some(tag::CALLING_DEVICE_ID),
        Always(Lcs::Connect), creates: true),
    connection_event!(CallHeldEvent, call_held_event,
        role: Some(tag::HOLDING_DEVICE_ID), also: None, Always(Lcs::Hold), creates: false),
    connection_event!(CallRetrievedEvent, call_retrieved_event,
        role: Some(tag::RETRIEVING_DEVICE_ID), also: None, Always(Lcs::Connect), creates: false),
    connection_event!(CallOriginatedEvent, call_originated_event,
        role: Some(tag::CALLING_DEVICE_ID), also: None, FromEvent(Lcs::Initiate), creates: true),
    connection_event!(CallServiceInitiatedEvent, call_service_initiated_event,
        role: Some(tag::CALLING_DEVICE_ID), also: None, FromEvent(Lcs::Initiate), creates: true),
    connection_event!(CallFailedEvent, call_failed_event,
        role: Some(tag::FAILING_DEVICE_ID), also: None, FromEvent(Lcs::Fail), creates: false),
    connection_event!(CallQueuedEvent, call_queued_event,
        role: None, also: None, FromEvent(Lcs::Queued), creates: false),
];

/// How a call leaves the table.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Removal {
    /// The server said so ([`Event::CallRemoved`]).
    Removed,
    /// The server no longer knows it after a reconnect ([`Event::CallLost`]).
    Lost,
}

/// Which record an event for a CallID is about.
enum Selected {
    /// This record.
    Found(usize),
    /// No record has the CallID.
    None,
    /// Records have the CallID, but the agent's connection named by the event is on another
    /// line than theirs: another call with the same CallID.
    NewLine,
}

/// A USHORT enumeration the phone keeps as its number (ConnectionDeviceType,
/// CalledPartyDisposition): read as it came, echoed back as it came.
fn ushort<T: FixedValue>(msg: &Message<'_>, field: Fixed<T>) -> Option<u16> {
    msg.get_number(field)
        .map(|n| u16::try_from(n).unwrap_or(u16::MAX))
}

/// The text of a STRING field's data, up to its NUL.
fn text(data: &[u8]) -> Option<&str> {
    let end = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    core::str::from_utf8(data.get(..end)?).ok()
}

fn number(data: &[u8]) -> Option<u32> {
    match data.len() {
        1..=4 => Some(data.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b))),
        _ => None,
    }
}

impl<const VAR_BYTES: usize> Call<VAR_BYTES> {
    pub(super) fn new(id: u32) -> Self {
        Call {
            id,
            call_type: CallType::NullCalltype,
            state: LocalConnectionState::None,
            device_type: 0,
            device_id: heapless::String::new(),
            line: super::Line::Primary,
            ani: heapless::String::new(),
            dnis: heapless::String::new(),
            dialed_number: heapless::String::new(),
            wrap_up: heapless::String::new(),
            disposition: 0,
            since: Instant::ZERO,
            held_since: None,
            vars: heapless::Vec::new(),
            stale: false,
            preview_answered: false,
            own_device: heapless::String::new(),
            answered: false,
            aliases: heapless::Vec::new(),
        }
    }

    /// The byte range of the `name\0value\0` pair called `name`.
    fn var_range(&self, name: &str) -> Option<(usize, usize)> {
        let mut start = 0;
        while start < self.vars.len() {
            let rest = self.vars.get(start..)?;
            let name_end = rest.iter().position(|b| *b == 0)?;
            let value_len = rest.get(name_end + 1..)?.iter().position(|b| *b == 0)?;
            let end = start + name_end + 1 + value_len + 1;
            if rest.get(..name_end) == Some(name.as_bytes()) {
                return Some((start, end));
            }
            start = end;
        }
        None
    }

    /// Set a named variable: replace the one with the same name, else append. `false` (and
    /// the old value kept) when it does not fit.
    pub(super) fn set_var(&mut self, name: &str, value: &str) -> bool {
        let needed = name.len() + value.len() + 2;
        let range = self.var_range(name);
        let freed = range.map_or(0, |(s, e)| e - s);
        if self.vars.len() - freed + needed > VAR_BYTES {
            return false;
        }
        if let Some((start, end)) = range {
            let len = self.vars.len();
            if let Some(bytes) = self.vars.get_mut(start..len) {
                // `min` lets the optimiser drop rotate_left's length assertion (no panic path).
                let mid = (end - start).min(bytes.len());
                bytes.rotate_left(mid);
            }
            self.vars.truncate(len - (end - start));
        }
        let parts: [&[u8]; 4] = [name.as_bytes(), &[0], value.as_bytes(), &[0]];
        parts
            .iter()
            .all(|part| self.vars.extend_from_slice(part).is_ok())
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
    /// Handle a call event; `false` when `msg` is not one.
    pub(super) fn on_call_event(&mut self, msg: &Message<'_>) -> bool {
        let ty = msg.message_type();
        if let Some(spec) = CONNECTION_EVENTS.iter().find(|e| e.message_type == ty) {
            self.on_connection_event(msg, spec);
            return true;
        }
        match ty {
            MessageType::BeginCallEvent => self.on_begin_call(msg),
            // Rule 7.3.2: clearing events for calls already gone are ignored silently.
            MessageType::EndCallEvent => {
                if let Some(id) = msg.get(fields::end_call_event::CONNECTION_CALL_ID) {
                    self.end_call(id);
                }
            }
            MessageType::CallClearedEvent => {
                if let Some(id) = msg.get(fields::call_cleared_event::CONNECTION_CALL_ID) {
                    self.remove_call(id, Removal::Removed);
                }
            }
            MessageType::CallConnectionClearedEvent => self.on_connection_cleared(msg),
            MessageType::CallDataUpdateEvent => self.on_data_update(msg),
            MessageType::CallTransferredEvent => {
                self.on_merge(msg, &super::conference::TRANSFERRED)
            }
            MessageType::CallConferencedEvent => {
                self.on_merge(msg, &super::conference::CONFERENCED)
            }
            MessageType::CallDivertedEvent => self.on_diverted(msg),
            // Informational (wire-calls.md §7.2).
            MessageType::CallDequeuedEvent | MessageType::CallReachedNetworkEvent => {}
            _ => return false,
        }
        true
    }

    /// The first record that answers to `id` (its CallID or an alias).
    pub(super) fn index_of(&self, id: u32) -> Option<usize> {
        self.calls.iter().position(|c| c.answers_to(id))
    }

    /// The record an event for `id` is about when several calls may share the CallID
    /// (<https://developer.cisco.com/docs/contact-center-express/call_established_event>):
    /// `own` is the event's device that is the agent's, if any. CALL_ESTABLISHED
    /// (`establishing`) goes to the call that has no destination connection yet; other events
    /// go to the call on the same line, else to one whose own connection is not known yet.
    fn select(&self, id: u32, own: Option<&str>, establishing: bool) -> Selected {
        let own_key = own.and_then(|d| self.line_key(d));
        let same_line =
            |c: &Call<VAR_BYTES>| own_key.is_some() && self.line_key(&c.own_device) == own_key;
        let candidates = || {
            self.calls
                .iter()
                .enumerate()
                .filter(move |(_, c)| c.answers_to(id))
        };
        let Some((first, _)) = candidates().next() else {
            return Selected::None;
        };
        if establishing {
            let mut open = candidates().filter(|(_, c)| !c.answered);
            if let Some((i, _)) = open.next() {
                if open.next().is_none() {
                    return Selected::Found(i);
                }
                let on_line = candidates().find(|(_, c)| !c.answered && same_line(c));
                return Selected::Found(on_line.map_or(i, |(i, _)| i));
            }
        }
        if own_key.is_none() {
            return Selected::Found(first);
        }
        if let Some((i, _)) = candidates().find(|(_, c)| same_line(c)) {
            return Selected::Found(i);
        }
        match candidates().find(|(_, c)| c.own_device.is_empty()) {
            Some((i, _)) => Selected::Found(i),
            None => Selected::NewLine,
        }
    }

    /// Record `device` as the agent's own device on the call at `index`, and its line.
    pub(super) fn set_own_device(&mut self, index: usize, device: &str) {
        let line = self.line_of(device);
        if let Some(call) = self.calls.get_mut(index) {
            set_text(&mut call.own_device, device);
            call.line = line;
        }
    }

    /// The device of `msg` that is the agent's: the event's own device field (`role`), else
    /// ConnectionDeviceID, else `also`.
    fn own_device_in<'m>(
        &self,
        msg: &Message<'m>,
        role: Option<u16>,
        also: Option<u16>,
    ) -> Option<&'m str> {
        [role, Some(tag::CONNECTION_DEVICE_ID), also]
            .into_iter()
            .flatten()
            .filter_map(|t| msg.string(t))
            .find(|d| self.is_my_device(d))
    }

    /// With no extension or instrument configured every event counts as the agent's.
    fn device_unconfigured(&self) -> bool {
        self.config.agent_extension.is_empty() && self.config.instrument().is_empty()
    }

    fn add_call(&mut self, mut call: Call<VAR_BYTES>) -> Option<usize> {
        let id = call.id;
        call.since = self.clock;
        if self.calls.push(call).is_err() {
            self.push_event(Event::CallTableFull { call: id });
            return None;
        }
        self.push_event(Event::CallAdded { call: id });
        Some(self.calls.len() - 1)
    }

    pub(super) fn set_call_state(&mut self, index: usize, state: LocalConnectionState) {
        let Some(call) = self.calls.get_mut(index) else {
            return;
        };
        call.answered |= matches!(state, Lcs::Connect | Lcs::Hold);
        if call.state != state {
            call.held_since = match state {
                Lcs::Hold => Some(self.clock),
                _ => None,
            };
            call.state = state;
            let id = call.id;
            self.push_event(Event::CallStateChanged { call: id, state });
        }
    }

    /// Remove every record that answers to `id`.
    pub(super) fn remove_call(&mut self, id: u32, how: Removal) {
        while let Some(index) = self.index_of(id) {
            self.remove_at(index, how);
        }
    }

    /// END_CALL_EVENT: the server's association with `id` is over. Under a conference's
    /// other CallID only that leg is gone; the conference call goes on.
    fn end_call(&mut self, id: u32) {
        let mut leg_only = false;
        for call in self.calls.iter_mut().filter(|c| c.id != id) {
            if let Some(i) = call.aliases.iter().position(|a| *a == id) {
                if i < call.aliases.len() {
                    call.aliases.swap_remove(i);
                }
                leg_only = true;
            }
        }
        if !leg_only {
            self.remove_call(id, Removal::Removed);
        }
    }

    pub(super) fn remove_at(&mut self, index: usize, how: Removal) {
        if index >= self.calls.len() {
            return;
        }
        let id = self.calls.remove(index).id;
        self.push_event(match how {
            Removal::Removed => Event::CallRemoved { call: id },
            Removal::Lost => Event::CallLost { call: id },
        });
        if self.preview == Some(id) {
            self.preview = None;
            self.push_event(Event::PreviewEnded { call: id });
        }
    }

    /// An agent holds one reservation at a time, so a new one means the answered ones are
    /// over even if the server never cleared them (the guide's samples clear a reservation
    /// under another CallID than the one offered); without this they would fill the table.
    fn retire_answered_reservations(&mut self, except: u32) {
        while let Some(id) = self
            .calls
            .iter()
            .find(|c| c.id != except && c.preview_answered && c.is_reservation())
            .map(|c| c.id)
        {
            self.remove_call(id, Removal::Removed);
        }
    }

    /// Calls from before a reconnect that the new session did not confirm.
    pub(super) fn drop_stale_calls(&mut self) {
        // By record: another call with the same CallID may have been confirmed.
        while let Some(index) = self.calls.iter().position(|c| c.stale) {
            self.remove_at(index, Removal::Lost);
        }
    }

    /// Offer the call as the pending preview when it is an unanswered reservation.
    pub(super) fn offer_preview(&mut self, index: usize) {
        let Some(call) = self.calls.get(index) else {
            return;
        };
        if self.preview.is_none() && call.is_reservation() && !call.preview_answered {
            let id = call.id;
            self.preview = Some(id);
            self.push_event(Event::PreviewOffered { call: id });
        }
    }

    /// The pending preview ends when its call's data says it is no longer a reservation.
    pub(super) fn recheck_preview(&mut self) {
        let Some(id) = self.preview else {
            return;
        };
        if !self.call(id).is_some_and(Call::is_reservation) {
            self.preview = None;
            self.push_event(Event::PreviewEnded { call: id });
        }
    }

    /// ANI, DNIS and named variables carried by `msg`; `true` when any was present.
    fn merge_data(&mut self, index: usize, msg: &Message<'_>) -> bool {
        let Some(call) = self.calls.get_mut(index) else {
            return false;
        };
        let mut changed = false;
        if let Some(ani) = msg.string(tag::ANI) {
            set_text(&mut call.ani, ani);
            changed = true;
        }
        if let Some(dnis) = msg.string(tag::DNIS) {
            set_text(&mut call.dnis, dnis);
            changed = true;
        }
        if let Some(dialed) = msg.string(tag::DIALED_NUMBER) {
            set_text(&mut call.dialed_number, dialed);
            changed = true;
        }
        if let Some(wrap_up) = msg.string(tag::CALL_WRAPUP_DATA) {
            set_text(&mut call.wrap_up, wrap_up);
            changed = true;
        }
        let mut full = false;
        for (name, tag) in CALL_VAR_NAMES.iter().zip(tag::CALL_VAR1..=tag::CALL_VAR10) {
            if let Some(value) = msg.string(tag) {
                changed = true;
                full |= !call.set_var(name, value);
            }
        }
        for var in msg.named_vars() {
            changed = true;
            let stored = match var.index {
                None => call.set_var(var.name, var.value),
                Some(i) => super::call::indexed_name(var.name, i)
                    .is_some_and(|name| call.set_var(&name, var.value)),
            };
            full |= !stored;
        }
        if full {
            let id = call.id;
            self.push_event(Event::VariableStorageFull { call: id });
        }
        changed
    }

    fn event_is_mine(&self, msg: &Message<'_>, role: Option<u16>, also: Option<u16>) -> bool {
        if self.device_unconfigured() {
            return true;
        }
        let named = |t: Option<u16>| t.and_then(|t| msg.string(t)).filter(|d| !d.is_empty());
        let primary = match named(role) {
            Some(device) => self.is_my_device(device),
            None => self.is_my_device(msg.string(tag::CONNECTION_DEVICE_ID).unwrap_or("")),
        };
        primary || named(also).is_some_and(|d| self.is_my_device(d))
    }

    fn on_connection_event(&mut self, msg: &Message<'_>, spec: &ConnectionEvent) {
        let Some(id) = msg.get(spec.call_id) else {
            return;
        };
        let connection_device = msg.string(tag::CONNECTION_DEVICE_ID).unwrap_or("");
        let device_type = ushort(msg, spec.device_type).unwrap_or(0);
        let own = self.own_device_in(msg, spec.role, spec.also_mine);
        let establishing = spec.message_type == MessageType::CallEstablishedEvent;
        let index = match self.select(id, own, establishing) {
            Selected::Found(index) => index,
            Selected::None | Selected::NewLine if spec.creates => {
                let mut call = Call::new(id);
                call.device_type = device_type;
                set_text(&mut call.device_id, connection_device);
                match self.add_call(call) {
                    Some(index) => index,
                    None => return,
                }
            }
            Selected::NewLine => match self.index_of(id) {
                Some(index) => index,
                None => return,
            },
            Selected::None => {
                self.push_event(Event::UnknownCall {
                    call: id,
                    message_type: spec.message_type.id(),
                });
                return;
            }
        };
        let mine = self.event_is_mine(msg, spec.role, spec.also_mine);
        let my_connection = self.is_my_device(connection_device);
        if let Some(call) = self.calls.get_mut(index) {
            call.stale = false;
            if mine && my_connection {
                call.device_type = device_type;
                set_text(&mut call.device_id, connection_device);
            }
        }
        // A call keeps its line: CALL_ESTABLISHED may reach a call by the rule for shared
        // CallIDs while naming the agent's device in another form.
        let keeps_line = |p: &Self, d: &str| {
            p.calls.get(index).is_some_and(|c| {
                !c.own_device.is_empty() && p.line_key(&c.own_device) != p.line_key(d)
            })
        };
        if let Some(device) = own.filter(|d| mine && !keeps_line(self, d)) {
            self.set_own_device(index, device);
        }
        if mine {
            let state = match spec.rule {
                Always(state) => state,
                FromEvent(fallback) => match msg.get(spec.state) {
                    None | Some(Lcs::None) => fallback,
                    Some(state) => state,
                },
            };
            self.set_call_state(index, state);
        }
        if self.merge_data(index, msg) {
            self.push_event(Event::CallDataChanged { call: id });
            // The data may have made the pending preview's call something else (BAStatus CO).
            self.recheck_preview();
        }
        if spec.message_type == MessageType::CallDeliveredEvent {
            self.offer_preview(index);
        }
    }

    fn on_begin_call(&mut self, msg: &Message<'_>) {
        use fields::begin_call_event as f;
        let Some(id) = msg.get(f::CONNECTION_CALL_ID) else {
            return;
        };
        let own = msg
            .string(tag::CONNECTION_DEVICE_ID)
            .filter(|d| self.is_my_device(d));
        let existing = match self.select(id, own, false) {
            Selected::Found(index) => Some(index),
            Selected::None | Selected::NewLine => None,
        };
        let created = existing.is_none();
        let reservation = msg.get(f::CALL_TYPE) == Some(CallType::Reservation)
            || msg.named_var("BAStatus") == Some("DO");
        if created && reservation {
            self.retire_answered_reservations(id);
        }
        let index = match existing {
            // Retiring reservations may have moved the record.
            Some(_) => match self.select(id, own, false) {
                Selected::Found(index) => index,
                _ => return,
            },
            None => match self.add_call(Call::new(id)) {
                Some(index) => index,
                None => return,
            },
        };
        if let Some(device) = own {
            self.set_own_device(index, device);
        }
        if let Some(call) = self.calls.get_mut(index) {
            call.stale = false;
            if let Some(call_type) = msg.get(f::CALL_TYPE) {
                call.call_type = call_type;
            }
            if let Some(disposition) = ushort(msg, f::CALLED_PARTY_DISPOSITION) {
                call.disposition = disposition;
            }
            if created || call.device_id.is_empty() {
                call.device_type = ushort(msg, f::CONNECTION_DEVICE_TYPE).unwrap_or(0);
                set_text(
                    &mut call.device_id,
                    msg.string(tag::CONNECTION_DEVICE_ID).unwrap_or(""),
                );
            }
        }
        if self.merge_data(index, msg) && !created {
            self.push_event(Event::CallDataChanged { call: id });
        }
        self.recheck_preview();
        self.offer_preview(index);
    }

    fn on_connection_cleared(&mut self, msg: &Message<'_>) {
        let Some(id) = msg.get(fields::call_connection_cleared_event::CONNECTION_CALL_ID) else {
            return;
        };
        if self.index_of(id).is_none() {
            return;
        }
        let connection = msg.string(tag::CONNECTION_DEVICE_ID).unwrap_or("");
        let releasing = msg.string(tag::RELEASING_DEVICE_ID).unwrap_or("");
        let mine = self.device_unconfigured()
            || self.is_my_device(connection)
            || (connection.is_empty() && self.is_my_device(releasing));
        // Another party leaving (a conference member) leaves the agent's call alone; the
        // agent's own connection ends the call on that line.
        if mine {
            let own = [connection, releasing]
                .into_iter()
                .find(|d| self.is_my_device(d));
            if let Selected::Found(index) = self.select(id, own, false) {
                self.remove_at(index, Removal::Removed);
            }
        }
    }

    fn on_diverted(&mut self, msg: &Message<'_>) {
        use fields::call_diverted_event as f;
        let Some(id) = msg.get(f::CONNECTION_CALL_ID) else {
            return;
        };
        let Some(index) = self.index_of(id) else {
            self.push_event(Event::UnknownCall {
                call: id,
                message_type: MessageType::CallDivertedEvent.id(),
            });
            return;
        };
        let connection = msg.string(tag::CONNECTION_DEVICE_ID).unwrap_or("");
        let diverting = msg
            .string(tag::DIVERTING_DEVICE_ID)
            .filter(|d| !d.is_empty())
            .unwrap_or(connection);
        let state = self.calls.get(index).map_or(Lcs::None, |c| c.state);
        let away_from_me = self.device_unconfigured() || self.is_my_device(diverting);
        if away_from_me && matches!(state, Lcs::Alerting | Lcs::None | Lcs::Null) {
            // The call rang here and went elsewhere: the agent's leg is gone.
            self.remove_call(id, Removal::Removed);
            return;
        }
        if let Some(call) = self.calls.get_mut(index) {
            call.stale = false;
        }
        if self.is_my_device(connection) {
            if let Some(state) = msg
                .get(f::LOCAL_CONNECTION_STATE)
                .filter(|s| *s != Lcs::None)
            {
                self.set_call_state(index, state);
            }
        }
    }

    fn on_data_update(&mut self, msg: &Message<'_>) {
        use fields::call_data_update_event as f;
        let Some(old) = msg.get(f::CONNECTION_CALL_ID) else {
            return;
        };
        let Some(index) = self.index_of(old) else {
            if !self.announce_conference(msg) {
                self.push_event(Event::UnknownCall {
                    call: old,
                    message_type: MessageType::CallDataUpdateEvent.id(),
                });
            }
            return;
        };
        if let Some(call) = self.calls.get_mut(index) {
            call.stale = false;
            if let Some(call_type) = msg
                .get(f::CALL_TYPE)
                .filter(|t| *t != CallType::NullCalltype)
            {
                call.call_type = call_type;
            }
            if let Some(disposition) = ushort(msg, f::CALLED_PARTY_DISPOSITION) {
                call.disposition = disposition;
            }
            let old_device = msg.string(tag::CONNECTION_DEVICE_ID).unwrap_or("");
            let new_device = msg.string(tag::NEW_CONNECTION_DEVICE_ID).unwrap_or("");
            if !new_device.is_empty() && new_device != old_device && call.device_id == old_device {
                set_text(&mut call.device_id, new_device);
                if let Some(t) = ushort(msg, f::NEW_CONNECTION_DEVICE_TYPE) {
                    call.device_type = t;
                }
            }
        }
        self.merge_data(index, msg);
        let new = msg.get(f::NEW_CONNECTION_CALL_ID).unwrap_or(old);
        let id = if new != old && new != NULL_CALL_ID {
            self.rekey(old, new);
            new
        } else {
            old
        };
        self.push_event(Event::CallDataChanged { call: id });
        self.recheck_preview();
    }

    /// The call `old` is now called `new`; a record already called `new` gives way.
    pub(super) fn rekey(&mut self, old: u32, new: u32) {
        while let Some(index) = self.calls.iter().position(|c| c.id == new) {
            self.remove_at(index, Removal::Removed);
        }
        for call in self.calls.iter_mut().filter(|c| c.id == old) {
            call.id = new;
        }
        if self.preview == Some(old) {
            self.preview = Some(new);
        }
        self.push_event(Event::CallRekeyed { old, new });
    }

    /// SNAPSHOT_DEVICE_CONF: the calls at the agent's device now. Records are groups of
    /// CallConnectionCallID, CallConnectionDeviceType, CallConnectionDeviceID, CallState; a
    /// record starts at each CallConnectionCallID.
    pub(super) fn apply_snapshot(&mut self, msg: &Message<'_>) {
        let mut record: Option<SnapshotRecord<'_>> = None;
        for field in msg.fields() {
            match field.tag {
                tag::CALL_CONNECTION_CALL_ID => {
                    if let Some(done) = record.take() {
                        self.apply_snapshot_record(&done);
                    }
                    record = number(field.data).map(|id| SnapshotRecord {
                        id,
                        device_type: None,
                        device: None,
                        state: None,
                    });
                }
                tag::CALL_CONNECTION_DEVICE_TYPE => {
                    if let Some(r) = record.as_mut() {
                        r.device_type = number(field.data).and_then(|n| u16::try_from(n).ok());
                    }
                }
                tag::CALL_CONNECTION_DEVICE_ID => {
                    if let Some(r) = record.as_mut() {
                        r.device = text(field.data);
                    }
                }
                tag::CALL_DEVICE_CONNECTION_STATE => {
                    if let Some(r) = record.as_mut() {
                        r.state = number(field.data)
                            .and_then(|n| u16::try_from(n).ok())
                            .map(Lcs::from_value);
                    }
                }
                _ => {}
            }
        }
        if let Some(done) = record {
            self.apply_snapshot_record(&done);
        }
        self.drop_stale_calls();
    }

    fn apply_snapshot_record(&mut self, record: &SnapshotRecord<'_>) {
        let own = record.device.filter(|d| self.is_my_device(d));
        let index = match self.select(record.id, own, false) {
            Selected::Found(index) => index,
            Selected::None | Selected::NewLine => match self.add_call(Call::new(record.id)) {
                Some(index) => index,
                None => return,
            },
        };
        if let Some(call) = self.calls.get_mut(index) {
            call.stale = false;
            if let Some(t) = record.device_type {
                call.device_type = t;
            }
            if let Some(device) = record.device.filter(|d| !d.is_empty()) {
                set_text(&mut call.device_id, device);
            }
        }
        if let Some(device) = record.device.filter(|d| self.is_my_device(d)) {
            self.set_own_device(index, device);
        }
        if let Some(state) = record.state {
            self.set_call_state(index, state);
        }
    }
}

/// One call of a SNAPSHOT_DEVICE_CONF.
struct SnapshotRecord<'m> {
    id: u32,
    device_type: Option<u16>,
    device: Option<&'m str>,
    state: Option<LocalConnectionState>,
}
