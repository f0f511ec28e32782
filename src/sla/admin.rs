//! Calendar and policy management behind the API: validation against the database, versioning,
//! and the JSON shapes returned.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::import::CalendarSpec;
use super::policy::PolicySpec;
use super::repo;
use super::service::Calendars;
use crate::clock::utc;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};

/// `"field: message"` from the validators as a 422 on that field.
pub fn invalid(message: String) -> AppError {
    match message.split_once(": ") {
        Some((field, m)) if !field.contains(' ') => AppError::field(field, m),
        _ => AppError::BadRequest(message),
    }
}

pub fn calendar_json(row: &repo::CalendarRow) -> AppResult<Value> {
    let cal = super::calendar_from_row(row)?;
    let spec = CalendarSpec::of(&cal);
    Ok(
        json!({ "id": row.id, "name": spec.name, "timezone": spec.timezone, "hours": spec.hours,
        "holidays": spec.holidays, "created_at": utc(row.created_at), "updated_at": utc(row.updated_at) }),
    )
}

/// Stores a calendar from the API (replacing one of the same name); returns (created, json).
pub fn put_calendar(conn: &mut DbConnection, spec: &CalendarSpec, now: DateTime<Utc>) -> AppResult<(bool, Value)> {
    let cal = spec.build(None).map_err(invalid)?;
    let (id, replaced) = super::store_calendar(conn, &cal, now.naive_utc())?;
    Ok((!replaced, calendar_json(&repo::calendar_by_id(conn, id)?)?))
}

/// Deletes a calendar no policy names.
pub fn delete_calendar(conn: &mut DbConnection, id: i64) -> AppResult<()> {
    let row = repo::calendar_by_id(conn, id)?;
    let users: Vec<String> = super::service::policies(conn)?
        .into_iter()
        .filter(|(_, p)| p.calendars().contains(&row.name.as_str()))
        .map(|(r, _)| r.name)
        .collect();
    if !users.is_empty() {
        return Err(AppError::Conflict {
            code: "calendar_in_use",
            message: format!("policies {} use calendar {}", users.join(", "), row.name),
            extra: Some(json!({ "policies": users })),
        });
    }
    repo::delete_calendar(conn, id)?;
    Ok(())
}

pub fn policy_json(row: &repo::PolicyRow) -> AppResult<Value> {
    let mut v: Value =
        serde_json::from_str(&row.definition).map_err(|e| AppError::internal(format!("policy {}: {e}", row.id)))?;
    v["id"] = json!(row.id);
    v["version"] = json!(row.version);
    v["position"] = json!(row.position);
    v["updated_at"] = json!(utc(row.updated_at));
    Ok(v)
}

fn checked(conn: &mut DbConnection, spec: &PolicySpec) -> AppResult<(PolicySpec, String)> {
    let mut spec = spec.clone();
    spec.validate().map_err(invalid)?;
    let mut cals = Calendars::default();
    for name in spec.calendars() {
        let row = repo::calendar_by_name(conn, name)?
            .ok_or_else(|| AppError::field("calendar", format!("no calendar named `{name}`")))?;
        cals.basis(conn, Some(row.id))?;
    }
    let definition = serde_json::to_string(&spec).map_err(|e| AppError::internal(e.to_string()))?;
    Ok((spec, definition))
}

fn name_conflict() -> AppError {
    AppError::Conflict {
        code: "name_taken",
        message: "a policy with this name exists".into(),
        extra: None,
    }
}

/// A racing insert of the same name is caught by the unique index.
fn name_taken(e: diesel::result::Error) -> AppError {
    if crate::db::is_unique_violation(&e) {
        name_conflict()
    } else {
        e.into()
    }
}

pub fn create_policy(conn: &mut DbConnection, spec: &PolicySpec, now: DateTime<Utc>) -> AppResult<Value> {
    let (spec, definition) = checked(conn, spec)?;
    if repo::policies(conn)?.iter().any(|p| p.name == spec.name) {
        return Err(name_conflict());
    }
    let row = repo::insert_policy(conn, &spec.name, spec.position, &definition, now.naive_utc()).map_err(name_taken)?;
    policy_json(&row)
}

/// Replaces a policy's definition with a new version; tickets keep the version applied to them
/// until their attributes change.
pub fn update_policy(conn: &mut DbConnection, id: i64, spec: &PolicySpec, now: DateTime<Utc>) -> AppResult<Value> {
    repo::policy(conn, id)?;
    let (spec, definition) = checked(conn, spec)?;
    if repo::policies(conn)?.iter().any(|p| p.name == spec.name && p.id != id) {
        return Err(name_conflict());
    }
    let row =
        repo::update_policy(conn, id, &spec.name, spec.position, &definition, now.naive_utc()).map_err(name_taken)?;
    policy_json(&row)
}

