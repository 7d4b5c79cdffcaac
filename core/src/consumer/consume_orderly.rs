//! `ConsumeMessageOrderlyService` (4.9.8): one queue, one consumer thread at a time, in queue order.
//!
//! A consume request takes the queue's local `messageQueueLock` (a second request for the same queue
//! waits for it, holding its thread). In CLUSTERING it then needs the queue's broker lock, held and not
//! older than 30 s; otherwise it tries to lock the queue again later (`tryLockLaterAndReconsume`: 100 ms,
//! or 10 ms inside the loop; the lock call then resubmits after 10 ms, or 3 s if it failed). Holding it,
//! the request loops: take up to `consumeMessageBatchMaxSize` messages from the head, call the listener
//! under the queue's consume lock, then:
//! * SUCCESS → commit the batch: offset = last offset + 1;
//! * SUSPEND_CURRENT_QUEUE_A_MOMENT (or an exception) → if any message is below `maxReconsumeTimes`
//!   (default: `Integer.MAX_VALUE`, i.e. forever) the batch goes back to the head with its reconsume
//!   count plus one and the queue is resubmitted after `suspendCurrentQueueTimeMillis` (1 s) — the queue is blocked
//!   meanwhile, nothing behind it is consumed; messages at the maximum go to the DLQ;
//! * the loop stops when the queue is empty, dropped, unlocked, or after 60 s of continuous consumption
//!   (then resubmitted in 10 ms).
//!
//! `lockMQPeriodically` (every 20 s, first after 1 s) renews the locks of every owned queue, one
//! LOCK_BATCH_MQ per broker; a queue left out of the answer is marked unlocked and stops being consumed.
//!
//! So two consumers never consume one queue at once: the new owner cannot lock it before the old one
//! unlocked it (at its rebalance, once its listener call returned) or its lock expired on the broker
//! (60 s), and the old one stops at its next batch once it sees the queue dropped or unlocked.
//!
//! Simplification: a message that reaches `maxReconsumeTimes` goes to the DLQ through CONSUMER_SEND_MSG_BACK
//! with delay level −1 (RocketMQ sends it with its inner producer, which the broker routes to the DLQ).

use crate::consumer::client::{timer, ConsumerClient, ConsumerTimer, Purpose, LOCK_TIMEOUT_MS, SEND_BACK_TIMEOUT_MS};
use crate::consumer::consume_concurrently::{is_success, reset_retry_topic, WorkerState};
use crate::consumer::process_queue::CachedMessage;
use crate::consumer::pull_message_service::msg_id_of;
use crate::consumer::rebalance::lock_ok_set;
use crate::consumer::remoting::CallResult;
use crate::consumer::workload::ListenerCall;
use crate::message_queue::MessageQueue;
use crate::observation::Observation;
use crate::protocol::consumer::{ConsumerRequest, ConsumerSendMsgBackRequestHeader, MessageExt, MessageModel};
use crate::time::{Duration, Time};
use crate::world::Ctx;

/// `MAX_TIME_CONSUME_CONTINUOUSLY`.
pub const MAX_TIME_CONSUME_CONTINUOUSLY: Duration = Duration::from_millis(60_000);

impl ConsumerClient {
    /// When an orderly listener call on `mq` returns (its consume lock is held until then).
    pub(crate) fn consume_lock_busy_until(&self, mq: &MessageQueue) -> Option<Time> {
        self.workers.values().find_map(|w| match w {
            WorkerState::OrderlyListening { mq: m, ends_at, .. } if m == mq => Some(*ends_at),
            _ => None,
        })
    }

    /// `ConsumeMessageOrderlyService.stopped`: its shutdown() sets it and shuts the service's scheduler
    /// down *before* waiting for the consume threads. While shutdown() waits, no lock is renewed or
    /// retried, and the delayed re-lock and re-submit tasks it would schedule are rejected
    /// (`RejectedExecutionException`), which ends the consume request that asked.
    pub(crate) fn orderly_service_stopped(&self) -> bool {
        self.executor_shutdown.is_some()
    }

