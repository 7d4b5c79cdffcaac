//! `MappedFileQueue`: a log made of consecutive fixed-size [`MappedFile`]s named by their start offset
//! (`store/MappedFileQueue.java`). The CommitLog is one; every ConsumeQueue is another.
//!
//! It owns the queue-wide positions `flushedWhere` and `committedWhere`, finds the file of an offset,
//! creates the next file when the last one is full, and deletes files from the front (cleanup) or the
//! back (recovery truncating a dirty tail).
//!
//! Flushing is asynchronous here: RocketMQ's `flush(leastPages)` blocks in `force()`; ours issues a
//! sync of the one file holding `flushedWhere` and returns, and [`MappedFileQueue::on_synced`] moves
//! `flushedWhere` when the disk reports completion. At most one flush per queue is in flight, like the
//! single thread that calls `flush` in RocketMQ. The position a flush makes durable is the read
//! position *when the sync was issued*: the sync snapshots no earlier than that, so the claim is safe.
//!
//! Invariants: files are contiguous and sorted (`file[i+1].from == file[i].from + size`); only the
//! last file may be partly written; `flushedWhere <= max offset`.

use super::file_name::{file_name_to_offset, offset_to_file_name};
use super::mapped_file::MappedFile;
use super::store_io::StoreIo;
use crate::sim::disk::{FileId, NodeDisk};

/// `DELETE_FILES_BATCH_MAX`: at most this many files per cleanup pass.
pub const DELETE_FILES_BATCH_MAX: usize = 10;

/// A sync issued by [`MappedFileQueue::flush`] and not yet completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FlushInFlight {
    pub(crate) file: FileId,
    /// The read position at issue time: what becomes durable.
    pub(crate) position: i64,
    /// The file's STORETIMESTAMP at issue time (`tmpTimeStamp`).
    pub(crate) store_timestamp: i64,
    /// Issued with `flushLeastPages == 0` (only those move the queue's store timestamp).
    pub(crate) thorough: bool,
}

#[derive(Clone, Debug)]
pub struct MappedFileQueue {
    /// Directory prefix, with the trailing `/`.
    dir: String,
    mapped_file_size: i64,
    pub(crate) files: Vec<MappedFile>,
    pub(crate) flushed_where: i64,
    pub(crate) committed_where: i64,
    /// STORETIMESTAMP of the last record known flushed by a thorough flush (for the checkpoint).
    pub(crate) store_timestamp: i64,
    pub(crate) flush_in_flight: Option<FlushInFlight>,
    /// Files whose page-cache copy was cut shorter than what the device may still hold: until a sync
    /// makes the cut durable, a power loss could bring the old bytes back (see `recovery.rs`).
    pub(crate) truncated: Vec<FileId>,
}

impl MappedFileQueue {
    pub(crate) fn new(dir: String, mapped_file_size: i64) -> Self {
        assert!(dir.ends_with('/') && mapped_file_size > 0, "a queue has a directory and a file size");
        MappedFileQueue {
            dir,
            mapped_file_size,
            files: Vec::new(),
            flushed_where: 0,
            committed_where: 0,
            store_timestamp: 0,
            flush_in_flight: None,
            truncated: Vec::new(),
        }
    }

    pub fn mapped_file_size(&self) -> i64 {
        self.mapped_file_size
    }

    pub fn files(&self) -> &[MappedFile] {
        &self.files
    }

    pub fn flushed_where(&self) -> i64 {
        self.flushed_where
    }

    pub fn committed_where(&self) -> i64 {
        self.committed_where
    }

