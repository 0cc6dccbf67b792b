//! The phone through the std driver, as the whole-system tests drive it against the simulator:
//! a `TestPhone` that presses buttons and waits (bounded) for its view or an event.
// Each test file uses a part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ccx_cti::config::PhoneConfig;
use ccx_cti::phone::{Event, SessionState};
use ccx_cti::wire::{AgentState, LocalConnectionState};
use ccx_cti_std::demo;
use ccx_cti_std::driver::{
    self, AgentCommand, DriverEvent, DriverHandle, DriverOptions, PhoneView,
};
use ccx_cti_std::sim::{Campaign, SimConfig, Simulator};

pub const LIMIT: Duration = Duration::from_secs(15);

/// A command in the flow files' words.
pub fn cmd(text: &str) -> AgentCommand {
    driver::parse_command(text).unwrap()
}

pub struct TestPhone {
    pub handle: DriverHandle,
    pub events: Vec<Event>,
}

pub fn config(servers: &[SocketAddr]) -> PhoneConfig {
    demo::phone_config_for(servers, 17)
}

impl TestPhone {
    pub fn start(cfg: PhoneConfig) -> TestPhone {
        let handle = driver::spawn(cfg, DriverOptions::default()).unwrap();
        TestPhone {
            handle,
            events: Vec::new(),
        }
    }

    pub fn pump(&mut self) {
        while let Ok(e) = self.handle.events().recv_timeout(Duration::from_millis(5)) {
            if let DriverEvent::Phone { event, .. } = e {
                self.events.push(event);
            }
        }
    }

    pub fn wait(&mut self, what: &str, done: impl Fn(&PhoneView) -> bool) -> PhoneView {
        let end = Instant::now() + LIMIT;
        loop {
            let view = self.handle.view();
            if done(&view) {
                return view;
            }
            assert!(
                Instant::now() < end,
                "gave up waiting for {what}: session {:?}, agent {:?}, calls {:?}, events {:?}",
                view.session.state,
                view.agent.state,
                view.calls,
                self.events
            );
            self.pump();
        }
    }

    pub fn wait_event(&mut self, what: &str, found: impl Fn(&Event) -> bool) {
        let end = Instant::now() + LIMIT;
        while !self.events.iter().any(&found) {
            assert!(
                Instant::now() < end,
                "gave up waiting for {what}: {:?}",
                self.events
            );
            self.pump();
        }
    }

    pub fn count(&self, f: impl Fn(&Event) -> bool) -> usize {
        self.events.iter().filter(|e| f(e)).count()
    }

    pub fn press(&self, c: AgentCommand) {
        self.handle.command(c);
    }

    pub fn state(&mut self, s: AgentState) -> PhoneView {
        self.wait(&format!("agent {s:?}"), |v| v.agent.state == s)
    }

    pub fn login_ready(&mut self) {
        self.wait("an open session", |v| v.session.state == SessionState::Open);
        self.press(AgentCommand::Login { password: None });
        self.state(AgentState::NotReady);
        self.press(AgentCommand::Ready);
    }
}

pub fn campaign_sim(contacts: usize) -> Simulator {
    let mut campaign = Campaign::generated(contacts);
    campaign.offer_delay_ms = 0;
    campaign.retry_delay_ms = 600_000;
    Simulator::start(SimConfig {
        campaign: Some(campaign),
        ..SimConfig::loopback()
    })
    .unwrap()
}

/// The phone agrees with the simulator about the agent and the calls.
pub fn agree(sim: &Simulator, view: &PhoneView) {
    let agent = sim.agent("chli4020").unwrap();
    assert_eq!(view.agent.state, agent.state);
    let mut ours: Vec<(u32, LocalConnectionState)> =
        view.calls.iter().map(|c| (c.id, c.state)).collect();
    let mut theirs: Vec<(u32, LocalConnectionState)> =
        agent.calls.iter().map(|c| (c.id, c.state)).collect();
    ours.sort_by_key(|c| c.0);
    theirs.sort_by_key(|c| c.0);
    assert_eq!(ours, theirs);
}
