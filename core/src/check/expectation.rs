//! Expectations and quizzes: what a scenario says its run must show, as predicates over verdicts.
//!
//! In a scenario file:
//!
//! ```toml
//! [expectations]
//! lost_acknowledged = 0          # an integer means "exactly"
//! duplicates = "> 0"             # or a comparison: = != > >= < <=, or a range "10..=20"
//!
//! [expectations.groups.Shipping] # the same, for one consumer group
//! duplicates = ">= 1"
//! ```
//!
//! Every metric is a field of [`ExpectationsSpec`] / [`GroupExpectations`], so an unknown name is refused with the
//! closest known one as a suggestion, like any other key. A quiz asks the student to predict one metric
//! before the run; each option holds a predicate, and the run grades it.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::check::verdict::{GroupVerdicts, Verdicts};

/// A condition on one integer metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Predicate {
    Eq(i64),
    Ne(i64),
    Gt(i64),
    Ge(i64),
    Lt(i64),
    Le(i64),
    /// Inclusive range.
    Between(i64, i64),
}

impl Predicate {
    pub fn holds(self, value: i64) -> bool {
        match self {
            Predicate::Eq(n) => value == n,
            Predicate::Ne(n) => value != n,
            Predicate::Gt(n) => value > n,
            Predicate::Ge(n) => value >= n,
            Predicate::Lt(n) => value < n,
            Predicate::Le(n) => value <= n,
            Predicate::Between(a, b) => a <= value && value <= b,
        }
    }

    /// Parse `"> 0"`, `"= 3"`, `"!= 0"`, `"1..=16"`, `"7"`.
    pub fn parse(text: &str) -> Result<Predicate, String> {
        let text = text.trim();
        let number = |s: &str| -> Result<i64, String> {
            s.trim().parse::<i64>().map_err(|_| format!("`{}` is not an integer", s.trim()))
        };
        if let Some((a, b)) = text.split_once("..=") {
            let (a, b) = (number(a)?, number(b)?);
            if a > b {
                return Err(format!("the range `{text}` is empty"));
            }
            return Ok(Predicate::Between(a, b));
        }
        for (op, make) in [
            (">=", Predicate::Ge as fn(i64) -> Predicate),
            ("<=", Predicate::Le),
            ("!=", Predicate::Ne),
            ("==", Predicate::Eq),
            (">", Predicate::Gt),
            ("<", Predicate::Lt),
            ("=", Predicate::Eq),
        ] {
            if let Some(rest) = text.strip_prefix(op) {
                return number(rest).map(make);
            }
        }
        number(text).map(Predicate::Eq).map_err(|_| {
            format!("`{text}` is not a condition; write e.g. 0, \"> 0\", \">= 2\", \"!= 0\" or \"1..=16\"")
        })
    }
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Predicate::Eq(n) => write!(f, "= {n}"),
            Predicate::Ne(n) => write!(f, "!= {n}"),
            Predicate::Gt(n) => write!(f, "> {n}"),
            Predicate::Ge(n) => write!(f, ">= {n}"),
            Predicate::Lt(n) => write!(f, "< {n}"),
            Predicate::Le(n) => write!(f, "<= {n}"),
            Predicate::Between(a, b) => write!(f, "{a}..={b}"),
        }
    }
}

