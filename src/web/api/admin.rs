//! Reference data (teams, categories), users and the job queue.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{decode_cursor, encode_cursor, page_limit, required_text};
use crate::admin::repo;
use crate::auth::{self, Role};
use crate::clock::utc;
use crate::error::{AppError, AppResult};
use crate::idempotency;
use crate::jobs::repo::{self as jobs_repo, JobState};
use crate::web::Ctx;
use crate::web::auth::Authed;

pub async fn list_teams(ctx: Ctx, who: Authed) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let teams = ctx
        .db
        .read(|conn| repo::list_teams(conn).map_err(AppError::from))
        .await?;
    let items: Vec<_> = teams.iter().map(super::routing::team_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTeamReq {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

pub async fn create_team(
    ctx: Ctx,
    req: HttpRequest,
    who: Authed,
    body: web::Json<CreateTeamReq>,
) -> AppResult<HttpResponse> {
    who.0.require(Role::Admin)?;
    let b = body.into_inner();
    let name = required_text("name", &b.name, 100)?;
    let description = b.description.trim().to_string();
    idempotency::run(&ctx, &req, who.0.user_id, &b, move |ctx, conn| {
        let t = repo::insert_team(conn, &name, &description, ctx.clock.now_naive())
            .map_err(|e| AppError::taken(e, "name"))?;
        Ok((StatusCode::CREATED, super::routing::team_json(&t)))
    })
    .await
}

pub async fn list_categories(ctx: Ctx, who: Authed) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let cats = ctx
        .db
        .read(|conn| repo::list_categories(conn).map_err(AppError::from))
        .await?;
    let items: Vec<_> = cats
        .iter()
        .map(|c| json!({ "id": c.id, "name": c.name, "team_id": c.team_id }))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCategoryReq {
    pub name: String,
    pub team: Option<i64>,
}

pub async fn create_category(
    ctx: Ctx,
    req: HttpRequest,
    who: Authed,
    body: web::Json<CreateCategoryReq>,
) -> AppResult<HttpResponse> {
    who.0.require(Role::Admin)?;
    let b = body.into_inner();
    let name = required_text("name", &b.name, 100)?;
    let team = b.team;
    idempotency::run(&ctx, &req, who.0.user_id, &b, move |ctx, conn| {
        if let Some(t) = team {
            repo::get_team(conn, t).map_err(|e| AppError::missing_as_field(e, "team"))?;
        }
        let c =
            repo::insert_category(conn, &name, team, ctx.clock.now_naive()).map_err(|e| AppError::taken(e, "name"))?;
        Ok((
            StatusCode::CREATED,
            json!({ "id": c.id, "name": c.name, "team_id": c.team_id }),
        ))
    })
    .await
}

pub async fn list_users(ctx: Ctx, who: Authed) -> AppResult<HttpResponse> {
    who.0.require(Role::Supervisor)?;
    let users = ctx
        .db
        .read(|conn| auth::repo::list_users(conn).map_err(AppError::from))
        .await?;
    let items: Vec<_> = users.iter().map(super::routing::user_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsQuery {
    pub state: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

pub async fn list_jobs(ctx: Ctx, who: Authed, query: web::Query<JobsQuery>) -> AppResult<HttpResponse> {
    who.0.require(Role::Admin)?;
    let q = query.into_inner();
    let state = match q.state.as_deref() {
        None | Some("all") => JobState::All,
        Some("pending") => JobState::Pending,
        Some("dead") => JobState::Dead,
        Some(_) => return Err(AppError::field("state", "must be pending, dead or all")),
    };
    let limit = page_limit(q.limit)?;
    let before = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let jobs = ctx
        .db
        .read(move |conn| jobs_repo::list(conn, state, before, limit).map_err(AppError::from))
        .await?;
    let next_cursor = (jobs.len() as i64 == limit)
        .then(|| jobs.last().map(|j| encode_cursor(j.id)))
        .flatten();
    let items: Vec<_> = jobs.iter().map(job_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next_cursor": next_cursor })))
}

fn job_json(j: &crate::jobs::Job) -> serde_json::Value {
    json!({
        "id": j.id, "kind": j.kind, "state": if j.dead_at.is_some() { "dead" } else { "pending" },
        "attempts": j.attempts, "max_attempts": j.max_attempts, "run_at": utc(j.run_at),
        "last_error": j.last_error, "dead_at": j.dead_at.map(utc), "created_at": utc(j.created_at),
        "leased_by": j.lease_owner,
    })
}

pub async fn retry_job(ctx: Ctx, who: Authed, path: web::Path<i64>) -> AppResult<HttpResponse> {
    who.0.require(Role::Admin)?;
    let id = path.into_inner();
    let ctx2 = ctx.get_ref().clone();
    let job = ctx
        .write(move |conn| {
            let job = jobs_repo::get(conn, id)?;
            if job.dead_at.is_none() {
                return Err(AppError::Conflict {
                    code: "job_not_dead",
                    message: "only dead-lettered jobs can be retried; this one is still queued".into(),
                    extra: None,
                });
            }
            jobs_repo::retry(conn, id, ctx2.clock.now_naive())?;
            Ok(jobs_repo::get(conn, id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(job_json(&job)))
}
