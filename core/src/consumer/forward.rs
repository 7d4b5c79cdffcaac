//! A forwarding listener: the seeds' "drain a backlog through a new topic with more queues".
//!
//! A topic with 4 queues feeds at most 4 busy consumers of a group, so starting more consumers does not
//! drain its backlog. The classic answer: change the group's listener so that it does not do the slow
//! work but re-sends each message to a new topic with n× more queues, and start n× more (temporary)
//! consumers on that topic. A consumer group's `workload.forward_to` is that listener.
//!
//! As in RocketMQ, the listener's producer lives in the consumer's process (one `MQClientInstance` serves
//! a process's producer and consumer: one set of channels to the brokers). Here the consumer node owns a
//! [`ProducerClient`] with its own route tables and request ids (numbered from 2^31, so a
//! response finds its client), sharing the node's connections: a channel the producer closes after a
//! timeout closes for the consumer too, as a shared Netty channel would. The sends take the producer's
//! normal path (route from the NameServer, queue selection, retries, `sendMsgTimeout`), so every fault
//! applies to them.
//!
//! The listener, for each message of the call, one after the other (a sync `producer.send` in a loop):
//! builds `new Message(forward_to, tags, keys, body)` with the original's flag and user properties, sets
//! [`FORWARDED_FROM_PROPERTY`] to the original's msgId, gives the copy its own UNIQ_KEY
//! (`MessageClientIDSetter.setUniqID`, so the application can log the link before sending) and sends it.
//! Once every send returned SEND_OK the listener returns CONSUME_SUCCESS; the first send that throws or
//! returns another status makes it return RECONSUME_LATER (the message goes back to the retry topic and
//! is forwarded again later: an earlier copy of the same call may then exist twice). The call costs the
//! workload's `processing_time` (0 for a pure forwarder) plus the sends' round trips.
//!
//! Observations: `MessageForwarded` (the link) then `SendRequested` for each copy, from the consumer
//! node; the producer's own `SendAttempt` / `SendCompleted` follow. The checkers relate a copy to its
//! original from these (`check/`: `forwarded`, `forward_duplicates`, `forward_unprocessed`).
//!
//! Heartbeats: one per process, as `MQClientInstance.sendHeartbeatToAllBroker` sends them: the
//! consumer's HEART_BEAT lists the forwarding producer's group beside `CLIENT_INNER_PRODUCER`, and the
//! producer sends none of its own (it still cleans its offline brokers on that schedule).
//!
//! Limits (documented): push consumers with a concurrent listener only (validated); the producer's pid,
//! drawn at start like any producer's, differs from the consumer's.

use std::collections::BTreeMap;

use crate::broker::store::properties::MessageProperties;
use crate::consumer::client::{ConsumerClient, ConsumerSpec};
use crate::consumer::consume_concurrently::WorkerState;
use crate::consumer::pull_message_service::msg_id_of;
use crate::consumer::workload::{ListenerOutcome, FORWARDED_FROM_PROPERTY};
use crate::observation::Observation;
use crate::producer::client::{Completion, Payload, ProducerClient, ProducerSpec, ProducerTimer, Target};
use crate::producer::config::ProducerConfig;
use crate::producer::message::{is_system_property, Message};
use crate::producer::send_result::SendStatus;
use crate::producer::workload::SendMode;
use crate::protocol::consumer::MessageExt;
use crate::protocol::Message as Remoting;
use crate::sim::node::NodeId;
use crate::world::Ctx;

/// The forwarding producer's first request id: the consumer's own count from 0.
pub const FORWARD_OPAQUE_BASE: u32 = 1 << 31;

/// Properties the broker or a transaction adds that `STRING_HASH_SET` does not list: not the
/// application's to copy.
const INTERNAL_PROPERTIES: [&str; 5] = [
    "TRAN_PREPARED_QUEUE_OFFSET",
    "TRANSACTION_CHECK_TIMES",
    "CHECK_IMMUNITY_TIME_IN_SECONDS",
    "INNER_MULTI_DISPATCH",
    "__transactionId__",
];

