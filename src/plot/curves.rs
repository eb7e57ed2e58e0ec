//! Generic curves with a shaded mean ± standard-error band (the Figure 1 plots):
//!
//! ```text
//! line through (x_i, mean_i),   band [mean_i − se_i, mean_i + se_i]
//! ```

use plotters::prelude::*;

use super::style::*;
use super::PlotError;

/// A curve with a standard-error band: `mean[i] ± se[i]` at `x[i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// x values (any order; drawn sorted by x).
    pub x: Vec<f64>,
    /// Mean at each x.
    pub mean: Vec<f64>,
    /// Standard error at each x (`≥ 0`).
    pub se: Vec<f64>,
}

/// Generic curves with error bands (the Figure 1 plots): for each series a line through
/// `(x, mean)` (sorted by x; markers when a series has at most 30 points) over a shaded band
/// `mean ± se`.
///
/// Series keep the caller's order, which sets their colours and the legend order (so a sweep
/// such as learning rates reads in its natural order); the output is a function of the input
/// only. The legend is below the plot. The figure is 720 px wide and about 500 px high.
///
/// # Errors
/// [`PlotError::NoData`] for no series, [`PlotError::Empty`] for a series without points,
/// [`PlotError::Invalid`] when `x`, `mean` and `se` differ in length or an `se` is negative,
/// [`PlotError::NonFinite`] for a NaN/infinite value.
///
/// # Example
/// ```
/// # use peff::plot::{curves_svg, Series};
/// let dense = Series { label: "dense".into(), x: vec![0.0, 1.0, 2.0], mean: vec![0.0, 0.5, 0.8], se: vec![0.0, 0.05, 0.04] };
/// let svg = curves_svg("Memorisation", "epoch", "memorised fraction", &[dense])?;
/// assert!(svg.contains("memorised fraction"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn curves_svg(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<String, PlotError> {
    curves_with_rules_svg(title, x_label, y_label, series, &[], (720, 450))
}

/// [`curves_svg`] with a dashed grey vertical rule at each of `rules` (x values, e.g. the
/// epochs of IMP's prunes) and a plot area of `width × plot_h` pixels above the legend.
pub(super) fn curves_with_rules_svg(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    rules: &[f64],
    (width, plot_h): (u32, u32),
) -> Result<String, PlotError> {
    if series.is_empty() {
        return Err(PlotError::NoData);
    }
    for (i, &x) in rules.iter().enumerate() {
        check_finite(x, "x", || format!("rule {}", i + 1))?;
    }
    let mut data: Vec<Vec<(f64, f64, f64)>> = Vec::with_capacity(series.len());
    let (mut x_lo, mut x_hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut y_lo, mut y_hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for s in series {
        let name = || format!("series '{}'", s.label);
        if s.x.len() != s.mean.len() || s.x.len() != s.se.len() {
            return Err(PlotError::Invalid {
                what: name(),
                reason: format!(
                    "x, mean and se must have the same length, got {}, {} and {}",
                    s.x.len(),
                    s.mean.len(),
                    s.se.len()
                ),
            });
        }
        if s.x.is_empty() {
            return Err(PlotError::Empty { what: name() });
        }
        let mut pts = Vec::with_capacity(s.x.len());
        for (i, ((&x, &m), &se)) in s.x.iter().zip(&s.mean).zip(&s.se).enumerate() {
            let what = || format!("point {i} of series '{}'", s.label);
            let x = check_finite(x, "x", what)?;
            let m = check_finite(m, "mean", what)?;
            let se = check_finite(se, "se", what)?;
            if se < 0.0 {
                return Err(PlotError::Invalid {
                    what: what(),
                    reason: format!("se must be ≥ 0, got {se}"),
                });
            }
            x_lo = x_lo.min(x);
            x_hi = x_hi.max(x);
            y_lo = y_lo.min(m - se);
            y_hi = y_hi.max(m + se);
            pts.push((x, m, se));
        }
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        data.push(pts);
    }
    let entries: Vec<LegendEntry> = series
        .iter()
        .enumerate()
        .map(|(i, s)| LegendEntry {
            label: s.label.clone(),
            swatch: Swatch::Band(series_style(i)),
        })
        .collect();
    let x_range = if x_hi > x_lo {
        (x_lo, x_hi)
    } else {
        padded(x_lo, x_hi, 0.0)
    };
    let (x0, x1) = finite_range(x_range, || format!("x axis of '{title}'"))?;
    let (y0, y1) = finite_range(padded(y_lo, y_hi, 0.06), || format!("y axis of '{title}'"))?;
    let (xt, yt) = (Ticks::new(x0, x1, 8), Ticks::new(y0, y1, 8));

    let rows = legend_rows(&entries, width as i32 - 40)?;
    let height = plot_h + legend_height(rows.len());
    render(width, height, |root| {
        let (plot, legend) = root.split_vertically(plot_h);
        let mut chart = ChartBuilder::on(&plot)
            .caption(title, (FONT, TITLE_SIZE))
            .margin_top(10)
            .margin_left(10)
            .margin_right(24)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(linear_axis(x0, x1, &xt), linear_axis(y0, y1, &yt))
            .map_err(backend_err)?;
        draw_mesh(&mut chart, x_label, y_label, &|v| xt.label(*v), &|v| {
            yt.label(*v)
        })?;
        for &x in rules.iter().filter(|&&x| x >= x0 && x <= x1) {
            let (top, bottom) = (chart.backend_coord(&(x, y1)), chart.backend_coord(&(x, y0)));
            let mut y = top.1;
            while y < bottom.1 {
                let end = (y + 5).min(bottom.1);
                root.draw(&PathElement::new(
                    vec![(top.0, y), (top.0, end)],
                    RGBColor(0x90, 0x90, 0x90).stroke_width(1),
                ))
                .map_err(backend_err)?;
                y += 9;
            }
        }
        // All bands first, so that no band hides another series' line.
        for (i, pts) in data.iter().enumerate() {
            let band: Vec<(f64, f64)> = pts
                .iter()
                .map(|&(x, m, se)| (x, m + se))
                .chain(pts.iter().rev().map(|&(x, m, se)| (x, m - se)))
                .collect();
            chart
                .draw_series(std::iter::once(Polygon::new(
                    band,
                    series_style(i).color.mix(0.22).filled(),
                )))
                .map_err(backend_err)?;
        }
        for (i, pts) in data.iter().enumerate() {
            let style = series_style(i);
            chart
                .draw_series(LineSeries::new(
                    pts.iter().map(|&(x, m, _)| (x, m)),
                    style.color.stroke_width(2),
                ))
                .map_err(backend_err)?;
            if pts.len() <= 30 {
                for &(x, m, _) in pts {
                    draw_marker(
                        root,
                        chart.backend_coord(&(x, m)),
                        style.marker,
                        style.color,
                    )?;
                }
            }
        }
        draw_legend(&legend, &entries, &rows)
    })
}
