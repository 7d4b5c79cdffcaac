//! Message filtering (4.9.8): tag expressions and SQL92 selectors, on the broker and on the client.
//!
//! * `FilterAPI.build(topic, expression, type)` ([`build_subscription_data`]): a TAG expression becomes
//!   a [`SubscriptionData`] with its tag strings and their Java `hashCode()`s (`*` or empty subscribes
//!   everything); a SQL92 expression is kept as text (the broker compiles it).
//! * The broker's `ExpressionMessageFilter` ([`message_filter`]): a TAG subscription passes a
//!   ConsumeQueue unit whose tags code is in the code set (every unit for `*`); a SQL92 subscription
//!   passes every unit (no bloom-filter bitmap: `enableCalcFilterBitMap` is off by default) and then
//!   evaluates the selector on the record's properties — only when the broker has
//!   `enablePropertyFilter`, otherwise the pull fails with SYSTEM_ERROR.
//! * The client's re-check (`PullAPIWrapper.processPullResult`, [`client_keeps`]): with tags, only
//!   messages whose TAGS string is one of them stay, so a hash collision that the broker let through
//!   (tags "Aa" and "BB" share the code 2112) is dropped by the client; its offset still advances.
//! * The SQL92 language ([`parser`], [`evaluate`], [`java_number`]): RocketMQ's grammar and its Java
//!   semantics, with exact numbers.
//! * Subscription consistency ([`consistency`]): what the broker's single per-group subscription does to
//!   consumers of one group that subscribe differently, as observations for the checkers.

pub mod consistency;
pub mod evaluate;
pub mod java_number;
pub mod lexer;
pub mod message_filter;
pub mod parser;

pub use message_filter::{client_keeps, ExpressionMessageFilter};
pub use parser::{compile, FilterParseError, Selector};

use crate::protocol::consumer::{SubscriptionData, EXPRESSION_TYPE_TAG};

/// `ExpressionType.SQL92`.
pub const EXPRESSION_TYPE_SQL92: &str = "SQL92";

/// `ExpressionType.isTagType`: absent, empty or TAG.
pub fn is_tag_type(expression_type: &str) -> bool {
    expression_type.is_empty() || expression_type == EXPRESSION_TYPE_TAG
}

/// `FilterAPI.build(topic, subString, type)`. A SQL92 expression is not compiled here (the client does
/// not either); an empty one is refused, and so is an expression type RocketMQ has no filter for.
pub fn build_subscription_data(
    topic: &str,
    expression: &str,
    expression_type: &str,
    sub_version: i64,
) -> Result<SubscriptionData, String> {
    if is_tag_type(expression_type) {
        return Ok(SubscriptionData::build(topic, expression, sub_version));
    }
    if expression_type != EXPRESSION_TYPE_SQL92 {
        return Err(format!("expression type `{expression_type}` is not TAG or SQL92"));
    }
    if expression.is_empty() {
        return Err(format!("Expression can't be null! {expression_type}"));
    }
    Ok(SubscriptionData {
        topic: topic.to_string(),
        sub_string: expression.to_string(),
        tags_set: Vec::new(),
        code_set: Vec::new(),
        sub_version,
        expression_type: expression_type.to_string(),
    })
}

/// Check a subscription a scenario declares: a SQL92 expression must compile (a student sees the
/// position of the mistake); a tag expression always builds.
pub fn validate_expression(expression: &str, expression_type: &str) -> Result<(), String> {
    build_subscription_data("T", expression, expression_type, 0)?;
    if !is_tag_type(expression_type) {
        compile(expression).map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_a_or_tag_b_builds_the_code_set_of_spec_item_15() {
        let data = build_subscription_data("T", "TagA || TagB", "TAG", 0).unwrap();
        assert_eq!(data.code_set, [2_598_919, 2_598_920]);
        assert_eq!(build_subscription_data("T", "", "", 0).unwrap().sub_string, "*");
        let sql = build_subscription_data("T", "a > 1", "SQL92", 7).unwrap();
        assert!(sql.tags_set.is_empty() && sql.expression_type == "SQL92" && sql.sub_version == 7);
        assert_eq!(build_subscription_data("T", "", "SQL92", 0).unwrap_err(), "Expression can't be null! SQL92");
    }

    #[test]
    fn a_scenario_expression_is_validated_with_its_position() {
        assert!(validate_expression("a > 1 AND b = 'x'", "SQL92").is_ok());
        let e = validate_expression("a > ", "SQL92").unwrap_err();
        assert!(e.contains("line 1, column 5"), "{e}");
        assert!(validate_expression("whatever ||", "TAG").is_ok());
    }
}
