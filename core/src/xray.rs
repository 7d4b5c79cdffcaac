//! The inspectors' data: a broker's storage X-ray, a producer's route cache and latency-fault table, a
//! consumer's own view of its group and queues, the group's rebalance swimlane, and a message's fate by
//! id or key. Plain serde data computed on demand from a running [`Simulation`]; nothing here writes.
//!
//! * **Storage X-ray**: the store's own snapshot ([`StoreView`]: CommitLog mapped files named by their
//!   20-digit start offsets, with wrote / committed / flushed positions, `reputFromOffset`, ConsumeQueues,
//!   IndexFiles, page cache) plus what a student wants next to it: the records of a window of the
//!   CommitLog, read and decoded from the broker's disk exactly as `getMessage` reads them (bounded:
//!   at most [`MAX_PAGE`] records per page, never the whole log), the units of one ConsumeQueue with
//!   the CommitLog offset each points at, a key lookup through the store's real IndexFile query
//!   (`queryMessage(topic, key)`), the group's replication offsets, and the page-cache pressure (dirty
//!   bytes, flush lag in bytes).
//! * **Producer**: `topicPublishInfoTable` (each message queue and the address of its broker's master as
//!   the producer caches it) and `LatencyFaultToleranceImpl`'s items (latency, the table's
//!   notAvailableDuration for it, the instant the broker is available again).
//! * **Consumer**: the consumer-id list and queue count each rebalance saw (from its
//!   `RebalanceAllocated` observations: what the broker told it), its ProcessQueues, the offsets it holds
//!   next to the offsets its broker has committed, and the lag.
//! * **Rebalance swimlane**: per message queue, who held a live ProcessQueue when, built from the
//!   observation record (`ProcessQueueAdded` / `ProcessQueueDropped`, and the crash or removal of a
//!   consumer), with the periods when two consumers held it (double consumption possible) or none did.
//!   Bounded: at most [`MAX_LANES`] lanes and the last [`MAX_SEGMENTS`] segments of each.
//! * **Message fate**: the checkers' fate ledger for a UNIQ_KEY, an offset msgId or a business key.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::broker::controller::BrokerController;
use crate::broker::store::get_message::SelectedMessage;
use crate::broker::store::message_id::{create_message_id, decode_message_id};
use crate::broker::store::message_record::{decode, CrcCheck, DecodedRecord};
use crate::broker::store::offsets::CommitLogOffset;
use crate::broker::store::properties::PROPERTY_KEYS;
use crate::broker::store::store_view::StoreView;
use crate::broker::topic_validator::is_system_topic;
use crate::check::fate::{FateEntry, FateEvent};
use crate::message_queue::MessageQueue;
use crate::observation::Observation;
use crate::producer::latency_fault::compute_not_available_duration;
use crate::query::{self, MessageQuery, MessageView, QueueProgress, QUERY_BY_KEY_MAX_NUM};
use crate::replication_metrics::GroupReplicationView;
use crate::scenario::ActionSpec;
use crate::sim::disk::{NodeDisk, PAGE_SIZE};
use crate::sim::node::NodeId;
use crate::time::Time;
use crate::world::{AnyNode, NodeKind};
use crate::Simulation;

/// Records (or ConsumeQueue units) per page at most.
pub const MAX_PAGE: u32 = 100;
/// Lanes of a swimlane at most (queues of a group).
pub const MAX_LANES: usize = 128;
/// Segments kept per lane (the most recent).
pub const MAX_SEGMENTS: usize = 64;
/// Key lookups ask the index for at most this many messages (`maxMsgsNumBatch`).
pub const INDEX_LOOKUP_MAX: u32 = 64;
/// Records read at most to find the last page when no ConsumeQueue knows a record start.
const LAST_PAGE_WALK: u32 = 4_096;

/// One CommitLog record (or the blank marker that ends a file) as the X-ray lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordRow {
    pub commit_log_offset: i64,
    pub size: i32,
    /// The END_OF_FILE blank marker: the rest of the file is unused.
    pub blank: bool,
    pub topic: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub tags: Option<String>,
    pub keys: Option<String>,
    /// UNIQ_KEY (`SendResult.msgId`).
    pub msg_id: Option<String>,
    /// Store host + CommitLog offset (`offsetMsgId`).
    pub offset_msg_id: String,
    pub store_timestamp: i64,
    pub body_bytes: u32,
}

/// A window of the CommitLog: records from `from`, and where the next page starts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RecordPage {
    pub from: i64,
    pub records: Vec<RecordRow>,
    /// The offset the next page starts at, if there are more readable records.
    pub next: Option<i64>,
    /// Why the page stopped early (a torn or unreadable record), if it did.
    pub stopped: Option<String>,
}

/// The storage X-ray of one broker node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StorageXray {
    pub node: String,
    pub broker_name: String,
    pub store: StoreView,
    /// Bytes written but not yet flushed (`maxOffset - flushedWhere`).
    pub flush_lag_bytes: i64,
    /// Bytes of dirty pages on the node's disk (every file: CommitLog, ConsumeQueues, index).
    pub dirty_bytes: u64,
    pub page_size: u64,
    pub records: RecordPage,
    /// The broker group's replicas: each one's CommitLog end against the master's.
    pub replication: Option<GroupReplicationView>,
}

/// One ConsumeQueue unit with the record it points at (when still readable).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsumeQueueRow {
    pub queue_offset: i64,
    pub commit_log_offset: i64,
    pub size: i32,
    pub tags_code: i64,
    pub msg_id: Option<String>,
    pub keys: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsumeQueuePage {
    pub topic: String,
    pub queue_id: i32,
    pub min_offset: i64,
    pub max_offset: i64,
    pub from: i64,
    pub rows: Vec<ConsumeQueueRow>,
    pub next: Option<i64>,
}

