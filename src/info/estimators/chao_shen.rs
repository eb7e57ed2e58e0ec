//! Chao–Shen coverage-adjusted (Horvitz–Thompson) entropy.
//!
//! ```text
//! C = 1 − f1/N   (f1 := N − 1 if f1 = N, so that C > 0)
//! pa_i = C·p̂_i,   H_CS = −Σ_i pa_i ln pa_i / (1 − (1 − pa_i)^N)
//! ```
//!
//! `1 − (1 − pa)^N` is evaluated as `−expm1(N·ln1p(−pa))`. Edge cases: finite when every count
//! is 1; a single symbol gives 0.
//!
//! ## References
//! - A. Chao and T.-J. Shen (2003), "Nonparametric estimation of Shannon's index of diversity
//!   when there are unseen species in sample", Environ. Ecol. Stat. 10.

use std::f64::consts::LN_2;

use super::special::ln_fraction;
use super::spectrum::Spectrum;
use super::EstimateError;

pub(super) fn chao_shen_nats(s: &Spectrum) -> f64 {
    let n = s.n();
    let mut f1 = s.f(1);
    if f1 == s.total {
        f1 = s.total - 1;
    }
    let coverage = 1.0 - f1 as f64 / n;
    let ln_coverage = (-(f1 as f64) / n).ln_1p();
    s.groups
        .iter()
        .map(|&(c, f)| {
            let pa = coverage * c as f64 / n;
            if pa >= 1.0 {
                return 0.0;
            }
            // 1 − (1 − pa)^N = −expm1(N·ln1p(−pa)), without cancellation for small pa
            let inclusion = -(n * (-pa).ln_1p()).exp_m1();
            -(f as f64) * pa * (ln_coverage + ln_fraction(c, s.total)) / inclusion
        })
        .sum()
}

/// Chao–Shen coverage-adjusted (Horvitz–Thompson) entropy in bits.
///
/// ```text
/// C = 1 − f1/N   (if f1 = N, f1 := N − 1 so that C = 1/N > 0)
/// pa_i = C·p̂_i
/// H_CS = −Σ_i pa_i ln pa_i / (1 − (1 − pa_i)^N)
/// ```
/// `1 − (1 − pa)^N` is evaluated as `−expm1(N·ln1p(−pa))`, i.e. SPEC's `exp(N·ln1p(−pa))` without
/// the cancellation of subtracting it from 1. Reference: A. Chao and T.-J. Shen (2003); matches
/// `entropy.ChaoShen` of the R package `entropy`.
///
/// Edge cases: finite when every count is 1 (by the `f1 = N − 1` rule); a single symbol gives 0;
/// empty or all-zero input is [`EstimateError::EmptyInput`].
pub fn chao_shen(counts: &[u64]) -> Result<f64, EstimateError> {
    Ok(chao_shen_nats(&Spectrum::from_counts(counts)?) / LN_2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::info::estimators::reference::check_columns;

    #[test]
    fn matches_mpmath_references() {
        check_columns(chao_shen, 2, Some((4, |w| 1e-12 * w.abs())));
    }
}
