//! The IndexFile: a hash index from `topic#key` to CommitLog offsets, laid out in one file as
//! RocketMQ does (`store/index/IndexFile.java`, `IndexHeader.java`, `IndexService.java`).
//!
//! Layout, big-endian: a 40-byte header (beginTimestamp 8, endTimestamp 8, beginPhyOffset 8,
//! endPhyOffset 8, hashSlotCount 4, indexCount 4); then `hashSlotNum` slots of 4 bytes, each holding
//! the index of the newest entry whose key hashes there (0 = empty); then `indexNum` entries of 20
//! bytes (keyHash 4, phyOffset 8, timeDiff 4 = seconds since beginTimestamp, prevIndex 4 = the
//! previous entry of the same slot). Entries are chained newest first. Defaults 5 000 000 slots and
//! 20 000 000 entries give 420 000 040 bytes.
//!
//! Invariants: entries are appended at `indexCount`, which starts at 1 (entry 0 is "invalid"), so a
//! file holds `indexNum - 1` keys and is full when `indexCount >= indexNum`; a slot only ever points
//! at an already written entry; `prevIndex < index` for every entry, so chains end.
//!
//! Representation: nothing here allocates the file. Slots live in a `BTreeMap` of the touched ones,
//! entries in a `Vec` grown as they are appended (they are dense from 1), so cloning for a checkpoint
//! costs what was written, not 420 MB. Byte positions stay computable ([`slot_position`],
//! [`entry_position`]); [`IndexFile::read_range`] renders any byte range, [`IndexFile::to_bytes`]
//! the whole file when it is small. The header is rendered as after `IndexHeader.updateByteBuffer`
//! (a flush): a fresh Java file has 0 on disk for indexCount until the first put, and `load()` reads
//! that back as 1.

use std::collections::BTreeMap;

use super::civil_time;
use super::offsets::CommitLogOffset;
use super::properties::KEY_SEPARATOR;
use crate::java::string_hash_code;

pub const INDEX_HEADER_SIZE: u64 = 40;
pub const HASH_SLOT_SIZE: u64 = 4;
pub const INDEX_SIZE: u64 = 20;
/// Entry index 0 means "no entry" in slots and `prevIndex`.
pub const INVALID_INDEX: i32 = 0;
/// `maxHashSlotNum` default.
pub const DEFAULT_MAX_HASH_SLOT_NUM: u32 = 5_000_000;
/// `maxIndexNum` default.
pub const DEFAULT_MAX_INDEX_NUM: u32 = 20_000_000;
/// `maxMsgsNumBatch`: the broker's cap on results of one key query.
pub const MAX_MSGS_NUM_BATCH: u32 = 64;
/// The largest file [`IndexFile::to_bytes`] will materialize.
pub const MAX_MATERIALIZED_BYTES: u64 = 64 * 1024 * 1024;

/// `IndexService.buildKey`: `topic#key`.
pub fn build_key(topic: &str, key: &str) -> String {
    format!("{topic}#{key}")
}

/// The keys `IndexService.buildIndex` writes for one record, in order: `topic#UNIQ_KEY` if there
/// is one, then `topic#k` for each non-empty space-separated token of KEYS. (Rollback records and
/// records below the file's endPhyOffset are skipped by the caller.)
pub fn index_keys(topic: &str, unique_key: Option<&str>, keys: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = unique_key.map(|key| build_key(topic, key)).into_iter().collect();
    if let Some(keys) = keys {
        out.extend(keys.split(KEY_SEPARATOR).filter(|key| !key.is_empty()).map(|key| build_key(topic, key)));
    }
    out
}

/// `indexKeyHashMethod`: `abs(hashCode())`, with `Integer.MIN_VALUE` (whose abs stays negative) as 0.
pub fn index_key_hash(key: &str) -> i32 {
    let hash = string_hash_code(key).wrapping_abs();
    if hash < 0 {
        0
    } else {
        hash
    }
}

