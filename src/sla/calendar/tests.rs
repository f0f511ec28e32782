//! Due times worked out by hand. 2026-12-01 is a Tuesday; WIB = UTC+7, WITA = UTC+8, WIT = UTC+9.

use super::*;
use crate::sla::import::parse_toml;

fn cal(toml: &str) -> Calendar {
    parse_toml(toml).unwrap().build(None).unwrap()
}

fn jakarta() -> Calendar {
    cal(r#"
name = "jakarta-cc"
timezone = "Asia/Jakarta"
holidays = ["2026-12-25", "2026-12-24"]
[hours]
mon = ["08:00-12:00", "13:00-17:00"]
tue = ["08:00-12:00", "13:00-17:00"]
wed = ["08:00-12:00", "13:00-17:00"]
thu = ["08:00-12:00", "13:00-17:00"]
fri = ["08:00-12:00", "13:00-17:00"]
sat = ["22:00-06:00"]
"#)
}

fn office(tz: &str) -> Calendar {
    cal(&format!(
        r#"
name = "office"
timezone = "{tz}"
holidays = ["2026-12-24", "2026-12-25"]
[hours]
mon = ["08:00-12:00", "13:00-17:00"]
tue = ["08:00-12:00", "13:00-17:00"]
wed = ["08:00-12:00", "13:00-17:00"]
thu = ["08:00-12:00", "13:00-17:00"]
fri = ["08:00-12:00", "13:00-17:00"]
"#
    ))
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn due(c: &Calendar, start: &str, secs: i64) -> DateTime<Utc> {
    c.add_business(t(start), Duration::seconds(secs)).unwrap().0
}

#[test]
fn friday_afternoon_runs_into_the_saturday_night_shift() {
    // Fri 16:00 WIB: 1 h until 17:00, then Sat 22:00 + 3 h = Sun 01:00 WIB.
    let c = jakarta();
    assert_eq!(
        due(&c, "2026-12-04T16:00:00+07:00", 4 * 3600),
        t("2026-12-06T01:00:00+07:00")
    );
    let (_, counted) = c
        .add_business(t("2026-12-04T16:00:00+07:00"), Duration::hours(4))
        .unwrap();
    assert_eq!(
        counted,
        vec![
            Interval {
                from: t("2026-12-04T16:00:00+07:00"),
                to: t("2026-12-04T17:00:00+07:00")
            },
            Interval {
                from: t("2026-12-05T22:00:00+07:00"),
                to: t("2026-12-06T01:00:00+07:00")
            },
        ]
    );
}

#[test]
fn holidays_are_skipped_and_a_holiday_closes_the_night_shift_starting_on_it() {
    // Wed 23 Dec 15:00: 2 h that day; 24 and 25 are holidays; Sat 26 22:00 + 6 h = Sun 04:00.
    let c = jakarta();
    assert_eq!(
        due(&c, "2026-12-23T15:00:00+07:00", 8 * 3600),
        t("2026-12-27T04:00:00+07:00")
    );
    // With Saturday 5 Dec a holiday its 22:00-06:00 shift is closed: Fri 1 h, Mon 08:00 + 3 h.
    let mut c = jakarta();
    c.holidays
        .insert(NaiveDate::from_ymd_opt(2026, 12, 5).unwrap(), "test".into());
    assert_eq!(
        due(&c, "2026-12-04T16:00:00+07:00", 4 * 3600),
        t("2026-12-07T11:00:00+07:00")
    );
    // A holiday on Sunday does not cut short the shift that started on Saturday.
    let mut c = jakarta();
    c.holidays
        .insert(NaiveDate::from_ymd_opt(2026, 12, 6).unwrap(), "test".into());
    assert_eq!(
        due(&c, "2026-12-05T23:00:00+07:00", 6 * 3600),
        t("2026-12-06T05:00:00+07:00")
    );
}

#[test]
fn the_same_instant_in_three_indonesian_zones() {
    // Tue 1 Dec 01:30Z is 08:30 WIB, 09:30 WITA, 10:30 WIT; 7 business hours each.
    let start = "2026-12-01T01:30:00Z";
    // WIB: 08:30-12:00 (3.5 h) + 13:00-16:30.
    assert_eq!(
        due(&office("Asia/Jakarta"), start, 7 * 3600),
        t("2026-12-01T16:30:00+07:00")
    );
    // WITA: 09:30-12:00 (2.5) + 13:00-17:00 (4) + Wed 08:00-08:30.
    assert_eq!(
        due(&office("Asia/Makassar"), start, 7 * 3600),
        t("2026-12-02T08:30:00+08:00")
    );
    // WIT: 10:30-12:00 (1.5) + 13:00-17:00 (4) + Wed 08:00-09:30.
    assert_eq!(
        due(&office("Asia/Jayapura"), start, 7 * 3600),
        t("2026-12-02T09:30:00+09:00")
    );
}

#[test]
fn second_precision_and_edges() {
    let c = office("Asia/Jakarta");
    // 90 min 30 s from 11:00: 1 h to noon, lunch, 13:30:30.
    assert_eq!(
        due(&c, "2026-12-01T11:00:00+07:00", 5430),
        t("2026-12-01T13:30:30+07:00")
    );
    // Using up the last second returns the close, not the next opening.
    assert_eq!(
        due(&c, "2026-12-01T16:00:00+07:00", 3600),
        t("2026-12-01T17:00:00+07:00")
    );
    // Starting at the close: one minute is the next morning.
    assert_eq!(due(&c, "2026-12-01T17:00:00+07:00", 60), t("2026-12-02T08:01:00+07:00"));
    // Starting in the night: the clock starts at opening.
    assert_eq!(due(&c, "2026-12-01T03:00:00+07:00", 60), t("2026-12-01T08:01:00+07:00"));
    assert_eq!(due(&c, "2026-12-01T03:00:00+07:00", 0), t("2026-12-01T03:00:00+07:00"));
    assert!(
        c.add_business(t("2026-12-01T03:00:00Z"), Duration::seconds(-1))
            .is_err()
    );
}

#[test]
fn business_time_between_two_instants() {
    let c = jakarta();
    // Fri 16:00 → Mon 10:00: 1 h Friday + 8 h Saturday night + 2 h Monday.
    let got = c.business_between(t("2026-12-04T16:00:00+07:00"), t("2026-12-07T10:00:00+07:00"));
    assert_eq!(got, Duration::hours(11));
    assert_eq!(
        c.business_between(t("2026-12-07T10:00:00+07:00"), t("2026-12-04T16:00:00+07:00")),
        Duration::zero()
    );
    // Inverse of add.
    let start = t("2026-12-23T15:00:00+07:00");
    let (end, _) = c.add_business(start, Duration::seconds(8 * 3600 + 17)).unwrap();
    assert_eq!(c.business_between(start, end), Duration::seconds(8 * 3600 + 17));
}

#[test]
fn an_overnight_block_meeting_the_next_morning_is_counted_once() {
    let c = cal(r#"
name = "night"
timezone = "Asia/Jakarta"
[hours]
sun = ["22:00-08:00"]
mon = ["06:00-10:00"]
"#);
    // Sun 6 Dec 22:00 → Mon 10:00 is 12 h, the overlap 06:00-08:00 once.
    assert_eq!(
        c.business_between(t("2026-12-06T21:00:00+07:00"), t("2026-12-07T11:00:00+07:00")),
        Duration::hours(12)
    );
    assert_eq!(
        due(&c, "2026-12-06T21:00:00+07:00", 11 * 3600),
        t("2026-12-07T09:00:00+07:00")
    );
    // Starting inside Sunday's shift after midnight (local date Monday) still counts it.
    assert_eq!(
        due(&c, "2026-12-07T01:00:00+07:00", 3600),
        t("2026-12-07T02:00:00+07:00")
    );
}

#[test]
fn working_days_count_from_the_day_after_receipt() {
    let c = office("Asia/Jakarta");
    // Mon 21 Dec: Tue 22, Wed 23, (24, 25 holidays, weekend), Mon 28 → 17:00 WIB.
    let (d, days) = c.add_business_days(t("2026-12-21T10:00:00+07:00"), 3).unwrap();
    assert_eq!(d, t("2026-12-28T17:00:00+07:00"));
    assert_eq!(days.len(), 3);
    // Received on a Saturday: Mon, Tue, Wed.
    assert_eq!(
        c.add_business_days(t("2026-12-05T10:00:00+07:00"), 3).unwrap().0,
        t("2026-12-09T17:00:00+07:00")
    );
    // 23:30 WIB on Mon 30 Nov is already Tue 1 Dec in Jayapura.
    let wit = office("Asia/Jayapura");
    assert_eq!(
        wit.add_business_days(t("2026-11-30T23:30:00+07:00"), 1).unwrap().0,
        t("2026-12-02T17:00:00+09:00")
    );
    assert!(c.add_business_days(t("2026-12-05T10:00:00Z"), 0).is_err());
}

#[test]
fn a_zone_with_daylight_saving_is_not_assumed_away() {
    // Berlin springs forward on Sun 29 Mar 2026: that day has 23 hours.
    let c = cal("name='b'\ntimezone='Europe/Berlin'\n[hours]\nsun=['00:00-24:00']\n");
    assert_eq!(
        c.business_between(t("2026-03-28T00:00:00Z"), t("2026-03-31T00:00:00Z")),
        Duration::hours(23)
    );
    // 02:30 does not exist that day; a block starting then begins at 03:00 CEST.
    let c = cal("name='b'\ntimezone='Europe/Berlin'\n[hours]\nsun=['02:30-04:00']\n");
    assert_eq!(due(&c, "2026-03-29T00:00:00Z", 60), t("2026-03-29T03:01:00+02:00"));
}
