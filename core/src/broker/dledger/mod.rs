//! DLedger mode (`enableDLegerCommitLog`): each broker group is a Raft group of `n0, n1, ...`
//! (RocketMQ 4.9.8 with openmessaging/dledger 0.3.1.2).
//!
//! * `dledger_store.rs`: the log inside the message store (entries around records, committed position,
//!   member state, recovery, follower appends and truncation).
//! * `leader_elector.rs`: terms, votes, heartbeats (timings: heartbeat 2 s, a follower becomes candidate
//!   after 3 missed heartbeats = 6 s, vote waits random in [300, 1 000) ms, a leader without a quorum for
//!   6 s steps down).
//! * `entry_pusher.rs`: compare / truncate / append / commit per follower and the quorum ack checker.
//! * This file: the `DLedgerServer` on the broker (RPCs, timers) and RocketMQ's
//!   `DLedgerRoleChangeHandler`: a candidate or follower runs as SLAVE with broker id = its number + 1;
//!   a leader waits (checking every 100 ms) until its committed index reached its end index and dispatch
//!   caught up, rebuilds its queue offsets (`recoverTopicQueueTable`) and becomes master: broker id 0,
//!   SYNC_MASTER, registered with the NameServers at once. Producers find it at their next route refresh.
//!
//! Invariants: only a leader appends as leader and only in its current term; a follower appends only
//! what continues its log; committed entries are dispatched, others never are.

pub mod dledger_store;
pub mod entry;
pub mod entry_pusher;
pub mod leader_elector;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use self::dledger_store::Role;
use self::entry_pusher::{EntryPusher, BLOCKING_CALL_TIMEOUT, COMMIT_PUSH_INTERVAL, MAX_PENDING_PUSHES};
use self::leader_elector::{decide_vote, parse_vote_round, HeartbeatRound, LeaderElector, ParseResult, VoteRound};
use crate::broker::broker_store_io::BrokerStoreIo;
use crate::broker::controller::{BrokerController, BrokerTimer};
use crate::broker::ha::{Pending, ReplicationMode, ReplicationTimer};
use crate::broker::store::default_message_store::StoreEvents;
use crate::broker::store::message_store_config::BrokerRole;
use crate::observation::Observation;
use crate::protocol::ha::{
    DLedgerCode, DLedgerRequest, DLedgerResponse, FrameBody, PushType, ReplicationRequest, ReplicationResponse,
    WireEntry,
};
use crate::sim::node::{NodeId, TimerId};
use crate::time::{Duration, Time};
use crate::world::{Ctx, Timer};

/// DLedger's `StateMaintainer` sleeps 10 ms between checks; RocketMQ's role handler 100 ms.
const MAINTAINER_SLEEP: Duration = Duration::from_millis(10);
/// `flushFileInterval`: `FlushDataService` syncs the data files every 10 ms.
const FLUSH_FILE_INTERVAL: Duration = Duration::from_millis(10);
const ROLE_CHANGE_POLL: Duration = Duration::from_millis(100);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DLedgerTimer {
    /// The state maintainer's next check.
    Maintain { generation: u32 },
    /// A vote round's latch times out.
    VoteDeadline { round: u64 },
    /// A heartbeat round's latch times out.
    HeartbeatDeadline { round: u64 },
    /// A dispatcher's next turn.
    Dispatch { peer: String, generation: u32 },
    /// `persistCheckPoint` every 3 s.
    Checkpoint,
    /// The quorum ack checker's timeout sweep.
    AckTimeout { generation: u32 },
    /// The role change handler's 100 ms check while a new leader catches up.
    RoleChange { generation: u32 },
    /// `FlushDataService`: sync the data files 10 ms after they changed, until nothing is left to sync.
    FlushData { generation: u32 },
}

/// What a DLedger RPC we sent was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DLedgerCall {
    Vote { round: u64 },
    HeartBeat { round: u64 },
    Push { peer: String, term: i64, kind: PushType, index: i64 },
}

/// One role change, for views and the RTO measurement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RoleEvent {
    pub at: Time,
    pub term: i64,
    pub role: Role,
}

/// The network side of a DLedger member on a broker.
#[derive(Clone, Debug, Serialize)]
pub struct DLedgerServer {
    /// Every peer id of the group and its node (self included).
    pub peers: BTreeMap<String, NodeId>,
    pub self_id: String,
    pub elector: LeaderElector,
    pub pusher: Option<EntryPusher>,
    /// Role changes, newest last (at most [`MAX_ROLE_EVENTS`]).
    pub role_events: Vec<RoleEvent>,
    /// RocketMQ's handler: a leader waiting to become master.
    pub becoming_master: bool,
    #[serde(skip)]
    maintain_timer: Option<(TimerId, Time)>,
    #[serde(skip)]
    ack_timer: Option<(TimerId, Time)>,
    #[serde(skip)]
    flush_timer: Option<TimerId>,
    generation: u32,
    role_generation: u32,
    rounds: u64,
}

const MAX_ROLE_EVENTS: usize = 64;

impl DLedgerServer {
    pub fn new(self_id: &str, peers: BTreeMap<String, NodeId>, now: Time) -> Self {
        DLedgerServer {
            peers,
            self_id: self_id.to_string(),
            elector: LeaderElector::new(now),
            pusher: None,
            role_events: Vec::new(),
            becoming_master: false,
            maintain_timer: None,
            ack_timer: None,
            flush_timer: None,
            generation: 0,
            role_generation: 0,
            rounds: 0,
        }
    }

    fn peer_of(&self, node: NodeId) -> Option<String> {
        self.peers.iter().find(|(_, n)| **n == node).map(|(id, _)| id.clone())
    }
}

fn set_timer(ctx: &mut Ctx<'_>, at: Time, timer: DLedgerTimer) -> TimerId {
    ctx.set_timer(
        at.saturating_since(ctx.now()),
        Timer::Broker(BrokerTimer::Replication(ReplicationTimer::DLedger(timer))),
    )
}

fn quorum(peers: usize, num: usize) -> bool {
    num > peers / 2
}

impl BrokerController {
    fn dledger_parts(&mut self) -> Option<(&mut DLedgerServer, &mut dledger_store::DLedgerStore)> {
        let server = self.replication.dledger.as_deref_mut()?;
        let store = self.store.dledger.as_deref_mut()?;
        Some((server, store))
    }

