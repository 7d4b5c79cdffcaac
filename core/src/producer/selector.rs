//! The `MessageQueueSelector` implementations shipped with RocketMQ (`client/.../producer/selector/`), used by
//! orderly sends (`send(msg, selector, arg)`): the application's `arg` (usually an order id) picks one queue of
//! the topic's publish list, so all messages with the same arg land in the same queue, in order.
//!
//! * `SelectMessageQueueByHash`: `index = arg.hashCode() % size`, made non-negative with `Math.abs`. The hash is
//!   Java's `hashCode()` of the boxed argument: `String` over UTF-16 units, `Integer` is the value itself, `Long` is
//!   `(int) (v ^ (v >>> 32))`. Java's `%` keeps the dividend's sign, so `Integer.MIN_VALUE` is no trap here:
//!   `MIN_VALUE % size` lies in `(-size, 0]` and its `abs` is exact.
//! * `SelectMessageQueueByRandom`: `Random(currentTimeMillis).nextInt(size)` in Java. The simulator cannot use
//!   the wall clock, so the caller passes a draw from its own seeded stream and the index is `draw % size`
//!   (not `Random.nextInt`'s rejection sampling, whose seed is unknowable anyway; the bias of `%` on a `u32` draw
//!   for a few dozen queues is below one in ten million).
//! * `SelectMessageQueueByMachineRoom`: a stub in RocketMQ: it stores `consumeridcs` and **always returns null**,
//!   which makes `sendSelectImpl` fail with "select message queue return null.". Reproduced as `None`.
//!
//! Invariant: a returned queue is always an element of the given list; an empty list selects nothing (Java would
//! throw `ArithmeticException` for hash and `IllegalArgumentException` for random).

use std::fmt;

use crate::java;
use crate::message_queue::MessageQueue;

/// The boxed `Object arg` of `send(msg, selector, arg)`, restricted to the types whose `hashCode()` we reproduce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SelectorArg {
    /// `java.lang.String`.
    String(String),
    /// `java.lang.Integer`.
    Integer(i32),
    /// `java.lang.Long`.
    Long(i64),
}

impl SelectorArg {
    /// Java `arg.hashCode()`.
    pub fn java_hash_code(&self) -> i32 {
        match self {
            SelectorArg::String(text) => java::string_hash_code(text),
            SelectorArg::Integer(value) => *value,
            // Long.hashCode: fold the high word into the low one with an unsigned shift, keep the low 32 bits.
            SelectorArg::Long(value) => {
                let bits = *value as u64;
                (bits ^ (bits >> 32)) as u32 as i32
            }
        }
    }
}

impl fmt::Display for SelectorArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectorArg::String(text) => write!(f, "String \"{text}\""),
            SelectorArg::Integer(value) => write!(f, "Integer {value}"),
            SelectorArg::Long(value) => write!(f, "Long {value}L"),
        }
    }
}

/// Every step of `SelectMessageQueueByHash.select`, so explainers can show the arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashSelection {
    /// `arg.hashCode()`.
    pub hash_code: i32,
    /// `hashCode % size` with Java's sign rule.
    pub remainder: i32,
    /// `remainder`, or `Math.abs(remainder)` when it is negative: the queue index.
    pub index: i32,
}

/// The arithmetic of `SelectMessageQueueByHash` for a queue list of `queue_count` entries; `None` when the count
/// is 0 (Java divides by zero) or exceeds `Integer.MAX_VALUE` (no Java list is that long).
pub fn hash_selection(hash_code: i32, queue_count: u32) -> Option<HashSelection> {
    let size = i32::try_from(queue_count).ok().filter(|size| *size > 0)?;
    let remainder = java::rem_i32(hash_code, size);
    // Math.abs only on negatives, as RocketMQ writes it; |remainder| < size, so abs cannot overflow.
    let index = if remainder < 0 { java::abs_i32(remainder) } else { remainder };
    Some(HashSelection { hash_code, remainder, index })
}

/// Index `SelectMessageQueueByRandom` would pick given a uniform draw from the caller's seeded stream.
pub fn random_index(draw: u32, queue_count: u32) -> Option<u32> {
    draw.checked_rem(queue_count)
}

