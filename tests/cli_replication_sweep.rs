//! Replication at the command line: `rmqsim replication-sweep` (the no-loss property at CLI scale, with
//! its exit codes) and the RTO / RPO / lag section of `rmqsim run`.

use std::process::Command;

fn rmqsim(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_rmqsim")).args(args).output().expect("the CLI runs");
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("UTF-8 output");
    (output.status.code().unwrap_or(-1), text(output.stdout), text(output.stderr))
}

#[test]
fn a_sync_master_sweep_reports_every_schedule_and_no_loss() {
    let (code, out, _) = rmqsim(&["replication-sweep", "--seeds", "0..12", "--json"]);
    assert_eq!(code, 0, "{out}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["mode"], "sync-master-sync-flush");
    assert_eq!(summary["seeds"]["count"], 12);
    assert_eq!(summary["lost"], 0);
    assert!(summary["acknowledged"].as_u64().unwrap() > 12);
}

#[test]
fn an_async_sweep_lists_the_losing_schedules_without_failing_because_async_promises_nothing() {
    // Seed 12 of the ASYNC_MASTER + ASYNC_FLUSH sweep is a master power loss that loses messages.
    let (code, out, _) = rmqsim(&["replication-sweep", "--mode", "async-master-async-flush", "--seeds", "12..=12"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("seed       12:") && out.contains("power_loss of broker-a"), "{out}");
}

#[test]
fn an_unknown_mode_exits_2_naming_the_modes() {
    let (code, _, err) = rmqsim(&["replication-sweep", "--mode", "raft"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown replication mode `raft`") && err.contains("dledger"), "{err}");
}

#[test]
fn run_reports_each_replica_s_lag_and_the_rto_and_rpo_of_each_failure() {
    let (code, out, err) = rmqsim(&["run", "controller-failover-5x"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("broker-a (5.x controller), master: broker-a-s"), "{out}");
    let failure = out.lines().find(|l| l.contains("power_loss of broker-a at 00:30.000")).expect(&out);
    assert!(failure.contains("the master") && failure.contains("RTO ") && failure.contains("RPO 0 of"), "{failure}");
    let (_, json, _) = rmqsim(&["run", "controller-failover-5x", "--json"]);
    let summary: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(summary["replication"]["failures"][0]["lost"].as_array().unwrap().len(), 0);
    assert!(summary["replication"]["failures"][0]["rto"].as_u64().is_some_and(|us| us > 10_000_000), "{json}");
}
