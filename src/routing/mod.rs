//! Automatic assignment ("routing"): a team with `auto_assign` has its unassigned tickets given to
//! its members by a job, never by the request that caused it.
//!
//! Rules (also in docs/architecture.md):
//! * **Who can receive**: members of the ticket's team (`users.team_id`) with role agent or
//!   supervisor who are active and available. Availability is off until the user turns it on.
//! * **Who gets it**: the candidate with the fewest unresolved tickets (new, open, pending,
//!   on hold; across all teams), among those under the team's `max_open_per_agent`; ties go to the
//!   one the router gave a ticket least recently (never first), then the lowest id — round robin.
//! * **When**: a `route_ticket` job is enqueued, in the transaction of the change, when an
//!   unresolved ticket of an auto-assigning team is unassigned: on creation (every channel goes
//!   through `open_ticket`), when its team changes, when it is unassigned, when it is reopened.
//!   A `route_team` job fills the team's free room with its oldest unassigned tickets when room
//!   appears: a member becomes available, a member's ticket is resolved, closed or reassigned,
//!   the team turns `auto_assign` on or raises `max_open_per_agent`.
//! * **Exactly once**: the assignment is a conditional update (still unassigned, unresolved and in
//!   the team); the audit event, the round-robin stamp and the `ticket.assigned` webhook are
//!   written only when it hit the row. On PostgreSQL the job locks the team row first, so routers
//!   on several nodes pick for one team one at a time and never overfill an agent.
//! * When nobody has room the ticket stays unassigned in the team's queue. Manual assignment is
//!   never undone by the router and may exceed the cap.

pub mod repo;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::OptionalExtension;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::admin::Team;
use crate::auth::User;
use crate::context::AppContext;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::jobs::webhooks;
use crate::jobs::{JobFailure, KIND_ROUTE_TEAM, KIND_ROUTE_TICKET};
use crate::tickets::model::{Actor, Ticket};
use crate::tickets::service::{record_event, ticket_summary};
use crate::tickets::status::Status;

/// Statuses that count towards an agent's load and that the router assigns.
pub const UNRESOLVED: [&str; 4] = ["new", "open", "pending", "on_hold"];
/// Roles the router gives tickets to (when available).
pub const ROUTED_ROLES: [&str; 2] = ["agent", "supervisor"];
/// The most tickets one `route_team` job assigns; a fuller queue gets another job.
const TEAM_BATCH: i64 = 200;
/// The cap an admin may set per agent.
pub const MAX_OPEN_LIMIT: i32 = 1000;

pub fn is_unresolved(status: &str) -> bool {
    UNRESOLVED.contains(&status)
}

/// One candidate and the unresolved tickets they hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agent {
    pub id: i64,
    pub load: i64,
    pub last_assigned_at: Option<NaiveDateTime>,
}

/// A team's candidates and its cap, updated as the router hands out tickets.
#[derive(Debug)]
pub struct Roster {
    agents: Vec<Agent>,
    max: i64,
}

impl Roster {
    pub fn new(agents: Vec<Agent>, max_open_per_agent: i32) -> Roster {
        Roster {
            agents,
            max: i64::from(max_open_per_agent),
        }
    }

    /// How many more tickets the team's candidates can take.
    pub fn room(&self) -> i64 {
        self.agents.iter().map(|a| (self.max - a.load).max(0)).sum()
    }

    /// The least loaded candidate under the cap; on a tie the one given a ticket least recently
    /// (never given one first), then the lowest id.
    pub fn pick(&self) -> Option<i64> {
        self.agents
            .iter()
            .filter(|a| a.load < self.max)
            .min_by_key(|a| (a.load, a.last_assigned_at, a.id))
            .map(|a| a.id)
    }

    pub fn took(&mut self, id: i64, at: NaiveDateTime) {
        if let Some(a) = self.agents.iter_mut().find(|a| a.id == id) {
            a.load += 1;
            a.last_assigned_at = Some(at);
        }
    }
}