    pub(crate) fn start_dledger(&mut self, ctx: &mut Ctx<'_>) {
        let Some(store) = self.store.dledger.as_deref() else { return };
        let config = &store.config;
        let peers: BTreeMap<String, NodeId> =
            self.spec.replication.dledger_peers.iter().map(|(id, node)| (id.clone(), *node)).collect();
        let mut server = DLedgerServer::new(&config.self_id, peers, ctx.now());
        let role = store.member.role;
        let term = store.member.curr_term;
        server.role_events.push(RoleEvent { at: ctx.now(), term, role });
        self.replication.dledger = Some(Box::new(server));
        // Started as a candidate: RocketMQ's handler makes the broker a slave (the spec already is one).
        self.arm_maintain(ctx, ctx.now());
        set_timer(ctx, ctx.now() + Duration::from_secs(3), DLedgerTimer::Checkpoint);
        self.start_slave_sync(ctx);
    }

    pub(crate) fn shutdown_dledger(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(store) = self.store.dledger.as_deref() {
            store.persist_checkpoint(&mut BrokerStoreIo { ctx });
        }
        if let Some(server) = self.replication.dledger.as_deref_mut() {
            server.generation = server.generation.wrapping_add(1);
        }
    }

    fn arm_maintain(&mut self, ctx: &mut Ctx<'_>, at: Time) {
        let Some(server) = self.replication.dledger.as_deref_mut() else { return };
        if let Some((timer, current)) = server.maintain_timer {
            if current <= at {
                return;
            }
            ctx.cancel_timer(timer);
        }
        let generation = server.generation;
        let timer = set_timer(ctx, at, DLedgerTimer::Maintain { generation });
        server.maintain_timer = Some((timer, at));
    }

    pub(crate) fn on_dledger_timer(&mut self, timer: DLedgerTimer, ctx: &mut Ctx<'_>) {
        if self.replication.mode != ReplicationMode::DLedger || self.replication.dledger.is_none() {
            return;
        }
        match timer {
            DLedgerTimer::Maintain { generation } => {
                let server = self.replication.dledger.as_deref_mut().expect("checked");
                if server.generation != generation {
                    return;
                }
                server.maintain_timer = None;
                self.maintain_state(ctx);
            }
            DLedgerTimer::VoteDeadline { round } => {
                let current =
                    self.replication.dledger.as_deref().and_then(|s| s.elector.vote_round.as_ref()).map(|_| ());
                if current.is_some() && self.replication.dledger.as_deref().is_some_and(|s| s.rounds == round) {
                    self.finish_vote_round(ctx);
                }
            }
            DLedgerTimer::HeartbeatDeadline { round } => {
                let active = self
                    .replication
                    .dledger
                    .as_deref()
                    .is_some_and(|s| s.rounds == round && s.elector.heartbeat_round.is_some());
                if active {
                    self.finish_heartbeat_round(ctx);
                }
            }
            DLedgerTimer::Dispatch { peer, generation } => {
                let server = self.replication.dledger.as_deref_mut().expect("checked");
                if server.generation != generation {
                    return;
                }
                if let Some(dispatcher) = server.pusher.as_mut().and_then(|p| p.dispatchers.get_mut(&peer)) {
                    dispatcher.timer = None;
                    if dispatcher.blocked_until.is_some_and(|t| t <= ctx.now()) {
                        // `responseFuture.get(3, SECONDS)` timed out.
                        dispatcher.fail(ctx.now());
                    }
                }
                self.dispatch(&peer, ctx);
            }
            DLedgerTimer::Checkpoint => {
                if let Some(store) = self.store.dledger.as_deref() {
                    store.persist_checkpoint(&mut BrokerStoreIo { ctx });
                    let interval = Duration::from_millis(store.config.check_point_interval_ms);
                    set_timer(ctx, ctx.now() + interval, DLedgerTimer::Checkpoint);
                }
            }
            DLedgerTimer::AckTimeout { generation } => {
                let server = self.replication.dledger.as_deref_mut().expect("checked");
                if server.generation != generation {
                    return;
                }
                server.ack_timer = None;
                let now = ctx.now();
                if let Some(store) = self.store.dledger.as_deref_mut() {
                    if store.is_leader() {
                        let completions = store.expire_pending(now);
                        self.deliver_completions(completions, ctx);
                    }
                }
                self.arm_ack_timeout(ctx);
            }
            DLedgerTimer::FlushData { generation } => {
                let server = self.replication.dledger.as_deref_mut().expect("checked");
                if server.generation != generation {
                    return;
                }
                server.flush_timer = None;
                self.flush_data(ctx);
            }
            DLedgerTimer::RoleChange { generation } => {
                let server = self.replication.dledger.as_deref().expect("checked");
                if server.role_generation == generation && server.becoming_master {
                    self.check_become_master(ctx);
                }
            }
        }
    }

    /// Wake `FlushDataService` (modelled lazily: its 10 ms loop only matters while data is unsynced).
    fn arm_flush_data(&mut self, ctx: &mut Ctx<'_>) {
        let Some(server) = self.replication.dledger.as_deref_mut() else { return };
        if server.flush_timer.is_some() {
            return;
        }
        let generation = server.generation;
        server.flush_timer =
            Some(set_timer(ctx, ctx.now() + FLUSH_FILE_INTERVAL, DLedgerTimer::FlushData { generation }));
    }

    /// `dataFileList.flush(0)`: sync the file holding the flushed position if it has anything new.
    fn flush_data(&mut self, ctx: &mut Ctx<'_>) {
        let queue = &mut self.store.commit_log.queue;
        if queue.remain_how_many_data_to_flush() > 0 {
            queue.flush(&mut BrokerStoreIo { ctx }, 0);
            self.arm_flush_data(ctx);
        }
    }

    // ---- the elector ----

    fn maintain_state(&mut self, ctx: &mut Ctx<'_>) {
        let Some((server, store)) = self.dledger_parts() else { return };
        let now = ctx.now();
        let config = store.config.clone();
        let heart_beat = Duration::from_millis(config.heart_beat_time_interval_ms);
        let role = store.member.role;
        match role {
            Role::Leader => {
                if server.elector.heartbeat_round.is_some() {
                    return;
                }
                let due = server.elector.last_send_heart_beat_time.is_none_or(|t| now.saturating_since(t) > heart_beat);
                if due {
                    self.send_heartbeats(ctx);
                } else {
                    let at = server.elector.last_send_heart_beat_time.unwrap_or(now) + heart_beat + Duration(1);
                    self.arm_maintain(ctx, at);
                }
            }
            Role::Follower => {
                let leak = heart_beat.saturating_mul(config.max_heart_beat_leak);
                if now.saturating_since(server.elector.last_leader_heart_beat_time) > leak {
                    let term = store.member.curr_term;
                    self.change_role_to_candidate(term, ctx);
                    self.arm_maintain(ctx, now + MAINTAINER_SLEEP);
                } else {
                    let at = server.elector.last_leader_heart_beat_time + leak + Duration(1);
                    self.arm_maintain(ctx, at);
                }
            }
            Role::Candidate => self.maintain_as_candidate(ctx),
        }
    }

