//! Ticket-side rows, insert forms and small enums.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::{attachments, messages, ticket_events, tickets};

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($s => Some($name::$variant),)+ _ => None }
            }
            /// The accepted spellings, for error messages.
            pub fn names() -> String {
                [$($s),+].join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// Where a message came from or goes to.
    Channel {
        Email => "email",
        Phone => "phone",
        Instagram => "instagram",
        Whatsapp => "whatsapp",
        Chat => "chat",
        Web => "web",
    }
);

text_enum!(Priority { Low => "low", Normal => "normal", High => "high", Urgent => "urgent" });

text_enum!(Direction { Inbound => "inbound", Outbound => "outbound", Note => "note" });

text_enum!(
    /// Delivery of a message: inbound ones are `received`; outbound ones move
    /// `queued → sent → delivered → read` or end `failed`; notes are `internal`. A reply the
    /// platform would refuse now (its messaging window is closed) is `held` until the citizen
    /// writes again, then queued.
    DeliveryState {
        Received => "received",
        Held => "held",
        Queued => "queued",
        Sent => "sent",
        Delivered => "delivered",
        Read => "read",
        Failed => "failed",
        Internal => "internal",
    }
);

impl DeliveryState {
    /// Progress of an outbound message; a status report never moves it backwards
    /// (a late `delivered` after `read` changes nothing).
    pub fn outbound_rank(self) -> u8 {
        match self {
            DeliveryState::Held | DeliveryState::Queued => 1,
            DeliveryState::Sent => 2,
            DeliveryState::Delivered => 3,
            DeliveryState::Read => 4,
            _ => 0,
        }
    }
}

text_enum!(ActorKind { User => "user", Contact => "contact", System => "system" });

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = tickets)]
pub struct Ticket {
    pub id: i64,
    pub number: String,
    pub access_token_hash: String,
    pub subject: String,
    pub status: String,
    pub priority: String,
    pub channel: String,
    pub contact_id: i64,
    pub category_id: Option<i64>,
    pub team_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub parent_ticket_id: Option<i64>,
    pub language: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub first_response_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub last_inbound_at: Option<NaiveDateTime>,
    pub thread_key: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = tickets, treat_none_as_default_value = false)]
pub struct NewTicket<'a> {
    pub number: &'a str,
    pub access_token_hash: &'a str,
    pub subject: &'a str,
    pub status: &'a str,
    pub priority: &'a str,
    pub channel: &'a str,
    pub contact_id: i64,
    pub category_id: Option<i64>,
    pub team_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub parent_ticket_id: Option<i64>,
    pub language: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_inbound_at: Option<NaiveDateTime>,
    pub thread_key: Option<&'a str>,
}

impl NewTicket<'_> {
    /// The row this insert wrote, given its id. Every column is written (`None` as NULL); the
    /// columns `NewTicket` lacks are set only by later changes.
    pub fn inserted(&self, id: i64) -> Ticket {
        Ticket {
            id,
            number: self.number.to_string(),
            access_token_hash: self.access_token_hash.to_string(),
            subject: self.subject.to_string(),
            status: self.status.to_string(),
            priority: self.priority.to_string(),
            channel: self.channel.to_string(),
            contact_id: self.contact_id,
            category_id: self.category_id,
            team_id: self.team_id,
            assignee_id: self.assignee_id,
            parent_ticket_id: self.parent_ticket_id,
            language: self.language.to_string(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            first_response_at: None,
            resolved_at: None,
            closed_at: None,
            last_inbound_at: self.last_inbound_at,
            thread_key: self.thread_key.map(str::to_string),
        }
    }
}

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = messages)]
pub struct Message {
    pub id: i64,
    pub ticket_id: i64,
    pub direction: String,
    pub channel: String,
    pub author_user_id: Option<i64>,
    pub author_contact_id: Option<i64>,
    pub body_text: String,
    pub body_html: Option<String>,
    pub external_id: Option<String>,
    pub delivery_state: String,
    pub created_at: NaiveDateTime,
    /// Channel details as JSON (reply_to, story, reactions, comment ids, reply route).
    pub metadata: Option<String>,
    /// Why delivery failed, or why the reply is held.
    pub delivery_error: Option<String>,
    pub edited_at: Option<NaiveDateTime>,
    pub deleted_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = messages, treat_none_as_default_value = false)]
pub struct NewMessage<'a> {
    pub ticket_id: i64,
    pub direction: &'a str,
    pub channel: &'a str,
    pub author_user_id: Option<i64>,
    pub author_contact_id: Option<i64>,
    pub body_text: &'a str,
    pub body_html: Option<&'a str>,
    pub external_id: Option<&'a str>,
    pub delivery_state: &'a str,
    pub created_at: NaiveDateTime,
    pub metadata: Option<&'a str>,
}

impl NewMessage<'_> {
    /// The row this insert wrote, given its id. Every column is written (`None` as NULL); the
    /// columns `NewMessage` lacks are set only by later changes.
    pub fn inserted(&self, id: i64) -> Message {
        Message {
            id,
            ticket_id: self.ticket_id,
            direction: self.direction.to_string(),
            channel: self.channel.to_string(),
            author_user_id: self.author_user_id,
            author_contact_id: self.author_contact_id,
            body_text: self.body_text.to_string(),
            body_html: self.body_html.map(str::to_string),
            external_id: self.external_id.map(str::to_string),
            delivery_state: self.delivery_state.to_string(),
            created_at: self.created_at,
            metadata: self.metadata.map(str::to_string),
            delivery_error: None,
            edited_at: None,
            deleted_at: None,
        }
    }
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = attachments)]
pub struct AttachmentMeta {
    pub id: i64,
    pub message_id: i64,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub created_at: NaiveDateTime,
    pub source_url: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = attachments, treat_none_as_default_value = false)]
pub struct NewAttachment<'a> {
    pub message_id: i64,
    pub filename: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a str,
    pub content: Option<&'a [u8]>,
    pub created_at: NaiveDateTime,
    pub source_url: Option<&'a str>,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = ticket_events)]
pub struct TicketEvent {
    pub id: i64,
    pub ticket_id: i64,
    pub actor_kind: String,
    pub actor_id: Option<i64>,
    pub kind: String,
    pub before_value: Option<String>,
    pub after_value: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = ticket_events, treat_none_as_default_value = false)]
pub struct NewEvent {
    pub ticket_id: i64,
    pub actor_kind: &'static str,
    pub actor_id: Option<i64>,
    pub kind: &'static str,
    pub before_value: Option<String>,
    pub after_value: Option<String>,
    pub created_at: NaiveDateTime,
}

/// Who did something: an agent, the citizen, or the system itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    User(i64),
    Contact(i64),
    System,
}

impl Actor {
    pub fn kind(self) -> ActorKind {
        match self {
            Actor::User(_) => ActorKind::User,
            Actor::Contact(_) => ActorKind::Contact,
            Actor::System => ActorKind::System,
        }
    }

    pub fn id(self) -> Option<i64> {
        match self {
            Actor::User(id) | Actor::Contact(id) => Some(id),
            Actor::System => None,
        }
    }
}
