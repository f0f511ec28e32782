//! Verified API tokens and sessions, kept for a few seconds per process so a busy agent or
//! integration does not cost a database round trip on every request (`auth.token_cache_secs`).
//!
//! A token revoked (a session ended) on this process is forgotten at once; another process
//! trusts what it verified for at most the cache's lifetime, and never past the token's own
//! expiry. 0 turns the cache off.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;

use super::Principal;

/// More entries than this and the expired ones are dropped (all of them, if none has expired):
/// the cache's memory stays bounded whatever the number of tokens in use.
const MAX_ENTRIES: usize = 10_000;

pub struct TokenCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    principal: Principal,
    verified: Instant,
    /// The token's own expiry (on the application clock).
    expires_at: Option<NaiveDateTime>,
}

impl TokenCache {
    pub fn new(ttl: Duration) -> TokenCache {
        TokenCache {
            ttl,
            entries: Mutex::default(),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The principal of the token with this hash, if verified recently and not expired at `now`.
    pub fn get(&self, token_hash: &str, now: NaiveDateTime) -> Option<Principal> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries();
        let e = entries.get(token_hash)?;
        let fresh = e.verified.elapsed() < self.ttl && e.expires_at.is_none_or(|x| x > now);
        fresh.then(|| e.principal.clone())
    }

    pub fn put(&self, token_hash: String, principal: Principal, expires_at: Option<NaiveDateTime>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.verified.elapsed() < self.ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            token_hash,
            Entry {
                principal,
                verified: Instant::now(),
                expires_at,
            },
        );
    }

    /// Forgets a token (revoked, or its session ended).
    pub fn forget(&self, token_hash: &str) {
        self.entries().remove(token_hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn agent() -> Principal {
        Principal {
            user_id: 7,
            email: "a@x.example".into(),
            name: "A".into(),
            role: Role::Agent,
            team_id: None,
        }
    }

    fn at(h: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    #[test]
    fn keeps_until_forgotten_or_expired() {
        let c = TokenCache::new(Duration::from_secs(60));
        c.put("h".into(), agent(), Some(at(12)));
        assert_eq!(c.get("h", at(11)).map(|p| p.user_id), Some(7));
        assert!(c.get("h", at(12)).is_none(), "not past the token's own expiry");
        assert!(c.get("other", at(11)).is_none());
        c.forget("h");
        assert!(c.get("h", at(11)).is_none());
    }

    #[test]
    fn lifetime_and_off() {
        let c = TokenCache::new(Duration::from_millis(1));
        c.put("h".into(), agent(), None);
        std::thread::sleep(Duration::from_millis(5));
        assert!(c.get("h", at(1)).is_none());
        let off = TokenCache::new(Duration::ZERO);
        off.put("h".into(), agent(), None);
        assert!(off.get("h", at(1)).is_none());
    }

    #[test]
    fn stays_bounded() {
        let c = TokenCache::new(Duration::from_secs(60));
        for i in 0..MAX_ENTRIES + 5 {
            c.put(format!("h{i}"), agent(), None);
        }
        assert!(c.entries().len() <= MAX_ENTRIES);
        assert!(c.get(&format!("h{}", MAX_ENTRIES + 4), at(1)).is_some());
    }
}
