//! Named behaviours of the storage engine, each as RocketMQ 4.9 shows it: files roll, flushes and
//! their timeouts, dispatch lag, pull statuses, cleanup, disk full, queries, shutdown and restart.

mod store_support;

use rmqsim_core::broker::delay_level::SCHEDULE_TOPIC;
use rmqsim_core::broker::store::default_message_store::StoreState;
use rmqsim_core::broker::store::get_message::{GetMessageStatus, MessageFilter};
use rmqsim_core::broker::store::message_id::create_message_id;
use rmqsim_core::broker::store::message_store_config::{BrokerRole, FlushDiskType, MessageStoreConfig};
use rmqsim_core::broker::store::message_sys_flag::TRANSACTION_PREPARED_TYPE;
use rmqsim_core::broker::store::offsets::{CommitLogOffset, QueueOffset};
use rmqsim_core::broker::store::properties::MessageProperties;
use rmqsim_core::broker::store::put_message_result::{PutMessageStatus, PutOutcome};
use rmqsim_core::broker::store::store_checkpoint::abort_file_exists;
use rmqsim_core::broker::store::store_io::StoreIo;
use rmqsim_core::sim::disk::CrashKind;
use rmqsim_core::time::Time;
use store_support::*;

#[test]
fn files_roll_with_a_small_mapped_file_size() {
    let (mut store, mut io) = started(small_config(), 1);
    for id in 0..60 {
        assert_eq!(put_done(&mut store, &mut io, &message(id, 0, 100)).status, PutMessageStatus::PutOk);
    }
    let files: Vec<_> = io.disk().list("store/commitlog/").into_iter().map(|(name, _)| name).collect();
    assert!(files.len() >= 3, "{files:?}");
    assert_eq!(files[0], "store/commitlog/00000000000000000000");
    assert_eq!(files[1], "store/commitlog/00000000000000004096");
    // Every record is whole, in its file, and the ids are in order across files.
    assert_eq!(commit_log_ids(&store, &io), (0..60).collect::<Vec<_>>());
    let view = store.store_view(io.disk(), 5);
    for file in &view.commit_log.files[..view.commit_log.files.len() - 1] {
        assert_eq!(file.wrote_position, 4096, "a rolled file is full (its tail is the blank marker)");
    }
    advance_ms(&mut store, &mut io, 2);
    assert_eq!(store.get_max_offset_in_queue(TOPIC, 0), QueueOffset(60));
}

#[test]
fn an_async_flush_put_is_acknowledged_at_once_and_durable_after_the_next_flush() {
    let (mut store, mut io) = started(MessageStoreConfig::default(), 2);
    let result = put_done(&mut store, &mut io, &message(1, 0, 100));
    assert_eq!(result.status, PutMessageStatus::PutOk);
    let append = result.append.unwrap();
    assert_eq!((append.wrote_offset, append.logics_offset), (CommitLogOffset(0), QueueOffset(0)));
    assert_eq!(append.msg_id(), create_message_id(&message(1, 0, 100).store_host, CommitLogOffset(0)));
    let file = io.disk().lookup("store/commitlog/00000000000000000000").unwrap();
    assert_eq!(io.disk().durable_len(file), 0, "only in the page cache");
    // The first pass of FlushRealTimeService is thorough (least pages 0): flushed 500 ms later.
    advance_ms(&mut store, &mut io, 600);
    assert_eq!(io.disk().durable_len(file), append.wrote_bytes as u64);
    assert_eq!(store.commit_log().max_offset(), i64::from(append.wrote_bytes));
}

#[test]
fn a_sync_flush_put_completes_after_the_group_commit() {
    let config = MessageStoreConfig { flush_disk_type: FlushDiskType::SyncFlush, ..MessageStoreConfig::default() };
    let (mut store, mut io) = started(config, 3);
    let PutOutcome::Pending { ticket, result } = put(&mut store, &mut io, &message(1, 0, 100)) else { panic!() };
    assert_eq!(result.status, PutMessageStatus::PutOk);
    let PutOutcome::Pending { ticket: second, .. } = put(&mut store, &mut io, &message(2, 0, 100)) else { panic!() };
    let events = advance_ms(&mut store, &mut io, 10);
    let completed: Vec<_> = events.put_completions.iter().map(|c| (c.ticket, c.status)).collect();
    assert_eq!(completed, [(ticket, PutMessageStatus::PutOk), (second, PutMessageStatus::PutOk)]);
    assert_eq!(store.pending_put_count(), 0);
    let file = io.disk().lookup("store/commitlog/00000000000000000000").unwrap();
    assert_eq!(io.disk().durable_len(file) as i64, store.max_phy_offset());
}

