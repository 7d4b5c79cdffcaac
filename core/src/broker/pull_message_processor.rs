//! `PullMessageProcessor` (4.9.8): PULL_MESSAGE, from the request's checks to the store's answer.
//!
//! Checks, in RocketMQ's order: the broker readable (NO_PERMISSION), the subscription group (auto-created;
//! SUBSCRIPTION_GROUP_NOT_EXIST, consume disabled → NO_PERMISSION), the topic (TOPIC_NOT_EXIST, not readable
//! → NO_PERMISSION, queue id outside `[0, readQueueNums)` → SYSTEM_ERROR), the subscription: from the request
//! when it carries one (lite pull), else the group's as the heartbeats registered it
//! (SUBSCRIPTION_NOT_EXIST, a broadcast group refused when the group disallows it, SUBSCRIPTION_NOT_LATEST
//! when the broker's copy is older than the client's `subVersion`).
//!
//! Then `getMessage` with the tag filter, and the status → code table of spec §5.3: FOUND → SUCCESS;
//! NO_MATCHED_MESSAGE / MESSAGE_WAS_REMOVING → PULL_RETRY_IMMEDIATELY; OFFSET_OVERFLOW_ONE and
//! OFFSET_FOUND_NULL → PULL_NOT_FOUND; an empty queue → PULL_NOT_FOUND at offset 0, else PULL_OFFSET_MOVED;
//! OFFSET_TOO_SMALL / OFFSET_OVERFLOW_BADLY → PULL_OFFSET_MOVED (a slave answers like a master: its
//! PULL_RETRY_IMMEDIATELY for `slaveReadEnable = false` is overwritten by this table in 4.9.8).
//! PULL_NOT_FOUND with the suspend flag is held (`pull_request_hold_service.rs`) instead of answered — only on the first execution: a woken request is answered whatever it finds.
//! Finally, on the first execution only, a master commits the piggybacked consume offset.
//!
//! Not modelled: the OFFSET_MOVED_EVENT message a master writes on PULL_OFFSET_MOVED, pull thread pools
//! and their queues (a pull is processed when it arrives), `transferMsgByHeap` vs zero-copy.

use crate::broker::controller::BrokerController;
use crate::broker::pull_request_hold_service::HeldPullRequest;
use crate::broker::store::get_message::{GetMessageResult, GetMessageStatus, MessageFilter, SelectedMessage};
use crate::broker::store::message_store_config::BrokerRole;
use crate::broker::store::message_sys_flag::{clear_compressed_flag, COMPRESSED_FLAG};
use crate::broker::store::properties::MessageProperties;
use crate::producer::compression::zlib_decompress;
use crate::protocol::consumer::{
    pull_sys_flag, ConsumerResponseBody, MessageExt, MessageModel, PullMessageRequestHeader, PullMessageResponse,
    SubscriptionData,
};
use crate::protocol::{Message, Response, ResponseBody, ResponseCode};
use crate::route::perm;
use crate::sim::node::NodeId;
use crate::world::Ctx;

/// `ExpressionMessageFilter` for tag expressions.
pub struct ExpressionMessageFilter<'a> {
    pub subscription: &'a SubscriptionData,
}

impl MessageFilter for ExpressionMessageFilter<'_> {
    fn is_matched_by_consume_queue(&self, tags_code: Option<i64>) -> bool {
        self.subscription.matches_tags_code(tags_code)
    }

    fn is_matched_by_commit_log(&self, _properties: &MessageProperties) -> bool {
        true
    }

    fn filters_by_commit_log(&self) -> bool {
        false
    }
}

/// A selected record as a client decodes it (`MessageDecoder.decode`, body decompressed).
pub fn to_message_ext(selected: &SelectedMessage) -> Option<MessageExt> {
    // The decoded record is ours: its body and topic move into the message instead of being copied.
    let record = selected.decode()?;
    let offset_msg_id = crate::broker::store::message_id::create_message_id(&record.store_host, record.physical_offset);
    let (body, sys_flag) = if record.sys_flag & COMPRESSED_FLAG != 0 {
        (zlib_decompress(&record.body).unwrap_or(record.body), clear_compressed_flag(record.sys_flag))
    } else {
        (record.body, record.sys_flag)
    };
    Some(MessageExt {
        topic: record.topic,
        queue_id: record.queue_id,
        queue_offset: record.queue_offset.0,
        commit_log_offset: record.physical_offset.0,
        store_size: selected.size,
        body,
        flag: record.flag,
        sys_flag,
        born_timestamp: record.born_timestamp,
        born_host: record.born_host.to_string(),
        store_timestamp: record.store_timestamp,
        store_host: record.store_host.to_string(),
        reconsume_times: record.reconsume_times,
        properties: record.properties.to_properties_string(),
        offset_msg_id,
    })
}

