//! `DefaultLitePullConsumer` in subscribe mode (4.9.8 `DefaultLitePullConsumerImpl`): the application
//! polls, commits and seeks; pull tasks fill a cache in the background.
//!
//! The same rebalance as the push consumer assigns queues (`RebalanceLitePullImpl`: no pull-expiry drop,
//! no heartbeat on change); each assigned queue gets a pull task that pulls **synchronously** (suspend
//! flag, `brokerSuspendMaxTimeMillis` 20 s, `consumerTimeoutMillisWhenSuspend` 30 s, the expression sent
//! with the request) up to `pullBatchSize` (10) messages and appends them to the consume-request cache.
//! Flow control before each pull: cache × batch above `pullThresholdForAll` (10 000), more than
//! `pullThresholdForQueue` cached in the queue, its size or its span (`consumeMaxSpan`) → again in 50 ms.
//!
//! `poll(timeout)`: with `autoCommit` (default) first `maybeAutoCommit` — every
//! `autoCommitIntervalMillis` (5 s) the consume offsets of every assigned queue go to the offset store —
//! then the first cached request of a live queue is returned and its messages **count as consumed at
//! once**: the queue's consume offset moves past them before the application has processed anything.
//! The offset store persists to the broker every 5 s, as for the push consumer. Without autoCommit the
//! application commits with `commitSync()` after processing (or before it: the commit-before-process
//! anti-pattern). `seek(mq, offset)` drops the queue's cached messages and restarts its task there.
//!
//! The application here is a loop: poll, process the batch (the workload's service times, one after the
//! other on one thread), poll again. Failed messages are only reported: a pull consumer has no retry topic.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;

use serde::Serialize;

use crate::consumer::client::{
    timer, ConsumerClient, ConsumerTimer, PULL_TIME_DELAY_MILLS_WHEN_BROKER_FLOW_CONTROL,
    PULL_TIME_DELAY_MILLS_WHEN_CACHE_FLOW_CONTROL,
};
use crate::consumer::pull_message_service::{filter_found, msg_id_of, pull_outcome, PullOutcome, PullStatus};
use crate::consumer::remoting::CallResult;
use crate::consumer::workload::ListenerCall;
use crate::message_queue::MessageQueue;
use crate::observation::Observation;
use crate::protocol::consumer::{pull_sys_flag, ConsumerRequest, MessageExt, PullMessageRequestHeader};
use crate::protocol::ResponseCode;
use crate::time::Duration;
use crate::world::Ctx;

/// Where `seek` goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum SeekTarget {
    /// `seekToBegin`: the queue's min offset.
    Begin,
    /// `seekToEnd`: the queue's max offset.
    End,
    Offset(i64),
}

/// `PULL_TIME_DELAY_MILLS_WHEN_PAUSE`.
pub const PULL_TIME_DELAY_MILLS_WHEN_PAUSE: Duration = Duration::from_millis(1_000);

/// `AssignedMessageQueue`'s entry for one queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AssignedQueue {
    pub pq_id: u64,
    pub pull_offset: i64,
    pub consume_offset: i64,
    pub seek_offset: i64,
    pub paused: bool,
}

/// A batch in the consume-request cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedRequest {
    pub mq: MessageQueue,
    pub pq_id: u64,
    pub msgs: Vec<MessageExt>,
}

/// The lite pull consumer's own state (empty for a push consumer).
#[derive(Clone, Debug, Default)]
pub struct LitePullState {
    pub assigned: BTreeMap<MessageQueue, AssignedQueue>,
    /// `taskTable`: queue → current task id (a seek replaces the task).
    pub tasks: BTreeMap<MessageQueue, u64>,
    next_task: u64,
    pub cache: VecDeque<CachedRequest>,
    next_auto_commit_deadline: u64,
    waiting_poll: Option<u64>,
    next_poll: u64,
    processing: Option<(MessageQueue, Vec<MessageExt>, ListenerCall)>,
    pub polls: u64,
    pub messages_polled: u64,
}

