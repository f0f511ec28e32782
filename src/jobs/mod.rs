//! Durable jobs: the outbox and work queue. Jobs are rows written in the same transaction as the
//! change that caused them, claimed with a lease by any worker, retried with exponential backoff
//! and dead-lettered after `jobs.max_attempts` failures.

pub mod repo;
pub mod runner;
pub mod webhooks;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::jobs;

/// Kinds of job this build knows how to run.
pub const KIND_WEBHOOK: &str = "webhook";
pub const KIND_DELIVER_MESSAGE: &str = "deliver_message";
/// Turn one stored Instagram/WhatsApp webhook body into messages.
pub const KIND_META_EVENT: &str = "meta_event";
/// E-mail to supervisors at an SLA escalation.
pub const KIND_SLA_EMAIL: &str = "sla_email";
/// Assign one ticket to an agent of its team (see `crate::routing`).
pub const KIND_ROUTE_TICKET: &str = "route_ticket";
/// Fill a team's free room with its oldest unassigned tickets.
pub const KIND_ROUTE_TEAM: &str = "route_team";
pub const KINDS: &[&str] = &[
    KIND_WEBHOOK,
    KIND_DELIVER_MESSAGE,
    KIND_META_EVENT,
    KIND_SLA_EMAIL,
    KIND_ROUTE_TICKET,
    KIND_ROUTE_TEAM,
];

#[derive(Clone, Debug, Queryable, Selectable, Serialize)]
#[diesel(table_name = jobs)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub run_at: NaiveDateTime,
    pub attempts: i32,
    pub max_attempts: i32,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub dead_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// How a job run ended when it did not succeed.
#[derive(Debug)]
pub enum JobFailure {
    /// Try again later (network errors, 5xx, timeouts).
    Retry(String),
    /// Retrying cannot help (bad payload, 4xx that will not change); dead-letter now.
    Permanent(String),
}

impl std::fmt::Display for JobFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobFailure::Retry(m) => write!(f, "retryable: {m}"),
            JobFailure::Permanent(m) => write!(f, "permanent: {m}"),
        }
    }
}

/// Queues a job of `kind` with `payload` as its JSON, due now, in the caller's transaction (the
/// outbox), with the configured `jobs.max_attempts`. Returns the job's id.
pub fn enqueue<P: Serialize>(
    conn: &mut crate::db::DbConnection,
    settings: &crate::config::Settings,
    kind: &str,
    payload: &P,
    now: chrono::DateTime<chrono::Utc>,
) -> QueryResult<i64> {
    let payload = serde_json::to_string(payload).map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    let now = now.naive_utc();
    repo::enqueue(conn, kind, &payload, now, settings.jobs.max_attempts as i32, now)
}

/// Backoff before attempt `attempts + 1`: base · 2^(attempts-1), capped.
pub fn backoff_secs(base: u64, max: u64, attempts: i32) -> u64 {
    let exp = attempts.clamp(1, 30) as u32 - 1;
    base.saturating_mul(1u64 << exp.min(20)).min(max)
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(super::backoff_secs(5, 3600, 1), 5);
        assert_eq!(super::backoff_secs(5, 3600, 2), 10);
        assert_eq!(super::backoff_secs(5, 3600, 4), 40);
        assert_eq!(super::backoff_secs(5, 3600, 30), 3600);
    }
}
