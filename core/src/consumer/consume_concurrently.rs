//! The consume thread pool and `ConsumeMessageConcurrentlyService` (4.9.8).
//!
//! `consumeThreadMin` workers (the pool's queue is unbounded, so `consumeThreadMax` never matters) run
//! consume requests in submission order; a worker is busy for the listener's service time (from the
//! workload) and, in clustering, for the synchronous send-backs that follow a failure.
//!
//! Pulled messages are cut into requests of `consumeMessageBatchMaxSize`. When a listener call returns:
//! * if the process queue was dropped meanwhile the result is **discarded** (no send-back, no offset) —
//!   the queue's next owner will deliver these messages again;
//! * CONSUME_SUCCESS: every message is done; RECONSUME_LATER, an exception or a null result: every message
//!   failed. BROADCASTING drops failures (no retry, no DLQ). CLUSTERING sends each failed message back
//!   (CONSUMER_SEND_MSG_BACK, 5 s timeout, delay level 0 = "let the broker pick 3 + reconsumeTimes"); one
//!   whose send-back fails gets `reconsumeTimes + 1`, stays in the process queue and is resubmitted
//!   locally 5 s later;
//! * the finished messages leave the process queue and the offset becomes the smallest offset still
//!   cached (`ProcessQueue.removeMessage`), increase-only.
//!
//! The consume-timeout sweep runs every `consumeTimeout` minutes: a message at the head of a queue whose
//! consumption started more than `consumeTimeout` ago is sent back with delay level 3 and removed.

use std::borrow::Borrow;
use std::collections::VecDeque;
use std::rc::Rc;

use crate::broker::store::properties::{MessageProperties, PROPERTY_RETRY_TOPIC};
use crate::consumer::client::{timer, ConsumerClient, ConsumerTimer, Purpose, SEND_BACK_TIMEOUT_MS};
use crate::consumer::process_queue::CachedMessage;
use crate::consumer::pull_message_service::msg_id_of;
use crate::consumer::remoting::CallResult;
use crate::consumer::workload::{ListenerCall, ListenerOutcome};
use crate::message_queue::MessageQueue;
use crate::observation::{ConsumeOutcome, Observation};
use crate::protocol::consumer::{ConsumerRequest, ConsumerSendMsgBackRequestHeader, MessageExt, MessageModel};
use crate::protocol::ResponseCode;
use crate::time::{Duration, Time};
use crate::world::Ctx;

/// `submitConsumeRequestLater`'s delay.
pub const SUBMIT_LATER_DELAY: Duration = Duration::from_millis(5_000);

/// A task for the consume pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsumeRequest {
    /// `ConsumeMessageConcurrentlyService.ConsumeRequest`.
    /// The messages are shared with the process queue until a worker takes them (see `CachedMessage`),
    /// and the queue is named by its process queue's id alone: a backlog queues thousands of these,
    /// and each is copied by every checkpoint of the run.
    Concurrent { pq_id: u64, msgs: Vec<Rc<MessageExt>> },
    /// `ConsumeMessageOrderlyService.ConsumeRequest`.
    Orderly { mq: MessageQueue, pq_id: u64 },
}

/// What a busy worker is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkerState {
    /// A concurrent listener call in progress.
    /// The messages stay shared with the process queue; a listener that changes one (`reset_retry_topic`)
    /// changes its own copy.
    Listening { mq: MessageQueue, pq_id: u64, msgs: Vec<Rc<MessageExt>>, call: ListenerCall },
    /// A forwarding listener (`forward.rs`) sending the copy of `msgs[next]` (its call's outcome turns to
    /// RECONSUME_LATER when a send fails).
    Forwarding { mq: MessageQueue, pq_id: u64, msgs: Vec<Rc<MessageExt>>, call: ListenerCall, next: usize },
    /// Sending failed messages back, one after the other.
    SendingBack {
        mq: MessageQueue,
        pq_id: u64,
        msgs: Vec<Rc<MessageExt>>,
        pending: VecDeque<usize>,
        failed: Vec<usize>,
    },
    /// An orderly listener call in progress (the queue's consume lock is held until `ends_at`).
    OrderlyListening {
        mq: MessageQueue,
        pq_id: u64,
        msgs: Vec<CachedMessage>,
        call: ListenerCall,
        loop_began: Time,
        ends_at: Time,
    },
    /// A concurrent call whose result is being processed in this instant: the worker is busy until it
    /// is released or sends messages back. Never seen between two events.
    Finishing,
    /// Waiting for the queue's `messageQueueLock` (another worker is consuming it).
    OrderlyBlocked { mq: MessageQueue, pq_id: u64 },
}

