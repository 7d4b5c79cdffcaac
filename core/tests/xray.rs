//! The inspectors' data (`core/src/xray.rs`) on real runs: what a student sees in the storage X-ray,
//! the producer's and the consumer's inspectors, the rebalance swimlane and a message's fate.

use rmqsim_core::scenario::{library, Scenario};
use rmqsim_core::time::{Duration, Time};
use rmqsim_core::xray::{FateNote, MAX_PAGE};
use rmqsim_core::Simulation;

fn run(id: &str, until_secs: u64) -> Simulation {
    let scenario = Scenario::parse(id, library::find(id).unwrap()).unwrap();
    let mut sim = Simulation::new(&scenario, scenario.seed).unwrap();
    sim.run_until(Time::ZERO + Duration::from_secs(until_secs));
    sim
}

#[test]
fn the_storage_xray_lists_commit_log_files_by_offset_name_and_pages_through_contiguous_records() {
    let sim = run("consumer-rebalance-join", 10);
    let xray = sim.storage_xray("broker-a", Some(0), 20).unwrap();
    let log = &xray.store.commit_log;
    assert!(!log.files.is_empty());
    for file in &log.files {
        let name = file.name.rsplit('/').next().unwrap();
        assert_eq!(name.len(), 20, "{}", file.name);
        assert_eq!(name.parse::<i64>().unwrap(), file.file_from_offset);
    }
    assert!(log.max_offset > 0 && log.flushed_where <= log.max_offset && log.dispatched_offset <= log.max_offset);
    assert_eq!(xray.flush_lag_bytes, log.max_offset - log.flushed_where);
    let records = &xray.records.records;
    assert_eq!(records.len(), 20);
    for pair in records.windows(2) {
        assert_eq!(pair[0].commit_log_offset + i64::from(pair[0].size), pair[1].commit_log_offset);
    }
    assert!(records.iter().all(|r| r.topic == "TopicTest" && r.msg_id.is_some()), "{records:?}");
    let next = xray.records.next.expect("more records than one page");
    let second = sim.storage_xray("broker-a", Some(next), 500).unwrap();
    assert_eq!(second.records.records[0].commit_log_offset, next);
    assert!(second.records.records.len() as u32 <= MAX_PAGE, "a page is bounded whatever is asked");
    let last = sim.storage_xray("broker-a", None, 10).unwrap();
    let end = last.records.records.last().unwrap();
    assert_eq!(
        end.commit_log_offset + i64::from(end.size),
        log.max_offset,
        "the default page ends at the write position"
    );
}

#[test]
fn consume_queue_units_point_at_the_commit_log_records_of_their_queue() {
    let sim = run("consumer-rebalance-join", 10);
    let page = sim.consume_queue_page("broker-a", "TopicTest", 2, Some(0), 10).unwrap();
    assert_eq!(page.rows.len(), 10);
    for row in &page.rows {
        let xray = sim.storage_xray("broker-a", Some(row.commit_log_offset), 1).unwrap();
        let record = &xray.records.records[0];
        assert_eq!(record.commit_log_offset, row.commit_log_offset);
        assert_eq!(record.size, row.size);
        assert_eq!((record.queue_id, record.queue_offset), (2, row.queue_offset));
        assert_eq!(record.msg_id, row.msg_id);
    }
    assert!(sim.consume_queue_page("broker-a", "NoSuchTopic", 0, None, 10).unwrap_err().contains("no ConsumeQueue"));
}

#[test]
fn an_index_lookup_by_key_finds_the_records_whose_keys_contain_it() {
    let sim = run("ordering-by-order-id", 10);
    let xray = sim.storage_xray("broker-a", Some(0), 5).unwrap();
    let record = xray.records.records.iter().find(|r| r.keys.is_some()).expect("messages carry keys");
    let key = record.keys.clone().unwrap();
    let key = key.split(' ').next().unwrap().to_string();
    let found = sim.index_lookup("broker-a", &record.topic, &key).unwrap();
    assert!(found.records.iter().any(|r| r.commit_log_offset == record.commit_log_offset), "{found:?}");
    assert!(found.records.iter().all(|r| r.topic == record.topic));
    assert!(sim.index_lookup("broker-a", &record.topic, "  ").is_err());
}

