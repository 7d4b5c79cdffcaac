//! `scenarios/README.md` documents the scenario format; these tests keep it from drifting away from the
//! parser:
//!
//! - its example parses, strictly;
//! - every key a table of the format accepts (as serde states the keys of each table read from the
//!   example and from every library scenario), every action kind and each action's keys, and every
//!   expectation metric are mentioned in it (in backticks);
//! - each configuration table marked `<!-- keys: NAME -->` lists exactly the keys of that table, each with
//!   the default the simulator uses.
//!
//! When a key is added to the format, the failure names it: document it in `scenarios/README.md`.

use std::collections::BTreeSet;

use rmqsim_core::check::expectation::{ExpectationsSpec, GroupExpectations};
use rmqsim_core::scenario::model::{ActionSpec, NetworkSpec};
use rmqsim_core::scenario::{library, validate, Scenario};
use serde_json::Value;

const README: &str = include_str!("../scenarios/README.md");

/// The first ```toml block of the README: its example.
fn example() -> &'static str {
    let start = README.find("```toml\n").expect("the README has a ```toml example") + "```toml\n".len();
    let end = README[start..].find("```").expect("the example block is closed") + start;
    &README[start..end]
}

fn mentioned(word: &str) -> bool {
    README.contains(&format!("`{word}`"))
}

/// The backticked words after `expected` in a serde message ("expected one of `a`, `b`").
fn expected_words(message: &str) -> Vec<String> {
    let Some((_, list)) = message.split_once("expected") else { return Vec::new() };
    list.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

#[test]
fn the_readme_example_is_a_valid_scenario() {
    let scenario = Scenario::parse("scenarios/README.md", example()).unwrap_or_else(|e| panic!("{e}"));
    assert!(!scenario.expectations.is_empty(), "the example shows [expectations]");
    assert!(scenario.quiz.is_some(), "the example shows a [quiz]");
    assert!(!scenario.actions.is_empty(), "the example shows [[actions]]");
}

#[test]
fn every_key_the_format_accepts_is_documented() {
    let mut keys: BTreeSet<&str> = validate::accepted_keys(example());
    for (_, text) in library::SCENARIOS {
        keys.extend(validate::accepted_keys(text));
    }
    assert!(keys.contains("name_servers") && keys.contains("flushDiskType"), "the key lists are read: {keys:?}");
    keys.extend(ExpectationsSpec::NAMES);
    keys.extend(GroupExpectations::NAMES);
    let missing: Vec<&str> = keys.into_iter().filter(|k| !mentioned(k)).collect();
    assert!(missing.is_empty(), "keys the parser accepts that scenarios/README.md does not mention: {missing:?}");
}

#[test]
fn every_action_kind_and_its_keys_are_documented() {
    let error = serde_json::from_str::<ActionSpec>(r#"{"do":"no-such-action"}"#).unwrap_err().to_string();
    let kinds = expected_words(&error);
    assert!(kinds.len() >= 10 && kinds.contains(&"crash".to_string()), "action kinds read from `{error}`");
    let mut missing = Vec::new();
    for kind in &kinds {
        if !README.contains(&format!("`{kind}`")) {
            missing.push(format!("action `{kind}`"));
        }
        let probe = format!(r#"{{"do":"{kind}","no_such_key":1}}"#);
        // A kind without keys (`heal_all`) ignores what it is given.
        let error = serde_json::from_str::<ActionSpec>(&probe).err().map(|e| e.to_string()).unwrap_or_default();
        for key in expected_words(&error) {
            if !mentioned(&key) {
                missing.push(format!("key `{key}` of action `{kind}`"));
            }
        }
    }
    assert!(missing.is_empty(), "scenarios/README.md does not mention: {missing:?}");
}

/// How a default is written in the README's tables.
fn render(value: &Value) -> String {
    match value {
        Value::Null => "(none)".into(),
        other => other.to_string(),
    }
}

/// The (key, default) rows of the table after `<!-- keys: NAME -->`.
fn table(name: &str) -> Vec<(String, String)> {
    let marker = format!("<!-- keys: {name} -->");
    let start = README.find(&marker).unwrap_or_else(|| panic!("scenarios/README.md has no `{marker}`"));
    let mut rows = Vec::new();
    for line in README[start + marker.len()..].lines().skip(1) {
        if !line.starts_with('|') {
            if rows.is_empty() && line.trim().is_empty() {
                continue;
            }
            break;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (key, default) = (cells[1].trim_matches('`'), cells[2]);
        if key == "key" || key.starts_with("---") {
            continue;
        }
        let default = default.strip_prefix('`').and_then(|d| d.strip_suffix('`')).unwrap_or(default);
        rows.push((key.to_string(), default.to_string()));
    }
    rows
}

#[test]
fn every_configuration_table_lists_its_keys_with_their_defaults() {
    let defaults: Vec<(&str, Value)> = vec![
        ("NamesrvConfig", serde_json::to_value(rmqsim_core::name_server::controller::NamesrvConfig::default())),
        ("BrokerConfig", serde_json::to_value(rmqsim_core::broker::controller::BrokerConfig::default())),
        (
            "MessageStoreConfig",
            serde_json::to_value(rmqsim_core::broker::store::message_store_config::MessageStoreConfig::default()),
        ),
        ("ProducerConfig", serde_json::to_value(rmqsim_core::producer::config::ProducerConfig::default())),
        ("ConsumerConfig", serde_json::to_value(rmqsim_core::consumer::config::ConsumerConfig::default())),
        ("ConsumerWorkload", serde_json::to_value(rmqsim_core::consumer::workload::ConsumerWorkloadSpec::default())),
        ("KeySpec", serde_json::to_value(rmqsim_core::producer::workload::KeySpec::default())),
        ("Limits", serde_json::to_value(rmqsim_core::sim::limits::Limits::default())),
        ("NetworkSpec", serde_json::to_value(NetworkSpec::default())),
    ]
    .into_iter()
    .map(|(name, value)| (name, value.expect("plain data")))
    .collect();
    let mut wrong = Vec::new();
    for (name, value) in &defaults {
        let Value::Object(fields) = value else { panic!("{name} is a table") };
        let rows = table(name);
        let listed: BTreeSet<&str> = rows.iter().map(|(k, _)| k.as_str()).collect();
        for (key, default) in fields {
            if !listed.contains(key.as_str()) {
                wrong.push(format!("{name}: `{key}` is missing; add | `{key}` | `{}` | ... |", render(default)));
            }
        }
        for (key, written) in &rows {
            match fields.get(key) {
                None => wrong.push(format!("{name}: `{key}` is not a key of this table")),
                Some(default) if render(default) != *written => wrong
                    .push(format!("{name}: `{key}` defaults to `{}`, the README says `{written}`", render(default))),
                Some(_) => {}
            }
        }
    }
    assert!(wrong.is_empty(), "scenarios/README.md tables out of date:\n{}", wrong.join("\n"));
}