/// Whether `msg` is in `group`'s retry topic (compared piecewise: building the retry topic's name for
/// every consumed message cost a format).
pub fn is_in_retry_topic(msg: &MessageExt, group: &str) -> bool {
    msg.topic.strip_prefix(crate::broker::delay_level::RETRY_GROUP_TOPIC_PREFIX) == Some(group)
}

/// `resetRetryAndNamespace`: a message of the group's retry topic shows its original topic.
pub fn reset_retry_topic(msg: &mut MessageExt, group: &str) {
    if is_in_retry_topic(msg, group) {
        if let Some(topic) = MessageProperties::from_properties_string(&msg.properties).get(PROPERTY_RETRY_TOPIC) {
            msg.topic = topic.to_string();
        }
    }
}

fn consume_outcome(outcome: &ListenerOutcome) -> ConsumeOutcome {
    match outcome {
        ListenerOutcome::Success => ConsumeOutcome::Success,
        ListenerOutcome::ReconsumeLater => ConsumeOutcome::ReconsumeLater,
        ListenerOutcome::Exception => ConsumeOutcome::Exception,
        ListenerOutcome::DuplicateSkipped => ConsumeOutcome::DuplicateSkipped,
        ListenerOutcome::AckedBeforeProcessing { .. } => ConsumeOutcome::AckedBeforeProcessing,
    }
}

/// Whether the listener's answer counts as CONSUME_SUCCESS / SUCCESS.
pub fn is_success(outcome: &ListenerOutcome) -> bool {
    matches!(
        outcome,
        ListenerOutcome::Success | ListenerOutcome::DuplicateSkipped | ListenerOutcome::AckedBeforeProcessing { .. }
    )
}

impl ConsumerClient {
    /// `submitConsumeRequest` of the configured service.
    pub(crate) fn submit_to_consume_service(
        &mut self,
        msgs: Vec<Rc<MessageExt>>,
        mq: &MessageQueue,
        pq_id: u64,
        dispatch_to_consume: bool,
        ctx: &mut Ctx<'_>,
    ) {
        if self.is_orderly() {
            if dispatch_to_consume {
                self.submit_consume_request(ConsumeRequest::Orderly { mq: mq.clone(), pq_id }, ctx);
            }
            return;
        }
        let batch = self.spec.config.consume_message_batch_max_size.max(1) as usize;
        for chunk in msgs.chunks(batch) {
            let request = ConsumeRequest::Concurrent { pq_id, msgs: chunk.to_vec() };
            self.submit_consume_request(request, ctx);
        }
    }

    /// `consumeExecutor.submit`: a free worker takes it now, else it waits in the queue.
    pub(crate) fn submit_consume_request(&mut self, request: ConsumeRequest, ctx: &mut Ctx<'_>) {
        if self.executor_shutdown.is_some() {
            // RejectedExecutionException: the messages stay cached and unconsumed until the queue is
            // dropped; their next owner consumes them.
            return;
        }
        match self.free_worker_id() {
            Some(worker) => self.run_consume_request(worker, request, ctx),
            None => self.executor_queue.push_back(request),
        }
    }

    fn free_worker_id(&self) -> Option<u32> {
        (0..self.spec.config.consume_thread_min.max(1)).find(|w| !self.workers.contains_key(w))
    }

    /// A worker is free again: it takes the next queued request.
    pub(crate) fn release_worker(&mut self, worker: u32, ctx: &mut Ctx<'_>) {
        self.workers.remove(&worker);
        while !self.workers.contains_key(&worker) {
            let Some(next) = self.executor_queue.pop_front() else { break };
            self.run_consume_request(worker, next, ctx);
        }
        self.on_consume_thread_idle(ctx);
    }

