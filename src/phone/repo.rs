//! Call, call-event and blocked-number SQL.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::contacts::Contact;
use crate::db::DbConnection;
use crate::db::schema::{blocked_numbers, call_events, calls, contact_identities as ci, contacts, tickets};
use crate::tickets::model::Ticket;

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, AsChangeset)]
#[diesel(table_name = calls, treat_none_as_null = true)]
pub struct Call {
    pub id: i64,
    pub call_id: String,
    pub source: String,
    pub direction: String,
    pub from_raw: String,
    pub to_raw: String,
    pub from_number: Option<String>,
    pub to_number: Option<String>,
    pub remote_number: Option<String>,
    pub queue: Option<String>,
    pub users: String,
    pub state: String,
    pub cause: Option<String>,
    pub answered_by: Option<String>,
    pub answering_number: Option<String>,
    pub blocked: bool,
    pub initialized_at: NaiveDateTime,
    pub answered_at: Option<NaiveDateTime>,
    pub ended_at: Option<NaiveDateTime>,
    pub waiting_secs: Option<i64>,
    pub talking_secs: Option<i64>,
    pub contact_id: Option<i64>,
    pub ticket_id: Option<i64>,
    pub recording_url: Option<String>,
    pub callback_due_at: Option<NaiveDateTime>,
    pub callback_done_at: Option<NaiveDateTime>,
    pub callback_done_by: Option<i64>,
    pub callback_resolution: Option<String>,
    pub callback_call_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The first sight of a call: enough to hold its row until the events are folded into it.
#[derive(Debug, Insertable)]
#[diesel(table_name = calls)]
pub struct NewCall<'a> {
    pub call_id: &'a str,
    pub source: &'a str,
    pub direction: &'a str,
    pub from_raw: &'a str,
    pub to_raw: &'a str,
    pub state: &'a str,
    pub initialized_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = call_events)]
pub struct StoredEvent {
    pub id: i64,
    pub call_id: String,
    pub event: String,
    pub payload: String,
    pub received_at: NaiveDateTime,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = blocked_numbers)]
pub struct BlockedNumber {
    pub id: i64,
    pub number: String,
    pub reason: String,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
}

/// Inserts the call's row unless it exists (a racing insert waits for the other and does nothing).
pub fn insert_call_if_absent(conn: &mut DbConnection, c: &NewCall) -> QueryResult<()> {
    crate::dispatch!(conn, c2 => diesel::insert_into(calls::table)
        .values(c)
        .on_conflict_do_nothing()
        .execute(c2))
    .map(|_| ())
}

/// The call by its PBX id, locked for this transaction on PostgreSQL (SQLite's immediate
/// transaction already excludes other writers).
pub fn lock_by_call_id(conn: &mut DbConnection, call_id: &str) -> QueryResult<Call> {
    let id = calls::table
        .filter(calls::call_id.eq(call_id))
        .select(calls::id)
        .first::<i64>(conn)?;
    lock(conn, id)
}

/// The call by row id, locked as [`lock_by_call_id`].
pub fn lock(conn: &mut DbConnection, id: i64) -> QueryResult<Call> {
    match conn {
        DbConnection::Postgresql(c) => calls::table.find(id).select(Call::as_select()).for_update().first(c),
        DbConnection::Sqlite(c) => calls::table.find(id).select(Call::as_select()).first(c),
    }
}

pub fn get(conn: &mut DbConnection, id: i64) -> QueryResult<Call> {
    calls::table.find(id).select(Call::as_select()).first(conn)
}

