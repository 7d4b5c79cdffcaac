//! One pass of `TransactionalMessageServiceImpl.check` (4.9.8), as `TransactionalMessageCheckService`
//! runs it every `transactionCheckInterval`.
//!
//! For each half queue (the half topic is created with one queue on first use, persisted and
//! registered, as `fetchMessageQueues` → `createTopicInSendMessageBackMethod` does):
//! 1. Read op messages from the op queue's consume offset, 32 at a time: an op naming a half offset
//!    below the half consume offset is *done*; others fill the *remove map* (half offset → op offset).
//! 2. Walk half offsets from the half consume offset. A half in the remove map is resolved: skip it.
//!    Otherwise read it; none there ends the walk (after one skip over an unreadable offset). A half
//!    already checked `transactionCheckMax` times (its TRANSACTION_CHECK_TIMES; absent counts as a first
//!    check) or older than `fileReservedTime` is discarded to `TRANS_CHECK_MAX_TIME_TOPIC`. A half stored
//!    after the pass started (the copies this pass appends) ends the walk; so does one younger than
//!    `transactionTimeOut` (or its CHECK_IMMUNITY_TIME_IN_SECONDS, for which an immunity copy is
//!    appended instead). If op messages remain unread, read 32 more and look again; when they are
//!    exhausted, the half needs a check: append a copy with the incremented count and send
//!    CHECK_TRANSACTION_STATE about the *copy* (its offsets are what the producer's answer names).
//! 3. Commit the new half offset and the op offset advanced over the contiguous done ops.
//!
//! Deviation: when appending a copy fails (the store refuses writes), RocketMQ retries the same offset
//! in a busy loop until its 60 s budget ends; the pass ends there instead.

use crate::broker::broker_store_io::{wall_clock_ms, BrokerStoreIo};
use crate::broker::consumer_send_msg_back::create_topic_in_send_message_back_method;
use crate::broker::controller::BrokerController;
use crate::broker::store::get_message::GetMessageStatus;
use crate::broker::store::message_id::create_message_id;
use crate::broker::store::message_record::MessageRecord;
use crate::broker::store::offsets::QueueOffset;
use crate::broker::store::properties::PROPERTY_TAGS;
use crate::broker::store::put_message_result::{PutMessageResult, PutOutcome};
use crate::broker::topic_validator::{
    RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC, RMQ_SYS_TRANS_HALF_TOPIC, RMQ_SYS_TRANS_OP_HALF_TOPIC,
};
use crate::observation::Observation;
use crate::protocol::consumer::MessageExt;
use crate::protocol::transaction::{CheckTransactionStateRequestHeader, TransactionRequest};
use crate::protocol::{Message, Request};
use crate::route::perm;
use crate::world::Ctx;

use super::bridge::{
    self, CID_SYS_RMQ_TRANS, PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS, PROPERTY_TRANSACTION_CHECK_TIMES,
};

/// `PullResult` as the bridge reads the half and op queues.
#[derive(Clone, Debug)]
struct QueueRead {
    status: ReadStatus,
    next_begin_offset: i64,
    /// `msgFoundList` (None unless FOUND).
    messages: Option<Vec<MessageRecord>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReadStatus {
    Found,
    NoNewMsg,
    NoMatchedMsg,
    OffsetIllegal,
}

/// Where a check pass is, for one half queue.
struct Walk {
    remove_map: std::collections::BTreeMap<i64, i64>,
    done_op_offsets: Vec<i64>,
}

impl BrokerController {
    /// `TransactionalMessageBridge.getMessage`.
    fn read_queue(&self, ctx: &Ctx<'_>, topic: &str, queue_id: i32, offset: i64, nums: i32) -> Option<QueueRead> {
        let result =
            self.store.get_message(ctx.disk(), CID_SYS_RMQ_TRANS, topic, queue_id, QueueOffset(offset), nums, None)?;
        let status = match result.status {
            GetMessageStatus::Found => ReadStatus::Found,
            GetMessageStatus::NoMatchedMessage => ReadStatus::NoMatchedMsg,
            GetMessageStatus::NoMessageInQueue | GetMessageStatus::OffsetOverflowOne => ReadStatus::NoNewMsg,
            _ => ReadStatus::OffsetIllegal,
        };
        let messages =
            (status == ReadStatus::Found).then(|| result.messages.iter().filter_map(|m| m.decode()).collect());
        Some(QueueRead { status, next_begin_offset: result.next_begin_offset.0, messages })
    }

