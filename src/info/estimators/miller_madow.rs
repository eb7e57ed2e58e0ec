//! Miller–Madow bias-corrected entropy.
//!
//! ```text
//! H_MM = H_ML + (m − 1)/(2N)   (nats),   m = number of non-zero bins
//! ```
//!
//! Edge cases: a single symbol gives 0; all singletons give `log2 N + (N − 1)/(2N ln 2)`.
//!
//! ## References
//! - G. A. Miller (1955), "Note on the bias of information estimates".

use std::f64::consts::LN_2;

use super::plugin::plugin_nats;
use super::spectrum::Spectrum;
use super::EstimateError;

pub(super) fn miller_madow_nats(s: &Spectrum) -> f64 {
    plugin_nats(s) + (s.observed as f64 - 1.0) / (2.0 * s.n())
}

/// Miller–Madow bias-corrected entropy in bits.
///
/// ```text
/// H_MM = H_ML + (m − 1)/(2N)   (nats),   m = number of non-zero bins
/// ```
/// Reference: G. A. Miller (1955).
///
/// Edge cases: a single symbol gives 0; all singletons give `log2 N + (N − 1)/(2N ln 2)`;
/// empty or all-zero input is [`EstimateError::EmptyInput`].
pub fn miller_madow(counts: &[u64]) -> Result<f64, EstimateError> {
    Ok(miller_madow_nats(&Spectrum::from_counts(counts)?) / LN_2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::info::estimators::reference::check_columns;

    #[test]
    fn matches_mpmath_references() {
        check_columns(miller_madow, 1, Some((3, |w| 1e-12 * w.abs())));
    }
}
