//! Workload consumers: the application behind a `MessageListener`, as a scenario describes it.
//!
//! What the application does with each message: how long the work takes (a fixed time, a uniform range,
//! and an optional slow tail), how often it fails (RECONSUME_LATER, or an exception: the same for the
//! consume service), a dependency outage window (the seeds' "database down": every message fails, after
//! the dependency's timeout), idempotency (a bounded dedup table keyed by msgId or by business key: a
//! message seen before is acknowledged without doing the work again — how duplicates are absorbed), and
//! the commit-before-process anti-pattern (the listener acknowledges at once and does the work in the
//! background: a crash or a failure then loses the message for good).
//!
//! Draws come from the node's `Workload` stream, in message order, and are integers: changing a
//! workload never shifts the consumer's own choices.

use std::borrow::Borrow;
use std::collections::{BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::broker::store::properties::MessageProperties;
use crate::prng::Prng;
use crate::protocol::consumer::MessageExt;
use crate::scenario::duration::parse_duration;
use crate::time::{Duration, Time};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureMode {
    /// The listener returns RECONSUME_LATER (orderly: SUSPEND_CURRENT_QUEUE_A_MOMENT).
    #[default]
    ReconsumeLater,
    /// The listener throws (the consume service treats it as RECONSUME_LATER / SUSPEND).
    Exception,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DedupKey {
    /// The msgId (UNIQ_KEY): absorbs redeliveries and producer resends of the same message.
    #[default]
    MsgId,
    /// The business key (KEYS).
    Keys,
}

/// A dependency outage: in `[from, until)` every message fails after `timeout`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutageSpec {
    pub from: String,
    pub until: String,
    /// How long a call to the dead dependency takes before it fails.
    #[serde(default = "default_outage_timeout")]
    pub timeout: String,
}

fn default_outage_timeout() -> String {
    "3s".into()
}

/// What one consumer application does (the `workload` table of a consumer group).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsumerWorkloadSpec {
    /// Work per message, e.g. "5ms".
    pub processing_time: String,
    /// With it, the work is uniform in [processing_time, processing_time_max].
    pub processing_time_max: Option<String>,
    /// This percent of messages take `slow_time` instead.
    pub slow_percent: u32,
    pub slow_time: Option<String>,
    /// Percent of messages whose work fails.
    pub failure_percent: u32,
    pub failure_mode: FailureMode,
    pub outage: Option<OutageSpec>,
    pub idempotent: bool,
    pub dedup_key: DedupKey,
    /// Keys kept at most (oldest forgotten first).
    pub dedup_capacity: u32,
    /// Acknowledge first, work after (the lossy anti-pattern).
    pub commit_before_process: bool,
    /// Re-send each message to this topic instead of working on it (the seeds' "drain a backlog through
    /// a new topic with more queues"): a producer in the same process sends a copy (same body, flag,
    /// tags, keys and user properties, plus [`FORWARDED_FROM_PROPERTY`] = the original's msgId), and the
    /// listener returns CONSUME_SUCCESS only once the send returned SEND_OK (see `consumer/forward.rs`).
    pub forward_to: Option<String>,
    /// Operators' changes to the dependency (actions `dependency_down` / `dependency_up`), in time
    /// order; not a scenario key.
    #[serde(skip)]
    pub dependency_changes: Vec<crate::consumer::live::DependencyChange>,
}

impl Default for ConsumerWorkloadSpec {
    fn default() -> Self {
        ConsumerWorkloadSpec {
            processing_time: "1ms".into(),
            processing_time_max: None,
            slow_percent: 0,
            slow_time: None,
            failure_percent: 0,
            failure_mode: FailureMode::ReconsumeLater,
            outage: None,
            idempotent: false,
            dedup_key: DedupKey::MsgId,
            dedup_capacity: 100_000,
            commit_before_process: false,
            forward_to: None,
            dependency_changes: Vec::new(),
        }
    }
}

/// The user property a forwarded copy carries: the msgId (UNIQ_KEY) of the message it was forwarded from.
pub const FORWARDED_FROM_PROPERTY: &str = "FORWARDED_FROM_MSG_ID";

fn duration(text: &str) -> Duration {
    parse_duration(text).unwrap_or(Duration::ZERO)
}

