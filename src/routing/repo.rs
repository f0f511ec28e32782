//! Routing SQL: team settings, agent availability, the candidates and their load, a team's queue,
//! and the conditional assignment.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::admin::Team;
use crate::db::DbConnection;
use crate::db::schema::{availability_changes, teams, tickets, users};
use crate::tickets::model::Ticket;

/// The team row, locked until the end of the transaction on PostgreSQL, so that routers on
/// several nodes pick agents for one team one at a time (SQLite already runs one writer at a
/// time). `FOR NO KEY UPDATE`: it does not block rows that merely reference the team (new
/// tickets, team changes), which take `FOR KEY SHARE`. `None` when the team is gone.
pub fn lock_team(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Team>> {
    let q = teams::table.find(id);
    match conn {
        DbConnection::Postgresql(c) => q.select(Team::as_select()).for_no_key_update().first(c).optional(),
        DbConnection::Sqlite(c) => q.select(Team::as_select()).first(c).optional(),
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TeamSettings {
    pub auto_assign: bool,
    pub max_open_per_agent: i32,
}

pub fn team_settings(conn: &mut DbConnection, id: i64) -> QueryResult<Option<TeamSettings>> {
    teams::table
        .find(id)
        .select((teams::auto_assign, teams::max_open_per_agent))
        .first::<(bool, i32)>(conn)
        .optional()
        .map(|r| {
            r.map(|(auto_assign, max_open_per_agent)| TeamSettings {
                auto_assign,
                max_open_per_agent,
            })
        })
}

pub fn update_team(
    conn: &mut DbConnection,
    id: i64,
    name: &str,
    description: &str,
    settings: TeamSettings,
) -> QueryResult<usize> {
    diesel::update(teams::table.find(id))
        .set((
            teams::name.eq(name),
            teams::description.eq(description),
            teams::auto_assign.eq(settings.auto_assign),
            teams::max_open_per_agent.eq(settings.max_open_per_agent),
        ))
        .execute(conn)
}

/// The team an agent belongs to, if the user exists and has one.
pub fn team_of(conn: &mut DbConnection, user_id: i64) -> QueryResult<Option<i64>> {
    users::table
        .find(user_id)
        .select(users::team_id)
        .first::<Option<i64>>(conn)
        .optional()
        .map(Option::flatten)
}

/// Sets a user's availability and records who changed it.
pub fn set_available(
    conn: &mut DbConnection,
    user_id: i64,
    available: bool,
    changed_by: i64,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set(users::available.eq(available))
        .execute(conn)?;
    diesel::insert_into(availability_changes::table)
        .values((
            availability_changes::user_id.eq(user_id),
            availability_changes::available.eq(available),
            availability_changes::changed_by.eq(changed_by),
            availability_changes::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// `(available, changed_by, at)` of a user's latest availability changes, newest first.
pub fn availability_history(
    conn: &mut DbConnection,
    user_id: i64,
    limit: i64,
) -> QueryResult<Vec<(bool, Option<i64>, NaiveDateTime)>> {
    availability_changes::table
        .filter(availability_changes::user_id.eq(user_id))
        .order(availability_changes::id.desc())
        .limit(limit)
        .select((
            availability_changes::available,
            availability_changes::changed_by,
            availability_changes::created_at,
        ))
        .load(conn)
}

/// Members of `team` the router may give tickets to: active, available agents and supervisors,
/// with when each was last given a ticket.
pub fn candidates(conn: &mut DbConnection, team: i64) -> QueryResult<Vec<(i64, Option<NaiveDateTime>)>> {
    users::table
        .filter(users::team_id.eq(team))
        .filter(users::active.eq(true))
        .filter(users::available.eq(true))
        .filter(users::role.eq_any(super::ROUTED_ROLES))
        .order(users::id.asc())
        .select((users::id, users::last_assigned_at))
        .load(conn)
}

/// How many unresolved tickets each of `user_ids` holds (users with none are absent).
pub fn open_loads(conn: &mut DbConnection, user_ids: &[i64]) -> QueryResult<HashMap<i64, i64>> {
    let rows: Vec<(Option<i64>, i64)> = tickets::table
        .filter(tickets::assignee_id.eq_any(user_ids))
        .filter(tickets::status.eq_any(super::UNRESOLVED))
        .group_by(tickets::assignee_id)
        .select((tickets::assignee_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().filter_map(|(u, n)| u.map(|u| (u, n))).collect())
}

/// The team's unassigned, unresolved tickets, oldest first.
pub fn queue(conn: &mut DbConnection, team: i64, limit: i64) -> QueryResult<Vec<Ticket>> {
    tickets::table
        .filter(tickets::team_id.eq(team))
        .filter(tickets::assignee_id.is_null())
        .filter(tickets::status.eq_any(super::UNRESOLVED))
        .order(tickets::id.asc())
        .limit(limit)
        .select(Ticket::as_select())
        .load(conn)
}

/// Assigns the ticket only if it is still unassigned, unresolved and in `team`; true when this
/// call made the assignment. Running it twice, on one node or two, assigns once.
pub fn assign_if_unassigned(
    conn: &mut DbConnection,
    ticket: i64,
    team: i64,
    user: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        tickets::table
            .filter(tickets::id.eq(ticket))
            .filter(tickets::assignee_id.is_null())
            .filter(tickets::team_id.eq(team))
            .filter(tickets::status.eq_any(super::UNRESOLVED)),
    )
    .set((tickets::assignee_id.eq(user), tickets::updated_at.eq(now)))
    .execute(conn)
    .map(|n| n == 1)
}

/// Remembers when the router last gave `user` a ticket (the round-robin order). Manual
/// assignments do not touch the user row, so they never wait on a router's lock.
pub fn stamp_assigned(conn: &mut DbConnection, user: i64, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(users::table.find(user))
        .set(users::last_assigned_at.eq(now))
        .execute(conn)
}
