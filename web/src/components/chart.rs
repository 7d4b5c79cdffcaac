//! Charts of the run over virtual time, drawn by plotters on a canvas: throughput, backlog, latency,
//! the at-risk meter, violation counts and the NameServers' live brokers, one tab at a time.
//!
//! The series come from core (`Checks::series()` and the view's metrics), sampled at fixed virtual
//! instants and bounded there by halving; here they are thinned again to about two points per
//! pixel column (the min and max of each column, so spikes survive). Hovering shows the exact
//! sample under the pointer. The chart exports as PNG (the canvas) and SVG (the same drawing,
//! redone by plotters' SVG backend). Redrawn only when a new series snapshot arrives (at most a
//! few times a second while playing), a tab or the language changes, not on every frame.

use std::cell::RefCell;
use std::rc::Rc;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use rmqsim_core::metrics::Metrics;
use rmqsim_core::time::Time;
use rmqsim_core::view::SimView;
use wasm_bindgen::JsCast;
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

use crate::i18n::{Lang, Texts};

#[derive(Properties, PartialEq)]
pub struct MetricsChartProps {
    pub lang: Lang,
    pub view: Rc<SimView>,
    /// The checkers' series (`Checks::series()`).
    pub checks: Rc<Metrics>,
}

const PALETTE: [RGBColor; 6] = [
    RGBColor(37, 99, 235),
    RGBColor(234, 88, 12),
    RGBColor(22, 163, 74),
    RGBColor(220, 38, 38),
    RGBColor(147, 51, 234),
    RGBColor(8, 145, 178),
];
const HEIGHT: u32 = 240;

/// The tabs of the chart panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChartKind {
    Throughput,
    Backlog,
    Latency,
    AtRisk,
    Violations,
    Brokers,
}

impl ChartKind {
    pub const ALL: [ChartKind; 6] = [
        ChartKind::Throughput,
        ChartKind::Backlog,
        ChartKind::Latency,
        ChartKind::AtRisk,
        ChartKind::Violations,
        ChartKind::Brokers,
    ];

    pub fn id(self) -> &'static str {
        match self {
            ChartKind::Throughput => "throughput",
            ChartKind::Backlog => "backlog",
            ChartKind::Latency => "latency",
            ChartKind::AtRisk => "at-risk",
            ChartKind::Violations => "violations",
            ChartKind::Brokers => "brokers",
        }
    }

    /// Whether a checkers' series belongs on this tab (by its name in `check::SERIES`).
    fn takes(self, name: &str) -> bool {
        match self {
            ChartKind::Throughput => name.ends_with("/s"),
            ChartKind::Backlog => name == "backlog" || name.starts_with("backlog:"),
            ChartKind::Latency => name.ends_with("_ms"),
            ChartKind::AtRisk => name == "at_risk",
            ChartKind::Violations => {
                matches!(name, "lost_acknowledged" | "duplicates" | "out_of_order" | "reordered")
            }
            ChartKind::Brokers => false,
        }
    }
}

/// The tab shown until the student picks one: throughput when the scenario sends messages, else the
/// NameServers' live brokers (a scenario about registration and expiry would open on a flat zero).
pub fn default_tab(view: &SimView) -> ChartKind {
    let sends = view.nodes.iter().any(|n| n.kind == rmqsim_core::world::NodeKind::Producer);
    if sends {
        ChartKind::Throughput
    } else {
        ChartKind::Brokers
    }
}

/// The tabs that have series to show (the checkers' series depend on the build, the NameServers on
/// the scenario).
pub fn available(view: &SimView, checks: &Metrics) -> Vec<ChartKind> {
    ChartKind::ALL
        .into_iter()
        .filter(|k| match k {
            ChartKind::Brokers => !view.metrics.series.is_empty(),
            _ => checks.series.iter().any(|s| k.takes(&s.name)),
        })
        .collect()
}

