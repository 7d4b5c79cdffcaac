//! The first-visit guide: a callout pointing at the scenario list, dismissed once and remembered.

use yew::prelude::*;

use crate::i18n::Lang;

#[derive(Properties, PartialEq)]
pub struct GuideProps {
    pub lang: Lang,
    pub on_dismiss: Callback<()>,
}

#[function_component(Guide)]
pub fn guide(props: &GuideProps) -> Html {
    let texts = props.lang.texts();
    html! {
        <aside id="guide" class="guide" role="note">
            <span class="pointer" aria-hidden="true">{ "◀" }</span>
            <h3>{ texts.guide_title }</h3>
            <p>{ texts.guide_body }</p>
            <button id="guide-ok" class="primary" onclick={props.on_dismiss.reform(|_| ())}>{ texts.guide_ok }</button>
        </aside>
    }
}
