//! Retries and the DLQ (spec §7, §8), and broadcasting (spec §5.6): what happens to a message that keeps
//! failing, and to every message when each consumer of the group gets everything.

mod consumer_support;

use std::collections::BTreeMap;

use consumer_support::*;
use rmqsim_core::broker::delay_level::DelayLevelTable;
use rmqsim_core::observation::{ConsumeOutcome, Observation, SentBackTo};
use rmqsim_core::scenario::{library, Scenario};
use rmqsim_core::time::{Duration, Time};

#[test]
fn sixteen_failures_put_a_message_in_the_dlq_after_4h_45m_40s_plus_one_grid_tick_and_a_round_trip_per_retry() {
    // The built-in scenario consumer-poison-message-dlq: one message, a listener that always fails.
    let scenario = Scenario::parse("dlq", library::find("consumer-poison-message-dlq").unwrap()).unwrap();
    let mut sim = rmqsim_core::Simulation::new(&scenario, scenario.seed).unwrap();
    sim.run_until(Time::from_secs(5 * 3600));
    let sent_back: Vec<(Time, i32, SentBackTo)> = sim
        .observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::MessageSentBack { reconsume_times, destination, .. } => {
                Some((o.time, *reconsume_times, *destination))
            }
            _ => None,
        })
        .collect();
    let delivered: Vec<(Time, i32)> = sim
        .observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::DelayedMessageDelivered { delay_level, .. } => Some((o.time, *delay_level)),
            _ => None,
        })
        .collect();
    // 16 retries at levels 3..=18, then the 17th failure goes to %DLQ%G.
    assert_eq!(sent_back.len(), 17);
    let levels: Vec<i32> = delivered.iter().map(|d| d.1).collect();
    assert_eq!(levels, (3..=18).collect::<Vec<_>>());
    for (i, (_, reconsume_times, destination)) in sent_back.iter().enumerate() {
        assert_eq!(*reconsume_times, i as i32 + 1);
        let expected =
            if i < 16 { SentBackTo::Retry { delay_level: 3 + i as i32 } } else { SentBackTo::DeadLetterQueue };
        assert_eq!(*destination, expected);
    }
    // Each retry: the copy is stored at s_i; ScheduleMessageService delivers it at the first tick of its
    // level's 100 ms grid (broker start + 1 s + k × 100 ms) at or after s_i + delay; the consumer's held pull
    // wakes at once, the 1 ms listener fails, and the send-back is stored one round trip later.
    let table = DelayLevelTable::default();
    let mut rounding = Duration::ZERO;
    let mut reaction = Duration::ZERO;
    for i in 0..16 {
        let (stored, _, _) = sent_back[i];
        let (at, level) = delivered[i];
        let due = stored + Duration::from_millis(table.delay_ms(level).unwrap());
        assert!(at >= due && at - due < Duration::from_millis(100), "retry {i}: due {due}, delivered {at}");
        assert_eq!(at.as_micros() % 100_000, 0, "delivered on the 100 ms grid");
        let next = sent_back[i + 1].0;
        assert!(next - at < Duration::from_millis(5), "retry {i}: consumed and sent back within 5 ms");
        rounding = rounding + (at - due);
        reaction = reaction + (next - at);
    }
    let total = sent_back[16].0 - sent_back[0].0;
    assert_eq!(total, Duration::from_millis(17_140_000) + rounding + reaction);
    assert_eq!(table.retry_schedule(16).total_delay_ms(), 17_140_000, "4 h 45 m 40 s");
    // Pinned for seed 1: 17 140 s of delays + 1.599 s: the first send-back is stored at 2.003 s, so the first
    // delivery rounds up by 97 ms to the grid, the later ones (stored at x.102 s) by 98 ms each; each reaction
    // (pull wake-up, 1 ms listener, send-back round trip) takes about 2 ms.
    assert_eq!(total, Duration::from_micros(17_141_599_291));
    // The message ends in the DLQ topic, which 4.9.2+ creates read-write (perm 6).
    let dlq = sim.observations().iter().find_map(|o| match &o.observation {
        Observation::TopicAutoCreated { topic, perm, read_queue_nums, .. } if topic == "%DLQ%ReportGroup" => {
            Some((*perm, *read_queue_nums))
        }
        _ => None,
    });
    assert_eq!(dlq, Some((6, 1)));
    assert_eq!(stored_msg_ids(&sim, "%DLQ%ReportGroup").len(), 1);
    // The first failure was at 2.003 s: the DLQ copy is stored at 4 h 45 m 43.6 s, as the narrative says.
    assert_eq!(sent_back[16].0.as_millis(), 17_143_602);
}

fn broadcast() -> String {
    cluster(1, &[("broker-a", "")], &[("T", 4)])
        + &producer("", "T", &format!("start_at = \"2s\"\nmax_messages = 200\n{}", rate(20)))
        + BROADCAST_GROUP
}

const BROADCAST_GROUP: &str = r#"
[[consumer_groups]]
group = "B"
members = 3
subscriptions = [{ topic = "T" }]
[consumer_groups.config]
messageModel = "BROADCASTING"
[consumer_groups.workload]
failure_percent = 20
"#;

#[test]
fn broadcasting_delivers_every_message_to_every_consumer_and_never_retries() {
    let sim = run(&broadcast(), 2, Time::from_secs(30));
    let stored = stored_msg_ids(&sim, "T");
    assert_eq!(stored.len(), 200);
    let mut per_consumer: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
    let mut failures = 0;
    for f in finished(&sim) {
        assert!(!f.discarded);
        if f.status != ConsumeOutcome::Success {
            failures += 1;
        }
        *per_consumer.entry(f.node).or_default().entry(f.msg_id).or_insert(0) += 1;
    }
    assert_eq!(per_consumer.len(), 3);
    for (node, seen) in &per_consumer {
        assert_eq!(seen.keys().cloned().collect::<Vec<_>>(), stored, "{node} got every message");
        assert!(seen.values().all(|n| *n == 1), "{node} got each message exactly once: failures are dropped");
    }
    assert!(failures > 0, "some consumptions failed");
    // No retry: nothing was sent back, nothing stored in the group's %RETRY% topic (the broker still
    // creates that topic at the first heartbeat, as 4.9.8 does for every consumer group).
    assert!(!sim.observations().iter().any(|o| matches!(o.observation, Observation::MessageSentBack { .. })));
    assert!(stored_msg_ids(&sim, "%RETRY%B").is_empty());
    // Every consumer owns every queue.
    for (_, node, topic, queues) in allocations(&sim) {
        if topic == "T" {
            assert_eq!(queues.len(), 4, "{node}");
        }
    }
}