/// The response code of a store status (the table of spec §5.3), before slave and hold handling.
pub fn response_code_of(status: GetMessageStatus, requested_offset: i64) -> ResponseCode {
    match status {
        GetMessageStatus::Found => ResponseCode::SUCCESS,
        GetMessageStatus::MessageWasRemoving | GetMessageStatus::NoMatchedMessage => {
            ResponseCode::PULL_RETRY_IMMEDIATELY
        }
        GetMessageStatus::NoMatchedLogicQueue | GetMessageStatus::NoMessageInQueue => {
            if requested_offset != 0 {
                ResponseCode::PULL_OFFSET_MOVED
            } else {
                ResponseCode::PULL_NOT_FOUND
            }
        }
        GetMessageStatus::OffsetFoundNull | GetMessageStatus::OffsetOverflowOne => ResponseCode::PULL_NOT_FOUND,
        GetMessageStatus::OffsetOverflowBadly | GetMessageStatus::OffsetTooSmall => ResponseCode::PULL_OFFSET_MOVED,
    }
}

fn status_name(status: GetMessageStatus) -> &'static str {
    match status {
        GetMessageStatus::Found => "FOUND",
        GetMessageStatus::NoMatchedMessage => "NO_MATCHED_MESSAGE",
        GetMessageStatus::MessageWasRemoving => "MESSAGE_WAS_REMOVING",
        GetMessageStatus::OffsetFoundNull => "OFFSET_FOUND_NULL",
        GetMessageStatus::OffsetOverflowBadly => "OFFSET_OVERFLOW_BADLY",
        GetMessageStatus::OffsetOverflowOne => "OFFSET_OVERFLOW_ONE",
        GetMessageStatus::OffsetTooSmall => "OFFSET_TOO_SMALL",
        GetMessageStatus::NoMatchedLogicQueue => "NO_MATCHED_LOGIC_QUEUE",
        GetMessageStatus::NoMessageInQueue => "NO_MESSAGE_IN_QUEUE",
    }
}

impl BrokerController {
    /// PULL_MESSAGE as it arrives.
    pub(crate) fn on_pull_message(
        &mut self,
        from: NodeId,
        opaque: Option<u32>,
        header: PullMessageRequestHeader,
        ctx: &mut Ctx<'_>,
    ) {
        self.consumer_services.stats.pulls_received += 1;
        if let Some(response) = self.process_pull_request(from, opaque, header, true, ctx) {
            if let Some(opaque) = opaque {
                ctx.send(from, Message::Response { opaque, response });
            }
        }
    }

    /// `executeRequestWhenWakeup`: a held pull runs again and is answered, whatever it finds.
    pub(crate) fn execute_request_when_wakeup(&mut self, request: HeldPullRequest, ctx: &mut Ctx<'_>) {
        let HeldPullRequest { channel, opaque, header, .. } = request;
        if let Some(response) = self.process_pull_request(channel, Some(opaque), header, false, ctx) {
            ctx.send(channel, Message::Response { opaque, response });
        }
    }

