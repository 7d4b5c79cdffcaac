//! The NameServer's tables (`RouteInfoManager`): who is alive, which broker serves which topic.
//!
//! Pure data and operations, no timers or messages: the node in `mod.rs` drives it. Invariants:
//! every address in `broker_live_table` appears in its group's `BrokerData`; a `QueueData` exists
//! only for broker names present in `broker_addr_table`; topics with no queue data are removed.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::protocol::{DataVersion, RegisterBroker};
use crate::route::{BrokerData, QueueData, TopicConfig, TopicRouteData};
use crate::sim::node::NodeId;

/// `BrokerLiveInfo`: when a broker last registered, over which connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BrokerLiveInfo {
    pub cluster_name: String,
    pub broker_name: String,
    pub last_update_timestamp_ms: u64,
    pub data_version: DataVersion,
    /// The connection ("channel") the registration came over: closing it unregisters the broker.
    pub channel: NodeId,
    pub ha_server_addr: String,
}

/// The result a broker gets back from a registration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterResult {
    pub master_addr: Option<String>,
    pub ha_server_addr: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct RouteInfoManager {
    pub topic_queue_table: BTreeMap<String, BTreeMap<String, QueueData>>,
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    pub cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
    pub broker_live_table: BTreeMap<String, BrokerLiveInfo>,
}

impl RouteInfoManager {
    /// REGISTER_BROKER: record the broker, refresh its liveness, and (for a master, or the
    /// smallest-id slave while no master is registered) update its topics' queue data.
    pub fn register_broker(&mut self, request: &RegisterBroker, channel: NodeId, now_ms: u64) -> RegisterResult {
        let RegisterBroker { cluster_name, broker_addr, broker_name, broker_id, .. } = request;
        self.cluster_addr_table.entry(cluster_name.clone()).or_default().insert(broker_name.clone());

        let broker_data = self.broker_addr_table.entry(broker_name.clone()).or_insert_with(|| BrokerData {
            cluster: cluster_name.clone(),
            broker_name: broker_name.clone(),
            broker_addrs: BTreeMap::new(),
        });
        let first_registration = !broker_data.broker_addrs.values().any(|a| a == broker_addr);
        // The same address coming back with another id (a slave promoted) replaces its old entry.
        broker_data.broker_addrs.retain(|id, addr| !(addr == broker_addr && id != broker_id));
        broker_data.broker_addrs.insert(*broker_id, broker_addr.clone());
        let is_prime = *broker_id == 0 || broker_data.broker_addrs.keys().next() == Some(broker_id);

        let previous = self.broker_live_table.insert(
            broker_addr.clone(),
            BrokerLiveInfo {
                cluster_name: cluster_name.clone(),
                broker_name: broker_name.clone(),
                last_update_timestamp_ms: now_ms,
                data_version: request.data_version,
                channel,
                ha_server_addr: request.ha_server_addr.clone(),
            },
        );
        let version_changed = previous.is_none_or(|p| p.data_version != request.data_version);
        if is_prime {
            for config in request.topic_config_table.values() {
                let missing =
                    self.topic_queue_table.get(&config.topic_name).is_none_or(|t| !t.contains_key(broker_name));
                if first_registration || version_changed || missing {
                    self.create_and_update_queue_data(broker_name, config);
                }
            }
        }

        let mut result = RegisterResult { master_addr: None, ha_server_addr: None };
        if *broker_id != 0 {
            if let Some(master) = self.broker_addr_table.get(broker_name).and_then(|b| b.master_addr()) {
                result.ha_server_addr = self.broker_live_table.get(master).map(|l| l.ha_server_addr.clone());
                result.master_addr = Some(master.to_string());
            }
        }
        result
    }

    fn create_and_update_queue_data(&mut self, broker_name: &str, config: &TopicConfig) {
        let queue_data = QueueData {
            broker_name: broker_name.to_string(),
            read_queue_nums: config.read_queue_nums,
            write_queue_nums: config.write_queue_nums,
            perm: config.perm,
            topic_sys_flag: config.topic_sys_flag,
        };
        self.topic_queue_table
            .entry(config.topic_name.clone())
            .or_default()
            .insert(broker_name.to_string(), queue_data);
    }

    /// Remove one broker address (scan expiry, channel close, or UNREGISTER_BROKER).
    /// Returns true if it was registered.
    pub fn unregister_broker(&mut self, broker_addr: &str) -> bool {
        let Some(live) = self.broker_live_table.remove(broker_addr) else { return false };
        let broker_name = live.broker_name;
        let mut group_gone = false;
        if let Some(data) = self.broker_addr_table.get_mut(&broker_name) {
            data.broker_addrs.retain(|_, addr| addr != broker_addr);
            if data.broker_addrs.is_empty() {
                self.broker_addr_table.remove(&broker_name);
                group_gone = true;
            }
        }
        if group_gone {
            if let Some(names) = self.cluster_addr_table.get_mut(&live.cluster_name) {
                names.remove(&broker_name);
                if names.is_empty() {
                    self.cluster_addr_table.remove(&live.cluster_name);
                }
            }
            for queues in self.topic_queue_table.values_mut() {
                queues.remove(&broker_name);
            }
            self.topic_queue_table.retain(|_, queues| !queues.is_empty());
        }
        true
    }

