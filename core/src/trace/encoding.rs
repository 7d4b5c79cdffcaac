//! Trace records and their text form (4.9.8 `client/trace/TraceContext`, `TraceBean`,
//! `TraceDataEncoder`).
//!
//! A record is its fields joined by char 1 (`CONTENT_SPLITOR`) and ended by char 2 (`FIELD_SPLITOR`);
//! a trace message's body is records one after the other. Field order per type:
//! * `Pub`: type, timestamp, regionId, group, topic, msgId, tags, keys, storeHost, bodyLength, costTime,
//!   msgType (ordinal), offsetMsgId, success.
//! * `SubBefore` (one per message of a consume batch): type, timestamp, regionId, group, requestId, msgId,
//!   retryTimes, keys.
//! * `SubAfter`: type, requestId, msgId, costTime, success, keys, contextCode, timestamp, group.
//! * `EndTransaction`: type, timestamp, regionId, group, topic, msgId, tags, keys, storeHost, msgType,
//!   transactionId, transactionState, fromTransactionCheck.
//!
//! Java appends nulls as "null" (a message without tags has tags "null"), and so do we. The trace
//! message's KEYS are the records' msgIds and keys, so a key query on the trace topic by msgId finds them
//! (that is how the Dashboard shows a message's trace).

use serde::Serialize;

use crate::protocol::transaction::LocalTransactionState;

pub const CONTENT_SPLITOR: char = '\u{1}';
pub const FIELD_SPLITOR: char = '\u{2}';
/// `MixAll.DEFAULT_TRACE_REGION_ID` (what `SendResult.regionId` says unless a broker is configured otherwise).
pub const DEFAULT_TRACE_REGION_ID: &str = "DefaultRegion";

/// `TraceType` (4.9.8; 5.x adds Recall).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum TraceType {
    Pub,
    SubBefore,
    SubAfter,
    EndTransaction,
}

impl TraceType {
    pub fn name(self) -> &'static str {
        match self {
            TraceType::Pub => "Pub",
            TraceType::SubBefore => "SubBefore",
            TraceType::SubAfter => "SubAfter",
            TraceType::EndTransaction => "EndTransaction",
        }
    }
}

/// `MessageType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum MessageType {
    NormalMsg,
    TransMsgHalf,
    TransMsgCommit,
    DelayMsg,
}

impl MessageType {
    pub fn ordinal(self) -> u32 {
        match self {
            MessageType::NormalMsg => 0,
            MessageType::TransMsgHalf => 1,
            MessageType::TransMsgCommit => 2,
            MessageType::DelayMsg => 3,
        }
    }

    fn from_ordinal(n: u32) -> Option<MessageType> {
        [MessageType::NormalMsg, MessageType::TransMsgHalf, MessageType::TransMsgCommit, MessageType::DelayMsg]
            .get(n as usize)
            .copied()
    }
}

/// One traced message (`TraceBean`); `None` fields print as "null".
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TraceBean {
    pub topic: String,
    pub msg_id: String,
    pub offset_msg_id: String,
    pub tags: Option<String>,
    pub keys: Option<String>,
    pub store_host: String,
    pub retry_times: i32,
    pub body_length: i32,
    pub msg_type: MessageType,
    pub transaction_state: Option<LocalTransactionState>,
    pub transaction_id: Option<String>,
    pub from_transaction_check: bool,
}

impl TraceBean {
    pub fn new(topic: &str, msg_id: &str) -> Self {
        TraceBean {
            topic: topic.to_string(),
            msg_id: msg_id.to_string(),
            offset_msg_id: String::new(),
            tags: None,
            keys: None,
            store_host: String::new(),
            retry_times: 0,
            body_length: 0,
            msg_type: MessageType::NormalMsg,
            transaction_state: None,
            transaction_id: None,
            from_transaction_check: false,
        }
    }
}

/// `TraceContext`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TraceContext {
    pub trace_type: TraceType,
    /// Wall ms when the traced operation began.
    pub time_stamp: i64,
    pub region_id: String,
    pub group_name: String,
    pub cost_time: i32,
    pub success: bool,
    pub request_id: String,
    pub context_code: i32,
    pub beans: Vec<TraceBean>,
}

fn null(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("null")
}

