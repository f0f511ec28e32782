//! `/api/v1/sla`: business calendars and SLA policies (admins manage, agents read), and the
//! caller's SLA notifications.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::auth::Role;
use crate::error::{AppError, AppResult};
use crate::idempotency;
use crate::sla::import::CalendarSpec;
use crate::sla::policy::PolicySpec;
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
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

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

pub async fn delete_calendar(ctx: Ctx, who: Authed, path: web::Path<i64>) -> AppResult<HttpResponse> {
    who.0.require(Role::Admin)?;
    let id = path.into_inner();
    ctx.write(move |conn| admin::delete_calendar(conn, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

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
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

pub async fn get_policy(ctx: Ctx, who: Authed, path: web::Path<i64>) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let id = path.into_inner();
    let v = ctx
        .db
        .read(move |conn| admin::policy_json(&repo::policy(conn, id)?))
        .await?;
    Ok(HttpResponse::Ok().json(v))
}

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

pub async fn delete_policy(ctx: Ctx, who: Authed, path: web::Path<i64>) -> AppResult<HttpResponse> {
    who.0.require(Role::Admin)?;
    let id = path.into_inner();
    let n = ctx.write(move |conn| Ok(repo::delete_policy(conn, id)?)).await?;
    if n == 0 {
        return Err(AppError::NotFound);
    }
    Ok(HttpResponse::NoContent().finish())
}

pub async fn list_notifications(ctx: Ctx, who: Authed) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let uid = who.0.user_id;
    let items = ctx
        .db
        .read(move |conn| repo::notifications_for(conn, uid, 100).map_err(AppError::from))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}
