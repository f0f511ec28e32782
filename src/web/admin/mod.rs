//! Admin pages for the SLA engine under `/admin`: sign-in, policies (list, create, edit, reorder,
//! disable) and calendars (list, view, import a TOML/iCal/CSV file, due-time calculator).
//! Server-rendered HTML with the citizen pages' headers (strict CSP, no scripts, nothing cached).
//!
//! Authentication is the `tanggap_session` cookie (the same session as `POST /api/v1/sessions`;
//! the login form here opens one). Supervisors may look, admins may change. Forms are protected
//! against cross-site requests by a per-session token in a hidden `csrf` field — a SHA-256 of
//! the session secret, which another site can neither read nor compute — checked on every POST,
//! on top of the cookie's `SameSite=Strict`. The login form, which has no session yet, accepts
//! only requests whose `Origin` (when the browser sends one) is this server.

/// The page's session with at least the role, or return the login redirect or the 403 page.
macro_rules! signed_in {
    ($ctx:expr, $req:expr, $role:expr) => {
        match $crate::web::admin::require(&$ctx, &$req, $role).await {
            Ok(s) => s,
            Err(resp) => return resp,
        }
    };
}

/// The value of a service call, or return its error page.
macro_rules! or_error_page {
    ($ctx:expr, $result:expr) => {
        match $result {
            Ok(v) => v,
            Err(e) => return $crate::web::admin::error_page(&$ctx, &e),
        }
    };
}

mod calendars;
mod multipart;
mod policies;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{self, Principal, Role};
use crate::error::AppError;
use crate::web::Ctx;
use crate::web::api::sessions;
use crate::web::auth::SESSION_COOKIE;
use crate::web::pages::{base, html};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .app_data(web::FormConfig::default().limit(256 * 1024))
            .app_data(web::PayloadConfig::new(1024 * 1024))
            .route("", web::get().to(get_home))
            .route("/", web::get().to(get_home))
            .route("/sla", web::get().to(get_home))
            .route("/login", web::get().to(get_login))
            .route("/login", web::post().to(post_login))
            .route("/logout", web::post().to(post_logout))
            .route("/sla/policies", web::get().to(policies::list_policies))
            .route("/sla/policies", web::post().to(policies::create_policy))
            .route("/sla/policies/new", web::get().to(policies::new_policy))
            .route("/sla/policies/{id}", web::get().to(policies::edit_policy))
            .route("/sla/policies/{id}", web::post().to(policies::update_policy))
            .route("/sla/policies/{id}/move", web::post().to(policies::move_policy))
            .route("/sla/policies/{id}/enabled", web::post().to(policies::enable_policy))
            .route("/sla/calendars", web::get().to(calendars::list_calendars))
            .route("/sla/calendars/import", web::post().to(calendars::import_calendar))
            .route("/sla/calendars/{id}", web::get().to(calendars::show_calendar))
            .route("/sla/due", web::get().to(calendars::due_calculator)),
    );
}

/// The signed-in user of a page, and the token their forms carry.
pub struct Session {
    pub who: Principal,
    pub csrf: String,
}

fn csrf_of(session_secret: &str) -> String {
    auth::hash_token(&format!("tanggap-csrf:{session_secret}"))
}

async fn session(ctx: &Ctx, req: &HttpRequest) -> Result<Option<Session>, AppError> {
    let Some(secret) = req
        .cookie(SESSION_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|s| !s.is_empty())
    else {
        return Ok(None);
    };
    let who = crate::web::auth::authenticate(ctx, &secret).await?;
    Ok(who.map(|who| Session {
        who,
        csrf: csrf_of(&secret),
    }))
}

/// The signed-in user with at least `role`; otherwise the response to send: a redirect to the
/// login page (with the way back), or a 403 page.
pub async fn require(ctx: &Ctx, req: &HttpRequest, role: Role) -> Result<Session, HttpResponse> {
    let s = match session(ctx, req).await {
        Ok(s) => s,
        Err(e) => return Err(error_page(ctx, &e)),
    };
    let Some(s) = s else {
        let next = if req.method() == actix_web::http::Method::GET {
            req.uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/admin/sla/policies")
        } else {
            "/admin/sla/policies"
        };
        let target = format!("{}/admin/login?next={}", base(&ctx.settings), url_escape(next));
        return Err(see_other(&target));
    };
    if s.who.role < role {
        return Err(message_page(
            ctx,
            StatusCode::FORBIDDEN,
            "Not allowed",
            &format!(
                "This page needs the {} role; you are signed in as {}.",
                role.as_str(),
                s.who.role.as_str()
            ),
        ));
    }
    Ok(s)
}

/// A POST from one of our forms must carry this session's token in `csrf`: `None` when it does,
/// otherwise the 403 page to send.
pub fn csrf_refusal(ctx: &Ctx, s: &Session, submitted: Option<&str>) -> Option<HttpResponse> {
    if submitted.is_some_and(|t| auth::constant_time_eq(t.as_bytes(), s.csrf.as_bytes())) {
        return None;
    }
    Some(message_page(
        ctx,
        StatusCode::FORBIDDEN,
        "Form expired",
        "The form did not carry this session's security token (CSRF check). Reload the page and submit it again.",
    ))
}

