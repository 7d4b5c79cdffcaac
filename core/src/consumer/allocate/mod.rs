//! The `AllocateMessageQueueStrategy` implementations of RocketMQ: which queues of a topic each consumer of a
//! clustering group owns after a rebalance.
//!
//! Models `client/.../consumer/rebalance/*.java` of RocketMQ 4.9.8 (unchanged in 5.x apart from cosmetics):
//! `AllocateMessageQueueAveragely` ("AVG"), `AllocateMessageQueueAveragelyByCircle` ("AVG_BY_CIRCLE"),
//! `AllocateMessageQueueByConfig` ("CONFIG"), `AllocateMessageQueueByMachineRoom` ("MACHINE_ROOM"),
//! `AllocateMachineRoomNearby` ("MACHINE_ROOM_NEARBY-<inner>") and `AllocateMessageQueueConsistentHash`
//! ("CONSISTENT_HASH"). Every consumer runs the same pure function on the same inputs and keeps only its own
//! share; nobody coordinates. That is why the inputs must be sorted identically everywhere
//! (`RebalanceImpl.rebalanceByTopic` sorts both lists, see [`sort_for_rebalance`]) and why two consumers with
//! different views of `cidAll` can briefly own the same queue.
//!
//! Invariants: the functions are pure and deterministic (no hashing with random state, no clock); the result
//! preserves the order of `mq_all`, as RocketMQ's lists do; for Averagely and AveragelyByCircle the shares of all
//! consumers partition `mq_all` and differ in size by at most one (property-tested below).
//!
//! Argument checks follow `AbstractAllocateMessageQueueStrategy.check`. Where Java throws
//! `IllegalArgumentException` (empty current id, empty lists, unknown machine room) `RebalanceImpl` catches it and
//! leaves the topic's queues as they were; where Java returns an empty list (current id not in `cidAll`) the
//! consumer releases every queue of the topic. Both come back here as [`AllocateError`], and
//! [`AllocateError::rebalance_effect`] tells the two apart.

mod averagely;
mod consistent_hash;
mod machine_room;

use std::collections::BTreeSet;
use std::fmt;

use crate::java;
use crate::message_queue::MessageQueue;

pub use consistent_hash::{md5_hash, ConsistentHashRouter, RingPoint};
pub use machine_room::MachineRoomResolver;

/// `AllocateMessageQueueConsistentHash()` builds its ring with 10 virtual nodes per consumer.
pub const DEFAULT_VIRTUAL_NODE_COUNT: u32 = 10;

/// The strategy names a user can give, as `getName()` spells them; `<inner>` is any other name.
pub const STRATEGY_NAMES: [&str; 6] =
    ["AVG", "AVG_BY_CIRCLE", "CONFIG", "MACHINE_ROOM", "MACHINE_ROOM_NEARBY-<inner>", "CONSISTENT_HASH"];

const MACHINE_ROOM_NEARBY_PREFIX: &str = "MACHINE_ROOM_NEARBY-";

/// One allocation strategy with its settings, as a consumer is configured with one strategy object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllocateMessageQueueStrategy {
    /// "AVG": contiguous blocks; the first `M % N` consumers get one queue more.
    Averagely,
    /// "AVG_BY_CIRCLE": queues dealt round-robin, queue `j` to consumer `j % N`.
    AveragelyByCircle,
    /// "CONFIG": always the configured list, whatever the inputs (RocketMQ does not even check them).
    ByConfig { message_queue_list: Vec<MessageQueue> },
    /// "MACHINE_ROOM": only queues of brokers named `idc@name` whose idc is in `consumer_idcs`, in blocks.
    ByMachineRoom { consumer_idcs: BTreeSet<String> },
    /// "MACHINE_ROOM_NEARBY-<inner>": queues go to consumers of their own room; rooms without consumers are
    /// shared by everybody. `inner` splits each part.
    MachineRoomNearby { inner: Box<AllocateMessageQueueStrategy>, resolver: MachineRoomResolver },
    /// "CONSISTENT_HASH": each queue goes to the consumer owning the next point of an MD5 ring.
    ConsistentHash { virtual_node_count: u32 },
}

