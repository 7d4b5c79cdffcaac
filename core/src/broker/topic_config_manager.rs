//! `TopicConfigManager` (4.9.8): the broker's topic table, its data version, and topic auto-creation.
//!
//! At start the table holds the built-in topics (`SELF_TEST_TOPIC` 1 queue, `TBW102` with
//! `defaultTopicQueueNums` queues and perm 7 when `autoCreateTopicEnable`, `BenchmarkTest` 1 024 queues,
//! a topic named after the cluster and one after the broker (perm 7 with `clusterTopicEnable` /
//! `brokerTopicEnable`, else INHERIT only), `OFFSET_MOVED_EVENT` 1, `SCHEDULE_TOPIC_XXXX` 18,
//! `<cluster>_REPLY_TOPIC` 1), then whatever `config/topics.json` kept, then the scenario's topics.
//!
//! `createTopicInSendMessageMethod`: a send to an unknown topic copies the default topic (TBW102) if it is
//! INHERIT-able: `min(producer's defaultTopicQueueNums, TBW102 write queues)` read and write queues, TBW102's
//! perm without INHERIT (so 6). The topic exists on *this broker only*; the data version moves on, the
//! table is persisted and the broker re-registers with every NameServer at once.
//!
//! Persistence: `topics.json` is written into the page cache without a sync, as `MixAll.string2File`
//! does, so a killed broker keeps its auto-created topics and a powered-off one may not.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::broker::topic_validator::{
    RMQ_SYS_BENCHMARK_TOPIC, RMQ_SYS_OFFSET_MOVED_EVENT, RMQ_SYS_SCHEDULE_TOPIC, RMQ_SYS_SELF_TEST_TOPIC,
};
use crate::protocol::DataVersion;
use crate::route::{perm, TopicConfig, AUTO_CREATE_TOPIC_KEY_TOPIC};

/// `ScheduleMessageService.SCHEDULE_TOPIC_QUEUE_NUM`... (18 delay levels).
pub const SCHEDULE_TOPIC_QUEUE_NUM: u32 = 18;
/// Where the table is persisted on the broker's disk.
pub const TOPICS_JSON_PATH: &str = "config/topics.json";

/// What a broker's topic table is built from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicTableSettings {
    pub cluster_name: String,
    pub broker_name: String,
    pub auto_create_topic_enable: bool,
    pub default_topic_queue_nums: u32,
    pub cluster_topic_enable: bool,
    pub broker_topic_enable: bool,
}

/// The persisted form (`TopicConfigSerializeWrapper`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct TopicConfigSerializeWrapper {
    topic_config_table: BTreeMap<String, TopicConfig>,
    data_version: DataVersion,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicConfigManager {
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    pub data_version: DataVersion,
}

fn topic(name: &str, queues: u32, perm: u32) -> TopicConfig {
    TopicConfig::with_queues(name, queues, perm)
}

impl TopicConfigManager {
    /// The constructor's built-in topics.
    pub fn new(settings: &TopicTableSettings) -> Self {
        let mut table = BTreeMap::new();
        let mut put = |config: TopicConfig| {
            table.insert(config.topic_name.clone(), config);
        };
        put(topic(RMQ_SYS_SELF_TEST_TOPIC, 1, 6));
        if settings.auto_create_topic_enable {
            put(topic(
                AUTO_CREATE_TOPIC_KEY_TOPIC,
                settings.default_topic_queue_nums,
                perm::INHERIT | perm::READ | perm::WRITE,
            ));
        }
        put(topic(RMQ_SYS_BENCHMARK_TOPIC, 1_024, 6));
        let enabled = |on: bool| if on { perm::INHERIT | perm::READ | perm::WRITE } else { perm::INHERIT };
        put(topic(&settings.cluster_name, 16, enabled(settings.cluster_topic_enable)));
        put(topic(&settings.broker_name, 1, enabled(settings.broker_topic_enable)));
        put(topic(RMQ_SYS_OFFSET_MOVED_EVENT, 1, 6));
        put(topic(RMQ_SYS_SCHEDULE_TOPIC, SCHEDULE_TOPIC_QUEUE_NUM, 6));
        put(topic(&format!("{}_REPLY_TOPIC", settings.cluster_name), 1, 6));
        TopicConfigManager { topic_config_table: table, data_version: DataVersion::default() }
    }

    /// `load()`: merge what `topics.json` kept (an unreadable file is ignored, as RocketMQ falls back to
    /// the `.bak` and then to nothing).
    pub fn load(&mut self, persisted: &[u8]) {
        if let Ok(wrapper) = serde_json::from_slice::<TopicConfigSerializeWrapper>(persisted) {
            self.topic_config_table.extend(wrapper.topic_config_table);
            self.data_version = wrapper.data_version;
        }
    }

    /// `encode()`: the bytes `persist()` writes.
    pub fn encode(&self) -> Vec<u8> {
        let wrapper = TopicConfigSerializeWrapper {
            topic_config_table: self.topic_config_table.clone(),
            data_version: self.data_version,
        };
        serde_json::to_vec_pretty(&wrapper).expect("topic configs always serialize")
    }

