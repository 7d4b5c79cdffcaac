//! `PullMessageService` + `DefaultMQPushConsumerImpl.pullMessage` + `PullAPIWrapper` (4.9.8): the push
//! consumer's long-polling pull loop, one PullRequest per process queue.
//!
//! Before each pull, in RocketMQ's order (each "later" re-queues the request after the delay):
//! dropped → stop; not running → 1 000 ms; paused → 1 000 ms; more than `pullThresholdForQueue` cached
//! messages → **50 ms**; more than `pullThresholdSizeForQueue` MiB → 50 ms; concurrent: a span of cached
//! offsets above `consumeConcurrentlyMaxSpan` → 50 ms; orderly: not locked → 1 000 ms, and the first pull
//! after the lock re-reads the offset from the broker. Then PULL_MESSAGE goes out asynchronously with
//! the suspend flag, `brokerSuspendMaxTimeMillis` 15 s, a 30 s timeout, and (clustering) the in-memory
//! offset piggybacked for the broker to commit when it is > 0.
//!
//! Results: FOUND → messages into the process queue, handed to the consume service, next pull at once
//! (or after `pullInterval`); NO_NEW_MSG / NO_MATCHED_MSG → next offset, pull at once; OFFSET_ILLEGAL →
//! queue dropped, offset fixed and persisted and the queue removed 10 s later (the next rebalance takes it
//! again); an exception → 1 000 ms, or 20 ms when the broker said FLOW_CONTROL.

use crate::broker::store::properties::{
    MessageProperties, PROPERTY_MAX_OFFSET, PROPERTY_MIN_OFFSET, PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
};
use crate::consumer::client::{
    timer, ConsumerClient, ConsumerTimer, Purpose, BROKER_SUSPEND_MAX_TIME_MILLIS,
    CONSUMER_TIMEOUT_MILLIS_WHEN_SUSPEND, PULL_TIME_DELAY_MILLS_WHEN_BROKER_FLOW_CONTROL,
    PULL_TIME_DELAY_MILLS_WHEN_CACHE_FLOW_CONTROL, PULL_TIME_DELAY_MILLS_WHEN_SUSPEND,
};
use crate::consumer::rebalance::LookupWaiter;
use crate::consumer::remoting::CallResult;
use crate::message_queue::MessageQueue;
use crate::observation::{DropReason, Observation};
use crate::protocol::consumer::{
    pull_sys_flag, ConsumerRequest, ConsumerResponseBody, MessageExt, MessageModel, PullMessageRequestHeader,
    PullMessageResponse,
};
use crate::protocol::{ResponseBody, ResponseCode};
use crate::time::Duration;
use crate::world::Ctx;
use std::rc::Rc;

/// `PullStatus`, as `MQClientAPIImpl.processPullResponse` maps the codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PullStatus {
    Found,
    NoNewMsg,
    NoMatchedMsg,
    OffsetIllegal,
}

/// A pull's outcome: a status with the header's data, or the broker code of an exception.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PullOutcome {
    Result { status: PullStatus, body: PullMessageResponse },
    BrokerError(ResponseCode),
    RemotingError,
}

/// `processPullResponse`.
pub fn pull_outcome(result: CallResult) -> PullOutcome {
    let Ok(response) = result else { return PullOutcome::RemotingError };
    let status = match response.code {
        ResponseCode::SUCCESS => PullStatus::Found,
        ResponseCode::PULL_NOT_FOUND => PullStatus::NoNewMsg,
        ResponseCode::PULL_RETRY_IMMEDIATELY => PullStatus::NoMatchedMsg,
        ResponseCode::PULL_OFFSET_MOVED => PullStatus::OffsetIllegal,
        other => return PullOutcome::BrokerError(other),
    };
    let body = match response.body {
        ResponseBody::Consumer(body) => match *body {
            ConsumerResponseBody::Pull(pull) => pull,
            _ => return PullOutcome::BrokerError(response.code),
        },
        _ => return PullOutcome::BrokerError(response.code),
    };
    PullOutcome::Result { status, body }
}

