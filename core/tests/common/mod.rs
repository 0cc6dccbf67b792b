//! Helpers shared by the codec tests: hex and the byte-level vectors of `data/vectors.txt`.
// Each test file uses only some of these.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

/// The vectors file: trace text followed by `= HEX`, grouped under `@version N` lines.
pub const VECTORS: &str = include_str!("../data/vectors.txt");

/// Hex digits to bytes; anything that is not a hex digit (spaces, `|`) is skipped.
pub fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// Bytes to lower-case hex.
pub fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// One vector: a message as trace text and its frame under a protocol version.
pub struct Vector {
    /// Protocol version.
    pub version: u32,
    /// Trace text (show-secrets form).
    pub text: String,
    /// The whole frame.
    pub frame: Vec<u8>,
}

/// Every vector of the file.
pub fn vectors() -> Vec<Vector> {
    let mut out = Vec::new();
    let mut version = 17;
    let mut text = String::new();
    for line in VECTORS.lines() {
        if let Some(v) = line.strip_prefix("@version ") {
            version = v.parse().unwrap();
        } else if let Some(h) = line.strip_prefix("= ") {
            out.push(Vector {
                version,
                text: std::mem::take(&mut text),
                frame: hex(h),
            });
        } else if !(line.starts_with('#') || line.is_empty()) {
            text.push_str(line);
            text.push('\n');
        }
    }
    out
}

/// Just the frames of every vector.
pub fn vector_frames() -> Vec<Vec<u8>> {
    vectors().into_iter().map(|v| v.frame).collect()
}
