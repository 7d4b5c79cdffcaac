//! Checkers: every run gets a verdict, computed incrementally from what the nodes observe.
//!
//! [`Checks`] reads each observation once, as the simulation produces it, and keeps only what a
//! verdict needs: a compact state per message (topic, who sent it, where the acknowledged copy is,
//! which consumer groups processed it — about a hundred bytes), per-queue and per-key order marks,
//! counters, latency histograms and the at-risk meter. Observations themselves are not kept, so a
//! million-message run stays within a few hundred bytes per message. At the end, [`Checks::report`]
//! audits the surviving brokers read-only (is the acknowledged copy still in some CommitLog? where
//! is each group's committed offset?) and turns the state into [`Verdicts`], each violation pointing
//! at the event that caused it.
//!
//! What it checks (see `verdict.rs` for the exact definitions): acknowledged-then-lost, duplicate
//! processing per group, out-of-order processing per queue (orderly groups) and per business key,
//! skipped offsets, work lost by commit-before-process, backlog left at the end, deleted before
//! consumed, dead-lettered; plus the per-message fate ledger (`fate.rs`) and the at-risk meter
//! (`at_risk.rs`).
//!
//! Invariant: checkers never write to the simulation. They read observations, and between steps
//! they read broker state (flushed and replicated positions, node status) the way a view does.

pub mod at_risk;
pub mod expectation;
pub mod fate;
pub mod faults;
pub mod histogram;
pub mod verdict;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::message_queue::MessageQueue;
use crate::metrics::Metrics;
use crate::observation::{ConsumeOutcome, Observation, SendOutcome, SentBackTo};
use crate::producer::send_result::SendStatus;
use crate::protocol::consumer::MessageModel;
use crate::scenario::Scenario;
use crate::sim::disk::CrashKind;
use crate::sim::kernel::{Kernel, NodeStatus, Observed};
use crate::sim::node::NodeId;
use crate::time::{Duration, Time};
use crate::world::{AnyNode, Directory, NodeKind};

use self::at_risk::AtRisk;
use self::fate::{FateEvent, FateLedger};
use self::histogram::Histogram;

pub use self::verdict::{CheckReport, GroupVerdicts, Verdicts, Violation, ViolationKind};

/// Consumer identities the checkers follow at most: one per clustering group, one per member of a
/// broadcasting group (each consumes everything).
pub const MAX_IDENTITIES: usize = 64;
/// Chart samples: one per virtual second, at most 4 096 kept (then halved).
const SERIES_INTERVAL: Duration = Duration::from_secs(1);
const SERIES_MAX_SAMPLES: u32 = 4_096;
/// The series [`Checks::series`] samples, in order; then one `backlog:<group>` per consumer group.
/// `duplicates` and `out_of_order` are running counts (per queue and per key); lost acknowledged
/// messages are only known from the end-of-run audit, so they are not a series.
pub const SERIES: [&str; 10] = [
    "acknowledged/s",
    "consumed/s",
    "backlog",
    "at_risk",
    "send_p99_ms",
    "delivery_p99_ms",
    "send_p50_ms",
    "delivery_p50_ms",
    "duplicates",
    "out_of_order",
];

/// Where and when something happened: the simulation step (as in the trace), its virtual time and node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct EventRef {
    pub time: Time,
    pub step: u64,
    pub node: u16,
}

/// A message's identity: its UNIQ_KEY (32 hex digits) as a number, or a 128-bit hash of any other id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MsgKey(pub u128);

impl MsgKey {
    pub fn of(msg_id: &str) -> MsgKey {
        match MsgKey::parse_hex(msg_id) {
            Some(value) => MsgKey(value),
            None => MsgKey(xxhash_rust::xxh3::xxh3_128(msg_id.as_bytes()) | 1u128 << 127),
        }
    }

    /// The value of exactly 32 upper-case hex digits, checked and read in one pass (observations
    /// name messages by id, so this runs several times per message).
    fn parse_hex(msg_id: &str) -> Option<u128> {
        if msg_id.len() != 32 {
            return None;
        }
        msg_id.bytes().try_fold(0u128, |value, byte| {
            let digit = match byte {
                b'0'..=b'9' => byte - b'0',
                b'A'..=b'F' => byte - b'A' + 10,
                _ => return None,
            };
            Some(value << 4 | u128::from(digit))
        })
    }

    /// Whether `to_hex` gives `msg_id` back: 32 upper-case hex digits (checked without formatting:
    /// every sent message asks).
    fn is_hex(msg_id: &str) -> bool {
        MsgKey::parse_hex(msg_id).is_some()
    }

    pub fn to_hex(self) -> String {
        format!("{:032X}", self.0)
    }
}

/// How many observations the simulation keeps for callers of `Simulation::observations`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retention {
    /// Keep every observation (tests that inspect them; short runs).
    All,
    /// Keep none: the checkers have read them (long CLI runs, sweeps, benchmarks).
    None,
}

/// A consumer identity: a clustering group, or one consumer of a broadcasting group.
#[derive(Clone, Debug)]
struct Identity {
    group: u16,
    /// The consumer node, for broadcasting.
    node: Option<u16>,
    /// It has taken a queue at least once (a standby that never started expects nothing).
    active: bool,
    counters: GroupVerdicts,
}

#[derive(Clone, Debug)]
struct GroupInfo {
    name: String,
    topics: Vec<u16>,
    /// What the group's members subscribe, per topic (every entry of the scenario with this group name:
    /// two services sharing a group name is the subscription-consistency trap).
    subscriptions: Vec<(u16, crate::protocol::consumer::SubscriptionData)>,
    orderly: bool,
    broadcasting: bool,
    /// Identity of the group (clustering), or first identity of its members (broadcasting).
    identities: Vec<u8>,
}

/// Where the copy of a message in its own topic is.
#[derive(Clone, Copy, Debug)]
struct Stored {
    node: u16,
    queue: u32,
    queue_offset: i64,
    commit_log_offset: i64,
    size: i32,
}

#[derive(Clone, Copy, Debug)]
struct Ack {
    status: SendStatus,
    at: EventRef,
}

/// What the checkers remember of one message.
#[derive(Clone, Debug)]
struct Msg {
    topic: u16,
    producer: u16,
    key: u32,
    seq: u64,
    requested_at: Time,
    stored: Option<Stored>,
    ack: Option<Ack>,
    /// Identities that processed it at least once.
    processed: u64,
    /// A send of it ended with an exception (it may have been acknowledged later, after a resend).
    failed: bool,
}

