//! Delivering a queued reply to Instagram or WhatsApp (run by the `deliver_message` job). The
//! window is checked again at send time; the platform's answer decides what the message shows:
//! `sent` with the platform's id, `held` when the window closed meanwhile, `failed` with the
//! reason, or still `queued` with the last error while the job retries.

use serde_json::json;

use super::graph::{self, SendError};
use super::process::metadata_of;
use super::window::{self, Mode};
use super::{Platform, instagram};
use crate::contacts::IdentityKind;
use crate::context::AppContext;
use crate::error::AppError;
use crate::jobs::JobFailure;
use crate::tickets::model::{Actor, DeliveryState, Message, Ticket};
use crate::tickets::{repo, service};

struct Outgoing {
    message: Message,
    ticket: Ticket,
    /// The contact's id on the platform (Instagram-scoped id, WhatsApp number without `+`).
    recipient: Option<String>,
}

pub async fn deliver(ctx: &AppContext, platform: Platform, message_id: i64) -> Result<(), JobFailure> {
    let out = ctx
        .db
        .read(move |conn| {
            let message = repo::get_message(conn, message_id)?;
            let ticket = repo::get(conn, message.ticket_id)?;
            let kind = match platform {
                Platform::Instagram => IdentityKind::Instagram,
                Platform::Whatsapp => IdentityKind::Whatsapp,
            };
            let recipient = crate::contacts::repo::identities_of(conn, &[ticket.contact_id])?
                .into_iter()
                .find(|i| i.kind == kind.as_str())
                .map(|i| i.value.trim_start_matches('+').to_string());
            Ok::<_, AppError>(Outgoing {
                message,
                ticket,
                recipient,
            })
        })
        .await
        .map_err(|e| JobFailure::Retry(e.to_string()))?;
    if out.message.delivery_state != DeliveryState::Queued.as_str() {
        // Already sent (a retry after the commit, or the echo matched it), held, or failed.
        return Ok(());
    }
    let result = send(ctx, platform, &out).await;
    record(ctx, &out, result).await
}

async fn send(ctx: &AppContext, platform: Platform, out: &Outgoing) -> Result<String, SendError> {
    let text = out.message.body_text.as_str();
    let meta = metadata_of(&out.message);
    let comment_id = meta.get("comment_id").and_then(|v| v.as_str()).unwrap_or_default();
    match (platform, meta.get("reply_via").and_then(|v| v.as_str())) {
        (Platform::Instagram, Some("comment")) => {
            let id = if meta.get("mention").and_then(|v| v.as_bool()) == Some(true) {
                let media = meta.get("media_id").and_then(|v| v.as_str()).unwrap_or_default();
                graph::instagram_mention_reply(ctx, media, comment_id, text).await?
            } else {
                graph::instagram_comment_reply(ctx, comment_id, text).await?
            };
            Ok(instagram::comment_external_id(&id))
        }
        (Platform::Instagram, Some("private_reply")) => graph::instagram_private_reply(ctx, comment_id, text).await,
        _ => {
            let recipient = out.recipient.as_deref().ok_or_else(|| {
                SendError::Permanent(format!("the contact has no {} identity to reply to", platform.label()))
            })?;
            let w = window::direct(platform, &ctx.settings, out.ticket.last_inbound_at, ctx.clock.now());
            match (platform, w.mode) {
                (_, Mode::Closed) => Err(SendError::WindowClosed(format!(
                    "the {} messaging window closed before the reply could be sent",
                    platform.label()
                ))),
                (Platform::Instagram, mode) => {
                    graph::instagram_send(ctx, recipient, text, mode == Mode::HumanAgent).await
                }
                (Platform::Whatsapp, _) => graph::whatsapp_send(ctx, recipient, text, None).await,
            }
        }
    }
}

async fn record(ctx: &AppContext, out: &Outgoing, result: Result<String, SendError>) -> Result<(), JobFailure> {
    let m = out.message.clone();
    let failure = match &result {
        Ok(_) => None,
        Err(SendError::Retry(why)) => Some(JobFailure::Retry(why.clone())),
        Err(SendError::Permanent(why)) => Some(JobFailure::Permanent(why.clone())),
        Err(SendError::WindowClosed(_)) => None,
    };
    let ctx2 = ctx.clone();
    ctx.write(move |conn| {
        let now = ctx2.clock.now();
        match &result {
            Ok(external_id) => {
                // An echo may already have recorded this id on a message of its own.
                if repo::find_message_by_external_id(conn, &m.channel, external_id)?.is_none() {
                    repo::set_external_id(conn, m.id, external_id)?;
                }
                repo::advance_delivery(conn, &m, DeliveryState::Sent)?;
            }
            Err(SendError::Retry(why)) => {
                repo::set_delivery(conn, m.id, DeliveryState::Queued.as_str(), Some(why))?;
            }
            Err(SendError::WindowClosed(why)) => {
                repo::set_delivery(conn, m.id, DeliveryState::Held.as_str(), Some(why))?;
                service::record_event(
                    conn,
                    m.ticket_id,
                    Actor::System,
                    "reply_held",
                    None,
                    Some(json!({ "message_id": m.id, "reason": why })),
                    now,
                )?;
            }
            Err(SendError::Permanent(why)) => service::fail_delivery(conn, &m, why, None, now)?,
        }
        Ok(())
    })
    .await
    .map_err(|e| JobFailure::Retry(e.to_string()))?;
    match failure {
        Some(f) => Err(f),
        None => Ok(()),
    }
}
