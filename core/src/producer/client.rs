//! The producer process as a node: `MQClientInstance` (route tables, NameServer choice, periodic route
//! refresh and heartbeats), `DefaultMQProducerImpl` (every send path) and the Netty remoting client
//! (pending requests, timeouts, channels), driven by a workload (`workload.rs`) or by tests.
//!
//! Timers, as `MQClientInstance.startScheduledTask` and `NettyRemotingClient.start` set them:
//! * route refresh every `pollNameServerInterval` (30 s), first 10 ms after start, for every topic in the
//!   publish table (TBW102 is always there: `DefaultMQProducerImpl.start` puts it);
//! * `cleanOfflineBroker` + HEART_BEAT to every master, every `heartbeatBrokerInterval` (30 s), first after 1 s;
//! * the async response-table scan, every 1 s from 3 s after start: an async request times out at the first
//!   scan with `begin + timeout + 1000 <= now` (so 1 to 2 s late); sync calls time out exactly.
//!
//! Route lookups are serialized (`lockNamesrv`): one GET_ROUTEINFO_BY_TOPIC in flight at a time, to the
//! chosen NameServer; the choice sticks while its channel is open and moves round robin (`namesrvIndex`, seeded
//! in [0, 999)) when it breaks. A send that needs a route waits for it (Java blocks the sending thread).
//!
//! Channels: the client opens a channel by sending on it; a timeout closes it (`clientCloseSocketIfTimeout`,
//! default true), which fails every other request outstanding on it at once (`failFast`). A channel that closes
//! before anything came back is a failed connect (`RemotingConnectException`); the kernel answers a segment
//! sent to a killed process with a reset, so a dead broker is noticed within a round trip, while a powered-off
//! one is noticed only by timeouts.
//!
//! Simplifications (documented, deliberate): one sending thread per application thread, and async sends all
//! use thread 0's queue counter (Java's async executor has several threads); a sync "call timeout" is declared
//! when the budget is spent to the microsecond (a JVM always wakes a little after its deadline); a broker missing
//! from `brokerAddrTable` fails the attempt with "The broker[X] not exist" without the extra route lookup
//! `sendKernelImpl` makes first.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use crate::broker::broker_store_io::wall_clock_ms;
use crate::broker::store::message_id::MessageClientIdSetter;
use crate::broker::topic_validator;
use crate::java;
use crate::message_queue::MessageQueue;
use crate::observation::{Observation, SendOutcome};
use crate::producer::compression;
use crate::producer::config::ProducerConfig;
use crate::producer::message::{Message, MessageBatch};
use crate::producer::selector::{MessageQueueSelector, SelectorArg};
use crate::producer::send_result::{client_error_code, ClientException, RemotingException, SendResult, SendStatus};
use crate::producer::topic_publish_info::{
    topic_route_data_to_publish_info, MqFaultStrategy, SelectContext, TopicPublishInfo,
};
use crate::producer::workload::SendMode;
use crate::protocol::send::{SendMessageRequest, SendMessageRequestHeader, SendRequestCode};
use crate::protocol::{HeartbeatData, Message as Remoting, Request, Response, ResponseBody, ResponseCode};
use crate::route::TopicRouteData;
use crate::sim::node::{NodeId, TimerId};
use crate::time::{Duration, Time};
use crate::world::{Ctx, SharedDirectory, Timer};

/// `NettyRemotingClient`: the response-table scan starts 3 s after start and runs every second.
const SCAN_RESPONSE_TABLE_DELAY: Duration = Duration::from_secs(3);
const SCAN_RESPONSE_TABLE_PERIOD: Duration = Duration::from_secs(1);
/// `MQClientInstance.startScheduledTask`: first route refresh 10 ms after start, first heartbeat after 1 s.
const FIRST_ROUTE_REFRESH: Duration = Duration::from_millis(10);
const FIRST_HEARTBEAT: Duration = Duration::from_secs(1);

/// How a producer node is built.
#[derive(Clone, Debug)]
pub struct ProducerSpec {
    pub client_ip: [u8; 4],
    /// The NameServers this client knows (`namesrvAddr`), as nodes and as addresses.
    pub name_servers: Vec<NodeId>,
    pub name_server_addrs: Vec<String>,
    /// To resolve broker addresses from routes.
    pub directory: SharedDirectory,
    pub config: ProducerConfig,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProducerTimer {
    /// `updateTopicRouteInfoFromNameServer` for every publish topic.
    PollNameServer,
    /// `cleanOfflineBroker` and `sendHeartbeatToAllBrokerWithLock`.
    HeartbeatAllBrokers,
    /// A sync call's deadline.
    RequestTimeout { opaque: u32 },
    /// `scanResponseTable` (async deadlines).
    ScanResponseTable,
    /// The workload's next message is due.
    WorkloadNext,
    /// The workload resends a message it kept after a failure.
    WorkloadResend { job: u64 },
    /// The transactional application's timers (`transaction.rs`).
    Transaction(crate::producer::transaction::TransactionTimer),
    /// The trace dispatcher's flush check (`trace/dispatcher.rs`).
    TraceFlush,
}

/// What to send: one message or a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    Single(Message),
    Batch(MessageBatch),
}

impl Payload {
    pub fn topic(&self) -> &str {
        match self {
            Payload::Single(m) => &m.topic,
            Payload::Batch(b) => &b.topic,
        }
    }

    /// The messages, in order (one for a single message).
    pub fn messages(&self) -> Vec<&Message> {
        match self {
            Payload::Single(m) => vec![m],
            Payload::Batch(b) => b.messages.iter().collect(),
        }
    }

    /// UNIQ_KEYs set so far.
    pub fn msg_ids(&self) -> Vec<String> {
        self.messages().iter().filter_map(|m| m.unique_key().map(str::to_string)).collect()
    }
}

/// Where a send may go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `send(msg)`: round robin, retries per mode.
    RoundRobin,
    /// `send(msg, selector, arg)`: the selector picks, exactly one attempt.
    Selector { selector: MessageQueueSelector, arg: SelectorArg },
}

/// The end of a send, as the application sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    pub send_id: u64,
    /// The payload back (with its UNIQ_KEYs set), for an application that resends.
    pub payload: Payload,
    pub mode: SendMode,
    /// None for a oneway send (no result exists).
    pub result: Option<Result<SendResult, ClientException>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Purpose {
    Route,
    Heartbeat,
    Send { send_id: u64 },
}

#[derive(Clone, Debug)]
struct PendingCall {
    peer: NodeId,
    addr: String,
    purpose: Purpose,
    sent_at: Time,
    timeout_ms: i64,
    /// Sync calls have their own deadline timer; async ones wait for the scan.
    sync_timer: Option<TimerId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChannelState {
    /// Sent on, nothing received yet: closing now means the connect failed.
    Connecting,
    Established,
}

#[derive(Clone, Debug)]
struct RouteUpdate {
    topic: String,
    is_default: bool,
    /// The send waiting for it, if any (periodic refreshes have none).
    waiter: Option<u64>,
}

#[derive(Clone, Debug)]
struct RouteInFlight {
    update: RouteUpdate,
    opaque: u32,
    /// NameServers tried for this call (Java's connect loop tries each once).
    tries: u32,
}

/// Outcome of a route update, as `updateTopicRouteInfoFromNameServer` ends.
#[derive(Clone, Debug)]
enum RouteOutcome {
    /// Returned normally (route changed or not, or TOPIC_NOT_EXIST logged).
    Done,
    /// A remoting failure: `IllegalStateException` for a waiting send.
    Failed(RemotingException),
}

#[derive(Clone, Debug)]
enum Phase {
    /// Waiting for `tryToFindTopicPublishInfo`; `default_tried` after the TBW102 lookup was asked.
    AwaitingRoute { default_tried: bool },
    /// An attempt is on the wire, to this broker (the name shared with its queue).
    InFlight { opaque: u32, broker_name: Rc<str> },
}

#[derive(Clone, Debug)]
struct SendOperation {
    thread: u32,
    mode: SendMode,
    payload: Payload,
    target: Target,
    begin: Time,
    timeout_ms: u64,
    times_total: u32,
    times: u32,
    brokers_sent: Vec<Option<String>>,
    last_mq: Option<MessageQueue>,
    exception: Option<ClientException>,
    result: Option<SendResult>,
    phase: Phase,
    /// Attempts made so far (sync loop and async retries), for observations.
    attempts: u32,
    /// The async `onExceptionImpl` counter.
    async_times: u32,
    /// The current async call's `timeoutMillis` (can go negative after a slow failure).
    async_timeout_ms: i64,
    /// The async request, reused by retries (`request.setOpaque(...)` and resend).
    async_request: Option<SendMessageRequest>,
    attempt_begin: Time,
}

/// Counters for views.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ProducerStats {
    pub sends_started: u64,
    pub send_ok: u64,
    pub send_not_ok: u64,
    pub send_failed: u64,
    pub oneway: u64,
    pub attempts: u64,
    pub route_lookups: u64,
}

