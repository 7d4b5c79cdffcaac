//! The consumer family of requests: PULL_MESSAGE, the consumer HEART_BEAT, consumer id lists and
//! NOTIFY_CONSUMER_IDS_CHANGED, consumer offsets (query, update, max/min/by time), queue locks for
//! orderly consumers, CONSUMER_SEND_MSG_BACK, UNREGISTER_CLIENT and the offset reset a broker pushes
//! to its clients.
//!
//! RocketMQ carries these as `RemotingCommand`s with custom headers (`PullMessageRequestHeader`,
//! `QueryConsumerOffsetRequestHeader`, ...) and JSON bodies (`HeartbeatData`, `LockBatchRequestBody`).
//! We keep the header fields by their Java names and the bodies as typed values, so a trace reads like
//! the wire. A pull's messages travel decoded ([`MessageExt`]): the broker reads the CommitLog bytes
//! and the client would run `MessageDecoder.decodes` on them; doing that once, at the broker, changes
//! nothing a client can see.

use serde::{Deserialize, Serialize};

use crate::java;
use crate::message_queue::MessageQueue;
use crate::protocol::send::ProducerData;

/// `SubscriptionData.SUB_ALL`.
pub const SUB_ALL: &str = "*";
/// `ExpressionType.TAG`.
pub const EXPRESSION_TYPE_TAG: &str = "TAG";

/// `PullSysFlag` bits.
pub mod pull_sys_flag {
    pub const FLAG_COMMIT_OFFSET: i32 = 0x1;
    pub const FLAG_SUSPEND: i32 = 0x1 << 1;
    pub const FLAG_SUBSCRIPTION: i32 = 0x1 << 2;
    pub const FLAG_CLASS_FILTER: i32 = 0x1 << 3;
    pub const FLAG_LITE_PULL_MESSAGE: i32 = 0x1 << 4;

    /// `PullSysFlag.buildSysFlag(commitOffset, suspend, subscription, classFilter)`.
    pub fn build(commit_offset: bool, suspend: bool, subscription: bool, class_filter: bool) -> i32 {
        let mut flag = 0;
        if commit_offset {
            flag |= FLAG_COMMIT_OFFSET;
        }
        if suspend {
            flag |= FLAG_SUSPEND;
        }
        if subscription {
            flag |= FLAG_SUBSCRIPTION;
        }
        if class_filter {
            flag |= FLAG_CLASS_FILTER;
        }
        flag
    }

    pub fn has_commit_offset(flag: i32) -> bool {
        flag & FLAG_COMMIT_OFFSET != 0
    }

    pub fn has_suspend(flag: i32) -> bool {
        flag & FLAG_SUSPEND != 0
    }

    pub fn has_subscription(flag: i32) -> bool {
        flag & FLAG_SUBSCRIPTION != 0
    }

    /// `clearCommitOffsetFlag`: a pull sent to a slave carries no offset to commit.
    pub fn clear_commit_offset(flag: i32) -> i32 {
        flag & !FLAG_COMMIT_OFFSET
    }
}

/// `MessageModel`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageModel {
    /// Every consumer of the group gets every message; offsets are kept by each client.
    Broadcasting,
    /// Each message goes to one consumer of the group; offsets are kept by the brokers.
    #[default]
    Clustering,
}

/// `ConsumeType`: a push consumer is CONSUME_PASSIVELY, a pull consumer CONSUME_ACTIVELY.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConsumeType {
    ConsumeActively,
    ConsumePassively,
}

/// `ConsumeFromWhere`: where a group with no stored offset starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConsumeFromWhere {
    #[default]
    ConsumeFromLastOffset,
    /// Deprecated; treated as LAST_OFFSET.
    ConsumeFromLastOffsetAndFromMinWhenBootFirst,
    /// Deprecated; treated as LAST_OFFSET.
    ConsumeFromMinOffset,
    /// Deprecated; treated as LAST_OFFSET.
    ConsumeFromMaxOffset,
    ConsumeFromFirstOffset,
    ConsumeFromTimestamp,
}

