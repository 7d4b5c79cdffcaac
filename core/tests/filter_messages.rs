//! Filtering end to end (spec §10, §13 item 15): the broker filters by tag hash code, the client re-checks
//! the tag string, SQL92 selects on properties when the broker enables it, and consumers of one group that
//! subscribe differently lose messages — observed, so a checker can say so.

mod support;

use std::collections::BTreeSet;

use rmqsim_core::observation::Observation;
use rmqsim_core::scenario::Scenario;
use rmqsim_core::time::Time;
use rmqsim_core::Simulation;
use support::{cluster, picked, run};

fn topology(broker_config: &str) -> String {
    cluster(1, &[("broker-a", &format!("[topology.broker_groups.config]\n{broker_config}"))], &[("Orders", 2)])
}

fn producer(name: &str, tags: &str, properties: &str, messages: u32) -> String {
    format!(
        "[[producers]]\nname = \"{name}\"\n[producers.workload]\ntopic = \"Orders\"\nstart_at = \"25s\"\n\
         max_messages = {messages}\ntags = {tags}\nuser_properties = {properties}\n\
         rate = [{{ at = \"0s\", per_second = 20 }}]\n"
    )
}

fn consumer(group: &str, prefix: &str, expression: &str, expression_type: &str) -> String {
    format!(
        "[[consumer_groups]]\ngroup = \"{group}\"\nname_prefix = \"{prefix}\"\n\
         subscriptions = [{{ topic = \"Orders\", expression = \"{expression}\", expression_type = \"{expression_type}\" }}]\n"
    )
}

/// msgId → TAGS / the node that stored it, from the producers' sends.
fn sent_tags(sim: &Simulation) -> Vec<(String, String)> {
    // The workload cycles its tags; pair each stored message with its tag through the consumers' view is
    // not possible for filtered ones, so read the broker's records.
    let broker = sim.directory().by_name("broker-a").unwrap().id;
    let Some(rmqsim_core::world::AnyNode::Broker(b)) = sim.kernel().node(broker) else { panic!("up") };
    let mut out = Vec::new();
    for queue_id in 0..2 {
        let max = b.store.get_max_offset_in_queue("Orders", queue_id).0;
        let queue = b.store.consume_queue("Orders", queue_id).unwrap();
        for i in 0..max {
            let entry = queue.entry_at(sim.kernel().disk(broker), i).unwrap();
            let record = b.store.look_message_by_offset(sim.kernel().disk(broker), entry.commit_log_offset).unwrap();
            out.push((
                record.properties.unique_key().unwrap().to_string(),
                record.properties.tags().unwrap_or("").to_string(),
            ));
        }
    }
    out
}

fn consumed(sim: &Simulation) -> BTreeSet<String> {
    sim.observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::ConsumeStarted { msg_id, .. } => Some(msg_id.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn tag_a_or_tag_b_is_filtered_at_the_broker_by_hash_code() {
    let body = format!(
        "{}{}{}",
        topology(""),
        producer("p", "[\"TagA\", \"TagB\", \"TagC\"]", "{}", 30),
        consumer("G", "g", "TagA || TagB", "TAG")
    );
    let sim = run(&body, 1, Time::from_secs(40));
    let sent = sent_tags(&sim);
    let wanted: BTreeSet<String> = sent.iter().filter(|(_, t)| t != "TagC").map(|(id, _)| id.clone()).collect();
    assert_eq!(sent.len(), 30);
    assert_eq!(consumed(&sim), wanted, "TagA and TagB, never TagC");
    let client_drops = sim
        .observations()
        .iter()
        .filter(|o| matches!(o.observation, Observation::MessagesFilteredByClient { .. }))
        .count();
    assert_eq!(client_drops, 0, "TagC never reached the client: its code 2598921 is not in {{2598919, 2598920}}");
}

#[test]
fn a_tag_hash_collision_is_passed_by_the_broker_and_dropped_by_the_client() {
    assert_eq!(rmqsim_core::java::string_hash_code("Aa"), rmqsim_core::java::string_hash_code("BB"));
    let body =
        format!("{}{}{}", topology(""), producer("p", "[\"Aa\", \"BB\"]", "{}", 20), consumer("G", "g", "Aa", "TAG"));
    let sim = run(&body, 1, Time::from_secs(60));
    let sent = sent_tags(&sim);
    let aa: BTreeSet<String> = sent.iter().filter(|(_, t)| t == "Aa").map(|(id, _)| id.clone()).collect();
    let bb: BTreeSet<String> = sent.iter().filter(|(_, t)| t == "BB").map(|(id, _)| id.clone()).collect();
    assert_eq!(consumed(&sim), aa);
    let dropped: BTreeSet<String> = sim
        .observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::MessagesFilteredByClient { messages, .. } => Some(messages.clone()),
            _ => None,
        })
        .flatten()
        .map(|(_, id, tags)| {
            assert_eq!(tags.as_deref(), Some("BB"));
            id
        })
        .collect();
    assert_eq!(dropped, bb, "the broker passed BB (same code), the client dropped it");
    let progress = rmqsim_core::query::consumer_progress(&sim, "G");
    // The offset passes dropped messages (at the latest when the next pull finds nothing new and the client
    // corrects its offset: correctTagsOffset).
    assert!(progress.iter().filter(|l| l.topic == "Orders").all(|l| l.diff == 0), "{progress:?}");
}

