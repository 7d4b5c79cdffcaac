//! Message queries and consumer progress, as an operator runs them against a simulated cluster
//! (`mqadmin queryMsgById / queryMsgByKey / queryMsgByUniqueKey / printMsg`, RocketMQ Dashboard's message
//! and consumer pages), with 4.9.8's semantics and limits.
//!
//! The admin client (`MQAdminImpl`) is modelled as pure functions over a snapshot of the run: it reads a
//! live NameServer's route and asks the brokers through their request processors (`QueryMessageProcessor`)
//! without spending virtual time. A broker that is down answers nothing ("connect to <addr> failed"),
//! exactly what an operator would see.
//! * **By message id** (`viewMessage(topic, msgId)`): a 32-hex id is first read as an *offset* msgId (store
//!   host + CommitLog offset) and sent as VIEW_MESSAGE_BY_ID to that address; if that fails and a topic is
//!   given, the id is taken as a UNIQ_KEY (what `SendResult.msgId` shows) and looked up with a unique-key
//!   query: every broker of the topic's route (the master, else a slave), the index window from the id's
//!   own timestamp − 1 s to forever, at most `defaultQueryMaxNum` (32) per broker; the earliest stored copy
//!   wins (a duplicate has the same UNIQ_KEY).
//! * **By key** (`queryMessage(topic, key, maxNum, begin, end)`): QUERY_MESSAGE to every broker of the route;
//!   each broker reads its IndexFiles for `topic#key` within [begin, end], at most
//!   min(maxNum, `maxMsgsNumBatch` 64); the client keeps the messages whose KEYS (space separated) contain
//!   exactly the key and whose topic is the topic (the index hashes collide). `mqadmin queryMsgByKey` asks
//!   64 over all time. No match: "query message by key finished, but no message."
//! * **By topic and time** (`printMsg` / the Dashboard's topic query): per queue, the offsets of `begin` and
//!   `end` (`getOffsetInQueueByTime`), then the messages between them whose store time is in range, at most
//!   2 000 (the Dashboard's cap).
//! * **Message trace** ([`message_trace`], the Dashboard's trace page): a key query on the trace topic by the
//!   msgId, the trace messages' records decoded.
//! * **Consumer progress** (`consumerProgress` / Dashboard): per queue of each topic the group has offsets
//!   for, the broker offset (max offset), the consumer offset, their difference and the client that owns the
//!   queue now.

use serde::Serialize;

use crate::broker::broker_store_io::wall_clock_ms;
use crate::broker::controller::BrokerController;
use crate::broker::pull_message_processor::to_message_ext;
use crate::broker::store::get_message::SelectedMessage;
use crate::broker::store::message_id::{decode_message_id, nearly_time_from_unique_id};
use crate::broker::store::offsets::{CommitLogOffset, QueueOffset};
use crate::broker::store::properties::MessageProperties;
use crate::protocol::consumer::MessageExt;
use crate::protocol::query::{QueryMessageRequestHeader, QueryMessageResponseHeader};
use crate::protocol::ResponseCode;
use crate::route::TopicRouteData;
use crate::sim::disk::NodeDisk;
use crate::sim::node::NodeId;
use crate::trace::encoding::{decode, TraceContext};
use crate::world::{AnyNode, NodeKind};
use crate::Simulation;

/// `mqadmin queryMsgByKey`'s maxNum.
pub const QUERY_BY_KEY_MAX_NUM: i32 = 64;
/// `MQAdminImpl.queryMessageByUniqKey`'s maxNum.
pub const UNIQUE_KEY_MAX_NUM: i32 = 32;
/// The Dashboard's cap on a topic + time query.
pub const TOPIC_TIME_QUERY_MAX: usize = 2_000;

/// What to look for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageQuery {
    /// An offset msgId, or (with a topic) a UNIQ_KEY.
    ById { msg_id: String, topic: Option<String> },
    /// Messages of `topic` whose KEYS contain `key`, stored in [begin_ms, end_ms] (wall ms).
    ByKey { topic: String, key: String, max_num: i32, begin_ms: i64, end_ms: i64 },
    /// Messages of `topic` stored in [begin_ms, end_ms] (wall ms).
    ByTime { topic: String, begin_ms: i64, end_ms: i64 },
}

