//! The simulator's Prometheus text endpoint (`ccx sim --metrics ADDR`).
//!
//! A small thread answers every HTTP request with the text exposition format. It reads
//! the counters from the event loop (one call per scrape, and one per second for the
//! messages-per-second gauge), so the loop's thread keeps sole ownership of the world.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::net::LoopHandle;
use super::{Counters, NodeState};

/// Upper bounds of the handling-time histogram, in microseconds.
pub const LATENCY_BOUNDS_US: [u64; 9] = [10, 50, 100, 500, 1_000, 5_000, 10_000, 50_000, 100_000];

/// How long the simulator took from a frame's arrival to its replies being queued.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    /// Observations at or below each of [`LATENCY_BOUNDS_US`] (not cumulative), then the rest.
    pub buckets: [u64; 10],
    /// Observations.
    pub count: u64,
    /// Sum of the observations in microseconds.
    pub sum_us: u64,
}

impl Histogram {
    /// Count one observation.
    pub fn record(&mut self, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let i = LATENCY_BOUNDS_US
            .iter()
            .position(|&b| us <= b)
            .unwrap_or(LATENCY_BOUNDS_US.len());
        if let Some(b) = self.buckets.get_mut(i) {
            *b += 1;
        }
        self.count += 1;
        self.sum_us = self.sum_us.saturating_add(us);
    }
}

/// What one scrape shows, read on the loop thread.
#[derive(Debug, Clone, Default)]
pub(super) struct Sample {
    pub(super) counters: Counters,
    pub(super) sessions_open: u64,
    pub(super) agents_by_state: BTreeMap<String, u64>,
    pub(super) calls_active: u64,
}

/// Serve the endpoint on `listen` until the cluster's loop is gone.
pub(super) fn serve(
    listen: &str,
    cluster: Weak<LoopHandle>,
    node: Arc<NodeState>,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(listen)?;
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    std::thread::Builder::new()
        .name("ccx-sim-metrics".into())
        .spawn(move || {
            let mut rate = Rate::default();
            loop {
                let Some(cluster) = cluster.upgrade() else {
                    return;
                };
                if node.stopped.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                rate.tick(&cluster);
                match listener.accept() {
                    Ok((stream, _)) => {
                        let Some(sample) = cluster.call(|c| c.world.metrics_sample()) else {
                            return;
                        };
                        let mut body = render(&sample, rate.per_second, node.is_master());
                        body.push_str(&node.link.render());
                        answer(stream, &body);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        drop(cluster);
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(e) => log::warn!("simulator metrics: accept failed: {e}"),
                }
            }
        })?;
    log::info!("simulator metrics on http://{addr}/metrics");
    Ok(addr)
}

/// Messages per second over the last whole second.
#[derive(Debug, Default)]
struct Rate {
    last: Option<(Instant, u64)>,
    per_second: f64,
}

impl Rate {
    fn tick(&mut self, cluster: &LoopHandle) {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|(t, _)| now.duration_since(t) < Duration::from_secs(1))
        {
            return;
        }
        let Some(total) =
            cluster.call(|c| c.world.counters.messages_in + c.world.counters.messages_out)
        else {
            return;
        };
        if let Some((t, before)) = self.last {
            let secs = now.duration_since(t).as_secs_f64();
            if secs > 0.0 {
                self.per_second = total.saturating_sub(before) as f64 / secs;
            }
        }
        self.last = Some((now, total));
    }
}

/// Read the request (any path answers) and write the text.
fn answer(mut stream: TcpStream, body: &str) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut buf = [0u8; 2048];
    let _ = stream.read(&mut buf);
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// The Prometheus text exposition of one sample.
pub(super) fn render(s: &Sample, messages_per_second: f64, master: bool) -> String {
    let c = &s.counters;
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, lines: &[(String, String)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in lines {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let one = |v: u64| vec![(String::new(), v.to_string())];
    metric(
        "ccx_sim_master",
        "gauge",
        "1 while this side is master.",
        &one(u64::from(master)),
    );
    metric(
        "ccx_sim_sessions_open",
        "gauge",
        "Sessions open now.",
        &one(s.sessions_open),
    );
    metric(
        "ccx_sim_sessions_opened_total",
        "counter",
        "Sessions opened.",
        &one(c.sessions_opened),
    );
    metric(
        "ccx_sim_sessions_refused_total",
        "counter",
        "OPEN_REQs refused.",
        &one(c.sessions_refused),
    );
    metric(
        "ccx_sim_connections_total",
        "counter",
        "TCP connections accepted.",
        &one(c.connections),
    );
    let states: Vec<(String, String)> = s
        .agents_by_state
        .iter()
        .map(|(k, v)| (format!("{{state=\"{k}\"}}"), v.to_string()))
        .collect();
    metric("ccx_sim_agents", "gauge", "Agents by state.", &states);
    metric(
        "ccx_sim_calls_active",
        "gauge",
        "Calls in progress.",
        &one(s.calls_active),
    );
    let calls = vec![
        (
            "{kind=\"offered\"}".to_string(),
            c.inbound_offered.to_string(),
        ),
        (
            "{kind=\"answered\"}".to_string(),
            c.inbound_answered.to_string(),
        ),
        (
            "{kind=\"completed\"}".to_string(),
            c.inbound_completed.to_string(),
        ),
        (
            "{kind=\"reservation\"}".to_string(),
            c.reservations_offered.to_string(),
        ),
        (
            "{kind=\"customer\"}".to_string(),
            c.customer_calls.to_string(),
        ),
    ];
    metric("ccx_sim_calls_total", "counter", "Calls by kind.", &calls);
    let messages = vec![
        ("{direction=\"in\"}".to_string(), c.messages_in.to_string()),
        (
            "{direction=\"out\"}".to_string(),
            c.messages_out.to_string(),
        ),
    ];
    metric(
        "ccx_sim_messages_total",
        "counter",
        "Messages by direction.",
        &messages,
    );
    metric(
        "ccx_sim_messages_per_second",
        "gauge",
        "Messages (both directions) per second over the last second.",
        &[(String::new(), format!("{messages_per_second:.1}"))],
    );
    let h = &c.handling;
    let mut lines = Vec::new();
    let mut cumulative = 0;
    for (bound, n) in LATENCY_BOUNDS_US.iter().zip(h.buckets.iter()) {
        cumulative += n;
        lines.push((
            format!("_bucket{{le=\"{}\"}}", *bound as f64 / 1e6),
            cumulative.to_string(),
        ));
    }
    lines.push(("_bucket{le=\"+Inf\"}".into(), h.count.to_string()));
    lines.push(("_sum".into(), format!("{}", h.sum_us as f64 / 1e6)));
    lines.push(("_count".into(), h.count.to_string()));
    metric(
        "ccx_sim_request_seconds",
        "histogram",
        "Time from a frame's arrival to its replies being queued.",
        &lines,
    );
    out
}
