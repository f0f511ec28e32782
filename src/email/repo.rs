//! E-mail channel SQL: Message-IDs per ticket, originals, outbound mail state, participants,
//! acknowledgement log, ignored mail and IMAP cursors.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{
    email_acks, email_ignored, email_imap_state, email_message_ids, email_outbound, email_participants, email_raw,
};

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = email_message_ids)]
pub struct KnownId {
    pub id: i64,
    pub rfc_id: String,
    pub ticket_id: i64,
    pub message_id: Option<i64>,
    pub direction: String,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = email_outbound)]
pub struct Outbound {
    pub message_id: i64,
    pub kind: String,
    pub to_address: String,
    pub rfc_id: String,
    pub last_error: Option<String>,
    pub sent_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

pub fn find_id(conn: &mut DbConnection, rfc_id: &str) -> QueryResult<Option<KnownId>> {
    email_message_ids::table
        .filter(email_message_ids::rfc_id.eq(rfc_id))
        .select(KnownId::as_select())
        .first(conn)
        .optional()
}

pub fn insert_id(
    conn: &mut DbConnection,
    rfc_id: &str,
    ticket_id: i64,
    message_id: Option<i64>,
    direction: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(email_message_ids::table)
        .values((
            email_message_ids::rfc_id.eq(rfc_id),
            email_message_ids::ticket_id.eq(ticket_id),
            email_message_ids::message_id.eq(message_id),
            email_message_ids::direction.eq(direction),
            email_message_ids::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The ticket's known Message-IDs, oldest first (for References).
pub fn ids_of_ticket(conn: &mut DbConnection, ticket_id: i64) -> QueryResult<Vec<KnownId>> {
    email_message_ids::table
        .filter(email_message_ids::ticket_id.eq(ticket_id))
        .order(email_message_ids::id.asc())
        .select(KnownId::as_select())
        .load(conn)
}

pub fn insert_raw(
    conn: &mut DbConnection,
    message_id: i64,
    raw: &[u8],
    size: i64,
    truncated: bool,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(email_raw::table)
        .values((
            email_raw::message_id.eq(message_id),
            email_raw::raw.eq(raw),
            email_raw::size_bytes.eq(size),
            email_raw::truncated.eq(truncated),
            email_raw::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The stored original of a message: bytes and whether it was cut to its headers.
pub fn get_raw(conn: &mut DbConnection, message_id: i64) -> QueryResult<Option<(Vec<u8>, bool)>> {
    email_raw::table
        .find(message_id)
        .select((email_raw::raw, email_raw::truncated))
        .first(conn)
        .optional()
}

pub fn insert_outbound(
    conn: &mut DbConnection,
    message_id: i64,
    kind: &str,
    to: &str,
    rfc_id: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(email_outbound::table)
        .values((
            email_outbound::message_id.eq(message_id),
            email_outbound::kind.eq(kind),
            email_outbound::to_address.eq(to),
            email_outbound::rfc_id.eq(rfc_id),
            email_outbound::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn get_outbound(conn: &mut DbConnection, message_id: i64) -> QueryResult<Option<Outbound>> {
    email_outbound::table
        .find(message_id)
        .select(Outbound::as_select())
        .first(conn)
        .optional()
}

pub fn find_outbound_by_rfc_id(conn: &mut DbConnection, rfc_id: &str) -> QueryResult<Option<Outbound>> {
    email_outbound::table
        .filter(email_outbound::rfc_id.eq(rfc_id))
        .select(Outbound::as_select())
        .first(conn)
        .optional()
}

pub fn mark_sent(conn: &mut DbConnection, message_id: i64, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(email_outbound::table.find(message_id))
        .set((
            email_outbound::sent_at.eq(at),
            email_outbound::last_error.eq(None::<String>),
        ))
        .execute(conn)
}

pub fn set_error(conn: &mut DbConnection, message_id: i64, error: &str) -> QueryResult<usize> {
    let error: String = error.chars().take(2000).collect();
    diesel::update(email_outbound::table.find(message_id))
        .set(email_outbound::last_error.eq(error))
        .execute(conn)
}

pub fn add_participant(conn: &mut DbConnection, ticket_id: i64, address: &str) -> QueryResult<()> {
    crate::dispatch!(conn, c => diesel::insert_into(email_participants::table)
        .values((email_participants::ticket_id.eq(ticket_id), email_participants::address.eq(address)))
        .on_conflict_do_nothing()
        .execute(c)
        .map(|_| ()))
}

pub fn is_participant(conn: &mut DbConnection, ticket_id: i64, address: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        email_participants::table
            .filter(email_participants::ticket_id.eq(ticket_id))
            .filter(email_participants::address.eq(address)),
    ))
    .get_result(conn)
}

pub fn acks_since(conn: &mut DbConnection, address: &str, since: NaiveDateTime) -> QueryResult<i64> {
    email_acks::table
        .filter(email_acks::address.eq(address))
        .filter(email_acks::created_at.gt(since))
        .count()
        .get_result(conn)
}

pub fn insert_ack(conn: &mut DbConnection, address: &str, ticket_id: i64, now: NaiveDateTime) -> QueryResult<()> {
    diesel::insert_into(email_acks::table)
        .values((
            email_acks::address.eq(address),
            email_acks::ticket_id.eq(ticket_id),
            email_acks::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn is_ignored(conn: &mut DbConnection, rfc_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        email_ignored::table.filter(email_ignored::rfc_id.eq(rfc_id)),
    ))
    .get_result(conn)
}

pub fn insert_ignored(
    conn: &mut DbConnection,
    rfc_id: &str,
    reason: &str,
    sender: &str,
    subject: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let subject: String = subject.chars().take(300).collect();
    let reason: String = reason.chars().take(300).collect();
    diesel::insert_into(email_ignored::table)
        .values((
            email_ignored::rfc_id.eq(rfc_id),
            email_ignored::reason.eq(reason),
            email_ignored::sender.eq(sender),
            email_ignored::subject.eq(subject),
            email_ignored::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The IMAP cursor of a mailbox: (UIDVALIDITY, last imported UID).
pub fn imap_cursor(conn: &mut DbConnection, mailbox: &str) -> QueryResult<Option<(i64, i64)>> {
    email_imap_state::table
        .find(mailbox)
        .select((email_imap_state::uid_validity, email_imap_state::last_uid))
        .first(conn)
        .optional()
}

pub fn set_imap_cursor(
    conn: &mut DbConnection,
    mailbox: &str,
    uid_validity: i64,
    last_uid: i64,
    now: NaiveDateTime,
) -> QueryResult<()> {
    crate::dispatch!(conn, c => diesel::insert_into(email_imap_state::table)
        .values((
            email_imap_state::mailbox.eq(mailbox),
            email_imap_state::uid_validity.eq(uid_validity),
            email_imap_state::last_uid.eq(last_uid),
            email_imap_state::updated_at.eq(now),
        ))
        .on_conflict(email_imap_state::mailbox)
        .do_update()
        .set((
            email_imap_state::uid_validity.eq(uid_validity),
            email_imap_state::last_uid.eq(last_uid),
            email_imap_state::updated_at.eq(now),
        ))
        .execute(c)
        .map(|_| ()))
}
