//! Routing as RocketMQ 4.9 does it, seen from a producer: NameServer expiry, the 30 s route refresh,
//! the publish list, NameServer failover, TOPIC_NOT_EXIST and auto-created topics.

mod support;

use rmqsim_core::observation::{BrokerRemovalReason, Observation};
use rmqsim_core::time::Time;
use support::*;

const TEN_PER_SECOND: &str = "rate = [{ at = \"0s\", per_second = 10 }]";

fn silent_broker_b() -> String {
    [TWO_BROKERS.to_string(), producer("", "TopicTest", TEN_PER_SECOND), crash("60s", "broker-b", "power_loss")]
        .concat()
}

/// When the NameServers removed `broker` from their tables (for `reason`, or any).
fn removed_at(sim: &rmqsim_core::Simulation, broker: &str, reason: Option<BrokerRemovalReason>) -> Vec<Time> {
    seen(sim, |o| match o {
        Observation::BrokerRemoved { broker_name, reason: r, .. } if broker_name == broker => Some(*r),
        _ => None,
    })
    .into_iter()
    .filter(|(_, r)| reason.is_none_or(|reason| reason == *r))
    .map(|(time, _)| time)
    .collect()
}

#[test]
fn a_silent_broker_is_dropped_at_the_scan_instant_and_producers_stop_choosing_it_after_their_next_refresh() {
    let sim = run(&silent_broker_b(), 1, Time::from_secs(200));
    // broker-b last registered at 40 s; 40 s + 120 s < now first holds at the 165 s scan.
    let removals: Vec<Time> = removed_at(&sim, "broker-b", Some(BrokerRemovalReason::Expired));
    assert_eq!(removals, [Time::from_secs(165); 2]);
    // The producer polls 10 ms after start and every 30 s: the first poll after 165 s is at 180.010 s; it
    // looks TBW102 up first, then TopicTest (one lookup at a time), each one round trip.
    let changes = route_changes(&sim, "producer-0");
    let (changed_at, _, queues) = changes.iter().rfind(|(_, topic, _)| topic == "TopicTest").unwrap().clone();
    assert!(changed_at > Time::from_millis(180_010) && changed_at < Time::from_millis(180_012), "{changed_at:?}");
    assert_eq!(queues, ["broker-a/0", "broker-a/1", "broker-a/2", "broker-a/3"]);
    let to_b: Vec<Time> =
        attempts(&sim, "producer-0").into_iter().filter(|a| &*a.3.broker_name == "broker-b").map(|a| a.0).collect();
    assert!(to_b.iter().any(|t| *t > Time::from_secs(60) && *t < Time::from_secs(180)), "{to_b:?}");
    assert!(to_b.iter().all(|t| *t < changed_at), "attempts to broker-b after the refresh: {to_b:?}");
}

/// A producer starting at 100 ms, and namesrv-0 crashed (`kind`) from the start.
fn name_server_0_crashed(kind: &str) -> String {
    let workload = format!("start_at = \"100ms\"\n{TEN_PER_SECOND}");
    [TWO_BROKERS.to_string(), producer("", "TopicTest", &workload), crash("0s", "namesrv-0", kind)].concat()
}

#[test]
fn producers_fail_over_to_another_name_server_when_theirs_is_down() {
    // namesrv-0 is powered off from the start. The client's NameServer index starts at a seeded random value:
    // when it points at namesrv-0, the first lookup (TBW102, 10 ms after start) waits out mqClientApiTimeout
    // (3 s), closes the channel, and every later lookup goes to namesrv-1. The first send (at 100 ms) waits
    // for that lookup (lookups are serialized), then for its own, and still makes its 3 s budget.
    let mut waited = 0;
    for seed in 1..=6 {
        let body = name_server_0_crashed("power_loss");
        let sim = run(&body, seed, Time::from_secs(20));
        let done = completions(&sim, "producer-0");
        assert!(done.iter().all(|c| failure_of(&c.4).is_none()), "seed {seed}");
        assert_eq!(done.len(), 199, "seed {seed}");
        let first = done[0].0;
        if first > Time::from_millis(3_010) && first < Time::from_millis(3_012) {
            waited += 1;
        } else {
            assert!(first > Time::from_millis(100) && first < Time::from_millis(102), "seed {seed}: {first:?}");
        }
    }
    assert!((1..6).contains(&waited), "both NameServers were tried first across seeds: {waited}");
}

