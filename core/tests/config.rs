//! The configuration's three checks: `validate()` names every problem by field, the blob
//! refuses anything it cannot read whole, and the vocabulary holds as many reasons as its
//! owner sizes it for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use ccx_cti::config::{
    BlobError, ConfigError, ConfigField, ConfigWarning, Host, HostError, IdleTimeoutAdvice,
    IdleTimeoutError, PhoneConfig, ReasonKind, ServerAddr, Vocabulary, VocabularyError,
    BLOB_FORMAT_VERSION, BLOB_MAX_LEN,
};

/// A configuration every check accepts.
fn good() -> PhoneConfig {
    PhoneConfig {
        agent_id: "chli4020".try_into().unwrap(),
        agent_extension: "4020".try_into().unwrap(),
        agent_password: "secret".try_into().unwrap(),
        ..PhoneConfig::default()
    }
}

fn with(change: impl FnOnce(&mut PhoneConfig)) -> PhoneConfig {
    let mut c = good();
    change(&mut c);
    c
}

fn text<const N: usize>(len: usize) -> heapless::String<N> {
    "x".repeat(len).as_str().try_into().unwrap()
}

fn server(host: &str, port: u16) -> ServerAddr {
    ServerAddr {
        host: host.try_into().unwrap(),
        port,
    }
}

// ---- validate(): one test per error ----

#[test]
fn the_default_agent_is_valid_without_warning() {
    assert_eq!(good().validate(), Ok(None));
}

#[test]
fn extension_longer_than_the_tag_allows() {
    // AgentExtension's max is 16 with its NUL: 15 characters pass, 16 do not.
    assert_eq!(with(|c| c.agent_extension = text(15)).validate(), Ok(None));
    let e = with(|c| c.agent_extension = text(16))
        .validate()
        .unwrap_err();
    assert_eq!(
        e,
        ConfigError::TextTooLong {
            field: ConfigField::AgentExtension,
            length: 16,
            max: 15
        }
    );
    assert_eq!(
        e.to_string(),
        "agent_extension is 16 bytes long; the server takes at most 15"
    );
}

#[test]
fn instrument_longer_than_the_tag_allows() {
    assert_eq!(
        with(|c| c.agent_instrument = text(64)).validate(),
        Err(ConfigError::TextTooLong {
            field: ConfigField::AgentInstrument,
            length: 64,
            max: 63
        })
    );
}

#[test]
fn agent_password_longer_than_the_tag_allows_without_showing_it() {
    let e = with(|c| c.agent_password = "p".repeat(64).as_str().try_into().unwrap())
        .validate()
        .unwrap_err();
    assert_eq!(
        e,
        ConfigError::TextTooLong {
            field: ConfigField::AgentPassword,
            length: 64,
            max: 63
        }
    );
    assert!(!e.to_string().contains("pppp"));
}

#[test]
fn client_id_longer_than_the_tag_allows() {
    assert_eq!(
        with(|c| c.client_id = text(64)).validate(),
        Err(ConfigError::TextTooLong {
            field: ConfigField::ClientId,
            length: 64,
            max: 63
        })
    );
}

#[test]
fn agent_id_and_client_password_limits_are_the_tag_table_s() {
    // Their types hold exactly what the wire takes (AgentID 129 with NUL, ClientPassword
    // UNSPEC 64), so a full one is valid: the limit is not one byte short.
    assert_eq!(
        with(|c| {
            c.agent_id = text(128);
            c.client_password = text(64);
        })
        .validate(),
        Ok(None)
    );
}

#[test]
fn no_server() {
    let e = with(|c| c.servers.clear()).validate().unwrap_err();
    assert_eq!(e, ConfigError::NoServer);
    assert_eq!(e.field().name(), "servers");
}

#[test]
fn port_zero() {
    assert_eq!(
        with(|c| c.servers.push(server("10.0.0.6", 0)).unwrap()).validate(),
        Err(ConfigError::PortZero { server: 1 })
    );
}

#[test]
fn a_host_that_is_no_address_and_no_name() {
    for (host, problem) in [
        ("", HostError::Empty),
        ("cti_a.example", HostError::BadCharacter { at: 3 }),
        ("10.0.0.256", HostError::NotAnAddress),
        ("cti..example", HostError::BadLabelLength { at: 4 }),
        ("-cti.example", HostError::HyphenAtLabelEdge { at: 0 }),
        ("::1::2", HostError::BadCharacter { at: 0 }),
    ] {
        let e = with(|c| c.servers[0] = server(host, 12028))
            .validate()
            .unwrap_err();
        assert_eq!(e, ConfigError::BadHost { server: 0, problem }, "{host:?}");
        assert_eq!(e.field(), ConfigField::Servers);
    }
}

