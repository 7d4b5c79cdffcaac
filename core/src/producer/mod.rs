//! Producer clients: route cache, queue selection, latency fault tolerance, send paths.

pub mod latency_fault;
pub mod selector;
