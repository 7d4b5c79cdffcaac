//! The scenario file model (format version 1) and its strict parser.

use serde::{Deserialize, Serialize};

use crate::broker::controller::BrokerConfig;
use crate::broker::store::message_store_config::{BrokerRole, MessageStoreConfig};
use crate::consumer::client::ConsumerKind;
use crate::consumer::config::ConsumerConfig;
use crate::consumer::workload::ConsumerWorkloadSpec;
use crate::name_server::controller::NamesrvConfig;
use crate::producer::config::ProducerConfig;
use crate::producer::workload::WorkloadSpec;
use crate::scenario::duration::parse_duration;
use crate::scenario::ScenarioErrors;
use crate::sim::disk::CrashKind;
use crate::sim::limits::Limits;
use crate::time::{Duration, Time};

pub const FORMAT_VERSION: u32 = 1;

/// A whole scenario file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Format version of the file; only `1` exists.
    pub version: u32,
    /// Short, URL-safe identifier, e.g. `broker-heartbeats`.
    pub id: String,
    /// Default seed of the run.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Default length of the run (virtual time), e.g. `"5m"`.
    #[serde(default = "default_run_for")]
    pub run_for: String,
    pub narrative: Narratives,
    pub topology: Topology,
    #[serde(default)]
    pub network: NetworkSpec,
    #[serde(default)]
    pub limits: Limits,
    /// Producer processes (`producer-0`, ... unless named), each with its client config and workload.
    #[serde(default)]
    pub producers: Vec<ProducerSpecToml>,
    /// Consumer groups: each a set of consumer processes (`<group>-0`, ... unless `name_prefix`).
    #[serde(default)]
    pub consumer_groups: Vec<ConsumerGroupSpec>,
    #[serde(default)]
    pub actions: Vec<TimedAction>,
    /// What the run must show (`lost_acknowledged = 0`, `duplicates = "> 0"`, per group under
    /// `groups.<name>`); `rmqsim check` and the tests assert them.
    #[serde(default)]
    pub expectations: crate::check::expectation::ExpectationsSpec,
    /// A question to predict before running, graded by one verdict of the run.
    #[serde(default)]
    pub quiz: Option<crate::check::expectation::QuizSpec>,
}

/// One producer process of a scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProducerSpecToml {
    /// Node name; `producer-<index>` when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// `DefaultMQProducer` / `ClientConfig` keys, RocketMQ's spelling.
    #[serde(default)]
    pub config: ProducerConfig,
    /// What the application sends; a producer without one only refreshes routes and heartbeats.
    #[serde(default)]
    pub workload: Option<WorkloadSpec>,
}

/// One consumer group of a scenario: its members' client config, subscriptions and application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerGroupSpec {
    /// `consumerGroup`.
    pub group: String,
    /// `push` (DefaultMQPushConsumer) or `lite_pull` (DefaultLitePullConsumer).
    #[serde(default)]
    pub kind: ConsumerKind,
    /// A `MessageListenerOrderly` (push consumers only).
    #[serde(default)]
    pub orderly: bool,
    /// Consumers started with the run.
    #[serde(default = "one_member")]
    pub members: u32,
    /// More consumers declared but not started: `add_consumer` starts them one by one.
    #[serde(default)]
    pub standby: u32,
    /// Node names are `<name_prefix>-<i>`; the group name when absent.
    #[serde(default)]
    pub name_prefix: Option<String>,
    /// When the members start, e.g. "10s" (all at once).
    #[serde(default)]
    pub start_at: Option<String>,
    pub subscriptions: Vec<SubscriptionSpec>,
    /// `DefaultMQPushConsumer` / `DefaultLitePullConsumer` / `ClientConfig` keys, RocketMQ's spelling.
    #[serde(default)]
    pub config: ConsumerConfig,
    #[serde(default)]
    pub workload: ConsumerWorkloadSpec,
}

