//! Consumer message trace (4.9.8 `ConsumeMessageTraceHookImpl`, `AsyncTraceDispatcher`): a push consumer
//! created with `enableMsgTrace` records each listener call — a `SubBefore` record per message when the
//! call starts (request id, msgId, retry times, keys) and a `SubAfter` record per message when it returns
//! (cost per message = the call's time / its message count, success = CONSUME_SUCCESS, the
//! `ConsumeReturnType` code) — and sends them, batched, to the trace topic.
//!
//! As in RocketMQ, the records travel through a separate trace producer: here the consumer process sends the
//! trace messages itself (SEND_MESSAGE_V2, round robin over the trace topic's writable queues) from a route it
//! keeps apart from its own tables, so its heartbeats, rebalances and broker list are exactly those of a
//! consumer without tracing; nothing waits for the answers. A send that fails in transport (timeout, closed
//! channel) is sent again up to twice, to a queue of another broker when there is one, as the trace producer's
//! async send does (`retryTimesWhenSendAsyncFailed` = 2, `onExceptionImpl`); an error answered by a broker is
//! not retried. Deviations (documented): the trace message has no UNIQ_KEY of its own; the lite pull consumer
//! has no consume hook in 4.9 and traces nothing.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use crate::broker::broker_store_io::wall_clock_ms;
use crate::consumer::client::{timer, ConsumerClient, ConsumerKind, ConsumerTimer, Purpose};
use crate::consumer::remoting::CallResult;
use crate::consumer::workload::{ListenerCall, ListenerOutcome};
use crate::producer::message::Message;
use crate::protocol::consumer::MessageExt;
use crate::protocol::send::{SendMessageRequest, SendMessageRequestHeader, SendRequestCode};
use crate::protocol::Request;
use crate::route::{perm, TopicRouteData};
use crate::time::Time;
use crate::trace::dispatcher::{AsyncTraceDispatcher, TraceAction};
use crate::trace::encoding::{TraceBean, TraceContext, TraceType, DEFAULT_TRACE_REGION_ID};
use crate::world::Ctx;

/// `TopicValidator.RMQ_SYS_TRACE_TOPIC`.
pub const DEFAULT_TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";

/// A consumer's trace state.
#[derive(Clone, Debug)]
pub struct ConsumerTrace {
    pub dispatcher: AsyncTraceDispatcher,
    /// The trace topic's route, kept apart from the consumer's own route table (RocketMQ's trace producer
    /// is another client instance).
    pub route: Option<TopicRouteData>,
    /// Round-robin index over the writable (broker, queue) pairs.
    next_queue: u32,
    /// Trace messages sent, and batches dropped for want of a route or after their last retry.
    pub sent: u64,
    pub dropped: u64,
    /// Sends sent again after a transport failure.
    pub retried: u64,
    /// Trace messages waiting for their answer, by id: the request, the broker it went to, its attempt.
    in_flight: BTreeMap<u64, InFlightTrace>,
    next_id: u64,
}

/// A trace message on its way.
#[derive(Clone, Debug)]
struct InFlightTrace {
    request: SendMessageRequest,
    broker: String,
    attempt: u32,
}

/// `DefaultMQProducer.retryTimesWhenSendAsyncFailed` of the trace producer.
const TRACE_SEND_RETRIES: u32 = 2;

impl ConsumerTrace {
    pub fn new(topic: &str, now: Time) -> Self {
        ConsumerTrace {
            dispatcher: AsyncTraceDispatcher::new(topic, now),
            route: None,
            next_queue: 0,
            sent: 0,
            dropped: 0,
            retried: 0,
            in_flight: BTreeMap::new(),
            next_id: 0,
        }
    }
}

/// `ConsumeReturnType`: SUCCESS 0, TIME_OUT 1, EXCEPTION 2, RETURNNULL 3, FAILED 4 (a call never times out here).
fn context_code(outcome: &ListenerOutcome) -> i32 {
    match outcome {
        ListenerOutcome::Exception => 2,
        ListenerOutcome::ReconsumeLater => 4,
        _ => 0,
    }
}

/// The request id of one listener call: RocketMQ draws a unique id (`MessageClientIDSetter.createUniqID`);
/// ours is a pure function of the client's IP, the call's start and its first message.
fn request_id<M: Borrow<MessageExt>>(ip: [u8; 4], begin: Time, msgs: &[M]) -> String {
    let first = msgs.first().map_or(0, |m| m.borrow().commit_log_offset);
    format!("{:08X}{:016X}{:08X}", u32::from_be_bytes(ip), begin.as_micros(), first as u32)
}

