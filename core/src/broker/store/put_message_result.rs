//! What a put returns: `PutMessageStatus`, `AppendMessageResult` and `PutMessageResult` as in
//! RocketMQ, plus the sans-IO shape of "the answer comes later" ([`PutOutcome::Pending`]).
//!
//! In RocketMQ `asyncPutMessage` returns a `CompletableFuture` completed by the group-commit thread
//! (SYNC_FLUSH), the HA thread (SYNC_MASTER) or a watcher at the deadline. Here a put that must wait
//! returns a [`PutTicket`] and the append result at once; the final status comes out later, from
//! `on_disk_synced` / `on_timer` / `on_replicated`, as a [`PutCompletion`] for that ticket. The message
//! is in the CommitLog (and will be dispatched) either way: a timeout only changes what the producer
//! is told.

use serde::{Deserialize, Serialize};

use super::message_id::create_message_id;
use super::offsets::{CommitLogOffset, QueueOffset};
use super::socket_address::SocketAddress;

/// `PutMessageStatus` (4.9.8; `CREATE_MAPEDFILE_FAILED` and `OS_PAGECACHE_BUSY` keep Java's spelling
/// in their serialized names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PutMessageStatus {
    #[serde(rename = "PUT_OK")]
    PutOk,
    /// The flush did not complete within `syncFlushTimeout` (SYNC_FLUSH). The message is stored.
    #[serde(rename = "FLUSH_DISK_TIMEOUT")]
    FlushDiskTimeout,
    /// The slave did not confirm within `slaveTimeout` (SYNC_MASTER). The message is stored.
    #[serde(rename = "FLUSH_SLAVE_TIMEOUT")]
    FlushSlaveTimeout,
    /// SYNC_MASTER without a slave in sync. The message is stored.
    #[serde(rename = "SLAVE_NOT_AVAILABLE")]
    SlaveNotAvailable,
    /// Shut down, a slave, or the disk is full.
    #[serde(rename = "SERVICE_NOT_AVAILABLE")]
    ServiceNotAvailable,
    #[serde(rename = "CREATE_MAPEDFILE_FAILED")]
    CreateMappedFileFailed,
    #[serde(rename = "MESSAGE_ILLEGAL")]
    MessageIllegal,
    #[serde(rename = "PROPERTIES_SIZE_EXCEEDED")]
    PropertiesSizeExceeded,
    /// The put lock was held longer than `osPageCacheBusyTimeOutMills`. Never produced here: the
    /// simulated put lock is never held across events.
    #[serde(rename = "OS_PAGECACHE_BUSY")]
    OsPageCacheBusy,
    #[serde(rename = "UNKNOWN_ERROR")]
    UnknownError,
    /// 5.x controller mode: the SyncStateSet is smaller than `minInSyncReplicas`; nothing was stored.
    #[serde(rename = "IN_SYNC_REPLICAS_NOT_ENOUGH")]
    InSyncReplicasNotEnough,
}

impl PutMessageStatus {
    /// `PutMessageResult.isOk`: the message is in the CommitLog (even if a wait timed out).
    pub fn is_stored(self) -> bool {
        matches!(
            self,
            PutMessageStatus::PutOk
                | PutMessageStatus::FlushDiskTimeout
                | PutMessageStatus::FlushSlaveTimeout
                | PutMessageStatus::SlaveNotAvailable
        )
    }
}

/// `AppendMessageResult` of a stored message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AppendMessageResult {
    /// Where the record starts in the CommitLog.
    pub wrote_offset: CommitLogOffset,
    /// The record's TOTALSIZE.
    pub wrote_bytes: i32,
    /// `STORETIMESTAMP`, set in the put lock.
    pub store_timestamp: i64,
    /// The ConsumeQueue offset assigned (0 for prepared and rollback transaction records).
    pub logics_offset: QueueOffset,
    /// The host written into the record, from which the offset message id is made.
    #[serde(skip)]
    pub store_host: SocketAddress,
}

impl AppendMessageResult {
    /// The offset message id (`msgId` of the result; RocketMQ computes it lazily too).
    pub fn msg_id(&self) -> String {
        create_message_id(&self.store_host, self.wrote_offset)
    }

    /// The CommitLog offset just past the record: what a flush or a slave must reach.
    pub fn next_offset(&self) -> CommitLogOffset {
        CommitLogOffset(self.wrote_offset.0 + i64::from(self.wrote_bytes))
    }
}

/// `PutMessageResult`: a status and, when the record was written, where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PutMessageResult {
    pub status: PutMessageStatus,
    pub append: Option<AppendMessageResult>,
}

impl PutMessageResult {
    pub fn rejected(status: PutMessageStatus) -> Self {
        PutMessageResult { status, append: None }
    }
}

/// A put still waiting for its flush or its slave, unique within one store incarnation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PutTicket(pub u64);

/// What `put_message` returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum PutOutcome {
    /// The answer is known now (ASYNC_FLUSH on an ASYNC_MASTER, a WAIT=false message, or a refusal).
    Done(PutMessageResult),
    /// Written; the final status follows as a [`PutCompletion`] with this ticket. `result.status`
    /// is PUT_OK so far.
    Pending { ticket: PutTicket, result: PutMessageResult },
}

/// The final status of a pending put.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PutCompletion {
    pub ticket: PutTicket,
    pub status: PutMessageStatus,
}
