//! The scaling figure: how the information a mask carries grows with the dataset. One panel per
//! kept count `k`; x is the number of points `n`, y is `I(m; D | init)` in bits, one line with
//! markers per pruning method, the entropy of the data `H(D)` as a solid black line and the
//! ceiling `log2 C(p, k)` as a dashed black line:
//!
//! ```text
//! x = n,   y = I(m; D | init) ≤ min(H(D), log2 C(p, k))
//! ```

use std::collections::BTreeMap;

use plotters::prelude::*;

use super::style::*;
use super::PlotError;

/// One point of a scaling curve: a method's MI at `n` points and `k` kept parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingPoint {
    /// Pruning method name (legend label; colours by sorted name).
    pub method: String,
    /// Points per dataset.
    pub n: usize,
    /// Kept parameters (one panel per `k`).
    pub k: usize,
    /// `I(m; D | init)` in bits.
    pub mi_bits: f64,
    /// `H(D)` in bits at this `n`.
    pub data_entropy_bits: f64,
    /// `log2 C(p, k)` in bits.
    pub ceiling_bits: f64,
}

struct Panel<'a> {
    k: usize,
    methods: BTreeMap<&'a str, Vec<(f64, f64)>>,
    data_entropy: Vec<(f64, f64)>,
    ceiling: f64,
}

