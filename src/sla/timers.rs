//! The SLA timer: fires each clock's warnings and breach exactly once, at their instants.
//!
//! Each clock carries `next_fire_at` (indexed); a scan claims the clocks whose instant has passed
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single writer on SQLite), records the firing as a
//! unique `(clock, cycle, kind)` row, and in the same transaction writes the notifications, the
//! ticket event, the outgoing webhook jobs and the escalation actions. Between scans the loop
//! sleeps until the earliest `next_fire_at`, woken early by writes in this process.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::sync::watch;

use super::clock::{self, Basis};
use super::policy::Action;
use super::repo::{self, ClockRow};
use super::service::{Calendars, applied};
use crate::context::AppContext;
use crate::db::DbConnection;
use crate::error::AppResult;
use crate::jobs::webhooks;
use crate::tickets::model::{Actor, Priority};
use crate::tickets::service::{record_event, ticket_summary};

/// What one scan did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanReport {
    pub claimed: usize,
    pub fired: usize,
}

/// Claims and fires one batch of due clocks as of the context clock's now.
pub async fn scan_once(ctx: &AppContext, worker: &str) -> AppResult<ScanReport> {
    let ctx2 = ctx.clone();
    let worker = worker.to_string();
    ctx.write(move |conn| {
        let now = ctx2.clock.now();
        scan_in_tx(&ctx2, conn, now, &worker)
    })
    .await
}

/// The body of a scan, inside the caller's write transaction (benchmarks call it directly).
pub fn scan_in_tx(
    ctx: &AppContext,
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    worker: &str,
) -> AppResult<ScanReport> {
    let due = repo::claim_due(conn, now.naive_utc(), ctx.settings.sla.batch_size as i64)?;
    let mut report = ScanReport {
        claimed: due.len(),
        fired: 0,
    };
    let mut cals = Calendars::default();
    for mut c in due {
        let basis = cals.basis(conn, c.calendar_id)?;
        if fire(ctx, conn, basis, &mut c, now, worker)? {
            report.fired += 1;
        }
        let basis = cals.basis(conn, c.calendar_id)?;
        clock::schedule(&mut c, basis);
        repo::save_clock(conn, &c)?;
    }
    Ok(report)
}

