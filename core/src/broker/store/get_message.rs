//! Reads: the pull path `getMessage` with RocketMQ's `GetMessageStatus` semantics, and the
//! queries by offset message id, by key (IndexService) and by time (`DefaultMessageStore.java`).
//!
//! `getMessage(group, topic, queueId, offset, maxMsgNums, filter)`: against the queue's min and max
//! offsets, an empty queue is NO_MESSAGE_IN_QUEUE, below min OFFSET_TOO_SMALL, at max
//! OFFSET_OVERFLOW_ONE (the long-poll case), past max OFFSET_OVERFLOW_BADLY, each with the corrected
//! `nextBeginOffset` a master hands back (a slave keeps the old one unless `offsetCheckInSlave`).
//! Otherwise it scans ConsumeQueue units from `offset` to the end of their file, at most
//! max(16 000 bytes, maxMsgNums × 20), filtering first on the unit's tags code, then reading the
//! record (a record whose CommitLog file was deleted is MESSAGE_WAS_REMOVING and the scan skips to the
//! next CommitLog file), then filtering on its properties. A batch is full at `maxMsgNums`, or at the
//! byte/count caps, which are larger when the record is still "in memory": within
//! `accessMessageInMemoryMaxRatio` % of the simulated RAM from the CommitLog's end. The same distance
//! beyond that ratio sets `suggestPullingFromSlave`.

use serde::Serialize;

use super::consume_queue_entry::CQ_STORE_UNIT_SIZE;
use super::default_message_store::{DefaultMessageStore, StoreState};
use super::dispatch_request::{check_message_and_return_size, CheckedRecord};
use super::index_service::QueryOffsetResult;
use super::message_id::decode_message_id;
use super::message_record::{decode, CrcCheck, DecodedRecord, MessageRecord};
use super::message_store_config::BrokerRole;
use super::offsets::{CommitLogOffset, QueueOffset};
use super::properties::MessageProperties;
use crate::sim::disk::NodeDisk;

/// `GetMessageStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GetMessageStatus {
    Found,
    /// Units were scanned but none passed the filter.
    NoMatchedMessage,
    /// The units point into a CommitLog file that cleanup deleted.
    MessageWasRemoving,
    /// The unit's ConsumeQueue file is gone.
    OffsetFoundNull,
    OffsetOverflowBadly,
    OffsetOverflowOne,
    OffsetTooSmall,
    NoMatchedLogicQueue,
    NoMessageInQueue,
}

/// The broker-side filter of a pull (`MessageFilter`): tags codes first, then, for SQL92 filters,
/// the record's properties. Tag and SQL filtering plug in here.
pub trait MessageFilter {
    /// `isMatchedByConsumeQueue`: `None` when the unit's tags code is unusable.
    fn is_matched_by_consume_queue(&self, tags_code: Option<i64>) -> bool;
    /// `isMatchedByCommitLog`, given the record's properties.
    fn is_matched_by_commit_log(&self, properties: &MessageProperties) -> bool;
    /// Whether [`MessageFilter::is_matched_by_commit_log`] needs calling at all (a tag filter does
    /// not; the store then skips decoding the properties).
    fn filters_by_commit_log(&self) -> bool {
        true
    }
}

/// One record a read returns, as the bytes of the CommitLog (`SelectMappedBufferResult`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SelectedMessage {
    pub commit_log_offset: CommitLogOffset,
    /// The ConsumeQueue offset it was found at (0 for queries by key or id).
    pub queue_offset: QueueOffset,
    pub size: i32,
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

impl SelectedMessage {
    /// Decode the record (`MessageDecoder.decode`, no CRC check).
    pub fn decode(&self) -> Option<MessageRecord> {
        match decode(&self.bytes, CrcCheck::Skip) {
            Ok(DecodedRecord::Message(record)) => Some(*record),
            _ => None,
        }
    }
}