    /// `ConsumeRequest.run` on `worker`.
    fn run_consume_request(&mut self, worker: u32, request: ConsumeRequest, ctx: &mut Ctx<'_>) {
        match request {
            ConsumeRequest::Orderly { mq, pq_id } => self.run_orderly_request(worker, mq, pq_id, ctx),
            ConsumeRequest::Concurrent { pq_id, mut msgs } => {
                if self.state == crate::consumer::client::ServiceState::ShutdownAlready {
                    return;
                }
                // A process queue removed from the table, or dropped, takes no more requests.
                let Some(mq) = self.mq_of(pq_id).filter(|mq| !self.process_queue_table[mq].dropped) else {
                    return;
                };
                let now_ms = ctx.now().as_millis();
                let pq = self.process_queue_table.get_mut(&mq).expect("checked");
                for msg in &msgs {
                    if let Some(cached) = pq.msg_tree_map.get_mut(&msg.queue_offset) {
                        cached.consume_start_timestamp = Some(now_ms);
                    }
                }
                let group = self.spec.group.clone();
                // The listener may change its messages (resetRetryAndNamespace): a message it changes becomes
                // its own copy (`Rc::make_mut`); the others stay shared with the process queue.
                for msg in &mut msgs {
                    if is_in_retry_topic(msg, &group) {
                        reset_retry_topic(Rc::make_mut(msg), &group);
                    }
                }
                self.trace_before(&msgs, ctx);
                let call = self.app.consume(&msgs, ctx.now(), ctx.workload_rng());
                for msg in &msgs {
                    ctx.observe(Observation::ConsumeStarted {
                        group: group.clone(),
                        client_id: self.client_id.clone(),
                        queue: mq.clone(),
                        queue_offset: msg.queue_offset,
                        msg_id: msg_id_of(msg),
                        reconsume_times: msg.reconsume_times,
                    });
                }
                let service = call.service_time;
                self.workers.insert(worker, WorkerState::Listening { mq, pq_id, msgs, call });
                ctx.set_timer(service, timer(ConsumerTimer::ConsumeDone { worker }));
            }
        }
    }

    /// A listener call returned.
    pub(crate) fn on_consume_done(&mut self, worker: u32, ctx: &mut Ctx<'_>) {
        // A concurrent call's state is moved out, not copied (its queue's names, its message list):
        // the worker stays busy as `Finishing` until its result is processed.
        let state = match self.workers.get_mut(&worker) {
            Some(state @ WorkerState::Listening { .. }) => Some(std::mem::replace(state, WorkerState::Finishing)),
            Some(state @ WorkerState::OrderlyListening { .. }) => Some(state.clone()),
            _ => None,
        };
        match state {
            Some(WorkerState::Listening { mq, pq_id, msgs, call })
                if self.forwarder.is_some() && call.outcome == ListenerOutcome::Success =>
            {
                // The work is done; now the listener forwards each message and waits for SEND_OK.
                self.workers.insert(worker, WorkerState::Forwarding { mq, pq_id, msgs, call, next: 0 });
                self.forward_next(worker, ctx);
                self.drain_forward_completions(ctx);
            }
            Some(WorkerState::Listening { mq, pq_id, msgs, call }) => {
                self.process_consume_result(worker, mq, pq_id, msgs, call, ctx)
            }
            Some(WorkerState::OrderlyListening { mq, pq_id, msgs, call, loop_began, .. }) => {
                self.process_orderly_result(worker, mq, pq_id, msgs, call, loop_began, ctx)
            }
            _ => {}
        }
    }

    /// Observations and application effects of a returned call (`dropped`: its result is discarded).
    pub(crate) fn finish_listener_call<M: Borrow<MessageExt>>(
        &mut self,
        mq: &MessageQueue,
        msgs: &[M],
        call: &ListenerCall,
        dropped: bool,
        ctx: &mut Ctx<'_>,
    ) {
        let status = consume_outcome(&call.outcome);
        self.trace_after(msgs, call, ctx);
        for msg in msgs {
            let msg: &MessageExt = msg.borrow();
            ctx.observe(Observation::ConsumeFinished {
                group: self.spec.group.clone(),
                client_id: self.client_id.clone(),
                queue: mq.clone(),
                queue_offset: msg.queue_offset,
                msg_id: msg_id_of(msg),
                status,
                discarded: dropped,
            });
        }
        match &call.outcome {
            ListenerOutcome::Success => self.app.record_done(msgs),
            ListenerOutcome::AckedBeforeProcessing { work } => {
                for (msg, (duration, fails)) in msgs.iter().zip(work) {
                    let id = self.next_work_id;
                    self.next_work_id += 1;
                    self.background_work.insert(id, (mq.clone(), MessageExt::clone(msg.borrow()), *fails));
                    ctx.set_timer(*duration, timer(ConsumerTimer::BackgroundWorkDone { work: id }));
                }
            }
            _ => {}
        }
        if dropped {
            self.stats.results_discarded += msgs.len() as u64;
        } else if is_success(&call.outcome) {
            self.stats.consumed_ok += msgs.len() as u64;
        } else {
            self.stats.consumed_failed += msgs.len() as u64;
        }
    }

