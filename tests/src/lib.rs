//! Whole-system tests of ccx-cti, across crates: they live in `tests/tests/`.
//!
//! - `replay_flows.rs`: every flow in `tests/flows/` through the flow runner (the phone core
//!   driven with a virtual clock), and broken flows that must fail.
//! - `phone_sim.rs`: the phone, through the std driver, against the simulator over real
//!   loopback TCP: the demo story, every preview answer, call control, failover from side A to
//!   side B, a simulator restart, and each fault the simulator can inject.
//!
//! The data they share with the rest of the workspace sits beside them: `flows/` and
//! `traces/`.