impl ConsumerClient {
    /// Start tracing if the consumer was created with `enableMsgTrace` (push consumers only).
    pub(crate) fn trace_start(&mut self, ctx: &mut Ctx<'_>) {
        if !self.spec.config.enable_msg_trace || self.spec.kind != ConsumerKind::Push {
            return;
        }
        let topic = self.spec.config.customized_trace_topic.clone().unwrap_or_else(|| DEFAULT_TRACE_TOPIC.into());
        self.trace = Some(ConsumerTrace::new(&topic, ctx.now()));
        self.request_route_update(topic, false, ctx);
    }

    /// Whether `topic` is the trace topic (its route goes to the trace state, not the consumer's tables).
    pub(crate) fn is_trace_topic(&self, topic: &str) -> bool {
        self.trace.as_ref().is_some_and(|t| t.dispatcher.trace_topic == topic)
    }

    /// The trace topic's route arrived (every route refresh asks for it again).
    pub(crate) fn trace_route(&mut self, route: TopicRouteData) {
        if let Some(trace) = &mut self.trace {
            trace.route = Some(route);
        }
    }

    /// `consumeMessageBefore`: one SubBefore record per message of the call.
    pub(crate) fn trace_before<M: Borrow<MessageExt>>(&mut self, msgs: &[M], ctx: &mut Ctx<'_>) {
        if self.trace.is_none() || msgs.is_empty() {
            return;
        }
        let now = ctx.now();
        let context = TraceContext {
            trace_type: TraceType::SubBefore,
            time_stamp: wall_clock_ms(now),
            region_id: DEFAULT_TRACE_REGION_ID.into(),
            group_name: self.spec.group.clone(),
            cost_time: 0,
            success: true,
            request_id: request_id(self.spec.client_ip, now, msgs),
            context_code: 0,
            beans: msgs.iter().map(|m| bean(m.borrow())).collect(),
        };
        self.trace_append(&context, ctx);
    }

    /// `consumeMessageAfter`: one SubAfter record per message, when the call returns.
    pub(crate) fn trace_after<M: Borrow<MessageExt>>(&mut self, msgs: &[M], call: &ListenerCall, ctx: &mut Ctx<'_>) {
        if self.trace.is_none() || msgs.is_empty() {
            return;
        }
        let now = ctx.now();
        let begin = Time::from_micros(now.as_micros().saturating_sub(call.service_time.as_micros()));
        let context = TraceContext {
            trace_type: TraceType::SubAfter,
            time_stamp: wall_clock_ms(now),
            region_id: DEFAULT_TRACE_REGION_ID.into(),
            group_name: self.spec.group.clone(),
            cost_time: (call.service_time.as_millis() / msgs.len() as u64) as i32,
            success: crate::consumer::consume_concurrently::is_success(&call.outcome),
            request_id: request_id(self.spec.client_ip, begin, msgs),
            context_code: context_code(&call.outcome),
            beans: msgs.iter().map(|m| bean(m.borrow())).collect(),
        };
        self.trace_append(&context, ctx);
    }

    fn trace_append(&mut self, context: &TraceContext, ctx: &mut Ctx<'_>) {
        let action = self.trace.as_mut().map(|t| t.dispatcher.append(context, ctx.now()));
        self.on_trace_action(action, ctx);
    }

    /// The dispatcher's flush timer.
    pub(crate) fn trace_flush(&mut self, ctx: &mut Ctx<'_>) {
        let action = self.trace.as_mut().map(|t| t.dispatcher.on_flush(ctx.now()));
        self.on_trace_action(action, ctx);
    }

    fn on_trace_action(&mut self, action: Option<TraceAction>, ctx: &mut Ctx<'_>) {
        match action {
            Some(TraceAction::ArmFlush(at)) => {
                ctx.set_timer(at - ctx.now(), timer(ConsumerTimer::TraceFlush));
            }
            Some(TraceAction::Send(batch)) => self.send_trace_batch(batch, ctx),
            Some(TraceAction::Nothing) | None => {}
        }
    }

