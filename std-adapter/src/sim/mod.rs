//! `ccx sim`: a Unified CCX CTI server simulator.
//!
//! It speaks the server side of the same codec the phone uses ([`ccx_cti::wire`]): OPEN_REQ
//! validation, heartbeats, idle timeout, agent states, inbound ACD calls, an outbound preview
//! campaign, side A / side B, and fault injection. Each connection has a reader thread and a
//! writer thread; the simulated contact center (the `world` module) sits behind one mutex, which both
//! sides of a pair share when they run in one process (a replicated cluster), so that the
//! agent's state survives a failover.
//!
//! ```no_run
//! use ccx_cti_std::sim::{SimConfig, Simulator};
//! let sim = Simulator::start(SimConfig::loopback()).unwrap();
//! println!("listening on {}", sim.addr());
//! sim.stop();
//! ```

pub mod config;
mod net;
mod world;

pub use config::{
    AgentDef, Campaign, Contact, Faults, HeartbeatRule, HeartbeatRuleMode, InboundCall,
    InboundScenario, ReasonCode, SimConfig,
};
pub use world::Scene;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ccx_cti::wire::{AgentState, CallType, LocalConnectionState};

use world::World;

/// How often the simulated contact center lets time pass (arrivals, offers, idle checks).
const TICK: Duration = Duration::from_millis(5);

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
    /// Last reason code.
    pub reason: u16,
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
    world: Arc<Mutex<World>>,
    cfg: SimConfig,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

fn lock(world: &Mutex<World>) -> MutexGuard<'_, World> {
    // A panic in one connection thread must not take the whole simulator down.
    world.lock().unwrap_or_else(|p| p.into_inner())
}

impl Simulator {
    /// Start a simulator (its own cluster) on `cfg.listen`; it runs in background threads.
    pub fn start(cfg: SimConfig) -> std::io::Result<Simulator> {
        let world = Arc::new(Mutex::new(World::new(cfg.clone())));
        let sim = Simulator::start_node(cfg, world)?;
        // The ticker lives as long as the cluster's state (it holds a weak reference), not as
        // long as this side: a standby sharing the state keeps it going after a stop.
        spawn_ticker(Arc::downgrade(&sim.world));
        Ok(sim)
    }

    /// Start the other side of `peer`'s cluster: the same contact center (agents, calls),
    /// another address. It starts as standby unless `cfg.standby` is false; when
    /// `cfg.peer` is set it probes that address and takes over when it stops answering.
    pub fn start_pair_of(peer: &Simulator, cfg: SimConfig) -> std::io::Result<Simulator> {
        Simulator::start_node(cfg, Arc::clone(&peer.world))
    }

    fn start_node(cfg: SimConfig, world: Arc<Mutex<World>>) -> std::io::Result<Simulator> {
        let listener = TcpListener::bind(cfg.listen.as_str())?;
        let addr = listener.local_addr()?;
        let node = Arc::new(NodeState {
            master: AtomicBool::new(!cfg.standby),
            stopped: AtomicBool::new(false),
            fault_counts: Mutex::new(BTreeMap::new()),
            conn_seq: AtomicU64::new(0),
        });
        let sim = Simulator {
            addr,
            node: Arc::clone(&node),
            world: Arc::clone(&world),
            cfg: cfg.clone(),
            threads: Mutex::new(Vec::new()),
        };
        let acceptor = net::spawn_acceptor(listener, Arc::clone(&node), world, cfg.clone())?;
        sim.push_thread(acceptor);
        if let (true, Some(peer)) = (cfg.standby, cfg.peer.clone()) {
            let prober = net::spawn_prober(peer, node, &cfg);
            sim.push_thread(prober);
        }
        log::info!(
            "simulator listening on {addr} as {}",
            if cfg.standby { "standby" } else { "master" }
        );
        Ok(sim)
    }

    fn push_thread(&self, handle: JoinHandle<()>) {
        if let Ok(mut t) = self.threads.lock() {
            t.push(handle);
        }
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
        }
    }

    /// Make this side standby and close its sessions.
    pub fn demote(&self) {
        self.node.master.store(false, Ordering::SeqCst);
        lock(&self.world).close_node(&self.node);
    }

    /// Stop listening and close every connection of this side (the side "dies"); the
    /// cluster's state lives on while another side shares it.
    pub fn stop(&self) {
        if self.node.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        self.node.master.store(false, Ordering::SeqCst);
        lock(&self.world).close_node(&self.node);
        // Wake the acceptor from its blocking accept.
        let _ = std::net::TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        let threads = self
            .threads
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default();
        for t in threads {
            let _ = t.join();
        }
    }

    /// Whether `stop` was called.
    pub fn is_stopped(&self) -> bool {
        self.node.stopped.load(Ordering::SeqCst)
    }

    /// What happened so far.
    pub fn counters(&self) -> Counters {
        let mut c = lock(&self.world).counters.clone();
        if let Ok(f) = self.node.fault_counts.lock() {
            c.faults = f.clone();
        }
        c
    }

    /// Every agent with its state and calls.
    pub fn agents(&self) -> Vec<AgentSnapshot> {
        lock(&self.world).agent_snapshots()
    }

    /// One agent by AgentID.
    pub fn agent(&self, id: &str) -> Option<AgentSnapshot> {
        self.agents().into_iter().find(|a| a.id == id)
    }

    /// The campaign's contacts.
    pub fn contacts(&self) -> Vec<ContactSnapshot> {
        lock(&self.world).contact_snapshots()
    }

    /// Queue an inbound call now; it is routed to the longest-available agent.
    pub fn offer_call(&self, call: InboundCall) {
        let mut w = lock(&self.world);
        w.enqueue_call(call);
        w.tick(Instant::now());
    }

    /// Hold still (`true`): no new calls, no routing, no contact offers, no timers; the
    /// sessions go on. For checks that need a quiet contact center.
    pub fn set_paused(&self, paused: bool) {
        lock(&self.world).paused = paused;
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
        let _ = writeln!(
            s,
            "simulator {} ({})",
            self.addr,
            if self.is_master() {
                "master"
            } else {
                "standby"
            }
        );
        let _ = writeln!(
            s,
            "  connections {}, sessions opened {}, refused {}, replaced {}, closed {}, idle timeouts {}",
            c.connections, c.sessions_opened, c.sessions_refused, c.sessions_replaced, c.sessions_closed, c.idle_timeouts
        );
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
                "  agent {} ext {}: {:?} (reason {}){}, {} call(s)",
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

fn spawn_ticker(world: std::sync::Weak<Mutex<World>>) {
    let started = std::thread::Builder::new()
        .name("sim-ticker".into())
        .spawn(move || loop {
            let Some(w) = world.upgrade() else {
                return;
            };
            lock(&w).tick(Instant::now());
            drop(w);
            std::thread::sleep(TICK);
        });
    if let Err(e) = started {
        log::error!("simulator: cannot start the ticker thread: {e}");
    }
}
