//! Strict scenario validation: every problem of a file at once, each with its line, column and, for a
//! misspelt key or value, the closest known spelling.
//!
//! Three layers, all of which run even when an earlier one found problems:
//!
//! 1. **Syntax**: the TOML parser recovers after an error and reports all of them (then we stop: the
//!    tree would be guesswork).
//! 2. **Shape** (`de.rs`): the model's serde derives, driven by a deserializer that knows where each
//!    value is; unknown keys, wrong types, out-of-range numbers and unknown values, each located, with
//!    suggestions from the key and value lists serde itself provides.
//! 3. **Meaning**: ranges, references between parts (nodes, groups, topics), limits — the model's own
//!    `validate` (which every stage extends with its keys) plus the checks of this stage (expectations,
//!    quiz, checker limits). These problems name a path (`actions[3].to`, `broker group `b` store: ...`);
//!    [`locate`] finds the place in the file the path names.

use crate::check::expectation::{ExpectationsSpec, GroupExpectations};
use crate::check::MAX_IDENTITIES;
use crate::protocol::consumer::MessageModel;
use crate::scenario::de;
use crate::scenario::document::{self, line_column, Located, Node};
use crate::scenario::model::{ActionSpec, Scenario};
use crate::scenario::suggest::did_you_mean;
use crate::scenario::{ScenarioError, ScenarioErrors};

/// The longest scenario file accepted, in bytes.
pub const MAX_SCENARIO_BYTES: usize = 256 * 1024;
/// The most actions a scenario may list.
pub const MAX_ACTIONS: usize = 10_000;

/// Parse and validate `text` (from `source`, a path or a built-in id).
pub fn parse(source: &str, text: &str) -> Result<Scenario, ScenarioErrors> {
    let errors = |problems: Vec<Located>| -> ScenarioErrors { to_errors(source, text, problems) };
    if text.len() > MAX_SCENARIO_BYTES {
        return Err(errors(vec![Located {
            span: 0..0,
            message: format!("the file has {} bytes; scenarios may have at most {MAX_SCENARIO_BYTES}", text.len()),
        }]));
    }
    let root = document::parse(text).map_err(errors)?;
    let original = root.clone();
    let recovered = de::deserialize::<Scenario>(root);
    let mut problems: Vec<Located> =
        recovered.problems.into_iter().map(|(node, located)| with_path(&original, node, located)).collect();
    if let Some(scenario) = &recovered.value {
        let mut meaning = scenario.validate();
        meaning.extend(stage_problems(scenario));
        for message in meaning {
            problems.push(locate(&recovered.tree, &original, message));
        }
    }
    match recovered.value {
        Some(scenario) if problems.is_empty() => Ok(scenario),
        _ => Err(errors(problems)),
    }
}

/// Every key the tables of `text` accept, whether present or not (the key lists serde states for each
/// table read): `scenarios/README.md` must mention each (`tests/scenario_readme.rs`). Tables absent
/// from `text` contribute nothing; action keys are read through serde's buffering and are not listed.
pub fn accepted_keys(text: &str) -> std::collections::BTreeSet<&'static str> {
    match document::parse(text) {
        Ok(root) => de::deserialize::<Scenario>(root).keys,
        Err(_) => std::collections::BTreeSet::new(),
    }
}

/// Prefix a shape problem with the path of the table or value it is in.
/// Read one action from its JSON form (how a share link carries actions that have no short form),
/// with the scenario reader: a link accepts exactly the actions and keys a scenario file accepts, and
/// the web app carries one reader instead of two. Problems are joined, each named by its path.
pub fn action_from_json(bytes: &[u8]) -> Result<ActionSpec, String> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let root = document::from_json(&value);
    let original = root.clone();
    let recovered = de::deserialize::<ActionSpec>(root);
    match recovered.value {
        Some(action) if recovered.problems.is_empty() => Ok(action),
        _ => Err(recovered
            .problems
            .into_iter()
            .map(|(node, located)| with_path(&original, node, located).message)
            .collect::<Vec<_>>()
            .join("; ")),
    }
}

