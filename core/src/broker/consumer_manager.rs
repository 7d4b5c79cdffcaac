//! `ConsumerManager` and `ConsumerGroupInfo` (4.9.8 `broker/client/`): which client channels belong to
//! which consumer group, and what each group subscribes.
//!
//! A consumer heartbeat registers its channel (`updateChannel`) and replaces the group's subscriptions
//! (`updateSubscription`: a topic is added, a newer `subVersion` replaces the old data without counting
//! as a change, a topic missing from the heartbeat is removed). A new channel or a changed topic set is a
//! CHANGE: the broker then sends NOTIFY_CONSUMER_IDS_CHANGED to every channel of the group (when both the
//! broker's `notifyConsumerIdsChangedEnable` and the group's are on). An UNREGISTER_CLIENT and a channel
//! close are CHANGEs too. The housekeeping scan (every 10 s) drops channels without a heartbeat for more
//! than 120 s; in 4.9.8 that scan closes the channel after removing it, so the close finds nothing to
//! remove and **no notification** goes out: the group learns it at its next periodic rebalance.
//!
//! Invariants: a group with no channel is removed; client ids are listed in channel (node id) order —
//! RocketMQ lists them in hash order, and every client sorts the list before allocating anyway.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::protocol::consumer::{ConsumeFromWhere, ConsumeType, MessageModel, SubscriptionData};
use crate::sim::node::NodeId;

/// `ConsumerManager.CHANNEL_EXPIRED_TIMEOUT`.
pub const CHANNEL_EXPIRED_TIMEOUT_MS: u64 = 120_000;

/// `ClientChannelInfo`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClientChannelInfo {
    pub channel: NodeId,
    pub client_id: String,
    /// Virtual ms of the last heartbeat.
    pub last_update_timestamp: u64,
}

/// `ConsumerGroupInfo`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsumerGroupInfo {
    pub group_name: String,
    pub consume_type: ConsumeType,
    pub message_model: MessageModel,
    pub consume_from_where: ConsumeFromWhere,
    pub channel_info_table: BTreeMap<NodeId, ClientChannelInfo>,
    pub subscription_table: BTreeMap<String, SubscriptionData>,
    pub last_update_timestamp: u64,
}

impl ConsumerGroupInfo {
    fn new(group: &str, consume_type: ConsumeType, model: MessageModel, from: ConsumeFromWhere) -> Self {
        ConsumerGroupInfo {
            group_name: group.to_string(),
            consume_type,
            message_model: model,
            consume_from_where: from,
            channel_info_table: BTreeMap::new(),
            subscription_table: BTreeMap::new(),
            last_update_timestamp: 0,
        }
    }

    /// `getAllClientId`.
    pub fn get_all_client_id(&self) -> Vec<String> {
        self.channel_info_table.values().map(|c| c.client_id.clone()).collect()
    }

    /// `getAllChannel`.
    pub fn get_all_channel(&self) -> Vec<NodeId> {
        self.channel_info_table.keys().copied().collect()
    }

    /// `updateChannel`: true when the channel is new.
    fn update_channel(&mut self, info: ClientChannelInfo, model: MessageModel, from: ConsumeFromWhere) -> bool {
        self.message_model = model;
        self.consume_from_where = from;
        let now = info.last_update_timestamp;
        let channel = info.channel;
        let updated = match self.channel_info_table.get_mut(&info.channel) {
            None => {
                self.channel_info_table.insert(info.channel, info);
                true
            }
            Some(old) => {
                if old.client_id != info.client_id {
                    // "[BUG] consumer channel exist in broker, but clientId not equal": the new one wins.
                    *old = info;
                }
                false
            }
        };
        if let Some(current) = self.channel_info_table.get_mut(&channel) {
            current.last_update_timestamp = now;
        }
        self.last_update_timestamp = now;
        updated
    }

