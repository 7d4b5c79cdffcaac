//! `Simulation`: a RocketMQ cluster built from a scenario and a seed, ready to step.
//!
//! This is the API the CLI, the web app and the tests use. It owns a [`Kernel`] of RocketMQ
//! nodes, turns scenario actions into kernel faults, samples metrics, and produces view
//! snapshots. A `Simulation` is `Clone`, and cloning is cheap (disk pages are shared behind
//! `Rc`), which is how the sandbox keeps checkpoints to rewind to.

use std::rc::Rc;

use crate::broker::controller::BrokerSpec;
use crate::broker::store::message_store_config::BrokerRole;
use crate::metrics::Metrics;
use crate::name_server::controller::NameServerSpec;
use crate::observation_log::ObservationLog;
use crate::producer::client::ProducerSpec;
use crate::producer::node::ProducerNodeSpec;
use crate::route::TopicConfig;
use crate::scenario::model::ActionSpec;
use crate::scenario::{Scenario, ScenarioError, ScenarioErrors};
use crate::sim::disk::DiskConfig;
use crate::sim::faults::Fault;
use crate::sim::kernel::{Kernel, NodeStatus, Stepped};
use crate::sim::network::LinkConfig;
use crate::sim::node::NodeId;
use crate::sim::trace::format_digest;
use crate::time::{Duration, Time};
use crate::view::{
    BrokerView, LinkView, LiveBrokerView, NameServerView, NodeDetail, NodeView, ProducerView, PublishQueuesView,
    SimView, TopicRouteView,
};
use crate::world::{AnyNode, Directory, NodeAction, NodeKind, NodeSpec};

pub const NAMESRV_PORT: u16 = 9876;
pub const BROKER_PORT: u16 = 10911;
pub const BROKER_HA_PORT: u16 = 10912;
/// The 5.x controller's port (`controllerDLegerPeers` examples use 9878).
pub const CONTROLLER_PORT: u16 = 9878;
/// The local port of every client connection (an ephemeral port; each client has its own IP).
pub const CLIENT_PORT: u16 = 40_000;
/// A graceful shutdown ends the process this long after it began (unregistering takes one round trip).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);
/// Metrics sampling: one sample per virtual second, at most 4 096 kept.
const METRICS_INTERVAL: Duration = Duration::from_secs(1);
const METRICS_MAX_SAMPLES: u32 = 4_096;

#[derive(Clone)]
pub struct Simulation {
    kernel: Kernel<AnyNode>,
    scenario: Rc<Scenario>,
    directory: Rc<Directory>,
    metrics: Metrics,
    /// Every observation kept so far (see `retention`), in order; copies of the simulation share it.
    observations: ObservationLog,
    /// Standby consumers started so far by `add_consumer`, per group.
    standby_started: std::collections::BTreeMap<String, u32>,
    /// Every action scheduled so far, with its instant (the replication report finds failures here).
    action_history: Vec<(Time, ActionSpec)>,
    /// The checkers (issue 7/8): they read every observation as it is made.
    checks: crate::check::Checks,
    /// How many observations `observations()` keeps.
    retention: crate::check::Retention,
}

