//! `DispatchRequest` and `CommitLog.checkMessageAndReturnSize`: the light read of a CommitLog record
//! that recovery and the reput service do, taking only what the ConsumeQueue and the IndexFile need.
//!
//! Unlike the full decoder (`message_record::decode`), this reads in place, allocates nothing for a
//! valid UTF-8 record, skips the body unless asked to check its CRC, and computes the tags code as
//! dispatch writes it (the tags hash, or the delivery time in `SCHEDULE_TOPIC_XXXX`). Its verdicts are
//! RocketMQ's: a message (size > 0), the end-of-file blank (size 0: go to the next file), or invalid
//! (-1: bad magic, bytes missing, CRC mismatch; or the TOTALSIZE when the lengths inside disagree).
//! Any byte string gives a verdict; none panics. Accepted magic codes: V1, and V2 as 5.x does (a 4.9
//! broker never writes V2, so this only widens what recovery keeps).

use std::borrow::Cow;
use std::ops::Range;

use super::consume_queue_entry::{dispatch_tags_code, tags_string_to_tags_code, RMQ_SYS_SCHEDULE_TOPIC};
use super::message_record::{
    body_crc, cal_msg_length, MessageVersion, BLANK_MAGIC_CODE, MESSAGE_MAGIC_CODE, MESSAGE_MAGIC_CODE_V2,
};
use super::message_sys_flag::{BORNHOST_V6_FLAG, STOREHOSTADDRESS_V6_FLAG};
use super::properties::{MessageProperties, NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR};

/// What dispatch needs of one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DispatchRequest<'a> {
    pub topic: Cow<'a, str>,
    pub queue_id: i32,
    pub commit_log_offset: i64,
    pub msg_size: i32,
    pub tags_code: i64,
    pub store_timestamp: i64,
    pub consume_queue_offset: i64,
    pub sys_flag: i32,
    pub prepared_transaction_offset: i64,
    /// The properties string; [`DispatchRequest::property`] reads it as `string2messageProperties` would.
    pub properties: Cow<'a, str>,
    /// Where KEYS and UNIQ_KEY sit in `properties` (found in the same pass as TAGS).
    keys: Option<Range<u32>>,
    uniq_key: Option<Range<u32>>,
}

impl DispatchRequest<'_> {
    pub fn property(&self, name: &str) -> Option<&str> {
        property(&self.properties, name)
    }

    /// KEYS (space-separated).
    pub fn keys(&self) -> Option<&str> {
        self.keys.clone().map(|range| &self.properties[range.start as usize..range.end as usize])
    }

    /// UNIQ_KEY, the client message id.
    pub fn uniq_key(&self) -> Option<&str> {
        self.uniq_key.clone().map(|range| &self.properties[range.start as usize..range.end as usize])
    }
}

/// The properties dispatch reads, found in one pass over the string (byte ranges of the values).
#[derive(Default)]
struct DispatchProperties {
    tags: Option<Range<u32>>,
    keys: Option<Range<u32>>,
    uniq_key: Option<Range<u32>>,
    delay: bool,
}

/// One pass of `string2messageProperties` keeping only TAGS, KEYS, UNIQ_KEY and DELAY: segments split
/// on `\u2`, name and value on the first `\u1`, both non-empty, the last one of a name winning. The
/// separators are ASCII, so byte positions are character boundaries.
fn scan_dispatch_properties(properties: &str) -> DispatchProperties {
    let bytes = properties.as_bytes();
    let mut found = DispatchProperties::default();
    let mut start = 0usize;
    while start < bytes.len() {
        let end = bytes[start..].iter().position(|b| *b == PROPERTY_SEPARATOR as u8).map_or(bytes.len(), |i| start + i);
        if let Some(split) = bytes[start..end].iter().position(|b| *b == NAME_VALUE_SEPARATOR as u8) {
            let (name_end, value_start) = (start + split, start + split + 1);
            if name_end > start && end > value_start {
                let value = Some(value_start as u32..end as u32);
                match &bytes[start..name_end] {
                    b"TAGS" => found.tags = value,
                    b"KEYS" => found.keys = value,
                    b"UNIQ_KEY" => found.uniq_key = value,
                    b"DELAY" => found.delay = true,
                    _ => {}
                }
            }
        }
        start = end + 1;
    }
    found
}

