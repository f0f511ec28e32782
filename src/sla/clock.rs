//! One clock's arithmetic: how much of its target is left, when it is due, when its next warning or
//! breach fires, and pausing/resuming it. Business time on a calendar, or plain time without one.
//!
//! A running clock stores the business seconds left at `running_since`; pausing subtracts what was
//! used since then, resuming starts a new stretch. So paused time is excluded exactly.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

use super::calendar::Calendar;
use super::repo::ClockRow;
use crate::clock::utc;

pub const RUNNING: &str = "running";
pub const PAUSED: &str = "paused";
pub const MET: &str = "met";
pub const STOPPED: &str = "stopped";

/// The time base of a clock: a business calendar, or the wall clock.
#[derive(Clone, Copy)]
pub struct Basis<'a>(pub Option<&'a Calendar>);

impl Basis<'_> {
    pub fn add(&self, t: DateTime<Utc>, secs: i64) -> DateTime<Utc> {
        let secs = secs.max(0);
        match self.0 {
            // A stored calendar is always open somewhere; should it not be within the horizon, the
            // clock is due at the horizon's end rather than never.
            Some(c) => c
                .add_business(t, Duration::seconds(secs))
                .map(|(d, _)| d)
                .unwrap_or(t + Duration::days(366 * 20)),
            None => t + Duration::seconds(secs),
        }
    }

    pub fn between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
        match self.0 {
            Some(c) => c.business_between(a, b).num_seconds(),
            None => (b - a).num_seconds().max(0),
        }
    }
}

/// Business seconds left at `now` (negative once breached while running).
pub fn remaining(c: &ClockRow, basis: Basis, now: DateTime<Utc>) -> i64 {
    match c.running_since {
        Some(since) if c.state == RUNNING => c.remaining_secs - basis.between(utc(since), now),
        _ => c.remaining_secs,
    }
}

/// The instant at which a running clock has used `percent` of its target.
fn instant_at(c: &ClockRow, basis: Basis, since: NaiveDateTime, percent: i64) -> DateTime<Utc> {
    let used_at_since = c.target_secs - c.remaining_secs;
    let needed = c.target_secs * percent / 100 - used_at_since;
    basis.add(utc(since), needed)
}

pub fn warn_percents(c: &ClockRow) -> Vec<i32> {
    serde_json::from_str(&c.warn_percents).unwrap_or_default()
}

/// Recomputes `due_at` and `next_fire_at` from the clock's state.
pub fn schedule(c: &mut ClockRow, basis: Basis) {
    let Some(since) = c.running_since.filter(|_| c.state == RUNNING) else {
        c.next_fire_at = None;
        if c.state != MET && c.state != STOPPED {
            c.due_at = None;
        }
        return;
    };
    let due = instant_at(c, basis, since, 100);
    c.due_at = Some(due.naive_utc());
    c.next_fire_at = if c.breached {
        None
    } else {
        let next_warn = warn_percents(c).into_iter().find(|p| *p > c.warned);
        Some(match next_warn {
            Some(p) => instant_at(c, basis, since, p as i64).naive_utc(),
            None => due.naive_utc(),
        })
    };
}

/// What is due at `now` on a running clock: `Some("breach")`, `Some("75%")` (the highest warning
/// passed and not yet fired), or `None`.
pub fn due_firing(c: &ClockRow, basis: Basis, now: DateTime<Utc>) -> Option<(String, DateTime<Utc>)> {
    let since = c.running_since.filter(|_| c.state == RUNNING)?;
    if c.breached {
        return None;
    }
    let due = instant_at(c, basis, since, 100);
    if due <= now {
        return Some(("breach".into(), due));
    }
    warn_percents(c)
        .into_iter()
        .filter(|p| *p > c.warned)
        .map(|p| (p, instant_at(c, basis, since, p as i64)))
        .rfind(|(_, at)| *at <= now)
        .map(|(p, at)| (format!("{p}%"), at))
}

pub fn pause(c: &mut ClockRow, basis: Basis, now: DateTime<Utc>) {
    if c.state != RUNNING {
        return;
    }
    c.remaining_secs = remaining(c, basis, now);
    c.running_since = None;
    c.state = PAUSED.into();
    schedule(c, basis);
}

pub fn resume(c: &mut ClockRow, basis: Basis, now: DateTime<Utc>) {
    if c.state != PAUSED {
        return;
    }
    c.running_since = Some(now.naive_utc());
    c.state = RUNNING.into();
    schedule(c, basis);
}

