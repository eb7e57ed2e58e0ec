//! The paper's Figure 3 (Appendix B.2): one panel per task side by side (regression,
//! classification); x is the sparsity `1 − k/p`, y is `I(m; D | init)` in bits, one line with
//! markers per pruning method, and the ceiling `log2 C(p, k)` (the paper's eq. 2) as a dashed
//! black line:
//!
//! ```text
//! x = 1 − k/p,   y = H(m | init) = I(m; D | init) ≤ log2 C(p, k)
//! ```

use std::collections::BTreeMap;

use plotters::prelude::*;

use super::style::*;
use super::PlotError;

/// One point of a Figure-3 curve: a method's mask entropy (= MI, bits) at `k` kept of `p`
/// parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct MiPoint {
    /// Pruning method name (legend label; colours are assigned by sorted name).
    pub method: String,
    /// Number of parameters kept by the mask.
    pub k: usize,
    /// Total number of parameters (`k ≤ p`, `p > 0`).
    pub p: usize,
    /// `I(m; D | init)` in bits (equal to `H(m | init)` for a deterministic method).
    pub mi_bits: f64,
    /// The ceiling `log2 C(p, k)` in bits.
    pub ceiling_bits: f64,
}

/// One panel of Figure 3.
#[derive(Debug, Clone, PartialEq)]
pub struct MiPanel {
    /// Panel title, e.g. `"regression (MSE)"`.
    pub title: String,
    /// The points of every method in this panel, in any order.
    pub points: Vec<MiPoint>,
}

/// A validated Figure-3 panel: per method the `(sparsity, bits)` points sorted by sparsity, and
/// the ceiling per `(k, p)` sorted by sparsity.
struct MiPanelData<'a> {
    title: &'a str,
    methods: BTreeMap<&'a str, Vec<(f64, f64)>>,
    ceiling: Vec<(f64, f64)>,
    y: (f64, f64),
}

fn prepare_mi_panel(panel: &MiPanel) -> Result<MiPanelData<'_>, PlotError> {
    if panel.points.is_empty() {
        return Err(PlotError::Empty {
            what: format!("panel '{}'", panel.title),
        });
    }
    let mut methods: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    let mut ceiling: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for pt in &panel.points {
        let what = || {
            format!(
                "point (method '{}', k = {}, p = {}) of panel '{}'",
                pt.method, pt.k, pt.p, panel.title
            )
        };
        if pt.p == 0 || pt.k > pt.p {
            return Err(PlotError::Invalid {
                what: what(),
                reason: format!("need 0 ≤ k ≤ p and p > 0, got k = {}, p = {}", pt.k, pt.p),
            });
        }
        let mi = check_finite(pt.mi_bits, "mi_bits", what)?;
        let ceil = check_finite(pt.ceiling_bits, "ceiling_bits", what)?;
        let sparsity = 1.0 - pt.k as f64 / pt.p as f64;
        methods
            .entry(pt.method.as_str())
            .or_default()
            .push((sparsity, mi));
        if let Some(&prev) = ceiling.get(&(pt.k, pt.p)) {
            if (prev - ceil).abs() > 1e-9 * prev.abs().max(1.0) {
                return Err(PlotError::Invalid {
                    what: what(),
                    reason: format!(
                        "ceiling_bits = {ceil} differs from {prev} given for the same k and p"
                    ),
                });
            }
        } else {
            ceiling.insert((pt.k, pt.p), ceil);
        }
        lo = lo.min(mi).min(ceil);
        hi = hi.max(mi).max(ceil);
    }
    for pts in methods.values_mut() {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let mut ceiling: Vec<(f64, f64)> = ceiling
        .into_iter()
        .map(|((k, p), c)| (1.0 - k as f64 / p as f64, c))
        .collect();
    ceiling.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(MiPanelData {
        title: &panel.title,
        methods,
        ceiling,
        y: finite_range(bits_range(lo, hi), || {
            format!("y axis of panel '{}'", panel.title)
        })?,
    })
}

