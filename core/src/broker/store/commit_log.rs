//! `CommitLog`: every message of the broker, appended in arrival order to one [`MappedFileQueue`] of
//! `mappedFileSizeCommitLog`-byte files under `<root>/commitlog/` (`store/CommitLog.java`).
//!
//! A put (`asyncPutMessage` + `DefaultAppendMessageCallback.doAppend`) stamps the store time, moves a
//! delayed message to `SCHEDULE_TOPIC_XXXX` (queue = level - 1, real topic and queue kept in
//! properties), encodes the record, then "in the put lock" assigns the queue offset of its
//! (topic, queueId) from the `topicQueueTable`, patches queue offset, physical offset and store time
//! into the encoded bytes and writes them at the end of the last file. A record that would not leave
//! 8 bytes free is not split: the file is closed with the 8-byte BLANK marker and the record goes to
//! the next file. Prepared and rollback transaction records get queue offset 0 and do not advance the
//! table (they never enter a ConsumeQueue).
//!
//! Invariants: physical offsets are contiguous (`maxOffset` = last file start + its read position);
//! the `topicQueueTable` value of a queue is the next offset to assign, rebuilt from the ConsumeQueues
//! after recovery. Deviation: a record larger than a whole file (possible with a few-KiB test file
//! size) is refused as MESSAGE_ILLEGAL; RocketMQ would write a blank into the fresh file and lose it.

use std::collections::BTreeMap;

use super::file_name::roll_next_file;
use super::mapped_file_queue::MappedFileQueue;
use super::message_record::{
    body_crc, patch_append_fields, EncodeError, MessageRecord, BODY_CRC_POSITION, END_FILE_MIN_BLANK_LENGTH,
    MAX_TOPIC_LENGTH_V1,
};
use super::message_store_config::MessageStoreConfig;
use super::message_sys_flag::{transaction_value, TRANSACTION_PREPARED_TYPE, TRANSACTION_ROLLBACK_TYPE};
use super::offsets::{CommitLogOffset, QueueOffset};
use super::properties::{PROPERTY_DELAY_TIME_LEVEL, PROPERTY_REAL_QUEUE_ID, PROPERTY_REAL_TOPIC};
use super::put_message_result::{AppendMessageResult, PutMessageStatus};
use super::store_io::StoreIo;
use crate::broker::delay_level::{delay_level_to_queue_id, DelayLevelTable, SCHEDULE_TOPIC};
use crate::sim::disk::NodeDisk;

#[derive(Clone, Debug)]
pub struct CommitLog {
    pub(crate) queue: MappedFileQueue,
    /// `topicQueueTable`: topic → queue id → next queue offset.
    topic_queue_table: BTreeMap<String, BTreeMap<i32, i64>>,
    /// Transient store pool: buffers not lent to a file.
    pub(crate) pool_available: u32,
    use_transient_store_pool: bool,
    encoder_buffer: Vec<u8>,
    max_message_size: i64,
    max_record_size: i64,
}

impl CommitLog {
    pub(crate) fn new(config: &MessageStoreConfig) -> Self {
        CommitLog {
            queue: MappedFileQueue::new(config.commit_log_dir(), config.mapped_file_size_commit_log()),
            topic_queue_table: BTreeMap::new(),
            pool_available: if config.is_transient_store_pool_enable() { config.transient_store_pool_size } else { 0 },
            use_transient_store_pool: config.is_transient_store_pool_enable(),
            encoder_buffer: Vec::new(),
            max_message_size: i64::from(config.max_message_size),
            max_record_size: config.max_record_size(),
        }
    }

    pub fn mapped_file_size(&self) -> i64 {
        self.queue.mapped_file_size()
    }

    /// How many files the CommitLog has.
    pub fn file_count(&self) -> u32 {
        self.queue.files.len() as u32
    }

    /// The files and positions (read-only).
    pub fn mapped_file_queue(&self) -> &MappedFileQueue {
        &self.queue
    }

    /// `getMinOffset`: start of the first file, -1 without files.
    pub fn min_offset(&self) -> i64 {
        self.queue.min_offset()
    }

    /// `getMaxOffset`: end of the readable data.
    pub fn max_offset(&self) -> i64 {
        self.queue.max_offset()
    }

