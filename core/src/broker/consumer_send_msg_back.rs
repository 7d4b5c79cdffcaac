//! CONSUMER_SEND_MSG_BACK (4.9.8 `SendMessageProcessor.asyncConsumerSendMsgBack`): a clustering consumer
//! hands back a message it failed to consume; the broker stores a copy for a later retry or the DLQ.
//!
//! 1. Unknown group → SUBSCRIPTION_GROUP_NOT_EXIST; broker not writable → NO_PERMISSION; the group's
//!    `retryQueueNums <= 0` → SUCCESS and the message is dropped.
//! 2. `%RETRY%<group>` is created if missing (`createTopicInSendMessageBackMethod`: `retryQueueNums`
//!    queues, perm RW; persisted and registered at once); the queue is `random % retryQueueNums`.
//! 3. The original is read back by its CommitLog offset (SYSTEM_ERROR "look message by offset failed, N"
//!    if it is gone); RETRY_TOPIC is set to its topic if absent; WAIT=false.
//! 4. max = the client's `maxReconsumeTimes` if given, else the group's `retryMaxTimes` (16). If the
//!    original's `reconsumeTimes >= max` or the client asked for a negative level: `%DLQ%<group>`, 1 queue,
//!    perm RW (6) — 4.9.0/4.9.1 created it write-only (2); 4.9.2 made it RW (commit 0a16ff6a5f) — and
//!    DELAY 0. Otherwise DELAY = the client's level, or `3 + reconsumeTimes` when it sent 0.
//! 5. The copy: same body, flag, properties (+ ORIGIN_MESSAGE_ID: the offset message id of the first
//!    stored copy, kept by later retries), sys flag, born time and
//!    host, store host; `reconsumeTimes + 1`. The store rewrites a delayed copy into
//!    `SCHEDULE_TOPIC_XXXX` (`schedule_message_service.rs` brings it back). PUT_OK → SUCCESS, else
//!    SYSTEM_ERROR with the put status.

use crate::broker::broker_store_io::BrokerStoreIo;
use crate::broker::controller::BrokerController;
use crate::broker::delay_level::{dlq_topic, retry_topic, SendBackDestination, DLQ_NUMS_PER_GROUP};
use crate::broker::store::message_record::MessageRecord;
use crate::broker::store::offsets::CommitLogOffset;
use crate::broker::store::properties::{
    PROPERTY_DELAY_TIME_LEVEL, PROPERTY_ORIGIN_MESSAGE_ID, PROPERTY_RETRY_TOPIC, PROPERTY_WAIT_STORE_MSG_OK,
};
use crate::broker::store::put_message_result::{PutMessageStatus, PutOutcome};
use crate::broker::topic_config_manager::TopicConfigManager;
use crate::observation::Observation;
use crate::protocol::consumer::ConsumerSendMsgBackRequestHeader;
use crate::protocol::{Response, ResponseBody, ResponseCode};
use crate::route::{perm, TopicConfig};
use crate::world::Ctx;

/// `TopicConfigManager.createTopicInSendMessageBackMethod`: the topic, and whether it was just created
/// (the caller then persists and registers).
pub fn create_topic_in_send_message_back_method(
    topics: &mut TopicConfigManager,
    topic: &str,
    queue_nums: u32,
    perm: u32,
    topic_sys_flag: u32,
    now_ms: u64,
) -> (TopicConfig, bool) {
    if let Some(existing) = topics.select_topic_config(topic) {
        return (existing.clone(), false);
    }
    let mut config = TopicConfig::with_queues(topic, queue_nums, perm);
    config.topic_sys_flag = topic_sys_flag;
    topics.topic_config_table.insert(topic.to_string(), config.clone());
    topics.next_version(now_ms);
    (config, true)
}

/// The record a send-back stores, and where it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendBackCopy {
    pub record: MessageRecord,
    pub destination: SendBackDestination,
}