/// What one tab draws: sample instants (ms) and named series of the same length.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plot {
    pub times_ms: Vec<i64>,
    pub lines: Vec<(String, Vec<i64>)>,
}

impl Plot {
    /// The series of `kind`, labelled in the current language.
    pub fn of(kind: ChartKind, view: &SimView, checks: &Metrics, texts: &Texts) -> Plot {
        let (metrics, names): (&Metrics, Vec<usize>) = match kind {
            ChartKind::Brokers => (&view.metrics, (0..view.metrics.series.len()).collect()),
            _ => (checks, (0..checks.series.len()).filter(|i| kind.takes(&checks.series[*i].name)).collect()),
        };
        let label = |name: &str| match kind {
            ChartKind::Brokers => (texts.chart_live_brokers)(name),
            _ => (texts.chart_series)(name),
        };
        Plot {
            times_ms: metrics.times.iter().map(|t| (t.as_micros() / 1_000) as i64).collect(),
            lines: names
                .into_iter()
                .map(|i| (label(&metrics.series[i].name), metrics.series[i].values.clone()))
                .collect(),
        }
    }

    fn is_empty(&self) -> bool {
        self.times_ms.is_empty() || self.lines.is_empty()
    }
}

/// At most about `2 × columns` points: the min and the max of each run of samples sharing a column,
/// in time order, so a one-sample spike is still drawn.
pub fn downsample(times: &[i64], values: &[i64], columns: usize) -> Vec<(i64, i64)> {
    let n = times.len().min(values.len());
    let columns = columns.max(1);
    if n <= 2 * columns {
        return times.iter().zip(values).map(|(t, v)| (*t, *v)).take(n).collect();
    }
    let per = n.div_ceil(columns);
    let mut out = Vec::with_capacity(2 * columns + 1);
    let mut start = 0;
    while start < n {
        let end = (start + per).min(n);
        let (mut low, mut high) = (start, start);
        for i in start..end {
            if values[i] < values[low] {
                low = i;
            }
            if values[i] > values[high] {
                high = i;
            }
        }
        for i in if low <= high { [low, high] } else { [high, low] } {
            if out.last() != Some(&(times[i], values[i])) {
                out.push((times[i], values[i]));
            }
        }
        start = end;
    }
    out
}

/// The index of the sample nearest to `t` (times ascending), if any.
pub fn nearest(times: &[i64], t: i64) -> Option<usize> {
    if times.is_empty() {
        return None;
    }
    let after = times.partition_point(|x| *x < t);
    if after == 0 {
        return Some(0);
    }
    if after == times.len() {
        return Some(times.len() - 1);
    }
    Some(if t - times[after - 1] <= times[after] - t { after - 1 } else { after })
}

/// Where the plotting area was drawn: pixel columns and the time range they span.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Frame {
    x0: i32,
    x1: i32,
    t0: i64,
    t1: i64,
}

impl Frame {
    fn time_at(&self, x: f64) -> i64 {
        let span = f64::from((self.x1 - self.x0).max(1));
        self.t0 + (((x - f64::from(self.x0)) / span).clamp(0.0, 1.0) * (self.t1 - self.t0) as f64) as i64
    }

    fn x_of(&self, t: i64) -> f64 {
        let span = (self.t1 - self.t0).max(1) as f64;
        f64::from(self.x0) + (t - self.t0) as f64 / span * f64::from(self.x1 - self.x0)
    }
}

/// How the time axis reads: in seconds up to ten minutes, then as a clock (a five-hour run read
/// "10000"). Indexes the language's three axis descriptions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TimeUnit {
    Seconds = 0,
    MinutesSeconds = 1,
    HoursMinutesSeconds = 2,
}

/// The readable steps between two labelled ticks, in ms.
const TICK_STEPS_MS: [i64; 18] = [
    1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000,
    7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000,
];

/// A label takes about this many pixels with its gap.
const TICK_LABEL_PX: i64 = 70;
/// A character of a tick label, in pixels (plotters' default 12 px sans-serif, digits and colons).
const LABEL_CHAR_PX: i64 = 7;
/// The chart's margin where no label needs more.
const MARGIN_PX: i64 = 10;

