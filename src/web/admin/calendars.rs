//! `/admin/sla/calendars`: the list with the import form (a TOML calendar, or an iCal/CSV holiday
//! list for an existing calendar), one calendar's hours and holidays, and the due-time calculator.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{csrf_refusal, error_page, multipart, require, see_other};
use crate::auth::{Principal, Role};
use crate::error::AppError;
use crate::sla::calendar::DAY_KEYS;
use crate::sla::import::{CalendarSpec, HolidaySpec};
use crate::sla::{self, repo};
use crate::web::Ctx;
use crate::web::pages::{base, html};

pub struct CalendarItem {
    pub id: i64,
    pub name: String,
    pub timezone: String,
    pub holidays: usize,
}

#[derive(Template)]
#[template(path = "calendars.html", config = "src/web/admin/askama.toml")]
struct ListPage<'a> {
    base: &'a str,
    user: Option<&'a Principal>,
    csrf: &'a str,
    admin: bool,
    items: Vec<CalendarItem>,
    errors: Vec<String>,
}

async fn list_page(ctx: &Ctx, s: &super::Session, status: StatusCode, errors: Vec<String>) -> HttpResponse {
    let items = ctx
        .db
        .read(|conn| {
            repo::calendars(conn)?
                .iter()
                .map(|row| {
                    let cal = sla::calendar_from_row(row)?;
                    Ok(CalendarItem {
                        id: row.id,
                        name: cal.name.clone(),
                        timezone: cal.tz.name().to_string(),
                        holidays: cal.holidays.len(),
                    })
                })
                .collect::<Result<Vec<_>, AppError>>()
        })
        .await;
    let items = or_error_page!(ctx, items);
    let page = ListPage {
        base: base(&ctx.settings),
        user: Some(&s.who),
        csrf: &s.csrf,
        admin: s.who.role >= Role::Admin,
        items,
        errors,
    };
    html(status, page.render())
}

pub async fn list_calendars(ctx: Ctx, req: HttpRequest) -> HttpResponse {
    match require(&ctx, &req, Role::Supervisor).await {
        Ok(s) => list_page(&ctx, &s, StatusCode::OK, Vec::new()).await,
        Err(resp) => resp,
    }
}

/// The upload: `csrf`, `file` (.toml, .ics or .csv) and, for holiday lists, `calendar`.
pub async fn import_calendar(ctx: Ctx, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let s = signed_in!(ctx, req, Role::Admin);
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let parts = match multipart::parse(content_type, &body) {
        Ok(p) => p,
        Err(e) => return list_page(&ctx, &s, StatusCode::BAD_REQUEST, vec![e]).await,
    };
    let field = |name: &str| {
        parts
            .iter()
            .find(|p| p.name == name)
            .map(|p| String::from_utf8_lossy(&p.data).into_owned())
    };
    if let Some(resp) = csrf_refusal(&ctx, &s, field("csrf").as_deref()) {
        return resp;
    }
    let Some(file) = parts.iter().find(|p| p.name == "file" && !p.data.is_empty()) else {
        return list_page(
            &ctx,
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["file: choose a file".into()],
        )
        .await;
    };
    let Ok(text) = String::from_utf8(file.data.clone()) else {
        return list_page(
            &ctx,
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["file: not UTF-8 text".into()],
        )
        .await;
    };
    let filename = file.filename.clone().unwrap_or_default();
    let into = field("calendar");
    let ctx2 = ctx.clone();
    let stored = ctx
        .write(move |conn| sla::admin::import_calendar_file(conn, &filename, &text, into.as_deref(), ctx2.clock.now()))
        .await;
    match stored {
        Ok((_, v)) => see_other(&format!(
            "{}/admin/sla/calendars/{}",
            base(&ctx.settings),
            v["id"].as_i64().unwrap_or_default()
        )),
        Err(AppError::Validation(map)) => {
            let errors = map.into_iter().map(|(k, v)| format!("{k}: {v}")).collect();
            list_page(&ctx, &s, StatusCode::UNPROCESSABLE_ENTITY, errors).await
        }
        Err(AppError::BadRequest(m)) => list_page(&ctx, &s, StatusCode::UNPROCESSABLE_ENTITY, vec![m]).await,
        Err(e) => error_page(&ctx, &e),
    }
}

pub struct DayRow {
    pub day: &'static str,
    pub blocks: String,
}

