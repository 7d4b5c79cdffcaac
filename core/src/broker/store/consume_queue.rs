//! `ConsumeQueue`: the index of one (topic, queueId), a [`MappedFileQueue`] of 20-byte units under
//! `<root>/consumequeue/<topic>/<queueId>/` (`store/ConsumeQueue.java`).
//!
//! Unit n (queue offset n) sits at byte n * 20 and holds the CommitLog offset, size and tags code of
//! the n-th message of the queue. Units are written by dispatch, after the CommitLog append, so a
//! queue lags its messages by the dispatch delay. `minOffset` is the first unit still backed by the
//! CommitLog (moved up after cleanup); `maxOffset` = written bytes / 20 = the next offset (exclusive).
//!
//! Invariants: units are appended at `maxOffset` only; `max_physic_offset` is the end of the last
//! dispatched record, and a dispatch at or below it is a repeat and ignored (recovery re-dispatches
//! freely). Recovery keeps units while `offset >= 0 && size > 0`. Deviations from 4.9: truncation also
//! cuts the bytes on disk (RocketMQ only moves positions and leaves stale units in the mmap), and a
//! last file left without a valid unit is deleted (by `recover`, and by `truncateDirtyLogicFiles`,
//! which then goes on with the file before it). RocketMQ keeps such an empty file and its
//! `truncateDirtyLogicFiles` looks at the last file only: units of the previous file pointing past
//! the recovered CommitLog end would survive (and an all-zero unit be kept as valid).

use std::rc::Rc;

use super::consume_queue_entry::{ConsumeQueueEntry, CQ_STORE_UNIT_SIZE};
use super::file_name::consume_queue_file_path;
use super::mapped_file_queue::MappedFileQueue;
use super::message_store_config::MessageStoreConfig;
use super::store_io::StoreIo;
use crate::sim::disk::NodeDisk;

#[derive(Clone, Debug)]
pub struct ConsumeQueue {
    /// Shared with the "message arrived" events of this queue.
    topic: Rc<str>,
    queue_id: i32,
    pub(crate) queue: MappedFileQueue,
    /// End (offset + size) of the last record dispatched here; -1 when empty.
    pub(crate) max_physic_offset: i64,
    /// Byte offset of the first valid unit.
    pub(crate) min_logic_offset: i64,
}

fn decode_unit(bytes: &[u8]) -> ConsumeQueueEntry {
    ConsumeQueueEntry::decode(bytes.try_into().expect("a unit is 20 bytes"))
}

