//! `ccx decode` and `ccx encode`: binary or hex frames <-> the guide's trace text.
//!
//! Both read a file or standard input and write standard output. A malformed frame or a bad
//! line is reported on standard error with where it is and why, after everything that could be
//! converted before it was written; the exit status is then 1.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use ccx_cti::trace::{self, TextParser, TraceOptions};
use ccx_cti::wire::{
    decode, DecodeErrorKind, FeedResult, FrameAccumulator, WireVersion, HEADER_LEN,
};
use clap::Args;

/// Options shared by `ccx decode` and `ccx encode`.
#[derive(Debug, Clone, Args)]
pub struct CodecArgs {
    /// Protocol version whose floating-field widths to use (10–18).
    #[arg(long, default_value_t = 17, value_parser = clap::value_parser!(u32).range(10..=18))]
    pub protocol_version: u32,
    /// Width of a floating field's length under version 18 (1 or 2 bytes).
    #[arg(long, default_value_t = ccx_cti::wire::V18_LENGTH_WIDTH_DEFAULT, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub v18_length_width: u8,
    /// Frames as hexadecimal text (one frame per line on output) instead of raw binary.
    #[arg(long)]
    pub hex: bool,
    /// Input file; `-` or nothing for standard input.
    pub input: Option<PathBuf>,
}

/// `ccx decode` options.
#[derive(Debug, Clone, Args)]
pub struct DecodeArgs {
    #[command(flatten)]
    /// Shared options.
    pub codec: CodecArgs,
    /// Print passwords instead of `********`.
    #[arg(long)]
    pub show_secrets: bool,
    /// Read a pcap or pcapng capture: the CTI messages of every TCP stream, with time, stream
    /// and direction (each stream's version from its OPEN_REQ, else --protocol-version).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["log", "hex"])]
    pub pcap: Option<PathBuf>,
    /// Read a Unified CCX MIVR (ICD_CTI) or Finesse log: hex-dumped frames, object dumps and
    /// DECODED_MESSAGE_FROM_CTI_SERVER records, each with its log time.
    #[arg(long, value_name = "FILE", conflicts_with = "hex")]
    pub log: Option<PathBuf>,
    /// With --pcap or --log: JSON instead of trace text.
    #[arg(long)]
    pub json: bool,
    /// With --pcap: also write the first session as a flow file (docs/FORMAT.md §2).
    #[arg(long, value_name = "FILE", requires = "pcap")]
    pub flow: Option<PathBuf>,
}

/// `ccx encode` options.
#[derive(Debug, Clone, Args)]
pub struct EncodeArgs {
    #[command(flatten)]
    /// Shared options.
    pub codec: CodecArgs,
}

impl CodecArgs {
    fn version(&self) -> WireVersion {
        WireVersion::new(self.protocol_version).with_v18_length_width(self.v18_length_width)
    }

    fn read_input(&self) -> std::io::Result<Vec<u8>> {
        let mut data = Vec::new();
        match &self.input {
            Some(p) if p.as_os_str() != "-" => data = std::fs::read(p)?,
            _ => {
                std::io::stdin().read_to_end(&mut data)?;
            }
        }
        Ok(data)
    }
}

/// Why a conversion stopped.
#[derive(Debug)]
pub enum CodecError {
    /// A frame could not be decoded or framed.
    Frame {
        /// Index of the frame (0-based).
        index: usize,
        /// Byte offset in the input stream where the problem is.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A line of hex or trace text is wrong.
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing failed.
    Io(std::io::Error),
}

impl std::fmt::Display for CodecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CodecError::Frame {
                index,
                offset,
                reason,
            } => {
                write!(f, "frame {} at byte offset {offset}: {reason}", index + 1)
            }
            CodecError::Line { line, reason } => write!(f, "line {line}: {reason}"),
            CodecError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CodecError {}

impl From<std::io::Error> for CodecError {
    fn from(e: std::io::Error) -> Self {
        CodecError::Io(e)
    }
}

/// Hex text -> bytes. Spaces, newlines and `|` are ignored; `#` starts a comment line.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    let mut pending: Option<u8> = None;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        for c in line.chars() {
            if c.is_whitespace() || c == '|' {
                continue;
            }
            let d = c.to_digit(16).ok_or_else(|| CodecError::Line {
                line: i + 1,
                reason: format!("`{c}` is not a hexadecimal digit"),
            })?;
            let d = u8::try_from(d).unwrap_or(0);
            match pending.take() {
                Some(hi) => out.push(hi << 4 | d),
                None => pending = Some(d),
            }
        }
    }
    if pending.is_some() {
        return Err(CodecError::Line {
            line: text.lines().count(),
            reason: "odd number of hex digits".into(),
        });
    }
    Ok(out)
}