/// One message as a query shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessageView {
    pub broker_name: String,
    pub topic: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub commit_log_offset: i64,
    /// UNIQ_KEY (what `SendResult.msgId` shows).
    pub msg_id: Option<String>,
    pub offset_msg_id: String,
    pub tags: Option<String>,
    pub keys: Option<String>,
    pub born_timestamp: i64,
    pub store_timestamp: i64,
    pub born_host: String,
    pub store_host: String,
    pub reconsume_times: i32,
    pub body_bytes: u32,
    /// The transaction bits of the sys flag (NOT / PREPARED / COMMIT / ROLLBACK).
    pub transaction: String,
    pub properties: Vec<(String, String)>,
}

/// A query's answer: the messages, how it was answered, or the error an operator would see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QueryOutcome {
    pub messages: Vec<MessageView>,
    /// The steps taken (which request to which broker, fallbacks, caps), for teaching.
    pub notes: Vec<String>,
    pub error: Option<String>,
}

impl QueryOutcome {
    fn fail(notes: Vec<String>, error: impl Into<String>) -> Self {
        QueryOutcome { messages: Vec::new(), notes, error: Some(error.into()) }
    }
}

fn view_of(broker_name: &str, msg: &MessageExt) -> MessageView {
    let properties = MessageProperties::from_properties_string(&msg.properties);
    MessageView {
        broker_name: broker_name.to_string(),
        topic: msg.topic.clone(),
        queue_id: msg.queue_id,
        queue_offset: msg.queue_offset,
        commit_log_offset: msg.commit_log_offset,
        msg_id: properties.unique_key().map(str::to_string),
        offset_msg_id: msg.offset_msg_id.clone(),
        tags: properties.tags().map(str::to_string),
        keys: properties.get(crate::broker::store::properties::PROPERTY_KEYS).map(str::to_string),
        born_timestamp: msg.born_timestamp,
        store_timestamp: msg.store_timestamp,
        born_host: msg.born_host.clone(),
        store_host: msg.store_host.clone(),
        reconsume_times: msg.reconsume_times,
        body_bytes: msg.body.len() as u32,
        transaction: crate::broker::store::message_sys_flag::transaction_type_name(msg.sys_flag).to_string(),
        properties: properties.iter_java_order().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    }
}

/// A broker node that is up, by address.
fn broker_at<'a>(sim: &'a Simulation, addr: &str) -> Result<(NodeId, &'a BrokerController), String> {
    let id = sim.directory().node_of_addr(addr).ok_or_else(|| format!("connect to {addr} failed"))?;
    match sim.kernel().node(id) {
        Some(AnyNode::Broker(broker)) => Ok((id, broker)),
        _ => Err(format!("connect to {addr} failed")),
    }
}

/// `QueryMessageProcessor.queryMessage`: the broker's answer to QUERY_MESSAGE.
pub fn process_query_message(
    broker: &BrokerController,
    disk: &NodeDisk,
    header: &QueryMessageRequestHeader,
) -> Result<(QueryMessageResponseHeader, Vec<MessageExt>), (ResponseCode, String)> {
    let max_num = if header.unique_key_query {
        broker.store.config().default_query_max_num
    } else {
        u32::try_from(header.max_num).unwrap_or(0)
    };
    let result = broker.store.query_message(
        disk,
        &header.topic,
        &header.key,
        max_num,
        header.begin_timestamp,
        header.end_timestamp,
    );
    let response_header = QueryMessageResponseHeader {
        index_last_update_timestamp: result.index_last_update_timestamp,
        index_last_update_phyoffset: result.index_last_update_phyoffset,
    };
    if result.messages.is_empty() {
        return Err((ResponseCode::QUERY_NOT_FOUND, "can not find message, maybe time range not correct".into()));
    }
    Ok((response_header, result.messages.iter().filter_map(to_message_ext).collect()))
}

/// `QueryMessageProcessor.viewMessageById`: the record at a CommitLog offset.
pub fn process_view_message_by_id(
    broker: &BrokerController,
    disk: &NodeDisk,
    offset: i64,
) -> Result<MessageExt, (ResponseCode, String)> {
    let not_found = || (ResponseCode::SYSTEM_ERROR, format!("can not find message by the offset, {offset}"));
    let bytes = broker.store.select_one_message_by_offset(disk, CommitLogOffset(offset)).ok_or_else(not_found)?;
    let selected = SelectedMessage {
        commit_log_offset: CommitLogOffset(offset),
        queue_offset: QueueOffset(0),
        size: bytes.len() as i32,
        bytes,
    };
    to_message_ext(&selected).ok_or_else(not_found)
}