fn with_path(original: &Node, node: u32, located: Located) -> Located {
    match original.path_of(node) {
        Some(path) if !path.is_empty() => Located { message: format!("{path}: {}", located.message), ..located },
        _ => located,
    }
}

fn to_errors(source: &str, text: &str, mut problems: Vec<Located>) -> ScenarioErrors {
    problems.sort_by_key(|p| p.span.start);
    problems.dedup();
    ScenarioErrors(
        problems
            .into_iter()
            .map(|p| {
                let (line, column) = line_column(text, p.span.start);
                ScenarioError { source: source.to_string(), line: Some(line), column: Some(column), message: p.message }
            })
            .collect(),
    )
}

/// Checks of this stage's keys (expectations, quiz) and of the checkers' limits.
fn stage_problems(scenario: &Scenario) -> Vec<String> {
    let mut problems = Vec::new();
    if scenario.actions.len() > MAX_ACTIONS {
        problems.push(format!("actions: {} actions, at most {MAX_ACTIONS}", scenario.actions.len()));
    }
    let groups: Vec<&str> = scenario.consumer_groups.iter().map(|g| g.group.as_str()).collect();
    for name in scenario.expectations.groups.keys() {
        if !groups.contains(&name.as_str()) {
            let hint =
                did_you_mean(name, groups.iter().copied()).map_or(String::new(), |g| format!("; did you mean `{g}`?"));
            problems.push(format!("expectations.groups.{name}: no consumer group is named `{name}`{hint}"));
        }
    }
    let identities: usize =
        scenario
            .consumer_groups
            .iter()
            .map(|g| {
                if g.config.message_model == MessageModel::Broadcasting {
                    (g.members + g.standby) as usize
                } else {
                    1
                }
            })
            .sum();
    if identities > MAX_IDENTITIES {
        problems.push(format!(
            "consumer_groups: the checkers follow at most {MAX_IDENTITIES} consumers (a clustering group counts once, \
             each broadcasting consumer once); this scenario has {identities}"
        ));
    }
    if let Some(quiz) = &scenario.quiz {
        let names: &[&str] = if quiz.group.is_some() { GroupExpectations::NAMES } else { ExpectationsSpec::NAMES };
        if !names.contains(&quiz.verdict.as_str()) {
            let hint = did_you_mean(&quiz.verdict, names.iter().copied())
                .map_or_else(|| format!("; one of {}", names.join(", ")), |n| format!("; did you mean `{n}`?"));
            problems.push(format!("quiz.verdict: unknown verdict `{}`{hint}", quiz.verdict));
        }
        if let Some(group) = &quiz.group {
            if !groups.contains(&group.as_str()) {
                problems.push(format!("quiz.group: no consumer group is named `{group}`"));
            }
        }
        if !(2..=6).contains(&quiz.options.len()) {
            problems.push(format!("quiz.options: give 2 to 6 options, not {}", quiz.options.len()));
        }
    }
    problems
}

/// Find where a meaning problem is: the path it starts with (`actions[2].to: ...`, `run_for: ...`), or
/// the part it names (`broker group `a` store: ...`), refined to a key the message mentions.
fn locate(tree: &Node, original: &Node, message: String) -> Located {
    // Messages keep the wording of the check that wrote them; the location is what we add.
    let (base, rest) = base_path(tree, &message);
    let (mut node, mut key_span, base_depth) = tree.resolve(&base);
    let rest = rest.to_string();
    // Refine to the deepest key the message names under the base (e.g. `workload.rate[1].at`,
    // `sendMsgTimeout`, `flushDiskType`).
    let mut best_depth = 0;
    for token in rest.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'))) {
        let token = token.trim_matches('.');
        if token.is_empty() {
            continue;
        }
        let path = if base.is_empty() { token.to_string() } else { format!("{base}.{token}") };
        let (candidate, span, depth) = tree.resolve(&path);
        if depth > base_depth && depth - base_depth > best_depth && depth == path_depth(&path) {
            best_depth = depth - base_depth;
            node = candidate;
            key_span = span;
        }
    }
    let span = key_span.cloned().unwrap_or_else(|| node.span.clone());
    let _ = original;
    Located { span, message }
}

