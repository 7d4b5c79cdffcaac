//! Marks on the timeline scrubber: scenario actions, the user's actions, and notable observations.
//!
//! Observation marks are collected as the run explores time. A rewind does not forget them (the
//! run is deterministic, so the explored future happens again), a fork does: marks after the fork
//! instant are dropped and collected anew.

use std::collections::BTreeSet;

use rmqsim_core::action_log::UserAction;
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
}

impl MarkerKind {
    pub fn css(self) -> &'static str {
        match self {
            MarkerKind::Scenario => "scenario",
            MarkerKind::User => "user",
            MarkerKind::Observed => "observed",
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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Removal {
    Expired,
    ChannelClosed,
    Unregistered,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Seen {
    BrokerRemoved { broker: String, reason: Removal },
    SendFailed { exception: String },
    Abandoned { reason: String },
    TopicCreated { topic: String },
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
        _ => None,
    }
}

/// Observation marks collected over the explored run, deduplicated per (second, node, what).
#[derive(Clone, Debug, Default)]
pub struct ObservedMarks {
    marks: BTreeSet<(u64, String, Seen)>,
    /// How many of the live simulation's observations were scanned.
    scanned: usize,
}

/// At most this many observation marks: a dense run keeps the earliest.
const MAX_OBSERVED: usize = 400;

impl ObservedMarks {
    /// Scan the observations the live simulation made since the last call.
    pub fn refresh(&mut self, simulation: &Simulation) {
        let observations = simulation.observations();
        if observations.len() < self.scanned {
            // Rewound: rescan from the start of what is now there (marks are deduplicated).
            self.scanned = 0;
        }
        for observed in &observations[self.scanned..] {
            if self.marks.len() >= MAX_OBSERVED {
                break;
            }
            if let Some(what) = notable(&observed.observation) {
                let node = simulation.directory().entries.get(observed.node.index()).map_or("", |e| e.name.as_str());
                self.marks.insert((observed.time.as_micros() / 1_000_000, node.to_string(), what));
            }
        }
        self.scanned = observations.len();
    }

    /// Forget the marks after `at` (a fork replaced that future).
    pub fn forget_after(&mut self, at: Time) {
        let second = at.as_micros() / 1_000_000;
        self.marks.retain(|(s, _, _)| *s <= second);
        self.scanned = 0;
    }

    pub fn iter(&self) -> impl Iterator<Item = Marker> + '_ {
        self.marks.iter().map(|(second, node, what)| Marker {
            at: Time::from_secs(*second),
            kind: MarkerKind::Observed,
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
    fn actions_read_in_a_few_words() {
        let power = ActionSpec::Crash { node: "broker-a".into(), kind: CrashKindSpec::PowerLoss };
        assert_eq!(action_words(&power), Ok(Words { verb: Verb::PowerLoss, operands: "broker-a".into() }));
        let cut = ActionSpec::Partition { from: vec!["a".into()], to: vec!["b".into(), "c".into()], both_ways: false };
        assert_eq!(crate::i18n::EN.describe_action(&cut), "partition a → b,c");
        assert_eq!(crate::i18n::ZH.describe_action(&power), "断电 broker-a");
    }
}
