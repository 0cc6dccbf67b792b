//! What each key does in each mode.

use crate::config::ReasonKind;
use crate::phone::{AgentReason, Command, Instant, OwnedCommand, PhoneView};

use super::actions::{home_softkeys, valid, Action, Soft, Why};
use super::{Key, ListKind, Mode, PadKind, Reaction, ReasonList, Screen, ANSWERS, RECLASSIFY};

/// Digits of a callback: `MMDDYYYYHHMM`.
const CALLBACK_DIGITS: usize = 12;

impl Screen {
    /// The four softkey labels now.
    pub fn softkeys<const V: usize>(
        &self,
        view: &PhoneView<'_, V>,
        lists: &dyn ReasonList,
    ) -> [&'static str; 4] {
        match &self.mode {
            Mode::Home => home_softkeys(view, lists).map(Soft::label),
            Mode::List { .. } => ["Select", "Up", "Down", "Back"],
            Mode::Pad { pad, .. } => [pad_send_label(*pad), "Delete", "", "Back"],
        }
    }

    /// A key press: what the screen does, and the command to give the phone, if any.
    pub fn key<const V: usize>(
        &mut self,
        view: &PhoneView<'_, V>,
        lists: &dyn ReasonList,
        key: Key,
        now: Instant,
    ) -> Reaction {
        match self.mode.clone() {
            Mode::Home => self.home_key(view, lists, key, now),
            Mode::List { list, cursor, .. } => self.list_key(view, lists, list, cursor, key, now),
            Mode::Pad { pad, text } => self.pad_key(view, lists, pad, text, key, now),
        }
    }

    fn home_key<const V: usize>(
        &mut self,
        view: &PhoneView<'_, V>,
        lists: &dyn ReasonList,
        key: Key,
        now: Instant,
    ) -> Reaction {
        match key {
            Key::Soft(_) | Key::Select => {
                let index = match key {
                    Key::Soft(i) => usize::from(i),
                    _ => 0,
                };
                match home_softkeys(view, lists).get(index) {
                    Some(Soft::Do(action)) => self.perform(view, lists, *action, now),
                    Some(Soft::More) => self.open_list(ListKind::Actions),
                    _ => self.refuse(now, Why::Nothing),
                }
            }
            Key::Up | Key::Down => self.refuse(now, Why::Nothing),
            Key::Back => {
                self.message.clear();
                Reaction::None
            }
            Key::Digit(d) => {
                let pad = if Action::Dtmf.check(view, lists).is_ok() {
                    Action::Dtmf
                } else {
                    Action::Dial
                };
                match pad.check(view, lists) {
                    Ok(()) => {
                        self.open_pad(if pad == Action::Dtmf {
                            PadKind::Dtmf
                        } else {
                            PadKind::Dial
                        });
                        self.type_digit(d, now)
                    }
                    Err(why) => self.refuse_action(now, pad, why),
                }
            }
            Key::Hook => self.hook(view, lists, now),
        }
    }

    fn hook<const V: usize>(
        &mut self,
        view: &PhoneView<'_, V>,
        lists: &dyn ReasonList,
        now: Instant,
    ) -> Reaction {
        self.mode = Mode::Home;
        for action in [Action::Answer, Action::Release, Action::Dial] {
            if action.check(view, lists).is_ok() {
                return self.perform(view, lists, action, now);
            }
        }
        self.say(now, format_args!("Hook: no call to answer or end"));
        Reaction::None
    }

    /// Do what an action's label says, or say why not.
    pub(super) fn perform<const V: usize>(
        &mut self,
        view: &PhoneView<'_, V>,
        lists: &dyn ReasonList,
        action: Action,
        now: Instant,
    ) -> Reaction {
        if let Err(why) = action.check(view, lists) {
            return self.refuse_action(now, action, why);
        }
        self.mode = Mode::Home;
        let command = match action {
            Action::Login => Command::Login { password: None },
            Action::Ready => Command::Ready,
            Action::Answer => Command::Answer { call: None },
            Action::Release => Command::Release { call: None },
            Action::Hold => Command::Hold { call: None },
            Action::Retrieve => Command::Retrieve { call: None },
            Action::Transfer => Command::Transfer,
            Action::Conference => Command::Conference,
            Action::Close => Command::Close,
            Action::Preview(answer) => Command::Preview(answer),
            Action::NotReady => return self.open_list(ListKind::NotReady),
            Action::Logout => return self.open_list(ListKind::Logout),
            Action::WrapUp => return self.open_list(ListKind::WrapUp),
            Action::Reclassify => return self.open_list(ListKind::Reclassify),
            Action::PreviewAll => return self.open_list(ListKind::PreviewAnswers),
            Action::Dial => return self.open_pad(PadKind::Dial),
            Action::Consult => return self.open_pad(PadKind::Consult),
            Action::Dtmf => return self.open_pad(PadKind::Dtmf),
            Action::Callback => return self.open_pad(PadKind::Callback),
        };
        self.send(command, now)
    }

