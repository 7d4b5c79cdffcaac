//! Observations: what nodes report for the checkers, the charts and the fate ledger.
//!
//! Nodes emit them and never read them back; checkers only read them. Each names RocketMQ's
//! own concepts so that a verdict can point at the event that caused it.

use serde::{Deserialize, Serialize};

/// Why a NameServer dropped a broker from its routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BrokerRemovalReason {
    /// The periodic scan found no registration for longer than the expiry time.
    Expired,
    /// The broker's connection closed (Netty channel inactive).
    ChannelClosed,
    /// The broker said goodbye (UNREGISTER_BROKER on graceful shutdown).
    Unregistered,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Observation {
    /// A NameServer added a broker address to its routes.
    BrokerRegistered { broker_name: String, broker_addr: String, broker_id: u64 },
    /// A NameServer removed a broker address from its routes.
    BrokerRemoved { broker_name: String, broker_addr: String, reason: BrokerRemovalReason },
}