#[test]
fn a_sync_flush_put_gets_flush_disk_timeout_after_5_s_on_a_slow_disk() {
    let config = MessageStoreConfig { flush_disk_type: FlushDiskType::SyncFlush, ..MessageStoreConfig::default() };
    let (mut store, mut io) = started(config, 4);
    io.disk_mut().slowdown_factor = 100_000; // ~50 s per sync
    let PutOutcome::Pending { ticket, .. } = put(&mut store, &mut io, &message(1, 0, 100)) else { panic!() };
    let events = advance_ms(&mut store, &mut io, 4_999);
    assert!(events.put_completions.is_empty());
    let events = advance_ms(&mut store, &mut io, 1);
    assert_eq!(events.put_completions.len(), 1);
    assert_eq!(
        (events.put_completions[0].ticket, events.put_completions[0].status),
        (ticket, PutMessageStatus::FlushDiskTimeout)
    );
    // The message is stored all the same and readable once dispatched.
    assert_eq!(store.get_max_offset_in_queue(TOPIC, 0), QueueOffset(1));
}

#[test]
fn wait_false_skips_the_flush_wait() {
    let config = MessageStoreConfig { flush_disk_type: FlushDiskType::SyncFlush, ..MessageStoreConfig::default() };
    let (mut store, mut io) = started(config, 5);
    let mut msg = message(1, 0, 100);
    msg.properties.put("WAIT", "false");
    assert_eq!(put_done(&mut store, &mut io, &msg).status, PutMessageStatus::PutOk);
    assert_eq!(io.syncs_issued, 1, "the group commit still flushes it");
}

#[test]
fn a_message_becomes_visible_to_pulls_only_after_dispatch() {
    let (mut store, mut io) = started(MessageStoreConfig::default(), 6);
    put_done(&mut store, &mut io, &message(1, 0, 100));
    let before = store.get_message(io.disk(), "g", TOPIC, 0, QueueOffset(0), 32, None).unwrap();
    assert_eq!(before.status, GetMessageStatus::NoMatchedLogicQueue);
    assert_eq!(store.dispatch_behind_bytes(), store.max_phy_offset());
    let events = advance_ms(&mut store, &mut io, 1);
    assert_eq!(events.messages_arrived.len(), 1);
    assert_eq!(events.messages_arrived[0].max_offset, QueueOffset(1));
    let after = store.get_message(io.disk(), "g", TOPIC, 0, QueueOffset(0), 32, None).unwrap();
    assert_eq!(after.status, GetMessageStatus::Found);
    assert_eq!(body_id(&after.messages[0].decode().unwrap().body), 1);
}

#[test]
fn pull_statuses_follow_the_spec_table() {
    // Spec §13 item 19.
    let (mut store, mut io) = started(MessageStoreConfig::default(), 7);
    for id in 0..10 {
        put_done(&mut store, &mut io, &message(id, 0, 100));
    }
    advance_ms(&mut store, &mut io, 1);
    let pull =
        |offset: i64, max: i32| store.get_message(io.disk(), "g", TOPIC, 0, QueueOffset(offset), max, None).unwrap();
    let at_max = pull(10, 32);
    assert_eq!((at_max.status, at_max.next_begin_offset), (GetMessageStatus::OffsetOverflowOne, QueueOffset(10)));
    let past = pull(12, 32);
    assert_eq!((past.status, past.next_begin_offset), (GetMessageStatus::OffsetOverflowBadly, QueueOffset(10)));
    let found = pull(3, 32);
    assert_eq!((found.status, found.next_begin_offset), (GetMessageStatus::Found, QueueOffset(10)));
    assert_eq!(found.messages.iter().map(|m| m.queue_offset.0).collect::<Vec<_>>(), (3..10).collect::<Vec<_>>());
    assert_eq!((found.min_offset, found.max_offset), (QueueOffset(0), QueueOffset(10)));
    assert!(!found.suggest_pulling_from_slave);

    put_done(&mut store, &mut io, &message(99, 1, 100));
    advance_ms(&mut store, &mut io, 1);
    let other_queue = store.get_message(io.disk(), "g", TOPIC, 2, QueueOffset(0), 32, None).unwrap();
    assert_eq!(other_queue.status, GetMessageStatus::NoMatchedLogicQueue);
}

