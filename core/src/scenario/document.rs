//! A scenario file as a tree of located values: every table, key and value keeps the byte range it
//! came from, so that each problem found later can be reported at its line and column.
//!
//! The TOML syntax is read by the `toml` crate's recovering parser (all syntax errors at once); this
//! module turns its borrowed, spanned tree into an owned one whose nodes have ids, so the recovering
//! deserializer (`de.rs`) can remove a bad value and try again.

use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// One value of the document.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    /// Unique within a document (pre-order).
    pub id: u32,
    pub span: Range<usize>,
    pub kind: Kind,
}

#[derive(Clone, Debug)]
pub(crate) enum Kind {
    Str(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
    /// Datetimes have no use in scenarios; kept as text to be refused with a location.
    Datetime(String),
    /// JSON's null (a share link's action): TOML has none; refused with its path.
    Null,
    Array(Vec<Node>),
    Table(Vec<Entry>),
}

/// A key of a table and its value.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub key: String,
    pub key_span: Range<usize>,
    pub value: Node,
}

/// A located problem, before it is turned into a `ScenarioError` (which has line and column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Located {
    pub span: Range<usize>,
    pub message: String,
}

/// The parsed document, or every syntax error.
pub(crate) fn parse(text: &str) -> Result<Node, Vec<Located>> {
    let (root, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        return Err(errors
            .iter()
            .map(|e| Located {
                span: e.span().unwrap_or(0..0),
                message: format!("TOML syntax: {}", e.message().trim().trim_end_matches('.')),
            })
            .collect());
    }
    let mut next_id = 0;
    let mut problems = Vec::new();
    let span = root.span();
    let table = convert_table(root.get_ref(), &mut next_id, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Node { id: u32::MAX, span: 0..text.len().max(span.end), kind: Kind::Table(table) })
}

/// A JSON value as a document, for values that arrive as JSON rather than as a file (an action in a
/// share link): the same reader then accepts exactly what a scenario file accepts. JSON has no
/// positions to report, so every span is empty; problems are named by their path instead.
pub(crate) fn from_json(value: &serde_json::Value) -> Node {
    let mut next_id = 0;
    let mut root = convert_json(value, &mut next_id);
    root.id = u32::MAX;
    root
}

fn convert_json(value: &serde_json::Value, next_id: &mut u32) -> Node {
    use serde_json::Value;
    let id = *next_id;
    *next_id += 1;
    let kind = match value {
        // TOML has no null: it reads as a value of the wrong type wherever it appears.
        Value::Null => Kind::Null,
        Value::Bool(b) => Kind::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Kind::Integer(i),
            None => Kind::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Kind::Str(s.clone()),
        Value::Array(items) => Kind::Array(items.iter().map(|v| convert_json(v, next_id)).collect()),
        Value::Object(map) => Kind::Table(
            map.iter()
                .map(|(key, v)| Entry { key: key.clone(), key_span: 0..0, value: convert_json(v, next_id) })
                .collect(),
        ),
    };
    Node { id, span: 0..0, kind }
}

fn convert_table(table: &DeTable<'_>, next_id: &mut u32, problems: &mut Vec<Located>) -> Vec<Entry> {
    let mut entries: Vec<Entry> = table
        .iter()
        .map(|(key, value)| Entry {
            key: key.get_ref().to_string(),
            key_span: key.span(),
            value: convert(value, next_id, problems),
        })
        .collect();
    // The parser keeps keys sorted; the file order reads better in messages and is what the author wrote.
    entries.sort_by_key(|e| e.key_span.start);
    entries
}

fn convert(value: &Spanned<DeValue<'_>>, next_id: &mut u32, problems: &mut Vec<Located>) -> Node {
    let id = *next_id;
    *next_id += 1;
    let span = value.span();
    let kind = match value.get_ref() {
        DeValue::String(s) => Kind::Str(s.to_string()),
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(v) => Kind::Integer(v),
            Err(_) => {
                problems
                    .push(Located { span: span.clone(), message: format!("integer `{i}` does not fit in 64 bits") });
                Kind::Integer(0)
            }
        },
        DeValue::Float(f) => match f.as_str().parse::<f64>() {
            Ok(v) => Kind::Float(v),
            Err(_) => {
                problems.push(Located { span: span.clone(), message: format!("`{f}` is not a number") });
                Kind::Float(0.0)
            }
        },
        DeValue::Boolean(b) => Kind::Boolean(*b),
        DeValue::Datetime(d) => Kind::Datetime(d.to_string()),
        DeValue::Array(array) => Kind::Array(array.iter().map(|v| convert(v, next_id, problems)).collect()),
        DeValue::Table(table) => Kind::Table(convert_table(table, next_id, problems)),
    };
    Node { id, span, kind }
}

impl Node {
    pub fn entries(&self) -> Option<&[Entry]> {
        match &self.kind {
            Kind::Table(entries) => Some(entries),
            _ => None,
        }
    }

