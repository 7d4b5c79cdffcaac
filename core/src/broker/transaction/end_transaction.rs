//! `EndTransactionProcessor` (4.9.8): END_TRANSACTION from a producer, after its local transaction or in
//! answer to a check.
//!
//! A slave answers SLAVE_NOT_AVAILABLE. "Not type" (the producer answered UNKNOW) is logged and ignored.
//! COMMIT and ROLLBACK look the half message up by its CommitLog offset ("Find prepared transaction
//! message failed" if unreadable) and check it (`checkPrepareMessage`: same producer group, queue offset
//! equal to `tranStateTableOffset`). COMMIT then stores the message in its real topic (RocketMQ's
//! statuses PUT_OK and the flush/slave timeouts are success) and, on success, deletes the prepare by
//! writing an op message; ROLLBACK only writes the op message. The request is oneway from producers, so
//! the response (computed as RocketMQ computes it) usually goes nowhere; it is observed.

use crate::broker::broker_store_io::BrokerStoreIo;
use crate::broker::controller::BrokerController;
use crate::broker::store::message_record::MessageRecord;
use crate::broker::store::message_store_config::BrokerRole;
use crate::broker::store::message_sys_flag::{
    TRANSACTION_COMMIT_TYPE, TRANSACTION_NOT_TYPE, TRANSACTION_ROLLBACK_TYPE,
};
use crate::broker::store::offsets::CommitLogOffset;
use crate::broker::store::put_message_result::{PutMessageStatus, PutOutcome};
use crate::broker::store::socket_address::SocketAddress;
use crate::broker::topic_validator::RMQ_SYS_TRANS_OP_HALF_TOPIC;
use crate::observation::Observation;
use crate::protocol::transaction::{EndTransactionRequestHeader, LocalTransactionState};
use crate::protocol::{Response, ResponseBody, ResponseCode};
use crate::sim::node::NodeId;
use crate::world::Ctx;

use super::bridge;

fn state_of(commit_or_rollback: i32) -> Option<LocalTransactionState> {
    match commit_or_rollback {
        TRANSACTION_COMMIT_TYPE => Some(LocalTransactionState::CommitMessage),
        TRANSACTION_ROLLBACK_TYPE => Some(LocalTransactionState::RollbackMessage),
        TRANSACTION_NOT_TYPE => Some(LocalTransactionState::Unknow),
        _ => None,
    }
}

impl BrokerController {
    /// `processRequest` for END_TRANSACTION: the response (None where RocketMQ returns null).
    pub(crate) fn end_transaction(
        &mut self,
        _from: NodeId,
        header: EndTransactionRequestHeader,
        _remark: Option<String>,
        ctx: &mut Ctx<'_>,
    ) -> Option<Response> {
        self.transaction.stats.end_transactions += 1;
        let state = state_of(header.commit_or_rollback)?;
        let observe = |ctx: &mut Ctx<'_>, result: &str| {
            ctx.observe(Observation::EndTransactionReceived {
                producer_group: header.producer_group.clone(),
                msg_id: header.msg_id.clone(),
                state,
                from_transaction_check: header.from_transaction_check,
                result: result.to_string(),
            });
        };
        if self.store.config().broker_role == BrokerRole::Slave {
            observe(ctx, "SLAVE_NOT_AVAILABLE");
            return Some(Response::error(ResponseCode::SLAVE_NOT_AVAILABLE, ""));
        }
        if state == LocalTransactionState::Unknow {
            self.transaction.stats.unknown_answers += 1;
            observe(ctx, "ignored (UNKNOW)");
            return None;
        }
        let prepare = self.store.look_message_by_offset(ctx.disk(), CommitLogOffset(header.commit_log_offset));
        let checked = match &prepare {
            None => Err("Find prepared transaction message failed"),
            Some(half) => check_prepare_message(half, &header),
        };
        let half = match (checked, prepare) {
            (Ok(()), Some(half)) => half,
            (checked, _) => {
                let remark = checked.err().unwrap_or("Find prepared transaction message failed");
                observe(ctx, remark);
                return Some(Response::error(ResponseCode::SYSTEM_ERROR, remark));
            }
        };
        if state == LocalTransactionState::RollbackMessage {
            self.transaction.stats.rolled_back += 1;
            observe(ctx, "SUCCESS");
            let (real_topic, _) = bridge::real_destination(&half);
            ctx.observe(Observation::TransactionRolledBack { msg_id: header.msg_id.clone(), real_topic });
            self.delete_prepare_message(&half, &header.msg_id, ctx);
            self.settle_store_events(ctx);
            return Some(Response::success(ResponseBody::Empty));
        }
        let inner = bridge::end_message_transaction(&half);
        let result = {
            let mut io = BrokerStoreIo { ctx };
            match self.store.put_message(&mut io, &inner) {
                PutOutcome::Done(result) | PutOutcome::Pending { result, .. } => result,
            }
        };
        let response = match (result.status.is_stored(), &result.append) {
            (true, Some(append)) => {
                self.transaction.stats.committed += 1;
                self.stats.messages_stored += 1;
                ctx.observe(Observation::MessageStored {
                    topic: inner.topic.clone(),
                    queue_id: inner.queue_id,
                    queue_offset: append.logics_offset.0,
                    commit_log_offset: append.wrote_offset.0,
                    offset_msg_id: append.msg_id(),
                    msg_id: inner.properties.unique_key().unwrap_or_default().to_string(),
                    store_timestamp: append.store_timestamp,
                    wrote_bytes: append.wrote_bytes,
                });
                ctx.observe(Observation::TransactionCommitted {
                    msg_id: header.msg_id.clone(),
                    topic: inner.topic.clone(),
                    queue_id: inner.queue_id,
                    queue_offset: append.logics_offset.0,
                    commit_log_offset: append.wrote_offset.0,
                });
                observe(ctx, "SUCCESS");
                self.delete_prepare_message(&half, &header.msg_id, ctx);
                Response::success(ResponseBody::Empty)
            }
            _ => {
                let (code, remark) = send_final_message_failure(result.status, self.store.config().max_message_size);
                observe(ctx, &remark);
                Response::error(code, remark)
            }
        };
        self.settle_store_events(ctx);
        Some(response)
    }

    /// `deletePrepareMessage` → `putOpMessage(REMOVETAG)`: the op record for `half`.
    pub(crate) fn delete_prepare_message(&mut self, half: &MessageRecord, msg_id: &str, ctx: &mut Ctx<'_>) {
        let now_ms = crate::broker::broker_store_io::wall_clock_ms(ctx.now());
        let store_host = SocketAddress::parse(&self.spec.broker_addr).expect("broker addresses are ip:port");
        let unique_key = self.broker_unique_id(now_ms);
        let op = bridge::make_op_message(half.queue_offset.0, half.queue_id, store_host, now_ms, &unique_key);
        let result = {
            let mut io = BrokerStoreIo { ctx };
            match self.store.put_message(&mut io, &op) {
                PutOutcome::Done(result) | PutOutcome::Pending { result, .. } => result,
            }
        };
        if let Some(append) = result.append.filter(|_| result.status.is_stored()) {
            self.transaction.stats.ops_written += 1;
            ctx.observe(Observation::TransactionOpWritten {
                msg_id: msg_id.to_string(),
                half_queue_offset: half.queue_offset.0,
                op_queue_offset: append.logics_offset.0,
            });
        }
        debug_assert_eq!(op.topic, RMQ_SYS_TRANS_OP_HALF_TOPIC);
    }

    /// Hand what the store produced meanwhile (dispatches, completions) to the broker.
    pub(crate) fn settle_store_events(&mut self, ctx: &mut Ctx<'_>) {
        let deferred = self.store.take_deferred_events();
        self.on_store_events(deferred, ctx);
    }
}

