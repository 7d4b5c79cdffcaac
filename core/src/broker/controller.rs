//! `BrokerController`: the broker node.
//!
//! * Registration: with every NameServer at start and every `registerNameServerPeriod` (30 s, clamped to
//!   [10 s, 60 s], first periodic run 10 s after start), the full topic table and data version each time
//!   (`forceRegister`); at once again when a send auto-creates a topic. Without R or W in
//!   `brokerPermission`, every topic's perm is ANDed with it in the registration.
//! * Sends: `broker_fast_failure.rs` (thread pool, queue, put lock, flow control) in front of
//!   `send_message_processor.rs` (checks, auto-creation, records, responses) in front of the
//!   `DefaultMessageStore`, hosted over this node's context (`broker_store_io.rs`). A SYNC_FLUSH or
//!   SYNC_MASTER put is answered when the store completes it, never before.
//! * HEART_BEAT from producers (the producer table, dropped when the channel closes).
//! * Graceful shutdown (`NodeAction::Shutdown`): close client channels, shut the store down, send
//!   UNREGISTER_BROKER to every NameServer (4.9.8's order); the simulation ends the process shortly after.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::broker::broker_fast_failure::{next_fast_failure_run, Rejected, SendTask, SendThreadPool, ServiceTimes};
use crate::broker::broker_store_io::BrokerStoreIo;
use crate::broker::consumer_services::{ConsumerServiceTimer, ConsumerServices};
use crate::broker::send_message_processor::{prepare, response_for_puts, ProcessorContext};
use crate::broker::store::default_message_store::{DefaultMessageStore, StoreEvents};
use crate::broker::store::message_store_config::MessageStoreConfig;
use crate::broker::store::put_message_result::{PutMessageResult, PutOutcome, PutTicket};
use crate::broker::store::socket_address::SocketAddress;
use crate::broker::store::store_io::StoreTimer;
use crate::broker::topic_config_manager::{TopicConfigManager, TopicTableSettings, TOPICS_JSON_PATH};
use crate::observation::Observation;
use crate::protocol::{Message, RegisterBroker, Request, Response, ResponseBody, ResponseCode};
use crate::route::{perm, TopicConfig};
use crate::sim::disk::FileId;
use crate::sim::node::NodeId;
use crate::time::{Duration, Time};
use crate::world::{Ctx, SharedDirectory, Timer};

