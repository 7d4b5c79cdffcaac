//! `rmqsim check`: run a scenario and judge it against its `[expectations]`.
//!
//! Prints the verdicts, each expectation with its actual value, and for every failed one the
//! violations behind it with the event that caused each (virtual time, step, node). Exits 1 when an
//! expectation fails. The helpers here (running a checked simulation, printing verdicts) are shared
//! with `run`, `sweep` and `plot`.

use std::fmt::Write as _;

use clap::Args;
use rmqsim_core::check::expectation::{ExpectationsSpec, FailedExpectation};
use rmqsim_core::check::faults::{describe, FaultPlan};
use rmqsim_core::check::{CheckReport, Retention, Verdicts, ViolationKind};
use rmqsim_core::scenario::duration::parse_duration;
use rmqsim_core::scenario::{library, Scenario};
use rmqsim_core::sim::kernel::Stepped;
use rmqsim_core::time::Time;
use rmqsim_core::Simulation;

use crate::exit::{check_failed, Failure, BAD_ARGUMENTS, INVALID_SCENARIO, LIMIT_REACHED};
use crate::scenario_file;

#[derive(Args)]
pub struct CheckArgs {
    /// A scenario file, or the id of a built-in scenario (see `rmqsim list`)
    #[arg(required_unless_present = "all")]
    scenario: Option<String>,
    /// Check every built-in scenario
    #[arg(long, conflicts_with = "scenario")]
    all: bool,
    /// The seed (default: the scenario's own)
    #[arg(long)]
    seed: Option<u64>,
    /// Virtual time to run to (default: the scenario's run_for)
    #[arg(long)]
    until: Option<String>,
    /// Add faults: `none`, or `random-single` (the fault `rmqsim sweep` draws for this seed)
    #[arg(long, default_value = "none")]
    faults: String,
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
    /// Print the life of this message (its UNIQ_KEY) from the fate ledger; repeatable
    #[arg(long, value_name = "MSG_ID")]
    fate: Vec<String>,
    /// Judge the run by this instead of the scenario's own [expectations]: a metric, then a condition,
    /// e.g. `lost_acknowledged = 0` or `groups.Billing.duplicates > 0`; repeatable
    #[arg(long, value_name = "EXPECTATION")]
    expect: Vec<String>,
}

/// A scenario run to its end with the checkers on.
pub(crate) struct CheckedRun {
    pub simulation: Simulation,
    pub outcome: Stepped,
    pub report: CheckReport,
}

/// Parse `--until`, or the scenario's run length.
pub(crate) fn until_of(scenario: &Scenario, until: Option<&str>) -> Result<Time, Failure> {
    match until {
        Some(text) => {
            Ok(Time::ZERO + parse_duration(text).map_err(|e| Failure::new(BAD_ARGUMENTS, format!("--until: {e}")))?)
        }
        None => Ok(Time::ZERO + scenario.run_for()),
    }
}

/// `--expect`: the scenario judged by these expectations instead of its own (none given: unchanged).
/// A scenario's expectations describe its lesson's run; a sweep with added faults usually asks
/// something else, such as `lost_acknowledged = 0`.
pub(crate) fn with_expectations(mut scenario: Scenario, expect: &[String]) -> Result<Scenario, Failure> {
    if expect.is_empty() {
        return Ok(scenario);
    }
    let groups: Vec<&str> = scenario.consumer_groups.iter().map(|g| g.group.as_str()).collect();
    scenario.expectations = ExpectationsSpec::from_texts(expect, &groups)
        .map_err(|e| Failure::new(BAD_ARGUMENTS, format!("--expect {e}")))?;
    Ok(scenario)
}

/// The `--expect` arguments again, for a reproduce command.
pub(crate) fn expect_args(expect: &[String]) -> String {
    expect.iter().map(|e| format!(" --expect '{e}'")).collect()
}

pub(crate) fn fault_plan(text: &str) -> Result<FaultPlan, Failure> {
    FaultPlan::parse(text).map_err(|e| Failure::new(BAD_ARGUMENTS, format!("--faults: {e}")))
}