/// What a strategy needs besides its name; used by [`AllocateMessageQueueStrategy::from_name`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrategySettings {
    /// For "CONFIG" (`setMessageQueueList`).
    pub message_queue_list: Vec<MessageQueue>,
    /// For "MACHINE_ROOM" (`setConsumeridcs`).
    pub consumer_idcs: BTreeSet<String>,
    /// For "MACHINE_ROOM_NEARBY-<inner>" (the `MachineRoomResolver` given as data).
    pub machine_room_resolver: MachineRoomResolver,
    /// For "CONSISTENT_HASH"; RocketMQ's default is [`DEFAULT_VIRTUAL_NODE_COUNT`].
    pub virtual_node_count: u32,
}

impl Default for StrategySettings {
    fn default() -> Self {
        StrategySettings {
            message_queue_list: Vec::new(),
            consumer_idcs: BTreeSet::new(),
            machine_room_resolver: MachineRoomResolver::default(),
            virtual_node_count: DEFAULT_VIRTUAL_NODE_COUNT,
        }
    }
}

/// A strategy name that is none of [`STRATEGY_NAMES`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownStrategyName {
    pub name: String,
}

impl fmt::Display for UnknownStrategyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown allocation strategy \"{}\"; valid names: {}", self.name, STRATEGY_NAMES.join(", "))
    }
}

impl std::error::Error for UnknownStrategyName {}

/// Why a strategy produced no allocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllocateError {
    /// Java: `IllegalArgumentException("currentCID is empty")`.
    CurrentCidEmpty,
    /// Java: `IllegalArgumentException("mqAll is null or mqAll empty")`.
    MqAllEmpty,
    /// Java: `IllegalArgumentException("cidAll is null or cidAll empty")`.
    CidAllEmpty,
    /// Java logs "[BUG] ... not in cidAll" and returns an empty list.
    CurrentCidNotInCidAll { consumer_group: String, current_cid: String },
    /// Java (MACHINE_ROOM_NEARBY): `IllegalArgumentException("Machine room is null for mq " + mq)`.
    MachineRoomUnknownForQueue { message_queue: MessageQueue },
    /// Java (MACHINE_ROOM_NEARBY): `IllegalArgumentException("Machine room is null for consumer id " + cid)`.
    MachineRoomUnknownForConsumer { client_id: String },
}

/// What `RebalanceImpl.rebalanceByTopic` does with the topic when allocation fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RebalanceEffect {
    /// The strategy threw; the exception is logged and the topic's process queues stay untouched.
    KeepCurrentQueues,
    /// The strategy returned an empty list; the consumer drops every queue of the topic it held.
    ReleaseAllQueues,
}

impl AllocateError {
    pub fn rebalance_effect(&self) -> RebalanceEffect {
        match self {
            AllocateError::CurrentCidNotInCidAll { .. } => RebalanceEffect::ReleaseAllQueues,
            AllocateError::CurrentCidEmpty
            | AllocateError::MqAllEmpty
            | AllocateError::CidAllEmpty
            | AllocateError::MachineRoomUnknownForQueue { .. }
            | AllocateError::MachineRoomUnknownForConsumer { .. } => RebalanceEffect::KeepCurrentQueues,
        }
    }
}

impl fmt::Display for AllocateError {
    /// The message RocketMQ throws or logs, so traces read like the Java client's log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllocateError::CurrentCidEmpty => write!(f, "currentCID is empty"),
            AllocateError::MqAllEmpty => write!(f, "mqAll is null or mqAll empty"),
            AllocateError::CidAllEmpty => write!(f, "cidAll is null or cidAll empty"),
            AllocateError::CurrentCidNotInCidAll { consumer_group, current_cid } => {
                write!(f, "[BUG] ConsumerGroup: {consumer_group} The consumerId: {current_cid} not in cidAll")
            }
            AllocateError::MachineRoomUnknownForQueue { message_queue } => {
                write!(f, "Machine room is null for mq {message_queue}")
            }
            AllocateError::MachineRoomUnknownForConsumer { client_id } => {
                write!(f, "Machine room is null for consumer id {client_id}")
            }
        }
    }
}

impl std::error::Error for AllocateError {}

