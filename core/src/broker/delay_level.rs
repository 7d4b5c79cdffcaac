//! The delay levels of `messageDelayLevel` and the consumer retry schedule built on them.
//!
//! RocketMQ 4.x has no arbitrary delays: a message carries a `DELAY` level, the broker parks it in queue
//! `level − 1` of `SCHEDULE_TOPIC_XXXX` and `ScheduleMessageService` re-publishes it once the level's delay has
//! passed. The levels come from the store setting `messageDelayLevel`, by default
//! `1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h` (levels 1..=18), parsed by
//! `ScheduleMessageService.parseDelayLevel`: split on single spaces, the last character of each token is the
//! unit (`s`, `m`, `h`, `d`, case-sensitive), the rest a `long`.
//!
//! What RocketMQ does with a bad token (4.9.8 and 5.x alike): the parse throws, `parseDelayLevel` logs
//! "parseDelayLevel exception" and returns false, `DefaultMessageStore.load` fails and `BrokerStartup` exits
//! with status −3, i.e. the broker refuses to start. We return a [`DelayLevelError`] naming the token and its
//! position instead of a half-filled table. Cases where Java is more lenient than we are, all documented on the
//! error variants: a string of only spaces (Java: zero levels, delayed messages then land in queue −1), negative
//! numbers (Java: a negative delay), non-ASCII digits (Java's `Long.parseLong` takes any Unicode digit) and
//! delays overflowing a `long` (Java wraps). Trailing spaces are fine in both, as Java's `split` drops trailing
//! empty strings; doubled or leading spaces make an empty token, which fails in both.
//!
//! Broker side (`CommitLog.asyncPutMessage` in 4.9, `HookUtils.transformDelayLevelMessage` in 5.x): a level
//! `> 0` is clamped to the maximum level; a level `<= 0` means "not delayed" and the message is stored in its
//! own topic at once. The consume-queue tag slot of a scheduled message holds its delivery time,
//! `storeTimestamp + delay(level)` (`computeDeliverTimestamp`; a level missing from the table gets + 1 000 ms).
//!
//! Retries (`SendMessageProcessor.asyncConsumerSendMsgBack`, 4.9.8): a message consumed `reconsumeTimes` times
//! before is sent to the DLQ `%DLQ%<group>` (queue 0 of 1, perm RW) when `reconsumeTimes >= maxReconsumeTimes`
//! (default 16) or the client asked for level −1; otherwise to `%RETRY%<group>` with level
//! `3 + reconsumeTimes` (or the client's positive level), clamped as above. With the defaults a message that
//! always fails is retried after 10 s, 30 s, 1 m, ... 2 h: 16 retries totalling 17 140 s (4 h 45 m 40 s).
//!
//! Invariants: a parsed table has at least one level and every delay fits `u64` milliseconds; level `n` is
//! always at index `n − 1` and in schedule queue `n − 1`. Times are virtual milliseconds.

use std::fmt;

/// `MessageStoreConfig.messageDelayLevel` default.
pub const DEFAULT_MESSAGE_DELAY_LEVEL: &str = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";
/// `TopicValidator.RMQ_SYS_SCHEDULE_TOPIC`.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
/// `SubscriptionGroupConfig.retryMaxTimes` and the client's default `maxReconsumeTimes` (concurrent consumers).
pub const DEFAULT_MAX_RECONSUME_TIMES: i32 = 16;
/// The first retry uses level 3 (10 s): `delayLevel = 3 + reconsumeTimes`.
pub const RETRY_BASE_DELAY_LEVEL: i32 = 3;
/// `ScheduleMessageService.computeDeliverTimestamp` for a level missing from the table.
pub const UNKNOWN_LEVEL_DELAY_MS: u64 = 1_000;
/// `MixAll.RETRY_GROUP_TOPIC_PREFIX`.
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";
/// `MixAll.DLQ_GROUP_TOPIC_PREFIX`.
pub const DLQ_GROUP_TOPIC_PREFIX: &str = "%DLQ%";
/// `DLQ_NUMS_PER_GROUP`: one DLQ queue, so `random % 1` always picks queue 0.
pub const DLQ_NUMS_PER_GROUP: i32 = 1;

/// `MixAll.getRetryTopic(group)`.
pub fn retry_topic(consumer_group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{consumer_group}")
}

/// `MixAll.getDLQTopic(group)`.
pub fn dlq_topic(consumer_group: &str) -> String {
    format!("{DLQ_GROUP_TOPIC_PREFIX}{consumer_group}")
}