/// The time axis of a chart: labelled ticks at whole seconds, minutes or hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TimeAxis {
    step_ms: i64,
    unit: TimeUnit,
}

impl TimeAxis {
    /// The smallest readable step that fits the labels of `0..=end_ms` in `width_px`.
    fn new(end_ms: i64, width_px: i64) -> TimeAxis {
        let most = ((width_px - 60) / TICK_LABEL_PX).max(3);
        let step_ms = TICK_STEPS_MS.into_iter().find(|step| end_ms / step <= most).unwrap_or(TICK_STEPS_MS[17]);
        let unit = if end_ms <= 600_000 {
            TimeUnit::Seconds
        } else if end_ms < 3_600_000 {
            TimeUnit::MinutesSeconds
        } else {
            TimeUnit::HoursMinutesSeconds
        };
        TimeAxis { step_ms, unit }
    }

    fn ticks(&self, end_ms: i64) -> Vec<i64> {
        (0..=end_ms).step_by(self.step_ms as usize).collect()
    }

    /// The unlabelled grid lines: sixths of the steps a clock divides by six (30 s, 1 min, 1 h, ...),
    /// else fifths.
    fn light_ticks(&self, end_ms: i64) -> Vec<i64> {
        let sixths = [30_000, 60_000, 120_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000];
        let parts = if sixths.contains(&self.step_ms) || self.step_ms == 86_400_000 { 6 } else { 5 };
        (0..=end_ms).step_by((self.step_ms / parts).max(1) as usize).filter(|t| t % self.step_ms != 0).collect()
    }

    /// Room right of the plot for the last label, centred on its tick: a tick at the very end of a
    /// run hours long ("3:00:00") needs more than the usual margin, or it is cut.
    fn right_margin_px(&self, end_ms: i64) -> i64 {
        let last = self.ticks(end_ms).last().copied().unwrap_or(0);
        let half_label = self.label(last).chars().count() as i64 * LABEL_CHAR_PX / 2 + 2;
        half_label.max(MARGIN_PX)
    }

    fn label(&self, ms: i64) -> String {
        let seconds = ms / 1_000;
        match self.unit {
            TimeUnit::Seconds => seconds.to_string(),
            TimeUnit::MinutesSeconds => format!("{}:{:02}", seconds / 60, seconds % 60),
            TimeUnit::HoursMinutesSeconds => {
                format!("{}:{:02}:{:02}", seconds / 3_600, seconds / 60 % 60, seconds % 60)
            }
        }
    }
}

/// The legend's rows, its padding and the plotting area's height (HEIGHT less margins and the
/// x-axis labels), in pixels; and how much of the time axis the legend box covers, in percent.
const LEGEND_ROW_PX: i64 = 18;
const LEGEND_PADDING_PX: i64 = 12;
const PLOT_AREA_PX: i64 = HEIGHT as i64 - 2 * 10 - 38;
const LEGEND_WIDTH_PERCENT: i64 = 35;

/// Where the legend goes so it hides no line: the upper corner whose side of the chart the lines
/// leave free, with the value axis raised above the lines there when they reach into it. A flash
/// sale's peak at the start was drawn under an upper-left legend.
#[derive(Clone, Debug, PartialEq)]
struct LegendPlace {
    corner: SeriesLabelPosition,
    /// The top of the value axis.
    y_end: i64,
}