impl AllocateMessageQueueStrategy {
    /// RocketMQ's `getName()`.
    pub fn name(&self) -> String {
        match self {
            AllocateMessageQueueStrategy::Averagely => "AVG".to_string(),
            AllocateMessageQueueStrategy::AveragelyByCircle => "AVG_BY_CIRCLE".to_string(),
            AllocateMessageQueueStrategy::ByConfig { .. } => "CONFIG".to_string(),
            AllocateMessageQueueStrategy::ByMachineRoom { .. } => "MACHINE_ROOM".to_string(),
            AllocateMessageQueueStrategy::MachineRoomNearby { inner, .. } => {
                format!("{MACHINE_ROOM_NEARBY_PREFIX}{}", inner.name())
            }
            AllocateMessageQueueStrategy::ConsistentHash { .. } => "CONSISTENT_HASH".to_string(),
        }
    }

    /// The strategy whose `getName()` is `name` (exact spelling), with its settings taken from `settings`.
    pub fn from_name(name: &str, settings: &StrategySettings) -> Result<Self, UnknownStrategyName> {
        let strategy = match name {
            "AVG" => AllocateMessageQueueStrategy::Averagely,
            "AVG_BY_CIRCLE" => AllocateMessageQueueStrategy::AveragelyByCircle,
            "CONFIG" => {
                AllocateMessageQueueStrategy::ByConfig { message_queue_list: settings.message_queue_list.clone() }
            }
            "MACHINE_ROOM" => {
                AllocateMessageQueueStrategy::ByMachineRoom { consumer_idcs: settings.consumer_idcs.clone() }
            }
            "CONSISTENT_HASH" => {
                AllocateMessageQueueStrategy::ConsistentHash { virtual_node_count: settings.virtual_node_count }
            }
            _ => match name.strip_prefix(MACHINE_ROOM_NEARBY_PREFIX) {
                Some(inner_name) => AllocateMessageQueueStrategy::MachineRoomNearby {
                    inner: Box::new(Self::from_name(inner_name, settings)?),
                    resolver: settings.machine_room_resolver.clone(),
                },
                None => return Err(UnknownStrategyName { name: name.to_string() }),
            },
        };
        Ok(strategy)
    }