/// Decode a stream of frames and write their trace text to `out`. Stops at the first frame
/// that cannot be framed or decoded, after writing everything before it.
pub fn decode_stream(
    stream: &[u8],
    version: WireVersion,
    opts: TraceOptions,
    out: &mut dyn Write,
) -> Result<usize, CodecError> {
    let mut acc: FrameAccumulator = FrameAccumulator::new();
    let mut input = stream;
    let mut index = 0usize;
    let mut offset = 0u64;
    loop {
        match acc.feed(input) {
            FeedResult::Consumed => break,
            FeedResult::Frame { frame, remaining } => {
                let msg = decode(frame, version).map_err(|e| CodecError::Frame {
                    index,
                    offset: offset + e.offset as u64,
                    reason: e.to_string(),
                })?;
                write!(out, "{}", trace::display_with(&msg, opts))?;
                offset += frame.len() as u64;
                index += 1;
                input = remaining;
            }
            FeedResult::Error { error, .. } => {
                return Err(CodecError::Frame {
                    index,
                    offset,
                    reason: error.to_string(),
                });
            }
        }
    }
    let left = acc.buffered();
    if left > 0 {
        let reason = if left < HEADER_LEN {
            format!("the input ends inside a frame header ({left} of {HEADER_LEN} bytes)")
        } else {
            format!("the input ends inside a frame ({left} bytes of it present)")
        };
        return Err(CodecError::Frame {
            index,
            offset,
            reason,
        });
    }
    Ok(index)
}

/// Encode trace text into frames, written as binary or one hex line per frame.
///
/// A count the text gives explicitly (`NumNamedVariables: 2`) is written as given, so a wrong
/// count can still be crafted; when it disagrees with the records that follow, a warning naming
/// the message's line goes to `warn`.
pub fn encode_text(
    text: &str,
    version: WireVersion,
    hex: bool,
    out: &mut dyn Write,
    warn: &mut dyn Write,
) -> Result<usize, CodecError> {
    let mut parser = TextParser::new(text);
    let mut buf = vec![0u8; 65_536];
    let mut count = 0;
    let mut msg_lines = msg_type_lines(text);
    while let Some(r) = parser.next_message(&mut buf, version) {
        let line = msg_lines.next();
        let n = r.map_err(|e| CodecError::Line {
            line: e.line,
            reason: e.to_string(),
        })?;
        let frame = buf.get(..n).unwrap_or(&[]);
        if let Err(e) = decode(frame, version) {
            if let DecodeErrorKind::CountMismatch {
                field,
                declared,
                found,
            } = e.kind
            {
                let name =
                    ccx_cti::wire::message_def(e.message_type).map_or("the message", |d| d.name);
                let at = line.map_or(String::new(), |l| format!("line {l}: "));
                writeln!(
                    warn,
                    "warning: {at}{name}: {field} is {declared} but {found} records follow; the frame is written as given"
                )?;
            }
        }
        if hex {
            let line: String = frame.iter().map(|b| format!("{b:02x}")).collect();
            writeln!(out, "{line}")?;
        } else {
            out.write_all(frame)?;
        }
        count += 1;
    }
    Ok(count)
}

/// The 1-based numbers of the lines that start a message (`MsgType:`), in order.
fn msg_type_lines(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.split('\n')
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("MsgType:"))
        .map(|(i, _)| i + 1)
}

fn report(result: Result<usize, CodecError>) -> ExitCode {
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            // ParseError text already starts with its line; do not repeat it.
            match &e {
                CodecError::Line { reason, .. } if reason.starts_with("line ") => {
                    eprintln!("error: {reason}")
                }
                _ => eprintln!("error: {e}"),
            }
            ExitCode::from(1)
        }
    }
}

/// `ccx decode`: frames in, trace text out.
pub fn decode_main(args: &DecodeArgs) -> ExitCode {
    if let Some(code) = crate::wiretools::cli::decode_main(args) {
        return code;
    }
    let data = match args.codec.read_input() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: cannot read input: {e}");
            return ExitCode::from(2);
        }
    };
    let stream = if args.codec.hex {
        match parse_hex(&String::from_utf8_lossy(&data)) {
            Ok(b) => b,
            Err(e) => return report(Err(e)),
        }
    } else {
        data
    };
    let opts = TraceOptions {
        show_secrets: args.show_secrets,
        indent: 2,
    };
    let mut out = std::io::BufWriter::new(crate::output::stdout());
    let result = decode_stream(&stream, args.codec.version(), opts, &mut out);
    let _ = out.flush();
    report(result)
}

