//! Replication on the broker: the master/slave HA of 4.9 (this folder), DLedger groups (`../dledger/`)
//! and the 5.x controller mode (`../../controller/` and [`auto_switch`]), behind one [`Replication`] field
//! of `BrokerController` and a handful of hooks it calls (start, requests, responses, timers, closed
//! connections, registration results, store events, shutdown).
//!
//! Classic mode (spec §4.1–4.4): a master runs [`HaService`] and accepts its slaves' HA connections;
//! a slave runs [`HaClient`] towards the master's HA address from its registration result, appends
//! what it receives to its own CommitLog, and every 10 s (first after 3 s; RocketMQ 4.9.8's
//! `handleSlaveSynchronize`) copies the master's topic config, consumer offsets and delay offsets
//! (`SlaveSynchronize`; with `haVersion = "5.x"`: checked every 3 s, synced every 60 s as 5.x does).
//! A slave never becomes master by itself: with the master gone, producers have no broker with id 0
//! in that group and consumers keep reading the slave.
//!
//! SYNC_MASTER: the store's `GroupTransferService` holds puts until `push2SlaveMaxOffset` passes them
//! (4.9) or until `inSyncReplicas` acknowledgements (5.x rule); this module feeds it the slaves'
//! reports and wakes the write services when such a put waits (`wakeupAll`).
//!
//! Invariants: at most one connection per slave node on a master and one per client; timers carry the
//! generation of the connection they were set for, so a timer of a closed connection does nothing;
//! a frame on a socket that was never accepted (after a restart) is answered by a reset.

pub mod auto_switch;
pub mod ha_client;
pub mod ha_connection;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use ha_client::{ClientState, HaClient, RECONNECT_WAIT};
pub use ha_connection::{HaConnection, HaService, HaTiming};

use crate::broker::broker_store_io::BrokerStoreIo;
use crate::broker::consumer_offset_manager::CONSUMER_OFFSET_JSON_PATH;
use crate::broker::controller::{BrokerController, BrokerTimer};
use crate::broker::dledger::{DLedgerServer, DLedgerTimer};
use crate::broker::schedule_message_service::DELAY_OFFSET_JSON_PATH;
use crate::broker::store::message_store_config::{BrokerRole, HaVersion};
use crate::protocol::ha::{HaFrame, ReplicationRequest, ReplicationResponse, SlaveSyncBody};
use crate::protocol::{Message, Request, Response, ResponseBody};
use crate::sim::node::{NodeId, TimerId};
use crate::time::{Duration, Time};
use crate::world::{Ctx, Directory, NodeKind, Timer};

/// How a broker group replicates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ReplicationMode {
    /// Master/slave HA with fixed roles (RocketMQ 4.9's default).
    #[default]
    Classic,
    /// A DLedger (Raft) group: the leader is the master (`enableDLegerCommitLog`).
    DLedger,
    /// 5.x controller mode: a controller elects the master from the SyncStateSet (`enableControllerMode`).
    Controller,
}

/// What a broker needs to know about its group's replication (built by the simulation from the topology).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicationSpec {
    pub mode: ReplicationMode,
    /// DLedger: this node's `dLegerSelfId` (`n0`, `n1`, ...).
    pub dledger_self_id: Option<String>,
    /// DLedger: every peer of the group (`dLegerPeers`), self included, in id order.
    pub dledger_peers: Vec<(String, NodeId)>,
    /// 5.x controller mode: the controllers (`controllerAddr`).
    pub controllers: Vec<NodeId>,
}

/// The broker's replication timers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReplicationTimer {
    /// `HAClient`'s loop (connect, report).
    HaClient { generation: u32 },
    /// A master's `WriteSocketService` for one slave.
    HaWrite { slave: NodeId, generation: u32 },
    /// A master's `ReadSocketService` housekeeping for one slave.
    HaHousekeeping { slave: NodeId, generation: u32 },
    /// `SlaveSynchronize.syncAll`.
    SlaveSync { generation: u32 },
    /// A DLedger timer (`../dledger/`).
    DLedger(DLedgerTimer),
    /// A 5.x controller-mode timer (`auto_switch.rs`).
    AutoSwitch(auto_switch::AutoSwitchTimer),
}

