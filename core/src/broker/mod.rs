//! The Broker: storage engine, send/pull processing, replication, schedule and transaction services.

pub mod controller;
pub mod delay_level;
pub mod store;
