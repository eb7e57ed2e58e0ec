//! Entropy estimators against the number of sampled datasets `N` (log scale), one small panel
//! per (method, k): each estimator's estimate with its interval as error bars, and the exact value
//! as a horizontal black line (the data of `peff converge`).
//!
//! ```text
//! x = N (log),   y = Ĥ_N ± [ci_low, ci_high] (bits),   reference line y = H_exact
//! ```

use std::collections::{BTreeMap, BTreeSet};

use plotters::prelude::*;

use super::style::*;
use super::PlotError;

/// One estimator's estimate at sample size `N` with its interval.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvergencePoint {
    /// Pruning method name (selects the panel together with `k`).
    pub method: String,
    /// Number of parameters kept (selects the panel together with `method`).
    pub k: usize,
    /// Entropy estimator name (legend label), e.g. `"miller_madow"`.
    pub estimator: String,
    /// Number of sampled datasets `N` (> 0; the x axis is logarithmic).
    pub samples: u64,
    /// The estimate in bits.
    pub estimate_bits: f64,
    /// Lower end of the interval in bits.
    pub ci_low_bits: f64,
    /// Upper end of the interval in bits (`≥ ci_low_bits`).
    pub ci_high_bits: f64,
    /// The exact value in bits; the same for every point of one (method, k).
    pub exact_bits: f64,
}

/// One validated convergence panel: per estimator the points `(N, estimate, low, high)` sorted by
/// `N`, and the exact value.
struct ConvPanel<'a> {
    method: &'a str,
    k: usize,
    estimators: BTreeMap<&'a str, Vec<(f64, f64, f64, f64)>>,
    exact: f64,
}

fn prepare_convergence(points: &[ConvergencePoint]) -> Result<Vec<ConvPanel<'_>>, PlotError> {
    let mut panels: BTreeMap<(&str, usize), ConvPanel<'_>> = BTreeMap::new();
    for pt in points {
        let what = || {
            format!(
                "point (method '{}', k = {}, estimator '{}', N = {})",
                pt.method, pt.k, pt.estimator, pt.samples
            )
        };
        let est = check_finite(pt.estimate_bits, "estimate_bits", what)?;
        let lo = check_finite(pt.ci_low_bits, "ci_low_bits", what)?;
        let hi = check_finite(pt.ci_high_bits, "ci_high_bits", what)?;
        let exact = check_finite(pt.exact_bits, "exact_bits", what)?;
        if pt.samples == 0 {
            return Err(PlotError::Invalid {
                what: what(),
                reason: "samples must be > 0 (the N axis is logarithmic)".into(),
            });
        }
        if lo > hi {
            return Err(PlotError::Invalid {
                what: what(),
                reason: format!("ci_low_bits = {lo} is above ci_high_bits = {hi}"),
            });
        }
        let panel = panels
            .entry((pt.method.as_str(), pt.k))
            .or_insert_with(|| ConvPanel {
                method: &pt.method,
                k: pt.k,
                estimators: BTreeMap::new(),
                exact,
            });
        if (panel.exact - exact).abs() > 1e-9 * exact.abs().max(1.0) {
            return Err(PlotError::Invalid {
                what: what(),
                reason: format!(
                    "exact_bits = {exact} differs from {} given for the same method and k",
                    panel.exact
                ),
            });
        }
        panel
            .estimators
            .entry(pt.estimator.as_str())
            .or_default()
            .push((pt.samples as f64, est, lo, hi));
    }
    let mut panels: Vec<ConvPanel<'_>> = panels.into_values().collect();
    for p in &mut panels {
        for pts in p.estimators.values_mut() {
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
    }
    Ok(panels)
}