    /// `rollNextFile`.
    pub fn roll_next_file(&self, offset: i64) -> i64 {
        roll_next_file(CommitLogOffset(offset), self.mapped_file_size()).0
    }

    /// Replace the `topicQueueTable` (`recoverTopicQueueTable`).
    pub(crate) fn set_topic_queue_table(&mut self, table: BTreeMap<String, BTreeMap<i32, i64>>) {
        self.topic_queue_table = table;
    }

    /// The next queue offset the CommitLog will assign to (topic, queueId).
    pub fn next_queue_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.topic_queue_table.get(topic).and_then(|q| q.get(&queue_id)).copied().unwrap_or(0)
    }

    /// `asyncPutMessage` up to the append (the flush and replica waits are the caller's). The message
    /// is not modified; a delayed one is copied with its topic rewritten.
    pub(crate) fn put_message(
        &mut self,
        io: &mut dyn StoreIo,
        msg: &MessageRecord,
        delay_levels: &DelayLevelTable,
    ) -> Result<AppendMessageResult, PutMessageStatus> {
        self.encode_for_put(io, msg, delay_levels, |commit_log, io, encoded, msg, transaction, store_timestamp| {
            commit_log.append_encoded(io, encoded, &msg.topic, msg.queue_id, transaction, store_timestamp, msg)
        })
    }

    /// `asyncPutMessage`'s preparation (store time, delay rewrite, encoding, checks, body CRC), then
    /// `append` with the encoded bytes: the CommitLog's own append, or DLedger's (`broker/dledger/`).
    pub(crate) fn encode_for_put<R>(
        &mut self,
        io: &mut dyn StoreIo,
        msg: &MessageRecord,
        delay_levels: &DelayLevelTable,
        append: impl FnOnce(&mut CommitLog, &mut dyn StoreIo, &mut [u8], &MessageRecord, i32, i64) -> R,
    ) -> Result<R, PutMessageStatus> {
        let store_timestamp = io.now_ms();
        let transaction = transaction_value(msg.sys_flag);
        let delay_level = delay_time_level(msg);
        let rewritten;
        let msg = if delay_level > 0
            && transaction != TRANSACTION_PREPARED_TYPE
            && transaction != TRANSACTION_ROLLBACK_TYPE
        {
            let mut delayed = msg.clone();
            let level = delay_level.min(delay_levels.max_delay_level());
            if delay_level > level {
                delayed.properties.put(PROPERTY_DELAY_TIME_LEVEL, &level.to_string());
            }
            delayed.properties.put(PROPERTY_REAL_TOPIC, &msg.topic);
            delayed.properties.put(PROPERTY_REAL_QUEUE_ID, &msg.queue_id.to_string());
            delayed.topic = SCHEDULE_TOPIC.to_string();
            delayed.version = super::message_record::MessageVersion::for_topic(&delayed.topic);
            delayed.queue_id = delay_level_to_queue_id(level);
            rewritten = delayed;
            &rewritten
        } else {
            msg
        };
        if msg.body.len() as i64 > self.max_message_size {
            return Err(PutMessageStatus::MessageIllegal);
        }
        // The encoder's buffer is reused from put to put (`PutMessageThreadLocal` in RocketMQ).
        let mut encoded = std::mem::take(&mut self.encoder_buffer);
        msg.encode_into(&mut encoded).map_err(|error| match error {
            EncodeError::PropertiesTooLong { .. } => PutMessageStatus::PropertiesSizeExceeded,
            EncodeError::TopicTooLong { .. } | EncodeError::RecordTooLarge { .. } => PutMessageStatus::MessageIllegal,
        })?;
        let record_length = encoded.len() as i64;
        if record_length > self.max_record_size
            || record_length + i64::from(END_FILE_MIN_BLANK_LENGTH) > self.mapped_file_size()
        {
            return Err(PutMessageStatus::MessageIllegal);
        }
        // asyncPutMessage recomputes the body CRC whatever the producer sent.
        let crc_at = BODY_CRC_POSITION as usize;
        encoded[crc_at..crc_at + 4].copy_from_slice(&body_crc(&msg.body).to_be_bytes());
        let result = append(self, io, &mut encoded, msg, transaction, store_timestamp);
        self.encoder_buffer = encoded;
        Ok(result)
    }

    /// The queue offset the next message of (topic, queueId) gets, and moving it on (DLedger appends).
    pub(crate) fn set_next_queue_offset(&mut self, topic: &str, queue_id: i32, next: i64) {
        match self.topic_queue_table.get_mut(topic) {
            Some(queues) => {
                queues.insert(queue_id, next);
            }
            None => {
                self.topic_queue_table.entry(topic.to_string()).or_default().insert(queue_id, next);
            }
        }
    }

    /// The put lock: `doAppend` on the last file, rolling to the next one at END_OF_FILE.
    #[allow(clippy::too_many_arguments)]
    fn append_encoded(
        &mut self,
        io: &mut dyn StoreIo,
        encoded: &mut [u8],
        topic: &str,
        queue_id: i32,
        transaction: i32,
        store_timestamp: i64,
        msg: &MessageRecord,
    ) -> AppendMessageResult {
        let no_queue_offset = transaction == TRANSACTION_PREPARED_TYPE || transaction == TRANSACTION_ROLLBACK_TYPE;
        let queue_offset = if no_queue_offset { 0 } else { self.next_queue_offset(topic, queue_id) };
        let record_length = encoded.len() as i64;
        loop {
            let write_buffer = self.use_transient_store_pool && self.pool_available > 0;
            let files_before = self.queue.files.len();
            let index = self.queue.last_or_create(io, 0, write_buffer);
            if self.queue.files.len() > files_before && self.queue.files[index].write_buffer.is_some() {
                self.pool_available -= 1;
            }
            let file = &mut self.queue.files[index];
            let wrote_offset = file.file_from_offset + file.wrote_position;
            let max_blank = file.file_size - file.wrote_position;
            if record_length + i64::from(END_FILE_MIN_BLANK_LENGTH) > max_blank {
                let blank = super::message_record::encode_blank(max_blank as i32);
                file.append_record(io, &blank, max_blank, store_timestamp);
                continue;
            }
            patch_append_fields(encoded, QueueOffset(queue_offset), CommitLogOffset(wrote_offset), store_timestamp);
            file.append_record(io, encoded, record_length, store_timestamp);
            if !no_queue_offset {
                let queues = match self.topic_queue_table.get_mut(topic) {
                    Some(queues) => queues,
                    None => self.topic_queue_table.entry(topic.to_string()).or_default(),
                };
                queues.insert(queue_id, queue_offset + 1);
            }
            return AppendMessageResult {
                wrote_offset: CommitLogOffset(wrote_offset),
                wrote_bytes: record_length as i32,
                store_timestamp,
                logics_offset: QueueOffset(queue_offset),
                store_host: msg.store_host,
            };
        }
    }

    /// `appendData` (a slave writing what its master sent): raw bytes at `start_offset`, which must be
    /// the current end. False if they do not fit the file or do not continue the log.
    pub(crate) fn append_data(&mut self, io: &mut dyn StoreIo, start_offset: i64, data: &[u8]) -> bool {
        if start_offset != self.max_offset() && !(self.queue.files.is_empty() && start_offset >= 0) {
            return false;
        }
        let index = self.queue.last_or_create(io, start_offset, false);
        self.queue.files[index].append_bytes(io, data)
    }

    /// `getMessage(offset, size)`: the bytes of a record, if wholly readable.
    pub fn get_message(&self, disk: &NodeDisk, offset: i64, size: i32) -> Option<Vec<u8>> {
        if size < 0 {
            return None;
        }
        let index = self.queue.find_by_offset(offset, offset == 0)?;
        let file = &self.queue.files[index];
        let position = offset - file.file_from_offset;
        if position < 0 || position + i64::from(size) > file.read_position() {
            return None;
        }
        let mut out = vec![0u8; size as usize];
        file.read(disk, position, &mut out);
        Some(out)
    }

    /// `getData(offset)`: from `offset` to the read position of its file, as (start, bytes).
    pub fn get_data(&self, disk: &NodeDisk, offset: i64) -> Option<(i64, Vec<u8>)> {
        let index = self.queue.find_by_offset(offset, offset == 0)?;
        let file = &self.queue.files[index];
        let position = offset % self.mapped_file_size();
        if position < 0 || position >= file.read_position() {
            return None;
        }
        let mut out = vec![0u8; (file.read_position() - position) as usize];
        file.read(disk, position, &mut out);
        Some((file.file_from_offset + position, out))
    }

    /// `pickupStoreTimestamp`: the STORETIMESTAMP of the record at `offset`, -1 if not readable.
    pub fn pickup_store_timestamp(&self, disk: &NodeDisk, offset: i64, size: i32) -> i64 {
        if offset < self.min_offset() {
            return -1;
        }
        let Some(bytes) = self.get_message(disk, offset, size) else { return -1 };
        let Some(sys_flag) = bytes.get(36..40) else { return -1 };
        let sys_flag = i32::from_be_bytes(sys_flag.try_into().expect("4 bytes"));
        let at = super::message_record::store_timestamp_position(sys_flag) as usize;
        bytes.get(at..at + 8).map_or(-1, |b| i64::from_be_bytes(b.try_into().expect("8 bytes")))
    }
}

