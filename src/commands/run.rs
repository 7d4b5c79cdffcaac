//! `rmqsim run` and `rmqsim digest`: run a scenario headless.

use std::io::Write;

use clap::Args;
use rmqsim_core::action_log::{self, UserAction};
use rmqsim_core::scenario::duration::parse_duration;
use rmqsim_core::scenario::model::ActionSpec;
use rmqsim_core::sim::kernel::Stepped;
use rmqsim_core::sim::trace::format_digest;
use rmqsim_core::time::Time;
use rmqsim_core::view::NodeDetail;
use rmqsim_core::Simulation;

use crate::exit::{Failure, BAD_ARGUMENTS, INVALID_SCENARIO, IO_ERROR, LIMIT_REACHED};
use crate::scenario_file;

#[derive(Args)]
pub struct RunArgs {
    /// A scenario file, the id of a built-in scenario (see `rmqsim list`), or a sandbox run string
    /// (`v1.…`, from a share link or the error panel: its scenario, seed, actions and instant)
    scenario: String,
    /// The seed (default: the scenario's own)
    #[arg(long)]
    seed: Option<u64>,
    /// Virtual time to run to, e.g. 90s, 5m, 2h (default: the scenario's run_for)
    #[arg(long)]
    until: Option<String>,
    /// Print the summary as JSON
    #[arg(long)]
    json: bool,
    /// Write every trace record as a JSON line to this file
    #[arg(long, value_name = "FILE")]
    trace: Option<std::path::PathBuf>,
}

#[derive(Args)]
pub struct DigestArgs {
    /// A scenario file, the id of a built-in scenario, or a sandbox run string (`v1.…`)
    scenario: String,
    /// The seed (default: the scenario's own)
    #[arg(long)]
    seed: Option<u64>,
    /// Virtual time to run to (default: the scenario's run_for)
    #[arg(long)]
    until: Option<String>,
}

/// Records are written out in chunks of this many steps, so `--trace` needs bounded memory.
const TRACE_CHUNK: usize = 50_000;

/// A run to make: the simulation, where to stop, and the user actions of a run string (in time order).
struct Prepared {
    simulation: Simulation,
    until: Time,
    actions: Vec<UserAction>,
}

fn prepare(scenario: &str, seed: Option<u64>, until: Option<&str>) -> Result<Prepared, Failure> {
    if scenario.starts_with(&format!("{}.", action_log::VERSION_PREFIX)) {
        return prepare_link(scenario, seed, until);
    }
    let scenario = scenario_file::load(scenario)?;
    let seed = seed.unwrap_or(scenario.seed);
    let until = match until {
        Some(text) => {
            Time::ZERO + parse_duration(text).map_err(|e| Failure::new(BAD_ARGUMENTS, format!("--until: {e}")))?
        }
        None => Time::ZERO + scenario.run_for(),
    };
    let simulation = Simulation::new(&scenario, seed).map_err(|e| Failure::new(INVALID_SCENARIO, e.to_string()))?;
    Ok(Prepared { simulation, until, actions: Vec::new() })
}

/// A sandbox run string: decoded strictly and resolved like the web app does; it runs to its own
/// instant unless `--until` says otherwise, and `--seed` replaces its seed.
fn prepare_link(text: &str, seed: Option<u64>, until: Option<&str>) -> Result<Prepared, Failure> {
    let link = action_log::decode(text).map_err(|e| Failure::new(BAD_ARGUMENTS, format!("the run string: {e}")))?;
    let scenario = link.scenario().map_err(|e| Failure::new(INVALID_SCENARIO, e.to_string()))?;
    link.check_actions(&scenario).map_err(|e| Failure::new(INVALID_SCENARIO, e.to_string()))?;
    let until = match until {
        Some(text) => {
            Time::ZERO + parse_duration(text).map_err(|e| Failure::new(BAD_ARGUMENTS, format!("--until: {e}")))?
        }
        None => link.at,
    };
    let simulation = Simulation::new(&scenario, seed.unwrap_or(link.seed))
        .map_err(|e| Failure::new(INVALID_SCENARIO, e.to_string()))?;
    Ok(Prepared { simulation, until, actions: link.actions })
}