/// The scaling figure: one panel per `k` (ascending, side by side), x = `n`.
///
/// # Errors
/// [`PlotError::NoData`] for no points, [`PlotError::NonFinite`] for a NaN/infinite value,
/// [`PlotError::Invalid`] when one `n` has two different `H(D)` or one `k` two ceilings, or a
/// method's MI exceeds its bounds by more than rounding.
///
/// # Example
/// ```
/// # use peff::plot::{scaling_svg, ScalingPoint};
/// let pt = |n: usize, mi: f64| ScalingPoint { method: "imp".into(), n, k: 9, mi_bits: mi, data_entropy_bits: 4.0 * n as f64, ceiling_bits: 18.5 };
/// let svg = scaling_svg(&[pt(1, 2.0), pt(2, 3.5)])?;
/// assert!(svg.starts_with("<svg") && svg.contains("imp"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn scaling_svg(points: &[ScalingPoint]) -> Result<String, PlotError> {
    if points.is_empty() {
        return Err(PlotError::NoData);
    }
    let mut panels: BTreeMap<usize, Panel<'_>> = BTreeMap::new();
    let mut entropy_at: BTreeMap<usize, f64> = BTreeMap::new();
    let (mut x_lo, mut x_hi, mut y_hi) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
    for pt in points {
        let what = || format!("point (method '{}', n = {}, k = {})", pt.method, pt.n, pt.k);
        let mi = check_finite(pt.mi_bits, "mi_bits", what)?;
        let hd = check_finite(pt.data_entropy_bits, "data_entropy_bits", what)?;
        let ceil = check_finite(pt.ceiling_bits, "ceiling_bits", what)?;
        let invalid = |reason: String| PlotError::Invalid {
            what: what(),
            reason,
        };
        if mi < -1e-9 || mi > hd.min(ceil) + 1e-6 {
            return Err(invalid(format!(
                "mi_bits = {mi} outside [0, min(H(D) = {hd}, ceiling = {ceil})]"
            )));
        }
        if let Some(&prev) = entropy_at.get(&pt.n) {
            if (prev - hd).abs() > 1e-9 * prev.max(1.0) {
                return Err(invalid(format!(
                    "H(D) = {hd} differs from {prev} at the same n"
                )));
            }
        }
        entropy_at.insert(pt.n, hd);
        let panel = panels.entry(pt.k).or_insert_with(|| Panel {
            k: pt.k,
            methods: BTreeMap::new(),
            data_entropy: Vec::new(),
            ceiling: ceil,
        });
        if (panel.ceiling - ceil).abs() > 1e-9 * ceil.max(1.0) {
            return Err(invalid(format!(
                "ceiling = {ceil} differs from {} at the same k",
                panel.ceiling
            )));
        }
        panel
            .methods
            .entry(pt.method.as_str())
            .or_default()
            .push((pt.n as f64, mi));
        x_lo = x_lo.min(pt.n as f64);
        x_hi = x_hi.max(pt.n as f64);
        y_hi = y_hi.max(mi).max(ceil).max(hd);
    }
    for panel in panels.values_mut() {
        for pts in panel.methods.values_mut() {
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        panel.data_entropy = entropy_at.iter().map(|(&n, &h)| (n as f64, h)).collect();
    }
    let (styles, mut entries) =
        method_styles(panels.values().flat_map(|p| p.methods.keys().copied()));
    entries.push(LegendEntry {
        label: "data entropy H(D)".into(),
        swatch: Swatch::SolidBlack,
    });
    entries.push(LegendEntry {
        label: "ceiling log₂ C(p, k)".into(),
        swatch: Swatch::DashedBlack,
    });
    let (x0, x1) = padded(x_lo, x_hi, 0.04);
    let (_, y1) = finite_range(bits_range(0.0, y_hi), || "y axis".to_string())?;
    let width = 420 * panels.len() as u32 + 40;
    let plot_h = 380;
    let rows = legend_rows(&entries, width as i32 - 40)?;
    let height = plot_h + legend_height(rows.len());
    render(width, height, |root| {
        let (plots, legend) = root.split_vertically(plot_h);
        let cells = plots.split_evenly((1, panels.len()));
        for (panel, cell) in panels.values().zip(&cells) {
            let (mut xt, yt) = (Ticks::new(x0, x1, 10), Ticks::new(0.0, y1, 8));
            // n is a count: label whole numbers only.
            xt.values.retain(|v| v.fract().abs() < 1e-9);
            xt.decimals = 0;
            let title = format!("k = {}", panel.k);
            let mut chart = ChartBuilder::on(cell)
                .caption(&title, (FONT, TITLE_SIZE))
                .margin_top(8)
                .margin_left(8)
                .margin_right(20)
                .x_label_area_size(46)
                .y_label_area_size(62)
                .build_cartesian_2d(linear_axis(x0, x1, &xt), linear_axis(0.0, y1, &yt))
                .map_err(backend_err)?;
            draw_mesh(
                &mut chart,
                "points per dataset n",
                "I(m; D | init) (bits)",
                &|v| xt.label(*v),
                &|v| yt.label(*v),
            )?;
            chart
                .draw_series(LineSeries::new(
                    panel.data_entropy.iter().copied(),
                    BLACK.stroke_width(2),
                ))
                .map_err(backend_err)?;
            chart
                .draw_series(DashedLineSeries::new(
                    [(x0, panel.ceiling), (x1, panel.ceiling)],
                    8,
                    5,
                    BLACK.stroke_width(2),
                ))
                .map_err(backend_err)?;
            // Coinciding methods (random and SynFlow at 0 bits) stay visible.
            let mut drawn: Vec<(i32, i32)> = Vec::new();
            for (name, pts) in &panel.methods {
                let style = styles[name];
                chart
                    .draw_series(LineSeries::new(
                        pts.iter().copied(),
                        style.color.stroke_width(2),
                    ))
                    .map_err(backend_err)?;
                for pt in pts {
                    let at = dodged(&mut drawn, chart.backend_coord(pt));
                    draw_marker(root, at, style.marker, style.color)?;
                }
            }
        }
        draw_legend(&legend, &entries, &rows)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(method: &str, n: usize, mi: f64, hd: f64) -> ScalingPoint {
        ScalingPoint {
            method: method.into(),
            n,
            k: 9,
            mi_bits: mi,
            data_entropy_bits: hd,
            ceiling_bits: 18.1,
        }
    }

    #[test]
    fn refuses_information_above_the_data_entropy_or_inconsistent_bounds() {
        assert!(scaling_svg(&[pt("imp", 1, 2.0, 4.0), pt("snip", 1, 1.0, 4.0)]).is_ok());
        let above = scaling_svg(&[pt("imp", 1, 4.5, 4.0)])
            .unwrap_err()
            .to_string();
        assert!(above.contains("outside"), "{above}");
        let two = scaling_svg(&[pt("imp", 1, 1.0, 4.0), pt("snip", 1, 1.0, 3.0)])
            .unwrap_err()
            .to_string();
        assert!(two.contains("same n"), "{two}");
        assert!(matches!(scaling_svg(&[]), Err(PlotError::NoData)));
        assert!(scaling_svg(&[pt("imp", 1, f64::NAN, 4.0)]).is_err());
    }
}
