//! Human-friendly ticket numbers: the date in the programme's zone and a daily counter,
//! `YYMMDD` + at least four digits (`2608130017`). Digits only, so it is easy to read over the
//! phone with no ambiguous characters.
//!
//! Each process reserves numbers in blocks from `ticket_counters`, so creating a ticket does not
//! hold a hot counter row locked for the rest of its transaction (that would serialise every
//! creation on PostgreSQL). Numbers are unique but may have gaps (a restart forfeits the rest of a
//! block).
//!
//! A block holds 20 numbers when tickets come slowly and grows (doubling, up to 1,000) while each
//! block is used up within a second of being reserved, so that at thousands of tickets a second a
//! reservation (a transaction of its own, with its own commit, on PostgreSQL) is needed a few times
//! a second rather than a hundred; it shrinks again when a block lasts more than a minute. The
//! gaps a restart leaves are at most one block.
//!
//! On PostgreSQL a block is reserved in its own short transaction on a connection of its own
//! ([`crate::db::Db::side_pool`]): the counter row is locked only for that statement, never for
//! the rest of a (batched) write transaction that another writer thread could be waiting on
//! while holding this allocator, and a reserved block is never handed out twice. On SQLite (one
//! writer connection) the block is reserved inside the caller's transaction; a block reserved by a
//! transaction that later rolls back can then be handed out again, which the unique index on
//! `tickets.number` catches, and the caller resets the allocator and retries.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::db::schema::ticket_counters::dsl as tc;
use crate::db::{DbConnection, DbPool};

/// Smallest and largest block of numbers reserved at once.
const MIN_BLOCK: i64 = 20;
const MAX_BLOCK: i64 = 1_000;
/// A block used up sooner than this makes the next one twice as large.
const GROW_WITHIN: std::time::Duration = std::time::Duration::from_secs(1);
/// A block lasting longer than this makes the next one half as large.
const SHRINK_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

pub struct NumberAllocator {
    block: Mutex<Option<Block>>,
    /// Where blocks are reserved in their own transaction (PostgreSQL); `None`: in the caller's.
    side: Option<DbPool>,
}

impl std::fmt::Debug for NumberAllocator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NumberAllocator")
            .field("block", &self.block)
            .field("own_transaction", &self.side.is_some())
            .finish()
    }
}

#[derive(Debug)]
struct Block {
    day: String,
    next: i64,
    end: i64,
    /// How many numbers it held, and when it was reserved.
    size: i64,
    reserved_at: std::time::Instant,
}

/// The size of the block to reserve after `last` (none yet: the smallest).
fn next_size(last: Option<&Block>, now: std::time::Instant) -> i64 {
    let Some(last) = last else { return MIN_BLOCK };
    let lasted = now.duration_since(last.reserved_at);
    if lasted < GROW_WITHIN {
        (last.size * 2).min(MAX_BLOCK)
    } else if lasted > SHRINK_AFTER {
        (last.size / 2).max(MIN_BLOCK)
    } else {
        last.size
    }
}

impl NumberAllocator {
    pub fn new(side: Option<DbPool>) -> NumberAllocator {
        NumberAllocator {
            block: Mutex::default(),
            side,
        }
    }

    /// The next number for a ticket created at `now`.
    pub fn next(&self, conn: &mut DbConnection, now: DateTime<Utc>, tz: chrono_tz::Tz) -> QueryResult<String> {
        let day = now.with_timezone(&tz).format("%y%m%d").to_string();
        let mut guard = self.block.lock().unwrap_or_else(|p| p.into_inner());
        let usable = guard.as_ref().is_some_and(|b| b.day == day && b.next <= b.end);
        if !usable {
            let reserved_at = std::time::Instant::now();
            let size = next_size(guard.as_ref(), reserved_at);
            let end = match &self.side {
                Some(pool) => reserve_apart(pool, &day, size)?,
                None => reserve(conn, &day, size)?,
            };
            *guard = Some(Block {
                day: day.clone(),
                next: end - size + 1,
                end,
                size,
                reserved_at,
            });
        }
        let block = guard.as_mut().expect("block set above");
        let n = block.next;
        block.next += 1;
        Ok(format!("{day}{n:04}"))
    }

