//! Rate-limited warnings: a client can provoke a warning per frame, so each kind is logged at
//! most N times a second, and what was held back is summed up when the next second opens.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Per-kind counters of one second's warnings.
#[derive(Debug)]
pub(crate) struct RateLog {
    per_second: u32,
    kinds: HashMap<&'static str, Window>,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    logged: u32,
    held_back: u64,
}

impl RateLog {
    pub(crate) fn new(per_second: u32) -> RateLog {
        RateLog {
            per_second,
            kinds: HashMap::new(),
        }
    }

    /// Whether a warning of `kind` may be logged now.
    pub(crate) fn allow(&mut self, kind: &'static str, now: Instant) -> bool {
        let w = self.kinds.entry(kind).or_insert(Window {
            started: now,
            logged: 0,
            held_back: 0,
        });
        if now.saturating_duration_since(w.started) >= Duration::from_secs(1) {
            if w.held_back > 0 {
                log::warn!("simulator: {} more {kind} warnings held back", w.held_back);
            }
            *w = Window {
                started: now,
                logged: 0,
                held_back: 0,
            };
        }
        if w.logged < self.per_second {
            w.logged += 1;
            true
        } else {
            w.held_back += 1;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_n_a_second() {
        let mut r = RateLog::new(3);
        let t = Instant::now();
        let allowed = (0..100).filter(|_| r.allow("x", t)).count();
        assert_eq!(allowed, 3);
        assert!(r.allow("y", t));
        assert!(r.allow("x", t + Duration::from_secs(1)));
    }
}
