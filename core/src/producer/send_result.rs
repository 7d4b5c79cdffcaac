//! What a send ends with: a `SendResult` with its `SendStatus`, or one of the client's exceptions.
//!
//! Both are data (the simulator reports failures, it never fails itself). The exception kinds and
//! their messages are RocketMQ 4.9.8's: `MQClientException` (with a `ClientErrorCode` or a broker
//! response code), `MQBrokerException` (a broker answered with a code that is not a "stored" status),
//! the `RemotingException` family (connect, send-request, timeout, too-many-requests), and the
//! `IllegalStateException` that `updateTopicRouteInfoFromNameServer` throws when the NameServer cannot
//! be reached during a send. Messages omit RocketMQ's FAQ-URL suffix ("See http://rocketmq.apache.org/...").
//!
//! `processSendResponse` maps broker codes: SUCCESS → SEND_OK, FLUSH_DISK_TIMEOUT, FLUSH_SLAVE_TIMEOUT and
//! SLAVE_NOT_AVAILABLE → the statuses of those names (all mean "stored on the master"); any other code is
//! an `MQBrokerException`.

use serde::{Deserialize, Serialize};

use crate::message_queue::MessageQueue;
use crate::protocol::ResponseCode;

/// `ClientErrorCode`.
pub mod client_error_code {
    pub const CONNECT_BROKER_EXCEPTION: i32 = 10_001;
    pub const ACCESS_BROKER_TIMEOUT: i32 = 10_002;
    pub const BROKER_NOT_EXIST_EXCEPTION: i32 = 10_003;
    pub const NO_NAME_SERVER_EXCEPTION: i32 = 10_004;
    pub const NOT_FOUND_TOPIC_EXCEPTION: i32 = 10_005;
    pub const REQUEST_TIMEOUT_EXCEPTION: i32 = 10_006;
    pub const CREATE_REPLY_MESSAGE_EXCEPTION: i32 = 10_007;
}

/// `SendStatus`: every value means the master stored the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SendStatus {
    SendOk,
    FlushDiskTimeout,
    FlushSlaveTimeout,
    SlaveNotAvailable,
}

impl SendStatus {
    /// `processSendResponse`: the status for a response code, or None for an error code.
    pub fn from_response_code(code: ResponseCode) -> Option<SendStatus> {
        match code {
            ResponseCode::SUCCESS => Some(SendStatus::SendOk),
            ResponseCode::FLUSH_DISK_TIMEOUT => Some(SendStatus::FlushDiskTimeout),
            ResponseCode::FLUSH_SLAVE_TIMEOUT => Some(SendStatus::FlushSlaveTimeout),
            ResponseCode::SLAVE_NOT_AVAILABLE => Some(SendStatus::SlaveNotAvailable),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SendStatus::SendOk => "SEND_OK",
            SendStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
            SendStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
            SendStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
        }
    }
}

/// `SendResult`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendResult {
    pub send_status: SendStatus,
    /// The client id (UNIQ_KEY); comma-joined for a batch.
    pub msg_id: String,
    /// The broker's id: store host + CommitLog offset.
    pub offset_msg_id: String,
    pub message_queue: MessageQueue,
    pub queue_offset: i64,
    pub transaction_id: Option<String>,
}

/// The `RemotingException` family.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RemotingException {
    /// `RemotingConnectException`: no connection could be made.
    Connect { addr: String },
    /// `RemotingSendRequestException`: the channel broke while the request was outstanding.
    SendRequest { addr: String },
    /// `RemotingTimeoutException`: no response within the time given.
    Timeout { addr: String, timeout_ms: u64 },
    /// `RemotingTooMuchRequestException`: the time budget was spent before the call started.
    TooMuchRequest { message: String },
}

impl RemotingException {
    pub fn message(&self) -> String {
        match self {
            RemotingException::Connect { addr } => format!("connect to {addr} failed"),
            RemotingException::SendRequest { addr } => format!("send request to <{addr}> failed"),
            RemotingException::Timeout { addr, timeout_ms } => {
                format!("wait response on the channel <{addr}> timeout, {timeout_ms}(ms)")
            }
            RemotingException::TooMuchRequest { message } => message.clone(),
        }
    }

    /// The Java class name, for people reading a failure.
    pub fn class_name(&self) -> &'static str {
        match self {
            RemotingException::Connect { .. } => "RemotingConnectException",
            RemotingException::SendRequest { .. } => "RemotingSendRequestException",
            RemotingException::Timeout { .. } => "RemotingTimeoutException",
            RemotingException::TooMuchRequest { .. } => "RemotingTooMuchRequestException",
        }
    }
}

