//! `DefaultMQPushConsumer`, `DefaultLitePullConsumer` and `ClientConfig` settings, under RocketMQ's names
//! and defaults (4.9.8). Scenario files spell them as RocketMQ does (`consumeThreadMin`,
//! `pullThresholdForQueue`, ...); times are milliseconds except `consumeTimeout` (minutes, as in RocketMQ).
//!
//! Ours: `consumeTimestamp` is a virtual instant ("90s") rather than `yyyyMMddHHmmss` (default: start
//! − 30 min, as RocketMQ's); `allocateMessageQueueStrategy` takes the strategy names of
//! `consumer::allocate` with their settings beside it (`consumerIdcs`, `messageQueueList` as
//! `topic/broker/queueId`, `machineRooms` mapping broker names and consumer node names to rooms).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::consumer::allocate::{AllocateMessageQueueStrategy, MachineRoomResolver, StrategySettings};
use crate::message_queue::MessageQueue;
use crate::protocol::consumer::{ConsumeFromWhere, MessageModel};
use crate::scenario::duration::parse_duration;
use crate::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ConsumerConfig {
    pub message_model: MessageModel,
    pub consume_from_where: ConsumeFromWhere,
    /// A virtual instant (e.g. "90s"); None: 30 minutes before the consumer starts.
    pub consume_timestamp: Option<String>,
    pub allocate_message_queue_strategy: String,
    /// For MACHINE_ROOM.
    pub consumer_idcs: Vec<String>,
    /// For CONFIG: `topic/brokerName/queueId`.
    pub message_queue_list: Vec<String>,
    /// For MACHINE_ROOM_NEARBY-*: broker name or consumer node name → machine room.
    pub machine_rooms: BTreeMap<String, String>,
    pub consume_thread_min: u32,
    pub consume_thread_max: u32,
    pub consume_concurrently_max_span: u32,
    pub pull_threshold_for_queue: u32,
    /// MiB.
    pub pull_threshold_size_for_queue: u32,
    /// -1: off; else the per-queue threshold becomes max(1, value / queues owned).
    pub pull_threshold_for_topic: i32,
    /// MiB; -1: off.
    pub pull_threshold_size_for_topic: i32,
    pub pull_interval: u64,
    pub pull_batch_size: u32,
    pub consume_message_batch_max_size: u32,
    /// -1: 16 for concurrent consumers, Integer.MAX_VALUE for orderly ones.
    pub max_reconsume_times: i32,
    pub suspend_current_queue_time_millis: u64,
    /// Minutes.
    pub consume_timeout: u64,
    pub post_subscription_when_pull: bool,
    pub persist_consumer_offset_interval: u64,
    pub heartbeat_broker_interval: u64,
    pub poll_name_server_interval: u64,
    pub mq_client_api_timeout: u64,
    pub pull_time_delay_mills_when_exception: u64,
    pub namesrv_addr: Option<Vec<String>>,
    /// `shutdown()` waits this long for the consume threads (queued requests still run), then as long
    /// again for the listener calls still running; 0 waits for nothing.
    pub await_termination_millis_when_shutdown: u64,
    // DefaultLitePullConsumer.
    pub auto_commit: bool,
    pub auto_commit_interval_millis: u64,
    pub poll_timeout_millis: u64,
    pub pull_threshold_for_all: u64,
    pub consume_max_span: u32,
    pub broker_suspend_max_time_millis: u64,
    pub consumer_timeout_millis_when_suspend: u64,
    /// `new DefaultMQPushConsumer(group, enableMsgTrace, customizedTraceTopic)`: SubBefore/SubAfter records
    /// (`consumer/trace.rs`).
    pub enable_msg_trace: bool,
    /// The trace topic (`RMQ_SYS_TRACE_TOPIC` when absent).
    pub customized_trace_topic: Option<String>,
}

