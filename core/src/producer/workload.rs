//! Workload producers: the application around a `DefaultMQProducer`, as a scenario describes it.
//!
//! A workload says *what* the application sends and *when*: a rate schedule (constant, steps for
//! bursts, linear ramps), fixed or jittered arrivals, a business-key distribution (sequential,
//! uniform, hot keys), body sizes, tags, user properties, the send mode (sync with N application
//! threads, async with a callback, oneway), ordered sends that pick the queue by business key with a
//! `MessageQueueSelector`, batches, and the fallback many applications use when a send fails: keep
//! the message locally and resend it later (the same `Message` object, so the same UNIQ_KEY: a resend of a
//! message the broker did store is a duplicate with the same msgId).
//!
//! Every draw comes from the node's `Workload` stream and all arithmetic is on integers, so changing a
//! workload never shifts the producer's own random choices (queue counters, NameServer index).
//!
//! Bodies are text, `"<key>:<seq>;"` repeated to the drawn size: compressible like real payloads, and
//! a consumer-side checker can read the business key and sequence back.

use serde::{Deserialize, Serialize};

use crate::prng::Prng;
use crate::producer::message::Message;
use crate::producer::selector::MessageQueueSelector;
use crate::scenario::duration::parse_duration;
use crate::time::{Duration, Time};

/// `CommunicationMode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendMode {
    #[default]
    Sync,
    Async,
    Oneway,
}

