//! `/admin/sla/policies`: the list in evaluation order (move up/down, enable/disable), and the
//! form to create or edit one. The form's JSON fields are parsed one by one so that an error names
//! the field it is in; the policy then goes through the same service calls as the API.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Session, csrf_refusal, error_page, see_other};
use crate::auth::{Principal, Role};
use crate::error::{AppError, AppResult};
use crate::sla::policy::{CloseAfterSilence, PolicySpec};
use crate::sla::{admin, repo, service};
use crate::web::Ctx;
use crate::web::pages::{base, html};

pub struct PolicyItem {
    pub id: i64,
    pub position: i32,
    pub name: String,
    pub version: i32,
    pub enabled: bool,
    pub conditions: String,
    pub targets: Vec<String>,
    pub close_after: String,
}

#[derive(Template)]
#[template(path = "policies.html", config = "src/web/admin/askama.toml")]
struct ListPage<'a> {
    base: &'a str,
    user: Option<&'a Principal>,
    csrf: &'a str,
    admin: bool,
    items: Vec<PolicyItem>,
}

fn item(row: &repo::PolicyRow, spec: &PolicySpec) -> PolicyItem {
    let mut targets: Vec<String> = spec
        .targets
        .iter()
        .map(|(kind, t)| {
            let mut s = format!("{kind}: {}", t.target);
            if t.business_days {
                s.push_str(" working days");
            }
            match &t.calendar {
                Some(c) => s.push_str(&format!(" on {c}")),
                None => s.push_str(" (calendar time)"),
            }
            s
        })
        .collect();
    targets.extend(spec.stages.iter().map(|st| {
        format!(
            "stage {}: {} working days on {}, met on {}",
            st.name,
            st.working_days,
            st.calendar,
            st.met_on.join("/")
        )
    }));
    PolicyItem {
        id: row.id,
        position: row.position,
        name: row.name.clone(),
        version: row.version,
        enabled: !spec.disabled,
        conditions: if spec.conditions == Default::default() {
            "every ticket".into()
        } else {
            serde_json::to_string(&spec.conditions).unwrap_or_default()
        },
        targets,
        close_after: spec
            .close_after_silence
            .as_ref()
            .map(|c| format!("{} working days on {}", c.working_days, c.calendar))
            .unwrap_or_default(),
    }
}

pub async fn list_policies(ctx: Ctx, req: HttpRequest) -> HttpResponse {
    let s = signed_in!(ctx, req, Role::Supervisor);
    let items = match ctx.db.read(service::policies).await {
        Ok(rows) => rows.iter().map(|(r, p)| item(r, p)).collect(),
        Err(e) => return error_page(&ctx, &e),
    };
    let page = ListPage {
        base: base(&ctx.settings),
        user: Some(&s.who),
        csrf: &s.csrf,
        admin: s.who.role >= Role::Admin,
        items,
    };
    html(StatusCode::OK, page.render())
}

/// The form as submitted (every field as text, so it can be shown again unchanged).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PolicyForm {
    pub csrf: Option<String>,
    pub name: String,
    pub position: String,
    pub conditions: String,
    pub targets: String,
    pub stages: String,
    pub pause: String,
    pub warn_at: String,
    pub escalation: String,
    pub close_days: String,
    pub close_calendar: String,
    pub disabled: Option<String>,
}

fn pretty<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

impl PolicyForm {
    fn of(spec: &PolicySpec) -> PolicyForm {
        PolicyForm {
            csrf: None,
            name: spec.name.clone(),
            position: spec.position.to_string(),
            conditions: pretty(&spec.conditions),
            targets: pretty(&spec.targets),
            stages: pretty(&spec.stages),
            pause: pretty(&spec.pause),
            warn_at: spec.warn_at.iter().map(u8::to_string).collect::<Vec<_>>().join(", "),
            escalation: pretty(&spec.escalation),
            close_days: spec
                .close_after_silence
                .as_ref()
                .map(|c| c.working_days.to_string())
                .unwrap_or_default(),
            close_calendar: spec
                .close_after_silence
                .as_ref()
                .map(|c| c.calendar.clone())
                .unwrap_or_default(),
            disabled: spec.disabled.then(|| "on".into()),
        }
    }

    fn blank() -> PolicyForm {
        PolicyForm {
            position: "100".into(),
            conditions: "{}".into(),
            targets: "{}".into(),
            stages: "[]".into(),
            pause: "{}".into(),
            warn_at: "75, 90".into(),
            escalation: "[]".into(),
            ..Default::default()
        }
    }