#[test]
fn a_killed_name_server_is_skipped_within_the_same_lookup() {
    // A killed NameServer's host answers with a reset: the connect fails at once and the same lookup moves
    // on to the next NameServer, so no send fails.
    for seed in 1..=6 {
        let body = name_server_0_crashed("process_kill");
        let sim = run(&body, seed, Time::from_secs(10));
        let done = completions(&sim, "producer-0");
        assert!(done.iter().all(|c| failure_of(&c.4).is_none()), "seed {seed}: {done:?}");
        assert!(done.len() > 90);
    }
}

const ONE_AT_1S: &str = "start_at = \"1s\"\nmax_messages = 1";

fn no_auto_create() -> String {
    cluster(1, &[("broker-a", "[topology.broker_groups.config]\nautoCreateTopicEnable = false")], &[])
        + &producer("", "Unknown", ONE_AT_1S)
}

#[test]
fn an_unknown_topic_without_auto_creation_fails_with_no_route_info() {
    let sim = run(&no_auto_create(), 1, Time::from_secs(5));
    let done = completions(&sim, "producer-0");
    assert_eq!(done.len(), 1);
    let (time, _, _, attempts, outcome) = &done[0];
    // Two NameServer round trips (the topic, then TBW102, both TOPIC_NOT_EXIST), no broker attempt.
    assert_eq!(*attempts, 0);
    assert!(*time > Time::from_secs(1) && *time < Time::from_millis(1_002), "{time:?}");
    assert_eq!(failure_of(outcome), Some(("MQClientException", "No route info of this topic: Unknown", Some(10_005))));
}

#[test]
fn the_name_server_answers_topic_not_exist_for_an_unknown_topic() {
    let mut sim = rmqsim_core::Simulation::new(&scenario(&no_auto_create()), 1).unwrap();
    sim.kernel_mut().trace_mut().set_recent_capacity(100_000);
    sim.run_until(Time::from_secs(2));
    let remarks: Vec<(i32, String)> = sim
        .kernel()
        .trace()
        .recent()
        .iter()
        .filter_map(|r| match &r.event {
            rmqsim_core::sim::trace::TraceEvent::Delivered {
                message: rmqsim_core::protocol::Message::Response { response, .. },
                ..
            } if response.code.0 != 0 => Some((response.code.0, response.remark.clone().unwrap_or_default())),
            _ => None,
        })
        .collect();
    assert!(remarks.contains(&(17, "No topic route info in name server for the topic: Unknown".into())), "{remarks:?}");
    assert!(remarks.contains(&(17, "No topic route info in name server for the topic: TBW102".into())), "{remarks:?}");
}

