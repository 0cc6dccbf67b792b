//! What a `ccx load` run measured, as text for people and JSON for scripts.

use std::collections::BTreeMap;
use std::time::Duration;

/// The result of a load run.
#[derive(Debug, Default, Clone)]
pub struct LoadReport {
    /// Phones run.
    pub phones: usize,
    /// Seconds of traffic measured.
    pub seconds: f64,
    /// Frames sent by all phones.
    pub sent: u64,
    /// Frames received by all phones.
    pub received: u64,
    /// Request-to-confirmation latencies of requests pressed after the ramp-up, sorted.
    pub latencies: Vec<Duration>,
    /// How long the phones took to start (see [`LoadArgs::ramp`](super::LoadArgs::ramp)).
    pub ramp: Duration,
    /// Latencies of requests pressed during the ramp-up (logins, the first ready), sorted.
    pub ramp_latencies: Vec<Duration>,
    /// Sessions opened beyond the first of each phone.
    pub reconnects: u64,
    /// Phones that never opened a session.
    pub never_opened: usize,
    /// Why phones never opened (the last failure of each), by reason.
    pub never_opened_why: BTreeMap<String, u64>,
    /// Every phone that failed (never opened, or without a session at the end): its
    /// agent and why.
    pub failed_phones: Vec<(String, String)>,
    /// Whether SIGINT/SIGTERM cut the run short.
    pub interrupted: bool,
    /// Sessions lost after they opened, by why (replaced, closed by the server…).
    pub sessions_lost: BTreeMap<String, u64>,
    /// Phones without an open session at the end, by their last failure.
    pub down_at_end: BTreeMap<String, u64>,
    /// Poll loops the phones ran on.
    pub loops: usize,
    /// Requests refused by the server.
    pub refused: u64,
    /// Refusals by request and status.
    pub refusals: BTreeMap<String, u64>,
    /// Requests without an answer in time.
    pub timed_out: u64,
    /// Commands the phone refused locally.
    pub command_errors: u64,
    /// Frames that did not decode.
    pub malformed: u64,
    /// Events the phones had to drop.
    pub events_lost: u64,
    /// Calls answered and preview answers given.
    pub calls_answered: u64,
    /// Preview reservations answered.
    pub previews_answered: u64,
    /// Differences between a phone's view and the simulator's at the end.
    pub mismatches: Vec<String>,
    /// Whether the views were compared (only against the run's own simulator).
    pub checked: bool,
    /// The simulator's summary (own simulator only).
    pub simulator: String,
    /// Not Ready pressed by the phones, by reason code (a scenario's plan).
    pub not_ready_by_reason: BTreeMap<u16, u64>,
    /// The scenario's timed faults as they were played, in words.
    pub faults: Vec<String>,
}

