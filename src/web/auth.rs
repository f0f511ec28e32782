//! Authentication of agent requests: `Authorization: Bearer <token>` (API tokens) or the
//! `tanggap_session` cookie set by `POST /api/v1/sessions`. Roles are checked per handler.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::auth::{self, Principal};
use crate::context::AppContext;
use crate::error::AppError;

pub const SESSION_COOKIE: &str = "tanggap_session";

/// An authenticated agent, supervisor or admin.
pub struct Authed(pub Principal);

fn credential(req: &HttpRequest) -> Option<String> {
    if let Some(h) = req.headers().get(actix_web::http::header::AUTHORIZATION) {
        let v = h.to_str().ok()?;
        let (scheme, token) = v.split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string());
    }
    req.cookie(SESSION_COOKIE).map(|c| c.value().to_string())
}

impl FromRequest for Authed {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Authed, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = credential(req);
        let ctx = req.app_data::<web::Data<AppContext>>().cloned();
        Box::pin(async move {
            let ctx = ctx.ok_or_else(|| AppError::internal("app context missing"))?;
            let token = token.filter(|t| !t.is_empty()).ok_or(AppError::Unauthorized)?;
            let principal = authenticate(&ctx, &token).await?.ok_or(AppError::Unauthorized)?;
            Ok(Authed(principal))
        })
    }
}

/// The principal owning a live API token or session secret, from the process's short-lived
/// cache ([`crate::auth::cache`]) or the database.
pub async fn authenticate(ctx: &AppContext, secret: &str) -> Result<Option<Principal>, AppError> {
    let hash = auth::hash_token(secret);
    let now = ctx.clock.now_naive();
    if let Some(p) = ctx.tokens.get(&hash, now) {
        return Ok(Some(p));
    }
    let key = hash.clone();
    let Some((user, expires_at)) = ctx
        .db
        .read(move |conn| auth::repo::user_by_token(conn, &key, now).map_err(AppError::from))
        .await?
    else {
        return Ok(None);
    };
    let principal = Principal::from_user(&user)
        .ok_or_else(|| AppError::internal(format!("user {} has unknown role {}", user.id, user.role)))?;
    ctx.tokens.put(hash, principal.clone(), expires_at);
    Ok(Some(principal))
}
