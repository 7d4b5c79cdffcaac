//! `DefaultMessageStore`: the storage engine as one sans-IO state machine (`store/DefaultMessageStore.java`).
//!
//! It ties the CommitLog, the ConsumeQueues, the IndexService, the checkpoint and RocketMQ's store
//! threads together. The host drives it with five calls, each given a [`StoreIo`]:
//! [`start`](DefaultMessageStore::start) (load and recover what the disk kept, then start the
//! services), [`put_message`](DefaultMessageStore::put_message),
//! [`on_timer`](DefaultMessageStore::on_timer), [`on_disk_synced`](DefaultMessageStore::on_disk_synced)
//! and [`shutdown`](DefaultMessageStore::shutdown); plus [`on_replicated`](DefaultMessageStore::on_replicated)
//! and [`on_slave_connections`](DefaultMessageStore::on_slave_connections) for the HA code. Handlers
//! return [`StoreEvents`]: final statuses of waiting puts, "new message in (topic, queue)" for long
//! polling, and the end of a clean shutdown. Reads (`get_message.rs`) only need the disk.
//!
//! Every service lives in its own file and is advanced here after each input (`settle`): a flush
//! whose sync completed lets its thread go on, answered requests complete their puts, the deadline
//! timer follows the earliest waiting put.
//!
//! Invariants: a put is acknowledged PUT_OK only when its durability condition holds (ASYNC_FLUSH:
//! in the page cache; SYNC_FLUSH: `flushedWhere` past its end; SYNC_MASTER: a slave past its end);
//! a waiting put is completed exactly once; nothing is written after shutdown began except the final
//! flushes.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use serde::Serialize;

use super::clean_commit_log_service::CleanCommitLogService;
use super::commit_log::{check_message, CommitLog};
use super::consume_queue::ConsumeQueue;
use super::flush_commit_log_service::{flush_until_in_flight, FlushCommitLogService, GroupCommitRequest};
use super::flush_consume_queue_service::{ConsumeQueueTable, FlushConsumeQueueService};
use super::group_transfer_service::{GroupTransferService, TransferRequest};
use super::index_service::IndexService;
use super::message_record::MessageRecord;
use super::message_store_config::{BrokerRole, FlushDiskType, MessageStoreConfig, StoreConfigError};
use super::offsets::QueueOffset;
use super::properties::PROPERTY_WAIT_STORE_MSG_OK;
use super::put_message_result::{PutCompletion, PutMessageResult, PutMessageStatus, PutOutcome, PutTicket};
use super::recovery::RecoveryReport;
use super::reput_message_service::ReputMessageService;
use super::store_checkpoint::StoreCheckpoint;
use super::store_io::{StoreIo, StoreTimer};
use crate::broker::delay_level::DelayLevelTable;
use crate::sim::disk::FileId;
use crate::sim::node::TimerId;
use crate::time::{Duration, Time};

/// "A message arrived in (topic, queueId)": what `ReputMessageService` tells the long-polling
/// `MessageArrivingListener` after dispatching a record. The topic is shared with its ConsumeQueue
/// (one event per dispatched message must not cost an allocation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessageArrived {
    #[serde(serialize_with = "serialize_shared_str")]
    pub topic: Rc<str>,
    pub queue_id: i32,
    /// The queue's max offset after this message (`cqOffset + 1`), as RocketMQ passes it.
    pub max_offset: QueueOffset,
    pub tags_code: i64,
    pub store_timestamp: i64,
}

fn serialize_shared_str<S: serde::Serializer>(text: &Rc<str>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(text)
}

/// What a handler reports back to the host.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StoreEvents {
    /// Final statuses of puts answered `PutOutcome::Pending`.
    pub put_completions: Vec<PutCompletion>,
    pub messages_arrived: Vec<MessageArrived>,
    /// A clean shutdown finished: everything is durable and the abort file is gone.
    pub shutdown_complete: bool,
}

impl StoreEvents {
    pub fn is_empty(&self) -> bool {
        self.put_completions.is_empty() && self.messages_arrived.is_empty() && !self.shutdown_complete
    }

