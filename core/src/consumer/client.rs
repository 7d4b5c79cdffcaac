//! The consumer process as a node: `MQClientInstance` (routes, heartbeats to **every** broker, offset
//! persistence, the rebalance and pull services) with one consumer in it — a `DefaultMQPushConsumer`
//! (concurrent or orderly listener) or a `DefaultLitePullConsumer` — and the application behind it
//! (`workload.rs`).
//!
//! Timers, as `MQClientInstance.startScheduledTask` and the services set them:
//! * route refresh of every subscribed topic (the `%RETRY%<group>` topic included) every
//!   `pollNameServerInterval` (30 s), first 10 ms after start;
//! * `cleanOfflineBroker` + HEART_BEAT to every broker, master and slave, every `heartbeatBrokerInterval`
//!   (30 s), first after 1 s;
//! * `persistAllConsumerOffset` every `persistConsumerOffsetInterval` (5 s), first after 10 s;
//! * `RebalanceService`: a rebalance every 20 s after the previous one ends, or at once when woken
//!   (start, NOTIFY_CONSUMER_IDS_CHANGED);
//! * concurrent consumption: the consume-timeout sweep every `consumeTimeout` minutes; orderly
//!   consumption: `lockMQPeriodically` every 20 s, first after 1 s.
//!
//! Start (`DefaultMQPushConsumerImpl.start`): the routes of the subscribed topics are fetched, a
//! heartbeat goes to every known broker, then the rebalance service is woken. Shutdown: the consume
//! service stops (orderly: unlock all), offsets are persisted, UNREGISTER_CLIENT goes to every broker;
//! the process ends a moment later.
//!
//! Simplifications (documented, deliberate): heartbeats and lock batches go to all brokers at once
//! rather than one after the other; the inner producer's fallback of a failed send-back (a plain send to
//! `%RETRY%<group>`) is not modelled — a failed CONSUMER_SEND_MSG_BACK counts as `sendMessageBack`
//! returning false; pull threads and the pull service's queue take no time.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::broker::broker_store_io::wall_clock_ms;
use crate::broker::delay_level::retry_topic;
use crate::consumer::allocate::AllocateMessageQueueStrategy;
use crate::consumer::config::ConsumerConfig;
use crate::consumer::consume_concurrently::{ConsumeRequest, WorkerState};
use crate::consumer::lite_pull_consumer::LitePullState;
use crate::consumer::offset_store::{OffsetStore, OffsetStoreKind};
use crate::consumer::process_queue::ProcessQueue;
use crate::consumer::rebalance::{OffsetLookup, RebalanceRun};
use crate::consumer::remoting::{CallResult, Finished, RemotingClient, RemotingIo};
use crate::consumer::workload::{ConsumerApplication, ConsumerWorkloadSpec};
use crate::java;
use crate::message_queue::MessageQueue;
use crate::observation::{DropReason, Observation};
use crate::protocol::consumer::{
    ConsumeType, ConsumerData, ConsumerHeartbeatData, ConsumerRequest, MessageModel, SubscriptionData,
};
use crate::protocol::send::ProducerData;
use crate::protocol::{Message, Request, ResponseBody, ResponseCode};
use crate::route::{perm, TopicRouteData};
use crate::sim::node::{NodeId, TimerId};
use crate::time::{Duration, Time};
use crate::world::{Ctx, SharedDirectory, Timer};

/// `MixAll.CLIENT_INNER_PRODUCER_GROUP`: the producer every `MQClientInstance` registers.
pub const CLIENT_INNER_PRODUCER_GROUP: &str = "CLIENT_INNER_PRODUCER";
/// `PULL_TIME_DELAY_MILLS_WHEN_SUSPEND` (a paused consumer).
pub const PULL_TIME_DELAY_MILLS_WHEN_SUSPEND: Duration = Duration::from_millis(1_000);
/// `PULL_TIME_DELAY_MILLS_WHEN_CACHE_FLOW_CONTROL`.
pub const PULL_TIME_DELAY_MILLS_WHEN_CACHE_FLOW_CONTROL: Duration = Duration::from_millis(50);
/// `PULL_TIME_DELAY_MILLS_WHEN_BROKER_FLOW_CONTROL`.
pub const PULL_TIME_DELAY_MILLS_WHEN_BROKER_FLOW_CONTROL: Duration = Duration::from_millis(20);
/// `BROKER_SUSPEND_MAX_TIME_MILLIS` of the push consumer.
pub const BROKER_SUSPEND_MAX_TIME_MILLIS: i64 = 15_000;
/// `CONSUMER_TIMEOUT_MILLIS_WHEN_SUSPEND` of the push consumer.
pub const CONSUMER_TIMEOUT_MILLIS_WHEN_SUSPEND: u64 = 30_000;
/// `RebalanceService.waitInterval` (4.9: a plain 20 s wait).
pub const REBALANCE_WAIT_INTERVAL: Duration = Duration::from_millis(20_000);
/// Timeout of CONSUMER_SEND_MSG_BACK and of offset queries.
pub const SEND_BACK_TIMEOUT_MS: u64 = 5_000;
/// Lock/unlock RPC timeout.
pub const LOCK_TIMEOUT_MS: u64 = 1_000;

/// Which RocketMQ consumer class the node runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsumerKind {
    /// `DefaultMQPushConsumer` (long-polling pull underneath).
    #[default]
    Push,
    /// `DefaultLitePullConsumer` in subscribe mode: the application polls.
    LitePull,
}