#[test]
fn an_auto_created_topic_gets_four_queues_with_perm_6_on_the_broker_that_received_it() {
    // Spec §13 item 17: producer defaultTopicQueueNums 4, broker TBW102 with 8 queues.
    let body = cluster(1, &[("broker-a", "")], &[]) + &producer("", "NewTopic", ONE_AT_1S);
    let sim = run(&body, 1, Time::from_secs(40));
    let created: Vec<(u32, u32, u32)> = picked(&sim, |o| match o {
        Observation::TopicAutoCreated { topic, read_queue_nums, write_queue_nums, perm } if topic == "NewTopic" => {
            Some((*read_queue_nums, *write_queue_nums, *perm))
        }
        _ => None,
    });
    assert_eq!(created, [(4, 4, 6)]);
    let Some(rmqsim_core::world::AnyNode::NameServer(ns)) = sim.kernel().node(node(&sim, "namesrv-0")) else {
        panic!("namesrv-0 is up")
    };
    let route = ns.route_info.pickup_topic_route_data("NewTopic").expect("registered at once");
    assert_eq!(route.queue_datas.len(), 1);
    let q = &route.queue_datas[0];
    assert_eq!((q.broker_name.as_str(), q.read_queue_nums, q.write_queue_nums, q.perm), ("broker-a", 4, 4, 6));
    // The send used TBW102's route with min(4, 8) = 4 queues.
    let changes = route_changes(&sim, "producer-0");
    let first = changes.iter().find(|c| c.1 == "NewTopic").unwrap();
    assert_eq!(first.2.len(), 4);
    assert_eq!(failure_of(&completions(&sim, "producer-0")[0].4), None);
}

#[test]
fn a_read_only_broker_receives_no_sends() {
    // brokerPermission 4 (R--): every topic registers without W, so no publish list includes broker-b.
    let read_only = "[topology.broker_groups.config]\nbrokerPermission = 4";
    let body = cluster(1, &[("broker-a", ""), ("broker-b", read_only)], &[("TopicTest", 4)])
        + &producer("", "TopicTest", "rate = [{ at = \"0s\", per_second = 20 }]");
    let sim = run(&body, 1, Time::from_secs(5));
    let tried = attempts(&sim, "producer-0");
    assert!(tried.len() > 50);
    assert!(tried.iter().all(|a| &*a.3.broker_name == "broker-a"));
    let changes = route_changes(&sim, "producer-0");
    assert_eq!(
        changes.iter().find(|c| c.1 == "TopicTest").unwrap().2,
        ["broker-a/0", "broker-a/1", "broker-a/2", "broker-a/3"]
    );
}

#[test]
fn a_read_only_topic_has_no_queue_to_send_to_and_the_send_fails_with_no_route() {
    // perm = 4 (R--): the route lists the topic's queues for reading, but TopicPublishInfo keeps only
    // writable ones, so every send fails before it reaches a broker.
    let body = cluster(1, &[("broker-a", "")], &[])
        + "[[topology.topics]]\nname = \"Archive\"\nqueues = 2\nperm = 4\n"
        + &producer("", "Archive", "rate = [{ at = \"0s\", per_second = 10 }]");
    let sim = run(&body, 1, Time::from_secs(5));
    assert!(attempts(&sim, "producer-0").is_empty(), "no queue was tried");
    let done = completions(&sim, "producer-0");
    assert!(done.len() > 10);
    for completion in &done {
        let (_, message, _) = failure_of(&completion.4).expect("every send fails");
        assert!(message.contains("No route info"), "{message}");
    }
}

#[test]
fn a_broker_last_registered_at_zero_is_removed_at_125_s_and_unused_after_the_150_s_refresh() {
    // Spec §13 item 16: registered at t = 0, silent from 5 s (its 10 s registration never happens); scans at
    // 5 s, 10 s, ...: 0 + 120 000 < now first holds at 125 s. The producer's refresh after that is 150.010 s.
    let workload = format!("mode = \"async\"\n{TEN_PER_SECOND}");
    let body =
        [TWO_BROKERS.to_string(), producer("", "TopicTest", &workload), crash("5s", "broker-b", "power_loss")].concat();
    let sim = run(&body, 2, Time::from_secs(160));
    let removed = removed_at(&sim, "broker-b", None);
    assert_eq!(removed, [Time::from_secs(125); 2]);
    let last_to_b =
        attempts(&sim, "producer-0").iter().filter(|a| &*a.3.broker_name == "broker-b").map(|a| a.0).max().unwrap();
    assert!(last_to_b > Time::from_secs(149) && last_to_b < Time::from_millis(150_012), "{last_to_b:?}");
}
