//! Start-up: load what the disk kept and recover (`DefaultMessageStore.load`/`recover`,
//! `CommitLog.recoverNormally`/`recoverAbnormally`, `recoverTopicQueueTable`), as in 4.9.8.
//!
//! 1. The abort file says how the last run ended: absent = clean shutdown, present = crash.
//! 2. Load every CommitLog and ConsumeQueue file (taken as full; a CommitLog file's modification
//!    time is restored from the next file's first record, see `restore_modification_times`), the
//!    checkpoint and the IndexFiles (after a crash, those newer than the checkpoint's index time are
//!    destroyed).
//! 3. Each ConsumeQueue recovers alone: from its third-to-last file, keep units until the first
//!    invalid one.
//! 4. The CommitLog: *normal* recovery walks from the third-to-last file, record by record (magic,
//!    sizes and, with `checkCRCOnRecover`, the body CRC) until the first invalid record. *Abnormal*
//!    recovery instead starts at the newest file whose first record was stored at or before the
//!    checkpoint's `min(physic, logics) - 3 s` (and the index time with `messageIndexSafe`), and
//!    re-dispatches every valid record to the ConsumeQueues (which ignore what they already hold) and
//!    the index. Both cut the CommitLog after the last valid record (later files are deleted) and drop
//!    ConsumeQueue units that point past that end.
//! 5. The `topicQueueTable` (next queue offset per queue) is rebuilt from the ConsumeQueues, whose
//!    min offsets are corrected against the CommitLog's first file.
//!
//! Whatever bytes the disk holds, recovery ends with a consistent store: invalid bytes are records
//! that do not exist. Recovering twice gives the same files as recovering once.
//!
//! Deviations. RocketMQ only moves positions when it cuts a dirty tail and leaves the old bytes in the
//! file; we cut the bytes too, and until syncs have made those cuts durable the store refuses puts
//! (SERVICE_NOT_AVAILABLE, about a millisecond after start). Without that, a second power loss can
//! bring back a cut ConsumeQueue unit that now points at a newer record of another queue: a real 4.9
//! weakness we do not reproduce. And after a crash, 4.9 sets `flushedWhere` to the recovered end, as if all of it were on
//! the device. After a process kill it may not be: the page cache survived, and a real OS writes it
//! back within ~30 s (`dirty_expire_centisecs`), which the disk model does not do by itself. So after
//! an abnormal start the CommitLog claims nothing flushed from the file recovery started at (every
//! record before it was stored before the checkpoint's safe time, hence flushed), nor the
//! ConsumeQueues at all, and their flush services sync them again; until they have, a SYNC_FLUSH put
//! (which waits for `flushedWhere`) is not acknowledged, and the checkpoint claims no more than was
//! synced.

use std::collections::BTreeMap;

use serde::Serialize;

use super::commit_log::RecordReader;
use super::consume_queue::ConsumeQueue;
use super::default_message_store::DefaultMessageStore;
use super::dispatch_request::{check_message_and_return_size, CheckedRecord};
use super::message_record::{store_timestamp_position, MESSAGE_MAGIC_CODE, SYS_FLAG_POSITION};
use super::store_checkpoint::{abort_file_exists, StoreCheckpoint};
use super::store_io::StoreIo;

/// What the last start found and did, for observations and the storage X-ray.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RecoveryReport {
    /// No abort file: the previous run shut down cleanly (normal recovery).
    pub last_exit_ok: bool,
    pub checkpoint: StoreCheckpoint,
    /// The CommitLog file recovery started walking from.
    pub recovered_from_file: Option<String>,
    /// Records walked and found valid.
    pub valid_records: u64,
    /// Records re-dispatched during abnormal recovery.
    pub redispatched_records: u64,
    /// Where the CommitLog ends after recovery.
    pub commit_log_max_offset: i64,
    /// Bytes of the page cache past the recovered end that were cut (torn or unsynced tails).
    pub truncated_commit_log_bytes: u64,
    pub index_files_destroyed: u32,
    /// CommitLog bytes dispatched by the start-up catch-up (normal recovery leaves that to it).
    pub dispatched_at_start_bytes: i64,
}