/// `BrokerConfig` (what the simulation uses), RocketMQ's key names and units, plus the service times of a
/// send (ours; keys say their unit).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct BrokerConfig {
    pub broker_cluster_name: String,
    pub register_name_server_period: u64,
    pub auto_create_topic_enable: bool,
    /// Queue count of TBW102, the template for auto-created topics.
    pub default_topic_queue_nums: u32,
    /// PermName bits of the whole broker (6 = RW).
    pub broker_permission: u32,
    pub cluster_topic_enable: bool,
    pub broker_topic_enable: bool,
    /// `min(availableProcessors, 4)` in RocketMQ; the simulated machine has 4 cores.
    pub send_message_thread_pool_nums: u32,
    pub send_thread_pool_queue_capacity: u32,
    pub broker_fast_failure_enable: bool,
    pub wait_time_mills_in_send_queue: u64,
    /// CPU time a send thread spends on one request, plus per body byte.
    pub send_message_cpu_micros: u64,
    pub send_message_cpu_nanos_per_byte: u64,
    /// Time the CommitLog put lock is held per append, plus per body byte.
    pub put_message_lock_micros: u64,
    pub put_message_lock_nanos_per_byte: u64,
    /// Long polling: hold a pull that finds nothing until a message arrives (`consumer_services.rs`).
    pub long_polling_enable: bool,
    /// Without long polling, how long a pull is held (and how often held pulls are checked).
    pub short_polling_time_mills: u64,
    /// Send NOTIFY_CONSUMER_IDS_CHANGED to a group when its members change.
    pub notify_consumer_ids_changed_enable: bool,
    /// How often consume offsets are written to `config/consumerOffset.json`.
    pub flush_consumer_offset_interval: u64,
    /// `slaveReadEnable`: only changes which broker a pull answer suggests (clients here always ask the master).
    pub slave_read_enable: bool,
    /// Create a consumer group's subscription config on first use.
    pub auto_create_subscription_group: bool,
    /// 5.x controller mode: roles come from the controller (`broker/ha/auto_switch.rs`).
    pub enable_controller_mode: bool,
    /// 5.x: among equally up-to-date replicas the controller elects the smallest.
    pub broker_election_priority: u32,
    /// Transactions (`transaction/`): how often half messages are checked (4.9: 60 s; 5.x: 30 s), how old
    /// a half message must be before its first check, how many checks before it is discarded, and
    /// whether transactional sends are refused.
    pub transaction_check_interval: u64,
    pub transaction_time_out: u64,
    pub transaction_check_max: u32,
    pub reject_transaction_message: bool,
    /// SQL92 filtering on message properties (`filter/`); off by default, as in RocketMQ.
    pub enable_property_filter: bool,
    /// Create the message trace topic (1 queue) at start (`trace/`).
    pub trace_topic_enable: bool,
    pub msg_trace_topic_name: String,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            broker_cluster_name: "DefaultCluster".into(),
            register_name_server_period: 30_000,
            auto_create_topic_enable: true,
            default_topic_queue_nums: 8,
            broker_permission: perm::READ | perm::WRITE,
            cluster_topic_enable: true,
            broker_topic_enable: true,
            send_message_thread_pool_nums: 4,
            send_thread_pool_queue_capacity: 10_000,
            broker_fast_failure_enable: true,
            wait_time_mills_in_send_queue: 200,
            send_message_cpu_micros: 40,
            send_message_cpu_nanos_per_byte: 1,
            put_message_lock_micros: 8,
            put_message_lock_nanos_per_byte: 1,
            long_polling_enable: true,
            short_polling_time_mills: 1_000,
            notify_consumer_ids_changed_enable: true,
            flush_consumer_offset_interval: 5_000,
            slave_read_enable: false,
            auto_create_subscription_group: true,
            enable_controller_mode: false,
            broker_election_priority: i32::MAX as u32,
            transaction_check_interval: 60_000,
            transaction_time_out: 6_000,
            transaction_check_max: 15,
            reject_transaction_message: false,
            enable_property_filter: false,
            trace_topic_enable: false,
            msg_trace_topic_name: crate::broker::topic_validator::RMQ_SYS_TRACE_TOPIC.into(),
        }
    }
}

impl BrokerConfig {
    /// RocketMQ clamps the registration period to [10 s, 60 s].
    pub fn effective_register_period(&self) -> Duration {
        Duration::from_millis(self.register_name_server_period.clamp(10_000, 60_000))
    }

    fn service_times(&self) -> ServiceTimes {
        ServiceTimes {
            cpu_micros: self.send_message_cpu_micros,
            cpu_nanos_per_byte: self.send_message_cpu_nanos_per_byte,
            lock_micros: self.put_message_lock_micros,
            lock_nanos_per_byte: self.put_message_lock_nanos_per_byte,
        }
    }

    /// Problems a scenario author must fix.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !(1..=1024).contains(&self.default_topic_queue_nums) {
            problems.push(format!("defaultTopicQueueNums = {} must be in 1..=1024", self.default_topic_queue_nums));
        }
        if self.broker_permission > 15 {
            problems
                .push(format!("brokerPermission = {} is not a PermName combination (0..=15)", self.broker_permission));
        }
        if !(1..=256).contains(&self.send_message_thread_pool_nums) {
            problems.push("sendMessageThreadPoolNums must be in 1..=256".into());
        }
        if self.send_thread_pool_queue_capacity > 1_000_000 {
            problems.push("sendThreadPoolQueueCapacity must be at most 1000000".into());
        }
        if !(1_000..=86_400_000).contains(&self.transaction_check_interval) {
            problems.push("transactionCheckInterval must be in 1000..=86400000 ms".into());
        }
        if self.transaction_check_max > 1_000 {
            problems.push("transactionCheckMax must be at most 1000".into());
        }
        if crate::broker::topic_validator::is_topic_or_group_illegal(&self.broker_cluster_name) {
            problems.push(format!("brokerClusterName `{}` must be [%|a-zA-Z0-9_-] only", self.broker_cluster_name));
        }
        problems
    }
}