    /// The policy the form describes, or the errors keyed by form field.
    fn parse(&self) -> Result<PolicySpec, BTreeMap<String, String>> {
        let mut errors = BTreeMap::new();
        let mut obj = Map::new();
        obj.insert("name".into(), Value::String(self.name.clone()));
        match self.position.trim().parse::<i32>() {
            Ok(p) => {
                obj.insert("position".into(), p.into());
            }
            Err(_) => {
                errors.insert("position".into(), "a whole number".into());
            }
        }
        for (field, text) in [
            ("conditions", &self.conditions),
            ("targets", &self.targets),
            ("stages", &self.stages),
            ("pause", &self.pause),
            ("escalation", &self.escalation),
        ] {
            if text.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(text) {
                Ok(v) => {
                    obj.insert(field.into(), v);
                }
                Err(e) => {
                    errors.insert(field.into(), format!("not valid JSON: {e}"));
                }
            }
        }
        let warn: Result<Vec<u8>, _> = self
            .warn_at
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(str::parse::<u8>)
            .collect();
        match warn {
            Ok(w) => {
                obj.insert("warn_at".into(), serde_json::json!(w));
            }
            Err(_) => {
                errors.insert("warn_at".into(), "percentages like 75, 90".into());
            }
        }
        let (days, cal) = (self.close_days.trim(), self.close_calendar.trim());
        if !days.is_empty() || !cal.is_empty() {
            match days.parse::<u32>() {
                Ok(working_days) if !cal.is_empty() => {
                    let c = CloseAfterSilence {
                        working_days,
                        calendar: cal.to_string(),
                    };
                    obj.insert("close_after_silence".into(), serde_json::json!(c));
                }
                Ok(_) => {
                    errors.insert("close_after_silence".into(), "choose the calendar".into());
                }
                Err(_) => {
                    errors.insert(
                        "close_after_silence".into(),
                        "working days as a whole number (or leave both empty)".into(),
                    );
                }
            }
        }
        if self.disabled.is_some() {
            obj.insert("disabled".into(), true.into());
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        serde_path_to_error::deserialize::<_, PolicySpec>(Value::Object(obj)).map_err(|e| {
            let path = e.path().to_string();
            let field = form_field(&path).to_string();
            BTreeMap::from([(field, format!("{path}: {}", e.inner()))])
        })
    }
}

/// The form field an error path (`targets.resolution.target`) belongs to; `general` for others.
fn form_field(path: &str) -> &'static str {
    let first = path.split(['.', '[']).next().unwrap_or("");
    [
        "name",
        "position",
        "conditions",
        "targets",
        "stages",
        "pause",
        "warn_at",
        "escalation",
        "close_after_silence",
    ]
    .into_iter()
    .find(|f| *f == first)
    .unwrap_or("general")
}

/// Service errors as form errors (a 422 names its fields; a conflict is about the name).
fn form_errors(e: AppError) -> Result<BTreeMap<String, String>, AppError> {
    match e {
        AppError::Validation(map) => Ok(map
            .into_iter()
            .map(|(k, v)| (form_field(&k).to_string(), format!("{k}: {v}")))
            .collect()),
        AppError::Conflict { message, .. } => Ok(BTreeMap::from([("name".to_string(), message)])),
        AppError::BadRequest(m) => Ok(BTreeMap::from([("general".to_string(), m)])),
        other => Err(other),
    }
}

#[derive(Template)]
#[template(path = "policy_form.html", config = "src/web/admin/askama.toml")]
struct FormPage<'a> {
    base: &'a str,
    user: Option<&'a Principal>,
    csrf: &'a str,
    /// `None` for a new policy.
    id: Option<i64>,
    version: i32,
    readonly: bool,
    form: PolicyForm,
    calendars: Vec<String>,
    errors: BTreeMap<String, String>,
}

impl FormPage<'_> {
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }
}

async fn calendar_names(ctx: &Ctx) -> AppResult<Vec<String>> {
    ctx.db
        .read(|conn| Ok::<_, AppError>(repo::calendars(conn)?.into_iter().map(|c| c.name).collect()))
        .await
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    ctx: &Ctx,
    s: &Session,
    status: StatusCode,
    id: Option<i64>,
    version: i32,
    form: PolicyForm,
    errors: BTreeMap<String, String>,
) -> HttpResponse {
    let calendars = or_error_page!(ctx, calendar_names(ctx).await);
    let page = FormPage {
        base: base(&ctx.settings),
        user: Some(&s.who),
        csrf: &s.csrf,
        id,
        version,
        readonly: s.who.role < Role::Admin,
        form,
        calendars,
        errors,
    };
    html(status, page.render())
}