    /// `getNextTimeToRequestVote`: now + min + random(max - min).
    fn next_time_to_request_vote(&mut self, ctx: &mut Ctx<'_>) -> Time {
        let Some(store) = self.store.dledger.as_deref() else { return ctx.now() };
        let (min, max) = (store.config.min_vote_interval_ms, store.config.max_vote_interval_ms);
        let draw = ctx.rng().below(max.saturating_sub(min).max(1));
        ctx.now() + Duration::from_millis(min + draw)
    }

    fn maintain_as_candidate(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        let Some((server, store)) = self.dledger_parts() else { return };
        if server.elector.vote_round.is_some() {
            return;
        }
        if now < server.elector.next_time_to_request_vote && !server.elector.need_increase_term_immediately {
            let at = server.elector.next_time_to_request_vote;
            self.arm_maintain(ctx, at);
            return;
        }
        let need_increase = server.elector.need_increase_term_immediately;
        let term = if server.elector.last_parse_result == ParseResult::WaitToVoteNext || need_increase {
            server.elector.last_parse_result = ParseResult::WaitToRevote;
            store.next_term(&mut BrokerStoreIo { ctx })
        } else {
            store.member.curr_term
        };
        let (ledger_end_index, ledger_end_term) = (store.ledger_end_index, store.ledger_end_term);
        if need_increase {
            let next = self.next_time_to_request_vote(ctx);
            let server = self.replication.dledger.as_deref_mut().expect("present");
            server.elector.next_time_to_request_vote = next;
            server.elector.need_increase_term_immediately = false;
            self.arm_maintain(ctx, next.max(now + MAINTAINER_SLEEP));
            return;
        }
        let max_vote = self.store.dledger.as_deref().map_or(1_000, |s| s.config.max_vote_interval_ms);
        let wait = 2_000 + ctx.rng().below(max_vote.max(1));
        let server = self.replication.dledger.as_deref_mut().expect("present");
        server.rounds += 1;
        let round = server.rounds;
        server.elector.votes_started += 1;
        server.elector.vote_round = Some(VoteRound::new(term, now, now + Duration::from_millis(wait)));
        let peers: Vec<(String, NodeId)> = server.peers.iter().map(|(id, node)| (id.clone(), *node)).collect();
        let self_id = server.self_id.clone();
        let group = self.store.dledger.as_deref().map(|s| s.config.group.clone()).unwrap_or_default();
        for (id, node) in peers {
            if id == self_id {
                let answer = self.handle_vote(&self_id, term, ledger_end_index, ledger_end_term, true, ctx);
                if let Some(round) = self.replication.dledger.as_deref_mut().and_then(|s| s.elector.vote_round.as_mut())
                {
                    round.count(Some(answer));
                }
            } else {
                let request = DLedgerRequest::Vote {
                    group: group.clone(),
                    candidate: self_id.clone(),
                    term,
                    ledger_end_index,
                    ledger_end_term,
                };
                self.replication.request(
                    ctx,
                    node,
                    ReplicationRequest::DLedger(request),
                    Pending::DLedger(DLedgerCall::Vote { round }),
                );
            }
        }
        set_timer(ctx, now + Duration::from_millis(wait), DLedgerTimer::VoteDeadline { round });
        self.check_vote_latch(ctx);
    }

    fn check_vote_latch(&mut self, ctx: &mut Ctx<'_>) {
        let Some(server) = self.replication.dledger.as_deref() else { return };
        let peers = server.peers.len();
        let released =
            server.elector.vote_round.as_ref().is_some_and(|r| r.latch_released(peers, |n| quorum(peers, n)));
        if released {
            self.finish_vote_round(ctx);
        }
    }

    fn finish_vote_round(&mut self, ctx: &mut Ctx<'_>) {
        let Some(server) = self.replication.dledger.as_deref_mut() else { return };
        let Some(round) = server.elector.vote_round.take() else { return };
        let peers = server.peers.len();
        let Some(config) = self.store.dledger.as_deref().map(|s| s.config.clone()) else { return };
        let (result, extra) = parse_vote_round(
            &round,
            |n| quorum(peers, n),
            config.heart_beat_time_interval_ms,
            config.max_heart_beat_leak,
            config.max_vote_interval_ms,
        );
        if let Some(extra) = extra {
            let next = self.next_time_to_request_vote(ctx) + Duration::from_millis(extra);
            if let Some(server) = self.replication.dledger.as_deref_mut() {
                server.elector.next_time_to_request_vote = next;
            }
        }
        if let Some(server) = self.replication.dledger.as_deref_mut() {
            server.elector.last_parse_result = result;
        }
        if round.known_max_term > round.term {
            self.change_role_to_candidate(round.known_max_term, ctx);
        }
        if result == ParseResult::Passed {
            self.change_role_to_leader(round.term, ctx);
        }
        let now = ctx.now();
        let next = self.replication.dledger.as_deref().map_or(now, |s| s.elector.next_time_to_request_vote);
        self.arm_maintain(ctx, next.max(now + MAINTAINER_SLEEP));
    }

    /// `handleVote` (also for the candidate's own vote).
    fn handle_vote(
        &mut self,
        candidate: &str,
        term: i64,
        ledger_end_index: i64,
        ledger_end_term: i64,
        is_self: bool,
        ctx: &mut Ctx<'_>,
    ) -> (i64, crate::protocol::ha::VoteResult) {
        let Some((server, store)) = self.dledger_parts() else {
            return (0, crate::protocol::ha::VoteResult::RejectUnknownLeader);
        };
        let is_member = server.peers.contains_key(candidate);
        let from_self_id = candidate == server.self_id;
        let (result, become_candidate) = decide_vote(
            is_member,
            from_self_id,
            is_self,
            (term, ledger_end_term, ledger_end_index),
            store.member.curr_term,
            (store.ledger_end_term, store.ledger_end_index),
            store.member.curr_vote_for.as_deref(),
            candidate,
            store.member.leader_id.is_some(),
        );
        if become_candidate {
            self.change_role_to_candidate(term, ctx);
            if let Some(server) = self.replication.dledger.as_deref_mut() {
                server.elector.need_increase_term_immediately = true;
            }
            self.arm_maintain(ctx, ctx.now() + MAINTAINER_SLEEP);
        }
        let Some(store) = self.store.dledger.as_deref_mut() else { return (0, result) };
        if result == crate::protocol::ha::VoteResult::Accept {
            store.set_vote_for(&mut BrokerStoreIo { ctx }, candidate);
        }
        let answer_term = if result == crate::protocol::ha::VoteResult::RejectTermSmallThanLedger {
            store.ledger_end_term
        } else {
            store.member.curr_term
        };
        (answer_term, result)
    }

