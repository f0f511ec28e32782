//! `tanggap calendar import` and `tanggap sla due`: the admin's way in and the arithmetic check.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::calendar::Interval;
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
    let start: DateTime<Utc> = DateTime::parse_from_rfc3339(start.trim())
        .map_err(|e| anyhow::anyhow!("--start `{start}` is not RFC 3339 (e.g. 2026-12-01T08:00:00+07:00): {e}"))?
        .with_timezone(&Utc);
    let (amount, days) = super::parse_target(target).map_err(|e| anyhow::anyhow!("--target {e}"))?;
    let mut conn = ctx.db.read_conn()?;
    let (_, cal) = super::load_calendar(&mut conn, calendar)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .ok_or_else(|| anyhow::anyhow!("no calendar named `{calendar}`; load one with `tanggap calendar import`"))?;
    let tz = cal.tz;
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).to_rfc3339();
    let mut out = Vec::new();
    if business_days {
        let n = days.ok_or_else(|| anyhow::anyhow!("--business-days needs a target in whole days, e.g. 3d"))?;
        let (due, counted) = cal.add_business_days(start, n).map_err(anyhow::Error::msg)?;
        out.push(local(due));
        if explain {
            out.extend(
                counted
                    .iter()
                    .enumerate()
                    .map(|(i, d)| format!("working day {}: {d}", i + 1)),
            );
        }
    } else {
        let (due, counted) = cal.add_business(start, amount).map_err(anyhow::Error::msg)?;
        out.push(local(due));
        if explain {
            out.extend(counted.iter().map(|Interval { from, to }| {
                let secs = (*to - *from).num_seconds();
                format!(
                    "{} .. {}  {}h{:02}m{:02}s",
                    local(*from),
                    local(*to),
                    secs / 3600,
                    secs % 3600 / 60,
                    secs % 60
                )
            }));
        }
    }
    Ok(out)
}