/// `SubscriptionData`: a topic and a tag expression, as `FilterAPI.buildSubscriptionData` builds it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SubscriptionData {
    pub topic: String,
    /// The expression as given (`*` for everything).
    pub sub_string: String,
    /// Tags of the expression (empty for `*`).
    pub tags_set: Vec<String>,
    /// `hashCode()` of each tag: what the broker compares with the ConsumeQueue tag codes.
    pub code_set: Vec<i32>,
    /// When the subscription last changed (ms): the broker keeps the newest.
    pub sub_version: i64,
    pub expression_type: String,
}

impl SubscriptionData {
    /// `FilterAPI.buildSubscriptionData(topic, subString)`: empty or `*` subscribes everything; otherwise
    /// the expression is split on `||`, trimmed, empty parts dropped.
    pub fn build(topic: &str, sub_string: &str, sub_version: i64) -> SubscriptionData {
        let mut data = SubscriptionData {
            topic: topic.to_string(),
            sub_string: sub_string.to_string(),
            tags_set: Vec::new(),
            code_set: Vec::new(),
            sub_version,
            expression_type: EXPRESSION_TYPE_TAG.to_string(),
        };
        if sub_string.is_empty() || sub_string == SUB_ALL {
            data.sub_string = SUB_ALL.to_string();
            return data;
        }
        for tag in sub_string.split("||").map(str::trim).filter(|t| !t.is_empty()) {
            if !data.tags_set.iter().any(|t| t == tag) {
                data.tags_set.push(tag.to_string());
                data.code_set.push(java::string_hash_code(tag));
            }
        }
        data
    }

    pub fn is_sub_all(&self) -> bool {
        self.sub_string == SUB_ALL
    }

    /// `ExpressionMessageFilter.isMatchedByConsumeQueue` for a tag expression.
    pub fn matches_tags_code(&self, tags_code: Option<i64>) -> bool {
        match tags_code {
            None => true,
            Some(_) if self.is_sub_all() => true,
            Some(code) => self.code_set.contains(&(code as i32)),
        }
    }

    /// `PullAPIWrapper.processPullResult`'s second filter: with tags, only messages whose TAGS is one of them.
    pub fn matches_tags(&self, tags: Option<&str>) -> bool {
        self.tags_set.is_empty() || tags.is_some_and(|t| self.tags_set.iter().any(|s| s == t))
    }
}

/// `ConsumerData` of a heartbeat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerData {
    pub group_name: String,
    pub consume_type: ConsumeType,
    pub message_model: MessageModel,
    pub consume_from_where: ConsumeFromWhere,
    pub subscription_data_set: Vec<SubscriptionData>,
    pub unit_mode: bool,
}

/// HEART_BEAT (34) from a process with consumers (`HeartbeatData` with a consumer data set).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerHeartbeatData {
    pub client_id: String,
    pub producer_data_set: Vec<ProducerData>,
    pub consumer_data_set: Vec<ConsumerData>,
}

/// `PullMessageRequestHeader`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullMessageRequestHeader {
    pub consumer_group: String,
    pub topic: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub max_msg_nums: i32,
    pub sys_flag: i32,
    /// The client's in-memory offset of this queue, committed by the broker when the flag says so.
    pub commit_offset: i64,
    /// How long the broker may hold the request when nothing is there (`brokerSuspendMaxTimeMillis`).
    pub suspend_timeout_millis: i64,
    /// The expression, when the subscription flag is set (lite pull, `postSubscriptionWhenPull`).
    pub subscription: Option<String>,
    pub sub_version: i64,
    pub expression_type: String,
}

/// One message as a client receives it (`MessageExt` after `MessageDecoder.decode`). The default is an
/// empty message at offset 0 (tests fill in what they need).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageExt {
    pub topic: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub commit_log_offset: i64,
    pub store_size: i32,
    /// Decompressed when the COMPRESSED sys flag was set.
    #[serde(with = "serde_bytes")]
    pub body: Vec<u8>,
    pub flag: i32,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: String,
    pub store_timestamp: i64,
    pub store_host: String,
    pub reconsume_times: i32,
    /// `MessageDecoder.messageProperties2String` of the stored properties.
    pub properties: String,
    /// The offset message id (store host + CommitLog offset).
    pub offset_msg_id: String,
}

