//! Verdicts: the end-of-run audit that turns the checkers' state into counts and violations.
//!
//! Definitions (a "consumer identity" is a clustering group, or one consumer of a broadcasting group):
//!
//! - **expected**: a message stored in its topic is expected by every identity whose group subscribes
//!   the topic, that took a queue at least once, unless the identity started that queue after the
//!   message's offset.
//! - **lost_acknowledged**: acknowledged to its producer (any `SendResult` status), not processed by
//!   every identity that expects it (or expected by none), and in no running broker of its group: the
//!   CommitLog at its offset holds another message or nothing.
//! - **unavailable**: the same, but every broker of its group is down at the end (its disk may still
//!   hold it).
//! - **deleted_before_consumed**: the same, but the CommitLog no longer reaches back to it (cleanup).
//! - per identity, for an expected message it never processed: **dlq** if it was dead-lettered,
//!   **lost_work** if it was acknowledged before processing and the work never finished, **backlog** if
//!   it is still retrying or still waiting above the committed offset, **skipped** if the committed
//!   offset passed it, **lost** if it is gone (as above).
//! - **duplicates**: successful processings of a message the identity had processed already;
//!   **duplicates_absorbed**: redeliveries an idempotent application skipped.
//! - **out_of_order_queue** (orderly groups): a first processing at an offset lower than one already
//!   processed on the queue; **out_of_order_key**: a first processing of a producer's message for a
//!   business key after a later message of the same key.
//!
//! - **forwarded** (a forwarding listener, `workload.forward_to`): an original with at least one copy stored
//!   in (or acknowledged for) the new topic; **forward_duplicates**: its copies beyond the first (each is a
//!   message of its own there, with its own msgId); **forward_unprocessed**: a forwarded original no copy of
//!   which every active group subscribing the new topic processed (or that no group consumes). The copies
//!   are also ordinary messages of the new topic, judged by every verdict above.
//!
//! Each violation points at the event that caused it (the step, virtual time and node).

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::broker::store::offsets::CommitLogOffset;
use crate::check::expectation::FailedExpectation;
use crate::check::histogram::LatencySummary;
use crate::check::{Checks, EventRef, MsgKey, Pending, Stored};
use crate::sim::disk::CrashKind;
use crate::sim::kernel::Kernel;
use crate::sim::node::NodeId;
use crate::world::AnyNode;

/// Violations kept per kind (the counts are exact; the examples are bounded).
pub const MAX_EXAMPLES_PER_KIND: usize = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum ViolationKind {
    Lost,
    Unavailable,
    DeletedBeforeConsumed,
    LostWork,
    Skipped,
    Duplicate,
    OutOfOrderQueue,
    OutOfOrderKey,
    DeadLettered,
    Backlog,
    /// A forwarded message with more than one copy in the new topic.
    ForwardDuplicate,
    /// A forwarded message no copy of which the new topic's groups processed.
    ForwardUnprocessed,
}

impl ViolationKind {
    /// The metric this kind of violation counts in.
    pub fn metric(self) -> &'static str {
        match self {
            ViolationKind::Lost => "lost_acknowledged",
            ViolationKind::Unavailable => "unavailable",
            ViolationKind::DeletedBeforeConsumed => "deleted_before_consumed",
            ViolationKind::LostWork => "lost_work",
            ViolationKind::Skipped => "skipped",
            ViolationKind::Duplicate => "duplicates",
            ViolationKind::OutOfOrderQueue => "out_of_order_queue",
            ViolationKind::OutOfOrderKey => "out_of_order_key",
            ViolationKind::DeadLettered => "dlq",
            ViolationKind::Backlog => "backlog",
            ViolationKind::ForwardDuplicate => "forward_duplicates",
            ViolationKind::ForwardUnprocessed => "forward_unprocessed",
        }
    }
}

/// One instance of a verdict: which message, which group, and the event that caused it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub kind: ViolationKind,
    pub msg_id: String,
    pub group: Option<String>,
    pub cause: EventRef,
    /// The name of the node of `cause`.
    pub cause_node: String,
    pub explanation: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.metric(), self.msg_id)?;
        if let Some(group) = &self.group {
            write!(f, " ({group})")?;
        }
        write!(
            f,
            ": {} — caused at {} (step {}) on {}",
            self.explanation, self.cause.time, self.cause.step, self.cause_node
        )
    }
}