/// `MQClientInstance` + `DefaultMQProducerImpl` + the remoting client.
#[derive(Clone, Debug)]
pub struct ProducerClient {
    pub spec: ProducerSpec,
    pub client_id: String,
    pub topic_route_table: BTreeMap<String, TopicRouteData>,
    pub broker_addr_table: BTreeMap<String, BTreeMap<u64, String>>,
    pub topic_publish_info_table: BTreeMap<String, TopicPublishInfo>,
    pub fault_strategy: MqFaultStrategy,
    id_setter: MessageClientIdSetter,
    started_at: Time,
    // Remoting client.
    next_opaque: u32,
    pending: BTreeMap<u32, PendingCall>,
    channels: BTreeMap<NodeId, ChannelState>,
    /// Channels we closed ourselves: the echo of the close is not news.
    self_closed: BTreeSet<NodeId>,
    namesrv_index: i32,
    namesrv_chosen: Option<NodeId>,
    scan_timer: Option<Time>,
    // lockNamesrv.
    route_queue: VecDeque<RouteUpdate>,
    route_in_flight: Option<RouteInFlight>,
    // Sends.
    next_send_id: u64,
    sends: BTreeMap<u64, SendOperation>,
    completions: Vec<Completion>,
    pub stats: ProducerStats,
    /// `AsyncTraceDispatcher`, with `enableMsgTrace` (`trace/`).
    pub trace: Option<crate::trace::dispatcher::AsyncTraceDispatcher>,
    /// The process's consumer sends the heartbeats, this producer's group in them (one `MQClientInstance`
    /// per process): this client then cleans its offline brokers on the heartbeat schedule but sends none.
    heartbeats_by_host: bool,
}

fn ip_string(ip: [u8; 4]) -> String {
    let [a, b, c, d] = ip;
    format!("{a}.{b}.{c}.{d}")
}

impl ProducerClient {
    /// A client that has not started yet (`Start` does the rest).
    pub fn new(spec: &ProducerSpec) -> Self {
        let version = spec.config.version();
        ProducerClient {
            spec: spec.clone(),
            client_id: String::new(),
            topic_route_table: BTreeMap::new(),
            broker_addr_table: BTreeMap::new(),
            topic_publish_info_table: BTreeMap::new(),
            fault_strategy: MqFaultStrategy::new(spec.config.send_latency_fault_enable, version),
            id_setter: MessageClientIdSetter::new(IpAddr::V4(Ipv4Addr::from(spec.client_ip)), 0, 0, 0),
            started_at: Time::ZERO,
            next_opaque: 0,
            pending: BTreeMap::new(),
            channels: BTreeMap::new(),
            self_closed: BTreeSet::new(),
            namesrv_index: 0,
            namesrv_chosen: None,
            scan_timer: None,
            route_queue: VecDeque::new(),
            route_in_flight: None,
            next_send_id: 0,
            sends: BTreeMap::new(),
            completions: Vec::new(),
            heartbeats_by_host: false,
            stats: ProducerStats::default(),
            trace: None,
        }
    }

    fn config(&self) -> &ProducerConfig {
        &self.spec.config
    }

