//! `MessageStoreConfig`: every knob of the storage engine, spelled and defaulted as RocketMQ 4.9.8
//! spells and defaults it (`store/config/MessageStoreConfig.java`), plus the two numbers a real
//! broker reads from its machine and a simulated one must be told: the disk's capacity and the RAM.
//!
//! Keys are camelCase as in `broker.conf` (`flushDiskType`, `mappedFileSizeCommitLog`, ...); times are
//! milliseconds and sizes bytes, as in RocketMQ. Two ratios that 4.9 reads from system properties
//! (`rocketmq.broker.diskSpaceWarningLevelRatio` 0.90 and `...CleanForciblyRatio` 0.85) are config keys
//! here, in percent, with 5.x's names. [`MessageStoreConfig::validate`] is the boundary: it collects
//! every problem with the key that has it, so a scenario author sees them all at once; the store
//! itself assumes a validated config (`assert!`).

use serde::{Deserialize, Serialize};

use super::consume_queue_entry::CQ_STORE_UNIT_SIZE;
use super::file_name::consume_queue_file_size;
use super::index_file;
use crate::broker::delay_level::{DelayLevelError, DelayLevelTable, DEFAULT_MESSAGE_DELAY_LEVEL};

/// `BrokerRole`: a master takes writes; a slave only replicates (puts are refused).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BrokerRole {
    /// Acknowledges a put once the slave has the bytes (`SYNC_MASTER`).
    SyncMaster,
    /// Acknowledges at once; the slave catches up in the background (`ASYNC_MASTER`, the default).
    #[default]
    AsyncMaster,
    Slave,
}

/// `FlushDiskType`: when a put counts as stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FlushDiskType {
    /// After the group commit has synced it (`SYNC_FLUSH`).
    SyncFlush,
    /// In the page cache; flushed every 500 ms in the background (`ASYNC_FLUSH`, the default).
    #[default]
    AsyncFlush,
}

