//! DLedger's log inside the message store: `DLedgerMmapFileStore` + `MemberState` + the
//! `DLedgerCommitLog` overrides (RocketMQ 4.9.8 with openmessaging/dledger 0.3.1.2).
//!
//! In DLedger mode the store's CommitLog files are DLedger's data files (`<root>/dledger-<selfId>/data/`,
//! same 1 GiB size, same offset names): each RocketMQ record sits inside an entry (see `entry.rs`),
//! and its physical offset is the entry position + 48. The store's other parts keep working on top:
//! ConsumeQueue units point at the records inside entries, `getMessage` reads them, the flush service
//! syncs the data files (DLedger's `FlushDataService` syncs every 10 ms; the broker sets the flush
//! interval so), cleanup deletes old files. What changes:
//!
//! * **put** (`DLedgerCommitLog.asyncPutMessage` → `handleAppend` → `appendAsLeader`): refused
//!   (SERVICE_NOT_AVAILABLE) unless this node is the leader; else the record is encoded, its queue offset
//!   assigned, the entry appended at the next index with the current term, and the put waits for a
//!   quorum (`waitAck`): PUT_OK when the entry commits, OS_PAGECACHE_BUSY after `maxWaitAckTimeMs`
//!   (WAIT_QUORUM_ACK_TIMEOUT; RocketMQ does not return FLUSH_SLAVE_TIMEOUT on purpose).
//! * **dispatch** (`getMaxOffset` = the committed position): ConsumeQueues see only committed entries,
//!   so a consumer never reads what a new leader may truncate.
//! * **recovery** (`DLedgerMmapFileStore.recover`): walk the entries, cut after the last valid one,
//!   take the committed index from DLedger's checkpoint file (written every 3 s), the term and vote from
//!   `currterm` (written without a sync, as DLedger's `IOUtils.string2File` does).
//! * **follower appends and truncation** (`appendAsFollower`, `truncate`).
//!
//! Invariants: entries are contiguous from `ledger_begin_index` to `ledger_end_index`, each at the
//! position its header names; `committed_index <= ledger_end_index`; dispatch never passes the
//! committed position; a pending put is answered once.

use std::collections::BTreeMap;

use serde::Serialize;

use super::entry::{self, decode_header, encode_entry, EntryAt, BODY_OFFSET, MIN_BLANK_LEN};
use crate::broker::store::commit_log::RecordReader;
use crate::broker::store::default_message_store::{DefaultMessageStore, MessageArrived};
use crate::broker::store::dispatch_request::{check_message_and_return_size, CheckedRecord};
use crate::broker::store::mapped_file_queue::MappedFileQueue;
use crate::broker::store::message_record::MessageRecord;
use crate::broker::store::message_sys_flag::{TRANSACTION_PREPARED_TYPE, TRANSACTION_ROLLBACK_TYPE};
use crate::broker::store::offsets::{CommitLogOffset, QueueOffset};
use crate::broker::store::put_message_result::{
    AppendMessageResult, PutCompletion, PutMessageResult, PutMessageStatus, PutOutcome, PutTicket,
};
use crate::broker::store::store_io::StoreIo;
use crate::time::{Duration, Time};

/// DLedger tickets live in their own range, apart from the store's flush/replica tickets.
const TICKET_BASE: u64 = 1 << 62;

/// `DLedgerConfig`: the group and the defaults of openmessaging/dledger 0.3.1.2.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DLedgerConfig {
    /// `dLegerGroup` (RocketMQ uses the broker name).
    pub group: String,
    /// `dLegerSelfId`: `n0`, `n1`, ...
    pub self_id: String,
    /// Every peer id of the group, in id order (`dLegerPeers`).
    pub peers: Vec<String>,
    pub heart_beat_time_interval_ms: u64,
    pub max_heart_beat_leak: u64,
    pub min_vote_interval_ms: u64,
    pub max_vote_interval_ms: u64,
    pub max_wait_ack_time_ms: u64,
    pub max_push_time_out_ms: u64,
    pub max_pending_requests_num: u32,
    pub check_point_interval_ms: u64,
}