impl LegendPlace {
    fn of(plot: &Plot, x_end: i64, y_start: i64) -> LegendPlace {
        // The highest value drawn between two instants.
        let highest = |from: i64, to: i64| {
            let samples = plot.times_ms.iter().enumerate().filter(|(_, t)| (from..=to).contains(*t));
            let values = samples.flat_map(|(i, _)| plot.lines.iter().filter_map(move |(_, v)| v.get(i)));
            values.copied().max().unwrap_or(y_start)
        };
        let all = highest(i64::MIN, i64::MAX).max(3) + 1;
        // The legend covers the top `used / PLOT_AREA_PX` of the axis: a line below that stays clear.
        let used = (LEGEND_ROW_PX * plot.lines.len() as i64 + LEGEND_PADDING_PX).min(PLOT_AREA_PX / 2);
        let clear_above = |top: i64| {
            let needed = y_start + (top - y_start) * PLOT_AREA_PX / (PLOT_AREA_PX - used) + 1;
            all.max(needed)
        };
        let covered = x_end * LEGEND_WIDTH_PERCENT / 100;
        let left = clear_above(highest(i64::MIN, covered));
        let right = clear_above(highest(x_end - covered, i64::MAX));
        if left <= right {
            LegendPlace { corner: SeriesLabelPosition::UpperLeft, y_end: left }
        } else {
            LegendPlace { corner: SeriesLabelPosition::UpperRight, y_end: right }
        }
    }
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, plot: &Plot, x_labels: &[&str; 3]) -> Result<Frame, String> {
    let fail = |e: DrawingAreaErrorKind<DB::ErrorType>| format!("{e:?}");
    root.fill(&WHITE).map_err(fail)?;
    let (width, _) = root.dim_in_pixel();
    let x_end = plot.times_ms.last().copied().unwrap_or(0).max(10_000);
    let values = plot.lines.iter().flat_map(|(_, v)| v.iter()).copied();
    let y_start = values.min().unwrap_or(0).min(0);
    let legend = LegendPlace::of(plot, x_end, y_start);
    let y_end = legend.y_end;
    let axis = TimeAxis::new(x_end, i64::from(width));
    let label = |ms: &i64| axis.label(*ms);
    let x_range = (0i64..x_end).with_key_points(axis.ticks(x_end)).with_light_points(axis.light_ticks(x_end));
    let mut chart = ChartBuilder::on(&root)
        .margin(MARGIN_PX as u32)
        .margin_right(axis.right_margin_px(x_end) as u32)
        .x_label_area_size(38)
        .y_label_area_size(48)
        .build_cartesian_2d(x_range, y_start..y_end)
        .map_err(fail)?;
    chart
        .configure_mesh()
        .x_desc(x_labels[axis.unit as usize])
        .x_label_formatter(&label)
        .light_line_style(RGBColor(238, 241, 245))
        .bold_line_style(RGBColor(220, 225, 232))
        .axis_style(RGBColor(160, 168, 180))
        .draw()
        .map_err(fail)?;
    let columns = (width as usize).saturating_sub(60).max(50);
    for (index, (label, values)) in plot.lines.iter().enumerate() {
        let color = PALETTE[index % PALETTE.len()];
        let points = downsample(&plot.times_ms, values, columns);
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(fail)?
            .label(label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
    }
    if !plot.lines.is_empty() {
        chart
            .configure_series_labels()
            .position(legend.corner)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(200, 205, 215))
            .draw()
            .map_err(fail)?;
    }
    let (xs, _) = chart.plotting_area().get_pixel_range();
    root.present().map_err(fail)?;
    Ok(Frame { x0: xs.start, x1: xs.end, t0: 0, t1: x_end })
}

/// The same chart as an SVG document.
fn svg(plot: &Plot, x_labels: &[&str; 3], width: u32) -> Result<String, String> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (width, HEIGHT)).into_drawing_area();
        draw(root, plot, x_labels)?;
    }
    Ok(text)
}

/// Offer a download of `url` (a data: or blob: URL) as `file_name`.
fn download_url(file_name: &str, url: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    if let Ok(anchor) = document.create_element("a").map(|a| a.unchecked_into::<web_sys::HtmlAnchorElement>()) {
        anchor.set_href(url);
        anchor.set_download(file_name);
        anchor.click();
    }
}

