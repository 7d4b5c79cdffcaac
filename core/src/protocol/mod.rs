//! What crosses the network: RocketMQ remoting commands, and (later) HA and DLedger traffic.
//!
//! A `RemotingCommand` in RocketMQ carries a request code, an `opaque` id that pairs a response
//! with its request, a flag (request, response, oneway), a response code and remark, and a body.
//! We keep that shape with typed bodies instead of headers and JSON, so a trace stays readable
//! and the digest covers every field.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::route::{TopicConfig, TopicRouteData};

pub mod consumer;
pub mod ha;
pub mod query;
pub mod send;
pub mod transaction;

pub use consumer::{ConsumerRequest, ConsumerResponseBody};
pub use send::{HeartbeatData, SendMessageRequest, SendMessageResponseHeader};

/// RocketMQ's `ResponseCode` (remoting `ResponseCode.java` plus the codes it inherits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ResponseCode(pub i32);

impl ResponseCode {
    pub const SUCCESS: ResponseCode = ResponseCode(0);
    pub const SYSTEM_ERROR: ResponseCode = ResponseCode(1);
    pub const SYSTEM_BUSY: ResponseCode = ResponseCode(2);
    pub const REQUEST_CODE_NOT_SUPPORTED: ResponseCode = ResponseCode(3);
    pub const FLUSH_DISK_TIMEOUT: ResponseCode = ResponseCode(10);
    pub const SLAVE_NOT_AVAILABLE: ResponseCode = ResponseCode(11);
    pub const FLUSH_SLAVE_TIMEOUT: ResponseCode = ResponseCode(12);
    pub const MESSAGE_ILLEGAL: ResponseCode = ResponseCode(13);
    pub const SERVICE_NOT_AVAILABLE: ResponseCode = ResponseCode(14);
    pub const NO_PERMISSION: ResponseCode = ResponseCode(16);
    pub const TOPIC_NOT_EXIST: ResponseCode = ResponseCode(17);
    pub const PULL_NOT_FOUND: ResponseCode = ResponseCode(19);
    pub const PULL_RETRY_IMMEDIATELY: ResponseCode = ResponseCode(20);
    pub const PULL_OFFSET_MOVED: ResponseCode = ResponseCode(21);
    pub const QUERY_NOT_FOUND: ResponseCode = ResponseCode(22);
    pub const SUBSCRIPTION_NOT_EXIST: ResponseCode = ResponseCode(24);
    pub const SUBSCRIPTION_NOT_LATEST: ResponseCode = ResponseCode(25);
    pub const SUBSCRIPTION_GROUP_NOT_EXIST: ResponseCode = ResponseCode(26);
    pub const SUBSCRIPTION_PARSE_FAILED: ResponseCode = ResponseCode(23);
    pub const INVALID_PARAMETER: ResponseCode = ResponseCode(29);
    pub const CONSUMER_NOT_ONLINE: ResponseCode = ResponseCode(206);
    pub const NO_MESSAGE: ResponseCode = ResponseCode(208);
    pub const FLOW_CONTROL: ResponseCode = ResponseCode(215);
    pub const GO_AWAY: ResponseCode = ResponseCode(1500);

    /// RocketMQ's constant name for the code, or None for codes we do not model.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "SUCCESS",
            1 => "SYSTEM_ERROR",
            2 => "SYSTEM_BUSY",
            3 => "REQUEST_CODE_NOT_SUPPORTED",
            10 => "FLUSH_DISK_TIMEOUT",
            11 => "SLAVE_NOT_AVAILABLE",
            12 => "FLUSH_SLAVE_TIMEOUT",
            13 => "MESSAGE_ILLEGAL",
            14 => "SERVICE_NOT_AVAILABLE",
            16 => "NO_PERMISSION",
            17 => "TOPIC_NOT_EXIST",
            19 => "PULL_NOT_FOUND",
            20 => "PULL_RETRY_IMMEDIATELY",
            21 => "PULL_OFFSET_MOVED",
            22 => "QUERY_NOT_FOUND",
            24 => "SUBSCRIPTION_NOT_EXIST",
            25 => "SUBSCRIPTION_NOT_LATEST",
            26 => "SUBSCRIPTION_GROUP_NOT_EXIST",
            23 => "SUBSCRIPTION_PARSE_FAILED",
            29 => "INVALID_PARAMETER",
            206 => "CONSUMER_NOT_ONLINE",
            208 => "NO_MESSAGE",
            215 => "FLOW_CONTROL",
            1500 => "GO_AWAY",
            _ => return None,
        })
    }
}

impl fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({})", self.0),
            None => write!(f, "code {}", self.0),
        }
    }
}

/// The body of REGISTER_BROKER: who the broker is and its full topic config table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterBroker {
    pub cluster_name: String,
    pub broker_addr: String,
    pub broker_name: String,
    /// 0 = master, > 0 = slave.
    pub broker_id: u64,
    pub ha_server_addr: String,
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    /// `DataVersion`: a (timestamp, counter) pair that changes whenever the topic table changes.
    pub data_version: DataVersion,
}