/// `GetMessageResult`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GetMessageResult {
    pub status: GetMessageStatus,
    pub next_begin_offset: QueueOffset,
    pub min_offset: QueueOffset,
    pub max_offset: QueueOffset,
    pub messages: Vec<SelectedMessage>,
    pub buffer_total_size: i64,
    pub suggest_pulling_from_slave: bool,
}

impl GetMessageResult {
    pub fn message_count(&self) -> u32 {
        self.messages.len() as u32
    }
}

/// `QueryMessageResult`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QueryMessageResult {
    pub messages: Vec<SelectedMessage>,
    pub index_last_update_timestamp: i64,
    pub index_last_update_phyoffset: i64,
}

impl DefaultMessageStore {
    /// `getMessage`; `None` when the store is not running (RocketMQ returns null).
    #[allow(clippy::too_many_arguments)]
    pub fn get_message(
        &self,
        disk: &NodeDisk,
        _group: &str,
        topic: &str,
        queue_id: i32,
        offset: QueueOffset,
        max_msg_nums: i32,
        filter: Option<&dyn MessageFilter>,
    ) -> Option<GetMessageResult> {
        if self.state != StoreState::Running {
            return None;
        }
        let offset = offset.0;
        let mut result = GetMessageResult {
            status: GetMessageStatus::NoMessageInQueue,
            next_begin_offset: QueueOffset(offset),
            min_offset: QueueOffset(0),
            max_offset: QueueOffset(0),
            messages: Vec::new(),
            buffer_total_size: 0,
            suggest_pulling_from_slave: false,
        };
        let max_offset_py = self.commit_log.max_offset();
        let Some(queue) = self.consume_queue(topic, queue_id) else {
            result.status = GetMessageStatus::NoMatchedLogicQueue;
            result.next_begin_offset = QueueOffset(self.next_offset_correction(offset, 0));
            return Some(result);
        };
        let min_offset = queue.min_offset_in_queue();
        let max_offset = queue.max_offset_in_queue();
        result.min_offset = QueueOffset(min_offset);
        result.max_offset = QueueOffset(max_offset);
        let (status, next) = if max_offset == 0 {
            (GetMessageStatus::NoMessageInQueue, self.next_offset_correction(offset, 0))
        } else if offset < min_offset {
            (GetMessageStatus::OffsetTooSmall, self.next_offset_correction(offset, min_offset))
        } else if offset == max_offset {
            (GetMessageStatus::OffsetOverflowOne, self.next_offset_correction(offset, offset))
        } else if offset > max_offset {
            (GetMessageStatus::OffsetOverflowBadly, self.next_offset_correction(offset, max_offset))
        } else {
            let max_filter_message_count = 16_000i64.max(i64::from(max_msg_nums) * CQ_STORE_UNIT_SIZE);
            match queue.get_index_buffer(disk, offset, max_filter_message_count) {
                None => (
                    GetMessageStatus::OffsetFoundNull,
                    self.next_offset_correction(offset, queue.roll_next_file(offset)),
                ),
                Some(units) => {
                    let status =
                        self.scan_units(disk, &units, offset, max_msg_nums, max_offset_py, filter, &mut result);
                    (status, result.next_begin_offset.0)
                }
            }
        };
        result.status = status;
        result.next_begin_offset = QueueOffset(next);
        Some(result)
    }