#[derive(Clone, Debug)]
pub struct BrokerSpec {
    pub broker_name: String,
    /// 0 = master, > 0 = slave.
    pub broker_id: u64,
    pub broker_addr: String,
    pub ha_server_addr: String,
    pub name_servers: Vec<NodeId>,
    pub config: BrokerConfig,
    /// The store's configuration (a slave's `brokerRole` is SLAVE).
    pub store: MessageStoreConfig,
    /// Topics created by the scenario, in addition to the built-in ones.
    pub topics: Vec<TopicConfig>,
    /// To know the address of a client from its node (born host of its messages).
    pub directory: SharedDirectory,
    /// The group's replication: classic HA, DLedger peers, 5.x controllers (`broker/ha/`).
    pub replication: crate::broker::ha::ReplicationSpec,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BrokerTimer {
    RegisterBrokerAll,
    /// A store service's timer.
    Store(StoreTimer),
    /// A send thread finished its append.
    SendTaskDone {
        task: u64,
    },
    /// `BrokerFastFailure.cleanExpiredRequest`.
    FastFailure,
    /// A timer of the consumer-facing services (`consumer_services.rs`).
    Consumer(ConsumerServiceTimer),
    /// A replication timer (HA, DLedger, 5.x controller mode; `broker/ha/`).
    Replication(crate::broker::ha::ReplicationTimer),
    /// The transaction check service (`transaction/`).
    Transaction(crate::broker::transaction::TransactionTimer),
    /// The 5.x timer wheel's dequeue (`timer/`).
    TimerWheel(crate::broker::timer::TimerWheelTimer),
}

/// A send whose put waits for the store (flush or slave).
#[derive(Clone, Debug)]
struct WaitingSend {
    from: NodeId,
    opaque: Option<u32>,
    queue_id: i32,
    /// One per record: the result so far, and its ticket while it waits.
    results: Vec<(PutMessageResult, Option<PutTicket>)>,
}

/// Counters for views.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BrokerSendStats {
    pub sends_received: u64,
    pub messages_stored: u64,
    pub sends_rejected: u64,
    pub topics_auto_created: u64,
}

#[derive(Clone, Debug)]
pub struct BrokerController {
    pub spec: BrokerSpec,
    pub topic_config_manager: TopicConfigManager,
    /// The master address each NameServer last told this broker (meaningful for slaves).
    pub master_addr: Option<String>,
    /// Registrations sent and answered, for views.
    pub registrations_sent: u64,
    pub registrations_answered: u64,
    pub store: DefaultMessageStore,
    pub send_pool: SendThreadPool,
    /// Producer group → client id → channel (`ProducerManager`).
    pub producer_table: BTreeMap<String, BTreeMap<String, NodeId>>,
    pub stats: BrokerSendStats,
    next_opaque: u32,
    started_at: Time,
    fast_failure_armed: bool,
    waiting_sends: BTreeMap<u64, WaitingSend>,
    ticket_owner: BTreeMap<PutTicket, u64>,
    next_waiting: u64,
    clients: BTreeSet<NodeId>,
    shut_down: bool,
    /// Consumers, offsets, long polling, locks, delayed delivery (`consumer_services.rs`).
    pub consumer_services: ConsumerServices,
    /// HA, DLedger, 5.x controller mode (`broker/ha/`, `broker/dledger/`).
    pub replication: crate::broker::ha::Replication,
    /// Half messages, END_TRANSACTION, the check service (`transaction/`).
    pub transaction: crate::broker::transaction::TransactionService,
    /// What each consumer channel itself subscribes (an observer's notebook: `filter/consistency.rs`).
    pub subscription_ledger: crate::filter::consistency::SubscriptionLedger,
    /// The 5.x timer wheel, with `timerWheelEnable` (`timer/`).
    pub timer_wheel: crate::broker::timer::TimerMessageStore,
}

