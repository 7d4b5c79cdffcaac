//! The RocketMQ world: every node kind behind one enum, plugged into the generic kernel.
//!
//! `AnyNode` dispatches each input to the node kind's own handler, so each kind reads like the
//! RocketMQ component it models (`NamesrvController`, `BrokerController`, ...), while the kernel
//! sees one `Node` type. The [`Directory`] maps RocketMQ addresses (`ip:port`) to kernel node
//! ids, the way IP routing would.

use std::collections::BTreeMap;
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use crate::broker::admin_broker_processor::AdminAction;
use crate::broker::controller::{BrokerController, BrokerSpec, BrokerTimer};
use crate::consumer::client::{ConsumerClient, ConsumerSpec, ConsumerTimer};
use crate::consumer::lite_pull_consumer::SeekTarget;
use crate::controller::{ControllerNode, ControllerSpec, ControllerTimer};
use crate::name_server::controller::{NameServerSpec, NameServerTimer, NamesrvController};
use crate::observation::Observation;
use crate::producer::client::ProducerTimer;
use crate::producer::node::{ProducerNode, ProducerNodeSpec};
use crate::protocol::Message;
use crate::sim::node::{Context, Input, Node, NodeId};

/// The context type every RocketMQ node handler receives.
pub type Ctx<'a> = Context<'a, AnyNode>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum NodeKind {
    NameServer,
    Broker,
    Producer,
    Consumer,
    /// The 5.x controller (controller mode only).
    Controller,
}

/// One node's place in the topology: its name, kind and RocketMQ address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DirectoryEntry {
    pub id: NodeId,
    pub name: String,
    pub kind: NodeKind,
    pub ip: [u8; 4],
    pub port: u16,
}

impl DirectoryEntry {
    pub fn addr(&self) -> String {
        let [a, b, c, d] = self.ip;
        format!("{a}.{b}.{c}.{d}:{}", self.port)
    }
}

/// Names, kinds and addresses of every node, fixed for the run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Directory {
    pub entries: Vec<DirectoryEntry>,
    by_addr: BTreeMap<String, NodeId>,
}

impl Directory {
    /// Add a node; its IP is 10.0.<id / 250>.<id % 250 + 1>, deterministic and unique.
    pub fn add(&mut self, name: &str, kind: NodeKind, port: u16) -> NodeId {
        let id = NodeId(self.entries.len() as u16);
        let ip = [10, 0, (id.0 / 250) as u8, (id.0 % 250 + 1) as u8];
        let entry = DirectoryEntry { id, name: name.to_string(), kind, ip, port };
        self.by_addr.insert(entry.addr(), id);
        self.entries.push(entry);
        id
    }

    pub fn entry(&self, id: NodeId) -> &DirectoryEntry {
        &self.entries[id.index()]
    }

    pub fn by_name(&self, name: &str) -> Option<&DirectoryEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    pub fn node_of_addr(&self, addr: &str) -> Option<NodeId> {
        self.by_addr.get(addr).copied()
    }
}

#[derive(Clone, Debug)]
pub enum NodeSpec {
    NameServer(NameServerSpec),
    Broker(Box<BrokerSpec>),
    Producer(Box<ProducerNodeSpec>),
    Consumer(Box<ConsumerSpec>),
    Controller(Box<ControllerSpec>),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    NameServer(NameServerTimer),
    Broker(BrokerTimer),
    Producer(ProducerTimer),
    Consumer(ConsumerTimer),
    Controller(ControllerTimer),
}

/// Operator actions aimed at one node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeAction {
    /// A graceful shutdown begins (`BrokerController.shutdown`): a broker unregisters from every
    /// NameServer. The simulation stops the process a moment later.
    Shutdown,
    /// An `mqadmin` command for a broker (reset a group's offsets, change a topic's queue numbers).
    Admin(AdminAction),
    /// The lite pull application seeks every assigned queue of a topic.
    Seek { topic: String, to: SeekTarget },
    /// A consumer setter called while the process runs.
    ConsumerConfig(crate::consumer::live::LiveConsumerKnob),
    /// The consumer group's business dependency changed state.
    Dependency(crate::consumer::live::DependencyChange),
}

#[derive(Clone, Debug)]
pub enum AnyNode {
    NameServer(NamesrvController),
    Broker(Box<BrokerController>),
    Producer(Box<ProducerNode>),
    Consumer(Box<ConsumerClient>),
    Controller(Box<ControllerNode>),
}

impl Node for AnyNode {
    type Message = Message;
    type Timer = Timer;
    type Observation = Observation;
    type Action = NodeAction;
    type Spec = NodeSpec;

