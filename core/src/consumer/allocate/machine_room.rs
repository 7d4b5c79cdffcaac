//! `AllocateMessageQueueByMachineRoom` ("MACHINE_ROOM") and `AllocateMachineRoomNearby`
//! ("MACHINE_ROOM_NEARBY-<inner>"): allocation that knows which data centre ("machine room", "idc") a broker
//! and a consumer live in.
//!
//! MACHINE_ROOM reads the room from the broker name (`idc@name`) and keeps only queues of the configured
//! `consumeridcs`, then splits them in blocks (remainder dealt one by one to the first consumers).
//! MACHINE_ROOM_NEARBY asks a `MachineRoomResolver` (here: data, two maps) where brokers and consumers are; the
//! queues of a room go to that room's consumers, the queues of rooms nobody consumes from are shared by all.
//! Rooms are visited in Java `TreeMap` order (UTF-16 string order), which fixes the order of the result.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use super::{AllocateError, AllocateMessageQueueStrategy};
use crate::java;
use crate::message_queue::MessageQueue;

/// `AllocateMachineRoomNearby.MachineRoomResolver` as data: where each broker and each consumer is deployed.
/// A missing or empty room is what Java calls a null room, and makes allocation fail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MachineRoomResolver {
    /// brokerName → machine room (`brokerDeployIn` looks only at the queue's broker).
    pub broker_rooms: BTreeMap<String, String>,
    /// client id → machine room (`consumerDeployIn`).
    pub consumer_rooms: BTreeMap<String, String>,
}

impl MachineRoomResolver {
    /// `brokerDeployIn(messageQueue)`.
    pub fn broker_deploy_in(&self, message_queue: &MessageQueue) -> Option<&str> {
        non_empty(self.broker_rooms.get(&*message_queue.broker_name))
    }

    /// `consumerDeployIn(clientID)`.
    pub fn consumer_deploy_in(&self, client_id: &str) -> Option<&str> {
        non_empty(self.consumer_rooms.get(client_id))
    }
}

/// `StringUtils.isNoneEmpty`: an empty room counts as no room.
fn non_empty(room: Option<&String>) -> Option<&str> {
    room.map(String::as_str).filter(|room| !room.is_empty())
}

/// A `TreeMap<String, _>` key: ordered by Java `String.compareTo`, not by Rust's UTF-8 byte order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct JavaOrdered<'a>(&'a str);

impl Ord for JavaOrdered<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        java::compare_strings(self.0, other.0)
    }
}

impl PartialOrd for JavaOrdered<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Java `String.split("@")` for a one-character separator: like Rust's split, except that trailing empty
/// strings are dropped. (Java returns `[""]` for `""` where this returns `[]`; both have length ≠ 2, the only
/// thing MACHINE_ROOM looks at.)
fn split_like_java(text: &str, separator: char) -> Vec<&str> {
    let mut parts: Vec<&str> = text.split(separator).collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts
}

/// MACHINE_ROOM for the consumer at `index` of `consumer_count`.
pub(super) fn allocate_by_machine_room(
    consumer_idcs: &BTreeSet<String>,
    index: usize,
    mq_all: &[MessageQueue],
    consumer_count: usize,
) -> Vec<MessageQueue> {
    let premq_all: Vec<&MessageQueue> = mq_all
        .iter()
        .filter(|mq| {
            let parts = split_like_java(&mq.broker_name, '@');
            parts.len() == 2 && consumer_idcs.contains(parts[0])
        })
        .collect();
    // RocketMQ calls the quotient `mod` and the remainder `rem`: each consumer takes a block of `mod`, then the
    // first `rem` consumers take one more from the tail, consumer i the (i + mod*N)-th.
    let block = premq_all.len() / consumer_count;
    let remainder = premq_all.len() % consumer_count;
    let start = block * index;
    let mut result: Vec<MessageQueue> = premq_all[start..start + block].iter().map(|mq| (*mq).clone()).collect();
    if remainder > index {
        result.push(premq_all[index + block * consumer_count].clone());
    }
    result
}