/// `PullAPIWrapper.processPullResult` on found messages: the client-side tag filter, MIN/MAX_OFFSET.
pub fn filter_found(messages: Vec<MessageExt>, tags_set: &[String], min: i64, max: i64) -> Vec<MessageExt> {
    messages
        .into_iter()
        .filter_map(|mut msg| {
            let mut properties = MessageProperties::from_properties_string(&msg.properties);
            if !tags_set.is_empty() && !properties.tags().is_some_and(|t| tags_set.iter().any(|s| s == t)) {
                return None;
            }
            properties.put(PROPERTY_MIN_OFFSET, &min.to_string());
            properties.put(PROPERTY_MAX_OFFSET, &max.to_string());
            msg.properties = properties.to_properties_string();
            Some(msg)
        })
        .collect()
}

impl ConsumerClient {
    pub(crate) fn pull_later(&mut self, pq_id: u64, delay: Duration, ctx: &mut Ctx<'_>) {
        ctx.set_timer(delay, timer(ConsumerTimer::PullLater { pq_id }));
    }

    /// `pullMessage(pullRequest)`.
    pub(crate) fn pull_message(&mut self, pq_id: u64, ctx: &mut Ctx<'_>) {
        let Some(mq) = self.mq_of(pq_id) else { return };
        let now_ms = ctx.now().as_millis();
        let exception_delay = Duration::from_millis(self.spec.config.pull_time_delay_mills_when_exception);
        let orderly = self.is_orderly();
        let config = self.spec.config.clone();
        let pq = self.process_queue_table.get_mut(&mq).expect("found above");
        if pq.dropped {
            return;
        }
        pq.last_pull_timestamp = now_ms;
        if !self.is_running() {
            self.pull_later(pq_id, exception_delay, ctx);
            return;
        }
        if self.pause {
            self.pull_later(pq_id, PULL_TIME_DELAY_MILLS_WHEN_SUSPEND, ctx);
            return;
        }
        let pq = &self.process_queue_table[&mq];
        let flow_controlled = pq.msg_count > u64::from(config.pull_threshold_for_queue)
            || pq.msg_size_in_mib() > u64::from(config.pull_threshold_size_for_queue)
            || (!orderly && pq.max_span() > i64::from(config.consume_concurrently_max_span));
        if flow_controlled {
            self.stats.flow_controlled += 1;
            self.pull_later(pq_id, PULL_TIME_DELAY_MILLS_WHEN_CACHE_FLOW_CONTROL, ctx);
            return;
        }
        if orderly {
            if !pq.locked {
                self.pull_later(pq_id, exception_delay, ctx);
                return;
            }
            if !pq.previously_locked {
                // The first pull after the lock re-reads the offset from the broker (a sync call).
                let lookup = self.next_lookup_id;
                self.next_lookup_id += 1;
                self.start_offset_lookup(lookup, mq, LookupWaiter::OrderlyPull { pq_id }, ctx);
                return;
            }
        }
        self.send_pull(pq_id, mq, ctx);
    }

    /// An orderly pull's re-read offset is known.
    pub(crate) fn orderly_pull_offset_ready(&mut self, pq_id: u64, offset: Option<i64>, ctx: &mut Ctx<'_>) {
        let Some(mq) = self.mq_of(pq_id) else { return };
        match offset {
            Some(offset) if offset >= 0 => {
                let pq = self.process_queue_table.get_mut(&mq).expect("found above");
                if pq.dropped {
                    return;
                }
                pq.previously_locked = true;
                pq.next_offset = offset;
                self.send_pull(pq_id, mq, ctx);
            }
            _ => {
                let delay = Duration::from_millis(self.spec.config.pull_time_delay_mills_when_exception);
                self.pull_later(pq_id, delay, ctx);
            }
        }
    }

