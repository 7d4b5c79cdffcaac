//! `ReputMessageService` and `doDispatch` (`DefaultMessageStore.ReputMessageService`,
//! `CommitLogDispatcherBuildConsumeQueue`, `CommitLogDispatcherBuildIndex`).
//!
//! Dispatch reads the CommitLog from `reputFromOffset` up to the 4.9 reput end (the CommitLog's max
//! offset: what is in the page cache, flushed or not) and hands each record to the dispatchers in
//! order: the ConsumeQueue of its (topic, queueId) for transaction types NOT and COMMIT, then the
//! IndexService if `messageIndexEnable`. Then, on a master, it reports "a message arrived" for long
//! polling. A BLANK marker jumps to the next file. RocketMQ's thread loops every 1 ms; here a reput
//! runs 1 ms after an append (see `StoreTimer::Reput`), so the lag between "stored" and "visible to
//! consumers" is real but an idle broker schedules nothing.
//!
//! Invariant: `reputFromOffset` only moves forward, over whole records, and never past the max offset.

use std::rc::Rc;

use super::commit_log::RecordReader;
use super::default_message_store::{DefaultMessageStore, MessageArrived};
use super::dispatch_request::{check_message_and_return_size, CheckedRecord, DispatchRequest};
use super::message_store_config::BrokerRole;
use super::message_sys_flag::{transaction_value, TRANSACTION_COMMIT_TYPE, TRANSACTION_NOT_TYPE};
use super::offsets::QueueOffset;
use super::store_io::StoreIo;
use crate::sim::node::TimerId;

#[derive(Clone, Debug, Default)]
pub struct ReputMessageService {
    pub(crate) reput_from_offset: i64,
    pub(crate) timer: Option<TimerId>,
    reader: RecordReader,
}

impl DefaultMessageStore {
    /// `doReput`: dispatch everything readable past `reputFromOffset`. Returns the arrivals to report
    /// when `notify` (long polling on a master).
    pub(crate) fn do_reput(&mut self, io: &mut dyn StoreIo, notify: bool) -> Vec<MessageArrived> {
        if self.dledger.is_some() {
            // DLedger mode: records sit inside DLedger entries, dispatched up to the committed position.
            return self.dledger_do_reput(io, notify);
        }
        let mut arrived = Vec::new();
        let min_offset = self.commit_log.min_offset();
        if min_offset >= 0 && self.reput.reput_from_offset < min_offset {
            // Dispatch fell behind a cleanup: what was deleted cannot be dispatched.
            self.reput.reput_from_offset = min_offset;
        }
        let mut reader = std::mem::take(&mut self.reput.reader);
        let mut dispatched_any = false;
        // 5.x controller mode: only what the in-sync replicas confirmed is dispatched.
        let reput_end = self.reput_limit.map_or(self.commit_log.max_offset(), |l| l.min(self.commit_log.max_offset()));
        while self.reput.reput_from_offset < reput_end {
            let offset = self.reput.reput_from_offset;
            let Some(index) = self.commit_log.queue.find_by_offset(offset, offset == 0) else { break };
            let file = &self.commit_log.queue.files[index];
            let (file_id, from, readable) = (file.file, file.file_from_offset, file.read_position());
            let position = offset - from;
            if position < 0 || position >= readable {
                break;
            }
            let bytes = reader.record_at(io.disk(), file_id, position, readable);
            match check_message_and_return_size(bytes, false, &self.delay_level_millis) {
                CheckedRecord::Message(request) => {
                    let size = i64::from(request.msg_size);
                    let queue_topic = self.do_dispatch(io, &request);
                    dispatched_any = true;
                    if notify {
                        arrived.push(MessageArrived {
                            topic: queue_topic.unwrap_or_else(|| Rc::from(&*request.topic)),
                            queue_id: request.queue_id,
                            max_offset: QueueOffset(request.consume_queue_offset + 1),
                            tags_code: request.tags_code,
                            store_timestamp: request.store_timestamp,
                        });
                    }
                    self.reput.reput_from_offset += size;
                }
                CheckedRecord::EndOfFile => {
                    self.reput.reput_from_offset = self.commit_log.roll_next_file(offset);
                }
                CheckedRecord::Invalid { size } if size > 0 => {
                    // "[BUG]read total count not equals msg total size": skip it.
                    self.reput.reput_from_offset += i64::from(size);
                }
                CheckedRecord::Invalid { .. } => {
                    // A master skips the rest of the readable data rather than stall dispatch forever.
                    self.reput.reput_from_offset = from + readable;
                    break;
                }
            }
        }
        self.reput.reader = reader;
        if dispatched_any && self.config.message_index_enable {
            self.index_service.persist(io);
        }
        arrived
    }

    /// `doDispatch`: ConsumeQueue (NOT and COMMIT only), then the index. Returns the queue's shared
    /// topic name when the record went into a ConsumeQueue.
    pub(crate) fn do_dispatch(&mut self, io: &mut dyn StoreIo, request: &DispatchRequest<'_>) -> Option<Rc<str>> {
        let transaction = transaction_value(request.sys_flag);
        let mut queue_topic = None;
        if transaction == TRANSACTION_NOT_TYPE || transaction == TRANSACTION_COMMIT_TYPE {
            let queue = self.find_consume_queue(&request.topic, request.queue_id);
            queue_topic = Some(queue.shared_topic());
            let written = queue.put_message_position_info(
                io,
                request.commit_log_offset,
                request.msg_size,
                request.tags_code,
                request.consume_queue_offset,
            );
            if written {
                if self.config.broker_role == BrokerRole::Slave {
                    self.checkpoint.physic_msg_timestamp = request.store_timestamp;
                }
                self.checkpoint.logics_msg_timestamp = request.store_timestamp;
            } else {
                // RocketMQ retries 30 times, one second apart, then marks the logic queues broken.
                self.running_flags.logics_queue_error = true;
            }
        }
        if self.config.message_index_enable {
            self.index_service.build_index(io, request);
        }
        queue_topic
    }
}
