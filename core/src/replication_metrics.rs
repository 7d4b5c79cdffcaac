//! Replication as a student measures it: per broker group, who is master and how far behind each
//! replica is (bytes and time); per failure, the RTO and the RPO.
//!
//! * **RTO** of a failure that took a group's master away (a crash or shutdown of the node that was
//!   master then): from the failure to the first SEND_OK a producer got from that group afterwards (a
//!   restarted master, a DLedger leader or a 5.x master elected meanwhile). None while none came. A
//!   classic group whose master stays down has no RTO: its slave never takes writes.
//! * **RPO** of a failure: the messages acknowledged (SEND_OK) by that group up to the failure that are
//!   in no running replica's CommitLog *now* (when the report is made). Read from the replicas' logs
//!   themselves (record by record, by UNIQ_KEY), not from what they claim: a message a master
//!   acknowledged and lost with its page cache, never replicated, is exactly what this finds.
//! * **Lag** of a replica: bytes between the master's (or DLedger leader's) log end and the replica's,
//!   and how old the oldest record it lacks is (0 when caught up).
//!
//! Readers only: this module reads views of nodes and their disks, observations and the actions the
//! simulation applied; it never changes a node. Logs are scanned on demand, so a caller decides how
//! often to pay for it (the view's lag needs no scan).

use std::collections::BTreeSet;

use serde::Serialize;

use crate::broker::broker_store_io::wall_clock_ms;
use crate::broker::controller::BrokerController;
use crate::broker::dledger::entry::{decode_header, EntryAt, BODY_OFFSET};
use crate::broker::ha::{ClientState, ReplicationMode};
use crate::broker::store::default_message_store::DefaultMessageStore;
use crate::broker::store::dispatch_request::{check_message_and_return_size, CheckedRecord};
use crate::broker::store::message_record::{store_timestamp_position, MESSAGE_MAGIC_CODE, SYS_FLAG_POSITION};
use crate::broker::store::message_store_config::BrokerRole;
use crate::observation::{Observation, SendOutcome};
use crate::producer::send_result::SendStatus;
use crate::scenario::model::{ActionSpec, BrokerGroupSpec, CrashKindSpec};
use crate::sim::disk::NodeDisk;
use crate::sim::kernel::NodeStatus;
use crate::simulation::Simulation;
use crate::time::{Duration, Time};
use crate::world::AnyNode;

/// One replica of a broker group, as a view shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReplicaView {
    pub node: String,
    pub up: bool,
    pub broker_id: u64,
    /// `SYNC_MASTER`, `ASYNC_MASTER`, `SLAVE`.
    pub role: String,
    /// The end of its CommitLog (DLedger: of its entry log, committed or not).
    pub max_offset: i64,
    /// Bytes behind the master (0 for the master).
    pub lag_bytes: i64,
    /// How old the oldest record it lacks is, in ms (0 when caught up).
    pub lag_ms: u64,
    /// Classic slave: its HA client (`connected`, `connecting`, `idle`); master: how many slaves it streams to.
    pub ha: String,
    /// DLedger: (self id, role, term, end index, committed index).
    pub dledger: Option<(String, String, i64, i64, i64)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupReplicationView {
    pub broker_name: String,
    /// "ASYNC_MASTER + ASYNC_FLUSH", "SYNC_MASTER + SYNC_FLUSH", "DLedger (3 nodes)", "5.x controller".
    pub mode: String,
    /// The node that is master now (broker id 0), if any is.
    pub master: Option<String>,
    pub replicas: Vec<ReplicaView>,
}

/// One failure of a broker node and what it cost.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailureReport {
    pub broker_name: String,
    pub node: String,
    /// `process_kill`, `power_loss`, `disk_loss`, `shutdown`.
    pub kind: String,
    pub at: Time,
    pub mode: String,
    /// The node was the group's master when it failed.
    pub master_lost: bool,
    /// Time to the first SEND_OK from the group after the failure.
    pub rto: Option<Duration>,
    /// Messages the group acknowledged up to the failure.
    pub acknowledged_before: u32,
    /// Those of them no running replica holds now (UNIQ_KEYs, in acknowledgement order).
    pub lost: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReplicationReport {
    pub time: Time,
    pub groups: Vec<GroupReplicationView>,
    pub failures: Vec<FailureReport>,
    /// Per group: (broker name, acknowledged so far, of which lost now).
    pub totals: Vec<(String, u32, u32)>,
}

