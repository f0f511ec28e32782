//! Ticket, message, attachment and event SQL.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::*;
use crate::db::schema::{attachments, messages, ticket_events, ticket_tags, tickets};
use crate::db::{DbConnection, lower};

pub fn insert_ticket(conn: &mut DbConnection, t: &NewTicket) -> QueryResult<Ticket> {
    let insert = diesel::insert_into(tickets::table).values(t);
    match conn {
        DbConnection::Postgresql(c) => insert.returning(Ticket::as_returning()).get_result(c),
        // See `sqlite_insert_id`: every column is written, so the row is what was inserted.
        DbConnection::Sqlite(c) => Ok(t.inserted(crate::db::sqlite_insert_id(c, insert)?)),
    }
}

/// Inserts a new ticket and its first message; `message` builds the message for the ticket's id.
/// On PostgreSQL both go in one statement ([`TicketWithMessage`]), one round trip instead of two;
/// SQLite runs the two inserts (no data-modifying `WITH` there, and no round trips to save).
pub fn insert_ticket_with_message<'m>(
    conn: &mut DbConnection,
    t: &NewTicket,
    message: impl FnOnce(i64) -> NewMessage<'m>,
) -> QueryResult<(Ticket, Message)> {
    match conn {
        DbConnection::Postgresql(c) => {
            // The statement takes the message's ticket id from the ticket's insert, so the one
            // built here is never bound; the row returned carries the real one.
            let m = message(0);
            let (ticket_id, message_id) = TicketWithMessage {
                ticket: diesel::insert_into(tickets::table).values(t).returning(tickets::id),
                message: &m,
            }
            .get_result::<(i64, i64)>(c)?;
            let message = Message {
                ticket_id,
                ..m.inserted(message_id)
            };
            Ok((t.inserted(ticket_id), message))
        }
        DbConnection::Sqlite(_) => {
            let ticket = insert_ticket(conn, t)?;
            let message = insert_message(conn, &message(ticket.id))?;
            Ok((ticket, message))
        }
    }
}

/// `WITH t AS (INSERT INTO tickets … RETURNING id), m AS (INSERT INTO messages … SELECT t.id, …
/// FROM t RETURNING id) SELECT t.id, m.id`. The ticket's insert is diesel's own; the message's
/// columns are written out here, every field of [`NewMessage`] but its ticket id (the exhaustive
/// destructuring below stops the build when a field is added and not written). Its SQL never
/// changes, so it is prepared once per connection.
struct TicketWithMessage<'a, T> {
    ticket: T,
    message: &'a NewMessage<'a>,
}

impl<T> diesel::query_builder::QueryId for TicketWithMessage<'_, T> {
    type QueryId = TicketWithMessage<'static, ()>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<T: diesel::query_builder::QueryFragment<diesel::pg::Pg>> diesel::query_builder::QueryFragment<diesel::pg::Pg>
    for TicketWithMessage<'_, T>
{
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
        let NewMessage {
            ticket_id: _,
            direction,
            channel,
            author_user_id,
            author_contact_id,
            body_text,
            body_html,
            external_id,
            delivery_state,
            created_at,
            metadata,
        } = self.message;
        out.push_sql("WITH t AS (");
        self.ticket.walk_ast(out.reborrow())?;
        out.push_sql(
            "), m AS (INSERT INTO messages (ticket_id, direction, channel, author_user_id, \
             author_contact_id, body_text, body_html, external_id, delivery_state, created_at, metadata) \
             SELECT t.id, ",
        );
        out.push_bind_param::<Text, _>(direction)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(channel)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<BigInt>, _>(author_user_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<BigInt>, _>(author_contact_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(body_text)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(body_html)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(external_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(delivery_state)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(created_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(metadata)?;
        out.push_sql(" FROM t RETURNING id) SELECT t.id, m.id FROM t, m");
        Ok(())
    }
}

impl<T> diesel::query_builder::Query for TicketWithMessage<'_, T> {
    type SqlType = (diesel::sql_types::BigInt, diesel::sql_types::BigInt);
}

impl<T> RunQueryDsl<diesel::PgConnection> for TicketWithMessage<'_, T> {}

pub fn get(conn: &mut DbConnection, id: i64) -> QueryResult<Ticket> {
    tickets::table.find(id).select(Ticket::as_select()).first(conn)
}

/// [`get`], with the row locked until the end of the transaction on PostgreSQL (SQLite's write
/// transaction already excludes other writers): a change that depends on the current assignee
/// (a manual assignment) must not race the router's.
pub fn get_for_update(conn: &mut DbConnection, id: i64) -> QueryResult<Ticket> {
    let q = tickets::table.find(id);
    match conn {
        DbConnection::Postgresql(c) => q.select(Ticket::as_select()).for_no_key_update().first(c),
        DbConnection::Sqlite(c) => q.select(Ticket::as_select()).first(c),
    }
}

pub fn find_by_number(conn: &mut DbConnection, number: &str) -> QueryResult<Option<Ticket>> {
    tickets::table
        .filter(tickets::number.eq(number))
        .select(Ticket::as_select())
        .first(conn)
        .optional()
}

fn contact_thread<'a>(
    contact_id: i64,
    channel: &'a str,
    thread_key: Option<&'a str>,
) -> tickets::BoxedQuery<'a, crate::db::MultiBackend> {
    let q = tickets::table
        .filter(tickets::contact_id.eq(contact_id))
        .filter(tickets::channel.eq(channel))
        .into_boxed();
    match thread_key {
        Some(k) => q.filter(tickets::thread_key.eq(k)),
        None => q.filter(tickets::thread_key.is_null()),
    }
}

