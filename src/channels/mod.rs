//! Channel adapters. Each one verifies and parses its platform's protocol on the way in and hands
//! [`crate::intake`] one normalised message; on the way out it delivers replies from the outbox
//! and decides, before a reply is stored, whether the platform can take it now.

pub mod meta;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::context::AppContext;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::tickets::model::{Channel, DeliveryState, Ticket};

/// How an agent's reply will leave, decided when it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyPlan {
    /// `queued` (goes out now) or `held` (the platform would refuse it now).
    pub state: DeliveryState,
    /// Route details stored on the message (e.g. which comment a public reply answers).
    pub metadata: Option<Value>,
    /// What the agent is told, e.g. why the reply is held.
    pub notice: Option<String>,
}

/// Validates a reply for the ticket's channel and decides its route. `reply_via` picks a route
/// where a channel has several (Instagram comments: `comment` or `private_reply`).
pub fn plan_reply(
    ctx: &AppContext,
    conn: &mut DbConnection,
    ticket: &Ticket,
    body: &str,
    reply_via: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<ReplyPlan> {
    match Channel::parse(&ticket.channel) {
        Some(Channel::Instagram) => meta::window::plan_instagram(ctx, conn, ticket, body, reply_via, now),
        Some(Channel::Whatsapp) => {
            no_route_choice(reply_via, "WhatsApp")?;
            meta::window::plan_whatsapp(ticket, body, &ctx.settings, now)
        }
        _ => {
            no_route_choice(reply_via, &ticket.channel)?;
            Ok(ReplyPlan {
                state: DeliveryState::Queued,
                metadata: None,
                notice: None,
            })
        }
    }
}

fn no_route_choice(reply_via: Option<&str>, channel: &str) -> AppResult<()> {
    match reply_via {
        None => Ok(()),
        Some(_) => Err(AppError::field(
            "reply_via",
            format!("applies only to tickets from Instagram comments; {channel} replies have one route"),
        )),
    }
}
