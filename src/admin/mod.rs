//! Reference data managed by admins: teams and categories.

pub mod repo;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{categories, teams};

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = teams)]
pub struct Team {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub created_at: NaiveDateTime,
    /// The router assigns this team's unassigned tickets to its available agents.
    pub auto_assign: bool,
    /// The most open tickets (new, open, pending, on hold) the router gives one agent.
    pub max_open_per_agent: i32,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = categories)]
pub struct Category {
    pub id: i64,
    pub name: String,
    pub team_id: Option<i64>,
    pub created_at: NaiveDateTime,
}
