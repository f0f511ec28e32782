//! `GET|POST /webhooks/instagram` and `/webhooks/whatsapp`. GET is Meta's subscription handshake;
//! POST checks `X-Hub-Signature-256` over the raw bytes, stores the body with its processing job in
//! one transaction and only then answers 200. Parsing happens in the job, never here.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};

use super::Platform;
use super::inbox;
use super::signature;
use crate::error::{AppError, AppResult};
use crate::web::Ctx;

pub fn configure(cfg: &mut web::ServiceConfig) {
    for platform in [Platform::Instagram, Platform::Whatsapp] {
        cfg.service(
            web::resource(format!("/webhooks/{}", platform.as_str()))
                .app_data(web::Data::new(platform))
                .route(web::get().to(verify_subscription))
                .route(web::post().to(receive)),
        );
    }
}

/// The handshake: 200 with `hub.challenge` when `hub.mode=subscribe` and `hub.verify_token`
/// equals ours; 403 otherwise (also when no verify token is configured).
async fn verify_subscription(
    ctx: Ctx,
    platform: web::Data<Platform>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let expected = platform.verify_token(&ctx.settings);
    let mode = query.get("hub.mode").map(String::as_str);
    let token = query.get("hub.verify_token").map(String::as_str).unwrap_or("");
    let challenge = query.get("hub.challenge").map(String::as_str).unwrap_or("");
    let token_ok = !expected.is_empty() && crate::auth::constant_time_eq(token.as_bytes(), expected.as_bytes());
    let challenge_ok =
        !challenge.is_empty() && challenge.len() <= 256 && challenge.bytes().all(|b| b.is_ascii_graphic());
    if mode == Some("subscribe") && token_ok && challenge_ok {
        log::info!("{} webhook subscription verified", platform.as_str());
        HttpResponse::Ok()
            .content_type("text/plain")
            .body(challenge.to_string())
    } else {
        log::warn!("{} webhook verification refused (mode {mode:?})", platform.as_str());
        HttpResponse::Forbidden()
            .content_type("text/plain")
            .body("verification failed: hub.mode must be subscribe and hub.verify_token must match")
    }
}

async fn receive(
    ctx: Ctx,
    platform: web::Data<Platform>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let limit = ctx.settings.meta.webhook_max_bytes;
    let body = match payload.to_bytes_limited(limit).await {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => return Err(AppError::BadRequest(format!("the request body could not be read: {e}"))),
        Err(_) => {
            return Err(AppError::PayloadTooLarge(format!(
                "the body is larger than {limit} bytes (meta.webhook_max_bytes)"
            )));
        }
    };
    let header = req.headers().get(signature::HEADER).and_then(|v| v.to_str().ok());
    if let Err(refusal) = signature::verify(header, &body, platform.app_secrets(&ctx.settings)) {
        log::warn!("{} webhook refused: {refusal:?}", platform.as_str());
        return Err(AppError::BadCredentials(refusal.message(platform.label())));
    }
    let source = platform.as_str();
    let bytes = body.to_vec();
    let ctx2 = ctx.clone();
    let id = ctx
        .write(move |conn| {
            let now = ctx2.clock.now().naive_utc();
            let id = inbox::insert(conn, source, &bytes, now)?;
            inbox::enqueue_processing(conn, &ctx2.settings, id, now)?;
            Ok(id)
        })
        .await?;
    log::debug!("{source} webhook stored as inbound event {id}");
    Ok(HttpResponse::Ok().content_type("text/plain").body("EVENT_RECEIVED"))
}
