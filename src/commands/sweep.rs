//! `rmqsim sweep`: run one scenario over a range of seeds on every core and report the seeds whose
//! run fails its expectations, each with the command that reproduces it.
//!
//! Each worker thread builds its own `Simulation` (it is `!Send`: disk pages are shared behind `Rc`)
//! from the parsed scenario; seeds are handed out by an atomic counter, results gathered in seed order,
//! so the report is the same whatever the number of threads.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rmqsim_core::check::faults::describe;
use rmqsim_core::sim::kernel::Stepped;

use crate::commands::check::{expect_args, fault_plan, run_checked, until_of, with_expectations};
use crate::exit::{check_failed, Failure, BAD_ARGUMENTS};
use crate::scenario_file;

#[derive(Args)]
pub struct SweepArgs {
    /// A scenario file, or the id of a built-in scenario
    scenario: String,
    /// Seeds to run, `A..B` (B excluded) or `A..=B`
    #[arg(long, default_value = "0..100")]
    seeds: String,
    /// Add faults to every run: `none`, or `random-single` (one random crash, partition, clog or slow
    /// disk, repaired 5-30 s later; the seed decides which)
    #[arg(long, default_value = "none")]
    faults: String,
    /// Virtual time to run each seed to (default: the scenario's run_for)
    #[arg(long)]
    until: Option<String>,
    /// Worker threads (default: every core)
    #[arg(long)]
    jobs: Option<usize>,
    /// No progress bar
    #[arg(long)]
    quiet: bool,
    /// Print the summary as JSON
    #[arg(long)]
    json: bool,
    /// Judge each run by this instead of the scenario's own [expectations] (which describe its run
    /// without added faults): a metric, then a condition, e.g. `lost_acknowledged = 0`; repeatable
    #[arg(long, value_name = "EXPECTATION")]
    expect: Vec<String>,
}

/// `A..B` or `A..=B` as an inclusive range.
pub(crate) fn parse_seeds(text: &str) -> Result<(u64, u64), Failure> {
    let bad = || Failure::new(BAD_ARGUMENTS, format!("--seeds `{text}`: write A..B (B excluded) or A..=B"));
    let (from, to, inclusive) = match text.split_once("..=") {
        Some((a, b)) => (a, b, true),
        None => {
            let (a, b) = text.split_once("..").ok_or_else(bad)?;
            (a, b, false)
        }
    };
    let from: u64 = from.trim().parse().map_err(|_| bad())?;
    let to: u64 = to.trim().parse().map_err(|_| bad())?;
    let last = if inclusive { Some(to) } else { to.checked_sub(1) };
    match last {
        Some(last) if last >= from => Ok((from, last)),
        _ => Err(Failure::new(BAD_ARGUMENTS, format!("--seeds `{text}` is empty"))),
    }
}

/// One failing seed.
struct Failed {
    seed: u64,
    reasons: Vec<String>,
}

/// How many threads a sweep of `count` runs uses: `--jobs`, else every core; never more than the runs.
pub(crate) fn worker_count(jobs: Option<usize>, count: u64) -> usize {
    jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, 256)
        .min(usize::try_from(count).unwrap_or(usize::MAX))
}

/// The progress bar of a sweep over `count` `unit`s (hidden for `--quiet` and `--json`).
pub(crate) fn progress_bar(hidden: bool, count: u64, unit: &str) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(count);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{bar:40}} {{pos}}/{{len}} {unit}, {{elapsed}} elapsed, eta {{eta}} {{msg}}"
        ))
        .expect("a valid template"),
    );
    bar
}

