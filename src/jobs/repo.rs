//! Job SQL. Claiming differs per backend: PostgreSQL uses `FOR UPDATE SKIP LOCKED` so several
//! workers never claim the same row; SQLite runs the claim in an immediate transaction, which
//! already excludes other writers.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::Job;
use crate::db::schema::jobs;
use crate::db::{DbConnection, write_tx};

pub fn enqueue(
    conn: &mut DbConnection,
    kind: &str,
    payload: &str,
    run_at: NaiveDateTime,
    max_attempts: i32,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    crate::dispatch!(conn, c => diesel::insert_into(jobs::table)
        .values((
            jobs::kind.eq(kind),
            jobs::payload.eq(payload),
            jobs::run_at.eq(run_at),
            jobs::attempts.eq(0),
            jobs::max_attempts.eq(max_attempts),
            jobs::created_at.eq(now),
        ))
        .returning(jobs::id)
        .get_result(c))
}

/// Claims up to `limit` due jobs for `owner` until `lease_until`, counting the attempt.
pub fn claim(
    conn: &mut DbConnection,
    owner: &str,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<Job>> {
    write_tx(conn, |conn| {
        let due = jobs::table
            .filter(jobs::dead_at.is_null())
            .filter(jobs::run_at.le(now))
            .filter(jobs::lease_expires_at.is_null().or(jobs::lease_expires_at.lt(now)))
            .order(jobs::run_at.asc())
            .limit(limit)
            .select(jobs::id);
        let ids: Vec<i64> = match conn {
            DbConnection::Postgresql(c) => due.for_update().skip_locked().load(c)?,
            DbConnection::Sqlite(c) => due.load(c)?,
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(jobs::table.filter(jobs::id.eq_any(&ids)))
            .set((
                jobs::lease_owner.eq(owner),
                jobs::lease_expires_at.eq(lease_until),
                jobs::attempts.eq(jobs::attempts + 1),
            ))
            .execute(conn)?;
        jobs::table
            .filter(jobs::id.eq_any(&ids))
            .order(jobs::run_at.asc())
            .select(Job::as_select())
            .load(conn)
    })
}

/// Done: the row goes away. Only the lease holder may complete it.
pub fn complete(conn: &mut DbConnection, id: i64, owner: &str) -> QueryResult<usize> {
    diesel::delete(jobs::table.filter(jobs::id.eq(id)).filter(jobs::lease_owner.eq(owner))).execute(conn)
}

/// Failed: schedule a retry at `retry_at`, or dead-letter when `retry_at` is `None`.
pub fn fail(
    conn: &mut DbConnection,
    id: i64,
    owner: &str,
    error: &str,
    retry_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let target = jobs::table.filter(jobs::id.eq(id)).filter(jobs::lease_owner.eq(owner));
    let error: String = error.chars().take(2000).collect();
    match retry_at {
        Some(at) => diesel::update(target)
            .set((
                jobs::run_at.eq(at),
                jobs::lease_owner.eq(None::<String>),
                jobs::lease_expires_at.eq(None::<NaiveDateTime>),
                jobs::last_error.eq(error),
            ))
            .execute(conn),
        None => diesel::update(target)
            .set((
                jobs::dead_at.eq(now),
                jobs::lease_owner.eq(None::<String>),
                jobs::lease_expires_at.eq(None::<NaiveDateTime>),
                jobs::last_error.eq(error),
            ))
            .execute(conn),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobState {
    Pending,
    Dead,
    All,
}

pub fn list(conn: &mut DbConnection, state: JobState, before_id: Option<i64>, limit: i64) -> QueryResult<Vec<Job>> {
    let mut q = jobs::table.select(Job::as_select()).into_boxed();
    match state {
        JobState::Pending => q = q.filter(jobs::dead_at.is_null()),
        JobState::Dead => q = q.filter(jobs::dead_at.is_not_null()),
        JobState::All => {}
    }
    if let Some(b) = before_id {
        q = q.filter(jobs::id.lt(b));
    }
    q.order(jobs::id.desc()).limit(limit).load(conn)
}

pub fn get(conn: &mut DbConnection, id: i64) -> QueryResult<Job> {
    jobs::table.find(id).select(Job::as_select()).first(conn)
}

/// Puts a dead job back in the queue with a fresh attempt budget.
pub fn retry(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(jobs::table.filter(jobs::id.eq(id)).filter(jobs::dead_at.is_not_null()))
        .set((
            jobs::dead_at.eq(None::<NaiveDateTime>),
            jobs::attempts.eq(0),
            jobs::run_at.eq(now),
            jobs::lease_owner.eq(None::<String>),
            jobs::lease_expires_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
}

pub fn count_pending(conn: &mut DbConnection) -> QueryResult<i64> {
    jobs::table.filter(jobs::dead_at.is_null()).count().get_result(conn)
}
