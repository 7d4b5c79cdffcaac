//! The trace: every event the kernel processes, with a stable encoding and a running digest.
//!
//! Each record is encoded as `TRACE_FORMAT_VERSION` followed by the postcard encoding of the
//! record (postcard's wire format is stable and platform independent), and fed into an XXH3-64
//! hasher. The digest after N events therefore identifies the run up to that point, natively and
//! in wasm alike. Change the record types or their order and the version must change with them.

use std::collections::VecDeque;

use serde::Serialize;
use xxhash_rust::xxh3::Xxh3;

use crate::sim::disk::{CrashKind, FileId};
use crate::sim::faults::Fault;
use crate::sim::network::DropReason;
use crate::sim::node::{Command, Node, NodeId, TimerId};
use crate::time::Time;

/// Bump when the encoding of trace records changes; it is hashed into every record.
pub const TRACE_FORMAT_VERSION: u8 = 1;

/// What happened at one step.
#[derive(Clone, Debug, Serialize)]
#[serde(bound = "")]
pub enum TraceEvent<N: Node> {
    Started { node: NodeId },
    Delivered { from: NodeId, to: NodeId, message: N::Message },
    Dropped { from: NodeId, to: NodeId, reason: DropReason, message: N::Message },
    TimerFired { node: NodeId, id: TimerId, timer: N::Timer },
    DiskSynced { node: NodeId, file: FileId, synced_len: u64 },
    ConnectionClosed { node: NodeId, peer: NodeId },
    NodeAction { node: NodeId, action: N::Action },
    Fault(Fault),
    Crashed { node: NodeId, kind: CrashKind },
}

/// One step of the run: its input event and the commands the node answered with.
#[derive(Clone, Debug, Serialize)]
#[serde(bound = "")]
pub struct TraceRecord<N: Node> {
    pub step: u64,
    pub time: Time,
    pub event: TraceEvent<N>,
    pub commands: Vec<Command<N>>,
}

/// Digest plus a bounded window of recent records (for event logs and `--trace`).
#[derive(Clone)]
pub struct Trace<N: Node> {
    hasher: Xxh3,
    buffer: Vec<u8>,
    recent: VecDeque<TraceRecord<N>>,
    recent_capacity: usize,
    records: u64,
}

impl<N: Node> Trace<N> {
    pub fn new(recent_capacity: usize) -> Self {
        Trace { hasher: Xxh3::new(), buffer: Vec::new(), recent: VecDeque::new(), recent_capacity, records: 0 }
    }

    pub fn record(&mut self, record: TraceRecord<N>) {
        self.buffer.clear();
        self.buffer.push(TRACE_FORMAT_VERSION);
        let encoded = postcard::to_extend(&record, std::mem::take(&mut self.buffer))
            .expect("trace records always encode: they contain no maps with non-string keys");
        self.hasher.update(&encoded);
        self.buffer = encoded;
        self.records += 1;
        if self.recent_capacity > 0 {
            if self.recent.len() == self.recent_capacity {
                self.recent.pop_front();
            }
            self.recent.push_back(record);
        }
    }

    /// The digest of every record so far.
    pub fn digest(&self) -> u64 {
        self.hasher.digest()
    }

    pub fn records(&self) -> u64 {
        self.records
    }

    pub fn recent(&self) -> &VecDeque<TraceRecord<N>> {
        &self.recent
    }

    /// Take the kept records out (the CLI's `--trace` writes them and keeps going).
    pub fn take_recent(&mut self) -> Vec<TraceRecord<N>> {
        self.recent.drain(..).collect()
    }

    pub fn set_recent_capacity(&mut self, capacity: usize) {
        self.recent_capacity = capacity;
        while self.recent.len() > capacity {
            self.recent.pop_front();
        }
    }
}

/// A digest as shown to people: 16 lower-case hex digits.
pub fn format_digest(digest: u64) -> String {
    format!("{digest:016x}")
}
