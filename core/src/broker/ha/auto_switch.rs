//! 5.x controller mode on the broker (labelled 5.x: RocketMQ 4.9 has no controller): `ReplicasManager`,
//! `AutoSwitchHAService`, `AutoSwitchHAClient`/`Connection` and `EpochFileCache` of RocketMQ 5.x.
//!
//! * **Roles come from the controller.** A broker registers (its controller id: 1, 2, ... in the group's
//!   order), heartbeats every 1 s with its epoch, max offset, confirm offset and election priority, asks
//!   for an election when its set has no master, and follows NOTIFY_BROKER_ROLE_CHANGED. A master always
//!   runs as SYNC_MASTER with broker id 0; a slave keeps its controller id.
//! * **Epochs.** Every master term appends (epoch, start offset) to `epochFileCheckpoint`. A new master
//!   first cuts an incomplete record at its log's end (`truncateInvalidMsg`). A slave's HA handshake gets
//!   the master's epoch entries and truncates its own log to the last point both agree on
//!   (`findConsistentPoint`: the newest epoch with the same start, up to the smaller of the two ends):
//!   what an old master wrote and nobody kept is cut there. Without such a point it refuses to sync
//!   and retries every 5 s (a master that restarted with less data and the same epoch rewrote its
//!   epoch's start: its slaves stay behind rather than wipe their logs).
//! * **SyncStateSet and confirm offset.** The master adds a slave once its offset reaches the confirm
//!   offset within the current epoch, and removes one that has not caught up for `haMaxTimeSlaveNotCatchup`
//!   (15 s, checked every 5 s) or is not connected; each change goes to the controller (AlterSyncStateSet).
//!   The confirm offset is the smallest offset every connected SyncStateSet member acknowledged (the max
//!   offset when the set is the master alone); dispatch stops there, on the master and (from the transfer
//!   headers) on slaves, so consumers only see what the in-sync replicas hold.
//! * **Acknowledgements.** A put waits for `inSyncReplicas` acknowledgements (master included; 1 = no
//!   wait), or with `allAckInSyncStateSet` for every SyncStateSet member; a SyncStateSet smaller than
//!   `minInSyncReplicas` refuses puts (IN_SYNC_REPLICAS_NOT_ENOUGH).
//!
//! What follows for data loss: with the defaults a master acknowledges alone, so its death loses what no
//! slave had (RPO > 0); with `allAckInSyncStateSet` every acknowledged message is on every SyncStateSet
//! member and only they can be elected, so nothing acknowledged is lost, unless `enableElectUncleanMaster`
//! lets an out-of-sync replica win.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{send_frame, ClientState, HaTiming, Pending, ReplicationMode, ReplicationTimer, RECONNECT_WAIT};
use crate::broker::broker_store_io::BrokerStoreIo;
use crate::broker::controller::{BrokerController, BrokerTimer};
use crate::broker::store::commit_log::RecordReader;
use crate::broker::store::default_message_store::DefaultMessageStore;
use crate::broker::store::dispatch_request::{check_message_and_return_size, CheckedRecord};
use crate::broker::store::message_store_config::BrokerRole;
use crate::broker::store::store_io::StoreIo;
use crate::observation::Observation;
use crate::protocol::ha::{ControllerRequest, ControllerResponse, FrameBody, HaFrame, ReplicaInfo, ReplicationRequest};
use crate::sim::node::NodeId;
use crate::time::{Duration, Time};
use crate::world::{Ctx, Timer};

/// `brokerHeartbeatInterval`.
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);
/// `checkSyncStateSetPeriod`; also how often a broker without a master asks again.
const CHECK_PERIOD: Duration = Duration::from_secs(5);
const EPOCH_FILE: &str = "epochFileCheckpoint";
/// 5.1's broker metadata: the controller id this replica was given, kept on disk (a replica that lost
/// its disk comes back as a new replica, never as the master it was).
const BROKER_ID_FILE: &str = "brokerIdentity";

/// 5.x timers of a broker in controller mode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AutoSwitchTimer {
    /// BROKER_HEARTBEAT to the controller.
    Heartbeat,
    /// The master's SyncStateSet check; a slave's replica-info refresh.
    Check,
}

/// What a controller call was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControllerCall {
    Register,
    GetReplicaInfo,
    ElectMaster,
    AlterSyncStateSet,
}

/// One (epoch, start offset) of `EpochFileCache`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct EpochEntry {
    pub epoch: u32,
    pub start_offset: i64,
}

/// `EpochFileCache`: the master terms this log went through.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EpochFileCache {
    pub entries: Vec<EpochEntry>,
}

impl EpochFileCache {
    pub fn last_epoch(&self) -> u32 {
        self.entries.last().map_or(0, |e| e.epoch)
    }

    /// Append (replacing entries of this epoch or later).
    pub fn append(&mut self, entry: EpochEntry) {
        self.entries.retain(|e| e.epoch < entry.epoch);
        self.entries.push(entry);
    }

