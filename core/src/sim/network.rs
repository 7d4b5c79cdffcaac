//! The network: one TCP-like connection per ordered pair of nodes.
//!
//! RocketMQ's remoting runs over TCP, so a connection delivers in order: a message never
//! overtakes an earlier one on the same connection, even when its own latency draw is smaller.
//! Latency is `base + uniform(0..=jitter)` from the sender's network stream. Faults are set per
//! directed link:
//! - a **partition** (one-way or both ways) drops what crosses it and breaks the connection, so
//!   what was already in flight is lost too; callers notice only through their own timeouts;
//! - **hold** keeps messages back until **release**, which delivers them in order;
//! - **clog** adds latency (a congested or slow link);
//! - **loss** and **duplication** (parts per million) model a broken middlebox or a retransmitting
//!   proxy, and are off by default.
//!
//! A connection is identified by its epoch: breaking it bumps the epoch, and deliveries stamped
//! with an older epoch are dropped when they arrive.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::prng::Prng;
use crate::sim::node::NodeId;
use crate::time::{Duration, Time};

/// Latency and fault knobs of one directed link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkConfig {
    pub base_latency: Duration,
    pub jitter: Duration,
    /// Probability (parts per million) that a message is silently lost.
    pub loss_ppm: u32,
    /// Probability (parts per million) that a message is delivered twice.
    pub duplicate_ppm: u32,
}

impl Default for LinkConfig {
    /// A datacenter LAN: 200 µs one way, up to 100 µs jitter, nothing lost.
    fn default() -> Self {
        LinkConfig {
            base_latency: Duration::from_micros(200),
            jitter: Duration::from_micros(100),
            loss_ppm: 0,
            duplicate_ppm: 0,
        }
    }
}

/// The state of one directed connection `from → to`.
#[derive(Clone, Debug, Default)]
struct Connection {
    epoch: u32,
    /// The latest delivery time scheduled on this connection (FIFO floor for the next one).
    last_delivery: Time,
    blocked: bool,
    held: bool,
    clog: Duration,
    /// Overrides the default link config when set.
    config: Option<LinkConfig>,
}

/// Why the network did not deliver a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DropReason {
    Partitioned,
    Lost,
    ConnectionBroken,
    ReceiverDown,
}

/// What to do with a message that was just sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Routing {
    /// Deliver at these times (two entries when duplicated), stamped with the connection epoch.
    Deliver {
        at: Vec<Time>,
        epoch: u32,
    },
    /// Keep it until the link is released.
    Hold,
    Drop(DropReason),
}

#[derive(Clone, Debug, Default)]
pub struct Network {
    pub default_link: LinkConfig,
    connections: BTreeMap<(NodeId, NodeId), Connection>,
}

impl Network {
    pub fn new(default_link: LinkConfig) -> Network {
        Network { default_link, connections: BTreeMap::new() }
    }

    fn connection(&mut self, from: NodeId, to: NodeId) -> &mut Connection {
        self.connections.entry((from, to)).or_default()
    }

    /// Decide the fate of a message sent now from `from` to `to`, drawing from the sender's stream.
    pub fn route(&mut self, from: NodeId, to: NodeId, now: Time, rng: &mut Prng) -> Routing {
        let default_link = self.default_link.clone();
        let conn = self.connection(from, to);
        if conn.blocked {
            return Routing::Drop(DropReason::Partitioned);
        }
        if conn.held {
            return Routing::Hold;
        }
        let link = conn.config.clone().unwrap_or(default_link);
        if rng.chance_ppm(link.loss_ppm) {
            return Routing::Drop(DropReason::Lost);
        }
        let copies = if rng.chance_ppm(link.duplicate_ppm) { 2 } else { 1 };
        let mut at = Vec::with_capacity(copies);
        for _ in 0..copies {
            let latency = link.base_latency + Duration(rng.between(0, link.jitter.as_micros())) + conn.clog;
            let when = (now + latency).max(conn.last_delivery);
            conn.last_delivery = when;
            at.push(when);
        }
        Routing::Deliver { at, epoch: conn.epoch }
    }

    /// Whether a delivery stamped with `epoch` is still valid on `from → to`.
    pub fn is_current(&self, from: NodeId, to: NodeId, epoch: u32) -> bool {
        self.connections.get(&(from, to)).map_or(0, |c| c.epoch) == epoch
    }

    /// Break both directions between `a` and `b`: in-flight messages will be dropped on arrival.
    pub fn break_connection(&mut self, a: NodeId, b: NodeId) {
        for (from, to) in [(a, b), (b, a)] {
            let conn = self.connection(from, to);
            conn.epoch = conn.epoch.wrapping_add(1);
        }
    }

