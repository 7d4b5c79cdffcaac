//! A forwarding listener (`workload.forward_to`, `consumer/forward.rs`): the copy it sends, when it
//! acknowledges the original, what a failed or unacknowledged send does, and what the checkers make of it.

use rmqsim_core::observation::{ConsumeOutcome, Observation, SendOutcome};
use rmqsim_core::producer::send_result::SendStatus;
use rmqsim_core::query::{query, MessageQuery};
use rmqsim_core::scenario::Scenario;
use rmqsim_core::time::Time;
use rmqsim_core::Simulation;

/// broker-a hosts Orders (2 queues), broker-b hosts OrdersV2 (4 queues); group Billing forwards Orders to
/// OrdersV2 (one consumer), group BillingV2 consumes OrdersV2. `actions` are appended.
fn scenario(actions: &str) -> Scenario {
    let text = format!(
        r#"
version = 1
id = "forward-test"
run_for = "90s"

[narrative.en]
title = "t"
question = "q"
watch = "w"
explanation = "e"
fidelity = "f"

[narrative.zh]
title = "t"
question = "q"
watch = "w"
explanation = "e"
fidelity = "f"

[topology]
name_servers = 1

[[topology.broker_groups]]
name = "broker-a"

[[topology.broker_groups]]
name = "broker-b"

[[topology.topics]]
name = "Orders"
queues = 2
brokers = ["broker-a"]

[[topology.topics]]
name = "OrdersV2"
queues = 4
brokers = ["broker-b"]

[[producers]]
[producers.workload]
topic = "Orders"
start_at = "2s"
stop_at = "40s"
rate = [{{ at = "0s", per_second = 5 }}]
tags = ["paid"]
user_properties = {{ region = "eu" }}

[[consumer_groups]]
group = "Billing"
name_prefix = "fwd"
subscriptions = [{{ topic = "Orders" }}]
[consumer_groups.workload]
processing_time = "0ms"
forward_to = "OrdersV2"

[[consumer_groups]]
group = "BillingV2"
name_prefix = "v2"
subscriptions = [{{ topic = "OrdersV2" }}]
[consumer_groups.workload]
processing_time = "5ms"
{actions}
"#
    );
    Scenario::parse("forward-test.toml", &text).unwrap_or_else(|e| panic!("{e}"))
}

fn run(actions: &str) -> Simulation {
    let scenario = scenario(actions);
    let mut sim = Simulation::new(&scenario, scenario.seed).unwrap();
    sim.run_until(Time::ZERO + scenario.run_for());
    sim
}