/// `subscribe(topic, subExpression)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionSpec {
    pub topic: String,
    #[serde(default = "sub_all")]
    pub expression: String,
    /// `TAG` (the default: `*`, `TagA || TagB`) or `SQL92` (`MessageSelector.bySql`, needs the broker's
    /// `enablePropertyFilter`).
    #[serde(default = "tag_type")]
    pub expression_type: String,
}

fn tag_type() -> String {
    "TAG".into()
}

fn one_member() -> u32 {
    1
}

fn sub_all() -> String {
    "*".into()
}

impl ConsumerGroupSpec {
    /// Node names of the members, then of the standby consumers.
    pub fn node_names(&self) -> Vec<String> {
        let prefix = self.name_prefix.clone().unwrap_or_else(|| self.group.clone());
        (0..self.members + self.standby).map(|i| format!("{prefix}-{i}")).collect()
    }

    /// When the members start.
    pub fn start_time(&self) -> Time {
        Time::ZERO + self.start_at.as_deref().and_then(|t| parse_duration(t).ok()).unwrap_or(Duration::ZERO)
    }
}

fn default_seed() -> u64 {
    1
}

fn default_run_for() -> String {
    "5m".into()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Narratives {
    pub en: Narrative,
    pub zh: Narrative,
}

/// What the student reads: the question, what to watch, the explanation and what is modelled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Narrative {
    pub title: String,
    pub question: String,
    pub watch: String,
    pub explanation: String,
    pub fidelity: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// Number of NameServers, named `namesrv-0`, `namesrv-1`, ...
    pub name_servers: u32,
    #[serde(default, rename = "namesrv_config")]
    pub namesrv_config: NamesrvConfig,
    #[serde(default)]
    pub broker_groups: Vec<BrokerGroupSpec>,
    #[serde(default)]
    pub topics: Vec<TopicSpec>,
    /// 5.x controller mode: how many controllers (`controller-0`, ...; one is modelled, more are refused).
    #[serde(default)]
    pub controllers: u32,
    /// 5.x `ControllerConfig` keys (`enableElectUncleanMaster`, ...).
    #[serde(default)]
    pub controller_config: crate::controller::ControllerConfig,
}

/// One broker group (`brokerName`): a master and its slaves, named `<name>` and `<name>-s<id>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerGroupSpec {
    pub name: String,
    #[serde(default)]
    pub slaves: u32,
    #[serde(default)]
    pub config: BrokerConfig,
    /// `MessageStoreConfig` keys (`flushDiskType`, `brokerRole`, ...); slaves always run as SLAVE.
    #[serde(default)]
    pub store: MessageStoreConfig,
    /// The NameServers this group registers with (`namesrvAddr` of its brokers); all of them when
    /// absent. Two groups with disjoint lists are two clusters.
    #[serde(default)]
    pub name_servers: Option<Vec<String>>,
}

impl BrokerGroupSpec {
    /// How many broker nodes the group has: the master and its slaves, or a DLedger group's members
    /// (3 when `slaves` is not given).
    pub fn replica_count(&self) -> u32 {
        if self.store.enable_dleger_commit_log && self.slaves == 0 {
            3
        } else {
            1 + self.slaves
        }
    }

    /// The group's node names: `<name>`, then `<name>-s1`, `<name>-s2`, ... (in DLedger and 5.x controller
    /// mode the roles move; the names stay).
    pub fn node_names(&self) -> Vec<String> {
        let mut names = vec![self.name.clone()];
        names.extend((1..self.replica_count()).map(|id| format!("{}-s{id}", self.name)));
        names
    }

