//! SVG figures for peff results (SPEC §8).
//!
//! Three figures, each returned as a complete SVG document in a `String` (the caller writes it to
//! disk atomically):
//!
//! - [`figure3_svg`]: the paper's Figure 3 (Appendix B.2). One panel per task side by side
//!   (regression, classification); x is the sparsity `1 − k/p`, y is `I(m; D | init)` in bits, one
//!   line with markers per pruning method, and the ceiling `log2 C(p, k)` (the paper's eq. 2) as a
//!   dashed black line.
//! - [`convergence_svg`]: entropy estimators against the number of sampled datasets `N` (log
//!   scale), one small panel per (method, k), each estimator with its interval as error bars and the
//!   exact value as a horizontal black line.
//! - [`curves_svg`]: generic curves with a shaded mean ± standard-error band (the Figure 1 plots).
//!
//! The inputs are plain structs ([`MiPoint`], [`ConvergencePoint`], [`Series`]) so this module does
//! not depend on the rest of the crate.
//!
//! # Conventions
//!
//! - **Deterministic.** The same input gives the same bytes: points are grouped in `BTreeMap`s (so
//!   methods and estimators are ordered by name, and keep the same colour and marker in every
//!   panel), nothing depends on time, the environment or installed fonts.
//!   [`curves_svg`] keeps the caller's series order, which is its legend order.
//! - **Validated.** Empty input is [`PlotError::NoData`]; a NaN or infinite value is
//!   [`PlotError::NonFinite`] naming the point; nothing here panics on user data.
//! - **Legends never cover data:** each figure has one shared legend in a strip below the panels,
//!   wrapped into as many rows as it needs.
//! - **No system fonts.** SVG text stays text (`<text font-family="sans-serif">`), drawn by whatever
//!   views the file. plotters still needs glyph widths to lay out labels and the legend, so DejaVu
//!   Sans (`assets/DejaVuSans.ttf`, Bitstream Vera licence, see `assets/DejaVuSans-LICENSE`) is
//!   embedded with `include_bytes!` and registered with plotters' `ab_glyph` font backend; no
//!   fontconfig or font-kit is involved.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use std::sync::OnceLock;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

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

/// Why a figure could not be drawn. Every message is one line.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The input holds no panels, points or series at all.
    #[error("nothing to plot: the input is empty")]
    NoData,
    /// One panel or series of the input has no points.
    #[error("nothing to plot in {what}")]
    Empty {
        /// The panel or series, e.g. `panel 'regression'`.
        what: String,
    },
    /// A NaN or infinite value.
    #[error("non-finite {field} = {value} in {what}")]
    NonFinite {
        /// The point, e.g. `point (method 'snip', k = 3) of panel 'regression'`.
        what: String,
        /// The field holding the value, e.g. `mi_bits`.
        field: &'static str,
        /// The offending value.
        value: f64,
    },
    /// A value that is finite but cannot be drawn or contradicts another one.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The point or series.
        what: String,
        /// What is wrong, with the values.
        reason: String,
    },
    /// The embedded font could not be registered with plotters.
    #[error("the embedded font DejaVu Sans could not be loaded")]
    Font,
    /// plotters failed while drawing.
    #[error("drawing the SVG failed: {0}")]
    Backend(String),
}

// ---------------------------------------------------------------------------------------------
// Shared style
// ---------------------------------------------------------------------------------------------

/// The font family written into the SVG and registered with plotters' `ab_glyph` backend.
const FONT: &str = "sans-serif";
static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Font sizes in plotters units; plotters-svg writes `font-size = size / 1.24`, so 15 → 12.1 px.
const TITLE_SIZE: f64 = 20.0;
const SMALL_TITLE_SIZE: f64 = 17.0;
const AXIS_DESC_SIZE: f64 = 17.0;
const TICK_SIZE: f64 = 15.0;
const LEGEND_SIZE: f64 = 16.0;

/// Tableau 10: distinct hues that stay apart for common colour-vision deficiencies. Black is kept
/// for reference lines (ceiling, exact value).
const PALETTE: [RGBColor; 10] = [
    RGBColor(0x4E, 0x79, 0xA7),
    RGBColor(0xF2, 0x8E, 0x2B),
    RGBColor(0xE1, 0x57, 0x59),
    RGBColor(0x76, 0xB7, 0xB2),
    RGBColor(0x59, 0xA1, 0x4F),
    RGBColor(0xED, 0xC9, 0x48),
    RGBColor(0xB0, 0x7A, 0xA1),
    RGBColor(0xFF, 0x9D, 0xA7),
    RGBColor(0x9C, 0x75, 0x5F),
    RGBColor(0xBA, 0xB0, 0xAC),
];
const GRID: RGBColor = RGBColor(0xE4, 0xE4, 0xE4);
const AXIS: RGBColor = RGBColor(0x40, 0x40, 0x40);

