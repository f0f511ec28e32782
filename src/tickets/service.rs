//! Ticket operations. Each public function runs inside the caller's write transaction and writes
//! the change, its audit events and any outbox jobs together.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::model::*;
use super::numbering;
use super::repo;
use super::status::Status;
use crate::auth;
use crate::contacts::{self, Contact, Identity};
use crate::context::AppContext;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::jobs::webhooks;

/// Appends one audit event.
pub fn record_event(
    conn: &mut DbConnection,
    ticket_id: i64,
    actor: Actor,
    kind: &'static str,
    before: Option<Value>,
    after: Option<Value>,
    at: DateTime<Utc>,
) -> AppResult<()> {
    super::events::record(
        conn,
        NewEvent {
            ticket_id,
            actor_kind: actor.kind().as_str(),
            actor_id: actor.id(),
            kind,
            before_value: before.map(|v| v.to_string()),
            after_value: after.map(|v| v.to_string()),
            created_at: at.naive_utc(),
        },
    )?;
    Ok(())
}

/// Finds the contact owning any of `identities`, or creates one; attaches identities it lacks
/// (those that belong to nobody yet). With `lock`, the contact's row stays locked until the
/// transaction ends (`contacts::repo::lock`).
pub fn resolve_contact(
    conn: &mut DbConnection,
    identities: &[Identity],
    name: Option<&str>,
    now: DateTime<Utc>,
    lock: bool,
) -> AppResult<(Contact, bool)> {
    let given = name.map(str::trim).filter(|n| !n.is_empty());
    let new_name = given.unwrap_or_else(|| identities.first().map(|i| i.value.as_str()).unwrap_or("Warga"));
    // One identity (nearly every intake and agent-created ticket): looked up or created together,
    // one round trip on PostgreSQL.
    if let [id] = identities {
        let (contact, created) = contacts::repo::find_or_create(conn, new_name, id, now.naive_utc(), lock)?;
        let contact = if created {
            contact
        } else {
            learn_name(conn, contact, identities, given, now)?
        };
        return Ok((contact, created));
    }
    let mut found = None;
    let mut unowned = Vec::new();
    for id in identities {
        match contacts::repo::find_by_identity(conn, id)? {
            Some(c) if found.is_none() => found = Some(c),
            Some(_) => {}
            None => unowned.push(id),
        }
    }
    let (contact, created) = match found {
        Some(c) => (learn_name(conn, c, identities, given, now)?, false),
        None if unowned.is_empty() => (contacts::repo::insert(conn, new_name, now.naive_utc())?, true),
        // Nobody owns any of them, so the first is written with the contact (or, if another
        // writer has just created that contact, found with it).
        None => contacts::repo::find_or_create(conn, new_name, unowned.remove(0), now.naive_utc(), false)?,
    };
    // A contact created here is invisible to other transactions until the commit.
    if lock && !created {
        contacts::repo::lock(conn, contact.id)?;
    }
    for id in unowned {
        contacts::repo::add_identity(conn, contact.id, id, now.naive_utc())?;
    }
    Ok((contact, created))
}

/// A contact first known only by an id (named after it) learns its name when a channel tells it.
fn learn_name(
    conn: &mut DbConnection,
    mut c: Contact,
    identities: &[Identity],
    given: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<Contact> {
    if let Some(n) = given
        && identities.iter().any(|i| i.value == c.name)
    {
        contacts::repo::rename(conn, c.id, n, now.naive_utc())?;
        c.name = n.to_string();
    }
    Ok(c)
}

pub struct NewTicketSpec<'a> {
    pub subject: &'a str,
    pub channel: Channel,
    pub contact_id: i64,
    pub priority: Priority,
    pub category_id: Option<i64>,
    pub team_id: Option<i64>,
    pub parent_ticket_id: Option<i64>,
    pub actor: Actor,
    pub at: DateTime<Utc>,
    /// When the citizen's first message arrived (set when the ticket opens with one).
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// See [`crate::intake::InboundMessage::thread_key`].
    pub thread_key: Option<&'a str>,
}

