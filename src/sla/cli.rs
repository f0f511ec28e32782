//! `tanggap calendar import` and `tanggap sla due`: the admin's way in and the arithmetic check.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::calendar::{Calendar, Interval};
use super::import::parse_toml;
use crate::context::AppContext;

/// Reads a calendar TOML (and the holiday files it names, relative to it) and stores it, replacing
/// a calendar of the same name.
pub fn import(ctx: &AppContext, file: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let spec = parse_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let dir = file.parent().unwrap_or(Path::new("."));
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).map_err(|e| format!("{name}: {e}"));
    let cal = spec
        .build(Some(&read))
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let now = ctx.clock.now_naive();
    let (id, replaced) = ctx
        .write_blocking(|conn| super::store_calendar(conn, &cal, now))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(format!(
        "{} calendar {} (id {id}): {}, {} holiday(s)",
        if replaced { "replaced" } else { "imported" },
        cal.name,
        cal.tz.name(),
        cal.holidays.len()
    ))
}

/// Computes a due instant; returns the lines to print (the instant, then with `explain` the
/// business intervals or working days counted).
pub fn due(
    ctx: &AppContext,
    calendar: &str,
    start: &str,
    target: &str,
    business_days: bool,
    explain: bool,
) -> anyhow::Result<Vec<String>> {
    let start = parse_start(start).map_err(|e| anyhow::anyhow!("--start {e}"))?;
    let mut conn = ctx.db.read_conn()?;
    let (_, cal) = super::load_calendar(&mut conn, calendar)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .ok_or_else(|| anyhow::anyhow!("no calendar named `{calendar}`; load one with `tanggap calendar import`"))?;
    let (due, counted) = due_on(&cal, start, target, business_days).map_err(anyhow::Error::msg)?;
    let mut out = vec![due];
    if explain {
        out.extend(counted);
    }
    Ok(out)
}

/// An RFC 3339 instant, or why not.
pub fn parse_start(start: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(start.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{start}` is not RFC 3339 (e.g. 2026-12-01T08:00:00+07:00): {e}"))
}

/// The due instant of `target` from `start` on `cal` (RFC 3339 in the calendar's zone) and what was
/// counted: the business intervals, or with `business_days` the working days. Shared by
/// `tanggap sla due` and the admin pages' calculator; errors name the command's option (`--target …`).
pub fn due_on(
    cal: &Calendar,
    start: DateTime<Utc>,
    target: &str,
    business_days: bool,
) -> Result<(String, Vec<String>), String> {
    let (amount, days) = super::parse_target(target).map_err(|e| format!("--target {e}"))?;
    let tz = cal.tz;
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).to_rfc3339();
    if business_days {
        let n = days.ok_or("--business-days needs a target in whole days, e.g. 3d")?;
        let (due, counted) = cal.add_business_days(start, n)?;
        let lines = counted
            .iter()
            .enumerate()
            .map(|(i, d)| format!("working day {}: {d}", i + 1))
            .collect();
        Ok((local(due), lines))
    } else {
        let (due, counted) = cal.add_business(start, amount)?;
        let lines = counted
            .iter()
            .map(|Interval { from, to }| {
                let secs = (*to - *from).num_seconds();
                format!(
                    "{} .. {}  {}h{:02}m{:02}s",
                    local(*from),
                    local(*to),
                    secs / 3600,
                    secs % 3600 / 60,
                    secs % 60
                )
            })
            .collect();
        Ok((local(due), lines))
    }
}
