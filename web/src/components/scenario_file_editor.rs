//! The sandbox's scenario-file mode: the whole scenario as TOML in a text area, for everything the form
//! cannot hold (workloads, scheduled actions, expectations, the quiz, network and limits, every config key).
//!
//! The text is judged by the same `Scenario::parse` as the CLI and the library, on every edit. Each problem
//! is listed with its line and column; clicking one selects that place in the text, and the line-number
//! gutter marks the lines that have problems. Nothing here knows the scenario format: a key is wrong
//! exactly when `rmqsim run` would say so.

use rmqsim_core::scenario::Scenario;
use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

use crate::components::toml_highlight::tokens;
use crate::i18n::Lang;

/// One problem of the file, located when the validation knows where.
#[derive(Clone, Debug, PartialEq)]
pub struct FileProblem {
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
}

/// Every problem of `text` as a scenario file (empty when it is a valid scenario), in line order; the
/// problems without a place come last.
pub fn file_problems(file_name: &str, text: &str) -> Vec<FileProblem> {
    let Err(errors) = Scenario::parse(file_name, text) else { return Vec::new() };
    let mut problems: Vec<FileProblem> =
        errors.0.into_iter().map(|e| FileProblem { line: e.line, column: e.column, message: e.message }).collect();
    problems.sort_by_key(|p| (p.line.is_none(), p.line, p.column));
    problems
}

/// The text area's selection for a 1-based (line, column), columns counting characters: from that
/// character to the end of its line, as UTF-16 offsets (what `setSelectionRange` takes). A place past
/// the end of the text is clamped to it.
pub fn selection_of(text: &str, line: u32, column: u32) -> (u32, u32) {
    let mut start = None;
    let (mut at_line, mut at_column, mut offset) = (1u32, 1u32, 0u32);
    for c in text.chars() {
        if start.is_none() && (at_line, at_column) >= (line, column.max(1)) {
            start = Some(offset);
        }
        if c == '\n' {
            if start.is_some() || at_line >= line {
                return (start.unwrap_or(offset), offset);
            }
            at_line += 1;
            at_column = 1;
        } else {
            at_column += 1;
        }
        offset += c.len_utf16() as u32;
    }
    (start.unwrap_or(offset), offset)
}

/// The gutter's text: one number per line of `text`, a line with a problem marked with `!`.
fn gutter(text: &str, problems: &[FileProblem]) -> Vec<(u32, bool)> {
    let lines = text.split('\n').count() as u32;
    (1..=lines).map(|n| (n, problems.iter().any(|p| p.line == Some(n)))).collect()
}

#[derive(Properties, PartialEq)]
pub struct ScenarioFileEditorProps {
    pub lang: Lang,
    /// The file's name (errors and the run carry it).
    pub file_name: AttrValue,
    pub text: AttrValue,
    pub on_input: Callback<String>,
    /// Run the file: (file name, TOML).
    pub on_run: Callback<(String, String)>,
}

