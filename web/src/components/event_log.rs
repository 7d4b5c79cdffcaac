//! The event log: the most recent trace records as readable lines, newest first, with type
//! filters and a text search.

use std::rc::Rc;

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::i18n::{Lang, Texts};
use crate::state::{UiAction, UiContext};
use crate::trace_lines::{msg_id_of, LineKind, TraceLine};

/// Rows rendered at most (the ring keeps more; the DOM does not need them).
const MAX_ROWS: usize = 200;
/// Rows rendered while the clock runs: the newest lines scroll past faster than anyone reads, and
/// rebuilding 200 rows several times a second was the page's largest layout cost at 100×.
const PLAYING_ROWS: usize = 40;

/// How many rows to render.
fn rows_shown(playing: bool) -> usize {
    if playing {
        PLAYING_ROWS
    } else {
        MAX_ROWS
    }
}

#[derive(Properties, PartialEq)]
pub struct EventLogProps {
    pub lang: Lang,
    pub lines: Rc<Vec<TraceLine>>,
    /// The clock is running: fewer rows are rendered ([`rows_shown`]).
    pub playing: bool,
    /// Bits of the `LineKind`s shown.
    pub filters: u8,
    pub search: AttrValue,
    pub on_filter: Callback<LineKind>,
    pub on_search: Callback<String>,
}

fn label(texts: &Texts, kind: LineKind) -> &'static str {
    match kind {
        LineKind::Message => texts.filter_messages,
        LineKind::Drop => texts.filter_drops,
        LineKind::Timer => texts.filter_timers,
        LineKind::Fault => texts.filter_faults,
        LineKind::Lifecycle => texts.filter_lifecycle,
        LineKind::Disk => texts.filter_disk,
    }
}

#[function_component(EventLog)]
pub fn event_log(props: &EventLogProps) -> Html {
    let texts = props.lang.texts();
    let ui = use_context::<UiContext>();
    // A line that names a message opens its fate.
    let open = |text: &str| {
        let id = msg_id_of(text)?.to_string();
        let ui = ui.clone()?;
        Some(Callback::from(move |_: MouseEvent| ui.dispatch(UiAction::ShowMessage(Some(id.clone())))))
    };
    let needle = props.search.trim().to_lowercase();
    let shown: Vec<&TraceLine> = props
        .lines
        .iter()
        .rev()
        .filter(|l| props.filters & l.kind.bit() != 0)
        .filter(|l| {
            needle.is_empty() || l.text.to_lowercase().contains(&needle) || l.node.to_lowercase().contains(&needle)
        })
        .take(rows_shown(props.playing))
        .collect();
    let on_search = props.on_search.reform(|e: InputEvent| e.target_unchecked_into::<HtmlInputElement>().value());
    let filters = LineKind::ALL.iter().map(|kind| {
        let on = props.filters & kind.bit() != 0;
        let toggle = props.on_filter.reform({
            let kind = *kind;
            move |_: Event| kind
        });
        html! {
            <label class={classes!("filter", kind.css(), on.then_some("on"))}>
                <input type="checkbox" checked={on} data-filter={kind.css()} onchange={toggle} />
                { label(texts, *kind) }
            </label>
        }
    });
    html! {
        <section id="event-log" class="panel event-log" aria-label={texts.event_log}>
            <div class="log-header">
                <h2>{ texts.event_log }</h2>
                <div class="filters">{ for filters }</div>
                <input id="log-search" type="search" placeholder={texts.search} value={props.search.clone()} oninput={on_search} />
                <span class="muted small">{ (texts.log_count)(shown.len(), props.lines.len()) }</span>
            </div>
            if shown.is_empty() {
                <p class="muted">{ texts.no_events }</p>
            } else {
                // Focusable, so the keyboard can scroll it.
                <ol class="lines" tabindex="0" aria-label={texts.event_log}>
                    { for shown.iter().map(|l| html! {
                        <li key={l.step.to_string()} class={classes!("line", l.kind.css(), msg_id_of(&l.text).map(|_| "has-message"))}
                            onclick={open(&l.text)}>
                            <time>{ l.time.to_string() }</time>
                            <span class="node">{ &l.node }</span>
                            <span class="text">{ &l.text }</span>
                            // Newest first: the steps not kept came before this line, so the note goes below it.
                            if l.gap_before {
                                <span class="gap">{ texts.log_gap }</span>
                            }
                        </li>
                    }) }
                </ol>
            }
        </section>
    }
}
