//! # ccx-cti
//!
//! A `#![no_std]`, allocation-free codec for the Cisco Unified Contact Center Express (Unified
//! CCX) CTI protocol, and a sans-io agent-phone state machine built on it.
//!
//! - [`wire`]: framing ([`wire::FrameAccumulator`]), [`wire::decode`] into borrowed
//!   [`wire::Message`] views, [`wire::Encoder`] into caller buffers, and the generated protocol
//!   table that declares every message once.
//! - `trace`: the guide's decoded text form of messages, both ways, without allocation, and
//!   field lookup by the guide's labels (with the `names` feature, on by default).
//! - [`phone`]: the sans-io agent phone: session, agent state, calls, outbound preview and
//!   requests, driven by bytes, commands and time passed in by an adapter.
//! - [`config`]: [`config::PhoneConfig`], the serde type firmware keeps in flash (postcard).
//!
//! Nothing here allocates, reads a clock, does I/O or panics on any input: the workspace lints
//! deny `unwrap`, `expect`, `panic!` and panicking indexing in this crate.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

#[cfg(all(feature = "defmt", feature = "log"))]
compile_error!("the `defmt` and `log` features cannot be enabled together");

#[cfg(test)]
extern crate std;

#[macro_use]
mod fmt;

pub mod config;
pub mod phone;
#[cfg(feature = "names")]
pub mod trace;
pub mod ui;
pub mod wire;
