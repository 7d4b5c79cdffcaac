//! Marks on the timeline scrubber: scenario actions, the user's actions, and notable observations.
//!
//! Observation marks are collected as the run explores time. A rewind does not forget them (the
//! run is deterministic, so the explored future happens again), a fork does: marks after the fork
//! instant are dropped and collected anew.

use std::collections::{BTreeMap, BTreeSet};

use rmqsim_core::action_log::UserAction;
use rmqsim_core::check::Verdicts;
use rmqsim_core::message_queue::MessageQueue;
use rmqsim_core::observation::{BrokerRemovalReason, Observation, SendOutcome};
use rmqsim_core::scenario::model::CrashKindSpec;
use rmqsim_core::scenario::{ActionSpec, Scenario};
use rmqsim_core::time::Time;
use rmqsim_core::Simulation;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MarkerKind {
    /// An action the scenario file schedules.
    Scenario,
    /// An action the user took.
    User,
    /// Something a node reported (a broker removed from routes, a failed send...).
    Observed,
    /// A new leader or master, or a new role of a replica.
    Leader,
    /// A consumer group's queues were shared out differently.
    Rebalance,
    /// A checker found a violation (a lost, duplicated or reordered message...) caused here.
    Violation,
}

impl MarkerKind {
    pub fn css(self) -> &'static str {
        match self {
            MarkerKind::Scenario => "scenario",
            MarkerKind::User => "user",
            MarkerKind::Observed => "observed",
            MarkerKind::Leader => "leader",
            MarkerKind::Rebalance => "rebalance",
            MarkerKind::Violation => "violation",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Marker {
    pub at: Time,
    pub kind: MarkerKind,
    pub label: MarkLabel,
}

/// What a mark stands for; put into words in the current language when shown (`Texts::describe`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MarkLabel {
    /// An action: its words, or (for actions added later) its JSON.
    Action(Result<Words, String>),
    /// A node reported something notable.
    Seen { node: String, what: Seen },
}

/// An action in structured words: the verb (translated when shown) and its operands.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Words {
    pub verb: Verb,
    pub operands: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verb {
    Kill,
    PowerLoss,
    DiskLoss,
    Restart,
    Shutdown,
    Partition,
    Heal,
    HealAll,
    Hold,
    Release,
    Clog,
    SlowDisk,
    AddConsumer,
    RemoveConsumer,
    ResetOffset,
    Seek,
    UpdateTopicQueues,
    DependencyDown,
    DependencyUp,
    UpdateConsumerConfig,
    UpdateBrokerConfig,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Removal {
    Expired,
    ChannelClosed,
    Unregistered,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Seen {
    BrokerRemoved {
        broker: String,
        reason: Removal,
    },
    SendFailed {
        exception: String,
    },
    Abandoned {
        reason: String,
    },
    TopicCreated {
        topic: String,
    },
    /// A broker or DLedger member took a role (`MASTER`, `LEADER`...).
    RoleChanged {
        broker: String,
        role: String,
    },
    /// The queues of `group` on `topic` were shared out differently among its consumers.
    Rebalanced {
        group: String,
        topic: String,
    },
    /// A checker's verdict (`lost_acknowledged`, `duplicates`...) with the event that caused it.
    Violation {
        metric: String,
    },
}

impl Seen {
    /// The kind of mark this observation makes.
    pub fn kind(&self) -> MarkerKind {
        match self {
            Seen::RoleChanged { .. } => MarkerKind::Leader,
            Seen::Rebalanced { .. } => MarkerKind::Rebalance,
            Seen::Violation { .. } => MarkerKind::Violation,
            _ => MarkerKind::Observed,
        }
    }
}

/// An action as a verb and its operands (`kill` `broker-a`, `partition` `broker-a ↔ namesrv-0`), or
/// its JSON for actions added later.
pub fn action_words(action: &ActionSpec) -> Result<Words, String> {
    let arrow = |both: bool| if both { "↔" } else { "→" };
    let words = |verb, operands: String| Ok(Words { verb, operands });
    #[allow(unreachable_patterns)]
    match action {
        ActionSpec::Crash { node, kind } => {
            let verb = match kind {
                CrashKindSpec::ProcessKill => Verb::Kill,
                CrashKindSpec::PowerLoss => Verb::PowerLoss,
                CrashKindSpec::DiskLoss => Verb::DiskLoss,
            };
            words(verb, node.clone())
        }
        ActionSpec::Restart { node } => words(Verb::Restart, node.clone()),
        ActionSpec::Shutdown { node } => words(Verb::Shutdown, node.clone()),
        ActionSpec::Partition { from, to, both_ways } => {
            words(Verb::Partition, format!("{} {} {}", from.join(","), arrow(*both_ways), to.join(",")))
        }
        ActionSpec::Heal { from, to, both_ways } => {
            words(Verb::Heal, format!("{} {} {}", from.join(","), arrow(*both_ways), to.join(",")))
        }
        ActionSpec::HealAll => words(Verb::HealAll, String::new()),
        ActionSpec::Hold { from, to } => words(Verb::Hold, format!("{from} → {to}")),
        ActionSpec::Release { from, to } => words(Verb::Release, format!("{from} → {to}")),
        ActionSpec::Clog { from, to, extra } => words(Verb::Clog, format!("{from} → {to} +{extra}")),
        ActionSpec::SlowDisk { node, factor } => words(Verb::SlowDisk, format!("{node} ×{factor}")),
        ActionSpec::AddConsumer { group } => words(Verb::AddConsumer, group.clone()),
        ActionSpec::RemoveConsumer { node } => words(Verb::RemoveConsumer, node.clone()),
        ActionSpec::ResetOffset { group, topic, to } => words(Verb::ResetOffset, format!("{group} {topic} → {to}")),
        ActionSpec::Seek { node, topic, to } => words(Verb::Seek, format!("{node} {topic} → {to}")),
        ActionSpec::UpdateTopicQueues { topic, queues } => {
            words(Verb::UpdateTopicQueues, format!("{topic} = {queues}"))
        }
        ActionSpec::DependencyDown { group, timeout } => words(Verb::DependencyDown, format!("{group} ({timeout})")),
        ActionSpec::DependencyUp { group } => words(Verb::DependencyUp, group.clone()),
        ActionSpec::UpdateConsumerConfig { group, key, value } => {
            words(Verb::UpdateConsumerConfig, format!("{group} {key} = {value}"))
        }
        ActionSpec::UpdateBrokerConfig { node, key, value } => {
            words(Verb::UpdateBrokerConfig, format!("{node} {key} = {value}"))
        }
        other => Err(serde_json::to_string(other).unwrap_or_default()),
    }
}

/// A notable observation, or None for routine ones.
fn notable(observation: &Observation) -> Option<Seen> {
    #[allow(unreachable_patterns)]
    match observation {
        Observation::BrokerRemoved { broker_name, reason, .. } => Some(Seen::BrokerRemoved {
            broker: broker_name.clone(),
            reason: match reason {
                BrokerRemovalReason::Expired => Removal::Expired,
                BrokerRemovalReason::ChannelClosed => Removal::ChannelClosed,
                BrokerRemovalReason::Unregistered => Removal::Unregistered,
            },
        }),
        Observation::SendCompleted { outcome: SendOutcome::Failed { exception, .. }, .. } => {
            Some(Seen::SendFailed { exception: exception.clone() })
        }
        Observation::MessagesAbandoned { reason, .. } => Some(Seen::Abandoned { reason: reason.clone() }),
        Observation::TopicAutoCreated { topic, .. } => Some(Seen::TopicCreated { topic: topic.clone() }),
        Observation::BrokerRoleChanged { broker_name, role, .. } => {
            Some(Seen::RoleChanged { broker: broker_name.clone(), role: role.clone() })
        }
        // Candidates and followers come and go during an election; a leader is the news.
        Observation::DLedgerRoleChanged { group, role, .. } if role == "LEADER" => {
            Some(Seen::RoleChanged { broker: group.clone(), role: role.clone() })
        }
        Observation::MasterElected { broker_name, master_id: Some(_), .. } => {
            Some(Seen::RoleChanged { broker: broker_name.clone(), role: "MASTER".to_string() })
        }
        _ => None,
    }
}

/// Observation marks collected over the explored run, deduplicated per (second, node, what).
#[derive(Clone, Debug, Default)]
pub struct ObservedMarks {
    marks: BTreeSet<(u64, String, Seen)>,
    /// How many of the live simulation's observations were scanned.
    scanned: usize,
    /// The queues each (group, client id, topic) was last seen to own: a rebalance is a change.
    allocations: BTreeMap<(String, String, String), Vec<MessageQueue>>,
    /// Violation marks, from the checkers' verdicts (taken while the run is paused).
    violations: BTreeSet<(u64, String, Seen)>,
}

/// At most this many observation marks: a dense run keeps the earliest.
const MAX_OBSERVED: usize = 400;

impl ObservedMarks {
    /// Scan the observations the live simulation made since the last call.
    pub fn refresh(&mut self, simulation: &Simulation) {
        let observations = simulation.observations();
        if observations.len() < self.scanned {
            // Rewound: rescan from the start of what is now there (marks are deduplicated). What
            // consumers owned before that start is unknown: their first allocation is not a change.
            self.scanned = 0;
            self.allocations.clear();
        }
        for observed in observations.iter_from(self.scanned) {
            if self.marks.len() >= MAX_OBSERVED {
                break;
            }
            let second = observed.time.as_micros() / 1_000_000;
            let node = || simulation.directory().entries.get(observed.node.index()).map_or("", |e| e.name.as_str());
            if let Some(what) = notable(&observed.observation) {
                self.marks.insert((second, node().to_string(), what));
            } else if let Observation::RebalanceAllocated { group, client_id, topic, allocated, .. } =
                &observed.observation
            {
                let key = (group.clone(), client_id.clone(), topic.clone());
                let changed = self.allocations.get(&key).is_some_and(|before| before != allocated);
                self.allocations.insert(key, allocated.clone());
                // One mark per group and topic: every consumer of the group takes its new share then.
                if changed && !topic.starts_with("%RETRY%") {
                    let what = Seen::Rebalanced { group: group.clone(), topic: topic.clone() };
                    self.marks.insert((second, String::new(), what));
                }
            }
        }
        self.scanned = observations.len();
    }

    /// Mark where each violation the checkers found so far was caused (one mark per second, node
    /// and kind). Verdicts cost an audit of the brokers: callers take them while the run is paused.
    pub fn note_violations(&mut self, verdicts: &Verdicts) {
        for violation in &verdicts.violations {
            if self.violations.len() >= MAX_OBSERVED {
                break;
            }
            self.violations.insert((
                violation.cause.time.as_micros() / 1_000_000,
                violation.cause_node.clone(),
                Seen::Violation { metric: violation.kind.metric().to_string() },
            ));
        }
    }

    /// Forget the marks after `at` (a fork replaced that future).
    pub fn forget_after(&mut self, at: Time) {
        let second = at.as_micros() / 1_000_000;
        self.marks.retain(|(s, _, _)| *s <= second);
        self.violations.retain(|(s, _, _)| *s <= second);
        self.scanned = 0;
        self.allocations.clear();
    }

    pub fn iter(&self) -> impl Iterator<Item = Marker> + '_ {
        self.marks.iter().chain(&self.violations).map(|(second, node, what)| Marker {
            at: Time::from_secs(*second),
            kind: what.kind(),
            label: MarkLabel::Seen { node: node.clone(), what: what.clone() },
        })
    }
}

/// Every mark, in time order.
pub fn all_markers(scenario: &Scenario, log: &[UserAction], observed: &ObservedMarks) -> Vec<Marker> {
    let action = |at, kind, action: &ActionSpec| Marker { at, kind, label: MarkLabel::Action(action_words(action)) };
    let mut markers: Vec<Marker> = scenario
        .actions
        .iter()
        .map(|a| action(Scenario::action_time(a), MarkerKind::Scenario, &a.action))
        .chain(log.iter().map(|u| action(u.at, MarkerKind::User, &u.action)))
        .chain(observed.iter())
        .collect();
    markers.sort();
    markers
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmqsim_core::scenario::library;

    #[test]
    fn an_expired_broker_becomes_a_mark_and_a_fork_forgets_it() {
        let scenario = Scenario::parse("broker-heartbeats", library::find("broker-heartbeats").unwrap()).unwrap();
        let mut simulation = Simulation::new(&scenario, 1).unwrap();
        simulation.run_until(Time::from_secs(300));
        let mut observed = ObservedMarks::default();
        observed.refresh(&simulation);
        let markers = all_markers(&scenario, &[], &observed);
        assert!(markers.iter().any(|m| m.kind == MarkerKind::Scenario), "{markers:?}");
        assert!(
            markers.iter().any(|m| matches!(&m.label, MarkLabel::Seen { what: Seen::BrokerRemoved { .. }, .. })),
            "{markers:?}"
        );
        observed.forget_after(Time::ZERO);
        assert_eq!(observed.iter().count(), 0);
    }

    #[test]
    fn a_consumer_joining_its_group_marks_a_rebalance_and_a_rewind_does_not_invent_one() {
        let scenario =
            Scenario::parse("consumer-rebalance-join", library::find("consumer-rebalance-join").unwrap()).unwrap();
        let mut simulation = Simulation::new(&scenario, 1).unwrap();
        simulation.run_until(Time::ZERO + scenario.run_for());
        let mut observed = ObservedMarks::default();
        observed.refresh(&simulation);
        let rebalances: Vec<Marker> = observed.iter().filter(|m| m.kind == MarkerKind::Rebalance).collect();
        assert!(!rebalances.is_empty(), "{:?}", observed.iter().collect::<Vec<_>>());
        assert!(rebalances.iter().all(|m| m.at > Time::ZERO), "the first allocation is not a change: {rebalances:?}");
        // The same observations scanned again after a rewind add nothing.
        let before = observed.iter().count();
        observed.scanned = usize::MAX;
        observed.refresh(&simulation);
        assert_eq!(observed.iter().count(), before);
    }

    #[test]
    fn violations_mark_where_they_were_caused() {
        let id = "loss-async-flush-power-loss";
        let scenario = Scenario::parse(id, library::find(id).unwrap()).unwrap();
        let mut simulation = Simulation::new(&scenario, scenario.seed).unwrap();
        simulation.run_until(Time::ZERO + scenario.run_for());
        let mut observed = ObservedMarks::default();
        observed.note_violations(&simulation.verdicts());
        let marks: Vec<Marker> = observed.iter().collect();
        assert!(marks.iter().any(|m| m.kind == MarkerKind::Violation
            && matches!(&m.label, MarkLabel::Seen { what: Seen::Violation { metric }, .. } if metric == "lost_acknowledged")),
            "{marks:?}");
        observed.forget_after(Time::ZERO);
        assert_eq!(observed.iter().count(), 0);
    }

    #[test]
    fn actions_read_in_a_few_words() {
        let power = ActionSpec::Crash { node: "broker-a".into(), kind: CrashKindSpec::PowerLoss };
        assert_eq!(action_words(&power), Ok(Words { verb: Verb::PowerLoss, operands: "broker-a".into() }));
        let cut = ActionSpec::Partition { from: vec!["a".into()], to: vec!["b".into(), "c".into()], both_ways: false };
        assert_eq!(crate::i18n::EN.describe_action(&cut), "partition a → b,c");
        assert_eq!(crate::i18n::ZH.describe_action(&power), "断电 broker-a");
    }
}
