//! `IndexService`: the IndexFiles under `<root>/index/`, built by dispatch and queried by key
//! (`store/index/IndexService.java`).
//!
//! Dispatch puts `topic#UNIQ_KEY` and `topic#k` for each KEYS token of every record (rollback
//! transaction records excepted, and records below the current file's endPhyOffset skipped as
//! already indexed). When the last file is full a new one is created, named by the virtual wall clock
//! `yyyyMMddHHmmssSSS` and inheriting the previous file's end offset and time, and the full file is
//! flushed; when that flush completes, `indexMsgTimestamp` of the checkpoint becomes its end time.
//! A query walks files newest first (see `index_file::IndexFile::select_phy_offsets`).
//!
//! Persistence on the disk model (a documented choice, so a 420 MB file is never allocated): the
//! in-memory [`IndexFile`] is authoritative for puts and queries. Its header and its entries (dense,
//! appended) are written through at the end of each dispatch batch, as RocketMQ's mmap writes would
//! have left them in the page cache; the 4-byte slots (random, sparse) are written only when the file
//! is flushed (full) or at shutdown. Loading rebuilds the slots from the entries, which is exactly what
//! `putKey` left in them. On an abnormal start, files whose endTimestamp is after the checkpoint's
//! `indexMsgTimestamp` are destroyed (`IndexService.load`), so only flushed files survive a crash and
//! recovery re-indexes from the checkpoint. Deviation: a file whose header is impossible (indexCount
//! beyond maxIndexNum) is destroyed instead of loaded; two files created in the same millisecond get
//! names one millisecond apart instead of overwriting each other.

use std::collections::BTreeMap;

use serde::Serialize;

use super::dispatch_request::DispatchRequest;
use super::index_file::{
    build_key, build_key_hash, entry_position, index_file_name, slot_position, IndexEntry, IndexFile, IndexHeader,
    INDEX_SIZE,
};
use super::message_store_config::MessageStoreConfig;
use super::message_sys_flag::{transaction_value, TRANSACTION_ROLLBACK_TYPE};
use super::offsets::CommitLogOffset;
use super::properties::KEY_SEPARATOR;
use super::store_io::StoreIo;
use crate::sim::disk::{FileId, NodeDisk};

/// Buckets of the slot-usage histogram in the storage view.
pub const SLOT_USAGE_BUCKETS: u32 = 32;

#[derive(Clone, Debug)]
pub(crate) struct StoredIndexFile {
    pub(crate) file: FileId,
    pub(crate) name: String,
    pub(crate) index: IndexFile,
    /// Entries already written to the disk model.
    persisted_entries: u32,
    header_dirty: bool,
}

/// `QueryOffsetResult`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QueryOffsetResult {
    pub phy_offsets: Vec<CommitLogOffset>,
    pub index_last_update_timestamp: i64,
    pub index_last_update_phyoffset: i64,
}

#[derive(Clone, Debug)]
pub struct IndexService {
    dir: String,
    hash_slot_num: u32,
    index_num: u32,
    max_msgs_num_batch: u32,
    pub(crate) files: Vec<StoredIndexFile>,
    /// Full files being flushed: file → its end timestamp, for the checkpoint when the sync completes.
    flushing: BTreeMap<FileId, i64>,
}

impl IndexService {
    pub(crate) fn new(config: &MessageStoreConfig) -> Self {
        IndexService {
            dir: config.index_dir(),
            hash_slot_num: config.max_hash_slot_num,
            index_num: config.max_index_num,
            max_msgs_num_batch: config.max_msgs_num_batch,
            files: Vec::new(),
            flushing: BTreeMap::new(),
        }
    }

    /// `load(lastExitOK)`: every index file, in name order; after a crash, those that may hold
    /// unflushed entries (endTimestamp after the checkpoint's index timestamp) are destroyed.
    pub(crate) fn load(&mut self, io: &mut dyn StoreIo, last_exit_ok: bool, index_msg_timestamp: i64) {
        self.files.clear();
        for (name, file) in io.disk().list(&self.dir) {
            if name[self.dir.len()..].contains('/') {
                continue;
            }
            let mut header_bytes = [0u8; 40];
            io.disk().read(file, 0, &mut header_bytes);
            let header = IndexHeader::decode(&header_bytes);
            if !last_exit_ok && header.end_timestamp > index_msg_timestamp {
                io.delete(file);
                continue;
            }
            match self.read_file(io.disk(), file, header) {
                Some(index) => {
                    let persisted_entries = index.entries().len() as u32;
                    self.files.push(StoredIndexFile { file, name, index, persisted_entries, header_dirty: false });
                }
                None => io.delete(file),
            }
        }
    }