/// The smallest CommitLog file we accept: small enough that students see files roll after a few
/// messages, large enough for a record with a short body.
pub const MIN_MAPPED_FILE_SIZE_COMMIT_LOG: u32 = 1024;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct MessageStoreConfig {
    /// Root of every store file: `<root>/commitlog/`, `<root>/consumequeue/`, `<root>/index/`,
    /// `<root>/checkpoint`, `<root>/abort`.
    pub store_path_root_dir: String,
    pub mapped_file_size_commit_log: u32,
    /// Rounded up to whole 20-byte units (`getMappedFileSizeConsumeQueue`).
    pub mapped_file_size_consume_queue: u32,
    pub flush_disk_type: FlushDiskType,
    pub broker_role: BrokerRole,
    pub flush_interval_commit_log: u32,
    /// true: `FlushRealTimeService` sleeps a fixed interval (a put does not wake it).
    pub flush_commit_log_timed: bool,
    pub flush_commit_log_least_pages: u32,
    pub flush_commit_log_thorough_interval: u32,
    pub commit_interval_commit_log: u32,
    pub commit_commit_log_least_pages: u32,
    pub commit_commit_log_thorough_interval: u32,
    pub flush_interval_consume_queue: u32,
    pub flush_consume_queue_least_pages: u32,
    pub flush_consume_queue_thorough_interval: u32,
    pub sync_flush_timeout: u32,
    pub slave_timeout: u32,
    /// A slave more than this many bytes behind is "not OK" for SYNC_MASTER (5.x: `haMaxGapNotInSync`).
    pub ha_slave_fallbehind_max: u64,
    /// Only effective with ASYNC_FLUSH on a master, as in 4.9 (`isTransientStorePoolEnable`).
    pub transient_store_pool_enable: bool,
    pub transient_store_pool_size: u32,
    pub file_reserved_time: u32,
    /// Hours of the day (0-23, `;`-separated) at which expired files are deleted.
    pub delete_when: String,
    pub disk_max_used_space_ratio: u32,
    /// Above this percentage of disk use, files are deleted whatever their age (4.9: system property).
    pub disk_space_clean_forcibly_ratio: u32,
    /// Above this percentage the disk is marked full and puts are refused (4.9: system property).
    pub disk_space_warning_level_ratio: u32,
    pub clean_file_forcibly_enable: bool,
    pub clean_resource_interval: u32,
    pub delete_commit_log_files_interval: u32,
    pub delete_consume_queue_files_interval: u32,
    pub destroy_maped_file_interval_forcibly: u32,
    pub redelete_hanged_file_interval: u32,
    /// The largest body; a whole record may be 64 KiB more.
    pub max_message_size: u32,
    #[serde(rename = "checkCRCOnRecover")]
    pub check_crc_on_recover: bool,
    pub message_index_enable: bool,
    pub message_index_safe: bool,
    pub max_hash_slot_num: u32,
    pub max_index_num: u32,
    pub max_msgs_num_batch: u32,
    pub default_query_max_num: u32,
    /// RocketMQ 5's timer wheel (`broker/timer/`): off here (4.9 has none; 5.x defaults it on), its precision,
    /// the longest delay, and the roll window in slots.
    pub timer_wheel_enable: bool,
    pub timer_precision_ms: u32,
    pub timer_max_delay_sec: u32,
    pub timer_roll_window_slot: u32,
    pub access_message_in_memory_max_ratio: u32,
    pub max_transfer_bytes_on_message_in_memory: u32,
    pub max_transfer_count_on_message_in_memory: u32,
    pub max_transfer_bytes_on_message_in_disk: u32,
    pub max_transfer_count_on_message_in_disk: u32,
    pub os_page_cache_busy_time_out_mills: u64,
    pub offset_check_in_slave: bool,
    pub message_delay_level: String,
    /// The simulated disk's size: disk-use ratios are measured against it (RocketMQ asks the OS).
    pub simulated_disk_capacity_bytes: u64,
    /// The simulated machine's RAM (`StoreUtil.TOTAL_PHYSICAL_MEMORY_SIZE`; 24 GiB is RocketMQ's own
    /// fallback): `accessMessageInMemoryMaxRatio` of it counts as "in memory" for pulls.
    pub simulated_physical_memory_bytes: u64,
    // ---- Replication (issue 4/8, `broker/ha/`, `broker/dledger/`). ----
    /// HA: a slave reports its offset, and an idle master sends a heartbeat frame, this often (ms).
    pub ha_send_heartbeat_interval: u32,
    /// HA: a side that has read nothing for this long closes the connection (ms).
    pub ha_housekeeping_interval: u32,
    /// HA: the largest body of one master → slave frame (bytes).
    pub ha_transfer_batch_size: u32,
    /// Which RocketMQ's SYNC_MASTER wait to simulate: "4.9" (`isSlaveOK`, SLAVE_NOT_AVAILABLE) or "5.x"
    /// (`inSyncReplicas` acks, master included). Ours: RocketMQ has no such key.
    pub ha_version: HaVersion,
    /// 5.x: acknowledgements (master included) a SYNC_MASTER put waits for; 1 = none (5.x's default).
    pub in_sync_replicas: u32,
    /// 5.x controller mode: fewer in-sync replicas than this refuses puts (IN_SYNC_REPLICAS_NOT_ENOUGH).
    pub min_in_sync_replicas: u32,
    /// 5.x controller mode: a put waits for every member of the SyncStateSet.
    pub all_ack_in_sync_state_set: bool,
    /// 5.x controller mode: a slave behind the master for longer than this leaves the SyncStateSet (ms).
    pub ha_max_time_slave_not_catchup: u32,
    /// DLedger mode: the CommitLog is a Raft log replicated over the group's nodes (`DLedgerCommitLog`).
    #[serde(rename = "enableDLegerCommitLog")]
    pub enable_dleger_commit_log: bool,
}

