//! The OpenAPI 3.1 document of `/api/v1`, generated from the handlers' `#[utoipa::path]`
//! annotations and the request/response types' `ToSchema` derives, served at
//! `GET /api/v1/openapi.json`. Every error answer is the one shared `Problem` schema
//! (`application/problem+json`); the reusable responses below name the status codes.

use std::sync::LazyLock;

use actix_web::HttpResponse;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Object, Ref, RefOr, Type};
use utoipa::{Modify, OpenApi, ToResponse};

use super::{
    admin, call_views, calls, channels_email, contacts, inbound, public, routing, sessions, sla, tickets, views,
};
use crate::error::Problem;

/// A response whose body is a [`Problem`].
fn problem(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/problem+json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build(),
    )
}

fn string_header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Object::with_type(Type::String))
        .description(Some(description))
        .build()
}

macro_rules! problem_responses {
    ($($name:ident => |$d:ident| $build:expr;)+) => {
        $(
            #[doc = concat!("The `", stringify!($name), "` problem response.")]
            pub struct $name;

            impl<'s> ToResponse<'s> for $name {
                fn response() -> (&'s str, RefOr<Response>) {
                    let $d = problem;
                    (stringify!($name), RefOr::T($build.build()))
                }
            }
        )+
    };
}

problem_responses! {
    BadRequest => |p| p("`bad_request`: the body is not JSON of the documented shape, or the path or \
        query string does not parse (an unknown query parameter included); also a wrong login.");
    Unauthorized => |p| p("`unauthorized`: no valid API token or session cookie.")
        .header("WWW-Authenticate", string_header("`Bearer realm=\"tanggap\"`"));
    Forbidden => |p| p("`forbidden`: the caller's role may not do this.");
    NotFound => |p| p("`not_found`: the resource does not exist or is not visible to you.");
    Conflict => |p| p("A conflict with stored state, e.g. `idempotency_key_reused` (the same \
        `Idempotency-Key` with another request), `name_taken`, `invalid_transition`, `duplicate`.");
    Invalid => |p| p("`validation_failed`: `errors` names each invalid or missing field.");
    RateLimited => |p| p("`rate_limited`: too many requests from this address; try again in a minute.")
        .header("Retry-After", string_header("Seconds to wait."));
}

/// The `Idempotency-Key` header of POST requests that create something: the first answer to a
/// (user, key) is stored with the change; a repeat gets it again and changes nothing; the same
/// key with another request is a 409 `idempotency_key_reused`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct IdempotencyKey {
    /// 1 to 255 printable ASCII characters, e.g. a UUID.
    #[param(rename = "Idempotency-Key", min_length = 1, max_length = 255)]
    key: Option<String>,
}

/// Security schemes: API tokens (`tanggap token create`) as bearer tokens, and the session cookie
/// set by `POST /api/v1/sessions`; the MTA's own bearer token for e-mail intake.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token from `tanggap token create`."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::web::auth::SESSION_COOKIE,
                "The session cookie set by `POST /api/v1/sessions`.",
            ))),
        );
        components.add_security_scheme(
            "email_inbound",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The configured `email.inbound_token`."))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tanggap API",
        description = "The helpdesk's JSON API. Errors are `application/problem+json` with a stable \
            snake_case `code`. POST requests that create something honour `Idempotency-Key`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    security(("bearer" = []), ("session" = [])),
    modifiers(&Security),
    paths(
        get_openapi,
        sessions::create_session,
        sessions::delete_session,
        sessions::get_me,
        admin::list_users,
        routing::set_my_availability,
        routing::update_user,
        routing::get_availability,
        tickets::create_ticket,
        tickets::list_tickets,
        tickets::get_ticket,
        tickets::update_ticket,
        tickets::create_message,
        contacts::list_contacts,
        contacts::create_contact,
        contacts::get_contact,
        contacts::update_contact,
        admin::list_teams,
        admin::create_team,
        routing::update_team,
        admin::list_categories,
        admin::create_category,
        admin::list_jobs,
        admin::retry_job,
        public::get_public_ticket,
        calls::post_cti_event,
        calls::list_calls,
        calls::stream_calls,
        calls::get_call,
        calls::update_call,
        calls::create_call_ticket,
        calls::attach_call,
        calls::list_callbacks,
        calls::list_blocked_numbers,
        calls::create_blocked_number,
        calls::update_blocked_number,
        calls::delete_blocked_number,
        sla::list_calendars,
        sla::create_calendar,
        sla::get_calendar,
        sla::delete_calendar,
        sla::list_policies,
        sla::create_policy,
        sla::get_policy,
        sla::update_policy,
        sla::delete_policy,
        sla::list_notifications,
        channels_email::receive_email,
        channels_email::get_raw_email,
        inbound::list_inbound_events,
        inbound::get_inbound_event,
        inbound::reprocess_inbound_event,
    ),
    components(
        schemas(Problem, views::TicketView, views::MessageView, call_views::CallView),
        responses(BadRequest, Unauthorized, Forbidden, NotFound, Conflict, Invalid, RateLimited)
    )
)]
pub struct ApiDoc;

/// The document, built once.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_json()
        .unwrap_or_else(|e| format!(r#"{{"error":"cannot render the OpenAPI document: {e}"}}"#))
});

/// This document: OpenAPI 3.1 for all of `/api/v1`. Public (it holds no secrets).
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    security(()),
    responses((status = 200, description = "The OpenAPI document", body = Object))
)]
pub async fn get_openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT.as_str())
}
