//! A short message at the bottom of the page (a fork happened, an action was refused), gone after
//! a few seconds.

use gloo_timers::callback::Timeout;
use yew::prelude::*;

use crate::i18n::Lang;
use crate::state::{Notice, Toast as ToastData};

#[derive(Properties, PartialEq)]
pub struct ToastProps {
    pub lang: Lang,
    pub toast: ToastData,
    pub on_clear: Callback<u32>,
}

#[function_component(Toast)]
pub fn toast(props: &ToastProps) -> Html {
    let texts = props.lang.texts();
    {
        let id = props.toast.id;
        let on_clear = props.on_clear.clone();
        use_effect_with(id, move |_| {
            let timeout = Timeout::new(5_000, move || on_clear.emit(id));
            move || drop(timeout)
        });
    }
    let (error, text) = match &props.toast.notice {
        Notice::Forked(at) => (false, (texts.forked)(&at.to_string())),
        Notice::Refused(reason) => (true, format!("{}: {reason}", texts.action_refused)),
        _ => return html! {},
    };
    html! {
        <div id="toast" class={classes!("toast", error.then_some("error"))} role="status">{ text }</div>
    }
}
