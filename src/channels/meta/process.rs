//! The `meta_event` job: parse one stored webhook body and apply its events in timestamp order,
//! in one transaction, each event in a savepoint so one bad event does not sink the batch.
//! Applying twice changes nothing: messages are keyed by the platform's id.

use chrono::{DateTime, Utc};
use diesel::Connection;
use serde::Serialize;
use serde_json::{Value, json};

use super::event::{Event, EventKind, Incoming};
use super::{Platform, graph, inbox, instagram, whatsapp};
use crate::contacts::{Identity, IdentityKind};
use crate::context::AppContext;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::intake::{self, InboundMessage};
use crate::jobs::JobFailure;
use crate::tickets::model::{Actor, DeliveryState, Direction, Message, NewMessage};
use crate::tickets::{repo, service};

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub messages: usize,
    pub tickets_created: usize,
    pub duplicates: usize,
    pub updates: usize,
    pub ignored: Vec<String>,
    /// Events about a message not stored yet (Meta does not keep order, and several workers may
    /// process neighbouring bodies at once): the body is retried until [`DEFER_LIMIT`] has passed.
    pub waiting: Vec<String>,
    pub problems: Vec<String>,
}

/// How long an event may wait for the message it refers to before it is given up as unknown.
pub const DEFER_LIMIT: chrono::Duration = chrono::Duration::minutes(2);

pub async fn run(ctx: &AppContext, payload: &str) -> Result<(), JobFailure> {
    let job: inbox::ProcessEvent = serde_json::from_str(payload)
        .map_err(|e| JobFailure::Permanent(format!("unreadable meta_event payload: {e}")))?;
    let id = job.event_id;
    let stored = ctx
        .db
        .read(move |conn| inbox::get(conn, id).map_err(AppError::from))
        .await
        .map_err(|e| match e {
            AppError::NotFound => JobFailure::Permanent(format!("inbound event {id} does not exist")),
            other => JobFailure::Retry(other.to_string()),
        })?;
    if stored.state == inbox::STATE_PROCESSED {
        return Ok(());
    }
    let Some(platform) = Platform::parse(&stored.source) else {
        return Err(JobFailure::Permanent(format!(
            "inbound event {id} has unknown source {}",
            stored.source
        )));
    };
    let received = stored.received_at.and_utc();
    let account = platform.account_id(&ctx.settings).to_string();
    let parsed = match platform {
        Platform::Instagram => instagram::parse(&stored.payload, &account, received),
        Platform::Whatsapp => whatsapp::parse(&stored.payload, &account, &platform.graph_root(&ctx.settings), received),
    };
    let mut events = match parsed {
        Ok(events) => events,
        Err(why) => {
            log::warn!("inbound event {id} ({}) cannot be understood: {why}", platform.as_str());
            let outcome = json!({ "error": why }).to_string();
            let ctx2 = ctx.clone();
            ctx.write(move |conn| {
                inbox::finish(conn, id, inbox::STATE_FAILED, &outcome, ctx2.clock.now().naive_utc())?;
                Ok(())
            })
            .await
            .map_err(|e| JobFailure::Retry(e.to_string()))?;
            return Ok(());
        }
    };
    for e in events.iter_mut() {
        if let EventKind::Mention { media_id, comment_id } = &e.kind {
            e.kind = match graph::fetch_mention(ctx, media_id, comment_id).await {
                Ok(comment) => instagram::comment(&comment, &account, "mentions"),
                Err(graph::SendError::Retry(m)) => return Err(JobFailure::Retry(m)),
                Err(graph::SendError::WindowClosed(m) | graph::SendError::Permanent(m)) => {
                    EventKind::Ignored(format!("mention comment {comment_id} could not be fetched: {m}"))
                }
            };
        }
    }
    // Meta does not promise order; the platform timestamp does (stable for equal ones).
    events.sort_by_key(|e| e.at);
    let ctx2 = ctx.clone();
    let summary = ctx
        .write(move |conn| {
            let mut summary = apply_all(&ctx2, conn, platform, &events)?;
            let now = ctx2.clock.now();
            if !summary.waiting.is_empty() && now - received < DEFER_LIMIT {
                // What could be applied is; the rest is tried again shortly.
                inbox::note(conn, id, &serde_json::to_string(&summary)?)?;
                return Ok(summary);
            }
            let gave_up = std::mem::take(&mut summary.waiting);
            summary
                .ignored
                .extend(gave_up.into_iter().map(|w| format!("{w}: no such message arrived")));
            let state = if summary.problems.is_empty() {
                inbox::STATE_PROCESSED
            } else {
                inbox::STATE_FAILED
            };
            let outcome = serde_json::to_string(&summary)?;
            inbox::finish(conn, id, state, &outcome, now.naive_utc())?;
            Ok(summary)
        })
        .await
        .map_err(|e| JobFailure::Retry(e.to_string()))?;
    if !summary.waiting.is_empty() {
        return Err(JobFailure::Retry(format!(
            "waiting for {} referenced message(s): {}",
            summary.waiting.len(),
            summary.waiting.join("; ")
        )));
    }
    if !summary.problems.is_empty() {
        log::warn!(
            "inbound event {id}: {} event(s) not applied: {:?}",
            summary.problems.len(),
            summary.problems
        );
    }
    Ok(())
}

