//! `ccx sim`: a Unified CCX CTI server simulator.
//!
//! It speaks the server side of the same codec the phone uses ([`ccx_cti::wire`]): OPEN_REQ
//! validation, heartbeats, idle timeout, agent states, inbound ACD calls, an outbound preview
//! campaign, side A / side B, and fault injection. Every connection of a cluster runs on one
//! poll loop (`net`) whose thread owns the simulated contact center (the `world` module); both
//! sides of a pair share that loop when they run in one process (a replicated cluster), so
//! that the agent's state survives a failover. Resource bounds ([`Limits`]) keep one client
//! from taking the simulator or its other clients down.
//!
//! ```no_run
//! use ccx_cti_std::sim::{SimConfig, Simulator};
//! let sim = Simulator::start(SimConfig::loopback()).unwrap();
//! println!("listening on {}", sim.addr());
//! sim.stop();
//! ```

pub mod config;
pub mod metrics;
mod net;
mod ratelog;
mod replica;
mod world;

pub use config::{
    AgentDef, Campaign, Contact, Faults, HeartbeatRule, HeartbeatRuleMode, InboundCall,
    InboundScenario, Limits, ReasonCode, SimConfig,
};
pub use world::{Scene, Story};

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use ccx_cti::phone::AgentReason;
use ccx_cti::wire::{AgentState, CallType, LocalConnectionState};

use world::World;

/// What happened so far (for the summary and for checks).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// TCP connections accepted.
    pub connections: u64,
    /// Sessions opened (OPEN_CONF sent).
    pub sessions_opened: u64,
    /// OPEN_REQs refused (FAILURE_CONF).
    pub sessions_refused: u64,
    /// Sessions ended by a newer session of the same agent.
    pub sessions_replaced: u64,
    /// Sessions closed with CLOSE_REQ.
    pub sessions_closed: u64,
    /// Sessions that ended in any way.
    pub sessions_ended: u64,
    /// Sessions closed because nothing arrived for IdleTimeout.
    pub idle_timeouts: u64,
    /// Connections closed because they opened no session in time from connect.
    pub open_deadlines: u64,
    /// Connections refused because the connection limit was reached.
    pub connections_refused: u64,
    /// Connections closed because their unread replies passed the queue bound.
    pub slow_readers_closed: u64,
    /// Connections closed because a write made no progress in time.
    pub write_timeouts: u64,
    /// SET_CALL_DATA_REQs refused because the call's variables would pass their caps.
    pub call_vars_refused: u64,
    /// Sessions closed because they broke the enforced heartbeat rule.
    pub heartbeat_rule_broken: u64,
    /// Messages received.
    pub messages_in: u64,
    /// Messages sent (faults not counted).
    pub messages_out: u64,
    /// Frames received that did not decode.
    pub malformed_in: u64,
    /// Requests refused (CONTROL_FAILURE_CONF / FAILURE_CONF after OPEN).
    pub requests_refused: u64,
    /// Inbound calls offered to an agent.
    pub inbound_offered: u64,
    /// Inbound calls answered.
    pub inbound_answered: u64,
    /// Inbound calls ended or transferred away.
    pub inbound_completed: u64,
    /// Consult calls.
    pub consults: u64,
    /// Transfers.
    pub transfers: u64,
    /// Conferences.
    pub conferences: u64,
    /// DTMF requests.
    pub dtmf: u64,
    /// Reservation calls offered.
    pub reservations_offered: u64,
    /// Customer calls placed after Accept.
    pub customer_calls: u64,
    /// Agent answers to reservations by outcome (accepted, rejected, skipped…).
    pub contacts: BTreeMap<String, u64>,
    /// Faults injected by kind.
    pub faults: BTreeMap<String, u64>,
    /// Time from a frame's arrival to its replies being queued.
    pub handling: metrics::Histogram,
}

/// One call as the simulator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSnapshot {
    /// CallID.
    pub id: u32,
    /// CallType.
    pub call_type: CallType,
    /// The agent's connection state.
    pub state: LocalConnectionState,
    /// The far party (caller or dialed number).
    pub party: String,
    /// ECC variables.
    pub vars: Vec<(String, String)>,
}

