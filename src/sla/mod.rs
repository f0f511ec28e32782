//! The SLA engine: business calendars, policies, per-ticket clocks, warnings, breaches and escalation.
//! See docs/sla.md.

pub mod admin;
pub mod calendar;
pub mod cli;
pub mod clock;
pub mod config;
pub mod import;
pub mod mail;
pub mod policy;
pub mod repo;
pub mod service;
pub mod timers;

use chrono::Duration;

use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use calendar::Calendar;
use import::CalendarSpec;

/// Parses a target like `4h`, `3d`, `90m`, `45s` or `1h30m`; returns the duration and, when the
/// text is whole days only (`3d`), the number of days (for working-day targets).
pub fn parse_target(s: &str) -> Result<(Duration, Option<u32>), String> {
    let s = s.trim();
    let bad = || format!("`{s}` is not a duration like 4h, 3d, 90m or 1h30m");
    if s.is_empty() {
        return Err(bad());
    }
    let mut total: i64 = 0;
    let mut num = String::new();
    let mut units = String::new();
    for ch in s.chars() {
        if ch.is_ascii_digit() {
            num.push(ch);
            continue;
        }
        let n: i64 = num.parse().map_err(|_| bad())?;
        num.clear();
        let mult = match ch {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        if units.contains(ch) {
            return Err(bad());
        }
        units.push(ch);
        total = n.checked_mul(mult).and_then(|x| total.checked_add(x)).ok_or_else(bad)?;
    }
    if !num.is_empty() || total <= 0 || total > 366 * 86_400 * 5 {
        return Err(bad());
    }
    let days = (units == "d").then_some((total / 86_400) as u32);
    Ok((Duration::seconds(total), days))
}

/// A stored calendar, validated.
pub fn calendar_from_row(row: &repo::CalendarRow) -> AppResult<Calendar> {
    let spec: CalendarSpec = serde_json::from_str(&row.definition)
        .map_err(|e| AppError::internal(format!("calendar {} definition: {e}", row.id)))?;
    spec.build(None)
        .map_err(|e| AppError::internal(format!("calendar {}: {e}", row.id)))
}

pub fn load_calendar(conn: &mut DbConnection, name: &str) -> AppResult<Option<(i64, Calendar)>> {
    match repo::calendar_by_name(conn, name)? {
        Some(row) => Ok(Some((row.id, calendar_from_row(&row)?))),
        None => Ok(None),
    }
}

/// Stores `cal`, replacing a calendar of the same name; returns (id, replaced).
pub fn store_calendar(conn: &mut DbConnection, cal: &Calendar, now: chrono::NaiveDateTime) -> AppResult<(i64, bool)> {
    let definition = serde_json::to_string(&CalendarSpec::of(cal)).map_err(|e| AppError::internal(e.to_string()))?;
    Ok(repo::upsert_calendar(conn, &cal.name, &definition, now)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(parse_target("4h").unwrap(), (Duration::hours(4), None));
        assert_eq!(parse_target("3d").unwrap(), (Duration::days(3), Some(3)));
        assert_eq!(parse_target("90m").unwrap().0, Duration::minutes(90));
        assert_eq!(parse_target("1h30m").unwrap().0, Duration::minutes(90));
        for bad in [
            "",
            "4",
            "h",
            "4x",
            "-4h",
            "0m",
            "4h4h",
            "99999999999999999999h",
            "2000d",
            "1d1d",
        ] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }
}