/// What the IndexFiles answered for `topic#key`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IndexLookup {
    pub topic: String,
    pub key: String,
    pub records: Vec<RecordRow>,
    pub index_last_update_timestamp: i64,
    pub index_last_update_phyoffset: i64,
}

/// One queue of a producer's `TopicPublishInfo`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PublishQueueRow {
    pub broker_name: String,
    pub queue_id: i32,
    /// The master address the producer has cached for the broker, if any.
    pub broker_addr: Option<String>,
    /// The latency-fault table lets the producer pick this broker now.
    pub available: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PublishInfoView {
    pub topic: String,
    pub order_topic: bool,
    pub queues: Vec<PublishQueueRow>,
}

/// One `FaultItem` of `LatencyFaultToleranceImpl`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FaultItemRow {
    pub broker_name: String,
    pub current_latency_ms: u64,
    /// The notAvailableDuration of the last update (`computeNotAvailableDuration` of the latency, or of
    /// 30 000 ms for an isolation).
    pub not_available_duration_ms: u64,
    /// The table's notAvailableDuration for `current_latency_ms` alone (differs after an isolation).
    pub table_duration_for_latency_ms: u64,
    /// When the item was last updated (virtual ms).
    pub updated_at_ms: u64,
    /// `startTimestamp`: the virtual ms from which the broker is available again.
    pub available_at_ms: u64,
    pub available_now: bool,
    pub reachable: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProducerXray {
    pub node: String,
    pub client_id: String,
    pub producer_group: String,
    pub send_latency_fault_enable: bool,
    /// "4.9" or "5.x": which latency table applies.
    pub fault_strategy: String,
    pub now_ms: u64,
    pub publish: Vec<PublishInfoView>,
    pub fault_items: Vec<FaultItemRow>,
}

/// What one rebalance of a topic saw and decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RebalanceSeen {
    pub at: Time,
    pub topic: String,
    /// The consumer ids the broker answered (`findConsumerIdList`); empty for BROADCASTING.
    pub cid_all: Vec<String>,
    pub mq_all: u32,
    pub allocated: Vec<String>,
}

/// One ProcessQueue with its offsets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProcessQueueRow {
    pub topic: String,
    pub broker_name: String,
    pub queue_id: i32,
    pub msg_count: u64,
    pub msg_size: u64,
    pub locked: bool,
    pub dropped: bool,
    pub next_pull_offset: i64,
    /// The consumer's offset store (what it will commit next).
    pub local_offset: Option<i64>,
    /// What the broker (its group's master) has committed for the group.
    pub broker_offset: Option<i64>,
    /// The queue's max offset on that broker.
    pub max_offset: Option<i64>,
    /// `max_offset - broker_offset`.
    pub lag: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsumerXray {
    pub node: String,
    pub client_id: String,
    pub group: String,
    /// The last rebalance of each topic.
    pub last_rebalance: Vec<RebalanceSeen>,
    pub allocations: Vec<(String, Vec<String>)>,
    pub process_queues: Vec<ProcessQueueRow>,
    /// The Dashboard's consumer progress for the group.
    pub progress: Vec<QueueProgress>,
}

/// A period one consumer held a queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LaneSegment {
    pub client_id: String,
    pub from: Time,
    /// None: still held.
    pub to: Option<Time>,
}

/// A period of a lane with the wrong number of owners.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LaneAlert {
    pub from: Time,
    pub to: Time,
    /// How many consumers held the queue (0 or 2 and more).
    pub owners: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Lane {
    /// `topic broker/queueId`.
    pub queue: String,
    pub segments: Vec<LaneSegment>,
    /// Periods held by two or more consumers at once (clustering only).
    pub double_owned: Vec<LaneAlert>,
    /// Periods after the queue was first held when nobody held it.
    pub unowned: Vec<LaneAlert>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Swimlane {
    pub group: String,
    pub broadcasting: bool,
    pub now: Time,
    pub clients: Vec<String>,
    pub lanes: Vec<Lane>,
    /// Lanes or segments were left out to stay bounded.
    pub truncated: bool,
}

/// A message's life as the fate ledger has it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessageFate {
    pub search: String,
    /// Messages the search found in the brokers (by offset msgId or by key).
    pub matches: Vec<MessageView>,
    /// The UNIQ_KEY whose fate is shown.
    pub msg_id: Option<String>,
    /// The ledger entries, if the ledger follows this message.
    pub entries: Option<Vec<FateEntry>>,
    /// How the search went, for the student (typed, so the sandbox can say it in either language).
    pub notes: Vec<FateNote>,
}

/// One line of how a message search went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum FateNote {
    /// Nothing was typed.
    TypeAnId,
    /// The search is a UNIQ_KEY the fate ledger follows.
    FollowedAsUniqKey,
    /// Found by `queryMessageByUniqKey` in this topic.
    FoundAsUniqKey { topic: String },
    /// The ledger follows this many messages with the business key.
    FollowedWithKey { count: usize, key: String },
    /// `queryMsgByKey` found this many messages in a topic.
    QueriedByKey { topic: String, key: String, count: usize },
    /// No running broker has a message with this id or key.
    NotFound,
    /// The message was found but the ledger does not follow it (it follows a run's first `limit`).
    NotFollowed { msg_id: String, limit: usize },
    /// A step of the admin query (RocketMQ's request names and answers, as `rmqsim query` prints them).
    Query(String),
}