    /// `pullKernelImpl` (async).
    fn send_pull(&mut self, pq_id: u64, mq: MessageQueue, ctx: &mut Ctx<'_>) {
        let exception_delay = Duration::from_millis(self.spec.config.pull_time_delay_mills_when_exception);
        let Some(subscription) = self.subscription_inner.get(&*mq.topic).cloned() else {
            self.pull_later(pq_id, exception_delay, ctx);
            return;
        };
        let mut commit_offset = 0;
        let mut commit = false;
        if self.spec.config.message_model == MessageModel::Clustering {
            commit_offset = self.offset_store.read_from_memory(&mq);
            commit = commit_offset > 0;
        }
        let expression = self.spec.config.post_subscription_when_pull.then(|| subscription.sub_string.clone());
        let mut sys_flag = pull_sys_flag::build(commit, true, expression.is_some(), false);
        let Some((addr, slave)) = self.find_broker_address_in_subscribe(&mq.broker_name, false) else {
            // No address: refresh the route; the pull is retried after the exception delay.
            self.request_route_update(mq.topic.to_string(), false, ctx);
            self.pull_later(pq_id, exception_delay, ctx);
            return;
        };
        if slave {
            sys_flag = pull_sys_flag::clear_commit_offset(sys_flag);
        }
        let next_offset = self.process_queue_table[&mq].next_offset;
        let header = PullMessageRequestHeader {
            consumer_group: self.spec.group.clone(),
            topic: mq.topic.to_string(),
            queue_id: mq.queue_id,
            queue_offset: next_offset,
            max_msg_nums: self.spec.config.pull_batch_size as i32,
            sys_flag,
            commit_offset,
            suspend_timeout_millis: BROKER_SUSPEND_MAX_TIME_MILLIS,
            subscription: expression,
            sub_version: subscription.sub_version,
            expression_type: subscription.expression_type.clone(),
        };
        self.stats.pulls_sent += 1;
        let request = ConsumerRequest::PullMessage(header);
        self.call(
            Some(addr),
            &mq.broker_name,
            request,
            Purpose::Pull { pq_id },
            CONSUMER_TIMEOUT_MILLIS_WHEN_SUSPEND,
            false,
            ctx,
        );
    }

    /// `PullCallback`.
    pub(crate) fn on_pull_result(&mut self, pq_id: u64, result: CallResult, ctx: &mut Ctx<'_>) {
        let Some(mq) = self.mq_of(pq_id) else { return };
        if self.process_queue_table[&mq].dropped {
            return;
        }
        match pull_outcome(result) {
            PullOutcome::Result { status, body } => match status {
                PullStatus::Found => {
                    self.stats.pulls_found += 1;
                    let tags = self.subscription_inner.get(&*mq.topic).map(|s| s.tags_set.clone()).unwrap_or_default();
                    let dropped = crate::filter::consistency::dropped_by_client(&body.messages, &tags);
                    if !dropped.is_empty() {
                        ctx.observe(Observation::MessagesFilteredByClient {
                            group: self.spec.group.clone(),
                            client_id: self.client_id.clone(),
                            queue: mq.clone(),
                            messages: dropped,
                        });
                    }
                    let found = filter_found(body.messages, &tags, body.min_offset, body.max_offset);
                    let found: Vec<Rc<MessageExt>> = found.into_iter().map(Rc::new).collect();
                    let pq = self.process_queue_table.get_mut(&mq).expect("checked");
                    pq.next_offset = body.next_begin_offset;
                    if found.is_empty() {
                        self.pull_message(pq_id, ctx);
                        return;
                    }
                    self.stats.messages_pulled += found.len() as u64;
                    let dispatch = pq.put_message(&found);
                    ctx.observe(Observation::MessagesPulled {
                        group: self.spec.group.clone(),
                        client_id: self.client_id.clone(),
                        queue: mq.clone(),
                        messages: found.iter().map(|m| (m.queue_offset, msg_id_of(m))).collect(),
                    });
                    self.submit_to_consume_service(found, &mq, pq_id, dispatch, ctx);
                    if self.executor_shutdown.is_some() && (dispatch || !self.is_orderly()) {
                        // shutdown() is waiting for the consume threads: the executor rejected the request
                        // and so did the scheduler it falls back on; the RejectedExecutionException escapes
                        // the pull callback, and this queue is not pulled again.
                        return;
                    }
                    let interval = self.spec.config.pull_interval;
                    if interval > 0 {
                        self.pull_later(pq_id, Duration::from_millis(interval), ctx);
                    } else {
                        self.pull_message(pq_id, ctx);
                    }
                }
                PullStatus::NoNewMsg | PullStatus::NoMatchedMsg => {
                    self.stats.pulls_no_new_msg += 1;
                    let pq = self.process_queue_table.get_mut(&mq).expect("checked");
                    pq.next_offset = body.next_begin_offset;
                    // correctTagsOffset: nothing cached, so the offset may jump past filtered messages.
                    if pq.msg_count == 0 {
                        let next = pq.next_offset;
                        self.update_offset(&mq, next, true, ctx);
                    }
                    self.pull_message(pq_id, ctx);
                }
                PullStatus::OffsetIllegal => {
                    let pq = self.process_queue_table.get_mut(&mq).expect("checked");
                    pq.next_offset = body.next_begin_offset;
                    pq.dropped = true;
                    self.observe_dropped(&mq, DropReason::OffsetIllegal, ctx);
                    ctx.set_timer(Duration::from_secs(10), timer(ConsumerTimer::OffsetIllegalFix { pq_id }));
                }
            },
            PullOutcome::BrokerError(code) => {
                self.stats.pulls_failed += 1;
                let delay = if code == ResponseCode::FLOW_CONTROL {
                    PULL_TIME_DELAY_MILLS_WHEN_BROKER_FLOW_CONTROL
                } else {
                    Duration::from_millis(self.spec.config.pull_time_delay_mills_when_exception)
                };
                self.pull_later(pq_id, delay, ctx);
            }
            PullOutcome::RemotingError => {
                self.stats.pulls_failed += 1;
                let delay = Duration::from_millis(self.spec.config.pull_time_delay_mills_when_exception);
                self.pull_later(pq_id, delay, ctx);
            }
        }
    }