/// One example: message id, group, cause, explanation.
type Example = (String, Option<String>, EventRef, String);

/// Bounded examples of each kind, collected while the run goes.
#[derive(Clone, Debug, Default)]
pub(crate) struct ViolationLog {
    examples: BTreeMap<ViolationKind, Vec<Example>>,
}

impl ViolationLog {
    pub(crate) fn push(
        &mut self,
        kind: ViolationKind,
        msg_id: String,
        group: Option<String>,
        at: EventRef,
        text: String,
    ) {
        let examples = self.examples.entry(kind).or_default();
        if examples.len() < MAX_EXAMPLES_PER_KIND {
            examples.push((msg_id, group, at, text));
        }
    }
}

/// Counters the checkers keep for the whole run.
#[derive(Clone, Debug, Default)]
pub(crate) struct RunCounters {
    pub requested: u64,
    pub acknowledged: u64,
    pub acknowledged_send_ok: u64,
    pub abandoned: u64,
    pub stored: u64,
    pub duplicates_absorbed: u64,
}

/// Verdicts of one consumer group (summed over its consumers for BROADCASTING).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GroupVerdicts {
    pub consumed: u64,
    pub duplicates: u64,
    pub duplicates_absorbed: u64,
    pub lost_work: u64,
    pub skipped: u64,
    pub backlog: u64,
    pub consume_failures: u64,
    pub retried: u64,
    pub dlq: u64,
    pub out_of_order_queue: u64,
    pub out_of_order_key: u64,
    pub lost: u64,
    pub deleted_before_consumed: u64,
}

impl GroupVerdicts {
    fn add(&mut self, other: &GroupVerdicts) {
        self.consumed += other.consumed;
        self.duplicates += other.duplicates;
        self.duplicates_absorbed += other.duplicates_absorbed;
        self.lost_work += other.lost_work;
        self.skipped += other.skipped;
        self.backlog += other.backlog;
        self.consume_failures += other.consume_failures;
        self.retried += other.retried;
        self.dlq += other.dlq;
        self.out_of_order_queue += other.out_of_order_queue;
        self.out_of_order_key += other.out_of_order_key;
        self.lost += other.lost;
        self.deleted_before_consumed += other.deleted_before_consumed;
    }
}

/// Everything a run is judged by.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Verdicts {
    pub requested: u64,
    pub acknowledged: u64,
    pub acknowledged_send_ok: u64,
    pub send_failed: u64,
    pub abandoned: u64,
    pub stored: u64,
    pub lost_acknowledged: u64,
    pub unavailable: u64,
    pub deleted_before_consumed: u64,
    pub at_risk_max: u64,
    pub at_risk_end: u64,
    pub consumed: u64,
    pub duplicates: u64,
    pub duplicates_absorbed: u64,
    pub lost_work: u64,
    pub skipped: u64,
    pub backlog: u64,
    pub consume_failures: u64,
    pub retried: u64,
    pub dlq: u64,
    pub out_of_order_queue: u64,
    pub out_of_order_key: u64,
    pub send_latency_p50_ms: u64,
    pub send_latency_p99_ms: u64,
    pub delivery_latency_p99_ms: u64,
    /// Messages a forwarding listener (`workload.forward_to`) copied to its topic (at least one copy stored
    /// or acknowledged).
    pub forwarded: u64,
    /// Extra copies of forwarded messages: a message forwarded as n copies counts n − 1 (each is its own
    /// message in the new topic: processed twice there unless that group deduplicates by key).
    pub forward_duplicates: u64,
    /// Forwarded messages none of whose copies every group consuming the new topic processed by the end
    /// (still waiting there, or lost in the forward; no group consuming the new topic counts too).
    pub forward_unprocessed: u64,
    pub send_latency: LatencySummary,
    pub delivery_latency: LatencySummary,
    pub groups: BTreeMap<String, GroupVerdicts>,
    /// Examples of each kind of violation (at most [`MAX_EXAMPLES_PER_KIND`] each), by kind then time.
    pub violations: Vec<Violation>,
}

impl Verdicts {
    /// The examples of one kind.
    pub fn violations_of(&self, kind: ViolationKind) -> impl Iterator<Item = &Violation> {
        self.violations.iter().filter(move |v| v.kind == kind)
    }
}

