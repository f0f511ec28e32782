//! The citizen's status lookup: no account, just the ticket number and the secret token given
//! when the ticket was opened. A wrong token and an unknown number look the same.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::clock::utc;
use crate::error::{AppError, AppResult};
use crate::tickets::numbering::{hash_access_token, looks_like_number};
use crate::tickets::repo;
use crate::web::Ctx;
use crate::web::ratelimit::client_ip;

#[derive(Deserialize)]
pub struct TokenQuery {
    pub token: Option<String>,
}

pub async fn get_public_ticket(
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<TokenQuery>,
) -> AppResult<HttpResponse> {
    if let Some(ip) = client_ip(&req, ctx.settings.server.trust_forwarded_for)
        && !ctx.rate_limiter.allow(ip, ctx.settings.public.lookups_per_minute)
    {
        return Err(AppError::RateLimited);
    }
    let number = path.into_inner();
    let token = query.into_inner().token.unwrap_or_default();
    if !looks_like_number(&number) || token.trim().is_empty() || token.len() > 64 {
        return Err(AppError::NotFound);
    }
    let given = hash_access_token(&token);
    let body = ctx
        .db
        .read(move |conn| {
            let Some(t) = repo::find_by_number(conn, &number)? else {
                return Err(AppError::NotFound);
            };
            if !constant_time_eq(t.access_token_hash.as_bytes(), given.as_bytes()) {
                return Err(AppError::NotFound);
            }
            let messages = repo::messages_of(conn, t.id)?;
            let events = repo::events_of(conn, t.id)?;
            let mut timeline = Vec::new();
            for m in messages.iter().filter(|m| m.direction != "note") {
                timeline.push((
                    m.created_at,
                    json!({
                        "type": "message",
                        "from": if m.direction == "inbound" { "citizen" } else { "agent" },
                        "text": m.body_text,
                        "at": utc(m.created_at),
                    }),
                ));
            }
            for e in events
                .iter()
                .filter(|e| matches!(e.kind.as_str(), "status_changed" | "reopened" | "auto_closed"))
            {
                let to = e
                    .after_value
                    .as_deref()
                    .and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok());
                timeline.push((
                    e.created_at,
                    json!({ "type": "status", "status": to, "at": utc(e.created_at) }),
                ));
            }
            timeline.sort_by_key(|(at, _)| *at);
            Ok(json!({
                "number": t.number,
                "subject": t.subject,
                "status": t.status,
                "channel": t.channel,
                "created_at": utc(t.created_at),
                "updated_at": utc(t.updated_at),
                "timeline": timeline.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
            }))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(body))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
