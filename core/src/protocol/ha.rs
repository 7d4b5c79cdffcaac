//! Replication traffic: master/slave HA frames, DLedger RPCs, the 5.x controller's RPCs and the slave's
//! metadata sync.
//!
//! * **HA** (4.9 `HAClient` / `HAConnection`) is not RemotingCommand: it is raw bytes on its own socket
//!   (port 10912). A slave writes an 8-byte big-endian long, its max CommitLog offset; a master writes a
//!   12-byte header (physical offset 8 + body size 4) followed by that many raw CommitLog bytes, and a
//!   header with size 0 as a heartbeat. They are typed here, with [`HaFrame::wire_bytes`] saying how many
//!   bytes each would be. [`HaFrame::Connect`] stands for the TCP handshake (no payload): a peer that
//!   receives a frame on a socket it never accepted answers with a reset, as a restarted process would.
//! * **DLedger** (`openmessaging/dledger` 0.3.1.2, the version 4.9.8 bundles) talks RemotingCommands
//!   (`DLedgerRequestCode`: VOTE 51001, HEART_BEAT 51002, PUSH 51004) whose bodies carry a
//!   `DLedgerResponseCode`. A pushed entry travels as its stored bytes: the 48-byte DLedger header around
//!   the RocketMQ record.
//! * **5.x controller mode** (labelled 5.x everywhere): BROKER_HEARTBEAT and the CONTROLLER_* requests,
//!   and the AutoSwitch HA handshake (epoch entries) on the HA socket.
//! * **Slave sync** (`SlaveSynchronize`): GET_ALL_TOPIC_CONFIG (21), GET_ALL_CONSUMER_OFFSET (43),
//!   GET_ALL_DELAY_OFFSET (45).

use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::DataVersion;
use crate::route::TopicConfig;

/// Raw bytes carried by a frame, shared (a frame is cloned into the trace and the event queue).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct FrameBody(pub Rc<[u8]>);

impl FrameBody {
    pub fn new(bytes: Vec<u8>) -> Self {
        FrameBody(Rc::from(bytes))
    }

    pub fn len(&self) -> u32 {
        self.0.len() as u32
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for FrameBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0.len())
    }
}

impl Serialize for FrameBody {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for FrameBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BytesVisitor;
        impl<'de> serde::de::Visitor<'de> for BytesVisitor {
            type Value = FrameBody;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<FrameBody, E> {
                Ok(FrameBody(Rc::from(v)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<FrameBody, A::Error> {
                let mut bytes = Vec::new();
                while let Some(byte) = seq.next_element::<u8>()? {
                    bytes.push(byte);
                }
                Ok(FrameBody::new(bytes))
            }
        }
        deserializer.deserialize_bytes(BytesVisitor)
    }
}

/// What travels on an HA socket (master/slave; the 5.x AutoSwitch variants are marked).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HaFrame {
    /// The slave opens the TCP connection to the master's HA port (no payload).
    Connect,
    /// Slave → master: its max CommitLog offset (8 bytes, big-endian).
    SlaveReport { max_offset: i64 },
    /// Master → slave: 12-byte header (physical offset, body size), then the body; empty = heartbeat.
    Transfer { offset: i64, body: FrameBody },
    /// 5.x AutoSwitch, slave → master: handshake (state 4 + isSyncFromLastFile 4 + isAsyncLearner 4 +
    /// brokerId 8 = 20 bytes) followed by its max offset report once transferring.
    AutoSwitchHandshake { broker_id: u64 },
    /// 5.x AutoSwitch, master → slave: handshake answer with the master's epoch entries (header 33 bytes:
    /// state 4 + body size 4 + offset 8 + epoch 4 + epochStartOffset 8 + confirmOffset 8 (+ flag 1)), then
    /// 12 bytes per epoch entry (epoch 4 + start offset 8).
    AutoSwitchEpochs { master_epoch: u32, entries: Vec<(u32, i64)>, master_max_offset: i64 },
    /// 5.x AutoSwitch, master → slave: a transfer with the epoch of its data and the confirm offset
    /// (33-byte header, then the body; empty = heartbeat).
    AutoSwitchTransfer { offset: i64, epoch: u32, epoch_start_offset: i64, confirm_offset: i64, body: FrameBody },
}

impl HaFrame {
    /// How many bytes this frame would put on the wire.
    pub fn wire_bytes(&self) -> u64 {
        match self {
            HaFrame::Connect => 0,
            HaFrame::SlaveReport { .. } => 8,
            HaFrame::Transfer { body, .. } => 12 + u64::from(body.len()),
            HaFrame::AutoSwitchHandshake { .. } => 20,
            HaFrame::AutoSwitchEpochs { entries, .. } => 33 + 12 * entries.len() as u64,
            HaFrame::AutoSwitchTransfer { body, .. } => 33 + u64::from(body.len()),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            HaFrame::Connect => "HA_CONNECT",
            HaFrame::SlaveReport { .. } => "HA_SLAVE_REPORT",
            HaFrame::Transfer { body, .. } if body.is_empty() => "HA_HEARTBEAT",
            HaFrame::Transfer { .. } => "HA_TRANSFER",
            HaFrame::AutoSwitchHandshake { .. } => "HA_HANDSHAKE (5.x)",
            HaFrame::AutoSwitchEpochs { .. } => "HA_EPOCHS (5.x)",
            HaFrame::AutoSwitchTransfer { .. } => "HA_TRANSFER (5.x)",
        }
    }
}

/// `PushEntryRequest.Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PushType {
    Append,
    Compare,
    Truncate,
    Commit,
}

