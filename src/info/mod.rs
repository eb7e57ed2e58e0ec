//! Information quantities: exact mask tallies, and entropy estimates with intervals from sampled
//! tallies (SPEC §4, §5).

pub mod bound;
pub mod counts;
pub mod estimators;
pub mod masks;
pub mod tally;

use std::sync::atomic::AtomicBool;

use estimators::{estimate_all_until, BootstrapConfig, EstimateError};
use tally::MaskTally;

use crate::data::log2_binomial;

/// One estimator's estimate of a tally's entropy, with its interval (bits).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct EstimateRow {
    /// Estimator name.
    pub estimator: String,
    /// Estimate, bits.
    pub estimate_bits: f64,
    /// Lower end of the 95 % bootstrap basic interval, bits.
    pub ci_low_bits: f64,
    /// Upper end of the interval, bits.
    pub ci_high_bits: f64,
}

impl From<estimators::EstimateWithInterval> for EstimateRow {
    fn from(e: estimators::EstimateWithInterval) -> Self {
        EstimateRow {
            estimator: e.estimator.name().to_string(),
            estimate_bits: e.estimate_bits,
            ci_low_bits: e.ci_low_bits,
            ci_high_bits: e.ci_high_bits,
        }
    }
}

/// Every estimator's estimate of a sampled tally of masks with `k` of `p` kept (alphabet
/// `A = C(p, k)`), with bootstrap intervals (1,000 resamples, seed 0). Diverged runs are not in
/// the counts.
pub fn estimate_rows(
    tally: &MaskTally,
    p: usize,
    k: usize,
) -> Result<Vec<EstimateRow>, EstimateError> {
    let never = AtomicBool::new(false);
    let Some(rows) = estimate_rows_until(tally, p, k, &never)? else {
        unreachable!("a stop flag that is never set")
    };
    Ok(rows)
}

/// [`estimate_rows`] that `stop` can end between bootstrap resamples (`Ok(None)`; see
/// [`estimators::estimate_all_until`]).
pub fn estimate_rows_until(
    tally: &MaskTally,
    p: usize,
    k: usize,
    stop: &AtomicBool,
) -> Result<Option<Vec<EstimateRow>>, EstimateError> {
    let counts = tally.counts();
    let alphabet = log2_binomial(p, k).exp2().round().max(counts.len() as f64);
    let estimates = estimate_all_until(&counts, alphabet, &BootstrapConfig::default(), stop)?;
    Ok(estimates.map(|rows| rows.into_iter().map(EstimateRow::from).collect()))
}
