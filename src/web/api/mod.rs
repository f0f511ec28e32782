//! `/api/v1` routes. Handlers are named `verb_noun`, parse and validate at the edge, and call
//! services inside one transaction; they never run SQL themselves.

mod admin;
pub mod call_views;
pub mod calls;
mod channels_email;
mod contacts;
mod inbound;
pub mod openapi;
pub mod public;
mod routing;
pub mod sessions;
mod sla;
mod tickets;
pub mod views;

use actix_web::web;
use base64::Engine;

use crate::error::AppError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/openapi.json", web::get().to(openapi::get_openapi))
        .route("/sessions", web::post().to(sessions::create_session))
        .route("/sessions", web::delete().to(sessions::delete_session))
        .route("/users/me", web::get().to(sessions::get_me))
        .route("/users", web::get().to(admin::list_users))
        .route("/users/me/availability", web::put().to(routing::set_my_availability))
        .route("/users/{id}", web::patch().to(routing::update_user))
        .route("/users/{id}/availability", web::get().to(routing::get_availability))
        .route("/tickets", web::post().to(tickets::create_ticket))
        .route("/tickets", web::get().to(tickets::list_tickets))
        .route("/tickets/{id}", web::get().to(tickets::get_ticket))
        .route("/tickets/{id}", web::patch().to(tickets::update_ticket))
        .route("/tickets/{id}/messages", web::post().to(tickets::create_message))
        .route("/contacts", web::get().to(contacts::list_contacts))
        .route("/contacts", web::post().to(contacts::create_contact))
        .route("/contacts/{id}", web::get().to(contacts::get_contact))
        .route("/contacts/{id}", web::patch().to(contacts::update_contact))
        .route("/teams", web::get().to(admin::list_teams))
        .route("/teams", web::post().to(admin::create_team))
        .route("/teams/{id}", web::patch().to(routing::update_team))
        .route("/categories", web::get().to(admin::list_categories))
        .route("/categories", web::post().to(admin::create_category))
        .route("/jobs", web::get().to(admin::list_jobs))
        .route("/jobs/{id}/retry", web::post().to(admin::retry_job))
        .route("/public/tickets/{number}", web::get().to(public::get_public_ticket))
        .configure(calls::configure)
        .configure(sla::configure)
        .route("/channels/email/inbound", web::post().to(channels_email::receive_email))
        .route(
            "/channels/email/messages/{id}/raw",
            web::get().to(channels_email::get_raw_email),
        )
        .route("/inbound-events", web::get().to(inbound::list_inbound_events))
        .route("/inbound-events/{id}", web::get().to(inbound::get_inbound_event))
        .route(
            "/inbound-events/{id}/reprocess",
            web::post().to(inbound::reprocess_inbound_event),
        );
}

/// Opaque keyset cursor over descending ids.
pub fn encode_cursor(id: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("id:{id}"))
}

pub fn decode_cursor(cursor: &str) -> Result<i64, AppError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("id:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| AppError::field("cursor", "is not a cursor returned by this API"))
}

/// Page size: default 50, at most 200.
pub fn page_limit(limit: Option<i64>) -> Result<i64, AppError> {
    match limit {
        None => Ok(50),
        Some(n) if (1..=200).contains(&n) => Ok(n),
        Some(_) => Err(AppError::field("limit", "must be between 1 and 200")),
    }
}

/// Trims a required text field and checks its length.
pub fn required_text(name: &str, value: &str, max_chars: usize) -> Result<String, AppError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(AppError::field(name, "must not be empty"));
    }
    if v.chars().count() > max_chars {
        return Err(AppError::field(name, format!("must be at most {max_chars} characters")));
    }
    Ok(v.to_string())
}
