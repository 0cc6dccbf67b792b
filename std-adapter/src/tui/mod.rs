//! `ccx phone`: a terminal agent phone (ratatui + crossterm) for a real or simulated Unified
//! CCX. The phone runs in the [driver]; this module turns keys into commands and
//! the phone's view and traffic into a [`view::ViewModel`] that [`view::render`] draws.

pub mod view;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use crossterm::event::{self, Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::terminal;
use crossterm::ExecutableCommand;
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use ccx_cti::config::PhoneConfig;
use ccx_cti::phone::{AgentReason, PreviewAnswer};

use crate::config_file::{self, parse_server, Origin, PhoneFile, Source, StdVocabulary};
use crate::demo::frame_text;
use crate::driver::{self, AgentCommand, Direction, DriverEvent, DriverHandle, DriverOptions};
use crate::screen::{color_allowed, term_key, PhoneLayout, TermKey};
use ccx_cti::phone::CommandKind;
use ccx_cti::ui::{Frame, Key, Mode, PadKind, Reaction, Screen};
use view::{status_for, Status, ViewModel};

/// Lines of trace kept for scrolling.
const TRACE_LINES: usize = 5000;
/// Environment variable with the agent's password (never a flag).
pub const PASSWORD_ENV: &str = "CCX_AGENT_PASSWORD";

const KEYS: &str = "\
The agent's screen (the same screen model as the phone's display):
  F1-F4  the softkeys under the labels    Up/Down Enter Esc  move, choose, back in lists
  0-9 * #  dial pad (call, consult, tones, callback, password)   Space  the hook
  t  open or close the protocol trace    ?  help    q  sign off and quit    NO_COLOR  no colours
Shortcuts (letters not taken by the screen):
  l  log in                      o  log out (reason prompt)
  r  ready (AVAILABLE)           n  not ready (reason prompt)
  w  work (WORK_NOT_READY)       W  work ready (WORK_READY)
  a  answer the ringing call     x  release the connected call
  h  hold                        u  retrieve the held call
  d  dial a number               c  consult a number
  t  transfer (held -> consult)  f  conference (held + consult)
  m  send DTMF digits            s  set a call variable (NAME VALUE)
  Preview contact (reservation call):
  1  Accept   2  Reject   3  Reject-Close   4  Skip   5  Skip-Close   6  Cancel Reservation
  During the customer call:
  v  reclassify (REX_VOICE, REX_ANS_MACHINE, REX_FAX, REX_INVALID, DO_NOT_CALL, BUSY)
  b  callback (MMDDYYYY HH:MM)
  :  any command in flow syntax, e.g. `preview callback 12312026 09:30`
  PgUp/PgDn/Home/End  scroll the trace      q  close the session and quit      Q  quit now

The password comes from CCX_AGENT_PASSWORD or a prompt, never from a flag.";

/// `ccx phone` options (a TOML file and/or flags; flags win).
#[derive(Debug, Clone, Args)]
#[command(after_help = KEYS)]
pub struct PhoneArgs {
    /// A TOML phone configuration (see `ccx config`).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Side A (and with a second --server, side B), `host:port`.
    #[arg(long = "server", value_name = "HOST:PORT")]
    pub servers: Vec<String>,
    /// AgentID.
    #[arg(long)]
    pub agent_id: Option<String>,
    /// Agent extension.
    #[arg(long)]
    pub extension: Option<String>,
    /// Agent instrument (the extension when left out).
    #[arg(long)]
    pub instrument: Option<String>,
    /// Protocol version (10..=18).
    #[arg(long, value_parser = clap::value_parser!(u8).range(10..=18))]
    pub protocol_version: Option<u8>,
    /// Seconds between heartbeats.
    #[arg(long)]
    pub heartbeat_secs: Option<u16>,
    /// IdleTimeout of OPEN_REQ in seconds.
    #[arg(long)]
    pub idle_timeout_secs: Option<u16>,
    /// Seconds before reconnecting after a failure.
    #[arg(long)]
    pub reconnect_secs: Option<u16>,
    /// Do not prompt for a password when CCX_AGENT_PASSWORD is not set (use the file's or none).
    #[arg(long)]
    pub no_password_prompt: bool,
}

/// A configuration as `ccx phone` reads it, with where each value came from.
pub struct Loaded {
    /// The configuration (not validated yet: see [`config_file::check`]).
    pub config: PhoneConfig,
    /// The file and the flags that set it, to name a bad field.
    pub origin: Origin,
    /// The agent's reason labels from the file.
    pub vocabulary: Box<StdVocabulary>,
}

impl PhoneArgs {
    /// The configuration: defaults, then the file, then the flags.
    pub fn phone_config(&self) -> anyhow::Result<PhoneConfig> {
        self.load().map(|l| l.config)
    }

