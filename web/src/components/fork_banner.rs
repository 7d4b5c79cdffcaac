//! Says plainly, when the run was rewound, that acting now replaces the explored future.

use rmqsim_core::time::Time;
use yew::prelude::*;

use crate::i18n::Lang;

#[derive(Properties, PartialEq)]
pub struct ForkBannerProps {
    pub lang: Lang,
    pub now: Time,
    /// User actions after now that acting would drop.
    pub actions_after_now: usize,
}

#[function_component(ForkBanner)]
pub fn fork_banner(props: &ForkBannerProps) -> Html {
    let texts = props.lang.texts();
    html! {
        <div id="fork-banner" class="fork-banner" role="status">
            <span class="icon" aria-hidden="true">{ "⑂" }</span>
            { (texts.fork_banner)(&props.now.to_string(), props.actions_after_now) }
        </div>
    }
}
