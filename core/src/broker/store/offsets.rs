//! The two kinds of offset the storage engine hands out, each its own type so they cannot be mixed up.
//!
//! * [`CommitLogOffset`]: a byte position in the broker-wide CommitLog (RocketMQ's `physicOffset` /
//!   `commitLogOffset`, a Java `long`). Records start at these; the offset message id encodes one.
//! * [`QueueOffset`]: the logical index of a message in one ConsumeQueue (RocketMQ's `queueOffset` /
//!   `cqOffset`). Entry `n` of a queue lives at byte `n * 20` of that queue's files.
//!
//! Both wrap an `i64` because that is what RocketMQ stores on disk (big-endian, signed); the wrapper
//! only exists to make the unit visible in signatures.

use serde::{Deserialize, Serialize};

/// A byte position in the CommitLog (`physicOffset`). Never negative for a written record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CommitLogOffset(pub i64);

/// The logical position of a message in one ConsumeQueue (`queueOffset`): 0, 1, 2, ...
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct QueueOffset(pub i64);

impl std::fmt::Display for CommitLogOffset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::fmt::Display for QueueOffset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}
