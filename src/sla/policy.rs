//! SLA policies: which tickets they apply to (ordered conditions, first match wins), their targets
//! per clock, which statuses pause which clocks, warning thresholds and escalation steps.

use std::collections::BTreeMap;

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::contacts::attributes::{self as contact_attributes, Attributes};
use crate::tickets::model::{Channel, Priority, Ticket};
use crate::tickets::status::Status;

pub const FIRST_RESPONSE: &str = "first_response";
pub const NEXT_RESPONSE: &str = "next_response";
pub const PERIODIC_UPDATE: &str = "periodic_update";
pub const RESOLUTION: &str = "resolution";
pub const CLOCKS: [&str; 4] = [FIRST_RESPONSE, NEXT_RESPONSE, PERIODIC_UPDATE, RESOLUTION];
pub const STAGE_PREFIX: &str = "stage:";
/// The clock that closes a resolved ticket after the policy's working days of citizen silence.
pub const AUTO_CLOSE: &str = "auto_close";

/// Each listed field must match (any of its values); an empty condition set matches every ticket,
/// which makes a policy the default when it is last.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priority: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub category_id: Vec<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channel: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub team_id: Vec<i64>,
    /// Contact attribute → the values that match, e.g. `{"segment": ["vip"]}` (a single string is
    /// read as a list of one). Every listed attribute must be set on the ticket's contact to one of
    /// its values.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "one_or_many"
    )]
    pub contact: BTreeMap<String, Vec<String>>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let raw = BTreeMap::<String, OneOrMany>::deserialize(d)?;
    Ok(raw
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                OneOrMany::One(s) => vec![s],
                OneOrMany::Many(v) => v,
            };
            (k, v)
        })
        .collect())
}

impl Conditions {
    /// Does the ticket (with its contact's attributes) match?
    pub fn matches(&self, t: &Ticket, contact: &Attributes) -> bool {
        (self.priority.is_empty() || self.priority.contains(&t.priority))
            && (self.channel.is_empty() || self.channel.contains(&t.channel))
            && (self.category_id.is_empty() || t.category_id.is_some_and(|c| self.category_id.contains(&c)))
            && (self.team_id.is_empty() || t.team_id.is_some_and(|c| self.team_id.contains(&c)))
            && self
                .contact
                .iter()
                .all(|(key, values)| contact.get(key).is_some_and(|v| values.contains(v)))
    }
}

/// Close a resolved ticket once the citizen has said nothing for `working_days` working days on
/// `calendar` (the day of resolution does not count; the ticket closes at the end of the last one).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseAfterSilence {
    pub working_days: u32,
    pub calendar: String,
}

/// A target: `4h`, `90m`, `3d`; on `calendar` in business time (with `business_days`, whole working
/// days), without one in calendar time.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub business_days: bool,
}

/// A stage deadline in working days, running from the ticket's opening until it reaches a status
/// in `met_on` (e.g. verify and forward within 3 working days: met on `open`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub name: String,
    pub working_days: u32,
    pub calendar: String,
    pub met_on: Vec<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    NotifyAssignee,
    NotifySupervisors,
    RaisePriority,
    Reassign,
}

/// At a warning threshold (`"75%"`) or at the breach (`"breach"`), do `action`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub at: String,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    pub name: String,
    #[serde(default)]
    pub position: i32,
    #[serde(default)]
    pub conditions: Conditions,
    #[serde(default)]
    pub targets: BTreeMap<String, Target>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<Stage>,
    /// Status → clocks it pauses, e.g. `{"pending": ["resolution"]}`.
    #[serde(default)]
    pub pause: BTreeMap<String, Vec<String>>,
    #[serde(default = "default_warn")]
    pub warn_at: Vec<u8>,
    /// Empty: notify the assignee at warnings, the assignee and the team's supervisors at the breach.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalation: Vec<Step>,
    /// Close resolved tickets after this many working days of citizen silence (instead of the
    /// global `tickets.reopen_window_hours`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_after_silence: Option<CloseAfterSilence>,
    /// A disabled policy is kept (and its versions stay on the tickets that have them) but matches
    /// no ticket.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
}