/// How a consumer node is built.
#[derive(Clone, Debug)]
pub struct ConsumerSpec {
    pub node_name: String,
    pub client_ip: [u8; 4],
    pub name_servers: Vec<NodeId>,
    pub name_server_addrs: Vec<String>,
    pub directory: SharedDirectory,
    pub group: String,
    pub kind: ConsumerKind,
    /// `MessageListenerOrderly` rather than `MessageListenerConcurrently`.
    pub orderly: bool,
    /// (topic, tag expression).
    pub subscriptions: Vec<(String, String)>,
    /// Expression type per topic (`TAG` when absent; `SQL92`: `MessageSelector.bySql`).
    pub expression_types: BTreeMap<String, String>,
    pub config: ConsumerConfig,
    pub workload: ConsumerWorkloadSpec,
    /// Client IP → machine room (MACHINE_ROOM_NEARBY).
    pub rooms_by_ip: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsumerTimer {
    PollNameServer,
    HeartbeatAllBrokers,
    PersistConsumerOffset,
    /// `RebalanceService.waitForRunning(20 s)` ran out.
    RebalanceWait,
    RequestTimeout {
        opaque: u32,
    },
    /// `executePullRequestLater`.
    PullLater {
        pq_id: u64,
    },
    /// A consume thread's listener call returned.
    ConsumeDone {
        worker: u32,
    },
    /// Concurrent `submitConsumeRequestLater` (messages whose send-back failed).
    SubmitLater {
        batch: u64,
    },
    /// `cleanExpireMsg`.
    CleanExpireMsg,
    /// Orderly `lockMQPeriodically`.
    LockMqPeriodically,
    /// Orderly `tryLockLaterAndReconsume`.
    TryLockLater {
        pq_id: u64,
    },
    /// Orderly `submitConsumeRequestLater`.
    OrderlySubmitLater {
        pq_id: u64,
    },
    /// `unlockDelay`: unlock a queue that still had messages, 20 s after it was dropped.
    UnlockDelay {
        mq: MessageQueue,
    },
    /// OFFSET_ILLEGAL: fix the offset and remove the queue 10 s later.
    OffsetIllegalFix {
        pq_id: u64,
    },
    /// The rebalance waited for an orderly queue's consume lock.
    RebalanceConsumeLockWait {
        run: u64,
    },
    /// A reset of offsets ends its 10 s pause.
    ResetOffsetResume,
    /// Background work of a commit-before-process application finished.
    BackgroundWorkDone {
        work: u64,
    },
    /// A lite pull task runs again (`scheduledThreadPoolExecutor.schedule(this, delay)`).
    LitePullTask {
        pq_id: u64,
        task: u64,
    },
    /// The lite pull application's poll loop: the poll's wait ran out.
    AppPollTimeout {
        poll: u64,
    },
    /// The lite pull application finished processing a polled batch.
    AppBatchDone,
    /// The trace dispatcher's time threshold (`trace.rs`).
    TraceFlush,
    /// shutdown()'s `awaitTermination(awaitTerminationMillisWhenShutdown)` ran out.
    ShutdownAwaitTimedOut,
}

impl ConsumerTimer {
    /// Work already running on the process's threads when `shutdown()` is called: a listener call
    /// (`consumeExecutor.shutdownNow()` interrupts, it does not stop the listener) and the application's
    /// own background work. They go on until the process ends; the client's scheduled services stop.
    fn runs_after_shutdown(&self) -> bool {
        matches!(self, ConsumerTimer::ConsumeDone { .. } | ConsumerTimer::BackgroundWorkDone { .. })
    }
}

/// What a pending call was for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Purpose {
    Route {
        topic: String,
    },
    Heartbeat {
        startup: bool,
    },
    Pull {
        pq_id: u64,
    },
    /// A lite pull task's synchronous pull.
    LitePull {
        pq_id: u64,
        task: u64,
    },
    /// `seekToBegin` / `seekToEnd`: the queue's min or max offset.
    Seek {
        pq_id: u64,
    },
    Rebalance {
        run: u64,
    },
    OffsetLookup {
        lookup: u64,
    },
    SendBack {
        worker: u32,
    },
    ExpireSendBack {
        pq_id: u64,
        offset: i64,
    },
    LockAll {
        mqs: Vec<MessageQueue>,
    },
    LockOne {
        pq_id: u64,
    },
    Unregister,
    /// A trace message (`consumer/trace.rs`), retried after a transport failure.
    TraceSend {
        id: u64,
    },
    Other,
}

/// Where the process is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ServiceState {
    /// Fetching routes and sending the first heartbeats.
    Starting,
    Running,
    ShutdownAlready,
}

/// How far shutdown() has taken the consume executor (`ThreadUtils.shutdownGracefully`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecutorShutdown {
    /// `shutdown()`: queued requests still run, new ones are rejected; the first wait.
    Draining,
    /// `shutdownNow()`: the queue is dropped; the second wait, for the calls still running.
    Interrupted,
}

/// Counters for views.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ConsumerStats {
    pub pulls_sent: u64,
    pub pulls_found: u64,
    pub pulls_no_new_msg: u64,
    pub pulls_failed: u64,
    pub flow_controlled: u64,
    pub messages_pulled: u64,
    pub consumed_ok: u64,
    pub consumed_failed: u64,
    pub results_discarded: u64,
    pub sent_back: u64,
    pub send_back_failed: u64,
    pub rebalances: u64,
    pub route_lookups: u64,
}

/// A pending offset reset (`MQClientInstance.resetOffset`, serialized by its `synchronized`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingReset {
    pub topic: String,
    pub offset_table: Vec<(MessageQueue, i64)>,
}

#[derive(Clone, Debug)]
pub struct ConsumerClient {
    pub spec: ConsumerSpec,
    pub client_id: String,
    pub state: ServiceState,
    pub started_at: Time,
    pub(crate) remoting: RemotingClient<Purpose>,
    pub topic_route_table: BTreeMap<String, TopicRouteData>,
    pub broker_addr_table: BTreeMap<String, BTreeMap<u64, String>>,
    /// `RebalanceImpl.topicSubscribeInfoTable`: readable queues of each subscribed topic.
    pub topic_subscribe_info_table: BTreeMap<String, BTreeSet<MessageQueue>>,
    /// `RebalanceImpl.subscriptionInner`.
    pub subscription_inner: BTreeMap<String, SubscriptionData>,
    /// `RebalanceImpl.processQueueTable`.
    pub process_queue_table: BTreeMap<MessageQueue, ProcessQueue>,
    pub offset_store: OffsetStore,
    pub strategy: AllocateMessageQueueStrategy,
    /// The last allocation of each topic (for views).
    pub allocations: BTreeMap<String, Vec<MessageQueue>>,
    pub app: ConsumerApplication,
    pub stats: ConsumerStats,
    /// `pause` (suspended by an offset reset).
    pub pause: bool,
    // Route lookups (`lockNamesrv`: one at a time).
    namesrv_index: i32,
    namesrv_chosen: Option<NodeId>,
    route_queue: VecDeque<(String, bool)>,
    route_in_flight: Option<(u32, String, bool)>,
    startup_routes_pending: u32,
    startup_heartbeats_pending: u32,
    // RebalanceService.
    pub(crate) rebalance: Option<RebalanceRun>,
    pub(crate) rebalance_wakeup_pending: bool,
    rebalance_wait_timer: Option<TimerId>,
    pub(crate) next_run_id: u64,
    pub(crate) lookups: BTreeMap<u64, OffsetLookup>,
    pub(crate) next_lookup_id: u64,
    pub(crate) next_pq_id: u64,
    // Consume executor (consumeThreadMin workers).
    pub(crate) workers: BTreeMap<u32, WorkerState>,
    pub(crate) executor_queue: VecDeque<ConsumeRequest>,
    /// Set once shutdown() has shut the consume executor down.
    pub(crate) executor_shutdown: Option<ExecutorShutdown>,
    pub(crate) later_batches: BTreeMap<u64, ConsumeRequest>,
    pub(crate) next_batch_id: u64,
    pub(crate) expire_queue: VecDeque<(u64, i64)>,
    pub(crate) expire_in_flight: bool,
    pub(crate) background_work: BTreeMap<u64, (MessageQueue, crate::protocol::consumer::MessageExt, bool)>,
    pub(crate) next_work_id: u64,
    /// Orderly: the `messageQueueLock` holder and waiters of each queue.
    pub(crate) mq_lock_holder: BTreeMap<MessageQueue, u32>,
    // Offset resets (one at a time).
    pub(crate) resets: VecDeque<PendingReset>,
    pub(crate) reset_running: bool,
    pub lite: LitePullState,
    /// Message trace (`enableMsgTrace`, `trace.rs`).
    pub trace: Option<crate::consumer::trace::ConsumerTrace>,
    /// The producer of a forwarding listener (`workload.forward_to`, `forward.rs`).
    pub forwarder: Option<Box<crate::consumer::forward::Forwarder>>,
}

