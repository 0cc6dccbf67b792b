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
use ccx_cti::phone::PreviewAnswer;

use crate::config_file::{self, parse_server, Origin, PhoneFile, Source, StdVocabulary};
use crate::demo::frame_text;
use crate::driver::{self, AgentCommand, Direction, DriverEvent, DriverHandle, DriverOptions};
use view::{status_for, Status, ViewModel};

/// Lines of trace kept for scrolling.
const TRACE_LINES: usize = 5000;
/// Environment variable with the agent's password (never a flag).
pub const PASSWORD_ENV: &str = "CCX_AGENT_PASSWORD";

const KEYS: &str = "\
Keys:
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
            t.parse::<u16>().or_else(|_| {
                if t.is_empty() {
                    Ok(0)
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
    print!("Agent password (or set {PASSWORD_ENV}): ");
    std::io::stdout().flush()?;
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
    println!();
    result.map(|()| Some(text))
}

struct App {
    handle: DriverHandle,
    vm: ViewModel,
    prompt: Option<(Pending, String)>,
    closing: bool,
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
                self.push_trace(&format!("# [{:8.3}] {event}", at.as_secs_f64()));
                if let Some(s) = status_for(&event) {
                    self.vm.status = Some(s);
                }
            }
            DriverEvent::CommandDone {
                command, result, ..
            } => {
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

    /// Handle a key; false when the app should end.
    fn on_key(&mut self, key: KeyEvent) -> bool {
        if key.kind != KeyEventKind::Press {
            return true;
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
        let App { handle, vm, .. } = &mut *app;
        let closed = handle.with_labelled_view(vocabulary, |view, now| {
            vm.update(view, now);
            view.session.state == ccx_cti::phone::SessionState::Disconnected
        });
        app.vm.prompt = prompt_view(app.prompt.as_ref());
        if let Err(e) = terminal.draw(|f| view::render(f, &app.vm)) {
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
                    if !app.on_key(k) {
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
mod tests {
    use super::*;

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn keys_map_to_the_documented_commands() {
        assert_eq!(
            key_action(key('r')),
            KeyAction::Command(AgentCommand::Ready)
        );
        assert_eq!(
            key_action(key('4')),
            KeyAction::Command(AgentCommand::Preview(PreviewAnswer::Skip))
        );
        assert_eq!(
            key_action(key('6')),
            KeyAction::Command(AgentCommand::Preview(PreviewAnswer::CancelReservation))
        );
        assert_eq!(key_action(key('d')), KeyAction::Prompt("dial number"));
        assert_eq!(key_action(key('q')), KeyAction::CloseAndQuit);
        assert!(KEYS.contains("Cancel Reservation"));
    }

    #[test]
    fn prompts_build_commands() {
        assert_eq!(
            Pending::Callback.command("12312026 09:30"),
            driver::parse_command("preview callback 12312026 09:30")
        );
        assert!(matches!(
            Pending::Callback.command("12312026 09:30"),
            Ok(AgentCommand::Callback { .. })
        ));
        assert_eq!(
            Pending::NotReady.command(""),
            Ok(AgentCommand::NotReady { reason: 0 })
        );
        assert!(Pending::NotReady.command("x").is_err());
    }

    fn status_row(vm: &ViewModel) -> String {
        let backend = ratatui::backend::TestBackend::new(200, 30);
        let mut terminal = Terminal::new(backend).unwrap();
        terminal.draw(|f| view::render(f, vm)).unwrap();
        let buffer = terminal.backend().buffer().clone();
        (0..buffer.area.height)
            .map(|y| {
                (0..buffer.area.width)
                    .map(|x| buffer[(x, y)].symbol().to_string())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The screen draws what the phone's own view holds: the preview card, the reason's
    /// label, the commands valid now.
    #[test]
    fn the_screen_shows_the_core_view() {
        use ccx_cti::config::{PhoneConfig, ReasonKind};
        use ccx_cti::phone::{Instant, Phone, TransportAction};
        use ccx_cti::wire::{fields, tag, Encoder, MessageType, WireVersion};
        let mut phone: Phone = Phone::new(PhoneConfig::default());
        let now = Instant::from_secs(1);
        assert!(matches!(
            phone.poll_transport(now),
            Some(TransportAction::Connect { .. })
        ));
        phone.connected(now);
        let mut buf = [0u8; 1024];
        let n = phone.poll_transmit(&mut buf).unwrap();
        let invoke = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
        let mut frame = |ty, build: &dyn Fn(&mut Encoder<'_>)| {
            let mut out = [0u8; 1024];
            let mut enc = Encoder::new(&mut out, ty, WireVersion::DEFAULT);
            build(&mut enc);
            let len = enc.finish().unwrap();
            phone.handle_bytes(now, &out[..len]);
        };
        let _ = n;
        frame(MessageType::OpenConf, &|e| {
            e.set(fields::open_conf::INVOKE_ID, invoke)
                .set(fields::open_conf::SERVICES_GRANTED, 7);
        });
        frame(MessageType::AgentStateEvent, &|e| {
            e.set(
                fields::agent_state_event::AGENT_STATE,
                ccx_cti::wire::AgentState::NotReady,
            )
            .set(
                fields::agent_state_event::EVENT_REASON_CODE,
                ccx_cti::wire::EventReasonCode::from_value(12),
            );
        });
        frame(MessageType::BeginCallEvent, &|e| {
            e.set(fields::begin_call_event::CONNECTION_CALL_ID, 9)
                .set(
                    fields::begin_call_event::CALL_TYPE,
                    ccx_cti::wire::CallType::Reservation,
                )
                .string(tag::CONNECTION_DEVICE_ID, "")
                .named_var("BAStatus", "DO")
                .named_var("BABuddyName", "John,Doe")
                .named_var("BAAccountNumber", "AC111");
        });
        let mut vocabulary = StdVocabulary::new();
        vocabulary.add(ReasonKind::NotReady, 12, "Lunch").unwrap();
        let mut vm = ViewModel::default();
        vm.update(&phone.view_with(&vocabulary), Instant::from_secs(4));
        assert_eq!(vm.reason_label.as_deref(), Some("Lunch"));
        assert_eq!(vm.agent_secs, 3);
        let preview = vm.preview.clone().expect("the preview card");
        assert_eq!(preview.call, 9);
        assert_eq!(
            preview.vars,
            [
                ("Name".to_string(), "John,Doe".to_string()),
                ("Account".to_string(), "AC111".to_string())
            ]
        );
        assert!(vm.valid.contains("preview 9"), "{}", vm.valid);
        let screen = status_row(&vm);
        assert!(screen.contains("Name: John,Doe"), "{screen}");
        assert!(screen.contains("Reason: 12 (Lunch)"), "{screen}");
    }

    #[test]
    fn a_password_typed_at_the_command_prompt_is_never_drawn() {
        let typed = (Pending::Line, "login hunter2".to_string());
        let vm = ViewModel {
            prompt: prompt_view(Some(&typed)),
            ..ViewModel::default()
        };
        let screen = status_row(&vm);
        assert!(screen.contains("command: login *******_"), "{screen}");
        assert!(!screen.contains("hunter2"), "{screen}");
        // Other prompts show what is typed.
        assert_eq!(shown_input(Pending::Dial, "5551234"), "5551234");
        assert_eq!(
            shown_input(Pending::Line, "  dial 5551234"),
            "  dial 5551234"
        );
        assert_eq!(shown_input(Pending::Line, " login  a b"), " login  * *");
    }

    #[test]
    fn a_refused_login_command_does_not_show_its_password() {
        let secret = format!("pw{}", "9".repeat(200));
        let e = Pending::Line
            .command(&format!("login {secret}"))
            .unwrap_err();
        assert!(e.starts_with("`login ********`"), "{e}");
        assert!(!e.contains("pw99"), "{e}");
        let vm = ViewModel {
            status: Some(Status {
                error: true,
                text: e,
            }),
            ..ViewModel::default()
        };
        assert!(!status_row(&vm).contains("pw99"));
    }

    #[test]
    fn a_bad_flag_is_named_by_the_flag() {
        let args = PhoneArgs {
            config: None,
            servers: vec![],
            agent_id: None,
            extension: Some("1234567890123456".into()),
            instrument: None,
            protocol_version: None,
            heartbeat_secs: None,
            idle_timeout_secs: None,
            reconnect_secs: Some(0),
            no_password_prompt: true,
        };
        let loaded = args.load().unwrap();
        let e = config_file::check(&loaded.config, &loaded.origin)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--extension: agent_extension is 16 bytes long"),
            "{e}"
        );
        assert!(e.contains("--reconnect-secs: reconnect_secs 0"), "{e}");
    }

    #[test]
    fn a_bad_file_is_refused_with_its_line() {
        let dir = std::env::temp_dir().join(format!("ccx-phone-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("phone.toml");
        std::fs::write(&path, "agent_id = \"a1\"\nv18_length_width = 7\n").unwrap();
        let args = PhoneArgs {
            config: Some(path.clone()),
            servers: vec![],
            agent_id: None,
            extension: None,
            instrument: None,
            protocol_version: None,
            heartbeat_secs: None,
            idle_timeout_secs: None,
            reconnect_secs: None,
            no_password_prompt: true,
        };
        let loaded = args.load().unwrap();
        let e = config_file::check(&loaded.config, &loaded.origin)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("{}:2: v18_length_width 7", path.display())),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn flags_override_the_file() {
        let args = PhoneArgs {
            config: None,
            servers: vec!["10.1.1.1:2000".into(), "10.1.1.2".into()],
            agent_id: Some("a7".into()),
            extension: Some("7007".into()),
            instrument: None,
            protocol_version: Some(16),
            heartbeat_secs: None,
            idle_timeout_secs: None,
            reconnect_secs: None,
            no_password_prompt: true,
        };
        let cfg = args.phone_config().unwrap();
        assert_eq!(cfg.servers.len(), 2);
        assert_eq!(cfg.servers[0].port, 2000);
        assert_eq!(cfg.agent_id.as_str(), "a7");
        assert_eq!(cfg.protocol_version, 16);
    }
}