    /// The configuration, where its values came from and the vocabulary.
    pub fn load(&self) -> anyhow::Result<Loaded> {
        let source = self.config.as_deref().map(Source::read).transpose()?;
        let mut file = match &source {
            Some(src) => src.phone_file()?,
            None => PhoneFile::default(),
        };
        let mut overrides: Vec<(&'static str, String)> = Vec::new();
        if !self.servers.is_empty() {
            for s in &self.servers {
                parse_server(s).map_err(|e| anyhow::anyhow!("--server: {e}"))?;
            }
            file.servers = Some(self.servers.clone());
            overrides.push(("servers", "--server".into()));
        }
        macro_rules! over {
            ($($flag:ident => $key:ident),*) => { $(
                if self.$flag.is_some() {
                    file.$key = self.$flag.clone();
                    overrides.push((stringify!($key), format!("--{}", stringify!($flag).replace('_', "-"))));
                }
            )* };
        }
        over!(
            agent_id => agent_id,
            extension => agent_extension,
            instrument => agent_instrument,
            protocol_version => protocol_version,
            heartbeat_secs => heartbeat_secs,
            idle_timeout_secs => idle_timeout_secs,
            reconnect_secs => reconnect_secs
        );
        let origin = Origin {
            file: source,
            overrides,
            otherwise: None,
        };
        let config =
            file.to_config()
                .map_err(|e| match e.downcast_ref::<config_file::FieldError>() {
                    Some(f) => anyhow::anyhow!("{}: {f}", origin.of(f.field)),
                    None => e,
                })?;
        let vocabulary = file.vocabulary().map_err(|e| match &origin.file {
            Some(src) => anyhow::anyhow!("{}: {e}", src.path.display()),
            None => e,
        })?;
        Ok(Loaded {
            config,
            origin,
            vocabulary,
        })
    }
}

/// The prompt as the status line shows it: its label and the masked input.
fn prompt_view(prompt: Option<&(Pending, String)>) -> Option<(String, String)> {
    prompt.map(|(p, t)| (p.label().to_string(), shown_input(*p, t)))
}

/// What the status line shows of a prompt's input: a password typed after `login` (at the
/// `:` prompt) is masked as it is typed.
fn shown_input(pending: Pending, text: &str) -> String {
    if pending == Pending::Line {
        driver::mask_command_text(text)
    } else {
        text.to_string()
    }
}

/// A prompt waiting for text, and what to do with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Dial,
    Consult,
    Dtmf,
    Reclassify,
    Callback,
    SetVar,
    NotReady,
    Logout,
    Line,
}

impl Pending {
    fn label(self) -> &'static str {
        match self {
            Pending::Dial => "dial number",
            Pending::Consult => "consult number",
            Pending::Dtmf => "DTMF digits",
            Pending::Reclassify => "reclassify as",
            Pending::Callback => "callback MMDDYYYY HH:MM",
            Pending::SetVar => "set variable NAME VALUE",
            Pending::NotReady => "not ready reason code",
            Pending::Logout => "logout reason code",
            Pending::Line => "command",
        }
    }

    fn command(self, text: &str) -> Result<AgentCommand, String> {
        let t = text.trim();
        let reason = || {
            t.parse::<u16>().map(AgentReason::from_code).or_else(|_| {
                if t.is_empty() {
                    Ok(AgentReason::None)
                } else {
                    Err(format!("`{t}` is not a reason code"))
                }
            })
        };
        match self {
            Pending::Dial => driver::parse_command(&format!("dial {t}")),
            Pending::Consult => driver::parse_command(&format!("consult {t}")),
            Pending::Dtmf => driver::parse_command(&format!("dtmf {t}")),
            Pending::Reclassify => driver::parse_command(&format!("preview reclassify {t}")),
            Pending::Callback => driver::parse_command(&format!("preview callback {t}")),
            Pending::SetVar => driver::parse_command(&format!("set-var {t}")),
            Pending::NotReady => reason().map(|reason| AgentCommand::NotReady { reason }),
            Pending::Logout => reason().map(|reason| AgentCommand::Logout { reason }),
            Pending::Line => driver::parse_command(t),
        }
    }
}

/// What a key does outside a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyAction {
    /// Send a command.
    Command(AgentCommand),
    /// Ask for text first.
    Prompt(&'static str),
    /// Scroll the trace by this many lines (positive: up).
    Scroll(isize),
    /// Close the session, then quit.
    CloseAndQuit,
    /// Quit at once.
    Quit,
    /// Nothing.
    None,
}

