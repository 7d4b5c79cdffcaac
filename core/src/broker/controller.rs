//! `BrokerController`: the broker node.
//!
//! So far it does what every broker does first: register with every NameServer at start and
//! every `registerNameServerPeriod` (30 s, clamped to [10 s, 60 s], first periodic run 10 s after
//! start), sending its full topic config table and data version each time (`forceRegister`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::protocol::{DataVersion, Message, RegisterBroker, Request, ResponseBody};
use crate::route::{TopicConfig, AUTO_CREATE_TOPIC_KEY_TOPIC};
use crate::sim::node::NodeId;
use crate::time::Duration;
use crate::world::{Ctx, Timer};

/// `BrokerConfig` (only what the simulation uses so far), RocketMQ's key names and units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct BrokerConfig {
    pub broker_cluster_name: String,
    pub register_name_server_period: u64,
    pub auto_create_topic_enable: bool,
    /// Queue count of TBW102, the template for auto-created topics.
    pub default_topic_queue_nums: u32,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            broker_cluster_name: "DefaultCluster".into(),
            register_name_server_period: 30_000,
            auto_create_topic_enable: true,
            default_topic_queue_nums: 8,
        }
    }
}

impl BrokerConfig {
    /// RocketMQ clamps the registration period to [10 s, 60 s].
    pub fn effective_register_period(&self) -> Duration {
        Duration::from_millis(self.register_name_server_period.clamp(10_000, 60_000))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerSpec {
    pub broker_name: String,
    /// 0 = master, > 0 = slave.
    pub broker_id: u64,
    pub broker_addr: String,
    pub ha_server_addr: String,
    pub name_servers: Vec<NodeId>,
    pub config: BrokerConfig,
    /// Topics created by the scenario, in addition to the built-in ones.
    pub topics: Vec<TopicConfig>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BrokerTimer {
    RegisterBrokerAll,
}

#[derive(Clone, Debug)]
pub struct BrokerController {
    pub spec: BrokerSpec,
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    pub data_version: DataVersion,
    /// The master address each NameServer last told this broker (meaningful for slaves).
    pub master_addr: Option<String>,
    /// Registrations sent and answered, for views.
    pub registrations_sent: u64,
    pub registrations_answered: u64,
    next_opaque: u32,
}

impl BrokerController {
    pub fn boot(spec: &BrokerSpec) -> Self {
        let mut topic_config_table = BTreeMap::new();
        if spec.config.auto_create_topic_enable {
            let tbw = TopicConfig::with_queues(AUTO_CREATE_TOPIC_KEY_TOPIC, spec.config.default_topic_queue_nums, 7);
            topic_config_table.insert(tbw.topic_name.clone(), tbw);
        }
        for topic in &spec.topics {
            topic_config_table.insert(topic.topic_name.clone(), topic.clone());
        }
        BrokerController {
            spec: spec.clone(),
            topic_config_table,
            data_version: DataVersion::default(),
            master_addr: None,
            registrations_sent: 0,
            registrations_answered: 0,
            next_opaque: 0,
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        self.data_version = DataVersion { timestamp: ctx.now().as_millis(), counter: 0 };
        self.register_broker_all(ctx);
        ctx.set_timer(Duration::from_secs(10), Timer::Broker(BrokerTimer::RegisterBrokerAll));
    }

    pub fn on_timer(&mut self, timer: BrokerTimer, ctx: &mut Ctx<'_>) {
        match timer {
            BrokerTimer::RegisterBrokerAll => {
                self.register_broker_all(ctx);
                let period = self.spec.config.effective_register_period();
                ctx.set_timer(period, Timer::Broker(BrokerTimer::RegisterBrokerAll));
            }
        }
    }

    /// `registerBrokerAll`: the full topic table to every NameServer, in parallel.
    fn register_broker_all(&mut self, ctx: &mut Ctx<'_>) {
        let registration = RegisterBroker {
            cluster_name: self.spec.config.broker_cluster_name.clone(),
            broker_addr: self.spec.broker_addr.clone(),
            broker_name: self.spec.broker_name.clone(),
            broker_id: self.spec.broker_id,
            ha_server_addr: self.spec.ha_server_addr.clone(),
            topic_config_table: self.topic_config_table.clone(),
            data_version: self.data_version,
        };
        for &name_server in &self.spec.name_servers {
            let opaque = self.next_opaque;
            self.next_opaque = self.next_opaque.wrapping_add(1);
            self.registrations_sent += 1;
            ctx.send(name_server, Message::Request { opaque, request: Request::RegisterBroker(registration.clone()) });
        }
    }

    pub fn on_message(&mut self, _from: NodeId, message: Message, _ctx: &mut Ctx<'_>) {
        if let Message::Response { response, .. } = message {
            if let ResponseBody::RegisterBrokerResult { master_addr, .. } = response.body {
                self.registrations_answered += 1;
                if master_addr.is_some() {
                    self.master_addr = master_addr;
                }
            }
        }
    }
}
