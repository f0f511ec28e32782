//! `/api/v1/sla`: business calendars and SLA policies (admins manage, agents read), and the
//! caller's SLA notifications.

use actix_web::http::StatusCode;
use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::openapi::{BadRequest, Conflict, Forbidden, IdempotencyKey, Invalid, NotFound, Unauthorized};
use super::views::Items;
use crate::auth::Role;
use crate::clock::utc;
use crate::error::{AppError, AppResult};
use crate::idempotency;
use crate::sla::import::{CalendarSpec, HolidaySpec};
use crate::sla::policy::{Conditions, PolicySpec, Stage, Step, Target};
use crate::sla::{admin, repo};
use crate::web::Ctx;
use crate::web::auth::Authed;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sla/calendars", web::get().to(list_calendars))
        .route("/sla/calendars", web::post().to(create_calendar))
        .route("/sla/calendars/{id}", web::get().to(get_calendar))
        .route("/sla/calendars/{id}", web::delete().to(delete_calendar))
        .route("/sla/policies", web::get().to(list_policies))
        .route("/sla/policies", web::post().to(create_policy))
        .route("/sla/policies/{id}", web::get().to(get_policy))
        .route("/sla/policies/{id}", web::patch().to(update_policy))
        .route("/sla/policies/{id}", web::delete().to(delete_policy))
        .route("/sla/notifications", web::get().to(list_notifications));
}

/// A stored business calendar, as `crate::sla::admin::calendar_json` answers it (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct CalendarView {
    pub id: i64,
    pub name: String,
    /// IANA zone, e.g. `Asia/Jakarta`.
    pub timezone: String,
    /// Working hours per day (`mon` … `sun`), e.g. `["08:00-12:00", "13:00-16:00"]`.
    pub hours: BTreeMap<String, Vec<String>>,
    pub holidays: Vec<HolidaySpec>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A stored SLA policy, as `crate::sla::admin::policy_json` answers it: the definition with its id,
/// version and time of the last change (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PolicyView {
    pub id: i64,
    pub version: i32,
    pub position: i32,
    pub updated_at: DateTime<Utc>,
    pub name: String,
    pub conditions: Conditions,
    pub targets: BTreeMap<String, Target>,
    #[schema(required = false)]
    pub stages: Vec<Stage>,
    pub pause: BTreeMap<String, Vec<String>>,
    pub warn_at: Vec<u8>,
    #[schema(required = false)]
    pub escalation: Vec<Step>,
}

