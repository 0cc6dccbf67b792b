//! Behaviours of a real Unified CCX that the simulated contact center does not reach by
//! itself, played on demand to one agent's session (`Simulator::play`) or to every session
//! of a node (`Simulator::report_out_of_service`): two calls sharing a CallID, the guide's
//! conference as the consulted agent sees it, a call on a non-ICD secondary line, and
//! SYSTEM_EVENTs about the agent's instrument or the node. The calls they announce are the
//! session's only: the contact center does not route or control them.

use std::sync::Arc;

use ccx_cti::wire::{message_def, tag, Encoder, MessageType};

use super::World;
use crate::sim::{NodeState, Simulator};

/// LocalConnectionState values (wire-calls.md §6).
const LCS_ALERTING: u32 = 2;
const LCS_CONNECT: u32 = 3;
const LCS_HOLD: u32 = 4;
/// DeviceType 78, DEVID_NON_ACD_DEVICE_IDENTIFIER: a `primary.actual` device
/// (<https://developer.cisco.com/docs/contact-center-express/devicetype-values>).
const DEVID_NON_ACD: u32 = 78;
/// DeviceType 76, an agent's device, as the guide's conference prints it.
const DEVID_AGENT_DEVICE: u32 = 76;
/// The first protocol version with `primary.actual` devices
/// (<https://developer.cisco.com/docs/contact-center-express/general-rules>).
const PRIMARY_ACTUAL_SINCE: u32 = 14;
/// CallType values: CALLTYPE_OTHER_IN, CALLTYPE_CONSULT, CALLTYPE_CONFERENCE
/// (<https://developer.cisco.com/docs/contact-center-express/calltype-fields>).
const CALLTYPE_OTHER_IN: u32 = 6;
const CALLTYPE_CONSULT: u32 = 12;
const CALLTYPE_CONFERENCE: u32 = 15;
/// CCXStatus CCX_IN_SERVICE and the SystemEventIDs of the agent's instrument
/// (<https://developer.cisco.com/docs/contact-center-express/unified-ccx-status-values>,
/// <https://developer.cisco.com/docs/contact-center-express/systemeventid-values>).
const CCX_IN_SERVICE: u32 = 0x400;
const SYS_INSTRUMENT_OUT_OF_SERVICE: u32 = 10;
const SYS_INSTRUMENT_BACK_IN_SERVICE: u32 = 11;
/// "No call" in a CallID field.
const NULL_CALL_ID: u32 = 0xFFFF_FFFF;

/// A behaviour to play to an agent's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scene {
    /// Two calls with one CallID
    /// (<https://developer.cisco.com/docs/contact-center-express/call_established_event>): one
    /// rings on the agent's extension and is answered, a second with the same CallID rings on
    /// the secondary line `secondary`, then a CALL_ESTABLISHED whose devices name only the
    /// agent's extension: it belongs to the call without a destination connection (the
    /// second). Both calls end up connected.
    SharedCallId {
        /// The secondary line's actual extension.
        secondary: String,
    },
    /// The guide's conferenced call as the consulted agent sees it
    /// (<https://developer.cisco.com/docs/contact-center-express/example-message-flow-for-a-conferenced-call>):
    /// the consult call rings and is answered, CALL_DATA_UPDATE announces a third CallID
    /// (CallType 15), CALL_CONFERENCED joins the calls under a PrimaryCallID the agent has
    /// never seen, and a CALL_HELD under the third CallID puts the agent's conference on
    /// hold. `play` returns the PrimaryCallID.
    Conference,
    /// A call ringing on the agent's non-ICD secondary line `secondary`: from version 14 its
    /// devices are `extension.secondary` with DeviceType 78, below it only the actual
    /// extension (<https://developer.cisco.com/docs/contact-center-express/primary-actual-field-format>).
    SecondaryLine {
        /// The secondary line's actual extension.
        secondary: String,
    },
    /// SYSTEM_EVENT SYS_INSTRUMENT_OUT_OF_SERVICE for the agent's extension (the server stays
    /// in service).
    InstrumentOutOfService,
    /// SYSTEM_EVENT SYS_INSTRUMENT_BACK_IN_SERVICE.
    InstrumentBackInService,
}

