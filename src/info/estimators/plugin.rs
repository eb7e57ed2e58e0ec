//! Plug-in (maximum-likelihood) entropy.
//!
//! ```text
//! H_ML = −Σ_i p̂_i ln p̂_i,   p̂_i = n_i / N,   0·ln 0 = 0
//! ```
//!
//! Biased low by about `(m − 1)/(2N)` nats. `ln p̂` of a dominant bin is formed as
//! `ln1p(−(N − n)/N)` ([`super::special::ln_fraction`]). Edge cases: a single symbol gives 0,
//! all singletons `log2 N`.
//!
//! ## References
//! - C. E. Shannon (1948), "A mathematical theory of communication".
//! - G. A. Miller (1955), "Note on the bias of information estimates" (the bias).

use std::f64::consts::LN_2;

use super::special::ln_fraction;
use super::spectrum::Spectrum;
use super::EstimateError;

pub(super) fn plugin_nats(s: &Spectrum) -> f64 {
    let n = s.n();
    s.groups
        .iter()
        .map(|&(c, f)| -(f as f64) * (c as f64 / n) * ln_fraction(c, s.total))
        .sum()
}

/// Plug-in (maximum-likelihood) entropy in bits.
///
/// ```text
/// H_ML = −Σ_i p̂_i ln p̂_i / ln 2,   p̂_i = n_i / N,   0·ln 0 = 0
/// ```
/// Biased low by about `(m − 1)/(2N)` nats (Miller 1955). Reference: Shannon (1948).
///
/// Edge cases: zero counts are ignored; a single symbol gives exactly 0; all singletons give
/// `log2 N`; empty or all-zero input is [`EstimateError::EmptyInput`]; a total above `u64::MAX`
/// is [`EstimateError::CountOverflow`].
///
/// # Example
/// ```
/// # use peff::info::estimators::plugin;
/// let h = plugin(&[1, 1, 0, 2])?;
/// assert!((h - 1.5).abs() < 1e-12);
/// # Ok::<(), peff::info::estimators::EstimateError>(())
/// ```
pub fn plugin(counts: &[u64]) -> Result<f64, EstimateError> {
    Ok(plugin_nats(&Spectrum::from_counts(counts)?) / LN_2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::info::estimators::reference::check_columns;

    #[test]
    fn matches_mpmath_references() {
        check_columns(plugin, 0, Some((0, |w| 1e-12 * w.abs())));
    }
}