/// Business calendars (any agent may read them).
#[utoipa::path(
    get,
    path = "/api/v1/sla/calendars",
    tag = "sla",
    responses(
        (status = 200, description = "All calendars", body = Items<CalendarView>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
pub async fn list_calendars(ctx: Ctx, who: Authed) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let items = ctx
        .db
        .read(|conn| {
            repo::calendars(conn)?
                .iter()
                .map(admin::calendar_json)
                .collect::<AppResult<Vec<_>>>()
        })
        .await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// One calendar.
#[utoipa::path(
    get,
    path = "/api/v1/sla/calendars/{id}",
    tag = "sla",
    responses(
        (status = 200, description = "The calendar", body = CalendarView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn get_calendar(ctx: Ctx, who: Authed, path: web::Path<i64>) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let id = path.into_inner();
    let v = ctx
        .db
        .read(move |conn| admin::calendar_json(&repo::calendar_by_id(conn, id)?))
        .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Creates a calendar (201), or replaces the one of the same name (200).
#[utoipa::path(
    post,
    path = "/api/v1/sla/calendars",
    tag = "sla",
    params(IdempotencyKey),
    responses(
        (status = 200, description = "The calendar of that name, replaced", body = CalendarView),
        (status = 201, description = "The calendar", body = CalendarView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn create_calendar(
    ctx: Ctx,
    req: HttpRequest,
    who: Authed,
    body: web::Json<CalendarSpec>,
) -> AppResult<HttpResponse> {
    who.0.require(Role::Admin)?;
    let spec = body.into_inner();
    idempotency::run(&ctx, &req, who.0.user_id, &spec.clone(), move |ctx, conn| {
        let (created, v) = admin::put_calendar(conn, &spec, ctx.clock.now())?;
        Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, v))
    })
    .await
}

/// Deletes a calendar no policy uses (else 409 `calendar_in_use`).
#[utoipa::path(
    delete,
    path = "/api/v1/sla/calendars/{id}",
    tag = "sla",
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn delete_calendar(ctx: Ctx, who: Authed, path: web::Path<i64>) -> AppResult<HttpResponse> {
    who.0.require(Role::Admin)?;
    let id = path.into_inner();
    ctx.write(move |conn| admin::delete_calendar(conn, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// SLA policies in the order they are tried.
#[utoipa::path(
    get,
    path = "/api/v1/sla/policies",
    tag = "sla",
    responses(
        (status = 200, description = "All policies", body = Items<PolicyView>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
pub async fn list_policies(ctx: Ctx, who: Authed) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let items = ctx
        .db
        .read(|conn| {
            repo::policies(conn)?
                .iter()
                .map(admin::policy_json)
                .collect::<AppResult<Vec<_>>>()
        })
        .await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// One policy.
#[utoipa::path(
    get,
    path = "/api/v1/sla/policies/{id}",
    tag = "sla",
    responses(
        (status = 200, description = "The policy", body = PolicyView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn get_policy(ctx: Ctx, who: Authed, path: web::Path<i64>) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let id = path.into_inner();
    let v = ctx
        .db
        .read(move |conn| admin::policy_json(&repo::policy(conn, id)?))
        .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Creates a policy (admin).
#[utoipa::path(
    post,
    path = "/api/v1/sla/policies",
    tag = "sla",
    params(IdempotencyKey),
    responses(
        (status = 201, description = "The policy", body = PolicyView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn create_policy(
    ctx: Ctx,
    req: HttpRequest,
    who: Authed,
    body: web::Json<PolicySpec>,
) -> AppResult<HttpResponse> {
    who.0.require(Role::Admin)?;
    let spec = body.into_inner();
    idempotency::run(&ctx, &req, who.0.user_id, &spec.clone(), move |ctx, conn| {
        Ok((StatusCode::CREATED, admin::create_policy(conn, &spec, ctx.clock.now())?))
    })
    .await
}

/// The body is the complete policy; each change is a new version.
#[utoipa::path(
    patch,
    path = "/api/v1/sla/policies/{id}",
    tag = "sla",
    responses(
        (status = 200, description = "The policy, a new version", body = PolicyView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn update_policy(
    ctx: Ctx,
    who: Authed,
    path: web::Path<i64>,
    body: web::Json<PolicySpec>,
) -> AppResult<HttpResponse> {
    who.0.require(Role::Admin)?;
    let id = path.into_inner();
    let spec = body.into_inner();
    let ctx2 = ctx.clone();
    let v = ctx
        .write(move |conn| admin::update_policy(conn, id, &spec, ctx2.clock.now()))
        .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Deletes a policy (admin); tickets keep the clocks they have.
#[utoipa::path(
    delete,
    path = "/api/v1/sla/policies/{id}",
    tag = "sla",
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn delete_policy(ctx: Ctx, who: Authed, path: web::Path<i64>) -> AppResult<HttpResponse> {
    who.0.require(Role::Admin)?;
    let id = path.into_inner();
    let n = ctx.write(move |conn| Ok(repo::delete_policy(conn, id)?)).await?;
    if n == 0 {
        return Err(AppError::NotFound);
    }
    Ok(HttpResponse::NoContent().finish())
}

/// An SLA warning, breach or escalation addressed to the caller.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NotificationView {
    pub id: i64,
    pub user_id: i64,
    pub ticket_id: i64,
    /// The firing (warning, breach, escalation step) that sent it.
    pub firing_id: i64,
    /// The webhook event name, e.g. `sla.warning`, `sla.breached`.
    pub kind: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// The caller's newest 100 SLA notifications.
#[utoipa::path(
    get,
    path = "/api/v1/sla/notifications",
    tag = "sla",
    responses(
        (status = 200, description = "Notifications, newest first", body = Items<NotificationView>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
pub async fn list_notifications(ctx: Ctx, who: Authed) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let uid = who.0.user_id;
    let rows = ctx
        .db
        .read(move |conn| repo::notifications_for(conn, uid, 100).map_err(AppError::from))
        .await?;
    let items = rows
        .into_iter()
        .map(|n| NotificationView {
            id: n.id,
            user_id: n.user_id,
            ticket_id: n.ticket_id,
            firing_id: n.firing_id,
            kind: n.kind,
            body: n.body,
            created_at: utc(n.created_at),
            read_at: n.read_at.map(utc),
        })
        .collect();
    Ok(HttpResponse::Ok().json(Items { items }))
}
