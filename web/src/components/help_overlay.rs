//! The help overlay: keyboard shortcuts, the colour legend, and how time travel and sharing work.

use yew::prelude::*;

use crate::hooks::use_escape::ClosesOnEscape;
use crate::i18n::Lang;

#[derive(Properties, PartialEq)]
pub struct HelpOverlayProps {
    pub lang: Lang,
    pub on_close: Callback<()>,
}

#[function_component(HelpOverlay)]
pub fn help_overlay(props: &HelpOverlayProps) -> Html {
    let texts = props.lang.texts();
    let legend = [
        ("legend-up", texts.legend_up),
        ("legend-down", texts.legend_down),
        ("legend-partition", texts.legend_partition),
        ("legend-held", texts.legend_held),
        ("legend-clog", texts.legend_clog),
        ("legend-message", texts.legend_message),
        ("legend-drop", texts.legend_drop),
    ];
    html! {
        <div class="dialog-backdrop" onclick={props.on_close.reform(|_| ())}>
            <ClosesOnEscape on_close={props.on_close.clone()} />
            <div id="help" class="dialog wide" role="dialog" aria-modal="true" aria-labelledby="help-title" onclick={Callback::from(|e: MouseEvent| e.stop_propagation())}>
                <h2 id="help-title">{ texts.help_title }</h2>
                <table class="shortcuts">
                    { for texts.shortcuts.iter().map(|(key, what)| html! {
                        <tr><td><kbd>{ *key }</kbd></td><td>{ *what }</td></tr>
                    }) }
                </table>
                <ul class="legend">
                    { for legend.iter().map(|(class, text)| html! {
                        <li><span class={classes!("swatch", *class)}></span>{ *text }</li>
                    }) }
                </ul>
                <p>{ texts.help_fork }</p>
                <p>{ texts.help_determinism }</p>
                <div class="dialog-actions">
                    <button id="help-close" class="primary" onclick={props.on_close.reform(|_| ())}>{ texts.close }</button>
                </div>
            </div>
        </div>
    }
}
