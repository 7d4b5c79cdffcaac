//! Message queries (spec §11) with RocketMQ's limits: by offset msgId, by UNIQ_KEY, by key through the
//! IndexFile (maxNum capped at 64, exact matches kept), by topic and time; and consumer progress.

mod support;

use rmqsim_core::broker::broker_store_io::wall_clock_ms;
use rmqsim_core::observation::Observation;
use rmqsim_core::query::{consumer_progress, query, MessageQuery};
use rmqsim_core::scenario::Scenario;
use rmqsim_core::time::Time;
use rmqsim_core::Simulation;
use support::{cluster, scenario};

fn two_brokers() -> String {
    cluster(1, &[("broker-a", ""), ("broker-b", "")], &[("Orders", 2)])
}

fn producer(messages: u32, keys: &str) -> String {
    format!(
        r#"
[[producers]]
[producers.workload]
topic = "Orders"
start_at = "1s"
max_messages = {messages}
rate = [{{ at = "0s", per_second = 50 }}]
keys = {keys}
"#
    )
}

fn stored(sim: &Simulation) -> Vec<(String, String, i64)> {
    sim.observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::MessageStored { msg_id, offset_msg_id, store_timestamp, .. } => {
                Some((msg_id.clone(), offset_msg_id.clone(), *store_timestamp))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn an_offset_msg_id_is_viewed_at_its_broker_and_a_uniq_key_through_the_index_of_every_broker() {
    let mut sim =
        Simulation::new(&scenario(&format!("{}{}", two_brokers(), producer(10, "{ prefix = \"order-\" }"))), 1)
            .unwrap();
    sim.run_until(Time::from_secs(5));
    let stored = stored(&sim);
    assert_eq!(stored.len(), 10);
    for (msg_id, offset_msg_id, _) in &stored {
        let by_offset = query(&sim, &MessageQuery::ById { msg_id: offset_msg_id.clone(), topic: None });
        assert_eq!(by_offset.error, None);
        assert_eq!(by_offset.messages.len(), 1);
        assert_eq!(by_offset.messages[0].msg_id.as_deref(), Some(msg_id.as_str()));
        assert_eq!(&by_offset.messages[0].offset_msg_id, offset_msg_id);
        // A UNIQ_KEY is also 32 hex digits: read as an offset id it names no broker, then the index finds it.
        let by_key = query(&sim, &MessageQuery::ById { msg_id: msg_id.clone(), topic: Some("Orders".into()) });
        assert_eq!(by_key.error, None, "{:?}", by_key.notes);
        assert_eq!(by_key.messages.len(), 1);
        assert_eq!(&by_key.messages[0].offset_msg_id, offset_msg_id);
        let without_topic = query(&sim, &MessageQuery::ById { msg_id: msg_id.clone(), topic: None });
        assert_eq!(without_topic.error.as_deref(), Some("query message by id finished, but no message."));
    }
}

#[test]
fn a_resent_duplicate_shares_its_uniq_key_and_the_earliest_copy_is_returned() {
    let text = rmqsim_core::scenario::library::find("producer-lost-ack").unwrap();
    let scenario = Scenario::parse("producer-lost-ack", text).unwrap();
    let mut sim = Simulation::new(&scenario, scenario.seed).unwrap();
    sim.run_until(Time::ZERO + scenario.run_for());
    let stored = stored(&sim);
    assert_eq!(stored.len(), 2, "the original and the resent copy");
    assert_eq!(stored[0].0, stored[1].0, "same msgId");
    let outcome = query(&sim, &MessageQuery::ById { msg_id: stored[0].0.clone(), topic: Some("TopicTest".into()) });
    assert_eq!(outcome.messages.len(), 1);
    assert_eq!(outcome.messages[0].offset_msg_id, stored[0].1, "the earliest stored copy");
    let by_key = query(
        &sim,
        &MessageQuery::ByKey {
            topic: "TopicTest".into(),
            key: stored[0].0.clone(),
            max_num: 64,
            begin_ms: 0,
            end_ms: i64::MAX,
        },
    );
    assert!(by_key.error.is_some(), "a UNIQ_KEY is not a KEYS entry");
}

#[test]
fn a_key_query_keeps_exact_matches_and_each_broker_returns_at_most_64() {
    // 150 messages with the same key, spread over two brokers; plus keys that only share a prefix.
    let body = format!(
        "{}{}{}",
        two_brokers(),
        producer(150, "{ prefix = \"order-\", space = 1 }"),
        producer(20, "{ prefix = \"order-0\", space = 10 }")
            .replace("[[producers]]", "[[producers]]\nname = \"other\"")
    );
    let mut sim = Simulation::new(&scenario(&body), 1).unwrap();
    sim.run_until(Time::from_secs(15));
    let outcome = query(
        &sim,
        &MessageQuery::ByKey {
            topic: "Orders".into(),
            key: "order-0".into(),
            max_num: 64,
            begin_ms: 0,
            end_ms: i64::MAX,
        },
    );
    assert_eq!(outcome.error, None);
    assert!(
        outcome.messages.iter().all(|m| m.keys.as_deref() == Some("order-0")),
        "order-00 .. order-09 are not order-0"
    );
    for broker in ["broker-a", "broker-b"] {
        let n = outcome.messages.iter().filter(|m| m.broker_name == broker).count();
        assert!(n <= 64, "{broker}: {n}");
    }
    assert!(outcome.messages.len() > 64 && outcome.messages.len() <= 128, "{}", outcome.messages.len());
    let asked_less = query(
        &sim,
        &MessageQuery::ByKey {
            topic: "Orders".into(),
            key: "order-0".into(),
            max_num: 5,
            begin_ms: 0,
            end_ms: i64::MAX,
        },
    );
    assert!(asked_less.messages.len() <= 10);
}

#[test]
fn a_topic_and_time_query_returns_the_messages_stored_in_the_range() {
    let mut sim =
        Simulation::new(&scenario(&format!("{}{}", two_brokers(), producer(100, "{ prefix = \"order-\" }"))), 1)
            .unwrap();
    sim.run_until(Time::from_secs(10));
    let all = stored(&sim);
    let (begin, end) = (wall_clock_ms(Time::from_millis(1_500)), wall_clock_ms(Time::from_millis(2_000)));
    let expected = all.iter().filter(|(_, _, t)| (begin..=end).contains(t)).count();
    let outcome = query(&sim, &MessageQuery::ByTime { topic: "Orders".into(), begin_ms: begin, end_ms: end });
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.messages.len(), expected);
    assert!(outcome.messages.windows(2).all(|w| w[0].store_timestamp <= w[1].store_timestamp));
}

#[test]
fn a_broker_that_is_down_answers_nothing() {
    let body = format!(
        "{}{}[[actions]]\nat = \"5s\"\ndo = \"crash\"\nnode = \"broker-a\"\nkind = \"process_kill\"\n",
        two_brokers(),
        producer(10, "{ prefix = \"order-\" }")
    );
    let mut sim = Simulation::new(&scenario(&body), 1).unwrap();
    sim.run_until(Time::from_secs(4));
    let on_a: Vec<String> = sim
        .observations()
        .iter()
        .filter(|o| sim.directory().entry(o.node).name == "broker-a")
        .filter_map(|o| match &o.observation {
            Observation::MessageStored { offset_msg_id, .. } => Some(offset_msg_id.clone()),
            _ => None,
        })
        .collect();
    sim.run_until(Time::from_secs(6));
    let outcome = query(&sim, &MessageQuery::ById { msg_id: on_a[0].clone(), topic: None });
    assert!(outcome.notes.iter().any(|n| n.starts_with("connect to 10.0.0.2:10911 failed")), "{:?}", outcome.notes);
    assert!(outcome.error.is_some());
}

#[test]
fn consumer_progress_shows_broker_offset_consumer_offset_diff_and_owner() {
    let body = format!(
        "{}{}[[consumer_groups]]\ngroup = \"G\"\nsubscriptions = [{{ topic = \"Orders\" }}]\nstart_at = \"10s\"\n",
        two_brokers(),
        producer(40, "{ prefix = \"order-\" }")
    );
    let mut sim = Simulation::new(&scenario(&body), 1).unwrap();
    sim.run_until(Time::from_secs(40));
    let lines: Vec<_> = consumer_progress(&sim, "G").into_iter().filter(|l| l.topic == "Orders").collect();
    assert_eq!(lines.len(), 4, "2 queues on each of 2 brokers");
    assert_eq!(lines.iter().map(|l| l.broker_offset).sum::<i64>(), 40);
    assert!(lines.iter().all(|l| l.diff == l.broker_offset - l.consumer_offset));
    assert!(lines.iter().all(|l| l.diff == 0), "all consumed by 40 s");
    assert!(lines.iter().all(|l| l.client_id.is_some()), "one consumer owns every queue");
}