/// `DLedgerResponseCode` (the values a simulated group produces).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DLedgerCode {
    Success,
    /// The peer runs a different term than the request.
    InconsistentTerm,
    InconsistentLeader,
    InconsistentState,
    ExpiredTerm,
    TermNotReady,
    NotFollower,
    NotLeader,
    LeaderNotReady,
    WaitQuorumAckTimeout,
    TermChanged,
}

/// `VoteResponse.RESULT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum VoteResult {
    Accept,
    RejectUnknownLeader,
    RejectUnexpectedLeader,
    RejectExpiredVoteTerm,
    RejectAlreadyVoted,
    RejectAlreadyHasLeader,
    RejectTermNotReady,
    RejectTermSmallThanLedger,
    RejectExpiredLedgerTerm,
    RejectSmallLedgerEndIndex,
}

/// A DLedger entry as pushed: index and term (also in its header) and its stored bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireEntry {
    pub index: i64,
    pub term: i64,
    pub pos: i64,
    /// The whole stored entry: 48-byte DLedger header + the RocketMQ record.
    pub bytes: FrameBody,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DLedgerRequest {
    /// VOTE (51001).
    Vote { group: String, candidate: String, term: i64, ledger_end_index: i64, ledger_end_term: i64 },
    /// HEART_BEAT (51002).
    HeartBeat { group: String, leader: String, term: i64 },
    /// PUSH (51004).
    Push { group: String, leader: String, term: i64, kind: PushType, entry: Option<WireEntry>, commit_index: i64 },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DLedgerResponse {
    Vote { term: i64, result: VoteResult },
    HeartBeat { term: i64, code: DLedgerCode },
    Push { term: i64, code: DLedgerCode, kind: PushType, index: i64, begin_index: i64, end_index: i64 },
}

/// 5.x controller RPCs (labelled 5.x: RocketMQ 4.9 has no controller).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControllerRequest {
    /// BROKER_HEARTBEAT (904): alive, with its epoch and max offset (for the election policy).
    BrokerHeartbeat {
        cluster_name: String,
        broker_name: String,
        broker_id: u64,
        broker_addr: String,
        epoch: u32,
        max_offset: i64,
        confirm_offset: i64,
        election_priority: u32,
    },
    /// CONTROLLER_REGISTER_BROKER (1003) with 5.1's GET_NEXT_BROKER_ID / APPLY_BROKER_ID folded in: a
    /// broker that kept its id on disk registers with it (`apply = false`); one without asks for
    /// `broker_id` if that id is free, else for the next one.
    RegisterBroker { cluster_name: String, broker_name: String, broker_id: u64, broker_addr: String, apply: bool },
    /// CONTROLLER_GET_REPLICA_INFO (1004).
    GetReplicaInfo { broker_name: String },
    /// CONTROLLER_ELECT_MASTER (1002), sent by a broker that finds no master.
    ElectMaster { broker_name: String, broker_id: u64 },
    /// CONTROLLER_ALTER_SYNC_STATE_SET (1001), sent by the master.
    AlterSyncStateSet {
        broker_name: String,
        master_id: u64,
        master_epoch: u32,
        sync_state_set: Vec<u64>,
        sync_state_set_epoch: u32,
    },
    /// NOTIFY_BROKER_ROLE_CHANGED (1008), controller → broker.
    NotifyBrokerRoleChanged { replica_info: ReplicaInfo },
}

/// What a controller knows of a broker set (`GetReplicaInfoResponseHeader` + `SyncStateSet`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaInfo {
    pub broker_name: String,
    pub master_id: Option<u64>,
    pub master_addr: Option<String>,
    pub master_epoch: u32,
    pub sync_state_set: Vec<u64>,
    pub sync_state_set_epoch: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControllerResponse {
    Ack,
    /// A registration's answer: the broker's controller id and its set.
    Registered {
        broker_id: u64,
        info: ReplicaInfo,
    },
    ReplicaInfo(ReplicaInfo),
    /// CONTROLLER_MASTER_NOT_AVAILABLE / ELECT_MASTER_FAILED etc.: the reason.
    Refused(String),
}