    /// `processRequest(channel, request, brokerAllowSuspend)`: the response, or None when held.
    fn process_pull_request(
        &mut self,
        from: NodeId,
        opaque: Option<u32>,
        header: PullMessageRequestHeader,
        broker_allow_suspend: bool,
        ctx: &mut Ctx<'_>,
    ) -> Option<Response> {
        let broker_ip = self.spec.broker_addr.split(':').next().unwrap_or_default().to_string();
        if !perm::is_readable(self.spec.config.broker_permission) {
            return Some(Response::error(
                ResponseCode::NO_PERMISSION,
                format!("the broker[{broker_ip}] pulling message is forbidden"),
            ));
        }
        let auto_create = self.spec.config.auto_create_subscription_group;
        let Some(group_config) = self
            .consumer_services
            .subscription_group_manager
            .find_subscription_group_config(&header.consumer_group, auto_create)
        else {
            return Some(Response::error(
                ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
                format!("subscription group [{}] does not exist", header.consumer_group),
            ));
        };
        if !group_config.consume_enable {
            return Some(Response::error(
                ResponseCode::NO_PERMISSION,
                format!("subscription group no permission, {}", header.consumer_group),
            ));
        }
        let has_suspend = pull_sys_flag::has_suspend(header.sys_flag);
        let has_commit_offset = pull_sys_flag::has_commit_offset(header.sys_flag);
        let has_subscription = pull_sys_flag::has_subscription(header.sys_flag);
        let suspend_timeout_millis = if has_suspend { header.suspend_timeout_millis.max(0) as u64 } else { 0 };
        let Some(topic_config) = self.topic_config_manager.select_topic_config(&header.topic).cloned() else {
            return Some(Response::error(
                ResponseCode::TOPIC_NOT_EXIST,
                format!("topic[{}] not exist, apply first please!", header.topic),
            ));
        };
        if !perm::is_readable(topic_config.perm) {
            return Some(Response::error(
                ResponseCode::NO_PERMISSION,
                format!("the topic[{}] pulling message is forbidden", header.topic),
            ));
        }
        if header.queue_id < 0 || header.queue_id >= topic_config.read_queue_nums as i32 {
            let consumer = self.spec.directory.entry(from).addr();
            return Some(Response::error(
                ResponseCode::SYSTEM_ERROR,
                format!(
                    "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] consumer:[/{consumer}]",
                    header.queue_id, header.topic, topic_config.read_queue_nums
                ),
            ));
        }
        let subscription = if has_subscription {
            // FilterAPI.build: a request-carried expression of an unknown type does not parse.
            let expression = header.subscription.as_deref().unwrap_or("*");
            match crate::filter::build_subscription_data(
                &header.topic,
                expression,
                &header.expression_type,
                header.sub_version,
            ) {
                Ok(subscription) => subscription,
                Err(_) => {
                    return Some(Response::error(
                        ResponseCode::SUBSCRIPTION_PARSE_FAILED,
                        "parse the consumer's subscription failed",
                    ))
                }
            }
        } else {
            let manager = &self.consumer_services.consumer_manager;
            let Some(group) = manager.get_consumer_group_info(&header.consumer_group) else {
                return Some(Response::error(
                    ResponseCode::SUBSCRIPTION_NOT_EXIST,
                    "the consumer's group info not exist",
                ));
            };
            if !group_config.consume_broadcast_enable && group.message_model == MessageModel::Broadcasting {
                return Some(Response::error(
                    ResponseCode::NO_PERMISSION,
                    format!("the consumer group[{}] can not consume by broadcast way", header.consumer_group),
                ));
            }
            let Some(subscription) = group.subscription_table.get(&header.topic) else {
                return Some(Response::error(
                    ResponseCode::SUBSCRIPTION_NOT_EXIST,
                    "the consumer's subscription not exist",
                ));
            };
            if subscription.sub_version < header.sub_version {
                return Some(Response::error(
                    ResponseCode::SUBSCRIPTION_NOT_LATEST,
                    "the consumer's subscription not latest",
                ));
            }
            subscription.clone()
        };
        // ExpressionMessageFilter (`filter/`): tag codes, or SQL92 on the properties when enablePropertyFilter.
        let filter = match crate::filter::ExpressionMessageFilter::for_pull(
            &subscription,
            has_subscription,
            self.spec.config.enable_property_filter,
        ) {
            Ok(filter) => filter,
            Err(response) => return Some(response),
        };
        let result = {
            self.store.get_message(
                ctx.disk(),
                &header.consumer_group,
                &header.topic,
                header.queue_id,
                crate::broker::store::offsets::QueueOffset(header.queue_offset),
                header.max_msg_nums,
                Some(&filter),
            )
        };
        if let Some(result) = &result {
            let (group, topic) = (&header.consumer_group, &header.topic);
            let offset = header.queue_offset;
            self.observe_filtered_against_intent(
                from,
                group,
                topic,
                header.queue_id,
                offset,
                &subscription,
                result,
                ctx,
            );
        }
        let response = match result {
            None => Response::error(ResponseCode::SYSTEM_ERROR, "store getMessage return null"),
            Some(result) => {
                // A slave without `slaveReadEnable` first sets PULL_RETRY_IMMEDIATELY and suggests the master,
                // but 4.9.8's status switch that follows overwrites the code: it serves the pull all the same,
                // only its suggestion (which we do not model: clients always ask for the master) differs.
                let code = response_code_of(result.status, header.queue_offset);
                if code == ResponseCode::PULL_NOT_FOUND && broker_allow_suspend && has_suspend {
                    let timeout_millis = if self.spec.config.long_polling_enable {
                        suspend_timeout_millis
                    } else {
                        self.spec.config.short_polling_time_mills
                    };
                    if let Some(opaque) = opaque {
                        self.consumer_services.stats.pulls_held += 1;
                        self.consumer_services.pull_request_hold_service.suspend_pull_request(HeldPullRequest {
                            channel: from,
                            opaque,
                            pull_from_this_offset: header.queue_offset,
                            header: header.clone(),
                            subscription,
                            suspend_timestamp: ctx.now().as_millis(),
                            timeout_millis,
                        });
                        self.arm_hold_check(ctx);
                    }
                    self.commit_piggybacked_offset(&header, broker_allow_suspend, has_commit_offset, ctx);
                    return None;
                }
                self.pull_response(code, result)
            }
        };
        self.commit_piggybacked_offset(&header, broker_allow_suspend, has_commit_offset, ctx);
        Some(response)
    }