impl ConsumerClient {
    /// The application starts its poll loop when the consumer starts.
    pub(crate) fn lite_start(&mut self, ctx: &mut Ctx<'_>) {
        self.lite_poll(ctx);
    }

    /// `updateAssignQueueAndStartPullTask`.
    pub(crate) fn lite_assignment_changed(
        &mut self,
        topic: &str,
        allocated: &BTreeSet<MessageQueue>,
        ctx: &mut Ctx<'_>,
    ) {
        let lite = &mut self.lite;
        lite.assigned.retain(|mq, _| &*mq.topic != topic || allocated.contains(mq));
        lite.tasks.retain(|mq, _| &*mq.topic != topic || allocated.contains(mq));
        let mut start = Vec::new();
        for mq in allocated {
            let Some(pq) = self.process_queue_table.get(mq) else { continue };
            let pq_id = pq.id;
            let entry = lite.assigned.entry(mq.clone()).or_insert(AssignedQueue {
                pq_id,
                pull_offset: -1,
                consume_offset: -1,
                seek_offset: -1,
                paused: false,
            });
            entry.pq_id = pq_id;
            if !lite.tasks.contains_key(mq) {
                let task = lite.next_task;
                lite.next_task += 1;
                lite.tasks.insert(mq.clone(), task);
                start.push((pq_id, task));
            }
        }
        for (pq_id, task) in start {
            ctx.set_timer(Duration::ZERO, timer(ConsumerTimer::LitePullTask { pq_id, task }));
        }
    }

    /// A queue left the assignment (its process queue was removed).
    pub(crate) fn lite_queue_removed(&mut self, mq: &MessageQueue) {
        self.lite.assigned.remove(mq);
        self.lite.tasks.remove(mq);
        self.lite.cache.retain(|r| &r.mq != mq);
    }

    /// `PullTaskImpl.run`.
    pub(crate) fn lite_pull_task(&mut self, pq_id: u64, task: u64, ctx: &mut Ctx<'_>) {
        let Some(mq) = self.mq_of(pq_id) else { return };
        if self.lite.tasks.get(&mq) != Some(&task) || !self.is_running() {
            return;
        }

        let Some(assigned) = self.lite.assigned.get(&mq).cloned() else { return };
        if assigned.paused {
            ctx.set_timer(PULL_TIME_DELAY_MILLS_WHEN_PAUSE, timer(ConsumerTimer::LitePullTask { pq_id, task }));
            return;
        }
        let config = self.spec.config.clone();
        let pq = &self.process_queue_table[&mq];
        if pq.dropped {
            return;
        }
        let batch = u64::from(config.pull_batch_size);
        let flow_controlled = self.lite.cache.len() as u64 * batch > config.pull_threshold_for_all
            || pq.msg_count > u64::from(config.pull_threshold_for_queue)
            || pq.msg_size_in_mib() > u64::from(config.pull_threshold_size_for_queue)
            || pq.max_span() > i64::from(config.consume_max_span);
        if flow_controlled {
            self.stats.flow_controlled += 1;
            ctx.set_timer(
                PULL_TIME_DELAY_MILLS_WHEN_CACHE_FLOW_CONTROL,
                timer(ConsumerTimer::LitePullTask { pq_id, task }),
            );
            return;
        }
        // nextPullOffset.
        let offset = if assigned.seek_offset != -1 {
            let entry = self.lite.assigned.get_mut(&mq).expect("assigned");
            entry.consume_offset = assigned.seek_offset;
            entry.seek_offset = -1;
            assigned.seek_offset
        } else if assigned.pull_offset != -1 {
            assigned.pull_offset
        } else {
            // fetchConsumeOffset: what the rebalance computed for the queue.
            pq.next_offset
        };
        let Some(subscription) = self.subscription_inner.get(&*mq.topic).cloned() else { return };
        let Some((addr, _)) = self.find_broker_address_in_subscribe(&mq.broker_name, false) else {
            self.request_route_update(mq.topic.to_string(), false, ctx);
            let delay = Duration::from_millis(config.pull_time_delay_mills_when_exception);
            ctx.set_timer(delay, timer(ConsumerTimer::LitePullTask { pq_id, task }));
            return;
        };
        let header = PullMessageRequestHeader {
            consumer_group: self.spec.group.clone(),
            topic: mq.topic.to_string(),
            queue_id: mq.queue_id,
            queue_offset: offset,
            max_msg_nums: config.pull_batch_size as i32,
            sys_flag: pull_sys_flag::build(false, true, true, false) | pull_sys_flag::FLAG_LITE_PULL_MESSAGE,
            commit_offset: 0,
            suspend_timeout_millis: config.broker_suspend_max_time_millis as i64,
            subscription: Some(subscription.sub_string.clone()),
            sub_version: 0,
            expression_type: subscription.expression_type.clone(),
        };
        self.stats.pulls_sent += 1;
        let request = ConsumerRequest::PullMessage(header);
        let timeout = config.consumer_timeout_millis_when_suspend;
        let purpose = crate::consumer::client::Purpose::LitePull { pq_id, task };
        self.call(Some(addr), &mq.broker_name, request, purpose, timeout, true, ctx);
    }