    /// Block `from → to` (a one-way partition) and break the connection.
    pub fn block(&mut self, from: NodeId, to: NodeId) {
        self.connection(from, to).blocked = true;
        self.break_connection(from, to);
    }

    pub fn unblock(&mut self, from: NodeId, to: NodeId) {
        self.connection(from, to).blocked = false;
    }

    pub fn is_blocked(&self, from: NodeId, to: NodeId) -> bool {
        self.connections.get(&(from, to)).is_some_and(|c| c.blocked)
    }

    pub fn set_held(&mut self, from: NodeId, to: NodeId, held: bool) {
        self.connection(from, to).held = held;
    }

    pub fn set_clog(&mut self, from: NodeId, to: NodeId, extra: Duration) {
        self.connection(from, to).clog = extra;
    }

    pub fn set_link_config(&mut self, from: NodeId, to: NodeId, config: Option<LinkConfig>) {
        self.connection(from, to).config = config;
    }

    /// Directed links that currently have a fault, for views: (from, to, blocked, held, clog).
    pub fn faulty_links(&self) -> Vec<(NodeId, NodeId, bool, bool, Duration)> {
        self.connections
            .iter()
            .filter(|(_, c)| c.blocked || c.held || c.clog > Duration::ZERO)
            .map(|(&(from, to), c)| (from, to, c.blocked, c.held, c.clog))
            .collect()
    }

    /// Lift every partition, hold and clog (held messages are the caller's to release).
    pub fn heal_all(&mut self) -> Vec<(NodeId, NodeId)> {
        let mut released = Vec::new();
        for (&pair, conn) in self.connections.iter_mut() {
            if conn.held {
                released.push(pair);
            }
            conn.blocked = false;
            conn.held = false;
            conn.clog = Duration::ZERO;
        }
        released
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prng::{Concern, StreamOwner};

    fn rng() -> Prng {
        Prng::stream(3, StreamOwner::Node(0), Concern::Network)
    }

    #[test]
    fn a_connection_never_reorders_messages() {
        let mut net = Network::new(LinkConfig { jitter: Duration::from_millis(50), ..LinkConfig::default() });
        let mut rng = rng();
        let mut last = Time::ZERO;
        for i in 0..1_000u64 {
            match net.route(NodeId(0), NodeId(1), Time::from_micros(i * 10), &mut rng) {
                Routing::Deliver { at, .. } => {
                    assert!(at[0] >= last);
                    last = at[0];
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn a_partition_drops_new_messages_and_invalidates_in_flight_ones() {
        let mut net = Network::new(LinkConfig::default());
        let mut rng = rng();
        let Routing::Deliver { epoch, .. } = net.route(NodeId(0), NodeId(1), Time::ZERO, &mut rng) else { panic!() };
        net.block(NodeId(0), NodeId(1));
        assert!(!net.is_current(NodeId(0), NodeId(1), epoch));
        assert_eq!(net.route(NodeId(0), NodeId(1), Time::ZERO, &mut rng), Routing::Drop(DropReason::Partitioned));
        assert!(matches!(net.route(NodeId(1), NodeId(0), Time::ZERO, &mut rng), Routing::Deliver { .. }));
    }

    #[test]
    fn held_links_hold_and_clogged_links_are_slower() {
        let mut net = Network::new(LinkConfig { jitter: Duration::ZERO, ..LinkConfig::default() });
        let mut rng = rng();
        net.set_held(NodeId(0), NodeId(1), true);
        assert_eq!(net.route(NodeId(0), NodeId(1), Time::ZERO, &mut rng), Routing::Hold);
        net.set_held(NodeId(0), NodeId(1), false);
        net.set_clog(NodeId(0), NodeId(1), Duration::from_millis(100));
        let Routing::Deliver { at, .. } = net.route(NodeId(0), NodeId(1), Time::ZERO, &mut rng) else { panic!() };
        assert_eq!(at, vec![Time::from_micros(100_200)]);
    }

    #[test]
    fn loss_and_duplication_follow_their_odds() {
        let link = LinkConfig { loss_ppm: 1_000_000, ..LinkConfig::default() };
        let mut net = Network::new(link);
        assert_eq!(net.route(NodeId(0), NodeId(1), Time::ZERO, &mut rng()), Routing::Drop(DropReason::Lost));
        let mut net = Network::new(LinkConfig { duplicate_ppm: 1_000_000, ..LinkConfig::default() });
        let Routing::Deliver { at, .. } = net.route(NodeId(0), NodeId(1), Time::ZERO, &mut rng()) else { panic!() };
        assert_eq!(at.len(), 2);
    }
}