impl Simulation {
    /// Build the cluster of `scenario`, seeded with `seed`, with the scenario's actions scheduled.
    pub fn new(scenario: &Scenario, seed: u64) -> Result<Simulation, ScenarioErrors> {
        let directory = Rc::new(build_directory(scenario));
        let directory_for_checks = Rc::clone(&directory);
        let link = LinkConfig {
            base_latency: Duration::from_micros(scenario.network.latency_us),
            jitter: Duration::from_micros(scenario.network.jitter_us),
            ..LinkConfig::default()
        };
        let mut kernel = Kernel::new(seed, link, scenario.limits.clone());
        for entry in &directory.entries {
            let spec = node_spec(scenario, &directory, entry.id);
            let start = match entry.kind {
                NodeKind::Consumer => crate::consumer::spec::start_time(scenario, &entry.name),
                _ => Time::ZERO,
            };
            let id = kernel.add_node(&entry.name, spec, DiskConfig::default(), start);
            assert_eq!(id, entry.id, "kernel and directory agree on ids");
        }
        let series: Vec<String> =
            directory.entries.iter().filter(|e| e.kind == NodeKind::NameServer).map(|e| e.name.clone()).collect();
        let mut simulation = Simulation {
            kernel,
            scenario: Rc::new(scenario.clone()),
            directory,
            metrics: Metrics::new(METRICS_INTERVAL, &series, METRICS_MAX_SAMPLES),
            observations: ObservationLog::new(),
            standby_started: std::collections::BTreeMap::new(),
            action_history: Vec::new(),
            checks: crate::check::Checks::new(scenario, &directory_for_checks),
            retention: crate::check::Retention::All,
        };
        for action in &scenario.actions {
            simulation.schedule(Scenario::action_time(action), &action.action).map_err(|message| {
                ScenarioErrors(vec![ScenarioError { source: scenario.id.clone(), line: None, column: None, message }])
            })?;
        }
        Ok(simulation)
    }

    /// Schedule an action at `at`: a kernel fault, or for a graceful shutdown the node's own action
    /// followed by the end of its process [`SHUTDOWN_GRACE`] later.
    fn schedule(&mut self, at: Time, action: &ActionSpec) -> Result<(), String> {
        if self.action_history.len() < 100_000 {
            let index = self.action_history.partition_point(|(t, _)| *t <= at);
            self.action_history.insert(index, (at, action.clone()));
        }
        if let ActionSpec::Shutdown { node } = action {
            let entry = self.directory.by_name(node).ok_or_else(|| format!("unknown node `{node}`"))?;
            let (id, kind) = (entry.id, entry.kind);
            self.kernel.schedule_action(at, id, NodeAction::Shutdown);
            // A consumer's shutdown() may wait for its consume threads; it ends its process itself.
            if kind == NodeKind::Consumer {
                self.kernel.schedule_stop_unless_running(at, id);
            } else {
                self.kernel.schedule_stop(at + SHUTDOWN_GRACE, id);
            }
            return Ok(());
        }
        if self.schedule_consumer_action(at, action)? {
            return Ok(());
        }
        let fault = self.resolve(action)?;
        self.kernel.schedule_fault(at, fault);
        Ok(())
    }

    /// Turn an action that names nodes into a kernel fault.
    pub fn resolve(&self, action: &ActionSpec) -> Result<Fault, String> {
        let id =
            |name: &str| self.directory.by_name(name).map(|e| e.id).ok_or_else(|| format!("unknown node `{name}`"));
        let ids = |names: &[String]| names.iter().map(|n| id(n)).collect::<Result<Vec<NodeId>, String>>();
        Ok(match action {
            ActionSpec::Crash { node, kind } => Fault::Crash { node: id(node)?, kind: (*kind).into() },
            ActionSpec::Restart { node } => Fault::Restart { node: id(node)? },
            ActionSpec::Partition { from, to, both_ways } => {
                Fault::Partition { from: ids(from)?, to: ids(to)?, both_ways: *both_ways }
            }
            ActionSpec::Heal { from, to, both_ways } => {
                Fault::Heal { from: ids(from)?, to: ids(to)?, both_ways: *both_ways }
            }
            ActionSpec::HealAll => Fault::HealAll,
            ActionSpec::Hold { from, to } => Fault::Hold { from: id(from)?, to: id(to)? },
            ActionSpec::Release { from, to } => Fault::Release { from: id(from)?, to: id(to)? },
            ActionSpec::Clog { from, to, extra } => {
                Fault::Clog { from: id(from)?, to: id(to)?, extra: crate::scenario::duration::parse_duration(extra)? }
            }
            ActionSpec::SlowDisk { node, factor } => Fault::SlowDisk { node: id(node)?, factor: *factor },
            ActionSpec::Shutdown { node } | ActionSpec::RemoveConsumer { node } | ActionSpec::Seek { node, .. } => {
                return Err(format!("`shutdown` of `{node}` is a node action, not a fault; use Simulation::inject"))
            }
            ActionSpec::AddConsumer { .. }
            | ActionSpec::ResetOffset { .. }
            | ActionSpec::UpdateTopicQueues { .. }
            | ActionSpec::DependencyDown { .. }
            | ActionSpec::DependencyUp { .. }
            | ActionSpec::UpdateConsumerConfig { .. }
            | ActionSpec::UpdateBrokerConfig { .. } => {
                return Err("consumer and admin actions are node actions, not faults; use Simulation::inject".into())
            }
        })
    }