fn path_depth(path: &str) -> usize {
    path.split('.')
        .filter(|s| !s.is_empty())
        .map(|s| 1 + s.matches('[').count() - usize::from(s.starts_with('[')))
        .sum()
}

/// The path a meaning problem is about, and the rest of its text.
fn base_path<'m>(tree: &Node, message: &'m str) -> (String, &'m str) {
    let named = |prefix: &str, list: &str, key: &str| -> Option<(String, &'m str)> {
        let rest = message.strip_prefix(prefix)?.strip_prefix('`')?;
        let (name, rest) = rest.split_once('`')?;
        let items = match &tree.resolve(list).0.kind {
            document::Kind::Array(items) if tree.resolve(list).2 == path_depth(list) => items,
            _ => return Some((String::new(), rest)),
        };
        let index = items.iter().position(|item| {
            item.get(key).is_some_and(|e| matches!(&e.value.kind, document::Kind::Str(s) if s == name))
        });
        Some((index.map_or(String::new(), |i| format!("{list}[{i}]")), rest))
    };
    if let Some(found) = named("broker group ", "topology.broker_groups", "name") {
        return found;
    }
    if let Some(found) = named("consumer group ", "consumer_groups", "group") {
        return found;
    }
    if let Some(found) = named("topic ", "topology.topics", "name") {
        return found;
    }
    if let Some(rest) = message.strip_prefix("producer `") {
        if let Some((name, rest)) = rest.split_once('`') {
            let index = name.strip_prefix("producer-").and_then(|i| i.parse::<usize>().ok());
            let named_index = match &tree.resolve("producers").0.kind {
                document::Kind::Array(items) => items.iter().position(|p| {
                    p.get("name").is_some_and(|e| matches!(&e.value.kind, document::Kind::Str(s) if s == name))
                }),
                _ => None,
            };
            if let Some(i) = named_index.or(index) {
                return (format!("producers[{i}]"), rest);
            }
        }
    }
    // A message that starts with a path: `actions[3].to: ...`, `run_for: ...`, `expectations.groups.X: ...`.
    let head = message.split([':', ' ']).next().unwrap_or_default();
    let (_, _, depth) = tree.resolve(head);
    if depth > 0 {
        let mut path = String::new();
        let mut resolved = 0;
        for part in head.split('.') {
            let candidate = if path.is_empty() { part.to_string() } else { format!("{path}.{part}") };
            let (_, _, d) = tree.resolve(&candidate);
            if d <= resolved {
                break;
            }
            resolved = d;
            path = candidate;
        }
        return (path, &message[head.len().min(message.len())..]);
    }
    (String::new(), message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::library;

    fn heartbeats() -> String {
        library::find("broker-heartbeats").unwrap().to_string()
    }

    /// The library scenario without its own `[expectations]` and `[quiz]`, so that a test can append its own.
    fn heartbeats_without_expectations() -> String {
        let text = heartbeats();
        let cut = text.find("\n[expectations]").or_else(|| text.find("\n[quiz]")).unwrap_or(text.len());
        text[..cut].to_string()
    }

    #[test]
    fn a_file_with_many_mistakes_reports_them_all_with_places_and_suggestions() {
        let text = heartbeats()
            .replacen("[topology]\nname_servers = 2", "[topology]\nname_servers = 2\nname_serverz = 3", 1)
            .replacen("name = \"broker-a\"", "name = \"broker-a\"\n[topology.broker_groups.store]\nflushDiskTyp = \"SYNC_FLUSH\"\nbrokerRole = \"SYNC_MASTR\"", 1)
            .replacen("queues = 4", "queues = \"four\"", 1)
            .replacen("kind = \"power_loss\"", "kind = \"power_los\"", 1)
            .replacen("node = \"broker-c\"", "node = \"broker-z\"", 1);
        let errors = parse("bad.toml", &text).unwrap_err();
        let all = errors.to_string();
        let expect = [
            "unknown key `name_serverz`; did you mean `name_servers`?",
            "unknown key `flushDiskTyp`; did you mean `flushDiskType`?",
            "unknown value `SYNC_MASTR`; did you mean `SYNC_MASTER`?",
            "expected u32, found string \"four\"",
            "unknown value `power_los`; did you mean `power_loss`?",
        ];
        for e in expect {
            assert!(all.contains(e), "missing `{e}` in:\n{all}");
        }
        assert!(errors.0.len() >= expect.len(), "{all}");
        for e in &errors.0 {
            assert!(e.line.is_some() && e.column.is_some(), "{e}");
            assert!(e.to_string().starts_with("bad.toml:"), "{e}");
        }
        let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() as u32 + 1;
        let flush = errors.0.iter().find(|e| e.message.contains("flushDiskTyp")).unwrap();
        assert_eq!(flush.line, Some(line_of("flushDiskTyp")));
        assert_eq!(flush.column, Some(1));
        assert!(flush.message.starts_with("topology.broker_groups[0].store: "), "{flush}");
    }

    #[test]
    fn a_broken_reference_points_at_the_action() {
        let text = heartbeats().replacen("node = \"broker-c\"", "node = \"broker-z\"", 1);
        let errors = parse("bad.toml", &text).unwrap_err();
        let e = errors.0.iter().find(|e| e.message.contains("unknown node `broker-z`")).expect("reported");
        let line = text.lines().position(|l| l.contains("broker-z")).unwrap() as u32 + 1;
        assert_eq!(e.line, Some(line), "{e}");
    }

    #[test]
    fn semantic_problems_of_named_parts_are_located() {
        let text = heartbeats().replacen("queues = 4", "queues = 0", 1);
        let errors = parse("bad.toml", &text).unwrap_err();
        let e = &errors.0[0];
        assert!(e.message.contains("out of range 1..=1024"), "{e}");
        assert_eq!(e.line, Some(text.lines().position(|l| l.contains("queues = 0")).unwrap() as u32 + 1), "{e}");
    }

    #[test]
    fn a_topic_perm_that_rocketmq_does_not_accept_is_located_at_its_key() {
        let text = heartbeats().replacen("queues = 4", "queues = 4\nperm = 7", 1);
        let errors = parse("bad.toml", &text).unwrap_err();
        let e = errors.0.iter().find(|e| e.message.contains("perm = 7")).expect("reported");
        assert!(e.message.contains("4 (read only)"), "{e}");
        assert_eq!(e.line, Some(text.lines().position(|l| l == "perm = 7").unwrap() as u32 + 1), "{e}");
    }

    #[test]
    fn syntax_errors_are_all_reported() {
        let errors = parse("bad.toml", "version = \nid = [1,\n").unwrap_err();
        assert!(errors.0.len() >= 2, "{errors}");
        assert!(errors.0.iter().all(|e| e.message.starts_with("TOML syntax")), "{errors}");
    }

    #[test]
    fn expectations_and_quiz_names_are_checked() {
        let text = format!(
            "{}\n[expectations]\nlost_acknowledgd = 0\n[expectations.groups.Nobody]\nduplicates = \"> 0\"\n\
             [quiz]\nverdict = \"lost\"\nquestion = {{ en = \"q\", zh = \"问\" }}\noptions = [{{ en = \"a\", zh = \"甲\", holds = 0 }}]\n",
            heartbeats_without_expectations()
        );
        let errors = parse("bad.toml", &text).unwrap_err().to_string();
        assert!(errors.contains("unknown key `lost_acknowledgd`; did you mean `lost_acknowledged`?"), "{errors}");
        assert!(errors.contains("no consumer group is named `Nobody`"), "{errors}");
        assert!(errors.contains("quiz.verdict: unknown verdict `lost`"), "{errors}");
        assert!(errors.contains("give 2 to 6 options"), "{errors}");
    }

    #[test]
    fn an_oversized_file_is_refused_without_parsing() {
        let text = "#".repeat(MAX_SCENARIO_BYTES + 1);
        assert!(parse("big.toml", &text).unwrap_err().to_string().contains("at most"));
    }
}
