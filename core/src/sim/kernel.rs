//! The kernel: the only thing that steps the world.
//!
//! It owns the clock, the event queue, the network, every disk, every random stream and every
//! node, and it is generic over the node type so that it can be tested (and benchmarked) with
//! tiny nodes before any RocketMQ behaviour is involved. One step pops the earliest event,
//! hands it to its node as an `Input`, applies the node's commands, and records the step in
//! the trace. Faults arrive as events too, so a run is fully described by (nodes, seed, events).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::prng::{Concern, Prng, StreamOwner};
use crate::sim::disk::{CrashKind, DiskConfig, NodeDisk, PendingSync};
use crate::sim::event_queue::EventQueue;
use crate::sim::faults::Fault;
use crate::sim::limits::{Halt, Limits};
use crate::sim::network::{DropReason, LinkConfig, Network, Routing};
use crate::sim::node::{Command, Context, Input, Node, NodeId, TimerId};
use crate::sim::trace::{Trace, TraceEvent, TraceEventRef, TraceRecord};
use crate::time::Time;

/// Whether a node's process is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeStatus {
    Up,
    Down(CrashKind),
    /// Its start time has not come yet (a consumer that joins later). To the network it is a process
    /// that is not running, like a killed one: its port is closed.
    NotStarted,
    /// Its process ended after a graceful shutdown (an operator's `shutdown` or `remove_consumer`): to
    /// the network and the trace the same end as a process kill, told apart only for people.
    Stopped,
}

impl NodeStatus {
    /// How the process ended, as a crash: a graceful stop ends the process like a kill.
    pub fn crash_kind(self) -> Option<CrashKind> {
        match self {
            NodeStatus::Down(kind) => Some(kind),
            NodeStatus::Stopped => Some(CrashKind::ProcessKill),
            NodeStatus::Up | NodeStatus::NotStarted => None,
        }
    }
}

/// Something scheduled to happen.
#[derive(Clone, Debug)]
enum Event<N: Node> {
    Start {
        node: NodeId,
        incarnation: u32,
    },
    Deliver {
        from: NodeId,
        to: NodeId,
        epoch: u32,
        message: N::Message,
    },
    Timer {
        node: NodeId,
        incarnation: u32,
        id: TimerId,
        timer: N::Timer,
    },
    SyncDone {
        node: NodeId,
        incarnation: u32,
        disk_epoch: u32,
        sync: PendingSync,
    },
    ConnectionClosed {
        node: NodeId,
        incarnation: u32,
        peer: NodeId,
    },
    Fault(Fault),
    /// The end of a gracefully shut down process: traced and carried out as a process kill.
    Stop {
        node: NodeId,
        /// Leave a running process alone (it ends itself once its shutdown is done).
        unless_running: bool,
    },
    NodeAction {
        node: NodeId,
        action: N::Action,
    },
}

/// One node as the kernel keeps it: its spec, its memory (while up), its disk and its streams.
#[derive(Clone, Debug)]
struct Slot<N: Node> {
    spec: N::Spec,
    name: String,
    state: Option<N>,
    status: NodeStatus,
    /// Bumped at every crash: events addressed to an older incarnation are void.
    incarnation: u32,
    /// Bumped when the disk loses data (power or disk loss): syncs issued before are void.
    disk_epoch: u32,
    disk: NodeDisk,
    node_rng: Prng,
    network_rng: Prng,
    disk_rng: Prng,
    workload_rng: Prng,
    active_timers: BTreeSet<TimerId>,
}

/// What one call to [`Kernel::step`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stepped {
    /// An event was processed at this time.
    Event(Time),
    /// Nothing left to do.
    Idle,
    /// A limit was reached; the run cannot continue.
    Halted,
}

/// An observation a node made, with when and where.
#[derive(Clone, Debug, Serialize)]
#[serde(bound = "")]
pub struct Observed<N: Node> {
    pub time: Time,
    pub node: NodeId,
    pub observation: N::Observation,
}

