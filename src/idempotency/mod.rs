//! `Idempotency-Key` on POST: the first response to a (user, key) is stored in the same
//! transaction as the change it describes; a repeat with the same body gets that response again
//! and changes nothing; a repeat with a different body is refused.

pub mod repo;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::context::AppContext;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};

pub const HEADER: &str = "Idempotency-Key";

/// The key sent by the client, validated.
pub fn key_of(req: &HttpRequest) -> AppResult<Option<String>> {
    let Some(v) = req.headers().get(HEADER) else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .map_err(|_| AppError::field(HEADER, "must be printable ASCII"))?
        .trim();
    if key.is_empty() || key.len() > 255 {
        return Err(AppError::field(HEADER, "must be 1 to 255 characters"));
    }
    Ok(Some(key.to_string()))
}

/// Fingerprint of a request: method, path and the parsed body.
pub fn fingerprint(req: &HttpRequest, body: &impl serde::Serialize) -> String {
    let mut h = Sha256::new();
    h.update(req.method().as_str());
    h.update(b" ");
    h.update(req.path());
    h.update(b"\n");
    h.update(serde_json::to_vec(body).unwrap_or_default());
    hex::encode(h.finalize())
}

/// Runs `f` in a write transaction, honouring the request's `Idempotency-Key`.
pub async fn run<F>(
    ctx: &AppContext,
    req: &HttpRequest,
    user_id: i64,
    body: &impl serde::Serialize,
    f: F,
) -> AppResult<HttpResponse>
where
    F: Fn(&AppContext, &mut DbConnection) -> AppResult<(StatusCode, Value)> + Send + 'static,
{
    let key = key_of(req)?;
    let print = fingerprint(req, body);
    let ctx2 = ctx.clone();
    let (status, body) = ctx
        .write(move |conn| {
            let now = ctx2.clock.now_naive();
            if let Some(key) = &key {
                if let Some(stored) = repo::find(conn, user_id, key)? {
                    if stored.request_hash != print {
                        return Err(AppError::Conflict {
                            code: "idempotency_key_reused",
                            message: format!("{HEADER} `{key}` was already used with a different request"),
                            extra: None,
                        });
                    }
                    let status = StatusCode::from_u16(stored.response_status as u16)
                        .map_err(|e| AppError::internal(format!("stored status: {e}")))?;
                    return Ok((status, serde_json::from_str(&stored.response_body)?));
                }
                let (status, body) = f(&ctx2, conn)?;
                repo::insert(
                    conn,
                    user_id,
                    key,
                    &print,
                    status.as_u16() as i32,
                    &body.to_string(),
                    now,
                )?;
                Ok((status, body))
            } else {
                f(&ctx2, conn)
            }
        })
        .await?;
    Ok(HttpResponse::build(status).json(body))
}
