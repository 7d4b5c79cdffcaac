//! No input makes the scenario parser, the run-link decoder or the core panic.
//!
//! Property tests over (1) arbitrary text, (2) valid scenarios mutated line by line and value by value
//! (numbers of every size and sign, wrong types, misspelt keys, deleted and duplicated lines), each
//! parsed and, when accepted, built and run for a few simulated seconds, and (3) arbitrary and mutated
//! run-link strings, whose accepted values must re-encode to themselves. Case counts are small for CI;
//! `PROPTEST_CASES=5000 cargo test --release --test fuzz_inputs` digs deeper.

use proptest::prelude::*;
use rmqsim_core::action_log::{decode, encode};
use rmqsim_core::check::Retention;
use rmqsim_core::scenario::{library, Scenario};
use rmqsim_core::time::Time;
use rmqsim_core::Simulation;

/// Scenarios small enough to run a few seconds of in a property test.
const BASES: &[&str] = &[
    "duplicate-lost-ack-retry",
    "broker-heartbeats",
    "zero-loss-chain",
    "consumer-commit-before-process",
    "ordering-by-order-id",
    "broadcast-vs-cluster",
    "cluster-migration-double-write",
];

/// Values a mutation may put where a value was.
const VALUES: &[&str] = &[
    "0",
    "-1",
    "1",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "3.5",
    "1e300",
    "nan",
    "inf",
    "true",
    "\"\"",
    "\"0s\"",
    "\"99999999999d\"",
    "\"1us\"",
    "\"-5s\"",
    "\"x\"",
    "[]",
    "[1, 2]",
    "{}",
    "{ a = 1 }",
    "\"SYNC_FLUSH\"",
    "\"power_loss\"",
    "\"broker-a\"",
    "\"namesrv-0\"",
    "\"%RETRY%x\"",
    "\"BROADCASTING\"",
    "\"> 0\"",
    "1979-05-27T07:32:00Z",
    "\"中文\"",
];

/// Keys a mutation may add.
const KEYS: &[&str] = &[
    "flushDiskType",
    "flushDiskTyp",
    "queues",
    "members",
    "standby",
    "rate",
    "per_second",
    "max_messages",
    "slaves",
    "brokerRole",
    "at",
    "do",
    "node",
    "kind",
    "run_for",
    "seed",
    "version",
    "x",
    "name_servers",
    "processing_time",
    "failure_percent",
    "threads",
    "body_bytes",
    "batch_size",
    "mappedFileSizeCommitLog",
];

#[derive(Clone, Debug)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    ReplaceValue(usize, usize),
    InsertKey(usize, usize, usize),
    TruncateAt(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), 0..VALUES.len()).prop_map(|(l, v)| Mutation::ReplaceValue(l, v)),
        (any::<usize>(), 0..KEYS.len(), 0..VALUES.len()).prop_map(|(l, k, v)| Mutation::InsertKey(l, k, v)),
        any::<usize>().prop_map(Mutation::TruncateAt),
    ]
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for m in mutations {
        if lines.is_empty() {
            break;
        }
        let n = lines.len();
        match m {
            Mutation::DeleteLine(l) => {
                lines.remove(l % n);
            }
            Mutation::DuplicateLine(l) => {
                let line = lines[l % n].clone();
                lines.insert(l % n, line);
            }
            Mutation::ReplaceValue(l, v) => {
                let line = &mut lines[l % n];
                if let Some(eq) = line.find(" = ") {
                    line.truncate(eq + 3);
                    line.push_str(VALUES[*v]);
                }
            }
            Mutation::InsertKey(l, k, v) => lines.insert(l % n, format!("{} = {}", KEYS[*k], VALUES[*v])),
            Mutation::TruncateAt(l) => lines.truncate(l % n + 1),
        }
    }
    lines.join("\n")
}

