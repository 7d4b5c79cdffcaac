//! `rmqsim replication-sweep`: the replication property tests at CLI scale. Each seed is one random
//! single-failure schedule for one broker group in the chosen HA mode (`rmqsim_core::replication_sweep`);
//! the command runs a range of seeds on every core and lists the seeds that lost acknowledged messages,
//! each with its fault. A mode that promises no loss (every mode but ASYNC_MASTER + ASYNC_FLUSH) fails
//! (exit 1) if any seed loses one.
//!
//! Like `rmqsim sweep`: each worker builds its own `Simulation`, seeds come from an atomic counter, and the
//! results are reported in seed order, so the report does not depend on the number of threads.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use clap::Args;
use rmqsim_core::replication_sweep::{run_case, SweepCase, SweepMode};

use crate::commands::sweep::{parse_seeds, progress_bar, worker_count};
use crate::exit::{check_failed, Failure, BAD_ARGUMENTS};

#[derive(Args)]
pub struct ReplicationSweepArgs {
    /// The HA mode: sync-master-sync-flush, async-master-async-flush, dledger or
    /// controller-all-ack-sync-flush (5.x)
    #[arg(long, default_value = "sync-master-sync-flush")]
    mode: String,
    /// Seeds (fault schedules) to run, `A..B` (B excluded) or `A..=B`
    #[arg(long, default_value = "0..1000")]
    seeds: String,
    /// Worker threads (default: every core)
    #[arg(long)]
    jobs: Option<usize>,
    /// No progress bar
    #[arg(long)]
    quiet: bool,
    /// Print the summary as JSON
    #[arg(long)]
    json: bool,
}

pub fn replication_sweep(args: &ReplicationSweepArgs) -> Result<(), Failure> {
    let mode = SweepMode::from_name(&args.mode).map_err(|e| Failure::new(BAD_ARGUMENTS, format!("--mode: {e}")))?;
    let (first, last) = parse_seeds(&args.seeds)?;
    let count = last - first + 1;
    let jobs = worker_count(args.jobs, count);
    let started = std::time::Instant::now();
    let progress = progress_bar(args.quiet || args.json, count, "schedules");
    let next = AtomicU64::new(first);
    let acknowledged = AtomicU64::new(0);
    let losing: Mutex<Vec<SweepCase>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed > last {
                    break;
                }
                let case = run_case(mode, seed);
                acknowledged.fetch_add(u64::from(case.acknowledged), Ordering::Relaxed);
                if !case.lost.is_empty() {
                    progress.set_message(format!("seed {seed} lost {}", case.lost.len()));
                    losing.lock().expect("not poisoned").push(case);
                }
                progress.inc(1);
            });
        }
    });
    progress.finish_and_clear();
    let mut losing = losing.into_inner().expect("not poisoned");
    losing.sort_by_key(|c| c.seed);
    let acknowledged = acknowledged.into_inner();
    let lost: usize = losing.iter().map(|c| c.lost.len()).sum();
    if args.json {
        let summary = serde_json::json!({
            "mode": mode.name(),
            "seeds": { "first": first, "last": last, "count": count },
            "acknowledged": acknowledged,
            "lost": lost,
            "losing": losing.iter().map(|c| serde_json::json!({
                "seed": c.seed, "fault": c.fault, "lost": c.lost.len(), "digest": c.digest,
            })).collect::<Vec<_>>(),
            "must_not_lose": mode.must_not_lose(),
        });
        println!("{}", serde_json::to_string_pretty(&summary).expect("plain JSON"));
    } else {
        println!(
            "replication-sweep {}: {count} fault schedules (seeds {first}..={last}), {acknowledged} acknowledged, \
             {lost} lost in {} schedules ({:.1} s wall)",
            mode.name(),
            losing.len(),
            started.elapsed().as_secs_f64()
        );
        for case in losing.iter().take(20) {
            println!("  seed {:>8}: {} lost after {}", case.seed, case.lost.len(), case.fault);
        }
        if losing.len() > 20 {
            println!("  ... and {} more", losing.len() - 20);
        }
    }
    if mode.must_not_lose() && !losing.is_empty() {
        return Err(check_failed(format!(
            "{} promises no acknowledged loss under a single failure; {} schedules lost {lost}",
            mode.name(),
            losing.len()
        )));
    }
    Ok(())
}
