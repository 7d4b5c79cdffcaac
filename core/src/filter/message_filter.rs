//! The broker's `ExpressionMessageFilter` and the client's tag re-check (4.9.8).
//!
//! A pull builds one filter from the subscription it uses (the request's, for a lite pull consumer
//! that posts it; otherwise the group's, as the last heartbeat left it):
//! * TAG: `isMatchedByConsumeQueue` passes a unit when the subscription is `*`, when the unit has no
//!   usable tags code, or when `(int) tagsCode` is in the code set; the CommitLog check passes all.
//! * SQL92: the ConsumeQueue check passes all (RocketMQ would consult a bloom-filter bitmap only with
//!   `enableCalcFilterBitMap`, default false, not modelled); the CommitLog check evaluates the selector
//!   on the record's properties: TRUE passes, FALSE, NULL and evaluation errors do not.
//!
//! [`ExpressionMessageFilter::for_pull`] also gives the pull's refusals, in `PullMessageProcessor`'s
//! order: a SQL92 subscription carried by the request that does not compile → SUBSCRIPTION_PARSE_FAILED;
//! a group subscription that does not compile → FILTER_DATA_NOT_EXIST (the broker's
//! `ConsumerFilterManager` kept nothing for it); a broker without `enablePropertyFilter` → SYSTEM_ERROR
//! "The broker does not support consumer to filter message by SQL92". RocketMQ compiles a group's
//! expression once per heartbeat and caches it; compiling per pull gives the same answers.

use super::{compile, is_tag_type, Selector};
use crate::broker::store::get_message::MessageFilter;
use crate::broker::store::properties::MessageProperties;
use crate::protocol::consumer::SubscriptionData;
use crate::protocol::{Response, ResponseCode};

/// `ResponseCode.FILTER_DATA_NOT_EXIST`.
pub const FILTER_DATA_NOT_EXIST: ResponseCode = ResponseCode(27);
/// `ResponseCode.FILTER_DATA_NOT_LATEST`.
pub const FILTER_DATA_NOT_LATEST: ResponseCode = ResponseCode(28);

/// The filter of one pull.
#[derive(Clone, Debug)]
pub struct ExpressionMessageFilter<'a> {
    pub subscription: &'a SubscriptionData,
    /// The compiled selector of a SQL92 subscription.
    selector: Option<Selector>,
}

impl<'a> ExpressionMessageFilter<'a> {
    /// A filter for a TAG subscription (a SQL92 one is compiled, and passes everything if it does not
    /// compile: use [`ExpressionMessageFilter::for_pull`] to refuse instead).
    pub fn new(subscription: &'a SubscriptionData) -> Self {
        let selector =
            (!is_tag_type(&subscription.expression_type)).then(|| compile(&subscription.sub_string).ok()).flatten();
        ExpressionMessageFilter { subscription, selector }
    }

    /// The filter `PullMessageProcessor` builds, or the response refusing the pull.
    /// `from_request`: the subscription came with the pull (`hasSubscriptionFlag`).
    pub fn for_pull(
        subscription: &'a SubscriptionData,
        from_request: bool,
        enable_property_filter: bool,
    ) -> Result<Self, Response> {
        if is_tag_type(&subscription.expression_type) {
            return Ok(ExpressionMessageFilter { subscription, selector: None });
        }
        let selector = match compile(&subscription.sub_string) {
            Ok(selector) => selector,
            Err(_) if from_request => {
                return Err(Response::error(
                    ResponseCode::SUBSCRIPTION_PARSE_FAILED,
                    "parse the consumer's subscription failed",
                ))
            }
            Err(_) => {
                return Err(Response::error(
                    FILTER_DATA_NOT_EXIST,
                    "The broker's consumer filter data is not exist!Your expression may be wrong!",
                ))
            }
        };
        if !enable_property_filter {
            return Err(Response::error(
                ResponseCode::SYSTEM_ERROR,
                format!("The broker does not support consumer to filter message by {}", subscription.expression_type),
            ));
        }
        Ok(ExpressionMessageFilter { subscription, selector: Some(selector) })
    }

