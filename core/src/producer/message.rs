//! The application's `Message` (`common/.../message/Message.java`) and `MessageBatch`, as a
//! producer builds them before sending.
//!
//! `new Message(topic, tags, keys, body)` puts TAGS (if non-empty), KEYS (if non-empty) and
//! `WAIT=true` (waitStoreMsgOK) into the properties, in that order; user properties come next and
//! the producer adds UNIQ_KEY when it first sends (`MessageClientIDSetter.setUniqID`, only if the
//! property is absent: resending the same object keeps its id, which is how an application's own
//! resend becomes a duplicate with the same msgId). Properties keep Java `HashMap` order (see
//! `broker::store::properties`), so the properties string on the wire is byte-for-byte RocketMQ's.
//!
//! `MessageBatch.generateFromList` refuses delayed messages, `%RETRY%` topics, mixed topics and mixed
//! waitStoreMsgOK; its body is the concatenation of `MessageDecoder.encodeMessage` of each member.

use crate::broker::store::properties::{
    MessageProperties, KEY_SEPARATOR, PROPERTY_DELAY_TIME_LEVEL, PROPERTY_KEYS, PROPERTY_TAGS,
    PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, PROPERTY_WAIT_STORE_MSG_OK,
};

/// `MessageConst.STRING_HASH_SET` (4.9.8): names `putUserProperty` refuses ("used by system").
pub const SYSTEM_PROPERTY_NAMES: [&str; 31] = [
    "TRACE_ON",
    "MSG_REGION",
    "KEYS",
    "TAGS",
    "WAIT",
    "DELAY",
    "RETRY_TOPIC",
    "REAL_TOPIC",
    "REAL_QID",
    "TRAN_MSG",
    "PGROUP",
    "MIN_OFFSET",
    "MAX_OFFSET",
    "BUYER_ID",
    "ORIGIN_MESSAGE_ID",
    "TRANSFER_FLAG",
    "CORRECTION_FLAG",
    "MQ2_FLAG",
    "RECONSUME_TIME",
    "UNIQ_KEY",
    "MAX_RECONSUME_TIMES",
    "CONSUME_START_TIME",
    "INSTANCE_ID",
    "CORRELATION_ID",
    "REPLY_TO_CLIENT",
    "TTL",
    "ARRIVE_TIME",
    "PUSH_REPLY_TIME",
    "CLUSTER",
    "MSG_TYPE",
    "INNER_MULTI_QUEUE_OFFSET",
];

/// Whether `putUserProperty(name, ...)` would throw "The Property<name> is used by system".
pub fn is_system_property(name: &str) -> bool {
    SYSTEM_PROPERTY_NAMES.contains(&name)
}
use crate::protocol::send::{batch_member_size, encode_batch_member};

/// `MixAll.RETRY_GROUP_TOPIC_PREFIX`.
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";

/// A message as the application hands it to the producer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    /// `Message.flag`: opaque to RocketMQ, stored as is.
    pub flag: i32,
    pub properties: MessageProperties,
    pub body: Vec<u8>,
}

impl Message {
    /// `new Message(topic, tags, keys, body)`: TAGS, KEYS (space-separated), then WAIT=true.
    pub fn new(topic: &str, tags: Option<&str>, keys: &[&str], body: Vec<u8>) -> Message {
        let mut properties = MessageProperties::new();
        if let Some(tags) = tags.filter(|t| !t.is_empty()) {
            properties.put(PROPERTY_TAGS, tags);
        }
        let keys = keys.join(&KEY_SEPARATOR.to_string());
        if !keys.is_empty() {
            properties.put(PROPERTY_KEYS, &keys);
        }
        properties.put(PROPERTY_WAIT_STORE_MSG_OK, "true");
        Message { topic: topic.to_string(), flag: 0, properties, body }
    }

    pub fn tags(&self) -> Option<&str> {
        self.properties.get(PROPERTY_TAGS)
    }

    /// The KEYS property as one string (keys separated by a space), if any.
    pub fn keys(&self) -> Option<&str> {
        self.properties.get(PROPERTY_KEYS)
    }

    /// `putUserProperty`. (RocketMQ refuses system property names; the scenario boundary does too.)
    pub fn put_user_property(&mut self, name: &str, value: &str) {
        self.properties.put(name, value);
    }