    /// Drop the entries that start at or after `offset` (the log was cut there).
    pub fn truncate_suffix_by_offset(&mut self, offset: i64) {
        self.entries.retain(|e| e.start_offset < offset || (e.start_offset == 0 && offset == 0));
        if offset == 0 {
            self.entries.clear();
        }
    }

    /// `findConsistentPoint`: the newest epoch both caches have with the same start, up to the smaller of
    /// their ends (the next entry's start, or the log's max offset for the last one). -1 if none.
    pub fn find_consistent_point(&self, local_max: i64, other: &[EpochEntry], other_max: i64) -> i64 {
        let end_of = |entries: &[EpochEntry], i: usize, max: i64| entries.get(i + 1).map_or(max, |n| n.start_offset);
        for (i, local) in self.entries.iter().enumerate().rev() {
            if let Some(j) = other.iter().position(|o| o.epoch == local.epoch) {
                if other[j].start_offset == local.start_offset {
                    return end_of(&self.entries, i, local_max).min(end_of(other, j, other_max));
                }
            }
        }
        -1
    }

    fn encode(&self) -> Vec<u8> {
        self.entries.iter().map(|e| format!("{}-{}\n", e.epoch, e.start_offset)).collect::<String>().into_bytes()
    }

    fn decode(bytes: &[u8]) -> Self {
        let text = String::from_utf8_lossy(bytes);
        let entries = text
            .lines()
            .filter_map(|l| l.split_once('-'))
            .filter_map(|(e, o)| {
                Some(EpochEntry { epoch: e.trim().parse().ok()?, start_offset: o.trim().parse().ok()? })
            })
            .collect();
        EpochFileCache { entries }
    }
}

/// A slave as its master sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SlaveInfo {
    pub broker_id: u64,
    pub last_caught_up: Time,
}

/// The 5.x state of a broker in controller mode.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AutoSwitch {
    /// This broker's controller id.
    pub broker_id: u64,
    pub registered: bool,
    pub master_id: Option<u64>,
    pub master_addr: Option<String>,
    pub master_epoch: u32,
    pub sync_state_set: BTreeSet<u64>,
    pub sync_state_set_epoch: u32,
    /// An AlterSyncStateSet is out (`isSynchronizingSyncStateSet`).
    pub altering: bool,
    pub epochs: EpochFileCache,
    /// Master: the confirm offset it computed; slave: what its master last sent.
    pub confirm_offset: i64,
    /// Master side: the slaves connected, by node.
    pub slaves: BTreeMap<NodeId, SlaveInfo>,
    /// The master's max offset when it last sent a frame (a slave acknowledging it has caught up).
    pub max_at_last_transfer: i64,
    /// Slave side: the handshake with the current master is done.
    pub handshake_done: bool,
    /// The controller id came from this replica's disk (not applied for).
    pub id_kept: bool,
}

fn set_timer(ctx: &mut Ctx<'_>, after: Duration, timer: AutoSwitchTimer) {
    ctx.set_timer(after, Timer::Broker(BrokerTimer::Replication(ReplicationTimer::AutoSwitch(timer))));
}

fn controller_request(request: ControllerRequest) -> ReplicationRequest {
    ReplicationRequest::Controller(request)
}

/// Cut the CommitLog (and what was built from it) at `offset` (a slave truncating to the epoch
/// boundary, a new master cutting an incomplete record).
pub fn truncate_commit_log(store: &mut DefaultMessageStore, io: &mut dyn StoreIo, offset: i64) {
    store.commit_log.queue.truncate_dirty_files(io, offset);
    for queue in store.consume_queue_table.values_mut().flat_map(|q| q.values_mut()) {
        queue.truncate_dirty_logic_files(io, offset);
    }
    store.commit_log.queue.flushed_where = store.commit_log.queue.flushed_where.min(offset);
    store.commit_log.queue.committed_where = store.commit_log.queue.committed_where.min(offset);
    store.reput.reput_from_offset = store.reput.reput_from_offset.min(offset);
    store.recover_topic_queue_table(io);
}

/// `truncateInvalidMsg`: where the valid records end, walking from the dispatch position (None when
/// dispatch is complete).
fn first_invalid_offset(store: &DefaultMessageStore, io: &dyn StoreIo) -> Option<i64> {
    let max = store.max_phy_offset();
    let mut offset = store.reput_from_offset();
    if offset >= max {
        return None;
    }
    let mut reader = RecordReader::default();
    let queue = &store.commit_log.queue;
    while offset < max {
        let index = queue.find_by_offset(offset, offset == 0)?;
        let file = &queue.files[index];
        let (file_id, from, readable) = (file.file, file.file_from_offset, file.read_position());
        let position = offset - from;
        if position >= readable {
            break;
        }
        match check_message_and_return_size(reader.record_at(io.disk(), file_id, position, readable), false, &[]) {
            CheckedRecord::Message(request) => offset += i64::from(request.msg_size),
            CheckedRecord::EndOfFile => offset = store.commit_log.roll_next_file(offset),
            CheckedRecord::Invalid { .. } => return Some(offset),
        }
    }
    None
}

