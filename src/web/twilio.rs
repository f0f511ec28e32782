//! Twilio Voice webhooks (optional, on when `phone.twilio_auth_token` is set):
//! `POST /webhooks/twilio/voice` (incoming call; answers TwiML) and
//! `POST /webhooks/twilio/status` (status callbacks; answers 204). The `X-Twilio-Signature` is
//! checked over the URL Twilio called, rebuilt from `server.public_url`, before anything else.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Duration;

use crate::error::{AppError, AppResult};
use crate::phone::service::{self, Source};
use crate::phone::twilio;
use crate::web::Ctx;
use crate::web::api::call_views::publish;
use crate::web::api::calls::read_body;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks/twilio/voice", web::post().to(post_twilio_voice))
        .route("/webhooks/twilio/status", web::post().to(post_twilio_status));
}

/// Verifies and records one webhook; returns whether an inbound caller is blocked.
async fn record(ctx: &Ctx, req: &HttpRequest, payload: web::Payload) -> AppResult<bool> {
    let token = ctx.settings.phone.twilio_auth_token.expose();
    if token.is_empty() {
        return Err(AppError::NotFound);
    }
    let signature = req
        .headers()
        .get("X-Twilio-Signature")
        .and_then(|v| v.to_str().ok())
        .ok_or(AppError::Unauthorized)?;
    let body = read_body(payload).await?;
    let path = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or(req.path());
    let url = format!("{}{path}", ctx.settings.public_base());
    let params = twilio::params(&body);
    if !twilio::verify(token, &url, &params, signature) {
        log::warn!("Twilio webhook with a bad signature refused ({})", req.path());
        return Err(AppError::Unauthorized);
    }
    let events = twilio::to_events(&params)?;
    let now = ctx.clock.now();
    let ctx2 = ctx.get_ref().clone();
    let (reject, touched) = ctx
        .write(move |conn| {
            let mut reject = false;
            let mut touched = Vec::new();
            for (ev, secs_before) in &events {
                let rec =
                    service::record_event(&ctx2, conn, Source::Twilio, ev, now - Duration::seconds(*secs_before))?;
                reject |= rec.reject;
                touched.extend(rec.touched);
            }
            Ok((reject, touched))
        })
        .await?;
    publish(ctx, touched).await;
    Ok(reject)
}

/// The incoming-call webhook. A blocked caller is rejected as busy; anyone else is put in the
/// Twilio queue `tanggap`, from which agents' Twilio clients take calls.
pub async fn post_twilio_voice(ctx: Ctx, req: HttpRequest, payload: web::Payload) -> AppResult<HttpResponse> {
    let reject = record(&ctx, &req, payload).await?;
    let twiml = if reject {
        r#"<?xml version="1.0" encoding="UTF-8"?><Response><Reject reason="busy"/></Response>"#
    } else {
        r#"<?xml version="1.0" encoding="UTF-8"?><Response><Enqueue>tanggap</Enqueue></Response>"#
    };
    Ok(HttpResponse::Ok().content_type("text/xml").body(twiml))
}

pub async fn post_twilio_status(ctx: Ctx, req: HttpRequest, payload: web::Payload) -> AppResult<HttpResponse> {
    record(&ctx, &req, payload).await?;
    Ok(HttpResponse::NoContent().finish())
}
