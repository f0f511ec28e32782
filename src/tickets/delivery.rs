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

pub async fn deliver(ctx: &AppContext, payload: &str) -> Result<(), JobFailure> {
    let job: DeliverMessage = serde_json::from_str(payload)
        .map_err(|e| JobFailure::Permanent(format!("unreadable deliver_message payload: {e}")))?;
    let id = job.message_id;
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

/// Marks the message of a dead-lettered delivery as failed.
pub fn mark_undeliverable(conn: &mut DbConnection, payload: &str, _error: &str) -> Result<(), AppError> {
    if let Ok(job) = serde_json::from_str::<DeliverMessage>(payload) {
        repo::set_delivery_state(conn, job.message_id, DeliveryState::Failed.as_str())?;
    }
    Ok(())
}