    fn send_heartbeats(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        let Some((server, store)) = self.dledger_parts() else { return };
        let term = store.member.curr_term;
        let group = store.config.group.clone();
        let wait = Duration::from_millis(store.config.heart_beat_time_interval_ms);
        server.elector.last_send_heart_beat_time = Some(now);
        server.rounds += 1;
        let round = server.rounds;
        server.elector.heartbeat_round = Some(HeartbeatRound {
            term,
            deadline: now + wait,
            all: 1,
            succeeded: 1,
            not_ready: 0,
            max_term: -1,
            inconsistent_leader: false,
        });
        let self_id = server.self_id.clone();
        let others: Vec<NodeId> = server.peers.iter().filter(|(id, _)| **id != self_id).map(|(_, n)| *n).collect();
        for node in others {
            let request = DLedgerRequest::HeartBeat { group: group.clone(), leader: self_id.clone(), term };
            self.replication.request(
                ctx,
                node,
                ReplicationRequest::DLedger(request),
                Pending::DLedger(DLedgerCall::HeartBeat { round }),
            );
        }
        set_timer(ctx, now + wait, DLedgerTimer::HeartbeatDeadline { round });
        self.check_heartbeat_latch(ctx);
    }

    fn check_heartbeat_latch(&mut self, ctx: &mut Ctx<'_>) {
        let Some(server) = self.replication.dledger.as_deref() else { return };
        let peers = server.peers.len();
        let released = server.elector.heartbeat_round.as_ref().is_some_and(|r| {
            quorum(peers, r.succeeded as usize)
                || quorum(peers, (r.succeeded + r.not_ready) as usize)
                || r.all as usize >= peers
        });
        if released {
            self.finish_heartbeat_round(ctx);
        }
    }

    fn finish_heartbeat_round(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        let Some((server, store)) = self.dledger_parts() else { return };
        let Some(round) = server.elector.heartbeat_round.take() else { return };
        let peers = server.peers.len();
        let leak = Duration::from_millis(store.config.heart_beat_time_interval_ms * store.config.max_heart_beat_leak);
        let heart_beat = Duration::from_millis(store.config.heart_beat_time_interval_ms);
        let since_success = now.saturating_since(server.elector.last_succ_heart_beat_time);
        if quorum(peers, round.succeeded as usize) {
            server.elector.last_succ_heart_beat_time = now;
        } else if quorum(peers, (round.succeeded + round.not_ready) as usize) {
            server.elector.last_send_heart_beat_time = None;
        } else if round.max_term > round.term {
            self.change_role_to_candidate(round.max_term, ctx);
        } else if round.inconsistent_leader || since_success > leak {
            self.change_role_to_candidate(round.term, ctx);
        }
        let next = self
            .replication
            .dledger
            .as_deref()
            .and_then(|s| s.elector.last_send_heart_beat_time)
            .map_or(now + MAINTAINER_SLEEP, |t| (t + heart_beat + Duration(1)).max(now + MAINTAINER_SLEEP));
        self.arm_maintain(ctx, next);
    }

    /// `handleHeartBeat`.
    fn handle_heartbeat(&mut self, leader: &str, term: i64, ctx: &mut Ctx<'_>) -> (i64, DLedgerCode) {
        let now = ctx.now();
        let Some((server, store)) = self.dledger_parts() else { return (0, DLedgerCode::NotFollower) };
        if !server.peers.contains_key(leader) || leader == server.self_id {
            return (store.member.curr_term, DLedgerCode::InconsistentLeader);
        }
        let curr = store.member.curr_term;
        if term < curr {
            return (curr, DLedgerCode::ExpiredTerm);
        }
        if term == curr {
            match store.member.leader_id.as_deref() {
                Some(known) if known == leader => {
                    server.elector.last_leader_heart_beat_time = now;
                    (curr, DLedgerCode::Success)
                }
                None => {
                    self.change_role_to_follower(term, leader, ctx);
                    (curr, DLedgerCode::Success)
                }
                Some(_) => (curr, DLedgerCode::InconsistentLeader),
            }
        } else {
            self.change_role_to_candidate(term, ctx);
            if let Some(server) = self.replication.dledger.as_deref_mut() {
                server.elector.need_increase_term_immediately = true;
            }
            self.arm_maintain(ctx, now + MAINTAINER_SLEEP);
            (curr, DLedgerCode::TermNotReady)
        }
    }

    // ---- role changes ----

    fn record_role(&mut self, now: Time) {
        let Some((server, store)) = self.dledger_parts() else { return };
        server.role_events.push(RoleEvent { at: now, term: store.member.curr_term, role: store.member.role });
        if server.role_events.len() > MAX_ROLE_EVENTS {
            server.role_events.remove(0);
        }
    }

    fn observe_dledger_role(&mut self, ctx: &mut Ctx<'_>) {
        let Some(store) = self.store.dledger.as_deref() else { return };
        ctx.observe(Observation::DLedgerRoleChanged {
            group: store.config.group.clone(),
            self_id: store.config.self_id.clone(),
            term: store.member.curr_term,
            role: format!("{:?}", store.member.role).to_uppercase(),
            leader_id: store.member.leader_id.clone(),
            ledger_end_index: store.ledger_end_index,
            committed_index: store.committed_index,
        });
    }

    fn change_role_to_candidate(&mut self, term: i64, ctx: &mut Ctx<'_>) {
        let Some(store) = self.store.dledger.as_deref_mut() else { return };
        if term < store.member.curr_term {
            return;
        }
        let was = store.member.role;
        store.change_to_candidate(term);
        if let Some(server) = self.replication.dledger.as_deref_mut() {
            server.elector.heartbeat_round = None;
            server.pusher = None;
            server.becoming_master = false;
            server.role_generation = server.role_generation.wrapping_add(1);
        }
        if was != Role::Candidate {
            self.record_role(ctx.now());
            self.observe_dledger_role(ctx);
        }
        // RocketMQ's handler: a candidate that was master becomes a slave.
        if self.role() != BrokerRole::Slave {
            self.change_to_slave(ctx);
        }
    }

    fn change_role_to_follower(&mut self, term: i64, leader: &str, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        let Some((server, store)) = self.dledger_parts() else { return };
        server.elector.last_parse_result = ParseResult::WaitToRevote;
        server.elector.vote_round = None;
        server.elector.heartbeat_round = None;
        server.elector.last_leader_heart_beat_time = now;
        server.pusher = None;
        server.becoming_master = false;
        server.role_generation = server.role_generation.wrapping_add(1);
        store.change_to_follower(term, leader);
        self.record_role(now);
        self.observe_dledger_role(ctx);
        self.change_to_slave(ctx);
        self.arm_maintain(ctx, now + MAINTAINER_SLEEP);
    }

