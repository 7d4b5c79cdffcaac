//! Any view data as a readable tree: how the inspector shows node kinds it has no special panel for
//! (and the fields a special panel does not show), so new views appear without UI work.
//!
//! Scalars sit beside their key; lists of scalars are chips; lists of flat records are tables;
//! nested records take the full width under their key.

use serde_json::{Map, Value};
use yew::prelude::*;

use crate::field_labels;
use crate::i18n::Lang;

/// Lists longer than this are cut, with a count of what was left out.
const MAX_ITEMS: usize = 40;

#[derive(Properties, PartialEq)]
pub struct JsonDetailProps {
    pub lang: Lang,
    pub value: Value,
    /// Top-level keys already shown elsewhere.
    #[prop_or_default]
    pub skip: Vec<&'static str>,
}

#[function_component(JsonDetail)]
pub fn json_detail(props: &JsonDetailProps) -> Html {
    // An enum variant arrives as {"Kind": {...}}: show its content.
    let value = match &props.value {
        Value::Object(map) if map.len() == 1 && map.values().all(Value::is_object) => {
            map.values().next().unwrap_or(&props.value)
        }
        other => other,
    };
    match value {
        Value::Object(map) => record(map, &props.skip, props.lang),
        other => render(other, props.lang),
    }
}

/// A record's fields in the label table's order (identity, then counters, then settings).
fn record(map: &Map<String, Value>, skip: &[&str], lang: Lang) -> Html {
    let mut fields: Vec<(&String, &Value)> = map.iter().filter(|(k, _)| !skip.contains(&k.as_str())).collect();
    fields.sort_by_key(|(k, _)| field_labels::rank(k));
    html! {
        <dl class="facts json">
            { for fields.into_iter().map(|(k, v)| {
                let key = field_labels::label(lang, k);
                if is_block(v) {
                    html! { <><dt class="block-key">{ key }</dt><dd class="block">{ render(v, lang) }</dd></> }
                } else {
                    html! { <><dt>{ key }</dt><dd>{ render(v, lang) }</dd></> }
                }
            }) }
        </dl>
    }
}

/// Values that need the full width: records and lists holding records.
fn is_block(value: &Value) -> bool {
    match value {
        Value::Object(map) => !map.is_empty(),
        Value::Array(items) => items.iter().any(|v| v.is_object() || v.is_array()),
        _ => false,
    }
}

fn is_scalar(value: &Value) -> bool {
    !value.is_object() && !value.is_array()
}

fn render(value: &Value, lang: Lang) -> Html {
    match value {
        Value::Null => html! { <span class="muted">{ "—" }</span> },
        Value::Bool(b) => html! { <span>{ b.to_string() }</span> },
        Value::Number(n) => html! { <span class="number">{ n.to_string() }</span> },
        Value::String(s) => html! { <code>{ s }</code> },
        Value::Array(items) if items.is_empty() => html! { <span class="muted">{ lang.texts().none }</span> },
        Value::Array(items) if items.iter().all(is_scalar) => html! {
            <span class="inline-list">
                { for items.iter().take(MAX_ITEMS).map(|v| html! { <span class="chip">{ scalar(v) }</span> }) }
                if items.len() > MAX_ITEMS { <span class="muted">{ format!(" +{}", items.len() - MAX_ITEMS) }</span> }
            </span>
        },
        Value::Array(items) if items.iter().all(|v| v.as_object().is_some_and(|m| m.values().all(is_scalar))) => {
            table(items, lang)
        }
        Value::Array(items) => html! {
            <ol class="json-list">
                { for items.iter().take(MAX_ITEMS).map(|v| html! { <li>{ render(v, lang) }</li> }) }
                if items.len() > MAX_ITEMS { <li class="muted">{ format!("+{}", items.len() - MAX_ITEMS) }</li> }
            </ol>
        },
        Value::Object(map) => record(map, &[], lang),
    }
}

/// A list of flat records as a table, one column per key (in first-seen order).
fn table(items: &[Value], lang: Lang) -> Html {
    let mut columns: Vec<&str> = Vec::new();
    for item in items.iter().take(MAX_ITEMS) {
        for key in item.as_object().into_iter().flat_map(|m| m.keys()) {
            if !columns.contains(&key.as_str()) {
                columns.push(key);
            }
        }
    }
    html! {
        <div class="table-scroll">
            <table class="table json-table">
                <thead><tr>{ for columns.iter().map(|c| html! { <th>{ field_labels::label(lang, c) }</th> }) }</tr></thead>
                <tbody>
                    { for items.iter().take(MAX_ITEMS).map(|item| html! {
                        <tr>{ for columns.iter().map(|c| html! {
                            <td>{ item.get(*c).map_or_else(|| html! {}, |v| render(v, lang)) }</td>
                        }) }</tr>
                    }) }
                </tbody>
            </table>
            if items.len() > MAX_ITEMS { <p class="muted small">{ format!("+{}", items.len() - MAX_ITEMS) }</p> }
        </div>
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
