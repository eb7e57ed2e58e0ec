//! The noise-correlation figures (the paper's Fig. 1d–f and Fig. 2): `C` against the epoch with
//! a shaded mean ± standard-error band per curve, and, for IMP, a dashed vertical line at every
//! prune with the density range in the x-axis title:
//!
//! ```text
//! line through (epoch, mean C),  band [mean − se, mean + se],  prune j at epoch j·E (dashed)
//! ```
//!
//! Curves keep the caller's order (a sweep reads in its natural order: colours and legend).

use super::curves::Series;
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
    super::curves::curves_with_rules_svg(
        title,
        x_label,
        "correlation with label noise C",
        series,
        prune_epochs,
        (900, 480),
    )
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
