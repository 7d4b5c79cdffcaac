//! Java semantics that RocketMQ's algorithms depend on, reproduced exactly.
//!
//! RocketMQ computes tag codes, index-file slots, hash selectors and ordering with Java's
//! `String.hashCode()` (over UTF-16 code units, wrapping `i32` arithmetic) and Java's `%`
//! (the sign follows the dividend). Rust differs on both points, so every use goes through here.

/// Java `String.hashCode()`: `s[0]*31^(n-1) + ... + s[n-1]` over UTF-16 code units, wrapping.
pub fn string_hash_code(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |hash, unit| hash.wrapping_mul(31).wrapping_add(i32::from(unit)))
}

/// Java `Math.abs(int)`: `abs(Integer.MIN_VALUE)` stays `Integer.MIN_VALUE`.
pub fn abs_i32(v: i32) -> i32 {
    v.wrapping_abs()
}

/// Java `a % b` for ints (truncated division; the result has the sign of `a`).
/// Rust's `%` on signed integers already truncates; this names the intent at call sites.
pub fn rem_i32(a: i32, b: i32) -> i32 {
    a.wrapping_rem(b)
}

/// Java `String.compareTo`: lexicographic over UTF-16 code units.
pub fn compare_strings(a: &str, b: &str) -> std::cmp::Ordering {
    // For ASCII a byte is its own UTF-16 unit, so bytes compare the same. Topics, broker names
    // and client ids are ASCII in practice, and message queues (BTreeMap keys) compare often.
    if a.is_ascii() && b.is_ascii() {
        return a.as_bytes().cmp(b.as_bytes());
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_code_matches_java_for_ascii_and_negative_results() {
        assert_eq!(string_hash_code(""), 0);
        assert_eq!(string_hash_code("TagA"), 2_598_919);
        assert_eq!(string_hash_code("TagB"), 2_598_920);
        assert_eq!(string_hash_code("order-1"), -1_207_111_310);
        assert_eq!(string_hash_code("TopicTest#KEY1"), -1_656_969_516);
    }

    #[test]
    fn hash_code_uses_utf16_code_units_for_non_bmp_characters() {
        // U+1F600 is the surrogate pair D83D DE00 in UTF-16: 0xD83D * 31 + 0xDE00.
        assert_eq!(string_hash_code("\u{1F600}"), 0xD83D * 31 + 0xDE00);
        assert_eq!(string_hash_code("é"), 0xE9);
    }

    #[test]
    fn abs_of_min_value_stays_negative_as_in_java() {
        assert_eq!(abs_i32(i32::MIN), i32::MIN);
        assert_eq!(abs_i32(-5), 5);
    }

    #[test]
    fn remainder_keeps_the_sign_of_the_dividend() {
        assert_eq!(rem_i32(-7, 4), -3);
        assert_eq!(rem_i32(i32::MIN, 8), 0);
        assert_eq!(rem_i32(-1_207_111_310, 8), -6);
    }

    #[test]
    fn compare_strings_orders_by_utf16_units_not_bytes() {
        // U+FF61 (one UTF-16 unit 0xFF61) sorts after U+1F600 (units D83D..) in Java,
        // while UTF-8 byte order puts it before.
        assert_eq!(compare_strings("\u{FF61}", "\u{1F600}"), std::cmp::Ordering::Greater);
        assert_eq!(compare_strings("a", "b"), std::cmp::Ordering::Less);
        assert_eq!(compare_strings("ab", "a"), std::cmp::Ordering::Greater);
        assert_eq!(compare_strings("Topic", "Topic"), std::cmp::Ordering::Equal);
        assert_eq!(compare_strings("B", "a"), std::cmp::Ordering::Less);
        assert_eq!(compare_strings("a\u{FF61}", "a\u{1F600}"), std::cmp::Ordering::Greater);
    }
}
