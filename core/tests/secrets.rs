//! Passwords (ClientPassword, AgentPassword) never show in trace text or in `Debug` output
//! unless the caller asks for them (`TraceOptions { show_secrets: true, .. }`).
//!
//! The phone sends both passwords (OPEN_REQ, SET_AGENT_STATE_REQ LOGIN); the test renders and
//! formats everything it handles and looks for each password as text, as hex and as the
//! decimal byte list a derived `Debug` of a byte slice would print.
//!
//! defmt: `PhoneConfig`'s `defmt::Format` is written by hand (core/src/config.rs) and prints
//! the agent ID, the extension and the protocol version only; `Message`'s prints the type and
//! the body length. Neither can print a password.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use ccx_cti::config::PhoneConfig;
use ccx_cti::phone::{Command, Instant, Phone, TransportAction};
use ccx_cti::trace::{self, TraceOptions};
use ccx_cti::wire::{decode, message_def, tag, Encoder, Message, MessageType, WireVersion};

const CLIENT_PASSWORD: &str = "Cl1ent-S3cret";
const AGENT_PASSWORD: &str = "Ag3nt-Pw-4020";

/// The ways a password could show in text.
fn leaks(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for pw in [CLIENT_PASSWORD, AGENT_PASSWORD] {
        let hex: String = pw.bytes().map(|b| format!("{b:02x}")).collect();
        let decimal = pw
            .bytes()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        for form in [pw.to_string(), hex, decimal] {
            if text.contains(&form) {
                found.push(form);
            }
        }
    }
    found
}

fn assert_no_leak(what: &str, text: &str) {
    let found = leaks(text);
    assert!(
        found.is_empty(),
        "{what} shows a password ({found:?}):\n{text}"
    );
}

fn config() -> PhoneConfig {
    PhoneConfig {
        agent_id: "chli4020".try_into().unwrap(),
        agent_extension: "4020".try_into().unwrap(),
        agent_password: AGENT_PASSWORD.try_into().unwrap(),
        client_id: "phone".try_into().unwrap(),
        client_password: CLIENT_PASSWORD.try_into().unwrap(),
        ..PhoneConfig::default()
    }
}

fn frame(ty: MessageType, fixed: &[(&str, u32)]) -> Vec<u8> {
    let layout = message_def(ty.id()).and_then(|d| d.layout).unwrap();
    let mut buf = vec![0u8; 1024];
    let mut enc = Encoder::new(&mut buf, ty, WireVersion::DEFAULT);
    for (label, value) in fixed {
        enc.set_fixed_raw(layout.fixed_named(label).unwrap().0, *value);
    }
    let n = enc.finish().unwrap();
    buf.truncate(n);
    buf
}

fn rendered(msg: &Message<'_>, show_secrets: bool) -> String {
    trace::display_with(
        msg,
        TraceOptions {
            show_secrets,
            indent: 2,
        },
    )
    .to_string()
}

/// Everything the phone sent, with the texts that must not show a password.
fn drain(phone: &mut Phone, sent: &mut Vec<Vec<u8>>, texts: &mut Vec<(String, String)>) {
    let mut buf = [0u8; 2048];
    while let Some(n) = phone.poll_transmit(&mut buf) {
        sent.push(buf[..n].to_vec());
    }
    while let Some(event) = phone.poll_event() {
        texts.push(("Event Debug".into(), format!("{event:?} {event:#?}")));
        texts.push(("Event Display".into(), event.to_string()));
    }
}