impl BrokerController {
    pub fn boot(spec: &BrokerSpec) -> Self {
        let mut topic_config_manager = TopicConfigManager::new(&TopicTableSettings {
            cluster_name: spec.config.broker_cluster_name.clone(),
            broker_name: spec.broker_name.clone(),
            auto_create_topic_enable: spec.config.auto_create_topic_enable,
            default_topic_queue_nums: spec.config.default_topic_queue_nums,
            cluster_topic_enable: spec.config.cluster_topic_enable,
            broker_topic_enable: spec.config.broker_topic_enable,
        });
        if spec.config.trace_topic_enable {
            // TopicConfigManager's constructor: the trace topic with one queue, a system topic.
            let topic = &spec.config.msg_trace_topic_name;
            topic_config_manager.topic_config_table.insert(topic.clone(), TopicConfig::with_queues(topic, 1, 6));
        }
        let mut store = DefaultMessageStore::new(spec.store.clone())
            .expect("store configs are validated when the scenario is loaded");
        crate::broker::ha::prepare_store(&mut store, &spec.replication, &spec.broker_name);
        BrokerController {
            spec: spec.clone(),
            topic_config_manager,
            master_addr: None,
            registrations_sent: 0,
            registrations_answered: 0,
            store,
            send_pool: SendThreadPool::default(),
            producer_table: BTreeMap::new(),
            stats: BrokerSendStats::default(),
            next_opaque: 0,
            started_at: Time::ZERO,
            fast_failure_armed: false,
            waiting_sends: BTreeMap::new(),
            ticket_owner: BTreeMap::new(),
            next_waiting: 0,
            clients: BTreeSet::new(),
            shut_down: false,
            consumer_services: ConsumerServices::new(spec.store.delay_level_table()),
            replication: crate::broker::ha::Replication::new(spec.replication.mode),
            transaction: Default::default(),
            subscription_ledger: Default::default(),
            timer_wheel: Default::default(),
        }
    }

    /// The topic table (for views and tests).
    pub fn topic_config_table(&self) -> &BTreeMap<String, TopicConfig> {
        &self.topic_config_manager.topic_config_table
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        self.started_at = ctx.now();
        self.topic_config_manager.data_version.timestamp = ctx.now().as_millis();
        self.load_broker_config(ctx);
        if let Some(file) = ctx.disk().lookup(TOPICS_JSON_PATH) {
            let bytes = ctx.disk().read_vec(file, 0, ctx.disk().len(file));
            self.topic_config_manager.load(&bytes);
        }
        for topic in &self.spec.topics {
            self.topic_config_manager
                .topic_config_table
                .entry(topic.topic_name.clone())
                .or_insert_with(|| topic.clone());
        }
        // Recovery happens here; what it found is in the store's report (views show it).
        self.store.start(&mut BrokerStoreIo { ctx });
        self.start_replication(ctx);
        self.start_consumer_services(ctx);
        self.start_transaction_service(ctx);
        self.start_timer_wheel(ctx);
        self.register_broker_all(ctx);
        ctx.set_timer(Duration::from_secs(10), Timer::Broker(BrokerTimer::RegisterBrokerAll));
    }

    pub fn on_timer(&mut self, timer: BrokerTimer, ctx: &mut Ctx<'_>) {
        match timer {
            BrokerTimer::RegisterBrokerAll => {
                if self.shut_down {
                    return;
                }
                self.register_broker_all(ctx);
                let period = self.spec.config.effective_register_period();
                ctx.set_timer(period, Timer::Broker(BrokerTimer::RegisterBrokerAll));
            }
            BrokerTimer::Store(timer) => {
                let events = self.store.on_timer(&mut BrokerStoreIo { ctx }, timer);
                self.on_store_events(events, ctx);
            }
            BrokerTimer::SendTaskDone { task } => {
                if let Some(task) = self.send_pool.finish(task) {
                    self.process_send(task, ctx);
                }
                self.start_send_threads(ctx);
            }
            BrokerTimer::Consumer(timer) => self.on_consumer_service_timer(timer, ctx),
            BrokerTimer::Replication(timer) => self.on_replication_timer(timer, ctx),
            BrokerTimer::Transaction(timer) => self.on_transaction_timer(timer, ctx),
            BrokerTimer::TimerWheel(timer) => self.on_timer_wheel_timer(timer, ctx),
            BrokerTimer::FastFailure => {
                self.fast_failure_armed = false;
                if !self.spec.config.broker_fast_failure_enable {
                    return;
                }
                let now = ctx.now();
                let busy =
                    self.send_pool.is_os_page_cache_busy(now, self.store.config().os_page_cache_busy_time_out_mills);
                let wait = self.spec.config.wait_time_mills_in_send_queue;
                for rejected in self.send_pool.clean_expired(now, busy, wait) {
                    self.reject(rejected, ctx);
                }
                self.arm_fast_failure(ctx);
            }
        }
    }

    pub fn on_disk_synced(&mut self, file: FileId, synced_len: u64, ctx: &mut Ctx<'_>) {
        let events = self.store.on_disk_synced(&mut BrokerStoreIo { ctx }, file, synced_len);
        self.on_store_events(events, ctx);
    }

