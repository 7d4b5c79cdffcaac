//! DLedger groups (RocketMQ 4.9.8 + openmessaging/dledger 0.3.1.2): Raft elections with the DLedger
//! timings, commit by majority, truncation of a deposed leader's tail, the leader as SYNC_MASTER.

mod replication_support;

use replication_support::*;
use rmqsim_core::broker::dledger::dledger_store::Role;
use rmqsim_core::broker::dledger::entry::{decode_header, EntryAt, BODY_OFFSET};
use rmqsim_core::observation::{Observation, SendOutcome};
use rmqsim_core::producer::send_result::SendStatus;
use rmqsim_core::scenario::model::{ActionSpec, CrashKindSpec};
use rmqsim_core::sim::trace::format_digest;
use rmqsim_core::time::{Duration, Time};
use rmqsim_core::Simulation;

const GROUP: [&str; 3] = ["broker-a", "broker-a-s1", "broker-a-s2"];

fn dledger(rate: u32, actions: &str) -> String {
    let store = "[topology.broker_groups.store]\nenableDLegerCommitLog = true";
    cluster(1, &[("broker-a", store)], &[("TopicTest", 4)])
        + &producer("", "TopicTest", &format!("start_at = \"2s\"\n{}", replication_support::rate(rate)))
        + actions
}

/// (time, node, term) of every LEADER a group member became.
fn leaders(sim: &Simulation) -> Vec<(Time, String, i64)> {
    sim.observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::DLedgerRoleChanged { role, term, .. } if role == "LEADER" => {
                Some((o.time, sim.directory().entry(o.node).name.clone(), *term))
            }
            _ => None,
        })
        .collect()
}

/// The node that leads now.
fn leader_now(sim: &Simulation) -> Option<String> {
    GROUP
        .iter()
        .find(|n| broker(sim, n).and_then(|b| b.store.dledger()).is_some_and(|d| d.member.role == Role::Leader))
        .map(|n| n.to_string())
}

fn kill_at(node: &str, at: &str, kind: &str) -> String {
    format!("[[actions]]\nat = \"{at}\"\ndo = \"crash\"\nnode = \"{node}\"\nkind = \"{kind}\"\n")
}

#[test]
fn three_nodes_elect_one_leader_which_becomes_the_sync_master_and_commits_by_majority() {
    let sim = run(&dledger(20, ""), 1, Time::from_secs(12));
    let first = &leaders(&sim)[0];
    assert!(first.0 < Time::from_secs(2), "{first:?}");
    let leader = broker(&sim, &first.1).unwrap();
    assert_eq!(leader.spec.broker_id, 0);
    assert_eq!(leader.role(), rmqsim_core::broker::store::message_store_config::BrokerRole::SyncMaster);
    assert!(count_status(&sim, SendStatus::SendOk) > 150);
    for name in GROUP {
        let b = broker(&sim, name).unwrap();
        let d = b.store.dledger().unwrap();
        assert!(d.committed_index >= leader.store.dledger().unwrap().committed_index - 20);
        if *name != first.1 {
            assert_eq!(d.member.role, Role::Follower);
            assert_eq!(b.spec.broker_id, d.config.slave_broker_id());
        }
    }
}

#[test]
fn a_dledger_entry_wraps_the_record_and_the_message_offset_points_48_bytes_in() {
    let sim = run(&dledger(5, ""), 1, Time::from_secs(6));
    let name = leader_now(&sim).unwrap();
    let leader = broker(&sim, &name).unwrap();
    let disk = sim.kernel().disk(node(&sim, &name));
    let stored: Vec<i64> = picked(&sim, |o| match o {
        Observation::MessageStored { commit_log_offset, .. } => Some(*commit_log_offset),
        _ => None,
    });
    let first_entry = leader.store.commit_log().get_message(disk, 0, BODY_OFFSET as i32).unwrap();
    let EntryAt::Entry(header) = decode_header(&first_entry) else { panic!("an entry starts the log") };
    assert_eq!((header.index, header.pos), (0, 0));
    assert_eq!(stored[0], BODY_OFFSET as i64, "the record starts after the 48-byte header");
    assert_eq!(header.size - header.body_size, 48);
    // The data files are DLedger's.
    let queue = leader.store.commit_log().mapped_file_queue();
    assert!(queue.files()[0].file_from_offset() == 0);
    assert!(disk
        .lookup(&format!("store/dledger-{}/data/00000000000000000000", leader.store.dledger().unwrap().config.self_id))
        .is_some());
}

#[test]
fn killing_the_leader_elects_a_new_one_within_the_election_timeout_and_no_acknowledged_message_is_lost() {
    for seed in 1..=3u64 {
        let mut sim = Simulation::new(&scenario(&dledger(20, "")), seed).unwrap();
        sim.run_until(Time::from_secs(20));
        let old = leader_now(&sim).expect("a leader at 20 s");
        let old_term = broker(&sim, &old).unwrap().store.dledger().unwrap().member.curr_term;
        let crash = ActionSpec::Crash { node: old.clone(), kind: CrashKindSpec::ProcessKill };
        sim.inject(None, &crash).unwrap();
        sim.run_until(Time::from_secs(62));
        let new = leaders(&sim).into_iter().find(|l| l.0 > Time::from_secs(20)).expect("a new leader");
        let elapsed = new.0.saturating_since(Time::from_secs(20));
        // Followers give up 3 × 2 s after the last heartbeat (sent at most 2 s before the kill), then vote
        // after [300, 1000) ms; a first round in the old term fails (they voted for the old leader).
        assert!(elapsed >= Duration::from_secs(4) && elapsed <= Duration::from_secs(9), "seed {seed}: {elapsed}");
        assert!(new.2 > old_term && new.1 != old);
        let report = sim.replication_report();
        let failure = &report.failures[0];
        assert!(failure.master_lost);
        assert!(failure.lost.is_empty(), "seed {seed}: {:?}", failure.lost);
        // Writes resume once producers refresh the route (every 30 s): the RTO is at most one refresh later.
        let rto = failure.rto.expect("writes resumed");
        assert!(rto >= elapsed && rto <= elapsed + Duration::from_secs(31), "seed {seed}: rto {rto}");
    }
}

