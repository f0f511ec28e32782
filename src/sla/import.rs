//! Reading calendars: the TOML shape (`tanggap calendar import`), the same shape as JSON (the API), and
//! holiday lists from iCal (all-day `VEVENT`s) and CSV (`date[,name]`).

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::calendar::{Block, Calendar, DAY_KEYS, day_index};

/// A holiday as written: a bare date or `{ date, name }`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(untagged)]
pub enum HolidaySpec {
    Date(String),
    Named { date: String, name: String },
}

/// More closed dates than this is not a holiday list (about 27 years of every day).
const MAX_HOLIDAYS: usize = 10_000;

/// Reads a holiday file named in a calendar (the CLI resolves it next to the TOML file).
pub type ReadFile<'a> = &'a dyn Fn(&str) -> Result<String, String>;

/// An iCal event being read: first line, DTSTART, DTEND, DURATION in days, SUMMARY.
#[derive(Default)]
struct Event {
    line: usize,
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    days: Option<i64>,
    name: String,
}

/// The documented shape of a calendar (TOML file or JSON body).
#[derive(Clone, Debug, Deserialize, Serialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    pub name: String,
    pub timezone: String,
    #[serde(default)]
    pub holidays: Vec<HolidaySpec>,
    /// iCal text with all-day events (API); the CLI also reads `holiday_files`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holidays_ical: Option<String>,
    /// CSV text `date[,name]` (API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holidays_csv: Option<String>,
    /// Files (`.ics` or `.csv`) next to the TOML file whose holidays are added (CLI only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holiday_files: Vec<String>,
    #[serde(default)]
    pub hours: BTreeMap<String, Vec<String>>,
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| format!("`{s}` is not a date YYYY-MM-DD"))
}

fn add_holiday(into: &mut BTreeMap<NaiveDate, String>, d: NaiveDate, name: &str) {
    let e = into.entry(d).or_default();
    if e.is_empty() {
        *e = name.trim().to_string();
    }
}

impl CalendarSpec {
    /// Validates into a [`Calendar`]; `read_file` resolves `holiday_files` (the API passes `None`,
    /// which refuses them).
    pub fn build(&self, read_file: Option<ReadFile>) -> Result<Calendar, String> {
        let tz: Tz = self
            .timezone
            .trim()
            .parse()
            .map_err(|_| format!("timezone: `{}` is not an IANA zone such as Asia/Jakarta", self.timezone))?;
        let mut hours: [Vec<Block>; 7] = Default::default();
        for (day, blocks) in &self.hours {
            let i = day_index(day.trim())
                .ok_or_else(|| format!("hours: `{day}` is not a day; use {}", DAY_KEYS.join(", ")))?;
            for b in blocks {
                hours[i].push(Block::parse(b).map_err(|e| format!("hours.{day}: {e}"))?);
            }
        }
        let mut holidays = BTreeMap::new();
        for h in &self.holidays {
            let (d, n) = match h {
                HolidaySpec::Date(d) => (d.as_str(), ""),
                HolidaySpec::Named { date, name } => (date.as_str(), name.as_str()),
            };
            add_holiday(&mut holidays, parse_date(d).map_err(|e| format!("holidays: {e}"))?, n);
        }
        if let Some(text) = &self.holidays_ical {
            for (d, n) in parse_ical(text).map_err(|e| format!("holidays_ical: {e}"))? {
                add_holiday(&mut holidays, d, &n);
            }
        }
        if let Some(text) = &self.holidays_csv {
            for (d, n) in parse_csv(text).map_err(|e| format!("holidays_csv: {e}"))? {
                add_holiday(&mut holidays, d, &n);
            }
        }
        for f in &self.holiday_files {
            let read = read_file
                .ok_or("holiday_files: only the command line reads files; send holidays_ical or holidays_csv")?;
            let text = read(f)?;
            let list = if f.to_ascii_lowercase().ends_with(".ics") {
                parse_ical(&text)
            } else if f.to_ascii_lowercase().ends_with(".csv") {
                parse_csv(&text)
            } else {
                Err("only .ics and .csv files are read".into())
            }
            .map_err(|e| format!("{f}: {e}"))?;
            for (d, n) in list {
                add_holiday(&mut holidays, d, &n);
            }
        }
        if holidays.len() > MAX_HOLIDAYS {
            return Err(format!("holidays: at most {MAX_HOLIDAYS} dates"));
        }
        Calendar::new(&self.name, tz, hours, holidays)
    }

    /// The canonical shape of a stored calendar (holidays as `{date, name}` or bare dates).
    pub fn of(c: &Calendar) -> CalendarSpec {
        let mut hours = BTreeMap::new();
        for (i, day) in c.hours.iter().enumerate() {
            if !day.is_empty() {
                hours.insert(DAY_KEYS[i].to_string(), day.iter().map(Block::render).collect());
            }
        }
        CalendarSpec {
            name: c.name.clone(),
            timezone: c.tz.name().to_string(),
            holidays: c
                .holidays
                .iter()
                .map(|(d, n)| {
                    if n.is_empty() {
                        HolidaySpec::Date(d.to_string())
                    } else {
                        HolidaySpec::Named {
                            date: d.to_string(),
                            name: n.clone(),
                        }
                    }
                })
                .collect(),
            hours,
            ..Default::default()
        }
    }
}