/// Marker shapes, so that series stay apart in greyscale too.
#[derive(Debug, Clone, Copy)]
enum Marker {
    Circle,
    Square,
    TriangleUp,
    Diamond,
    TriangleDown,
    Hexagon,
}
const MARKERS: [Marker; 6] = [
    Marker::Circle,
    Marker::Square,
    Marker::TriangleUp,
    Marker::Diamond,
    Marker::TriangleDown,
    Marker::Hexagon,
];

/// Colour and marker of the `i`-th series (10 colours × 6 markers repeat only after 30 series).
#[derive(Debug, Clone, Copy)]
struct SeriesStyle {
    color: RGBColor,
    marker: Marker,
}

fn series_style(i: usize) -> SeriesStyle {
    SeriesStyle {
        color: PALETTE[i % PALETTE.len()],
        marker: MARKERS[i % MARKERS.len()],
    }
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

fn backend_err<E: Display>(e: E) -> PlotError {
    PlotError::Backend(e.to_string().replace(['\n', '\r'], " "))
}

/// Registers the embedded DejaVu Sans as plotters' `sans-serif` once per process.
fn ensure_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, DEJAVU_SANS).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(PlotError::Font)
    }
}

fn check_finite(
    value: f64,
    field: &'static str,
    what: impl FnOnce() -> String,
) -> Result<f64, PlotError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(PlotError::NonFinite {
            what: what(),
            field,
            value,
        })
    }
}

/// `[lo, hi]` widened by `frac` of its span on both sides; a zero span gets a unit-sized window.
fn padded(lo: f64, hi: f64, frac: f64) -> (f64, f64) {
    let span = hi - lo;
    if span > 1e-12 * hi.abs().max(lo.abs()).max(1e-300) {
        (lo - frac * span, hi + frac * span)
    } else {
        let d = if hi.abs() > 0.0 { 0.1 * hi.abs() } else { 1.0 };
        (lo - d, hi + d)
    }
}

/// `range` itself when its ends and its span are finite; values near `f64::MAX` overflow once
/// padded.
fn finite_range(range: (f64, f64), what: impl FnOnce() -> String) -> Result<(f64, f64), PlotError> {
    if (range.1 - range.0).is_finite() {
        Ok(range)
    } else {
        Err(PlotError::Invalid {
            what: what(),
            reason: "the values are too large to plot".into(),
        })
    }
}

/// y range that starts at 0 when every value is non-negative (bits), with head room on top.
fn bits_range(lo: f64, hi: f64) -> (f64, f64) {
    if lo >= 0.0 {
        let (_, top) = padded(0.0, hi, 0.06);
        (0.0, top)
    } else {
        padded(lo, hi, 0.06)
    }
}

/// Tick label for a count: `500`, `1k`, `2.5k`, `32k`, `1M`.
fn fmt_count(v: f64) -> String {
    let (scaled, suffix) = if v >= 1e6 {
        (v / 1e6, "M")
    } else if v >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let s = format!("{scaled:.1}");
    let s = s.strip_suffix(".0").unwrap_or(&s);
    format!("{s}{suffix}")
}

/// Tick positions on a linear axis: multiples of a 1-2-5 step, at most `max_n` of them inside
/// `[lo, hi]`, with the number of decimals that step needs.
struct Ticks {
    values: Vec<f64>,
    decimals: usize,
}

impl Ticks {
    fn new(lo: f64, hi: f64, max_n: usize) -> Ticks {
        let max_n = max_n.max(2);
        let span = hi - lo;
        if !span.is_finite() || span <= 0.0 {
            return Ticks {
                values: vec![lo],
                decimals: 2,
            };
        }
        let fits = |step: f64| {
            (hi / step + 1e-9).floor() - (lo / step - 1e-9).ceil() + 1.0 <= max_n as f64
        };
        let mut exp = (span / max_n as f64).log10().floor() as i32;
        // Terminates: once the step exceeds the span at most two multiples fit.
        let step = loop {
            let found = [1.0, 2.0, 5.0]
                .iter()
                .map(|m| m * 10f64.powi(exp))
                .find(|&step| fits(step));
            match found {
                Some(step) => break step,
                None => exp += 1,
            }
        };
        let first = (lo / step - 1e-9).ceil() as i64;
        let last = (hi / step + 1e-9).floor() as i64;
        Ticks {
            values: (first..=last).map(|i| i as f64 * step).collect(),
            decimals: (-exp).clamp(0, 12) as usize,
        }
    }

