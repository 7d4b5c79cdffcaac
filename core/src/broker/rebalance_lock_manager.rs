//! `RebalanceLockManager` (4.9.8 `broker/client/rebalance/`): the queue locks of orderly consumers.
//!
//! A lock is (group, queue) → (client id, last update). LOCK_BATCH_MQ grants each queue that is free,
//! already held by the caller (refreshing it) or whose holder has not refreshed it for more than
//! `REBALANCE_LOCK_MAX_LIVE_TIME` (60 s, strictly); it answers the set the caller holds now.
//! UNLOCK_BATCH_MQ releases only the caller's own locks. Clients refresh every 20 s and trust a lock
//! for 30 s, so a live client never loses a lock it renews, and a dead client's locks pass on after 60 s.
//!
//! Locks live in memory only: a restarted broker has none.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::message_queue::MessageQueue;

/// `rocketmq.broker.rebalance.lockMaxLiveTime`.
pub const REBALANCE_LOCK_MAX_LIVE_TIME_MS: u64 = 60_000;

/// `LockEntry`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LockEntry {
    pub client_id: String,
    pub last_update_timestamp: u64,
}

impl LockEntry {
    fn is_expired(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.last_update_timestamp) > REBALANCE_LOCK_MAX_LIVE_TIME_MS
    }

    fn is_locked(&self, client_id: &str, now_ms: u64) -> bool {
        self.client_id == client_id && !self.is_expired(now_ms)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RebalanceLockManager {
    pub mq_lock_table: BTreeMap<String, BTreeMap<MessageQueue, LockEntry>>,
}

impl RebalanceLockManager {
    /// `tryLockBatch`: the queues of `mqs` that `client_id` holds after the call, in `mqs`' order.
    pub fn try_lock_batch(
        &mut self,
        group: &str,
        mqs: &[MessageQueue],
        client_id: &str,
        now_ms: u64,
    ) -> Vec<MessageQueue> {
        let table = self.mq_lock_table.entry(group.to_string()).or_default();
        let mut locked = Vec::new();
        for mq in mqs {
            let entry = table
                .entry(mq.clone())
                .or_insert_with(|| LockEntry { client_id: client_id.to_string(), last_update_timestamp: now_ms });
            if entry.is_locked(client_id, now_ms) || entry.is_expired(now_ms) {
                entry.client_id = client_id.to_string();
                entry.last_update_timestamp = now_ms;
                if !locked.contains(mq) {
                    locked.push(mq.clone());
                }
            }
        }
        locked
    }

    /// `unlockBatch`: releases the caller's own locks.
    pub fn unlock_batch(&mut self, group: &str, mqs: &[MessageQueue], client_id: &str) {
        if let Some(table) = self.mq_lock_table.get_mut(group) {
            for mq in mqs {
                if table.get(mq).is_some_and(|e| e.client_id == client_id) {
                    table.remove(mq);
                }
            }
        }
    }

    /// Who holds `mq` for `group` now (expired locks count as free).
    pub fn holder(&self, group: &str, mq: &MessageQueue, now_ms: u64) -> Option<&str> {
        let entry = self.mq_lock_table.get(group)?.get(mq)?;
        (!entry.is_expired(now_ms)).then_some(entry.client_id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(id: i32) -> MessageQueue {
        MessageQueue::new("T", "broker-a", id)
    }

    #[test]
    fn a_lock_is_refreshed_by_its_holder_refused_to_others_and_passes_on_after_sixty_seconds() {
        let mut locks = RebalanceLockManager::default();
        assert_eq!(locks.try_lock_batch("G", &[q(0), q(1)], "a", 0), [q(0), q(1)]);
        assert!(locks.try_lock_batch("G", &[q(0)], "b", 1_000).is_empty());
        assert_eq!(locks.try_lock_batch("G", &[q(0)], "a", 30_000), [q(0)]);
        // q(1) was last refreshed at 0: at exactly 60 s it is still a's, one ms later it is free.
        assert!(locks.try_lock_batch("G", &[q(1)], "b", 60_000).is_empty());
        assert_eq!(locks.try_lock_batch("G", &[q(1)], "b", 60_001), [q(1)]);
        assert_eq!(locks.holder("G", &q(1), 60_001), Some("b"));
        assert!(locks.try_lock_batch("H", &[q(1)], "c", 60_001) == [q(1)], "groups are independent");
    }

    #[test]
    fn only_the_holder_can_unlock() {
        let mut locks = RebalanceLockManager::default();
        locks.try_lock_batch("G", &[q(0)], "a", 0);
        locks.unlock_batch("G", &[q(0)], "b");
        assert_eq!(locks.holder("G", &q(0), 1), Some("a"));
        locks.unlock_batch("G", &[q(0)], "a");
        assert_eq!(locks.holder("G", &q(0), 1), None);
        assert_eq!(locks.try_lock_batch("G", &[q(0)], "b", 2), [q(0)]);
    }
}
