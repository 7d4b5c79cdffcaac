//! `AllocateMessageQueueConsistentHash` ("CONSISTENT_HASH") and the ring it builds, RocketMQ's
//! `common/.../consistenthash/ConsistentHashRouter` with `VirtualNode` and the default `MD5Hash`.
//!
//! Each consumer puts `virtual_node_count` points on a ring of 32-bit values: the point of replica `k` is the hash
//! of `clientId-k`. A queue is hashed from `MessageQueue.toString()` and belongs to the consumer owning the first
//! point at or after that hash, wrapping to the smallest point. The hash is the first four bytes of the key's MD5
//! digest read as an unsigned big-endian number (Java keeps it in a `long`, so it never goes negative; `u32` holds
//! it exactly). 4.9 hashes `key.getBytes()` in the platform charset, 5.x in UTF-8 explicitly; Rust strings are
//! UTF-8, which is what 4.9 does on every usual JVM setup.
//!
//! Invariant: like Java's `TreeMap.put`, a later virtual node whose hash collides with an earlier one replaces it,
//! so the ring depends on the order of `cidAll` only through such (rare) collisions.

use std::collections::BTreeMap;

use md5::{Digest, Md5};

use crate::message_queue::MessageQueue;

/// `ConsistentHashRouter.MD5Hash.hash`: the first 4 bytes of MD5(UTF-8 key), unsigned big-endian.
pub fn md5_hash(key: &str) -> u32 {
    let digest = Md5::digest(key.as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// One point on the ring: the virtual node `client_id-replica_index` and its hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingPoint<'a> {
    pub hash: u32,
    pub client_id: &'a str,
    pub replica_index: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct VirtualNode {
    physical_node: String,
    replica_index: u32,
}

/// `ConsistentHashRouter<ClientNode>` with the MD5 hash function.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsistentHashRouter {
    ring: BTreeMap<u32, VirtualNode>,
}

impl ConsistentHashRouter {
    /// A ring with `virtual_node_count` points for each of `nodes`, added in order.
    pub fn new(nodes: &[String], virtual_node_count: u32) -> Self {
        let mut router = ConsistentHashRouter::default();
        for node in nodes {
            router.add_node(node, virtual_node_count);
        }
        router
    }

    /// `addNode`: replica indices continue after the node's points already on the ring, so adding a node twice
    /// gives it `node-10..node-19` rather than the same points again.
    pub fn add_node(&mut self, node: &str, virtual_node_count: u32) {
        let existing_replicas = self.existing_replicas(node);
        for i in 0..virtual_node_count {
            let replica_index = i + existing_replicas;
            let hash = md5_hash(&format!("{node}-{replica_index}"));
            self.ring.insert(hash, VirtualNode { physical_node: node.to_string(), replica_index });
        }
    }

    /// `removeNode`: every point of `node` leaves the ring.
    pub fn remove_node(&mut self, node: &str) {
        self.ring.retain(|_, virtual_node| virtual_node.physical_node != node);
    }

    /// `getExistingReplicas`: how many points of `node` are on the ring now.
    pub fn existing_replicas(&self, node: &str) -> u32 {
        let count = self.ring.values().filter(|virtual_node| virtual_node.physical_node == node).count();
        u32::try_from(count).expect("ring size fits in u32")
    }

    /// `routeNode` with the point that decided it: the first point at or after `hash(object_key)`, else the
    /// first point of the ring; `None` on an empty ring (Java returns null).
    pub fn route(&self, object_key: &str) -> Option<RingPoint<'_>> {
        let hash = md5_hash(object_key);
        let (point_hash, virtual_node) = self.ring.range(hash..).next().or_else(|| self.ring.iter().next())?;
        Some(RingPoint {
            hash: *point_hash,
            client_id: &virtual_node.physical_node,
            replica_index: virtual_node.replica_index,
        })
    }

    /// `routeNode`: the client id owning `object_key`.
    pub fn route_node(&self, object_key: &str) -> Option<&str> {
        self.route(object_key).map(|point| point.client_id)
    }

    /// Every point of the ring in ascending hash order.
    pub fn points(&self) -> impl Iterator<Item = RingPoint<'_>> {
        self.ring.iter().map(|(hash, virtual_node)| RingPoint {
            hash: *hash,
            client_id: &virtual_node.physical_node,
            replica_index: virtual_node.replica_index,
        })
    }
}

/// CONSISTENT_HASH for `current_cid` (already checked to be in `cid_all`); keeps `mq_all`'s order.
pub(super) fn allocate_consistent_hash(
    virtual_node_count: u32,
    current_cid: &str,
    mq_all: &[MessageQueue],
    cid_all: &[String],
) -> Vec<MessageQueue> {
    let router = ConsistentHashRouter::new(cid_all, virtual_node_count);
    mq_all.iter().filter(|mq| router.route_node(&mq.to_string()) == Some(current_cid)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_hash_takes_the_first_four_digest_bytes_unsigned() {
        // Spec §13 item 6, cross-checked with Python: int.from_bytes(md5(key).digest()[:4], "big").
        assert_eq!(md5_hash("c0-0"), 2_316_876_094);
        assert_eq!(md5_hash("MessageQueue [topic=TopicTest, brokerName=broker-a, queueId=0]"), 1_987_926_524);
        // MD5("") = d41d8cd9...: the value is above i32::MAX, so it must not be sign-extended.
        assert_eq!(md5_hash(""), 0xD41D_8CD9);
    }

    #[test]
    fn routing_wraps_to_the_smallest_point_past_the_largest() {
        let router = ConsistentHashRouter::new(&["c0".to_string(), "c1".to_string()], 3);
        let points: Vec<RingPoint<'_>> = router.points().collect();
        assert_eq!(points.len(), 6);
        assert!(points.windows(2).all(|pair| pair[0].hash < pair[1].hash));
        // Find a key hashing past the last point; it must land on the first point.
        let last = points.last().unwrap().hash;
        let key = (0..10_000).map(|i| format!("k{i}")).find(|key| md5_hash(key) > last).expect("some key wraps");
        assert_eq!(router.route(&key), Some(points[0]));
    }

    #[test]
    fn a_queue_routes_to_the_first_point_at_or_after_its_hash() {
        let router = ConsistentHashRouter::new(&["c0".to_string(), "c1".to_string(), "c2".to_string()], 10);
        let key = "MessageQueue [topic=TopicTest, brokerName=broker-a, queueId=0]";
        let point = router.route(key).unwrap();
        assert!(point.hash >= md5_hash(key));
        assert!(router.points().all(|p| p.hash < md5_hash(key) || p.hash >= point.hash));
        assert_eq!(point.client_id, "c1");
    }

    #[test]
    fn adding_a_node_twice_continues_its_replica_numbering_and_removing_clears_it() {
        let mut router = ConsistentHashRouter::new(&["c0".to_string()], 2);
        router.add_node("c0", 2);
        let mut replicas: Vec<u32> = router.points().map(|p| p.replica_index).collect();
        replicas.sort();
        assert_eq!(replicas, vec![0, 1, 2, 3]);
        assert_eq!(router.existing_replicas("c0"), 4);
        router.remove_node("c0");
        assert_eq!(router.route_node("anything"), None);
    }
}
