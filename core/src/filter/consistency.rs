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
//!   rejected it while some member's own expression accepts it (whoever pulled the queue);
//! * `MessagesFilteredByClient` (from the consumer) for messages the broker passed and the pulling member's
//!   tag re-check dropped.
//!
//! Those two are what a checker needs to say "inconsistent subscriptions within group G lost these
//! messages" and point at the cause.

use std::collections::BTreeMap;

use crate::broker::controller::BrokerController;
use crate::broker::store::get_message::GetMessageResult;
use crate::observation::Observation;
use crate::protocol::consumer::{MessageExt, SubscriptionData};
use crate::sim::node::NodeId;
use crate::world::Ctx;

use super::is_tag_type;

/// What each consumer channel last subscribed, per group and topic (from its own heartbeats).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubscriptionLedger {
    /// group → topic → channel. Nested rather than keyed by a (group, topic, channel) tuple so that every
    /// pull looks its group and topic up by `&str`, without building owned keys.
    by_channel: BTreeMap<String, BTreeMap<String, BTreeMap<NodeId, SubscriptionData>>>,
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
        let topics = self.by_channel.entry(group.to_string()).or_default();
        topics.retain(|_, channels| {
            channels.remove(&channel);
            !channels.is_empty()
        });
        for sub in subscriptions {
            topics.entry(sub.topic.clone()).or_default().insert(channel, sub.clone());
        }
        if topics.is_empty() {
            self.by_channel.remove(group);
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
        self.by_channel.retain(|_, topics| {
            topics.retain(|_, channels| {
                channels.remove(&channel);
                !channels.is_empty()
            });
            !topics.is_empty()
        });
    }

    /// What `channel` itself subscribes for (group, topic), if it ever said.
    pub fn intended(&self, group: &str, topic: &str, channel: NodeId) -> Option<&SubscriptionData> {
        self.by_channel.get(group)?.get(topic)?.get(&channel)
    }

    /// Every channel of `group` that said what it subscribes for `topic`.
    pub fn intents(&self, group: &str, topic: &str) -> Vec<(NodeId, &SubscriptionData)> {
        self.of(group, topic).collect()
    }

    /// Channels of `group` whose own expression for `topic` differs from `applied`.
    pub fn dissenters(&self, group: &str, topic: &str, applied: &SubscriptionData) -> Vec<NodeId> {
        self.of(group, topic).filter(|(_, sub)| !same_expression(sub, applied)).map(|(c, _)| c).collect()
    }

    /// Whether any channel of `group` has its own expression for `topic` other than `applied` (every pull
    /// asks; most get no).
    pub fn has_dissenter(&self, group: &str, topic: &str, applied: &SubscriptionData) -> bool {
        self.of(group, topic).any(|(_, sub)| !same_expression(sub, applied))
    }

    /// The channels' subscriptions for (group, topic), by channel.
    fn of<'a>(&'a self, group: &str, topic: &str) -> impl Iterator<Item = (NodeId, &'a SubscriptionData)> + 'a {
        let channels = self.by_channel.get(group).and_then(|topics| topics.get(topic));
        channels.into_iter().flat_map(|channels| channels.iter().map(|(c, s)| (*c, s)))
    }
}

/// Whether a tag subscription accepts a ConsumeQueue tags code (SQL92 subscriptions are not judged by
/// tags codes: `None`).
pub fn tag_code_accepted(subscription: &SubscriptionData, tags_code: i64) -> Option<bool> {
    is_tag_type(&subscription.expression_type).then(|| subscription.matches_tags_code(Some(tags_code)))
}

impl BrokerController {
    /// Around `ConsumerManager.registerConsumer` for one consumer group of a heartbeat: note what the channel
    /// subscribes and observe the group subscriptions its heartbeat replaced. `before` is the group's table
    /// before the registration.
    pub(crate) fn observe_subscription_changes(
        &mut self,
        group: &str,
        channel: NodeId,
        client_id: &str,
        subscriptions: &[SubscriptionData],
        before: &BTreeMap<String, SubscriptionData>,
        ctx: &mut Ctx<'_>,
    ) {
        let after = self
            .consumer_services
            .consumer_manager
            .get_consumer_group_info(group)
            .map(|g| g.subscription_table.clone())
            .unwrap_or_default();
        for replaced in self.subscription_ledger.on_heartbeat(group, channel, subscriptions, before, &after) {
            ctx.observe(Observation::SubscriptionReplaced {
                group: group.to_string(),
                topic: replaced.topic,
                client_id: client_id.to_string(),
                previous: replaced.previous,
                current: replaced.current,
                expression_type: replaced.expression_type,
            });
        }
    }