impl DLedgerConfig {
    pub fn new(group: &str, self_id: &str, peers: Vec<String>) -> Self {
        DLedgerConfig {
            group: group.to_string(),
            self_id: self_id.to_string(),
            peers,
            heart_beat_time_interval_ms: 2_000,
            max_heart_beat_leak: 3,
            min_vote_interval_ms: 300,
            max_vote_interval_ms: 1_000,
            max_wait_ack_time_ms: 2_500,
            max_push_time_out_ms: 1_000,
            max_pending_requests_num: 10_000,
            check_point_interval_ms: 3_000,
        }
    }

    /// `MemberState.isQuorum`.
    pub fn is_quorum(&self, num: usize) -> bool {
        num > self.peers.len() / 2
    }

    /// `<root>/dledger-<selfId>`.
    pub fn default_path(&self, root: &str) -> String {
        format!("{root}/dledger-{}", self.self_id)
    }

    /// RocketMQ's broker id for a follower: the number in the self id, plus one.
    pub fn slave_broker_id(&self) -> u64 {
        self.self_id.trim_start_matches('n').parse::<u64>().unwrap_or(0) + 1
    }
}

/// `MemberState.Role`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Role {
    Candidate,
    Leader,
    Follower,
}

/// `MemberState`: role, term, leader and vote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MemberState {
    pub role: Role,
    pub curr_term: i64,
    pub leader_id: Option<String>,
    pub curr_vote_for: Option<String>,
    pub known_max_term_in_group: i64,
}

impl Default for MemberState {
    fn default() -> Self {
        MemberState {
            role: Role::Candidate,
            curr_term: 0,
            leader_id: None,
            curr_vote_for: None,
            known_max_term_in_group: -1,
        }
    }
}

/// Where one entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct EntryMeta {
    pub pos: i64,
    pub size: i32,
    pub term: i64,
}

/// A put waiting for its entry to commit (`pendingAppendResponsesByTerm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingAppend {
    pub ticket: PutTicket,
    pub term: i64,
    pub deadline: Time,
}

#[derive(Clone, Debug)]
pub struct DLedgerStore {
    pub config: DLedgerConfig,
    pub member: MemberState,
    pub ledger_begin_index: i64,
    pub ledger_end_index: i64,
    pub ledger_end_term: i64,
    pub committed_index: i64,
    /// End of the committed entries (`committedPos`); -1 before anything committed.
    pub committed_pos: i64,
    /// `entries[i]` is the entry of index `ledger_begin_index + i`.
    pub entries: Vec<EntryMeta>,
    pub pending: BTreeMap<i64, PendingAppend>,
    next_ticket: u64,
    reader: RecordReader,
    root: String,
}

impl DLedgerStore {
    pub fn new(config: DLedgerConfig, root: &str) -> Self {
        DLedgerStore {
            config,
            member: MemberState::default(),
            ledger_begin_index: -1,
            ledger_end_index: -1,
            ledger_end_term: -1,
            committed_index: -1,
            committed_pos: -1,
            entries: Vec::new(),
            pending: BTreeMap::new(),
            next_ticket: TICKET_BASE,
            reader: RecordReader::default(),
            root: root.to_string(),
        }
    }

    /// `<root>/dledger-<selfId>/data/`: where the CommitLog's files live in DLedger mode.
    pub fn data_dir(&self) -> String {
        format!("{}/data/", self.config.default_path(&self.root))
    }

    fn term_path(&self) -> String {
        format!("{}/currterm", self.config.default_path(&self.root))
    }

    fn checkpoint_path(&self) -> String {
        format!("{}/checkpoint", self.config.default_path(&self.root))
    }

    pub fn is_leader(&self) -> bool {
        self.member.role == Role::Leader
    }

    /// The entry of `index`, if this log has it.
    pub fn entry(&self, index: i64) -> Option<EntryMeta> {
        if index < self.ledger_begin_index || index > self.ledger_end_index || self.ledger_begin_index < 0 {
            return None;
        }
        self.entries.get((index - self.ledger_begin_index) as usize).copied()
    }

    /// The end of the written entries (`dataFileList.getMaxWrotePosition`), given the data files.
    pub fn wrote_position(&self, queue: &MappedFileQueue) -> i64 {
        queue.max_wrote_position()
    }

    /// `DLedgerCommitLog.getMaxOffset`: the committed position, else the first file's start, else 0.
    pub fn max_offset(&self, queue: &MappedFileQueue) -> i64 {
        if self.committed_pos > 0 {
            self.committed_pos
        } else if queue.min_offset() > 0 {
            queue.min_offset()
        } else {
            0
        }
    }

