//! The 5.x controller (labelled 5.x: RocketMQ 4.9 has none): `ControllerManager`, `ReplicasInfoManager`,
//! `DefaultBrokerHeartbeatManager` and `DefaultElectPolicy` of RocketMQ 5.x, as one node.
//!
//! For each broker set (brokerName) it keeps the registered replicas (controller broker ids 1, 2, ...),
//! their last heartbeat (epoch, max offset, confirm offset, election priority), the master (id, epoch)
//! and the **SyncStateSet** (the replicas caught up with the master, with its own epoch).
//!
//! * Brokers heartbeat every 1 s; one silent for more than 10 s (`controllerHeartBeatTimeoutMills`) is
//!   inactive. Every 5 s (`scanNotActiveBrokerInterval`) the controller looks for sets whose master is
//!   inactive and elects a new one.
//! * **Election** (`electMaster` + `DefaultElectPolicy`): the first election of a set takes the broker
//!   that asked; later ones pick among the *active* members of the SyncStateSet (and, only with
//!   `enableElectUncleanMaster`, among every active replica): the old master if still valid, else the
//!   highest epoch, then the largest max offset, then the smallest `brokerElectionPriority`. The new
//!   master gets epoch + 1 and a SyncStateSet of itself; every replica of the set is notified
//!   (NOTIFY_BROKER_ROLE_CHANGED). With no candidate the set has no master until one comes back.
//! * **AlterSyncStateSet** from the master is accepted only for its current master epoch and
//!   SyncStateSet epoch; the set's epoch then moves on.
//!
//! One controller (RocketMQ runs three, replicated with DLedger or JRaft; not modelled): a dead controller
//! stops elections and SyncStateSet changes, nothing else.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::observation::Observation;
use crate::protocol::ha::{
    ControllerRequest, ControllerResponse, ReplicaInfo, ReplicationRequest, ReplicationResponse,
};
use crate::protocol::{Message, Request, Response, ResponseBody};
use crate::sim::node::NodeId;
use crate::time::{Duration, Time};
use crate::world::{Ctx, Timer};

/// 5.x `ControllerConfig` keys the simulation uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ControllerConfig {
    /// How often inactive brokers are looked for (ms).
    pub scan_not_active_broker_interval: u64,
    /// A broker silent for this long is inactive (ms; RocketMQ's brokers send it with their heartbeat).
    pub controller_heart_beat_timeout_mills: u64,
    /// Elect from every active replica when no SyncStateSet member is available (may lose messages).
    pub enable_elect_unclean_master: bool,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            scan_not_active_broker_interval: 5_000,
            controller_heart_beat_timeout_mills: 10_000,
            enable_elect_unclean_master: false,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ControllerSpec {
    pub config: ControllerConfig,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControllerTimer {
    /// `scanNotActiveBroker`.
    Scan,
}

/// What the controller knows of one replica.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BrokerLiveInfo {
    pub broker_addr: String,
    pub node: NodeId,
    pub last_heartbeat: Time,
    pub epoch: u32,
    pub max_offset: i64,
    pub confirm_offset: i64,
    pub election_priority: u32,
}

/// `SyncStateInfo` + `BrokerReplicaInfo` of one broker set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BrokerSet {
    pub cluster_name: String,
    pub replicas: BTreeMap<u64, BrokerLiveInfo>,
    pub master_id: Option<u64>,
    pub master_epoch: u32,
    pub sync_state_set: BTreeSet<u64>,
    pub sync_state_set_epoch: u32,
    /// No master was ever elected (`isFirstTimeForElect`).
    pub first_time_for_elect: bool,
}