impl DefaultMessageStore {
    pub(crate) fn load_and_recover(&mut self, io: &mut dyn StoreIo) {
        let last_exit_ok = !abort_file_exists(io.disk(), &self.config.abort_path());
        let now_ms = io.now_ms();
        self.commit_log.queue.load(io.disk(), now_ms);
        self.restore_modification_times(io);
        self.load_consume_queues(io);
        self.checkpoint = StoreCheckpoint::load(io.disk(), &self.config.checkpoint_path());
        let index_files_before = io.disk().list(&self.config.index_dir()).len() as u32;
        self.index_service.load(io, last_exit_ok, self.checkpoint.index_msg_timestamp);
        self.recovery = RecoveryReport {
            last_exit_ok,
            checkpoint: self.checkpoint,
            index_files_destroyed: index_files_before.saturating_sub(self.index_service.files.len() as u32),
            ..RecoveryReport::default()
        };
        let mut max_phy_offset_of_consume_queue = -1;
        for queue in self.consume_queue_table.values_mut().flat_map(|q| q.values_mut()) {
            queue.recover(io);
            max_phy_offset_of_consume_queue = max_phy_offset_of_consume_queue.max(queue.max_physic_offset);
        }
        self.recover_commit_log(io, last_exit_ok, max_phy_offset_of_consume_queue);
        self.recover_topic_queue_table(io);
        self.recovery.commit_log_max_offset = self.commit_log.max_offset();
    }