/// What a failed send throws (or passes to `SendCallback.onException`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientException {
    /// `MQClientException`: `response_code` is -1 when RocketMQ sets none.
    Client {
        response_code: i32,
        message: String,
    },
    /// `MQBrokerException(code, remark, brokerAddr)`.
    Broker {
        response_code: ResponseCode,
        remark: String,
        broker_addr: String,
    },
    Remoting(RemotingException),
    /// `IllegalStateException` thrown by a route update whose NameServer call failed.
    IllegalState {
        message: String,
    },
}

impl ClientException {
    /// `new MQClientException(message, cause)` then `setResponseCode(code)` (-1 for none): the
    /// message stays as given.
    pub fn client(response_code: i32, message: impl Into<String>) -> ClientException {
        ClientException::Client { response_code, message: message.into() }
    }

    /// `new MQClientException(code, message)`: the message reads `CODE: <code>  DESC: <message>`.
    pub fn client_with_code(response_code: i32, message: &str) -> ClientException {
        ClientException::Client { response_code, message: format!("CODE: {response_code}  DESC: {message}") }
    }

    /// The Java class name.
    pub fn class_name(&self) -> &'static str {
        match self {
            ClientException::Client { .. } => "MQClientException",
            ClientException::Broker { .. } => "MQBrokerException",
            ClientException::Remoting(e) => e.class_name(),
            ClientException::IllegalState { .. } => "IllegalStateException",
        }
    }

    /// The exception's message as RocketMQ builds it (without the FAQ URL).
    pub fn message(&self) -> String {
        match self {
            ClientException::Client { message, .. } => message.clone(),
            ClientException::Broker { response_code, remark, broker_addr } => {
                format!("CODE: {}  DESC: {remark} BROKER: {broker_addr}", response_code.0)
            }
            ClientException::Remoting(e) => e.message(),
            ClientException::IllegalState { message } => message.clone(),
        }
    }

    /// `getResponseCode()` where the class has one.
    pub fn response_code(&self) -> Option<i32> {
        match self {
            ClientException::Client { response_code, .. } => Some(*response_code),
            ClientException::Broker { response_code, .. } => Some(response_code.0),
            _ => None,
        }
    }

    /// Whether this is a network-level failure (`RemotingException`), the kind RocketMQ retries.
    pub fn is_remoting(&self) -> bool {
        matches!(self, ClientException::Remoting(_))
    }
}

impl std::fmt::Display for ClientException {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.class_name(), self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_codes_map_to_statuses_and_others_do_not() {
        assert_eq!(SendStatus::from_response_code(ResponseCode::SUCCESS), Some(SendStatus::SendOk));
        assert_eq!(SendStatus::from_response_code(ResponseCode(10)), Some(SendStatus::FlushDiskTimeout));
        assert_eq!(SendStatus::from_response_code(ResponseCode(11)), Some(SendStatus::SlaveNotAvailable));
        assert_eq!(SendStatus::from_response_code(ResponseCode(12)), Some(SendStatus::FlushSlaveTimeout));
        assert_eq!(SendStatus::from_response_code(ResponseCode::SYSTEM_BUSY), None);
    }

    #[test]
    fn exception_messages_read_like_rocketmqs() {
        let e = ClientException::client(client_error_code::NOT_FOUND_TOPIC_EXCEPTION, "No route info of this topic: T");
        assert_eq!(e.message(), "No route info of this topic: T");
        assert_eq!(e.response_code(), Some(10_005));
        let e = ClientException::client_with_code(13, "the message body length is zero");
        assert_eq!(e.message(), "CODE: 13  DESC: the message body length is zero");
        let e =
            ClientException::Remoting(RemotingException::Timeout { addr: "10.0.0.3:10911".into(), timeout_ms: 3000 });
        assert_eq!(
            e.to_string(),
            "RemotingTimeoutException: wait response on the channel <10.0.0.3:10911> timeout, 3000(ms)"
        );
        let e = ClientException::Broker {
            response_code: ResponseCode::SYSTEM_BUSY,
            remark: "[TIMEOUT_CLEAN_QUEUE]broker busy".into(),
            broker_addr: "10.0.0.3:10911".into(),
        };
        assert_eq!(e.message(), "CODE: 2  DESC: [TIMEOUT_CLEAN_QUEUE]broker busy BROKER: 10.0.0.3:10911");
    }
}