impl std::fmt::Display for FateNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FateNote::TypeAnId => f.write_str("type a msgId (UNIQ_KEY), an offset msgId or a key"),
            FateNote::FollowedAsUniqKey => f.write_str("followed by the fate ledger as a UNIQ_KEY"),
            FateNote::FoundAsUniqKey { topic } => write!(f, "found as a UNIQ_KEY in {topic}"),
            FateNote::FollowedWithKey { count, key } => {
                write!(f, "the fate ledger follows {count} message(s) with key {key}")
            }
            FateNote::QueriedByKey { topic, key, count } => {
                write!(f, "queryMsgByKey({topic}, {key}): {count} message(s)")
            }
            FateNote::NotFound => f.write_str("no message has this id or key in any running broker"),
            FateNote::NotFollowed { msg_id, limit } => {
                write!(
                    f,
                    "{msg_id} is not followed by the fate ledger (it follows the first {limit} messages of a run)"
                )
            }
            FateNote::Query(step) => f.write_str(step),
        }
    }
}

/// One row of a NameServer's `brokerLiveTable`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LiveBrokerRow {
    pub broker_addr: String,
    pub cluster_name: String,
    pub broker_name: String,
    /// `lastUpdateTimestamp` (virtual ms).
    pub last_update_timestamp_ms: u64,
    /// The broker's `DataVersion` of its topic config as last registered: (timestamp, counter).
    pub data_version: (u64, u64),
    pub ha_server_addr: String,
    /// `lastUpdateTimestamp + brokerChannelExpiredTime`: from then on the next scan removes it.
    pub expires_at_ms: u64,
}

/// A NameServer's tables: live brokers, clusters, broker addresses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NameServerXray {
    pub node: String,
    /// `brokerChannelExpiredTime` (120 000 ms in RocketMQ).
    pub broker_channel_expired_ms: u64,
    /// `scanNotActiveBrokerInterval`: how often the NameServer looks for expired brokers.
    pub scan_interval_ms: u64,
    pub live: Vec<LiveBrokerRow>,
    /// `clusterAddrTable`: cluster → broker names.
    pub clusters: Vec<(String, Vec<String>)>,
    /// `brokerAddrTable`: broker name → (broker id, address).
    pub broker_addrs: Vec<(String, Vec<(u64, String)>)>,
}

fn broker_node<'a>(sim: &'a Simulation, node: &str) -> Result<(NodeId, &'a BrokerController), String> {
    let entry = sim.directory().by_name(node).ok_or_else(|| format!("no node named `{node}`"))?;
    if entry.kind != NodeKind::Broker {
        return Err(format!("`{node}` is not a broker"));
    }
    match sim.kernel().node(entry.id) {
        Some(AnyNode::Broker(broker)) => Ok((entry.id, broker)),
        _ => Err(format!("`{node}` is down: its store is not open")),
    }
}

fn row_of(offset: i64, size: i32, record: &crate::broker::store::message_record::MessageRecord) -> RecordRow {
    RecordRow {
        commit_log_offset: offset,
        size,
        blank: false,
        topic: record.topic.clone(),
        queue_id: record.queue_id,
        queue_offset: record.queue_offset.0,
        tags: record.properties.tags().map(str::to_string),
        keys: record.properties.get(PROPERTY_KEYS).map(str::to_string),
        msg_id: record.properties.unique_key().map(str::to_string),
        offset_msg_id: create_message_id(&record.store_host, CommitLogOffset(offset)),
        store_timestamp: record.store_timestamp,
        body_bytes: record.body.len() as u32,
    }
}

/// The record at `offset`: its size first (4 bytes), then the whole record.
fn read_record(broker: &BrokerController, disk: &NodeDisk, offset: i64) -> Result<RecordRow, String> {
    let commit_log = broker.store.commit_log();
    let head = commit_log.get_message(disk, offset, 8).ok_or_else(|| format!("nothing readable at {offset}"))?;
    let size = i32::from_be_bytes(head[0..4].try_into().expect("4 bytes"));
    if size <= 0 {
        return Err(format!("record at {offset} declares {size} bytes"));
    }
    let bytes = match commit_log.get_message(disk, offset, size) {
        Some(bytes) => bytes,
        // A blank marker declares the rest of its file but only its 8 bytes are written.
        None => head,
    };
    match decode(&bytes, CrcCheck::Skip) {
        Ok(DecodedRecord::Message(record)) => Ok(row_of(offset, size, &record)),
        Ok(DecodedRecord::Blank { total_size }) => Ok(RecordRow {
            commit_log_offset: offset,
            size: total_size,
            blank: true,
            topic: String::new(),
            queue_id: -1,
            queue_offset: -1,
            tags: None,
            keys: None,
            msg_id: None,
            offset_msg_id: String::new(),
            store_timestamp: 0,
            body_bytes: 0,
        }),
        Err(e) => Err(format!("record at {offset} does not decode: {e:?}")),
    }
}

/// Up to `limit` records of the CommitLog from `from` (clamped to the log's min offset).
fn record_page(broker: &BrokerController, disk: &NodeDisk, from: i64, limit: u32) -> RecordPage {
    let commit_log = broker.store.commit_log();
    let min = commit_log.min_offset();
    let max = commit_log.max_offset();
    let from = from.clamp(min.max(0), max.max(0));
    let mut page = RecordPage { from, ..RecordPage::default() };
    let mut offset = from;
    while offset < max {
        if page.records.len() as u32 >= limit.min(MAX_PAGE) {
            page.next = Some(offset);
            break;
        }
        match read_record(broker, disk, offset) {
            Ok(row) => {
                offset = if row.blank { commit_log.roll_next_file(offset) } else { offset + i64::from(row.size) };
                page.records.push(row);
            }
            Err(reason) => {
                page.stopped = Some(reason);
                break;
            }
        }
    }
    page
}