/// Which RocketMQ version's replica acknowledgement rules a SYNC_MASTER follows (see `ha_version`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum HaVersion {
    /// 4.9: wait for a slave if `isSlaveOK` (connected, within `haSlaveFallbehindMax`), else
    /// SLAVE_NOT_AVAILABLE at once.
    #[default]
    #[serde(rename = "4.9")]
    V4_9,
    /// 5.x: wait for `inSyncReplicas` acknowledgements (none when it is 1), FLUSH_SLAVE_TIMEOUT after
    /// `slaveTimeout`; never SLAVE_NOT_AVAILABLE.
    #[serde(rename = "5.x")]
    V5,
}

impl Default for MessageStoreConfig {
    fn default() -> Self {
        MessageStoreConfig {
            store_path_root_dir: "store".into(),
            mapped_file_size_commit_log: 1024 * 1024 * 1024,
            mapped_file_size_consume_queue: 300_000 * CQ_STORE_UNIT_SIZE as u32,
            flush_disk_type: FlushDiskType::AsyncFlush,
            broker_role: BrokerRole::AsyncMaster,
            flush_interval_commit_log: 500,
            flush_commit_log_timed: true,
            flush_commit_log_least_pages: 4,
            flush_commit_log_thorough_interval: 10_000,
            commit_interval_commit_log: 200,
            commit_commit_log_least_pages: 4,
            commit_commit_log_thorough_interval: 200,
            flush_interval_consume_queue: 1_000,
            flush_consume_queue_least_pages: 2,
            flush_consume_queue_thorough_interval: 60_000,
            sync_flush_timeout: 5_000,
            slave_timeout: 3_000,
            ha_slave_fallbehind_max: 256 * 1024 * 1024,
            transient_store_pool_enable: false,
            transient_store_pool_size: 5,
            file_reserved_time: 72,
            delete_when: "04".into(),
            disk_max_used_space_ratio: 75,
            disk_space_clean_forcibly_ratio: 85,
            disk_space_warning_level_ratio: 90,
            clean_file_forcibly_enable: true,
            clean_resource_interval: 10_000,
            delete_commit_log_files_interval: 100,
            delete_consume_queue_files_interval: 100,
            destroy_maped_file_interval_forcibly: 120_000,
            redelete_hanged_file_interval: 120_000,
            max_message_size: 4 * 1024 * 1024,
            check_crc_on_recover: true,
            message_index_enable: true,
            message_index_safe: false,
            max_hash_slot_num: index_file::DEFAULT_MAX_HASH_SLOT_NUM,
            max_index_num: index_file::DEFAULT_MAX_INDEX_NUM,
            max_msgs_num_batch: 64,
            default_query_max_num: 32,
            timer_wheel_enable: false,
            timer_precision_ms: 1_000,
            timer_max_delay_sec: 3 * 86_400,
            timer_roll_window_slot: 2 * 86_400,
            access_message_in_memory_max_ratio: 40,
            max_transfer_bytes_on_message_in_memory: 256 * 1024,
            max_transfer_count_on_message_in_memory: 32,
            max_transfer_bytes_on_message_in_disk: 64 * 1024,
            max_transfer_count_on_message_in_disk: 8,
            os_page_cache_busy_time_out_mills: 1_000,
            offset_check_in_slave: false,
            message_delay_level: DEFAULT_MESSAGE_DELAY_LEVEL.into(),
            simulated_disk_capacity_bytes: 1 << 40,
            simulated_physical_memory_bytes: 24 * 1024 * 1024 * 1024,
            ha_send_heartbeat_interval: 5_000,
            ha_housekeeping_interval: 20_000,
            ha_transfer_batch_size: 32 * 1024,
            ha_version: HaVersion::V4_9,
            in_sync_replicas: 1,
            min_in_sync_replicas: 1,
            all_ack_in_sync_state_set: false,
            ha_max_time_slave_not_catchup: 15_000,
            enable_dleger_commit_log: false,
        }
    }
}