#[test]
fn a_leader_cut_off_from_its_followers_cannot_commit_steps_down_and_loses_its_uncommitted_tail() {
    let actions = "[[actions]]\nat = \"20s\"\ndo = \"partition\"\nfrom = [\"broker-a-s1\"]\nto = [\"broker-a\", \"broker-a-s2\"]\n\
                   [[actions]]\nat = \"40s\"\ndo = \"heal_all\"\n";
    let mut sim = Simulation::new(&scenario(&dledger(10, actions)), 1).unwrap();
    sim.run_until(Time::from_secs(20));
    assert_eq!(leader_now(&sim).as_deref(), Some("broker-a-s1"), "seed 1 elects n1 first");
    let committed_at_cut = broker(&sim, "broker-a-s1").unwrap().store.dledger().unwrap().committed_index;
    sim.run_until(Time::from_millis(24_000));
    // The minority leader kept appending what producers sent it, but committed nothing.
    let old = broker(&sim, "broker-a-s1").unwrap().store.dledger().unwrap();
    assert!(old.ledger_end_index > committed_at_cut, "{} {}", old.ledger_end_index, committed_at_cut);
    assert_eq!(old.committed_index, committed_at_cut);
    sim.run_until(Time::from_secs(39));
    let old = broker(&sim, "broker-a-s1").unwrap().store.dledger().unwrap();
    assert_ne!(old.member.role, Role::Leader, "no quorum for 6 s: it stepped down");
    let majority = leader_now(&sim).expect("the majority elected a leader");
    assert_ne!(majority, "broker-a-s1");
    sim.run_until(Time::from_secs(60));
    let truncated: Vec<_> = sim
        .observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::ReplicaTruncated { bytes_cut, .. } => {
                Some((sim.directory().entry(o.node).name.clone(), *bytes_cut))
            }
            _ => None,
        })
        .collect();
    assert!(truncated.iter().any(|(n, bytes)| n == "broker-a-s1" && *bytes > 0), "{truncated:?}");
    // Every node ends with the same log, and nothing acknowledged was lost.
    let ends: Vec<i64> =
        GROUP.iter().map(|n| broker(&sim, n).unwrap().store.dledger().unwrap().ledger_end_index).collect();
    assert!(ends.iter().all(|e| *e == ends[0]), "{ends:?}");
    let report = sim.replication_report();
    assert_eq!(report.totals[0].2, 0, "{:?}", report.totals);
    // Puts on the minority leader ended OS_PAGECACHE_BUSY → SYSTEM_ERROR after maxWaitAckTimeMs, or timed out.
    let busy = sim
        .observations()
        .iter()
        .filter(|o| matches!(&o.observation, Observation::SendCompleted { outcome: SendOutcome::Failed { .. }, .. }))
        .count();
    assert!(busy > 0);
}

#[test]
fn a_restarted_old_leader_rejoins_as_a_follower_and_catches_up() {
    let actions = format!(
        "{}[[actions]]\nat = \"40s\"\ndo = \"restart\"\nnode = \"broker-a-s1\"\n",
        kill_at("broker-a-s1", "20s", "power_loss")
    );
    let sim = run(&dledger(10, &actions), 1, Time::from_secs(70));
    let old = broker(&sim, "broker-a-s1").unwrap();
    let leader = broker(&sim, &leader_now(&sim).unwrap()).unwrap();
    assert_eq!(old.store.dledger().unwrap().member.role, Role::Follower);
    assert_eq!(old.store.dledger().unwrap().ledger_end_index, leader.store.dledger().unwrap().ledger_end_index);
    assert_eq!(old.store.max_phy_offset(), leader.store.max_phy_offset());
    assert!(sim.replication_report().failures[0].lost.is_empty());
}

#[test]
fn losing_one_follower_does_not_stop_writes() {
    let sim = run(&dledger(10, &kill_at("broker-a-s2", "10s", "disk_loss")), 1, Time::from_secs(30));
    let after: Vec<_> = results(&sim).into_iter().filter(|r| r.0 > Time::from_secs(11)).collect();
    assert!(after.len() > 150);
    assert!(after.iter().all(|r| r.2 == SendStatus::SendOk));
}

#[test]
fn every_dledger_run_is_reproducible() {
    let body = dledger(10, &kill_at("broker-a-s1", "15s", "power_loss"));
    let digest = |seed| {
        let sim = run(&body, seed, Time::from_secs(40));
        format_digest(sim.digest())
    };
    assert_eq!(digest(3), digest(3));
    assert_ne!(digest(3), digest(4));
}