    /// The label of tick `v`; never "-0".
    fn label(&self, v: f64) -> String {
        let decimals = self.decimals;
        let s = format!("{v:.decimals$}");
        if s.trim_start_matches('-')
            .chars()
            .all(|c| c == '0' || c == '.')
        {
            s.trim_start_matches('-').to_string()
        } else {
            s
        }
    }
}

/// An axis with caller-chosen tick positions. plotters' own `WithKeyPoints` cannot take a label
/// formatter over a linear `f64` axis (its format option is not `DefaultFormatting`), so this
/// newtype forwards the mapping and returns `ticks` as the (bold) key points.
struct TickedAxis<R> {
    inner: R,
    ticks: Vec<f64>,
}

impl<R: Ranged<ValueType = f64>> Ranged for TickedAxis<R> {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            vec![]
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// Draws a panel's grid, tick labels and axis titles in the house style (one place for all
/// figures).
fn draw_mesh<X: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<
        '_,
        SVGBackend<'_>,
        Cartesian2d<TickedAxis<X>, TickedAxis<RangedCoordf64>>,
    >,
    x_desc: &str,
    y_desc: &str,
    x_label: &dyn Fn(&f64) -> String,
    y_label: &dyn Fn(&f64) -> String,
) -> Result<(), PlotError> {
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .axis_desc_style((FONT, AXIS_DESC_SIZE))
        .label_style((FONT, TICK_SIZE))
        .x_label_formatter(x_label)
        .y_label_formatter(y_label)
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS)
        .draw()
        .map_err(backend_err)
}

fn linear_axis(lo: f64, hi: f64, ticks: &Ticks) -> TickedAxis<RangedCoordf64> {
    TickedAxis {
        inner: (lo..hi).into(),
        ticks: ticks.values.clone(),
    }
}

fn draw_marker(
    area: &Area<'_>,
    (x, y): (i32, i32),
    marker: Marker,
    color: RGBColor,
) -> Result<(), PlotError> {
    let style = color.filled();
    let poly = |pts: &[(i32, i32)]| {
        Polygon::new(
            pts.iter()
                .map(|(dx, dy)| (x + dx, y + dy))
                .collect::<Vec<_>>(),
            style,
        )
    };
    match marker {
        Marker::Circle => area.draw(&Circle::new((x, y), 4, style)),
        Marker::Square => area.draw(&Rectangle::new([(x - 4, y - 4), (x + 4, y + 4)], style)),
        Marker::TriangleUp => area.draw(&poly(&[(0, -5), (5, 4), (-5, 4)])),
        Marker::TriangleDown => area.draw(&poly(&[(0, 5), (5, -4), (-5, -4)])),
        Marker::Diamond => area.draw(&poly(&[(0, -6), (5, 0), (0, 6), (-5, 0)])),
        Marker::Hexagon => area.draw(&poly(&[
            (5, 0),
            (3, -4),
            (-3, -4),
            (-5, 0),
            (-3, 4),
            (3, 4),
        ])),
    }
    .map_err(backend_err)
}

// ---------------------------------------------------------------------------------------------
// Legend: a strip below the panels, entries flowed into centred rows.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Swatch {
    /// Solid coloured line with a marker.
    Series(SeriesStyle),
    /// Coloured line over a shaded band.
    Band(SeriesStyle),
    /// Dashed black line (ceiling).
    DashedBlack,
    /// Solid black line (exact value).
    SolidBlack,
}

struct LegendEntry {
    label: String,
    swatch: Swatch,
}

const SWATCH_W: i32 = 34;
const SWATCH_GAP: i32 = 7;
const ENTRY_GAP: i32 = 26;
const ROW_H: i32 = 24;
const LEGEND_PAD: i32 = 8;

/// Width of `text` in pixels, as plotters' `ab_glyph` backend measures it with the embedded
/// DejaVu Sans. That is about 6 % wider than the SVG renders in DejaVu Sans (ab_glyph scales the
/// ascent-to-descent height, 1.164 em, to the plotters size, and plotters-svg writes
/// `font-size = size / 1.24`), a margin for viewers whose sans-serif is a little wider.
fn text_width(text: &str, size: f64) -> Result<i32, PlotError> {
    ensure_font()?;
    let font = FontDesc::new(FontFamily::Name(FONT), size, FontStyle::Normal);
    let (w, _) = font.box_size(text).map_err(backend_err)?;
    Ok(w as i32)
}