    /// `fillOpRemoveMap`.
    fn fill_op_remove_map(
        &mut self,
        walk: &mut Walk,
        op_queue: i32,
        pull_offset_of_op: i64,
        mini_offset: i64,
        ctx: &mut Ctx<'_>,
    ) -> Option<QueueRead> {
        let read = self.read_queue(ctx, RMQ_SYS_TRANS_OP_HALF_TOPIC, op_queue, pull_offset_of_op, 32)?;
        match read.status {
            ReadStatus::OffsetIllegal | ReadStatus::NoMatchedMsg => {
                self.update_transaction_offset(RMQ_SYS_TRANS_OP_HALF_TOPIC, op_queue, read.next_begin_offset, ctx);
                return Some(read);
            }
            ReadStatus::NoNewMsg => return Some(read),
            ReadStatus::Found => {}
        }
        for op in read.messages.iter().flatten() {
            let half_offset = std::str::from_utf8(&op.body).ok().and_then(|s| s.parse::<i64>().ok()).unwrap_or(-1);
            if op.properties.get(PROPERTY_TAGS) != Some(bridge::REMOVE_TAG) {
                continue; // "Found a illegal tag in opMessageExt"
            }
            if half_offset < mini_offset {
                walk.done_op_offsets.push(op.queue_offset.0);
            } else {
                walk.remove_map.insert(half_offset, op.queue_offset.0);
            }
        }
        Some(read)
    }

    /// `updateConsumeOffset` for the check service's group.
    fn update_transaction_offset(&mut self, topic: &str, queue_id: i32, offset: i64, ctx: &mut Ctx<'_>) {
        self.commit_consumer_offset(CID_SYS_RMQ_TRANS, topic, queue_id, offset, ctx);
    }

    /// Put `record` (an internal, un-waited put): the result, with stored statuses counted as success.
    fn put_internal(&mut self, record: &MessageRecord, ctx: &mut Ctx<'_>) -> PutMessageResult {
        let mut io = BrokerStoreIo { ctx };
        match self.store.put_message(&mut io, record) {
            PutOutcome::Done(result) | PutOutcome::Pending { result, .. } => result,
        }
    }

    /// One check pass over every half queue.
    pub(crate) fn transaction_check(&mut self, ctx: &mut Ctx<'_>) {
        self.transaction.stats.check_passes += 1;
        let now_ms = wall_clock_ms(ctx.now());
        let (config, created) = create_topic_in_send_message_back_method(
            &mut self.topic_config_manager,
            RMQ_SYS_TRANS_HALF_TOPIC,
            1,
            perm::READ | perm::WRITE,
            0,
            ctx.now().as_millis(),
        );
        if created {
            self.persist_topics(ctx);
            self.register_broker_all(ctx);
        }
        for queue_id in 0..config.read_queue_nums as i32 {
            self.check_half_queue(queue_id, now_ms, ctx);
        }
        self.settle_store_events(ctx);
    }

