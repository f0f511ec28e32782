//! Tanggap: a customer-first complaint and helpdesk ticketing system for public services.
//!
//! Every channel adapter hands one normalised message to [`intake`], the single path into the
//! ticket store; everything that leaves the system is a durable job ([`jobs`]).

pub mod admin;
pub mod auth;
pub mod channels;
pub mod cli;
pub mod clock;
pub mod config;
pub mod contacts;
pub mod context;
pub mod db;
pub mod demo;
pub mod email;
pub mod error;
pub mod idempotency;
pub mod intake;
pub mod jobs;
pub mod phone;
pub mod routing;
pub mod sla;
pub mod startup;
pub mod tickets;
pub mod web;
