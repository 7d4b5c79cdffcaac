//! `TopicPublishInfo`, `ThreadLocalIndex` and `MQFaultStrategy.selectOneMessageQueue`: which queue a
//! send goes to.
//!
//! **Publish list** (`MQClientInstance.topicRouteData2TopicPublishInfo`): the route's queue data sorted
//! by broker name; each *writable* QueueData whose BrokerData has a master (id 0) contributes queues
//! `0..writeQueueNums`. Brokers without a master and read-only queue data contribute nothing.
//!
//! **Round robin** (`ThreadLocalIndex`): each sending thread keeps a counter that starts at a random int
//! (4.9: `Math.abs(random.nextInt())`, so possibly `Integer.MIN_VALUE`; 5.x: `random.nextInt()`), is
//! incremented before each use and read as `index & 0x7FFFFFFF`. A new publish info (built whenever the
//! route changes) gets a new counter with a new random start: the simulator draws it from the producer's own
//! stream. Every probe consumes one counter value.
//!
//! **Selection, 4.9.8** (`MQFaultStrategy` / `TopicPublishInfo`):
//! * latency fault off (default): with no previous broker, `pos = abs(counter) % size`; after a failed
//!   attempt, up to `size` probes for a queue whose broker differs from the last one, else one more plain
//!   probe.
//! * latency fault on: from one counter value, `size` consecutive positions looking for an *available*
//!   broker (the last broker is not avoided in 4.9.8); else `pickOneAtLeast()` and, if that broker still has
//!   writable queues, one plain probe (discarded) and a queue id `counter % writeQueueNums` on it; else the
//!   broker is forgotten and a plain probe decides.
//!
//! **Selection, 5.x** (labelled option): off: `size` probes avoiding the last broker, else a plain probe;
//! on: on a retry the counter is reset to a new random start, then probes filtered by "available and not the
//! last broker", then "reachable and not the last broker", then a plain probe.
//!
//! Java int arithmetic is reproduced with wrapping `i32` (`index++` can wrap, `Math.abs(MIN_VALUE)` stays
//! negative and RocketMQ then clamps the position to 0).

use std::collections::BTreeMap;

use crate::java;
use crate::message_queue::MessageQueue;
use crate::prng::Prng;
use crate::producer::latency_fault::{FaultStrategyVersion, LatencyFaultTolerance};
use crate::route::{perm, TopicRouteData};

const POSITIVE_MASK: i32 = 0x7FFF_FFFF;

/// `ThreadLocalIndex`: one counter per sending thread, started at a random value on first use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThreadLocalIndex {
    counters: BTreeMap<u32, i32>,
}

impl ThreadLocalIndex {
    /// `incrementAndGet()` for `thread`; `rng` supplies `Random.nextInt()` the first time.
    pub fn increment_and_get(&mut self, thread: u32, version: FaultStrategyVersion, rng: &mut Prng) -> i32 {
        let index = match self.counters.get(&thread) {
            Some(index) => *index,
            None => match version {
                FaultStrategyVersion::V4_9 => java::abs_i32(rng.next_i32()),
                FaultStrategyVersion::V5 => rng.next_i32(),
            },
        };
        let next = index.wrapping_add(1);
        self.counters.insert(thread, next);
        match version {
            FaultStrategyVersion::V4_9 => java::abs_i32(next & POSITIVE_MASK),
            FaultStrategyVersion::V5 => next & POSITIVE_MASK,
        }
    }

    /// 5.x `reset()`: `Math.abs(random.nextInt(Integer.MAX_VALUE))`.
    pub fn reset(&mut self, thread: u32, rng: &mut Prng) {
        let start = rng.below(i32::MAX as u64) as i32;
        self.counters.insert(thread, start);
    }

    /// The raw counter of `thread`, if it has been used (for views and tests).
    pub fn peek(&self, thread: u32) -> Option<i32> {
        self.counters.get(&thread).copied()
    }
}

/// `TopicPublishInfo`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopicPublishInfo {
    pub order_topic: bool,
    pub have_topic_router_info: bool,
    pub message_queue_list: Vec<MessageQueue>,
    pub send_which_queue: ThreadLocalIndex,
    pub topic_route_data: TopicRouteData,
}

/// `topicRouteData2TopicPublishInfo` (the `orderTopicConf` branch is not modelled: routes never carry it).
pub fn topic_route_data_to_publish_info(topic: &str, route: &TopicRouteData) -> TopicPublishInfo {
    let mut queue_datas = route.queue_datas.clone();
    queue_datas.sort_by(|a, b| java::compare_strings(&a.broker_name, &b.broker_name));
    let mut message_queue_list = Vec::new();
    for queue_data in &queue_datas {
        if !perm::is_writeable(queue_data.perm) {
            continue;
        }
        let Some(broker_data) = route.broker_datas.iter().find(|b| b.broker_name == queue_data.broker_name) else {
            continue;
        };
        if broker_data.master_addr().is_none() {
            continue;
        }
        for queue_id in 0..queue_data.write_queue_nums {
            message_queue_list.push(MessageQueue::new(topic, &queue_data.broker_name, queue_id as i32));
        }
    }
    TopicPublishInfo {
        order_topic: false,
        have_topic_router_info: false,
        message_queue_list,
        send_which_queue: ThreadLocalIndex::default(),
        topic_route_data: route.clone(),
    }
}

