//! The core on an emulated Cortex-M4: codec vectors, framing, the trace parser and the phone
//! playing the outbound preview flows, all compiled for thumbv7em-none-eabihf and run in qemu.
#![no_std]
#![no_main]

use ccx_cti::phone::{Event, Instant, TransportAction};
use ccx_cti_preview_story::PreviewServer;
use ccx_cti_target_tests as _;

/// The guide's skip-flow CALL_DATA_UPDATE_EVENT (tests/flows/outbound-skip.flow step 2) under
/// protocol version 17.
const SKIP_UPDATE_HEX: &str = "0000004e0000001900000000000000010015000000010000001200000100596200000100596200000000000000000000190534303230002f05343032300052104241526573706f6e736500536b6970005f0100600100";

/// The same message as trace text (FORMAT.md §1).
const SKIP_UPDATE_TEXT: &str = "MsgType: CALL_DATA_UPDATE_EVENT
  NumCTIClients: 0
  NumNamedVariables: 1
  NumNamedArrays: 0
  CallType: CALLTYPE_RESERVATION
  ConnectionDeviceType: CONNECTION_ID_STATIC
  ConnectionCallID: 16800098
  NewConnectionDeviceType: CONNECTION_ID_STATIC
  NewConnectionCallID: 16800098
  CalledPartyDisposition: CD_INVALID
  CampaignID: 0
  QueryRuleID: 0
  ConnectionDeviceID: 4020
  NewConnectionDeviceID: 4020
  ExpandedCallContxt: <TotalBytes: 18>
  BAResponse: Skip
  CustomerPhoneNumber:
  CustomerAccountNumber:
";

const NOW: Instant = Instant::from_millis(5_000);

ccx_cti::phone_type! {
    /// The default capacities with a 1 KiB frame accumulator: the story's frames fit, and the
    /// phone fits this test's stack.
    type TestPhone = Phone {
        calls: 4,
        var_bytes: 512,
        pending: 8,
        tx_bytes: 1024,
        events: 16,
        frame_bytes: 1024,
    };
}

/// Move bytes between `phone` and `server` until neither has anything to say; returns the
/// phone's events.
fn exchange(phone: &mut TestPhone, server: &mut PreviewServer) -> heapless::Vec<Event, 64> {
    let mut events = heapless::Vec::new();
    let mut out = [0u8; 1024];
    loop {
        let mut progressed = false;
        while let Some(TransportAction::Connect { .. }) = phone.poll_transport(NOW) {
            phone.connected(NOW);
            progressed = true;
        }
        while let Some(len) = phone.poll_transmit(&mut out) {
            server.receive(&out[..len]);
            progressed = true;
        }
        if !server.output().is_empty() {
            phone.handle_bytes(NOW, server.output());
            let n = server.output().len();
            server.consume_output(n);
            progressed = true;
        }
        while let Some(event) = phone.poll_event() {
            events.push(event).unwrap();
            progressed = true;
        }
        assert_eq!(server.failure(), None);
        if !progressed {
            return events;
        }
    }
}

#[defmt_test::tests]
mod tests {
    use super::TestPhone;
    use super::{exchange, NOW, SKIP_UPDATE_HEX, SKIP_UPDATE_TEXT};
    use ccx_cti::phone::{Command, Event, PreviewAnswer, SessionState};
    use ccx_cti::wire::{
        decode, fields, tag, AgentState, CallType, CalledPartyDisposition, ConnectionDeviceType,
        Encoder, FeedResult, FrameAccumulator, MessageType, WireVersion,
    };
    use ccx_cti_preview_story::{
        check_final_state, play_in_memory, story_config, Ending, PreviewServer, Stage, ACCEPT_CALL,
        PORT, SKIP_CALL,
    };
    use ccx_cti_target_tests::hex;
    use defmt::{assert, assert_eq};

    const V17: WireVersion = WireVersion::new(17);

    #[test]
    fn encodes_the_skip_flow_call_data_update() {
        use fields::call_data_update_event as f;
        let mut expected = [0u8; 128];
        let expected_len = hex(SKIP_UPDATE_HEX, &mut expected);
        let mut buf = [0u8; 128];
        let mut enc = Encoder::new(&mut buf, MessageType::CallDataUpdateEvent, V17);
        enc.set(f::CALL_TYPE, CallType::Reservation)
            .set(f::CONNECTION_DEVICE_TYPE, ConnectionDeviceType::Static)
            .set(f::CONNECTION_CALL_ID, 16_800_098)
            .set(f::NEW_CONNECTION_DEVICE_TYPE, ConnectionDeviceType::Static)
            .set(f::NEW_CONNECTION_CALL_ID, 16_800_098)
            .set(
                f::CALLED_PARTY_DISPOSITION,
                CalledPartyDisposition::CdInvalid,
            )
            .string(tag::CONNECTION_DEVICE_ID, "4020")
            .string(tag::NEW_CONNECTION_DEVICE_ID, "4020")
            .named_var("BAResponse", "Skip")
            .string(tag::CUSTOMER_PHONE_NUMBER, "")
            .string(tag::CUSTOMER_ACCOUNT_NUMBER, "");
        let len = enc.finish().unwrap();
        assert_eq!(&buf[..len], &expected[..expected_len]);
    }