    /// Forgets the current block (after a collision).
    pub fn reset(&self) {
        *self.block.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// Reserves a block in a transaction of its own on `pool`. A connection found dead (the server
/// restarted) is dropped by the pool when handed back, and the reservation is tried once more on
/// a fresh one: at worst a block is forfeited, never handed out twice.
fn reserve_apart(pool: &DbPool, day: &str, size: i64) -> QueryResult<i64> {
    use diesel::result::{DatabaseErrorKind, Error};
    let mut last = None;
    for _ in 0..2 {
        let mut own = pool.get().map_err(|e| {
            Error::DatabaseError(
                DatabaseErrorKind::UnableToSendCommand,
                Box::new(format!("no connection to reserve ticket numbers: {e}")),
            )
        })?;
        match own.transaction(|c| reserve(c, day, size)) {
            Err(
                e @ Error::DatabaseError(
                    DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                    _,
                ),
            ) => last = Some(e),
            other => return other,
        }
    }
    Err(last.expect("two attempts failed"))
}

fn reserve(conn: &mut DbConnection, day: &str, n: i64) -> QueryResult<i64> {
    crate::dispatch!(conn, c => diesel::insert_into(tc::ticket_counters)
        .values((tc::day.eq(day), tc::last_value.eq(n)))
        .on_conflict(tc::day)
        .do_update()
        .set(tc::last_value.eq(tc::last_value + n))
        .returning(tc::last_value)
        .get_result::<i64>(c))
}

/// True for something shaped like a ticket number (cheap check before a lookup).
pub fn looks_like_number(s: &str) -> bool {
    (10..=16).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// Crockford base32: no I, L, O or U, so the token survives being read aloud or retyped.
const TOKEN_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new citizen access token (80 bits) and the hash that is stored.
pub fn new_access_token() -> (String, String) {
    let mut rng = rand::thread_rng();
    let token: String = (0..16)
        .map(|_| TOKEN_ALPHABET[rng.gen_range(0..TOKEN_ALPHABET.len())] as char)
        .collect();
    let hash = hash_access_token(&token);
    (token, hash)
}

/// Hash of a citizen token as typed: case-insensitive, spaces and dashes ignored.
pub fn hash_access_token(token: &str) -> String {
    let canonical: String = token
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_readable_and_hash_leniently() {
        let (token, hash) = new_access_token();
        assert_eq!(token.len(), 16);
        assert!(token.chars().all(|c| !"ILOU".contains(c)));
        assert_eq!(hash_access_token(&token.to_lowercase()), hash);
        let dashed = format!("{}-{}", &token[..8], &token[8..]);
        assert_eq!(hash_access_token(&dashed), hash);
    }

    #[test]
    fn blocks_grow_while_used_up_fast_and_shrink_when_slow() {
        let now = std::time::Instant::now();
        let block = |size, age| Block {
            day: "261201".into(),
            next: 1,
            end: 0,
            size,
            reserved_at: now - age,
        };
        let s = std::time::Duration::from_secs;
        assert_eq!(next_size(None, now), MIN_BLOCK);
        assert_eq!(
            next_size(Some(&block(20, std::time::Duration::from_millis(300))), now),
            40
        );
        assert_eq!(next_size(Some(&block(640, std::time::Duration::ZERO)), now), MAX_BLOCK);
        assert_eq!(
            next_size(Some(&block(MAX_BLOCK, std::time::Duration::ZERO)), now),
            MAX_BLOCK
        );
        assert_eq!(next_size(Some(&block(160, s(5))), now), 160);
        assert_eq!(next_size(Some(&block(160, s(61))), now), 80);
        assert_eq!(next_size(Some(&block(MIN_BLOCK, s(3600))), now), MIN_BLOCK);
    }

    #[test]
    fn number_shape() {
        assert!(looks_like_number("2608130017"));
        assert!(!looks_like_number("26081300a7"));
        assert!(!looks_like_number("1"));
    }
}
