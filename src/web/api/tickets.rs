//! Ticket endpoints for agents.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::openapi::{BadRequest, Conflict, Forbidden, IdempotencyKey, Invalid, NotFound, Unauthorized};
use super::views::{ContactView, EventView, MessageView, Page, TicketView, group_tags};
use super::{decode_cursor, encode_cursor, page_limit, required_text};
use crate::auth::Role;
use crate::contacts::{self, Identity, IdentityKind};
use crate::error::{AppError, AppResult};
use crate::idempotency;
use crate::tickets::Status;
use crate::tickets::model::{Channel, Priority};
use crate::tickets::repo::{self, TicketFilter};
use crate::tickets::service::{self, ContactInput, CreateTicket, ReplyKind, TicketPatch};
use crate::web::Ctx;
use crate::web::auth::Authed;

/// How to reach the citizen: at least one of e-mail, phone, Instagram, WhatsApp.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactReq {
    #[schema(max_length = 200, example = "Siti Rahayu")]
    pub name: Option<String>,
    #[schema(format = "email", example = "siti@example.com")]
    pub email: Option<String>,
    /// E.164 or Indonesian `08…`, spaces and dashes allowed.
    #[schema(example = "0812-3456-7890")]
    pub phone: Option<String>,
    /// The Instagram user id.
    #[schema(example = "17841400000000001")]
    pub instagram: Option<String>,
    #[schema(example = "+6281234567890")]
    pub whatsapp: Option<String>,
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicketReq {
    #[schema(min_length = 1, max_length = 200, example = "Insentif belum cair")]
    pub subject: String,
    /// The complaint as the citizen told it.
    #[schema(
        min_length = 1,
        max_length = 100000,
        example = "Pelatihan selesai sebulan lalu, insentif belum masuk."
    )]
    pub body: String,
    #[schema(value_type = Channel)]
    pub channel: String,
    pub contact: ContactReq,
    /// Default `normal`.
    #[schema(value_type = Option<Priority>)]
    pub priority: Option<String>,
    pub category: Option<i64>,
    pub team: Option<i64>,
}

/// Validates a contact block; at least one way to reach the citizen is required.
pub fn parse_contact(c: &ContactReq, errors: &mut std::collections::BTreeMap<String, String>) -> Option<ContactInput> {
    let mut identities = Vec::new();
    for (field, kind, value) in [
        ("contact.email", IdentityKind::Email, &c.email),
        ("contact.phone", IdentityKind::Phone, &c.phone),
        ("contact.instagram", IdentityKind::Instagram, &c.instagram),
        ("contact.whatsapp", IdentityKind::Phone, &c.whatsapp),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.trim().is_empty()) {
            match Identity::parse(kind, v) {
                Ok(id) if !identities.contains(&id) => identities.push(id),
                Ok(_) => {}
                Err(e) => {
                    errors.insert(field.to_string(), e);
                }
            }
        }
    }
    let name = c.name.as_deref().map(str::trim).unwrap_or("").to_string();
    if name.chars().count() > 200 {
        errors.insert("contact.name".into(), "must be at most 200 characters".into());
    }
    if identities.is_empty() && !errors.keys().any(|k| k.starts_with("contact.")) {
        errors.insert(
            "contact".into(),
            "give at least one of email, phone, instagram, whatsapp".into(),
        );
        return None;
    }
    let name = if name.is_empty() {
        identities.first().map(|i| i.value.clone()).unwrap_or_default()
    } else {
        name
    };
    Some(ContactInput { name, identities })
}

fn collect<T>(errors: &mut std::collections::BTreeMap<String, String>, field: &str, r: AppResult<T>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(AppError::Validation(e)) => {
            errors.extend(e);
            None
        }
        Err(other) => {
            errors.insert(field.to_string(), other.to_string());
            None
        }
    }
}

