//! Admins' view of stored Instagram/WhatsApp webhook bodies: what each one did, the ones that
//! could not be understood, and reprocessing after a fix.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::openapi::{BadRequest, Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use super::views::Page;
use super::{decode_cursor, encode_cursor, page_limit};
use crate::auth::Role;
use crate::channels::meta::inbox::{self, InboundEvent};
use crate::clock::utc;
use crate::error::{AppError, AppResult};
use crate::web::Ctx;
use crate::web::auth::Authed;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// `pending`, `processed`, `failed` or `all` (the default).
    pub state: Option<String>,
    /// `instagram` or `whatsapp`.
    pub source: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
}

/// A stored Instagram/WhatsApp webhook body and what processing it did.
#[derive(Serialize, utoipa::ToSchema)]
pub struct InboundEventView {
    pub id: i64,
    /// `instagram` or `whatsapp`.
    pub source: String,
    /// `pending`, `processed` or `failed`.
    pub state: String,
    pub received_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
    /// What processing did (tickets, messages, errors).
    #[schema(value_type = Option<Object>)]
    pub outcome: Option<Value>,
    pub size_bytes: usize,
    /// The body as received (only on `GET /inbound-events/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

impl InboundEventView {
    fn new(e: &InboundEvent, with_payload: bool) -> InboundEventView {
        InboundEventView {
            id: e.id,
            source: e.source.clone(),
            state: e.state.clone(),
            received_at: utc(e.received_at),
            processed_at: e.processed_at.map(utc),
            outcome: e.outcome.as_deref().and_then(|o| serde_json::from_str::<Value>(o).ok()),
            size_bytes: e.payload.len(),
            // Meta bodies are ASCII JSON; anything else is shown lossily, never altered in storage.
            payload: with_payload.then(|| String::from_utf8_lossy(&e.payload).into_owned()),
        }
    }
}

/// Stored webhook bodies (admin), newest first.
#[utoipa::path(
    get,
    path = "/api/v1/inbound-events",
    tag = "channels",
    params(EventsQuery),
    responses(
        (status = 200, description = "A page of events", body = Page<InboundEventView>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    )
)]
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
    let items = rows.iter().map(|e| InboundEventView::new(e, false)).collect();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// One stored webhook body with its payload (admin).
#[utoipa::path(
    get,
    path = "/api/v1/inbound-events/{id}",
    tag = "channels",
    responses(
        (status = 200, description = "The event", body = InboundEventView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn get_inbound_event(ctx: Ctx, who: Authed, path: web::Path<i64>) -> AppResult<HttpResponse> {
    who.0.require(Role::Admin)?;
    let id = path.into_inner();
    let e = ctx
        .db
        .read(move |conn| inbox::get(conn, id).map_err(AppError::from))
        .await?;
    Ok(HttpResponse::Ok().json(InboundEventView::new(&e, true)))
}

/// Runs a stored body again (after a fix, or once the account is configured). Safe: applying
/// the same events twice changes nothing.
#[utoipa::path(
    post,
    path = "/api/v1/inbound-events/{id}/reprocess",
    tag = "channels",
    responses(
        (status = 202, description = "Queued for processing", body = InboundEventView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
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
    Ok(HttpResponse::Accepted().json(InboundEventView::new(&e, false)))
}