    /// OFFSET_ILLEGAL, 10 s later: store and persist the corrected offset, remove the queue.
    pub(crate) fn fix_offset_illegal(&mut self, pq_id: u64, ctx: &mut Ctx<'_>) {
        let Some(mq) = self.mq_of(pq_id) else { return };
        let next = self.process_queue_table[&mq].next_offset;
        self.update_offset(&mq, next, false, ctx);
        self.persist_offset(&mq, ctx);
        if let Some(pq) = self.process_queue_table.remove(&mq) {
            self.remove_unnecessary_message_queue_now(&mq, &pq, ctx);
        }
    }
}

/// The msgId a client reports (`MessageClientExt.getMsgId`): the UNIQ_KEY, else the offset id.
pub fn msg_id_of(msg: &MessageExt) -> String {
    MessageProperties::get_from_string(&msg.properties, PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
        .map_or_else(|| msg.offset_msg_id.clone(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Response;

    #[test]
    fn pull_codes_map_to_pull_statuses() {
        let body = PullMessageResponse {
            next_begin_offset: 10,
            min_offset: 0,
            max_offset: 10,
            suggest_which_broker_id: 0,
            messages: vec![],
        };
        let response = |code| Response {
            code,
            remark: None,
            body: ResponseBody::Consumer(Box::new(ConsumerResponseBody::Pull(body.clone()))),
        };
        assert!(matches!(
            pull_outcome(Ok(response(ResponseCode::PULL_NOT_FOUND))),
            PullOutcome::Result { status: PullStatus::NoNewMsg, .. }
        ));
        assert!(matches!(
            pull_outcome(Ok(response(ResponseCode::PULL_OFFSET_MOVED))),
            PullOutcome::Result { status: PullStatus::OffsetIllegal, .. }
        ));
        assert!(matches!(
            pull_outcome(Ok(response(ResponseCode::PULL_RETRY_IMMEDIATELY))),
            PullOutcome::Result { status: PullStatus::NoMatchedMsg, .. }
        ));
        assert_eq!(
            pull_outcome(Ok(Response::error(ResponseCode::FLOW_CONTROL, "x"))),
            PullOutcome::BrokerError(ResponseCode::FLOW_CONTROL)
        );
    }
}