    fn boot(spec: &NodeSpec) -> Self {
        match spec {
            NodeSpec::NameServer(spec) => AnyNode::NameServer(NamesrvController::boot(spec)),
            NodeSpec::Broker(spec) => AnyNode::Broker(Box::new(BrokerController::boot(spec))),
            NodeSpec::Producer(spec) => AnyNode::Producer(Box::new(ProducerNode::boot(spec))),
            NodeSpec::Consumer(spec) => AnyNode::Consumer(Box::new(ConsumerClient::boot(spec))),
            NodeSpec::Controller(spec) => AnyNode::Controller(Box::new(ControllerNode::boot(spec))),
        }
    }

    fn on_input(&mut self, input: Input<Self>, ctx: &mut Ctx<'_>) {
        match (self, input) {
            (AnyNode::NameServer(ns), Input::Start) => ns.on_start(ctx),
            (AnyNode::NameServer(ns), Input::Message { from, message }) => ns.on_message(from, message, ctx),
            (AnyNode::NameServer(ns), Input::Timer { timer: Timer::NameServer(t), .. }) => ns.on_timer(t, ctx),
            (AnyNode::NameServer(ns), Input::ConnectionClosed { peer }) => ns.on_connection_closed(peer, ctx),
            (AnyNode::Broker(b), Input::Start) => b.on_start(ctx),
            (AnyNode::Broker(b), Input::Message { from, message }) => b.on_message(from, message, ctx),
            (AnyNode::Broker(b), Input::Timer { timer: Timer::Broker(t), .. }) => b.on_timer(t, ctx),
            (AnyNode::Broker(b), Input::ConnectionClosed { peer }) => b.on_connection_closed(peer, ctx),
            (AnyNode::Broker(b), Input::Action(NodeAction::Shutdown)) => b.on_shutdown(ctx),
            (AnyNode::Producer(p), Input::Start) => p.on_start(ctx),
            (AnyNode::Producer(p), Input::Message { from, message }) => p.on_message(from, message, ctx),
            (AnyNode::Producer(p), Input::Timer { timer: Timer::Producer(t), .. }) => p.on_timer(t, ctx),
            (AnyNode::Producer(p), Input::ConnectionClosed { peer }) => p.on_connection_closed(peer, ctx),
            (AnyNode::Consumer(c), Input::Start) => c.on_start(ctx),
            (AnyNode::Consumer(c), Input::Message { from, message }) => c.on_message(from, message, ctx),
            (AnyNode::Consumer(c), Input::Timer { timer: Timer::Consumer(t), .. }) => c.on_timer(t, ctx),
            // A forwarding listener's producer (`consumer/forward.rs`) lives in the consumer's process.
            (AnyNode::Consumer(c), Input::Timer { timer: Timer::Producer(t), .. }) => c.on_producer_timer(t, ctx),
            (AnyNode::Consumer(c), Input::ConnectionClosed { peer }) => c.on_connection_closed(peer, ctx),
            (AnyNode::Consumer(c), Input::Action(NodeAction::Shutdown)) => c.on_shutdown(ctx),
            (AnyNode::Consumer(c), Input::Action(NodeAction::Seek { topic, to })) => c.on_seek(&topic, to, ctx),
            (AnyNode::Broker(b), Input::Action(NodeAction::Admin(action))) => b.on_admin_action(action, ctx),
            (AnyNode::Consumer(c), Input::Action(NodeAction::ConsumerConfig(knob))) => c.on_live_config(knob),
            (AnyNode::Consumer(c), Input::Action(NodeAction::Dependency(change))) => c.on_dependency_change(change),
            (AnyNode::Controller(c), Input::Start) => c.on_start(ctx),
            (AnyNode::Controller(c), Input::Message { from, message }) => c.on_message(from, message, ctx),
            (AnyNode::Controller(c), Input::Timer { timer: Timer::Controller(t), .. }) => c.on_timer(t, ctx),
            (AnyNode::Controller(c), Input::ConnectionClosed { peer }) => c.on_connection_closed(peer, ctx),
            (node, Input::Timer { timer, .. }) => panic!("timer {timer:?} reached the wrong node kind: {node:?}"),
            (AnyNode::Broker(b), Input::DiskSynced { file, synced_len }) => b.on_disk_synced(file, synced_len, ctx),
            (_, Input::DiskSynced { .. }) => {}
            (
                _,
                Input::Action(
                    NodeAction::Shutdown
                    | NodeAction::Admin(_)
                    | NodeAction::Seek { .. }
                    | NodeAction::ConsumerConfig(_)
                    | NodeAction::Dependency(_),
                ),
            ) => {}
        }
    }
}

/// A shared, immutable directory handed to node specs that need to resolve addresses.
pub type SharedDirectory = Rc<Directory>;