/// Stops the clock as met (or just stopped); the remaining time is frozen for display.
pub fn stop(c: &mut ClockRow, basis: Basis, now: DateTime<Utc>, state: &str) {
    if c.state != RUNNING && c.state != PAUSED {
        return;
    }
    c.remaining_secs = remaining(c, basis, now);
    c.running_since = None;
    c.state = state.into();
    c.stopped_at = Some(now.naive_utc());
    c.next_fire_at = None;
}

/// Starts the clock again from its full target (a new cycle: warnings and breach fire anew).
pub fn restart(c: &mut ClockRow, basis: Basis, now: DateTime<Utc>) {
    c.cycle += 1;
    c.remaining_secs = c.target_secs;
    c.running_since = Some(now.naive_utc());
    c.state = RUNNING.into();
    c.warned = 0;
    c.breached = false;
    c.started_at = now.naive_utc();
    c.stopped_at = None;
    schedule(c, basis);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::import::parse_toml;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn clock(target: i64, since: &str) -> ClockRow {
        ClockRow {
            id: 1,
            ticket_id: 1,
            kind: "resolution".into(),
            cycle: 1,
            policy_name: "p".into(),
            policy_version: 1,
            calendar_id: Some(1),
            target_secs: target,
            target_text: "x".into(),
            remaining_secs: target,
            running_since: Some(t(since).naive_utc()),
            due_at: None,
            next_fire_at: None,
            warn_percents: "[75,90]".into(),
            warned: 0,
            breached: false,
            state: RUNNING.into(),
            started_at: t(since).naive_utc(),
            stopped_at: None,
        }
    }

    #[test]
    fn pause_excludes_exactly_the_paused_business_time() {
        let cal = parse_toml("name='o'\ntimezone='Asia/Jakarta'\n[hours]\nmon=['08:00-16:00']\ntue=['08:00-16:00']\n")
            .unwrap()
            .build(None)
            .unwrap();
        let b = Basis(Some(&cal));
        // 8 h target from Mon 30 Nov 08:00 WIB: due Mon 16:00; 75 % at 14:00, 90 % at 15:12.
        let mut c = clock(8 * 3600, "2026-11-30T08:00:00+07:00");
        schedule(&mut c, b);
        assert_eq!(c.due_at, Some(t("2026-11-30T16:00:00+07:00").naive_utc()));
        assert_eq!(c.next_fire_at, Some(t("2026-11-30T14:00:00+07:00").naive_utc()));
        // Paused 10:00-11:30 (1.5 h), the rest moves to Tuesday 09:30.
        pause(&mut c, b, t("2026-11-30T10:00:00+07:00"));
        assert_eq!((c.remaining_secs, c.due_at, c.next_fire_at), (6 * 3600, None, None));
        resume(&mut c, b, t("2026-11-30T11:30:00+07:00"));
        assert_eq!(c.due_at, Some(t("2026-12-01T09:30:00+07:00").naive_utc()));
        // 75 % = 6 h used: 2 h before the pause + 4 h from 11:30 = 15:30.
        assert_eq!(c.next_fire_at, Some(t("2026-11-30T15:30:00+07:00").naive_utc()));
        assert_eq!(due_firing(&c, b, t("2026-11-30T15:29:59+07:00")), None);
        // 90 % = 7.2 h: 2 + 4.5 h to 16:00, 0.7 h on Tuesday = 08:42; at 09:00 the 90 % is the one due.
        let (kind, at) = due_firing(&c, b, t("2026-12-01T09:00:00+07:00")).unwrap();
        assert_eq!((kind.as_str(), at), ("90%", t("2026-12-01T08:42:00+07:00")));
        c.warned = 90;
        schedule(&mut c, b);
        assert_eq!(c.next_fire_at, c.due_at);
        assert_eq!(due_firing(&c, b, t("2026-12-01T09:30:00+07:00")).unwrap().0, "breach");
        assert_eq!(remaining(&c, b, t("2026-12-01T10:00:00+07:00")), -1800);
        stop(&mut c, b, t("2026-12-01T10:00:00+07:00"), MET);
        assert_eq!((c.state.as_str(), c.remaining_secs, c.next_fire_at), (MET, -1800, None));
    }

    #[test]
    fn calendar_time_without_a_calendar() {
        let mut c = clock(3600, "2026-12-05T10:00:00Z");
        restart(&mut c, Basis(None), t("2026-12-05T11:00:00Z"));
        assert_eq!(c.cycle, 2);
        assert_eq!(c.due_at, Some(t("2026-12-05T12:00:00Z").naive_utc()));
        assert_eq!(c.next_fire_at, Some(t("2026-12-05T11:45:00Z").naive_utc()));
    }
}
