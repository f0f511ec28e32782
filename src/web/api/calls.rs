//! The phone channel's API: the Generic CTI push endpoint for the PBX, the caller log and its
//! live feed, the callback queue, the agent's actions on a call, and blocked numbers (admin).

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::call_views::{CallView, call_detail, call_views, publish};
use super::openapi::{BadRequest, Conflict, Forbidden, IdempotencyKey, Invalid, NotFound, Unauthorized};
use super::tickets::{ContactReq, CreatedTicket, parse_contact};
use super::views::{Items, Page};
use super::{decode_cursor, encode_cursor, page_limit};
use crate::auth::Role;
use crate::auth::constant_time_eq;
use crate::clock::utc;
use crate::context::AppContext;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::idempotency;
use crate::phone::repo::{self, CallFilter, CallbackState};
use crate::phone::service::{self, CallPatch, CallTicket, Source};
use crate::phone::{CallDirection, CallState, EventKind, cti, normalise_number};
use crate::tickets::model::Priority;
use crate::web::Ctx;
use crate::web::auth::Authed;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/cti/{token}", web::post().to(post_cti_event))
        .route("/calls", web::get().to(list_calls))
        .route("/calls/stream", web::get().to(stream_calls))
        .route("/calls/{id}", web::get().to(get_call))
        .route("/calls/{id}", web::patch().to(update_call))
        .route("/calls/{id}/ticket", web::post().to(create_call_ticket))
        .route("/calls/{id}/attach", web::post().to(attach_call))
        .route("/callbacks", web::get().to(list_callbacks))
        .route("/blocked-numbers", web::get().to(list_blocked_numbers))
        .route("/blocked-numbers", web::post().to(create_blocked_number))
        .route("/blocked-numbers/{id}", web::patch().to(update_blocked_number))
        .route("/blocked-numbers/{id}", web::delete().to(delete_blocked_number));
}

/// A wrong CTI token: 401 with Zammad's `error` text beside our problem fields.
fn invalid_token() -> HttpResponse {
    HttpResponse::Unauthorized()
        .content_type("application/problem+json")
        .json(json!({
            "type": "https://tanggap.dev/problems/invalid_token",
            "title": "Unauthorized",
            "status": 401,
            "code": "invalid_token",
            "detail": "Invalid token, please contact your admin!",
            "error": "Invalid token, please contact your admin!",
        }))
}

/// Largest webhook body read (a CTI event is a few hundred bytes, a Twilio callback a few KiB).
const MAX_BODY: usize = 64 * 1024;

/// Reads a webhook body up to [`MAX_BODY`].
pub async fn read_body(payload: web::Payload) -> AppResult<web::Bytes> {
    match payload.to_bytes_limited(MAX_BODY).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => Err(AppError::BadRequest(format!("cannot read the request body: {e}"))),
        Err(_) => Err(AppError::BadRequest(format!(
            "the body is larger than {MAX_BODY} bytes"
        ))),
    }
}

/// The answer to a CTI event: empty, `reject` (a blocked caller) or `dial` (the caller id to present).
#[derive(Serialize, Default, utoipa::ToSchema)]
pub struct CtiAnswer {
    /// `reject` or `dial`; absent: nothing to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'static str>,
    /// `busy` with `reject`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// With `dial`: `phone.outbound_caller_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_id: Option<String>,
    /// With `dial`: the number dialled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
}

