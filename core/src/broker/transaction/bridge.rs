//! `TransactionalMessageBridge` and friends (4.9.8): how transactional records are rewritten.
//!
//! * Prepare (`parseHalfMessageInner`): REAL_TOPIC and REAL_QID saved in the properties, the
//!   transaction bits of the sys flag reset to NOT_TYPE, topic := `RMQ_SYS_TRANS_HALF_TOPIC`, queue 0.
//!   A NOT_TYPE record is dispatched like any other, so the half message *is* in the half topic's
//!   ConsumeQueue (where the check service reads it) and in no consumer's.
//! * Commit (`EndTransactionProcessor.endMessageTransaction`): a new record in the real topic and queue
//!   with the half's body, flag, born data, store host and properties, sys flag COMMIT_TYPE, the half's
//!   CommitLog offset as `preparedTransactionOffset`. RocketMQ clears REAL_TOPIC, REAL_QID and TRAN_MSG
//!   from the *map* after the properties *string* was built, and the CommitLog writes the string: the
//!   committed record keeps all three (a consumer sees `TRAN_MSG=true`). We store what RocketMQ stores.
//! * Op (`addRemoveTagInTransactionOp`): a message in `RMQ_SYS_TRANS_OP_HALF_TOPIC` (same queue id as the
//!   half queue) with tag `d` and the half's queue offset as its body (4.9: one offset per op message),
//!   born and stored by the broker, with a UNIQ_KEY of the broker's own.
//! * Check copy (`renewHalfMessageInner`): the half message appended again to the half topic with
//!   TRANSACTION_CHECK_TIMES updated; born timestamp and host kept.
//! * Discard (`DefaultTransactionalMessageCheckListener.toMessageExtBrokerInner`): the half message
//!   moved to `TRANS_CHECK_MAX_TIME_TOPIC` queue 0, never delivered.
//!
//! Internal puts carry `waitStoreMsgOK = false` in RocketMQ (in the map only, so it is not stored). The
//! store here reads WAIT from the record; rather than store a WAIT the real record lacks, callers treat
//! every "stored" status as success, which is what the un-waited put returns.

use crate::broker::store::message_record::{MessageRecord, MessageVersion};
use crate::broker::store::message_sys_flag::{reset_transaction_value, TRANSACTION_COMMIT_TYPE, TRANSACTION_NOT_TYPE};
use crate::broker::store::offsets::CommitLogOffset;
use crate::broker::store::properties::{
    PROPERTY_PRODUCER_GROUP, PROPERTY_REAL_QUEUE_ID, PROPERTY_REAL_TOPIC, PROPERTY_TAGS, PROPERTY_TRANSACTION_PREPARED,
    PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
};
use crate::broker::store::socket_address::SocketAddress;
use crate::broker::topic_validator::{
    RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC, RMQ_SYS_TRANS_HALF_TOPIC, RMQ_SYS_TRANS_OP_HALF_TOPIC,
};

/// `MixAll.CID_SYS_RMQ_TRANS`: the group under which the check service keeps its half and op offsets.
pub const CID_SYS_RMQ_TRANS: &str = "CID_RMQ_SYS_TRANS";
/// `TransactionalMessageUtil.REMOVETAG`.
pub const REMOVE_TAG: &str = "d";
pub use crate::broker::store::properties::{
    PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS, PROPERTY_TRANSACTION_CHECK_TIMES,
    PROPERTY_TRANSACTION_PREPARED_QUEUE_OFFSET,
};