    /// `MemberState.persistTerm`: `currterm` into the page cache (no sync, as DLedger writes it).
    pub fn persist_term(&self, io: &mut dyn StoreIo) {
        let text = format!(
            "currTerm={}\nvoteLeader={}\n",
            self.member.curr_term,
            self.member.curr_vote_for.as_deref().unwrap_or("")
        );
        let file = io.open(&self.term_path());
        io.truncate(file, 0);
        io.write(file, 0, text.as_bytes());
    }

    /// `persistCheckPoint` (every `checkPointInterval`): end and committed index, no sync.
    pub fn persist_checkpoint(&self, io: &mut dyn StoreIo) {
        let text = format!("endIndex={}\ncommittedIndex={}\n", self.ledger_end_index, self.committed_index);
        let file = io.open(&self.checkpoint_path());
        io.truncate(file, 0);
        io.write(file, 0, text.as_bytes());
    }

    fn read_properties(io: &dyn StoreIo, path: &str) -> BTreeMap<String, String> {
        let Some(file) = io.disk().lookup(path) else { return BTreeMap::new() };
        let bytes = io.disk().read_vec(file, 0, io.disk().len(file));
        let text = String::from_utf8_lossy(&bytes);
        text.lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect()
    }

    /// `MemberState.nextTerm` (a candidate moves to a new term and forgets its vote).
    pub fn next_term(&mut self, io: &mut dyn StoreIo) -> i64 {
        if self.member.known_max_term_in_group > self.member.curr_term {
            self.member.curr_term = self.member.known_max_term_in_group;
        } else {
            self.member.curr_term += 1;
        }
        self.member.curr_vote_for = None;
        self.persist_term(io);
        self.member.curr_term
    }

    pub fn set_vote_for(&mut self, io: &mut dyn StoreIo, candidate: &str) {
        self.member.curr_vote_for = Some(candidate.to_string());
        self.persist_term(io);
    }

    pub fn change_to_leader(&mut self, term: i64) {
        assert_eq!(self.member.curr_term, term, "a leader leads its current term");
        self.member.role = Role::Leader;
        self.member.leader_id = Some(self.config.self_id.clone());
    }

    pub fn change_to_follower(&mut self, term: i64, leader: &str) {
        assert_eq!(self.member.curr_term, term, "a follower follows in its current term");
        self.member.role = Role::Follower;
        self.member.leader_id = Some(leader.to_string());
    }

    /// `MemberState.changeToCandidate`: the term moves only when the candidate votes.
    pub fn change_to_candidate(&mut self, term: i64) {
        if term < self.member.curr_term {
            return;
        }
        if term > self.member.known_max_term_in_group {
            self.member.known_max_term_in_group = term;
        }
        self.member.role = Role::Candidate;
        self.member.leader_id = None;
    }

    /// `updateCommittedIndex`: move the committed index (never back, never past the log's end) and
    /// answer the puts it covers. Returns the completions.
    pub fn update_committed_index(&mut self, term: i64, new_committed_index: i64) -> Vec<PutCompletion> {
        if new_committed_index == -1
            || self.ledger_end_index == -1
            || term < self.member.curr_term
            || new_committed_index == self.committed_index
            || new_committed_index < self.committed_index
            || new_committed_index < self.ledger_begin_index
        {
            return Vec::new();
        }
        let index = new_committed_index.min(self.ledger_end_index);
        let Some(meta) = self.entry(index) else { return Vec::new() };
        self.committed_index = index;
        self.committed_pos = meta.pos + i64::from(meta.size);
        self.complete_committed()
    }

    /// The QuorumAckChecker's answers: pending puts of the current term at or below the committed index.
    fn complete_committed(&mut self) -> Vec<PutCompletion> {
        let mut done = Vec::new();
        let term = self.member.curr_term;
        let committed = self.committed_index;
        self.pending.retain(|index, pending| {
            let answered = *index <= committed && pending.term == term;
            if answered {
                done.push(PutCompletion { ticket: pending.ticket, status: PutMessageStatus::PutOk });
            }
            !answered
        });
        done
    }

