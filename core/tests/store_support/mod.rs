//! Helpers shared by the storage tests: a store on a `TestStoreIo`, messages with recognisable
//! bodies, and a walk over every record of the CommitLog.
#![allow(dead_code)]

use rmqsim_core::broker::store::default_message_store::{DefaultMessageStore, StoreEvents};
use rmqsim_core::broker::store::message_record::{decode, CrcCheck, DecodedRecord, MessageRecord};
use rmqsim_core::broker::store::message_store_config::MessageStoreConfig;
use rmqsim_core::broker::store::offsets::CommitLogOffset;
use rmqsim_core::broker::store::put_message_result::{PutMessageResult, PutOutcome};
use rmqsim_core::broker::store::socket_address::SocketAddress;
use rmqsim_core::broker::store::store_io::StoreIo;
use rmqsim_core::broker::store::test_store_io::TestStoreIo;
use rmqsim_core::sim::disk::DiskConfig;
use rmqsim_core::time::Duration;

pub const TOPIC: &str = "TopicTest";

/// A store on a fresh disk, started.
pub fn started(config: MessageStoreConfig, seed: u64) -> (DefaultMessageStore, TestStoreIo) {
    let mut io = TestStoreIo::new(DiskConfig::default(), seed);
    let store = start(config, &mut io);
    (store, io)
}

/// Start a store on `io`'s disk and let recovery's syncs complete, so that it accepts puts.
pub fn start(config: MessageStoreConfig, io: &mut TestStoreIo) -> DefaultMessageStore {
    let mut store = DefaultMessageStore::new(config).expect("a valid config");
    store.start(io);
    while store.is_recovering() {
        let next = io.next_event_time().expect("recovery waits for its syncs");
        let events = io.run_until(&mut store, next);
        assert!(events.put_completions.is_empty());
    }
    store
}

/// A small-file config: students' settings, where files roll after a few messages.
pub fn small_config() -> MessageStoreConfig {
    MessageStoreConfig {
        mapped_file_size_commit_log: 4096,
        mapped_file_size_consume_queue: 20 * 50,
        max_hash_slot_num: 64,
        max_index_num: 256,
        ..MessageStoreConfig::default()
    }
}

/// Message `id` for queue `queue_id`: body `m<id>` padded to `body_len`, tag `T<id % 3>`, a key and a UNIQ_KEY.
pub fn message(id: u64, queue_id: i32, body_len: usize) -> MessageRecord {
    let mut body = format!("m{id:08}").into_bytes();
    body.resize(body_len.max(body.len()), b'.');
    let mut record = MessageRecord::new(TOPIC, body);
    record.queue_id = queue_id;
    record.properties.put("TAGS", &format!("T{}", id % 3));
    record.properties.put("KEYS", &format!("key{id}"));
    record.properties.put("UNIQ_KEY", &format!("UNIQ{id:012}"));
    record.born_timestamp = 1_700_000_000_000;
    record.born_host = SocketAddress::v4(10, 0, 0, 9, 50_000);
    record.store_host = SocketAddress::v4(192, 168, 0, 1, 10911);
    record
}

/// The id a body carries.
pub fn body_id(body: &[u8]) -> u64 {
    std::str::from_utf8(&body[1..9]).ok().and_then(|s| s.parse().ok()).expect("a test body")
}

pub fn put(store: &mut DefaultMessageStore, io: &mut TestStoreIo, msg: &MessageRecord) -> PutOutcome {
    store.put_message(io, msg)
}

pub fn put_done(store: &mut DefaultMessageStore, io: &mut TestStoreIo, msg: &MessageRecord) -> PutMessageResult {
    match store.put_message(io, msg) {
        PutOutcome::Done(result) => result,
        other => panic!("expected an immediate answer, got {other:?}"),
    }
}

pub fn advance_ms(store: &mut DefaultMessageStore, io: &mut TestStoreIo, ms: u64) -> StoreEvents {
    io.advance(store, Duration::from_millis(ms))
}

/// Every record of the CommitLog, in order: (offset, stored TOTALSIZE, record).
pub fn commit_log_records(store: &DefaultMessageStore, io: &TestStoreIo) -> Vec<(i64, i64, MessageRecord)> {
    let mut out = Vec::new();
    let mut offset = store.min_phy_offset().max(0);
    while offset < store.max_phy_offset() {
        let Some(bytes) = store.select_one_message_by_offset(io.disk(), CommitLogOffset(offset)) else { break };
        match decode(&bytes, CrcCheck::Verify) {
            Ok(DecodedRecord::Message(record)) => {
                // TOTALSIZE as stored: a record whose properties were torn by a power loss decodes
                // with fewer properties, so re-encoding it would give another size.
                out.push((offset, bytes.len() as i64, *record));
                offset += bytes.len() as i64;
            }
            Ok(DecodedRecord::Blank { .. }) => offset = store.commit_log().roll_next_file(offset),
            Err(error) => panic!("invalid record at {offset} after recovery: {error}"),
        }
    }
    out
}

/// The ids of every message in the CommitLog, in order.
pub fn commit_log_ids(store: &DefaultMessageStore, io: &TestStoreIo) -> Vec<u64> {
    commit_log_records(store, io).iter().map(|(_, _, r)| body_id(&r.body)).collect()
}