    /// `registerBrokerAll`: the full topic table to every NameServer, in parallel.
    pub(crate) fn register_broker_all(&mut self, ctx: &mut Ctx<'_>) {
        let broker_permission = self.spec.config.broker_permission;
        let mut table = self.topic_config_manager.topic_config_table.clone();
        if !perm::is_writeable(broker_permission) || !perm::is_readable(broker_permission) {
            for config in table.values_mut() {
                config.perm &= broker_permission;
            }
        }
        let registration = RegisterBroker {
            cluster_name: self.spec.config.broker_cluster_name.clone(),
            broker_addr: self.spec.broker_addr.clone(),
            broker_name: self.spec.broker_name.clone(),
            broker_id: self.spec.broker_id,
            ha_server_addr: self.spec.ha_server_addr.clone(),
            topic_config_table: table,
            data_version: self.topic_config_manager.data_version,
        };
        for name_server in self.spec.name_servers.clone() {
            let opaque = self.next_opaque();
            self.registrations_sent += 1;
            ctx.send(name_server, Message::Request { opaque, request: Request::RegisterBroker(registration.clone()) });
        }
    }

    fn next_opaque(&mut self) -> u32 {
        let opaque = self.next_opaque;
        self.next_opaque = self.next_opaque.wrapping_add(1);
        opaque
    }

    pub fn on_message(&mut self, from: NodeId, message: Message, ctx: &mut Ctx<'_>) {
        let (opaque, request) = match message {
            Message::Response { response, opaque } => {
                match response.body {
                    ResponseBody::RegisterBrokerResult { master_addr, ha_server_addr } => {
                        self.registrations_answered += 1;
                        self.on_register_result(master_addr.clone(), ha_server_addr);
                        if master_addr.is_some() {
                            self.master_addr = master_addr;
                        }
                    }
                    ResponseBody::Replication(body) => self.on_replication_response(from, opaque, *body, ctx),
                    _ => {}
                }
                return;
            }
            Message::Request { opaque, request } => (Some(opaque), request),
            Message::Oneway { request } => (None, request),
        };
        if self.shut_down {
            // The remoting server is closed: the connection is refused.
            ctx.close_connection(from);
            return;
        }
        self.clients.insert(from);
        match request {
            Request::SendMessage(request) => self.on_send_message(from, opaque, request, ctx),
            Request::HeartBeat(heartbeat) => {
                for producer in &heartbeat.producer_data_set {
                    self.producer_table
                        .entry(producer.group_name.clone())
                        .or_default()
                        .insert(heartbeat.client_id.clone(), from);
                }
                respond(ctx, from, opaque, Response::success(ResponseBody::Empty));
            }
            Request::Consumer(request) => self.process_consumer_request(from, opaque, *request, ctx),
            Request::Replication(request) => self.on_replication_request(from, opaque, *request, ctx),
            Request::Transaction(request) => self.on_transaction_request(from, opaque, *request, ctx),
            other => respond(ctx, from, opaque, other.not_supported()),
        }
    }

    /// `NettyRemotingAbstract.processRequestCommand` for the send processor.
    fn on_send_message(
        &mut self,
        from: NodeId,
        opaque: Option<u32>,
        request: Box<crate::protocol::SendMessageRequest>,
        ctx: &mut Ctx<'_>,
    ) {
        self.stats.sends_received += 1;
        let now = ctx.now();
        let busy_timeout = self.store.config().os_page_cache_busy_time_out_mills;
        if self.send_pool.is_os_page_cache_busy(now, busy_timeout) {
            let remark = "[REJECTREQUEST]system busy, start flow control for a while";
            ctx.observe(Observation::SendRejected {
                topic: request.header.topic.clone(),
                code: 2,
                remark: remark.into(),
            });
            self.stats.sends_rejected += 1;
            respond(ctx, from, opaque, Response::error(ResponseCode::SYSTEM_BUSY, remark));
            return;
        }
        let task = SendTask { id: self.send_pool.next_task_id(), from, opaque, request, created_at: now };
        if let Err(rejected) = self.send_pool.submit(task, self.spec.config.send_thread_pool_queue_capacity) {
            self.reject(rejected, ctx);
            return;
        }
        self.start_send_threads(ctx);
        self.arm_fast_failure(ctx);
    }