    /// A lite pull task's pull returned.
    pub(crate) fn lite_pull_result(&mut self, pq_id: u64, task: u64, result: CallResult, ctx: &mut Ctx<'_>) {
        let Some(mq) = self.mq_of(pq_id) else { return };
        if self.lite.tasks.get(&mq) != Some(&task) || self.process_queue_table[&mq].dropped {
            return;
        }
        let mut delay = Duration::ZERO;
        match pull_outcome(result) {
            PullOutcome::Result { status, body } => {
                let seeking = self.lite.assigned.get(&mq).is_some_and(|a| a.seek_offset != -1);
                if status == PullStatus::Found {
                    self.stats.pulls_found += 1;
                    let tags = self.subscription_inner.get(&*mq.topic).map(|s| s.tags_set.clone()).unwrap_or_default();
                    let found = filter_found(body.messages, &tags, body.min_offset, body.max_offset);
                    if !found.is_empty() && !seeking {
                        self.stats.messages_pulled += found.len() as u64;
                        let pq = self.process_queue_table.get_mut(&mq).expect("checked");
                        let shared: Vec<Rc<MessageExt>> = found.iter().cloned().map(Rc::new).collect();
                        pq.put_message(&shared);
                        ctx.observe(Observation::MessagesPulled {
                            group: self.spec.group.clone(),
                            client_id: self.client_id.clone(),
                            queue: mq.clone(),
                            messages: found.iter().map(|m| (m.queue_offset, msg_id_of(m))).collect(),
                        });
                        self.lite.cache.push_back(CachedRequest { mq: mq.clone(), pq_id, msgs: found });
                        self.lite_wake_poll(ctx);
                    }
                } else {
                    self.stats.pulls_no_new_msg += 1;
                }
                if !seeking {
                    if let Some(entry) = self.lite.assigned.get_mut(&mq) {
                        entry.pull_offset = body.next_begin_offset;
                    }
                }
            }
            PullOutcome::BrokerError(code) => {
                self.stats.pulls_failed += 1;
                delay = if code == ResponseCode::FLOW_CONTROL {
                    PULL_TIME_DELAY_MILLS_WHEN_BROKER_FLOW_CONTROL
                } else {
                    Duration::from_millis(self.spec.config.pull_time_delay_mills_when_exception)
                };
            }
            PullOutcome::RemotingError => {
                self.stats.pulls_failed += 1;
                delay = Duration::from_millis(self.spec.config.pull_time_delay_mills_when_exception);
            }
        }
        ctx.set_timer(delay, timer(ConsumerTimer::LitePullTask { pq_id, task }));
    }

