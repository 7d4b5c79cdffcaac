//! Cleanup (`DefaultMessageStore.CleanCommitLogService`, `CleanConsumeQueueService` and the disk check).
//!
//! Every `cleanResourceInterval` (10 s, first run 60 s after start) the CommitLog deletes old files
//! if it is time to (the virtual wall-clock hour is in `deleteWhen`), the disk is too full (above
//! `diskMaxUsedSpaceRatio`), or an operator asked (`executeDeleteFilesManually`, 20 passes). A file
//! goes when its last modification is `fileReservedTime` hours old, oldest first, never the current
//! (last) file, at most 10 per pass, stopping at the first file too young; above
//! `diskSpaceCleanForciblyRatio` (85 %) age no longer matters. Above `diskSpaceWarningLevelRatio` (90 %)
//! the disk is marked full and puts are refused until it is below again (also checked every 10 s by
//! the disk check, first after 1 s). Then the ConsumeQueues drop files wholly below the CommitLog's
//! new min offset and correct their min offsets, and the IndexService drops index files likewise.
//!
//! Disk use is measured as RocketMQ's `df` would see it: the blocks actually written. RocketMQ maps
//! its files at full size, but on Linux such files are sparse until written (unless
//! `warmMapedFileEnable` touches every page), so a 420 MB IndexFile with a few keys uses a few pages.
//! Here that is every page the node's disk model holds, against `simulatedDiskCapacityBytes`. Deviations: the 100 ms pause between two deletions and the
//! re-deletion of "hanged" files (still referenced by a reader) are not modelled: nothing holds a file
//! across events here. Hours are UTC hours of the virtual epoch (Java uses the local time zone).

use serde::Serialize;

use super::default_message_store::DefaultMessageStore;
use super::message_store_config::MessageStoreConfig;
use super::store_io::{StoreIo, StoreTimer};
use crate::sim::disk::{NodeDisk, PAGE_SIZE};
use crate::sim::node::TimerId;
use crate::time::Duration;

/// `MAX_MANUAL_DELETE_FILE_TIMES`.
pub const MAX_MANUAL_DELETE_FILE_TIMES: u32 = 20;
const FIRST_CLEAN_DELAY: Duration = Duration::from_secs(60);
const DISK_CHECK_FIRST_DELAY: Duration = Duration::from_secs(1);
const DISK_CHECK_INTERVAL: Duration = Duration::from_secs(10);
const MILLIS_PER_HOUR: i64 = 3_600_000;

/// How full the simulated disk is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DiskUsage {
    pub used_bytes: u64,
    pub capacity_bytes: u64,
}

impl DiskUsage {
    /// Whether use is strictly above `percent` % (integer comparison, no floats).
    pub fn above_percent(&self, percent: u64) -> bool {
        u128::from(self.used_bytes) * 100 > u128::from(percent) * u128::from(self.capacity_bytes)
    }

    /// Use in whole percent, rounded down (for views).
    pub fn used_percent(&self) -> u32 {
        (u128::from(self.used_bytes) * 100 / u128::from(self.capacity_bytes.max(1))) as u32
    }
}

#[derive(Clone, Debug)]
pub struct CleanCommitLogService {
    interval: Duration,
    timer: Option<TimerId>,
    disk_check_timer: Option<TimerId>,
    pub(crate) manual_delete_file_several_times: u32,
    clean_immediately: bool,
    /// `CleanConsumeQueueService.lastPhysicalMinOffset`.
    last_physical_min_offset: i64,
    /// Files deleted by cleanup since start (for views).
    pub(crate) deleted_commit_log_files: u64,
}

impl CleanCommitLogService {
    pub(crate) fn new(config: &MessageStoreConfig) -> Self {
        CleanCommitLogService {
            interval: Duration::from_millis(config.clean_resource_interval.into()),
            timer: None,
            disk_check_timer: None,
            manual_delete_file_several_times: 0,
            clean_immediately: false,
            last_physical_min_offset: 0,
            deleted_commit_log_files: 0,
        }
    }

    pub(crate) fn start(&mut self, io: &mut dyn StoreIo) {
        self.timer = Some(io.set_timer(FIRST_CLEAN_DELAY, StoreTimer::CleanFiles));
        self.disk_check_timer = Some(io.set_timer(DISK_CHECK_FIRST_DELAY, StoreTimer::DiskCheck));
    }

