//! Zero allocations in the configuration's API: validation, the blob both ways and the
//! vocabulary, measured by a counting global allocator. One `#[test]`: the counters are
//! process-wide.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::alloc::System;

use ccx_cti::config::{PhoneConfig, ReasonKind, Vocabulary, BLOB_MAX_LEN};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn validation_the_blob_and_the_vocabulary_allocate_nothing() {
    let mut cfg = PhoneConfig::default();
    cfg.servers[0].host = "fd00::5".try_into().unwrap();
    let mut other = cfg.clone();
    other.servers[0].host = "uccx-a.example.com".try_into().unwrap();
    other.idle_timeout_secs = 0;
    let mut buf = [0u8; BLOB_MAX_LEN];
    let mut vocabulary: Box<Vocabulary<300>> = Box::default();

    let region = Region::new(GLOBAL);
    assert!(cfg.validate().is_ok());
    assert!(other.validate().is_err());
    let mut problems = 0;
    let _ = other.for_each_problem(|_| problems += 1);
    let len = cfg.encode_blob(&mut buf).unwrap().len();
    let back = PhoneConfig::decode_blob(&buf[..len]).unwrap();
    let mut damaged = buf;
    damaged[9] ^= 1;
    assert!(PhoneConfig::decode_blob(&damaged[..len]).is_err());
    for code in 1..=300u16 {
        vocabulary.add(ReasonKind::NotReady, code, "Lunch").unwrap();
    }
    assert_eq!(vocabulary.label(ReasonKind::NotReady, 300), Some("Lunch"));
    let change = region.change();

    assert_eq!(back, cfg);
    assert_eq!(problems, 1);
    assert!(
        change.allocations == 0 && change.reallocations == 0 && change.deallocations == 0,
        "allocated: {change:?}"
    );
}
