//! `rmqsim`: the native command line of the RocketMQ simulator.
//!
//! The only native code that touches files and stdout: every subcommand parses its arguments,
//! calls `rmqsim-core`, and prints text (or JSON with `--json`). Exit codes are documented in
//! `--help` and in [`exit`].

mod commands;
mod exit;
mod scenario_file;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "rmqsim",
    version,
    about = "Deterministic simulator and teaching sandbox of Apache RocketMQ 4.9",
    long_about = "Deterministic simulator and teaching sandbox of Apache RocketMQ 4.9.\n\
                  The same scenario and seed always give the same run, natively and in the browser.",
    after_help = exit::HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario headless and print a summary
    Run(commands::run::RunArgs),
    /// Print the trace digest of a run (the fingerprint tests pin)
    Digest(commands::run::DigestArgs),
    /// Run a scenario and judge it against its expectations (exit 1 if one fails)
    Check(commands::check::CheckArgs),
    /// Run a scenario over many seeds on every core; print the failing ones with a reproduce command
    Sweep(commands::sweep::SweepArgs),
    /// Random single-failure schedules for one HA mode: list the ones that lost acknowledged messages
    ReplicationSweep(commands::replication_sweep::ReplicationSweepArgs),
    /// Draw a run's throughput, backlog, latency and at-risk series as an SVG
    Plot(commands::plot::PlotArgs),
    /// List the built-in scenarios
    List(commands::list::ListArgs),
    /// Explain RocketMQ internals with the simulator's own code
    #[command(subcommand)]
    Explain(commands::explain::ExplainCommand),
    /// Run a scenario to an instant, then query messages (by id, key, topic and time) or a group's progress
    Query(commands::query::QueryArgs),
    /// Run a scenario once and report wall time, events/s, messages/s and peak memory
    Bench(commands::bench::BenchArgs),
}

fn main() {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Run(args) => commands::run::run(&args),
        Command::Digest(args) => commands::run::digest(&args),
        Command::Check(args) => commands::check::check(&args),
        Command::Sweep(args) => commands::sweep::sweep(&args),
        Command::ReplicationSweep(args) => commands::replication_sweep::replication_sweep(&args),
        Command::Plot(args) => commands::plot::plot(&args),
        Command::List(args) => commands::list::list(&args),
        Command::Explain(command) => commands::explain::explain(&command),
        Command::Query(args) => commands::query::run(&args),
        Command::Bench(args) => commands::bench::bench(&args),
    };
    if let Err(failure) = outcome {
        eprintln!("error: {}", failure.message);
        std::process::exit(failure.code);
    }
}