/// Entries per row, as `(entry index, entry width)`, so that no row is wider than `max_width`.
fn legend_rows(
    entries: &[LegendEntry],
    max_width: i32,
) -> Result<Vec<Vec<(usize, i32)>>, PlotError> {
    let mut rows: Vec<Vec<(usize, i32)>> = vec![];
    let mut row: Vec<(usize, i32)> = vec![];
    let mut used = 0;
    for (i, e) in entries.iter().enumerate() {
        let w = SWATCH_W + SWATCH_GAP + text_width(&e.label, LEGEND_SIZE)?;
        let extra = if row.is_empty() { w } else { ENTRY_GAP + w };
        if !row.is_empty() && used + extra > max_width {
            rows.push(std::mem::take(&mut row));
            used = w;
        } else {
            used += extra;
        }
        row.push((i, w));
    }
    if !row.is_empty() {
        rows.push(row);
    }
    Ok(rows)
}

fn legend_height(n_rows: usize) -> u32 {
    (n_rows as i32 * ROW_H + 2 * LEGEND_PAD) as u32
}

fn draw_swatch(area: &Area<'_>, x: i32, y: i32, swatch: Swatch) -> Result<(), PlotError> {
    let line = |color: RGBColor, w: u32| {
        PathElement::new(vec![(x, y), (x + SWATCH_W, y)], color.stroke_width(w))
    };
    match swatch {
        Swatch::Series(s) => {
            area.draw(&line(s.color, 2)).map_err(backend_err)?;
            draw_marker(area, (x + SWATCH_W / 2, y), s.marker, s.color)
        }
        Swatch::Band(s) => {
            area.draw(&Rectangle::new(
                [(x, y - 6), (x + SWATCH_W, y + 6)],
                s.color.mix(0.22).filled(),
            ))
            .map_err(backend_err)?;
            area.draw(&line(s.color, 2)).map_err(backend_err)
        }
        Swatch::DashedBlack => {
            for x0 in [0, 13, 26] {
                let seg = PathElement::new(
                    vec![(x + x0, y), (x + (x0 + 8).min(SWATCH_W), y)],
                    BLACK.stroke_width(2),
                );
                area.draw(&seg).map_err(backend_err)?;
            }
            Ok(())
        }
        Swatch::SolidBlack => area.draw(&line(BLACK, 2)).map_err(backend_err),
    }
}

fn draw_legend(
    area: &Area<'_>,
    entries: &[LegendEntry],
    rows: &[Vec<(usize, i32)>],
) -> Result<(), PlotError> {
    let (width, _) = area.dim_in_pixel();
    let text_style = TextStyle::from((FONT, LEGEND_SIZE))
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (r, row) in rows.iter().enumerate() {
        let row_w: i32 =
            row.iter().map(|(_, w)| w).sum::<i32>() + ENTRY_GAP * (row.len() as i32 - 1);
        let mut x = (width as i32 - row_w) / 2;
        let y = LEGEND_PAD + r as i32 * ROW_H + ROW_H / 2;
        for &(i, w) in row {
            let e = &entries[i];
            draw_swatch(area, x, y, e.swatch)?;
            area.draw(&Text::new(
                e.label.clone(),
                (x + SWATCH_W + SWATCH_GAP, y),
                text_style.clone(),
            ))
            .map_err(backend_err)?;
            x += w + ENTRY_GAP;
        }
    }
    Ok(())
}

/// Renders `draw` onto a white `width × height` SVG and returns the document.
fn render(
    width: u32,
    height: u32,
    draw: impl FnOnce(&Area<'_>) -> Result<(), PlotError>,
) -> Result<String, PlotError> {
    ensure_font()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(backend_err)?;
        draw(&root)?;
        root.present().map_err(backend_err)?;
    }
    Ok(svg)
}

