//! `ProcessQueue` (4.9.8 `client/impl/consumer/`): a consumer's local buffer of one message queue.
//!
//! Pulled messages wait in a map ordered by queue offset (`msgTreeMap`) until the consume service takes
//! them. For concurrent consumption a message stays in the map while it is being consumed, so
//! [`ProcessQueue::remove_message`] returns the **smallest offset still in the map** (or the highest
//! offset ever put + 1 when the map empties): the consume offset never passes a message that has not
//! finished, and one slow message holds back the committed offset of its whole queue. Orderly
//! consumption moves the taken batch to `consumingMsgOrderlyTreeMap` and commits it as a whole.
//!
//! The flags are RocketMQ's: `dropped` (a rebalance took the queue away: results of messages in flight
//! are discarded and nobody updates the offset), `locked` and `lastLockTimestamp` (the broker lock of an
//! orderly consumer; the client trusts it for 30 s), `lastPullTimestamp` (a queue with no pull for 120 s is
//! dropped by the next rebalance), `consuming` (a consume request is scheduled or running).
//!
//! Invariants: `msg_count` equals the number of messages in both maps; `msg_size` their body bytes.

use std::collections::BTreeMap;
use std::rc::Rc;

use serde::Serialize;

use crate::protocol::consumer::MessageExt;

/// `rocketmq.client.rebalance.lockMaxLiveTime`.
pub const REBALANCE_LOCK_MAX_LIVE_TIME_MS: u64 = 30_000;
/// `rocketmq.client.rebalance.lockInterval`.
pub const REBALANCE_LOCK_INTERVAL_MS: u64 = 20_000;
/// `rocketmq.client.pull.pullMaxIdleTime`.
pub const PULL_MAX_IDLE_TIME_MS: u64 = 120_000;

/// A message in a process queue, with when its consumption started (`CONSUME_START_TIME`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CachedMessage {
    /// Shared with the consume requests that carry it: a checkpoint of the run (the web app's rewind)
    /// copies pointers, not the tens of thousands of bodies a backlog keeps cached in the consumers.
    pub message: Rc<MessageExt>,
    /// Virtual ms, set when a consume request starts on it (used by the consume-timeout sweep).
    pub consume_start_timestamp: Option<u64>,
    /// The client-side count of failed attempts (`msg.setReconsumeTimes` after a failed send-back or an
    /// orderly suspend); starts at the stored value.
    pub reconsume_times: i32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProcessQueue {
    /// Unique per consumer incarnation: a request carrying an old id belongs to a dropped queue.
    pub id: u64,
    pub msg_tree_map: BTreeMap<i64, CachedMessage>,
    pub consuming_msg_orderly_tree_map: BTreeMap<i64, CachedMessage>,
    pub msg_count: u64,
    pub msg_size: u64,
    pub queue_offset_max: i64,
    pub dropped: bool,
    pub locked: bool,
    pub last_lock_timestamp: u64,
    pub last_pull_timestamp: u64,
    pub last_consume_timestamp: u64,
    pub consuming: bool,
    pub try_unlock_times: u64,
    /// `msgAccCnt`: how far behind the queue's max offset the last pulled message was.
    pub msg_acc_cnt: i64,
    // The queue's PullRequest lives with it (one per queue).
    /// `PullRequest.nextOffset`.
    pub next_offset: i64,
    /// `PullRequest.previouslyLocked` (orderly: the offset was re-read after the lock was taken).
    pub previously_locked: bool,
}

impl ProcessQueue {
    pub fn new(id: u64, now_ms: u64, next_offset: i64) -> Self {
        ProcessQueue {
            id,
            msg_tree_map: BTreeMap::new(),
            consuming_msg_orderly_tree_map: BTreeMap::new(),
            msg_count: 0,
            msg_size: 0,
            queue_offset_max: 0,
            dropped: false,
            locked: false,
            last_lock_timestamp: now_ms,
            last_pull_timestamp: now_ms,
            last_consume_timestamp: now_ms,
            consuming: false,
            try_unlock_times: 0,
            msg_acc_cnt: 0,
            next_offset,
            previously_locked: false,
        }
    }

