//! The broker's consumer-family request processors (4.9.8): `ClientManageProcessor` (HEART_BEAT with
//! consumers, UNREGISTER_CLIENT), `ConsumerManageProcessor` (GET_CONSUMER_LIST_BY_GROUP,
//! QUERY_CONSUMER_OFFSET, UPDATE_CONSUMER_OFFSET), the offset queries of `AdminBrokerProcessor`
//! (GET_MAX_OFFSET, GET_MIN_OFFSET, SEARCH_OFFSET_BY_TIMESTAMP, LOCK_BATCH_MQ, UNLOCK_BATCH_MQ), and the
//! dispatch of PULL_MESSAGE and CONSUMER_SEND_MSG_BACK to their own files.
//!
//! A consumer heartbeat creates the group's `%RETRY%` topic (`createTopicInSendMessageBackMethod`,
//! registered with the NameServers at once) and registers the channel; a change is announced with
//! NOTIFY_CONSUMER_IDS_CHANGED (`consumer_services.rs`).
//!
//! QUERY_CONSUMER_OFFSET for a group with no offset: if the queue's min offset is ≤ 0 and its message 0
//! is still "in memory" (4.9: within `accessMessageInMemoryMaxRatio` of RAM from the CommitLog's end),
//! the answer is 0, otherwise QUERY_NOT_FOUND. That is why a brand-new group with
//! CONSUME_FROM_LAST_OFFSET starts at 0 on a young topic.

use crate::broker::consumer_manager::Registration;
use crate::broker::consumer_send_msg_back::create_topic_in_send_message_back_method;
use crate::broker::controller::BrokerController;
use crate::broker::delay_level::retry_topic;
use crate::broker::store::offsets::QueueOffset;
use crate::protocol::consumer::{ConsumerHeartbeatData, ConsumerRequest, ConsumerResponseBody};
use crate::protocol::{Message, Request, Response, ResponseBody, ResponseCode};
use crate::route::perm;
use crate::sim::node::NodeId;
use crate::world::Ctx;

fn body(value: ConsumerResponseBody) -> Response {
    Response::success(ResponseBody::Consumer(Box::new(value)))
}

