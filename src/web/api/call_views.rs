//! JSON shapes of the caller log, and publishing changed calls to the live feed.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::clock::utc;
use crate::context::AppContext;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::phone::repo::{self, Call, StoredEvent};
use crate::tickets::model::Ticket;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ContactRef {
    pub id: i64,
    pub name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TicketRef {
    pub id: i64,
    pub number: String,
    pub subject: String,
    pub status: String,
    pub channel: String,
}

impl TicketRef {
    fn new(t: &Ticket) -> TicketRef {
        TicketRef {
            id: t.id,
            number: t.number.clone(),
            subject: t.subject.clone(),
            status: t.status.clone(),
            channel: t.channel.clone(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CallbackView {
    pub due_at: DateTime<Utc>,
    pub overdue: bool,
    pub done: bool,
    pub done_at: Option<DateTime<Utc>>,
    pub done_by: Option<i64>,
    /// `called_back`, `caller_reached_us` or `marked_done`.
    pub resolution: Option<String>,
    /// The call that settled it.
    pub resolved_by_call_id: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CallEventView {
    pub event: String,
    pub received_at: DateTime<Utc>,
    /// The event as the PBX or Twilio sent it.
    #[schema(value_type = Object)]
    pub payload: Value,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CallView {
    pub id: i64,
    pub call_id: String,
    pub source: String,
    pub direction: String,
    /// As the PBX wrote them.
    pub from: String,
    pub to: String,
    /// E.164, or null (anonymous, extensions).
    pub from_number: Option<String>,
    pub to_number: Option<String>,
    /// The citizen's number (from for inbound, to for outbound).
    pub number: Option<String>,
    pub queue: Option<String>,
    /// Agents the call rang (inbound) or who dialled (outbound).
    pub users: Vec<String>,
    pub state: String,
    /// False while an inbound call rings or a missed call waits to be called back.
    pub done: bool,
    pub cause: Option<String>,
    pub answered_by: Option<String>,
    pub answering_number: Option<String>,
    pub blocked: bool,
    pub initialized_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub waiting_seconds: Option<i64>,
    pub talking_seconds: Option<i64>,
    pub duration_seconds: Option<i64>,
    pub recording_url: Option<String>,
    pub contact: Option<ContactRef>,
    /// The contact's tickets that are not resolved or closed.
    pub open_tickets: Vec<TicketRef>,
    pub ticket: Option<TicketRef>,
    pub callback: Option<CallbackView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<CallEventView>>,
    pub updated_at: DateTime<Utc>,
}

fn view(
    c: &Call,
    contacts: &HashMap<i64, String>,
    tickets: &HashMap<i64, &Ticket>,
    open: &[Ticket],
    now: NaiveDateTime,
) -> CallView {
    let callback = c.callback_due_at.map(|due| CallbackView {
        due_at: utc(due),
        overdue: c.callback_done_at.is_none() && due < now,
        done: c.callback_done_at.is_some(),
        done_at: c.callback_done_at.map(utc),
        done_by: c.callback_done_by,
        resolution: c.callback_resolution.clone(),
        resolved_by_call_id: c.callback_call_id.clone(),
    });
    let waiting_for_callback = callback.as_ref().is_some_and(|cb| !cb.done);
    let ringing_in = c.state == "ringing" && c.direction == "in";
    CallView {
        id: c.id,
        call_id: c.call_id.clone(),
        source: c.source.clone(),
        direction: c.direction.clone(),
        from: c.from_raw.clone(),
        to: c.to_raw.clone(),
        from_number: c.from_number.clone(),
        to_number: c.to_number.clone(),
        number: c.remote_number.clone(),
        queue: c.queue.clone(),
        users: serde_json::from_str(&c.users).unwrap_or_default(),
        state: c.state.clone(),
        done: !waiting_for_callback && !ringing_in,
        cause: c.cause.clone(),
        answered_by: c.answered_by.clone(),
        answering_number: c.answering_number.clone(),
        blocked: c.blocked,
        initialized_at: utc(c.initialized_at),
        answered_at: c.answered_at.map(utc),
        ended_at: c.ended_at.map(utc),
        waiting_seconds: c.waiting_secs,
        talking_seconds: c.talking_secs,
        duration_seconds: c.ended_at.map(|e| (e - c.initialized_at).num_seconds()),
        recording_url: c.recording_url.clone(),
        contact: c
            .contact_id
            .and_then(|id| contacts.get(&id).map(|name| ContactRef { id, name: name.clone() })),
        open_tickets: open
            .iter()
            .filter(|t| Some(t.contact_id) == c.contact_id)
            .map(TicketRef::new)
            .collect(),
        ticket: c.ticket_id.and_then(|id| tickets.get(&id)).map(|t| TicketRef::new(t)),
        callback,
        events: None,
        updated_at: utc(c.updated_at),
    }
}

/// Views of `calls` with their contacts and tickets, in the order given. A call stored before its
/// caller became a contact shows the contact who owns the number now.
pub fn call_views(conn: &mut DbConnection, calls: &[Call], now: NaiveDateTime) -> AppResult<Vec<CallView>> {
    let unmatched: Vec<String> = calls
        .iter()
        .filter(|c| c.contact_id.is_none())
        .filter_map(|c| c.remote_number.clone())
        .collect();
    let mut owners: HashMap<String, i64> = HashMap::new();
    if !unmatched.is_empty() {
        for (number, contact) in repo::contacts_by_numbers(conn, &unmatched)? {
            owners.entry(number).or_insert(contact.id);
        }
    }
    let calls: Vec<Call> = calls
        .iter()
        .cloned()
        .map(|mut c| {
            if c.contact_id.is_none() {
                c.contact_id = c.remote_number.as_ref().and_then(|n| owners.get(n).copied());
            }
            c
        })
        .collect();
    let mut contact_ids: Vec<i64> = calls.iter().filter_map(|c| c.contact_id).collect();
    contact_ids.sort_unstable();
    contact_ids.dedup();
    let ticket_ids: Vec<i64> = calls.iter().filter_map(|c| c.ticket_id).collect();
    let contacts: HashMap<i64, String> = repo::contacts_by_ids(conn, &contact_ids)?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let linked = repo::tickets_by_ids(conn, &ticket_ids)?;
    let tickets: HashMap<i64, &Ticket> = linked.iter().map(|t| (t.id, t)).collect();
    let open = repo::open_tickets_of(conn, &contact_ids)?;
    Ok(calls.iter().map(|c| view(c, &contacts, &tickets, &open, now)).collect())
}

/// One call with its event log.
pub fn call_detail(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> AppResult<CallView> {
    let call = repo::get(conn, id)?;
    let events = repo::events_of(conn, &call.call_id)?;
    let mut v = call_views(conn, std::slice::from_ref(&call), now)?
        .pop()
        .ok_or_else(|| AppError::internal("call view missing"))?;
    v.events = Some(events.iter().map(event_view).collect());
    Ok(v)
}

fn event_view(e: &StoredEvent) -> CallEventView {
    CallEventView {
        event: e.event.clone(),
        received_at: utc(e.received_at),
        payload: serde_json::from_str(&e.payload).unwrap_or(Value::Null),
    }
}

/// Pushes the committed state of `ids` to the live feed. The change is already committed, so a
/// failure here is only logged: consoles catch up from the list.
pub async fn publish(ctx: &AppContext, ids: Vec<i64>) {
    if ids.is_empty() {
        return;
    }
    let now = ctx.clock.now_naive();
    let views = ctx
        .db
        .read(move |conn| {
            let calls = repo::get_many(conn, &ids)?;
            call_views(conn, &calls, now)
        })
        .await;
    match views {
        Ok(views) => {
            for v in views {
                match serde_json::to_string(&v) {
                    Ok(json) => ctx.call_feed.publish(json),
                    Err(e) => log::warn!("call {}: cannot serialise for the live feed: {e}", v.id),
                }
            }
        }
        Err(e) => log::warn!("live caller-log update skipped: {e}"),
    }
}
