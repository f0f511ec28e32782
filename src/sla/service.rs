//! The ticket lifecycle's one call into the SLA engine per place: a ticket opened, a citizen
//! message, an agent reply, a status change, an attribute change. Each runs in the caller's
//! transaction and records what it changed as ticket events.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::calendar::Calendar;
use super::clock::{self, Basis, MET, PAUSED, RUNNING, STOPPED};
use super::policy::{self, ClockTarget, PolicySpec};
use super::repo::{self, ClockRow, NewClock, TicketPolicy};
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::tickets::model::{Actor, Ticket};
use crate::tickets::service::record_event;
use crate::tickets::status::Status;

/// Calendars by id, loaded once per operation.
#[derive(Default)]
pub struct Calendars(HashMap<i64, Calendar>);

impl Calendars {
    pub fn basis(&mut self, conn: &mut DbConnection, id: Option<i64>) -> AppResult<Basis<'_>> {
        let Some(id) = id else { return Ok(Basis(None)) };
        if let std::collections::hash_map::Entry::Vacant(slot) = self.0.entry(id) {
            match repo::calendar_by_id(conn, id) {
                Ok(row) => {
                    slot.insert(super::calendar_from_row(&row)?);
                }
                // A deleted calendar leaves its clocks on calendar time.
                Err(diesel::result::Error::NotFound) => return Ok(Basis(None)),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Basis(self.0.get(&id)))
    }

    /// The name of a calendar already loaded with [`Calendars::basis`].
    pub fn name(&self, id: i64) -> Option<String> {
        self.0.get(&id).map(|c| c.name.clone())
    }
}

/// The stored policies in order, parsed.
pub fn policies(conn: &mut DbConnection) -> AppResult<Vec<(repo::PolicyRow, PolicySpec)>> {
    repo::policies(conn)?
        .into_iter()
        .map(|row| {
            let spec = parse_spec(&row.definition, row.id)?;
            Ok((row, spec))
        })
        .collect()
}

fn parse_spec(definition: &str, id: i64) -> AppResult<PolicySpec> {
    serde_json::from_str(definition).map_err(|e| AppError::internal(format!("policy {id} definition: {e}")))
}

/// The policy version applied to a ticket.
pub fn applied(conn: &mut DbConnection, ticket_id: i64) -> AppResult<Option<(TicketPolicy, PolicySpec)>> {
    let Some(tp) = repo::ticket_policy(conn, ticket_id)? else {
        return Ok(None);
    };
    let Some(pid) = tp.policy_id else { return Ok(None) };
    match repo::policy_version(conn, pid, tp.policy_version)? {
        Some(def) => {
            let spec = parse_spec(&def, pid)?;
            Ok(Some((tp, spec)))
        }
        None => Ok(None),
    }
}

/// The first enabled policy whose conditions match the ticket and its contact's attributes (read
/// only when some policy has a contact condition: one query less per new ticket otherwise).
fn first_match(conn: &mut DbConnection, t: &Ticket) -> AppResult<Option<(repo::PolicyRow, PolicySpec)>> {
    let candidates: Vec<_> = policies(conn)?.into_iter().filter(|(_, p)| !p.disabled).collect();
    let contact = if candidates.iter().any(|(_, p)| !p.conditions.contact.is_empty()) {
        crate::contacts::repo::attributes_of(conn, t.contact_id)?
    } else {
        Default::default()
    };
    Ok(candidates.into_iter().find(|(_, p)| p.conditions.matches(t, &contact)))
}