#[test]
fn hosts_are_typed_ipv4_ipv6_or_name() {
    assert_eq!(
        server("10.0.0.5", 1).host(),
        Ok(Host::Ipv4([10, 0, 0, 5].into()))
    );
    assert_eq!(
        server("fd00::5", 1).host(),
        Ok(Host::Ipv6("fd00::5".parse().unwrap()))
    );
    assert_eq!(
        server("[fd00::5]", 1).host(),
        Ok(Host::Ipv6("fd00::5".parse().unwrap()))
    );
    assert_eq!(
        server("uccx-a.example.com.", 1).host(),
        Ok(Host::Name("uccx-a.example.com."))
    );
    let label = format!("{}.example", "a".repeat(64));
    assert_eq!(
        ccx_cti::config::parse_host(&label),
        Err(HostError::BadLabelLength { at: 0 })
    );
    let long = ["a".repeat(60).as_str(); 5].join(".");
    assert_eq!(
        ccx_cti::config::parse_host(&long),
        Err(HostError::NameTooLong { length: 304 })
    );
}

#[test]
fn protocol_version_outside_10_to_18() {
    for version in [9, 19] {
        assert_eq!(
            with(|c| c.protocol_version = version).validate(),
            Err(ConfigError::ProtocolVersion { version })
        );
    }
    for version in [10, 18] {
        assert_eq!(with(|c| c.protocol_version = version).validate(), Ok(None));
    }
}

#[test]
fn v18_length_width_other_than_1_or_2() {
    assert_eq!(
        with(|c| c.v18_length_width = 7).validate(),
        Err(ConfigError::V18LengthWidth { width: 7 })
    );
    assert_eq!(with(|c| c.v18_length_width = 1).validate(), Ok(None));
}

#[test]
fn heartbeat_beyond_the_server_s_30_s() {
    let e = with(|c| {
        c.heartbeat_secs = 31;
        c.idle_timeout_secs = 119;
    })
    .validate()
    .unwrap_err();
    assert_eq!(e, ConfigError::HeartbeatTooLong { heartbeat_secs: 31 });
    assert_eq!(e.field(), ConfigField::HeartbeatSecs);
    // 0 turns heartbeats off.
    assert_eq!(with(|c| c.heartbeat_secs = 0).validate(), Ok(None));
}

#[test]
fn idle_timeout_goes_through_the_one_idle_timeout_rule() {
    assert_eq!(
        with(|c| c.idle_timeout_secs = 39).validate(),
        Err(ConfigError::IdleTimeout(
            IdleTimeoutError::BelowTwiceHeartbeat {
                idle_timeout_secs: 39,
                heartbeat_secs: 20
            }
        ))
    );
    assert_eq!(
        with(|c| c.idle_timeout_secs = 0).validate(),
        Err(ConfigError::IdleTimeout(
            IdleTimeoutError::BelowServerMinimum {
                idle_timeout_secs: 0
            }
        ))
    );
}

#[test]
fn idle_timeout_advice_is_a_warning_not_an_error() {
    let warning = with(|c| c.idle_timeout_secs = 40).validate().unwrap();
    assert_eq!(
        warning,
        Some(ConfigWarning::IdleTimeout(IdleTimeoutAdvice {
            recommended_secs: 80
        }))
    );
    assert!(warning
        .unwrap()
        .to_string()
        .starts_with("idle_timeout_secs: "));
}

#[test]
fn timers_below_one_second() {
    for (field, change) in [
        (
            ConfigField::ReconnectSecs,
            (|c: &mut PhoneConfig| c.reconnect_secs = 0) as fn(&mut PhoneConfig),
        ),
        (ConfigField::ConnectTimeoutSecs, |c| {
            c.connect_timeout_secs = 0
        }),
        (ConfigField::RequestTimeoutSecs, |c| {
            c.request_timeout_secs = 0
        }),
    ] {
        let e = with(change).validate().unwrap_err();
        assert_eq!(e, ConfigError::TimerTooShort { field, secs: 0 });
        assert!(e.to_string().starts_with(field.name()), "{e}");
    }
}

#[test]
fn every_problem_is_reported_in_field_order() {
    let bad = with(|c| {
        c.servers[0].port = 0;
        c.agent_extension = text(20);
        c.v18_length_width = 3;
        c.reconnect_secs = 0;
    });
    let mut fields = Vec::new();
    let _ = bad.for_each_problem(|e| fields.push(e.field().name()));
    assert_eq!(
        fields,
        [
            "servers",
            "agent_extension",
            "v18_length_width",
            "reconnect_secs"
        ]
    );
    assert_eq!(bad.validate().unwrap_err().field(), ConfigField::Servers);
}

