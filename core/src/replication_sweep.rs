//! Random single-failure schedules for one broker group, and the RPO verdict of each: the property
//! "no acknowledged message is lost under any single-node failure" as a function a test, the CLI or a
//! checker can call for one seed or a million.
//!
//! A case is a small cluster (one NameServer, one broker group in the mode under test, one producer
//! sending a few dozen messages in a couple of seconds) and one fault drawn from the run's `Faults`
//! stream: a crash of one replica (process kill, power loss, disk loss) or its graceful shutdown, with
//! or without a restart; a partition, a slow link or a slow disk between or on the replicas, healed
//! later. The run goes on until every replica had time to come back and catch up, then the verdict
//! lists the acknowledged (SEND_OK) messages that no running replica holds.
//!
//! Everything is a pure function of (mode, seed): the same case gives the same digest everywhere.

use serde::Serialize;

use crate::prng::{Concern, Prng, StreamOwner};
use crate::scenario::Scenario;
use crate::simulation::Simulation;
use crate::time::Time;

/// The replication set-ups a sweep can exercise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum SweepMode {
    /// Master + slave, SYNC_MASTER + SYNC_FLUSH: must never lose an acknowledged message.
    SyncMasterSyncFlush,
    /// Master + slave, ASYNC_MASTER + ASYNC_FLUSH: loses what the slave had not received when the master
    /// loses power or its disk (expected, for comparison).
    AsyncMasterAsyncFlush,
    /// A 3-node DLedger group: must never lose a committed (acknowledged) message.
    DLedger,
    /// 5.x controller mode, 3 replicas, `allAckInSyncStateSet` and SYNC_FLUSH: must never lose an
    /// acknowledged message. (With ASYNC_FLUSH a master that loses power and restarts before the controller
    /// notices stays master of its epoch with only its flushed log; its slaves find no consistent point and
    /// stop following it, stranding the acknowledged tail on them.)
    ControllerAllAckSyncFlush,
}

impl SweepMode {
    /// Every mode, with the name the CLI knows it by.
    pub const ALL: [(SweepMode, &'static str); 4] = [
        (SweepMode::SyncMasterSyncFlush, "sync-master-sync-flush"),
        (SweepMode::AsyncMasterAsyncFlush, "async-master-async-flush"),
        (SweepMode::DLedger, "dledger"),
        (SweepMode::ControllerAllAckSyncFlush, "controller-all-ack-sync-flush"),
    ];

    pub fn name(self) -> &'static str {
        SweepMode::ALL.iter().find(|(mode, _)| *mode == self).map_or("?", |(_, name)| name)
    }

    /// The mode called `name`, or an error listing the names.
    pub fn from_name(name: &str) -> Result<SweepMode, String> {
        SweepMode::ALL.iter().find(|(_, n)| *n == name).map(|(mode, _)| *mode).ok_or_else(|| {
            let names: Vec<&str> = SweepMode::ALL.iter().map(|(_, n)| *n).collect();
            format!("unknown replication mode `{name}`: one of {}", names.join(", "))
        })
    }

    /// Whether the mode promises that no acknowledged message is lost under a single failure.
    pub fn must_not_lose(self) -> bool {
        self != SweepMode::AsyncMasterAsyncFlush
    }

    pub fn nodes(self) -> &'static [&'static str] {
        match self {
            SweepMode::DLedger | SweepMode::ControllerAllAckSyncFlush => &["broker-a", "broker-a-s1", "broker-a-s2"],
            _ => &["broker-a", "broker-a-s1"],
        }
    }

    fn topology(self) -> &'static str {
        match self {
            SweepMode::SyncMasterSyncFlush => {
                "slaves = 1\n[topology.broker_groups.store]\nbrokerRole = \"SYNC_MASTER\"\nflushDiskType = \"SYNC_FLUSH\"\n"
            }
            SweepMode::AsyncMasterAsyncFlush => {
                "slaves = 1\n[topology.broker_groups.store]\nbrokerRole = \"ASYNC_MASTER\"\nflushDiskType = \"ASYNC_FLUSH\"\n"
            }
            SweepMode::DLedger => "[topology.broker_groups.store]\nenableDLegerCommitLog = true\n",
            SweepMode::ControllerAllAckSyncFlush => {
                "slaves = 2\n[topology.broker_groups.config]\nenableControllerMode = true\n\
                 [topology.broker_groups.store]\nallAckInSyncStateSet = true\nflushDiskType = \"SYNC_FLUSH\"\n"
            }
        }
    }

    /// When the producer starts: after the slave connected (5 s) or the first leader was elected.
    fn start_ms(self) -> u64 {
        match self {
            SweepMode::DLedger | SweepMode::ControllerAllAckSyncFlush => 2_000,
            _ => 5_500,
        }
    }

    /// How long a case runs: long enough for restarts, reconnections and elections to settle.
    pub fn run_for(self) -> Time {
        match self {
            SweepMode::DLedger => Time::from_secs(25),
            SweepMode::ControllerAllAckSyncFlush => Time::from_secs(30),
            _ => Time::from_secs(18),
        }
    }
}

