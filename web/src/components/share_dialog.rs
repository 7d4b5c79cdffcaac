//! Share: the link that reproduces this run, the matching CLI command, and the scenario file.

use yew::prelude::*;

use crate::browser;
use crate::hooks::use_escape::ClosesOnEscape;
use crate::i18n::Lang;

#[derive(Properties, PartialEq)]
pub struct ShareDialogProps {
    pub lang: Lang,
    pub link: AttrValue,
    /// The CLI command giving the same digest, when there is one.
    pub cli: Option<AttrValue>,
    pub on_export: Callback<()>,
    pub on_close: Callback<()>,
}

#[function_component(ShareDialog)]
pub fn share_dialog(props: &ShareDialogProps) -> Html {
    let texts = props.lang.texts();
    let copied = use_state(|| false);
    let on_copy = {
        let link = props.link.clone();
        let copied = copied.clone();
        Callback::from(move |_: MouseEvent| {
            browser::copy_to_clipboard(&link);
            copied.set(true);
        })
    };
    let select_all = Callback::from(|e: FocusEvent| {
        let input: web_sys::HtmlInputElement = e.target_unchecked_into();
        input.select();
    });
    html! {
        <div class="dialog-backdrop" onclick={props.on_close.reform(|_| ())}>
            <ClosesOnEscape on_close={props.on_close.clone()} />
            <div id="share-dialog" class="dialog" role="dialog" aria-modal="true" aria-labelledby="share-title" onclick={Callback::from(|e: MouseEvent| e.stop_propagation())}>
                <h2 id="share-title">{ texts.share_title }</h2>
                <p>{ texts.share_intro }</p>
                <div class="copy-row">
                    <input id="share-link" aria-label={texts.share_title} readonly=true value={props.link.clone()} onfocus={select_all} />
                    <button id="copy-link" class="primary" onclick={on_copy}>{ if *copied { texts.copied } else { texts.copy } }</button>
                </div>
                if let Some(cli) = &props.cli {
                    <p class="small">{ texts.reproduce_cli }</p>
                    <pre id="share-cli">{ cli }</pre>
                }
                <div class="dialog-actions">
                    <button class="ghost" onclick={props.on_export.reform(|_| ())}>{ texts.export_toml }</button>
                    <button id="share-close" onclick={props.on_close.reform(|_| ())}>{ texts.close }</button>
                </div>
            </div>
        </div>
    }
}
