//! The consumer's offset stores (4.9.8 `client/consumer/store/`): where a consumer keeps the next offset
//! to consume of each queue it owns.
//!
//! * CLUSTERING → `RemoteBrokerOffsetStore`: an in-memory table; `persistAll` (every
//!   `persistConsumerOffsetInterval`, 5 s, first after 10 s) sends each owned queue's offset to its broker
//!   with a oneway UPDATE_CONSUMER_OFFSET and forgets queues it no longer owns; pulls also carry the
//!   in-memory offset (when > 0) for the broker to commit. Reading from the store is a
//!   QUERY_CONSUMER_OFFSET (the client does the call; this file keeps the table).
//! * BROADCASTING → `LocalFileOffsetStore`: the same table, written as JSON to
//!   `.rocketmq_offsets/<clientId>/<group>/offsets.json` in the client's own file system (page cache, no
//!   sync, like `MixAll.string2File`); a broadcasting client's id is `ip@DEFAULT` (its instance name is
//!   not replaced by the pid), so a restarted consumer finds its file again.
//!
//! Between two persists a clustering consumer's progress lives only in its memory: a killed consumer's
//! queues are replayed by their next owner from the broker's last offset.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::message_queue::MessageQueue;

/// `LocalFileOffsetStore.LOCAL_OFFSET_STORE_DIR` under the client's file tree.
pub const LOCAL_OFFSET_STORE_DIR: &str = ".rocketmq_offsets";

/// Where a consumer's offsets are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum OffsetStoreKind {
    RemoteBroker,
    LocalFile,
}

/// `OffsetStore`: the in-memory table (both kinds keep one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetStore {
    pub kind: OffsetStoreKind,
    pub offset_table: BTreeMap<MessageQueue, i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OffsetSerializeWrapper {
    /// `MessageQueue` keys as `topic/brokerName/queueId` (JSON object keys must be strings).
    offset_table: BTreeMap<String, i64>,
}

impl OffsetStore {
    pub fn new(kind: OffsetStoreKind) -> Self {
        OffsetStore { kind, offset_table: BTreeMap::new() }
    }

    /// `updateOffset(mq, offset, increaseOnly)`.
    pub fn update_offset(&mut self, mq: &MessageQueue, offset: i64, increase_only: bool) -> bool {
        match self.offset_table.get_mut(mq) {
            None => {
                self.offset_table.insert(mq.clone(), offset);
                true
            }
            Some(old) if increase_only => {
                if offset > *old {
                    *old = offset;
                    true
                } else {
                    false
                }
            }
            Some(old) => {
                let changed = *old != offset;
                *old = offset;
                changed
            }
        }
    }

    /// `readOffset(mq, READ_FROM_MEMORY)`: -1 when unknown.
    pub fn read_from_memory(&self, mq: &MessageQueue) -> i64 {
        self.offset_table.get(mq).copied().unwrap_or(-1)
    }

    /// `removeOffset`.
    pub fn remove_offset(&mut self, mq: &MessageQueue) {
        self.offset_table.remove(mq);
    }

    /// `persistAll(mqs)`'s selection: the entries to send (owned queues) — the others are forgotten
    /// (RemoteBrokerOffsetStore; the local store keeps every entry and writes them all).
    pub fn persist_all_selection(&mut self, owned: &[MessageQueue]) -> Vec<(MessageQueue, i64)> {
        if owned.is_empty() {
            return Vec::new();
        }
        if self.kind == OffsetStoreKind::RemoteBroker {
            self.offset_table.retain(|mq, _| owned.contains(mq));
        }
        self.offset_table.iter().filter(|(mq, _)| owned.contains(mq)).map(|(mq, o)| (mq.clone(), *o)).collect()
    }

    /// The path of the local file of `client_id` / `group`.
    pub fn local_path(client_id: &str, group: &str) -> String {
        format!("{LOCAL_OFFSET_STORE_DIR}/{client_id}/{group}/offsets.json")
    }

    /// The local file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let wrapper = OffsetSerializeWrapper {
            offset_table: self
                .offset_table
                .iter()
                .map(|(mq, o)| (format!("{}/{}/{}", mq.topic, mq.broker_name, mq.queue_id), *o))
                .collect(),
        };
        serde_json::to_vec_pretty(&wrapper).expect("offset tables always serialize")
    }

    /// The local file's table (`readLocalOffset`); an unreadable file is empty.
    pub fn decode(bytes: &[u8]) -> BTreeMap<MessageQueue, i64> {
        let Ok(wrapper) = serde_json::from_slice::<OffsetSerializeWrapper>(bytes) else { return BTreeMap::new() };
        wrapper
            .offset_table
            .into_iter()
            .filter_map(|(key, offset)| {
                let mut parts = key.rsplitn(3, '/');
                let queue_id = parts.next()?.parse().ok()?;
                let broker = parts.next()?;
                let topic = parts.next()?;
                Some((MessageQueue::new(topic, broker, queue_id), offset))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(id: i32) -> MessageQueue {
        MessageQueue::new("T", "broker-a", id)
    }

    #[test]
    fn increase_only_updates_never_move_an_offset_back() {
        let mut store = OffsetStore::new(OffsetStoreKind::RemoteBroker);
        assert!(store.update_offset(&q(0), 5, true));
        assert!(!store.update_offset(&q(0), 3, true));
        assert_eq!(store.read_from_memory(&q(0)), 5);
        assert!(store.update_offset(&q(0), 3, false));
        assert_eq!(store.read_from_memory(&q(0)), 3);
        assert_eq!(store.read_from_memory(&q(1)), -1);
    }

    #[test]
    fn persist_all_sends_owned_queues_and_forgets_the_others() {
        let mut store = OffsetStore::new(OffsetStoreKind::RemoteBroker);
        store.update_offset(&q(0), 5, false);
        store.update_offset(&q(1), 7, false);
        assert_eq!(store.persist_all_selection(&[q(1)]), [(q(1), 7)]);
        assert_eq!(store.read_from_memory(&q(0)), -1);
        assert!(store.persist_all_selection(&[]).is_empty());
    }

    #[test]
    fn the_local_file_round_trips() {
        let mut store = OffsetStore::new(OffsetStoreKind::LocalFile);
        store.update_offset(&MessageQueue::new("a/b", "broker-a", 2), 9, false);
        let table = OffsetStore::decode(&store.encode());
        assert_eq!(table.get(&MessageQueue::new("a/b", "broker-a", 2)), Some(&9));
        assert_eq!(
            OffsetStore::local_path("10.0.0.5@DEFAULT", "G"),
            ".rocketmq_offsets/10.0.0.5@DEFAULT/G/offsets.json"
        );
    }
}
