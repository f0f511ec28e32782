//! Intake: the one path from any channel into the ticket store. A channel adapter verifies and
//! parses its protocol and hands over one [`InboundMessage`]; intake resolves the contact,
//! threads the message (explicit reference, else the contact's open ticket on that channel, else
//! a new ticket), stores it with its attachments and events, all in one transaction. The same
//! `(channel, external_id)` twice changes nothing and returns the same ticket, also under races.

use chrono::{DateTime, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::contacts::Identity;
use crate::context::AppContext;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::jobs::webhooks;
use crate::tickets::model::*;
use crate::tickets::service::{self, NewTicketSpec};
use crate::tickets::{Status, repo};

#[derive(Clone, Debug, Default)]
pub struct InboundAttachment {
    pub filename: String,
    pub content_type: String,
    pub content: Vec<u8>,
    /// Where the platform serves media it does not send inline (Instagram CDN, WhatsApp media
    /// id); with no content, only this link and the metadata are stored.
    pub source_url: Option<String>,
}

#[derive(Clone, Debug)]
pub struct InboundMessage {
    pub channel: Channel,
    /// The channel's own message id (Instagram mid, Message-ID, wamid, …): the idempotency key.
    pub external_id: Option<String>,
    pub sender: Identity,
    /// Further identities of the same person the channel vouches for (a WhatsApp id is also
    /// the citizen's phone number), so one contact gathers every channel they use.
    pub also_known_as: Vec<Identity>,
    pub display_name: Option<String>,
    /// Subject for a new ticket (e-mail); otherwise the start of the text is used.
    pub subject: Option<String>,
    pub text: String,
    /// Already sanitised HTML, when the channel has it.
    pub html: Option<String>,
    pub attachments: Vec<InboundAttachment>,
    /// An explicit ticket number the adapter has verified (e.g. a signed reply address).
    pub ticket_ref: Option<String>,
    /// A conversation of this contact on the channel other than their direct thread (the
    /// comments of one citizen under one Instagram post); `None` for direct messages.
    pub thread_key: Option<String>,
    /// Channel details kept with the message (reply_to, story, comment ids …).
    pub metadata: Option<serde_json::Value>,
    pub received_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntakeOutcome {
    pub ticket_id: i64,
    pub ticket_number: String,
    pub message_id: i64,
    pub contact_id: i64,
    pub created_ticket: bool,
    pub reopened: bool,
    /// This (channel, external id) was already stored; nothing changed.
    pub duplicate: bool,
    /// The citizen's access token, only when a ticket was created now.
    pub access_token: Option<String>,
}

/// Stores one inbound message in its own write transaction, retrying on races.
pub async fn ingest(ctx: &AppContext, msg: InboundMessage) -> AppResult<IntakeOutcome> {
    let ctx2 = ctx.clone();
    ctx.write(move |conn| ingest_in_tx(&ctx2, conn, &msg)).await
}

/// The blocking form, for callers already off the executor (CLI, workers).
pub fn ingest_blocking(ctx: &AppContext, msg: &InboundMessage) -> AppResult<IntakeOutcome> {
    ctx.write_blocking(|conn| ingest_in_tx(ctx, conn, msg))
}

fn validate(msg: &InboundMessage) -> AppResult<()> {
    if let Some(id) = &msg.external_id
        && (id.is_empty() || id.len() > 512)
    {
        return Err(AppError::field("external_id", "must be 1 to 512 characters"));
    }
    if msg.text.trim().is_empty() && msg.attachments.is_empty() && msg.html.is_none() {
        return Err(AppError::field("text", "a message needs text or an attachment"));
    }
    Ok(())
}

fn subject_from(msg: &InboundMessage) -> String {
    if let Some(s) = msg.subject.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        return s.chars().take(200).collect();
    }
    let first_line = msg.text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    if first_line.is_empty() {
        return format!("Pesan {} tanpa teks", msg.channel);
    }
    let mut s: String = first_line.chars().take(80).collect();
    if first_line.chars().count() > 80 {
        s.push('…');
    }
    s
}

/// How a message without an explicit `ticket_ref` is threaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threading {
    /// Into the contact's open ticket on the channel (chat-like channels).
    ContactsOpenTicket,
    /// Always a new ticket (e-mail: a mail that refers to no ticket is a new matter).
    NewTicket,
}

/// Intake inside the caller's transaction.
pub fn ingest_in_tx(ctx: &AppContext, conn: &mut DbConnection, msg: &InboundMessage) -> AppResult<IntakeOutcome> {
    ingest_in_tx_with(ctx, conn, msg, Threading::ContactsOpenTicket)
}