/// `Message.getDelayTimeLevel`: the DELAY property as an int, 0 if absent or not a number.
pub fn delay_time_level(msg: &MessageRecord) -> i32 {
    msg.properties.get(PROPERTY_DELAY_TIME_LEVEL).and_then(|t| t.parse().ok()).unwrap_or(0)
}

/// `DefaultMessageStore.checkMessage`: a topic longer than 127 or a properties string longer than
/// 32 767 (both in Java chars) is illegal before anything is encoded.
pub fn check_message(msg: &MessageRecord) -> PutMessageStatus {
    if msg.topic.encode_utf16().count() as u64 > u64::from(MAX_TOPIC_LENGTH_V1) {
        return PutMessageStatus::MessageIllegal;
    }
    // The UTF-8 length bounds the UTF-16 length from above: build the string only when it might be long.
    let utf8_length: usize = msg.properties.iter().map(|(name, value)| name.len() + value.len() + 2).sum();
    if utf8_length > i16::MAX as usize
        && msg.properties.to_properties_string().encode_utf16().count() > i16::MAX as usize
    {
        return PutMessageStatus::MessageIllegal;
    }
    PutMessageStatus::PutOk
}

/// How much of a CommitLog file recovery and dispatch read at once.
const READ_CHUNK: i64 = 64 * 1024;