impl BrokerController {
    fn auto_switch(&mut self) -> Option<&mut AutoSwitch> {
        self.replication.auto_switch.as_deref_mut()
    }

    fn controller_node(&self) -> Option<NodeId> {
        self.spec.replication.controllers.first().copied()
    }

    pub(crate) fn start_auto_switch(&mut self, ctx: &mut Ctx<'_>) {
        let kept = ctx.disk().lookup(&self.broker_id_file_path()).and_then(|f| {
            String::from_utf8_lossy(&ctx.disk().read_vec(f, 0, ctx.disk().len(f))).trim().parse::<u64>().ok()
        });
        let broker_id = kept.unwrap_or(self.spec.broker_id.max(1));
        let epochs = ctx
            .disk()
            .lookup(&self.epoch_file_path())
            .map(|f| EpochFileCache::decode(&ctx.disk().read_vec(f, 0, ctx.disk().len(f))))
            .unwrap_or_default();
        self.replication.auto_switch = Some(Box::new(AutoSwitch {
            broker_id,
            id_kept: kept.is_some(),
            epochs,
            confirm_offset: -1,
            ..AutoSwitch::default()
        }));
        self.spec.broker_id = broker_id;
        self.store.config.broker_role = BrokerRole::Slave;
        // Until a master's confirm offset arrives, dispatch nothing it may take back.
        self.store.reput_limit = Some(self.store.reput_from_offset());
        self.register_to_controller(ctx);
        set_timer(ctx, HEARTBEAT_INTERVAL, AutoSwitchTimer::Heartbeat);
        set_timer(ctx, CHECK_PERIOD, AutoSwitchTimer::Check);
    }

    fn broker_id_file_path(&self) -> String {
        format!("{}/{BROKER_ID_FILE}", self.store.config().store_path_root_dir)
    }

    fn epoch_file_path(&self) -> String {
        format!("{}/{EPOCH_FILE}", self.store.config().store_path_root_dir)
    }

    fn persist_epochs(&mut self, ctx: &mut Ctx<'_>) {
        let Some(auto) = self.replication.auto_switch.as_deref() else { return };
        let bytes = auto.epochs.encode();
        let path = self.epoch_file_path();
        let file = ctx.open_file(&path);
        ctx.truncate(file, 0);
        ctx.write(file, 0, &bytes);
    }

    fn register_to_controller(&mut self, ctx: &mut Ctx<'_>) {
        let Some(controller) = self.controller_node() else { return };
        let (broker_id, apply) = self.auto_switch().map_or((1, true), |a| (a.broker_id, !a.id_kept));
        let request = ControllerRequest::RegisterBroker {
            cluster_name: self.spec.config.broker_cluster_name.clone(),
            broker_name: self.spec.broker_name.clone(),
            broker_id,
            broker_addr: self.spec.broker_addr.clone(),
            apply,
        };
        self.replication.request(
            ctx,
            controller,
            controller_request(request),
            Pending::Controller(ControllerCall::Register),
        );
    }

    fn ask_controller(&mut self, ctx: &mut Ctx<'_>, request: ControllerRequest, call: ControllerCall) {
        if let Some(controller) = self.controller_node() {
            self.replication.request(ctx, controller, controller_request(request), Pending::Controller(call));
        }
    }

    pub(crate) fn on_auto_switch_timer(&mut self, timer: AutoSwitchTimer, ctx: &mut Ctx<'_>) {
        if self.replication.mode != ReplicationMode::Controller || self.replication.auto_switch.is_none() {
            return;
        }
        match timer {
            AutoSwitchTimer::Heartbeat => {
                if let Some(controller) = self.controller_node() {
                    let auto = self.replication.auto_switch.as_deref().expect("checked");
                    let request = ControllerRequest::BrokerHeartbeat {
                        cluster_name: self.spec.config.broker_cluster_name.clone(),
                        broker_name: self.spec.broker_name.clone(),
                        broker_id: auto.broker_id,
                        broker_addr: self.spec.broker_addr.clone(),
                        epoch: auto.epochs.last_epoch(),
                        max_offset: self.store.max_phy_offset(),
                        confirm_offset: auto.confirm_offset,
                        election_priority: self.spec.config.broker_election_priority,
                    };
                    ctx.send(
                        controller,
                        crate::protocol::Message::Oneway {
                            request: crate::protocol::Request::Replication(Box::new(controller_request(request))),
                        },
                    );
                }
                set_timer(ctx, HEARTBEAT_INTERVAL, AutoSwitchTimer::Heartbeat);
            }
            AutoSwitchTimer::Check => {
                let auto = self.replication.auto_switch.as_deref().expect("checked");
                if !auto.registered {
                    self.register_to_controller(ctx);
                } else if self.role() != BrokerRole::Slave {
                    self.check_sync_state_set(ctx);
                } else {
                    let broker_name = self.spec.broker_name.clone();
                    self.ask_controller(
                        ctx,
                        ControllerRequest::GetReplicaInfo { broker_name },
                        ControllerCall::GetReplicaInfo,
                    );
                }
                set_timer(ctx, CHECK_PERIOD, AutoSwitchTimer::Check);
            }
        }
    }

