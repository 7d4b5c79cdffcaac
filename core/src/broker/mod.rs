//! The Broker: storage engine, send/pull processing, replication, schedule and transaction services.

pub mod broker_fast_failure;
pub mod broker_store_io;
pub mod controller;
pub mod delay_level;
pub mod send_message_processor;
pub mod store;
pub mod topic_config_manager;
pub mod topic_validator;
