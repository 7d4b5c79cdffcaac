//! Every scenario of `scenarios/`, run at its default seed to its `run_for`: it meets its
//! `[expectations]`, its quiz has exactly one right answer, and its trace digest is the one pinned in
//! `scenarios/golden-digests.toml`.
//!
//! A digest changes whenever the simulation changes what happens (or what it records). When that is on
//! purpose, update the pins and say why in the commit:
//!
//! ```sh
//! UPDATE_GOLDEN=1 cargo test --test scenarios
//! ```
//!
//! Scenarios run in parallel, one thread per core, each building its own `Simulation` (it is `!Send`).
//! `backlog-million` (a million messages, about 5 M events) runs only in optimised builds
//! (`cargo test --release --test scenarios`); `rmqsim check backlog-million` checks it from the CLI.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use rmqsim_core::check::{CheckReport, Retention};
use rmqsim_core::scenario::{library, Scenario};
use rmqsim_core::sim::kernel::Stepped;
use rmqsim_core::sim::trace::format_digest;
use rmqsim_core::time::Time;
use rmqsim_core::Simulation;

const GOLDEN_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/golden-digests.toml");
/// Scenarios too big for an unoptimised test build.
const RELEASE_ONLY: &[&str] = &["backlog-million"];

struct Outcome {
    digest: String,
    report: CheckReport,
    halted: Option<String>,
    events: u64,
}

fn skipped(id: &str) -> bool {
    cfg!(debug_assertions) && RELEASE_ONLY.contains(&id)
}

/// Every library scenario run once (shared by the tests of this file).
fn outcomes() -> &'static BTreeMap<String, Outcome> {
    static OUTCOMES: OnceLock<BTreeMap<String, Outcome>> = OnceLock::new();
    OUTCOMES.get_or_init(|| {
        let ids: Vec<&str> = library::SCENARIOS.iter().map(|(id, _)| *id).filter(|id| !skipped(id)).collect();
        let next = AtomicUsize::new(0);
        let results = Mutex::new(BTreeMap::new());
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(ids.len().max(1));
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    while let Some(id) = ids.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let scenario =
                            Scenario::parse(id, library::find(id).unwrap()).unwrap_or_else(|e| panic!("{e}"));
                        let mut simulation = Simulation::new(&scenario, scenario.seed).unwrap();
                        simulation.set_retention(Retention::None);
                        let stepped = simulation.run_until(Time::ZERO + scenario.run_for());
                        let outcome = Outcome {
                            digest: format_digest(simulation.digest()),
                            report: simulation.check_report(),
                            halted: (stepped == Stepped::Halted)
                                .then(|| simulation.kernel().halted().map(|h| h.to_string()).unwrap_or_default()),
                            events: simulation.kernel().events_processed(),
                        };
                        results.lock().unwrap().insert(id.to_string(), outcome);
                    }
                });
            }
        });
        results.into_inner().unwrap()
    })
}

#[test]
fn every_scenario_file_is_in_the_library() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") && path.file_name().is_some_and(|n| n != "golden-digests.toml")
        {
            let id = path.file_stem().unwrap().to_str().unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(
                library::find(id),
                Some(text.as_str()),
                "{} is not (or not as is) in core/src/scenario/library.rs",
                path.display()
            );
        }
    }
}

#[test]
fn every_scenario_has_expectations_and_meets_them() {
    let mut failures = Vec::new();
    for (id, outcome) in outcomes() {
        let scenario = Scenario::parse(id, library::find(id).unwrap()).unwrap();
        if scenario.expectations.is_empty() {
            failures.push(format!("{id}: no [expectations]"));
        }
        if let Some(halt) = &outcome.halted {
            failures.push(format!("{id}: halted after {} events: {halt}", outcome.events));
        }
        for failed in &outcome.report.failed {
            failures.push(format!("{id}: {failed}"));
        }
    }
    assert!(failures.is_empty(), "scenarios failing their expectations:\n{}", failures.join("\n"));
}

#[test]
fn every_quiz_has_exactly_one_right_option() {
    for (id, outcome) in outcomes() {
        let scenario = Scenario::parse(id, library::find(id).unwrap()).unwrap();
        if scenario.quiz.is_some() {
            let (value, right) = outcome.report.quiz.clone().expect("a quiz is graded");
            assert_eq!(right.len(), 1, "{id}: the run's value {value} makes options {right:?} right");
        }
    }
}

#[test]
fn every_scenario_digest_matches_its_golden_pin() {
    let text = std::fs::read_to_string(GOLDEN_PATH).unwrap_or_default();
    let pinned: BTreeMap<String, String> = toml::from_str::<Golden>(&text).map(|g| g.digests).unwrap_or_default();
    let outcomes = outcomes();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let mut digests = pinned.clone();
        for (id, outcome) in outcomes {
            digests.insert(id.clone(), outcome.digest.clone());
        }
        digests.retain(|id, _| library::find(id).is_some());
        let mut out = String::from(
            "# Trace digest of every built-in scenario at its default seed, run to its run_for (see\n\
             # tests/scenarios.rs). Update on purpose only: UPDATE_GOLDEN=1 cargo test --test scenarios\n\n[digests]\n",
        );
        for (id, digest) in &digests {
            out.push_str(&format!("{id} = \"{digest}\"\n"));
        }
        std::fs::write(GOLDEN_PATH, out).unwrap();
        return;
    }
    let mut wrong = Vec::new();
    for (id, outcome) in outcomes {
        match pinned.get(id) {
            Some(digest) if *digest == outcome.digest => {}
            Some(digest) => wrong.push(format!("{id}: pinned {digest}, got {}", outcome.digest)),
            None => wrong.push(format!("{id}: no pin (got {})", outcome.digest)),
        }
    }
    assert!(
        wrong.is_empty(),
        "trace digests changed:\n{}\n\nIf the change is on purpose, update the pins with\n    \
         UPDATE_GOLDEN=1 cargo test --test scenarios\nand say in the commit why the runs changed.",
        wrong.join("\n")
    );
}

#[derive(serde::Deserialize)]
struct Golden {
    digests: BTreeMap<String, String>,
}
