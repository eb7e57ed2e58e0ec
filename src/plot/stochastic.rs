//! The stochastic-training figure (`peff stochastic`): how training noise removes the information
//! a mask carries about its data. One column of panels per sweep (minibatch size `B`, gradient
//! noise `σ²`), top row `I(m; D | init)`, bottom row `E_D H(m | D, init)`, both in bits, one
//! line with markers per (method, k); x is the sweep's settings in table order, labelled by
//! their values:
//!
//! ```text
//! top:     y = I(m; D | init) = H(m | init) − E_D H(m | D, init)
//! bottom:  y = E_D H(m | D, init)
//! ```

use std::collections::BTreeMap;

use plotters::prelude::*;

use super::style::*;
use super::PlotError;

/// One point of the figure.
#[derive(Debug, Clone, PartialEq)]
pub struct StochasticPoint {
    /// The sweep (one column of panels; columns ordered by first appearance).
    pub sweep: String,
    /// Position of the setting within its sweep (x, from 0).
    pub position: usize,
    /// The setting's tick label (e.g. `2` for `B = 2`, `0.01` for `σ² = 0.01`).
    pub label: String,
    /// Series label, e.g. `imp k=12` (colours by sorted label).
    pub series: String,
    /// `I(m; D | init)`, bits.
    pub mi_bits: f64,
    /// `E_D H(m | D, init)`, bits.
    pub h_cond_bits: f64,
}

struct Column<'a> {
    sweep: &'a str,
    labels: BTreeMap<usize, &'a str>,
    mi: BTreeMap<&'a str, Vec<(f64, f64)>>,
    h: BTreeMap<&'a str, Vec<(f64, f64)>>,
}

/// The x-axis title of a sweep.
fn axis_title(sweep: &str) -> String {
    match sweep {
        "batch-size" => "minibatch size B (σ² = 0)".to_string(),
        "grad-noise" => "gradient-noise variance σ² (B = n)".to_string(),
        other => format!("setting ({other})"),
    }
}

/// The figure's points of a stochastic table (`peff stochastic`'s rows, from the run or read
/// back from its CSV): `summary = mask` at the largest `S` of the table, every method but
/// random (whose `H(m | D) = log2 C(p, k)` is in closed form and would flatten the other
/// curves), each setting at its position within its sweep (in table order). Rows without a
/// value (every training run diverged) are left out.
pub fn stochastic_points(
    rows: &[crate::experiments::toy::stochastic::StochasticRow],
) -> Vec<StochasticPoint> {
    let s_max = rows.iter().map(|r| r.train_seeds).max().unwrap_or(0);
    let mut positions: Vec<(String, usize, f64)> = Vec::new();
    let mut points = Vec::new();
    for r in rows {
        if r.summary != "mask" || r.train_seeds != s_max || r.method == "random" {
            continue;
        }
        let (Some(mi), Some(h)) = (r.mi_bits, r.h_cond_bits) else {
            continue;
        };
        let key = (r.sweep.clone(), r.batch_size, r.grad_noise);
        let position = match positions
            .iter()
            .filter(|p| p.0 == key.0)
            .position(|p| p.1 == key.1 && p.2.to_bits() == key.2.to_bits())
        {
            Some(i) => i,
            None => {
                let i = positions.iter().filter(|p| p.0 == key.0).count();
                positions.push(key);
                i
            }
        };
        let label = match r.sweep.as_str() {
            "batch-size" => r.batch_size.to_string(),
            "grad-noise" => r.grad_noise.to_string(),
            _ => format!("{}/{}", r.batch_size, r.grad_noise),
        };
        points.push(StochasticPoint {
            sweep: r.sweep.clone(),
            position,
            label,
            series: format!("{} k={}", r.method, r.k),
            mi_bits: mi,
            h_cond_bits: h,
        });
    }
    points
}

