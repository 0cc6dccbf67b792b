//! The flow runner behind `ccx replay` (FORMAT.md §2).
//!
//! A flow drives the sans-io phone directly with a virtual clock: `server:` messages are
//! encoded with the session's widths and fed as bytes, `client:` blocks are compared field by
//! field with what the phone sent, `agent:` presses buttons, `time:` fires timers, `net:`
//! closes or lets through the connection, `expect:` reads the phone's state.

mod domain;
pub mod parse;
pub mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

pub use parse::{parse_flow, Flow, FlowFile, FlowParseError, Item, Start};
pub use run::{run_flow, run_flow_observed, validate, Failure, FlowObserver, Outcome};

/// `ccx replay` options.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// Flow files to run.
    #[arg(required = true)]
    pub flows: Vec<PathBuf>,
    /// Print every message exchanged (trace text with virtual time) for each flow.
    #[arg(short, long)]
    pub verbose: bool,
    /// Print one JSON object on stdout instead (every flow's result and the totals).
    #[arg(long)]
    pub json: bool,
}

/// What became of one flow file.
#[derive(Debug)]
pub enum FileResult {
    /// Every check passed.
    Passed,
    /// A check failed.
    Failed(Failure),
    /// The file could not be read or parsed.
    Unusable(String),
}

/// Read, parse and run one flow file; returns the result and the transcript.
pub fn replay_file(path: &std::path::Path) -> (FileResult, String, String) {
    let name = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            return (
                FileResult::Unusable(format!("cannot read: {e}")),
                name,
                String::new(),
            )
        }
    };
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| name.clone());
    let file = match parse_flow(&text, &stem) {
        Ok(f) => f,
        Err(e) => return (FileResult::Unusable(e.to_string()), stem, String::new()),
    };
    if let Err(e) = validate(&file) {
        return (
            FileResult::Unusable(format!("line {}: {}", e.line, e.reason)),
            file.flow.title,
            String::new(),
        );
    }
    let outcome = run_flow(&file);
    let result = match outcome.result {
        Ok(()) => FileResult::Passed,
        Err(f) => FileResult::Failed(f),
    };
    (result, file.flow.title, outcome.transcript)
}

/// `ccx replay FLOW...`: exit 0 when every flow passed, 1 when one failed, 2 when a file could
/// not be read or parsed.
pub fn replay_main(args: &ReplayArgs) -> ExitCode {
    let (mut failed, mut unusable, mut passed) = (0, 0, 0);
    let mut results = Vec::new();
    for path in &args.flows {
        let (result, title, transcript) = replay_file(path);
        if args.verbose && !transcript.is_empty() && !args.json {
            crate::outln!("--- {} ---\n{transcript}", path.display());
        }
        let file = path.display().to_string();
        let (line, json) = match result {
            FileResult::Passed => {
                passed += 1;
                (
                    format!("PASS {file}: {title}"),
                    serde_json::json!({"file": file, "title": title, "result": "pass"}),
                )
            }
            FileResult::Failed(f) => {
                failed += 1;
                (
                    format!("FAIL {file}: {title}: {f}"),
                    serde_json::json!({"file": file, "title": title, "result": "fail",
                        "step": f.step, "line": f.line, "reason": f.reason}),
                )
            }
            FileResult::Unusable(reason) => {
                unusable += 1;
                (
                    format!("ERROR {file}: {reason}"),
                    serde_json::json!({"file": file, "title": title, "result": "error",
                        "reason": reason}),
                )
            }
        };
        if args.json {
            results.push(json);
        } else {
            crate::outln!("{line}");
        }
    }
    if args.json {
        crate::outln!(
            "{}",
            serde_json::json!({"command": "replay", "passed": passed, "failed": failed,
                "errors": unusable, "flows": results})
        );
    } else {
        crate::outln!("{passed} passed, {} failed", failed + unusable);
    }
    if unusable > 0 {
        ExitCode::from(2)
    } else if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