    pub fn is_sql92(&self) -> bool {
        !is_tag_type(&self.subscription.expression_type)
    }
}

impl MessageFilter for ExpressionMessageFilter<'_> {
    fn is_matched_by_consume_queue(&self, tags_code: Option<i64>) -> bool {
        if self.is_sql92() {
            return true;
        }
        self.subscription.matches_tags_code(tags_code)
    }

    fn is_matched_by_commit_log(&self, properties: &MessageProperties) -> bool {
        match &self.selector {
            None => true,
            Some(selector) => selector.matches(properties),
        }
    }

    fn filters_by_commit_log(&self) -> bool {
        self.selector.is_some()
    }
}

impl Selector {
    /// `evaluate(context)` is TRUE on these properties (FALSE, NULL and errors are not).
    pub fn matches(&self, properties: &MessageProperties) -> bool {
        let lookup = |name: &str| properties.get(name).map(str::to_string);
        super::evaluate::evaluate(&self.expression, &lookup) == Ok(super::evaluate::Value::Boolean(true))
    }
}

/// `PullAPIWrapper.processPullResult`'s re-check: with a tag set, only messages whose TAGS is in it.
pub fn client_keeps(subscription: &SubscriptionData, tags: Option<&str>) -> bool {
    subscription.matches_tags(tags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::build_subscription_data;

    #[test]
    fn a_tag_hash_collision_passes_the_broker_and_is_dropped_by_the_client() {
        assert_eq!(crate::java::string_hash_code("Aa"), crate::java::string_hash_code("BB"));
        let sub = build_subscription_data("T", "Aa", "TAG", 0).unwrap();
        let filter = ExpressionMessageFilter::new(&sub);
        let bb = i64::from(crate::java::string_hash_code("BB"));
        assert!(filter.is_matched_by_consume_queue(Some(bb)), "the broker compares codes only");
        assert!(!filter.filters_by_commit_log());
        assert!(!client_keeps(&sub, Some("BB")), "the client compares the strings");
        assert!(client_keeps(&sub, Some("Aa")));
    }

    #[test]
    fn tag_codes_of_spec_item_15() {
        let sub = build_subscription_data("T", "TagA || TagB", "TAG", 0).unwrap();
        let filter = ExpressionMessageFilter::new(&sub);
        assert!(!filter.is_matched_by_consume_queue(Some(2_598_921)), "TagC is filtered at the broker");
        assert!(!filter.is_matched_by_consume_queue(Some(0)), "an untagged message is filtered");
        let all = build_subscription_data("T", "*", "TAG", 0).unwrap();
        assert!(ExpressionMessageFilter::new(&all).is_matched_by_consume_queue(Some(2_598_921)));
    }

    #[test]
    fn sql92_needs_enable_property_filter_and_a_valid_expression() {
        let sub = build_subscription_data("T", "amount > 100", "SQL92", 0).unwrap();
        let refused = ExpressionMessageFilter::for_pull(&sub, false, false).unwrap_err();
        assert_eq!(refused.code, ResponseCode::SYSTEM_ERROR);
        assert_eq!(refused.remark.as_deref(), Some("The broker does not support consumer to filter message by SQL92"));
        let filter = ExpressionMessageFilter::for_pull(&sub, false, true).unwrap();
        assert!(filter.is_matched_by_consume_queue(Some(12)));
        assert!(filter.filters_by_commit_log());
        assert!(filter.is_matched_by_commit_log(&MessageProperties::from_pairs([("amount", "150")])));
        assert!(!filter.is_matched_by_commit_log(&MessageProperties::from_pairs([("amount", "50")])));
        assert!(!filter.is_matched_by_commit_log(&MessageProperties::new()));
        let bad = build_subscription_data("T", "amount >", "SQL92", 0).unwrap();
        assert_eq!(
            ExpressionMessageFilter::for_pull(&bad, true, true).unwrap_err().code,
            ResponseCode::SUBSCRIPTION_PARSE_FAILED
        );
        assert_eq!(ExpressionMessageFilter::for_pull(&bad, false, true).unwrap_err().code, FILTER_DATA_NOT_EXIST);
    }
}