/// The stochastic-training figure.
///
/// # Errors
/// [`PlotError::NoData`] for no points, [`PlotError::NonFinite`] for a NaN/infinite value,
/// [`PlotError::Invalid`] when one position of a sweep has two labels.
///
/// # Example
/// ```
/// # use peff::plot::stochastic::{stochastic_svg, StochasticPoint};
/// let pt = |position: usize, mi: f64| StochasticPoint { sweep: "batch-size".into(), position, label: (position + 1).to_string(), series: "imp k=12".into(), mi_bits: mi, h_cond_bits: 10.0 - mi };
/// let svg = stochastic_svg(&[pt(0, 2.0), pt(1, 3.5)])?;
/// assert!(svg.starts_with("<svg") && svg.contains("imp k=12"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn stochastic_svg(points: &[StochasticPoint]) -> Result<String, PlotError> {
    if points.is_empty() {
        return Err(PlotError::NoData);
    }
    let mut columns: Vec<Column<'_>> = Vec::new();
    let (mut mi_lo, mut mi_hi, mut h_hi) = (0.0f64, 0.0f64, 0.0f64);
    for pt in points {
        let what = || format!("point ('{}', {}, {})", pt.sweep, pt.label, pt.series);
        let mi = check_finite(pt.mi_bits, "mi_bits", what)?;
        let h = check_finite(pt.h_cond_bits, "h_cond_bits", what)?;
        let idx = match columns.iter().position(|c| c.sweep == pt.sweep) {
            Some(i) => i,
            None => {
                columns.push(Column {
                    sweep: &pt.sweep,
                    labels: BTreeMap::new(),
                    mi: BTreeMap::new(),
                    h: BTreeMap::new(),
                });
                columns.len() - 1
            }
        };
        let col = &mut columns[idx];
        if let Some(&prev) = col.labels.get(&pt.position) {
            if prev != pt.label {
                return Err(PlotError::Invalid {
                    what: what(),
                    reason: format!(
                        "position {} is labelled both {prev} and {}",
                        pt.position, pt.label
                    ),
                });
            }
        }
        col.labels.insert(pt.position, &pt.label);
        let x = pt.position as f64;
        col.mi.entry(&pt.series).or_default().push((x, mi));
        col.h.entry(&pt.series).or_default().push((x, h));
        mi_lo = mi_lo.min(mi);
        mi_hi = mi_hi.max(mi);
        h_hi = h_hi.max(h);
    }
    for col in &mut columns {
        for pts in col.mi.values_mut().chain(col.h.values_mut()) {
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
    }
    let (styles, entries) = method_styles(points.iter().map(|p| p.series.as_str()));
    let (mi0, mi1) = finite_range(bits_range(mi_lo.min(0.0), mi_hi), || "I axis".to_string())?;
    let (_, h1) = finite_range(bits_range(0.0, h_hi), || "H axis".to_string())?;
    let width = 460 * columns.len() as u32 + 40;
    let plot_h = 720;
    let rows = legend_rows(&entries, width as i32 - 40)?;
    let height = plot_h + legend_height(rows.len());
    render(width, height, |root| {
        let (plots, legend) = root.split_vertically(plot_h);
        let cells = plots.split_evenly((2, columns.len()));
        for (c, col) in columns.iter().enumerate() {
            let last = col.labels.keys().next_back().copied().unwrap_or(0) as f64;
            let (x0, x1) = padded(0.0, last, 0.06);
            let labels = &col.labels;
            let x_label = |v: &f64| {
                let i = v.round();
                if (v - i).abs() < 1e-9 && i >= 0.0 {
                    labels
                        .get(&(i as usize))
                        .map_or(String::new(), |s| s.to_string())
                } else {
                    String::new()
                }
            };
            let xt = Ticks {
                values: labels.keys().map(|&i| i as f64).collect(),
                decimals: 0,
            };
            let panels = [
                (&col.mi, (mi0, mi1), "I(m; D | init) (bits)"),
                (&col.h, (0.0, h1), "E_D H(m | D, init) (bits)"),
            ];
            for (r, (series, (y0, y1), y_title)) in panels.into_iter().enumerate() {
                let cell = &cells[r * columns.len() + c];
                let yt = Ticks::new(y0, y1, 8);
                let title = if r == 0 {
                    col.sweep.to_string()
                } else {
                    String::new()
                };
                let mut chart = ChartBuilder::on(cell)
                    .caption(&title, (FONT, TITLE_SIZE))
                    .margin_top(8)
                    .margin_left(8)
                    .margin_right(20)
                    .x_label_area_size(46)
                    .y_label_area_size(62)
                    .build_cartesian_2d(linear_axis(x0, x1, &xt), linear_axis(y0, y1, &yt))
                    .map_err(backend_err)?;
                draw_mesh(
                    &mut chart,
                    &axis_title(col.sweep),
                    y_title,
                    &x_label,
                    &|v| yt.label(*v),
                )?;
                let mut drawn: Vec<(i32, i32)> = Vec::new();
                for (name, pts) in series {
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
        }
        draw_legend(&legend, &entries, &rows)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(sweep: &str, position: usize, label: &str, mi: f64) -> StochasticPoint {
        StochasticPoint {
            sweep: sweep.into(),
            position,
            label: label.into(),
            series: "imp k=12".into(),
            mi_bits: mi,
            h_cond_bits: 1.0,
        }
    }

    /// Two sweeps give two columns with their tick labels; bad input is refused by name.
    #[test]
    fn draws_both_sweeps_and_refuses_bad_points() {
        let svg = stochastic_svg(&[
            pt("batch-size", 0, "1", 3.0),
            pt("batch-size", 1, "6", 9.0),
            pt("grad-noise", 0, "0", 9.0),
            pt("grad-noise", 1, "0.01", 1.0),
        ])
        .unwrap();
        assert!(svg.contains("minibatch size B"));
        assert!(svg.contains("gradient-noise variance"));
        assert!(svg.contains("0.01"));
        assert!(matches!(stochastic_svg(&[]), Err(PlotError::NoData)));
        assert!(matches!(
            stochastic_svg(&[pt("batch-size", 0, "1", f64::NAN)]),
            Err(PlotError::NonFinite { .. })
        ));
        assert!(matches!(
            stochastic_svg(&[pt("batch-size", 0, "1", 1.0), pt("batch-size", 0, "2", 1.0)]),
            Err(PlotError::Invalid { .. })
        ));
    }
}