    fn check_half_queue(&mut self, queue_id: i32, start_ms: i64, ctx: &mut Ctx<'_>) {
        let timeout = self.spec.config.transaction_time_out as i64;
        let check_max = self.spec.config.transaction_check_max as i32;
        let file_reserved_ms = i64::from(self.store.config().file_reserved_time) * 3_600 * 1_000;
        let op_queue = queue_id;
        let half_offset = self.transaction_consume_offset(RMQ_SYS_TRANS_HALF_TOPIC, queue_id);
        let op_offset = self.transaction_consume_offset(RMQ_SYS_TRANS_OP_HALF_TOPIC, op_queue);
        let mut walk = Walk { remove_map: Default::default(), done_op_offsets: Vec::new() };
        let Some(mut op_read) = self.fill_op_remove_map(&mut walk, op_queue, op_offset, half_offset, ctx) else {
            return;
        };
        let mut get_message_null_count = 1;
        let mut new_offset = half_offset;
        let mut i = half_offset;
        loop {
            if let Some(op_offset) = walk.remove_map.remove(&i) {
                walk.done_op_offsets.push(op_offset);
            } else {
                let read = self.read_queue(ctx, RMQ_SYS_TRANS_HALF_TOPIC, queue_id, i, 1);
                let half = read.as_ref().and_then(|r| r.messages.as_ref()).and_then(|m| m.first().cloned());
                let Some(mut half) = half else {
                    let null_count = get_message_null_count;
                    get_message_null_count += 1;
                    if null_count > 1 {
                        break;
                    }
                    match read {
                        Some(read) if read.status != ReadStatus::NoNewMsg => {
                            i = read.next_begin_offset;
                            new_offset = i;
                            continue;
                        }
                        _ => break,
                    }
                };
                let now_ms = wall_clock_ms(ctx.now());
                if need_discard(&mut half, check_max) || now_ms - half.born_timestamp > file_reserved_ms {
                    self.resolve_discard_msg(&half, ctx);
                    new_offset = i + 1;
                    i += 1;
                    continue;
                }
                if half.store_timestamp >= start_ms {
                    break;
                }
                let value_of_current_minus_born = now_ms - half.born_timestamp;
                let mut check_immunity_time = timeout;
                if let Some(immunity) = half.properties.get(PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS) {
                    check_immunity_time = immunity_time(immunity, timeout);
                    if value_of_current_minus_born < check_immunity_time
                        && self.check_prepare_queue_offset(&mut walk, &half, ctx)
                    {
                        new_offset = i + 1;
                        i += 1;
                        continue;
                    }
                } else if (0..check_immunity_time).contains(&value_of_current_minus_born) {
                    break;
                }
                let need_check = match &op_read.messages {
                    None => value_of_current_minus_born > check_immunity_time,
                    Some(ops) => ops.last().is_some_and(|op| op.born_timestamp - start_ms > timeout),
                } || value_of_current_minus_born <= -1;
                if need_check {
                    if !self.put_back_half_msg_queue(&mut half, ctx) {
                        break;
                    }
                    self.resolve_half_msg(&half, ctx);
                } else {
                    let next = op_read.next_begin_offset;
                    match self.fill_op_remove_map(&mut walk, op_queue, next, half_offset, ctx) {
                        Some(read) => op_read = read,
                        None => break,
                    }
                    continue;
                }
            }
            new_offset = i + 1;
            i += 1;
        }
        if new_offset != half_offset {
            self.update_transaction_offset(RMQ_SYS_TRANS_HALF_TOPIC, queue_id, new_offset, ctx);
        }
        let new_op_offset = calculate_op_offset(&mut walk.done_op_offsets, op_offset);
        if new_op_offset != op_offset {
            self.update_transaction_offset(RMQ_SYS_TRANS_OP_HALF_TOPIC, op_queue, new_op_offset, ctx);
        }
    }

    /// `checkPrepareQueueOffset`: true to skip the half (its prepare was resolved, or an immunity copy was
    /// appended).
    fn check_prepare_queue_offset(&mut self, walk: &mut Walk, half: &MessageRecord, ctx: &mut Ctx<'_>) -> bool {
        match half.properties.get(bridge::PROPERTY_TRANSACTION_PREPARED_QUEUE_OFFSET) {
            None => self.put_immunity_msg_back_to_half_queue(half, ctx),
            Some(text) => {
                let prepare_queue_offset = text.parse::<i64>().unwrap_or(-1);
                if prepare_queue_offset == -1 {
                    return false;
                }
                match walk.remove_map.remove(&prepare_queue_offset) {
                    Some(op_offset) => {
                        walk.done_op_offsets.push(op_offset);
                        true
                    }
                    None => self.put_immunity_msg_back_to_half_queue(half, ctx),
                }
            }
        }
    }

