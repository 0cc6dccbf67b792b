//! std adapter for `ccx-cti`: the pieces that need an operating system.
//!
//! - [`cli`]: what every long-running command shares (durations, signals, progress).
//! - [`codec_cli`]: `ccx decode` / `ccx encode` (frames <-> the guide's trace text).
//! - [`flow`]: the flow runner behind `ccx replay`.
//! - [`driver`]: a blocking std driver that runs the sans-io phone over TCP.
//! - [`config_file`]: the phone configuration as TOML and as a postcard blob.
//! - [`demo`]: `ccx demo`, the whole story of a phone against the simulator.
//! - [`load`]: `ccx load`, many phones against a simulator.
//! - [`output`]: standard output that ends a tool quietly when its reader has gone.
//! - [`recorder`]: `ccx recorder`, a phone's flight-recorder dump as trace, flow or pcap.
//! - [`scenario`]: `ccx load --scenario`, a busy hour on a virtual clock.
//! - [`screen`]: the agent's screen (the core's `ui::Frame`) as a text box and a ratatui widget.
//! - [`tui`]: `ccx phone`, a terminal agent phone.
//! - [`sim`]: `ccx sim`, a Unified CCX CTI server simulator.
//! - [`wiretools`]: `ccx decode --pcap` / `--log` and `ccx proxy`, for captures and logs of a
//!   real contact center.

pub mod cli;
pub mod codec_cli;
pub mod config_file;
pub mod demo;
pub mod driver;
pub mod flow;
pub mod load;
pub mod output;
pub mod recorder;
pub mod scenario;
pub mod screen;
pub mod sim;
pub mod tui;
pub mod wiretools;