/// Side states of a (message, identity) pair, rare enough to keep apart from [`Msg`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    /// Acknowledged before processing; the background work has not finished.
    AwaitingWork(EventRef),
    /// Sent back to the retry topic; not processed since.
    Retrying(EventRef),
    /// Moved to the DLQ.
    DeadLettered(EventRef),
}

#[derive(Clone, Debug)]
struct PendingSend {
    requested_at: Time,
    topic: u16,
    seqs: Vec<u64>,
    keys: Vec<u32>,
    resend: u32,
}

/// Strings seen in observations, numbered.
#[derive(Clone, Debug, Default)]
struct Interner {
    names: Vec<String>,
    index: BTreeMap<String, u32>,
}

impl Interner {
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(i) = self.index.get(name) {
            return *i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        i
    }

    fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    fn name(&self, i: u32) -> &str {
        self.names.get(i as usize).map_or("?", String::as_str)
    }
}

/// The incremental checkers of one run.
#[derive(Clone, Debug)]
pub struct Checks {
    node_names: Vec<String>,
    /// Node name by IP address (a client id starts with its IP), to name clients as the scenario does.
    names_by_ip: BTreeMap<String, String>,
    /// Broker group index of each node (None for other kinds).
    broker_group_of: Vec<Option<u16>>,
    broker_groups: Vec<(String, Vec<u16>)>,
    broker_status: Vec<(u16, NodeStatus)>,
    /// The last crashes of each broker node (time order, a few kept).
    crashes: BTreeMap<u16, Vec<(EventRef, CrashKind)>>,
    topics: Interner,
    /// (broker name, topic, queue id) per queue index.
    queues: Vec<(u16, u16, i32)>,
    queue_index: BTreeMap<(u16, u16, i32), u32>,
    business_keys: Interner,
    groups: Vec<GroupInfo>,
    identities: Vec<Identity>,
    messages: BTreeMap<MsgKey, Msg>,
    /// Ids that are not 32 hex digits, to print them back.
    odd_ids: BTreeMap<MsgKey, String>,
    stored_per_topic: BTreeMap<u16, u64>,
    sends: BTreeMap<(u16, u64), PendingSend>,
    pending: BTreeMap<(MsgKey, u8), Pending>,
    key_order: BTreeMap<(u8, u16, u32), u64>,
    queue_order: BTreeMap<(u8, u32), i64>,
    queue_start: BTreeMap<(u8, u32), i64>,
    /// Last committed offset seen per (identity, queue), with its event.
    commits: BTreeMap<(u8, u32), (i64, EventRef)>,
    resets: Vec<(u16, u16, EventRef)>,
    /// The last replacement of each (group, topic)'s stored subscription: (event, client id, expression).
    replaced: BTreeMap<(u16, u16), (EventRef, String, String)>,
    /// Why a group's offset passed a message it wanted: (group, queue, queue offset) → (cause, explanation),
    /// for messages filtered against the group's intent (at most [`MAX_FILTER_CAUSES`]).
    filtered: BTreeMap<(u16, u32, i64), (EventRef, String)>,
    /// Forwarding listeners (`workload.forward_to`): each original's copies, in the order they were made ...
    forwards: BTreeMap<MsgKey, Vec<MsgKey>>,
    /// ... and each copy's original, with the group that forwarded it, the target topic and the forward.
    forwarded_from: BTreeMap<MsgKey, (MsgKey, u16, u16, EventRef)>,
    at_risk: AtRisk,
    totals: verdict::RunCounters,
    violations: verdict::ViolationLog,
    ledger: FateLedger,
    send_latency: Histogram,
    delivery_latency: Histogram,
    interval_send: Histogram,
    interval_delivery: Histogram,
    interval_acknowledged: u64,
    interval_consumed: u64,
    series: Metrics,
    /// The `groups` entries of each `backlog:<group>` series, in series order.
    backlog_series: Vec<Vec<usize>>,
    processed_total: u64,
    last_step: u64,
    /// `events_processed` when the brokers were last polled (`poll_brokers`), if ever.
    polled_at: Option<u64>,
    /// Per queue, the highest queue offset a followed message has ever been stored at: an offset commit
    /// below it cannot pass a followed message, so `on_commit` skips its scan of the followed messages.
    followed_reach: BTreeMap<u32, i64>,
}

/// What can have changed for the brokers' poll since the last one (see `Checks::changed_since_poll`).
enum Changed {
    Anything,
    /// Only this broker ran.
    Broker(u16),
    /// Only a node that is not a broker ran.
    NoBroker,
}

/// Filtered messages whose cause is kept (the trap loses every message of a group's other half: a long run
/// would keep one entry per message).
pub const MAX_FILTER_CAUSES: usize = 100_000;

fn is_system_topic(topic: &str) -> bool {
    topic.starts_with("%RETRY%")
        || topic.starts_with("%DLQ%")
        || topic.starts_with("SCHEDULE_TOPIC")
        || topic.starts_with("RMQ_SYS_")
}

