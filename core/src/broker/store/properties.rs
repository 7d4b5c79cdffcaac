//! Message properties (`MessageConst`) and their wire/disk form, the properties string
//! (`MessageDecoder.messageProperties2String` / `string2messageProperties`).
//!
//! The string is `name\u{1}value` pairs joined by `\u{2}`. RocketMQ 4.9.1 through 5.1.x drop the
//! trailing `\u{2}` (commit a23df96790, "save 1 byte for each message"); 4.9.0 and 5.2+ keep it.
//! We model 4.9.x, so [`MessageProperties::to_properties_string`] writes no trailing separator, and
//! the decoder accepts both forms (empty segments are skipped, as in Java).
//!
//! Order. RocketMQ keeps properties in a `java.util.HashMap<String, String>` and writes them in its
//! iteration order. That order is not random: for `String` keys it depends only on each key's
//! `hashCode()`, the table capacity, and the insertion order inside a bucket. So instead of
//! inventing an order we keep the insertion history (a `Vec`, re-puts keep their place, like
//! `HashMap.put`) and the capacity the Java table would have, and write in the order Java would:
//! by bucket `(h ^ (h >>> 16)) & (capacity - 1)`, then by insertion within a bucket. Capacity
//! starts at 16 (`new HashMap<>()`, as in `Message` and 4.9's `string2messageProperties`), doubles
//! when the size exceeds 3/4 of it, and also doubles when a bucket reaches 9 keys while the table
//! is smaller than 64 (`treeifyBin` resizes instead of treeifying). Not modelled: tree bins (9+ keys
//! in one bucket of a 64+ table), whose iteration order differs; properties never get there.
//! Record sizes do not depend on the order at all; byte-for-byte dumps do.
//!
//! Keys and values are Rust strings; Java measures them in UTF-16 units but the length fields on
//! disk count UTF-8 bytes, which is what [`MessageProperties::to_properties_string`]'s `len()` gives.

use std::borrow::Cow;

use crate::java::string_hash_code;

pub const PROPERTY_KEYS: &str = "KEYS";
pub const PROPERTY_TAGS: &str = "TAGS";
pub const PROPERTY_WAIT_STORE_MSG_OK: &str = "WAIT";
pub const PROPERTY_DELAY_TIME_LEVEL: &str = "DELAY";
pub const PROPERTY_RETRY_TOPIC: &str = "RETRY_TOPIC";
pub const PROPERTY_REAL_TOPIC: &str = "REAL_TOPIC";
pub const PROPERTY_REAL_QUEUE_ID: &str = "REAL_QID";
pub const PROPERTY_TRANSACTION_PREPARED: &str = "TRAN_MSG";
pub const PROPERTY_PRODUCER_GROUP: &str = "PGROUP";
pub const PROPERTY_MIN_OFFSET: &str = "MIN_OFFSET";
pub const PROPERTY_MAX_OFFSET: &str = "MAX_OFFSET";
pub const PROPERTY_BUYER_ID: &str = "BUYER_ID";
pub const PROPERTY_ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
pub const PROPERTY_TRANSFER_FLAG: &str = "TRANSFER_FLAG";
pub const PROPERTY_CORRECTION_FLAG: &str = "CORRECTION_FLAG";
pub const PROPERTY_MQ2_FLAG: &str = "MQ2_FLAG";
pub const PROPERTY_RECONSUME_TIME: &str = "RECONSUME_TIME";
pub const PROPERTY_MSG_REGION: &str = "MSG_REGION";
pub const PROPERTY_TRACE_SWITCH: &str = "TRACE_ON";
/// The client message id (`MessageClientIDSetter`), what `SendResult.msgId` reports.
pub const PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX: &str = "UNIQ_KEY";
pub const PROPERTY_MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
pub const PROPERTY_CONSUME_START_TIMESTAMP: &str = "CONSUME_START_TIME";
pub const PROPERTY_TRANSACTION_PREPARED_QUEUE_OFFSET: &str = "TRAN_PREPARED_QUEUE_OFFSET";
pub const PROPERTY_TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
pub const PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
pub const PROPERTY_INSTANCE_ID: &str = "INSTANCE_ID";
pub const PROPERTY_CORRELATION_ID: &str = "CORRELATION_ID";
pub const PROPERTY_MESSAGE_REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
pub const PROPERTY_MESSAGE_TTL: &str = "TTL";
pub const PROPERTY_REPLY_MESSAGE_ARRIVE_TIME: &str = "ARRIVE_TIME";
pub const PROPERTY_PUSH_REPLY_TIME: &str = "PUSH_REPLY_TIME";
/// Added by the broker to every message it stores (`SendMessageProcessor`).
pub const PROPERTY_CLUSTER: &str = "CLUSTER";
pub const PROPERTY_MESSAGE_TYPE: &str = "MSG_TYPE";
pub const PROPERTY_INNER_MULTI_DISPATCH: &str = "INNER_MULTI_DISPATCH";
pub const PROPERTY_INNER_MULTI_QUEUE_OFFSET: &str = "INNER_MULTI_QUEUE_OFFSET";
/// Set by the 4.9 producer with `putUserProperty` (no `MessageConst` constant until 5.x).
pub const PROPERTY_TRANSACTION_ID: &str = "__transactionId__";
/// `MessageConst.KEY_SEPARATOR`: KEYS holds several keys separated by one space.
pub const KEY_SEPARATOR: char = ' ';