    fn put_immunity_msg_back_to_half_queue(&mut self, half: &MessageRecord, ctx: &mut Ctx<'_>) -> bool {
        let inner = bridge::renew_immunity_half_message_inner(half);
        let result = self.put_internal(&inner, ctx);
        result.status.is_stored() && result.append.is_some()
    }

    /// `putBackHalfMsgQueue`: append the copy; `half` then names the copy (offsets, offset msg id).
    fn put_back_half_msg_queue(&mut self, half: &mut MessageRecord, ctx: &mut Ctx<'_>) -> bool {
        let inner = bridge::renew_half_message_inner(half);
        let result = self.put_internal(&inner, ctx);
        match result.append {
            Some(append) if result.status.is_stored() => {
                half.queue_offset = append.logics_offset;
                half.physical_offset = append.wrote_offset;
                half.store_host = append.store_host;
                true
            }
            _ => false,
        }
    }

    /// `AbstractTransactionalMessageCheckListener.sendCheckMessage`.
    fn resolve_half_msg(&mut self, half: &MessageRecord, ctx: &mut Ctx<'_>) {
        let msg_id = half.properties.unique_key().unwrap_or_default().to_string();
        let offset_msg_id = create_message_id(&half.store_host, half.physical_offset);
        let header = CheckTransactionStateRequestHeader {
            tran_state_table_offset: half.queue_offset.0,
            commit_log_offset: half.physical_offset.0,
            msg_id: msg_id.clone(),
            transaction_id: msg_id.clone(),
            offset_msg_id: offset_msg_id.clone(),
        };
        let (real_topic, real_queue) = bridge::real_destination(half);
        let message = MessageExt {
            topic: real_topic,
            queue_id: real_queue,
            queue_offset: half.queue_offset.0,
            commit_log_offset: half.physical_offset.0,
            store_size: 0,
            body: half.body.clone(),
            flag: half.flag,
            sys_flag: half.sys_flag,
            born_timestamp: half.born_timestamp,
            born_host: half.born_host.to_string(),
            store_timestamp: half.store_timestamp,
            store_host: half.store_host.to_string(),
            reconsume_times: half.reconsume_times,
            properties: half.properties.to_properties_string(),
            offset_msg_id,
        };
        let group = bridge::producer_group(half).unwrap_or_default().to_string();
        let check_times =
            half.properties.get(PROPERTY_TRANSACTION_CHECK_TIMES).and_then(|t| t.parse().ok()).unwrap_or(1);
        let channel = self.get_available_channel(&group);
        self.transaction.stats.checks_sent += 1;
        let to_client = channel.as_ref().map(|(client_id, _)| client_id.clone());
        if channel.is_none() {
            self.transaction.stats.checks_without_producer += 1;
        }
        ctx.observe(Observation::TransactionCheckSent { producer_group: group, msg_id, check_times, to_client });
        if let Some((_, node)) = channel {
            let request = TransactionRequest::CheckTransactionState { header, message: Box::new(message) };
            ctx.send(node, Message::Oneway { request: Request::Transaction(Box::new(request)) });
        }
    }

    /// `ProducerManager.getAvailableChannel`: round robin over the group's channels (all registered
    /// channels are active here: a closed one has been removed).
    fn get_available_channel(&mut self, group: &str) -> Option<(String, crate::sim::node::NodeId)> {
        let channels: Vec<(String, crate::sim::node::NodeId)> =
            self.producer_table.get(group)?.iter().map(|(id, node)| (id.clone(), *node)).collect();
        if channels.is_empty() {
            return None;
        }
        self.transaction.channel_counter = self.transaction.channel_counter.wrapping_add(1) & 0x7fff_ffff;
        let index = self.transaction.channel_counter as usize % channels.len();
        Some(channels[index].clone())
    }