fn new_clock(
    conn: &mut DbConnection,
    cals: &mut Calendars,
    t: &Ticket,
    row: &repo::PolicyRow,
    spec: &PolicySpec,
    target: &ClockTarget,
    at: DateTime<Utc>,
) -> AppResult<ClockRow> {
    let calendar_id = calendar_id_of(conn, target)?;
    let basis = cals.basis(conn, calendar_id)?;
    let target_secs = target_secs(basis, target, at);
    // Closing after silence is not a promise to the citizen: nothing to warn about.
    let warn = if target.kind == policy::AUTO_CLOSE {
        "[]".to_string()
    } else {
        serde_json::to_string(&spec.warn_at).unwrap_or_else(|_| "[]".into())
    };
    let paused = spec.pauses(&t.status, &target.kind);
    let mut c = ClockRow {
        id: 0,
        ticket_id: t.id,
        kind: target.kind.clone(),
        cycle: 1,
        policy_name: row.name.clone(),
        policy_version: row.version,
        calendar_id,
        target_secs,
        target_text: target.text.clone(),
        remaining_secs: target_secs,
        running_since: (!paused).then_some(at.naive_utc()),
        due_at: None,
        next_fire_at: None,
        warn_percents: warn,
        warned: 0,
        breached: false,
        state: if paused { PAUSED } else { RUNNING }.into(),
        started_at: at.naive_utc(),
        stopped_at: None,
    };
    clock::schedule(&mut c, basis);
    repo::insert_clock(
        conn,
        &NewClock {
            ticket_id: c.ticket_id,
            kind: &c.kind,
            cycle: c.cycle,
            policy_name: &c.policy_name,
            policy_version: c.policy_version,
            calendar_id: c.calendar_id,
            target_secs: c.target_secs,
            target_text: &c.target_text,
            remaining_secs: c.remaining_secs,
            running_since: c.running_since,
            due_at: c.due_at,
            next_fire_at: c.next_fire_at,
            warn_percents: &c.warn_percents,
            warned: 0,
            breached: false,
            state: &c.state,
            started_at: c.started_at,
            stopped_at: None,
        },
    )?;
    Ok(c)
}

fn calendar_id_of(conn: &mut DbConnection, target: &ClockTarget) -> AppResult<Option<i64>> {
    Ok(match &target.calendar {
        Some(name) => repo::calendar_by_name(conn, name)?.map(|c| c.id),
        None => None,
    })
}

/// Seconds of business time a target stands for; a working-day target is the business time from
/// `at` to the close of its last working day.
fn target_secs(basis: Basis, target: &ClockTarget, at: DateTime<Utc>) -> i64 {
    match (target.working_days, basis.0) {
        (Some(n), Some(cal)) => match cal.add_business_days(at, n) {
            Ok((due, _)) => basis.between(at, due),
            Err(_) => target.amount.num_seconds(),
        },
        _ => target.amount.num_seconds(),
    }
}

/// A ticket was opened: apply the first matching policy and start its clocks (next response waits
/// for a citizen message after the first reply).
pub fn on_ticket_opened(conn: &mut DbConnection, t: &Ticket, at: DateTime<Utc>) -> AppResult<()> {
    let Some((row, spec)) = first_match(conn, t)? else {
        return Ok(());
    };
    apply_policy(conn, t, &row, at)?;
    record_event(
        conn,
        t.id,
        Actor::System,
        "sla_policy_applied",
        None,
        Some(json!({ "policy": row.name, "version": row.version })),
        at,
    )?;
    let mut cals = Calendars::default();
    for target in spec.clock_targets().iter().filter(|c| c.kind != policy::NEXT_RESPONSE) {
        new_clock(conn, &mut cals, t, &row, &spec, target, at)?;
    }
    Ok(())
}

fn apply_policy(conn: &mut DbConnection, t: &Ticket, row: &repo::PolicyRow, at: DateTime<Utc>) -> AppResult<()> {
    repo::set_ticket_policy(
        conn,
        &TicketPolicy {
            ticket_id: t.id,
            policy_id: Some(row.id),
            policy_name: row.name.clone(),
            policy_version: row.version,
            applied_at: at.naive_utc(),
        },
    )?;
    Ok(())
}

/// A citizen wrote on an existing ticket: once the first response is met, the next-response clock
/// (re)starts.
pub fn on_citizen_message(conn: &mut DbConnection, t: &Ticket, at: DateTime<Utc>) -> AppResult<()> {
    let Some((tp, spec)) = applied(conn, t.id)? else {
        return Ok(());
    };
    let clocks = repo::clocks_of(conn, &[t.id])?;
    let first_met = clocks
        .iter()
        .any(|c| c.kind == policy::FIRST_RESPONSE && c.state == MET);
    if !first_met || !Status::parse(&t.status).is_some_and(Status::is_active) {
        return Ok(());
    }
    let mut cals = Calendars::default();
    match clocks.into_iter().find(|c| c.kind == policy::NEXT_RESPONSE) {
        Some(c) if c.state == RUNNING || c.state == PAUSED => {}
        Some(mut c) => {
            let basis = cals.basis(conn, c.calendar_id)?;
            clock::restart(&mut c, basis, at);
            repo::save_clock(conn, &c)?;
        }
        None => {
            let Some(target) = spec
                .clock_targets()
                .into_iter()
                .find(|c| c.kind == policy::NEXT_RESPONSE)
            else {
                return Ok(());
            };
            let Some(row) = applied_row(conn, &tp)? else {
                return Ok(());
            };
            new_clock(conn, &mut cals, t, &row, &spec, &target, at)?;
        }
    }
    Ok(())
}