/// `Boolean.parseBoolean(msg.getProperty(TRAN_MSG))`.
pub fn is_transaction_prepared(record: &MessageRecord) -> bool {
    record.properties.get(PROPERTY_TRANSACTION_PREPARED).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// `parseHalfMessageInner`.
pub fn parse_half_message_inner(record: &mut MessageRecord) {
    let real_topic = record.topic.clone();
    record.properties.put(PROPERTY_REAL_TOPIC, &real_topic);
    record.properties.put(PROPERTY_REAL_QUEUE_ID, &record.queue_id.to_string());
    record.sys_flag = reset_transaction_value(record.sys_flag, TRANSACTION_NOT_TYPE);
    record.topic = RMQ_SYS_TRANS_HALF_TOPIC.to_string();
    record.version = MessageVersion::for_topic(&record.topic);
    record.queue_id = 0;
}

/// The real topic and queue a half message is for.
pub fn real_destination(half: &MessageRecord) -> (String, i32) {
    let topic = half.properties.get(PROPERTY_REAL_TOPIC).unwrap_or_default().to_string();
    let queue_id = half.properties.get(PROPERTY_REAL_QUEUE_ID).and_then(|q| q.parse().ok()).unwrap_or(0);
    (topic, queue_id)
}

/// `endMessageTransaction` + the commit's sys flag and prepared offset: the record to put in the real topic.
pub fn end_message_transaction(half: &MessageRecord) -> MessageRecord {
    let (topic, queue_id) = real_destination(half);
    let mut inner = MessageRecord::new(&topic, half.body.clone());
    inner.queue_id = queue_id;
    inner.flag = half.flag;
    inner.born_timestamp = half.born_timestamp;
    inner.born_host = half.born_host;
    inner.store_host = half.store_host;
    inner.reconsume_times = half.reconsume_times;
    inner.sys_flag = reset_transaction_value(half.sys_flag, TRANSACTION_COMMIT_TYPE);
    inner.prepared_transaction_offset = half.physical_offset;
    // The stored properties string is the half's, REAL_TOPIC/REAL_QID/TRAN_MSG included (see above).
    inner.properties = half.properties.clone();
    inner
}

/// `renewHalfMessageInner`: the copy a check appends to the half topic.
pub fn renew_half_message_inner(half: &MessageRecord) -> MessageRecord {
    let mut inner = MessageRecord::new(&half.topic, half.body.clone());
    inner.queue_id = half.queue_id;
    inner.sys_flag = half.sys_flag;
    inner.properties = half.properties.clone();
    inner.born_timestamp = half.born_timestamp;
    inner.born_host = half.born_host;
    inner.store_host = half.store_host;
    inner
}

/// `renewImmunityHalfMessageInner`: the copy of a message still inside its check-immunity time, with the
/// queue offset of the original prepare recorded.
pub fn renew_immunity_half_message_inner(half: &MessageRecord) -> MessageRecord {
    let mut inner = renew_half_message_inner(half);
    let prepared = half
        .properties
        .get(PROPERTY_TRANSACTION_PREPARED_QUEUE_OFFSET)
        .map(str::to_string)
        .unwrap_or_else(|| half.queue_offset.0.to_string());
    inner.properties.put(PROPERTY_TRANSACTION_PREPARED_QUEUE_OFFSET, &prepared);
    inner
}

/// `addRemoveTagInTransactionOp` + `makeOpMessageInner`: the op record for the half at `half_queue_offset`.
pub fn make_op_message(
    half_queue_offset: i64,
    op_queue_id: i32,
    store_host: SocketAddress,
    now_ms: i64,
    unique_key: &str,
) -> MessageRecord {
    let mut inner = MessageRecord::new(RMQ_SYS_TRANS_OP_HALF_TOPIC, half_queue_offset.to_string().into_bytes());
    inner.queue_id = op_queue_id;
    inner.properties.put(PROPERTY_TAGS, REMOVE_TAG);
    inner.properties.put(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, unique_key);
    inner.born_timestamp = now_ms;
    inner.born_host = store_host;
    inner.store_host = store_host;
    inner
}

/// `toMessageExtBrokerInner`: the discarded half message in `TRANS_CHECK_MAX_TIME_TOPIC` (one queue).
pub fn to_check_max_time_record(half: &MessageRecord) -> MessageRecord {
    let mut inner = MessageRecord::new(RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC, half.body.clone());
    inner.flag = half.flag;
    inner.properties = half.properties.clone();
    inner.queue_id = 0;
    inner.sys_flag = half.sys_flag;
    inner.born_host = half.born_host;
    inner.born_timestamp = half.born_timestamp;
    inner.store_host = half.store_host;
    inner.reconsume_times = half.reconsume_times;
    inner
}

/// The producer group a half message belongs to (PGROUP).
pub fn producer_group(half: &MessageRecord) -> Option<&str> {
    half.properties.get(PROPERTY_PRODUCER_GROUP)
}

/// The CommitLog offset as the END_TRANSACTION header names it.
pub fn offset_of(record: &MessageRecord) -> CommitLogOffset {
    record.physical_offset
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::store::message_sys_flag::{transaction_value, TRANSACTION_PREPARED_TYPE};

    fn prepared() -> MessageRecord {
        let mut record = MessageRecord::new("Payment", b"red packet".to_vec());
        record.queue_id = 3;
        record.sys_flag = TRANSACTION_PREPARED_TYPE;
        record.properties.put(PROPERTY_TRANSACTION_PREPARED, "true");
        record.properties.put(PROPERTY_PRODUCER_GROUP, "PG");
        record.properties.put(PROPERTY_TAGS, "TagA");
        record
    }

    #[test]
    fn a_half_message_goes_to_queue_0_of_the_half_topic_as_a_plain_record() {
        let mut record = prepared();
        parse_half_message_inner(&mut record);
        assert_eq!((record.topic.as_str(), record.queue_id), (RMQ_SYS_TRANS_HALF_TOPIC, 0));
        assert_eq!(transaction_value(record.sys_flag), TRANSACTION_NOT_TYPE);
        assert_eq!(real_destination(&record), ("Payment".to_string(), 3));
    }

    #[test]
    fn a_commit_restores_the_real_topic_and_keeps_the_half_properties() {
        let mut half = prepared();
        parse_half_message_inner(&mut half);
        half.physical_offset = CommitLogOffset(4_096);
        let committed = end_message_transaction(&half);
        assert_eq!((committed.topic.as_str(), committed.queue_id), ("Payment", 3));
        assert_eq!(transaction_value(committed.sys_flag), TRANSACTION_COMMIT_TYPE);
        assert_eq!(committed.prepared_transaction_offset, CommitLogOffset(4_096));
        assert_eq!(committed.properties.get(PROPERTY_TRANSACTION_PREPARED), Some("true"));
        assert_eq!(committed.properties.get(PROPERTY_REAL_TOPIC), Some("Payment"));
    }

    #[test]
    fn an_op_message_is_tag_d_with_the_half_offset_as_body() {
        let op = make_op_message(17, 0, SocketAddress::v4(10, 0, 0, 3, 10911), 5, "U");
        assert_eq!(op.topic, RMQ_SYS_TRANS_OP_HALF_TOPIC);
        assert_eq!(op.body, b"17");
        assert_eq!(op.properties.get(PROPERTY_TAGS), Some("d"));
    }
}