    fn start_send_threads(&mut self, ctx: &mut Ctx<'_>) {
        let slowdown = ctx.disk().slowdown_factor;
        let config = &self.spec.config;
        let started = self.send_pool.start_ready(
            ctx.now(),
            config.send_message_thread_pool_nums,
            config.service_times(),
            slowdown,
        );
        for (task, done_at) in started {
            ctx.set_timer(done_at - ctx.now(), Timer::Broker(BrokerTimer::SendTaskDone { task }));
        }
    }

    fn arm_fast_failure(&mut self, ctx: &mut Ctx<'_>) {
        if self.fast_failure_armed || self.send_pool.queue_len() == 0 || !self.spec.config.broker_fast_failure_enable {
            return;
        }
        let next = next_fast_failure_run(self.started_at, ctx.now());
        self.fast_failure_armed = true;
        ctx.set_timer(next - ctx.now(), Timer::Broker(BrokerTimer::FastFailure));
    }

    /// Answer a send SYSTEM_BUSY without running it (oneway sends get no answer).
    fn reject(&mut self, rejected: Rejected, ctx: &mut Ctx<'_>) {
        self.stats.sends_rejected += 1;
        let Rejected { task, remark } = rejected;
        ctx.observe(Observation::SendRejected {
            topic: task.request.header.topic.clone(),
            code: 2,
            remark: remark.clone(),
        });
        respond(ctx, task.from, task.opaque, Response::error(ResponseCode::SYSTEM_BUSY, remark));
    }

    /// A send thread runs the request: checks, auto-creation, the put.
    fn process_send(&mut self, task: SendTask, ctx: &mut Ctx<'_>) {
        let born_host = {
            let entry = self.spec.directory.entry(task.from);
            let [a, b, c, d] = entry.ip;
            SocketAddress::v4(a, b, c, d, entry.port)
        };
        let store_host = SocketAddress::parse(&self.spec.broker_addr).expect("broker addresses are ip:port");
        let broker_ip = self.spec.broker_addr.split(':').next().unwrap_or_default().to_string();
        let context = ProcessorContext {
            broker_permission: self.spec.config.broker_permission,
            auto_create_topic_enable: self.spec.config.auto_create_topic_enable,
            cluster_name: &self.spec.config.broker_cluster_name,
            broker_ip: &broker_ip,
            store_host,
            born_host,
            now_ms: ctx.now().as_millis(),
        };
        let preparation = {
            let rng = ctx.rng();
            prepare(&task.request, &mut self.topic_config_manager, &context, |n| {
                (rng.below(99_999_999) as i32) % (n.max(1) as i32)
            })
        };
        if let Some(created) = preparation.created {
            self.stats.topics_auto_created += 1;
            ctx.observe(Observation::TopicAutoCreated {
                topic: created.topic_name.clone(),
                read_queue_nums: created.read_queue_nums,
                write_queue_nums: created.write_queue_nums,
                perm: created.perm,
            });
            self.persist_topics(ctx);
            self.register_broker_all(ctx);
        }
        let prepared = match self.prepare_transactional(preparation.outcome, ctx.now()) {
            Ok(prepared) => prepared,
            Err(response) => {
                self.stats.sends_rejected += 1;
                ctx.observe(Observation::SendRejected {
                    topic: task.request.header.topic.clone(),
                    code: response.code.0,
                    remark: response.remark.clone().unwrap_or_default(),
                });
                respond(ctx, task.from, task.opaque, response);
                return;
            }
        };
        let mut results = Vec::with_capacity(prepared.records.len());
        {
            let mut io = BrokerStoreIo { ctx };
            for record in &prepared.records {
                let (result, ticket) = match self.store.put_message(&mut io, record) {
                    PutOutcome::Done(result) => (result, None),
                    PutOutcome::Pending { ticket, result } => (result, Some(ticket)),
                };
                if let Some(append) = &result.append {
                    self.stats.messages_stored += 1;
                    // Where the CommitLog put it: a delayed message is in SCHEDULE_TOPIC_XXXX until delivered.
                    let (topic, queue_id) = self.stored_destination(record);
                    io.ctx.observe(Observation::MessageStored {
                        topic,
                        queue_id,
                        queue_offset: append.logics_offset.0,
                        commit_log_offset: append.wrote_offset.0,
                        offset_msg_id: append.msg_id(),
                        msg_id: record.properties.unique_key().unwrap_or_default().to_string(),
                        store_timestamp: append.store_timestamp,
                        wrote_bytes: append.wrote_bytes,
                    });
                }
                results.push((result, ticket));
            }
        }
        let puts: Vec<PutMessageResult> = results.iter().map(|(r, _)| r.clone()).collect();
        self.on_send_puts(&prepared, &puts, ctx);
        let waiting = WaitingSend { from: task.from, opaque: task.opaque, queue_id: prepared.queue_id, results };
        if waiting.results.iter().any(|(_, t)| t.is_some()) {
            let id = self.next_waiting;
            self.next_waiting += 1;
            for ticket in waiting.results.iter().filter_map(|(_, t)| *t) {
                self.ticket_owner.insert(ticket, id);
            }
            self.waiting_sends.insert(id, waiting);
        } else {
            self.answer(waiting, ctx);
        }
        let deferred = self.store.take_deferred_events();
        self.on_store_events(deferred, ctx);
    }