    /// How the group replicates.
    pub fn replication_mode(&self) -> crate::broker::ha::ReplicationMode {
        if self.store.enable_dleger_commit_log {
            crate::broker::ha::ReplicationMode::DLedger
        } else if self.config.enable_controller_mode {
            crate::broker::ha::ReplicationMode::Controller
        } else {
            crate::broker::ha::ReplicationMode::Classic
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    pub name: String,
    #[serde(default = "default_queues")]
    pub queues: u32,
    /// Broker groups that host the topic; all of them when absent.
    #[serde(default)]
    pub brokers: Option<Vec<String>>,
    /// `TopicConfig.perm` (`mqadmin updateTopic -p`): 6 read and write, 4 read only, 2 write only.
    #[serde(default = "default_topic_perm")]
    pub perm: u32,
}

fn default_queues() -> u32 {
    4
}

fn default_topic_perm() -> u32 {
    crate::route::perm::READ | crate::route::perm::WRITE
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSpec {
    pub latency_us: u64,
    pub jitter_us: u64,
}

impl Default for NetworkSpec {
    fn default() -> Self {
        NetworkSpec { latency_us: 200, jitter_us: 100 }
    }
}

/// An action at a virtual instant. (Unknown keys are rejected by `ActionSpec`, which receives
/// every key but `at`: serde cannot deny unknown fields on a struct with a flattened field.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimedAction {
    /// When, e.g. `"60s"`.
    pub at: String,
    #[serde(flatten)]
    pub action: ActionSpec,
}

/// What a scenario (or a click) can do, by node names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum ActionSpec {
    Crash {
        node: String,
        kind: CrashKindSpec,
    },
    Restart {
        node: String,
    },
    Partition {
        from: Vec<String>,
        to: Vec<String>,
        #[serde(default = "yes")]
        both_ways: bool,
    },
    Heal {
        from: Vec<String>,
        to: Vec<String>,
        #[serde(default = "yes")]
        both_ways: bool,
    },
    HealAll,
    Hold {
        from: String,
        to: String,
    },
    Release {
        from: String,
        to: String,
    },
    Clog {
        from: String,
        to: String,
        extra: String,
    },
    SlowDisk {
        node: String,
        factor: u64,
    },
    /// A graceful shutdown (`mqshutdown broker`): the broker unregisters from every NameServer, then its
    /// process ends a second later.
    Shutdown {
        node: String,
    },
    /// Start the next standby consumer of a group (scale out).
    AddConsumer {
        group: String,
    },
    /// Shut a consumer down gracefully (`consumer.shutdown()`: it may wait for its consume threads
    /// (`awaitTerminationMillisWhenShutdown`), then persists offsets and unregisters; the process ends
    /// a second after shutdown() returns).
    RemoveConsumer {
        node: String,
    },
    /// `mqadmin resetOffsetByTime`: `to` is "earliest", "latest" or a virtual instant ("90s").
    ResetOffset {
        group: String,
        topic: String,
        to: String,
    },
    /// A lite pull consumer's application seeks every assigned queue of `topic`: `to` is "begin", "end"
    /// or an offset.
    Seek {
        node: String,
        topic: String,
        to: String,
    },
    /// `mqadmin updateTopic -r N -w N` on every broker hosting the topic.
    UpdateTopicQueues {
        topic: String,
        queues: u32,
    },
    /// The consumer group's business dependency (its database) goes down: every listener call fails
    /// after `timeout` (RECONSUME_LATER) until `dependency_up`. It lives outside the consumers, so a
    /// restarted consumer finds it down too.
    DependencyDown {
        group: String,
        #[serde(default = "three_seconds")]
        timeout: String,
    },
    /// The consumer group's business dependency is back.
    DependencyUp {
        group: String,
    },
    /// A consumer setter RocketMQ applies while running (`pullBatchSize`, `pullInterval`,
    /// `consumeMessageBatchMaxSize`, `pullThresholdForQueue`; see `consumer/live.rs`), called on every
    /// running member of the group. A restarted member starts from its configured value again.
    UpdateConsumerConfig {
        group: String,
        key: String,
        value: String,
    },
    /// `mqadmin updateBrokerConfig -b <node> -k brokerPermission -v 6|4|2` on one broker (see
    /// `broker/admin_broker_processor.rs`).
    UpdateBrokerConfig {
        node: String,
        key: String,
        value: String,
    },
}

fn three_seconds() -> String {
    "3s".into()
}

fn yes() -> bool {
    true
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrashKindSpec {
    ProcessKill,
    PowerLoss,
    DiskLoss,
}

impl From<CrashKindSpec> for CrashKind {
    fn from(kind: CrashKindSpec) -> CrashKind {
        match kind {
            CrashKindSpec::ProcessKill => CrashKind::ProcessKill,
            CrashKindSpec::PowerLoss => CrashKind::PowerLoss,
            CrashKindSpec::DiskLoss => CrashKind::DiskLoss,
        }
    }
}

impl Scenario {
    /// Parse and validate a scenario file; every problem found is reported with its location (see
    /// `validate.rs`: syntax, shape and meaning, all at once).
    pub fn parse(source: &str, text: &str) -> Result<Scenario, ScenarioErrors> {
        crate::scenario::validate::parse(source, text)
    }

    /// The default run length as virtual time.
    pub fn run_for(&self) -> Duration {
        parse_duration(&self.run_for).unwrap_or(Duration::from_secs(300))
    }

    /// Names of every node the topology defines, in node-id order.
    pub fn node_names(&self) -> Vec<String> {
        let mut names: Vec<String> = (0..self.topology.name_servers).map(|i| format!("namesrv-{i}")).collect();
        names.extend((0..self.topology.controllers).map(|i| format!("controller-{i}")));
        for group in &self.topology.broker_groups {
            names.extend(group.node_names());
        }
        names.extend(self.producer_names());
        names.extend(self.consumer_names());
        names
    }

    /// Names of the consumer nodes, group by group, in order.
    pub fn consumer_names(&self) -> Vec<String> {
        self.consumer_groups.iter().flat_map(ConsumerGroupSpec::node_names).collect()
    }

    /// Names of the producer nodes, in order.
    pub fn producer_names(&self) -> Vec<String> {
        self.producers
            .iter()
            .enumerate()
            .map(|(i, p)| p.name.clone().unwrap_or_else(|| format!("producer-{i}")))
            .collect()
    }

    /// Semantic checks beyond the types: versions, ranges, references, limits.
    pub(crate) fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.version != FORMAT_VERSION {
            problems
                .push(format!("version {} is not supported; this build reads version {FORMAT_VERSION}", self.version));
        }
        if self.id.is_empty() || !self.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            problems.push(format!("id `{}` must be lower-case letters, digits and '-'", self.id));
        }
        if let Err(e) = parse_duration(&self.run_for) {
            problems.push(format!("run_for: {e}"));
        }
        if self.topology.controllers > 1 {
            problems
                .push("topology.controllers: one 5.x controller is modelled (not a replicated group of them)".into());
        }
        if self.topology.name_servers == 0 {
            problems.push("topology.name_servers must be at least 1: brokers and clients need a NameServer".into());
        }
        let names = self.node_names();
        if names.len() as u64 > u64::from(self.limits.max_nodes.min(Limits::CEILING.max_nodes)) {
            problems.push(format!(
                "the topology has {} nodes, more than limits.max_nodes = {} (ceiling {})",
                names.len(),
                self.limits.max_nodes,
                Limits::CEILING.max_nodes
            ));
        }
        if self.limits.max_events > Limits::CEILING.max_events
            || self.limits.max_in_flight > Limits::CEILING.max_in_flight
        {
            problems.push(format!("limits may not exceed {:?}", Limits::CEILING));
        }
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                problems.push(format!("two nodes are named `{name}`; broker group names must be unique"));
            }
        }
        for topic in &self.topology.topics {
            if !(1..=1024).contains(&topic.queues) {
                problems.push(format!("topic `{}`: queues = {} is out of range 1..=1024", topic.name, topic.queues));
            }
            if ![2, 4, 6].contains(&topic.perm) {
                problems.push(format!(
                    "topic `{}`: perm = {} is not 6 (read and write), 4 (read only) or 2 (write only)",
                    topic.name, topic.perm
                ));
            }
            for broker in topic.brokers.iter().flatten() {
                if !self.topology.broker_groups.iter().any(|g| &g.name == broker) {
                    problems.push(format!("topic `{}` names unknown broker group `{broker}`", topic.name));
                }
            }
        }
        for group in &self.topology.broker_groups {
            for ns in group.name_servers.iter().flatten() {
                if !(0..self.topology.name_servers).any(|i| format!("namesrv-{i}") == *ns) {
                    problems
                        .push(format!("broker group `{}`: name_servers names unknown NameServer `{ns}`", group.name));
                }
            }
            for problem in group.config.problems() {
                problems.push(format!("broker group `{}`: {problem}", group.name));
            }
            if let Err(errors) = group.store.validate() {
                for e in errors {
                    problems.push(format!("broker group `{}` store: {e}", group.name));
                }
            }
            if group.config.enable_controller_mode && self.topology.controllers == 0 {
                problems.push(format!(
                    "broker group `{}`: enableControllerMode (5.x) needs topology.controllers = 1",
                    group.name
                ));
            }
            if group.config.enable_controller_mode && group.store.enable_dleger_commit_log {
                problems.push(format!(
                    "broker group `{}`: choose enableControllerMode (5.x) or enableDLegerCommitLog, not both",
                    group.name
                ));
            }
            if group.store.broker_role == BrokerRole::Slave {
                problems.push(format!(
                    "broker group `{}` store: brokerRole = SLAVE on a master; slaves are the group's `-s<n>` nodes",
                    group.name
                ));
            }
        }
        let name_server_names: Vec<String> = (0..self.topology.name_servers).map(|i| format!("namesrv-{i}")).collect();
        for (producer, name) in self.producers.iter().zip(self.producer_names()) {
            for problem in producer.config.problems() {
                problems.push(format!("producer `{name}`: {problem}"));
            }
            for ns in producer.config.namesrv_addr.iter().flatten() {
                if !name_server_names.contains(ns) {
                    problems.push(format!(
                        "producer `{name}`: namesrvAddr names unknown NameServer `{ns}`; known: {}",
                        name_server_names.join(", ")
                    ));
                }
            }
            if let Some(workload) = &producer.workload {
                for problem in workload.problems() {
                    problems.push(format!("producer `{name}`: {problem}"));
                }
            }
        }
        for group in &self.consumer_groups {
            let at = format!("consumer group `{}`", group.group);
            if group.group.is_empty()
                || group.group.len() > 120
                || crate::broker::topic_validator::is_topic_or_group_illegal(&group.group)
            {
                problems.push(format!("{at}: the group name must be 1..=120 characters of [%|a-zA-Z0-9_-]"));
            }
            if group.members + group.standby == 0 || group.members + group.standby > 64 {
                problems.push(format!("{at}: members + standby must be in 1..=64"));
            }
            if group.subscriptions.is_empty() {
                problems.push(format!("{at}: subscribe at least one topic"));
            }
            if group.orderly && group.kind != ConsumerKind::Push {
                problems.push(format!("{at}: orderly consumption needs a push consumer"));
            }
            if let Some(Err(e)) = group.start_at.as_deref().map(parse_duration) {
                problems.push(format!("{at}.start_at: {e}"));
            }
            for sub in &group.subscriptions {
                if let Err(e) = crate::broker::topic_validator::check_topic_client(&sub.topic) {
                    problems.push(format!("{at}: subscription topic: {e}"));
                }
                if let Err(e) = crate::filter::validate_expression(&sub.expression, &sub.expression_type) {
                    problems.push(format!("{at}: subscription of `{}`: {e}", sub.topic));
                }
            }
            for problem in group.config.problems() {
                problems.push(format!("{at}: {problem}"));
            }
            for problem in group.workload.problems() {
                problems.push(format!("{at}: {problem}"));
            }
            if let Some(target) = &group.workload.forward_to {
                let topics: Vec<&str> = self.topology.topics.iter().map(|t| t.name.as_str()).collect();
                if !topics.contains(&target.as_str()) {
                    problems.push(format!(
                        "{at}: workload.forward_to names unknown topic `{target}`; declare it under [[topology.topics]] \
                         (known: {})",
                        topics.join(", ")
                    ));
                }
                if group.subscriptions.iter().any(|s| &s.topic == target) {
                    problems.push(format!(
                        "{at}: workload.forward_to = `{target}` is a topic the group subscribes: every copy would be \
                         forwarded again; forward to a new topic"
                    ));
                }
                if group.kind != ConsumerKind::Push || group.orderly {
                    problems.push(format!(
                        "{at}: workload.forward_to is modelled for push consumers with a concurrent listener \
                         (not lite_pull, not orderly)"
                    ));
                }
            }
            for ns in group.config.namesrv_addr.iter().flatten() {
                if !name_server_names.contains(ns) {
                    problems.push(format!("{at}: namesrvAddr names unknown NameServer `{ns}`"));
                }
            }
        }
        for (index, action) in self.actions.iter().enumerate() {
            let at = format!("actions[{index}]");
            if let Err(e) = parse_duration(&action.at) {
                problems.push(format!("{at}.at: {e}"));
            }
            for node in action.action.node_names() {
                if !names.iter().any(|n| n == node) {
                    problems.push(format!("{at}: unknown node `{node}`; known nodes: {}", names.join(", ")));
                }
            }
            if let ActionSpec::Clog { extra, .. } = &action.action {
                if let Err(e) = parse_duration(extra) {
                    problems.push(format!("{at}.extra: {e}"));
                }
            }
            if let Some(group) = action.action.consumer_group() {
                if !self.consumer_groups.iter().any(|g| g.group == group) {
                    problems.push(format!("{at}: unknown consumer group `{group}`"));
                }
            }
            if let ActionSpec::DependencyDown { timeout, .. } = &action.action {
                if let Err(e) = crate::consumer::live::parse_dependency_timeout(timeout) {
                    problems.push(format!("{at}.{e}"));
                }
            }
            if let ActionSpec::UpdateBrokerConfig { key, value, .. } = &action.action {
                if let Err(e) = crate::broker::admin_broker_processor::parse_live_broker_config(key, value) {
                    problems.push(format!("{at}.{e}"));
                }
            }
            if let ActionSpec::UpdateConsumerConfig { key, value, .. } = &action.action {
                if let Err(e) = crate::consumer::live::LiveConsumerKnob::parse(key, value) {
                    problems.push(format!("{at}.{e}"));
                }
            }
            if let ActionSpec::ResetOffset { to, .. } = &action.action {
                if to != "earliest" && to != "latest" && parse_duration(to).is_err() {
                    problems.push(format!("{at}.to: `{to}` is not \"earliest\", \"latest\" or a time like \"90s\""));
                }
            }
            if let ActionSpec::Seek { to, .. } = &action.action {
                if to != "begin" && to != "end" && to.parse::<u64>().is_err() {
                    problems.push(format!("{at}.to: `{to}` is not \"begin\", \"end\" or an offset"));
                }
            }
            if let ActionSpec::UpdateTopicQueues { queues, .. } = &action.action {
                if !(1..=1024).contains(queues) {
                    problems.push(format!("{at}.queues must be in 1..=1024"));
                }
            }
        }
        problems
    }

    /// When each action happens (validated, so parsing cannot fail here).
    pub fn action_time(action: &TimedAction) -> Time {
        Time::ZERO + parse_duration(&action.at).unwrap_or(Duration::ZERO)
    }
}