#[test]
fn after_a_disk_loss_the_store_starts_empty() {
    let (mut store, mut io) = started(small_config(), 8);
    put_done(&mut store, &mut io, &message(1, 0, 10));
    advance_ms(&mut store, &mut io, 2_000);
    io.crash(CrashKind::DiskLoss);
    let store = start(small_config(), &mut io);
    assert!(store.recovery_report().last_exit_ok, "no abort file survives a disk loss");
    assert_eq!((store.min_phy_offset(), store.max_phy_offset()), (-1, 0));
    let pull = store.get_message(io.disk(), "g", TOPIC, 0, QueueOffset(0), 32, None).unwrap();
    assert_eq!(pull.status, GetMessageStatus::NoMatchedLogicQueue);
}

#[test]
fn in_memory_and_on_disk_batches_have_rocketmqs_caps() {
    let config = MessageStoreConfig { simulated_physical_memory_bytes: 10_000, ..MessageStoreConfig::default() };
    let (mut store, mut io) = started(config, 9);
    for id in 0..40 {
        put_done(&mut store, &mut io, &message(id, 0, 100));
    }
    advance_ms(&mut store, &mut io, 1);
    // 40 % of 10 000 bytes is "in memory": older records are "on disk", capped at 8 per pull.
    let old = store.get_message(io.disk(), "g", TOPIC, 0, QueueOffset(0), 32, None).unwrap();
    assert_eq!(old.message_count(), 8);
    assert!(old.suggest_pulling_from_slave);
    let (mut store, mut io) = started(MessageStoreConfig::default(), 9);
    for id in 0..40 {
        put_done(&mut store, &mut io, &message(id, 0, 100));
    }
    advance_ms(&mut store, &mut io, 1);
    assert_eq!(store.get_message(io.disk(), "g", TOPIC, 0, QueueOffset(0), 64, None).unwrap().message_count(), 32);
}

struct TagFilter(i64);

impl MessageFilter for TagFilter {
    fn is_matched_by_consume_queue(&self, tags_code: Option<i64>) -> bool {
        tags_code == Some(self.0)
    }
    fn is_matched_by_commit_log(&self, _properties: &MessageProperties) -> bool {
        true
    }
    fn filters_by_commit_log(&self) -> bool {
        false
    }
}

#[test]
fn a_tag_filter_skips_units_by_tags_code() {
    let (mut store, mut io) = started(MessageStoreConfig::default(), 10);
    for id in 0..6 {
        put_done(&mut store, &mut io, &message(id, 0, 20));
    }
    advance_ms(&mut store, &mut io, 1);
    let t1 = rmqsim_core::java::string_hash_code("T1") as i64;
    let found = store.get_message(io.disk(), "g", TOPIC, 0, QueueOffset(0), 32, Some(&TagFilter(t1))).unwrap();
    assert_eq!(found.messages.iter().map(|m| m.queue_offset.0).collect::<Vec<_>>(), [1, 4]);
    let none = store.get_message(io.disk(), "g", TOPIC, 0, QueueOffset(0), 32, Some(&TagFilter(7))).unwrap();
    assert_eq!((none.status, none.next_begin_offset), (GetMessageStatus::NoMatchedMessage, QueueOffset(6)));
}

