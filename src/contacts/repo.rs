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

/// The contact owning `id`, or a new one named `name` that owns it; `true` when it was created.
/// Two writers creating the same citizen at once: one of them gets a unique violation on the
/// identity, and its write is retried (by then it finds the other's contact). With `lock`, the
/// contact's row stays locked until the transaction ends, as with [`lock`] (a new one is invisible
/// to others until then anyway).
///
/// On PostgreSQL this is one statement ([`FindOrCreateContact`]), so a citizen costs one round
/// trip whether they are known or new; SQLite has no data-modifying `WITH` and no round trips to
/// save, so it looks up and then inserts.
pub fn find_or_create(
    conn: &mut DbConnection,
    name: &str,
    id: &Identity,
    now: NaiveDateTime,
    lock: bool,
) -> QueryResult<(Contact, bool)> {
    match conn {
        DbConnection::Postgresql(c) => {
            let (kind, value) = (id.kind.as_str(), id.value.as_str());
            let (id, name, created_at, updated_at, attributes, created) = if lock {
                FindOrCreateContact::<true> { name, kind, value, now }.get_result::<FoundOrCreated>(c)?
            } else {
                FindOrCreateContact::<false> { name, kind, value, now }.get_result::<FoundOrCreated>(c)?
            };
            let contact = Contact {
                id,
                name,
                created_at,
                updated_at,
                attributes,
            };
            Ok((contact, created))
        }
        DbConnection::Sqlite(_) => match find_by_identity(conn, id)? {
            Some(found) => Ok((found, false)),
            None => {
                let contact = insert(conn, name, now)?;
                add_identity(conn, contact.id, id, now)?;
                Ok((contact, true))
            }
        },
    }
}

/// A row of [`FindOrCreateContact`]: the contact's columns and whether it was created.
type FoundOrCreated = (i64, String, NaiveDateTime, NaiveDateTime, String, bool);

/// The PostgreSQL statement behind [`find_or_create`]: the lookup (with `LOCK`, `FOR UPDATE` of the
/// contact), and when it finds nothing the contact and identity inserts, in one data-modifying
/// `WITH` (all of its parts see the same snapshot, so the inserts run exactly when the lookup found
/// nothing). Static SQL for each `LOCK`, prepared once per connection.
struct FindOrCreateContact<'a, const LOCK: bool> {
    name: &'a str,
    kind: &'a str,
    value: &'a str,
    now: NaiveDateTime,
}

impl<const LOCK: bool> QueryId for FindOrCreateContact<'_, LOCK> {
    type QueryId = FindOrCreateContact<'static, LOCK>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<const LOCK: bool> QueryFragment<Pg> for FindOrCreateContact<'_, LOCK> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "WITH f AS (SELECT c.id, c.name, c.created_at, c.updated_at, c.attributes \
             FROM contacts c JOIN contact_identities i ON i.contact_id = c.id WHERE i.kind = ",
        );
        out.push_bind_param::<Text, _>(self.kind)?;
        out.push_sql(" AND i.value = ");
        out.push_bind_param::<Text, _>(self.value)?;
        if LOCK {
            out.push_sql(" FOR UPDATE OF c");
        }
        out.push_sql("), n AS (INSERT INTO contacts (name, created_at, updated_at) SELECT ");
        out.push_bind_param::<Text, _>(self.name)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(
            " WHERE NOT EXISTS (SELECT 1 FROM f) RETURNING id, name, created_at, updated_at, attributes), \
             i AS (INSERT INTO contact_identities (contact_id, kind, value, created_at) SELECT id, ",
        );
        out.push_bind_param::<Text, _>(self.kind)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(self.value)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(
            " FROM n) SELECT id, name, created_at, updated_at, attributes, false FROM f \
             UNION ALL SELECT id, name, created_at, updated_at, attributes, true FROM n",
        );
        Ok(())
    }
}

impl<const LOCK: bool> Query for FindOrCreateContact<'_, LOCK> {
    type SqlType = (BigInt, Text, Timestamp, Timestamp, Text, diesel::sql_types::Bool);
}

impl<const LOCK: bool> RunQueryDsl<PgConnection> for FindOrCreateContact<'_, LOCK> {}

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
