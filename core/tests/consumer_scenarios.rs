//! Every built-in consumer scenario runs and shows what its narrative says it shows.

mod consumer_support;

use std::collections::{BTreeMap, BTreeSet};

use consumer_support::*;
use rmqsim_core::observation::{ConsumeOutcome, DropReason, Observation};
use rmqsim_core::scenario::{library, Scenario};
use rmqsim_core::time::Time;
use rmqsim_core::Simulation;

fn run_builtin(id: &str) -> Simulation {
    let scenario = Scenario::parse(id, library::find(id).unwrap()).unwrap();
    let mut sim = Simulation::new(&scenario, scenario.seed).unwrap();
    sim.run_until(Time::ZERO + scenario.run_for());
    assert!(sim.kernel().halted().is_none(), "{id} ran to its end");
    sim
}

/// Per group: msgId → how many times its work took effect (listener success, or background work done).
fn done_per_group(sim: &Simulation) -> BTreeMap<String, BTreeMap<String, u32>> {
    let mut per_group: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
    for o in sim.observations() {
        let (group, msg_id) = match &o.observation {
            Observation::ConsumeFinished { group, msg_id, status: ConsumeOutcome::Success, .. } => (group, msg_id),
            Observation::BackgroundWorkFinished { group, msg_id, ok: true, .. } => (group, msg_id),
            _ => continue,
        };
        *per_group.entry(group.clone()).or_default().entry(msg_id.clone()).or_insert(0) += 1;
    }
    per_group
}

/// (processed at least once, processed more than once, never processed) of `group` over `topic`.
fn tally(sim: &Simulation, group: &str, topic: &str) -> (usize, usize, usize) {
    let done = done_per_group(sim).remove(group).unwrap_or_default();
    let stored = stored_msg_ids(sim, topic);
    let lost = stored.iter().filter(|id| !done.contains_key(*id)).count();
    let twice = done.values().filter(|n| **n > 1).count();
    (done.len(), twice, lost)
}

#[test]
fn consumer_rebalance_join_moves_two_queues_at_20_s_and_replays_one_message() {
    let sim = run_builtin("consumer-rebalance-join");
    let moved: Vec<(String, i32)> = sim
        .observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::ProcessQueueAdded { queue, .. }
                if o.time >= Time::from_secs(20) && &*queue.topic == "TopicTest" =>
            {
                Some((name(&sim, o.node), queue.queue_id))
            }
            _ => None,
        })
        .collect();
    assert_eq!(moved, [("consumer-1".into(), 2), ("consumer-1".into(), 3)]);
    assert_eq!(tally(&sim, "OrderProcessing", "TopicTest"), (1_920, 1, 0));
}

#[test]
fn consumer_crash_replay_processes_two_messages_twice_and_loses_none() {
    let sim = run_builtin("consumer-crash-replay");
    assert_eq!(tally(&sim, "Shipping", "TopicTest"), (960, 2, 0));
}

#[test]
fn consumer_idempotent_replay_absorbs_the_whole_replay_in_the_idempotent_group_only() {
    let sim = run_builtin("consumer-idempotent-replay");
    assert_eq!(tally(&sim, "Billing", "TopicTest"), (180, 0, 0));
    assert_eq!(tally(&sim, "Shipping", "TopicTest"), (180, 180, 0));
    let skipped = finished(&sim).iter().filter(|f| f.status == ConsumeOutcome::DuplicateSkipped).count();
    assert_eq!(skipped, 180);
    let resets = sim.observations().iter().filter(|o| matches!(o.observation, Observation::OffsetReset { .. })).count();
    assert_eq!(resets, 2);
}

#[test]
fn consumer_database_outage_retries_through_the_delay_levels_and_loses_nothing() {
    let sim = run_builtin("consumer-database-outage");
    let (_, _, lost) = tally(&sim, "PaymentGroup", "PaymentTopic");
    assert_eq!(lost, 0);
    let levels: BTreeSet<i32> = picked(&sim, |o| match o {
        Observation::DelayedMessageDelivered { delay_level, .. } => Some(*delay_level),
        _ => None,
    })
    .into_iter()
    .collect();
    assert!(levels.contains(&3) && levels.contains(&4) && levels.contains(&5), "{levels:?}");
    // Failures happen only while the database is down (a call started before 80 s may fail up to 3 s later).
    for f in finished(&sim) {
        if f.status == ConsumeOutcome::ReconsumeLater {
            assert!(f.time >= Time::from_secs(20) && f.time <= Time::from_secs(83), "{f:?}");
        }
    }
    assert!(stored_msg_ids(&sim, "%DLQ%PaymentGroup").is_empty());
}