    /// The entry `key` of this table.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries()?.iter().find(|e| e.key == key)
    }

    /// What kind of value this is, as the person who wrote it would say.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Str(_) => "a string",
            Kind::Integer(_) => "an integer",
            Kind::Float(_) => "a float",
            Kind::Boolean(_) => "a boolean",
            Kind::Datetime(_) => "a datetime",
            Kind::Null => "null",
            Kind::Array(_) => "an array",
            Kind::Table(_) => "a table",
        }
    }

    /// Remove the node `id` (a table entry or an array element) below this one. Returns the id of the
    /// table it was removed from and its key, when it was a table entry.
    pub fn remove(&mut self, id: u32) -> Option<Removed> {
        match &mut self.kind {
            Kind::Table(entries) => {
                if let Some(index) = entries.iter().position(|e| e.value.id == id) {
                    let entry = entries.remove(index);
                    return Some(Removed { table: self.id, key: Some(entry.key) });
                }
                entries.iter_mut().find_map(|e| e.value.remove(id))
            }
            Kind::Array(items) => {
                if let Some(index) = items.iter().position(|n| n.id == id) {
                    items.remove(index);
                    return Some(Removed { table: self.id, key: None });
                }
                items.iter_mut().find_map(|n| n.remove(id))
            }
            _ => None,
        }
    }

    /// The path of node `id` below this one, e.g. `topology.broker_groups[0].store`.
    pub fn path_of(&self, id: u32) -> Option<String> {
        if self.id == id {
            return Some(String::new());
        }
        match &self.kind {
            Kind::Table(entries) => {
                entries.iter().find_map(|e| e.value.path_of(id).map(|rest| join_path(&e.key, &rest)))
            }
            Kind::Array(items) => items.iter().enumerate().find_map(|(i, n)| {
                n.path_of(id).map(|rest| {
                    let index = format!("[{i}]");
                    if rest.is_empty() || rest.starts_with('[') {
                        format!("{index}{rest}")
                    } else {
                        format!("{index}.{rest}")
                    }
                })
            }),
            _ => None,
        }
    }

    /// The node at a path like `producers[0].workload.rate[1].at`, or the deepest node on the way with
    /// the part of the path it could resolve.
    pub fn resolve(&self, path: &str) -> (&Node, Option<&Range<usize>>, usize) {
        let mut node = self;
        let mut key_span = None;
        let mut depth = 0;
        for segment in split_path(path) {
            let next = match segment {
                Segment::Key(key) => node.get(key).map(|e| (&e.value, Some(&e.key_span))),
                Segment::Index(i) => match &node.kind {
                    Kind::Array(items) => items.get(i).map(|n| (n, None)),
                    _ => None,
                },
            };
            match next {
                Some((n, span)) => {
                    node = n;
                    key_span = span.or(key_span);
                    depth += 1;
                }
                None => break,
            }
        }
        (node, key_span, depth)
    }
}

/// Where a removed node was.
pub(crate) struct Removed {
    pub table: u32,
    pub key: Option<String>,
}

fn join_path(key: &str, rest: &str) -> String {
    let key = if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        key.to_string()
    } else {
        format!("\"{key}\"")
    };
    if rest.is_empty() {
        key
    } else if rest.starts_with('[') {
        format!("{key}{rest}")
    } else {
        format!("{key}.{rest}")
    }
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn split_path(path: &str) -> Vec<Segment<'_>> {
    let mut segments = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            segments.push(Segment::Key(key));
        }
        while let Some(stripped) = rest.strip_prefix('[') {
            let Some(end) = stripped.find(']') else { break };
            match stripped[..end].parse() {
                Ok(i) => segments.push(Segment::Index(i)),
                Err(_) => break,
            }
            rest = &stripped[end + 1..];
        }
    }
    segments
}

/// 1-based (line, column) of a byte offset; columns count characters.
pub(crate) fn line_column(text: &str, offset: usize) -> (u32, u32) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() as u32 + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_to_keys_and_array_elements() {
        let text = "a = 1\n[[b]]\nc = \"x\"\n[[b]]\nc = \"y\"\nd = { e = true }\n";
        let root = parse(text).unwrap();
        let (node, key_span, depth) = root.resolve("b[1].d.e");
        assert_eq!(depth, 4);
        assert!(matches!(node.kind, Kind::Boolean(true)));
        assert_eq!(&text[key_span.unwrap().clone()], "e");
        let id = root.resolve("b[1].c").0.id;
        assert_eq!(root.path_of(id).as_deref(), Some("b[1].c"));
        let (_, _, depth) = root.resolve("b[7].c");
        assert_eq!(depth, 1, "stops at the deepest node that exists");
    }

    #[test]
    fn every_syntax_error_is_reported() {
        let errors = parse("a = \nb = [1,\nc = 'x").unwrap_err();
        assert!(errors.len() >= 2, "{errors:?}");
    }

    #[test]
    fn line_and_column_count_characters_not_bytes() {
        assert_eq!(line_column("ab\n中文x", 9), (2, 3));
        assert_eq!(line_column("ab", 99), (1, 3));
        assert_eq!(line_column("中", 1), (1, 1));
    }
}