#[function_component(ScenarioFileEditor)]
pub fn scenario_file_editor(props: &ScenarioFileEditorProps) -> Html {
    let texts = props.lang.action_texts();
    let area = use_node_ref();
    let gutter_ref = use_node_ref();
    let colours_ref = use_node_ref();
    let problems = use_memo((props.file_name.clone(), props.text.clone()), |(name, text)| file_problems(name, text));
    let valid = problems.is_empty();

    let oninput = {
        let on_input = props.on_input.clone();
        Callback::from(move |e: InputEvent| on_input.emit(e.target_unchecked_into::<HtmlTextAreaElement>().value()))
    };
    // The gutter and the coloured layer scroll with the text.
    let onscroll = {
        let (gutter_ref, colours_ref) = (gutter_ref.clone(), colours_ref.clone());
        Callback::from(move |e: Event| {
            let area = e.target_unchecked_into::<HtmlTextAreaElement>();
            if let Some(gutter) = gutter_ref.cast::<web_sys::Element>() {
                gutter.set_scroll_top(area.scroll_top());
            }
            if let Some(colours) = colours_ref.cast::<web_sys::Element>() {
                colours.set_scroll_top(area.scroll_top());
                colours.set_scroll_left(area.scroll_left());
            }
        })
    };
    let colours = use_memo(props.text.clone(), |text| {
        tokens(text)
            .into_iter()
            .map(|(tok, piece)| match tok.class() {
                Some(class) => html! { <span class={class}>{ piece }</span> },
                None => html! { { piece } },
            })
            .collect::<Html>()
    });
    let go_to = |line: u32, column: u32| {
        let (area, text) = (area.clone(), props.text.clone());
        Callback::from(move |_: MouseEvent| {
            let Some(element) = area.cast::<HtmlTextAreaElement>() else { return };
            let (start, end) = selection_of(&text, line, column);
            let _ = element.focus();
            let _ = element.set_selection_range(start, end);
            // Bring the line into view, a few lines from the top (the scroll event moves the gutter along).
            let line_height = element.scroll_height() as f64 / text.split('\n').count().max(1) as f64;
            element.set_scroll_top((line.saturating_sub(3) as f64 * line_height) as i32);
        })
    };
    let run = {
        let (on_run, name, text) = (props.on_run.clone(), props.file_name.to_string(), props.text.to_string());
        Callback::from(move |_: MouseEvent| on_run.emit((name.clone(), text.clone())))
    };
    let export = {
        let (name, text) = (props.file_name.to_string(), props.text.to_string());
        Callback::from(move |_: MouseEvent| crate::browser::download(&name, "application/toml", &text))
    };
    html! {
        <div class="scenario-file" id="editor-file">
            <p class="hint">{ texts.editor_file_intro }</p>
            <div class="file-editor">
                <div class="file-gutter" ref={gutter_ref.clone()} aria-hidden="true">
                    { for gutter(&props.text, &problems).into_iter().map(|(n, bad)| html! {
                        <span class={classes!(bad.then_some("bad-line"))} data-line={n.to_string()}>{ n }</span>
                    }) }
                </div>
                <div class="file-code">
                    // The text area's own text is transparent: this layer behind it draws the colours.
                    // A final newline keeps its last line as tall as the text area's.
                    <pre class="file-colours" id="editor-file-colours" ref={colours_ref.clone()} aria-hidden="true">
                        { (*colours).clone() }{ "\n" }
                    </pre>
                    <textarea id="editor-file-text" ref={area.clone()} spellcheck="false" wrap="off"
                              class={classes!((!valid).then_some("invalid"))}
                              value={props.text.clone()} {oninput} {onscroll} />
                </div>
            </div>
            if !valid {
                <ul class="field-error file-problems" id="editor-file-errors">
                    { for problems.iter().map(|p| match (p.line, p.column) {
                        (Some(line), column) => html! {
                            <li>
                                <button class="link-button" data-line={line.to_string()}
                                        onclick={go_to(line, column.unwrap_or(1))}>
                                    { (texts.editor_file_at)(line, column.unwrap_or(1)) }
                                </button>
                                { format!(" {}", p.message) }
                            </li>
                        },
                        (None, _) => html! { <li>{ &p.message }</li> },
                    }) }
                </ul>
            }
            <div class="button-row editor-actions">
                <button id="editor-file-run" class="primary" disabled={!valid} onclick={run}
                        title={(!valid).then_some(texts.editor_fix_first)}>{ texts.editor_run }</button>
                <button id="editor-file-export" class="ghost" onclick={export}>{ texts.editor_export }</button>
                <span id="editor-file-status" class={classes!("small", if valid { "ok-text" } else { "warn-text" })}
                      data-valid={valid.to_string()}>
                    { if valid { texts.editor_valid.to_string() } else { (texts.editor_problems)(problems.len()) } }
                </span>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_library_scenario_has_no_problems_as_a_file() {
        let text = rmqsim_core::scenario::library::find("consumer-crash-replay").unwrap();
        assert_eq!(file_problems("consumer-crash-replay.toml", text), Vec::new());
    }

    #[test]
    fn every_problem_of_a_file_is_listed_with_its_line_in_line_order() {
        let text = rmqsim_core::scenario::library::find("consumer-crash-replay").unwrap();
        let broken = text.replacen("run_for = ", "run_fr = ", 1) + "\n[network]\nlatency = \"fast\"\n";
        let problems = file_problems("x.toml", &broken);
        assert!(problems.len() >= 2, "{problems:?}");
        let lines: Vec<u32> = problems.iter().filter_map(|p| p.line).collect();
        assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{problems:?}");
        let run_fr = broken.lines().position(|l| l.starts_with("run_fr")).unwrap() as u32 + 1;
        assert!(problems.iter().any(|p| p.line == Some(run_fr) && p.message.contains("run_fr")), "{problems:?}");
    }

    #[test]
    fn a_problem_selects_from_its_column_to_the_end_of_its_line_in_utf16_units() {
        let text = "a = 1\n标题 = \"中文\"\nz = 2";
        // Line 2, column 6 is the opening quote; "标题 = " is 5 characters, each one UTF-16 unit.
        assert_eq!(selection_of(text, 2, 6), (11, 15));
        assert_eq!(selection_of(text, 1, 1), (0, 5));
        // The last line has no newline; a column past the end is clamped to the line's end.
        assert_eq!(selection_of(text, 3, 1), (16, 21));
        assert_eq!(selection_of(text, 3, 99), (21, 21));
        assert_eq!(selection_of(text, 9, 1), (21, 21));
        // A character outside the BMP takes two UTF-16 units.
        assert_eq!(selection_of("😀x\ny", 1, 2), (2, 3));
    }

    #[test]
    fn the_gutter_marks_the_lines_with_problems() {
        let problems = vec![FileProblem { line: Some(2), column: Some(1), message: "bad".into() }];
        assert_eq!(gutter("a\nb\nc", &problems), vec![(1, false), (2, true), (3, false)]);
    }
}