    /// The queues of `mq_all` that `current_cid` owns, as `AllocateMessageQueueStrategy.allocate`.
    ///
    /// Both lists are expected sorted the way `RebalanceImpl` sorts them ([`sort_for_rebalance`]); the result
    /// keeps `mq_all`'s order.
    pub fn allocate(
        &self,
        consumer_group: &str,
        current_cid: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Result<Vec<MessageQueue>, AllocateError> {
        // AllocateMessageQueueByConfig.allocate does not call check(): it hands back its list for any input.
        if let AllocateMessageQueueStrategy::ByConfig { message_queue_list } = self {
            return Ok(message_queue_list.clone());
        }
        let index = check(consumer_group, current_cid, mq_all, cid_all)?;
        let queues = match self {
            AllocateMessageQueueStrategy::Averagely => averagely::allocate_averagely(index, mq_all, cid_all.len()),
            AllocateMessageQueueStrategy::AveragelyByCircle => {
                averagely::allocate_averagely_by_circle(index, mq_all, cid_all.len())
            }
            AllocateMessageQueueStrategy::ByMachineRoom { consumer_idcs } => {
                machine_room::allocate_by_machine_room(consumer_idcs, index, mq_all, cid_all.len())
            }
            AllocateMessageQueueStrategy::MachineRoomNearby { inner, resolver } => {
                machine_room::allocate_machine_room_nearby(
                    inner,
                    resolver,
                    consumer_group,
                    current_cid,
                    mq_all,
                    cid_all,
                )?
            }
            AllocateMessageQueueStrategy::ConsistentHash { virtual_node_count } => {
                consistent_hash::allocate_consistent_hash(*virtual_node_count, current_cid, mq_all, cid_all)
            }
            AllocateMessageQueueStrategy::ByConfig { .. } => unreachable!("handled before the argument check"),
        };
        Ok(queues)
    }

    /// Every consumer's share, in `cid_all` order: what the whole group ends up with once each member has
    /// rebalanced on these same inputs.
    pub fn allocate_all(
        &self,
        consumer_group: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Result<Vec<(String, Vec<MessageQueue>)>, AllocateError> {
        if cid_all.is_empty() {
            return Err(AllocateError::CidAllEmpty);
        }
        cid_all
            .iter()
            .map(|cid| self.allocate(consumer_group, cid, mq_all, cid_all).map(|queues| (cid.clone(), queues)))
            .collect()
    }

    /// Like [`allocate`](Self::allocate), but with Java's "not in cidAll → empty list" turned back into an
    /// empty list: strategies that delegate (MACHINE_ROOM_NEARBY) see their inner strategy's return value.
    fn allocate_as_java_returns(
        &self,
        consumer_group: &str,
        current_cid: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Result<Vec<MessageQueue>, AllocateError> {
        match self.allocate(consumer_group, current_cid, mq_all, cid_all) {
            Err(AllocateError::CurrentCidNotInCidAll { .. }) => Ok(Vec::new()),
            other => other,
        }
    }
}

/// `AbstractAllocateMessageQueueStrategy.check`, returning `cidAll.indexOf(currentCID)` when the checks pass.
fn check(
    consumer_group: &str,
    current_cid: &str,
    mq_all: &[MessageQueue],
    cid_all: &[String],
) -> Result<usize, AllocateError> {
    // StringUtils.isEmpty, not isBlank: a current id of spaces passes this check (and then is not in cidAll).
    if current_cid.is_empty() {
        return Err(AllocateError::CurrentCidEmpty);
    }
    if mq_all.is_empty() {
        return Err(AllocateError::MqAllEmpty);
    }
    if cid_all.is_empty() {
        return Err(AllocateError::CidAllEmpty);
    }
    // indexOf: the first occurrence, should the broker ever report a client id twice.
    cid_all.iter().position(|cid| cid == current_cid).ok_or_else(|| AllocateError::CurrentCidNotInCidAll {
        consumer_group: consumer_group.to_string(),
        current_cid: current_cid.to_string(),
    })
}

/// Sorts the inputs as `RebalanceImpl.rebalanceByTopic` does before calling a strategy: queues by
/// `MessageQueue.compareTo` (topic, brokerName, queueId), client ids by Java `String.compareTo`.
/// Java's `Collections.sort` is stable and so is this; duplicates are kept, as Java keeps them.
pub fn sort_for_rebalance(mq_all: &mut [MessageQueue], cid_all: &mut [String]) {
    mq_all.sort();
    cid_all.sort_by(|a, b| java::compare_strings(a, b));
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn queues(topic: &str, broker: &str, count: i32) -> Vec<MessageQueue> {
        (0..count).map(|queue_id| MessageQueue::new(topic, broker, queue_id)).collect()
    }

    pub(super) fn cids(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    fn ids(queues: &[MessageQueue]) -> Vec<i32> {
        queues.iter().map(|q| q.queue_id).collect()
    }

    fn short(queues: &[MessageQueue]) -> Vec<String> {
        queues.iter().map(|q| format!("{}/{}", q.broker_name, q.queue_id)).collect()
    }

    fn shares(strategy: &AllocateMessageQueueStrategy, mq_all: &[MessageQueue], cid_all: &[String]) -> Vec<Vec<i32>> {
        let all = strategy.allocate_all("G", mq_all, cid_all).unwrap();
        all.iter().map(|(_, queues)| ids(queues)).collect()
    }

    #[test]
    fn averagely_gives_the_first_consumers_the_extra_queues() {
        // Spec §13 item 1.
        let mq_all = queues("T", "broker-a", 8);
        let got = shares(&AllocateMessageQueueStrategy::Averagely, &mq_all, &cids(&["c0", "c1", "c2"]));
        assert_eq!(got, vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7]]);
    }

    #[test]
    fn averagely_splits_ten_queues_over_four_consumers_as_three_three_two_two() {
        // Spec §13 item 2.
        let mq_all = queues("T", "broker-a", 10);
        let got = shares(&AllocateMessageQueueStrategy::Averagely, &mq_all, &cids(&["c0", "c1", "c2", "c3"]));
        assert_eq!(got, vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7], vec![8, 9]]);
    }

    #[test]
    fn averagely_leaves_surplus_consumers_idle() {
        // Spec §13 item 3.
        let mq_all = queues("T", "broker-a", 3);
        let got = shares(&AllocateMessageQueueStrategy::Averagely, &mq_all, &cids(&["c0", "c1", "c2", "c3", "c4"]));
        assert_eq!(got, vec![vec![0], vec![1], vec![2], vec![], vec![]]);
    }

    #[test]
    fn averagely_by_circle_deals_queues_round_robin() {
        // Spec §13 item 4.
        let mq_all = queues("T", "broker-a", 8);
        let got = shares(&AllocateMessageQueueStrategy::AveragelyByCircle, &mq_all, &cids(&["c0", "c1", "c2"]));
        assert_eq!(got, vec![vec![0, 3, 6], vec![1, 4, 7], vec![2, 5]]);
    }

