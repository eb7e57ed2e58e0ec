//! Hausser–Strimmer James–Stein shrinkage entropy, toward the uniform distribution over an
//! alphabet of `A` symbols.
//!
//! ```text
//! u = p̂,  λ = Σ_i u_i(1 − u_i)/(N − 1) / Σ_i (u_i − 1/A)²   clipped to [0, 1]
//!         (sums over all A bins; λ = 1 for N ≤ 1),   H = H_ML(λ/A + (1 − λ)u) over all A bins
//! ```
//!
//! The `A − m` unobserved bins are one closed-form term, so `A` may be astronomically large
//! (e.g. `C(p, k)`). Edge cases: a single symbol with `A = 1` gives 0; all singletons are often
//! shrunk fully (`λ = 1`, giving `log2 A`).
//!
//! ## References
//! - J. Hausser and K. Strimmer (2009), "Entropy inference and the James–Stein estimator",
//!   JMLR 10.

use std::f64::consts::LN_2;

use serde::Serialize;

use super::spectrum::{check_alphabet, Spectrum};
use super::EstimateError;

pub(super) fn shrink_nats(s: &Spectrum, alphabet: f64) -> (f64, f64) {
    let n = s.n();
    let target = 1.0 / alphabet;
    let unobserved = alphabet - s.observed as f64;
    let lambda = if s.total <= 1 {
        1.0
    } else {
        let mut variance = 0.0;
        let mut misfit = unobserved * target * target;
        for &(c, f) in &s.groups {
            let u = c as f64 / n;
            variance += f as f64 * u * (1.0 - u);
            misfit += f as f64 * (u - target) * (u - target);
        }
        variance /= n - 1.0;
        if misfit > 0.0 {
            (variance / misfit).clamp(0.0, 1.0)
        } else {
            1.0
        }
    };
    let mut h: f64 = s
        .groups
        .iter()
        .map(|&(c, f)| {
            let p = lambda * target + (1.0 - lambda) * (c as f64 / n);
            // 1 − p, formed without cancellation, for the log of a dominant bin
            let q = (1.0 - lambda) * ((s.total - c) as f64 / n) + lambda * (1.0 - target);
            let ln_p = if q < 0.5 { (-q).ln_1p() } else { p.ln() };
            if p > 0.0 {
                -(f as f64) * p * ln_p
            } else {
                0.0
            }
        })
        .sum();
    if lambda > 0.0 && unobserved > 0.0 {
        // (A − m)·(λ/A)·ln(λ/A), with (A − m)/A = 1 − m/A exact for huge A
        let q = lambda * target;
        h -= lambda * (1.0 - s.observed as f64 / alphabet) * q.ln();
    }
    (h, lambda)
}

/// Result of [`shrink`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Shrinkage {
    /// The shrinkage entropy estimate in bits.
    pub bits: f64,
    /// The shrinkage intensity `λ ∈ [0, 1]` toward the uniform distribution over the alphabet.
    pub lambda: f64,
}

/// Hausser–Strimmer James–Stein shrinkage entropy in bits, with the shrinkage intensity.
///
/// ```text
/// u_i = p̂_i,  t = 1/A over all A bins (the A − m unobserved bins have u = 0)
/// λ = [Σ_i u_i (1 − u_i) / (N − 1)] / [Σ_obs (u_i − 1/A)² + (A − m)/A²]   clipped to [0, 1]
/// λ = 1 if N ≤ 1 or the denominator is 0
/// p_i = λ/A + (1 − λ) u_i,   H = −Σ_obs p_i ln p_i − (A − m)(λ/A) ln(λ/A)
/// ```
/// Reference: J. Hausser and K. Strimmer (2009); matches `entropy.shrink` of the R package
/// `entropy` when the count vector has exactly `A` entries.
///
/// Edge cases: `alphabet` must be finite, `≥ 1` ([`EstimateError::InvalidAlphabet`]) and at least
/// the number of non-zero bins ([`EstimateError::AlphabetTooSmall`]); it may be non-integer and
/// astronomically large (e.g. `C(p, k)`). A single symbol with `A = 1` gives 0; all singletons
/// with `N > 1` are shrunk (often fully, `λ = 1`, giving `log2 A`); empty input is
/// [`EstimateError::EmptyInput`].
pub fn shrink(counts: &[u64], alphabet: f64) -> Result<Shrinkage, EstimateError> {
    let s = Spectrum::from_counts(counts)?;
    check_alphabet(alphabet, s.observed)?;
    let (h, lambda) = shrink_nats(&s, alphabet);
    Ok(Shrinkage {
        bits: h / LN_2,
        lambda,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::info::estimators::reference::close;

    /// Computed independently with mpmath (40 digits) from Hausser & Strimmer's formula, with
    /// the target 1/A and λ's sums over all A bins (as R's `entropy.shrink` does for a count
    /// vector of length A).
    #[test]
    fn shrink_reference_values() {
        let table: &[(&[u64], f64, f64, f64)] = &[
            (&[10, 5, 3, 1, 1], 5.0, 2.056925888882, 0.248120300752),
            (&[10, 5, 3, 1, 1], 13.0, 2.393691118074, 0.132040627886),
            (&[10, 5, 3, 1, 1], 1000.0, 3.145890856441, 0.102468560782),
            (&[50, 30, 20], 3.0, 1.510523120624, 0.134199134199),
            (&[50, 30, 20], 1000.0, 1.746282319399, 0.016524079849),
            (&[3, 3, 3, 3], 4.0, 2.0, 1.0),
            (&[3, 3, 3, 3], 11.0, 3.065538642638, 0.428571428571),
            (&[1, 1, 1, 1, 1, 1], 15.0, 3.906890595609, 1.0),
            (&[100, 1], 7.0, 0.083067597259, 0.000234090225),
            (&[5], 5.0, 0.0, 0.0),
            (&[1], 5.0, 2.321928094887, 1.0),
            (
                &[2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 3],
                25.0,
                4.629882048477,
                0.892857142857,
            ),
            // the example vector of R's `entropy.shrink` docs, with R's target 1/length(y)
            (
                &[4, 2, 3, 0, 2, 4, 0, 0, 2, 1, 1],
                11.0,
                3.4330412963486925,
                0.7663934426229508,
            ),
        ];
        for &(counts, a, h, lambda) in table {
            let s = shrink(counts, a).unwrap();
            assert!(
                close(s.bits, h, 1e-10),
                "{counts:?} A={a}: {} vs {h}",
                s.bits
            );
            assert!(
                close(s.lambda, lambda, 1e-10),
                "{counts:?} A={a}: λ {}",
                s.lambda
            );
        }
    }
}