    /// `checkResponseFuturesTimeout`: puts past `maxWaitAckTimeMs` (WAIT_QUORUM_ACK_TIMEOUT →
    /// OS_PAGECACHE_BUSY), in index order from the first not committed, stopping at the first on time.
    pub fn expire_pending(&mut self, now: Time) -> Vec<PutCompletion> {
        let mut done = Vec::new();
        let term = self.member.curr_term;
        let expired: Vec<i64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.term == term)
            .take_while(|(_, p)| p.deadline <= now)
            .map(|(i, _)| *i)
            .collect();
        for index in expired {
            if let Some(pending) = self.pending.remove(&index) {
                done.push(PutCompletion { ticket: pending.ticket, status: PutMessageStatus::OsPageCacheBusy });
            }
        }
        done
    }

    /// A new term as leader: pending puts of older terms end with TERM_CHANGED (UNKNOWN_ERROR).
    pub fn fail_pending_of_old_terms(&mut self) -> Vec<PutCompletion> {
        let term = self.member.curr_term;
        let mut done = Vec::new();
        self.pending.retain(|_, pending| {
            let old = pending.term != term;
            if old {
                done.push(PutCompletion { ticket: pending.ticket, status: PutMessageStatus::UnknownError });
            }
            !old
        });
        done
    }

    pub fn earliest_pending_deadline(&self) -> Option<Time> {
        let term = self.member.curr_term;
        self.pending.values().filter(|p| p.term == term).map(|p| p.deadline).min()
    }
}

impl DefaultMessageStore {
    /// Switch this store to DLedger mode (before `start`): its CommitLog files become DLedger's data files.
    pub fn enable_dledger(&mut self, config: DLedgerConfig) {
        let dledger = DLedgerStore::new(config, &self.config.store_path_root_dir);
        self.commit_log.queue = MappedFileQueue::new(dledger.data_dir(), self.config.mapped_file_size_commit_log());
        self.dledger = Some(Box::new(dledger));
    }

    pub fn dledger(&self) -> Option<&DLedgerStore> {
        self.dledger.as_deref()
    }

    pub fn dledger_mut(&mut self) -> Option<&mut DLedgerStore> {
        self.dledger.as_deref_mut()
    }

    /// `DLedgerCommitLog.asyncPutMessage`: encode, append as leader, wait for the quorum.
    pub(crate) fn dledger_put_message(&mut self, io: &mut dyn StoreIo, msg: &MessageRecord) -> PutOutcome {
        let Some(dledger) = self.dledger.as_deref() else {
            return PutOutcome::Done(PutMessageResult::rejected(PutMessageStatus::ServiceNotAvailable));
        };
        if !dledger.is_leader() {
            return PutOutcome::Done(PutMessageResult::rejected(PutMessageStatus::ServiceNotAvailable));
        }
        if dledger.pending.len() as u64 > u64::from(dledger.config.max_pending_requests_num) {
            // LEADER_PENDING_FULL.
            return PutOutcome::Done(PutMessageResult::rejected(PutMessageStatus::OsPageCacheBusy));
        }
        let mut dledger = self.dledger.take().expect("checked above");
        let delay_levels = self.delay_levels.clone();
        let appended =
            self.commit_log.encode_for_put(io, msg, &delay_levels, |commit_log, io, encoded, msg, tx, ts| {
                let no_queue_offset = tx == TRANSACTION_PREPARED_TYPE || tx == TRANSACTION_ROLLBACK_TYPE;
                let queue_offset =
                    if no_queue_offset { 0 } else { commit_log.next_queue_offset(&msg.topic, msg.queue_id) };
                let index = dledger.ledger_end_index + 1;
                let term = dledger.member.curr_term;
                let pos = pre_append(&mut commit_log.queue, io, (BODY_OFFSET + encoded.len()) as i64, ts);
                crate::broker::store::message_record::patch_append_fields(
                    encoded,
                    QueueOffset(queue_offset),
                    CommitLogOffset(pos + BODY_OFFSET as i64),
                    ts,
                );
                let bytes = encode_entry(index, term, pos, encoded);
                append_at(&mut commit_log.queue, io, &bytes, ts);
                dledger.record_append(index, term, pos, bytes.len() as i32);
                if !no_queue_offset {
                    commit_log.set_next_queue_offset(&msg.topic, msg.queue_id, queue_offset + 1);
                }
                (
                    index,
                    AppendMessageResult {
                        wrote_offset: CommitLogOffset(pos + BODY_OFFSET as i64),
                        wrote_bytes: encoded.len() as i32,
                        store_timestamp: ts,
                        logics_offset: QueueOffset(queue_offset),
                        store_host: msg.store_host,
                    },
                )
            });
        let outcome = match appended {
            Err(status) => PutOutcome::Done(PutMessageResult::rejected(status)),
            Ok((index, append)) => {
                let ticket = PutTicket(dledger.next_ticket);
                dledger.next_ticket += 1;
                let deadline = io.now() + Duration::from_millis(dledger.config.max_wait_ack_time_ms);
                dledger.pending.insert(index, PendingAppend { ticket, term: dledger.member.curr_term, deadline });
                PutOutcome::Pending {
                    ticket,
                    result: PutMessageResult { status: PutMessageStatus::PutOk, append: Some(append) },
                }
            }
        };
        self.dledger = Some(dledger);
        outcome
    }

