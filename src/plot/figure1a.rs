//! The paper's Figure 1a/1b/1c: memorisation capacity against density (log scale), one line per
//! pruning method with a shaded mean ± standard-error band (the data of `peff memorize`).
//!
//! ```text
//! x = kept weights / all weights (log),
//! y = a fraction of the training set: memorised (loss < ln 2 / 10; Fig. 1a) or classified
//!     correctly (train accuracy; Fig. 1b, 1c),
//! band [mean − se, mean + se]
//! ```

use plotters::prelude::*;

use super::style::*;
use super::PlotError;

/// One (method, density) point of a memorisation table.
#[derive(Debug, Clone, PartialEq)]
pub struct MemorisePoint {
    /// Pruning method (one line each, in order of first appearance).
    pub method: String,
    /// Kept weights / all weights, in (0, 1].
    pub density: f64,
    /// Mean fraction (memorised, or train accuracy), in [0, 1].
    pub mean: f64,
    /// Its standard error (`≥ 0`).
    pub se: f64,
}

/// Formats a density as a percentage with the decimals it needs ("0.1%", "2%", "50%").
fn percent(v: f64) -> String {
    let p = v * 100.0;
    let decimals = if p >= 1.0 - 1e-9 {
        0
    } else {
        (-(p.log10().floor()) as usize).min(6)
    };
    format!("{p:.decimals$}%")
}