/// MACHINE_ROOM_NEARBY: `inner` splits the queues of the current consumer's room among that room's consumers,
/// and the queues of every room without consumers among all consumers.
pub(super) fn allocate_machine_room_nearby(
    inner: &AllocateMessageQueueStrategy,
    resolver: &MachineRoomResolver,
    consumer_group: &str,
    current_cid: &str,
    mq_all: &[MessageQueue],
    cid_all: &[String],
) -> Result<Vec<MessageQueue>, AllocateError> {
    let mut queues_by_room: BTreeMap<JavaOrdered<'_>, Vec<MessageQueue>> = BTreeMap::new();
    for mq in mq_all {
        let room = resolver
            .broker_deploy_in(mq)
            .ok_or_else(|| AllocateError::MachineRoomUnknownForQueue { message_queue: mq.clone() })?;
        queues_by_room.entry(JavaOrdered(room)).or_default().push(mq.clone());
    }
    let mut consumers_by_room: BTreeMap<JavaOrdered<'_>, Vec<String>> = BTreeMap::new();
    for cid in cid_all {
        let room = resolver
            .consumer_deploy_in(cid)
            .ok_or_else(|| AllocateError::MachineRoomUnknownForConsumer { client_id: cid.clone() })?;
        consumers_by_room.entry(JavaOrdered(room)).or_default().push(cid.clone());
    }

    let mut result = Vec::new();
    // The caller checked that current_cid is in cid_all, so its room resolved above.
    let current_room = JavaOrdered(resolver.consumer_deploy_in(current_cid).expect("current consumer has a room"));
    if let Some(queues_here) = queues_by_room.remove(&current_room) {
        let consumers_here = &consumers_by_room[&current_room];
        result.extend(inner.allocate_as_java_returns(consumer_group, current_cid, &queues_here, consumers_here)?);
    }
    for (room, orphan_queues) in &queues_by_room {
        // Rooms with live consumers are served by those consumers' own step above.
        if !consumers_by_room.contains_key(room) {
            result.extend(inner.allocate_as_java_returns(consumer_group, current_cid, orphan_queues, cid_all)?);
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{cids, queues};
    use super::*;

    fn ids(queues: &[MessageQueue]) -> Vec<i32> {
        queues.iter().map(|q| q.queue_id).collect()
    }

    fn short(queues: &[MessageQueue]) -> Vec<String> {
        queues.iter().map(|q| format!("{}/{}", q.broker_name, q.queue_id)).collect()
    }

    #[test]
    fn machine_room_matches_rocketmqs_own_unit_test() {
        // AllocateMessageQueueByMachineRoomTest: queues 0-4 on room1@broker-a, 5-9 on room2@broker-b,
        // consumeridcs {room1}, two consumers → [0, 1, 4] and [2, 3].
        let mut mq_all: Vec<MessageQueue> = (0..5).map(|i| MessageQueue::new("topic", "room1@broker-a", i)).collect();
        mq_all.extend((5..10).map(|i| MessageQueue::new("topic", "room2@broker-b", i)));
        let strategy =
            AllocateMessageQueueStrategy::ByMachineRoom { consumer_idcs: BTreeSet::from(["room1".to_string()]) };
        let all = strategy.allocate_all("", &mq_all, &cids(&["CID_PREFIX0", "CID_PREFIX1"])).unwrap();
        assert_eq!(ids(&all[0].1), vec![0, 1, 4]);
        assert_eq!(ids(&all[1].1), vec![2, 3]);
    }

    #[test]
    fn machine_room_ignores_broker_names_without_exactly_one_idc_part() {
        let idcs = BTreeSet::from(["idc1".to_string()]);
        let mq_all = vec![
            MessageQueue::new("T", "idc1@a", 0),
            MessageQueue::new("T", "idc1@a@extra", 0),
            MessageQueue::new("T", "idc1", 0),
            // Java drops trailing empty strings: "idc1@b@" splits into ["idc1", "b"] and is kept.
            MessageQueue::new("T", "idc1@b@", 0),
            MessageQueue::new("T", "idc2@c", 0),
        ];
        let got = allocate_by_machine_room(&idcs, 0, &mq_all, 1);
        assert_eq!(short(&got), ["idc1@a/0", "idc1@b@/0"]);
    }

    #[test]
    fn machine_room_with_no_matching_queue_allocates_nothing() {
        let idcs = BTreeSet::from(["nowhere".to_string()]);
        assert!(allocate_by_machine_room(&idcs, 0, &queues("T", "idc1@a", 4), 2).is_empty());
    }

    fn nearby_fixture() -> (AllocateMessageQueueStrategy, Vec<MessageQueue>, Vec<String>) {
        let resolver = MachineRoomResolver {
            broker_rooms: BTreeMap::from([
                ("broker-a".to_string(), "r1".to_string()),
                ("broker-b".to_string(), "r2".to_string()),
                ("broker-c".to_string(), "r3".to_string()),
            ]),
            consumer_rooms: BTreeMap::from([
                ("c1".to_string(), "r1".to_string()),
                ("c2".to_string(), "r1".to_string()),
                ("c3".to_string(), "r2".to_string()),
            ]),
        };
        let strategy = AllocateMessageQueueStrategy::MachineRoomNearby {
            inner: Box::new(AllocateMessageQueueStrategy::Averagely),
            resolver,
        };
        let mut mq_all = queues("T", "broker-a", 4);
        mq_all.extend(queues("T", "broker-b", 4));
        mq_all.extend(queues("T", "broker-c", 2));
        (strategy, mq_all, cids(&["c1", "c2", "c3"]))
    }

    #[test]
    fn nearby_keeps_queues_in_their_room_and_shares_rooms_without_consumers() {
        let (strategy, mq_all, cid_all) = nearby_fixture();
        let all = strategy.allocate_all("G", &mq_all, &cid_all).unwrap();
        let got: Vec<Vec<String>> = all.iter().map(|(_, q)| short(q)).collect();
        assert_eq!(
            got,
            vec![
                // r1's queues split between c1 and c2; r3 has no consumer, so its two queues go AVG over all three.
                vec!["broker-a/0", "broker-a/1", "broker-c/0"],
                vec!["broker-a/2", "broker-a/3", "broker-c/1"],
                vec!["broker-b/0", "broker-b/1", "broker-b/2", "broker-b/3"],
            ]
        );
        assert_eq!(strategy.name(), "MACHINE_ROOM_NEARBY-AVG");
    }

    #[test]
    fn nearby_fails_like_java_when_a_room_is_unknown() {
        let (strategy, mut mq_all, cid_all) = nearby_fixture();
        mq_all.push(MessageQueue::new("T", "broker-x", 0));
        let error = strategy.allocate("G", "c1", &mq_all, &cid_all).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Machine room is null for mq MessageQueue [topic=T, brokerName=broker-x, queueId=0]"
        );
        let (strategy, mq_all, mut cid_all) = nearby_fixture();
        cid_all.push("c4".to_string());
        let error = strategy.allocate("G", "c1", &mq_all, &cid_all).unwrap_err();
        assert_eq!(error, AllocateError::MachineRoomUnknownForConsumer { client_id: "c4".to_string() });
    }

    #[test]
    fn nearby_visits_rooms_in_java_string_order() {
        // Two consumer-less rooms: "\u{FF61}" sorts after "\u{1F600}" in Java, before it in UTF-8.
        let resolver = MachineRoomResolver {
            broker_rooms: BTreeMap::from([
                ("broker-a".to_string(), "\u{FF61}".to_string()),
                ("broker-b".to_string(), "\u{1F600}".to_string()),
            ]),
            consumer_rooms: BTreeMap::from([("c1".to_string(), "home".to_string())]),
        };
        let strategy = AllocateMessageQueueStrategy::MachineRoomNearby {
            inner: Box::new(AllocateMessageQueueStrategy::Averagely),
            resolver,
        };
        let mut mq_all = queues("T", "broker-a", 1);
        mq_all.extend(queues("T", "broker-b", 1));
        let got = strategy.allocate("G", "c1", &mq_all, &cids(&["c1"])).unwrap();
        assert_eq!(short(&got), ["broker-b/0", "broker-a/0"]);
    }
}
