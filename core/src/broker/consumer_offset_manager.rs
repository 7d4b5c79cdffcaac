//! `ConsumerOffsetManager` (4.9.8 `broker/offset/`): the consume offsets of clustering groups, per
//! `topic@group` and queue id, and their file `config/consumerOffset.json`.
//!
//! Clients commit offsets with UPDATE_CONSUMER_OFFSET (oneway, every 5 s) and piggybacked on pulls; the
//! broker keeps the latest value (even a smaller one: RocketMQ only logs "[NOTIFYME]"), answers
//! QUERY_CONSUMER_OFFSET from memory, and writes the whole table to the file every
//! `flushConsumerOffsetInterval` (5 s, first after 10 s) and at shutdown. Like `MixAll.string2File`
//! the write goes to the page cache without a sync: a process kill keeps it, a power loss may not.
//!
//! The value stored is the **next** offset to consume.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `BrokerPathConfigHelper.getConsumerOffsetPath` under our broker's file tree.
pub const CONSUMER_OFFSET_JSON_PATH: &str = "config/consumerOffset.json";
/// `TOPIC_GROUP_SEPARATOR`.
pub const TOPIC_GROUP_SEPARATOR: &str = "@";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConsumerOffsetSerializeWrapper {
    offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsumerOffsetManager {
    /// `topic@group` → queue id → next offset.
    pub offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
    /// Changed since the last persist (the periodic persist skips a clean table: same bytes).
    pub dirty: bool,
}

impl ConsumerOffsetManager {
    fn key(topic: &str, group: &str) -> String {
        format!("{topic}{TOPIC_GROUP_SEPARATOR}{group}")
    }

    /// `commitOffset`; true when the value changed.
    pub fn commit_offset(&mut self, group: &str, topic: &str, queue_id: i32, offset: i64) -> bool {
        let previous = self.offset_table.entry(Self::key(topic, group)).or_default().insert(queue_id, offset);
        let changed = previous != Some(offset);
        self.dirty |= changed;
        changed
    }

    /// `queryOffset`: -1 when the group has no offset for the queue.
    pub fn query_offset(&self, group: &str, topic: &str, queue_id: i32) -> i64 {
        self.offset_table.get(&Self::key(topic, group)).and_then(|q| q.get(&queue_id)).copied().unwrap_or(-1)
    }

    /// Offsets of one group, `(topic, queue id, offset)`, for views.
    pub fn offsets_of_group(&self, group: &str) -> Vec<(String, i32, i64)> {
        let suffix = format!("{TOPIC_GROUP_SEPARATOR}{group}");
        self.offset_table
            .iter()
            .filter_map(|(key, queues)| key.strip_suffix(&suffix).map(|topic| (topic, queues)))
            .flat_map(|(topic, queues)| queues.iter().map(move |(q, o)| (topic.to_string(), *q, *o)))
            .collect()
    }

    /// `encode()`: the bytes `persist()` writes.
    pub fn encode(&self) -> Vec<u8> {
        let wrapper = ConsumerOffsetSerializeWrapper { offset_table: self.offset_table.clone() };
        serde_json::to_vec_pretty(&wrapper).expect("offset tables always serialize")
    }

    /// `load()`: what the file kept (an unreadable file is ignored, as RocketMQ falls back to nothing).
    pub fn load(&mut self, persisted: &[u8]) {
        if let Ok(wrapper) = serde_json::from_slice::<ConsumerOffsetSerializeWrapper>(persisted) {
            self.offset_table = wrapper.offset_table;
        }
        self.dirty = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_kept_per_topic_at_group_and_survive_an_encode_load_round_trip() {
        let mut manager = ConsumerOffsetManager::default();
        assert_eq!(manager.query_offset("G", "T", 0), -1);
        manager.commit_offset("G", "T", 0, 17);
        manager.commit_offset("G", "T", 0, 12);
        manager.commit_offset("H", "T", 1, 3);
        assert_eq!(manager.query_offset("G", "T", 0), 12, "a smaller offset still replaces the old one");
        let bytes = manager.encode();
        assert!(String::from_utf8_lossy(&bytes).contains("T@G"));
        let mut loaded = ConsumerOffsetManager::default();
        loaded.load(&bytes);
        assert_eq!(loaded.query_offset("H", "T", 1), 3);
        assert_eq!(loaded.offsets_of_group("G"), [("T".to_string(), 0, 12)]);
        loaded.load(b"not json");
        assert_eq!(loaded.query_offset("H", "T", 1), 3);
    }
}