    /// `appendAsFollower`: write the leader's entry bytes at the same position. False if it does not
    /// continue this log (INCONSISTENT_STATE).
    pub fn dledger_append_as_follower(
        &mut self,
        io: &mut dyn StoreIo,
        index: i64,
        term: i64,
        pos: i64,
        bytes: &[u8],
    ) -> bool {
        let Some(mut dledger) = self.dledger.take() else { return false };
        let ok = index == dledger.ledger_end_index + 1 && bytes.len() >= BODY_OFFSET && {
            let now_ms = io.now_ms();
            let at = pre_append(&mut self.commit_log.queue, io, bytes.len() as i64, now_ms);
            at == pos
        };
        if ok {
            let now_ms = io.now_ms();
            append_at(&mut self.commit_log.queue, io, bytes, now_ms);
            dledger.record_append(index, term, pos, bytes.len() as i32);
        }
        self.dledger = Some(dledger);
        ok
    }

    /// `DLedgerMmapFileStore.truncate(entry)`: keep the log up to and including `index` (whose entry the
    /// leader sent), cutting what follows; if this log lacks `index`, append the leader's copy. Returns
    /// the new end index.
    pub fn dledger_truncate(&mut self, io: &mut dyn StoreIo, index: i64, term: i64, pos: i64, bytes: &[u8]) -> i64 {
        let Some(mut dledger) = self.dledger.take() else { return -1 };
        let existed = dledger.entry(index).is_some_and(|meta| meta.pos == pos && meta.term == term);
        let cut_at = if existed { pos + bytes.len() as i64 } else { pos };
        let keep_until = if existed { index } else { index - 1 };
        self.commit_log.queue.truncate_dirty_files(io, cut_at);
        if self.commit_log.queue.files.is_empty() && cut_at > 0 {
            // Keep the log's position: the file holding `cut_at` starts empty.
            let from = cut_at - cut_at % self.commit_log.queue.mapped_file_size();
            self.commit_log.queue.create_file(io, from, false);
            if let Some(file) = self.commit_log.queue.files.last_mut() {
                file.set_positions(cut_at - from);
            }
        }
        dledger.truncate_meta(keep_until);
        if !existed {
            let now_ms = io.now_ms();
            let at = pre_append(&mut self.commit_log.queue, io, bytes.len() as i64, now_ms);
            if at == pos {
                append_at(&mut self.commit_log.queue, io, bytes, now_ms);
                dledger.record_append(index, term, pos, bytes.len() as i32);
            }
        }
        self.commit_log.queue.flushed_where = self.commit_log.queue.flushed_where.min(cut_at);
        self.reput.reput_from_offset = self.reput.reput_from_offset.min(cut_at.max(0));
        let end = dledger.ledger_end_index;
        self.dledger = Some(dledger);
        end
    }

    /// The bytes of the entry of `index` (for pushes), if this log has it.
    pub fn dledger_entry_bytes(&self, disk: &crate::sim::disk::NodeDisk, index: i64) -> Option<(EntryMeta, Vec<u8>)> {
        let meta = self.dledger.as_deref()?.entry(index)?;
        let bytes = self.commit_log.get_message(disk, meta.pos, meta.size)?;
        Some((meta, bytes))
    }