// ---------------------------------------------------------------------------------------------
// Figure 3
// ---------------------------------------------------------------------------------------------

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
/// 500 px wide per panel (1000 px for two) and about 420 px high.
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
    let names: BTreeSet<&str> = data
        .iter()
        .flat_map(|d| d.methods.keys().copied())
        .collect();
    let styles: BTreeMap<&str, SeriesStyle> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (*n, series_style(i)))
        .collect();
    let mut entries: Vec<LegendEntry> = styles
        .iter()
        .map(|(n, s)| LegendEntry {
            label: (*n).to_string(),
            swatch: Swatch::Series(*s),
        })
        .collect();
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
    for (name, pts) in &panel.methods {
        let style = styles[name];
        chart
            .draw_series(LineSeries::new(
                pts.iter().copied(),
                style.color.stroke_width(2),
            ))
            .map_err(backend_err)?;
        for pt in pts {
            draw_marker(root, chart.backend_coord(pt), style.marker, style.color)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Estimator convergence
// ---------------------------------------------------------------------------------------------

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

    let ncols = panels.len().min(3);
    let nrows = panels.len().div_ceil(ncols);
    let width = (ncols as u32 * 360).max(720);
    let cell_h = 290;
    let grid_h = nrows as u32 * cell_h;
    let rows = legend_rows(&entries, width as i32 - 40)?;
    let height = grid_h + legend_height(rows.len());
    render(width, height, |root| {
        let (grid, legend) = root.split_vertically(grid_h);
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

/// The values `m × 10^j` inside `[lo, hi]` for each mantissa `m` in `mantissas`, ascending.
fn mantissa_ticks(lo: f64, hi: f64, mantissas: &[f64]) -> Vec<f64> {
    let mut out = vec![];
    let mut decade = 10f64.powf(lo.log10().floor());
    while decade <= hi {
        for m in mantissas {
            let v = m * decade;
            if v >= lo && v <= hi {
                out.push(v);
            }
        }
        decade *= 10.0;
    }
    out
}

/// Smallest horizontal distance between tick labels, in pixels, on the log N axis.
const MIN_LOG_TICK_GAP_PX: f64 = 42.0;

/// Tick positions for the log N axis: the sample sizes themselves when there are few and they are
/// far enough apart, else `1, 2, 5 × 10^j`, else `1, 3 × 10^j`, else powers of ten (every
/// few decades if need be), the first that leaves [`MIN_LOG_TICK_GAP_PX`] between labels.
fn log_ticks(sizes: &[f64], lo: f64, hi: f64, px_per_decade: f64) -> Vec<f64> {
    let wide_enough = |t: &[f64]| {
        t.len() >= 2
            && t.windows(2)
                .all(|w| (w[1] / w[0]).log10() * px_per_decade >= MIN_LOG_TICK_GAP_PX)
    };
    let mut candidates = vec![];
    if sizes.len() <= 8 {
        candidates.push(sizes.to_vec());
    }
    for mantissas in [&[1.0, 2.0, 5.0][..], &[1.0, 3.0], &[1.0]] {
        candidates.push(mantissa_ticks(lo, hi, mantissas));
    }
    if let Some(c) = candidates.into_iter().find(|c| wide_enough(c)) {
        return c;
    }
    let every = (MIN_LOG_TICK_GAP_PX / px_per_decade).ceil().max(1.0) as usize;
    let powers: Vec<f64> = (lo.log10().ceil() as i32..=hi.log10().floor() as i32)
        .step_by(every)
        .map(|d| 10f64.powi(d))
        .collect();
    if powers.len() >= 2 {
        powers
    } else {
        sizes[..1].to_vec()
    }
}

// ---------------------------------------------------------------------------------------------
// Generic curves with error bands
// ---------------------------------------------------------------------------------------------

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

    let width = 720;
    let plot_h = 450;
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
            .y_label_area_size(70)
            .build_cartesian_2d(linear_axis(x0, x1, &xt), linear_axis(y0, y1, &yt))
            .map_err(backend_err)?;
        draw_mesh(&mut chart, x_label, y_label, &|v| xt.label(*v), &|v| {
            yt.label(*v)
        })?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// log2 C(p, k) by summing logs (exact enough for the test data).
    fn log2_binom(p: usize, k: usize) -> f64 {
        (0..k)
            .map(|i| ((p - i) as f64 / (i + 1) as f64).log2())
            .sum()
    }

    /// Synthetic Figure-3 data shaped like the paper's: p = 21, k = 1..=20, bell-shaped MI below
    /// the ceiling, SNIP/GraSP jagged.
    fn figure3_panels() -> Vec<MiPanel> {
        let methods = [
            ("magnitude", 0.55),
            ("imp", 0.5),
            ("snip", 0.3),
            ("grasp", 0.25),
            ("random", 0.0),
        ];
        ["regression (MSE)", "classification (cross-entropy)"]
            .iter()
            .enumerate()
            .map(|(t, title)| {
                let mut points = vec![];
                for (m, (name, scale)) in methods.iter().enumerate() {
                    for k in 1..=20 {
                        let ceil = log2_binom(21, k);
                        let jag = if m == 2 || m == 3 {
                            0.6 * ((k * (m + t + 3)) % 5) as f64
                        } else {
                            0.0
                        };
                        let mi = (scale * (1.0 - 0.1 * t as f64) * ceil - jag).max(0.0);
                        points.push(MiPoint {
                            method: (*name).into(),
                            k,
                            p: 21,
                            mi_bits: mi,
                            ceiling_bits: ceil,
                        });
                    }
                }
                MiPanel {
                    title: (*title).into(),
                    points,
                }
            })
            .collect()
    }

    fn convergence_points() -> Vec<ConvergencePoint> {
        let estimators = [
            ("plugin", -1.6),
            ("miller_madow", -0.9),
            ("chao_shen", 0.2),
            ("nsb", 0.05),
            ("grassberger", -0.4),
        ];
        let mut out = vec![];
        for (method, exact) in [("magnitude", 9.3), ("snip", 4.1)] {
            for k in [5, 10] {
                let exact = exact + k as f64 * 0.1;
                for (e, bias) in estimators {
                    for samples in [1000u64, 2000, 4000, 8000, 16000, 32000] {
                        let shrink = (1000.0 / samples as f64).sqrt();
                        let est = exact + bias * shrink;
                        let half = 0.5 * shrink;
                        out.push(ConvergencePoint {
                            method: method.into(),
                            k,
                            estimator: e.into(),
                            samples,
                            estimate_bits: est,
                            ci_low_bits: est - half,
                            ci_high_bits: est + 0.8 * half,
                            exact_bits: exact,
                        });
                    }
                }
            }
        }
        out
    }

    fn figure1_series() -> Vec<Series> {
        ["sparsity 0", "sparsity 0.5", "sparsity 0.9"]
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let x: Vec<f64> = (0..=40).map(|e| e as f64 * 25.0).collect();
                let mean = x
                    .iter()
                    .map(|&t| (0.9 - 0.25 * i as f64) * (1.0 - (-t / 200.0).exp()))
                    .collect();
                let se = x
                    .iter()
                    .map(|&t| 0.02 + 0.01 * (t / 300.0).sin().abs())
                    .collect();
                Series {
                    label: (*label).into(),
                    x,
                    mean,
                    se,
                }
            })
            .collect()
    }

    fn assert_well_formed(svg: &str) {
        assert!(
            svg.starts_with("<svg"),
            "does not start with <svg: {}",
            &svg[..svg.len().min(80)]
        );
        assert!(
            svg.trim_end().ends_with("</svg>"),
            "does not end with </svg>"
        );
        assert_eq!(svg.matches("<svg").count(), 1);
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
    }

    /// Whether the SVG has a `<text>` element with exactly this (escaped) content; plotters-svg
    /// writes the content on its own line.
    fn has_text(svg: &str, text: &str) -> bool {
        svg.contains(&format!(">\n{text}\n</text>"))
    }

    /// Writes an example figure for eyeballing into the directory named by the environment
    /// variable `PEFF_PLOT_EXAMPLES`, if set (off by default so `cargo test` leaves no files).
    /// Example: `PEFF_PLOT_EXAMPLES=out cargo test plot::`, then `rsvg-convert out/figure3.svg`.
    fn write_example(name: &str, svg: &str) {
        if let Some(dir) = std::env::var_os("PEFF_PLOT_EXAMPLES") {
            let dir = std::path::PathBuf::from(dir);
            std::fs::create_dir_all(&dir).expect("create the examples directory");
            std::fs::write(dir.join(name), svg).expect("write an example svg");
        }
    }

    /// Figure 3 is a well-formed SVG with both panel titles, every method in the legend, the
    /// axis labels, and writes the example `figure3.svg`.
    #[test]
    fn figure3_is_well_formed_with_titles_and_legend() {
        let svg = figure3_svg(&figure3_panels()).expect("figure 3");
        write_example("figure3.svg", &svg);
        assert_well_formed(&svg);
        for text in [
            "regression (MSE)",
            "classification (cross-entropy)",
            "magnitude",
            "imp",
            "snip",
            "grasp",
            "random",
            "sparsity (1 − k/p)",
            "I(m; D | init) (bits)",
        ] {
            assert!(has_text(&svg, text), "missing text '{text}'");
        }
        assert!(svg.contains(r#"width="1000""#));
    }

    /// The ceiling log2 C(p, k) is drawn: a legend entry, and black dashes (many short black
    /// segments from DashedLineSeries) in each panel.
    #[test]
    fn figure3_draws_the_dashed_ceiling() {
        let svg = figure3_svg(&figure3_panels()).expect("figure 3");
        assert!(has_text(&svg, "ceiling log₂ C(p, k)"));
        let black_segments = svg
            .lines()
            .filter(|l| l.starts_with("<polyline") && l.contains(r##"stroke="#000000""##))
            .count();
        assert!(black_segments > 40, "only {black_segments} black segments");
    }

    /// The same input gives byte-identical output, for every figure (no timestamps, no hash-map
    /// order), and input order of points does not matter for figure 3.
    #[test]
    fn output_is_deterministic() {
        let panels = figure3_panels();
        assert_eq!(figure3_svg(&panels).unwrap(), figure3_svg(&panels).unwrap());
        let mut reversed = panels.clone();
        for p in &mut reversed {
            p.points.reverse();
        }
        assert_eq!(
            figure3_svg(&panels).unwrap(),
            figure3_svg(&reversed).unwrap()
        );

        let pts = convergence_points();
        let mut rev = pts.clone();
        rev.reverse();
        assert_eq!(
            convergence_svg(&pts).unwrap(),
            convergence_svg(&rev).unwrap()
        );

        let s = figure1_series();
        assert_eq!(
            curves_svg("t", "x", "y", &s).unwrap(),
            curves_svg("t", "x", "y", &s).unwrap()
        );
    }

    /// A NaN or infinite value is an error naming the field and the point, not a panic.
    #[test]
    fn non_finite_values_are_errors_naming_the_point() {
        let mut panels = figure3_panels();
        panels[1].points[7].mi_bits = f64::NAN;
        let err = figure3_svg(&panels).unwrap_err();
        assert!(
            matches!(
                err,
                PlotError::NonFinite {
                    field: "mi_bits",
                    ..
                }
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("mi_bits = NaN")
                && msg.contains("k = 8")
                && msg.contains("classification"),
            "{msg}"
        );
        assert!(!msg.contains('\n'));

        let mut pts = convergence_points();
        pts[3].ci_high_bits = f64::INFINITY;
        let msg = convergence_svg(&pts).unwrap_err().to_string();
        assert!(
            msg.contains("ci_high_bits = inf") && msg.contains("estimator 'plugin'"),
            "{msg}"
        );

        let mut s = figure1_series();
        s[2].se[5] = f64::NAN;
        let msg = curves_svg("t", "x", "y", &s).unwrap_err().to_string();
        assert!(
            msg.contains("se = NaN in point 5 of series 'sparsity 0.9'"),
            "{msg}"
        );
    }

    /// Empty input is `NoData`; an empty panel or series is `Empty` naming it.
    #[test]
    fn empty_input_is_no_data() {
        assert!(matches!(figure3_svg(&[]), Err(PlotError::NoData)));
        assert!(matches!(convergence_svg(&[]), Err(PlotError::NoData)));
        assert!(matches!(
            curves_svg("t", "x", "y", &[]),
            Err(PlotError::NoData)
        ));
        let panel = MiPanel {
            title: "classification".into(),
            points: vec![],
        };
        let err = figure3_svg(&[panel]).unwrap_err();
        assert_eq!(err.to_string(), "nothing to plot in panel 'classification'");
        let s = Series {
            label: "a".into(),
            x: vec![],
            mean: vec![],
            se: vec![],
        };
        assert!(matches!(
            curves_svg("t", "x", "y", &[s]),
            Err(PlotError::Empty { .. })
        ));
    }

    /// Inconsistent inputs are `Invalid` errors: k > p, swapped interval ends, N = 0, series of
    /// unequal lengths, negative standard error.
    #[test]
    fn invalid_inputs_are_errors() {
        let mut panels = figure3_panels();
        panels[0].points[0].k = 22;
        assert!(matches!(
            figure3_svg(&panels),
            Err(PlotError::Invalid { .. })
        ));

        let mut pts = convergence_points();
        pts[0].ci_low_bits = pts[0].ci_high_bits + 1.0;
        assert!(matches!(
            convergence_svg(&pts),
            Err(PlotError::Invalid { .. })
        ));
        let mut pts = convergence_points();
        pts[0].samples = 0;
        assert!(matches!(
            convergence_svg(&pts),
            Err(PlotError::Invalid { .. })
        ));
        let mut pts = convergence_points();
        pts[1].exact_bits += 1.0;
        assert!(matches!(
            convergence_svg(&pts),
            Err(PlotError::Invalid { .. })
        ));

        let mut s = figure1_series();
        s[0].se.pop();
        assert!(matches!(
            curves_svg("t", "x", "y", &s),
            Err(PlotError::Invalid { .. })
        ));
        let mut s = figure1_series();
        s[0].se[0] = -0.1;
        assert!(matches!(
            curves_svg("t", "x", "y", &s),
            Err(PlotError::Invalid { .. })
        ));
    }

    /// The convergence grid is well formed, has one titled panel per (method, k), every estimator
    /// and "exact" in the legend, the N axis label, and writes the example `convergence.svg`.
    #[test]
    fn convergence_is_well_formed_with_panels_and_legend() {
        let svg = convergence_svg(&convergence_points()).expect("convergence");
        write_example("convergence.svg", &svg);
        assert_well_formed(&svg);
        for text in [
            "magnitude, k = 5",
            "magnitude, k = 10",
            "snip, k = 5",
            "snip, k = 10",
            "plugin",
            "miller_madow",
            "chao_shen",
            "nsb",
            "grassberger",
            "exact",
            "samples N",
            "32k",
        ] {
            assert!(has_text(&svg, text), "missing text '{text}'");
        }
    }

    /// The curves figure is well formed with its title, axis labels and series labels (escaped
    /// for XML), and writes the example `curves.svg`.
    #[test]
    fn curves_is_well_formed_with_title_and_legend() {
        let mut series = figure1_series();
        let svg = curves_svg(
            "Memorisation capacity",
            "epoch",
            "memorised fraction",
            &series,
        )
        .expect("curves");
        write_example("curves.svg", &svg);
        assert_well_formed(&svg);
        for text in [
            "Memorisation capacity",
            "epoch",
            "memorised fraction",
            "sparsity 0",
            "sparsity 0.5",
            "sparsity 0.9",
        ] {
            assert!(has_text(&svg, text), "missing text '{text}'");
        }

        series[0].label = "a<b & c".into();
        let svg = curves_svg("t", "x", "y", &series).expect("curves");
        assert!(has_text(&svg, "a&lt;b &amp; c"));
    }

    /// A single point, a single sample size and constant values still draw (zero-width ranges are
    /// widened instead of failing).
    #[test]
    fn degenerate_ranges_still_draw() {
        let panel = MiPanel {
            title: "one".into(),
            points: vec![MiPoint {
                method: "m".into(),
                k: 0,
                p: 1,
                mi_bits: 0.0,
                ceiling_bits: 0.0,
            }],
        };
        assert_well_formed(&figure3_svg(&[panel]).unwrap());
        let pt = ConvergencePoint {
            method: "m".into(),
            k: 1,
            estimator: "plugin".into(),
            samples: 1,
            estimate_bits: 2.0,
            ci_low_bits: 2.0,
            ci_high_bits: 2.0,
            exact_bits: 2.0,
        };
        assert_well_formed(&convergence_svg(&[pt]).unwrap());
        let s = Series {
            label: "flat".into(),
            x: vec![3.0],
            mean: vec![1.0],
            se: vec![0.0],
        };
        assert_well_formed(&curves_svg("t", "x", "y", &[s]).unwrap());
    }

    /// Finite but extreme values (near f64::MAX, subnormal) return an error or a figure, never
    /// panic.
    #[test]
    fn extreme_values_do_not_panic() {
        for v in [f64::MAX, -f64::MAX, 1e300, 5e-324, -1e-300] {
            let mut panels = figure3_panels();
            panels[0].points[3].mi_bits = v;
            let _ = figure3_svg(&panels);
            let mut pts = convergence_points();
            pts[2].estimate_bits = v;
            pts[2].ci_high_bits = v.max(pts[2].ci_high_bits);
            pts[2].ci_low_bits = v.min(pts[2].ci_low_bits);
            let _ = convergence_svg(&pts);
            let mut s = figure1_series();
            s[0].x[0] = v;
            s[1].mean[1] = v;
            let _ = curves_svg("t", "x", "y", &s);
        }
        let mut panels = figure3_panels();
        panels[0].points[3].mi_bits = f64::MAX;
        let msg = figure3_svg(&panels).unwrap_err().to_string();
        assert!(msg.contains("too large"), "{msg}");
    }

    /// Tick labels: counts in k/M, no "-0", decimals from the tick step.
    #[test]
    fn count_and_tick_labels() {
        assert_eq!(fmt_count(500.0), "500");
        assert_eq!(fmt_count(1000.0), "1k");
        assert_eq!(fmt_count(2500.0), "2.5k");
        assert_eq!(fmt_count(32000.0), "32k");
        assert_eq!(fmt_count(1e6), "1M");
        let t = Ticks::new(-0.3, 5.6, 6);
        assert_eq!(t.values, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(t.label(4.0), "4");
        let t = Ticks::new(1.8, 5.6, 8);
        assert_eq!(
            t.values.iter().map(|v| t.label(*v)).collect::<Vec<_>>(),
            ["2.0", "2.5", "3.0", "3.5", "4.0", "4.5", "5.0", "5.5"]
        );
        let t = Ticks::new(-0.07, 0.9, 6);
        assert_eq!(t.label(t.values[0]), "0.0");
        assert_eq!(t.label(-1e-17), "0.0");
    }
}