/// One point of the rate schedule: from `at` on, `per_second` (or `per_minute`) messages; with
/// `ramp = true` the rate moves linearly from the previous point's rate to this one's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatePoint {
    pub at: String,
    #[serde(default)]
    pub per_second: Option<u32>,
    #[serde(default)]
    pub per_minute: Option<u32>,
    #[serde(default)]
    pub ramp: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arrival {
    /// Exactly one interval apart.
    #[default]
    Fixed,
    /// Uniform in [0, 2 × interval]: the same mean, with jitter.
    Uniform,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyDistribution {
    /// key = seq mod space.
    #[default]
    Sequential,
    Uniform,
    /// `hot_percent` % of messages use one of the first `hot_keys` keys.
    HotKey,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeySpec {
    pub distribution: KeyDistribution,
    /// How many distinct business keys exist.
    pub space: u64,
    pub hot_keys: u64,
    pub hot_percent: u32,
    /// Keys read `<prefix><n>`, e.g. `order-42`.
    pub prefix: String,
}

impl Default for KeySpec {
    fn default() -> Self {
        KeySpec {
            distribution: KeyDistribution::Sequential,
            space: 1_000,
            hot_keys: 1,
            hot_percent: 90,
            prefix: "order-".into(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectorKind {
    /// `SelectMessageQueueByHash`.
    #[default]
    Hash,
    /// `SelectMessageQueueByRandom`.
    Random,
    /// `SelectMessageQueueByMachineRoom` (a stub that always returns null).
    MachineRoom,
}

impl SelectorKind {
    pub fn selector(self) -> MessageQueueSelector {
        match self {
            SelectorKind::Hash => MessageQueueSelector::ByHash,
            SelectorKind::Random => MessageQueueSelector::ByRandom,
            SelectorKind::MachineRoom => MessageQueueSelector::ByMachineRoom,
        }
    }
}

/// The application's fallback after a failed send: keep the message and resend it later.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResendSpec {
    /// How long after the failure the message is resent, e.g. "5s".
    pub after: String,
    /// Resends per message before the application gives up.
    #[serde(default = "default_max_resends")]
    pub max_resends: u32,
    /// Messages kept locally at most; more failures are given up at once.
    #[serde(default = "default_max_pending")]
    pub max_pending: u32,
}

fn default_max_resends() -> u32 {
    3
}

fn default_max_pending() -> u32 {
    10_000
}

/// What one workload producer does (the `[producers.workload]` table of a scenario).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    pub topic: String,
    #[serde(default)]
    pub mode: SendMode,
    /// The rate schedule; 10 messages per second from the start when absent.
    #[serde(default)]
    pub rate: Vec<RatePoint>,
    #[serde(default)]
    pub arrival: Arrival,
    /// When the application starts sending (default "1s").
    #[serde(default)]
    pub start_at: Option<String>,
    #[serde(default)]
    pub stop_at: Option<String>,
    #[serde(default)]
    pub max_messages: Option<u64>,
    #[serde(default)]
    pub keys: KeySpec,
    /// Body size in bytes: exactly `body_bytes`, or uniform in [`body_bytes`, `body_bytes_max`].
    #[serde(default = "default_body_bytes")]
    pub body_bytes: u32,
    #[serde(default)]
    pub body_bytes_max: Option<u32>,
    /// Tags, used in turn; none when empty.
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub user_properties: std::collections::BTreeMap<String, String>,
    /// Ordered sends: pick the queue with `selector`, the business key as argument (one attempt, no retry).
    #[serde(default)]
    pub order_by_key: bool,
    #[serde(default)]
    pub selector: SelectorKind,
    /// Messages per batch (1: no batching). Batches are sent as one SEND_BATCH_MESSAGE.
    #[serde(default = "one")]
    pub batch_size: u32,
    /// Application threads sending synchronously (sync mode); each waits for its send to finish.
    #[serde(default = "one")]
    pub threads: u32,
    /// Messages waiting for a free thread at most; beyond that the application drops them.
    #[serde(default = "default_max_backlog")]
    pub max_backlog: u32,
    #[serde(default)]
    pub resend_failed: Option<ResendSpec>,
    /// `msg.setDelayTimeLevel(n)`: every message is delayed (1..=18 with the default levels; the broker
    /// clamps larger levels to the last one).
    #[serde(default)]
    pub delay_level: Option<i32>,
    /// RocketMQ 5's timer messages: every message asks to be delivered this long after it is sent
    /// (`TIMER_DELAY_MS`, e.g. "90s"; needs the broker's `timerWheelEnable`).
    #[serde(default)]
    pub timer_delay: Option<String>,
    /// A `TransactionMQProducer`: every message is sent in a transaction (`transaction.rs`).
    #[serde(default)]
    pub transaction: Option<crate::producer::transaction::TransactionSpec>,
}

fn default_body_bytes() -> u32 {
    256
}

fn one() -> u32 {
    1
}

fn default_max_backlog() -> u32 {
    10_000
}

/// Rates are kept in messages per 1 000 seconds, so "per minute" rates stay integers.
const RATE_SCALE: u64 = 1_000;

impl WorkloadSpec {
    /// Problems a scenario author must fix.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(e) = crate::broker::topic_validator::check_topic_client(&self.topic) {
            problems.push(format!("workload.topic: {e}"));
        }
        for (i, point) in self.rate.iter().enumerate() {
            if let Err(e) = parse_duration(&point.at) {
                problems.push(format!("workload.rate[{i}].at: {e}"));
            }
            if point.per_second.is_some() == point.per_minute.is_some() {
                problems.push(format!("workload.rate[{i}]: give exactly one of per_second and per_minute"));
            }
            if point.per_second.is_some_and(|r| r > 1_000_000) {
                problems.push(format!("workload.rate[{i}].per_second must be at most 1000000"));
            }
            if i > 0 && parse_duration(&point.at).ok() < parse_duration(&self.rate[i - 1].at).ok() {
                problems.push(format!("workload.rate[{i}].at is earlier than the point before it"));
            }
        }
        for (name, value) in [("start_at", &self.start_at), ("stop_at", &self.stop_at)] {
            if let Some(Err(e)) = value.as_deref().map(parse_duration) {
                problems.push(format!("workload.{name}: {e}"));
            }
        }
        if self.keys.space == 0 || self.keys.hot_keys == 0 || self.keys.hot_keys > self.keys.space {
            problems.push("workload.keys: space and hot_keys must be positive, hot_keys <= space".into());
        }
        if self.keys.hot_percent > 100 {
            problems.push("workload.keys.hot_percent must be at most 100".into());
        }
        if self.body_bytes == 0 || self.body_bytes > 4 * 1024 * 1024 {
            problems.push("workload.body_bytes must be in 1..=4194304 (a body may not be empty)".into());
        }
        if self.body_bytes_max.is_some_and(|max| max < self.body_bytes || max > 4 * 1024 * 1024) {
            problems.push("workload.body_bytes_max must be in body_bytes..=4194304".into());
        }
        if !(1..=1_000).contains(&self.batch_size) {
            problems.push("workload.batch_size must be in 1..=1000".into());
        }
        if self.batch_size > 1 && self.order_by_key {
            problems.push("workload: ordered sends (order_by_key) cannot be batched".into());
        }
        if self.batch_size > 1 && self.mode == SendMode::Oneway {
            problems.push("workload: oneway batches are not modelled; use sync or async".into());
        }
        if !(1..=256).contains(&self.threads) {
            problems.push("workload.threads must be in 1..=256".into());
        }
        for name in self.user_properties.keys() {
            if crate::producer::message::is_system_property(name) {
                problems.push(format!("workload.user_properties: `{name}` is used by system, input another please"));
            }
        }
        if let Some(transaction) = &self.transaction {
            problems.extend(transaction.problems());
            if self.mode != SendMode::Sync || self.batch_size > 1 || self.order_by_key {
                problems.push(
                    "workload: transactional messages are sent one by one, synchronously, without a selector (mode = \"sync\", batch_size = 1, order_by_key = false)"
                        .into(),
                );
            }
        }
        if let Some(Err(e)) = self.timer_delay.as_deref().map(parse_duration) {
            problems.push(format!("workload.timer_delay: {e}"));
        }
        if self.delay_level.is_some_and(|level| level < 0) {
            problems.push("workload.delay_level must be 0 (no delay) or a level >= 1".into());
        }
        if self.delay_level.is_some_and(|level| level > 0) && self.batch_size > 1 {
            problems
                .push("workload: a batch cannot carry a delay level (MessageBatch refuses delayed messages)".into());
        }
        if let Some(resend) = &self.resend_failed {
            if let Err(e) = parse_duration(&resend.after) {
                problems.push(format!("workload.resend_failed.after: {e}"));
            }
        }
        problems
    }

    pub fn start_at(&self) -> Time {
        Time::ZERO + self.start_at.as_deref().and_then(|t| parse_duration(t).ok()).unwrap_or(Duration::from_secs(1))
    }

    pub fn stop_at(&self) -> Option<Time> {
        self.stop_at.as_deref().and_then(|t| parse_duration(t).ok()).map(|d| Time::ZERO + d)
    }

    pub fn resend_after(&self) -> Option<Duration> {
        self.resend_failed.as_ref().and_then(|r| parse_duration(&r.after).ok())
    }

    fn points(&self) -> Vec<(Time, u64, bool)> {
        if self.rate.is_empty() {
            return vec![(Time::ZERO, 10 * RATE_SCALE, false)];
        }
        self.rate
            .iter()
            .map(|p| {
                let at = Time::ZERO + parse_duration(&p.at).unwrap_or(Duration::ZERO);
                let rate = match (p.per_second, p.per_minute) {
                    (Some(s), _) => u64::from(s) * RATE_SCALE,
                    (None, Some(m)) => u64::from(m) * RATE_SCALE / 60,
                    (None, None) => 0,
                };
                (at, rate, p.ramp)
            })
            .collect()
    }

    /// The rate at `now` in messages per 1 000 s, and when the schedule next changes (for a pause).
    pub fn rate_at(&self, now: Time) -> (u64, Option<Time>) {
        let points = self.points();
        let Some(i) = points.iter().rposition(|(at, _, _)| *at <= now) else {
            return (0, points.first().map(|p| p.0));
        };
        let (at, rate, _) = points[i];
        match points.get(i + 1) {
            Some(&(next_at, next_rate, true)) => {
                let span = (next_at - at).as_micros().max(1);
                let done = (now - at).as_micros();
                let interpolated = if next_rate >= rate {
                    rate + (next_rate - rate) * done / span
                } else {
                    rate - (rate - next_rate) * done / span
                };
                (interpolated, Some(next_at))
            }
            Some(&(next_at, _, false)) => (rate, Some(next_at)),
            None => (rate, None),
        }
    }

    /// When the next message is due after one sent (or due) at `now`; None when the workload is over.
    pub fn next_arrival(&self, now: Time, rng: &mut Prng) -> Option<Time> {
        let mut at = now;
        loop {
            if self.stop_at().is_some_and(|stop| at >= stop) {
                return None;
            }
            let (rate, change) = self.rate_at(at);
            if rate == 0 {
                at = change?;
                continue;
            }
            let mean_us = (1_000_000 * RATE_SCALE / rate).max(1);
            let interval = match self.arrival {
                Arrival::Fixed => mean_us,
                Arrival::Uniform => rng.between(0, 2 * mean_us),
            };
            let next = at + Duration::from_micros(interval);
            return match self.stop_at() {
                Some(stop) if next >= stop => None,
                _ => Some(next),
            };
        }
    }

    /// The business key of message number `seq`.
    pub fn business_key(&self, seq: u64, rng: &mut Prng) -> String {
        let k = &self.keys;
        let index = match k.distribution {
            KeyDistribution::Sequential => seq % k.space,
            KeyDistribution::Uniform => rng.below(k.space),
            KeyDistribution::HotKey => {
                if rng.below(100) < u64::from(k.hot_percent) || k.hot_keys == k.space {
                    rng.below(k.hot_keys)
                } else {
                    k.hot_keys + rng.below(k.space - k.hot_keys)
                }
            }
        };
        format!("{}{index}", k.prefix)
    }

    /// Message number `seq` of this workload.
    pub fn make_message(&self, seq: u64, key: &str, rng: &mut Prng) -> Message {
        let size = match self.body_bytes_max {
            Some(max) if max > self.body_bytes => rng.between(u64::from(self.body_bytes), u64::from(max)),
            _ => u64::from(self.body_bytes),
        };
        let unit = format!("{key}:{seq};");
        // The unit repeated and cut at `size` (whole copies at a time, not byte by byte).
        let mut body = unit.as_bytes().repeat((size as usize).div_ceil(unit.len()));
        body.truncate(size as usize);
        let tag = (!self.tags.is_empty()).then(|| self.tags[(seq % self.tags.len() as u64) as usize].as_str());
        let mut message = Message::new(&self.topic, tag, &[key], body);
        for (name, value) in &self.user_properties {
            message.put_user_property(name, value);
        }
        if let Some(level) = self.delay_level.filter(|level| *level > 0) {
            message.set_delay_time_level(level);
        }
        if let Some(delay) = self.timer_delay.as_deref().and_then(|d| parse_duration(d).ok()) {
            message.put_user_property("TIMER_DELAY_MS", &delay.as_millis().to_string());
        }
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prng::{Concern, StreamOwner};

    fn spec(toml_text: &str) -> WorkloadSpec {
        toml::from_str(toml_text).unwrap()
    }

    fn rng() -> Prng {
        Prng::stream(1, StreamOwner::Node(3), Concern::Workload)
    }

    #[test]
    fn a_constant_rate_spaces_messages_evenly() {
        let w = spec("topic = \"T\"\nrate = [{ at = \"0s\", per_second = 100 }]");
        assert_eq!(w.next_arrival(Time::from_secs(1), &mut rng()), Some(Time::from_millis(1_010)));
        let w = spec("topic = \"T\"\nrate = [{ at = \"0s\", per_minute = 6 }]");
        assert_eq!(w.next_arrival(Time::ZERO, &mut rng()), Some(Time::from_secs(10)));
    }

    #[test]
    fn a_ramp_interpolates_and_a_zero_rate_pauses_until_the_next_point() {
        let w = spec(
            "topic = \"T\"\nrate = [{ at = \"0s\", per_second = 0 }, { at = \"10s\", per_second = 100 }, \
             { at = \"20s\", per_second = 300, ramp = true }]",
        );
        assert_eq!(w.next_arrival(Time::from_secs(2), &mut rng()), Some(Time::from_millis(10_010)));
        assert_eq!(w.rate_at(Time::from_secs(15)).0, 200 * RATE_SCALE);
        assert_eq!(w.rate_at(Time::from_secs(25)).0, 300 * RATE_SCALE);
    }

    #[test]
    fn the_workload_ends_at_stop_at() {
        let w = spec("topic = \"T\"\nstop_at = \"2s\"\nrate = [{ at = \"0s\", per_second = 1 }]");
        assert_eq!(w.next_arrival(Time::from_millis(500), &mut rng()), Some(Time::from_millis(1_500)));
        assert_eq!(w.next_arrival(Time::from_millis(1_500), &mut rng()), None);
    }

    #[test]
    fn keys_follow_their_distribution() {
        let w = spec("topic = \"T\"\nkeys = { distribution = \"sequential\", space = 3, prefix = \"k\" }");
        let keys: Vec<String> = (0..4).map(|s| w.business_key(s, &mut rng())).collect();
        assert_eq!(keys, ["k0", "k1", "k2", "k0"]);
        let w =
            spec("topic = \"T\"\nkeys = { distribution = \"hot_key\", space = 100, hot_keys = 1, hot_percent = 90 }");
        let mut r = rng();
        let hot = (0..1_000).filter(|s| w.business_key(*s, &mut r) == "order-0").count();
        assert!((850..=950).contains(&hot), "{hot}");
    }

    #[test]
    fn messages_carry_key_tag_properties_and_a_readable_body() {
        let w =
            spec("topic = \"T\"\nbody_bytes = 20\ntags = [\"TagA\", \"TagB\"]\nuser_properties = { shop = \"s1\" }");
        let m = w.make_message(1, "order-7", &mut rng());
        assert_eq!(m.body, b"order-7:1;order-7:1;");
        assert_eq!(m.tags(), Some("TagB"));
        assert_eq!(m.keys(), Some("order-7"));
        assert_eq!(m.properties.get("shop"), Some("s1"));
    }

    #[test]
    fn invalid_workloads_are_reported() {
        let w = spec("topic = \"bad topic\"\nbatch_size = 0\nuser_properties = { KEYS = \"x\" }");
        let problems = w.problems().join("\n");
        assert!(problems.contains("illegal characters"), "{problems}");
        assert!(problems.contains("batch_size"), "{problems}");
        assert!(problems.contains("used by system"), "{problems}");
    }
}
