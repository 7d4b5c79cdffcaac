//! Helpers shared by the consumer tests: those of `support` (scenarios written inline, ...), and ways
//! to read what the consumers and brokers observed.

#![allow(dead_code)]

use std::collections::BTreeMap;

use rmqsim_core::message_queue::MessageQueue;
use rmqsim_core::observation::{ConsumeOutcome, Observation};
use rmqsim_core::time::Time;
use rmqsim_core::Simulation;

#[path = "../support/mod.rs"]
mod support;
pub use support::*;

/// One finished listener call on one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finished {
    pub time: Time,
    pub node: String,
    pub queue: MessageQueue,
    pub offset: i64,
    pub msg_id: String,
    pub status: ConsumeOutcome,
    pub discarded: bool,
}

pub fn finished(sim: &Simulation) -> Vec<Finished> {
    sim.observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::ConsumeFinished { queue, queue_offset, msg_id, status, discarded, .. } => Some(Finished {
                time: o.time,
                node: name(sim, o.node),
                queue: queue.clone(),
                offset: *queue_offset,
                msg_id: msg_id.clone(),
                status: *status,
                discarded: *discarded,
            }),
            _ => None,
        })
        .collect()
}

/// msgIds the producers stored in `topic` (first copies; producer duplicates share a msgId).
pub fn stored_msg_ids(sim: &Simulation, topic: &str) -> Vec<String> {
    let mut ids: Vec<String> = sim
        .observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::MessageStored { topic: t, msg_id, .. } if t == topic => Some(msg_id.clone()),
            _ => None,
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// How many times each msgId was processed successfully (listener said SUCCESS), whoever did it.
pub fn processed_counts(sim: &Simulation) -> BTreeMap<String, u32> {
    let mut counts = BTreeMap::new();
    for f in finished(sim) {
        if f.status == ConsumeOutcome::Success {
            *counts.entry(f.msg_id).or_insert(0) += 1;
        }
    }
    counts
}

/// (time, node, topic, allocated queue ids as `broker/q`) of every allocation.
pub fn allocations(sim: &Simulation) -> Vec<(Time, String, String, Vec<String>)> {
    sim.observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::RebalanceAllocated { topic, allocated, .. } => Some((
                o.time,
                name(sim, o.node),
                topic.clone(),
                allocated.iter().map(|q| format!("{}/{}", q.broker_name, q.queue_id)).collect(),
            )),
            _ => None,
        })
        .collect()
}

pub fn dump(sim: &Simulation, filter: impl Fn(&Observation) -> bool) {
    for o in sim.observations() {
        if filter(&o.observation) {
            eprintln!("{:>12} {:<12} {:?}", o.time.to_string(), name(sim, o.node), o.observation);
        }
    }
}
