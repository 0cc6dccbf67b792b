//! The names Cisco's Java loggers (MIVR's ICD_CTI facility, Finesse) print for message fields,
//! mapped to the guide's labels.
//!
//! Most names equal a label of the protocol table but for case (`connectionCallID`,
//! `versionNumber`, `callVar1`): those are found in the table itself, so a label added to the
//! table is found too. The rest are listed here.

use ccx_cti::wire::spec::{EnumDef, MessageDef, TagType};
use ccx_cti::wire::tag_def;

/// Java names whose label differs by more than case.
const EXPLICIT: &[(&str, &str)] = &[
    ("ani1", "ANI"),
    ("ani", "ANI"),
    ("agentExt", "AgentExtension"),
    ("agentExtn", "AgentExtension"),
    ("extension", "AgentExtension"),
    ("agentIDlong", "AgentID"),
    ("agentIdLong", "AgentID"),
    ("agentInstr", "AgentInstrument"),
    ("instrument", "AgentInstrument"),
    ("callID", "ConnectionCallID"),
    ("connCallID", "ConnectionCallID"),
    ("connectionID", "ConnectionCallID"),
    ("connDeviceID", "ConnectionDeviceID"),
    ("deviceID", "ConnectionDeviceID"),
    ("connDeviceIDType", "ConnectionDeviceType"),
    ("deviceIDType", "ConnectionDeviceType"),
    ("skillGroupNumber", "CSQID"),
    ("skillGroupID", "CSQID"),
    ("numSkillGroups", "NumCSQs"),
    ("state", "AgentState"),
    ("agentStateValue", "AgentState"),
    ("reasonCode", "EventReasonCode"),
    ("eventReason", "EventReasonCode"),
    ("numNamedVars", "NumNamedVariables"),
    ("numNamedVar", "NumNamedVariables"),
    ("numNamedArrays", "NumNamedArrays"),
    ("duration", "StateDuration"),
    ("skillGroupState", "CSQState"),
    ("csqState", "CSQState"),
    ("ced", "CallerEnteredDigits"),
    ("callerDigits", "CallerEnteredDigits"),
    ("uui", "UserToUserInfo"),
    ("alertingDevice", "AlertingDeviceID"),
    ("version", "VersionNumber"),
    ("protocolVersion", "VersionNumber"),
    ("timeout", "IdleTimeout"),
    ("dialedNum", "DialedNumber"),
    ("dtmf", "DTMFString"),
    ("digits", "DTMFString"),
    ("wrapup", "WrapupData"),
    ("wrapupData", "WrapupData"),
    ("callVariable1", "CallVar1"),
    ("callVariable2", "CallVar2"),
    ("callVariable3", "CallVar3"),
    ("callVariable4", "CallVar4"),
    ("callVariable5", "CallVar5"),
    ("callVariable6", "CallVar6"),
    ("callVariable7", "CallVar7"),
    ("callVariable8", "CallVar8"),
    ("callVariable9", "CallVar9"),
    ("callVariable10", "CallVar10"),
];

/// What a label of a message is: its canonical spelling, enumeration and whether it is a
/// number.
#[derive(Debug, Clone, Copy)]
pub struct LabelInfo {
    /// The label as trace text prints it.
    pub label: &'static str,
    /// The enumeration naming its values.
    pub enumeration: Option<&'static EnumDef>,
    /// Whether the value is a number on the wire.
    pub numeric: bool,
    /// Whether the value is a secret.
    pub secret: bool,
}

/// The label of the field a Java logger calls `java` in message `msg` (or in any message
/// when the message is unknown).
pub fn label_for(msg: Option<&'static MessageDef>, java: &str) -> Option<LabelInfo> {
    let explicit = EXPLICIT
        .iter()
        .find(|(j, _)| j.eq_ignore_ascii_case(java))
        .map(|(_, l)| *l);
    if let Some(l) = explicit {
        return lookup(msg, l);
    }
    // The loggers' spellings of two families of names: `...DeviceIDType` for the guide's
    // `...DeviceType`, `SkillGroup` for the guide's `CSQ`.
    let lower = java.to_ascii_lowercase();
    let variants = [
        java.to_string(),
        lower.replace("deviceidtype", "devicetype"),
        lower.replace("skillgroup", "csq"),
    ];
    variants.iter().find_map(|v| lookup(msg, v))
}

fn lookup(msg: Option<&'static MessageDef>, candidate: &str) -> Option<LabelInfo> {
    if let Some(layout) = msg.and_then(|m| m.layout) {
        if let Some(f) = layout.fixed.iter().find(|f| {
            !f.is_reserved()
                && (f.label.eq_ignore_ascii_case(candidate)
                    || f.aliases.iter().any(|a| a.eq_ignore_ascii_case(candidate)))
        }) {
            return Some(LabelInfo {
                label: f.label,
                enumeration: f.enumeration,
                numeric: !matches!(f.ty, ccx_cti::wire::spec::FixedType::Bytes(_)),
                secret: false,
            });
        }
        for fl in layout.floating {
            let def = tag_def(fl.tag);
            let hit = fl.label.eq_ignore_ascii_case(candidate)
                || def.is_some_and(|d| {
                    d.name.eq_ignore_ascii_case(candidate)
                        || d.aliases.iter().any(|a| a.eq_ignore_ascii_case(candidate))
                });
            if hit {
                return Some(info(fl.label, def));
            }
        }
        return None;
    }
    ccx_cti::wire::TAGS
        .iter()
        .find(|d| {
            d.name.eq_ignore_ascii_case(candidate)
                || d.aliases.iter().any(|a| a.eq_ignore_ascii_case(candidate))
        })
        .map(|d| info(d.name, Some(d)))
}

fn info(label: &'static str, def: Option<&'static ccx_cti::wire::spec::TagDef>) -> LabelInfo {
    LabelInfo {
        label,
        enumeration: def.and_then(|d| d.enumeration),
        numeric: def.is_some_and(|d| d.ty.numeric_size().is_some()),
        secret: def.is_some_and(|d| d.ty == TagType::Unspec && d.name.contains("Password"))
            || label.contains("Password"),
    }
}
