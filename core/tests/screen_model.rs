//! The agent's screen model (`ui::Screen`) as a state machine: in every situation every key
//! does what its softkey label says or the message line says why not; long reason lists
//! scroll and select; refusals and session changes read as plain words.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod phone_support;

use ccx_cti::config::{ReasonKind, Vocabulary};
use ccx_cti::phone::{CommandKind, Event, Instant, PreviewAnswer, SessionEndReason};
use ccx_cti::ui::{Action, Key, ListKind, Mode, PadKind, Reaction, Screen};
use ccx_cti::wire::MessageType;
use phone_support::*;

type Vocab = Vocabulary<800>;

fn vocabulary(n: u16) -> Vocab {
    let mut v = Vocab::new();
    for i in 1..=n {
        v.add(ReasonKind::NotReady, i, &format!("Reason {i}"))
            .unwrap();
        v.add(ReasonKind::WrapUp, i, &format!("Outcome {i}"))
            .unwrap();
    }
    v.add(ReasonKind::Logout, 7, "End of shift").unwrap();
    v
}

/// Situations the agent meets, each a freshly opened phone.
fn situations() -> Vec<(&'static str, Harness)> {
    let mut out = Vec::new();
    let mut h = Harness::new(config());
    h.open(1); // LOGOUT
    out.push(("logged out", h));
    let mut h = Harness::new(config());
    h.open(NOT_READY);
    out.push(("not ready", h));
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    out.push(("ready", h));
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    h.feed(&begin_call(
        10,
        CALLTYPE_RESERVATION,
        &[("BAStatus", "DO"), ("BABuddyName", "John,Doe")],
    ));
    h.feed(&call_event(
        MessageType::CallDeliveredEvent,
        10,
        LCS_ALERTING,
        "4020",
    ));
    out.push(("preview offered", h));
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    h.feed(&begin_call(5, CALLTYPE_ACD_IN, &[]));
    h.feed(&call_event(
        MessageType::CallDeliveredEvent,
        5,
        LCS_ALERTING,
        "4020",
    ));
    out.push(("ringing", h));
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    h.feed(&begin_call(5, CALLTYPE_ACD_IN, &[]));
    h.feed(&call_event(
        MessageType::CallEstablishedEvent,
        5,
        LCS_CONNECT,
        "4020",
    ));
    out.push(("talking", h));
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    h.feed(&begin_call(5, CALLTYPE_ACD_IN, &[("BAStatus", "CO")]));
    h.feed(&call_event(
        MessageType::CallEstablishedEvent,
        5,
        LCS_CONNECT,
        "4020",
    ));
    out.push(("outbound customer call", h));
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    h.feed(&begin_call(5, CALLTYPE_ACD_IN, &[]));
    h.feed(&call_event(
        MessageType::CallEstablishedEvent,
        5,
        LCS_CONNECT,
        "4020",
    ));
    h.feed(&call_event(MessageType::CallHeldEvent, 5, LCS_HOLD, "4020"));
    out.push(("held", h));
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    h.feed(&begin_call(5, CALLTYPE_ACD_IN, &[]));
    h.feed(&call_event(
        MessageType::CallEstablishedEvent,
        5,
        LCS_CONNECT,
        "4020",
    ));
    h.feed(&call_event(MessageType::CallHeldEvent, 5, LCS_HOLD, "4020"));
    h.feed(&begin_call(6, 2, &[]));
    h.feed(&call_event(
        MessageType::CallEstablishedEvent,
        6,
        LCS_CONNECT,
        "4020",
    ));
    out.push(("held and consulting", h));
    let mut h = Harness::new(config());
    h.open(5); // WORK_NOT_READY
    out.push(("wrap-up", h));
    let h = Harness::new(config());
    out.push(("offline", h));
    for (_, h) in &mut out {
        h.events();
    }
    out
}

const NOW: Instant = Instant::from_secs(100);

