//! Integration tests through the real HTTP app, each on SQLite and on PostgreSQL.

mod auth;
mod email;
mod fake_graph;
mod found_by_schemathesis;
mod group_commit;
mod helpers;
mod idempotency;
mod intake;
mod jobs_webhooks;
mod listing;
mod meta;
mod migrations;
mod openapi;
mod phone;
mod public;
mod routing;
mod sla;
mod sla_admin;
mod sla_rules;
mod smoke;
mod status;
mod storage;
mod validation;
