//! Random fault plans for sweeps: one fault per run, drawn from the run's `Faults` stream, so a seed
//! names its fault as well as its run (`rmqsim check X --seed 17 --faults random-single` reproduces
//! what `rmqsim sweep` found).
//!
//! A single fault hits one running node or link somewhere between 10 % and 50 % of the run and is
//! repaired 5 to 30 s later: a process kill, a power loss or a disk loss followed by a restart (a node
//! whose disk is lost restarts empty: a broker replica must get its data back from the others), a
//! partition between two nodes (both ways) then healed, a clogged link then unclogged, or a slow disk
//! then restored. Faults are scheduled as ordinary scenario actions.

use crate::prng::{Concern, Prng, StreamOwner};
use crate::scenario::duration::parse_duration;
use crate::scenario::model::{ActionSpec, CrashKindSpec, Scenario, TimedAction};
use crate::time::Duration;

/// Which faults a sweep adds to each run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultPlan {
    /// The scenario as written.
    None,
    /// One random fault and its repair.
    RandomSingle,
}

impl FaultPlan {
    pub fn parse(text: &str) -> Result<FaultPlan, String> {
        match text {
            "none" => Ok(FaultPlan::None),
            "random-single" => Ok(FaultPlan::RandomSingle),
            other => Err(format!("unknown fault plan `{other}`; use none or random-single")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            FaultPlan::None => "none",
            FaultPlan::RandomSingle => "random-single",
        }
    }

    /// The actions this plan adds to a run of `scenario` with `seed`.
    pub fn actions(self, scenario: &Scenario, seed: u64) -> Vec<TimedAction> {
        match self {
            FaultPlan::None => Vec::new(),
            FaultPlan::RandomSingle => random_single(scenario, seed),
        }
    }

    /// `scenario` with this plan's actions for `seed` appended.
    pub fn apply(self, scenario: &Scenario, seed: u64) -> Scenario {
        let mut scenario = scenario.clone();
        let actions = self.actions(&scenario, seed);
        scenario.actions.extend(actions);
        scenario
    }
}

fn at(time: Duration) -> String {
    format!("{}ms", time.as_micros() / 1_000)
}

/// Nodes running from the start (or started by the time faults may begin): NameServers, brokers,
/// producers, and the members (not the standby) of consumer groups that start early enough.
fn running_nodes(scenario: &Scenario, from: Duration) -> Vec<String> {
    let mut nodes: Vec<String> = (0..scenario.topology.name_servers).map(|i| format!("namesrv-{i}")).collect();
    for group in &scenario.topology.broker_groups {
        nodes.extend(group.node_names());
    }
    nodes.extend(scenario.producer_names());
    for group in &scenario.consumer_groups {
        if group.start_time().as_micros() <= from.as_micros() {
            nodes.extend(group.node_names().into_iter().take(group.members as usize));
        }
    }
    nodes
}

fn broker_nodes(scenario: &Scenario) -> Vec<String> {
    scenario.topology.broker_groups.iter().flat_map(|g| g.node_names()).collect()
}

/// One fault and its repair, drawn from the run's `Faults` stream.
pub fn random_single(scenario: &Scenario, seed: u64) -> Vec<TimedAction> {
    let mut rng = Prng::stream(seed, StreamOwner::Run, Concern::Faults);
    let run = parse_duration(&scenario.run_for).unwrap_or(Duration::from_secs(300)).as_micros();
    let (earliest, latest) = (run / 10, run / 2);
    let start = Duration(rng.between(earliest.min(latest), latest));
    let repair_after = Duration(rng.between(5_000_000, 30_000_000));
    let end = start + repair_after;
    let nodes = running_nodes(scenario, start);
    let brokers = broker_nodes(scenario);
    if nodes.is_empty() {
        return Vec::new();
    }
    let pick = |rng: &mut Prng, list: &[String]| list[rng.below(list.len() as u64) as usize].clone();
    let timed = |time: Duration, action: ActionSpec| TimedAction { at: at(time), action };
    match rng.below(5) {
        0 | 1 => {
            let node = pick(&mut rng, &nodes);
            let kind =
                [CrashKindSpec::ProcessKill, CrashKindSpec::PowerLoss, CrashKindSpec::DiskLoss][rng.below(3) as usize];
            vec![timed(start, ActionSpec::Crash { node: node.clone(), kind }), timed(end, ActionSpec::Restart { node })]
        }
        2 if nodes.len() > 1 => {
            let from = pick(&mut rng, &nodes);
            let others: Vec<String> = nodes.iter().filter(|n| **n != from).cloned().collect();
            let to = pick(&mut rng, &others);
            vec![
                timed(start, ActionSpec::Partition { from: vec![from.clone()], to: vec![to.clone()], both_ways: true }),
                timed(end, ActionSpec::Heal { from: vec![from], to: vec![to], both_ways: true }),
            ]
        }
        3 if nodes.len() > 1 => {
            let from = pick(&mut rng, &nodes);
            let others: Vec<String> = nodes.iter().filter(|n| **n != from).cloned().collect();
            let to = pick(&mut rng, &others);
            let extra = rng.between(50, 2_000);
            vec![
                timed(start, ActionSpec::Clog { from: from.clone(), to: to.clone(), extra: format!("{extra}ms") }),
                timed(end, ActionSpec::Clog { from, to, extra: "0ms".into() }),
            ]
        }
        _ if !brokers.is_empty() => {
            let node = pick(&mut rng, &brokers);
            let factor = rng.between(2, 50);
            vec![
                timed(start, ActionSpec::SlowDisk { node: node.clone(), factor }),
                timed(end, ActionSpec::SlowDisk { node, factor: 1 }),
            ]
        }
        _ => {
            let node = pick(&mut rng, &nodes);
            vec![
                timed(start, ActionSpec::Crash { node: node.clone(), kind: CrashKindSpec::ProcessKill }),
                timed(end, ActionSpec::Restart { node }),
            ]
        }
    }
}

/// A one-line description of a plan's actions, for reports.
pub fn describe(actions: &[TimedAction]) -> String {
    actions
        .iter()
        .map(|a| format!("{} {}", a.at, serde_json::to_string(&a.action).unwrap_or_default()))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::library;

    #[test]
    fn a_seed_names_its_fault_and_faults_vary_with_seeds() {
        let scenario = Scenario::parse("producer-lost-ack", library::find("producer-lost-ack").unwrap()).unwrap();
        let a = random_single(&scenario, 7);
        assert_eq!(a, random_single(&scenario, 7));
        assert_eq!(a.len(), 2);
        let distinct: std::collections::BTreeSet<String> =
            (0..40).map(|s| describe(&random_single(&scenario, s))).collect();
        assert!(distinct.len() > 30);
        let kinds: std::collections::BTreeSet<String> = (0..200)
            .flat_map(|s| random_single(&scenario, s))
            .filter_map(|a| match a.action {
                ActionSpec::Crash { kind, .. } => Some(format!("{kind:?}")),
                _ => None,
            })
            .collect();
        assert_eq!(kinds.len(), 3, "kills, power losses and disk losses are all drawn: {kinds:?}");
        for seed in 0..40 {
            let with = FaultPlan::RandomSingle.apply(&scenario, seed);
            assert!(crate::Simulation::new(&with, seed).is_ok(), "seed {seed}: {}", describe(&with.actions));
        }
    }
}