    pub fn select_topic_config(&self, topic: &str) -> Option<&TopicConfig> {
        self.topic_config_table.get(topic)
    }

    /// `DataVersion.nextVersion()`.
    pub fn next_version(&mut self, now_ms: u64) {
        self.data_version = DataVersion { timestamp: now_ms, counter: self.data_version.counter + 1 };
    }

    /// `createTopicInSendMessageMethod`: Some(config, created) — `created` when it is new; None when the
    /// default topic is missing or not inheritable. The caller persists and re-registers when created.
    pub fn create_topic_in_send_message_method(
        &mut self,
        topic_name: &str,
        default_topic: &str,
        client_default_topic_queue_nums: i32,
        topic_sys_flag: u32,
        auto_create_topic_enable: bool,
        now_ms: u64,
    ) -> Option<(TopicConfig, bool)> {
        if let Some(existing) = self.topic_config_table.get(topic_name) {
            return Some((existing.clone(), false));
        }
        let default_config = self.topic_config_table.get_mut(default_topic)?;
        if default_topic == AUTO_CREATE_TOPIC_KEY_TOPIC && !auto_create_topic_enable {
            default_config.perm = perm::READ | perm::WRITE;
        }
        if default_config.perm & perm::INHERIT != perm::INHERIT {
            return None;
        }
        let queue_nums = client_default_topic_queue_nums.min(default_config.write_queue_nums as i32).max(0) as u32;
        let created = TopicConfig {
            topic_name: topic_name.to_string(),
            read_queue_nums: queue_nums,
            write_queue_nums: queue_nums,
            perm: default_config.perm & !perm::INHERIT,
            topic_sys_flag,
            order: false,
        };
        self.topic_config_table.insert(topic_name.to_string(), created.clone());
        self.next_version(now_ms);
        Some((created, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> TopicTableSettings {
        TopicTableSettings {
            cluster_name: "DefaultCluster".into(),
            broker_name: "broker-a".into(),
            auto_create_topic_enable: true,
            default_topic_queue_nums: 8,
            cluster_topic_enable: true,
            broker_topic_enable: true,
        }
    }

    #[test]
    fn built_in_topics_are_rocketmqs() {
        let manager = TopicConfigManager::new(&settings());
        let tbw = manager.select_topic_config("TBW102").unwrap();
        assert_eq!((tbw.read_queue_nums, tbw.write_queue_nums, tbw.perm), (8, 8, 7));
        assert_eq!(manager.select_topic_config("SCHEDULE_TOPIC_XXXX").unwrap().write_queue_nums, 18);
        assert_eq!(manager.select_topic_config("BenchmarkTest").unwrap().write_queue_nums, 1_024);
        assert_eq!(manager.select_topic_config("broker-a").unwrap().write_queue_nums, 1);
        assert!(manager.select_topic_config("DefaultCluster_REPLY_TOPIC").is_some());
        let manager = TopicConfigManager::new(&TopicTableSettings { auto_create_topic_enable: false, ..settings() });
        assert!(manager.select_topic_config("TBW102").is_none());
    }

    #[test]
    fn an_auto_created_topic_gets_four_queues_and_perm_6() {
        // Spec §13 item 17: producer defaultTopicQueueNums 4, broker TBW102 with 8 → 4 queues, perm 6.
        let mut manager = TopicConfigManager::new(&settings());
        let (config, created) =
            manager.create_topic_in_send_message_method("NewTopic", "TBW102", 4, 0, true, 1_000).unwrap();
        assert!(created);
        assert_eq!((config.read_queue_nums, config.write_queue_nums, config.perm), (4, 4, 6));
        assert_eq!(manager.data_version, DataVersion { timestamp: 1_000, counter: 1 });
        let (_, again) = manager.create_topic_in_send_message_method("NewTopic", "TBW102", 4, 0, true, 2_000).unwrap();
        assert!(!again);
        // A producer asking for more queues than TBW102 has gets TBW102's count.
        let (config, _) = manager.create_topic_in_send_message_method("Wide", "TBW102", 32, 0, true, 3_000).unwrap();
        assert_eq!(config.write_queue_nums, 8);
    }

    #[test]
    fn no_inheritable_default_topic_means_no_topic() {
        let mut manager = TopicConfigManager::new(&settings());
        assert!(manager.create_topic_in_send_message_method("T", "NoSuchDefault", 4, 0, true, 0).is_none());
        assert!(manager.create_topic_in_send_message_method("T", "SELF_TEST_TOPIC", 4, 0, true, 0).is_none());
    }

    #[test]
    fn the_table_survives_a_round_trip_through_topics_json() {
        let mut manager = TopicConfigManager::new(&settings());
        manager.create_topic_in_send_message_method("Kept", "TBW102", 4, 0, true, 5).unwrap();
        let bytes = manager.encode();
        let mut reloaded = TopicConfigManager::new(&settings());
        reloaded.load(&bytes);
        assert_eq!(reloaded, manager);
        reloaded.load(b"garbage");
        assert_eq!(reloaded, manager);
    }
}