impl LoadReport {
    /// A latency percentile (0..=100) after the ramp-up.
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        percentile(&self.latencies, p)
    }

    /// A latency percentile (0..=100) during the ramp-up.
    pub fn ramp_percentile(&self, p: f64) -> Option<Duration> {
        percentile(&self.ramp_latencies, p)
    }

    /// Messages (both directions) per second.
    pub fn messages_per_second(&self) -> f64 {
        if self.seconds <= 0.0 {
            0.0
        } else {
            (self.sent + self.received) as f64 / self.seconds
        }
    }

    /// Whether the run passed: no mismatch, no lost event, every phone opened, no session
    /// replaced by another client, every phone still open at the end.
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty()
            && self.events_lost == 0
            && self.never_opened == 0
            && self.replaced() == 0
            && self.down_at_end.is_empty()
    }

    /// Sessions another client's OPEN_REQ for the same agent replaced.
    pub fn replaced(&self) -> u64 {
        self.sessions_lost
            .iter()
            .filter(|(k, _)| k.starts_with("replaced"))
            .map(|(_, v)| *v)
            .sum()
    }

    /// The report as one JSON object (for scripts: `ccx load --json`).
    pub fn json(&self) -> serde_json::Value {
        let ms = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1000.0);
        serde_json::json!({
            "command": "load",
            "result": if self.passed() { "pass" } else { "fail" },
            "interrupted": self.interrupted,
            "phones": self.phones,
            "loops": self.loops,
            "seconds": self.seconds,
            "messages": {
                "sent": self.sent,
                "received": self.received,
                "per_second": self.messages_per_second(),
            },
            "latency_ms": {
                "requests": self.latencies.len(),
                "p50": ms(self.percentile(50.0)),
                "p90": ms(self.percentile(90.0)),
                "p99": ms(self.percentile(99.0)),
                "max": ms(self.latencies.last().copied()),
            },
            "ramp_seconds": self.ramp.as_secs_f64(),
            "ramp_latency_ms": {
                "requests": self.ramp_latencies.len(),
                "p50": ms(self.ramp_percentile(50.0)),
                "p99": ms(self.ramp_percentile(99.0)),
                "max": ms(self.ramp_latencies.last().copied()),
            },
            "calls_answered": self.calls_answered,
            "previews_answered": self.previews_answered,
            "reconnects": self.reconnects,
            "never_opened": self.never_opened,
            "never_opened_why": self.never_opened_why,
            "sessions_lost": self.sessions_lost,
            "down_at_end": self.down_at_end,
            "failed_phones": self
                .failed_phones
                .iter()
                .map(|(agent, why)| serde_json::json!({"agent": agent, "why": why}))
                .collect::<Vec<_>>(),
            "refused": self.refused,
            "refusals": self.refusals,
            "timed_out": self.timed_out,
            "command_errors": self.command_errors,
            "malformed": self.malformed,
            "events_lost": self.events_lost,
            "not_ready_by_reason": self.not_ready_by_reason,
            "faults": self.faults,
            "consistency_checked": self.checked,
            "mismatches": self.mismatches,
        })
    }

    /// The report as text.
    pub fn text(&self) -> String {
        use std::fmt::Write;
        let ms = |d: Option<Duration>| {
            d.map(|d| format!("{:.2} ms", d.as_secs_f64() * 1000.0))
                .unwrap_or_else(|| "-".into())
        };
        let mut s = String::new();
        let _ = writeln!(
            s,
            "ccx load: {} phones on {} poll loops for {:.1} s",
            self.phones, self.loops, self.seconds
        );
        let _ = writeln!(
            s,
            "  messages: {} sent, {} received, {:.0} per second",
            self.sent,
            self.received,
            self.messages_per_second()
        );
        if !self.ramp.is_zero() {
            let _ = writeln!(
                s,
                "  ramp-up: phones started over {:.1} s; {} requests pressed meanwhile: p50 {}, p99 {}, max {}",
                self.ramp.as_secs_f64(),
                self.ramp_latencies.len(),
                ms(self.ramp_percentile(50.0)),
                ms(self.ramp_percentile(99.0)),
                ms(self.ramp_latencies.last().copied())
            );
        }
        let _ =
            writeln!(
            s,
            "  request -> confirmation latency over {} requests{}: p50 {}, p90 {}, p99 {}, max {}",
            self.latencies.len(),
            if self.ramp.is_zero() { "" } else { " after the ramp-up" },
            ms(self.percentile(50.0)),
            ms(self.percentile(90.0)),
            ms(self.percentile(99.0)),
            ms(self.latencies.last().copied())
        );
        let _ = writeln!(
            s,
            "  calls answered {}, previews answered {}",
            self.calls_answered, self.previews_answered
        );
        for f in &self.faults {
            let _ = writeln!(s, "  fault: {f}");
        }
        if !self.not_ready_by_reason.is_empty() {
            let _ = writeln!(s, "  not ready by reason: {:?}", self.not_ready_by_reason);
        }
        let _ = writeln!(
            s,
            "  reconnects {}, phones never opened {}, refused {}, timed out {}, local command errors {}, malformed {}, events lost {}",
            self.reconnects, self.never_opened, self.refused, self.timed_out, self.command_errors, self.malformed, self.events_lost
        );
        let list = |m: &BTreeMap<String, u64>| {
            m.iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !self.never_opened_why.is_empty() {
            let _ = writeln!(s, "  never opened, why: {}", list(&self.never_opened_why));
        }
        if !self.failed_phones.is_empty() {
            let shown: Vec<String> = self
                .failed_phones
                .iter()
                .take(20)
                .map(|(a, why)| format!("{a} ({why})"))
                .collect();
            let more = self.failed_phones.len().saturating_sub(shown.len());
            let _ = writeln!(
                s,
                "  phones that failed: {}{}",
                shown.join(", "),
                if more > 0 {
                    format!(" … and {more} more")
                } else {
                    String::new()
                }
            );
        }
        if self.interrupted {
            let _ = writeln!(s, "  interrupted: the run was cut short by a signal");
        }
        if !self.sessions_lost.is_empty() {
            let _ = writeln!(s, "  sessions lost: {}", list(&self.sessions_lost));
        }
        if self.replaced() > 0 {
            let _ = writeln!(
                s,
                "  {} sessions were replaced: another client opened a session for the same agent",
                self.replaced()
            );
        }
        if !self.down_at_end.is_empty() {
            let all = self.down_at_end.values().sum::<u64>() == self.phones as u64;
            let _ = writeln!(
                s,
                "  {}without a session at the end: {}",
                if all {
                    "the server is gone: every phone is "
                } else {
                    ""
                },
                list(&self.down_at_end)
            );
        }
        if !self.refusals.is_empty() {
            let parts: Vec<String> = self
                .refusals
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            let _ = writeln!(s, "  refused: {}", parts.join(", "));
        }
        if !self.checked {
            let _ = writeln!(
                s,
                "  consistency: not checked (the server is not this run's simulator)"
            );
        } else if self.mismatches.is_empty() {
            let _ = writeln!(s, "  consistency: every phone agrees with the simulator");
        } else {
            let _ = writeln!(s, "  consistency: {} mismatches", self.mismatches.len());
            for m in self.mismatches.iter().take(60) {
                let _ = writeln!(s, "    {m}");
            }
        }
        s.push_str(&self.simulator);
        let _ = writeln!(
            s,
            "  result: {}",
            if self.passed() { "PASS" } else { "FAIL" }
        );
        s
    }
}

/// The `p`th percentile (0..=100) of sorted `latencies`.
fn percentile(latencies: &[Duration], p: f64) -> Option<Duration> {
    let last = latencies.len().checked_sub(1)?;
    let rank = ((p / 100.0) * last as f64).round() as usize;
    latencies.get(rank.min(last)).copied()
}