/// `ScheduleMessageService.delayLevel2QueueId`: level `n` lives in queue `n − 1` of `SCHEDULE_TOPIC_XXXX`.
pub fn delay_level_to_queue_id(delay_level: i32) -> i32 {
    delay_level - 1
}

/// `ScheduleMessageService.queueId2DelayLevel`.
pub fn queue_id_to_delay_level(queue_id: i32) -> i32 {
    queue_id + 1
}

/// A `messageDelayLevel` string RocketMQ's broker would refuse to start with (or that we refuse, see each case).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DelayLevelError {
    /// No token at all: `""` (Java fails) or only spaces (Java accepts an empty table, then sends every delayed
    /// message to schedule queue −1; we refuse).
    NoLevels,
    /// Two spaces in a row or a leading space: Java's `substring(-1)` on the empty token throws.
    EmptyToken { level: u32 },
    /// The last character is not `s`, `m`, `h` or `d` (Java: null unit, `NullPointerException`).
    UnknownUnit { level: u32, token: String },
    /// What precedes the unit is not a number (Java: `NumberFormatException`). We accept an optional `+` and ASCII
    /// digits; Java would also take non-ASCII Unicode digits.
    BadNumber { level: u32, token: String },
    /// A negative number: Java accepts it as a negative delay (delivered at once); we refuse.
    NegativeDelay { level: u32, token: String },
    /// The delay in milliseconds does not fit: Java's `long` multiplication would wrap silently; we refuse.
    DelayTooLarge { level: u32, token: String },
}

impl fmt::Display for DelayLevelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DelayLevelError::NoLevels => {
                write!(f, "messageDelayLevel has no levels; expected space-separated delays like \"1s 5s 10s\"")
            }
            DelayLevelError::EmptyToken { level } => {
                write!(
                    f,
                    "level {level} is empty (two spaces in a row or a leading space); separate delays by one space"
                )
            }
            DelayLevelError::UnknownUnit { level, token } => {
                write!(f, "level {level} \"{token}\" must end with a unit s, m, h or d (lower case)")
            }
            DelayLevelError::BadNumber { level, token } => {
                write!(f, "level {level} \"{token}\" must be a whole number followed by s, m, h or d")
            }
            DelayLevelError::NegativeDelay { level, token } => {
                write!(f, "level {level} \"{token}\" is negative; delays must be 0 or more")
            }
            DelayLevelError::DelayTooLarge { level, token } => {
                write!(f, "level {level} \"{token}\" is too long a delay to count in milliseconds")
            }
        }
    }
}

impl std::error::Error for DelayLevelError {}

/// The parsed `messageDelayLevel`: `ScheduleMessageService.delayLevelTable` and `maxDelayLevel`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DelayLevelTable {
    /// Index `n − 1` holds level `n`'s delay in ms.
    delays_ms: Vec<u64>,
}

impl Default for DelayLevelTable {
    /// The table of [`DEFAULT_MESSAGE_DELAY_LEVEL`].
    fn default() -> Self {
        DelayLevelTable::parse(DEFAULT_MESSAGE_DELAY_LEVEL).expect("the default messageDelayLevel parses")
    }
}

/// `parseDelayLevel`'s `timeUnitTable`.
fn unit_millis(unit: char) -> Option<u64> {
    match unit {
        's' => Some(1_000),
        'm' => Some(60_000),
        'h' => Some(3_600_000),
        'd' => Some(86_400_000),
        _ => None,
    }
}

impl DelayLevelTable {
    /// `ScheduleMessageService.parseDelayLevel`, refusing what would stop the broker from starting.
    pub fn parse(message_delay_level: &str) -> Result<Self, DelayLevelError> {
        // Java's String.split(" ") drops trailing empty strings, so "1s 5s " has two levels.
        let mut tokens: Vec<&str> = message_delay_level.split(' ').collect();
        while tokens.last() == Some(&"") {
            tokens.pop();
        }
        if tokens.is_empty() {
            return Err(DelayLevelError::NoLevels);
        }
        let delays_ms = tokens
            .iter()
            .zip(1u32..)
            .map(|(token, level)| parse_token(token, level))
            .collect::<Result<Vec<u64>, DelayLevelError>>()?;
        Ok(DelayLevelTable { delays_ms })
    }

    /// `maxDelayLevel`: the number of levels.
    pub fn max_delay_level(&self) -> i32 {
        i32::try_from(self.delays_ms.len()).unwrap_or(i32::MAX)
    }

    /// The delay of `level` in ms, `None` outside `1..=max`.
    pub fn delay_ms(&self, level: i32) -> Option<u64> {
        let index = usize::try_from(level.checked_sub(1)?).ok()?;
        self.delays_ms.get(index).copied()
    }