    /// Append `other`'s events after this one's.
    pub fn extend(&mut self, other: StoreEvents) {
        self.put_completions.extend(other.put_completions);
        self.messages_arrived.extend(other.messages_arrived);
        self.shutdown_complete |= other.shutdown_complete;
    }
}

/// `RunningFlags`: why the store may refuse writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunningFlags {
    /// Disk use above `diskSpaceWarningLevelRatio`.
    pub disk_full: bool,
    pub logics_queue_error: bool,
    pub index_file_error: bool,
}

impl RunningFlags {
    pub fn is_writeable(&self) -> bool {
        !self.disk_full && !self.logics_queue_error && !self.index_file_error
    }
}

/// Where the store is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum StoreState {
    /// Built, not started.
    Created,
    Running,
    /// `shutdown` called: flushing the CommitLog and ConsumeQueues.
    ShuttingDown,
    /// Final flushes done; waiting for the checkpoint's sync before deleting the abort file.
    ShuttingDownCheckpoint(FileId),
    Shutdown,
}

/// What a waiting put still waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wait {
    NotNeeded,
    Waiting,
    Done(PutMessageStatus),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PendingPut {
    flush: Wait,
    replica: Wait,
}

#[derive(Clone, Debug)]
pub struct DefaultMessageStore {
    pub(crate) config: MessageStoreConfig,
    pub(crate) delay_levels: DelayLevelTable,
    /// Delay of level i + 1 in ms (the SCHEDULE_TOPIC_XXXX tags code).
    pub(crate) delay_level_millis: Vec<i64>,
    pub(crate) commit_log: CommitLog,
    pub(crate) consume_queue_table: ConsumeQueueTable,
    pub(crate) index_service: IndexService,
    pub(crate) checkpoint: StoreCheckpoint,
    pub(crate) flush_commit_log: FlushCommitLogService,
    pub(crate) flush_consume_queue: FlushConsumeQueueService,
    pub(crate) reput: ReputMessageService,
    pub(crate) clean: CleanCommitLogService,
    pub(crate) transfer: GroupTransferService,
    pub(crate) running_flags: RunningFlags,
    pub(crate) state: StoreState,
    pub(crate) recovery: RecoveryReport,
    /// Report dispatched messages as [`MessageArrived`] (the broker's `longPollingEnable`).
    pub(crate) notify_message_arriving: bool,
    /// `<root>/checkpoint`, computed once (it is written from the hot path's `settle`).
    pub(crate) checkpoint_path: String,
    pending_puts: BTreeMap<PutTicket, PendingPut>,
    next_ticket: u64,
    /// Events that came out while handling a put, handed over with the next handler's.
    deferred: StoreEvents,
    /// Files recovery cut short, whose sync must complete before puts may reuse their offsets.
    recovery_syncs: BTreeSet<FileId>,
    deadline_timer: Option<(TimerId, Time)>,
    /// DLedger mode (`broker/dledger/`): the CommitLog's files are DLedger's entry log and puts go
    /// through Raft. None in classic and 5.x controller mode.
    pub(crate) dledger: Option<Box<crate::broker::dledger::dledger_store::DLedgerStore>>,
    /// 5.x controller mode: dispatch stops at the confirm offset (None: at the CommitLog's max offset).
    pub(crate) reput_limit: Option<i64>,
    /// 5.x controller mode: the SyncStateSet's size, checked against `minInSyncReplicas` on each put.
    pub(crate) sync_state_set_size: Option<u32>,
}

