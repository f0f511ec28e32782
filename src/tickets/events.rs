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
        // One statement for all of them: 7 bound parameters a row, chunked well under
        // PostgreSQL's limit of 65,535.
        DbConnection::Postgresql(c) => {
            for chunk in events.chunks(1000) {
                diesel::insert_into(ticket_events::table).values(chunk).execute(c)?;
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