/// `new String(bytes, UTF_8)`: borrowed when valid (the common case), replacement characters if not.
fn utf8(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// The verdict on the bytes at one CommitLog position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckedRecord<'a> {
    /// A valid record of `msg_size` bytes.
    Message(DispatchRequest<'a>),
    /// The BLANK marker: the rest of the file is unused (RocketMQ's size 0).
    EndOfFile,
    /// Not a record. `size` is the TOTALSIZE when only the inner lengths disagree (reput may skip it),
    /// else -1.
    Invalid { size: i32 },
}

/// One property of a properties string, as `string2messageProperties` would leave it: the last
/// `name\u1value` segment with this name and a non-empty value.
pub fn property<'p>(properties: &'p str, name: &str) -> Option<&'p str> {
    MessageProperties::get_from_string(properties, name)
}

/// A bounds-checked big-endian reader; running out is an invalid record, never a panic.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|end| *end <= self.bytes.len())?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Some(slice)
    }
    fn i16(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }
    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
}

/// `checkMessageAndReturnSize(byteBuffer, checkCRC, readBody = checkCRC)` on the bytes starting at a
/// record. `delay_level_millis[i]` is the delay of level i + 1 (for `SCHEDULE_TOPIC_XXXX` tags).
pub fn check_message_and_return_size<'a>(
    bytes: &'a [u8],
    check_crc: bool,
    delay_level_millis: &[i64],
) -> CheckedRecord<'a> {
    check(bytes, check_crc, delay_level_millis).unwrap_or(CheckedRecord::Invalid { size: -1 })
}

