//! Fuzz target `framing`: see `ccx_cti_fuzz::framing_target`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ccx_cti_fuzz::framing_target(data));