/// DefaultLitePullConsumer's defaults where they differ from the push consumer's.
pub const LITE_PULL_BATCH_SIZE: u32 = 10;

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            message_model: MessageModel::Clustering,
            consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
            consume_timestamp: None,
            allocate_message_queue_strategy: "AVG".into(),
            consumer_idcs: Vec::new(),
            message_queue_list: Vec::new(),
            machine_rooms: BTreeMap::new(),
            consume_thread_min: 20,
            consume_thread_max: 20,
            consume_concurrently_max_span: 2_000,
            pull_threshold_for_queue: 1_000,
            pull_threshold_size_for_queue: 100,
            pull_threshold_for_topic: -1,
            pull_threshold_size_for_topic: -1,
            pull_interval: 0,
            pull_batch_size: 32,
            consume_message_batch_max_size: 1,
            max_reconsume_times: -1,
            suspend_current_queue_time_millis: 1_000,
            consume_timeout: 15,
            post_subscription_when_pull: false,
            persist_consumer_offset_interval: 5_000,
            heartbeat_broker_interval: 30_000,
            poll_name_server_interval: 30_000,
            mq_client_api_timeout: 3_000,
            pull_time_delay_mills_when_exception: 1_000,
            namesrv_addr: None,
            await_termination_millis_when_shutdown: 0,
            auto_commit: true,
            auto_commit_interval_millis: 5_000,
            poll_timeout_millis: 5_000,
            pull_threshold_for_all: 10_000,
            consume_max_span: 2_000,
            broker_suspend_max_time_millis: 20_000,
            consumer_timeout_millis_when_suspend: 30_000,
            enable_msg_trace: false,
            customized_trace_topic: None,
        }
    }
}

impl ConsumerConfig {
    /// `getMaxReconsumeTimes` of the push consumer's services.
    pub fn effective_max_reconsume_times(&self, orderly: bool) -> i32 {
        match (self.max_reconsume_times, orderly) {
            (-1, false) => 16,
            (-1, true) => i32::MAX,
            (n, _) => n,
        }
    }

    /// `suspendCurrentQueueTimeMillis`, clamped to [10, 30 000] as `submitConsumeRequestLater` does.
    pub fn suspend_time(&self) -> Duration {
        Duration::from_millis(self.suspend_current_queue_time_millis.clamp(10, 30_000))
    }

    /// The virtual instant of `consumeTimestamp`, if given.
    pub fn consume_timestamp_at(&self) -> Option<Duration> {
        self.consume_timestamp.as_deref().and_then(|t| parse_duration(t).ok())
    }

    /// The configured strategy; `rooms_of_clients` maps client IPs to rooms for MACHINE_ROOM_NEARBY.
    pub fn strategy(&self, consumer_rooms: BTreeMap<String, String>) -> AllocateMessageQueueStrategy {
        let settings = StrategySettings {
            message_queue_list: self.message_queue_list.iter().filter_map(|q| parse_queue(q)).collect(),
            consumer_idcs: self.consumer_idcs.iter().cloned().collect::<BTreeSet<String>>(),
            machine_room_resolver: MachineRoomResolver { broker_rooms: self.machine_rooms.clone(), consumer_rooms },
            ..StrategySettings::default()
        };
        AllocateMessageQueueStrategy::from_name(&self.allocate_message_queue_strategy, &settings)
            .unwrap_or(AllocateMessageQueueStrategy::Averagely)
    }