    fn answer(&mut self, waiting: WaitingSend, ctx: &mut Ctx<'_>) {
        let results: Vec<PutMessageResult> = waiting.results.into_iter().map(|(r, _)| r).collect();
        let response = response_for_puts(&results, waiting.queue_id, self.store.config().max_message_size);
        if response.code != ResponseCode::SUCCESS && results.iter().all(|r| r.append.is_none()) {
            self.stats.sends_rejected += 1;
        }
        respond(ctx, waiting.from, waiting.opaque, response);
    }

    /// Final statuses of waiting puts: answer the sends whose every record is settled.
    pub(crate) fn on_store_events(&mut self, events: StoreEvents, ctx: &mut Ctx<'_>) {
        self.on_messages_arrived(&events.messages_arrived, ctx);
        for completion in events.put_completions {
            let Some(owner) = self.ticket_owner.remove(&completion.ticket) else { continue };
            let Some(waiting) = self.waiting_sends.get_mut(&owner) else { continue };
            for (result, ticket) in &mut waiting.results {
                if *ticket == Some(completion.ticket) {
                    result.status = completion.status;
                    *ticket = None;
                }
            }
            if waiting.results.iter().all(|(_, t)| t.is_none()) {
                let waiting = self.waiting_sends.remove(&owner).expect("present");
                self.answer(waiting, ctx);
            }
        }
        self.on_replication_store_events(ctx);
    }

    /// `TopicConfigManager.persist()`: `topics.json` into the page cache (no sync, as `string2File`).
    pub(crate) fn persist_topics(&mut self, ctx: &mut Ctx<'_>) {
        let bytes = self.topic_config_manager.encode();
        let file = ctx.open_file(TOPICS_JSON_PATH);
        ctx.truncate(file, 0);
        ctx.write(file, 0, &bytes);
    }

    /// A client's channel closed (`ClientHousekeepingService`): forget its producers.
    pub fn on_connection_closed(&mut self, peer: NodeId, ctx: &mut Ctx<'_>) {
        self.on_replication_connection_closed(peer, ctx);
        self.subscription_ledger.forget_channel(peer);
        self.on_consumer_channel_closed(peer, ctx);
        self.clients.remove(&peer);
        for clients in self.producer_table.values_mut() {
            clients.retain(|_, channel| *channel != peer);
        }
        self.producer_table.retain(|_, clients| !clients.is_empty());
    }

    /// `BrokerController.shutdown` (4.9.8 order): the remoting server closes its channels, the store shuts
    /// down, then UNREGISTER_BROKER goes to every NameServer.
    pub fn on_shutdown(&mut self, ctx: &mut Ctx<'_>) {
        if self.shut_down {
            return;
        }
        self.shut_down = true;
        for client in std::mem::take(&mut self.clients) {
            ctx.close_connection(client);
        }
        self.shutdown_consumer_services(ctx);
        self.shutdown_replication(ctx);
        let events = self.store.shutdown(&mut BrokerStoreIo { ctx });
        self.on_store_events(events, ctx);
        for name_server in self.spec.name_servers.clone() {
            let opaque = self.next_opaque();
            let request = Request::UnregisterBroker {
                cluster_name: self.spec.config.broker_cluster_name.clone(),
                broker_addr: self.spec.broker_addr.clone(),
                broker_name: self.spec.broker_name.clone(),
                broker_id: self.spec.broker_id,
            };
            ctx.send(name_server, Message::Request { opaque, request });
        }
    }
}

fn respond(ctx: &mut Ctx<'_>, to: NodeId, opaque: Option<u32>, response: Response) {
    if let Some(opaque) = opaque {
        ctx.send(to, Message::Response { opaque, response });
    }
}