    /// `isLockExpired`: the client trusts its lock for 30 s after the last successful lock.
    pub fn is_lock_expired(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.last_lock_timestamp) > REBALANCE_LOCK_MAX_LIVE_TIME_MS
    }

    /// `isPullExpired`.
    pub fn is_pull_expired(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.last_pull_timestamp) > PULL_MAX_IDLE_TIME_MS
    }

    /// `putMessage`: returns `dispatchToConsume` (true when nothing was consuming).
    pub fn put_message(&mut self, msgs: &[Rc<MessageExt>]) -> bool {
        let mut valid = 0;
        for msg in msgs {
            if !self.msg_tree_map.contains_key(&msg.queue_offset) {
                valid += 1;
                self.queue_offset_max = msg.queue_offset;
                self.msg_size += msg.body.len() as u64;
            }
            let cached = CachedMessage {
                message: Rc::clone(msg),
                consume_start_timestamp: None,
                reconsume_times: msg.reconsume_times,
            };
            self.msg_tree_map.insert(msg.queue_offset, cached);
        }
        self.msg_count += valid;
        let mut dispatch = false;
        if !self.msg_tree_map.is_empty() && !self.consuming {
            dispatch = true;
            self.consuming = true;
        }
        if let Some(last) = msgs.last() {
            let max_offset = crate::broker::store::properties::MessageProperties::get_from_string(
                &last.properties,
                crate::broker::store::properties::PROPERTY_MAX_OFFSET,
            )
            .and_then(|v| v.parse::<i64>().ok());
            if let Some(max) = max_offset {
                let acc = max - last.queue_offset;
                if acc > 0 {
                    self.msg_acc_cnt = acc;
                }
            }
        }
        dispatch
    }

    /// `getMaxSpan`.
    pub fn max_span(&self) -> i64 {
        match (self.msg_tree_map.keys().next(), self.msg_tree_map.keys().next_back()) {
            (Some(first), Some(last)) => last - first,
            _ => 0,
        }
    }

    /// `removeMessage`: the offset to commit after these messages finished, or -1 if the map was empty.
    pub fn remove_message(&mut self, offsets: &[i64], now_ms: u64) -> i64 {
        self.last_consume_timestamp = now_ms;
        if self.msg_tree_map.is_empty() {
            return -1;
        }
        let mut result = self.queue_offset_max + 1;
        for offset in offsets {
            if let Some(prev) = self.msg_tree_map.remove(offset) {
                self.msg_count -= 1;
                self.msg_size = self.msg_size.saturating_sub(prev.message.body.len() as u64);
            }
        }
        if self.msg_count == 0 {
            self.msg_size = 0;
        }
        if let Some(first) = self.msg_tree_map.keys().next() {
            result = *first;
        }
        result
    }

    /// `takeMessages` (orderly): up to `batch` messages from the head into the consuming map.
    pub fn take_messages(&mut self, batch: u32, now_ms: u64) -> Vec<CachedMessage> {
        self.last_consume_timestamp = now_ms;
        let mut result = Vec::new();
        for _ in 0..batch {
            let Some((offset, msg)) = self.msg_tree_map.pop_first() else { break };
            self.consuming_msg_orderly_tree_map.insert(offset, msg.clone());
            result.push(msg);
        }
        if result.is_empty() {
            self.consuming = false;
        }
        result
    }

    /// `commit` (orderly): the taken batch is done; returns the next offset, or -1.
    pub fn commit(&mut self) -> i64 {
        let last = self.consuming_msg_orderly_tree_map.keys().next_back().copied();
        let size: u64 = self.consuming_msg_orderly_tree_map.values().map(|m| m.message.body.len() as u64).sum();
        self.msg_count -= self.consuming_msg_orderly_tree_map.len() as u64;
        if self.msg_count == 0 {
            self.msg_size = 0;
        } else {
            self.msg_size = self.msg_size.saturating_sub(size);
        }
        self.consuming_msg_orderly_tree_map.clear();
        last.map_or(-1, |offset| offset + 1)
    }

    /// `makeMessageToConsumeAgain` (orderly suspend): the batch goes back to the head, with its counts.
    pub fn make_message_to_consume_again(&mut self, msgs: &[CachedMessage]) {
        for msg in msgs {
            self.consuming_msg_orderly_tree_map.remove(&msg.message.queue_offset);
            self.msg_tree_map.insert(msg.message.queue_offset, msg.clone());
        }
    }

    /// `rollback` (orderly, not auto-commit).
    pub fn rollback(&mut self) {
        let consuming = std::mem::take(&mut self.consuming_msg_orderly_tree_map);
        self.msg_tree_map.extend(consuming);
    }

    /// `hasTempMessage`.
    pub fn has_temp_message(&self) -> bool {
        !self.msg_tree_map.is_empty()
    }

    /// `clear`.
    pub fn clear(&mut self) {
        self.msg_tree_map.clear();
        self.consuming_msg_orderly_tree_map.clear();
        self.msg_count = 0;
        self.msg_size = 0;
        self.queue_offset_max = 0;
    }

    /// Cached bytes in whole MiB, as the flow control compares them.
    pub fn msg_size_in_mib(&self) -> u64 {
        self.msg_size / (1024 * 1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(offset: i64) -> MessageExt {
        MessageExt {
            topic: "T".into(),
            queue_id: 0,
            queue_offset: offset,
            commit_log_offset: offset * 100,
            store_size: 100,
            body: vec![b'x'; 10],
            flag: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: "10.0.0.9:40000".into(),
            store_timestamp: 0,
            store_host: "10.0.0.2:10911".into(),
            reconsume_times: 0,
            properties: String::new(),
            offset_msg_id: String::new(),
        }
    }

    #[test]
    fn the_offset_only_advances_past_the_smallest_unfinished_message() {
        let mut pq = ProcessQueue::new(1, 0, 0);
        assert!(pq.put_message(&[msg(5).into(), msg(6).into(), msg(7).into()]));
        assert!(!pq.put_message(&[msg(8).into()]), "already consuming: no second dispatch");
        assert_eq!((pq.msg_count, pq.msg_size, pq.max_span()), (4, 40, 3));
        // 6 and 7 finish first: 5 is still in flight, so the offset stays at 5.
        assert_eq!(pq.remove_message(&[6, 7], 1), 5);
        assert_eq!(pq.remove_message(&[5], 2), 8);
        assert_eq!(pq.remove_message(&[8], 3), 9, "empty: highest offset ever put + 1");
        assert_eq!((pq.msg_count, pq.msg_size), (0, 0));
        assert_eq!(pq.remove_message(&[8], 4), -1, "nothing cached: no offset");
    }

    #[test]
    fn orderly_batches_commit_as_a_whole_and_a_suspend_puts_them_back() {
        let mut pq = ProcessQueue::new(1, 0, 0);
        pq.put_message(&[msg(0).into(), msg(1).into(), msg(2).into()]);
        let batch = pq.take_messages(2, 0);
        assert_eq!(batch.iter().map(|m| m.message.queue_offset).collect::<Vec<_>>(), [0, 1]);
        pq.make_message_to_consume_again(&batch);
        assert_eq!(pq.msg_tree_map.len(), 3);
        let batch = pq.take_messages(2, 0);
        assert_eq!(batch.len(), 2);
        assert_eq!(pq.commit(), 2);
        assert_eq!(pq.msg_count, 1);
        pq.take_messages(2, 0);
        assert_eq!(pq.commit(), 3);
        assert!(pq.take_messages(2, 0).is_empty());
        assert!(!pq.consuming);
    }

    #[test]
    fn locks_are_trusted_for_thirty_seconds_and_pulls_expire_after_two_minutes() {
        let pq = ProcessQueue::new(1, 1_000, 0);
        assert!(!pq.is_lock_expired(31_000));
        assert!(pq.is_lock_expired(31_001));
        assert!(!pq.is_pull_expired(121_000));
        assert!(pq.is_pull_expired(121_001));
    }
}