/// Steps 3–5: the copy of `original` for `header`, given the effective max and the chosen queue.
pub fn build_send_back_copy(
    original: &MessageRecord,
    header: &ConsumerSendMsgBackRequestHeader,
    group_retry_max_times: i32,
    retry_queue_id: i32,
) -> SendBackCopy {
    let mut properties = original.properties.clone();
    if properties.get(PROPERTY_RETRY_TOPIC).is_none() {
        properties.put(PROPERTY_RETRY_TOPIC, &original.topic);
    }
    properties.put(PROPERTY_WAIT_STORE_MSG_OK, "false");
    let max = header.max_reconsume_times.unwrap_or(group_retry_max_times);
    let (topic, queue_id, destination) = if original.reconsume_times >= max || header.delay_level < 0 {
        properties.put(PROPERTY_DELAY_TIME_LEVEL, "0");
        (dlq_topic(&header.group), 0, SendBackDestination::DeadLetterQueue)
    } else {
        let level = if header.delay_level == 0 { 3 + original.reconsume_times } else { header.delay_level };
        properties.put(PROPERTY_DELAY_TIME_LEVEL, &level.to_string());
        (retry_topic(&header.group), retry_queue_id, SendBackDestination::Retry { delay_level: level })
    };
    if properties.get(PROPERTY_ORIGIN_MESSAGE_ID).is_none_or(str::is_empty) {
        // `msgExt.getMsgId()` of a record the broker decoded is its offset message id.
        let origin =
            crate::broker::store::message_id::create_message_id(&original.store_host, original.physical_offset);
        properties.put(PROPERTY_ORIGIN_MESSAGE_ID, &origin);
    }
    let mut record = MessageRecord::new(topic, original.body.clone());
    record.queue_id = queue_id;
    record.flag = original.flag;
    record.sys_flag = original.sys_flag;
    record.born_timestamp = original.born_timestamp;
    record.born_host = original.born_host;
    record.store_host = original.store_host;
    record.reconsume_times = original.reconsume_times + 1;
    record.properties = properties;
    SendBackCopy { record, destination }
}

impl BrokerController {
    /// CONSUMER_SEND_MSG_BACK.
    pub(crate) fn consumer_send_msg_back(
        &mut self,
        header: ConsumerSendMsgBackRequestHeader,
        ctx: &mut Ctx<'_>,
    ) -> Response {
        let auto_create = self.spec.config.auto_create_subscription_group;
        let Some(group) = self
            .consumer_services
            .subscription_group_manager
            .find_subscription_group_config(&header.group, auto_create)
        else {
            return Response::error(
                ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
                format!("subscription group not exist, {}", header.group),
            );
        };
        if !perm::is_writeable(self.spec.config.broker_permission) {
            let ip = self.spec.broker_addr.split(':').next().unwrap_or_default().to_string();
            return Response::error(
                ResponseCode::NO_PERMISSION,
                format!("the broker[{ip}] sending message is forbidden"),
            );
        }
        if group.retry_queue_nums <= 0 {
            return Response::success(ResponseBody::Empty);
        }
        let now_ms = ctx.now().as_millis();
        let retry_queue_id = (ctx.rng().below(99_999_999) as i32) % group.retry_queue_nums;
        let new_topic = retry_topic(&header.group);
        let (retry_config, created) = create_topic_in_send_message_back_method(
            &mut self.topic_config_manager,
            &new_topic,
            group.retry_queue_nums as u32,
            perm::READ | perm::WRITE,
            0,
            now_ms,
        );
        if created {
            self.on_topic_created_for_consumers(&retry_config, ctx);
        }
        if !perm::is_writeable(retry_config.perm) {
            return Response::error(
                ResponseCode::NO_PERMISSION,
                format!("the topic[{new_topic}] sending message is forbidden"),
            );
        }
        let Some(original) = self.store.look_message_by_offset(ctx.disk(), CommitLogOffset(header.offset)) else {
            return Response::error(
                ResponseCode::SYSTEM_ERROR,
                format!("look message by offset failed, {}", header.offset),
            );
        };
        let copy = build_send_back_copy(&original, &header, group.retry_max_times, retry_queue_id);
        if copy.destination == SendBackDestination::DeadLetterQueue {
            // The DLQ queue is `random % DLQ_NUMS_PER_GROUP`, always 0; the draw is made as RocketMQ makes it.
            ctx.rng().below(99_999_999);
            let (dlq_config, created) = create_topic_in_send_message_back_method(
                &mut self.topic_config_manager,
                &dlq_topic(&header.group),
                DLQ_NUMS_PER_GROUP as u32,
                perm::READ | perm::WRITE,
                0,
                now_ms,
            );
            if created {
                self.on_topic_created_for_consumers(&dlq_config, ctx);
            }
        }
        let outcome = {
            let mut io = BrokerStoreIo { ctx };
            self.store.put_message(&mut io, &copy.record)
        };
        let result = match outcome {
            PutOutcome::Done(result) | PutOutcome::Pending { result, .. } => result,
        };
        let deferred = self.store.take_deferred_events();
        self.on_store_events(deferred, ctx);
        if result.status != PutMessageStatus::PutOk {
            return Response::error(ResponseCode::SYSTEM_ERROR, format!("{:?}", result.status));
        }
        match copy.destination {
            SendBackDestination::Retry { .. } => self.consumer_services.stats.sent_back_to_retry += 1,
            SendBackDestination::DeadLetterQueue => self.consumer_services.stats.sent_to_dlq += 1,
        }
        self.stats.messages_stored += 1;
        let msg_id = copy.record.properties.unique_key().unwrap_or_default().to_string();
        ctx.observe(Observation::MessageSentBack {
            group: header.group.clone(),
            origin_topic: header.origin_topic.clone(),
            msg_id: msg_id.clone(),
            reconsume_times: copy.record.reconsume_times,
            destination: copy.destination.into(),
        });
        if let Some(append) = &result.append {
            let stored_topic = if copy.destination == SendBackDestination::DeadLetterQueue {
                copy.record.topic.clone()
            } else {
                crate::broker::delay_level::SCHEDULE_TOPIC.to_string()
            };
            ctx.observe(Observation::MessageStored {
                topic: stored_topic,
                queue_id: copy.record.queue_id,
                queue_offset: append.logics_offset.0,
                commit_log_offset: append.wrote_offset.0,
                offset_msg_id: append.msg_id(),
                msg_id,
                store_timestamp: append.store_timestamp,
                wrote_bytes: append.wrote_bytes,
            });
        }
        Response::success(ResponseBody::Empty)
    }

