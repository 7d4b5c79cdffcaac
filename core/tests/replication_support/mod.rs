//! Helpers shared by the replication tests: small scenarios written inline, the brokers' stores as
//! the simulation sees them, and the sends' outcomes.

#![allow(dead_code)]

use rmqsim_core::broker::controller::BrokerController;
use rmqsim_core::observation::{Observation, SendOutcome};
use rmqsim_core::producer::send_result::SendStatus;
use rmqsim_core::scenario::Scenario;
use rmqsim_core::sim::node::NodeId;
use rmqsim_core::time::Time;
use rmqsim_core::world::AnyNode;
use rmqsim_core::Simulation;

/// A scenario from the TOML body that follows the header.
pub fn scenario(body: &str) -> Scenario {
    let text = format!(
        "version = 1\nid = \"test\"\nrun_for = \"60s\"\n\
         [narrative.en]\ntitle = \"t\"\nquestion = \"q\"\nwatch = \"w\"\nexplanation = \"e\"\nfidelity = \"f\"\n\
         [narrative.zh]\ntitle = \"t\"\nquestion = \"q\"\nwatch = \"w\"\nexplanation = \"e\"\nfidelity = \"f\"\n{body}"
    );
    Scenario::parse("test", &text).unwrap_or_else(|e| panic!("{e}"))
}

pub fn run(body: &str, seed: u64, until: Time) -> Simulation {
    let mut sim = Simulation::new(&scenario(body), seed).unwrap();
    sim.run_until(until);
    sim
}

pub fn node(sim: &Simulation, name: &str) -> NodeId {
    sim.directory().by_name(name).unwrap_or_else(|| panic!("no node {name}")).id
}

/// The broker running as `name`, if it is up.
pub fn broker<'a>(sim: &'a Simulation, name: &str) -> Option<&'a BrokerController> {
    match sim.kernel().node(node(sim, name)) {
        Some(AnyNode::Broker(b)) => Some(b),
        _ => None,
    }
}

/// (time, msg ids, status, broker name) of every send that ended with a `SendResult`.
pub fn results(sim: &Simulation) -> Vec<(Time, Vec<String>, SendStatus, String)> {
    sim.observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::SendCompleted { msg_ids, outcome: SendOutcome::Sent { status, queue, .. }, .. } => {
                Some((o.time, msg_ids.clone(), *status, queue.broker_name.clone()))
            }
            _ => None,
        })
        .collect()
}

/// (time, exception, message) of every send that failed.
pub fn failures(sim: &Simulation) -> Vec<(Time, String, String)> {
    sim.observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::SendCompleted { outcome: SendOutcome::Failed { exception, message, .. }, .. } => {
                Some((o.time, exception.clone(), message.clone()))
            }
            _ => None,
        })
        .collect()
}

pub fn count_status(sim: &Simulation, status: SendStatus) -> usize {
    results(sim).iter().filter(|r| r.2 == status).count()
}