impl ConsumerWorkloadSpec {
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut check = |name: &str, value: Option<&str>| {
            if let Some(Err(e)) = value.map(parse_duration) {
                problems.push(format!("workload.{name}: {e}"));
            }
        };
        check("processing_time", Some(&self.processing_time));
        check("processing_time_max", self.processing_time_max.as_deref());
        check("slow_time", self.slow_time.as_deref());
        if let Some(outage) = &self.outage {
            check("outage.from", Some(&outage.from));
            check("outage.until", Some(&outage.until));
            check("outage.timeout", Some(&outage.timeout));
        }
        if self.processing_time_max.as_deref().is_some_and(|max| duration(max) < duration(&self.processing_time)) {
            problems.push("workload.processing_time_max must not be below processing_time".into());
        }
        if self.slow_percent > 100 || self.failure_percent > 100 {
            problems.push("workload.slow_percent and workload.failure_percent must be at most 100".into());
        }
        if self.slow_percent > 0 && self.slow_time.is_none() {
            problems.push("workload.slow_percent needs workload.slow_time".into());
        }
        if !(1..=10_000_000).contains(&self.dedup_capacity) {
            problems.push("workload.dedup_capacity must be in 1..=10000000".into());
        }
        if self.forward_to.is_some() && self.commit_before_process {
            problems.push(
                "workload.forward_to: a forwarding listener acknowledges after the send; it cannot also \
                 commit_before_process"
                    .into(),
            );
        }
        problems
    }

    /// Record an operator's change (kept in time order; equal times keep their order; a change
    /// already known is not added twice).
    pub fn add_dependency_change(&mut self, change: crate::consumer::live::DependencyChange) {
        if self.dependency_changes.contains(&change) {
            return;
        }
        let index = self.dependency_changes.partition_point(|c| c.at <= change.at);
        self.dependency_changes.insert(index, change);
    }

    /// Whether the dependency is down at `now`, and then how long a call takes to fail: the latest of
    /// the scenario window's edges and the operators' changes at or before `now` decides (an
    /// operator's change wins a tie).
    pub fn in_outage(&self, now: Time) -> Option<Duration> {
        let mut latest: Option<(Time, Option<Duration>)> = None;
        if let Some(outage) = &self.outage {
            let (from, until) = (Time::ZERO + duration(&outage.from), Time::ZERO + duration(&outage.until));
            if from < until && from <= now {
                latest = Some((from, Some(duration(&outage.timeout))));
                if until <= now {
                    latest = Some((until, None));
                }
            }
        }
        if let Some(change) = self.dependency_changes.iter().rev().find(|c| c.at <= now) {
            if latest.is_none_or(|(at, _)| change.at >= at) {
                latest = Some((change.at, change.down));
            }
        }
        latest.and_then(|(_, down)| down)
    }

    /// One message's work: how long, and whether it fails.
    fn draw(&self, now: Time, rng: &mut Prng) -> (Duration, bool) {
        let base = duration(&self.processing_time);
        let mut time = match self.processing_time_max.as_deref().map(duration) {
            Some(max) if max > base => Duration::from_micros(rng.between(base.as_micros(), max.as_micros())),
            _ => base,
        };
        if self.slow_percent > 0 && rng.below(100) < u64::from(self.slow_percent) {
            time = self.slow_time.as_deref().map_or(time, duration);
        }
        let fails = self.failure_percent > 0 && rng.below(100) < u64::from(self.failure_percent);
        match self.in_outage(now) {
            Some(timeout) => (timeout, true),
            None => (time, fails),
        }
    }
}

/// What the listener does with one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenerOutcome {
    Success,
    ReconsumeLater,
    Exception,
    /// Every message was seen before (idempotent application): acknowledged without work.
    DuplicateSkipped,
    /// Acknowledged at once; the work (`(duration, fails)` per message) runs in the background.
    AckedBeforeProcessing {
        work: Vec<(Duration, bool)>,
    },
}

/// The listener's answer and how long the consume thread is busy with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerCall {
    pub service_time: Duration,
    pub outcome: ListenerOutcome,
}

/// Counters for views.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ApplicationStats {
    pub calls: u64,
    pub messages_processed: u64,
    pub messages_failed: u64,
    pub duplicates_skipped: u64,
    pub background_work: u64,
    pub dedup_table_size: u32,
}

/// The running application (its memory dies with the process).
#[derive(Clone, Debug)]
pub struct ConsumerApplication {
    pub spec: ConsumerWorkloadSpec,
    dedup: BTreeSet<String>,
    dedup_order: VecDeque<String>,
    pub stats: ApplicationStats,
}

/// The key a message is deduplicated by.
pub fn dedup_key_of(msg: &MessageExt, key: DedupKey) -> String {
    let properties = MessageProperties::from_properties_string(&msg.properties);
    match key {
        DedupKey::MsgId => properties.unique_key().map(str::to_string).unwrap_or_else(|| msg.offset_msg_id.clone()),
        DedupKey::Keys => properties.keys().join(" "),
    }
}

impl ConsumerApplication {
    pub fn new(spec: ConsumerWorkloadSpec) -> Self {
        ConsumerApplication {
            spec,
            dedup: BTreeSet::new(),
            dedup_order: VecDeque::new(),
            stats: ApplicationStats::default(),
        }
    }