/// A config value the store cannot run with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreConfigError {
    TooSmall {
        key: &'static str,
        value: u64,
        min: u64,
    },
    TooLarge {
        key: &'static str,
        value: u64,
        max: u64,
    },
    /// `deleteWhen` must be hours separated by `;` (Java's `Integer.parseInt` on each token).
    BadDeleteWhen {
        value: String,
        token: String,
    },
    BadMessageDelayLevel(DelayLevelError),
    /// The store root must be a non-empty relative path without a trailing `/`.
    BadStorePathRootDir {
        value: String,
    },
    /// The IndexFile of `maxHashSlotNum` and `maxIndexNum` would not fit a Java `int` size.
    IndexFileTooLarge {
        bytes: u64,
    },
}

impl std::fmt::Display for StoreConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreConfigError::TooSmall { key, value, min } => write!(f, "{key} is {value}; it must be at least {min}"),
            StoreConfigError::TooLarge { key, value, max } => write!(f, "{key} is {value}; it must be at most {max}"),
            StoreConfigError::BadDeleteWhen { value, token } => write!(
                f,
                "deleteWhen \"{value}\": \"{token}\" is not an hour; write hours of the day separated by ';', like \"04\" \
                 or \"03;04\""
            ),
            StoreConfigError::BadMessageDelayLevel(error) => write!(f, "messageDelayLevel: {error}"),
            StoreConfigError::BadStorePathRootDir { value } => write!(
                f,
                "storePathRootDir \"{value}\" must be a non-empty relative path like \"store\" (no leading or trailing /)"
            ),
            StoreConfigError::IndexFileTooLarge { bytes } => write!(
                f,
                "an IndexFile of maxHashSlotNum and maxIndexNum would be {bytes} bytes, more than a Java int \
                 ({}) can address",
                i32::MAX
            ),
        }
    }
}

impl std::error::Error for StoreConfigError {}