/// The body of a FOUND pull (`PullMessageResponseHeader` + messages).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullMessageResponse {
    pub next_begin_offset: i64,
    pub min_offset: i64,
    pub max_offset: i64,
    pub suggest_which_broker_id: u64,
    pub messages: Vec<MessageExt>,
}

/// `ConsumerSendMsgBackRequestHeader`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerSendMsgBackRequestHeader {
    /// CommitLog offset of the message to send back.
    pub offset: i64,
    pub group: String,
    /// 0: the broker picks `3 + reconsumeTimes`; < 0: straight to the DLQ.
    pub delay_level: i32,
    /// The message's msgId (its UNIQ_KEY).
    pub origin_msg_id: String,
    pub origin_topic: String,
    pub unit_mode: bool,
    pub max_reconsume_times: Option<i32>,
}

/// Requests of the consumer family, by `RequestCode` name (the variants of `Request` wrap these).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsumerRequest {
    /// PULL_MESSAGE (11).
    PullMessage(PullMessageRequestHeader),
    /// QUERY_CONSUMER_OFFSET (14).
    QueryConsumerOffset { consumer_group: String, topic: String, queue_id: i32 },
    /// UPDATE_CONSUMER_OFFSET (15), usually oneway.
    UpdateConsumerOffset { consumer_group: String, topic: String, queue_id: i32, commit_offset: i64 },
    /// SEARCH_OFFSET_BY_TIMESTAMP (29).
    SearchOffsetByTimestamp { topic: String, queue_id: i32, timestamp: i64 },
    /// GET_MAX_OFFSET (30).
    GetMaxOffset { topic: String, queue_id: i32 },
    /// GET_MIN_OFFSET (31).
    GetMinOffset { topic: String, queue_id: i32 },
    /// HEART_BEAT (34) with consumers.
    HeartBeat(ConsumerHeartbeatData),
    /// UNREGISTER_CLIENT (35), sent by a shutting-down client.
    UnregisterClient { client_id: String, producer_group: Option<String>, consumer_group: Option<String> },
    /// CONSUMER_SEND_MSG_BACK (36).
    ConsumerSendMsgBack(ConsumerSendMsgBackRequestHeader),
    /// GET_CONSUMER_LIST_BY_GROUP (38).
    GetConsumerListByGroup { consumer_group: String },
    /// NOTIFY_CONSUMER_IDS_CHANGED (40), broker → client, oneway.
    NotifyConsumerIdsChanged { consumer_group: String },
    /// LOCK_BATCH_MQ (41).
    LockBatchMq { consumer_group: String, client_id: String, mq_set: Vec<MessageQueue> },
    /// UNLOCK_BATCH_MQ (42).
    UnlockBatchMq { consumer_group: String, client_id: String, mq_set: Vec<MessageQueue> },
    /// RESET_CONSUMER_CLIENT_OFFSET (220), broker → client, oneway.
    ResetConsumerClientOffset { topic: String, group: String, timestamp: i64, offset_table: Vec<(MessageQueue, i64)> },
}

impl ConsumerRequest {
    /// RocketMQ's `RequestCode` value.
    pub fn code(&self) -> i32 {
        match self {
            ConsumerRequest::PullMessage(_) => 11,
            ConsumerRequest::QueryConsumerOffset { .. } => 14,
            ConsumerRequest::UpdateConsumerOffset { .. } => 15,
            ConsumerRequest::SearchOffsetByTimestamp { .. } => 29,
            ConsumerRequest::GetMaxOffset { .. } => 30,
            ConsumerRequest::GetMinOffset { .. } => 31,
            ConsumerRequest::HeartBeat(_) => 34,
            ConsumerRequest::UnregisterClient { .. } => 35,
            ConsumerRequest::ConsumerSendMsgBack(_) => 36,
            ConsumerRequest::GetConsumerListByGroup { .. } => 38,
            ConsumerRequest::NotifyConsumerIdsChanged { .. } => 40,
            ConsumerRequest::LockBatchMq { .. } => 41,
            ConsumerRequest::UnlockBatchMq { .. } => 42,
            ConsumerRequest::ResetConsumerClientOffset { .. } => 220,
        }
    }

