//! A scenario's inbound arrivals as a script for the real simulator (`ccx sim --scenario`):
//! the same seed gives the same calls at the same (compressed) times.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::Scenario;
use crate::sim::InboundCall;

impl Scenario {
    /// Every inbound call of the run, in time order, `speed` times faster than real time
    /// (CSQ IDs are 1, 2 … in file order). Poisson arrivals with the rate following each
    /// CSQ's profile (thinning), from the scenario's seed.
    pub fn arrivals(&self, speed: f64) -> Vec<InboundCall> {
        let speed = if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            1.0
        };
        let end = self.duration.as_secs_f64() * 1000.0;
        let mut rng = StdRng::seed_from_u64(self.seed);
        let mut calls = Vec::new();
        for (i, q) in self.csq.iter().enumerate() {
            let peak = if q.profile.is_empty() {
                1.0
            } else {
                q.profile.iter().copied().fold(0.0_f64, f64::max)
            };
            let max_rate = q.calls_per_hour * peak / 3_600_000.0;
            if max_rate <= 0.0 {
                continue;
            }
            let mut t = 0.0;
            loop {
                let u: f64 = rng.gen();
                t += -(1.0 - u).ln() / max_rate;
                if t > end {
                    break;
                }
                let factor = if q.profile.is_empty() {
                    1.0
                } else {
                    let slice = ((t / end) * q.profile.len() as f64) as usize;
                    q.profile
                        .get(slice.min(q.profile.len().saturating_sub(1)))
                        .copied()
                        .unwrap_or(1.0)
                };
                let accept: f64 = rng.gen();
                if accept * peak <= factor {
                    calls.push(InboundCall {
                        at_ms: (t / speed) as u64,
                        ani: format!("555{:04}", calls.len() % 10_000),
                        csq: i as u32 + 1,
                        vars: vec![("csq".into(), q.name.clone())],
                        ..InboundCall::default()
                    });
                }
            }
        }
        calls.sort_by_key(|c| c.at_ms);
        calls
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Scenario, EXAMPLE_TOML};

    #[test]
    fn one_seed_gives_one_script_and_speed_compresses_it() {
        let s = Scenario::from_toml(EXAMPLE_TOML).unwrap_or_else(|e| panic!("{e}"));
        let a = s.arrivals(1.0);
        assert_eq!(a, s.arrivals(1.0));
        assert!((9000..11000).contains(&a.len()), "{}", a.len());
        let fast = s.arrivals(60.0);
        assert_eq!(fast.len(), a.len());
        // An hour at 60 times: a minute.
        assert!(fast.last().is_some_and(|c| c.at_ms <= 60_000));
        let mut other = s.clone();
        other.seed += 1;
        assert_ne!(other.arrivals(1.0), a);
    }
}
