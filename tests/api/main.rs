//! Integration tests through the real HTTP app, each on SQLite and on PostgreSQL.

mod auth;
mod email;
mod helpers;
mod idempotency;
mod intake;
mod jobs_webhooks;
mod listing;
mod migrations;
mod public;
mod smoke;
mod status;
mod validation;
