//! Message trace (spec §11): producers with `enableMsgTrace` send Pub and EndTransaction records, batched,
//! to RMQ_SYS_TRACE_TOPIC (created by `traceTopicEnable`); the trace of a message is found by its msgId.
//! And the timeline of one message, built from the observations.

mod support;

use rmqsim_core::observation::Observation;
use rmqsim_core::query::message_trace;
use rmqsim_core::scenario::Scenario;
use rmqsim_core::time::Time;
use rmqsim_core::trace::encoding::{MessageType, TraceType};
use rmqsim_core::trace::timeline::timeline;
use rmqsim_core::Simulation;
use support::{cluster, picked, producer, rate, scenario};

/// broker-a with the trace topic, and a producer of 12 messages with tracing on.
fn traced() -> String {
    let workload = format!("start_at = \"1s\"\nmax_messages = 12\ntags = [\"created\"]\n{}", rate(10));
    cluster(1, &[("broker-a", "[topology.broker_groups.config]\ntraceTopicEnable = true")], &[("Orders", 2)])
        + &producer("producerGroup = \"OrderService\"\nenableMsgTrace = true", "Orders", &workload)
}

fn stored(sim: &Simulation, topic: &str) -> Vec<(Time, String, String)> {
    sim.observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::MessageStored { topic: t, msg_id, offset_msg_id, .. } if t == topic => {
                Some((o.time, msg_id.clone(), offset_msg_id.clone()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn each_send_leaves_a_pub_record_in_the_trace_topic_batched_after_500_ms() {
    let mut sim = Simulation::new(&scenario(&traced()), 1).unwrap();
    sim.run_until(Time::from_secs(10));
    let orders = stored(&sim, "Orders");
    let traces = stored(&sim, "RMQ_SYS_TRACE_TOPIC");
    assert_eq!(orders.len(), 12);
    assert!(!traces.is_empty() && traces.len() < 12, "records travel in batches: {} trace messages", traces.len());
    let first_trace = traces[0].0;
    assert!(first_trace >= orders[0].0 + rmqsim_core::time::Duration::from_millis(500), "the first waits 500 ms");
    for (_, msg_id, offset_msg_id) in &orders {
        let records = message_trace(&sim, "RMQ_SYS_TRACE_TOPIC", msg_id).unwrap();
        assert_eq!(records.len(), 1, "{msg_id}");
        let record = &records[0];
        assert_eq!(record.trace_type, TraceType::Pub);
        assert_eq!(record.group_name, "OrderService");
        assert!(record.success);
        let bean = &record.beans[0];
        assert_eq!((bean.topic.as_str(), bean.tags.as_deref()), ("Orders", Some("created")));
        assert_eq!(&bean.offset_msg_id, offset_msg_id);
        assert_eq!(bean.store_host, "10.0.0.2:10911");
        assert_eq!(bean.msg_type, MessageType::NormalMsg);
    }
}

#[test]
fn a_transactional_producer_traces_its_half_send_and_its_end_transaction() {
    let body = format!("{}[producers.workload.transaction]\n", traced());
    let mut sim = Simulation::new(&scenario(&body), 1).unwrap();
    sim.run_until(Time::from_secs(10));
    let committed: Vec<String> = picked(&sim, |o| match o {
        Observation::TransactionCommitted { msg_id, .. } => Some(msg_id.clone()),
        _ => None,
    });
    assert_eq!(committed.len(), 12);
    let records = message_trace(&sim, "RMQ_SYS_TRACE_TOPIC", &committed[0]).unwrap();
    let types: Vec<TraceType> = records.iter().map(|r| r.trace_type).collect();
    assert_eq!(types, [TraceType::Pub, TraceType::EndTransaction]);
    assert_eq!(records[0].beans[0].msg_type, MessageType::TransMsgHalf);
    assert_eq!(
        records[1].beans[0].transaction_state,
        Some(rmqsim_core::protocol::transaction::LocalTransactionState::CommitMessage)
    );
}

#[test]
fn without_trace_topic_enable_the_producer_auto_creates_it_like_any_topic() {
    let body = traced().replace("traceTopicEnable = true", "traceTopicEnable = false");
    let mut sim = Simulation::new(&scenario(&body), 1).unwrap();
    sim.run_until(Time::from_secs(10));
    let created = sim.observations().iter().any(|o| {
        matches!(&o.observation, Observation::TopicAutoCreated { topic, write_queue_nums: 4, .. } if topic == "RMQ_SYS_TRACE_TOPIC")
    });
    assert!(created, "from TBW102, with the producer's 4 queues");
}

#[test]
fn the_timeline_of_a_checked_transaction_tells_its_whole_story() {
    let text = rmqsim_core::scenario::library::find("transaction-payment-check").unwrap();
    let scenario = Scenario::parse("transaction-payment-check", text).unwrap();
    let mut sim = Simulation::new(&scenario, scenario.seed).unwrap();
    sim.run_until(Time::ZERO + scenario.run_for());
    let crashed = sim
        .observations()
        .iter()
        .find_map(|o| match &o.observation {
            Observation::LocalTransactionExecuted { crashed: true, msg_id, .. } => Some(msg_id.clone()),
            _ => None,
        })
        .expect("the scenario's crash");
    let name = |id: u16| sim.directory().entry(rmqsim_core::sim::node::NodeId(id)).name.clone();
    let steps = timeline(sim.observations(), &crashed, &name);
    let kinds: Vec<&str> = steps.iter().map(|s| s.step.as_str()).collect();
    for expected in [
        "send",
        "stored",
        "half stored",
        "send result",
        "local transaction",
        "check",
        "check answer",
        "end transaction",
        "committed",
        "pulled",
        "consume",
        "consumed",
    ] {
        assert!(kinds.contains(&expected), "{expected} missing from {kinds:?}");
    }
    assert!(steps.windows(2).all(|w| w[0].time <= w[1].time));
    let consumed = steps.iter().find(|s| s.step == "consumed").unwrap();
    assert!(consumed.cost_ms.is_some(), "the listener's cost");
}

/// `traced()` with a consumer group of two, its tracing on or off.
fn traced_consumers(enable: bool) -> String {
    format!(
        "{}\n[[consumer_groups]]\ngroup = \"Shipping\"\nmembers = 2\nsubscriptions = [{{ topic = \"Orders\" }}]\n\
         [consumer_groups.config]\nenableMsgTrace = {enable}\n[consumer_groups.workload]\nprocessing_time = \"30ms\"\n",
        traced()
    )
}

fn consumed(sim: &Simulation) -> Vec<(String, String)> {
    let mut consumed: Vec<(String, String)> = picked(sim, |o| match o {
        Observation::ConsumeFinished { client_id, msg_id, .. } => Some((msg_id.clone(), client_id.clone())),
        _ => None,
    });
    consumed.sort();
    consumed
}

#[test]
fn a_traced_push_consumer_leaves_sub_before_and_sub_after_records_for_each_message() {
    let mut sim = Simulation::new(&scenario(&traced_consumers(true)), 1).unwrap();
    sim.run_until(Time::from_secs(40));
    let orders = stored(&sim, "Orders");
    assert_eq!(orders.len(), 12);
    for (_, msg_id, _) in &orders {
        let records = message_trace(&sim, "RMQ_SYS_TRACE_TOPIC", msg_id).unwrap();
        let of = |t: TraceType| records.iter().filter(|r| r.trace_type == t).collect::<Vec<_>>();
        let (before, after) = (of(TraceType::SubBefore), of(TraceType::SubAfter));
        assert_eq!((of(TraceType::Pub).len(), before.len(), after.len()), (1, 1, 1), "{msg_id}: {records:?}");
        let (before, after) = (before[0], after[0]);
        assert_eq!(before.group_name, "Shipping");
        assert_eq!(after.group_name, "Shipping");
        assert_eq!(before.request_id, after.request_id, "one listener call: one request id");
        assert!(after.success && after.context_code == 0);
        assert_eq!(after.cost_time, 30, "the call's time per message");
        assert!(after.time_stamp >= before.time_stamp + 30);
        assert_eq!(before.beans[0].retry_times, 0);
        assert_eq!(before.beans[0].msg_id, *msg_id);
    }
}

#[test]
fn tracing_a_consumer_changes_nothing_it_consumes() {
    let mut traced = Simulation::new(&scenario(&traced_consumers(true)), 1).unwrap();
    traced.run_until(Time::from_secs(40));
    let mut plain = Simulation::new(&scenario(&traced_consumers(false)), 1).unwrap();
    plain.run_until(Time::from_secs(40));
    let ids = |c: Vec<(String, String)>| c.into_iter().map(|(id, _)| id).collect::<Vec<_>>();
    assert_eq!(ids(consumed(&traced)), ids(consumed(&plain)), "every message consumed once either way");
    for (_, msg_id, _) in &stored(&plain, "Orders") {
        let records = message_trace(&plain, "RMQ_SYS_TRACE_TOPIC", msg_id).unwrap();
        assert!(records.iter().all(|r| r.trace_type == TraceType::Pub), "no consumer records without enableMsgTrace");
    }
}

#[test]
fn a_consumer_trace_message_lost_in_a_partition_is_sent_again_and_every_record_arrives() {
    // The consumers lose broker-a for a second while they consume: a trace batch sent then is dropped by
    // the network, times out after mqClientApiTimeout and is sent again (the trace producer's async retry,
    // twice at most), after the partition has healed. Without the retry its records would be missing.
    let text = format!(
        "{}\n[[actions]]\nat = \"1500ms\"\ndo = \"partition\"\nfrom = [\"Shipping-0\", \"Shipping-1\"]\nto = [\"broker-a\"]\n\
         [[actions]]\nat = \"2500ms\"\ndo = \"heal\"\nfrom = [\"Shipping-0\", \"Shipping-1\"]\nto = [\"broker-a\"]\n",
        traced_consumers(true)
    );
    let mut sim = Simulation::new(&scenario(&text), 1).unwrap();
    sim.run_until(Time::from_secs(40));
    let orders = stored(&sim, "Orders");
    assert_eq!(orders.len(), 12);
    let (mut retried, mut dropped) = (0, 0);
    for node in sim.view().nodes {
        if let rmqsim_core::view::NodeDetail::Consumer(consumer) = node.detail {
            retried += consumer.trace_retried;
            dropped += consumer.trace_dropped;
        }
    }
    assert!(retried > 0, "a trace send failed in the partition and was retried");
    assert_eq!(dropped, 0);
    for (_, msg_id, _) in &orders {
        let records = message_trace(&sim, "RMQ_SYS_TRACE_TOPIC", msg_id).unwrap();
        let count = |t: TraceType| records.iter().filter(|r| r.trace_type == t).count();
        assert!(count(TraceType::SubBefore) >= 1 && count(TraceType::SubAfter) >= 1, "{msg_id}: {records:?}");
    }
}