fn roster(conn: &mut DbConnection, team: &Team) -> AppResult<Roster> {
    let candidates = repo::candidates(conn, team.id)?;
    let ids: Vec<i64> = candidates.iter().map(|(id, _)| *id).collect();
    let loads = repo::open_loads(conn, &ids)?;
    let agents = candidates
        .into_iter()
        .map(|(id, last_assigned_at)| Agent {
            id,
            load: loads.get(&id).copied().unwrap_or(0),
            last_assigned_at,
        })
        .collect();
    Ok(Roster::new(agents, team.max_open_per_agent))
}

/// Records a change of assignee, manual or automatic: the `assignee_changed` audit event and the
/// `ticket.assigned` webhook. `t` already carries the new assignee; `before` is the previous one.
pub fn record_assignment(
    ctx: &AppContext,
    conn: &mut DbConnection,
    t: &Ticket,
    before: Option<i64>,
    actor: Actor,
    at: DateTime<Utc>,
) -> AppResult<()> {
    record_event(
        conn,
        t.id,
        actor,
        "assignee_changed",
        Some(json!(before)),
        Some(json!(t.assignee_id)),
        at,
    )?;
    let by = match actor {
        Actor::System => "router",
        _ => "user",
    };
    webhooks::emit(
        conn,
        &ctx.settings,
        "ticket.assigned",
        json!({ "ticket": ticket_summary(t), "from": before, "to": t.assignee_id, "by": by }),
        at,
    )?;
    Ok(())
}

/// Gives `tickets` (oldest first) of `team`, locked by the caller, to its candidates while
/// someone has room. Returns how many this call assigned.
fn assign_all(
    ctx: &AppContext,
    conn: &mut DbConnection,
    team: &Team,
    roster: &mut Roster,
    tickets: Vec<Ticket>,
    at: DateTime<Utc>,
) -> AppResult<usize> {
    let now = at.naive_utc();
    let mut assigned = 0;
    for mut t in tickets {
        let Some(agent) = roster.pick() else { break };
        if !repo::assign_if_unassigned(conn, t.id, team.id, agent, now)? {
            continue;
        }
        roster.took(agent, now);
        repo::stamp_assigned(conn, agent, now)?;
        t.assignee_id = Some(agent);
        t.updated_at = now;
        record_assignment(ctx, conn, &t, None, Actor::System, at)?;
        log::info!("ticket {} routed to user {agent} (team {})", t.id, team.id);
        assigned += 1;
    }
    Ok(assigned)
}

/// Routes one ticket if it is still unassigned and unresolved in an auto-assigning team.
/// Returns whether this call assigned it.
pub fn route_ticket(ctx: &AppContext, conn: &mut DbConnection, ticket_id: i64) -> AppResult<bool> {
    let Some(team_id) = crate::tickets::repo::get(conn, ticket_id)
        .optional()?
        .and_then(|t| t.team_id)
    else {
        return Ok(false);
    };
    let Some(team) = repo::lock_team(conn, team_id)?.filter(|t| t.auto_assign) else {
        return Ok(false);
    };
    // Read again under the team lock: another router may have just assigned it.
    let t = crate::tickets::repo::get(conn, ticket_id)?;
    if t.assignee_id.is_some() || t.team_id != Some(team.id) || !is_unresolved(&t.status) {
        return Ok(false);
    }
    let mut roster = roster(conn, &team)?;
    Ok(assign_all(ctx, conn, &team, &mut roster, vec![t], ctx.clock.now())? == 1)
}

