//! Reads trace text on stdin, encodes every message, decodes it and prints it again.
//!
//! `cargo run -p ccx-cti --example trace_roundtrip < tests/traces/guide-skip.trace`
// Examples show the API plainly; the core's no-panic lints are for the library.
#![allow(clippy::indexing_slicing, clippy::unwrap_used)]
use std::io::Read;

use ccx_cti::trace::{display, TextParser};
use ccx_cti::wire::{decode, WireVersion};

fn main() {
    let mut text = String::new();
    if std::io::stdin().read_to_string(&mut text).is_err() {
        eprintln!("cannot read standard input");
        std::process::exit(2);
    }
    let version = WireVersion::DEFAULT;
    let mut parser = TextParser::new(&text);
    let mut buf = [0u8; 4096];
    while let Some(r) = parser.next_message(&mut buf, version) {
        let n = match r {
            Ok(n) => n,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        };
        let frame = buf.get(..n).unwrap_or(&[]);
        let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
        eprintln!("# {hex}");
        match decode(frame, version) {
            Ok(msg) => print!("{}", display(&msg)),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    }
}
