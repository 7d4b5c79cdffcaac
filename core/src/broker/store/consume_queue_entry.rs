//! The ConsumeQueue unit (`ConsumeQueue.putMessagePositionInfo`, `CQ_STORE_UNIT_SIZE`): 20 bytes
//! per message, big-endian: CommitLog offset (8) + record size (4) + tags code (8).
//!
//! A ConsumeQueue is an index of one (topic, queueId): entry n is the n-th message of that queue.
//! The tags code is what the broker filters on without reading the CommitLog: Java
//! `String.hashCode()` of the TAGS property, or 0 without tags (`tagsString2tagsCode`). For
//! `SCHEDULE_TOPIC_XXXX` the slot instead holds the delivery timestamp (store time + level delay),
//! which `ScheduleMessageService` compares with the clock.
//!
//! Recovery keeps entries with `offset >= 0 && size > 0`; unwritten (zero) space fails that test.
//! `fillPreBlank` pads a queue whose first file starts past 0 with `(0, Integer.MAX_VALUE, 0)`.

use super::offsets::CommitLogOffset;
use super::properties::{MessageProperties, PROPERTY_DELAY_TIME_LEVEL};
use crate::java::string_hash_code;

/// Bytes per entry.
pub const CQ_STORE_UNIT_SIZE: i64 = 20;
/// `TopicValidator.RMQ_SYS_SCHEDULE_TOPIC`: where delayed messages wait.
pub const RMQ_SYS_SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";

/// `tagsString2tagsCode`: `hashCode()` of the tags, 0 for none or empty. Multi-tag topics use the
/// same rule in 4.9 (the filter type argument is ignored).
pub fn tags_string_to_tags_code(tags: Option<&str>) -> i64 {
    match tags {
        Some(tags) if !tags.is_empty() => i64::from(string_hash_code(tags)),
        _ => 0,
    }
}

/// The tags code dispatch writes for a record (`CommitLog.checkMessageAndReturnSize`): the tags
/// hash, except in `SCHEDULE_TOPIC_XXXX` with a DELAY property, where it is the delivery time
/// (`computeDeliverTimestamp`: store time + delay of the level clamped to the highest level, or store
/// time + 1 000 ms if the level has no delay). `delay_level_millis[i]` is the delay of level i + 1.
///
/// A DELAY that is not a number makes RocketMQ's `Integer.parseInt` throw and the record count as
/// corrupt; producers cannot set DELAY to text (it is a reserved property), so here it is ignored.
pub fn dispatch_tags_code(
    topic: &str,
    properties: &MessageProperties,
    store_timestamp: i64,
    delay_level_millis: &[i64],
) -> i64 {
    let tags_code = tags_string_to_tags_code(properties.tags());
    if topic != RMQ_SYS_SCHEDULE_TOPIC {
        return tags_code;
    }
    let Some(level) = properties.get(PROPERTY_DELAY_TIME_LEVEL).and_then(|text| text.parse::<i64>().ok()) else {
        return tags_code;
    };
    let level = level.min(delay_level_millis.len() as i64);
    if level <= 0 {
        return tags_code;
    }
    let delay = delay_level_millis.get(level as usize - 1).copied().unwrap_or(1000);
    store_timestamp + delay
}

/// One 20-byte ConsumeQueue unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsumeQueueEntry {
    pub commit_log_offset: CommitLogOffset,
    /// The CommitLog record's TOTALSIZE.
    pub size: i32,
    /// Tags hash, or the delivery timestamp in `SCHEDULE_TOPIC_XXXX`.
    pub tags_code: i64,
}

impl ConsumeQueueEntry {
    /// An ordinary message: the tags code is the hash of its TAGS.
    pub fn for_message(commit_log_offset: CommitLogOffset, size: i32, tags: Option<&str>) -> Self {
        ConsumeQueueEntry { commit_log_offset, size, tags_code: tags_string_to_tags_code(tags) }
    }

    /// A message waiting in `SCHEDULE_TOPIC_XXXX`: the slot holds when to deliver it.
    pub fn for_scheduled_message(commit_log_offset: CommitLogOffset, size: i32, deliver_timestamp: i64) -> Self {
        ConsumeQueueEntry { commit_log_offset, size, tags_code: deliver_timestamp }
    }

    /// `fillPreBlank`: padding before the first real entry of a queue that starts past 0.
    pub fn pre_blank() -> Self {
        ConsumeQueueEntry { commit_log_offset: CommitLogOffset(0), size: i32::MAX, tags_code: 0 }
    }