fn ip_string(ip: [u8; 4]) -> String {
    let [a, b, c, d] = ip;
    format!("{a}.{b}.{c}.{d}")
}

/// The consumer's effects on its context, for the remoting client.
pub(crate) struct ConsumerIo<'c, 'a> {
    pub ctx: &'c mut Ctx<'a>,
}

impl RemotingIo for ConsumerIo<'_, '_> {
    fn send(&mut self, to: NodeId, message: Message) {
        self.ctx.send(to, message);
    }

    fn set_timeout(&mut self, after: Duration, opaque: u32) -> TimerId {
        self.ctx.set_timer(after, Timer::Consumer(ConsumerTimer::RequestTimeout { opaque }))
    }

    fn cancel_timer(&mut self, id: TimerId) {
        self.ctx.cancel_timer(id);
    }

    fn close(&mut self, peer: NodeId) {
        self.ctx.close_connection(peer);
    }

    fn now(&self) -> Time {
        self.ctx.now()
    }
}

pub(crate) fn timer(t: ConsumerTimer) -> Timer {
    Timer::Consumer(t)
}

impl ConsumerClient {
    pub fn boot(spec: &ConsumerSpec) -> Self {
        let model = spec.config.message_model;
        let kind = match model {
            MessageModel::Clustering => OffsetStoreKind::RemoteBroker,
            MessageModel::Broadcasting => OffsetStoreKind::LocalFile,
        };
        ConsumerClient {
            spec: spec.clone(),
            client_id: String::new(),
            state: ServiceState::Starting,
            started_at: Time::ZERO,
            remoting: RemotingClient::default(),
            topic_route_table: BTreeMap::new(),
            broker_addr_table: BTreeMap::new(),
            topic_subscribe_info_table: BTreeMap::new(),
            subscription_inner: BTreeMap::new(),
            process_queue_table: BTreeMap::new(),
            offset_store: OffsetStore::new(kind),
            strategy: AllocateMessageQueueStrategy::Averagely,
            allocations: BTreeMap::new(),
            app: ConsumerApplication::new(spec.workload.clone()),
            stats: ConsumerStats::default(),
            pause: false,
            namesrv_index: 0,
            namesrv_chosen: None,
            route_queue: VecDeque::new(),
            route_in_flight: None,
            startup_routes_pending: 0,
            startup_heartbeats_pending: 0,
            rebalance: None,
            rebalance_wakeup_pending: false,
            rebalance_wait_timer: None,
            next_run_id: 0,
            lookups: BTreeMap::new(),
            next_lookup_id: 0,
            next_pq_id: 0,
            workers: BTreeMap::new(),
            executor_queue: VecDeque::new(),
            executor_shutdown: None,
            later_batches: BTreeMap::new(),
            next_batch_id: 0,
            expire_queue: VecDeque::new(),
            expire_in_flight: false,
            background_work: BTreeMap::new(),
            next_work_id: 0,
            mq_lock_holder: BTreeMap::new(),
            resets: VecDeque::new(),
            reset_running: false,
            lite: LitePullState::default(),
            trace: None,
            forwarder: spec
                .workload
                .forward_to
                .as_deref()
                .map(|topic| Box::new(crate::consumer::forward::Forwarder::new(spec, topic))),
        }
    }

    pub fn config(&self) -> &ConsumerConfig {
        &self.spec.config
    }

    pub fn group(&self) -> &str {
        &self.spec.group
    }

    pub fn is_clustering(&self) -> bool {
        self.spec.config.message_model == MessageModel::Clustering
    }

    pub fn is_orderly(&self) -> bool {
        self.spec.orderly && self.spec.kind == ConsumerKind::Push
    }

    pub fn consume_type(&self) -> ConsumeType {
        match self.spec.kind {
            ConsumerKind::Push => ConsumeType::ConsumePassively,
            ConsumerKind::LitePull => ConsumeType::ConsumeActively,
        }
    }

    // ----------------------------------------------------------------------------------------------
    // Start and stop
    // ----------------------------------------------------------------------------------------------

