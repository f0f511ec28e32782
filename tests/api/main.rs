//! Integration tests through the real HTTP app, each on SQLite and on PostgreSQL.

mod helpers;
mod smoke;