/// Parse; when accepted, build and run a few simulated seconds (bounded events).
fn exercise(text: &str) {
    let Ok(scenario) = Scenario::parse("fuzz.toml", text) else { return };
    let Ok(mut simulation) = Simulation::new(&scenario, 3) else { return };
    simulation.set_retention(Retention::None);
    simulation.run_bounded(Time::from_secs(5), 20_000);
    let _ = simulation.check_report();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics_the_parser(text in "\\PC{0,400}") {
        let _ = Scenario::parse("fuzz.toml", &text);
    }

    #[test]
    fn toml_shaped_noise_never_panics_the_parser(
        lines in proptest::collection::vec((0..KEYS.len(), 0..VALUES.len(), any::<bool>()), 0..30)
    ) {
        let text: String = lines
            .iter()
            .map(|(k, v, table)| if *table { format!("[{}]\n", KEYS[*k]) } else { format!("{} = {}\n", KEYS[*k], VALUES[*v]) })
            .collect();
        let _ = Scenario::parse("fuzz.toml", &text);
    }

    #[test]
    fn mutated_scenarios_never_panic_the_parser_or_the_core(
        base in 0..BASES.len(),
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let text = mutate(library::find(BASES[base]).unwrap(), &mutations);
        exercise(&text);
    }

    #[test]
    fn arbitrary_link_strings_never_panic_and_accepted_ones_are_canonical(text in "[A-Za-z0-9._~-]{0,120}") {
        if let Ok(link) = decode(&text) {
            prop_assert_eq!(encode(&link), text);
        }
    }

    #[test]
    fn mutated_links_never_panic_and_accepted_ones_run(
        cut in any::<usize>(),
        insert in "[A-Za-z0-9._~-]{0,12}",
        seed in any::<u64>(),
    ) {
        let base = format!("v1.{}.{seed}.2m.30s~power~broker-a.1m30s~restart~broker-a", builtin("zero-loss-chain"));
        let at = cut % (base.len() + 1);
        let text = format!("{}{}{}", &base[..at], insert, &base[at..]);
        if let Ok(link) = decode(&text) {
            prop_assert_eq!(encode(&link), text.clone());
            if let Ok(scenario) = link.scenario() {
                if let Ok(mut simulation) = Simulation::new(&scenario, link.seed) {
                    simulation.set_retention(Retention::None);
                    for action in &link.actions {
                        let _ = simulation.inject(Some(action.at), &action.action);
                    }
                    simulation.run_bounded(Time::from_secs(3), 10_000);
                }
            }
        }
    }
}

fn builtin(id: &str) -> String {
    let fingerprint = rmqsim_core::action_log::fingerprint(library::find(id).unwrap());
    format!("{id}~{:08x}", fingerprint)
}

#[test]
fn a_scenario_with_many_mistakes_lists_them_all_with_places() {
    let text = library::find("zero-loss-chain")
        .unwrap()
        .replacen("flushDiskType = \"SYNC_FLUSH\"", "flushDiskTyp = \"SYNC_FLUSH\"", 1)
        .replacen("queues = 4", "queues = -4", 1)
        .replacen("kind = \"power_loss\"", "kind = \"powerloss\"", 1)
        .replacen("processing_time = \"10ms\"", "processing_time = \"10 parsecs\"", 1)
        .replacen("members = 2", "members = 2\nmembrs = 3", 1);
    let errors = Scenario::parse("zero.toml", &text).unwrap_err();
    let all = errors.to_string();
    for needle in [
        "unknown key `flushDiskTyp`; did you mean `flushDiskType`?",
        "integer -4 is out of range",
        "unknown value `powerloss`; did you mean `power_loss`?",
        "unknown unit",
        "unknown key `membrs`; did you mean `members`?",
    ] {
        assert!(all.contains(needle), "missing `{needle}` in:\n{all}");
    }
    assert!(errors.0.iter().all(|e| e.line.is_some() && e.column.is_some()), "{all}");
    assert!(errors.0.len() >= 5, "{all}");
}
