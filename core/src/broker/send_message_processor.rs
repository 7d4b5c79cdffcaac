//! `SendMessageProcessor` (4.9.8): from a SEND_MESSAGE request to CommitLog records, and from the
//! store's answer to the response.
//!
//! `msgCheck`, in RocketMQ's order: a broker without write permission refuses order topics
//! (NO_PERMISSION); an invalid topic name → SYSTEM_ERROR ("The specified topic is blank." / "...contains
//! illegal characters..." / "...longer than topic max length."); a topic no client may send to →
//! NO_PERMISSION "Sending message to topic[X] is forbidden."; an unknown topic is created from the default
//! topic (`createTopicInSendMessageMethod`, or for `%RETRY%` topics `createTopicInSendMessageBackMethod` with
//! one queue) or refused with TOPIC_NOT_EXIST "topic[X] not exist, apply first please!"; a queue id
//! `>= max(read, write)` → SYSTEM_ERROR "request queueId[N] is illegal, ..." (4.9.8; 5.x answers
//! INVALID_PARAMETER). The broker does not check the topic's write permission: clients filter routes.
//!
//! The stored message: the request's body, flag, born timestamp, sys flag and properties, plus CLUSTER;
//! `WAIT=true` is dropped from the stored properties (9 bytes saved per message, as 4.9.8 does); the born host
//! is the producer's address, the store host the broker's. A batch (`SEND_BATCH_MESSAGE`) is decoded into its
//! members, stored one after the other in the same step (consecutive queue offsets, as RocketMQ's single
//! batched append), and answered with the comma-joined offset ids and the first queue offset.
//!
//! `handlePutMessageResult`: PUT_OK → SUCCESS; FLUSH_DISK_TIMEOUT, FLUSH_SLAVE_TIMEOUT, SLAVE_NOT_AVAILABLE →
//! those codes (stored); CREATE_MAPEDFILE_FAILED → SYSTEM_ERROR; MESSAGE_ILLEGAL / PROPERTIES_SIZE_EXCEEDED →
//! MESSAGE_ILLEGAL; SERVICE_NOT_AVAILABLE → SERVICE_NOT_AVAILABLE (slave, disk full, shut down); OS_PAGECACHE_BUSY →
//! SYSTEM_ERROR "[PC_SYNCHRONIZED]broker busy..." (4.9.8; 5.x says SYSTEM_BUSY); UNKNOWN_ERROR → SYSTEM_ERROR.
//!
//! Not modelled yet (later issues): transaction half messages (TRAN_MSG), the retry/DLQ rewrite of
//! `%RETRY%` sends from consumers, send hooks and statistics.

use crate::broker::store::message_record::MessageRecord;
use crate::broker::store::properties::{MessageProperties, PROPERTY_CLUSTER, PROPERTY_WAIT_STORE_MSG_OK};
use crate::broker::store::put_message_result::{PutMessageResult, PutMessageStatus};
use crate::broker::store::socket_address::SocketAddress;
use crate::broker::topic_config_manager::TopicConfigManager;
use crate::broker::topic_validator;
use crate::producer::message::RETRY_GROUP_TOPIC_PREFIX;
use crate::protocol::send::{decode_batch, SendMessageRequest, SendMessageResponseHeader};
use crate::protocol::{Response, ResponseBody, ResponseCode};
use crate::route::{perm, TopicConfig};

/// What the processor needs to know about its broker.
#[derive(Clone, Debug)]
pub struct ProcessorContext<'a> {
    pub broker_permission: u32,
    pub auto_create_topic_enable: bool,
    pub cluster_name: &'a str,
    pub broker_ip: &'a str,
    pub store_host: SocketAddress,
    /// The producer's address (the channel's remote address).
    pub born_host: SocketAddress,
    /// Virtual ms, for the topic table's data version.
    pub now_ms: u64,
}

/// A request that passed `msgCheck`: the records to store and where.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub records: Vec<MessageRecord>,
    pub queue_id: i32,
    pub topic: String,
}

/// What `prepare` decided: store these records, or answer at once. `created` is a topic made on the way.
#[derive(Clone, Debug)]
pub struct Preparation {
    pub outcome: Result<Prepared, Response>,
    pub created: Option<TopicConfig>,
}

