//! Helpers shared by the simulation tests (the consumer and replication helpers build on these):
//! small scenarios written inline, the TOML pieces they are made of, and ways to read the
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

pub fn name(sim: &Simulation, id: NodeId) -> String {
    sim.directory().entry(id).name.clone()
}

/// (time, what `pick` took) of every observation it picks.
pub fn seen<T>(sim: &Simulation, pick: impl Fn(&Observation) -> Option<T>) -> Vec<(Time, T)> {
    sim.observations().iter().filter_map(|o| pick(&o.observation).map(|t| (o.time, t))).collect()
}

/// What `pick` took of every observation it picks (without the time).
pub fn picked<T>(sim: &Simulation, pick: impl Fn(&Observation) -> Option<T>) -> Vec<T> {
    sim.observations().iter().filter_map(|o| pick(&o.observation)).collect()
}

/// `[topology]`: `name_servers` NameServers, a broker group per `(name, its other lines)`, and the
/// topics as `(name, queues)`.
pub fn cluster(name_servers: u32, groups: &[(&str, &str)], topics: &[(&str, u32)]) -> String {
    let mut toml = format!("\n[topology]\nname_servers = {name_servers}\n");
    for (name, lines) in groups {
        toml += &format!("[[topology.broker_groups]]\nname = \"{name}\"\n{}", with_newline(lines));
    }
    for (name, queues) in topics {
        toml += &format!("[[topology.topics]]\nname = \"{name}\"\nqueues = {queues}\n");
    }
    toml
}

/// A `[[producers]]` table: `config` under `[producers.config]` (none when empty), then a workload
/// sending to `topic` with its other lines.
pub fn producer(config: &str, topic: &str, workload: &str) -> String {
    let config =
        if config.is_empty() { String::new() } else { format!("[producers.config]\n{}", with_newline(config)) };
    format!("\n[[producers]]\n{config}[producers.workload]\ntopic = \"{topic}\"\n{}", with_newline(workload))
}

/// A workload's `rate` line: `per_second` messages a second from the start.
pub fn rate(per_second: u32) -> String {
    format!("rate = [{{ at = \"0s\", per_second = {per_second} }}]")
}

/// An `[[actions]]` entry: at `at`, its other lines (`do = ...`).
pub fn action(at: &str, lines: &str) -> String {
    format!("\n[[actions]]\nat = \"{at}\"\n{}", with_newline(lines))
}

/// `node` crashes at `at`: `kind` is process_kill, power_loss, ...
pub fn crash(at: &str, node: &str, kind: &str) -> String {
    action(at, &format!("do = \"crash\"\nnode = \"{node}\"\nkind = \"{kind}\""))
}

fn with_newline(lines: &str) -> String {
    if lines.is_empty() || lines.ends_with('\n') {
        lines.to_string()
    } else {
        format!("{lines}\n")
    }
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
