//! Logging shim: `defmt`, `log`, or nothing, chosen by feature. Format strings use `{:?}` (both
//! `defmt` (Format) and `log` (Debug) accept it) or `{}` for values that are both Format and
//! Display.
#![allow(unused_macros)]

macro_rules! adapter_info {
    ($($arg:tt)*) => {{
        #[cfg(feature = "defmt")]
        defmt::info!($($arg)*);
        #[cfg(feature = "log")]
        log::info!($($arg)*);
        #[cfg(not(any(feature = "defmt", feature = "log")))]
        { let _ = ($($arg)*); }
    }};
}

macro_rules! adapter_debug {
    ($($arg:tt)*) => {{
        #[cfg(feature = "defmt")]
        defmt::debug!($($arg)*);
        #[cfg(feature = "log")]
        log::debug!($($arg)*);
        #[cfg(not(any(feature = "defmt", feature = "log")))]
        { let _ = ($($arg)*); }
    }};
}

macro_rules! adapter_warn {
    ($($arg:tt)*) => {{
        #[cfg(feature = "defmt")]
        defmt::warn!($($arg)*);
        #[cfg(feature = "log")]
        log::warn!($($arg)*);
        #[cfg(not(any(feature = "defmt", feature = "log")))]
        { let _ = ($($arg)*); }
    }};
}