    /// `DefaultMQProducerImpl.start` + `MQClientInstance.start`: a fresh process with a new pid.
    pub fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        self.started_at = ctx.now();
        // The process's pid and MessageClientIDSetter's class-loader hash, seeded stand-ins.
        let pid = ctx.rng().below(1 << 22) as i32 + 1;
        let class_loader_hash = ctx.rng().next_i32();
        self.id_setter = MessageClientIdSetter::new(
            IpAddr::V4(Ipv4Addr::from(self.spec.client_ip)),
            pid,
            class_loader_hash,
            wall_clock_ms(ctx.now()),
        );
        // `changeInstanceNameToPID`: instanceName "DEFAULT" becomes "<pid>#<nanoTime>".
        self.client_id = format!("{}@{pid}#{}", ip_string(self.spec.client_ip), ctx.now().as_micros() * 1_000);
        self.namesrv_index = ctx.rng().below(999) as i32;
        let key = self.config().create_topic_key.clone();
        self.topic_publish_info_table.insert(key, TopicPublishInfo::default());
        ctx.set_timer(FIRST_ROUTE_REFRESH, Timer::Producer(ProducerTimer::PollNameServer));
        ctx.set_timer(FIRST_HEARTBEAT, Timer::Producer(ProducerTimer::HeartbeatAllBrokers));
        if self.config().enable_msg_trace {
            let topic = self.config().customized_trace_topic.clone();
            let topic = topic.unwrap_or_else(|| topic_validator::RMQ_SYS_TRACE_TOPIC.to_string());
            self.trace = Some(crate::trace::dispatcher::AsyncTraceDispatcher::new(&topic, ctx.now()));
        }
    }

    /// Number this client's requests (opaques) from `base` on: a producer sharing a process, and so its
    /// channels, with a consumer (`consumer/forward.rs`) keeps its request ids apart from the consumer's.
    pub fn start_opaques_at(&mut self, base: u32) {
        self.next_opaque = base;
    }

    /// Leave the heartbeats to the process's consumer, which lists this producer's group in its own.
    pub fn heartbeat_through_host(&mut self) {
        self.heartbeats_by_host = true;
    }

    /// Whether request `opaque` of this client still waits for its response.
    pub fn awaits_response(&self, opaque: u32) -> bool {
        self.pending.contains_key(&opaque)
    }

    /// `MessageClientIDSetter.createUniqID()` of this process (an application may set a message's
    /// UNIQ_KEY itself before sending it; the producer keeps an id it finds).
    pub fn create_unique_id(&mut self, now: Time) -> String {
        self.id_setter.create_unique_id(wall_clock_ms(now))
    }

    /// Completions since the last call (the node hands them to the application).
    pub fn take_completions(&mut self) -> Vec<Completion> {
        std::mem::take(&mut self.completions)
    }

    /// The id the next [`ProducerClient::send`] will return.
    pub fn next_send_id(&self) -> u64 {
        self.next_send_id
    }

    /// Sends not finished yet.
    pub fn in_flight_sends(&self) -> u32 {
        self.sends.len() as u32
    }

    pub fn pending_requests(&self) -> u32 {
        self.pending.len() as u32
    }

    // ----------------------------------------------------------------------------------------------
    // Timers and inputs
    // ----------------------------------------------------------------------------------------------

    pub fn on_timer(&mut self, timer: ProducerTimer, ctx: &mut Ctx<'_>) {
        match timer {
            ProducerTimer::PollNameServer => {
                let topics: BTreeSet<String> = self.topic_publish_info_table.keys().cloned().collect();
                for topic in topics {
                    self.request_route_update(RouteUpdate { topic, is_default: false, waiter: None }, ctx);
                }
                let period = Duration::from_millis(self.config().poll_name_server_interval);
                ctx.set_timer(period, Timer::Producer(ProducerTimer::PollNameServer));
            }
            ProducerTimer::HeartbeatAllBrokers => {
                self.clean_offline_broker();
                if !self.heartbeats_by_host {
                    self.send_heartbeat_to_all_brokers(ctx);
                }
                let period = Duration::from_millis(self.config().heartbeat_broker_interval);
                ctx.set_timer(period, Timer::Producer(ProducerTimer::HeartbeatAllBrokers));
            }
            ProducerTimer::RequestTimeout { opaque } => {
                if let Some(call) = self.pending.remove(&opaque) {
                    let timeout_ms = call.timeout_ms.max(0) as u64;
                    let error = RemotingException::Timeout { addr: call.addr.clone(), timeout_ms };
                    // clientCloseSocketIfTimeout: the channel is closed, failing what else was on it.
                    let others = self.close_channel(call.peer, ctx);
                    self.fail_call(opaque, call, CallFailure::Sync(error), ctx);
                    self.fail_calls_of_closed_channel(others, false, ctx);
                }
            }
            ProducerTimer::ScanResponseTable => {
                self.scan_timer = None;
                let now = ctx.now();
                let expired: Vec<u32> = self
                    .pending
                    .iter()
                    .filter(|(_, c)| c.sync_timer.is_none())
                    .filter(|(_, c)| {
                        let deadline_ms = c.sent_at.as_millis() as i64 + c.timeout_ms + 1_000;
                        deadline_ms <= now.as_millis() as i64
                    })
                    .map(|(o, _)| *o)
                    .collect();
                for opaque in expired {
                    if let Some(call) = self.pending.remove(&opaque) {
                        let message = format!("wait response timeout {}ms", call.timeout_ms);
                        self.fail_call(opaque, call, CallFailure::Async(ClientException::client(-1, message)), ctx);
                    }
                }
                self.arm_scan(ctx);
            }
            ProducerTimer::TraceFlush => {
                let action = self.trace.as_mut().map(|t| t.on_flush(ctx.now()));
                self.on_trace_action(action, ctx);
            }
            ProducerTimer::WorkloadNext | ProducerTimer::WorkloadResend { .. } | ProducerTimer::Transaction(_) => {
                unreachable!("workload timers are handled by the producer node")
            }
        }
    }

    pub fn on_message(&mut self, from: NodeId, message: Remoting, ctx: &mut Ctx<'_>) {
        if self.channels.contains_key(&from) {
            self.channels.insert(from, ChannelState::Established);
        }
        let Remoting::Response { opaque, response } = message else { return };
        // A response nobody waits for any more ("receive response, but not matched any request").
        let Some(call) = self.pending.remove(&opaque) else { return };
        if call.peer != from {
            self.pending.insert(opaque, call);
            return;
        }
        if let Some(timer) = call.sync_timer {
            ctx.cancel_timer(timer);
        }
        match call.purpose {
            Purpose::Route => self.on_route_response(opaque, response, ctx),
            Purpose::Heartbeat => {}
            Purpose::Send { send_id } => self.on_send_response(send_id, opaque, &call, response, ctx),
        }
    }

    /// The channel to `peer` closed (peer died, reset, or closed it).
    pub fn on_connection_closed(&mut self, peer: NodeId, ctx: &mut Ctx<'_>) {
        if self.self_closed.remove(&peer) {
            return;
        }
        let Some(state) = self.channels.remove(&peer) else { return };
        let failed: Vec<(u32, PendingCall)> = self.take_pending_of(peer);
        self.fail_calls_of_closed_channel(failed, state == ChannelState::Connecting, ctx);
    }

    fn take_pending_of(&mut self, peer: NodeId) -> Vec<(u32, PendingCall)> {
        let opaques: Vec<u32> = self.pending.iter().filter(|(_, c)| c.peer == peer).map(|(o, _)| *o).collect();
        opaques.into_iter().filter_map(|o| self.pending.remove(&o).map(|c| (o, c))).collect()
    }

    /// Close our channel to `peer` (its outstanding calls are returned, to be failed by the caller).
    fn close_channel(&mut self, peer: NodeId, ctx: &mut Ctx<'_>) -> Vec<(u32, PendingCall)> {
        if self.channels.remove(&peer).is_some() {
            self.self_closed.insert(peer);
            ctx.close_connection(peer);
        }
        self.take_pending_of(peer)
    }

    fn fail_calls_of_closed_channel(&mut self, calls: Vec<(u32, PendingCall)>, connecting: bool, ctx: &mut Ctx<'_>) {
        for (opaque, call) in calls {
            if let Some(timer) = call.sync_timer {
                ctx.cancel_timer(timer);
            }
            let addr = call.addr.clone();
            let failure = if connecting {
                CallFailure::Connect(RemotingException::Connect { addr })
            } else if call.sync_timer.is_some() {
                CallFailure::Sync(RemotingException::SendRequest { addr })
            } else {
                CallFailure::Async(ClientException::client(-1, "send request failed"))
            };
            self.fail_call(opaque, call, failure, ctx);
        }
    }

    // ----------------------------------------------------------------------------------------------
    // Remoting
    // ----------------------------------------------------------------------------------------------

    fn next_opaque(&mut self) -> u32 {
        let opaque = self.next_opaque;
        self.next_opaque = self.next_opaque.wrapping_add(1);
        opaque
    }

    /// Send a request and remember it: a sync call gets a deadline timer, an async one waits for the scan.
    fn invoke(
        &mut self,
        peer: NodeId,
        addr: &str,
        request: Request,
        purpose: Purpose,
        deadline: Deadline,
        ctx: &mut Ctx<'_>,
    ) -> u32 {
        let opaque = self.next_opaque();
        self.channels.entry(peer).or_insert(ChannelState::Connecting);
        ctx.send(peer, Remoting::Request { opaque, request });
        let (timeout_ms, sync_timer) = match deadline {
            Deadline::Sync(after_us) => {
                let timer = ctx.set_timer(
                    Duration::from_micros(after_us),
                    Timer::Producer(ProducerTimer::RequestTimeout { opaque }),
                );
                ((after_us / 1_000) as i64, Some(timer))
            }
            Deadline::Async(timeout_ms) => (timeout_ms, None),
        };
        self.pending.insert(
            opaque,
            PendingCall { peer, addr: addr.to_string(), purpose, sent_at: ctx.now(), timeout_ms, sync_timer },
        );
        if sync_timer.is_none() {
            self.arm_scan(ctx);
        }
        opaque
    }

    /// Keep the response-table scan running while async calls are outstanding, on Java's 1 s grid.
    fn arm_scan(&mut self, ctx: &mut Ctx<'_>) {
        let any_async = self.pending.values().any(|c| c.sync_timer.is_none());
        if !any_async || self.scan_timer.is_some() {
            return;
        }
        let first = self.started_at + SCAN_RESPONSE_TABLE_DELAY;
        let now = ctx.now();
        let next = if now < first {
            first
        } else {
            let period = SCAN_RESPONSE_TABLE_PERIOD.as_micros();
            let elapsed = (now - first).as_micros();
            first + Duration::from_micros((elapsed / period + 1) * period)
        };
        self.scan_timer = Some(next);
        ctx.set_timer(next - now, Timer::Producer(ProducerTimer::ScanResponseTable));
    }

    /// The broker node behind an address (None: no such node, as an unreachable host).
    fn node_of(&self, addr: &str) -> Option<NodeId> {
        self.spec.directory.node_of_addr(addr)
    }

    // ----------------------------------------------------------------------------------------------
    // NameServer routes (MQClientInstance)
    // ----------------------------------------------------------------------------------------------

    fn request_route_update(&mut self, update: RouteUpdate, ctx: &mut Ctx<'_>) {
        self.route_queue.push_back(update);
        self.pump_route_queue(ctx);
    }

    fn pump_route_queue(&mut self, ctx: &mut Ctx<'_>) {
        while self.route_in_flight.is_none() {
            let Some(update) = self.route_queue.pop_front() else { return };
            self.start_route_call(RouteInFlight { update, opaque: 0, tries: 0 }, ctx);
        }
    }

    /// `getAndCreateNameserverChannel`: keep the chosen NameServer while its channel is open, else the next.
    fn choose_name_server(&mut self, force_next: bool) -> Option<(NodeId, String)> {
        let count = self.spec.name_servers.len();
        if count == 0 {
            return None;
        }
        if let Some(chosen) = self.namesrv_chosen.filter(|c| !force_next && self.channels.contains_key(c)) {
            let i = self.spec.name_servers.iter().position(|n| *n == chosen).expect("chosen among the list");
            return Some((chosen, self.spec.name_server_addrs[i].clone()));
        }
        self.namesrv_index = self.namesrv_index.wrapping_add(1);
        let i = java::rem_i32(java::abs_i32(self.namesrv_index), count as i32).max(0) as usize;
        self.namesrv_chosen = Some(self.spec.name_servers[i]);
        Some((self.spec.name_servers[i], self.spec.name_server_addrs[i].clone()))
    }

    fn start_route_call(&mut self, mut flight: RouteInFlight, ctx: &mut Ctx<'_>) {
        let force_next = flight.tries > 0;
        let Some((peer, addr)) = self.choose_name_server(force_next) else {
            // No NameServer configured: `invokeSync(null, ...)` finds no channel.
            let error = RemotingException::Connect { addr: "null".into() };
            self.finish_route_update(flight.update, RouteOutcome::Failed(error), ctx);
            return;
        };
        let topic =
            if flight.update.is_default { self.config().create_topic_key.clone() } else { flight.update.topic.clone() };
        self.stats.route_lookups += 1;
        let deadline = Deadline::Sync(self.config().mq_client_api_timeout * 1_000);
        flight.opaque = self.invoke(peer, &addr, Request::GetRouteInfoByTopic { topic }, Purpose::Route, deadline, ctx);
        flight.tries += 1;
        self.route_in_flight = Some(flight);
    }

    fn on_route_response(&mut self, opaque: u32, response: Response, ctx: &mut Ctx<'_>) {
        let Some(flight) = self.route_in_flight.take_if(|f| f.opaque == opaque) else { return };
        let update = flight.update;
        // TOPIC_NOT_EXIST (or any other code) is an MQClientException the update logs: nothing changes.
        if let (ResponseCode::SUCCESS, ResponseBody::TopicRoute(mut route)) = (response.code, response.body) {
            if update.is_default {
                for queue_data in &mut route.queue_datas {
                    let nums = self.config().default_topic_queue_nums.min(queue_data.read_queue_nums);
                    queue_data.read_queue_nums = nums;
                    queue_data.write_queue_nums = nums;
                }
            }
            self.install_route(&update.topic, route, ctx);
        }
        self.finish_route_update(update, RouteOutcome::Done, ctx);
    }

    /// The `changed` branch of `updateTopicRouteInfoFromNameServer`.
    fn install_route(&mut self, topic: &str, route: TopicRouteData, ctx: &mut Ctx<'_>) {
        let changed = self.topic_route_table.get(topic).is_none_or(|old| route_differs(old, &route));
        let needs_update = self.topic_publish_info_table.get(topic).is_none_or(|info| !info.ok());
        if !changed && !needs_update {
            return;
        }
        for broker_data in &route.broker_datas {
            self.broker_addr_table.insert(broker_data.broker_name.clone(), broker_data.broker_addrs.clone());
        }
        let mut info = topic_route_data_to_publish_info(topic, &route);
        info.have_topic_router_info = true;
        ctx.observe(Observation::PublishRouteChanged {
            topic: topic.to_string(),
            queues: info.message_queue_list.clone(),
        });
        self.topic_publish_info_table.insert(topic.to_string(), info);
        self.topic_route_table.insert(topic.to_string(), route);
    }

    fn finish_route_update(&mut self, update: RouteUpdate, outcome: RouteOutcome, ctx: &mut Ctx<'_>) {
        self.route_in_flight = None;
        if let Some(send_id) = update.waiter {
            self.on_route_ready(send_id, outcome, ctx);
        }
        self.pump_route_queue(ctx);
    }

    /// A route call failed at the remoting level. A connect failure moves on to the next NameServer
    /// within the same call (Java's connect loop), once per NameServer.
    fn fail_route_call(&mut self, opaque: u32, failure: CallFailure, ctx: &mut Ctx<'_>) {
        let Some(flight) = self.route_in_flight.take_if(|f| f.opaque == opaque) else { return };
        let retry_connect =
            matches!(failure, CallFailure::Connect(_)) && (flight.tries as usize) < self.spec.name_servers.len();
        if retry_connect {
            self.start_route_call(flight, ctx);
            return;
        }
        let error = match failure {
            CallFailure::Sync(e) | CallFailure::Connect(e) => e,
            CallFailure::Async(_) => RemotingException::SendRequest { addr: String::new() },
        };
        self.finish_route_update(flight.update, RouteOutcome::Failed(error), ctx);
    }

    /// `cleanOfflineBroker`: forget addresses no route mentions any more.
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

    /// Producers heartbeat masters only.
    fn send_heartbeat_to_all_brokers(&mut self, ctx: &mut Ctx<'_>) {
        let heartbeat = HeartbeatData {
            client_id: self.client_id.clone(),
            producer_data_set: vec![crate::protocol::send::ProducerData {
                group_name: self.config().producer_group.clone(),
            }],
        };
        let masters: Vec<String> = self.broker_addr_table.values().filter_map(|a| a.get(&0).cloned()).collect();
        for addr in masters {
            if let Some(peer) = self.node_of(&addr) {
                let deadline = Deadline::Sync(self.config().mq_client_api_timeout * 1_000);
                self.invoke(peer, &addr, Request::HeartBeat(heartbeat.clone()), Purpose::Heartbeat, deadline, ctx);
            }
        }
    }

    /// `updateFaultItem` with the (isolation, reachable) flags each version passes for this kind of end:
    /// 4.9 isolates on every exception; 5.x isolates on remoting and broker errors, marks a sync send's broker
    /// errors and an async call that could not be made unreachable (remoting errors stay reachable while the
    /// detector is off, its default; an async callback's broker error too).
    fn record_fault(&mut self, broker_name: &str, latency_ms: u64, kind: FaultKind, now_ms: u64) {
        let (isolation, reachable) = match (self.fault_strategy.version, kind) {
            (_, FaultKind::Success) => (false, true),
            (crate::producer::latency_fault::FaultStrategyVersion::V4_9, _) => (true, true),
            (_, FaultKind::Client) => (false, true),
            (_, FaultKind::Remoting) => (true, true),
            (_, FaultKind::Broker | FaultKind::AsyncInvokeFailed) => (true, false),
        };
        self.fault_strategy.update_fault_item(broker_name, latency_ms, isolation, reachable, now_ms);
    }

    /// `findBrokerAddressInPublish`: the master's address.
    fn find_broker_address_in_publish(&self, broker_name: &str) -> Option<String> {
        self.broker_addr_table.get(broker_name).and_then(|a| a.get(&0)).cloned()
    }

    // ----------------------------------------------------------------------------------------------
    // Sends (DefaultMQProducerImpl)
    // ----------------------------------------------------------------------------------------------

    /// Start a send; its end is reported through [`ProducerClient::take_completions`]. Returns the send id.
    pub fn send(&mut self, payload: Payload, mode: SendMode, target: Target, thread: u32, ctx: &mut Ctx<'_>) -> u64 {
        let send_id = self.next_send_id;
        self.next_send_id += 1;
        self.stats.sends_started += 1;
        let times_total = match (mode, &target) {
            (SendMode::Sync, Target::RoundRobin) => 1 + self.config().retry_times_when_send_failed,
            _ => 1,
        };
        let timeout_ms = self.config().send_msg_timeout;
        let mut op = SendOperation {
            thread,
            mode,
            payload,
            target,
            begin: ctx.now(),
            timeout_ms,
            times_total,
            times: 0,
            brokers_sent: vec![None; times_total as usize],
            last_mq: None,
            exception: None,
            result: None,
            phase: Phase::AwaitingRoute { default_tried: false },
            attempts: 0,
            async_times: 0,
            async_timeout_ms: 0,
            async_request: None,
            attempt_begin: ctx.now(),
        };
        // `batch()` gives every member its UNIQ_KEY before the send; then `Validators.checkMessage`.
        if let Payload::Batch(batch) = &mut op.payload {
            let now_ms = wall_clock_ms(ctx.now());
            for message in &mut batch.messages {
                message.set_unique_key_if_absent(|| self.id_setter.create_unique_id(now_ms));
            }
        }
        if let Err(e) = self.check_message(&op.payload) {
            self.sends.insert(send_id, op);
            self.complete(send_id, Some(Err(e)), ctx);
            return send_id;
        }
        let topic = op.payload.topic().to_string();
        self.sends.insert(send_id, op);
        // tryToFindTopicPublishInfo
        if self.topic_publish_info_table.get(&topic).is_some_and(TopicPublishInfo::ok) {
            self.proceed_with_route(send_id, ctx);
        } else {
            self.topic_publish_info_table.entry(topic.clone()).or_default();
            self.request_route_update(RouteUpdate { topic, is_default: false, waiter: Some(send_id) }, ctx);
        }
        send_id
    }

    /// `Validators.checkMessage` (for a batch: each member, then the encoded batch).
    fn check_message(&self, payload: &Payload) -> Result<(), ClientException> {
        let max = u64::from(self.config().max_message_size);
        let check_one = |topic: &str, body_len: u64| -> Result<(), ClientException> {
            topic_validator::check_topic_client(topic).map_err(|m| ClientException::client(-1, m))?;
            if topic_validator::is_not_allowed_send_topic(topic) {
                return Err(ClientException::client(-1, format!("Sending message to topic[{topic}] is forbidden.")));
            }
            if body_len == 0 {
                return Err(ClientException::client_with_code(13, "the message body length is zero"));
            }
            if body_len > max {
                return Err(ClientException::client_with_code(
                    13,
                    &format!("the message body size over max value, MAX: {max}"),
                ));
            }
            Ok(())
        };
        match payload {
            Payload::Single(m) => check_one(&m.topic, m.body.len() as u64),
            Payload::Batch(batch) => {
                for m in &batch.messages {
                    check_one(&m.topic, m.body.len() as u64).map_err(|e| {
                        ClientException::client(-1, format!("Failed to initiate the MessageBatch: {e}"))
                    })?;
                }
                check_one(&batch.topic, batch.encoded_len())
            }
        }
    }

    fn on_route_ready(&mut self, send_id: u64, outcome: RouteOutcome, ctx: &mut Ctx<'_>) {
        let Some(op) = self.sends.get_mut(&send_id) else { return };
        if let RouteOutcome::Failed(e) = outcome {
            let message = format!("org.apache.rocketmq.remoting.exception.{}: {}", e.class_name(), e.message());
            self.complete(send_id, Some(Err(ClientException::IllegalState { message })), ctx);
            return;
        }
        let topic = op.payload.topic().to_string();
        let Phase::AwaitingRoute { default_tried } = op.phase else { return };
        let info = self.topic_publish_info_table.get(&topic);
        let found = info.is_some_and(|i| i.have_topic_router_info || i.ok());
        if !found && !default_tried {
            op.phase = Phase::AwaitingRoute { default_tried: true };
            self.request_route_update(RouteUpdate { topic, is_default: true, waiter: Some(send_id) }, ctx);
            return;
        }
        self.proceed_with_route(send_id, ctx);
    }

    /// The route lookup is over: start the attempt loop, or fail with "No route info".
    fn proceed_with_route(&mut self, send_id: u64, ctx: &mut Ctx<'_>) {
        let op = &self.sends[&send_id];
        let topic = op.payload.topic().to_string();
        let ok = self.topic_publish_info_table.get(&topic).is_some_and(TopicPublishInfo::ok);
        if !ok {
            let error = if self.spec.name_servers.is_empty() {
                ClientException::client(
                    client_error_code::NO_NAME_SERVER_EXCEPTION,
                    "No name server address, please set it.",
                )
            } else {
                match op.target {
                    Target::RoundRobin => ClientException::client(
                        client_error_code::NOT_FOUND_TOPIC_EXCEPTION,
                        format!("No route info of this topic: {topic}"),
                    ),
                    Target::Selector { .. } => {
                        ClientException::client(-1, format!("No route info for this topic, {topic}"))
                    }
                }
            };
            self.complete(send_id, Some(Err(error)), ctx);
            return;
        }
        match op.target {
            Target::RoundRobin => self.next_attempt(send_id, ctx),
            Target::Selector { .. } => self.select_and_send(send_id, ctx),
        }
    }

    /// `sendSelectImpl`: the selector picks one queue of the publish list; one attempt.
    fn select_and_send(&mut self, send_id: u64, ctx: &mut Ctx<'_>) {
        let op = &self.sends[&send_id];
        let Target::Selector { selector, arg } = &op.target else { unreachable!("selector sends only") };
        let topic = op.payload.topic().to_string();
        let queues = &self.topic_publish_info_table[&topic].message_queue_list;
        let draw = ctx.rng().next_u32();
        let selected = selector.select(queues, arg, draw).cloned();
        let cost = ctx.now() - op.begin;
        let Some(mq) = selected else {
            self.complete(send_id, Some(Err(ClientException::client(-1, "select message queue return null."))), ctx);
            return;
        };
        if cost.as_micros() >= op.timeout_ms * 1_000 {
            let error = RemotingException::TooMuchRequest { message: "sendSelectImpl call timeout".into() };
            self.complete(send_id, Some(Err(ClientException::Remoting(error))), ctx);
            return;
        }
        self.sends.get_mut(&send_id).expect("the send exists").last_mq = Some(mq.clone());
        self.send_kernel(send_id, mq, ctx);
    }

    /// One turn of `sendDefaultImpl`'s loop: select a queue and send, or end the loop.
    fn next_attempt(&mut self, send_id: u64, ctx: &mut Ctx<'_>) {
        let op = self.sends.get_mut(&send_id).expect("the send exists");
        if op.times >= op.times_total {
            self.end_of_loop(send_id, false, ctx);
            return;
        }
        let topic = op.payload.topic().to_string();
        let last_broker = op.last_mq.as_ref().map(|mq| mq.broker_name.clone());
        let at = SelectContext {
            thread: op.thread,
            last_broker_name: last_broker.as_deref(),
            reset_index: op.times > 0,
            now_ms: ctx.now().as_millis(),
        };
        let info = self.topic_publish_info_table.get_mut(&topic).expect("route checked");
        let Some(mq) = self.fault_strategy.select_one_message_queue(info, at, ctx.rng()) else {
            self.end_of_loop(send_id, false, ctx);
            return;
        };
        let op = self.sends.get_mut(&send_id).expect("the send exists");
        op.brokers_sent[op.times as usize] = Some(mq.broker_name.to_string());
        op.last_mq = Some(mq.clone());
        let cost = ctx.now() - op.begin;
        if cost.as_micros() >= op.timeout_ms * 1_000 {
            self.end_of_loop(send_id, true, ctx);
            return;
        }
        self.send_kernel(send_id, mq, ctx);
    }

    /// `sendKernelImpl`: build the request for `mq` and put it on the wire.
    fn send_kernel(&mut self, send_id: u64, mq: MessageQueue, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        let Some(addr) = self.find_broker_address_in_publish(&mq.broker_name) else {
            let error = ClientException::client(-1, format!("The broker[{}] not exist", mq.broker_name));
            self.on_attempt_failed(send_id, &mq.broker_name, error, ctx);
            return;
        };
        let op = self.sends.get_mut(&send_id).expect("the send exists");
        if let Payload::Single(message) = &mut op.payload {
            let now_ms = wall_clock_ms(now);
            let setter = &mut self.id_setter;
            message.set_unique_key_if_absent(|| setter.create_unique_id(now_ms));
        }
        let request = build_request(&op.payload, &mq, &self.spec.config, now);
        // What is left of sendMsgTimeout, to the microsecond (the deadline is begin + timeout).
        let remaining_us = (op.timeout_ms * 1_000).saturating_sub((now - op.begin).as_micros());
        if op.mode == SendMode::Async {
            op.async_timeout_ms = (remaining_us / 1_000) as i64;
            op.async_request = Some(request.clone());
        }
        self.dispatch(send_id, mq, addr, request, remaining_us, ctx);
    }

    /// An async retry (`onExceptionImpl`): the same request (queue id included) to the chosen broker.
    fn send_async_retry(&mut self, send_id: u64, broker_name: &str, ctx: &mut Ctx<'_>) {
        let op = self.sends.get(&send_id).expect("the send exists");
        let mut request = op.async_request.clone().expect("an async send kept its request");
        let addr = self.find_broker_address_in_publish(broker_name).unwrap_or_else(|| "null".into());
        request.header.topic = op.payload.topic().to_string();
        let mq = MessageQueue::new(op.payload.topic(), broker_name, request.header.queue_id);
        let remaining_us = op.async_timeout_ms.max(0) as u64 * 1_000;
        self.dispatch(send_id, mq, addr, request, remaining_us, ctx);
    }

    /// Put one attempt on the wire: sync with a deadline `remaining_us` away, async with the scan, oneway bare.
    fn dispatch(
        &mut self,
        send_id: u64,
        mq: MessageQueue,
        addr: String,
        request: SendMessageRequest,
        remaining_us: u64,
        ctx: &mut Ctx<'_>,
    ) {
        let now = ctx.now();
        let op = self.sends.get_mut(&send_id).expect("the send exists");
        op.attempt_begin = now;
        op.attempts += 1;
        self.stats.attempts += 1;
        ctx.observe(Observation::SendAttempt {
            send_id,
            attempt: op.attempts,
            msg_ids: op.payload.msg_ids(),
            mode: op.mode,
            queue: mq.clone(),
            broker_addr: addr.clone(),
        });
        let mode = op.mode;
        let async_timeout_ms = op.async_timeout_ms;
        op.phase = Phase::InFlight { opaque: u32::MAX, broker_name: Rc::clone(&mq.broker_name) };
        let Some(peer) = self.node_of(&addr) else {
            let error = RemotingException::Connect { addr };
            match mode {
                SendMode::Async => {
                    self.record_fault(&mq.broker_name, 0, FaultKind::AsyncInvokeFailed, now.as_millis());
                    self.async_on_exception(send_id, &mq.broker_name, ClientException::Remoting(error), true, ctx);
                }
                _ => self.on_attempt_failed(send_id, &mq.broker_name, ClientException::Remoting(error), ctx),
            }
            return;
        };
        let request = Request::SendMessage(Box::new(request));
        let opaque = match mode {
            SendMode::Oneway => {
                self.channels.entry(peer).or_insert(ChannelState::Connecting);
                ctx.send(peer, Remoting::Oneway { request });
                self.record_fault(&mq.broker_name, 0, FaultKind::Success, now.as_millis());
                self.complete(send_id, None, ctx);
                return;
            }
            SendMode::Sync => {
                self.invoke(peer, &addr, request, Purpose::Send { send_id }, Deadline::Sync(remaining_us), ctx)
            }
            SendMode::Async => {
                self.invoke(peer, &addr, request, Purpose::Send { send_id }, Deadline::Async(async_timeout_ms), ctx)
            }
        };
        let op = self.sends.get_mut(&send_id).expect("the send exists");
        op.phase = Phase::InFlight { opaque, broker_name: Rc::clone(&mq.broker_name) };
    }

    /// A response to a send (`processSendResponse`).
    fn on_send_response(
        &mut self,
        send_id: u64,
        opaque: u32,
        call: &PendingCall,
        response: Response,
        ctx: &mut Ctx<'_>,
    ) {
        let Some(op) = self.sends.get(&send_id) else { return };
        let Phase::InFlight { opaque: expected, broker_name } = &op.phase else { return };
        if *expected != opaque {
            return;
        }
        let broker_name = broker_name.clone();
        let now_ms = ctx.now().as_millis();
        let latency = now_ms.saturating_sub(op.attempt_begin.as_millis());
        let status = SendStatus::from_response_code(response.code);
        let result = match (status, response.body) {
            (Some(send_status), ResponseBody::SendMessage(header)) => Ok(SendResult {
                send_status,
                msg_id: op.payload.msg_ids().join(","),
                offset_msg_id: header.msg_id,
                message_queue: MessageQueue {
                    topic: op.payload.topic().into(),
                    broker_name: Rc::clone(&broker_name),
                    queue_id: header.queue_id,
                },
                queue_offset: header.queue_offset,
                transaction_id: header.transaction_id,
            }),
            _ => Err(ClientException::Broker {
                response_code: response.code,
                remark: response.remark.unwrap_or_default(),
                broker_addr: call.addr.clone(),
            }),
        };
        let selector = matches!(op.target, Target::Selector { .. });
        match (op.mode, result) {
            (SendMode::Sync, Ok(result)) => {
                if !selector {
                    self.record_fault(&broker_name, latency, FaultKind::Success, now_ms);
                }
                let retry =
                    result.send_status != SendStatus::SendOk && self.config().retry_another_broker_when_not_store_ok;
                let op = self.sends.get_mut(&send_id).expect("the send exists");
                if retry && !selector {
                    op.result = Some(result);
                    op.times += 1;
                    self.next_attempt(send_id, ctx);
                } else {
                    self.complete(send_id, Some(Ok(result)), ctx);
                }
            }
            (SendMode::Sync, Err(e)) => {
                if selector {
                    self.complete(send_id, Some(Err(e)), ctx);
                } else {
                    self.on_attempt_failed(send_id, &broker_name, e, ctx);
                }
            }
            (SendMode::Async, Ok(result)) => {
                self.record_fault(&broker_name, latency, FaultKind::Success, now_ms);
                self.complete(send_id, Some(Ok(result)), ctx);
            }
            (SendMode::Async, Err(e)) => {
                // 5.x's async callback records a broker error as (isolation, reachable), unlike the sync loop.
                self.record_fault(&broker_name, latency, FaultKind::Remoting, now_ms);
                self.async_on_exception(send_id, &broker_name, e, false, ctx);
            }
            (SendMode::Oneway, _) => {}
        }
    }

    /// A call failed without a response.
    fn fail_call(&mut self, opaque: u32, call: PendingCall, failure: CallFailure, ctx: &mut Ctx<'_>) {
        match call.purpose {
            Purpose::Route => self.fail_route_call(opaque, failure, ctx),
            Purpose::Heartbeat => {}
            Purpose::Send { send_id } => {
                let Some(op) = self.sends.get(&send_id) else { return };
                let Phase::InFlight { broker_name, .. } = &op.phase else { return };
                let broker_name = broker_name.clone();
                let now_ms = ctx.now().as_millis();
                let latency = now_ms.saturating_sub(op.attempt_begin.as_millis());
                let selector = matches!(op.target, Target::Selector { .. });
                match op.mode {
                    SendMode::Sync => {
                        let error = match failure {
                            CallFailure::Sync(e) | CallFailure::Connect(e) => ClientException::Remoting(e),
                            CallFailure::Async(e) => e,
                        };
                        if selector {
                            self.complete(send_id, Some(Err(error)), ctx);
                        } else {
                            self.on_attempt_failed(send_id, &broker_name, error, ctx);
                        }
                    }
                    SendMode::Async => {
                        // The callback sees an MQClientException ("send request failed", "wait response timeout"):
                        // a network failure; a connection that never opened made `invokeAsync` throw instead.
                        let kind = match failure {
                            CallFailure::Connect(_) => FaultKind::AsyncInvokeFailed,
                            _ => FaultKind::Remoting,
                        };
                        self.record_fault(&broker_name, latency, kind, now_ms);
                        let error = match failure {
                            CallFailure::Sync(e) | CallFailure::Connect(e) => ClientException::Remoting(e),
                            CallFailure::Async(e) => e,
                        };
                        self.async_on_exception(send_id, &broker_name, error, true, ctx);
                    }
                    SendMode::Oneway => {}
                }
            }
        }
    }

    /// A sync attempt of `sendDefaultImpl` failed: record the fault, then retry or stop per the exception.
    fn on_attempt_failed(&mut self, send_id: u64, broker_name: &str, error: ClientException, ctx: &mut Ctx<'_>) {
        let now_ms = ctx.now().as_millis();
        let op = self.sends.get(&send_id).expect("the send exists");
        if op.mode == SendMode::Async {
            // sendKernelImpl threw before the async call was made (e.g. no broker address): sendDefaultImpl's loop
            // catches it like a sync failure; with one attempt in total, the loop then ends.
            let latency = now_ms.saturating_sub(op.attempt_begin.as_millis());
            self.record_fault(broker_name, latency, FaultKind::of(&error), now_ms);
            let op = self.sends.get_mut(&send_id).expect("the send exists");
            op.exception = Some(error);
            op.times += 1;
            self.next_attempt(send_id, ctx);
            return;
        }
        let latency = now_ms.saturating_sub(op.attempt_begin.as_millis());
        self.record_fault(broker_name, latency, FaultKind::of(&error), now_ms);
        let retry = match &error {
            ClientException::Broker { response_code, .. } => {
                self.config().retry_response_codes.contains(&response_code.0)
            }
            _ => true,
        };
        let op = self.sends.get_mut(&send_id).expect("the send exists");
        if !retry {
            let result = op.result.take();
            match result {
                Some(result) => self.complete(send_id, Some(Ok(result)), ctx),
                None => self.complete(send_id, Some(Err(error)), ctx),
            }
            return;
        }
        op.exception = Some(error);
        op.times += 1;
        self.next_attempt(send_id, ctx);
    }

    /// After `sendDefaultImpl`'s loop: the last result, "call timeout", or "Send [N] times, still failed".
    fn end_of_loop(&mut self, send_id: u64, call_timeout: bool, ctx: &mut Ctx<'_>) {
        let op = self.sends.get_mut(&send_id).expect("the send exists");
        if let Some(result) = op.result.take() {
            self.complete(send_id, Some(Ok(result)), ctx);
            return;
        }
        if call_timeout {
            let error = RemotingException::TooMuchRequest { message: "sendDefaultImpl call timeout".into() };
            self.complete(send_id, Some(Err(ClientException::Remoting(error))), ctx);
            return;
        }
        let brokers: Vec<String> = op.brokers_sent.iter().map(|b| b.clone().unwrap_or_else(|| "null".into())).collect();
        let info = format!(
            "Send [{}] times, still failed, cost [{}]ms, Topic: {}, BrokersSent: [{}]",
            op.times,
            (ctx.now() - op.begin).as_millis(),
            op.payload.topic(),
            brokers.join(", ")
        );
        let code = match &op.exception {
            Some(ClientException::Broker { response_code, .. }) => response_code.0,
            Some(ClientException::Remoting(RemotingException::Connect { .. })) => {
                client_error_code::CONNECT_BROKER_EXCEPTION
            }
            Some(ClientException::Remoting(RemotingException::Timeout { .. })) => {
                client_error_code::ACCESS_BROKER_TIMEOUT
            }
            Some(ClientException::Client { .. }) => client_error_code::BROKER_NOT_EXIST_EXCEPTION,
            _ => -1,
        };
        self.complete(send_id, Some(Err(ClientException::client(code, info))), ctx);
    }

    /// `MQClientAPIImpl.onExceptionImpl`: retry an async send on a network failure, else call back.
    fn async_on_exception(
        &mut self,
        send_id: u64,
        broker_name: &str,
        error: ClientException,
        need_retry: bool,
        ctx: &mut Ctx<'_>,
    ) {
        let now = ctx.now();
        let retries = self.config().retry_times_when_send_async_failed;
        let op = self.sends.get_mut(&send_id).expect("the send exists");
        op.async_times += 1;
        let cost_ms = (now - op.attempt_begin).as_millis() as i64;
        if !(need_retry && op.async_times <= retries) {
            self.complete(send_id, Some(Err(error)), ctx);
            return;
        }
        op.async_timeout_ms -= cost_ms;
        // Retry on the broker the selection picks, avoiding the failed one; a selector send has no publish info
        // here and goes back to the same broker.
        let retry_broker = match op.target {
            Target::RoundRobin => {
                let topic = op.payload.topic().to_string();
                let at = SelectContext {
                    thread: op.thread,
                    last_broker_name: Some(broker_name),
                    reset_index: false,
                    now_ms: now.as_millis(),
                };
                let info = self.topic_publish_info_table.get_mut(&topic).expect("route known");
                self.fault_strategy.select_one_message_queue(info, at, ctx.rng())
            }
            Target::Selector { .. } => op.last_mq.clone(),
        };
        let Some(mq) = retry_broker else {
            self.complete(send_id, Some(Err(error)), ctx);
            return;
        };
        let op = self.sends.get_mut(&send_id).expect("the send exists");
        if op.async_timeout_ms < 0 {
            // `invokeAsync` finds the budget spent and throws; the catch retries again at once.
            op.attempt_begin = now;
            let addr = self.find_broker_address_in_publish(&mq.broker_name).unwrap_or_else(|| "null".into());
            let error = ClientException::Remoting(RemotingException::TooMuchRequest {
                message: format!("invokeAsync call the addr[{addr}] timeout"),
            });
            self.record_fault(&mq.broker_name, 0, FaultKind::AsyncInvokeFailed, now.as_millis());
            self.async_on_exception(send_id, &mq.broker_name, error, true, ctx);
            return;
        }
        self.send_async_retry(send_id, &mq.broker_name, ctx);
    }

    /// The send is over: observe it, hand it to the application.
    fn complete(&mut self, send_id: u64, result: Option<Result<SendResult, ClientException>>, ctx: &mut Ctx<'_>) {
        let op = self.sends.remove(&send_id).expect("the send exists");
        let outcome = match &result {
            None => {
                self.stats.oneway += 1;
                SendOutcome::Oneway
            }
            Some(Ok(r)) => {
                if r.send_status == SendStatus::SendOk {
                    self.stats.send_ok += 1;
                } else {
                    self.stats.send_not_ok += 1;
                }
                SendOutcome::Sent {
                    status: r.send_status,
                    offset_msg_id: r.offset_msg_id.clone(),
                    queue: r.message_queue.clone(),
                    queue_offset: r.queue_offset,
                }
            }
            Some(Err(e)) => {
                self.stats.send_failed += 1;
                SendOutcome::Failed {
                    exception: e.class_name().into(),
                    message: e.message(),
                    response_code: e.response_code(),
                }
            }
        };
        ctx.observe(Observation::SendCompleted {
            send_id,
            msg_ids: op.payload.msg_ids(),
            attempts: op.attempts,
            outcome,
        });
        if let (Some(Ok(result)), Payload::Single(message)) = (&result, &op.payload) {
            self.trace_send(message, result, op.attempt_begin, ctx);
        }
        self.completions.push(Completion { send_id, payload: op.payload, mode: op.mode, result });
    }
}

