//! Delivery of agent replies, run as `deliver_message` jobs from the outbox. Each channel adapter
//! plugs in here; a channel without an outbound adapter fails the delivery visibly on the message
//! instead of pretending it was sent.

use serde::{Deserialize, Serialize};

use super::model::{Channel, DeliveryState};
use super::repo;
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
    let payload = serde_json::to_string(&DeliverMessage { message_id })?;
    crate::jobs::repo::enqueue(
        conn,
        crate::jobs::KIND_DELIVER_MESSAGE,
        &payload,
        at.naive_utc(),
        ctx.settings.jobs.max_attempts as i32,
        at.naive_utc(),
    )?;
    Ok(())
}

pub async fn deliver(ctx: &AppContext, payload: &str) -> Result<(), JobFailure> {
    let job: DeliverMessage = serde_json::from_str(payload)
        .map_err(|e| JobFailure::Permanent(format!("unreadable deliver_message payload: {e}")))?;
    let id = job.message_id;
    let channel: Result<String, AppError> = ctx.db.read(move |conn| Ok(repo::get_message(conn, id)?.channel)).await;
    if channel.as_deref().ok() == Some(Channel::Email.as_str()) {
        return crate::email::outbound::deliver(ctx, id).await;
    }
    let outcome = ctx
        .db
        .write(move |conn| {
            let msg = repo::get_message(conn, id)?;
            let channel = Channel::parse(&msg.channel)
                .ok_or_else(|| AppError::internal(format!("message {id} has unknown channel {}", msg.channel)))?;
            match channel {
                // The citizen reads web replies on the status page; phone replies record what the
                // agent said on the call. Both are delivered once stored.
                Channel::Web | Channel::Phone => {
                    repo::set_delivery_state(conn, id, DeliveryState::Sent.as_str())?;
                    Ok(None)
                }
                other => {
                    let why = format!("no outbound adapter is configured for the {other} channel");
                    repo::set_delivery_state(conn, id, DeliveryState::Failed.as_str())?;
                    Ok::<_, AppError>(Some(why))
                }
            }
        })
        .await
        .map_err(|e| JobFailure::Retry(e.to_string()))?;
    match outcome {
        None => Ok(()),
        Some(why) => Err(JobFailure::Permanent(why)),
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
    if let Ok(job) = serde_json::from_str::<DeliverMessage>(payload) {
        repo::set_delivery_state(conn, job.message_id, DeliveryState::Failed.as_str())?;
        if let Ok(m) = repo::get_message(conn, job.message_id) {
            let error: String = error.chars().take(500).collect();
            repo::insert_event(
                conn,
                &super::model::NewEvent {
                    ticket_id: m.ticket_id,
                    actor_kind: "system",
                    actor_id: None,
                    kind: "delivery_failed",
                    before_value: None,
                    after_value: Some(serde_json::json!({ "message_id": m.id, "error": error }).to_string()),
                    created_at: now,
                },
            )?;
        }
    }
    Ok(())
}