/// A run's verdicts, with the scenario's expectations and quiz graded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    pub verdicts: Verdicts,
    pub failed: Vec<FailedExpectation>,
    /// The quiz's grading value and the options it makes right, when the scenario has a quiz.
    pub quiz: Option<(i64, Vec<u32>)>,
}

impl CheckReport {
    pub fn passed(&self) -> bool {
        self.failed.is_empty()
    }
}

/// Where an acknowledged copy is at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Presence {
    Present,
    /// Present, but still in a delay level or timer topic: not deliverable yet.
    Delayed,
    /// No running broker of its group has it.
    Gone,
    /// The CommitLog was cleaned up past it.
    Deleted,
    /// Every broker of its group is down.
    Unavailable,
}

impl Checks {
    /// Audit the end state of `kernel` and judge the run.
    pub fn verdicts(&self, kernel: &Kernel<AnyNode>) -> Verdicts {
        let mut identities: Vec<GroupVerdicts> = self.identities.iter().map(|i| i.counters.clone()).collect();
        let mut log = self.violations.clone();
        let mut verdicts = Verdicts {
            requested: self.totals.requested,
            acknowledged: self.totals.acknowledged,
            acknowledged_send_ok: self.totals.acknowledged_send_ok,
            send_failed: self.messages.values().filter(|m| m.failed && m.ack.is_none()).count() as u64,
            abandoned: self.totals.abandoned,
            stored: self.totals.stored,
            at_risk_max: self.at_risk.peak(),
            at_risk_end: self.at_risk.total(),
            ..Verdicts::default()
        };
        let committed = self.committed_offsets(kernel);
        // (identity, broker group, topic) an identity has consumed from: a group only expects messages of
        // the clusters it reads (two clusters may host topics of the same name).
        let reads: std::collections::BTreeSet<(u8, u16, u16)> = self
            .queue_start
            .keys()
            .map(|(identity, q)| {
                let (broker, topic, _) = self.queues[*q as usize];
                (*identity, broker, topic)
            })
            .collect();
        for (key, msg) in &self.messages {
            let Some(stored) = msg.stored else { continue };
            let (broker, stored_topic, _) = self.queues[stored.queue as usize];
            // A delayed message waits in SCHEDULE_TOPIC_XXXX (or the timer wheel) until it is due.
            let waiting_delay = {
                let name = self.topics.name(u32::from(stored_topic));
                name.starts_with("SCHEDULE_TOPIC") || name.starts_with("rmq_sys_wheel")
            };
            if msg.topic == u16::MAX || (stored_topic != msg.topic && !waiting_delay) {
                continue;
            }
            let expected: Vec<u8> = self
                .identities
                .iter()
                .enumerate()
                .filter(|(i, identity)| {
                    identity.active
                        && self.groups[identity.group as usize].topics.contains(&msg.topic)
                        && reads.contains(&(*i as u8, broker, msg.topic))
                        && (waiting_delay
                            || self
                                .queue_start
                                .get(&(*i as u8, stored.queue))
                                .is_none_or(|start| *start <= stored.queue_offset))
                })
                .map(|(i, _)| i as u8)
                .collect();
            let unhandled: Vec<u8> = expected
                .iter()
                .copied()
                .filter(|i| msg.processed & (1 << i) == 0)
                .filter(|i| !matches!(self.pending.get(&(*key, *i)), Some(Pending::DeadLettered(_))))
                .collect();
            let needs_presence = !unhandled.is_empty() || (msg.ack.is_some() && expected.is_empty());
            if !needs_presence {
                continue;
            }
            let (presence, properties) = self.presence(kernel, *key, stored);
            let id = self.id_text(*key);
            // A group only expects what its subscriptions select (tags, SQL92), when we can read the message.
            let unhandled: Vec<u8> = match &properties {
                Some(properties) => unhandled
                    .into_iter()
                    .filter(|i| self.selects(self.identities[*i as usize].group, msg.topic, properties))
                    .collect(),
                None => unhandled,
            };
            if let Some(ack) = msg.ack {
                let kind = match presence {
                    Presence::Present | Presence::Delayed => None,
                    Presence::Gone => {
                        verdicts.lost_acknowledged += 1;
                        Some(ViolationKind::Lost)
                    }
                    Presence::Deleted => {
                        verdicts.deleted_before_consumed += 1;
                        Some(ViolationKind::DeletedBeforeConsumed)
                    }
                    Presence::Unavailable => {
                        verdicts.unavailable += 1;
                        Some(ViolationKind::Unavailable)
                    }
                };
                if let Some(kind) = kind {
                    let (cause, text) = self.loss_cause(stored, ack.at, ack.status, presence);
                    log.push(kind, id.clone(), None, cause, text);
                }
            }
            for identity in unhandled {
                let group = &self.groups[self.identities[identity as usize].group as usize];
                let counters = &mut identities[identity as usize];
                match self.pending.get(&(*key, identity)) {
                    Some(Pending::AwaitingWork(at)) => {
                        counters.lost_work += 1;
                        let text = format!(
                            "{} acknowledged it before processing; the work never finished (the consumer died)",
                            group.name
                        );
                        log.push(ViolationKind::LostWork, id.clone(), Some(group.name.clone()), *at, text);
                    }
                    Some(Pending::Retrying(_)) => counters.backlog += 1,
                    _ => match presence {
                        Presence::Delayed => counters.backlog += 1,
                        Presence::Present | Presence::Unavailable => {
                            let offset = committed.get(&(identity, stored.queue)).copied();
                            if offset.is_some_and(|(c, _)| c > stored.queue_offset) {
                                counters.skipped += 1;
                                let (cause, text) =
                                    self.skip_cause(identity, msg.topic, msg.requested_at, offset, stored);
                                log.push(ViolationKind::Skipped, id.clone(), Some(group.name.clone()), cause, text);
                            } else {
                                counters.backlog += 1;
                                if let Some(ack) = msg.ack {
                                    let text = format!("still waiting for {} at the end", group.name);
                                    log.push(
                                        ViolationKind::Backlog,
                                        id.clone(),
                                        Some(group.name.clone()),
                                        ack.at,
                                        text,
                                    );
                                }
                            }
                        }
                        Presence::Gone => {
                            if msg.ack.is_some() {
                                counters.lost += 1;
                            }
                        }
                        Presence::Deleted => counters.deleted_before_consumed += 1,
                    },
                }
            }
        }
        for (index, counters) in identities.iter().enumerate() {
            let group = &self.groups[self.identities[index].group as usize];
            verdicts.groups.entry(group.name.clone()).or_default().add(counters);
        }
        for group in &self.groups {
            verdicts.groups.entry(group.name.clone()).or_default();
        }
        let mut total = GroupVerdicts::default();
        for group in verdicts.groups.values() {
            total.add(group);
        }
        verdicts.consumed = total.consumed;
        verdicts.duplicates = total.duplicates;
        verdicts.duplicates_absorbed = total.duplicates_absorbed;
        verdicts.lost_work = total.lost_work;
        verdicts.skipped = total.skipped;
        verdicts.backlog = total.backlog;
        verdicts.consume_failures = total.consume_failures;
        verdicts.retried = total.retried;
        verdicts.dlq = total.dlq;
        verdicts.out_of_order_queue = total.out_of_order_queue;
        verdicts.out_of_order_key = total.out_of_order_key;
        self.forward_verdicts(&mut verdicts, &mut log);
        verdicts.send_latency = self.send_latency.summary();
        verdicts.delivery_latency = self.delivery_latency.summary();
        verdicts.send_latency_p50_ms = verdicts.send_latency.p50_us / 1_000;
        verdicts.send_latency_p99_ms = verdicts.send_latency.p99_us / 1_000;
        verdicts.delivery_latency_p99_ms = verdicts.delivery_latency.p99_us / 1_000;
        for (kind, examples) in log.examples {
            let mut examples: Vec<Violation> = examples
                .into_iter()
                .map(|(msg_id, group, cause, explanation)| Violation {
                    kind,
                    msg_id,
                    group,
                    cause,
                    cause_node: self.node_name(cause.node).to_string(),
                    explanation,
                })
                .collect();
            examples.sort_by_key(|v| v.cause);
            verdicts.violations.extend(examples);
        }
        verdicts
    }

