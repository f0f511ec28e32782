//! SLA SQL: calendars, policies, ticket policies, clocks, firings and notifications.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{
    sla_calendars, sla_clocks, sla_firings, sla_notifications, sla_policies, sla_policy_versions, sla_ticket_policies,
};
use crate::db::scope::{self, WriteScope};

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = sla_calendars)]
pub struct CalendarRow {
    pub id: i64,
    pub name: String,
    pub definition: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn calendars(conn: &mut DbConnection) -> QueryResult<Vec<CalendarRow>> {
    sla_calendars::table
        .order(sla_calendars::name)
        .select(CalendarRow::as_select())
        .load(conn)
}

pub fn calendar_by_name(conn: &mut DbConnection, name: &str) -> QueryResult<Option<CalendarRow>> {
    sla_calendars::table
        .filter(sla_calendars::name.eq(name))
        .select(CalendarRow::as_select())
        .first(conn)
        .optional()
}

pub fn calendar_by_id(conn: &mut DbConnection, id: i64) -> QueryResult<CalendarRow> {
    sla_calendars::table
        .find(id)
        .select(CalendarRow::as_select())
        .first(conn)
}

/// Stores a calendar, replacing one of the same name. Returns its id and whether it replaced one.
pub fn upsert_calendar(
    conn: &mut DbConnection,
    name: &str,
    definition: &str,
    now: NaiveDateTime,
) -> QueryResult<(i64, bool)> {
    if let Some(row) = calendar_by_name(conn, name)? {
        diesel::update(sla_calendars::table.find(row.id))
            .set((
                sla_calendars::definition.eq(definition),
                sla_calendars::updated_at.eq(now),
            ))
            .execute(conn)?;
        return Ok((row.id, true));
    }
    diesel::insert_into(sla_calendars::table)
        .values((
            sla_calendars::name.eq(name),
            sla_calendars::definition.eq(definition),
            sla_calendars::created_at.eq(now),
            sla_calendars::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok((
        calendar_by_name(conn, name)?
            .map(|r| r.id)
            .ok_or(diesel::result::Error::NotFound)?,
        false,
    ))
}

pub fn delete_calendar(conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(sla_calendars::table.find(id)).execute(conn)
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = sla_policies)]
pub struct PolicyRow {
    pub id: i64,
    pub name: String,
    pub position: i32,
    pub version: i32,
    pub definition: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

thread_local! {
    static BATCH_POLICIES: std::cell::RefCell<Option<Option<Vec<PolicyRow>>>> =
        const { std::cell::RefCell::new(None) };
}

/// Keeps the policies read once for the length of a write batch (opened by the group-commit
/// writers), so a batch of N new tickets reads them once, not N times. A policy
/// written inside the batch is read again; the scope ends with the batch's commit or rollback.
/// A ticket in the batch sees the policies as they were when the batch first read them, as if it
/// had been created that moment earlier: it was queued before the batch started.
pub fn policies_per_batch() -> WriteScope<Option<Vec<PolicyRow>>> {
    WriteScope::open(&BATCH_POLICIES)
}

/// Sets what the open batch scope (if any) keeps.
fn keep_for_batch(rows: Option<Vec<PolicyRow>>) {
    scope::with(&BATCH_POLICIES, |kept| {
        if let Some(kept) = kept {
            *kept = rows;
        }
    });
}

/// Drops what the open batch scope keeps: after a policy is written, and after a write in the
/// batch was rolled back to its savepoint (it may have read policies it had itself changed).
pub fn forget_batch_policies() {
    keep_for_batch(None);
}

/// Policies in evaluation order.
pub fn policies(conn: &mut DbConnection) -> QueryResult<Vec<PolicyRow>> {
    if let Some(rows) = scope::with(&BATCH_POLICIES, |kept| kept.and_then(|k| k.clone())) {
        return Ok(rows);
    }
    let rows: Vec<PolicyRow> = sla_policies::table
        .order((sla_policies::position, sla_policies::id))
        .select(PolicyRow::as_select())
        .load(conn)?;
    keep_for_batch(Some(rows.clone()));
    Ok(rows)
}

pub fn policy(conn: &mut DbConnection, id: i64) -> QueryResult<PolicyRow> {
    sla_policies::table.find(id).select(PolicyRow::as_select()).first(conn)
}

pub fn insert_policy(
    conn: &mut DbConnection,
    name: &str,
    position: i32,
    definition: &str,
    now: NaiveDateTime,
) -> QueryResult<PolicyRow> {
    diesel::insert_into(sla_policies::table)
        .values((
            sla_policies::name.eq(name),
            sla_policies::position.eq(position),
            sla_policies::version.eq(1),
            sla_policies::definition.eq(definition),
            sla_policies::created_at.eq(now),
            sla_policies::updated_at.eq(now),
        ))
        .execute(conn)?;
    let row: PolicyRow = sla_policies::table
        .filter(sla_policies::name.eq(name))
        .select(PolicyRow::as_select())
        .first(conn)?;
    insert_version(conn, row.id, 1, definition, now)?;
    forget_batch_policies();
    Ok(row)
}

/// Writes a new version of a policy.
pub fn update_policy(
    conn: &mut DbConnection,
    id: i64,
    name: &str,
    position: i32,
    definition: &str,
    now: NaiveDateTime,
) -> QueryResult<PolicyRow> {
    let old = policy(conn, id)?;
    let version = old.version + 1;
    diesel::update(sla_policies::table.find(id))
        .set((
            sla_policies::name.eq(name),
            sla_policies::position.eq(position),
            sla_policies::version.eq(version),
            sla_policies::definition.eq(definition),
            sla_policies::updated_at.eq(now),
        ))
        .execute(conn)?;
    insert_version(conn, id, version, definition, now)?;
    forget_batch_policies();
    policy(conn, id)
}

fn insert_version(
    conn: &mut DbConnection,
    id: i64,
    version: i32,
    definition: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(sla_policy_versions::table)
        .values((
            sla_policy_versions::policy_id.eq(id),
            sla_policy_versions::version.eq(version),
            sla_policy_versions::definition.eq(definition),
            sla_policy_versions::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete_policy(conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
    forget_batch_policies();
    diesel::delete(sla_policies::table.find(id)).execute(conn)
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = sla_ticket_policies, treat_none_as_null = true)]
pub struct TicketPolicy {
    pub ticket_id: i64,
    pub policy_id: Option<i64>,
    pub policy_name: String,
    pub policy_version: i32,
    pub applied_at: NaiveDateTime,
}

pub fn ticket_policy(conn: &mut DbConnection, ticket_id: i64) -> QueryResult<Option<TicketPolicy>> {
    sla_ticket_policies::table
        .find(ticket_id)
        .select(TicketPolicy::as_select())
        .first(conn)
        .optional()
}

pub fn set_ticket_policy(conn: &mut DbConnection, tp: &TicketPolicy) -> QueryResult<()> {
    let n = diesel::update(sla_ticket_policies::table.find(tp.ticket_id))
        .set(tp)
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(sla_ticket_policies::table)
            .values(tp)
            .execute(conn)?;
    }
    Ok(())
}

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, AsChangeset)]
#[diesel(table_name = sla_clocks, treat_none_as_null = true)]
pub struct ClockRow {
    pub id: i64,
    pub ticket_id: i64,
    pub kind: String,
    pub cycle: i32,
    pub policy_name: String,
    pub policy_version: i32,
    pub calendar_id: Option<i64>,
    pub target_secs: i64,
    pub target_text: String,
    pub remaining_secs: i64,
    pub running_since: Option<NaiveDateTime>,
    pub due_at: Option<NaiveDateTime>,
    pub next_fire_at: Option<NaiveDateTime>,
    pub warn_percents: String,
    pub warned: i32,
    pub breached: bool,
    pub state: String,
    pub started_at: NaiveDateTime,
    pub stopped_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = sla_clocks, treat_none_as_default_value = false)]
pub struct NewClock<'a> {
    pub ticket_id: i64,
    pub kind: &'a str,
    pub cycle: i32,
    pub policy_name: &'a str,
    pub policy_version: i32,
    pub calendar_id: Option<i64>,
    pub target_secs: i64,
    pub target_text: &'a str,
    pub remaining_secs: i64,
    pub running_since: Option<NaiveDateTime>,
    pub due_at: Option<NaiveDateTime>,
    pub next_fire_at: Option<NaiveDateTime>,
    pub warn_percents: &'a str,
    pub warned: i32,
    pub breached: bool,
    pub state: &'a str,
    pub started_at: NaiveDateTime,
    pub stopped_at: Option<NaiveDateTime>,
}

