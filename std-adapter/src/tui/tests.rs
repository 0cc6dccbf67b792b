//! Unit tests of the terminal phone: keys, prompts, the view, the configuration.

use super::*;

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

#[test]
fn keys_map_to_the_documented_commands() {
    assert_eq!(
        key_action(key('r')),
        KeyAction::Command(AgentCommand::Ready)
    );
    assert_eq!(
        key_action(key('4')),
        KeyAction::Command(AgentCommand::Preview(PreviewAnswer::Skip))
    );
    assert_eq!(
        key_action(key('6')),
        KeyAction::Command(AgentCommand::Preview(PreviewAnswer::CancelReservation))
    );
    assert_eq!(key_action(key('d')), KeyAction::Prompt("dial number"));
    assert_eq!(key_action(key('q')), KeyAction::CloseAndQuit);
    assert!(KEYS.contains("Cancel Reservation"));
}

#[test]
fn prompts_build_commands() {
    assert_eq!(
        Pending::Callback.command("12312026 09:30"),
        driver::parse_command("preview callback 12312026 09:30")
    );
    assert!(matches!(
        Pending::Callback.command("12312026 09:30"),
        Ok(AgentCommand::Callback { .. })
    ));
    assert_eq!(
        Pending::NotReady.command(""),
        Ok(AgentCommand::NotReady {
            reason: AgentReason::None
        })
    );
    assert!(Pending::NotReady.command("x").is_err());
}