/// Between a name and its value.
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Between two name/value pairs.
pub const PROPERTY_SEPARATOR: char = '\u{2}';

/// `HashMap`'s default initial capacity, used by `Message` and 4.9's `string2messageProperties`.
pub const JAVA_HASH_MAP_DEFAULT_CAPACITY: u32 = 16;
/// Below this capacity a crowded bucket makes `HashMap` resize rather than build a tree bin.
const JAVA_MIN_TREEIFY_CAPACITY: u32 = 64;
/// A bucket holding this many keys after a put triggers `treeifyBin`.
const JAVA_TREEIFY_BIN_SIZE: usize = 9;

/// The properties of one message, remembering what a Java `HashMap` would need to reproduce its
/// iteration order (see the module comment). Equality is `Map.equals`: the same names with the
/// same values, whatever the history.
#[derive(Clone, Debug)]
pub struct MessageProperties {
    /// Insertion order; a put of an existing name replaces the value in place. Names RocketMQ defines
    /// are borrowed from their constants (see [`interned`]).
    entries: Vec<(Cow<'static, str>, String)>,
    /// The length of the Java table: a power of two, never shrinks.
    java_capacity: u32,
}

impl Default for MessageProperties {
    fn default() -> Self {
        MessageProperties { entries: Vec::new(), java_capacity: JAVA_HASH_MAP_DEFAULT_CAPACITY }
    }
}

impl PartialEq for MessageProperties {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(name, value)| other.get(name) == Some(value))
    }
}

impl Eq for MessageProperties {}

/// `HashMap.hash`: the high half of `hashCode()` folded into the low half.
fn java_spread_hash(name: &str) -> u32 {
    // Property names are ASCII in practice, where a byte is its own UTF-16 unit (and every record
    // encode hashes each name once): skip the UTF-8 decoding then.
    let h = if name.is_ascii() {
        name.bytes().fold(0i32, |hash, byte| hash.wrapping_mul(31).wrapping_add(i32::from(byte)))
    } else {
        string_hash_code(name)
    } as u32;
    h ^ (h >> 16)
}

fn java_bucket(name: &str, capacity: u32) -> u32 {
    java_spread_hash(name) & (capacity - 1)
}

/// The constant for a property name RocketMQ sets on every message (or on many), so that storing it
/// needs no allocation: a message's properties are parsed from their string at every hop (broker
/// store, dispatch, pull, consumer), and copying these names was one allocation in four of a run.
fn interned(name: &str) -> Option<&'static str> {
    Some(match name {
        PROPERTY_KEYS => PROPERTY_KEYS,
        PROPERTY_TAGS => PROPERTY_TAGS,
        PROPERTY_WAIT_STORE_MSG_OK => PROPERTY_WAIT_STORE_MSG_OK,
        PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX => PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
        PROPERTY_CLUSTER => PROPERTY_CLUSTER,
        PROPERTY_MIN_OFFSET => PROPERTY_MIN_OFFSET,
        PROPERTY_MAX_OFFSET => PROPERTY_MAX_OFFSET,
        PROPERTY_CONSUME_START_TIMESTAMP => PROPERTY_CONSUME_START_TIMESTAMP,
        PROPERTY_RETRY_TOPIC => PROPERTY_RETRY_TOPIC,
        PROPERTY_REAL_TOPIC => PROPERTY_REAL_TOPIC,
        PROPERTY_REAL_QUEUE_ID => PROPERTY_REAL_QUEUE_ID,
        PROPERTY_DELAY_TIME_LEVEL => PROPERTY_DELAY_TIME_LEVEL,
        PROPERTY_RECONSUME_TIME => PROPERTY_RECONSUME_TIME,
        PROPERTY_MAX_RECONSUME_TIMES => PROPERTY_MAX_RECONSUME_TIMES,
        PROPERTY_ORIGIN_MESSAGE_ID => PROPERTY_ORIGIN_MESSAGE_ID,
        PROPERTY_TRANSACTION_PREPARED => PROPERTY_TRANSACTION_PREPARED,
        PROPERTY_PRODUCER_GROUP => PROPERTY_PRODUCER_GROUP,
        PROPERTY_TRACE_SWITCH => PROPERTY_TRACE_SWITCH,
        PROPERTY_MSG_REGION => PROPERTY_MSG_REGION,
        _ => return None,
    })
}

