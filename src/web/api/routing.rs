//! Routing settings: a team's automatic assignment (admins) and agents' availability.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::required_text;
use crate::admin::Team;
use crate::auth::{Role, User};
use crate::clock::utc;
use crate::error::{AppError, AppResult};
use crate::routing::{self, MAX_OPEN_LIMIT, TeamPatch};
use crate::web::Ctx;
use crate::web::auth::Authed;

pub fn team_json(t: &Team) -> Value {
    json!({
        "id": t.id, "name": t.name, "description": t.description, "created_at": utc(t.created_at),
        "auto_assign": t.auto_assign, "max_open_per_agent": t.max_open_per_agent,
    })
}

pub fn user_json(u: &User) -> Value {
    json!({
        "id": u.id, "email": u.email, "name": u.name, "role": u.role, "team_id": u.team_id,
        "active": u.active, "available": u.available,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateTeamReq {
    pub name: Option<String>,
    pub description: Option<String>,
    pub auto_assign: Option<bool>,
    pub max_open_per_agent: Option<i64>,
}

pub async fn update_team(
    ctx: Ctx,
    who: Authed,
    path: web::Path<i64>,
    body: web::Json<UpdateTeamReq>,
) -> AppResult<HttpResponse> {
    who.0.require(Role::Admin)?;
    let id = path.into_inner();
    let b = body.into_inner();
    let max_open_per_agent = match b.max_open_per_agent {
        Some(n) if (1..=i64::from(MAX_OPEN_LIMIT)).contains(&n) => Some(n as i32),
        Some(_) => {
            return Err(AppError::field(
                "max_open_per_agent",
                format!("must be between 1 and {MAX_OPEN_LIMIT}"),
            ));
        }
        None => None,
    };
    let patch = TeamPatch {
        name: b.name.as_deref().map(|n| required_text("name", n, 100)).transpose()?,
        description: b.description.map(|d| d.trim().to_string()),
        auto_assign: b.auto_assign,
        max_open_per_agent,
    };
    let ctx2 = ctx.get_ref().clone();
    let team = ctx
        .write(move |conn| routing::update_team(&ctx2, conn, id, &patch))
        .await?;
    Ok(HttpResponse::Ok().json(team_json(&team)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityReq {
    pub available: bool,
}

/// `PUT /users/me/availability`: an agent says whether they take tickets now.
pub async fn set_my_availability(ctx: Ctx, who: Authed, body: web::Json<AvailabilityReq>) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    set_availability(ctx, who.0.user_id, who.0.user_id, body.available).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserReq {
    pub available: Option<bool>,
}

/// `PATCH /users/{id}`: a supervisor or admin changes another user's availability.
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
            Ok(HttpResponse::Ok().json(user_json(&user)))
        }
    }
}

async fn set_availability(ctx: Ctx, user_id: i64, changed_by: i64, available: bool) -> AppResult<HttpResponse> {
    let ctx2 = ctx.get_ref().clone();
    let user = ctx
        .write(move |conn| routing::set_availability(&ctx2, conn, user_id, available, changed_by))
        .await?;
    Ok(HttpResponse::Ok().json(user_json(&user)))
}

/// `GET /users/{id}/availability`: the current state and its latest changes (supervisors, or
/// the user themself).
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
    let changes: Vec<_> = changes
        .into_iter()
        .map(|(available, changed_by, at)| json!({ "available": available, "changed_by": changed_by, "at": utc(at) }))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "user_id": user.id, "available": user.available, "changes": changes })))
}