    /// `(level, delay ms)` for every level, in order.
    pub fn levels(&self) -> impl Iterator<Item = (i32, u64)> + '_ {
        (1..).zip(self.delays_ms.iter().copied())
    }

    /// The level the broker actually schedules a message with `DELAY = requested_level` at:
    /// `None` for `<= 0` (not delayed, stored in its own topic), else `min(requested, maxDelayLevel)`.
    pub fn effective_delay_level(&self, requested_level: i32) -> Option<i32> {
        (requested_level > 0).then(|| requested_level.min(self.max_delay_level()))
    }

    /// `computeDeliverTimestamp`: the consume-queue tag of a scheduled message, `storeTimestamp + delay`, with
    /// + 1 000 ms for a level the table lacks.
    pub fn compute_deliver_timestamp(&self, delay_level: i32, store_timestamp_ms: u64) -> u64 {
        let delay = self.delay_ms(delay_level).unwrap_or(UNKNOWN_LEVEL_DELAY_MS);
        store_timestamp_ms.saturating_add(delay)
    }

    /// The retry schedule of a message that fails every time, up to the DLQ: one step per retry.
    pub fn retry_schedule(&self, max_reconsume_times: i32) -> RetrySchedule {
        let steps = (0..max_reconsume_times.max(0))
            .map(|reconsume_times| {
                let requested_level = RETRY_BASE_DELAY_LEVEL.saturating_add(reconsume_times);
                let delay_level =
                    self.effective_delay_level(requested_level).expect("retry levels start at 3, always > 0");
                RetryStep {
                    reconsume_times,
                    requested_level,
                    delay_level,
                    schedule_queue_id: delay_level_to_queue_id(delay_level),
                    delay_ms: self.delay_ms(delay_level).expect("an effective level is in the table"),
                }
            })
            .collect();
        RetrySchedule { steps }
    }
}

/// One token of `messageDelayLevel` → ms.
fn parse_token(token: &str, level: u32) -> Result<u64, DelayLevelError> {
    let unit = token.chars().next_back().ok_or(DelayLevelError::EmptyToken { level })?;
    let owned = || token.to_string();
    let millis = unit_millis(unit).ok_or_else(|| DelayLevelError::UnknownUnit { level, token: owned() })?;
    let digits = &token[..token.len() - unit.len_utf8()];
    if let Some(magnitude) = digits.strip_prefix('-') {
        let is_number = !magnitude.is_empty() && magnitude.bytes().all(|byte| byte.is_ascii_digit());
        return Err(if is_number {
            DelayLevelError::NegativeDelay { level, token: owned() }
        } else {
            DelayLevelError::BadNumber { level, token: owned() }
        });
    }
    // Long.parseLong takes one optional sign; after it only digits (Rust's parser would take a second '+').
    let unsigned = digits.strip_prefix('+').unwrap_or(digits);
    if unsigned.is_empty() || !unsigned.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(DelayLevelError::BadNumber { level, token: owned() });
    }
    // Too many digits for Java's long is a NumberFormatException there; overflow of the product wraps there.
    let number: i64 = unsigned.parse().map_err(|_| DelayLevelError::BadNumber { level, token: owned() })?;
    u64::try_from(number)
        .ok()
        .and_then(|number| number.checked_mul(millis))
        .filter(|delay| i64::try_from(*delay).is_ok())
        .ok_or_else(|| DelayLevelError::DelayTooLarge { level, token: owned() })
}

/// Where `CONSUMER_SEND_MSG_BACK` puts a message that failed to be consumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendBackDestination {
    /// `%RETRY%<group>` through `SCHEDULE_TOPIC_XXXX` at this (not yet clamped) delay level.
    Retry { delay_level: i32 },
    /// `%DLQ%<group>`, queue 0, no delay.
    DeadLetterQueue,
}

/// `asyncConsumerSendMsgBack`'s decision: DLQ when `reconsume_times >= max_reconsume_times` or the client asked
/// for a negative level (`delayLevelWhenNextConsume = -1`); else the client's positive level, or
/// `3 + reconsume_times` when the client left it at 0.
pub fn consumer_send_back_destination(
    reconsume_times: i32,
    max_reconsume_times: i32,
    client_delay_level: i32,
) -> SendBackDestination {
    if reconsume_times >= max_reconsume_times || client_delay_level < 0 {
        SendBackDestination::DeadLetterQueue
    } else if client_delay_level == 0 {
        SendBackDestination::Retry { delay_level: RETRY_BASE_DELAY_LEVEL.saturating_add(reconsume_times) }
    } else {
        SendBackDestination::Retry { delay_level: client_delay_level }
    }
}