    /// Consumer and admin actions (issue 5/8); false when `action` is not one of them.
    fn schedule_consumer_action(&mut self, at: Time, action: &ActionSpec) -> Result<bool, String> {
        let id =
            |name: &str| self.directory.by_name(name).map(|e| e.id).ok_or_else(|| format!("unknown node `{name}`"));
        match action {
            ActionSpec::AddConsumer { group } => {
                let spec = self.scenario.consumer_groups.iter().find(|g| &g.group == group);
                let spec = spec.ok_or_else(|| format!("unknown consumer group `{group}`"))?;
                let started = self.standby_started.entry(group.clone()).or_insert(0);
                if *started >= spec.standby {
                    return Err(format!("consumer group `{group}` has no standby consumer left to add"));
                }
                let name = spec.node_names()[(spec.members + *started) as usize].clone();
                *started += 1;
                let node = id(&name)?;
                self.kernel.schedule_fault(at, Fault::Restart { node });
            }
            ActionSpec::Seek { node, topic, to } => {
                let to = match to.as_str() {
                    "begin" => crate::consumer::lite_pull_consumer::SeekTarget::Begin,
                    "end" => crate::consumer::lite_pull_consumer::SeekTarget::End,
                    offset => crate::consumer::lite_pull_consumer::SeekTarget::Offset(
                        offset.parse().map_err(|_| format!("seek: `{offset}` is not begin, end or an offset"))?,
                    ),
                };
                self.kernel.schedule_action(at, id(node)?, NodeAction::Seek { topic: topic.clone(), to });
            }
            ActionSpec::RemoveConsumer { node } => {
                let node = id(node)?;
                // shutdown() ends the process itself (it may wait for its consume threads first).
                self.kernel.schedule_action(at, node, NodeAction::Shutdown);
                self.kernel.schedule_stop_unless_running(at, node);
            }
            ActionSpec::ResetOffset { group, topic, to } => {
                let admin = crate::consumer::spec::reset_offset_action(group, topic, to)?;
                for broker in crate::consumer::spec::brokers_of_topic(&self.scenario, topic) {
                    self.kernel.schedule_action(at, id(&broker)?, NodeAction::Admin(admin.clone()));
                }
            }
            ActionSpec::UpdateTopicQueues { topic, queues } => {
                let admin = crate::broker::admin_broker_processor::AdminAction::UpdateTopic {
                    topic: topic.clone(),
                    read_queue_nums: *queues,
                    write_queue_nums: *queues,
                };
                for broker in crate::consumer::spec::brokers_of_topic(&self.scenario, topic) {
                    self.kernel.schedule_action(at, id(&broker)?, NodeAction::Admin(admin.clone()));
                }
            }
            ActionSpec::DependencyDown { group, .. } | ActionSpec::DependencyUp { group } => {
                let down = match action {
                    ActionSpec::DependencyDown { timeout, .. } => {
                        Some(crate::consumer::live::parse_dependency_timeout(timeout).map_err(|e| e.to_string())?)
                    }
                    _ => None,
                };
                let change = crate::consumer::live::DependencyChange { at, down };
                // The dependency is outside the processes: every member, running or not, boots with it
                // from now on; the running ones learn it at `at`.
                for name in self.consumer_group_nodes(group)? {
                    let node = id(&name)?;
                    if let NodeSpec::Consumer(spec) = self.kernel.spec_mut(node) {
                        spec.workload.add_dependency_change(change);
                    }
                    self.kernel.schedule_action(at, node, NodeAction::Dependency(change));
                }
            }
            ActionSpec::UpdateBrokerConfig { node, key, value } => {
                let broker_permission = crate::broker::admin_broker_processor::parse_live_broker_config(key, value)
                    .map_err(|e| e.to_string())?;
                let admin =
                    crate::broker::admin_broker_processor::AdminAction::UpdateBrokerPermission { broker_permission };
                self.kernel.schedule_action(at, id(node)?, NodeAction::Admin(admin));
            }
            ActionSpec::UpdateConsumerConfig { group, key, value } => {
                let knob = crate::consumer::live::LiveConsumerKnob::parse(key, value).map_err(|e| e.to_string())?;
                for name in self.consumer_group_nodes(group)? {
                    self.kernel.schedule_action(at, id(&name)?, NodeAction::ConsumerConfig(knob));
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Every consumer node of a group (members and standby).
    fn consumer_group_nodes(&self, group: &str) -> Result<Vec<String>, String> {
        let spec = self.scenario.consumer_groups.iter().find(|g| g.group == group);
        Ok(spec.ok_or_else(|| format!("unknown consumer group `{group}`"))?.node_names())
    }

    /// Schedule an action at `at` (or now, if `at` is None or already past).
    pub fn inject(&mut self, at: Option<Time>, action: &ActionSpec) -> Result<(), String> {
        let at = at.unwrap_or(self.kernel.now()).max(self.kernel.now());
        self.schedule(at, action)
    }

    /// Process the next event.
    pub fn step(&mut self) -> Stepped {
        if let Some(next) = self.kernel.next_event_time() {
            self.sample_until(|m| m.due_before(next));
            self.checks.sample_before(next);
        }
        let stepped = self.kernel.step();
        self.checks.after_step(&mut self.kernel, &mut self.observations, self.retention);
        stepped
    }

    /// The checkers of this run (verdicts with [`Simulation::verdicts`], the at-risk meter, the fate
    /// ledger, the chart series).
    pub fn checks(&self) -> &crate::check::Checks {
        &self.checks
    }

    /// The checkers, to follow messages in the fate ledger before running.
    pub fn checks_mut(&mut self) -> &mut crate::check::Checks {
        &mut self.checks
    }

    /// How many observations `observations()` keeps (default: all). Long runs keep none or the recent
    /// ones: the checkers have read them already.
    pub fn set_retention(&mut self, retention: crate::check::Retention) {
        self.retention = retention;
        if retention == crate::check::Retention::None {
            self.observations = ObservationLog::new();
        }
    }

    /// Every observation kept so far (as many as the retention keeps), in order.
    pub fn observations(&self) -> &ObservationLog {
        &self.observations
    }

    /// Every action scheduled so far (from the scenario or injected), in time order.
    pub fn action_history(&self) -> &[(Time, ActionSpec)] {
        &self.action_history
    }

    /// RTO and RPO of each broker failure so far and the replicas' lag (scans the replicas' logs: call
    /// it when needed, not every frame).
    pub fn replication_report(&self) -> crate::replication_metrics::ReplicationReport {
        crate::replication_metrics::report(self)
    }

    /// Run all events up to and including `until`.
    pub fn run_until(&mut self, until: Time) -> Stepped {
        loop {
            match self.kernel.next_event_time() {
                Some(next) if next <= until => {
                    if self.step() == Stepped::Halted {
                        return Stepped::Halted;
                    }
                }
                _ => break,
            }
        }
        let outcome = self.kernel.run_until(until);
        self.sample_until(|m| m.due_at(until));
        self.checks.sample_at(until);
        outcome
    }

    /// Run at most `max_events` events, stopping before any event later than `until`.
    /// Returns how many ran. The web app's frame loop uses this to stay within a time budget.
    pub fn run_bounded(&mut self, until: Time, max_events: u32) -> u32 {
        let mut ran = 0;
        while ran < max_events {
            match self.kernel.next_event_time() {
                Some(next) if next <= until => {
                    if self.step() != Stepped::Event(next) {
                        break;
                    }
                    ran += 1;
                }
                _ => {
                    self.kernel.run_until(until);
                    self.sample_until(|m| m.due_at(until));
                    self.checks.sample_at(until);
                    break;
                }
            }
        }
        ran
    }

    fn sample_until(&mut self, due: impl Fn(&Metrics) -> bool) {
        while due(&self.metrics) {
            let values = self.sample_values();
            self.metrics.record(&values);
        }
    }

    /// One value per series: the live-broker count of each NameServer (-1 while it is down).
    fn sample_values(&self) -> Vec<i64> {
        self.directory
            .entries
            .iter()
            .filter(|e| e.kind == NodeKind::NameServer)
            .map(|e| match self.kernel.node(e.id) {
                Some(AnyNode::NameServer(ns)) => ns.route_info.broker_live_table.len() as i64,
                _ => -1,
            })
            .collect()
    }

    pub fn now(&self) -> Time {
        self.kernel.now()
    }

    pub fn seed(&self) -> u64 {
        self.kernel.seed()
    }

    pub fn digest(&self) -> u64 {
        self.kernel.digest()
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    pub fn kernel(&self) -> &Kernel<AnyNode> {
        &self.kernel
    }

    pub fn kernel_mut(&mut self) -> &mut Kernel<AnyNode> {
        &mut self.kernel
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// A snapshot of everything a UI shows.
    pub fn view(&self) -> SimView {
        SimView {
            scenario_id: self.scenario.id.clone(),
            seed: self.seed(),
            time: self.now(),
            digest: format_digest(self.digest()),
            events_processed: self.kernel.events_processed(),
            pending_events: self.kernel.pending_events() as u64,
            in_flight: self.kernel.in_flight(),
            halted: self.kernel.halted().map(|h| h.to_string()),
            nodes: self.directory.entries.iter().map(|e| self.node_view(e.id)).collect(),
            links: self.link_views(),
            metrics: self.metrics.clone(),
            replication: crate::replication_metrics::group_views(self),
        }
    }

    fn node_view(&self, id: NodeId) -> NodeView {
        let entry = self.directory.entry(id);
        let detail = match self.kernel.node(id) {
            None => NodeDetail::Down,
            Some(AnyNode::NameServer(ns)) => {
                let expiry = ns.config.broker_channel_expired_time;
                NodeDetail::NameServer(NameServerView {
                    live_brokers: ns
                        .route_info
                        .broker_live_table
                        .iter()
                        .map(|(addr, live)| LiveBrokerView {
                            broker_name: live.broker_name.clone(),
                            broker_addr: addr.clone(),
                            last_update_ms: live.last_update_timestamp_ms,
                            expires_after_ms: live.last_update_timestamp_ms + expiry,
                        })
                        .collect(),
                    topics: ns
                        .route_info
                        .topic_queue_table
                        .iter()
                        .map(|(topic, queues)| TopicRouteView {
                            topic: topic.clone(),
                            queues: queues
                                .values()
                                .map(|q| {
                                    let perm = TopicRouteView::perm_display(q.perm);
                                    (q.broker_name.clone(), q.read_queue_nums, q.write_queue_nums, perm)
                                })
                                .collect(),
                        })
                        .collect(),
                })
            }
            Some(AnyNode::Controller(c)) => NodeDetail::Controller(crate::controller::view(c)),
            Some(AnyNode::Broker(b)) => NodeDetail::Broker(BrokerView {
                broker_name: b.spec.broker_name.clone(),
                broker_id: b.spec.broker_id,
                topics: b.topic_config_table().keys().cloned().collect(),
                registrations_sent: b.registrations_sent,
                registrations_answered: b.registrations_answered,
                send_queue: b.send_pool.queue_len(),
                sends_received: b.stats.sends_received,
                messages_stored: b.stats.messages_stored,
                sends_rejected: b.stats.sends_rejected,
                producer_groups: b.producer_table.keys().cloned().collect(),
                consumer_groups: b
                    .consumer_services
                    .consumer_manager
                    .consumer_table
                    .keys()
                    .map(|g| (g.clone(), b.consumer_ids_of(g)))
                    .collect(),
                consumer_offsets: b
                    .consumer_services
                    .consumer_offset_manager
                    .offset_table
                    .iter()
                    .flat_map(|(key, queues)| {
                        let (topic, group) = key.split_once('@').unwrap_or((key.as_str(), ""));
                        queues.iter().map(move |(q, o)| (group.to_string(), topic.to_string(), *q, *o))
                    })
                    .collect(),
                held_pulls: b.consumer_services.pull_request_hold_service.held_count(),
                delayed_waiting: b.consumer_services.schedule_message_service.backlog(&b.store),
                queue_locks: b
                    .consumer_services
                    .rebalance_lock_manager
                    .mq_lock_table
                    .iter()
                    .flat_map(|(group, locks)| {
                        locks.iter().map(move |(mq, entry)| {
                            (group.clone(), format!("{}/{}", mq.broker_name, mq.queue_id), entry.client_id.clone())
                        })
                    })
                    .collect(),
            }),
            Some(AnyNode::Consumer(c)) => {
                NodeDetail::Consumer(crate::consumer::spec::consumer_view(c, self.kernel.now()))
            }
            Some(AnyNode::Producer(p)) => {
                let client = &p.client;
                let app = p.application_stats().cloned().unwrap_or_default();
                NodeDetail::Producer(ProducerView {
                    client_id: client.client_id.clone(),
                    producer_group: client.spec.config.producer_group.clone(),
                    publish: client
                        .topic_publish_info_table
                        .iter()
                        .map(|(topic, info)| PublishQueuesView {
                            topic: topic.clone(),
                            queues: info
                                .message_queue_list
                                .iter()
                                .map(|q| format!("{}/{}", q.broker_name, q.queue_id))
                                .collect(),
                        })
                        .collect(),
                    isolated_brokers: client
                        .fault_strategy
                        .latency_fault_tolerance
                        .fault_items()
                        .filter(|f| !f.is_available(self.now().as_millis()))
                        .map(|f| (f.name.clone(), f.start_timestamp))
                        .collect(),
                    sends_started: client.stats.sends_started,
                    send_ok: client.stats.send_ok,
                    send_not_ok: client.stats.send_not_ok,
                    send_failed: client.stats.send_failed,
                    attempts: client.stats.attempts,
                    in_flight: client.in_flight_sends(),
                    messages_generated: app.messages_generated,
                    messages_abandoned: app.messages_abandoned,
                    resends: app.resends,
                    kept_for_resend: app.kept_for_resend,
                    backlog: app.backlog,
                })
            }
        };
        NodeView {
            id: id.0,
            name: entry.name.clone(),
            kind: entry.kind,
            addr: entry.addr(),
            status: self.kernel.status(id),
            detail,
        }
    }

    fn link_views(&self) -> Vec<LinkView> {
        let held: Vec<((NodeId, NodeId), usize)> = self.kernel.held_messages().map(|(k, n)| (*k, n)).collect();
        self.kernel
            .network()
            .faulty_links()
            .into_iter()
            .map(|(from, to, blocked, is_held, clog)| LinkView {
                from: from.0,
                to: to.0,
                blocked,
                held: is_held,
                held_messages: held.iter().find(|(k, _)| *k == (from, to)).map_or(0, |(_, n)| *n as u32),
                clog_us: clog.as_micros(),
            })
            .collect()
    }

    /// Whether a node is running.
    pub fn is_up(&self, name: &str) -> bool {
        self.directory.by_name(name).is_some_and(|e| self.kernel.status(e.id) == NodeStatus::Up)
    }
}

fn build_directory(scenario: &Scenario) -> Directory {
    let mut directory = Directory::default();
    for i in 0..scenario.topology.name_servers {
        directory.add(&format!("namesrv-{i}"), NodeKind::NameServer, NAMESRV_PORT);
    }
    for i in 0..scenario.topology.controllers {
        directory.add(&format!("controller-{i}"), NodeKind::Controller, CONTROLLER_PORT);
    }
    for group in &scenario.topology.broker_groups {
        for name in group.node_names() {
            directory.add(&name, NodeKind::Broker, BROKER_PORT);
        }
    }
    for name in scenario.producer_names() {
        directory.add(&name, NodeKind::Producer, CLIENT_PORT);
    }
    for name in scenario.consumer_names() {
        directory.add(&name, NodeKind::Consumer, CLIENT_PORT);
    }
    directory
}

fn node_spec(scenario: &Scenario, directory: &Rc<Directory>, id: NodeId) -> NodeSpec {
    let entry = directory.entry(id);
    match entry.kind {
        NodeKind::NameServer => {
            NodeSpec::NameServer(NameServerSpec { config: scenario.topology.namesrv_config.clone() })
        }
        NodeKind::Controller => NodeSpec::Controller(Box::new(crate::controller::ControllerSpec {
            config: scenario.topology.controller_config.clone(),
        })),
        NodeKind::Broker => {
            let (group, broker_id) = broker_group_of(scenario, &entry.name);
            let name_servers = directory
                .entries
                .iter()
                .filter(|e| e.kind == NodeKind::NameServer)
                .filter(|e| group.name_servers.as_ref().is_none_or(|names| names.contains(&e.name)))
                .map(|e| e.id)
                .collect();
            let topics = scenario
                .topology
                .topics
                .iter()
                .filter(|t| t.brokers.as_ref().is_none_or(|names| names.contains(&group.name)))
                .map(|t| TopicConfig::with_queues(&t.name, t.queues, t.perm))
                .collect();
            let [a, b, c, d] = entry.ip;
            let mut store = group.store.clone();
            if broker_id > 0 {
                store.broker_role = BrokerRole::Slave;
            }
            let (broker_id, replication) = crate::broker::ha::replication_spec(group, broker_id, directory, &mut store);
            NodeSpec::Broker(Box::new(BrokerSpec {
                broker_name: group.name.clone(),
                broker_id,
                broker_addr: entry.addr(),
                ha_server_addr: format!("{a}.{b}.{c}.{d}:{BROKER_HA_PORT}"),
                name_servers,
                config: group.config.clone(),
                store,
                topics,
                directory: Rc::clone(directory),
                replication,
            }))
        }
        NodeKind::Consumer => {
            NodeSpec::Consumer(Box::new(crate::consumer::spec::consumer_spec(scenario, directory, &entry.name)))
        }
        NodeKind::Producer => {
            let index = scenario.producer_names().iter().position(|n| *n == entry.name).expect("named in the scenario");
            let producer = &scenario.producers[index];
            let name_servers: Vec<&crate::world::DirectoryEntry> = match &producer.config.namesrv_addr {
                Some(names) => names.iter().filter_map(|n| directory.by_name(n)).collect(),
                None => directory.entries.iter().filter(|e| e.kind == NodeKind::NameServer).collect(),
            };
            NodeSpec::Producer(Box::new(ProducerNodeSpec {
                client: ProducerSpec {
                    client_ip: entry.ip,
                    name_servers: name_servers.iter().map(|e| e.id).collect(),
                    name_server_addrs: name_servers.iter().map(|e| e.addr()).collect(),
                    directory: Rc::clone(directory),
                    config: producer.config.clone(),
                },
                workload: producer.workload.clone(),
            }))
        }
    }
}

/// The group a broker node belongs to and its broker id (0 for the master, n for `-s<n>`).
fn broker_group_of<'a>(scenario: &'a Scenario, node_name: &str) -> (&'a crate::scenario::model::BrokerGroupSpec, u64) {
    for group in &scenario.topology.broker_groups {
        if node_name == group.name {
            return (group, 0);
        }
        if let Some(id) = node_name.strip_prefix(&format!("{}-s", group.name)).and_then(|s| s.parse().ok()) {
            return (group, id);
        }
    }
    panic!("broker node {node_name} belongs to no group (the directory is built from the groups)");
}
