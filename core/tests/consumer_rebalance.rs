//! Rebalancing at the scale of a whole cluster: who owns which queue when consumers join, die or go
//! silent, and exactly which messages are delivered twice because of it.

mod consumer_support;

use std::collections::{BTreeMap, BTreeSet};

use consumer_support::*;
use rmqsim_core::observation::{ConsumeOutcome, DropReason, Observation};
use rmqsim_core::time::Time;

fn body(actions: &str, members: u32, standby: u32) -> String {
    let workload = format!("start_at = \"2s\"\nstop_at = \"50s\"\n{}", rate(40));
    cluster(1, &[("broker-a", "")], &[("T", 4)])
        + &producer("", "T", &workload)
        + &format!(
            r#"
[[consumer_groups]]
group = "G"
members = {members}
standby = {standby}
subscriptions = [{{ topic = "T" }}]
[consumer_groups.workload]
processing_time = "5ms"

{actions}
"#
        )
}

/// (time, node, queue id, start offset) of every process queue added.
fn added(sim: &rmqsim_core::Simulation) -> Vec<(Time, String, i32, i64)> {
    sim.observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::ProcessQueueAdded { queue, offset, .. } if &*queue.topic == "T" => {
                Some((o.time, name(sim, o.node), queue.queue_id, *offset))
            }
            _ => None,
        })
        .collect()
}

/// (time, node, queue id, reason) of every process queue dropped.
fn dropped(sim: &rmqsim_core::Simulation) -> Vec<(Time, String, i32, DropReason)> {
    sim.observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::ProcessQueueDropped { queue, reason, .. } if &*queue.topic == "T" => {
                Some((o.time, name(sim, o.node), queue.queue_id, *reason))
            }
            _ => None,
        })
        .collect()
}

/// The broker's consume offset of queue `q` of T as of `at` (the last committed change before it).
fn committed_before(sim: &rmqsim_core::Simulation, q: i32, at: Time) -> i64 {
    sim.observations()
        .iter()
        .rev()
        .filter(|o| o.time < at)
        .filter_map(|o| match &o.observation {
            Observation::ConsumerOffsetCommitted { topic, queue_id, offset, .. } if topic == "T" && *queue_id == q => {
                Some(*offset)
            }
            _ => None,
        })
        .next()
        .unwrap_or(0)
}

/// Offsets of queue `q` of T that `node` processed successfully, with when.
fn processed_by(sim: &rmqsim_core::Simulation, node_name: &str, q: i32) -> Vec<(Time, i64, String)> {
    finished(sim)
        .into_iter()
        .filter(|f| f.node == node_name && &*f.queue.topic == "T" && f.queue.queue_id == q)
        .filter(|f| f.status == ConsumeOutcome::Success)
        .map(|f| (f.time, f.offset, f.msg_id))
        .collect()
}

/// Every stored message was processed at least once; returns the msgIds processed more than once.
fn duplicates(sim: &rmqsim_core::Simulation) -> BTreeSet<String> {
    let counts = processed_counts(sim);
    for id in stored_msg_ids(sim, "T") {
        assert!(counts.contains_key(&id), "message {id} was never processed");
    }
    counts.into_iter().filter(|(_, n)| *n > 1).map(|(id, _)| id).collect()
}

/// For a queue handed from `old` to `new`: the msgIds `old` processed at or past `new`'s start offset.
fn replayed(sim: &rmqsim_core::Simulation, old: &str, q: i32, start: i64) -> BTreeSet<String> {
    processed_by(sim, old, q).into_iter().filter(|(_, offset, _)| *offset >= start).map(|(_, _, id)| id).collect()
}