/// A fraction of the training set (memorised or classified correctly, named by `y_label`) vs
/// density (log x axis), one line with markers and a ± s.e. band per method, methods in order of first appearance (the table's order), legend below. The same input
/// gives the same bytes.
///
/// # Errors
/// [`PlotError::NoData`] for no points; [`PlotError::NonFinite`] for a NaN or infinite value;
/// [`PlotError::Invalid`] for a density outside (0, 1], a mean outside [0, 1] or a negative se.
///
/// # Example
/// ```
/// # use peff::plot::{figure1a_svg, MemorisePoint};
/// let pts = [(0.5, 1.0), (0.1, 0.6), (0.01, 0.1)]
///     .map(|(density, mean)| MemorisePoint { method: "imp".into(), density, mean, se: 0.02 });
/// let svg = figure1a_svg("Memorisation capacity", "memorised fraction", &pts)?;
/// assert!(svg.contains("memorised fraction"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn figure1a_svg(
    title: &str,
    y_label: &str,
    points: &[MemorisePoint],
) -> Result<String, PlotError> {
    if points.is_empty() {
        return Err(PlotError::NoData);
    }
    // Per method, in order of first appearance: (density, mean, se) points.
    type Line<'a> = (&'a str, Vec<(f64, f64, f64)>);
    let mut methods: Vec<Line<'_>> = Vec::new();
    for pt in points {
        let what = || format!("point (method '{}', density {})", pt.method, pt.density);
        let density = check_finite(pt.density, "density", what)?;
        let mean = check_finite(pt.mean, "mean", what)?;
        let se = check_finite(pt.se, "se", what)?;
        if !(density > 0.0 && density <= 1.0) {
            return Err(PlotError::Invalid {
                what: what(),
                reason: format!("density must be in (0, 1] (log axis), got {density}"),
            });
        }
        if !(0.0..=1.0).contains(&mean) || se < 0.0 {
            return Err(PlotError::Invalid {
                what: what(),
                reason: format!("need a mean in [0, 1] and se ≥ 0, got {mean} and {se}"),
            });
        }
        match methods.iter_mut().find(|(m, _)| *m == pt.method) {
            Some((_, pts)) => pts.push((density, mean, se)),
            None => methods.push((&pt.method, vec![(density, mean, se)])),
        }
    }
    for (_, pts) in &mut methods {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let entries: Vec<LegendEntry> = methods
        .iter()
        .enumerate()
        .map(|(i, (m, _))| LegendEntry {
            label: m.to_string(),
            swatch: Swatch::Band(series_style(i)),
        })
        .collect();
    let (lo, hi) = methods
        .iter()
        .flat_map(|(_, p)| p.iter().map(|q| q.0))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), d| {
            (lo.min(d), hi.max(d))
        });
    let (llo, lhi) = (lo.log10(), hi.log10());
    let margin = if lhi > llo { 0.04 * (lhi - llo) } else { 0.3 };
    let x_range = 10f64.powf(llo - margin)..10f64.powf(lhi + margin);
    let (y0, y1) = padded(0.0, 1.0, 0.04);
    let yt = Ticks::new(y0, y1, 6);

    let width = 760;
    let plot_h = 480;
    let (y_area, margin_l, margin_r) = (70, 10, 24);
    let px_per_decade =
        f64::from(width - y_area - margin_l - margin_r) / (x_range.end / x_range.start).log10();
    let mut densities: Vec<f64> = methods
        .iter()
        .flat_map(|(_, p)| p.iter().map(|q| q.0))
        .collect();
    densities.sort_by(f64::total_cmp);
    densities.dedup();
    let key_points = log_ticks(&densities, x_range.start, x_range.end, px_per_decade);
    let rows = legend_rows(&entries, width as i32 - 40)?;
    let height = plot_h + legend_height(rows.len());
    render(width, height, |root| {
        let (plot, legend) = root.split_vertically(plot_h);
        let mut chart = ChartBuilder::on(&plot)
            .caption(title, (FONT, TITLE_SIZE))
            .margin_top(10)
            .margin_left(margin_l)
            .margin_right(margin_r)
            .x_label_area_size(48)
            .y_label_area_size(y_area)
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
            "density (kept weights, log scale)",
            y_label,
            &|v| percent(*v),
            &|v| yt.label(*v),
        )?;
        // All bands first, so that no band hides another method's line.
        for (i, (_, pts)) in methods.iter().enumerate() {
            let band: Vec<(f64, f64)> = pts
                .iter()
                .map(|&(x, m, se)| (x, (m + se).min(y1)))
                .chain(pts.iter().rev().map(|&(x, m, se)| (x, (m - se).max(y0))))
                .collect();
            chart
                .draw_series(std::iter::once(Polygon::new(
                    band,
                    series_style(i).color.mix(0.22).filled(),
                )))
                .map_err(backend_err)?;
        }
        for (i, (_, pts)) in methods.iter().enumerate() {
            let style = series_style(i);
            chart
                .draw_series(LineSeries::new(
                    pts.iter().map(|&(x, m, _)| (x, m)),
                    style.color.stroke_width(2),
                ))
                .map_err(backend_err)?;
            for &(x, m, _) in pts {
                draw_marker(
                    root,
                    chart.backend_coord(&(x, m)),
                    style.marker,
                    style.color,
                )?;
            }
        }
        draw_legend(&legend, &entries, &rows)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts() -> Vec<MemorisePoint> {
        let mut v = Vec::new();
        for (method, scale) in [("imp", 1.0), ("random", 0.5)] {
            for (density, mean) in [(0.5, 1.0), (0.1, 0.8), (0.01, 0.2), (0.0012, 0.0)] {
                v.push(MemorisePoint {
                    method: method.into(),
                    density,
                    mean: mean * scale,
                    se: 0.03,
                });
            }
        }
        v
    }

    #[test]
    fn deterministic_with_legend_and_log_ticks() {
        let a = figure1a_svg("Fig. 1a", "memorised fraction", &pts()).unwrap();
        assert_eq!(
            a,
            figure1a_svg("Fig. 1a", "memorised fraction", &pts()).unwrap()
        );
        // plotters writes each text node's content on a line of its own.
        let text = |t: &str| a.lines().any(|l| l.trim() == t);
        assert!(text("imp") && text("random"), "legend");
        assert!(text("1%") && text("10%"), "log ticks as percentages");
    }

    #[test]
    fn rejects_bad_points() {
        assert!(matches!(
            figure1a_svg("t", "memorised fraction", &[]),
            Err(PlotError::NoData)
        ));
        for (density, mean, se) in [
            (0.0, 0.5, 0.1),
            (1.5, 0.5, 0.1),
            (0.5, 1.2, 0.0),
            (0.5, 0.5, -0.1),
        ] {
            let p = MemorisePoint {
                method: "imp".into(),
                density,
                mean,
                se,
            };
            assert!(matches!(
                figure1a_svg("t", "memorised fraction", &[p]),
                Err(PlotError::Invalid { .. })
            ));
        }
        let p = MemorisePoint {
            method: "imp".into(),
            density: 0.5,
            mean: f64::NAN,
            se: 0.0,
        };
        assert!(matches!(
            figure1a_svg("t", "memorised fraction", &[p]),
            Err(PlotError::NonFinite { .. })
        ));
    }

    #[test]
    fn percent_labels() {
        assert_eq!(percent(0.5), "50%");
        assert_eq!(percent(0.01), "1%");
        assert_eq!(percent(0.002), "0.2%");
        assert_eq!(percent(0.0005), "0.05%");
    }
}
