//! Phone operations, each inside the caller's write transaction: recording a call event (and
//! what follows from it: the contact match, the callback queue, the linked ticket's audit), and
//! the agent's actions on a call.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::repo::{self, Call, NewCall};
use super::{CallEvent, CallState, EventKind, fold, normalise_number};
use crate::context::AppContext;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::tickets::model::{Actor, Channel, Priority};
use crate::tickets::service::{self as tickets, ContactInput, CreateTicket, ReplyKind};
use crate::tickets::{Status, repo as ticket_repo};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Cti,
    Twilio,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Cti => "cti",
            Source::Twilio => "twilio",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// Row id of the call.
    pub call: i64,
    /// Every call whose row changed (this one, and missed calls whose callback it settled).
    pub touched: Vec<i64>,
    /// The caller is on the blocked list: tell the PBX to reject an inbound `newCall`.
    pub reject: bool,
    /// This `(call id, event)` was stored before; nothing changed.
    pub duplicate: bool,
}

/// Records one event and folds the call again from all of its events.
pub fn record_event(
    ctx: &AppContext,
    conn: &mut DbConnection,
    source: Source,
    ev: &CallEvent,
    at: DateTime<Utc>,
) -> AppResult<Recorded> {
    let now = at.naive_utc();
    repo::insert_call_if_absent(
        conn,
        &NewCall {
            call_id: &ev.call_id,
            source: source.as_str(),
            direction: ev.direction.as_str(),
            from_raw: &ev.from,
            to_raw: &ev.to,
            state: CallState::Ringing.as_str(),
            initialized_at: now,
            created_at: now,
            updated_at: now,
        },
    )?;
    let mut call = repo::lock_by_call_id(conn, &ev.call_id)?;
    let inserted = repo::insert_event(conn, &ev.call_id, ev.event.as_str(), &serde_json::to_string(ev)?, now)?;
    let reject_reply = |call: &Call| ev.event == EventKind::NewCall && call.direction == "in" && call.blocked;
    if !inserted {
        return Ok(Recorded {
            call: call.id,
            touched: Vec::new(),
            reject: reject_reply(&call),
            duplicate: true,
        });
    }
    let mut events = Vec::new();
    for stored in repo::events_of(conn, &ev.call_id)? {
        let parsed: CallEvent = serde_json::from_str(&stored.payload)
            .map_err(|e| AppError::internal(format!("call event {} is unreadable: {e}", stored.id)))?;
        events.push((parsed, stored.received_at));
    }
    let f = fold(&events).ok_or_else(|| AppError::internal("a call without events"))?;
    let before = (call.state.clone(), call.recording_url.clone());

    call.direction = f.direction.as_str().into();
    call.from_number = normalise_number(&f.from);
    call.to_number = normalise_number(&f.to);
    call.remote_number = match f.direction {
        super::CallDirection::In => call.from_number.clone(),
        super::CallDirection::Out => call.to_number.clone(),
    };
    call.from_raw = f.from;
    call.to_raw = f.to;
    call.queue = f.queue;
    call.users = serde_json::to_string(&f.users)?;
    call.state = f.state.as_str().into();
    call.cause = f.cause;
    call.answered_by = f.answered_by;
    call.answering_number = f.answering_number;
    call.initialized_at = f.initialized_at;
    call.answered_at = f.answered_at;
    call.ended_at = f.ended_at;
    call.waiting_secs = f.waiting_secs;
    call.talking_secs = f.talking_secs;
    call.recording_url = f.recording_url.or(call.recording_url);
    call.updated_at = now;
    if let Some(number) = call.remote_number.clone() {
        if call.contact_id.is_none() {
            call.contact_id = repo::contact_by_number(conn, &number)?.map(|c| c.id);
        }
        if f.direction == super::CallDirection::In && !call.blocked {
            call.blocked = repo::is_blocked(conn, &number)?;
        }
    }

    let mut touched = vec![call.id];
    let target = Duration::minutes(ctx.settings.phone.callback_target_minutes as i64);
    if f.state == CallState::Missed
        && !call.blocked
        && call.callback_due_at.is_none()
        && let (Some(number), Some(ended)) = (call.remote_number.clone(), call.ended_at)
    {
        call.callback_due_at = Some(ended + target);
        // Reordered delivery: the citizen may already have been reached on a later call.
        if let Some(later) = repo::answered_since(conn, &number, call.initialized_at, call.id)? {
            settle_callback(&mut call, &later, now);
        }
    }
    if call.answered_at.is_some()
        && let Some(number) = call.remote_number.clone()
    {
        for mut missed in repo::open_callbacks_for(conn, &number, call.initialized_at, call.id)? {
            settle_callback(&mut missed, &call, now);
            repo::save(conn, &missed)?;
            touch_ticket(conn, &missed, "call_callback_done", at)?;
            touched.push(missed.id);
        }
    }
    repo::save(conn, &call)?;
    if before != (call.state.clone(), call.recording_url.clone()) {
        touch_ticket(conn, &call, "call_updated", at)?;
    }
    Ok(Recorded {
        call: call.id,
        touched,
        reject: reject_reply(&call),
        duplicate: false,
    })
}

