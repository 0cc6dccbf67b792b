//! The agent's screen on a terminal (`ccx_cti_std::screen`): the screens of the preview story
//! and a failed login drawn in ratatui's test backend at 80x24 and 160x50, with and without
//! the trace pane and the help; the demo's text box.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use ccx_cti::config::{ReasonKind, Vocabulary};
use ccx_cti::phone::{Command, CommandError, CommandKind, Event, Instant, PhoneView};
use ccx_cti::ui::{Frame, Screen};
use ccx_cti_std::flow::{parse_flow, run_flow_observed, FlowObserver};
use ccx_cti_std::screen::{frame_box, PhoneLayout, HINTS};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

struct Recorder {
    screen: Screen,
    vocabulary: Vocabulary<8>,
    frames: Vec<Frame>,
}

impl FlowObserver for Recorder {
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
    fn step(&mut self, now: Instant, _label: &str, view: &PhoneView<'_>) {
        let frame = self.screen.frame(view, &self.vocabulary, now);
        self.frames.push(frame);
    }
}

fn frames(file: &str) -> Vec<Frame> {
    let mut vocabulary = Vocabulary::new();
    vocabulary
        .add(ReasonKind::NotReady, 32760, "Just logged in")
        .unwrap();
    let labels = vocabulary.clone();
    let mut recorder = Recorder {
        screen: Screen::new(12),
        vocabulary,
        frames: Vec::new(),
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(file);
    let flow = parse_flow(&std::fs::read_to_string(&path).unwrap(), file).unwrap();
    let outcome = run_flow_observed(&flow, &labels, &mut recorder);
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    recorder.frames
}

fn draw(layout: PhoneLayout<'_>, width: u16, height: u16) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| f.render_widget(layout, f.area()))
        .unwrap();
    let buffer = terminal.backend().buffer().clone();
    buffer
        .content()
        .chunks(usize::from(width))
        .map(|row| row.iter().map(|c| c.symbol()).collect::<String>())
        .collect()
}

fn layout<'a>(
    frame: &'a Frame,
    trace: &'a [String],
    trace_open: bool,
    help: bool,
) -> PhoneLayout<'a> {
    PhoneLayout {
        frame,
        trace,
        trace_back: 0,
        trace_open,
        help,
        color: false,
    }
}

#[test]
fn the_preview_story_on_80x24_and_160x50() {
    let story = frames("tests/flows/outbound-skip.flow");
    let offer = &story[1];
    let trace: Vec<String> = (0..100)
        .map(|i| format!("[{i:>3}] phone -> server HEARTBEAT_REQ"))
        .collect();
    for (w, h) in [(80u16, 24u16), (160, 50)] {
        for trace_open in [false, true] {
            let rows = draw(layout(offer, &trace, trace_open, false), w, h);
            let all = rows.join("\n");
            // The agent's words come first: state, the contact card, the softkeys, and the
            // hints whole on the last row.
            assert!(rows[0].contains("Reserved"), "{all}");
            assert!(all.contains("Name: John,Doe"), "{all}");
            assert!(
                all.contains("F1 Accept") && all.contains("F2 Skip") && all.contains("F3 Reject"),
                "{all}"
            );
            assert_eq!(rows[usize::from(h) - 1].trim_end(), HINTS, "{w}x{h}");
            // The trace only when opened, and then its newest line.
            assert_eq!(all.contains("protocol trace"), trace_open, "{all}");
            assert_eq!(all.contains("[ 99] phone -> server"), trace_open, "{all}");
        }
    }
    assert!(HINTS.chars().count() <= 80);
}

#[test]
fn help_and_a_wrong_password_on_80x24() {
    let login = frames("tests/screens/failed-login.flow");
    let asked = login
        .iter()
        .find(|f| f.message.as_str() == "Wrong password: enter it again")
        .unwrap();
    let rows = draw(layout(asked, &[], false, false), 80, 24);
    let all = rows.join("\n");
    assert!(all.contains("Password"), "{all}");
    assert!(all.contains("F1 Login"), "{all}");
    assert!(
        !all.contains("1234"),
        "the refused password is not shown: {all}"
    );
    let rows = draw(layout(asked, &[], false, true), 80, 24);
    let all = rows.join("\n");
    assert!(all.contains("F1-F4        the softkey"), "{all}");
    assert!(
        all.contains("t            open or close the protocol trace"),
        "{all}"
    );
}

#[test]
fn the_demo_box_shows_the_same_screen() {
    let story = frames("tests/flows/outbound-skip.flow");
    let text = frame_box(&story[1], 48);
    assert!(text.contains("| Reserved"), "{text}");
    assert!(text.contains("OUTBOUND CONTACT"), "{text}");
    assert!(
        text.contains("[F1 Accept] [F2 Skip] [F3 Reject] [F4 More]"),
        "{text}"
    );
    assert!(text.lines().all(|l| l.chars().count() == 48), "{text}");
}

/// `ccx demo --screens`: the agent's screen after each step, in the agent's words.
#[test]
fn the_demo_prints_the_agents_screen_after_each_step() {
    use ccx_cti_std::demo::{self, DemoOptions};
    let mut out = Vec::new();
    let report = demo::run(
        &DemoOptions {
            trace: false,
            screens: true,
            ..DemoOptions::default()
        },
        &mut out,
    );
    let text = String::from_utf8(out).unwrap();
    assert!(report.completed(), "{:?}\n{text}", report.failure);
    assert_eq!(
        text.matches("# the agent's screen after: ").count(),
        report.steps.len(),
        "{text}"
    );
    for words in [
        "| Not Ready - Just logged in",
        "OUTBOUND CONTACT",
        "[F1 Accept] [F2 Skip] [F3 Reject] [F4 More]",
        "| TALKING 5550101",
        "| Wrap-up",
        "| Logged out",
    ] {
        assert!(text.contains(words), "`{words}` missing:\n{text}");
    }
    assert!(
        !text.contains("32760"),
        "reason codes read as labels:\n{text}"
    );
}

/// NO_COLOR: without colours every cell keeps the terminal's own; with them, the state line
/// and titles are coloured.
#[test]
fn no_color_draws_without_colours() {
    use ratatui::style::Color;
    let story = frames("tests/flows/outbound-skip.flow");
    for color in [false, true] {
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let layout = PhoneLayout {
            frame: &story[1],
            trace: &[],
            trace_back: 0,
            trace_open: false,
            help: false,
            color,
        };
        terminal
            .draw(|f| f.render_widget(layout, f.area()))
            .unwrap();
        let buffer = terminal.backend().buffer().clone();
        let coloured = buffer
            .content()
            .iter()
            .any(|c| c.fg != Color::Reset || c.bg != Color::Reset);
        assert_eq!(coloured, color, "colour {color}");
    }
}
