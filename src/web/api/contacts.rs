//! Contact endpoints.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::openapi::{BadRequest, Conflict, Forbidden, IdempotencyKey, Invalid, NotFound, Unauthorized};
use super::tickets::{ContactReq, parse_contact};
use super::views::{ContactView, Page, TicketView, group_tags};
use super::{decode_cursor, encode_cursor, page_limit};
use crate::auth::Role;
use crate::contacts;
use crate::error::{AppError, AppResult};
use crate::idempotency;
use crate::tickets::repo::{self as ticket_repo, TicketFilter};
use crate::tickets::service;
use crate::web::Ctx;
use crate::web::auth::Authed;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Text in the name or an identity.
    pub q: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
}

/// Contacts, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/contacts",
    tag = "contacts",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of contacts", body = Page<ContactView>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    )
)]
pub async fn list_contacts(ctx: Ctx, who: Authed, query: web::Query<ListQuery>) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let q = query.into_inner();
    let limit = page_limit(q.limit)?;
    let before = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let text = q.q.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let (rows, ids) = ctx
        .db
        .read(move |conn| {
            let rows = contacts::repo::list(conn, text.as_deref(), before, limit)?;
            let idx: Vec<i64> = rows.iter().map(|c| c.id).collect();
            let ids = contacts::repo::identities_of(conn, &idx)?;
            Ok::<_, AppError>((rows, ids))
        })
        .await?;
    let next_cursor = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|c| encode_cursor(c.id)))
        .flatten();
    let items = rows.iter().map(|c| ContactView::new(c, &ids)).collect();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// A contact with their newest 100 tickets.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ContactDetail {
    #[serde(flatten)]
    contact: ContactView,
    tickets: Vec<TicketView>,
}

/// One contact and their tickets.
#[utoipa::path(
    get,
    path = "/api/v1/contacts/{id}",
    tag = "contacts",
    responses(
        (status = 200, description = "The contact", body = ContactDetail),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn get_contact(ctx: Ctx, who: Authed, path: web::Path<i64>) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let id = path.into_inner();
    let detail = ctx
        .db
        .read(move |conn| {
            let c = contacts::repo::get(conn, id)?;
            let ids = contacts::repo::identities_of(conn, &[id])?;
            let tickets = ticket_repo::list(
                conn,
                &TicketFilter {
                    contact_id: Some(id),
                    limit: 100,
                    ..Default::default()
                },
            )?;
            let tids: Vec<i64> = tickets.iter().map(|t| t.id).collect();
            let tags = group_tags(ticket_repo::tags_of(conn, &tids)?);
            Ok::<_, AppError>(ContactDetail {
                contact: ContactView::new(&c, &ids),
                tickets: tickets.iter().map(|t| TicketView::new(t, &tags)).collect(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// Creates a contact, with optional `attributes` (string values) that SLA policies can match;
/// an identity that already belongs to someone is a 409 `contact_exists`.
#[utoipa::path(
    post,
    path = "/api/v1/contacts",
    tag = "contacts",
    params(IdempotencyKey),
    request_body = CreateContactReq,
    responses(
        (status = 201, description = "The contact", body = ContactView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn create_contact(
    ctx: Ctx,
    req: HttpRequest,
    who: Authed,
    body: web::Json<serde_json::Map<String, serde_json::Value>>,
) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let whole = body.into_inner();
    let mut fields = whole.clone();
    let attributes = match fields.remove("attributes") {
        None | Some(serde_json::Value::Null) => contacts::attributes::Attributes::new(),
        Some(serde_json::Value::Object(patch)) => {
            contacts::attributes::apply_patch(&Default::default(), &patch).map_err(AppError::Validation)?
        }
        Some(_) => return Err(AppError::field("attributes", "must be an object of strings")),
    };
    let b: ContactReq = serde_json::from_value(serde_json::Value::Object(fields))
        .map_err(|e| AppError::BadRequest(format!("invalid JSON body: {e}")))?;
    let mut errors = std::collections::BTreeMap::new();
    let input = parse_contact(&b, &mut errors);
    let Some(input) = input.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    idempotency::run(&ctx, &req, who.0.user_id, &whole, move |ctx, conn| {
        let now = ctx.clock.now();
        for id in &input.identities {
            if let Some(existing) = contacts::repo::find_by_identity(conn, id)? {
                return Err(AppError::Conflict {
                    code: "contact_exists",
                    message: format!(
                        "{} {} already belongs to contact {}",
                        id.kind.as_str(),
                        id.value,
                        existing.id
                    ),
                    extra: Some(serde_json::json!({ "contact_id": existing.id })),
                });
            }
        }
        let (mut c, _) = service::resolve_contact(conn, &input.identities, Some(&input.name), now, false)?;
        if !attributes.is_empty() {
            c.attributes = contacts::attributes::to_stored(&attributes);
            contacts::repo::update(conn, c.id, &c.name, &c.attributes, now.naive_utc())?;
        }
        let ids = contacts::repo::identities_of(conn, &[c.id])?;
        Ok((StatusCode::CREATED, serde_json::to_value(ContactView::new(&c, &ids))?))
    })
    .await
}

/// The body of `POST /api/v1/contacts`: the contact fields plus optional attributes. (The
/// handler reads it as a JSON object so it can take `attributes` apart; this type documents it.)
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct CreateContactReq {
    #[serde(flatten)]
    contact: ContactReq,
    /// String attributes (`{"segment": "vip"}`) that SLA policy conditions can match.
    #[schema(value_type = Option<std::collections::BTreeMap<String, String>>)]
    attributes: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateContactReq {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// A merge patch: a string sets the attribute, `null` removes it, others stay.
    #[schema(value_type = Option<std::collections::BTreeMap<String, Option<String>>>)]
    pub attributes: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Renames a contact and/or changes its attributes; the SLA policies of its unclosed tickets are
/// evaluated again (event `sla_policy_changed` with the reason where another policy applies).
#[utoipa::path(
    patch,
    path = "/api/v1/contacts/{id}",
    tag = "contacts",
    request_body = UpdateContactReq,
    responses(
        (status = 200, description = "The contact", body = ContactView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    )
)]
pub async fn update_contact(
    ctx: Ctx,
    who: Authed,
    path: web::Path<i64>,
    body: web::Json<UpdateContactReq>,
) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let id = path.into_inner();
    let b = body.into_inner();
    let name = b.name.as_deref().map(str::trim).map(str::to_string);
    if let Some(n) = &name
        && (n.is_empty() || n.chars().count() > 200)
    {
        return Err(AppError::field("name", "1 to 200 characters"));
    }
    let ctx2 = ctx.clone();
    let view = ctx
        .write(move |conn| {
            let now = ctx2.clock.now();
            let mut c = contacts::repo::get(conn, id)?;
            let before = c.attributes();
            let after = match &b.attributes {
                Some(patch) => contacts::attributes::apply_patch(&before, patch).map_err(AppError::Validation)?,
                None => before.clone(),
            };
            c.name = name.clone().unwrap_or(c.name);
            c.attributes = contacts::attributes::to_stored(&after);
            contacts::repo::update(conn, c.id, &c.name, &c.attributes, now.naive_utc())?;
            if after != before {
                crate::sla::service::on_contact_changed(conn, c.id, now)?;
            }
            let ids = contacts::repo::identities_of(conn, &[c.id])?;
            Ok(ContactView::new(&c, &ids))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