/// What a replication request we sent was for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Pending {
    SlaveSync,
    DLedger(crate::broker::dledger::DLedgerCall),
    Controller(auto_switch::ControllerCall),
}

/// `SlaveSynchronize`: the master's address (from the registration result) and the sync schedule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SlaveSynchronize {
    pub running: bool,
    pub generation: u32,
    pub last_sync: Option<Time>,
    pub syncs: u64,
}

/// The replication state of one broker.
#[derive(Clone, Debug, Default)]
pub struct Replication {
    pub mode: ReplicationMode,
    pub ha_service: HaService,
    pub ha_client: HaClient,
    pub slave_sync: SlaveSynchronize,
    pub dledger: Option<Box<DLedgerServer>>,
    pub auto_switch: Option<Box<auto_switch::AutoSwitch>>,
    /// The CommitLog's max offset when the write services last looked (to notice appends).
    pub(crate) last_seen_max_offset: i64,
    pub(crate) next_opaque: u32,
    pub(crate) pending: BTreeMap<u32, (NodeId, Pending)>,
}

/// Requests this module sends use opaques from here up (the broker's own count from 0).
const OPAQUE_BASE: u32 = 0x8000_0000;
/// Pending requests kept at most (answers that never come are forgotten oldest first).
const MAX_PENDING: usize = 4_096;

impl Replication {
    pub fn new(mode: ReplicationMode) -> Self {
        Replication { mode, next_opaque: OPAQUE_BASE, ..Replication::default() }
    }

    pub(crate) fn next_opaque(&mut self) -> u32 {
        let opaque = self.next_opaque;
        self.next_opaque = self.next_opaque.wrapping_add(1).max(OPAQUE_BASE);
        opaque
    }

    /// Send a replication request and remember what it is for.
    pub(crate) fn request(
        &mut self,
        ctx: &mut Ctx<'_>,
        to: NodeId,
        request: ReplicationRequest,
        pending: Pending,
    ) -> u32 {
        let opaque = self.next_opaque();
        if self.pending.len() >= MAX_PENDING {
            let oldest = *self.pending.keys().next().expect("not empty");
            self.pending.remove(&oldest);
        }
        self.pending.insert(opaque, (to, pending));
        ctx.send(to, Message::Request { opaque, request: Request::Replication(Box::new(request)) });
        opaque
    }
}

/// `PullMessageProcessor`'s `suggestWhichBrokerId` (4.9.8; the last of its assignments wins): with
/// `slaveReadEnable`, the subscription group's `whichBrokerWhenConsumeSlowly` (default 1) when the store
/// set `suggestPullingFromSlave` (the consumer is more than `accessMessageInMemoryMaxRatio` of RAM behind),
/// else the group's `brokerId` (default 0); without it, always the master (0). For the pull path: the
/// client keeps the suggestion per queue for its next pull (`pullFromWhichNodeTable`).
pub fn suggest_which_broker_id(
    slave_read_enable: bool,
    suggest_pulling_from_slave: bool,
    which_broker_when_consume_slowly: u64,
    group_broker_id: u64,
) -> u64 {
    if !slave_read_enable {
        0
    } else if suggest_pulling_from_slave {
        which_broker_when_consume_slowly
    } else {
        group_broker_id
    }
}

/// A broker node's replication spec from its group in the scenario: the broker id it starts with and
/// what it needs to know. DLedger members start as slaves (`n<i>` gets broker id i + 1) and flush their
/// log within 10 ms of each change, as DLedger's `FlushDataService` does (whatever `flushDiskType` says).
pub fn replication_spec(
    group: &crate::scenario::model::BrokerGroupSpec,
    broker_id: u64,
    directory: &Directory,
    store: &mut crate::broker::store::message_store_config::MessageStoreConfig,
) -> (u64, ReplicationSpec) {
    let mode = group.replication_mode();
    let mut spec = ReplicationSpec { mode, ..ReplicationSpec::default() };
    match mode {
        ReplicationMode::Classic => (broker_id, spec),
        ReplicationMode::DLedger => {
            spec.dledger_self_id = Some(format!("n{broker_id}"));
            spec.dledger_peers = group
                .node_names()
                .iter()
                .enumerate()
                .filter_map(|(i, name)| directory.by_name(name).map(|e| (format!("n{i}"), e.id)))
                .collect();
            // The store's own flush service keeps its settings; DLedger's `FlushDataService` (10 ms after
            // each change, `dledger/mod.rs`) is what keeps the log durable.
            store.broker_role = BrokerRole::Slave;
            store.flush_disk_type = crate::broker::store::message_store_config::FlushDiskType::AsyncFlush;
            (broker_id + 1, spec)
        }
        ReplicationMode::Controller => {
            // 5.x: the replica's controller id is its place in the group (1, 2, ...); the controller decides
            // who is master.
            spec.controllers =
                directory.entries.iter().filter(|e| e.kind == NodeKind::Controller).map(|e| e.id).collect();
            store.broker_role = BrokerRole::Slave;
            (broker_id + 1, spec)
        }
    }
}

