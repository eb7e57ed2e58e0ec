//! Grassberger (2003) entropy, eq. 35 of arXiv:physics/0307138.
//!
//! ```text
//! H_G = ln N − (1/N) Σ_i n_i G(n_i),   G(n) = ψ(n) + ½(−1)^n [ψ((n+1)/2) − ψ(n/2)]
//! ```
//!
//! Other estimators also go by "Grassberger" (the 1988 `ψ(n)`-based one, the 2003 eq. 13
//! variant); this is eq. 35. Edge case: a single observed symbol with count `N` gives
//! `ln N − G(N)`, not 0 (the estimator allows for unseen symbols); it is positive for odd `N`
//! (`γ + ln 2` = +1.833 bits at `N = 1`) and negative for even `N` (`2 ln 2 − 2 + γ` = −0.053
//! bits at `N = 2`), tending to 0 as `N` grows.
//!
//! ## References
//! - P. Grassberger (2003), "Entropy estimates from insufficient samplings",
//!   arXiv:physics/0307138.

use std::f64::consts::LN_2;

use statrs::function::gamma::digamma;

use super::spectrum::Spectrum;
use super::EstimateError;

pub(super) fn grassberger_nats(s: &Spectrum) -> f64 {
    let n = s.n();
    let sum: f64 = s
        .groups
        .iter()
        .map(|&(c, f)| {
            let x = c as f64;
            let sign = if c % 2 == 0 { 1.0 } else { -1.0 };
            let g = digamma(x) + 0.5 * sign * (digamma((x + 1.0) / 2.0) - digamma(x / 2.0));
            f as f64 * x * g
        })
        .sum();
    n.ln() - sum / n
}

/// Grassberger (2003) entropy in bits, the estimator of eq. 35 of arXiv:physics/0307138.
///
/// ```text
/// H_G = ln N − (1/N) Σ_i n_i G(n_i),   G(n) = ψ(n) + ½(−1)^n [ψ((n+1)/2) − ψ(n/2)]
/// ```
/// Other estimators also go by "Grassberger" (the 1988 `ψ(n)`-based one, and the 2003 eq. 13
/// variant); this is eq. 35. Reference: P. Grassberger (2003).
///
/// Edge cases: a single symbol with count `n` gives `(ln n − G(n))/ln 2`, not 0 (the estimator
/// assumes unseen symbols may exist): positive for odd `n`, negative for even `n` (−0.053 bits
/// at `n = 2`); empty or all-zero input is [`EstimateError::EmptyInput`].
pub fn grassberger(counts: &[u64]) -> Result<f64, EstimateError> {
    Ok(grassberger_nats(&Spectrum::from_counts(counts)?) / LN_2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::info::estimators::reference::check_columns;

    #[test]
    fn matches_mpmath_references() {
        check_columns(grassberger, 4, None);
    }

    /// One observed symbol: `ln N − G(N)` in closed form from ψ(1) = −γ, ψ(1/2) = −γ − 2 ln 2,
    /// ψ(n + 1) = ψ(n) + 1/n. N = 1: γ + ln 2 > 0; N = 2: 2 ln 2 − 2 + γ < 0 (−0.0526 bits);
    /// N = 4: ln 4 − (11/6 − γ) − ½(ψ(5/2) − ψ(2)) < 0, ψ(5/2) = 8/3 − γ − 2 ln 2.
    #[test]
    fn single_symbol_sign_alternates() {
        const GAMMA: f64 = 0.577_215_664_901_532_9;
        let ln2 = LN_2;
        let n1 = (GAMMA + ln2) / ln2;
        let n2 = (2.0 * ln2 - 2.0 + GAMMA) / ln2;
        let psi_5_2 = 8.0 / 3.0 - GAMMA - 2.0 * ln2;
        let n4 = (4f64.ln() - (11.0 / 6.0 - GAMMA) - 0.5 * (psi_5_2 - (1.0 - GAMMA))) / ln2;
        for (n, want) in [(1u64, n1), (2, n2), (4, n4)] {
            let got = grassberger(&[n]).unwrap();
            assert!((got - want).abs() < 1e-13, "N = {n}: {got} vs {want}");
        }
        assert!(n1 > 1.83 && n1 < 1.84);
        assert!(n2 < -0.052 && n2 > -0.053);
        assert!(n4 < 0.0);
        assert!(grassberger(&[3]).unwrap() > 0.0);
    }
}