fn status_row(vm: &ViewModel) -> String {
    let backend = ratatui::backend::TestBackend::new(200, 30);
    let mut terminal = Terminal::new(backend).unwrap();
    terminal.draw(|f| view::render(f, vm)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The screen draws what the phone's own view holds: the preview card, the reason's
/// label, the commands valid now.
#[test]
fn the_screen_shows_the_core_view() {
    use ccx_cti::config::{PhoneConfig, ReasonKind};
    use ccx_cti::phone::{Instant, Phone, TransportAction};
    use ccx_cti::wire::{fields, tag, Encoder, MessageType, WireVersion};
    let mut phone: Phone = Phone::new(PhoneConfig::default());
    let now = Instant::from_secs(1);
    assert!(matches!(
        phone.poll_transport(now),
        Some(TransportAction::Connect { .. })
    ));
    phone.connected(now);
    let mut buf = [0u8; 1024];
    let n = phone.poll_transmit(&mut buf).unwrap();
    let invoke = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
    let mut frame = |ty, build: &dyn Fn(&mut Encoder<'_>)| {
        let mut out = [0u8; 1024];
        let mut enc = Encoder::new(&mut out, ty, WireVersion::DEFAULT);
        build(&mut enc);
        let len = enc.finish().unwrap();
        phone.handle_bytes(now, &out[..len]);
    };
    let _ = n;
    frame(MessageType::OpenConf, &|e| {
        e.set(fields::open_conf::INVOKE_ID, invoke)
            .set(fields::open_conf::SERVICES_GRANTED, 7);
    });
    frame(MessageType::AgentStateEvent, &|e| {
        e.set(
            fields::agent_state_event::AGENT_STATE,
            ccx_cti::wire::AgentState::NotReady,
        )
        .set(
            fields::agent_state_event::EVENT_REASON_CODE,
            ccx_cti::wire::EventReasonCode::from_value(12),
        );
    });
    frame(MessageType::BeginCallEvent, &|e| {
        e.set(fields::begin_call_event::CONNECTION_CALL_ID, 9)
            .set(
                fields::begin_call_event::CALL_TYPE,
                ccx_cti::wire::CallType::Reservation,
            )
            .string(tag::CONNECTION_DEVICE_ID, "")
            .named_var("BAStatus", "DO")
            .named_var("BABuddyName", "John,Doe")
            .named_var("BAAccountNumber", "AC111");
    });
    let mut vocabulary = StdVocabulary::new();
    vocabulary.add(ReasonKind::NotReady, 12, "Lunch").unwrap();
    let mut vm = ViewModel::default();
    vm.update(&phone.view_with(&vocabulary), Instant::from_secs(4));
    assert_eq!(vm.reason_label.as_deref(), Some("Lunch"));
    assert_eq!(vm.agent_secs, 3);
    let preview = vm.preview.clone().expect("the preview card");
    assert_eq!(preview.call, 9);
    assert_eq!(
        preview.vars,
        [
            ("Name".to_string(), "John,Doe".to_string()),
            ("Account".to_string(), "AC111".to_string())
        ]
    );
    assert!(vm.valid.contains("preview 9"), "{}", vm.valid);
    let screen = status_row(&vm);
    assert!(screen.contains("Name: John,Doe"), "{screen}");
    assert!(screen.contains("Reason: Lunch"), "{screen}");
}

#[test]
fn a_password_typed_at_the_command_prompt_is_never_drawn() {
    let typed = (Pending::Line, "login hunter2".to_string());
    let vm = ViewModel {
        prompt: prompt_view(Some(&typed)),
        ..ViewModel::default()
    };
    let screen = status_row(&vm);
    assert!(screen.contains("command: login *******_"), "{screen}");
    assert!(!screen.contains("hunter2"), "{screen}");
    // Other prompts show what is typed.
    assert_eq!(shown_input(Pending::Dial, "5551234"), "5551234");
    assert_eq!(
        shown_input(Pending::Line, "  dial 5551234"),
        "  dial 5551234"
    );
    assert_eq!(shown_input(Pending::Line, " login  a b"), " login  * *");
}

#[test]
fn a_refused_login_command_does_not_show_its_password() {
    let secret = format!("pw{}", "9".repeat(200));
    let e = Pending::Line
        .command(&format!("login {secret}"))
        .unwrap_err();
    assert!(e.starts_with("`login ********`"), "{e}");
    assert!(!e.contains("pw99"), "{e}");
    let vm = ViewModel {
        status: Some(Status {
            error: true,
            text: e,
        }),
        ..ViewModel::default()
    };
    assert!(!status_row(&vm).contains("pw99"));
}

#[test]
fn a_bad_flag_is_named_by_the_flag() {
    let args = PhoneArgs {
        config: None,
        servers: vec![],
        agent_id: None,
        extension: Some("1234567890123456".into()),
        instrument: None,
        protocol_version: None,
        heartbeat_secs: None,
        idle_timeout_secs: None,
        reconnect_secs: Some(0),
        no_password_prompt: true,
    };
    let loaded = args.load().unwrap();
    let e = config_file::check(&loaded.config, &loaded.origin)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("--extension: agent_extension is 16 bytes long"),
        "{e}"
    );
    assert!(e.contains("--reconnect-secs: reconnect_secs 0"), "{e}");
}

#[test]
fn a_bad_file_is_refused_with_its_line() {
    let dir = std::env::temp_dir().join(format!("ccx-phone-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("phone.toml");
    std::fs::write(&path, "agent_id = \"a1\"\nv18_length_width = 7\n").unwrap();
    let args = PhoneArgs {
        config: Some(path.clone()),
        servers: vec![],
        agent_id: None,
        extension: None,
        instrument: None,
        protocol_version: None,
        heartbeat_secs: None,
        idle_timeout_secs: None,
        reconnect_secs: None,
        no_password_prompt: true,
    };
    let loaded = args.load().unwrap();
    let e = config_file::check(&loaded.config, &loaded.origin)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("{}:2: v18_length_width 7", path.display())),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn flags_override_the_file() {
    let args = PhoneArgs {
        config: None,
        servers: vec!["10.1.1.1:2000".into(), "10.1.1.2".into()],
        agent_id: Some("a7".into()),
        extension: Some("7007".into()),
        instrument: None,
        protocol_version: Some(16),
        heartbeat_secs: None,
        idle_timeout_secs: None,
        reconnect_secs: None,
        no_password_prompt: true,
    };
    let cfg = args.phone_config().unwrap();
    assert_eq!(cfg.servers.len(), 2);
    assert_eq!(cfg.servers[0].port, 2000);
    assert_eq!(cfg.agent_id.as_str(), "a7");
    assert_eq!(cfg.protocol_version, 16);
}
