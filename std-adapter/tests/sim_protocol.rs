//! The simulator against a bare client built from the codec: the exact message sequences of
//! the session rules and the guide's outbound flows, over loopback TCP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use ccx_cti::phone::AgentReason;
use ccx_cti::wire::{
    decode, fields, tag, AgentState, CallType, EventReasonCode, LocalConnectionState, MessageType,
    StatusCode, WireVersion,
};
use ccx_cti_std::sim::{Campaign, Faults, InboundCall, SimConfig, Simulator};

mod support;
use support::RawClient;

/// The session steps of the guide's flows, beyond the shared client.
trait FlowClient {
    /// Ask for `state` (LOGIN with the agent's password and `capacity`); checks the conf
    /// and the AGENT_STATE_EVENT that follows.
    fn set_state(&mut self, state: AgentState, capacity: u32);
    /// Answer preview reservation `call` with BAResponse `answer`.
    fn preview_answer(&mut self, call: u32, answer: &str);
}

impl FlowClient for RawClient {
    fn set_state(&mut self, state: AgentState, capacity: u32) {
        self.send(MessageType::SetAgentStateReq, |e| {
            e.set(fields::set_agent_state_req::AGENT_STATE, state)
                .set(fields::set_agent_state_req::AGENT_CAPACITY, capacity);
            e.string(tag::AGENT_INSTRUMENT, "4020");
            if state == AgentState::Login {
                e.string(tag::AGENT_PASSWORD, "secret");
            }
        });
        self.expect(MessageType::SetAgentStateConf);
        let ev = self.expect(MessageType::AgentStateEvent);
        let msg = decode(&ev, self.version).unwrap();
        let expected = if state == AgentState::Login {
            AgentState::NotReady
        } else {
            state
        };
        assert_eq!(
            msg.get(fields::agent_state_event::AGENT_STATE),
            Some(expected)
        );
    }

    fn preview_answer(&mut self, call: u32, answer: &str) {
        self.send(MessageType::SetCallDataReq, |e| {
            e.set(fields::set_call_data_req::CONNECTION_CALL_ID, call)
                .set(fields::set_call_data_req::CALL_TYPE, CallType::Reservation);
            e.string(tag::CONNECTION_DEVICE_ID, "4020");
            e.named_var("BAResponse", answer);
        });
    }
}

fn version() -> WireVersion {
    WireVersion::new(17)
}

fn types(client: &mut RawClient, n: usize) -> Vec<MessageType> {
    (0..n)
        .map(|_| {
            let f = client.next().expect("frame");
            decode(&f, version()).unwrap().message_type()
        })
        .collect()
}

fn campaign_sim() -> Simulator {
    let mut cfg = SimConfig::loopback();
    let mut campaign = Campaign::demo();
    campaign.offer_delay_ms = 0;
    cfg.campaign = Some(campaign);
    Simulator::start(cfg).unwrap()
}

#[test]
fn open_conf_carries_the_agent_and_v14_fields() {
    let sim = Simulator::start(SimConfig::loopback()).unwrap();
    let mut c = RawClient::connect(&sim);
    let conf = c.open("chli4020");
    let msg = decode(&conf, version()).unwrap();
    assert_eq!(msg.get(fields::open_conf::SERVICES_GRANTED), Some(7));
    assert_eq!(msg.get(fields::open_conf::CCX_ONLINE), Some(true));
    assert_eq!(
        msg.get(fields::open_conf::AGENT_STATE),
        Some(AgentState::Logout)
    );
    assert_eq!(msg.string(tag::AGENT_EXTENSION), Some("4020"));
    assert_eq!(msg.number(tag::NUM_PERIPHERALS), Some(1));
    assert_eq!(msg.number(tag::MULTILINE_AGENT_CONTROL), Some(1));
    c.send(MessageType::HeartbeatReq, |_| {});
    c.expect(MessageType::HeartbeatConf);
    c.send(MessageType::CloseReq, |_| {});
    c.expect(MessageType::CloseConf);
    assert!(c.next().is_none(), "the server closes after CLOSE_CONF");
}