/// The policy row of the version applied to a ticket: clocks belong to that version, not the newest.
fn applied_row(conn: &mut DbConnection, tp: &TicketPolicy) -> AppResult<Option<repo::PolicyRow>> {
    let Some(pid) = tp.policy_id else { return Ok(None) };
    let mut row = repo::policy(conn, pid)?;
    row.version = tp.policy_version;
    Ok(Some(row))
}

/// An agent replied to the citizen: first and next response are met; the periodic-update clock
/// starts over.
pub fn on_agent_reply(conn: &mut DbConnection, t: &Ticket, at: DateTime<Utc>) -> AppResult<()> {
    let mut cals = Calendars::default();
    for mut c in repo::clocks_of(conn, &[t.id])? {
        let basis = cals.basis(conn, c.calendar_id)?;
        match c.kind.as_str() {
            policy::FIRST_RESPONSE | policy::NEXT_RESPONSE if c.state == RUNNING || c.state == PAUSED => {
                clock::stop(&mut c, basis, at, MET);
            }
            policy::PERIODIC_UPDATE if c.state == RUNNING || c.state == PAUSED => {
                let paused = c.state == PAUSED;
                clock::restart(&mut c, basis, at);
                if paused {
                    clock::pause(&mut c, basis, at);
                }
            }
            _ => continue,
        }
        repo::save_clock(conn, &c)?;
    }
    Ok(())
}

/// A status change: resolved/closed stops the clocks (resolution met), stages are met on their
/// statuses, a reopened ticket's resolution clock runs on from where it stopped, and the policy's
/// pause rules pause or resume the rest; every pause and resume is an event with its reason.
pub fn on_status_changed(
    conn: &mut DbConnection,
    t: &Ticket,
    from: Status,
    to: Status,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let applied = applied(conn, t.id)?;
    let spec = applied.as_ref().map(|(_, s)| s);
    let mut cals = Calendars::default();
    let clocks = repo::clocks_of(conn, &[t.id])?;
    if to == Status::Resolved
        && let Some((tp, spec)) = &applied
    {
        start_auto_close(conn, &mut cals, t, tp, spec, &clocks, from, at)?;
    }
    for mut c in clocks {
        let basis = cals.basis(conn, c.calendar_id)?;
        let before = c.state.clone();
        let live = c.state == RUNNING || c.state == PAUSED;
        if c.kind == policy::AUTO_CLOSE {
            // Runs only while resolved: reopening or closing ends the silence count.
            if !live || to == Status::Resolved {
                continue;
            }
            clock::stop(&mut c, basis, at, STOPPED);
        } else if live && spec.is_some_and(|s| s.stage_met_on(&c.kind, to.as_str())) {
            clock::stop(&mut c, basis, at, MET);
        } else if live && !to.is_active() {
            let state = if c.kind == policy::RESOLUTION { MET } else { STOPPED };
            clock::stop(&mut c, basis, at, state);
        } else if c.kind == policy::RESOLUTION && c.state == MET && from == Status::Resolved && to.is_active() {
            c.state = PAUSED.into();
            c.stopped_at = None;
            clock::resume(&mut c, basis, at);
        } else if live {
            let pause = spec.is_some_and(|s| s.pauses(to.as_str(), &c.kind));
            if pause && c.state == RUNNING {
                clock::pause(&mut c, basis, at);
            } else if !pause && c.state == PAUSED {
                clock::resume(&mut c, basis, at);
            }
        }
        if c.state == before && c.state != RUNNING {
            continue;
        }
        if c.state != before {
            let kind = match c.state.as_str() {
                PAUSED => "sla_paused",
                RUNNING => "sla_resumed",
                MET => "sla_met",
                _ => "sla_stopped",
            };
            record_event(
                conn,
                t.id,
                Actor::System,
                kind,
                Some(json!({ "clock": c.kind, "state": before })),
                Some(
                    json!({ "clock": c.kind, "state": c.state, "reason": format!("status {from} → {to}"),
                    "remaining_secs": c.remaining_secs }),
                ),
                at,
            )?;
            repo::save_clock(conn, &c)?;
        }
    }
    Ok(())
}

