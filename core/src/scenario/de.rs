//! A recovering serde deserializer over the located document: every problem at once, each at its place.
//!
//! serde stops at the first error, and a scenario author wants them all. So the model types keep their
//! ordinary `Deserialize` derives (and everyone who adds a key to a config struct gets validation for
//! free), and this deserializer makes them report everything:
//!
//! - **Unknown keys** are found where serde states the keys a struct knows (`deserialize_struct` gets
//!   its `FIELDS`): each is reported with the closest known key as a suggestion and left out, so the
//!   struct never sees it and the pass goes on.
//! - **Any other error** (a wrong type, an out-of-range number, an unknown enum value, a missing key)
//!   ends the pass. The error is located at the innermost value that saw it, reported, and that value
//!   is removed from the tree; the next pass starts over without it. A required key removed this way
//!   makes its table fail next, silently, and the table is removed in turn.
//!
//! Errors raised inside serde's own buffering (internally tagged enums such as an action's `do`, or
//! `flatten`) carry no location; they are located at the table being read, refined to the key they
//! name (unknown and missing keys) or to the entry whose value they quote (unknown variants, invalid
//! values). Error kinds are kept structurally by overriding `serde::de::Error`'s constructors, so the
//! lists of expected keys and variants serde passes are available for suggestions.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;

use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

use crate::scenario::document::{Entry, Kind, Located, Node};
use crate::scenario::suggest::did_you_mean;

/// The id of the document's root table.
pub(crate) const ROOT: u32 = u32::MAX;
/// Passes before giving up: each failing pass removes one value.
const MAX_PASSES: u32 = 100;

#[derive(Debug)]
pub(crate) struct DeError {
    kind: ErrorKind,
    message: String,
    node: Option<u32>,
    span: Option<Range<usize>>,
}

#[derive(Debug)]
enum ErrorKind {
    Custom,
    UnknownField { field: String, expected: &'static [&'static str] },
    UnknownVariant { variant: String },
    MissingField(&'static str),
    Invalid(Found),
}

/// The value an invalid-type/value error quotes, to find it among a table's entries.
#[derive(Debug)]
enum Found {
    Str(String),
    Integer(i128),
    Bool(bool),
    Other,
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl DeError {
    fn new(kind: ErrorKind, message: String) -> DeError {
        DeError { kind, message, node: None, span: None }
    }
}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError::new(ErrorKind::Custom, msg.to_string())
    }

    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        let message = format!("expected {exp}, found {}", describe(&unexp));
        let hint = match unexp {
            de::Unexpected::Signed(_) | de::Unexpected::Unsigned(_) if exp.to_string().contains("string") => {
                " (durations and names are strings: write it in quotes, e.g. \"30s\")"
            }
            _ => "",
        };
        DeError::new(ErrorKind::Invalid(found(&unexp)), format!("{message}{hint}"))
    }

    fn invalid_value(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        DeError::new(ErrorKind::Invalid(found(&unexp)), format!("{} is out of range: expected {exp}", describe(&unexp)))
    }

    fn invalid_length(len: usize, exp: &dyn de::Expected) -> Self {
        DeError::new(ErrorKind::Custom, format!("{len} elements, expected {exp}"))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let message = format!("unknown value `{variant}`{}", suggestion(variant, expected, "values"));
        DeError::new(ErrorKind::UnknownVariant { variant: variant.to_string() }, message)
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let message = format!("unknown key `{field}`{}", suggestion(field, expected, "keys"));
        DeError::new(ErrorKind::UnknownField { field: field.to_string(), expected }, message)
    }

    fn missing_field(field: &'static str) -> Self {
        DeError::new(ErrorKind::MissingField(field), format!("missing key `{field}`"))
    }

    fn duplicate_field(field: &'static str) -> Self {
        DeError::new(ErrorKind::Custom, format!("key `{field}` is given twice"))
    }
}

