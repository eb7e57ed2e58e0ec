//! The house style shared by every figure: fonts and sizes, the colour palette and markers,
//! finite-value checks and padded ranges, tick choice (linear `1-2-5` steps, log decades with
//! mantissas), the axis mesh, markers, the shared legend strip below the panels, and the SVG
//! render wrapper. A figure file only arranges panels and series with these pieces.
//!
//! ```text
//! padded range  [lo − frac·(hi − lo), hi + frac·(hi − lo)]
//! linear ticks  step = {1, 2, 5} × 10^j, the smallest giving at most the target count
//! log ticks     m × 10^j for mantissas m, thinned so labels stay ≥ 42 px apart
//! ```

use std::fmt::Display;
use std::sync::OnceLock;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::PlotError;

/// The font family written into the SVG and registered with plotters' `ab_glyph` backend.
pub(super) const FONT: &str = "sans-serif";
pub(super) static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Font sizes in plotters units; plotters-svg writes `font-size = size / 1.24`, so 15 → 12.1 px.
pub(super) const TITLE_SIZE: f64 = 20.0;
pub(super) const SMALL_TITLE_SIZE: f64 = 17.0;
pub(super) const AXIS_DESC_SIZE: f64 = 17.0;
pub(super) const TICK_SIZE: f64 = 15.0;
pub(super) const LEGEND_SIZE: f64 = 16.0;