/// [`index_key_hash`] of `topic#key` ([`build_key`]), without building the string.
pub fn build_key_hash(topic: &str, key: &str) -> i32 {
    let fold = |hash: i32, text: &str| {
        let step = |hash: i32, unit: i32| hash.wrapping_mul(31).wrapping_add(unit);
        if text.is_ascii() {
            // An ASCII byte is its own UTF-16 unit; skipping the UTF-8 decoding halves the cost.
            text.bytes().fold(hash, |hash, byte| step(hash, i32::from(byte)))
        } else {
            text.encode_utf16().fold(hash, |hash, unit| step(hash, i32::from(unit)))
        }
    };
    let with_separator = fold(0, topic).wrapping_mul(31).wrapping_add(i32::from(b'#'));
    let hash = fold(with_separator, key).wrapping_abs();
    if hash < 0 {
        0
    } else {
        hash
    }
}

/// The slot of a key: `keyHash % hashSlotNum`.
pub fn slot_of(key: &str, hash_slot_num: u32) -> u32 {
    index_key_hash(key) as u32 % hash_slot_num
}

/// Byte position of a slot.
pub fn slot_position(slot: u32) -> u64 {
    INDEX_HEADER_SIZE + u64::from(slot) * HASH_SLOT_SIZE
}

/// Byte position of entry `index` (1 is the first written).
pub fn entry_position(hash_slot_num: u32, index: u32) -> u64 {
    INDEX_HEADER_SIZE + u64::from(hash_slot_num) * HASH_SLOT_SIZE + u64::from(index) * INDEX_SIZE
}

/// Total file size: header + slots + entries.
pub fn file_size(hash_slot_num: u32, index_num: u32) -> u64 {
    entry_position(hash_slot_num, index_num)
}

/// IndexFiles are named by their creation time, `yyyyMMddHHmmssSSS` (UTC here, local time in Java).
pub fn index_file_name(created_at_millis: i64) -> String {
    civil_time::time_millis_to_human_string(created_at_millis)
}

/// The 40-byte header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexHeader {
    pub begin_timestamp: i64,
    pub end_timestamp: i64,
    pub begin_phy_offset: CommitLogOffset,
    pub end_phy_offset: CommitLogOffset,
    /// How many slots are in use.
    pub hash_slot_count: i32,
    /// The index the next entry gets; starts at 1.
    pub index_count: i32,
}

impl Default for IndexHeader {
    fn default() -> Self {
        IndexHeader {
            begin_timestamp: 0,
            end_timestamp: 0,
            begin_phy_offset: CommitLogOffset(0),
            end_phy_offset: CommitLogOffset(0),
            hash_slot_count: 0,
            index_count: 1,
        }
    }
}

impl IndexHeader {
    pub fn encode(&self) -> [u8; 40] {
        let mut out = [0u8; 40];
        out[0..8].copy_from_slice(&self.begin_timestamp.to_be_bytes());
        out[8..16].copy_from_slice(&self.end_timestamp.to_be_bytes());
        out[16..24].copy_from_slice(&self.begin_phy_offset.0.to_be_bytes());
        out[24..32].copy_from_slice(&self.end_phy_offset.0.to_be_bytes());
        out[32..36].copy_from_slice(&self.hash_slot_count.to_be_bytes());
        out[36..40].copy_from_slice(&self.index_count.to_be_bytes());
        out
    }

    /// `IndexHeader.load`: an indexCount of 0 or less (never written) reads as 1.
    pub fn decode(bytes: &[u8; 40]) -> Self {
        let long = |at: usize| i64::from_be_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        let int = |at: usize| i32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        IndexHeader {
            begin_timestamp: long(0),
            end_timestamp: long(8),
            begin_phy_offset: CommitLogOffset(long(16)),
            end_phy_offset: CommitLogOffset(long(24)),
            hash_slot_count: int(32),
            index_count: int(36).max(1),
        }
    }
}

