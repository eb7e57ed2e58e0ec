//! How each entropy estimator converges to the exact mask entropy (the library part of
//! `peff converge`).
//!
//! Samples the first `N` datasets of one stream for increasing `N` (nested samples, so each
//! step adds datasets to the previous tally), estimates `H(m | init)` with every estimator and
//! its bootstrap interval, and sets each estimate beside the exact value from enumeration:
//!
//! ```text
//! error = Ĥ_N − H_exact,   covered = [ci_low ≤ H_exact ≤ ci_high]
//! ```

use serde::Serialize;

use crate::experiments::toy::report::{exact_rows, ConvergenceRow};
use crate::experiments::toy::{enumerate_datasets, sample_datasets, ToyExperiment};
use crate::info::estimate_rows;
use crate::info::estimators::EstimateError;
use crate::info::tally::MaskTally;

/// Share of (method, k) rows whose interval covers the exact value, per estimator, at the
/// largest `N`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Coverage {
    /// Estimator name.
    pub estimator: String,
    /// Rows covered.
    pub covered: usize,
    /// Rows in all.
    pub rows: usize,
    /// Mean absolute error at the largest N, bits.
    pub mean_abs_error_bits: f64,
}

/// Runs the convergence study of `exp` for the strictly ascending sample sizes `sizes` of the
/// dataset stream `seed`, on the current rayon pool: one row per (method, k, N, estimator).
/// The exact reference enumerates every dataset, so `exp.space` must be small enough for that.
pub fn convergence_rows(
    exp: &ToyExperiment,
    sizes: &[u64],
    seed: u64,
) -> Result<Vec<ConvergenceRow>, EstimateError> {
    use rayon::prelude::*;
    let exact = exp.tally(enumerate_datasets(exp.space), false, &|_| {});
    // A row whose every run diverged has no exact value (`None`) and no convergence rows.
    let exact_bits: Vec<Option<f64>> = exact_rows(exp, &exact)
        .iter()
        .map(|r| r.entropy_bits)
        .collect();
    let mut running = vec![MaskTally::default(); exp.rows().len()];
    let mut rows = Vec::new();
    let mut previous = 0;
    for &n in sizes {
        running = exp
            .tally_from(
                sample_datasets(exp.space, seed, previous..n),
                true,
                running,
                &|_| {},
                &mut |_, _| true,
            )
            .0;
        previous = n;
        let keys = exp.rows();
        let estimates = keys
            .par_iter()
            .zip(&running)
            // A row whose every sampled run diverged has nothing to estimate.
            .map(|(key, tally)| match tally.valid_weight() {
                0 => Ok(Vec::new()),
                _ => estimate_rows(tally, exp.num_params(), key.k),
            })
            .collect::<Result<Vec<_>, _>>()?;
        for ((key, row_estimates), &exact) in keys.iter().zip(estimates).zip(&exact_bits) {
            let Some(exact) = exact else { continue };
            for e in row_estimates {
                rows.push(ConvergenceRow {
                    task: exp.task.clone(),
                    method: key.method.name().to_string(),
                    k: key.k,
                    samples: n,
                    covered: e.ci_low_bits <= exact && exact <= e.ci_high_bits,
                    error_bits: e.estimate_bits - exact,
                    estimator: e.estimator,
                    estimate_bits: e.estimate_bits,
                    ci_low_bits: e.ci_low_bits,
                    ci_high_bits: e.ci_high_bits,
                    exact_bits: exact,
                });
            }
        }
    }
    Ok(rows)
}

/// Coverage per estimator at sample size `n`, estimators in first-seen order.
pub fn coverage_at(rows: &[ConvergenceRow], n: u64) -> Vec<Coverage> {
    let mut out: Vec<Coverage> = Vec::new();
    for row in rows.iter().filter(|r| r.samples == n) {
        let idx = match out.iter().position(|c| c.estimator == row.estimator) {
            Some(i) => i,
            None => {
                out.push(Coverage {
                    estimator: row.estimator.clone(),
                    covered: 0,
                    rows: 0,
                    mean_abs_error_bits: 0.0,
                });
                out.len() - 1
            }
        };
        let c = &mut out[idx];
        c.rows += 1;
        c.covered += usize::from(row.covered);
        c.mean_abs_error_bits += row.error_bits.abs();
    }
    for c in &mut out {
        c.mean_abs_error_bits /= c.rows.max(1) as f64;
    }
    out
}