/// Creates a ticket with a fresh number and access token, and its first message (`message` builds
/// it for the ticket's id); returns them with the token (shown once). The caller records the
/// message's own event and webhook, after the ticket's.
pub fn open_ticket<'m>(
    ctx: &AppContext,
    conn: &mut DbConnection,
    spec: NewTicketSpec,
    message: impl FnOnce(i64) -> NewMessage<'m>,
) -> AppResult<(Ticket, String, Message)> {
    let number = ctx.numbers.next(conn, spec.at, ctx.settings.tickets.timezone)?;
    let (token, token_hash) = numbering::new_access_token();
    let now = spec.at.naive_utc();
    let (ticket, first) = repo::insert_ticket_with_message(
        conn,
        &NewTicket {
            number: &number,
            access_token_hash: &token_hash,
            subject: spec.subject,
            status: Status::New.as_str(),
            priority: spec.priority.as_str(),
            channel: spec.channel.as_str(),
            contact_id: spec.contact_id,
            category_id: spec.category_id,
            team_id: spec.team_id,
            assignee_id: None,
            parent_ticket_id: spec.parent_ticket_id,
            language: "id",
            created_at: now,
            updated_at: now,
            last_inbound_at: spec.last_inbound_at.map(|t| t.naive_utc()),
            thread_key: spec.thread_key,
        },
        message,
    )?;
    let after = json!({ "number": ticket.number, "status": ticket.status, "channel": ticket.channel,
        "priority": ticket.priority, "parent_ticket_id": ticket.parent_ticket_id });
    record_event(conn, ticket.id, spec.actor, "created", None, Some(after), spec.at)?;
    crate::sla::service::on_ticket_opened(conn, &ticket, spec.at)?;
    crate::routing::on_unassigned(ctx, conn, &ticket, spec.at)?;
    webhooks::emit(conn, &ctx.settings, "ticket.created", ticket_summary(&ticket), spec.at)?;
    Ok((ticket, token, first))
}

/// A short JSON picture of a ticket for webhooks (no secrets).
pub fn ticket_summary(t: &Ticket) -> Value {
    json!({
        "id": t.id, "number": t.number, "status": t.status, "priority": t.priority,
        "channel": t.channel, "subject": t.subject, "contact_id": t.contact_id,
        "team_id": t.team_id, "assignee_id": t.assignee_id, "category_id": t.category_id,
    })
}

pub fn message_webhook_data(t: &Ticket, m: &Message) -> Value {
    json!({
        "ticket": { "id": t.id, "number": t.number, "status": t.status, "channel": t.channel, "subject": t.subject },
        "message": { "id": m.id, "direction": m.direction, "channel": m.channel,
            "visibility": if m.direction == "note" { "internal" } else { "public" },
            "text": m.body_text, "channel_message_id": m.external_id },
    })
}

/// Changes status, enforcing the machine, stamping times and recording the event.
pub fn change_status(
    ctx: &AppContext,
    conn: &mut DbConnection,
    t: &mut Ticket,
    to: Status,
    actor: Actor,
    at: DateTime<Utc>,
    event_kind: &'static str,
) -> AppResult<()> {
    let from = Status::parse(&t.status)
        .ok_or_else(|| AppError::internal(format!("ticket {} has status {}", t.id, t.status)))?;
    if !from.can_move_to(to) {
        let allowed: Vec<&str> = from.allowed_next().iter().map(|s| s.as_str()).collect();
        return Err(AppError::Conflict {
            code: "invalid_transition",
            message: format!(
                "cannot move a {from} ticket to {to}; allowed: {}",
                if allowed.is_empty() {
                    "none (closed is final)".to_string()
                } else {
                    allowed.join(", ")
                }
            ),
            extra: Some(json!({ "from": from, "to": to, "allowed": allowed })),
        });
    }
    let now = at.naive_utc();
    t.status = to.as_str().to_string();
    t.updated_at = now;
    match to {
        Status::Resolved => t.resolved_at = Some(now),
        Status::Closed => t.closed_at = Some(now),
        Status::Open if from == Status::Resolved => t.resolved_at = None,
        _ => {}
    }
    record_event(conn, t.id, actor, event_kind, Some(json!(from)), Some(json!(to)), at)?;
    crate::sla::service::on_status_changed(conn, t, from, to, at)?;
    crate::routing::on_status_changed(ctx, conn, t, from, to, at)?;
    if to == Status::Resolved && t.channel == Channel::Email.as_str() {
        crate::email::outbound::enqueue_resolution(ctx, conn, t, at)?;
    }
    webhooks::emit(
        conn,
        &ctx.settings,
        "ticket.status_changed",
        json!({ "ticket": ticket_summary(t), "from": from, "to": to }),
        at,
    )?;
    Ok(())
}

