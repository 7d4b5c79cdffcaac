//! `DLedgerEntryPusher` (openmessaging/dledger 0.3.1.2): how a leader brings each follower's log in
//! line with its own and decides what is committed.
//!
//! One `EntryDispatcher` per follower cycles COMPARE → TRUNCATE → APPEND (→ COMMIT when idle):
//! * **COMPARE** from the leader's end index backwards: the follower answers SUCCESS if it holds the
//!   same entry, else its begin and end index, which move the compare index (to the follower's end, one
//!   back, or the leader's begin). A match at the follower's end goes straight to APPEND; a match before
//!   it, or no intersection, sends a **TRUNCATE**: the follower cuts everything after that entry (this is
//!   how an old leader's uncommitted tail disappears when it rejoins).
//! * **APPEND** pushes every entry after the match, one request each, up to 1 000 unanswered; a SUCCESS
//!   raises the follower's water mark, an INCONSISTENT_STATE goes back to COMPARE, and the oldest
//!   unanswered push is resent after `maxPushTimeOutMs` (1 s). With nothing to push, a COMMIT push
//!   carries the committed index at most once a second (followers learn it from every push).
//! * The **QuorumAckChecker** sorts the water marks of the term (the leader's own is its end index) and
//!   commits the one a majority reached; that answers the puts waiting for it.
//!
//! Compare and truncate calls block their dispatcher until answered (3 s); a failure sends it back to
//! COMPARE after 500 ms, as the thread's catch does.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::protocol::ha::PushType;
use crate::sim::node::{NodeId, TimerId};
use crate::time::{Duration, Time};

/// `maxPendingSize` of a dispatcher.
pub const MAX_PENDING_PUSHES: usize = 1_000;
/// `doCommit`: a COMMIT push at most this often when idle.
pub const COMMIT_PUSH_INTERVAL: Duration = Duration::from_millis(1_000);
/// Compare and truncate calls wait this long (`responseFuture.get(3, SECONDS)`).
pub const BLOCKING_CALL_TIMEOUT: Duration = Duration::from_secs(3);
/// `DLedgerUtils.sleep(500)` after a dispatcher's failure.
pub const FAILURE_PAUSE: Duration = Duration::from_millis(500);

/// One follower's dispatcher on the leader.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EntryDispatcher {
    pub peer: String,
    pub node: NodeId,
    pub kind: PushType,
    pub compare_index: i64,
    pub write_index: i64,
    /// Append pushes sent and not answered: index → when sent.
    pub pending: BTreeMap<i64, Time>,
    pub last_push_commit_time: Option<Time>,
    /// A compare or truncate call is out: its deadline.
    pub blocked_until: Option<Time>,
    /// After a failure, nothing until then.
    pub paused_until: Option<Time>,
    #[serde(skip)]
    pub(crate) timer: Option<(TimerId, Time)>,
    pub pushes_sent: u64,
}

impl EntryDispatcher {
    pub fn new(peer: &str, node: NodeId) -> Self {
        EntryDispatcher {
            peer: peer.to_string(),
            node,
            kind: PushType::Compare,
            compare_index: -1,
            write_index: -1,
            pending: BTreeMap::new(),
            last_push_commit_time: None,
            blocked_until: None,
            paused_until: None,
            timer: None,
            pushes_sent: 0,
        }
    }

    /// `changeState`.
    pub fn change_state(&mut self, index: i64, target: PushType) {
        match target {
            PushType::Append => {
                self.compare_index = -1;
                self.write_index = index + 1;
            }
            PushType::Compare => {
                if self.kind == PushType::Append {
                    self.compare_index = -1;
                    self.pending.clear();
                }
            }
            PushType::Truncate => self.compare_index = -1,
            PushType::Commit => {}
        }
        self.kind = target;
    }

    /// A dispatcher failure: back to COMPARE, and a pause.
    pub fn fail(&mut self, now: Time) {
        self.blocked_until = None;
        self.change_state(-1, PushType::Compare);
        self.paused_until = Some(now + FAILURE_PAUSE);
    }
}

/// The leader's pusher state for one term.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EntryPusher {
    pub term: i64,
    pub dispatchers: BTreeMap<String, EntryDispatcher>,
    /// `peerWaterMarksByTerm` of this term: peer id → highest index it holds in line with the leader.
    pub water_marks: BTreeMap<String, i64>,
}

impl EntryPusher {
    /// A fresh pusher for a new leadership term: every dispatcher starts in COMPARE, marks at -1.
    pub fn for_term(term: i64, self_id: &str, peers: &BTreeMap<String, NodeId>) -> Self {
        let mut pusher = EntryPusher { term, ..EntryPusher::default() };
        for (peer, node) in peers {
            pusher.water_marks.insert(peer.clone(), -1);
            if peer != self_id {
                pusher.dispatchers.insert(peer.clone(), EntryDispatcher::new(peer, *node));
            }
        }
        pusher
    }

    /// `updatePeerWaterMark`: only ever up.
    pub fn update_water_mark(&mut self, peer: &str, index: i64) {
        if let Some(mark) = self.water_marks.get_mut(peer) {
            *mark = (*mark).max(index);
        }
    }

    /// The QuorumAckChecker's quorum index: the water marks sorted high to low, the one at position
    /// `size / 2`.
    pub fn quorum_index(&self) -> i64 {
        let mut marks: Vec<i64> = self.water_marks.values().copied().collect();
        marks.sort_unstable_by(|a, b| b.cmp(a));
        marks.get(marks.len() / 2).copied().unwrap_or(-1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quorum_index_is_what_a_majority_holds() {
        let peers: BTreeMap<String, NodeId> =
            [("n0".to_string(), NodeId(1)), ("n1".to_string(), NodeId(2)), ("n2".to_string(), NodeId(3))].into();
        let mut pusher = EntryPusher::for_term(4, "n0", &peers);
        pusher.update_water_mark("n0", 10);
        assert_eq!(pusher.quorum_index(), -1);
        pusher.update_water_mark("n2", 7);
        assert_eq!(pusher.quorum_index(), 7);
        pusher.update_water_mark("n2", 3);
        assert_eq!(pusher.quorum_index(), 7, "marks never go down");
        assert_eq!(pusher.dispatchers.len(), 2);
    }

    #[test]
    fn an_append_failure_returns_to_compare_and_forgets_pending_pushes() {
        let mut d = EntryDispatcher::new("n1", NodeId(2));
        d.change_state(4, PushType::Append);
        assert_eq!(d.write_index, 5);
        d.pending.insert(5, Time::ZERO);
        d.change_state(-1, PushType::Compare);
        assert!(d.pending.is_empty());
        assert_eq!(d.kind, PushType::Compare);
    }
}