/// The broker of a node, if it is up.
fn broker_of<'a>(sim: &'a Simulation, name: &str) -> Option<&'a BrokerController> {
    let entry = sim.directory().by_name(name)?;
    match sim.kernel().node(entry.id) {
        Some(AnyNode::Broker(b)) => Some(b),
        _ => None,
    }
}

/// The group's mode, as a label.
pub fn mode_label(group: &BrokerGroupSpec) -> String {
    match group.replication_mode() {
        ReplicationMode::DLedger => format!("DLedger ({} nodes)", group.replica_count()),
        ReplicationMode::Controller => "5.x controller".into(),
        ReplicationMode::Classic => {
            let role = match group.store.broker_role {
                BrokerRole::SyncMaster => "SYNC_MASTER",
                BrokerRole::AsyncMaster => "ASYNC_MASTER",
                BrokerRole::Slave => "SLAVE",
            };
            let flush = match group.store.flush_disk_type {
                crate::broker::store::message_store_config::FlushDiskType::SyncFlush => "SYNC_FLUSH",
                crate::broker::store::message_store_config::FlushDiskType::AsyncFlush => "ASYNC_FLUSH",
            };
            format!("{role} + {flush}")
        }
    }
}

fn role_name(role: BrokerRole) -> &'static str {
    match role {
        BrokerRole::SyncMaster => "SYNC_MASTER",
        BrokerRole::AsyncMaster => "ASYNC_MASTER",
        BrokerRole::Slave => "SLAVE",
    }
}

/// The STORETIMESTAMP of the record at `offset` of a store's CommitLog (classic records or DLedger
/// entries), if one starts there.
fn store_timestamp_at(store: &DefaultMessageStore, disk: &NodeDisk, offset: i64) -> Option<i64> {
    let queue = store.commit_log().mapped_file_queue();
    let index = queue.find_by_offset(offset, false)?;
    let file = &queue.files()[index];
    let mut position = offset - file.file_from_offset();
    if store.dledger().is_some() {
        let mut header = [0u8; BODY_OFFSET];
        file.read(disk, position, &mut header);
        if !matches!(decode_header(&header), EntryAt::Entry(_)) {
            return None;
        }
        position += BODY_OFFSET as i64;
    }
    let mut head = [0u8; 80];
    if position + head.len() as i64 > file.file_size() {
        return None;
    }
    file.read(disk, position, &mut head);
    let int = |at: usize| i32::from_be_bytes(head[at..at + 4].try_into().expect("4 bytes"));
    if int(4) != MESSAGE_MAGIC_CODE {
        return None;
    }
    let at = store_timestamp_position(int(SYS_FLAG_POSITION as usize)) as usize;
    let timestamp = i64::from_be_bytes(head[at..at + 8].try_into().expect("8 bytes"));
    (timestamp > 0).then_some(timestamp)
}

/// The UNIQ_KEYs of every message in a store's CommitLog (DLedger: in its entries), walking each file
/// from its start until the first invalid record, as recovery would.
pub fn stored_msg_ids(store: &DefaultMessageStore, disk: &NodeDisk) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let dledger = store.dledger().is_some();
    let queue = store.commit_log().mapped_file_queue();
    for file in queue.files() {
        let readable = file.read_position();
        let mut bytes = vec![0u8; readable.max(0) as usize];
        file.read(disk, 0, &mut bytes);
        let mut position = 0usize;
        while position + 8 <= bytes.len() {
            let (record_at, step) = if dledger {
                match decode_header(&bytes[position..(position + BODY_OFFSET).min(bytes.len())]) {
                    EntryAt::Entry(header) => (position + BODY_OFFSET, header.size as usize),
                    _ => break,
                }
            } else {
                (position, 0)
            };
            let Some(record) = bytes.get(record_at..) else { break };
            match check_message_and_return_size(record, false, &[]) {
                CheckedRecord::Message(request) => {
                    if let Some(key) = request.uniq_key() {
                        ids.insert(key.to_string());
                    }
                    position += if dledger { step } else { request.msg_size as usize };
                }
                _ => break,
            }
        }
    }
    ids
}