/// One agent as the simulator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSnapshot {
    /// AgentID.
    pub id: String,
    /// Extension.
    pub extension: String,
    /// Agent state.
    pub state: AgentState,
    /// The last reason (EventReasonCode).
    pub reason: AgentReason,
    /// Whether a session is open for the agent.
    pub connected: bool,
    /// Logged in with the outbound capacity.
    pub outbound: bool,
    /// The agent's calls.
    pub calls: Vec<CallSnapshot>,
}

/// One contact of the campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactSnapshot {
    /// Account number.
    pub account: String,
    /// `open`, `offered`, `dialed` or `closed`.
    pub status: String,
    /// How often it was offered.
    pub attempts: u32,
    /// The last outcome (accepted, skipped, REX_VOICE, callback…).
    pub outcome: String,
    /// The callback time asked for, if any.
    pub callback: Option<String>,
}

/// One side (node) of the cluster: its role and its connections.
#[derive(Debug)]
pub(crate) struct NodeState {
    master: AtomicBool,
    stopped: AtomicBool,
    fault_counts: Mutex<BTreeMap<String, u64>>,
    conn_seq: AtomicU64,
    /// Milliseconds from the master's last word to this side taking over (`u64::MAX`: it
    /// did not take over through the replication link).
    failover_ms: AtomicU64,
    /// The replication link is cut (island mode).
    isolated: AtomicBool,
    /// What went over the replication link.
    link: replica::LinkStats,
}

impl NodeState {
    fn is_master(&self) -> bool {
        self.master.load(Ordering::SeqCst)
    }

    fn count_fault(&self, kind: &str) {
        if let Ok(mut m) = self.fault_counts.lock() {
            *m.entry(kind.to_string()).or_default() += 1;
        }
    }
}

/// A running simulator node (side A or side B).
pub struct Simulator {
    addr: SocketAddr,
    node: Arc<NodeState>,
    /// The cluster's poll loop, shared by both sides of a pair: its thread owns the world.
    cluster: Arc<net::LoopHandle>,
    cfg: SimConfig,
    prober: Mutex<Option<JoinHandle<()>>>,
    follower: Mutex<Option<JoinHandle<()>>>,
}

impl Simulator {
    /// Start a simulator (its own cluster) on `cfg.listen`; it runs in a background thread.
    pub fn start(cfg: SimConfig) -> std::io::Result<Simulator> {
        let cluster = Arc::new(net::start(World::new(cfg.clone()), cfg.limits.clone())?);
        Simulator::start_node(cfg, cluster)
    }

    /// Start the other side of `peer`'s cluster: the same contact center (agents, calls),
    /// another address. It starts as standby unless `cfg.standby` is false; when
    /// `cfg.peer` is set it probes that address and takes over when it stops answering.
    pub fn start_pair_of(peer: &Simulator, cfg: SimConfig) -> std::io::Result<Simulator> {
        Simulator::start_node(cfg, Arc::clone(&peer.cluster))
    }

    fn start_node(cfg: SimConfig, cluster: Arc<net::LoopHandle>) -> std::io::Result<Simulator> {
        let listener = TcpListener::bind(cfg.listen.as_str())?;
        let addr = listener.local_addr()?;
        let node = Arc::new(NodeState {
            master: AtomicBool::new(!cfg.standby),
            stopped: AtomicBool::new(false),
            fault_counts: Mutex::new(BTreeMap::new()),
            conn_seq: AtomicU64::new(0),
            failover_ms: AtomicU64::new(u64::MAX),
            isolated: AtomicBool::new(false),
            link: replica::LinkStats::default(),
        });
        let (n, faults) = (Arc::clone(&node), cfg.faults.clone());
        cluster
            .call(move |c| c.add_listener(listener, n, faults))
            .unwrap_or_else(|| Err(std::io::Error::other("the simulator's loop is gone")))?;
        let prober = match (cfg.standby, cfg.peer.clone()) {
            (true, Some(peer)) => net::spawn_prober(
                peer,
                Arc::clone(&node),
                cfg.probe_interval_ms,
                cfg.probe_failures,
            ),
            _ => None,
        };
        log::info!(
            "simulator listening on {addr} as {}",
            if cfg.standby { "standby" } else { "master" }
        );
        Ok(Simulator {
            addr,
            node,
            cluster,
            cfg,
            prober: Mutex::new(prober),
            follower: Mutex::new(None),
        })
    }

