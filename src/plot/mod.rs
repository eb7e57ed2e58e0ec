//! SVG figures for peff results (SPEC §8).
//!
//! Five figures, each returned as a complete SVG document in a `String` (the caller writes it to
//! disk atomically):
//!
//! - [`figure3_svg`]: the paper's Figure 3 (Appendix B.2). One panel per task side by side
//!   (regression, classification); x is the sparsity `1 − k/p`, y is `I(m; D | init)` in bits, one
//!   line with markers per pruning method, and the ceiling `log2 C(p, k)` (the paper's eq. 2) as a
//!   dashed black line.
//! - [`convergence_svg`]: entropy estimators against the number of sampled datasets `N` (log
//!   scale), one small panel per (method, k), each estimator with its interval as error bars and the
//!   exact value as a horizontal black line.
//! - [`figure1a_svg`]: the paper's Figure 1a/1b, memorised fraction vs density (log scale), one
//!   line per pruning method with a mean ± standard-error band (`peff memorize`).
//! - [`scaling_svg`]: `I(m; D | init)` vs the number of points `n`, one panel per `k`, with the
//!   data's entropy `H(D)` and the ceiling `log2 C(p, k)`.
//! - [`curves_svg`]: generic curves with a shaded mean ± standard-error band (the Figure 1 plots).
//! - [`noise_corr_svg`]: the noise correlation `C` vs epoch with ± s.e. bands and the IMP prunes
//!   marked (Fig. 1d–f, Fig. 2).
//!
//! The inputs are plain structs ([`MiPoint`], [`ConvergencePoint`], [`Series`]) so this module does
//! not depend on the rest of the crate.
//!
//! One file per figure (`figure3.rs`, `convergence.rs`, `figure1a.rs`, `scaling.rs`, `curves.rs`); the house style (fonts,
//! palette, markers, ticks, axes, legend, error bands, rendering) is in `style.rs`. Adding a
//! figure means adding one file that arranges its panels with `style`'s pieces, and re-exporting
//! its `*_svg` function and input types here.
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

pub mod convergence;
pub mod curves;
pub mod figure1a;
pub mod figure3;
pub mod noise_corr;
pub mod scaling;
pub mod stochastic;
mod style;
#[cfg(test)]
mod tests;

pub use convergence::{convergence_svg, ConvergencePoint};
pub use curves::{curves_svg, Series};
pub use figure1a::{figure1a_svg, MemorisePoint};
pub use figure3::{figure3_svg, MiPanel, MiPoint};
pub use noise_corr::noise_corr_svg;
pub use scaling::{scaling_svg, ScalingPoint};

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