#[function_component(MetricsChart)]
pub fn metrics_chart(props: &MetricsChartProps) -> Html {
    let texts = props.lang.texts();
    let canvas = use_node_ref();
    // None until the student picks a tab.
    let chosen = use_state(|| None::<ChartKind>);
    let tabs_shown = available(&props.view, &props.checks);
    let wanted = (*chosen).unwrap_or_else(|| default_tab(&props.view));
    let kind = if tabs_shown.contains(&wanted) { wanted } else { tabs_shown.first().copied().unwrap_or(wanted) };
    let frame: Rc<RefCell<Option<Frame>>> = use_mut_ref(|| None);
    // The pointer's sample: its x in CSS pixels over the canvas, and its index.
    let hover = use_state(|| None::<(f64, usize)>);
    // What the drawing depends on: the tab, the series snapshots (new Rcs when new samples are
    // published; the old ones are still alive then, so their addresses cannot be reused) and the language.
    let key = (kind, Rc::as_ptr(&props.view) as usize, Rc::as_ptr(&props.checks) as usize, props.lang);
    let plot = {
        let (view, checks) = (Rc::clone(&props.view), Rc::clone(&props.checks));
        use_memo(key, move |_| Plot::of(kind, &view, &checks, texts))
    };
    {
        let canvas = canvas.clone();
        let frame = Rc::clone(&frame);
        let plot = Rc::clone(&plot);
        use_effect_with(key, move |(_, _, _, lang)| {
            if let Some(element) = canvas.cast::<HtmlCanvasElement>() {
                let width = element.parent_element().map_or(640, |p| p.client_width()).clamp(320, 1600);
                element.set_width(width as u32);
                element.set_height(HEIGHT);
                let drawn = CanvasBackend::with_canvas_object(element)
                    .ok_or_else(|| "no 2d context".to_string())
                    .and_then(|backend| draw(backend.into_drawing_area(), &plot, &lang.texts().chart_time));
                match drawn {
                    Ok(drawn) => *frame.borrow_mut() = Some(drawn),
                    Err(message) => web_sys::console::warn_1(&format!("chart not drawn: {message}").into()),
                }
            }
        });
    }
    let onmousemove = {
        let canvas = canvas.clone();
        let frame = Rc::clone(&frame);
        let plot = Rc::clone(&plot);
        let hover = hover.clone();
        Callback::from(move |event: MouseEvent| {
            let (Some(element), Some(frame)) = (canvas.cast::<HtmlCanvasElement>(), *frame.borrow()) else { return };
            let rect = element.get_bounding_client_rect();
            if rect.width() <= 0.0 {
                return;
            }
            let scale = f64::from(element.width()) / rect.width();
            let x = (f64::from(event.client_x()) - rect.left()) * scale;
            let inside = x >= f64::from(frame.x0) - 4.0 && x <= f64::from(frame.x1) + 4.0;
            let under = nearest(&plot.times_ms, frame.time_at(x))
                .filter(|_| inside && !plot.lines.is_empty())
                .map(|index| (frame.x_of(plot.times_ms[index]) / scale, index));
            // Re-render only when the pointer moves to another sample.
            if under.map(|(_, i)| i) != hover.map(|(_, i)| i) {
                hover.set(under);
            }
        })
    };
    let onmouseleave = {
        let hover = hover.clone();
        Callback::from(move |_: MouseEvent| hover.set(None))
    };
    let file_stem = format!("rmqsim-{}-{}", props.view.scenario_id, kind.id());
    let on_png = {
        let canvas = canvas.clone();
        let name = format!("{file_stem}.png");
        Callback::from(move |_: MouseEvent| {
            if let Some(url) = canvas.cast::<HtmlCanvasElement>().and_then(|c| c.to_data_url().ok()) {
                download_url(&name, &url);
            }
        })
    };
    let on_svg = {
        let canvas = canvas.clone();
        let plot = Rc::clone(&plot);
        let name = format!("{file_stem}.svg");
        let lang = props.lang;
        Callback::from(move |_: MouseEvent| {
            let width = canvas.cast::<HtmlCanvasElement>().map_or(640, |c| c.width());
            match svg(&plot, &lang.texts().chart_time, width) {
                Ok(text) => crate::browser::download(&name, "image/svg+xml", &text),
                Err(message) => web_sys::console::warn_1(&format!("chart not exported: {message}").into()),
            }
        })
    };
    let tabs = tabs_shown.iter().map(|k| {
        let chosen = chosen.clone();
        let hover = hover.clone();
        let k = *k;
        let onclick = Callback::from(move |_: MouseEvent| {
            hover.set(None);
            chosen.set(Some(k));
        });
        html! {
            <button type="button" class={classes!("tab", (kind == k).then_some("active"))} id={format!("chart-tab-{}", k.id())}
                    aria-pressed={(kind == k).to_string()} onclick={onclick}>{ texts.chart_tab(k) }</button>
        }
    });
    let tooltip = hover.and_then(|(x, index)| {
        let at = *plot.times_ms.get(index)?;
        let rows = plot.lines.iter().enumerate().map(|(i, (label, values))| {
            let color = PALETTE[i % PALETTE.len()];
            html! {
                <div class="row">
                    <span class="swatch" style={format!("background: rgb({}, {}, {})", color.0, color.1, color.2)}></span>
                    <span class="label">{ label }</span>
                    <b>{ values.get(index).copied().unwrap_or_default() }</b>
                </div>
            }
        });
        // Keep the box inside the chart: right of the line in the left half, left of it otherwise.
        let side = if x > 320.0 { format!("right: calc(100% - {x:.0}px + 8px)") } else { format!("left: {:.0}px", x + 8.0) };
        Some(html! {
            <>
                <div class="crosshair" style={format!("left: {x:.1}px")}></div>
                <div id="chart-tooltip" class="chart-tooltip" style={side}>
                    <div class="time">{ Time::from_millis(at.max(0) as u64).to_string() }</div>
                    { for rows }
                </div>
            </>
        })
    });
    html! {
        <section class="panel chart-panel">
            <div class="panel-header">
                <h2>{ texts.chart_title }</h2>
                <span class="chart-export" title={texts.chart_export_title}>
                    <button type="button" id="chart-png" onclick={on_png}>{ "PNG" }</button>
                    <button type="button" id="chart-svg" onclick={on_svg}>{ "SVG" }</button>
                </span>
            </div>
            <div class="chart-tabs" role="group">{ for tabs }</div>
            <p class="muted small chart-note">{ texts.chart_note(kind) }</p>
            <div class="chart-box" onmousemove={onmousemove} onmouseleave={onmouseleave}>
                // No width or height here: the effect sizes the canvas, and Yew setting either again
                // (even to the same value) would clear the drawing. The overlay keeps the box's children
                // the same two nodes, so the canvas is never replaced when the tooltip comes and goes.
                <canvas id="chart" data-kind={kind.id()} data-samples={plot.times_ms.len().to_string()} ref={canvas}
                        role="img" aria-label={summary(&plot, texts.chart_tab(kind))}></canvas>
                <div class="chart-overlay">
                    if plot.is_empty() {
                        <div class="chart-empty">{ texts.chart_empty }</div>
                    }
                    { for tooltip }
                </div>
            </div>
        </section>
    }
}

