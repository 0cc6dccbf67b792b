//! The agent's screen drawn as the phone draws it, at the end of every step of the stories
//! (the outbound preview story, an inbound call with hold and a consult transfer, a failed
//! login, a failover), on a 320x240 colour and a 128x64 monochrome display, checked against
//! the golden PNGs in `tests/screens/`. `UPDATE_GOLDEN=1 cargo test -p ccx-cti-tests --test
//! screens` writes them anew (look at the diff before committing).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use ccx_cti::config::{ConfigError, PhoneConfig, ReasonKind, Vocabulary};
use ccx_cti::phone::{Command, CommandError, CommandKind, Event, Instant, Phone, PhoneView};
use ccx_cti::ui::{draw, ConfigRejected, Frame, Kept, Screen};
use ccx_cti_std::flow::{parse_flow, run_flow_observed, FlowObserver};
use embedded_graphics::pixelcolor::{BinaryColor, Rgb565, Rgb888};
use embedded_graphics::prelude::*;
use embedded_graphics_simulator::{OutputSettingsBuilder, SimulatorDisplay};

/// The stories: (name, flow files played one after the other).
const STORIES: &[(&str, &[&str])] = &[
    (
        "preview",
        &["flows/outbound-skip.flow", "flows/outbound-accept.flow"],
    ),
    (
        "inbound",
        &[
            "flows/inbound-hold-retrieve.flow",
            "flows/consult-transfer.flow",
        ],
    ),
    ("failed-login", &["screens/failed-login.flow"]),
    ("failover", &["flows/failover.flow"]),
];

/// The reason labels an administrator would configure for the stories.
pub fn vocabulary() -> Vocabulary<16> {
    let mut v = Vocabulary::new();
    for (kind, code, label) in [
        (ReasonKind::NotReady, 32760, "Just logged in"),
        (ReasonKind::NotReady, 4, "Lunch"),
        (ReasonKind::NotReady, 2, "Meeting"),
        (ReasonKind::Logout, 7, "End of shift"),
        (ReasonKind::WrapUp, 1, "Sale"),
        (ReasonKind::WrapUp, 2, "No sale"),
    ] {
        v.add(kind, code, label).unwrap();
    }
    v
}

struct Recorder<'v> {
    screen: Screen,
    vocabulary: &'v Vocabulary<16>,
    frames: Vec<(String, Frame)>,
}

impl FlowObserver for Recorder<'_> {
    fn event(&mut self, now: Instant, event: &Event) {
        self.screen.event(event, now);
    }
    fn command(
        &mut self,
        now: Instant,
        command: &Command<'_>,
        result: Result<ccx_cti::phone::InvokeId, CommandError>,
    ) {
        self.screen.sent(CommandKind::of(command), result, now);
    }
    fn step(&mut self, now: Instant, label: &str, view: &PhoneView<'_>) {
        let frame = self.screen.frame(view, self.vocabulary, now);
        self.frames.push((label.to_string(), frame));
    }
}

/// Every screen of a story, for a display with `rows` body rows.
pub fn story_frames(files: &[&str], rows: usize) -> Vec<(String, Frame)> {
    let vocabulary = vocabulary();
    let mut recorder = Recorder {
        screen: Screen::new(rows),
        vocabulary: &vocabulary,
        frames: Vec::new(),
    };
    for file in files {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let flow = parse_flow(&text, file).unwrap();
        // Each flow is a new phone; the screen carries over like the agent's eyes.
        recorder.screen = Screen::new(rows);
        let outcome = run_flow_observed(&flow, &vocabulary, &mut recorder);
        assert!(outcome.result.is_ok(), "{file}: {:?}", outcome.result);
    }
    recorder.frames
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("screens")
}

fn check(name: &str, rendered: &image::RgbImage, failures: &mut Vec<String>) {
    let path = golden_dir().join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        rendered.save(&path).unwrap();
        return;
    }
    match image::open(&path) {
        Ok(golden) if golden.to_rgb8() == *rendered => {}
        Ok(_) => failures.push(format!("{name}: differs from the golden image")),
        Err(e) => failures.push(format!("{name}: {e} (UPDATE_GOLDEN=1 writes it)")),
    }
}

fn render<C>(frame: &Frame, size: Size) -> image::RgbImage
where
    C: draw::Palette + Into<Rgb888>,
{
    let mut display = SimulatorDisplay::<C>::with_default_color(size, C::BACKGROUND);
    draw::draw(frame, &mut display).unwrap();
    let image = display.to_rgb_output_image(&OutputSettingsBuilder::new().build());
    let buffer = image.as_image_buffer();
    image::RgbImage::from_raw(buffer.width(), buffer.height(), buffer.into_raw().to_vec()).unwrap()
}