/// Run to `until`, injecting each user action when every event at or before its instant has run
/// (the rule of `rmqsim_core::timeline`, so the digest is the sandbox's).
fn run_with_actions(prepared: &mut Prepared, mut trace: Option<&mut (dyn Write + '_)>) -> Result<Stepped, Failure> {
    for user in prepared.actions.iter().filter(|u| u.at <= prepared.until) {
        if run_to(&mut prepared.simulation, user.at, trace.as_deref_mut())? == Stepped::Halted {
            return Ok(Stepped::Halted);
        }
        prepared
            .simulation
            .inject(Some(user.at), &user.action)
            .map_err(|e| Failure::new(INVALID_SCENARIO, format!("action at {}: {e}", user.at)))?;
    }
    run_to(&mut prepared.simulation, prepared.until, trace)
}

fn run_to(
    simulation: &mut Simulation,
    until: Time,
    mut trace: Option<&mut (dyn Write + '_)>,
) -> Result<Stepped, Failure> {
    if trace.is_some() {
        simulation.kernel_mut().trace_mut().set_recent_capacity(TRACE_CHUNK);
    }
    loop {
        let mut outcome = Stepped::Idle;
        let mut steps = 0;
        while steps < TRACE_CHUNK {
            match simulation.kernel().next_event_time() {
                Some(t) if t <= until => {
                    outcome = simulation.step();
                    if outcome == Stepped::Halted {
                        break;
                    }
                    steps += 1;
                }
                _ => break,
            }
        }
        if let Some(out) = trace.as_deref_mut() {
            for record in simulation.kernel_mut().trace_mut().take_recent() {
                let line = serde_json::to_string(&record).expect("trace records serialize");
                writeln!(out, "{line}").map_err(|e| Failure::new(IO_ERROR, format!("writing the trace: {e}")))?;
            }
        }
        if outcome == Stepped::Halted {
            return Ok(Stepped::Halted);
        }
        if steps < TRACE_CHUNK {
            return Ok(simulation.run_until(until));
        }
    }
}

pub fn run(args: &RunArgs) -> Result<(), Failure> {
    let mut prepared = prepare(&args.scenario, args.seed, args.until.as_deref())?;
    let mut trace_file = match &args.trace {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path)
                .map_err(|e| Failure::new(IO_ERROR, format!("cannot create {}: {e}", path.display())))?,
        )),
        None => None,
    };
    let outcome = run_with_actions(&mut prepared, trace_file.as_mut().map(|f| f as &mut dyn Write))?;
    let failed_something = prepared
        .simulation
        .scenario()
        .actions
        .iter()
        .map(|a| &a.action)
        .chain(prepared.actions.iter().map(|u| &u.action))
        .any(|a| matches!(a, ActionSpec::Crash { .. } | ActionSpec::Shutdown { .. }));
    let simulation = prepared.simulation;
    if let Some(mut file) = trace_file {
        file.flush().map_err(|e| Failure::new(IO_ERROR, format!("writing the trace: {e}")))?;
    }
    let view = simulation.view();
    // RTO, RPO and lag (issue 4/8): for replicated groups, or when a node failed. The RPO reads the
    // replicas' logs, so a run without either skips it.
    let replication = (failed_something || view.replication.iter().any(|g| g.replicas.len() > 1))
        .then(|| simulation.replication_report());
    if args.json {
        let summary = serde_json::json!({
            "scenario": view.scenario_id,
            "seed": view.seed,
            "time_us": view.time.as_micros(),
            "digest": view.digest,
            "events": view.events_processed,
            "halted": view.halted,
            "nodes": view.nodes,
            "replication": replication,
        });
        println!("{}", serde_json::to_string_pretty(&summary).expect("plain JSON"));
    } else {
        println!("scenario  {}", view.scenario_id);
        println!("seed      {}", view.seed);
        println!("reached   {}", view.time);
        println!("events    {}", view.events_processed);
        println!("digest    {}", view.digest);
        println!();
        for node in &view.nodes {
            let detail = match &node.detail {
                NodeDetail::Down => "down".to_string(),
                NodeDetail::NameServer(ns) => format!(
                    "routes {} live brokers: {}",
                    ns.live_brokers.len(),
                    ns.live_brokers.iter().map(|b| b.broker_name.as_str()).collect::<Vec<_>>().join(", ")
                ),
                NodeDetail::Broker(b) => format!(
                    "{} registrations sent, {} messages stored, {} sends refused",
                    b.registrations_sent, b.messages_stored, b.sends_rejected
                ),
                NodeDetail::Producer(p) => format!(
                    "{} sends: {} SEND_OK, {} stored not OK, {} failed ({} attempts)",
                    p.sends_started, p.send_ok, p.send_not_ok, p.send_failed, p.attempts
                ),
                NodeDetail::Controller(c) => format!(
                    "5.x controller, {} elections; {}",
                    c.elections,
                    c.broker_sets
                        .iter()
                        .map(|set| format!(
                            "{}: master {} epoch {}, SyncStateSet {:?}",
                            set.broker_name,
                            set.master_id.map_or_else(|| "none".to_string(), |id| id.to_string()),
                            set.master_epoch,
                            set.sync_state_set
                        ))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                NodeDetail::Consumer(c) => {
                    let forwarded = c.forward_to.as_ref().map_or(String::new(), |topic| {
                        format!(", {} forwarded to {topic} ({} sends failed)", c.forwarded, c.forward_failed)
                    });
                    format!(
                        "{} {} queues, {} consumed, {} failed, {} sent back, {} rebalances{forwarded}",
                        c.group,
                        c.queues.len(),
                        c.consumed_ok,
                        c.consumed_failed,
                        c.sent_back,
                        c.rebalances
                    )
                }
            };
            println!("  {:<14} {:<18} {}", node.name, node.addr, detail);
        }
        if let Some(report) = &replication {
            print_replication(report);
        }
    }
    if outcome == Stepped::Halted {
        return Err(Failure::new(LIMIT_REACHED, view.halted.unwrap_or_default()));
    }
    Ok(())
}