/// `POST /api/v1/cti/{token}`: one Generic CTI event. The token is checked before the body is
/// read; a wrong token records nothing. Answers `{}` or, for an inbound `newCall` from a
/// blocked number, `{"action":"reject","reason":"busy"}`.
///
/// The body is the PBX's Generic CTI event, as JSON or form-encoded (`event`, `direction`, `from`,
/// `to`, `callId`, `user[]`, `queue`, `cause`, `answeringNumber`); see docs/phone.md. 404 while
/// `phone.cti_token` is not configured; 401 `invalid_token` for a wrong token.
#[utoipa::path(
    post,
    path = "/api/v1/cti/{token}",
    tag = "phone",
    security(()),
    params(("token" = String, Path, description = "The configured `phone.cti_token`")),
    request_body(description = "A Generic CTI event", content(
        (Object = "application/json"),
        (Object = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "The event is recorded", body = CtiAnswer),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    )
)]
pub async fn post_cti_event(
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let configured = ctx.settings.phone.cti_token.expose();
    if configured.is_empty() {
        return Err(AppError::NotFound);
    }
    if !constant_time_eq(path.as_bytes(), configured.as_bytes()) {
        log::warn!("CTI event with a wrong token refused");
        return Ok(invalid_token());
    }
    let body = read_body(payload).await?;
    let ct = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let event = cti::parse(cti::Format::detect(ct, &body)?, &body)?;
    let at = ctx.clock.now();
    let ctx2 = ctx.get_ref().clone();
    let ev = event.clone();
    let rec = ctx
        .write(move |conn| service::record_event(&ctx2, conn, Source::Cti, &ev, at))
        .await?;
    log::info!(
        "CTI {} for call {} (row {}){}",
        event.event.as_str(),
        event.call_id,
        rec.call,
        if rec.duplicate { ", a repeat" } else { "" }
    );
    publish(&ctx, rec.touched).await;
    let caller_id = &ctx.settings.phone.outbound_caller_id;
    Ok(HttpResponse::Ok().json(if rec.reject {
        CtiAnswer {
            action: Some("reject"),
            reason: Some("busy"),
            ..Default::default()
        }
    } else if event.event == EventKind::NewCall && event.direction == CallDirection::Out && !caller_id.is_empty() {
        CtiAnswer {
            action: Some("dial"),
            caller_id: Some(caller_id.clone()),
            number: Some(event.to.clone()),
            ..Default::default()
        }
    } else {
        CtiAnswer::default()
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CallsQuery {
    /// Comma-separated call states (`ringing`, `answered`, `missed`, …), or `inbound`/`outbound`.
    pub state: Option<String>,
    /// `in` or `out`.
    pub direction: Option<String>,
    /// The citizen's phone number in any usual spelling.
    pub number: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
}

/// `GET /api/v1/calls`: the caller log, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/calls",
    tag = "phone",
    params(CallsQuery),
    responses(
        (status = 200, description = "A page of calls", body = Page<CallView>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    )
)]
pub async fn list_calls(ctx: Ctx, who: Authed, query: web::Query<CallsQuery>) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let q = query.into_inner();
    let mut f = CallFilter {
        limit: page_limit(q.limit)?,
        ..Default::default()
    };
    let names = || {
        let mut n: Vec<&str> = CallState::ALL.iter().map(|s| s.as_str()).collect();
        n.extend(["inbound", "outbound"]);
        n.join(", ")
    };
    for part in q
        .state
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        match (part, CallState::parse(part)) {
            (_, Some(st)) => f.states.push(st.as_str().into()),
            ("inbound", None) => f.direction = Some("in".into()),
            ("outbound", None) => f.direction = Some("out".into()),
            _ => {
                return Err(AppError::field(
                    "state",
                    format!("unknown state `{part}`; use {}", names()),
                ));
            }
        }
    }
    if let Some(d) = q.direction.as_deref() {
        let d = CallDirection::parse(d).ok_or_else(|| AppError::field("direction", "must be in or out"))?;
        f.direction = Some(d.as_str().into());
    }
    if let Some(n) = q.number.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        f.number =
            Some(normalise_number(n).ok_or_else(|| AppError::field("number", format!("`{n}` is not a phone number")))?);
    }
    f.before_id = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let limit = f.limit;
    let now = ctx.clock.now_naive();
    let items = ctx
        .db
        .read(move |conn| {
            let calls = repo::list(conn, &f)?;
            call_views(conn, &calls, now)
        })
        .await?;
    let next_cursor = (items.len() as i64 == limit)
        .then(|| items.last().map(|c| encode_cursor(c.id)))
        .flatten();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// `GET /api/v1/calls/stream`: server-sent events, one `call` event per committed change.
///
/// Each event's `data` is a call as `GET /api/v1/calls/{id}` shows it (without its event log).
#[utoipa::path(
    get,
    path = "/api/v1/calls/stream",
    tag = "phone",
    responses(
        (status = 200, description = "An endless `text/event-stream`", content_type = "text/event-stream", body = String),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
pub async fn stream_calls(ctx: Ctx, who: Authed) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .body(ctx.call_feed.subscribe()))
}