pub fn sweep(args: &SweepArgs) -> Result<(), Failure> {
    let scenario = with_expectations(scenario_file::load(&args.scenario)?, &args.expect)?;
    let (first, last) = parse_seeds(&args.seeds)?;
    let plan = fault_plan(&args.faults)?;
    let until = until_of(&scenario, args.until.as_deref())?;
    let count = last - first + 1;
    let jobs = worker_count(args.jobs, count);
    let started = std::time::Instant::now();
    let progress = progress_bar(args.quiet || args.json, count, "seeds");
    let next = AtomicU64::new(first);
    let failures: Mutex<Vec<Failed>> = Mutex::new(Vec::new());
    let events = AtomicU64::new(0);
    let error: Mutex<Option<Failure>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed > last || error.lock().expect("not poisoned").is_some() {
                    break;
                }
                match run_checked(&scenario, seed, until, plan, &[]) {
                    Ok(run) => {
                        events.fetch_add(run.simulation.kernel().events_processed(), Ordering::Relaxed);
                        let mut reasons: Vec<String> = run.report.failed.iter().map(|f| f.to_string()).collect();
                        if run.outcome == Stepped::Halted {
                            reasons.push(format!(
                                "halted: {}",
                                run.simulation.kernel().halted().map(|h| h.to_string()).unwrap_or_default()
                            ));
                        }
                        if !reasons.is_empty() {
                            progress.set_message(format!("seed {seed} failed"));
                            failures.lock().expect("not poisoned").push(Failed { seed, reasons });
                        }
                    }
                    Err(e) => {
                        *error.lock().expect("not poisoned") = Some(e);
                        break;
                    }
                }
                progress.inc(1);
            });
        }
    });
    progress.finish_and_clear();
    if let Some(e) = error.into_inner().expect("not poisoned") {
        return Err(e);
    }
    let mut failures = failures.into_inner().expect("not poisoned");
    failures.sort_by_key(|f| f.seed);
    let elapsed = started.elapsed();
    let events = events.into_inner();
    let reproduce = |seed: u64| {
        let faults = if args.faults == "none" { String::new() } else { format!(" --faults {}", args.faults) };
        let until = args.until.as_ref().map_or(String::new(), |u| format!(" --until {u}"));
        format!("rmqsim check {} --seed {seed}{faults}{until}{}", args.scenario, expect_args(&args.expect))
    };
    if args.json {
        let json = serde_json::json!({
            "scenario": scenario.id,
            "seeds": [first, last],
            "faults": plan.name(),
            "runs": count,
            "failed": failures.iter().map(|f| serde_json::json!({
                "seed": f.seed,
                "reasons": f.reasons,
                "faults": describe(&plan.actions(&scenario, f.seed)),
                "reproduce": reproduce(f.seed),
            })).collect::<Vec<_>>(),
            "wall_ms": elapsed.as_millis() as u64,
            "events": events,
            "threads": jobs,
        });
        println!("{}", serde_json::to_string_pretty(&json).expect("plain JSON"));
    } else {
        for f in &failures {
            println!("seed {} FAILED: {}", f.seed, f.reasons.join("; "));
            if plan != rmqsim_core::check::faults::FaultPlan::None {
                println!("  faults: {}", describe(&plan.actions(&scenario, f.seed)));
            }
            println!("  reproduce: {}", reproduce(f.seed));
        }
        let rate = events as u128 * 1_000 / elapsed.as_millis().max(1);
        println!(
            "sweep {}: {} seeds ({}..={}), faults {}, {} failed; {} events in {:.1} s on {} threads ({} events/s)",
            scenario.id,
            count,
            first,
            last,
            plan.name(),
            failures.len(),
            events,
            elapsed.as_secs_f64(),
            jobs,
            rate
        );
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(check_failed(format!("{} of {count} seeds failed", failures.len())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_ranges_parse_like_rust_ranges() {
        assert_eq!(parse_seeds("0..100").ok().map(|r| (r.0, r.1)), Some((0, 99)));
        assert_eq!(parse_seeds("5..=5").ok().map(|r| (r.0, r.1)), Some((5, 5)));
        assert!(parse_seeds("5..5").is_err());
        assert!(parse_seeds("x..3").is_err());
        assert!(parse_seeds("7").is_err());
    }
}