pub fn clocks_of(conn: &mut DbConnection, ticket_ids: &[i64]) -> QueryResult<Vec<ClockRow>> {
    sla_clocks::table
        .filter(sla_clocks::ticket_id.eq_any(ticket_ids))
        .order(sla_clocks::id)
        .select(ClockRow::as_select())
        .load(conn)
}

pub fn insert_clock(conn: &mut DbConnection, c: &NewClock) -> QueryResult<()> {
    diesel::insert_into(sla_clocks::table).values(c).execute(conn)?;
    Ok(())
}

pub fn save_clock(conn: &mut DbConnection, c: &ClockRow) -> QueryResult<()> {
    diesel::update(sla_clocks::table.find(c.id)).set(c).execute(conn)?;
    Ok(())
}

pub fn delete_clock(conn: &mut DbConnection, id: i64) -> QueryResult<()> {
    diesel::delete(sla_clocks::table.find(id)).execute(conn)?;
    Ok(())
}

/// Clocks with a warning or breach due by `now`, earliest first, locked for this transaction. On
/// PostgreSQL rows another worker holds are skipped; SQLite's single writer excludes the others.
/// Uses the partial index on `next_fire_at`, so the cost follows the clocks coming due.
pub fn claim_due(conn: &mut DbConnection, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<ClockRow>> {
    let q = sla_clocks::table
        .filter(sla_clocks::next_fire_at.is_not_null())
        .filter(sla_clocks::next_fire_at.le(now))
        .order(sla_clocks::next_fire_at)
        .limit(limit)
        .select(sla_clocks::id);
    let ids: Vec<i64> = match conn {
        DbConnection::Postgresql(c) => q.for_update().skip_locked().load(c)?,
        DbConnection::Sqlite(c) => q.load(c)?,
    };
    sla_clocks::table
        .filter(sla_clocks::id.eq_any(&ids))
        .order(sla_clocks::next_fire_at)
        .select(ClockRow::as_select())
        .load(conn)
}

/// The earliest instant any clock is next due (for the timer's sleep).
pub fn next_due(conn: &mut DbConnection) -> QueryResult<Option<NaiveDateTime>> {
    sla_clocks::table
        .filter(sla_clocks::next_fire_at.is_not_null())
        .select(diesel::dsl::min(sla_clocks::next_fire_at))
        .first(conn)
}

/// Records a warning or breach once; `false` when some worker already recorded it.
pub fn insert_firing(
    conn: &mut DbConnection,
    clock_id: i64,
    cycle: i32,
    kind: &str,
    due_at: NaiveDateTime,
    now: NaiveDateTime,
    worker: &str,
) -> QueryResult<Option<i64>> {
    let values = (
        sla_firings::clock_id.eq(clock_id),
        sla_firings::cycle.eq(cycle),
        sla_firings::kind.eq(kind),
        sla_firings::fired_at.eq(now),
        sla_firings::due_at.eq(due_at),
        sla_firings::worker.eq(worker),
    );
    let inserted = crate::dispatch!(conn, c => diesel::insert_into(sla_firings::table)
        .values(values)
        .on_conflict_do_nothing()
        .execute(c))?;
    if inserted == 0 {
        return Ok(None);
    }
    sla_firings::table
        .filter(sla_firings::clock_id.eq(clock_id))
        .filter(sla_firings::cycle.eq(cycle))
        .filter(sla_firings::kind.eq(kind))
        .select(sla_firings::id)
        .first(conn)
        .map(Some)
}

pub fn count_firings(conn: &mut DbConnection) -> QueryResult<i64> {
    sla_firings::table.count().get_result(conn)
}

#[derive(Clone, Debug, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = sla_notifications)]
pub struct Notification {
    pub id: i64,
    pub user_id: i64,
    pub ticket_id: i64,
    pub firing_id: i64,
    pub kind: String,
    pub body: String,
    pub created_at: NaiveDateTime,
    pub read_at: Option<NaiveDateTime>,
}

pub fn insert_notification(
    conn: &mut DbConnection,
    user_id: i64,
    ticket_id: i64,
    firing_id: i64,
    kind: &str,
    body: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(sla_notifications::table)
        .values((
            sla_notifications::user_id.eq(user_id),
            sla_notifications::ticket_id.eq(ticket_id),
            sla_notifications::firing_id.eq(firing_id),
            sla_notifications::kind.eq(kind),
            sla_notifications::body.eq(body),
            sla_notifications::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn notifications_for(conn: &mut DbConnection, user_id: i64, limit: i64) -> QueryResult<Vec<Notification>> {
    sla_notifications::table
        .filter(sla_notifications::user_id.eq(user_id))
        .order(sla_notifications::id.desc())
        .limit(limit)
        .select(Notification::as_select())
        .load(conn)
}

pub fn policy_version(conn: &mut DbConnection, id: i64, version: i32) -> QueryResult<Option<String>> {
    sla_policy_versions::table
        .find((id, version))
        .select(sla_policy_versions::definition)
        .first(conn)
        .optional()
}

/// The tickets of a contact that are not closed yet (their policy follows the contact's attributes).
pub fn unclosed_tickets_of_contact(
    conn: &mut DbConnection,
    contact_id: i64,
) -> QueryResult<Vec<crate::tickets::model::Ticket>> {
    use crate::db::schema::tickets;
    use crate::tickets::model::Ticket;
    tickets::table
        .filter(tickets::contact_id.eq(contact_id))
        .filter(tickets::status.ne("closed"))
        .order(tickets::id)
        .select(Ticket::as_select())
        .load(conn)
}

/// Active supervisors of a team (escalation recipients): id and e-mail.
pub fn team_supervisors(conn: &mut DbConnection, team_id: i64) -> QueryResult<Vec<(i64, String)>> {
    use crate::db::schema::users;
    users::table
        .filter(users::team_id.eq(team_id))
        .filter(users::role.eq("supervisor"))
        .filter(users::active.eq(true))
        .select((users::id, users::email))
        .load(conn)
}
