//! `rmqsim bench`: run a scenario once, as fast as possible, and report what it cost: wall time, events
//! and simulated messages per wall second, how much faster than real time, and the process's peak
//! resident memory (Linux `VmHWM`; the whole process, so run one scenario per invocation).
//!
//! The repeatable measurements are the criterion benchmarks (`cargo bench --bench backlog_million`,
//! `--bench steady_workload`); this command is the one-shot view with the memory figure criterion lacks.

use std::time::Instant;

use clap::Args;
use rmqsim_core::check::faults::FaultPlan;
use rmqsim_core::sim::kernel::Stepped;

use crate::commands::check::{run_checked, until_of};
use crate::exit::{Failure, LIMIT_REACHED};
use crate::scenario_file;

#[derive(Args)]
pub struct BenchArgs {
    /// A scenario file, or the id of a built-in scenario
    scenario: String,
    /// The seed (default: the scenario's own)
    #[arg(long)]
    seed: Option<u64>,
    /// Virtual time to run to (default: the scenario's run_for)
    #[arg(long)]
    until: Option<String>,
    /// Print the measurements as JSON
    #[arg(long)]
    json: bool,
}

/// The process's peak resident set size in KiB, when the OS says (Linux: `VmHWM` in /proc/self/status).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()
}

/// CPU time (user + system) the process has used so far, in milliseconds (Linux: /proc/self/stat, in clock
/// ticks of 10 ms): on a shared machine it measures the run's cost where wall time measures the neighbours.
fn cpu_ms() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces): utime is the 12th, stime the 13th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks * 10)
}

pub fn bench(args: &BenchArgs) -> Result<(), Failure> {
    let scenario = scenario_file::load(&args.scenario)?;
    let seed = args.seed.unwrap_or(scenario.seed);
    let until = until_of(&scenario, args.until.as_deref())?;
    let started = Instant::now();
    let cpu_before = cpu_ms();
    let run = run_checked(&scenario, seed, until, FaultPlan::None, &[])?;
    let wall = started.elapsed();
    let cpu = cpu_ms().zip(cpu_before).map(|(after, before)| after.saturating_sub(before));
    if run.outcome == Stepped::Halted {
        let halt = run.simulation.kernel().halted().map(|h| h.to_string()).unwrap_or_default();
        return Err(Failure::new(LIMIT_REACHED, halt));
    }
    let events = run.simulation.kernel().events_processed();
    let verdicts = &run.report.verdicts;
    let wall_us = wall.as_micros().max(1);
    let per_second = |count: u64| (u128::from(count) * 1_000_000 / wall_us) as u64;
    let virtual_us = run.simulation.now().as_micros();
    let speed = virtual_us as f64 / wall_us as f64;
    let peak = peak_rss_kib();
    if args.json {
        let json = serde_json::json!({
            "scenario": scenario.id,
            "seed": seed,
            "virtual_us": virtual_us,
            "wall_ms": wall.as_millis() as u64,
            "events": events,
            "events_per_second": per_second(events),
            "messages_stored": verdicts.stored,
            "messages_consumed": verdicts.consumed,
            "stored_per_second": per_second(verdicts.stored),
            "consumed_per_second": per_second(verdicts.consumed),
            "times_real_time": speed,
            "peak_rss_kib": peak,
            "cpu_ms": cpu,
        });
        println!("{}", serde_json::to_string_pretty(&json).expect("plain JSON"));
        return Ok(());
    }
    println!(
        "bench {} (seed {seed}): {} of virtual time in {:.2} s",
        scenario.id,
        run.simulation.now(),
        wall.as_secs_f64()
    );
    println!("  events            {events} ({} events/s)", per_second(events));
    println!("  messages stored   {} ({}/s)", verdicts.stored, per_second(verdicts.stored));
    println!("  messages consumed {} ({}/s)", verdicts.consumed, per_second(verdicts.consumed));
    println!("  speed             {speed:.1}x real time");
    if let Some(cpu) = cpu {
        let per_cpu_second = u128::from(events) * 1_000 / u128::from(cpu.max(1));
        println!("  cpu time          {:.2} s ({per_cpu_second} events per cpu second)", cpu as f64 / 1_000.0);
    }
    match peak {
        Some(kib) => println!("  peak memory       {} MiB (resident, whole process)", kib / 1024),
        None => println!("  peak memory       unknown on this OS"),
    }
    Ok(())
}