    /// `loadConsumeQueue`: one queue per `<topic>/<queueId>/` directory.
    fn load_consume_queues(&mut self, io: &mut dyn StoreIo) {
        let root = self.config.consume_queue_dir();
        let mut queues: BTreeMap<(String, i32), ()> = BTreeMap::new();
        for (name, _) in io.disk().list(&root) {
            let mut parts = name[root.len()..].split('/');
            let (Some(topic), Some(queue_id), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let Ok(queue_id) = queue_id.parse::<i32>() else { continue };
            queues.insert((topic.to_string(), queue_id), ());
        }
        self.consume_queue_table.clear();
        for (topic, queue_id) in queues.into_keys() {
            let mut queue = ConsumeQueue::new(&self.config, &topic, queue_id);
            queue.load(io.disk(), io.now_ms());
            self.consume_queue_table.entry(topic).or_default().insert(queue_id, queue);
        }
    }

    /// `recoverNormally` / `recoverAbnormally`.
    fn recover_commit_log(&mut self, io: &mut dyn StoreIo, last_exit_ok: bool, max_phy_offset_of_consume_queue: i64) {
        if self.dledger.is_some() {
            // DLedger mode: the files hold DLedger entries (`DLedgerCommitLog.recover`).
            self.dledger_recover(io, max_phy_offset_of_consume_queue);
            return;
        }
        let file_count = self.commit_log.queue.files.len();
        if file_count == 0 {
            // The CommitLog files are gone: so must be the ConsumeQueues.
            self.commit_log.queue.flushed_where = 0;
            self.commit_log.queue.committed_where = 0;
            for queue in self.consume_queue_table.values_mut().flat_map(|q| q.values_mut()) {
                queue.destroy(io);
            }
            return;
        }
        let mut index = if last_exit_ok {
            file_count.saturating_sub(3)
        } else {
            (0..file_count).rev().find(|&i| self.is_mapped_file_matched_recover(io, i)).unwrap_or(0)
        };
        self.recovery.recovered_from_file = Some(self.commit_log.queue.files[index].file_name.clone());
        let recovered_from = self.commit_log.queue.files[index].file_from_offset;
        let check_crc = self.config.check_crc_on_recover;
        let mut reader = RecordReader::default();
        let mut process_offset = self.commit_log.queue.files[index].file_from_offset;
        let mut position = 0i64;
        loop {
            let file = &self.commit_log.queue.files[index];
            let (file_id, size) = (file.file, file.file_size);
            let bytes = reader.record_at(io.disk(), file_id, position, size);
            match check_message_and_return_size(bytes, check_crc, &self.delay_level_millis) {
                CheckedRecord::Message(request) => {
                    position += i64::from(request.msg_size);
                    self.recovery.valid_records += 1;
                    if !last_exit_ok {
                        let _ = self.do_dispatch(io, &request);
                        self.recovery.redispatched_records += 1;
                    }
                }
                CheckedRecord::EndOfFile => {
                    if index + 1 >= self.commit_log.queue.files.len() {
                        break;
                    }
                    index += 1;
                    process_offset = self.commit_log.queue.files[index].file_from_offset;
                    position = 0;
                }
                CheckedRecord::Invalid { .. } => break,
            }
        }
        process_offset += position;
        self.recovery.truncated_commit_log_bytes = self.commit_log_bytes_after(io, process_offset);
        self.commit_log.queue.flushed_where = process_offset;
        self.commit_log.queue.committed_where = process_offset;
        self.commit_log.queue.truncate_dirty_files(io, process_offset);
        if max_phy_offset_of_consume_queue >= process_offset {
            for queue in self.consume_queue_table.values_mut().flat_map(|q| q.values_mut()) {
                queue.truncate_dirty_logic_files(io, process_offset);
            }
        }
        if !last_exit_ok {
            self.commit_log.queue.forget_flushed_from(recovered_from);
            for queue in self.consume_queue_table.values_mut().flat_map(|q| q.values_mut()) {
                queue.queue.forget_flushed_from(0);
            }
        }
        if self.config.message_index_enable {
            self.index_service.persist(io);
        }
    }

    /// Page-cache bytes of the CommitLog at or past `offset` (what truncation is about to cut).
    fn commit_log_bytes_after(&self, io: &dyn StoreIo, offset: i64) -> u64 {
        self.commit_log
            .queue
            .files
            .iter()
            .map(|file| {
                let len = io.disk().len(file.file) as i64;
                let cut_from = (offset - file.file_from_offset).clamp(0, len);
                (len - cut_from).max(0) as u64
            })
            .sum()
    }

    /// The disk model keeps no modification times, which cleanup compares with `fileReservedTime`.
    /// A CommitLog file was last written when it filled up: when the record that did not fit went to
    /// the next file, i.e. at the store time of the next file's first record. The last file counts as
    /// written now (it is never deleted anyway). ConsumeQueue files keep "now" (only the time-based
    /// offset lookup reads their times).
    fn restore_modification_times(&mut self, io: &dyn StoreIo) {
        let count = self.commit_log.queue.files.len();
        for index in 0..count.saturating_sub(1) {
            if let Some(stored_at) = self.first_record_store_timestamp(io, index + 1) {
                self.commit_log.queue.files[index].last_modified_ms = stored_at;
            }
        }
    }

    /// STORETIMESTAMP of a CommitLog file's first record, if it starts with a message.
    fn first_record_store_timestamp(&self, io: &dyn StoreIo, index: usize) -> Option<i64> {
        let file = &self.commit_log.queue.files[index];
        let mut head = [0u8; 80];
        file.read(io.disk(), 0, &mut head);
        let int = |at: usize| i32::from_be_bytes(head[at..at + 4].try_into().expect("4 bytes"));
        if int(4) != MESSAGE_MAGIC_CODE {
            return None;
        }
        let at = store_timestamp_position(int(SYS_FLAG_POSITION as usize)) as usize;
        let store_timestamp = i64::from_be_bytes(head[at..at + 8].try_into().expect("8 bytes"));
        (store_timestamp > 0).then_some(store_timestamp)
    }

    /// `isMappedFileMatchedRecover`: the file's first record is a message stored at or before the
    /// checkpoint's safe time.
    fn is_mapped_file_matched_recover(&self, io: &dyn StoreIo, index: usize) -> bool {
        let Some(store_timestamp) = self.first_record_store_timestamp(io, index) else { return false };
        let safe = if self.config.message_index_enable && self.config.message_index_safe {
            self.checkpoint.min_timestamp_index()
        } else {
            self.checkpoint.min_timestamp()
        };
        store_timestamp <= safe
    }

    /// `recoverTopicQueueTable`: next queue offsets from the ConsumeQueues; min offsets corrected.
    pub(crate) fn recover_topic_queue_table(&mut self, io: &mut dyn StoreIo) {
        let min_phy_offset = self.commit_log.min_offset();
        let mut table: BTreeMap<String, BTreeMap<i32, i64>> = BTreeMap::new();
        for (topic, queues) in &mut self.consume_queue_table {
            for (queue_id, queue) in queues.iter_mut() {
                table.entry(topic.clone()).or_default().insert(*queue_id, queue.max_offset_in_queue());
                queue.correct_min_offset(io.disk(), min_phy_offset);
            }
        }
        self.commit_log.set_topic_queue_table(table);
    }
}