    /// After a pull filtered with the group's `applied` subscription: every unit skipped because that
    /// subscription rejected its tags code while some member of the group subscribes to it (the message is
    /// gone for that member: whoever pulls the queue, nobody who wants it will see it).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn observe_filtered_against_intent(
        &self,
        channel: NodeId,
        group: &str,
        topic: &str,
        queue_id: i32,
        from_offset: i64,
        applied: &SubscriptionData,
        result: &GetMessageResult,
        ctx: &mut Ctx<'_>,
    ) {
        if !is_tag_type(&applied.expression_type) || !self.subscription_ledger.has_dissenter(group, topic, applied) {
            return;
        }
        let Some(info) = self.consumer_services.consumer_manager.get_consumer_group_info(group) else { return };
        let client_of = |c: NodeId| info.channel_info_table.get(&c).map(|i| i.client_id.clone());
        let intents: Vec<(String, &SubscriptionData)> = self
            .subscription_ledger
            .intents(group, topic)
            .into_iter()
            .filter_map(|(c, sub)| client_of(c).map(|id| (id, sub)))
            .collect();
        let Some(queue) = self.store.consume_queue(topic, queue_id) else { return };
        let returned: Vec<i64> = result.messages.iter().map(|m| m.queue_offset.0).collect();
        let puller = client_of(channel).unwrap_or_default();
        for offset in from_offset..result.next_begin_offset.0 {
            if returned.contains(&offset) {
                continue;
            }
            let Some(entry) = queue.entry_at(ctx.disk(), offset) else { continue };
            if tag_code_accepted(applied, entry.tags_code) != Some(false) {
                continue;
            }
            let wanted_by: Vec<(String, String)> = intents
                .iter()
                .filter(|(_, sub)| tag_code_accepted(sub, entry.tags_code) == Some(true))
                .map(|(id, sub)| (id.clone(), sub.sub_string.clone()))
                .collect();
            if !wanted_by.is_empty() {
                ctx.observe(Observation::MessageFilteredAgainstIntent {
                    group: group.to_string(),
                    client_id: puller.clone(),
                    topic: topic.to_string(),
                    queue_id,
                    queue_offset: offset,
                    applied: applied.sub_string.clone(),
                    wanted_by,
                });
            }
        }
    }
}

/// The client's re-check (`PullAPIWrapper.processPullResult`): the found messages it will drop, as
/// (queue offset, msgId, TAGS).
pub fn dropped_by_client(messages: &[MessageExt], tags_set: &[String]) -> Vec<(i64, String, Option<String>)> {
    if tags_set.is_empty() {
        return Vec::new();
    }
    messages
        .iter()
        .filter_map(|m| {
            let properties = crate::broker::store::properties::MessageProperties::from_properties_string(&m.properties);
            let tags = properties.tags().map(str::to_string);
            let kept = tags.as_deref().is_some_and(|t| tags_set.iter().any(|s| s == t));
            (!kept).then(|| (m.queue_offset, properties.unique_key().unwrap_or_default().to_string(), tags))
        })
        .collect()
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

    #[test]
    fn intents_and_dissenters_are_those_of_the_group_and_topic_asked_only() {
        let mut ledger = SubscriptionLedger::default();
        let none = BTreeMap::new();
        for (group, topic, channel) in [("G", "T", 3), ("G", "T2", 4), ("G2", "T", 5), ("F", "T", 6), ("G", "T", 1)] {
            let sub = SubscriptionData::build(topic, "TagB", 1);
            ledger.on_heartbeat(group, NodeId(channel), std::slice::from_ref(&sub), &none, &none);
        }
        let channels: Vec<NodeId> = ledger.intents("G", "T").into_iter().map(|(c, _)| c).collect();
        assert_eq!(channels, [NodeId(1), NodeId(3)]);
        let applied = SubscriptionData::build("T", "TagA", 2);
        assert_eq!(ledger.dissenters("G", "T", &applied), [NodeId(1), NodeId(3)]);
        assert!(ledger.intents("G", "T3").is_empty());
    }
}