fn default_warn() -> Vec<u8> {
    vec![75, 90]
}

/// A clock a policy asks for, resolved to seconds or working days.
#[derive(Clone, Debug, PartialEq)]
pub struct ClockTarget {
    pub kind: String,
    pub text: String,
    pub calendar: Option<String>,
    pub amount: Duration,
    pub working_days: Option<u32>,
}

impl PolicySpec {
    /// Checks everything but the calendars' existence (the caller knows the database).
    pub fn validate(&mut self) -> Result<(), String> {
        self.name = self.name.trim().to_string();
        if self.name.is_empty() || self.name.len() > 100 {
            return Err("name: 1 to 100 characters".into());
        }
        for p in &self.conditions.priority {
            Priority::parse(p).ok_or_else(|| format!("conditions.priority: unknown priority `{p}`"))?;
        }
        for c in &self.conditions.channel {
            Channel::parse(c).ok_or_else(|| format!("conditions.channel: unknown channel `{c}`"))?;
        }
        for (key, values) in &self.conditions.contact {
            contact_attributes::check_key(key).map_err(|e| format!("conditions.contact: {e}"))?;
            if values.is_empty() {
                return Err(format!("conditions.contact.{key}: give at least one value"));
            }
            for v in values {
                contact_attributes::check_value(v).map_err(|e| format!("conditions.contact.{key}: {e}"))?;
            }
        }
        if self.targets.is_empty() && self.stages.is_empty() && self.close_after_silence.is_none() {
            return Err("targets: give at least one target, stage or close_after_silence".into());
        }
        if let Some(c) = &self.close_after_silence
            && (c.working_days == 0 || c.working_days > 366)
        {
            return Err("close_after_silence.working_days: 1 to 366".into());
        }
        for (kind, t) in &self.targets {
            if !CLOCKS.contains(&kind.as_str()) {
                return Err(format!("targets.{kind}: unknown clock; known: {}", CLOCKS.join(", ")));
            }
            let (_, days) = super::parse_target(&t.target).map_err(|e| format!("targets.{kind}: {e}"))?;
            if t.business_days && (days.is_none() || t.calendar.is_none()) {
                return Err(format!(
                    "targets.{kind}: business_days needs whole days (3d) and a calendar"
                ));
            }
        }
        let mut names = Vec::new();
        for s in &self.stages {
            let n = s.name.trim();
            if n.is_empty() || n.len() > 50 || names.contains(&n) {
                return Err(format!("stages: name `{n}` must be 1 to 50 characters and unique"));
            }
            names.push(n);
            if s.working_days == 0 || s.working_days > 366 {
                return Err(format!("stages.{n}.working_days: 1 to 366"));
            }
            if s.met_on.is_empty() {
                return Err(format!("stages.{n}.met_on: name the statuses that meet it"));
            }
            for st in &s.met_on {
                Status::parse(st).ok_or_else(|| format!("stages.{n}.met_on: unknown status `{st}`"))?;
            }
        }
        for (status, kinds) in &self.pause {
            let s = Status::parse(status).ok_or_else(|| format!("pause: unknown status `{status}`"))?;
            if !s.is_active() || s == Status::New {
                return Err(format!(
                    "pause: `{status}` cannot pause clocks; use pending, on_hold or open"
                ));
            }
            for k in kinds {
                if !CLOCKS.contains(&k.as_str()) && !k.strip_prefix(STAGE_PREFIX).is_some_and(|n| names.contains(&n)) {
                    return Err(format!("pause.{status}: unknown clock `{k}`"));
                }
            }
        }
        self.warn_at.sort_unstable();
        self.warn_at.dedup();
        if self.warn_at.iter().any(|p| *p == 0 || *p >= 100) {
            return Err("warn_at: percentages between 1 and 99".into());
        }
        for s in &self.escalation {
            if s.at != "breach" && self.warn_at_percent(&s.at).is_none() {
                return Err(format!(
                    "escalation: at `{}` must be \"breach\" or one of warn_at as \"75%\"",
                    s.at
                ));
            }
            if (s.action == Action::Reassign) != s.user_id.is_some() {
                return Err("escalation: user_id goes with (and only with) reassign".into());
            }
        }
        Ok(())
    }

