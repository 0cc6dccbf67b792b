//! Scenarios: a contact center's busy hour as a file (`ccx load --scenario FILE`).
//!
//! A scenario gives inbound arrival rates per CSQ (Poisson, with a busy-hour profile), talk
//! and wrap-up time distributions, agent behaviour mixes (answer delay, Not Ready with reason
//! codes, preview answers by share), an outbound preview campaign, and timed faults
//! (failover, heartbeat loss, slow server). It runs on a virtual clock (`engine`): the same
//! seed gives the same schedule and the same final counts, and a simulated hour of 400 agents
//! takes well under a second of wall time.
//!
//! Unknown keys are refused with the key and its line, like every configuration file here.

mod arrivals;
mod engine;
mod real;

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

pub use engine::{run, ScenarioReport};
pub use real::{run_real, FaultPlayer, Plan, Step};

/// A scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Seed of every random choice (arrivals, times, behaviours); the same seed gives the
    /// same run.
    #[serde(default = "one")]
    pub seed: u64,
    /// Simulated length of the run.
    #[serde(deserialize_with = "duration")]
    pub duration: Duration,
    /// Agents (agent0000 …), split among the behaviours by their shares.
    pub agents: u32,
    /// Inbound queues.
    #[serde(default)]
    pub csq: Vec<Csq>,
    /// Talk time.
    pub talk: Distribution,
    /// Wrap-up (WORK) time after a call.
    pub wrapup: Distribution,
    /// Agent behaviour mixes; shares are normalised (none: every agent answers in 2 s, never
    /// goes Not Ready, accepts every preview).
    #[serde(default)]
    pub behaviour: Vec<Behaviour>,
    /// An outbound preview campaign offered to idle agents.
    pub campaign: Option<CampaignPlan>,
    /// Faults at given times.
    #[serde(default)]
    pub fault: Vec<TimedFault>,
    /// A call answered within this is within the service level.
    #[serde(default = "twenty_seconds", deserialize_with = "duration")]
    pub service_level: Duration,
}

/// One inbound queue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Csq {
    /// Its name.
    pub name: String,
    /// Calls per hour at the profile's 1.0 (Poisson arrivals).
    pub calls_per_hour: f64,
    /// Multipliers of the rate over equal slices of the run (a busy-hour curve); none: flat.
    #[serde(default)]
    pub profile: Vec<f64>,
    /// Mean time a caller waits before hanging up (exponential); none: callers never hang up.
    #[serde(default, deserialize_with = "opt_duration")]
    pub patience: Option<Duration>,
}

/// A time distribution.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Distribution {
    /// `fixed`, `uniform` (from `min` to `max`) or `exponential` (with `mean`).
    #[serde(default = "exponential")]
    pub kind: String,
    /// Mean (fixed value for `fixed`).
    #[serde(default, deserialize_with = "opt_duration")]
    pub mean: Option<Duration>,
    /// Lower bound (`uniform`).
    #[serde(default, deserialize_with = "opt_duration")]
    pub min: Option<Duration>,
    /// Upper bound (`uniform`).
    #[serde(default, deserialize_with = "opt_duration")]
    pub max: Option<Duration>,
}

/// How a share of the agents behaves.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    /// Its name (in the report).
    #[serde(default)]
    pub name: String,
    /// Share of the agents (normalised over all behaviours).
    pub share: f64,
    /// Time from a call ringing to the agent answering.
    pub answer_delay: Option<Distribution>,
    /// Chance, after a wrap-up, of going Not Ready instead of Available.
    #[serde(default)]
    pub not_ready_share: f64,
    /// Reason codes picked from (evenly) for Not Ready.
    #[serde(default)]
    pub reason_codes: Vec<u16>,
    /// Time spent Not Ready.
    pub not_ready_time: Option<Distribution>,
    /// Share of preview reservations accepted (the rest are rejected).
    #[serde(default = "one_f")]
    pub preview_accept: f64,
}

/// An outbound preview campaign.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignPlan {
    /// Contacts to call.
    pub contacts: u32,
    /// An agent idle this long is offered a contact.
    #[serde(default = "ten_seconds", deserialize_with = "duration")]
    pub offer_after_idle: Duration,
    /// Share of accepted contacts that answer (the rest count as no answer).
    #[serde(default = "one_f")]
    pub answer_share: f64,
}

/// A fault from a time on.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimedFault {
    /// When it starts.
    #[serde(deserialize_with = "duration")]
    pub at: Duration,
    /// `failover` (every session drops; routing stops until the standby takes over after
    /// `lasts`), `heartbeat_loss` (`share` of the sessions drop and reconnect after `lasts`)
    /// or `slow_server` (every answer takes `delay` longer for `lasts`).
    pub kind: String,
    /// How long it lasts.
    #[serde(default = "ten_seconds", deserialize_with = "duration")]
    pub lasts: Duration,
    /// Share of the sessions hit (`heartbeat_loss`).
    #[serde(default = "one_f")]
    pub share: f64,
    /// Extra delay (`slow_server`).
    #[serde(default, deserialize_with = "opt_duration")]
    pub delay: Option<Duration>,
}