/// RocketMQ's `DataVersion`: when and how often the broker's topic configuration changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DataVersion {
    pub timestamp: u64,
    pub counter: u64,
}

/// Requests, by RocketMQ's `RequestCode` names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// REGISTER_BROKER (103).
    RegisterBroker(RegisterBroker),
    /// UNREGISTER_BROKER (104), sent on graceful shutdown.
    UnregisterBroker { cluster_name: String, broker_addr: String, broker_name: String, broker_id: u64 },
    /// GET_ROUTEINFO_BY_TOPIC (105).
    GetRouteInfoByTopic { topic: String },
    /// SEND_MESSAGE (10), SEND_MESSAGE_V2 (310) or SEND_BATCH_MESSAGE (320), see [`send`].
    SendMessage(Box<SendMessageRequest>),
    /// HEART_BEAT (34): a client tells a broker it is alive and which groups it holds.
    HeartBeat(HeartbeatData),
    /// The consumer family (pull, offsets, consumer lists, locks, send-back...), see [`consumer`].
    Consumer(Box<ConsumerRequest>),
    /// Replication: HA frames, DLedger RPCs, 5.x controller RPCs, slave metadata sync, see [`ha`].
    Replication(Box<ha::ReplicationRequest>),
    /// END_TRANSACTION and CHECK_TRANSACTION_STATE, see [`transaction`].
    Transaction(Box<transaction::TransactionRequest>),
}

impl Request {
    /// RocketMQ's `RequestCode` value.
    pub fn code(&self) -> i32 {
        match self {
            Request::RegisterBroker(_) => 103,
            Request::UnregisterBroker { .. } => 104,
            Request::GetRouteInfoByTopic { .. } => 105,
            Request::SendMessage(send) => send.code.code(),
            Request::HeartBeat(_) => 34,
            Request::Consumer(request) => request.code(),
            Request::Replication(request) => request.code(),
            Request::Transaction(request) => request.code(),
        }
    }

    /// `NettyRemotingAbstract`'s answer to a request no processor is registered for.
    pub fn not_supported(&self) -> Response {
        Response::error(
            ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
            format!(" request type {} not supported", self.code()),
        )
    }

    /// RocketMQ's request code name, for traces and the event log.
    pub fn code_name(&self) -> &'static str {
        match self {
            Request::RegisterBroker(_) => "REGISTER_BROKER",
            Request::UnregisterBroker { .. } => "UNREGISTER_BROKER",
            Request::GetRouteInfoByTopic { .. } => "GET_ROUTEINFO_BY_TOPIC",
            Request::SendMessage(send) => send.code.name(),
            Request::HeartBeat(_) => "HEART_BEAT",
            Request::Consumer(request) => request.code_name(),
            Request::Replication(request) => request.code_name(),
            Request::Transaction(request) => request.code_name(),
        }
    }
}

/// Typed response bodies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseBody {
    Empty,
    /// REGISTER_BROKER's result: for a slave, where its master is.
    RegisterBrokerResult {
        master_addr: Option<String>,
        ha_server_addr: Option<String>,
    },
    TopicRoute(TopicRouteData),
    /// The response header of a send that stored the message (SUCCESS or a "stored but" status).
    SendMessage(SendMessageResponseHeader),
    /// A consumer-family response (pull result, offset, consumer ids, locked queues).
    Consumer(Box<ConsumerResponseBody>),
    /// A replication response (DLedger, 5.x controller, slave metadata sync), see [`ha`].
    Replication(Box<ha::ReplicationResponse>),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub code: ResponseCode,
    pub remark: Option<String>,
    pub body: ResponseBody,
}

impl Response {
    pub fn success(body: ResponseBody) -> Response {
        Response { code: ResponseCode::SUCCESS, remark: None, body }
    }

    pub fn error(code: ResponseCode, remark: impl Into<String>) -> Response {
        Response { code, remark: Some(remark.into()), body: ResponseBody::Empty }
    }
}

/// One message on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// A request that expects a response with the same `opaque`.
    Request {
        opaque: u32,
        request: Request,
    },
    /// A request that expects no response (RocketMQ's oneway flag).
    Oneway {
        request: Request,
    },
    Response {
        opaque: u32,
        response: Response,
    },
}

impl Message {
    /// A one-line summary for event logs: `REGISTER_BROKER #12`, `response #12 SUCCESS (0)`.
    pub fn summary(&self) -> String {
        match self {
            Message::Request { opaque, request } => format!("{} #{opaque}", request.code_name()),
            Message::Oneway { request } => format!("{} (oneway)", request.code_name()),
            Message::Response { opaque, response } => format!("response #{opaque} {}", response.code),
        }
    }
}
