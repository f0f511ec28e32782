//! The inbound pipeline every way in shares (IMAP, `ingest-email`, the HTTP endpoint):
//! parse (outside the transaction) → dedupe → loops and bounces → thread → auto-replies become a
//! note on their ticket or are ignored → everything else goes through [`crate::intake`], with
//! the original kept, the participants recorded and the acknowledgement queued, in one
//! transaction.

use std::sync::Arc;

use serde::Serialize;
use serde_json::json;

use super::classify::Class;
use super::parse::{EmailAttachment, ParsedEmail, parse};
use super::{outbound, repo};
use crate::contacts::{Identity, IdentityKind};
use crate::context::AppContext;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::intake::{self, InboundAttachment, InboundMessage, Threading};
use crate::tickets::model::*;
use crate::tickets::{repo as tickets_repo, service};

/// What happened to one mail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EmailReport {
    /// `created_ticket`, `appended`, `duplicate`, `auto_reply_noted`, `ignored`, `bounce_recorded`.
    pub action: &'static str,
    pub ticket_id: Option<i64>,
    pub ticket_number: Option<String>,
    pub message_id: Option<i64>,
    /// How the mail was threaded: `in_reply_to`, `references`, `plus_address`, `subject_tag`.
    pub matched_by: Option<&'static str>,
    pub reason: Option<String>,
    pub acknowledged: bool,
}

impl EmailReport {
    pub(crate) fn new(action: &'static str) -> EmailReport {
        EmailReport {
            action,
            ticket_id: None,
            ticket_number: None,
            message_id: None,
            matched_by: None,
            reason: None,
            acknowledged: false,
        }
    }

    fn on(mut self, t: &Ticket) -> EmailReport {
        self.ticket_id = Some(t.id);
        self.ticket_number = Some(t.number.clone());
        self
    }
}

/// Parses with this instance's settings.
pub fn parse_raw(ctx: &AppContext, raw: &[u8]) -> AppResult<ParsedEmail> {
    let e = &ctx.settings.email;
    parse(raw, &e.domain(), &e.loop_id, e.max_message_bytes)
}

/// Parses off the executor, then stores in one write transaction.
pub async fn ingest(ctx: &AppContext, raw: Vec<u8>) -> AppResult<EmailReport> {
    let ctx2 = ctx.clone();
    let parsed = crate::db::blocking(move || parse_raw(&ctx2, &raw)).await?;
    let parsed = Arc::new(parsed);
    let ctx2 = ctx.clone();
    ctx.write(move |conn| store(&ctx2, conn, &parsed)).await
}

/// The blocking form for the CLI and workers.
pub fn ingest_blocking(ctx: &AppContext, raw: &[u8]) -> AppResult<EmailReport> {
    let parsed = parse_raw(ctx, raw)?;
    ctx.write_blocking(|conn| store(ctx, conn, &parsed))
}

/// A ticket this mail refers to, found by the threading rules, with the rule that matched.
fn thread(
    ctx: &AppContext,
    conn: &mut DbConnection,
    mail: &ParsedEmail,
    sender_contact: Option<i64>,
) -> AppResult<Option<(Ticket, &'static str)>> {
    // 1. In-Reply-To / References (right-most first). Our own outbound ids are unguessable, so any
    //    reply to one threads; a citizen's own Message-ID is known to others, so it threads only
    //    the mail of that ticket's contact (or a participant).
    for (i, rfc_id) in mail.references.iter().enumerate() {
        let Some(known) = repo::find_id(conn, rfc_id)? else {
            continue;
        };
        let t = tickets_repo::get(conn, known.ticket_id)?;
        if known.direction == "outbound" || may_use_ticket(conn, &t, sender_contact, mail)? {
            return Ok(Some((t, if i == 0 { "in_reply_to" } else { "references" })));
        }
    }
    // 2. A signed reply address of ours.
    let e = &ctx.settings.email;
    let from = e.from_mailbox().map_err(AppError::internal)?.email.to_string();
    if let Some(number) = super::address::number_from_recipients(&mail.recipients, &from, e.address_secret.expose())
        && let Some(t) = tickets_repo::find_by_number(conn, &number)?
    {
        return Ok(Some((t, "plus_address")));
    }
    // 3. The subject tag, only from the ticket's contact or a participant.
    if let Some(number) = super::address::number_from_subject(&mail.subject)
        && let Some(t) = tickets_repo::find_by_number(conn, &number)?
        && may_use_ticket(conn, &t, sender_contact, mail)?
    {
        return Ok(Some((t, "subject_tag")));
    }
    Ok(None)
}

