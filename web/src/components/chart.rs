//! A plotters chart on a canvas: live brokers per NameServer over virtual time.

use std::rc::Rc;

use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use rmqsim_core::view::SimView;
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct LiveBrokerChartProps {
    pub view: Rc<SimView>,
}

const PALETTE: [RGBColor; 4] =
    [RGBColor(31, 119, 180), RGBColor(255, 127, 14), RGBColor(44, 160, 44), RGBColor(214, 39, 40)];

#[function_component(LiveBrokerChart)]
pub fn live_broker_chart(props: &LiveBrokerChartProps) -> Html {
    let canvas = use_node_ref();
    {
        let canvas = canvas.clone();
        let view = props.view.clone();
        use_effect_with(view, move |view| {
            if let Some(element) = canvas.cast::<HtmlCanvasElement>() {
                if let Err(message) = draw(element, view) {
                    web_sys::console::warn_1(&format!("chart not drawn: {message}").into());
                }
            }
        });
    }
    html! { <canvas id="chart" ref={canvas} width="640" height="280"></canvas> }
}

fn draw(canvas: HtmlCanvasElement, view: &SimView) -> Result<(), String> {
    let backend = CanvasBackend::with_canvas_object(canvas).ok_or("no 2d context")?;
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let metrics = &view.metrics;
    let x_end = metrics.times.last().map_or(1, |t| t.as_millis() / 1_000).max(10) as i64;
    let y_end = metrics.series.iter().flat_map(|s| s.values.iter()).copied().max().unwrap_or(0).max(3) + 1;
    let mut chart = ChartBuilder::on(&root)
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(36)
        .build_cartesian_2d(0i64..x_end, 0i64..y_end)
        .map_err(|e| e.to_string())?;
    chart.configure_mesh().x_desc("virtual time (s)").y_desc("live brokers").draw().map_err(|e| e.to_string())?;
    for (index, series) in metrics.series.iter().enumerate() {
        let color = PALETTE[index % PALETTE.len()];
        let points = metrics.times.iter().zip(&series.values).map(|(t, v)| ((t.as_millis() / 1_000) as i64, *v));
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(series.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}