    fn warn_at_percent(&self, at: &str) -> Option<u8> {
        let p: u8 = at.strip_suffix('%')?.parse().ok()?;
        self.warn_at.contains(&p).then_some(p)
    }

    /// Every calendar name the policy uses.
    pub fn calendars(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.targets.values().filter_map(|t| t.calendar.as_deref()).collect();
        v.extend(self.stages.iter().map(|s| s.calendar.as_str()));
        v.extend(self.close_after_silence.iter().map(|c| c.calendar.as_str()));
        v
    }

    /// The clock that closes a resolved ticket after the citizen's silence, if the policy has one.
    /// It starts on resolution, not with the ticket, so it is not among [`PolicySpec::clock_targets`].
    pub fn auto_close_target(&self) -> Option<ClockTarget> {
        self.close_after_silence.as_ref().map(|c| ClockTarget {
            kind: AUTO_CLOSE.into(),
            text: format!("{}d", c.working_days),
            calendar: Some(c.calendar.clone()),
            amount: Duration::days(c.working_days as i64),
            working_days: Some(c.working_days),
        })
    }

    /// The clocks this policy runs, resolved.
    pub fn clock_targets(&self) -> Vec<ClockTarget> {
        let mut out = Vec::new();
        for (kind, t) in &self.targets {
            if let Ok((amount, days)) = super::parse_target(&t.target) {
                out.push(ClockTarget {
                    kind: kind.clone(),
                    text: t.target.clone(),
                    calendar: t.calendar.clone(),
                    amount,
                    working_days: if t.business_days { days } else { None },
                });
            }
        }
        for s in &self.stages {
            out.push(ClockTarget {
                kind: format!("{STAGE_PREFIX}{}", s.name),
                text: format!("{}d", s.working_days),
                calendar: Some(s.calendar.clone()),
                amount: Duration::days(s.working_days as i64),
                working_days: Some(s.working_days),
            });
        }
        out
    }

    /// Does `status` pause clock `kind`?
    pub fn pauses(&self, status: &str, kind: &str) -> bool {
        self.pause.get(status).is_some_and(|ks| ks.iter().any(|k| k == kind))
    }

    /// The stage `kind` is met on reaching `status`.
    pub fn stage_met_on(&self, kind: &str, status: &str) -> bool {
        kind.strip_prefix(STAGE_PREFIX)
            .and_then(|n| self.stages.iter().find(|s| s.name == n))
            .is_some_and(|s| s.met_on.iter().any(|m| m == status))
    }

    /// The actions at a firing (`"75%"` or `"breach"`).
    pub fn actions_at(&self, at: &str) -> Vec<Step> {
        if self.escalation.is_empty() {
            return Self::default_actions(at);
        }
        self.escalation.iter().filter(|s| s.at == at).cloned().collect()
    }