/// Before the store starts: DLedger mode puts the CommitLog on DLedger's data files.
pub fn prepare_store(
    store: &mut crate::broker::store::default_message_store::DefaultMessageStore,
    spec: &ReplicationSpec,
    broker_name: &str,
) {
    if spec.mode == ReplicationMode::DLedger {
        let self_id = spec.dledger_self_id.clone().unwrap_or_else(|| "n0".into());
        let peers = spec.dledger_peers.iter().map(|(id, _)| id.clone()).collect();
        store.enable_dledger(crate::broker::dledger::dledger_store::DLedgerConfig::new(broker_name, &self_id, peers));
    }
}

/// Send an HA frame (raw bytes on the HA socket, carried as a oneway message).
pub(crate) fn send_frame(ctx: &mut Ctx<'_>, to: NodeId, frame: HaFrame) {
    ctx.send(to, Message::Oneway { request: Request::Replication(Box::new(ReplicationRequest::Ha(frame))) });
}

/// Answer a replication request.
pub(crate) fn respond(ctx: &mut Ctx<'_>, to: NodeId, opaque: Option<u32>, body: ReplicationResponse) {
    if let Some(opaque) = opaque {
        let response = Response::success(ResponseBody::Replication(Box::new(body)));
        ctx.send(to, Message::Response { opaque, response });
    }
}

/// The broker node whose IP an `ip:port` address names (HA addresses use port 10912, not the
/// broker's remoting port).
pub fn broker_of_ip(directory: &Directory, addr: &str) -> Option<NodeId> {
    let ip = addr.rsplit_once(':').map_or(addr, |(ip, _)| ip);
    directory
        .entries
        .iter()
        .find(|e| e.kind == NodeKind::Broker && e.addr().split(':').next() == Some(ip))
        .map(|e| e.id)
}

fn set_timer(ctx: &mut Ctx<'_>, at: Time, timer: ReplicationTimer) -> TimerId {
    ctx.set_timer(at.saturating_since(ctx.now()), Timer::Broker(BrokerTimer::Replication(timer)))
}

impl BrokerController {
    pub fn role(&self) -> BrokerRole {
        self.store.config().broker_role
    }

    /// Called once the store has recovered, before the first registration.
    pub(crate) fn start_replication(&mut self, ctx: &mut Ctx<'_>) {
        self.replication.last_seen_max_offset = self.store.max_phy_offset();
        if self.store.config().ha_version == HaVersion::V5 {
            self.store.transfer.need_ack_nums = Some(self.store.config().in_sync_replicas);
        }
        match self.replication.mode {
            ReplicationMode::Classic => {
                if self.role() == BrokerRole::Slave {
                    // No address yet: the client's loop waits 5 s, then connects to what registration taught it.
                    self.arm_ha_client(ctx, ctx.now() + RECONNECT_WAIT);
                    self.start_slave_sync(ctx);
                }
            }
            ReplicationMode::DLedger => self.start_dledger(ctx),
            ReplicationMode::Controller => self.start_auto_switch(ctx),
        }
    }