#[test]
fn cleanup_deletes_expired_files_and_moves_the_consume_queue_min_offset() {
    let config = MessageStoreConfig { file_reserved_time: 1, delete_when: "99".into(), ..small_config() };
    let (mut store, mut io) = started(config, 11);
    for id in 0..60 {
        put_done(&mut store, &mut io, &message(id, 0, 100));
    }
    advance_ms(&mut store, &mut io, 1);
    let files_before = store.commit_log().file_count();
    assert!(files_before >= 3);
    // Not the hour, disk not full, not manual: nothing happens even though files are old.
    advance_ms(&mut store, &mut io, 2 * 3_600_000);
    assert_eq!(store.commit_log().file_count(), files_before);
    store.execute_delete_files_manually();
    advance_ms(&mut store, &mut io, 10_000);
    assert_eq!(store.commit_log().file_count(), 1, "every file but the current one");
    assert_eq!(store.min_phy_offset(), store.commit_log().mapped_file_size() * (i64::from(files_before) - 1));
    let min = store.get_min_offset_in_queue(TOPIC, 0);
    assert!(min.0 > 0);
    // A consumer behind the deleted files is told to move.
    let pull = store.get_message(io.disk(), "g", TOPIC, 0, QueueOffset(0), 32, None).unwrap();
    assert_eq!((pull.status, pull.next_begin_offset), (GetMessageStatus::OffsetTooSmall, min));
    let entry = store.consume_queue(TOPIC, 0).unwrap().entry_at(io.disk(), min.0).unwrap();
    assert!(entry.commit_log_offset.0 >= store.min_phy_offset());
}

#[test]
fn cleanup_at_the_delete_when_hour_removes_files_older_than_file_reserved_time() {
    // The virtual epoch is 22:13 UTC; 04:00 is 5 h 47 min later.
    let config = MessageStoreConfig { file_reserved_time: 2, ..small_config() };
    let (mut store, mut io) = started(config, 12);
    for id in 0..60 {
        put_done(&mut store, &mut io, &message(id, 0, 100));
    }
    advance_ms(&mut store, &mut io, 5 * 3_600_000);
    let files_before = store.commit_log().file_count();
    advance_ms(&mut store, &mut io, 3_600_000);
    assert_eq!(store.commit_log().file_count(), 1);
    assert!(files_before > 1);
}

#[test]
fn a_disk_above_90_percent_refuses_puts_with_service_not_available() {
    let config = MessageStoreConfig { simulated_disk_capacity_bytes: 26_000, ..small_config() };
    let (mut store, mut io) = started(config, 13);
    for id in 0..60 {
        put_done(&mut store, &mut io, &message(id, 0, 100));
    }
    advance_ms(&mut store, &mut io, 1_000);
    assert!(store.running_flags().disk_full, "{:?}", store.disk_usage(io.disk()));
    assert_eq!(put_done(&mut store, &mut io, &message(100, 0, 100)).status, PutMessageStatus::ServiceNotAvailable);
    // The first cleanup (60 s) deletes files forcibly: the disk is usable again.
    advance_ms(&mut store, &mut io, 70_000);
    assert!(!store.running_flags().disk_full, "{:?}", store.disk_usage(io.disk()));
    assert_eq!(put_done(&mut store, &mut io, &message(101, 0, 100)).status, PutMessageStatus::PutOk);
}

#[test]
fn queries_find_messages_by_key_by_offset_msg_id_and_by_time() {
    let (mut store, mut io) = started(small_config(), 14);
    let mut ids = Vec::new();
    for id in 0..20 {
        let result = put_done(&mut store, &mut io, &message(id, 0, 50));
        ids.push(result.append.unwrap().msg_id());
        advance_ms(&mut store, &mut io, 1_000);
    }
    let by_key = store.query_message(io.disk(), TOPIC, "key7", 32, 0, i64::MAX);
    assert_eq!(by_key.messages.len(), 1);
    assert_eq!(body_id(&by_key.messages[0].decode().unwrap().body), 7);
    let by_uniq = store.query_message(io.disk(), TOPIC, "UNIQ000000000012", 32, 0, i64::MAX);
    assert_eq!(body_id(&by_uniq.messages[0].decode().unwrap().body), 12);
    let by_id = store.view_message_by_id(io.disk(), &ids[5]).unwrap();
    assert_eq!(body_id(&by_id.body), 5);
    // Message n was stored at epoch + n s (+ dispatch); the closest to epoch + 9.5 s is 9 or 10.
    let at = rmqsim_core::broker::store::test_store_io::DEFAULT_EPOCH_MS + 9_000;
    let offset = store.get_offset_in_queue_by_time(io.disk(), TOPIC, 0, at);
    assert_eq!(offset, QueueOffset(9));
    assert_eq!(store.get_message_store_timestamp(io.disk(), TOPIC, 0, QueueOffset(9)), at);
}