    fn send(&mut self, command: Command<'_>, now: Instant) -> Reaction {
        match OwnedCommand::try_from(command) {
            Ok(owned) => Reaction::Send(owned),
            Err(_) => {
                self.say(now, format_args!("Cannot: the entry is too long"));
                Reaction::None
            }
        }
    }

    fn refuse(&mut self, now: Instant, why: Why) -> Reaction {
        self.say(now, format_args!("{}", Sentence(why.words())));
        Reaction::None
    }

    fn refuse_action(&mut self, now: Instant, action: Action, why: Why) -> Reaction {
        self.say(now, format_args!("{}: {}", action.label(), why.words()));
        Reaction::None
    }

    fn open_list(&mut self, list: ListKind) -> Reaction {
        self.mode = Mode::List {
            list,
            cursor: 0,
            top: 0,
        };
        Reaction::None
    }

    fn open_pad(&mut self, pad: PadKind) -> Reaction {
        self.mode = Mode::Pad {
            pad,
            text: heapless::String::new(),
        };
        Reaction::None
    }

    /// Entries in a list now.
    pub fn list_len<const V: usize>(
        &self,
        view: &PhoneView<'_, V>,
        lists: &dyn ReasonList,
        list: ListKind,
    ) -> usize {
        match list {
            // The first entry is "no reason".
            ListKind::NotReady => lists.reason_count(ReasonKind::NotReady).saturating_add(1),
            ListKind::Logout => lists.reason_count(ReasonKind::Logout).saturating_add(1),
            ListKind::WrapUp => lists.reason_count(ReasonKind::WrapUp),
            ListKind::Reclassify => RECLASSIFY.len(),
            ListKind::PreviewAnswers => ANSWERS.len(),
            ListKind::Actions => valid(view, lists).count(),
        }
    }

    fn list_key<const V: usize>(
        &mut self,
        view: &PhoneView<'_, V>,
        lists: &dyn ReasonList,
        list: ListKind,
        cursor: usize,
        key: Key,
        now: Instant,
    ) -> Reaction {
        let len = self.list_len(view, lists, list);
        match key {
            Key::Up | Key::Soft(1) => {
                self.move_cursor(cursor.saturating_sub(1), len);
                Reaction::None
            }
            Key::Down | Key::Soft(2) => {
                self.move_cursor(cursor.saturating_add(1), len);
                Reaction::None
            }
            Key::Back | Key::Soft(3) => {
                self.mode = Mode::Home;
                Reaction::None
            }
            Key::Select | Key::Soft(0) => self.choose(view, lists, list, cursor, now),
            Key::Hook => self.hook(view, lists, now),
            Key::Soft(_) | Key::Digit(_) => {
                self.say(now, format_args!("Up/Down to move, Select to choose"));
                Reaction::None
            }
        }
    }

    fn move_cursor(&mut self, to: usize, len: usize) {
        let visible = self.rows.saturating_sub(1).max(1);
        if let Mode::List { cursor, top, .. } = &mut self.mode {
            *cursor = to.min(len.saturating_sub(1));
            if *cursor < *top {
                *top = *cursor;
            } else if *cursor >= top.saturating_add(visible) {
                *top = cursor.saturating_add(1).saturating_sub(visible);
            }
        }
    }

    fn choose<const V: usize>(
        &mut self,
        view: &PhoneView<'_, V>,
        lists: &dyn ReasonList,
        list: ListKind,
        cursor: usize,
        now: Instant,
    ) -> Reaction {
        let reason = |kind| match cursor.checked_sub(1) {
            None => Some(AgentReason::None),
            Some(i) => lists
                .reason_at(kind, i)
                .map(|(code, _)| AgentReason::from_code(code)),
        };
        let (action, command) = match list {
            ListKind::Actions => {
                return match valid(view, lists).nth(cursor) {
                    Some(action) => self.perform(view, lists, action, now),
                    None => self.refuse(now, Why::Nothing),
                }
            }
            ListKind::NotReady => (
                Action::NotReady,
                reason(ReasonKind::NotReady).map(|reason| Command::NotReady { reason }),
            ),
            ListKind::Logout => (
                Action::Logout,
                reason(ReasonKind::Logout).map(|reason| Command::Logout { reason }),
            ),
            ListKind::WrapUp => (
                Action::WrapUp,
                lists
                    .reason_at(ReasonKind::WrapUp, cursor)
                    .map(|(_, label)| Command::SetVar {
                        name: super::WRAP_UP_VAR,
                        value: label,
                        call: None,
                    }),
            ),
            ListKind::Reclassify => (
                Action::Reclassify,
                RECLASSIFY
                    .get(cursor)
                    .map(|(value, _)| Command::Reclassify { value }),
            ),
            ListKind::PreviewAnswers => (
                Action::PreviewAll,
                ANSWERS.get(cursor).map(|a| Command::Preview(*a)),
            ),
        };
        if let Err(why) = action.check(view, lists) {
            self.mode = Mode::Home;
            return self.refuse_action(now, action, why);
        }
        self.mode = Mode::Home;
        match command {
            Some(command) => self.send(command, now),
            None => self.refuse(now, Why::Nothing),
        }
    }