    /// A replication request (HA frame, DLedger RPC, controller RPC, slave sync) arrived.
    pub(crate) fn on_replication_request(
        &mut self,
        from: NodeId,
        opaque: Option<u32>,
        request: ReplicationRequest,
        ctx: &mut Ctx<'_>,
    ) {
        match request {
            ReplicationRequest::Ha(frame) => self.on_ha_frame(from, frame, ctx),
            ReplicationRequest::DLedger(request) => self.on_dledger_request(from, opaque, request, ctx),
            ReplicationRequest::Controller(request) => self.on_controller_request(from, opaque, request, ctx),
            ReplicationRequest::GetAllTopicConfig => {
                let body = SlaveSyncBody::TopicConfig {
                    table: self.topic_config_manager.topic_config_table.clone(),
                    data_version: self.topic_config_manager.data_version,
                };
                respond(ctx, from, opaque, ReplicationResponse::SlaveSync(body));
            }
            ReplicationRequest::GetAllConsumerOffset => {
                let table = self.consumer_services.consumer_offset_manager.offset_table.clone();
                respond(ctx, from, opaque, ReplicationResponse::SlaveSync(SlaveSyncBody::ConsumerOffset { table }));
            }
            ReplicationRequest::GetAllDelayOffset => {
                let json =
                    String::from_utf8_lossy(&self.consumer_services.schedule_message_service.encode()).into_owned();
                respond(ctx, from, opaque, ReplicationResponse::SlaveSync(SlaveSyncBody::DelayOffset { json }));
            }
        }
    }

    /// A response to one of our replication requests.
    pub(crate) fn on_replication_response(
        &mut self,
        from: NodeId,
        opaque: u32,
        response: ReplicationResponse,
        ctx: &mut Ctx<'_>,
    ) {
        let Some((peer, pending)) = self.replication.pending.remove(&opaque) else { return };
        if peer != from {
            return;
        }
        match (pending, response) {
            (Pending::SlaveSync, ReplicationResponse::SlaveSync(body)) => self.on_slave_sync_body(body, ctx),
            (Pending::DLedger(call), ReplicationResponse::DLedger(response)) => {
                self.on_dledger_response(from, call, response, ctx)
            }
            (Pending::Controller(call), ReplicationResponse::Controller(response)) => {
                self.on_controller_response(call, response, ctx)
            }
            _ => {}
        }
    }

    pub(crate) fn on_replication_timer(&mut self, timer: ReplicationTimer, ctx: &mut Ctx<'_>) {
        match timer {
            ReplicationTimer::HaClient { generation } => {
                if generation == self.replication.ha_client.generation {
                    self.replication.ha_client.timer = None;
                    if !self.run_auto_switch_client(ctx) {
                        self.run_ha_client(ctx);
                    }
                }
            }
            ReplicationTimer::HaWrite { slave, generation } => {
                let Some(conn) = self.replication.ha_service.connections.get_mut(&slave) else { return };
                if conn.generation != generation {
                    return;
                }
                conn.write_timer = None;
                if self.replication.mode == ReplicationMode::Controller {
                    self.pump_auto_switch(slave, ctx);
                } else {
                    self.pump_ha_connection(slave, ctx);
                }
            }
            ReplicationTimer::HaHousekeeping { slave, generation } => {
                let timing = HaTiming::of(&self.store);
                let Some(conn) = self.replication.ha_service.connections.get_mut(&slave) else { return };
                if conn.generation != generation {
                    return;
                }
                conn.housekeeping_timer = None;
                if ctx.now().saturating_since(conn.last_read) > timing.housekeeping_interval {
                    self.close_ha_connection(slave, ctx);
                } else {
                    let at = conn.last_read + timing.housekeeping_interval + Duration(1);
                    let timer = set_timer(ctx, at, ReplicationTimer::HaHousekeeping { slave, generation });
                    if let Some(conn) = self.replication.ha_service.connections.get_mut(&slave) {
                        conn.housekeeping_timer = Some(timer);
                    }
                }
            }
            ReplicationTimer::SlaveSync { generation } => {
                if generation == self.replication.slave_sync.generation && self.replication.slave_sync.running {
                    self.on_slave_sync_timer(ctx);
                }
            }
            ReplicationTimer::DLedger(timer) => self.on_dledger_timer(timer, ctx),
            ReplicationTimer::AutoSwitch(timer) => self.on_auto_switch_timer(timer, ctx),
        }
    }