/// Reads records of one CommitLog file through a chunk buffer, so a walk over thousands of records
/// costs a few large reads instead of thousands of small ones (`sliceByteBuffer` in RocketMQ).
#[derive(Clone, Debug, Default)]
pub(crate) struct RecordReader {
    buffer: Vec<u8>,
    file: Option<crate::sim::disk::FileId>,
    /// File position of `buffer[0]`.
    buffer_start: i64,
}

impl RecordReader {
    /// The bytes of the record (or blank marker) at `position` of `file`, whose readable part ends at
    /// `limit`: TOTALSIZE bytes if that many are readable, else all that is (the check then finds the
    /// record invalid). Never reads past `limit`.
    pub(crate) fn record_at(
        &mut self,
        disk: &NodeDisk,
        file: crate::sim::disk::FileId,
        position: i64,
        limit: i64,
    ) -> &[u8] {
        let available = (limit - position).max(0);
        let header = available.min(8);
        self.ensure(disk, file, position, header, available);
        let at = (position - self.buffer_start) as usize;
        let mut needed = header;
        if header >= 8 {
            let size = i32::from_be_bytes(self.buffer[at..at + 4].try_into().expect("4 bytes"));
            let magic = i32::from_be_bytes(self.buffer[at + 4..at + 8].try_into().expect("4 bytes"));
            if magic != super::message_record::BLANK_MAGIC_CODE && size > 8 {
                needed = i64::from(size).min(available);
            }
        }
        self.ensure(disk, file, position, needed, available);
        let at = (position - self.buffer_start) as usize;
        &self.buffer[at..at + needed as usize]
    }

    fn ensure(&mut self, disk: &NodeDisk, file: crate::sim::disk::FileId, position: i64, needed: i64, available: i64) {
        let buffer_end = self.buffer_start + self.buffer.len() as i64;
        if self.file == Some(file) && position >= self.buffer_start && position + needed <= buffer_end {
            return;
        }
        let length = available.min(needed.max(READ_CHUNK));
        self.buffer.clear();
        self.buffer.resize(length as usize, 0);
        disk.read(file, position as u64, &mut self.buffer);
        self.file = Some(file);
        self.buffer_start = position;
    }
}
