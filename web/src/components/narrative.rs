//! The running scenario's narrative: its question, what to watch, the explanation and what is modelled.

use std::rc::Rc;

use rmqsim_core::scenario::Scenario;
use yew::prelude::*;

use crate::i18n::Lang;

#[derive(Properties, PartialEq)]
pub struct NarrativeProps {
    pub lang: Lang,
    pub scenario: Rc<Scenario>,
}

/// Paragraphs of a narrative text (blank lines separate them; single newlines are wrapping).
pub fn paragraphs(text: &str) -> Html {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(line.trim());
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    html! { <>{ for out.into_iter().map(|p| html! { <p>{ p }</p> }) }</> }
}

#[function_component(Narrative)]
pub fn narrative(props: &NarrativeProps) -> Html {
    let texts = props.lang.texts();
    let narrative = if props.lang == Lang::Zh { &props.scenario.narrative.zh } else { &props.scenario.narrative.en };
    html! {
        <section id="narrative" class="panel narrative" lang={props.lang.code()}>
            <h2 id="narrative-title">{ &narrative.title }</h2>
            <div class="question">
                <h3>{ texts.question }</h3>
                { paragraphs(&narrative.question) }
            </div>
            <div class="watch">
                <h3>{ texts.watch }</h3>
                { paragraphs(&narrative.watch) }
            </div>
            // Closed at first: the explanation gives the answer away; predict, run, then read.
            <details>
                <summary>{ texts.explanation }</summary>
                { paragraphs(&narrative.explanation) }
            </details>
            <details>
                <summary>{ texts.fidelity }</summary>
                { paragraphs(&narrative.fidelity) }
            </details>
        </section>
    }
}