/// The selectors RocketMQ ships, by class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageQueueSelector {
    /// `SelectMessageQueueByHash`.
    ByHash,
    /// `SelectMessageQueueByRandom`.
    ByRandom,
    /// `SelectMessageQueueByMachineRoom` (returns null whatever it is given).
    ByMachineRoom,
}

impl MessageQueueSelector {
    /// `select(mqs, msg, arg)`; `random_draw` is used only by `ByRandom`. `None` is Java's null (or exception).
    pub fn select<'a>(&self, mqs: &'a [MessageQueue], arg: &SelectorArg, random_draw: u32) -> Option<&'a MessageQueue> {
        match self {
            MessageQueueSelector::ByHash => select_by_hash(mqs, arg),
            MessageQueueSelector::ByRandom => select_by_random(mqs, random_draw),
            MessageQueueSelector::ByMachineRoom => select_by_machine_room(mqs),
        }
    }
}

/// `SelectMessageQueueByHash.select`.
pub fn select_by_hash<'a>(mqs: &'a [MessageQueue], arg: &SelectorArg) -> Option<&'a MessageQueue> {
    let selection = hash_selection(arg.java_hash_code(), u32::try_from(mqs.len()).ok()?)?;
    mqs.get(usize::try_from(selection.index).ok()?)
}

/// `SelectMessageQueueByRandom.select`, with the randomness supplied by the caller.
pub fn select_by_random(mqs: &[MessageQueue], random_draw: u32) -> Option<&MessageQueue> {
    let index = random_index(random_draw, u32::try_from(mqs.len()).ok()?)?;
    mqs.get(usize::try_from(index).ok()?)
}