/// Every softkey in every situation: a labelled key sends the labelled command (and the
/// phone takes it) or opens the labelled list or pad; a blank key says why not.
#[test]
fn every_softkey_does_what_its_label_says() {
    let vocab = vocabulary(3);
    for index in 0..situations().len() {
        for i in 0..4u8 {
            let (name, mut h2) = situations().swap_remove(index);
            let view = h2.phone.view_with(&vocab);
            let mut screen = Screen::new(6);
            let label = screen.softkeys(&view, &vocab)[usize::from(i)];
            let reaction = screen.key(&view, &vocab, Key::Soft(i), NOW);
            let ctx = format!(
                "{name}: softkey {i} `{label}` -> {reaction:?}, {:?}",
                screen.mode()
            );
            if label.is_empty() {
                assert_eq!(reaction, Reaction::None, "{ctx}");
                assert!(!screen.message().is_empty(), "a blank key says why: {ctx}");
                continue;
            }
            if label == "More" {
                assert!(
                    matches!(
                        screen.mode(),
                        Mode::List {
                            list: ListKind::Actions,
                            ..
                        }
                    ),
                    "{ctx}"
                );
                continue;
            }
            let action = ALL_ACTIONS
                .iter()
                .copied()
                .find(|a| a.label() == label)
                .unwrap_or_else(|| panic!("no action labelled `{label}`: {ctx}"));
            match expected(action) {
                Expect::Sends(kind) => {
                    let Reaction::Send(cmd) = reaction else {
                        panic!("{ctx}")
                    };
                    assert_eq!(CommandKind::of(&cmd.as_command()), kind, "{ctx}");
                    if let ccx_cti::phone::Command::Preview(a) = cmd.as_command() {
                        assert_eq!(Action::Preview(a), action, "{ctx}");
                    }
                    h2.phone
                        .command(h2.now, cmd.as_command())
                        .unwrap_or_else(|e| panic!("{ctx}: phone refused: {e}"));
                }
                Expect::Opens(mode) => {
                    assert_eq!(reaction, Reaction::None, "{ctx}");
                    assert!(mode(screen.mode()), "{ctx}");
                }
            }
        }
    }
}

/// The keys besides the softkeys never do nothing silently.
#[test]
fn every_other_key_acts_or_says_why_not() {
    let vocab = vocabulary(3);
    let keys = [
        Key::Up,
        Key::Down,
        Key::Select,
        Key::Digit(b'5'),
        Key::Hook,
        Key::Back,
    ];
    for index in 0..situations().len() {
        for key in keys {
            let (name, mut h2) = situations().swap_remove(index);
            let view = h2.phone.view_with(&vocab);
            let mut screen = Screen::new(6);
            screen.say(Instant::ZERO, format_args!("old"));
            let before = screen.frame(&view, &vocab, NOW);
            let reaction = screen.key(&view, &vocab, key, NOW);
            let after = screen.frame(&view, &vocab, NOW);
            let ctx = format!("{name}: {key:?} -> {reaction:?}, {:?}", screen.mode());
            match reaction {
                Reaction::Send(cmd) => {
                    h2.phone
                        .command(h2.now, cmd.as_command())
                        .unwrap_or_else(|e| panic!("{ctx}: {e}"));
                }
                Reaction::None => assert_ne!(before, after, "{ctx}: nothing changed"),
            }
        }
    }
}

enum Expect {
    Sends(CommandKind),
    Opens(fn(&Mode) -> bool),
}

fn expected(action: Action) -> Expect {
    let list = |l: ListKind| -> fn(&Mode) -> bool {
        match l {
            ListKind::NotReady => |m| {
                matches!(
                    m,
                    Mode::List {
                        list: ListKind::NotReady,
                        ..
                    }
                )
            },
            ListKind::Logout => |m| {
                matches!(
                    m,
                    Mode::List {
                        list: ListKind::Logout,
                        ..
                    }
                )
            },
            ListKind::WrapUp => |m| {
                matches!(
                    m,
                    Mode::List {
                        list: ListKind::WrapUp,
                        ..
                    }
                )
            },
            ListKind::Reclassify => |m| {
                matches!(
                    m,
                    Mode::List {
                        list: ListKind::Reclassify,
                        ..
                    }
                )
            },
            ListKind::PreviewAnswers => |m| {
                matches!(
                    m,
                    Mode::List {
                        list: ListKind::PreviewAnswers,
                        ..
                    }
                )
            },
            ListKind::Actions => |m| {
                matches!(
                    m,
                    Mode::List {
                        list: ListKind::Actions,
                        ..
                    }
                )
            },
        }
    };
    match action {
        Action::NotReady => Expect::Opens(list(ListKind::NotReady)),
        Action::Logout => Expect::Opens(list(ListKind::Logout)),
        Action::WrapUp => Expect::Opens(list(ListKind::WrapUp)),
        Action::Reclassify => Expect::Opens(list(ListKind::Reclassify)),
        Action::PreviewAll => Expect::Opens(list(ListKind::PreviewAnswers)),
        Action::Dial => Expect::Opens(|m| {
            matches!(
                m,
                Mode::Pad {
                    pad: PadKind::Dial,
                    ..
                }
            )
        }),
        Action::Consult => Expect::Opens(|m| {
            matches!(
                m,
                Mode::Pad {
                    pad: PadKind::Consult,
                    ..
                }
            )
        }),
        Action::Dtmf => Expect::Opens(|m| {
            matches!(
                m,
                Mode::Pad {
                    pad: PadKind::Dtmf,
                    ..
                }
            )
        }),
        Action::Callback => Expect::Opens(|m| {
            matches!(
                m,
                Mode::Pad {
                    pad: PadKind::Callback,
                    ..
                }
            )
        }),
        other => Expect::Sends(other.kind()),
    }
}

