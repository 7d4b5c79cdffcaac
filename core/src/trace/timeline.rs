//! A message's timeline: everything the run observed about one msgId (UNIQ_KEY), in order — the send
//! attempts and their result, each stored copy, the transaction and delay steps, each pull, each
//! consumption with its status and cost, retries and the DLQ.
//!
//! RocketMQ's message trace shows the same story from trace records (Pub, SubBefore, SubAfter,
//! EndTransaction) when tracing is on; the simulator can tell it for every message, from the
//! observations, with the steps RocketMQ never records (pulls, check-backs, delay deliveries).

use serde::Serialize;

use crate::observation::{Observation, SendOutcome};
use crate::sim::kernel::Observed;
use crate::time::Time;
use crate::world::AnyNode;

/// One step of a message's life.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimelineStep {
    pub time: Time,
    /// The node that observed it (by name).
    pub node: String,
    /// A short name: "send", "stored", "pulled", "consume", "half stored", "check", ...
    pub step: String,
    pub detail: String,
    /// How long it took, when the step has a duration (ms).
    pub cost_ms: Option<u64>,
}

/// The timeline of `msg_id` over `observations`; `name` gives node names.
pub fn timeline<'a>(
    observations: impl IntoIterator<Item = &'a Observed<AnyNode>>,
    msg_id: &str,
    name: &dyn Fn(u16) -> String,
) -> Vec<TimelineStep> {
    let mut steps = Vec::new();
    let mut first_attempt: Option<Time> = None;
    let mut consume_started: Vec<(u16, String, i64, Time)> = Vec::new();
    let mut push = |o: &Observed<AnyNode>, step: &str, detail: String, cost_ms: Option<u64>| {
        steps.push(TimelineStep { time: o.time, node: name(o.node.0), step: step.to_string(), detail, cost_ms });
    };
    for o in observations {
        match &o.observation {
            Observation::SendAttempt { msg_ids, attempt, queue, broker_addr, .. }
                if msg_ids.iter().any(|m| m == msg_id) =>
            {
                first_attempt.get_or_insert(o.time);
                push(
                    o,
                    "send",
                    format!("attempt {attempt} to {} ({broker_addr}) queue {}", queue.broker_name, queue.queue_id),
                    None,
                );
            }
            Observation::SendCompleted { msg_ids, attempts, outcome, .. } if msg_ids.iter().any(|m| m == msg_id) => {
                let detail = match outcome {
                    SendOutcome::Sent { status, offset_msg_id, queue, queue_offset } => format!(
                        "{status:?} after {attempts} attempt(s): {}/{}@{queue_offset}, offsetMsgId {offset_msg_id}",
                        queue.broker_name, queue.queue_id
                    ),
                    SendOutcome::Failed { exception, message, .. } => format!("failed: {exception}: {message}"),
                    SendOutcome::Oneway => "oneway: no result".to_string(),
                };
                let cost = first_attempt.map(|t| (o.time - t).as_millis());
                push(o, "send result", detail, cost);
            }
            Observation::MessageStored { msg_id: id, topic, queue_id, queue_offset, offset_msg_id, .. }
                if id == msg_id =>
            {
                push(o, "stored", format!("{topic}/{queue_id}@{queue_offset}, offsetMsgId {offset_msg_id}"), None);
            }
            Observation::TransactionHalfStored { msg_id: id, real_topic, queue_offset, .. } if id == msg_id => {
                push(
                    o,
                    "half stored",
                    format!("RMQ_SYS_TRANS_HALF_TOPIC@{queue_offset} for {real_topic}: invisible"),
                    None,
                );
            }
            Observation::LocalTransactionExecuted { msg_id: id, state, crashed, .. } if id == msg_id => {
                let detail = if *crashed {
                    "the local transaction committed, then the process died before END_TRANSACTION".to_string()
                } else {
                    format!("the local transaction returned {}", state.name())
                };
                push(o, "local transaction", detail, None);
            }
            Observation::EndTransactionReceived { msg_id: id, state, from_transaction_check, result, .. }
                if id == msg_id =>
            {
                let by = if *from_transaction_check { " (check-back answer)" } else { "" };
                push(o, "end transaction", format!("{}{by}: {result}", state.name()), None);
            }
            Observation::TransactionCommitted { msg_id: id, topic, queue_id, queue_offset, .. } if id == msg_id => {
                push(o, "committed", format!("{topic}/{queue_id}@{queue_offset}: visible"), None);
            }
            Observation::TransactionRolledBack { msg_id: id, .. } if id == msg_id => {
                push(o, "rolled back", "never delivered".to_string(), None);
            }
            Observation::TransactionCheckSent { msg_id: id, check_times, to_client, .. } if id == msg_id => {
                let to = to_client.as_deref().unwrap_or("nobody (no producer of the group is connected)");
                push(o, "check", format!("check {check_times} sent to {to}"), None);
            }
            Observation::TransactionCheckAnswered { msg_id: id, state, .. } if id == msg_id => {
                push(o, "check answer", state.name().to_string(), None);
            }
            Observation::TransactionDiscarded { msg_id: id, check_times, reason, .. } if id == msg_id => {
                push(
                    o,
                    "discarded",
                    format!("to TRANS_CHECK_MAX_TIME_TOPIC after {check_times} checks ({reason})"),
                    None,
                );
            }
            Observation::DelayedMessageDelivered { msg_id: id, delay_level, topic, queue_id, queue_offset, .. }
                if id == msg_id =>
            {
                push(o, "delay delivered", format!("level {delay_level} due: {topic}/{queue_id}@{queue_offset}"), None);
            }
            Observation::MessagesPulled { group, client_id, queue, messages }
                if messages.iter().any(|(_, m)| m == msg_id) =>
            {
                let offset = messages.iter().find(|(_, m)| m == msg_id).map_or(0, |(q, _)| *q);
                push(
                    o,
                    "pulled",
                    format!("{group} / {client_id} from {}/{}@{offset}", queue.broker_name, queue.queue_id),
                    None,
                );
            }
            Observation::MessagesPolled { group, client_id, queue, messages }
                if messages.iter().any(|(_, m)| m == msg_id) =>
            {
                let offset = messages.iter().find(|(_, m)| m == msg_id).map_or(0, |(q, _)| *q);
                push(
                    o,
                    "polled",
                    format!("{group} / {client_id} from {}/{}@{offset}", queue.broker_name, queue.queue_id),
                    None,
                );
            }
            Observation::ConsumeStarted { msg_id: id, client_id, queue_offset, reconsume_times, .. }
                if id == msg_id =>
            {
                consume_started.push((o.node.0, client_id.clone(), *queue_offset, o.time));
                push(o, "consume", format!("listener starts (reconsumeTimes {reconsume_times})"), None);
            }
            Observation::ConsumeFinished { msg_id: id, client_id, queue_offset, status, discarded, .. }
                if id == msg_id =>
            {
                let started = consume_started
                    .iter()
                    .rposition(|(n, c, q, _)| *n == o.node.0 && c == client_id && q == queue_offset)
                    .map(|i| consume_started.remove(i).3);
                let discarded = if *discarded { " (discarded: the queue was dropped meanwhile)" } else { "" };
                push(o, "consumed", format!("{status:?}{discarded}"), started.map(|t| (o.time - t).as_millis()));
            }
            Observation::MessageSentBack { msg_id: id, group, reconsume_times, destination, .. } if id == msg_id => {
                push(o, "sent back", format!("{group}: reconsumeTimes {reconsume_times} -> {destination:?}"), None);
            }
            _ => {}
        }
    }
    steps
}
