//! Message trace (4.9.8 `client/trace/`): clients with `enableMsgTrace` record what happened to each
//! message and send those records, batched, to `RMQ_SYS_TRACE_TOPIC` (or a customized topic); a broker with
//! `traceTopicEnable` creates that topic (1 queue) at start. Types: Pub (a send), SubBefore/SubAfter (a
//! consumption), EndTransaction. The Dashboard shows a message's trace by querying the trace topic by the
//! msgId (the trace messages' KEYS) and decoding the records ([`encoding`], [`dispatcher`]).
//!
//! Independently of RocketMQ's tracing, [`timeline`] tells one message's story from the run's observations
//! (send, store, transaction and delay steps, each pull and consumption with status and cost).
//!
//! Modelled producers trace their sends (Pub, for sends that got a result) and their transactions
//! (EndTransaction, after the local transaction and for each check answer); push consumers trace each
//! listener call (SubBefore when it starts, SubAfter when it returns: `consumer/trace.rs`).

pub mod dispatcher;
pub mod encoding;
pub mod timeline;

use crate::broker::broker_store_io::wall_clock_ms;
use crate::producer::message::Message;
use crate::producer::send_result::{SendResult, SendStatus};
use crate::protocol::transaction::LocalTransactionState;
use crate::time::Time;
use encoding::{MessageType, TraceBean, TraceContext, TraceType, DEFAULT_TRACE_REGION_ID};

/// `msgType` of a message as `sendKernelImpl` sets it.
pub fn message_type(message: &Message) -> MessageType {
    use crate::broker::store::properties::{PROPERTY_DELAY_TIME_LEVEL, PROPERTY_TRANSACTION_PREPARED};
    if message.properties.get(PROPERTY_DELAY_TIME_LEVEL).is_some()
        || message.properties.get("__STARTDELIVERTIME").is_some()
    {
        MessageType::DelayMsg
    } else if message.properties.get(PROPERTY_TRANSACTION_PREPARED).is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        MessageType::TransMsgHalf
    } else {
        MessageType::NormalMsg
    }
}

/// `SendMessageTraceHookImpl`: the Pub record of a send that got a result (the last attempt, begun at
/// `attempt_begin`, to `broker_addr`).
pub fn pub_context(
    group: &str,
    message: &Message,
    result: &SendResult,
    broker_addr: &str,
    attempt_begin: Time,
    now: Time,
) -> TraceContext {
    let mut bean = TraceBean::new(&message.topic, &result.msg_id);
    bean.tags = message.tags().map(str::to_string);
    bean.keys = message.keys().map(str::to_string);
    bean.store_host = broker_addr.to_string();
    bean.body_length = message.body.len() as i32;
    bean.msg_type = message_type(message);
    bean.offset_msg_id = result.offset_msg_id.clone();
    TraceContext {
        trace_type: TraceType::Pub,
        time_stamp: wall_clock_ms(attempt_begin),
        region_id: DEFAULT_TRACE_REGION_ID.into(),
        group_name: group.to_string(),
        cost_time: (now - attempt_begin).as_millis() as i32,
        success: result.send_status == SendStatus::SendOk,
        request_id: String::new(),
        context_code: 0,
        beans: vec![bean],
    }
}

/// `EndTransactionTraceHookImpl`: the EndTransaction record.
#[allow(clippy::too_many_arguments)]
pub fn end_transaction_context(
    group: &str,
    topic: &str,
    msg_id: &str,
    tags: Option<&str>,
    keys: Option<&str>,
    broker_addr: &str,
    state: LocalTransactionState,
    from_transaction_check: bool,
    now: Time,
) -> TraceContext {
    let mut bean = TraceBean::new(topic, msg_id);
    bean.tags = tags.map(str::to_string);
    bean.keys = keys.map(str::to_string);
    bean.store_host = broker_addr.to_string();
    bean.msg_type = MessageType::TransMsgHalf;
    bean.transaction_id = Some(msg_id.to_string());
    bean.transaction_state = Some(state);
    bean.from_transaction_check = from_transaction_check;
    TraceContext {
        trace_type: TraceType::EndTransaction,
        time_stamp: wall_clock_ms(now),
        region_id: DEFAULT_TRACE_REGION_ID.into(),
        group_name: group.to_string(),
        cost_time: 0,
        success: true,
        request_id: String::new(),
        context_code: 0,
        beans: vec![bean],
    }
}