/// Figure 3 reproduction: one panel per task side by side (regression, classification).
///
/// x is the sparsity `1 − k/p` on `[0, 1]`, y is `I(m; D | init)` in bits; one line with markers
/// per method (colour and marker by sorted method name, the same in every panel), and the ceiling
/// `log2 C(p, k)` as a dashed black line. The legend is shared, below the panels. The figure is
/// 500 px wide per panel (1000 px for two) and about 420 px high. A marker that would cover
/// another method's marker moves right by 8 px per marker under it, so none hides another.
///
/// # Errors
/// [`PlotError::NoData`] for no panels, [`PlotError::Empty`] for a panel without points,
/// [`PlotError::NonFinite`] for a NaN/infinite value, [`PlotError::Invalid`] for `k > p`, `p = 0`
/// or two different ceilings for the same `(k, p)`.
///
/// # Example
/// ```
/// # use peff::plot::{figure3_svg, MiPanel, MiPoint};
/// let point = |k: usize, mi: f64| MiPoint { method: "magnitude".into(), k, p: 4, mi_bits: mi, ceiling_bits: 2.0 };
/// let panel = MiPanel { title: "regression".into(), points: vec![point(2, 1.5), point(1, 0.5)] };
/// let svg = figure3_svg(&[panel])?;
/// assert!(svg.starts_with("<svg") && svg.contains("magnitude"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn figure3_svg(panels: &[MiPanel]) -> Result<String, PlotError> {
    if panels.is_empty() {
        return Err(PlotError::NoData);
    }
    let data = panels
        .iter()
        .map(prepare_mi_panel)
        .collect::<Result<Vec<_>, _>>()?;
    let (styles, mut entries) = method_styles(data.iter().flat_map(|d| d.methods.keys().copied()));
    entries.push(LegendEntry {
        label: "ceiling log₂ C(p, k)".into(),
        swatch: Swatch::DashedBlack,
    });

    let width = 500 * panels.len() as u32;
    let plot_h = 380;
    let rows = legend_rows(&entries, width as i32 - 40)?;
    let height = plot_h + legend_height(rows.len());
    render(width, height, |root| {
        let (plots, legend) = root.split_vertically(plot_h);
        let cells = plots.split_evenly((1, data.len()));
        for (panel, cell) in data.iter().zip(&cells) {
            draw_mi_panel(root, cell, panel, &styles)?;
        }
        draw_legend(&legend, &entries, &rows)
    })
}

fn draw_mi_panel(
    root: &Area<'_>,
    cell: &Area<'_>,
    panel: &MiPanelData<'_>,
    styles: &BTreeMap<&str, SeriesStyle>,
) -> Result<(), PlotError> {
    let (y0, y1) = panel.y;
    let (xt, yt) = (Ticks::new(0.0, 1.0, 6), Ticks::new(y0, y1, 8));
    let mut chart = ChartBuilder::on(cell)
        .caption(panel.title, (FONT, TITLE_SIZE))
        .margin_top(8)
        .margin_left(8)
        .margin_right(20)
        .x_label_area_size(46)
        .y_label_area_size(62)
        .build_cartesian_2d(linear_axis(0.0, 1.0, &xt), linear_axis(y0, y1, &yt))
        .map_err(backend_err)?;
    draw_mesh(
        &mut chart,
        "sparsity (1 − k/p)",
        "I(m; D | init) (bits)",
        &|v| xt.label(*v),
        &|v| yt.label(*v),
    )?;
    chart
        .draw_series(DashedLineSeries::new(
            panel.ceiling.clone(),
            8,
            5,
            BLACK.stroke_width(2),
        ))
        .map_err(backend_err)?;
    // Methods that coincide (random and SynFlow both carry 0 bits) stay visible: a marker that
    // would cover one already drawn moves right by a marker's width per marker under it.
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
    Ok(())
}