/// The segments of a properties string, between `\u{2}` separators. Cut byte by byte: the separators are
/// ASCII, so every cut is a character boundary, and this is several times cheaper than `str::split`'s
/// character search (every message's properties are read a few times on their way).
pub fn segments(text: &str) -> impl DoubleEndedIterator<Item = &str> {
    let bytes = text.as_bytes();
    let separator = PROPERTY_SEPARATOR as u8;
    bytes.split(move |b| *b == separator).map(move |piece| {
        let start = piece.as_ptr() as usize - bytes.as_ptr() as usize;
        &text[start..start + piece.len()]
    })
}

/// A segment's name and value, split at its first `\u{1}`.
pub fn name_value(segment: &str) -> Option<(&str, &str)> {
    let at = segment.bytes().position(|b| b == NAME_VALUE_SEPARATOR as u8)?;
    Some((&segment[..at], &segment[at + 1..]))
}

impl MessageProperties {
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds from pairs in insertion order, as successive `putProperty` calls would.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut properties = Self::new();
        for (name, value) in pairs {
            properties.put(name, value);
        }
        properties
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// `HashMap.put`: replaces in place, or appends and grows the table as Java would.
    pub fn put(&mut self, name: &str, value: &str) {
        if let Some(entry) = self.entries.iter_mut().find(|(n, _)| n == name) {
            entry.1 = value.to_string();
            return;
        }
        let name_owned = interned(name).map_or_else(|| Cow::Owned(name.to_string()), Cow::Borrowed);
        self.entries.push((name_owned, value.to_string()));
        // A bucket cannot hold more keys than the table: skip hashing every name for small maps.
        if self.entries.len() >= JAVA_TREEIFY_BIN_SIZE && self.java_capacity < JAVA_MIN_TREEIFY_CAPACITY {
            let bucket = java_bucket(name, self.java_capacity);
            let crowd = self.entries.iter().filter(|(n, _)| java_bucket(n, self.java_capacity) == bucket).count();
            if crowd >= JAVA_TREEIFY_BIN_SIZE {
                self.java_capacity *= 2;
            }
        }
        // `++size > threshold` with threshold = capacity * 0.75.
        if self.entries.len() as u64 * 4 > u64::from(self.java_capacity) * 3 {
            self.java_capacity *= 2;
        }
    }

