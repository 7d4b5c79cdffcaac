//! The node contract: every simulated process is a pure state machine.
//!
//! A node handles one [`Input`] at a time (start, a message, a timer, a finished disk sync, a
//! broken connection, an operator action) and answers only through its [`Context`]: send a
//! message, set or cancel a timer, write or sync its own disk, record an observation. It never
//! sees the network, another node, another node's disk or another random stream, and it reads
//! time only from the context. This is what makes a run a pure function of (scenario, seed).
//!
//! Writes go straight into the node's page cache, as stores into an mmap'd file do; whether they
//! survive a crash is the disk model's business (see `disk.rs`). Reads see the page cache.

use std::fmt::Debug;

use serde::Serialize;

use crate::prng::Prng;
use crate::sim::disk::{FileId, NodeDisk};
use crate::time::{Duration, Time};

/// A node's index in the simulation: dense, stable for the whole run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
pub struct NodeId(pub u16);

impl NodeId {
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// A timer handle, unique in the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
pub struct TimerId(pub u64);

/// What a node kind plugs into the kernel: its messages, timers, observations and how to boot it.
pub trait Node: Clone + Debug {
    /// Everything that crosses the network between nodes of this world.
    type Message: Clone + Debug + Serialize;
    /// The node's own timer payloads.
    type Timer: Clone + Debug + Serialize;
    /// What nodes report to the checkers (never read back by nodes).
    type Observation: Clone + Debug + Serialize;
    /// Operator actions aimed at one node (reset offsets, change a knob...).
    type Action: Clone + Debug + Serialize;
    /// The static configuration a node is (re)built from after a crash.
    type Spec: Clone + Debug;

    /// A fresh process with empty memory; it learns what survived by reading its disk on `Start`.
    fn boot(spec: &Self::Spec) -> Self;

    /// Handle one input. All effects go through `ctx`.
    fn on_input(&mut self, input: Input<Self>, ctx: &mut Context<'_, Self>);
}

/// One thing that happens to a node.
#[derive(Clone, Debug, Serialize)]
#[serde(bound = "")]
pub enum Input<N: Node> {
    /// The process starts (first boot or restart after a crash); memory is empty, the disk is what survived.
    Start,
    /// A message arrived over the connection from `from`.
    Message { from: NodeId, message: N::Message },
    /// A timer the node set has fired.
    Timer { id: TimerId, timer: N::Timer },
    /// A sync (fsync/msync) the node asked for has completed: `synced_len` bytes of `file` are durable.
    DiskSynced { file: FileId, synced_len: u64 },
    /// The TCP connection with `peer` was closed (the peer's process died, or the peer closed it).
    ConnectionClosed { peer: NodeId },
    /// An operator action for this node.
    Action(N::Action),
}

/// Effects a node asked for while handling an input, in order (kept for the trace).
#[derive(Clone, Debug, Serialize)]
#[serde(bound = "")]
pub enum Command<N: Node> {
    Send {
        to: NodeId,
        message: N::Message,
    },
    SetTimer {
        id: TimerId,
        after: Duration,
        timer: N::Timer,
    },
    CancelTimer {
        id: TimerId,
    },
    Sync {
        file: FileId,
    },
    Observe(N::Observation),
    /// Close the connection to `peer` (both sides see it closed; in-flight messages are lost).
    CloseConnection {
        peer: NodeId,
    },
    /// The process dies now, as a process kill (`kill -9`, `System.exit`, a JVM crash): commands after
    /// it are not carried out. With `restart_after`, a supervisor starts it again that much later.
    Exit {
        restart_after: Option<Duration>,
    },
    /// The process ends cleanly `after` from now (the application returns once its client has shut
    /// down): the node is stopped, not killed.
    StopAfter {
        after: Duration,
    },
}

/// The node's only window on the world while it handles one input.
pub struct Context<'a, N: Node> {
    pub(crate) now: Time,
    pub(crate) me: NodeId,
    pub(crate) rng: &'a mut Prng,
    /// The node's workload stream (concern `Workload`), kept apart so that what a scenario's
    /// workload draws never shifts the node's own choices.
    pub(crate) workload: Option<&'a mut Prng>,
    pub(crate) disk: &'a mut NodeDisk,
    pub(crate) commands: &'a mut Vec<Command<N>>,
    pub(crate) next_timer_id: &'a mut u64,
}

impl<'a, N: Node> Context<'a, N> {
    /// A context outside a simulator, for unit tests of a node: feed inputs, inspect `commands`.
    pub fn detached(
        now: Time,
        me: NodeId,
        rng: &'a mut Prng,
        disk: &'a mut NodeDisk,
        commands: &'a mut Vec<Command<N>>,
        next_timer_id: &'a mut u64,
    ) -> Self {
        Context { now, me, rng, workload: None, disk, commands, next_timer_id }
    }