    /// `seek`, `seekToBegin`, `seekToEnd` on every assigned queue of `topic` (an operator action on the
    /// application). Begin and end ask the broker for the queue's min or max offset first.
    pub fn on_seek(&mut self, topic: &str, to: SeekTarget, ctx: &mut Ctx<'_>) {
        if self.spec.kind != crate::consumer::client::ConsumerKind::LitePull {
            return;
        }
        let queues: Vec<MessageQueue> = self.lite.assigned.keys().filter(|mq| &*mq.topic == topic).cloned().collect();
        for mq in queues {
            let Some(pq_id) = self.process_queue_table.get(&mq).map(|pq| pq.id) else { continue };
            let request = match to {
                SeekTarget::Offset(offset) => {
                    self.seek(&mq, offset, ctx);
                    continue;
                }
                SeekTarget::Begin => {
                    ConsumerRequest::GetMinOffset { topic: mq.topic.to_string(), queue_id: mq.queue_id }
                }
                SeekTarget::End => ConsumerRequest::GetMaxOffset { topic: mq.topic.to_string(), queue_id: mq.queue_id },
            };
            let addr = self.find_broker_address_in_publish(&mq.broker_name);
            let timeout = self.spec.config.mq_client_api_timeout;
            let purpose = crate::consumer::client::Purpose::Seek { pq_id };
            self.call(addr, &mq.broker_name, request, purpose, timeout, true, ctx);
        }
    }

    pub(crate) fn on_seek_offset(&mut self, pq_id: u64, result: CallResult, ctx: &mut Ctx<'_>) {
        let Some(mq) = self.mq_of(pq_id) else { return };
        if let Ok(response) = result {
            if let crate::protocol::ResponseBody::Consumer(body) = response.body {
                if let crate::protocol::consumer::ConsumerResponseBody::Offset(offset) = *body {
                    self.seek(&mq, offset, ctx);
                }
            }
        }
    }

    /// `seek(mq, offset)`: drop the queue's cached messages, replace its pull task, pull from `offset`.
    fn seek(&mut self, mq: &MessageQueue, offset: i64, ctx: &mut Ctx<'_>) {
        let Some(pq) = self.process_queue_table.get_mut(mq) else { return };
        if offset < 0 {
            return;
        }
        pq.clear();
        let pq_id = pq.id;
        self.lite.cache.retain(|r| &r.mq != mq);
        let Some(entry) = self.lite.assigned.get_mut(mq) else { return };
        entry.seek_offset = offset;
        let task = self.lite.next_task;
        self.lite.next_task += 1;
        self.lite.tasks.insert(mq.clone(), task);
        ctx.observe(Observation::ConsumeOffsetUpdated {
            group: self.spec.group.clone(),
            client_id: self.client_id.clone(),
            queue: mq.clone(),
            offset,
        });
        ctx.set_timer(Duration::ZERO, timer(ConsumerTimer::LitePullTask { pq_id, task }));
    }

    /// `maybeAutoCommit` / `commitAll`: consume offsets of live assigned queues into the offset store.
    fn lite_commit_all(&mut self, ctx: &mut Ctx<'_>) {
        let entries: Vec<(MessageQueue, i64)> =
            self.lite.assigned.iter().map(|(mq, a)| (mq.clone(), a.consume_offset)).collect();
        for (mq, offset) in entries {
            let live = self.process_queue_table.get(&mq).is_some_and(|pq| !pq.dropped);
            if offset != -1 && live {
                self.update_offset(&mq, offset, false, ctx);
            }
        }
    }

    /// The application calls `poll(pollTimeoutMillis)`.
    fn lite_poll(&mut self, ctx: &mut Ctx<'_>) {
        if !matches!(
            self.state,
            crate::consumer::client::ServiceState::Starting | crate::consumer::client::ServiceState::Running
        ) {
            return;
        }
        self.lite.polls += 1;
        if self.spec.config.auto_commit {
            let now_ms = ctx.now().as_millis();
            if now_ms >= self.lite.next_auto_commit_deadline {
                self.lite_commit_all(ctx);
                self.lite.next_auto_commit_deadline = now_ms + self.spec.config.auto_commit_interval_millis;
            }
        }
        if !self.lite_take_request(ctx) {
            let poll = self.lite.next_poll;
            self.lite.next_poll += 1;
            self.lite.waiting_poll = Some(poll);
            let timeout = Duration::from_millis(self.spec.config.poll_timeout_millis);
            ctx.set_timer(timeout, timer(ConsumerTimer::AppPollTimeout { poll }));
        }
    }

