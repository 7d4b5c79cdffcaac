//! Observations: what nodes report for the checkers, the charts and the fate ledger.
//!
//! Nodes emit them and never read them back; checkers only read them. Each names RocketMQ's
//! own concepts so that a verdict can point at the event that caused it.

use serde::{Deserialize, Serialize};

use crate::message_queue::MessageQueue;
use crate::producer::send_result::SendStatus;
use crate::producer::workload::SendMode;

/// Why a NameServer dropped a broker from its routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BrokerRemovalReason {
    /// The periodic scan found no registration for longer than the expiry time.
    Expired,
    /// The broker's connection closed (Netty channel inactive).
    ChannelClosed,
    /// The broker said goodbye (UNREGISTER_BROKER on graceful shutdown).
    Unregistered,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Observation {
    /// A NameServer added a broker address to its routes.
    BrokerRegistered { broker_name: String, broker_addr: String, broker_id: u64 },
    /// A NameServer removed a broker address from its routes.
    BrokerRemoved { broker_name: String, broker_addr: String, reason: BrokerRemovalReason },
    /// A producer rebuilt its publish list for `topic` from a changed route (`queues` in send order).
    PublishRouteChanged { topic: String, queues: Vec<MessageQueue> },
    /// An application asked its producer to send messages (`seqs` and `business_keys` in member order;
    /// `resend` > 0 when the application resends a message it kept after a failure).
    SendRequested {
        send_id: u64,
        topic: String,
        mode: SendMode,
        seqs: Vec<u64>,
        business_keys: Vec<String>,
        resend: u32,
    },
    /// One attempt of a send went on the wire (`attempt` counts from 1 across sync and async retries).
    /// `msg_ids` are the UNIQ_KEYs, unchanged across attempts.
    SendAttempt {
        send_id: u64,
        attempt: u32,
        msg_ids: Vec<String>,
        mode: SendMode,
        queue: MessageQueue,
        broker_addr: String,
    },
    /// A send ended: with a result, with an exception, or (oneway) with nothing to know.
    SendCompleted { send_id: u64, msg_ids: Vec<String>, attempts: u32, outcome: SendOutcome },
    /// The application gave up on messages (no resend configured, resends exhausted, or backlog full).
    MessagesAbandoned { seqs: Vec<u64>, reason: String },
    /// A broker created a topic on a send (`autoCreateTopicEnable`, from TBW102).
    TopicAutoCreated { topic: String, read_queue_nums: u32, write_queue_nums: u32, perm: u32 },
    /// A broker refused a send before storing it (flow control, checks): the response it sent.
    SendRejected { topic: String, code: i32, remark: String },
    /// A broker appended a message to its CommitLog (it is in the page cache; how durable depends on the
    /// flush type). `msg_id` is the UNIQ_KEY, `offset_msg_id` the broker's id of this copy.
    MessageStored {
        topic: String,
        queue_id: i32,
        queue_offset: i64,
        commit_log_offset: i64,
        offset_msg_id: String,
        msg_id: String,
        store_timestamp: i64,
        wrote_bytes: i32,
    },
}

/// How a send ended, as the application learnt it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SendOutcome {
    /// A `SendResult`: stored on the master (the status says how durably).
    Sent { status: SendStatus, offset_msg_id: String, queue: MessageQueue, queue_offset: i64 },
    /// An exception (its Java class, message and response code).
    Failed { exception: String, message: String, response_code: Option<i32> },
    /// A oneway send: no result.
    Oneway,
}
