//! `StoreCheckpoint` (the `checkpoint` file) and the `abort` file: what a restart reads to decide how
//! much to trust (`store/StoreCheckpoint.java`, `DefaultMessageStore.createTempFile`).
//!
//! The checkpoint holds three epoch-ms timestamps, big-endian longs at 0, 8 and 16:
//! `physicMsgTimestamp` (the CommitLog is durable up to records stored then), `logicsMsgTimestamp`
//! (the ConsumeQueues are) and `indexMsgTimestamp` (the last full IndexFile is). 5.x adds
//! `masterFlushedOffset` at 24 and `confirmPhyOffset` at 32; we write them as 0. The values live in
//! memory and move as flushes complete; the file is rewritten and synced only by `flush()` (the
//! ConsumeQueue thorough flush every 60 s, a full IndexFile, shutdown), so after a crash it is up to a
//! minute old. Abnormal recovery starts from the file whose first record was stored at or before
//! `min(physic, logics) - 3 s`.
//!
//! The `abort` file exists while the store runs: created at start, deleted by a clean shutdown once
//! everything is durable. Finding it at start means the last run crashed. (4.9.8 creates it empty;
//! 5.x writes the PID.)

use serde::Serialize;

use super::store_io::StoreIo;
use crate::sim::disk::{FileId, NodeDisk};

/// The checkpoint file is one mapped OS page.
pub const CHECKPOINT_FILE_SIZE: u64 = 4096;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StoreCheckpoint {
    pub physic_msg_timestamp: i64,
    pub logics_msg_timestamp: i64,
    pub index_msg_timestamp: i64,
}

impl StoreCheckpoint {
    /// Read the checkpoint file; all zero when it does not exist or is short (a fresh store).
    pub fn load(disk: &NodeDisk, path: &str) -> StoreCheckpoint {
        let Some(file) = disk.lookup(path) else { return StoreCheckpoint::default() };
        let mut bytes = [0u8; 24];
        disk.read(file, 0, &mut bytes);
        let long = |at: usize| i64::from_be_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        StoreCheckpoint { physic_msg_timestamp: long(0), logics_msg_timestamp: long(8), index_msg_timestamp: long(16) }
    }

    /// The 40 bytes written by `flush` (the three 4.9 fields, then the two 5.x fields as 0).
    pub fn encode(&self) -> [u8; 40] {
        let mut out = [0u8; 40];
        out[0..8].copy_from_slice(&self.physic_msg_timestamp.to_be_bytes());
        out[8..16].copy_from_slice(&self.logics_msg_timestamp.to_be_bytes());
        out[16..24].copy_from_slice(&self.index_msg_timestamp.to_be_bytes());
        out
    }

    /// `flush`: write the file and sync it. Returns the file, whose sync completion the caller ignores.
    pub(crate) fn flush(&self, io: &mut dyn StoreIo, path: &str) -> FileId {
        let file = io.open(path);
        io.write(file, 0, &self.encode());
        io.sync(file);
        file
    }

    /// `getMinTimestamp`: min(physic, logics) - 3 s, at least 0.
    pub fn min_timestamp(&self) -> i64 {
        (self.physic_msg_timestamp.min(self.logics_msg_timestamp) - 3_000).max(0)
    }

    /// `getMinTimestampIndex`: also bounded by the index timestamp (`messageIndexSafe`).
    pub fn min_timestamp_index(&self) -> i64 {
        self.min_timestamp().min(self.index_msg_timestamp)
    }
}

/// Whether the `abort` file exists (the last run did not shut down cleanly).
pub fn abort_file_exists(disk: &NodeDisk, path: &str) -> bool {
    disk.lookup(path).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::disk::DiskConfig;

    #[test]
    fn checkpoint_fields_are_big_endian_longs_at_0_8_16() {
        let checkpoint =
            StoreCheckpoint { physic_msg_timestamp: 1, logics_msg_timestamp: 0x0102, index_msg_timestamp: -1 };
        let bytes = checkpoint.encode();
        assert_eq!(&bytes[0..8], &[0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(&bytes[14..16], &[1, 2]);
        assert_eq!(&bytes[16..24], &[0xFF; 8]);
        assert_eq!(&bytes[24..40], &[0; 16]);
        let mut disk = NodeDisk::new(DiskConfig::default());
        let file = disk.open("store/checkpoint");
        disk.write(file, 0, &bytes);
        assert_eq!(StoreCheckpoint::load(&disk, "store/checkpoint"), checkpoint);
        assert_eq!(StoreCheckpoint::load(&disk, "nowhere"), StoreCheckpoint::default());
    }

    #[test]
    fn min_timestamp_is_three_seconds_before_the_older_of_physic_and_logics() {
        let checkpoint =
            StoreCheckpoint { physic_msg_timestamp: 10_000, logics_msg_timestamp: 8_000, index_msg_timestamp: 4_000 };
        assert_eq!(checkpoint.min_timestamp(), 5_000);
        assert_eq!(checkpoint.min_timestamp_index(), 4_000);
        assert_eq!(StoreCheckpoint::default().min_timestamp(), 0);
    }
}
