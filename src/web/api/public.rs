//! The citizen's status lookup: no account, just the ticket number and the secret token given
//! when the ticket was opened. A wrong token and an unknown number look the same. The HTML status
//! page ([`crate::web::pages`]) goes through the same [`lookup`].

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::openapi::{BadRequest, NotFound, RateLimited};
use crate::context::AppContext;
use crate::error::{AppError, AppResult};
use crate::tickets::public::{self, PublicTicket};
use crate::web::Ctx;
use crate::web::ratelimit::client_ip;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenQuery {
    /// The access token given with the ticket number (case, spaces and dashes do not matter).
    pub token: Option<String>,
}

/// Rate-limits per client address (`public.lookups_per_minute`), then finds the ticket by number
/// and token. Any mismatch is `NotFound`; too many lookups are `RateLimited`.
pub async fn lookup(ctx: &AppContext, req: &HttpRequest, number: String, token: String) -> AppResult<PublicTicket> {
    if let Some(ip) = client_ip(req, ctx.settings.server.trust_forwarded_for)
        && !ctx.rate_limiter.allow(ip, ctx.settings.public.lookups_per_minute)
    {
        return Err(AppError::RateLimited);
    }
    if !public::plausible(&number, &token) {
        return Err(AppError::NotFound);
    }
    ctx.db.read(move |conn| public::find(conn, &number, &token)).await
}

/// The citizen's view of a ticket: status and the public conversation, no account needed.
///
/// A wrong token and an unknown number both answer 404; lookups are rate-limited per address.
#[utoipa::path(
    get,
    path = "/api/v1/public/tickets/{number}",
    tag = "public",
    security(()),
    params(("number" = String, Path, description = "The ticket number, e.g. `2612010001`"), TokenQuery),
    responses(
        (status = 200, description = "The ticket", body = PublicTicket),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 429, response = RateLimited),
    )
)]
pub async fn get_public_ticket(
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<TokenQuery>,
) -> AppResult<HttpResponse> {
    let token = query.into_inner().token.unwrap_or_default();
    let ticket = lookup(&ctx, &req, path.into_inner(), token).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(ticket))
}