#[test]
fn index_files_roll_when_full_and_the_full_one_sets_the_checkpoint() {
    let config = MessageStoreConfig { max_index_num: 11, ..small_config() };
    let (mut store, mut io) = started(config, 15);
    for id in 0..12 {
        put_done(&mut store, &mut io, &message(id, 0, 20));
        advance_ms(&mut store, &mut io, 1);
    }
    advance_ms(&mut store, &mut io, 10);
    let view = store.store_view(io.disk(), 0);
    assert!(view.index_files.len() >= 2, "{:?}", view.index_files);
    assert_eq!(view.index_files[0].index_count, 11);
    let last_full = &view.index_files[view.index_files.len() - 2];
    assert_eq!(store.checkpoint().index_msg_timestamp, last_full.end_timestamp);
    // Keys in either file are found.
    assert_eq!(store.query_message(io.disk(), TOPIC, "key0", 32, 0, i64::MAX).messages.len(), 1);
    assert_eq!(store.query_message(io.disk(), TOPIC, "key11", 32, 0, i64::MAX).messages.len(), 1);
}

#[test]
fn a_delayed_message_waits_in_schedule_topic_with_its_delivery_time_as_tag() {
    let (mut store, mut io) = started(MessageStoreConfig::default(), 16);
    let mut msg = message(1, 3, 20);
    msg.properties.put("DELAY", "20");
    let result = put_done(&mut store, &mut io, &msg);
    advance_ms(&mut store, &mut io, 1);
    let stored_at = result.append.unwrap().store_timestamp;
    // Spec §13 item 10: level 20 is clamped to 18, queue 17, tag = store time + 2 h.
    let queue = store.consume_queue(SCHEDULE_TOPIC, 17).unwrap();
    let entry = queue.entry_at(io.disk(), 0).unwrap();
    assert_eq!(entry.tags_code, stored_at + 7_200_000);
    let record = store.look_message_by_offset(io.disk(), entry.commit_log_offset).unwrap();
    assert_eq!(record.properties.get("REAL_TOPIC"), Some(TOPIC));
    assert_eq!(record.properties.get("REAL_QID"), Some("3"));
    assert_eq!(record.properties.get("DELAY"), Some("18"));
    assert!(store.consume_queue(TOPIC, 3).is_none());
}

#[test]
fn a_prepared_transaction_record_gets_no_queue_offset_and_no_unit() {
    let (mut store, mut io) = started(MessageStoreConfig::default(), 17);
    let mut half = message(1, 0, 20);
    half.sys_flag = TRANSACTION_PREPARED_TYPE;
    let result = put_done(&mut store, &mut io, &half);
    assert_eq!(result.append.unwrap().logics_offset, QueueOffset(0));
    let result = put_done(&mut store, &mut io, &message(2, 0, 20));
    assert_eq!(result.append.unwrap().logics_offset, QueueOffset(0), "the table did not move");
    advance_ms(&mut store, &mut io, 1);
    assert_eq!(store.get_max_offset_in_queue(TOPIC, 0), QueueOffset(1));
    // Still indexed (only rollback records are not).
    assert_eq!(store.query_message(io.disk(), TOPIC, "key1", 32, 0, i64::MAX).messages.len(), 1);
}

#[test]
fn illegal_messages_are_refused_before_anything_is_written() {
    let (mut store, mut io) = started(small_config(), 18);
    let long_topic = rmqsim_core::broker::store::message_record::MessageRecord::new("T".repeat(128), b"x".to_vec());
    assert_eq!(put_done(&mut store, &mut io, &long_topic).status, PutMessageStatus::MessageIllegal);
    let too_big_for_a_file = message(1, 0, 5_000);
    assert_eq!(put_done(&mut store, &mut io, &too_big_for_a_file).status, PutMessageStatus::MessageIllegal);
    assert_eq!(store.max_phy_offset(), 0);
}

#[test]
fn a_slave_refuses_puts() {
    let config = MessageStoreConfig { broker_role: BrokerRole::Slave, ..MessageStoreConfig::default() };
    let (mut store, mut io) = started(config, 19);
    assert_eq!(put_done(&mut store, &mut io, &message(1, 0, 20)).status, PutMessageStatus::ServiceNotAvailable);
}