#[test]
fn passwords_are_masked_everywhere_unless_asked_for() {
    let cfg = config();
    let mut texts: Vec<(String, String)> = vec![
        ("PhoneConfig Debug".into(), format!("{cfg:?}")),
        ("PhoneConfig Debug (pretty)".into(), format!("{cfg:#?}")),
    ];

    // The phone opens the session and logs the agent in: both passwords go on the wire.
    let mut phone: Phone = Phone::new(cfg);
    let now = Instant::from_millis(5);
    assert_eq!(
        phone.poll_transport(now),
        Some(TransportAction::Connect { server: 0 })
    );
    phone.connected(now);
    let mut sent = Vec::new();
    drain(&mut phone, &mut sent, &mut texts);
    let open_id = decode(&sent[0], WireVersion::DEFAULT)
        .unwrap()
        .invoke_id()
        .unwrap();
    phone.handle_bytes(
        now,
        &frame(
            MessageType::OpenConf,
            &[
                ("InvokeID", open_id),
                ("ServicesGranted", 7),
                ("AgentState", 1),
            ],
        ),
    );
    drain(&mut phone, &mut sent, &mut texts);
    phone
        .command(now, Command::Login { password: None })
        .unwrap();
    drain(&mut phone, &mut sent, &mut texts);
    texts.push(("Phone Debug".into(), format!("{phone:?} {phone:#?}")));

    // Each password is on the wire exactly where it belongs, and shown only on request.
    let mut shown_client = false;
    let mut shown_agent = false;
    for f in &sent {
        let msg = decode(f, WireVersion::DEFAULT).unwrap();
        texts.push(("trace text".into(), trace::display(&msg).to_string()));
        texts.push(("trace text (options)".into(), rendered(&msg, false)));
        texts.push(("Message Debug".into(), format!("{msg:?} {msg:#?}")));
        let shown = rendered(&msg, true);
        if msg.string(tag::CLIENT_PASSWORD) == Some(CLIENT_PASSWORD) {
            // An UNSPEC field: the text shows it as hex.
            assert!(shown.contains("ClientPassword: 0x"), "{shown}");
            assert!(!leaks(&shown).is_empty(), "{shown}");
            shown_client = true;
        }
        if msg.string(tag::AGENT_PASSWORD) == Some(AGENT_PASSWORD) {
            assert!(shown.contains("AgentPassword: "), "{shown}");
            assert!(!leaks(&shown).is_empty(), "{shown}");
            shown_agent = true;
        }
    }
    assert!(shown_client, "OPEN_REQ carries the client password");
    assert!(shown_agent, "the LOGIN request carries the agent password");

    // Under every protocol version the text masks the same way.
    for version in [10, 17, 18] {
        let v = WireVersion::new(version);
        let mut buf = [0u8; 1024];
        let text =
            format!("MsgType: OPEN_REQ\n  ClientID: phone\n  ClientPassword: {CLIENT_PASSWORD}\n");
        let n = trace::parse_message(&text, &mut buf, v).unwrap();
        let msg = decode(&buf[..n], v).unwrap();
        let masked = trace::display(&msg).to_string();
        assert!(masked.contains(&format!("ClientPassword: {}", trace::SECRET_MASK)));
        texts.push((format!("trace text v{version}"), masked));
    }

    for (what, text) in &texts {
        assert_no_leak(what, text);
    }
    // The check itself sees a password where there is one.
    assert!(!leaks(&format!("{:?}", AGENT_PASSWORD.as_bytes())).is_empty());
    assert!(texts.iter().any(|(w, _)| w == "Event Debug"));
}

/// `Command::Login { password }` used to derive `Debug` (and `defmt::Format`), so formatting
/// a login command printed the password the agent typed; both now mask it.
#[test]
fn a_login_command_does_not_print_its_password() {
    let cmd = Command::Login {
        password: Some(AGENT_PASSWORD),
    };
    assert_no_leak("Command Debug", &format!("{cmd:?} {cmd:#?}"));
    assert_eq!(format!("{cmd:?}"), "Login { password: Some(********) }");
    let owned = ccx_cti::phone::OwnedCommand::<64>::try_from(cmd).unwrap();
    assert_no_leak("OwnedCommand Debug", &format!("{owned:?}"));
    assert_eq!(
        format!(
            "{:?}",
            Command::SetVar {
                name: "n",
                value: "v",
                call: Some(1)
            }
        ),
        r#"SetVar { name: "n", value: "v", call: Some(1) }"#
    );
}
