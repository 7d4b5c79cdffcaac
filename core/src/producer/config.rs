//! `DefaultMQProducer` and `ClientConfig` settings, under RocketMQ's names and defaults (4.9.8).
//!
//! Scenario files spell them as RocketMQ does (`sendMsgTimeout`, `retryTimesWhenSendFailed`, ...);
//! times are milliseconds, as in RocketMQ. Two keys are ours: `faultStrategyVersion` ("4.9", the
//! default, or "5.x") chooses the latency-fault tables and queue-selection algorithm, and
//! `retryResponseCodes` lists the broker codes a sync send retries on (4.9.8's set by default; 5.x adds
//! SYSTEM_BUSY 2 and GO_AWAY 1500).

use serde::{Deserialize, Serialize};

use crate::producer::latency_fault::FaultStrategyVersion;
use crate::route::AUTO_CREATE_TOPIC_KEY_TOPIC;

/// 4.9.8's `retryResponseCodes`: TOPIC_NOT_EXIST, SERVICE_NOT_AVAILABLE, SYSTEM_ERROR, NO_PERMISSION,
/// NO_BUYER_ID, NOT_IN_CURRENT_UNIT.
pub const RETRY_RESPONSE_CODES_4_9: [i32; 6] = [17, 14, 1, 16, 204, 205];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ProducerConfig {
    pub producer_group: String,
    pub create_topic_key: String,
    pub default_topic_queue_nums: u32,
    /// Covers the whole send, retries included (sync).
    pub send_msg_timeout: u64,
    pub compress_msg_body_over_howmuch: u32,
    pub retry_times_when_send_failed: u32,
    pub retry_times_when_send_async_failed: u32,
    pub retry_another_broker_when_not_store_ok: bool,
    /// Client-side limit on the body (a batch: its encoded body).
    pub max_message_size: u32,
    /// `ClientConfig.sendLatencyEnable`.
    pub send_latency_fault_enable: bool,
    /// "4.9" or "5.x" (see the module comment).
    pub fault_strategy_version: String,
    pub retry_response_codes: Vec<i32>,
    /// `ClientConfig.pollNameServerInterval`.
    pub poll_name_server_interval: u64,
    /// `ClientConfig.heartbeatBrokerInterval`.
    pub heartbeat_broker_interval: u64,
    /// `ClientConfig.mqClientApiTimeout`: NameServer calls and heartbeats.
    pub mq_client_api_timeout: u64,
    /// NameServer node names this client knows (`namesrvAddr`); all of the topology's when absent.
    pub namesrv_addr: Option<Vec<String>>,
    /// `new DefaultMQProducer(group, enableMsgTrace, customizedTraceTopic)`: send trace records (`trace/`).
    pub enable_msg_trace: bool,
    /// The trace topic (`RMQ_SYS_TRACE_TOPIC` when absent).
    pub customized_trace_topic: Option<String>,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            producer_group: "DEFAULT_PRODUCER".into(),
            create_topic_key: AUTO_CREATE_TOPIC_KEY_TOPIC.into(),
            default_topic_queue_nums: 4,
            send_msg_timeout: 3_000,
            compress_msg_body_over_howmuch: 4_096,
            retry_times_when_send_failed: 2,
            retry_times_when_send_async_failed: 2,
            retry_another_broker_when_not_store_ok: false,
            max_message_size: 4 * 1024 * 1024,
            send_latency_fault_enable: false,
            fault_strategy_version: "4.9".into(),
            retry_response_codes: RETRY_RESPONSE_CODES_4_9.to_vec(),
            poll_name_server_interval: 30_000,
            heartbeat_broker_interval: 30_000,
            mq_client_api_timeout: 3_000,
            namesrv_addr: None,
            enable_msg_trace: false,
            customized_trace_topic: None,
        }
    }
}

impl ProducerConfig {
    /// The fault-strategy version (validated at the scenario boundary; 4.9 if unparsable).
    pub fn version(&self) -> FaultStrategyVersion {
        self.fault_strategy_version.parse().unwrap_or(FaultStrategyVersion::V4_9)
    }

    /// Problems a scenario author must fix, each naming the key.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(e) = self.fault_strategy_version.parse::<FaultStrategyVersion>() {
            problems.push(format!("faultStrategyVersion: {e}"));
        }
        if crate::broker::topic_validator::is_topic_or_group_illegal(&self.producer_group)
            || self.producer_group.is_empty()
            || self.producer_group.len() > 120
        {
            problems
                .push(format!("producerGroup `{}` must be 1..=120 characters of [%|a-zA-Z0-9_-]", self.producer_group));
        }
        if self.send_msg_timeout == 0 || self.send_msg_timeout > 3_600_000 {
            problems.push(format!("sendMsgTimeout = {} must be in 1..=3600000 ms", self.send_msg_timeout));
        }
        if self.retry_times_when_send_failed > 16 || self.retry_times_when_send_async_failed > 16 {
            problems.push("retryTimesWhenSendFailed / retryTimesWhenSendAsyncFailed must be at most 16".into());
        }
        if !(1_000..=3_600_000).contains(&self.poll_name_server_interval) {
            problems.push(format!(
                "pollNameServerInterval = {} must be in 1000..=3600000 ms",
                self.poll_name_server_interval
            ));
        }
        if !(1_000..=3_600_000).contains(&self.heartbeat_broker_interval) {
            problems.push(format!(
                "heartbeatBrokerInterval = {} must be in 1000..=3600000 ms",
                self.heartbeat_broker_interval
            ));
        }
        if self.mq_client_api_timeout == 0 || self.mq_client_api_timeout > 3_600_000 {
            problems.push(format!("mqClientApiTimeout = {} must be in 1..=3600000 ms", self.mq_client_api_timeout));
        }
        if !(1..=1024).contains(&self.default_topic_queue_nums) {
            problems.push(format!("defaultTopicQueueNums = {} must be in 1..=1024", self.default_topic_queue_nums));
        }
        if self.max_message_size == 0 {
            problems.push("maxMessageSize must be positive".into());
        }
        problems
    }
}