    pub(crate) fn on_controller_request(
        &mut self,
        _from: NodeId,
        _opaque: Option<u32>,
        request: ControllerRequest,
        ctx: &mut Ctx<'_>,
    ) {
        if let ControllerRequest::NotifyBrokerRoleChanged { replica_info } = request {
            self.apply_replica_info(replica_info, ctx);
        }
    }

    pub(crate) fn on_controller_response(
        &mut self,
        call: ControllerCall,
        response: ControllerResponse,
        ctx: &mut Ctx<'_>,
    ) {
        if self.replication.auto_switch.is_none() {
            return;
        }
        match (call, response) {
            (ControllerCall::AlterSyncStateSet, response) => {
                if let Some(auto) = self.auto_switch() {
                    auto.altering = false;
                }
                if let ControllerResponse::ReplicaInfo(info) = response {
                    self.apply_replica_info(info, ctx);
                }
            }
            (ControllerCall::Register, ControllerResponse::Registered { broker_id, info }) => {
                let auto = self.replication.auto_switch.as_deref_mut().expect("checked");
                auto.registered = true;
                if !auto.id_kept {
                    auto.broker_id = broker_id;
                    auto.id_kept = true;
                    if self.role() == BrokerRole::Slave {
                        self.spec.broker_id = broker_id;
                    }
                    let path = self.broker_id_file_path();
                    let file = ctx.open_file(&path);
                    ctx.truncate(file, 0);
                    ctx.write(file, 0, broker_id.to_string().as_bytes());
                    ctx.sync(file);
                }
                self.on_controller_response(ControllerCall::GetReplicaInfo, ControllerResponse::ReplicaInfo(info), ctx);
            }
            (call, ControllerResponse::ReplicaInfo(info)) => {
                let no_master = info.master_id.is_none();
                self.apply_replica_info(info, ctx);
                if no_master && call != ControllerCall::ElectMaster {
                    let broker_name = self.spec.broker_name.clone();
                    let broker_id = self.auto_switch().map_or(1, |a| a.broker_id);
                    self.ask_controller(
                        ctx,
                        ControllerRequest::ElectMaster { broker_name, broker_id },
                        ControllerCall::ElectMaster,
                    );
                }
            }
            _ => {}
        }
    }

    /// Follow what the controller says (`ReplicasManager.changeBrokerRole`).
    fn apply_replica_info(&mut self, info: ReplicaInfo, ctx: &mut Ctx<'_>) {
        let Some(auto) = self.replication.auto_switch.as_deref_mut() else { return };
        if info.master_epoch < auto.master_epoch {
            return;
        }
        let me = auto.broker_id;
        let new_term = info.master_epoch > auto.master_epoch || info.master_id != auto.master_id;
        auto.master_id = info.master_id;
        auto.master_addr = info.master_addr.clone();
        auto.master_epoch = info.master_epoch;
        if info.sync_state_set_epoch >= auto.sync_state_set_epoch {
            auto.sync_state_set = info.sync_state_set.iter().copied().collect();
            auto.sync_state_set_epoch = info.sync_state_set_epoch;
        }
        match info.master_id {
            Some(master) if master == me => {
                if self.role() == BrokerRole::Slave || new_term {
                    self.change_to_master_5x(info.master_epoch, ctx);
                } else {
                    self.update_master_rules(ctx);
                }
            }
            Some(_) if self.role() != BrokerRole::Slave || new_term => self.change_to_slave_5x(ctx),
            Some(_) | None => {}
        }
    }

    /// `changeToMaster`: cut an incomplete tail, start a new epoch, take writes as SYNC_MASTER.
    fn change_to_master_5x(&mut self, epoch: u32, ctx: &mut Ctx<'_>) {
        if self.replication.auto_switch.as_deref().is_some_and(|a| epoch < a.epochs.last_epoch()) {
            return;
        }
        if let ClientState::Connected { master, .. } = self.replication.ha_client.state {
            ctx.close_connection(master);
        }
        self.replication.ha_client.state = ClientState::Idle;
        self.replication.ha_client.generation = self.replication.ha_client.generation.wrapping_add(1);
        let invalid = first_invalid_offset(&self.store, &BrokerStoreIo { ctx });
        if let Some(offset) = invalid {
            let before = self.store.max_phy_offset();
            truncate_commit_log(&mut self.store, &mut BrokerStoreIo { ctx }, offset);
            self.observe_truncation(offset, before - offset, "5.x new master cuts an incomplete record", ctx);
        }
        let max = self.store.max_phy_offset();
        let auto = self.replication.auto_switch.as_deref_mut().expect("controller mode");
        auto.epochs.truncate_suffix_by_offset(max + 1);
        auto.epochs.append(EpochEntry { epoch, start_offset: max });
        auto.sync_state_set = [auto.broker_id].into();
        auto.confirm_offset = max;
        auto.slaves.clear();
        self.persist_epochs(ctx);
        // "Waiting consume queue dispatch": as a slave it dispatched only up to its old master's confirm
        // offset. Everything in its log is now confirmed (the set is itself); dispatch it all before the
        // queue offsets are read back, or the first new put would reuse the offset of a record still
        // waiting for dispatch (two messages at one ConsumeQueue offset, one of them never consumed).
        self.store.reput_limit = None;
        self.store.do_reput(&mut BrokerStoreIo { ctx }, false);
        self.store.recover_topic_queue_table(&mut BrokerStoreIo { ctx });
        self.stop_slave_sync();
        self.spec.broker_id = 0;
        self.store.config.broker_role = BrokerRole::SyncMaster;
        self.update_master_rules(ctx);
        self.observe_broker_role(ctx);
        self.register_broker_all(ctx);
    }