    pub(crate) fn stop(&mut self, io: &mut dyn StoreIo) {
        for timer in [self.timer.take(), self.disk_check_timer.take()].into_iter().flatten() {
            io.cancel_timer(timer);
        }
    }
}

impl DefaultMessageStore {
    /// `executeDeleteFilesManually`: the next 20 passes delete expired files whatever the hour.
    pub fn execute_delete_files_manually(&mut self) {
        self.clean.manual_delete_file_several_times = MAX_MANUAL_DELETE_FILE_TIMES;
    }

    /// Disk use: every page the node's files hold (see the module comment).
    pub fn disk_usage(&self, disk: &NodeDisk) -> DiskUsage {
        DiskUsage {
            used_bytes: disk.resident_page_count() * PAGE_SIZE,
            capacity_bytes: self.config.simulated_disk_capacity_bytes,
        }
    }

    pub(crate) fn on_clean_files_timer(&mut self, io: &mut dyn StoreIo) {
        self.clean.timer = None;
        self.clean_files_periodically(io);
        self.clean.timer = Some(io.set_timer(self.clean.interval, StoreTimer::CleanFiles));
    }

    pub(crate) fn on_disk_check_timer(&mut self, io: &mut dyn StoreIo) {
        self.clean.disk_check_timer = None;
        self.is_space_full(io);
        self.clean.disk_check_timer = Some(io.set_timer(DISK_CHECK_INTERVAL, StoreTimer::DiskCheck));
    }

    /// `cleanFilesPeriodically`: the CommitLog, then the ConsumeQueues and the index.
    pub fn clean_files_periodically(&mut self, io: &mut dyn StoreIo) {
        self.delete_expired_commit_log_files(io);
        self.delete_expired_consume_queue_files(io);
    }

    fn delete_expired_commit_log_files(&mut self, io: &mut dyn StoreIo) {
        let time_up = self.is_time_to_delete(io.now_ms());
        let space_full = self.is_space_to_delete(io);
        let manual_delete = self.clean.manual_delete_file_several_times > 0;
        if time_up || space_full || manual_delete {
            if manual_delete {
                self.clean.manual_delete_file_several_times -= 1;
            }
            let clean_at_once = self.config.clean_file_forcibly_enable && self.clean.clean_immediately;
            let reserved_ms = i64::from(self.config.file_reserved_time) * MILLIS_PER_HOUR;
            let deleted = self.commit_log.queue.delete_expired_file_by_time(io, reserved_ms, clean_at_once);
            self.clean.deleted_commit_log_files += deleted as u64;
        }
    }

    /// `isTimeToDelete`: the current hour is one of `deleteWhen`.
    fn is_time_to_delete(&self, now_ms: i64) -> bool {
        let hour = now_ms.div_euclid(MILLIS_PER_HOUR).rem_euclid(24);
        self.config.delete_when_hours().contains(&hour)
    }

    /// `isSpaceToDelete`: above `diskMaxUsedSpaceRatio`? Also decides `cleanImmediately` and marks
    /// the disk full or OK.
    fn is_space_to_delete(&mut self, io: &dyn StoreIo) -> bool {
        let usage = self.disk_usage(io.disk());
        self.clean.clean_immediately = false;
        if usage.above_percent(self.config.disk_space_warning_level_ratio.into()) {
            self.running_flags.disk_full = true;
            self.clean.clean_immediately = true;
        } else if usage.above_percent(self.config.disk_space_clean_forcibly_ratio.into()) {
            self.clean.clean_immediately = true;
        } else {
            self.running_flags.disk_full = false;
        }
        usage.above_percent(self.config.effective_disk_max_used_space_ratio())
    }

    /// `isSpaceFull` (the 10 s disk check): mark the disk full above the warning level, else OK.
    fn is_space_full(&mut self, io: &dyn StoreIo) -> bool {
        let full = self.disk_usage(io.disk()).above_percent(self.config.disk_space_warning_level_ratio.into());
        self.running_flags.disk_full = full;
        full
    }

    /// `CleanConsumeQueueService.deleteExpiredFiles`.
    fn delete_expired_consume_queue_files(&mut self, io: &mut dyn StoreIo) {
        let min_offset = self.commit_log.min_offset();
        if min_offset > self.clean.last_physical_min_offset {
            self.clean.last_physical_min_offset = min_offset;
            for queue in self.consume_queue_table.values_mut().flat_map(|queues| queues.values_mut()) {
                queue.delete_expired_file(io, min_offset);
            }
            self.index_service.delete_expired_file(io, min_offset);
        }
    }
}