/// Estimator convergence: a grid of small panels, one per (method, k) present in `points`.
///
/// x is the number of sampled datasets `N` (log scale), y is bits. Each estimator is a line with
/// markers and error bars from `ci_low_bits` to `ci_high_bits`; estimators are shifted slightly
/// along x (a fraction of the gap between sample sizes) so their bars do not hide each other. The
/// exact value is a horizontal black line. Panels are ordered by method then k, three per row;
/// the legend (estimators by sorted name, then "exact") is shared, below the grid.
///
/// # Errors
/// [`PlotError::NoData`] for no points, [`PlotError::NonFinite`] for a NaN/infinite value,
/// [`PlotError::Invalid`] for `N = 0`, `ci_low_bits > ci_high_bits`, or two different exact values
/// for the same (method, k).
///
/// # Example
/// ```
/// # use peff::plot::{convergence_svg, ConvergencePoint};
/// let point = |samples: u64, estimate_bits: f64| ConvergencePoint {
///     method: "snip".into(), k: 10, estimator: "plugin".into(), samples, estimate_bits,
///     ci_low_bits: estimate_bits - 0.2, ci_high_bits: estimate_bits + 0.2, exact_bits: 4.0,
/// };
/// let svg = convergence_svg(&[point(1000, 3.5), point(32000, 3.9)])?;
/// assert!(svg.contains("snip, k = 10"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn convergence_svg(points: &[ConvergencePoint]) -> Result<String, PlotError> {
    if points.is_empty() {
        return Err(PlotError::NoData);
    }
    let panels = prepare_convergence(points)?;
    let names: BTreeSet<&str> = panels
        .iter()
        .flat_map(|p| p.estimators.keys().copied())
        .collect();
    let n_est = names.len();
    let styles: BTreeMap<&str, (usize, SeriesStyle)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (*n, (i, series_style(i))))
        .collect();
    let mut entries: Vec<LegendEntry> = styles
        .iter()
        .map(|(n, (_, s))| LegendEntry {
            label: (*n).to_string(),
            swatch: Swatch::Series(*s),
        })
        .collect();
    entries.push(LegendEntry {
        label: "exact".into(),
        swatch: Swatch::SolidBlack,
    });

    // A wide grid (five panels a row) keeps 25 panels on one screen; the legend goes on top,
    // where it is read first.
    let ncols = panels.len().min(5);
    let nrows = panels.len().div_ceil(ncols);
    let width = (ncols as u32 * 330).max(720);
    let cell_h = 270;
    let grid_h = nrows as u32 * cell_h;
    let rows = legend_rows(&entries, width as i32 - 40)?;
    let legend_h = legend_height(rows.len());
    let height = grid_h + legend_h;
    render(width, height, |root| {
        let (legend, grid) = root.split_vertically(legend_h);
        let cells = grid.split_evenly((nrows, ncols));
        for (i, (panel, cell)) in panels.iter().zip(&cells).enumerate() {
            let labels = AxisLabels {
                x: i + ncols >= panels.len(),
                y: i % ncols == 0,
            };
            draw_conv_panel(root, cell, panel, &styles, n_est, labels)?;
        }
        draw_legend(&legend, &entries, &rows)
    })
}

/// Which axis descriptions a grid cell shows (x on the bottom row, y in the first column).
#[derive(Clone, Copy)]
struct AxisLabels {
    x: bool,
    y: bool,
}

/// Layout of a convergence panel in pixels: y label area and side margins.
const CONV_Y_AREA: u32 = 60;
const CONV_MARGIN_L: u32 = 6;
const CONV_MARGIN_R: u32 = 16;

