//! View snapshots: plain data for the web app and the CLI, never node internals.
//!
//! A view is computed from the simulation on demand and owns its data, so a UI can keep it
//! (behind an `Rc`) while the simulation runs on.

use serde::Serialize;

use crate::metrics::Metrics;
use crate::route::perm;
use crate::sim::kernel::NodeStatus;
use crate::time::Time;
use crate::world::NodeKind;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SimView {
    pub scenario_id: String,
    pub seed: u64,
    pub time: Time,
    /// The trace digest so far, 16 hex digits.
    pub digest: String,
    pub events_processed: u64,
    pub pending_events: u64,
    pub in_flight: u32,
    /// Why the run stopped early, if it did.
    pub halted: Option<String>,
    pub nodes: Vec<NodeView>,
    pub links: Vec<LinkView>,
    pub metrics: Metrics,
    /// Each broker group's replicas: roles, lag in bytes and time (`replication_metrics.rs`).
    pub replication: Vec<crate::replication_metrics::GroupReplicationView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeView {
    pub id: u16,
    pub name: String,
    pub kind: NodeKind,
    pub addr: String,
    pub status: NodeStatus,
    pub detail: NodeDetail,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum NodeDetail {
    /// The node is down: no memory to show.
    Down,
    NameServer(NameServerView),
    Broker(BrokerView),
    Producer(ProducerView),
    Consumer(ConsumerView),
    /// The 5.x controller: each broker set's master, epochs and SyncStateSet.
    Controller(crate::controller::ControllerView),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NameServerView {
    pub live_brokers: Vec<LiveBrokerView>,
    pub topics: Vec<TopicRouteView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LiveBrokerView {
    pub broker_name: String,
    pub broker_addr: String,
    pub last_update_ms: u64,
    /// When the scan will first find it expired, if it does not register again.
    pub expires_after_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TopicRouteView {
    pub topic: String,
    /// (brokerName, read queues, write queues, perm as `RW-`).
    pub queues: Vec<(String, u32, u32, String)>,
}

impl TopicRouteView {
    pub fn perm_display(p: u32) -> String {
        perm::to_display(p)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BrokerView {
    pub broker_name: String,
    pub broker_id: u64,
    pub topics: Vec<String>,
    pub registrations_sent: u64,
    pub registrations_answered: u64,
    /// Sends waiting for a send thread.
    pub send_queue: u32,
    pub sends_received: u64,
    pub messages_stored: u64,
    pub sends_rejected: u64,
    pub producer_groups: Vec<String>,
    /// Consumer groups registered here: (group, client ids in RocketMQ's sorted order).
    pub consumer_groups: Vec<(String, Vec<String>)>,
    /// Consume offsets kept here: (group, topic, queue id, next offset).
    pub consumer_offsets: Vec<(String, String, i32, i64)>,
    /// Pulls held by long polling.
    pub held_pulls: u32,
    /// Delayed messages (retries) waiting per delay level: (level, count).
    pub delayed_waiting: Vec<(i32, i64)>,
    /// Orderly locks: (group, `broker/queue`, client id).
    pub queue_locks: Vec<(String, String, String)>,
}

/// One topic's publish list as a producer holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PublishQueuesView {
    pub topic: String,
    /// `brokerName/queueId`, in send order.
    pub queues: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProducerView {
    pub client_id: String,
    pub producer_group: String,
    pub publish: Vec<PublishQueuesView>,
    /// Brokers the latency-fault table avoids now, with the virtual ms they are available again.
    pub isolated_brokers: Vec<(String, u64)>,
    pub sends_started: u64,
    pub send_ok: u64,
    /// Stored, but with FLUSH_DISK_TIMEOUT, FLUSH_SLAVE_TIMEOUT or SLAVE_NOT_AVAILABLE.
    pub send_not_ok: u64,
    pub send_failed: u64,
    pub attempts: u64,
    pub in_flight: u32,
    pub messages_generated: u64,
    pub messages_abandoned: u64,
    pub resends: u64,
    pub kept_for_resend: u32,
    pub backlog: u32,
}

/// A directed link with a fault on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkView {
    pub from: u16,
    pub to: u16,
    pub blocked: bool,
    pub held: bool,
    pub held_messages: u32,
    pub clog_us: u64,
}

/// One process queue of a consumer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsumerQueueView {
    pub topic: String,
    /// `brokerName/queueId`.
    pub queue: String,
    pub cached: u32,
    pub first_cached_offset: Option<i64>,
    pub last_cached_offset: Option<i64>,
    pub next_pull_offset: i64,
    /// The offset store's value (what will be persisted next).
    pub committed_offset: Option<i64>,
    pub locked: bool,
    pub dropped: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsumerView {
    pub client_id: String,
    pub group: String,
    /// "Push" or "LitePull".
    pub kind: String,
    pub orderly: bool,
    /// "Clustering" or "Broadcasting".
    pub message_model: String,
    pub subscriptions: Vec<String>,
    /// The last allocation per topic: (topic, `broker/queue` list).
    pub allocations: Vec<(String, Vec<String>)>,
    pub queues: Vec<ConsumerQueueView>,
    pub busy_threads: u32,
    pub threads: u32,
    pub queued_requests: u32,
    pub pulls_sent: u64,
    pub messages_pulled: u64,
    pub consumed_ok: u64,
    pub consumed_failed: u64,
    pub results_discarded: u64,
    pub sent_back: u64,
    pub send_back_failed: u64,
    pub rebalances: u64,
    pub duplicates_skipped: u64,
    pub dedup_table_size: u32,
    pub messages_polled: u64,
    /// The settings an operator can change live (`consumer/live.rs`), as the process has them now.
    pub pull_batch_size: u32,
    pub pull_interval_ms: u64,
    pub consume_message_batch_max_size: u32,
    pub pull_threshold_for_queue: u32,
    pub await_termination_millis_when_shutdown: u64,
    /// Message trace (`enableMsgTrace`): trace messages sent, sent again after a transport failure, and
    /// dropped (no route, or every retry failed).
    pub trace_sent: u64,
    pub trace_retried: u64,
    pub trace_dropped: u64,
    /// A forwarding listener's target topic (`workload.forward_to`), the copies it sent with SEND_OK and the
    /// sends that failed (each made its call return RECONSUME_LATER).
    pub forward_to: Option<String>,
    pub forwarded: u64,
    pub forward_failed: u64,
    /// The group's business dependency is down at this instant (the scenario's outage or an operator's).
    pub dependency_down: bool,
}