#[test]
fn a_consumer_joining_moves_queues_at_the_next_rebalance_and_its_duplicates_are_exactly_the_replayed_tail() {
    let text = body("[[actions]]\nat = \"20s\"\ndo = \"add_consumer\"\ngroup = \"G\"\n", 1, 1);
    let sim = run(&text, 3, Time::from_secs(60));
    let join = Time::from_secs(20);
    // Before the join G-0 owns every queue.
    let first: Vec<_> = added(&sim).into_iter().filter(|a| a.0 < join).map(|a| (a.1, a.2)).collect();
    assert_eq!(first, [("G-0".into(), 0), ("G-0".into(), 1), ("G-0".into(), 2), ("G-0".into(), 3)]);
    // The join is a CHANGE: the broker notifies G-0, which rebalances at once (its "next rebalance").
    // Averagely with the sorted ids (G-0's IP sorts first): G-0 keeps q0 q1, G-1 takes q2 q3.
    let moved = dropped(&sim);
    assert_eq!(
        moved.iter().map(|d| (d.1.as_str(), d.2, d.3)).collect::<Vec<_>>(),
        [("G-0", 2, DropReason::Rebalance), ("G-0", 3, DropReason::Rebalance)]
    );
    assert!(
        moved.iter().all(|d| d.0 >= join && d.0 < join + rmqsim_core::time::Duration::from_millis(20)),
        "{moved:?}"
    );
    let taken: Vec<_> = added(&sim).into_iter().filter(|a| a.0 >= join).collect();
    assert_eq!(taken.iter().map(|a| (a.1.as_str(), a.2)).collect::<Vec<_>>(), [("G-1", 2), ("G-1", 3)]);
    // Each new owner starts from the broker's offset at that moment; what the old owner had processed
    // at or past it is processed again, and nothing else is.
    let mut expected = BTreeSet::new();
    for (at, _, q, start) in &taken {
        assert_eq!(*start, committed_before(&sim, *q, *at), "queue {q} starts from the broker's offset");
        expected.extend(replayed(&sim, "G-0", *q, *start));
    }
    assert_eq!(duplicates(&sim), expected);
}

#[test]
fn killing_a_consumer_hands_its_queues_over_within_one_rebalance_period_and_replays_at_most_five_seconds() {
    let text = body("[[actions]]\nat = \"30s\"\ndo = \"crash\"\nnode = \"G-1\"\nkind = \"process_kill\"\n", 2, 0);
    let sim = run(&text, 5, Time::from_secs(60));
    let kill = Time::from_secs(30);
    let taken: Vec<_> = added(&sim).into_iter().filter(|a| a.0 >= kill).collect();
    assert_eq!(taken.iter().map(|a| (a.1.as_str(), a.2)).collect::<Vec<_>>(), [("G-0", 2), ("G-0", 3)]);
    // The killed process's connection closes; the broker notifies G-0, which takes over at once —
    // well within one rebalance period (20 s).
    for (at, ..) in &taken {
        assert!(*at - kill < rmqsim_core::time::Duration::from_millis(50), "taken over at {at}");
    }
    let mut expected = BTreeSet::new();
    for (at, _, q, start) in &taken {
        assert_eq!(*start, committed_before(&sim, *q, *at));
        let replay = replayed(&sim, "G-1", *q, *start);
        // Offsets reach the broker at least every persistConsumerOffsetInterval (5 s): the replayed messages
        // were all processed in the last 5 s before the kill.
        for (time, offset, _) in processed_by(&sim, "G-1", *q) {
            if offset >= *start {
                assert!(kill - time <= rmqsim_core::time::Duration::from_secs(5), "offset {offset} at {time}");
            }
        }
        expected.extend(replay);
    }
    assert!(!expected.is_empty(), "the offsets G-1 had not sent yet are replayed");
    assert_eq!(duplicates(&sim), expected);
}

#[test]
fn a_consumer_that_goes_silent_is_expired_after_120_seconds_and_replaced_at_the_next_periodic_rebalance() {
    // A power loss: no TCP reset, so the broker only notices through the 120 s heartbeat expiry (scanned
    // every 10 s), and in 4.9 that expiry sends no notification: G-0 takes the queues at its next 20 s
    // rebalance.
    let text = body("[[actions]]\nat = \"30s\"\ndo = \"crash\"\nnode = \"G-1\"\nkind = \"power_loss\"\n", 2, 0);
    let sim = run(&text, 5, Time::from_secs(200));
    let taken: Vec<_> = added(&sim).into_iter().filter(|a| a.0 >= Time::from_secs(30)).collect();
    assert_eq!(taken.iter().map(|a| (a.1.as_str(), a.2)).collect::<Vec<_>>(), [("G-0", 2), ("G-0", 3)]);
    // G-1's last heartbeat was at most 30 s before the crash; it expires 120 s after that, at a 10 s scan.
    let last_heartbeat_max = Time::from_secs(30);
    let expired_by = last_heartbeat_max + rmqsim_core::time::Duration::from_secs(130);
    for (at, ..) in &taken {
        assert!(*at > Time::from_secs(120), "not before the expiry: {at}");
        assert!(*at <= expired_by + rmqsim_core::time::Duration::from_secs(20), "within one rebalance period: {at}");
    }
    let ids: BTreeMap<String, u32> = processed_counts(&sim);
    assert!(stored_msg_ids(&sim, "T").iter().all(|id| ids.contains_key(id)), "nothing is lost");
}