/// A floating field of a scene's event.
enum Floating {
    Text(u16, String),
    Number(u16, u32),
}

use Floating::{Number, Text};

impl World {
    /// Send `ty` with fixed fields by label and floating fields, to agent `a`'s session.
    fn scene_event(
        &mut self,
        a: usize,
        ty: MessageType,
        fixed: &[(&str, u32)],
        floating: &[Floating],
    ) {
        let Some(layout) = message_def(ty.id()).and_then(|d| d.layout) else {
            return;
        };
        let fixed: Vec<(usize, u32)> = fixed
            .iter()
            .filter_map(|(label, value)| layout.fixed_named(label).map(|(i, _)| (i, *value)))
            .collect();
        self.emit(a, ty, |e: &mut Encoder<'_>| {
            for (index, value) in &fixed {
                e.set_fixed_raw(*index, *value);
            }
            for field in floating {
                match field {
                    Text(t, s) => e.string(*t, s),
                    Number(t, n) => e.number(*t, *n),
                };
            }
        });
    }

    /// A connection event: CallID, LocalConnectionState, the connection's device and type,
    /// the event's own device field (`role`) and the calling device.
    #[allow(clippy::too_many_arguments)]
    fn scene_connection_event(
        &mut self,
        a: usize,
        ty: MessageType,
        id: u32,
        lcs: u32,
        device: &str,
        device_type: u32,
        role: (&str, u16),
        calling: &str,
    ) {
        let type_label = match role.0 {
            "Alerting" => "AlertingDeviceType",
            "Answering" => "AnsweringDeviceType",
            _ => "HoldingDeviceType",
        };
        self.scene_event(
            a,
            ty,
            &[
                ("ConnectionCallID", id),
                ("ConnectionDeviceType", device_type),
                ("LocalConnectionState", lcs),
                (type_label, device_type),
            ],
            &[
                Text(tag::CONNECTION_DEVICE_ID, device.to_string()),
                Text(role.1, device.to_string()),
                Text(tag::CALLING_DEVICE_ID, calling.to_string()),
            ],
        );
    }

    fn session_version(&self, a: usize) -> u32 {
        self.agents
            .get(a)
            .and_then(|ag| ag.conn)
            .map_or(0, |c| self.version_of(c).number())
    }

    /// The agent's device on its secondary line as the session's version writes it, and its
    /// DeviceType.
    fn secondary_device(&self, a: usize, secondary: &str) -> (String, u32) {
        if self.session_version(a) >= PRIMARY_ACTUAL_SINCE {
            (format!("{}.{secondary}", self.ext(a)), DEVID_NON_ACD)
        } else {
            (secondary.to_string(), 0)
        }
    }

    /// Play `scene` to the session of the agent with AgentID `agent_id`; the CallID it is
    /// about, if any. `None` when the agent has no session.
    pub(crate) fn play(&mut self, agent_id: &str, scene: &Scene) -> Option<u32> {
        let a = self.agents.iter().position(|ag| ag.def.id == agent_id)?;
        let conn_id = self.agents.get(a).and_then(|ag| ag.conn)?;
        let ext = self.ext(a);
        match scene {
            Scene::SharedCallId { secondary } => {
                let id = self.new_call_id();
                let delivered = MessageType::CallDeliveredEvent;
                let established = MessageType::CallEstablishedEvent;
                let alerting = ("Alerting", tag::ALERTING_DEVICE_ID);
                let answering = ("Answering", tag::ANSWERING_DEVICE_ID);
                self.scene_connection_event(
                    a,
                    delivered,
                    id,
                    LCS_ALERTING,
                    &ext,
                    0,
                    alerting,
                    "5551234",
                );
                self.scene_connection_event(
                    a,
                    established,
                    id,
                    LCS_CONNECT,
                    &ext,
                    0,
                    answering,
                    "5551234",
                );
                let (device, device_type) = self.secondary_device(a, secondary);
                self.scene_connection_event(
                    a,
                    delivered,
                    id,
                    LCS_ALERTING,
                    &device,
                    device_type,
                    alerting,
                    "5551299",
                );
                // The caller's connection, answered by the agent's extension: the devices do
                // not say which call; the rule for shared CallIDs does.
                self.scene_event(
                    a,
                    established,
                    &[
                        ("ConnectionCallID", id),
                        ("LocalConnectionState", LCS_CONNECT),
                    ],
                    &[
                        Text(tag::CONNECTION_DEVICE_ID, "5551299".into()),
                        Text(tag::ANSWERING_DEVICE_ID, ext.clone()),
                        Text(tag::CALLING_DEVICE_ID, "5551299".into()),
                    ],
                );
                Some(id)
            }
            Scene::Conference => {
                let (primary, secondary, third) =
                    (self.new_call_id(), self.new_call_id(), self.new_call_id());
                let controller = "2006".to_string();
                self.scene_event(
                    a,
                    MessageType::BeginCallEvent,
                    &[
                        ("ConnectionCallID", secondary),
                        ("CallType", CALLTYPE_CONSULT),
                    ],
                    &[
                        Text(tag::CONNECTION_DEVICE_ID, controller.clone()),
                        Text(tag::ANI, controller.clone()),
                    ],
                );
                let alerting = ("Alerting", tag::ALERTING_DEVICE_ID);
                let answering = ("Answering", tag::ANSWERING_DEVICE_ID);
                self.scene_connection_event(
                    a,
                    MessageType::CallDeliveredEvent,
                    secondary,
                    LCS_ALERTING,
                    &ext,
                    DEVID_AGENT_DEVICE,
                    alerting,
                    &controller,
                );
                self.scene_connection_event(
                    a,
                    MessageType::CallEstablishedEvent,
                    secondary,
                    LCS_CONNECT,
                    &ext,
                    DEVID_AGENT_DEVICE,
                    answering,
                    &controller,
                );
                self.scene_event(
                    a,
                    MessageType::CallDataUpdateEvent,
                    &[
                        ("ConnectionCallID", third),
                        ("CallType", CALLTYPE_CONFERENCE),
                        ("NewConnectionCallID", NULL_CALL_ID),
                    ],
                    &[Text(tag::CONNECTION_DEVICE_ID, "2005".into())],
                );
                let mut parties = Vec::new();
                for device in ["2005", controller.as_str(), ext.as_str()] {
                    parties.push(Number(tag::CONNECTED_PARTY_CALL_ID, third));
                    parties.push(Number(tag::CONNECTED_PARTY_DEVICE_TYPE, 0));
                    parties.push(Text(tag::CONNECTED_PARTY_DEVICE_ID, device.to_string()));
                }
                let mut floating = vec![
                    Text(tag::PRIMARY_DEVICE_ID, controller.clone()),
                    Text(tag::SECONDARY_DEVICE_ID, ext.clone()),
                    Text(tag::CONTROLLER_DEVICE_ID, controller.clone()),
                    Text(tag::ADDED_PARTY_DEVICE_ID, ext.clone()),
                ];
                floating.extend(parties);
                self.scene_event(
                    a,
                    MessageType::CallConferencedEvent,
                    &[
                        ("PrimaryCallID", primary),
                        ("SecondaryCallID", secondary),
                        ("NumParties", 3),
                        ("ControllerDeviceType", DEVID_AGENT_DEVICE),
                        ("AddedPartyDeviceType", DEVID_AGENT_DEVICE),
                        ("LocalConnectionState", LCS_CONNECT),
                    ],
                    &floating,
                );
                let holding = ("Holding", tag::HOLDING_DEVICE_ID);
                self.scene_connection_event(
                    a,
                    MessageType::CallHeldEvent,
                    third,
                    LCS_HOLD,
                    &ext,
                    DEVID_AGENT_DEVICE,
                    holding,
                    &ext,
                );
                self.counters.conferences += 1;
                Some(primary)
            }
            Scene::SecondaryLine { secondary } => {
                let id = self.new_call_id();
                let (device, device_type) = self.secondary_device(a, secondary);
                self.scene_event(
                    a,
                    MessageType::BeginCallEvent,
                    &[
                        ("ConnectionCallID", id),
                        ("CallType", CALLTYPE_OTHER_IN),
                        ("ConnectionDeviceType", device_type),
                    ],
                    &[
                        Text(tag::CONNECTION_DEVICE_ID, device.clone()),
                        Text(tag::ANI, "5551234".into()),
                        Text(tag::DNIS, device.clone()),
                    ],
                );
                let alerting = ("Alerting", tag::ALERTING_DEVICE_ID);
                self.scene_connection_event(
                    a,
                    MessageType::CallDeliveredEvent,
                    id,
                    LCS_ALERTING,
                    &device,
                    device_type,
                    alerting,
                    "5551234",
                );
                Some(id)
            }
            Scene::InstrumentOutOfService | Scene::InstrumentBackInService => {
                let id = if *scene == Scene::InstrumentOutOfService {
                    SYS_INSTRUMENT_OUT_OF_SERVICE
                } else {
                    SYS_INSTRUMENT_BACK_IN_SERVICE
                };
                self.system_event(conn_id, CCX_IN_SERVICE, id, Some(&ext));
                None
            }
        }
    }

    /// SYSTEM_EVENT with `status` and `id` to one connection.
    fn system_event(&mut self, conn_id: u64, status: u32, id: u32, device: Option<&str>) {
        let Some(layout) = message_def(MessageType::SystemEvent.id()).and_then(|d| d.layout) else {
            return;
        };
        let fixed: Vec<(usize, u32)> = [
            ("CCXStatus", status),
            ("SystemEventID", id),
            ("EventDeviceType", if device.is_some() { 0 } else { 0xFFFF }),
        ]
        .iter()
        .filter_map(|(label, value)| layout.fixed_named(label).map(|(i, _)| (i, *value)))
        .collect();
        let device = device.map(str::to_string);
        self.send(conn_id, MessageType::SystemEvent, |e| {
            for (index, value) in &fixed {
                e.set_fixed_raw(*index, *value);
            }
            if let Some(d) = &device {
                e.string(tag::EVENT_DEVICE_ID, d);
            }
        });
    }

    /// SYSTEM_EVENT with `status` and `id` to every open session of `node`; the sessions are
    /// left for the clients to close.
    pub(crate) fn report_to_node(&mut self, node: &Arc<NodeState>, status: u32, id: u32) -> usize {
        let conns: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| Arc::ptr_eq(&c.node, node) && c.version.is_some())
            .map(|(id, _)| *id)
            .collect();
        for conn_id in &conns {
            self.system_event(*conn_id, status, id, None);
        }
        conns.len()
    }
}

