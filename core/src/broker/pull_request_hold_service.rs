//! `PullRequestHoldService` (4.9.8 `broker/longpolling/`): long polling.
//!
//! A pull that finds nothing (PULL_NOT_FOUND) and carries the suspend flag is not answered: it is held
//! for `suspendTimeoutMillis` (the client's `brokerSuspendMaxTimeMillis`, 15 s for a push consumer) when
//! `longPollingEnable` (default), else for `shortPollingTimeMills` (1 s). It is re-executed (and then
//! always answered, whatever it finds):
//! * when dispatch reports a new message for its (topic, queue) past the requested offset whose tags code
//!   the request's filter accepts — the `NotifyMessageArrivingListener` path, long polling only; no
//!   busy polling is involved;
//! * or at the service's periodic check (every 5 s with long polling, every `shortPollingTimeMills`
//!   without), which re-reads each queue's max offset: new data (whatever its tags) or an expired hold
//!   re-executes the request.
//!
//! So an idle long poll is answered 15 to 20 s after it arrived, at the first check past its deadline.
//! The check's timer only runs while something is held, on the grid the Java thread would follow
//! (`start + k × period`); the outcome is the same as a thread that always loops.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::protocol::consumer::{PullMessageRequestHeader, SubscriptionData};
use crate::sim::node::NodeId;

/// The long-polling check period (`waitForRunning(5 * 1000)`).
pub const LONG_POLLING_CHECK_INTERVAL_MS: u64 = 5_000;

/// `longpolling.PullRequest`: a held pull.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HeldPullRequest {
    pub channel: NodeId,
    pub opaque: u32,
    pub header: PullMessageRequestHeader,
    pub subscription: SubscriptionData,
    /// Virtual ms when it was suspended.
    pub suspend_timestamp: u64,
    pub timeout_millis: u64,
    pub pull_from_this_offset: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PullRequestHoldService {
    /// `topic@queueId` → held requests (`ManyPullRequest`), in arrival order.
    pub pull_request_table: BTreeMap<(String, i32), Vec<HeldPullRequest>>,
    /// The periodic check's timer is set.
    pub check_armed: bool,
}

impl PullRequestHoldService {
    /// `suspendPullRequest`.
    pub fn suspend_pull_request(&mut self, request: HeldPullRequest) {
        let key = (request.header.topic.clone(), request.header.queue_id);
        self.pull_request_table.entry(key).or_default().push(request);
    }

    pub fn held_count(&self) -> u32 {
        self.pull_request_table.values().map(|v| v.len() as u32).sum()
    }

    /// `notifyMessageArriving(topic, queueId, maxOffset, tagsCode, ...)`: the requests to re-execute now.
    /// `current_max` re-reads the queue's max offset (`getMaxOffsetInQueue`) for a request the reported
    /// offset does not cover. `tags_code` is None for the periodic check (which matches everything).
    pub fn notify_message_arriving(
        &mut self,
        topic: &str,
        queue_id: i32,
        max_offset: i64,
        tags_code: Option<i64>,
        now_ms: u64,
        current_max: impl Fn() -> i64,
    ) -> Vec<HeldPullRequest> {
        let key = (topic.to_string(), queue_id);
        let Some(held) = self.pull_request_table.get_mut(&key) else { return Vec::new() };
        // The requests that stay stay in their list, which stays when emptied: RocketMQ keeps its
        // ManyPullRequest too, and the next suspend of this queue reuses the list's capacity.
        let wakes = |request: &HeldPullRequest| {
            let mut newest = max_offset;
            if newest <= request.pull_from_this_offset {
                newest = current_max();
            }
            // `getMessageFilter().isMatchedByConsumeQueue`: a SQL92 subscription wakes on any arrival (RocketMQ
            // then also evaluates the properties of the dispatch; the re-run pull filters them here).
            let filter = crate::filter::ExpressionMessageFilter::new(&request.subscription);
            let matched =
                crate::broker::store::get_message::MessageFilter::is_matched_by_consume_queue(&filter, tags_code);
            (newest > request.pull_from_this_offset && matched)
                || now_ms >= request.suspend_timestamp + request.timeout_millis
        };
        let mut wake = Vec::new();
        let mut index = 0;
        while index < held.len() {
            if wakes(&held[index]) {
                wake.push(held.remove(index));
            } else {
                index += 1;
            }
        }
        wake
    }

    /// `checkHoldRequest`: every held queue, with its current max offset.
    pub fn check_hold_request(
        &mut self,
        now_ms: u64,
        max_offset_of: impl Fn(&str, i32) -> i64,
    ) -> Vec<HeldPullRequest> {
        let keys: Vec<(String, i32)> =
            self.pull_request_table.iter().filter(|(_, held)| !held.is_empty()).map(|(key, _)| key.clone()).collect();
        let mut wake = Vec::new();
        for (topic, queue_id) in keys {
            let max = max_offset_of(&topic, queue_id);
            wake.extend(self.notify_message_arriving(&topic, queue_id, max, None, now_ms, || max));
        }
        wake
    }

    /// Forget the requests of a closed channel (their answers could not be written anyway).
    pub fn drop_channel(&mut self, channel: NodeId) {
        for requests in self.pull_request_table.values_mut() {
            requests.retain(|r| r.channel != channel);
        }
        self.pull_request_table.retain(|_, v| !v.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::consumer::EXPRESSION_TYPE_TAG;

    fn held(offset: i64, expression: &str, at: u64) -> HeldPullRequest {
        HeldPullRequest {
            channel: NodeId(9),
            opaque: 1,
            header: PullMessageRequestHeader {
                consumer_group: "G".into(),
                topic: "T".into(),
                queue_id: 0,
                queue_offset: offset,
                max_msg_nums: 32,
                sys_flag: 2,
                commit_offset: 0,
                suspend_timeout_millis: 15_000,
                subscription: None,
                sub_version: 0,
                expression_type: EXPRESSION_TYPE_TAG.into(),
            },
            subscription: SubscriptionData::build("T", expression, 0),
            suspend_timestamp: at,
            timeout_millis: 15_000,
            pull_from_this_offset: offset,
        }
    }

    #[test]
    fn an_arrival_past_the_offset_wakes_a_matching_hold_and_keeps_a_non_matching_one() {
        let mut service = PullRequestHoldService::default();
        service.suspend_pull_request(held(10, "*", 0));
        service.suspend_pull_request(held(10, "TagA", 0));
        let tag_b = crate::java::string_hash_code("TagB") as i64;
        let woken = service.notify_message_arriving("T", 0, 11, Some(tag_b), 100, || 11);
        assert_eq!(woken.len(), 1);
        assert_eq!(woken[0].subscription.sub_string, "*");
        assert_eq!(service.held_count(), 1);
        // The periodic check matches everything once there is new data.
        assert_eq!(service.check_hold_request(5_000, |_, _| 11).len(), 1);
        assert_eq!(service.held_count(), 0);
    }

    #[test]
    fn an_idle_hold_is_answered_at_the_first_check_past_its_fifteen_seconds() {
        let mut service = PullRequestHoldService::default();
        service.suspend_pull_request(held(10, "*", 1_000));
        assert!(service.check_hold_request(15_000, |_, _| 10).is_empty());
        assert_eq!(service.check_hold_request(16_000, |_, _| 10).len(), 1);
    }
}
