//! What the inspector calls the fields of a node's view when it shows them as a tree (`JsonDetail`).
//!
//! A field that is a RocketMQ config key or API name keeps that name in both languages (students meet
//! `pullBatchSize` in the client API and the Dashboard, never a translation of it); a counter gets a
//! label in the UI's language. The table's order is the display order, so identity comes first, then
//! what the node did, then its settings; fields the table does not know follow, alphabetically,
//! under their own name.

use std::borrow::Cow;

use crate::i18n::Lang;

/// (view field, English label, Chinese label), in display order.
const LABELS: &[(&str, &str, &str)] = &[
    // Identity.
    ("client_id", "clientId", "clientId"),
    ("producer_group", "producerGroup", "producerGroup"),
    ("group", "consumerGroup", "consumerGroup"),
    ("kind", "kind", "类型"),
    ("message_model", "messageModel", "messageModel"),
    ("orderly", "orderly (MessageListenerOrderly)", "顺序消费（MessageListenerOrderly）"),
    ("subscriptions", "subscriptions", "订阅"),
    ("dependency_down", "business dependency down", "业务依赖故障中"),
    // A producer's sends.
    ("messages_generated", "messages generated", "已生成的消息"),
    ("sends_started", "sends started", "发起的发送"),
    ("attempts", "attempts", "发送尝试"),
    ("send_ok", "SEND_OK", "SEND_OK"),
    ("send_not_ok", "stored, not SEND_OK", "已存储但非 SEND_OK"),
    ("send_failed", "sends failed", "发送失败"),
    ("in_flight", "in flight", "在途请求"),
    ("resends", "resends", "重发"),
    ("kept_for_resend", "kept for resend", "留待重发"),
    ("messages_abandoned", "messages abandoned", "放弃的消息"),
    ("backlog", "waiting to be sent", "等待发送"),
    // A consumer's pulls and consumption.
    ("pulls_sent", "pulls sent", "发出的拉取"),
    ("messages_pulled", "messages pulled", "拉到的消息"),
    ("messages_polled", "messages polled", "poll 到的消息"),
    ("threads", "consume threads", "消费线程"),
    ("busy_threads", "busy consume threads", "忙碌的消费线程"),
    ("queued_requests", "queued consume requests", "排队的消费请求"),
    ("consumed_ok", "CONSUME_SUCCESS", "CONSUME_SUCCESS"),
    ("consumed_failed", "RECONSUME_LATER", "RECONSUME_LATER"),
    ("sent_back", "sent back for retry", "发回重试"),
    ("send_back_failed", "send back failed", "发回失败"),
    ("results_discarded", "results discarded (queue dropped)", "丢弃的结果（队列已移除）"),
    ("rebalances", "rebalances", "重平衡次数"),
    ("duplicates_skipped", "duplicates skipped", "跳过的重复消息"),
    ("dedup_table_size", "dedup table size", "去重表大小"),
    ("forward_to", "forwards to topic", "转发到主题"),
    ("forwarded", "forwarded", "已转发"),
    ("forward_failed", "forwards failed", "转发失败"),
    ("trace_sent", "trace messages sent", "已发送的轨迹消息"),
    ("trace_retried", "trace messages resent", "重发的轨迹消息"),
    ("trace_dropped", "trace messages dropped", "丢弃的轨迹消息"),
    // A consumer's live settings.
    ("pull_batch_size", "pullBatchSize", "pullBatchSize"),
    ("pull_interval_ms", "pullInterval (ms)", "pullInterval（毫秒）"),
    ("consume_message_batch_max_size", "consumeMessageBatchMaxSize", "consumeMessageBatchMaxSize"),
    ("pull_threshold_for_queue", "pullThresholdForQueue", "pullThresholdForQueue"),
    (
        "await_termination_millis_when_shutdown",
        "awaitTerminationMillisWhenShutdown",
        "awaitTerminationMillisWhenShutdown",
    ),
    // A broker's tables.
    ("topics", "topics", "主题"),
    ("producer_groups", "producer groups", "生产者组"),
    ("consumer_groups", "consumer groups (client ids)", "消费者组（客户端 ID）"),
    ("consumer_offsets", "consumer offsets (group, topic, queue, offset)", "消费位点（组、主题、队列、位点）"),
    ("held_pulls", "pulls held (long polling)", "挂起的拉取（长轮询）"),
    ("delayed_waiting", "delayed messages waiting (level, count)", "等待中的延迟消息（级别、条数）"),
    ("queue_locks", "queue locks (group, queue, client)", "队列锁（组、队列、客户端）"),
];