    /// Relate forwarded copies to their originals: how many originals were forwarded, how many extra copies
    /// exist, and how many originals no copy has been processed for by every group consuming the new topic.
    fn forward_verdicts(&self, verdicts: &mut Verdicts, log: &mut ViolationLog) {
        for (original, copies) in &self.forwards {
            // A copy exists once stored in its topic, or acknowledged (then it was stored, maybe lost since).
            let existing: Vec<(MsgKey, &super::Msg)> = copies
                .iter()
                .filter_map(|c| self.messages.get(c).map(|m| (*c, m)))
                .filter(|(_, m)| {
                    m.ack.is_some() || m.stored.is_some_and(|s| self.queues[s.queue as usize].1 == m.topic)
                })
                .collect();
            let Some((first, first_msg)) = existing.first().copied() else { continue };
            let Some(&(_, group, topic, forwarded_at)) = self.forwarded_from.get(&first) else { continue };
            let group = self.groups.get(group as usize).map(|g| g.name.clone());
            let topic_name = self.topics.name(u32::from(topic)).to_string();
            let id = self.id_text(*original);
            verdicts.forwarded += 1;
            if existing.len() > 1 {
                verdicts.forward_duplicates += existing.len() as u64 - 1;
                let (second, _) = existing[1];
                let at = self.forwarded_from.get(&second).map_or(forwarded_at, |f| f.3);
                let ids: Vec<String> = existing.iter().map(|(k, _)| self.id_text(*k)).collect();
                let text = format!(
                    "forwarded to {topic_name} as {} copies ({}): a send stored its copy but the listener did not \
                     get SEND_OK, returned RECONSUME_LATER and forwarded the message again",
                    existing.len(),
                    ids.join(", ")
                );
                log.push(ViolationKind::ForwardDuplicate, id.clone(), group.clone(), at, text);
            }
            let processed = existing.iter().fold(0u64, |bits, (_, m)| bits | m.processed);
            let mut wanted = 0u64;
            for (_, copy) in &existing {
                for (i, identity) in self.identities.iter().enumerate() {
                    if identity.active && self.groups[identity.group as usize].topics.contains(&copy.topic) {
                        wanted |= 1 << i;
                    }
                }
            }
            if wanted == 0 || processed & wanted != wanted {
                verdicts.forward_unprocessed += 1;
                let why = if wanted == 0 {
                    format!("no consumer group consumes {topic_name}")
                } else {
                    format!("no group of {topic_name} processed a copy by the end (waiting there, or lost)")
                };
                let at = first_msg.ack.map_or(forwarded_at, |a| a.at);
                let text = format!("forwarded to {topic_name} as {}; {why}", self.id_text(first));
                log.push(ViolationKind::ForwardUnprocessed, id, group, at, text);
            }
        }
    }