/// `DefaultElectPolicy.elect`: candidates from the SyncStateSet, then (unclean) from all replicas; among
/// valid ones the old master if valid, else by (epoch desc, max offset desc, priority asc, id asc).
pub fn elect(set: &BrokerSet, valid: impl Fn(u64) -> bool, unclean: bool) -> Option<u64> {
    let try_elect = |brokers: &BTreeSet<u64>| -> Option<u64> {
        let candidates: Vec<u64> = brokers.iter().copied().filter(|id| valid(*id)).collect();
        if candidates.is_empty() {
            return None;
        }
        if let Some(old) = set.master_id.filter(|m| candidates.contains(m)) {
            return Some(old);
        }
        candidates
            .into_iter()
            .filter_map(|id| set.replicas.get(&id).map(|info| (id, info)))
            .min_by(|(a_id, a), (b_id, b)| {
                b.epoch
                    .cmp(&a.epoch)
                    .then(b.max_offset.cmp(&a.max_offset))
                    .then(a.election_priority.cmp(&b.election_priority))
                    .then(a_id.cmp(b_id))
            })
            .map(|(id, _)| id)
    };
    try_elect(&set.sync_state_set)
        .or_else(|| unclean.then(|| try_elect(&set.replicas.keys().copied().collect())).flatten())
}

#[derive(Clone, Debug)]
pub struct ControllerNode {
    pub spec: ControllerSpec,
    pub broker_sets: BTreeMap<String, BrokerSet>,
    pub elections: u64,
}

impl ControllerNode {
    pub fn boot(spec: &ControllerSpec) -> Self {
        ControllerNode { spec: spec.clone(), broker_sets: BTreeMap::new(), elections: 0 }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        let interval = Duration::from_millis(self.spec.config.scan_not_active_broker_interval);
        ctx.set_timer(interval, Timer::Controller(ControllerTimer::Scan));
    }

    fn is_active(&self, set: &BrokerSet, id: u64, now: Time) -> bool {
        let timeout = Duration::from_millis(self.spec.config.controller_heart_beat_timeout_mills);
        set.replicas.get(&id).is_some_and(|info| now.saturating_since(info.last_heartbeat) <= timeout)
    }

    pub fn on_timer(&mut self, timer: ControllerTimer, ctx: &mut Ctx<'_>) {
        match timer {
            ControllerTimer::Scan => {
                let now = ctx.now();
                let names: Vec<String> = self.broker_sets.keys().cloned().collect();
                for name in names {
                    let set = &self.broker_sets[&name];
                    if let Some(master) = set.master_id {
                        if !self.is_active(set, master, now) {
                            // The master is gone: elect (`triggerElectMaster`, no preferred broker).
                            self.elect_master(&name, None, ctx);
                        }
                    }
                }
                let interval = Duration::from_millis(self.spec.config.scan_not_active_broker_interval);
                ctx.set_timer(interval, Timer::Controller(ControllerTimer::Scan));
            }
        }
    }

    fn replica_info(&self, name: &str) -> ReplicaInfo {
        let Some(set) = self.broker_sets.get(name) else {
            return ReplicaInfo { broker_name: name.to_string(), ..ReplicaInfo::default() };
        };
        ReplicaInfo {
            broker_name: name.to_string(),
            master_id: set.master_id,
            master_addr: set.master_id.and_then(|m| set.replicas.get(&m)).map(|i| i.broker_addr.clone()),
            master_epoch: set.master_epoch,
            sync_state_set: set.sync_state_set.iter().copied().collect(),
            sync_state_set_epoch: set.sync_state_set_epoch,
        }
    }