/// `ccx encode`: trace text in, frames out.
pub fn encode_main(args: &EncodeArgs) -> ExitCode {
    let data = match args.codec.read_input() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: cannot read input: {e}");
            return ExitCode::from(2);
        }
    };
    let Ok(text) = String::from_utf8(data) else {
        eprintln!("error: the input is not UTF-8 text");
        return ExitCode::from(1);
    };
    let mut out = std::io::BufWriter::new(crate::output::stdout());
    let result = encode_text(
        &text,
        args.codec.version(),
        args.codec.hex,
        &mut out,
        &mut std::io::stderr(),
    );
    let _ = out.flush();
    report(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = include_str!("../../tests/traces/guide-skip.trace");

    #[test]
    fn encode_then_decode_gives_the_text_back() {
        let v = WireVersion::DEFAULT;
        let mut frames = Vec::new();
        assert_eq!(
            encode_text(SEED, v, false, &mut frames, &mut Vec::new()).unwrap(),
            7
        );
        let mut text = Vec::new();
        assert_eq!(
            decode_stream(&frames, v, TraceOptions::default(), &mut text).unwrap(),
            7
        );
        let expected: String = SEED
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(String::from_utf8(text).unwrap(), expected);
    }

    #[test]
    fn hex_output_is_one_lower_case_frame_per_line_and_reads_back() {
        let v = WireVersion::DEFAULT;
        let mut hex = Vec::new();
        encode_text(SEED, v, true, &mut hex, &mut Vec::new()).unwrap();
        let hex = String::from_utf8(hex).unwrap();
        assert_eq!(hex.lines().count(), 7);
        assert!(hex.lines().all(|l| l
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))));
        let spaced = format!("# comment\n{}", hex.replace("0000", "00 | 00 "));
        let mut binary = Vec::new();
        encode_text(SEED, v, false, &mut binary, &mut Vec::new()).unwrap();
        assert_eq!(parse_hex(&spaced).unwrap(), binary);
    }

    #[test]
    fn a_malformed_frame_prints_what_came_before_and_names_the_offset() {
        let v = WireVersion::DEFAULT;
        let mut frames = Vec::new();
        encode_text(SEED, v, false, &mut frames, &mut Vec::new()).unwrap();
        // Second frame: END_CALL_EVENT of 27 bytes starts at 84; cut its fixed part.
        let mut broken = frames[..84].to_vec();
        broken.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 24, 0, 0, 0, 0]);
        let mut text = Vec::new();
        let err = decode_stream(&broken, v, TraceOptions::default(), &mut text).unwrap_err();
        let text = String::from_utf8(text).unwrap();
        assert!(text.starts_with("MsgType: AGENT_STATE_EVENT\n") && !text.contains("END_CALL"));
        let msg = err.to_string();
        assert!(msg.starts_with("frame 2 at byte offset 96:"), "{msg}");
        assert!(msg.contains("fixed part cut short"), "{msg}");
    }

    #[test]
    fn a_truncated_stream_is_an_error_not_silence() {
        let mut frames = Vec::new();
        encode_text(
            SEED,
            WireVersion::DEFAULT,
            false,
            &mut frames,
            &mut Vec::new(),
        )
        .unwrap();
        let err = decode_stream(
            &frames[..90],
            WireVersion::DEFAULT,
            TraceOptions::default(),
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("ends inside a frame"), "{err}");
    }

    const WRONG_COUNT: &str = "MsgType: HEARTBEAT_REQ\n  InvokeID: 1\n\
        MsgType: CALL_DATA_UPDATE_EVENT\n  NumNamedVariables: 2\n  ConnectionDeviceID: 4020\n\
        \x20 ExpandedCallContxt:\n  BAResponse: Skip\n";

    #[test]
    fn an_explicit_count_that_disagrees_is_written_as_given_with_a_warning() {
        let v = WireVersion::DEFAULT;
        let mut frames = Vec::new();
        let mut warnings = Vec::new();
        assert_eq!(
            encode_text(WRONG_COUNT, v, false, &mut frames, &mut warnings).unwrap(),
            2
        );
        let warnings = String::from_utf8(warnings).unwrap();
        assert_eq!(
            warnings,
            "warning: line 3: CALL_DATA_UPDATE_EVENT: NumNamedVariables is 2 but 1 records follow; the frame is written as given\n"
        );
        // The frame carries the count as written: NumNamedVariables (body offset 12) is 2.
        let second = &frames[12..];
        assert_eq!(&second[4..8], &25u32.to_be_bytes());
        assert_eq!(&second[8 + 12..8 + 14], &2u16.to_be_bytes());
        assert!(decode(second, v).is_err());
    }

    #[test]
    fn counts_that_agree_or_are_left_out_give_no_warning() {
        let v = WireVersion::DEFAULT;
        let right = WRONG_COUNT.replace("NumNamedVariables: 2", "NumNamedVariables: 1");
        let left_out = WRONG_COUNT.replace("  NumNamedVariables: 2\n", "");
        for text in [right.as_str(), left_out.as_str(), SEED] {
            let mut warnings = Vec::new();
            encode_text(text, v, true, &mut Vec::new(), &mut warnings).unwrap();
            assert!(
                warnings.is_empty(),
                "{}",
                String::from_utf8_lossy(&warnings)
            );
        }
    }

    #[test]
    fn a_bad_line_names_its_line_number() {
        let text = "MsgType: HEARTBEAT_REQ\n  InvokeID: 1\nMsgType: HEARTBEAT_REQ\n  Invoke: 2\n";
        let err = encode_text(
            text,
            WireVersion::DEFAULT,
            true,
            &mut Vec::new(),
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(matches!(err, CodecError::Line { line: 4, .. }), "{err}");
        assert!(parse_hex("00 0g").is_err());
        assert!(parse_hex("000").is_err());
    }
}
