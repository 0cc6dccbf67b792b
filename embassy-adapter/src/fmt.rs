//! Logging shim: the core's (`defmt`, `log`, or nothing, chosen by this crate's features).
//! Format strings use `{:?}` (both `defmt` (Format) and `log` (Debug) accept it) or `{}` for
//! values that are both Format and Display.
#![allow(unused_macros)]

macro_rules! adapter_info {
    ($($arg:tt)*) => { ccx_cti::__ccx_log!(info, $($arg)*) };
}

macro_rules! adapter_debug {
    ($($arg:tt)*) => { ccx_cti::__ccx_log!(debug, $($arg)*) };
}

macro_rules! adapter_warn {
    ($($arg:tt)*) => { ccx_cti::__ccx_log!(warn, $($arg)*) };
}
