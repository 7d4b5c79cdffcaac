//! `DLedgerLeaderElector` (openmessaging/dledger 0.3.1.2): terms, votes and heartbeats.
//!
//! * A **follower** becomes candidate when it has heard no heartbeat from its leader for more than
//!   `maxHeartBeatLeak × heartBeatTimeIntervalMs` (3 × 2 s).
//! * A **candidate** votes when `nextTimeToRequestVote` has come: in its current term after a round that
//!   ended WAIT_TO_REVOTE, in the next term after WAIT_TO_VOTE_NEXT. It asks every peer (itself
//!   included) and waits until a quorum accepted, a leader is known, everyone answered, or
//!   2 000 + random(1 000) ms passed; then the round's parse result decides: PASSED (leader),
//!   REVOTE_IMMEDIATELY, WAIT_TO_REVOTE or WAIT_TO_VOTE_NEXT with a new random wait of
//!   [300, 1 000) ms (more when a leader exists or peers have longer ledgers).
//! * A **leader** sends heartbeats every 2 s and waits up to 2 s for a quorum; after more than 6 s
//!   without a quorum of successes it steps down to candidate (so does a leader that learns a larger term).
//! * **Voting** (`handleVote`): reject a candidate whose ledger is behind (smaller end term, or same
//!   term and smaller end index); a larger term makes the voter a candidate of that term first
//!   (REJECT_TERM_NOT_READY); one vote per term.
//!
//! The random draws come from the broker node's own stream (`ctx.rng()`). Modelling choice: DLedger's
//! `StateMaintainer` checks every 10 ms; here the node wakes exactly when a check would first pass.

use serde::Serialize;

use crate::protocol::ha::VoteResult;
use crate::time::Time;

/// `VoteResponse.ParseResult`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ParseResult {
    WaitToRevote,
    RevoteImmediately,
    Passed,
    WaitToVoteNext,
}

/// A vote round in progress (the counters of `maintainAsCandidate`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VoteRound {
    pub term: i64,
    pub started: Time,
    pub deadline: Time,
    pub all: u32,
    pub valid: u32,
    pub accepted: u32,
    pub not_ready: u32,
    pub bigger_ledger: u32,
    pub already_has_leader: bool,
    pub known_max_term: i64,
}

impl VoteRound {
    pub fn new(term: i64, started: Time, deadline: Time) -> Self {
        VoteRound {
            term,
            started,
            deadline,
            all: 0,
            valid: 0,
            accepted: 0,
            not_ready: 0,
            bigger_ledger: 0,
            already_has_leader: false,
            known_max_term: term,
        }
    }

    /// Count one answer (or, with None, one failed call).
    pub fn count(&mut self, answer: Option<(i64, VoteResult)>) {
        self.all += 1;
        let Some((term, result)) = answer else { return };
        self.valid += 1;
        match result {
            VoteResult::Accept => self.accepted += 1,
            VoteResult::RejectAlreadyHasLeader => self.already_has_leader = true,
            VoteResult::RejectTermSmallThanLedger | VoteResult::RejectExpiredVoteTerm => {
                self.known_max_term = self.known_max_term.max(term);
            }
            VoteResult::RejectExpiredLedgerTerm | VoteResult::RejectSmallLedgerEndIndex => self.bigger_ledger += 1,
            VoteResult::RejectTermNotReady => self.not_ready += 1,
            _ => {}
        }
    }

    /// The vote latch: a leader known, a quorum accepted (possibly counting peers not ready), or everyone
    /// answered.
    pub fn latch_released(&self, peers: usize, is_quorum: impl Fn(usize) -> bool) -> bool {
        self.already_has_leader
            || is_quorum(self.accepted as usize)
            || is_quorum((self.accepted + self.not_ready) as usize)
            || self.all as usize >= peers
    }
}

/// A heartbeat round in progress (the counters of `sendHeartbeats`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HeartbeatRound {
    pub term: i64,
    pub deadline: Time,
    /// The leader counts itself in both.
    pub all: u32,
    pub succeeded: u32,
    pub not_ready: u32,
    pub max_term: i64,
    pub inconsistent_leader: bool,
}

/// The elector's clocks and flags.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LeaderElector {
    pub last_leader_heart_beat_time: Time,
    /// None stands for DLedger's -1 (send at once).
    pub last_send_heart_beat_time: Option<Time>,
    pub last_succ_heart_beat_time: Time,
    pub next_time_to_request_vote: Time,
    pub need_increase_term_immediately: bool,
    pub last_parse_result: ParseResult,
    pub vote_round: Option<VoteRound>,
    pub heartbeat_round: Option<HeartbeatRound>,
    pub elections_won: u64,
    pub votes_started: u64,
}

impl LeaderElector {
    pub fn new(now: Time) -> Self {
        LeaderElector {
            last_leader_heart_beat_time: now,
            last_send_heart_beat_time: None,
            last_succ_heart_beat_time: now,
            next_time_to_request_vote: now,
            need_increase_term_immediately: false,
            last_parse_result: ParseResult::WaitToRevote,
            vote_round: None,
            heartbeat_round: None,
            elections_won: 0,
            votes_started: 0,
        }
    }
}