// ---- the blob ----

fn blob_of(cfg: &PhoneConfig) -> Vec<u8> {
    let mut buf = [0u8; BLOB_MAX_LEN];
    cfg.encode_blob(&mut buf).unwrap().to_vec()
}

#[test]
fn a_blob_reads_back_whole_and_ignores_an_erased_tail() {
    let cfg = good();
    let mut blob = blob_of(&cfg);
    assert_eq!(&blob[..4], b"CCXP");
    assert_eq!(PhoneConfig::decode_blob(&blob), Ok(cfg.clone()));
    blob.extend_from_slice(&[0xFF; 100]);
    assert_eq!(PhoneConfig::decode_blob(&blob), Ok(cfg));
}

#[test]
fn the_largest_configuration_fits_blob_max_len() {
    let mut cfg = with(|c| {
        c.servers.clear();
        for _ in 0..2 {
            c.servers.push(server(&"h".repeat(64), u16::MAX)).unwrap();
        }
        c.agent_id = text(128);
        c.agent_extension = text(64);
        c.agent_instrument = text(64);
        c.agent_password = text(64);
        c.client_id = text(64);
        c.client_password = text(64);
        c.services_requested = u32::MAX;
        c.call_msg_mask = u32::MAX;
        c.agent_state_mask = u32::MAX;
    });
    cfg.heartbeat_secs = u16::MAX;
    cfg.idle_timeout_secs = u16::MAX;
    cfg.request_timeout_secs = u16::MAX;
    cfg.reconnect_secs = u16::MAX;
    cfg.connect_timeout_secs = u16::MAX;
    cfg.protocol_version = u8::MAX;
    cfg.v18_length_width = u8::MAX;
    cfg.missed_heartbeats = u8::MAX;
    cfg.heartbeat_mode = ccx_cti::config::HeartbeatMode::WhenIdle;
    cfg.active_terminal = text(64);
    cfg.reconnect_seed = u32::MAX;
    let blob = blob_of(&cfg);
    assert!(blob.len() <= BLOB_MAX_LEN, "{}", blob.len());
    assert_eq!(PhoneConfig::decode_blob(&blob), Ok(cfg));
}

#[test]
fn a_small_buffer_is_refused() {
    let mut buf = [0u8; 40];
    assert_eq!(
        good().encode_blob(&mut buf),
        Err(BlobError::BufferTooSmall { capacity: 40 })
    );
}

#[test]
fn a_truncated_blob_is_reported_at_every_length() {
    let blob = blob_of(&good());
    for len in 4..blob.len() {
        assert!(
            matches!(
                PhoneConfig::decode_blob(&blob[..len]),
                Err(BlobError::Truncated { length, needed }) if length == len && needed > len
            ),
            "{len}: {:?}",
            PhoneConfig::decode_blob(&blob[..len])
        );
    }
}

#[test]
fn every_flipped_bit_is_reported() {
    let blob = blob_of(&good());
    for byte in 0..blob.len() {
        for bit in 0..8 {
            let mut bad = blob.clone();
            bad[byte] ^= 1 << bit;
            assert!(
                PhoneConfig::decode_blob(&bad).is_err(),
                "bit {bit} of byte {byte}"
            );
        }
    }
    let mut bad = blob.clone();
    bad[12] ^= 0x10;
    assert!(matches!(
        PhoneConfig::decode_blob(&bad),
        Err(BlobError::CrcMismatch { .. })
    ));
}

#[test]
fn a_foreign_or_headerless_blob_is_wrong_magic() {
    let mut bad = blob_of(&good());
    bad[0] = b'X';
    assert_eq!(PhoneConfig::decode_blob(&bad), Err(BlobError::WrongMagic));
    // What `ccx config encode` wrote before the blob had a header: bare postcard.
    let mut buf = [0u8; BLOB_MAX_LEN];
    let bare = postcard::to_slice(&good(), &mut buf).unwrap();
    assert_eq!(PhoneConfig::decode_blob(bare), Err(BlobError::WrongMagic));
    assert_eq!(
        PhoneConfig::decode_blob(b"CC"),
        Err(BlobError::Truncated {
            length: 2,
            needed: 8
        })
    );
    assert_eq!(
        PhoneConfig::decode_blob(b""),
        Err(BlobError::Truncated {
            length: 0,
            needed: 8
        })
    );
}