impl Serialize for Predicate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Predicate::Eq(n) => serializer.serialize_i64(*n),
            other => serializer.serialize_str(&other.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for Predicate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PredicateVisitor;
        impl Visitor<'_> for PredicateVisitor {
            type Value = Predicate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer or a condition such as \"> 0\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Predicate, E> {
                Ok(Predicate::Eq(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Predicate, E> {
                i64::try_from(v).map(Predicate::Eq).map_err(|_| E::custom("the number is too large"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Predicate, E> {
                Predicate::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(PredicateVisitor)
    }
}

macro_rules! metrics {
    ($(#[$meta:meta])* $name:ident for $verdicts:ty { $($(#[$doc:meta])* $field:ident),* $(,)? }
     $(extra { $($(#[$xdoc:meta])* $xfield:ident: $xty:ty),* $(,)? })?) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$doc])* #[serde(default, skip_serializing_if = "Option::is_none")] pub $field: Option<Predicate>,)*
            $($($(#[$xdoc])* #[serde(default)] pub $xfield: $xty,)*)?
        }

        impl $name {
            /// Every metric name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($field)),*];

            /// (name, predicate) of every expectation set.
            pub fn set(&self) -> Vec<(&'static str, Predicate)> {
                let mut set = Vec::new();
                $(if let Some(p) = self.$field { set.push((stringify!($field), p)); })*
                set
            }

            /// Set metric `name`'s condition; false when there is no such metric.
            pub fn set_metric(&mut self, name: &str, predicate: Predicate) -> bool {
                match name {
                    $(stringify!($field) => self.$field = Some(predicate),)*
                    _ => return false,
                }
                true
            }

            /// The value of metric `name` in `verdicts`.
            pub fn value(verdicts: &$verdicts, name: &str) -> Option<i64> {
                match name {
                    $(stringify!($field) => Some(verdicts.$field as i64),)*
                    _ => None,
                }
            }
        }
    };
}

metrics! {
    /// The `[expectations]` table of a scenario: conditions on the run's verdicts (each a count of
    /// [`Verdicts`]), and per consumer group under `groups.<group>`.
    ExpectationsSpec for Verdicts {
        /// Messages the applications asked their producers to send (first sends, not resends).
        requested,
        /// Messages a producer was told were stored (SEND_OK, FLUSH_DISK_TIMEOUT, FLUSH_SLAVE_TIMEOUT,
        /// SLAVE_NOT_AVAILABLE).
        acknowledged,
        /// Messages acknowledged with SEND_OK.
        acknowledged_send_ok,
        /// Messages whose send ended in an exception (and were never acknowledged).
        send_failed,
        /// Messages the applications gave up on.
        abandoned,
        /// Distinct messages stored in their topic.
        stored,
        /// Acknowledged messages that are in no surviving broker log and that some subscribing group
        /// never processed.
        lost_acknowledged,
        /// Acknowledged, unprocessed messages whose every broker is down at the end.
        unavailable,
        /// Messages removed by CommitLog cleanup before a subscribing group processed them.
        deleted_before_consumed,
        /// The most acknowledged-but-not-durable messages at any instant.
        at_risk_max,
        /// Acknowledged-but-not-durable messages at the end.
        at_risk_end,
        /// Distinct messages processed, summed over consumer groups (and broadcasting consumers).
        consumed,
        /// Successful processings of a message its group had already processed.
        duplicates,
        /// Redeliveries an idempotent application recognised and skipped.
        duplicates_absorbed,
        /// Messages acknowledged before processing whose work never completed.
        lost_work,
        /// Messages a group's committed offset passed without processing them (offset resets...).
        skipped,
        /// Messages still waiting for a group at the end (present, not yet processed).
        backlog,
        /// Listener failures (RECONSUME_LATER, exceptions).
        consume_failures,
        /// Send-backs to a retry topic.
        retried,
        /// Messages moved to a dead-letter queue.
        dlq,
        /// First processings behind a later offset of the same queue (orderly groups).
        out_of_order_queue,
        /// First processings behind a later message of the same business key from the same producer.
        out_of_order_key,
        /// Median send latency (request to result), milliseconds.
        send_latency_p50_ms,
        /// 99th percentile send latency, milliseconds.
        send_latency_p99_ms,
        /// 99th percentile delivery latency (request to first successful processing), milliseconds.
        delivery_latency_p99_ms,
        /// Messages a forwarding listener copied to its topic.
        forwarded,
        /// Extra copies of forwarded messages (n copies of one message count n − 1).
        forward_duplicates,
        /// Forwarded messages no copy of which every group of the new topic processed by the end.
        forward_unprocessed,
    }
    extra {
        /// Per consumer group.
        groups: BTreeMap<String, GroupExpectations>,
    }
}

metrics! {
    /// Expectations for one consumer group.
    GroupExpectations for GroupVerdicts {
        consumed,
        duplicates,
        duplicates_absorbed,
        lost_work,
        skipped,
        backlog,
        consume_failures,
        retried,
        dlq,
        out_of_order_queue,
        out_of_order_key,
        lost,
        deleted_before_consumed,
    }
}

/// One option of a quiz, and the condition on the verdict that makes it right.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuizOption {
    pub en: String,
    pub zh: String,
    /// The option is right when the verdict satisfies this.
    pub holds: Predicate,
}

/// Text in both languages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bilingual {
    pub en: String,
    pub zh: String,
}

/// "Predict before you run": a question whose options the run's verdict grades.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuizSpec {
    pub question: Bilingual,
    /// The metric that grades the options (a name of `[expectations]`).
    pub verdict: String,
    /// For a per-group metric: the group.
    #[serde(default)]
    pub group: Option<String>,
    pub options: Vec<QuizOption>,
}

/// An expectation the run did not meet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailedExpectation {
    /// `lost_acknowledged`, or `groups.Shipping.duplicates`.
    pub metric: String,
    pub expected: String,
    pub actual: i64,
}

impl fmt::Display for FailedExpectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {} {}, got {}", self.metric, self.expected, self.actual)
    }
}

impl ExpectationsSpec {
    /// Expectations written on a command line (`rmqsim check/sweep --expect`), one per text: a metric
    /// of `[expectations]` or `groups.<group>.<metric>`, then a condition as in a scenario file —
    /// `lost_acknowledged = 0`, `duplicates > 0`, `groups.Billing.backlog 0..=10`. `groups` are the
    /// scenario's consumer groups: an expectation on any other would silently read 0.
    pub fn from_texts(texts: &[String], groups: &[&str]) -> Result<ExpectationsSpec, String> {
        let mut spec = ExpectationsSpec::default();
        for text in texts {
            spec.add_text(text.trim(), groups).map_err(|e| format!("`{text}`: {e}"))?;
        }
        Ok(spec)
    }

    fn add_text(&mut self, text: &str, groups: &[&str]) -> Result<(), String> {
        let name_end = text.find(|c: char| !(c.is_ascii_alphanumeric() || "_.-%|".contains(c))).unwrap_or(text.len());
        let (name, condition) = text.split_at(name_end);
        if name.is_empty() {
            return Err("write a metric, then a condition, e.g. `lost_acknowledged = 0`".to_string());
        }
        if condition.trim().is_empty() {
            return Err(format!("no condition after `{name}`; write e.g. `{name} = 0` or `{name} > 0`"));
        }
        let predicate = Predicate::parse(condition)?;
        let unknown = |metric: &str, names: &[&str]| {
            let hint = crate::scenario::suggest::did_you_mean(metric, names.iter().copied())
                .map_or_else(|| format!("; one of {}", names.join(", ")), |n| format!("; did you mean `{n}`?"));
            format!("unknown metric `{metric}`{hint}")
        };
        match name.strip_prefix("groups.").and_then(|rest| rest.rsplit_once('.')) {
            Some((group, metric)) => {
                if !groups.contains(&group) {
                    let hint = crate::scenario::suggest::did_you_mean(group, groups.iter().copied())
                        .map_or(String::new(), |g| format!("; did you mean `{g}`?"));
                    return Err(format!("no consumer group is named `{group}`{hint}"));
                }
                let group_spec = self.groups.entry(group.to_string()).or_default();
                if !group_spec.set_metric(metric, predicate) {
                    return Err(unknown(metric, GroupExpectations::NAMES));
                }
            }
            None if !self.set_metric(name, predicate) => return Err(unknown(name, ExpectationsSpec::NAMES)),
            None => {}
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.set().is_empty() && self.groups.values().all(|g| g.set().is_empty())
    }

    /// Every expectation `verdicts` does not meet.
    pub fn evaluate(&self, verdicts: &Verdicts) -> Vec<FailedExpectation> {
        let mut failed = Vec::new();
        for (name, predicate) in self.set() {
            let actual = ExpectationsSpec::value(verdicts, name).unwrap_or(0);
            if !predicate.holds(actual) {
                failed.push(FailedExpectation { metric: name.to_string(), expected: predicate.to_string(), actual });
            }
        }
        for (group, metrics) in &self.groups {
            let empty = GroupVerdicts::default();
            let group_verdicts = verdicts.groups.get(group).unwrap_or(&empty);
            for (name, predicate) in metrics.set() {
                let actual = GroupExpectations::value(group_verdicts, name).unwrap_or(0);
                if !predicate.holds(actual) {
                    failed.push(FailedExpectation {
                        metric: format!("groups.{group}.{name}"),
                        expected: predicate.to_string(),
                        actual,
                    });
                }
            }
        }
        failed
    }
}

impl QuizSpec {
    /// The value that grades the quiz.
    pub fn value(&self, verdicts: &Verdicts) -> Option<i64> {
        match &self.group {
            None => ExpectationsSpec::value(verdicts, &self.verdict),
            Some(group) => GroupExpectations::value(verdicts.groups.get(group)?, &self.verdict),
        }
    }

    /// Indices of the options the run makes right.
    pub fn right_options(&self, verdicts: &Verdicts) -> Vec<u32> {
        let Some(value) = self.value(verdicts) else { return Vec::new() };
        self.options.iter().enumerate().filter(|(_, o)| o.holds.holds(value)).map(|(i, _)| i as u32).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_expectations_name_a_metric_then_a_condition_and_refuse_what_would_silently_read_zero() {
        let texts = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let spec = ExpectationsSpec::from_texts(
            &texts(&["lost_acknowledged = 0", "duplicates>0", " groups.Billing.backlog 0..=10 ", "consumed 7"]),
            &["Billing"],
        )
        .unwrap();
        assert_eq!(spec.lost_acknowledged, Some(Predicate::Eq(0)));
        assert_eq!(spec.duplicates, Some(Predicate::Gt(0)));
        assert_eq!(spec.consumed, Some(Predicate::Eq(7)));
        assert_eq!(spec.groups["Billing"].backlog, Some(Predicate::Between(0, 10)));
        let error = |t: &str| ExpectationsSpec::from_texts(&texts(&[t]), &["Billing"]).unwrap_err();
        assert_eq!(
            error("lost_acknowleged = 0"),
            "`lost_acknowleged = 0`: unknown metric `lost_acknowleged`; did you mean `lost_acknowledged`?"
        );
        assert!(
            error("groups.Biling.backlog = 0").contains("no consumer group is named `Biling`; did you mean `Billing`?")
        );
        assert!(
            error("groups.Billing.stored = 0").contains("unknown metric `stored`"),
            "a topic-wide metric is not a group's"
        );
        assert!(error("duplicates").contains("no condition after `duplicates`"));
        assert!(error("> 0").contains("write a metric, then a condition"));
        assert!(error("duplicates lots").contains("not a condition"));
    }

    #[test]
    fn predicates_parse_and_print_canonically() {
        for (text, value_true, value_false) in [
            ("> 0", 1, 0),
            (">= 2", 2, 1),
            ("!= 0", 3, 0),
            ("< 5", 4, 5),
            ("<= 5", 5, 6),
            ("= 3", 3, 4),
            ("1..=16", 16, 17),
        ] {
            let p = Predicate::parse(text).unwrap();
            assert!(p.holds(value_true) && !p.holds(value_false), "{text}");
            assert_eq!(Predicate::parse(&p.to_string()).unwrap(), p);
        }
        assert_eq!(Predicate::parse("7"), Ok(Predicate::Eq(7)));
        assert_eq!(Predicate::parse("==7"), Ok(Predicate::Eq(7)));
        assert!(Predicate::parse("lots").unwrap_err().contains("not a condition"));
        assert!(Predicate::parse("5..=1").unwrap_err().contains("empty"));
        assert!(Predicate::parse("> x").is_err());
    }

    #[test]
    fn every_metric_name_has_a_value() {
        let verdicts = Verdicts::default();
        for name in ExpectationsSpec::NAMES {
            assert!(ExpectationsSpec::value(&verdicts, name).is_some(), "{name}");
        }
        for name in GroupExpectations::NAMES {
            assert!(GroupExpectations::value(&GroupVerdicts::default(), name).is_some(), "{name}");
        }
    }
}