/// One 20-byte entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexEntry {
    /// `index_key_hash` of the key (the key itself is not stored: queries re-check it).
    pub key_hash: i32,
    pub phy_offset: CommitLogOffset,
    /// Seconds between the header's beginTimestamp and the record's store time, clamped to 0..=i32::MAX.
    pub time_diff: i32,
    /// The previous entry in the same slot, or 0.
    pub prev_index: i32,
}

impl IndexEntry {
    pub fn encode(&self) -> [u8; 20] {
        let mut out = [0u8; 20];
        out[0..4].copy_from_slice(&self.key_hash.to_be_bytes());
        out[4..12].copy_from_slice(&self.phy_offset.0.to_be_bytes());
        out[12..16].copy_from_slice(&self.time_diff.to_be_bytes());
        out[16..20].copy_from_slice(&self.prev_index.to_be_bytes());
        out
    }

    pub fn decode(bytes: &[u8; 20]) -> Self {
        let int = |at: usize| i32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        IndexEntry {
            key_hash: int(0),
            phy_offset: CommitLogOffset(i64::from_be_bytes(bytes[4..12].try_into().expect("8 bytes"))),
            time_diff: int(12),
            prev_index: int(16),
        }
    }
}

/// `putKey` refused: `indexCount >= indexNum`; the caller rolls to a new file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexFull;

impl std::fmt::Display for IndexFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the index file is full")
    }
}

impl std::error::Error for IndexFull {}

/// Why bytes cannot be loaded as, or rendered from, an IndexFile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IndexFileError {
    WrongSize {
        expected: u64,
        actual: u64,
    },
    /// The header's indexCount points past the last entry.
    IndexCountOutOfRange {
        index_count: i32,
        index_num: u32,
    },
    /// [`IndexFile::to_bytes`] refuses files above [`MAX_MATERIALIZED_BYTES`].
    TooLargeToMaterialize {
        bytes: u64,
    },
}

impl std::fmt::Display for IndexFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IndexFileError::WrongSize { expected, actual } => {
                write!(f, "an index file of this shape is {expected} bytes, got {actual}")
            }
            IndexFileError::IndexCountOutOfRange { index_count, index_num } => {
                write!(f, "indexCount {index_count} is beyond the {index_num} entries of the file")
            }
            IndexFileError::TooLargeToMaterialize { bytes } => {
                write!(f, "{bytes} bytes is too large to materialize (limit {MAX_MATERIALIZED_BYTES})")
            }
        }
    }
}

impl std::error::Error for IndexFileError {}

/// One IndexFile, stored sparsely (see the module comment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexFile {
    hash_slot_num: u32,
    index_num: u32,
    header: IndexHeader,
    /// Slot number → entry index, only for slots ever written.
    slots: BTreeMap<u32, i32>,
    /// `entries[i]` is entry index `i + 1`; always `index_count - 1` long.
    entries: Vec<IndexEntry>,
}

impl IndexFile {
    /// A new file (the `IndexFile` constructor): a file created after a full one starts its begin/end
    /// offsets and timestamps at the previous file's end values, when those are positive.
    pub fn new(hash_slot_num: u32, index_num: u32, end_phy_offset: CommitLogOffset, end_timestamp: i64) -> Self {
        assert!(hash_slot_num > 0 && index_num > 0, "an index file needs slots and entries");
        assert!(hash_slot_num <= i32::MAX as u32 && index_num <= i32::MAX as u32, "Java ints");
        let mut header = IndexHeader::default();
        if end_phy_offset.0 > 0 {
            header.begin_phy_offset = end_phy_offset;
            header.end_phy_offset = end_phy_offset;
        }
        if end_timestamp > 0 {
            header.begin_timestamp = end_timestamp;
            header.end_timestamp = end_timestamp;
        }
        IndexFile { hash_slot_num, index_num, header, slots: BTreeMap::new(), entries: Vec::new() }
    }

    /// An empty file with the default 5 000 000 slots and 20 000 000 entries.
    pub fn with_defaults() -> Self {
        Self::new(DEFAULT_MAX_HASH_SLOT_NUM, DEFAULT_MAX_INDEX_NUM, CommitLogOffset(0), 0)
    }

