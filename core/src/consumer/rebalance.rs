//! `RebalanceImpl` / `RebalancePushImpl` / `RebalanceLitePullImpl` (4.9.8): which queues this consumer
//! owns, and what happens when that changes.
//!
//! A run (`doRebalance`) goes through the subscribed topics one after the other. For a CLUSTERING topic
//! it asks **one** broker (a random one of the topic's route) for the group's consumer ids
//! (GET_CONSUMER_LIST_BY_GROUP), sorts them and the topic's queues as RocketMQ does, and runs the
//! allocation strategy on **its own view**: two consumers whose views differ (one heard of a new member,
//! the other not yet; brokers that disagree) can own a queue at the same time, or leave one unowned, for
//! exactly as long as RocketMQ would. A BROADCASTING topic is owned whole.
//!
//! Applying an allocation (`updateProcessQueueTableInRebalance`):
//! * a queue no longer owned (or, for a push consumer, not pulled for 120 s) is marked dropped, its offset
//!   persisted to the broker and forgotten; an orderly consumer first takes the queue's consume lock
//!   (waiting up to 1 s for a listener call to return — else the queue stays, dropped, until the next run)
//!   and unlocks it on the broker (20 s later if messages were still cached);
//! * a new queue (orderly: after a successful LOCK_BATCH_MQ; a failed lock just skips it this time) gets
//!   its start offset from `computePullFromWhere` and a process queue; its first pull is dispatched at
//!   once (4.9);
//! * if anything changed: the subscription's `subVersion` becomes now and a heartbeat goes to every broker.
//!
//! Each RPC is awaited (the rebalance thread blocks on it in RocketMQ), so a run takes a few round trips;
//! the next run is 20 s after one ends, or at once if the service was woken meanwhile.
//!
//! `computePullFromWhere`: a stored offset (QUERY_CONSUMER_OFFSET, or the local file) always wins; with
//! none (-1): LAST_OFFSET starts at the queue's max offset (0 for a retry topic), FIRST_OFFSET at 0,
//! TIMESTAMP at `searchOffset(consumeTimestamp)` (max offset for a retry topic); a failed query (-2) or a
//! failed max/search call leaves the queue without a process queue until the next run.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::broker::broker_store_io::wall_clock_ms;
use crate::broker::delay_level::RETRY_GROUP_TOPIC_PREFIX;
use crate::consumer::allocate::{
    sort_for_rebalance, AllocateMessageQueueStrategy, MachineRoomResolver, RebalanceEffect,
};
use crate::consumer::client::{
    timer, ConsumerClient, ConsumerKind, ConsumerTimer, Purpose, LOCK_TIMEOUT_MS, SEND_BACK_TIMEOUT_MS,
};
use crate::consumer::offset_store::{OffsetStore, OffsetStoreKind};
use crate::consumer::process_queue::ProcessQueue;
use crate::consumer::remoting::CallResult;
use crate::message_queue::MessageQueue;
use crate::observation::{DropReason, Observation};
use crate::protocol::consumer::{ConsumeFromWhere, ConsumerRequest, ConsumerResponseBody, MessageModel};
use crate::protocol::{ResponseBody, ResponseCode};
use crate::time::{Duration, Time};
use crate::world::Ctx;

/// `RebalancePushImpl.UNLOCK_DELAY_TIME_MILLS`.
pub const UNLOCK_DELAY_TIME: Duration = Duration::from_millis(20_000);
/// `pq.getConsumeLock().tryLock(1000, ms)` in `removeUnnecessaryMessageQueue`.
pub const CONSUME_LOCK_WAIT: Duration = Duration::from_millis(1_000);

/// What the running rebalance waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Awaiting {
    Nothing,
    Route(String),
    ConsumerList,
    Lock(MessageQueue),
    Offset(u64),
    ConsumeLock { mq: MessageQueue, until: Time },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    FindConsumers,
    Removing,
    Adding,
    Dispatch,
    Done,
}