const ALL_ACTIONS: [Action; 21] = [
    Action::Login,
    Action::Ready,
    Action::NotReady,
    Action::Logout,
    Action::Answer,
    Action::Release,
    Action::Hold,
    Action::Retrieve,
    Action::Transfer,
    Action::Conference,
    Action::Dial,
    Action::Consult,
    Action::Dtmf,
    Action::Reclassify,
    Action::Callback,
    Action::WrapUp,
    Action::Preview(PreviewAnswer::Accept),
    Action::Preview(PreviewAnswer::Skip),
    Action::Preview(PreviewAnswer::Reject),
    Action::PreviewAll,
    Action::Close,
];

/// 250 Not Ready reasons: the cursor reaches the last, the window scrolls with it, and the
/// last one is sent with its own code; going back up scrolls back.
#[test]
fn a_list_of_250_reasons_scrolls_and_selects() {
    let vocab = vocabulary(250);
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    let view = h.phone.view_with(&vocab);
    let mut screen = Screen::new(8);
    assert_eq!(screen.key(&view, &vocab, Key::Soft(0), NOW), Reaction::None);
    assert!(matches!(
        screen.mode(),
        Mode::List {
            list: ListKind::NotReady,
            ..
        }
    ));
    // Entry 0 is "no reason"; 250 reasons follow.
    for _ in 0..260 {
        screen.key(&view, &vocab, Key::Down, NOW);
    }
    assert_eq!(
        screen.mode(),
        &Mode::List {
            list: ListKind::NotReady,
            cursor: 250,
            top: 244
        }
    );
    let frame = screen.frame(&view, &vocab, NOW);
    assert_eq!(frame.body[0].text.as_str(), "Not Ready reason 251/251");
    assert_eq!(frame.body.len(), 8);
    assert_eq!(frame.body[7].text.as_str(), "Reason 250 (250)");
    assert_eq!(frame.body[7].style, ccx_cti::ui::LineStyle::Selected);
    for _ in 0..100 {
        screen.key(&view, &vocab, Key::Up, NOW);
    }
    assert_eq!(
        screen.mode(),
        &Mode::List {
            list: ListKind::NotReady,
            cursor: 150,
            top: 150
        }
    );
    screen.key(&view, &vocab, Key::Down, NOW);
    let Reaction::Send(cmd) = screen.key(&view, &vocab, Key::Select, NOW) else {
        panic!()
    };
    assert_eq!(
        cmd.as_command(),
        ccx_cti::phone::Command::NotReady { reason: 151.into() }
    );
    assert_eq!(screen.mode(), &Mode::Home);
    h.phone.command(h.now, cmd.as_command()).unwrap();
}