/// One call with its event log.
#[utoipa::path(
    get,
    path = "/api/v1/calls/{id}",
    tag = "phone",
    responses(
        (status = 200, description = "The call", body = CallView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn get_call(ctx: Ctx, who: Authed, path: web::Path<i64>) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let id = path.into_inner();
    let now = ctx.clock.now_naive();
    let v = ctx.db.read(move |conn| call_detail(conn, id, now)).await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCallReq {
    pub done: Option<bool>,
    /// An http(s) address; an empty string clears it.
    pub recording_url: Option<String>,
}

/// Validates a recording address: http(s), at most 2000 characters.
fn recording_url(raw: &str) -> AppResult<Option<String>> {
    let u = raw.trim();
    if u.is_empty() {
        return Ok(None);
    }
    if u.len() > 2000 || !url::Url::parse(u).is_ok_and(|p| matches!(p.scheme(), "http" | "https")) {
        return Err(AppError::field(
            "recording_url",
            "must be an http:// or https:// address",
        ));
    }
    Ok(Some(u.to_string()))
}

/// `PATCH /api/v1/calls/{id}`: mark the callback done (or open again), set the recording.
#[utoipa::path(
    patch,
    path = "/api/v1/calls/{id}",
    tag = "phone",
    params(IdempotencyKey),
    responses(
        (status = 200, description = "The call", body = CallView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn update_call(
    ctx: Ctx,
    req: HttpRequest,
    who: Authed,
    path: web::Path<i64>,
    body: web::Json<UpdateCallReq>,
) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let id = path.into_inner();
    let b = body.into_inner();
    let patch = CallPatch {
        done: b.done,
        recording_url: b.recording_url.as_deref().map(recording_url).transpose()?,
    };
    act_on_call(&ctx, &req, who.0.user_id, id, &b, move |ctx, conn, user| {
        service::update_call(ctx, conn, user, id, &patch)?;
        let v = call_detail(conn, id, ctx.clock.now_naive())?;
        Ok((StatusCode::OK, serde_json::to_value(v)?))
    })
    .await
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallTicketReq {
    /// At most 200 characters; default from the notes.
    pub subject: Option<String>,
    /// What the citizen said (1 to 100000 characters): the ticket's first message.
    pub notes: String,
    pub contact: Option<ContactReq>,
    /// `low`, `normal` (the default), `high` or `urgent`.
    pub priority: Option<String>,
    pub category: Option<i64>,
    pub team: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CallTicketCreated {
    pub ticket: CreatedTicket,
    pub call: Option<CallView>,
}

/// `POST /api/v1/calls/{id}/ticket`: a new phone ticket from the call, the notes as its first
/// message, the citizen matched by number (or given in `contact`).
#[utoipa::path(
    post,
    path = "/api/v1/calls/{id}/ticket",
    tag = "phone",
    params(IdempotencyKey),
    responses(
        (status = 201, description = "The ticket and the call", body = CallTicketCreated),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn create_call_ticket(
    ctx: Ctx,
    req: HttpRequest,
    who: Authed,
    path: web::Path<i64>,
    body: web::Json<CallTicketReq>,
) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let id = path.into_inner();
    let b = body.into_inner();
    let mut errors = std::collections::BTreeMap::new();
    let notes = b.notes.trim().to_string();
    if notes.is_empty() || notes.chars().count() > 100_000 {
        errors.insert("notes".into(), "must be 1 to 100000 characters".into());
    }
    let subject = b
        .subject
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    if subject.as_ref().is_some_and(|s| s.chars().count() > 200) {
        errors.insert("subject".into(), "must be at most 200 characters".into());
    }
    let priority = match b.priority.as_deref() {
        None => Some(Priority::Normal),
        Some(p) => Priority::parse(p).or_else(|| {
            errors.insert("priority".into(), format!("must be one of {}", Priority::names()));
            None
        }),
    };
    let contact = b.contact.as_ref().and_then(|c| parse_contact(c, &mut errors));
    let (Some(priority), true) = (priority, errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let (category, team) = (b.category, b.team);
    act_on_call(&ctx, &req, who.0.user_id, id, &b, move |ctx, conn, user| {
        let input = CallTicket {
            subject: subject.clone(),
            notes: notes.clone(),
            contact: contact.clone(),
            priority,
            category_id: category,
            team_id: team,
        };
        let (call, created) = service::ticket_from_call(ctx, conn, user, id, input)?;
        let body = CallTicketCreated {
            ticket: CreatedTicket::new(ctx, &created),
            call: call_views(conn, std::slice::from_ref(&call), ctx.clock.now_naive())?.pop(),
        };
        Ok((StatusCode::CREATED, serde_json::to_value(body)?))
    })
    .await
}

/// Runs an agent's action on call `id` in one write transaction under the request's
/// `Idempotency-Key`, then pushes the committed call to the live feed.
async fn act_on_call<F>(
    ctx: &Ctx,
    req: &HttpRequest,
    user: i64,
    id: i64,
    body: &impl Serialize,
    f: F,
) -> AppResult<HttpResponse>
where
    F: Fn(&AppContext, &mut DbConnection, i64) -> AppResult<(StatusCode, serde_json::Value)> + Send + 'static,
{
    let resp = idempotency::run(ctx, req, user, body, move |ctx, conn| f(ctx, conn, user)).await?;
    publish(ctx, vec![id]).await;
    Ok(resp)
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachReq {
    /// The ticket's id.
    pub ticket: i64,
    /// Added to the ticket as an internal note.
    pub notes: Option<String>,
}

/// `POST /api/v1/calls/{id}/attach`: link the call to a ticket that is not closed; the notes
/// become an internal note on it.
#[utoipa::path(
    post,
    path = "/api/v1/calls/{id}/attach",
    tag = "phone",
    params(IdempotencyKey),
    responses(
        (status = 200, description = "The call", body = CallView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn attach_call(
    ctx: Ctx,
    req: HttpRequest,
    who: Authed,
    path: web::Path<i64>,
    body: web::Json<AttachReq>,
) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let id = path.into_inner();
    let b = body.into_inner();
    let notes = match b.notes.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(n) => Some(super::required_text("notes", n, 100_000)?),
        None => None,
    };
    let ticket = b.ticket;
    act_on_call(&ctx, &req, who.0.user_id, id, &b, move |ctx, conn, user| {
        service::attach_call(ctx, conn, user, id, ticket, notes.as_deref())?;
        let v = call_detail(conn, id, ctx.clock.now_naive())?;
        Ok((StatusCode::OK, serde_json::to_value(v)?))
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CallbacksQuery {
    /// `open` (the default), `done` or `all`.
    pub state: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
}

/// `GET /api/v1/callbacks`: missed calls to call back; open ones (the default) most urgent first.
#[utoipa::path(
    get,
    path = "/api/v1/callbacks",
    tag = "phone",
    params(CallbacksQuery),
    responses(
        (status = 200, description = "A page of calls", body = Page<CallView>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    )
)]
pub async fn list_callbacks(ctx: Ctx, who: Authed, query: web::Query<CallbacksQuery>) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let q = query.into_inner();
    let state = match q.state.as_deref() {
        None | Some("open") => CallbackState::Open,
        Some("done") => CallbackState::Done,
        Some("all") => CallbackState::All,
        Some(_) => return Err(AppError::field("state", "must be open, done or all")),
    };
    let limit = page_limit(q.limit)?;
    let cursor = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let now = ctx.clock.now_naive();
    let items = ctx
        .db
        .read(move |conn| {
            let calls = repo::callbacks(conn, state, cursor, limit)?;
            call_views(conn, &calls, now)
        })
        .await?;
    let next_cursor = (items.len() as i64 == limit)
        .then(|| items.last().map(|c| encode_cursor(c.id)))
        .flatten();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// A number whose calls the PBX is told to reject.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BlockedNumberView {
    pub id: i64,
    /// E.164.
    pub number: String,
    pub reason: String,
    pub created_by: Option<i64>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl BlockedNumberView {
    fn new(b: &repo::BlockedNumber) -> BlockedNumberView {
        BlockedNumberView {
            id: b.id,
            number: b.number.clone(),
            reason: b.reason.clone(),
            created_by: b.created_by,
            created_at: utc(b.created_at),
        }
    }
}

/// Blocked numbers (admin).
#[utoipa::path(
    get,
    path = "/api/v1/blocked-numbers",
    tag = "phone",
    responses(
        (status = 200, description = "All blocked numbers", body = Items<BlockedNumberView>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
pub async fn list_blocked_numbers(ctx: Ctx, who: Authed) -> AppResult<HttpResponse> {
    who.0.require(Role::Admin)?;
    let rows = ctx
        .db
        .read(|conn| repo::list_blocked(conn).map_err(AppError::from))
        .await?;
    let items = rows.iter().map(BlockedNumberView::new).collect();
    Ok(HttpResponse::Ok().json(Items { items }))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockReq {
    /// A phone number in any usual spelling.
    pub number: String,
    /// At most 500 characters.
    #[serde(default)]
    pub reason: String,
}

/// Blocks a number (admin): the PBX is told to reject its inbound calls.
#[utoipa::path(
    post,
    path = "/api/v1/blocked-numbers",
    tag = "phone",
    params(IdempotencyKey),
    responses(
        (status = 201, description = "The blocked number", body = BlockedNumberView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn create_blocked_number(
    ctx: Ctx,
    req: HttpRequest,
    who: Authed,
    body: web::Json<BlockReq>,
) -> AppResult<HttpResponse> {
    who.0.require(Role::Admin)?;
    let b = body.into_inner();
    let number = normalise_number(&b.number)
        .ok_or_else(|| AppError::field("number", format!("`{}` is not a phone number", b.number.trim())))?;
    let reason = block_reason(&b.reason)?;
    let user = who.0.user_id;
    idempotency::run(&ctx, &req, user, &b, move |ctx, conn| {
        let row = repo::insert_blocked(conn, &number, &reason, user, ctx.clock.now_naive()).map_err(|e| {
            if crate::db::is_unique_violation(&e) {
                AppError::Conflict {
                    code: "number_blocked",
                    message: format!("{number} is already blocked"),
                    extra: None,
                }
            } else {
                e.into()
            }
        })?;
        Ok((StatusCode::CREATED, serde_json::to_value(BlockedNumberView::new(&row))?))
    })
    .await
}

fn block_reason(raw: &str) -> AppResult<String> {
    let reason = raw.trim().to_string();
    if reason.chars().count() > 500 {
        return Err(AppError::field("reason", "must be at most 500 characters"));
    }
    Ok(reason)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBlockReq {
    /// At most 500 characters.
    pub reason: String,
}

/// `PATCH /api/v1/blocked-numbers/{id}`: change the reason (the number itself is the row's identity:
/// block another number instead).
#[utoipa::path(
    patch,
    path = "/api/v1/blocked-numbers/{id}",
    tag = "phone",
    responses(
        (status = 200, description = "The blocked number", body = BlockedNumberView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    )
)]
pub async fn update_blocked_number(
    ctx: Ctx,
    who: Authed,
    path: web::Path<i64>,
    body: web::Json<UpdateBlockReq>,
) -> AppResult<HttpResponse> {
    who.0.require(Role::Admin)?;
    let id = path.into_inner();
    let reason = block_reason(&body.reason)?;
    let row = ctx
        .write(move |conn| repo::set_blocked_reason(conn, id, &reason).map_err(AppError::from))
        .await?;
    Ok(HttpResponse::Ok().json(BlockedNumberView::new(&row)))
}

/// Unblocks a number (admin).
#[utoipa::path(
    delete,
    path = "/api/v1/blocked-numbers/{id}",
    tag = "phone",
    responses(
        (status = 204, description = "Unblocked"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn delete_blocked_number(ctx: Ctx, who: Authed, path: web::Path<i64>) -> AppResult<HttpResponse> {
    who.0.require(Role::Admin)?;
    let id = path.into_inner();
    let removed = ctx
        .write(move |conn| repo::delete_blocked(conn, id).map_err(AppError::from))
        .await?;
    if !removed {
        return Err(AppError::NotFound);
    }
    Ok(HttpResponse::NoContent().finish())
}
