//! Consumer clients: rebalance, allocation strategies, process queues, offset stores.

pub mod allocate;