    /// A detached context that also has a workload stream (for unit tests of workload-driven nodes).
    pub fn with_workload(mut self, workload: &'a mut Prng) -> Self {
        self.workload = Some(workload);
        self
    }

    pub fn now(&self) -> Time {
        self.now
    }

    pub fn me(&self) -> NodeId {
        self.me
    }

    /// This node's own random stream (concern `Node`).
    pub fn rng(&mut self) -> &mut Prng {
        self.rng
    }

    /// This node's workload stream (concern `Workload`): what the scenario asks the node to do
    /// (send rates, keys, body sizes) draws from here, never from [`Context::rng`].
    /// The kernel always provides it; a detached test context must add it with [`Context::with_workload`].
    pub fn workload_rng(&mut self) -> &mut Prng {
        self.workload.as_deref_mut().expect("this context has no workload stream (use Context::with_workload)")
    }

    pub fn send(&mut self, to: NodeId, message: N::Message) {
        self.commands.push(Command::Send { to, message });
    }

    pub fn set_timer(&mut self, after: Duration, timer: N::Timer) -> TimerId {
        let id = TimerId(*self.next_timer_id);
        *self.next_timer_id += 1;
        self.commands.push(Command::SetTimer { id, after, timer });
        id
    }

    pub fn cancel_timer(&mut self, id: TimerId) {
        self.commands.push(Command::CancelTimer { id });
    }

    pub fn observe(&mut self, observation: N::Observation) {
        self.commands.push(Command::Observe(observation));
    }

    pub fn close_connection(&mut self, peer: NodeId) {
        self.commands.push(Command::CloseConnection { peer });
    }

    /// End this process (a process kill); see [`Command::Exit`].
    pub fn exit(&mut self, restart_after: Option<Duration>) {
        self.commands.push(Command::Exit { restart_after });
    }

    /// End this process cleanly `after` from now; see [`Command::StopAfter`].
    pub fn stop_after(&mut self, after: Duration) {
        self.commands.push(Command::StopAfter { after });
    }

    /// Read access to this node's files (the page cache, as an mmap shows it).
    pub fn disk(&self) -> &NodeDisk {
        self.disk
    }

    /// Open `name`, creating an empty file if it does not exist.
    pub fn open_file(&mut self, name: &str) -> FileId {
        self.disk.open(name)
    }

    /// Write `bytes` at `offset` into the page cache (visible at once, durable only after a sync).
    pub fn write(&mut self, file: FileId, offset: u64, bytes: &[u8]) {
        self.disk.write(file, offset, bytes);
    }

    /// Cut `file` to `len` bytes (recovery truncating a dirty tail).
    pub fn truncate(&mut self, file: FileId, len: u64) {
        self.disk.truncate(file, len);
    }

    pub fn delete_file(&mut self, file: FileId) {
        self.disk.delete(file);
    }

    /// Ask the disk to make `file` durable up to its current length; `Input::DiskSynced` follows.
    pub fn sync(&mut self, file: FileId) {
        self.commands.push(Command::Sync { file });
    }
}