    #[test]
    fn decodes_the_skip_flow_call_data_update() {
        use fields::call_data_update_event as f;
        let mut frame = [0u8; 128];
        let len = hex(SKIP_UPDATE_HEX, &mut frame);
        let msg = decode(&frame[..len], V17).unwrap();
        assert_eq!(msg.message_type(), MessageType::CallDataUpdateEvent);
        assert_eq!(msg.get(f::CALL_TYPE), Some(CallType::Reservation));
        assert_eq!(msg.get(f::CONNECTION_CALL_ID), Some(16_800_098));
        assert_eq!(msg.get(f::NEW_CONNECTION_CALL_ID), Some(16_800_098));
        assert_eq!(msg.get(f::NUM_NAMED_VARIABLES), Some(1));
        assert_eq!(msg.string(tag::CONNECTION_DEVICE_ID), Some("4020"));
        assert_eq!(msg.string(tag::CUSTOMER_PHONE_NUMBER), Some(""));
        assert_eq!(msg.named_var("BAResponse"), Some("Skip"));
        assert_eq!(msg.named_vars().count(), 1);
        assert_eq!(msg.named_total_bytes(), 18);
    }

    #[test]
    fn parses_the_trace_text_into_the_same_frame() {
        let mut expected = [0u8; 128];
        let expected_len = hex(SKIP_UPDATE_HEX, &mut expected);
        let mut buf = [0u8; 128];
        let len = ccx_cti::trace::parse_message(SKIP_UPDATE_TEXT, &mut buf, V17).unwrap();
        assert_eq!(&buf[..len], &expected[..expected_len]);
    }

    #[test]
    fn frame_accumulator_joins_a_frame_split_anywhere() {
        let mut frame = [0u8; 128];
        let len = hex(SKIP_UPDATE_HEX, &mut frame);
        // Two frames back to back, cut at every point.
        let mut stream = [0u8; 256];
        stream[..len].copy_from_slice(&frame[..len]);
        stream[len..2 * len].copy_from_slice(&frame[..len]);
        let stream = &stream[..2 * len];
        for cut in 0..=stream.len() {
            let mut acc: FrameAccumulator<256> = FrameAccumulator::new();
            let mut frames = 0;
            for chunk in [&stream[..cut], &stream[cut..]] {
                let mut input = chunk;
                loop {
                    match acc.feed(input) {
                        FeedResult::Consumed => break,
                        FeedResult::Frame {
                            frame: got,
                            remaining,
                        } => {
                            assert_eq!(got, &frame[..len]);
                            frames += 1;
                            input = remaining;
                        }
                        FeedResult::Error { .. } => defmt::panic!("framing error at cut {}", cut),
                    }
                }
            }
            assert_eq!(frames, 2);
            assert_eq!(acc.buffered(), 0);
        }
    }

    #[test]
    fn frame_accumulator_refuses_a_frame_too_long() {
        let mut acc: FrameAccumulator<64> = FrameAccumulator::new();
        let header = [0, 0, 0x10, 0, 0, 0, 0, 25];
        assert!(matches!(acc.feed(&header), FeedResult::Error { .. }));
    }

    #[test]
    fn phone_plays_the_skip_flow() {
        let mut phone = TestPhone::new(story_config("10.0.0.1", PORT));
        let mut server = PreviewServer::new();
        exchange(&mut phone, &mut server);
        assert_eq!(phone.session().state, SessionState::Open);
        phone
            .command(NOW, Command::Login { password: None })
            .unwrap();
        exchange(&mut phone, &mut server);
        assert_eq!(phone.agent().state, AgentState::NotReady);
        phone.command(NOW, Command::Ready).unwrap();
        let events = exchange(&mut phone, &mut server);

        // Step 0: reserved, the contact is offered.
        assert!(events.contains(&Event::PreviewOffered { call: SKIP_CALL }));
        assert_eq!(phone.agent().state, AgentState::Reserved);
        assert_eq!(phone.preview().map(|c| c.id), Some(SKIP_CALL));
        let call = phone.call(SKIP_CALL).unwrap();
        assert_eq!(call.call_type, CallType::Reservation);
        assert_eq!(call.var("BAStatus"), Some("DO"));
        assert_eq!(call.var("BABuddyName"), Some("John,Doe"));

        // Step 1: the agent skips; the phone sends SET_CALL_DATA_REQ BAResponse=Skip.
        phone
            .command(NOW, Command::Preview(PreviewAnswer::Skip))
            .unwrap();
        let mut out = [0u8; 1024];
        let len = phone.poll_transmit(&mut out).unwrap();
        {
            let msg = decode(&out[..len], V17).unwrap();
            assert_eq!(msg.message_type(), MessageType::SetCallDataReq);
            assert_eq!(
                msg.get(fields::set_call_data_req::CONNECTION_CALL_ID),
                Some(SKIP_CALL)
            );
            assert_eq!(msg.named_var("BAResponse"), Some("Skip"));
        }
        assert!(phone.preview().is_none());
        server.receive(&out[..len]);

        // Steps 1-3: confirmation, AVAILABLE, the echo, the reservation cleared (then the
        // script offers the next contact).
        exchange(&mut phone, &mut server);
        assert!(phone.call(SKIP_CALL).is_none());
        assert_eq!(server.stage(), Stage::AwaitAccept);
        assert_eq!(phone.preview().map(|c| c.id), Some(ACCEPT_CALL));

        // The accept flow: accept, echo, cleared, AVAILABLE.
        phone
            .command(NOW, Command::Preview(PreviewAnswer::Accept))
            .unwrap();
        exchange(&mut phone, &mut server);
        assert!(server.finished());
        assert_eq!(check_final_state(&phone, Ending::Available), Ok(()));
    }

    #[test]
    fn whole_preview_story_in_memory() {
        let mut phone = TestPhone::new(story_config("10.0.0.1", PORT));
        let (received, sent) = play_in_memory(&mut phone).unwrap();
        defmt::info!("server received {} messages and sent {}", received, sent);
        assert!(received >= 5);
    }
}
