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
