//! The call table: what call events do to the agent's calls (wire-calls.md §3, §7), their
//! named variables, the outbound preview reservation, and the snapshot after a reconnect.

use core::fmt::Write as _;

use super::{Call, Event, Phone};
use crate::wire::{
    fields, tag, CallType, ConnectionDeviceType, Fixed, LocalConnectionState, Message, MessageType,
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

/// CALL_TRANSFERRED_EVENT / CALL_CONFERENCED_EVENT: two calls become one.
struct MergeEvent {
    primary: Fixed<u32>,
    secondary: Fixed<u32>,
    state: Fixed<LocalConnectionState>,
}

const TRANSFERRED: MergeEvent = MergeEvent {
    primary: fields::call_transferred_event::PRIMARY_CALL_ID,
    secondary: fields::call_transferred_event::SECONDARY_CALL_ID,
    state: fields::call_transferred_event::LOCAL_CONNECTION_STATE,
};
const CONFERENCED: MergeEvent = MergeEvent {
    primary: fields::call_conferenced_event::PRIMARY_CALL_ID,
    secondary: fields::call_conferenced_event::SECONDARY_CALL_ID,
    state: fields::call_conferenced_event::LOCAL_CONNECTION_STATE,
};

/// How a call leaves the table.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Removal {
    /// The server said so ([`Event::CallRemoved`]).
    Removed,
    /// The server no longer knows it after a reconnect ([`Event::CallLost`]).
    Lost,
}

