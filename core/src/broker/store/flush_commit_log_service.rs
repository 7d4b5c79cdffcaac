//! The CommitLog's flush threads (`CommitLog.FlushRealTimeService`, `GroupCommitService`,
//! `CommitRealTimeService` and the `FlushDiskWatcher`), as state machines driven by timers and sync
//! completions instead of sleeping threads.
//!
//! * ASYNC_FLUSH, `FlushRealTimeService`: loop { decide the least pages (0 = "thorough" if
//!   `flushCommitLogThoroughInterval` passed since the last thorough flush, else
//!   `flushCommitLogLeastPages`); sleep `flushIntervalCommitLog`; flush; record the flushed store
//!   time in the checkpoint }. The next sleep starts when the flush returns, i.e. when the sync
//!   completes. With `flushCommitLogTimed = false` a put wakes it early.
//! * SYNC_FLUSH, `GroupCommitService`: every put with WAIT=true adds a request "flushed up to my end
//!   offset"; the service flushes (`flush(0)`) while anything is unflushed, one sync at a time, and
//!   answers every request its flushes covered with PUT_OK. Puts that arrive while a sync is in flight
//!   share the next one: that is the group commit. RocketMQ also polls every 10 ms; since every put
//!   wakes it, flushing back to back while data is unflushed is the same schedule without idle timers.
//! * `FlushDiskWatcher`: a request still waiting `syncFlushTimeout` after its put is answered
//!   FLUSH_DISK_TIMEOUT (the message stays stored and will still be flushed).
//! * `CommitRealTimeService` (transient store pool): copy the write buffer into the page cache when
//!   `commitCommitLogLeastPages` pages wait, or everything once `commitCommitLogThoroughInterval`
//!   passed; a put wakes it, and it also runs every `commitIntervalCommitLog`. Deviation: a wake-up
//!   does not restart the periodic timer.

use super::mapped_file_queue::MappedFileQueue;
use super::message_store_config::{FlushDiskType, MessageStoreConfig};
use super::put_message_result::{PutMessageStatus, PutTicket};
use super::store_checkpoint::StoreCheckpoint;
use super::store_io::{StoreIo, StoreTimer};
use crate::sim::node::TimerId;
use crate::time::{Duration, Time};

/// `GroupCommitRequest`: answered once `flushedWhere >= next_offset`, or at `deadline`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GroupCommitRequest {
    pub(crate) ticket: PutTicket,
    pub(crate) next_offset: i64,
    pub(crate) deadline: Time,
}

/// Where `FlushRealTimeService` is in its loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RealTimeState {
    /// Not started (SYNC_FLUSH, or before `start`) or stopped (shutdown).
    Idle,
    /// Sleeping until the timer; then flush with this many least pages.
    Sleeping { timer: TimerId, least_pages: i64 },
    /// Waiting for the sync it issued.
    Flushing,
}

#[derive(Clone, Debug)]
pub(crate) struct FlushCommitLogService {
    flush_disk_type: FlushDiskType,
    timed: bool,
    interval: Duration,
    least_pages: i64,
    thorough_interval_ms: i64,
    state: RealTimeState,
    last_flush_timestamp: i64,
    pub(crate) requests: Vec<GroupCommitRequest>,
    commit_enabled: bool,
    commit_interval: Duration,
    commit_least_pages: i64,
    commit_thorough_interval_ms: i64,
    commit_timer: Option<TimerId>,
    last_commit_timestamp: i64,
}

impl FlushCommitLogService {
    pub(crate) fn new(config: &MessageStoreConfig) -> Self {
        FlushCommitLogService {
            flush_disk_type: config.flush_disk_type,
            timed: config.flush_commit_log_timed,
            interval: Duration::from_millis(config.flush_interval_commit_log.into()),
            least_pages: config.flush_commit_log_least_pages.into(),
            thorough_interval_ms: config.flush_commit_log_thorough_interval.into(),
            state: RealTimeState::Idle,
            last_flush_timestamp: 0,
            requests: Vec::new(),
            commit_enabled: config.is_transient_store_pool_enable(),
            commit_interval: Duration::from_millis(config.commit_interval_commit_log.into()),
            commit_least_pages: config.commit_commit_log_least_pages.into(),
            commit_thorough_interval_ms: config.commit_commit_log_thorough_interval.into(),
            commit_timer: None,
            last_commit_timestamp: 0,
        }
    }

    pub(crate) fn start(&mut self, io: &mut dyn StoreIo) {
        if self.flush_disk_type == FlushDiskType::AsyncFlush {
            self.begin_sleep(io);
        }
        if self.commit_enabled {
            self.commit_timer = Some(io.set_timer(self.commit_interval, StoreTimer::CommitCommitLog));
        }
    }

    /// Stop the threads (shutdown): cancel their timers; pending requests stay for the final flush.
    pub(crate) fn stop(&mut self, io: &mut dyn StoreIo) {
        if let RealTimeState::Sleeping { timer, .. } = self.state {
            io.cancel_timer(timer);
        }
        self.state = RealTimeState::Idle;
        if let Some(timer) = self.commit_timer.take() {
            io.cancel_timer(timer);
        }
    }

    /// The top of `FlushRealTimeService`'s loop: pick the least pages, then sleep.
    fn begin_sleep(&mut self, io: &mut dyn StoreIo) {
        let now_ms = io.now_ms();
        let mut least_pages = self.least_pages;
        if now_ms >= self.last_flush_timestamp + self.thorough_interval_ms {
            self.last_flush_timestamp = now_ms;
            least_pages = 0;
        }
        let timer = io.set_timer(self.interval, StoreTimer::FlushCommitLog);
        self.state = RealTimeState::Sleeping { timer, least_pages };
    }