/// `TraceDataEncoder.encoderFromContextBean`: the records' text and the trace message's keys.
pub fn encode(ctx: &TraceContext) -> (String, Vec<String>) {
    let c = CONTENT_SPLITOR;
    let f = FIELD_SPLITOR;
    let mut out = String::new();
    match ctx.trace_type {
        TraceType::Pub => {
            if let Some(bean) = ctx.beans.first() {
                out = format!(
                    "Pub{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{f}",
                    ctx.time_stamp,
                    ctx.region_id,
                    ctx.group_name,
                    bean.topic,
                    bean.msg_id,
                    null(&bean.tags),
                    null(&bean.keys),
                    bean.store_host,
                    bean.body_length,
                    ctx.cost_time,
                    bean.msg_type.ordinal(),
                    bean.offset_msg_id,
                    ctx.success
                );
            }
        }
        TraceType::SubBefore => {
            for bean in &ctx.beans {
                out.push_str(&format!(
                    "SubBefore{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{f}",
                    ctx.time_stamp,
                    ctx.region_id,
                    ctx.group_name,
                    ctx.request_id,
                    bean.msg_id,
                    bean.retry_times,
                    null(&bean.keys)
                ));
            }
        }
        TraceType::SubAfter => {
            for bean in &ctx.beans {
                out.push_str(&format!(
                    "SubAfter{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{f}",
                    ctx.request_id,
                    bean.msg_id,
                    ctx.cost_time,
                    ctx.success,
                    null(&bean.keys),
                    ctx.context_code,
                    ctx.time_stamp,
                    ctx.group_name
                ));
            }
        }
        TraceType::EndTransaction => {
            if let Some(bean) = ctx.beans.first() {
                out = format!(
                    "EndTransaction{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{f}",
                    ctx.time_stamp,
                    ctx.region_id,
                    ctx.group_name,
                    bean.topic,
                    bean.msg_id,
                    null(&bean.tags),
                    null(&bean.keys),
                    bean.store_host,
                    bean.msg_type.ordinal(),
                    null(&bean.transaction_id),
                    bean.transaction_state.map_or("null", |s| s.name()),
                    bean.from_transaction_check
                );
            }
        }
    }
    let mut keys = Vec::new();
    for bean in &ctx.beans {
        keys.push(bean.msg_id.clone());
        if let Some(k) = bean.keys.as_deref().filter(|k| !k.is_empty()) {
            keys.extend(k.split(crate::broker::store::properties::KEY_SEPARATOR).map(str::to_string));
        }
    }
    (out, keys)
}

/// `TraceDataEncoder.decoderFromTraceDataString`: the records of a trace message body (records that do
/// not parse are skipped, where RocketMQ would throw).
pub fn decode(data: &str) -> Vec<TraceContext> {
    data.split(FIELD_SPLITOR).filter(|r| !r.is_empty()).filter_map(decode_record).collect()
}

