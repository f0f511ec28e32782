//! Idempotency-key SQL.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::idempotency_keys as ik;

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = ik)]
pub struct StoredResponse {
    pub request_hash: String,
    pub response_status: i32,
    pub response_body: String,
}

pub fn find(conn: &mut DbConnection, user_id: i64, key: &str) -> QueryResult<Option<StoredResponse>> {
    ik::table
        .filter(ik::user_id.eq(user_id))
        .filter(ik::idem_key.eq(key))
        .select(StoredResponse::as_select())
        .first(conn)
        .optional()
}

pub fn insert(
    conn: &mut DbConnection,
    user_id: i64,
    key: &str,
    request_hash: &str,
    status: i32,
    body: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(ik::table)
        .values((
            ik::user_id.eq(user_id),
            ik::idem_key.eq(key),
            ik::request_hash.eq(request_hash),
            ik::response_status.eq(status),
            ik::response_body.eq(body),
            ik::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Forgets keys older than `cutoff` (their stored responses can hold a citizen's access token).
pub fn purge_before(conn: &mut DbConnection, cutoff: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(ik::table.filter(ik::created_at.lt(cutoff))).execute(conn)
}
