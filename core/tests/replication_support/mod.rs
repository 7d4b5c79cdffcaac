//! Helpers shared by the replication tests: those of `support` (scenarios written inline, ...), the
//! brokers' stores as the simulation sees them, and the sends' outcomes.

#![allow(dead_code)]

use std::collections::BTreeSet;

use rmqsim_core::broker::controller::BrokerController;
use rmqsim_core::observation::{Observation, SendOutcome};
use rmqsim_core::producer::send_result::SendStatus;
use rmqsim_core::time::Time;
use rmqsim_core::world::AnyNode;
use rmqsim_core::Simulation;

#[path = "../support/mod.rs"]
mod support;
pub use support::*;

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
                Some((o.time, msg_ids.clone(), *status, queue.broker_name.to_string()))
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

/// The msgIds the node `broker` stored.
pub fn stored_on(sim: &Simulation, broker: &str) -> BTreeSet<String> {
    let id = node(sim, broker);
    sim.observations()
        .iter()
        .filter(|o| o.node == id)
        .filter_map(|o| match &o.observation {
            Observation::MessageStored { msg_id, .. } => Some(msg_id.clone()),
            _ => None,
        })
        .collect()
}

/// The msgIds consumers finished (and did not discard) from the queues of the broker group `broker_name`.
pub fn consumed_from(sim: &Simulation, broker_name: &str) -> BTreeSet<String> {
    picked(sim, |o| match o {
        Observation::ConsumeFinished { msg_id, queue, discarded: false, .. } if &*queue.broker_name == broker_name => {
            Some(msg_id.clone())
        }
        _ => None,
    })
    .into_iter()
    .collect()
}

pub fn count_status(sim: &Simulation, status: SendStatus) -> usize {
    results(sim).iter().filter(|r| r.2 == status).count()
}
