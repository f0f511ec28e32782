//! The phone channel. A PBX pushes call events (Zammad-compatible Generic CTI, [`cti`]) or Twilio
//! posts voice webhooks ([`twilio`]); each event is stored once per `(call id, event)` in an
//! append-only log and the call's row in the caller log is folded again from all of its events
//! ([`fold`]), so repeats are harmless and reordered events give the same result. A missed inbound
//! call becomes a callback item; agents turn calls into tickets through the ticket service
//! ([`service`]); a live feed ([`feed`]) pushes every change to agent consoles.

pub mod cti;
pub mod feed;
pub mod repo;
pub mod service;
pub mod twilio;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::config::PhoneSettings;
use crate::contacts::Phone;

/// Checks the `[phone]` settings; the error names the key.
pub fn validate_settings(s: &PhoneSettings) -> Result<(), (&'static str, String)> {
    let token = s.cti_token.expose();
    if !token.is_empty()
        && (token.len() < 16
            || token.len() > 200
            || !token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~')))
    {
        return Err((
            "phone.cti_token",
            "must be empty (endpoint off) or 16 to 200 characters of A-Z a-z 0-9 - _ . ~".into(),
        ));
    }
    if !(1..=10_080).contains(&s.callback_target_minutes) {
        return Err(("phone.callback_target_minutes", "must be 1 to 10080 (one week)".into()));
    }
    let caller_id = &s.outbound_caller_id;
    if !caller_id.is_empty() && (caller_id.len() > 32 || !caller_id.chars().all(|c| c.is_ascii_digit() || c == '+')) {
        return Err((
            "phone.outbound_caller_id",
            "must be empty or a number as the PBX dials it (digits, +)".into(),
        ));
    }
    let twilio = s.twilio_auth_token.expose();
    if !twilio.is_empty() && twilio.len() < 16 {
        return Err((
            "phone.twilio_auth_token",
            "must be empty (off) or at least 16 characters".into(),
        ));
    }
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    #[serde(rename = "newCall")]
    NewCall,
    #[serde(rename = "answer")]
    Answer,
    #[serde(rename = "hangup")]
    Hangup,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::NewCall => "newCall",
            EventKind::Answer => "answer",
            EventKind::Hangup => "hangup",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        [EventKind::NewCall, EventKind::Answer, EventKind::Hangup]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallDirection {
    In,
    Out,
}

impl CallDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            CallDirection::In => "in",
            CallDirection::Out => "out",
        }
    }

    pub fn parse(s: &str) -> Option<CallDirection> {
        match s {
            "in" => Some(CallDirection::In),
            "out" => Some(CallDirection::Out),
            _ => None,
        }
    }
}

/// Where a call stands in the caller log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// Ringing (inbound) or dialling (outbound), not answered yet.
    Ringing,
    /// Answered and still going on.
    Answered,
    /// Answered, then hung up.
    Completed,
    /// Inbound, hung up before anyone answered: to be called back.
    Missed,
    /// Inbound, hung up before an answer because the PBX forwarded it elsewhere.
    Forwarded,
    /// Outbound, hung up before the citizen answered.
    NotReached,
}

impl CallState {
    pub const ALL: [CallState; 6] = [
        CallState::Ringing,
        CallState::Answered,
        CallState::Completed,
        CallState::Missed,
        CallState::Forwarded,
        CallState::NotReached,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CallState::Ringing => "ringing",
            CallState::Answered => "answered",
            CallState::Completed => "completed",
            CallState::Missed => "missed",
            CallState::Forwarded => "forwarded",
            CallState::NotReached => "not_reached",
        }
    }

    pub fn parse(s: &str) -> Option<CallState> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One call event as received, normalised from either protocol. Stored as JSON in
/// `call_events.payload`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallEvent {
    pub event: EventKind,
    pub call_id: String,
    pub direction: CallDirection,
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub users: Vec<String>,
    #[serde(default)]
    pub queue: Option<String>,
    #[serde(default)]
    pub answering_number: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
    #[serde(default)]
    pub recording_url: Option<String>,
}