/// `SelectMessageQueueByMachineRoom.select`: RocketMQ's implementation is an empty stub returning null.
pub fn select_by_machine_room(_mqs: &[MessageQueue]) -> Option<&MessageQueue> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(text: &str) -> SelectorArg {
        SelectorArg::String(text.to_string())
    }

    fn index_of(arg: &SelectorArg, queue_count: u32) -> i32 {
        hash_selection(arg.java_hash_code(), queue_count).unwrap().index
    }

    #[test]
    fn hash_selector_matches_the_spec_for_order_1() {
        // Spec §13 item 7: "order-1".hashCode() = -1207111310; -1207111310 % 8 = -6 → 6; % 4 = -2 → 2.
        let arg = string("order-1");
        assert_eq!(arg.java_hash_code(), -1_207_111_310);
        assert_eq!(
            hash_selection(arg.java_hash_code(), 8),
            Some(HashSelection { hash_code: -1_207_111_310, remainder: -6, index: 6 })
        );
        assert_eq!(index_of(&arg, 4), 2);
    }

    #[test]
    fn hash_selector_uses_an_integer_as_its_own_hash_code() {
        // Spec §13 item 7: Integer -7 with 4 queues: -7 % 4 = -3 → 3.
        assert_eq!(SelectorArg::Integer(-7).java_hash_code(), -7);
        assert_eq!(index_of(&SelectorArg::Integer(-7), 4), 3);
        assert_eq!(index_of(&SelectorArg::Integer(9), 4), 1);
    }

    #[test]
    fn hash_selector_hashes_a_long_like_java_long_hash_code() {
        // (int) (v ^ (v >>> 32)) for v = -5_000_000_000, computed independently in Python.
        assert_eq!(SelectorArg::Long(-5_000_000_000).java_hash_code(), 705_032_702);
        assert_eq!(SelectorArg::Long(42).java_hash_code(), 42);
        assert_eq!(SelectorArg::Long(-1).java_hash_code(), 0);
    }

    #[test]
    fn hash_selector_hashes_non_bmp_characters_as_surrogate_pairs() {
        // Expected values from Python over UTF-16-BE code units.
        let arg = string("order-\u{1F600}");
        assert_eq!(arg.java_hash_code(), 1_236_026_434);
        assert_eq!(index_of(&arg, 8), 2);
        assert_eq!(index_of(&arg, 7), 6);
        let arg = string("\u{1F600}order");
        assert_eq!(arg.java_hash_code(), -1_224_319_029);
        assert_eq!(hash_selection(arg.java_hash_code(), 8).unwrap().remainder, -5);
        assert_eq!(index_of(&arg, 8), 5);
        assert_eq!(index_of(&string("订单-\u{1D11E}-42"), 7), 0);
    }

    #[test]
    fn hash_selector_handles_an_arg_hashing_to_integer_min_value() {
        // "polygenelubricants".hashCode() == Integer.MIN_VALUE, the classic example.
        let arg = string("polygenelubricants");
        assert_eq!(arg.java_hash_code(), i32::MIN);
        // MIN_VALUE % 8 = 0; MIN_VALUE % 3 = -2 → abs 2; MIN_VALUE % 7 = -2 → 2.
        assert_eq!(index_of(&arg, 8), 0);
        assert_eq!(hash_selection(i32::MIN, 3), Some(HashSelection { hash_code: i32::MIN, remainder: -2, index: 2 }));
        assert_eq!(index_of(&arg, 7), 2);
        assert_eq!(index_of(&SelectorArg::Integer(i32::MIN), 1), 0);
    }

    #[test]
    fn hash_selector_picks_the_queue_at_the_index_of_the_publish_list() {
        let mqs: Vec<MessageQueue> = (0..8).map(|id| MessageQueue::new("T", "broker-a", id)).collect();
        assert_eq!(select_by_hash(&mqs, &string("order-1")), Some(&mqs[6]));
        assert_eq!(MessageQueueSelector::ByHash.select(&mqs[..4], &SelectorArg::Integer(-7), 0), Some(&mqs[3]));
        assert_eq!(select_by_hash(&[], &string("order-1")), None);
    }

    #[test]
    fn zero_or_oversized_queue_counts_select_nothing() {
        assert_eq!(hash_selection(5, 0), None);
        assert_eq!(hash_selection(5, u32::MAX), None);
        assert_eq!(random_index(5, 0), None);
    }

    #[test]
    fn random_selector_reduces_the_callers_draw_modulo_the_queue_count() {
        let mqs: Vec<MessageQueue> = (0..4).map(|id| MessageQueue::new("T", "broker-a", id)).collect();
        assert_eq!(select_by_random(&mqs, 11), Some(&mqs[3]));
        assert_eq!(MessageQueueSelector::ByRandom.select(&mqs, &string("ignored"), u32::MAX), Some(&mqs[3]));
        assert_eq!(select_by_random(&[], 11), None);
    }

    /// `String.hashCode` computed independently: the polynomial over UTF-16 units in `i64`, reduced mod 2^32
    /// at the end, read as a two's-complement int.
    #[cfg(not(target_arch = "wasm32"))]
    fn reference_hash_code(text: &str) -> i32 {
        let mut hash: i64 = 0;
        for unit in text.encode_utf16() {
            hash = (hash * 31 + i64::from(unit)).rem_euclid(1 << 32);
        }
        hash as u32 as i32
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        #[test]
        fn hash_selection_follows_java_for_any_unicode_string(text in "\\PC{0,40}", queues in 1u32..=1024) {
            let arg = string(&text);
            proptest::prop_assert_eq!(arg.java_hash_code(), reference_hash_code(&text));
            let selection = hash_selection(arg.java_hash_code(), queues).unwrap();
            // Java: v = h % n keeps h's sign; a negative v becomes -v (never |h| mod n, never Euclidean).
            let expected = {
                let v = i64::from(arg.java_hash_code()) % i64::from(queues);
                if v < 0 { -v } else { v }
            };
            proptest::prop_assert_eq!(i64::from(selection.index), expected);
            proptest::prop_assert!((0..queues as i32).contains(&selection.index));
        }
    }

    #[test]
    fn machine_room_selector_returns_null_like_rocketmqs_stub() {
        let mqs = vec![MessageQueue::new("T", "broker-a", 0)];
        assert_eq!(MessageQueueSelector::ByMachineRoom.select(&mqs, &string("x"), 0), None);
    }
}