    fn type_digit(&mut self, digit: u8, now: Instant) -> Reaction {
        let ok = matches!(digit, b'0'..=b'9' | b'*' | b'#');
        if let Mode::Pad { pad, text } = &mut self.mode {
            let fits = match pad {
                PadKind::Callback => digit.is_ascii_digit() && text.len() < CALLBACK_DIGITS,
                // A keyboard (the terminal phone) types letters too.
                PadKind::Password => digit.is_ascii_graphic(),
                PadKind::Dial | PadKind::Consult | PadKind::Dtmf => ok,
            };
            if fits && text.push(char::from(digit)).is_ok() {
                return Reaction::None;
            }
        }
        self.say(now, format_args!("That key does not fit here"));
        Reaction::None
    }

    fn pad_key<const V: usize>(
        &mut self,
        view: &PhoneView<'_, V>,
        lists: &dyn ReasonList,
        pad: PadKind,
        text: heapless::String<{ super::ENTRY_BYTES }>,
        key: Key,
        now: Instant,
    ) -> Reaction {
        match key {
            Key::Digit(d) => self.type_digit(d, now),
            Key::Soft(1) => {
                if let Mode::Pad { text, .. } = &mut self.mode {
                    let _ = text.pop();
                }
                Reaction::None
            }
            Key::Back | Key::Soft(3) => {
                self.mode = Mode::Home;
                Reaction::None
            }
            Key::Soft(0) | Key::Select => self.pad_send(view, lists, pad, &text, now),
            Key::Hook if pad == PadKind::Dial => self.pad_send(view, lists, pad, &text, now),
            Key::Hook => self.hook(view, lists, now),
            Key::Soft(_) | Key::Up | Key::Down => self.refuse(now, Why::Nothing),
        }
    }

    fn pad_send<const V: usize>(
        &mut self,
        view: &PhoneView<'_, V>,
        lists: &dyn ReasonList,
        pad: PadKind,
        text: &str,
        now: Instant,
    ) -> Reaction {
        if text.is_empty() {
            self.say(now, format_args!("Type the digits first"));
            return Reaction::None;
        }
        let action = match pad {
            PadKind::Dial => Action::Dial,
            PadKind::Consult => Action::Consult,
            PadKind::Dtmf => Action::Dtmf,
            PadKind::Callback => Action::Callback,
            PadKind::Password => Action::Login,
        };
        if let Err(why) = action.check(view, lists) {
            self.mode = Mode::Home;
            return self.refuse_action(now, action, why);
        }
        let mut time = heapless::String::<5>::new();
        let command = match pad {
            PadKind::Dial => Command::Dial { number: text },
            PadKind::Consult => Command::Consult { number: text },
            PadKind::Dtmf => Command::Dtmf { digits: text },
            PadKind::Password => Command::Login {
                password: Some(text),
            },
            PadKind::Callback => {
                let (Some(date), Some(hh), Some(mm)) =
                    (text.get(..8), text.get(8..10), text.get(10..12))
                else {
                    self.say(now, format_args!("Callback: type MMDDYYYY then HHMM"));
                    return Reaction::None;
                };
                for part in [hh, ":", mm] {
                    let _ = time.push_str(part);
                }
                Command::Callback { date, time: &time }
            }
        };
        let reaction = self.send(command, now);
        self.mode = Mode::Home;
        reaction
    }
}

/// The label of a pad's send key.
fn pad_send_label(pad: PadKind) -> &'static str {
    match pad {
        PadKind::Dial | PadKind::Consult => "Call",
        PadKind::Dtmf => "Send",
        PadKind::Callback => "Set",
        PadKind::Password => "Login",
    }
}

/// Words starting with a capital.
struct Sentence(&'static str);

impl core::fmt::Display for Sentence {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        super::Capital(self.0).fmt(f)
    }
}