fn may_use_ticket(
    conn: &mut DbConnection,
    t: &Ticket,
    sender_contact: Option<i64>,
    mail: &ParsedEmail,
) -> AppResult<bool> {
    Ok(sender_contact == Some(t.contact_id) || repo::is_participant(conn, t.id, mail.from.as_str())?)
}

fn sender_identity(mail: &ParsedEmail) -> Identity {
    Identity {
        kind: IdentityKind::Email,
        value: mail.from.as_str().to_string(),
    }
}

/// Our From address or one of our reply addresses (`<local>+…@<domain>`).
fn is_our_address(ctx: &AppContext, addr: &str) -> bool {
    let Ok(own) = ctx.settings.email.from_mailbox() else {
        return false;
    };
    let own = own.email.to_string();
    let Some((local, domain)) = own.rsplit_once('@') else {
        return false;
    };
    addr == own || (addr.starts_with(&format!("{local}+")) && addr.ends_with(&format!("@{domain}")))
}

/// Keeps a machine mail (auto-reply, bounce) as an internal note on ticket `t`, with its
/// Message-ID (so it is not stored twice) and its original.
pub(crate) fn store_note(
    conn: &mut DbConnection,
    t: &Ticket,
    mail: &ParsedEmail,
    body: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<Message> {
    let at = now.naive_utc();
    let m = tickets_repo::insert_message(
        conn,
        &NewMessage {
            ticket_id: t.id,
            direction: Direction::Note.as_str(),
            channel: Channel::Email.as_str(),
            author_user_id: None,
            author_contact_id: None,
            body_text: body,
            body_html: None,
            external_id: Some(&mail.key),
            delivery_state: DeliveryState::Internal.as_str(),
            created_at: at,
            metadata: None,
        },
    )?;
    repo::insert_id(conn, &mail.key, t.id, Some(m.id), "inbound", at)?;
    repo::insert_raw(conn, m.id, &mail.raw_kept, mail.size as i64, mail.over_limit, at)?;
    Ok(m)
}

/// Stores one parsed mail inside the caller's transaction.
pub fn store(ctx: &AppContext, conn: &mut DbConnection, mail: &ParsedEmail) -> AppResult<EmailReport> {
    let now = ctx.clock.now();
    // Dedupe: the same Message-ID (or raw hash) twice changes nothing.
    if let Some(known) = repo::find_id(conn, &mail.key)? {
        let t = tickets_repo::get(conn, known.ticket_id)?;
        let mut r = EmailReport::new("duplicate").on(&t);
        r.message_id = known.message_id;
        return Ok(r);
    }
    if repo::is_ignored(conn, &mail.key)? {
        let mut r = EmailReport::new("duplicate");
        r.reason = Some("already seen and ignored".into());
        return Ok(r);
    }
    let ignore = |conn: &mut DbConnection, reason: String| -> AppResult<EmailReport> {
        repo::insert_ignored(
            conn,
            &mail.key,
            &reason,
            mail.from.as_str(),
            &mail.subject,
            now.naive_utc(),
        )?;
        log::info!("email {}: ignored ({reason})", mail.log_id());
        let mut r = EmailReport::new("ignored");
        r.reason = Some(reason);
        Ok(r)
    };
    if is_our_address(ctx, mail.from.as_str()) {
        return ignore(conn, "mail from our own address (loop)".into());
    }
    match &mail.class {
        Class::Loop => return ignore(conn, "our own mail came back (loop)".into()),
        Class::Bounce(b) => return outbound::record_bounce(ctx, conn, mail, b),
        _ => {}
    }
    let sender_contact = crate::contacts::repo::find_by_identity(conn, &sender_identity(mail))?.map(|c| c.id);
    let threaded = thread(ctx, conn, mail, sender_contact)?;

    if let Class::Auto { reason, out_of_office } = &mail.class {
        // Auto-replies never open, reopen or get acknowledged; on a known ticket they become a
        // note so the agent knows (e.g. "on leave until …").
        let Some((t, matched_by)) = threaded else {
            return ignore(conn, format!("automatic mail: {reason}"));
        };
        let label = if *out_of_office {
            "Balasan otomatis (di luar kantor)"
        } else {
            "Pesan otomatis"
        };
        let body = format!("{label} dari {}:\n\n{}", mail.from.as_str(), mail.text);
        let m = store_note(conn, &t, mail, &body, now)?;
        service::record_event(
            conn,
            t.id,
            Actor::System,
            "auto_reply_received",
            None,
            Some(json!({ "message_id": m.id, "reason": reason, "out_of_office": out_of_office })),
            now,
        )?;
        let mut r = EmailReport::new("auto_reply_noted").on(&t);
        r.message_id = Some(m.id);
        r.matched_by = Some(matched_by);
        r.reason = Some(reason.clone());
        return Ok(r);
    }

    let (attachments, dropped): (Vec<&EmailAttachment>, Vec<&EmailAttachment>) =
        mail.attachments.iter().partition(|_| !mail.over_limit);
    let mut text = if mail.text.trim().is_empty() {
        mail.subject.clone()
    } else {
        mail.text.clone()
    };
    if mail.over_limit {
        text.push_str(&format!(
            "\n\n[Surel ini {} byte, melebihi batas {} byte: lampiran tidak disimpan.]",
            mail.size, ctx.settings.email.max_message_bytes
        ));
    }
    let msg = InboundMessage {
        channel: Channel::Email,
        external_id: Some(mail.key.clone()),
        sender: sender_identity(mail),
        also_known_as: Vec::new(),
        display_name: mail.from_name.clone(),
        subject: Some(mail.subject.clone()).filter(|s| !s.is_empty()),
        text,
        html: mail.html.clone(),
        attachments: attachments
            .iter()
            .map(|a| InboundAttachment {
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                content: a.content.clone(),
                source_url: None,
            })
            .collect(),
        ticket_ref: threaded.as_ref().map(|(t, _)| t.number.clone()),
        thread_key: None,
        metadata: None,
        received_at: now,
    };
    let out = intake::ingest_in_tx_with(ctx, conn, &msg, Threading::NewTicket)?;
    let mut report = EmailReport::new(if out.duplicate {
        "duplicate"
    } else if out.created_ticket {
        "created_ticket"
    } else {
        "appended"
    });
    report.ticket_id = Some(out.ticket_id);
    report.ticket_number = Some(out.ticket_number.clone());
    report.message_id = Some(out.message_id);
    report.matched_by = threaded.as_ref().filter(|_| !out.created_ticket).map(|(_, m)| *m);
    if out.duplicate {
        return Ok(report);
    }
    let at = now.naive_utc();
    repo::insert_id(conn, &mail.key, out.ticket_id, Some(out.message_id), "inbound", at)?;
    repo::insert_raw(
        conn,
        out.message_id,
        &mail.raw_kept,
        mail.size as i64,
        mail.over_limit,
        at,
    )?;
    for addr in std::iter::once(mail.from.as_str()).chain(mail.cc.iter().map(String::as_str)) {
        if !is_our_address(ctx, addr) && crate::contacts::Email::parse(addr).is_ok() {
            repo::add_participant(conn, out.ticket_id, addr)?;
        }
    }
    if mail.over_limit {
        service::record_event(
            conn,
            out.ticket_id,
            Actor::System,
            "email_over_size_limit",
            None,
            Some(json!({
                "message_id": out.message_id, "size_bytes": mail.size,
                "limit_bytes": ctx.settings.email.max_message_bytes,
                "attachments_not_stored": dropped.iter().map(|a| json!({ "filename": a.filename, "size_bytes": a.size })).collect::<Vec<_>>(),
            })),
            now,
        )?;
    }
    if out.created_ticket
        && let Some(token) = &out.access_token
    {
        let t = tickets_repo::get(conn, out.ticket_id)?;
        report.acknowledged = outbound::enqueue_ack(ctx, conn, &t, mail.from.as_str(), token, now)?;
    }
    log::info!(
        "email {}: {} ticket {} message {}",
        mail.log_id(),
        report.action,
        out.ticket_id,
        out.message_id
    );
    Ok(report)
}