impl ProducerClient {
    /// `SendMessageTraceHookImpl.sendMessageAfter`: a Pub record for a send with a result (not for the trace
    /// topic's own messages).
    fn trace_send(&mut self, message: &Message, result: &SendResult, attempt_begin: Time, ctx: &mut Ctx<'_>) {
        let Some(trace) = &self.trace else { return };
        if message.topic.starts_with(&trace.trace_topic) {
            return;
        }
        let addr = self.find_broker_address_in_publish(&result.message_queue.broker_name).unwrap_or_default();
        let group = self.config().producer_group.clone();
        let context = crate::trace::pub_context(&group, message, result, &addr, attempt_begin, ctx.now());
        self.trace_append(&context, ctx);
    }

    /// Hand a record to the trace dispatcher (when tracing is on).
    pub fn trace_append(&mut self, context: &crate::trace::encoding::TraceContext, ctx: &mut Ctx<'_>) {
        let action = self.trace.as_mut().map(|t| t.append(context, ctx.now()));
        self.on_trace_action(action, ctx);
    }

    fn on_trace_action(&mut self, action: Option<crate::trace::dispatcher::TraceAction>, ctx: &mut Ctx<'_>) {
        use crate::trace::dispatcher::TraceAction;
        match action {
            Some(TraceAction::ArmFlush(at)) => {
                ctx.set_timer(at - ctx.now(), Timer::Producer(ProducerTimer::TraceFlush));
            }
            Some(TraceAction::Send(batch)) => {
                // `sendTraceDataByMQ`: one message, the records as body, their msgIds and keys as KEYS.
                let keys: Vec<&str> = batch.keys.iter().map(String::as_str).collect();
                let mut message = Message::new(&batch.topic, None, &keys, batch.body.into_bytes());
                message.flag = 0;
                self.send(Payload::Single(message), SendMode::Async, Target::RoundRobin, 0, ctx);
            }
            Some(TraceAction::Nothing) | None => {}
        }
    }
}