    /// Without escalation steps: the assignee at warnings, and the team's supervisors too at the breach.
    pub fn default_actions(at: &str) -> Vec<Step> {
        {
            let mut v = vec![Step {
                at: at.into(),
                action: Action::NotifyAssignee,
                user_id: None,
            }];
            if at == "breach" {
                v.push(Step {
                    at: at.into(),
                    action: Action::NotifySupervisors,
                    user_id: None,
                });
            }
            v
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> Result<PolicySpec, String> {
        let mut p: PolicySpec = serde_json::from_value(json).map_err(|e| e.to_string())?;
        p.validate()?;
        Ok(p)
    }

    #[test]
    fn validation_names_the_field() {
        let base =
            serde_json::json!({ "name": "p", "targets": { "first_response": { "target": "4h", "calendar": "c" } } });
        assert!(spec(base.clone()).is_ok());
        let bad = |patch: serde_json::Value| {
            let mut v = base.clone();
            for (k, val) in patch.as_object().unwrap() {
                v[k] = val.clone();
            }
            spec(v).unwrap_err()
        };
        assert!(bad(serde_json::json!({ "targets": { "lunch": { "target": "4h" } } })).contains("unknown clock"));
        assert!(
            bad(serde_json::json!({ "targets": { "resolution": { "target": "4 hours" } } }))
                .contains("targets.resolution")
        );
        assert!(bad(serde_json::json!({ "targets": { "resolution": { "target": "4h", "business_days": true, "calendar": "c" } } })).contains("whole days"));
        assert!(bad(serde_json::json!({ "conditions": { "priority": ["asap"] } })).contains("priority"));
        assert!(bad(serde_json::json!({ "pause": { "resolved": ["resolution"] } })).contains("cannot pause"));
        assert!(bad(serde_json::json!({ "pause": { "pending": ["lunch"] } })).contains("unknown clock"));
        assert!(bad(serde_json::json!({ "warn_at": [100] })).contains("warn_at"));
        assert!(
            bad(serde_json::json!({ "escalation": [{ "at": "50%", "action": "raise_priority" }] }))
                .contains("escalation")
        );
        assert!(
            bad(serde_json::json!({ "escalation": [{ "at": "breach", "action": "reassign" }] })).contains("user_id")
        );
        assert!(bad(serde_json::json!({ "stages": [{ "name": "v", "working_days": 0, "calendar": "c", "met_on": ["open"] }] })).contains("working_days"));
        assert!(
            bad(serde_json::json!({ "close_after_silence": { "working_days": 0, "calendar": "c" } }))
                .contains("close_after_silence.working_days")
        );
        assert!(
            bad(serde_json::json!({ "conditions": { "contact": { "Segment": ["vip"] } } }))
                .contains("conditions.contact")
        );
        assert!(
            bad(serde_json::json!({ "conditions": { "contact": { "segment": [] } } }))
                .contains("conditions.contact.segment")
        );
        assert!(bad(serde_json::json!({ "pause": { "pending": ["auto_close"] } })).contains("unknown clock"));
    }

    #[test]
    fn contact_conditions_match_attributes_and_take_one_value_or_many() {
        let p = spec(serde_json::json!({ "name": "vip", "conditions": { "contact": { "segment": "vip", "kota": ["Bogor", "Depok"] } },
            "close_after_silence": { "working_days": 10, "calendar": "c" } }))
        .unwrap();
        assert_eq!(p.conditions.contact["segment"], ["vip"]);
        let now = chrono::DateTime::UNIX_EPOCH.naive_utc();
        let t = Ticket {
            id: 1,
            number: "2612070001".into(),
            access_token_hash: String::new(),
            subject: "s".into(),
            status: "open".into(),
            priority: "normal".into(),
            channel: "phone".into(),
            contact_id: 1,
            category_id: None,
            team_id: None,
            assignee_id: None,
            parent_ticket_id: None,
            language: "id".into(),
            created_at: now,
            updated_at: now,
            first_response_at: None,
            resolved_at: None,
            closed_at: None,
            last_inbound_at: None,
            thread_key: None,
        };
        let attrs = |pairs: &[(&str, &str)]| -> Attributes {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        assert!(
            p.conditions
                .matches(&t, &attrs(&[("segment", "vip"), ("kota", "Depok")]))
        );
        assert!(!p.conditions.matches(&t, &attrs(&[("segment", "vip")])));
        assert!(
            !p.conditions
                .matches(&t, &attrs(&[("segment", "regular"), ("kota", "Bogor")]))
        );
        let close = p.auto_close_target().unwrap();
        assert_eq!(
            (close.kind.as_str(), close.working_days, close.text.as_str()),
            (AUTO_CLOSE, Some(10), "10d")
        );
        assert!(p.clock_targets().iter().all(|c| c.kind != AUTO_CLOSE));
        assert_eq!(p.calendars(), ["c"]);
    }
}
