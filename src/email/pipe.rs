//! `tanggap ingest-email`: one RFC 5322 message on standard input, for MTA pipes
//! (`/etc/aliases`: `pengaduan: "|/usr/bin/tanggap ingest-email"`). The exit code tells the MTA
//! what to do: 0 stored (or a duplicate, auto-reply or bounce recorded), 75 (EX_TEMPFAIL) try
//! again later (database down, disk full), 65 (EX_DATAERR) the input is not a mail message.

use std::io::Read;

use crate::config::Settings;
use crate::context::AppContext;
use crate::error::AppError;

pub const EX_OK: i32 = 0;
pub const EX_DATAERR: i32 = 65;
pub const EX_TEMPFAIL: i32 = 75;

/// `tanggap ingest-email`: loads the configuration and runs [`run`] on standard input.
pub fn main(config_dir: &std::path::Path) -> i32 {
    match Settings::load(config_dir) {
        Ok(settings) => run(settings, &mut std::io::stdin().lock()),
        Err(e) => {
            eprintln!("ingest-email: configuration error, try again later: {e}");
            EX_TEMPFAIL
        }
    }
}

/// Reads the message from `input`, stores it, and returns the exit code (after telling stderr why).
pub fn run(settings: Settings, input: &mut impl Read) -> i32 {
    let mut raw = Vec::new();
    if let Err(e) = input.read_to_end(&mut raw) {
        eprintln!("ingest-email: cannot read standard input: {e}");
        return EX_TEMPFAIL;
    }
    let ctx = match AppContext::open(settings) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("ingest-email: the database is unavailable, try again later: {e:#}");
            return EX_TEMPFAIL;
        }
    };
    if let Err(e) = crate::startup::migrate(&ctx) {
        eprintln!("ingest-email: the database is unavailable, try again later: {e:#}");
        return EX_TEMPFAIL;
    }
    match super::ingest_blocking(&ctx, &raw) {
        Ok(report) => {
            println!("{}", serde_json::to_string(&report).unwrap_or_default());
            EX_OK
        }
        // Not a mail message, or one that can never be stored: retrying cannot help.
        Err(e @ (AppError::Validation(_) | AppError::BadRequest(_))) => {
            eprintln!("ingest-email: {e}");
            EX_DATAERR
        }
        Err(e) => {
            eprintln!("ingest-email: temporary failure, try again later: {e}");
            EX_TEMPFAIL
        }
    }
}