    fn change_role_to_leader(&mut self, term: i64, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        let Some((server, store)) = self.dledger_parts() else { return };
        if store.member.curr_term != term {
            return;
        }
        store.change_to_leader(term);
        server.elector.last_send_heart_beat_time = None;
        server.elector.elections_won += 1;
        let mut pusher = EntryPusher::for_term(term, &server.self_id, &server.peers);
        pusher.update_water_mark(&server.self_id, store.ledger_end_index);
        server.pusher = Some(pusher);
        server.becoming_master = true;
        server.role_generation = server.role_generation.wrapping_add(1);
        let completions = store.fail_pending_of_old_terms();
        self.record_role(now);
        self.observe_dledger_role(ctx);
        self.deliver_completions(completions, ctx);
        // The maintainer thread sends the first heartbeats after its 10 ms sleep; the dispatchers start at
        // once (so a follower may see the first COMPARE before it knows the new leader).
        self.arm_maintain(ctx, now + MAINTAINER_SLEEP);
        let peers: Vec<String> = self
            .replication
            .dledger
            .as_deref()
            .and_then(|s| s.pusher.as_ref())
            .map(|p| p.dispatchers.keys().cloned().collect())
            .unwrap_or_default();
        for peer in peers {
            self.dispatch(&peer, ctx);
        }
        self.check_quorum(ctx);
        self.check_become_master(ctx);
    }

    /// RocketMQ's LEADER handling: master once the log is committed to its end and dispatched.
    fn check_become_master(&mut self, ctx: &mut Ctx<'_>) {
        let Some((server, store)) = self.dledger_parts() else { return };
        if !server.becoming_master {
            return;
        }
        if !store.is_leader() {
            server.becoming_master = false;
            return;
        }
        let caught_up = store.ledger_end_index == -1
            || (store.ledger_end_index == store.committed_index
                && self.store.reput_from_offset() >= self.store.dledger.as_deref().map_or(0, |s| s.committed_pos));
        if caught_up {
            if let Some(server) = self.replication.dledger.as_deref_mut() {
                server.becoming_master = false;
            }
            self.store.recover_topic_queue_table(&mut BrokerStoreIo { ctx });
            self.change_to_master(BrokerRole::SyncMaster, ctx);
        } else {
            let generation = self.replication.dledger.as_deref().map_or(0, |s| s.role_generation);
            set_timer(ctx, ctx.now() + ROLE_CHANGE_POLL, DLedgerTimer::RoleChange { generation });
        }
    }

    /// `BrokerController.changeToSlave(brokerId)`.
    pub(crate) fn change_to_slave(&mut self, ctx: &mut Ctx<'_>) {
        let id = self.store.dledger.as_deref().map_or(1, |s| s.config.slave_broker_id());
        let changed = self.role() != BrokerRole::Slave || self.spec.broker_id != id;
        self.spec.broker_id = if id == 0 { 1 } else { id };
        self.store.config.broker_role = BrokerRole::Slave;
        if changed {
            self.start_slave_sync(ctx);
            self.observe_broker_role(ctx);
        }
        self.register_broker_all(ctx);
    }

    /// `BrokerController.changeToMaster(role)`.
    pub(crate) fn change_to_master(&mut self, role: BrokerRole, ctx: &mut Ctx<'_>) {
        self.stop_slave_sync();
        self.spec.broker_id = 0;
        self.store.config.broker_role = role;
        self.observe_broker_role(ctx);
        self.register_broker_all(ctx);
    }

    pub(crate) fn observe_broker_role(&mut self, ctx: &mut Ctx<'_>) {
        let term = self
            .store
            .dledger
            .as_deref()
            .map(|s| s.member.curr_term)
            .or_else(|| self.replication.auto_switch.as_deref().map(|a| i64::from(a.master_epoch)));
        ctx.observe(Observation::BrokerRoleChanged {
            broker_name: self.spec.broker_name.clone(),
            broker_addr: self.spec.broker_addr.clone(),
            broker_id: self.spec.broker_id,
            role: format!("{:?}", self.role()),
            term,
        });
    }

    // ---- RPCs ----

    pub(crate) fn on_dledger_request(
        &mut self,
        from: NodeId,
        opaque: Option<u32>,
        request: DLedgerRequest,
        ctx: &mut Ctx<'_>,
    ) {
        if self.replication.mode != ReplicationMode::DLedger || self.replication.dledger.is_none() {
            return;
        }
        let response = match request {
            DLedgerRequest::Vote { candidate, term, ledger_end_index, ledger_end_term, .. } => {
                let (term, result) = self.handle_vote(&candidate, term, ledger_end_index, ledger_end_term, false, ctx);
                DLedgerResponse::Vote { term, result }
            }
            DLedgerRequest::HeartBeat { leader, term, .. } => {
                let (term, code) = self.handle_heartbeat(&leader, term, ctx);
                DLedgerResponse::HeartBeat { term, code }
            }
            DLedgerRequest::Push { leader, term, kind, entry, commit_index, .. } => {
                self.handle_push(&leader, term, kind, entry, commit_index, ctx)
            }
        };
        crate::broker::ha::respond(ctx, from, opaque, ReplicationResponse::DLedger(response));
    }