impl Simulator {
    /// Play `scene` to the session of agent `agent_id`; the CallID it is about (the
    /// conference's PrimaryCallID for [`Scene::Conference`]). `None` when the agent has no
    /// session or the scene is about no call.
    pub fn play(&self, agent_id: &str, scene: &Scene) -> Option<u32> {
        let (id, scene) = (agent_id.to_string(), scene.clone());
        self.with_world(move |w| w.play(&id, &scene)).flatten()
    }

    /// This node goes out of service: every open session gets SYSTEM_EVENT with CCXStatus
    /// `status` and SystemEventID `id`, and the node turns standby (a new OPEN_REQ is refused
    /// with E_CTI_SERVER_NOT_MASTER), so that clients move to the next node as
    /// <https://developer.cisco.com/docs/contact-center-express/connect-cti-sessions-in-a-clustered-unified-ccx>
    /// says. Returns how many sessions were told.
    pub fn report_out_of_service(&self, status: u32, id: u32) -> usize {
        self.node
            .master
            .store(false, std::sync::atomic::Ordering::SeqCst);
        let node = std::sync::Arc::clone(&self.node);
        self.with_world(move |w| w.report_to_node(&node, status, id))
            .unwrap_or(0)
    }

    /// The ActiveTerminal agent `agent_id` last logged in with (v18, Agent Device Selection).
    pub fn active_terminal(&self, agent_id: &str) -> Option<String> {
        let id = agent_id.to_string();
        self.with_world(move |world| {
            let a = world.agents.iter().position(|ag| ag.def.id == id)?;
            world.rules.terminals.get(&a).cloned()
        })
        .flatten()
    }
}