/// 250 wrap-up reasons on a call: the 200th is written to the call.
#[test]
fn a_list_of_250_wrap_up_reasons_selects_the_chosen_one() {
    let vocab = vocabulary(250);
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    h.feed(&begin_call(5, CALLTYPE_ACD_IN, &[]));
    h.feed(&call_event(
        MessageType::CallEstablishedEvent,
        5,
        LCS_CONNECT,
        "4020",
    ));
    let view = h.phone.view_with(&vocab);
    let mut screen = Screen::new(5);
    let more = screen
        .softkeys(&view, &vocab)
        .iter()
        .position(|l| *l == "More")
        .unwrap();
    screen.key(&view, &vocab, Key::Soft(u8::try_from(more).unwrap()), NOW);
    // Find "Wrap-up reason" in the More list.
    for _ in 0..30 {
        let frame = screen.frame(&view, &vocab, NOW);
        if frame
            .body
            .iter()
            .any(|l| l.style == ccx_cti::ui::LineStyle::Selected && l.text == "Wrap-up reason")
        {
            break;
        }
        screen.key(&view, &vocab, Key::Down, NOW);
    }
    screen.key(&view, &vocab, Key::Select, NOW);
    assert!(matches!(
        screen.mode(),
        Mode::List {
            list: ListKind::WrapUp,
            ..
        }
    ));
    for _ in 0..199 {
        screen.key(&view, &vocab, Key::Down, NOW);
    }
    assert_eq!(
        screen.mode(),
        &Mode::List {
            list: ListKind::WrapUp,
            cursor: 199,
            top: 196
        }
    );
    let Reaction::Send(cmd) = screen.key(&view, &vocab, Key::Soft(0), NOW) else {
        panic!()
    };
    assert_eq!(
        cmd.as_command(),
        ccx_cti::phone::Command::SetVar {
            name: "CallWrapupData",
            value: "Outcome 200",
            call: None
        }
    );
    h.phone.command(h.now, cmd.as_command()).unwrap();
}

/// A wrong password: the message says so and the pad asks again, showing only stars.
#[test]
fn a_wrong_password_asks_again_without_showing_it() {
    let vocab = vocabulary(1);
    let mut h = Harness::new(config());
    h.open(1); // LOGOUT
    let mut screen = Screen::new(6);
    let view = h.phone.view_with(&vocab);
    let Reaction::Send(cmd) = screen.key(&view, &vocab, Key::Soft(0), NOW) else {
        panic!()
    };
    let result = h.phone.command(h.now, cmd.as_command());
    screen.sent(CommandKind::of(&cmd.as_command()), result, NOW);
    let req = h.sent_one(MessageType::SetAgentStateReq);
    let invoke = decoded(&req).invoke_id().unwrap();
    h.feed(&failure_conf(invoke, 0x24)); // E_CTI_INVALID_PASSWORD
    for ev in h.events() {
        screen.event(&ev, NOW);
    }
    assert_eq!(screen.message(), "Wrong password: enter it again");
    let view = h.phone.view_with(&vocab);
    for d in b"47x1" {
        screen.key(&view, &vocab, Key::Digit(*d), NOW);
    }
    let frame = screen.frame(&view, &vocab, NOW);
    let shown: Vec<&str> = frame.body.iter().map(|l| l.text.as_str()).collect();
    assert!(shown.contains(&"****_"), "{shown:?}");
    assert!(!shown.iter().any(|l| l.contains("47x1")), "{shown:?}");
    assert_eq!(frame.softkeys[0], "Login");
    let Reaction::Send(cmd) = screen.key(&view, &vocab, Key::Select, NOW) else {
        panic!("{} {:?}", screen.message(), view.agent)
    };
    assert_eq!(
        cmd.as_command(),
        ccx_cti::phone::Command::Login {
            password: Some("47x1")
        }
    );
}

/// Session changes in plain words.
#[test]
fn session_changes_read_as_plain_words() {
    let mut screen = Screen::new(6);
    screen.event(&Event::SessionOpened { server: 0 }, NOW);
    assert_eq!(screen.message(), "Connected to server A");
    screen.event(
        &Event::SessionLost {
            reason: SessionEndReason::TransportClosed,
            reconnect_at: Some(NOW),
        },
        NOW,
    );
    assert_eq!(screen.message(), "Connection lost; reconnecting");
    screen.event(&Event::SessionOpened { server: 1 }, NOW);
    assert_eq!(screen.message(), "Server B took over");
    screen.event(&Event::CallLost { call: 5 }, NOW);
    assert_eq!(screen.message(), "Call lost during reconnect");
    screen.event(
        &Event::SessionLost {
            reason: SessionEndReason::NotMaster,
            reconnect_at: Some(NOW),
        },
        NOW,
    );
    screen.event(&Event::SessionOpened { server: 1 }, NOW);
    assert_eq!(screen.message(), "Reconnected to server B");
    screen.event(
        &Event::CommandRefused {
            command: CommandKind::Hold,
            why: ccx_cti::phone::CommandError::NoSuchCall,
        },
        NOW,
    );
    assert_eq!(screen.message(), "Cannot: no call for that");
}