/// Counters for views and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ForwardStats {
    /// Copies whose send returned SEND_OK.
    pub sent_ok: u64,
    /// Sends that threw or returned another status (the listener returned RECONSUME_LATER).
    pub failed: u64,
}

/// The producer of a forwarding listener, and what it is sending.
#[derive(Clone, Debug)]
pub struct Forwarder {
    pub topic: String,
    pub producer: ProducerClient,
    /// Send id → the consume thread (worker) waiting for it.
    sends: BTreeMap<u64, u32>,
    /// The application's sequence number of the next copy.
    next_seq: u64,
    pub stats: ForwardStats,
}

impl Forwarder {
    /// The forwarding producer of consumer `spec` (group `<group>_FORWARDER`, the consumer's NameServers).
    pub fn new(spec: &ConsumerSpec, topic: &str) -> Forwarder {
        let config = ProducerConfig {
            producer_group: format!("{}_FORWARDER", spec.group),
            namesrv_addr: spec.config.namesrv_addr.clone(),
            ..ProducerConfig::default()
        };
        let producer_spec = ProducerSpec {
            client_ip: spec.client_ip,
            name_servers: spec.name_servers.clone(),
            name_server_addrs: spec.name_server_addrs.clone(),
            directory: spec.directory.clone(),
            config,
        };
        let mut producer = ProducerClient::new(&producer_spec);
        producer.start_opaques_at(FORWARD_OPAQUE_BASE);
        producer.heartbeat_through_host();
        Forwarder {
            topic: topic.to_string(),
            producer,
            sends: BTreeMap::new(),
            next_seq: 0,
            stats: ForwardStats::default(),
        }
    }
}

/// The copy a forwarding listener sends: `new Message(topic, tags, keys, body)`, the original's flag and
/// user properties, and [`FORWARDED_FROM_PROPERTY`] = the original's msgId. No UNIQ_KEY yet.
pub fn forwarded_copy(msg: &MessageExt, topic: &str) -> Message {
    let properties = MessageProperties::from_properties_string(&msg.properties);
    let keys = properties.keys();
    let mut copy = Message::new(topic, properties.tags(), &keys, msg.body.clone());
    copy.flag = msg.flag;
    for (name, value) in properties.iter_java_order() {
        if !is_system_property(name) && !INTERNAL_PROPERTIES.contains(&name) {
            copy.put_user_property(name, value);
        }
    }
    copy.put_user_property(FORWARDED_FROM_PROPERTY, &msg_id_of(msg));
    copy
}

impl ConsumerClient {
    /// The forwarding producer starts with its process (after the consumer).
    pub(crate) fn forward_start(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(forwarder) = self.forwarder.as_mut() {
            forwarder.producer.on_start(ctx);
        }
    }

    /// A timer of the forwarding producer.
    pub fn on_producer_timer(&mut self, timer: ProducerTimer, ctx: &mut Ctx<'_>) {
        let Some(forwarder) = self.forwarder.as_mut() else { return };
        forwarder.producer.on_timer(timer, ctx);
        self.drain_forward_completions(ctx);
    }

    /// Hand a response to the forwarding producer if it is one of its requests' (then None), else give
    /// the message back to the consumer.
    pub(crate) fn forward_message(&mut self, from: NodeId, message: Remoting, ctx: &mut Ctx<'_>) -> Option<Remoting> {
        let Some(forwarder) = self.forwarder.as_mut() else { return Some(message) };
        match &message {
            Remoting::Response { opaque, .. } if forwarder.producer.awaits_response(*opaque) => {
                forwarder.producer.on_message(from, message, ctx);
                self.drain_forward_completions(ctx);
                None
            }
            _ => Some(message),
        }
    }

    /// The channel to `peer` closed: the forwarding producer's calls on it fail too.
    pub(crate) fn forward_connection_closed(&mut self, peer: NodeId, ctx: &mut Ctx<'_>) {
        let Some(forwarder) = self.forwarder.as_mut() else { return };
        forwarder.producer.on_connection_closed(peer, ctx);
        self.drain_forward_completions(ctx);
    }