    /// Each identity's committed offset per queue: from the broker that keeps it (clustering), else the
    /// last one seen.
    fn committed_offsets(&self, kernel: &Kernel<AnyNode>) -> BTreeMap<(u8, u32), (i64, Option<EventRef>)> {
        let mut committed: BTreeMap<(u8, u32), (i64, Option<EventRef>)> =
            self.commits.iter().map(|(k, (o, at))| (*k, (*o, Some(*at)))).collect();
        for (q, (broker, topic, queue_id)) in self.queues.iter().enumerate() {
            let Some((_, nodes)) = self.broker_groups.get(*broker as usize) else { continue };
            let topic_name = self.topics.name(u32::from(*topic));
            for (identity, info) in self.identities.iter().enumerate() {
                let group = &self.groups[info.group as usize];
                if group.broadcasting || !group.topics.contains(topic) {
                    continue;
                }
                let table_key = format!("{topic_name}@{}", group.name);
                let offset = nodes.iter().find_map(|n| match kernel.node(NodeId(*n)) {
                    Some(AnyNode::Broker(b)) => {
                        let table = &b.consumer_services.consumer_offset_manager.offset_table;
                        table.get(&table_key).and_then(|queues| queues.get(queue_id)).copied()
                    }
                    _ => None,
                });
                if let Some(offset) = offset {
                    let at = committed.get(&(identity as u8, q as u32)).and_then(|(_, at)| *at);
                    committed.insert((identity as u8, q as u32), (offset, at));
                }
            }
        }
        committed
    }

    /// Whether group `group`'s subscriptions of `topic` select a message with these properties.
    fn selects(
        &self,
        group: u16,
        topic: u16,
        properties: &crate::broker::store::properties::MessageProperties,
    ) -> bool {
        use crate::broker::store::get_message::MessageFilter;
        use crate::filter::message_filter::ExpressionMessageFilter;
        self.groups[group as usize].subscriptions.iter().filter(|(t, _)| *t == topic).any(|(_, sub)| {
            if crate::filter::is_tag_type(&sub.expression_type) {
                sub.matches_tags(properties.tags())
            } else {
                ExpressionMessageFilter::new(sub).is_matched_by_commit_log(properties)
            }
        })
    }