    /// What recovery accepts (`offset >= 0 && size > 0`).
    pub fn is_valid(&self) -> bool {
        self.commit_log_offset.0 >= 0 && self.size > 0
    }

    pub fn encode(&self) -> [u8; 20] {
        let mut out = [0u8; 20];
        out[..8].copy_from_slice(&self.commit_log_offset.0.to_be_bytes());
        out[8..12].copy_from_slice(&self.size.to_be_bytes());
        out[12..].copy_from_slice(&self.tags_code.to_be_bytes());
        out
    }

    pub fn decode(bytes: &[u8; 20]) -> Self {
        let (offset, rest) = bytes.split_at(8);
        let (size, tags_code) = rest.split_at(4);
        ConsumeQueueEntry {
            commit_log_offset: CommitLogOffset(i64::from_be_bytes(offset.try_into().expect("8 bytes"))),
            size: i32::from_be_bytes(size.try_into().expect("4 bytes")),
            tags_code: i64::from_be_bytes(tags_code.try_into().expect("8 bytes")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default `messageDelayLevel` table in ms: 1s 5s 10s 30s 1m ... 1h 2h.
    const DELAYS: [i64; 18] = [
        1_000, 5_000, 10_000, 30_000, 60_000, 120_000, 180_000, 240_000, 300_000, 360_000, 420_000, 480_000, 540_000,
        600_000, 1_200_000, 1_800_000, 3_600_000, 7_200_000,
    ];

    #[test]
    fn tag_code_is_the_java_hash_of_the_tags_or_zero() {
        assert_eq!(tags_string_to_tags_code(Some("TagA")), 2_598_919);
        assert_eq!(tags_string_to_tags_code(Some("order-1")), -1_207_111_310);
        assert_eq!(tags_string_to_tags_code(Some("")), 0);
        assert_eq!(tags_string_to_tags_code(None), 0);
    }

    #[test]
    fn entry_is_offset_size_and_tags_code_big_endian_in_20_bytes() {
        let entry = ConsumeQueueEntry::for_message(CommitLogOffset(1_073_741_824), 115, Some("TagA"));
        let bytes = entry.encode();
        assert_eq!(bytes, [0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 115, 0, 0, 0, 0, 0, 0x27, 0xA8, 0x07]);
        assert_eq!(ConsumeQueueEntry::decode(&bytes), entry);
    }

    #[test]
    fn a_negative_tag_hash_is_sign_extended_to_a_long() {
        let entry = ConsumeQueueEntry::for_message(CommitLogOffset(0), 1, Some("order-1"));
        assert_eq!(&entry.encode()[12..16], &[0xFF, 0xFF, 0xFF, 0xFF]);
    }

    #[test]
    fn scheduled_entry_holds_the_delivery_time_in_the_tag_slot() {
        let entry = ConsumeQueueEntry::for_scheduled_message(CommitLogOffset(0), 200, 1_700_007_200_000);
        assert_eq!(ConsumeQueueEntry::decode(&entry.encode()).tags_code, 1_700_007_200_000);
    }

    #[test]
    fn delay_20_in_the_schedule_topic_is_clamped_to_level_18_two_hours() {
        // Spec §13 item 10: CQ tag = storeTime + 7 200 000.
        let properties = MessageProperties::from_pairs([("DELAY", "20"), ("TAGS", "TagA")]);
        assert_eq!(dispatch_tags_code(RMQ_SYS_SCHEDULE_TOPIC, &properties, 1_000, &DELAYS), 7_201_000);
        assert_eq!(dispatch_tags_code("TopicTest", &properties, 1_000, &DELAYS), 2_598_919);
        let level_3 = MessageProperties::from_pairs([("DELAY", "3")]);
        assert_eq!(dispatch_tags_code(RMQ_SYS_SCHEDULE_TOPIC, &level_3, 1_000, &DELAYS), 11_000);
        let level_0 = MessageProperties::from_pairs([("DELAY", "0")]);
        assert_eq!(dispatch_tags_code(RMQ_SYS_SCHEDULE_TOPIC, &level_0, 1_000, &DELAYS), 0);
    }

    #[test]
    fn zeroed_space_is_invalid_and_pre_blank_padding_is_valid() {
        assert!(!ConsumeQueueEntry::decode(&[0; 20]).is_valid());
        assert!(ConsumeQueueEntry::pre_blank().is_valid());
        assert_eq!(&ConsumeQueueEntry::pre_blank().encode()[8..12], &[0x7F, 0xFF, 0xFF, 0xFF]);
    }
}
