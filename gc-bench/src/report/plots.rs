//! The report's SVG figures, drawn with plotters (SVG backend only):
//!
//! - `time-WORKLOAD.svg` — median wall time per configuration, with a whisker from the fastest
//!   to the slowest repetition;
//! - `pauses.svg` — the pause-time distribution per configuration: the cumulative share of pauses
//!   up to each duration (log scale), from the histograms of every run of every workload;
//! - `steady-burst-tracked.svg` — live (and, for gclab, tracked) objects over the ticks of
//!   `steady-burst`, first repetition;
//! - `big-drop-rss.svg` — resident memory at each step of `big-drop`, medians.

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Report;
use crate::pauses::bucket_upper_us;

/// One figure: where it goes, what it shows, and its SVG text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plot {
    /// Path relative to the report directory (`plots/pauses.svg`).
    pub file: String,
    /// Short title (the image's alternative text).
    pub title: String,
    /// How to read it.
    pub caption: String,
    /// The SVG document.
    pub svg: String,
}

/// Width and height of every figure, in pixels.
const SIZE: (u32, u32) = (900, 420);

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Draws every figure the report's data allows.
pub fn render_all(report: &Report) -> Result<Vec<Plot>, String> {
    let mut plots = Vec::new();
    for workload in &report.workloads {
        if report.summaries.iter().any(|c| c.workload == workload.name) {
            plots.push(time_per_configuration(report, &workload.name)?);
        }
    }
    if report.runs.iter().any(|r| r.pauses.count > 0) {
        plots.push(pause_distribution(report)?);
    }
    if report.runs.iter().any(|r| r.workload == "steady-burst") {
        plots.push(steady_burst_tracked(report)?);
    }
    if report.summaries.iter().any(|c| c.workload == "big-drop") {
        plots.push(big_drop_rss(report)?);
    }
    Ok(plots)
}

/// Runs `draw` on a fresh SVG canvas and returns the document.
fn svg(draw: impl FnOnce(&Area<'_>) -> Result<(), String>) -> Result<String, String> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        draw(&root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(text)
}

/// The colour of series `i`.
fn color(i: usize) -> RGBColor {
    const COLORS: [RGBColor; 14] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(188, 189, 34),
        RGBColor(23, 190, 207),
        RGBColor(0, 0, 0),
        RGBColor(174, 199, 232),
        RGBColor(255, 187, 120),
        RGBColor(152, 223, 138),
    ];
    COLORS[i % COLORS.len()]
}

/// Horizontal bars: median wall time per configuration for one workload.
fn time_per_configuration(report: &Report, workload: &str) -> Result<Plot, String> {
    let cells: Vec<_> = report
        .configs
        .iter()
        .filter_map(|c| report.cell(workload, &c.name))
        .collect();
    let names: Vec<String> = cells.iter().map(|c| c.config.clone()).collect();
    let n = cells.len();
    // Segment 0 is at the bottom: the first configuration goes to the top.
    let row = |i: usize| n - 1 - i;
    let x_max = cells.iter().map(|c| c.wall_ms.max).fold(0.0, f64::max) * 1.1 + 1e-9;
    let document = svg(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("{workload}: wall time per configuration"),
                ("sans-serif", 20),
            )
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(130)
            // An integer range's segments include its end: `0..n-1` gives the n bars.
            .build_cartesian_2d(0f64..x_max, (0usize..n.max(2) - 1).into_segmented())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&|value| match value {
                SegmentValue::CenterOf(i) if *i < n => names[row(*i)].clone(),
                _ => String::new(),
            })
            .x_desc("milliseconds (median; whisker: min to max)")
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(cells.iter().enumerate().map(|(i, cell)| {
                let mut bar = Rectangle::new(
                    [
                        (0.0, SegmentValue::Exact(row(i))),
                        (cell.wall_ms.median, SegmentValue::Exact(row(i) + 1)),
                    ],
                    color(i).filled(),
                );
                bar.set_margin(3, 3, 0, 0);
                bar
            }))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(cells.iter().enumerate().map(|(i, cell)| {
                PathElement::new(
                    vec![
                        (cell.wall_ms.min, SegmentValue::CenterOf(row(i))),
                        (cell.wall_ms.max, SegmentValue::CenterOf(row(i))),
                    ],
                    BLACK.stroke_width(2),
                )
            }))
            .map_err(|e| e.to_string())?;
        Ok(())
    })?;
    Ok(Plot {
        file: format!("plots/time-{workload}.svg"),
        title: format!("{workload}: wall time per configuration"),
        caption: format!(
            "{workload}: median wall time of each configuration over {} repetitions; the black \
             whisker spans the fastest to the slowest.",
            report.reps
        ),
        svg: document,
    })
}

/// Pause-histogram buckets merged over runs: bucket index → (upper bound in µs, pauses).
type MergedHistogram = BTreeMap<i32, (f64, u64)>;