/// The preview card shows the BA* fields and the six answers are one key away.
#[test]
fn the_preview_card_and_its_six_answers() {
    let vocab = vocabulary(1);
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    h.feed(&begin_call(
        10,
        CALLTYPE_RESERVATION,
        &[
            ("BAStatus", "DO"),
            ("BABuddyName", "John,Doe"),
            ("BAAccountNumber", "AC111"),
            ("BACampaign", "LoadCamp"),
        ],
    ));
    let view = h.phone.view_with(&vocab);
    let mut screen = Screen::new(8);
    let frame = screen.frame(&view, &vocab, NOW);
    let shown: Vec<&str> = frame.body.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(
        shown,
        [
            "Outbound contact",
            "Name: John,Doe",
            "Account: AC111",
            "Campaign: LoadCamp"
        ]
    );
    assert_eq!(frame.softkeys[..3], ["Accept", "Skip", "Reject"]);
    // Through More -> All contact answers, the sixth answer.
    let fourth = frame.softkeys[3];
    screen.key(&view, &vocab, Key::Soft(3), NOW);
    if fourth == "More" {
        let frame = screen.frame(&view, &vocab, NOW);
        let at = frame
            .body
            .iter()
            .skip(1)
            .position(|l| l.text == "All contact answers")
            .unwrap();
        for _ in 0..at {
            screen.key(&view, &vocab, Key::Down, NOW);
        }
        screen.key(&view, &vocab, Key::Select, NOW);
    }
    assert!(matches!(
        screen.mode(),
        Mode::List {
            list: ListKind::PreviewAnswers,
            ..
        }
    ));
    for _ in 0..5 {
        screen.key(&view, &vocab, Key::Down, NOW);
    }
    let Reaction::Send(cmd) = screen.key(&view, &vocab, Key::Select, NOW) else {
        panic!()
    };
    assert_eq!(
        cmd.as_command(),
        ccx_cti::phone::Command::Preview(PreviewAnswer::CancelReservation)
    );
}

/// Talk and hold timers run from `now`.
#[test]
fn call_cards_show_talk_and_hold_timers() {
    let vocab = vocabulary(1);
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    h.feed(&begin_call(5, CALLTYPE_ACD_IN, &[("CallVar1", "VIP")]));
    h.feed(&call_event(
        MessageType::CallEstablishedEvent,
        5,
        LCS_CONNECT,
        "4020",
    ));
    h.advance_secs(65);
    h.feed(&call_event(MessageType::CallHeldEvent, 5, LCS_HOLD, "4020"));
    h.advance_secs(12);
    let view = h.phone.view_with(&vocab);
    let screen = Screen::new(8);
    let frame = screen.frame(&view, &vocab, h.now);
    let shown: Vec<&str> = frame.body.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(
        shown,
        ["On hold (no number) 1:17", "On hold 0:12", "Var1: VIP"]
    );
    assert_eq!(frame.softkeys[..2], ["Resume", "End"]);
}