/// `abs(index) % size`, clamped to 0 when `abs` overflows (4.9's `if (pos < 0) pos = 0`).
fn position(index: i32, size: i32) -> usize {
    let pos = java::rem_i32(java::abs_i32(index), size);
    pos.max(0) as usize
}

impl TopicPublishInfo {
    /// `ok()`: there is at least one queue to send to.
    pub fn ok(&self) -> bool {
        !self.message_queue_list.is_empty()
    }

    fn size(&self) -> i32 {
        i32::try_from(self.message_queue_list.len()).expect("a publish list is far shorter than 2^31")
    }

    /// `selectOneMessageQueue()`: one plain probe.
    pub fn select_one(&mut self, thread: u32, version: FaultStrategyVersion, rng: &mut Prng) -> Option<MessageQueue> {
        if !self.ok() {
            return None;
        }
        let index = self.send_which_queue.increment_and_get(thread, version, rng);
        Some(self.message_queue_list[position(index, self.size())].clone())
    }

    /// Up to `size` probes for a queue accepted by `filter`, each consuming one counter value.
    fn select_filtered(
        &mut self,
        thread: u32,
        version: FaultStrategyVersion,
        rng: &mut Prng,
        filter: impl Fn(&MessageQueue) -> bool,
    ) -> Option<MessageQueue> {
        for _ in 0..self.message_queue_list.len() {
            let index = self.send_which_queue.increment_and_get(thread, version, rng);
            let mq = &self.message_queue_list[position(index, self.size())];
            if filter(mq) {
                return Some(mq.clone());
            }
        }
        None
    }

    /// 4.9 `getQueueIdByBroker`: the write queue count of a writable QueueData of `broker_name`, or -1.
    pub fn queue_id_by_broker(&self, broker_name: &str) -> i32 {
        self.topic_route_data
            .queue_datas
            .iter()
            .find(|q| perm::is_writeable(q.perm) && q.broker_name == broker_name)
            .map_or(-1, |q| q.write_queue_nums as i32)
    }
}

/// `MQFaultStrategy`: the latency-fault switch, the fault table, and 4.9's `whichItemWorst` counter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MqFaultStrategy {
    pub send_latency_fault_enable: bool,
    pub version: FaultStrategyVersion,
    pub latency_fault_tolerance: LatencyFaultTolerance,
    which_item_worst: ThreadLocalIndex,
}

/// What `selectOneMessageQueue` needs to know about the attempt.
#[derive(Clone, Copy, Debug)]
pub struct SelectContext<'a> {
    pub thread: u32,
    /// The broker of the previous attempt of this send (`lastBrokerName`).
    pub last_broker_name: Option<&'a str>,
    /// 5.x: this is a retry, so the counter is reset first when latency fault is on.
    pub reset_index: bool,
    /// Virtual time in ms, for the fault table.
    pub now_ms: u64,
}

impl MqFaultStrategy {
    pub fn new(send_latency_fault_enable: bool, version: FaultStrategyVersion) -> Self {
        MqFaultStrategy {
            send_latency_fault_enable,
            version,
            latency_fault_tolerance: LatencyFaultTolerance::new(version),
            which_item_worst: ThreadLocalIndex::default(),
        }
    }

    /// `selectOneMessageQueue(tpInfo, lastBrokerName)`; None only for an empty publish list.
    pub fn select_one_message_queue(
        &mut self,
        info: &mut TopicPublishInfo,
        at: SelectContext<'_>,
        rng: &mut Prng,
    ) -> Option<MessageQueue> {
        if !info.ok() {
            return None;
        }
        match self.version {
            FaultStrategyVersion::V4_9 => self.select_4_9(info, at, rng),
            FaultStrategyVersion::V5 => self.select_5(info, at, rng),
        }
    }