/// Fills a team's free room with its oldest unassigned tickets. Returns how many were assigned.
pub fn route_team(ctx: &AppContext, conn: &mut DbConnection, team_id: i64) -> AppResult<usize> {
    let Some(team) = repo::lock_team(conn, team_id)?.filter(|t| t.auto_assign) else {
        return Ok(0);
    };
    let mut roster = roster(conn, &team)?;
    let room = roster.room().min(TEAM_BATCH);
    if room == 0 {
        return Ok(0);
    }
    let queue = repo::queue(conn, team.id, room)?;
    let full_batch = queue.len() as i64 == TEAM_BATCH;
    let at = ctx.clock.now();
    let assigned = assign_all(ctx, conn, &team, &mut roster, queue, at)?;
    if full_batch && roster.room() > 0 {
        enqueue_team(ctx, conn, team.id, at)?;
    }
    Ok(assigned)
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct RouteTicketJob {
    ticket_id: i64,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct RouteTeamJob {
    team_id: i64,
}

fn enqueue_team(ctx: &AppContext, conn: &mut DbConnection, team_id: i64, at: DateTime<Utc>) -> AppResult<()> {
    crate::jobs::enqueue(conn, &ctx.settings, KIND_ROUTE_TEAM, &RouteTeamJob { team_id }, at)?;
    Ok(())
}

fn auto_assigns(conn: &mut DbConnection, team: i64) -> AppResult<bool> {
    Ok(repo::team_settings(conn, team)?.is_some_and(|s| s.auto_assign))
}

/// An unresolved ticket sits unassigned in a team (just opened, moved, unassigned or reopened):
/// route it if the team auto-assigns. Call inside the transaction of the change.
pub fn on_unassigned(ctx: &AppContext, conn: &mut DbConnection, t: &Ticket, at: DateTime<Utc>) -> AppResult<()> {
    if t.assignee_id.is_some() || !is_unresolved(&t.status) {
        return Ok(());
    }
    let Some(team) = t.team_id else { return Ok(()) };
    if auto_assigns(conn, team)? {
        crate::jobs::enqueue(
            conn,
            &ctx.settings,
            KIND_ROUTE_TICKET,
            &RouteTicketJob { ticket_id: t.id },
            at,
        )?;
    }
    Ok(())
}

/// `user` holds one unresolved ticket fewer: fill the room from their team's queue.
pub fn on_load_freed(ctx: &AppContext, conn: &mut DbConnection, user: i64, at: DateTime<Utc>) -> AppResult<()> {
    if let Some(team) = repo::team_of(conn, user)?
        && auto_assigns(conn, team)?
    {
        enqueue_team(ctx, conn, team, at)?;
    }
    Ok(())
}

/// A ticket changed status: a resolved or closed ticket frees room for its assignee; a reopened
/// unassigned one is routed.
pub fn on_status_changed(
    ctx: &AppContext,
    conn: &mut DbConnection,
    t: &Ticket,
    from: Status,
    to: Status,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let (was, is) = (is_unresolved(from.as_str()), is_unresolved(to.as_str()));
    match t.assignee_id {
        Some(user) if was && !is => on_load_freed(ctx, conn, user, at),
        None if is && !was => on_unassigned(ctx, conn, t, at),
        _ => Ok(()),
    }
}

/// Sets whether `user_id` takes tickets from the router, recording who changed it; becoming
/// available fills their team's queue.
pub fn set_availability(
    ctx: &AppContext,
    conn: &mut DbConnection,
    user_id: i64,
    available: bool,
    changed_by: i64,
) -> AppResult<User> {
    let mut user = crate::auth::repo::get_user(conn, user_id)?;
    if user.available == available {
        return Ok(user);
    }
    let at = ctx.clock.now();
    repo::set_available(conn, user_id, available, changed_by, at.naive_utc())?;
    user.available = available;
    if available
        && user.active
        && let Some(team) = user.team_id
        && auto_assigns(conn, team)?
    {
        enqueue_team(ctx, conn, team, at)?;
    }
    Ok(user)
}

/// What an admin may change on a team.
#[derive(Clone, Debug, Default)]
pub struct TeamPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub auto_assign: Option<bool>,
    /// 1 to [`MAX_OPEN_LIMIT`].
    pub max_open_per_agent: Option<i64>,
}

/// Applies `patch`; turning `auto_assign` on or raising the cap routes the team's queue.
pub fn update_team(ctx: &AppContext, conn: &mut DbConnection, id: i64, patch: &TeamPatch) -> AppResult<Team> {
    let before = crate::admin::repo::get_team(conn, id)?;
    let mut team = before.clone();
    if let Some(name) = &patch.name {
        team.name = name.clone();
    }
    if let Some(description) = &patch.description {
        team.description = description.clone();
    }
    team.auto_assign = patch.auto_assign.unwrap_or(team.auto_assign);
    if let Some(n) = patch.max_open_per_agent {
        team.max_open_per_agent = i32::try_from(n)
            .ok()
            .filter(|n| (1..=MAX_OPEN_LIMIT).contains(n))
            .ok_or_else(|| AppError::field("max_open_per_agent", format!("must be between 1 and {MAX_OPEN_LIMIT}")))?;
    }
    let settings = repo::TeamSettings {
        auto_assign: team.auto_assign,
        max_open_per_agent: team.max_open_per_agent,
    };
    repo::update_team(conn, id, &team.name, &team.description, settings).map_err(|e| AppError::taken(e, "name"))?;
    if team.auto_assign && (!before.auto_assign || team.max_open_per_agent > before.max_open_per_agent) {
        enqueue_team(ctx, conn, id, ctx.clock.now())?;
    }
    Ok(team)
}

fn unreadable(e: serde_json::Error) -> JobFailure {
    JobFailure::Permanent(format!("unreadable routing payload: {e}"))
}

/// The `route_ticket` job.
pub async fn run_ticket_job(ctx: &AppContext, payload: &str) -> Result<(), JobFailure> {
    let job: RouteTicketJob = serde_json::from_str(payload).map_err(unreadable)?;
    let ctx2 = ctx.clone();
    ctx.write(move |conn| route_ticket(&ctx2, conn, job.ticket_id))
        .await
        .map(|_| ())
        .map_err(|e| JobFailure::Retry(format!("routing ticket {}: {e}", job.ticket_id)))
}

/// The `route_team` job.
pub async fn run_team_job(ctx: &AppContext, payload: &str) -> Result<(), JobFailure> {
    let job: RouteTeamJob = serde_json::from_str(payload).map_err(unreadable)?;
    let ctx2 = ctx.clone();
    ctx.write(move |conn| route_team(&ctx2, conn, job.team_id))
        .await
        .map(|_| ())
        .map_err(|e| JobFailure::Retry(format!("routing team {}: {e}", job.team_id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(min: u32) -> Option<NaiveDateTime> {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1).and_then(|d| d.and_hms_opt(8, min, 0))
    }

    fn agent(id: i64, load: i64, last: Option<NaiveDateTime>) -> Agent {
        Agent {
            id,
            load,
            last_assigned_at: last,
        }
    }

    #[test]
    fn least_loaded_wins() {
        let r = Roster::new(vec![agent(1, 3, None), agent(2, 1, at(5)), agent(3, 2, None)], 25);
        assert_eq!(r.pick(), Some(2));
    }

    #[test]
    fn ties_go_round_robin() {
        let mut r = Roster::new(vec![agent(1, 0, at(9)), agent(2, 0, at(3)), agent(3, 0, at(7))], 25);
        let mut order = Vec::new();
        for minute in 10..16 {
            let id = r.pick().expect("room");
            order.push(id);
            r.took(id, at(minute).expect("time"));
        }
        assert_eq!(order, [2, 3, 1, 2, 3, 1]);
        // Never given a ticket goes first, then the lowest id.
        let r = Roster::new(vec![agent(4, 0, at(1)), agent(6, 0, None), agent(5, 0, None)], 25);
        assert_eq!(r.pick(), Some(5));
    }

    #[test]
    fn the_cap_is_respected() {
        let mut r = Roster::new(vec![agent(1, 2, None), agent(2, 1, None)], 2);
        assert_eq!(r.room(), 1);
        assert_eq!(r.pick(), Some(2));
        r.took(2, at(0).expect("time"));
        assert_eq!(r.room(), 0);
        assert_eq!(r.pick(), None);
        // Over the cap (manual assignment) counts as no room, not negative room.
        let r = Roster::new(vec![agent(1, 9, None), agent(2, 0, None)], 2);
        assert_eq!(r.room(), 2);
        assert_eq!(Roster::new(Vec::new(), 5).pick(), None);
    }
}