/// (original msgId, copy msgId) of every forward, in order.
fn forwards(sim: &Simulation) -> Vec<(String, String)> {
    sim.observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::MessageForwarded { from_msg_id, msg_id, topic, .. } => {
                assert_eq!(topic, "OrdersV2");
                Some((from_msg_id.clone(), msg_id.clone()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn the_forwarded_copy_carries_the_link_property_and_the_original_is_acked_only_after_send_ok() {
    let sim = run("");
    let forwards = forwards(&sim);
    assert!(forwards.len() >= 180, "{} forwards", forwards.len());
    let (original, copy) = forwards[10].clone();
    assert_ne!(original, copy, "the copy is its own message");
    // The copy in OrdersV2 carries the original's id, its tag and its user property.
    let found = query(&sim, &MessageQuery::ById { msg_id: copy.clone(), topic: Some("OrdersV2".into()) });
    let stored = found.messages.first().unwrap_or_else(|| panic!("copy {copy} not found: {:?}", found.notes));
    let property = |name: &str| stored.properties.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(property("FORWARDED_FROM_MSG_ID"), Some(original.clone()));
    assert_eq!(property("region").as_deref(), Some("eu"));
    assert_eq!(stored.tags.as_deref(), Some("paid"));
    // In time order: the copy's SEND_OK, then the original's CONSUME_SUCCESS, then BillingV2 processes the copy.
    let position = |wanted: &dyn Fn(&Observation) -> bool| {
        sim.observations().iter().position(|o| wanted(&o.observation)).expect("observed")
    };
    let send_ok = position(&|o| {
        matches!(o, Observation::SendCompleted { msg_ids, outcome: SendOutcome::Sent { status: SendStatus::SendOk, .. }, .. }
            if msg_ids == std::slice::from_ref(&copy))
    });
    let acked = position(&|o| {
        matches!(o, Observation::ConsumeFinished { group, msg_id, status: ConsumeOutcome::Success, .. }
            if group == "Billing" && *msg_id == original)
    });
    let processed = position(&|o| {
        matches!(o, Observation::ConsumeFinished { group, msg_id, status: ConsumeOutcome::Success, .. }
            if group == "BillingV2" && *msg_id == copy)
    });
    assert!(send_ok < acked, "the listener returned before its send ended");
    assert!(acked < processed || send_ok < processed);
    let verdicts = sim.verdicts();
    assert_eq!(verdicts.forwarded, forwards.len() as u64);
    assert_eq!((verdicts.forward_duplicates, verdicts.forward_unprocessed, verdicts.lost_acknowledged), (0, 0, 0));
    assert_eq!(verdicts.groups["BillingV2"].consumed, verdicts.forwarded);
    // The consumer's view says what its listener did.
    let view = sim.view();
    let node = view.nodes.iter().find(|n| n.name == "fwd-0").unwrap();
    let rmqsim_core::view::NodeDetail::Consumer(consumer) = &node.detail else { panic!("{:?}", node.detail) };
    assert_eq!(consumer.forward_to.as_deref(), Some("OrdersV2"));
    assert_eq!((consumer.forwarded, consumer.forward_failed), (forwards.len() as u64, 0));
}

#[test]
fn a_failed_forward_is_retried_and_not_lost() {
    // The forwarding consumer cannot reach broker-b (the new topic's broker) from 10 s to 20 s.
    let sim = run(r#"
[[actions]]
at = "10s"
do = "partition"
from = ["fwd-0"]
to = ["broker-b"]

[[actions]]
at = "20s"
do = "heal"
from = ["fwd-0"]
to = ["broker-b"]
"#);
    let failed_sends = sim
        .observations()
        .iter()
        .filter(|o| {
            o.node.0 as usize == sim.directory().by_name("fwd-0").unwrap().id.0 as usize
                && matches!(&o.observation, Observation::SendCompleted { outcome: SendOutcome::Failed { .. }, .. })
        })
        .count();
    assert!(failed_sends > 0, "the partition failed some forwards");
    let verdicts = sim.verdicts();
    let billing = &verdicts.groups["Billing"];
    assert!(billing.consume_failures > 0 && billing.retried > 0, "{billing:?}");
    assert_eq!(verdicts.lost_acknowledged, 0);
    assert_eq!(verdicts.forward_unprocessed, 0, "every forwarded message was processed on OrdersV2");
    assert_eq!(billing.backlog + billing.lost + billing.skipped, 0, "{billing:?}");
    // Every original the producer sent reached BillingV2 through some copy.
    assert_eq!(verdicts.forwarded, billing.consumed);
}

#[test]
fn a_stored_copy_whose_acknowledgement_comes_too_late_is_forwarded_again_and_counted_as_a_duplicate() {
    // broker-b's answers to the forwarder take 5 s more from 10 s to 12 s: the copy is stored, the send times
    // out after 3 s, the listener returns RECONSUME_LATER, and the retried original is forwarded again.
    let sim = run(r#"
[[actions]]
at = "10s"
do = "clog"
from = "broker-b"
to = "fwd-0"
extra = "5s"

[[actions]]
at = "12s"
do = "clog"
from = "broker-b"
to = "fwd-0"
extra = "0ms"
"#);
    let verdicts = sim.verdicts();
    assert!(verdicts.forward_duplicates > 0, "{verdicts:?}");
    let example = verdicts
        .violations_of(rmqsim_core::check::ViolationKind::ForwardDuplicate)
        .next()
        .expect("an example names the original and its copies");
    assert_eq!(example.group.as_deref(), Some("Billing"));
    assert!(example.explanation.starts_with("forwarded to OrdersV2 as 2 copies"), "{}", example.explanation);
    assert_eq!(verdicts.forward_unprocessed, 0, "{verdicts:#?}");
    assert_eq!(verdicts.lost_acknowledged, 0);
    // BillingV2 processes every copy once as a message of its own (the extra copies have new msgIds, so its
    // `duplicates`, which counts a msgId processed again, cannot see them: the forward verdict does).
    assert_eq!(verdicts.groups["BillingV2"].consumed, verdicts.forwarded + verdicts.forward_duplicates);
    assert_eq!(verdicts.groups["BillingV2"].backlog, 0);
}

#[test]
fn following_an_original_shows_where_it_was_forwarded_and_follows_its_copy() {
    let first = run("");
    let (original, copy) = forwards(&first)[100].clone();
    // Replay the run following the original (how the sandbox follows a message the ledger missed).
    let scenario = scenario("");
    let mut sim = Simulation::new(&scenario, scenario.seed).unwrap();
    sim.checks_mut().follow(&original);
    sim.run_until(Time::ZERO + scenario.run_for());
    let life = sim.checks().fate(&original).expect("followed");
    let forwards: Vec<(String, String, String, String, bool)> = life
        .iter()
        .filter_map(|e| match &e.event {
            rmqsim_core::check::fate::FateEvent::Forwarded { group, topic, copy, result, ok } => {
                Some((group.clone(), topic.clone(), copy.clone(), result.clone(), *ok))
            }
            _ => None,
        })
        .collect();
    assert_eq!(forwards, vec![("Billing".into(), "OrdersV2".into(), copy.clone(), "SEND_OK".into(), true)]);
    assert!(
        !life.iter().any(|e| matches!(&e.event, rmqsim_core::check::fate::FateEvent::Verdict { .. })),
        "a forward is a step of the original's life, not its verdict"
    );
    let copy_life = sim.checks().fate(&copy).expect("the copy is followed too");
    assert!(copy_life.iter().any(|e| matches!(
        &e.event,
        rmqsim_core::check::fate::FateEvent::ConsumeFinished { group, outcome: ConsumeOutcome::Success, .. }
            if group == "BillingV2"
    )));
}

#[test]
fn forwarded_messages_the_new_topics_group_never_processes_are_counted_with_their_originals() {
    // broker-b (ASYNC_FLUSH, the default) loses power at 30 s and restarts at 35 s: its ConsumeQueues come back
    // shorter than BillingV2's committed offsets, so copies stored after the restart reuse offsets the group
    // has passed and are never processed — while their originals were acknowledged by the forwarder.
    let sim = run(r#"
[[actions]]
at = "30s"
do = "crash"
node = "broker-b"
kind = "power_loss"

[[actions]]
at = "35s"
do = "restart"
node = "broker-b"
"#);
    let verdicts = sim.verdicts();
    let v2 = &verdicts.groups["BillingV2"];
    assert!(verdicts.forward_unprocessed > 0, "the checkers say the forward lost messages: {verdicts:?}");
    assert_eq!(verdicts.forward_unprocessed, v2.skipped + v2.lost + v2.backlog, "{v2:?}");
    let billing = &verdicts.groups["Billing"];
    assert_eq!(billing.backlog + billing.lost + billing.skipped, 0, "the originals were all acknowledged");
    let example = verdicts
        .violations_of(rmqsim_core::check::ViolationKind::ForwardUnprocessed)
        .next()
        .expect("an example names the original");
    assert_eq!(example.group.as_deref(), Some("Billing"));
    assert!(example.explanation.contains("no group of OrdersV2 processed a copy"), "{}", example.explanation);
}

#[test]
fn the_library_scenario_drains_the_backlog_faster_after_the_forward_and_loses_nothing() {
    let id = "consumer-backlog-forward-new-topic";
    let scenario = Scenario::parse(id, rmqsim_core::scenario::library::find(id).unwrap()).unwrap();
    let mut sim = Simulation::new(&scenario, scenario.seed).unwrap();
    sim.set_retention(rmqsim_core::check::Retention::None);
    sim.run_until(Time::ZERO + scenario.run_for());
    let series = sim.checks().series();
    let values = |name: &str| &series.series.iter().find(|s| s.name == name).expect(name).values;
    let at = |name: &str, secs: u64| {
        let i = series.times.iter().position(|t| *t >= Time::from_secs(secs)).expect("sampled");
        values(name)[i]
    };
    // Before the switch: the backlog grows, and the fifth consumer (30 s) does not slow its growth.
    let (b20, b30, b60, b89) =
        (at("backlog:Billing", 20), at("backlog:Billing", 30), at("backlog:Billing", 60), at("backlog:Billing", 89));
    assert!(b89 > 2_000 && b60 - b30 >= b30 - b20, "{b20} {b30} {b60} {b89}");
    // Within seconds of the switch the backlog has moved to the new topic ...
    assert!(at("backlog:Billing", 95) < 100, "{}", at("backlog:Billing", 95));
    assert!(at("backlog:BillingV2", 95) > 2_000, "{}", at("backlog:BillingV2", 95));
    // ... which 20 consumers drain while the producer still sends 50 a second.
    assert!(at("backlog:BillingV2", 120) < at("backlog:BillingV2", 95) - 1_000);
    // By 150 s only what is in the consume threads (50 a second × 400 ms) waits; after the producer stops, nothing.
    assert!(at("backlog:BillingV2", 150) <= 50, "{}", at("backlog:BillingV2", 150));
    assert_eq!(at("backlog:BillingV2", 170), 0);
    let verdicts = sim.verdicts();
    assert_eq!(
        (verdicts.lost_acknowledged, verdicts.forward_unprocessed, verdicts.forward_duplicates, verdicts.backlog),
        (0, 0, 0, 0)
    );
    assert_eq!(verdicts.groups["BillingV2"].consumed, verdicts.forwarded);
}

#[test]
fn the_forwarding_producer_heartbeats_inside_its_consumers_heartbeat_one_per_process() {
    let mut sim = Simulation::new(&scenario(""), 1).unwrap();
    sim.run_until(Time::from_secs(40));
    let id = |name: &str| sim.directory().by_name(name).unwrap_or_else(|| panic!("no node {name}")).id;
    let Some(rmqsim_core::world::AnyNode::Consumer(consumer)) = sim.kernel().node(id("fwd-0")) else {
        panic!("fwd-0 is a running consumer")
    };
    let consumer_client = consumer.client_id.clone();
    // broker-b hosts only the forward topic: the consumer knows it from its producer's routes, and its
    // heartbeat registers the forwarding group there under the consumer's (the process's) client id.
    let Some(rmqsim_core::world::AnyNode::Broker(broker)) = sim.kernel().node(id("broker-b")) else {
        panic!("broker-b is up")
    };
    let clients: Vec<&String> = broker.producer_table.get("Billing_FORWARDER").expect("registered").keys().collect();
    assert_eq!(clients, [&consumer_client], "one heartbeat per process, no separate producer heartbeat");
}
