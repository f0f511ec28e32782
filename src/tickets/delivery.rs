//! Delivery of agent replies, run as `deliver_message` jobs from the outbox. Each channel adapter
//! plugs in here; a channel without an outbound adapter fails the delivery visibly on the message
//! instead of pretending it was sent.

use serde::{Deserialize, Serialize};

use super::model::{Channel, DeliveryState};
use super::{repo, service};
use crate::channels::meta::{self, Platform};
use crate::context::AppContext;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::jobs::JobFailure;

#[derive(Debug, Serialize, Deserialize)]
pub struct DeliverMessage {
    pub message_id: i64,
}

/// Queues delivery of outbound message `message_id` in the caller's transaction (the outbox).
pub fn enqueue(
    ctx: &AppContext,
    conn: &mut DbConnection,
    message_id: i64,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), AppError> {
    crate::jobs::enqueue(
        conn,
        &ctx.settings,
        crate::jobs::KIND_DELIVER_MESSAGE,
        &DeliverMessage { message_id },
        at,
    )?;
    Ok(())
}

pub async fn deliver(ctx: &AppContext, payload: &str) -> Result<(), JobFailure> {
    let job: DeliverMessage = serde_json::from_str(payload)
        .map_err(|e| JobFailure::Permanent(format!("unreadable deliver_message payload: {e}")))?;
    let id = job.message_id;
    let msg = ctx
        .db
        .read(move |conn| repo::get_message(conn, id).map_err(AppError::from))
        .await
        .map_err(|e| match e {
            AppError::NotFound => JobFailure::Permanent(format!("message {id} does not exist")),
            other => JobFailure::Retry(other.to_string()),
        })?;
    let channel = Channel::parse(&msg.channel)
        .ok_or_else(|| JobFailure::Permanent(format!("message {id} has unknown channel {}", msg.channel)))?;
    match channel {
        Channel::Email => crate::email::outbound::deliver(ctx, id).await,
        Channel::Instagram => meta::outbound::deliver(ctx, Platform::Instagram, id).await,
        Channel::Whatsapp => meta::outbound::deliver(ctx, Platform::Whatsapp, id).await,
        // The citizen reads web replies on the status page; phone replies record what the
        // agent said on the call. Both are delivered once stored.
        Channel::Web | Channel::Phone => {
            ctx.write(move |conn| {
                repo::set_delivery(conn, id, DeliveryState::Sent.as_str(), None)?;
                Ok::<_, AppError>(())
            })
            .await
            .map_err(|e| JobFailure::Retry(e.to_string()))?;
            Ok(())
        }
        other => {
            let why = format!("no outbound adapter is configured for the {other} channel");
            let why2 = why.clone();
            let ctx2 = ctx.clone();
            ctx.write(move |conn| service::fail_delivery(conn, &msg, &why2, None, ctx2.clock.now()))
                .await
                .map_err(|e| JobFailure::Retry(e.to_string()))?;
            Err(JobFailure::Permanent(why))
        }
    }
}

/// Marks the message of a dead-lettered delivery as failed and tells the agent why, with a
/// `delivery_failed` event on the ticket.
pub fn mark_undeliverable(
    conn: &mut DbConnection,
    payload: &str,
    error: &str,
    now: chrono::NaiveDateTime,
) -> Result<(), AppError> {
    if let Ok(job) = serde_json::from_str::<DeliverMessage>(payload)
        && let Ok(m) = repo::get_message(conn, job.message_id)
        && m.delivery_state != DeliveryState::Failed.as_str()
    {
        let error: String = error.chars().take(500).collect();
        service::fail_delivery(conn, &m, &error, None, now.and_utc())?;
    }
    Ok(())
}