#[test]
fn a_newer_or_older_format_is_named() {
    let mut newer = blob_of(&good());
    newer[4..6].copy_from_slice(&(BLOB_FORMAT_VERSION + 1).to_le_bytes());
    let e = PhoneConfig::decode_blob(&newer).unwrap_err();
    assert_eq!(
        e,
        BlobError::NewerFormat {
            found: BLOB_FORMAT_VERSION + 1
        }
    );
    assert!(e.to_string().contains("update"));
    let mut older = blob_of(&good());
    older[4..6].copy_from_slice(&0u16.to_le_bytes());
    assert_eq!(
        PhoneConfig::decode_blob(&older),
        Err(BlobError::OlderFormat { found: 0 })
    );
}

#[test]
fn a_payload_with_the_right_crc_but_the_wrong_layout_is_refused() {
    // A writer with a different PhoneConfig under the same version: header and CRC are right.
    let payload = [1u8, 2, 3];
    let mut blob = b"CCXP".to_vec();
    blob.extend_from_slice(&BLOB_FORMAT_VERSION.to_le_bytes());
    blob.extend_from_slice(&3u16.to_le_bytes());
    blob.extend_from_slice(&payload);
    let crc = ccx_cti::config::crc32(&blob);
    blob.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(PhoneConfig::decode_blob(&blob), Err(BlobError::BadPayload));
    // A whole configuration with a byte left over inside the checked length.
    let mut buf = [0u8; BLOB_MAX_LEN];
    let mut payload = postcard::to_slice(&good(), &mut buf).unwrap().to_vec();
    payload.push(0);
    let mut blob = b"CCXP".to_vec();
    blob.extend_from_slice(&BLOB_FORMAT_VERSION.to_le_bytes());
    blob.extend_from_slice(&u16::try_from(payload.len()).unwrap().to_le_bytes());
    blob.extend_from_slice(&payload);
    let crc = ccx_cti::config::crc32(&blob);
    blob.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(PhoneConfig::decode_blob(&blob), Err(BlobError::BadPayload));
}

// ---- the vocabulary ----

#[test]
fn a_vocabulary_of_250_reasons_finds_every_label() {
    let mut vocabulary: Box<Vocabulary<250>> = Box::default();
    for code in 1..=200u16 {
        vocabulary
            .add(ReasonKind::NotReady, code, &format!("Not ready {code}"))
            .unwrap();
    }
    for code in 1..=50u16 {
        vocabulary
            .add(ReasonKind::WrapUp, code, &format!("Wrap-up {code}"))
            .unwrap();
    }
    assert_eq!(vocabulary.len(), 250);
    for code in 1..=200u16 {
        assert_eq!(
            vocabulary.label(ReasonKind::NotReady, code),
            Some(format!("Not ready {code}").as_str())
        );
    }
    assert_eq!(vocabulary.label(ReasonKind::WrapUp, 50), Some("Wrap-up 50"));
    assert_eq!(vocabulary.label(ReasonKind::WrapUp, 51), None);
    assert_eq!(vocabulary.label(ReasonKind::Logout, 1), None);
    assert_eq!(vocabulary.reasons(ReasonKind::WrapUp).count(), 50);
    assert_eq!(
        vocabulary.add(ReasonKind::Logout, 1, "Shift end"),
        Err(VocabularyError::Full { capacity: 250 })
    );
}

#[test]
fn a_vocabulary_refuses_what_it_cannot_hold_and_changes_nothing() {
    let mut vocabulary: Vocabulary<4, 8> = Vocabulary::new();
    vocabulary.add(ReasonKind::NotReady, 12, "Lunch").unwrap();
    assert_eq!(
        vocabulary.add(ReasonKind::NotReady, 12, "Break"),
        Err(VocabularyError::Duplicate {
            kind: ReasonKind::NotReady,
            code: 12
        })
    );
    assert_eq!(
        vocabulary.add(ReasonKind::NotReady, 0, "None"),
        Err(VocabularyError::CodeZero {
            kind: ReasonKind::NotReady
        })
    );
    assert_eq!(
        vocabulary.add(ReasonKind::WrapUp, 3, "Follow-up call"),
        Err(VocabularyError::LabelTooLong {
            kind: ReasonKind::WrapUp,
            code: 3,
            length: 14,
            max: 8
        })
    );
    // The same code in another list is another reason.
    vocabulary.add(ReasonKind::Logout, 12, "Shift").unwrap();
    assert_eq!(vocabulary.len(), 2);
    assert_eq!(vocabulary.label(ReasonKind::NotReady, 12), Some("Lunch"));
}

// ---- the blob's payload is postcard's format ----

mod payload_format {
    use super::*;
    use proptest::prelude::*;