/// Run `scenario` (with `plan`'s faults for `seed`) to `until`, keeping no observations.
pub(crate) fn run_checked(
    scenario: &Scenario,
    seed: u64,
    until: Time,
    plan: FaultPlan,
    follow: &[String],
) -> Result<CheckedRun, Failure> {
    let with_faults = plan.apply(scenario, seed);
    let mut simulation =
        Simulation::new(&with_faults, seed).map_err(|e| Failure::new(INVALID_SCENARIO, e.to_string()))?;
    simulation.set_retention(Retention::None);
    for id in follow {
        simulation.checks_mut().follow(id);
    }
    let outcome = simulation.run_until(until);
    let report = simulation.check_report();
    Ok(CheckedRun { simulation, outcome, report })
}

/// The verdicts as aligned `name value` lines (counts that are zero are left out unless `all`).
pub(crate) fn verdict_lines(verdicts: &Verdicts, all: bool) -> String {
    let mut out = String::new();
    let rows: [(&str, u64); 25] = [
        ("requested", verdicts.requested),
        ("acknowledged", verdicts.acknowledged),
        ("acknowledged_send_ok", verdicts.acknowledged_send_ok),
        ("send_failed", verdicts.send_failed),
        ("abandoned", verdicts.abandoned),
        ("stored", verdicts.stored),
        ("lost_acknowledged", verdicts.lost_acknowledged),
        ("unavailable", verdicts.unavailable),
        ("deleted_before_consumed", verdicts.deleted_before_consumed),
        ("at_risk_max", verdicts.at_risk_max),
        ("at_risk_end", verdicts.at_risk_end),
        ("consumed", verdicts.consumed),
        ("duplicates", verdicts.duplicates),
        ("duplicates_absorbed", verdicts.duplicates_absorbed),
        ("lost_work", verdicts.lost_work),
        ("skipped", verdicts.skipped),
        ("backlog", verdicts.backlog),
        ("consume_failures", verdicts.consume_failures),
        ("retried", verdicts.retried),
        ("dlq", verdicts.dlq),
        ("out_of_order_queue", verdicts.out_of_order_queue),
        ("out_of_order_key", verdicts.out_of_order_key),
        ("forwarded", verdicts.forwarded),
        ("forward_duplicates", verdicts.forward_duplicates),
        ("forward_unprocessed", verdicts.forward_unprocessed),
    ];
    for (name, value) in rows {
        let always = matches!(name, "requested" | "acknowledged" | "lost_acknowledged" | "consumed");
        if all || always || value != 0 {
            let _ = writeln!(out, "  {name:<24} {value}");
        }
    }
    for (label, l) in [("send latency", &verdicts.send_latency), ("delivery latency", &verdicts.delivery_latency)] {
        if l.count > 0 {
            let _ = writeln!(
                out,
                "  {label:<24} p50 {} p90 {} p99 {} p99.9 {} max {} (n = {})",
                millis(l.p50_us),
                millis(l.p90_us),
                millis(l.p99_us),
                millis(l.p999_us),
                millis(l.max_us),
                l.count
            );
        }
    }
    for (group, g) in &verdicts.groups {
        let mut parts = vec![format!("consumed {}", g.consumed)];
        for (name, value) in [
            ("duplicates", g.duplicates),
            ("absorbed", g.duplicates_absorbed),
            ("lost_work", g.lost_work),
            ("skipped", g.skipped),
            ("backlog", g.backlog),
            ("failures", g.consume_failures),
            ("retried", g.retried),
            ("dlq", g.dlq),
            ("out_of_order_queue", g.out_of_order_queue),
            ("out_of_order_key", g.out_of_order_key),
            ("lost", g.lost),
            ("deleted", g.deleted_before_consumed),
        ] {
            if value != 0 {
                parts.push(format!("{name} {value}"));
            }
        }
        let _ = writeln!(out, "  group {group:<18} {}", parts.join(", "));
    }
    out
}

