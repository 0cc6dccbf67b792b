//! The `ccx` command-line tool.
fn main() {}
