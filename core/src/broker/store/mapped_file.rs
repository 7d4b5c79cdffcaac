//! `MappedFile`: one fixed-size file of the CommitLog or of a ConsumeQueue, with RocketMQ's three
//! positions (`store/MappedFile.java`).
//!
//! * `wrotePosition`: bytes appended so far (the blank marker counts as filling the file).
//! * `committedPosition`: bytes handed to the page cache. Without the transient store pool writes go
//!   straight into the page cache (an mmap), so it is not tracked separately; with the pool, appends
//!   land in an off-heap write buffer (process memory: a process kill loses it) and
//!   `CommitRealTimeService` copies them to the file channel.
//! * `flushedPosition`: bytes known durable, set when a sync (`force()`) issued at that position completes.
//!
//! Invariants: `flushed <= read position <= wrote <= file size`, where the read position is
//! `committed` with a write buffer and `wrote` without (readers never see uncommitted bytes). The
//! file on the disk model is not preallocated: its length is what was written, and absent bytes read
//! as zeros, as in a fresh preallocated file. The real file's modification time is tracked as
//! `last_modified_ms` (the virtual wall clock of the last write), which cleanup compares with
//! `fileReservedTime`.

use super::store_io::StoreIo;
use crate::sim::disk::{FileId, NodeDisk, PAGE_SIZE};

/// `OS_PAGE_SIZE`: the unit of `flushLeastPages` / `commitLeastPages`.
pub const OS_PAGE_SIZE: i64 = PAGE_SIZE as i64;

#[derive(Clone, Debug)]
pub struct MappedFile {
    pub(crate) file: FileId,
    /// The full path, e.g. `store/commitlog/00000000000000000000`.
    pub(crate) file_name: String,
    pub(crate) file_from_offset: i64,
    pub(crate) file_size: i64,
    pub(crate) wrote_position: i64,
    pub(crate) committed_position: i64,
    pub(crate) flushed_position: i64,
    /// STORETIMESTAMP of the last record appended (`MappedFile.storeTimestamp`).
    pub(crate) store_timestamp: i64,
    pub(crate) last_modified_ms: i64,
    /// The first file this queue ever created in this process (`isFirstCreateInQueue`).
    pub(crate) first_create_in_queue: bool,
    /// Transient store pool: the bytes from `committed_position` on that are not in the page cache
    /// yet. `None` when writing straight into the page cache.
    pub(crate) write_buffer: Option<Vec<u8>>,
}

impl MappedFile {
    pub(crate) fn new(file: FileId, file_name: String, file_from_offset: i64, file_size: i64, now_ms: i64) -> Self {
        assert!(file_size > 0 && file_from_offset >= 0, "a mapped file has a size and a non-negative start");
        MappedFile {
            file,
            file_name,
            file_from_offset,
            file_size,
            wrote_position: 0,
            committed_position: 0,
            flushed_position: 0,
            store_timestamp: 0,
            last_modified_ms: now_ms,
            first_create_in_queue: false,
            write_buffer: None,
        }
    }

    pub fn file_from_offset(&self) -> i64 {
        self.file_from_offset
    }

    pub fn file_size(&self) -> i64 {
        self.file_size
    }

    pub fn wrote_position(&self) -> i64 {
        self.wrote_position
    }

    pub fn committed_position(&self) -> i64 {
        if self.write_buffer.is_some() {
            self.committed_position
        } else {
            // Without a write buffer every append is already in the page cache.
            self.wrote_position
        }
    }

    pub fn flushed_position(&self) -> i64 {
        self.flushed_position
    }

    /// `getReadPosition`: the highest position holding valid data readers may see.
    pub fn read_position(&self) -> i64 {
        if self.write_buffer.is_some() {
            self.committed_position
        } else {
            self.wrote_position
        }
    }

    pub fn is_full(&self) -> bool {
        self.wrote_position == self.file_size
    }

    /// Write a record (or the blank marker) at the write position, into the write buffer if there is
    /// one, else into the page cache. `declared` is how far the write position moves: the record size,
    /// or the whole remainder of the file for the blank marker (of which only 8 bytes are written).
    pub(crate) fn append_record(&mut self, io: &mut dyn StoreIo, bytes: &[u8], declared: i64, store_timestamp: i64) {
        assert!(
            declared >= bytes.len() as i64 && self.wrote_position + declared <= self.file_size,
            "an append must fit the file"
        );
        match &mut self.write_buffer {
            Some(buffer) => {
                // The buffer starts at committed_position; unwritten gaps (blank remainders) are zeros.
                let at = (self.wrote_position - self.committed_position) as usize;
                if buffer.len() < at {
                    buffer.resize(at, 0);
                }
                buffer.extend_from_slice(bytes);
            }
            None => io.write(self.file, self.wrote_position as u64, bytes),
        }
        self.wrote_position += declared;
        self.store_timestamp = store_timestamp;
        self.last_modified_ms = io.now_ms();
    }

    /// `appendMessage(byte[])`: raw bytes straight into the page cache (ConsumeQueue units, data a
    /// slave replicates); false if they do not fit.
    pub(crate) fn append_bytes(&mut self, io: &mut dyn StoreIo, bytes: &[u8]) -> bool {
        if self.wrote_position + bytes.len() as i64 > self.file_size {
            return false;
        }
        io.write(self.file, self.wrote_position as u64, bytes);
        self.wrote_position += bytes.len() as i64;
        self.last_modified_ms = io.now_ms();
        true
    }

    /// `isAbleToFlush`: a full file always; else at least `least_pages` new pages (any new byte if 0).
    pub(crate) fn is_able_to_flush(&self, least_pages: i64) -> bool {
        let flush = self.flushed_position;
        let write = self.read_position();
        if self.is_full() {
            return true;
        }
        if least_pages > 0 {
            return write / OS_PAGE_SIZE - flush / OS_PAGE_SIZE >= least_pages;
        }
        write > flush
    }

    fn is_able_to_commit(&self, least_pages: i64) -> bool {
        let commit = self.committed_position;
        let write = self.wrote_position;
        if self.is_full() {
            return true;
        }
        if least_pages > 0 {
            return write / OS_PAGE_SIZE - commit / OS_PAGE_SIZE >= least_pages;
        }
        write > commit
    }

    /// `commit`: copy the write buffer into the page cache when at least `least_pages` pages wait.
    /// Returns the committed position and, once the file is full and wholly committed, whether the
    /// buffer went back to the pool.
    pub(crate) fn commit(&mut self, io: &mut dyn StoreIo, least_pages: i64) -> (i64, bool) {
        if self.write_buffer.is_none() {
            return (self.wrote_position, false);
        }
        if self.is_able_to_commit(least_pages) && self.wrote_position > self.committed_position {
            let buffer = self.write_buffer.as_mut().expect("checked above");
            if !buffer.is_empty() {
                io.write(self.file, self.committed_position as u64, buffer);
            }
            buffer.clear();
            self.committed_position = self.wrote_position;
        }
        if self.committed_position == self.file_size {
            self.write_buffer = None;
            return (self.committed_position, true);
        }
        (self.committed_position, false)
    }

    /// Recovery and truncation set all three positions at once (`setWrotePosition` & co).
    pub(crate) fn set_positions(&mut self, position: i64) {
        self.wrote_position = position;
        self.committed_position = position;
        self.flushed_position = position;
    }

    /// Read `out.len()` bytes at `position` of this file from the page cache.
    pub(crate) fn read(&self, disk: &NodeDisk, position: i64, out: &mut [u8]) {
        disk.read(self.file, position as u64, out);
    }
}
