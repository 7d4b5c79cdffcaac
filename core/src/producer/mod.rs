//! Producer clients: route cache, queue selection, latency fault tolerance, every send path, and the
//! workload applications that drive them.
//!
//! Pure algorithms (`selector`, `latency_fault`, `topic_publish_info`, `compression`) are tested on their
//! own; `client` is the producer process as a node of the simulation (`MQClientInstance` +
//! `DefaultMQProducerImpl` + the remoting client) and `node` puts a workload (`workload`) in front of it.

pub mod client;
pub mod compression;
pub mod config;
pub mod latency_fault;
pub mod message;
pub mod node;
pub mod selector;
pub mod send_result;
pub mod topic_publish_info;
pub mod transaction;
pub mod workload;