fn refused(cfg: SimConfig, version: u32, idle: u32, agent: &str) -> u32 {
    let sim = Simulator::start(cfg).unwrap();
    let mut c = RawClient::connect(&sim);
    c.send(MessageType::OpenReq, |e| {
        e.set(fields::open_req::VERSION_NUMBER, version)
            .set(fields::open_req::IDLE_TIMEOUT, idle)
            .set(fields::open_req::SERVICES_REQUESTED, 7);
        e.string(tag::CLIENT_ID, "t")
            .bytes(tag::CLIENT_PASSWORD, &[]);
        e.string(tag::AGENT_ID, agent);
    });
    support::status_of(&c.expect(MessageType::FailureConf))
}

#[test]
fn open_req_is_validated() {
    let ok = SimConfig::loopback();
    assert_eq!(
        refused(ok.clone(), 9, 80, "chli4020"),
        StatusCode::InvalidVersion.value()
    );
    assert_eq!(
        refused(ok.clone(), 17, 10, "chli4020"),
        StatusCode::InvalidTimeout.value()
    );
    assert_eq!(
        refused(ok.clone(), 17, 80, "nobody"),
        StatusCode::InvalidAgentData.value()
    );
    let standby = SimConfig {
        standby: true,
        ..ok
    };
    assert_eq!(
        refused(standby, 17, 80, "chli4020"),
        StatusCode::ServerNotMaster.value()
    );
}

#[test]
fn a_second_session_ends_the_first() {
    let sim = Simulator::start(SimConfig::loopback()).unwrap();
    let mut first = RawClient::connect(&sim);
    first.open("chli4020");
    let mut second = RawClient::connect(&sim);
    second.open("chli4020");
    let f = first.expect(MessageType::FailureEvent);
    let status = decode(&f, version())
        .unwrap()
        .get(fields::failure_event::STATUS);
    assert_eq!(status, Some(StatusCode::NewSessionOpened));
    assert!(first.next().is_none());
    assert_eq!(sim.counters().sessions_replaced, 1);
}

#[test]
fn ready_while_logged_out_is_refused() {
    let sim = Simulator::start(SimConfig::loopback()).unwrap();
    let mut c = RawClient::connect(&sim);
    c.open("chli4020");
    c.send(MessageType::SetAgentStateReq, |e| {
        e.set(
            fields::set_agent_state_req::AGENT_STATE,
            AgentState::Available,
        );
        e.string(tag::AGENT_INSTRUMENT, "4020");
    });
    c.expect(MessageType::ControlFailureConf);
    assert_eq!(sim.agent("chli4020").unwrap().state, AgentState::Logout);
}

/// Log in with the outbound capacity and become ready; returns the reservation's CallID.
fn reserved(c: &mut RawClient) -> u32 {
    c.open("chli4020");
    c.set_state(AgentState::Login, 1);
    c.set_state(AgentState::Available, 0);
    let ev = c.expect(MessageType::AgentStateEvent);
    assert_eq!(
        decode(&ev, version())
            .unwrap()
            .get(fields::agent_state_event::AGENT_STATE),
        Some(AgentState::Reserved)
    );
    let begin = c.expect(MessageType::BeginCallEvent);
    let msg = decode(&begin, version()).unwrap();
    assert_eq!(
        msg.get(fields::begin_call_event::CALL_TYPE),
        Some(CallType::Reservation)
    );
    assert_eq!(msg.named_var("BAStatus"), Some("DO"));
    assert_eq!(msg.named_var("BAAccountNumber"), Some("AC111"));
    assert_eq!(msg.named_var("BABuddyName"), Some("John,Doe"));
    assert_eq!(msg.named_var("BACampaign"), Some("LoadCamp"));
    let id = msg
        .get(fields::begin_call_event::CONNECTION_CALL_ID)
        .unwrap();
    let delivered = c.expect(MessageType::CallDeliveredEvent);
    let d = decode(&delivered, version()).unwrap();
    assert_eq!(
        d.get(fields::call_delivered_event::LOCAL_CONNECTION_STATE),
        Some(LocalConnectionState::Alerting)
    );
    id
}