    /// `changeToSlave`: follow the new master.
    fn change_to_slave_5x(&mut self, ctx: &mut Ctx<'_>) {
        let slaves: Vec<NodeId> = self.replication.ha_service.connections.keys().copied().collect();
        for slave in slaves {
            ctx.close_connection(slave);
            self.replication.ha_service.connections.remove(&slave);
        }
        if let ClientState::Connected { master, .. } = self.replication.ha_client.state {
            ctx.close_connection(master);
        }
        let auto = self.replication.auto_switch.as_deref_mut().expect("controller mode");
        auto.slaves.clear();
        auto.handshake_done = false;
        let me = auto.broker_id;
        let master_addr = auto.master_addr.clone();
        self.store.sync_state_set_size = None;
        self.store.on_slave_connections(0);
        self.spec.broker_id = me;
        self.store.config.broker_role = BrokerRole::Slave;
        self.store.reput_limit = Some(self.store.reput_limit.unwrap_or(0).min(self.store.max_phy_offset()));
        let client = &mut self.replication.ha_client;
        client.state = ClientState::Idle;
        client.generation = client.generation.wrapping_add(1);
        client.master_address = master_addr;
        client.timer = None;
        let generation = client.generation;
        ctx.set_timer(
            Duration::ZERO,
            Timer::Broker(BrokerTimer::Replication(ReplicationTimer::HaClient { generation })),
        );
        self.start_slave_sync(ctx);
        self.observe_broker_role(ctx);
        self.register_broker_all(ctx);
    }

    fn observe_truncation(&mut self, from: i64, bytes: i64, reason: &str, ctx: &mut Ctx<'_>) {
        ctx.observe(Observation::ReplicaTruncated {
            broker_name: self.spec.broker_name.clone(),
            broker_addr: self.spec.broker_addr.clone(),
            from_offset: from,
            bytes_cut: bytes.max(0),
            reason: reason.into(),
        });
    }

    /// The master's put rule, confirm offset and SyncStateSet size in the store, from the current state.
    fn update_master_rules(&mut self, ctx: &mut Ctx<'_>) {
        let Some(auto) = self.replication.auto_switch.as_deref_mut() else { return };
        let config = &self.store.config;
        let all_ack = config.all_ack_in_sync_state_set;
        let need = if all_ack { auto.sync_state_set.len() as u32 } else { config.in_sync_replicas };
        let members: Vec<(NodeId, u64)> = auto.slaves.iter().map(|(n, s)| (*n, s.broker_id)).collect();
        let acks: Vec<i64> = members
            .iter()
            .filter(|(_, id)| !all_ack || auto.sync_state_set.contains(id))
            .filter_map(|(node, _)| self.replication.ha_service.connections.get(node).map(|c| c.slave_ack_offset))
            .collect();
        // `computeConfirmOffset`.
        let max = self.store.max_phy_offset();
        let mut confirm = max;
        let connected: BTreeSet<u64> = members.iter().map(|(_, id)| *id).collect();
        let missing = auto.sync_state_set.iter().any(|id| *id != auto.broker_id && !connected.contains(id));
        if missing {
            confirm = auto.confirm_offset.max(0);
        } else {
            for (node, id) in &members {
                if auto.sync_state_set.contains(id) {
                    if let Some(conn) = self.replication.ha_service.connections.get(node) {
                        if conn.slave_ack_offset > 0 {
                            confirm = confirm.min(conn.slave_ack_offset);
                        }
                    }
                }
            }
        }
        auto.confirm_offset = confirm;
        let alone = auto.sync_state_set.len() <= 1;
        self.store.sync_state_set_size = Some(auto.sync_state_set.len() as u32);
        self.store.reput_limit = if alone { None } else { Some(confirm) };
        let events = self.store.on_replica_acks(&mut BrokerStoreIo { ctx }, Some(need), acks);
        self.store.schedule_reput(&mut BrokerStoreIo { ctx });
        self.on_store_events(events, ctx);
    }

    /// `maybeShrinkSyncStateSet` every 5 s.
    fn check_sync_state_set(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        let limit = Duration::from_millis(self.store.config().ha_max_time_slave_not_catchup.into());
        let Some(auto) = self.replication.auto_switch.as_deref() else { return };
        let mut set = auto.sync_state_set.clone();
        let caught_up: BTreeMap<u64, Time> = auto.slaves.values().map(|s| (s.broker_id, s.last_caught_up)).collect();
        set.retain(|id| *id == auto.broker_id || caught_up.get(id).is_some_and(|t| now.saturating_since(*t) <= limit));
        if set != auto.sync_state_set {
            self.alter_sync_state_set(set, ctx);
        }
    }

