//! Contact SQL.

use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Text, Timestamp};

use super::{Contact, ContactIdentity, Identity};
use crate::db::DbConnection;
use crate::db::lower;
use crate::db::schema::{contact_identities as ci, contacts};

pub fn find_by_identity(conn: &mut DbConnection, id: &Identity) -> QueryResult<Option<Contact>> {
    contacts::table
        .inner_join(ci::table)
        .filter(ci::kind.eq(id.kind.as_str()))
        .filter(ci::value.eq(&id.value))
        .select(Contact::as_select())
        .first(conn)
        .optional()
}

/// Holds the contact's row lock until the transaction ends, so concurrent intake for one citizen
/// threads one message at a time instead of each opening a ticket. PostgreSQL needs the row
/// lock; on SQLite the immediate write transaction already excludes other writers.
pub fn lock(conn: &mut DbConnection, id: i64) -> QueryResult<()> {
    match conn {
        DbConnection::Postgresql(c) => contacts::table
            .find(id)
            .select(contacts::id)
            .for_update()
            .first::<i64>(c)
            .map(|_| ()),
        DbConnection::Sqlite(_) => Ok(()),
    }
}

pub fn insert(conn: &mut DbConnection, name: &str, now: NaiveDateTime) -> QueryResult<Contact> {
    let insert = diesel::insert_into(contacts::table).values((
        contacts::name.eq(name),
        contacts::created_at.eq(now),
        contacts::updated_at.eq(now),
        contacts::attributes.eq(NO_ATTRIBUTES),
    ));
    match conn {
        DbConnection::Postgresql(c) => insert.returning(Contact::as_returning()).get_result(c),
        // See `sqlite_insert_id`: every column is written, so the row is what was inserted.
        DbConnection::Sqlite(c) => Ok(Contact {
            id: crate::db::sqlite_insert_id(c, insert)?,
            name: name.to_string(),
            created_at: now,
            updated_at: now,
            attributes: NO_ATTRIBUTES.to_string(),
        }),
    }
}

/// A new contact's attributes: none.
const NO_ATTRIBUTES: &str = "{}";

/// Creates a contact together with its first identity (a duplicate identity is a unique
/// violation, and then neither row exists). On PostgreSQL this is one statement, a data-modifying
/// `WITH`, so a new citizen costs one round trip instead of two; SQLite has no data-modifying
/// `WITH` and no round trips to save, so it runs the two inserts.
pub fn insert_with_identity(
    conn: &mut DbConnection,
    name: &str,
    id: &Identity,
    now: NaiveDateTime,
) -> QueryResult<Contact> {
    match conn {
        DbConnection::Postgresql(c) => NewContactWithIdentity {
            name,
            kind: id.kind.as_str(),
            value: &id.value,
            now,
        }
        .get_result(c),
        DbConnection::Sqlite(_) => {
            let contact = insert(conn, name, now)?;
            add_identity(conn, contact.id, id, now)?;
            Ok(contact)
        }
    }
}

/// The PostgreSQL statement behind [`insert_with_identity`]. Its SQL text never changes, so it has
/// a static query id and diesel prepares it once per connection.
struct NewContactWithIdentity<'a> {
    name: &'a str,
    kind: &'a str,
    value: &'a str,
    now: NaiveDateTime,
}

impl QueryId for NewContactWithIdentity<'_> {
    type QueryId = NewContactWithIdentity<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<Pg> for NewContactWithIdentity<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH c AS (INSERT INTO contacts (name, created_at, updated_at) VALUES (");
        out.push_bind_param::<Text, _>(self.name)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(
            ") RETURNING id, name, created_at, updated_at, attributes), \
             i AS (INSERT INTO contact_identities (contact_id, kind, value, created_at) SELECT id, ",
        );
        out.push_bind_param::<Text, _>(self.kind)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(self.value)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(" FROM c) SELECT id, name, created_at, updated_at, attributes FROM c");
        Ok(())
    }
}

impl Query for NewContactWithIdentity<'_> {
    type SqlType = (BigInt, Text, Timestamp, Timestamp, Text);
}

impl RunQueryDsl<PgConnection> for NewContactWithIdentity<'_> {}

/// Adds an identity; a duplicate (already someone's) is a unique violation.
pub fn add_identity(conn: &mut DbConnection, contact_id: i64, id: &Identity, now: NaiveDateTime) -> QueryResult<()> {
    diesel::insert_into(ci::table)
        .values((
            ci::contact_id.eq(contact_id),
            ci::kind.eq(id.kind.as_str()),
            ci::value.eq(&id.value),
            ci::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn get(conn: &mut DbConnection, id: i64) -> QueryResult<Contact> {
    contacts::table.find(id).select(Contact::as_select()).first(conn)
}

pub fn identities_of(conn: &mut DbConnection, contact_ids: &[i64]) -> QueryResult<Vec<ContactIdentity>> {
    ci::table
        .filter(ci::contact_id.eq_any(contact_ids))
        .order(ci::id.asc())
        .select(ContactIdentity::as_select())
        .load(conn)
}

pub fn list(conn: &mut DbConnection, q: Option<&str>, before_id: Option<i64>, limit: i64) -> QueryResult<Vec<Contact>> {
    let mut query = contacts::table.select(Contact::as_select()).into_boxed();
    if let Some(q) = q {
        let pattern = format!("%{}%", escape_like(q));
        let pattern = pattern.to_lowercase();
        let by_identity = ci::table
            .filter(lower(ci::value).like(pattern.clone()).escape('\\'))
            .select(ci::contact_id);
        query = query.filter(
            lower(contacts::name)
                .like(pattern)
                .escape('\\')
                .or(contacts::id.eq_any(by_identity)),
        );
    }
    if let Some(before) = before_id {
        query = query.filter(contacts::id.lt(before));
    }
    query.order(contacts::id.desc()).limit(limit).load(conn)
}

pub fn rename(conn: &mut DbConnection, id: i64, name: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(contacts::table.find(id))
        .set((contacts::name.eq(name), contacts::updated_at.eq(now)))
        .execute(conn)
        .map(|_| ())
}

/// Replaces the contact's name and attributes.
pub fn update(
    conn: &mut DbConnection,
    id: i64,
    name: &str,
    attributes: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(contacts::table.find(id))
        .set((
            contacts::name.eq(name),
            contacts::attributes.eq(attributes),
            contacts::updated_at.eq(now),
        ))
        .execute(conn)
}

/// The attributes of one contact (empty when it does not exist).
pub fn attributes_of(conn: &mut DbConnection, id: i64) -> QueryResult<super::attributes::Attributes> {
    let stored: Option<String> = contacts::table
        .find(id)
        .select(contacts::attributes)
        .first(conn)
        .optional()?;
    Ok(stored.map(|s| super::attributes::parse_stored(&s)).unwrap_or_default())
}

/// Escapes `%`, `_` and `\` for a LIKE pattern used with `ESCAPE '\'`.
pub fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
