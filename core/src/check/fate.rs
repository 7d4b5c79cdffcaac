//! The fate ledger: the life of one message, event by event — each send attempt, where it was stored,
//! when it became durable, each pull, consume and commit, each retry or dead-lettering — and the
//! verdict at the end.
//!
//! Keeping every message's life would cost memory in proportion to the run, so the ledger follows a
//! bounded set: the first [`DEFAULT_AUTO_TRACK`] messages of the run and any message asked for by id
//! before the run (the sandbox replays a run deterministically to follow one message it did not track).
//! Each followed message keeps at most [`MAX_ENTRIES`] entries.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::check::{EventRef, MsgKey};
use crate::observation::{ConsumeOutcome, SentBackTo};
use crate::producer::send_result::SendStatus;

/// Messages followed automatically from the start of a run.
pub const DEFAULT_AUTO_TRACK: u32 = 64;
/// Entries kept per followed message.
pub const MAX_ENTRIES: usize = 512;

/// One thing that happened to a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FateEntry {
    pub at: EventRef,
    /// The node that made the observation (its name).
    pub node: String,
    pub event: FateEvent,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum FateEvent {
    /// The application asked its producer to send it.
    Requested { seq: u64, business_key: Option<String>, resend: u32 },
    /// One attempt went on the wire to a queue.
    Attempt { attempt: u32, queue: String, broker_addr: String },
    /// A broker appended it to its CommitLog (in the page cache).
    Stored { topic: String, queue_id: i32, queue_offset: i64, commit_log_offset: i64, offset_msg_id: String },
    /// The producer learnt it was stored.
    Acknowledged { status: SendStatus },
    /// The send ended with an exception.
    SendFailed { exception: String },
    /// Its bytes reached the disk of the broker that stored it (`how` = "flushed") or a replica
    /// ("replicated").
    Durable { how: &'static str },
    /// A consumer pulled it into a process queue (or the lite consumer's cache).
    Pulled { group: String },
    /// The listener started on it.
    ConsumeStarted { group: String, reconsume_times: i32 },
    /// The listener finished it.
    ConsumeFinished { group: String, outcome: ConsumeOutcome, discarded: bool },
    /// A commit-before-process application finished (or failed) its work.
    BackgroundWork { group: String, ok: bool },
    /// The group's committed offset on the broker passed it.
    OffsetCommitted { group: String, offset: i64 },
    /// The broker stored a send-back: to the retry topic (with a delay level) or the DLQ.
    SentBack { group: String, to: SentBackTo, reconsume_times: i32 },
    /// A delay level delivered it back into a real topic.
    DelayedDelivered { topic: String, queue_id: i32, queue_offset: i64 },
    /// The broker that stored it lost power, its disk, or its process.
    BrokerCrashed { kind: String },
    /// A forwarding listener (`workload.forward_to`) of `group` re-sent it to `topic` as the message
    /// `copy`; `result` is how that send ended (SEND_OK, another status, or the exception). Unless `ok`,
    /// the listener returned RECONSUME_LATER. A step of its life, not a verdict: the copy's own life goes
    /// on in the new topic.
    Forwarded { group: String, topic: String, copy: String, result: String, ok: bool },
    /// The end-of-run verdict for this message.
    Verdict { text: String },
}

/// The followed messages and their lives.
#[derive(Clone, Debug)]
pub struct FateLedger {
    auto_remaining: u32,
    lives: BTreeMap<MsgKey, Vec<FateEntry>>,
}

impl Default for FateLedger {
    fn default() -> Self {
        FateLedger { auto_remaining: DEFAULT_AUTO_TRACK, lives: BTreeMap::new() }
    }
}

impl FateLedger {
    /// Follow `key` from now on.
    pub fn follow(&mut self, key: MsgKey) {
        self.lives.entry(key).or_default();
    }

    /// A message appeared: follow it if the automatic budget allows.
    pub fn on_new_message(&mut self, key: MsgKey) {
        if self.auto_remaining > 0 && !self.lives.contains_key(&key) {
            self.auto_remaining -= 1;
            self.lives.insert(key, Vec::new());
        }
    }

    pub fn set_auto_track(&mut self, count: u32) {
        self.auto_remaining = count;
    }

    pub fn follows(&self, key: MsgKey) -> bool {
        self.lives.contains_key(&key)
    }

    pub fn is_empty(&self) -> bool {
        self.lives.is_empty()
    }

    /// Record `event` for `key` if it is followed.
    pub fn record(&mut self, key: MsgKey, at: EventRef, node: &str, event: FateEvent) {
        if let Some(life) = self.lives.get_mut(&key) {
            if life.len() < MAX_ENTRIES {
                life.push(FateEntry { at, node: node.to_string(), event });
            }
        }
    }

    pub fn life(&self, key: MsgKey) -> Option<&[FateEntry]> {
        self.lives.get(&key).map(Vec::as_slice)
    }

    pub fn followed(&self) -> impl Iterator<Item = MsgKey> + '_ {
        self.lives.keys().copied()
    }
}