    /// `load`: every file of the directory, sorted by name, taken as full (recovery then finds the
    /// real end). Names that are not offsets are skipped. RocketMQ also refuses to start when a file's
    /// length differs from the configured size; files here are not preallocated, so that check is moot.
    pub(crate) fn load(&mut self, disk: &NodeDisk, now_ms: i64) {
        self.files.clear();
        for (name, file) in disk.list(&self.dir) {
            let base = &name[self.dir.len()..];
            let Some(from) = (!base.contains('/')).then(|| file_name_to_offset(base)).flatten() else { continue };
            if from < 0 || from % self.mapped_file_size != 0 {
                continue;
            }
            // A gap would break offset arithmetic: files after it are unreachable, as in RocketMQ.
            if let Some(last) = self.files.last() {
                if last.file_from_offset + self.mapped_file_size != from {
                    break;
                }
            }
            let mut mapped = MappedFile::new(file, name.clone(), from, self.mapped_file_size, now_ms);
            mapped.set_positions(self.mapped_file_size);
            self.files.push(mapped);
        }
    }

    /// Create the file starting at `from` and append it to the queue.
    pub(crate) fn create_file(&mut self, io: &mut dyn StoreIo, from: i64, write_buffer: bool) -> usize {
        assert!(from % self.mapped_file_size == 0, "files start at multiples of the file size");
        if let Some(last) = self.files.last() {
            assert_eq!(last.file_from_offset + self.mapped_file_size, from, "files are contiguous");
        }
        let name = format!("{}{}", self.dir, offset_to_file_name(from));
        let file = io.open(&name);
        // A file left over under that name (a dirty tail recovery did not reach) starts empty.
        if io.disk().len(file) > 0 {
            io.truncate(file, 0);
            self.truncated.push(file);
        }
        let mut mapped = MappedFile::new(file, name, from, self.mapped_file_size, io.now_ms());
        mapped.first_create_in_queue = self.files.is_empty();
        if write_buffer {
            mapped.write_buffer = Some(Vec::new());
        }
        self.files.push(mapped);
        self.files.len() - 1
    }

    /// `getLastMappedFile(startOffset, needCreate)`: the last file, or a new one if there is none (at
    /// the file holding `start_offset`) or the last is full (the next one).
    pub(crate) fn last_or_create(&mut self, io: &mut dyn StoreIo, start_offset: i64, write_buffer: bool) -> usize {
        match self.files.last() {
            None => self.create_file(io, start_offset - start_offset % self.mapped_file_size, write_buffer),
            Some(last) if last.is_full() => {
                let from = last.file_from_offset + self.mapped_file_size;
                self.create_file(io, from, write_buffer)
            }
            Some(_) => self.files.len() - 1,
        }
    }

    /// `findMappedFileByOffset`: the index of the file holding `offset`; the first file when not found
    /// and `return_first_on_not_found`.
    pub(crate) fn find_by_offset(&self, offset: i64, return_first_on_not_found: bool) -> Option<usize> {
        let first = self.files.first()?;
        let last = self.files.last()?;
        if offset >= first.file_from_offset && offset < last.file_from_offset + self.mapped_file_size {
            let index = (offset / self.mapped_file_size - first.file_from_offset / self.mapped_file_size) as usize;
            if let Some(file) = self.files.get(index) {
                if offset >= file.file_from_offset && offset < file.file_from_offset + self.mapped_file_size {
                    return Some(index);
                }
            }
            if let Some(index) = self
                .files
                .iter()
                .position(|f| offset >= f.file_from_offset && offset < f.file_from_offset + self.mapped_file_size)
            {
                return Some(index);
            }
        }
        return_first_on_not_found.then_some(0)
    }

    /// `getMinOffset`: the first file's start, or -1 when there is no file.
    pub fn min_offset(&self) -> i64 {
        self.files.first().map_or(-1, |f| f.file_from_offset)
    }

    /// `getMaxOffset`: the last file's start plus its read position (exclusive end of readable data).
    pub fn max_offset(&self) -> i64 {
        self.files.last().map_or(0, |f| f.file_from_offset + f.read_position())
    }