    /// `submitConsumeRequestLater`: a re-submit on the service's scheduler (rejected once stopped).
    fn submit_orderly_later(&mut self, pq_id: u64, delay: Duration, ctx: &mut Ctx<'_>) {
        if !self.orderly_service_stopped() {
            ctx.set_timer(delay, timer(ConsumerTimer::OrderlySubmitLater { pq_id }));
        }
    }

    fn live_pq(&self, mq: &MessageQueue, pq_id: u64) -> bool {
        self.process_queue_table.get(mq).is_some_and(|pq| pq.id == pq_id && !pq.dropped)
    }

    /// `ConsumeRequest.run` (orderly) on `worker`.
    pub(crate) fn run_orderly_request(&mut self, worker: u32, mq: MessageQueue, pq_id: u64, ctx: &mut Ctx<'_>) {
        if self.state == crate::consumer::client::ServiceState::ShutdownAlready || !self.live_pq(&mq, pq_id) {
            return;
        }
        if let Some(holder) = self.mq_lock_holder.get(&mq) {
            if *holder != worker {
                self.workers.insert(worker, WorkerState::OrderlyBlocked { mq, pq_id });
                return;
            }
        }
        self.mq_lock_holder.insert(mq.clone(), worker);
        let now_ms = ctx.now().as_millis();
        let pq = &self.process_queue_table[&mq];
        let clustering = self.spec.config.message_model == MessageModel::Clustering;
        if !clustering || (pq.locked && !pq.is_lock_expired(now_ms)) {
            self.orderly_loop(worker, mq, pq_id, ctx.now(), ctx);
        } else {
            self.try_lock_later_and_reconsume(pq_id, Duration::from_millis(100), ctx);
            self.exit_orderly(worker, &mq, ctx);
        }
    }

    /// The `for (continueConsume = true; ...)` loop, up to the next listener call.
    fn orderly_loop(&mut self, worker: u32, mq: MessageQueue, pq_id: u64, loop_began: Time, ctx: &mut Ctx<'_>) {
        let clustering = self.spec.config.message_model == MessageModel::Clustering;
        let now_ms = ctx.now().as_millis();
        if !self.live_pq(&mq, pq_id) {
            self.exit_orderly(worker, &mq, ctx);
            return;
        }
        let pq = &self.process_queue_table[&mq];
        if clustering && (!pq.locked || pq.is_lock_expired(now_ms)) {
            self.try_lock_later_and_reconsume(pq_id, Duration::from_millis(10), ctx);
            self.exit_orderly(worker, &mq, ctx);
            return;
        }
        if ctx.now() - loop_began > MAX_TIME_CONSUME_CONTINUOUSLY {
            self.submit_orderly_later(pq_id, Duration::from_millis(10), ctx);
            self.exit_orderly(worker, &mq, ctx);
            return;
        }
        let batch = self.spec.config.consume_message_batch_max_size.max(1);
        let pq = self.process_queue_table.get_mut(&mq).expect("live");
        let msgs = pq.take_messages(batch, now_ms);
        if msgs.is_empty() {
            self.exit_orderly(worker, &mq, ctx);
            return;
        }
        let group = self.spec.group.clone();
        let mut exts: Vec<MessageExt> = msgs.iter().map(|m| MessageExt::clone(&m.message)).collect();
        for (ext, cached) in exts.iter_mut().zip(&msgs) {
            ext.reconsume_times = cached.reconsume_times;
            reset_retry_topic(ext, &group);
        }
        self.trace_before(&exts, ctx);
        let call = self.app.consume(&exts, ctx.now(), ctx.workload_rng());
        for ext in &exts {
            ctx.observe(Observation::ConsumeStarted {
                group: group.clone(),
                client_id: self.client_id.clone(),
                queue: mq.clone(),
                queue_offset: ext.queue_offset,
                msg_id: msg_id_of(ext),
                reconsume_times: ext.reconsume_times,
            });
        }
        let ends_at = ctx.now() + call.service_time;
        ctx.set_timer(call.service_time, timer(ConsumerTimer::ConsumeDone { worker }));
        self.workers.insert(worker, WorkerState::OrderlyListening { mq, pq_id, msgs, call, loop_began, ends_at });
    }