    /// `consumeMessage(msgs, context)`.
    pub fn consume<M: Borrow<MessageExt>>(&mut self, msgs: &[M], now: Time, rng: &mut Prng) -> ListenerCall {
        self.stats.calls += 1;
        if self.spec.idempotent
            && msgs.iter().all(|m| self.dedup.contains(&dedup_key_of(m.borrow(), self.spec.dedup_key)))
        {
            self.stats.duplicates_skipped += msgs.len() as u64;
            return ListenerCall { service_time: Duration::ZERO, outcome: ListenerOutcome::DuplicateSkipped };
        }
        let draws: Vec<(Duration, bool)> = msgs.iter().map(|_| self.spec.draw(now, rng)).collect();
        if self.spec.commit_before_process {
            self.stats.background_work += msgs.len() as u64;
            return ListenerCall {
                service_time: Duration::ZERO,
                outcome: ListenerOutcome::AckedBeforeProcessing { work: draws },
            };
        }
        let service_time = Duration::from_micros(draws.iter().map(|(d, _)| d.as_micros()).sum());
        if draws.iter().any(|(_, fails)| *fails) {
            self.stats.messages_failed += msgs.len() as u64;
            let outcome = match self.spec.failure_mode {
                FailureMode::ReconsumeLater => ListenerOutcome::ReconsumeLater,
                FailureMode::Exception => ListenerOutcome::Exception,
            };
            return ListenerCall { service_time, outcome };
        }
        ListenerCall { service_time, outcome: ListenerOutcome::Success }
    }

    /// The work of `msgs` took effect (a successful call, or background work that succeeded).
    pub fn record_done<M: Borrow<MessageExt>>(&mut self, msgs: &[M]) {
        self.stats.messages_processed += msgs.len() as u64;
        if !self.spec.idempotent {
            return;
        }
        for msg in msgs {
            let key = dedup_key_of(msg.borrow(), self.spec.dedup_key);
            if self.dedup.insert(key.clone()) {
                self.dedup_order.push_back(key);
            }
        }
        while self.dedup_order.len() as u64 > u64::from(self.spec.dedup_capacity) {
            if let Some(oldest) = self.dedup_order.pop_front() {
                self.dedup.remove(&oldest);
            }
        }
        self.stats.dedup_table_size = self.dedup.len() as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prng::{Concern, StreamOwner};

    fn msg(id: &str) -> MessageExt {
        MessageExt {
            topic: "T".into(),
            properties: format!("UNIQ_KEY\u{1}{id}\u{2}KEYS\u{1}order-1"),
            ..MessageExt::default()
        }
    }

    fn rng() -> Prng {
        Prng::stream(1, StreamOwner::Node(0), Concern::Workload)
    }

    #[test]
    fn an_outage_fails_every_message_after_the_dependency_timeout() {
        let spec = ConsumerWorkloadSpec {
            outage: Some(OutageSpec { from: "10s".into(), until: "20s".into(), timeout: "3s".into() }),
            ..Default::default()
        };
        let mut app = ConsumerApplication::new(spec);
        let call = app.consume(&[msg("a")], Time::from_secs(15), &mut rng());
        assert_eq!(
            call,
            ListenerCall { service_time: Duration::from_secs(3), outcome: ListenerOutcome::ReconsumeLater }
        );
        let call = app.consume(&[msg("a")], Time::from_secs(20), &mut rng());
        assert_eq!(call.outcome, ListenerOutcome::Success);
        assert_eq!(call.service_time, Duration::from_millis(1));
    }

    #[test]
    fn an_idempotent_application_skips_what_it_has_done_and_forgets_the_oldest_keys() {
        let spec = ConsumerWorkloadSpec { idempotent: true, dedup_capacity: 1, ..Default::default() };
        let mut app = ConsumerApplication::new(spec);
        app.record_done(&[msg("a")]);
        assert_eq!(app.consume(&[msg("a")], Time::ZERO, &mut rng()).outcome, ListenerOutcome::DuplicateSkipped);
        app.record_done(&[msg("b")]);
        assert_eq!(app.consume(&[msg("a")], Time::ZERO, &mut rng()).outcome, ListenerOutcome::Success);
        assert_eq!(app.stats.dedup_table_size, 1);
        let keys = ConsumerWorkloadSpec { dedup_key: DedupKey::Keys, ..Default::default() };
        assert_eq!(dedup_key_of(&msg("x"), keys.dedup_key), "order-1");
    }

    #[test]
    fn failure_percent_one_hundred_always_fails_and_zero_never() {
        let mut app = ConsumerApplication::new(ConsumerWorkloadSpec { failure_percent: 100, ..Default::default() });
        let mut r = rng();
        assert!(
            (0..20).all(|_| app.consume(&[msg("a")], Time::ZERO, &mut r).outcome == ListenerOutcome::ReconsumeLater)
        );
        let mut app = ConsumerApplication::new(ConsumerWorkloadSpec::default());
        assert!((0..20).all(|_| app.consume(&[msg("a")], Time::ZERO, &mut r).outcome == ListenerOutcome::Success));
    }
}