#[derive(Clone)]
pub struct Kernel<N: Node> {
    seed: u64,
    now: Time,
    queue: EventQueue<Event<N>>,
    network: Network,
    nodes: Vec<Slot<N>>,
    held: BTreeMap<(NodeId, NodeId), VecDeque<N::Message>>,
    trace: Trace<N>,
    observations: Vec<Observed<N>>,
    limits: Limits,
    halted: Option<Halt>,
    events_processed: u64,
    in_flight: u32,
    next_timer_id: u64,
    /// The node whose handler the last step ran (see [`Kernel::last_input_node`]).
    last_input_node: Option<NodeId>,
    /// Empty between steps: a step's commands are collected here and carried out from here, so the
    /// buffer is allocated once rather than once per step.
    commands: Vec<Command<N>>,
}

impl<N: Node> Kernel<N> {
    /// An empty world. Add nodes with [`Kernel::add_node`]; they boot at time zero in that order.
    pub fn new(seed: u64, link: LinkConfig, limits: Limits) -> Self {
        Kernel {
            seed,
            now: Time::ZERO,
            queue: EventQueue::default(),
            network: Network::new(link),
            nodes: Vec::new(),
            held: BTreeMap::new(),
            trace: Trace::new(0),
            observations: Vec::new(),
            limits,
            halted: None,
            events_processed: 0,
            in_flight: 0,
            next_timer_id: 0,
            last_input_node: None,
            commands: Vec::new(),
        }
    }

    /// Add a node that boots at `start_at`. Panics past `limits.max_nodes` (callers validate first).
    pub fn add_node(&mut self, name: &str, spec: N::Spec, disk: DiskConfig, start_at: Time) -> NodeId {
        assert!((self.nodes.len() as u64) < u64::from(self.limits.max_nodes), "node limit");
        let id = NodeId(self.nodes.len() as u16);
        let owner = StreamOwner::Node(id.0);
        self.nodes.push(Slot {
            spec,
            name: name.to_string(),
            state: None,
            status: NodeStatus::NotStarted,
            incarnation: 0,
            disk_epoch: 0,
            disk: NodeDisk::new(disk),
            node_rng: Prng::stream(self.seed, owner, Concern::Node),
            network_rng: Prng::stream(self.seed, owner, Concern::Network),
            disk_rng: Prng::stream(self.seed, owner, Concern::Disk),
            workload_rng: Prng::stream(self.seed, owner, Concern::Workload),
            active_timers: BTreeSet::new(),
        });
        self.queue.push(start_at, Event::Start { node: id, incarnation: 0 });
        id
    }

    pub fn schedule_fault(&mut self, at: Time, fault: Fault) {
        self.queue.push(at.max(self.now), Event::Fault(fault));
    }

    /// End `node`'s process at `at` after its graceful shutdown: a process kill to everything that runs
    /// (trace and digest included), reported as [`NodeStatus::Stopped`].
    pub fn schedule_stop(&mut self, at: Time, node: NodeId) {
        self.queue.push(at.max(self.now), Event::Stop { node, unless_running: false });
    }

    /// Stop `node` at `at` only if it is not running then (not started yet, or down): a running process
    /// ends itself after its shutdown ([`crate::sim::node::Command::StopAfter`]).
    pub fn schedule_stop_unless_running(&mut self, at: Time, node: NodeId) {
        self.queue.push(at.max(self.now), Event::Stop { node, unless_running: true });
    }

    pub fn schedule_action(&mut self, at: Time, node: NodeId, action: N::Action) {
        self.queue.push(at.max(self.now), Event::NodeAction { node, action });
    }

    pub fn now(&self) -> Time {
        self.now
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn digest(&self) -> u64 {
        self.trace.digest()
    }

    pub fn events_processed(&self) -> u64 {
        self.events_processed
    }

    pub fn halted(&self) -> Option<&Halt> {
        self.halted.as_ref()
    }

    pub fn next_event_time(&self) -> Option<Time> {
        self.queue.peek_time()
    }

    pub fn pending_events(&self) -> usize {
        self.queue.len()
    }

    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }

    pub fn trace(&self) -> &Trace<N> {
        &self.trace
    }