#[test]
fn skip_follows_the_guides_flow_and_the_next_contact_is_offered() {
    let sim = campaign_sim();
    let mut c = RawClient::connect(&sim);
    let call = reserved(&mut c);
    c.preview_answer(call, "Skip");
    assert_eq!(
        types(&mut c, 6),
        vec![
            MessageType::SetCallDataConf,
            MessageType::AgentStateEvent,
            MessageType::CallDataUpdateEvent,
            MessageType::CallConnectionClearedEvent,
            MessageType::CallClearedEvent,
            MessageType::EndCallEvent,
        ]
    );
    // The next contact.
    c.expect(MessageType::AgentStateEvent);
    let begin = c.expect(MessageType::BeginCallEvent);
    assert_eq!(
        decode(&begin, version())
            .unwrap()
            .named_var("BAAccountNumber"),
        Some("AC112")
    );
    assert_eq!(sim.counters().contacts.get("skipped"), Some(&1));
}

#[test]
fn accept_places_the_customer_call() {
    let sim = campaign_sim();
    let mut c = RawClient::connect(&sim);
    let call = reserved(&mut c);
    c.preview_answer(call, "Accept");
    c.expect(MessageType::SetCallDataConf);
    let echo = c.expect(MessageType::CallDataUpdateEvent);
    let m = decode(&echo, version()).unwrap();
    assert_eq!(m.named_var("BAResponse"), Some("Accept"));
    assert_eq!(
        m.get(fields::call_data_update_event::NUM_NAMED_VARIABLES),
        Some(1)
    );
    assert_eq!(m.string(tag::CUSTOMER_PHONE_NUMBER), Some(""));
    let cleared = c.expect(MessageType::CallConnectionClearedEvent);
    assert_eq!(
        decode(&cleared, version())
            .unwrap()
            .get(fields::call_connection_cleared_event::LOCAL_CONNECTION_STATE),
        Some(LocalConnectionState::None)
    );
    c.expect(MessageType::CallClearedEvent);
    c.expect(MessageType::EndCallEvent);
    let begin = c.expect(MessageType::BeginCallEvent);
    let b = decode(&begin, version()).unwrap();
    assert_eq!(b.named_var("BAStatus"), Some("CO"));
    let customer = b.get(fields::begin_call_event::CONNECTION_CALL_ID).unwrap();
    assert_ne!(customer, call);
    c.expect(MessageType::CallServiceInitiatedEvent);
    c.expect(MessageType::CallOriginatedEvent);
    c.expect(MessageType::CallEstablishedEvent);
    c.expect(MessageType::AgentStateEvent);
    let agent = sim.agent("chli4020").unwrap();
    assert_eq!(agent.state, AgentState::Talking);
    assert_eq!(agent.calls.len(), 1);
    // Reclassify, then a malformed callback is refused and a good one recorded.
    c.send(MessageType::SetCallDataReq, |e| {
        e.set(fields::set_call_data_req::CONNECTION_CALL_ID, customer);
        e.string(tag::CONNECTION_DEVICE_ID, "4020");
        e.named_var("BAResponse", "Callback 13012026 10:00");
    });
    c.expect(MessageType::ControlFailureConf);
    c.send(MessageType::SetCallDataReq, |e| {
        e.set(fields::set_call_data_req::CONNECTION_CALL_ID, customer);
        e.string(tag::CONNECTION_DEVICE_ID, "4020");
        e.named_var("BAResponse", "Callback 12012026 10:00");
    });
    c.expect(MessageType::SetCallDataConf);
    c.expect(MessageType::CallDataUpdateEvent);
    assert_eq!(
        sim.contacts()[0].callback.as_deref(),
        Some("12012026 10:00")
    );
}

