//! The scenario library: every built-in scenario with its title and question, plus import/export
//! of scenario files.

use rmqsim_core::scenario::model::Narratives;
use rmqsim_core::scenario::{library, Scenario};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::browser;
use crate::i18n::Lang;

#[derive(Properties, PartialEq)]
pub struct LibraryProps {
    pub lang: Lang,
    /// The built-in scenario running now (None for an imported one).
    pub current: Option<AttrValue>,
    /// The imported scenario's title, when one runs.
    pub imported_title: Option<AttrValue>,
    pub on_open: Callback<String>,
    /// (file name, TOML text)
    pub on_import: Callback<(String, String)>,
    pub on_export: Callback<()>,
}

/// (id, narratives) of each built-in scenario, parsed once.
fn entries() -> Vec<(&'static str, Option<Narratives>)> {
    library::SCENARIOS.iter().map(|(id, text)| (*id, Scenario::parse(id, text).ok().map(|s| s.narrative))).collect()
}

#[function_component(Library)]
pub fn library_panel(props: &LibraryProps) -> Html {
    let texts = props.lang.texts();
    let entries = use_memo((), |_| entries());
    let items = entries.iter().map(|(id, narratives)| {
        let narrative = narratives.as_ref().map(|n| if props.lang == Lang::Zh { &n.zh } else { &n.en });
        let current = props.current.as_deref() == Some(*id);
        let onclick = props.on_open.reform({
            let id = id.to_string();
            move |_: MouseEvent| id.clone()
        });
        html! {
            <li>
                <button class={classes!("scenario-item", current.then_some("current"))} data-scenario={*id}
                        title={narrative.map_or(String::new(), |n| n.question.clone())}
                        aria-current={current.then_some("true")} onclick={onclick}>
                    <span class="title">{ narrative.map_or(*id, |n| n.title.as_str()) }</span>
                    if current {
                        <span class="question">{ narrative.map_or("", |n| n.question.as_str()) }</span>
                    }
                    <code class="id">{ *id }</code>
                </button>
            </li>
        }
    });
    let on_file = {
        let on_import = props.on_import.clone();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let on_import = on_import.clone();
            browser::read_file(&input, move |name, text| on_import.emit((name, text)));
            input.set_value("");
        })
    };
    html! {
        <section id="library" class="panel library">
            <h2>{ texts.library }</h2>
            <ul class="scenarios">
                { for items }
                if let Some(title) = &props.imported_title {
                    <li>
                        <div class="scenario-item current imported" aria-current="true">
                            <span class="title">{ title }</span>
                            <span class="question">{ texts.imported }</span>
                        </div>
                    </li>
                }
            </ul>
            <div class="file-actions">
                <label class="button ghost" for="import-file">{ texts.import_toml }</label>
                <input id="import-file" type="file" accept=".toml,text/plain" class="visually-hidden" onchange={on_file} />
                <button id="export-toml" class="ghost" onclick={props.on_export.reform(|_| ())}>{ texts.export_toml }</button>
            </div>
        </section>
    }
}