    /// `sendTraceDataByMQ`: one message to the next writable queue of the trace topic, not waited for.
    fn send_trace_batch(&mut self, batch: crate::trace::dispatcher::TraceBatch, ctx: &mut Ctx<'_>) {
        let Some(trace) = &mut self.trace else { return };
        let keys: Vec<&str> = batch.keys.iter().map(String::as_str).collect();
        let message = Message::new(&batch.topic, None, &keys, batch.body.into_bytes());
        let request = SendMessageRequest {
            code: SendRequestCode::SendMessageV2,
            header: SendMessageRequestHeader {
                producer_group: format!("_INNER_TRACE_PRODUCER-{}", self.spec.group),
                topic: batch.topic.clone(),
                default_topic: crate::route::AUTO_CREATE_TOPIC_KEY_TOPIC.into(),
                default_topic_queue_nums: 4,
                queue_id: 0,
                sys_flag: 0,
                born_timestamp: wall_clock_ms(ctx.now()),
                flag: 0,
                properties: message.properties_string(),
                reconsume_times: 0,
                unit_mode: false,
                batch: false,
                max_reconsume_times: None,
            },
            body: message.body,
        };
        let id = trace.next_id;
        trace.next_id += 1;
        trace.in_flight.insert(id, InFlightTrace { request, broker: String::new(), attempt: 0 });
        self.send_trace_message(id, ctx);
    }

    /// Send (or send again) trace message `id` to the next writable queue, on another broker than the
    /// failed attempt's when there is one (`selectOneMessageQueue(tpInfo, lastBrokerName)`).
    fn send_trace_message(&mut self, id: u64, ctx: &mut Ctx<'_>) {
        let Some(trace) = &self.trace else { return };
        let Some(pending) = trace.in_flight.get(&id) else { return };
        let queues: Vec<(String, i32)> = trace
            .route
            .iter()
            .flat_map(|r| r.queue_datas.iter())
            .filter(|q| perm::is_writeable(q.perm))
            .flat_map(|q| (0..q.write_queue_nums as i32).map(|id| (q.broker_name.clone(), id)))
            .collect();
        let start = trace.next_queue as usize;
        let target = (0..queues.len())
            .map(|i| &queues[(start + i) % queues.len()])
            .find(|(broker, _)| *broker != pending.broker)
            .or_else(|| queues.get(start % queues.len().max(1)))
            .cloned();
        let addr = target.as_ref().and_then(|(broker, _)| {
            trace
                .route
                .as_ref()?
                .broker_datas
                .iter()
                .find(|b| &b.broker_name == broker)?
                .master_addr()
                .map(str::to_string)
        });
        let peer = addr.as_deref().and_then(|addr| self.node_of(addr));
        let Some(trace) = &mut self.trace else { return };
        let (Some((broker, queue_id)), Some(addr), Some(peer)) = (target, addr, peer) else {
            trace.in_flight.remove(&id);
            trace.dropped += 1;
            return;
        };
        trace.next_queue = trace.next_queue.wrapping_add(1);
        let pending = trace.in_flight.get_mut(&id).expect("checked above");
        if pending.attempt == 0 {
            trace.sent += 1;
        }
        pending.broker = broker;
        pending.request.header.queue_id = queue_id;
        let request = pending.request.clone();
        let mut io = crate::consumer::client::ConsumerIo { ctx };
        let timeout = self.spec.config.mq_client_api_timeout;
        self.remoting.invoke(
            &mut io,
            peer,
            &addr,
            Request::SendMessage(Box::new(request)),
            Purpose::TraceSend { id },
            timeout,
            false,
        );
    }

    /// A trace message's answer: done, or after a transport failure sent again while retries remain.
    pub(crate) fn on_trace_send_result(&mut self, id: u64, result: CallResult, ctx: &mut Ctx<'_>) {
        let Some(trace) = &mut self.trace else { return };
        if result.is_ok() {
            trace.in_flight.remove(&id);
            return;
        }
        let Some(pending) = trace.in_flight.get_mut(&id) else { return };
        if pending.attempt >= TRACE_SEND_RETRIES {
            trace.in_flight.remove(&id);
            trace.dropped += 1;
            return;
        }
        pending.attempt += 1;
        trace.retried += 1;
        self.send_trace_message(id, ctx);
    }
}

/// A message as a trace bean.
fn bean(msg: &MessageExt) -> TraceBean {
    let properties = crate::broker::store::properties::MessageProperties::from_properties_string(&msg.properties);
    let mut bean = TraceBean::new(&msg.topic, &crate::consumer::pull_message_service::msg_id_of(msg));
    bean.tags = properties.tags().map(str::to_string);
    bean.keys = Some(properties.keys().join(" ")).filter(|k| !k.is_empty());
    bean.store_host = msg.store_host.clone();
    bean.retry_times = msg.reconsume_times;
    bean.body_length = msg.body.len() as i32;
    bean
}