#[test]
fn a_sync_master_without_a_slave_answers_slave_not_available_and_with_one_waits_for_its_ack() {
    let config = MessageStoreConfig { broker_role: BrokerRole::SyncMaster, ..MessageStoreConfig::default() };
    let (mut store, mut io) = started(config, 20);
    assert_eq!(put_done(&mut store, &mut io, &message(1, 0, 20)).status, PutMessageStatus::SlaveNotAvailable);
    store.on_slave_connections(1);
    let PutOutcome::Pending { ticket, result } = put(&mut store, &mut io, &message(2, 0, 20)) else { panic!() };
    let end = result.append.unwrap().next_offset().0;
    let events = store.on_replicated(&mut io, end - 1);
    assert!(events.put_completions.is_empty());
    let events = store.on_replicated(&mut io, end);
    assert_eq!(events.put_completions[0].ticket, ticket);
    assert_eq!(events.put_completions[0].status, PutMessageStatus::PutOk);
    let PutOutcome::Pending { ticket, .. } = put(&mut store, &mut io, &message(3, 0, 20)) else { panic!() };
    let events = advance_ms(&mut store, &mut io, 3_000);
    assert_eq!(
        (events.put_completions[0].ticket, events.put_completions[0].status),
        (ticket, PutMessageStatus::FlushSlaveTimeout)
    );
}

#[test]
fn the_transient_store_pool_hides_uncommitted_messages_and_a_kill_loses_them() {
    let config = MessageStoreConfig { transient_store_pool_enable: true, ..MessageStoreConfig::default() };
    let (mut store, mut io) = started(config.clone(), 21);
    // The first put commits at once (thorough); the next ones wait for 4 pages or the 200 ms tick.
    put_done(&mut store, &mut io, &message(1, 0, 100));
    put_done(&mut store, &mut io, &message(2, 0, 100));
    advance_ms(&mut store, &mut io, 1);
    assert_eq!(store.get_max_offset_in_queue(TOPIC, 0), QueueOffset(1), "the second is still in the write buffer");
    io.crash(CrashKind::ProcessKill);
    let mut store = start(config, &mut io);
    assert_eq!(commit_log_ids(&store, &io), [1]);
    put_done(&mut store, &mut io, &message(3, 0, 100));
    advance_ms(&mut store, &mut io, 300);
    assert_eq!(commit_log_ids(&store, &io), [1, 3]);
}

#[test]
fn a_clean_shutdown_removes_the_abort_file_and_the_restart_recovers_normally() {
    let (mut store, mut io) = started(small_config(), 22);
    assert!(abort_file_exists(io.disk(), "store/abort"));
    for id in 0..30 {
        put_done(&mut store, &mut io, &message(id, id as i32 % 2, 100));
    }
    let mut events = store.shutdown(&mut io);
    assert_eq!(put_done(&mut store, &mut io, &message(99, 0, 10)).status, PutMessageStatus::ServiceNotAvailable);
    events.extend(io.run_until(&mut store, Time::from_secs(10)));
    assert!(events.shutdown_complete);
    assert_eq!(store.state(), StoreState::Shutdown);
    assert!(!abort_file_exists(io.disk(), "store/abort"));
    let view = store.store_view(io.disk(), 0);
    let queue_files = view.consume_queues.iter().flat_map(|q| q.files.iter());
    for file in view.commit_log.files.iter().chain(queue_files) {
        assert_eq!(file.durable_bytes, file.page_cache_bytes, "{} is durable", file.name);
    }
    // Even a power loss now loses no message (RocketMQ does not sync a non-full IndexFile, though).
    io.crash(CrashKind::PowerLoss);
    let store = start(small_config(), &mut io);
    assert!(store.recovery_report().last_exit_ok);
    assert_eq!(commit_log_ids(&store, &io), (0..30).collect::<Vec<_>>());
    assert_eq!(store.get_max_offset_in_queue(TOPIC, 0), QueueOffset(15));
    assert_eq!(store.get_max_offset_in_queue(TOPIC, 1), QueueOffset(15));
}

