//! The fault vocabulary: what a scenario, a test or a click in the sandbox can do to the world.
//!
//! Faults act on the kernel's parts (processes, links, disks) and never on a node's memory
//! directly; a crash discards a node's memory and the restart rebuilds it from its disk.

use serde::{Deserialize, Serialize};

use crate::sim::disk::CrashKind;
use crate::sim::network::LinkConfig;
use crate::sim::node::NodeId;
use crate::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fault {
    /// The node goes down; its disk keeps what `kind` allows.
    Crash { node: NodeId, kind: CrashKind },
    /// A downed node boots again with empty memory and the surviving disk.
    Restart { node: NodeId },
    /// Messages from every node of `from` to every node of `to` are dropped (and back, if `both_ways`).
    Partition { from: Vec<NodeId>, to: Vec<NodeId>, both_ways: bool },
    /// Lift the partition between these groups.
    Heal { from: Vec<NodeId>, to: Vec<NodeId>, both_ways: bool },
    /// Lift every partition, hold and clog; release held messages.
    HealAll,
    /// Keep messages `from → to` back until released.
    Hold { from: NodeId, to: NodeId },
    /// Deliver what was held on `from → to`, in order, and stop holding.
    Release { from: NodeId, to: NodeId },
    /// Add latency on `from → to` (zero removes the clog).
    Clog { from: NodeId, to: NodeId, extra: Duration },
    /// Replace the link's latency/loss/duplication settings (None = back to the default).
    SetLink { from: NodeId, to: NodeId, config: Option<LinkConfig> },
    /// Multiply the node's disk sync latency by `factor` (1 = normal).
    SlowDisk { node: NodeId, factor: u64 },
}

impl Fault {
    /// Nodes this fault names, for validating references.
    pub fn nodes(&self) -> Vec<NodeId> {
        match self {
            Fault::Crash { node, .. } | Fault::Restart { node } | Fault::SlowDisk { node, .. } => vec![*node],
            Fault::Partition { from, to, .. } | Fault::Heal { from, to, .. } => {
                from.iter().chain(to).copied().collect()
            }
            Fault::HealAll => vec![],
            Fault::Hold { from, to }
            | Fault::Release { from, to }
            | Fault::Clog { from, to, .. }
            | Fault::SetLink { from, to, .. } => vec![*from, *to],
        }
    }
}