/// `msgCheck` + building `MessageExtBrokerInner`(s). `random_queue` supplies `randomQueueId` for a
/// negative queue id.
pub fn prepare(
    request: &SendMessageRequest,
    topics: &mut TopicConfigManager,
    context: &ProcessorContext<'_>,
    random_queue: impl FnOnce(u32) -> i32,
) -> Preparation {
    let header = &request.header;
    let mut created = None;
    let outcome = (|| {
        if !perm::is_writeable(context.broker_permission)
            && topics.select_topic_config(&header.topic).is_some_and(|t| t.order)
        {
            return Err(Response::error(
                ResponseCode::NO_PERMISSION,
                format!("the broker[{}] sending message is forbidden", context.broker_ip),
            ));
        }
        topic_validator::validate_topic(&header.topic).map_err(|(code, remark)| Response::error(code, remark))?;
        if topic_validator::is_not_allowed_send_topic(&header.topic) {
            return Err(Response::error(
                ResponseCode::NO_PERMISSION,
                format!("Sending message to topic[{}] is forbidden.", header.topic),
            ));
        }
        let topic_config = match topics.select_topic_config(&header.topic) {
            Some(config) => config.clone(),
            None => {
                let made = topics.create_topic_in_send_message_method(
                    &header.topic,
                    &header.default_topic,
                    header.default_topic_queue_nums,
                    0,
                    context.auto_create_topic_enable,
                    context.now_ms,
                );
                let made = made.or_else(|| {
                    header.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX).then(|| {
                        let config = TopicConfig::with_queues(&header.topic, 1, perm::READ | perm::WRITE);
                        topics.topic_config_table.insert(header.topic.clone(), config.clone());
                        topics.next_version(context.now_ms);
                        (config, true)
                    })
                });
                match made {
                    Some((config, is_new)) => {
                        if is_new {
                            created = Some(config.clone());
                        }
                        config
                    }
                    None => {
                        return Err(Response::error(
                            ResponseCode::TOPIC_NOT_EXIST,
                            format!("topic[{}] not exist, apply first please!", header.topic),
                        ))
                    }
                }
            }
        };
        let id_valid = topic_config.write_queue_nums.max(topic_config.read_queue_nums) as i32;
        if header.queue_id >= id_valid {
            return Err(Response::error(
                ResponseCode::SYSTEM_ERROR,
                format!(
                    "request queueId[{}] is illegal, TopicConfig [topicName={}, readQueueNums={}, writeQueueNums={}, perm={}] Producer: {}",
                    header.queue_id,
                    topic_config.topic_name,
                    topic_config.read_queue_nums,
                    topic_config.write_queue_nums,
                    perm::to_display(topic_config.perm),
                    context.born_host
                ),
            ));
        }
        let queue_id = if header.queue_id < 0 { random_queue(topic_config.write_queue_nums) } else { header.queue_id };
        let records = build_records(request, queue_id, context)?;
        Ok(Prepared { records, queue_id, topic: header.topic.clone() })
    })();
    Preparation { outcome, created }
}

/// The stored properties: the request's, CLUSTER added, WAIT=true dropped.
fn stored_properties(properties: &str, cluster_name: &str) -> MessageProperties {
    let mut stored = MessageProperties::from_properties_string(properties);
    stored.put(PROPERTY_CLUSTER, cluster_name);
    if stored.get(PROPERTY_WAIT_STORE_MSG_OK).is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        stored.remove(PROPERTY_WAIT_STORE_MSG_OK);
    }
    stored
}

fn build_records(
    request: &SendMessageRequest,
    queue_id: i32,
    context: &ProcessorContext<'_>,
) -> Result<Vec<MessageRecord>, Response> {
    let header = &request.header;
    let record = |body: Vec<u8>, flag: i32, properties: &str| {
        let mut record = MessageRecord::new(&header.topic, body);
        record.queue_id = queue_id;
        record.flag = flag;
        record.sys_flag = header.sys_flag;
        record.born_timestamp = header.born_timestamp;
        record.born_host = context.born_host;
        record.store_host = context.store_host;
        record.reconsume_times = header.reconsume_times;
        record.properties = stored_properties(properties, context.cluster_name);
        record
    };
    if !header.batch {
        return Ok(vec![record(request.body.clone(), header.flag, &header.properties)]);
    }
    let members = decode_batch(&request.body).filter(|m| !m.is_empty()).ok_or_else(|| {
        Response::error(
            ResponseCode::MESSAGE_ILLEGAL,
            "the message is illegal, maybe msg body or properties length not matched.",
        )
    })?;
    Ok(members.into_iter().map(|m| record(m.body, m.flag, &m.properties)).collect())
}