    /// `updateSubscription`: true when a topic was added or removed.
    fn update_subscription(&mut self, sub_list: &[SubscriptionData], now: u64) -> bool {
        let mut updated = false;
        for sub in sub_list {
            match self.subscription_table.get(&sub.topic) {
                None => {
                    self.subscription_table.insert(sub.topic.clone(), sub.clone());
                    updated = true;
                }
                Some(old) if sub.sub_version > old.sub_version => {
                    self.subscription_table.insert(sub.topic.clone(), sub.clone());
                }
                Some(_) => {}
            }
        }
        let before = self.subscription_table.len();
        self.subscription_table.retain(|topic, _| sub_list.iter().any(|s| &s.topic == topic));
        updated |= self.subscription_table.len() != before;
        self.last_update_timestamp = now;
        updated
    }
}

/// Who must hear NOTIFY_CONSUMER_IDS_CHANGED for `group` after a CHANGE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerIdsChanged {
    pub group: String,
    pub channels: Vec<NodeId>,
}

/// `ConsumerManager`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsumerManager {
    pub consumer_table: BTreeMap<String, ConsumerGroupInfo>,
}

/// One consumer registration of a heartbeat.
#[derive(Clone, Debug)]
pub struct Registration<'a> {
    pub group: &'a str,
    pub channel: NodeId,
    pub client_id: &'a str,
    pub consume_type: ConsumeType,
    pub message_model: MessageModel,
    pub consume_from_where: ConsumeFromWhere,
    pub subscriptions: &'a [SubscriptionData],
    pub now_ms: u64,
}

impl ConsumerManager {
    pub fn get_consumer_group_info(&self, group: &str) -> Option<&ConsumerGroupInfo> {
        self.consumer_table.get(group)
    }

    pub fn find_subscription_data(&self, group: &str, topic: &str) -> Option<&SubscriptionData> {
        self.consumer_table.get(group)?.subscription_table.get(topic)
    }

    /// `registerConsumer`: returns the CHANGE to announce (if anything changed and notifying is on).
    pub fn register_consumer(&mut self, r: Registration<'_>, notify_enabled: bool) -> Option<ConsumerIdsChanged> {
        let info = self
            .consumer_table
            .entry(r.group.to_string())
            .or_insert_with(|| ConsumerGroupInfo::new(r.group, r.consume_type, r.message_model, r.consume_from_where));
        info.consume_type = r.consume_type;
        let channel = ClientChannelInfo {
            channel: r.channel,
            client_id: r.client_id.to_string(),
            last_update_timestamp: r.now_ms,
        };
        let r1 = info.update_channel(channel, r.message_model, r.consume_from_where);
        let r2 = info.update_subscription(r.subscriptions, r.now_ms);
        ((r1 || r2) && notify_enabled)
            .then(|| ConsumerIdsChanged { group: r.group.to_string(), channels: info.get_all_channel() })
    }

    /// `unregisterConsumer`.
    pub fn unregister_consumer(
        &mut self,
        group: &str,
        channel: NodeId,
        notify_enabled: bool,
    ) -> Option<ConsumerIdsChanged> {
        let info = self.consumer_table.get_mut(group)?;
        info.channel_info_table.remove(&channel);
        let channels = info.get_all_channel();
        if channels.is_empty() {
            self.consumer_table.remove(group);
        }
        notify_enabled.then(|| ConsumerIdsChanged { group: group.to_string(), channels })
    }

    /// `doChannelCloseEvent`: the channel leaves every group it was in; each such group has a CHANGE
    /// (announced whatever the group's setting, as 4.9.8 does).
    pub fn do_channel_close_event(&mut self, channel: NodeId) -> Vec<ConsumerIdsChanged> {
        let mut changes = Vec::new();
        for (group, info) in &mut self.consumer_table {
            if info.channel_info_table.remove(&channel).is_some() {
                changes.push(ConsumerIdsChanged { group: group.clone(), channels: info.get_all_channel() });
            }
        }
        self.consumer_table.retain(|_, info| !info.channel_info_table.is_empty());
        changes
    }