#[test]
fn without_notifications_a_joiner_and_the_old_owner_both_own_the_moved_queues_until_the_old_owners_next_rebalance() {
    // notifyConsumerIdsChangedEnable = false: the broker tells nobody, so G-0 keeps its four queues until its
    // own 20 s rebalance, while G-1 took two of them at its start. For that window both consume them.
    let text = body("[[actions]]\nat = \"21s\"\ndo = \"add_consumer\"\ngroup = \"G\"\n", 1, 1).replace(
        "name = \"broker-a\"\n",
        "name = \"broker-a\"\n[topology.broker_groups.config]\nnotifyConsumerIdsChangedEnable = false\n",
    );
    let sim = run(&text, 3, Time::from_secs(60));
    let join = Time::from_secs(21);
    let taken: Vec<_> = added(&sim).into_iter().filter(|a| a.0 >= join).collect();
    assert_eq!(taken.iter().map(|a| (a.1.as_str(), a.2)).collect::<Vec<_>>(), [("G-1", 2), ("G-1", 3)]);
    let released: Vec<_> = dropped(&sim).into_iter().filter(|d| d.1 == "G-0").collect();
    assert_eq!(released.iter().map(|d| d.2).collect::<Vec<_>>(), [2, 3]);
    // G-0's rebalances run every 20 s after the previous one ended: near 40 s, not at the join.
    let release_at = released[0].0;
    assert!(release_at > Time::from_secs(39) && release_at < Time::from_secs(41), "{release_at}");
    // During the overlap both consumers processed messages of queue 2.
    let overlap =
        |node: &str| processed_by(&sim, node, 2).iter().filter(|(t, ..)| *t > taken[0].0 && *t < release_at).count();
    assert!(overlap("G-0") > 0 && overlap("G-1") > 0, "G-0 {} G-1 {}", overlap("G-0"), overlap("G-1"));
    // G-1 started from the broker's offset while G-0 went on: what both consumed is processed twice.
    assert!(!duplicates(&sim).is_empty());
}

#[test]
fn a_consumer_that_starts_later_is_not_started_until_then_and_not_reported_as_killed() {
    use rmqsim_core::sim::kernel::NodeStatus;
    let text = cluster(1, &[("broker-a", "")], &[("T", 4)])
        + r#"
[[consumer_groups]]
group = "G"
members = 1
start_at = "10s"
subscriptions = [{ topic = "T" }]
"#;
    let mut sim = run(&text, 1, Time::from_secs(5));
    let consumer = node(&sim, "G-0");
    assert_eq!(sim.kernel().status(consumer), NodeStatus::NotStarted);
    assert_eq!(sim.kernel().status(node(&sim, "broker-a")), NodeStatus::Up);
    sim.run_until(Time::from_secs(11));
    assert_eq!(sim.kernel().status(consumer), NodeStatus::Up, "it boots at its start time");
}

#[test]
fn a_consumer_the_operator_removes_is_stopped_not_killed_and_a_later_kill_changes_nothing() {
    use rmqsim_core::sim::kernel::NodeStatus;
    let text = body(
        "[[actions]]\nat = \"10s\"\ndo = \"remove_consumer\"\nnode = \"G-1\"\n\
         [[actions]]\nat = \"20s\"\ndo = \"crash\"\nnode = \"G-1\"\nkind = \"process_kill\"\n\
         [[actions]]\nat = \"20s\"\ndo = \"crash\"\nnode = \"G-0\"\nkind = \"process_kill\"\n",
        2,
        0,
    );
    let mut sim = run(&text, 1, Time::from_secs(10));
    assert_eq!(sim.kernel().status(node(&sim, "G-1")), NodeStatus::Up, "it shuts down first (1 s of grace)");
    sim.run_until(Time::from_secs(12));
    assert_eq!(sim.kernel().status(node(&sim, "G-1")), NodeStatus::Stopped);
    sim.run_until(Time::from_secs(21));
    assert_eq!(sim.kernel().status(node(&sim, "G-1")), NodeStatus::Stopped);
    assert_eq!(
        sim.kernel().status(node(&sim, "G-0")),
        NodeStatus::Down(rmqsim_core::sim::disk::CrashKind::ProcessKill)
    );
}