    /// Elect for `name`; `requester` is the broker that asked (it wins a set's first election).
    fn elect_master(&mut self, name: &str, requester: Option<u64>, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        let unclean = self.spec.config.enable_elect_unclean_master;
        let Some(set) = self.broker_sets.get(name) else { return };
        let new_master = if set.first_time_for_elect {
            requester.filter(|id| self.is_active(set, *id, now))
        } else {
            let valid = |id: u64| self.is_active(set, id, now);
            elect(set, valid, unclean)
        };
        let set = self.broker_sets.get_mut(name).expect("present");
        if new_master.is_some() && new_master == set.master_id {
            return;
        }
        let was_in_sync = new_master.is_some_and(|m| set.sync_state_set.contains(&m));
        match new_master {
            Some(master) => {
                set.master_id = Some(master);
                set.master_epoch += 1;
                set.sync_state_set = [master].into();
                set.sync_state_set_epoch += 1;
                set.first_time_for_elect = false;
            }
            None => {
                if set.master_id.is_none() {
                    return;
                }
                set.master_id = None;
            }
        }
        self.elections += 1;
        let info = self.replica_info(name);
        ctx.observe(Observation::MasterElected {
            broker_name: name.to_string(),
            master_id: info.master_id,
            master_addr: info.master_addr.clone(),
            epoch: info.master_epoch,
            sync_state_set: info.sync_state_set.clone(),
            unclean: new_master.is_some() && !was_in_sync && requester.is_none(),
        });
        let nodes: Vec<NodeId> = self.broker_sets[name].replicas.values().map(|r| r.node).collect();
        for node in nodes {
            let request = ControllerRequest::NotifyBrokerRoleChanged { replica_info: info.clone() };
            ctx.send(
                node,
                Message::Oneway { request: Request::Replication(Box::new(ReplicationRequest::Controller(request))) },
            );
        }
    }

    pub fn on_message(&mut self, from: NodeId, message: Message, ctx: &mut Ctx<'_>) {
        let (opaque, request) = match message {
            Message::Request { opaque, request } => (Some(opaque), request),
            Message::Oneway { request } => (None, request),
            Message::Response { .. } => return,
        };
        let Request::Replication(request) = request else {
            if let Some(opaque) = opaque {
                ctx.send(from, Message::Response { opaque, response: request.not_supported() });
            }
            return;
        };
        let ReplicationRequest::Controller(request) = *request else { return };
        let now = ctx.now();
        let response = match request {
            ControllerRequest::RegisterBroker { cluster_name, broker_name, broker_id, broker_addr, apply } => {
                let set = self.broker_sets.entry(broker_name.clone()).or_insert_with(|| BrokerSet {
                    cluster_name,
                    first_time_for_elect: true,
                    ..BrokerSet::default()
                });
                // `applyBrokerId`: a broker that lost its id (its disk) gets a new one, never an old replica's.
                let id = if apply && set.replicas.contains_key(&broker_id) {
                    set.replicas.keys().next_back().copied().unwrap_or(0) + 1
                } else {
                    broker_id
                };
                let info = set.replicas.entry(id).or_insert(BrokerLiveInfo {
                    broker_addr: broker_addr.clone(),
                    node: from,
                    last_heartbeat: now,
                    epoch: 0,
                    max_offset: 0,
                    confirm_offset: 0,
                    election_priority: u32::MAX,
                });
                info.broker_addr = broker_addr;
                info.node = from;
                info.last_heartbeat = now;
                ControllerResponse::Registered { broker_id: id, info: self.replica_info(&broker_name) }
            }
            ControllerRequest::BrokerHeartbeat {
                broker_name,
                broker_id,
                epoch,
                max_offset,
                confirm_offset,
                election_priority,
                ..
            } => {
                if let Some(info) = self.broker_sets.get_mut(&broker_name).and_then(|s| s.replicas.get_mut(&broker_id))
                {
                    info.last_heartbeat = now;
                    info.node = from;
                    info.epoch = epoch;
                    info.max_offset = max_offset;
                    info.confirm_offset = confirm_offset;
                    info.election_priority = election_priority;
                }
                ControllerResponse::Ack
            }
            ControllerRequest::GetReplicaInfo { broker_name } => {
                ControllerResponse::ReplicaInfo(self.replica_info(&broker_name))
            }
            ControllerRequest::ElectMaster { broker_name, broker_id } => {
                if self.broker_sets.contains_key(&broker_name) {
                    let master_alive = self.broker_sets[&broker_name]
                        .master_id
                        .is_some_and(|m| self.is_active(&self.broker_sets[&broker_name], m, now));
                    if !master_alive {
                        self.elect_master(&broker_name, Some(broker_id), ctx);
                    }
                    ControllerResponse::ReplicaInfo(self.replica_info(&broker_name))
                } else {
                    ControllerResponse::Refused("Broker hasn't been registered".into())
                }
            }
            ControllerRequest::AlterSyncStateSet {
                broker_name,
                master_id,
                master_epoch,
                sync_state_set,
                sync_state_set_epoch,
            } => match self.broker_sets.get_mut(&broker_name) {
                Some(set)
                    if set.master_id == Some(master_id)
                        && set.master_epoch == master_epoch
                        && set.sync_state_set_epoch == sync_state_set_epoch
                        && sync_state_set.contains(&master_id) =>
                {
                    set.sync_state_set = sync_state_set.into_iter().collect();
                    set.sync_state_set_epoch += 1;
                    let info = self.replica_info(&broker_name);
                    ctx.observe(Observation::SyncStateSetChanged {
                        broker_name: broker_name.clone(),
                        sync_state_set: info.sync_state_set.clone(),
                        epoch: info.sync_state_set_epoch,
                    });
                    ControllerResponse::ReplicaInfo(info)
                }
                _ => ControllerResponse::Refused("the master or the SyncStateSet epoch is not current".into()),
            },
            ControllerRequest::NotifyBrokerRoleChanged { .. } => ControllerResponse::Refused("not a broker".into()),
        };
        if let Some(opaque) = opaque {
            let response =
                Response::success(ResponseBody::Replication(Box::new(ReplicationResponse::Controller(response))));
            ctx.send(from, Message::Response { opaque, response });
        }
    }

