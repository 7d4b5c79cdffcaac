//! The storage X-ray: a plain-data snapshot of the store for the sandbox and the CLI.
//!
//! Every file with its start offset and its write / commit / flush positions next to what the disk
//! model holds (page cache vs durable bytes), the dispatch position, each ConsumeQueue's min/max and
//! its last units with the CommitLog offsets they point at, each IndexFile's header and slot usage,
//! the checkpoint, disk use and page-cache pressure (dirty pages). Nothing here refers back into the
//! store: the view is computed, serialized and thrown away. Integers only (u32/u64/i64).

use serde::Serialize;

use super::clean_commit_log_service::DiskUsage;
use super::default_message_store::{DefaultMessageStore, RunningFlags, StoreState};
use super::mapped_file::MappedFile;
use super::message_store_config::{BrokerRole, FlushDiskType};
use super::recovery::RecoveryReport;
use super::store_checkpoint::StoreCheckpoint;
use crate::sim::disk::NodeDisk;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MappedFileView {
    pub name: String,
    pub file_from_offset: i64,
    pub file_size: i64,
    pub wrote_position: i64,
    pub committed_position: i64,
    pub flushed_position: i64,
    /// Bytes the process sees in the page cache (files are not preallocated).
    pub page_cache_bytes: u64,
    /// Bytes the device holds after the last completed sync.
    pub durable_bytes: u64,
    pub last_modified_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CommitLogView {
    pub files: Vec<MappedFileView>,
    pub min_offset: i64,
    pub max_offset: i64,
    pub flushed_where: i64,
    pub committed_where: i64,
    /// `reputFromOffset`: everything before it is in the ConsumeQueues and the index.
    pub dispatched_offset: i64,
    pub dispatch_behind_bytes: i64,
    pub flush_in_flight: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsumeQueueUnitView {
    pub queue_offset: i64,
    pub commit_log_offset: i64,
    pub size: i32,
    pub tags_code: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsumeQueueView {
    pub topic: String,
    pub queue_id: i32,
    pub min_offset: i64,
    pub max_offset: i64,
    pub max_physic_offset: i64,
    pub files: Vec<MappedFileView>,
    pub last_units: Vec<ConsumeQueueUnitView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IndexFileView {
    pub name: String,
    pub begin_timestamp: i64,
    pub end_timestamp: i64,
    pub begin_phy_offset: i64,
    pub end_phy_offset: i64,
    pub hash_slot_count: i32,
    pub index_count: i32,
    pub hash_slot_num: u32,
    pub index_num: u32,
    /// Used slots in equal slot ranges (see `index_service::SLOT_USAGE_BUCKETS`).
    pub slot_usage: Vec<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PageCacheView {
    /// Pages written but not yet durable, over every file of the node.
    pub dirty_pages: u64,
    pub resident_pages: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DiskUsageView {
    pub used_bytes: u64,
    pub capacity_bytes: u64,
    pub used_percent: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoreView {
    pub state: StoreState,
    pub flush_disk_type: FlushDiskType,
    pub broker_role: BrokerRole,
    pub commit_log: CommitLogView,
    pub consume_queues: Vec<ConsumeQueueView>,
    pub index_files: Vec<IndexFileView>,
    pub checkpoint: StoreCheckpoint,
    pub page_cache: PageCacheView,
    pub disk_usage: DiskUsageView,
    pub running_flags: RunningFlags,
    pub pending_puts: u32,
    pub deleted_commit_log_files: u64,
    pub recovery: RecoveryReport,
}

fn file_view(disk: &NodeDisk, file: &MappedFile) -> MappedFileView {
    let exists = disk.exists(file.file);
    MappedFileView {
        name: file.file_name.clone(),
        file_from_offset: file.file_from_offset(),
        file_size: file.file_size(),
        wrote_position: file.wrote_position(),
        committed_position: file.committed_position(),
        flushed_position: file.flushed_position(),
        page_cache_bytes: if exists { disk.len(file.file) } else { 0 },
        durable_bytes: if exists { disk.durable_len(file.file) } else { 0 },
        last_modified_ms: file.last_modified_ms,
    }
}

impl DefaultMessageStore {
    /// A snapshot for the storage X-ray, with the last `last_units` units of each ConsumeQueue.
    pub fn store_view(&self, disk: &NodeDisk, last_units: u32) -> StoreView {
        let queue = &self.commit_log.queue;
        let commit_log = CommitLogView {
            files: queue.files().iter().map(|f| file_view(disk, f)).collect(),
            min_offset: queue.min_offset(),
            max_offset: queue.max_offset(),
            flushed_where: queue.flushed_where(),
            committed_where: queue.committed_where(),
            dispatched_offset: self.reput_from_offset(),
            dispatch_behind_bytes: self.dispatch_behind_bytes(),
            flush_in_flight: queue.flush_in_flight.is_some(),
        };
        let consume_queues = self
            .consume_queue_table
            .values()
            .flat_map(|queues| queues.values())
            .map(|cq| ConsumeQueueView {
                topic: cq.topic().to_string(),
                queue_id: cq.queue_id(),
                min_offset: cq.min_offset_in_queue(),
                max_offset: cq.max_offset_in_queue(),
                max_physic_offset: cq.max_physic_offset,
                files: cq.queue.files().iter().map(|f| file_view(disk, f)).collect(),
                last_units: cq
                    .last_entries(disk, last_units)
                    .into_iter()
                    .map(|(queue_offset, entry)| ConsumeQueueUnitView {
                        queue_offset,
                        commit_log_offset: entry.commit_log_offset.0,
                        size: entry.size,
                        tags_code: entry.tags_code,
                    })
                    .collect(),
            })
            .collect();
        let index_files = self
            .index_service
            .files
            .iter()
            .map(|stored| {
                let header = stored.index.header();
                IndexFileView {
                    name: stored.name.clone(),
                    begin_timestamp: header.begin_timestamp,
                    end_timestamp: header.end_timestamp,
                    begin_phy_offset: header.begin_phy_offset.0,
                    end_phy_offset: header.end_phy_offset.0,
                    hash_slot_count: header.hash_slot_count,
                    index_count: header.index_count,
                    hash_slot_num: stored.index.hash_slot_num(),
                    index_num: stored.index.index_num(),
                    slot_usage: self.index_service.slot_usage(stored),
                }
            })
            .collect();
        let usage: DiskUsage = self.disk_usage(disk);
        StoreView {
            state: self.state,
            flush_disk_type: self.config.flush_disk_type,
            broker_role: self.config.broker_role,
            commit_log,
            consume_queues,
            index_files,
            checkpoint: self.checkpoint,
            page_cache: PageCacheView {
                dirty_pages: disk.dirty_page_count(),
                resident_pages: disk.resident_page_count(),
            },
            disk_usage: DiskUsageView {
                used_bytes: usage.used_bytes,
                capacity_bytes: usage.capacity_bytes,
                used_percent: usage.used_percent(),
            },
            running_flags: self.running_flags,
            pending_puts: self.pending_put_count(),
            deleted_commit_log_files: self.clean.deleted_commit_log_files,
            recovery: self.recovery.clone(),
        }
    }
}