    /// The EntryHandler of a follower.
    fn handle_push(
        &mut self,
        leader: &str,
        term: i64,
        kind: PushType,
        entry: Option<WireEntry>,
        commit_index: i64,
        ctx: &mut Ctx<'_>,
    ) -> DLedgerResponse {
        let index = entry.as_ref().map_or(-1, |e| e.index);
        let (follower, consistent) = {
            let Some(store) = self.store.dledger.as_deref() else {
                return DLedgerResponse::Push {
                    term,
                    code: DLedgerCode::NotFollower,
                    kind,
                    index,
                    begin_index: -1,
                    end_index: -1,
                };
            };
            let follower = store.member.role == Role::Follower;
            let consistent = term == store.member.curr_term && store.member.leader_id.as_deref() == Some(leader);
            (follower, consistent)
        };
        let code = if !follower {
            DLedgerCode::NotFollower
        } else {
            match (kind, entry) {
                (PushType::Append, Some(e)) => {
                    let end = self.store.dledger.as_deref().map_or(-1, |s| s.ledger_end_index);
                    if !consistent {
                        DLedgerCode::InconsistentState
                    } else if e.index == end + 1 {
                        let ok = self.store.dledger_append_as_follower(
                            &mut BrokerStoreIo { ctx },
                            e.index,
                            e.term,
                            e.pos,
                            e.bytes.bytes(),
                        );
                        if ok {
                            self.follower_commit(term, commit_index, ctx);
                            DLedgerCode::Success
                        } else {
                            DLedgerCode::InconsistentState
                        }
                    } else if e.index <= end {
                        let same = self
                            .store
                            .dledger
                            .as_deref()
                            .and_then(|s| s.entry(e.index))
                            .is_some_and(|m| m.pos == e.pos && m.term == e.term);
                        if same {
                            DLedgerCode::Success
                        } else {
                            DLedgerCode::InconsistentState
                        }
                    } else {
                        DLedgerCode::InconsistentState
                    }
                }
                (PushType::Compare, Some(e)) => {
                    let same = self
                        .store
                        .dledger
                        .as_deref()
                        .and_then(|s| s.entry(e.index))
                        .is_some_and(|m| m.pos == e.pos && m.term == e.term && m.size as u32 == e.bytes.len());
                    if same {
                        DLedgerCode::Success
                    } else {
                        DLedgerCode::InconsistentState
                    }
                }
                (PushType::Truncate, Some(e)) => {
                    if !consistent {
                        DLedgerCode::InconsistentState
                    } else {
                        let before = self.store.dledger.as_deref().map_or(-1, |s| s.ledger_end_index);
                        let before_pos = self.store.commit_log().mapped_file_queue().max_wrote_position();
                        let end = self.store.dledger_truncate(
                            &mut BrokerStoreIo { ctx },
                            e.index,
                            e.term,
                            e.pos,
                            e.bytes.bytes(),
                        );
                        let after_pos = self.store.commit_log().mapped_file_queue().max_wrote_position();
                        if before > e.index || before_pos > after_pos {
                            ctx.observe(Observation::ReplicaTruncated {
                                broker_name: self.spec.broker_name.clone(),
                                broker_addr: self.spec.broker_addr.clone(),
                                from_offset: e.pos,
                                bytes_cut: (before_pos - e.pos).max(0),
                                reason: format!("DLedger TRUNCATE at index {} (term {term})", e.index),
                            });
                        }
                        if end == e.index {
                            self.follower_commit(term, commit_index, ctx);
                            DLedgerCode::Success
                        } else {
                            DLedgerCode::InconsistentState
                        }
                    }
                }
                (PushType::Commit, _) => {
                    self.follower_commit(term, commit_index, ctx);
                    DLedgerCode::Success
                }
                (_, None) => DLedgerCode::InconsistentState,
            }
        };
        if matches!(kind, PushType::Append | PushType::Truncate) && code == DLedgerCode::Success {
            self.arm_flush_data(ctx);
        }
        let (begin_index, end_index) =
            self.store.dledger.as_deref().map_or((-1, -1), |s| (s.ledger_begin_index, s.ledger_end_index));
        DLedgerResponse::Push { term, code, kind, index, begin_index, end_index }
    }

    fn follower_commit(&mut self, term: i64, commit_index: i64, ctx: &mut Ctx<'_>) {
        let Some(store) = self.store.dledger.as_deref_mut() else { return };
        let before = store.committed_index;
        let completions = store.update_committed_index(term, commit_index);
        if store.committed_index != before {
            self.store.schedule_reput(&mut BrokerStoreIo { ctx });
        }
        self.deliver_completions(completions, ctx);
    }

    pub(crate) fn on_dledger_response(
        &mut self,
        from: NodeId,
        call: DLedgerCall,
        response: DLedgerResponse,
        ctx: &mut Ctx<'_>,
    ) {
        if self.replication.dledger.is_none() {
            return;
        }
        match (call, response) {
            (DLedgerCall::Vote { round }, DLedgerResponse::Vote { term, result }) => {
                let server = self.replication.dledger.as_deref_mut().expect("checked");
                if server.rounds != round {
                    return;
                }
                if let Some(vote) = server.elector.vote_round.as_mut() {
                    vote.count(Some((term, result)));
                }
                self.check_vote_latch(ctx);
            }
            (DLedgerCall::HeartBeat { round }, DLedgerResponse::HeartBeat { term, code }) => {
                let server = self.replication.dledger.as_deref_mut().expect("checked");
                if server.rounds != round {
                    return;
                }
                if let Some(beat) = server.elector.heartbeat_round.as_mut() {
                    beat.all += 1;
                    match code {
                        DLedgerCode::Success => beat.succeeded += 1,
                        DLedgerCode::ExpiredTerm => beat.max_term = beat.max_term.max(term),
                        DLedgerCode::InconsistentLeader => beat.inconsistent_leader = true,
                        DLedgerCode::TermNotReady => beat.not_ready += 1,
                        _ => {}
                    }
                }
                self.check_heartbeat_latch(ctx);
            }
            (
                DLedgerCall::Push { peer, term, kind, index },
                DLedgerResponse::Push { code, begin_index, end_index, .. },
            ) => {
                let _ = from;
                self.on_push_response(&peer, term, kind, index, code, begin_index, end_index, ctx);
            }
            _ => {}
        }
    }

    /// The connection with `peer` closed: the calls on it fail. A vote or heartbeat counts as answered
    /// (with an exception); a blocked compare or truncate fails its dispatcher.
    pub(crate) fn on_dledger_connection_closed(&mut self, peer: NodeId, failed: Vec<DLedgerCall>, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        let Some(server) = self.replication.dledger.as_deref_mut() else { return };
        let Some(peer_id) = server.peer_of(peer) else { return };
        let rounds = server.rounds;
        for call in &failed {
            match call {
                DLedgerCall::Vote { round } if *round == rounds => {
                    if let Some(vote) = server.elector.vote_round.as_mut() {
                        vote.count(None);
                    }
                }
                DLedgerCall::HeartBeat { round } if *round == rounds => {
                    if let Some(beat) = server.elector.heartbeat_round.as_mut() {
                        beat.all += 1;
                    }
                }
                DLedgerCall::Push { kind: PushType::Compare | PushType::Truncate, .. } => {
                    if let Some(d) = server.pusher.as_mut().and_then(|p| p.dispatchers.get_mut(&peer_id)) {
                        if d.blocked_until.is_some() {
                            d.fail(now);
                        }
                    }
                }
                _ => {}
            }
        }
        self.check_vote_latch(ctx);
        self.check_heartbeat_latch(ctx);
        self.dispatch(&peer_id, ctx);
    }

    // ---- the pusher (leader) ----