fn check<'a>(bytes: &'a [u8], check_crc: bool, delay_level_millis: &[i64]) -> Option<CheckedRecord<'a>> {
    let mut r = Cursor { bytes, at: 0 };
    let total_size = r.i32()?;
    let version = match r.i32()? {
        MESSAGE_MAGIC_CODE => MessageVersion::V1,
        MESSAGE_MAGIC_CODE_V2 => MessageVersion::V2,
        BLANK_MAGIC_CODE => return Some(CheckedRecord::EndOfFile),
        _ => return Some(CheckedRecord::Invalid { size: -1 }),
    };
    // Java allocates `new byte[totalSize]` here: a negative size throws.
    if total_size < 0 {
        return Some(CheckedRecord::Invalid { size: -1 });
    }
    let stored_body_crc = r.i32()?;
    let queue_id = r.i32()?;
    let _flag = r.i32()?;
    let queue_offset = r.i64()?;
    let physical_offset = r.i64()?;
    let sys_flag = r.i32()?;
    let _born_timestamp = r.i64()?;
    r.take(if sys_flag & BORNHOST_V6_FLAG == 0 { 8 } else { 20 })?;
    let store_timestamp = r.i64()?;
    r.take(if sys_flag & STOREHOSTADDRESS_V6_FLAG == 0 { 8 } else { 20 })?;
    let _reconsume_times = r.i32()?;
    let prepared_transaction_offset = r.i64()?;
    let body_length = r.i32()?;
    if body_length > 0 {
        let body = r.take(body_length as usize)?;
        if check_crc && body_crc(body) != stored_body_crc {
            return Some(CheckedRecord::Invalid { size: -1 });
        }
    }
    let topic_length = match version {
        MessageVersion::V1 => i64::from(r.take(1)?[0] as i8),
        MessageVersion::V2 => i64::from(r.i16()?),
    };
    if topic_length < 0 {
        return None;
    }
    let topic = utf8(r.take(topic_length as usize)?);
    let properties_length = r.i16()?;
    let properties = if properties_length > 0 { utf8(r.take(properties_length as usize)?) } else { Cow::Borrowed("") };
    let read_length =
        cal_msg_length(version, sys_flag, i64::from(body_length), topic_length, i64::from(properties_length));
    if read_length != i64::from(total_size) {
        return Some(CheckedRecord::Invalid { size: total_size });
    }
    let found = scan_dispatch_properties(&properties);
    let tags_code = if found.delay && topic == RMQ_SYS_SCHEDULE_TOPIC {
        dispatch_tags_code(
            &topic,
            &MessageProperties::from_properties_string(&properties),
            store_timestamp,
            delay_level_millis,
        )
    } else {
        tags_string_to_tags_code(found.tags.map(|range| &properties[range.start as usize..range.end as usize]))
    };
    Some(CheckedRecord::Message(DispatchRequest {
        topic,
        queue_id,
        commit_log_offset: physical_offset,
        msg_size: total_size,
        tags_code,
        store_timestamp,
        consume_queue_offset: queue_offset,
        sys_flag,
        prepared_transaction_offset,
        properties,
        keys: found.keys,
        uniq_key: found.uniq_key,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::store::message_record::{encode_blank, MessageRecord};
    use crate::broker::store::offsets::{CommitLogOffset, QueueOffset};

    fn record() -> MessageRecord {
        let mut record = MessageRecord::new("TopicTest", b"hello".to_vec());
        record.properties.put("TAGS", "TagA");
        record.properties.put("KEYS", "k1 k2");
        record.properties.put("UNIQ_KEY", "ABC");
        record.queue_id = 2;
        record.queue_offset = QueueOffset(7);
        record.physical_offset = CommitLogOffset(4096);
        record.store_timestamp = 1_700_000_000_000;
        record
    }

    #[test]
    fn a_valid_record_gives_what_dispatch_needs() {
        let bytes = record().encode().unwrap();
        let CheckedRecord::Message(request) = check_message_and_return_size(&bytes, true, &[]) else { panic!() };
        assert_eq!(request.topic, "TopicTest");
        assert_eq!((request.queue_id, request.consume_queue_offset, request.commit_log_offset), (2, 7, 4096));
        assert_eq!(request.msg_size as usize, bytes.len());
        assert_eq!(request.tags_code, 2_598_919);
        assert_eq!((request.keys(), request.uniq_key()), (Some("k1 k2"), Some("ABC")));
    }

    #[test]
    fn blank_marker_is_end_of_file_and_garbage_is_invalid() {
        assert_eq!(check_message_and_return_size(&encode_blank(100), true, &[]), CheckedRecord::EndOfFile);
        assert_eq!(check_message_and_return_size(&[0; 64], true, &[]), CheckedRecord::Invalid { size: -1 });
        assert_eq!(check_message_and_return_size(&[1, 2], true, &[]), CheckedRecord::Invalid { size: -1 });
        let bytes = record().encode().unwrap();
        for cut in 0..bytes.len() {
            assert!(matches!(check_message_and_return_size(&bytes[..cut], true, &[]), CheckedRecord::Invalid { .. }));
        }
    }

    #[test]
    fn a_corrupt_body_fails_only_the_crc_check() {
        let mut bytes = record().encode().unwrap();
        bytes[88] ^= 1;
        assert_eq!(check_message_and_return_size(&bytes, true, &[]), CheckedRecord::Invalid { size: -1 });
        assert!(matches!(check_message_and_return_size(&bytes, false, &[]), CheckedRecord::Message(_)));
    }

    #[test]
    fn the_one_pass_scan_agrees_with_string2message_properties() {
        for text in [
            "TAGS\u{1}a\u{2}KEYS\u{1}k1 k2\u{2}TAGS\u{1}b",
            "TAGS\u{1}\u{2}KEYS\u{1}x\u{1}y",
            "",
            "\u{2}\u{2}",
            "UNIQ_KEY\u{1}é",
        ] {
            let full = MessageProperties::from_properties_string(text);
            let found = scan_dispatch_properties(text);
            let slice = |range: Option<Range<u32>>| range.map(|r| &text[r.start as usize..r.end as usize]);
            assert_eq!(slice(found.tags), full.tags(), "{text:?}");
            assert_eq!(slice(found.keys), full.get("KEYS"), "{text:?}");
            assert_eq!(slice(found.uniq_key), full.unique_key(), "{text:?}");
        }
    }

    #[test]
    fn property_lookup_follows_string2message_properties() {
        assert_eq!(property("A\u{1}1\u{2}B\u{1}2\u{2}A\u{1}3", "A"), Some("3"));
        assert_eq!(property("A\u{1}\u{2}B\u{1}2", "A"), None);
        assert_eq!(property("", "A"), None);
    }
}