    #[test]
    fn queues_are_sorted_by_broker_name_before_allocation() {
        // Spec §13 item 5: the route lists broker-b first, RebalanceImpl sorts broker-a first.
        let mut mq_all = queues("T", "broker-b", 4);
        mq_all.extend(queues("T", "broker-a", 4));
        let mut cid_all = cids(&["c2", "c0", "c1"]);
        sort_for_rebalance(&mut mq_all, &mut cid_all);
        assert_eq!(cid_all, ["c0", "c1", "c2"]);
        let all = AllocateMessageQueueStrategy::Averagely.allocate_all("G", &mq_all, &cid_all).unwrap();
        let got: Vec<Vec<String>> = all.iter().map(|(_, q)| short(q)).collect();
        assert_eq!(
            got,
            vec![
                vec!["broker-a/0", "broker-a/1", "broker-a/2"],
                vec!["broker-a/3", "broker-b/0", "broker-b/1"],
                vec!["broker-b/2", "broker-b/3"],
            ]
        );
    }

    #[test]
    fn client_ids_sort_by_utf16_units_like_java() {
        // U+FF61 is one UTF-16 unit 0xFF61; U+1F600 starts with the surrogate 0xD83D, so Java puts it first,
        // although its UTF-8 bytes (and Rust's str order) put it last.
        let mut mq_all = Vec::new();
        let mut cid_all = cids(&["\u{FF61}", "\u{1F600}"]);
        sort_for_rebalance(&mut mq_all, &mut cid_all);
        assert_eq!(cid_all, ["\u{1F600}", "\u{FF61}"]);
    }

    #[test]
    fn consistent_hash_matches_the_java_ring_for_the_spec_example() {
        // Spec §13 item 6; hashes cross-checked with Python's hashlib.md5.
        let mut mq_all = queues("TopicTest", "broker-a", 4);
        mq_all.extend(queues("TopicTest", "broker-b", 4));
        let cid_all = cids(&["c0", "c1", "c2"]);
        let strategy = AllocateMessageQueueStrategy::ConsistentHash { virtual_node_count: DEFAULT_VIRTUAL_NODE_COUNT };
        let all = strategy.allocate_all("G", &mq_all, &cid_all).unwrap();
        let got: Vec<Vec<String>> = all.iter().map(|(_, q)| short(q)).collect();
        assert_eq!(
            got,
            vec![
                vec!["broker-a/1", "broker-b/0"],
                vec!["broker-a/0", "broker-a/3", "broker-b/2", "broker-b/3"],
                vec!["broker-a/2", "broker-b/1"],
            ]
        );
    }

    #[test]
    fn consistent_hash_with_zero_virtual_nodes_allocates_nothing() {
        // An empty ring routes every queue to null in Java, so nobody owns anything.
        let strategy = AllocateMessageQueueStrategy::ConsistentHash { virtual_node_count: 0 };
        let got = shares(&strategy, &queues("T", "broker-a", 4), &cids(&["c0", "c1"]));
        assert_eq!(got, vec![Vec::<i32>::new(), vec![]]);
    }

    #[test]
    fn by_config_returns_its_list_without_checking_anything() {
        let configured = queues("T", "broker-z", 2);
        let strategy = AllocateMessageQueueStrategy::ByConfig { message_queue_list: configured.clone() };
        assert_eq!(strategy.allocate("G", "", &[], &[]), Ok(configured.clone()));
        assert_eq!(strategy.allocate("G", "stranger", &queues("T", "broker-a", 4), &cids(&["c0"])), Ok(configured));
    }

    #[test]
    fn empty_arguments_are_rejected_like_java_and_keep_the_current_queues() {
        let strategy = AllocateMessageQueueStrategy::Averagely;
        let mq_all = queues("T", "broker-a", 4);
        let cid_all = cids(&["c0"]);
        assert_eq!(strategy.allocate("G", "", &mq_all, &cid_all), Err(AllocateError::CurrentCidEmpty));
        assert_eq!(strategy.allocate("G", "c0", &[], &cid_all), Err(AllocateError::MqAllEmpty));
        assert_eq!(strategy.allocate("G", "c0", &mq_all, &[]), Err(AllocateError::CidAllEmpty));
        let error = strategy.allocate("G", "c0", &[], &cid_all).unwrap_err();
        assert_eq!(error.to_string(), "mqAll is null or mqAll empty");
        assert_eq!(error.rebalance_effect(), RebalanceEffect::KeepCurrentQueues);
    }