    fn alter_sync_state_set(&mut self, set: BTreeSet<u64>, ctx: &mut Ctx<'_>) {
        let Some(auto) = self.replication.auto_switch.as_deref_mut() else { return };
        if auto.altering {
            return;
        }
        auto.altering = true;
        let request = ControllerRequest::AlterSyncStateSet {
            broker_name: self.spec.broker_name.clone(),
            master_id: auto.broker_id,
            master_epoch: auto.master_epoch,
            sync_state_set: set.into_iter().collect(),
            sync_state_set_epoch: auto.sync_state_set_epoch,
        };
        self.ask_controller(ctx, request, ControllerCall::AlterSyncStateSet);
    }

    pub(crate) fn on_auto_switch_connection_closed(
        &mut self,
        peer: NodeId,
        failed: Vec<ControllerCall>,
        ctx: &mut Ctx<'_>,
    ) {
        let Some(auto) = self.replication.auto_switch.as_deref_mut() else { return };
        if failed.contains(&ControllerCall::AlterSyncStateSet) {
            auto.altering = false;
        }
        if failed.contains(&ControllerCall::Register) {
            auto.registered = false;
        }
        if auto.slaves.remove(&peer).is_some() {
            self.update_master_rules(ctx);
        }
    }

    // ---- the 5.x HA protocol ----

    /// One turn of `AutoSwitchHAClient`: connect with a handshake, report on the heartbeat interval.
    pub(crate) fn run_auto_switch_client(&mut self, ctx: &mut Ctx<'_>) -> bool {
        if self.replication.mode != ReplicationMode::Controller {
            return false;
        }
        if self.role() != BrokerRole::Slave {
            return true;
        }
        let now = ctx.now();
        let timing = HaTiming::of(&self.store);
        match self.replication.ha_client.state {
            ClientState::Idle => {
                let master = self.ha_master();
                let broker_id = self.auto_switch().map_or(1, |a| a.broker_id);
                let Some(master) = master else {
                    self.arm_client_at(ctx, now + RECONNECT_WAIT);
                    return true;
                };
                if let Some(auto) = self.auto_switch() {
                    auto.handshake_done = false;
                }
                let client = &mut self.replication.ha_client;
                client.state = ClientState::Connected { master, since: now, received: false };
                client.last_write = now;
                client.connects += 1;
                send_frame(ctx, master, HaFrame::Connect);
                send_frame(ctx, master, HaFrame::AutoSwitchHandshake { broker_id });
                self.arm_client_at(ctx, now + timing.heartbeat_interval + Duration(1));
            }
            ClientState::Connected { master, .. } => {
                let auto = self.replication.auto_switch.as_deref().expect("controller mode");
                let (handshake_done, broker_id) = (auto.handshake_done, auto.broker_id);
                let client = &mut self.replication.ha_client;
                if client.is_time_to_report(now, timing.heartbeat_interval) {
                    client.last_write = now;
                    let offset = client.current_reported_offset;
                    if handshake_done {
                        send_frame(ctx, master, HaFrame::SlaveReport { max_offset: offset });
                    } else {
                        // Still in HANDSHAKE: say it again.
                        send_frame(ctx, master, HaFrame::AutoSwitchHandshake { broker_id });
                    }
                }
                let at = self.replication.ha_client.last_write + timing.heartbeat_interval + Duration(1);
                self.arm_client_at(ctx, at.max(now + Duration(1)));
            }
            ClientState::Closing { .. } => {}
        }
        true
    }

    fn arm_client_at(&mut self, ctx: &mut Ctx<'_>, at: Time) {
        let client = &mut self.replication.ha_client;
        if let Some((timer, current)) = client.timer {
            if current <= at {
                return;
            }
            ctx.cancel_timer(timer);
        }
        let generation = client.generation;
        let timer = ctx.set_timer(
            at.saturating_since(ctx.now()),
            Timer::Broker(BrokerTimer::Replication(ReplicationTimer::HaClient { generation })),
        );
        self.replication.ha_client.timer = Some((timer, at));
    }