    /// `scanNotActiveChannel`: channels silent for more than 120 s are removed (and closed by the
    /// caller); returns them.
    pub fn scan_not_active_channel(&mut self, now_ms: u64) -> Vec<NodeId> {
        let mut expired = Vec::new();
        for info in self.consumer_table.values_mut() {
            info.channel_info_table.retain(|channel, c| {
                let alive = now_ms.saturating_sub(c.last_update_timestamp) <= CHANNEL_EXPIRED_TIMEOUT_MS;
                if !alive {
                    expired.push(*channel);
                }
                alive
            });
        }
        self.consumer_table.retain(|_, info| !info.channel_info_table.is_empty());
        expired.sort();
        expired.dedup();
        expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(topic: &str, version: i64) -> SubscriptionData {
        SubscriptionData::build(topic, "*", version)
    }

    fn register<'a>(
        manager: &mut ConsumerManager,
        channel: u16,
        id: &'a str,
        subs: &'a [SubscriptionData],
        now: u64,
    ) -> Option<ConsumerIdsChanged> {
        manager.register_consumer(
            Registration {
                group: "G",
                channel: NodeId(channel),
                client_id: id,
                consume_type: ConsumeType::ConsumePassively,
                message_model: MessageModel::Clustering,
                consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
                subscriptions: subs,
                now_ms: now,
            },
            true,
        )
    }

    #[test]
    fn a_new_channel_is_a_change_announced_to_every_member_and_a_repeat_heartbeat_is_not() {
        let mut manager = ConsumerManager::default();
        let subs = [sub("T", 1)];
        let first = register(&mut manager, 5, "c1", &subs, 0).unwrap();
        assert_eq!(first.channels, [NodeId(5)]);
        let second = register(&mut manager, 3, "c0", &subs, 10).unwrap();
        assert_eq!(second.channels, [NodeId(3), NodeId(5)]);
        assert_eq!(register(&mut manager, 3, "c0", &subs, 20), None);
        assert_eq!(manager.get_consumer_group_info("G").unwrap().get_all_client_id(), ["c0", "c1"]);
    }

    #[test]
    fn a_newer_sub_version_replaces_without_a_change_but_a_dropped_topic_is_a_change() {
        let mut manager = ConsumerManager::default();
        register(&mut manager, 1, "c", &[sub("T", 1), sub("U", 1)], 0);
        assert_eq!(register(&mut manager, 1, "c", &[sub("T", 2), sub("U", 1)], 1), None);
        assert_eq!(manager.find_subscription_data("G", "T").unwrap().sub_version, 2);
        assert!(register(&mut manager, 1, "c", &[sub("T", 2)], 2).is_some());
        assert!(manager.find_subscription_data("G", "U").is_none());
    }

    #[test]
    fn the_expiry_scan_removes_silent_channels_after_120_seconds_strictly() {
        let mut manager = ConsumerManager::default();
        register(&mut manager, 1, "a", &[sub("T", 1)], 0);
        register(&mut manager, 2, "b", &[sub("T", 1)], 50_000);
        assert!(manager.scan_not_active_channel(120_000).is_empty());
        assert_eq!(manager.scan_not_active_channel(120_001), [NodeId(1)]);
        assert_eq!(manager.get_consumer_group_info("G").unwrap().get_all_client_id(), ["b"]);
        assert_eq!(manager.scan_not_active_channel(170_001), [NodeId(2)]);
        assert!(manager.get_consumer_group_info("G").is_none());
    }

    #[test]
    fn a_closed_channel_leaves_its_group_and_the_rest_are_told() {
        let mut manager = ConsumerManager::default();
        register(&mut manager, 1, "a", &[sub("T", 1)], 0);
        register(&mut manager, 2, "b", &[sub("T", 1)], 0);
        let changes = manager.do_channel_close_event(NodeId(1));
        assert_eq!(changes, [ConsumerIdsChanged { group: "G".into(), channels: vec![NodeId(2)] }]);
        assert!(manager.do_channel_close_event(NodeId(7)).is_empty());
    }
}