pub fn get_many(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<Call>> {
    calls::table
        .filter(calls::id.eq_any(ids))
        .order(calls::id.desc())
        .select(Call::as_select())
        .load(conn)
}

pub fn save(conn: &mut DbConnection, c: &Call) -> QueryResult<()> {
    diesel::update(calls::table.find(c.id)).set(c).execute(conn).map(|_| ())
}

/// Appends an event; `false` when this `(call id, event)` was already stored.
pub fn insert_event(
    conn: &mut DbConnection,
    call_id: &str,
    event: &str,
    payload: &str,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let n = crate::dispatch!(conn, c => diesel::insert_into(call_events::table)
        .values((
            call_events::call_id.eq(call_id),
            call_events::event.eq(event),
            call_events::payload.eq(payload),
            call_events::received_at.eq(at),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(n == 1)
}

pub fn events_of(conn: &mut DbConnection, call_id: &str) -> QueryResult<Vec<StoredEvent>> {
    call_events::table
        .filter(call_events::call_id.eq(call_id))
        .order(call_events::id.asc())
        .select(StoredEvent::as_select())
        .load(conn)
}

/// Filters for the caller log.
#[derive(Debug, Default, Clone)]
pub struct CallFilter {
    pub states: Vec<String>,
    pub direction: Option<String>,
    /// E.164; matches either party.
    pub number: Option<String>,
    pub before_id: Option<i64>,
    pub limit: i64,
}

pub fn list(conn: &mut DbConnection, f: &CallFilter) -> QueryResult<Vec<Call>> {
    let mut q = calls::table.select(Call::as_select()).into_boxed();
    if !f.states.is_empty() {
        q = q.filter(calls::state.eq_any(f.states.clone()));
    }
    if let Some(d) = &f.direction {
        q = q.filter(calls::direction.eq(d.clone()));
    }
    if let Some(n) = &f.number {
        q = q.filter(
            calls::remote_number
                .eq(n.clone())
                .or(calls::from_number.eq(n.clone()))
                .or(calls::to_number.eq(n.clone())),
        );
    }
    if let Some(before) = f.before_id {
        q = q.filter(calls::id.lt(before));
    }
    q.order(calls::id.desc()).limit(f.limit).load(conn)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallbackState {
    Open,
    Done,
    All,
}

/// Callback items. Open ones most urgent first (due time, then id; the cursor is the last id);
/// done and all newest first.
pub fn callbacks(
    conn: &mut DbConnection,
    state: CallbackState,
    cursor: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<Call>> {
    let mut q = calls::table
        .filter(calls::callback_due_at.is_not_null())
        .select(Call::as_select())
        .into_boxed();
    match state {
        CallbackState::Open => {
            q = q.filter(calls::callback_done_at.is_null());
            if let Some(after) = cursor {
                let due: Option<NaiveDateTime> = calls::table
                    .find(after)
                    .select(calls::callback_due_at)
                    .first(conn)
                    .optional()?
                    .flatten();
                if let Some(due) = due {
                    q = q.filter(
                        calls::callback_due_at
                            .gt(due)
                            .or(calls::callback_due_at.eq(due).and(calls::id.gt(after))),
                    );
                }
            }
            q.order((calls::callback_due_at.asc(), calls::id.asc()))
                .limit(limit)
                .load(conn)
        }
        CallbackState::Done | CallbackState::All => {
            if state == CallbackState::Done {
                q = q.filter(calls::callback_done_at.is_not_null());
            }
            if let Some(before) = cursor {
                q = q.filter(calls::id.lt(before));
            }
            q.order(calls::id.desc()).limit(limit).load(conn)
        }
    }
}

/// Open callbacks for `number` from calls that began no later than `until`, except `except`,
/// locked (PostgreSQL) so that an event of that call being folded at the same time is not lost.
pub fn open_callbacks_for(
    conn: &mut DbConnection,
    number: &str,
    until: NaiveDateTime,
    except: i64,
) -> QueryResult<Vec<Call>> {
    macro_rules! open_for {
        () => {
            calls::table
                .filter(calls::remote_number.eq(number))
                .filter(calls::callback_due_at.is_not_null())
                .filter(calls::callback_done_at.is_null())
                .filter(calls::initialized_at.le(until))
                .filter(calls::id.ne(except))
                .order(calls::id.asc())
                .select(Call::as_select())
        };
    }
    match conn {
        DbConnection::Postgresql(c) => open_for!().for_update().load(c),
        DbConnection::Sqlite(c) => open_for!().load(c),
    }
}

/// The first answered call with `number` that began at or after `since`, except `except`.
pub fn answered_since(
    conn: &mut DbConnection,
    number: &str,
    since: NaiveDateTime,
    except: i64,
) -> QueryResult<Option<Call>> {
    calls::table
        .filter(calls::remote_number.eq(number))
        .filter(calls::answered_at.is_not_null())
        .filter(calls::initialized_at.ge(since))
        .filter(calls::id.ne(except))
        .order(calls::initialized_at.asc())
        .select(Call::as_select())
        .first(conn)
        .optional()
}

/// The contact who owns `number` as a phone identity, else as a WhatsApp one.
pub fn contact_by_number(conn: &mut DbConnection, number: &str) -> QueryResult<Option<Contact>> {
    Ok(contacts_by_numbers(conn, &[number.to_string()])?
        .into_iter()
        .next()
        .map(|(_, c)| c))
}

/// The owners of `numbers` (phone identities before WhatsApp ones), as `(number, contact)`.
pub fn contacts_by_numbers(conn: &mut DbConnection, numbers: &[String]) -> QueryResult<Vec<(String, Contact)>> {
    contacts::table
        .inner_join(ci::table)
        .filter(ci::kind.eq_any(["phone", "whatsapp"]))
        .filter(ci::value.eq_any(numbers))
        .order((ci::kind.asc(), ci::id.asc()))
        .select((ci::value, Contact::as_select()))
        .load(conn)
}

pub fn contacts_by_ids(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<Contact>> {
    contacts::table
        .filter(contacts::id.eq_any(ids))
        .select(Contact::as_select())
        .load(conn)
}

pub fn tickets_by_ids(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<Ticket>> {
    tickets::table
        .filter(tickets::id.eq_any(ids))
        .select(Ticket::as_select())
        .load(conn)
}

/// The contacts' tickets that still need work (not resolved or closed), newest first.
pub fn open_tickets_of(conn: &mut DbConnection, contact_ids: &[i64]) -> QueryResult<Vec<Ticket>> {
    tickets::table
        .filter(tickets::contact_id.eq_any(contact_ids))
        .filter(tickets::status.ne_all(["resolved", "closed"]))
        .order(tickets::id.desc())
        .select(Ticket::as_select())
        .load(conn)
}

pub fn is_blocked(conn: &mut DbConnection, number: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        blocked_numbers::table.filter(blocked_numbers::number.eq(number)),
    ))
    .get_result(conn)
}

pub fn list_blocked(conn: &mut DbConnection) -> QueryResult<Vec<BlockedNumber>> {
    blocked_numbers::table
        .order(blocked_numbers::number.asc())
        .select(BlockedNumber::as_select())
        .load(conn)
}

pub fn insert_blocked(
    conn: &mut DbConnection,
    number: &str,
    reason: &str,
    by: i64,
    now: NaiveDateTime,
) -> QueryResult<BlockedNumber> {
    crate::dispatch!(conn, c => diesel::insert_into(blocked_numbers::table)
        .values((
            blocked_numbers::number.eq(number),
            blocked_numbers::reason.eq(reason),
            blocked_numbers::created_by.eq(by),
            blocked_numbers::created_at.eq(now),
        ))
        .returning(BlockedNumber::as_returning())
        .get_result(c))
}

/// Changes why a number is blocked; `NotFound` when there is none with that id.
pub fn set_blocked_reason(conn: &mut DbConnection, id: i64, reason: &str) -> QueryResult<BlockedNumber> {
    diesel::update(blocked_numbers::table.find(id))
        .set(blocked_numbers::reason.eq(reason))
        .execute(conn)?;
    blocked_numbers::table
        .find(id)
        .select(BlockedNumber::as_select())
        .first(conn)
}

/// Removes a blocked number; `false` when there was none with that id.
pub fn delete_blocked(conn: &mut DbConnection, id: i64) -> QueryResult<bool> {
    Ok(diesel::delete(blocked_numbers::table.find(id)).execute(conn)? == 1)
}