/// What an attempt ended with, for `updateFaultItem`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FaultKind {
    Success,
    /// `MQClientException` (e.g. no broker address).
    Client,
    /// A `RemotingException` (timeout, connect, broken channel).
    Remoting,
    /// `MQBrokerException`.
    Broker,
    /// An async call that could not even be made (`invokeAsync` threw: no connection, budget spent).
    AsyncInvokeFailed,
}

impl FaultKind {
    fn of(error: &ClientException) -> FaultKind {
        match error {
            ClientException::Broker { .. } => FaultKind::Broker,
            ClientException::Client { .. } | ClientException::IllegalState { .. } => FaultKind::Client,
            ClientException::Remoting(_) => FaultKind::Remoting,
        }
    }
}

/// When a call gives up waiting.
#[derive(Clone, Copy, Debug)]
enum Deadline {
    /// `invokeSync`: exactly this many µs from now.
    Sync(u64),
    /// `invokeAsync` with this `timeoutMillis`: found by the response-table scan.
    Async(i64),
}

/// How a call without a response failed.
#[derive(Clone, Debug)]
enum CallFailure {
    /// A sync call: timeout or broken channel.
    Sync(RemotingException),
    /// The channel never opened.
    Connect(RemotingException),
    /// An async call's failure as the callback sees it (always retried: `needRetry` is true).
    Async(ClientException),
}

