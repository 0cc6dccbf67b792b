//! Fuzz target `trace_parse`: see `ccx_cti_fuzz::trace_parse_target`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ccx_cti_fuzz::trace_parse_target(data));