    /// `StoreTimer::FlushCommitLog` fired: flush (ASYNC_FLUSH).
    pub(crate) fn on_flush_timer(&mut self, io: &mut dyn StoreIo, queue: &mut MappedFileQueue) {
        let RealTimeState::Sleeping { least_pages, .. } = self.state else { return };
        self.state = RealTimeState::Flushing;
        queue.flush(io, least_pages);
    }

    /// A put arrived (`submitFlushRequest`'s `wakeup`).
    pub(crate) fn wakeup(&mut self, io: &mut dyn StoreIo, queue: &mut MappedFileQueue) {
        if self.flush_disk_type == FlushDiskType::AsyncFlush && !self.timed {
            if let RealTimeState::Sleeping { timer, .. } = self.state {
                io.cancel_timer(timer);
                self.on_flush_timer(io, queue);
            }
        }
    }

    /// Add a SYNC_FLUSH request.
    pub(crate) fn put_request(&mut self, request: GroupCommitRequest) {
        self.requests.push(request);
    }

    /// Advance after any event: finish a flush whose sync completed, answer covered requests, keep
    /// flushing while data is unflushed (SYNC_FLUSH). Returns the answered requests.
    pub(crate) fn poll(
        &mut self,
        io: &mut dyn StoreIo,
        queue: &mut MappedFileQueue,
        checkpoint: &mut StoreCheckpoint,
    ) -> Vec<(PutTicket, PutMessageStatus)> {
        let mut answered = Vec::new();
        if queue.flush_in_flight.is_some() {
            return answered;
        }
        match self.flush_disk_type {
            FlushDiskType::AsyncFlush => {
                if self.state == RealTimeState::Flushing {
                    if queue.store_timestamp > 0 {
                        checkpoint.physic_msg_timestamp = queue.store_timestamp;
                    }
                    self.begin_sleep(io);
                }
            }
            FlushDiskType::SyncFlush => {
                let flushed_where = queue.flushed_where;
                if !self.requests.is_empty() {
                    self.requests.retain(|request| {
                        let done = flushed_where >= request.next_offset;
                        if done {
                            answered.push((request.ticket, PutMessageStatus::PutOk));
                        }
                        !done
                    });
                    if queue.store_timestamp > 0 {
                        checkpoint.physic_msg_timestamp = queue.store_timestamp;
                    }
                }
                flush_until_in_flight(io, queue);
            }
        }
        answered
    }

    /// The `FlushDiskWatcher`: requests whose deadline passed are answered FLUSH_DISK_TIMEOUT.
    pub(crate) fn expire(&mut self, now: Time) -> Vec<(PutTicket, PutMessageStatus)> {
        let mut expired = Vec::new();
        self.requests.retain(|request| {
            let late = request.deadline <= now;
            if late {
                expired.push((request.ticket, PutMessageStatus::FlushDiskTimeout));
            }
            !late
        });
        expired
    }

    pub(crate) fn earliest_deadline(&self) -> Option<Time> {
        self.requests.iter().map(|request| request.deadline).min()
    }

    /// `StoreTimer::CommitCommitLog` fired: commit, then sleep again.
    pub(crate) fn on_commit_timer(&mut self, io: &mut dyn StoreIo, queue: &mut MappedFileQueue) -> u32 {
        self.commit_timer = None;
        if !self.commit_enabled {
            return 0;
        }
        let returned = self.commit(io, queue);
        self.commit_timer = Some(io.set_timer(self.commit_interval, StoreTimer::CommitCommitLog));
        returned
    }

    /// One pass of `CommitRealTimeService` (a put wakes it). Returns buffers given back to the pool.
    pub(crate) fn commit(&mut self, io: &mut dyn StoreIo, queue: &mut MappedFileQueue) -> u32 {
        if !self.commit_enabled {
            return 0;
        }
        let now_ms = io.now_ms();
        let mut least_pages = self.commit_least_pages;
        if now_ms >= self.last_commit_timestamp + self.commit_thorough_interval_ms {
            self.last_commit_timestamp = now_ms;
            least_pages = 0;
        }
        let mut returned = 0;
        let mut any_committed = false;
        // `MappedFileQueue.commit` does one file per call; a full file hands over to the next at once.
        for _ in 0..queue.files.len() + 1 {
            let (committed, pool_returns) = queue.commit(io, least_pages);
            returned += pool_returns;
            any_committed |= committed;
            if !committed || queue.committed_where >= queue.max_wrote_position() {
                break;
            }
        }
        if any_committed {
            self.last_commit_timestamp = now_ms;
            self.wakeup(io, queue);
        }
        returned
    }

    /// Commit everything (shutdown).
    pub(crate) fn commit_all(&mut self, io: &mut dyn StoreIo, queue: &mut MappedFileQueue) -> u32 {
        let mut returned = 0;
        for _ in 0..queue.files.len() + 1 {
            let (committed, pool_returns) = queue.commit(io, 0);
            returned += pool_returns;
            if !committed {
                break;
            }
        }
        returned
    }
}

/// Issue `flush(0)` until a sync is in flight or nothing is left to flush (a full, flushed file
/// just moves `flushedWhere` to the next file without a sync).
pub(crate) fn flush_until_in_flight(io: &mut dyn StoreIo, queue: &mut MappedFileQueue) {
    for _ in 0..queue.files.len() + 1 {
        if queue.flush_in_flight.is_some() || queue.remain_how_many_data_to_flush() == 0 {
            return;
        }
        let before = queue.flushed_where;
        if !queue.flush(io, 0) && queue.flushed_where == before {
            return;
        }
    }
}