impl MessageStoreConfig {
    /// Every problem of this config, or `Ok` if the store can run with it.
    pub fn validate(&self) -> Result<(), Vec<StoreConfigError>> {
        let mut errors = Vec::new();
        let int_max = i32::MAX as u64;
        let mut at_least = |key: &'static str, value: u64, min: u64, max: u64| {
            if value < min {
                errors.push(StoreConfigError::TooSmall { key, value, min });
            } else if value > max {
                errors.push(StoreConfigError::TooLarge { key, value, max });
            }
        };
        at_least(
            "mappedFileSizeCommitLog",
            self.mapped_file_size_commit_log.into(),
            MIN_MAPPED_FILE_SIZE_COMMIT_LOG.into(),
            int_max,
        );
        at_least("mappedFileSizeConsumeQueue", self.mapped_file_size_consume_queue.into(), 20, int_max - 20);
        at_least("flushIntervalCommitLog", self.flush_interval_commit_log.into(), 1, int_max);
        at_least("commitIntervalCommitLog", self.commit_interval_commit_log.into(), 1, int_max);
        at_least("flushIntervalConsumeQueue", self.flush_interval_consume_queue.into(), 1, int_max);
        at_least("cleanResourceInterval", self.clean_resource_interval.into(), 1, int_max);
        at_least("syncFlushTimeout", self.sync_flush_timeout.into(), 1, int_max);
        at_least("slaveTimeout", self.slave_timeout.into(), 1, int_max);
        at_least("maxMessageSize", self.max_message_size.into(), 1, int_max - 64 * 1024);
        at_least("maxHashSlotNum", self.max_hash_slot_num.into(), 1, int_max);
        // indexCount starts at 1: a file of one entry would be full before its first key.
        at_least("maxIndexNum", self.max_index_num.into(), 2, int_max);
        at_least("maxMsgsNumBatch", self.max_msgs_num_batch.into(), 1, int_max);
        at_least("timerPrecisionMs", self.timer_precision_ms.into(), 100, 60_000);
        at_least("timerMaxDelaySec", self.timer_max_delay_sec.into(), 1, 7 * 86_400);
        at_least("timerRollWindowSlot", self.timer_roll_window_slot.into(), 2, 7 * 86_400);
        at_least("accessMessageInMemoryMaxRatio", self.access_message_in_memory_max_ratio.into(), 0, 100);
        at_least("maxTransferCountOnMessageInMemory", self.max_transfer_count_on_message_in_memory.into(), 1, int_max);
        at_least("maxTransferCountOnMessageInDisk", self.max_transfer_count_on_message_in_disk.into(), 1, int_max);
        at_least("diskMaxUsedSpaceRatio", self.disk_max_used_space_ratio.into(), 0, 100);
        at_least("diskSpaceCleanForciblyRatio", self.disk_space_clean_forcibly_ratio.into(), 0, 100);
        at_least("diskSpaceWarningLevelRatio", self.disk_space_warning_level_ratio.into(), 0, 100);
        at_least("simulatedDiskCapacityBytes", self.simulated_disk_capacity_bytes, 1, u64::MAX / 100);
        at_least("simulatedPhysicalMemoryBytes", self.simulated_physical_memory_bytes, 1, u64::MAX / 100);
        at_least("haSendHeartbeatInterval", self.ha_send_heartbeat_interval.into(), 1, int_max);
        at_least("haHousekeepingInterval", self.ha_housekeeping_interval.into(), 1, int_max);
        at_least("haTransferBatchSize", self.ha_transfer_batch_size.into(), 1, int_max);
        at_least("inSyncReplicas", self.in_sync_replicas.into(), 1, 64);
        at_least("minInSyncReplicas", self.min_in_sync_replicas.into(), 1, 64);
        at_least("haMaxTimeSlaveNotCatchup", self.ha_max_time_slave_not_catchup.into(), 1, int_max);
        let index_bytes = index_file::file_size(self.max_hash_slot_num.max(1), self.max_index_num.max(1));
        if index_bytes > int_max {
            errors.push(StoreConfigError::IndexFileTooLarge { bytes: index_bytes });
        }
        if let Err(token) = parse_delete_when(&self.delete_when) {
            errors.push(StoreConfigError::BadDeleteWhen { value: self.delete_when.clone(), token });
        }
        if let Err(error) = DelayLevelTable::parse(&self.message_delay_level) {
            errors.push(StoreConfigError::BadMessageDelayLevel(error));
        }
        let root = &self.store_path_root_dir;
        if root.is_empty() || root.starts_with('/') || root.ends_with('/') {
            errors.push(StoreConfigError::BadStorePathRootDir { value: root.clone() });
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// 4.9's `isTransientStorePoolEnable`: only with ASYNC_FLUSH, and never on a slave.
    pub fn is_transient_store_pool_enable(&self) -> bool {
        self.transient_store_pool_enable
            && self.flush_disk_type == FlushDiskType::AsyncFlush
            && self.broker_role != BrokerRole::Slave
    }

    /// `getMappedFileSizeConsumeQueue`: rounded up to whole units.
    pub fn mapped_file_size_consume_queue(&self) -> i64 {
        consume_queue_file_size(i64::from(self.mapped_file_size_consume_queue))
    }

    pub fn mapped_file_size_commit_log(&self) -> i64 {
        i64::from(self.mapped_file_size_commit_log)
    }

    /// `getDiskMaxUsedSpaceRatio`: clamped to [10, 95].
    pub fn effective_disk_max_used_space_ratio(&self) -> u64 {
        u64::from(self.disk_max_used_space_ratio.clamp(10, 95))
    }

    /// The hours of `deleteWhen` (a validated config always parses).
    pub fn delete_when_hours(&self) -> Vec<i64> {
        parse_delete_when(&self.delete_when).unwrap_or_default()
    }

    /// The parsed `messageDelayLevel` (a validated config always parses).
    pub fn delay_level_table(&self) -> DelayLevelTable {
        DelayLevelTable::parse(&self.message_delay_level).unwrap_or_default()
    }

    /// What counts as "in memory" for pulls: `accessMessageInMemoryMaxRatio`% of the RAM. Integer
    /// arithmetic; Java multiplies by a double, which gives the same result for whole-KiB memories.
    pub fn access_message_in_memory_max_bytes(&self) -> i64 {
        let bytes = self.simulated_physical_memory_bytes / 100 * u64::from(self.access_message_in_memory_max_ratio)
            + self.simulated_physical_memory_bytes % 100 * u64::from(self.access_message_in_memory_max_ratio) / 100;
        i64::try_from(bytes).unwrap_or(i64::MAX)
    }

    /// The largest encoded record the encoder accepts: body limit + 64 KiB (`MessageExtEncoder`).
    pub fn max_record_size(&self) -> i64 {
        i64::from(self.max_message_size) + 64 * 1024
    }

    pub(crate) fn commit_log_dir(&self) -> String {
        format!("{}/commitlog/", self.store_path_root_dir)
    }

    pub(crate) fn consume_queue_dir(&self) -> String {
        format!("{}/consumequeue/", self.store_path_root_dir)
    }

    pub(crate) fn index_dir(&self) -> String {
        format!("{}/index/", self.store_path_root_dir)
    }

    pub(crate) fn checkpoint_path(&self) -> String {
        format!("{}/checkpoint", self.store_path_root_dir)
    }

    pub(crate) fn abort_path(&self) -> String {
        format!("{}/abort", self.store_path_root_dir)
    }
}

/// `UtilAll.isItTimeToDo`'s parsing: `;`-separated integers; the offending token on error.
fn parse_delete_when(value: &str) -> Result<Vec<i64>, String> {
    value.split(';').map(|token| token.parse::<i64>().map_err(|_| token.to_string())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_rocketmq_4_9_defaults() {
        let config = MessageStoreConfig::default();
        assert_eq!(config.mapped_file_size_commit_log, 1_073_741_824);
        assert_eq!(config.mapped_file_size_consume_queue(), 6_000_000);
        assert_eq!(config.flush_disk_type, FlushDiskType::AsyncFlush);
        assert_eq!(config.broker_role, BrokerRole::AsyncMaster);
        assert_eq!((config.flush_interval_commit_log, config.flush_commit_log_least_pages), (500, 4));
        assert_eq!(config.sync_flush_timeout, 5_000);
        assert_eq!(config.delete_when_hours(), [4]);
        assert_eq!(config.access_message_in_memory_max_bytes(), 24 * 1024 * 1024 * 1024 * 4 / 10);
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn keys_are_spelled_as_in_broker_conf() {
        let json = serde_json::to_value(MessageStoreConfig::default()).unwrap();
        for key in [
            "flushDiskType",
            "brokerRole",
            "mappedFileSizeCommitLog",
            "checkCRCOnRecover",
            "destroyMapedFileIntervalForcibly",
            "osPageCacheBusyTimeOutMills",
            "maxMsgsNumBatch",
            "transientStorePoolEnable",
        ] {
            assert!(json.get(key).is_some(), "missing key {key}");
        }
        assert_eq!(json["flushDiskType"], "ASYNC_FLUSH");
        assert_eq!(json["brokerRole"], "ASYNC_MASTER");
        let parsed: MessageStoreConfig =
            serde_json::from_str(r#"{"flushDiskType":"SYNC_FLUSH","brokerRole":"SYNC_MASTER"}"#).unwrap();
        assert_eq!((parsed.flush_disk_type, parsed.broker_role), (FlushDiskType::SyncFlush, BrokerRole::SyncMaster));
    }

    #[test]
    fn validation_collects_every_problem_with_its_key() {
        let config = MessageStoreConfig {
            mapped_file_size_commit_log: 100,
            delete_when: "04;x".into(),
            message_delay_level: "".into(),
            max_index_num: 1,
            ..MessageStoreConfig::default()
        };
        let errors = config.validate().unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert_eq!(errors[0], StoreConfigError::TooSmall { key: "mappedFileSizeCommitLog", value: 100, min: 1024 });
        assert!(errors.iter().any(|e| e.to_string().contains("\"x\" is not an hour")));
    }

    #[test]
    fn transient_store_pool_needs_async_flush_on_a_master() {
        let mut config = MessageStoreConfig { transient_store_pool_enable: true, ..MessageStoreConfig::default() };
        assert!(config.is_transient_store_pool_enable());
        config.flush_disk_type = FlushDiskType::SyncFlush;
        assert!(!config.is_transient_store_pool_enable());
    }
}
