//! The clock bar: play/pause, step, back, speed, the virtual clock, seed and digest — always on screen.

use std::rc::Rc;

use rmqsim_core::time::Duration;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::i18n::Lang;
use crate::sim_context::{speed_label, SimCommand, Snapshot, SPEEDS_MILLI};

#[derive(Properties, PartialEq)]
pub struct ClockBarProps {
    pub lang: Lang,
    pub snapshot: Rc<Snapshot>,
    pub on_command: Callback<SimCommand>,
}

#[function_component(ClockBar)]
pub fn clock_bar(props: &ClockBarProps) -> Html {
    let texts = props.lang.texts();
    let snapshot = &props.snapshot;
    let view = &snapshot.view;
    let command = |c: SimCommand| props.on_command.reform(move |_: MouseEvent| c.clone());
    let on_speed = props.on_command.reform(|e: Event| {
        let select: HtmlSelectElement = e.target_unchecked_into();
        SimCommand::SetSpeed(select.value().parse().unwrap_or(crate::sim_context::DEFAULT_SPEED_MILLI))
    });
    let seed_input = use_node_ref();
    let on_reseed = {
        let seed_input = seed_input.clone();
        let on_command = props.on_command.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Some(seed) = seed_input.cast::<HtmlInputElement>().and_then(|i| i.value().trim().parse::<u64>().ok())
            {
                on_command.emit(SimCommand::Reseed(seed));
            }
        })
    };
    let ended = snapshot.now() >= snapshot.end && !snapshot.playing;
    html! {
        <div class="clock-bar">
            <div class="transport">
                <button id="back" title={texts.back_title} onclick={command(SimCommand::Back(Duration::from_secs(1)))}>
                    { icon("M8 3 L2 8 L8 13 Z M14 3 L8 8 L14 13 Z") }{ texts.back }
                </button>
                <button id="play-pause" class="primary" data-playing={snapshot.playing.to_string()}
                        onclick={command(SimCommand::TogglePlay)}>
                    if snapshot.playing {
                        { icon("M4 3 H7 V13 H4 Z M9 3 H12 V13 H9 Z") }{ texts.pause }
                    } else {
                        { icon("M4 2.5 L13.5 8 L4 13.5 Z") }{ texts.play }
                    }
                </button>
                <button id="step" title={texts.step_title} onclick={command(SimCommand::Step)}>
                    { icon("M3 3 L10 8 L3 13 Z M11 3 H13 V13 H11 Z") }{ texts.step }
                </button>
                <label class="speed">{ texts.speed }
                    <select id="speed" onchange={on_speed}>
                        { for SPEEDS_MILLI.iter().map(|milli| html! {
                            <option value={milli.to_string()} selected={*milli == snapshot.speed_milli}>{ speed_label(*milli) }</option>
                        }) }
                    </select>
                </label>
            </div>
            <div class="clock">
                <span id="virtual-time" class="time" data-time-us={view.time.as_micros().to_string()}
                      data-seeking={snapshot.seeking.is_some().to_string()}>
                    { view.time.to_string() }
                </span>
                <span class="muted">{ format!("{} {}", texts.of, snapshot.end) }</span>
            </div>
            <div class="run-ids">
                <form class="pill seed" onsubmit={on_reseed} title={texts.reseed_title}>
                    { texts.seed }{ " " }<code id="seed">{ view.seed }</code>
                    <input id="seed-input" ref={seed_input} type="text" inputmode="numeric" size="8"
                           aria-label={texts.reseed_title} placeholder={view.seed.to_string()} />
                    <button id="reseed" type="submit" class="tiny">{ texts.reseed }</button>
                </form>
                <span class="pill">{ texts.digest }{ " " }<code id="digest">{ &view.digest }</code></span>
                <span class="pill muted" id="events" data-events={view.events_processed.to_string()}>{ format!("{} {}", view.events_processed, texts.events) }</span>
                if let Some(target) = snapshot.seeking {
                    // Computed ahead in bounded slices, one per frame: the page stays responsive meanwhile.
                    <span class="pill busy" id="seeking" data-percent={seek_percent(snapshot).to_string()}>
                        { format!("{} → {} ({}%)", texts.seeking, target, seek_percent(snapshot)) }
                        <span class="seek-bar"><span style={format!("width: {}%", seek_percent(snapshot))}></span></span>
                    </span>
                }
                if snapshot.lagging && snapshot.playing {
                    <span class="pill warn" id="lagging" title={snapshot.from_frames.then_some(texts.lagging_frames_title)}>{
                        (if snapshot.from_frames { texts.lagging_frames } else { texts.lagging })(&format!("{:.0}×", effective_speed(snapshot)))
                    }</span>
                }
                if let Some(halted) = &view.halted {
                    <span class="pill warn" id="halted">{ format!("{}: {halted}", texts.halted) }</span>
                } else if ended {
                    <span class="pill muted">{ texts.ended }</span>
                }
            </div>
        </div>
    }
}

/// A 16 px icon drawn with the button's text colour (no icon font: everything works offline).
fn icon(path: &'static str) -> Html {
    html! {
        <svg class="icon" width="14" height="14" viewBox="0 0 16 16" aria-hidden="true"><path d={path} fill="currentColor" /></svg>
    }
}

/// Virtual seconds per wall second actually reached over the last frames (measured in the play loop).
fn effective_speed(snapshot: &Snapshot) -> f64 {
    if snapshot.perf.speed > 0.0 {
        snapshot.perf.speed
    } else {
        snapshot.speed_milli as f64 / 1_000.0
    }
}

/// How far a seek in progress has come, from the checkpoint it replays from to its target, in percent.
pub fn seek_percent(snapshot: &Snapshot) -> u64 {
    let Some(target) = snapshot.seeking else { return 100 };
    let from = snapshot.seek_from.as_micros();
    let span = target.as_micros().saturating_sub(from);
    if span == 0 {
        return 100;
    }
    (snapshot.now().as_micros().saturating_sub(from) * 100 / span).min(100)
}