fn describe(unexp: &de::Unexpected<'_>) -> String {
    match unexp {
        de::Unexpected::Str(s) => format!("string \"{s}\""),
        de::Unexpected::Signed(i) => format!("integer {i}"),
        de::Unexpected::Unsigned(u) => format!("integer {u}"),
        de::Unexpected::Float(f) => format!("float {f}"),
        de::Unexpected::Bool(b) => format!("boolean {b}"),
        de::Unexpected::Seq => "an array".into(),
        de::Unexpected::Map => "a table".into(),
        other => other.to_string(),
    }
}

fn found(unexp: &de::Unexpected<'_>) -> Found {
    match unexp {
        de::Unexpected::Str(s) => Found::Str(s.to_string()),
        de::Unexpected::Signed(i) => Found::Integer(i128::from(*i)),
        de::Unexpected::Unsigned(u) => Found::Integer(i128::from(*u)),
        de::Unexpected::Bool(b) => Found::Bool(*b),
        _ => Found::Other,
    }
}

/// "; did you mean `x`?" or the list of what is allowed.
fn suggestion(given: &str, expected: &[&str], what: &str) -> String {
    if let Some(best) = did_you_mean(given, expected.iter().copied()) {
        return format!("; did you mean `{best}`?");
    }
    match expected.len() {
        0 => format!("; no {what} are allowed here"),
        1..=16 => {
            format!("; expected one of {}", expected.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", "))
        }
        n => format!("; none of the {n} known {what} is close (see scenarios/README.md)"),
    }
}

/// What one pass collects besides its result.
struct Pass {
    problems: Vec<(u32, Located)>,
    removals: Vec<u32>,
    /// (table, key) the author probably meant by an unknown key: a "missing key" error for it is an echo.
    meant: Vec<(u32, String)>,
    /// Every key of every table read (the `FIELDS` serde passes), for the documentation check.
    keys: BTreeSet<&'static str>,
}

/// The outcome of deserializing a document with recovery.
pub(crate) struct Recovered<T> {
    /// The value, when some pass succeeded (possibly after leaving out bad keys and values).
    pub value: Option<T>,
    /// Every problem, with the node it is in (for the path in the message).
    pub problems: Vec<(u32, Located)>,
    /// The tree the value was read from (bad values removed); spans are those of the original text.
    pub tree: Node,
    /// Every key the tables read know (not only those present): what the format accepts there.
    pub keys: BTreeSet<&'static str>,
}

/// Deserialize `T` from `root`, reporting every problem.
pub(crate) fn deserialize<T: DeserializeOwned>(root: Node) -> Recovered<T> {
    let mut tree = root;
    let mut problems = Vec::new();
    let mut removed_keys: BTreeSet<(u32, String)> = BTreeSet::new();
    let mut keys = BTreeSet::new();
    for _ in 0..MAX_PASSES {
        let pass =
            RefCell::new(Pass { problems: Vec::new(), removals: Vec::new(), meant: Vec::new(), keys: BTreeSet::new() });
        let result = T::deserialize(De { node: &tree, pass: &pass });
        let pass = pass.into_inner();
        problems.extend(pass.problems);
        keys.extend(pass.keys);
        removed_keys.extend(pass.meant);
        for id in pass.removals {
            if let Some(removed) = tree.remove(id) {
                removed_keys.extend(removed.key.map(|k| (removed.table, k)));
            }
        }
        let error = match result {
            Ok(value) => return Recovered { value: Some(value), problems, tree, keys },
            Err(error) => error,
        };
        let node = error.node.unwrap_or(ROOT);
        let span = error.span.clone().unwrap_or(0..0);
        let message = error.message.clone();
        let echo =
            matches!(&error.kind, ErrorKind::MissingField(field) if removed_keys.contains(&(node, field.to_string())));
        if !echo {
            problems.push((node, Located { span, message }));
        }
        if node == ROOT {
            return Recovered { value: None, problems, tree, keys };
        }
        match tree.remove(node) {
            Some(removed) => {
                if let ErrorKind::UnknownField { field, expected } = &error.kind {
                    if let Some(meant) = did_you_mean(field, expected.iter().copied()) {
                        removed_keys.insert((removed.table, meant.to_string()));
                    }
                }
                removed_keys.extend(removed.key.map(|k| (removed.table, k)));
            }
            None => return Recovered { value: None, problems, tree, keys },
        }
    }
    problems.push((ROOT, Located { span: 0..0, message: format!("more than {MAX_PASSES} problems; fix these first") }));
    Recovered { value: None, problems, tree, keys }
}