    /// The scan of a found offset: filter, read, and cap the batch.
    #[allow(clippy::too_many_arguments)]
    fn scan_units(
        &self,
        disk: &NodeDisk,
        units: &[u8],
        offset: i64,
        max_msg_nums: i32,
        max_offset_py: i64,
        filter: Option<&dyn MessageFilter>,
        result: &mut GetMessageResult,
    ) -> GetMessageStatus {
        let mut status = GetMessageStatus::NoMatchedMessage;
        let mut next_phy_file_start_offset = i64::MIN;
        let mut max_phy_offset_pulling = 0;
        let mut scanned = 0i64;
        for unit in units.chunks_exact(CQ_STORE_UNIT_SIZE as usize) {
            let entry = super::consume_queue_entry::ConsumeQueueEntry::decode(unit.try_into().expect("20 bytes"));
            let (offset_py, size_py) = (entry.commit_log_offset.0, entry.size);
            max_phy_offset_pulling = offset_py;
            if next_phy_file_start_offset != i64::MIN && offset_py < next_phy_file_start_offset {
                scanned += CQ_STORE_UNIT_SIZE;
                continue;
            }
            let in_disk = self.check_in_disk_by_commit_offset(offset_py, max_offset_py);
            if self.is_the_batch_full(size_py, max_msg_nums, result, in_disk) {
                break;
            }
            scanned += CQ_STORE_UNIT_SIZE;
            if let Some(filter) = filter {
                if !filter.is_matched_by_consume_queue(Some(entry.tags_code)) {
                    if result.buffer_total_size == 0 {
                        status = GetMessageStatus::NoMatchedMessage;
                    }
                    continue;
                }
            }
            let Some(bytes) = self.commit_log.get_message(disk, offset_py, size_py) else {
                if result.buffer_total_size == 0 {
                    status = GetMessageStatus::MessageWasRemoving;
                }
                next_phy_file_start_offset = self.commit_log.roll_next_file(offset_py);
                continue;
            };
            if let Some(filter) = filter.filter(|f| f.filters_by_commit_log()) {
                let properties = match check_message_and_return_size(&bytes, false, &self.delay_level_millis) {
                    CheckedRecord::Message(request) => MessageProperties::from_properties_string(&request.properties),
                    _ => MessageProperties::new(),
                };
                if !filter.is_matched_by_commit_log(&properties) {
                    if result.buffer_total_size == 0 {
                        status = GetMessageStatus::NoMatchedMessage;
                    }
                    continue;
                }
            }
            result.buffer_total_size += i64::from(size_py);
            result.messages.push(SelectedMessage {
                commit_log_offset: CommitLogOffset(offset_py),
                queue_offset: QueueOffset(offset + scanned / CQ_STORE_UNIT_SIZE - 1),
                size: size_py,
                bytes,
            });
            status = GetMessageStatus::Found;
            next_phy_file_start_offset = i64::MIN;
        }
        result.next_begin_offset = QueueOffset(offset + scanned / CQ_STORE_UNIT_SIZE);
        let diff = max_offset_py - max_phy_offset_pulling;
        result.suggest_pulling_from_slave = diff > self.config.access_message_in_memory_max_bytes();
        status
    }

    /// `nextOffsetCorrection`: a master corrects the client's offset; a slave only with `offsetCheckInSlave`.
    fn next_offset_correction(&self, old_offset: i64, new_offset: i64) -> i64 {
        if self.config.broker_role != BrokerRole::Slave || self.config.offset_check_in_slave {
            new_offset
        } else {
            old_offset
        }
    }

    /// `checkInDiskByCommitOffset`: further than the in-memory share of RAM from the CommitLog's end.
    fn check_in_disk_by_commit_offset(&self, offset_py: i64, max_offset_py: i64) -> bool {
        max_offset_py - offset_py > self.config.access_message_in_memory_max_bytes()
    }

    /// `isTheBatchFull`.
    fn is_the_batch_full(&self, size_py: i32, max_msg_nums: i32, result: &GetMessageResult, in_disk: bool) -> bool {
        let buffer_total = result.buffer_total_size;
        let message_total = result.messages.len() as i64;
        if buffer_total == 0 || message_total == 0 {
            return false;
        }
        if i64::from(max_msg_nums) <= message_total {
            return true;
        }
        let (max_bytes, max_count) = if in_disk {
            (self.config.max_transfer_bytes_on_message_in_disk, self.config.max_transfer_count_on_message_in_disk)
        } else {
            (self.config.max_transfer_bytes_on_message_in_memory, self.config.max_transfer_count_on_message_in_memory)
        };
        buffer_total + i64::from(size_py) > i64::from(max_bytes) || message_total > i64::from(max_count) - 1
    }