/// In a list and in a pad, the softkeys do what their labels say too.
#[test]
fn list_and_pad_softkeys_do_what_their_labels_say() {
    let vocab = vocabulary(20);
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    let view = h.phone.view_with(&vocab);
    let mut screen = Screen::new(6);
    // Ready: F1 NotReady opens the list.
    screen.key(&view, &vocab, Key::Soft(0), NOW);
    assert_eq!(
        screen.softkeys(&view, &vocab),
        ["Select", "Up", "Down", "Back"]
    );
    screen.key(&view, &vocab, Key::Soft(2), NOW);
    screen.key(&view, &vocab, Key::Soft(2), NOW);
    assert!(
        matches!(screen.mode(), Mode::List { cursor: 2, .. }),
        "Down"
    );
    screen.key(&view, &vocab, Key::Soft(1), NOW);
    assert!(matches!(screen.mode(), Mode::List { cursor: 1, .. }), "Up");
    let Reaction::Send(cmd) = screen.key(&view, &vocab, Key::Soft(0), NOW) else {
        panic!("Select")
    };
    assert_eq!(
        cmd.as_command(),
        ccx_cti::phone::Command::NotReady { reason: 1.into() }
    );
    screen.key(&view, &vocab, Key::Soft(0), NOW);
    screen.key(&view, &vocab, Key::Soft(3), NOW);
    assert_eq!(screen.mode(), &Mode::Home, "Back");
    // F2 Dial opens the pad: Call, Delete, blank, Back.
    assert_eq!(screen.softkeys(&view, &vocab)[1], "Dial");
    screen.key(&view, &vocab, Key::Soft(1), NOW);
    assert_eq!(
        screen.softkeys(&view, &vocab),
        ["Call", "Delete", "", "Back"]
    );
    for d in b"5551234" {
        screen.key(&view, &vocab, Key::Digit(*d), NOW);
    }
    screen.key(&view, &vocab, Key::Soft(1), NOW);
    assert!(
        matches!(screen.mode(), Mode::Pad { text, .. } if text.as_str() == "555123"),
        "Delete"
    );
    screen.say(NOW, format_args!(""));
    screen.key(&view, &vocab, Key::Soft(2), NOW);
    assert!(!screen.message().is_empty(), "a blank key says why not");
    let Reaction::Send(cmd) = screen.key(&view, &vocab, Key::Soft(0), NOW) else {
        panic!("Call")
    };
    assert_eq!(
        cmd.as_command(),
        ccx_cti::phone::Command::Dial { number: "555123" }
    );
    h.phone.command(h.now, cmd.as_command()).unwrap();
    // A callback pad sends the date and time the agent typed.
    let mut h = Harness::new(config());
    h.open(AVAILABLE);
    h.feed(&begin_call(5, CALLTYPE_ACD_IN, &[("BAStatus", "CO")]));
    h.feed(&call_event(
        MessageType::CallEstablishedEvent,
        5,
        LCS_CONNECT,
        "4020",
    ));
    let view = h.phone.view_with(&vocab);
    let mut screen = Screen::new(30);
    let more = screen
        .softkeys(&view, &vocab)
        .iter()
        .position(|l| *l == "More")
        .unwrap();
    screen.key(&view, &vocab, Key::Soft(u8::try_from(more).unwrap()), NOW);
    let frame = screen.frame(&view, &vocab, NOW);
    let at = frame
        .body
        .iter()
        .skip(1)
        .position(|l| l.text == "Schedule a callback")
        .unwrap();
    for _ in 0..at {
        screen.key(&view, &vocab, Key::Down, NOW);
    }
    screen.key(&view, &vocab, Key::Select, NOW);
    assert_eq!(screen.softkeys(&view, &vocab)[0], "Set");
    for d in b"123120260930" {
        screen.key(&view, &vocab, Key::Digit(*d), NOW);
    }
    let frame = screen.frame(&view, &vocab, NOW);
    assert_eq!(frame.body[1].text.as_str(), "12/31/2026 09:30");
    let Reaction::Send(cmd) = screen.key(&view, &vocab, Key::Soft(0), NOW) else {
        panic!("Set")
    };
    assert_eq!(
        cmd.as_command(),
        ccx_cti::phone::Command::Callback {
            date: "12312026",
            time: "09:30"
        }
    );
    h.phone.command(h.now, cmd.as_command()).unwrap();
}

/// The status line names the agent's reason: a system reason by its words, an administrator's
/// code by its label, any other code by its number; never a bare number for a known reason.
#[test]
fn the_status_line_names_the_reason() {
    let vocab = vocabulary(3);
    for (state, code, status) in [
        (NOT_READY, 32763, "Not Ready - Call not answered"),
        (NOT_READY, 2, "Not Ready - Reason 2"),
        (LOGOUT, 7, "Logged out - End of shift"),
        (NOT_READY, 40, "Not Ready - reason 40"),
        (NOT_READY, 0, "Not Ready"),
    ] {
        let mut h = Harness::new(config());
        h.open(AVAILABLE);
        h.feed(&agent_state_event(state, code));
        let view = h.phone.view_with(&vocab);
        let frame = Screen::new(6).frame(&view, &vocab, h.now);
        assert_eq!(frame.status.as_str(), status, "{code}");
    }
}
