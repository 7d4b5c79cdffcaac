//! The trace: every event the kernel processes, with a stable encoding and a running digest.
//!
//! Each record is encoded as `TRACE_FORMAT_VERSION` followed by the postcard encoding of the
//! record (postcard's wire format is stable and platform independent), and fed into an XXH3-64
//! hasher. The digest after N events therefore identifies the run up to that point, natively and
//! in wasm alike. Change the record types or their order and the version must change with them.

use std::collections::VecDeque;

use serde::Serialize;
use xxhash_rust::xxh3::Xxh3;

use postcard::ser_flavors::Flavor;

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

/// A [`TraceEvent`] that borrows its payload: the kernel encodes a step's input before the node
/// consumes it, so that nothing is cloned for the digest. Same variants in the same order as
/// [`TraceEvent`], hence the same encoding byte for byte (postcard writes a variant's index and
/// its fields, and a reference as what it refers to).
#[derive(Debug, Serialize)]
#[serde(bound = "")]
pub(crate) enum TraceEventRef<'a, N: Node> {
    Started {
        node: NodeId,
    },
    Delivered {
        from: NodeId,
        to: NodeId,
        message: &'a N::Message,
    },
    /// Never built (drops are recorded whole, with [`Trace::record`]); here so that the variants
    /// after it keep their indices.
    #[allow(dead_code)]
    Dropped {
        from: NodeId,
        to: NodeId,
        reason: DropReason,
        message: &'a N::Message,
    },
    TimerFired {
        node: NodeId,
        id: TimerId,
        timer: &'a N::Timer,
    },
    DiskSynced {
        node: NodeId,
        file: FileId,
        synced_len: u64,
    },
    ConnectionClosed {
        node: NodeId,
        peer: NodeId,
    },
    NodeAction {
        node: NodeId,
        action: &'a N::Action,
    },
}

impl<N: Node> TraceEventRef<'_, N> {
    fn to_owned_event(&self) -> TraceEvent<N> {
        match *self {
            TraceEventRef::Started { node } => TraceEvent::Started { node },
            TraceEventRef::Delivered { from, to, message } => {
                TraceEvent::Delivered { from, to, message: message.clone() }
            }
            TraceEventRef::Dropped { from, to, reason, message } => {
                TraceEvent::Dropped { from, to, reason, message: message.clone() }
            }
            TraceEventRef::TimerFired { node, id, timer } => TraceEvent::TimerFired { node, id, timer: timer.clone() },
            TraceEventRef::DiskSynced { node, file, synced_len } => TraceEvent::DiskSynced { node, file, synced_len },
            TraceEventRef::ConnectionClosed { node, peer } => TraceEvent::ConnectionClosed { node, peer },
            TraceEventRef::NodeAction { node, action } => TraceEvent::NodeAction { node, action: action.clone() },
        }
    }
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
    /// The encoding of the step under way (between `begin_step` and `end_step`): records made
    /// meanwhile (drops caused by its commands) are hashed before it, as they always were.
    step_buffer: Vec<u8>,
    /// The step under way, owned, when recent records are kept.
    pending: Option<TraceRecord<N>>,
    recent: VecDeque<TraceRecord<N>>,
    recent_capacity: usize,
    /// Whether steps are copied into `recent` now (see [`Trace::set_keeping`]).
    keeping: bool,
    records: u64,
}

impl<N: Node> Trace<N> {
    pub fn new(recent_capacity: usize) -> Self {
        Trace {
            hasher: Xxh3::new(),
            buffer: Vec::new(),
            step_buffer: Vec::new(),
            pending: None,
            recent: VecDeque::new(),
            recent_capacity,
            keeping: true,
            records: 0,
        }
    }

    pub fn record(&mut self, record: TraceRecord<N>) {
        self.buffer.clear();
        self.buffer.push(TRACE_FORMAT_VERSION);
        encode_into(&record, &mut self.buffer);
        self.hasher.update(&self.buffer);
        self.records += 1;
        self.keep(record);
    }

    /// Whether records are kept (`recent`); then the kernel keeps copies of what nodes consume.
    pub fn keeps_recent(&self) -> bool {
        self.recent_capacity > 0 && self.keeping
    }

    /// Stop or resume copying steps into `recent` (the digest takes every step either way). A sandbox
    /// playing fast copies only the last steps of a frame, the ones its event log can show: copying
    /// every step and dropping it a few thousand steps later cost a fifth of the simulation's time.
    /// The records kept then have gaps, which their step numbers show.
    pub fn set_keeping(&mut self, keeping: bool) {
        self.keeping = keeping;
    }

    /// Whether steps are copied now (whatever the capacity); see [`Trace::set_keeping`].
    pub fn keeping(&self) -> bool {
        self.keeping
    }