    /// The connection with `peer` closed (its process died, it or we closed it).
    pub(crate) fn on_replication_connection_closed(&mut self, peer: NodeId, ctx: &mut Ctx<'_>) {
        let mut failed_dledger = Vec::new();
        let mut failed_controller = Vec::new();
        self.replication.pending.retain(|_, (to, pending)| {
            if *to != peer {
                return true;
            }
            match pending {
                Pending::DLedger(call) => failed_dledger.push(call.clone()),
                Pending::Controller(call) => failed_controller.push(call.clone()),
                Pending::SlaveSync => {}
            }
            false
        });
        if self.replication.ha_service.connections.contains_key(&peer) {
            self.remove_ha_connection(peer, ctx);
        }
        match self.replication.ha_client.state {
            ClientState::Connected { master, received, .. } if master == peer => {
                self.replication.ha_client.state = ClientState::Idle;
                let at = if received { ctx.now() } else { ctx.now() + RECONNECT_WAIT };
                self.arm_ha_client(ctx, at);
            }
            ClientState::Closing { master } if master == peer => {
                self.replication.ha_client.state = ClientState::Idle;
                self.arm_ha_client(ctx, ctx.now());
            }
            _ => {}
        }
        self.on_dledger_connection_closed(peer, failed_dledger, ctx);
        self.on_auto_switch_connection_closed(peer, failed_controller, ctx);
    }

    /// `doRegisterBrokerAll`'s use of the result: the HA address (`updateHaMasterAddress`) and the
    /// master's address for `SlaveSynchronize` (which a result without a master clears).
    pub(crate) fn on_register_result(&mut self, master_addr: Option<String>, ha_server_addr: Option<String>) {
        if self.replication.mode != ReplicationMode::Classic {
            return;
        }
        if let Some(ha) = ha_server_addr {
            self.replication.ha_client.update_master_address(&ha);
        }
        let _ = master_addr;
    }

    /// After every batch of store events: a grown CommitLog wakes the HA write services (at once when a
    /// SYNC_MASTER put waits, else on their 100 ms grid) and DLedger's dispatchers.
    pub(crate) fn on_replication_store_events(&mut self, ctx: &mut Ctx<'_>) {
        let max = self.store.max_phy_offset();
        let grew = max != self.replication.last_seen_max_offset;
        self.replication.last_seen_max_offset = max;
        if !grew {
            return;
        }
        let now = ctx.now();
        let urgent = !self.store.transfer.requests.is_empty();
        let slaves: Vec<NodeId> = self.replication.ha_service.connections.keys().copied().collect();
        for slave in slaves {
            if urgent && self.replication.mode == ReplicationMode::Controller {
                self.pump_auto_switch(slave, ctx);
            } else if urgent {
                self.pump_ha_connection(slave, ctx);
            } else {
                let at = self.replication.ha_service.connections[&slave].next_tick_after(now);
                self.arm_ha_write(slave, at, ctx);
            }
        }
        self.on_dledger_log_grew(ctx);
    }

    /// Graceful shutdown: stop the client and drop the connections.
    pub(crate) fn shutdown_replication(&mut self, ctx: &mut Ctx<'_>) {
        if let ClientState::Connected { master, .. } = self.replication.ha_client.state {
            ctx.close_connection(master);
        }
        self.replication.ha_client.state = ClientState::Idle;
        self.replication.ha_client.generation = self.replication.ha_client.generation.wrapping_add(1);
        let slaves: Vec<NodeId> = self.replication.ha_service.connections.keys().copied().collect();
        for slave in slaves {
            ctx.close_connection(slave);
        }
        self.replication.slave_sync.running = false;
        self.shutdown_dledger(ctx);
    }

    // ---- HA frames ----

    fn on_ha_frame(&mut self, from: NodeId, frame: HaFrame, ctx: &mut Ctx<'_>) {
        if self.replication.mode == ReplicationMode::Controller {
            self.on_auto_switch_frame(from, frame, ctx);
            return;
        }
        match frame {
            HaFrame::Connect => self.accept_ha_connection(from, ctx),
            HaFrame::SlaveReport { max_offset } => self.on_slave_report(from, max_offset, ctx),
            HaFrame::Transfer { offset, body } => self.on_transfer(from, offset, body.bytes(), ctx),
            frame @ (HaFrame::AutoSwitchHandshake { .. }
            | HaFrame::AutoSwitchEpochs { .. }
            | HaFrame::AutoSwitchTransfer { .. }) => self.on_auto_switch_frame(from, frame, ctx),
        }
    }