#[test]
fn sql92_selects_on_properties_only_where_the_broker_enables_it() {
    let producers = format!(
        "{}{}",
        producer("small", "[\"pay\"]", "{ amount = \"50\", region = \"hz\" }", 10),
        producer("large", "[\"pay\"]", "{ amount = \"150\", region = \"sh\" }", 10)
    );
    let select = consumer("G", "g", "amount > 100 AND region IN ('sh', 'bj')", "SQL92");
    let sim = run(&format!("{}{producers}{select}", topology("enablePropertyFilter = true")), 1, Time::from_secs(40));
    let large: BTreeSet<String> = sim
        .observations()
        .iter()
        .filter(|o| sim.directory().entry(o.node).name == "large")
        .filter_map(|o| match &o.observation {
            Observation::SendCompleted { msg_ids, .. } => Some(msg_ids.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(large.len(), 10);
    assert_eq!(consumed(&sim), large);
    // The same subscription on a broker without enablePropertyFilter: every pull is refused.
    let refused = run(&format!("{}{producers}{select}", topology("")), 1, Time::from_secs(40));
    assert!(consumed(&refused).is_empty());
}

#[test]
fn a_sql92_expression_with_a_mistake_is_refused_with_its_position_when_the_scenario_loads() {
    let body = format!("{}{}", topology("enablePropertyFilter = true"), consumer("G", "g", "amount >> 100", "SQL92"));
    let text = format!(
        "version = 1\nid = \"test\"\n[narrative.en]\ntitle = \"t\"\nquestion = \"q\"\nwatch = \"w\"\nexplanation = \"e\"\nfidelity = \"f\"\n\
         [narrative.zh]\ntitle = \"t\"\nquestion = \"q\"\nwatch = \"w\"\nexplanation = \"e\"\nfidelity = \"f\"\n{body}"
    );
    let errors = Scenario::parse("bad", &text).unwrap_err().to_string();
    assert!(errors.contains("line 1, column 9"), "{errors}");
}

#[test]
fn consumers_of_one_group_that_subscribe_differently_lose_messages_and_it_is_observed() {
    // Two members of group G: g-a-0 subscribes TagA, g-b-0 subscribes TagB. The broker keeps one subscription.
    let body = format!(
        "{}{}{}{}",
        topology(""),
        producer("p", "[\"TagA\", \"TagB\"]", "{}", 40),
        consumer("G", "g-a", "TagA", "TAG"),
        consumer("G", "g-b", "TagB", "TAG")
    );
    let sim = run(&body, 1, Time::from_secs(60));
    let sent = sent_tags(&sim);
    let got = consumed(&sim);
    let lost: Vec<&(String, String)> = sent.iter().filter(|(id, _)| !got.contains(id)).collect();
    assert!(!lost.is_empty(), "some TagA or TagB messages are never consumed by G");
    let replaced =
        sim.observations().iter().filter(|o| matches!(o.observation, Observation::SubscriptionReplaced { .. })).count();
    assert!(replaced > 0, "the heartbeats replace each other's subscription");
    let against_intent: BTreeSet<(i32, i64)> = sim
        .observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::MessageFilteredAgainstIntent { queue_id, queue_offset, wanted_by, .. } => {
                assert!(!wanted_by.is_empty());
                Some((*queue_id, *queue_offset))
            }
            _ => None,
        })
        .collect();
    let client_dropped: usize = picked(&sim, |o| match o {
        Observation::MessagesFilteredByClient { messages, .. } => Some(messages.len()),
        _ => None,
    })
    .into_iter()
    .sum();
    assert!(!against_intent.is_empty() && client_dropped > 0, "both ways of losing happen here");
    assert_eq!(lost.len(), against_intent.len() + client_dropped, "every lost message has exactly one observed cause");
}

#[test]
fn the_consistency_scenario_loses_messages_wanted_by_one_member_and_observes_why() {
    let text = rmqsim_core::scenario::library::find("tag-filter-consistency").expect("built in");
    let scenario = Scenario::parse("tag-filter-consistency", text).unwrap();
    let mut sim = Simulation::new(&scenario, scenario.seed).unwrap();
    sim.run_until(Time::ZERO + scenario.run_for());
    let broker = sim.directory().by_name("broker-a").unwrap().id;
    let Some(rmqsim_core::world::AnyNode::Broker(b)) = sim.kernel().node(broker) else { panic!("up") };
    let mut wanted = 0;
    for queue_id in 0..4 {
        let queue = b.store.consume_queue("OrderTopic", queue_id).unwrap();
        for i in 0..queue.max_offset_in_queue() {
            let entry = queue.entry_at(sim.kernel().disk(broker), i).unwrap();
            let record = b.store.look_message_by_offset(sim.kernel().disk(broker), entry.commit_log_offset).unwrap();
            if record.properties.tags() != Some("Created") {
                wanted += 1;
            }
        }
    }
    let got = consumed(&sim).len();
    assert_eq!(wanted, 40);
    assert!(got < wanted, "{got} of {wanted} Paid/Shipped messages consumed");
    let causes = sim
        .observations()
        .iter()
        .filter(|o| {
            matches!(
                o.observation,
                Observation::MessageFilteredAgainstIntent { .. } | Observation::MessagesFilteredByClient { .. }
            )
        })
        .count();
    assert!(causes > 0);
}

#[test]
fn the_checker_names_the_subscription_conflict_as_the_cause_of_every_skipped_message() {
    let text = rmqsim_core::scenario::library::find("tag-filter-consistency").expect("built in");
    let scenario = Scenario::parse("tag-filter-consistency", text).unwrap();
    let mut sim = Simulation::new(&scenario, scenario.seed).unwrap();
    sim.run_until(Time::ZERO + scenario.run_for());
    let verdicts = sim.verdicts();
    let skipped: Vec<_> = verdicts.violations_of(rmqsim_core::check::verdict::ViolationKind::Skipped).collect();
    assert!(verdicts.skipped > 0 && !skipped.is_empty(), "the trap skips messages");
    for violation in &skipped {
        assert!(
            violation.explanation.starts_with("subscription conflict in OrderEvents")
                && violation.explanation.contains("`Paid`")
                && (violation.explanation.contains("pay-0") || violation.explanation.contains("ship-0")),
            "{violation}"
        );
        assert_eq!(violation.cause_node, "broker-a", "the cause is the heartbeat that replaced the subscription");
    }
    let by_broker = skipped.iter().filter(|v| v.explanation.contains("broker-a filtered it")).count();
    let by_client = skipped.iter().filter(|v| v.explanation.contains("client dropped it")).count();
    assert!(by_broker > 0 && by_client > 0, "both the broker's and the client's filter are named");
}