fn selected_rows(messages: &[SelectedMessage]) -> Vec<RecordRow> {
    messages.iter().filter_map(|m| m.decode().map(|record| row_of(m.commit_log_offset.0, m.size, &record))).collect()
}

impl Simulation {
    /// The storage X-ray of broker node `node`, with up to `limit` CommitLog records from `records_from`
    /// (None: the last page before the write position).
    pub fn storage_xray(&self, node: &str, records_from: Option<i64>, limit: u32) -> Result<StorageXray, String> {
        let (id, broker) = broker_node(self, node)?;
        let disk = self.kernel().disk(id);
        let limit = limit.clamp(1, MAX_PAGE);
        let mut store = broker.store.store_view(disk, if records_from.is_none() { limit } else { 0 });
        let from = match records_from {
            Some(from) => from,
            None => last_page_start(broker, disk, &store, limit),
        };
        // The units were only wanted to find the page; the ConsumeQueue page shows units.
        store.consume_queues.iter_mut().for_each(|q| q.last_units.clear());
        let records = record_page(broker, disk, from, limit);
        let replication = crate::replication_metrics::group_views(self)
            .into_iter()
            .find(|g| g.broker_name == broker.spec.broker_name);
        Ok(StorageXray {
            node: node.to_string(),
            broker_name: broker.spec.broker_name.clone(),
            flush_lag_bytes: store.commit_log.max_offset - store.commit_log.flushed_where,
            dirty_bytes: store.page_cache.dirty_pages * PAGE_SIZE,
            page_size: PAGE_SIZE,
            store,
            records,
            replication,
        })
    }

    /// `limit` units of the ConsumeQueue (`topic`, `queue_id`) of broker node `node` from queue offset
    /// `from` (None: the last page), each with the record it points at.
    pub fn consume_queue_page(
        &self,
        node: &str,
        topic: &str,
        queue_id: i32,
        from: Option<i64>,
        limit: u32,
    ) -> Result<ConsumeQueuePage, String> {
        let (id, broker) = broker_node(self, node)?;
        let disk = self.kernel().disk(id);
        let cq = broker
            .store
            .consume_queue(topic, queue_id)
            .ok_or_else(|| format!("`{node}` has no ConsumeQueue {topic}/{queue_id}"))?;
        let limit = i64::from(limit.clamp(1, MAX_PAGE));
        let (min, max) = (cq.min_offset_in_queue(), cq.max_offset_in_queue());
        let from = from.unwrap_or(max - limit).clamp(min, max.max(min));
        let end = (from + limit).min(max);
        let rows = (from..end)
            .filter_map(|index| {
                let entry = cq.entry_at(disk, index)?;
                let record = read_record(broker, disk, entry.commit_log_offset.0).ok();
                Some(ConsumeQueueRow {
                    queue_offset: index,
                    commit_log_offset: entry.commit_log_offset.0,
                    size: entry.size,
                    tags_code: entry.tags_code,
                    msg_id: record.as_ref().and_then(|r| r.msg_id.clone()),
                    keys: record.and_then(|r| r.keys),
                })
            })
            .collect();
        Ok(ConsumeQueuePage {
            topic: topic.to_string(),
            queue_id,
            min_offset: min,
            max_offset: max,
            from,
            rows,
            next: (end < max).then_some(end),
        })
    }

    /// `queryMessage(topic, key)` on broker node `node`'s IndexFiles over all time: what `mqadmin
    /// queryMsgByKey` would get from this broker (before the client's exact-key filter).
    pub fn index_lookup(&self, node: &str, topic: &str, key: &str) -> Result<IndexLookup, String> {
        let (id, broker) = broker_node(self, node)?;
        if key.trim().is_empty() {
            return Err("the key is empty".to_string());
        }
        let result =
            broker.store.query_message(self.kernel().disk(id), topic, key.trim(), INDEX_LOOKUP_MAX, 0, i64::MAX);
        Ok(IndexLookup {
            topic: topic.to_string(),
            key: key.trim().to_string(),
            records: selected_rows(&result.messages),
            index_last_update_timestamp: result.index_last_update_timestamp,
            index_last_update_phyoffset: result.index_last_update_phyoffset,
        })
    }

    /// Producer node `node`'s route cache and latency-fault table.
    pub fn producer_xray(&self, node: &str) -> Result<ProducerXray, String> {
        let entry = self.directory().by_name(node).ok_or_else(|| format!("no node named `{node}`"))?;
        let Some(AnyNode::Producer(p)) = self.kernel().node(entry.id) else {
            return Err(format!("`{node}` is not a running producer"));
        };
        let client = &p.client;
        let now_ms = self.now().as_millis();
        let faults = &client.fault_strategy.latency_fault_tolerance;
        let version = faults.version();
        let publish = client
            .topic_publish_info_table
            .iter()
            .map(|(topic, info)| PublishInfoView {
                topic: topic.clone(),
                order_topic: info.order_topic,
                queues: info
                    .message_queue_list
                    .iter()
                    .map(|q| PublishQueueRow {
                        broker_name: q.broker_name.to_string(),
                        queue_id: q.queue_id,
                        broker_addr: client.broker_addr_table.get(&*q.broker_name).and_then(|a| a.get(&0)).cloned(),
                        available: faults.is_available(&q.broker_name, now_ms),
                    })
                    .collect(),
            })
            .collect();
        let fault_items = faults
            .fault_items()
            .map(|f| FaultItemRow {
                broker_name: f.name.clone(),
                current_latency_ms: f.current_latency,
                not_available_duration_ms: f.last_not_available_duration,
                table_duration_for_latency_ms: compute_not_available_duration(f.current_latency, version),
                updated_at_ms: f.last_update,
                available_at_ms: f.start_timestamp,
                available_now: f.is_available(now_ms),
                reachable: f.reachable,
            })
            .collect();
        Ok(ProducerXray {
            node: node.to_string(),
            client_id: client.client_id.clone(),
            producer_group: client.spec.config.producer_group.clone(),
            send_latency_fault_enable: client.fault_strategy.send_latency_fault_enable,
            fault_strategy: version.to_string(),
            now_ms,
            publish,
            fault_items,
        })
    }