/// Applies events in order inside the caller's transaction.
pub fn apply_all(
    ctx: &AppContext,
    conn: &mut DbConnection,
    platform: Platform,
    events: &[Event],
) -> AppResult<Summary> {
    let mut summary = Summary::default();
    for e in events {
        let mut local = Summary::default();
        let result = conn.transaction::<_, AppError, _>(|c| apply(ctx, c, platform, e, &mut local));
        match result {
            Ok(()) => merge(&mut summary, local),
            // Database trouble (or a racing writer) aborts the batch; the job retries it whole.
            Err(e @ (AppError::Internal(_) | AppError::Unavailable(_) | AppError::Conflict { .. })) => return Err(e),
            Err(other) => summary
                .problems
                .push(format!("{}: {}", describe(&e.kind), problem_text(&other))),
        }
    }
    Ok(summary)
}

fn problem_text(e: &AppError) -> String {
    match e {
        AppError::Validation(fields) => fields
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

fn merge(into: &mut Summary, from: Summary) {
    into.messages += from.messages;
    into.tickets_created += from.tickets_created;
    into.duplicates += from.duplicates;
    into.updates += from.updates;
    into.ignored.extend(from.ignored);
    into.waiting.extend(from.waiting);
    into.problems.extend(from.problems);
}

fn describe(kind: &EventKind) -> String {
    match kind {
        EventKind::Message(m) => format!("message {}", m.external_id),
        EventKind::Echo { mid, .. } => format!("echo {mid}"),
        EventKind::Deleted { mid } => format!("unsend of {mid}"),
        EventKind::Edited { mid, .. } => format!("edit of {mid}"),
        EventKind::Read { mid } => format!("read receipt for {mid}"),
        EventKind::Reaction { mid, .. } => format!("reaction to {mid}"),
        EventKind::Status { id, .. } => format!("status of {id}"),
        EventKind::Mention { comment_id, .. } => format!("mention {comment_id}"),
        EventKind::OwnComment { comment_id } => format!("own comment {comment_id}"),
        EventKind::Ignored(_) => "ignored event".into(),
    }
}

fn apply(ctx: &AppContext, conn: &mut DbConnection, platform: Platform, e: &Event, s: &mut Summary) -> AppResult<()> {
    let channel = platform.channel();
    let now = ctx.clock.now();
    match &e.kind {
        EventKind::Message(inc) => {
            let msg = inbound_message(platform, inc, e.at)?;
            let out = intake::ingest_in_tx(ctx, conn, &msg)?;
            if out.duplicate {
                s.duplicates += 1;
            } else {
                s.messages += 1;
                s.tickets_created += usize::from(out.created_ticket);
                release_held(ctx, conn, out.ticket_id, now)?;
            }
        }
        EventKind::Echo { mid, recipient, text } => echo(ctx, conn, mid, recipient, text, e.at, s)?,
        EventKind::Deleted { mid } => match repo::find_message_by_external_id(conn, channel.as_str(), mid)? {
            Some(m) if m.deleted_at.is_none() => {
                repo::mark_message_deleted(conn, m.id, e.at.naive_utc())?;
                service::record_event(
                    conn,
                    m.ticket_id,
                    actor_of(&m),
                    "message_deleted",
                    Some(json!({ "message_id": m.id, "text": m.body_text })),
                    Some(json!({ "message_id": m.id, "deleted_at": e.at })),
                    now,
                )?;
                s.updates += 1;
            }
            Some(_) => s.duplicates += 1,
            None => s.waiting.push(format!("unsend of {mid}")),
        },
        EventKind::Edited { mid, text } => match repo::find_message_by_external_id(conn, channel.as_str(), mid)? {
            Some(m) if m.body_text != *text && m.deleted_at.is_none() => {
                repo::edit_message_text(conn, m.id, text, e.at.naive_utc())?;
                service::record_event(
                    conn,
                    m.ticket_id,
                    actor_of(&m),
                    "message_edited",
                    Some(json!({ "message_id": m.id, "text": m.body_text })),
                    Some(json!({ "message_id": m.id, "text": text })),
                    now,
                )?;
                s.updates += 1;
            }
            Some(_) => s.duplicates += 1,
            None => s.waiting.push(format!("edit of {mid}")),
        },
        EventKind::Read { mid } => match repo::find_message_by_external_id(conn, channel.as_str(), mid)? {
            Some(m) if m.direction == Direction::Outbound.as_str() => {
                s.updates += repo::mark_outbound_read_up_to(conn, &m)?;
            }
            Some(_) => s.ignored.push(format!("read receipt for inbound message {mid}")),
            None => s.waiting.push(format!("read receipt for {mid}")),
        },
        EventKind::Reaction { mid, by, emoji } => match repo::find_message_by_external_id(conn, channel.as_str(), mid)?
        {
            Some(m) => {
                let mut meta = metadata_of(&m);
                let reactions = meta
                    .as_object_mut()
                    .expect("metadata_of returns an object")
                    .entry("reactions")
                    .or_insert_with(|| json!({}));
                match emoji {
                    Some(em) => reactions[by.as_str()] = json!(em),
                    None => {
                        if let Some(o) = reactions.as_object_mut() {
                            o.remove(by.as_str());
                        }
                    }
                }
                repo::set_message_metadata(conn, m.id, &meta.to_string())?;
                service::record_event(
                    conn,
                    m.ticket_id,
                    Actor::System,
                    "reaction",
                    None,
                    Some(json!({ "message_id": m.id, "by": by, "emoji": emoji })),
                    now,
                )?;
                s.updates += 1;
            }
            None => s.waiting.push(format!("reaction to {mid}")),
        },
        EventKind::Status { id, status, error } => match repo::find_message_by_external_id(conn, channel.as_str(), id)?
        {
            Some(m) if m.direction == Direction::Outbound.as_str() => {
                if status == "failed" {
                    let why = error
                        .clone()
                        .unwrap_or_else(|| "WhatsApp reported the message failed".into());
                    service::fail_delivery(conn, &m, &why, None, now)?;
                    s.updates += 1;
                } else if let Some(state) = DeliveryState::parse(status) {
                    s.updates += repo::advance_delivery(conn, &m, state)?;
                } else {
                    s.ignored.push(format!("status `{status}` of {id} is not known"));
                }
            }
            Some(_) => s.ignored.push(format!("status for inbound message {id}")),
            None => s.waiting.push(format!("status of {id}")),
        },
        EventKind::OwnComment { comment_id } => {
            let ext = instagram::comment_external_id(comment_id);
            match repo::find_message_by_external_id(conn, channel.as_str(), &ext)? {
                Some(m) => s.updates += repo::advance_delivery(conn, &m, DeliveryState::Sent)?,
                None => s.ignored.push(format!("comment {comment_id} by our own account")),
            }
        }
        EventKind::Mention { comment_id, .. } => s.ignored.push(format!("mention {comment_id} was not fetched")),
        EventKind::Ignored(why) => s.ignored.push(why.clone()),
    }
    Ok(())
}

fn actor_of(m: &Message) -> Actor {
    match (m.author_contact_id, m.author_user_id) {
        (_, Some(u)) => Actor::User(u),
        (Some(c), None) => Actor::Contact(c),
        _ => Actor::System,
    }
}

pub fn metadata_of(m: &Message) -> Value {
    m.metadata
        .as_deref()
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}))
}