    /// Run `f` on the loop thread with the world (`None` once the loop is gone).
    fn with_world<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut World) -> R + Send + 'static,
    ) -> Option<R> {
        self.cluster.call(move |c| f(&mut c.world))
    }

    /// The address the simulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether this side is master (accepts sessions).
    pub fn is_master(&self) -> bool {
        self.node.is_master()
    }

    /// Make this side master (the admin trigger of a failover).
    pub fn promote(&self) {
        if !self.node.master.swap(true, Ordering::SeqCst) {
            log::info!("simulator {} is master now", self.addr);
            let follows = self.follower.lock().is_ok_and(|f| f.is_some());
            if follows {
                // A standby of another process held still; it runs now.
                self.with_world(|w| w.took_over());
            }
        }
    }

    /// Make this side standby and close its sessions.
    pub fn demote(&self) {
        self.node.master.store(false, Ordering::SeqCst);
        let node = Arc::clone(&self.node);
        self.with_world(move |w| w.close_node(&node));
    }

    /// Stop listening and close every connection of this side (the side "dies"); the
    /// cluster's state lives on while another side shares it.
    pub fn stop(&self) {
        if self.node.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        self.node.master.store(false, Ordering::SeqCst);
        let node = Arc::clone(&self.node);
        self.cluster.call(move |c| c.stop_node(&node));
        let prober = self.prober.lock().ok().and_then(|mut p| p.take());
        if let Some(p) = prober {
            let _ = p.join();
        }
        let follower = self.follower.lock().ok().and_then(|mut p| p.take());
        if let Some(p) = follower {
            let _ = p.join();
        }
    }

    /// Whether `stop` was called.
    pub fn is_stopped(&self) -> bool {
        self.node.stopped.load(Ordering::SeqCst)
    }

    /// What happened so far.
    pub fn counters(&self) -> Counters {
        let mut c = self.with_world(|w| w.counters.clone()).unwrap_or_default();
        if let Ok(f) = self.node.fault_counts.lock() {
            c.faults = f.clone();
        }
        c
    }

    /// Every agent with its state and calls.
    pub fn agents(&self) -> Vec<AgentSnapshot> {
        self.with_world(|w| w.agent_snapshots()).unwrap_or_default()
    }

    /// One agent by AgentID.
    pub fn agent(&self, id: &str) -> Option<AgentSnapshot> {
        self.agents().into_iter().find(|a| a.id == id)
    }

    /// The campaign's contacts.
    pub fn contacts(&self) -> Vec<ContactSnapshot> {
        self.with_world(|w| w.contact_snapshots())
            .unwrap_or_default()
    }

    /// Queue an inbound call now; it is routed to the longest-available agent.
    pub fn offer_call(&self, call: InboundCall) {
        self.with_world(move |w| {
            w.enqueue_call(call);
            w.tick(Instant::now());
        });
    }

    /// Hold still (`true`): no new calls, no routing, no contact offers, no timers; the
    /// sessions go on. For checks that need a quiet contact center.
    pub fn set_paused(&self, paused: bool) {
        self.with_world(move |w| w.paused = paused);
    }

    /// A slow server (a timed fault): every frame this side sends from now on goes out
    /// `delay_ms` late (0 ends it).
    pub fn set_reply_delay(&self, delay_ms: u64) {
        let node = Arc::clone(&self.node);
        self.cluster.call(move |c| c.set_delay(&node, delay_ms));
    }

    /// Heartbeat loss (a timed fault): the HEARTBEAT_REQs of this `share` of the sessions go
    /// unanswered from now on (0 ends it).
    pub fn set_heartbeat_loss(&self, share: f64) {
        self.with_world(move |w| w.heartbeat_loss = share);
    }

    /// Serve the Prometheus text endpoint on `listen` (`host:port`; port 0 picks one) until
    /// this side stops; returns the address bound.
    pub fn serve_metrics(&self, listen: &str) -> std::io::Result<SocketAddr> {
        metrics::serve(
            listen,
            Arc::downgrade(&self.cluster),
            Arc::clone(&self.node),
        )
    }

    /// Side A of the replication link: serve it on `listen` (port 0 picks one); this side
    /// is master unless the other side answers as master already (then it joins as its
    /// standby). Returns the address bound.
    pub fn serve_replication(&self, listen: &str) -> std::io::Result<SocketAddr> {
        replica::serve(
            listen,
            Arc::downgrade(&self.cluster),
            Arc::clone(&self.node),
            self.silence(),
        )
    }

    /// How long a master may be silent on the link before the standby takes over.
    fn silence(&self) -> std::time::Duration {
        std::time::Duration::from_millis(
            self.cfg.probe_interval_ms * u64::from(self.cfg.probe_failures),
        )
    }

    /// Follow the master's replication link at `addr` (this side is the standby): apply its
    /// state, hold still, and take over after the probe interval times the probe failures
    /// without a word from it.
    pub fn follow(&self, addr: &str) -> std::io::Result<()> {
        let handle = replica::follow(
            addr.to_string(),
            Arc::downgrade(&self.cluster),
            Arc::clone(&self.node),
            self.silence(),
        )?;
        if let Ok(mut p) = self.follower.lock() {
            *p = Some(handle);
        }
        Ok(())
    }

    /// Cut (`true`) or heal the replication link: island mode. Both sides then think they
    /// are master; when the link heals, the side with fewer sessions (side B on a tie) hands
    /// its agents over and demotes.
    pub fn set_isolated(&self, isolated: bool) {
        self.node.isolated.store(isolated, Ordering::SeqCst);
        log::info!(
            "simulator {}: replication link {}",
            self.addr,
            if isolated { "cut" } else { "healed" }
        );
    }

    /// How long after the master's last word this side took over through the replication
    /// link, if it did.
    pub fn failover_time(&self) -> Option<std::time::Duration> {
        match self.node.failover_ms.load(Ordering::SeqCst) {
            u64::MAX => None,
            ms => Some(std::time::Duration::from_millis(ms)),
        }
    }

    /// The summary as one JSON object (for scripts: `ccx sim --json`).
    pub fn summary_json(&self) -> serde_json::Value {
        let c = self.counters();
        let agents = self.agents();
        let mut by_state: BTreeMap<String, u64> = BTreeMap::new();
        for a in &agents {
            *by_state.entry(format!("{:?}", a.state)).or_default() += 1;
        }
        let mut contacts: BTreeMap<String, u64> = BTreeMap::new();
        for ct in self.contacts() {
            *contacts.entry(ct.status).or_default() += 1;
        }
        serde_json::json!({
            "command": "sim",
            "address": self.addr.to_string(),
            "master": self.is_master(),
            "failover_ms": self.failover_time().map(|t| t.as_millis() as u64),
            "stopped": self.is_stopped(),
            "agents": agents.len(),
            "agents_by_state": by_state,
            "agents_connected": agents.iter().filter(|a| a.connected).count(),
            "calls_active": agents.iter().map(|a| a.calls.len()).sum::<usize>(),
            "connections": c.connections,
            "sessions": {
                "opened": c.sessions_opened,
                "refused": c.sessions_refused,
                "replaced": c.sessions_replaced,
                "closed": c.sessions_closed,
                "ended": c.sessions_ended,
                "idle_timeouts": c.idle_timeouts,
            },
            "messages": {
                "in": c.messages_in,
                "out": c.messages_out,
                "malformed_in": c.malformed_in,
                "requests_refused": c.requests_refused,
            },
            "inbound": {
                "offered": c.inbound_offered,
                "answered": c.inbound_answered,
                "completed": c.inbound_completed,
            },
            "consults": c.consults,
            "transfers": c.transfers,
            "conferences": c.conferences,
            "reservations_offered": c.reservations_offered,
            "customer_calls": c.customer_calls,
            "contact_answers": c.contacts,
            "contacts": contacts,
            "faults": c.faults,
            "handling_us": {
                "count": c.handling.count,
                "sum": c.handling.sum_us,
            },
        })
    }

    /// One progress line: sessions, agents, calls, messages.
    pub fn progress_line(&self) -> String {
        let c = self.counters();
        format!(
            "sessions opened {} ended {}, messages in {} out {}, inbound offered {} answered {} completed {}, reservations {}",
            c.sessions_opened,
            c.sessions_ended,
            c.messages_in,
            c.messages_out,
            c.inbound_offered,
            c.inbound_answered,
            c.inbound_completed,
            c.reservations_offered
        )
    }

    /// The configuration the simulator runs with.
    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// A one-screen summary: sessions, agents, calls, contacts by outcome.
    pub fn summary(&self) -> String {
        use std::fmt::Write;
        let c = self.counters();
        let mut s = String::new();
        let paired = Arc::strong_count(&self.cluster) > 1;
        let role = match (self.is_stopped(), self.is_master(), paired) {
            (true, _, _) => "stopped",
            (false, true, false) => "master, the only node of its cluster",
            (false, true, true) => "master of a pair",
            (false, false, _) => "standby",
        };
        let _ = writeln!(s, "simulator {} ({role})", self.addr);
        if let Some(t) = self.failover_time() {
            let _ = writeln!(
                s,
                "  failover: took over {} ms after the master's last word",
                t.as_millis()
            );
        }
        let _ = writeln!(
            s,
            "  connections {}, sessions opened {}, refused {}, replaced {}, closed {}, idle timeouts {}",
            c.connections, c.sessions_opened, c.sessions_refused, c.sessions_replaced, c.sessions_closed, c.idle_timeouts
        );
        let closed_by_limits = c.connections_refused
            + c.slow_readers_closed
            + c.write_timeouts
            + c.open_deadlines
            + c.call_vars_refused;
        if closed_by_limits > 0 {
            let _ = writeln!(
                s,
                "  limits: connections refused {}, slow readers closed {}, write timeouts {}, open deadlines {}, call variables refused {}",
                c.connections_refused, c.slow_readers_closed, c.write_timeouts, c.open_deadlines, c.call_vars_refused
            );
        }
        let _ = writeln!(
            s,
            "  messages in {}, out {}, malformed in {}, requests refused {}",
            c.messages_in, c.messages_out, c.malformed_in, c.requests_refused
        );
        let _ = writeln!(
            s,
            "  inbound calls offered {}, answered {}, completed {}; consults {}, transfers {}, conferences {}",
            c.inbound_offered, c.inbound_answered, c.inbound_completed, c.consults, c.transfers, c.conferences
        );
        let _ = writeln!(
            s,
            "  reservations offered {}, customer calls {}",
            c.reservations_offered, c.customer_calls
        );
        if !c.contacts.is_empty() {
            let parts: Vec<String> = c.contacts.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let _ = writeln!(s, "  contact answers: {}", parts.join(", "));
        }
        let contacts = self.contacts();
        if !contacts.is_empty() {
            let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
            for ct in &contacts {
                *by_status.entry(ct.status.clone()).or_default() += 1;
            }
            let parts: Vec<String> = by_status.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let _ = writeln!(s, "  contacts: {}", parts.join(", "));
        }
        if !c.faults.is_empty() {
            let parts: Vec<String> = c.faults.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let _ = writeln!(s, "  faults injected: {}", parts.join(", "));
        }
        let agents = self.agents();
        let shown = agents.len().min(8);
        for a in agents.iter().take(shown) {
            let _ = writeln!(
                s,
                "  agent {} ext {}: {:?} ({}){}, {} call(s)",
                a.id,
                a.extension,
                a.state,
                a.reason,
                if a.connected { ", connected" } else { "" },
                a.calls.len()
            );
        }
        if agents.len() > shown {
            let _ = writeln!(s, "  … and {} more agents", agents.len() - shown);
        }
        s
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.stop();
    }
}