    fn pull_response(&mut self, code: ResponseCode, result: GetMessageResult) -> Response {
        let messages: Vec<MessageExt> = if code == ResponseCode::SUCCESS {
            result.messages.iter().filter_map(to_message_ext).collect()
        } else {
            Vec::new()
        };
        self.consumer_services.stats.messages_pulled += messages.len() as u64;
        let body = PullMessageResponse {
            next_begin_offset: result.next_begin_offset.0,
            min_offset: result.min_offset.0,
            max_offset: result.max_offset.0,
            suggest_which_broker_id: 0,
            messages,
        };
        Response {
            code,
            remark: Some(status_name(result.status).to_string()),
            body: ResponseBody::Consumer(Box::new(ConsumerResponseBody::Pull(body))),
        }
    }

    /// `storeOffsetEnable`: first execution, commit flag, not a slave.
    fn commit_piggybacked_offset(
        &mut self,
        header: &PullMessageRequestHeader,
        broker_allow_suspend: bool,
        has_commit_offset: bool,
        ctx: &mut Ctx<'_>,
    ) {
        if broker_allow_suspend && has_commit_offset && self.store.config().broker_role != BrokerRole::Slave {
            self.commit_consumer_offset(
                &header.consumer_group,
                &header.topic,
                header.queue_id,
                header.commit_offset,
                ctx,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_statuses_map_to_the_pull_codes_of_the_spec_table() {
        // Spec §13 item 19.
        assert_eq!(response_code_of(GetMessageStatus::OffsetOverflowOne, 10), ResponseCode::PULL_NOT_FOUND);
        assert_eq!(response_code_of(GetMessageStatus::OffsetOverflowBadly, 12), ResponseCode::PULL_OFFSET_MOVED);
        assert_eq!(response_code_of(GetMessageStatus::Found, 3), ResponseCode::SUCCESS);
        assert_eq!(response_code_of(GetMessageStatus::NoMessageInQueue, 0), ResponseCode::PULL_NOT_FOUND);
        assert_eq!(response_code_of(GetMessageStatus::NoMessageInQueue, 5), ResponseCode::PULL_OFFSET_MOVED);
        assert_eq!(response_code_of(GetMessageStatus::OffsetTooSmall, 0), ResponseCode::PULL_OFFSET_MOVED);
        assert_eq!(response_code_of(GetMessageStatus::NoMatchedMessage, 0), ResponseCode::PULL_RETRY_IMMEDIATELY);
        assert_eq!(response_code_of(GetMessageStatus::MessageWasRemoving, 0), ResponseCode::PULL_RETRY_IMMEDIATELY);
    }
}