    /// Dispatch committed entries (`ReputMessageService` over `DLedgerCommitLog.getData`).
    pub(crate) fn dledger_do_reput(&mut self, io: &mut dyn StoreIo, notify: bool) -> Vec<MessageArrived> {
        let mut arrived = Vec::new();
        let Some(mut dledger) = self.dledger.take() else { return arrived };
        let end = dledger.committed_pos;
        let min_offset = self.commit_log.min_offset();
        if min_offset >= 0 && self.reput.reput_from_offset < min_offset {
            self.reput.reput_from_offset = min_offset;
        }
        let mut reader = std::mem::take(&mut dledger.reader);
        let mut dispatched_any = false;
        while self.reput.reput_from_offset < end {
            let offset = self.reput.reput_from_offset;
            let Some(index) = self.commit_log.queue.find_by_offset(offset, offset == 0) else { break };
            let file = &self.commit_log.queue.files[index];
            let (file_id, from, readable) = (file.file, file.file_from_offset, file.read_position());
            let position = offset - from;
            if position < 0 || position >= readable {
                break;
            }
            let header = read_header(io.disk(), file_id, position, readable);
            match decode_header(&header) {
                EntryAt::Blank => {
                    self.reput.reput_from_offset = self.commit_log.roll_next_file(offset);
                }
                EntryAt::Invalid => break,
                EntryAt::Entry(h) => {
                    let size = i64::from(h.size);
                    let record_at = position + BODY_OFFSET as i64;
                    let bytes = reader.record_at(io.disk(), file_id, record_at, readable.min(position + size));
                    if let CheckedRecord::Message(request) =
                        check_message_and_return_size(bytes, false, &self.delay_level_millis)
                    {
                        let queue_topic = self.do_dispatch(io, &request);
                        dispatched_any = true;
                        if notify {
                            arrived.push(MessageArrived {
                                topic: queue_topic.unwrap_or_else(|| std::rc::Rc::from(&*request.topic)),
                                queue_id: request.queue_id,
                                max_offset: QueueOffset(request.consume_queue_offset + 1),
                                tags_code: request.tags_code,
                                store_timestamp: request.store_timestamp,
                            });
                        }
                    }
                    self.reput.reput_from_offset += size;
                }
            }
        }
        dledger.reader = reader;
        self.dledger = Some(dledger);
        if dispatched_any && self.config.message_index_enable {
            self.index_service.persist(io);
        }
        arrived
    }

    /// `DLedgerCommitLog.recover` → `DLedgerMmapFileStore.recover`.
    pub(crate) fn dledger_recover(&mut self, io: &mut dyn StoreIo, max_phy_offset_of_consume_queue: i64) {
        let Some(mut dledger) = self.dledger.take() else { return };
        let term = DLedgerStore::read_properties(io, &dledger.term_path());
        dledger.member.curr_term = term.get("currTerm").and_then(|t| t.parse().ok()).unwrap_or(0);
        dledger.member.curr_vote_for = term.get("voteLeader").filter(|v| !v.is_empty()).cloned();
        dledger.entries.clear();
        dledger.ledger_begin_index = -1;
        dledger.ledger_end_index = -1;
        dledger.ledger_end_term = -1;
        let mut process_offset = self.commit_log.queue.files.first().map_or(0, |f| f.file_from_offset);
        let mut reader = RecordReader::default();
        'files: for i in 0..self.commit_log.queue.files.len() {
            let (file_id, from, size) = {
                let f = &self.commit_log.queue.files[i];
                (f.file, f.file_from_offset, f.file_size)
            };
            if from != process_offset - process_offset % size && i > 0 {
                break;
            }
            let mut position = process_offset - from;
            loop {
                if position + 8 > size {
                    process_offset = from + size;
                    continue 'files;
                }
                let header = read_header(io.disk(), file_id, position, size);
                match decode_header(&header) {
                    EntryAt::Blank => {
                        process_offset = from + size;
                        continue 'files;
                    }
                    EntryAt::Invalid => break 'files,
                    EntryAt::Entry(h) => {
                        let expected = dledger.ledger_end_index + 1;
                        let continues = dledger.ledger_end_index == -1 || h.index == expected;
                        let in_file = position + i64::from(h.size) <= size;
                        let written = io.disk().len(file_id) as i64 >= position + i64::from(h.size);
                        if h.pos != from + position || !continues || !in_file || !written {
                            break 'files;
                        }
                        let body = reader.record_at(
                            io.disk(),
                            file_id,
                            position + BODY_OFFSET as i64,
                            position + i64::from(h.size),
                        );
                        if !matches!(
                            check_message_and_return_size(
                                body,
                                self.config.check_crc_on_recover,
                                &self.delay_level_millis
                            ),
                            CheckedRecord::Message(_)
                        ) {
                            break 'files;
                        }
                        dledger.record_append(h.index, h.term, h.pos, h.size);
                        position += i64::from(h.size);
                        process_offset = from + position;
                    }
                }
            }
        }
        self.recovery.valid_records = dledger.entries.len() as u64;
        self.commit_log.queue.truncate_dirty_files(io, process_offset);
        self.commit_log.queue.flushed_where = process_offset;
        self.commit_log.queue.committed_where = process_offset;
        self.commit_log
            .queue
            .forget_flushed_from(process_offset - process_offset.rem_euclid(self.commit_log.queue.mapped_file_size()));
        if max_phy_offset_of_consume_queue >= process_offset {
            for queue in self.consume_queue_table.values_mut().flat_map(|q| q.values_mut()) {
                queue.truncate_dirty_logic_files(io, process_offset);
            }
        }
        let checkpoint = DLedgerStore::read_properties(io, &dledger.checkpoint_path());
        if let Some(committed) = checkpoint.get("committedIndex").and_then(|c| c.parse::<i64>().ok()) {
            let term = dledger.member.curr_term;
            dledger.update_committed_index(term, committed);
        }
        self.dledger = Some(dledger);
    }
}

