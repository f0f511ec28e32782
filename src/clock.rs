//! Injectable time. Production uses [`SystemClock`]; tests drive a [`FakeClock`].

use std::sync::Mutex;

use chrono::{DateTime, Duration, NaiveDateTime, SubsecRound, Utc};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    /// Now as the naive UTC timestamp stored in the database.
    fn now_naive(&self) -> NaiveDateTime {
        self.now().naive_utc()
    }
}

#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    /// In whole microseconds: PostgreSQL keeps timestamps to the microsecond, so a row built from
    /// the values it was written with (rather than read back) must not carry nanoseconds that a
    /// later read of the same row would not show.
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct FakeClock(Mutex<DateTime<Utc>>);

impl FakeClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        FakeClock(Mutex::new(start))
    }

    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = to;
    }
}

impl Clock for FakeClock {
    /// In whole microseconds, like [`SystemClock`].
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).trunc_subsecs(6)
    }
}

/// Database timestamps are naive UTC; this turns them back into `DateTime<Utc>` for JSON.
pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;

    #[test]
    fn system_time_is_in_whole_microseconds() {
        // Several readings, so one that happens to fall on a whole microsecond proves nothing.
        for _ in 0..100 {
            assert_eq!(SystemClock.now().nanosecond() % 1_000, 0);
        }
        let fake = FakeClock::new(Utc::now());
        fake.set(DateTime::from_timestamp(1_764_547_200, 123_456_789).expect("valid time"));
        assert_eq!(fake.now().nanosecond(), 123_456_000);
    }
}