/// One case's schedule and verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SweepCase {
    pub mode: SweepMode,
    pub seed: u64,
    /// The fault, in words (`power_loss of broker-a at 6.120s, restart at 9.800s`).
    pub fault: String,
    pub acknowledged: u32,
    /// Acknowledged messages no running replica holds at the end (UNIQ_KEYs).
    pub lost: Vec<String>,
    pub digest: String,
}

fn millis(ms: u64) -> String {
    format!("{ms}ms")
}

/// The scenario of a case: the cluster, and the one fault drawn from `seed`'s `Faults` stream.
pub fn case_scenario(mode: SweepMode, seed: u64) -> (Scenario, String) {
    let mut rng = Prng::stream(seed, StreamOwner::Run, Concern::Faults);
    let nodes = mode.nodes();
    let start = mode.start_ms();
    let at = start + rng.below(1_500);
    let victim = nodes[rng.below(nodes.len() as u64) as usize];
    let other = nodes.iter().copied().find(|n| *n != victim).unwrap_or(victim);
    let back = at + 300 + rng.below(8_000);
    let mut actions = String::new();
    let mut action = |text: String| actions.push_str(&format!("[[actions]]\n{text}\n"));
    let fault = match rng.below(9) {
        kind @ 0..=3 => {
            let kind = ["process_kill", "power_loss", "disk_loss", "power_loss"][kind as usize];
            action(format!("at = \"{}\"\ndo = \"crash\"\nnode = \"{victim}\"\nkind = \"{kind}\"", millis(at)));
            if rng.below(4) == 0 {
                format!("{kind} of {victim} at {at} ms, no restart")
            } else {
                action(format!("at = \"{}\"\ndo = \"restart\"\nnode = \"{victim}\"", millis(back)));
                format!("{kind} of {victim} at {at} ms, restart at {back} ms")
            }
        }
        4 => {
            action(format!("at = \"{}\"\ndo = \"shutdown\"\nnode = \"{victim}\"", millis(at)));
            action(format!("at = \"{}\"\ndo = \"restart\"\nnode = \"{victim}\"", millis(back + 1_000)));
            format!("shutdown of {victim} at {at} ms, restart at {} ms", back + 1_000)
        }
        5 | 6 => {
            let others: Vec<String> = nodes.iter().filter(|n| **n != victim).map(|n| format!("\"{n}\"")).collect();
            let both = rng.below(2) == 0;
            action(format!(
                "at = \"{}\"\ndo = \"partition\"\nfrom = [\"{victim}\"]\nto = [{}]\nboth_ways = {both}",
                millis(at),
                others.join(", ")
            ));
            action(format!("at = \"{}\"\ndo = \"heal_all\"", millis(back)));
            format!("partition of {victim} (both ways: {both}) at {at} ms, healed at {back} ms")
        }
        7 => {
            let extra = 50 + rng.below(2_000);
            action(format!(
                "at = \"{}\"\ndo = \"clog\"\nfrom = \"{victim}\"\nto = \"{other}\"\nextra = \"{}\"",
                millis(at),
                millis(extra)
            ));
            action(format!("at = \"{}\"\ndo = \"heal_all\"", millis(back)));
            format!("link {victim} → {other} slowed by {extra} ms at {at} ms, healed at {back} ms")
        }
        _ => {
            let factor = 10 + rng.below(1_000);
            action(format!("at = \"{}\"\ndo = \"slow_disk\"\nnode = \"{victim}\"\nfactor = {factor}", millis(at)));
            action(format!("at = \"{}\"\ndo = \"slow_disk\"\nnode = \"{victim}\"\nfactor = 1", millis(back)));
            format!("disk of {victim} {factor}× slower at {at} ms, normal at {back} ms")
        }
    };
    let text = format!(
        r#"version = 1
id = "replication-sweep"
run_for = "{run_for}ms"
[narrative.en]
title = "sweep"
question = "-"
watch = "-"
explanation = "-"
fidelity = "-"
[narrative.zh]
title = "sweep"
question = "-"
watch = "-"
explanation = "-"
fidelity = "-"
[topology]
name_servers = 1
controllers = {controllers}
[[topology.broker_groups]]
name = "broker-a"
{topology}
[[topology.topics]]
name = "TopicTest"
queues = 2
[[producers]]
[producers.workload]
topic = "TopicTest"
start_at = "{start}ms"
rate = [{{ at = "0s", per_second = 20 }}]
max_messages = 20
{actions}"#,
        run_for = mode.run_for().as_millis(),
        topology = mode.topology(),
        controllers = u32::from(mode == SweepMode::ControllerAllAckSyncFlush),
    );
    let scenario = Scenario::parse("replication-sweep", &text).expect("sweep scenarios are valid");
    (scenario, fault)
}

/// Run one case to its end and judge it.
pub fn run_case(mode: SweepMode, seed: u64) -> SweepCase {
    let (scenario, fault) = case_scenario(mode, seed);
    let mut sim = Simulation::new(&scenario, seed).expect("sweep scenarios build");
    sim.run_until(mode.run_for());
    let (acknowledged, lost) = crate::replication_metrics::acknowledged_and_lost(&sim, "broker-a");
    SweepCase { mode, seed, fault, acknowledged, lost, digest: crate::sim::trace::format_digest(sim.digest()) }
}
