//! The citizen's view of a ticket, found by number and secret access token — no account. It holds
//! the status and a timeline of the public conversation and status changes; never internal
//! notes, agent identities or the citizen's contact details. A wrong token and an unknown number
//! are the same `NotFound`. Both the JSON endpoint and the HTML status page use [`find`].

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

use super::numbering::{hash_access_token, looks_like_number};
use super::repo;
use super::status::Status;
use crate::clock::utc;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PublicTicket {
    pub number: String,
    pub subject: String,
    pub status: String,
    pub channel: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Oldest first.
    pub timeline: Vec<TimelineEntry>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    Citizen,
    Agent,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TimelineEntry {
    Message {
        from: Party,
        text: String,
        at: DateTime<Utc>,
    },
    Status {
        status: Option<Status>,
        at: DateTime<Utc>,
    },
}

/// Event kinds that show the citizen a status change.
const STATUS_EVENTS: &[&str] = &["status_changed", "reopened", "auto_closed"];

/// A cheap check before any lookup: something shaped like a number, and a token of sane length.
pub fn plausible(number: &str, token: &str) -> bool {
    looks_like_number(number) && !token.trim().is_empty() && token.len() <= 64
}

/// The ticket `number` if `token` is its access token (as typed: case, spaces and dashes do not
/// matter); otherwise `NotFound`, whichever of the two was wrong.
pub fn find(conn: &mut DbConnection, number: &str, token: &str) -> AppResult<PublicTicket> {
    if !plausible(number, token) {
        return Err(AppError::NotFound);
    }
    let given = hash_access_token(token);
    let Some(t) = repo::find_by_number(conn, number)? else {
        return Err(AppError::NotFound);
    };
    if !crate::auth::constant_time_eq(t.access_token_hash.as_bytes(), given.as_bytes()) {
        return Err(AppError::NotFound);
    }
    let mut timeline: Vec<(NaiveDateTime, TimelineEntry)> = Vec::new();
    for m in repo::messages_of(conn, t.id)?
        .into_iter()
        .filter(|m| m.direction != "note")
    {
        let from = if m.direction == "inbound" {
            Party::Citizen
        } else {
            Party::Agent
        };
        let entry = TimelineEntry::Message {
            from,
            text: m.body_text,
            at: utc(m.created_at),
        };
        timeline.push((m.created_at, entry));
    }
    for e in repo::events_of(conn, t.id)?
        .into_iter()
        .filter(|e| STATUS_EVENTS.contains(&e.kind.as_str()))
    {
        let status = e
            .after_value
            .as_deref()
            .and_then(|v| serde_json::from_str::<Status>(v).ok());
        timeline.push((
            e.created_at,
            TimelineEntry::Status {
                status,
                at: utc(e.created_at),
            },
        ));
    }
    // Stable: a message and a status change at the same instant keep message-first order.
    timeline.sort_by_key(|(at, _)| *at);
    Ok(PublicTicket {
        number: t.number,
        subject: t.subject,
        status: t.status,
        channel: t.channel,
        created_at: utc(t.created_at),
        updated_at: utc(t.updated_at),
        timeline: timeline.into_iter().map(|(_, entry)| entry).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implausible_lookups_are_refused_before_the_database() {
        assert!(plausible("2611300017", "ABCDEFGHJKMNPQRS"));
        assert!(!plausible("26113", "ABCDEFGHJKMNPQRS"));
        assert!(!plausible("2611300017", "  "));
        assert!(!plausible("2611300017", &"A".repeat(65)));
    }

    #[test]
    fn timeline_json_shape() {
        let at = utc(chrono::NaiveDate::from_ymd_opt(2026, 11, 30)
            .and_then(|d| d.and_hms_opt(8, 0, 0))
            .unwrap());
        let msg = TimelineEntry::Message {
            from: Party::Citizen,
            text: "Jalan berlubang".into(),
            at,
        };
        let v = serde_json::to_value(&msg).unwrap();
        assert_eq!(v["type"], "message");
        assert_eq!(v["from"], "citizen");
        let st = TimelineEntry::Status {
            status: Some(Status::OnHold),
            at,
        };
        let v = serde_json::to_value(&st).unwrap();
        assert_eq!(
            (v["type"].as_str(), v["status"].as_str()),
            (Some("status"), Some("on_hold"))
        );
    }

    #[test]
    fn constant_time_compare() {
        use crate::auth::constant_time_eq;
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