    #[test]
    fn a_consumer_missing_from_cid_all_gets_nothing_and_releases_its_queues() {
        let error = AllocateMessageQueueStrategy::AveragelyByCircle
            .allocate("G", "c9", &queues("T", "broker-a", 4), &cids(&["c0", "c1"]))
            .unwrap_err();
        assert_eq!(
            error,
            AllocateError::CurrentCidNotInCidAll { consumer_group: "G".to_string(), current_cid: "c9".to_string() }
        );
        assert_eq!(error.rebalance_effect(), RebalanceEffect::ReleaseAllQueues);
        assert_eq!(error.to_string(), "[BUG] ConsumerGroup: G The consumerId: c9 not in cidAll");
    }

    #[test]
    fn a_blank_but_non_empty_current_id_passes_the_emptiness_check() {
        // Java checks StringUtils.isEmpty, so "  " fails later, as "not in cidAll".
        let error = AllocateMessageQueueStrategy::Averagely
            .allocate("G", "  ", &queues("T", "broker-a", 1), &cids(&["c0"]))
            .unwrap_err();
        assert!(matches!(error, AllocateError::CurrentCidNotInCidAll { .. }));
    }

    #[test]
    fn strategy_names_round_trip_through_from_name() {
        let settings = StrategySettings::default();
        for name in ["AVG", "AVG_BY_CIRCLE", "CONFIG", "MACHINE_ROOM", "CONSISTENT_HASH", "MACHINE_ROOM_NEARBY-AVG"] {
            let strategy = AllocateMessageQueueStrategy::from_name(name, &settings).unwrap();
            assert_eq!(strategy.name(), name);
        }
        let nested = AllocateMessageQueueStrategy::from_name("MACHINE_ROOM_NEARBY-CONSISTENT_HASH", &settings).unwrap();
        assert!(matches!(nested, AllocateMessageQueueStrategy::MachineRoomNearby { .. }));
        assert_eq!(
            AllocateMessageQueueStrategy::from_name("CONSISTENT_HASH", &settings),
            Ok(AllocateMessageQueueStrategy::ConsistentHash { virtual_node_count: 10 })
        );
    }

    #[test]
    fn unknown_strategy_names_list_the_valid_ones() {
        let settings = StrategySettings::default();
        let error = AllocateMessageQueueStrategy::from_name("avg", &settings).unwrap_err();
        assert!(error.to_string().contains("AVG, AVG_BY_CIRCLE, CONFIG"), "{error}");
        assert!(AllocateMessageQueueStrategy::from_name("MACHINE_ROOM_NEARBY-NOPE", &settings).is_err());
        assert!(AllocateMessageQueueStrategy::from_name("MACHINE_ROOM_NEARBY-", &settings).is_err());
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn check_partition(strategy: &AllocateMessageQueueStrategy, queue_count: i32, consumer_count: usize) {
            let mq_all = queues("T", "broker-a", queue_count);
            let cid_all: Vec<String> = (0..consumer_count).map(|i| format!("c{i:03}")).collect();
            let all = strategy.allocate_all("G", &mq_all, &cid_all).unwrap();
            let mut union: Vec<MessageQueue> = all.iter().flat_map(|(_, q)| q.iter().cloned()).collect();
            union.sort();
            // Sorted union equal to mqAll means every queue is owned exactly once.
            assert_eq!(union, mq_all);
            let sizes: Vec<usize> = all.iter().map(|(_, q)| q.len()).collect();
            let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(max - min <= 1, "sizes {sizes:?}");
        }

        proptest! {
            #[test]
            fn averagely_partitions_mq_all_into_near_equal_shares(queue_count in 1i32..80, consumers in 1usize..24) {
                check_partition(&AllocateMessageQueueStrategy::Averagely, queue_count, consumers);
            }

            #[test]
            fn averagely_by_circle_partitions_mq_all_into_near_equal_shares(
                queue_count in 1i32..80,
                consumers in 1usize..24,
            ) {
                check_partition(&AllocateMessageQueueStrategy::AveragelyByCircle, queue_count, consumers);
            }
        }
    }
}