#[test]
fn a_process_kill_loses_nothing_and_the_queue_offsets_continue() {
    let (mut store, mut io) = started(small_config(), 23);
    for id in 0..25 {
        put_done(&mut store, &mut io, &message(id, 0, 100));
    }
    io.crash(CrashKind::ProcessKill);
    let mut store = start(small_config(), &mut io);
    assert!(!store.recovery_report().last_exit_ok);
    assert_eq!(commit_log_ids(&store, &io), (0..25).collect::<Vec<_>>());
    assert_eq!(store.get_max_offset_in_queue(TOPIC, 0), QueueOffset(25), "start-up dispatch caught up");
    let result = put_done(&mut store, &mut io, &message(25, 0, 100));
    assert_eq!(result.append.unwrap().logics_offset, QueueOffset(25));
}

#[test]
fn the_store_view_shows_positions_units_and_index_slots() {
    let (mut store, mut io) = started(small_config(), 24);
    for id in 0..12 {
        put_done(&mut store, &mut io, &message(id, 0, 100));
    }
    advance_ms(&mut store, &mut io, 1);
    let view = store.store_view(io.disk(), 3);
    assert_eq!(view.commit_log.dispatched_offset, view.commit_log.max_offset);
    let queue = &view.consume_queues[0];
    assert_eq!((queue.min_offset, queue.max_offset), (0, 12));
    assert_eq!(queue.last_units.iter().map(|u| u.queue_offset).collect::<Vec<_>>(), [9, 10, 11]);
    assert_eq!(view.index_files[0].index_count, 1 + 2 * 12);
    assert_eq!(view.index_files[0].slot_usage.iter().sum::<u32>() as i32, view.index_files[0].hash_slot_count);
    assert!(view.page_cache.dirty_pages > 0);
    let json = serde_json::to_string(&view).unwrap();
    assert!(json.contains("\"flushed_where\""));
}

#[test]
fn the_thorough_consume_queue_flush_writes_the_checkpoint() {
    let (mut store, mut io) = started(MessageStoreConfig::default(), 25);
    put_done(&mut store, &mut io, &message(1, 0, 100));
    let stored_at = store.commit_log().pickup_store_timestamp(io.disk(), 0, 300.min(store.max_phy_offset() as i32));
    // The CommitLog's first flush (500 ms, thorough) records its store time; the ConsumeQueue's first
    // pass (1 s, thorough) records the logics time and writes the file.
    advance_ms(&mut store, &mut io, 1_100);
    let checkpoint = store.checkpoint();
    assert_eq!((checkpoint.physic_msg_timestamp, checkpoint.logics_msg_timestamp), (stored_at, stored_at));
    let on_disk = rmqsim_core::broker::store::store_checkpoint::StoreCheckpoint::load(io.disk(), "store/checkpoint");
    assert_eq!(on_disk, checkpoint);
    // The next passes are not thorough: the file changes only after 60 s.
    put_done(&mut store, &mut io, &message(2, 0, 100));
    advance_ms(&mut store, &mut io, 30_000);
    assert_eq!(
        rmqsim_core::broker::store::store_checkpoint::StoreCheckpoint::load(io.disk(), "store/checkpoint"),
        on_disk
    );
    advance_ms(&mut store, &mut io, 31_000);
    assert!(
        rmqsim_core::broker::store::store_checkpoint::StoreCheckpoint::load(io.disk(), "store/checkpoint")
            .logics_msg_timestamp
            > on_disk.logics_msg_timestamp
    );
}

#[test]
fn abnormal_recovery_starts_from_the_file_stored_before_the_checkpoint_minus_3_s() {
    let (mut store, mut io) = started(small_config(), 26);
    let mut id = 0;
    // One file's worth of messages per 2 s, with the checkpoint written at 1 s (and then every 60 s).
    for _ in 0..10 {
        for _ in 0..16 {
            put_done(&mut store, &mut io, &message(id, 0, 100));
            id += 1;
        }
        advance_ms(&mut store, &mut io, 2_000);
    }
    let checkpoint = store.checkpoint();
    io.crash(CrashKind::ProcessKill);
    let store = start(small_config(), &mut io);
    let report = store.recovery_report();
    assert!(!report.last_exit_ok);
    let from = report.recovered_from_file.clone().unwrap();
    let from_offset: i64 = from.rsplit('/').next().unwrap().parse().unwrap();
    let safe = checkpoint.min_timestamp();
    // That file's first record was stored at or before the safe time, the next file's after it.
    let first = |offset: i64| store.look_message_by_offset(io.disk(), CommitLogOffset(offset)).unwrap().store_timestamp;
    assert!(first(from_offset) <= safe, "{from}");
    assert!(first(from_offset + 4096) > safe);
    assert!(report.redispatched_records > 0 && report.redispatched_records < id);
    assert_eq!(commit_log_ids(&store, &io).len() as u64, id);
}

