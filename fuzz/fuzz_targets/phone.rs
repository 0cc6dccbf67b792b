//! Fuzz target `phone`: see `ccx_cti_fuzz::phone_target`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ccx_cti_fuzz::phone_target(data));
