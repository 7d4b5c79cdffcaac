//! A plotters chart on a canvas: every metric series the view carries, over virtual time.
//!
//! Redrawn only when a new sample arrives (or the language changes), not on every frame.

use std::rc::Rc;

use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use rmqsim_core::metrics::Metrics;
use rmqsim_core::view::SimView;
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

use crate::i18n::Lang;

#[derive(Properties, PartialEq)]
pub struct MetricsChartProps {
    pub lang: Lang,
    pub view: Rc<SimView>,
}

const PALETTE: [RGBColor; 6] = [
    RGBColor(37, 99, 235),
    RGBColor(234, 88, 12),
    RGBColor(22, 163, 74),
    RGBColor(220, 38, 38),
    RGBColor(147, 51, 234),
    RGBColor(8, 145, 178),
];

#[function_component(MetricsChart)]
pub fn metrics_chart(props: &MetricsChartProps) -> Html {
    let texts = props.lang.texts();
    let canvas = use_node_ref();
    {
        let canvas = canvas.clone();
        let metrics = &props.view.metrics;
        let key = (metrics.times.len(), metrics.times.last().copied(), metrics.series.len(), props.lang);
        let view = Rc::clone(&props.view);
        use_effect_with(key, move |(_, _, _, lang)| {
            if let Some(element) = canvas.cast::<HtmlCanvasElement>() {
                let width = element.parent_element().map_or(640, |p| p.client_width()).clamp(320, 1600);
                element.set_width(width as u32);
                if let Err(message) = draw(element, &view.metrics, lang.texts().chart_time) {
                    web_sys::console::warn_1(&format!("chart not drawn: {message}").into());
                }
            }
        });
    }
    html! {
        <section class="panel chart-panel">
            <h2>{ texts.chart_title }</h2>
            <div class="chart-box"><canvas id="chart" ref={canvas} width="640" height="220"></canvas></div>
        </section>
    }
}

fn draw(canvas: HtmlCanvasElement, metrics: &Metrics, x_label: &str) -> Result<(), String> {
    let backend = CanvasBackend::with_canvas_object(canvas).ok_or("no 2d context")?;
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let x_end = metrics.times.last().map_or(1, |t| t.as_millis() / 1_000).max(10) as i64;
    let values = metrics.series.iter().flat_map(|s| s.values.iter()).copied();
    let y_end = values.clone().max().unwrap_or(0).max(3) + 1;
    let y_start = values.min().unwrap_or(0).min(0);
    let mut chart = ChartBuilder::on(&root)
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(0i64..x_end, y_start..y_end)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .light_line_style(RGBColor(238, 241, 245))
        .bold_line_style(RGBColor(220, 225, 232))
        .axis_style(RGBColor(160, 168, 180))
        .draw()
        .map_err(|e| e.to_string())?;
    for (index, series) in metrics.series.iter().enumerate() {
        let color = PALETTE[index % PALETTE.len()];
        let points = metrics.times.iter().zip(&series.values).map(|(t, v)| ((t.as_millis() / 1_000) as i64, *v));
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(series.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
    }
    if !metrics.series.is_empty() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(200, 205, 215))
            .draw()
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}
