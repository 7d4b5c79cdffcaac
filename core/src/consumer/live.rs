//! What an operator can change on a running consumer group, and only what RocketMQ itself lets change
//! while the process runs.
//!
//! * **Live consumer knobs.** `DefaultMQPushConsumer`'s setters take effect at once for the fields the
//!   client reads again on every use: `pullBatchSize` (read by each `pullMessage`), `pullInterval` (read
//!   when the next pull is scheduled), `consumeMessageBatchMaxSize` (read by each `submitConsumeRequest`)
//!   `pullThresholdForQueue` (read by each flow-control check; a group with `pullThresholdForTopic`
//!   set recomputes it at its next rebalance, as RocketMQ does) and `awaitTerminationMillisWhenShutdown`
//!   (read by `shutdown()`, so it decides a later removal). A setter changes the process's memory
//!   only: a restarted consumer starts again from its configured value.
//!   Deliberately not offered: `consumeThreadMin`/`Max` (the consume pool's core size can only be
//!   raised below `consumeThreadMax`, and lowering it retires threads only once they are idle, which a
//!   loaded consumer never is), `messageModel`, `consumeFromWhere` and the allocation strategy (read
//!   once at `start()`).
//! * **The business dependency** (the application's database). It lives outside the consumer process,
//!   so its state is a pure function of time: the scenario's `outage` window plus the changes operators
//!   made, the latest one at or before an instant deciding. A restarted consumer sees the same database.

use serde::{Deserialize, Serialize};

use crate::consumer::client::ConsumerClient;
use crate::consumer::config::ConsumerConfig;
use crate::time::{Duration, Time};

/// A consumer setter that RocketMQ applies while the process runs, with its new value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LiveConsumerKnob {
    /// `setPullBatchSize` (1..=1024).
    PullBatchSize(u32),
    /// `setPullInterval`, milliseconds (0..=65535).
    PullInterval(u64),
    /// `setConsumeMessageBatchMaxSize` (1..=1024).
    ConsumeMessageBatchMaxSize(u32),
    /// `setPullThresholdForQueue` (1..=65535).
    PullThresholdForQueue(u32),
    /// `setAwaitTerminationMillisWhenShutdown`, milliseconds (0..=600000).
    AwaitTerminationMillisWhenShutdown(u64),
}

/// The keys of [`LiveConsumerKnob`], RocketMQ's spelling, in the order a UI lists them.
pub const LIVE_CONSUMER_KEYS: [&str; 5] = [
    "pullBatchSize",
    "pullInterval",
    "consumeMessageBatchMaxSize",
    "pullThresholdForQueue",
    "awaitTerminationMillisWhenShutdown",
];

/// Which field of a live change is wrong, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// `key` or `value` (or `timeout` for a dependency outage).
    pub field: &'static str,
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl LiveConsumerKnob {
    /// Read `key = value` as a live change, or say which of the two is wrong.
    pub fn parse(key: &str, value: &str) -> Result<LiveConsumerKnob, FieldError> {
        let number = |min: u64, max: u64| -> Result<u64, FieldError> {
            let bad =
                || FieldError { field: "value", message: format!("{key} must be a whole number in {min}..={max}") };
            let n: u64 = value.trim().parse().map_err(|_| bad())?;
            if (min..=max).contains(&n) {
                Ok(n)
            } else {
                Err(bad())
            }
        };
        Ok(match key {
            "pullBatchSize" => LiveConsumerKnob::PullBatchSize(number(1, 1024)? as u32),
            "pullInterval" => LiveConsumerKnob::PullInterval(number(0, 65_535)?),
            "consumeMessageBatchMaxSize" => LiveConsumerKnob::ConsumeMessageBatchMaxSize(number(1, 1024)? as u32),
            "pullThresholdForQueue" => LiveConsumerKnob::PullThresholdForQueue(number(1, 65_535)? as u32),
            "awaitTerminationMillisWhenShutdown" => {
                LiveConsumerKnob::AwaitTerminationMillisWhenShutdown(number(0, 600_000)?)
            }
            "consumeThreadMin" | "consumeThreadMax" => {
                return Err(FieldError {
                    field: "key",
                    message: format!(
                        "{key} cannot be changed honestly at runtime: the consume pool grows only below \
                         consumeThreadMax and shrinks only when threads are idle; restart the group with a new config"
                    ),
                })
            }
            _ => {
                return Err(FieldError {
                    field: "key",
                    message: format!(
                        "`{key}` is not a consumer setting RocketMQ applies while running; choose one of {}",
                        LIVE_CONSUMER_KEYS.join(", ")
                    ),
                })
            }
        })
    }

    /// Set the field in a consumer's config.
    pub fn apply(self, config: &mut ConsumerConfig) {
        match self {
            LiveConsumerKnob::PullBatchSize(n) => config.pull_batch_size = n,
            LiveConsumerKnob::PullInterval(ms) => config.pull_interval = ms,
            LiveConsumerKnob::ConsumeMessageBatchMaxSize(n) => config.consume_message_batch_max_size = n,
            LiveConsumerKnob::PullThresholdForQueue(n) => config.pull_threshold_for_queue = n,
            LiveConsumerKnob::AwaitTerminationMillisWhenShutdown(ms) => {
                config.await_termination_millis_when_shutdown = ms
            }
        }
    }
}

/// An operator's change to a group's business dependency, from `at` on: down (every call fails after
/// `timeout`) or back up (`down` is None).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependencyChange {
    pub at: Time,
    pub down: Option<Duration>,
}

/// Read a dependency timeout ("3s"): 1 ms ..= 1 min.
pub fn parse_dependency_timeout(text: &str) -> Result<Duration, FieldError> {
    let timeout = crate::scenario::duration::parse_duration(text)
        .map_err(|e| FieldError { field: "timeout", message: e.to_string() })?;
    if timeout < Duration::from_millis(1) || timeout > Duration::from_secs(60) {
        return Err(FieldError { field: "timeout", message: "the timeout must be between 1ms and 1m".into() });
    }
    Ok(timeout)
}

impl ConsumerClient {
    /// An operator called a live setter on this process.
    /// (The trace records the action itself; the consumer's view shows the new value.)
    pub(crate) fn on_live_config(&mut self, knob: LiveConsumerKnob) {
        knob.apply(&mut self.spec.config);
    }

    /// The group's dependency changed state (a running process learns it when it happens; a process
    /// booted later reads it from its spec).
    pub(crate) fn on_dependency_change(&mut self, change: DependencyChange) {
        self.app.spec.add_dependency_change(change);
    }
}
