//! Login sessions (cookie) and the caller's own profile.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::openapi::{BadRequest, Invalid, RateLimited, Unauthorized};
use crate::auth::{self, Principal, Role};
use crate::error::{AppError, AppResult};
use crate::web::Ctx;
use crate::web::auth::{Authed, SESSION_COOKIE};

const SESSION_HOURS: i64 = 12;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginReq {
    #[schema(example = "admin@pemkot.example.go.id")]
    pub email: String,
    #[schema(format = Password)]
    pub password: String,
}

/// The signed-in user.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub team_id: Option<i64>,
}

impl Me {
    pub fn new(p: &Principal) -> Me {
        Me {
            id: p.user_id,
            email: p.email.clone(),
            name: p.name.clone(),
            role: p.role,
            team_id: p.team_id,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionCreated {
    pub user: Me,
    pub expires_at: DateTime<Utc>,
}

/// Log in: sets the `tanggap_session` cookie (12 hours).
///
/// Rate-limited per client address like status lookups. A wrong e-mail and a wrong password get
/// the same 400.
#[utoipa::path(
    post,
    path = "/api/v1/sessions",
    tag = "sessions",
    security(()),
    responses(
        (status = 201, description = "Logged in; the cookie is set", body = SessionCreated,
            headers(("Set-Cookie" = String, description = "`tanggap_session=…; HttpOnly; SameSite=Strict`"))),
        (status = 400, response = BadRequest),
        (status = 422, response = Invalid),
        (status = 429, response = RateLimited),
    )
)]
pub async fn create_session(ctx: Ctx, req: HttpRequest, body: web::Json<LoginReq>) -> AppResult<HttpResponse> {
    let b = body.into_inner();
    let (principal, cookie, expires) = login(&ctx, &req, &b.email, b.password).await?;
    Ok(HttpResponse::Created().cookie(cookie).json(SessionCreated {
        user: Me::new(&principal),
        expires_at: expires,
    }))
}

/// Checks an e-mail and password (rate-limited per client address) and opens a session: the
/// user, the `tanggap_session` cookie to set, and when it expires. Shared by the API and the
/// admin pages' login form.
pub async fn login(
    ctx: &Ctx,
    req: &HttpRequest,
    email: &str,
    password: String,
) -> AppResult<(Principal, Cookie<'static>, DateTime<Utc>)> {
    let ip = crate::web::ratelimit::client_ip(req, ctx.settings.server.trust_forwarded_for);
    if let Some(ip) = ip
        && !ctx.rate_limiter.allow(ip, ctx.settings.public.lookups_per_minute)
    {
        return Err(AppError::RateLimited);
    }
    let email = email.trim().to_lowercase();
    let user = ctx
        .db
        .read(move |conn| auth::repo::find_user_by_email(conn, &email).map_err(AppError::from))
        .await?;
    // Verify off the executor (argon2 is deliberately slow); same answer for unknown user or
    // wrong password.
    let user = crate::db::blocking(move || {
        Ok::<_, AppError>(user.filter(|u| {
            u.active
                && u.password_hash
                    .as_deref()
                    .is_some_and(|h| auth::verify_password(&password, h))
        }))
    })
    .await?
    .ok_or_else(|| AppError::BadRequest("wrong e-mail or password".into()))?;
    let principal = Principal::from_user(&user).ok_or_else(|| AppError::internal("bad role"))?;
    let (token, hash) = auth::new_token("tgs");
    let now = ctx.clock.now();
    let expires = now + Duration::hours(SESSION_HOURS);
    let uid = user.id;
    ctx.write(move |conn| {
        auth::repo::insert_token(
            conn,
            uid,
            "session",
            &hash,
            "login",
            now.naive_utc(),
            Some(expires.naive_utc()),
        )?;
        Ok(())
    })
    .await?;
    let cookie = Cookie::build(SESSION_COOKIE, token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(ctx.settings.server.public_url.scheme() == "https")
        .max_age(CookieDuration::hours(SESSION_HOURS))
        .finish();
    Ok((principal, cookie, expires))
}

/// Ends the session of the request's cookie (if any); returns the cookie that removes it.
pub async fn logout(ctx: &Ctx, req: &HttpRequest) -> AppResult<Cookie<'static>> {
    if let Some(c) = req.cookie(SESSION_COOKIE) {
        let hash = auth::hash_token(c.value());
        let now = ctx.clock.now_naive();
        let key = hash.clone();
        ctx.write(move |conn| Ok(auth::repo::revoke_token(conn, &key, now)?))
            .await?;
        ctx.tokens.forget(&hash);
    }
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    gone.make_removal();
    Ok(gone)
}

/// Log out: revokes the session of the cookie sent (if any) and clears the cookie.
#[utoipa::path(
    delete,
    path = "/api/v1/sessions",
    tag = "sessions",
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, response = Unauthorized),
    )
)]
pub async fn delete_session(ctx: Ctx, req: HttpRequest, _who: Authed) -> AppResult<HttpResponse> {
    let gone = logout(&ctx, &req).await?;
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

/// The caller: user id, e-mail, name, role and team.
#[utoipa::path(
    get,
    path = "/api/v1/users/me",
    tag = "sessions",
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, response = Unauthorized),
    )
)]
pub async fn get_me(who: Authed) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(Me::new(&who.0)))
}