pub async fn new_policy(ctx: Ctx, req: HttpRequest) -> HttpResponse {
    let s = signed_in!(ctx, req, Role::Admin);
    form_page(&ctx, &s, StatusCode::OK, None, 0, PolicyForm::blank(), BTreeMap::new()).await
}

pub async fn edit_policy(ctx: Ctx, req: HttpRequest, path: web::Path<i64>) -> HttpResponse {
    let s = signed_in!(ctx, req, Role::Supervisor);
    let id = path.into_inner();
    let found = ctx
        .db
        .read(move |conn| {
            let row = repo::policy(conn, id)?;
            let spec = admin::policy_spec(&row)?;
            Ok::<_, AppError>((row.version, spec))
        })
        .await;
    match found {
        Ok((version, spec)) => {
            form_page(
                &ctx,
                &s,
                StatusCode::OK,
                Some(id),
                version,
                PolicyForm::of(&spec),
                BTreeMap::new(),
            )
            .await
        }
        Err(e) => error_page(&ctx, &e),
    }
}

/// Creates (`id` None) or updates a policy from the form; invalid input shows the form again (422).
async fn save(ctx: Ctx, req: HttpRequest, id: Option<i64>, form: PolicyForm) -> HttpResponse {
    let s = signed_in!(ctx, req, Role::Admin);
    if let Some(resp) = csrf_refusal(&ctx, &s, form.csrf.as_deref()) {
        return resp;
    }
    let spec = match form.parse() {
        Ok(spec) => spec,
        Err(errors) => return form_page(&ctx, &s, StatusCode::UNPROCESSABLE_ENTITY, id, 0, form, errors).await,
    };
    let ctx2 = ctx.clone();
    let saved = ctx
        .write(move |conn| {
            let now = ctx2.clock.now();
            match id {
                Some(id) => admin::update_policy(conn, id, &spec, now),
                None => admin::create_policy(conn, &spec, now),
            }
        })
        .await;
    match saved {
        Ok(_) => see_other(&format!("{}/admin/sla/policies", base(&ctx.settings))),
        Err(e) => match form_errors(e) {
            Ok(errors) => form_page(&ctx, &s, StatusCode::UNPROCESSABLE_ENTITY, id, 0, form, errors).await,
            Err(e) => error_page(&ctx, &e),
        },
    }
}

pub async fn create_policy(ctx: Ctx, req: HttpRequest, form: web::Form<PolicyForm>) -> HttpResponse {
    save(ctx, req, None, form.into_inner()).await
}

pub async fn update_policy(
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<i64>,
    form: web::Form<PolicyForm>,
) -> HttpResponse {
    save(ctx, req, Some(path.into_inner()), form.into_inner()).await
}

#[derive(Deserialize)]
pub struct ActionForm {
    csrf: Option<String>,
    /// `up` or `down` (move), `true` or `false` (enabled).
    value: String,
}

/// Runs a small change from the list page (after the role and CSRF checks) and returns to it.
async fn list_action<F>(ctx: Ctx, req: HttpRequest, form: ActionForm, change: F) -> HttpResponse
where
    F: Fn(&mut crate::db::DbConnection, chrono::DateTime<chrono::Utc>) -> AppResult<()> + Send + 'static,
{
    let s = signed_in!(ctx, req, Role::Admin);
    if let Some(resp) = csrf_refusal(&ctx, &s, form.csrf.as_deref()) {
        return resp;
    }
    let ctx2 = ctx.clone();
    match ctx.write(move |conn| change(conn, ctx2.clock.now())).await {
        Ok(()) => see_other(&format!("{}/admin/sla/policies", base(&ctx.settings))),
        Err(e) => error_page(&ctx, &e),
    }
}

pub async fn move_policy(
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<i64>,
    form: web::Form<ActionForm>,
) -> HttpResponse {
    let id = path.into_inner();
    let up = form.value == "up";
    list_action(ctx, req, form.into_inner(), move |conn, now| {
        admin::move_policy(conn, id, up, now)
    })
    .await
}

pub async fn enable_policy(
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<i64>,
    form: web::Form<ActionForm>,
) -> HttpResponse {
    let id = path.into_inner();
    let disabled = form.value != "true";
    list_action(ctx, req, form.into_inner(), move |conn, now| {
        admin::set_policy_disabled(conn, id, disabled, now)
    })
    .await
}