    /// Consumer node `node`'s own view: what its rebalances saw, its ProcessQueues and offsets.
    pub fn consumer_xray(&self, node: &str) -> Result<ConsumerXray, String> {
        let entry = self.directory().by_name(node).ok_or_else(|| format!("no node named `{node}`"))?;
        let Some(AnyNode::Consumer(c)) = self.kernel().node(entry.id) else {
            return Err(format!("`{node}` is not a running consumer"));
        };
        let mut last: BTreeMap<String, RebalanceSeen> = BTreeMap::new();
        // The latest rebalance of each subscribed topic: read the record backwards and stop once every
        // topic is seen (the record can be long; the answer is near its end).
        let topics = c.subscription_inner.len();
        for observed in self.observations().iter().rev().filter(|o| o.node == entry.id) {
            if last.len() >= topics {
                break;
            }
            if let Observation::RebalanceAllocated { client_id, topic, cid_all, mq_all, allocated, .. } =
                &observed.observation
            {
                if *client_id == c.client_id && !last.contains_key(topic) {
                    last.insert(
                        topic.clone(),
                        RebalanceSeen {
                            at: observed.time,
                            topic: topic.clone(),
                            cid_all: cid_all.clone(),
                            mq_all: *mq_all,
                            allocated: allocated.iter().map(queue_label).collect(),
                        },
                    );
                }
            }
        }
        let process_queues = c
            .process_queue_table
            .iter()
            .map(|(mq, pq)| {
                let (broker_offset, max_offset) = self.broker_offsets(&c.spec.group, mq);
                ProcessQueueRow {
                    topic: mq.topic.to_string(),
                    broker_name: mq.broker_name.to_string(),
                    queue_id: mq.queue_id,
                    msg_count: pq.msg_count,
                    msg_size: pq.msg_size,
                    locked: pq.locked,
                    dropped: pq.dropped,
                    next_pull_offset: pq.next_offset,
                    local_offset: c.offset_store.offset_table.get(mq).copied(),
                    broker_offset,
                    max_offset,
                    lag: max_offset.map(|m| m - broker_offset.unwrap_or(0).max(0)),
                }
            })
            .collect();
        Ok(ConsumerXray {
            node: node.to_string(),
            client_id: c.client_id.clone(),
            group: c.spec.group.clone(),
            last_rebalance: last.into_values().collect(),
            allocations: c
                .allocations
                .iter()
                .map(|(topic, queues)| {
                    (topic.clone(), queues.iter().map(|q| format!("{}/{}", q.broker_name, q.queue_id)).collect())
                })
                .collect(),
            process_queues,
            progress: query::consumer_progress(self, &c.spec.group),
        })
    }

    /// (committed offset of `group`, max offset) of `mq` on its broker's running master.
    fn broker_offsets(&self, group: &str, mq: &MessageQueue) -> (Option<i64>, Option<i64>) {
        for entry in self.directory().entries.iter().filter(|e| e.kind == NodeKind::Broker) {
            let Some(AnyNode::Broker(b)) = self.kernel().node(entry.id) else { continue };
            if *b.spec.broker_name != *mq.broker_name || b.spec.broker_id != 0 {
                continue;
            }
            let committed = b
                .consumer_services
                .consumer_offset_manager
                .offset_table
                .get(&format!("{}@{group}", mq.topic))
                .and_then(|queues| queues.get(&mq.queue_id))
                .copied();
            return (committed, Some(b.store.get_max_offset_in_queue(&mq.topic, mq.queue_id).0));
        }
        (None, None)
    }

    /// NameServer node `node`'s tables, with each live broker's data version and expiry.
    pub fn name_server_xray(&self, node: &str) -> Result<NameServerXray, String> {
        let entry = self.directory().by_name(node).ok_or_else(|| format!("no node named `{node}`"))?;
        let Some(AnyNode::NameServer(ns)) = self.kernel().node(entry.id) else {
            return Err(format!("`{node}` is not a running NameServer"));
        };
        let expiry = ns.config.broker_channel_expired_time;
        let routes = &ns.route_info;
        Ok(NameServerXray {
            node: node.to_string(),
            broker_channel_expired_ms: expiry,
            scan_interval_ms: ns.config.scan_not_active_broker_interval,
            live: routes
                .broker_live_table
                .iter()
                .map(|(addr, live)| LiveBrokerRow {
                    broker_addr: addr.clone(),
                    cluster_name: live.cluster_name.clone(),
                    broker_name: live.broker_name.clone(),
                    last_update_timestamp_ms: live.last_update_timestamp_ms,
                    data_version: (live.data_version.timestamp, live.data_version.counter),
                    ha_server_addr: live.ha_server_addr.clone(),
                    expires_at_ms: live.last_update_timestamp_ms + expiry,
                })
                .collect(),
            clusters: routes
                .cluster_addr_table
                .iter()
                .map(|(cluster, names)| (cluster.clone(), names.iter().cloned().collect()))
                .collect(),
            broker_addrs: routes
                .broker_addr_table
                .iter()
                .map(|(name, data)| (name.clone(), data.broker_addrs.iter().map(|(id, a)| (*id, a.clone())).collect()))
                .collect(),
        })
    }