    /// A step's record in three parts, encoded exactly as [`Trace::record`] would encode the whole:
    /// first its header and input event, before the node consumes the input...
    pub(crate) fn begin_step(&mut self, step: u64, time: Time, event: TraceEventRef<'_, N>) {
        self.step_buffer.clear();
        self.step_buffer.push(TRACE_FORMAT_VERSION);
        // A struct encodes as its fields in order: (step, time, event), then the commands.
        encode_into(&(step, time, &event), &mut self.step_buffer);
        self.pending = self.keeps_recent().then(|| TraceRecord {
            step,
            time,
            event: event.to_owned_event(),
            commands: Vec::new(),
        });
    }

    /// ...then the node's commands, before the kernel carries them out (and consumes them)...
    pub(crate) fn step_commands(&mut self, commands: &[Command<N>]) {
        encode_into(commands, &mut self.step_buffer);
        if let Some(pending) = &mut self.pending {
            pending.commands = commands.to_vec();
        }
    }

    /// ...and last the digest, after whatever the commands recorded (drops).
    pub(crate) fn end_step(&mut self) {
        self.hasher.update(&self.step_buffer);
        self.records += 1;
        if let Some(record) = self.pending.take() {
            self.keep(record);
        }
    }

    fn keep(&mut self, record: TraceRecord<N>) {
        if self.keeps_recent() {
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

    /// Drop the kept records: after a sandbox's seek skipped steps, what was kept before them is no
    /// history of the instant it reaches.
    pub fn clear_recent(&mut self) {
        self.recent.clear();
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

/// Appends the postcard encoding of `value` to `out` (a reused buffer: no allocation per record
/// once it has grown, and bytes are pushed directly rather than through `Extend`).
fn encode_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    postcard::serialize_with_flavor(value, AppendTo(out))
        .expect("trace records always encode: they contain no maps with non-string keys")
}

struct AppendTo<'a>(&'a mut Vec<u8>);

impl Flavor for AppendTo<'_> {
    type Output = ();

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.0.extend_from_slice(data);
        Ok(())
    }

    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.0.push(data);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// A digest as shown to people: 16 lower-case hex digits.
pub fn format_digest(digest: u64) -> String {
    format!("{digest:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name_server::controller::NameServerTimer;
    use crate::time::Duration;
    use crate::world::{AnyNode, NodeAction, Timer};

    fn commands() -> Vec<Command<AnyNode>> {
        vec![
            Command::SetTimer {
                id: TimerId(7),
                after: Duration::from_millis(10),
                timer: Timer::NameServer(NameServerTimer::ScanNotActiveBroker),
            },
            Command::CancelTimer { id: TimerId(3) },
            Command::Sync { file: FileId(2) },
        ]
    }

    /// The two steps, recorded whole and recorded in parts, with a record made in the middle of
    /// the second (as when a command's send is dropped).
    fn both_ways(keep: usize) -> (Trace<AnyNode>, Trace<AnyNode>) {
        let timer = Timer::NameServer(NameServerTimer::ScanNotActiveBroker);
        let crash = |step| TraceRecord {
            step,
            time: Time::from_micros(9),
            event: TraceEvent::Crashed { node: NodeId(4), kind: CrashKind::PowerLoss },
            commands: Vec::new(),
        };
        let mut whole = Trace::new(keep);
        whole.record(TraceRecord {
            step: 0,
            time: Time::from_micros(5),
            event: TraceEvent::TimerFired { node: NodeId(1), id: TimerId(3), timer: timer.clone() },
            commands: commands(),
        });
        whole.record(crash(1));
        whole.record(TraceRecord {
            step: 1,
            time: Time::from_micros(9),
            event: TraceEvent::NodeAction { node: NodeId(2), action: NodeAction::Shutdown },
            commands: Vec::new(),
        });
        let mut parts = Trace::new(keep);
        parts.begin_step(
            0,
            Time::from_micros(5),
            TraceEventRef::TimerFired { node: NodeId(1), id: TimerId(3), timer: &timer },
        );
        parts.step_commands(&commands());
        parts.end_step();
        parts.begin_step(
            1,
            Time::from_micros(9),
            TraceEventRef::NodeAction { node: NodeId(2), action: &NodeAction::Shutdown },
        );
        parts.step_commands(&[]);
        parts.record(crash(1));
        parts.end_step();
        (whole, parts)
    }

    #[test]
    fn a_step_recorded_in_parts_gives_the_digest_of_the_whole_record() {
        for keep in [0, 10] {
            let (whole, parts) = both_ways(keep);
            assert_eq!(parts.digest(), whole.digest());
            assert_eq!(parts.records(), 3);
        }
    }

    #[test]
    fn a_step_recorded_in_parts_is_kept_whole_and_after_what_its_commands_recorded() {
        let (whole, parts) = both_ways(10);
        let steps =
            |trace: &Trace<AnyNode>| -> Vec<String> { trace.recent().iter().map(|r| format!("{r:?}")).collect() };
        assert_eq!(steps(&parts), steps(&whole));
        assert_eq!(parts.recent().len(), 3);
    }
}