#[test]
fn cancel_reservation_makes_the_agent_not_ready() {
    let sim = campaign_sim();
    let mut c = RawClient::connect(&sim);
    let call = reserved(&mut c);
    c.preview_answer(call, "Cancel Reservation");
    let seq = types(&mut c, 6);
    assert_eq!(seq[0], MessageType::SetCallDataConf);
    assert_eq!(seq[5], MessageType::AgentStateEvent);
    let agent = sim.agent("chli4020").unwrap();
    assert_eq!(agent.state, AgentState::NotReady);
    assert_eq!(
        agent.reason,
        AgentReason::System(EventReasonCode::CancelReservation)
    );
    assert_eq!(sim.contacts()[0].status, "open");
}

#[test]
fn an_inbound_call_rings_is_answered_held_and_released() {
    let sim = Simulator::start(SimConfig::loopback()).unwrap();
    let mut c = RawClient::connect(&sim);
    c.open("chli4020");
    c.set_state(AgentState::Login, 0);
    c.set_state(AgentState::Available, 0);
    sim.offer_call(InboundCall::default());
    c.expect(MessageType::AgentStateEvent);
    let begin = c.expect(MessageType::BeginCallEvent);
    let id = decode(&begin, version())
        .unwrap()
        .get(fields::begin_call_event::CONNECTION_CALL_ID)
        .unwrap();
    c.expect(MessageType::CallDeliveredEvent);
    c.send(MessageType::AnswerCallReq, |e| {
        e.set(fields::answer_call_req::CONNECTION_CALL_ID, id);
        e.string(tag::CONNECTION_DEVICE_ID, "4020");
    });
    assert_eq!(
        types(&mut c, 3),
        vec![
            MessageType::AnswerCallConf,
            MessageType::CallEstablishedEvent,
            MessageType::AgentStateEvent
        ]
    );
    c.send(MessageType::HoldCallReq, |e| {
        e.set(fields::hold_call_req::CONNECTION_CALL_ID, id);
        e.string(tag::CONNECTION_DEVICE_ID, "4020");
    });
    assert_eq!(
        types(&mut c, 2),
        vec![MessageType::HoldCallConf, MessageType::CallHeldEvent]
    );
    c.send(MessageType::RetrieveCallReq, |e| {
        e.set(fields::retrieve_call_req::HELD_CALL_ID, id);
        e.string(tag::HELD_CONNECTION_DEVICE_ID, "4020");
    });
    assert_eq!(
        types(&mut c, 2),
        vec![
            MessageType::RetrieveCallConf,
            MessageType::CallRetrievedEvent
        ]
    );
    c.send(MessageType::SnapshotDeviceReq, |e| {
        e.string(tag::AGENT_INSTRUMENT, "4020");
    });
    let snap = c.expect(MessageType::SnapshotDeviceConf);
    let s = decode(&snap, version()).unwrap();
    assert_eq!(s.get(fields::snapshot_device_conf::NUM_CALLS), Some(1));
    assert_eq!(s.number(tag::CALL_CONNECTION_CALL_ID), Some(id));
    c.send(MessageType::ClearConnectionReq, |e| {
        e.set(fields::clear_connection_req::CONNECTION_CALL_ID, id);
        e.string(tag::CONNECTION_DEVICE_ID, "4020");
    });
    assert_eq!(
        types(&mut c, 5),
        vec![
            MessageType::ClearConnectionConf,
            MessageType::CallConnectionClearedEvent,
            MessageType::CallClearedEvent,
            MessageType::EndCallEvent,
            MessageType::AgentStateEvent,
        ]
    );
    assert_eq!(
        sim.agent("chli4020").unwrap().state,
        AgentState::WorkNotReady
    );
}