pub fn digest(args: &DigestArgs) -> Result<(), Failure> {
    let mut prepared = prepare(&args.scenario, args.seed, args.until.as_deref())?;
    let outcome = run_with_actions(&mut prepared, None)?;
    let simulation = prepared.simulation;
    println!("{}", format_digest(simulation.digest()));
    if outcome == Stepped::Halted {
        return Err(Failure::new(LIMIT_REACHED, simulation.view().halted.unwrap_or_default()));
    }
    Ok(())
}

/// Each replicated group (mode, master, every replica's lag) and each failure's RTO and RPO.
fn print_replication(report: &rmqsim_core::replication_metrics::ReplicationReport) {
    println!();
    println!("replication");
    for group in report.groups.iter().filter(|g| g.replicas.len() > 1) {
        println!("  {} ({}), master: {}", group.broker_name, group.mode, group.master.as_deref().unwrap_or("none"));
        for replica in &group.replicas {
            println!(
                "    {:<14} {:<12} {:<4} max offset {:>10}  lag {} bytes, {} ms",
                replica.node,
                replica.role,
                if replica.up { "up" } else { "down" },
                replica.max_offset,
                replica.lag_bytes,
                replica.lag_ms
            );
        }
    }
    for failure in &report.failures {
        println!(
            "  {} of {} at {} ({}{}): RTO {}, RPO {} of {} acknowledged",
            failure.kind,
            failure.node,
            failure.at,
            failure.mode,
            if failure.master_lost { ", the master" } else { "" },
            failure.rto.map_or_else(|| "none yet".to_string(), |rto| rto.to_string()),
            failure.lost.len(),
            failure.acknowledged_before
        );
    }
}