#[test]
fn every_screen_of_the_stories_matches_its_golden_image() {
    let mut failures = Vec::new();
    let mut count = 0;
    for (story, files) in STORIES {
        for (tag, size, colour) in [
            ("320x240", Size::new(320, 240), true),
            ("128x64", Size::new(128, 64), false),
        ] {
            let frames = story_frames(files, draw::body_rows(size));
            assert!(frames.len() >= 4, "{story}: {} screens", frames.len());
            for (i, (_, frame)) in frames.iter().enumerate() {
                let name = format!("{story}-{tag}-{i:02}.png");
                let image = if colour {
                    render::<Rgb565>(frame, size)
                } else {
                    render::<BinaryColor>(frame, size)
                };
                check(&name, &image, &mut failures);
                count += 1;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} screens:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A phone whose stored configuration failed validation at boot (a protocol version it does
/// not speak) and that runs with the last good one, before its first session: the screen says
/// which field, why, and what the phone uses (`config-rejected-*.png`).
#[test]
fn a_rejected_configuration_is_told_on_both_displays() {
    let phone: Phone = Phone::new(PhoneConfig::default());
    let mut failures = Vec::new();
    for (tag, size, colour) in [
        ("320x240", Size::new(320, 240), true),
        ("128x64", Size::new(128, 64), false),
    ] {
        let mut screen = Screen::new(draw::body_rows(size));
        let rejected = ConfigRejected {
            error: ConfigError::ProtocolVersion { version: 3 },
            kept: Kept::LastGood,
        };
        screen.config_rejected(rejected, Instant::ZERO);
        let frame = screen.frame(&phone.view(), &vocabulary(), Instant::ZERO);
        let body: Vec<&str> = frame.body.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            body[..3],
            [
                "Configuration rejected",
                "protocol_version: 3 unknown",
                "Using the last good one"
            ],
            "{tag}"
        );
        let image = if colour {
            render::<Rgb565>(&frame, size)
        } else {
            render::<BinaryColor>(&frame, size)
        };
        check(&format!("config-rejected-{tag}.png"), &image, &mut failures);
        if !colour {
            check_pbm("config-rejected-128x64.pbm", &image, &mut failures);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The 128x64 screen as the firmware dumps its framebuffer (`ccx-screen` lines, saved by
/// `.ci/firmware.sh` as PBM): the product image's boot screen on qemu must equal this file
/// byte for byte.
fn check_pbm(name: &str, rendered: &image::RgbImage, failures: &mut Vec<String>) {
    let mut pbm = b"P4\n128 64\n".to_vec();
    for row in rendered.rows() {
        let pixels: Vec<bool> = row.map(|p| p.0[0] > 127).collect();
        pbm.extend(pixels.chunks(8).map(|bits| {
            bits.iter()
                .enumerate()
                .fold(0u8, |byte, (i, &on)| byte | (u8::from(on) << (7 - i)))
        }));
    }
    let path = golden_dir().join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &pbm).unwrap();
        return;
    }
    match std::fs::read(&path) {
        Ok(golden) if golden == pbm => {}
        Ok(_) => failures.push(format!("{name}: differs from the golden framebuffer")),
        Err(e) => failures.push(format!("{name}: {e} (UPDATE_GOLDEN=1 writes it)")),
    }
}

/// The story's screens say what the agent needs in words: names, not numbers.
#[test]
fn the_story_screens_use_the_agents_words() {
    let frames = story_frames(STORIES[0].1, 12);
    let text: Vec<String> = frames
        .iter()
        .map(|(label, f)| {
            let body: Vec<&str> = f.body.iter().map(|l| l.text.as_str()).collect();
            format!(
                "{label}\n  {} {}\n  {}\n  [{}] {}",
                f.status,
                f.timer,
                body.join("\n  "),
                f.softkeys.join("|"),
                f.message
            )
        })
        .collect();
    let all = text.join("\n");
    println!("{all}");
    assert!(all.contains("Name: John,Doe"), "{all}");
    assert!(all.contains("Accept|Skip|Reject"), "{all}");
    for (story, files) in &STORIES[1..] {
        for (i, (label, f)) in story_frames(files, 12).iter().enumerate() {
            println!(
                "{story} {i:02} {label}: {} {} | {} [{}]",
                f.status,
                f.timer,
                f.message,
                f.softkeys.join("|")
            );
        }
    }
    let failover = story_frames(STORIES[3].1, 12);
    assert!(
        failover
            .iter()
            .any(|(_, f)| f.message.as_str() == "Server B took over"),
        "{failover:?}"
    );
    let login = story_frames(STORIES[2].1, 12);
    assert!(
        login
            .iter()
            .any(|(_, f)| f.message.as_str() == "Wrong password: enter it again"),
        "{login:?}"
    );
    assert!(
        login
            .iter()
            .any(|(_, f)| f.status.as_str() == "Not Ready - Just logged in"),
        "{login:?}"
    );
}
