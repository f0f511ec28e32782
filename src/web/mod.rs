//! HTTP surface: the JSON API under `/api/v1`, health probes, and the citizen's status page.

pub mod admin;
pub mod api;
pub mod auth;
pub mod nul;
pub mod pages;
pub mod ratelimit;
pub mod twilio;

use actix_web::{HttpRequest, HttpResponse, web};

use crate::context::AppContext;
use crate::error::AppError;

pub type Ctx = web::Data<AppContext>;

/// Registers every route. Shared by `serve` and the tests.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(nul::MAX_BODY)
            .error_handler(|err, _req| json_error(err).into()),
    )
    .app_data(
        web::QueryConfig::default()
            .error_handler(|err, _req| AppError::BadRequest(format!("invalid query string: {err}")).into()),
    )
    .app_data(
        web::PathConfig::default()
            .error_handler(|err, _req| AppError::BadRequest(format!("invalid path: {err}")).into()),
    )
    .route("/healthz", web::get().to(healthz))
    .route("/readyz", web::get().to(readyz))
    .configure(crate::channels::meta::webhook::configure)
    .service(
        web::scope("/api/v1")
            .wrap(actix_web::middleware::from_fn(nul::reject_nul))
            .configure(api::configure),
    )
    .configure(pages::configure)
    .configure(admin::configure)
    .configure(twilio::configure)
    .default_service(web::to(not_found));
}

/// A body that is not the expected JSON is a 400, except a required field left out: that is a
/// validation error naming the field, like a field with a bad value.
fn json_error(err: actix_web::error::JsonPayloadError) -> AppError {
    if let actix_web::error::JsonPayloadError::Deserialize(e) = &err
        && e.classify() == serde_json::error::Category::Data
        && let Some(field) = e
            .to_string()
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(field, _)| field.to_string())
    {
        return AppError::field(&field, "is required");
    }
    AppError::BadRequest(format!("invalid JSON body: {err}"))
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(ctx: Ctx) -> Result<HttpResponse, AppError> {
    ctx.db
        .read(|conn| {
            use diesel::connection::SimpleConnection;
            conn.batch_execute("SELECT 1").map_err(AppError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ready", "database": "ok" })))
}

async fn not_found(_req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}