    pub(crate) fn on_auto_switch_frame(&mut self, from: NodeId, frame: HaFrame, ctx: &mut Ctx<'_>) {
        if self.replication.mode != ReplicationMode::Controller || self.replication.auto_switch.is_none() {
            ctx.close_connection(from);
            return;
        }
        match frame {
            HaFrame::Connect => {
                if self.role() == BrokerRole::Slave {
                    ctx.close_connection(from);
                    return;
                }
                self.accept_ha_connection_any_mode(from, ctx);
            }
            HaFrame::AutoSwitchHandshake { broker_id } => {
                if !self.replication.ha_service.connections.contains_key(&from) {
                    ctx.close_connection(from);
                    return;
                }
                let now = ctx.now();
                let max = self.store.max_phy_offset();
                let auto = self.replication.auto_switch.as_deref_mut().expect("checked");
                auto.slaves.insert(from, SlaveInfo { broker_id, last_caught_up: now });
                let frame = HaFrame::AutoSwitchEpochs {
                    master_epoch: auto.master_epoch,
                    entries: auto.epochs.entries.iter().map(|e| (e.epoch, e.start_offset)).collect(),
                    master_max_offset: max,
                };
                send_frame(ctx, from, frame);
            }
            HaFrame::SlaveReport { max_offset } => self.on_auto_switch_report(from, max_offset, ctx),
            HaFrame::AutoSwitchEpochs { entries, master_max_offset, .. } => {
                self.on_master_epochs(from, entries, master_max_offset, ctx)
            }
            HaFrame::AutoSwitchTransfer { offset, epoch, epoch_start_offset, confirm_offset, body } => {
                self.on_auto_switch_transfer(from, offset, epoch, epoch_start_offset, confirm_offset, &body, ctx)
            }
            HaFrame::Transfer { .. } => ctx.close_connection(from),
        }
    }

    /// The slave's handshake step: truncate to the consistent point, then report.
    fn on_master_epochs(&mut self, from: NodeId, entries: Vec<(u32, i64)>, master_max: i64, ctx: &mut Ctx<'_>) {
        if self.replication.ha_client.master() != Some(from) {
            ctx.close_connection(from);
            return;
        }
        let master_entries: Vec<EpochEntry> =
            entries.into_iter().map(|(epoch, start_offset)| EpochEntry { epoch, start_offset }).collect();
        let local_max = self.store.max_phy_offset();
        let auto = self.replication.auto_switch.as_deref().expect("controller mode");
        // A replica without epochs is new: it takes what the master sends. Otherwise it needs a point both
        // logs agree on; without one (`truncateOffset < 0`) it refuses to sync and tries again later.
        let point = if auto.epochs.entries.is_empty() {
            local_max
        } else {
            auto.epochs.find_consistent_point(local_max, &master_entries, master_max)
        };
        if point < 0 {
            ctx.close_connection(from);
            self.replication.ha_client.state = ClientState::Idle;
            let at = ctx.now() + RECONNECT_WAIT;
            self.arm_client_at(ctx, at);
            return;
        }
        if point < local_max {
            truncate_commit_log(&mut self.store, &mut BrokerStoreIo { ctx }, point);
            if let Some(auto) = self.auto_switch() {
                auto.epochs.truncate_suffix_by_offset(point);
            }
            self.persist_epochs(ctx);
            self.observe_truncation(point, local_max - point, "5.x slave truncates to the epoch boundary", ctx);
        }
        let max = self.store.max_phy_offset();
        if let Some(auto) = self.auto_switch() {
            auto.handshake_done = true;
        }
        let client = &mut self.replication.ha_client;
        client.current_reported_offset = max;
        client.last_write = ctx.now();
        if let ClientState::Connected { received, .. } = &mut client.state {
            *received = true;
        }
        send_frame(ctx, from, HaFrame::SlaveReport { max_offset: max });
    }

    fn on_auto_switch_report(&mut self, slave: NodeId, offset: i64, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        let max = self.store.max_phy_offset();
        let Some(conn) = self.replication.ha_service.connections.get_mut(&slave) else {
            ctx.close_connection(slave);
            return;
        };
        if !conn.on_report(offset, now, max) {
            ctx.close_connection(slave);
            self.replication.ha_service.connections.remove(&slave);
            return;
        }
        self.replication.ha_service.notify_transfer_some(offset);
        let auto = self.replication.auto_switch.as_deref_mut().expect("controller mode");
        let caught_up_mark = auto.max_at_last_transfer;
        let epoch_start = auto.epochs.entries.last().map_or(0, |e| e.start_offset);
        let confirm = auto.confirm_offset;
        let mut expand = None;
        if let Some(info) = auto.slaves.get_mut(&slave) {
            if offset >= caught_up_mark {
                info.last_caught_up = now;
            }
            // `maybeExpandInSyncStateSet`.
            if !auto.sync_state_set.contains(&info.broker_id) && offset >= confirm && offset >= epoch_start {
                let mut set = auto.sync_state_set.clone();
                set.insert(info.broker_id);
                expand = Some(set);
            }
        }
        if let Some(set) = expand {
            self.alter_sync_state_set(set, ctx);
        }
        let events = self.store.on_replicated(&mut BrokerStoreIo { ctx }, offset);
        self.on_store_events(events, ctx);
        self.update_master_rules(ctx);
        self.pump_auto_switch(slave, ctx);
    }