/// A deserializer for one node of the document.
#[derive(Clone, Copy)]
struct De<'a> {
    node: &'a Node,
    pass: &'a RefCell<Pass>,
}

impl<'a> De<'a> {
    fn at(&self, node: &'a Node) -> De<'a> {
        De { node, pass: self.pass }
    }

    /// Give an error without a location this node's.
    fn locate(&self, mut error: DeError) -> DeError {
        if error.node.is_none() {
            error.node = Some(self.node.id);
            error.span = Some(self.node.span.clone());
        }
        error
    }

    /// Give an error without a location the entry of this table it is about, else the table.
    fn locate_in_table(&self, mut error: DeError, entries: &'a [Entry]) -> DeError {
        if error.node.is_some() {
            return error;
        }
        let entry = match &error.kind {
            ErrorKind::UnknownField { field, .. } => entries.iter().find(|e| &e.key == field).map(|e| (e, true)),
            ErrorKind::UnknownVariant { variant } => {
                entries.iter().find(|e| matches!(&e.value.kind, Kind::Str(s) if s == variant)).map(|e| (e, false))
            }
            ErrorKind::Invalid(found) => entries.iter().find(|e| matches_found(&e.value, found)).map(|e| (e, false)),
            _ => None,
        };
        match entry {
            Some((entry, at_key)) => {
                error.node = Some(entry.value.id);
                error.span = Some(if at_key { entry.key_span.clone() } else { entry.value.span.clone() });
                if !at_key && !matches!(error.kind, ErrorKind::UnknownField { .. }) {
                    error.message = format!("`{}`: {}", entry.key, error.message);
                }
                error
            }
            None => self.locate(error),
        }
    }

    /// Locate an error that came out of deserializing this node (serde may raise it after our own
    /// methods returned, e.g. when an internally tagged enum reads its buffered content).
    fn locate_any(&self, error: DeError) -> DeError {
        match &self.node.kind {
            Kind::Table(entries) => self.locate_in_table(error, entries),
            _ => self.locate(error),
        }
    }

    fn fail(&self, message: String) -> DeError {
        self.locate(DeError::new(ErrorKind::Custom, message))
    }

    fn wrong_type(&self, expected: &str) -> DeError {
        self.fail(format!("expected {expected}, found {}", self.node.type_name()))
    }
}

fn matches_found(node: &Node, found: &Found) -> bool {
    match (&node.kind, found) {
        (Kind::Str(s), Found::Str(f)) => s == f,
        (Kind::Integer(i), Found::Integer(f)) => i128::from(*i) == *f,
        (Kind::Boolean(b), Found::Bool(f)) => b == f,
        _ => false,
    }
}

impl<'de, 'a> de::Deserializer<'de> for De<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match &self.node.kind {
            Kind::Str(s) => visitor.visit_str(s),
            Kind::Integer(i) => visitor.visit_i64(*i),
            Kind::Float(f) => visitor.visit_f64(*f),
            Kind::Boolean(b) => visitor.visit_bool(*b),
            Kind::Datetime(d) => {
                return Err(self.fail(format!(
                    "`{d}` is a TOML datetime; scenarios count virtual time from the start: write e.g. \"30s\""
                )))
            }
            Kind::Null => {
                return Err(self.fail("`null` is not a value here: give one or leave the key out".to_string()))
            }
            Kind::Array(items) => visitor.visit_seq(Seq { de: self, items: items.iter() }),
            Kind::Table(entries) => {
                let entries: Vec<&Entry> = entries.iter().collect();
                return visitor
                    .visit_map(Map { de: self, entries: entries.into_iter(), value: None })
                    .map_err(|e| self.locate_in_table(e, self.node.entries().unwrap_or_default()));
            }
        };
        result.map_err(|e| self.locate(e))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self).map_err(|e| self.locate(e))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self).map_err(|e| self.locate(e))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let Kind::Table(entries) = &self.node.kind else { return Err(self.wrong_type("a table")) };
        self.pass.borrow_mut().keys.extend(fields.iter().copied());
        let mut known = Vec::with_capacity(entries.len());
        for entry in entries {
            if fields.contains(&entry.key.as_str()) {
                known.push(entry);
            } else {
                let message = format!("unknown key `{}`{}", entry.key, suggestion(&entry.key, fields, "keys"));
                let mut pass = self.pass.borrow_mut();
                pass.problems.push((self.node.id, Located { span: entry.key_span.clone(), message }));
                pass.removals.push(entry.value.id);
                if let Some(meant) = did_you_mean(&entry.key, fields.iter().copied()) {
                    pass.meant.push((self.node.id, meant.to_string()));
                }
            }
        }
        visitor
            .visit_map(Map { de: self, entries: known.into_iter(), value: None })
            .map_err(|e| self.locate_in_table(e, entries))
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            Kind::Table(_) => self.deserialize_any(visitor),
            _ => Err(self.wrong_type("a table")),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            Kind::Array(_) => self.deserialize_any(visitor),
            _ => Err(self.wrong_type("an array")),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let result = match &self.node.kind {
            Kind::Str(s) => visitor.visit_enum(Enum { de: self, variant: s, value: None }),
            Kind::Table(entries) if entries.len() == 1 => {
                visitor.visit_enum(Enum { de: self, variant: &entries[0].key, value: Some(&entries[0].value) })
            }
            _ => return Err(self.wrong_type("a string (one of the allowed values)")),
        };
        result.map_err(|e| self.locate(e))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct tuple tuple_struct identifier
    }
}

