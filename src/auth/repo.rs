//! User and token SQL.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::User;
use crate::db::DbConnection;
use crate::db::schema::{auth_tokens as at, users};

pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub password_hash: Option<&'a str>,
    pub team_id: Option<i64>,
}

pub fn insert_user(conn: &mut DbConnection, u: &NewUser, now: NaiveDateTime) -> QueryResult<User> {
    crate::dispatch!(conn, c => diesel::insert_into(users::table)
        .values((
            users::email.eq(u.email),
            users::name.eq(u.name),
            users::role.eq(u.role),
            users::password_hash.eq(u.password_hash),
            users::team_id.eq(u.team_id),
            users::active.eq(true),
            users::created_at.eq(now),
        ))
        .returning(User::as_returning())
        .get_result(c))
}

pub fn find_user_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn get_user(conn: &mut DbConnection, id: i64) -> QueryResult<User> {
    users::table.find(id).select(User::as_select()).first(conn)
}

pub fn list_users(conn: &mut DbConnection) -> QueryResult<Vec<User>> {
    users::table.order(users::id.asc()).select(User::as_select()).load(conn)
}

pub fn set_password(conn: &mut DbConnection, id: i64, hash: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::password_hash.eq(hash))
        .execute(conn)
}

pub fn insert_token(
    conn: &mut DbConnection,
    user_id: i64,
    kind: &str,
    token_hash: &str,
    label: &str,
    now: NaiveDateTime,
    expires_at: Option<NaiveDateTime>,
) -> QueryResult<()> {
    diesel::insert_into(at::table)
        .values((
            at::user_id.eq(user_id),
            at::kind.eq(kind),
            at::token_hash.eq(token_hash),
            at::label.eq(label),
            at::created_at.eq(now),
            at::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The active user owning a live (not revoked, not expired) token with this hash, and the
/// token's expiry.
pub fn user_by_token(
    conn: &mut DbConnection,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<(User, Option<NaiveDateTime>)>> {
    at::table
        .inner_join(users::table)
        .filter(at::token_hash.eq(token_hash))
        .filter(at::revoked_at.is_null())
        .filter(at::expires_at.is_null().or(at::expires_at.gt(now)))
        .filter(users::active.eq(true))
        .select((User::as_select(), at::expires_at))
        .first(conn)
        .optional()
}

pub fn revoke_token(conn: &mut DbConnection, token_hash: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(at::table.filter(at::token_hash.eq(token_hash)))
        .set(at::revoked_at.eq(now))
        .execute(conn)
}