#[test]
fn fault_flags_change_what_is_sent() {
    let cfg = SimConfig {
        faults: Faults {
            unknown_tags: true,
            unknown_message_every: Some(1),
            ..Faults::default()
        },
        ..SimConfig::loopback()
    };
    let sim = Simulator::start(cfg).unwrap();
    let mut c = RawClient::connect(&sim);
    let conf = c.open("chli4020");
    let msg = decode(&conf, version()).unwrap();
    assert!(
        msg.fields().any(|f| f.tag == 251),
        "an unknown tag is appended"
    );
    let unknown = c.next().unwrap();
    assert_eq!(
        decode(&unknown, version()).unwrap().message_type(),
        MessageType::Unknown(9999)
    );
    let counters = sim.counters();
    assert_eq!(counters.faults.get("unknown-message"), Some(&1));
}

#[test]
fn a_silent_session_is_closed_after_its_idle_timeout() {
    let sim = Simulator::start(SimConfig {
        idle_timeout_override_ms: Some(100),
        ..SimConfig::loopback()
    })
    .unwrap();
    let mut c = RawClient::connect(&sim);
    c.open("chli4020");
    // Nothing more is sent: the server closes the connection by itself.
    assert!(c.next().is_none());
    assert_eq!(sim.counters().idle_timeouts, 1);
    assert!(!sim.agent("chli4020").unwrap().connected);
}

#[test]
fn version_18_is_answered_with_two_byte_tags() {
    let sim = Simulator::start(SimConfig::loopback()).unwrap();
    let mut c = RawClient::connect(&sim);
    c.version = WireVersion::new(18);
    c.send(MessageType::OpenReq, |e| {
        e.set(fields::open_req::VERSION_NUMBER, 18)
            .set(fields::open_req::IDLE_TIMEOUT, 80)
            .set(fields::open_req::SERVICES_REQUESTED, 7);
        e.string(tag::CLIENT_ID, "t")
            .bytes(tag::CLIENT_PASSWORD, &[]);
        e.string(tag::AGENT_ID, "chli4020");
    });
    let conf = c.expect(MessageType::OpenConf);
    let msg = decode(&conf, WireVersion::new(18)).unwrap();
    assert_eq!(msg.string(tag::AGENT_ID), Some("chli4020"));
    assert_eq!(msg.number(tag::CONFIG_MSG_MASK_GRANTED), Some(0));
    // The same bytes do not read as version 17.
    assert!(decode(&conf, WireVersion::new(17))
        .map(|m| m.string(tag::AGENT_ID) != Some("chli4020"))
        .unwrap_or(true));
}

#[test]
fn a_scripted_call_rings_at_a_ready_agent() {
    let mut cfg = SimConfig::loopback();
    cfg.inbound.calls = vec![InboundCall {
        at_ms: 0,
        ani: "5559999".into(),
        call_vars: vec!["order 42".into()],
        vars: vec![("user.layout".into(), "Default".into())],
        ..InboundCall::default()
    }];
    let sim = Simulator::start(cfg).unwrap();
    let mut c = RawClient::connect(&sim);
    c.open("chli4020");
    c.set_state(AgentState::Login, 0);
    c.set_state(AgentState::Available, 0);
    c.expect(MessageType::AgentStateEvent);
    let begin = c.expect(MessageType::BeginCallEvent);
    let m = decode(&begin, version()).unwrap();
    assert_eq!(
        m.get(fields::begin_call_event::CALL_TYPE),
        Some(CallType::AcdIn)
    );
    assert_eq!(m.string(tag::ANI), Some("5559999"));
    assert_eq!(m.string(tag::CALL_VAR1), Some("order 42"));
    assert_eq!(m.named_var("user.layout"), Some("Default"));
    c.expect(MessageType::CallDeliveredEvent);
    assert_eq!(sim.counters().inbound_offered, 1);
}
