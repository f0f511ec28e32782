//! Team and category SQL.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Category, Team};
use crate::db::DbConnection;
use crate::db::schema::{categories, teams};

pub fn insert_team(conn: &mut DbConnection, name: &str, description: &str, now: NaiveDateTime) -> QueryResult<Team> {
    crate::dispatch!(conn, c => diesel::insert_into(teams::table)
        .values((teams::name.eq(name), teams::description.eq(description), teams::created_at.eq(now)))
        .returning(Team::as_returning())
        .get_result(c))
}

pub fn get_team(conn: &mut DbConnection, id: i64) -> QueryResult<Team> {
    teams::table.find(id).select(Team::as_select()).first(conn)
}

pub fn list_teams(conn: &mut DbConnection) -> QueryResult<Vec<Team>> {
    teams::table
        .order(teams::name.asc())
        .select(Team::as_select())
        .load(conn)
}

pub fn insert_category(
    conn: &mut DbConnection,
    name: &str,
    team_id: Option<i64>,
    now: NaiveDateTime,
) -> QueryResult<Category> {
    crate::dispatch!(conn, c => diesel::insert_into(categories::table)
        .values((categories::name.eq(name), categories::team_id.eq(team_id), categories::created_at.eq(now)))
        .returning(Category::as_returning())
        .get_result(c))
}

pub fn get_category(conn: &mut DbConnection, id: i64) -> QueryResult<Category> {
    categories::table.find(id).select(Category::as_select()).first(conn)
}

/// The team a category routes to, if any. A missing category is `NotFound`.
pub fn category_team(conn: &mut DbConnection, id: i64) -> QueryResult<Option<i64>> {
    categories::table.find(id).select(categories::team_id).first(conn)
}

pub fn list_categories(conn: &mut DbConnection) -> QueryResult<Vec<Category>> {
    categories::table
        .order(categories::name.asc())
        .select(Category::as_select())
        .load(conn)
}
