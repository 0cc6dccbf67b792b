//! The terminal phone's main screens, drawn into ratatui's test backend.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use ccx_cti::config::PhoneConfig;
use ccx_cti::phone::{Event, Instant, InvokeId, Phone, Refusal, RequestKind};
use ccx_cti::wire::{
    fields, tag, AgentState, CallType, ControlFailureCode, Encoder, LocalConnectionState,
    MessageType, PeripheralErrorCode, StatusCode, WireVersion,
};
use ccx_cti_std::tui::view::{render, status_for, ViewModel};

fn screen(vm: &ViewModel) -> String {
    let mut terminal = Terminal::new(TestBackend::new(120, 32)).unwrap();
    terminal.draw(|f| render(f, vm)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let width = usize::from(buffer.area.width);
    buffer
        .content()
        .chunks(width)
        .map(|row| row.iter().map(|c| c.symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A call the scripted server announces: CallID, type, the agent's connection state, ANI,
/// DNIS, named variables.
struct ScriptCall {
    id: u32,
    call_type: CallType,
    state: LocalConnectionState,
    ani: &'static str,
    dnis: &'static str,
    vars: Vec<(&'static str, &'static str)>,
}

/// A real phone brought to `state` with `calls` by a scripted server at 10 s, read at 75 s:
/// the screen draws from the phone's own view. Scripted here, not the simulator: a golden
/// screen needs one exact state at one virtual instant (75 s of talk time, set vars), which
/// the simulator's wall-clock agents never hold still for.
fn model_of(state: AgentState, calls: Vec<ScriptCall>) -> ViewModel {
    let mut phone: Phone = Phone::new(PhoneConfig::default());
    let at = Instant::from_secs(10);
    assert!(phone.poll_transport(at).is_some());
    phone.connected(at);
    let mut out = [0u8; 1024];
    let n = phone.poll_transmit(&mut out).unwrap();
    let invoke = u32::from_be_bytes([out[8], out[9], out[10], out[11]]);
    let mut feed = |ty: MessageType, build: &dyn Fn(&mut Encoder<'_>)| {
        let mut buf = [0u8; 2048];
        let mut enc = Encoder::new(&mut buf, ty, WireVersion::DEFAULT);
        build(&mut enc);
        let len = enc.finish().unwrap();
        phone.handle_bytes(at, &buf[..len]);
    };
    let _ = n;
    feed(MessageType::OpenConf, &|e| {
        e.set(fields::open_conf::INVOKE_ID, invoke)
            .set(fields::open_conf::SERVICES_GRANTED, 7);
    });
    feed(MessageType::AgentStateEvent, &|e| {
        e.set(fields::agent_state_event::AGENT_STATE, state);
    });
    for c in &calls {
        feed(MessageType::BeginCallEvent, &|e| {
            e.set(fields::begin_call_event::CONNECTION_CALL_ID, c.id)
                .set(fields::begin_call_event::CALL_TYPE, c.call_type)
                .string(tag::CONNECTION_DEVICE_ID, "")
                .string(tag::ANI, c.ani)
                .string(tag::DNIS, c.dnis);
            for (name, value) in &c.vars {
                e.named_var(name, value);
            }
        });
        feed(MessageType::CallEstablishedEvent, &|e| {
            e.set(fields::call_established_event::CONNECTION_CALL_ID, c.id)
                .set(
                    fields::call_established_event::LOCAL_CONNECTION_STATE,
                    c.state,
                )
                .string(tag::CONNECTION_DEVICE_ID, "");
        });
    }
    let mut vm = ViewModel {
        title: "agent chli4020 ext 4020 @ 127.0.0.1:12028".into(),
        ..ViewModel::default()
    };
    vm.update(&phone.view(), Instant::from_secs(75));
    vm
}

#[test]
fn idle_screen_shows_the_agent_state_and_duration() {
    let vm = model_of(AgentState::NotReady, Vec::new());
    let s = screen(&vm);
    assert!(s.contains("agent chli4020 ext 4020"), "{s}");
    assert!(s.contains("open (side A, protocol 17)"), "{s}");
    assert!(s.contains("NOT_READY"), "{s}");
    assert!(s.contains("for 1:05"), "{s}");
    assert!(s.contains("no calls"), "{s}");
    assert!(!s.contains("Preview contact"), "{s}");
}

#[test]
fn preview_screen_shows_the_contact_and_its_keys() {
    let reservation = ScriptCall {
        id: 16800098,
        call_type: CallType::Reservation,
        state: LocalConnectionState::Alerting,
        ani: "",
        dnis: "",
        vars: vec![
            ("BACampaign", "LoadCamp"),
            ("BAStatus", "DO"),
            ("BAAccountNumber", "AC111"),
            ("BABuddyName", "John,Doe"),
        ],
    };
    let vm = model_of(AgentState::Reserved, vec![reservation]);
    let s = screen(&vm);
    assert!(s.contains("Preview contact (call 16800098)"), "{s}");
    assert!(s.contains("Name: John,Doe"), "{s}");
    assert!(s.contains("Account: AC111"), "{s}");
    assert!(s.contains("Campaign: LoadCamp"), "{s}");
    assert!(s.contains("4 skip"), "{s}");
    assert!(s.contains("RESERVED"), "{s}");
    assert!(s.contains("CALLTYPE_RESERVATION"), "{s}");
}

#[test]
fn talking_screen_shows_the_call_and_the_trace() {
    let call = ScriptCall {
        id: 16800101,
        call_type: CallType::CcxIn,
        state: LocalConnectionState::Connect,
        ani: "5551234",
        dnis: "7000",
        vars: Vec::new(),
    };
    let mut vm = model_of(AgentState::Talking, vec![call]);
    vm.trace = vec![
        "[   1.250] server -> phone".into(),
        "MsgType: CALL_ESTABLISHED_EVENT".into(),
        "  ConnectionCallID: 16800101".into(),
    ];
    let s = screen(&vm);
    assert!(s.contains("TALKING"), "{s}");
    assert!(
        s.contains("16800101 LCS_CONNECT CALLTYPE_CCX_IN 5551234 -> 7000"),
        "{s}"
    );
    assert!(s.contains("MsgType: CALL_ESTABLISHED_EVENT"), "{s}");
    assert!(s.contains("server -> phone"), "{s}");
}

#[test]
fn a_failed_request_shows_in_the_status_bar() {
    let mut vm = model_of(AgentState::Logout, Vec::new());
    vm.status = status_for(&Event::RequestFailed {
        invoke_id: InvokeId(3),
        request: RequestKind::SetAgentState,
        refusal: Refusal::Status(StatusCode::from_value(9)),
    });
    let s = screen(&vm);
    assert!(
        s.contains("SET_AGENT_STATE_REQ refused: E_CTI_AGENT_NOT_LOGGED_ON (9)"),
        "{s}"
    );
    // CONTROL_FAILURE_CONF: the failure code by its own table's name, and the peripheral error.
    vm.status = status_for(&Event::RequestFailed {
        invoke_id: InvokeId(4),
        request: RequestKind::SetAgentState,
        refusal: Refusal::Control {
            failure: ControlFailureCode::from_value(17),
            peripheral_error: PeripheralErrorCode::from_value(88009),
        },
    });
    let s = screen(&vm);
    let failure = ControlFailureCode::from_value(17).name().unwrap_or("17");
    assert!(
        s.contains(&format!("SET_AGENT_STATE_REQ refused: {failure} (17)")),
        "{s}"
    );
    assert!(
        s.contains("CCX_AGENT_INVALID") || s.contains("88009"),
        "{s}"
    );
}

#[test]
fn a_prompt_replaces_the_status_bar() {
    let mut vm = model_of(AgentState::NotReady, Vec::new());
    vm.prompt = Some(("dial number".into(), "555".into()));
    let s = screen(&vm);
    assert!(s.contains("dial number: 555_"), "{s}");
}