#[test]
fn a_broker_that_is_down_or_not_a_broker_has_no_xray_and_says_why() {
    let sim = run("producer-broker-down", 40);
    assert!(sim.storage_xray("broker-b", None, 10).unwrap_err().contains("down"));
    assert!(sim.storage_xray("nobody", None, 10).unwrap_err().contains("no node"));
    assert!(sim.storage_xray("namesrv-0", None, 10).unwrap_err().contains("not a broker"));
}

#[test]
fn the_avoiding_producer_shows_the_silent_broker_in_its_fault_table_until_its_isolation_ends() {
    let sim = run("producer-broker-down", 40);
    let producer = sim.producer_xray("producer-avoider").unwrap();
    assert!(producer.send_latency_fault_enable);
    let item = producer.fault_items.iter().find(|f| f.broker_name == "broker-b").expect("broker-b recorded");
    assert!(!item.available_now);
    assert_eq!(item.not_available_duration_ms, 600_000, "an isolation is looked up as 30 000 ms in 4.9's table");
    assert_eq!(item.available_at_ms, item.updated_at_ms + 600_000);
    let topic = producer.publish.iter().find(|p| p.topic == "TopicTest").unwrap();
    assert_eq!(topic.queues.len(), 8);
    assert!(topic.queues.iter().all(|q| q.broker_addr.is_some()));
    assert!(topic.queues.iter().filter(|q| q.broker_name == "broker-b").all(|q| !q.available));
    let plain = sim.producer_xray("producer-plain").unwrap();
    assert!(!plain.send_latency_fault_enable);
}

#[test]
fn after_a_join_each_consumer_saw_both_ids_and_holds_half_the_queues_with_their_offsets() {
    let sim = run("consumer-rebalance-join", 30);
    for node in ["consumer-0", "consumer-1"] {
        let consumer = sim.consumer_xray(node).unwrap();
        let seen = consumer.last_rebalance.iter().find(|r| r.topic == "TopicTest").unwrap();
        assert_eq!(seen.cid_all.len(), 2, "{node}: {seen:?}");
        assert_eq!(seen.mq_all, 4);
        assert_eq!(seen.allocated.len(), 2);
        let live: Vec<_> = consumer.process_queues.iter().filter(|q| !q.dropped && q.topic == "TopicTest").collect();
        assert_eq!(live.len(), 2, "{node}");
        for q in live {
            assert!(q.broker_offset.is_some() && q.max_offset.is_some() && q.local_offset.is_some(), "{q:?}");
            assert_eq!(q.lag, Some(q.max_offset.unwrap() - q.broker_offset.unwrap()));
        }
        assert_eq!(consumer.progress.iter().filter(|p| p.topic == "TopicTest").count(), 4);
    }
}

#[test]
fn the_swimlane_shows_two_queues_moving_to_the_new_consumer_at_the_join() {
    let sim = run("consumer-rebalance-join", 30);
    let lanes = sim.rebalance_swimlane("OrderProcessing");
    assert!(!lanes.broadcasting);
    let topic: Vec<_> = lanes.lanes.iter().filter(|l| l.queue.starts_with("TopicTest ")).collect();
    assert_eq!(topic.len(), 4);
    assert_eq!(lanes.clients.len(), 2);
    let moved: Vec<_> = topic.iter().filter(|l| l.segments.len() == 2).collect();
    assert_eq!(moved.len(), 2, "{lanes:#?}");
    for lane in moved {
        let (first, second) = (&lane.segments[0], &lane.segments[1]);
        assert_ne!(first.client_id, second.client_id);
        let handed_over = first.to.expect("the first owner dropped it");
        assert!(handed_over > Time::ZERO + Duration::from_secs(20), "{lane:?}");
        assert!(second.to.is_none());
        for alert in lane.double_owned.iter().chain(&lane.unowned) {
            assert!(alert.from < alert.to && alert.to <= lanes.now);
        }
    }
    let kept = topic.iter().filter(|l| l.segments.len() == 1).count();
    assert_eq!(kept, 2);
    assert!(sim.rebalance_swimlane("NoSuchGroup").lanes.is_empty());
}

