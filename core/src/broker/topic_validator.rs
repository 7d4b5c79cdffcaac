//! `TopicValidator` (`common/.../topic/TopicValidator.java`, 4.9.8): which topic names are legal,
//! which are system topics, and which no client may send to. Shared by the broker's `msgCheck` and
//! the producer's `Validators`.
//!
//! Legal names match `^[%|a-zA-Z0-9_-]+$` and are at most 127 characters (UTF-16 units in Java; every
//! legal character is ASCII, so the two counts agree whenever the characters are legal).

use crate::protocol::ResponseCode;
use crate::route::AUTO_CREATE_TOPIC_KEY_TOPIC;

pub const RMQ_SYS_SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
pub const RMQ_SYS_BENCHMARK_TOPIC: &str = "BenchmarkTest";
pub const RMQ_SYS_TRANS_HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
pub const RMQ_SYS_TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";
pub const RMQ_SYS_TRANS_OP_HALF_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
pub const RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
pub const RMQ_SYS_SELF_TEST_TOPIC: &str = "SELF_TEST_TOPIC";
pub const RMQ_SYS_OFFSET_MOVED_EVENT: &str = "OFFSET_MOVED_EVENT";
pub const SYSTEM_TOPIC_PREFIX: &str = "rmq_sys_";
pub const TOPIC_MAX_LENGTH: usize = 127;

/// Topics no client may send to (`NOT_ALLOWED_SEND_TOPIC_SET`).
pub const NOT_ALLOWED_SEND_TOPICS: [&str; 6] = [
    RMQ_SYS_SCHEDULE_TOPIC,
    RMQ_SYS_TRANS_HALF_TOPIC,
    RMQ_SYS_TRANS_OP_HALF_TOPIC,
    RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC,
    RMQ_SYS_SELF_TEST_TOPIC,
    RMQ_SYS_OFFSET_MOVED_EVENT,
];

/// `SYSTEM_TOPIC_SET` (without topics added at run time).
pub const SYSTEM_TOPICS: [&str; 9] = [
    AUTO_CREATE_TOPIC_KEY_TOPIC,
    RMQ_SYS_SCHEDULE_TOPIC,
    RMQ_SYS_BENCHMARK_TOPIC,
    RMQ_SYS_TRANS_HALF_TOPIC,
    RMQ_SYS_TRACE_TOPIC,
    RMQ_SYS_TRANS_OP_HALF_TOPIC,
    RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC,
    RMQ_SYS_SELF_TEST_TOPIC,
    RMQ_SYS_OFFSET_MOVED_EVENT,
];

/// `isTopicOrGroupIllegal`: any character outside `[%|a-zA-Z0-9_-]`.
pub fn is_topic_or_group_illegal(name: &str) -> bool {
    !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-'))
}

/// `UtilAll.isBlank`: empty or only whitespace.
pub fn is_blank(text: &str) -> bool {
    text.chars().all(char::is_whitespace)
}

/// Java `String.length()`: UTF-16 units.
fn java_length(text: &str) -> usize {
    text.encode_utf16().count()
}

/// The broker's `validateTopic`: `Err((code, remark))` as the response would carry.
pub fn validate_topic(topic: &str) -> Result<(), (ResponseCode, String)> {
    if is_blank(topic) {
        return Err((ResponseCode::SYSTEM_ERROR, "The specified topic is blank.".into()));
    }
    if is_topic_or_group_illegal(topic) {
        return Err((
            ResponseCode::SYSTEM_ERROR,
            "The specified topic contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$".into(),
        ));
    }
    if java_length(topic) > TOPIC_MAX_LENGTH {
        return Err((ResponseCode::SYSTEM_ERROR, "The specified topic is longer than topic max length.".into()));
    }
    Ok(())
}

pub fn is_not_allowed_send_topic(topic: &str) -> bool {
    NOT_ALLOWED_SEND_TOPICS.contains(&topic)
}

pub fn is_system_topic(topic: &str) -> bool {
    SYSTEM_TOPICS.contains(&topic) || topic.starts_with(SYSTEM_TOPIC_PREFIX)
}

/// The client's `Validators.checkTopic`: `Err(message)` for an `MQClientException` without code.
pub fn check_topic_client(topic: &str) -> Result<(), String> {
    if is_blank(topic) {
        return Err("The specified topic is blank".into());
    }
    if java_length(topic) > TOPIC_MAX_LENGTH {
        return Err(format!("The specified topic is longer than topic max length {TOPIC_MAX_LENGTH}."));
    }
    if is_topic_or_group_illegal(topic) {
        return Err(format!(
            "The specified topic[{topic}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legal_names_are_the_regex_characters_only() {
        assert!(!is_topic_or_group_illegal("Topic_Test-1%|x"));
        assert!(is_topic_or_group_illegal("Topic Test"));
        assert!(is_topic_or_group_illegal("主题"));
        assert!(validate_topic("").is_err());
        assert_eq!(validate_topic(&"a".repeat(128)).unwrap_err().0, ResponseCode::SYSTEM_ERROR);
        assert!(validate_topic(&"a".repeat(127)).is_ok());
    }

    #[test]
    fn clients_may_not_send_to_schedule_or_transaction_topics() {
        assert!(is_not_allowed_send_topic("SCHEDULE_TOPIC_XXXX"));
        assert!(is_not_allowed_send_topic("RMQ_SYS_TRANS_HALF_TOPIC"));
        assert!(!is_not_allowed_send_topic("TBW102"));
        assert!(is_system_topic("TBW102") && is_system_topic("rmq_sys_x") && !is_system_topic("TopicTest"));
    }
}