    /// `AcceptSocketService`: only a master accepts (a slave's HA port still listens in 4.9, but no
    /// slave connects to a slave; a connect to a non-master is refused here).
    fn accept_ha_connection(&mut self, slave: NodeId, ctx: &mut Ctx<'_>) {
        if self.role() == BrokerRole::Slave || self.replication.mode != ReplicationMode::Classic {
            ctx.close_connection(slave);
            return;
        }
        self.accept_ha_connection_any_mode(slave, ctx);
    }

    /// Accept a slave's HA connection (classic, or 5.x before its handshake).
    pub(crate) fn accept_ha_connection_any_mode(&mut self, slave: NodeId, ctx: &mut Ctx<'_>) {
        if self.replication.ha_service.connections.contains_key(&slave) {
            // The slave reconnected: its old socket is gone.
            self.remove_ha_connection(slave, ctx);
        }
        let now = ctx.now();
        let timing = HaTiming::of(&self.store);
        let conn = self.replication.ha_service.accept(slave, now);
        let generation = conn.generation;
        let at = now + timing.housekeeping_interval + Duration(1);
        let timer = set_timer(ctx, at, ReplicationTimer::HaHousekeeping { slave, generation });
        if let Some(conn) = self.replication.ha_service.connections.get_mut(&slave) {
            conn.housekeeping_timer = Some(timer);
        }
        let count = self.replication.ha_service.connection_count();
        self.store.on_slave_connections(count);
        self.update_replica_acks();
    }

    fn on_slave_report(&mut self, slave: NodeId, offset: i64, ctx: &mut Ctx<'_>) {
        let max = self.store.max_phy_offset();
        let Some(conn) = self.replication.ha_service.connections.get_mut(&slave) else {
            // A report on a socket this process never accepted (it restarted): reset.
            ctx.close_connection(slave);
            return;
        };
        if !conn.on_report(offset, ctx.now(), max) {
            self.close_ha_connection(slave, ctx);
            return;
        }
        self.replication.ha_service.notify_transfer_some(offset);
        self.update_replica_acks();
        let events = self.store.on_replicated(&mut BrokerStoreIo { ctx }, offset);
        self.on_store_events(events, ctx);
        self.pump_ha_connection(slave, ctx);
    }

    /// The 5.x rule counts each connected slave's acknowledgement.
    fn update_replica_acks(&mut self) {
        self.store.transfer.slave_ack_offsets = self.replication.ha_service.ack_offsets();
    }

    /// Run a connection's write service now and follow its next wake.
    fn pump_ha_connection(&mut self, slave: NodeId, ctx: &mut Ctx<'_>) {
        let timing = HaTiming::of(&self.store);
        let now = ctx.now();
        let Some(conn) = self.replication.ha_service.connections.get_mut(&slave) else { return };
        let pumped = conn.pump(&self.store, ctx.disk(), now, &timing);
        for frame in pumped.frames {
            send_frame(ctx, slave, frame);
        }
        if let Some(at) = pumped.wake_at {
            self.arm_ha_write(slave, at, ctx);
        }
    }

    /// Keep the connection's write timer at the earliest wanted wake.
    pub(crate) fn arm_ha_write_pub(&mut self, slave: NodeId, at: Time, ctx: &mut Ctx<'_>) {
        self.arm_ha_write(slave, at, ctx);
    }

    fn arm_ha_write(&mut self, slave: NodeId, at: Time, ctx: &mut Ctx<'_>) {
        let Some(conn) = self.replication.ha_service.connections.get_mut(&slave) else { return };
        if let Some((timer, current)) = conn.write_timer {
            if current <= at {
                return;
            }
            ctx.cancel_timer(timer);
        }
        let generation = conn.generation;
        let timer = set_timer(ctx, at, ReplicationTimer::HaWrite { slave, generation });
        if let Some(conn) = self.replication.ha_service.connections.get_mut(&slave) {
            conn.write_timer = Some((timer, at));
        }
    }

    /// Close a connection from the master's side (housekeeping, a slave ahead of the master).
    fn close_ha_connection(&mut self, slave: NodeId, ctx: &mut Ctx<'_>) {
        ctx.close_connection(slave);
        self.remove_ha_connection(slave, ctx);
    }