/// `TopicConfigSerializeWrapper`, `ConsumerOffsetSerializeWrapper` and the delay offsets string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SlaveSyncBody {
    TopicConfig { table: BTreeMap<String, TopicConfig>, data_version: DataVersion },
    ConsumerOffset { table: BTreeMap<String, BTreeMap<i32, i64>> },
    DelayOffset { json: String },
}

/// Every replication request, under one `Request` variant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReplicationRequest {
    Ha(HaFrame),
    DLedger(DLedgerRequest),
    Controller(ControllerRequest),
    /// GET_ALL_TOPIC_CONFIG (21).
    GetAllTopicConfig,
    /// GET_ALL_CONSUMER_OFFSET (43).
    GetAllConsumerOffset,
    /// GET_ALL_DELAY_OFFSET (45).
    GetAllDelayOffset,
}

impl ReplicationRequest {
    pub fn code(&self) -> i32 {
        match self {
            ReplicationRequest::Ha(_) => 0,
            ReplicationRequest::DLedger(DLedgerRequest::Vote { .. }) => 51001,
            ReplicationRequest::DLedger(DLedgerRequest::HeartBeat { .. }) => 51002,
            ReplicationRequest::DLedger(DLedgerRequest::Push { .. }) => 51004,
            ReplicationRequest::Controller(request) => match request {
                ControllerRequest::BrokerHeartbeat { .. } => 904,
                ControllerRequest::AlterSyncStateSet { .. } => 1001,
                ControllerRequest::ElectMaster { .. } => 1002,
                ControllerRequest::RegisterBroker { .. } => 1003,
                ControllerRequest::GetReplicaInfo { .. } => 1004,
                ControllerRequest::NotifyBrokerRoleChanged { .. } => 1008,
            },
            ReplicationRequest::GetAllTopicConfig => 21,
            ReplicationRequest::GetAllConsumerOffset => 43,
            ReplicationRequest::GetAllDelayOffset => 45,
        }
    }

    pub fn code_name(&self) -> &'static str {
        match self {
            ReplicationRequest::Ha(frame) => frame.name(),
            ReplicationRequest::DLedger(DLedgerRequest::Vote { .. }) => "DLEDGER_VOTE",
            ReplicationRequest::DLedger(DLedgerRequest::HeartBeat { .. }) => "DLEDGER_HEART_BEAT",
            ReplicationRequest::DLedger(DLedgerRequest::Push { .. }) => "DLEDGER_PUSH",
            ReplicationRequest::Controller(request) => match request {
                ControllerRequest::BrokerHeartbeat { .. } => "BROKER_HEARTBEAT (5.x)",
                ControllerRequest::AlterSyncStateSet { .. } => "CONTROLLER_ALTER_SYNC_STATE_SET (5.x)",
                ControllerRequest::ElectMaster { .. } => "CONTROLLER_ELECT_MASTER (5.x)",
                ControllerRequest::RegisterBroker { .. } => "CONTROLLER_REGISTER_BROKER (5.x)",
                ControllerRequest::GetReplicaInfo { .. } => "CONTROLLER_GET_REPLICA_INFO (5.x)",
                ControllerRequest::NotifyBrokerRoleChanged { .. } => "NOTIFY_BROKER_ROLE_CHANGED (5.x)",
            },
            ReplicationRequest::GetAllTopicConfig => "GET_ALL_TOPIC_CONFIG",
            ReplicationRequest::GetAllConsumerOffset => "GET_ALL_CONSUMER_OFFSET",
            ReplicationRequest::GetAllDelayOffset => "GET_ALL_DELAY_OFFSET",
        }
    }
}

/// Every replication response body, under one `ResponseBody` variant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReplicationResponse {
    DLedger(DLedgerResponse),
    Controller(ControllerResponse),
    SlaveSync(SlaveSyncBody),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_the_byte_counts_of_the_ha_protocol() {
        assert_eq!(HaFrame::SlaveReport { max_offset: 7 }.wire_bytes(), 8);
        let body = FrameBody::new(vec![0; 100]);
        assert_eq!(HaFrame::Transfer { offset: 0, body }.wire_bytes(), 112);
        assert_eq!(HaFrame::Transfer { offset: 0, body: FrameBody::default() }.name(), "HA_HEARTBEAT");
    }

    #[test]
    fn a_frame_body_encodes_as_raw_bytes() {
        let frame = HaFrame::Transfer { offset: 1, body: FrameBody::new(vec![1, 2, 3]) };
        let bytes = postcard::to_allocvec(&frame).unwrap();
        let back: HaFrame = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, frame);
        let json = serde_json::to_string(&frame).unwrap();
        let back: HaFrame = serde_json::from_str(&json).unwrap();
        assert_eq!(back, frame);
    }
}