    /// A topic made for consumers (`%RETRY%`, `%DLQ%`): persist the table and register at once.
    pub(crate) fn on_topic_created_for_consumers(&mut self, created: &TopicConfig, ctx: &mut Ctx<'_>) {
        self.stats.topics_auto_created += 1;
        ctx.observe(Observation::TopicAutoCreated {
            topic: created.topic_name.clone(),
            read_queue_nums: created.read_queue_nums,
            write_queue_nums: created.write_queue_nums,
            perm: created.perm,
        });
        self.persist_topics(ctx);
        self.register_broker_all(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::store::properties::PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX;

    fn header(delay_level: i32, max: Option<i32>) -> ConsumerSendMsgBackRequestHeader {
        ConsumerSendMsgBackRequestHeader {
            offset: 0,
            group: "G".into(),
            delay_level,
            origin_msg_id: "ID".into(),
            origin_topic: "T".into(),
            unit_mode: false,
            max_reconsume_times: max,
        }
    }

    fn original(reconsume_times: i32) -> MessageRecord {
        let mut record = MessageRecord::new("T", b"body".to_vec());
        record.reconsume_times = reconsume_times;
        record.properties.put(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, "ID");
        record.properties.put("TAGS", "TagA");
        record
    }

    #[test]
    fn a_first_failure_goes_to_the_retry_topic_at_level_three() {
        let copy = build_send_back_copy(&original(0), &header(0, Some(16)), 16, 0);
        assert_eq!(copy.destination, SendBackDestination::Retry { delay_level: 3 });
        assert_eq!(copy.record.topic, "%RETRY%G");
        assert_eq!(copy.record.reconsume_times, 1);
        assert_eq!(copy.record.properties.get(PROPERTY_RETRY_TOPIC), Some("T"));
        assert_eq!(copy.record.properties.get(PROPERTY_DELAY_TIME_LEVEL), Some("3"));
        assert_eq!(copy.record.properties.get(PROPERTY_WAIT_STORE_MSG_OK), Some("false"));
        let offset_id =
            crate::broker::store::message_id::create_message_id(&original(0).store_host, original(0).physical_offset);
        assert_eq!(copy.record.properties.get(PROPERTY_ORIGIN_MESSAGE_ID), Some(offset_id.as_str()));
        assert_eq!(copy.record.properties.get("TAGS"), Some("TagA"));
    }

    #[test]
    fn the_seventeenth_failure_goes_to_the_dlq_and_a_negative_level_goes_at_once() {
        let copy = build_send_back_copy(&original(16), &header(0, Some(16)), 16, 0);
        assert_eq!(copy.destination, SendBackDestination::DeadLetterQueue);
        assert_eq!(copy.record.topic, "%DLQ%G");
        assert_eq!(copy.record.properties.get(PROPERTY_DELAY_TIME_LEVEL), Some("0"));
        assert_eq!(copy.record.reconsume_times, 17);
        let at_once = build_send_back_copy(&original(0), &header(-1, None), 16, 0);
        assert_eq!(at_once.destination, SendBackDestination::DeadLetterQueue);
        let fifteenth = build_send_back_copy(&original(15), &header(0, None), 16, 0);
        assert_eq!(fifteenth.destination, SendBackDestination::Retry { delay_level: 18 });
    }

    #[test]
    fn the_dlq_topic_is_created_read_write_as_in_4_9_2_and_later() {
        let mut topics = TopicConfigManager::new(&crate::broker::topic_config_manager::TopicTableSettings {
            cluster_name: "DefaultCluster".into(),
            broker_name: "broker-a".into(),
            auto_create_topic_enable: true,
            default_topic_queue_nums: 8,
            cluster_topic_enable: true,
            broker_topic_enable: true,
        });
        let (config, created) =
            create_topic_in_send_message_back_method(&mut topics, "%DLQ%G", 1, perm::READ | perm::WRITE, 0, 5);
        assert!(created);
        assert_eq!((config.read_queue_nums, config.write_queue_nums, config.perm), (1, 1, 6));
        let (_, again) = create_topic_in_send_message_back_method(&mut topics, "%DLQ%G", 1, 6, 0, 6);
        assert!(!again);
    }
}
