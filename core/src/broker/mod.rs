//! The Broker: storage engine, send/pull processing, replication, schedule and transaction services.

pub mod admin_broker_processor;
pub mod broker_fast_failure;
pub mod broker_store_io;
pub mod client_housekeeping_service;
pub mod consumer_manage_processor;
pub mod consumer_manager;
pub mod consumer_offset_manager;
pub mod consumer_send_msg_back;
pub mod consumer_services;
pub mod controller;
pub mod delay_level;
pub mod dledger;
pub mod ha;
pub mod pull_message_processor;
pub mod pull_request_hold_service;
pub mod rebalance_lock_manager;
pub mod schedule_message_service;
pub mod send_message_processor;
pub mod store;
pub mod timer;
pub mod topic_config_manager;
pub mod topic_validator;
pub mod transaction;