    fn select_4_9(
        &mut self,
        info: &mut TopicPublishInfo,
        at: SelectContext<'_>,
        rng: &mut Prng,
    ) -> Option<MessageQueue> {
        let version = FaultStrategyVersion::V4_9;
        let thread = at.thread;
        if !self.send_latency_fault_enable {
            if let Some(last) = at.last_broker_name {
                if let Some(mq) = info.select_filtered(thread, version, rng, |mq| &*mq.broker_name != last) {
                    return Some(mq);
                }
            }
            return info.select_one(thread, version, rng);
        }
        // One counter value, then `size` consecutive positions (`Math.abs(index++) % size`).
        let mut index = info.send_which_queue.increment_and_get(thread, version, rng);
        for _ in 0..info.message_queue_list.len() {
            let pos = position(index, info.size());
            index = index.wrapping_add(1);
            let mq = &info.message_queue_list[pos];
            if self.latency_fault_tolerance.is_available(&mq.broker_name, at.now_ms) {
                return Some(mq.clone());
            }
        }
        let draw = self.which_item_worst.increment_and_get(0, version, rng);
        let not_best = self.latency_fault_tolerance.pick_one_at_least(at.now_ms, draw as u32).map(str::to_string);
        let write_queue_nums = not_best.as_deref().map_or(-1, |name| info.queue_id_by_broker(name));
        if write_queue_nums > 0 {
            let mq = info.select_one(thread, version, rng)?;
            return Some(match not_best {
                Some(name) => {
                    let queue_id =
                        java::rem_i32(info.send_which_queue.increment_and_get(thread, version, rng), write_queue_nums);
                    MessageQueue::new(&mq.topic, name, queue_id)
                }
                None => mq,
            });
        }
        if let Some(name) = not_best {
            self.latency_fault_tolerance.remove(&name);
        }
        info.select_one(thread, version, rng)
    }

    fn select_5(&mut self, info: &mut TopicPublishInfo, at: SelectContext<'_>, rng: &mut Prng) -> Option<MessageQueue> {
        let version = FaultStrategyVersion::V5;
        let thread = at.thread;
        let not_last = |mq: &MessageQueue| at.last_broker_name.is_none_or(|last| &*mq.broker_name != last);
        if self.send_latency_fault_enable {
            if at.reset_index {
                info.send_which_queue.reset(thread, rng);
            }
            let tolerance = &self.latency_fault_tolerance;
            let available = |mq: &MessageQueue| tolerance.is_available(&mq.broker_name, at.now_ms) && not_last(mq);
            if let Some(mq) = info.select_filtered(thread, version, rng, available) {
                return Some(mq);
            }
            let reachable = |mq: &MessageQueue| tolerance.is_reachable(&mq.broker_name) && not_last(mq);
            if let Some(mq) = info.select_filtered(thread, version, rng, reachable) {
                return Some(mq);
            }
            return info.select_one(thread, version, rng);
        }
        if let Some(mq) = info.select_filtered(thread, version, rng, not_last) {
            return Some(mq);
        }
        info.select_one(thread, version, rng)
    }