/// A number as the PBX wrote it, in E.164 when it is one (`anonymous`, extensions and empty
/// strings are not). PBXs send international numbers without `+` (`493055571600`), so digits
/// that are not an Indonesian form are tried as international.
pub fn normalise_number(raw: &str) -> Option<String> {
    let s = raw.trim();
    if s.is_empty() || !s.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    if let Ok(p) = Phone::parse(s) {
        return Some(p.as_str().to_string());
    }
    let digits_only = s.chars().all(|c| c.is_ascii_digit());
    if digits_only && !s.starts_with('0') {
        return Phone::parse(&format!("+{s}")).ok().map(|p| p.as_str().to_string());
    }
    None
}

/// The caller-log facts of one call, folded from its events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folded {
    pub direction: CallDirection,
    pub from: String,
    pub to: String,
    pub queue: Option<String>,
    pub users: Vec<String>,
    pub state: CallState,
    pub cause: Option<String>,
    pub answered_by: Option<String>,
    pub answering_number: Option<String>,
    pub initialized_at: NaiveDateTime,
    pub answered_at: Option<NaiveDateTime>,
    pub ended_at: Option<NaiveDateTime>,
    pub waiting_secs: Option<i64>,
    pub talking_secs: Option<i64>,
    pub recording_url: Option<String>,
}