    pub fn trace_mut(&mut self) -> &mut Trace<N> {
        &mut self.trace
    }

    pub fn network(&self) -> &Network {
        &self.network
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> {
        (0..self.nodes.len() as u16).map(NodeId)
    }

    pub fn node_name(&self, id: NodeId) -> &str {
        &self.nodes[id.index()].name
    }

    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        self.nodes.iter().position(|s| s.name == name).map(|i| NodeId(i as u16))
    }

    pub fn status(&self, id: NodeId) -> NodeStatus {
        self.nodes[id.index()].status
    }

    /// The node's memory while it is up (for views; never for deciding anything). None for a node that is
    /// down, or an id that names no node.
    pub fn node(&self, id: NodeId) -> Option<&N> {
        self.nodes.get(id.index()).and_then(|slot| slot.state.as_ref())
    }

    pub fn disk(&self, id: NodeId) -> &NodeDisk {
        &self.nodes[id.index()].disk
    }

    pub fn spec(&self, id: NodeId) -> &N::Spec {
        &self.nodes[id.index()].spec
    }

    /// Change what a node boots from next time (state outside the process that operators changed,
    /// e.g. a dependency's outage). The running incarnation is not touched.
    pub fn spec_mut(&mut self, id: NodeId) -> &mut N::Spec {
        &mut self.nodes[id.index()].spec
    }

    /// Messages held on links, per link.
    pub fn held_messages(&self) -> impl Iterator<Item = (&(NodeId, NodeId), usize)> {
        self.held.iter().map(|(k, v)| (k, v.len()))
    }