/// Records a complaint taken by an agent: a new ticket, its first message and the contact.
///
/// The answer carries the citizen's `access_token` and `status_url`, shown this once.
#[utoipa::path(
    post,
    path = "/api/v1/tickets",
    tag = "tickets",
    params(IdempotencyKey),
    responses(
        (status = 201, description = "The ticket", body = CreatedTicket),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn create_ticket(
    ctx: Ctx,
    req: HttpRequest,
    who: Authed,
    body: web::Json<CreateTicketReq>,
) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let b = body.into_inner();
    let mut errors = std::collections::BTreeMap::new();
    let subject = collect(&mut errors, "subject", required_text("subject", &b.subject, 200));
    let text = collect(&mut errors, "body", required_text("body", &b.body, 100_000));
    let channel = Channel::parse(&b.channel);
    if channel.is_none() {
        errors.insert("channel".into(), format!("must be one of {}", Channel::names()));
    }
    let priority = match b.priority.as_deref() {
        None => Some(Priority::Normal),
        Some(p) => Priority::parse(p).or_else(|| {
            errors.insert("priority".into(), format!("must be one of {}", Priority::names()));
            None
        }),
    };
    let contact = parse_contact(&b.contact, &mut errors);
    let (Some(subject), Some(text), Some(channel), Some(priority), Some(contact), true) =
        (subject, text, channel, priority, contact, errors.is_empty())
    else {
        return Err(AppError::Validation(errors));
    };
    let input = CreateTicket {
        subject,
        body: text,
        channel,
        contact,
        priority,
        category_id: b.category,
        team_id: b.team,
    };
    let user_id = who.0.user_id;
    idempotency::run(&ctx, &req, user_id, &b, move |ctx, conn| {
        let created = service::create_ticket(ctx, conn, user_id, &input)?;
        Ok((StatusCode::CREATED, created_json(ctx, &created)?))
    })
    .await
}

/// A ticket just created by an agent: its view with the citizen's access token and status link
/// (shown this once) and the id of its first message.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedTicket {
    #[serde(flatten)]
    pub ticket: TicketView,
    pub access_token: String,
    pub status_url: String,
    pub message_id: i64,
}

impl CreatedTicket {
    pub fn new(ctx: &crate::context::AppContext, created: &service::Created) -> CreatedTicket {
        CreatedTicket {
            ticket: TicketView::new(&created.ticket, &Default::default()),
            access_token: created.access_token.clone(),
            status_url: format!(
                "{}/status/{}?token={}",
                ctx.settings.public_base(),
                created.ticket.number,
                created.access_token
            ),
            message_id: created.message.id,
        }
    }
}

/// The same as JSON, as stored with an `Idempotency-Key`.
pub fn created_json(ctx: &crate::context::AppContext, created: &service::Created) -> AppResult<serde_json::Value> {
    Ok(serde_json::to_value(CreatedTicket::new(ctx, created))?)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Comma-separated statuses: `new`, `open`, `pending`, `on_hold`, `resolved`, `closed`.
    pub status: Option<String>,
    /// `email`, `phone`, `instagram`, `whatsapp`, `chat` or `web`.
    pub channel: Option<String>,
    pub team: Option<i64>,
    /// A user id, `me` or `none`.
    pub assignee: Option<String>,
    pub category: Option<i64>,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: Option<String>,
    pub contact: Option<i64>,
    /// Text in the subject or number (at most 200 characters).
    pub q: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
}

