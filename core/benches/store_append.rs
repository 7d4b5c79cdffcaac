//! Storage engine throughput: append + dispatch of 100-byte messages through `DefaultMessageStore`
//! on a `TestStoreIo`, ASYNC_FLUSH, default 1 GiB CommitLog files.
//!
//! Each iteration stores and dispatches 100 000 messages into a fresh store: batches of 1 000 puts,
//! then 1 ms of virtual time so the reput tick dispatches them to the ConsumeQueues and the index
//! (and the 500 ms flush ticks run as time passes). Two message shapes: `bare` (no properties) and
//! `typical` (UNIQ_KEY, WAIT, TAGS and CLUSTER, as a 4.9 producer and broker set them, so each
//! message is also indexed). Run with `cargo bench -p rmqsim-core --bench store_append`; the
//! throughput line gives messages/s, and the memory held per stored message (page-cache pages of
//! every store file, i.e. what the simulation keeps in RAM for the disk model) is printed once.

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use criterion::{criterion_group, Criterion, Throughput};
    use rmqsim_core::broker::store::default_message_store::DefaultMessageStore;
    use rmqsim_core::broker::store::message_record::MessageRecord;
    use rmqsim_core::broker::store::message_store_config::MessageStoreConfig;
    use rmqsim_core::broker::store::put_message_result::PutOutcome;
    use rmqsim_core::broker::store::socket_address::SocketAddress;
    use rmqsim_core::broker::store::store_io::StoreIo;
    use rmqsim_core::broker::store::test_store_io::TestStoreIo;
    use rmqsim_core::sim::disk::{DiskConfig, PAGE_SIZE};
    use rmqsim_core::time::Duration;

    const MESSAGES: u64 = 100_000;
    const BATCH: u64 = 1_000;

    fn messages(typical: bool) -> Vec<MessageRecord> {
        (0..MESSAGES)
            .map(|i| {
                let mut record = MessageRecord::new("TopicTest", vec![b'x'; 100]);
                record.queue_id = (i % 8) as i32;
                record.born_timestamp = 1_700_000_000_000;
                record.born_host = SocketAddress::v4(10, 0, 0, 9, 50_000);
                record.store_host = SocketAddress::v4(192, 168, 0, 1, 10911);
                if typical {
                    record.properties.put("UNIQ_KEY", &format!("0A000009C35018B4AAC2{i:012X}"));
                    record.properties.put("WAIT", "true");
                    record.properties.put("TAGS", "TagA");
                    record.properties.put("CLUSTER", "DefaultCluster");
                }
                record
            })
            .collect()
    }

    /// Put and dispatch every message into a fresh store; returns the store and its host.
    fn store_all(messages: &[MessageRecord]) -> (DefaultMessageStore, TestStoreIo) {
        let mut io = TestStoreIo::new(DiskConfig::default(), 7);
        let mut store = DefaultMessageStore::new(MessageStoreConfig::default()).expect("default config");
        store.start(&mut io);
        for batch in messages.chunks(BATCH as usize) {
            for message in batch {
                let outcome = store.put_message(&mut io, message);
                assert!(matches!(outcome, PutOutcome::Done(ref r) if r.status.is_stored()), "{outcome:?}");
            }
            io.advance(&mut store, Duration::from_millis(1));
        }
        assert_eq!(store.dispatch_behind_bytes(), 0);
        (store, io)
    }

    fn report_memory(name: &str, messages: &[MessageRecord]) {
        let (store, io) = store_all(messages);
        let bytes = io.disk().resident_page_count() * PAGE_SIZE;
        let record_bytes = store.max_phy_offset() as u64;
        eprintln!(
            "store_append/{name}: {} messages, {} B of records, {} B of resident pages = {} B per message \
             ({} B of record)",
            messages.len(),
            record_bytes,
            bytes,
            bytes / messages.len() as u64,
            record_bytes / messages.len() as u64
        );
    }

    fn bench(c: &mut Criterion) {
        let mut group = c.benchmark_group("store_append");
        group.throughput(Throughput::Elements(MESSAGES));
        group.sample_size(10);
        for (name, typical) in [("bare", false), ("typical", true)] {
            let messages = messages(typical);
            report_memory(name, &messages);
            // The store is dropped outside the timing (freeing 30 MB of pages is not an append).
            group.bench_function(name, |b| b.iter_with_large_drop(|| store_all(&messages)));
        }
        group.finish();
    }

    criterion_group!(benches, bench);
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(native::benches);

#[cfg(target_arch = "wasm32")]
fn main() {}
