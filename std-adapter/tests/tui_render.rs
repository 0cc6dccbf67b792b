//! The terminal phone's main screens, drawn into ratatui's test backend.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use ccx_cti::phone::{AgentView, Event, Instant, RequestKind, SessionState, SessionView};
use ccx_cti::wire::{AgentState, CallType, LocalConnectionState};
use ccx_cti_std::driver::{CallView, PhoneView};
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

fn view(state: AgentState, calls: Vec<CallView>, preview: Option<u32>) -> PhoneView {
    PhoneView {
        session: SessionView {
            state: SessionState::Open,
            server: 0,
            version: 17,
        },
        agent: AgentView {
            state,
            reason: 0,
            since: Instant::from_secs(10),
        },
        calls,
        preview,
        now: Instant::from_secs(75),
    }
}

fn model(v: &PhoneView) -> ViewModel {
    let mut vm = ViewModel {
        title: "agent chli4020 ext 4020 @ 127.0.0.1:12028".into(),
        ..ViewModel::default()
    };
    vm.update(v);
    vm
}

#[test]
fn idle_screen_shows_the_agent_state_and_duration() {
    let vm = model(&view(AgentState::NotReady, Vec::new(), None));
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
    let reservation = CallView {
        id: 16800098,
        call_type: CallType::Reservation,
        state: LocalConnectionState::Alerting,
        device_id: "4020".into(),
        ani: String::new(),
        dnis: String::new(),
        vars: vec![
            ("BACampaign".into(), "LoadCamp".into()),
            ("BAStatus".into(), "DO".into()),
            ("BAAccountNumber".into(), "AC111".into()),
            ("BABuddyName".into(), "John,Doe".into()),
        ],
    };
    let vm = model(&view(
        AgentState::Reserved,
        vec![reservation],
        Some(16800098),
    ));
    let s = screen(&vm);
    assert!(s.contains("Preview contact (call 16800098)"), "{s}");
    assert!(s.contains("BABuddyName: John,Doe"), "{s}");
    assert!(s.contains("BAAccountNumber: AC111"), "{s}");
    assert!(s.contains("4 skip"), "{s}");
    assert!(s.contains("RESERVED"), "{s}");
    assert!(s.contains("CALLTYPE_RESERVATION"), "{s}");
}

#[test]
fn talking_screen_shows_the_call_and_the_trace() {
    let call = CallView {
        id: 16800101,
        call_type: CallType::CcxIn,
        state: LocalConnectionState::Connect,
        device_id: "4020".into(),
        ani: "5551234".into(),
        dnis: "7000".into(),
        vars: Vec::new(),
    };
    let mut vm = model(&view(AgentState::Talking, vec![call], None));
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
    let mut vm = model(&view(AgentState::Logout, Vec::new(), None));
    vm.status = status_for(&Event::RequestFailed {
        invoke_id: 3,
        request: RequestKind::SetAgentState,
        status: 9,
        peripheral_error: 88009,
    });
    let s = screen(&vm);
    assert!(
        s.contains("SET_AGENT_STATE_REQ refused: E_CTI_AGENT_NOT_LOGGED_ON (9)"),
        "{s}"
    );
    assert!(
        s.contains("CCX_AGENT_INVALID") || s.contains("88009"),
        "{s}"
    );
}

#[test]
fn a_prompt_replaces_the_status_bar() {
    let mut vm = model(&view(AgentState::NotReady, Vec::new(), None));
    vm.prompt = Some(("dial number".into(), "555".into()));
    let s = screen(&vm);
    assert!(s.contains("dial number: 555_"), "{s}");
}
