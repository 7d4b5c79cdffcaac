//! The pull path end to end: long versus short polling, where a new group starts (ConsumeFromWhere and the
//! "still in memory" rule of QUERY_CONSUMER_OFFSET), the consume-timeout sweep, and the lite pull
//! consumer's seek.

mod consumer_support;

use consumer_support::*;
use rmqsim_core::observation::{Observation, SentBackTo};
use rmqsim_core::time::{Duration, Time};

fn topology(broker_extra: &str) -> String {
    cluster(1, &[("broker-a", broker_extra)], &[("T", 4)])
}

/// A producer of `max_messages` to T from 2 s, `rate` a second (none: as fast as it sends).
fn producer_of_t(max_messages: u32, rate: Option<u32>) -> String {
    let rate = rate.map_or(String::new(), |n| format!("rate = [{{ at = \"0s\", per_second = {n} }}]"));
    producer("", "T", &format!("start_at = \"2s\"\nmax_messages = {max_messages}\n{rate}"))
}

/// (time stored, time pulled) of each message of T.
fn pull_latencies(sim: &rmqsim_core::Simulation) -> Vec<Duration> {
    let mut stored = std::collections::BTreeMap::new();
    let mut out = Vec::new();
    for o in sim.observations() {
        match &o.observation {
            Observation::MessageStored { topic, msg_id, .. } if topic == "T" => {
                stored.insert(msg_id.clone(), o.time);
            }
            Observation::MessagesPulled { messages, queue, .. } if &*queue.topic == "T" => {
                for (_, id) in messages {
                    out.push(o.time - stored[id]);
                }
            }
            _ => {}
        }
    }
    out
}

fn steady() -> String {
    producer_of_t(100, Some(7)) + "\n[[consumer_groups]]\ngroup = \"G\"\nsubscriptions = [{ topic = \"T\" }]\n"
}

#[test]
fn long_polling_answers_a_held_pull_as_soon_as_a_message_arrives_and_short_polling_waits_for_the_next_check() {
    let long = run(&(topology("") + &steady()), 1, Time::from_secs(30));
    let latencies = pull_latencies(&long);
    assert_eq!(latencies.len(), 100);
    assert!(latencies.iter().all(|l| *l < Duration::from_millis(5)), "woken by the dispatch: {latencies:?}");
    let short_config = "[topology.broker_groups.config]\nlongPollingEnable = false\n";
    let short = run(&(topology(short_config) + &steady()), 1, Time::from_secs(30));
    let latencies = pull_latencies(&short);
    assert_eq!(latencies.len(), 100);
    // Held for shortPollingTimeMills (1 s) and checked every second: a message waits up to a second.
    assert!(latencies.iter().all(|l| *l <= Duration::from_millis(1_010)), "{latencies:?}");
    assert!(latencies.iter().filter(|l| **l > Duration::from_millis(100)).count() > 50, "{latencies:?}");
}

fn started_late(store_extra: &str, config_extra: &str) -> rmqsim_core::Simulation {
    let body = format!(
        r#"{}{}
[[consumer_groups]]
group = "Late"
start_at = "20s"
subscriptions = [{{ topic = "T" }}]
[consumer_groups.config]
{config_extra}
"#,
        topology(store_extra),
        producer_of_t(40, Some(10))
    );
    run(&body, 1, Time::from_secs(40))
}

fn start_offsets(sim: &rmqsim_core::Simulation) -> Vec<i64> {
    picked(sim, |o| match o {
        Observation::ProcessQueueAdded { queue, offset, .. } if &*queue.topic == "T" => Some(*offset),
        _ => None,
    })
}

#[test]
fn a_new_group_on_a_young_topic_starts_at_offset_zero_even_from_the_last_offset() {
    // QUERY_CONSUMER_OFFSET for a group without an offset answers 0 while message 0 is still "in memory".
    let sim = started_late("", "");
    assert_eq!(start_offsets(&sim), [0, 0, 0, 0]);
    assert_eq!(processed_counts(&sim).len(), 40);
}

#[test]
fn a_new_group_starts_at_the_max_offset_once_message_zero_is_on_disk_only() {
    // With (almost) no RAM every message is "on disk": QUERY_NOT_FOUND, so CONSUME_FROM_LAST_OFFSET asks for
    // the max offset and the 40 earlier messages are never consumed by this group.
    let tiny_ram = "[topology.broker_groups.store]\nsimulatedPhysicalMemoryBytes = 100\n";
    let sim = started_late(tiny_ram, "");
    assert_eq!(start_offsets(&sim), [10, 10, 10, 10]);
    assert!(processed_counts(&sim).is_empty());
    // CONSUME_FROM_FIRST_OFFSET starts at 0 instead.
    let sim = started_late(tiny_ram, "consumeFromWhere = \"CONSUME_FROM_FIRST_OFFSET\"");
    assert_eq!(start_offsets(&sim), [0, 0, 0, 0]);
    assert_eq!(processed_counts(&sim).len(), 40);
    // CONSUME_FROM_TIMESTAMP searches the queue for the timestamp (4 s: 2 s after the producer started at
    // 10 messages a second, round robin over 4 queues). 4.9's getOffsetInQueueByTime returns the unit stored
    // *closest* to it: in a queue whose messages were stored at 3.9 s and 4.3 s that is the one before (offset
    // 4); at 3.7 s and 4.1 s the one after (offset 5).
    let sim = started_late(tiny_ram, "consumeFromWhere = \"CONSUME_FROM_TIMESTAMP\"\nconsumeTimestamp = \"4s\"");
    assert_eq!(start_offsets(&sim), [4, 5, 5, 4]);
    assert_eq!(processed_counts(&sim).len(), 22);
}

#[test]
fn a_message_consumed_for_longer_than_consume_timeout_is_sent_back_by_the_sweep() {
    let body = format!(
        r#"{}{}
[[consumer_groups]]
group = "Slow"
subscriptions = [{{ topic = "T" }}]
[consumer_groups.config]
consumeTimeout = 1
[consumer_groups.workload]
processing_time = "10m"
"#,
        topology(""),
        producer_of_t(1, None)
    );
    let sim = run(&body, 1, Time::from_secs(150));
    let sent_back: Vec<(Time, SentBackTo)> = seen(&sim, |o| match o {
        Observation::MessageSentBack { destination, .. } => Some(*destination),
        _ => None,
    });
    // The sweep runs every consumeTimeout (1 min) from 1 min: at 60 s the message has been in the listener
    // for 58 s, at 120 s for 118 s > 60 s: it goes back with delay level 3 and leaves the process queue.
    assert_eq!(sent_back.len(), 1);
    assert_eq!(sent_back[0].1, SentBackTo::Retry { delay_level: 3 });
    assert!(sent_back[0].0 > Time::from_secs(120) && sent_back[0].0 < Time::from_millis(120_010));
}

#[test]
fn a_lite_pull_consumer_seeking_to_the_beginning_processes_the_topic_again() {
    let body = format!(
        r#"{}{}
[[consumer_groups]]
group = "P"
name_prefix = "poll"
kind = "lite_pull"
subscriptions = [{{ topic = "T" }}]

[[actions]]
at = "15s"
do = "seek"
node = "poll-0"
topic = "T"
to = "begin"
"#,
        topology(""),
        producer_of_t(60, Some(20))
    );
    let sim = run(&body, 1, Time::from_secs(30));
    let counts = processed_counts(&sim);
    assert_eq!(counts.len(), 60);
    assert!(counts.values().all(|n| *n == 2), "every message once before the seek and once after: {counts:?}");
}
