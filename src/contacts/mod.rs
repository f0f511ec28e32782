//! Citizens and the channel identities by which we recognise them.

pub mod attributes;
pub mod identity;
pub mod repo;

pub use identity::{Email, Identity, IdentityKind, Phone};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{contact_identities, contacts};

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = contacts)]
pub struct Contact {
    pub id: i64,
    pub name: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// JSON object of string attributes; see [`attributes`].
    pub attributes: String,
}

impl Contact {
    pub fn attributes(&self) -> attributes::Attributes {
        attributes::parse_stored(&self.attributes)
    }
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = contact_identities)]
pub struct ContactIdentity {
    pub id: i64,
    pub contact_id: i64,
    pub kind: String,
    pub value: String,
    pub created_at: NaiveDateTime,
}
