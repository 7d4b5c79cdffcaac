//! Consumer clients: the push consumer (long-polling pull underneath, concurrent or orderly listener)
//! and the lite pull consumer, with rebalancing, allocation strategies, process queues, offset stores,
//! consume services and the application behind them. `client.rs` is the process; each RocketMQ service
//! it runs has its own file.

pub mod allocate;
pub mod client;
pub mod config;
pub mod consume_concurrently;
pub mod consume_orderly;
pub mod forward;
pub mod lite_pull_consumer;
pub mod live;
pub mod offset_store;
pub mod process_queue;
pub mod pull_message_service;
pub mod rebalance;
pub mod remoting;
pub mod spec;
pub mod trace;
pub mod workload;

#[cfg(test)]
mod client_tests;