struct Seq<'a> {
    de: De<'a>,
    items: std::slice::Iter<'a, Node>,
}

impl<'de, 'a> de::SeqAccess<'de> for Seq<'a> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            Some(node) => {
                let de = self.de.at(node);
                seed.deserialize(de).map(Some).map_err(|e| de.locate_any(e))
            }
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Map<'a> {
    de: De<'a>,
    entries: std::vec::IntoIter<&'a Entry>,
    value: Option<&'a Entry>,
}

impl<'de, 'a> de::MapAccess<'de> for Map<'a> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        let Some(entry) = self.entries.next() else { return Ok(None) };
        self.value = Some(entry);
        let key: StrDeserializer<'_, DeError> = entry.key.as_str().into_deserializer();
        seed.deserialize(key).map(Some).map_err(|mut e| {
            if e.node.is_none() {
                e.node = Some(entry.value.id);
                e.span = Some(entry.key_span.clone());
            }
            e
        })
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let entry = self.value.take().expect("serde asks for a value after its key");
        let de = self.de.at(&entry.value);
        seed.deserialize(de).map_err(|e| de.locate_any(e))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

struct Enum<'a> {
    de: De<'a>,
    variant: &'a str,
    value: Option<&'a Node>,
}

impl<'de, 'a> de::EnumAccess<'de> for Enum<'a> {
    type Error = DeError;
    type Variant = Variant<'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Variant<'a>), DeError> {
        let name: StrDeserializer<'_, DeError> = self.variant.into_deserializer();
        let variant = seed.deserialize(name)?;
        Ok((variant, Variant { de: self.de, value: self.value }))
    }
}

