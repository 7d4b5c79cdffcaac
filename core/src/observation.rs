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
    // ---- Consumers (issue 5/8): the consumer side of each message's fate. ----
    /// A broker stored a consumer's send-back: in `%RETRY%<group>` (through SCHEDULE_TOPIC_XXXX at
    /// `delay_level`) or in `%DLQ%<group>`. `reconsume_times` is the copy's (one more than the original's).
    MessageSentBack {
        group: String,
        origin_topic: String,
        msg_id: String,
        reconsume_times: i32,
        destination: SentBackTo,
    },
    /// `ScheduleMessageService` put a delayed message back into its real topic.
    DelayedMessageDelivered {
        delay_level: i32,
        topic: String,
        queue_id: i32,
        queue_offset: i64,
        msg_id: String,
        reconsume_times: i32,
    },
    /// A broker's consume offset of (group, topic, queue) changed: an UPDATE_CONSUMER_OFFSET, or the offset
    /// a pull carried.
    ConsumerOffsetCommitted { group: String, topic: String, queue_id: i32, offset: i64 },
    /// An operator changed a topic's queue numbers on a broker.
    TopicUpdated { topic: String, read_queue_nums: u32, write_queue_nums: u32 },
    /// A broker computed a reset of a group's offsets (sent to its consumers, or written itself when none
    /// is online).
    OffsetReset { group: String, topic: String, offsets: Vec<(MessageQueue, i64)>, consumers_online: bool },
    /// A broker refused an offset reset.
    OffsetResetRefused { group: String, topic: String, reason: String },
    /// A consumer computed its share of a topic (`rebalanceByTopic`): the ids and queue count it saw and the
    /// queues it now owns. For BROADCASTING `cid_all` is empty and every queue is owned.
    RebalanceAllocated {
        group: String,
        client_id: String,
        topic: String,
        cid_all: Vec<String>,
        mq_all: u32,
        allocated: Vec<MessageQueue>,
    },
    /// A consumer created a process queue and will pull from `offset`.
    ProcessQueueAdded { group: String, client_id: String, queue: MessageQueue, offset: i64 },
    /// A consumer dropped a process queue (results of messages in flight on it will be discarded).
    ProcessQueueDropped { group: String, client_id: String, queue: MessageQueue, reason: DropReason },
    /// A pull brought messages into a process queue (`(queue offset, msgId)` each, msgId = UNIQ_KEY).
    MessagesPulled { group: String, client_id: String, queue: MessageQueue, messages: Vec<(i64, String)> },
    /// The application's listener started on a message.
    ConsumeStarted {
        group: String,
        client_id: String,
        queue: MessageQueue,
        queue_offset: i64,
        msg_id: String,
        reconsume_times: i32,
    },
    /// The listener finished a message. `discarded`: its process queue was dropped meanwhile, so the
    /// result does not count (no offset update, no send-back).
    ConsumeFinished {
        group: String,
        client_id: String,
        queue: MessageQueue,
        queue_offset: i64,
        msg_id: String,
        status: ConsumeOutcome,
        discarded: bool,
    },
    /// A consumer's offset store took a new value for a queue (in memory).
    ConsumeOffsetUpdated { group: String, client_id: String, queue: MessageQueue, offset: i64 },
    /// A consumer sent its offset to the broker (UPDATE_CONSUMER_OFFSET) or wrote it to its local file.
    ConsumeOffsetPersisted { group: String, client_id: String, queue: MessageQueue, offset: i64 },
    /// CONSUMER_SEND_MSG_BACK failed; the message stays in the process queue and is retried locally in 5 s.
    SendBackFailed { group: String, client_id: String, msg_id: String, error: String },
    /// An orderly consumer's view of its broker lock on a queue changed.
    QueueLockChanged { group: String, client_id: String, queue: MessageQueue, locked: bool },
    /// A commit-before-process application finished the work of a message it had already acknowledged
    /// (`ok = false`: the work failed, and nothing will bring the message back).
    BackgroundWorkFinished {
        group: String,
        client_id: String,
        queue: MessageQueue,
        queue_offset: i64,
        msg_id: String,
        ok: bool,
    },
    /// A pull consumer's application got messages from `poll()`.
    MessagesPolled { group: String, client_id: String, queue: MessageQueue, messages: Vec<(i64, String)> },
    // ---- Replication (issue 4/8). ----
    /// A broker changed its RocketMQ role at run time (DLedger's role change handler, 5.x controller mode):
    /// its broker id and `BrokerRole` now, and the DLedger term or 5.x master epoch it follows.
    BrokerRoleChanged { broker_name: String, broker_addr: String, broker_id: u64, role: String, term: Option<i64> },
    /// A DLedger member changed role (CANDIDATE, FOLLOWER, LEADER) in `term`.
    DLedgerRoleChanged {
        group: String,
        self_id: String,
        term: i64,
        role: String,
        leader_id: Option<String>,
        ledger_end_index: i64,
        committed_index: i64,
    },
    /// A replica cut the end of its CommitLog to follow its (new) leader or master: DLedger's TRUNCATE, a
    /// 5.x slave truncating to the epoch boundary. What was cut is gone from that replica.
    ReplicaTruncated { broker_name: String, broker_addr: String, from_offset: i64, bytes_cut: i64, reason: String },
    /// 5.x controller: a master was elected for a broker set (epoch, the new SyncStateSet, how).
    MasterElected {
        broker_name: String,
        master_id: Option<u64>,
        master_addr: Option<String>,
        epoch: u32,
        sync_state_set: Vec<u64>,
        unclean: bool,
    },
    /// 5.x controller: a broker set's SyncStateSet changed.
    SyncStateSetChanged { broker_name: String, sync_state_set: Vec<u64>, epoch: u32 },
    // ---- Transactions (issue 6/8): a transactional message's fate. ----
    /// A broker stored a half (prepared) message in `RMQ_SYS_TRANS_HALF_TOPIC` (invisible to consumers).
    TransactionHalfStored {
        producer_group: String,
        msg_id: String,
        real_topic: String,
        commit_log_offset: i64,
        queue_offset: i64,
    },
    /// A producer's application ended its local transaction: the state it returned, or `crashed` when the
    /// process died after the local commit, before END_TRANSACTION left.
    LocalTransactionExecuted {
        producer_group: String,
        msg_id: String,
        state: crate::protocol::transaction::LocalTransactionState,
        crashed: bool,
    },
    /// END_TRANSACTION reached a broker; `result` is what the broker did ("SUCCESS", "ignored (UNKNOW)",
    /// or its refusal).
    EndTransactionReceived {
        producer_group: String,
        msg_id: String,
        state: crate::protocol::transaction::LocalTransactionState,
        from_transaction_check: bool,
        result: String,
    },
    /// A commit stored the message in its real topic: consumers can see it now.
    TransactionCommitted { msg_id: String, topic: String, queue_id: i32, queue_offset: i64, commit_log_offset: i64 },
    /// A rollback: the message will never be delivered.
    TransactionRolledBack { msg_id: String, real_topic: String },
    /// An op message (tag `d`) marked the half message at `half_queue_offset` as resolved.
    TransactionOpWritten { msg_id: String, half_queue_offset: i64, op_queue_offset: i64 },
    /// The check service asked a producer of the group (`to_client`; None: no producer channel, nobody was
    /// asked) about a half message; `check_times` counts this check.
    TransactionCheckSent { producer_group: String, msg_id: String, check_times: i32, to_client: Option<String> },
    /// A producer answered a check from its local transaction table.
    TransactionCheckAnswered {
        producer_group: String,
        msg_id: String,
        state: crate::protocol::transaction::LocalTransactionState,
    },
    /// A half message was moved to `TRANS_CHECK_MAX_TIME_TOPIC` (checked `transactionCheckMax` times, or
    /// older than `fileReservedTime`): it will never be delivered.
    TransactionDiscarded { producer_group: String, msg_id: String, check_times: i32, reason: String },
    // ---- Filtering (issue 6/8): the subscription-consistency trap. ----
    /// A consumer's heartbeat replaced its group's stored subscription of `topic` with another expression:
    /// from now on every member's pulls are filtered with `current`.
    SubscriptionReplaced {
        group: String,
        topic: String,
        client_id: String,
        previous: String,
        current: String,
        expression_type: String,
    },
    /// A pull by `client_id` skipped a message because the group's stored subscription (`applied`) rejected its
    /// tag while members of the group subscribe to it (`wanted_by`: client id, its own expression): nobody who
    /// wants it will see it, the offset passes it.
    MessageFilteredAgainstIntent {
        group: String,
        client_id: String,
        topic: String,
        queue_id: i32,
        queue_offset: i64,
        applied: String,
        wanted_by: Vec<(String, String)>,
    },
    // ---- The 5.x timer wheel (issue 6/8). ----
    /// The wheel wrote a timer message to its real topic: visible from now on.
    TimerMessageDelivered { msg_id: String, topic: String, queue_id: i32, queue_offset: i64, timer_out_ms: i64 },
    /// The wheel rolled a message due beyond its window back into `rmq_sys_wheel_timer`.
    TimerMessageRolled { msg_id: String, timer_out_ms: i64, roll_times: i32 },
    /// A consumer's client-side tag re-check dropped messages the broker let through (a tag hash collision,
    /// or a group subscription that is not this member's): `(queue offset, msgId, TAGS)`.
    MessagesFilteredByClient {
        group: String,
        client_id: String,
        queue: MessageQueue,
        messages: Vec<(i64, String, Option<String>)>,
    },
    /// A forwarding listener (`workload.forward_to`) is about to send a copy of `from_msg_id` to `topic`:
    /// the copy is its own message `msg_id`, with the link in its `FORWARDED_FROM_MSG_ID` property. Its send
    /// is the consumer node's `SendRequested` that follows.
    MessageForwarded { group: String, client_id: String, from_msg_id: String, topic: String, msg_id: String },
}

