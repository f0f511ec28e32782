//! The ticket store: model, status machine, numbering, SQL and the service that composes it.

pub mod delivery;
pub mod events;
pub mod model;
pub mod numbering;
pub mod public;
pub mod repo;
pub mod service;
pub mod status;

pub use model::{Actor, Channel, DeliveryState, Direction, Priority, Ticket};
pub use status::Status;