fn one() -> u64 {
    1
}
fn one_f() -> f64 {
    1.0
}
fn ten_seconds() -> Duration {
    Duration::from_secs(10)
}
fn twenty_seconds() -> Duration {
    Duration::from_secs(20)
}
fn exponential() -> String {
    "exponential".into()
}

/// A duration as a string (`30s`, `5m`, `250ms`) or a bare number of seconds.
fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(f64),
    }
    let text = match Raw::deserialize(d)? {
        Raw::Text(t) => t,
        Raw::Number(n) => n.to_string(),
    };
    crate::cli::parse_duration(&text).map_err(serde::de::Error::custom)
}

fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    duration(d).map(Some)
}

impl Scenario {
    /// Parse a scenario; the error names the key (and the line, for TOML errors).
    pub fn from_toml(text: &str) -> anyhow::Result<Scenario> {
        let s: Scenario = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        s.check()?;
        Ok(s)
    }

    /// Read and parse a scenario file.
    pub fn from_file(path: &Path) -> anyhow::Result<Scenario> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Scenario::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e:#}", path.display()))
    }

    /// Values in range (what serde's types do not bound); the error names the key.
    pub fn check(&self) -> anyhow::Result<()> {
        let share = |key: String, v: f64| {
            if v.is_finite() && (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(anyhow::anyhow!("`{key}`: {v} is not a share from 0 to 1"))
            }
        };
        if !(1..=100_000).contains(&self.agents) {
            anyhow::bail!("`agents`: {} is not from 1 to 100000", self.agents);
        }
        if self.duration.is_zero() {
            anyhow::bail!("`duration`: must be more than 0");
        }
        for (i, q) in self.csq.iter().enumerate() {
            if !(q.calls_per_hour.is_finite() && (0.0..=10_000_000.0).contains(&q.calls_per_hour)) {
                anyhow::bail!(
                    "`csq[{i}].calls_per_hour`: {} is not from 0 to 10000000",
                    q.calls_per_hour
                );
            }
            if let Some(p) = q.profile.iter().find(|p| !(p.is_finite() && **p >= 0.0)) {
                anyhow::bail!("`csq[{i}].profile`: {p} is not a multiplier of 0 or more");
            }
        }
        self.talk.check("talk")?;
        self.wrapup.check("wrapup")?;
        for (i, b) in self.behaviour.iter().enumerate() {
            if !(b.share.is_finite() && b.share >= 0.0) {
                anyhow::bail!("`behaviour[{i}].share`: {} is not 0 or more", b.share);
            }
            share(format!("behaviour[{i}].not_ready_share"), b.not_ready_share)?;
            share(format!("behaviour[{i}].preview_accept"), b.preview_accept)?;
            if let Some(d) = &b.answer_delay {
                d.check(&format!("behaviour[{i}].answer_delay"))?;
            }
            if let Some(d) = &b.not_ready_time {
                d.check(&format!("behaviour[{i}].not_ready_time"))?;
            }
        }
        if let Some(c) = &self.campaign {
            share("campaign.answer_share".into(), c.answer_share)?;
        }
        for (i, f) in self.fault.iter().enumerate() {
            if !["failover", "heartbeat_loss", "slow_server"].contains(&f.kind.as_str()) {
                anyhow::bail!(
                    "`fault[{i}].kind`: `{}` is not failover, heartbeat_loss or slow_server",
                    f.kind
                );
            }
            share(format!("fault[{i}].share"), f.share)?;
        }
        Ok(())
    }
}

impl Distribution {
    fn check(&self, key: &str) -> anyhow::Result<()> {
        match (self.kind.as_str(), self.mean, self.min, self.max) {
            ("fixed" | "exponential", Some(_), _, _) => Ok(()),
            ("uniform", _, Some(lo), Some(hi)) if lo <= hi => Ok(()),
            ("fixed" | "exponential", None, _, _) => {
                anyhow::bail!("`{key}.mean`: a {} time needs a mean", self.kind)
            }
            ("uniform", ..) => anyhow::bail!("`{key}`: uniform needs min <= max"),
            (other, ..) => {
                anyhow::bail!("`{key}.kind`: `{other}` is not fixed, uniform or exponential")
            }
        }
    }
}

/// A busy hour: 400 agents, two queues of 5000 calls an hour (a ramp on one), 100 s of
/// talk, a preview campaign, a failover at minute 5, heartbeat loss, a slow server.
pub const EXAMPLE_TOML: &str = include_str!("../../scenarios/busy-hour.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_parses() {
        let s = Scenario::from_toml(EXAMPLE_TOML).unwrap();
        assert_eq!(s.agents, 400);
        assert_eq!(s.duration, Duration::from_secs(3600));
    }

    #[test]
    fn unknown_keys_are_refused_with_key_and_line() {
        let text = EXAMPLE_TOML.replacen("[talk]\n", "[talk]\nmeen = \"3m\"\n", 1);
        let e = format!("{:#}", Scenario::from_toml(&text).unwrap_err());
        assert!(e.contains("meen") && e.contains("line"), "{e}");
    }

    #[test]
    fn values_out_of_range_are_named() {
        let text = EXAMPLE_TOML.replacen("not_ready_share = 0.1", "not_ready_share = 3", 1);
        let e = format!("{:#}", Scenario::from_toml(&text).unwrap_err());
        assert!(e.contains("behaviour[0].not_ready_share"), "{e}");
    }
}
