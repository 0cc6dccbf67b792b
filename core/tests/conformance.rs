//! Conformance to Cisco's published Unified CCX CTI pages: frames laid out byte by byte as a
//! page gives them, decoded, rendered and encoded again. Each test names its page
//! (https://developer.cisco.com/docs/contact-center-express/<page>).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use ccx_cti::trace;
use ccx_cti::wire::{
    self, decode, fields, tag, CCXStatus, CallType, CalledPartyDisposition, ControlFailureCode,
    DecodeErrorKind, Encoder, EventReasonCode, MessageType, PeripheralErrorCode, SystemEventID,
    WireVersion,
};
use common::hex_of;

/// Builds a frame the way a page lays it out: a fixed part, then floating fields with the tag
/// and length widths of `version` (1-byte tag for v10-17, 2-byte tag from v18; 1-byte length).
struct Frame {
    version: u32,
    body: Vec<u8>,
}

impl Frame {
    fn new(version: u32) -> Self {
        Self {
            version,
            body: Vec::new(),
        }
    }
    fn u16(mut self, v: u16) -> Self {
        self.body.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn u32(mut self, v: u32) -> Self {
        self.body.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn u8(mut self, v: u8) -> Self {
        self.body.push(v);
        self
    }
    fn field(mut self, tag: u16, data: &[u8]) -> Self {
        if self.version >= 18 {
            self.body.extend_from_slice(&tag.to_be_bytes());
        } else {
            self.body.push(u8::try_from(tag).unwrap());
        }
        self.body.push(u8::try_from(data.len()).unwrap());
        self.body.extend_from_slice(data);
        self
    }
    fn string(self, tag: u16, s: &str) -> Self {
        let data = [s.as_bytes(), &[0]].concat();
        self.field(tag, &data)
    }
    fn frame(self, message: u32) -> Vec<u8> {
        let len = u32::try_from(self.body.len()).unwrap();
        [&len.to_be_bytes()[..], &message.to_be_bytes(), &self.body].concat()
    }
}

fn text(msg: &wire::Message<'_>) -> String {
    trace::display(msg).to_string()
}

/// Text -> frame, the way `ccx encode` does it.
fn encode_text(text: &str, version: u32) -> Vec<u8> {
    let mut buf = [0u8; 4096];
    let n = trace::parse_message(text, &mut buf, WireVersion::new(version))
        .unwrap_or_else(|e| panic!("v{version}: {e}\n{text}"));
    buf[..n].to_vec()
}

// ---- SNAPSHOT_CALL_CONF ----

/// A supervisor's snapshot of a two-party call, laid out as
/// https://developer.cisco.com/docs/contact-center-express/snapshot_call_conf gives it: InvokeID,
/// CallType (0), reserved, NumCallDevices, NumNamedVariables, NumNamedArrays, reserved, and from
/// protocol version 11 a reserved INT; then ANI, DNIS, DialedNumber, CallerEnteredDigits, the
/// required reserved[72] and reserved[73] UINTs, CallVariable1..10, CallWrapupData, the named
/// variables and one record per call device (the fields its NumCallDevices text names).
fn snapshot_call_conf(version: u32) -> Vec<u8> {
    let mut f = Frame::new(version)
        .u32(9) // InvokeID
        .u16(0) // CallType: "This value is set to 0."
        .u16(0) // reserved
        .u16(2) // NumCallDevices
        .u16(1) // NumNamedVariables
        .u16(0) // NumNamedArrays
        .u16(0); // reserved
    if version >= 11 {
        f = f.u32(0); // reserved INT, "only available in CTI Protocol version 11 and later"
    }
    f = f
        .string(tag::ANI, "2006")
        .string(tag::DNIS, "7000")
        .string(tag::DIALED_NUMBER, "7000")
        .string(tag::CALLER_ENTERED_DIGITS, "1")
        .field(72, &0u32.to_be_bytes())
        .field(73, &0u32.to_be_bytes());
    for (i, t) in (tag::CALL_VAR1..=tag::CALL_VAR10).enumerate() {
        f = f.string(t, &format!("var{}", i + 1));
    }
    f = f
        .string(tag::CALL_WRAPUP_DATA, "wrap")
        .string(tag::NAMED_VARIABLE, "BAStatus\0CO");
    for (call, device) in [(16_777_301u32, "4020"), (16_777_301, "9026")] {
        f = f
            .field(tag::CALL_CONNECTION_CALL_ID, &call.to_be_bytes())
            .field(tag::CALL_CONNECTION_DEVICE_TYPE, &0u16.to_be_bytes())
            .string(tag::CALL_CONNECTION_DEVICE_ID, device)
            .field(tag::CALL_DEVICE_TYPE, &0u16.to_be_bytes())
            .string(tag::CALL_DEVICE_ID, device)
            .field(tag::CALL_DEVICE_CONNECTION_STATE, &3u16.to_be_bytes());
    }
    f.frame(83)
}

#[test]
fn snapshot_call_conf_decodes_as_the_page_lays_it_out_under_versions_10_17_and_18() {
    // https://developer.cisco.com/docs/contact-center-express/snapshot_call_conf
    for version in [10, 17, 18] {
        let frame = snapshot_call_conf(version);
        let msg =
            decode(&frame, WireVersion::new(version)).unwrap_or_else(|e| panic!("v{version}: {e}"));
        let shown = text(&msg);
        // Every field named: no unknown tag, no reserved slot that differs from its constant.
        assert!(!shown.contains("Tag<"), "v{version}:\n{shown}");
        assert!(!shown.contains("Reserved@"), "v{version}:\n{shown}");
        for line in [
            "MsgType: SNAPSHOT_CALL_CONF\n  InvokeID: 9\n  CallType: CALLTYPE_INVALID\n  NumCallDevices: 2\n  NumNamedVariables: 1\n  NumNamedArrays: 0\n",
            "  ANI: 2006\n  DNIS: 7000\n  DialedNumber: 7000\n  CallerEnteredDigits: 1\n  Reserved72: 0\n  Reserved73: 0\n  CallVar1: var1\n",
            "  CallVar10: var10\n  CallWrapupData: wrap\n  ExpandedCallContxt: <TotalBytes: ",
            "  BAStatus: CO\n",
            "  CallConnectionCallID[0]: 16777301\n  CallConnectionDeviceType[0]: 0\n  CallConnectionDeviceID[0]: 4020\n",
            "  CallDeviceID[1]: 9026\n  CallDeviceConnectionState[1]: 3\n",
        ] {
            assert!(shown.contains(line), "v{version}: missing {line:?} in\n{shown}");
        }
        use fields::snapshot_call_conf as f;
        assert_eq!(msg.get(f::CALL_TYPE), Some(CallType::Invalid));
        assert_eq!(msg.get(f::NUM_CALL_DEVICES), Some(2));
        assert_eq!(msg.named_var("BAStatus"), Some("CO"));
        // The fixed part is 16 bytes under v10 and 20 from v11.
        let fixed = if version >= 11 { 20 } else { 16 };
        assert_eq!(msg.fixed_part().len(), fixed, "v{version}");
        // Text back to bytes, byte-exact.
        assert_eq!(
            hex_of(&encode_text(&shown, version)),
            hex_of(&frame),
            "v{version}"
        );
    }
}

#[test]
fn snapshot_call_conf_under_v10_does_not_read_the_v11_reserved_int() {
    // https://developer.cisco.com/docs/contact-center-express/snapshot_call_conf: the reserved
    // INT exists from version 11; a v11 frame read as v10 has 4 bytes that are no field.
    let frame = snapshot_call_conf(11);
    let shown = text(&decode(&frame, WireVersion::new(11)).unwrap());
    assert!(!shown.contains("Tag<"), "{shown}");
    assert!(decode(&frame, WireVersion::new(10))
        .map(|m| text(&m))
        .map_or(true, |t| t != shown));
}

// ---- CONTROL_FAILURE_CONF ----

#[test]
fn control_failure_conf_prints_its_failure_code_by_name_and_its_text() {
    // https://developer.cisco.com/docs/contact-center-express/control_failure_conf (fixed part,
    // Text[7] STRING 255) and .../control-failure-cf-values (14 = CF_INVALID_DESTINATION),
    // .../unified-ccx-error-code-values (88005 = CCX_AGENT_DEVICE_BUSY).
    for version in [10, 17, 18] {
        let frame = Frame::new(version)
            .u32(42)
            .u16(14)
            .u32(88005)
            .string(tag::TEXT, "Destination 9999 is not valid")
            .frame(35);
        let msg = decode(&frame, WireVersion::new(version)).unwrap();
        assert_eq!(
            text(&msg),
            "MsgType: CONTROL_FAILURE_CONF\n  InvokeID: 42\n  FailureCode: CF_INVALID_DESTINATION\n  PeripheralErrorCode: CCX_AGENT_DEVICE_BUSY\n  Text: Destination 9999 is not valid\n",
            "v{version}"
        );
        use fields::control_failure_conf as f;
        assert_eq!(
            msg.get(f::FAILURE_CODE),
            Some(ControlFailureCode::InvalidDestination)
        );
        assert_eq!(
            msg.get(f::PERIPHERAL_ERROR_CODE),
            Some(PeripheralErrorCode::AgentDeviceBusy)
        );
        assert_eq!(msg.string(tag::TEXT), Some("Destination 9999 is not valid"));
        assert_eq!(hex_of(&encode_text(&text(&msg), version)), hex_of(&frame));
    }
}

#[test]
fn control_failure_codes_follow_the_cf_values_page() {
    // https://developer.cisco.com/docs/contact-center-express/control-failure-cf-values
    for (value, name) in [
        (0, "CF_GENERIC_UNSPECIFIED"),
        (1, "CF_GENERIC_OPERATION"),
        (13, "CF_INVALID_CSTA_CONNECTION_ID"),
        (14, "CF_INVALID_DESTINATION"),
        (19, "CF_SECURITY_VIOLATION"),
        (21, "CF_GENERIC_STATE_INCOMPATIBILITY"),
    ] {
        assert_eq!(ControlFailureCode::from_value(value).name(), Some(name));
    }
    // 20 is not on the page, and the page is cut off after 21.
    assert_eq!(
        ControlFailureCode::from_value(20),
        ControlFailureCode::Unknown(20)
    );
    assert_eq!(
        ControlFailureCode::from_value(22),
        ControlFailureCode::Unknown(22)
    );
}

// ---- CallType, CalledPartyDisposition, EventReasonCode: UCCX names printed, UCCE accepted ----

fn begin_call_with(call_type: &str, disposition: &str) -> String {
    format!(
        "MsgType: BEGIN_CALL_EVENT\n  CallType: {call_type}\n  ConnectionCallID: 7\n  CalledPartyDisposition: {disposition}\n  ConnectionDeviceID: 4020\n"
    )
}

#[test]
fn unified_cce_call_type_names_are_accepted_and_unified_ccx_names_printed() {
    // https://developer.cisco.com/docs/contact-center-express/calltype-values
    for (input, value, printed) in [
        ("CALLTYPE_ACD_IN", 1u16, "CALLTYPE_CCX_IN"),
        ("CALLTYPE_CCX_IN", 1, "CALLTYPE_CCX_IN"),
        ("CALLTYPE_INVALID", 0, "CALLTYPE_INVALID"),
        (
            "CALLTYPE_SUPERVISOR_BARGEIN",
            23,
            "CALLTYPE_SUPERVISOR_BARGE_IN",
        ),
        ("CUSTOMER_PREDICTIVE", 34, "CALLTYPE_AGENT_OUTBOUND"),
        ("CALLTYPE_AGENT_OUTBOUND", 34, "CALLTYPE_AGENT_OUTBOUND"),
        ("CALLTYPE_TRANSFERRED_IN", 4, "CALLTYPE_TRANSFER_IN"),
        ("CALLTYPE_PREVIEW", 17, "CALLTYPE_PREVIEW"),
        ("CALLTYPE_RESERVATION", 18, "CALLTYPE_RESERVATION"),
    ] {
        let frame = encode_text(&begin_call_with(input, "CD_INVALID"), 17);
        // BEGIN_CALL_EVENT body offset 16 is CallType.
        assert_eq!(&frame[8 + 16..8 + 18], &value.to_be_bytes(), "{input}");
        let shown = text(&decode(&frame, WireVersion::new(17)).unwrap());
        assert!(
            shown.contains(&format!("  CallType: {printed}\n")),
            "{input}:\n{shown}"
        );
        // What is printed reads back as the same bytes.
        assert_eq!(encode_text(&shown, 17), frame, "{input}");
    }
    // The former Rust names stay usable for the renamed values.
    assert_eq!(CallType::AcdIn, CallType::CcxIn);
    assert_eq!(CallType::SupervisorBargein, CallType::SupervisorBargeIn);
    assert_eq!(CallType::CustomerPredictive, CallType::AgentOutbound);
    assert_eq!(CallType::CcxIn.value(), 1);
}

#[test]
fn dispositions_print_the_pages_meanings() {
    // https://developer.cisco.com/docs/contact-center-express/disposition-values: 15, 29, 30;
    // 0 is not on the page and keeps the name the guide's sample flows print (CD_INVALID).
    for (value, printed) in [
        (0u16, "CD_INVALID"),
        (15, "Redirected"),
        (29, "Announced Transfer"),
        (30, "Conferenced"),
    ] {
        let frame = encode_text(&begin_call_with("CALLTYPE_CCX_IN", printed), 17);
        assert_eq!(&frame[8 + 24..8 + 26], &value.to_be_bytes(), "{printed}");
        let msg = decode(&frame, WireVersion::new(17)).unwrap();
        assert!(text(&msg).contains(&format!("  CalledPartyDisposition: {printed}\n")));
        assert_eq!(
            msg.get(fields::begin_call_event::CALLED_PARTY_DISPOSITION),
            Some(CalledPartyDisposition::from_value(value))
        );
    }
    assert_eq!(
        CalledPartyDisposition::from_value(28),
        CalledPartyDisposition::Unknown(28)
    );
}

#[test]
fn reason_codes_follow_the_reason_codes_page() {
    // https://developer.cisco.com/docs/contact-center-express/reason-codes-for-agent-state-change
    for (value, name) in [
        (32749, "AGT_CANCEL_CONSULT"),
        (32747, "AGT_RESERVED_OUTBOUND"),
        (32746, "AGT_RESERVED_OUTBOUND_DIRECTPREVIEW"),
        (32743, "EMAIL_CONTACT_NOT_ACCEPTED"),
        (32742, "AGT_SEC_LINE_OFFHOOK"),
        (32741, "AGT_EXTENSION_CONFLICT"),
    ] {
        assert_eq!(EventReasonCode::from_value(value).name(), Some(name));
        assert_eq!(EventReasonCode::DEF.value_of(name), Some(u32::from(value)));
    }
    // The page goes from 32749 to 32747: 32748 is not a CTI reason code.
    assert_eq!(
        EventReasonCode::from_value(32748),
        EventReasonCode::Unknown(32748)
    );
    // Trace text prints the field as a number (the guide's traces do), new codes included.
    let frame = Frame::new(17)
        .u32(0)
        .u32(1)
        .u32(0)
        .u16(21)
        .u16(8)
        .u32(0)
        .u32(u32::MAX)
        .u32(u32::MAX)
        .u16(0)
        .u16(8) // AgentState RESERVED
        .u16(32746)
        .u32(1)
        .u32(0)
        .u16(0)
        .u32(0)
        .u32(0)
        .u32(1)
        .u16(0)
        .frame(30);
    let shown = text(&decode(&frame, WireVersion::new(17)).unwrap());
    assert!(shown.contains("  EventReasonCode: 32746\n"), "{shown}");
}

// ---- v18: tags 302-305 and SET_AGENT_STATE_REQ ActiveTerminal ----

#[test]
fn the_v18_terminal_tags_have_the_pages_names_types_and_sizes() {
    // https://developer.cisco.com/docs/contact-center-express/config_terminal_event
    use wire::spec::TagType;
    for (id, name, ty, max) in [
        (302, "TerminalType", TagType::Ushort, 2),
        (303, "TerminalDeviceName", TagType::String, 64),
        (304, "TerminalTypeName", TagType::String, 100),
        (305, "NumInstruments", TagType::Ushort, 2),
    ] {
        let def = wire::tag_def(id).unwrap();
        assert_eq!((def.name, def.ty, def.max), (name, ty, max), "tag {id}");
    }
    assert_eq!(
        [
            tag::TERMINAL_TYPE,
            tag::TERMINAL_DEVICE_NAME,
            tag::TERMINAL_TYPE_NAME,
            tag::NUM_INSTRUMENTS
        ],
        [302, 303, 304, 305]
    );
    // Known types are checked in any message: a 4-byte TerminalType is refused.
    let good = Frame::new(18)
        .u32(1)
        .field(tag::TERMINAL_TYPE, &7u16.to_be_bytes())
        .field(tag::NUM_INSTRUMENTS, &1u16.to_be_bytes())
        .frame(39);
    let msg = decode(&good, WireVersion::new(18)).unwrap();
    assert_eq!(msg.number(tag::TERMINAL_TYPE), Some(7));
    assert_eq!(msg.number(tag::NUM_INSTRUMENTS), Some(1));
    let bad = Frame::new(18)
        .u32(1)
        .field(tag::TERMINAL_TYPE, &7u32.to_be_bytes())
        .frame(39);
    assert!(matches!(
        decode(&bad, WireVersion::new(18)).unwrap_err().kind,
        DecodeErrorKind::FieldSize {
            tag: 302,
            length: 4,
            expected: 2
        }
    ));
}

/// SET_AGENT_STATE_REQ at LOGIN under v18 with Agent Device Selection, laid out as
/// https://developer.cisco.com/docs/contact-center-express/set_agent_state_req gives it.
fn login_with_active_terminal() -> Vec<u8> {
    Frame::new(18)
        .u32(5) // InvokeID
        .u32(1) // reserved
        .u16(0) // AgentState LOGIN
        .u16(0)
        .u16(0)
        .u16(0) // EventReasonCode
        .u8(0) // ForcedFlag
        .u32(1) // AgentCapacity (v12+)
        .string(tag::AGENT_INSTRUMENT, "4020")
        .string(tag::AGENT_PASSWORD, "pw")
        .string(tag::AGENT_ID, "jdoe")
        .string(303, "SEP001122334455") // ActiveTerminal[303], v18
        .frame(38)
}

#[test]
fn set_agent_state_req_carries_active_terminal_under_v18() {
    // https://developer.cisco.com/docs/contact-center-express/set_agent_state_req
    let frame = login_with_active_terminal();
    // The v18 tag is two bytes: 0x012F.
    assert!(hex_of(&frame).contains("012f10534550303031313232333334343535"));
    let msg = decode(&frame, WireVersion::new(18)).unwrap();
    assert_eq!(
        msg.string(tag::TERMINAL_DEVICE_NAME),
        Some("SEP001122334455")
    );
    let shown = trace::display_with(
        &msg,
        trace::TraceOptions {
            show_secrets: true,
            indent: 2,
        },
    )
    .to_string();
    assert!(
        shown.ends_with("  AgentID: jdoe\n  ActiveTerminal: SEP001122334455\n"),
        "{shown}"
    );
    assert_eq!(hex_of(&encode_text(&shown, 18)), hex_of(&frame));
    // The typed encoder writes the same bytes.
    let mut buf = [0u8; 128];
    let mut enc = Encoder::new(
        &mut buf,
        MessageType::SetAgentStateReq,
        WireVersion::new(18),
    );
    enc.set(fields::set_agent_state_req::INVOKE_ID, 5)
        .set(
            fields::set_agent_state_req::AGENT_STATE,
            wire::AgentState::Login,
        )
        .set(fields::set_agent_state_req::AGENT_CAPACITY, 1)
        .string(tag::AGENT_INSTRUMENT, "4020")
        .string(tag::AGENT_PASSWORD, "pw")
        .string(tag::AGENT_ID, "jdoe")
        .string(tag::TERMINAL_DEVICE_NAME, "SEP001122334455");
    let n = enc.finish().unwrap();
    assert_eq!(hex_of(&buf[..n]), hex_of(&frame));
    // Its own label in this message; v18 and later only.
    let def = wire::message_def(38).unwrap().layout.unwrap();
    let at = def.floating_tag(303).unwrap();
    assert_eq!((at.label, at.since_version), ("ActiveTerminal", 18));
}

// ---- MAKE_CALL_CONF, QUERY_DEVICE_INFO_REQ/CONF ----

#[test]
fn make_call_conf_requires_new_connection_device_id() {
    // https://developer.cisco.com/docs/contact-center-express/make_call_conf
    let layout = wire::message_def(57).unwrap().layout.unwrap();
    assert!(
        layout
            .floating_tag(tag::NEW_CONNECTION_DEVICE_ID)
            .unwrap()
            .required
    );
    let frame = Frame::new(17)
        .u32(3)
        .u32(16_777_400)
        .u16(0)
        .u16(0xFFFF)
        .u16(3)
        .string(tag::NEW_CONNECTION_DEVICE_ID, "4020")
        .frame(57);
    let msg = decode(&frame, WireVersion::new(17)).unwrap();
    assert_eq!(
        text(&msg),
        "MsgType: MAKE_CALL_CONF\n  InvokeID: 3\n  NewConnectionCallID: 16777400\n  NewConnectionDeviceType: CONNECTION_ID_STATIC\n  NewConnectionDeviceID: 4020\n"
    );
}

#[test]
fn query_device_info_is_supported_with_the_pages_layouts() {
    // https://developer.cisco.com/docs/contact-center-express/call-control-message-summary-descriptions
    // lists both; .../query_device_info_req and .../query_device_info_conf give the layouts.
    for id in [78, 79] {
        assert_eq!(
            wire::message_def(id).unwrap().support,
            wire::spec::Support::Yes
        );
    }
    let req = Frame::new(17)
        .u32(11)
        .u32(1)
        .u16(0)
        .string(tag::AGENT_INSTRUMENT, "4020")
        .frame(78);
    let mut buf = [0u8; 64];
    let mut enc = Encoder::new(
        &mut buf,
        MessageType::QueryDeviceInfoReq,
        WireVersion::new(17),
    );
    enc.set(fields::query_device_info_req::INVOKE_ID, 11)
        .string(tag::AGENT_INSTRUMENT, "4020");
    let n = enc.finish().unwrap();
    assert_eq!(hex_of(&buf[..n]), hex_of(&req));
    let conf = Frame::new(17)
        .u32(11)
        .u16(0xFFFF)
        .u16(0xFFFF)
        .u16(0xFFFF)
        .u16(0)
        .u16(0)
        .u16(2) // MaxActiveCalls
        .u16(0xFFFF) // MaxHeldCalls unknown
        .u16(3) // MaxDevicesInConference
        .u32(0x1F) // MakeCallSetup
        .u32(0)
        .u32(0)
        .u32(0)
        .u32(0)
        .field(70, &0u16.to_be_bytes())
        .frame(79);
    let msg = decode(&conf, WireVersion::new(17)).unwrap();
    let shown = text(&msg);
    assert_eq!(
        shown,
        "MsgType: QUERY_DEVICE_INFO_CONF\n  InvokeID: 11\n  MaxActiveCalls: 2\n  MaxHeldCalls: N/A\n  MaxDevicesInConference: 3\n  MakeCallSetup: 31\n  Reserved70: 0\n"
    );
    assert_eq!(hex_of(&encode_text(&shown, 17)), hex_of(&conf));
}

// ---- SYSTEM_EVENT values the phone matches on ----

#[test]
fn system_event_ids_and_ccx_status_follow_their_pages() {
    // https://developer.cisco.com/docs/contact-center-express/systemeventid-values and
    // .../unified-ccx-status-values
    assert_eq!(SystemEventID::from_value(3), SystemEventID::CcxOnline);
    assert_eq!(SystemEventID::from_value(4), SystemEventID::CcxOffline);
    assert_eq!(
        SystemEventID::from_value(10),
        SystemEventID::InstrumentOutOfService
    );
    assert_eq!(
        SystemEventID::from_value(11),
        SystemEventID::InstrumentBackInService
    );
    for (value, status) in [
        (0x100, CCXStatus::Initializing),
        (0x200, CCXStatus::ShuttingDown),
        (0x300, CCXStatus::Shutdown),
        (0x400, CCXStatus::InService),
        (0x500, CCXStatus::PartialService),
        (0x600, CCXStatus::OutOfService),
    ] {
        assert_eq!(CCXStatus::from_value(value), status);
    }
    // 0 is "no failure" on the system_event page but not a named status value.
    assert_eq!(CCXStatus::from_value(0), CCXStatus::Unknown(0));
}