/// Every group's replicas as they stand.
pub fn group_views(sim: &Simulation) -> Vec<GroupReplicationView> {
    let now_ms = wall_clock_ms(sim.now());
    sim.scenario()
        .topology
        .broker_groups
        .iter()
        .map(|group| {
            let names = group.node_names();
            let brokers: Vec<Option<&BrokerController>> = names.iter().map(|n| broker_of(sim, n)).collect();
            let master_index =
                brokers.iter().position(|b| b.is_some_and(|b| b.spec.broker_id == 0 && b.role() != BrokerRole::Slave));
            let master = master_index.and_then(|i| brokers[i]);
            let master_disk =
                master_index.map(|i| sim.kernel().disk(sim.directory().by_name(&names[i]).expect("named").id));
            let replicas = names
                .iter()
                .zip(&brokers)
                .map(|(name, broker)| {
                    let Some(b) = broker else {
                        return ReplicaView {
                            node: name.clone(),
                            up: false,
                            broker_id: 0,
                            role: "DOWN".into(),
                            max_offset: 0,
                            lag_bytes: 0,
                            lag_ms: 0,
                            ha: String::new(),
                            dledger: None,
                        };
                    };
                    let max_offset = b.store.commit_log().mapped_file_queue().max_wrote_position();
                    let (lag_bytes, lag_ms) = match (master, master_disk) {
                        (Some(m), Some(disk)) if !std::ptr::eq(m, *b) => {
                            let master_max = m.store.commit_log().mapped_file_queue().max_wrote_position();
                            let lag = (master_max - max_offset).max(0);
                            let age = if lag > 0 {
                                store_timestamp_at(&m.store, disk, max_offset)
                                    .map_or(0, |ts| (now_ms - ts).max(0) as u64)
                            } else {
                                0
                            };
                            (lag, age)
                        }
                        _ => (0, 0),
                    };
                    let ha = if b.role() == BrokerRole::Slave && b.replication.mode == ReplicationMode::Classic {
                        match b.replication.ha_client.state {
                            ClientState::Connected { received: true, .. } => "connected".to_string(),
                            ClientState::Connected { .. } => "connecting".to_string(),
                            ClientState::Closing { .. } => "closing".to_string(),
                            ClientState::Idle => "idle".to_string(),
                        }
                    } else if b.replication.mode == ReplicationMode::Classic {
                        format!("{} slave(s) connected", b.replication.ha_service.connections.len())
                    } else {
                        String::new()
                    };
                    let dledger = b.store.dledger().map(|d| {
                        (
                            d.config.self_id.clone(),
                            format!("{:?}", d.member.role).to_uppercase(),
                            d.member.curr_term,
                            d.ledger_end_index,
                            d.committed_index,
                        )
                    });
                    ReplicaView {
                        node: name.clone(),
                        up: true,
                        broker_id: b.spec.broker_id,
                        role: role_name(b.role()).into(),
                        max_offset,
                        lag_bytes,
                        lag_ms,
                        ha,
                        dledger,
                    }
                })
                .collect();
            GroupReplicationView {
                broker_name: group.name.clone(),
                mode: mode_label(group),
                master: master_index.map(|i| names[i].clone()),
                replicas,
            }
        })
        .collect()
}

/// (time, msg ids) of every SEND_OK a group gave, in order.
fn acknowledged(sim: &Simulation, broker_name: &str) -> Vec<(Time, Vec<String>)> {
    sim.observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::SendCompleted {
                msg_ids,
                outcome: SendOutcome::Sent { status: SendStatus::SendOk, queue, .. },
                ..
            } if &*queue.broker_name == broker_name => Some((o.time, msg_ids.clone())),
            _ => None,
        })
        .collect()
}

