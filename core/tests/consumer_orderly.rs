//! Orderly consumption (spec §6): one consumer thread per queue, broker locks, suspend-and-retry, and
//! order kept across rebalances, graceful leaves and crashes.

mod consumer_support;

use std::collections::BTreeMap;

use consumer_support::*;
use rmqsim_core::observation::{ConsumeOutcome, Observation};
use rmqsim_core::time::Time;

fn orderly() -> String {
    let workload = format!(
        "start_at = \"2s\"\nstop_at = \"120s\"\norder_by_key = true\n{}\nkeys = {{ distribution = \"uniform\", space = 16 }}",
        rate(20)
    );
    cluster(1, &[("broker-a", "")], &[("T", 4)]) + &producer("", "T", &workload) + ORDERLY_GROUP
}

const ORDERLY_GROUP: &str = r#"
[[consumer_groups]]
group = "O"
orderly = true
members = 2
standby = 1
subscriptions = [{ topic = "T" }]
[consumer_groups.workload]
processing_time = "5ms"
processing_time_max = "30ms"
failure_percent = 10

[[actions]]
at = "10s"
do = "add_consumer"
group = "O"

[[actions]]
at = "60s"
do = "crash"
node = "O-0"
kind = "process_kill"

[[actions]]
at = "100s"
do = "remove_consumer"
node = "O-2"
"#;

/// One listener call on one message: (start, end, node, queue id, offset, status).
type Call = (Time, Time, String, i32, i64, Option<ConsumeOutcome>);

fn calls(sim: &rmqsim_core::Simulation) -> Vec<Call> {
    let mut open: BTreeMap<(String, i32, i64), Time> = BTreeMap::new();
    let mut out = Vec::new();
    for o in sim.observations() {
        match &o.observation {
            Observation::ConsumeStarted { queue, queue_offset, .. } => {
                open.insert((name(sim, o.node), queue.queue_id, *queue_offset), o.time);
            }
            Observation::ConsumeFinished { queue, queue_offset, status, .. } => {
                let key = (name(sim, o.node), queue.queue_id, *queue_offset);
                let start = open.remove(&key).expect("a finish follows its start");
                out.push((start, o.time, key.0, key.1, key.2, Some(*status)));
            }
            _ => {}
        }
    }
    // Calls cut short by a crash never finish.
    for ((node, q, offset), start) in open {
        out.push((start, Time::MAX, node, q, offset, None));
    }
    out
}

#[test]
fn an_orderly_consumer_never_delivers_two_messages_of_one_queue_out_of_order_even_across_rebalances() {
    let sim = run(&orderly(), 4, Time::from_secs(220));
    let calls = calls(&sim);
    let acquired: Vec<(Time, String, i32)> = sim
        .observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::ProcessQueueAdded { queue, .. } => Some((o.time, name(&sim, o.node), queue.queue_id)),
            _ => None,
        })
        .collect();
    let mut queues_with_handover = 0;
    for q in 0..4 {
        let mut on_queue: Vec<&Call> = calls.iter().filter(|c| c.3 == q).collect();
        on_queue.sort_by_key(|c| (c.0, c.1));
        // 1. Never two consumers (or two threads) on one queue at once.
        for pair in on_queue.windows(2) {
            assert!(pair[0].1 <= pair[1].0, "queue {q}: overlapping calls {:?} and {:?}", pair[0], pair[1]);
        }
        // 2. Each owner goes forward one message at a time: after a success the next offset, after a
        //    failure (SUSPEND) the same one again. A new owner — or the same consumer taking the queue
        //    again — starts at the offset the broker had, at or before where the previous owner stopped.
        for pair in on_queue.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let retook =
                acquired.iter().any(|(at, node, queue)| *queue == q && node == &b.2 && a.0 < *at && *at <= b.0);
            if a.2 == b.2 && !retook {
                let expected = if a.5 == Some(ConsumeOutcome::Success) { a.4 + 1 } else { a.4 };
                assert_eq!(b.4, expected, "queue {q}: {} went from {} ({:?}) to {}", a.2, a.4, a.5, b.4);
            } else {
                queues_with_handover += 1;
                assert!(b.4 <= a.4 + 1, "queue {q}: {} started at {} after {} stopped at {}", b.2, b.4, a.2, a.4);
            }
        }
        // 3. The first success of each offset comes in offset order.
        let mut first_success: BTreeMap<i64, Time> = BTreeMap::new();
        for c in &on_queue {
            if c.5 == Some(ConsumeOutcome::Success) {
                first_success.entry(c.4).or_insert(c.1);
            }
        }
        let times: Vec<Time> = first_success.values().copied().collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]), "queue {q}: first successes out of offset order");
    }
    assert!(queues_with_handover >= 4, "the scenario moved queues between consumers");
    // O-0 was killed at 60 s holding the broker locks of q0 and q1, last renewed at 41 s (lockMQPeriodically:
    // 1 s, then every 20 s). Nobody may consume them until the broker lets the lock expire (> 60 s after the
    // renewal, i.e. after 101 s); O-1 takes them at its first rebalance after that (120 s).
    for q in [0, 1] {
        let stalled: Vec<&Call> =
            calls.iter().filter(|c| c.3 == q && c.0 > Time::from_secs(60) && c.0 <= Time::from_secs(101)).collect();
        assert!(stalled.is_empty(), "queue {q} consumed while O-0's lock was alive: {stalled:?}");
        let resumed = calls.iter().filter(|c| c.3 == q && c.0 > Time::from_secs(101)).map(|c| c.0).min().unwrap();
        assert!(resumed <= Time::from_secs(121), "queue {q} resumed at {resumed}");
    }
    // Failures were retried in place (SUSPEND), never sent to a retry topic.
    assert!(calls.iter().any(|c| c.5 == Some(ConsumeOutcome::ReconsumeLater)));
    assert!(!sim.observations().iter().any(|o| matches!(o.observation, Observation::MessageSentBack { .. })));
    // Everything stored was consumed successfully in the end.
    let counts = processed_counts(&sim);
    for id in stored_msg_ids(&sim, "T") {
        assert!(counts.contains_key(&id), "{id} never consumed");
    }
}