impl Checks {
    /// Checkers for a run of `scenario` over the nodes of `directory`.
    pub fn new(scenario: &Scenario, directory: &Directory) -> Checks {
        let node_names: Vec<String> = directory.entries.iter().map(|e| e.name.clone()).collect();
        let names_by_ip = directory
            .entries
            .iter()
            .map(|e| {
                let [a, b, c, d] = e.ip;
                (format!("{a}.{b}.{c}.{d}"), e.name.clone())
            })
            .collect();
        let mut broker_groups: Vec<(String, Vec<u16>)> =
            scenario.topology.broker_groups.iter().map(|g| (g.name.clone(), Vec::new())).collect();
        let mut broker_group_of = vec![None; node_names.len()];
        let mut broker_status = Vec::new();
        for entry in directory.entries.iter().filter(|e| e.kind == NodeKind::Broker) {
            let group = broker_groups
                .iter()
                .enumerate()
                .filter(|(_, (name, _))| entry.name == *name || entry.name.starts_with(&format!("{name}-")))
                .max_by_key(|(_, (name, _))| name.len())
                .map(|(i, _)| i);
            if let Some(group) = group {
                broker_groups[group].1.push(entry.id.0);
                broker_group_of[entry.id.index()] = Some(group as u16);
            }
            broker_status.push((entry.id.0, NodeStatus::Down(CrashKind::ProcessKill)));
        }
        let mut topics = Interner::default();
        for topic in &scenario.topology.topics {
            topics.intern(&topic.name);
        }
        let mut groups = Vec::new();
        let mut identities = Vec::new();
        for (index, spec) in scenario.consumer_groups.iter().enumerate() {
            let broadcasting = spec.config.message_model == MessageModel::Broadcasting;
            let members: Vec<Option<u16>> = if broadcasting {
                spec.node_names().iter().map(|n| directory.by_name(n).map(|e| e.id.0)).collect()
            } else {
                vec![None]
            };
            let mut ids = Vec::new();
            for node in members {
                if identities.len() < MAX_IDENTITIES {
                    ids.push(identities.len() as u8);
                    identities.push(Identity {
                        group: index as u16,
                        node,
                        active: false,
                        counters: GroupVerdicts::default(),
                    });
                }
            }
            let same_name = scenario.consumer_groups.iter().filter(|g| g.group == spec.group);
            let subscriptions = same_name
                .flat_map(|g| g.subscriptions.iter())
                .filter_map(|s| {
                    let data = crate::filter::build_subscription_data(&s.topic, &s.expression, &s.expression_type, 0);
                    data.ok().map(|d| (topics.intern(&s.topic) as u16, d))
                })
                .collect::<Vec<_>>();
            let mut group_topics: Vec<u16> = subscriptions.iter().map(|(t, _)| *t).collect();
            group_topics.dedup();
            groups.push(GroupInfo {
                name: spec.group.clone(),
                subscriptions,
                topics: group_topics,
                orderly: spec.orderly,
                broadcasting,
                identities: ids,
            });
        }
        // One backlog series per group name: two `consumer_groups` entries with one name are one group.
        let mut backlog_series: Vec<(String, Vec<usize>)> = Vec::new();
        for (index, group) in groups.iter().enumerate() {
            match backlog_series.iter_mut().find(|(name, _)| *name == group.name) {
                Some((_, entries)) => entries.push(index),
                None => backlog_series.push((group.name.clone(), vec![index])),
            }
        }
        let series_names: Vec<String> = SERIES
            .iter()
            .map(|s| s.to_string())
            .chain(backlog_series.iter().map(|(name, _)| format!("backlog:{name}")))
            .collect();
        Checks {
            node_names,
            broker_group_of,
            broker_groups,
            broker_status,
            crashes: BTreeMap::new(),
            topics,
            queues: Vec::new(),
            queue_index: BTreeMap::new(),
            business_keys: Interner::default(),
            names_by_ip,
            groups,
            identities,
            messages: BTreeMap::new(),
            odd_ids: BTreeMap::new(),
            stored_per_topic: BTreeMap::new(),
            sends: BTreeMap::new(),
            pending: BTreeMap::new(),
            key_order: BTreeMap::new(),
            queue_order: BTreeMap::new(),
            queue_start: BTreeMap::new(),
            commits: BTreeMap::new(),
            resets: Vec::new(),
            replaced: BTreeMap::new(),
            filtered: BTreeMap::new(),
            forwards: BTreeMap::new(),
            forwarded_from: BTreeMap::new(),
            at_risk: AtRisk::default(),
            totals: verdict::RunCounters::default(),
            violations: verdict::ViolationLog::default(),
            ledger: FateLedger::default(),
            send_latency: Histogram::default(),
            delivery_latency: Histogram::default(),
            interval_send: Histogram::default(),
            interval_delivery: Histogram::default(),
            interval_acknowledged: 0,
            interval_consumed: 0,
            series: Metrics::new(SERIES_INTERVAL, &series_names, SERIES_MAX_SAMPLES),
            backlog_series: backlog_series.into_iter().map(|(_, entries)| entries).collect(),
            processed_total: 0,
            last_step: 0,
            polled_at: None,
            followed_reach: BTreeMap::new(),
        }
    }

    /// Follow `msg_id` in the fate ledger (call before the run, or replay the run).
    pub fn follow(&mut self, msg_id: &str) {
        self.follow_key(MsgKey::of(msg_id));
    }

    fn follow_key(&mut self, key: MsgKey) {
        self.ledger.follow(key);
        if let Some(stored) = self.messages.get(&key).and_then(|m| m.stored) {
            self.note_followed_stored(stored);
        }
    }

    /// Keep `followed_reach` covering a followed message's stored copy.
    fn note_followed_stored(&mut self, stored: Stored) {
        let reach = self.followed_reach.entry(stored.queue).or_insert(stored.queue_offset);
        *reach = (*reach).max(stored.queue_offset);
    }

    /// How many messages the ledger follows automatically from the start (default 64).
    pub fn set_auto_follow(&mut self, count: u32) {
        self.ledger.set_auto_track(count);
    }

    /// The life of a followed message.
    pub fn fate(&self, msg_id: &str) -> Option<&[fate::FateEntry]> {
        self.ledger.life(MsgKey::of(msg_id))
    }

    /// Ids of the followed messages.
    pub fn followed(&self) -> Vec<String> {
        self.ledger.followed().map(|k| self.id_text(k)).collect()
    }

    /// The chart series ([`SERIES`]), sampled every virtual second.
    pub fn series(&self) -> &Metrics {
        &self.series
    }

    /// Messages acknowledged but not yet durable, now.
    pub fn at_risk(&self) -> u64 {
        self.at_risk.total()
    }

    /// Record `event` in the fate ledger if `key` is followed (built only then: most messages are not).
    fn note(&mut self, key: MsgKey, at: EventRef, event: impl FnOnce() -> FateEvent) {
        if self.ledger.follows(key) {
            let name = self.node_name(at.node).to_string();
            self.ledger.record(key, at, &name, event());
        }
    }

    /// Remember why `group`'s offset passes `offset` of queue `queue` (the first reason wins).
    fn note_filtered(&mut self, group: u16, queue: u32, offset: i64, cause: EventRef, text: String) {
        if self.filtered.len() < MAX_FILTER_CAUSES {
            self.filtered.entry((group, queue, offset)).or_insert((cause, text));
        }
    }

    /// The node name of a client id (`<ip>@<pid>#...`), or the id itself.
    fn client_name(&self, client_id: &str) -> String {
        let ip = client_id.split('@').next().unwrap_or_default();
        self.names_by_ip.get(ip).cloned().unwrap_or_else(|| client_id.to_string())
    }

    fn id_text(&self, key: MsgKey) -> String {
        self.odd_ids.get(&key).cloned().unwrap_or_else(|| key.to_hex())
    }

    fn node_name(&self, node: u16) -> &str {
        self.node_names.get(node as usize).map_or("?", String::as_str)
    }

    fn queue_of(&mut self, broker_name: &str, topic: &str, queue_id: i32) -> u32 {
        let broker = self.broker_groups.iter().position(|(n, _)| n == broker_name).unwrap_or(usize::MAX);
        let broker = if broker == usize::MAX {
            self.broker_groups.push((broker_name.to_string(), Vec::new()));
            self.broker_groups.len() - 1
        } else {
            broker
        } as u16;
        self.queue_in(broker, topic, queue_id)
    }