/// `handlePutMessageResult` for the puts of one request (one, or a batch's members in order).
pub fn response_for_puts(results: &[PutMessageResult], queue_id: i32, max_message_size: u32) -> Response {
    let first_failure = results.iter().map(|r| r.status).find(|s| !s.is_stored());
    let status = first_failure
        .or_else(|| results.iter().map(|r| r.status).find(|s| *s != PutMessageStatus::PutOk))
        .unwrap_or(PutMessageStatus::PutOk);
    let code = match status {
        PutMessageStatus::PutOk => ResponseCode::SUCCESS,
        PutMessageStatus::FlushDiskTimeout => ResponseCode::FLUSH_DISK_TIMEOUT,
        PutMessageStatus::FlushSlaveTimeout => ResponseCode::FLUSH_SLAVE_TIMEOUT,
        PutMessageStatus::SlaveNotAvailable => ResponseCode::SLAVE_NOT_AVAILABLE,
        PutMessageStatus::CreateMappedFileFailed => {
            return Response::error(ResponseCode::SYSTEM_ERROR, "create mapped file failed, server is busy or broken.")
        }
        PutMessageStatus::MessageIllegal | PutMessageStatus::PropertiesSizeExceeded => {
            return Response::error(
                ResponseCode::MESSAGE_ILLEGAL,
                format!(
                    "the message is illegal, maybe msg body or properties length not matched. msg body length limit {max_message_size}B, msg properties length limit 32KB."
                ),
            )
        }
        PutMessageStatus::ServiceNotAvailable => {
            return Response::error(
                ResponseCode::SERVICE_NOT_AVAILABLE,
                "service not available now. It may be caused by one of the following reasons: the broker's disk is full, messages are put to the slave, message store has been shut down, etc.",
            )
        }
        PutMessageStatus::OsPageCacheBusy => {
            return Response::error(ResponseCode::SYSTEM_ERROR, "[PC_SYNCHRONIZED]broker busy, start flow control for a while")
        }
        PutMessageStatus::UnknownError => return Response::error(ResponseCode::SYSTEM_ERROR, "UNKNOWN_ERROR"),
        PutMessageStatus::InSyncReplicasNotEnough => {
            return Response::error(ResponseCode::SYSTEM_ERROR, "in-sync replicas not enough")
        }
    };
    let appended: Vec<_> = results.iter().filter_map(|r| r.append.as_ref()).collect();
    let Some(first) = appended.first() else {
        return Response::error(ResponseCode::SYSTEM_ERROR, "store putMessage return null");
    };
    let msg_id = appended.iter().map(|a| a.msg_id()).collect::<Vec<_>>().join(",");
    Response {
        code,
        remark: None,
        body: ResponseBody::SendMessage(SendMessageResponseHeader {
            msg_id,
            queue_id,
            queue_offset: first.logics_offset.0,
            transaction_id: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::topic_config_manager::TopicTableSettings;
    use crate::protocol::send::{encode_batch_member, SendMessageRequestHeader, SendRequestCode};

    fn manager() -> TopicConfigManager {
        let mut m = TopicConfigManager::new(&TopicTableSettings {
            cluster_name: "DefaultCluster".into(),
            broker_name: "broker-a".into(),
            auto_create_topic_enable: true,
            default_topic_queue_nums: 8,
            cluster_topic_enable: true,
            broker_topic_enable: true,
        });
        m.topic_config_table.insert("TopicTest".into(), TopicConfig::with_queues("TopicTest", 4, 6));
        m
    }

    fn context() -> ProcessorContext<'static> {
        ProcessorContext {
            broker_permission: 6,
            auto_create_topic_enable: true,
            cluster_name: "DefaultCluster",
            broker_ip: "10.0.0.3",
            store_host: SocketAddress::v4(10, 0, 0, 3, 10911),
            born_host: SocketAddress::v4(10, 0, 0, 9, 40009),
            now_ms: 7,
        }
    }

    fn request(topic: &str, queue_id: i32) -> SendMessageRequest {
        SendMessageRequest {
            code: SendRequestCode::SendMessageV2,
            header: SendMessageRequestHeader {
                producer_group: "G".into(),
                topic: topic.into(),
                default_topic: "TBW102".into(),
                default_topic_queue_nums: 4,
                queue_id,
                sys_flag: 0,
                born_timestamp: 1,
                flag: 0,
                properties: "KEYS\u{1}k\u{2}WAIT\u{1}true\u{2}UNIQ_KEY\u{1}ABC".into(),
                reconsume_times: 0,
                unit_mode: false,
                batch: false,
                max_reconsume_times: None,
            },
            body: b"hello".to_vec(),
        }
    }

    fn rejected(p: Preparation) -> Response {
        p.outcome.expect_err("refused")
    }

    #[test]
    fn a_valid_send_becomes_one_record_with_cluster_and_without_wait() {
        let p = prepare(&request("TopicTest", 2), &mut manager(), &context(), |_| 0);
        let prepared = p.outcome.unwrap();
        let record = &prepared.records[0];
        assert_eq!(record.queue_id, 2);
        assert_eq!(record.properties.get("CLUSTER"), Some("DefaultCluster"));
        assert_eq!(record.properties.get("WAIT"), None);
        assert_eq!(record.properties.get("UNIQ_KEY"), Some("ABC"));
        assert!(p.created.is_none());
    }

    #[test]
    fn checks_answer_with_rocketmqs_codes() {
        let r = rejected(prepare(&request("bad topic", 0), &mut manager(), &context(), |_| 0));
        assert_eq!(r.code, ResponseCode::SYSTEM_ERROR);
        let r = rejected(prepare(&request("SCHEDULE_TOPIC_XXXX", 0), &mut manager(), &context(), |_| 0));
        assert_eq!(
            (r.code, r.remark.as_deref()),
            (ResponseCode::NO_PERMISSION, Some("Sending message to topic[SCHEDULE_TOPIC_XXXX] is forbidden."))
        );
        let r = rejected(prepare(&request("TopicTest", 4), &mut manager(), &context(), |_| 0));
        assert_eq!(r.code, ResponseCode::SYSTEM_ERROR);
        assert!(r.remark.unwrap().starts_with("request queueId[4] is illegal"));
        let mut no_default = manager();
        no_default.topic_config_table.remove("TBW102");
        let r = rejected(prepare(&request("Unknown", 0), &mut no_default, &context(), |_| 0));
        assert_eq!(
            (r.code, r.remark.as_deref()),
            (ResponseCode::TOPIC_NOT_EXIST, Some("topic[Unknown] not exist, apply first please!"))
        );
    }

    #[test]
    fn an_unknown_topic_is_created_from_tbw102() {
        let mut topics = manager();
        let p = prepare(&request("NewTopic", 3), &mut topics, &context(), |_| 0);
        let created = p.created.clone().unwrap();
        assert_eq!((created.read_queue_nums, created.write_queue_nums, created.perm), (4, 4, 6));
        assert!(p.outcome.is_ok());
        let p = prepare(&request("NewTopic", 1), &mut topics, &context(), |_| 0);
        assert!(p.created.is_none());
    }

    #[test]
    fn a_batch_becomes_its_members() {
        let mut req = request("TopicTest", 0);
        req.header.batch = true;
        let mut body = Vec::new();
        encode_batch_member(&mut body, 0, b"one", "UNIQ_KEY\u{1}A\u{2}WAIT\u{1}true");
        encode_batch_member(&mut body, 0, b"two", "UNIQ_KEY\u{1}B\u{2}WAIT\u{1}true");
        req.body = body;
        let prepared = prepare(&req, &mut manager(), &context(), |_| 0).outcome.unwrap();
        assert_eq!(prepared.records.len(), 2);
        assert_eq!(prepared.records[1].body, b"two");
        assert_eq!(prepared.records[1].properties.get("UNIQ_KEY"), Some("B"));
    }

    #[test]
    fn store_statuses_map_to_response_codes() {
        let refused = |s| response_for_puts(&[PutMessageResult::rejected(s)], 0, 4_194_304).code;
        assert_eq!(refused(PutMessageStatus::ServiceNotAvailable), ResponseCode::SERVICE_NOT_AVAILABLE);
        assert_eq!(refused(PutMessageStatus::MessageIllegal), ResponseCode::MESSAGE_ILLEGAL);
        assert_eq!(refused(PutMessageStatus::OsPageCacheBusy), ResponseCode::SYSTEM_ERROR);
        assert_eq!(refused(PutMessageStatus::CreateMappedFileFailed), ResponseCode::SYSTEM_ERROR);
    }
}
