//! `POST /api/v1/channels/email/inbound`: an MTA (or a relay service) posts one raw RFC 5322
//! message, authenticated by `Authorization: Bearer <email.inbound_token>` checked before the body
//! is read. 200 means the mail is committed (stored, recognised as a duplicate, or recorded as an
//! auto-reply or bounce); a 4xx means it will never be accepted; 5xx/503 mean retry.
//! `GET /api/v1/channels/email/messages/{id}/raw` shows an agent the stored original.

use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;

use super::openapi::{BadRequest, NotFound, Unauthorized};
use crate::auth::constant_time_eq;
use crate::error::{AppError, AppResult};
use crate::web::Ctx;
use crate::web::auth::Authed;

fn bearer(req: &HttpRequest) -> Option<&str> {
    let v = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// One raw RFC 5322 message from an MTA, authenticated by `email.inbound_token`.
///
/// 404 while no token is configured. The answer says what was done with the mail.
#[utoipa::path(
    post,
    path = "/api/v1/channels/email/inbound",
    tag = "channels",
    security(("email_inbound" = [])),
    request_body(description = "The message as received", content((String = "message/rfc822"))),
    responses(
        (status = 200, description = "The mail is committed", body = crate::email::EmailReport),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn receive_email(ctx: Ctx, req: HttpRequest, mut body: web::Payload) -> AppResult<HttpResponse> {
    let expected = ctx.settings.email.inbound_token.expose();
    if expected.is_empty() {
        // The endpoint is off until a token is configured.
        return Err(AppError::NotFound);
    }
    let given = bearer(&req).ok_or(AppError::Unauthorized)?;
    if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        return Err(AppError::Unauthorized);
    }
    // Mail over email.max_message_bytes is still stored (without attachments); far beyond it the
    // sender's MTA gets a clear refusal instead of an unbounded upload.
    let limit = ctx.settings.email.max_message_bytes.saturating_mul(4) as usize;
    let mut raw = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| AppError::BadRequest(format!("cannot read the request body: {e}")))?;
        if raw.len() + chunk.len() > limit {
            return Err(AppError::BadRequest(format!(
                "the message is larger than {limit} bytes (4 × email.max_message_bytes)"
            )));
        }
        raw.extend_from_slice(&chunk);
    }
    let report = crate::email::ingest(&ctx, raw).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The stored original of an e-mail message (any signed-in user).
#[utoipa::path(
    get,
    path = "/api/v1/channels/email/messages/{id}/raw",
    tag = "channels",
    responses(
        (status = 200, description = "The message as received", content_type = "message/rfc822", body = String,
            headers(("X-Tanggap-Truncated" = String, description = "`headers-only` when only the headers were kept, else `no`"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn get_raw_email(ctx: Ctx, _user: Authed, path: web::Path<i64>) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let (raw, truncated) = ctx
        .db
        .read(move |conn| crate::email::repo::get_raw(conn, id).map_err(AppError::from))
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("message/rfc822")
        .insert_header(("X-Tanggap-Truncated", if truncated { "headers-only" } else { "no" }))
        .body(raw))
}