impl DefaultMessageStore {
    /// A store with this config, not started. The config is the scenario boundary: every problem is
    /// reported.
    pub fn new(config: MessageStoreConfig) -> Result<Self, Vec<StoreConfigError>> {
        config.validate()?;
        let delay_levels = config.delay_level_table();
        let delay_level_millis = delay_levels.levels().map(|(_, ms)| i64::try_from(ms).unwrap_or(i64::MAX)).collect();
        Ok(DefaultMessageStore {
            commit_log: CommitLog::new(&config),
            consume_queue_table: BTreeMap::new(),
            index_service: IndexService::new(&config),
            checkpoint: StoreCheckpoint::default(),
            flush_commit_log: FlushCommitLogService::new(&config),
            flush_consume_queue: FlushConsumeQueueService::new(&config),
            reput: ReputMessageService::default(),
            clean: CleanCommitLogService::new(&config),
            transfer: GroupTransferService::default(),
            running_flags: RunningFlags::default(),
            state: StoreState::Created,
            recovery: RecoveryReport::default(),
            notify_message_arriving: true,
            checkpoint_path: config.checkpoint_path(),
            pending_puts: BTreeMap::new(),
            next_ticket: 0,
            deferred: StoreEvents::default(),
            recovery_syncs: BTreeSet::new(),
            deadline_timer: None,
            dledger: None,
            reput_limit: None,
            sync_state_set_size: None,
            delay_levels,
            delay_level_millis,
            config,
        })
    }

    pub fn config(&self) -> &MessageStoreConfig {
        &self.config
    }

    pub fn state(&self) -> StoreState {
        self.state
    }

    pub fn running_flags(&self) -> RunningFlags {
        self.running_flags
    }

    pub fn checkpoint(&self) -> StoreCheckpoint {
        self.checkpoint
    }

