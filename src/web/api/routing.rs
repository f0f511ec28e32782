//! Routing settings: a team's automatic assignment (admins) and agents' availability.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::admin::{TeamView, UserView};
use super::openapi::{BadRequest, Forbidden, Invalid, NotFound, Unauthorized};
use super::required_text;
use crate::auth::Role;
use crate::clock::utc;
use crate::error::{AppError, AppResult};
use crate::routing::{self, TeamPatch};
use crate::web::Ctx;
use crate::web::auth::Authed;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTeamReq {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    pub description: Option<String>,
    /// Assign the team's new and waiting tickets to its available agents.
    pub auto_assign: Option<bool>,
    #[schema(minimum = 1, maximum = 1000)]
    pub max_open_per_agent: Option<i64>,
}

/// Changes a team (admin): name, description, automatic assignment and the per-agent cap.
/// Turning `auto_assign` on or raising the cap routes the waiting tickets.
#[utoipa::path(
    patch,
    path = "/api/v1/teams/{id}",
    tag = "routing",
    responses(
        (status = 200, description = "The team", body = TeamView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = super::openapi::Conflict),
        (status = 422, response = Invalid),
    )
)]

pub async fn update_team(
    ctx: Ctx,
    who: Authed,
    path: web::Path<i64>,
    body: web::Json<UpdateTeamReq>,
) -> AppResult<HttpResponse> {
    who.0.require(Role::Admin)?;
    let id = path.into_inner();
    let b = body.into_inner();
    let patch = TeamPatch {
        name: b.name.as_deref().map(|n| required_text("name", n, 100)).transpose()?,
        description: b.description.map(|d| d.trim().to_string()),
        auto_assign: b.auto_assign,
        max_open_per_agent: b.max_open_per_agent,
    };
    let ctx2 = ctx.get_ref().clone();
    let team = ctx
        .write(move |conn| routing::update_team(&ctx2, conn, id, &patch))
        .await?;
    Ok(HttpResponse::Ok().json(TeamView::new(&team)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityReq {
    pub available: bool,
}

/// An agent says whether they take routed tickets now; becoming available routes waiting
/// tickets of their team to them.
#[utoipa::path(
    put,
    path = "/api/v1/users/me/availability",
    tag = "routing",
    responses(
        (status = 200, description = "The caller", body = UserView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    )
)]
pub async fn set_my_availability(ctx: Ctx, who: Authed, body: web::Json<AvailabilityReq>) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    set_availability(ctx, who.0.user_id, who.0.user_id, body.available).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserReq {
    pub available: Option<bool>,
}

/// A supervisor or admin changes another user's availability.
#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    tag = "routing",
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    )
)]
pub async fn update_user(
    ctx: Ctx,
    who: Authed,
    path: web::Path<i64>,
    body: web::Json<UpdateUserReq>,
) -> AppResult<HttpResponse> {
    who.0.require(Role::Supervisor)?;
    let id = path.into_inner();
    match body.available {
        Some(available) => set_availability(ctx, id, who.0.user_id, available).await,
        None => {
            let user = ctx
                .db
                .read(move |conn| crate::auth::repo::get_user(conn, id).map_err(AppError::from))
                .await?;
            Ok(HttpResponse::Ok().json(UserView::new(&user)))
        }
    }
}

async fn set_availability(ctx: Ctx, user_id: i64, changed_by: i64, available: bool) -> AppResult<HttpResponse> {
    let ctx2 = ctx.get_ref().clone();
    let user = ctx
        .write(move |conn| routing::set_availability(&ctx2, conn, user_id, available, changed_by))
        .await?;
    Ok(HttpResponse::Ok().json(UserView::new(&user)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AvailabilityChange {
    pub available: bool,
    /// The user who made the change.
    pub changed_by: Option<i64>,
    pub at: DateTime<Utc>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Availability {
    pub user_id: i64,
    pub available: bool,
    /// The latest 50 changes, newest first.
    pub changes: Vec<AvailabilityChange>,
}

/// A user's availability and its latest changes (supervisors, or the user themself).
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/availability",
    tag = "routing",
    responses(
        (status = 200, description = "Availability and its history", body = Availability),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn get_availability(ctx: Ctx, who: Authed, path: web::Path<i64>) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    if id != who.0.user_id {
        who.0.require(Role::Supervisor)?;
    }
    let (user, changes) = ctx
        .db
        .read(move |conn| {
            let user = crate::auth::repo::get_user(conn, id)?;
            let changes = routing::repo::availability_history(conn, id, 50)?;
            Ok::<_, AppError>((user, changes))
        })
        .await?;
    let changes = changes
        .into_iter()
        .map(|(available, changed_by, at)| AvailabilityChange {
            available,
            changed_by,
            at: utc(at),
        })
        .collect();
    Ok(HttpResponse::Ok().json(Availability {
        user_id: user.id,
        available: user.available,
        changes,
    }))
}