    fn read_file(&self, disk: &NodeDisk, file: FileId, header: IndexHeader) -> Option<IndexFile> {
        if header.index_count < 1 || i64::from(header.index_count) > i64::from(self.index_num) {
            return None;
        }
        let count = header.index_count as u64 - 1;
        let mut bytes = vec![0u8; (count * INDEX_SIZE) as usize];
        disk.read(file, entry_position(self.hash_slot_num, 1), &mut bytes);
        let entries = bytes
            .chunks_exact(INDEX_SIZE as usize)
            .map(|chunk| IndexEntry::decode(chunk.try_into().expect("20 bytes")))
            .collect();
        IndexFile::from_header_and_entries(self.hash_slot_num, self.index_num, header, entries).ok()
    }

    /// `getAndCreateLastIndexFile`: the last file if not full, else a new one (and the full one flushed).
    fn last_writable_file(&mut self, io: &mut dyn StoreIo) -> usize {
        if let Some(last) = self.files.last() {
            if !last.index.is_write_full() {
                return self.files.len() - 1;
            }
        }
        let (end_phy_offset, end_timestamp) = self
            .files
            .last()
            .map_or((CommitLogOffset(0), 0), |f| (f.index.header().end_phy_offset, f.index.header().end_timestamp));
        if let Some(previous) = self.files.len().checked_sub(1) {
            self.flush_file(io, previous);
        }
        let mut created_at = io.now_ms();
        let name = loop {
            let name = format!("{}{}", self.dir, index_file_name(created_at));
            if io.disk().lookup(&name).is_none() {
                break name;
            }
            created_at += 1;
        };
        let file = io.open(&name);
        let index = IndexFile::new(self.hash_slot_num, self.index_num, end_phy_offset, end_timestamp);
        self.files.push(StoredIndexFile { file, name, index, persisted_entries: 0, header_dirty: true });
        self.files.len() - 1
    }

    /// `buildIndex` for one dispatched record.
    pub(crate) fn build_index(&mut self, io: &mut dyn StoreIo, request: &DispatchRequest<'_>) {
        let mut index = self.last_writable_file(io);
        if request.commit_log_offset < self.files[index].index.header().end_phy_offset.0 {
            return;
        }
        if transaction_value(request.sys_flag) == TRANSACTION_ROLLBACK_TYPE {
            return;
        }
        if let Some(uniq_key) = request.uniq_key() {
            index = self.put_key(io, index, build_key_hash(&request.topic, uniq_key), request);
        }
        if let Some(keys) = request.keys() {
            for key in keys.split(KEY_SEPARATOR).filter(|key| !key.is_empty()) {
                index = self.put_key(io, index, build_key_hash(&request.topic, key), request);
            }
        }
    }

    /// `putKey` of `topic#key` (given by its hash), rolling to a new file when this one is full.
    fn put_key(
        &mut self,
        io: &mut dyn StoreIo,
        mut index: usize,
        key_hash: i32,
        request: &DispatchRequest<'_>,
    ) -> usize {
        let offset = CommitLogOffset(request.commit_log_offset);
        loop {
            let stored = &mut self.files[index];
            if stored.index.put_key_hash(key_hash, offset, request.store_timestamp).is_ok() {
                stored.header_dirty = true;
                return index;
            }
            index = self.last_writable_file(io);
        }
    }

    /// Write what dispatch added since the last call: new entries and the header (see the module comment).
    pub(crate) fn persist(&mut self, io: &mut dyn StoreIo) {
        let hash_slot_num = self.hash_slot_num;
        for stored in &mut self.files {
            Self::persist_file(io, hash_slot_num, stored);
        }
    }