#[derive(Clone, Debug)]
pub struct ContactInput {
    pub name: String,
    pub identities: Vec<Identity>,
}

pub struct CreateTicket {
    pub subject: String,
    pub body: String,
    pub channel: Channel,
    pub contact: ContactInput,
    pub priority: Priority,
    pub category_id: Option<i64>,
    pub team_id: Option<i64>,
}

pub struct Created {
    pub ticket: Ticket,
    pub access_token: String,
    pub message: Message,
}

/// An agent records a complaint for a citizen (e.g. taken on the phone).
pub fn create_ticket(
    ctx: &AppContext,
    conn: &mut DbConnection,
    user_id: i64,
    input: &CreateTicket,
) -> AppResult<Created> {
    let at = ctx.clock.now();
    let (contact, _) = resolve_contact(conn, &input.contact.identities, Some(&input.contact.name), at, false)?;
    let category_team = match input.category_id {
        Some(cat) => {
            crate::admin::repo::category_team(conn, cat).map_err(|e| AppError::missing_as_field(e, "category"))?
        }
        None => None,
    };
    if let Some(team) = input.team_id {
        crate::admin::repo::get_team(conn, team).map_err(|e| AppError::missing_as_field(e, "team"))?;
    }
    // A category routes to its team unless the agent chose one.
    let team_id = input.team_id.or(category_team);
    let (ticket, token, message) = open_ticket(
        ctx,
        conn,
        NewTicketSpec {
            subject: &input.subject,
            channel: input.channel,
            contact_id: contact.id,
            priority: input.priority,
            category_id: input.category_id,
            team_id,
            parent_ticket_id: None,
            actor: Actor::User(user_id),
            at,
            last_inbound_at: Some(at),
            thread_key: None,
        },
        |ticket_id| NewMessage {
            ticket_id,
            direction: Direction::Inbound.as_str(),
            channel: input.channel.as_str(),
            author_user_id: Some(user_id),
            author_contact_id: Some(contact.id),
            body_text: &input.body,
            body_html: None,
            external_id: None,
            delivery_state: DeliveryState::Received.as_str(),
            created_at: at.naive_utc(),
            metadata: None,
        },
    )?;
    record_event(
        conn,
        ticket.id,
        Actor::User(user_id),
        "message_added",
        None,
        Some(json!({ "message_id": message.id, "direction": "inbound" })),
        at,
    )?;
    webhooks::emit(
        conn,
        &ctx.settings,
        "message.created",
        message_webhook_data(&ticket, &message),
        at,
    )?;
    Ok(Created {
        ticket,
        access_token: token,
        message,
    })
}

#[derive(Default)]
pub struct TicketPatch {
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub subject: Option<String>,
    /// `Some(None)` unassigns.
    pub assignee_id: Option<Option<i64>>,
    pub team_id: Option<Option<i64>>,
    pub category_id: Option<Option<i64>>,
    pub tags: Option<Vec<String>>,
}