impl DLedgerStore {
    fn record_append(&mut self, index: i64, term: i64, pos: i64, size: i32) {
        if self.ledger_begin_index == -1 {
            self.ledger_begin_index = index;
        }
        self.entries.push(EntryMeta { pos, size, term });
        self.ledger_end_index = index;
        self.ledger_end_term = term;
    }

    /// Keep entries up to and including `index` (none if it is below the first).
    fn truncate_meta(&mut self, index: i64) {
        if self.ledger_begin_index == -1 {
            return;
        }
        if index < self.ledger_begin_index {
            self.entries.clear();
            self.ledger_begin_index = -1;
            self.ledger_end_index = -1;
            self.ledger_end_term = -1;
        } else {
            let keep = (index - self.ledger_begin_index + 1) as usize;
            self.entries.truncate(keep);
            self.ledger_end_index = self.ledger_begin_index + self.entries.len() as i64 - 1;
            self.ledger_end_term = self.entries.last().map_or(-1, |e| e.term);
        }
        if self.committed_index > self.ledger_end_index {
            // Committed entries are never cut by a correct leader; stay consistent if it happens anyway.
            self.committed_index = self.ledger_end_index;
            self.committed_pos = self.entry(self.ledger_end_index).map_or(-1, |m| m.pos + i64::from(m.size));
        }
    }
}

/// `MmapFileList.preAppend`: where an entry of `len` bytes will start, closing the current file with a
/// blank (magic -1, remaining size) when the entry and a blank's room do not fit.
fn pre_append(queue: &mut MappedFileQueue, io: &mut dyn StoreIo, len: i64, now_ms: i64) -> i64 {
    loop {
        let start = queue.max_wrote_position();
        let index = queue.last_or_create(io, start, false);
        let file = &mut queue.files[index];
        let remaining = file.file_size - file.wrote_position;
        if len + MIN_BLANK_LEN > remaining {
            let blank = entry::encode_blank(remaining as i32);
            file.append_record(io, &blank[..remaining.min(8) as usize], remaining, now_ms);
            continue;
        }
        return file.file_from_offset + file.wrote_position;
    }
}

/// Append `bytes` at the write position of the last file (after `pre_append` made room).
fn append_at(queue: &mut MappedFileQueue, io: &mut dyn StoreIo, bytes: &[u8], now_ms: i64) {
    let start = queue.max_wrote_position();
    let index = queue.last_or_create(io, start, false);
    queue.files[index].append_record(io, bytes, bytes.len() as i64, now_ms);
}

/// The (up to) 48 header bytes of the entry at `position`, not reading past `limit`.
fn read_header(
    disk: &crate::sim::disk::NodeDisk,
    file: crate::sim::disk::FileId,
    position: i64,
    limit: i64,
) -> Vec<u8> {
    let len = (limit - position).clamp(0, BODY_OFFSET as i64) as usize;
    let mut out = vec![0u8; len];
    disk.read(file, position as u64, &mut out);
    out
}
