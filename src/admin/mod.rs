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
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = categories)]
pub struct Category {
    pub id: i64,
    pub name: String,
    pub team_id: Option<i64>,
    pub created_at: NaiveDateTime,
}