struct Variant<'a> {
    de: De<'a>,
    value: Option<&'a Node>,
}

impl<'de, 'a> de::VariantAccess<'de> for Variant<'a> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        match self.value {
            None => Ok(()),
            Some(node) => Err(self.de.at(node).fail("this value takes no settings; write it as a plain string".into())),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        match self.value {
            Some(node) => seed.deserialize(self.de.at(node)),
            None => Err(self.de.fail("this value needs settings: write it as a table `{ name = ... }`".into())),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Some(node) => de::Deserializer::deserialize_seq(self.de.at(node), visitor),
            None => Err(self.de.fail("this value needs an array of settings".into())),
        }
    }

    fn struct_variant<V: Visitor<'de>>(self, fields: &'static [&'static str], visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Some(node) => de::Deserializer::deserialize_struct(self.de.at(node), "", fields, visitor),
            None => Err(self.de.fail("this value needs settings: write it as a table".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::document::parse;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        name: String,
        #[serde(default)]
        count: u32,
        inner: Inner,
        #[serde(default)]
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase", deny_unknown_fields, default)]
    struct Inner {
        flush_disk_type: Flush,
        retry_times: u32,
    }

    impl Default for Inner {
        fn default() -> Self {
            Inner { flush_disk_type: Flush::AsyncFlush, retry_times: 2 }
        }
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    enum Flush {
        SyncFlush,
        AsyncFlush,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
    enum Item {
        Crash { node: String },
        HealAll,
    }

    fn problems(text: &str) -> Vec<String> {
        let recovered: Recovered<Outer> = deserialize(parse(text).unwrap());
        recovered.problems.into_iter().map(|(_, p)| format!("{}@{}", p.message, &text[p.span])).collect()
    }

    #[test]
    fn every_problem_is_reported_in_one_go_with_suggestions() {
        let text = r#"
name = "x"
count = -3
[inner]
flushDiskTyp = "SYNC_FLUSH"
retryTimes = "two"
[[items]]
do = "crash"
nod = "a"
[[items]]
do = "heal_al"
"#;
        let found = problems(text);
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("unknown key `flushDiskTyp`; did you mean `flushDiskType`?@flushDiskTyp")),
            "{found:?}"
        );
        assert!(found.iter().any(|p| p.contains("integer -3 is out of range") && p.ends_with("@-3")), "{found:?}");
        assert!(
            found.iter().any(|p| p.contains("expected u32, found string \"two\"") && p.ends_with("@\"two\"")),
            "{found:?}"
        );
        assert!(found.iter().any(|p| p.starts_with("unknown key `nod`; did you mean `node`?@nod")), "{found:?}");
        assert!(found.iter().any(|p| p.contains("unknown value `heal_al`; did you mean `heal_all`?")), "{found:?}");
        assert_eq!(found.len(), 5, "{found:?}");
    }

    #[test]
    fn a_missing_required_key_is_reported_once() {
        let found = problems("count = 1\n[inner]\nretryTimes = 1\n");
        assert_eq!(found, vec!["missing key `name`@count = 1\n[inner]\nretryTimes = 1\n".to_string()]);
    }

    #[test]
    fn a_bad_required_value_does_not_also_report_it_missing() {
        let text = "name = 5\n[inner]\n";
        let found = problems(text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("expected a string, found integer 5"), "{found:?}");
    }

    #[test]
    fn a_clean_document_deserializes() {
        let recovered: Recovered<Outer> = deserialize(
            parse("name = \"x\"\n[inner]\nflushDiskType = \"SYNC_FLUSH\"\n[[items]]\ndo = \"heal_all\"\n").unwrap(),
        );
        assert!(recovered.problems.is_empty());
        let value = recovered.value.unwrap();
        assert_eq!(value.inner.flush_disk_type, Flush::SyncFlush);
        assert_eq!(value.items, vec![Item::HealAll]);
    }
}
