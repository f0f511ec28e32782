//! Business calendars: a time zone, weekly opening hours (several blocks a day, blocks that run past
//! midnight) and dated holidays. Pure arithmetic over UTC instants; nothing here touches the database.
//!
//! Conventions (docs/sla.md explains them with examples):
//! * A block belongs to the local day it starts on. `sat = ["22:00-06:00"]` is open from Saturday 22:00
//!   to Sunday 06:00. A holiday closes every block that *starts* on it, including the part after
//!   midnight; a shift that started the evening before a holiday runs to its end.
//! * Adding business time returns the instant the last second is used up, so a 1 h target started at
//!   16:00 on a day closing at 17:00 is due at 17:00, not at the next opening.
//! * Local times that do not exist (a DST gap) move forward to the first instant that does; ambiguous ones
//!   take the earlier instant. Indonesian zones have no DST, but nothing here assumes it.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

/// How far ahead (in days) a computation may look before it calls the calendar unusable.
const HORIZON_DAYS: i64 = 366 * 20;

pub const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// One opening block, in seconds after the local midnight of the day it starts on. `end` may exceed
/// 86 400 (the block runs into the next day) but the block is never longer than 24 hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    pub start: u32,
    pub end: u32,
}

impl Block {
    /// Parses `"HH:MM-HH:MM"`; an end at or before the start runs past midnight; `24:00` ends the day.
    pub fn parse(s: &str) -> Result<Block, String> {
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| format!("`{s}` is not a block like 08:00-12:00"))?;
        let start = parse_hhmm(a.trim(), false).ok_or_else(|| format!("`{a}` in `{s}` is not a time HH:MM"))?;
        let mut end = parse_hhmm(b.trim(), true).ok_or_else(|| format!("`{b}` in `{s}` is not a time HH:MM"))?;
        if end == start {
            return Err(format!("`{s}` is empty; write 00:00-24:00 for a whole day"));
        }
        if end < start {
            end += 86_400;
        }
        Ok(Block { start, end })
    }

    pub fn render(&self) -> String {
        let f = |secs: u32| {
            let s = if secs > 86_400 { secs - 86_400 } else { secs };
            format!("{:02}:{:02}", s / 3600, (s % 3600) / 60)
        };
        format!("{}-{}", f(self.start), f(self.end))
    }
}

fn parse_hhmm(s: &str, allow_24: bool) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) if allow_24 => Some(86_400),
        (0..=23, 0..=59) => Some(h * 3600 + m * 60),
        _ => None,
    }
}

/// A validated business calendar.
#[derive(Clone, Debug, PartialEq)]
pub struct Calendar {
    pub name: String,
    pub tz: Tz,
    /// Blocks per weekday, Monday first, sorted by start.
    pub hours: [Vec<Block>; 7],
    /// Closed dates (in the calendar's zone) with an optional name.
    pub holidays: BTreeMap<NaiveDate, String>,
}