    /// Addresses whose last registration is older than their timeout: `last + timeout < now`.
    pub fn expired_brokers(&self, now_ms: u64, timeout_ms: u64) -> Vec<String> {
        self.broker_live_table
            .iter()
            .filter(|(_, live)| live.last_update_timestamp_ms + timeout_ms < now_ms)
            .map(|(addr, _)| addr.clone())
            .collect()
    }

    /// Addresses registered over `channel` (a connection that just closed).
    pub fn brokers_on_channel(&self, channel: NodeId) -> Vec<String> {
        self.broker_live_table.iter().filter(|(_, l)| l.channel == channel).map(|(a, _)| a.clone()).collect()
    }

    /// GET_ROUTEINFO_BY_TOPIC: queue data (sorted by broker name) and the groups that serve it.
    pub fn pickup_topic_route_data(&self, topic: &str) -> Option<TopicRouteData> {
        let queues = self.topic_queue_table.get(topic)?;
        let queue_datas: Vec<QueueData> = queues.values().cloned().collect();
        let broker_datas: Vec<BrokerData> =
            queues.keys().filter_map(|name| self.broker_addr_table.get(name)).cloned().collect();
        if broker_datas.is_empty() {
            return None;
        }
        Some(TopicRouteData { queue_datas, broker_datas })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration(name: &str, addr: &str, id: u64, topics: &[&str]) -> RegisterBroker {
        RegisterBroker {
            cluster_name: "DefaultCluster".into(),
            broker_addr: addr.into(),
            broker_name: name.into(),
            broker_id: id,
            ha_server_addr: format!("{addr}-ha"),
            topic_config_table: topics.iter().map(|t| (t.to_string(), TopicConfig::with_queues(t, 4, 6))).collect(),
            data_version: DataVersion { timestamp: 1, counter: 0 },
        }
    }

    #[test]
    fn a_registered_master_serves_its_topics() {
        let mut rim = RouteInfoManager::default();
        rim.register_broker(&registration("broker-a", "10.0.0.1:10911", 0, &["TopicTest"]), NodeId(1), 0);
        let route = rim.pickup_topic_route_data("TopicTest").expect("route");
        assert_eq!(route.queue_datas[0].write_queue_nums, 4);
        assert_eq!(route.broker_datas[0].master_addr(), Some("10.0.0.1:10911"));
        assert!(rim.pickup_topic_route_data("Unknown").is_none());
    }

    #[test]
    fn expiry_uses_a_strict_comparison() {
        let mut rim = RouteInfoManager::default();
        rim.register_broker(&registration("broker-a", "10.0.0.1:10911", 0, &["T"]), NodeId(1), 0);
        assert!(rim.expired_brokers(120_000, 120_000).is_empty());
        assert_eq!(rim.expired_brokers(120_001, 120_000), ["10.0.0.1:10911"]);
    }

    #[test]
    fn unregistering_the_last_address_of_a_group_removes_its_topics() {
        let mut rim = RouteInfoManager::default();
        rim.register_broker(&registration("broker-a", "10.0.0.1:10911", 0, &["T"]), NodeId(1), 0);
        rim.register_broker(&registration("broker-a", "10.0.0.2:10911", 1, &["T"]), NodeId(2), 0);
        assert!(rim.unregister_broker("10.0.0.1:10911"));
        // The slave remains: the topic keeps its queue data, but the group has no master.
        let route = rim.pickup_topic_route_data("T").expect("still routed through the slave");
        assert_eq!(route.broker_datas[0].master_addr(), None);
        assert!(rim.unregister_broker("10.0.0.2:10911"));
        assert!(rim.pickup_topic_route_data("T").is_none());
        assert!(rim.cluster_addr_table.is_empty());
    }

    #[test]
    fn a_slave_learns_its_master_and_ha_address() {
        let mut rim = RouteInfoManager::default();
        rim.register_broker(&registration("broker-a", "10.0.0.1:10911", 0, &["T"]), NodeId(1), 0);
        let result = rim.register_broker(&registration("broker-a", "10.0.0.2:10911", 1, &["T"]), NodeId(2), 0);
        assert_eq!(result.master_addr.as_deref(), Some("10.0.0.1:10911"));
        assert_eq!(result.ha_server_addr.as_deref(), Some("10.0.0.1:10911-ha"));
    }
}