    /// The index of queue `queue_id` of `topic` on broker group `broker`.
    fn queue_in(&mut self, broker: u16, topic: &str, queue_id: i32) -> u32 {
        let topic = self.topics.intern(topic) as u16;
        let key = (broker, topic, queue_id);
        if let Some(q) = self.queue_index.get(&key) {
            return *q;
        }
        let q = self.queues.len() as u32;
        self.queues.push(key);
        self.queue_index.insert(key, q);
        q
    }

    fn group_index(&self, name: &str) -> Option<u16> {
        self.groups.iter().position(|g| g.name == name).map(|i| i as u16)
    }

    /// The identity that consumes for `group` on consumer node `node`.
    fn identity(&self, group: &str, node: u16) -> Option<u8> {
        let g = &self.groups[self.group_index(group)? as usize];
        if g.broadcasting {
            g.identities.iter().copied().find(|i| self.identities[*i as usize].node == Some(node))
        } else {
            g.identities.first().copied()
        }
    }

    /// Before an event at `next` runs: record the chart samples due before it.
    pub fn sample_before(&mut self, next: Time) {
        while self.series.due_before(next) {
            self.record_sample();
        }
    }

    /// The clock reached `until` with all its events done: record the samples due.
    pub fn sample_at(&mut self, until: Time) {
        while self.series.due_at(until) {
            self.record_sample();
        }
    }

    fn record_sample(&mut self) {
        let seconds = (self.series.interval.as_micros() / 1_000_000).max(1);
        let per_group: Vec<u64> =
            self.backlog_series.iter().map(|entries| entries.iter().map(|g| self.backlog_of(*g)).sum()).collect();
        let (mut duplicates, mut out_of_order) = (0u64, 0u64);
        for identity in &self.identities {
            duplicates += identity.counters.duplicates;
            out_of_order += identity.counters.out_of_order_queue + identity.counters.out_of_order_key;
        }
        let mut values = vec![
            (self.interval_acknowledged / seconds) as i64,
            (self.interval_consumed / seconds) as i64,
            per_group.iter().sum::<u64>() as i64,
            self.at_risk.total() as i64,
            (self.interval_send.quantile(990) / 1_000) as i64,
            (self.interval_delivery.quantile(990) / 1_000) as i64,
            (self.interval_send.quantile(500) / 1_000) as i64,
            (self.interval_delivery.quantile(500) / 1_000) as i64,
            duplicates as i64,
            out_of_order as i64,
        ];
        values.extend(per_group.iter().map(|b| *b as i64));
        self.series.record(&values);
        self.interval_acknowledged = 0;
        self.interval_consumed = 0;
        self.interval_send.clear();
        self.interval_delivery.clear();
    }

    /// Messages stored in each active identity's topics that it has not processed yet (a chart's
    /// approximation: the end-of-run verdict tells lost from waiting).
    fn backlog_of(&self, group_index: usize) -> u64 {
        let mut backlog = 0u64;
        for identity in self.identities.iter().filter(|i| i.active && i.group as usize == group_index) {
            let group = &self.groups[identity.group as usize];
            let stored: u64 = group.topics.iter().map(|t| self.stored_per_topic.get(t).copied().unwrap_or(0)).sum();
            let done = identity.counters.consumed + identity.counters.dlq + identity.counters.skipped;
            backlog += stored.saturating_sub(done);
        }
        backlog
    }

    /// After a kernel step: read the observations it made (keeping them as `retention` says), then
    /// the brokers' durability and status.
    pub fn after_step(
        &mut self,
        kernel: &mut Kernel<AnyNode>,
        kept: &mut crate::observation_log::ObservationLog,
        retention: Retention,
    ) {
        let step = kernel.events_processed().saturating_sub(1);
        self.last_step = step;
        for observed in kernel.drain_observations() {
            self.observe(&observed, step);
            match retention {
                Retention::All => kept.push(observed),
                Retention::None => {}
            }
        }
        // Observations only add to the at-risk meter; the poll is what removes from it. What was added
        // may be durable already (acknowledged after its flush): its nodes are polled too.
        let added = self.at_risk.take_added();
        match self.changed_since_poll(kernel) {
            Changed::Anything => self.poll_brokers(kernel, step, None, &added),
            Changed::Broker(node) => self.poll_brokers(kernel, step, Some(node), &added),
            Changed::NoBroker if !added.is_empty() => self.poll_durability(kernel, step, Some(&added)),
            Changed::NoBroker => {}
        }
        self.polled_at = Some(kernel.events_processed());
    }

    /// What a poll must look at. After the poll of the previous step, every broker's status was
    /// recorded and nothing at risk was left at or below its node's durable position; if exactly one
    /// step passed since and it ran a single node (`last_input_node`), then only that node's status,
    /// the durable positions that read it (its broker group's) and the nodes that got something new at
    /// risk can have moved, and a poll of anything else would find nothing to do. Polling eight
    /// brokers' memories on every step of a run was most of the checkers' cost.
    fn changed_since_poll(&self, kernel: &Kernel<AnyNode>) -> Changed {
        let one_step_since = self.polled_at.is_some_and(|at| at + 1 == kernel.events_processed());
        match kernel.last_input_node() {
            Some(node) if one_step_since => {
                if self.broker_status.iter().any(|(b, _)| *b == node.0) {
                    Changed::Broker(node.0)
                } else {
                    Changed::NoBroker
                }
            }
            _ => Changed::Anything,
        }
    }

    /// Broker status changes (crashes, restarts) and, while something is at risk, flushed and
    /// replicated positions: of every broker, or of those `ran` can have changed (see
    /// [`Checks::changed_since_poll`]).
    fn poll_brokers(&mut self, kernel: &Kernel<AnyNode>, step: u64, ran: Option<u16>, added: &[u16]) {
        let now = kernel.now();
        for index in 0..self.broker_status.len() {
            let (node, before) = self.broker_status[index];
            if ran.is_some_and(|ran| ran != node) {
                continue;
            }
            let status = kernel.status(NodeId(node));
            if status != before {
                self.broker_status[index].1 = status;
                if let Some(kind) = status.crash_kind() {
                    let at = EventRef { time: now, step, node };
                    let crashes = self.crashes.entry(node).or_default();
                    crashes.push((at, kind));
                    if crashes.len() > 8 {
                        crashes.remove(0);
                    }
                    if kind != CrashKind::ProcessKill {
                        self.at_risk.forget(node);
                    }
                    let followed: Vec<MsgKey> = self
                        .ledger
                        .followed()
                        .filter(|k| self.messages.get(k).and_then(|m| m.stored).is_some_and(|s| s.node == node))
                        .collect();
                    let name = self.node_name(node).to_string();
                    for key in followed {
                        self.ledger.record(key, at, &name, FateEvent::BrokerCrashed { kind: format!("{kind:?}") });
                    }
                }
            }
        }
        match ran {
            None => self.poll_durability(kernel, step, None),
            Some(ran) => {
                let mut nodes: Vec<u16> = self.group_members(ran).chain(added.iter().copied()).collect();
                nodes.sort_unstable();
                nodes.dedup();
                self.poll_durability(kernel, step, Some(&nodes));
            }
        }
    }

