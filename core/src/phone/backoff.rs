//! Reconnect waits: the first retry after `reconnect_secs` (flows and operators rely on it),
//! later ones doubling up to [`RECONNECT_MAX_WAIT`], each shortened by a jitter drawn from the
//! configuration's seed, so that a fleet of phones that lost the same server spreads out.

use super::Duration;

/// The longest wait between two attempts the doubling reaches (a `reconnect_secs` above it
/// is kept as it is).
pub const RECONNECT_MAX_WAIT: Duration = Duration::from_secs(120);

/// Share of a wait the jitter may take off, as a divisor: at most a quarter.
const JITTER_DIVISOR: u64 = 4;

/// The wait before attempt `failures` (1 = the first retry after a session or connection
/// was lost) with the configured `base`.
///
/// The first wait is `base` exactly. Each later one doubles, up to [`RECONNECT_MAX_WAIT`]
/// (or `base` when that is longer), then loses a jitter of less than a quarter of it: the
/// jitter only shortens a wait, never lengthens it.
pub fn reconnect_wait(base: Duration, failures: u32, seed: u32) -> Duration {
    if failures <= 1 {
        return base;
    }
    Duration::from_millis(reconnect_wait_ms(millis(base), failures, seed))
}

/// [`reconnect_wait`] in milliseconds, as the phone adds it to an [`super::Instant`]: the
/// phone never goes through a `Duration`, whose conversion from milliseconds divides a
/// 64-bit number.
pub(super) fn reconnect_wait_ms(base_ms: u64, failures: u32, seed: u32) -> u64 {
    if failures <= 1 {
        return base_ms;
    }
    let cap_ms = millis(RECONNECT_MAX_WAIT).max(base_ms);
    let doublings = (failures - 1).min(20);
    let wait_ms = base_ms.saturating_mul(1u64 << doublings).min(cap_ms);
    let span = wait_ms / JITTER_DIVISOR;
    let jitter = match span {
        0 => 0,
        span => remainder(mix(seed, failures), span),
    };
    wait_ms - jitter
}

/// `n % d` (`d` > 0) by shift and subtract. The jitter is the only 64-bit division the phone
/// makes, once per reconnect: this keeps the general 64-bit divide routine (about 0.8 KB on a
/// 32-bit core) out of a firmware that needs nothing else from it.
fn remainder(n: u64, d: u64) -> u64 {
    let mut r = 0u64;
    for bit in (0..64).rev() {
        // `r < d` here, and `d` is at most a quarter of a u64, so the shift cannot overflow.
        r = (r << 1) | ((n >> bit) & 1);
        if r >= d {
            r -= d;
        }
    }
    r
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A 64-bit mix of the seed and the attempt number (splitmix64's finaliser): the same seed
/// gives the same waits, neighbouring seeds very different ones.
fn mix(seed: u32, failures: u32) -> u64 {
    let mut z = (u64::from(seed) << 32 | u64::from(failures)).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_wait_is_the_configured_one_then_doubles_shortened_by_jitter_up_to_the_cap() {
        let base = Duration::from_secs(10);
        for seed in [0, 1, 0xDEAD_BEEF] {
            assert_eq!(reconnect_wait(base, 0, seed), base);
            assert_eq!(reconnect_wait(base, 1, seed), base);
            let mut previous = base;
            for failures in 2..40 {
                let wait = reconnect_wait(base, failures, seed);
                let full = (millis(base) << (failures - 1).min(20)).min(millis(RECONNECT_MAX_WAIT));
                assert!(millis(wait) <= full, "jitter lengthened attempt {failures}");
                assert!(
                    millis(wait) > full - full / 4,
                    "attempt {failures}: {wait:?}"
                );
                assert!(wait <= RECONNECT_MAX_WAIT);
                if failures < 4 {
                    assert!(wait > previous, "attempt {failures} did not grow");
                }
                previous = wait;
            }
        }
    }

    #[test]
    fn remainder_is_the_modulo() {
        let mut n = 0x0123_4567_89AB_CDEFu64;
        for d in [
            1,
            2,
            3,
            7,
            1000,
            29_999,
            30_000,
            u64::from(u32::MAX) + 5,
            u64::MAX / 4,
        ] {
            for _ in 0..50 {
                assert_eq!(remainder(n, d), n % d, "{n} % {d}");
                n = n
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
            }
        }
        assert_eq!(remainder(u64::MAX, u64::MAX / 4), u64::MAX % (u64::MAX / 4));
        assert_eq!(remainder(0, 5), 0);
    }

    #[test]
    fn seeds_spread_the_waits_and_a_long_base_is_kept() {
        let base = Duration::from_secs(10);
        let a = reconnect_wait(base, 3, 1);
        let b = reconnect_wait(base, 3, 2);
        assert_ne!(a, b, "two seeds, one wait");
        assert_eq!(
            reconnect_wait(base, 3, 1),
            a,
            "a seed must give the same wait"
        );
        let long = Duration::from_secs(600);
        assert_eq!(reconnect_wait(long, 1, 7), long);
        assert!(reconnect_wait(long, 5, 7) <= long);
        assert!(reconnect_wait(long, 5, 7) > Duration::from_secs(450));
    }
}