/// `checkPrepareMessage`.
fn check_prepare_message(half: &MessageRecord, header: &EndTransactionRequestHeader) -> Result<(), &'static str> {
    if bridge::producer_group(half) != Some(header.producer_group.as_str()) {
        return Err("The producer group wrong");
    }
    if half.queue_offset.0 != header.tran_state_table_offset {
        return Err("The transaction state table offset wrong");
    }
    if half.physical_offset.0 != header.commit_log_offset {
        return Err("The commit log offset wrong");
    }
    Ok(())
}

/// `sendFinalMessage`'s answer for a put that did not store the message.
fn send_final_message_failure(status: PutMessageStatus, max_message_size: u32) -> (ResponseCode, String) {
    match status {
        PutMessageStatus::CreateMappedFileFailed => (ResponseCode::SYSTEM_ERROR, "Create mapped file failed.".into()),
        PutMessageStatus::MessageIllegal | PutMessageStatus::PropertiesSizeExceeded => (
            ResponseCode::MESSAGE_ILLEGAL,
            format!(
                "The message is illegal, maybe msg body or properties length not matched. msg body length limit {max_message_size}B, msg properties length limit 32KB."
            ),
        ),
        PutMessageStatus::ServiceNotAvailable => (ResponseCode::SERVICE_NOT_AVAILABLE, "Service not available now.".into()),
        PutMessageStatus::OsPageCacheBusy => {
            (ResponseCode::SYSTEM_ERROR, "OS page cache busy, please try another machine".into())
        }
        PutMessageStatus::UnknownError => (ResponseCode::SYSTEM_ERROR, "UNKNOWN_ERROR".into()),
        _ => (ResponseCode::SYSTEM_ERROR, "UNKNOWN_ERROR DEFAULT".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::store::offsets::QueueOffset;
    use crate::broker::store::properties::PROPERTY_PRODUCER_GROUP;

    #[test]
    fn check_prepare_message_names_the_first_mismatch() {
        let mut half = MessageRecord::new("RMQ_SYS_TRANS_HALF_TOPIC", b"x".to_vec());
        half.properties.put(PROPERTY_PRODUCER_GROUP, "PG");
        half.queue_offset = QueueOffset(4);
        half.physical_offset = CommitLogOffset(100);
        let mut header = EndTransactionRequestHeader {
            producer_group: "PG".into(),
            tran_state_table_offset: 4,
            commit_log_offset: 100,
            commit_or_rollback: TRANSACTION_COMMIT_TYPE,
            from_transaction_check: false,
            msg_id: "M".into(),
            transaction_id: None,
        };
        assert_eq!(check_prepare_message(&half, &header), Ok(()));
        header.tran_state_table_offset = 5;
        assert_eq!(check_prepare_message(&half, &header), Err("The transaction state table offset wrong"));
        header.producer_group = "Other".into();
        assert_eq!(check_prepare_message(&half, &header), Err("The producer group wrong"));
        assert_eq!(state_of(12), Some(LocalTransactionState::RollbackMessage));
        assert_eq!(state_of(4), None, "PREPARED is not an answer");
    }
}