    /// What the last `start` found and did.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.recovery
    }

    /// Whether dispatch reports [`MessageArrived`] events (the broker's `longPollingEnable`, default true).
    pub fn set_notify_message_arriving(&mut self, enabled: bool) {
        self.notify_message_arriving = enabled;
    }

    /// `load` + `start`: recover from whatever the disk kept, catch dispatch up, create the abort
    /// file and start every service. Returns what recovery did.
    pub fn start(&mut self, io: &mut dyn StoreIo) -> RecoveryReport {
        assert_eq!(self.state, StoreState::Created, "a store starts once");
        self.load_and_recover(io);
        // `start()`: dispatch from the furthest point any ConsumeQueue reached.
        let commit_log_min = self.commit_log.min_offset();
        let mut reput_from = commit_log_min;
        for queue in self.consume_queue_table.values().flat_map(|q| q.values()) {
            reput_from = reput_from.max(queue.max_physic_offset);
        }
        reput_from = reput_from.max(0).max(commit_log_min);
        self.reput.reput_from_offset = reput_from;
        let before = self.reput.reput_from_offset;
        self.do_reput(io, false);
        self.recovery.dispatched_at_start_bytes = self.reput.reput_from_offset - before;
        self.recover_topic_queue_table(io);
        // Make recovery's cuts durable before new records can land where the cut bytes were.
        let mut truncated = std::mem::take(&mut self.commit_log.queue.truncated);
        for queue in self.consume_queue_table.values_mut().flat_map(|q| q.values_mut()) {
            truncated.append(&mut queue.queue.truncated);
        }
        for file in truncated {
            if io.disk().exists(file) && self.recovery_syncs.insert(file) {
                io.sync(file);
            }
        }
        self.flush_consume_queue.start(io);
        self.flush_commit_log.start(io);
        // `createTempFile`.
        io.open(&self.config.abort_path());
        self.clean.start(io);
        self.state = StoreState::Running;
        self.recovery.clone()
    }

    /// `putMessage`: refuse, or append and answer now or later (see [`PutOutcome`]).
    pub fn put_message(&mut self, io: &mut dyn StoreIo, msg: &MessageRecord) -> PutOutcome {
        if self.state != StoreState::Running
            || self.config.broker_role == BrokerRole::Slave
            || !self.running_flags.is_writeable()
            || !self.recovery_syncs.is_empty()
        {
            return PutOutcome::Done(PutMessageResult::rejected(PutMessageStatus::ServiceNotAvailable));
        }
        let check = check_message(msg);
        if check != PutMessageStatus::PutOk {
            return PutOutcome::Done(PutMessageResult::rejected(check));
        }
        if self.dledger.is_some() {
            return self.dledger_put_message(io, msg);
        }
        if self.sync_state_set_size.is_some_and(|size| size < self.config.min_in_sync_replicas) {
            return PutOutcome::Done(PutMessageResult::rejected(PutMessageStatus::InSyncReplicasNotEnough));
        }
        let append = match self.commit_log.put_message(io, msg, &self.delay_levels) {
            Ok(append) => append,
            Err(status) => return PutOutcome::Done(PutMessageResult::rejected(status)),
        };
        self.schedule_reput(io);
        let wait_store_msg_ok = is_wait_store_msg_ok(msg);
        let end_offset = append.next_offset().0;
        let now = io.now();
        let mut pending = PendingPut { flush: Wait::NotNeeded, replica: Wait::NotNeeded };
        let ticket = PutTicket(self.next_ticket);
        // submitFlushRequest
        match self.config.flush_disk_type {
            FlushDiskType::SyncFlush if wait_store_msg_ok => {
                pending.flush = Wait::Waiting;
                let deadline = now + Duration::from_millis(self.config.sync_flush_timeout.into());
                self.flush_commit_log.put_request(GroupCommitRequest { ticket, next_offset: end_offset, deadline });
            }
            FlushDiskType::SyncFlush => {}
            FlushDiskType::AsyncFlush => {
                if self.config.is_transient_store_pool_enable() {
                    let returned = self.flush_commit_log.commit(io, &mut self.commit_log.queue);
                    self.commit_log.pool_available += returned;
                } else {
                    self.flush_commit_log.wakeup(io, &mut self.commit_log.queue);
                }
            }
        }
        // submitReplicaRequest
        let five_x_rule = self.transfer.need_ack_nums;
        if let (BrokerRole::SyncMaster, true, Some(need)) = (self.config.broker_role, wait_store_msg_ok, five_x_rule) {
            // 5.x `handleHA`: wait only when more than the master's own acknowledgement is needed.
            if need > 1 && !self.transfer.has_enough_acks(end_offset, need) {
                pending.replica = Wait::Waiting;
                let deadline = now + Duration::from_millis(self.config.slave_timeout.into());
                self.transfer.requests.push(TransferRequest { ticket, next_offset: end_offset, deadline });
            }
        } else if self.config.broker_role == BrokerRole::SyncMaster && wait_store_msg_ok {
            if self.transfer.is_slave_ok(end_offset, self.config.ha_slave_fallbehind_max) {
                pending.replica = Wait::Waiting;
                let deadline = now + Duration::from_millis(self.config.slave_timeout.into());
                self.transfer.requests.push(TransferRequest { ticket, next_offset: end_offset, deadline });
            } else {
                pending.replica = Wait::Done(PutMessageStatus::SlaveNotAvailable);
            }
        }
        let result = PutMessageResult { status: PutMessageStatus::PutOk, append: Some(append) };
        let outcome = if pending.flush == Wait::Waiting || pending.replica == Wait::Waiting {
            self.next_ticket += 1;
            self.pending_puts.insert(ticket, pending);
            PutOutcome::Pending { ticket, result }
        } else {
            PutOutcome::Done(PutMessageResult { status: combined_status(pending), ..result })
        };
        // A SYNC_FLUSH put wakes the group commit. Answers that come out now (for other puts) are handed
        // over with the next handler's events.
        let early = self.settle(io);
        self.deferred.extend(early);
        outcome
    }

    /// A timer the store set has fired.
    pub fn on_timer(&mut self, io: &mut dyn StoreIo, timer: StoreTimer) -> StoreEvents {
        let mut events = std::mem::take(&mut self.deferred);
        if !matches!(self.state, StoreState::Running | StoreState::ShuttingDown | StoreState::ShuttingDownCheckpoint(_))
        {
            return events;
        }
        match timer {
            StoreTimer::FlushCommitLog => self.flush_commit_log.on_flush_timer(io, &mut self.commit_log.queue),
            StoreTimer::CommitCommitLog => {
                let returned = self.flush_commit_log.on_commit_timer(io, &mut self.commit_log.queue);
                self.commit_log.pool_available += returned;
            }
            StoreTimer::FlushConsumeQueue => {
                self.flush_consume_queue.on_timer(io, &mut self.consume_queue_table, &self.checkpoint)
            }
            StoreTimer::Reput => {
                self.reput.timer = None;
                let notify = self.notify_message_arriving && self.config.broker_role != BrokerRole::Slave;
                events.messages_arrived.extend(self.do_reput(io, notify));
            }
            StoreTimer::PutDeadline => {
                self.deadline_timer = None;
                let now = io.now();
                for (ticket, status) in self.flush_commit_log.expire(now) {
                    self.resolve_flush(ticket, status, &mut events);
                }
                for (ticket, status) in self.transfer.expire(now) {
                    self.resolve_replica(ticket, status, &mut events);
                }
            }
            StoreTimer::CleanFiles => self.on_clean_files_timer(io),
            StoreTimer::DiskCheck => self.on_disk_check_timer(io),
        }
        events.extend(self.settle(io));
        events
    }

    /// A sync the store asked for has completed.
    pub fn on_disk_synced(&mut self, io: &mut dyn StoreIo, file: FileId, _synced_len: u64) -> StoreEvents {
        let mut events = std::mem::take(&mut self.deferred);
        self.recovery_syncs.remove(&file);
        if !self.commit_log.queue.on_synced(file) {
            let mut found = false;
            for queue in self.consume_queue_table.values_mut().flat_map(|q| q.values_mut()) {
                if queue.queue.on_synced(file) {
                    found = true;
                    break;
                }
            }
            if !found {
                if let Some(index_msg_timestamp) = self.index_service.on_synced(file) {
                    self.checkpoint.index_msg_timestamp = index_msg_timestamp;
                    self.checkpoint.flush(io, &self.checkpoint_path);
                } else if self.state == StoreState::ShuttingDownCheckpoint(file) {
                    self.finish_shutdown(io);
                    events.shutdown_complete = true;
                }
            }
        }
        events.extend(self.settle(io));
        events
    }

    /// HA: a slave acknowledged the CommitLog up to `offset` (`push2SlaveMaxOffset`).
    pub fn on_replicated(&mut self, io: &mut dyn StoreIo, offset: i64) -> StoreEvents {
        let mut events = std::mem::take(&mut self.deferred);
        for (ticket, status) in self.transfer.on_replicated(offset) {
            self.resolve_replica(ticket, status, &mut events);
        }
        events.extend(self.settle(io));
        events
    }

    /// HA, 5.x rule: the acknowledgements a put needs (master included; None = the 4.9 rule) and each
    /// counted slave's acknowledged offset. Answers the waiting puts that now have enough.
    pub fn on_replica_acks(&mut self, io: &mut dyn StoreIo, need: Option<u32>, acks: Vec<i64>) -> StoreEvents {
        let mut events = std::mem::take(&mut self.deferred);
        self.transfer.need_ack_nums = need;
        self.transfer.slave_ack_offsets = acks;
        let max = self.transfer.push_to_slave_max_offset;
        for (ticket, status) in self.transfer.on_replicated(max) {
            self.resolve_replica(ticket, status, &mut events);
        }
        events.extend(self.settle(io));
        events
    }

    /// HA: how many slaves are connected (`connectionCount`), for SYNC_MASTER's `isSlaveOK`.
    pub fn on_slave_connections(&mut self, count: u32) {
        self.transfer.slave_connections = count;
    }

    /// HA on a slave: append bytes received from the master at `start_offset` (`appendToCommitLog`).
    pub fn append_to_commit_log(&mut self, io: &mut dyn StoreIo, start_offset: i64, data: &[u8]) -> bool {
        if self.state != StoreState::Running {
            return false;
        }
        let appended = self.commit_log.append_data(io, start_offset, data);
        if appended {
            self.schedule_reput(io);
        }
        appended
    }

    /// `shutdown`: refuse new puts, dispatch and flush everything, write the checkpoint, then (when
    /// its sync completes) delete the abort file; `StoreEvents::shutdown_complete` says when.
    pub fn shutdown(&mut self, io: &mut dyn StoreIo) -> StoreEvents {
        let mut events = std::mem::take(&mut self.deferred);
        if self.state != StoreState::Running {
            return events;
        }
        self.state = StoreState::ShuttingDown;
        self.flush_commit_log.stop(io);
        self.flush_consume_queue.stop(io);
        self.clean.stop(io);
        if let Some(timer) = self.reput.timer.take() {
            io.cancel_timer(timer);
        }
        let returned = self.flush_commit_log.commit_all(io, &mut self.commit_log.queue);
        self.commit_log.pool_available += returned;
        let notify = self.notify_message_arriving && self.config.broker_role != BrokerRole::Slave;
        events.messages_arrived.extend(self.do_reput(io, notify));
        self.index_service.write_all(io);
        events.extend(self.settle(io));
        events
    }

    /// Events produced while handling a put (answers to *other* puts), delivered with the next handler.
    pub fn take_deferred_events(&mut self) -> StoreEvents {
        std::mem::take(&mut self.deferred)
    }

    fn finish_shutdown(&mut self, io: &mut dyn StoreIo) {
        if self.running_flags.is_writeable() && self.dispatch_behind_bytes() == 0 {
            if let Some(abort) = io.disk().lookup(&self.config.abort_path()) {
                io.delete(abort);
            }
        }
        if let Some((timer, _)) = self.deadline_timer.take() {
            io.cancel_timer(timer);
        }
        self.state = StoreState::Shutdown;
    }

    /// Schedule a reput 1 ms from now unless one is pending (see `StoreTimer::Reput`).
    pub(crate) fn schedule_reput(&mut self, io: &mut dyn StoreIo) {
        if self.reput.timer.is_none() && self.state == StoreState::Running {
            self.reput.timer = Some(io.set_timer(Duration::from_millis(1), StoreTimer::Reput));
        }
    }

    /// Advance every service whose wait may be over, answer puts, follow the earliest deadline.
    pub(crate) fn settle(&mut self, io: &mut dyn StoreIo) -> StoreEvents {
        let mut events = StoreEvents::default();
        let answered = self.flush_commit_log.poll(io, &mut self.commit_log.queue, &mut self.checkpoint);
        for (ticket, status) in answered {
            self.resolve_flush(ticket, status, &mut events);
        }
        self.flush_consume_queue.poll(io, &self.consume_queue_table, &mut self.checkpoint, &self.checkpoint_path);
        if self.state == StoreState::ShuttingDown {
            flush_until_in_flight(io, &mut self.commit_log.queue);
            let mut busy = self.commit_log.queue.flush_in_flight.is_some();
            for queue in self.consume_queue_table.values_mut().flat_map(|q| q.values_mut()) {
                flush_until_in_flight(io, &mut queue.queue);
                busy |= queue.queue.flush_in_flight.is_some();
            }
            if !busy {
                if self.commit_log.queue.store_timestamp > 0 {
                    self.checkpoint.physic_msg_timestamp = self.commit_log.queue.store_timestamp;
                }
                let file = self.checkpoint.flush(io, &self.checkpoint_path);
                self.state = StoreState::ShuttingDownCheckpoint(file);
            }
        }
        self.follow_deadline(io);
        events
    }

    fn resolve_flush(&mut self, ticket: PutTicket, status: PutMessageStatus, events: &mut StoreEvents) {
        if let Some(pending) = self.pending_puts.get_mut(&ticket) {
            if pending.flush == Wait::Waiting {
                pending.flush = Wait::Done(status);
            }
        }
        self.complete_if_done(ticket, events);
    }

    fn resolve_replica(&mut self, ticket: PutTicket, status: PutMessageStatus, events: &mut StoreEvents) {
        if let Some(pending) = self.pending_puts.get_mut(&ticket) {
            if pending.replica == Wait::Waiting {
                pending.replica = Wait::Done(status);
            }
        }
        self.complete_if_done(ticket, events);
    }

    fn complete_if_done(&mut self, ticket: PutTicket, events: &mut StoreEvents) {
        let Some(pending) = self.pending_puts.get(&ticket) else { return };
        if pending.flush != Wait::Waiting && pending.replica != Wait::Waiting {
            let status = combined_status(*pending);
            self.pending_puts.remove(&ticket);
            events.put_completions.push(PutCompletion { ticket, status });
        }
    }

    /// Keep one `PutDeadline` timer at the earliest deadline of any waiting put.
    fn follow_deadline(&mut self, io: &mut dyn StoreIo) {
        let earliest =
            [self.flush_commit_log.earliest_deadline(), self.transfer.earliest_deadline()].into_iter().flatten().min();
        match (earliest, self.deadline_timer) {
            (Some(at), Some((_, current))) if at == current => {}
            (earliest, current) => {
                if let Some((timer, _)) = current {
                    io.cancel_timer(timer);
                }
                self.deadline_timer = earliest.map(|at| {
                    let timer = io.set_timer(at.saturating_since(io.now()), StoreTimer::PutDeadline);
                    (timer, at)
                });
            }
        }
    }

    /// `findConsumeQueue`: the queue of (topic, queueId), created empty if new.
    pub(crate) fn find_consume_queue(&mut self, topic: &str, queue_id: i32) -> &mut ConsumeQueue {
        // Two lookups when the topic is known (returning a borrow from a `get_mut` match is refused).
        if !self.consume_queue_table.contains_key(topic) {
            self.consume_queue_table.insert(topic.to_string(), BTreeMap::new());
        }
        let queues = self.consume_queue_table.get_mut(topic).expect("inserted above");
        let config = &self.config;
        queues.entry(queue_id).or_insert_with(|| ConsumeQueue::new(config, topic, queue_id))
    }

    pub fn consume_queue(&self, topic: &str, queue_id: i32) -> Option<&ConsumeQueue> {
        self.consume_queue_table.get(topic)?.get(&queue_id)
    }

    pub fn commit_log(&self) -> &CommitLog {
        &self.commit_log
    }

    /// `getMinPhyOffset`.
    pub fn min_phy_offset(&self) -> i64 {
        self.commit_log.min_offset()
    }

    /// `getMaxPhyOffset`.
    pub fn max_phy_offset(&self) -> i64 {
        self.commit_log.max_offset()
    }

    /// `dispatchBehindBytes`: CommitLog bytes not dispatched yet.
    pub fn dispatch_behind_bytes(&self) -> i64 {
        (self.commit_log.max_offset() - self.reput.reput_from_offset).max(0)
    }

    /// Where dispatch will read next (`reputFromOffset`).
    pub fn reput_from_offset(&self) -> i64 {
        self.reput.reput_from_offset
    }

    /// Whether puts are still refused because recovery's cuts are not durable yet (the first sync
    /// completions after `start`; nothing to wait for after a clean shutdown).
    pub fn is_recovering(&self) -> bool {
        !self.recovery_syncs.is_empty()
    }

    /// Puts waiting for a flush or a slave.
    pub fn pending_put_count(&self) -> u32 {
        self.pending_puts.len() as u32
    }
}

/// `thenCombine` of the flush and replica futures: a non-OK flush status, then a non-OK replica
/// status, overrides PUT_OK (the replica's wins when both failed).
fn combined_status(pending: PendingPut) -> PutMessageStatus {
    let mut status = PutMessageStatus::PutOk;
    if let Wait::Done(flush) = pending.flush {
        if flush != PutMessageStatus::PutOk {
            status = flush;
        }
    }
    if let Wait::Done(replica) = pending.replica {
        if replica != PutMessageStatus::PutOk {
            status = replica;
        }
    }
    status
}

/// `Message.isWaitStoreMsgOK`: the WAIT property, true unless it says otherwise (`Boolean.parseBoolean`).
pub fn is_wait_store_msg_ok(msg: &MessageRecord) -> bool {
    msg.properties.get(PROPERTY_WAIT_STORE_MSG_OK).is_none_or(|value| value.eq_ignore_ascii_case("true"))
}