/// Tableau 10: distinct hues that stay apart for common colour-vision deficiencies. Black is kept
/// for reference lines (ceiling, exact value).
pub(super) const PALETTE: [RGBColor; 10] = [
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
pub(super) const GRID: RGBColor = RGBColor(0xE4, 0xE4, 0xE4);
pub(super) const AXIS: RGBColor = RGBColor(0x40, 0x40, 0x40);

/// Marker shapes, so that series stay apart in greyscale too.
#[derive(Debug, Clone, Copy)]
pub(super) enum Marker {
    Circle,
    Square,
    TriangleUp,
    Diamond,
    TriangleDown,
    Hexagon,
}
pub(super) const MARKERS: [Marker; 6] = [
    Marker::Circle,
    Marker::Square,
    Marker::TriangleUp,
    Marker::Diamond,
    Marker::TriangleDown,
    Marker::Hexagon,
];

/// Colour and marker of the `i`-th series (10 colours × 6 markers repeat only after 30 series).
#[derive(Debug, Clone, Copy)]
pub(super) struct SeriesStyle {
    pub(super) color: RGBColor,
    pub(super) marker: Marker,
}

pub(super) fn series_style(i: usize) -> SeriesStyle {
    SeriesStyle {
        color: PALETTE[i % PALETTE.len()],
        marker: MARKERS[i % MARKERS.len()],
    }
}

pub(super) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

pub(super) fn backend_err<E: Display>(e: E) -> PlotError {
    PlotError::Backend(e.to_string().replace(['\n', '\r'], " "))
}

/// Registers the embedded DejaVu Sans as plotters' `sans-serif` once per process.
pub(super) fn ensure_font() -> Result<(), PlotError> {
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

pub(super) fn check_finite(
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
pub(super) fn padded(lo: f64, hi: f64, frac: f64) -> (f64, f64) {
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
pub(super) fn finite_range(
    range: (f64, f64),
    what: impl FnOnce() -> String,
) -> Result<(f64, f64), PlotError> {
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
pub(super) fn bits_range(lo: f64, hi: f64) -> (f64, f64) {
    if lo >= 0.0 {
        let (_, top) = padded(0.0, hi, 0.06);
        (0.0, top)
    } else {
        padded(lo, hi, 0.06)
    }
}

/// Tick label for a count: `500`, `1k`, `2.5k`, `32k`, `1M`.
pub(super) fn fmt_count(v: f64) -> String {
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
pub(super) struct Ticks {
    pub(super) values: Vec<f64>,
    pub(super) decimals: usize,
}

impl Ticks {
    pub(super) fn new(lo: f64, hi: f64, max_n: usize) -> Ticks {
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

    /// The label of tick `v`; never "-0". Values of 10^6 and above, or below 10^-4, are
    /// written as `2e18`, `1.5e-5` rather than with 19 digits or 6 zeros.
    pub(super) fn label(&self, v: f64) -> String {
        let a = v.abs();
        let step = self
            .values
            .windows(2)
            .map(|w| w[1] - w[0])
            .next()
            .unwrap_or(a);
        // A value within rounding of 0 is 0, labelled below.
        if a >= 1e6 || (a > 1e-6 * step.abs() && a < 1e-4) {
            let digits = (a.log10().floor() - step.abs().max(f64::MIN_POSITIVE).log10().floor())
                .clamp(0.0, 15.0) as usize;
            let s = format!("{v:.digits$e}");
            let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
            let mantissa = if mantissa.contains('.') {
                mantissa.trim_end_matches('0').trim_end_matches('.')
            } else {
                mantissa
            };
            return format!("{mantissa}e{exp}");
        }
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
pub(super) struct TickedAxis<R> {
    pub(super) inner: R,
    pub(super) ticks: Vec<f64>,
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
pub(super) fn draw_mesh<X: Ranged<ValueType = f64>>(
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

pub(super) fn linear_axis(lo: f64, hi: f64, ticks: &Ticks) -> TickedAxis<RangedCoordf64> {
    TickedAxis {
        inner: (lo..hi).into(),
        ticks: ticks.values.clone(),
    }
}

/// Where a marker goes so that it hides none already drawn: `at`, moved right by 8 px for every
/// marker in `drawn` within 1 px of it (random pruning and SynFlow both sit at 0 bits, for
/// example); `at` is recorded in `drawn`.
pub(super) fn dodged(drawn: &mut Vec<(i32, i32)>, at: (i32, i32)) -> (i32, i32) {
    let under = drawn
        .iter()
        .filter(|&&(x, y)| (x - at.0).abs() <= 1 && (y - at.1).abs() <= 1)
        .count() as i32;
    drawn.push(at);
    (at.0 + 8 * under, at.1)
}

pub(super) fn draw_marker(
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
pub(super) enum Swatch {
    /// Solid coloured line with a marker.
    Series(SeriesStyle),
    /// Coloured line over a shaded band.
    Band(SeriesStyle),
    /// Dashed black line (ceiling).
    DashedBlack,
    /// Solid black line (exact value).
    SolidBlack,
}

pub(super) struct LegendEntry {
    pub(super) label: String,
    pub(super) swatch: Swatch,
}

/// A style per method, by sorted name (so a method keeps its colour and marker in every panel
/// and figure), and their legend entries in that order.
pub(super) fn method_styles<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> (
    std::collections::BTreeMap<&'a str, SeriesStyle>,
    Vec<LegendEntry>,
) {
    let names: std::collections::BTreeSet<&str> = names.into_iter().collect();
    let styles: std::collections::BTreeMap<&str, SeriesStyle> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (*n, series_style(i)))
        .collect();
    let entries = styles
        .iter()
        .map(|(n, s)| LegendEntry {
            label: (*n).to_string(),
            swatch: Swatch::Series(*s),
        })
        .collect();
    (styles, entries)
}

pub(super) const SWATCH_W: i32 = 34;
pub(super) const SWATCH_GAP: i32 = 7;
pub(super) const ENTRY_GAP: i32 = 26;
pub(super) const ROW_H: i32 = 24;
pub(super) const LEGEND_PAD: i32 = 8;

/// Width of `text` in pixels, as plotters' `ab_glyph` backend measures it with the embedded
/// DejaVu Sans. That is about 6 % wider than the SVG renders in DejaVu Sans (ab_glyph scales the
/// ascent-to-descent height, 1.164 em, to the plotters size, and plotters-svg writes
/// `font-size = size / 1.24`), a margin for viewers whose sans-serif is a little wider.
pub(super) fn text_width(text: &str, size: f64) -> Result<i32, PlotError> {
    ensure_font()?;
    let font = FontDesc::new(FontFamily::Name(FONT), size, FontStyle::Normal);
    let (w, _) = font.box_size(text).map_err(backend_err)?;
    Ok(w as i32)
}

/// Entries per row, as `(entry index, entry width)`, so that no row is wider than `max_width`.
pub(super) fn legend_rows(
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

pub(super) fn legend_height(n_rows: usize) -> u32 {
    (n_rows as i32 * ROW_H + 2 * LEGEND_PAD) as u32
}

pub(super) fn draw_swatch(
    area: &Area<'_>,
    x: i32,
    y: i32,
    swatch: Swatch,
) -> Result<(), PlotError> {
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

pub(super) fn draw_legend(
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
pub(super) fn render(
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

/// The values `m × 10^j` inside `[lo, hi]` for each mantissa `m` in `mantissas`, ascending.
pub(super) fn mantissa_ticks(lo: f64, hi: f64, mantissas: &[f64]) -> Vec<f64> {
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
pub(super) const MIN_LOG_TICK_GAP_PX: f64 = 42.0;

/// Tick positions for the log N axis: the sample sizes themselves when there are few and they are
/// far enough apart, else `1, 2, 5 × 10^j`, else `1, 3 × 10^j`, else powers of ten (every
/// few decades if need be), the first that leaves [`MIN_LOG_TICK_GAP_PX`] between labels.
pub(super) fn log_ticks(sizes: &[f64], lo: f64, hi: f64, px_per_decade: f64) -> Vec<f64> {
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