    fn remove_ha_connection(&mut self, slave: NodeId, ctx: &mut Ctx<'_>) {
        if let Some(conn) = self.replication.ha_service.connections.remove(&slave) {
            if let Some((timer, _)) = conn.write_timer {
                ctx.cancel_timer(timer);
            }
            if let Some(timer) = conn.housekeeping_timer {
                ctx.cancel_timer(timer);
            }
            self.replication.ha_service.closed += 1;
        }
        let count = self.replication.ha_service.connection_count();
        self.store.on_slave_connections(count);
        self.update_replica_acks();
    }

    // ---- the slave's HAClient ----

    fn arm_ha_client(&mut self, ctx: &mut Ctx<'_>, at: Time) {
        let client = &mut self.replication.ha_client;
        if let Some((timer, current)) = client.timer {
            if current <= at {
                return;
            }
            ctx.cancel_timer(timer);
        }
        let generation = client.generation;
        let timer = set_timer(ctx, at, ReplicationTimer::HaClient { generation });
        self.replication.ha_client.timer = Some((timer, at));
    }

    /// The node the HA client should connect to: the broker at its master address, if any.
    pub(crate) fn ha_master(&self) -> Option<NodeId> {
        let address = self.replication.ha_client.master_address.as_deref()?;
        broker_of_ip(&self.spec.directory, address)
    }

    /// One turn of `HAClient.run`.
    fn run_ha_client(&mut self, ctx: &mut Ctx<'_>) {
        if self.role() != BrokerRole::Slave || self.replication.mode != ReplicationMode::Classic {
            return;
        }
        let now = ctx.now();
        let timing = HaTiming::of(&self.store);
        match self.replication.ha_client.state {
            ClientState::Idle => {
                let master = self.ha_master();
                let Some(master) = master else {
                    self.arm_ha_client(ctx, now + RECONNECT_WAIT);
                    return;
                };
                let offset = self.store.max_phy_offset();
                let client = &mut self.replication.ha_client;
                client.state = ClientState::Connected { master, since: now, received: false };
                client.current_reported_offset = offset;
                client.last_write = now;
                client.connects += 1;
                send_frame(ctx, master, HaFrame::Connect);
                send_frame(ctx, master, HaFrame::SlaveReport { max_offset: offset });
                self.arm_ha_client(ctx, now + timing.heartbeat_interval + Duration(1));
            }
            ClientState::Connected { master, .. } => {
                let client = &mut self.replication.ha_client;
                if client.is_time_to_report(now, timing.heartbeat_interval) {
                    client.last_write = now;
                    let offset = client.current_reported_offset;
                    send_frame(ctx, master, HaFrame::SlaveReport { max_offset: offset });
                }
                if now.saturating_since(self.replication.ha_client.last_write) > timing.housekeeping_interval {
                    self.close_master(ctx);
                    return;
                }
                let at = self.replication.ha_client.last_write + timing.heartbeat_interval + Duration(1);
                self.arm_ha_client(ctx, at);
            }
            ClientState::Closing { .. } => {}
        }
    }

    /// `closeMaster`.
    fn close_master(&mut self, ctx: &mut Ctx<'_>) {
        if let ClientState::Connected { master, .. } = self.replication.ha_client.state {
            ctx.close_connection(master);
            self.replication.ha_client.state = ClientState::Closing { master };
        }
    }

    /// `dispatchReadRequest` for one frame.
    fn on_transfer(&mut self, from: NodeId, offset: i64, body: &[u8], ctx: &mut Ctx<'_>) {
        let client_master = self.replication.ha_client.master();
        if client_master != Some(from) || self.role() != BrokerRole::Slave {
            if !matches!(self.replication.ha_client.state, ClientState::Closing { master } if master == from) {
                // Data on a socket this process does not have: reset.
                ctx.close_connection(from);
            }
            return;
        }
        let slave_max = self.store.max_phy_offset();
        if !HaClient::accepts(slave_max, offset) {
            self.close_master(ctx);
            return;
        }
        let now = ctx.now();
        let client = &mut self.replication.ha_client;
        if let ClientState::Connected { received, .. } = &mut client.state {
            *received = true;
        }
        client.frames_received += 1;
        client.bytes_received += body.len() as u64;
        client.master_offset_seen = client.master_offset_seen.max(offset + body.len() as i64);
        client.last_frame_at = Some(now);
        if !body.is_empty() {
            let _ = self.store.append_to_commit_log(&mut BrokerStoreIo { ctx }, offset, body);
        }
        // `reportSlaveMaxOffsetPlus`.
        let max = self.store.max_phy_offset();
        let client = &mut self.replication.ha_client;
        if max > client.current_reported_offset {
            client.current_reported_offset = max;
            client.last_write = now;
            send_frame(ctx, from, HaFrame::SlaveReport { max_offset: max });
        }
    }