fn key_prompt(c: char) -> Option<Pending> {
    Some(match c {
        'd' => Pending::Dial,
        'c' => Pending::Consult,
        'm' => Pending::Dtmf,
        'v' => Pending::Reclassify,
        'b' => Pending::Callback,
        's' => Pending::SetVar,
        'n' => Pending::NotReady,
        'o' => Pending::Logout,
        ':' => Pending::Line,
        _ => return None,
    })
}

/// The action of a key (outside a prompt): the mapping `ccx phone --help` documents.
pub fn key_action(key: KeyEvent) -> KeyAction {
    let cmd = KeyAction::Command;
    match key.code {
        KeyCode::Char(c) => {
            if let Some(p) = key_prompt(c) {
                return KeyAction::Prompt(p.label());
            }
            match c {
                'l' => cmd(AgentCommand::Login { password: None }),
                'r' => cmd(AgentCommand::Ready),
                'w' => cmd(AgentCommand::WorkNotReady),
                'W' => cmd(AgentCommand::WorkReady),
                'a' => cmd(AgentCommand::Answer { call: None }),
                'x' => cmd(AgentCommand::Release { call: None }),
                'h' => cmd(AgentCommand::Hold { call: None }),
                'u' => cmd(AgentCommand::Retrieve { call: None }),
                't' => cmd(AgentCommand::Transfer),
                'f' => cmd(AgentCommand::Conference),
                '1' => cmd(AgentCommand::Preview(PreviewAnswer::Accept)),
                '2' => cmd(AgentCommand::Preview(PreviewAnswer::Reject)),
                '3' => cmd(AgentCommand::Preview(PreviewAnswer::RejectClose)),
                '4' => cmd(AgentCommand::Preview(PreviewAnswer::Skip)),
                '5' => cmd(AgentCommand::Preview(PreviewAnswer::SkipClose)),
                '6' => cmd(AgentCommand::Preview(PreviewAnswer::CancelReservation)),
                'q' => KeyAction::CloseAndQuit,
                'Q' => KeyAction::Quit,
                'c' if key.modifiers.contains(KeyModifiers::CONTROL) => KeyAction::Quit,
                _ => KeyAction::None,
            }
        }
        KeyCode::PageUp => KeyAction::Scroll(10),
        KeyCode::PageDown => KeyAction::Scroll(-10),
        KeyCode::Up => KeyAction::Scroll(1),
        KeyCode::Down => KeyAction::Scroll(-1),
        KeyCode::Home => KeyAction::Scroll(isize::MAX),
        KeyCode::End => KeyAction::Scroll(isize::MIN),
        _ => KeyAction::None,
    }
}

/// Read the password from the environment, or ask for it without echo.
fn password(args: &PhoneArgs) -> anyhow::Result<Option<String>> {
    if let Ok(p) = std::env::var(PASSWORD_ENV) {
        return Ok(Some(p));
    }
    if args.no_password_prompt {
        return Ok(None);
    }
    crate::out!("Agent password (or set {PASSWORD_ENV}): ");
    crate::output::stdout().flush()?;
    terminal::enable_raw_mode()?;
    let mut text = String::new();
    let result = loop {
        match event::read() {
            Ok(TermEvent::Key(k)) if k.kind == KeyEventKind::Press => match k.code {
                KeyCode::Enter => break Ok(()),
                KeyCode::Esc => break Err(anyhow::anyhow!("no password given")),
                KeyCode::Backspace => {
                    text.pop();
                }
                KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                    break Err(anyhow::anyhow!("interrupted"))
                }
                KeyCode::Char(c) => text.push(c),
                _ => {}
            },
            Ok(_) => {}
            Err(e) => break Err(e.into()),
        }
    };
    terminal::disable_raw_mode()?;
    crate::outln!();
    result.map(|()| Some(text))
}

struct App {
    handle: DriverHandle,
    vm: ViewModel,
    prompt: Option<(Pending, String)>,
    closing: bool,
    /// The agent's screen: what the terminal draws first.
    screen: Screen,
    /// The screen as last drawn.
    frame: Option<Frame>,
    /// The protocol trace pane is open.
    trace_open: bool,
    /// The help is shown.
    help: bool,
    /// Colours allowed (NO_COLOR not set).
    color: bool,
}

/// The driver's time as the core's instant.
fn instant(at: Duration) -> ccx_cti::phone::Instant {
    ccx_cti::phone::Instant::from_millis(u64::try_from(at.as_millis()).unwrap_or(u64::MAX))
}