    /// `HashMap.remove`: the others keep their order; the table does not shrink.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let index = self.entries.iter().position(|(n, _)| n == name)?;
        Some(self.entries.remove(index).1)
    }

    /// Pairs in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(n, v)| (n.as_ref(), v.as_str()))
    }

    /// Pairs in the order a Java `HashMap` with the same history iterates them.
    pub fn iter_java_order(&self) -> impl Iterator<Item = (&str, &str)> {
        // Each bucket computed once (a hash of the name); a stable sort keeps ties (same bucket) in
        // insertion order, like the bucket's linked list.
        let mut ordered: Vec<(u32, &(Cow<'static, str>, String))> =
            self.entries.iter().map(|entry| (java_bucket(&entry.0, self.java_capacity), entry)).collect();
        ordered.sort_by_key(|(bucket, _)| *bucket);
        ordered.into_iter().map(|(_, (n, v))| (n.as_ref(), v.as_str()))
    }

    /// `messageProperties2String` (4.9.1+): Java iteration order, no trailing separator.
    pub fn to_properties_string(&self) -> String {
        let length: usize = self.entries.iter().map(|(name, value)| name.len() + value.len() + 2).sum();
        let mut out = String::with_capacity(length);
        for (name, value) in self.iter_java_order() {
            if !out.is_empty() {
                out.push(PROPERTY_SEPARATOR);
            }
            out.push_str(name);
            out.push(NAME_VALUE_SEPARATOR);
            out.push_str(value);
        }
        out
    }

    /// `string2messageProperties`: split on `\u{2}`, keep segments with a non-empty name before the
    /// first `\u{1}` and a non-empty value after it; later duplicates overwrite earlier ones.
    pub fn from_properties_string(text: &str) -> Self {
        let mut properties = Self::new();
        // One allocation for the entries, not one per doubling (every stored message is decoded this way).
        properties.entries.reserve(text.bytes().filter(|&b| b == PROPERTY_SEPARATOR as u8).count() + 1);
        for segment in segments(text) {
            if let Some((name, value)) = name_value(segment) {
                if !name.is_empty() && !value.is_empty() {
                    properties.put(name, value);
                }
            }
        }
        properties
    }

    /// One property read straight from a properties string: the value
    /// `from_properties_string(text).get(name)` gives (the last valid segment for `name`), without
    /// building the map. For hot paths that need one property of a message (its UNIQ_KEY).
    pub fn get_from_string<'a>(text: &'a str, name: &str) -> Option<&'a str> {
        if name.is_empty() {
            return None;
        }
        segments(text)
            .rev()
            .filter_map(name_value)
            .find(|(n, value)| *n == name && !value.is_empty())
            .map(|(_, value)| value)
    }

    /// The TAGS property, if set and non-empty.
    pub fn tags(&self) -> Option<&str> {
        self.get(PROPERTY_TAGS).filter(|tags| !tags.is_empty())
    }

    /// The KEYS property split on spaces, empty tokens dropped (`IndexService.buildIndex`).
    pub fn keys(&self) -> Vec<&str> {
        self.get(PROPERTY_KEYS)
            .map(|keys| keys.split(KEY_SEPARATOR).filter(|k| !k.is_empty()).collect())
            .unwrap_or_default()
    }

    /// The client message id (UNIQ_KEY), if any.
    pub fn unique_key(&self) -> Option<&str> {
        self.get(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
    }
}