    pub fn hash_slot_num(&self) -> u32 {
        self.hash_slot_num
    }

    pub fn index_num(&self) -> u32 {
        self.index_num
    }

    pub fn header(&self) -> &IndexHeader {
        &self.header
    }

    pub fn file_size(&self) -> u64 {
        file_size(self.hash_slot_num, self.index_num)
    }

    /// `isWriteFull`.
    pub fn is_write_full(&self) -> bool {
        self.header.index_count as i64 >= i64::from(self.index_num)
    }

    /// The entry index a slot points at (0 when empty).
    pub fn slot_value(&self, slot: u32) -> i32 {
        self.slots.get(&slot).copied().unwrap_or(INVALID_INDEX)
    }

    /// Entry `index` as the file holds it; never-written entries read as zeros, like mapped memory.
    pub fn entry(&self, index: i32) -> IndexEntry {
        usize::try_from(index - 1).ok().and_then(|i| self.entries.get(i)).copied().unwrap_or_default()
    }

    /// `putKey`: appends an entry at indexCount and makes the key's slot point at it.
    pub fn put_key(&mut self, key: &str, phy_offset: CommitLogOffset, store_timestamp: i64) -> Result<(), IndexFull> {
        self.put_key_hash(index_key_hash(key), phy_offset, store_timestamp)
    }

    /// [`put_key`](Self::put_key) given the key's [`index_key_hash`] (the key itself is never stored).
    pub fn put_key_hash(
        &mut self,
        key_hash: i32,
        phy_offset: CommitLogOffset,
        store_timestamp: i64,
    ) -> Result<(), IndexFull> {
        assert!(key_hash >= 0, "an index key hash is an abs()");
        if self.is_write_full() {
            return Err(IndexFull);
        }
        let slot = key_hash as u32 % self.hash_slot_num;
        let index_count = self.header.index_count;
        // One tree operation: the slot's previous value comes back from the insert.
        let mut slot_value = self.slots.insert(slot, index_count).unwrap_or(INVALID_INDEX);
        if slot_value <= INVALID_INDEX || slot_value > index_count {
            slot_value = INVALID_INDEX;
        }
        // Computed against the beginTimestamp *before* this put: for the first key of a file that
        // inherited the previous file's end time, this is that inherited time.
        let time_diff = if self.header.begin_timestamp <= 0 {
            0
        } else {
            ((store_timestamp - self.header.begin_timestamp) / 1000).clamp(0, i64::from(i32::MAX)) as i32
        };
        assert_eq!(self.entries.len() as i64, i64::from(index_count) - 1, "entries are dense from index 1");
        self.entries.push(IndexEntry { key_hash, phy_offset, time_diff, prev_index: slot_value });
        if index_count <= 1 {
            self.header.begin_phy_offset = phy_offset;
            self.header.begin_timestamp = store_timestamp;
        }
        if slot_value == INVALID_INDEX {
            self.header.hash_slot_count += 1;
        }
        self.header.index_count += 1;
        self.header.end_phy_offset = phy_offset;
        self.header.end_timestamp = store_timestamp;
        Ok(())
    }

    /// `isTimeMatched`: does [begin, end] overlap the file's time span?
    pub fn is_time_matched(&self, begin: i64, end: i64) -> bool {
        let (first, last) = (self.header.begin_timestamp, self.header.end_timestamp);
        (begin < first && end > last) || (begin >= first && begin <= last) || (end >= first && end <= last)
    }