    /// The write service with 5.x headers (epoch of the data, its start, the confirm offset).
    pub(crate) fn pump_auto_switch(&mut self, slave: NodeId, ctx: &mut Ctx<'_>) {
        let timing = HaTiming::of(&self.store);
        let now = ctx.now();
        let Some(conn) = self.replication.ha_service.connections.get_mut(&slave) else { return };
        let pumped = conn.pump(&self.store, ctx.disk(), now, &timing);
        let max = self.store.max_phy_offset();
        let auto = self.replication.auto_switch.as_deref_mut().expect("controller mode");
        if pumped.frames.iter().any(|f| matches!(f, HaFrame::Transfer { body, .. } if !body.is_empty())) {
            auto.max_at_last_transfer = max;
        }
        for frame in pumped.frames {
            let HaFrame::Transfer { offset, body } = frame else { continue };
            let entry = auto
                .epochs
                .entries
                .iter()
                .rev()
                .find(|e| e.start_offset <= offset)
                .copied()
                .unwrap_or(EpochEntry { epoch: auto.master_epoch, start_offset: 0 });
            let frame = HaFrame::AutoSwitchTransfer {
                offset,
                epoch: entry.epoch,
                epoch_start_offset: entry.start_offset,
                confirm_offset: auto.confirm_offset,
                body,
            };
            send_frame(ctx, slave, frame);
        }
        if let Some(at) = pumped.wake_at {
            self.arm_ha_write_pub(slave, at, ctx);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_auto_switch_transfer(
        &mut self,
        from: NodeId,
        offset: i64,
        epoch: u32,
        epoch_start_offset: i64,
        confirm_offset: i64,
        body: &FrameBody,
        ctx: &mut Ctx<'_>,
    ) {
        if self.replication.ha_client.master() != Some(from) || self.role() != BrokerRole::Slave {
            if !matches!(self.replication.ha_client.state, ClientState::Closing { master } if master == from) {
                ctx.close_connection(from);
            }
            return;
        }
        let slave_max = self.store.max_phy_offset();
        if slave_max != 0 && slave_max != offset {
            ctx.close_connection(from);
            self.replication.ha_client.state = ClientState::Closing { master: from };
            return;
        }
        let now = ctx.now();
        let client = &mut self.replication.ha_client;
        client.frames_received += 1;
        client.bytes_received += u64::from(body.len());
        client.master_offset_seen = client.master_offset_seen.max(offset + i64::from(body.len()));
        client.last_frame_at = Some(now);
        if !body.is_empty() {
            if self.auto_switch().is_some_and(|a| epoch > a.epochs.last_epoch()) {
                if let Some(auto) = self.auto_switch() {
                    auto.epochs.append(EpochEntry { epoch, start_offset: epoch_start_offset });
                }
                self.persist_epochs(ctx);
            }
            let _ = self.store.append_to_commit_log(&mut BrokerStoreIo { ctx }, offset, body.bytes());
        }
        let max = self.store.max_phy_offset();
        let confirm = confirm_offset.min(max);
        if let Some(auto) = self.auto_switch() {
            auto.confirm_offset = confirm;
        }
        if self.store.reput_limit != Some(confirm) {
            self.store.reput_limit = Some(confirm);
            self.store.schedule_reput(&mut BrokerStoreIo { ctx });
        }
        let client = &mut self.replication.ha_client;
        if max > client.current_reported_offset {
            client.current_reported_offset = max;
            client.last_write = now;
            send_frame(ctx, from, HaFrame::SlaveReport { max_offset: max });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(entries: &[(u32, i64)]) -> EpochFileCache {
        EpochFileCache {
            entries: entries
                .iter()
                .map(|(epoch, start_offset)| EpochEntry { epoch: *epoch, start_offset: *start_offset })
                .collect(),
        }
    }

    #[test]
    fn the_consistent_point_is_the_end_both_logs_share_in_the_newest_common_epoch() {
        // The slave wrote epoch 2 up to 900; the new master's epoch 2 ended at 700, epoch 3 began there.
        let slave = cache(&[(1, 0), (2, 500)]);
        let master = [
            EpochEntry { epoch: 1, start_offset: 0 },
            EpochEntry { epoch: 2, start_offset: 500 },
            EpochEntry { epoch: 3, start_offset: 700 },
        ];
        assert_eq!(slave.find_consistent_point(900, &master, 1_200), 700);
        // Same epochs, the slave simply behind: nothing to cut.
        assert_eq!(cache(&[(1, 0)]).find_consistent_point(300, &master[..1], 400), 300);
        // An epoch started at another offset does not count.
        let odd = [EpochEntry { epoch: 1, start_offset: 0 }, EpochEntry { epoch: 2, start_offset: 450 }];
        assert_eq!(slave.find_consistent_point(900, &odd, 1_000), 450);
    }

    #[test]
    fn the_epoch_file_round_trips_and_truncates() {
        let mut c = cache(&[(1, 0), (2, 500), (3, 700)]);
        assert_eq!(EpochFileCache::decode(&c.encode()), c);
        c.truncate_suffix_by_offset(600);
        assert_eq!(c.entries.len(), 2);
        c.append(EpochEntry { epoch: 2, start_offset: 550 });
        assert_eq!(
            c.entries,
            vec![EpochEntry { epoch: 1, start_offset: 0 }, EpochEntry { epoch: 2, start_offset: 550 }]
        );
    }
}
