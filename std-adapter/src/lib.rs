//! std adapter for `ccx-cti`: the pieces that need an operating system.
