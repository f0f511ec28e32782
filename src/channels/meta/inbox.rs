//! The webhook inbox: each signed body is stored as received, with a `meta_event` job, in the
//! transaction that answers Meta; the job parses it and applies its events. A body that cannot be
//! understood stays `failed` with the reason, for admins to inspect and reprocess.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::DbConnection;
use crate::db::schema::inbound_events;

pub const STATE_PENDING: &str = "pending";
pub const STATE_PROCESSED: &str = "processed";
pub const STATE_FAILED: &str = "failed";

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = inbound_events)]
pub struct InboundEvent {
    pub id: i64,
    pub source: String,
    pub payload: Vec<u8>,
    pub received_at: NaiveDateTime,
    pub state: String,
    pub outcome: Option<String>,
    pub processed_at: Option<NaiveDateTime>,
}

/// The `meta_event` job's payload.
#[derive(Debug, Serialize, Deserialize)]
pub struct ProcessEvent {
    pub event_id: i64,
}

pub fn insert(conn: &mut DbConnection, source: &str, payload: &[u8], at: NaiveDateTime) -> QueryResult<i64> {
    crate::dispatch!(conn, c => diesel::insert_into(inbound_events::table)
        .values((
            inbound_events::source.eq(source),
            inbound_events::payload.eq(payload),
            inbound_events::received_at.eq(at),
            inbound_events::state.eq(STATE_PENDING),
        ))
        .returning(inbound_events::id)
        .get_result(c))
}

/// Queues the `meta_event` job that processes stored event `id`.
pub fn enqueue_processing(
    conn: &mut DbConnection,
    settings: &crate::config::Settings,
    id: i64,
    now: NaiveDateTime,
) -> Result<(), crate::error::AppError> {
    let job = ProcessEvent { event_id: id };
    crate::jobs::enqueue(conn, settings, crate::jobs::KIND_META_EVENT, &job, now.and_utc())?;
    Ok(())
}

pub fn get(conn: &mut DbConnection, id: i64) -> QueryResult<InboundEvent> {
    inbound_events::table
        .find(id)
        .select(InboundEvent::as_select())
        .first(conn)
}

pub fn finish(conn: &mut DbConnection, id: i64, state: &str, outcome: &str, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(inbound_events::table.find(id))
        .set((
            inbound_events::state.eq(state),
            inbound_events::outcome.eq(outcome),
            inbound_events::processed_at.eq(at),
        ))
        .execute(conn)
}

/// Records progress on an event that stays pending (some of it waits for other events).
pub fn note(conn: &mut DbConnection, id: i64, outcome: &str) -> QueryResult<usize> {
    diesel::update(inbound_events::table.find(id))
        .set(inbound_events::outcome.eq(outcome))
        .execute(conn)
}

pub fn reset(conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
    diesel::update(inbound_events::table.find(id))
        .set((
            inbound_events::state.eq(STATE_PENDING),
            inbound_events::processed_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
}

/// Newest first, optionally of one state, keyset-paged by id.
pub fn list(
    conn: &mut DbConnection,
    state: Option<&str>,
    source: Option<&str>,
    before_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<InboundEvent>> {
    let mut q = inbound_events::table.select(InboundEvent::as_select()).into_boxed();
    if let Some(s) = state {
        q = q.filter(inbound_events::state.eq(s.to_string()));
    }
    if let Some(s) = source {
        q = q.filter(inbound_events::source.eq(s.to_string()));
    }
    if let Some(b) = before_id {
        q = q.filter(inbound_events::id.lt(b));
    }
    q.order(inbound_events::id.desc()).limit(limit).load(conn)
}