    /// `processConsumeResult` (concurrent).
    pub(crate) fn process_consume_result(
        &mut self,
        worker: u32,
        mq: MessageQueue,
        pq_id: u64,
        msgs: Vec<Rc<MessageExt>>,
        call: ListenerCall,
        ctx: &mut Ctx<'_>,
    ) {
        let dropped = !self.process_queue_table.get(&mq).is_some_and(|pq| pq.id == pq_id && !pq.dropped);
        self.finish_listener_call(&mq, &msgs, &call, dropped, ctx);
        if dropped {
            self.release_worker(worker, ctx);
            return;
        }
        if is_success(&call.outcome) || self.spec.config.message_model == MessageModel::Broadcasting {
            self.remove_and_commit(&mq, pq_id, &msgs, ctx);
            self.release_worker(worker, ctx);
            return;
        }
        let pending: VecDeque<usize> = (0..msgs.len()).collect();
        self.workers.insert(worker, WorkerState::SendingBack { mq, pq_id, msgs, pending, failed: Vec::new() });
        self.send_next_back(worker, ctx);
    }

    /// `removeMessage` then `updateOffset(mq, offset, increaseOnly = true)`.
    fn remove_and_commit(&mut self, mq: &MessageQueue, pq_id: u64, msgs: &[Rc<MessageExt>], ctx: &mut Ctx<'_>) {
        let Some(pq) = self.process_queue_table.get_mut(mq).filter(|pq| pq.id == pq_id) else { return };
        let offsets: Vec<i64> = msgs.iter().map(|m| m.queue_offset).collect();
        let offset = pq.remove_message(&offsets, ctx.now().as_millis());
        if offset >= 0 && !pq.dropped {
            self.update_offset(mq, offset, true, ctx);
        }
    }

    /// The next failed message of a worker goes back to its broker (a sync call).
    fn send_next_back(&mut self, worker: u32, ctx: &mut Ctx<'_>) {
        let Some(WorkerState::SendingBack { mq, pq_id, msgs, pending, failed }) = self.workers.get_mut(&worker) else {
            return;
        };
        let Some(index) = pending.pop_front() else {
            let (mq, pq_id, msgs, failed) = (mq.clone(), *pq_id, msgs.clone(), failed.clone());
            let done: Vec<Rc<MessageExt>> =
                msgs.iter().enumerate().filter(|(i, _)| !failed.contains(i)).map(|(_, m)| Rc::clone(m)).collect();
            let back_failed: Vec<Rc<MessageExt>> = failed.iter().map(|i| Rc::clone(&msgs[*i])).collect();
            self.remove_and_commit(&mq, pq_id, &done, ctx);
            if !back_failed.is_empty() {
                let batch = self.next_batch_id;
                self.next_batch_id += 1;
                self.later_batches.insert(batch, ConsumeRequest::Concurrent { pq_id, msgs: back_failed });
                ctx.set_timer(SUBMIT_LATER_DELAY, timer(ConsumerTimer::SubmitLater { batch }));
            }
            self.release_worker(worker, ctx);
            return;
        };
        let msg = msgs[index].clone();
        let broker_name = mq.broker_name.clone();
        let header = ConsumerSendMsgBackRequestHeader {
            offset: msg.commit_log_offset,
            group: self.spec.group.clone(),
            delay_level: 0,
            origin_msg_id: msg_id_of(&msg),
            origin_topic: msg.topic.clone(),
            unit_mode: false,
            max_reconsume_times: Some(self.spec.config.effective_max_reconsume_times(false)),
        };
        let addr = self.find_broker_address_in_publish(&broker_name);
        self.call(
            addr,
            &broker_name,
            ConsumerRequest::ConsumerSendMsgBack(header),
            Purpose::SendBack { worker },
            SEND_BACK_TIMEOUT_MS,
            true,
            ctx,
        );
    }

    /// A send-back answered (or failed).
    pub(crate) fn on_send_back_result(&mut self, worker: u32, result: CallResult, ctx: &mut Ctx<'_>) {
        let ok = matches!(&result, Ok(r) if r.code == ResponseCode::SUCCESS);
        let Some(WorkerState::SendingBack { msgs, pending, failed, .. }) = self.workers.get_mut(&worker) else {
            return;
        };
        let index = msgs.len() - pending.len() - 1;
        if ok {
            self.stats.sent_back += 1;
        } else {
            // sendMessageBack returned false: reconsumeTimes + 1, retried locally.
            Rc::make_mut(&mut msgs[index]).reconsume_times += 1;
            failed.push(index);
            let msg_id = msg_id_of(&msgs[index]);
            self.stats.send_back_failed += 1;
            let error = match &result {
                Ok(r) => {
                    format!("MQBrokerException: CODE: {} DESC: {}", r.code.0, r.remark.clone().unwrap_or_default())
                }
                Err(e) => e.to_string(),
            };
            ctx.observe(Observation::SendBackFailed {
                group: self.spec.group.clone(),
                client_id: self.client_id.clone(),
                msg_id,
                error,
            });
        }
        self.send_next_back(worker, ctx);
    }

