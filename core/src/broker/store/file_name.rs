//! Where an offset lives on disk: file names and positions of the CommitLog and ConsumeQueue
//! (`UtilAll.offset2FileName`, `MappedFileQueue.findMappedFileByOffset`, `CommitLog.rollNextFile`,
//! `MessageStoreConfig.getMappedFileSizeConsumeQueue`).
//!
//! Both logs are sequences of fixed-size files named by the offset of their first byte, written as
//! 20 zero-padded digits so that names sort like numbers: `00000000000000000000`,
//! `00000000001073741824`, ... A CommitLog offset X is in the file starting at `X - X mod size`, at
//! position `X mod size` (default size 1 GiB). A ConsumeQueue counts messages, not bytes: queue offset
//! n is the 20-byte entry at byte `n * 20`, and a ConsumeQueue file holds 300 000 entries
//! (6 000 000 bytes), so the same arithmetic applies to `n * 20`.
//!
//! Paths are relative to the store root: `commitlog/<name>` and `consumequeue/<topic>/<queueId>/<name>`.

use super::consume_queue_entry::CQ_STORE_UNIT_SIZE;
use super::offsets::{CommitLogOffset, QueueOffset};

/// `mappedFileSizeCommitLog` default: 1 GiB.
pub const MAPPED_FILE_SIZE_COMMIT_LOG: i64 = 1024 * 1024 * 1024;
/// Entries per ConsumeQueue file by default.
pub const CONSUME_QUEUE_ENTRIES_PER_FILE: i64 = 300_000;
/// `mappedFileSizeConsumeQueue` default: 300 000 × 20 = 6 000 000 bytes.
pub const MAPPED_FILE_SIZE_CONSUME_QUEUE: i64 = CONSUME_QUEUE_ENTRIES_PER_FILE * CQ_STORE_UNIT_SIZE;

/// `offset2FileName`: at least 20 digits, zero-padded (Java's `NumberFormat` puts a minus sign in
/// front of the 20 digits for a negative value, which never names a real file).
pub fn offset_to_file_name(offset: i64) -> String {
    if offset < 0 {
        format!("-{:020}", offset.unsigned_abs())
    } else {
        format!("{offset:020}")
    }
}

/// A file name back to its start offset (`Long.parseLong(file.getName())`); `None` if not a number.
pub fn file_name_to_offset(name: &str) -> Option<i64> {
    name.parse().ok()
}

/// `getMappedFileSizeConsumeQueue`: the configured size rounded up to whole 20-byte entries.
pub fn consume_queue_file_size(configured_bytes: i64) -> i64 {
    (configured_bytes + CQ_STORE_UNIT_SIZE - 1).div_euclid(CQ_STORE_UNIT_SIZE) * CQ_STORE_UNIT_SIZE
}

/// The file holding a byte offset, and where in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileLocation {
    /// The file's first byte offset (`fileFromOffset`), which is also its name.
    pub file_from_offset: i64,
    /// 0 for the first file ever created, 1 for the next, ... (files deleted by cleanup still count).
    pub file_index: i64,
    pub file_name: String,
    /// Byte position inside the file.
    pub position: i64,
}

fn locate(byte_offset: i64, file_size: i64) -> FileLocation {
    assert!(byte_offset >= 0, "offsets are never negative");
    assert!(file_size > 0, "a mapped file has a positive size");
    let position = byte_offset % file_size;
    let file_from_offset = byte_offset - position;
    FileLocation {
        file_from_offset,
        file_index: byte_offset / file_size,
        file_name: offset_to_file_name(file_from_offset),
        position,
    }
}

/// The CommitLog file and position of a physical offset, for files of `mapped_file_size` bytes.
pub fn commit_log_location(offset: CommitLogOffset, mapped_file_size: i64) -> FileLocation {
    locate(offset.0, mapped_file_size)
}

/// The ConsumeQueue file and byte position of queue offset n (its entry is at byte `n * 20`).
pub fn consume_queue_location(offset: QueueOffset, mapped_file_size: i64) -> FileLocation {
    locate(offset.0 * CQ_STORE_UNIT_SIZE, mapped_file_size)
}

/// `rollNextFile`: the start of the file after the one containing `offset`.
pub fn roll_next_file(offset: CommitLogOffset, mapped_file_size: i64) -> CommitLogOffset {
    CommitLogOffset(offset.0 + mapped_file_size - offset.0 % mapped_file_size)
}

/// `commitlog/<file name>`.
pub fn commit_log_file_path(file_name: &str) -> String {
    format!("commitlog/{file_name}")
}

/// `consumequeue/<topic>/<queueId>/<file name>`.
pub fn consume_queue_file_path(topic: &str, queue_id: i32, file_name: &str) -> String {
    format!("consumequeue/{topic}/{queue_id}/{file_name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_twenty_zero_padded_digits() {
        assert_eq!(offset_to_file_name(0), "00000000000000000000");
        assert_eq!(offset_to_file_name(1_073_741_824), "00000000001073741824");
        assert_eq!(offset_to_file_name(i64::MAX), "09223372036854775807");
        assert_eq!(offset_to_file_name(-1), "-00000000000000000001");
        assert_eq!(file_name_to_offset("00000000001073741824"), Some(1_073_741_824));
        assert_eq!(file_name_to_offset("abort"), None);
    }

    #[test]
    fn commit_log_offset_1073741924_is_position_100_of_the_second_file() {
        // Spec §13 item 13.
        let location = commit_log_location(CommitLogOffset(1_073_741_924), MAPPED_FILE_SIZE_COMMIT_LOG);
        assert_eq!(location.file_name, "00000000001073741824");
        assert_eq!((location.file_from_offset, location.file_index, location.position), (1_073_741_824, 1, 100));
    }

    #[test]
    fn queue_offset_300000_starts_the_second_consume_queue_file() {
        // Spec §13 item 13.
        let location = consume_queue_location(QueueOffset(300_000), MAPPED_FILE_SIZE_CONSUME_QUEUE);
        assert_eq!(location.file_name, "00000000000006000000");
        assert_eq!(location.position, 0);
    }

    #[test]
    fn queue_offset_299999_is_the_last_entry_of_the_first_file() {
        // Spec §13 item 13.
        let location = consume_queue_location(QueueOffset(299_999), MAPPED_FILE_SIZE_CONSUME_QUEUE);
        assert_eq!(location.file_name, "00000000000000000000");
        assert_eq!(location.position, 5_999_980);
    }

    #[test]
    fn consume_queue_file_size_rounds_up_to_whole_entries() {
        assert_eq!(consume_queue_file_size(6_000_000), 6_000_000);
        assert_eq!(consume_queue_file_size(1_000), 1_000);
        assert_eq!(consume_queue_file_size(1_001), 1_020);
    }

    #[test]
    fn rolling_goes_to_the_start_of_the_next_file() {
        assert_eq!(roll_next_file(CommitLogOffset(100), 1024), CommitLogOffset(1024));
        assert_eq!(roll_next_file(CommitLogOffset(1024), 1024), CommitLogOffset(2048));
        assert_eq!(commit_log_file_path("00000000000000000000"), "commitlog/00000000000000000000");
        assert_eq!(
            consume_queue_file_path("TopicTest", 3, "00000000000006000000"),
            "consumequeue/TopicTest/3/00000000000006000000"
        );
    }
}
