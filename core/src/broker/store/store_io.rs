//! The store's only window on the world: a clock, the node's disk and timers (sans-IO).
//!
//! RocketMQ's store runs a dozen threads that sleep, call `force()` and read `System.currentTimeMillis()`.
//! Here every one of those becomes a request through [`StoreIo`]: a thread's `sleep(interval)` is a
//! [`StoreTimer`], a `force()` is [`StoreIo::sync`] whose completion comes back later as
//! `DefaultMessageStore::on_disk_synced`, and the wall clock is [`StoreIo::now_ms`]. The store never
//! owns a disk or a clock, so the same code runs inside the broker node (over its kernel `Context`)
//! and standalone in tests and benchmarks (over `TestStoreIo`).
//!
//! Invariants the store relies on: writes are visible to reads at once (the page cache, as with an
//! mmap'd file); a sync snapshots the file no earlier than the call and completes in issue order per
//! file; a cancelled timer never fires; `now()` never goes backwards.

use serde::{Deserialize, Serialize};

use crate::sim::disk::{FileId, NodeDisk};
use crate::sim::node::TimerId;
use crate::time::{Duration, Time};

/// The store's timers, one per RocketMQ service thread loop that sleeps. The broker wraps these in
/// its own timer enum and hands them back to `DefaultMessageStore::on_timer` when they fire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StoreTimer {
    /// `FlushRealTimeService`'s sleep (ASYNC_FLUSH): 500 ms between flushes of the CommitLog.
    FlushCommitLog,
    /// `CommitRealTimeService`'s sleep (transientStorePoolEnable): 200 ms between commits.
    CommitCommitLog,
    /// `FlushConsumeQueueService`'s sleep: 1 s between flushes of every ConsumeQueue.
    FlushConsumeQueue,
    /// `ReputMessageService`: dispatch what was appended since the last run. Set 1 ms after an
    /// append when none is pending, instead of RocketMQ's endless 1 ms loop (an idle store costs nothing).
    Reput,
    /// `FlushDiskWatcher` / the HA wait: the earliest deadline of a put waiting for a flush or a slave.
    PutDeadline,
    /// The store's scheduled executor: `cleanFilesPeriodically` every `cleanResourceInterval`.
    CleanFiles,
    /// The disk-check executor: `isSpaceFull` every 10 s (marks the disk full at 90 %).
    DiskCheck,
}

/// What the store needs from its host. The broker implements it over its kernel `Context`; tests
/// and benchmarks use `TestStoreIo`.
pub trait StoreIo {
    /// Virtual time since the run started (for timers and deadlines).
    fn now(&self) -> Time;
    /// `System.currentTimeMillis()`: epoch milliseconds of the virtual wall clock (store timestamps,
    /// file modification times, the `deleteWhen` hour).
    fn now_ms(&self) -> i64;
    /// The node's files as the page cache shows them.
    fn disk(&self) -> &NodeDisk;
    /// Open `name`, creating an empty file if needed.
    fn open(&mut self, name: &str) -> FileId;
    /// Write into the page cache (visible at once, durable only after a sync).
    fn write(&mut self, file: FileId, offset: u64, bytes: &[u8]);
    fn truncate(&mut self, file: FileId, len: u64);
    fn delete(&mut self, file: FileId);
    /// `force()`: make the file durable; `DefaultMessageStore::on_disk_synced` follows.
    fn sync(&mut self, file: FileId);
    fn set_timer(&mut self, after: Duration, timer: StoreTimer) -> TimerId;
    fn cancel_timer(&mut self, id: TimerId);
}