    /// `start()`: a fresh process.
    pub fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        self.started_at = ctx.now();
        let ip = ip_string(self.spec.client_ip);
        let pid = ctx.rng().below(1 << 22) + 1;
        // Clustering consumers replace the instance name "DEFAULT" with pid#nanoTime; broadcasting ones keep it.
        self.client_id = if self.is_clustering() {
            format!("{ip}@{pid}#{}", ctx.now().as_micros() * 1_000)
        } else {
            format!("{ip}@DEFAULT")
        };
        self.namesrv_index = ctx.rng().below(999) as i32;
        // copySubscription: the topics, and the retry topic for a clustering push consumer.
        let sub_version = wall_clock_ms(ctx.now());
        for (topic, expression) in self.spec.subscriptions.clone() {
            // FilterAPI.build: a tag expression, or a SQL92 one kept as text (validated with the scenario).
            let expression_type = self.spec.expression_types.get(&topic).map_or("TAG", String::as_str);
            let data = crate::filter::build_subscription_data(&topic, &expression, expression_type, sub_version)
                .unwrap_or_else(|_| SubscriptionData::build(&topic, &expression, sub_version));
            self.subscription_inner.insert(topic, data);
        }
        if self.is_clustering() && self.spec.kind == ConsumerKind::Push {
            let retry = retry_topic(&self.spec.group);
            self.subscription_inner.insert(retry.clone(), SubscriptionData::build(&retry, "*", sub_version));
        }
        let rooms: BTreeMap<String, String> = BTreeMap::new();
        self.strategy = self.spec.config.strategy(rooms);
        // offsetStore.load(): a broadcasting consumer reads its local file.
        if self.offset_store.kind == OffsetStoreKind::LocalFile {
            let path = OffsetStore::local_path(&self.client_id, &self.spec.group);
            if let Some(file) = ctx.disk().lookup(&path) {
                let bytes = ctx.disk().read_vec(file, 0, ctx.disk().len(file));
                self.offset_store.offset_table = OffsetStore::decode(&bytes);
            }
        }
        // consumeMessageService.start()
        if self.spec.kind == ConsumerKind::Push {
            if self.is_orderly() {
                if self.is_clustering() {
                    ctx.set_timer(Duration::from_millis(1_000), timer(ConsumerTimer::LockMqPeriodically));
                }
            } else {
                let period = Duration::from_millis(self.spec.config.consume_timeout * 60_000);
                ctx.set_timer(period, timer(ConsumerTimer::CleanExpireMsg));
            }
        }
        // mQClientFactory.start(): scheduled tasks, pull service, rebalance service (waits 20 s).
        ctx.set_timer(Duration::from_millis(10), timer(ConsumerTimer::PollNameServer));
        ctx.set_timer(Duration::from_millis(1_000), timer(ConsumerTimer::HeartbeatAllBrokers));
        ctx.set_timer(Duration::from_millis(10_000), timer(ConsumerTimer::PersistConsumerOffset));
        self.rebalance_wait_timer = Some(ctx.set_timer(REBALANCE_WAIT_INTERVAL, timer(ConsumerTimer::RebalanceWait)));
        if self.spec.kind == ConsumerKind::LitePull {
            self.lite_start(ctx);
        }
        // updateTopicSubscribeInfoWhenSubscriptionChanged, then the heartbeat, then rebalanceImmediately.
        let topics: Vec<String> = self.subscription_inner.keys().cloned().collect();
        self.startup_routes_pending = topics.len() as u32;
        for topic in topics {
            self.request_route_update(topic, true, ctx);
        }
        if self.startup_routes_pending == 0 {
            self.after_startup_routes(ctx);
        }
        // `traceDispatcher.start()`, after the consumer's own start.
        self.trace_start(ctx);
        // The listener's producer (`producer.start()` in the application, after the consumer's).
        self.forward_start(ctx);
    }

    fn after_startup_routes(&mut self, ctx: &mut Ctx<'_>) {
        let sent = self.send_heartbeat_to_all_brokers(true, ctx);
        self.startup_heartbeats_pending = sent;
        if sent == 0 {
            self.finish_startup(ctx);
        }
    }

    fn finish_startup(&mut self, ctx: &mut Ctx<'_>) {
        if self.state == ServiceState::Starting {
            self.state = ServiceState::Running;
            self.rebalance_immediately(ctx);
        }
    }

    /// `shutdown(awaitTerminationMillisWhenShutdown)`: the consume executor shuts down first and may
    /// wait for its threads; then offsets are persisted, the client unregisters and every process queue
    /// is dropped, and the process ends a moment later.
    pub fn on_shutdown(&mut self, ctx: &mut Ctx<'_>) {
        if self.state == ServiceState::ShutdownAlready || self.executor_shutdown.is_some() {
            return;
        }
        // executor.shutdown(): new requests are rejected, queued ones still run.
        self.executor_shutdown = Some(ExecutorShutdown::Draining);
        self.await_consume_threads(ctx);
    }

    /// `awaitTermination(awaitTerminationMillisWhenShutdown)` in the current phase: done at once when
    /// no consume thread is busy, else the timeout (none when it is 0) moves to the next phase.
    fn await_consume_threads(&mut self, ctx: &mut Ctx<'_>) {
        let wait = self.spec.config.await_termination_millis_when_shutdown;
        if self.consume_executor_idle() {
            self.finish_shutdown(ctx);
        } else if wait > 0 {
            ctx.set_timer(Duration::from_millis(wait), timer(ConsumerTimer::ShutdownAwaitTimedOut));
        } else {
            self.shutdown_await_timed_out(ctx);
        }
    }

    /// The wait ran out: after draining, `shutdownNow()` drops the queued requests (running listener
    /// calls are interrupted, which does not stop them) and waits once more; after that, shutdown()
    /// goes on without them.
    fn shutdown_await_timed_out(&mut self, ctx: &mut Ctx<'_>) {
        match self.executor_shutdown {
            Some(ExecutorShutdown::Draining) => {
                self.executor_shutdown = Some(ExecutorShutdown::Interrupted);
                self.executor_queue.clear();
                self.await_consume_threads(ctx);
            }
            Some(ExecutorShutdown::Interrupted) => self.finish_shutdown(ctx),
            None => {}
        }
    }

    /// A consume thread went idle while shutdown() waits for them.
    pub(crate) fn on_consume_thread_idle(&mut self, ctx: &mut Ctx<'_>) {
        if self.state != ServiceState::ShutdownAlready
            && self.executor_shutdown.is_some()
            && self.consume_executor_idle()
        {
            self.finish_shutdown(ctx);
        }
    }

    /// No consume thread busy and no request queued: what `awaitTermination` waits for.
    fn consume_executor_idle(&self) -> bool {
        self.workers.is_empty() && self.executor_queue.is_empty()
    }

    /// The rest of shutdown(), once the consume executor is done with (or given up on): listener calls
    /// still running finish later with their results discarded, so their messages are consumed again.
    fn finish_shutdown(&mut self, ctx: &mut Ctx<'_>) {
        if self.state == ServiceState::ShutdownAlready {
            return;
        }
        if self.is_orderly() && self.is_clustering() {
            self.unlock_all(ctx);
        }
        self.persist_all_consumer_offset(ctx);
        self.state = ServiceState::ShutdownAlready;
        // unregisterConsumer: UNREGISTER_CLIENT to every broker.
        let addrs: Vec<String> = self.broker_addr_table.values().flat_map(|m| m.values().cloned()).collect();
        for addr in addrs {
            if let Some(peer) = self.node_of(&addr) {
                let request = ConsumerRequest::UnregisterClient {
                    client_id: self.client_id.clone(),
                    producer_group: None,
                    consumer_group: Some(self.spec.group.clone()),
                };
                let timeout = self.spec.config.mq_client_api_timeout;
                let mut io = ConsumerIo { ctx };
                self.remoting.invoke(
                    &mut io,
                    peer,
                    &addr,
                    Request::Consumer(Box::new(request)),
                    Purpose::Unregister,
                    timeout,
                    true,
                );
            }
        }
        // rebalanceImpl.destroy(): every process queue is dropped.
        let queues: Vec<MessageQueue> = self.process_queue_table.keys().cloned().collect();
        for mq in queues {
            if let Some(mut pq) = self.process_queue_table.remove(&mq) {
                pq.dropped = true;
                self.observe_dropped(&mq, DropReason::Shutdown, ctx);
            }
        }
        // The application returns from its shutdown and the process ends a moment later.
        ctx.stop_after(crate::simulation::SHUTDOWN_GRACE);
    }

    pub(crate) fn is_running(&self) -> bool {
        self.state == ServiceState::Running
    }

    // ----------------------------------------------------------------------------------------------
    // Inputs
    // ----------------------------------------------------------------------------------------------

    pub fn on_timer(&mut self, t: ConsumerTimer, ctx: &mut Ctx<'_>) {
        if self.state == ServiceState::ShutdownAlready && !t.runs_after_shutdown() {
            return;
        }
        match t {
            ConsumerTimer::PollNameServer => {
                let mut topics: Vec<String> = self.subscription_inner.keys().cloned().collect();
                topics.extend(self.trace.as_ref().map(|t| t.dispatcher.trace_topic.clone()));
                for topic in topics {
                    self.request_route_update(topic, false, ctx);
                }
                let period = Duration::from_millis(self.spec.config.poll_name_server_interval);
                ctx.set_timer(period, timer(ConsumerTimer::PollNameServer));
            }
            ConsumerTimer::HeartbeatAllBrokers => {
                self.clean_offline_broker();
                self.send_heartbeat_to_all_brokers(false, ctx);
                let period = Duration::from_millis(self.spec.config.heartbeat_broker_interval);
                ctx.set_timer(period, timer(ConsumerTimer::HeartbeatAllBrokers));
            }
            ConsumerTimer::PersistConsumerOffset => {
                self.persist_all_consumer_offset(ctx);
                let period = Duration::from_millis(self.spec.config.persist_consumer_offset_interval);
                ctx.set_timer(period, timer(ConsumerTimer::PersistConsumerOffset));
            }
            ConsumerTimer::RebalanceWait => {
                self.rebalance_wait_timer = None;
                self.start_rebalance(ctx);
            }
            ConsumerTimer::RequestTimeout { opaque } => {
                let finished = {
                    let mut io = ConsumerIo { ctx };
                    self.remoting.on_timeout(&mut io, opaque)
                };
                for f in finished {
                    self.on_call_finished(f, ctx);
                }
            }
            ConsumerTimer::PullLater { pq_id } => self.pull_message(pq_id, ctx),
            ConsumerTimer::ConsumeDone { worker } => self.on_consume_done(worker, ctx),
            ConsumerTimer::SubmitLater { batch } => {
                if let Some(request) = self.later_batches.remove(&batch) {
                    self.submit_consume_request(request, ctx);
                }
            }
            ConsumerTimer::CleanExpireMsg => {
                self.clean_expire_msg(ctx);
                let period = Duration::from_millis(self.spec.config.consume_timeout * 60_000);
                ctx.set_timer(period, timer(ConsumerTimer::CleanExpireMsg));
            }
            // A periodic task of the orderly service's scheduler: cancelled by its shutdown().
            ConsumerTimer::LockMqPeriodically if self.orderly_service_stopped() => {}
            ConsumerTimer::LockMqPeriodically => {
                self.lock_all(ctx);
                ctx.set_timer(
                    Duration::from_millis(crate::consumer::process_queue::REBALANCE_LOCK_INTERVAL_MS),
                    timer(ConsumerTimer::LockMqPeriodically),
                );
            }
            ConsumerTimer::TryLockLater { pq_id } => self.try_lock_later_fired(pq_id, ctx),
            ConsumerTimer::OrderlySubmitLater { pq_id } => self.submit_orderly_request(pq_id, ctx),
            ConsumerTimer::UnlockDelay { mq } => self.unlock(&mq, ctx),
            ConsumerTimer::OffsetIllegalFix { pq_id } => self.fix_offset_illegal(pq_id, ctx),
            ConsumerTimer::RebalanceConsumeLockWait { run } => self.on_rebalance_consume_lock_wait(run, ctx),
            ConsumerTimer::ResetOffsetResume => self.resume_after_reset(ctx),
            ConsumerTimer::BackgroundWorkDone { work } => self.on_background_work_done(work, ctx),
            ConsumerTimer::LitePullTask { pq_id, task } => self.lite_pull_task(pq_id, task, ctx),
            ConsumerTimer::AppPollTimeout { poll } => self.lite_poll_timeout(poll, ctx),
            ConsumerTimer::AppBatchDone => self.lite_batch_done(ctx),
            ConsumerTimer::TraceFlush => self.trace_flush(ctx),
            ConsumerTimer::ShutdownAwaitTimedOut => self.shutdown_await_timed_out(ctx),
        }
    }

    pub fn on_message(&mut self, from: NodeId, message: Message, ctx: &mut Ctx<'_>) {
        self.remoting.on_message_from(from);
        let Some(message) = self.forward_message(from, message, ctx) else { return };
        match message {
            Message::Response { opaque, response } => {
                let finished = {
                    let mut io = ConsumerIo { ctx };
                    self.remoting.on_response(&mut io, from, opaque, response)
                };
                if let Some(f) = finished {
                    self.on_call_finished(f, ctx);
                }
            }
            Message::Request { request: Request::Consumer(request), opaque } => {
                self.on_broker_request(*request, ctx);
                let response = crate::protocol::Response::success(ResponseBody::Empty);
                ctx.send(from, Message::Response { opaque, response });
            }
            Message::Oneway { request: Request::Consumer(request) } => self.on_broker_request(*request, ctx),
            Message::Request { opaque, request } => {
                ctx.send(from, Message::Response { opaque, response: request.not_supported() });
            }
            Message::Oneway { .. } => {}
        }
    }

    /// `ClientRemotingProcessor`: what brokers ask of a client.
    fn on_broker_request(&mut self, request: ConsumerRequest, ctx: &mut Ctx<'_>) {
        if self.state == ServiceState::ShutdownAlready {
            return;
        }
        match request {
            ConsumerRequest::NotifyConsumerIdsChanged { .. } => self.rebalance_immediately(ctx),
            ConsumerRequest::ResetConsumerClientOffset { topic, group, offset_table, .. }
                if group == self.spec.group =>
            {
                self.resets.push_back(PendingReset { topic, offset_table });
                self.run_next_reset(ctx);
            }
            _ => {}
        }
    }

    pub fn on_connection_closed(&mut self, peer: NodeId, ctx: &mut Ctx<'_>) {
        let finished = {
            let mut io = ConsumerIo { ctx };
            self.remoting.on_connection_closed(&mut io, peer)
        };
        for f in finished {
            self.on_call_finished(f, ctx);
        }
        self.forward_connection_closed(peer, ctx);
    }

    /// A call ended: hand the result to whoever waits for it.
    fn on_call_finished(&mut self, finished: Finished<Purpose>, ctx: &mut Ctx<'_>) {
        let Finished { opaque, purpose, result } = finished;
        if self.state == ServiceState::ShutdownAlready {
            return;
        }
        match purpose {
            Purpose::Route { topic } => self.on_route_result(opaque, &topic, result, ctx),
            Purpose::Heartbeat { startup } => {
                if startup && self.startup_heartbeats_pending > 0 {
                    self.startup_heartbeats_pending -= 1;
                    if self.startup_heartbeats_pending == 0 {
                        self.finish_startup(ctx);
                    }
                }
            }
            Purpose::Pull { pq_id } => self.on_pull_result(pq_id, result, ctx),
            Purpose::LitePull { pq_id, task } => self.lite_pull_result(pq_id, task, result, ctx),
            Purpose::Seek { pq_id } => self.on_seek_offset(pq_id, result, ctx),
            Purpose::Rebalance { run } => self.on_rebalance_result(run, result, ctx),
            Purpose::OffsetLookup { lookup } => self.on_offset_lookup_result(lookup, result, ctx),
            Purpose::SendBack { worker } => self.on_send_back_result(worker, result, ctx),
            Purpose::ExpireSendBack { pq_id, offset } => self.on_expire_send_back_result(pq_id, offset, result, ctx),
            Purpose::LockAll { mqs } => self.on_lock_all_result(mqs, result, ctx),
            Purpose::LockOne { pq_id } => self.on_lock_one_result(pq_id, result, ctx),
            Purpose::TraceSend { id } => self.on_trace_send_result(id, result, ctx),
            Purpose::Unregister | Purpose::Other => {}
        }
    }

    // ----------------------------------------------------------------------------------------------
    // Remoting helpers
    // ----------------------------------------------------------------------------------------------

    pub(crate) fn node_of(&self, addr: &str) -> Option<NodeId> {
        self.spec.directory.node_of_addr(addr)
    }

    /// A sync call to `addr` (or a failure at once when the address is unknown).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn call(
        &mut self,
        addr: Option<String>,
        target: &str,
        request: ConsumerRequest,
        purpose: Purpose,
        timeout_ms: u64,
        sync: bool,
        ctx: &mut Ctx<'_>,
    ) -> Option<u32> {
        let Some((peer, addr)) = addr.and_then(|a| self.node_of(&a).map(|p| (p, a))) else {
            let error = crate::consumer::remoting::CallError::NoAddress { target: target.to_string() };
            let finished = Finished { opaque: u32::MAX, purpose, result: Err(error) };
            self.on_call_finished(finished, ctx);
            return None;
        };
        let mut io = ConsumerIo { ctx };
        Some(self.remoting.invoke(
            &mut io,
            peer,
            &addr,
            Request::Consumer(Box::new(request)),
            purpose,
            timeout_ms,
            sync,
        ))
    }

    pub(crate) fn oneway(&mut self, addr: &str, request: ConsumerRequest, ctx: &mut Ctx<'_>) {
        if let Some(peer) = self.node_of(addr) {
            let mut io = ConsumerIo { ctx };
            self.remoting.invoke_oneway(&mut io, peer, Request::Consumer(Box::new(request)));
        }
    }

    /// `findBrokerAddressInSubscribe(brokerName, MASTER_ID, onlyThisBroker)`: (address, is slave).
    pub(crate) fn find_broker_address_in_subscribe(
        &self,
        broker_name: &str,
        only_this_broker: bool,
    ) -> Option<(String, bool)> {
        let map = self.broker_addr_table.get(broker_name).filter(|m| !m.is_empty())?;
        if let Some(addr) = map.get(&0) {
            return Some((addr.clone(), false));
        }
        if only_this_broker {
            return None;
        }
        map.iter().next().map(|(id, addr)| (addr.clone(), *id != 0))
    }

    /// `findBrokerAddressInPublish`: the master's address.
    pub(crate) fn find_broker_address_in_publish(&self, broker_name: &str) -> Option<String> {
        self.broker_addr_table.get(broker_name).and_then(|m| m.get(&0)).cloned()
    }

    /// `findBrokerAddrByTopic`: a random broker of the topic's route, its master if any.
    pub(crate) fn find_broker_addr_by_topic(&self, topic: &str, ctx: &mut Ctx<'_>) -> Option<String> {
        let route = self.topic_route_table.get(topic)?;
        if route.broker_datas.is_empty() {
            return None;
        }
        let index = ctx.rng().below(route.broker_datas.len() as u64) as usize;
        let broker = &route.broker_datas[index];
        if let Some(master) = broker.broker_addrs.get(&0) {
            return Some(master.clone());
        }
        let addrs: Vec<&String> = broker.broker_addrs.values().collect();
        if addrs.is_empty() {
            return None;
        }
        let pick = ctx.rng().below(addrs.len() as u64) as usize;
        Some(addrs[pick].clone())
    }

    // ----------------------------------------------------------------------------------------------
    // Routes (MQClientInstance.updateTopicRouteInfoFromNameServer)
    // ----------------------------------------------------------------------------------------------

    /// Queue a route lookup (one at a time, as `lockNamesrv` serializes them).
    pub(crate) fn request_route_update(&mut self, topic: String, startup: bool, ctx: &mut Ctx<'_>) {
        self.route_queue.push_back((topic, startup));
        self.pump_route_queue(ctx);
    }

    fn pump_route_queue(&mut self, ctx: &mut Ctx<'_>) {
        while self.route_in_flight.is_none() {
            let Some((topic, startup)) = self.route_queue.pop_front() else { return };
            let Some((peer, addr)) = self.choose_name_server() else {
                self.route_done(&topic, startup, ctx);
                continue;
            };
            self.stats.route_lookups += 1;
            let timeout = self.spec.config.mq_client_api_timeout;
            let opaque = {
                let mut io = ConsumerIo { ctx };
                let request = Request::GetRouteInfoByTopic { topic: topic.clone() };
                self.remoting.invoke(
                    &mut io,
                    peer,
                    &addr,
                    request,
                    Purpose::Route { topic: topic.clone() },
                    timeout,
                    true,
                )
            };
            self.route_in_flight = Some((opaque, topic, startup));
        }
    }

    /// `getAndCreateNameserverChannel`: keep the chosen NameServer while its channel is open.
    fn choose_name_server(&mut self) -> Option<(NodeId, String)> {
        let count = self.spec.name_servers.len();
        if count == 0 {
            return None;
        }
        if let Some(chosen) = self.namesrv_chosen.filter(|c| self.remoting.has_channel(*c)) {
            let i = self.spec.name_servers.iter().position(|n| *n == chosen)?;
            return Some((chosen, self.spec.name_server_addrs[i].clone()));
        }
        self.namesrv_index = self.namesrv_index.wrapping_add(1);
        let i = java::rem_i32(java::abs_i32(self.namesrv_index), count as i32).max(0) as usize;
        self.namesrv_chosen = Some(self.spec.name_servers[i]);
        Some((self.spec.name_servers[i], self.spec.name_server_addrs[i].clone()))
    }

    fn on_route_result(&mut self, opaque: u32, topic: &str, result: CallResult, ctx: &mut Ctx<'_>) {
        let Some((expected, _, startup)) = self.route_in_flight.clone() else { return };
        if expected != opaque {
            return;
        }
        self.route_in_flight = None;
        if let Ok(response) = result {
            if let (ResponseCode::SUCCESS, ResponseBody::TopicRoute(route)) = (response.code, response.body) {
                if self.is_trace_topic(topic) {
                    self.trace_route(route);
                } else {
                    self.install_route(topic, route, ctx);
                }
            }
        }
        self.route_done(topic, startup, ctx);
        self.pump_route_queue(ctx);
    }

    fn route_done(&mut self, topic: &str, startup: bool, ctx: &mut Ctx<'_>) {
        if startup && self.startup_routes_pending > 0 {
            self.startup_routes_pending -= 1;
            if self.startup_routes_pending == 0 {
                self.after_startup_routes(ctx);
            }
        }
        self.on_route_waiters(topic, ctx);
    }

    /// The `changed` branch: broker addresses, and the subscribe info (readable queues) of the topic.
    fn install_route(&mut self, topic: &str, route: TopicRouteData, _ctx: &mut Ctx<'_>) {
        let changed = self.topic_route_table.get(topic).is_none_or(|old| route_differs(old, &route));
        let needs = self.subscription_inner.contains_key(topic) && !self.topic_subscribe_info_table.contains_key(topic);
        if !changed && !needs {
            return;
        }
        for broker in &route.broker_datas {
            self.broker_addr_table.insert(broker.broker_name.clone(), broker.broker_addrs.clone());
        }
        if self.subscription_inner.contains_key(topic) {
            let mut queues = BTreeSet::new();
            for queue_data in &route.queue_datas {
                if perm::is_readable(queue_data.perm) {
                    for queue_id in 0..queue_data.read_queue_nums as i32 {
                        queues.insert(MessageQueue::new(topic, &queue_data.broker_name, queue_id));
                    }
                }
            }
            self.topic_subscribe_info_table.insert(topic.to_string(), queues);
        }
        self.topic_route_table.insert(topic.to_string(), route);
    }

    /// `cleanOfflineBroker`.
    fn clean_offline_broker(&mut self) {
        let in_routes: BTreeSet<&String> = self
            .topic_route_table
            .values()
            .flat_map(|r| r.broker_datas.iter().flat_map(|b| b.broker_addrs.values()))
            .collect();
        for addrs in self.broker_addr_table.values_mut() {
            addrs.retain(|_, addr| in_routes.contains(addr));
        }
        self.broker_addr_table.retain(|_, addrs| !addrs.is_empty());
    }

    // ----------------------------------------------------------------------------------------------
    // Heartbeats
    // ----------------------------------------------------------------------------------------------

    /// The producer groups of this process: the client's inner producer, and a forwarding listener's.
    fn heartbeat_producer_groups(&self) -> Vec<ProducerData> {
        let mut groups = vec![ProducerData { group_name: CLIENT_INNER_PRODUCER_GROUP.into() }];
        if let Some(forwarder) = &self.forwarder {
            groups.push(ProducerData { group_name: forwarder.producer.spec.config.producer_group.clone() });
        }
        groups
    }

    fn heartbeat_data(&self) -> ConsumerHeartbeatData {
        ConsumerHeartbeatData {
            client_id: self.client_id.clone(),
            producer_data_set: self.heartbeat_producer_groups(),
            consumer_data_set: vec![ConsumerData {
                group_name: self.spec.group.clone(),
                consume_type: self.consume_type(),
                message_model: self.spec.config.message_model,
                consume_from_where: self.spec.config.consume_from_where,
                subscription_data_set: self.subscription_inner.values().cloned().collect(),
                unit_mode: false,
            }],
        }
    }

    /// `sendHeartbeatToAllBroker`: consumers heartbeat every broker, slaves included. Returns how many went out.
    pub(crate) fn send_heartbeat_to_all_brokers(&mut self, startup: bool, ctx: &mut Ctx<'_>) -> u32 {
        let data = self.heartbeat_data();
        // One broker table per process in RocketMQ: a forwarding producer's brokers get the heartbeat too.
        let mut table = self.broker_addr_table.clone();
        if let Some(forwarder) = &self.forwarder {
            for (name, addrs) in &forwarder.producer.broker_addr_table {
                let known = table.entry(name.clone()).or_default();
                for (id, addr) in addrs {
                    known.entry(*id).or_insert_with(|| addr.clone());
                }
            }
        }
        let addrs: Vec<String> = table.values().flat_map(|m| m.values().cloned()).collect();
        let mut sent = 0;
        for addr in addrs {
            let Some(peer) = self.node_of(&addr) else { continue };
            let timeout = self.spec.config.mq_client_api_timeout;
            let mut io = ConsumerIo { ctx };
            let request = Request::Consumer(Box::new(ConsumerRequest::HeartBeat(data.clone())));
            self.remoting.invoke(&mut io, peer, &addr, request, Purpose::Heartbeat { startup }, timeout, true);
            sent += 1;
        }
        sent
    }

    // ----------------------------------------------------------------------------------------------
    // Offsets
    // ----------------------------------------------------------------------------------------------

    /// `persistAllConsumerOffset`: the offsets of the owned queues to their brokers (oneway), or to the
    /// local file.
    pub(crate) fn persist_all_consumer_offset(&mut self, ctx: &mut Ctx<'_>) {
        let owned: Vec<MessageQueue> = self.process_queue_table.keys().cloned().collect();
        let entries = self.offset_store.persist_all_selection(&owned);
        if entries.is_empty() {
            return;
        }
        match self.offset_store.kind {
            OffsetStoreKind::RemoteBroker => {
                for (mq, offset) in entries {
                    self.update_consume_offset_to_broker(&mq, offset, ctx);
                }
            }
            OffsetStoreKind::LocalFile => {
                let path = OffsetStore::local_path(&self.client_id, &self.spec.group);
                let bytes = self.offset_store.encode();
                let file = ctx.open_file(&path);
                ctx.truncate(file, 0);
                ctx.write(file, 0, &bytes);
                for (mq, offset) in entries {
                    self.observe_persisted(&mq, offset, ctx);
                }
            }
        }
    }

    /// `persist(mq)`.
    pub(crate) fn persist_offset(&mut self, mq: &MessageQueue, ctx: &mut Ctx<'_>) {
        let offset = self.offset_store.read_from_memory(mq);
        if offset < 0 && !self.offset_store.offset_table.contains_key(mq) {
            return;
        }
        match self.offset_store.kind {
            OffsetStoreKind::RemoteBroker => self.update_consume_offset_to_broker(mq, offset, ctx),
            OffsetStoreKind::LocalFile => {
                let path = OffsetStore::local_path(&self.client_id, &self.spec.group);
                let bytes = self.offset_store.encode();
                let file = ctx.open_file(&path);
                ctx.truncate(file, 0);
                ctx.write(file, 0, &bytes);
                self.observe_persisted(mq, offset, ctx);
            }
        }
    }

    /// `updateConsumeOffsetToBroker(mq, offset, oneway)`.
    fn update_consume_offset_to_broker(&mut self, mq: &MessageQueue, offset: i64, ctx: &mut Ctx<'_>) {
        let addr = self
            .find_broker_address_in_subscribe(&mq.broker_name, true)
            .or_else(|| self.find_broker_address_in_subscribe(&mq.broker_name, false));
        let Some((addr, _)) = addr else { return };
        let request = ConsumerRequest::UpdateConsumerOffset {
            consumer_group: self.spec.group.clone(),
            topic: mq.topic.to_string(),
            queue_id: mq.queue_id,
            commit_offset: offset,
        };
        self.oneway(&addr, request, ctx);
        self.observe_persisted(mq, offset, ctx);
    }

    /// `offsetStore.updateOffset` + an observation when the value changed.
    pub(crate) fn update_offset(&mut self, mq: &MessageQueue, offset: i64, increase_only: bool, ctx: &mut Ctx<'_>) {
        if self.offset_store.update_offset(mq, offset, increase_only) {
            let offset = self.offset_store.read_from_memory(mq);
            ctx.observe(Observation::ConsumeOffsetUpdated {
                group: self.spec.group.clone(),
                client_id: self.client_id.clone(),
                queue: mq.clone(),
                offset,
            });
        }
    }

    fn observe_persisted(&self, mq: &MessageQueue, offset: i64, ctx: &mut Ctx<'_>) {
        ctx.observe(Observation::ConsumeOffsetPersisted {
            group: self.spec.group.clone(),
            client_id: self.client_id.clone(),
            queue: mq.clone(),
            offset,
        });
    }

    pub(crate) fn observe_dropped(&self, mq: &MessageQueue, reason: DropReason, ctx: &mut Ctx<'_>) {
        ctx.observe(Observation::ProcessQueueDropped {
            group: self.spec.group.clone(),
            client_id: self.client_id.clone(),
            queue: mq.clone(),
            reason,
        });
    }

    /// The process queue with this id, if it is still in the table.
    pub(crate) fn mq_of(&self, pq_id: u64) -> Option<MessageQueue> {
        self.process_queue_table.iter().find(|(_, pq)| pq.id == pq_id).map(|(mq, _)| mq.clone())
    }

    // ----------------------------------------------------------------------------------------------
    // Offset reset (MQClientInstance.resetOffset)
    // ----------------------------------------------------------------------------------------------

    fn run_next_reset(&mut self, ctx: &mut Ctx<'_>) {
        if self.reset_running {
            return;
        }
        let Some(reset) = self.resets.front().cloned() else { return };
        self.reset_running = true;
        self.pause = true;
        let queues: Vec<MessageQueue> = self
            .process_queue_table
            .keys()
            .filter(|mq| *mq.topic == *reset.topic && reset.offset_table.iter().any(|(q, _)| q == *mq))
            .cloned()
            .collect();
        for mq in queues {
            if let Some(pq) = self.process_queue_table.get_mut(&mq) {
                pq.dropped = true;
                pq.clear();
            }
            self.observe_dropped(&mq, DropReason::ResetOffset, ctx);
        }
        ctx.set_timer(Duration::from_secs(10), timer(ConsumerTimer::ResetOffsetResume));
    }

    fn resume_after_reset(&mut self, ctx: &mut Ctx<'_>) {
        let Some(reset) = self.resets.pop_front() else { return };
        let queues: Vec<MessageQueue> =
            self.process_queue_table.keys().filter(|mq| *mq.topic == *reset.topic).cloned().collect();
        for mq in queues {
            let Some((_, offset)) = reset.offset_table.iter().find(|(q, _)| *q == mq) else { continue };
            self.update_offset(&mq, *offset, false, ctx);
            if let Some(pq) = self.process_queue_table.remove(&mq) {
                self.remove_unnecessary_message_queue_now(&mq, &pq, ctx);
            }
        }
        self.pause = false;
        self.reset_running = false;
        self.run_next_reset(ctx);
    }

    // ----------------------------------------------------------------------------------------------
    // RebalanceService
    // ----------------------------------------------------------------------------------------------

    /// `rebalanceImmediately`: wake the rebalance service (a run in progress is followed by another).
    pub(crate) fn rebalance_immediately(&mut self, ctx: &mut Ctx<'_>) {
        if self.state != ServiceState::Running {
            return;
        }
        if self.rebalance.is_some() {
            self.rebalance_wakeup_pending = true;
            return;
        }
        if let Some(t) = self.rebalance_wait_timer.take() {
            ctx.cancel_timer(t);
        }
        self.start_rebalance(ctx);
    }

    /// The rebalance finished: wait 20 s, unless woken meanwhile.
    pub(crate) fn rebalance_finished(&mut self, ctx: &mut Ctx<'_>) {
        self.rebalance = None;
        if std::mem::take(&mut self.rebalance_wakeup_pending) {
            self.start_rebalance(ctx);
            return;
        }
        self.rebalance_wait_timer = Some(ctx.set_timer(REBALANCE_WAIT_INTERVAL, timer(ConsumerTimer::RebalanceWait)));
    }

    /// Process-queue statistics for views: (queue, cached count, min offset, max offset, locked, dropped).
    pub fn process_queue_summary(&self) -> Vec<(MessageQueue, u64, i64, i64, bool)> {
        self.process_queue_table
            .iter()
            .map(|(mq, pq)| {
                let first = pq.msg_tree_map.keys().next().copied().unwrap_or(-1);
                let last = pq.msg_tree_map.keys().next_back().copied().unwrap_or(-1);
                (mq.clone(), pq.msg_count, first, last, pq.locked)
            })
            .collect()
    }

    /// Busy consume threads.
    pub fn busy_workers(&self) -> u32 {
        self.workers.len() as u32
    }

    pub fn queued_consume_requests(&self) -> u32 {
        self.executor_queue.len() as u32
    }
}

/// `topicRouteDataIsChange`.
pub(crate) fn route_differs(old: &TopicRouteData, new: &TopicRouteData) -> bool {
    let sorted = |r: &TopicRouteData| {
        let mut q = r.queue_datas.clone();
        q.sort_by(|a, b| java::compare_strings(&a.broker_name, &b.broker_name));
        let mut b = r.broker_datas.clone();
        b.sort_by(|x, y| java::compare_strings(&x.broker_name, &y.broker_name));
        (q, b)
    };
    sorted(old) != sorted(new)
}
