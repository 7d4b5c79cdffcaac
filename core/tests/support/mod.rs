//! Helpers shared by the producer tests: small scenarios written inline, and ways to read the
//! observations a run made (sends, attempts, stored messages, route changes).

#![allow(dead_code)]

use rmqsim_core::message_queue::MessageQueue;
use rmqsim_core::observation::{Observation, SendOutcome};
use rmqsim_core::scenario::Scenario;
use rmqsim_core::sim::node::NodeId;
use rmqsim_core::time::Time;
use rmqsim_core::Simulation;

/// A scenario from the TOML body that follows the header (topology, producers, actions).
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

/// (time, send id, attempt, queue) of every send attempt a node made.
pub fn attempts(sim: &Simulation, producer: &str) -> Vec<(Time, u64, u32, MessageQueue)> {
    let id = node(sim, producer);
    sim.observations()
        .iter()
        .filter(|o| o.node == id)
        .filter_map(|o| match &o.observation {
            Observation::SendAttempt { send_id, attempt, queue, .. } => {
                Some((o.time, *send_id, *attempt, queue.clone()))
            }
            _ => None,
        })
        .collect()
}

/// (time, send id, msg ids, attempts, outcome) of every finished send of a node.
pub fn completions(sim: &Simulation, producer: &str) -> Vec<(Time, u64, Vec<String>, u32, SendOutcome)> {
    let id = node(sim, producer);
    sim.observations()
        .iter()
        .filter(|o| o.node == id)
        .filter_map(|o| match &o.observation {
            Observation::SendCompleted { send_id, msg_ids, attempts, outcome } => {
                Some((o.time, *send_id, msg_ids.clone(), *attempts, outcome.clone()))
            }
            _ => None,
        })
        .collect()
}

/// (time, broker node name, msg id, offset msg id, queue id, queue offset) of every stored message.
pub fn stored(sim: &Simulation) -> Vec<(Time, String, String, String, i32, i64)> {
    sim.observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::MessageStored { msg_id, offset_msg_id, queue_id, queue_offset, .. } => Some((
                o.time,
                sim.directory().entry(o.node).name.clone(),
                msg_id.clone(),
                offset_msg_id.clone(),
                *queue_id,
                *queue_offset,
            )),
            _ => None,
        })
        .collect()
}

/// (time, topic, queues as `broker/id`) of every publish-list change of a producer.
pub fn route_changes(sim: &Simulation, producer: &str) -> Vec<(Time, String, Vec<String>)> {
    let id = node(sim, producer);
    sim.observations()
        .iter()
        .filter(|o| o.node == id)
        .filter_map(|o| match &o.observation {
            Observation::PublishRouteChanged { topic, queues } => Some((
                o.time,
                topic.clone(),
                queues.iter().map(|q| format!("{}/{}", q.broker_name, q.queue_id)).collect(),
            )),
            _ => None,
        })
        .collect()
}

pub fn failure_of(outcome: &SendOutcome) -> Option<(&str, &str, Option<i32>)> {
    match outcome {
        SendOutcome::Failed { exception, message, response_code } => {
            Some((exception.as_str(), message.as_str(), *response_code))
        }
        _ => None,
    }
}

/// The standard topology: two NameServers, broker-a and broker-b, TopicTest with 4 queues on each.
pub const TWO_BROKERS: &str = r#"
[topology]
name_servers = 2
[[topology.broker_groups]]
name = "broker-a"
[[topology.broker_groups]]
name = "broker-b"
[[topology.topics]]
name = "TopicTest"
queues = 4
"#;