    /// `updateFaultItem(brokerName, latency, isolation[, reachable])`: nothing unless enabled.
    pub fn update_fault_item(
        &mut self,
        broker_name: &str,
        latency_ms: u64,
        isolation: bool,
        reachable: bool,
        now_ms: u64,
    ) {
        if !self.send_latency_fault_enable {
            return;
        }
        let duration = crate::producer::latency_fault::fault_duration(latency_ms, isolation, self.version);
        self.latency_fault_tolerance.update_fault_item(broker_name, latency_ms, duration, reachable, now_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prng::{Concern, StreamOwner};
    use crate::route::{BrokerData, QueueData};
    use FaultStrategyVersion::{V4_9, V5};

    fn rng() -> Prng {
        Prng::stream(9, StreamOwner::Node(0), Concern::Node)
    }

    fn queue_data(name: &str, nums: u32, perm: u32) -> QueueData {
        QueueData { broker_name: name.into(), read_queue_nums: nums, write_queue_nums: nums, perm, topic_sys_flag: 0 }
    }

    fn broker_data(name: &str, ids: &[u64]) -> BrokerData {
        BrokerData {
            cluster: "DefaultCluster".into(),
            broker_name: name.into(),
            broker_addrs: ids.iter().map(|id| (*id, format!("{name}-{id}:10911"))).collect(),
        }
    }

    fn two_brokers() -> TopicPublishInfo {
        let route = TopicRouteData {
            queue_datas: vec![queue_data("broker-b", 2, 6), queue_data("broker-a", 2, 6)],
            broker_datas: vec![broker_data("broker-a", &[0]), broker_data("broker-b", &[0])],
        };
        topic_route_data_to_publish_info("T", &route)
    }

    fn names(queues: &[MessageQueue]) -> Vec<String> {
        queues.iter().map(|q| format!("{}/{}", q.broker_name, q.queue_id)).collect()
    }

    #[test]
    fn the_publish_list_keeps_writable_queues_of_brokers_with_a_master_sorted_by_name() {
        // Spec §13 item 18.
        let route = TopicRouteData {
            queue_datas: vec![queue_data("broker-c", 2, 6), queue_data("broker-b", 2, 4), queue_data("broker-a", 4, 6)],
            broker_datas: vec![
                broker_data("broker-a", &[0, 1]),
                broker_data("broker-b", &[0]),
                broker_data("broker-c", &[1]),
            ],
        };
        let info = topic_route_data_to_publish_info("T", &route);
        assert_eq!(names(&info.message_queue_list), ["broker-a/0", "broker-a/1", "broker-a/2", "broker-a/3"]);
    }

    #[test]
    fn the_counter_starts_at_a_seeded_value_and_round_robins() {
        let mut info = two_brokers();
        let mut r = rng();
        let mut first_rng = rng();
        let start = java::abs_i32(first_rng.next_i32());
        let picks: Vec<MessageQueue> = (0..4).map(|_| info.select_one(0, V4_9, &mut r).unwrap()).collect();
        for (i, mq) in picks.iter().enumerate() {
            let expected = position(java::abs_i32(start.wrapping_add(i as i32 + 1) & POSITIVE_MASK), 4);
            assert_eq!(mq, &info.message_queue_list[expected]);
        }
        assert_eq!(info.send_which_queue.peek(0), Some(start.wrapping_add(4)));
    }

    #[test]
    fn a_retry_avoids_the_last_broker_when_latency_fault_is_off() {
        let mut info = two_brokers();
        let mut strategy = MqFaultStrategy::new(false, V4_9);
        let mut r = rng();
        for _ in 0..20 {
            let at = SelectContext { thread: 0, last_broker_name: Some("broker-a"), reset_index: true, now_ms: 0 };
            assert_eq!(
                strategy.select_one_message_queue(&mut info, at, &mut r).unwrap().broker_name.as_ref(),
                "broker-b"
            );
        }
        // With one broker only, the retry goes back to it (one more plain probe).
        let mut single = topic_route_data_to_publish_info(
            "T",
            &TopicRouteData {
                queue_datas: vec![queue_data("broker-a", 2, 6)],
                broker_datas: vec![broker_data("broker-a", &[0])],
            },
        );
        let at = SelectContext { thread: 0, last_broker_name: Some("broker-a"), reset_index: true, now_ms: 0 };
        assert_eq!(
            strategy.select_one_message_queue(&mut single, at, &mut r).unwrap().broker_name.as_ref(),
            "broker-a"
        );
    }

    #[test]
    fn latency_fault_skips_an_isolated_broker_until_its_deadline() {
        for version in [V4_9, V5] {
            let mut info = two_brokers();
            let mut strategy = MqFaultStrategy::new(true, version);
            let mut r = rng();
            strategy.update_fault_item("broker-a", 600, false, true, 1_000);
            let until = 1_000 + crate::producer::latency_fault::compute_not_available_duration(600, version);
            for now_ms in [1_000, until - 1] {
                for _ in 0..8 {
                    let at = SelectContext { thread: 0, last_broker_name: None, reset_index: false, now_ms };
                    assert_eq!(
                        strategy.select_one_message_queue(&mut info, at, &mut r).unwrap().broker_name.as_ref(),
                        "broker-b"
                    );
                }
            }
            let seen: Vec<String> = (0..8)
                .map(|_| {
                    let at = SelectContext { thread: 0, last_broker_name: None, reset_index: false, now_ms: until };
                    strategy.select_one_message_queue(&mut info, at, &mut r).unwrap().broker_name.to_string()
                })
                .collect();
            assert!(seen.iter().any(|b| b == "broker-a"), "{version}: {seen:?}");
        }
    }

    #[test]
    fn four_nine_fabricates_a_queue_on_the_least_bad_broker_when_all_are_isolated() {
        let mut info = two_brokers();
        let mut strategy = MqFaultStrategy::new(true, V4_9);
        let mut r = rng();
        strategy.update_fault_item("broker-a", 3_000, true, true, 0);
        strategy.update_fault_item("broker-b", 700, false, true, 0);
        let at = SelectContext { thread: 0, last_broker_name: None, reset_index: false, now_ms: 1 };
        let mq = strategy.select_one_message_queue(&mut info, at, &mut r).unwrap();
        // Two items: half = 1, so the better one (broker-b, lower latency) is picked.
        assert_eq!(&*mq.broker_name, "broker-b");
        assert!((0..2).contains(&mq.queue_id));
    }

    #[test]
    fn an_empty_publish_list_selects_nothing() {
        let mut info = TopicPublishInfo::default();
        let mut strategy = MqFaultStrategy::new(true, V5);
        let at = SelectContext { thread: 0, last_broker_name: None, reset_index: false, now_ms: 0 };
        assert_eq!(strategy.select_one_message_queue(&mut info, at, &mut rng()), None);
    }

    #[test]
    fn positions_clamp_an_overflowed_abs_to_zero_like_4_9() {
        assert_eq!(position(i32::MIN, 3), 0);
        assert_eq!(position(7, 4), 3);
    }
}