    pub fn code_name(&self) -> &'static str {
        match self {
            ConsumerRequest::PullMessage(_) => "PULL_MESSAGE",
            ConsumerRequest::QueryConsumerOffset { .. } => "QUERY_CONSUMER_OFFSET",
            ConsumerRequest::UpdateConsumerOffset { .. } => "UPDATE_CONSUMER_OFFSET",
            ConsumerRequest::SearchOffsetByTimestamp { .. } => "SEARCH_OFFSET_BY_TIMESTAMP",
            ConsumerRequest::GetMaxOffset { .. } => "GET_MAX_OFFSET",
            ConsumerRequest::GetMinOffset { .. } => "GET_MIN_OFFSET",
            ConsumerRequest::HeartBeat(_) => "HEART_BEAT",
            ConsumerRequest::UnregisterClient { .. } => "UNREGISTER_CLIENT",
            ConsumerRequest::ConsumerSendMsgBack(_) => "CONSUMER_SEND_MSG_BACK",
            ConsumerRequest::GetConsumerListByGroup { .. } => "GET_CONSUMER_LIST_BY_GROUP",
            ConsumerRequest::NotifyConsumerIdsChanged { .. } => "NOTIFY_CONSUMER_IDS_CHANGED",
            ConsumerRequest::LockBatchMq { .. } => "LOCK_BATCH_MQ",
            ConsumerRequest::UnlockBatchMq { .. } => "UNLOCK_BATCH_MQ",
            ConsumerRequest::ResetConsumerClientOffset { .. } => "RESET_CONSUMER_CLIENT_OFFSET",
        }
    }
}

/// Typed bodies of consumer-family responses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsumerResponseBody {
    /// A pull's result (for every code: the header's offsets, and the messages when FOUND).
    Pull(PullMessageResponse),
    /// QUERY_CONSUMER_OFFSET, GET_MAX_OFFSET, GET_MIN_OFFSET, SEARCH_OFFSET_BY_TIMESTAMP.
    Offset(i64),
    /// GET_CONSUMER_LIST_BY_GROUP.
    ConsumerIdList(Vec<String>),
    /// LOCK_BATCH_MQ: the queues this client holds now.
    LockOkMqSet(Vec<MessageQueue>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_expressions_build_as_filter_api_does() {
        // Spec §13 item 15: "TagA || TagB" -> codes {2598919, 2598920}.
        let data = SubscriptionData::build("T", "TagA || TagB", 0);
        assert_eq!(data.tags_set, ["TagA", "TagB"]);
        assert_eq!(data.code_set, [2_598_919, 2_598_920]);
        assert!(!data.matches_tags_code(Some(2_598_921)));
        assert!(!data.matches_tags_code(Some(0)));
        assert!(data.matches_tags_code(Some(2_598_920)));
        assert!(data.matches_tags_code(None));
        let all = SubscriptionData::build("T", "", 0);
        assert_eq!(all.sub_string, "*");
        assert!(all.matches_tags_code(Some(12345)));
        assert!(all.matches_tags(None));
        assert!(!data.matches_tags(None));
        assert!(data.matches_tags(Some("TagB")));
    }

    #[test]
    fn pull_sys_flags_are_rocketmqs_bits() {
        assert_eq!(pull_sys_flag::build(true, true, false, false), 3);
        assert_eq!(pull_sys_flag::build(false, true, true, false), 6);
        assert_eq!(pull_sys_flag::clear_commit_offset(3), 2);
        assert!(pull_sys_flag::has_suspend(2) && !pull_sys_flag::has_commit_offset(2));
    }

    #[test]
    fn request_codes_are_rocketmqs() {
        let header = PullMessageRequestHeader {
            consumer_group: "G".into(),
            topic: "T".into(),
            queue_id: 0,
            queue_offset: 0,
            max_msg_nums: 32,
            sys_flag: 2,
            commit_offset: 0,
            suspend_timeout_millis: 15_000,
            subscription: None,
            sub_version: 0,
            expression_type: EXPRESSION_TYPE_TAG.into(),
        };
        assert_eq!(ConsumerRequest::PullMessage(header).code(), 11);
        assert_eq!(ConsumerRequest::GetConsumerListByGroup { consumer_group: "G".into() }.code(), 38);
        assert_eq!(ConsumerRequest::NotifyConsumerIdsChanged { consumer_group: "G".into() }.code(), 40);
    }
}
