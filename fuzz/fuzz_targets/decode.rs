//! Fuzz target `decode`: see `ccx_cti_fuzz::decode_target`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ccx_cti_fuzz::decode_target(data));