    /// `getDelayTimeLevel`: the DELAY property, 0 when absent or not a number.
    pub fn delay_time_level(&self) -> i32 {
        self.properties.get(PROPERTY_DELAY_TIME_LEVEL).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    pub fn set_delay_time_level(&mut self, level: i32) {
        self.properties.put(PROPERTY_DELAY_TIME_LEVEL, &level.to_string());
    }

    /// `isWaitStoreMsgOK`: true when WAIT is absent, else `Boolean.parseBoolean(WAIT)`.
    pub fn is_wait_store_msg_ok(&self) -> bool {
        self.properties.get(PROPERTY_WAIT_STORE_MSG_OK).is_none_or(|v| v.eq_ignore_ascii_case("true"))
    }

    /// The client message id (UNIQ_KEY), once the producer has set it.
    pub fn unique_key(&self) -> Option<&str> {
        self.properties.get(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
    }

    /// `MessageClientIDSetter.setUniqID`: only when absent, so a resent message keeps its id.
    pub fn set_unique_key_if_absent(&mut self, make: impl FnOnce() -> String) {
        if self.unique_key().is_none() {
            self.properties.put(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, &make());
        }
    }

    /// `messageProperties2String`.
    pub fn properties_string(&self) -> String {
        self.properties.to_properties_string()
    }
}

/// Why `MessageBatch.generateFromList` refused a list (`UnsupportedOperationException` messages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchError {
    Empty,
    DelayNotSupported,
    RetryTopicNotSupported,
    MixedTopics,
    MixedWaitStoreMsgOk,
}

impl BatchError {
    pub fn message(&self) -> &'static str {
        match self {
            BatchError::Empty => "a batch needs at least one message",
            BatchError::DelayNotSupported => "TimeDelayLevel is not supported for batching",
            BatchError::RetryTopicNotSupported => "Retry Group is not supported for batching",
            BatchError::MixedTopics => "The topic of the messages in one batch should be the same",
            BatchError::MixedWaitStoreMsgOk => "The waitStoreMsgOK of the messages in one batch should the same",
        }
    }
}

/// `MessageBatch`: one topic, members in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageBatch {
    pub topic: String,
    pub messages: Vec<Message>,
}

impl MessageBatch {
    /// `MessageBatch.generateFromList`.
    pub fn generate_from_list(messages: Vec<Message>) -> Result<MessageBatch, BatchError> {
        let first = messages.first().ok_or(BatchError::Empty)?;
        for message in &messages {
            if message.delay_time_level() > 0 {
                return Err(BatchError::DelayNotSupported);
            }
            if message.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
                return Err(BatchError::RetryTopicNotSupported);
            }
            if message.topic != first.topic {
                return Err(BatchError::MixedTopics);
            }
            if message.is_wait_store_msg_ok() != first.is_wait_store_msg_ok() {
                return Err(BatchError::MixedWaitStoreMsgOk);
            }
        }
        Ok(MessageBatch { topic: first.topic.clone(), messages })
    }

    /// `MessageBatch.encode`: each member as `MessageDecoder.encodeMessage`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len() as usize);
        for message in &self.messages {
            encode_batch_member(&mut out, message.flag, &message.body, &message.properties_string());
        }
        out
    }

    pub fn encoded_len(&self) -> u64 {
        self.messages.iter().map(|m| batch_member_size(m.body.len() as u64, m.properties_string().len() as u64)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_message_has_tags_keys_and_wait_like_javas_constructor() {
        let m = Message::new("TopicTest", Some("TagA"), &["k1", "k2"], b"hi".to_vec());
        assert_eq!(m.tags(), Some("TagA"));
        assert_eq!(m.keys(), Some("k1 k2"));
        assert!(m.is_wait_store_msg_ok());
        let plain = Message::new("TopicTest", None, &[], b"hi".to_vec());
        assert_eq!(plain.properties_string(), "WAIT\u{1}true");
    }

    #[test]
    fn the_unique_key_is_set_once_and_kept_on_resend() {
        let mut m = Message::new("T", None, &[], b"x".to_vec());
        m.set_unique_key_if_absent(|| "A".into());
        m.set_unique_key_if_absent(|| "B".into());
        assert_eq!(m.unique_key(), Some("A"));
    }

    #[test]
    fn batches_refuse_what_rocketmq_refuses() {
        let a = Message::new("T", None, &[], b"1".to_vec());
        let b = Message::new("U", None, &[], b"2".to_vec());
        assert_eq!(MessageBatch::generate_from_list(vec![a.clone(), b]), Err(BatchError::MixedTopics));
        let mut delayed = a.clone();
        delayed.set_delay_time_level(3);
        assert_eq!(MessageBatch::generate_from_list(vec![delayed]), Err(BatchError::DelayNotSupported));
        let retry = Message::new("%RETRY%G", None, &[], b"1".to_vec());
        assert_eq!(MessageBatch::generate_from_list(vec![retry]), Err(BatchError::RetryTopicNotSupported));
        assert_eq!(MessageBatch::generate_from_list(vec![]), Err(BatchError::Empty));
        let batch = MessageBatch::generate_from_list(vec![a.clone(), a]).unwrap();
        assert_eq!(batch.encode().len() as u64, batch.encoded_len());
    }
}