    /// `getMaxOffsetInQueue`: 0 for an unknown queue.
    pub fn get_max_offset_in_queue(&self, topic: &str, queue_id: i32) -> QueueOffset {
        QueueOffset(self.consume_queue(topic, queue_id).map_or(0, |q| q.max_offset_in_queue()))
    }

    /// `getMinOffsetInQueue`: -1 for an unknown queue.
    pub fn get_min_offset_in_queue(&self, topic: &str, queue_id: i32) -> QueueOffset {
        QueueOffset(self.consume_queue(topic, queue_id).map_or(-1, |q| q.min_offset_in_queue()))
    }

    /// `getMessageTotalInQueue`: -1 for an unknown queue.
    pub fn get_message_total_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.consume_queue(topic, queue_id).map_or(-1, |q| q.max_offset_in_queue() - q.min_offset_in_queue())
    }

    /// `getCommitLogOffsetInQueue`: where the unit at `queue_offset` points, 0 if unreadable.
    pub fn get_commit_log_offset_in_queue(
        &self,
        disk: &NodeDisk,
        topic: &str,
        queue_id: i32,
        queue_offset: QueueOffset,
    ) -> CommitLogOffset {
        self.consume_queue(topic, queue_id)
            .and_then(|q| q.entry_at(disk, queue_offset.0))
            .map_or(CommitLogOffset(0), |entry| entry.commit_log_offset)
    }

    /// `getMessageStoreTimeStamp`: STORETIMESTAMP of the message at `queue_offset`, -1 if unreadable.
    pub fn get_message_store_timestamp(
        &self,
        disk: &NodeDisk,
        topic: &str,
        queue_id: i32,
        queue_offset: QueueOffset,
    ) -> i64 {
        self.consume_queue(topic, queue_id)
            .and_then(|q| q.entry_at(disk, queue_offset.0))
            .map_or(-1, |entry| self.commit_log.pickup_store_timestamp(disk, entry.commit_log_offset.0, entry.size))
    }

    /// `getEarliestMessageTime(topic, queueId)`: store time of the queue's first message, -1 if none.
    pub fn get_earliest_message_time(&self, disk: &NodeDisk, topic: &str, queue_id: i32) -> i64 {
        let Some(queue) = self.consume_queue(topic, queue_id) else { return -1 };
        self.get_message_store_timestamp(disk, topic, queue_id, QueueOffset(queue.min_offset_in_queue()))
    }

    /// `getOffsetInQueueByTime`: the queue offset whose message was stored closest to `timestamp`.
    pub fn get_offset_in_queue_by_time(
        &self,
        disk: &NodeDisk,
        topic: &str,
        queue_id: i32,
        timestamp: i64,
    ) -> QueueOffset {
        let Some(queue) = self.consume_queue(topic, queue_id) else { return QueueOffset(0) };
        QueueOffset(queue.get_offset_in_queue_by_time(disk, timestamp, self.commit_log.min_offset(), |offset, size| {
            self.commit_log.pickup_store_timestamp(disk, offset, size)
        }))
    }

    /// `checkInDiskByConsumeOffset`.
    pub fn check_in_disk_by_consume_offset(
        &self,
        disk: &NodeDisk,
        topic: &str,
        queue_id: i32,
        offset: QueueOffset,
    ) -> bool {
        self.consume_queue(topic, queue_id).and_then(|q| q.entry_at(disk, offset.0)).is_some_and(|entry| {
            self.check_in_disk_by_commit_offset(entry.commit_log_offset.0, self.commit_log.max_offset())
        })
    }

    /// `selectOneMessageByOffset`: the record at a CommitLog offset, as bytes.
    pub fn select_one_message_by_offset(&self, disk: &NodeDisk, commit_log_offset: CommitLogOffset) -> Option<Vec<u8>> {
        let head = self.commit_log.get_message(disk, commit_log_offset.0, 4)?;
        let size = i32::from_be_bytes(head[..4].try_into().ok()?);
        self.commit_log.get_message(disk, commit_log_offset.0, size)
    }

    /// `lookMessageByOffset`: the record at a CommitLog offset, decoded.
    pub fn look_message_by_offset(&self, disk: &NodeDisk, commit_log_offset: CommitLogOffset) -> Option<MessageRecord> {
        let bytes = self.select_one_message_by_offset(disk, commit_log_offset)?;
        match decode(&bytes, CrcCheck::Skip) {
            Ok(DecodedRecord::Message(record)) => Some(*record),
            _ => None,
        }
    }

    /// `viewMessageById`: decode an offset message id and read the record it names. (The id's host
    /// is not checked: the caller routed the query to this broker.)
    pub fn view_message_by_id(&self, disk: &NodeDisk, offset_msg_id: &str) -> Option<MessageRecord> {
        let id = decode_message_id(offset_msg_id).ok()?;
        self.look_message_by_offset(disk, id.offset)
    }

    /// `IndexService.queryOffset`.
    pub fn query_offset(&self, topic: &str, key: &str, max_num: u32, begin: i64, end: i64) -> QueryOffsetResult {
        self.index_service.query_offset(topic, key, max_num, begin, end)
    }

    /// `queryMessage`: records whose `topic#key` is in the index within [begin, end], newest files first,
    /// up to `max_num` (at most `maxMsgsNumBatch`); the client drops hash collisions.
    pub fn query_message(
        &self,
        disk: &NodeDisk,
        topic: &str,
        key: &str,
        max_num: u32,
        begin: i64,
        end: i64,
    ) -> QueryMessageResult {
        let mut result = QueryMessageResult::default();
        let mut last_query_msg_time = end;
        for _ in 0..3 {
            let mut found = self.index_service.query_offset(topic, key, max_num, begin, last_query_msg_time);
            if found.phy_offsets.is_empty() {
                break;
            }
            found.phy_offsets.sort();
            result.index_last_update_timestamp = found.index_last_update_timestamp;
            result.index_last_update_phyoffset = found.index_last_update_phyoffset;
            for (m, offset) in found.phy_offsets.iter().enumerate() {
                let Some(record) = self.look_message_by_offset(disk, *offset) else { continue };
                if m == 0 {
                    last_query_msg_time = record.store_timestamp;
                }
                if let Some(bytes) = self.select_one_message_by_offset(disk, *offset) {
                    result.messages.push(SelectedMessage {
                        commit_log_offset: *offset,
                        queue_offset: record.queue_offset,
                        size: bytes.len() as i32,
                        bytes,
                    });
                }
            }
            if !result.messages.is_empty() || last_query_msg_time < begin {
                break;
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::store::message_store_config::MessageStoreConfig;
    use crate::broker::store::store_io::StoreIo;
    use crate::broker::store::test_store_io::TestStoreIo;
    use crate::sim::disk::DiskConfig;

    #[test]
    fn a_queue_without_units_is_no_message_in_queue_and_corrects_to_zero() {
        // Spec §13 item 19: offset 0 on an empty queue (max 0).
        let mut io = TestStoreIo::new(DiskConfig::default(), 1);
        let mut store = DefaultMessageStore::new(MessageStoreConfig::default()).unwrap();
        store.start(&mut io);
        store.find_consume_queue("TopicTest", 0);
        for (offset, expected_next) in [(0, 0), (5, 0)] {
            let result = store.get_message(io.disk(), "g", "TopicTest", 0, QueueOffset(offset), 32, None).unwrap();
            assert_eq!(
                (result.status, result.next_begin_offset),
                (GetMessageStatus::NoMessageInQueue, QueueOffset(expected_next))
            );
        }
    }

    #[test]
    fn a_stopped_store_answers_no_pull() {
        let store = DefaultMessageStore::new(MessageStoreConfig::default()).unwrap();
        let io = TestStoreIo::new(DiskConfig::default(), 1);
        assert!(store.get_message(io.disk(), "g", "T", 0, QueueOffset(0), 32, None).is_none());
    }
}