/// `topicRouteDataIsChange`: compare with queue and broker data sorted by broker name.
fn route_differs(old: &TopicRouteData, new: &TopicRouteData) -> bool {
    let sorted = |r: &TopicRouteData| {
        let mut q = r.queue_datas.clone();
        q.sort_by(|a, b| java::compare_strings(&a.broker_name, &b.broker_name));
        let mut b = r.broker_datas.clone();
        b.sort_by(|x, y| java::compare_strings(&x.broker_name, &y.broker_name));
        (q, b)
    };
    sorted(old) != sorted(new)
}

/// The SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE request for `payload` on `mq`, as `sendKernelImpl` builds it.
fn build_request(payload: &Payload, mq: &MessageQueue, config: &ProducerConfig, now: Time) -> SendMessageRequest {
    let (code, body, sys_flag, flag, properties, batch) = match payload {
        Payload::Single(message) => {
            let (body, sys_flag) =
                match compression::try_to_compress(&message.body, config.compress_msg_body_over_howmuch) {
                    Some(compressed) => (compressed, compression::COMPRESSED_SYS_FLAG),
                    None => (message.body.clone(), 0),
                };
            (SendRequestCode::SendMessageV2, body, sys_flag, message.flag, message.properties_string(), false)
        }
        // The batch message itself carries no properties; its body is the encoded members.
        Payload::Batch(batch) => (SendRequestCode::SendBatchMessage, batch.encode(), 0, 0, String::new(), true),
    };
    let sys_flag = match payload {
        Payload::Single(m) if m.properties.get("TRAN_MSG").is_some_and(|v| v.eq_ignore_ascii_case("true")) => {
            sys_flag | crate::broker::store::message_sys_flag::TRANSACTION_PREPARED_TYPE
        }
        _ => sys_flag,
    };
    SendMessageRequest {
        code,
        header: SendMessageRequestHeader {
            producer_group: config.producer_group.clone(),
            topic: mq.topic.to_string(),
            default_topic: config.create_topic_key.clone(),
            default_topic_queue_nums: config.default_topic_queue_nums as i32,
            queue_id: mq.queue_id,
            sys_flag,
            born_timestamp: wall_clock_ms(now),
            flag,
            properties,
            reconsume_times: 0,
            unit_mode: false,
            batch,
            max_reconsume_times: None,
        },
        body,
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;
    use crate::prng::{Concern, Prng, StreamOwner};
    use crate::protocol::send::SendMessageResponseHeader;
    use crate::route::{BrokerData, QueueData};
    use crate::sim::disk::{DiskConfig, NodeDisk};
    use crate::sim::node::{Command, Context};
    use crate::world::{AnyNode, Directory, NodeKind};

    const NAMESRV: NodeId = NodeId(0);
    const BROKER_A: NodeId = NodeId(1);
    const BROKER_B: NodeId = NodeId(2);

    struct Harness {
        client: ProducerClient,
        rng: Prng,
        disk: NodeDisk,
        next_timer: u64,
        now: Time,
    }

    impl Harness {
        fn new(config: ProducerConfig) -> Harness {
            let mut directory = Directory::default();
            directory.add("namesrv-0", NodeKind::NameServer, 9876);
            directory.add("broker-a", NodeKind::Broker, 10911);
            directory.add("broker-b", NodeKind::Broker, 10911);
            directory.add("producer-0", NodeKind::Producer, 40000);
            let spec = ProducerSpec {
                client_ip: [10, 0, 0, 4],
                name_servers: vec![NAMESRV],
                name_server_addrs: vec!["10.0.0.1:9876".into()],
                directory: Rc::new(directory),
                config,
            };
            let mut harness = Harness {
                client: ProducerClient::new(&spec),
                rng: Prng::stream(5, StreamOwner::Node(3), Concern::Node),
                disk: NodeDisk::new(DiskConfig::default()),
                next_timer: 0,
                now: Time::ZERO,
            };
            harness.step(|c, ctx| c.on_start(ctx));
            harness
        }

        /// Run `f` at the current time; return the commands it produced.
        fn step(&mut self, f: impl FnOnce(&mut ProducerClient, &mut Ctx<'_>)) -> Vec<Command<AnyNode>> {
            let mut commands = Vec::new();
            let mut ctx = Context::detached(
                self.now,
                NodeId(3),
                &mut self.rng,
                &mut self.disk,
                &mut commands,
                &mut self.next_timer,
            );
            f(&mut self.client, &mut ctx);
            commands
        }

        fn at(&mut self, ms: u64) -> &mut Self {
            self.now = Time::from_millis(ms);
            self
        }
    }

    fn route() -> TopicRouteData {
        let queue_data = |name: &str| QueueData {
            broker_name: name.into(),
            read_queue_nums: 2,
            write_queue_nums: 2,
            perm: 6,
            topic_sys_flag: 0,
        };
        let broker_data = |name: &str, addr: &str| BrokerData {
            cluster: "DefaultCluster".into(),
            broker_name: name.into(),
            broker_addrs: [(0u64, addr.to_string())].into_iter().collect(),
        };
        TopicRouteData {
            queue_datas: vec![queue_data("broker-a"), queue_data("broker-b")],
            broker_datas: vec![broker_data("broker-a", "10.0.0.2:10911"), broker_data("broker-b", "10.0.0.3:10911")],
        }
    }

    fn sends(commands: &[Command<AnyNode>]) -> Vec<(NodeId, Remoting)> {
        commands
            .iter()
            .filter_map(|c| match c {
                Command::Send { to, message } => Some((*to, message.clone())),
                _ => None,
            })
            .collect()
    }

    fn timers(commands: &[Command<AnyNode>]) -> Vec<(Duration, ProducerTimer)> {
        commands
            .iter()
            .filter_map(|c| match c {
                Command::SetTimer { after, timer: Timer::Producer(t), .. } => Some((*after, t.clone())),
                _ => None,
            })
            .collect()
    }

    fn message() -> Payload {
        Payload::Single(Message::new("TopicTest", Some("TagA"), &["order-1"], b"hello".to_vec()))
    }

    /// Send one sync message and answer its route lookup; returns the SEND request's (broker, opaque).
    fn send_with_route(h: &mut Harness, mode: SendMode) -> (NodeId, u32, SendMessageRequest) {
        let commands = h.step(|c, ctx| {
            c.send(message(), mode, Target::RoundRobin, 0, ctx);
        });
        let lookups = sends(&commands);
        let (to, Remoting::Request { opaque, request: Request::GetRouteInfoByTopic { topic } }) = &lookups[0] else {
            panic!("{lookups:?}")
        };
        assert_eq!((*to, topic.as_str()), (NAMESRV, "TopicTest"));
        let response =
            Remoting::Response { opaque: *opaque, response: Response::success(ResponseBody::TopicRoute(route())) };
        let commands = h.step(|c, ctx| c.on_message(NAMESRV, response, ctx));
        let out = sends(&commands);
        let (broker, Remoting::Request { opaque, request: Request::SendMessage(request) }) = &out[0] else {
            panic!("{out:?}")
        };
        (*broker, *opaque, (**request).clone())
    }

    #[test]
    fn start_schedules_the_route_refresh_after_10_ms_and_the_heartbeat_after_1_s() {
        let mut h = Harness::new(ProducerConfig::default());
        let commands = h.step(|c, ctx| c.on_start(ctx));
        let t = timers(&commands);
        assert_eq!(t[0], (Duration::from_millis(10), ProducerTimer::PollNameServer));
        assert_eq!(t[1], (Duration::from_secs(1), ProducerTimer::HeartbeatAllBrokers));
        // The first refresh looks up TBW102, the only topic a fresh producer knows, and re-arms after 30 s.
        let commands = h.at(10).step(|c, ctx| c.on_timer(ProducerTimer::PollNameServer, ctx));
        assert!(
            matches!(&sends(&commands)[0], (NAMESRV, Remoting::Request { request: Request::GetRouteInfoByTopic { topic }, .. }) if topic == "TBW102")
        );
        assert!(timers(&commands).contains(&(Duration::from_secs(30), ProducerTimer::PollNameServer)));
    }

    #[test]
    fn a_send_looks_the_route_up_then_sends_v2_with_a_uniq_key_and_a_3_s_deadline() {
        let mut h = Harness::new(ProducerConfig::default());
        let (broker, opaque, request) = send_with_route(&mut h, SendMode::Sync);
        assert!(broker == BROKER_A || broker == BROKER_B);
        assert_eq!(request.code, SendRequestCode::SendMessageV2);
        assert_eq!(request.header.default_topic, "TBW102");
        assert_eq!(request.header.default_topic_queue_nums, 4);
        assert!(request.header.properties.contains("UNIQ_KEY\u{1}"), "{}", request.header.properties);
        assert!(request.header.properties.contains("TAGS\u{1}TagA"));
        assert_eq!(request.body, b"hello");
        let call = &h.client.pending[&opaque];
        assert_eq!((call.peer, call.timeout_ms), (broker, 3_000));
    }

    #[test]
    fn a_success_response_completes_the_send_with_the_offset_msg_id() {
        let mut h = Harness::new(ProducerConfig::default());
        let (broker, opaque, request) = send_with_route(&mut h, SendMode::Sync);
        let header = SendMessageResponseHeader {
            msg_id: "OFFSETID".into(),
            queue_id: request.header.queue_id,
            queue_offset: 7,
            transaction_id: None,
        };
        let response = Remoting::Response { opaque, response: Response::success(ResponseBody::SendMessage(header)) };
        let commands = h.step(|c, ctx| c.on_message(broker, response, ctx));
        assert!(commands.iter().any(|c| matches!(c, Command::CancelTimer { .. })), "the deadline is cancelled");
        let done = h.client.take_completions();
        let Some(Ok(result)) = &done[0].result else { panic!("{done:?}") };
        assert_eq!(
            (result.send_status, result.offset_msg_id.as_str(), result.queue_offset),
            (SendStatus::SendOk, "OFFSETID", 7)
        );
        assert_eq!(result.msg_id, done[0].payload.msg_ids()[0]);
    }

    #[test]
    fn a_reset_from_a_dead_broker_makes_a_sync_send_retry_on_the_other_broker() {
        let mut h = Harness::new(ProducerConfig::default());
        let (broker, _, first) = send_with_route(&mut h, SendMode::Sync);
        let commands = h.step(|c, ctx| c.on_connection_closed(broker, ctx));
        let out = sends(&commands);
        let (retry_to, Remoting::Request { request: Request::SendMessage(retry), .. }) = &out[0] else {
            panic!("{out:?}")
        };
        assert_ne!(*retry_to, broker, "the retry avoids the broker that failed");
        assert_eq!(retry.header.properties, first.header.properties, "same UNIQ_KEY");
    }

    #[test]
    fn a_broker_error_outside_the_retry_codes_ends_a_sync_send() {
        let mut h = Harness::new(ProducerConfig::default());
        let (broker, opaque, _) = send_with_route(&mut h, SendMode::Sync);
        let response = Remoting::Response {
            opaque,
            response: Response::error(ResponseCode::SYSTEM_BUSY, "[REJECTREQUEST]system busy"),
        };
        let commands = h.step(|c, ctx| c.on_message(broker, response, ctx));
        assert!(sends(&commands).is_empty(), "no retry for SYSTEM_BUSY in 4.9");
        let done = h.client.take_completions();
        let Some(Err(ClientException::Broker { response_code, .. })) = &done[0].result else { panic!("{done:?}") };
        assert_eq!(*response_code, ResponseCode::SYSTEM_BUSY);
    }

    #[test]
    fn an_async_timeout_is_found_by_the_scan_a_second_late_and_retried() {
        let mut h = Harness::new(ProducerConfig::default());
        let (broker, _, _) = send_with_route(&mut h, SendMode::Async);
        // The scan runs at 3 s, 4 s, ...: a request sent at ~0 with a 3 s timeout is removed once
        // begin + 3000 + 1000 <= now, i.e. at the 4 s scan.
        let commands = h.at(3_000).step(|c, ctx| c.on_timer(ProducerTimer::ScanResponseTable, ctx));
        assert!(sends(&commands).is_empty());
        assert!(timers(&commands).iter().any(|t| t.1 == ProducerTimer::ScanResponseTable));
        let commands = h.at(4_000).step(|c, ctx| c.on_timer(ProducerTimer::ScanResponseTable, ctx));
        let out = sends(&commands);
        // The retry goes out, but with a spent budget (3000 - 4000 < 0) `invokeAsync` refuses at once, twice:
        // the callback gets RemotingTooMuchRequestException.
        assert!(out.is_empty(), "{out:?}");
        let done = h.client.take_completions();
        let Some(Err(ClientException::Remoting(RemotingException::TooMuchRequest { message }))) = &done[0].result
        else {
            panic!("{done:?}")
        };
        // Retry 1 goes to the other broker, retry 2 avoids that one and comes back: the last refusal names the
        // broker of the first attempt.
        assert_eq!(
            message,
            &format!("invokeAsync call the addr[{}] timeout", h.client.spec.directory.entry(broker).addr())
        );
    }

    #[test]
    fn a_late_response_is_ignored() {
        let mut h = Harness::new(ProducerConfig::default());
        let (broker, opaque, _) = send_with_route(&mut h, SendMode::Sync);
        h.at(3_000).step(|c, ctx| c.on_timer(ProducerTimer::RequestTimeout { opaque }, ctx));
        let before = h.client.take_completions();
        assert_eq!(before.len(), 1);
        let header =
            SendMessageResponseHeader { msg_id: "X".into(), queue_id: 0, queue_offset: 0, transaction_id: None };
        let late = Remoting::Response { opaque, response: Response::success(ResponseBody::SendMessage(header)) };
        let commands = h.at(3_500).step(|c, ctx| c.on_message(broker, late, ctx));
        assert!(commands.is_empty());
        assert!(h.client.take_completions().is_empty());
    }

    #[test]
    fn a_body_of_4096_bytes_is_compressed_with_the_zlib_flags() {
        let config = ProducerConfig::default();
        let mq = MessageQueue::new("T", "broker-a", 0);
        let big = Payload::Single(Message::new("T", None, &[], vec![b'a'; 4_096]));
        let request = build_request(&big, &mq, &config, Time::ZERO);
        assert_eq!(request.header.sys_flag, 0x301);
        assert!(request.body.len() < 100);
        let small = Payload::Single(Message::new("T", None, &[], vec![b'a'; 4_095]));
        assert_eq!(build_request(&small, &mq, &config, Time::ZERO).header.sys_flag, 0);
    }

    #[test]
    fn an_empty_body_is_refused_before_any_lookup() {
        let mut h = Harness::new(ProducerConfig::default());
        let empty = Payload::Single(Message::new("TopicTest", None, &[], Vec::new()));
        let commands = h.step(|c, ctx| {
            c.send(empty, SendMode::Sync, Target::RoundRobin, 0, ctx);
        });
        assert!(sends(&commands).is_empty());
        let done = h.client.take_completions();
        let Some(Err(e)) = &done[0].result else { panic!() };
        assert_eq!(e.message(), "CODE: 13  DESC: the message body length is zero");
    }
}