    /// `DefaultTransactionalMessageCheckListener.resolveDiscardMsg`.
    fn resolve_discard_msg(&mut self, half: &MessageRecord, ctx: &mut Ctx<'_>) {
        let (_, created) = create_topic_in_send_message_back_method(
            &mut self.topic_config_manager,
            RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC,
            1,
            perm::READ | perm::WRITE,
            0,
            ctx.now().as_millis(),
        );
        if created {
            self.persist_topics(ctx);
            self.register_broker_all(ctx);
        }
        let inner = bridge::to_check_max_time_record(half);
        let result = self.put_internal(&inner, ctx);
        let check_times =
            half.properties.get(PROPERTY_TRANSACTION_CHECK_TIMES).and_then(|t| t.parse().ok()).unwrap_or(0);
        let reason = if half.properties.get(PROPERTY_TRANSACTION_CHECK_TIMES).is_some() {
            "checked transactionCheckMax times"
        } else {
            "older than fileReservedTime"
        };
        if result.status.is_stored() {
            self.transaction.stats.discarded += 1;
            ctx.observe(Observation::TransactionDiscarded {
                producer_group: bridge::producer_group(half).unwrap_or_default().to_string(),
                msg_id: half.properties.unique_key().unwrap_or_default().to_string(),
                check_times,
                reason: reason.to_string(),
            });
        }
    }
}

/// `needDiscard`: counts this check in TRANSACTION_CHECK_TIMES, or says the maximum is reached.
fn need_discard(half: &mut MessageRecord, transaction_check_max: i32) -> bool {
    let mut check_time = 1;
    if let Some(times) = half.properties.get(PROPERTY_TRANSACTION_CHECK_TIMES) {
        check_time = times.parse::<i32>().unwrap_or(-1);
        if check_time >= transaction_check_max {
            return true;
        }
        check_time += 1;
    }
    half.properties.put(PROPERTY_TRANSACTION_CHECK_TIMES, &check_time.to_string());
    false
}

/// `getImmunityTime`: seconds to ms, -1 (or unreadable) meaning the transaction timeout.
fn immunity_time(text: &str, transaction_timeout: i64) -> i64 {
    match text.parse::<i64>().unwrap_or(-1) {
        -1 => transaction_timeout,
        seconds => seconds.saturating_mul(1_000),
    }
}

/// `calculateOpOffset`: advance over the contiguous done op offsets.
fn calculate_op_offset(done: &mut [i64], old_offset: i64) -> i64 {
    done.sort_unstable();
    let mut new_offset = old_offset;
    for offset in done.iter() {
        if *offset == new_offset {
            new_offset += 1;
        } else {
            break;
        }
    }
    new_offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fifteenth_check_is_the_last_and_the_next_pass_discards() {
        let mut half = MessageRecord::new("RMQ_SYS_TRANS_HALF_TOPIC", b"x".to_vec());
        for expected in 1..=15 {
            assert!(!need_discard(&mut half, 15));
            assert_eq!(half.properties.get(PROPERTY_TRANSACTION_CHECK_TIMES), Some(expected.to_string().as_str()));
        }
        assert!(need_discard(&mut half, 15), "15 checks done: discard");
    }

    #[test]
    fn op_offsets_advance_over_contiguous_done_ops_only() {
        assert_eq!(calculate_op_offset(&mut [3, 1, 2, 5], 1), 4);
        assert_eq!(calculate_op_offset(&mut [], 7), 7);
        assert_eq!(immunity_time("-1", 6_000), 6_000);
        assert_eq!(immunity_time("10", 6_000), 10_000);
    }
}