#[test]
fn listener_calls_running_at_a_graceful_shutdown_finish_before_the_process_ends_and_are_consumed_again() {
    // 300 ms per message: when G-1 shuts down at 10 s, some of its consume threads are inside the
    // listener. shutdown() stops the client and drops every process queue, but a running listener call
    // is not interrupted: it returns, its business effect happens, and ConsumeRequest.run skips
    // processConsumeResult because the queue is dropped. The offsets are not committed, so G-0 consumes
    // those messages again once it owns the queues.
    let text = body("[[actions]]\nat = \"10s\"\ndo = \"remove_consumer\"\nnode = \"G-1\"\n", 2, 0)
        .replace("processing_time = \"5ms\"", "processing_time = \"300ms\"");
    let sim = run(&text, 1, Time::from_secs(60));
    let shutdown = Time::from_secs(10);
    let process_end = Time::from_secs(11);
    let after: Vec<Finished> = finished(&sim).into_iter().filter(|f| f.node == "G-1" && f.time > shutdown).collect();
    assert!(!after.is_empty(), "some listener calls were running at the shutdown");
    assert!(after.iter().all(|f| f.time <= process_end && f.discarded), "{after:?}");
    let counts = processed_counts(&sim);
    for f in &after {
        assert_eq!(counts[&f.msg_id], 2, "{} is processed again by G-0", f.msg_id);
    }
    let again: BTreeSet<String> = after.iter().map(|f| f.msg_id.clone()).collect();
    assert!(again.is_subset(&duplicates(&sim)));
}

#[test]
fn with_await_termination_millis_when_shutdown_the_running_calls_commit_their_offsets_before_the_consumer_leaves() {
    // The same shutdown with awaitTerminationMillisWhenShutdown = 2 s: shutdown() waits for the consume
    // threads before it persists the offsets and drops the queues, so what G-1 processed is committed
    // and G-0 does not consume it again; the process ends a second after shutdown() returns.
    use rmqsim_core::sim::kernel::NodeStatus;
    let text = body("[[actions]]\nat = \"10s\"\ndo = \"remove_consumer\"\nnode = \"G-1\"\n", 2, 0).replace(
        "processing_time = \"5ms\"",
        "processing_time = \"300ms\"\n[consumer_groups.config]\nawaitTerminationMillisWhenShutdown = 2000",
    );
    let mut sim = run(&text, 1, Time::from_secs(10));
    let g1 = node(&sim, "G-1");
    sim.run_until(Time::from_millis(10_200));
    assert_eq!(sim.kernel().status(g1), NodeStatus::Up, "shutdown() is still waiting for its threads");
    sim.run_until(Time::from_secs(60));
    assert_eq!(sim.kernel().status(g1), NodeStatus::Stopped);
    let after: Vec<Finished> =
        finished(&sim).into_iter().filter(|f| f.node == "G-1" && f.time > Time::from_secs(10)).collect();
    assert!(!after.is_empty(), "some listener calls were running at the shutdown");
    assert!(after.iter().all(|f| !f.discarded && f.time <= Time::from_millis(10_300)), "{after:?}");
    let by_g1: BTreeSet<String> = finished(&sim).into_iter().filter(|f| f.node == "G-1").map(|f| f.msg_id).collect();
    assert!(duplicates(&sim).is_disjoint(&by_g1), "nothing G-1 processed is consumed again");
    // While it waited, a pull whose messages the shut-down executor rejected was its queue's last.
    let pulls_after = sim
        .observations()
        .iter()
        .filter(|o| o.node == g1 && o.time > Time::from_secs(10))
        .filter(|o| matches!(o.observation, Observation::MessagesPulled { .. }))
        .count();
    assert!(pulls_after <= 2, "at most one last pull per queue, got {pulls_after}");
}

#[test]
fn await_termination_set_live_before_a_removal_is_what_that_shutdown_waits_for() {
    // `setAwaitTerminationMillisWhenShutdown` is read by shutdown(): set on the running group at 5 s, it
    // decides the removal at 10 s exactly as the configured value would.
    let live = body(
        "[[actions]]\nat = \"5s\"\ndo = \"update_consumer_config\"\ngroup = \"G\"\n\
         key = \"awaitTerminationMillisWhenShutdown\"\nvalue = \"2000\"\n\
         [[actions]]\nat = \"10s\"\ndo = \"remove_consumer\"\nnode = \"G-1\"\n",
        2,
        0,
    )
    .replace("processing_time = \"5ms\"", "processing_time = \"300ms\"");
    let sim = run(&live, 1, Time::from_secs(60));
    let after: Vec<Finished> =
        finished(&sim).into_iter().filter(|f| f.node == "G-1" && f.time > Time::from_secs(10)).collect();
    assert!(!after.is_empty() && after.iter().all(|f| !f.discarded), "{after:?}");
    let by_g1: BTreeSet<String> = finished(&sim).into_iter().filter(|f| f.node == "G-1").map(|f| f.msg_id).collect();
    assert!(duplicates(&sim).is_disjoint(&by_g1), "nothing G-1 processed is consumed again");
}