    fn persist_file(io: &mut dyn StoreIo, hash_slot_num: u32, stored: &mut StoredIndexFile) {
        let entries = stored.index.entries();
        let written = stored.persisted_entries as usize;
        if entries.len() > written {
            let mut bytes = Vec::with_capacity((entries.len() - written) * INDEX_SIZE as usize);
            for entry in &entries[written..] {
                bytes.extend_from_slice(&entry.encode());
            }
            io.write(stored.file, entry_position(hash_slot_num, written as u32 + 1), &bytes);
            stored.persisted_entries = entries.len() as u32;
        }
        if stored.header_dirty {
            io.write(stored.file, 0, &stored.index.header().encode());
            stored.header_dirty = false;
        }
    }

    /// Write a file completely: header, entries and slots.
    fn write_whole_file(io: &mut dyn StoreIo, hash_slot_num: u32, stored: &mut StoredIndexFile) {
        stored.header_dirty = true;
        Self::persist_file(io, hash_slot_num, stored);
        for (slot, value) in stored.index.used_slots() {
            io.write(stored.file, slot_position(slot), &value.to_be_bytes());
        }
    }

    /// `IndexService.flush(f)` for a full file: write it all and sync it.
    fn flush_file(&mut self, io: &mut dyn StoreIo, index: usize) {
        let hash_slot_num = self.hash_slot_num;
        let stored = &mut self.files[index];
        Self::write_whole_file(io, hash_slot_num, stored);
        io.sync(stored.file);
        if stored.index.is_write_full() {
            self.flushing.insert(stored.file, stored.index.header().end_timestamp);
        }
    }

    /// At shutdown: everything into the page cache (RocketMQ's mmap already has it there; it does not
    /// sync a file that is not full).
    pub(crate) fn write_all(&mut self, io: &mut dyn StoreIo) {
        let hash_slot_num = self.hash_slot_num;
        for stored in &mut self.files {
            Self::write_whole_file(io, hash_slot_num, stored);
        }
    }

    /// A sync completed: the end timestamp of the full file it flushed, for `indexMsgTimestamp`.
    pub(crate) fn on_synced(&mut self, file: FileId) -> Option<i64> {
        self.flushing.remove(&file)
    }

    /// `queryOffset`: newest file first, files overlapping [begin, end], at most `max_num` (capped at
    /// `maxMsgsNumBatch`) offsets, stopping at a file that begins before `begin`.
    pub fn query_offset(&self, topic: &str, key: &str, max_num: u32, begin: i64, end: i64) -> QueryOffsetResult {
        let max_num = max_num.min(self.max_msgs_num_batch);
        let mut result = QueryOffsetResult::default();
        let key = build_key(topic, key);
        for (i, stored) in self.files.iter().enumerate().rev() {
            let header = stored.index.header();
            if i + 1 == self.files.len() {
                result.index_last_update_timestamp = header.end_timestamp;
                result.index_last_update_phyoffset = header.end_phy_offset.0;
            }
            if stored.index.is_time_matched(begin, end) {
                stored.index.select_phy_offsets(&mut result.phy_offsets, &key, max_num, begin, end);
            }
            if header.begin_timestamp < begin || result.phy_offsets.len() as u64 >= u64::from(max_num) {
                break;
            }
        }
        result
    }

    /// `deleteExpiredFile(offset)`: files (never the last) wholly below the CommitLog's min offset.
    pub(crate) fn delete_expired_file(&mut self, io: &mut dyn StoreIo, offset: i64) {
        let Some(first) = self.files.first() else { return };
        if first.index.header().end_phy_offset.0 >= offset {
            return;
        }
        let candidates = self.files.len() - 1;
        let count = self.files[..candidates].iter().take_while(|f| f.index.header().end_phy_offset.0 < offset).count();
        for stored in self.files.drain(..count) {
            io.delete(stored.file);
            self.flushing.remove(&stored.file);
        }
    }

    /// Slot usage of a file in [`SLOT_USAGE_BUCKETS`] equal ranges of slots (for the storage X-ray).
    pub(crate) fn slot_usage(&self, stored: &StoredIndexFile) -> Vec<u32> {
        let mut buckets = vec![0u32; SLOT_USAGE_BUCKETS as usize];
        let per_bucket = u64::from(self.hash_slot_num).div_ceil(u64::from(SLOT_USAGE_BUCKETS)).max(1);
        for (slot, _) in stored.index.used_slots() {
            buckets[(u64::from(slot) / per_bucket) as usize] += 1;
        }
        buckets
    }
}
