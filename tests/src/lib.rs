//! Whole-system tests of ccx-cti, across crates: they live in `tests/tests/`.
//!
//! - `replay_flows.rs`: every flow in `tests/flows/` through the flow runner (the phone core
//!   driven with a virtual clock), and broken flows that must fail.
//! - `phone_sim.rs`: the phone, through the std driver, against the simulator over real
//!   loopback TCP: the demo story, every preview answer, call control, failover from side A to
//!   side B, a simulator restart, and each fault the simulator can inject.
//! - `faults.rs`: the phone against a raw TCP peer that misbehaves on purpose: a close in the
//!   middle of a frame, a 4 GiB length, garbage, one byte every 100 ms, every request refused,
//!   duplicate, out-of-order and unknown-call events, more calls than the table holds, named
//!   variables longer than allowed.
//!
//! The data they share with the rest of the workspace sits beside them: `flows/` and
//! `traces/`.