    /// The brokers whose durable position can depend on broker `node`: itself and its group's others.
    fn group_members(&self, node: u16) -> impl Iterator<Item = u16> + '_ {
        let group = self.broker_group_of.get(node as usize).copied().flatten();
        let members = group.map_or(&[][..], |g| self.broker_groups[g as usize].1.as_slice());
        std::iter::once(node).chain(members.iter().copied().filter(move |m| *m != node))
    }

    /// Read the durable positions of the nodes with something at risk (of `only` those, in node order,
    /// when given) and clear what they made safe.
    fn poll_durability(&mut self, kernel: &Kernel<AnyNode>, step: u64, only: Option<&[u16]>) {
        if self.at_risk.is_empty() {
            return;
        }
        let now = kernel.now();
        let mut cursor = None;
        let mut listed = only.map(|nodes| nodes.iter().copied());
        loop {
            let next = match listed.as_mut() {
                Some(nodes) => nodes.next(),
                None => self.at_risk.node_after(cursor),
            };
            let Some(node) = next else { break };
            cursor = Some(node);
            if !self.at_risk.has(node) {
                continue;
            }
            let durable = self.durable_position(kernel, node);
            if let Some((durable, how)) = durable {
                let safe = self.at_risk.durable_up_to(node, durable);
                if safe > 0 && !self.ledger.is_empty() {
                    self.mark_followed_durable(node, durable, how, EventRef { time: now, step, node });
                }
            }
        }
        self.at_risk.note_peak();
    }

    /// How far `node`'s CommitLog is safe from a power loss of `node`: flushed there, or held by another
    /// running broker of its group.
    fn durable_position(&self, kernel: &Kernel<AnyNode>, node: u16) -> Option<(i64, &'static str)> {
        let flushed = match kernel.node(NodeId(node)) {
            Some(AnyNode::Broker(b)) => Some(b.store.commit_log().mapped_file_queue().flushed_where()),
            _ => None,
        };
        let group = self.broker_group_of.get(node as usize).copied().flatten()?;
        let replicated = self.broker_groups[group as usize]
            .1
            .iter()
            .filter(|n| **n != node)
            .filter_map(|n| match kernel.node(NodeId(*n)) {
                Some(AnyNode::Broker(b)) => Some(b.store.max_phy_offset()),
                _ => None,
            })
            .max();
        match (flushed, replicated) {
            (Some(f), Some(r)) if r > f => Some((r, "replicated")),
            (Some(f), _) => Some((f, "flushed")),
            (None, Some(r)) => Some((r, "replicated")),
            (None, None) => None,
        }
    }

    fn mark_followed_durable(&mut self, node: u16, durable: i64, how: &'static str, at: EventRef) {
        let keys: Vec<MsgKey> = self
            .ledger
            .followed()
            .filter(|k| {
                self.messages.get(k).is_some_and(|m| {
                    m.ack.is_some()
                        && m.stored
                            .is_some_and(|s| s.node == node && s.commit_log_offset + i64::from(s.size) <= durable)
                })
            })
            .collect();
        let name = self.node_name(node).to_string();
        for key in keys {
            let already = self
                .ledger
                .life(key)
                .is_some_and(|life| life.iter().any(|e| matches!(e.event, FateEvent::Durable { .. })));
            if !already {
                self.ledger.record(key, at, &name, FateEvent::Durable { how });
            }
        }
    }

    /// Read one observation.
    pub fn observe(&mut self, observed: &Observed<AnyNode>, step: u64) {
        let node = observed.node.0;
        let at = EventRef { time: observed.time, step, node };
        match &observed.observation {
            Observation::SendRequested { send_id, topic, seqs, business_keys, resend, .. } => {
                let topic = self.topics.intern(topic) as u16;
                let keys = business_keys.iter().map(|k| self.business_keys.intern(k)).collect();
                if *resend == 0 {
                    self.totals.requested += seqs.len() as u64;
                }
                self.sends.insert(
                    (node, *send_id),
                    PendingSend { requested_at: observed.time, topic, seqs: seqs.clone(), keys, resend: *resend },
                );
            }
            Observation::SendAttempt { send_id, attempt, msg_ids, queue, broker_addr, .. } => {
                self.on_send_attempt(at, *send_id, *attempt, msg_ids, queue, broker_addr);
            }
            Observation::SendCompleted { send_id, msg_ids, outcome, .. } => {
                self.on_send_completed(at, *send_id, msg_ids, outcome);
            }
            Observation::MessagesAbandoned { seqs, .. } => self.totals.abandoned += seqs.len() as u64,
            Observation::MessageStored {
                topic,
                queue_id,
                queue_offset,
                commit_log_offset,
                offset_msg_id,
                msg_id,
                wrote_bytes,
                ..
            } => {
                let stored = StoredObservation {
                    topic,
                    queue_id: *queue_id,
                    queue_offset: *queue_offset,
                    commit_log_offset: *commit_log_offset,
                    offset_msg_id,
                    msg_id,
                    size: *wrote_bytes,
                };
                self.on_message_stored(at, stored);
            }
            Observation::ProcessQueueAdded { group, queue, offset, .. } => {
                if let Some(identity) = self.identity(group, node) {
                    self.identities[identity as usize].active = true;
                    if !is_system_topic(&queue.topic) {
                        let q = self.queue_of(&queue.broker_name, &queue.topic, queue.queue_id);
                        let start = self.queue_start.entry((identity, q)).or_insert(*offset);
                        *start = (*start).min(*offset);
                    }
                }
            }
            Observation::MessagesPulled { group, messages, .. } if !self.ledger.is_empty() => {
                for (_, id) in messages {
                    self.note(MsgKey::of(id), at, || FateEvent::Pulled { group: group.clone() });
                }
            }
            Observation::ConsumeStarted { group, msg_id, reconsume_times, .. } => {
                self.note(MsgKey::of(msg_id), at, || FateEvent::ConsumeStarted {
                    group: group.clone(),
                    reconsume_times: *reconsume_times,
                });
            }
            Observation::ConsumeFinished { group, queue, queue_offset, msg_id, status, discarded, .. } => {
                let key = MsgKey::of(msg_id);
                self.note(key, at, || FateEvent::ConsumeFinished {
                    group: group.clone(),
                    outcome: *status,
                    discarded: *discarded,
                });
                let Some(identity) = self.identity(group, node) else { return };
                self.identities[identity as usize].active = true;
                match status {
                    ConsumeOutcome::Success => self.on_processed(at, key, identity, queue, *queue_offset),
                    ConsumeOutcome::DuplicateSkipped => {
                        self.identities[identity as usize].counters.duplicates_absorbed += 1;
                        self.totals.duplicates_absorbed += 1;
                        if self.messages.get(&key).is_some_and(|m| m.processed & (1 << identity) == 0) {
                            self.on_processed(at, key, identity, queue, *queue_offset);
                        }
                    }
                    ConsumeOutcome::AckedBeforeProcessing => {
                        self.pending.insert((key, identity), Pending::AwaitingWork(at));
                    }
                    ConsumeOutcome::ReconsumeLater | ConsumeOutcome::Exception => {
                        self.identities[identity as usize].counters.consume_failures += 1;
                    }
                }
            }
            Observation::BackgroundWorkFinished { group, queue, queue_offset, msg_id, ok, .. } => {
                let key = MsgKey::of(msg_id);
                self.note(key, at, || FateEvent::BackgroundWork { group: group.clone(), ok: *ok });
                let Some(identity) = self.identity(group, node) else { return };
                self.pending.remove(&(key, identity));
                if *ok {
                    self.on_processed(at, key, identity, queue, *queue_offset);
                } else {
                    self.identities[identity as usize].counters.lost_work += 1;
                    let text = format!("{group}'s background work failed after the message was acknowledged");
                    self.violations.push(ViolationKind::LostWork, self.id_text(key), Some(group.clone()), at, text);
                }
            }
            Observation::MessageSentBack { group, msg_id, reconsume_times, destination, .. } => {
                let key = MsgKey::of(msg_id);
                self.note(key, at, || FateEvent::SentBack {
                    group: group.clone(),
                    to: *destination,
                    reconsume_times: *reconsume_times,
                });
                let Some(g) = self.group_index(group) else { return };
                let Some(identity) = self.groups[g as usize].identities.first().copied() else { return };
                match destination {
                    SentBackTo::Retry { .. } => {
                        self.identities[identity as usize].counters.retried += 1;
                        if self.messages.get(&key).is_some_and(|m| m.processed & (1 << identity) == 0) {
                            self.pending.insert((key, identity), Pending::Retrying(at));
                        }
                    }
                    SentBackTo::DeadLetterQueue => {
                        self.identities[identity as usize].counters.dlq += 1;
                        self.pending.insert((key, identity), Pending::DeadLettered(at));
                        let text = format!(
                            "{group} failed it {} times; moved to %DLQ%{group}",
                            reconsume_times.saturating_sub(0)
                        );
                        self.violations.push(
                            ViolationKind::DeadLettered,
                            self.id_text(key),
                            Some(group.clone()),
                            at,
                            text,
                        );
                    }
                }
            }
            Observation::DelayedMessageDelivered { topic, queue_id, queue_offset, msg_id, .. } => {
                self.note(MsgKey::of(msg_id), at, || FateEvent::DelayedDelivered {
                    topic: topic.clone(),
                    queue_id: *queue_id,
                    queue_offset: *queue_offset,
                });
            }
            Observation::ConsumerOffsetCommitted { group, topic, queue_id, offset } => {
                if is_system_topic(topic) {
                    return;
                }
                let Some(g) = self.group_index(group) else { return };
                if self.groups[g as usize].broadcasting {
                    return;
                }
                let Some(identity) = self.groups[g as usize].identities.first().copied() else { return };
                let Some(broker) = self.broker_group_of.get(node as usize).copied().flatten() else { return };
                let q = self.queue_in(broker, topic, *queue_id);
                self.on_commit(at, identity, q, *offset, group);
            }
            Observation::ConsumeOffsetPersisted { group, queue, offset, .. } => {
                let Some(identity) = self.identity(group, node) else { return };
                let g = self.identities[identity as usize].group as usize;
                if self.groups[g].broadcasting && !is_system_topic(&queue.topic) {
                    let q = self.queue_of(&queue.broker_name, &queue.topic, queue.queue_id);
                    self.on_commit(at, identity, q, *offset, &group.clone());
                }
            }
            Observation::SubscriptionReplaced { group, topic, client_id, current, .. } => {
                if let Some(g) = self.group_index(group) {
                    let t = self.topics.intern(topic) as u16;
                    let by = self.client_name(client_id);
                    self.replaced.insert((g, t), (at, by, current.clone()));
                }
            }
            Observation::MessageFilteredAgainstIntent {
                group,
                client_id,
                topic,
                queue_id,
                queue_offset,
                applied,
                wanted_by,
                ..
            } => {
                let Some(g) = self.group_index(group) else { return };
                let Some(broker) = self.broker_group_of.get(node as usize).copied().flatten() else { return };
                let q = self.queue_in(broker, topic, *queue_id);
                let t = self.topics.intern(topic) as u16;
                let wanted: Vec<String> =
                    wanted_by.iter().map(|(c, e)| format!("{} subscribes `{e}`", self.client_name(c))).collect();
                let puller = self.client_name(client_id);
                let (cause, replaced) = match self.replaced.get(&(g, t)) {
                    Some((when, by, _)) => {
                        (*when, format!("; {by}'s heartbeat had replaced the stored subscription at {}", when.time))
                    }
                    None => (at, String::new()),
                };
                let text = format!(
                    "subscription conflict in {group}: {} filtered it on {puller}'s pull with the group's stored \
                     subscription `{applied}` while {}{replaced}; the offset passed a message the group wanted",
                    self.node_name(node),
                    wanted.join(", "),
                );
                self.note_filtered(g, q, *queue_offset, cause, text);
            }
            Observation::MessagesFilteredByClient { group, client_id, queue, messages } => {
                let Some(g) = self.group_index(group) else { return };
                let q = self.queue_of(&queue.broker_name, &queue.topic, queue.queue_id);
                let t = self.topics.intern(&queue.topic) as u16;
                let (cause, stored) = match self.replaced.get(&(g, t)) {
                    Some((when, by, expression)) => (
                        *when,
                        format!(
                            " (the broker applied the group's stored `{expression}`, set by {by} at {})",
                            when.time
                        ),
                    ),
                    None => (at, String::new()),
                };
                let dropper = self.client_name(client_id);
                for (offset, _, tags) in messages {
                    let text = format!(
                        "subscription conflict in {group}: {dropper}'s client dropped it (tag {}) after the broker \
                         let it through{stored}; the member that wants it never pulls this queue",
                        tags.as_deref().map_or("none".to_string(), |t| format!("`{t}`")),
                    );
                    self.note_filtered(g, q, *offset, cause, text);
                }
            }
            Observation::MessageForwarded { group, from_msg_id, topic, msg_id, .. } => {
                let (original, copy) = (MsgKey::of(from_msg_id), MsgKey::of(msg_id));
                let group = self.group_index(group).unwrap_or(u16::MAX);
                let topic = self.topics.intern(topic) as u16;
                self.forwards.entry(original).or_default().push(copy);
                self.forwarded_from.insert(copy, (original, group, topic, at));
                // Following a message follows its copies: the copy's life is the rest of its story.
                if self.ledger.follows(original) {
                    self.follow_key(copy);
                }
            }
            Observation::OffsetReset { group, topic, .. } => {
                if let Some(g) = self.group_index(group) {
                    let t = self.topics.intern(topic) as u16;
                    self.resets.push((g, t, at));
                    if self.resets.len() > 256 {
                        self.resets.remove(0);
                    }
                }
            }
            _ => {}
        }
    }

    fn on_send_attempt(
        &mut self,
        at: EventRef,
        send_id: u64,
        attempt: u32,
        msg_ids: &[String],
        queue: &MessageQueue,
        broker: &str,
    ) {
        let node = at.node;
        let send = self.sends.get(&(node, send_id)).cloned();
        for (i, id) in msg_ids.iter().enumerate() {
            let key = MsgKey::of(id);
            if !self.messages.contains_key(&key) {
                if id.is_empty() {
                    continue;
                }
                if !MsgKey::is_hex(id) {
                    self.odd_ids.insert(key, id.clone());
                }
                let (topic, seq, business_key, requested_at) = match &send {
                    Some(s) => (
                        s.topic,
                        s.seqs.get(i).copied().unwrap_or(0),
                        s.keys.get(i).copied().unwrap_or(u32::MAX),
                        s.requested_at,
                    ),
                    None => (u16::MAX, 0, u32::MAX, at.time),
                };
                self.messages.insert(
                    key,
                    Msg {
                        topic,
                        producer: node,
                        key: business_key,
                        seq,
                        requested_at,
                        stored: None,
                        ack: None,
                        processed: 0,
                        failed: false,
                    },
                );
                self.ledger.on_new_message(key);
                if self.ledger.follows(key) {
                    let name = self.node_name(node).to_string();
                    let business_key =
                        (business_key != u32::MAX).then(|| self.business_keys.name(business_key).to_string());
                    let resend = send.as_ref().map_or(0, |s| s.resend);
                    self.ledger.record(key, at, &name, FateEvent::Requested { seq, business_key, resend });
                }
            }
            if self.ledger.follows(key) {
                let name = self.node_name(node).to_string();
                let event = FateEvent::Attempt { attempt, queue: queue.to_string(), broker_addr: broker.to_string() };
                self.ledger.record(key, at, &name, event);
            }
        }
    }

    fn on_send_completed(&mut self, at: EventRef, send_id: u64, msg_ids: &[String], outcome: &SendOutcome) {
        let node = at.node;
        if let Some(send) = self.sends.remove(&(node, send_id)) {
            let latency = at.time.saturating_since(send.requested_at).as_micros();
            self.send_latency.record(latency);
            self.interval_send.record(latency);
        }
        for id in msg_ids {
            let key = MsgKey::of(id);
            self.note_forward_result(key, at, outcome);
            match outcome {
                SendOutcome::Sent { status, .. } => {
                    self.note(key, at, || FateEvent::Acknowledged { status: *status });
                    let Some(msg) = self.messages.get_mut(&key) else { continue };
                    if msg.ack.is_some() {
                        continue;
                    }
                    msg.ack = Some(Ack { status: *status, at });
                    self.totals.acknowledged += 1;
                    self.interval_acknowledged += 1;
                    if *status == SendStatus::SendOk {
                        self.totals.acknowledged_send_ok += 1;
                    }
                    if let Some(stored) = msg.stored {
                        let end = stored.commit_log_offset + i64::from(stored.size);
                        self.at_risk.add(stored.node, end);
                    }
                }
                SendOutcome::Failed { exception, .. } => {
                    self.note(key, at, || FateEvent::SendFailed { exception: exception.clone() });
                    if let Some(msg) = self.messages.get_mut(&key) {
                        msg.failed = true;
                    }
                }
                SendOutcome::Oneway => {}
            }
        }
    }

    /// A forwarded copy's send ended: its original's life says where it went (when the original is followed).
    fn note_forward_result(&mut self, copy: MsgKey, at: EventRef, outcome: &SendOutcome) {
        let Some((original, group, topic, _)) = self.forwarded_from.get(&copy).copied() else { return };
        if !self.ledger.follows(original) {
            return;
        }
        let group = self.groups.get(group as usize).map_or("?", |g| g.name.as_str());
        let topic = self.topics.name(u32::from(topic));
        let (result, ok) = match outcome {
            SendOutcome::Sent { status, .. } => (status.name().to_string(), *status == SendStatus::SendOk),
            SendOutcome::Failed { exception, .. } => (exception.clone(), false),
            SendOutcome::Oneway => return,
        };
        let event = FateEvent::Forwarded {
            group: group.to_string(),
            topic: topic.to_string(),
            copy: self.id_text(copy),
            result,
            ok,
        };
        let name = self.node_name(at.node).to_string();
        self.ledger.record(original, at, &name, event);
    }

    fn on_message_stored(&mut self, at: EventRef, o: StoredObservation<'_>) {
        let node = at.node;
        let key = MsgKey::of(o.msg_id);
        if o.msg_id.is_empty() {
            return;
        }
        let system = is_system_topic(o.topic);
        if !self.messages.contains_key(&key) {
            if system && o.topic.starts_with("%") {
                // A copy of a message we never saw sent (a retry of a message from before the run).
                return;
            }
            if !MsgKey::is_hex(o.msg_id) {
                self.odd_ids.insert(key, o.msg_id.to_string());
            }
            let topic = self.topics.intern(o.topic) as u16;
            self.messages.insert(
                key,
                Msg {
                    topic,
                    producer: u16::MAX,
                    key: u32::MAX,
                    seq: 0,
                    requested_at: at.time,
                    stored: None,
                    ack: None,
                    processed: 0,
                    failed: false,
                },
            );
            self.ledger.on_new_message(key);
        }
        self.note(key, at, || FateEvent::Stored {
            topic: o.topic.to_string(),
            queue_id: o.queue_id,
            queue_offset: o.queue_offset,
            commit_log_offset: o.commit_log_offset,
            offset_msg_id: o.offset_msg_id.to_string(),
        });
        let Some(broker) = self.broker_group_of.get(node as usize).copied().flatten() else { return };
        let queue = self.queue_in(broker, o.topic, o.queue_id);
        let topic_index = self.topics.get(o.topic).unwrap_or(u32::MAX) as u16;
        let msg = self.messages.get_mut(&key).expect("inserted above");
        let own_topic = msg.topic == topic_index || msg.topic == u16::MAX;
        if own_topic && msg.topic == u16::MAX {
            msg.topic = topic_index;
        }
        if msg.stored.is_none() || own_topic {
            let first_in_topic = own_topic && msg.stored.is_none_or(|s| self.queues[s.queue as usize].1 != topic_index);
            let stored = Stored {
                node,
                queue,
                queue_offset: o.queue_offset,
                commit_log_offset: o.commit_log_offset,
                size: o.size,
            };
            msg.stored = Some(stored);
            if self.ledger.follows(key) {
                self.note_followed_stored(stored);
            }
            if first_in_topic {
                *self.stored_per_topic.entry(topic_index).or_insert(0) += 1;
                self.totals.stored += 1;
            }
        }
    }

    fn on_processed(
        &mut self,
        at: EventRef,
        key: MsgKey,
        identity: u8,
        queue: &crate::message_queue::MessageQueue,
        queue_offset: i64,
    ) {
        let bit = 1u64 << identity;
        let group_index = self.identities[identity as usize].group as usize;
        let group = self.groups[group_index].name.clone();
        let Some(msg) = self.messages.get_mut(&key) else { return };
        if msg.processed & bit != 0 {
            self.identities[identity as usize].counters.duplicates += 1;
            let text = format!("{group} processed it again");
            self.violations.push(ViolationKind::Duplicate, self.id_text(key), Some(group), at, text);
            return;
        }
        msg.processed |= bit;
        let (producer, business_key, seq, requested_at) = (msg.producer, msg.key, msg.seq, msg.requested_at);
        self.identities[identity as usize].counters.consumed += 1;
        self.processed_total += 1;
        self.interval_consumed += 1;
        let latency = at.time.saturating_since(requested_at).as_micros();
        self.delivery_latency.record(latency);
        self.interval_delivery.record(latency);
        if matches!(self.pending.get(&(key, identity)), Some(Pending::Retrying(_))) {
            self.pending.remove(&(key, identity));
        }
        if self.groups[group_index].orderly && !is_system_topic(&queue.topic) {
            let q = self.queue_of(&queue.broker_name, &queue.topic, queue.queue_id);
            let mark = self.queue_order.entry((identity, q)).or_insert(i64::MIN);
            if queue_offset < *mark {
                let text = format!("{group} processed offset {queue_offset} of {queue} after offset {}", *mark);
                self.identities[identity as usize].counters.out_of_order_queue += 1;
                self.violations.push(ViolationKind::OutOfOrderQueue, self.id_text(key), Some(group.clone()), at, text);
            } else {
                *mark = queue_offset;
            }
        }
        if business_key != u32::MAX && producer != u16::MAX {
            let mark = self.key_order.entry((identity, producer, business_key)).or_insert(0);
            if seq < *mark {
                let text = format!(
                    "{group} processed message #{seq} of key {} after #{}",
                    self.business_keys.name(business_key),
                    *mark
                );
                self.identities[identity as usize].counters.out_of_order_key += 1;
                self.violations.push(ViolationKind::OutOfOrderKey, self.id_text(key), Some(group), at, text);
            } else {
                *mark = seq;
            }
        }
    }

    fn on_commit(&mut self, at: EventRef, identity: u8, queue: u32, offset: i64, group: &str) {
        let previous = self.commits.insert((identity, queue), (offset, at));
        if self.ledger.is_empty() {
            return;
        }
        let before = previous.map_or(i64::MIN, |(o, _)| o);
        if offset <= before || self.followed_reach.get(&queue).is_none_or(|reach| *reach < before) {
            return;
        }
        let passed: Vec<MsgKey> = self
            .ledger
            .followed()
            .filter(|k| {
                self.messages
                    .get(k)
                    .and_then(|m| m.stored)
                    .is_some_and(|s| s.queue == queue && s.queue_offset >= before && s.queue_offset < offset)
            })
            .collect();
        let name = self.node_name(at.node).to_string();
        for key in passed {
            self.ledger.record(key, at, &name, FateEvent::OffsetCommitted { group: group.to_string(), offset });
        }
    }
}