/// One stretch of business time, as counted by a computation (for `--explain`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interval {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Calendar {
    /// Builds a calendar from parsed parts, checking that the blocks of one day do not overlap.
    pub fn new(
        name: &str,
        tz: Tz,
        hours: [Vec<Block>; 7],
        holidays: BTreeMap<NaiveDate, String>,
    ) -> Result<Calendar, String> {
        let name = name.trim();
        if name.is_empty() || name.len() > 100 || name.chars().any(|c| c.is_control()) {
            return Err("name must be 1 to 100 printable characters".into());
        }
        let mut hours = hours;
        for (i, day) in hours.iter_mut().enumerate() {
            day.sort_by_key(|b| b.start);
            for w in day.windows(2) {
                if w[1].start < w[0].end {
                    return Err(format!(
                        "{}: blocks {} and {} overlap",
                        DAY_KEYS[i],
                        w[0].render(),
                        w[1].render()
                    ));
                }
            }
        }
        if hours.iter().all(|d| d.is_empty()) {
            return Err("hours: the calendar is never open; give at least one block".into());
        }
        Ok(Calendar {
            name: name.to_string(),
            tz,
            hours,
            holidays,
        })
    }

    fn blocks_of(&self, d: NaiveDate) -> &[Block] {
        if self.holidays.contains_key(&d) {
            return &[];
        }
        &self.hours[d.weekday().num_days_from_monday() as usize]
    }

    /// Is `d` (a local date) a working day: not a holiday and with at least one block?
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        !self.blocks_of(d).is_empty()
    }

    /// The instant of a local wall-clock time (see the module notes on gaps and overlaps).
    fn instant(&self, local: NaiveDateTime) -> DateTime<Utc> {
        let mut t = local;
        for _ in 0..(4 * 24) {
            match self.tz.from_local_datetime(&t) {
                LocalResult::Single(x) => return x.with_timezone(&Utc),
                LocalResult::Ambiguous(a, _) => return a.with_timezone(&Utc),
                LocalResult::None => t += Duration::minutes(15),
            }
        }
        // No zone has a gap of a whole day; fall back to reading the time as UTC.
        local.and_utc()
    }

    fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// The opening intervals of blocks starting on local date `d`, in order.
    fn day_intervals(&self, d: NaiveDate) -> impl Iterator<Item = Interval> + '_ {
        let midnight = d.and_time(NaiveTime::MIN);
        self.blocks_of(d).iter().map(move |b| Interval {
            from: self.instant(midnight + Duration::seconds(b.start as i64)),
            to: self.instant(midnight + Duration::seconds(b.end as i64)),
        })
    }

    /// Opening intervals touching `[from, ∞)`, sorted by start (they may overlap when an overnight
    /// block meets the next day's first block; callers count with a cursor).
    fn intervals_from(&self, from: DateTime<Utc>) -> impl Iterator<Item = Interval> + '_ {
        let first = self.local_date(from) - Duration::days(1);
        (0..HORIZON_DAYS)
            .map(move |i| first + Duration::days(i))
            .flat_map(move |d| self.day_intervals(d))
            .filter(move |iv| iv.to > from && iv.to > iv.from)
    }

    /// The instant at which `amount` of business time, counted from `start`, is used up, and the
    /// intervals counted. Zero returns `start`.
    pub fn add_business(
        &self,
        start: DateTime<Utc>,
        amount: Duration,
    ) -> Result<(DateTime<Utc>, Vec<Interval>), String> {
        if amount < Duration::zero() {
            return Err("a business duration cannot be negative".into());
        }
        let mut left = amount;
        let mut cursor = start;
        let mut counted = Vec::new();
        if left.is_zero() {
            return Ok((start, counted));
        }
        for iv in self.intervals_from(start) {
            if iv.to <= cursor {
                continue;
            }
            let from = iv.from.max(cursor);
            let avail = iv.to - from;
            if avail >= left {
                let due = from + left;
                counted.push(Interval { from, to: due });
                return Ok((due, counted));
            }
            counted.push(Interval { from, to: iv.to });
            left -= avail;
            cursor = iv.to;
        }
        Err(format!(
            "calendar {} has no business time within {} years of {start}",
            self.name,
            HORIZON_DAYS / 366
        ))
    }

    /// Business time in `[a, b)`; zero when `b <= a`.
    pub fn business_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Duration {
        let mut total = Duration::zero();
        let mut cursor = a;
        for iv in self.intervals_from(a) {
            if iv.from >= b {
                break;
            }
            if iv.to <= cursor {
                continue;
            }
            let from = iv.from.max(cursor);
            let to = iv.to.min(b);
            if to > from {
                total += to - from;
            }
            cursor = iv.to.max(cursor);
        }
        total
    }

    /// The close of business of the `n`-th working day after the local date of `start` (the day of
    /// receipt does not count): received Monday, 3 working days are due at Thursday's close.
    pub fn add_business_days(&self, start: DateTime<Utc>, n: u32) -> Result<(DateTime<Utc>, Vec<NaiveDate>), String> {
        if n == 0 {
            return Err("a number of working days must be at least 1".into());
        }
        let mut d = self.local_date(start);
        let mut days = Vec::new();
        for _ in 0..HORIZON_DAYS {
            d += Duration::days(1);
            if self.is_working_day(d) {
                days.push(d);
                if days.len() == n as usize {
                    let close = self
                        .day_intervals(d)
                        .map(|iv| iv.to)
                        .max()
                        .ok_or_else(|| format!("{d} has no blocks"))?;
                    return Ok((close, days));
                }
            }
        }
        Err(format!(
            "calendar {} has no {n} working days ahead of {start}",
            self.name
        ))
    }
}

/// A weekday index (Monday 0) from a key `mon`…`sun`.
pub fn day_index(key: &str) -> Option<usize> {
    DAY_KEYS.iter().position(|k| *k == key)
}

pub fn weekday_key(w: Weekday) -> &'static str {
    DAY_KEYS[w.num_days_from_monday() as usize]
}

#[cfg(test)]
mod tests;