#[test]
fn normal_recovery_walks_the_last_three_files_only() {
    let (mut store, mut io) = started(small_config(), 27);
    for id in 0..80 {
        put_done(&mut store, &mut io, &message(id, 0, 100));
    }
    let files = store.commit_log().file_count();
    let mut events = store.shutdown(&mut io);
    events.extend(io.run_until(&mut store, Time::from_secs(5)));
    assert!(events.shutdown_complete);
    io.restart_process();
    let store = start(small_config(), &mut io);
    let report = store.recovery_report();
    assert!(report.last_exit_ok);
    assert_eq!(
        report.recovered_from_file.as_deref(),
        Some(format!("store/commitlog/{:020}", 4096 * (files - 3)).as_str())
    );
    assert_eq!(report.redispatched_records, 0);
}

#[test]
fn a_pull_into_a_deleted_commit_log_file_is_message_was_removing() {
    let config = MessageStoreConfig { file_reserved_time: 0, ..small_config() };
    let (mut store, mut io) = started(config, 28);
    // Queue 1 gets two early messages, then only queue 0 is written until those files are deleted.
    put_done(&mut store, &mut io, &message(0, 1, 100));
    put_done(&mut store, &mut io, &message(1, 1, 100));
    for id in 2..60 {
        put_done(&mut store, &mut io, &message(id, 0, 100));
    }
    advance_ms(&mut store, &mut io, 1);
    store.execute_delete_files_manually();
    advance_ms(&mut store, &mut io, 61_000);
    assert!(store.min_phy_offset() > 0);
    // The queue's only file is also its last: never deleted, and no unit reaches the new min offset.
    assert_eq!(store.get_min_offset_in_queue(TOPIC, 1), QueueOffset(0));
    let pull = store.get_message(io.disk(), "g", TOPIC, 1, QueueOffset(0), 32, None).unwrap();
    assert_eq!((pull.status, pull.next_begin_offset), (GetMessageStatus::MessageWasRemoving, QueueOffset(2)));
}

#[test]
fn the_same_inputs_give_the_same_store_byte_for_byte() {
    let run = || {
        let config = MessageStoreConfig { flush_disk_type: FlushDiskType::SyncFlush, ..small_config() };
        let (mut store, mut io) = started(config.clone(), 29);
        let mut completions = Vec::new();
        for id in 0..40 {
            let _ = put(&mut store, &mut io, &message(id, (id % 3) as i32, 50 + id as usize));
            completions.extend(advance_ms(&mut store, &mut io, id % 4).put_completions);
        }
        io.crash(CrashKind::PowerLoss);
        let store = start(config, &mut io);
        (
            serde_json::to_string(&store.store_view(io.disk(), 10)).unwrap(),
            format!("{completions:?}"),
            commit_log_ids(&store, &io),
        )
    };
    assert_eq!(run(), run());
}

#[test]
fn file_ages_survive_a_restart_so_cleanup_does_not_start_over() {
    let config = MessageStoreConfig { file_reserved_time: 1, delete_when: "99".into(), ..small_config() };
    let (mut store, mut io) = started(config.clone(), 30);
    for id in 0..60 {
        put_done(&mut store, &mut io, &message(id, 0, 100));
    }
    advance_ms(&mut store, &mut io, 2 * 3_600_000);
    let files = store.commit_log().file_count();
    io.crash(CrashKind::ProcessKill);
    let mut store = start(config, &mut io);
    store.execute_delete_files_manually();
    advance_ms(&mut store, &mut io, 61_000);
    assert_eq!(store.commit_log().file_count(), 1, "the {files} files are two hours old, not one minute");
}