    /// Background work of a commit-before-process application ended.
    pub(crate) fn on_background_work_done(&mut self, work: u64, ctx: &mut Ctx<'_>) {
        let Some((mq, msg, fails)) = self.background_work.remove(&work) else { return };
        if !fails {
            self.app.record_done(std::slice::from_ref(&msg));
        }
        ctx.observe(Observation::BackgroundWorkFinished {
            group: self.spec.group.clone(),
            client_id: self.client_id.clone(),
            queue: mq,
            queue_offset: msg.queue_offset,
            msg_id: msg_id_of(&msg),
            ok: !fails,
        });
    }

    /// `cleanExpireMsg`: heads of queues consumed for longer than `consumeTimeout` go back (level 3).
    pub(crate) fn clean_expire_msg(&mut self, ctx: &mut Ctx<'_>) {
        if self.is_orderly() {
            return;
        }
        let now_ms = ctx.now().as_millis();
        let timeout_ms = self.spec.config.consume_timeout * 60_000;
        for pq in self.process_queue_table.values() {
            for cached in pq.msg_tree_map.values().take(16) {
                match cached.consume_start_timestamp {
                    Some(start) if now_ms.saturating_sub(start) > timeout_ms => {
                        self.expire_queue.push_back((pq.id, cached.message.queue_offset));
                    }
                    _ => break,
                }
            }
        }
        self.send_next_expired(ctx);
    }

    fn send_next_expired(&mut self, ctx: &mut Ctx<'_>) {
        if self.expire_in_flight {
            return;
        }
        while let Some((pq_id, offset)) = self.expire_queue.pop_front() {
            let Some(mq) = self.mq_of(pq_id) else { continue };
            let Some(cached) = self.process_queue_table[&mq].msg_tree_map.get(&offset).cloned() else { continue };
            let mut msg = Rc::unwrap_or_clone(cached.message);
            reset_retry_topic(&mut msg, &self.spec.group.clone());
            let header = ConsumerSendMsgBackRequestHeader {
                offset: msg.commit_log_offset,
                group: self.spec.group.clone(),
                delay_level: 3,
                origin_msg_id: msg_id_of(&msg),
                origin_topic: msg.topic.clone(),
                unit_mode: false,
                max_reconsume_times: Some(self.spec.config.effective_max_reconsume_times(false)),
            };
            let addr = self.find_broker_address_in_publish(&mq.broker_name);
            self.expire_in_flight = true;
            let purpose = Purpose::ExpireSendBack { pq_id, offset };
            let sent = self.call(
                addr,
                &mq.broker_name,
                ConsumerRequest::ConsumerSendMsgBack(header),
                purpose,
                SEND_BACK_TIMEOUT_MS,
                true,
                ctx,
            );
            if sent.is_some() {
                return;
            }
        }
    }

    /// A consume-timeout send-back ended: on success the message leaves its queue if still first.
    pub(crate) fn on_expire_send_back_result(
        &mut self,
        pq_id: u64,
        offset: i64,
        result: CallResult,
        ctx: &mut Ctx<'_>,
    ) {
        self.expire_in_flight = false;
        if matches!(&result, Ok(r) if r.code == ResponseCode::SUCCESS) {
            if let Some(mq) = self.mq_of(pq_id) {
                let pq = self.process_queue_table.get_mut(&mq).expect("found");
                if pq.msg_tree_map.keys().next() == Some(&offset) {
                    pq.remove_message(&[offset], ctx.now().as_millis());
                }
            }
        }
        self.send_next_expired(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_topic_message_shows_its_original_topic() {
        let mut msg = MessageExt {
            topic: "%RETRY%G".into(),
            reconsume_times: 1,
            properties: "RETRY_TOPIC\u{1}Orders".into(),
            ..MessageExt::default()
        };
        reset_retry_topic(&mut msg, "G");
        assert_eq!(msg.topic, "Orders");
        let mut other = msg.clone();
        other.topic = "%RETRY%H".into();
        reset_retry_topic(&mut other, "G");
        assert_eq!(other.topic, "%RETRY%H");
    }
}