#[test]
fn a_message_found_by_offset_msg_id_or_key_shows_its_fate_from_request_to_consumption() {
    let sim = run("ordering-by-order-id", 20);
    let xray = sim.storage_xray("broker-a", Some(0), 1).unwrap();
    let record = &xray.records.records[0];
    let msg_id = record.msg_id.clone().unwrap();
    let by_uniq = sim.message_fate(&msg_id);
    let entries = by_uniq.entries.expect("the first messages of a run are followed");
    let text = format!("{entries:?}");
    for step in ["Requested", "Stored", "Acknowledged", "ConsumeFinished", "OffsetCommitted"] {
        assert!(text.contains(step), "{step} missing: {text}");
    }
    let by_offset = sim.message_fate(&record.offset_msg_id);
    assert_eq!(by_offset.msg_id.as_deref(), Some(msg_id.as_str()), "{:?}", by_offset.notes);
    assert_eq!(by_offset.entries.as_ref().map(Vec::len), Some(entries.len()));
    let key = record.keys.clone().unwrap();
    let key = key.split(' ').next().unwrap();
    let by_key = sim.message_fate(key);
    assert!(!by_key.matches.is_empty(), "{:?}", by_key.notes);
    assert!(by_key.matches.iter().all(|m| m.keys.as_deref().unwrap_or("").split(' ').any(|k| k == key)));
    assert!(by_key.entries.is_some(), "a followed message with this key is shown: {:?}", by_key.notes);
    let nothing = sim.message_fate("no-such-key-anywhere");
    assert!(nothing.entries.is_none() && nothing.matches.is_empty() && !nothing.notes.is_empty());
}

#[test]
fn the_name_server_shows_each_live_broker_with_its_data_version_and_expiry_120_s_after_its_last_registration() {
    let sim = run("producer-broker-down", 45);
    let ns = sim.name_server_xray("namesrv-0").unwrap();
    assert_eq!(ns.broker_channel_expired_ms, 120_000);
    assert_eq!(ns.scan_interval_ms, 5_000);
    assert_eq!(ns.live.len(), 2, "broker-b lost power at 30 s but is not expired yet: {ns:?}");
    for live in &ns.live {
        assert_eq!(live.expires_at_ms, live.last_update_timestamp_ms + 120_000);
    }
    let b = ns.live.iter().find(|l| l.broker_name == "broker-b").unwrap();
    let a = ns.live.iter().find(|l| l.broker_name == "broker-a").unwrap();
    assert!(b.last_update_timestamp_ms < a.last_update_timestamp_ms, "broker-b stopped registering");
    assert_eq!(ns.clusters.len(), 1);
    assert_eq!(ns.broker_addrs.len(), 2);
    let later = run("producer-broker-down", 140);
    let ns = later.name_server_xray("namesrv-0").unwrap();
    assert!(ns.live.iter().all(|l| l.broker_name != "broker-b"), "the scan removed broker-b: {ns:?}");
}

#[test]
fn a_message_the_ledger_does_not_follow_is_still_found_by_its_msg_id_and_says_so() {
    let sim = run("ordering-by-order-id", 20);
    let last = sim.storage_xray("broker-a", None, 1).unwrap();
    let record = last.records.records.last().unwrap();
    let msg_id = record.msg_id.clone().unwrap();
    let fate = sim.message_fate(&msg_id);
    assert!(fate.entries.is_none(), "a late message is not followed");
    assert_eq!(fate.matches.len(), 1, "{:?}", fate.notes);
    assert_eq!(fate.matches[0].commit_log_offset, record.commit_log_offset);
    assert!(fate.notes.iter().any(|n| matches!(n, FateNote::NotFollowed { .. })), "{:?}", fate.notes);
}

