//! NameServer liveness as RocketMQ 4.9 implements it, checked on the `broker-heartbeats` scenario.

use rmqsim_core::observation::{BrokerRemovalReason, Observation};
use rmqsim_core::scenario::{library, Scenario};
use rmqsim_core::time::Time;
use rmqsim_core::Simulation;

fn run(seed: u64) -> Simulation {
    let scenario = Scenario::parse("broker-heartbeats", library::find("broker-heartbeats").unwrap()).unwrap();
    let mut sim = Simulation::new(&scenario, seed).unwrap();
    sim.run_until(Time::from_secs(360));
    sim
}

fn removals(sim: &Simulation, broker: &str) -> Vec<(Time, String, BrokerRemovalReason)> {
    sim.observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::BrokerRemoved { broker_name, reason, .. } if broker_name == broker => {
                Some((o.time, sim.directory().entry(o.node).name.clone(), *reason))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_silent_broker_is_dropped_at_the_first_scan_after_its_registration_is_120_seconds_old() {
    // broker-b registers at 0 s, 10 s and 40 s, then loses power at 60 s. Its last registration
    // (40 s) expires when 40 s + 120 s < now, so the scans at 5 s, 10 s, ... remove it at 165 s.
    let sim = run(1);
    let removed = removals(&sim, "broker-b");
    assert_eq!(removed.len(), 2, "each NameServer decides on its own: {removed:?}");
    for (time, _, reason) in &removed {
        assert_eq!(*time, Time::from_secs(165));
        assert_eq!(*reason, BrokerRemovalReason::Expired);
    }
}

#[test]
fn a_killed_broker_is_dropped_as_soon_as_its_connection_closes() {
    let sim = run(2);
    let removed = removals(&sim, "broker-c");
    assert_eq!(removed.len(), 2, "{removed:?}");
    for (time, _, reason) in &removed {
        assert_eq!(*reason, BrokerRemovalReason::ChannelClosed);
        assert!(*time > Time::from_secs(120) && *time < Time::from_millis(120_010), "{time}");
    }
}

#[test]
fn a_restarted_broker_registers_again() {
    let sim = run(3);
    let registered_after_restart = sim.observations().iter().filter(|o| {
        o.time >= Time::from_secs(240)
            && matches!(&o.observation, Observation::BrokerRegistered { broker_name, .. } if broker_name == "broker-b")
    });
    assert_eq!(registered_after_restart.count(), 2);
    assert!(sim.is_up("broker-b") && !sim.is_up("broker-c"));
}