    /// `getMaxWrotePosition`.
    pub fn max_wrote_position(&self) -> i64 {
        self.files.last().map_or(0, |f| f.file_from_offset + f.wrote_position)
    }

    /// `flush(flushLeastPages)` issued asynchronously: syncs the file holding `flushedWhere` if it has
    /// enough unflushed pages. Returns true if a sync is now in flight for this queue.
    pub(crate) fn flush(&mut self, io: &mut dyn StoreIo, least_pages: i64) -> bool {
        if self.flush_in_flight.is_some() {
            return true;
        }
        // A cleanup may have deleted files the flush never reached; resume at the first file.
        if let Some(first) = self.files.first() {
            if self.flushed_where < first.file_from_offset {
                self.flushed_where = first.file_from_offset;
            }
        }
        let Some(index) = self.find_by_offset(self.flushed_where, self.flushed_where == 0) else { return false };
        let file = &self.files[index];
        if !file.is_able_to_flush(least_pages) {
            // Java still records where the file is flushed and, for a thorough flush, its timestamp.
            self.flushed_where = file.file_from_offset + file.flushed_position;
            if least_pages == 0 {
                self.store_timestamp = file.store_timestamp;
            }
            return false;
        }
        let position = file.read_position();
        if file.flushed_position >= position {
            // A full file already flushed: nothing new for the disk, move on to the next file.
            self.flushed_where = file.file_from_offset + file.flushed_position;
            if least_pages == 0 {
                self.store_timestamp = file.store_timestamp;
            }
            return false;
        }
        self.flush_in_flight = Some(FlushInFlight {
            file: file.file,
            position,
            store_timestamp: file.store_timestamp,
            thorough: least_pages == 0,
        });
        io.sync(file.file);
        true
    }

    /// The disk finished a sync of `file`: if it is this queue's flush, move `flushedWhere`.
    /// Returns whether it was.
    pub(crate) fn on_synced(&mut self, file: FileId) -> bool {
        let Some(in_flight) = self.flush_in_flight.filter(|f| f.file == file) else { return false };
        self.flush_in_flight = None;
        if let Some(mapped) = self.files.iter_mut().find(|f| f.file == file) {
            mapped.flushed_position = mapped.flushed_position.max(in_flight.position);
            self.flushed_where = self.flushed_where.max(mapped.file_from_offset + mapped.flushed_position);
            if in_flight.thorough {
                self.store_timestamp = in_flight.store_timestamp;
            }
        }
        true
    }

    /// `commit(commitLeastPages)` (transient store pool): commit the file holding `committedWhere`.
    /// Returns (something was committed, buffers returned to the pool).
    pub(crate) fn commit(&mut self, io: &mut dyn StoreIo, least_pages: i64) -> (bool, u32) {
        let Some(index) = self.find_by_offset(self.committed_where, self.committed_where == 0) else {
            return (false, 0);
        };
        let file = &mut self.files[index];
        let (offset, returned) = file.commit(io, least_pages);
        let at = file.file_from_offset + offset;
        let moved = at != self.committed_where;
        self.committed_where = at;
        (moved, u32::from(returned))
    }

    /// `truncateDirtyFiles(offset)`: cut the file holding `offset` there and delete every later file.
    /// The disk copy is truncated too, so that bytes past the end can never be mistaken for records.
    pub(crate) fn truncate_dirty_files(&mut self, io: &mut dyn StoreIo, offset: i64) {
        let size = self.mapped_file_size;
        let mut kept = Vec::with_capacity(self.files.len());
        for mut file in std::mem::take(&mut self.files) {
            let tail = file.file_from_offset + size;
            if tail > offset {
                if offset >= file.file_from_offset {
                    let position = offset % size;
                    file.set_positions(position);
                    file.write_buffer = None;
                    if io.disk().len(file.file) > position as u64 {
                        io.truncate(file.file, position as u64);
                        self.truncated.push(file.file);
                    }
                } else {
                    io.delete(file.file);
                    continue;
                }
            }
            kept.push(file);
        }
        self.files = kept;
        if self.flush_in_flight.is_some_and(|f| !self.files.iter().any(|m| m.file == f.file)) {
            self.flush_in_flight = None;
        }
    }