/// A ticket was resolved under a policy that closes after the citizen's silence: the auto-close
/// clock starts (again, as a new cycle, after an earlier resolution) from this instant.
#[allow(clippy::too_many_arguments)]
fn start_auto_close(
    conn: &mut DbConnection,
    cals: &mut Calendars,
    t: &Ticket,
    tp: &TicketPolicy,
    spec: &PolicySpec,
    clocks: &[ClockRow],
    from: Status,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let Some(target) = spec.auto_close_target() else {
        return Ok(());
    };
    let existing = clocks.iter().find(|c| c.kind == policy::AUTO_CLOSE);
    if existing.is_some_and(|c| c.state == RUNNING) {
        return Ok(());
    }
    let (remaining, due) = match existing {
        Some(c) => {
            let mut c = c.clone();
            let calendar_id = calendar_id_of(conn, &target)?;
            let basis = cals.basis(conn, calendar_id)?;
            c.calendar_id = calendar_id;
            c.policy_name = tp.policy_name.clone();
            c.policy_version = tp.policy_version;
            c.target_secs = target_secs(basis, &target, at);
            c.target_text = target.text.clone();
            clock::restart(&mut c, basis, at);
            repo::save_clock(conn, &c)?;
            (c.remaining_secs, c.due_at)
        }
        None => {
            let Some(row) = applied_row(conn, tp)? else {
                return Ok(());
            };
            let c = new_clock(conn, cals, t, &row, spec, &target, at)?;
            (c.remaining_secs, c.due_at)
        }
    };
    record_event(
        conn,
        t.id,
        Actor::System,
        "sla_started",
        None,
        Some(
            json!({ "clock": policy::AUTO_CLOSE, "state": RUNNING, "target": target.text,
            "reason": format!("status {from} → resolved"), "remaining_secs": remaining,
            "due_at": due.map(crate::clock::utc) }),
        ),
        at,
    )
}

/// Is a resolved ticket still counting its policy's days of citizen silence? Then a citizen
/// message reopens it, whatever `tickets.reopen_window_hours` says.
pub fn awaiting_silence_close(conn: &mut DbConnection, ticket_id: i64) -> AppResult<bool> {
    Ok(repo::clocks_of(conn, &[ticket_id])?
        .iter()
        .any(|c| c.kind == policy::AUTO_CLOSE && c.state == RUNNING))
}

/// The auto-close clock's end: the citizen said nothing for the policy's working days since the
/// ticket was resolved, so it closes (event `auto_closed` by the system, with the reason before it).
/// Called by the timer once per clock cycle (the firing row makes it exactly once).
pub fn close_after_silence(
    ctx: &crate::context::AppContext,
    conn: &mut DbConnection,
    basis: clock::Basis,
    c: &mut ClockRow,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let mut t = crate::tickets::repo::get(conn, c.ticket_id)?;
    clock::stop(c, basis, at, MET);
    repo::save_clock(conn, c)?;
    if Status::parse(&t.status) != Some(Status::Resolved) {
        return Ok(());
    }
    record_event(
        conn,
        t.id,
        Actor::System,
        "sla_met",
        Some(json!({ "clock": c.kind, "state": RUNNING })),
        Some(
            json!({ "clock": c.kind, "state": MET, "policy": c.policy_name, "policy_version": c.policy_version,
            "reason": format!("no citizen message for {} working days since resolution", c.target_text.trim_end_matches('d')) }),
        ),
        at,
    )?;
    crate::tickets::service::change_status(ctx, conn, &mut t, Status::Closed, Actor::System, at, "auto_closed")?;
    crate::tickets::repo::save(conn, &t)?;
    Ok(())
}