impl ConsumeQueue {
    pub(crate) fn new(config: &MessageStoreConfig, topic: &str, queue_id: i32) -> Self {
        let dir = format!("{}/{}", config.store_path_root_dir, consume_queue_file_path(topic, queue_id, ""));
        ConsumeQueue {
            topic: Rc::from(topic),
            queue_id,
            queue: MappedFileQueue::new(dir, config.mapped_file_size_consume_queue()),
            max_physic_offset: -1,
            min_logic_offset: 0,
        }
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub(crate) fn shared_topic(&self) -> Rc<str> {
        Rc::clone(&self.topic)
    }

    pub fn queue_id(&self) -> i32 {
        self.queue_id
    }

    fn file_size(&self) -> i64 {
        self.queue.mapped_file_size()
    }

    pub(crate) fn load(&mut self, disk: &NodeDisk, now_ms: i64) {
        self.queue.load(disk, now_ms);
    }

    /// `recover`: from the third-to-last file, keep units until the first invalid one; cut the rest.
    pub(crate) fn recover(&mut self, io: &mut dyn StoreIo) {
        if self.queue.files.is_empty() {
            return;
        }
        let size = self.file_size();
        let mut index = self.queue.files.len().saturating_sub(3);
        let mut process_offset = self.queue.files[index].file_from_offset;
        let mut valid_bytes;
        loop {
            let file = &self.queue.files[index];
            let available = (io.disk().len(file.file) as i64).min(size);
            let mut bytes = vec![0u8; available.max(0) as usize];
            file.read(io.disk(), 0, &mut bytes);
            valid_bytes = 0;
            for unit in bytes.chunks_exact(CQ_STORE_UNIT_SIZE as usize) {
                let entry = decode_unit(unit);
                if !entry.is_valid() {
                    break;
                }
                valid_bytes += CQ_STORE_UNIT_SIZE;
                self.max_physic_offset = entry.commit_log_offset.0 + i64::from(entry.size);
            }
            if valid_bytes == size && index + 1 < self.queue.files.len() {
                index += 1;
                process_offset = self.queue.files[index].file_from_offset;
            } else {
                break;
            }
        }
        process_offset += valid_bytes;
        self.queue.flushed_where = process_offset;
        self.queue.committed_where = process_offset;
        self.queue.truncate_dirty_files(io, process_offset);
        // A last file left without a valid unit goes, so that the last file always holds the newest units.
        if self.queue.files.last().is_some_and(|f| f.wrote_position == 0) {
            self.queue.delete_last_mapped_file(io);
        }
    }

    /// `putMessagePositionInfo`: append the unit of queue offset `cq_offset`. Returns false only if it
    /// could not be written.
    pub(crate) fn put_message_position_info(
        &mut self,
        io: &mut dyn StoreIo,
        offset: i64,
        size: i32,
        tags_code: i64,
        cq_offset: i64,
    ) -> bool {
        if offset + i64::from(size) <= self.max_physic_offset {
            // A repeat (recovery dispatches again what the queue already has).
            return true;
        }
        let expect_logic_offset = cq_offset * CQ_STORE_UNIT_SIZE;
        let index = self.queue.last_or_create(io, expect_logic_offset, false);
        let file = &self.queue.files[index];
        if file.first_create_in_queue && cq_offset != 0 && file.wrote_position == 0 {
            self.min_logic_offset = expect_logic_offset;
            self.queue.flushed_where = expect_logic_offset;
            self.queue.committed_where = expect_logic_offset;
            self.fill_pre_blank(io, index, expect_logic_offset);
        }
        let file = &self.queue.files[index];
        if cq_offset != 0 {
            let current_logic_offset = file.wrote_position + file.file_from_offset;
            if expect_logic_offset < current_logic_offset {
                return true;
            }
            // expect > current is "[BUG]logic queue order maybe wrong" in RocketMQ, which appends anyway.
        }
        self.max_physic_offset = offset + i64::from(size);
        let unit =
            ConsumeQueueEntry { commit_log_offset: super::offsets::CommitLogOffset(offset), size, tags_code }.encode();
        self.queue.files[index].append_bytes(io, &unit)
    }

    /// `fillPreBlank`: a queue whose first file starts before its first unit is padded with
    /// `(0, Integer.MAX_VALUE, 0)` units.
    fn fill_pre_blank(&mut self, io: &mut dyn StoreIo, index: usize, until_where: i64) {
        let blank = ConsumeQueueEntry::pre_blank().encode();
        let until = until_where % self.file_size();
        let mut bytes = Vec::with_capacity(until as usize);
        for _ in 0..until / CQ_STORE_UNIT_SIZE {
            bytes.extend_from_slice(&blank);
        }
        self.queue.files[index].append_bytes(io, &bytes);
    }

    /// `truncateDirtyLogicFiles`: drop every unit pointing at or past `phy_offset` (the CommitLog end
    /// after recovery), from the back.
    pub(crate) fn truncate_dirty_logic_files(&mut self, io: &mut dyn StoreIo, phy_offset: i64) {
        let size = self.file_size();
        self.max_physic_offset = phy_offset;
        while let Some(file) = self.queue.files.last() {
            let available = (io.disk().len(file.file) as i64).min(size).min(file.wrote_position);
            let mut bytes = vec![0u8; available.max(0) as usize];
            file.read(io.disk(), 0, &mut bytes);
            let mut keep = 0;
            let mut delete_file = false;
            let mut units = bytes.chunks_exact(CQ_STORE_UNIT_SIZE as usize).enumerate().peekable();
            if units.peek().is_none_or(|(_, unit)| !decode_unit(unit).is_valid()) {
                // An empty last file (recovery cut it to nothing): look at the file before it.
                delete_file = true;
            }
            for (i, unit) in units {
                let entry = decode_unit(unit);
                if !entry.is_valid() {
                    break;
                }
                if entry.commit_log_offset.0 >= phy_offset {
                    delete_file = i == 0;
                    break;
                }
                keep = (i as i64 + 1) * CQ_STORE_UNIT_SIZE;
                self.max_physic_offset = entry.commit_log_offset.0 + i64::from(entry.size);
            }
            if delete_file {
                self.queue.delete_last_mapped_file(io);
                continue;
            }
            let file = self.queue.files.last_mut().expect("the loop holds a last file");
            file.set_positions(keep);
            let handle = file.file;
            if io.disk().len(handle) > keep as u64 {
                io.truncate(handle, keep as u64);
                self.queue.truncated.push(handle);
            }
            break;
        }
        let end = self.queue.max_offset();
        self.queue.flushed_where = self.queue.flushed_where.min(end);
        self.queue.committed_where = self.queue.committed_where.min(end);
    }

    /// `getIndexBuffer(startIndex)`: the units from `start_index` to the end of their file's written
    /// part, at most `max_bytes` of them; `None` below the min offset or without a file.
    pub(crate) fn get_index_buffer(&self, disk: &NodeDisk, start_index: i64, max_bytes: i64) -> Option<Vec<u8>> {
        let offset = start_index * CQ_STORE_UNIT_SIZE;
        if offset < self.min_logic_offset {
            return None;
        }
        let index = self.queue.find_by_offset(offset, false)?;
        let file = &self.queue.files[index];
        let position = offset % self.file_size();
        let end = file.read_position().min(position + max_bytes.max(0));
        if position >= end {
            return None;
        }
        let mut out = vec![0u8; (end - position) as usize];
        file.read(disk, position, &mut out);
        Some(out)
    }

    /// The unit at queue offset `index`, if readable.
    pub fn entry_at(&self, disk: &NodeDisk, index: i64) -> Option<ConsumeQueueEntry> {
        let bytes = self.get_index_buffer(disk, index, CQ_STORE_UNIT_SIZE)?;
        (bytes.len() == CQ_STORE_UNIT_SIZE as usize).then(|| decode_unit(&bytes))
    }

    /// `correctMinOffset`: the min offset becomes the first unit of the first file pointing at or past
    /// the CommitLog's min offset (unchanged if no unit of that file does).
    pub(crate) fn correct_min_offset(&mut self, disk: &NodeDisk, phy_min_offset: i64) {
        let Some(file) = self.queue.files.first() else { return };
        let readable = file.read_position();
        if readable <= 0 {
            return;
        }
        let mut bytes = vec![0u8; readable as usize];
        file.read(disk, 0, &mut bytes);
        for (i, unit) in bytes.chunks_exact(CQ_STORE_UNIT_SIZE as usize).enumerate() {
            if decode_unit(unit).commit_log_offset.0 >= phy_min_offset {
                self.min_logic_offset = file.file_from_offset + i as i64 * CQ_STORE_UNIT_SIZE;
                break;
            }
        }
    }

    /// `deleteExpiredFile`: drop files wholly below the CommitLog's min offset, then correct the min.
    pub(crate) fn delete_expired_file(&mut self, io: &mut dyn StoreIo, offset: i64) -> usize {
        let count = self.queue.delete_expired_file_by_offset(io, offset, CQ_STORE_UNIT_SIZE);
        self.correct_min_offset(io.disk(), offset);
        count
    }

    /// `getMinOffsetInQueue`.
    pub fn min_offset_in_queue(&self) -> i64 {
        self.min_logic_offset / CQ_STORE_UNIT_SIZE
    }

    /// `getMaxOffsetInQueue`: the next offset to be written.
    pub fn max_offset_in_queue(&self) -> i64 {
        self.queue.max_offset() / CQ_STORE_UNIT_SIZE
    }

    /// `rollNextFile(index)`: the first queue offset of the next file.
    pub fn roll_next_file(&self, index: i64) -> i64 {
        let units = self.file_size() / CQ_STORE_UNIT_SIZE;
        index + units - index % units
    }

    pub(crate) fn destroy(&mut self, io: &mut dyn StoreIo) {
        self.max_physic_offset = -1;
        self.min_logic_offset = 0;
        self.queue.destroy(io);
    }

    /// `getOffsetInQueueByTime`: binary search of the file last modified at or after `timestamp` for the
    /// unit whose record was stored closest to it; 0 when nothing is readable.
    pub(crate) fn get_offset_in_queue_by_time(
        &self,
        disk: &NodeDisk,
        timestamp: i64,
        min_physic_offset: i64,
        pickup_store_timestamp: impl Fn(i64, i32) -> i64,
    ) -> i64 {
        let files = &self.queue.files;
        let Some(file) = files.iter().find(|f| f.last_modified_ms >= timestamp).or(files.last()) else { return 0 };
        let readable = file.read_position();
        if readable <= 0 {
            return 0;
        }
        let mut bytes = vec![0u8; readable as usize];
        file.read(disk, 0, &mut bytes);
        let unit_at = |position: i64| decode_unit(&bytes[position as usize..(position + CQ_STORE_UNIT_SIZE) as usize]);
        let mut low = if self.min_logic_offset > file.file_from_offset {
            self.min_logic_offset - file.file_from_offset
        } else {
            0
        };
        let mut high = readable - CQ_STORE_UNIT_SIZE;
        let (mut target, mut left, mut right) = (-1i64, -1i64, -1i64);
        let (mut left_value, mut right_value) = (-1i64, -1i64);
        while high >= low {
            let mid = (low + high) / (2 * CQ_STORE_UNIT_SIZE) * CQ_STORE_UNIT_SIZE;
            if mid < 0 || mid + CQ_STORE_UNIT_SIZE > readable {
                break;
            }
            let entry = unit_at(mid);
            if entry.commit_log_offset.0 < min_physic_offset {
                low = mid + CQ_STORE_UNIT_SIZE;
                left = mid;
                continue;
            }
            let store_time = pickup_store_timestamp(entry.commit_log_offset.0, entry.size);
            if store_time < 0 {
                return 0;
            } else if store_time == timestamp {
                target = mid;
                break;
            } else if store_time > timestamp {
                high = mid - CQ_STORE_UNIT_SIZE;
                right = mid;
                right_value = store_time;
            } else {
                low = mid + CQ_STORE_UNIT_SIZE;
                left = mid;
                left_value = store_time;
            }
        }
        let offset = if target != -1 {
            target
        } else if left_value == -1 {
            right
        } else if right_value == -1 {
            left
        } else if (timestamp - left_value).abs() > (timestamp - right_value).abs() {
            right
        } else {
            left
        };
        (file.file_from_offset + offset) / CQ_STORE_UNIT_SIZE
    }

    /// The last `count` units (for the storage X-ray), with their queue offsets.
    pub(crate) fn last_entries(&self, disk: &NodeDisk, count: u32) -> Vec<(i64, ConsumeQueueEntry)> {
        let max = self.max_offset_in_queue();
        let from = (max - i64::from(count)).max(self.min_offset_in_queue());
        (from..max).filter_map(|index| self.entry_at(disk, index).map(|entry| (index, entry))).collect()
    }
}