    pub fn on_connection_closed(&mut self, _peer: NodeId, _ctx: &mut Ctx<'_>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(epoch: u32, max_offset: i64, priority: u32) -> BrokerLiveInfo {
        BrokerLiveInfo {
            broker_addr: String::new(),
            node: NodeId(0),
            last_heartbeat: Time::ZERO,
            epoch,
            max_offset,
            confirm_offset: 0,
            election_priority: priority,
        }
    }

    #[test]
    fn the_policy_prefers_epoch_then_offset_then_priority_and_only_in_sync_replicas() {
        let mut set = BrokerSet::default();
        set.replicas.insert(1, live(3, 900, 5));
        set.replicas.insert(2, live(3, 1_000, 9));
        set.replicas.insert(3, live(4, 10, 9));
        set.master_id = Some(1);
        set.sync_state_set = [1, 2].into();
        let alive_but_master = |id: u64| id != 1;
        assert_eq!(elect(&set, alive_but_master, false), Some(2), "3 has a higher epoch but is not in sync");
        assert_eq!(elect(&set, |id| id == 3, false), None, "no in-sync candidate: no master");
        assert_eq!(elect(&set, |id| id == 3, true), Some(3), "unclean election takes it");
        assert_eq!(elect(&set, |_| true, false), Some(1), "a valid old master stays");
    }
}

/// What a UI shows of the controller: each broker set as the controller sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ControllerView {
    /// (brokerName, master id, master epoch, SyncStateSet, its epoch, (id, address, ms since last heartbeat)).
    pub broker_sets: Vec<BrokerSetView>,
    pub elections: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BrokerSetView {
    pub broker_name: String,
    pub master_id: Option<u64>,
    pub master_epoch: u32,
    pub sync_state_set: Vec<u64>,
    pub sync_state_set_epoch: u32,
    /// (controller id, address, epoch, max offset).
    pub replicas: Vec<(u64, String, u32, i64)>,
}

pub fn view(controller: &ControllerNode) -> ControllerView {
    ControllerView {
        broker_sets: controller
            .broker_sets
            .iter()
            .map(|(name, set)| BrokerSetView {
                broker_name: name.clone(),
                master_id: set.master_id,
                master_epoch: set.master_epoch,
                sync_state_set: set.sync_state_set.iter().copied().collect(),
                sync_state_set_epoch: set.sync_state_set_epoch,
                replicas: set
                    .replicas
                    .iter()
                    .map(|(id, r)| (*id, r.broker_addr.clone(), r.epoch, r.max_offset))
                    .collect(),
            })
            .collect(),
        elections: controller.elections,
    }
}