    /// `selectPhyOffset`: walks the key's chain newest first, appending to `phy_offsets` (shared across
    /// files by the caller) the offsets of entries with the same key hash stored within [begin, end],
    /// until `phy_offsets` holds `max_num`. It stops at the chain's end or at the first entry older
    /// than `begin`. Hash collisions are returned too; the client re-checks keys.
    pub fn select_phy_offsets(
        &self,
        phy_offsets: &mut Vec<CommitLogOffset>,
        key: &str,
        max_num: u32,
        begin: i64,
        end: i64,
    ) {
        let key_hash = index_key_hash(key);
        let slot = key_hash as u32 % self.hash_slot_num;
        let index_count = self.header.index_count;
        let slot_value = self.slot_value(slot);
        if slot_value <= INVALID_INDEX || slot_value > index_count || index_count <= 1 {
            return;
        }
        let mut next_index = slot_value;
        // Chains built by put_key strictly descend; the bound only guards against a corrupt file,
        // on which Java could loop forever.
        for _ in 0..index_count {
            if phy_offsets.len() as u64 >= u64::from(max_num) {
                break;
            }
            let entry = self.entry(next_index);
            if entry.time_diff < 0 {
                break;
            }
            let time_read = self.header.begin_timestamp + i64::from(entry.time_diff) * 1000;
            if key_hash == entry.key_hash && time_read >= begin && time_read <= end {
                phy_offsets.push(entry.phy_offset);
            }
            let prev = entry.prev_index;
            if prev <= INVALID_INDEX || prev > index_count || prev == next_index || time_read < begin {
                break;
            }
            next_index = prev;
        }
    }

    /// The slots in use, as (slot, entry index), in slot order.
    pub fn used_slots(&self) -> impl Iterator<Item = (u32, i32)> + '_ {
        self.slots.iter().map(|(slot, index)| (*slot, *index))
    }

    /// The written entries; `entries()[i]` is entry index `i + 1`.
    pub fn entries(&self) -> &[IndexEntry] {
        &self.entries
    }

    /// Rebuilds a file from its header and its written entries, without reading the slot region: the
    /// slot of each key hash points at its newest entry, which is exactly what `put_key` left there.
    /// This is how a sparse copy on the disk model is loaded without touching 20 MB of slots.
    pub fn from_header_and_entries(
        hash_slot_num: u32,
        index_num: u32,
        header: IndexHeader,
        entries: Vec<IndexEntry>,
    ) -> Result<Self, IndexFileError> {
        if header.index_count < 1 || header.index_count as i64 > i64::from(index_num) {
            return Err(IndexFileError::IndexCountOutOfRange { index_count: header.index_count, index_num });
        }
        if entries.len() as i64 != i64::from(header.index_count) - 1 {
            return Err(IndexFileError::IndexCountOutOfRange { index_count: header.index_count, index_num });
        }
        let mut file = IndexFile::new(hash_slot_num, index_num, CommitLogOffset(0), 0);
        file.header = header;
        for (i, entry) in entries.iter().enumerate() {
            let slot = i64::from(entry.key_hash).rem_euclid(i64::from(hash_slot_num)) as u32;
            file.slots.insert(slot, i as i32 + 1);
        }
        file.entries = entries;
        Ok(file)
    }

    /// Renders `length` bytes from `position` as the file would hold them (zeros where unwritten).
    pub fn read_range(&self, position: u64, length: u32) -> Vec<u8> {
        let end = (position + u64::from(length)).min(self.file_size());
        let mut out = vec![0u8; end.saturating_sub(position) as usize];
        let mut copy = |at: u64, bytes: &[u8]| {
            let from = at.max(position);
            let to = (at + bytes.len() as u64).min(end);
            if from < to {
                out[(from - position) as usize..(to - position) as usize]
                    .copy_from_slice(&bytes[(from - at) as usize..(to - at) as usize]);
            }
        };
        copy(0, &self.header.encode());
        let slots_end = entry_position(self.hash_slot_num, 0);
        if position < slots_end && end > INDEX_HEADER_SIZE {
            let first_slot = (position.saturating_sub(INDEX_HEADER_SIZE) / HASH_SLOT_SIZE) as u32;
            for (&slot, &value) in self.slots.range(first_slot..) {
                let at = slot_position(slot);
                if at >= end {
                    break;
                }
                copy(at, &value.to_be_bytes());
            }
        }
        let first_entry = (position.saturating_sub(slots_end) / INDEX_SIZE) as usize;
        for (i, entry) in self.entries.iter().enumerate().skip(first_entry.saturating_sub(1)) {
            let at = entry_position(self.hash_slot_num, i as u32 + 1);
            if at >= end {
                break;
            }
            copy(at, &entry.encode());
        }
        out
    }

    /// The whole file as bytes, for small configured files (tests, explanations).
    pub fn to_bytes(&self) -> Result<Vec<u8>, IndexFileError> {
        let size = self.file_size();
        if size > MAX_MATERIALIZED_BYTES {
            return Err(IndexFileError::TooLargeToMaterialize { bytes: size });
        }
        Ok(self.read_range(0, size as u32))
    }

    /// Loads a file written by [`to_bytes`](Self::to_bytes) or by RocketMQ (`load`).
    pub fn from_bytes(bytes: &[u8], hash_slot_num: u32, index_num: u32) -> Result<Self, IndexFileError> {
        let expected = file_size(hash_slot_num, index_num);
        if bytes.len() as u64 != expected {
            return Err(IndexFileError::WrongSize { expected, actual: bytes.len() as u64 });
        }
        let header = IndexHeader::decode(bytes[..40].try_into().expect("40 bytes"));
        if header.index_count as i64 > i64::from(index_num) {
            return Err(IndexFileError::IndexCountOutOfRange { index_count: header.index_count, index_num });
        }
        let mut file = IndexFile::new(hash_slot_num, index_num, CommitLogOffset(0), 0);
        file.header = header;
        for slot in 0..hash_slot_num {
            let at = slot_position(slot) as usize;
            let value = i32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
            if value != INVALID_INDEX {
                file.slots.insert(slot, value);
            }
        }
        for index in 1..header.index_count as u32 {
            let at = entry_position(hash_slot_num, index) as usize;
            file.entries.push(IndexEntry::decode(bytes[at..at + 20].try_into().expect("20 bytes")));
        }
        Ok(file)
    }
}

