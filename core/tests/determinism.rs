//! Determinism: the same scenario and seed give the same run, byte for byte, natively and in
//! wasm. This file is compiled for both targets (`cargo xtask test` runs it under Node and in
//! headless Chromium too), so the pinned values below are checked on every platform.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use rmqsim_core::prng::{Concern, Prng, StreamOwner};
use rmqsim_core::scenario::{library, Scenario};
use rmqsim_core::sim::trace::format_digest;
use rmqsim_core::time::Time;
use rmqsim_core::Simulation;

fn heartbeats() -> Scenario {
    Scenario::parse("broker-heartbeats", library::find("broker-heartbeats").unwrap()).unwrap()
}

fn digest_of(scenario: &Scenario, seed: u64) -> String {
    let mut sim = Simulation::new(scenario, seed).unwrap();
    sim.run_until(Time::ZERO + scenario.run_for());
    format_digest(sim.digest())
}

#[test]
fn each_random_stream_starts_with_its_pinned_values() {
    let cases = [
        (StreamOwner::Run, Concern::Faults, 0xcd59_d2bc_4f3f_b3e8u64),
        (StreamOwner::Node(0), Concern::Node, 0xded1_3504_9a9b_ef58),
        (StreamOwner::Node(0), Concern::Network, 0x9ce6_c605_1b07_1e8b),
        (StreamOwner::Node(0), Concern::Disk, 0xdb49_3f72_dab9_e16a),
        (StreamOwner::Node(1), Concern::Workload, 0x49f0_058d_0405_5dd3),
    ];
    for (owner, concern, expected) in cases {
        let first = Prng::stream(42, owner, concern).next_u64();
        assert_eq!(first, expected, "{owner:?}/{concern:?} starts with {first:#018x}");
    }
}

#[test]
fn the_same_scenario_and_seed_give_the_same_digest() {
    let scenario = heartbeats();
    assert_eq!(digest_of(&scenario, 7), digest_of(&scenario, 7));
}

#[test]
fn different_seeds_give_different_digests() {
    let scenario = heartbeats();
    assert_ne!(digest_of(&scenario, 1), digest_of(&scenario, 2));
}

#[test]
fn digests_match_the_pinned_native_values() {
    let scenario = heartbeats();
    // Re-pinned on purpose by issue 3/8: brokers now register RocketMQ's built-in topics and run their
    // store (flush, dispatch and clean-up timers) from start.
    let pinned = [(1u64, "6ed2345a68bce167"), (2, "88d7c05ba7be6a3f"), (3, "ee987fafb3e4b1a9")];
    for (seed, expected) in pinned {
        assert_eq!(digest_of(&scenario, seed), expected, "seed {seed}");
    }
}

#[test]
fn stepping_one_event_at_a_time_gives_the_same_run_as_run_until() {
    let scenario = heartbeats();
    let mut stepped = Simulation::new(&scenario, 5).unwrap();
    let until = Time::from_secs(200);
    while stepped.kernel().next_event_time().is_some_and(|t| t <= until) {
        stepped.step();
    }
    stepped.run_until(until);
    let mut whole = Simulation::new(&scenario, 5).unwrap();
    whole.run_until(until);
    assert_eq!(stepped.digest(), whole.digest());
    assert_eq!(stepped.metrics(), whole.metrics());
}

#[test]
fn a_restored_checkpoint_replays_the_same_future() {
    let scenario = heartbeats();
    let mut sim = Simulation::new(&scenario, 11).unwrap();
    sim.run_until(Time::from_secs(90));
    let checkpoint = sim.clone();
    sim.run_until(Time::from_secs(300));
    let mut replay = checkpoint;
    replay.run_until(Time::from_secs(300));
    assert_eq!(sim.digest(), replay.digest());
}

#[test]
fn producer_runs_match_their_pinned_digests() {
    // Producers exercise the workload streams, queue counters, UNIQ_KEYs, retries and the store:
    // the same digests natively and in wasm.
    let lost_ack = Scenario::parse("producer-lost-ack", library::find("producer-lost-ack").unwrap()).unwrap();
    assert_eq!(digest_of(&lost_ack, 1), "7159894c932a0429");
    assert_eq!(digest_of(&lost_ack, 2), "7152445630988af8");
    let broker_down = Scenario::parse("producer-broker-down", library::find("producer-broker-down").unwrap()).unwrap();
    let mut sim = Simulation::new(&broker_down, 1).unwrap();
    sim.run_until(Time::from_secs(40));
    assert_eq!(format_digest(sim.digest()), "9be8b97e259023ca");
}

#[test]
fn consumer_scenario_digests_match_the_pinned_native_values() {
    // Pinned on purpose by issue 5/8: consumers, rebalancing, long polling and offsets in one run.
    let scenario =
        Scenario::parse("consumer-rebalance-join", library::find("consumer-rebalance-join").unwrap()).unwrap();
    let mut sim = Simulation::new(&scenario, 3).unwrap();
    sim.run_until(Time::from_secs(30));
    assert_eq!(format_digest(sim.digest()), "21bf33505b74e9f2");
}
