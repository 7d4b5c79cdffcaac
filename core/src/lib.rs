//! rmqsim-core: a deterministic, sans-IO simulation of Apache RocketMQ.
//!
//! See ARCHITECTURE.md at the repository root for the map and the invariants.

pub mod broker;
pub mod consumer;
pub mod explain;
pub mod java;
pub mod message_queue;
pub mod prng;
pub mod producer;
pub mod sim;
pub mod time;