/// `IndexService.queryOffset` over files ordered oldest first: newest file first, only files whose
/// time span overlaps, stopping at a file that begins before `begin` or once `max_num` (capped at
/// `maxMsgsNumBatch` 64) offsets are found.
pub fn query_offsets(
    files: &[IndexFile],
    topic: &str,
    key: &str,
    max_num: u32,
    begin: i64,
    end: i64,
) -> Vec<CommitLogOffset> {
    let max_num = max_num.min(MAX_MSGS_NUM_BATCH);
    let key = build_key(topic, key);
    let mut phy_offsets = Vec::new();
    for file in files.iter().rev() {
        if file.is_time_matched(begin, end) {
            file.select_phy_offsets(&mut phy_offsets, &key, max_num, begin, end);
        }
        if file.header.begin_timestamp < begin || phy_offsets.len() as u64 >= u64::from(max_num) {
            break;
        }
    }
    phy_offsets
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;

    fn small_file() -> IndexFile {
        IndexFile::new(4, 8, CommitLogOffset(0), 0)
    }

    #[test]
    fn default_index_file_is_420_000_040_bytes() {
        // Spec §13 item 14.
        assert_eq!(file_size(DEFAULT_MAX_HASH_SLOT_NUM, DEFAULT_MAX_INDEX_NUM), 420_000_040);
        assert_eq!(IndexFile::with_defaults().file_size(), 420_000_040);
    }

    #[test]
    fn key_topic_test_key1_lands_in_slot_1_969_516() {
        // Spec §13 item 14: hashCode -1656969516, abs 1656969516, mod 5 000 000.
        let key = build_key("TopicTest", "KEY1");
        assert_eq!(key, "TopicTest#KEY1");
        assert_eq!(string_hash_code(&key), -1_656_969_516);
        assert_eq!(index_key_hash(&key), 1_656_969_516);
        assert_eq!(slot_of(&key, DEFAULT_MAX_HASH_SLOT_NUM), 1_969_516);
        assert_eq!(slot_position(1_969_516), 40 + 1_969_516 * 4);
    }

    #[test]
    fn first_entry_of_a_default_file_is_written_at_byte_20_000_060() {
        // Spec §13 item 14: 40 + 5 000 000 × 4 + 1 × 20.
        assert_eq!(entry_position(DEFAULT_MAX_HASH_SLOT_NUM, 1), 20_000_060);
        let mut file = IndexFile::with_defaults();
        file.put_key("TopicTest#KEY1", CommitLogOffset(4096), T0).unwrap();
        let entry = file.read_range(20_000_060, 20);
        assert_eq!(&entry[0..4], &1_656_969_516i32.to_be_bytes());
        assert_eq!(&entry[4..12], &4096i64.to_be_bytes());
        assert_eq!(file.read_range(slot_position(1_969_516), 4), 1i32.to_be_bytes());
        assert_eq!(file.header().index_count, 2);
    }

    #[test]
    fn the_hash_of_topic_and_key_is_the_hash_of_the_built_key() {
        for (topic, key) in [("TopicTest", "KEY1"), ("T", ""), ("", "k"), ("主题", "键\u{1F600}")] {
            assert_eq!(build_key_hash(topic, key), index_key_hash(&build_key(topic, key)));
        }
    }

    #[test]
    fn integer_min_value_hash_code_maps_to_hash_zero() {
        // "polygenelubricants".hashCode() == Integer.MIN_VALUE, a well-known Java curiosity.
        assert_eq!(string_hash_code("polygenelubricants"), i32::MIN);
        assert_eq!(index_key_hash("polygenelubricants"), 0);
        assert_eq!(slot_of("polygenelubricants", 7), 0);
    }

    #[test]
    fn keys_of_one_slot_chain_newest_first_and_queries_filter_by_hash_and_time() {
        let mut file = small_file();
        // Find two keys with the same slot but different hashes, and one with another slot.
        let a = "TopicTest#a";
        let same_slot = (0..100).map(|i| format!("TopicTest#b{i}")).find(|k| slot_of(k, 4) == slot_of(a, 4)).unwrap();
        file.put_key(a, CommitLogOffset(100), T0).unwrap();
        file.put_key(&same_slot, CommitLogOffset(200), T0 + 1_500).unwrap();
        file.put_key(a, CommitLogOffset(300), T0 + 3_000).unwrap();
        assert_eq!(file.entry(3).prev_index, 2);
        assert_eq!(file.entry(2).prev_index, 1);
        assert_eq!(file.entry(2).time_diff, 1, "seconds, truncated");
        assert_eq!(file.header().hash_slot_count, 1);

        let mut found = Vec::new();
        file.select_phy_offsets(&mut found, a, 10, T0, T0 + 10_000);
        assert_eq!(found, [CommitLogOffset(300), CommitLogOffset(100)]);

        let mut found = Vec::new();
        file.select_phy_offsets(&mut found, a, 1, T0, T0 + 10_000);
        assert_eq!(found, [CommitLogOffset(300)], "stops at max_num");

        let mut found = Vec::new();
        file.select_phy_offsets(&mut found, a, 10, T0 + 2_000, T0 + 10_000);
        assert_eq!(found, [CommitLogOffset(300)], "entries older than begin end the walk");
    }

    #[test]
    fn a_file_holds_index_num_minus_one_keys() {
        let mut file = IndexFile::new(4, 3, CommitLogOffset(0), 0);
        file.put_key("k1", CommitLogOffset(1), T0).unwrap();
        file.put_key("k2", CommitLogOffset(2), T0).unwrap();
        assert!(file.is_write_full());
        assert_eq!(file.put_key("k3", CommitLogOffset(3), T0), Err(IndexFull));
    }

    #[test]
    fn small_file_bytes_round_trip_and_match_the_layout() {
        let mut file = small_file();
        file.put_key("TopicTest#KEY1", CommitLogOffset(0), T0).unwrap();
        file.put_key("TopicTest#KEY2", CommitLogOffset(115), T0 + 2_000).unwrap();
        let bytes = file.to_bytes().unwrap();
        assert_eq!(bytes.len() as u64, 40 + 4 * 4 + 8 * 20);
        assert_eq!(&bytes[0..8], &T0.to_be_bytes(), "beginTimestamp");
        assert_eq!(&bytes[8..16], &(T0 + 2_000).to_be_bytes(), "endTimestamp");
        assert_eq!(&bytes[24..32], &115i64.to_be_bytes(), "endPhyOffset");
        assert_eq!(&bytes[36..40], &3i32.to_be_bytes(), "indexCount");
        let second = entry_position(4, 2) as usize;
        assert_eq!(&bytes[second + 12..second + 16], &2i32.to_be_bytes(), "timeDiff in seconds");
        assert_eq!(IndexFile::from_bytes(&bytes, 4, 8).unwrap(), file);
        assert_eq!(file.read_range(50, 30), bytes[50..80].to_vec());
    }

    #[test]
    fn rebuilding_from_header_and_entries_gives_the_same_file() {
        let mut file = small_file();
        for (i, key) in ["T#a", "T#b", "T#a", "T#c", "T#b"].iter().enumerate() {
            file.put_key(key, CommitLogOffset(i as i64 * 100), T0 + i as i64 * 1000).unwrap();
        }
        let rebuilt = IndexFile::from_header_and_entries(4, 8, *file.header(), file.entries().to_vec()).unwrap();
        assert_eq!(rebuilt, file);
        let mut bad_header = *file.header();
        bad_header.index_count = 99;
        assert!(IndexFile::from_header_and_entries(4, 8, bad_header, Vec::new()).is_err());
    }

    #[test]
    fn a_never_written_file_loads_with_index_count_one() {
        let bytes = vec![0u8; file_size(4, 8) as usize];
        let file = IndexFile::from_bytes(&bytes, 4, 8).unwrap();
        assert_eq!(file.header().index_count, 1);
        assert_eq!(
            IndexFile::from_bytes(&bytes[1..], 4, 8).unwrap_err(),
            IndexFileError::WrongSize { expected: 216, actual: 215 }
        );
    }

    #[test]
    fn a_file_after_a_full_one_measures_its_first_time_diff_from_the_inherited_end() {
        let mut file = IndexFile::new(4, 8, CommitLogOffset(5000), T0);
        file.put_key("k", CommitLogOffset(6000), T0 + 7_000).unwrap();
        assert_eq!(file.entry(1).time_diff, 7);
        assert_eq!(file.header().begin_timestamp, T0 + 7_000, "then begin moves to the first key's time");
        assert_eq!(file.header().begin_phy_offset, CommitLogOffset(6000));
    }

    #[test]
    fn query_walks_files_newest_first_and_caps_at_64() {
        let mut old = small_file();
        old.put_key("T#k", CommitLogOffset(1), T0).unwrap();
        let mut new = IndexFile::new(4, 8, CommitLogOffset(1), T0);
        new.put_key("T#k", CommitLogOffset(2), T0 + 5_000).unwrap();
        let files = [old, new];
        assert_eq!(query_offsets(&files, "T", "k", 32, 0, i64::MAX), [CommitLogOffset(2), CommitLogOffset(1)]);
        assert_eq!(query_offsets(&files, "T", "k", 1, 0, i64::MAX), [CommitLogOffset(2)]);
        assert_eq!(query_offsets(&files, "T", "k", 32, T0 + 4_000, i64::MAX), [CommitLogOffset(2)]);
    }

    #[test]
    fn index_keys_are_the_unique_key_then_each_key_token() {
        assert_eq!(
            index_keys("TopicTest", Some("C0A8"), Some("k1  k2")),
            ["TopicTest#C0A8", "TopicTest#k1", "TopicTest#k2"]
        );
        assert!(index_keys("T", None, None).is_empty());
        assert_eq!(index_file_name(0), "19700101000000000");
    }
}
