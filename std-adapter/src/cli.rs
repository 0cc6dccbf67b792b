//! Pieces every long-running command shares: one duration syntax for every flag, a stop
//! flag raised by SIGINT/SIGTERM (so that an interrupted run still prints its summary), and
//! a rate limit for progress lines.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The longest duration any flag takes: one week.
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// A duration flag: `250ms`, `30s`, `5m`, `2h`, or a bare number of seconds (`30`, `1.5`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1.0,
        "ms" => 0.001,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "`{text}`: unknown unit `{other}` (use ms, s, m or h; a bare number is seconds)"
            ))
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (e.g. 250ms, 30s, 5m, or 30)"))?;
    let secs = value * scale;
    if !secs.is_finite() || secs < 0.0 || secs > MAX_DURATION.as_secs_f64() {
        return Err(format!("`{text}` is not a duration from 0 to one week"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// [`parse_duration`] that refuses zero (a run must last a while).
pub fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        d if d.is_zero() => Err(format!("`{text}`: the duration must be more than 0")),
        d => Ok(d),
    }
}

/// A flag that SIGINT or SIGTERM raises. The first signal only raises it (the command then
/// stops and prints its summary); a second one ends the process at once, as usual.
pub fn stop_on_signals() -> std::io::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // Registered first, so that it sees the flag already raised by an earlier signal.
        signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&flag))?;
        signal_hook::flag::register(sig, Arc::clone(&flag))?;
    }
    Ok(flag)
}

/// Lets a progress line through at most once per `every`.
#[derive(Debug)]
pub struct RateLimit {
    every: Duration,
    last: Option<Instant>,
}

impl RateLimit {
    /// At most one line per `every` (zero: none at all).
    pub fn new(every: Duration) -> RateLimit {
        RateLimit { every, last: None }
    }

    /// Whether a line may go out now (and if so, the clock restarts).
    pub fn ready(&mut self, now: Instant) -> bool {
        if self.every.is_zero() {
            return false;
        }
        match self.last {
            Some(t) if now.duration_since(t) < self.every => false,
            _ => {
                self.last = Some(now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_and_bare_seconds() {
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "s", "5x", "-1", "1e9", "5 parsecs", "nan", "9999h"] {
            assert!(parse_duration(bad).is_err(), "{bad} accepted");
        }
        assert!(parse_positive_duration("0s").is_err());
        assert!(parse_positive_duration("1ms").is_ok());
    }

    #[test]
    fn progress_lines_are_rate_limited() {
        let t0 = Instant::now();
        let mut r = RateLimit::new(Duration::from_secs(1));
        assert!(r.ready(t0));
        assert!(!r.ready(t0 + Duration::from_millis(999)));
        assert!(r.ready(t0 + Duration::from_millis(1000)));
        assert!(!RateLimit::new(Duration::ZERO).ready(t0));
    }
}