/// Milliseconds with three decimals, from integer microseconds.
pub(crate) fn millis(us: u64) -> String {
    format!("{}.{:03} ms", us / 1_000, us % 1_000)
}

/// The violation kind and group an expectation's metric counts.
fn kind_of(metric: &str) -> Option<(ViolationKind, Option<&str>)> {
    let (group, name) = match metric.strip_prefix("groups.") {
        Some(rest) => {
            let (group, name) = rest.rsplit_once('.')?;
            (Some(group), name)
        }
        None => (None, metric),
    };
    let kind = match name {
        "lost_acknowledged" | "lost" => ViolationKind::Lost,
        "unavailable" => ViolationKind::Unavailable,
        "deleted_before_consumed" => ViolationKind::DeletedBeforeConsumed,
        "lost_work" => ViolationKind::LostWork,
        "skipped" => ViolationKind::Skipped,
        "duplicates" => ViolationKind::Duplicate,
        "out_of_order_queue" => ViolationKind::OutOfOrderQueue,
        "out_of_order_key" => ViolationKind::OutOfOrderKey,
        "dlq" => ViolationKind::DeadLettered,
        "backlog" => ViolationKind::Backlog,
        "forward_duplicates" => ViolationKind::ForwardDuplicate,
        "forward_unprocessed" => ViolationKind::ForwardUnprocessed,
        _ => return None,
    };
    Some((kind, group))
}

/// Each failed expectation and up to five of the violations behind it.
pub(crate) fn failure_lines(failed: &[FailedExpectation], verdicts: &Verdicts) -> String {
    let mut out = String::new();
    for f in failed {
        let _ = writeln!(out, "  FAILED {f}");
        let Some((kind, group)) = kind_of(&f.metric) else { continue };
        let examples: Vec<_> =
            verdicts.violations_of(kind).filter(|v| group.is_none() || v.group.as_deref() == group).take(5).collect();
        for v in &examples {
            let _ = writeln!(out, "         {v}");
        }
        if examples.is_empty() && f.actual != 0 {
            let _ = writeln!(out, "         (no example kept)");
        }
    }
    out
}

/// The distinct causes of the violations kept as examples, per metric and group (at most three per metric),
/// so that a run that passes still says why a message was lost, skipped or duplicated.
pub(crate) fn cause_lines(verdicts: &Verdicts) -> String {
    // (metric, group, explanation) → (examples, first violation), in the order first seen.
    type Cause<'a> = ((&'a str, Option<&'a str>, &'a str), usize, &'a rmqsim_core::check::verdict::Violation);
    let mut causes: Vec<Cause> = Vec::new();
    for v in &verdicts.violations {
        let key = (v.kind.metric(), v.group.as_deref(), v.explanation.as_str());
        if let Some((_, count, _)) = causes.iter_mut().find(|(k, _, _)| *k == key) {
            *count += 1;
        } else if causes.iter().filter(|((m, _, _), _, _)| *m == key.0).count() < 3 {
            causes.push((key, 1, v));
        }
    }
    let mut out = String::new();
    if causes.is_empty() {
        return out;
    }
    out.push_str("why (causes of the examples kept):\n");
    for ((metric, group, explanation), count, first) in causes {
        let group = group.map_or(String::new(), |g| format!(" ({g})"));
        let _ = writeln!(
            out,
            "  {metric}{group} x{count}: {explanation} [first: {} at {} step {} on {}]",
            first.msg_id, first.cause.time, first.cause.step, first.cause_node
        );
    }
    out
}