/// Where a send-back went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SentBackTo {
    Retry { delay_level: i32 },
    DeadLetterQueue,
}

impl From<crate::broker::delay_level::SendBackDestination> for SentBackTo {
    fn from(destination: crate::broker::delay_level::SendBackDestination) -> Self {
        match destination {
            crate::broker::delay_level::SendBackDestination::Retry { delay_level } => SentBackTo::Retry { delay_level },
            crate::broker::delay_level::SendBackDestination::DeadLetterQueue => SentBackTo::DeadLetterQueue,
        }
    }
}

/// Why a consumer dropped a process queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DropReason {
    /// A rebalance gave the queue to someone else (or to nobody).
    Rebalance,
    /// No pull for more than 120 s (`isPullExpired`).
    PullExpired,
    /// The broker answered OFFSET_ILLEGAL.
    OffsetIllegal,
    /// An operator reset the group's offsets.
    ResetOffset,
    /// The topic is no longer subscribed.
    NotMyTopic,
    /// The consumer shut down.
    Shutdown,
}

/// How one message's consumption ended, as the consume service saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsumeOutcome {
    /// CONSUME_SUCCESS (concurrent) / SUCCESS (orderly).
    Success,
    /// RECONSUME_LATER (concurrent) / SUSPEND_CURRENT_QUEUE_A_MOMENT (orderly).
    ReconsumeLater,
    /// The listener threw: RECONSUME_LATER / SUSPEND.
    Exception,
    /// The idempotent application had seen the message already and skipped its work.
    DuplicateSkipped,
    /// Acknowledged before the work was done (commit-before-process); the work runs after.
    AckedBeforeProcessing,
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