/// Fires what is due on one clock; `false` when nothing was (a changed clock) or another worker
/// already fired it.
fn fire(
    ctx: &AppContext,
    conn: &mut DbConnection,
    basis: Basis,
    c: &mut ClockRow,
    now: DateTime<Utc>,
    worker: &str,
) -> AppResult<bool> {
    let Some((at, due_at)) = clock::due_firing(c, basis, now) else {
        return Ok(false);
    };
    if c.kind == super::policy::AUTO_CLOSE {
        // No warnings; at its end the resolved ticket closes, once per cycle.
        if at != "breach"
            || repo::insert_firing(
                conn,
                c.id,
                c.cycle,
                "close",
                due_at.naive_utc(),
                now.naive_utc(),
                worker,
            )?
            .is_none()
        {
            return Ok(false);
        }
        log::info!(
            "ticket {} auto-closed by {worker} after its silence period",
            c.ticket_id
        );
        super::service::close_after_silence(ctx, conn, basis, c, now)?;
        return Ok(true);
    }
    let breach = at == "breach";
    // Mark everything up to this point fired, so the next instant is the following threshold.
    if breach {
        c.breached = true;
        c.warned = clock::warn_percents(c).into_iter().max().unwrap_or(0).max(c.warned);
    } else {
        c.warned = at.trim_end_matches('%').parse().unwrap_or(c.warned);
    }
    let kind = if breach {
        "breach".to_string()
    } else {
        format!("warning:{at}")
    };
    let Some(firing_id) = repo::insert_firing(conn, c.id, c.cycle, &kind, due_at.naive_utc(), now.naive_utc(), worker)?
    else {
        return Ok(false);
    };
    let mut t = crate::tickets::repo::get(conn, c.ticket_id)?;
    let remaining = clock::remaining(c, basis, now);
    let lateness_ms = (now - due_at).num_milliseconds();
    log::info!(
        "ticket {} clock {} ({}) {kind} due {due_at} fired by {worker} ({lateness_ms} ms late)",
        t.id,
        c.id,
        c.kind
    );
    let detail = json!({ "clock": c.kind, "cycle": c.cycle, "at": at, "due_at": due_at, "target": c.target_text,
        "remaining_secs": remaining, "policy": c.policy_name, "policy_version": c.policy_version });
    let event = if breach { "sla_breached" } else { "sla_warning" };
    record_event(conn, t.id, Actor::System, event, None, Some(detail.clone()), now)?;
    let hook = if breach { "sla.breached" } else { "sla.warning" };
    webhooks::emit(
        conn,
        &ctx.settings,
        hook,
        json!({ "ticket": ticket_summary(&t), "sla": detail }),
        now,
    )?;
    let steps = match applied(conn, t.id)? {
        Some((_, spec)) => spec.actions_at(&at),
        None => super::policy::PolicySpec::default_actions(&at),
    };
    let body = format!(
        "Tiket {} — {} {}: {}",
        t.number,
        c.kind,
        if breach { "melewati SLA" } else { "mendekati SLA" },
        if breach { "100%".to_string() } else { at.clone() }
    );
    let mut notified: Vec<i64> = Vec::new();
    let mut changed = false;
    for step in steps {
        match step.action {
            Action::NotifyAssignee => notified.extend(t.assignee_id),
            Action::NotifySupervisors => {
                if let Some(team) = t.team_id {
                    for (uid, email) in repo::team_supervisors(conn, team)? {
                        notified.push(uid);
                        let subject = format!("[SLA] {body}");
                        let message_id = super::mail::message_id(ctx, &t.number, firing_id, uid);
                        let text = mail_body(&t, &detail, ctx);
                        super::mail::enqueue(ctx, conn, &email, &message_id, &subject, &text, now)?;
                    }
                }
            }
            Action::RaisePriority => {
                let next = match Priority::parse(&t.priority) {
                    Some(Priority::Low) => Some(Priority::Normal),
                    Some(Priority::Normal) => Some(Priority::High),
                    Some(Priority::High) => Some(Priority::Urgent),
                    _ => None,
                };
                if let Some(p) = next {
                    record_event(
                        conn,
                        t.id,
                        Actor::System,
                        "priority_changed",
                        Some(json!(t.priority)),
                        Some(json!(p)),
                        now,
                    )?;
                    t.priority = p.as_str().into();
                    changed = true;
                }
            }
            Action::Reassign => {
                if let Some(uid) = step.user_id.filter(|u| Some(*u) != t.assignee_id)
                    && crate::auth::repo::get_user(conn, uid).is_ok_and(|u| u.active)
                {
                    record_event(
                        conn,
                        t.id,
                        Actor::System,
                        "assignee_changed",
                        Some(json!(t.assignee_id)),
                        Some(json!(uid)),
                        now,
                    )?;
                    t.assignee_id = Some(uid);
                    crate::tickets::repo::set_assignee(conn, t.id, Some(uid))?;
                    notified.push(uid);
                    changed = true;
                }
            }
        }
    }
    notified.sort_unstable();
    notified.dedup();
    for uid in notified {
        repo::insert_notification(conn, uid, t.id, firing_id, hook, &body, now.naive_utc())?;
    }
    if changed {
        t.updated_at = now.naive_utc();
        crate::tickets::repo::save(conn, &t)?;
    }
    Ok(true)
}

/// The supervisor's mail: what fired, and where to look.
fn mail_body(t: &crate::tickets::model::Ticket, detail: &serde_json::Value, ctx: &AppContext) -> String {
    format!(
        "Tiket {} \"{}\"\nJam SLA: {}\nTarget: {}\nJatuh tempo: {}\nSisa waktu kerja (detik): {}\nKebijakan: {} v{}\n\n{}/api/v1/tickets/{}\n",
        t.number,
        t.subject,
        detail["clock"].as_str().unwrap_or_default(),
        detail["target"].as_str().unwrap_or_default(),
        detail["due_at"].as_str().unwrap_or_default(),
        detail["remaining_secs"],
        detail["policy"].as_str().unwrap_or_default(),
        detail["policy_version"],
        ctx.settings.public_base(),
        t.id
    )
}

/// The timer loop: scan, then sleep until the earliest due clock (at most `sla.max_sleep_ms`), a
/// write in this process, or shutdown.
pub async fn run(ctx: AppContext, mut shutdown: watch::Receiver<bool>) {
    let worker = crate::jobs::runner::worker_id();
    let cap = StdDuration::from_millis(ctx.settings.sla.max_sleep_ms);
    log::info!("SLA timer {worker} started");
    while !*shutdown.borrow() {
        let full = match scan_once(&ctx, &worker).await {
            Ok(r) => r.claimed >= ctx.settings.sla.batch_size as usize,
            Err(e) => {
                log::warn!("SLA timer {worker}: {e}");
                false
            }
        };
        if full {
            continue;
        }
        let next = ctx
            .db
            .read(|conn| repo::next_due(conn).map_err(crate::error::AppError::from))
            .await
            .unwrap_or(None);
        let wait = match next {
            Some(at) => (crate::clock::utc(at) - ctx.clock.now())
                .to_std()
                .unwrap_or(StdDuration::ZERO)
                .min(cap),
            None => cap,
        };
        if wait.is_zero() {
            continue;
        }
        tokio::select! {
            _ = ctx.sla_wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => {}
        }
    }
    log::info!("SLA timer {worker} stopped");
}