/// One retry of a message that keeps failing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryStep {
    /// The message's `reconsumeTimes` when it failed (0 for the first failure).
    pub reconsume_times: i32,
    /// `3 + reconsumeTimes`.
    pub requested_level: i32,
    /// After the broker's clamp to the maximum level.
    pub delay_level: i32,
    /// Queue of `SCHEDULE_TOPIC_XXXX` it waits in.
    pub schedule_queue_id: i32,
    pub delay_ms: u64,
}

/// Every retry before the DLQ, as [`DelayLevelTable::retry_schedule`] computes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetrySchedule {
    pub steps: Vec<RetryStep>,
}

impl RetrySchedule {
    /// Sum of the delays: how long after the first failure the message reaches the DLQ, consumption time aside.
    pub fn total_delay_ms(&self) -> u64 {
        self.steps.iter().map(|step| step.delay_ms).fold(0, u64::saturating_add)
    }
}

/// `1s`, `10m`, `2h`, `4h 45m 40s`: a delay as a student reads it (the largest units first, zero parts left out).
pub fn format_delay(delay_ms: u64) -> String {
    if delay_ms == 0 {
        return "0s".to_string();
    }
    let parts = [(86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1_000, "s"), (1, "ms")];
    let mut rest = delay_ms;
    let mut text = Vec::new();
    for (size, unit) in parts {
        if rest >= size {
            text.push(format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    text.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_table_has_eighteen_levels_from_one_second_to_two_hours() {
        let table = DelayLevelTable::default();
        assert_eq!(table.max_delay_level(), 18);
        assert_eq!(table.delay_ms(1), Some(1_000));
        assert_eq!(table.delay_ms(3), Some(10_000));
        assert_eq!(table.delay_ms(5), Some(60_000));
        assert_eq!(table.delay_ms(18), Some(7_200_000));
        assert_eq!(table.delay_ms(0), None);
        assert_eq!(table.delay_ms(19), None);
        assert_eq!(table.delay_ms(i32::MIN), None);
    }

    #[test]
    fn levels_map_to_schedule_queue_ids_one_below() {
        assert_eq!(delay_level_to_queue_id(1), 0);
        assert_eq!(delay_level_to_queue_id(18), 17);
        assert_eq!(queue_id_to_delay_level(17), 18);
    }

    #[test]
    fn retry_levels_start_at_three_and_dlq_follows_the_sixteenth_retry() {
        // Spec §13 item 9.
        let table = DelayLevelTable::default();
        assert_eq!(consumer_send_back_destination(0, 16, 0), SendBackDestination::Retry { delay_level: 3 });
        assert_eq!(table.delay_ms(3), Some(10_000));
        assert_eq!(delay_level_to_queue_id(3), 2);
        assert_eq!(consumer_send_back_destination(15, 16, 0), SendBackDestination::Retry { delay_level: 18 });
        assert_eq!(table.delay_ms(18), Some(7_200_000));
        assert_eq!(delay_level_to_queue_id(18), 17);
        assert_eq!(consumer_send_back_destination(16, 16, 0), SendBackDestination::DeadLetterQueue);
        assert_eq!(dlq_topic("G"), "%DLQ%G");
        assert_eq!(retry_topic("G"), "%RETRY%G");
    }

    #[test]
    fn a_negative_client_level_sends_to_the_dlq_at_once() {
        assert_eq!(consumer_send_back_destination(0, 16, -1), SendBackDestination::DeadLetterQueue);
        // A positive client level is used as is.
        assert_eq!(consumer_send_back_destination(4, 16, 2), SendBackDestination::Retry { delay_level: 2 });
    }

    #[test]
    fn out_of_range_levels_are_clamped_to_the_maximum_and_non_positive_ones_are_not_delayed() {
        // Spec §13 item 10: DELAY=20 → level 18, queue 17, tag = storeTimestamp + 7 200 000.
        let table = DelayLevelTable::default();
        let level = table.effective_delay_level(20).unwrap();
        assert_eq!(level, 18);
        assert_eq!(delay_level_to_queue_id(level), 17);
        assert_eq!(table.compute_deliver_timestamp(level, 1_000), 7_201_000);
        assert_eq!(table.effective_delay_level(0), None);
        assert_eq!(table.effective_delay_level(-3), None);
        assert_eq!(table.effective_delay_level(1), Some(1));
        // computeDeliverTimestamp for a level the table lacks adds one second.
        assert_eq!(table.compute_deliver_timestamp(0, 1_000), 2_000);
    }

    #[test]
    fn sixteen_retries_total_four_hours_forty_five_minutes_forty_seconds() {
        let schedule = DelayLevelTable::default().retry_schedule(DEFAULT_MAX_RECONSUME_TIMES);
        assert_eq!(schedule.steps.len(), 16);
        let delays: Vec<String> = schedule.steps.iter().map(|step| format_delay(step.delay_ms)).collect();
        assert_eq!(
            delays,
            ["10s", "30s", "1m", "2m", "3m", "4m", "5m", "6m", "7m", "8m", "9m", "10m", "20m", "30m", "1h", "2h"]
        );
        assert_eq!(schedule.total_delay_ms(), 17_140_000);
        assert_eq!(format_delay(schedule.total_delay_ms()), "4h 45m 40s");
        assert_eq!(schedule.steps[15].schedule_queue_id, 17);
    }

    #[test]
    fn retries_beyond_the_last_level_stay_at_the_last_level() {
        let schedule = DelayLevelTable::default().retry_schedule(20);
        let levels: Vec<(i32, i32)> = schedule.steps[14..].iter().map(|s| (s.requested_level, s.delay_level)).collect();
        assert_eq!(levels, [(17, 17), (18, 18), (19, 18), (20, 18), (21, 18), (22, 18)]);
        assert_eq!(DelayLevelTable::default().retry_schedule(0).steps.len(), 0);
    }

    #[test]
    fn units_s_m_h_d_are_parsed_and_trailing_spaces_ignored() {
        let table = DelayLevelTable::parse("1s 2m 3h 4d 0s ").unwrap();
        let levels: Vec<(i32, u64)> = table.levels().collect();
        assert_eq!(levels, [(1, 1_000), (2, 120_000), (3, 10_800_000), (4, 345_600_000), (5, 0)]);
        assert_eq!(DelayLevelTable::parse("+5s").unwrap().delay_ms(1), Some(5_000));
    }

    #[test]
    fn bad_tokens_are_refused_with_their_position_like_a_broker_that_will_not_start() {
        assert_eq!(DelayLevelTable::parse(""), Err(DelayLevelError::NoLevels));
        assert_eq!(DelayLevelTable::parse("   "), Err(DelayLevelError::NoLevels));
        assert_eq!(DelayLevelTable::parse("1s  5s"), Err(DelayLevelError::EmptyToken { level: 2 }));
        assert_eq!(DelayLevelTable::parse(" 1s"), Err(DelayLevelError::EmptyToken { level: 1 }));
        let unit = DelayLevelTable::parse("1s 5S").unwrap_err();
        assert_eq!(unit, DelayLevelError::UnknownUnit { level: 2, token: "5S".to_string() });
        assert_eq!(unit.to_string(), "level 2 \"5S\" must end with a unit s, m, h or d (lower case)");
        assert!(matches!(DelayLevelTable::parse("10"), Err(DelayLevelError::UnknownUnit { .. })));
        assert!(matches!(DelayLevelTable::parse("s"), Err(DelayLevelError::BadNumber { .. })));
        assert!(matches!(DelayLevelTable::parse("1.5m"), Err(DelayLevelError::BadNumber { .. })));
        assert!(matches!(DelayLevelTable::parse("++1s"), Err(DelayLevelError::BadNumber { .. })));
        assert!(matches!(DelayLevelTable::parse("1\u{1F600}"), Err(DelayLevelError::UnknownUnit { .. })));
        assert!(matches!(DelayLevelTable::parse("-1s"), Err(DelayLevelError::NegativeDelay { .. })));
        assert!(matches!(DelayLevelTable::parse("-xs"), Err(DelayLevelError::BadNumber { .. })));
        assert!(matches!(DelayLevelTable::parse("+-1s"), Err(DelayLevelError::BadNumber { .. })));
        assert!(matches!(DelayLevelTable::parse("99999999999999999999s"), Err(DelayLevelError::BadNumber { .. })));
        assert!(matches!(DelayLevelTable::parse("999999999999999d"), Err(DelayLevelError::DelayTooLarge { .. })));
    }

    #[test]
    fn delays_format_largest_unit_first() {
        assert_eq!(format_delay(0), "0s");
        assert_eq!(format_delay(1_000), "1s");
        assert_eq!(format_delay(7_200_000), "2h");
        assert_eq!(format_delay(90_061_001), "1d 1h 1m 1s 1ms");
    }
}