    /// New entries were appended (a put) or the log changed: the leader's own water mark moves, the
    /// dispatchers wake (`wakeUpDispatchers`).
    pub(crate) fn on_dledger_log_grew(&mut self, ctx: &mut Ctx<'_>) {
        let Some((server, store)) = self.dledger_parts() else { return };
        if !store.is_leader() {
            return;
        }
        let end = store.ledger_end_index;
        let self_id = server.self_id.clone();
        let Some(pusher) = server.pusher.as_mut() else { return };
        pusher.update_water_mark(&self_id, end);
        let peers: Vec<String> = pusher.dispatchers.keys().cloned().collect();
        self.arm_flush_data(ctx);
        self.check_quorum(ctx);
        for peer in peers {
            self.dispatch(&peer, ctx);
        }
        self.arm_ack_timeout(ctx);
    }

    fn arm_ack_timeout(&mut self, ctx: &mut Ctx<'_>) {
        let Some((server, store)) = self.dledger_parts() else { return };
        // Only the leader's QuorumAckChecker answers timeouts; a deposed leader's puts stay unanswered.
        if !store.is_leader() {
            return;
        }
        let Some(at) = store.earliest_pending_deadline() else { return };
        let at = at.max(ctx.now() + Duration(1));
        if let Some((timer, current)) = server.ack_timer {
            if current <= at {
                return;
            }
            ctx.cancel_timer(timer);
        }
        let generation = server.generation;
        let timer = set_timer(ctx, at, DLedgerTimer::AckTimeout { generation });
        if let Some(server) = self.replication.dledger.as_deref_mut() {
            server.ack_timer = Some((timer, at));
        }
    }

    /// The QuorumAckChecker: commit what a majority holds in this term and answer those puts.
    fn check_quorum(&mut self, ctx: &mut Ctx<'_>) {
        let Some((server, store)) = self.dledger_parts() else { return };
        if !store.is_leader() {
            return;
        }
        let Some(pusher) = server.pusher.as_ref() else { return };
        let quorum_index = pusher.quorum_index();
        let term = pusher.term;
        let before = store.committed_index;
        let completions = store.update_committed_index(term, quorum_index);
        let advanced = store.committed_index != before;
        if advanced {
            self.store.schedule_reput(&mut BrokerStoreIo { ctx });
        }
        self.deliver_completions(completions, ctx);
        if advanced {
            self.check_become_master(ctx);
        }
    }

    fn deliver_completions(
        &mut self,
        completions: Vec<crate::broker::store::put_message_result::PutCompletion>,
        ctx: &mut Ctx<'_>,
    ) {
        if completions.is_empty() {
            return;
        }
        let events = StoreEvents { put_completions: completions, ..StoreEvents::default() };
        self.on_store_events(events, ctx);
    }

    fn arm_dispatch(&mut self, peer: &str, at: Time, ctx: &mut Ctx<'_>) {
        let Some(server) = self.replication.dledger.as_deref_mut() else { return };
        let generation = server.generation;
        let Some(dispatcher) = server.pusher.as_mut().and_then(|p| p.dispatchers.get_mut(peer)) else { return };
        if let Some((timer, current)) = dispatcher.timer {
            if current <= at {
                return;
            }
            ctx.cancel_timer(timer);
        }
        let timer = set_timer(ctx, at, DLedgerTimer::Dispatch { peer: peer.to_string(), generation });
        dispatcher.timer = Some((timer, at));
    }

    /// One turn of a dispatcher's `doWork`.
    fn dispatch(&mut self, peer: &str, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        let Some((server, store)) = self.dledger_parts() else { return };
        if !store.is_leader() {
            return;
        }
        let Some(pusher) = server.pusher.as_mut() else { return };
        let Some(dispatcher) = pusher.dispatchers.get_mut(peer) else { return };
        if let Some(until) = dispatcher.paused_until {
            if until > now {
                self.arm_dispatch(peer, until, ctx);
                return;
            }
            dispatcher.paused_until = None;
        }
        if dispatcher.blocked_until.is_some() {
            return;
        }
        match dispatcher.kind {
            PushType::Append => self.do_append(peer, ctx),
            _ => self.do_compare(peer, ctx),
        }
    }

    fn push_entry(&mut self, peer: &str, kind: PushType, index: i64, ctx: &mut Ctx<'_>) -> bool {
        let Some(entry) = self.store.dledger_entry_bytes(ctx.disk(), index) else { return false };
        let (meta, bytes) = entry;
        let Some((server, store)) = self.dledger_parts() else { return false };
        let Some(pusher) = server.pusher.as_mut() else { return false };
        let term = pusher.term;
        let Some(dispatcher) = pusher.dispatchers.get_mut(peer) else { return false };
        let node = dispatcher.node;
        dispatcher.pushes_sent += 1;
        let request = DLedgerRequest::Push {
            group: store.config.group.clone(),
            leader: server.self_id.clone(),
            term,
            kind,
            entry: Some(WireEntry { index, term: meta.term, pos: meta.pos, bytes: FrameBody::new(bytes) }),
            commit_index: store.committed_index,
        };
        let call = DLedgerCall::Push { peer: peer.to_string(), term, kind, index };
        self.replication.request(ctx, node, ReplicationRequest::DLedger(request), Pending::DLedger(call));
        true
    }

    fn do_compare(&mut self, peer: &str, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        let Some((server, store)) = self.dledger_parts() else { return };
        let (begin, end) = (store.ledger_begin_index, store.ledger_end_index);
        let Some(dispatcher) = server.pusher.as_mut().and_then(|p| p.dispatchers.get_mut(peer)) else { return };
        if dispatcher.kind == PushType::Truncate {
            return;
        }
        if dispatcher.compare_index == -1 && end == -1 {
            return;
        }
        if dispatcher.compare_index == -1 || dispatcher.compare_index > end || dispatcher.compare_index < begin {
            dispatcher.compare_index = end;
        }
        let index = dispatcher.compare_index;
        dispatcher.blocked_until = Some(now + BLOCKING_CALL_TIMEOUT);
        if self.push_entry(peer, PushType::Compare, index, ctx) {
            self.arm_dispatch(peer, now + BLOCKING_CALL_TIMEOUT, ctx);
        } else if let Some(d) = self.dispatcher_mut(peer) {
            d.fail(now);
            self.arm_dispatch(peer, now + entry_pusher::FAILURE_PAUSE, ctx);
        }
    }

    fn dispatcher_mut(&mut self, peer: &str) -> Option<&mut entry_pusher::EntryDispatcher> {
        self.replication.dledger.as_deref_mut()?.pusher.as_mut()?.dispatchers.get_mut(peer)
    }