impl App {
    fn push_trace(&mut self, text: &str) {
        for line in text.lines() {
            self.vm.trace.push(line.to_string());
        }
        if self.vm.trace.len() > TRACE_LINES {
            let extra = self.vm.trace.len() - TRACE_LINES;
            self.vm.trace.drain(..extra);
        }
    }

    fn on_driver_event(&mut self, event: DriverEvent) {
        match event {
            DriverEvent::Frame {
                at,
                direction,
                frame,
                version,
            } => {
                let arrow = match direction {
                    Direction::Sent => "phone -> server",
                    Direction::Received => "server -> phone",
                };
                self.push_trace(&format!("[{:8.3}] {arrow}", at.as_secs_f64()));
                self.push_trace(&frame_text(&frame, version));
            }
            DriverEvent::Phone { at, event } => {
                self.screen.event(&event, instant(at));
                self.push_trace(&format!("# [{:8.3}] {event}", at.as_secs_f64()));
                if let Some(s) = status_for(&event) {
                    self.vm.status = Some(s);
                }
            }
            DriverEvent::CommandDone {
                command,
                result,
                at,
            } => {
                let kind = CommandKind::of(&command.as_command());
                self.screen.sent(kind, result, instant(at));
                if let Err(e) = result {
                    self.vm.status = Some(Status {
                        error: true,
                        text: format!("{}: {e}", driver::command_text(&command)),
                    });
                }
            }
            DriverEvent::Transport { at, note } => {
                self.push_trace(&format!("# [{:8.3}] transport: {note:?}", at.as_secs_f64()));
            }
        }
    }

    /// A key for the agent's screen (and the trace pane, the help, quitting); `None` when the
    /// key is none of those (a letter shortcut).
    fn on_screen_key(&mut self, key: KeyEvent, vocabulary: &StdVocabulary) -> Option<bool> {
        if key.modifiers.contains(KeyModifiers::CONTROL) {
            return (key.code == KeyCode::Char('c')).then_some(false);
        }
        // A password may hold letters: the password pad takes any printable key.
        let password = matches!(
            self.screen.mode(),
            Mode::Pad {
                pad: PadKind::Password,
                ..
            }
        );
        let action = match key.code {
            KeyCode::Char(c) if password && c.is_ascii_graphic() => {
                TermKey::Phone(Key::Digit(c as u8))
            }
            code => term_key(code)?,
        };
        match action {
            TermKey::Phone(k) => {
                let App { handle, screen, .. } = self;
                let reaction = handle.with_labelled_view(vocabulary, |view, now| {
                    screen.key(view, vocabulary, k, now)
                });
                if let Reaction::Send(cmd) = reaction {
                    match driver::owned(cmd.as_command()) {
                        Ok(c) => self.handle.command(c),
                        Err(e) => {
                            self.vm.status = Some(Status {
                                error: true,
                                text: e.to_string(),
                            })
                        }
                    }
                }
            }
            TermKey::ToggleTrace => self.trace_open = !self.trace_open,
            TermKey::Help => self.help = !self.help,
            TermKey::TraceUp => {
                self.vm.scroll = self.vm.scroll.saturating_add(10).min(self.vm.trace.len())
            }
            TermKey::TraceDown => self.vm.scroll = self.vm.scroll.saturating_sub(10),
            TermKey::Quit => {
                self.handle.command(AgentCommand::Close);
                self.closing = true;
            }
            TermKey::QuitNow => return Some(false),
        }
        Some(true)
    }

    /// Handle a key; false when the app should end.
    fn on_key(&mut self, key: KeyEvent, vocabulary: &StdVocabulary) -> bool {
        if key.kind != KeyEventKind::Press {
            return true;
        }
        if self.prompt.is_none() {
            if let Some(go_on) = self.on_screen_key(key, vocabulary) {
                return go_on;
            }
        }
        if let Some((pending, mut text)) = self.prompt.take() {
            match key.code {
                KeyCode::Enter => match pending.command(&text) {
                    Ok(c) => self.handle.command(c),
                    Err(e) => {
                        self.vm.status = Some(Status {
                            error: true,
                            text: e,
                        })
                    }
                },
                KeyCode::Esc => {}
                KeyCode::Backspace => {
                    text.pop();
                    self.prompt = Some((pending, text));
                }
                KeyCode::Char(c) => {
                    text.push(c);
                    self.prompt = Some((pending, text));
                }
                _ => self.prompt = Some((pending, text)),
            }
            return true;
        }
        match key_action(key) {
            KeyAction::Command(c) => self.handle.command(c),
            KeyAction::Prompt(_) => {
                if let KeyCode::Char(c) = key.code {
                    self.prompt = key_prompt(c).map(|p| (p, String::new()));
                }
            }
            KeyAction::Scroll(n) => {
                let max = self.vm.trace.len();
                self.vm.scroll = if n >= 0 {
                    self.vm.scroll.saturating_add(n.unsigned_abs()).min(max)
                } else {
                    self.vm.scroll.saturating_sub(n.unsigned_abs())
                };
            }
            KeyAction::CloseAndQuit => {
                self.handle.command(AgentCommand::Close);
                self.closing = true;
                self.vm.status = Some(Status {
                    error: false,
                    text: "closing the session…".into(),
                });
            }
            KeyAction::Quit => return false,
            KeyAction::None => {}
        }
        true
    }
}

