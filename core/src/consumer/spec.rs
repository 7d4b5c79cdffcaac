//! From a scenario's consumer groups to consumer nodes, and from consumer nodes to views: what the
//! `Simulation` facade needs to build consumers, run consumer actions and show consumers, kept here so
//! the facade stays a dispatcher.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::broker::admin_broker_processor::AdminAction;
use crate::broker::broker_store_io::wall_clock_ms;
use crate::consumer::client::{ConsumerClient, ConsumerSpec};
use crate::scenario::duration::parse_duration;
use crate::scenario::model::{ConsumerGroupSpec, Scenario};
use crate::time::Time;
use crate::view::{ConsumerQueueView, ConsumerView};
use crate::world::{Directory, NodeKind};

/// The group a consumer node belongs to, and its index in the group.
pub fn group_of<'a>(scenario: &'a Scenario, node_name: &str) -> Option<(&'a ConsumerGroupSpec, u32)> {
    scenario
        .consumer_groups
        .iter()
        .find_map(|g| g.node_names().iter().position(|n| n == node_name).map(|i| (g, i as u32)))
}

/// When a consumer node starts: its group's start for members, never (until `add_consumer`) for standby ones.
pub fn start_time(scenario: &Scenario, node_name: &str) -> Time {
    match group_of(scenario, node_name) {
        Some((group, index)) if index < group.members => group.start_time(),
        Some(_) => Time::MAX,
        None => Time::ZERO,
    }
}

/// The spec of consumer node `node_name`.
pub fn consumer_spec(scenario: &Scenario, directory: &Rc<Directory>, node_name: &str) -> ConsumerSpec {
    let (group, _) = group_of(scenario, node_name).expect("consumer nodes come from consumer groups");
    let entry = directory.by_name(node_name).expect("in the directory");
    let name_servers: Vec<&crate::world::DirectoryEntry> = match &group.config.namesrv_addr {
        Some(names) => names.iter().filter_map(|n| directory.by_name(n)).collect(),
        None => directory.entries.iter().filter(|e| e.kind == NodeKind::NameServer).collect(),
    };
    // Rooms of consumers are given by node name; the strategy sees client ids, which start with the IP.
    let mut rooms_by_ip = BTreeMap::new();
    for (name, room) in &group.config.machine_rooms {
        if let Some(e) = directory.by_name(name).filter(|e| e.kind == NodeKind::Consumer) {
            let [a, b, c, d] = e.ip;
            rooms_by_ip.insert(format!("{a}.{b}.{c}.{d}"), room.clone());
        }
    }
    ConsumerSpec {
        node_name: node_name.to_string(),
        client_ip: entry.ip,
        name_servers: name_servers.iter().map(|e| e.id).collect(),
        name_server_addrs: name_servers.iter().map(|e| e.addr()).collect(),
        directory: Rc::clone(directory),
        group: group.group.clone(),
        kind: group.kind,
        orderly: group.orderly,
        subscriptions: group.subscriptions.iter().map(|s| (s.topic.clone(), s.expression.clone())).collect(),
        expression_types: group.subscriptions.iter().map(|s| (s.topic.clone(), s.expression_type.clone())).collect(),
        config: group.config.clone(),
        workload: group.workload.clone(),
        rooms_by_ip,
    }
}

/// The brokers (master node names) an admin command about `topic` goes to: the topic's broker groups.
pub fn brokers_of_topic(scenario: &Scenario, topic: &str) -> Vec<String> {
    let hosting = scenario.topology.topics.iter().find(|t| t.name == topic).and_then(|t| t.brokers.clone());
    scenario
        .topology
        .broker_groups
        .iter()
        .filter(|g| hosting.as_ref().is_none_or(|names| names.contains(&g.name)))
        .map(|g| g.name.clone())
        .collect()
}

/// `resetOffsetByTime`'s command for a scenario's `to`: "latest" (−1), "earliest" (0) or an instant.
pub fn reset_offset_action(group: &str, topic: &str, to: &str) -> Result<AdminAction, String> {
    let timestamp = match to {
        "latest" => -1,
        "earliest" => 0,
        other => wall_clock_ms(Time::ZERO + parse_duration(other)?),
    };
    Ok(AdminAction::ResetOffset { group: group.to_string(), topic: topic.to_string(), timestamp, force: true })
}

/// What a UI shows of a consumer.
pub fn consumer_view(client: &ConsumerClient, now: crate::time::Time) -> ConsumerView {
    let queues = client
        .process_queue_table
        .iter()
        .map(|(mq, pq)| ConsumerQueueView {
            topic: mq.topic.to_string(),
            queue: format!("{}/{}", mq.broker_name, mq.queue_id),
            cached: pq.msg_count as u32,
            first_cached_offset: pq.msg_tree_map.keys().next().copied(),
            last_cached_offset: pq.msg_tree_map.keys().next_back().copied(),
            next_pull_offset: pq.next_offset,
            committed_offset: client.offset_store.offset_table.get(mq).copied(),
            locked: pq.locked,
            dropped: pq.dropped,
        })
        .collect();
    let stats = &client.stats;
    let app = &client.app.stats;
    ConsumerView {
        client_id: client.client_id.clone(),
        group: client.spec.group.clone(),
        kind: format!("{:?}", client.spec.kind),
        orderly: client.spec.orderly,
        message_model: format!("{:?}", client.spec.config.message_model),
        subscriptions: client.subscription_inner.keys().cloned().collect(),
        allocations: client
            .allocations
            .iter()
            .map(|(topic, queues)| {
                (topic.clone(), queues.iter().map(|q| format!("{}/{}", q.broker_name, q.queue_id)).collect())
            })
            .collect(),
        queues,
        busy_threads: client.busy_workers(),
        threads: client.spec.config.consume_thread_min,
        queued_requests: client.queued_consume_requests(),
        pulls_sent: stats.pulls_sent,
        messages_pulled: stats.messages_pulled,
        consumed_ok: stats.consumed_ok,
        consumed_failed: stats.consumed_failed,
        results_discarded: stats.results_discarded,
        sent_back: stats.sent_back,
        send_back_failed: stats.send_back_failed,
        rebalances: stats.rebalances,
        duplicates_skipped: app.duplicates_skipped,
        dedup_table_size: app.dedup_table_size,
        messages_polled: client.lite.messages_polled,
        pull_batch_size: client.spec.config.pull_batch_size,
        pull_interval_ms: client.spec.config.pull_interval,
        consume_message_batch_max_size: client.spec.config.consume_message_batch_max_size,
        pull_threshold_for_queue: client.spec.config.pull_threshold_for_queue,
        await_termination_millis_when_shutdown: client.spec.config.await_termination_millis_when_shutdown,
        trace_sent: client.trace.as_ref().map_or(0, |t| t.sent),
        trace_retried: client.trace.as_ref().map_or(0, |t| t.retried),
        trace_dropped: client.trace.as_ref().map_or(0, |t| t.dropped),
        forward_to: client.forwarder.as_ref().map(|f| f.topic.clone()),
        forwarded: client.forwarder.as_ref().map_or(0, |f| f.stats.sent_ok),
        forward_failed: client.forwarder.as_ref().map_or(0, |f| f.stats.failed),
        dependency_down: client.app.spec.in_outage(now).is_some(),
    }
}
