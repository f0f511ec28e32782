//! Admins' view of stored Instagram/WhatsApp webhook bodies: what each one did, the ones that
//! could not be understood, and reprocessing after a fix.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{decode_cursor, encode_cursor, page_limit};
use crate::auth::Role;
use crate::channels::meta::inbox::{self, InboundEvent};
use crate::clock::utc;
use crate::error::{AppError, AppResult};
use crate::web::Ctx;
use crate::web::auth::Authed;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    pub state: Option<String>,
    pub source: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

fn event_json(e: &InboundEvent, with_payload: bool) -> Value {
    let mut v = json!({
        "id": e.id,
        "source": e.source,
        "state": e.state,
        "received_at": utc(e.received_at),
        "processed_at": e.processed_at.map(utc),
        "outcome": e.outcome.as_deref().and_then(|o| serde_json::from_str::<Value>(o).ok()),
        "size_bytes": e.payload.len(),
    });
    if with_payload {
        // Meta bodies are ASCII JSON; anything else is shown lossily, never altered in storage.
        v["payload"] = json!(String::from_utf8_lossy(&e.payload));
    }
    v
}

pub async fn list_inbound_events(ctx: Ctx, who: Authed, query: web::Query<EventsQuery>) -> AppResult<HttpResponse> {
    who.0.require(Role::Admin)?;
    let q = query.into_inner();
    let state = match q.state.as_deref() {
        None | Some("all") => None,
        Some(s @ (inbox::STATE_PENDING | inbox::STATE_PROCESSED | inbox::STATE_FAILED)) => Some(s.to_string()),
        Some(_) => return Err(AppError::field("state", "must be pending, processed, failed or all")),
    };
    let source = match q.source.as_deref() {
        None => None,
        Some(s @ ("instagram" | "whatsapp")) => Some(s.to_string()),
        Some(_) => return Err(AppError::field("source", "must be instagram or whatsapp")),
    };
    let limit = page_limit(q.limit)?;
    let before = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let rows = ctx
        .db
        .read(move |conn| inbox::list(conn, state.as_deref(), source.as_deref(), before, limit).map_err(AppError::from))
        .await?;
    let next_cursor = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|e| encode_cursor(e.id)))
        .flatten();
    let items: Vec<Value> = rows.iter().map(|e| event_json(e, false)).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next_cursor": next_cursor })))
}

pub async fn get_inbound_event(ctx: Ctx, who: Authed, path: web::Path<i64>) -> AppResult<HttpResponse> {
    who.0.require(Role::Admin)?;
    let id = path.into_inner();
    let e = ctx
        .db
        .read(move |conn| inbox::get(conn, id).map_err(AppError::from))
        .await?;
    Ok(HttpResponse::Ok().json(event_json(&e, true)))
}

/// Runs a stored body again (after a fix, or once the account is configured). Safe: applying
/// the same events twice changes nothing.
pub async fn reprocess_inbound_event(ctx: Ctx, who: Authed, path: web::Path<i64>) -> AppResult<HttpResponse> {
    who.0.require(Role::Admin)?;
    let id = path.into_inner();
    let ctx2 = ctx.get_ref().clone();
    let e = ctx
        .write(move |conn| {
            let e = inbox::get(conn, id)?;
            if e.state == inbox::STATE_PENDING {
                return Err(AppError::Conflict {
                    code: "already_pending",
                    message: "the event is already waiting to be processed".into(),
                    extra: None,
                });
            }
            inbox::reset(conn, id)?;
            let now = ctx2.clock.now().naive_utc();
            inbox::enqueue_processing(conn, &ctx2.settings, id, now)?;
            Ok(inbox::get(conn, id)?)
        })
        .await?;
    Ok(HttpResponse::Accepted().json(event_json(&e, false)))
}