fn decode_record(record: &str) -> Option<TraceContext> {
    let line: Vec<&str> = record.split(CONTENT_SPLITOR).collect();
    let text = |i: usize| line.get(i).map(|s| s.to_string());
    let opt = |i: usize| line.get(i).filter(|s| **s != "null").map(|s| s.to_string());
    let int = |i: usize| line.get(i).and_then(|s| s.parse::<i64>().ok());
    let boolean = |i: usize| line.get(i).is_some_and(|s| s.eq_ignore_ascii_case("true"));
    let mut ctx = TraceContext {
        trace_type: TraceType::Pub,
        time_stamp: 0,
        region_id: String::new(),
        group_name: String::new(),
        cost_time: 0,
        success: true,
        request_id: String::new(),
        context_code: 0,
        beans: Vec::new(),
    };
    match *line.first()? {
        "Pub" => {
            ctx.time_stamp = int(1)?;
            ctx.region_id = text(2)?;
            ctx.group_name = text(3)?;
            let mut bean = TraceBean::new(&text(4)?, &text(5)?);
            bean.tags = opt(6);
            bean.keys = opt(7);
            bean.store_host = text(8)?;
            bean.body_length = int(9)? as i32;
            ctx.cost_time = int(10)? as i32;
            bean.msg_type = MessageType::from_ordinal(int(11)? as u32)?;
            if line.len() >= 14 {
                bean.offset_msg_id = text(12)?;
                ctx.success = boolean(13);
            } else {
                ctx.success = boolean(12);
            }
            ctx.beans.push(bean);
        }
        "SubBefore" => {
            ctx.trace_type = TraceType::SubBefore;
            ctx.time_stamp = int(1)?;
            ctx.region_id = text(2)?;
            ctx.group_name = text(3)?;
            ctx.request_id = text(4)?;
            let mut bean = TraceBean::new("", &text(5)?);
            bean.retry_times = int(6)? as i32;
            bean.keys = opt(7);
            ctx.beans.push(bean);
        }
        "SubAfter" => {
            ctx.trace_type = TraceType::SubAfter;
            ctx.request_id = text(1)?;
            let mut bean = TraceBean::new("", &text(2)?);
            ctx.cost_time = int(3)? as i32;
            ctx.success = boolean(4);
            bean.keys = opt(5);
            if line.len() >= 7 {
                ctx.context_code = int(6)? as i32;
            }
            if line.len() >= 9 {
                ctx.time_stamp = int(7)?;
                ctx.group_name = text(8)?;
            }
            ctx.beans.push(bean);
        }
        "EndTransaction" => {
            ctx.trace_type = TraceType::EndTransaction;
            ctx.time_stamp = int(1)?;
            ctx.region_id = text(2)?;
            ctx.group_name = text(3)?;
            let mut bean = TraceBean::new(&text(4)?, &text(5)?);
            bean.tags = opt(6);
            bean.keys = opt(7);
            bean.store_host = text(8)?;
            bean.msg_type = MessageType::from_ordinal(int(9)? as u32)?;
            bean.transaction_id = opt(10);
            bean.transaction_state = match line.get(11).copied()? {
                "COMMIT_MESSAGE" => Some(LocalTransactionState::CommitMessage),
                "ROLLBACK_MESSAGE" => Some(LocalTransactionState::RollbackMessage),
                "UNKNOW" => Some(LocalTransactionState::Unknow),
                _ => None,
            };
            bean.from_transaction_check = boolean(12);
            ctx.beans.push(bean);
        }
        _ => return None,
    }
    Some(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pub_context() -> TraceContext {
        let mut bean = TraceBean::new("TopicTest", "0A00000300002A9F0000000000000000");
        bean.keys = Some("order-1 order-2".into());
        bean.store_host = "10.0.0.2:10911".into();
        bean.body_length = 256;
        bean.offset_msg_id = "0A00000200002A9F0000000000000000".into();
        TraceContext {
            trace_type: TraceType::Pub,
            time_stamp: 1_700_000_001_000,
            region_id: DEFAULT_TRACE_REGION_ID.into(),
            group_name: "PG".into(),
            cost_time: 3,
            success: true,
            request_id: String::new(),
            context_code: 0,
            beans: vec![bean],
        }
    }

    #[test]
    fn a_pub_record_is_char_1_separated_and_char_2_terminated_with_null_tags() {
        let (text, keys) = encode(&pub_context());
        assert_eq!(
            text,
            "Pub\u{1}1700000001000\u{1}DefaultRegion\u{1}PG\u{1}TopicTest\u{1}0A00000300002A9F0000000000000000\u{1}null\u{1}order-1 order-2\u{1}10.0.0.2:10911\u{1}256\u{1}3\u{1}0\u{1}0A00000200002A9F0000000000000000\u{1}true\u{2}"
        );
        assert_eq!(keys, ["0A00000300002A9F0000000000000000", "order-1", "order-2"]);
        assert_eq!(decode(&text), vec![pub_context()]);
    }

    #[test]
    fn every_type_round_trips_through_one_body() {
        let mut before = pub_context();
        before.trace_type = TraceType::SubBefore;
        before.request_id = "R1".into();
        before.beans[0].retry_times = 2;
        let mut after = before.clone();
        after.trace_type = TraceType::SubAfter;
        after.cost_time = 12;
        after.success = false;
        after.context_code = 1;
        let mut end = pub_context();
        end.trace_type = TraceType::EndTransaction;
        end.beans[0].msg_type = MessageType::TransMsgHalf;
        end.beans[0].transaction_state = Some(LocalTransactionState::CommitMessage);
        end.beans[0].from_transaction_check = true;
        let body: String = [&pub_context(), &before, &after, &end].iter().map(|c| encode(c).0).collect();
        let decoded = decode(&body);
        assert_eq!(decoded.len(), 4);
        assert_eq!(decoded[1].request_id, "R1");
        assert_eq!(decoded[1].beans[0].retry_times, 2);
        assert_eq!((decoded[2].cost_time, decoded[2].success, decoded[2].context_code), (12, false, 1));
        assert_eq!(decoded[3].beans[0].transaction_state, Some(LocalTransactionState::CommitMessage));
        assert!(decoded[3].beans[0].from_transaction_check);
    }
}
