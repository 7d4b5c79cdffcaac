//! The footer: frame statistics (simulation work per frame, frames per second) and the first render
//! time, also as data attributes for the browser tests that measure them.

use yew::prelude::*;

use crate::i18n::Lang;
use crate::sim_context::Perf;

#[derive(Properties, PartialEq)]
pub struct PerfMeterProps {
    pub lang: Lang,
    pub perf: Perf,
    /// `performance.now()` when the app first rendered: ms since navigation started.
    pub first_render_ms: f64,
}

#[function_component(PerfMeter)]
pub fn perf_meter(props: &PerfMeterProps) -> Html {
    let texts = props.lang.texts();
    let perf = props.perf;
    html! {
        <footer class="footer">
            <span id="perf" class="muted small" data-work-ms={format!("{:.2}", perf.work_ms)} data-fps={format!("{:.1}", perf.fps)}
                  data-events={perf.events.to_string()} data-render-ms={format!("{:.2}", perf.render_ms)} data-budget-ms={format!("{:.2}", perf.budget_ms)} data-speed={format!("{:.1}", perf.speed)} data-first-render-ms={format!("{:.0}", props.first_render_ms)}>
                { (texts.perf)(&format!("{:.1}", perf.work_ms), &format!("{:.1}", perf.render_ms), &format!("{:.0}", perf.fps)) }
            </span>
            <span class="muted small">{ texts.footer }</span>
        </footer>
    }
}