/// The topic's route as a running NameServer serves it.
fn route_of(sim: &Simulation, topic: &str) -> Option<TopicRouteData> {
    sim.directory().entries.iter().filter(|e| e.kind == NodeKind::NameServer).find_map(|e| {
        match sim.kernel().node(e.id) {
            Some(AnyNode::NameServer(ns)) => ns.route_info.pickup_topic_route_data(topic),
            _ => None,
        }
    })
}

/// `BrokerData.selectBrokerAddr`: the master, else a slave (RocketMQ picks one at random; the lowest id here).
fn select_broker_addrs(route: &TopicRouteData) -> Vec<(String, String)> {
    route
        .broker_datas
        .iter()
        .filter_map(|b| {
            b.broker_addrs.values().next().map(|a| (b.broker_name.clone(), b.master_addr().unwrap_or(a).to_string()))
        })
        .collect()
}

/// Run a query against the cluster as it is now.
pub fn query(sim: &Simulation, query: &MessageQuery) -> QueryOutcome {
    match query {
        MessageQuery::ById { msg_id, topic } => by_id(sim, msg_id, topic.as_deref()),
        MessageQuery::ByKey { topic, key, max_num, begin_ms, end_ms } => {
            by_key(sim, topic, key, *max_num, *begin_ms, *end_ms, false)
        }
        MessageQuery::ByTime { topic, begin_ms, end_ms } => by_time(sim, topic, *begin_ms, *end_ms),
    }
}

fn by_id(sim: &Simulation, msg_id: &str, topic: Option<&str>) -> QueryOutcome {
    let mut notes = Vec::new();
    match decode_message_id(msg_id) {
        Ok(id) => {
            let addr = id.address.to_string();
            notes.push(format!("read as an offset msgId: VIEW_MESSAGE_BY_ID offset {} to {addr}", id.offset.0));
            match broker_at(sim, &addr) {
                Ok((node, broker)) => match process_view_message_by_id(broker, sim.kernel().disk(node), id.offset.0) {
                    Ok(msg) => {
                        return QueryOutcome {
                            messages: vec![view_of(&broker.spec.broker_name, &msg)],
                            notes,
                            error: None,
                        }
                    }
                    Err((code, remark)) => notes.push(format!("{addr} answered {code}: {remark}")),
                },
                Err(error) => notes.push(error),
            }
        }
        Err(e) => notes.push(format!("not an offset msgId ({e:?})")),
    }
    let Some(topic) = topic else {
        return QueryOutcome::fail(notes, "query message by id finished, but no message.");
    };
    notes.push(format!("read as a UNIQ_KEY: queryMessageByUniqKey({topic}, {msg_id})"));
    let now_ms = wall_clock_ms(sim.now());
    let begin = match nearly_time_from_unique_id(msg_id, now_ms) {
        Ok(time) => time - 1_000,
        Err(_) => return QueryOutcome::fail(notes, format!("`{msg_id}` is not a UNIQ_KEY either")),
    };
    let mut outcome = by_key(sim, topic, msg_id, UNIQUE_KEY_MAX_NUM, begin, i64::MAX, true);
    notes.append(&mut outcome.notes);
    outcome.notes = notes;
    outcome
}