    /// `checkConfig`'s ranges, and ours; each problem names its key.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut range = |name: &str, value: u64, low: u64, high: u64| {
            if !(low..=high).contains(&value) {
                problems.push(format!("{name} = {value} must be in {low}..={high}"));
            }
        };
        range("consumeThreadMin", self.consume_thread_min.into(), 1, 1_000);
        range("consumeThreadMax", self.consume_thread_max.into(), 1, 1_000);
        range("consumeConcurrentlyMaxSpan", self.consume_concurrently_max_span.into(), 1, 65_535);
        range("pullThresholdForQueue", self.pull_threshold_for_queue.into(), 1, 65_535);
        range("pullThresholdSizeForQueue", self.pull_threshold_size_for_queue.into(), 1, 1_024);
        range("pullInterval", self.pull_interval, 0, 65_535);
        range("pullBatchSize", self.pull_batch_size.into(), 1, 1_024);
        range("consumeMessageBatchMaxSize", self.consume_message_batch_max_size.into(), 1, 1_024);
        range("consumeTimeout", self.consume_timeout, 1, 1_440);
        range("persistConsumerOffsetInterval", self.persist_consumer_offset_interval, 1_000, 3_600_000);
        range("heartbeatBrokerInterval", self.heartbeat_broker_interval, 1_000, 3_600_000);
        range("pollNameServerInterval", self.poll_name_server_interval, 1_000, 3_600_000);
        range("mqClientApiTimeout", self.mq_client_api_timeout, 1, 3_600_000);
        range("pullTimeDelayMillsWhenException", self.pull_time_delay_mills_when_exception, 1, 3_600_000);
        range("awaitTerminationMillisWhenShutdown", self.await_termination_millis_when_shutdown, 0, 600_000);
        range("autoCommitIntervalMillis", self.auto_commit_interval_millis, 1_000, 3_600_000);
        range("pollTimeoutMillis", self.poll_timeout_millis, 1, 3_600_000);
        range("brokerSuspendMaxTimeMillis", self.broker_suspend_max_time_millis, 1, 3_600_000);
        range("consumerTimeoutMillisWhenSuspend", self.consumer_timeout_millis_when_suspend, 1, 3_600_000);
        if self.consume_thread_min > self.consume_thread_max {
            problems.push("consumeThreadMin must not be larger than consumeThreadMax".into());
        }
        if self.max_reconsume_times < -1 {
            problems.push("maxReconsumeTimes must be -1 (the default) or more".into());
        }
        if let Some(Err(e)) = self.consume_timestamp.as_deref().map(parse_duration) {
            problems.push(format!("consumeTimestamp: {e}"));
        }
        if let Err(e) =
            AllocateMessageQueueStrategy::from_name(&self.allocate_message_queue_strategy, &StrategySettings::default())
        {
            problems.push(format!("allocateMessageQueueStrategy: {e}"));
        }
        for q in &self.message_queue_list {
            if parse_queue(q).is_none() {
                problems.push(format!("messageQueueList: `{q}` is not topic/brokerName/queueId"));
            }
        }
        problems
    }
}

/// `topic/brokerName/queueId`.
fn parse_queue(text: &str) -> Option<MessageQueue> {
    let mut parts = text.rsplitn(3, '/');
    let queue_id = parts.next()?.parse().ok()?;
    let broker = parts.next()?;
    let topic = parts.next()?;
    Some(MessageQueue::new(topic, broker, queue_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_rocketmqs() {
        let config = ConsumerConfig::default();
        assert_eq!(
            (config.consume_thread_min, config.pull_batch_size, config.pull_threshold_for_queue),
            (20, 32, 1_000)
        );
        assert_eq!(config.effective_max_reconsume_times(false), 16);
        assert_eq!(config.effective_max_reconsume_times(true), i32::MAX);
        assert_eq!(config.suspend_time(), Duration::from_millis(1_000));
        assert!(config.problems().is_empty());
    }

    #[test]
    fn bad_values_are_reported_by_key() {
        let config =
            ConsumerConfig { pull_batch_size: 0, allocate_message_queue_strategy: "X".into(), ..Default::default() };
        let problems = config.problems().join("\n");
        assert!(problems.contains("pullBatchSize"), "{problems}");
        assert!(problems.contains("allocateMessageQueueStrategy"), "{problems}");
        assert_eq!(parse_queue("T/broker-a/3"), Some(MessageQueue::new("T", "broker-a", 3)));
    }
}