    /// Observations made since the last call (the checkers consume them step by step).
    pub fn drain_observations(&mut self) -> std::vec::Drain<'_, Observed<N>> {
        self.observations.drain(..)
    }

    /// The node whose handler ran in the last call to [`Kernel::step`]: of all nodes, only its
    /// memory and status can have changed in that step (nodes touch nothing but their own state).
    /// `None` when no handler ran (a fault, a void or dropped event, no event): then anything may
    /// have changed. Observers use it, with [`Kernel::events_processed`] to know that exactly one
    /// step passed, to skip re-reading nodes that did not run.
    pub fn last_input_node(&self) -> Option<NodeId> {
        self.last_input_node
    }

    /// Process the next event, if any.
    pub fn step(&mut self) -> Stepped {
        self.last_input_node = None;
        if self.halted.is_some() {
            return Stepped::Halted;
        }
        if self.events_processed >= self.limits.max_events {
            self.halted = Some(Halt::EventLimit { max_events: self.limits.max_events });
            return Stepped::Halted;
        }
        let Some((time, event)) = self.queue.pop() else { return Stepped::Idle };
        assert!(time >= self.now, "event queue went back in time");
        self.now = time;
        if self.dispatch(event) {
            self.events_processed += 1;
        }
        Stepped::Event(time)
    }

    /// Run every event up to and including `until`; the clock ends at `until` unless halted.
    pub fn run_until(&mut self, until: Time) -> Stepped {
        loop {
            match self.queue.peek_time() {
                Some(t) if t <= until => {
                    if self.step() == Stepped::Halted {
                        return Stepped::Halted;
                    }
                }
                _ => {
                    if self.halted.is_some() {
                        return Stepped::Halted;
                    }
                    self.now = self.now.max(until);
                    return Stepped::Idle;
                }
            }
        }
    }

    /// Handle one popped event. Returns false for events that turned out void (cancelled timers,
    /// events for a dead incarnation), which are neither traced nor counted.
    fn dispatch(&mut self, event: Event<N>) -> bool {
        match event {
            Event::Start { node, incarnation } => {
                if self.nodes[node.index()].incarnation != incarnation || self.nodes[node.index()].state.is_some() {
                    return false;
                }
                let slot = &mut self.nodes[node.index()];
                slot.state = Some(N::boot(&slot.spec));
                slot.status = NodeStatus::Up;
                self.begin_trace(TraceEventRef::Started { node });
                self.deliver_input(node, Input::Start);
            }
            Event::Deliver { from, to, epoch, message } => {
                self.in_flight -= 1;
                if !self.network.is_current(from, to, epoch) {
                    self.record_drop(from, to, DropReason::ConnectionBroken, message);
                } else if self.nodes[to.index()].state.is_none() {
                    self.record_drop(from, to, DropReason::ReceiverDown, message);
                    self.refuse_if_host_is_up(from, to);
                } else {
                    self.begin_trace(TraceEventRef::Delivered { from, to, message: &message });
                    self.deliver_input(to, Input::Message { from, message });
                }
            }
            Event::Timer { node, incarnation, id, timer } => {
                let slot = &mut self.nodes[node.index()];
                if slot.incarnation != incarnation || !slot.active_timers.remove(&id) {
                    return false;
                }
                self.begin_trace(TraceEventRef::TimerFired { node, id, timer: &timer });
                self.deliver_input(node, Input::Timer { id, timer });
            }
            Event::SyncDone { node, incarnation, disk_epoch, sync } => {
                let slot = &mut self.nodes[node.index()];
                if slot.disk_epoch != disk_epoch {
                    return false;
                }
                let file = sync.file;
                let Some(synced_len) = slot.disk.complete_sync(sync) else { return false };
                if slot.incarnation != incarnation || slot.state.is_none() {
                    return false;
                }
                self.begin_trace(TraceEventRef::DiskSynced { node, file, synced_len });
                self.deliver_input(node, Input::DiskSynced { file, synced_len });
            }
            Event::ConnectionClosed { node, incarnation, peer } => {
                let slot = &self.nodes[node.index()];
                if slot.incarnation != incarnation || slot.state.is_none() {
                    return false;
                }
                self.begin_trace(TraceEventRef::ConnectionClosed { node, peer });
                self.deliver_input(node, Input::ConnectionClosed { peer });
            }
            Event::NodeAction { node, action } => {
                if self.nodes[node.index()].state.is_none() {
                    return false;
                }
                self.begin_trace(TraceEventRef::NodeAction { node, action: &action });
                self.deliver_input(node, Input::Action(action));
            }
            Event::Fault(fault) => self.apply_fault(fault),
            Event::Stop { node, unless_running } => {
                if unless_running && self.nodes[node.index()].status == NodeStatus::Up {
                    return false;
                }
                let running = matches!(self.nodes[node.index()].status, NodeStatus::Up | NodeStatus::NotStarted);
                self.apply_fault(Fault::Crash { node, kind: CrashKind::ProcessKill });
                if running {
                    self.nodes[node.index()].status = NodeStatus::Stopped;
                }
            }
        }
        true
    }

    /// Start this step's trace record with its input event (which the node is about to consume).
    fn begin_trace(&mut self, event: TraceEventRef<'_, N>) {
        self.trace.begin_step(self.events_processed, self.now, event);
    }

    /// Run the node's handler and apply its commands in order (the step's trace record was begun
    /// with its input event).
    fn deliver_input(&mut self, id: NodeId, input: Input<N>) {
        self.last_input_node = Some(id);
        let mut commands = std::mem::take(&mut self.commands);
        {
            let slot = &mut self.nodes[id.index()];
            let state = slot.state.as_mut().expect("inputs go only to running nodes");
            let mut ctx = Context {
                now: self.now,
                me: id,
                rng: &mut slot.node_rng,
                workload: Some(&mut slot.workload_rng),
                disk: &mut slot.disk,
                commands: &mut commands,
                next_timer_id: &mut self.next_timer_id,
            };
            state.on_input(input, &mut ctx);
        }
        // The trace has encoded (and, if it keeps records, copied) the commands: carry them out by
        // value, so that messages move into the network instead of being cloned.
        self.trace.step_commands(&commands);
        let exit = commands.iter().position(|c| matches!(c, Command::Exit { .. }));
        let restart_after = exit.and_then(|i| match &commands[i] {
            Command::Exit { restart_after } => *restart_after,
            _ => None,
        });
        commands.truncate(exit.unwrap_or(commands.len()));
        for command in commands.drain(..) {
            self.apply(id, command);
        }
        self.commands = commands;
        self.trace.end_step();
        if exit.is_some() {
            // The process ends after this step: a process kill, then maybe a supervised restart.
            self.crash(id, CrashKind::ProcessKill);
            if let Some(after) = restart_after {
                let incarnation = self.nodes[id.index()].incarnation;
                self.queue.push(self.now + after, Event::Start { node: id, incarnation });
            }
        }
    }

    fn apply(&mut self, id: NodeId, command: Command<N>) {
        let incarnation = self.nodes[id.index()].incarnation;
        match command {
            Command::Send { to, message } => self.send(id, to, message),
            Command::SetTimer { id: timer_id, after, timer } => {
                self.nodes[id.index()].active_timers.insert(timer_id);
                let event = Event::Timer { node: id, incarnation, id: timer_id, timer };
                self.queue.push(self.now + after, event);
            }
            Command::CancelTimer { id: timer_id } => {
                self.nodes[id.index()].active_timers.remove(&timer_id);
            }
            Command::Sync { file } => {
                let slot = &mut self.nodes[id.index()];
                if !slot.disk.exists(file) {
                    return;
                }
                let (sync, done_at) = slot.disk.begin_sync(file, self.now, &mut slot.disk_rng);
                let event = Event::SyncDone { node: id, incarnation, disk_epoch: slot.disk_epoch, sync };
                self.queue.push(done_at, event);
            }
            Command::Observe(observation) => {
                self.observations.push(Observed { time: self.now, node: id, observation });
            }
            Command::CloseConnection { peer } => self.close_connection(id, peer),
            Command::StopAfter { after } => {
                self.queue.push(self.now + after, Event::Stop { node: id, unless_running: false })
            }
            Command::Exit { .. } => unreachable!("an exit ends the step's commands (deliver_input)"),
        }
    }

    fn send(&mut self, from: NodeId, to: NodeId, message: N::Message) {
        assert!(to.index() < self.nodes.len(), "send to unknown node {to:?}");
        let routing = self.network.route(from, to, self.now, &mut self.nodes[from.index()].network_rng);
        match routing {
            Routing::Deliver { at, epoch } => {
                // A duplicated message is delivered twice: copies for all but the last delivery,
                // which takes the message itself.
                let Some((&last, earlier)) = at.split_last() else { return };
                for &when in earlier {
                    self.count_in_flight();
                    self.queue.push(when, Event::Deliver { from, to, epoch, message: message.clone() });
                }
                self.count_in_flight();
                self.queue.push(last, Event::Deliver { from, to, epoch, message });
            }
            Routing::Hold => {
                self.count_in_flight();
                self.held.entry((from, to)).or_default().push_back(message);
            }
            Routing::Drop(reason) => self.record_drop(from, to, reason, message),
        }
    }

    fn count_in_flight(&mut self) {
        self.in_flight += 1;
        if self.in_flight > self.limits.max_in_flight && self.halted.is_none() {
            self.halted = Some(Halt::InFlightLimit { max_in_flight: self.limits.max_in_flight });
        }
    }

    fn record_drop(&mut self, from: NodeId, to: NodeId, reason: DropReason, message: N::Message) {
        let event = TraceEvent::Dropped { from, to, reason, message };
        self.trace.record(TraceRecord { step: self.events_processed, time: self.now, event, commands: Vec::new() });
    }

    /// Break the connection and tell both ends (if running) after one link latency.
    fn close_connection(&mut self, a: NodeId, b: NodeId) {
        self.network.break_connection(a, b);
        let delay = self.network.default_link.base_latency;
        for (node, peer) in [(a, b), (b, a)] {
            let slot = &self.nodes[node.index()];
            if slot.state.is_some() {
                let event = Event::ConnectionClosed { node, incarnation: slot.incarnation, peer };
                self.queue.push(self.now + delay, event);
            }
        }
    }

    /// A segment reaching a machine that is up but whose process is not (killed, or not started
    /// yet) meets a closed port: the OS answers with a reset, and the sender sees its connection
    /// close one link latency later. A machine without power (or without its disk) answers
    /// nothing; the sender only learns through its own timeouts.
    fn refuse_if_host_is_up(&mut self, from: NodeId, to: NodeId) {
        if !matches!(
            self.nodes[to.index()].status,
            NodeStatus::Down(CrashKind::ProcessKill) | NodeStatus::NotStarted | NodeStatus::Stopped
        ) {
            return;
        }
        let sender = &self.nodes[from.index()];
        if sender.state.is_some() {
            let event = Event::ConnectionClosed { node: from, incarnation: sender.incarnation, peer: to };
            self.queue.push(self.now + self.network.default_link.base_latency, event);
        }
    }

    fn apply_fault(&mut self, fault: Fault) {
        self.trace.record(TraceRecord {
            step: self.events_processed,
            time: self.now,
            event: TraceEvent::Fault(fault.clone()),
            commands: Vec::new(),
        });
        match fault {
            Fault::Crash { node, kind } => self.crash(node, kind),
            Fault::Restart { node } => {
                let slot = &self.nodes[node.index()];
                if slot.state.is_none() {
                    self.queue.push(self.now, Event::Start { node, incarnation: slot.incarnation });
                }
            }
            Fault::Partition { from, to, both_ways } => {
                for_each_pair(&from, &to, both_ways, |a, b| self.network.block(a, b));
            }
            Fault::Heal { from, to, both_ways } => {
                for_each_pair(&from, &to, both_ways, |a, b| self.network.unblock(a, b));
            }
            Fault::HealAll => {
                for (from, to) in self.network.heal_all() {
                    self.release(from, to);
                }
            }
            Fault::Hold { from, to } => self.network.set_held(from, to, true),
            Fault::Release { from, to } => {
                self.network.set_held(from, to, false);
                self.release(from, to);
            }
            Fault::Clog { from, to, extra } => self.network.set_clog(from, to, extra),
            Fault::SetLink { from, to, config } => self.network.set_link_config(from, to, config),
            Fault::SlowDisk { node, factor } => self.nodes[node.index()].disk.slowdown_factor = factor.max(1),
        }
    }

    /// Send again, in order, what was held on `from → to` (as if sent now).
    fn release(&mut self, from: NodeId, to: NodeId) {
        let messages = self.held.remove(&(from, to)).unwrap_or_default();
        for message in messages {
            self.in_flight -= 1;
            self.send(from, to, message);
        }
    }

    fn crash(&mut self, node: NodeId, kind: CrashKind) {
        let slot = &mut self.nodes[node.index()];
        let was_up = slot.state.take().is_some();
        // Killing a process that already stopped changes nothing: it stays stopped.
        if !(kind == CrashKind::ProcessKill && slot.status == NodeStatus::Stopped) {
            slot.status = NodeStatus::Down(kind);
        }
        slot.incarnation += 1;
        slot.active_timers.clear();
        if kind != CrashKind::ProcessKill {
            slot.disk_epoch += 1;
        }
        slot.disk.crash(kind, &mut slot.disk_rng);
        if !was_up {
            return;
        }
        self.trace.record(TraceRecord {
            step: self.events_processed,
            time: self.now,
            event: TraceEvent::Crashed { node, kind },
            commands: Vec::new(),
        });
        // Every connection of the node breaks. A killed process's OS closes its sockets, so peers
        // hear about it; a machine that lost power just goes silent.
        for peer in (0..self.nodes.len() as u16).map(NodeId).filter(|p| *p != node) {
            self.network.break_connection(node, peer);
            if kind == CrashKind::ProcessKill {
                let slot = &self.nodes[peer.index()];
                if slot.state.is_some() {
                    let event = Event::ConnectionClosed { node: peer, incarnation: slot.incarnation, peer: node };
                    self.queue.push(self.now + self.network.default_link.base_latency, event);
                }
            }
        }
    }
}

fn for_each_pair(from: &[NodeId], to: &[NodeId], both_ways: bool, mut f: impl FnMut(NodeId, NodeId)) {
    for &a in from {
        for &b in to {
            if a != b {
                f(a, b);
                if both_ways {
                    f(b, a);
                }
            }
        }
    }
}