/// The report of one checked run, as text.
pub(crate) fn report_text(id: &str, seed: u64, plan: FaultPlan, run: &CheckedRun) -> String {
    let scenario = run.simulation.scenario();
    let verdict = if run.report.passed() && run.outcome != Stepped::Halted { "PASS" } else { "FAIL" };
    let mut out = format!(
        "check {id}: {verdict} (seed {seed}, reached {}, {} events)\n",
        run.simulation.now(),
        run.simulation.kernel().events_processed()
    );
    if plan != FaultPlan::None {
        let faults = plan.actions(scenario, seed);
        let _ = writeln!(out, "faults: {}", describe(&faults));
    }
    if let Some(halt) = run.simulation.kernel().halted() {
        let _ = writeln!(out, "  HALTED: {halt}");
    }
    out.push_str("verdicts:\n");
    out.push_str(&verdict_lines(&run.report.verdicts, false));
    let expectations =
        scenario.expectations.set().len() + scenario.expectations.groups.values().map(|g| g.set().len()).sum::<usize>();
    if expectations == 0 {
        out.push_str("expectations: none in this scenario\n");
    } else {
        let _ = writeln!(out, "expectations: {} of {expectations} met", expectations - run.report.failed.len());
        out.push_str(&failure_lines(&run.report.failed, &run.report.verdicts));
    }
    out.push_str(&cause_lines(&run.report.verdicts));
    if let (Some(quiz), Some((value, right))) = (&scenario.quiz, &run.report.quiz) {
        let answers: Vec<&str> =
            right.iter().filter_map(|i| quiz.options.get(*i as usize)).map(|o| o.en.as_str()).collect();
        let _ = writeln!(out, "quiz: {} = {value} → {}", quiz.verdict, answers.join(" / "));
    }
    out
}

fn check_one(reference: &str, args: &CheckArgs) -> Result<(bool, String, serde_json::Value), Failure> {
    let scenario = with_expectations(scenario_file::load(reference)?, &args.expect)?;
    let seed = args.seed.unwrap_or(scenario.seed);
    let until = until_of(&scenario, args.until.as_deref())?;
    let plan = fault_plan(&args.faults)?;
    let run = run_checked(&scenario, seed, until, plan, &args.fate)?;
    let mut text = report_text(&scenario.id, seed, plan, &run);
    for id in &args.fate {
        let _ = writeln!(text, "fate of {id}:");
        match run.simulation.checks().fate(id) {
            Some(life) if !life.is_empty() => {
                for entry in life {
                    let _ = writeln!(
                        text,
                        "  {:>12} step {:<9} {:<14} {:?}",
                        entry.at.time.to_string(),
                        entry.at.step,
                        entry.node,
                        entry.event
                    );
                }
            }
            _ => text.push_str("  (nothing happened to it in this run)\n"),
        }
    }
    let passed = run.report.passed() && run.outcome != Stepped::Halted;
    let json = serde_json::json!({
        "scenario": scenario.id,
        "seed": seed,
        "faults": plan.name(),
        "passed": passed,
        "halted": run.simulation.kernel().halted().map(|h| h.to_string()),
        "time_us": run.simulation.now().as_micros(),
        "events": run.simulation.kernel().events_processed(),
        "digest": rmqsim_core::sim::trace::format_digest(run.simulation.digest()),
        "report": run.report,
    });
    if run.outcome == Stepped::Halted && !args.all {
        if !args.json {
            print!("{text}");
        }
        return Err(Failure::new(
            LIMIT_REACHED,
            run.simulation.kernel().halted().map(|h| h.to_string()).unwrap_or_default(),
        ));
    }
    Ok((passed, text, json))
}

pub fn check(args: &CheckArgs) -> Result<(), Failure> {
    let references: Vec<String> = if args.all {
        library::SCENARIOS.iter().map(|(id, _)| id.to_string()).collect()
    } else {
        vec![args.scenario.clone().unwrap_or_default()]
    };
    let mut failed = Vec::new();
    let mut json = Vec::new();
    for reference in &references {
        let (passed, text, value) = check_one(reference, args)?;
        if args.json {
            json.push(value);
        } else {
            print!("{text}");
            if args.all {
                println!();
            }
        }
        if !passed {
            failed.push(reference.clone());
        }
    }
    if args.json {
        let value = if args.all { serde_json::Value::Array(json) } else { json.remove(0) };
        println!("{}", serde_json::to_string_pretty(&value).expect("plain JSON"));
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(check_failed(format!("{} failed: {}", failed.len(), failed.join(", "))))
    }
}