/// The clocks of tickets, as the ticket JSON carries them (keyed by ticket id).
pub fn clocks_json(
    conn: &mut DbConnection,
    ticket_ids: &[i64],
    now: DateTime<Utc>,
) -> AppResult<std::collections::HashMap<i64, Value>> {
    let mut cals = Calendars::default();
    let mut out: std::collections::HashMap<i64, Vec<Value>> = Default::default();
    for c in repo::clocks_of(conn, ticket_ids)? {
        let basis = cals.basis(conn, c.calendar_id)?;
        let remaining = super::clock::remaining(&c, basis, now);
        let calendar = c.calendar_id.and_then(|id| cals.name(id));
        out.entry(c.ticket_id).or_default().push(json!({
            "kind": c.kind, "state": c.state, "target": c.target_text, "target_secs": c.target_secs,
            "calendar": calendar, "business_time": c.calendar_id.is_some(),
            "due_at": c.due_at.map(utc), "remaining_secs": remaining,
            "paused": c.state == super::clock::PAUSED, "warned": c.warned > 0, "warned_percent": c.warned,
            "breached": c.breached || (c.state == super::clock::RUNNING && remaining < 0),
            "cycle": c.cycle, "policy": c.policy_name, "policy_version": c.policy_version,
            "started_at": utc(c.started_at), "stopped_at": c.stopped_at.map(utc),
        }));
    }
    Ok(out.into_iter().map(|(k, v)| (k, Value::Array(v))).collect())
}

/// A stored policy's definition, parsed.
pub fn policy_spec(row: &repo::PolicyRow) -> AppResult<PolicySpec> {
    serde_json::from_str(&row.definition).map_err(|e| AppError::internal(format!("policy {}: {e}", row.id)))
}

/// Moves a policy one place up or down in the evaluation order. Positions are renumbered 10, 20,
/// 30, … in the new order; each policy whose position changes gets a new version.
pub fn move_policy(conn: &mut DbConnection, id: i64, up: bool, now: DateTime<Utc>) -> AppResult<()> {
    let mut rows = repo::policies(conn)?;
    let i = rows.iter().position(|r| r.id == id).ok_or(AppError::NotFound)?;
    let j = match (up, i) {
        (true, 0) => return Ok(()),
        (true, i) => i - 1,
        (false, i) if i + 1 >= rows.len() => return Ok(()),
        (false, i) => i + 1,
    };
    rows.swap(i, j);
    for (n, row) in rows.iter().enumerate() {
        let position = (n as i32 + 1) * 10;
        if row.position != position {
            let mut spec = policy_spec(row)?;
            spec.position = position;
            update_policy(conn, row.id, &spec, now)?;
        }
    }
    Ok(())
}

/// Enables or disables a policy (a new version); a disabled policy matches no ticket.
pub fn set_policy_disabled(conn: &mut DbConnection, id: i64, disabled: bool, now: DateTime<Utc>) -> AppResult<()> {
    let row = repo::policy(conn, id)?;
    let mut spec = policy_spec(&row)?;
    if spec.disabled != disabled {
        spec.disabled = disabled;
        update_policy(conn, id, &spec, now)?;
    }
    Ok(())
}

/// Imports an uploaded calendar file by its extension: `.toml` is a whole calendar (replacing one
/// of the same name); `.ics` and `.csv` are holiday lists added to the existing calendar `into`.
/// Returns (created, the calendar's JSON).
pub fn import_calendar_file(
    conn: &mut DbConnection,
    filename: &str,
    text: &str,
    into: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<(bool, Value)> {
    let lower = filename.to_ascii_lowercase();
    let spec = if lower.ends_with(".toml") {
        let spec = super::import::parse_toml(text).map_err(|e| AppError::field("file", e))?;
        if !spec.holiday_files.is_empty() {
            return Err(AppError::field(
                "file",
                "holiday_files are read only by `tanggap calendar import`; upload the .ics or .csv files separately",
            ));
        }
        spec
    } else if lower.ends_with(".ics") || lower.ends_with(".csv") {
        let name = into
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| AppError::field("calendar", "choose the calendar the holidays go to"))?;
        let row = repo::calendar_by_name(conn, name)?
            .ok_or_else(|| AppError::field("calendar", format!("no calendar named `{name}`")))?;
        let mut spec = CalendarSpec::of(&super::calendar_from_row(&row)?);
        if lower.ends_with(".ics") {
            spec.holidays_ical = Some(text.to_string());
        } else {
            spec.holidays_csv = Some(text.to_string());
        }
        spec
    } else {
        return Err(AppError::field(
            "file",
            "upload a .toml calendar, or an .ics or .csv holiday list",
        ));
    };
    put_calendar(conn, &spec, now)
}