    /// Send the copy of the worker's next message, or, when none is left (or a send failed), return the
    /// listener's answer.
    pub(crate) fn forward_next(&mut self, worker: u32, ctx: &mut Ctx<'_>) {
        let Some(WorkerState::Forwarding { mq, pq_id, msgs, call, next }) = self.workers.get(&worker).cloned() else {
            return;
        };
        if next >= msgs.len() || call.outcome != ListenerOutcome::Success {
            self.process_consume_result(worker, mq, pq_id, msgs, call, ctx);
            return;
        }
        let group = self.spec.group.clone();
        let client_id = self.client_id.clone();
        let forwarder = self.forwarder.as_mut().expect("a forwarding worker has a forwarder");
        let mut copy = forwarded_copy(&msgs[next], &forwarder.topic);
        let msg_id = forwarder.producer.create_unique_id(ctx.now());
        copy.set_unique_key_if_absent(|| msg_id.clone());
        ctx.observe(Observation::MessageForwarded {
            group,
            client_id,
            from_msg_id: msg_id_of(&msgs[next]),
            topic: forwarder.topic.clone(),
            msg_id,
        });
        let send_id = forwarder.producer.next_send_id();
        ctx.observe(Observation::SendRequested {
            send_id,
            topic: forwarder.topic.clone(),
            mode: SendMode::Sync,
            seqs: vec![forwarder.next_seq],
            business_keys: copy.keys().map(str::to_string).into_iter().collect(),
            resend: 0,
        });
        forwarder.next_seq += 1;
        forwarder.sends.insert(send_id, worker);
        forwarder.producer.send(Payload::Single(copy), SendMode::Sync, Target::RoundRobin, worker, ctx);
    }

    /// Hand the forwarding producer's finished sends to the workers waiting for them.
    pub(crate) fn drain_forward_completions(&mut self, ctx: &mut Ctx<'_>) {
        loop {
            let completions = match self.forwarder.as_mut() {
                Some(forwarder) => forwarder.producer.take_completions(),
                None => return,
            };
            if completions.is_empty() {
                return;
            }
            for completion in completions {
                self.on_forward_completed(completion, ctx);
            }
        }
    }

    fn on_forward_completed(&mut self, completion: Completion, ctx: &mut Ctx<'_>) {
        let Some(forwarder) = self.forwarder.as_mut() else { return };
        let Some(worker) = forwarder.sends.remove(&completion.send_id) else { return };
        let ok = matches!(&completion.result, Some(Ok(result)) if result.send_status == SendStatus::SendOk);
        if ok {
            forwarder.stats.sent_ok += 1;
        } else {
            forwarder.stats.failed += 1;
        }
        let Some(WorkerState::Forwarding { next, call, .. }) = self.workers.get_mut(&worker) else { return };
        if ok {
            *next += 1;
        } else {
            // The application's `producer.send` threw (or returned a status it does not accept).
            call.outcome = ListenerOutcome::ReconsumeLater;
        }
        self.forward_next(worker, ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forwarded_copy_keeps_body_tags_keys_and_user_properties_and_names_its_original() {
        let msg = MessageExt {
            topic: "Billing".into(),
            queue_id: 1,
            queue_offset: 7,
            body: vec![1, 2, 3],
            flag: 5,
            properties: "TAGS\u{1}paid\u{2}KEYS\u{1}order-1 order-2\u{2}WAIT\u{1}true\u{2}UNIQ_KEY\u{1}AB\u{2}\
                         region\u{1}eu\u{2}MIN_OFFSET\u{1}0"
                .into(),
            ..MessageExt::default()
        };
        let copy = forwarded_copy(&msg, "BillingV2");
        assert_eq!(copy.topic, "BillingV2");
        assert_eq!(copy.body, vec![1, 2, 3]);
        assert_eq!(copy.flag, 5);
        assert_eq!(copy.tags(), Some("paid"));
        assert_eq!(copy.keys(), Some("order-1 order-2"));
        assert_eq!(copy.properties.get("region"), Some("eu"));
        assert_eq!(copy.properties.get(FORWARDED_FROM_PROPERTY), Some("AB"));
        assert_eq!(copy.unique_key(), None, "the copy gets its own msgId");
        assert_eq!(copy.properties.get("MIN_OFFSET"), None, "system properties are not the application's");
    }
}