/// Cumulative pause distributions, one line per configuration.
fn pause_distribution(report: &Report) -> Result<Plot, String> {
    // Merge every run's histogram per configuration.
    let mut merged: Vec<(String, MergedHistogram)> = Vec::new();
    for config in &report.configs {
        let mut buckets = MergedHistogram::new();
        for run in report.runs.iter().filter(|r| r.config == config.name) {
            for bucket in &run.pauses.histogram {
                let entry = buckets.entry(bucket.index).or_insert((bucket.upper_us, 0));
                entry.1 += bucket.count;
            }
        }
        if !buckets.is_empty() {
            merged.push((config.name.clone(), buckets));
        }
    }
    let x_min = merged
        .iter()
        .filter_map(|(_, b)| b.values().next().map(|(upper, _)| *upper))
        .fold(f64::INFINITY, f64::min)
        .max(0.01)
        / 2.0;
    let x_max = merged
        .iter()
        .filter_map(|(_, b)| b.values().last().map(|(upper, _)| *upper))
        .fold(1.0, f64::max)
        * 2.0;
    let document = svg(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                "Pause-time distribution per configuration (all workloads)",
                ("sans-serif", 20),
            )
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d((x_min..x_max).log_scale(), 0f64..1.0)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("pause (µs, log scale)")
            .y_desc("share of pauses ≤ x")
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, (name, buckets)) in merged.iter().enumerate() {
            // A bucket's pauses are spread evenly between its bounds: the line climbs across a
            // bucket and is flat between buckets.
            let total = buckets.values().map(|(_, count)| count).sum::<u64>() as f64;
            let mut cumulative = 0u64;
            let mut points = vec![(x_min, 0.0)];
            for (index, (upper, count)) in buckets {
                points.push((bucket_upper_us(index - 1), cumulative as f64 / total));
                cumulative += count;
                points.push((*upper, cumulative as f64 / total));
            }
            points.push((x_max, 1.0));
            let style = color(i).stroke_width(2);
            chart
                .draw_series(LineSeries::new(points, style))
                .map_err(|e| e.to_string())?
                .label(name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        Ok(())
    })?;
    Ok(Plot {
        file: "plots/pauses.svg".into(),
        title: "Pause-time distribution per configuration".into(),
        caption: format!(
            "For each configuration, the share of its collection pauses (every workload, every \
             repetition) that were at most x microseconds. {}",
            super::tables::pause_coverage(report)
        ),
        svg: document,
    })
}

/// Live nodes over the ticks of `steady-burst`, one line per configuration (first repetition).
fn steady_burst_tracked(report: &Report) -> Result<Plot, String> {
    let series: Vec<(String, Vec<(f64, f64)>)> = report
        .configs
        .iter()
        .filter_map(|config| {
            let run = report
                .runs
                .iter()
                .filter(|r| r.workload == "steady-burst" && r.config == config.name)
                .min_by_key(|r| r.rep)?;
            let points = run
                .samples
                .iter()
                .filter(|s| s.label == "tick")
                .map(|s| {
                    (
                        s.step as f64,
                        s.tracked.unwrap_or(s.live_nodes) as f64 / 1e3,
                    )
                })
                .collect();
            Some((config.name.clone(), points))
        })
        .collect();
    let x_max = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(x, _)| *x))
        .fold(1.0, f64::max);
    let y_max = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, y)| *y))
        .fold(1.0, f64::max)
        * 1.1;
    let document = svg(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption("steady-burst: objects over time", ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..x_max, 0f64..y_max)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("tick")
            .y_desc("thousands of objects")
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, (name, points)) in series.iter().enumerate() {
            let style = color(i).stroke_width(2);
            chart
                .draw_series(LineSeries::new(points.clone(), style))
                .map_err(|e| e.to_string())?
                .label(name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        Ok(())
    })?;
    Ok(Plot {
        file: "plots/steady-burst-tracked.svg".into(),
        title: "steady-burst: objects over time".into(),
        caption: "Objects the collector tracks (gclab; for peers, workload nodes created and not \
                  yet dropped, garbage included) at every sample of the first repetition. \
                  A saw-tooth is garbage piling up between collections; a rising line is a leak."
            .into(),
        svg: document,
    })
}

/// Resident memory at each step of `big-drop`, one line per configuration.
fn big_drop_rss(report: &Report) -> Result<Plot, String> {
    let cells: Vec<_> = report
        .configs
        .iter()
        .filter_map(|c| report.cell("big-drop", &c.name))
        .collect();
    let labels: Vec<String> = cells
        .first()
        .map(|c| c.rss_steps_kib.iter().map(|(l, _)| l.clone()).collect())
        .unwrap_or_default();
    let steps = labels.len().max(1) as i32;
    let y_max = cells
        .iter()
        .flat_map(|c| c.rss_steps_kib.iter().map(|(_, kib)| kib / 1024.0))
        .fold(1.0, f64::max)
        // Headroom for the legend above the lines at the left, where they start low.
        * 1.8;
    let document = svg(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption("big-drop: resident memory at each step", ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((0..steps - 1).into_segmented(), 0f64..y_max)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(labels.len())
            .x_label_formatter(&|value| match value {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                    labels.get(*i as usize).cloned().unwrap_or_default()
                }
                SegmentValue::Last => String::new(),
            })
            .y_desc("RSS (MiB)")
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, cell) in cells.iter().enumerate() {
            let style = color(i).stroke_width(2);
            let points: Vec<(SegmentValue<i32>, f64)> = cell
                .rss_steps_kib
                .iter()
                .enumerate()
                .map(|(step, (_, kib))| (SegmentValue::CenterOf(step as i32), kib / 1024.0))
                .collect();
            chart
                .draw_series(LineSeries::new(points, style))
                .map_err(|e| e.to_string())?
                .label(cell.config.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        Ok(())
    })?;
    Ok(Plot {
        file: "plots/big-drop-rss.svg".into(),
        title: "big-drop: resident memory at each step".into(),
        caption: "The process's RSS (median over repetitions) at each step of big-drop: objects \
                  built, dropped (one pair in keep_every kept), collected, kept ones released."
            .into(),
        svg: document,
    })
}