    // ---- SlaveSynchronize ----

    /// `handleSlaveSynchronize(SLAVE)`: sync at 3 s, then every 10 s (4.9.8) or check every 3 s (5.x).
    pub(crate) fn start_slave_sync(&mut self, ctx: &mut Ctx<'_>) {
        let sync = &mut self.replication.slave_sync;
        sync.running = true;
        sync.generation = sync.generation.wrapping_add(1);
        let generation = sync.generation;
        set_timer(ctx, ctx.now() + Duration::from_secs(3), ReplicationTimer::SlaveSync { generation });
    }

    pub(crate) fn stop_slave_sync(&mut self) {
        self.replication.slave_sync.running = false;
        self.replication.slave_sync.generation = self.replication.slave_sync.generation.wrapping_add(1);
    }

    fn on_slave_sync_timer(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        let five_x = self.store.config().ha_version == HaVersion::V5;
        let due = !five_x
            || self
                .replication
                .slave_sync
                .last_sync
                .is_none_or(|last| now.saturating_since(last) > Duration::from_secs(60));
        if due {
            self.sync_all(ctx);
        }
        let period = if five_x { Duration::from_secs(3) } else { Duration::from_secs(10) };
        let generation = self.replication.slave_sync.generation;
        set_timer(ctx, now + period, ReplicationTimer::SlaveSync { generation });
    }

    /// `syncAll`: topic config, consumer offsets, delay offsets from the master.
    fn sync_all(&mut self, ctx: &mut Ctx<'_>) {
        let Some(master) = self.master_addr.as_deref().and_then(|a| self.spec.directory.node_of_addr(a)) else {
            return;
        };
        if self.master_addr.as_deref() == Some(self.spec.broker_addr.as_str()) {
            return;
        }
        self.replication.slave_sync.last_sync = Some(ctx.now());
        self.replication.slave_sync.syncs += 1;
        for request in [
            ReplicationRequest::GetAllTopicConfig,
            ReplicationRequest::GetAllConsumerOffset,
            ReplicationRequest::GetAllDelayOffset,
        ] {
            self.replication.request(ctx, master, request, Pending::SlaveSync);
        }
    }

    fn on_slave_sync_body(&mut self, body: SlaveSyncBody, ctx: &mut Ctx<'_>) {
        if self.role() != BrokerRole::Slave {
            return;
        }
        match body {
            SlaveSyncBody::TopicConfig { table, data_version } => {
                if self.topic_config_manager.data_version != data_version {
                    self.topic_config_manager.data_version = data_version;
                    self.topic_config_manager.topic_config_table = table;
                    self.persist_topics(ctx);
                }
            }
            SlaveSyncBody::ConsumerOffset { table } => {
                let manager = &mut self.consumer_services.consumer_offset_manager;
                for (key, queues) in table {
                    manager.offset_table.insert(key, queues);
                }
                let bytes = manager.encode();
                let file = ctx.open_file(CONSUMER_OFFSET_JSON_PATH);
                ctx.truncate(file, 0);
                ctx.write(file, 0, &bytes);
            }
            SlaveSyncBody::DelayOffset { json } => {
                let file = ctx.open_file(DELAY_OFFSET_JSON_PATH);
                ctx.truncate(file, 0);
                ctx.write(file, 0, json.as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lagging_consumer_is_sent_to_the_slave_only_with_slave_read_enable() {
        assert_eq!(suggest_which_broker_id(false, true, 1, 0), 0);
        assert_eq!(suggest_which_broker_id(true, true, 1, 0), 1);
        assert_eq!(suggest_which_broker_id(true, false, 1, 0), 0);
    }
}