/// Shows the invisible separators of a properties string, e.g. `TAGS\u0001TagA\u0002KEYS\u0001k`.
pub fn escape_separators(text: &str) -> String {
    text.replace(NAME_VALUE_SEPARATOR, "\\u0001").replace(PROPERTY_SEPARATOR, "\\u0002")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_name_values_cut_where_str_split_cuts_even_around_multibyte_text() {
        let texts = [
            "",
            "\u{2}",
            "a\u{1}b",
            "\u{2}\u{2}x\u{1}\u{2}",
            "KEYS\u{1}订单 42\u{2}TAGS\u{1}标签\u{2}",
            "é\u{1}\u{1}ü\u{2}",
        ];
        for text in texts {
            let ours: Vec<&str> = segments(text).collect();
            let theirs: Vec<&str> = text.split(PROPERTY_SEPARATOR).collect();
            assert_eq!(ours, theirs, "{text:?}");
            let backwards: Vec<&str> = segments(text).rev().collect();
            assert_eq!(backwards, text.rsplit(PROPERTY_SEPARATOR).collect::<Vec<_>>(), "{text:?}");
            for segment in theirs {
                assert_eq!(name_value(segment), segment.split_once(NAME_VALUE_SEPARATOR), "{segment:?}");
            }
        }
    }

    fn names(properties: &MessageProperties) -> Vec<&str> {
        properties.iter_java_order().map(|(name, _)| name).collect()
    }

    #[test]
    fn properties_string_joins_pairs_without_a_trailing_separator() {
        let properties = MessageProperties::from_pairs([("TAGS", "TagA")]);
        assert_eq!(properties.to_properties_string(), "TAGS\u{1}TagA");
        assert_eq!(MessageProperties::new().to_properties_string(), "");
    }

    #[test]
    fn order_matches_java_hash_map_for_five_common_properties() {
        // Pinned with OpenJDK: new HashMap<>(), put TAGS, KEYS, UNIQ_KEY, WAIT, CLUSTER, print keySet().
        let properties = MessageProperties::from_pairs(
            ["TAGS", "KEYS", "UNIQ_KEY", "WAIT", "CLUSTER"].into_iter().map(|name| (name, "v")),
        );
        assert_eq!(names(&properties), ["KEYS", "UNIQ_KEY", "CLUSTER", "WAIT", "TAGS"]);
        assert_eq!(properties.iter().next(), Some(("TAGS", "v")), "insertion order is kept separately");
    }

    #[test]
    fn order_matches_java_after_growing_to_32_and_a_remove_and_re_put() {
        let inserted = [
            "UNIQ_KEY",
            "CLUSTER",
            "WAIT",
            "TAGS",
            "KEYS",
            "DELAY",
            "REAL_TOPIC",
            "REAL_QID",
            "TRAN_MSG",
            "PGROUP",
            "RETRY_TOPIC",
            "ORIGIN_MESSAGE_ID",
            "RECONSUME_TIME",
            "MAX_RECONSUME_TIMES",
        ];
        let mut properties = MessageProperties::from_pairs(inserted.into_iter().map(|name| (name, "v")));
        // Pinned with OpenJDK (14 keys: the table grew from 16 to 32 at the 13th).
        assert_eq!(
            names(&properties),
            [
                "RECONSUME_TIME",
                "TRAN_MSG",
                "MAX_RECONSUME_TIMES",
                "REAL_TOPIC",
                "ORIGIN_MESSAGE_ID",
                "RETRY_TOPIC",
                "KEYS",
                "UNIQ_KEY",
                "CLUSTER",
                "WAIT",
                "DELAY",
                "PGROUP",
                "TAGS",
                "REAL_QID",
            ]
        );
        properties.remove("TAGS");
        properties.remove("WAIT");
        properties.put("WAIT", "x");
        assert_eq!(
            names(&properties),
            [
                "RECONSUME_TIME",
                "TRAN_MSG",
                "MAX_RECONSUME_TIMES",
                "REAL_TOPIC",
                "ORIGIN_MESSAGE_ID",
                "RETRY_TOPIC",
                "KEYS",
                "UNIQ_KEY",
                "CLUSTER",
                "DELAY",
                "PGROUP",
                "WAIT",
                "REAL_QID",
            ]
        );
    }

    #[test]
    fn a_crowded_bucket_in_a_small_table_resizes_like_java_treeify_bin() {
        // Ten keys share bucket 3 of a 16-slot table; Java resizes to 32 at the 9th and to 64 at the
        // 10th (bucket 19 holds 8 again), giving this order (pinned with OpenJDK).
        let inserted = ["p3", "p13", "p24", "q1", "p35", "p46", "q2", "p57", "p68", "p79", "p110", "p121"];
        let properties = MessageProperties::from_pairs(inserted.into_iter().map(|name| (name, "v")));
        assert_eq!(
            names(&properties),
            ["p3", "p13", "p35", "p57", "p79", "p110", "q1", "q2", "p24", "p46", "p68", "p121"]
        );
    }

    #[test]
    fn decoding_skips_empty_names_empty_values_and_segments_without_a_separator() {
        let text = "TAGS\u{1}TagA\u{2}\u{2}\u{1}orphan\u{2}EMPTY\u{1}\u{2}junk\u{2}KEYS\u{1}k1 k2\u{2}";
        let properties = MessageProperties::from_properties_string(text);
        assert_eq!(properties.iter().collect::<Vec<_>>(), [("TAGS", "TagA"), ("KEYS", "k1 k2")]);
    }

    #[test]
    fn a_value_may_contain_the_name_value_separator_after_the_first_one() {
        let properties = MessageProperties::from_properties_string("A\u{1}b\u{1}c");
        assert_eq!(properties.get("A"), Some("b\u{1}c"));
    }

    #[test]
    fn decoding_then_encoding_gives_back_the_same_string() {
        let original = MessageProperties::from_pairs([
            ("UNIQ_KEY", "C0A8000100002A9F0000000040000000"),
            ("TAGS", "TagA"),
            ("KEYS", "order-1 user-7"),
            ("WAIT", "true"),
            ("CLUSTER", "DefaultCluster"),
        ]);
        let text = original.to_properties_string();
        assert_eq!(MessageProperties::from_properties_string(&text).to_properties_string(), text);
    }

    #[test]
    fn keys_split_on_single_spaces_and_drop_empty_tokens() {
        let properties = MessageProperties::from_pairs([("KEYS", " k1  k2 "), ("TAGS", "")]);
        assert_eq!(properties.keys(), ["k1", "k2"]);
        assert_eq!(properties.tags(), None);
    }

    #[test]
    fn put_of_an_existing_name_keeps_its_place() {
        let mut properties = MessageProperties::from_pairs([("A", "1"), ("B", "2")]);
        properties.put("A", "3");
        assert_eq!(properties.iter().collect::<Vec<_>>(), [("A", "3"), ("B", "2")]);
        assert_eq!(properties, MessageProperties::from_pairs([("B", "2"), ("A", "3")]), "equality ignores order");
        assert_ne!(properties, MessageProperties::from_pairs([("A", "3")]));
        assert_eq!(escape_separators("A\u{1}3\u{2}B\u{1}2"), "A\\u00013\\u0002B\\u00012");
    }

    #[test]
    fn one_property_read_from_the_string_is_what_the_parsed_map_holds() {
        let texts = [
            "",
            "UNIQ_KEY\u{1}A1",
            "TAGS\u{1}t\u{2}UNIQ_KEY\u{1}A1\u{2}KEYS\u{1}k",
            // Later duplicates win; empty values and names are skipped; a value may hold \u{1}.
            "UNIQ_KEY\u{1}first\u{2}UNIQ_KEY\u{1}second\u{2}UNIQ_KEY\u{1}",
            "\u{2}\u{2}UNIQ_KEY\u{1}a\u{1}b\u{2}\u{1}x\u{2}",
            "UNIQ_KEYX\u{1}no\u{2}XUNIQ_KEY\u{1}no\u{2}UNIQ_KEY",
        ];
        for text in texts {
            for name in [PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, PROPERTY_TAGS, ""] {
                let parsed = MessageProperties::from_properties_string(text);
                assert_eq!(MessageProperties::get_from_string(text, name), parsed.get(name), "{text:?} {name}");
            }
        }
    }
    /// Property test (native only: proptest does not build for wasm32).
    #[cfg(not(target_arch = "wasm32"))]
    mod model {
        use super::*;
        use proptest::prelude::*;

        /// RocketMQ's names (stored as constants), user names (stored in the text), and a non-ASCII one.
        const NAMES: [&str; 8] = ["TAGS", "KEYS", "UNIQ_KEY", "WAIT", "order", "region", "订单", "x"];

        #[derive(Clone, Debug)]
        enum Op {
            Put(usize, String),
            Remove(usize),
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                3 => (0..NAMES.len(), "[a-z0-9 é中]{1,6}").prop_map(|(n, v)| Op::Put(n, v)),
                1 => (0..NAMES.len()).prop_map(Op::Remove),
            ]
        }

        proptest! {
            #[test]
            fn properties_behave_like_a_list_of_pairs_through_puts_removes_and_a_round_trip_through_their_string(
                ops in proptest::collection::vec(op(), 0..40)
            ) {
                let mut properties = MessageProperties::new();
                let mut model: Vec<(&str, String)> = Vec::new();
                for op in ops {
                    match op {
                        Op::Put(n, value) => {
                            properties.put(NAMES[n], &value);
                            match model.iter_mut().find(|(name, _)| *name == NAMES[n]) {
                                Some(entry) => entry.1 = value,
                                None => model.push((NAMES[n], value)),
                            }
                        }
                        Op::Remove(n) => {
                            let expected = model.iter().position(|(name, _)| *name == NAMES[n]).map(|i| model.remove(i).1);
                            prop_assert_eq!(properties.remove(NAMES[n]), expected);
                        }
                    }
                    let pairs: Vec<(&str, &str)> = model.iter().map(|(n, v)| (*n, v.as_str())).collect();
                    prop_assert_eq!(properties.iter().collect::<Vec<_>>(), pairs);
                    for name in NAMES {
                        prop_assert_eq!(properties.get(name), model.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str()));
                    }
                }
                let text = properties.to_properties_string();
                let parsed = MessageProperties::from_properties_string(&text);
                prop_assert_eq!(&parsed, &properties);
                prop_assert_eq!(parsed.iter().collect::<Vec<_>>(), properties.iter_java_order().collect::<Vec<_>>());
                prop_assert_eq!(parsed.to_properties_string(), text);
            }
        }
    }
}
