//! JSON response shapes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::clock::utc;
use crate::contacts::{Contact, ContactIdentity};
use crate::tickets::model::{AttachmentMeta, Message, Ticket, TicketEvent};

#[derive(Serialize, utoipa::ToSchema)]
pub struct IdentityView {
    pub kind: String,
    pub value: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ContactView {
    pub id: i64,
    pub name: String,
    pub identities: Vec<IdentityView>,
    /// String attributes set by agents (`{"segment": "vip"}`), matched by SLA policy conditions.
    pub attributes: crate::contacts::attributes::Attributes,
    pub created_at: DateTime<Utc>,
}

impl ContactView {
    pub fn new(c: &Contact, ids: &[ContactIdentity]) -> ContactView {
        ContactView {
            id: c.id,
            name: c.name.clone(),
            identities: ids
                .iter()
                .filter(|i| i.contact_id == c.id)
                .map(|i| IdentityView {
                    kind: i.kind.clone(),
                    value: i.value.clone(),
                })
                .collect(),
            attributes: c.attributes(),
            created_at: utc(c.created_at),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TicketView {
    pub id: i64,
    pub number: String,
    pub subject: String,
    pub status: String,
    pub priority: String,
    pub channel: String,
    pub contact_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<ContactView>,
    pub category_id: Option<i64>,
    pub team_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub parent_ticket_id: Option<i64>,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// A conversation inside the channel other than the direct one (`ig-comments:<media id>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_key: Option<String>,
    /// Instagram/WhatsApp: whether a reply can go out now, and until when.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ReplyWindow>)]
    pub reply_window: Option<Value>,
    /// SLA clocks (target, due time, remaining business time, paused, warned, breached).
    #[schema(value_type = Vec<SlaClock>)]
    pub sla: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<MessageView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EventView>>,
}

impl TicketView {
    pub fn new(t: &Ticket, tags: &HashMap<i64, Vec<String>>) -> TicketView {
        TicketView {
            id: t.id,
            number: t.number.clone(),
            subject: t.subject.clone(),
            status: t.status.clone(),
            priority: t.priority.clone(),
            channel: t.channel.clone(),
            contact_id: t.contact_id,
            contact: None,
            category_id: t.category_id,
            team_id: t.team_id,
            assignee_id: t.assignee_id,
            parent_ticket_id: t.parent_ticket_id,
            tags: tags.get(&t.id).cloned().unwrap_or_default(),
            created_at: utc(t.created_at),
            updated_at: utc(t.updated_at),
            first_response_at: t.first_response_at.map(utc),
            resolved_at: t.resolved_at.map(utc),
            closed_at: t.closed_at.map(utc),
            last_inbound_at: t.last_inbound_at.map(utc),
            thread_key: t.thread_key.clone(),
            reply_window: None,
            sla: Value::Array(Vec::new()),
            messages: None,
            events: None,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AttachmentView {
    pub id: i64,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// Where the platform serves media we did not receive inline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MessageView {
    pub id: i64,
    pub direction: String,
    pub channel: String,
    pub author_user_id: Option<i64>,
    pub author_contact_id: Option<i64>,
    pub text: String,
    pub html: Option<String>,
    pub external_id: Option<String>,
    pub delivery_state: String,
    /// Why delivery failed, is held, or is being retried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_error: Option<String>,
    /// Channel details: reply_to, story, reactions, comment ids, reply route.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<DateTime<Utc>>,
    /// The citizen unsent it; its text is kept only in the audit trail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
    pub attachments: Vec<AttachmentView>,
    pub created_at: DateTime<Utc>,
}

impl MessageView {
    pub fn new(m: &Message, atts: &[AttachmentMeta]) -> MessageView {
        MessageView {
            id: m.id,
            direction: m.direction.clone(),
            channel: m.channel.clone(),
            author_user_id: m.author_user_id,
            author_contact_id: m.author_contact_id,
            text: m.body_text.clone(),
            html: m.body_html.clone(),
            external_id: m.external_id.clone(),
            delivery_state: m.delivery_state.clone(),
            delivery_error: m.delivery_error.clone(),
            metadata: m.metadata.as_deref().and_then(|v| serde_json::from_str(v).ok()),
            edited_at: m.edited_at.map(utc),
            deleted_at: m.deleted_at.map(utc),
            attachments: atts
                .iter()
                .filter(|a| a.message_id == m.id)
                .map(|a| AttachmentView {
                    id: a.id,
                    filename: a.filename.clone(),
                    content_type: a.content_type.clone(),
                    size_bytes: a.size_bytes,
                    sha256: a.sha256.clone(),
                    source_url: a.source_url.clone(),
                })
                .collect(),
            created_at: utc(m.created_at),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EventView {
    pub id: i64,
    pub kind: String,
    pub actor_kind: String,
    pub actor_id: Option<i64>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub created_at: DateTime<Utc>,
}

impl EventView {
    pub fn new(e: &TicketEvent) -> EventView {
        let parse = |s: &Option<String>| s.as_deref().and_then(|v| serde_json::from_str(v).ok());
        EventView {
            id: e.id,
            kind: e.kind.clone(),
            actor_kind: e.actor_kind.clone(),
            actor_id: e.actor_id,
            before: parse(&e.before_value),
            after: parse(&e.after_value),
            created_at: utc(e.created_at),
        }
    }
}

/// One page of a list, newest first; pass `next_cursor` as `cursor` for the next page (null: no more).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A whole (short) list.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// Whether a reply can go out now on Instagram or WhatsApp (`channels::meta::window`), as
/// `TicketView::reply_window` carries it. Documentation only: the value is built as JSON.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ReplyWindow {
    /// `standard`, `human_agent`, `closed`, or `comment` (an Instagram comment thread).
    pub mode: String,
    pub open: bool,
    /// When the current mode ends (absent for comment threads).
    #[schema(required = false)]
    pub until: Option<DateTime<Utc>>,
}

/// One SLA clock of a ticket, as `crate::sla::admin::clocks_json` builds it. Documentation only.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SlaClock {
    /// `first_response`, `next_response`, `periodic_update`, `resolution` or `stage:<name>`.
    pub kind: String,
    /// `running`, `paused`, `met` or `stopped`.
    pub state: String,
    /// As written in the policy, e.g. `4h`.
    pub target: String,
    pub target_secs: i64,
    pub calendar: Option<String>,
    pub business_time: bool,
    pub due_at: Option<DateTime<Utc>>,
    /// Business seconds left (negative once breached).
    pub remaining_secs: i64,
    pub paused: bool,
    pub warned: bool,
    pub warned_percent: i64,
    pub breached: bool,
    pub cycle: i64,
    pub policy: String,
    pub policy_version: i64,
    pub started_at: DateTime<Utc>,
    pub stopped_at: Option<DateTime<Utc>>,
}

pub fn group_tags(rows: Vec<(i64, String)>) -> HashMap<i64, Vec<String>> {
    let mut map: HashMap<i64, Vec<String>> = HashMap::new();
    for (id, tag) in rows {
        map.entry(id).or_default().push(tag);
    }
    map
}
