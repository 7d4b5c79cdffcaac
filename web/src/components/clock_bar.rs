//! The clock bar: virtual time, seed, digest, play/pause and speed — always on screen.

use std::rc::Rc;

use rmqsim_core::time::Time;
use rmqsim_core::view::SimView;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

/// Speeds offered, in thousandths of real time (100 = 0.1×, 10 000 000 = 10 000×).
const SPEEDS_MILLI: &[(u64, &str)] =
    &[(100, "0.1×"), (1_000, "1×"), (10_000, "10×"), (100_000, "100×"), (1_000_000, "1 000×"), (10_000_000, "10 000×")];

#[derive(Properties, PartialEq)]
pub struct ClockBarProps {
    pub view: Rc<SimView>,
    pub playing: bool,
    pub end: Time,
    pub speed_milli: u64,
    pub on_toggle: Callback<()>,
    pub on_speed: Callback<u64>,
}

#[function_component(ClockBar)]
pub fn clock_bar(props: &ClockBarProps) -> Html {
    let view = &props.view;
    let toggle = props.on_toggle.reform(|_: MouseEvent| ());
    let on_speed = props.on_speed.clone();
    let change_speed = Callback::from(move |e: Event| {
        let select: HtmlSelectElement = e.target_unchecked_into();
        if let Ok(speed) = select.value().parse() {
            on_speed.emit(speed);
        }
    });
    let label = if props.playing { "⏸ Pause" } else { "▶ Play" };
    html! {
        <div class="clock-bar">
            <button id="play-pause" data-playing={props.playing.to_string()} onclick={toggle}>{ label }</button>
            <label class="speed">{ "Speed " }
                <select id="speed" onchange={change_speed}>
                    { for SPEEDS_MILLI.iter().map(|(milli, text)| html! {
                        <option value={milli.to_string()} selected={*milli == props.speed_milli}>{ *text }</option>
                    }) }
                </select>
            </label>
            <span class="clock" id="virtual-time" data-time-us={view.time.as_micros().to_string()}>
                { format!("t = {}", view.time) }
            </span>
            <span class="muted">{ format!("of {}", props.end) }</span>
            <span class="pill">{ "seed " }<code id="seed">{ view.seed }</code></span>
            <span class="pill">{ "digest " }<code id="digest">{ &view.digest }</code></span>
            <span class="pill">{ format!("{} events", view.events_processed) }</span>
            if let Some(halted) = &view.halted {
                <span class="pill warn">{ halted }</span>
            }
        </div>
    }
}