    /// `deleteLastMappedFile` (ConsumeQueue truncation).
    pub(crate) fn delete_last_mapped_file(&mut self, io: &mut dyn StoreIo) {
        if let Some(file) = self.files.pop() {
            io.delete(file.file);
            if self.flush_in_flight.is_some_and(|f| f.file == file.file) {
                self.flush_in_flight = None;
            }
        }
    }

    /// Remove and delete the first `count` files.
    fn delete_first(&mut self, io: &mut dyn StoreIo, count: usize) {
        for file in self.files.drain(..count) {
            io.delete(file.file);
            if self.flush_in_flight.is_some_and(|f| f.file == file.file) {
                self.flush_in_flight = None;
            }
        }
    }

    /// `deleteExpiredFileByTime`: from the oldest, delete files (never the last) whose last
    /// modification is at least `expired_ms` old, or every one if `clean_immediately`, stopping at the
    /// first survivor and after [`DELETE_FILES_BATCH_MAX`]. Returns how many were deleted.
    pub(crate) fn delete_expired_file_by_time(
        &mut self,
        io: &mut dyn StoreIo,
        expired_ms: i64,
        clean_immediately: bool,
    ) -> usize {
        let now_ms = io.now_ms();
        let candidates = self.files.len().saturating_sub(1);
        let mut count = 0;
        for file in &self.files[..candidates] {
            let live_max = file.last_modified_ms.saturating_add(expired_ms);
            if now_ms >= live_max || clean_immediately {
                count += 1;
                if count >= DELETE_FILES_BATCH_MAX {
                    break;
                }
            } else {
                // Avoid deleting files in the middle.
                break;
            }
        }
        self.delete_first(io, count);
        count
    }

    /// `deleteExpiredFileByOffset` (ConsumeQueue): delete files (never the last) whose last unit points
    /// below the CommitLog's `offset`, stopping at the first that does not.
    pub(crate) fn delete_expired_file_by_offset(&mut self, io: &mut dyn StoreIo, offset: i64, unit_size: i64) -> usize {
        let candidates = self.files.len().saturating_sub(1);
        let mut count = 0;
        for file in &self.files[..candidates] {
            let position = self.mapped_file_size - unit_size;
            if position >= file.read_position() || position < 0 {
                break;
            }
            let mut last_unit = [0u8; 8];
            file.read(io.disk(), position, &mut last_unit);
            if i64::from_be_bytes(last_unit) < offset {
                count += 1;
            } else {
                break;
            }
        }
        self.delete_first(io, count);
        count
    }

    /// Delete every file (`destroy`).
    pub(crate) fn destroy(&mut self, io: &mut dyn StoreIo) {
        let count = self.files.len();
        self.delete_first(io, count);
        self.flushed_where = 0;
        self.committed_where = 0;
    }

    /// Claim nothing durable from `offset` on: after a crash the page cache may hold bytes the device
    /// never got, so the flush restarts from the file holding `offset` (see `recovery.rs`).
    pub(crate) fn forget_flushed_from(&mut self, offset: i64) {
        let size = self.mapped_file_size;
        for file in &mut self.files {
            if file.file_from_offset + size > offset {
                file.flushed_position = (offset - file.file_from_offset).max(0);
            }
        }
        let start = offset - offset.rem_euclid(size);
        self.flushed_where = self.flushed_where.min(start.max(self.min_offset().max(0)));
    }

    /// Bytes written but not yet known durable, over the whole queue (`remainHowManyDataToFlush`).
    pub fn remain_how_many_data_to_flush(&self) -> i64 {
        (self.max_offset() - self.flushed_where).max(0)
    }
}
