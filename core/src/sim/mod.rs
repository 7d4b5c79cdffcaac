//! The deterministic simulation kernel: virtual time, events, network, disks, faults and trace.
//!
//! Nothing in here knows RocketMQ: the kernel is generic over a [`node::Node`] type.

pub mod disk;
pub mod event_queue;
pub mod faults;
pub mod kernel;
pub mod limits;
pub mod network;
pub mod node;
pub mod trace;