/// Parses a calendar TOML file's text.
pub fn parse_toml(text: &str) -> Result<CalendarSpec, String> {
    let de = toml::Deserializer::new(text);
    serde_path_to_error::deserialize(de).map_err(|e| format!("{}: {}", e.path(), e.inner().message()))
}

/// All-day events of an iCal file: `DTSTART;VALUE=DATE:20261225`, optional `DTEND` (exclusive) or
/// `DURATION:PnD`, `SUMMARY` as the name. Timed and recurring events are refused, not guessed at.
pub fn parse_ical(text: &str) -> Result<Vec<(NaiveDate, String)>, String> {
    // Unfold continuation lines (RFC 5545 §3.1).
    let mut lines: Vec<(usize, String)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.trim_end_matches('\r');
        if let (Some(rest), Some(last)) = (raw.strip_prefix([' ', '\t']), lines.last_mut()) {
            last.1.push_str(rest);
        } else {
            lines.push((i + 1, raw.to_string()));
        }
    }
    let mut out = Vec::new();
    let mut ev: Option<Event> = None;
    for (no, line) in lines {
        let (head, value) = match line.split_once(':') {
            Some(x) => x,
            None if line.trim().is_empty() => continue,
            None => return Err(format!("line {no}: not a property line")),
        };
        let mut params = head.split(';');
        let prop = params.next().unwrap_or_default().to_ascii_uppercase();
        let params: Vec<String> = params.map(|p| p.to_ascii_uppercase()).collect();
        match (prop.as_str(), ev.as_mut()) {
            ("BEGIN", None) if value.eq_ignore_ascii_case("VEVENT") => {
                ev = Some(Event {
                    line: no,
                    ..Default::default()
                })
            }
            ("END", Some(_)) if value.eq_ignore_ascii_case("VEVENT") => {
                let Some(Event {
                    line: start_line,
                    start,
                    end,
                    days,
                    name,
                }) = ev.take()
                else {
                    continue;
                };
                let start = start.ok_or_else(|| format!("line {start_line}: event without DTSTART"))?;
                let count = match (end, days) {
                    (Some(e), _) if e <= start => return Err(format!("line {start_line}: DTEND is not after DTSTART")),
                    (Some(e), _) => (e - start).num_days(),
                    (None, Some(n)) => n,
                    (None, None) => 1,
                };
                if count > 366 {
                    return Err(format!("line {start_line}: an event of {count} days is not a holiday"));
                }
                for i in 0..count {
                    out.push((start + Duration::days(i), name.clone()));
                }
            }
            ("DTSTART" | "DTEND", Some(e)) => {
                let v = value.trim();
                if v.len() != 8 || params.iter().any(|p| p.starts_with("VALUE=") && p != "VALUE=DATE") {
                    return Err(format!(
                        "line {no}: {prop} `{v}` is not an all-day date (VALUE=DATE, YYYYMMDD)"
                    ));
                }
                let d =
                    NaiveDate::parse_from_str(v, "%Y%m%d").map_err(|_| format!("line {no}: `{v}` is not a date"))?;
                if prop == "DTSTART" {
                    e.start = Some(d);
                } else {
                    e.end = Some(d);
                }
            }
            ("DURATION", Some(e)) => {
                let v = value.trim();
                let n = v
                    .strip_prefix('P')
                    .and_then(|s| s.strip_suffix('D'))
                    .and_then(|s| s.parse::<i64>().ok())
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| format!("line {no}: DURATION `{v}` is not whole days like P2D"))?;
                e.days = Some(n);
            }
            ("RRULE" | "RDATE", Some(_)) => {
                return Err(format!(
                    "line {no}: recurring events are not read; list each holiday's date"
                ));
            }
            ("SUMMARY", Some(e)) => e.name = unescape_ical(value),
            _ => {}
        }
    }
    if let Some(Event { line: no, .. }) = ev {
        return Err(format!("line {no}: VEVENT without END:VEVENT"));
    }
    Ok(out)
}

fn unescape_ical(s: &str) -> String {
    s.replace("\\n", " ")
        .replace("\\N", " ")
        .replace("\\,", ",")
        .replace("\\;", ";")
        .replace("\\\\", "\\")
}