/// The agents' inbox: tickets newest first, filtered.
#[utoipa::path(
    get,
    path = "/api/v1/tickets",
    tag = "tickets",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of tickets", body = Page<TicketView>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    )
)]
pub async fn list_tickets(ctx: Ctx, who: Authed, query: web::Query<ListQuery>) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let q = query.into_inner();
    let mut f = TicketFilter {
        limit: page_limit(q.limit)?,
        ..Default::default()
    };
    if let Some(s) = &q.status {
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let st = Status::parse(part).ok_or_else(|| {
                AppError::field(
                    "status",
                    format!("unknown status `{part}`; use new, open, pending, on_hold, resolved, closed"),
                )
            })?;
            f.statuses.push(st.as_str().to_string());
        }
    }
    if let Some(c) = &q.channel {
        let ch = Channel::parse(c)
            .ok_or_else(|| AppError::field("channel", format!("must be one of {}", Channel::names())))?;
        f.channel = Some(ch.as_str().into());
    }
    if let Some(p) = &q.priority {
        let pr = Priority::parse(p)
            .ok_or_else(|| AppError::field("priority", format!("must be one of {}", Priority::names())))?;
        f.priority = Some(pr.as_str().into());
    }
    f.assignee_id = match q.assignee.as_deref() {
        None => None,
        Some("me") => Some(Some(who.0.user_id)),
        Some("none") => Some(None),
        Some(n) => {
            Some(Some(n.parse().map_err(|_| {
                AppError::field("assignee", "use a user id, `me` or `none`")
            })?))
        }
    };
    f.team_id = q.team;
    f.category_id = q.category;
    f.contact_id = q.contact;
    f.q = q.q.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    if f.q.as_ref().is_some_and(|s| s.chars().count() > 200) {
        return Err(AppError::field("q", "must be at most 200 characters"));
    }
    f.created_from = q.created_from.map(|t| t.naive_utc());
    f.created_to = q.created_to.map(|t| t.naive_utc());
    f.before_id = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let limit = f.limit;
    let now = ctx.clock.now();
    let (rows, tags, clocks) = ctx
        .db
        .read(move |conn| {
            let rows = repo::list(conn, &f)?;
            let ids: Vec<i64> = rows.iter().map(|t| t.id).collect();
            let tags = repo::tags_of(conn, &ids)?;
            let clocks = crate::sla::admin::clocks_json(conn, &ids, now)?;
            Ok::<_, AppError>((rows, tags, clocks))
        })
        .await?;
    let tags = group_tags(tags);
    let next_cursor = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|t| encode_cursor(t.id)))
        .flatten();
    let items = rows
        .iter()
        .map(|t| {
            let mut v = TicketView::new(t, &tags);
            // A ticket without clocks keeps `[]`.
            if let Some(c) = clocks.get(&t.id) {
                v.sla = c.clone();
            }
            v
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// One ticket with its contact, messages, attachments, SLA clocks and audit trail.
#[utoipa::path(
    get,
    path = "/api/v1/tickets/{id}",
    tag = "tickets",
    responses(
        (status = 200, description = "The ticket", body = TicketView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn get_ticket(ctx: Ctx, who: Authed, path: web::Path<i64>) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let id = path.into_inner();
    let now = ctx.clock.now();
    let mut view = ctx.db.read(move |conn| ticket_detail(conn, id, now)).await?;
    view.reply_window = crate::channels::meta::window::reply_window(
        &ctx.settings,
        &view.channel,
        view.thread_key.as_deref(),
        view.last_inbound_at,
        ctx.clock.now(),
    );
    Ok(HttpResponse::Ok().json(view))
}

/// The full ticket: contact, tags, messages with attachments, and the audit trail.
pub fn ticket_detail(conn: &mut crate::db::DbConnection, id: i64, now: DateTime<Utc>) -> AppResult<TicketView> {
    let t = repo::get(conn, id)?;
    let tags = group_tags(repo::tags_of(conn, &[id])?);
    let contact = contacts::repo::get(conn, t.contact_id)?;
    let identities = contacts::repo::identities_of(conn, &[contact.id])?;
    let messages = repo::messages_of(conn, id)?;
    let mids: Vec<i64> = messages.iter().map(|m| m.id).collect();
    let atts = repo::attachments_of(conn, &mids)?;
    let events = repo::events_of(conn, id)?;
    let mut view = TicketView::new(&t, &tags);
    if let Some(clocks) = crate::sla::admin::clocks_json(conn, &[id], now)?.remove(&id) {
        view.sla = clocks;
    }
    view.contact = Some(ContactView::new(&contact, &identities));
    view.messages = Some(messages.iter().map(|m| MessageView::new(m, &atts)).collect());
    view.events = Some(events.iter().map(EventView::new).collect());
    Ok(view)
}

/// `null` clears a field; a missing field leaves it alone.
fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// The fields to change; a missing field stays as it is, `null` clears assignee, team or category.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTicketReq {
    /// Along the status machine (see docs/architecture.md).
    #[schema(value_type = Option<Status>)]
    pub status: Option<String>,
    #[schema(value_type = Option<Priority>)]
    pub priority: Option<String>,
    #[schema(min_length = 1, max_length = 200)]
    pub subject: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub assignee: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    pub team: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    pub category: Option<Option<i64>>,
    /// Replaces the tags: up to 20 of 1 to 50 characters.
    pub tags: Option<Vec<String>>,
}

/// Changes a ticket; answers the whole ticket as `GET` does.
#[utoipa::path(
    patch,
    path = "/api/v1/tickets/{id}",
    tag = "tickets",
    responses(
        (status = 200, description = "The ticket after the change", body = TicketView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn update_ticket(
    ctx: Ctx,
    who: Authed,
    path: web::Path<i64>,
    body: web::Json<UpdateTicketReq>,
) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let id = path.into_inner();
    let b = body.into_inner();
    let mut patch = TicketPatch::default();
    if let Some(s) = &b.status {
        patch.status = Some(Status::parse(s).ok_or_else(|| {
            AppError::field("status", "must be one of new, open, pending, on_hold, resolved, closed")
        })?);
    }
    if let Some(p) = &b.priority {
        patch.priority = Some(
            Priority::parse(p)
                .ok_or_else(|| AppError::field("priority", format!("must be one of {}", Priority::names())))?,
        );
    }
    if let Some(s) = &b.subject {
        patch.subject = Some(required_text("subject", s, 200)?);
    }
    if let Some(tags) = &b.tags {
        if tags.len() > 20 || tags.iter().any(|t| t.trim().is_empty() || t.chars().count() > 50) {
            return Err(AppError::field("tags", "up to 20 tags of 1 to 50 characters"));
        }
        patch.tags = Some(tags.clone());
    }
    patch.assignee_id = b.assignee;
    patch.team_id = b.team;
    patch.category_id = b.category;
    let actor = crate::tickets::Actor::User(who.0.user_id);
    let ctx2 = ctx.get_ref().clone();
    let view = ctx
        .write(move |conn| {
            service::update_ticket(&ctx2, conn, actor, id, &patch)?;
            ticket_detail(conn, id, ctx2.clock.now())
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMessageReq {
    /// `reply` (sent to the citizen) or `note` (internal).
    #[schema(pattern = "^(reply|note)$", example = "reply")]
    pub kind: String,
    #[schema(min_length = 1, max_length = 100000, example = "Terima kasih, kami periksa.")]
    pub body: String,
    /// Instagram comment tickets: `comment` (public reply, the default) or `private_reply`.
    #[serde(default)]
    pub reply_via: Option<String>,
}

/// A message just added by an agent, with a notice when it cannot go out at once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedMessage {
    #[serde(flatten)]
    pub message: MessageView,
    /// E.g. the reply is held until the citizen writes again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

/// Adds an agent's reply (queued for delivery on the ticket's channel) or an internal note.
#[utoipa::path(
    post,
    path = "/api/v1/tickets/{id}/messages",
    tag = "tickets",
    params(IdempotencyKey),
    responses(
        (status = 201, description = "The message", body = CreatedMessage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn create_message(
    ctx: Ctx,
    req: HttpRequest,
    who: Authed,
    path: web::Path<i64>,
    body: web::Json<CreateMessageReq>,
) -> AppResult<HttpResponse> {
    who.0.require(Role::Agent)?;
    let id = path.into_inner();
    let b = body.into_inner();
    let kind = match b.kind.as_str() {
        "reply" => ReplyKind::Reply,
        "note" => ReplyKind::Note,
        _ => return Err(AppError::field("kind", "must be `reply` or `note`")),
    };
    let text = required_text("body", &b.body, 100_000)?;
    let reply_via = b.reply_via.clone();
    let user_id = who.0.user_id;
    idempotency::run(&ctx, &req, user_id, &b, move |ctx, conn| {
        let (_, m, notice) = service::add_agent_message(ctx, conn, user_id, id, kind, &text, reply_via.as_deref())?;
        let view = CreatedMessage {
            message: MessageView::new(&m, &[]),
            notice,
        };
        Ok((StatusCode::CREATED, serde_json::to_value(view)?))
    })
    .await
}