#[derive(Clone, Debug)]
struct TopicRun {
    topic: String,
    phase: Phase,
    mq_set: Option<BTreeSet<MessageQueue>>,
    route_retried: bool,
    removals: VecDeque<(MessageQueue, DropReason)>,
    additions: VecDeque<MessageQueue>,
    allocated: BTreeSet<MessageQueue>,
    new_pulls: Vec<u64>,
    changed: bool,
}

/// One run of `doRebalance`.
#[derive(Clone, Debug)]
pub struct RebalanceRun {
    pub id: u64,
    topics: VecDeque<String>,
    current: Option<TopicRun>,
    awaiting: Awaiting,
}

/// Who waits for a `computePullFromWhere`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupWaiter {
    Rebalance {
        run: u64,
    },
    /// An orderly pull re-reading its offset after the first lock.
    OrderlyPull {
        pq_id: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LookupStage {
    Query,
    MaxOffset,
    SearchOffset,
}

/// A `computePullFromWhere` in progress.
#[derive(Clone, Debug)]
pub struct OffsetLookup {
    mq: MessageQueue,
    waiter: LookupWaiter,
    stage: LookupStage,
}

impl ConsumerClient {
    /// `doRebalance`.
    pub(crate) fn start_rebalance(&mut self, ctx: &mut Ctx<'_>) {
        if self.rebalance.is_some() || !self.is_running() {
            return;
        }
        let id = self.next_run_id;
        self.next_run_id += 1;
        self.stats.rebalances += 1;
        let topics = if self.pause && self.spec.kind == ConsumerKind::Push {
            // `doRebalance` does nothing while the consumer is paused.
            VecDeque::new()
        } else {
            self.subscription_inner.keys().cloned().collect()
        };
        self.rebalance = Some(RebalanceRun { id, topics, current: None, awaiting: Awaiting::Nothing });
        self.continue_rebalance(ctx);
    }

    fn run_mut(&mut self) -> &mut RebalanceRun {
        self.rebalance.as_mut().expect("a rebalance is running")
    }

    /// Advance the run until it awaits something or ends.
    fn continue_rebalance(&mut self, ctx: &mut Ctx<'_>) {
        loop {
            let Some(run) = self.rebalance.as_ref() else { return };
            if run.awaiting != Awaiting::Nothing {
                return;
            }
            let run_id = run.id;
            let Some(current) = run.current.clone() else {
                let next = self.run_mut().topics.pop_front();
                match next {
                    None => {
                        self.truncate_message_queue_not_my_topic(ctx);
                        self.rebalance_finished(ctx);
                        return;
                    }
                    Some(topic) => {
                        let mq_set = self.topic_subscribe_info_table.get(&topic).cloned();
                        self.run_mut().current = Some(TopicRun {
                            topic,
                            phase: Phase::FindConsumers,
                            mq_set,
                            route_retried: false,
                            removals: VecDeque::new(),
                            additions: VecDeque::new(),
                            allocated: BTreeSet::new(),
                            new_pulls: Vec::new(),
                            changed: false,
                        });
                        continue;
                    }
                }
            };
            match current.phase {
                Phase::FindConsumers => self.find_consumers(run_id, current, ctx),
                Phase::Removing => self.next_removal(run_id, current, ctx),
                Phase::Adding => self.next_addition(run_id, current, ctx),
                Phase::Dispatch => self.dispatch_and_announce(current, ctx),
                Phase::Done => self.run_mut().current = None,
            }
        }
    }

    fn set_current(&mut self, current: TopicRun) {
        self.run_mut().current = Some(current);
    }

    fn find_consumers(&mut self, run_id: u64, mut current: TopicRun, ctx: &mut Ctx<'_>) {
        if self.spec.config.message_model == MessageModel::Broadcasting {
            match current.mq_set.clone() {
                Some(all) => {
                    self.observe_allocation(&current.topic, &[], all.len() as u32, &all, ctx);
                    self.plan(&mut current, all, ctx.now().as_millis());
                }
                None => current.phase = Phase::Done,
            }
            self.set_current(current);
            return;
        }
        // findConsumerIdList: a random broker of the topic; without one, refresh the route first.
        let addr = self.find_broker_addr_by_topic(&current.topic, ctx);
        if addr.is_none() && !current.route_retried {
            current.route_retried = true;
            let topic = current.topic.clone();
            self.set_current(current);
            self.run_mut().awaiting = Awaiting::Route(topic.clone());
            self.request_route_update(topic, false, ctx);
            return;
        }
        let Some(addr) = addr else {
            current.phase = Phase::Done;
            self.set_current(current);
            return;
        };
        self.set_current(current);
        self.run_mut().awaiting = Awaiting::ConsumerList;
        let request = ConsumerRequest::GetConsumerListByGroup { consumer_group: self.spec.group.clone() };
        let timeout = self.spec.config.mq_client_api_timeout;
        self.call(Some(addr.clone()), &addr, request, Purpose::Rebalance { run: run_id }, timeout, true, ctx);
    }

    /// A route refresh finished: a run waiting for it goes on.
    pub(crate) fn on_route_waiters(&mut self, topic: &str, ctx: &mut Ctx<'_>) {
        let waiting = self.rebalance.as_ref().is_some_and(|r| r.awaiting == Awaiting::Route(topic.to_string()));
        if waiting {
            let run = self.run_mut();
            run.awaiting = Awaiting::Nothing;
            if let Some(current) = run.current.as_mut() {
                current.mq_set = None;
            }
            let mq_set = self.topic_subscribe_info_table.get(topic).cloned();
            if let Some(current) = self.run_mut().current.as_mut() {
                current.mq_set = mq_set;
            }
            self.continue_rebalance(ctx);
        }
    }

    /// The answer to a call the run made.
    pub(crate) fn on_rebalance_result(&mut self, run_id: u64, result: CallResult, ctx: &mut Ctx<'_>) {
        let Some(run) = self.rebalance.as_ref().filter(|r| r.id == run_id) else { return };
        let awaiting = run.awaiting.clone();
        let Some(mut current) = run.current.clone() else { return };
        match awaiting {
            Awaiting::ConsumerList => {
                let cid_all = match result {
                    Ok(r) if r.code == ResponseCode::SUCCESS => match r.body {
                        ResponseBody::Consumer(body) => match *body {
                            ConsumerResponseBody::ConsumerIdList(ids) => Some(ids),
                            _ => None,
                        },
                        _ => None,
                    },
                    _ => None,
                };
                match (current.mq_set.clone(), cid_all) {
                    (Some(mq_set), Some(cid_all)) => self.allocate(&mut current, mq_set, cid_all, ctx),
                    _ => current.phase = Phase::Done,
                }
            }
            Awaiting::Lock(mq) => {
                let locked = lock_ok_set(&result).is_some_and(|set| set.contains(&mq));
                ctx.observe(Observation::QueueLockChanged {
                    group: self.spec.group.clone(),
                    client_id: self.client_id.clone(),
                    queue: mq.clone(),
                    locked,
                });
                self.run_mut().awaiting = Awaiting::Nothing;
                if locked {
                    self.set_current(current);
                    self.begin_addition(run_id, mq, ctx);
                    self.continue_rebalance(ctx);
                    return;
                }
            }
            _ => return,
        }
        self.run_mut().awaiting = Awaiting::Nothing;
        self.set_current(current);
        self.continue_rebalance(ctx);
    }

    /// `strategy.allocate` on this consumer's view, then plan the changes.
    fn allocate(
        &mut self,
        current: &mut TopicRun,
        mq_set: BTreeSet<MessageQueue>,
        mut cid_all: Vec<String>,
        ctx: &mut Ctx<'_>,
    ) {
        let mut mq_all: Vec<MessageQueue> = mq_set.iter().cloned().collect();
        sort_for_rebalance(&mut mq_all, &mut cid_all);
        let strategy = self.strategy_for(&cid_all);
        let allocated: BTreeSet<MessageQueue> =
            match strategy.allocate(&self.spec.group, &self.client_id, &mq_all, &cid_all) {
                Ok(queues) => queues.into_iter().collect(),
                Err(error) => match error.rebalance_effect() {
                    RebalanceEffect::KeepCurrentQueues => {
                        current.phase = Phase::Done;
                        return;
                    }
                    RebalanceEffect::ReleaseAllQueues => BTreeSet::new(),
                },
            };
        self.observe_allocation(&current.topic, &cid_all, mq_all.len() as u32, &allocated, ctx);
        self.plan(current, allocated, ctx.now().as_millis());
    }

    /// The configured strategy, with this view's consumers placed in their rooms (MACHINE_ROOM_NEARBY).
    fn strategy_for(&self, cid_all: &[String]) -> AllocateMessageQueueStrategy {
        match &self.strategy {
            AllocateMessageQueueStrategy::MachineRoomNearby { inner, resolver } => {
                let consumer_rooms = cid_all
                    .iter()
                    .filter_map(|cid| {
                        let ip = cid.split('@').next()?;
                        self.spec.rooms_by_ip.get(ip).map(|room| (cid.clone(), room.clone()))
                    })
                    .collect::<BTreeMap<String, String>>();
                AllocateMessageQueueStrategy::MachineRoomNearby {
                    inner: inner.clone(),
                    resolver: MachineRoomResolver { broker_rooms: resolver.broker_rooms.clone(), consumer_rooms },
                }
            }
            other => other.clone(),
        }
    }

    fn observe_allocation(
        &mut self,
        topic: &str,
        cid_all: &[String],
        mq_all: u32,
        allocated: &BTreeSet<MessageQueue>,
        ctx: &mut Ctx<'_>,
    ) {
        let allocated: Vec<MessageQueue> = allocated.iter().cloned().collect();
        self.allocations.insert(topic.to_string(), allocated.clone());
        ctx.observe(Observation::RebalanceAllocated {
            group: self.spec.group.clone(),
            client_id: self.client_id.clone(),
            topic: topic.to_string(),
            cid_all: cid_all.to_vec(),
            mq_all,
            allocated,
        });
    }

    /// `updateProcessQueueTableInRebalance`'s two passes, as lists to work through.
    fn plan(&mut self, current: &mut TopicRun, allocated: BTreeSet<MessageQueue>, now_ms: u64) {
        let passive = self.spec.kind == ConsumerKind::Push;
        for (mq, pq) in &self.process_queue_table {
            if *mq.topic != *current.topic {
                continue;
            }
            if !allocated.contains(mq) {
                current.removals.push_back((mq.clone(), DropReason::Rebalance));
            } else if passive && pq.is_pull_expired(now_ms) {
                current.removals.push_back((mq.clone(), DropReason::PullExpired));
            }
        }
        current.allocated = allocated;
        current.phase = Phase::Removing;
    }

    fn next_removal(&mut self, run_id: u64, mut current: TopicRun, ctx: &mut Ctx<'_>) {
        let Some((mq, reason)) = current.removals.pop_front() else {
            current.additions =
                current.allocated.iter().filter(|mq| !self.process_queue_table.contains_key(*mq)).cloned().collect();
            current.phase = Phase::Adding;
            self.set_current(current);
            return;
        };
        self.set_current(current);
        let Some(pq) = self.process_queue_table.get_mut(&mq) else { return };
        let first_drop = !pq.dropped;
        pq.dropped = true;
        if first_drop {
            self.observe_dropped(&mq, reason, ctx);
        }
        // Orderly clustering: the consume lock first (a listener call may hold it).
        if self.is_orderly() && self.is_clustering() {
            let busy_until = self.consume_lock_busy_until(&mq);
            if let Some(until) = busy_until.filter(|u| *u > ctx.now()) {
                let deadline = ctx.now() + CONSUME_LOCK_WAIT;
                let wake = until.min(deadline);
                self.run_mut().awaiting = Awaiting::ConsumeLock { mq, until: deadline };
                ctx.set_timer(wake - ctx.now(), timer(ConsumerTimer::RebalanceConsumeLockWait { run: run_id }));
                return;
            }
        }
        if let Some(pq) = self.process_queue_table.remove(&mq) {
            self.remove_unnecessary_message_queue_now(&mq, &pq, ctx);
            if let Some(c) = self.run_mut().current.as_mut() {
                c.changed = true;
            }
        }
    }

    /// The wait for an orderly queue's consume lock ended (the listener returned, or 1 s passed).
    pub(crate) fn on_rebalance_consume_lock_wait(&mut self, run_id: u64, ctx: &mut Ctx<'_>) {
        let Some(run) = self.rebalance.as_ref().filter(|r| r.id == run_id) else { return };
        let Awaiting::ConsumeLock { mq, until } = run.awaiting.clone() else { return };
        self.run_mut().awaiting = Awaiting::Nothing;
        let still_busy = self.consume_lock_busy_until(&mq).is_some_and(|u| u > ctx.now());
        if still_busy {
            if ctx.now() < until {
                // The listener call ends before the deadline: wait for it.
                let wake = self.consume_lock_busy_until(&mq).unwrap_or(until).min(until);
                self.run_mut().awaiting = Awaiting::ConsumeLock { mq, until };
                ctx.set_timer(wake - ctx.now(), timer(ConsumerTimer::RebalanceConsumeLockWait { run: run_id }));
                return;
            }
            // tryLock failed: the queue stays (dropped) until a later run.
            if let Some(pq) = self.process_queue_table.get_mut(&mq) {
                pq.try_unlock_times += 1;
            }
        } else if let Some(pq) = self.process_queue_table.remove(&mq) {
            self.remove_unnecessary_message_queue_now(&mq, &pq, ctx);
            if let Some(c) = self.run_mut().current.as_mut() {
                c.changed = true;
            }
        }
        self.continue_rebalance(ctx);
    }

    /// `removeUnnecessaryMessageQueue` once the consume lock is held: persist and forget the offset;
    /// orderly clustering: unlock on the broker (20 s later if messages were still cached).
    pub(crate) fn remove_unnecessary_message_queue_now(
        &mut self,
        mq: &MessageQueue,
        pq: &ProcessQueue,
        ctx: &mut Ctx<'_>,
    ) {
        self.persist_offset(mq, ctx);
        self.offset_store.remove_offset(mq);
        if self.spec.kind == ConsumerKind::LitePull {
            self.lite_queue_removed(mq);
        }
        if self.is_orderly() && self.is_clustering() {
            if pq.has_temp_message() {
                ctx.set_timer(UNLOCK_DELAY_TIME, timer(ConsumerTimer::UnlockDelay { mq: mq.clone() }));
            } else {
                self.unlock(mq, ctx);
            }
        }
    }

    /// `unlock(mq, oneway = true)`.
    pub(crate) fn unlock(&mut self, mq: &MessageQueue, ctx: &mut Ctx<'_>) {
        let Some((addr, _)) = self.find_broker_address_in_subscribe(&mq.broker_name, true) else { return };
        let request = ConsumerRequest::UnlockBatchMq {
            consumer_group: self.spec.group.clone(),
            client_id: self.client_id.clone(),
            mq_set: vec![mq.clone()],
        };
        self.oneway(&addr, request, ctx);
    }

    /// `unlockAll(false)` at shutdown: one UNLOCK_BATCH_MQ per broker.
    pub(crate) fn unlock_all(&mut self, ctx: &mut Ctx<'_>) {
        let mut by_broker: BTreeMap<String, Vec<MessageQueue>> = BTreeMap::new();
        for mq in self.process_queue_table.keys() {
            by_broker.entry(mq.broker_name.to_string()).or_default().push(mq.clone());
        }
        for (broker, mqs) in by_broker {
            let Some((addr, _)) = self.find_broker_address_in_subscribe(&broker, true) else { continue };
            let request = ConsumerRequest::UnlockBatchMq {
                consumer_group: self.spec.group.clone(),
                client_id: self.client_id.clone(),
                mq_set: mqs.clone(),
            };
            self.call(Some(addr.clone()), &addr, request, Purpose::Other, LOCK_TIMEOUT_MS, true, ctx);
            for mq in mqs {
                if let Some(pq) = self.process_queue_table.get_mut(&mq) {
                    pq.locked = false;
                }
            }
        }
    }

    fn next_addition(&mut self, run_id: u64, mut current: TopicRun, ctx: &mut Ctx<'_>) {
        let Some(mq) = current.additions.pop_front() else {
            current.phase = Phase::Dispatch;
            self.set_current(current);
            return;
        };
        self.set_current(current);
        if self.is_orderly() && self.is_clustering() {
            let Some((addr, _)) = self.find_broker_address_in_subscribe(&mq.broker_name, true) else { return };
            self.run_mut().awaiting = Awaiting::Lock(mq.clone());
            let request = ConsumerRequest::LockBatchMq {
                consumer_group: self.spec.group.clone(),
                client_id: self.client_id.clone(),
                mq_set: vec![mq],
            };
            self.call(
                Some(addr.clone()),
                &addr,
                request,
                Purpose::Rebalance { run: run_id },
                LOCK_TIMEOUT_MS,
                true,
                ctx,
            );
            return;
        }
        self.begin_addition(run_id, mq, ctx);
    }

    /// `removeDirtyOffset` then `computePullFromWhere`.
    fn begin_addition(&mut self, run_id: u64, mq: MessageQueue, ctx: &mut Ctx<'_>) {
        self.offset_store.remove_offset(&mq);
        let lookup = self.next_lookup_id;
        self.next_lookup_id += 1;
        self.run_mut().awaiting = Awaiting::Offset(lookup);
        self.start_offset_lookup(lookup, mq, LookupWaiter::Rebalance { run: run_id }, ctx);
    }

    /// The start offset of a new queue is known (or not): create its process queue.
    fn addition_done(&mut self, run_id: u64, lookup: u64, mq: MessageQueue, offset: Option<i64>, ctx: &mut Ctx<'_>) {
        let Some(run) = self.rebalance.as_ref().filter(|r| r.id == run_id) else { return };
        if run.awaiting != Awaiting::Offset(lookup) {
            return;
        }
        self.run_mut().awaiting = Awaiting::Nothing;
        if let Some(offset) = offset.filter(|o| *o >= 0) {
            if !self.process_queue_table.contains_key(&mq) {
                let id = self.next_pq_id;
                self.next_pq_id += 1;
                let mut pq = ProcessQueue::new(id, ctx.now().as_millis(), offset);
                pq.locked = true;
                self.process_queue_table.insert(mq.clone(), pq);
                ctx.observe(Observation::ProcessQueueAdded {
                    group: self.spec.group.clone(),
                    client_id: self.client_id.clone(),
                    queue: mq.clone(),
                    offset,
                });
                if let Some(current) = self.run_mut().current.as_mut() {
                    current.new_pulls.push(id);
                    current.changed = true;
                }
            }
        }
        self.continue_rebalance(ctx);
    }

    /// `dispatchPullRequest`, then `messageQueueChanged` if the table changed.
    fn dispatch_and_announce(&mut self, mut current: TopicRun, ctx: &mut Ctx<'_>) {
        current.phase = Phase::Done;
        let pulls = std::mem::take(&mut current.new_pulls);
        let changed = current.changed;
        let topic = current.topic.clone();
        let allocated = current.allocated.clone();
        self.set_current(current);
        match self.spec.kind {
            ConsumerKind::Push => {
                for pq_id in pulls {
                    self.pull_message(pq_id, ctx);
                }
            }
            ConsumerKind::LitePull => self.lite_assignment_changed(&topic, &allocated, ctx),
        }
        if !changed || self.spec.kind != ConsumerKind::Push {
            return;
        }
        // RebalancePushImpl.messageQueueChanged.
        if let Some(sub) = self.subscription_inner.get_mut(&topic) {
            sub.sub_version = wall_clock_ms(ctx.now());
        }
        let owned = self.process_queue_table.len() as i64;
        if owned > 0 {
            let config = &mut self.spec.config;
            if config.pull_threshold_for_topic != -1 {
                config.pull_threshold_for_queue = (i64::from(config.pull_threshold_for_topic) / owned).max(1) as u32;
            }
            if config.pull_threshold_size_for_topic != -1 {
                config.pull_threshold_size_for_queue =
                    (i64::from(config.pull_threshold_size_for_topic) / owned).max(1) as u32;
            }
        }
        // The heartbeats go out now; the run does not wait for their answers (on each channel they travel
        // ahead of any later pull, which is what the broker's subscription check needs).
        self.send_heartbeat_to_all_brokers(false, ctx);
    }

    /// `truncateMessageQueueNotMyTopic`.
    fn truncate_message_queue_not_my_topic(&mut self, ctx: &mut Ctx<'_>) {
        let stale: Vec<MessageQueue> = self
            .process_queue_table
            .keys()
            .filter(|mq| !self.subscription_inner.contains_key(&*mq.topic))
            .cloned()
            .collect();
        for mq in stale {
            if let Some(mut pq) = self.process_queue_table.remove(&mq) {
                pq.dropped = true;
                self.observe_dropped(&mq, DropReason::NotMyTopic, ctx);
            }
        }
    }

    // ----------------------------------------------------------------------------------------------
    // computePullFromWhere
    // ----------------------------------------------------------------------------------------------

    /// Start `computePullFromWhereWithException(mq)`; the result comes to the waiter.
    pub(crate) fn start_offset_lookup(
        &mut self,
        lookup: u64,
        mq: MessageQueue,
        waiter: LookupWaiter,
        ctx: &mut Ctx<'_>,
    ) {
        self.lookups.insert(lookup, OffsetLookup { mq: mq.clone(), waiter, stage: LookupStage::Query });
        match self.offset_store.kind {
            OffsetStoreKind::RemoteBroker => {
                let memory = self.offset_store.read_from_memory(&mq);
                if self.spec.kind == ConsumerKind::LitePull && memory >= 0 {
                    // MEMORY_FIRST_THEN_STORE.
                    self.after_read_offset(lookup, memory, ctx);
                    return;
                }
                let addr = self
                    .find_broker_address_in_subscribe(&mq.broker_name, true)
                    .or_else(|| self.find_broker_address_in_subscribe(&mq.broker_name, false))
                    .map(|(a, _)| a);
                let request = ConsumerRequest::QueryConsumerOffset {
                    consumer_group: self.spec.group.clone(),
                    topic: mq.topic.to_string(),
                    queue_id: mq.queue_id,
                };
                self.call(
                    addr,
                    &mq.broker_name,
                    request,
                    Purpose::OffsetLookup { lookup },
                    SEND_BACK_TIMEOUT_MS,
                    true,
                    ctx,
                );
            }
            OffsetStoreKind::LocalFile => {
                // readOffset(READ_FROM_STORE) reads the file.
                let path = OffsetStore::local_path(&self.client_id, &self.spec.group);
                let stored = ctx.disk().lookup(&path).and_then(|file| {
                    let bytes = ctx.disk().read_vec(file, 0, ctx.disk().len(file));
                    OffsetStore::decode(&bytes).get(&mq).copied()
                });
                let last = match stored {
                    Some(offset) => {
                        self.offset_store.update_offset(&mq, offset, false);
                        offset
                    }
                    None => -1,
                };
                self.after_read_offset(lookup, last, ctx);
            }
        }
    }

    /// A lookup's call ended.
    pub(crate) fn on_offset_lookup_result(&mut self, lookup: u64, result: CallResult, ctx: &mut Ctx<'_>) {
        let Some(state) = self.lookups.get(&lookup).cloned() else { return };
        let value = match &result {
            Ok(r) if r.code == ResponseCode::SUCCESS => match &r.body {
                ResponseBody::Consumer(body) => match body.as_ref() {
                    ConsumerResponseBody::Offset(offset) => Some(*offset),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        };
        match state.stage {
            LookupStage::Query => {
                let last = match (&result, value) {
                    (Ok(_), Some(offset)) => {
                        self.offset_store.update_offset(&state.mq, offset, false);
                        offset
                    }
                    // MQBrokerException (QUERY_NOT_FOUND or any other code): no offset in the broker.
                    (Ok(_), None) => -1,
                    // Any remoting failure: -2.
                    (Err(_), _) => -2,
                };
                self.after_read_offset(lookup, last, ctx);
            }
            LookupStage::MaxOffset | LookupStage::SearchOffset => {
                let offset = match (&result, value) {
                    (Ok(_), Some(offset)) => Some(offset),
                    _ => None,
                };
                self.finish_lookup(lookup, offset, ctx);
            }
        }
    }

    /// `computePullFromWhere`'s switch on ConsumeFromWhere, given the stored offset.
    fn after_read_offset(&mut self, lookup: u64, last: i64, ctx: &mut Ctx<'_>) {
        let Some(state) = self.lookups.get(&lookup).cloned() else { return };
        if last >= 0 {
            self.finish_lookup(lookup, Some(last), ctx);
            return;
        }
        if last != -1 {
            self.finish_lookup(lookup, None, ctx);
            return;
        }
        let retry = state.mq.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX);
        match self.spec.config.consume_from_where {
            ConsumeFromWhere::ConsumeFromFirstOffset => self.finish_lookup(lookup, Some(0), ctx),
            ConsumeFromWhere::ConsumeFromTimestamp if !retry => {
                let at = self
                    .spec
                    .config
                    .consume_timestamp_at()
                    .map(|d| Time::ZERO + d)
                    .unwrap_or(Time::from_micros(self.started_at.as_micros().saturating_sub(30 * 60 * 1_000_000)));
                let timestamp = wall_clock_ms(at);
                self.lookups.get_mut(&lookup).expect("present").stage = LookupStage::SearchOffset;
                let addr = self.find_broker_address_in_publish(&state.mq.broker_name);
                let request = ConsumerRequest::SearchOffsetByTimestamp {
                    topic: state.mq.topic.to_string(),
                    queue_id: state.mq.queue_id,
                    timestamp,
                };
                let timeout = self.spec.config.mq_client_api_timeout;
                self.call(addr, &state.mq.broker_name, request, Purpose::OffsetLookup { lookup }, timeout, true, ctx);
            }
            ConsumeFromWhere::ConsumeFromTimestamp => self.request_max_offset(lookup, &state.mq, ctx),
            _ if retry => self.finish_lookup(lookup, Some(0), ctx),
            _ => self.request_max_offset(lookup, &state.mq, ctx),
        }
    }

    /// `MQAdminImpl.maxOffset(mq)`: GET_MAX_OFFSET to the master.
    fn request_max_offset(&mut self, lookup: u64, mq: &MessageQueue, ctx: &mut Ctx<'_>) {
        self.lookups.get_mut(&lookup).expect("present").stage = LookupStage::MaxOffset;
        let addr = self.find_broker_address_in_publish(&mq.broker_name);
        let request = ConsumerRequest::GetMaxOffset { topic: mq.topic.to_string(), queue_id: mq.queue_id };
        let timeout = self.spec.config.mq_client_api_timeout;
        self.call(addr, &mq.broker_name, request, Purpose::OffsetLookup { lookup }, timeout, true, ctx);
    }

    fn finish_lookup(&mut self, lookup: u64, offset: Option<i64>, ctx: &mut Ctx<'_>) {
        let Some(state) = self.lookups.remove(&lookup) else { return };
        match state.waiter {
            LookupWaiter::Rebalance { run } => self.addition_done(run, lookup, state.mq, offset, ctx),
            LookupWaiter::OrderlyPull { pq_id } => self.orderly_pull_offset_ready(pq_id, offset, ctx),
        }
    }
}

/// The queues a LOCK_BATCH_MQ answer says this client holds.
pub(crate) fn lock_ok_set(result: &CallResult) -> Option<Vec<MessageQueue>> {
    match result {
        Ok(r) if r.code == ResponseCode::SUCCESS => match &r.body {
            ResponseBody::Consumer(body) => match body.as_ref() {
                ConsumerResponseBody::LockOkMqSet(set) => Some(set.clone()),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}