/// Copy `src` into `dst`, keeping the longest prefix that fits on a character boundary.
fn set_text<const N: usize>(dst: &mut heapless::String<N>, src: &str) {
    dst.clear();
    for ch in src.chars() {
        if dst.push(ch).is_err() {
            break;
        }
    }
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
            ani: heapless::String::new(),
            dnis: heapless::String::new(),
            disposition: 0,
            vars: heapless::Vec::new(),
            stale: false,
            preview_answered: false,
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
    > Phone<CALLS, VAR_BYTES, PENDING, TX, EVENTS>
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
                    self.remove_call(id, Removal::Removed);
                }
            }
            MessageType::CallClearedEvent => {
                if let Some(id) = msg.get(fields::call_cleared_event::CONNECTION_CALL_ID) {
                    self.remove_call(id, Removal::Removed);
                }
            }
            MessageType::CallConnectionClearedEvent => self.on_connection_cleared(msg),
            MessageType::CallDataUpdateEvent => self.on_data_update(msg),
            MessageType::CallTransferredEvent => self.on_merge(msg, &TRANSFERRED),
            MessageType::CallConferencedEvent => self.on_merge(msg, &CONFERENCED),
            MessageType::CallDivertedEvent => self.on_diverted(msg),
            // Informational (wire-calls.md §7.2).
            MessageType::CallDequeuedEvent | MessageType::CallReachedNetworkEvent => {}
            _ => return false,
        }
        true
    }

    fn index_of(&self, id: u32) -> Option<usize> {
        self.calls.iter().position(|c| c.id == id)
    }

    /// Whether `device` is the agent's extension or instrument.
    fn is_my_device(&self, device: &str) -> bool {
        !device.is_empty()
            && (device == self.config.agent_extension.as_str()
                || device == self.config.instrument())
    }

    /// With no extension or instrument configured every event counts as the agent's.
    fn device_unconfigured(&self) -> bool {
        self.config.agent_extension.is_empty() && self.config.instrument().is_empty()
    }

    fn add_call(&mut self, call: Call<VAR_BYTES>) -> Option<usize> {
        let id = call.id;
        if self.calls.push(call).is_err() {
            self.push_event(Event::CallTableFull { call: id });
            return None;
        }
        self.push_event(Event::CallAdded { call: id });
        Some(self.calls.len() - 1)
    }

    fn set_call_state(&mut self, index: usize, state: LocalConnectionState) {
        let Some(call) = self.calls.get_mut(index) else {
            return;
        };
        if call.state != state {
            call.state = state;
            let id = call.id;
            self.push_event(Event::CallStateChanged { call: id, state });
        }
    }

    fn remove_call(&mut self, id: u32, how: Removal) {
        let Some(index) = self.index_of(id) else {
            return;
        };
        if index < self.calls.len() {
            self.calls.remove(index);
        }
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
        while let Some(id) = self.calls.iter().find(|c| c.stale).map(|c| c.id) {
            self.remove_call(id, Removal::Lost);
        }
    }

    /// Offer the call as the pending preview when it is an unanswered reservation.
    fn offer_preview(&mut self, index: usize) {
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
    fn recheck_preview(&mut self) {
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
        let mut full = false;
        for var in msg.named_vars() {
            changed = true;
            let stored = match var.index {
                None => call.set_var(var.name, var.value),
                Some(i) => {
                    let mut name: heapless::String<48> = heapless::String::new();
                    write!(name, "{}[{i}]", var.name).is_ok() && call.set_var(&name, var.value)
                }
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
        let device_type = msg.get(spec.device_type).map_or(0, |t| t.value());
        let index = match self.index_of(id) {
            Some(index) => index,
            None if spec.creates => {
                let mut call = Call::new(id);
                call.device_type = device_type;
                set_text(&mut call.device_id, connection_device);
                match self.add_call(call) {
                    Some(index) => index,
                    None => return,
                }
            }
            None => {
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
        let created = self.index_of(id).is_none();
        let reservation = msg.get(f::CALL_TYPE) == Some(CallType::Reservation)
            || msg.named_var("BAStatus") == Some("DO");
        if created && reservation {
            self.retire_answered_reservations(id);
        }
        let index = match self.index_of(id) {
            Some(index) => index,
            None => match self.add_call(Call::new(id)) {
                Some(index) => index,
                None => return,
            },
        };
        if let Some(call) = self.calls.get_mut(index) {
            call.stale = false;
            if let Some(call_type) = msg.get(f::CALL_TYPE) {
                call.call_type = call_type;
            }
            if let Some(disposition) = msg.get(f::CALLED_PARTY_DISPOSITION) {
                call.disposition = disposition.value();
            }
            if created || call.device_id.is_empty() {
                call.device_type = msg.get(f::CONNECTION_DEVICE_TYPE).map_or(0, |t| t.value());
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
        // Another party leaving (a conference member) leaves the agent's call alone.
        if mine {
            self.remove_call(id, Removal::Removed);
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
            self.push_event(Event::UnknownCall {
                call: old,
                message_type: MessageType::CallDataUpdateEvent.id(),
            });
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
            if let Some(disposition) = msg.get(f::CALLED_PARTY_DISPOSITION) {
                call.disposition = disposition.value();
            }
            let old_device = msg.string(tag::CONNECTION_DEVICE_ID).unwrap_or("");
            let new_device = msg.string(tag::NEW_CONNECTION_DEVICE_ID).unwrap_or("");
            if !new_device.is_empty() && new_device != old_device && call.device_id == old_device {
                set_text(&mut call.device_id, new_device);
                if let Some(t) = msg.get(f::NEW_CONNECTION_DEVICE_TYPE) {
                    call.device_type = t.value();
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
    fn rekey(&mut self, old: u32, new: u32) {
        if self.index_of(new).is_some() {
            self.remove_call(new, Removal::Removed);
        }
        if let Some(call) = self.calls.iter_mut().find(|c| c.id == old) {
            call.id = new;
        }
        if self.preview == Some(old) {
            self.preview = Some(new);
        }
        self.push_event(Event::CallRekeyed { old, new });
    }

    fn on_merge(&mut self, msg: &Message<'_>, spec: &MergeEvent) {
        let (Some(primary), Some(secondary)) = (msg.get(spec.primary), msg.get(spec.secondary))
        else {
            return;
        };
        let primary_known = self.index_of(primary).is_some();
        let secondary_index = (secondary != primary && secondary != NULL_CALL_ID)
            .then(|| self.index_of(secondary))
            .flatten();
        match (primary_known, secondary_index) {
            (false, None) => {
                self.push_event(Event::UnknownCall {
                    call: primary,
                    message_type: msg.message_type().id(),
                });
                return;
            }
            (false, Some(_)) => self.rekey(secondary, primary),
            (true, Some(index)) => {
                if index < self.calls.len() {
                    let merged = self.calls.remove(index);
                    self.merge_into(primary, &merged);
                    self.push_event(Event::CallRemoved { call: secondary });
                    if self.preview == Some(secondary) {
                        self.preview = None;
                        self.push_event(Event::PreviewEnded { call: secondary });
                    }
                }
            }
            (true, None) => {}
        }
        let Some(index) = self.index_of(primary) else {
            return;
        };
        if let Some(call) = self.calls.get_mut(index) {
            call.stale = false;
        }
        if let Some(state) = msg.get(spec.state).filter(|s| *s != Lcs::None) {
            self.set_call_state(index, state);
        }
        self.push_event(Event::CallDataChanged { call: primary });
        self.recheck_preview();
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
        let index = match self.index_of(record.id) {
            Some(index) => index,
            None => match self.add_call(Call::new(record.id)) {
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