impl BrokerController {
    /// A consumer-family request arrived from `from`.
    pub(crate) fn process_consumer_request(
        &mut self,
        from: NodeId,
        opaque: Option<u32>,
        request: ConsumerRequest,
        ctx: &mut Ctx<'_>,
    ) {
        let response = match request {
            ConsumerRequest::PullMessage(header) => {
                self.on_pull_message(from, opaque, header, ctx);
                return;
            }
            ConsumerRequest::HeartBeat(heartbeat) => self.heart_beat(from, heartbeat, ctx),
            ConsumerRequest::UnregisterClient { client_id: _, producer_group, consumer_group } => {
                if let Some(group) = producer_group {
                    if let Some(clients) = self.producer_table.get_mut(&group) {
                        clients.retain(|_, channel| *channel != from);
                    }
                    self.producer_table.retain(|_, clients| !clients.is_empty());
                }
                if let Some(group) = consumer_group {
                    let auto_create = self.spec.config.auto_create_subscription_group;
                    let notify = self
                        .consumer_services
                        .subscription_group_manager
                        .find_subscription_group_config(&group, auto_create)
                        .is_none_or(|g| g.notify_consumer_ids_changed_enable);
                    let change = self.consumer_services.consumer_manager.unregister_consumer(&group, from, notify);
                    self.notify_consumer_ids_changed(change, ctx);
                }
                Response::success(ResponseBody::Empty)
            }
            ConsumerRequest::GetConsumerListByGroup { consumer_group } => {
                let ids = self
                    .consumer_services
                    .consumer_manager
                    .get_consumer_group_info(&consumer_group)
                    .map(|g| g.get_all_client_id())
                    .unwrap_or_default();
                if ids.is_empty() {
                    Response::error(ResponseCode::SYSTEM_ERROR, format!("no consumer for this group, {consumer_group}"))
                } else {
                    body(ConsumerResponseBody::ConsumerIdList(ids))
                }
            }
            ConsumerRequest::QueryConsumerOffset { consumer_group, topic, queue_id } => {
                let offset =
                    self.consumer_services.consumer_offset_manager.query_offset(&consumer_group, &topic, queue_id);
                if offset >= 0 {
                    body(ConsumerResponseBody::Offset(offset))
                } else {
                    let min_offset = self.store.get_min_offset_in_queue(&topic, queue_id).0;
                    let in_disk =
                        self.store.check_in_disk_by_consume_offset(ctx.disk(), &topic, queue_id, QueueOffset(0));
                    if min_offset <= 0 && !in_disk {
                        body(ConsumerResponseBody::Offset(0))
                    } else {
                        Response::error(
                            ResponseCode::QUERY_NOT_FOUND,
                            "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first",
                        )
                    }
                }
            }
            ConsumerRequest::UpdateConsumerOffset { consumer_group, topic, queue_id, commit_offset } => {
                self.commit_consumer_offset(&consumer_group, &topic, queue_id, commit_offset, ctx);
                Response::success(ResponseBody::Empty)
            }
            ConsumerRequest::GetMaxOffset { topic, queue_id } => {
                body(ConsumerResponseBody::Offset(self.store.get_max_offset_in_queue(&topic, queue_id).0))
            }
            ConsumerRequest::GetMinOffset { topic, queue_id } => {
                // `findConsumeQueue` creates an unknown queue, whose min offset is 0.
                body(ConsumerResponseBody::Offset(self.store.get_min_offset_in_queue(&topic, queue_id).0.max(0)))
            }
            ConsumerRequest::SearchOffsetByTimestamp { topic, queue_id, timestamp } => {
                let offset = self.store.get_offset_in_queue_by_time(ctx.disk(), &topic, queue_id, timestamp);
                body(ConsumerResponseBody::Offset(offset.0))
            }
            ConsumerRequest::LockBatchMq { consumer_group, client_id, mq_set } => {
                let now_ms = ctx.now().as_millis();
                let locked = self.consumer_services.rebalance_lock_manager.try_lock_batch(
                    &consumer_group,
                    &mq_set,
                    &client_id,
                    now_ms,
                );
                body(ConsumerResponseBody::LockOkMqSet(locked))
            }
            ConsumerRequest::UnlockBatchMq { consumer_group, client_id, mq_set } => {
                self.consumer_services.rebalance_lock_manager.unlock_batch(&consumer_group, &mq_set, &client_id);
                Response::success(ResponseBody::Empty)
            }
            ConsumerRequest::ConsumerSendMsgBack(header) => self.consumer_send_msg_back(header, ctx),
            other @ (ConsumerRequest::NotifyConsumerIdsChanged { .. }
            | ConsumerRequest::ResetConsumerClientOffset { .. }) => Request::Consumer(Box::new(other)).not_supported(),
        };
        if let Some(opaque) = opaque {
            ctx.send(from, Message::Response { opaque, response });
        }
    }

    /// `ClientManageProcessor.heartBeat`.
    fn heart_beat(&mut self, from: NodeId, heartbeat: ConsumerHeartbeatData, ctx: &mut Ctx<'_>) -> Response {
        let now_ms = ctx.now().as_millis();
        let auto_create = self.spec.config.auto_create_subscription_group;
        for data in &heartbeat.consumer_data_set {
            let group_config = self
                .consumer_services
                .subscription_group_manager
                .find_subscription_group_config(&data.group_name, auto_create);
            let mut notify = true;
            if let Some(group_config) = &group_config {
                notify = group_config.notify_consumer_ids_changed_enable;
                let (config, created) = create_topic_in_send_message_back_method(
                    &mut self.topic_config_manager,
                    &retry_topic(&data.group_name),
                    group_config.retry_queue_nums.max(0) as u32,
                    perm::READ | perm::WRITE,
                    0,
                    now_ms,
                );
                if created {
                    self.on_topic_created_for_consumers(&config, ctx);
                }
            }
            let before = self
                .consumer_services
                .consumer_manager
                .get_consumer_group_info(&data.group_name)
                .map(|g| g.subscription_table.clone())
                .unwrap_or_default();
            let change = self.consumer_services.consumer_manager.register_consumer(
                Registration {
                    group: &data.group_name,
                    channel: from,
                    client_id: &heartbeat.client_id,
                    consume_type: data.consume_type,
                    message_model: data.message_model,
                    consume_from_where: data.consume_from_where,
                    subscriptions: &data.subscription_data_set,
                    now_ms,
                },
                notify,
            );
            let (group, client_id) = (&data.group_name, &heartbeat.client_id);
            self.observe_subscription_changes(group, from, client_id, &data.subscription_data_set, &before, ctx);
            self.notify_consumer_ids_changed(change, ctx);
        }
        for producer in &heartbeat.producer_data_set {
            self.producer_table
                .entry(producer.group_name.clone())
                .or_default()
                .insert(heartbeat.client_id.clone(), from);
        }
        self.arm_housekeeping(ctx);
        Response::success(ResponseBody::Empty)
    }
}
