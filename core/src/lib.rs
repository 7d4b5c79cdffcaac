//! rmqsim-core: a deterministic, sans-IO simulation of Apache RocketMQ.
//!
//! See ARCHITECTURE.md at the repository root for the map and the invariants.

pub mod action_log;
pub mod broker;
pub mod check;
pub mod consumer;
pub mod controller;
pub mod explain;
pub mod filter;
pub mod java;
pub mod message_queue;
pub mod metrics;
pub mod name_server;
pub mod observation;
pub mod observation_log;
pub mod prng;
pub mod producer;
pub mod protocol;
pub mod query;
pub mod replication_metrics;
pub mod replication_sweep;
pub mod route;
pub mod scenario;
pub mod sim;
pub mod simulation;
pub mod time;
pub mod timeline;
pub mod trace;
pub mod view;
pub mod world;
pub mod xray;

pub use simulation::Simulation;
