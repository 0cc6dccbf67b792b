//! Logging shim: `defmt`, `log`, or nothing, chosen by feature. Arguments are evaluated in
//! every case so that disabling logging cannot change behaviour or warnings.
//!
//! [`__ccx_log!`](crate::__ccx_log) is exported (hidden) so that the embassy adapter's crates
//! name their own shims with it instead of copying it: its `cfg(feature = ...)` is read where
//! it expands, so each crate's own `defmt` and `log` features choose.
#![allow(unused_macros)]

/// Log at `$level` (`debug`, `info`, `warn`, `error`) through `defmt` or `log`, whichever
/// feature the crate that uses it enables, or nowhere. Not part of the API.
#[doc(hidden)]
#[macro_export]
macro_rules! __ccx_log {
    ($level:ident, $($arg:tt)*) => {{
        #[cfg(feature = "defmt")]
        defmt::$level!($($arg)*);
        #[cfg(feature = "log")]
        log::$level!($($arg)*);
        #[cfg(not(any(feature = "defmt", feature = "log")))]
        { let _ = ($($arg)*); }
    }};
}

macro_rules! ccx_debug {
    ($($arg:tt)*) => { $crate::__ccx_log!(debug, $($arg)*) };
}

macro_rules! ccx_warn {
    ($($arg:tt)*) => { $crate::__ccx_log!(warn, $($arg)*) };
}