/// The orderly group of [`orderly_shutdown`] with one busy member leaving at 10 s.
fn orderly_shutdown() -> String {
    let workload = format!("start_at = \"2s\"\nstop_at = \"120s\"\norder_by_key = true\n{}", rate(40));
    cluster(1, &[("broker-a", "")], &[("T", 4)])
        + &producer("", "T", &workload)
        + r#"
[[consumer_groups]]
group = "O"
orderly = true
members = 2
subscriptions = [{ topic = "T" }]
[consumer_groups.config]
awaitTerminationMillisWhenShutdown = 120000
[consumer_groups.workload]
processing_time = "200ms"

[[actions]]
at = "10s"
do = "remove_consumer"
node = "O-1"
"#
}

#[test]
fn an_orderly_consumer_waiting_in_shutdown_renews_no_lock_and_stops_once_its_lock_expires() {
    // ConsumeMessageOrderlyService.shutdown sets `stopped` and shuts its scheduler down before it waits
    // for the consume threads: lockMQPeriodically renews no broker lock any more, and a loop that finds
    // its queue's lock expired (30 s after the last lock, on the client) cannot schedule a re-lock. O-1's
    // queues hold more work than it can do, so without this it would consume on, renewing its locks,
    // until MAX_TIME_CONSUME_CONTINUOUSLY (60 s) ended its loops.
    let mut sim = rmqsim_core::Simulation::new(&scenario(&orderly_shutdown()), 1).unwrap();
    sim.kernel_mut().trace_mut().set_recent_capacity(1_000_000);
    sim.run_until(Time::from_secs(120));
    let o1 = sim.kernel().node_id("O-1").unwrap();
    let lock_requests_after: Vec<Time> = sim
        .kernel()
        .trace()
        .recent()
        .iter()
        .filter(|r| r.time > Time::from_secs(10))
        .filter(|r| {
            matches!(&r.event, rmqsim_core::sim::trace::TraceEvent::Delivered { from, message, .. }
            if *from == o1 && format!("{message:?}").contains("LockBatchMq"))
        })
        .map(|r| r.time)
        .collect();
    assert!(lock_requests_after.is_empty(), "O-1 asked for locks while shutting down at {lock_requests_after:?}");
    let consumed_by_o1_after: Vec<Time> = sim
        .observations()
        .iter()
        .filter(|o| o.node == o1 && o.time > Time::from_secs(10))
        .filter(|o| matches!(o.observation, Observation::ConsumeStarted { .. }))
        .map(|o| o.time)
        .collect();
    let last = consumed_by_o1_after.last().copied().expect("O-1 was busy when it was removed");
    assert!(last < Time::from_secs(42), "O-1 consumed until {last:?}, past its locks' expiry");
    // It did leave: the rest of its queues' messages were consumed by O-0, in order.
    assert_eq!(sim.kernel().status(o1), rmqsim_core::sim::kernel::NodeStatus::Stopped);
}