    /// Who held which queue of `group` over the run so far.
    pub fn rebalance_swimlane(&self, group: &str) -> Swimlane {
        swimlane(self, group)
    }

    /// The fate of a message found by UNIQ_KEY, offset msgId or business key (KEYS).
    pub fn message_fate(&self, search: &str) -> MessageFate {
        message_fate(self, search)
    }
}

fn queue_label(mq: &MessageQueue) -> String {
    format!("{} {}/{}", mq.topic, mq.broker_name, mq.queue_id)
}

/// The start of the last page. Records have no back links, so the candidates are the record starts the
/// ConsumeQueues know (their last `limit` units each, from `store`): the `limit`-th latest of them, from
/// which the page reads forward (through anything written since). Without any unit (nothing dispatched
/// yet), walk the last file from its start, a bounded number of records.
fn last_page_start(broker: &BrokerController, disk: &NodeDisk, store: &StoreView, limit: u32) -> i64 {
    let mut starts: Vec<i64> = store
        .consume_queues
        .iter()
        .flat_map(|q| q.last_units.iter().map(|u| u.commit_log_offset))
        .filter(|o| *o >= store.commit_log.min_offset)
        .collect();
    starts.sort_unstable();
    starts.dedup();
    if let Some(start) = starts.iter().rev().nth(limit as usize - 1).or(starts.first()) {
        return *start;
    }
    let commit_log = broker.store.commit_log();
    let Some(last) = commit_log.mapped_file_queue().files().last() else { return 0 };
    let mut offset = last.file_from_offset().max(commit_log.min_offset());
    let mut walked = std::collections::VecDeque::with_capacity(limit as usize + 1);
    for _ in 0..LAST_PAGE_WALK {
        if offset >= commit_log.max_offset() {
            break;
        }
        walked.push_back(offset);
        if walked.len() > limit as usize {
            walked.pop_front();
        }
        match read_record(broker, disk, offset) {
            Ok(row) if !row.blank => offset += i64::from(row.size),
            _ => break,
        }
    }
    walked.front().copied().unwrap_or(offset)
}

/// Per queue: the closed segments, and the open ones (client id -> (from, node name)).
type Lanes = BTreeMap<MessageQueue, (Vec<LaneSegment>, BTreeMap<String, (Time, String)>)>;

fn swimlane(sim: &Simulation, group: &str) -> Swimlane {
    let now = sim.now();
    // Consumers of the group by node, and when each stopped (crash, removal, shutdown), in time order.
    let mut stops: BTreeMap<String, Vec<Time>> = BTreeMap::new();
    for (at, action) in sim.action_history().iter().filter(|(at, _)| *at <= now) {
        match action {
            ActionSpec::Crash { node, .. } | ActionSpec::RemoveConsumer { node } | ActionSpec::Shutdown { node } => {
                stops.entry(node.clone()).or_default().push(*at);
            }
            _ => {}
        }
    }
    let mut broadcasting = false;
    let mut clients: Vec<String> = Vec::new();
    // Open segments per queue: client -> (from, node name).
    let mut lanes: Lanes = BTreeMap::new();
    let node_name = |id: NodeId| sim.directory().entries.get(id.0 as usize).map(|e| e.name.clone()).unwrap_or_default();
    let close_stopped = |lanes: &mut Lanes, before: Time| {
        for (segments, open) in lanes.values_mut() {
            let ended: Vec<(String, Time)> = open
                .iter()
                .filter_map(|(client, (from, node))| {
                    let stop = stops.get(node)?.iter().copied().find(|t| *t >= *from && *t <= before)?;
                    Some((client.clone(), stop))
                })
                .collect();
            for (client, stop) in ended {
                let (from, _) = open.remove(&client).expect("listed above");
                segments.push(LaneSegment { client_id: client, from, to: Some(stop) });
            }
        }
    };
    for observed in sim.observations() {
        match &observed.observation {
            Observation::RebalanceAllocated { group: g, client_id, cid_all, .. } if g == group => {
                if cid_all.is_empty() {
                    broadcasting = true;
                }
                if !clients.contains(client_id) {
                    clients.push(client_id.clone());
                }
            }
            Observation::ProcessQueueAdded { group: g, client_id, queue, .. } if g == group => {
                close_stopped(&mut lanes, observed.time);
                if !clients.contains(client_id) {
                    clients.push(client_id.clone());
                }
                let (segments, open) = lanes.entry(queue.clone()).or_default();
                if let Some((from, _)) = open.remove(client_id) {
                    // A restarted consumer (same client id) took the queue again.
                    segments.push(LaneSegment { client_id: client_id.clone(), from, to: Some(observed.time) });
                }
                open.insert(client_id.clone(), (observed.time, node_name(observed.node)));
            }
            Observation::ProcessQueueDropped { group: g, client_id, queue, .. } if g == group => {
                close_stopped(&mut lanes, observed.time);
                if let Some((segments, open)) = lanes.get_mut(queue) {
                    if let Some((from, _)) = open.remove(client_id) {
                        segments.push(LaneSegment { client_id: client_id.clone(), from, to: Some(observed.time) });
                    }
                }
            }
            _ => {}
        }
    }
    close_stopped(&mut lanes, now);
    let truncated = lanes.len() > MAX_LANES;
    let mut truncated_segments = false;
    let lanes = lanes
        .into_iter()
        .take(MAX_LANES)
        .map(|(mq, (mut segments, open))| {
            segments.extend(open.into_iter().map(|(client_id, (from, _))| LaneSegment { client_id, from, to: None }));
            segments.sort_by(|a, b| a.from.cmp(&b.from).then(a.to.cmp(&b.to)));
            let (double_owned, unowned) = alerts(&segments, now, broadcasting);
            if segments.len() > MAX_SEGMENTS {
                truncated_segments = true;
                segments.drain(..segments.len() - MAX_SEGMENTS);
            }
            Lane { queue: queue_label(&mq), segments, double_owned, unowned }
        })
        .collect();
    Swimlane { group: group.to_string(), broadcasting, now, clients, lanes, truncated: truncated || truncated_segments }
}