/// The outcome of a finished vote round (`maintainAsCandidate`'s parse), and the wait it asks for:
/// `extra_wait_ms` is added to a fresh random vote interval (None: no new wait).
pub fn parse_vote_round(
    round: &VoteRound,
    is_quorum: impl Fn(usize) -> bool,
    heart_beat_ms: u64,
    max_heart_beat_leak: u64,
    max_vote_interval_ms: u64,
) -> (ParseResult, Option<u64>) {
    if round.known_max_term > round.term {
        (ParseResult::WaitToVoteNext, Some(0))
    } else if round.already_has_leader {
        (ParseResult::WaitToRevote, Some(heart_beat_ms * max_heart_beat_leak))
    } else if !is_quorum(round.valid as usize) {
        (ParseResult::WaitToRevote, Some(0))
    } else if !is_quorum((round.valid - round.bigger_ledger) as usize) {
        (ParseResult::WaitToRevote, Some(max_vote_interval_ms))
    } else if is_quorum(round.accepted as usize) {
        (ParseResult::Passed, None)
    } else if is_quorum((round.accepted + round.not_ready) as usize) {
        (ParseResult::RevoteImmediately, None)
    } else {
        (ParseResult::WaitToVoteNext, Some(0))
    }
}

/// `handleVote`'s decision for a request, given the voter's state. Returns the result and whether the
/// voter must first become a candidate of the request's (larger) term.
#[allow(clippy::too_many_arguments)]
pub fn decide_vote(
    is_member: bool,
    from_self_id: bool,
    is_self: bool,
    request: (i64, i64, i64),
    voter_term: i64,
    voter_ledger: (i64, i64),
    vote_for: Option<&str>,
    candidate: &str,
    has_leader: bool,
) -> (VoteResult, bool) {
    let (term, ledger_end_term, ledger_end_index) = request;
    let (voter_end_term, voter_end_index) = voter_ledger;
    if !is_member {
        return (VoteResult::RejectUnknownLeader, false);
    }
    if !is_self && from_self_id {
        return (VoteResult::RejectUnexpectedLeader, false);
    }
    if ledger_end_term < voter_end_term {
        return (VoteResult::RejectExpiredLedgerTerm, false);
    }
    if ledger_end_term == voter_end_term && ledger_end_index < voter_end_index {
        return (VoteResult::RejectSmallLedgerEndIndex, false);
    }
    if term < voter_term {
        return (VoteResult::RejectExpiredVoteTerm, false);
    }
    if term > voter_term {
        return (VoteResult::RejectTermNotReady, true);
    }
    match vote_for {
        None => {}
        Some(voted) if voted == candidate => {}
        Some(_) if has_leader => return (VoteResult::RejectAlreadyHasLeader, false),
        Some(_) => return (VoteResult::RejectAlreadyVoted, false),
    }
    if term < voter_end_term {
        return (VoteResult::RejectTermSmallThanLedger, false);
    }
    (VoteResult::Accept, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quorum3(n: usize) -> bool {
        n >= 2
    }

    #[test]
    fn a_voter_refuses_a_candidate_with_a_shorter_ledger() {
        let (result, _) = decide_vote(true, false, false, (5, 2, 10), 5, (2, 11), None, "n1", false);
        assert_eq!(result, VoteResult::RejectSmallLedgerEndIndex);
        let (result, _) = decide_vote(true, false, false, (5, 1, 99), 5, (2, 0), None, "n1", false);
        assert_eq!(result, VoteResult::RejectExpiredLedgerTerm);
    }

    #[test]
    fn one_vote_per_term_and_a_larger_term_is_not_ready_yet() {
        assert_eq!(
            decide_vote(true, false, false, (5, 1, 1), 5, (1, 1), Some("n2"), "n1", false).0,
            VoteResult::RejectAlreadyVoted
        );
        assert_eq!(
            decide_vote(true, false, false, (5, 1, 1), 5, (1, 1), Some("n1"), "n1", false).0,
            VoteResult::Accept
        );
        assert_eq!(
            decide_vote(true, false, false, (6, 1, 1), 5, (1, 1), Some("n2"), "n1", true),
            (VoteResult::RejectTermNotReady, true)
        );
    }

    #[test]
    fn a_round_passes_with_a_quorum_and_waits_longer_when_a_leader_exists() {
        let mut round = VoteRound::new(3, Time::ZERO, Time::from_secs(2));
        round.count(Some((3, VoteResult::Accept)));
        round.count(Some((3, VoteResult::Accept)));
        assert!(round.latch_released(3, quorum3));
        assert_eq!(parse_vote_round(&round, quorum3, 2_000, 3, 1_000).0, ParseResult::Passed);
        let mut round = VoteRound::new(3, Time::ZERO, Time::from_secs(2));
        round.count(Some((3, VoteResult::Accept)));
        round.count(Some((3, VoteResult::RejectAlreadyHasLeader)));
        assert_eq!(parse_vote_round(&round, quorum3, 2_000, 3, 1_000), (ParseResult::WaitToRevote, Some(6_000)));
    }
}