pub fn see_other(location: &str) -> HttpResponse {
    see_other_setting(location, None)
}

/// A redirect that also sets (or removes) the session cookie.
fn see_other_setting(location: &str, cookie: Option<actix_web::cookie::Cookie<'_>>) -> HttpResponse {
    let mut resp = HttpResponse::SeeOther();
    resp.insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(c) = cookie {
        resp.cookie(c);
    }
    resp.finish()
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A way back after login: only our own admin pages.
fn safe_next(next: Option<&str>) -> &str {
    next.filter(|n| n.starts_with("/admin/") && !n.contains("//") && !n.contains('\\'))
        .unwrap_or("/admin/sla/policies")
}

#[derive(Template)]
#[template(path = "message.html", config = "src/web/admin/askama.toml")]
struct MessagePage<'a> {
    base: &'a str,
    user: Option<&'a Principal>,
    csrf: &'a str,
    title: &'a str,
    message: &'a str,
}

pub fn message_page(ctx: &Ctx, status: StatusCode, title: &str, message: &str) -> HttpResponse {
    let page = MessagePage {
        base: base(&ctx.settings),
        user: None,
        csrf: "",
        title,
        message,
    };
    html(status, page.render())
}

/// A page for an error from a service call (4xx as they are; 5xx opaque, logged).
pub fn error_page(ctx: &Ctx, e: &AppError) -> HttpResponse {
    match e {
        AppError::NotFound => message_page(ctx, StatusCode::NOT_FOUND, "Not found", "That record does not exist."),
        AppError::Forbidden(m) => message_page(ctx, StatusCode::FORBIDDEN, "Not allowed", m),
        AppError::RateLimited => message_page(
            ctx,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            "Wait a minute, then try again.",
        ),
        other => {
            log::error!("admin page failed: {other}");
            message_page(
                ctx,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The page could not be shown. Try again later.",
            )
        }
    }
}

async fn get_home(ctx: Ctx) -> HttpResponse {
    see_other(&format!("{}/admin/sla/policies", base(&ctx.settings)))
}

#[derive(Template)]
#[template(path = "login.html", config = "src/web/admin/askama.toml")]
struct LoginPage<'a> {
    base: &'a str,
    user: Option<&'a Principal>,
    csrf: &'a str,
    email: String,
    next: String,
    error: Option<String>,
}

#[derive(Default, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn get_login(ctx: Ctx, req: HttpRequest) -> HttpResponse {
    let next = web::Query::<NextQuery>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.into_inner().next);
    let page = LoginPage {
        base: base(&ctx.settings),
        user: None,
        csrf: "",
        email: String::new(),
        next: safe_next(next.as_deref()).to_string(),
        error: None,
    };
    html(StatusCode::OK, page.render())
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

/// Is the request's `Origin` (when there is one) this server?
fn same_origin(ctx: &Ctx, req: &HttpRequest) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let origin = origin.to_str().unwrap_or("");
    let public = ctx.settings.server.public_url.origin().ascii_serialization();
    let host = req.connection_info().host().to_string();
    origin == public || ["http", "https"].iter().any(|s| origin == format!("{s}://{host}"))
}

async fn post_login(ctx: Ctx, req: HttpRequest, form: web::Form<LoginForm>) -> HttpResponse {
    let f = form.into_inner();
    if !same_origin(&ctx, &req) {
        return message_page(
            &ctx,
            StatusCode::FORBIDDEN,
            "Form expired",
            "The sign-in form was sent from another site.",
        );
    }
    let next = safe_next(f.next.as_deref()).to_string();
    match sessions::login(&ctx, &req, &f.email, f.password).await {
        Ok((_, cookie, _)) => see_other_setting(&format!("{}{next}", base(&ctx.settings)), Some(cookie)),
        Err(AppError::BadRequest(_)) => {
            let page = LoginPage {
                base: base(&ctx.settings),
                user: None,
                csrf: "",
                email: f.email,
                next,
                error: Some("Wrong e-mail or password.".into()),
            };
            html(StatusCode::UNAUTHORIZED, page.render())
        }
        Err(e) => error_page(&ctx, &e),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: Option<String>,
}

async fn post_logout(ctx: Ctx, req: HttpRequest, form: web::Form<CsrfForm>) -> HttpResponse {
    let s = signed_in!(ctx, req, Role::Agent);
    if let Some(resp) = csrf_refusal(&ctx, &s, form.csrf.as_deref()) {
        return resp;
    }
    match sessions::logout(&ctx, &req).await {
        Ok(gone) => see_other_setting(&format!("{}/admin/login", base(&ctx.settings)), Some(gone)),
        Err(e) => error_page(&ctx, &e),
    }
}
