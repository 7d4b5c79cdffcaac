//! The timeline scrubber: the whole run from 0 to its end, the explored part, checkpoints, and
//! marks for scenario actions, the user's actions and notable observations. Click or drag to seek;
//! with the keyboard it is a slider (Page Up / Page Down, End; the page's own ←, →, Home).

use std::rc::Rc;

use rmqsim_core::time::Time;
use yew::prelude::*;

use crate::i18n::Lang;
use crate::markers::{Marker, MarkerKind};

#[derive(Properties, PartialEq)]
pub struct ScrubberProps {
    pub lang: Lang,
    pub now: Time,
    pub end: Time,
    pub frontier: Time,
    /// How far the run is computed ahead (a strip along the top, like a video's buffered part).
    pub computed: Time,
    pub seeking: Option<Time>,
    pub checkpoints: Rc<Vec<Time>>,
    pub markers: Rc<Vec<Marker>>,
    pub on_seek: Callback<Time>,
}

fn percent(t: Time, end: Time) -> f64 {
    if end.as_micros() == 0 {
        0.0
    } else {
        (t.as_micros() as f64 / end.as_micros() as f64 * 100.0).clamp(0.0, 100.0)
    }
}

#[function_component(Scrubber)]
pub fn scrubber(props: &ScrubberProps) -> Html {
    let texts = props.lang.texts();
    let dragging = use_state(|| false);
    let track_ref = use_node_ref();
    let end = props.end;
    let seek_at = {
        let on_seek = props.on_seek.clone();
        let track_ref = track_ref.clone();
        // Not the event's currentTarget: Yew delegates events to its root element.
        move |event: &PointerEvent| {
            let Some(track) = track_ref.cast::<web_sys::Element>() else { return };
            let rect = track.get_bounding_client_rect();
            if rect.width() <= 0.0 {
                return;
            }
            let fraction = ((f64::from(event.client_x()) - rect.left()) / rect.width()).clamp(0.0, 1.0);
            on_seek.emit(Time::from_micros((end.as_micros() as f64 * fraction) as u64));
        }
    };
    // Pointer events, so a finger drags the timeline as a mouse does; the capture keeps the drag
    // going when the pointer leaves the track, until it is lifted.
    let onpointerdown = {
        let dragging = dragging.clone();
        let seek_at = seek_at.clone();
        let track_ref = track_ref.clone();
        Callback::from(move |event: PointerEvent| {
            event.prevent_default();
            if let Some(track) = track_ref.cast::<web_sys::Element>() {
                // Fails only for a pointer already gone: the drag then ends at the next move.
                let _ = track.set_pointer_capture(event.pointer_id());
            }
            dragging.set(true);
            seek_at(&event);
        })
    };
    let onpointermove = {
        let dragging = dragging.clone();
        Callback::from(move |event: PointerEvent| {
            if *dragging {
                if event.buttons() & 1 == 0 {
                    dragging.set(false);
                } else {
                    seek_at(&event);
                }
            }
        })
    };
    let stop = {
        let dragging = dragging.clone();
        Callback::from(move |_: PointerEvent| dragging.set(false))
    };
    let shown = props.seeking.unwrap_or(props.now);
    // The keys a slider takes beside the page's own (← back a second, → next event, Home the start):
    // Page Up / Page Down a tenth of the run, End its end.
    let onkeydown = {
        let on_seek = props.on_seek.clone();
        Callback::from(move |event: KeyboardEvent| {
            let tenth = end.as_micros() / 10;
            let target = match event.key().as_str() {
                "PageDown" => shown.as_micros().saturating_add(tenth).min(end.as_micros()),
                "PageUp" => shown.as_micros().saturating_sub(tenth),
                "End" => end.as_micros(),
                _ => return,
            };
            event.prevent_default();
            on_seek.emit(Time::from_micros(target));
        })
    };
    let ticks = props.checkpoints.iter().map(|t| {
        html! { <span class="checkpoint" style={format!("left: {:.3}%", percent(*t, end))}></span> }
    });
    let marks = props.markers.iter().map(|m| {
        let who = match m.kind {
            MarkerKind::Scenario => texts.marker_scenario,
            MarkerKind::User => texts.marker_user,
            _ => "",
        };
        let what = texts.describe(&m.label);
        let title = if who.is_empty() { format!("{} · {what}", m.at) } else { format!("{} · {who}: {what}", m.at) };
        let title = format!("{title} ({})", texts.marker_click);
        // A mark seeks to its own instant, not to where in its few pixels the click fell.
        let onpointerdown = {
            let on_seek = props.on_seek.clone();
            let at = m.at;
            Callback::from(move |event: PointerEvent| {
                event.prevent_default();
                event.stop_propagation();
                on_seek.emit(at);
            })
        };
        html! {
            <span class={classes!("marker", m.kind.css())} style={format!("left: {:.3}%", percent(m.at, end))}
                  title={title} data-at-us={m.at.as_micros().to_string()} onpointerdown={onpointerdown}></span>
        }
    });
    let quarter = |q: u64| Time::from_micros(end.as_micros() / 4 * q);
    html! {
        <div class="scrubber">
            <div id="scrubber" ref={track_ref} class={classes!("track", dragging.then_some("dragging"))} title={texts.scrubber_title}
                 data-end-us={end.as_micros().to_string()}
                 role="slider" tabindex="0" aria-label={texts.scrubber_title}
                 aria-valuemin="0" aria-valuemax={(end.as_micros() / 1_000_000).to_string()}
                 aria-valuenow={(shown.as_micros() / 1_000_000).to_string()} aria-valuetext={shown.to_string()}
                 onpointerdown={onpointerdown} onpointermove={onpointermove} onpointerup={stop.clone()} onpointercancel={stop}
                 onkeydown={onkeydown}>
                <div class="explored" style={format!("width: {:.3}%", percent(props.frontier, end))}></div>
                <div id="computed" class="computed" style={format!("width: {:.3}%", percent(props.computed, end))}
                     data-computed-us={props.computed.as_micros().to_string()}
                     title={(texts.computed_ahead)(&props.computed.to_string())}></div>
                <div class="progress" style={format!("width: {:.3}%", percent(shown, end))}></div>
                { for ticks }
                { for marks }
                <div class="handle" style={format!("left: {:.3}%", percent(shown, end))}></div>
            </div>
            <div class="scale">
                { for (0..=4).map(|q| html! { <span>{ quarter(q).to_string() }</span> }) }
            </div>
        </div>
    }
}
