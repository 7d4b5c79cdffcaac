//! Subscription consistency: the trap of consumers of one group that subscribe differently.
//!
//! A broker keeps **one** `SubscriptionData` per (group, topic) (`ConsumerGroupInfo.updateSubscription`):
//! a heartbeat with a newer `subVersion` replaces it, so when members of a group subscribe to different
//! tags the last heartbeat wins and *every* member's pulls are filtered with it. The queues are still
//! shared out among all members, so a member whose own expression differs loses messages twice over:
//! the broker drops (skips past) messages the member wanted, and the member's client-side tag re-check
//! drops messages the broker let through for someone else's expression. Both advance the offset:
//! the messages are gone for the group, silently.
//!
//! RocketMQ logs nothing. The simulator keeps, beside the broker's table, what each channel itself last
//! subscribed (the [`SubscriptionLedger`], an observer's notebook the broker's decisions never read),
//! and reports:
//! * `SubscriptionReplaced` when a heartbeat changes the group's stored expression for a topic;
//! * `MessageFilteredAgainstIntent` for each message a pull skipped because the group's expression
//!   rejected it while the pulling member's own expression accepted it.
//!
//! Those two are what a checker needs to say "inconsistent subscriptions within group G lost these
//! messages" and point at the cause.

use std::collections::BTreeMap;

use crate::protocol::consumer::SubscriptionData;
use crate::sim::node::NodeId;

use super::is_tag_type;

/// What each consumer channel last subscribed, per group and topic (from its own heartbeats).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubscriptionLedger {
    by_channel: BTreeMap<(String, String, NodeId), SubscriptionData>,
}

/// A change of a group's stored subscription, caused by one client's heartbeat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replacement {
    pub topic: String,
    pub previous: String,
    pub current: String,
    pub expression_type: String,
}

/// Whether two subscriptions select the same messages (same type and expression text).
pub fn same_expression(a: &SubscriptionData, b: &SubscriptionData) -> bool {
    a.expression_type == b.expression_type && a.sub_string == b.sub_string
}

impl SubscriptionLedger {
    /// Note a heartbeat: the channel's own subscriptions. Returns the topics whose *group* subscription
    /// the heartbeat replaced with a different expression, comparing the group's table before and after.
    pub fn on_heartbeat(
        &mut self,
        group: &str,
        channel: NodeId,
        subscriptions: &[SubscriptionData],
        before: &BTreeMap<String, SubscriptionData>,
        after: &BTreeMap<String, SubscriptionData>,
    ) -> Vec<Replacement> {
        self.by_channel.retain(|(g, _, c), _| !(g == group && *c == channel));
        for sub in subscriptions {
            self.by_channel.insert((group.to_string(), sub.topic.clone(), channel), sub.clone());
        }
        after
            .iter()
            .filter_map(|(topic, now)| {
                let old = before.get(topic)?;
                (!same_expression(old, now)).then(|| Replacement {
                    topic: topic.clone(),
                    previous: old.sub_string.clone(),
                    current: now.sub_string.clone(),
                    expression_type: now.expression_type.clone(),
                })
            })
            .collect()
    }

    /// Forget a channel (closed or unregistered).
    pub fn forget_channel(&mut self, channel: NodeId) {
        self.by_channel.retain(|(_, _, c), _| *c != channel);
    }

    /// What `channel` itself subscribes for (group, topic), if it ever said.
    pub fn intended(&self, group: &str, topic: &str, channel: NodeId) -> Option<&SubscriptionData> {
        self.by_channel.get(&(group.to_string(), topic.to_string(), channel))
    }

    /// Channels of `group` whose own expression for `topic` differs from `applied`.
    pub fn dissenters(&self, group: &str, topic: &str, applied: &SubscriptionData) -> Vec<NodeId> {
        self.by_channel
            .iter()
            .filter(|((g, t, _), sub)| g == group && t == topic && !same_expression(sub, applied))
            .map(|((_, _, c), _)| *c)
            .collect()
    }
}

/// Whether a tag subscription accepts a ConsumeQueue tags code (SQL92 subscriptions are not judged by
/// tags codes: `None`).
pub fn tag_code_accepted(subscription: &SubscriptionData, tags_code: i64) -> Option<bool> {
    is_tag_type(&subscription.expression_type).then(|| subscription.matches_tags_code(Some(tags_code)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_heartbeat_with_another_expression_is_a_replacement_and_the_ledger_keeps_both_intents() {
        let mut ledger = SubscriptionLedger::default();
        let a = SubscriptionData::build("T", "TagA", 1);
        let b = SubscriptionData::build("T", "TagB", 2);
        let before: BTreeMap<String, SubscriptionData> = BTreeMap::new();
        let after_a: BTreeMap<String, SubscriptionData> = [("T".to_string(), a.clone())].into();
        assert!(ledger.on_heartbeat("G", NodeId(5), std::slice::from_ref(&a), &before, &after_a).is_empty());
        let after_b: BTreeMap<String, SubscriptionData> = [("T".to_string(), b.clone())].into();
        let replaced = ledger.on_heartbeat("G", NodeId(6), std::slice::from_ref(&b), &after_a, &after_b);
        assert_eq!(replaced.len(), 1);
        assert_eq!((replaced[0].previous.as_str(), replaced[0].current.as_str()), ("TagA", "TagB"));
        assert_eq!(ledger.intended("G", "T", NodeId(5)).unwrap().sub_string, "TagA");
        assert_eq!(ledger.dissenters("G", "T", &b), vec![NodeId(5)]);
        assert_eq!(tag_code_accepted(&b, i64::from(crate::java::string_hash_code("TagA"))), Some(false));
        assert_eq!(tag_code_accepted(&a, i64::from(crate::java::string_hash_code("TagA"))), Some(true));
        ledger.forget_channel(NodeId(5));
        assert!(ledger.intended("G", "T", NodeId(5)).is_none());
    }
}