/// The chart in words, for a screen reader: its name and each line's latest value.
fn summary(plot: &Plot, name: &str) -> String {
    let Some(&last_ms) = plot.times_ms.last() else { return name.to_string() };
    let index = plot.times_ms.len() - 1;
    let values: Vec<String> = plot
        .lines
        .iter()
        .map(|(label, values)| format!("{label} {}", values.get(index).copied().unwrap_or_default()))
        .collect();
    format!("{name} · {}: {}", Time::from_millis(last_ms.max(0) as u64), values.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::EN;

    #[test]
    fn thinning_keeps_every_spike_and_at_most_two_points_per_column() {
        let times: Vec<i64> = (0..10_000).collect();
        let mut values = vec![5i64; 10_000];
        values[4_321] = 900;
        values[7_777] = -3;
        let points = downsample(&times, &values, 100);
        assert!(points.len() <= 200, "{}", points.len());
        assert!(points.contains(&(4_321, 900)) && points.contains(&(7_777, -3)));
        assert!(points.windows(2).all(|w| w[0].0 < w[1].0), "in time order");
        // Short series are drawn as they are.
        assert_eq!(downsample(&times[..10], &values[..10], 100).len(), 10);
    }

    #[test]
    fn the_pointer_picks_the_nearest_sample() {
        let times = [0, 1_000, 2_000, 4_000];
        assert_eq!(nearest(&times, -50), Some(0));
        assert_eq!(nearest(&times, 1_400), Some(1));
        assert_eq!(nearest(&times, 1_600), Some(2));
        assert_eq!(nearest(&times, 3_100), Some(3));
        assert_eq!(nearest(&times, 9_999), Some(3));
        assert_eq!(nearest(&[], 5), None);
    }

    #[test]
    fn each_tab_takes_its_series_from_the_checkers() {
        let names: Vec<String> = rmqsim_core::check::SERIES.iter().map(|s| s.to_string()).collect();
        let mut checks = Metrics::new(rmqsim_core::time::Duration::from_secs(1), &names, 64);
        let values: Vec<i64> = (1..=names.len() as i64).collect();
        checks.record(&values);
        let id = "consumer-backlog";
        let scenario =
            rmqsim_core::scenario::Scenario::parse(id, rmqsim_core::scenario::library::find(id).unwrap()).unwrap();
        let view = rmqsim_core::Simulation::new(&scenario, 1).unwrap().view();
        let texts = Lang::En.texts();
        let plot = Plot::of(ChartKind::Throughput, &view, &checks, texts);
        assert_eq!(plot.lines.iter().map(|(_, v)| v[0]).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(Plot::of(ChartKind::AtRisk, &view, &checks, texts).lines[0].1, vec![4]);
        assert_eq!(Plot::of(ChartKind::Latency, &view, &checks, texts).lines.len(), 4);
        assert_eq!(Plot::of(ChartKind::Violations, &view, &checks, texts).lines.len(), 2);
        assert_eq!(Plot::of(ChartKind::Backlog, &view, &checks, texts).lines[0].1, vec![3]);
    }

    #[test]
    fn a_scenario_without_producers_opens_on_the_live_brokers_and_one_with_producers_on_throughput() {
        let view = |id: &str| {
            let text = rmqsim_core::scenario::library::find(id).unwrap();
            let scenario = rmqsim_core::scenario::Scenario::parse(id, text).unwrap();
            rmqsim_core::Simulation::new(&scenario, 1).unwrap().view()
        };
        assert_eq!(default_tab(&view("broker-heartbeats")), ChartKind::Brokers);
        assert_eq!(default_tab(&view("consumer-backlog")), ChartKind::Throughput);
    }

    #[test]
    fn the_legend_goes_to_the_upper_corner_the_lines_leave_free() {
        let times_ms: Vec<i64> = (0..=10).map(|s| s * 1_000).collect();
        let peak_first = vec![0, 2_000, 2_000, 400, 400, 400, 0, 0, 0, 0, 0];
        let plot = Plot { times_ms: times_ms.clone(), lines: vec![("acknowledged / s".into(), peak_first)] };
        let place = LegendPlace::of(&plot, 10_000, 0);
        assert_eq!(place.corner, SeriesLabelPosition::UpperRight);
        assert_eq!(place.y_end, 2_001, "the right side is free: no room needs to be made");
        let rising = vec![0, 0, 0, 100, 300, 500, 700, 900, 1_100, 1_300, 1_500];
        let plot = Plot { times_ms, lines: vec![("backlog".into(), rising)] };
        assert_eq!(LegendPlace::of(&plot, 10_000, 0).corner, SeriesLabelPosition::UpperLeft);
    }

    #[test]
    fn the_value_axis_rises_above_the_lines_when_they_fill_both_upper_corners() {
        let flat = vec![1_000; 11];
        let plot = Plot { times_ms: (0..=10).map(|s| s * 1_000).collect(), lines: vec![("a".into(), flat)] };
        let place = LegendPlace::of(&plot, 10_000, 0);
        assert_eq!(place.corner, SeriesLabelPosition::UpperLeft);
        // One legend row and its padding cover 30 of the plot's 182 pixels: the line stays below them.
        let legend_top = place.y_end - place.y_end * 30 / 182;
        assert!(legend_top > 1_000, "the legend starts at {legend_top}, above the line at 1000");
    }

    #[test]
    fn the_time_axis_reads_in_seconds_up_to_ten_minutes_then_as_a_clock_at_whole_steps() {
        let axis = |end_ms| TimeAxis::new(end_ms, 640);
        let short = axis(180_000);
        assert_eq!((short.unit, short.step_ms), (TimeUnit::Seconds, 30_000));
        assert_eq!(short.ticks(180_000).iter().map(|t| short.label(*t)).collect::<Vec<_>>()[..3], ["0", "30", "60"]);
        let half_hour = axis(1_800_000);
        assert_eq!((half_hour.unit, half_hour.step_ms), (TimeUnit::MinutesSeconds, 300_000));
        assert_eq!(half_hour.label(300_000), "5:00");
        // The poison message's five hours: hour ticks, not "10000".
        let long = axis(18_000_000);
        assert_eq!((long.unit, long.step_ms), (TimeUnit::HoursMinutesSeconds, 3_600_000));
        assert_eq!(long.label(3_600_000), "1:00:00");
        assert!(long.light_ticks(18_000_000).contains(&600_000), "ten-minute grid lines");
        // A narrow chart takes fewer labels.
        assert!(TimeAxis::new(180_000, 320).step_ms > short.step_ms);
    }

    #[test]
    fn the_last_label_of_an_hours_long_axis_fits_inside_the_chart() {
        // The poison message at 3 h: the last tick, "3:00:00", sits at the right end of the plot.
        let times_ms: Vec<i64> = (0..=180).map(|minute| minute * 60_000).collect();
        let plot = Plot { lines: vec![("consumed/s".into(), vec![0; times_ms.len()])], times_ms };
        let text = svg(&plot, &EN.chart_time, 640).unwrap();
        let tag = text.split("<text").find(|t| t.split('>').nth(1).is_some_and(|c| c.trim().starts_with("3:00:00")));
        let tag = tag.expect("a 3:00:00 label");
        let x: f64 = tag.split("x=\"").nth(1).and_then(|v| v.split('"').next()).unwrap().parse().unwrap();
        let half_width = 7.0 * LABEL_CHAR_PX as f64 / 2.0;
        assert!(x + half_width <= 640.0, "the label centred at {x} px runs past the 640 px chart");
    }

    #[test]
    fn a_screen_reader_hears_the_charts_name_and_each_lines_latest_value() {
        let plot = Plot {
            times_ms: vec![0, 1_000, 2_000],
            lines: vec![("acked/s".into(), vec![0, 7, 9]), ("consumed/s".into(), vec![0, 5, 8])],
        };
        assert_eq!(summary(&plot, "Throughput"), "Throughput · 00:02.000: acked/s 9, consumed/s 8");
        assert_eq!(summary(&Plot { times_ms: vec![], lines: vec![] }, "Backlog"), "Backlog");
    }

    #[test]
    fn a_chart_exports_as_an_svg_document_with_its_legend() {
        let plot = Plot { times_ms: vec![0, 1_000, 2_000], lines: vec![("at risk".into(), vec![0, 7, 2])] };
        let text = svg(&plot, &EN.chart_time, 640).unwrap();
        assert!(text.starts_with("<svg") && text.contains("at risk") && text.contains("virtual time (s)"), "{text}");
    }
}