/// The label of a view field in `lang`; an unknown field is shown under its own name.
pub fn label(lang: Lang, key: &str) -> Cow<'static, str> {
    match LABELS.iter().find(|(k, _, _)| *k == key) {
        Some((_, en, zh)) => Cow::Borrowed(if lang == Lang::Zh { zh } else { en }),
        None => Cow::Owned(key.replace('_', " ")),
    }
}

/// Where a field goes in the display: its place in the table, unknown fields after every known one.
pub fn rank(key: &str) -> usize {
    LABELS.iter().position(|(k, _, _)| *k == key).unwrap_or(LABELS.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rocketmq_config_key_keeps_its_own_name_in_chinese() {
        assert_eq!(label(Lang::Zh, "pull_batch_size"), "pullBatchSize");
        assert_eq!(label(Lang::En, "pull_batch_size"), "pullBatchSize");
    }

    #[test]
    fn a_counter_is_labelled_in_the_uis_language() {
        assert_eq!(label(Lang::En, "busy_threads"), "busy consume threads");
        assert_eq!(label(Lang::Zh, "busy_threads"), "忙碌的消费线程");
    }

    #[test]
    fn a_field_the_table_does_not_know_shows_under_its_own_name_after_the_known_ones() {
        assert_eq!(label(Lang::Zh, "new_counter"), "new counter");
        assert!(rank("new_counter") > rank("await_termination_millis_when_shutdown"));
        assert!(rank("client_id") < rank("pulls_sent"));
    }

    /// Every field a producer, consumer or broker view carries has a label (walked on runs with an
    /// orderly, a broadcasting, a lite-pull, a forwarding and a transactional client), so a field added
    /// to a view cannot show up untranslated.
    #[test]
    fn every_field_the_inspector_shows_as_a_tree_has_a_label() {
        use crate::components::broker_detail::BROKER_FACTS;
        use crate::components::inspector::{CONSUMER_PANELS, PRODUCER_PANELS};
        use rmqsim_core::scenario::{library, Scenario};
        use rmqsim_core::time::{Duration, Time};
        use rmqsim_core::view::NodeDetail;
        use rmqsim_core::Simulation;

        let mut unknown = std::collections::BTreeSet::new();
        for id in [
            "consumer-rebalance-join",
            "consumer-orderly-lock",
            "consumer-broadcasting",
            "consumer-lite-pull",
            "consumer-backlog-forward-new-topic",
            "transaction-payment-check",
        ] {
            let scenario = Scenario::parse(id, library::find(id).unwrap()).unwrap();
            let mut simulation = Simulation::new(&scenario, scenario.seed).unwrap();
            simulation.run_until(Time::ZERO + Duration::from_secs(30));
            for node in simulation.view().nodes {
                let (value, shown_elsewhere) = match &node.detail {
                    NodeDetail::Producer(p) => (serde_json::to_value(p).unwrap(), PRODUCER_PANELS),
                    NodeDetail::Consumer(c) => (serde_json::to_value(c).unwrap(), CONSUMER_PANELS),
                    NodeDetail::Broker(b) => (serde_json::to_value(b).unwrap(), BROKER_FACTS),
                    _ => continue,
                };
                let keys = value.as_object().unwrap().keys();
                unknown.extend(
                    keys.filter(|k| rank(k) == LABELS.len() && !shown_elsewhere.contains(&k.as_str())).cloned(),
                );
            }
        }
        assert!(unknown.is_empty(), "view fields without a label: {unknown:?}");
    }

    #[test]
    fn every_field_has_one_label() {
        for (i, (key, _, _)) in LABELS.iter().enumerate() {
            assert_eq!(rank(key), i, "{key} is in the table twice");
        }
    }
}
