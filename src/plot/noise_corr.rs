//! The noise-correlation figures (the paper's Fig. 1d–f and Fig. 2): `C` against the epoch with
//! a shaded mean ± standard-error band per curve, and, for IMP, a dashed vertical line at every
//! prune with the density range in the x-axis title:
//!
//! ```text
//! line through (epoch, mean C),  band [mean − se, mean + se],  prune j at epoch j·E (dashed)
//! ```
//!
//! Curves keep the caller's order (a sweep reads in its natural order: colours and legend).

use plotters::prelude::*;

use super::curves::Series;
use super::style::*;
use super::PlotError;

/// The noise-correlation plot: `series` (x = epoch, mean ± se of `C`) with dashed vertical lines
/// at `prune_epochs`; `x_label` carries the density caption.
///
/// # Errors
/// As [`super::curves_svg`]: no series, an empty series, mismatched lengths, a negative se, or a
/// non-finite value (a prune epoch included).
///
/// # Example
/// ```
/// # use peff::plot::{noise_corr_svg, Series};
/// let imp = Series { label: "IMP".into(), x: vec![1.0, 2.0, 3.0, 4.0], mean: vec![0.1, 0.2, 0.05, 0.15], se: vec![0.01; 4] };
/// let svg = noise_corr_svg("Fig. 1d", "epoch", &[imp], &[2.0])?;
/// assert!(svg.contains("stroke-dasharray") || svg.contains("Fig. 1d"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn noise_corr_svg(
    title: &str,
    x_label: &str,
    series: &[Series],
    prune_epochs: &[f64],
) -> Result<String, PlotError> {
    if series.is_empty() {
        return Err(PlotError::NoData);
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
    for (i, &e) in prune_epochs.iter().enumerate() {
        check_finite(e, "epoch", || format!("prune {}", i + 1))?;
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

    let width = 900;
    let plot_h = 480;
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
        draw_mesh(
            &mut chart,
            x_label,
            "correlation with label noise C",
            &|v| xt.label(*v),
            &|v| yt.label(*v),
        )?;
        for &e in prune_epochs.iter().filter(|&&e| e >= x0 && e <= x1) {
            let (top, bottom) = (chart.backend_coord(&(e, y1)), chart.backend_coord(&(e, y0)));
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
            chart
                .draw_series(LineSeries::new(
                    pts.iter().map(|&(x, m, _)| (x, m)),
                    series_style(i).color.stroke_width(2),
                ))
                .map_err(backend_err)?;
        }
        draw_legend(&legend, &entries, &rows)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(label: &str, mean: Vec<f64>) -> Series {
        let n = mean.len();
        Series {
            label: label.into(),
            x: (1..=n).map(|e| e as f64).collect(),
            mean,
            se: vec![0.01; n],
        }
    }

    #[test]
    fn draws_curves_and_prune_lines_deterministically() {
        let s = [series("lr 0.001", vec![0.0, 0.1, 0.3, 0.1, 0.2])];
        let a = noise_corr_svg("IMP", "epoch (density 100% → 64%)", &s, &[2.0, 4.0]).unwrap();
        let b = noise_corr_svg("IMP", "epoch (density 100% → 64%)", &s, &[2.0, 4.0]).unwrap();
        assert_eq!(a, b);
        assert!(a.contains("density 100% → 64%") && a.contains("lr 0.001"));
        let without = noise_corr_svg("IMP", "epoch", &s, &[]).unwrap();
        assert!(a.matches("<polyline").count() > without.matches("<polyline").count());
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(
            noise_corr_svg("t", "x", &[], &[]),
            Err(PlotError::NoData)
        ));
        let bad = series("s", vec![0.0, f64::NAN]);
        assert!(matches!(
            noise_corr_svg("t", "x", &[bad], &[]),
            Err(PlotError::NonFinite { .. })
        ));
        let s = series("s", vec![0.0, 1.0]);
        assert!(noise_corr_svg("t", "x", &[s], &[f64::INFINITY]).is_err());
    }
}