/// `missed` was settled by `by`, an answered call with the same citizen.
fn settle_callback(missed: &mut Call, by: &Call, now: chrono::NaiveDateTime) {
    missed.callback_done_at = Some(now);
    missed.callback_resolution = Some(
        if by.direction == "out" {
            "called_back"
        } else {
            "caller_reached_us"
        }
        .into(),
    );
    missed.callback_call_id = Some(by.call_id.clone());
    missed.updated_at = now;
}

/// The caller-log facts of a call as a ticket event sees them.
pub fn call_summary(c: &Call) -> Value {
    json!({
        "call_id": c.call_id, "direction": c.direction, "from": c.from_raw, "to": c.to_raw,
        "number": c.remote_number, "state": c.state, "answered_by": c.answered_by,
        "waiting_seconds": c.waiting_secs, "talking_seconds": c.talking_secs,
        "recording_url": c.recording_url, "callback_done": c.callback_done_at.is_some(),
    })
}

/// Records `kind` on the call's ticket, when it has one.
fn touch_ticket(conn: &mut DbConnection, c: &Call, kind: &'static str, at: DateTime<Utc>) -> AppResult<()> {
    match c.ticket_id {
        Some(t) => tickets::record_event(conn, t, Actor::System, kind, None, Some(call_summary(c)), at),
        None => Ok(()),
    }
}

/// What an agent gives to turn a call into a ticket.
pub struct CallTicket {
    /// `None`: "Telepon dari <number>".
    pub subject: Option<String>,
    pub notes: String,
    /// Who the citizen is; `None` takes the caller's number.
    pub contact: Option<ContactInput>,
    pub priority: Priority,
    pub category_id: Option<i64>,
    pub team_id: Option<i64>,
}

/// Opens a ticket for a call through the ticket service (channel phone, the citizen matched by
/// their number across channels), with the agent's call notes as its first message.
pub fn ticket_from_call(
    ctx: &AppContext,
    conn: &mut DbConnection,
    user_id: i64,
    call_pk: i64,
    input: CallTicket,
) -> AppResult<(Call, tickets::Created)> {
    let at = ctx.clock.now();
    let mut call = repo::lock(conn, call_pk)?;
    refuse_if_linked(&call, None)?;
    let contact = match input.contact {
        Some(c) => c,
        None => {
            let number = call.remote_number.clone().ok_or_else(|| {
                AppError::field(
                    "contact",
                    "the caller's number is unknown (anonymous); give the citizen's phone or e-mail",
                )
            })?;
            let mut identities = vec![
                crate::contacts::Identity::parse(crate::contacts::IdentityKind::Phone, &number)
                    .map_err(AppError::internal)?,
            ];
            let name = match call.contact_id {
                Some(c) => {
                    // The matched contact may own the number as WhatsApp only: name that identity
                    // too, so the ticket is theirs (and the number becomes their phone as well).
                    for i in crate::contacts::repo::identities_of(conn, &[c])? {
                        if i.value == number
                            && let Some(kind) = crate::contacts::IdentityKind::parse(&i.kind)
                            && kind != crate::contacts::IdentityKind::Phone
                        {
                            identities.push(crate::contacts::Identity { kind, value: i.value });
                        }
                    }
                    crate::contacts::repo::get(conn, c)?.name
                }
                None => number,
            };
            ContactInput { name, identities }
        }
    };
    let created = tickets::create_ticket(
        ctx,
        conn,
        user_id,
        &CreateTicket {
            subject: input.subject.unwrap_or_else(|| {
                let who = call.remote_number.as_deref().unwrap_or("penelepon anonim");
                format!("Telepon dari {who}")
            }),
            body: input.notes,
            channel: Channel::Phone,
            contact,
            priority: input.priority,
            category_id: input.category_id,
            team_id: input.team_id,
        },
    )?;
    link(conn, &mut call, &created.ticket, user_id, at)?;
    Ok((call, created))
}