    /// `processConsumeResult` (orderly, autoCommit) and the loop's next turn.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn process_orderly_result(
        &mut self,
        worker: u32,
        mq: MessageQueue,
        pq_id: u64,
        mut msgs: Vec<CachedMessage>,
        call: ListenerCall,
        loop_began: Time,
        ctx: &mut Ctx<'_>,
    ) {
        let dropped = !self.live_pq(&mq, pq_id);
        let group = self.spec.group.clone();
        let exts: Vec<_> = msgs
            .iter()
            .map(|m| {
                let mut ext = MessageExt::clone(&m.message);
                ext.reconsume_times = m.reconsume_times;
                reset_retry_topic(&mut ext, &group);
                ext
            })
            .collect();
        self.finish_listener_call(&mq, &exts, &call, dropped, ctx);
        let Some(pq) = self.process_queue_table.get_mut(&mq).filter(|pq| pq.id == pq_id) else {
            self.exit_orderly(worker, &mq, ctx);
            return;
        };
        let mut commit_offset = -1;
        let mut continue_consume = true;
        if is_success(&call.outcome) {
            commit_offset = pq.commit();
        } else {
            // checkReconsumeTimes.
            let max = self.spec.config.effective_max_reconsume_times(true);
            let mut suspend = false;
            let mut to_dlq = Vec::new();
            for msg in &mut msgs {
                if msg.reconsume_times >= max {
                    to_dlq.push(MessageExt::clone(&msg.message));
                } else {
                    suspend = true;
                    msg.reconsume_times += 1;
                }
            }
            if suspend {
                pq.make_message_to_consume_again(&msgs);
                self.submit_orderly_later(pq_id, self.spec.config.suspend_time(), ctx);
                continue_consume = false;
            } else {
                commit_offset = pq.commit();
            }
            for msg in to_dlq {
                let header = ConsumerSendMsgBackRequestHeader {
                    offset: msg.commit_log_offset,
                    group: self.spec.group.clone(),
                    delay_level: -1,
                    origin_msg_id: msg_id_of(&msg),
                    origin_topic: msg.topic.clone(),
                    unit_mode: false,
                    max_reconsume_times: Some(max),
                };
                let addr = self.find_broker_address_in_publish(&mq.broker_name);
                let request = ConsumerRequest::ConsumerSendMsgBack(header);
                self.call(addr, &mq.broker_name, request, Purpose::Other, SEND_BACK_TIMEOUT_MS, true, ctx);
            }
        }
        if commit_offset >= 0 && !dropped {
            self.update_offset(&mq, commit_offset, false, ctx);
        }
        self.workers.remove(&worker);
        if continue_consume {
            self.orderly_loop(worker, mq, pq_id, loop_began, ctx);
        } else {
            self.exit_orderly(worker, &mq, ctx);
        }
    }

    /// Leave the queue's `messageQueueLock`: a worker waiting for it goes on; this worker is free.
    fn exit_orderly(&mut self, worker: u32, mq: &MessageQueue, ctx: &mut Ctx<'_>) {
        if self.mq_lock_holder.get(mq) == Some(&worker) {
            self.mq_lock_holder.remove(mq);
        }
        let waiting = self.workers.iter().find_map(|(w, state)| match state {
            WorkerState::OrderlyBlocked { mq: m, pq_id } if m == mq && *w != worker => Some((*w, *pq_id)),
            _ => None,
        });
        self.release_worker(worker, ctx);
        if let Some((waiter, pq_id)) = waiting {
            self.workers.remove(&waiter);
            self.run_orderly_request(waiter, mq.clone(), pq_id, ctx);
            if !self.workers.contains_key(&waiter) {
                self.release_worker(waiter, ctx);
            }
        }
    }

    /// `submitConsumeRequestLater(pq, mq, delay)` fired.
    pub(crate) fn submit_orderly_request(&mut self, pq_id: u64, ctx: &mut Ctx<'_>) {
        if let Some(mq) = self.mq_of(pq_id) {
            self.submit_consume_request(
                crate::consumer::consume_concurrently::ConsumeRequest::Orderly { mq, pq_id },
                ctx,
            );
        }
    }

    /// `tryLockLaterAndReconsume`.
    fn try_lock_later_and_reconsume(&mut self, pq_id: u64, delay: Duration, ctx: &mut Ctx<'_>) {
        if !self.orderly_service_stopped() {
            ctx.set_timer(delay, timer(ConsumerTimer::TryLockLater { pq_id }));
        }
    }

    /// `lockOneMQ` for a delayed re-lock. A re-lock scheduled before shutdown() still runs (the
    /// scheduler's default policy), but `lockOneMQ` refuses once stopped, and the re-submit it then
    /// schedules is rejected: nothing happens.
    pub(crate) fn try_lock_later_fired(&mut self, pq_id: u64, ctx: &mut Ctx<'_>) {
        if self.orderly_service_stopped() {
            return;
        }
        let Some(mq) = self.mq_of(pq_id) else { return };
        let addr = self.find_broker_address_in_subscribe(&mq.broker_name, true).map(|(a, _)| a);
        let request = ConsumerRequest::LockBatchMq {
            consumer_group: self.spec.group.clone(),
            client_id: self.client_id.clone(),
            mq_set: vec![mq.clone()],
        };
        self.call(addr, &mq.broker_name, request, Purpose::LockOne { pq_id }, LOCK_TIMEOUT_MS, true, ctx);
    }

    pub(crate) fn on_lock_one_result(&mut self, pq_id: u64, result: CallResult, ctx: &mut Ctx<'_>) {
        let locked_set = lock_ok_set(&result).unwrap_or_default();
        self.mark_locked(&locked_set, &[], ctx);
        let Some(mq) = self.mq_of(pq_id) else { return };
        let delay = if locked_set.contains(&mq) { Duration::from_millis(10) } else { Duration::from_millis(3_000) };
        self.submit_orderly_later(pq_id, delay, ctx);
    }

    /// `lockAll`: renew the locks of every owned queue, one batch per broker.
    pub(crate) fn lock_all(&mut self, ctx: &mut Ctx<'_>) {
        let mut by_broker: std::collections::BTreeMap<String, Vec<MessageQueue>> = std::collections::BTreeMap::new();
        for mq in self.process_queue_table.keys() {
            by_broker.entry(mq.broker_name.to_string()).or_default().push(mq.clone());
        }
        for (broker, mqs) in by_broker {
            let Some((addr, _)) = self.find_broker_address_in_subscribe(&broker, true) else { continue };
            let request = ConsumerRequest::LockBatchMq {
                consumer_group: self.spec.group.clone(),
                client_id: self.client_id.clone(),
                mq_set: mqs.clone(),
            };
            self.call(Some(addr.clone()), &addr, request, Purpose::LockAll { mqs }, LOCK_TIMEOUT_MS, true, ctx);
        }
    }

    pub(crate) fn on_lock_all_result(&mut self, mqs: Vec<MessageQueue>, result: CallResult, ctx: &mut Ctx<'_>) {
        let Some(locked) = lock_ok_set(&result) else { return };
        let refused: Vec<MessageQueue> = mqs.into_iter().filter(|mq| !locked.contains(mq)).collect();
        self.mark_locked(&locked, &refused, ctx);
    }

    /// Set the lock flags after a LOCK_BATCH_MQ answer.
    fn mark_locked(&mut self, locked: &[MessageQueue], refused: &[MessageQueue], ctx: &mut Ctx<'_>) {
        let now_ms = ctx.now().as_millis();
        for mq in locked {
            if let Some(pq) = self.process_queue_table.get_mut(mq) {
                let was = pq.locked;
                pq.locked = true;
                pq.last_lock_timestamp = now_ms;
                if !was {
                    ctx.observe(Observation::QueueLockChanged {
                        group: self.spec.group.clone(),
                        client_id: self.client_id.clone(),
                        queue: mq.clone(),
                        locked: true,
                    });
                }
            }
        }
        for mq in refused {
            if let Some(pq) = self.process_queue_table.get_mut(mq) {
                if pq.locked {
                    pq.locked = false;
                    ctx.observe(Observation::QueueLockChanged {
                        group: self.spec.group.clone(),
                        client_id: self.client_id.clone(),
                        queue: mq.clone(),
                        locked: false,
                    });
                }
            }
        }
    }
}