/// The contact's most recent ticket on `channel` (and in `thread_key`) that is not closed.
pub fn latest_unclosed_for_contact(
    conn: &mut DbConnection,
    contact_id: i64,
    channel: &str,
    thread_key: Option<&str>,
) -> QueryResult<Option<Ticket>> {
    contact_thread(contact_id, channel, thread_key)
        .filter(tickets::status.ne("closed"))
        .order(tickets::id.desc())
        .select(Ticket::as_select())
        .first(conn)
        .optional()
}

/// The ticket a citizen's message on `channel` (and in `thread_key`) belongs with: their most
/// recent one that is not closed, else their most recent one. One query for both.
pub fn latest_in_thread(
    conn: &mut DbConnection,
    contact_id: i64,
    channel: &str,
    thread_key: Option<&str>,
) -> QueryResult<Option<Ticket>> {
    contact_thread(contact_id, channel, thread_key)
        .order((tickets::status.eq("closed").asc(), tickets::id.desc()))
        .select(Ticket::as_select())
        .first(conn)
        .optional()
}

/// Writes the ticket's fields back, all but the assignee: that is written only by [`set_assignee`]
/// (and the router's conditional update), so a read-modify-save that raced an assignment cannot
/// undo it.
pub fn save(conn: &mut DbConnection, t: &Ticket) -> QueryResult<()> {
    diesel::update(tickets::table.find(t.id))
        .set((
            tickets::subject.eq(&t.subject),
            tickets::status.eq(&t.status),
            tickets::priority.eq(&t.priority),
            tickets::category_id.eq(t.category_id),
            tickets::team_id.eq(t.team_id),
            tickets::updated_at.eq(t.updated_at),
            tickets::first_response_at.eq(t.first_response_at),
            tickets::resolved_at.eq(t.resolved_at),
            tickets::closed_at.eq(t.closed_at),
            tickets::last_inbound_at.eq(t.last_inbound_at),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn set_assignee(conn: &mut DbConnection, id: i64, assignee: Option<i64>) -> QueryResult<()> {
    diesel::update(tickets::table.find(id))
        .set(tickets::assignee_id.eq(assignee))
        .execute(conn)
        .map(|_| ())
}

/// Filters for the agent inbox.
#[derive(Debug, Default, Clone)]
pub struct TicketFilter {
    pub statuses: Vec<String>,
    pub channel: Option<String>,
    pub team_id: Option<i64>,
    /// `Some(None)` means unassigned.
    pub assignee_id: Option<Option<i64>>,
    pub category_id: Option<i64>,
    pub priority: Option<String>,
    pub contact_id: Option<i64>,
    pub q: Option<String>,
    pub created_from: Option<NaiveDateTime>,
    pub created_to: Option<NaiveDateTime>,
    /// Keyset cursor: only tickets with a smaller id.
    pub before_id: Option<i64>,
    pub limit: i64,
}

pub fn list(conn: &mut DbConnection, f: &TicketFilter) -> QueryResult<Vec<Ticket>> {
    let mut q = tickets::table.select(Ticket::as_select()).into_boxed();
    if !f.statuses.is_empty() {
        q = q.filter(tickets::status.eq_any(f.statuses.clone()));
    }
    if let Some(ch) = &f.channel {
        q = q.filter(tickets::channel.eq(ch.clone()));
    }
    if let Some(team) = f.team_id {
        q = q.filter(tickets::team_id.eq(team));
    }
    match f.assignee_id {
        Some(Some(a)) => q = q.filter(tickets::assignee_id.eq(a)),
        Some(None) => q = q.filter(tickets::assignee_id.is_null()),
        None => {}
    }
    if let Some(cat) = f.category_id {
        q = q.filter(tickets::category_id.eq(cat));
    }
    if let Some(p) = &f.priority {
        q = q.filter(tickets::priority.eq(p.clone()));
    }
    if let Some(c) = f.contact_id {
        q = q.filter(tickets::contact_id.eq(c));
    }
    if let Some(text) = &f.q {
        let pattern = format!("%{}%", crate::contacts::repo::escape_like(&text.to_lowercase()));
        q = q.filter(
            lower(tickets::subject)
                .like(pattern.clone())
                .escape('\\')
                .or(tickets::number.like(pattern).escape('\\')),
        );
    }
    if let Some(from) = f.created_from {
        q = q.filter(tickets::created_at.ge(from));
    }
    if let Some(to) = f.created_to {
        q = q.filter(tickets::created_at.lt(to));
    }
    if let Some(before) = f.before_id {
        q = q.filter(tickets::id.lt(before));
    }
    q.order(tickets::id.desc()).limit(f.limit).load(conn)
}

pub fn insert_message(conn: &mut DbConnection, m: &NewMessage) -> QueryResult<Message> {
    let insert = diesel::insert_into(messages::table).values(m);
    match conn {
        DbConnection::Postgresql(c) => insert.returning(Message::as_returning()).get_result(c),
        // See `sqlite_insert_id`: every column is written, so the row is what was inserted.
        DbConnection::Sqlite(c) => Ok(m.inserted(crate::db::sqlite_insert_id(c, insert)?)),
    }
}

pub fn find_message_by_external_id(
    conn: &mut DbConnection,
    channel: &str,
    external_id: &str,
) -> QueryResult<Option<Message>> {
    messages::table
        .filter(messages::channel.eq(channel))
        .filter(messages::external_id.eq(external_id))
        .select(Message::as_select())
        .first(conn)
        .optional()
}

pub fn messages_of(conn: &mut DbConnection, ticket_id: i64) -> QueryResult<Vec<Message>> {
    messages::table
        .filter(messages::ticket_id.eq(ticket_id))
        .order((messages::created_at.asc(), messages::id.asc()))
        .select(Message::as_select())
        .load(conn)
}

pub fn get_message(conn: &mut DbConnection, id: i64) -> QueryResult<Message> {
    messages::table.find(id).select(Message::as_select()).first(conn)
}

/// Sets the delivery state and its error note (cleared with `None`).
pub fn set_delivery(conn: &mut DbConnection, message_id: i64, state: &str, error: Option<&str>) -> QueryResult<usize> {
    diesel::update(messages::table.find(message_id))
        .set((messages::delivery_state.eq(state), messages::delivery_error.eq(error)))
        .execute(conn)
}

/// Moves an outbound message forward to `state` (never backwards, never out of `failed`).
/// Returns 1 when it changed.
pub fn advance_delivery(conn: &mut DbConnection, m: &Message, state: DeliveryState) -> QueryResult<usize> {
    let current = DeliveryState::parse(&m.delivery_state);
    let behind = current.is_some_and(|c| c.outbound_rank() > 0 && c.outbound_rank() < state.outbound_rank());
    if !behind {
        return Ok(0);
    }
    diesel::update(messages::table.find(m.id))
        .set((
            messages::delivery_state.eq(state.as_str()),
            messages::delivery_error.eq(None::<String>),
        ))
        .execute(conn)
}

/// A read receipt for `m` covers it and every earlier outbound message of its ticket.
pub fn mark_outbound_read_up_to(conn: &mut DbConnection, m: &Message) -> QueryResult<usize> {
    diesel::update(
        messages::table
            .filter(messages::ticket_id.eq(m.ticket_id))
            .filter(messages::direction.eq(Direction::Outbound.as_str()))
            .filter(messages::created_at.le(m.created_at))
            .filter(messages::delivery_state.eq_any([DeliveryState::Sent.as_str(), DeliveryState::Delivered.as_str()])),
    )
    .set(messages::delivery_state.eq(DeliveryState::Read.as_str()))
    .execute(conn)
}

pub fn set_external_id(conn: &mut DbConnection, message_id: i64, external_id: &str) -> QueryResult<usize> {
    diesel::update(messages::table.find(message_id))
        .set(messages::external_id.eq(external_id))
        .execute(conn)
}

pub fn set_message_metadata(conn: &mut DbConnection, message_id: i64, metadata: &str) -> QueryResult<usize> {
    diesel::update(messages::table.find(message_id))
        .set(messages::metadata.eq(metadata))
        .execute(conn)
}

/// The citizen unsent the message: its text goes (the audit event keeps it), the row stays.
pub fn mark_message_deleted(conn: &mut DbConnection, message_id: i64, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(messages::table.find(message_id))
        .set((messages::deleted_at.eq(at), messages::body_text.eq("")))
        .execute(conn)
}

pub fn edit_message_text(
    conn: &mut DbConnection,
    message_id: i64,
    text: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(messages::table.find(message_id))
        .set((messages::body_text.eq(text), messages::edited_at.eq(at)))
        .execute(conn)
}

/// Replies of a ticket waiting for the platform's window to open, oldest first.
pub fn held_messages(conn: &mut DbConnection, ticket_id: i64) -> QueryResult<Vec<Message>> {
    messages::table
        .filter(messages::ticket_id.eq(ticket_id))
        .filter(messages::delivery_state.eq(DeliveryState::Held.as_str()))
        .order(messages::id.asc())
        .select(Message::as_select())
        .load(conn)
}

/// An outbound reply of the ticket with this text whose platform id is not known yet.
pub fn unconfirmed_outbound_with_text(
    conn: &mut DbConnection,
    ticket_id: i64,
    text: &str,
) -> QueryResult<Option<Message>> {
    messages::table
        .filter(messages::ticket_id.eq(ticket_id))
        .filter(messages::direction.eq(Direction::Outbound.as_str()))
        .filter(messages::external_id.is_null())
        .filter(messages::body_text.eq(text))
        .order(messages::id.asc())
        .select(Message::as_select())
        .first(conn)
        .optional()
}

pub fn insert_attachment(conn: &mut DbConnection, a: &NewAttachment) -> QueryResult<()> {
    diesel::insert_into(attachments::table)
        .values(a)
        .execute(conn)
        .map(|_| ())
}

pub fn attachments_of(conn: &mut DbConnection, message_ids: &[i64]) -> QueryResult<Vec<AttachmentMeta>> {
    attachments::table
        .filter(attachments::message_id.eq_any(message_ids))
        .order(attachments::id.asc())
        .select(AttachmentMeta::as_select())
        .load(conn)
}

/// A ticket's audit trail, oldest first (including events this write has recorded but not yet
/// inserted; see [`super::events`]).
pub fn events_of(conn: &mut DbConnection, ticket_id: i64) -> QueryResult<Vec<TicketEvent>> {
    super::events::flush_pending(conn)?;
    ticket_events::table
        .filter(ticket_events::ticket_id.eq(ticket_id))
        .order(ticket_events::id.asc())
        .select(TicketEvent::as_select())
        .load(conn)
}

pub fn tags_of(conn: &mut DbConnection, ticket_ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    ticket_tags::table
        .filter(ticket_tags::ticket_id.eq_any(ticket_ids))
        .order((ticket_tags::ticket_id, ticket_tags::tag))
        .select((ticket_tags::ticket_id, ticket_tags::tag))
        .load(conn)
}

pub fn replace_tags(conn: &mut DbConnection, ticket_id: i64, tags: &[String]) -> QueryResult<()> {
    diesel::delete(ticket_tags::table.filter(ticket_tags::ticket_id.eq(ticket_id))).execute(conn)?;
    for tag in tags {
        diesel::insert_into(ticket_tags::table)
            .values((ticket_tags::ticket_id.eq(ticket_id), ticket_tags::tag.eq(tag)))
            .execute(conn)?;
    }
    Ok(())
}

/// Resolved tickets whose reopen window has passed (auto-close candidates).
pub fn resolved_before(conn: &mut DbConnection, cutoff: NaiveDateTime, limit: i64) -> QueryResult<Vec<Ticket>> {
    use crate::db::schema::sla_clocks;
    // A ticket whose SLA policy closes it after the citizen's silence is left to that clock.
    let silence_clock = sla_clocks::table
        .filter(sla_clocks::ticket_id.eq(tickets::id))
        .filter(sla_clocks::kind.eq(crate::sla::policy::AUTO_CLOSE))
        .filter(sla_clocks::state.eq(crate::sla::clock::RUNNING));
    tickets::table
        .filter(tickets::status.eq("resolved"))
        .filter(tickets::resolved_at.lt(cutoff))
        .filter(diesel::dsl::not(diesel::dsl::exists(silence_clock)))
        .order(tickets::resolved_at.asc())
        .limit(limit)
        .select(Ticket::as_select())
        .load(conn)
}