/// Sweep a lane's segments: periods with two or more owners (unless broadcasting) and periods with
/// none after the first owner. Zero-length periods are not periods.
fn alerts(segments: &[LaneSegment], now: Time, broadcasting: bool) -> (Vec<LaneAlert>, Vec<LaneAlert>) {
    let mut points: Vec<(Time, i32)> = Vec::with_capacity(segments.len() * 2);
    for s in segments {
        points.push((s.from, 1));
        points.push((s.to.unwrap_or(now), -1));
    }
    // Ends before starts at the same instant: a hand-over at one instant is neither gap nor overlap.
    points.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut double, mut none) = (Vec::new(), Vec::new());
    let mut owners = 0i32;
    let mut since = points.first().map_or(now, |p| p.0);
    for (at, delta) in points.iter().copied().chain(std::iter::once((now, 0))) {
        if at > since {
            let alert = LaneAlert { from: since, to: at, owners: owners.max(0) as u32 };
            if owners >= 2 && !broadcasting {
                push_merged(&mut double, alert);
            } else if owners == 0 {
                push_merged(&mut none, alert);
            }
        }
        owners += delta;
        since = since.max(at);
    }
    (double, none)
}

fn push_merged(alerts: &mut Vec<LaneAlert>, alert: LaneAlert) {
    match alerts.last_mut() {
        Some(last) if last.to == alert.from && (last.owners >= 2) == (alert.owners >= 2) => {
            last.to = alert.to;
            last.owners = last.owners.max(alert.owners);
        }
        _ => alerts.push(alert),
    }
}

/// The life of `msg_id` up to `until` for a message the ledger did not follow: the run replayed from its
/// start (scenario, seed, the user's actions, as [`crate::timeline::replay`] does) with the ledger asked to
/// follow it first. Checkers only read, so the replay is the same run; it costs a run from the start.
pub fn follow_by_replay(
    scenario: &crate::scenario::Scenario,
    seed: u64,
    actions: &[crate::action_log::UserAction],
    until: Time,
    msg_id: &str,
) -> Result<Vec<FateEntry>, String> {
    let mut replay = FateReplay::new(scenario, seed, actions, until, msg_id)?;
    loop {
        if let Some(result) = replay.advance(u32::MAX) {
            return result;
        }
    }
}

/// [`follow_by_replay`] a slice at a time, so that a browser can spread a long replay over frames
/// (with a progress bar and a way to cancel) instead of freezing the tab until it ends.
pub struct FateReplay {
    simulation: Simulation,
    /// The user's actions up to `until`, in order; `next` is the first not yet applied.
    actions: Vec<crate::action_log::UserAction>,
    next: usize,
    until: Time,
    msg_id: String,
}

impl FateReplay {
    pub fn new(
        scenario: &crate::scenario::Scenario,
        seed: u64,
        actions: &[crate::action_log::UserAction],
        until: Time,
        msg_id: &str,
    ) -> Result<FateReplay, String> {
        let mut simulation = Simulation::new(scenario, seed).map_err(|e| e.to_string())?;
        simulation.checks_mut().follow(msg_id);
        let actions = actions.iter().filter(|u| u.at <= until).cloned().collect();
        Ok(FateReplay { simulation, actions, next: 0, until, msg_id: msg_id.to_string() })
    }

    /// Run at most `max_events` events. `Some` with the message's life once the replay reached `until`.
    pub fn advance(&mut self, max_events: u32) -> Option<Result<Vec<FateEntry>, String>> {
        let mut budget = max_events;
        loop {
            let pending = self.actions.get(self.next);
            let target = pending.map_or(self.until, |user| user.at);
            let ran = self.simulation.run_bounded(target, budget);
            budget -= ran;
            let reached = budget > 0 || self.simulation.kernel().next_event_time().is_none_or(|next| next > target);
            if !reached {
                return None;
            }
            // Every event up to `target` has run: settle the clock there (runs nothing).
            self.simulation.run_until(target);
            match pending.cloned() {
                Some(user) => {
                    if let Err(e) = self.simulation.inject(Some(user.at), &user.action) {
                        return Some(Err(e));
                    }
                    self.next += 1;
                }
                None => return Some(self.fate()),
            }
        }
    }

    /// How far the replay has come, in per mille of `until`.
    pub fn progress_permille(&self) -> u32 {
        let until = self.until.as_micros();
        if until == 0 {
            return 1_000;
        }
        (u128::from(self.simulation.now().as_micros()) * 1_000 / u128::from(until)).min(1_000) as u32
    }

    fn fate(&self) -> Result<Vec<FateEntry>, String> {
        let fate = self.simulation.checks().fate(&self.msg_id);
        fate.map(<[FateEntry]>::to_vec).ok_or_else(|| format!("{} was not followed", self.msg_id))
    }
}

fn user_topics(sim: &Simulation) -> Vec<String> {
    let mut topics: Vec<String> = Vec::new();
    for entry in sim.directory().entries.iter().filter(|e| e.kind == NodeKind::Broker) {
        if let Some(AnyNode::Broker(b)) = sim.kernel().node(entry.id) {
            for topic in b.topic_config_table().keys() {
                if !is_system_topic(topic) && !topics.contains(topic) {
                    topics.push(topic.clone());
                }
            }
        }
    }
    topics
}

