//! The `--pcap`, `--log`, `--json` and `--flow` side of `ccx decode`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use crate::codec_cli::DecodeArgs;

use super::flowgen::{write_flow, FlowMessage};
use super::{logs, pcap, DecodeOptions};

/// Run `ccx decode --pcap FILE` or `ccx decode --log FILE`; `None` when neither was asked for.
pub fn decode_main(args: &DecodeArgs) -> Option<ExitCode> {
    let opts = DecodeOptions {
        version: args.codec.protocol_version,
        v18_length_width: args.codec.v18_length_width,
        show_secrets: args.show_secrets,
    };
    if let Some(path) = &args.pcap {
        return Some(pcap_main(path, &opts, args));
    }
    if let Some(path) = &args.log {
        return Some(log_main(path, &opts, args.json));
    }
    if args.json || args.flow.is_some() {
        eprintln!("error: --json and --flow go with --pcap FILE (and --json with --log FILE)");
        return Some(ExitCode::from(2));
    }
    None
}

fn emit(text: &str) -> ExitCode {
    // Ends the tool itself when the write fails (see `crate::output`).
    let _ = crate::output::stdout().write_all(text.as_bytes());
    ExitCode::SUCCESS
}

fn pcap_main(path: &Path, opts: &DecodeOptions, args: &DecodeArgs) -> ExitCode {
    let data = match pcap::read_all(path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let report = match pcap::decode_capture(&data, opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    if let Some(flow) = &args.flow {
        // The first stream that opens a session (else the first stream with messages).
        let stream = report
            .messages
            .iter()
            .find(|m| m.message.msgtype == "OPEN_REQ")
            .or(report.messages.first())
            .map(|m| m.stream);
        let messages: Vec<FlowMessage> = report
            .messages
            .iter()
            .filter(|m| Some(m.stream) == stream)
            .map(|m| FlowMessage {
                way: m.direction,
                message: m.message.clone(),
                at: format!("packet {}", m.frame),
            })
            .collect();
        let title = format!(
            "stream {} of {}",
            stream.unwrap_or(0),
            path.file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default()
        );
        if let Err(e) = std::fs::write(flow, write_flow(&title, &messages)) {
            eprintln!("error: cannot write {}: {e}", flow.display());
            return ExitCode::from(2);
        }
    }
    for p in &report.problems {
        eprintln!(
            "warning: packet {} stream {} {}: {}",
            p.frame,
            p.stream,
            p.direction.arrow(),
            p.text
        );
    }
    finish(
        &report,
        args.json,
        pcap::report_text,
        report.problems.is_empty(),
    )
}

/// Print `report` as JSON or as text; exit 1 when it had problems, 2 when stdout fails.
fn finish<R: serde::Serialize>(
    report: &R,
    json: bool,
    text: fn(&R) -> String,
    clean: bool,
) -> ExitCode {
    let out = if json {
        match serde_json::to_string_pretty(report) {
            Ok(s) => s + "\n",
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        text(report)
    };
    let code = emit(&out);
    if code == ExitCode::SUCCESS && !clean {
        return ExitCode::from(1);
    }
    code
}

fn log_main(path: &Path, opts: &DecodeOptions, json: bool) -> ExitCode {
    let data = match pcap::read_all(path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let text = String::from_utf8_lossy(&data);
    let report = logs::decode_log(&text, opts);
    for p in &report.problems {
        eprintln!("warning: line {}: {}", p.line, p.text);
    }
    finish(&report, json, logs::report_text, report.problems.is_empty())
}