    fn do_truncate(&mut self, peer: &str, index: i64, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        let Some(dispatcher) = self.dispatcher_mut(peer) else { return };
        dispatcher.blocked_until = Some(now + BLOCKING_CALL_TIMEOUT);
        dispatcher.compare_index = index;
        if self.push_entry(peer, PushType::Truncate, index, ctx) {
            self.arm_dispatch(peer, now + BLOCKING_CALL_TIMEOUT, ctx);
        } else if let Some(d) = self.dispatcher_mut(peer) {
            d.fail(now);
            self.arm_dispatch(peer, now + entry_pusher::FAILURE_PAUSE, ctx);
        }
    }

    fn do_append(&mut self, peer: &str, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        let max_push = self.store.dledger.as_deref().map_or(1_000, |s| s.config.max_push_time_out_ms);
        let max_push = Duration::from_millis(max_push);
        loop {
            let Some((server, store)) = self.dledger_parts() else { return };
            let end = store.ledger_end_index;
            let committed = store.committed_index;
            let group = store.config.group.clone();
            let self_id = server.self_id.clone();
            let Some(pusher) = server.pusher.as_mut() else { return };
            let term = pusher.term;
            let water_mark = pusher.water_marks.get(peer).copied().unwrap_or(-1);
            let Some(d) = pusher.dispatchers.get_mut(peer) else { return };
            if d.kind != PushType::Append {
                return;
            }
            if d.write_index <= end && d.pending.len() < MAX_PENDING_PUSHES {
                let index = d.write_index;
                d.pending.insert(index, now);
                d.write_index += 1;
                d.last_push_commit_time = Some(now);
                if !self.push_entry(peer, PushType::Append, index, ctx) {
                    if let Some(d) = self.dispatcher_mut(peer) {
                        d.fail(now);
                    }
                    self.arm_dispatch(peer, now + entry_pusher::FAILURE_PAUSE, ctx);
                    return;
                }
                continue;
            }
            // doCommit: with nothing to push, the committed index at most once a second.
            if d.write_index > end
                && d.last_push_commit_time.is_none_or(|t| now.saturating_since(t) > COMMIT_PUSH_INTERVAL)
            {
                d.last_push_commit_time = Some(now);
                d.pushes_sent += 1;
                let node = d.node;
                let request = DLedgerRequest::Push {
                    group,
                    leader: self_id,
                    term,
                    kind: PushType::Commit,
                    entry: None,
                    commit_index: committed,
                };
                let call = DLedgerCall::Push { peer: peer.to_string(), term, kind: PushType::Commit, index: -1 };
                self.replication.request(ctx, node, ReplicationRequest::DLedger(request), Pending::DLedger(call));
            }
            // doCheckAppendResponse: resend the oldest unanswered push after maxPushTimeOutMs.
            let Some(d) = self.dispatcher_mut(peer) else { return };
            let overdue = d.pending.get(&(water_mark + 1)).is_some_and(|sent| now.saturating_since(*sent) > max_push);
            if overdue {
                d.pending.insert(water_mark + 1, now);
                d.last_push_commit_time = Some(now);
                self.push_entry(peer, PushType::Append, water_mark + 1, ctx);
            }
            let Some(d) = self.dispatcher_mut(peer) else { return };
            let mut wake = d.last_push_commit_time.map_or(now, |t| t + COMMIT_PUSH_INTERVAL + Duration(1));
            if let Some(sent) = d.pending.get(&(water_mark + 1)) {
                wake = wake.min(*sent + max_push + Duration(1));
            }
            self.arm_dispatch(peer, wake.max(now + Duration(1)), ctx);
            return;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_push_response(
        &mut self,
        peer: &str,
        term: i64,
        kind: PushType,
        index: i64,
        code: DLedgerCode,
        begin_index: i64,
        end_index: i64,
        ctx: &mut Ctx<'_>,
    ) {
        let now = ctx.now();
        let Some((server, store)) = self.dledger_parts() else { return };
        if !store.is_leader() {
            return;
        }
        let (leader_begin, leader_end) = (store.ledger_begin_index, store.ledger_end_index);
        let Some(pusher) = server.pusher.as_mut() else { return };
        if pusher.term != term {
            return;
        }
        match kind {
            PushType::Append => {
                let Some(d) = pusher.dispatchers.get_mut(peer) else { return };
                match code {
                    DLedgerCode::Success => {
                        d.pending.remove(&index);
                        pusher.update_water_mark(peer, index);
                        self.check_quorum(ctx);
                        self.dispatch(peer, ctx);
                    }
                    DLedgerCode::InconsistentState => {
                        d.change_state(-1, PushType::Compare);
                        self.dispatch(peer, ctx);
                    }
                    _ => {}
                }
            }
            PushType::Commit => {}
            PushType::Compare => {
                let Some(d) = pusher.dispatchers.get_mut(peer) else { return };
                if d.kind != PushType::Compare || d.blocked_until.is_none() || index != d.compare_index {
                    return;
                }
                d.blocked_until = None;
                if code != DLedgerCode::Success && code != DLedgerCode::InconsistentState {
                    d.fail(now);
                    self.arm_dispatch(peer, now + entry_pusher::FAILURE_PAUSE, ctx);
                    return;
                }
                let mut truncate_index = -1;
                if code == DLedgerCode::Success {
                    if d.compare_index == end_index {
                        let at = d.compare_index;
                        d.change_state(at, PushType::Append);
                        pusher.update_water_mark(peer, at);
                        self.check_quorum(ctx);
                        self.dispatch(peer, ctx);
                        return;
                    }
                    truncate_index = d.compare_index;
                } else if end_index < leader_begin || begin_index > leader_end || d.compare_index < begin_index {
                    truncate_index = leader_begin;
                } else if d.compare_index > end_index {
                    d.compare_index = end_index;
                } else {
                    d.compare_index -= 1;
                }
                if d.compare_index < leader_begin {
                    truncate_index = leader_begin;
                }
                if truncate_index != -1 {
                    d.change_state(truncate_index, PushType::Truncate);
                    self.do_truncate(peer, truncate_index, ctx);
                } else {
                    self.do_compare(peer, ctx);
                }
            }
            PushType::Truncate => {
                let Some(d) = pusher.dispatchers.get_mut(peer) else { return };
                if d.kind != PushType::Truncate || d.blocked_until.is_none() {
                    return;
                }
                d.blocked_until = None;
                if code == DLedgerCode::Success {
                    d.change_state(index, PushType::Append);
                    d.last_push_commit_time = Some(now);
                    pusher.update_water_mark(peer, index);
                    self.check_quorum(ctx);
                    self.dispatch(peer, ctx);
                } else {
                    d.fail(now);
                    self.arm_dispatch(peer, now + entry_pusher::FAILURE_PAUSE, ctx);
                }
            }
        }
    }
}