/// Whether `node` was its group's master at `at`: the last role it announced before then (DLedger and
/// 5.x), or its fixed place in a classic group.
fn was_master(sim: &Simulation, group: &BrokerGroupSpec, node: &str, at: Time) -> bool {
    if group.replication_mode() == ReplicationMode::Classic {
        return node == group.name;
    }
    let Some(addr) = sim.directory().by_name(node).map(|e| e.addr()) else { return false };
    let mut master = false;
    for o in sim.observations().iter().take_while(|o| o.time <= at) {
        if let Observation::BrokerRoleChanged { broker_addr, broker_id, .. } = &o.observation {
            if *broker_addr == addr {
                master = *broker_id == 0;
            }
        }
    }
    master
}

/// The msg ids every running replica of a group holds now.
fn surviving(sim: &Simulation, group: &BrokerGroupSpec) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for name in group.node_names() {
        let Some(entry) = sim.directory().by_name(&name) else { continue };
        if sim.kernel().status(entry.id) != NodeStatus::Up {
            continue;
        }
        if let Some(AnyNode::Broker(b)) = sim.kernel().node(entry.id) {
            ids.extend(stored_msg_ids(&b.store, sim.kernel().disk(entry.id)));
        }
    }
    ids
}

/// How many messages a group acknowledged so far, and those (UNIQ_KEYs, in order) no running replica
/// holds now.
pub fn acknowledged_and_lost(sim: &Simulation, broker_name: &str) -> (u32, Vec<String>) {
    let Some(group) = sim.scenario().topology.broker_groups.iter().find(|g| g.name == broker_name) else {
        return (0, Vec::new());
    };
    let acked = acknowledged(sim, broker_name);
    let survivors = surviving(sim, group);
    let ids: Vec<&String> = acked.iter().flat_map(|(_, ids)| ids.iter()).collect();
    let lost = ids.iter().filter(|id| !survivors.contains(**id)).map(|id| (*id).clone()).collect();
    (ids.len() as u32, lost)
}

/// RTO and RPO of every broker failure so far, and the groups as they stand.
pub fn report(sim: &Simulation) -> ReplicationReport {
    let groups = &sim.scenario().topology.broker_groups;
    let mut failures = Vec::new();
    let mut totals = Vec::new();
    for group in groups {
        let acked = acknowledged(sim, &group.name);
        let survivors = surviving(sim, group);
        let total: u32 = acked.iter().map(|(_, ids)| ids.len() as u32).sum();
        let lost_now =
            acked.iter().flat_map(|(_, ids)| ids.iter()).filter(|id| !survivors.contains(*id)).count() as u32;
        totals.push((group.name.clone(), total, lost_now));
        let names = group.node_names();
        for (at, action) in sim.action_history() {
            let (node, kind) = match action {
                ActionSpec::Crash { node, kind } => (node, crash_kind_name(*kind)),
                ActionSpec::Shutdown { node } => (node, "shutdown"),
                _ => continue,
            };
            if !names.contains(node) || *at > sim.now() {
                continue;
            }
            let master_lost = was_master(sim, group, node, *at);
            let rto = if master_lost {
                acked.iter().find(|(t, _)| *t > *at).map(|(t, _)| t.saturating_since(*at))
            } else {
                None
            };
            let before: Vec<&String> =
                acked.iter().filter(|(t, _)| *t <= *at).flat_map(|(_, ids)| ids.iter()).collect();
            let lost = before.iter().filter(|id| !survivors.contains(**id)).map(|id| (*id).clone()).collect();
            failures.push(FailureReport {
                broker_name: group.name.clone(),
                node: node.clone(),
                kind: kind.into(),
                at: *at,
                mode: mode_label(group),
                master_lost,
                rto,
                acknowledged_before: before.len() as u32,
                lost,
            });
        }
    }
    ReplicationReport { time: sim.now(), groups: group_views(sim), failures, totals }
}

fn crash_kind_name(kind: CrashKindSpec) -> &'static str {
    match kind {
        CrashKindSpec::ProcessKill => "process_kill",
        CrashKindSpec::PowerLoss => "power_loss",
        CrashKindSpec::DiskLoss => "disk_loss",
    }
}
