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
            let hash = auth::hash_token(&token);
            let now = ctx.clock.now_naive();
            let user = ctx
                .db
                .read(move |conn| auth::repo::user_by_token(conn, &hash, now).map_err(AppError::from))
                .await?
                .ok_or(AppError::Unauthorized)?;
            let principal = Principal::from_user(&user)
                .ok_or_else(|| AppError::internal(format!("user {} has unknown role {}", user.id, user.role)))?;
            Ok(Authed(principal))
        })
    }
}
