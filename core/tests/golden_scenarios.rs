//! Scenario digests and verdicts on every platform: a few built-in scenarios run to their end must give
//! the trace digest pinned in `scenarios/golden-digests.toml` (pinned natively by the root crate's
//! `tests/scenarios.rs`) and meet their expectations. Compiled for wasm32 too (`cargo xtask test` runs it
//! under Node and in headless Chromium), so the same runs are proven identical in the browser. The named
//! scenarios are small ones, quick in an unoptimised wasm build; the whole library runs only in an optimised
//! build (`cargo xtask test`'s `wasm-golden` step: `cargo test --release --target wasm32-unknown-unknown`).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use std::collections::BTreeMap;

use rmqsim_core::check::Retention;
use rmqsim_core::scenario::{library, Scenario};
use rmqsim_core::sim::trace::format_digest;
use rmqsim_core::time::Time;
use rmqsim_core::Simulation;

const GOLDEN: &str = include_str!("../../scenarios/golden-digests.toml");

fn pinned(id: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Golden {
        digests: BTreeMap<String, String>,
    }
    let golden: Golden = toml::from_str(GOLDEN).expect("golden-digests.toml parses");
    golden.digests.get(id).cloned().unwrap_or_else(|| panic!("{id} has no pin in scenarios/golden-digests.toml"))
}

fn check(id: &str) {
    let scenario = Scenario::parse(id, library::find(id).unwrap()).unwrap();
    let mut simulation = Simulation::new(&scenario, scenario.seed).unwrap();
    simulation.set_retention(Retention::None);
    simulation.run_until(Time::ZERO + scenario.run_for());
    assert_eq!(format_digest(simulation.digest()), pinned(id), "{id}: digest");
    let report = simulation.check_report();
    assert!(report.passed(), "{id}: {:?}", report.failed);
}

#[test]
fn the_lost_ack_duplicate_runs_the_same_everywhere() {
    check("duplicate-lost-ack-retry");
}

#[test]
fn broadcasting_and_clustering_run_the_same_everywhere() {
    check("broadcast-vs-cluster");
}

#[test]
fn the_async_flush_loss_runs_the_same_everywhere() {
    check("loss-async-flush-power-loss");
}

/// Every library scenario, natively pinned by the root crate's `tests/scenarios.rs`, gives the same digest and
/// verdict in wasm. Optimised builds only: the million-message backlog alone is about five million events.
#[cfg(not(debug_assertions))]
#[test]
fn every_library_scenario_runs_the_same_everywhere() {
    for (id, _) in library::SCENARIOS {
        check(id);
    }
}