/// Links a call to a ticket that is not closed, adding the agent's call notes as an internal note.
/// Linking the same call to the same ticket again changes nothing.
pub fn attach_call(
    ctx: &AppContext,
    conn: &mut DbConnection,
    user_id: i64,
    call_pk: i64,
    ticket_id: i64,
    notes: Option<&str>,
) -> AppResult<Call> {
    let at = ctx.clock.now();
    let mut call = repo::lock(conn, call_pk)?;
    if refuse_if_linked(&call, Some(ticket_id))? {
        return Ok(call);
    }
    let ticket = ticket_repo::get(conn, ticket_id).map_err(|e| AppError::missing_as_field(e, "ticket"))?;
    if ticket.status == Status::Closed.as_str() {
        return Err(AppError::Conflict {
            code: "ticket_closed",
            message: format!(
                "ticket {} is closed; open a new ticket from the call instead",
                ticket.number
            ),
            extra: None,
        });
    }
    if let Some(text) = notes {
        tickets::add_agent_message(ctx, conn, user_id, ticket_id, ReplyKind::Note, text, None)?;
    }
    // The agent vouches that this number is the ticket's citizen: remember it when nobody has it.
    if let Some(number) = &call.remote_number
        && repo::contact_by_number(conn, number)?.is_none()
    {
        let id = crate::contacts::Identity::parse(crate::contacts::IdentityKind::Phone, number)
            .map_err(AppError::internal)?;
        crate::contacts::repo::add_identity(conn, ticket.contact_id, &id, at.naive_utc())?;
    }
    link(conn, &mut call, &ticket, user_id, at)?;
    Ok(call)
}

/// `Ok(true)` when the call is already linked to `wanted`; a conflict when linked elsewhere.
fn refuse_if_linked(call: &Call, wanted: Option<i64>) -> AppResult<bool> {
    match call.ticket_id {
        None => Ok(false),
        Some(t) if Some(t) == wanted => Ok(true),
        Some(t) => Err(AppError::Conflict {
            code: "call_has_ticket",
            message: format!("call {} is already linked to ticket {t}", call.id),
            extra: Some(json!({ "ticket_id": t })),
        }),
    }
}

fn link(
    conn: &mut DbConnection,
    call: &mut Call,
    ticket: &crate::tickets::model::Ticket,
    user_id: i64,
    at: DateTime<Utc>,
) -> AppResult<()> {
    call.ticket_id = Some(ticket.id);
    call.contact_id = Some(ticket.contact_id);
    call.updated_at = at.naive_utc();
    repo::save(conn, call)?;
    tickets::record_event(
        conn,
        ticket.id,
        Actor::User(user_id),
        "call_linked",
        None,
        Some(call_summary(call)),
        at,
    )
}

/// What an agent may change on a call.
#[derive(Debug, Default)]
pub struct CallPatch {
    /// Marks the callback done (or open again).
    pub done: Option<bool>,
    /// `Some(None)` clears it.
    pub recording_url: Option<Option<String>>,
}

pub fn update_call(ctx: &AppContext, conn: &mut DbConnection, user_id: i64, id: i64, p: &CallPatch) -> AppResult<Call> {
    let at = ctx.clock.now();
    let now = at.naive_utc();
    let mut call = repo::lock(conn, id)?;
    if let Some(done) = p.done {
        if call.callback_due_at.is_none() {
            return Err(AppError::Conflict {
                code: "no_callback",
                message: "only a missed inbound call from a known number is a callback item".into(),
                extra: Some(json!({ "state": call.state })),
            });
        }
        if done != call.callback_done_at.is_some() {
            if done {
                call.callback_done_at = Some(now);
                call.callback_done_by = Some(user_id);
                call.callback_resolution = Some("marked_done".into());
            } else {
                call.callback_done_at = None;
                call.callback_done_by = None;
                call.callback_resolution = None;
                call.callback_call_id = None;
            }
            let kind = if done {
                "call_callback_done"
            } else {
                "call_callback_reopened"
            };
            if let Some(t) = call.ticket_id {
                tickets::record_event(conn, t, Actor::User(user_id), kind, None, Some(call_summary(&call)), at)?;
            }
        }
    }
    if let Some(url) = &p.recording_url
        && *url != call.recording_url
    {
        call.recording_url = url.clone();
        if let Some(t) = call.ticket_id {
            tickets::record_event(
                conn,
                t,
                Actor::User(user_id),
                "call_updated",
                None,
                Some(call_summary(&call)),
                at,
            )?;
        }
    }
    call.updated_at = now;
    repo::save(conn, &call)?;
    Ok(call)
}