fn draw_conv_panel(
    root: &Area<'_>,
    cell: &Area<'_>,
    panel: &ConvPanel<'_>,
    styles: &BTreeMap<&str, (usize, SeriesStyle)>,
    n_est: usize,
    labels: AxisLabels,
) -> Result<(), PlotError> {
    let sizes: BTreeSet<u64> = panel
        .estimators
        .values()
        .flatten()
        .map(|p| p.0 as u64)
        .collect();
    let logs: Vec<f64> = sizes.iter().map(|&n| (n as f64).log10()).collect();
    let min_gap = logs
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(f64::INFINITY, f64::min);
    // Total horizontal spread of one N's error bars, in decades.
    let spread = if n_est > 1 {
        (0.45 * min_gap).min(0.2)
    } else {
        0.0
    };
    let dodge = |est_index: usize| -> f64 {
        if n_est > 1 {
            10f64.powf(spread * (est_index as f64 / (n_est - 1) as f64 - 0.5))
        } else {
            1.0
        }
    };
    let (lx0, lx1) = (logs[0], logs[logs.len() - 1]);
    let margin = 0.5 * spread + if lx1 > lx0 { 0.08 * (lx1 - lx0) } else { 0.3 };
    let x_range = 10f64.powf(lx0 - margin)..10f64.powf(lx1 + margin);

    let plot_w = f64::from(
        cell.dim_in_pixel()
            .0
            .saturating_sub(CONV_Y_AREA + CONV_MARGIN_L + CONV_MARGIN_R),
    );
    let px_per_decade = plot_w.max(1.0) / (x_range.end / x_range.start).log10();
    let size_values: Vec<f64> = sizes.iter().map(|&n| n as f64).collect();
    let key_points = log_ticks(&size_values, x_range.start, x_range.end, px_per_decade);

    let (mut lo, mut hi) = (panel.exact, panel.exact);
    for &(_, e, l, h) in panel.estimators.values().flatten() {
        lo = lo.min(e).min(l);
        hi = hi.max(e).max(h);
    }
    let (y0, y1) = finite_range(padded(lo, hi, 0.08), || {
        format!("y axis of panel '{}, k = {}'", panel.method, panel.k)
    })?;
    let yt = Ticks::new(y0, y1, 6);

    let mut chart = ChartBuilder::on(cell)
        .caption(
            format!("{}, k = {}", panel.method, panel.k),
            (FONT, SMALL_TITLE_SIZE),
        )
        .margin_top(6)
        .margin_left(CONV_MARGIN_L)
        .margin_right(CONV_MARGIN_R)
        .x_label_area_size(44)
        .y_label_area_size(CONV_Y_AREA)
        .build_cartesian_2d(
            TickedAxis {
                inner: LogCoord::from(x_range.clone().log_scale()),
                ticks: key_points,
            },
            linear_axis(y0, y1, &yt),
        )
        .map_err(backend_err)?;
    draw_mesh(
        &mut chart,
        if labels.x { "samples N" } else { "" },
        if labels.y {
            "entropy estimate (bits)"
        } else {
            ""
        },
        &|v| fmt_count(*v),
        &|v| yt.label(*v),
    )?;
    chart
        .draw_series(LineSeries::new(
            [(x_range.start, panel.exact), (x_range.end, panel.exact)],
            BLACK.stroke_width(2),
        ))
        .map_err(backend_err)?;
    for (name, pts) in &panel.estimators {
        let (index, style) = styles[name];
        let shift = dodge(index);
        let line: Vec<(f64, f64)> = pts.iter().map(|&(n, e, _, _)| (n * shift, e)).collect();
        chart
            .draw_series(LineSeries::new(line, style.color.stroke_width(1)))
            .map_err(backend_err)?;
        for &(n, e, l, h) in pts {
            let (x, yl) = chart.backend_coord(&(n * shift, l));
            let (_, yh) = chart.backend_coord(&(n * shift, h));
            let bar = style.color.stroke_width(1);
            for seg in [
                vec![(x, yl), (x, yh)],
                vec![(x - 3, yl), (x + 3, yl)],
                vec![(x - 3, yh), (x + 3, yh)],
            ] {
                root.draw(&PathElement::new(seg, bar))
                    .map_err(backend_err)?;
            }
            draw_marker(
                root,
                chart.backend_coord(&(n * shift, e)),
                style.marker,
                style.color,
            )?;
        }
    }
    Ok(())
}