/// `date[,name]` lines; a first line starting with `date` is a header; blank lines and `#` comments
/// are skipped; the name may be double-quoted (`""` for a quote).
pub fn parse_csv(text: &str) -> Result<Vec<(NaiveDate, String)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_start_matches('\u{feff}').trim();
        if line.is_empty() || line.starts_with('#') || (i == 0 && line.to_ascii_lowercase().starts_with("date")) {
            continue;
        }
        let (d, rest) = line.split_once([',', ';']).unwrap_or((line, ""));
        let date = parse_date(d).map_err(|e| format!("line {}: {e}", i + 1))?;
        let rest = rest.trim();
        let name = match rest.strip_prefix('"') {
            Some(q) => q
                .strip_suffix('"')
                .ok_or_else(|| format!("line {}: unterminated quote", i + 1))?
                .replace("\"\"", "\""),
            None => rest.to_string(),
        };
        out.push((date, name));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ical_all_day_events_with_exclusive_end() {
        let text = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261224\r\nDTEND;VALUE=DATE:20261226\r\nSUMMARY:Cuti bersama\\, Natal\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270101\r\nSUMMARY:Tahun\r\n  Baru\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let got = parse_ical(text).unwrap();
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            got,
            vec![
                (d("2026-12-24"), "Cuti bersama, Natal".to_string()),
                (d("2026-12-25"), "Cuti bersama, Natal".to_string()),
                (d("2027-01-01"), "Tahun Baru".to_string()),
            ]
        );
    }

    #[test]
    fn ical_refuses_timed_recurring_and_broken_events() {
        let timed = "BEGIN:VEVENT\nDTSTART:20261224T090000Z\nEND:VEVENT\n";
        assert!(parse_ical(timed).unwrap_err().contains("all-day"));
        let rec = "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20261224\nRRULE:FREQ=YEARLY\nEND:VEVENT\n";
        assert!(parse_ical(rec).unwrap_err().contains("recurring"));
        let open = "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20261224\n";
        assert!(parse_ical(open).unwrap_err().contains("without END"));
        let back = "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20261224\nDTEND;VALUE=DATE:20261224\nEND:VEVENT\n";
        assert!(parse_ical(back).unwrap_err().contains("not after"));
        let dur = "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20261230\nDURATION:P3D\nEND:VEVENT\n";
        assert_eq!(parse_ical(dur).unwrap().len(), 3);
    }

    #[test]
    fn csv_with_header_comments_and_quotes() {
        let text = "date,name\n# nasional\n2026-12-25,Natal\n2026-12-24;\"Cuti \"\"bersama\"\"\"\n\n2027-01-01\n";
        let got = parse_csv(text).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].1, "Cuti \"bersama\"");
        assert_eq!(got[2].1, "");
        assert!(parse_csv("25/12/2026,Natal").unwrap_err().contains("line 1"));
    }

    #[test]
    fn toml_shape_from_the_issue() {
        let spec = parse_toml(
            r#"
name = "jakarta-cc"
timezone = "Asia/Jakarta"
holidays = ["2026-12-25", "2026-12-24", { date = "2027-01-01", name = "Tahun Baru" }]
[hours]
mon = ["08:00-12:00", "13:00-17:00"]
sat = ["22:00-06:00"]
"#,
        )
        .unwrap();
        let cal = spec.build(None).unwrap();
        assert_eq!(cal.tz, chrono_tz::Asia::Jakarta);
        assert_eq!(cal.hours[0].len(), 2);
        assert_eq!(
            cal.hours[5][0],
            Block {
                start: 22 * 3600,
                end: 30 * 3600
            }
        );
        assert_eq!(cal.holidays.len(), 3);
        let again = CalendarSpec::of(&cal).build(None).unwrap();
        assert_eq!(again, cal);
    }

    #[test]
    fn bad_calendars_say_what_is_wrong() {
        let bad = |t: &str| parse_toml(t).and_then(|s| s.build(None)).unwrap_err();
        assert!(bad("name='x'\ntimezone='Mars/Base'\n[hours]\nmon=['08:00-09:00']").contains("timezone"));
        assert!(bad("name='x'\ntimezone='Asia/Jakarta'\n[hours]\nfun=['08:00-09:00']").contains("not a day"));
        assert!(bad("name='x'\ntimezone='Asia/Jakarta'\n[hours]\nmon=['8-9']").contains("hours.mon"));
        assert!(bad("name='x'\ntimezone='Asia/Jakarta'\n[hours]\nmon=['25:00-26:00']").contains("not a time"));
        assert!(bad("name='x'\ntimezone='Asia/Jakarta'\n[hours]\nmon=['09:00-09:00']").contains("empty"));
        assert!(
            bad("name='x'\ntimezone='Asia/Jakarta'\n[hours]\nmon=['08:00-12:00','11:00-13:00']").contains("overlap")
        );
        assert!(bad("name='x'\ntimezone='Asia/Jakarta'\n").contains("never open"));
        assert!(
            bad("name='x'\ntimezone='Asia/Jakarta'\nholidays=['2026-13-01']\n[hours]\nmon=['08:00-09:00']")
                .contains("holidays")
        );
        assert!(bad("name='x'\ntimezone='Asia/Jakarta'\ncolour='red'\n").contains("colour"));
        assert!(
            bad("name='x'\ntimezone='Asia/Jakarta'\nholiday_files=['a.csv']\n[hours]\nmon=['08:00-09:00']")
                .contains("command line")
        );
    }
}