#[test]
fn consumer_orderly_lock_stalls_the_dead_owners_queues_until_its_broker_locks_expire() {
    let sim = run_builtin("consumer-orderly-lock");
    for f in finished(&sim) {
        if &*f.queue.topic == "OrderTopic" && [0, 1].contains(&f.queue.queue_id) {
            assert!(!(f.time > Time::from_millis(60_100) && f.time <= Time::from_secs(101)), "{f:?}");
        }
    }
    let resumed = finished(&sim)
        .iter()
        .filter(|f| &*f.queue.topic == "OrderTopic" && f.queue.queue_id == 0 && f.time > Time::from_secs(101))
        .map(|f| f.time)
        .min()
        .unwrap();
    assert!(resumed <= Time::from_secs(121), "resumed at {resumed}");
    let (_, _, lost) = tally(&sim, "OrderGroup", "OrderTopic");
    assert_eq!(lost, 0);
}

#[test]
fn consumer_broadcasting_gives_every_cache_every_message_and_never_sends_back() {
    let sim = run_builtin("consumer-broadcasting");
    let stored = stored_msg_ids(&sim, "ConfigTopic");
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in finished(&sim) {
        seen.entry(f.node).or_default().insert(f.msg_id);
    }
    for node in ["cache-0", "cache-1", "cache-2"] {
        assert_eq!(seen[node].len(), stored.len(), "{node} had a go at every message");
    }
    assert!(!sim.observations().iter().any(|o| matches!(o.observation, Observation::MessageSentBack { .. })));
    // cache-1 was restarted: it found its local offsets file (same client id, ip@DEFAULT) and went on from it.
    let restarted_at: Vec<i64> = sim
        .observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::ProcessQueueAdded { offset, .. } if o.time >= Time::from_secs(20) => Some(*offset),
            _ => None,
        })
        .collect();
    assert_eq!(restarted_at.len(), 4);
    assert!(restarted_at.iter().all(|o| *o > 0), "{restarted_at:?}");
}

#[test]
fn consumer_commit_before_process_loses_the_eager_groups_unfinished_work_but_not_the_honest_ones() {
    let sim = run_builtin("consumer-commit-before-process");
    let (_, _, honest_lost) = tally(&sim, "Honest", "TopicTest");
    let (_, _, eager_lost) = tally(&sim, "Eager", "TopicTest");
    assert_eq!(honest_lost, 0);
    assert!(eager_lost > 0, "acknowledged work cut short by the crash is lost");
}

#[test]
fn consumer_backlog_scales_out_with_an_unowned_queue_on_the_way_and_skips_with_a_reset() {
    let sim = run_builtin("consumer-backlog");
    let (scale, _, _) = tally(&sim, "Scale", "TopicTest");
    let (skip, _, _) = tally(&sim, "Skip", "TopicTest");
    assert!(scale > skip, "scale {scale} skip {skip}");
    // At 60 s scale-0 (old route: 2 queues) drops queue 1 while scale-1 (new route: 4 queues) does not take it.
    let drop_q1 = sim.observations().iter().any(|o| {
        matches!(&o.observation, Observation::ProcessQueueDropped { queue, reason: DropReason::Rebalance, .. }
            if queue.queue_id == 1 && name(&sim, o.node) == "scale-0")
    });
    assert!(drop_q1);
    let retaken = sim
        .observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::ProcessQueueAdded { queue, .. }
                if queue.queue_id == 1 && o.time > Time::from_secs(60) && name(&sim, o.node).starts_with("scale") =>
            {
                Some(o.time)
            }
            _ => None,
        })
        .min()
        .unwrap();
    assert!(retaken > Time::from_secs(61), "queue 1 had no owner for a while (until {retaken})");
    let reset = sim.observations().iter().find_map(|o| match &o.observation {
        Observation::OffsetReset { group, consumers_online, offsets, .. } if group == "Skip" => {
            Some((*consumers_online, offsets.len()))
        }
        _ => None,
    });
    assert_eq!(reset, Some((true, 4)));
}

#[test]
fn consumer_lite_pull_replays_after_a_crash_and_loses_nothing() {
    let sim = run_builtin("consumer-lite-pull");
    let (done, twice, lost) = tally(&sim, "PullGroup", "TopicTest");
    assert_eq!((done, lost), (960, 0));
    assert!(twice > 0, "the crash replays what was processed after the last commit reached the broker");
    let polled =
        sim.observations().iter().filter(|o| matches!(o.observation, Observation::MessagesPolled { .. })).count();
    assert!(polled > 0);
}