    /// Where the acknowledged copy is, and its properties when a broker still has it.
    fn presence(
        &self,
        kernel: &Kernel<AnyNode>,
        key: MsgKey,
        stored: Stored,
    ) -> (Presence, Option<crate::broker::store::properties::MessageProperties>) {
        let nodes: Vec<u16> = match self.broker_group_of.get(stored.node as usize).copied().flatten() {
            Some(group) => self.broker_groups[group as usize].1.clone(),
            None => vec![stored.node],
        };
        let mut any_up = false;
        let mut deleted = false;
        for node in nodes {
            let Some(AnyNode::Broker(b)) = kernel.node(NodeId(node)) else { continue };
            any_up = true;
            if stored.commit_log_offset < b.store.min_phy_offset() {
                deleted = true;
                continue;
            }
            if let Some(record) =
                b.store.look_message_by_offset(kernel.disk(NodeId(node)), CommitLogOffset(stored.commit_log_offset))
            {
                if record.properties.unique_key().is_some_and(|k| MsgKey::of(k) == key) {
                    let delayed =
                        record.topic.starts_with("SCHEDULE_TOPIC") || record.topic.starts_with("rmq_sys_wheel");
                    let presence = if delayed { Presence::Delayed } else { Presence::Present };
                    return (presence, Some(record.properties));
                }
            }
        }
        let presence = if !any_up {
            Presence::Unavailable
        } else if deleted {
            Presence::Deleted
        } else {
            Presence::Gone
        };
        (presence, None)
    }

    /// The event that made an acknowledged copy disappear: the first crash of its group's brokers after
    /// the acknowledgement that could take page-cache bytes (else the acknowledgement itself).
    fn loss_cause(
        &self,
        stored: Stored,
        acked: EventRef,
        status: crate::producer::send_result::SendStatus,
        presence: Presence,
    ) -> (EventRef, String) {
        let nodes: Vec<u16> = match self.broker_group_of.get(stored.node as usize).copied().flatten() {
            Some(group) => self.broker_groups[group as usize].1.clone(),
            None => vec![stored.node],
        };
        let crash = nodes
            .iter()
            .flat_map(|n| self.crashes.get(n).into_iter().flatten())
            .filter(|(at, _)| at.time >= acked.time)
            .min_by_key(|(at, kind)| (*kind == CrashKind::ProcessKill, at.time));
        let broker = self.node_name(stored.node);
        let status = match status {
            crate::producer::send_result::SendStatus::SendOk => "SEND_OK",
            crate::producer::send_result::SendStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
            crate::producer::send_result::SendStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
            crate::producer::send_result::SendStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
        };
        let what = format!(
            "acknowledged {status} at {} (stored by {broker} at CommitLog offset {})",
            acked.time, stored.commit_log_offset
        );
        match (presence, crash) {
            (Presence::Deleted, _) => (acked, format!("{what}; the CommitLog was cleaned up before it was consumed")),
            (Presence::Unavailable, Some((at, kind))) => {
                (*at, format!("{what}; every broker of its group is down at the end ({kind:?} here)"))
            }
            (Presence::Unavailable, None) => (acked, format!("{what}; every broker of its group is down at the end")),
            (_, Some((at, kind))) => (*at, format!("{what}; gone after this {kind:?} of {}", self.node_name(at.node))),
            (_, None) => (acked, format!("{what}; no surviving CommitLog holds it")),
        }
    }

    fn skip_cause(
        &self,
        identity: u8,
        topic: u16,
        requested_at: crate::time::Time,
        committed: Option<(i64, Option<EventRef>)>,
        stored: Stored,
    ) -> (EventRef, String) {
        let group = self.identities[identity as usize].group;
        if let Some((cause, text)) = self.filtered.get(&(group, stored.queue, stored.queue_offset)) {
            return (*cause, text.clone());
        }
        let reset = self.resets.iter().find(|(g, t, at)| *g == group && *t == topic && at.time >= requested_at);
        if let Some((_, _, at)) = reset {
            return (*at, "an offset reset moved the group's offset past it".into());
        }
        let (offset, at) = committed.unwrap_or((0, None));
        let at = at.unwrap_or(EventRef { time: requested_at, step: 0, node: 0 });
        (at, format!("the group's committed offset ({offset}) passed it without processing it"))
    }
}
