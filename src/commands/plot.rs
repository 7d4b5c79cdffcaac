//! `rmqsim plot`: run a scenario and draw its checkers' series as an SVG (plotters' SVG backend):
//! throughput (acknowledged and consumed per second), backlog, p99 latencies and the at-risk meter,
//! against virtual time.

use std::path::PathBuf;

use clap::Args;
use plotters::prelude::*;
use rmqsim_core::check::SERIES;
use rmqsim_core::metrics::Metrics;

use crate::commands::check::{fault_plan, run_checked, until_of};
use crate::exit::{Failure, IO_ERROR};
use crate::scenario_file;

#[derive(Args)]
pub struct PlotArgs {
    /// A scenario file, or the id of a built-in scenario
    scenario: String,
    /// The SVG file to write
    #[arg(long, value_name = "FILE.svg")]
    out: PathBuf,
    /// The seed (default: the scenario's own)
    #[arg(long)]
    seed: Option<u64>,
    /// Virtual time to run to (default: the scenario's run_for)
    #[arg(long)]
    until: Option<String>,
    /// Add faults: `none` or `random-single`
    #[arg(long, default_value = "none")]
    faults: String,
}

/// One panel: a title, a unit, and the series (by name in [`SERIES`]) it draws.
struct Panel {
    title: &'static str,
    series: &'static [&'static str],
}

const PANELS: [Panel; 4] = [
    Panel { title: "throughput (messages/s)", series: &["acknowledged/s", "consumed/s"] },
    Panel { title: "backlog (messages not yet processed, all groups)", series: &["backlog"] },
    Panel { title: "p99 latency per second (ms)", series: &["send_p99_ms", "delivery_p99_ms"] },
    Panel { title: "at risk (acknowledged, not yet durable)", series: &["at_risk"] },
];

const COLORS: [RGBColor; 2] = [RGBColor(31, 119, 180), RGBColor(214, 39, 40)];

fn values<'m>(metrics: &'m Metrics, name: &str) -> &'m [i64] {
    metrics.series.iter().find(|s| s.name == name).map_or(&[], |s| s.values.as_slice())
}

/// Draw `metrics` into an SVG document.
pub(crate) fn render(title: &str, metrics: &Metrics) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1200, 800)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let root = root.titled(title, ("sans-serif", 22)).map_err(|e| e.to_string())?;
        let seconds: Vec<i64> = metrics.times.iter().map(|t| (t.as_micros() / 1_000_000) as i64).collect();
        let x_max = seconds.last().copied().unwrap_or(1).max(1);
        for (area, panel) in root.split_evenly((2, 2)).iter().zip(PANELS.iter()) {
            let y_max = panel.series.iter().flat_map(|s| values(metrics, s).iter().copied()).max().unwrap_or(0).max(1);
            let mut chart = ChartBuilder::on(area)
                .caption(panel.title, ("sans-serif", 16))
                .margin(10)
                .x_label_area_size(30)
                .y_label_area_size(60)
                .build_cartesian_2d(0i64..x_max, 0i64..y_max + y_max / 10 + 1)
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .x_desc("virtual time (s)")
                .light_line_style(WHITE.mix(0.0))
                .draw()
                .map_err(|e| e.to_string())?;
            for (index, name) in panel.series.iter().enumerate() {
                let color = COLORS[index % COLORS.len()];
                let points: Vec<(i64, i64)> =
                    seconds.iter().copied().zip(values(metrics, name).iter().copied()).collect();
                chart
                    .draw_series(LineSeries::new(points, color.stroke_width(2)))
                    .map_err(|e| e.to_string())?
                    .label(*name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

pub fn plot(args: &PlotArgs) -> Result<(), Failure> {
    let scenario = scenario_file::load(&args.scenario)?;
    let seed = args.seed.unwrap_or(scenario.seed);
    let until = until_of(&scenario, args.until.as_deref())?;
    let plan = fault_plan(&args.faults)?;
    let run = run_checked(&scenario, seed, until, plan, &[])?;
    debug_assert!(run.simulation.checks().series().series.len() >= SERIES.len());
    let title = format!("{} (seed {seed})", scenario.id);
    let svg = render(&title, run.simulation.checks().series())
        .map_err(|e| Failure::new(IO_ERROR, format!("drawing the chart: {e}")))?;
    std::fs::write(&args.out, svg)
        .map_err(|e| Failure::new(IO_ERROR, format!("cannot write {}: {e}", args.out.display())))?;
    println!(
        "wrote {} ({} samples, every {})",
        args.out.display(),
        run.simulation.checks().series().times.len(),
        run.simulation.checks().series().interval
    );
    Ok(())
}