/// A contact's attributes changed: the policies of the contact's unclosed tickets are evaluated
/// again (as for a ticket's own attributes); returns how many tickets changed policy.
pub fn on_contact_changed(conn: &mut DbConnection, contact_id: i64, at: DateTime<Utc>) -> AppResult<usize> {
    let mut changed = 0;
    for t in repo::unclosed_tickets_of_contact(conn, contact_id)? {
        if reevaluate(conn, &t, at, "contact attributes changed")? {
            changed += 1;
        }
    }
    Ok(changed)
}

/// Priority, category, channel or team changed: the policy is evaluated again. When another policy
/// (or a newer version) now applies, the change is an event and the clocks take its targets,
/// keeping the business time already used.
pub fn on_attributes_changed(conn: &mut DbConnection, t: &Ticket, at: DateTime<Utc>) -> AppResult<()> {
    reevaluate(conn, t, at, "ticket attributes changed")?;
    Ok(())
}

/// Evaluates the policies for `t` again; `true` when another policy or version now applies (an
/// `sla_policy_changed` event with `reason`).
fn reevaluate(conn: &mut DbConnection, t: &Ticket, at: DateTime<Utc>, reason: &str) -> AppResult<bool> {
    let current = repo::ticket_policy(conn, t.id)?;
    let next = first_match(conn, t)?;
    let same = match (&current, &next) {
        (Some(c), Some((row, _))) => c.policy_id == Some(row.id) && c.policy_version == row.version,
        (None, None) => true,
        _ => false,
    };
    if same {
        return Ok(false);
    }
    record_event(
        conn,
        t.id,
        Actor::System,
        "sla_policy_changed",
        current
            .as_ref()
            .map(|c| json!({ "policy": c.policy_name, "version": c.policy_version })),
        Some(match &next {
            Some((r, _)) => json!({ "policy": r.name, "version": r.version, "reason": reason }),
            None => json!({ "policy": null, "reason": reason }),
        }),
        at,
    )?;
    let mut cals = Calendars::default();
    let clocks = repo::clocks_of(conn, &[t.id])?;
    let Some((row, spec)) = next else {
        for mut c in clocks {
            let basis = cals.basis(conn, c.calendar_id)?;
            clock::stop(&mut c, basis, at, STOPPED);
            repo::save_clock(conn, &c)?;
        }
        return Ok(true);
    };
    apply_policy(conn, t, &row, at)?;
    let mut targets = spec.clock_targets();
    targets.extend(spec.auto_close_target());
    let resolved = Status::parse(&t.status) == Some(Status::Resolved);
    let warn = serde_json::to_string(&spec.warn_at).unwrap_or_else(|_| "[]".into());
    for mut c in clocks.iter().cloned() {
        let old_basis_remaining = {
            let basis = cals.basis(conn, c.calendar_id)?;
            clock::remaining(&c, basis, at)
        };
        let used = c.target_secs - old_basis_remaining;
        match targets.iter().find(|x| x.kind == c.kind) {
            // The silence count only runs while resolved; a stopped one stays stopped.
            Some(target) if target.kind != policy::AUTO_CLOSE || c.state == RUNNING => {
                let calendar_id = calendar_id_of(conn, target)?;
                let basis = cals.basis(conn, calendar_id)?;
                // Working days count from the clock's own start, not from now.
                let total = target_secs(basis, target, crate::clock::utc(c.started_at));
                c.policy_name = row.name.clone();
                c.policy_version = row.version;
                c.calendar_id = calendar_id;
                c.target_secs = total;
                c.target_text = target.text.clone();
                if c.kind != policy::AUTO_CLOSE {
                    c.warn_percents = warn.clone();
                }
                c.remaining_secs = total - used;
                if c.state == RUNNING {
                    c.running_since = Some(at.naive_utc());
                }
                clock::schedule(&mut c, basis);
            }
            _ => {
                let basis = cals.basis(conn, c.calendar_id)?;
                clock::stop(&mut c, basis, at, STOPPED);
            }
        }
        repo::save_clock(conn, &c)?;
    }
    let active = Status::parse(&t.status).is_some_and(Status::is_active);
    for target in targets.iter().filter(|x| x.kind != policy::NEXT_RESPONSE) {
        let wanted = if target.kind == policy::AUTO_CLOSE {
            resolved
        } else {
            active
        };
        if wanted && !clocks.iter().any(|c| c.kind == target.kind) {
            new_clock(conn, &mut cals, t, &row, &spec, target, at)?;
        }
    }
    Ok(true)
}