impl crate::simulation::Simulation {
    /// The verdicts of the run so far: the checkers' state plus a read-only audit of the brokers.
    pub fn verdicts(&self) -> Verdicts {
        self.checks().verdicts(self.kernel())
    }

    /// The verdicts, with the scenario's expectations and quiz graded.
    pub fn check_report(&self) -> CheckReport {
        let verdicts = self.verdicts();
        let scenario = self.scenario();
        let failed = scenario.expectations.evaluate(&verdicts);
        let quiz = scenario.quiz.as_ref().and_then(|q| q.value(&verdicts).map(|v| (v, q.right_options(&verdicts))));
        CheckReport { verdicts, failed, quiz }
    }
}

/// The fields of a `MessageStored` observation the checkers use.
struct StoredObservation<'a> {
    topic: &'a str,
    queue_id: i32,
    queue_offset: i64,
    commit_log_offset: i64,
    offset_msg_id: &'a str,
    msg_id: &'a str,
    size: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniq_keys_are_numbers_and_other_ids_are_hashed_apart() {
        let id = "0A0000020000000000000000000000A1";
        assert_eq!(MsgKey::of(id).to_hex(), id);
        assert_eq!(MsgKey::of(id), MsgKey(0x0A00_0002_0000_0000_0000_0000_0000_00A1));
        assert_eq!(MsgKey::of("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"), MsgKey(u128::MAX));
        assert!(MsgKey::is_hex(id));
        assert!(!MsgKey::is_hex("order-1"));
        assert_ne!(MsgKey::of("order-1"), MsgKey::of("order-2"));
        assert_ne!(MsgKey::of("0a0000020000000000000000000000a1"), MsgKey::of(id), "lower case is another id");
    }

    #[test]
    fn an_id_is_hex_exactly_when_its_key_prints_it_back() {
        let ids = [
            "0A0000020000000000000000000000A1",
            "0a0000020000000000000000000000a1",
            "0A00",
            "+A0000020000000000000000000000A1",
            "order-1",
            "",
        ];
        for id in ids {
            assert_eq!(MsgKey::is_hex(id), MsgKey::of(id).to_hex() == id, "{id}");
        }
    }
}
