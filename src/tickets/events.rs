//! Audit events written at the end of the write that records them, all in one multi-row INSERT.
//!
//! A ticket change typically records two or three events (created, SLA policy applied, message
//! added); each was a round trip of its own, which on PostgreSQL is most of what a write costs.
//! Inside a [`Deferred`] scope [`record`] only keeps the event; the scope's owner inserts them
//! together with [`Deferred::flush`], in the same transaction, before it commits. The group-commit
//! writer opens one scope for a whole PostgreSQL batch, so a batch of N ticket creations writes
//! its 2N events in one statement. Events keep the order they were recorded in (ids ascend in
//! that order), and reading a ticket's events ([`super::repo::events_of`]) first flushes what is
//! pending, so a write sees its own events.
//!
//! The scope is per thread: a write runs synchronously on one thread (a writer thread or a
//! blocking-pool thread) from the start of its transaction to its commit. Dropping a scope
//! without flushing discards what it kept: that is what a rollback needs.

use std::cell::RefCell;

use diesel::prelude::*;

use super::model::NewEvent;
use crate::db::DbConnection;
use crate::db::schema::ticket_events;
use crate::db::scope::{self, WriteScope};

thread_local! {
    static PENDING: RefCell<Option<Vec<NewEvent>>> = const { RefCell::new(None) };
}

/// A scope in which events are kept until flushed. Only the outermost scope on a thread owns
/// the events; an inner one joins it (its flush does nothing).
#[must_use = "events kept in a scope are discarded unless it is flushed"]
pub struct Deferred(WriteScope<Vec<NewEvent>>);

impl Deferred {
    pub fn open() -> Deferred {
        Deferred(WriteScope::open(&PENDING))
    }

    /// Inserts the events kept so far (if this scope owns them), on the connection whose
    /// transaction recorded them. The scope stays open.
    pub fn flush(&self, conn: &mut DbConnection) -> QueryResult<()> {
        if self.0.owner() { flush_pending(conn) } else { Ok(()) }
    }
}

/// Records an event: kept when a scope is open on this thread, inserted at once otherwise.
pub fn record(conn: &mut DbConnection, event: NewEvent) -> QueryResult<()> {
    let event = scope::with(&PENDING, |pending| match pending {
        Some(pending) => {
            pending.push(event);
            None
        }
        None => Some(event),
    });
    match event {
        Some(e) => insert(conn, std::slice::from_ref(&e)),
        None => Ok(()),
    }
}

/// Inserts whatever events are pending on this thread (whoever owns the scope).
pub fn flush_pending(conn: &mut DbConnection) -> QueryResult<()> {
    let events = scope::with(&PENDING, |p| p.map(std::mem::take).unwrap_or_default());
    insert(conn, &events)
}

fn insert(conn: &mut DbConnection, events: &[NewEvent]) -> QueryResult<()> {
    match conn {
        DbConnection::Postgresql(c) => {
            if !events.is_empty() {
                EventColumns::of(events).execute(c)?;
            }
        }
        // SQLite runs in process, so a statement costs no round trip; diesel does not build
        // multi-row inserts for it.
        DbConnection::Sqlite(c) => {
            for e in events {
                diesel::insert_into(ticket_events::table).values(e).execute(c)?;
            }
        }
    }
    Ok(())
}

/// PostgreSQL: any number of events in one statement whose text never changes, one array per
/// column (`INSERT … SELECT … FROM unnest($1, …, $7) WITH ORDINALITY ORDER BY ordinality`), so it
/// is parsed and planned once per connection. A multi-row `VALUES` list is a different statement
/// for every row count, parsed and planned again each time, once per batch. The ordinality keeps
/// the ids ascending in the order the events were recorded.
struct EventColumns<'a> {
    ticket_id: Vec<i64>,
    actor_kind: Vec<&'a str>,
    actor_id: Vec<Option<i64>>,
    kind: Vec<&'a str>,
    before_value: Vec<Option<&'a str>>,
    after_value: Vec<Option<&'a str>>,
    created_at: Vec<chrono::NaiveDateTime>,
}

impl<'a> EventColumns<'a> {
    fn of(events: &'a [NewEvent]) -> EventColumns<'a> {
        let mut c = EventColumns {
            ticket_id: Vec::with_capacity(events.len()),
            actor_kind: Vec::with_capacity(events.len()),
            actor_id: Vec::with_capacity(events.len()),
            kind: Vec::with_capacity(events.len()),
            before_value: Vec::with_capacity(events.len()),
            after_value: Vec::with_capacity(events.len()),
            created_at: Vec::with_capacity(events.len()),
        };
        // Exhaustive, so a field added to `NewEvent` stops the build here until it is written.
        for NewEvent {
            ticket_id,
            actor_kind,
            actor_id,
            kind,
            before_value,
            after_value,
            created_at,
        } in events
        {
            c.ticket_id.push(*ticket_id);
            c.actor_kind.push(actor_kind);
            c.actor_id.push(*actor_id);
            c.kind.push(kind);
            c.before_value.push(before_value.as_deref());
            c.after_value.push(after_value.as_deref());
            c.created_at.push(*created_at);
        }
        c
    }
}

impl diesel::query_builder::QueryId for EventColumns<'_> {
    type QueryId = EventColumns<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for EventColumns<'_> {
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamp};
        out.push_sql(
            "INSERT INTO ticket_events (ticket_id, actor_kind, actor_id, kind, before_value, after_value, \
             created_at) SELECT ticket_id, actor_kind, actor_id, kind, before_value, after_value, created_at \
             FROM unnest(",
        );
        out.push_bind_param::<Array<BigInt>, _>(&self.ticket_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.actor_kind)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<BigInt>>, _>(&self.actor_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.kind)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.before_value)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.after_value)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Timestamp>, _>(&self.created_at)?;
        out.push_sql(
            ") WITH ORDINALITY AS e(ticket_id, actor_kind, actor_id, kind, before_value, after_value, \
             created_at, n) ORDER BY n",
        );
        Ok(())
    }
}

impl diesel::RunQueryDsl<diesel::PgConnection> for EventColumns<'_> {}