pub struct HolidayRow {
    pub date: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "calendar.html", config = "src/web/admin/askama.toml")]
struct CalendarPage<'a> {
    base: &'a str,
    user: Option<&'a Principal>,
    csrf: &'a str,
    name: String,
    /// The name for a query string.
    name_q: String,
    timezone: String,
    days: Vec<DayRow>,
    holidays: Vec<HolidayRow>,
}

pub async fn show_calendar(ctx: Ctx, req: HttpRequest, path: web::Path<i64>) -> HttpResponse {
    let s = signed_in!(ctx, req, Role::Supervisor);
    let id = path.into_inner();
    let spec = ctx
        .db
        .read(move |conn| {
            Ok::<_, AppError>(CalendarSpec::of(&sla::calendar_from_row(&repo::calendar_by_id(
                conn, id,
            )?)?))
        })
        .await;
    let spec = or_error_page!(ctx, spec);
    let days = DAY_KEYS
        .iter()
        .map(|d| DayRow {
            day: d,
            blocks: spec
                .hours
                .get(*d)
                .filter(|b| !b.is_empty())
                .map(|b| b.join(", "))
                .unwrap_or_else(|| "closed".into()),
        })
        .collect();
    let holidays = spec
        .holidays
        .iter()
        .map(|h| match h {
            HolidaySpec::Date(d) => HolidayRow {
                date: d.clone(),
                name: String::new(),
            },
            HolidaySpec::Named { date, name } => HolidayRow {
                date: date.clone(),
                name: name.clone(),
            },
        })
        .collect();
    let page = CalendarPage {
        base: base(&ctx.settings),
        user: Some(&s.who),
        csrf: &s.csrf,
        name_q: super::url_escape(&spec.name),
        name: spec.name,
        timezone: spec.timezone,
        days,
        holidays,
    };
    html(StatusCode::OK, page.render())
}

#[derive(Default, Deserialize)]
struct DueQuery {
    calendar: Option<String>,
    start: Option<String>,
    target: Option<String>,
    business_days: Option<String>,
}

#[derive(Template)]
#[template(path = "due.html", config = "src/web/admin/askama.toml")]
struct DuePage<'a> {
    base: &'a str,
    user: Option<&'a Principal>,
    csrf: &'a str,
    calendars: Vec<String>,
    calendar: String,
    start: String,
    target: String,
    business_days: bool,
    due: Option<String>,
    counted: Vec<String>,
    error: Option<String>,
}

/// `GET /admin/sla/due?calendar=…&start=…&target=…[&business_days=on]`: the same arithmetic as
/// `tanggap sla due --explain`.
pub async fn due_calculator(ctx: Ctx, req: HttpRequest) -> HttpResponse {
    let s = signed_in!(ctx, req, Role::Supervisor);
    let q = web::Query::<DueQuery>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default();
    let calendar = q.calendar.unwrap_or_default();
    let start = q.start.unwrap_or_default();
    let target = q.target.unwrap_or_default();
    let business_days = q.business_days.is_some();
    let name = calendar.clone();
    let loaded = ctx
        .db
        .read(move |conn| {
            let names: Vec<String> = repo::calendars(conn)?.into_iter().map(|c| c.name).collect();
            let cal = match name.trim() {
                "" => None,
                n => sla::load_calendar(conn, n)?,
            };
            Ok::<_, AppError>((names, cal))
        })
        .await;
    let (calendars, cal) = or_error_page!(ctx, loaded);
    let asked = !calendar.is_empty() || !start.is_empty() || !target.is_empty();
    let result = match (&cal, asked) {
        (_, false) => Ok(None),
        (None, true) => Err(format!("calendar: no calendar named `{calendar}`")),
        (Some((_, cal)), true) => sla::cli::parse_start(&start)
            .map_err(|e| format!("start: {e}"))
            .and_then(|t| sla::cli::due_on(cal, t, &target, business_days))
            .map(Some),
    };
    let (status, due, counted, error) = match result {
        Ok(Some((due, counted))) => (StatusCode::OK, Some(due), counted, None),
        Ok(None) => (StatusCode::OK, None, Vec::new(), None),
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, None, Vec::new(), Some(e)),
    };
    let page = DuePage {
        base: base(&ctx.settings),
        user: Some(&s.who),
        csrf: &s.csrf,
        calendars,
        calendar,
        start,
        target,
        business_days,
        due,
        counted,
        error,
    };
    html(status, page.render())
}