impl ActionSpec {
    /// The consumer group an action names, if it names one.
    pub fn consumer_group(&self) -> Option<&str> {
        match self {
            ActionSpec::AddConsumer { group }
            | ActionSpec::ResetOffset { group, .. }
            | ActionSpec::DependencyDown { group, .. }
            | ActionSpec::DependencyUp { group }
            | ActionSpec::UpdateConsumerConfig { group, .. } => Some(group),
            _ => None,
        }
    }

    pub fn node_names(&self) -> Vec<&str> {
        match self {
            ActionSpec::Crash { node, .. }
            | ActionSpec::Restart { node }
            | ActionSpec::SlowDisk { node, .. }
            | ActionSpec::Shutdown { node }
            | ActionSpec::RemoveConsumer { node }
            | ActionSpec::UpdateBrokerConfig { node, .. }
            | ActionSpec::Seek { node, .. } => vec![node],
            ActionSpec::AddConsumer { .. }
            | ActionSpec::ResetOffset { .. }
            | ActionSpec::UpdateTopicQueues { .. }
            | ActionSpec::DependencyDown { .. }
            | ActionSpec::DependencyUp { .. }
            | ActionSpec::UpdateConsumerConfig { .. } => vec![],
            ActionSpec::Partition { from, to, .. } | ActionSpec::Heal { from, to, .. } => {
                from.iter().chain(to).map(String::as_str).collect()
            }
            ActionSpec::HealAll => vec![],
            ActionSpec::Hold { from, to } | ActionSpec::Release { from, to } | ActionSpec::Clog { from, to, .. } => {
                vec![from, to]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::library;

    #[test]
    fn every_built_in_scenario_parses() {
        for (id, text) in library::SCENARIOS {
            let scenario = Scenario::parse(id, text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(&scenario.id, id);
        }
    }

    #[test]
    fn an_unknown_key_is_reported_with_its_line_and_column() {
        let text =
            library::find("broker-heartbeats").unwrap().replacen("[topology]", "[topology]\nname_serverz = 2", 1);
        let errors = Scenario::parse("x.toml", &text).unwrap_err();
        let e = &errors.0[0];
        assert!(e.message.contains("name_serverz"), "{e}");
        assert!(e.line.is_some() && e.column.is_some());
    }

    fn with_forwarding(forward_to: &str) -> String {
        library::find("consumer-backlog").unwrap().replacen(
            "[consumer_groups.workload]\nprocessing_time = \"400ms\"",
            &format!("[consumer_groups.workload]\nprocessing_time = \"400ms\"\nforward_to = \"{forward_to}\""),
            1,
        )
    }

    #[test]
    fn forwarding_to_an_unknown_topic_is_an_error_at_the_key_naming_the_known_topics() {
        let text = with_forwarding("TopicNew");
        let errors = Scenario::parse("x.toml", &text).unwrap_err();
        assert_eq!(errors.0.len(), 1, "{errors}");
        let e = &errors.0[0];
        assert!(
            e.message.starts_with("consumer group `Scale`: workload.forward_to names unknown topic `TopicNew`"),
            "{e}"
        );
        assert!(e.message.contains("known: TopicTest"), "{e}");
        assert_eq!(e.line, Some(text.lines().position(|l| l.contains("forward_to")).unwrap() as u32 + 1), "{e}");
    }

    #[test]
    fn forwarding_to_the_groups_own_topic_is_an_error_at_the_key() {
        let text = with_forwarding("TopicTest");
        let errors = Scenario::parse("x.toml", &text).unwrap_err();
        assert_eq!(errors.0.len(), 1, "{errors}");
        let e = &errors.0[0];
        assert!(e.message.contains("workload.forward_to = `TopicTest` is a topic the group subscribes"), "{e}");
        assert_eq!(e.line, Some(text.lines().position(|l| l.contains("forward_to")).unwrap() as u32 + 1), "{e}");
    }

    #[test]
    fn forwarding_from_an_orderly_or_commit_before_process_listener_is_refused() {
        let text = format!(
            "{}\n[[topology.topics]]\nname = \"TopicNew\"\n",
            with_forwarding("TopicNew")
                .replacen("name_prefix = \"scale\"", "name_prefix = \"scale\"\norderly = true", 1)
                .replacen("forward_to", "commit_before_process = true\nforward_to", 1)
        );
        let errors = Scenario::parse("x.toml", &text).unwrap_err().to_string();
        assert!(
            errors.contains("workload.forward_to is modelled for push consumers with a concurrent listener"),
            "{errors}"
        );
        assert!(errors.contains("cannot also commit_before_process"), "{errors}");
    }

    #[test]
    fn a_reference_to_an_unknown_node_is_an_error_naming_the_known_ones() {
        let text = format!(
            "{}\n[[actions]]\nat = \"1s\"\ndo = \"restart\"\nnode = \"broker-z\"\n",
            library::find("broker-heartbeats").unwrap()
        );
        let errors = Scenario::parse("x.toml", &text).unwrap_err();
        assert!(errors.to_string().contains("unknown node `broker-z`"), "{errors}");
    }
}