fn by_key(
    sim: &Simulation,
    topic: &str,
    key: &str,
    max_num: i32,
    begin: i64,
    end: i64,
    unique_key: bool,
) -> QueryOutcome {
    let mut notes = Vec::new();
    let Some(route) = route_of(sim, topic) else {
        return QueryOutcome::fail(notes, format!("The topic[{topic}] not matched route info"));
    };
    let header = QueryMessageRequestHeader {
        topic: topic.to_string(),
        key: key.to_string(),
        max_num,
        begin_timestamp: begin,
        end_timestamp: end,
        unique_key_query: unique_key,
    };
    let mut found: Vec<(String, MessageExt)> = Vec::new();
    for (broker_name, addr) in select_broker_addrs(&route) {
        match broker_at(sim, &addr) {
            Ok((node, broker)) => match process_query_message(broker, sim.kernel().disk(node), &header) {
                Ok((_, messages)) => {
                    notes.push(format!(
                        "QUERY_MESSAGE {topic}#{key} to {broker_name} ({addr}): {} candidates",
                        messages.len()
                    ));
                    found.extend(messages.into_iter().map(|m| (broker_name.clone(), m)));
                }
                Err((code, remark)) => notes.push(format!("QUERY_MESSAGE to {broker_name} ({addr}): {code} {remark}")),
            },
            Err(error) => notes.push(error),
        }
    }
    let mut messages: Vec<MessageView> = Vec::new();
    for (broker_name, msg) in found {
        let view = view_of(&broker_name, &msg);
        if unique_key {
            if view.msg_id.as_deref() == Some(key) {
                // Keep the earliest stored copy.
                if messages.first().is_none_or(|first| first.store_timestamp > view.store_timestamp) {
                    messages = vec![view];
                }
            }
        } else {
            let matched = view.topic == topic
                && view
                    .keys
                    .as_deref()
                    .is_some_and(|keys| keys.split(crate::broker::store::properties::KEY_SEPARATOR).any(|k| k == key));
            if matched {
                messages.push(view);
            }
        }
    }
    if messages.is_empty() {
        let what = if unique_key { "id" } else { "key" };
        return QueryOutcome::fail(notes, format!("query message by {what} finished, but no message."));
    }
    QueryOutcome { messages, notes, error: None }
}

fn by_time(sim: &Simulation, topic: &str, begin: i64, end: i64) -> QueryOutcome {
    let mut notes = Vec::new();
    let Some(route) = route_of(sim, topic) else {
        return QueryOutcome::fail(notes, format!("The topic[{topic}] not matched route info"));
    };
    let mut messages = Vec::new();
    for queue_data in &route.queue_datas {
        let Some(broker_data) = route.broker_datas.iter().find(|b| b.broker_name == queue_data.broker_name) else {
            continue;
        };
        let Some(addr) =
            broker_data.master_addr().or_else(|| broker_data.broker_addrs.values().next().map(String::as_str))
        else {
            continue;
        };
        let (node, broker) = match broker_at(sim, addr) {
            Ok(found) => found,
            Err(error) => {
                notes.push(error);
                continue;
            }
        };
        let disk = sim.kernel().disk(node);
        for queue_id in 0..queue_data.read_queue_nums as i32 {
            let from = broker.store.get_offset_in_queue_by_time(disk, topic, queue_id, begin).0;
            let to = broker.store.get_offset_in_queue_by_time(disk, topic, queue_id, end).0;
            let max = broker.store.get_max_offset_in_queue(topic, queue_id).0;
            let mut offset = from;
            while offset <= to.min(max - 1) && messages.len() < TOPIC_TIME_QUERY_MAX {
                let Some(result) =
                    broker.store.get_message(disk, "TOOLS_CONSUMER", topic, queue_id, QueueOffset(offset), 32, None)
                else {
                    break;
                };
                if result.messages.is_empty() {
                    break;
                }
                for selected in &result.messages {
                    if let Some(msg) = to_message_ext(selected) {
                        if (begin..=end).contains(&msg.store_timestamp) && messages.len() < TOPIC_TIME_QUERY_MAX {
                            messages.push(view_of(&broker_data.broker_name, &msg));
                        }
                    }
                }
                offset = result.next_begin_offset.0;
            }
        }
    }
    if messages.len() >= TOPIC_TIME_QUERY_MAX {
        notes.push(format!("stopped at {TOPIC_TIME_QUERY_MAX} messages"));
    }
    messages.sort_by_key(|m| (m.store_timestamp, m.broker_name.clone(), m.queue_id, m.queue_offset));
    QueryOutcome { messages, notes, error: None }
}

