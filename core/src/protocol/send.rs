//! The send family of requests: SEND_MESSAGE / SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE, their
//! response header, and the client HEART_BEAT.
//!
//! RocketMQ's `SendMessageRequestHeader` carries the message's metadata as header fields and the
//! body as the command body. A 4.9 producer sends `SEND_MESSAGE_V2` (`sendSmartMsg` defaults to
//! true), whose header is the same fields under one-letter names (`SendMessageRequestHeaderV2`:
//! a = producerGroup, b = topic, ..., m = batch); a batch goes as `SEND_BATCH_MESSAGE` with the V2
//! header and an encoded batch body. We keep the fields by their V1 names and record which code was
//! used, so a trace reads like the wire and the digest covers every field.
//!
//! `properties` travels as RocketMQ's properties string (`name\u{1}value\u{2}...`, see
//! `broker::store::properties`), exactly as `MessageDecoder.messageProperties2String` writes it;
//! the broker decodes it with `string2messageProperties`.

use serde::{Deserialize, Serialize};

/// Which request code carried a send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SendRequestCode {
    /// SEND_MESSAGE (10): the V1 header.
    SendMessage,
    /// SEND_MESSAGE_V2 (310): the same fields, one-letter names; what 4.9 producers send.
    SendMessageV2,
    /// SEND_BATCH_MESSAGE (320): V2 header, body = the encoded batch.
    SendBatchMessage,
}

impl SendRequestCode {
    /// RocketMQ's `RequestCode` value.
    pub fn code(self) -> i32 {
        match self {
            SendRequestCode::SendMessage => 10,
            SendRequestCode::SendMessageV2 => 310,
            SendRequestCode::SendBatchMessage => 320,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SendRequestCode::SendMessage => "SEND_MESSAGE",
            SendRequestCode::SendMessageV2 => "SEND_MESSAGE_V2",
            SendRequestCode::SendBatchMessage => "SEND_BATCH_MESSAGE",
        }
    }
}

/// `SendMessageRequestHeader` (V1 names; V2 is the same data).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendMessageRequestHeader {
    pub producer_group: String,
    pub topic: String,
    /// `createTopicKey`, TBW102: the template the broker copies when the topic does not exist.
    pub default_topic: String,
    /// The producer's `defaultTopicQueueNums` (4): queue count of a topic the broker auto-creates.
    pub default_topic_queue_nums: i32,
    pub queue_id: i32,
    /// `MessageSysFlag` bits: COMPRESSED 0x1, MULTI_TAGS 0x2, transaction type, host widths.
    pub sys_flag: i32,
    /// Milliseconds (virtual) when the producer made the request.
    pub born_timestamp: i64,
    /// The application's `Message.flag`, stored as is.
    pub flag: i32,
    /// `MessageDecoder.messageProperties2String(msg.getProperties())`.
    pub properties: String,
    pub reconsume_times: i32,
    pub unit_mode: bool,
    pub batch: bool,
    pub max_reconsume_times: Option<i32>,
}

/// A send as it crosses the wire: code, header, body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendMessageRequest {
    pub code: SendRequestCode,
    pub header: SendMessageRequestHeader,
    /// The (possibly compressed) body, or the encoded batch.
    #[serde(with = "serde_bytes")]
    pub body: Vec<u8>,
}

/// `SendMessageResponseHeader`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendMessageResponseHeader {
    /// The **offset** message id (store host + CommitLog offset); for a batch, comma-joined ids.
    pub msg_id: String,
    pub queue_id: i32,
    /// The queue offset of the (first) message.
    pub queue_offset: i64,
    pub transaction_id: Option<String>,
}

/// `ProducerData` of a heartbeat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerData {
    pub group_name: String,
}

/// HEART_BEAT (34) body (`HeartbeatData`), producers only so far (consumers come later).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatData {
    /// `clientIP@instanceName`.
    pub client_id: String,
    pub producer_data_set: Vec<ProducerData>,
}

/// `MessageBatch.encode`: per message `4 total + 4 magic(0) + 4 crc(0) + 4 flag + 4 + body + 2 +
/// properties` (`MessageDecoder.encodeMessage`), concatenated. The body bytes here are what the broker
/// stores for each member.
pub fn encode_batch_member(out: &mut Vec<u8>, flag: i32, body: &[u8], properties: &str) {
    let total = 4 + 4 + 4 + 4 + 4 + body.len() + 2 + properties.len();
    out.extend_from_slice(&(total as i32).to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes()); // magic code, unused
    out.extend_from_slice(&0i32.to_be_bytes()); // body crc, unused
    out.extend_from_slice(&flag.to_be_bytes());
    out.extend_from_slice(&(body.len() as i32).to_be_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&(properties.len() as i16).to_be_bytes());
    out.extend_from_slice(properties.as_bytes());
}

/// The encoded size of one batch member, without building it.
pub fn batch_member_size(body_len: u64, properties_len: u64) -> u64 {
    4 + 4 + 4 + 4 + 4 + body_len + 2 + properties_len
}

/// One member of a decoded batch body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchMember {
    pub flag: i32,
    pub body: Vec<u8>,
    pub properties: String,
}

/// `MessageDecoder.decodeMessages` on a batch body; `None` if the bytes are not a well-formed batch.
pub fn decode_batch(mut bytes: &[u8]) -> Option<Vec<BatchMember>> {
    let mut members = Vec::new();
    let take = |bytes: &mut &[u8], n: usize| -> Option<Vec<u8>> {
        if bytes.len() < n {
            return None;
        }
        let (head, tail) = bytes.split_at(n);
        *bytes = tail;
        Some(head.to_vec())
    };
    let int = |bytes: &mut &[u8]| -> Option<i32> { Some(i32::from_be_bytes(take(bytes, 4)?.try_into().ok()?)) };
    while !bytes.is_empty() {
        let _total = int(&mut bytes)?;
        let _magic = int(&mut bytes)?;
        let _crc = int(&mut bytes)?;
        let flag = int(&mut bytes)?;
        let body_len = usize::try_from(int(&mut bytes)?).ok()?;
        let body = take(&mut bytes, body_len)?;
        let properties_len = usize::try_from(i16::from_be_bytes(take(&mut bytes, 2)?.try_into().ok()?)).ok()?;
        let properties = String::from_utf8(take(&mut bytes, properties_len)?).ok()?;
        members.push(BatchMember { flag, body, properties });
    }
    Some(members)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_body_round_trips_and_has_the_documented_size() {
        let mut out = Vec::new();
        encode_batch_member(&mut out, 0, b"hello", "KEYS\u{1}k1");
        encode_batch_member(&mut out, 7, b"", "");
        assert_eq!(out.len() as u64, batch_member_size(5, 7) + batch_member_size(0, 0));
        let members = decode_batch(&out).unwrap();
        assert_eq!(members.len(), 2);
        assert_eq!(members[0].body, b"hello");
        assert_eq!(members[0].properties, "KEYS\u{1}k1");
        assert_eq!(members[1].flag, 7);
        assert_eq!(decode_batch(&out[..10]), None);
    }

    #[test]
    fn request_codes_are_rocketmqs() {
        assert_eq!(SendRequestCode::SendMessage.code(), 10);
        assert_eq!(SendRequestCode::SendMessageV2.code(), 310);
        assert_eq!(SendRequestCode::SendBatchMessage.code(), 320);
    }
}