fn run_app(app: &mut App, vocabulary: &StdVocabulary) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout();
    terminal::enable_raw_mode()?;
    stdout.execute(terminal::EnterAlternateScreen)?;
    let mut terminal = Terminal::new(CrosstermBackend::new(stdout))?;
    let mut closing_since: Option<std::time::Instant> = None;
    let result = loop {
        while let Ok(ev) = app.handle.events().try_recv() {
            app.on_driver_event(ev);
        }
        let App {
            handle,
            vm,
            screen,
            frame,
            ..
        } = &mut *app;
        let closed = handle.with_labelled_view(vocabulary, |view, now| {
            vm.update(view, now);
            *frame = Some(screen.frame(view, vocabulary, now));
            view.session.state == ccx_cti::phone::SessionState::Disconnected
        });
        app.vm.prompt = prompt_view(app.prompt.as_ref());
        // The agent's screen first; a letter shortcut's text prompt still uses the older view.
        let drawn = match (&app.frame, &app.prompt) {
            (Some(frame), None) => terminal.draw(|f| {
                f.render_widget(
                    PhoneLayout {
                        frame,
                        trace: &app.vm.trace,
                        trace_back: app.vm.scroll,
                        trace_open: app.trace_open,
                        help: app.help,
                        color: app.color,
                    },
                    f.area(),
                )
            }),
            _ => terminal.draw(|f| view::render(f, &app.vm)),
        };
        if let Err(e) = drawn {
            break Err(e.into());
        }
        if app.closing {
            let since = *closing_since.get_or_insert_with(std::time::Instant::now);
            if closed || since.elapsed() > Duration::from_secs(3) {
                break Ok(());
            }
        }
        match event::poll(Duration::from_millis(50)) {
            Ok(true) => match event::read() {
                Ok(TermEvent::Key(k)) => {
                    if !app.on_key(k, vocabulary) {
                        break Ok(());
                    }
                }
                Ok(_) => {}
                Err(e) => break Err(e.into()),
            },
            Ok(false) => {}
            Err(e) => break Err(e.into()),
        }
    };
    terminal::disable_raw_mode()?;
    terminal
        .backend_mut()
        .execute(terminal::LeaveAlternateScreen)?;
    terminal.show_cursor()?;
    result
}

/// `ccx phone`.
pub fn phone_main(args: &PhoneArgs) -> ExitCode {
    let result = (|| -> anyhow::Result<()> {
        let Loaded {
            config: mut cfg,
            mut origin,
            vocabulary,
        } = args.load()?;
        // Refuse a bad file before asking for a password.
        config_file::check(&cfg, &origin)?;
        if let Some(p) = password(args)? {
            cfg.agent_password.clear();
            cfg.agent_password.push_str(&p).map_err(|_| {
                anyhow::anyhow!(
                    "agent_password ({PASSWORD_ENV} or the prompt) is {} bytes long; at most {} fit",
                    p.len(),
                    cfg.agent_password.capacity()
                )
            })?;
            origin
                .overrides
                .push(("agent_password", format!("{PASSWORD_ENV} or the prompt")));
        }
        let warning = config_file::check(&cfg, &origin)?;
        let servers: Vec<String> = cfg.servers.iter().map(config_file::server_text).collect();
        let title = format!(
            "agent {} ext {} @ {}",
            cfg.agent_id,
            cfg.agent_extension,
            servers.join(" / ")
        );
        let handle = driver::spawn(
            cfg,
            DriverOptions {
                trace_frames: true,
                name: "phone".into(),
            },
        )?;
        let mut app = App {
            handle,
            vm: ViewModel {
                title,
                status: warning.map(|text| Status { error: false, text }),
                ..ViewModel::default()
            },
            prompt: None,
            closing: false,
            screen: Screen::new(12),
            frame: None,
            trace_open: false,
            help: false,
            color: color_allowed(),
        };
        run_app(&mut app, &vocabulary)
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ccx phone: {e:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests;