fn inbound_message(platform: Platform, inc: &Incoming, at: DateTime<Utc>) -> AppResult<InboundMessage> {
    let (sender, also) = match platform {
        Platform::Instagram => (identity(IdentityKind::Instagram, &inc.sender_id)?, Vec::new()),
        // A WhatsApp id is the citizen's phone number: the same person who phones or writes from it.
        Platform::Whatsapp => (
            identity(IdentityKind::Whatsapp, &inc.sender_id)?,
            vec![identity(IdentityKind::Phone, &inc.sender_id)?],
        ),
    };
    Ok(InboundMessage {
        channel: platform.channel(),
        external_id: Some(inc.external_id.clone()),
        sender,
        also_known_as: also,
        display_name: inc.display_name.clone(),
        subject: None,
        text: inc.text.clone(),
        html: None,
        attachments: inc.attachments.clone(),
        ticket_ref: None,
        thread_key: inc.thread_key.clone(),
        metadata: Some(inc.metadata.clone()),
        received_at: at,
    })
}

fn identity(kind: IdentityKind, value: &str) -> AppResult<Identity> {
    Identity::parse(kind, value).map_err(|m| AppError::field("sender", m))
}

/// Our own send, seen again. A reply sent through the API is recognised by its id (or, when the
/// echo outruns the delivery job's commit, by its text); one typed in the Instagram app is
/// recorded as an outbound message on the citizen's open conversation. Never a new ticket.
fn echo(
    ctx: &AppContext,
    conn: &mut DbConnection,
    mid: &str,
    recipient: &str,
    text: &str,
    at: DateTime<Utc>,
    s: &mut Summary,
) -> AppResult<()> {
    let channel = Platform::Instagram.channel();
    if let Some(m) = repo::find_message_by_external_id(conn, channel.as_str(), mid)? {
        s.updates += repo::advance_delivery(conn, &m, DeliveryState::Sent)?;
        return Ok(());
    }
    let Ok(who) = Identity::parse(IdentityKind::Instagram, recipient) else {
        s.ignored.push(format!("echo {mid} without a recipient"));
        return Ok(());
    };
    let Some(contact) = crate::contacts::repo::find_by_identity(conn, &who)? else {
        s.waiting
            .push(format!("echo {mid} (no conversation with {recipient} yet)"));
        return Ok(());
    };
    let Some(ticket) = repo::latest_unclosed_for_contact(conn, contact.id, channel.as_str(), None)? else {
        s.waiting
            .push(format!("echo {mid} (no open conversation with {recipient})"));
        return Ok(());
    };
    if let Some(m) = repo::unconfirmed_outbound_with_text(conn, ticket.id, text)? {
        repo::set_external_id(conn, m.id, mid)?;
        s.updates += repo::advance_delivery(conn, &m, DeliveryState::Sent)?;
        return Ok(());
    }
    let meta = json!({ "kind": "echo", "sent_from": "instagram_app" }).to_string();
    let m = repo::insert_message(
        conn,
        &NewMessage {
            ticket_id: ticket.id,
            direction: Direction::Outbound.as_str(),
            channel: channel.as_str(),
            author_user_id: None,
            author_contact_id: None,
            body_text: text,
            body_html: None,
            external_id: Some(mid),
            delivery_state: DeliveryState::Sent.as_str(),
            created_at: at.naive_utc(),
            metadata: Some(&meta),
        },
    )?;
    service::record_event(
        conn,
        ticket.id,
        Actor::System,
        "message_added",
        None,
        Some(json!({ "message_id": m.id, "direction": "outbound", "sent_from": "instagram_app" })),
        ctx.clock.now(),
    )?;
    s.messages += 1;
    Ok(())
}

/// The citizen wrote again, so the platform's window is open: queue the replies held for them.
pub fn release_held(ctx: &AppContext, conn: &mut DbConnection, ticket_id: i64, now: DateTime<Utc>) -> AppResult<()> {
    for m in repo::held_messages(conn, ticket_id)? {
        repo::set_delivery(conn, m.id, DeliveryState::Queued.as_str(), None)?;
        crate::tickets::delivery::enqueue(ctx, conn, m.id, now)?;
        service::record_event(
            conn,
            ticket_id,
            Actor::System,
            "reply_released",
            None,
            Some(json!({ "message_id": m.id })),
            now,
        )?;
    }
    Ok(())
}