/// [`ingest_in_tx`] with an explicit rule for messages that carry no `ticket_ref`.
pub fn ingest_in_tx_with(
    ctx: &AppContext,
    conn: &mut DbConnection,
    msg: &InboundMessage,
    threading: Threading,
) -> AppResult<IntakeOutcome> {
    validate(msg)?;
    if let Some(ext) = &msg.external_id
        && let Some(existing) = repo::find_message_by_external_id(conn, msg.channel.as_str(), ext)?
    {
        let t = repo::get(conn, existing.ticket_id)?;
        return Ok(IntakeOutcome {
            ticket_id: t.id,
            ticket_number: t.number,
            message_id: existing.id,
            contact_id: t.contact_id,
            created_ticket: false,
            reopened: false,
            duplicate: true,
            access_token: None,
        });
    }
    let at = msg.received_at;
    let now = ctx.clock.now();
    let mut identities = Vec::with_capacity(1 + msg.also_known_as.len());
    identities.push(msg.sender.clone());
    identities.extend(msg.also_known_as.iter().cloned());
    // Locked: one message per citizen at a time, so a burst threads into one ticket instead of
    // opening several.
    let (contact, _) = service::resolve_contact(conn, &identities, msg.display_name.as_deref(), now, true)?;
    let actor = Actor::Contact(contact.id);

    // Thread: explicit reference first, then the contact's unclosed ticket on this channel, else
    // their last (closed) one there, which the new ticket is linked to.
    let mut target = match &msg.ticket_ref {
        Some(number) => repo::find_by_number(conn, number)?,
        None => None,
    };
    if target.is_none() && threading == Threading::ContactsOpenTicket {
        let channel = msg.channel.as_str();
        let thread = msg.thread_key.as_deref();
        target = repo::latest_in_thread(conn, contact.id, channel, thread)?;
    }
    let mut parent = None;
    let mut reopened = false;
    if let Some(t) = target.as_mut() {
        match Status::parse(&t.status) {
            Some(Status::Closed) => {
                parent = Some(t.id);
                target = None;
            }
            Some(Status::Resolved)
                if service::within_reopen_window(ctx, t, at)
                    || crate::sla::service::awaiting_silence_close(conn, t.id)? =>
            {
                service::change_status(ctx, conn, t, Status::Open, actor, now, "reopened")?;
                reopened = true;
            }
            Some(Status::Resolved) => {
                // Past the window: close the old ticket and open a new one linked to it.
                service::change_status(ctx, conn, t, Status::Closed, Actor::System, now, "auto_closed")?;
                repo::save(conn, t)?;
                parent = Some(t.id);
                target = None;
            }
            Some(Status::Pending) => {
                service::change_status(ctx, conn, t, Status::Open, actor, now, "status_changed")?;
            }
            _ => {}
        }
    }
    let metadata = msg.metadata.as_ref().map(|m| m.to_string());
    let new_message = |ticket_id| NewMessage {
        ticket_id,
        direction: Direction::Inbound.as_str(),
        channel: msg.channel.as_str(),
        author_user_id: None,
        author_contact_id: Some(contact.id),
        body_text: &msg.text,
        body_html: msg.html.as_deref(),
        external_id: msg.external_id.as_deref(),
        delivery_state: DeliveryState::Received.as_str(),
        created_at: at.naive_utc(),
        metadata: metadata.as_deref(),
    };
    let (mut ticket, message, token, created) = match target {
        Some(t) => {
            let message = repo::insert_message(conn, &new_message(t.id))?;
            (t, message, None, false)
        }
        None => {
            let subject = subject_from(msg);
            let (t, token, message) = service::open_ticket(
                ctx,
                conn,
                NewTicketSpec {
                    subject: &subject,
                    channel: msg.channel,
                    contact_id: contact.id,
                    priority: Priority::Normal,
                    category_id: None,
                    team_id: None,
                    parent_ticket_id: parent,
                    actor,
                    at: now,
                    last_inbound_at: Some(at),
                    thread_key: msg.thread_key.as_deref(),
                },
                new_message,
            )?;
            if let Some(p) = parent {
                service::record_event(
                    conn,
                    t.id,
                    Actor::System,
                    "linked",
                    None,
                    Some(json!({ "parent_ticket_id": p })),
                    now,
                )?;
            }
            (t, message, Some(token), true)
        }
    };
    let limit = ctx.settings.tickets.max_attachment_bytes;
    for a in &msg.attachments {
        let too_big = a.content.len() as u64 > limit;
        let sha = hex::encode(Sha256::digest(&a.content));
        repo::insert_attachment(
            conn,
            &NewAttachment {
                message_id: message.id,
                filename: &a.filename,
                content_type: &a.content_type,
                size_bytes: a.content.len() as i64,
                sha256: &sha,
                content: (!too_big && a.source_url.is_none()).then_some(a.content.as_slice()),
                created_at: now.naive_utc(),
                source_url: a.source_url.as_deref(),
            },
        )?;
        if too_big {
            service::record_event(
                conn,
                ticket.id,
                Actor::System,
                "attachment_not_stored",
                None,
                Some(
                    json!({ "message_id": message.id, "filename": a.filename, "size_bytes": a.content.len(), "limit_bytes": limit }),
                ),
                now,
            )?;
        }
    }
    service::record_event(
        conn,
        ticket.id,
        actor,
        "message_added",
        None,
        Some(json!({ "message_id": message.id, "direction": "inbound", "channel": msg.channel })),
        now,
    )?;
    if !created {
        ticket.last_inbound_at = Some(at.naive_utc());
        ticket.updated_at = now.naive_utc();
        repo::save(conn, &ticket)?;
        crate::sla::service::on_citizen_message(conn, &ticket, now)?;
    }
    webhooks::emit(
        conn,
        &ctx.settings,
        "message.created",
        service::message_webhook_data(&ticket, &message),
        now,
    )?;
    Ok(IntakeOutcome {
        ticket_id: ticket.id,
        ticket_number: ticket.number,
        message_id: message.id,
        contact_id: contact.id,
        created_ticket: created,
        reopened,
        duplicate: false,
        access_token: token,
    })
}