pub fn update_ticket(
    ctx: &AppContext,
    conn: &mut DbConnection,
    actor: Actor,
    id: i64,
    patch: &TicketPatch,
) -> AppResult<Ticket> {
    let at = ctx.clock.now();
    let mut t = repo::get_for_update(conn, id)?;
    let sla_attributes = (t.priority.clone(), t.team_id, t.category_id);
    let routing_attributes = (t.team_id, t.assignee_id);
    if let Some(subject) = &patch.subject
        && *subject != t.subject
    {
        record_event(
            conn,
            id,
            actor,
            "subject_changed",
            Some(json!(t.subject)),
            Some(json!(subject)),
            at,
        )?;
        t.subject = subject.clone();
    }
    if let Some(p) = patch.priority
        && p.as_str() != t.priority
    {
        record_event(
            conn,
            id,
            actor,
            "priority_changed",
            Some(json!(t.priority)),
            Some(json!(p)),
            at,
        )?;
        t.priority = p.as_str().into();
    }
    if let Some(assignee) = patch.assignee_id
        && assignee != t.assignee_id
    {
        if let Some(uid) = assignee {
            let user = auth::repo::get_user(conn, uid).map_err(|e| AppError::missing_as_field(e, "assignee"))?;
            if !user.active {
                return Err(AppError::field("assignee", format!("user {uid} is deactivated")));
            }
        }
        let before = std::mem::replace(&mut t.assignee_id, assignee);
        repo::set_assignee(conn, id, assignee)?;
        crate::routing::record_assignment(ctx, conn, &t, before, actor, at)?;
        if let Some(previous) = before.filter(|_| crate::routing::is_unresolved(&t.status)) {
            crate::routing::on_load_freed(ctx, conn, previous, at)?;
        }
    }
    if let Some(team) = patch.team_id
        && team != t.team_id
    {
        if let Some(tid) = team {
            crate::admin::repo::get_team(conn, tid).map_err(|e| AppError::missing_as_field(e, "team"))?;
        }
        record_event(
            conn,
            id,
            actor,
            "team_changed",
            Some(json!(t.team_id)),
            Some(json!(team)),
            at,
        )?;
        t.team_id = team;
    }
    if let Some(cat) = patch.category_id
        && cat != t.category_id
    {
        if let Some(cid) = cat {
            crate::admin::repo::get_category(conn, cid).map_err(|e| AppError::missing_as_field(e, "category"))?;
        }
        record_event(
            conn,
            id,
            actor,
            "category_changed",
            Some(json!(t.category_id)),
            Some(json!(cat)),
            at,
        )?;
        t.category_id = cat;
    }
    if (t.team_id, t.assignee_id) != routing_attributes {
        crate::routing::on_unassigned(ctx, conn, &t, at)?;
    }
    if sla_attributes != (t.priority.clone(), t.team_id, t.category_id) {
        crate::sla::service::on_attributes_changed(conn, &t, at)?;
    }
    if let Some(tags) = &patch.tags {
        let mut tags: Vec<String> = tags
            .iter()
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        tags.sort();
        tags.dedup();
        let before: Vec<String> = repo::tags_of(conn, &[id])?.into_iter().map(|(_, tag)| tag).collect();
        if before != tags {
            repo::replace_tags(conn, id, &tags)?;
            record_event(
                conn,
                id,
                actor,
                "tags_changed",
                Some(json!(before)),
                Some(json!(tags)),
                at,
            )?;
        }
    }
    if let Some(to) = patch.status
        && to.as_str() != t.status
    {
        change_status(ctx, conn, &mut t, to, actor, at, "status_changed")?;
    }
    t.updated_at = at.naive_utc();
    repo::save(conn, &t)?;
    Ok(t)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyKind {
    Reply,
    Note,
}

/// An agent replies to the citizen (queued for delivery on the ticket's channel) or adds an
/// internal note.
pub fn add_agent_message(
    ctx: &AppContext,
    conn: &mut DbConnection,
    user_id: i64,
    ticket_id: i64,
    kind: ReplyKind,
    body: &str,
    reply_via: Option<&str>,
) -> AppResult<(Ticket, Message, Option<String>)> {
    let at = ctx.clock.now();
    let mut t = repo::get(conn, ticket_id)?;
    if t.status == Status::Closed.as_str() && kind == ReplyKind::Reply {
        return Err(AppError::Conflict {
            code: "ticket_closed",
            message: "the ticket is closed; a new message from the citizen opens a new ticket".into(),
            extra: None,
        });
    }
    let plan = match kind {
        ReplyKind::Reply => crate::channels::plan_reply(ctx, conn, &t, body, reply_via, at)?,
        ReplyKind::Note => {
            if reply_via.is_some() {
                return Err(AppError::field("reply_via", "applies to replies, not internal notes"));
            }
            crate::channels::ReplyPlan {
                state: DeliveryState::Internal,
                metadata: None,
                notice: None,
            }
        }
    };
    let direction = match kind {
        ReplyKind::Reply => Direction::Outbound,
        ReplyKind::Note => Direction::Note,
    };
    let metadata = plan.metadata.as_ref().map(|m| m.to_string());
    let m = repo::insert_message(
        conn,
        &NewMessage {
            ticket_id,
            direction: direction.as_str(),
            channel: &t.channel,
            author_user_id: Some(user_id),
            author_contact_id: None,
            body_text: body,
            body_html: None,
            external_id: None,
            delivery_state: plan.state.as_str(),
            created_at: at.naive_utc(),
            metadata: metadata.as_deref(),
        },
    )?;
    record_event(
        conn,
        ticket_id,
        Actor::User(user_id),
        "message_added",
        None,
        Some(json!({ "message_id": m.id, "direction": direction })),
        at,
    )?;
    if plan.state == DeliveryState::Held {
        record_event(
            conn,
            ticket_id,
            Actor::System,
            "reply_held",
            None,
            Some(json!({ "message_id": m.id, "reason": plan.notice })),
            at,
        )?;
    }
    if kind == ReplyKind::Reply {
        crate::sla::service::on_agent_reply(conn, &t, at)?;
        if plan.state == DeliveryState::Queued {
            super::delivery::enqueue(ctx, conn, m.id, at)?;
        }
        if t.first_response_at.is_none() {
            t.first_response_at = Some(at.naive_utc());
        }
        if t.status == Status::New.as_str() {
            change_status(
                ctx,
                conn,
                &mut t,
                Status::Open,
                Actor::User(user_id),
                at,
                "status_changed",
            )?;
        }
    }
    t.updated_at = at.naive_utc();
    repo::save(conn, &t)?;
    webhooks::emit(conn, &ctx.settings, "message.created", message_webhook_data(&t, &m), at)?;
    Ok((t, m, plan.notice))
}

/// A reply cannot be delivered: the message shows `failed` with the reason, and the audit says so
/// (with the channel's `details`, e.g. a bounce's status and recipient).
pub fn fail_delivery(
    conn: &mut DbConnection,
    m: &Message,
    why: &str,
    details: Option<Value>,
    at: DateTime<Utc>,
) -> AppResult<()> {
    repo::set_delivery(conn, m.id, DeliveryState::Failed.as_str(), Some(why))?;
    let mut after = json!({ "message_id": m.id, "error": why });
    if let (Some(Value::Object(extra)), Some(obj)) = (details, after.as_object_mut()) {
        obj.extend(extra);
    }
    record_event(
        conn,
        m.ticket_id,
        Actor::System,
        "delivery_failed",
        None,
        Some(after),
        at,
    )
}

/// Closes resolved tickets whose reopen window has passed. Returns how many.
pub async fn auto_close(ctx: &AppContext) -> AppResult<usize> {
    let ctx2 = ctx.clone();
    ctx.write(move |conn| {
        let now = ctx2.clock.now();
        let cutoff = now - Duration::hours(ctx2.settings.tickets.reopen_window_hours as i64);
        let due = repo::resolved_before(conn, cutoff.naive_utc(), 500)?;
        for mut t in due.iter().cloned() {
            change_status(&ctx2, conn, &mut t, Status::Closed, Actor::System, now, "auto_closed")?;
            repo::save(conn, &t)?;
        }
        Ok(due.len())
    })
    .await
}

/// Does a citizen's message at `at` still reopen this resolved ticket?
pub fn within_reopen_window(ctx: &AppContext, t: &Ticket, at: DateTime<Utc>) -> bool {
    let window = Duration::hours(ctx.settings.tickets.reopen_window_hours as i64);
    t.resolved_at.is_some_and(|r| at.naive_utc() < r + window)
}
