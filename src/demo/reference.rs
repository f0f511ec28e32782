//! Teams, categories and staff of the demo set: reused when they exist, created otherwise.

use std::collections::BTreeMap;

use super::data;
use crate::admin;
use crate::auth;
use crate::context::AppContext;
use crate::error::AppResult;

/// What the tickets refer to, and how much of it this run created: `(total, new)` pairs.
pub struct Reference {
    pub teams: (usize, usize),
    /// `(id, team id)` in the order of `data::TOPICS`.
    pub categories: Vec<(i64, Option<i64>)>,
    pub new_categories: usize,
    pub supervisor: i64,
    /// Active agents: (user id, first name, team id).
    pub agents: Vec<(i64, String, Option<i64>)>,
    pub staff: (usize, usize),
}

pub fn ensure_reference(ctx: &AppContext) -> AppResult<Reference> {
    let now = ctx.clock.now_naive();
    ctx.write_blocking(|conn| {
        let existing = admin::repo::list_teams(conn)?;
        let mut teams = BTreeMap::new();
        let mut new_teams = 0;
        for (name, description) in data::TEAMS {
            let id = match existing.iter().find(|t| t.name == *name) {
                Some(t) => t.id,
                None => {
                    new_teams += 1;
                    admin::repo::insert_team(conn, name, description, now)?.id
                }
            };
            teams.insert(*name, id);
        }
        let existing = admin::repo::list_categories(conn)?;
        let mut categories = Vec::new();
        let mut new_categories = 0;
        for topic in data::TOPICS {
            let cat = match existing.iter().find(|c| c.name == topic.category) {
                Some(c) => (c.id, c.team_id),
                None => {
                    new_categories += 1;
                    let c = admin::repo::insert_category(conn, topic.category, teams.get(topic.team).copied(), now)?;
                    (c.id, c.team_id)
                }
            };
            categories.push(cat);
        }
        let (mut supervisor, mut agents, mut new_staff) = (None, Vec::new(), 0);
        for (name, local, role, team) in data::STAFF {
            let email = format!("{local}@{}", data::STAFF_DOMAIN);
            let user = match auth::repo::find_user_by_email(conn, &email)? {
                Some(u) => u,
                None => {
                    new_staff += 1;
                    let new = auth::repo::NewUser {
                        email: &email,
                        name,
                        role,
                        // Demo staff cannot log in; create your own login with `tanggap user add`.
                        password_hash: None,
                        team_id: teams.get(team).copied(),
                    };
                    auth::repo::insert_user(conn, &new, now)?
                }
            };
            if *role == "supervisor" {
                supervisor.get_or_insert(user.id);
            } else if user.active {
                let first = name.split(' ').next().unwrap_or(name).to_string();
                agents.push((user.id, first, user.team_id));
            }
        }
        let supervisor = supervisor.or(agents.first().map(|a| a.0)).unwrap_or_default();
        Ok(Reference {
            teams: (data::TEAMS.len(), new_teams),
            categories,
            new_categories,
            supervisor,
            agents,
            staff: (data::STAFF.len(), new_staff),
        })
    })
}
