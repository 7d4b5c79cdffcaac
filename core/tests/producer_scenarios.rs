//! The built-in producer scenarios do what their narratives say.

mod support;

use rmqsim_core::observation::{Observation, SendOutcome};
use rmqsim_core::scenario::{library, Scenario};
use rmqsim_core::time::Time;
use rmqsim_core::Simulation;
use support::*;

fn run_builtin(id: &str) -> Simulation {
    let scenario = Scenario::parse(id, library::find(id).unwrap()).unwrap();
    let mut sim = Simulation::new(&scenario, scenario.seed).unwrap();
    sim.run_until(Time::ZERO + scenario.run_for());
    sim
}

#[test]
fn without_latency_fault_tolerance_a_silent_broker_fails_sends_until_the_route_refresh_drops_it() {
    let sim = run_builtin("producer-broker-down");
    let plain = completions(&sim, "producer-plain");
    let failures: Vec<Time> = plain.iter().filter(|c| failure_of(&c.4).is_some()).map(|c| c.0).collect();
    // One timeout every 3 s from 30 s until the refresh at 150.010 s drops broker-b (the last send chosen
    // before it still waits its 3 s).
    assert_eq!(failures.len(), 40, "{failures:?}");
    assert!(failures.iter().all(|t| *t > Time::from_secs(30) && *t < Time::from_millis(153_011)));
    for c in plain.iter().filter(|c| failure_of(&c.4).is_some()) {
        assert_eq!(failure_of(&c.4).unwrap().1, "sendDefaultImpl call timeout");
    }
    // NameServers removed broker-b at 135 s (last registration at 10 s + 120 s, next 5 s scan).
    let removed: Vec<Time> = sim
        .observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::BrokerRemoved { broker_name, .. } if broker_name == "broker-b" => Some(o.time),
            _ => None,
        })
        .collect();
    assert_eq!(removed, [Time::from_secs(135); 2]);
}

#[test]
fn with_latency_fault_tolerance_one_timeout_isolates_the_silent_broker() {
    let sim = run_builtin("producer-broker-down");
    let avoider = completions(&sim, "producer-avoider");
    let failures: Vec<_> = avoider.iter().filter(|c| failure_of(&c.4).is_some()).collect();
    assert_eq!(failures.len(), 1);
    let isolated_at = failures[0].0;
    // 4.9: a failure isolates for 600 000 ms; no attempt goes to broker-b afterwards within the run.
    assert!(attempts(&sim, "producer-avoider").iter().all(|a| &*a.3.broker_name != "broker-b" || a.0 < isolated_at));
    assert!(avoider.iter().filter(|c| c.0 > isolated_at).all(|c| matches!(c.4, SendOutcome::Sent { .. })));
}

#[test]
fn the_lost_ack_scenario_stores_the_message_twice_under_one_msg_id() {
    let sim = run_builtin("producer-lost-ack");
    let copies = stored(&sim);
    assert_eq!(copies.len(), 2);
    assert_eq!(copies[0].2, copies[1].2);
    assert_ne!(copies[0].3, copies[1].3);
    assert!(copies[0].0 < Time::from_secs(3) && copies[1].0 > Time::from_secs(10), "stored at 2 s and at the resend");
}