fn message_fate(sim: &Simulation, search: &str) -> MessageFate {
    let search = search.trim();
    let mut fate =
        MessageFate { search: search.to_string(), matches: Vec::new(), msg_id: None, entries: None, notes: Vec::new() };
    if search.is_empty() {
        fate.notes.push(FateNote::TypeAnId);
        return fate;
    }
    let checks = sim.checks();
    if let Some(entries) = checks.fate(search) {
        fate.notes.push(FateNote::FollowedAsUniqKey);
        fate.msg_id = Some(search.to_string());
        fate.entries = Some(entries.to_vec());
    }
    if fate.entries.is_none() && decode_message_id(search).is_ok() {
        let outcome = query::query(sim, &MessageQuery::ById { msg_id: search.to_string(), topic: None });
        if !outcome.messages.is_empty() {
            fate.notes.extend(outcome.notes.into_iter().map(FateNote::Query));
            fate.matches = outcome.messages;
        }
    }
    let hex_id = search.len() == 32 && search.chars().all(|c| c.is_ascii_hexdigit());
    if fate.entries.is_none() && fate.matches.is_empty() && hex_id {
        // A UNIQ_KEY the ledger does not follow: queryMessageByUniqKey in each topic.
        for topic in user_topics(sim) {
            let outcome = query::query(sim, &MessageQuery::ById { msg_id: search.to_string(), topic: Some(topic) });
            if !outcome.messages.is_empty() {
                fate.notes.push(FateNote::FoundAsUniqKey { topic: outcome.messages[0].topic.clone() });
                fate.matches = outcome.messages;
                break;
            }
        }
    }
    if fate.entries.is_none() && fate.matches.is_empty() {
        // The ledger's own messages with this business key (its Requested entry), in run order.
        let followed: Vec<String> = checks
            .followed()
            .into_iter()
            .filter(|id| {
                checks.fate(id).is_some_and(|life| {
                    life.iter().any(|e| {
                        matches!(&e.event, FateEvent::Requested { business_key: Some(k), .. } if k.split(' ').any(|k| k == search))
                    })
                })
            })
            .collect();
        if let Some(first) = followed.first() {
            fate.notes.push(FateNote::FollowedWithKey { count: followed.len(), key: search.to_string() });
            fate.entries = checks.fate(first).map(<[FateEntry]>::to_vec);
            fate.msg_id = Some(first.clone());
        }
        for topic in user_topics(sim) {
            let outcome = query::query(
                sim,
                &MessageQuery::ByKey {
                    topic: topic.clone(),
                    key: search.to_string(),
                    max_num: QUERY_BY_KEY_MAX_NUM,
                    begin_ms: 0,
                    end_ms: i64::MAX,
                },
            );
            if !outcome.messages.is_empty() {
                let count = outcome.messages.len();
                fate.notes.push(FateNote::QueriedByKey { topic: topic.clone(), key: search.to_string(), count });
                fate.matches.extend(outcome.messages);
            }
        }
        if fate.matches.is_empty() {
            fate.notes.push(FateNote::NotFound);
        }
    }
    if fate.entries.is_none() {
        // Prefer a match the ledger follows (a key names many messages; the ledger follows the first ones).
        let followed = fate.matches.iter().filter_map(|m| m.msg_id.clone()).find(|id| checks.fate(id).is_some());
        if let Some(id) = followed.or_else(|| fate.matches.iter().find_map(|m| m.msg_id.clone())) {
            match checks.fate(&id) {
                Some(entries) => fate.entries = Some(entries.to_vec()),
                None => fate.notes.push(FateNote::NotFollowed {
                    msg_id: id.clone(),
                    limit: crate::check::fate::DEFAULT_AUTO_TRACK as usize,
                }),
            }
            fate.msg_id = Some(id);
        }
    }
    fate
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(client: &str, from: u64, to: Option<u64>) -> LaneSegment {
        LaneSegment { client_id: client.to_string(), from: Time::from_micros(from), to: to.map(Time::from_micros) }
    }

    #[test]
    fn a_hand_over_at_one_instant_is_neither_a_gap_nor_an_overlap() {
        let segments = [seg("a", 0, Some(10)), seg("b", 10, None)];
        let (double, none) = alerts(&segments, Time::from_micros(20), false);
        assert!(double.is_empty(), "{double:?}");
        assert!(none.is_empty(), "{none:?}");
    }

    #[test]
    fn overlapping_owners_are_double_owned_and_a_gap_is_unowned() {
        let segments = [seg("a", 0, Some(15)), seg("b", 10, Some(20)), seg("c", 30, None)];
        let (double, none) = alerts(&segments, Time::from_micros(40), false);
        assert_eq!(double, vec![LaneAlert { from: Time::from_micros(10), to: Time::from_micros(15), owners: 2 }]);
        assert_eq!(none, vec![LaneAlert { from: Time::from_micros(20), to: Time::from_micros(30), owners: 0 }]);
    }

    #[test]
    fn broadcasting_owners_are_never_double_owned() {
        let segments = [seg("a", 0, None), seg("b", 0, None)];
        let (double, _) = alerts(&segments, Time::from_micros(40), true);
        assert!(double.is_empty());
    }

    #[test]
    fn a_queue_whose_owner_left_is_unowned_until_now() {
        let segments = [seg("a", 0, Some(10))];
        let (_, none) = alerts(&segments, Time::from_micros(25), false);
        assert_eq!(none, vec![LaneAlert { from: Time::from_micros(10), to: Time::from_micros(25), owners: 0 }]);
    }
}
