//! The e-mail channel: citizens' mail in (IMAP poller, `tanggap ingest-email` for MTA pipes,
//! `POST /api/v1/channels/email/inbound`), one pipeline into [`crate::intake`], and mail out
//! (acknowledgement, agent replies, resolution notice) as durable `deliver_message` jobs over SMTP.
//! See docs/email.md.

pub mod address;
pub mod classify;
pub mod config;
pub mod imap;
pub mod inbound;
pub mod outbound;
pub mod parse;
pub mod pipe;
pub mod quote;
pub mod repo;
pub mod smtp;

pub use inbound::{EmailReport, ingest, ingest_blocking};