    /// A request arrived in the cache: a waiting poll returns it.
    fn lite_wake_poll(&mut self, ctx: &mut Ctx<'_>) {
        if self.lite.waiting_poll.is_some() && self.lite_take_request(ctx) {
            self.lite.waiting_poll = None;
        }
    }

    /// The poll's wait ran out: it returns nothing and the application polls again.
    pub(crate) fn lite_poll_timeout(&mut self, poll: u64, ctx: &mut Ctx<'_>) {
        if self.lite.waiting_poll == Some(poll) {
            self.lite.waiting_poll = None;
            self.lite_poll(ctx);
        }
    }

    /// Take the first cached request of a live queue; the application starts processing it.
    fn lite_take_request(&mut self, ctx: &mut Ctx<'_>) -> bool {
        while let Some(request) = self.lite.cache.pop_front() {
            let live =
                self.process_queue_table.get(&request.mq).is_some_and(|pq| pq.id == request.pq_id && !pq.dropped);
            if !live {
                continue;
            }
            let offsets: Vec<i64> = request.msgs.iter().map(|m| m.queue_offset).collect();
            let pq = self.process_queue_table.get_mut(&request.mq).expect("live");
            let offset = pq.remove_message(&offsets, ctx.now().as_millis());
            if let Some(entry) = self.lite.assigned.get_mut(&request.mq) {
                entry.consume_offset = offset;
            }
            self.lite.messages_polled += request.msgs.len() as u64;
            ctx.observe(Observation::MessagesPolled {
                group: self.spec.group.clone(),
                client_id: self.client_id.clone(),
                queue: request.mq.clone(),
                messages: request.msgs.iter().map(|m| (m.queue_offset, msg_id_of(m))).collect(),
            });
            let manual = !self.spec.config.auto_commit;
            if manual && self.spec.workload.commit_before_process {
                self.lite_commit_all(ctx);
            }
            for msg in &request.msgs {
                ctx.observe(Observation::ConsumeStarted {
                    group: self.spec.group.clone(),
                    client_id: self.client_id.clone(),
                    queue: request.mq.clone(),
                    queue_offset: msg.queue_offset,
                    msg_id: msg_id_of(msg),
                    reconsume_times: msg.reconsume_times,
                });
            }
            let mut call = self.app.consume(&request.msgs, ctx.now(), ctx.workload_rng());
            if let crate::consumer::workload::ListenerOutcome::AckedBeforeProcessing { work } = &call.outcome {
                // The application's own thread does the work: the poll loop waits for it.
                let total: u64 = work.iter().map(|(d, _)| d.as_micros()).sum();
                let fails = work.iter().any(|(_, f)| *f);
                call = ListenerCall {
                    service_time: Duration::from_micros(total),
                    outcome: if fails {
                        crate::consumer::workload::ListenerOutcome::ReconsumeLater
                    } else {
                        crate::consumer::workload::ListenerOutcome::Success
                    },
                };
            }
            let service = call.service_time;
            self.lite.processing = Some((request.mq, request.msgs, call));
            ctx.set_timer(service, timer(ConsumerTimer::AppBatchDone));
            return true;
        }
        false
    }

    /// The application processed its batch: commit if manual, then poll again.
    pub(crate) fn lite_batch_done(&mut self, ctx: &mut Ctx<'_>) {
        let Some((mq, msgs, call)) = self.lite.processing.take() else { return };
        self.finish_listener_call(&mq, &msgs, &call, false, ctx);
        if !self.spec.config.auto_commit && !self.spec.workload.commit_before_process {
            self.lite_commit_all(ctx);
        }
        self.lite_poll(ctx);
    }
}
