//! The page header: the name, the language toggle, Share and Help.

use yew::prelude::*;

use crate::i18n::Lang;

#[derive(Properties, PartialEq)]
pub struct HeaderProps {
    pub lang: Lang,
    pub on_lang: Callback<Lang>,
    pub on_share: Callback<()>,
    pub on_help: Callback<()>,
}

#[function_component(Header)]
pub fn header(props: &HeaderProps) -> Html {
    let texts = props.lang.texts();
    let other = props.lang.other();
    let on_lang = props.on_lang.reform(move |_: MouseEvent| other);
    html! {
        <header class="top">
            <div class="brand">
                <span class="logo" aria-hidden="true">{ "◆" }</span>
                <h1>{ "rmqsim" }</h1>
                <span class="subtitle">{ texts.subtitle }</span>
            </div>
            <nav class="header-actions">
                <button id="share" class="ghost" onclick={props.on_share.reform(|_| ())}>{ texts.share }</button>
                <button id="help-button" class="ghost" onclick={props.on_help.reform(|_| ())} title="?">{ texts.help }</button>
                <button id="lang-toggle" class="ghost lang" data-lang={props.lang.code()} title={texts.switch_language_title}
                        onclick={on_lang}>{ texts.switch_language }</button>
            </nav>
        </header>
    }
}
