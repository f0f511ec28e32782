//! Reference data (teams, categories), users and the job queue.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::openapi::{BadRequest, Conflict, Forbidden, IdempotencyKey, Invalid, NotFound, Unauthorized};
use super::views::{Items, Page};
use super::{decode_cursor, encode_cursor, page_limit, required_text};
use crate::admin::repo;
use crate::auth::{self, Role};
use crate::clock::utc;
use crate::error::{AppError, AppResult};
use crate::idempotency;
use crate::jobs::repo::{self as jobs_repo, JobState};
use crate::web::Ctx;
use crate::web::auth::Authed;

#[derive(Serialize, utoipa::ToSchema)]
pub struct TeamView {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
    /// New tickets of this team are assigned to its available agents by the router.
    pub auto_assign: bool,
    /// The most open tickets the router gives one agent of this team.
    pub max_open_per_agent: i32,
}

impl TeamView {
    pub fn new(t: &crate::admin::Team) -> TeamView {
        TeamView {
            id: t.id,
            name: t.name.clone(),
            description: t.description.clone(),
            created_at: utc(t.created_at),
            auto_assign: t.auto_assign,
            max_open_per_agent: t.max_open_per_agent,
        }
    }
}

/// Teams, by name.
#[utoipa::path(
    get,
    path = "/api/v1/teams",
    tag = "admin",
    responses(
        (status = 200, description = "All teams", body = Items<TeamView>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
pub async fn list_teams(ctx: Ctx, who: Authed) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let teams = ctx
        .db
        .read(|conn| repo::list_teams(conn).map_err(AppError::from))
        .await?;
    let items = teams.iter().map(TeamView::new).collect();
    Ok(HttpResponse::Ok().json(Items { items }))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeamReq {
    #[schema(min_length = 1, max_length = 100, example = "Pembayaran Insentif")]
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// Creates a team (admin).
#[utoipa::path(
    post,
    path = "/api/v1/teams",
    tag = "admin",
    params(IdempotencyKey),
    responses(
        (status = 201, description = "The team", body = TeamView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
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
        Ok((StatusCode::CREATED, serde_json::to_value(TeamView::new(&t))?))
    })
    .await
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CategoryView {
    pub id: i64,
    pub name: String,
    pub team_id: Option<i64>,
}

impl CategoryView {
    fn new(c: &crate::admin::Category) -> CategoryView {
        CategoryView {
            id: c.id,
            name: c.name.clone(),
            team_id: c.team_id,
        }
    }
}

/// Categories, by name, with the team each is routed to.
#[utoipa::path(
    get,
    path = "/api/v1/categories",
    tag = "admin",
    responses(
        (status = 200, description = "All categories", body = Items<CategoryView>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
pub async fn list_categories(ctx: Ctx, who: Authed) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let cats = ctx
        .db
        .read(|conn| repo::list_categories(conn).map_err(AppError::from))
        .await?;
    let items = cats.iter().map(CategoryView::new).collect();
    Ok(HttpResponse::Ok().json(Items { items }))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCategoryReq {
    #[schema(min_length = 1, max_length = 100, example = "Insentif")]
    pub name: String,
    pub team: Option<i64>,
}

/// Creates a category (admin), optionally routed to a team.
#[utoipa::path(
    post,
    path = "/api/v1/categories",
    tag = "admin",
    params(IdempotencyKey),
    responses(
        (status = 201, description = "The category", body = CategoryView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
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
        Ok((StatusCode::CREATED, serde_json::to_value(CategoryView::new(&c))?))
    })
    .await
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub name: String,
    /// `agent`, `supervisor` or `admin`.
    pub role: String,
    pub team_id: Option<i64>,
    pub active: bool,
    /// Whether the agent takes routed tickets now.
    pub available: bool,
}

impl UserView {
    pub fn new(u: &auth::User) -> UserView {
        UserView {
            id: u.id,
            email: u.email.clone(),
            name: u.name.clone(),
            role: u.role.clone(),
            team_id: u.team_id,
            active: u.active,
            available: u.available,
        }
    }
}

/// Users (supervisors and admins).
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "admin",
    responses(
        (status = 200, description = "All users", body = Items<UserView>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
pub async fn list_users(ctx: Ctx, who: Authed) -> AppResult<HttpResponse> {
    who.0.require(Role::Supervisor)?;
    let users = ctx
        .db
        .read(|conn| auth::repo::list_users(conn).map_err(AppError::from))
        .await?;
    let items = users.iter().map(UserView::new).collect();
    Ok(HttpResponse::Ok().json(Items { items }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JobsQuery {
    /// `pending`, `dead` or `all` (the default).
    #[param(inline, value_type = Option<JobStateParam>)]
    pub state: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// The states `GET /jobs` filters on (documentation only: the handler checks the string).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum JobStateParam {
    Pending,
    Dead,
    All,
}

/// The job queue (admin), newest first: pending and dead-lettered jobs.
#[utoipa::path(
    get,
    path = "/api/v1/jobs",
    tag = "admin",
    params(JobsQuery),
    responses(
        (status = 200, description = "A page of jobs", body = Page<JobView>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    )
)]
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
    let items = jobs.iter().map(JobView::new).collect();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct JobView {
    pub id: i64,
    pub kind: String,
    /// `pending` or `dead`.
    pub state: &'static str,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub dead_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The worker holding the job's lease.
    pub leased_by: Option<String>,
}

impl JobView {
    fn new(j: &crate::jobs::Job) -> JobView {
        JobView {
            id: j.id,
            kind: j.kind.clone(),
            state: if j.dead_at.is_some() { "dead" } else { "pending" },
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_at: utc(j.run_at),
            last_error: j.last_error.clone(),
            dead_at: j.dead_at.map(utc),
            created_at: utc(j.created_at),
            leased_by: j.lease_owner.clone(),
        }
    }
}

/// Runs a dead-lettered job again (admin).
#[utoipa::path(
    post,
    path = "/api/v1/jobs/{id}/retry",
    tag = "admin",
    responses(
        (status = 200, description = "The job, queued again", body = JobView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
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
    Ok(HttpResponse::Ok().json(JobView::new(&job)))
}