/// The Dashboard's message trace: the trace records of `msg_id`, found by a key query on the trace topic
/// (maxNum 64, all time) and decoded, in time order.
pub fn message_trace(sim: &Simulation, trace_topic: &str, msg_id: &str) -> Result<Vec<TraceContext>, String> {
    let outcome = by_key(sim, trace_topic, msg_id, QUERY_BY_KEY_MAX_NUM, 0, i64::MAX, false);
    if let Some(error) = outcome.error {
        return Err(error);
    }
    let mut records = Vec::new();
    for view in &outcome.messages {
        let Some((node, broker)) =
            sim.directory().entries.iter().filter(|e| e.kind == NodeKind::Broker).find_map(|e| {
                match sim.kernel().node(e.id) {
                    Some(AnyNode::Broker(b)) if b.spec.broker_name == view.broker_name && b.spec.broker_id == 0 => {
                        Some((e.id, b))
                    }
                    _ => None,
                }
            })
        else {
            continue;
        };
        let Ok(msg) = process_view_message_by_id(broker, sim.kernel().disk(node), view.commit_log_offset) else {
            continue;
        };
        let body = String::from_utf8_lossy(&msg.body);
        records.extend(decode(&body).into_iter().filter(|c| c.beans.iter().any(|b| b.msg_id == msg_id)));
    }
    records.sort_by_key(|c| c.time_stamp);
    Ok(records)
}

/// One queue's line of a consumer progress page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QueueProgress {
    pub topic: String,
    pub broker_name: String,
    pub queue_id: i32,
    pub broker_offset: i64,
    pub consumer_offset: i64,
    pub diff: i64,
    /// The consumer client that holds the queue now (from its rebalance), if any.
    pub client_id: Option<String>,
}

/// `examineConsumeStats(group)` with the owners: every queue of every topic `group` has offsets for on a
/// running master, in (topic, broker, queue) order.
pub fn consumer_progress(sim: &Simulation, group: &str) -> Vec<QueueProgress> {
    let mut lines = Vec::new();
    for entry in sim.directory().entries.iter().filter(|e| e.kind == NodeKind::Broker) {
        let Some(AnyNode::Broker(broker)) = sim.kernel().node(entry.id) else { continue };
        if broker.spec.broker_id != 0 {
            continue;
        }
        for (key, queues) in &broker.consumer_services.consumer_offset_manager.offset_table {
            let Some((topic, owner)) = key.split_once('@') else { continue };
            if owner != group {
                continue;
            }
            for (queue_id, offset) in queues {
                let broker_offset = broker.store.get_max_offset_in_queue(topic, *queue_id).0;
                let consumer_offset = (*offset).max(0);
                lines.push(QueueProgress {
                    topic: topic.to_string(),
                    broker_name: broker.spec.broker_name.clone(),
                    queue_id: *queue_id,
                    broker_offset,
                    consumer_offset,
                    diff: broker_offset - consumer_offset,
                    client_id: owner_of(sim, group, topic, &broker.spec.broker_name, *queue_id),
                });
            }
        }
    }
    lines.sort_by(|a, b| {
        crate::java::compare_strings(&a.topic, &b.topic)
            .then_with(|| crate::java::compare_strings(&a.broker_name, &b.broker_name))
            .then(a.queue_id.cmp(&b.queue_id))
    });
    lines
}

fn owner_of(sim: &Simulation, group: &str, topic: &str, broker_name: &str, queue_id: i32) -> Option<String> {
    sim.directory().entries.iter().filter(|e| e.kind == NodeKind::Consumer).find_map(|e| {
        match sim.kernel().node(e.id) {
            Some(AnyNode::Consumer(c)) if c.spec.group == group => c
                .process_queue_table
                .iter()
                .any(|(mq, pq)| {
                    !pq.dropped && &*mq.topic == topic && &*mq.broker_name == broker_name && mq.queue_id == queue_id
                })
                .then(|| c.client_id.clone()),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::BrokerData;

    #[test]
    fn a_route_is_asked_at_its_masters_and_at_a_slave_when_the_master_is_gone() {
        let mut a = BrokerData { cluster: "C".into(), broker_name: "a".into(), broker_addrs: Default::default() };
        a.broker_addrs.insert(0, "10.0.0.2:10911".into());
        a.broker_addrs.insert(1, "10.0.0.3:10911".into());
        let mut b = BrokerData { cluster: "C".into(), broker_name: "b".into(), broker_addrs: Default::default() };
        b.broker_addrs.insert(2, "10.0.0.5:10911".into());
        let route = TopicRouteData { queue_datas: Vec::new(), broker_datas: vec![a, b] };
        assert_eq!(
            select_broker_addrs(&route),
            vec![("a".to_string(), "10.0.0.2:10911".to_string()), ("b".to_string(), "10.0.0.5:10911".to_string())]
        );
    }
}