#[test]
fn replaying_the_run_follows_a_message_the_ledger_missed_and_finds_where_it_was_stored() {
    let scenario = Scenario::parse("ordering-by-order-id", library::find("ordering-by-order-id").unwrap()).unwrap();
    let until = Time::ZERO + Duration::from_secs(20);
    let sim = run("ordering-by-order-id", 20);
    let record = sim.storage_xray("broker-a", None, 1).unwrap().records.records.last().unwrap().clone();
    let msg_id = record.msg_id.clone().unwrap();
    assert!(sim.checks().fate(&msg_id).is_none());
    let entries = rmqsim_core::xray::follow_by_replay(&scenario, scenario.seed, &[], until, &msg_id).unwrap();
    let stored = entries.iter().find_map(|e| match &e.event {
        rmqsim_core::check::fate::FateEvent::Stored { commit_log_offset, .. } => Some(*commit_log_offset),
        _ => None,
    });
    assert_eq!(stored, Some(record.commit_log_offset), "{entries:?}");
    let mut following = Simulation::new(&scenario, scenario.seed).unwrap();
    following.checks_mut().follow(&msg_id);
    following.run_until(until);
    assert_eq!(following.digest(), sim.digest(), "following a message does not change the run");
}

#[test]
fn a_message_followed_after_it_was_stored_still_gets_the_offset_commit_that_passes_it() {
    let mut sim = run("ordering-by-order-id", 10);
    let record = sim.storage_xray("broker-a", None, 1).unwrap().records.records.last().unwrap().clone();
    let msg_id = record.msg_id.clone().unwrap();
    assert!(sim.checks().fate(&msg_id).is_none(), "a late message is not followed");
    sim.checks_mut().follow(&msg_id);
    sim.run_until(Time::ZERO + Duration::from_secs(40));
    let entries = sim.checks().fate(&msg_id).expect("followed from 10 s on");
    let committed = entries.iter().find_map(|e| match &e.event {
        rmqsim_core::check::fate::FateEvent::OffsetCommitted { offset, .. } => Some(*offset),
        _ => None,
    });
    assert!(committed.is_some_and(|offset| offset > record.queue_offset), "{entries:?}");
}

#[test]
fn a_replay_run_a_few_events_at_a_time_finds_the_same_life_as_one_run_to_the_end() {
    use rmqsim_core::action_log::UserAction;
    use rmqsim_core::scenario::model::CrashKindSpec;
    use rmqsim_core::scenario::ActionSpec;
    let scenario = Scenario::parse("ordering-by-order-id", library::find("ordering-by-order-id").unwrap()).unwrap();
    let until = Time::ZERO + Duration::from_secs(20);
    let record = run("ordering-by-order-id", 20).storage_xray("broker-a", None, 1).unwrap().records.records[0].clone();
    let msg_id = record.msg_id.unwrap();
    let at = |s| Time::ZERO + Duration::from_secs(s);
    let actions = vec![
        UserAction {
            at: at(5),
            action: ActionSpec::Crash { node: "broker-a".into(), kind: CrashKindSpec::ProcessKill },
        },
        UserAction { at: at(9), action: ActionSpec::Restart { node: "broker-a".into() } },
    ];
    let whole = rmqsim_core::xray::follow_by_replay(&scenario, scenario.seed, &actions, until, &msg_id).unwrap();
    let mut replay = rmqsim_core::xray::FateReplay::new(&scenario, scenario.seed, &actions, until, &msg_id).unwrap();
    let mut slices = 0;
    let sliced = loop {
        slices += 1;
        if let Some(result) = replay.advance(37) {
            break result.unwrap();
        }
        assert!(replay.progress_permille() < 1_000 || slices > 1);
    };
    assert!(slices > 10, "a replay in slices of 37 events takes many slices: {slices}");
    assert_eq!(replay.progress_permille(), 1_000);
    assert_eq!(sliced, whole, "slicing the replay does not change what it finds");
    assert!(whole.len() > 1, "{whole:?}");
}

#[test]
fn asking_the_kernel_for_a_node_id_past_the_last_gives_none_instead_of_a_panic() {
    let sim = run("ordering-by-order-id", 1);
    let count = sim.kernel().node_count();
    assert!(sim.kernel().node(rmqsim_core::sim::node::NodeId(0)).is_some());
    assert!(sim.kernel().node(rmqsim_core::sim::node::NodeId(count as u16)).is_none());
    assert!(sim.kernel().node(rmqsim_core::sim::node::NodeId(u16::MAX)).is_none());
}