/// Folds a call's events (each with the time it was received) into its caller-log facts, the
/// same whatever order they arrived in: `newCall` gives the call's parties (else the first event
/// received does); an `answer` counts only when received no later than the `hangup` (an answer
/// after the hangup is ignored); times never run backwards. `None` for no events.
pub fn fold(events: &[(CallEvent, NaiveDateTime)]) -> Option<Folded> {
    let first = events.iter().min_by_key(|(_, at)| *at)?;
    let find = |k: EventKind| events.iter().find(|(e, _)| e.event == k);
    let new_call = find(EventKind::NewCall);
    let hangup = find(EventKind::Hangup);
    let answer = find(EventKind::Answer).filter(|(_, at)| hangup.is_none_or(|(_, h)| at <= h));
    let base = new_call.unwrap_or(first);
    let initialized_at = new_call.map(|(_, at)| *at).unwrap_or(first.1);
    let answered_at = answer.map(|(_, at)| (*at).max(initialized_at));
    let ended_at = hangup.map(|(_, at)| (*at).max(answered_at.unwrap_or(initialized_at)));
    let direction = base.0.direction;
    let state = match (answered_at, hangup) {
        (None, None) => CallState::Ringing,
        (Some(_), None) => CallState::Answered,
        (Some(_), Some(_)) => CallState::Completed,
        (None, Some((h, _))) => match direction {
            CallDirection::In if h.cause.as_deref() == Some("forwarded") => CallState::Forwarded,
            CallDirection::In => CallState::Missed,
            CallDirection::Out => CallState::NotReached,
        },
    };
    let waiting_until = answered_at.or(ended_at);
    let answering = answer.or(hangup.filter(|_| answered_at.is_some()));
    let mut by_arrival: Vec<&(CallEvent, NaiveDateTime)> = events.iter().collect();
    by_arrival.sort_by_key(|(_, at)| *at);
    let recording_url = by_arrival.iter().rev().find_map(|(e, _)| e.recording_url.clone());
    Some(Folded {
        direction,
        from: base.0.from.clone(),
        to: base.0.to.clone(),
        queue: new_call.and_then(|(e, _)| e.queue.clone()),
        users: new_call.map(|(e, _)| e.users.clone()).unwrap_or_default(),
        state,
        cause: hangup.and_then(|(e, _)| e.cause.clone()),
        answered_by: answering.map(|(e, _)| e.users.join(", ")).filter(|s| !s.is_empty()),
        answering_number: answering.and_then(|(e, _)| e.answering_number.clone()),
        initialized_at,
        answered_at,
        ended_at,
        waiting_secs: waiting_until.map(|t| (t - initialized_at).num_seconds()),
        talking_secs: match (answered_at, ended_at) {
            (Some(a), Some(e)) => Some((e - a).num_seconds()),
            _ => None,
        },
        recording_url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, NaiveDate};

    fn ev(event: EventKind, direction: CallDirection) -> CallEvent {
        CallEvent {
            event,
            call_id: "c1".into(),
            direction,
            from: "6281234500001".into(),
            to: "62224200112".into(),
            users: vec![],
            queue: None,
            answering_number: None,
            cause: None,
            recording_url: None,
        }
    }

    fn t(secs: i64) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 8, 13)
            .unwrap()
            .and_hms_opt(3, 0, 0)
            .unwrap()
            + Duration::seconds(secs)
    }

    #[test]
    fn answered_call_in_any_order() {
        let mut hang = ev(EventKind::Hangup, CallDirection::In);
        hang.cause = Some("normalClearing".into());
        let mut answer = ev(EventKind::Answer, CallDirection::In);
        answer.users = vec!["Dewi Anggraini".into()];
        let events = vec![
            (ev(EventKind::NewCall, CallDirection::In), t(0)),
            (answer, t(12)),
            (hang, t(197)),
        ];
        let a = fold(&events).unwrap();
        assert_eq!(a.state, CallState::Completed);
        assert_eq!((a.waiting_secs, a.talking_secs), (Some(12), Some(185)));
        assert_eq!(a.answered_by.as_deref(), Some("Dewi Anggraini"));
        let mut reversed = events.clone();
        reversed.reverse();
        assert_eq!(fold(&reversed).unwrap(), a);
    }

    #[test]
    fn answer_after_hangup_is_ignored_and_missed_calls_are_missed() {
        let mut hang = ev(EventKind::Hangup, CallDirection::In);
        hang.cause = Some("cancel".into());
        let events = vec![
            (ev(EventKind::NewCall, CallDirection::In), t(0)),
            (hang.clone(), t(20)),
            (ev(EventKind::Answer, CallDirection::In), t(25)),
        ];
        let m = fold(&events).unwrap();
        assert_eq!(m.state, CallState::Missed);
        assert_eq!((m.waiting_secs, m.talking_secs), (Some(20), None));
        hang.cause = Some("forwarded".into());
        let f = fold(&[(ev(EventKind::NewCall, CallDirection::In), t(0)), (hang, t(5))]).unwrap();
        assert_eq!(f.state, CallState::Forwarded);
        let out = fold(&[
            (ev(EventKind::NewCall, CallDirection::Out), t(0)),
            (ev(EventKind::Hangup, CallDirection::Out), t(30)),
        ])
        .unwrap();
        assert_eq!(out.state, CallState::NotReached);
    }

    #[test]
    fn times_never_run_backwards() {
        // The hangup arrived before the newCall (reordered delivery): no negative durations.
        let events = vec![
            (ev(EventKind::Hangup, CallDirection::In), t(0)),
            (ev(EventKind::NewCall, CallDirection::In), t(3)),
        ];
        let f = fold(&events).unwrap();
        assert_eq!(f.state, CallState::Missed);
        assert_eq!(f.waiting_secs, Some(0));
        assert!(fold(&[]).is_none());
    }

    #[test]
    fn numbers_written_every_way() {
        for raw in [
            "0812-3456-7890",
            "6281234567890",
            "+62 812 3456 7890",
            "(0812) 3456.7890",
            "812 3456 7890",
        ] {
            assert_eq!(normalise_number(raw).as_deref(), Some("+6281234567890"), "{raw}");
        }
        assert_eq!(normalise_number("493055571600").as_deref(), Some("+493055571600"));
        assert_eq!(normalise_number("62224200112").as_deref(), Some("+62224200112"));
        for raw in ["anonymous", "", "201", "unknown"] {
            assert_eq!(normalise_number(raw), None, "{raw}");
        }
    }
}
