//! std adapter for `ccx-cti`: the pieces that need an operating system.
//!
//! - [`codec_cli`]: `ccx decode` / `ccx encode` (frames <-> the guide's trace text).
//! - [`flow`]: the flow runner behind `ccx replay`.
//! - [`driver`]: a blocking std driver that runs the sans-io phone over TCP.
//! - [`sim`]: `ccx sim`, a Unified CCX CTI server simulator.

pub mod codec_cli;
pub mod driver;
pub mod flow;
pub mod sim;
