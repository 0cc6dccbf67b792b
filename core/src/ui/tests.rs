//! Unit tests of the screen's text helpers.

use std::format;

use super::text::{line, Timer};
use crate::phone::Duration;

#[test]
fn timers_read_as_minutes_then_hours() {
    assert_eq!(format!("{}", Timer(Duration::from_secs(0))), "0:00");
    assert_eq!(format!("{}", Timer(Duration::from_secs(77))), "1:17");
    assert_eq!(format!("{}", Timer(Duration::from_secs(3_725))), "1:02:05");
}

#[test]
fn a_line_is_cut_at_a_character_boundary() {
    let cut: heapless::String<5> = line(format_args!("Prêt à partir"));
    assert_eq!(cut.as_str(), "Prêt");
}

/// Every problem `validate()` can find is told in a line a 128x64 display shows whole (31
/// characters of its 4x6 font), with the field named as the configuration file names it.
#[test]
fn every_rejected_configuration_fits_a_small_display() {
    use super::notice::Problem;
    use crate::config::{ConfigError, ConfigField, HostError, IdleTimeoutError};
    let errors = [
        ConfigError::TextTooLong {
            field: ConfigField::AgentInstrument,
            length: 40,
            max: 15,
        },
        ConfigError::NoServer,
        ConfigError::PortZero { server: 1 },
        ConfigError::BadHost {
            server: 0,
            problem: HostError::Empty,
        },
        ConfigError::ProtocolVersion { version: 3 },
        ConfigError::V18LengthWidth { width: 7 },
        ConfigError::HeartbeatTooLong { heartbeat_secs: 99 },
        ConfigError::IdleTimeout(IdleTimeoutError::BelowServerMinimum {
            idle_timeout_secs: 5,
        }),
        ConfigError::IdleTimeout(IdleTimeoutError::BelowTwiceHeartbeat {
            idle_timeout_secs: 30,
            heartbeat_secs: 20,
        }),
        ConfigError::IdleTimeout(IdleTimeoutError::TooLong {
            idle_timeout_secs: 99_999,
        }),
        ConfigError::TimerTooShort {
            field: ConfigField::ConnectTimeoutSecs,
            secs: 0,
        },
    ];
    for e in errors {
        let text = format!("{}", Problem(e));
        assert!(text.starts_with(e.field().name()), "{text}");
        assert!(text.len() <= 31, "{text}: {} characters", text.len());
    }
    assert_eq!(
        format!("{}", Problem(ConfigError::ProtocolVersion { version: 3 })),
        "protocol_version: 3 unknown"
    );
}

/// The rejection is shown on the idle home screen until a good configuration is taken.
#[test]
fn a_rejected_configuration_is_shown_until_a_good_one_is_taken() {
    use super::{ConfigRejected, Kept, Screen};
    use crate::config::{ConfigError, PhoneConfig};
    use crate::phone::{Instant, NoLabels, Phone};
    let phone: Phone = Phone::new(PhoneConfig::default());
    let mut screen = Screen::new(7);
    let body = |s: &Screen| -> std::vec::Vec<std::string::String> {
        let f = s.frame(&phone.view(), &NoLabels, Instant::ZERO);
        f.body.iter().map(|l| l.text.as_str().into()).collect()
    };
    assert_eq!(body(&screen), ["Waiting for the server"]);
    screen.config_rejected(
        ConfigRejected {
            error: ConfigError::ProtocolVersion { version: 3 },
            kept: Kept::LastGood,
        },
        Instant::ZERO,
    );
    assert_eq!(
        body(&screen),
        [
            "Configuration rejected",
            "protocol_version: 3 unknown",
            "Using the last good one",
            "Waiting for the server"
        ]
    );
    assert_eq!(screen.message(), "Configuration not taken");
    screen.config_accepted();
    assert_eq!(body(&screen), ["Waiting for the server"]);
}
