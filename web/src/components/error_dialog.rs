//! A clear error instead of a blank page: a bad link, or a scenario file with problems.

use yew::prelude::*;

use crate::hooks::use_escape::ClosesOnEscape;

#[derive(Properties, PartialEq)]
pub struct ErrorDialogProps {
    pub id: AttrValue,
    pub title: AttrValue,
    pub message: AttrValue,
    pub hint: Option<AttrValue>,
    pub button: AttrValue,
    pub on_close: Callback<()>,
}

#[function_component(ErrorDialog)]
pub fn error_dialog(props: &ErrorDialogProps) -> Html {
    html! {
        <div class="dialog-backdrop">
            <ClosesOnEscape on_close={props.on_close.clone()} />
            <div id={props.id.clone()} class="dialog error" role="alertdialog" aria-modal="true"
                 aria-labelledby={format!("{}-title", props.id)}>
                <h2 id={format!("{}-title", props.id)}>{ &props.title }</h2>
                <pre class="error-message">{ &props.message }</pre>
                if let Some(hint) = &props.hint {
                    <p>{ hint }</p>
                }
                <div class="dialog-actions">
                    <button class="primary" onclick={props.on_close.reform(|_| ())}>{ &props.button }</button>
                </div>
            </div>
        </div>
    }
}