    fn short() -> impl Strategy<Value = String> {
        "[ -~é]{0,21}".prop_map(|s| s.chars().take(21).collect())
    }

    proptest! {
        #[test]
        fn the_hand_written_payload_is_postcard_s(
            hosts in proptest::collection::vec((short(), any::<u16>()), 0..=2),
            texts in proptest::collection::vec(short(), 7),
            when_idle in any::<bool>(),
            reconnect_seed in any::<u32>(),
            bytes in any::<[u8; 3]>(),
            words in any::<[u16; 5]>(),
            masks in any::<[u32; 3]>(),
            outbound in any::<bool>(),
        ) {
            let mut c = PhoneConfig::default();
            c.servers.clear();
            for (host, port) in &hosts {
                c.servers.push(server(host, *port)).unwrap();
            }
            let t = |i: usize| texts[i].as_str();
            c.agent_id = t(0).try_into().unwrap();
            c.agent_extension = t(1).try_into().unwrap();
            c.agent_instrument = t(2).try_into().unwrap();
            c.agent_password = t(3).try_into().unwrap();
            c.client_id = t(4).try_into().unwrap();
            c.client_password = t(5).try_into().unwrap();
            c.active_terminal = t(6).try_into().unwrap();
            c.heartbeat_mode = if when_idle {
                ccx_cti::config::HeartbeatMode::WhenIdle
            } else {
                ccx_cti::config::HeartbeatMode::Always
            };
            [c.protocol_version, c.v18_length_width, c.missed_heartbeats] = bytes;
            [
                c.heartbeat_secs,
                c.idle_timeout_secs,
                c.request_timeout_secs,
                c.reconnect_secs,
                c.connect_timeout_secs,
            ] = words;
            [c.services_requested, c.call_msg_mask, c.agent_state_mask] = masks;
            c.outbound = outbound;
            c.reconnect_seed = reconnect_seed;

            let blob = blob_of(&c);
            let mut buf = [0u8; BLOB_MAX_LEN];
            let expected = postcard::to_slice(&c, &mut buf).unwrap();
            prop_assert_eq!(&blob[8..blob.len() - 4], &expected[..]);
            prop_assert_eq!(PhoneConfig::decode_blob(&blob), Ok(c));
        }
    }
}

// ---- the host parser agrees with core::net ----

mod address_parsing {
    use super::*;
    use proptest::prelude::*;

    fn agrees(text: &str) -> Result<(), TestCaseError> {
        let ours = ccx_cti::config::parse_host(text);
        match (
            text.parse::<std::net::Ipv4Addr>(),
            text.parse::<std::net::Ipv6Addr>(),
        ) {
            (Ok(v4), _) => prop_assert_eq!(ours, Ok(Host::Ipv4(v4)), "{}", text),
            (_, Ok(v6)) => prop_assert_eq!(ours, Ok(Host::Ipv6(v6)), "{}", text),
            _ => prop_assert!(
                !matches!(ours, Ok(Host::Ipv4(_)) | Ok(Host::Ipv6(_))),
                "{} read as {:?}",
                text,
                ours
            ),
        }
        Ok(())
    }

    #[test]
    fn known_addresses() {
        for text in [
            "0.0.0.0",
            "255.255.255.255",
            "1.2.3.04",
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "::",
            "::1",
            "1::",
            "fe80::1:2",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "1::2::3",
            ":::",
            "::ffff:10.0.0.1",
            "1:2:3:4:5:6:1.2.3.4",
            "1:2:3:4:5:6:7:1.2.3.4",
            "1.2.3.4::",
            "::1.2.3.4",
            "00000::1",
            "0000::1",
            "g::1",
            "1:2:3:4:5:6:7:8::",
            "::1:2:3:4:5:6:7:8",
            "1:",
            ":1",
            "",
        ] {
            agrees(text).unwrap();
        }
    }

    proptest! {
        #[test]
        fn random_address_like_text(text in "[0-9a-fA-F:.]{0,40}") {
            agrees(&text)?;
        }

        #[test]
        fn random_ipv6_forms(groups in proptest::collection::vec(0u16..=0xFFFF, 0..=9), gap in 0usize..10, v4 in any::<Option<[u8; 4]>>()) {
            let mut parts: Vec<String> = groups.iter().map(|g| format!("{g:x}")).collect();
            if let Some([a, b, c, d]) = v4 {
                parts.push(format!("{a}.{b}.{c}.{d}"));
            }
            let text = if gap <= parts.len() {
                format!("{}::{}", parts[..gap].join(":"), parts[gap..].join(":"))
            } else {
                parts.join(":")
            };
            agrees(&text)?;
        }
    }
}
