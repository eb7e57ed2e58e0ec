//! Result rows (SPEC §8): one serialisable record per (method, k), the single source of truth
//! for tables, JSON files and plots.
//!
//! ```text
//! sparsity = 1 − k/p,  ceiling = log2 C(p, k),  p_eff = I(m; D | init) + k
//! ```

use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};

use super::{RowKey, ToyExperiment};
use crate::data::{binomial, log2_binomial};
use crate::info::tally::MaskTally;

/// One row of `peff exact`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExactRow {
    /// Task preset name.
    pub task: String,
    /// Pruning method.
    pub method: String,
    /// Kept parameters `k`.
    pub k: usize,
    /// `1 − k/p`.
    pub sparsity: f64,
    /// `H(m | init)` in bits.
    /// Empty (JSON `null`) when every run of the row diverged: there is no mask pmf, so no
    /// entropy; such a row is not a result (the `diverged` column says why).
    pub entropy_bits: Option<f64>,
    /// `I(m; D | init)` in bits (equals the entropy for deterministic methods, 0 for random).
    /// Empty when every run diverged.
    pub mi_bits: Option<f64>,
    /// `log2 C(p, k)` in bits, the largest possible entropy at `k`.
    pub ceiling_bits: f64,
    /// `I(m; D | init) + k`.
    /// Empty when every run diverged.
    pub p_eff: Option<f64>,
    /// Number of distinct masks (for random: the support size `C(p, k)`).
    pub distinct_masks: u64,
    /// Number of datasets whose training diverged (excluded from the pmf).
    pub diverged: u64,
    /// Probability of the datasets whose top-k cut fell inside a tie.
    pub tie_mass: f64,
}

impl ExactRow {
    /// The row for `key`, from its tally (`None`: random pruning, in closed form).
    pub fn new(exp: &ToyExperiment, key: RowKey, tally: Option<&MaskTally>) -> Self {
        let p = exp.num_params();
        let ceiling = log2_binomial(p, key.k);
        let deterministic = exp.is_tallied(key.method, false);
        let (entropy, distinct, diverged, tie_mass) = match tally {
            Some(t) => (
                (t.valid_weight() > 0).then(|| t.entropy_bits()),
                t.distinct() as u64,
                t.diverged_datasets,
                t.tie_mass(),
            ),
            None => (
                Some(ceiling),
                binomial(p as u128, key.k as u128)
                    .map_or(u64::MAX, |c| c.min(u64::MAX as u128) as u64),
                0,
                0.0,
            ),
        };
        let mi = if deterministic {
            entropy
        } else {
            entropy.map(|_| 0.0)
        };
        ExactRow {
            task: exp.task.clone(),
            method: key.method.name().to_string(),
            k: key.k,
            sparsity: 1.0 - key.k as f64 / p as f64,
            entropy_bits: entropy,
            mi_bits: mi,
            ceiling_bits: ceiling,
            p_eff: mi.map(|mi| mi + key.k as f64),
            distinct_masks: distinct,
            diverged,
            tie_mass,
        }
    }
}

/// Rows of an exact run from its tallies (one per row of `exp.rows()`).
pub fn exact_rows(exp: &ToyExperiment, tallies: &[MaskTally]) -> Vec<ExactRow> {
    exp.rows()
        .into_iter()
        .zip(tallies)
        .map(|(key, t)| {
            let tallied = exp.is_tallied(key.method, false);
            ExactRow::new(exp, key, tallied.then_some(t))
        })
        .collect()
}

/// One row of a multi-init run (`--inits K`): per-init rows carry their seed, mean rows carry
/// `init_seed = "mean"` and standard errors over inits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InitRow {
    /// The init seed, or `mean`.
    pub init_seed: String,
    /// The row (means over inits for mean rows).
    #[serde(flatten)]
    pub row: ExactRow,
    /// Standard error of `entropy_bits` over inits (mean rows only).
    pub entropy_bits_se: Option<f64>,
    /// Standard error of `mi_bits` over inits (mean rows only).
    pub mi_bits_se: Option<f64>,
    /// Standard error of `p_eff` over inits (mean rows only).
    pub p_eff_se: Option<f64>,
}

/// Per-init rows followed by mean ± standard-error rows (standard error `s/√K`).
pub fn multi_init_rows(per_init: &[(u64, Vec<ExactRow>)]) -> Vec<InitRow> {
    let mut out: Vec<InitRow> = per_init
        .iter()
        .flat_map(|(seed, rows)| {
            rows.iter().map(move |r| InitRow {
                init_seed: seed.to_string(),
                row: r.clone(),
                entropy_bits_se: None,
                mi_bits_se: None,
                p_eff_se: None,
            })
        })
        .collect();
    let Some((_, first)) = per_init.first() else {
        return out;
    };
    for (idx, template) in first.iter().enumerate() {
        let column = |f: fn(&ExactRow) -> f64| -> (f64, f64) {
            let v: Vec<f64> = per_init.iter().map(|(_, rows)| f(&rows[idx])).collect();
            mean_se(&v)
        };
        // A mean over inits exists only if every init has the value.
        let optional = |f: fn(&ExactRow) -> Option<f64>| -> (Option<f64>, Option<f64>) {
            let v: Option<Vec<f64>> = per_init.iter().map(|(_, rows)| f(&rows[idx])).collect();
            v.map_or((None, None), |v| {
                let (m, se) = mean_se(&v);
                (Some(m), Some(se))
            })
        };
        let (entropy, entropy_se) = optional(|r| r.entropy_bits);
        let (mi, mi_se) = optional(|r| r.mi_bits);
        let (p_eff, p_eff_se) = optional(|r| r.p_eff);
        let (distinct, _) = column(|r| r.distinct_masks as f64);
        let (tie_mass, _) = column(|r| r.tie_mass);
        let diverged = per_init.iter().map(|(_, rows)| rows[idx].diverged).sum();
        out.push(InitRow {
            init_seed: "mean".to_string(),
            row: ExactRow {
                entropy_bits: entropy,
                mi_bits: mi,
                p_eff,
                distinct_masks: distinct.round() as u64,
                diverged,
                tie_mass,
                ..template.clone()
            },
            entropy_bits_se: entropy_se,
            mi_bits_se: mi_se,
            p_eff_se,
        });
    }
    out
}

/// Mean and standard error of the mean (`s/√K`, `s` with `K − 1` denominator; 0 for `K = 1`).
pub fn mean_se(values: &[f64]) -> (f64, f64) {
    let k = values.len() as f64;
    let mean = values.iter().sum::<f64>() / k;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (k - 1.0);
    (mean, (var / k).sqrt())
}

/// One row of `peff sample`: the exact-table columns plus one estimator's estimate.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct SampleRow {
    /// The table columns, with `entropy_bits`/`mi_bits`/`p_eff` from this row's estimator.
    #[serde(flatten)]
    pub row: ExactRow,
    /// Number of sampled datasets N.
    pub samples: u64,
    /// Estimator name.
    pub estimator: String,
    /// Estimate of `H(m | init)`, bits (empty for estimator `none`: every run diverged).
    pub estimate_bits: Option<f64>,
    /// Lower end of the 95 % bootstrap basic interval, bits (empty for `none`).
    pub ci_low_bits: Option<f64>,
    /// Upper end of the 95 % bootstrap basic interval, bits (empty for `none`).
    pub ci_high_bits: Option<f64>,
}

/// Sample rows for one experiment from its tallies: one per estimator for each (method, k).
/// A row whose every run diverged has no estimate: it gets a single row with estimator `none`,
/// empty entropy, estimate and interval cells, and `diverged = samples`.
pub fn sample_rows(
    exp: &ToyExperiment,
    tallies: &[MaskTally],
    samples: u64,
) -> Result<Vec<SampleRow>, crate::info::estimators::EstimateError> {
    let never = AtomicBool::new(false);
    let Some(rows) = sample_rows_until(exp, tallies, samples, &never)? else {
        unreachable!("a stop flag that is never set")
    };
    Ok(rows)
}

/// [`sample_rows`] that `stop` can end (`Ok(None)`): each row's bootstrap checks it between
/// resamples (the Python bindings' Ctrl-C; a row takes up to about a second).
pub fn sample_rows_until(
    exp: &ToyExperiment,
    tallies: &[MaskTally],
    samples: u64,
    stop: &AtomicBool,
) -> Result<Option<Vec<SampleRow>>, crate::info::estimators::EstimateError> {
    use rayon::prelude::*;
    let keys = exp.rows();
    // Rows are independent (each bootstrap has its own seeded stream): estimate them in parallel,
    // collected in row order. A stopped row is `None`, and so is the whole table.
    let per_row = keys
        .par_iter()
        .zip(tallies)
        .map(|(&key, tally)| {
            if tally.valid_weight() == 0 {
                return Ok(Some(Vec::new()));
            }
            crate::info::estimate_rows_until(tally, exp.num_params(), key.k, stop)
        })
        .collect::<Result<Option<Vec<_>>, _>>()?;
    let Some(per_row) = per_row else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for ((key, tally), estimates) in keys.into_iter().zip(tallies).zip(per_row) {
        let base = ExactRow::new(exp, key, Some(tally));
        let deterministic = exp.is_tallied(key.method, false);
        if estimates.is_empty() {
            out.push(SampleRow {
                row: base.clone(),
                samples,
                estimator: "none".to_string(),
                estimate_bits: None,
                ci_low_bits: None,
                ci_high_bits: None,
            });
        }
        for e in estimates {
            let mi = if deterministic { e.estimate_bits } else { 0.0 };
            out.push(SampleRow {
                row: ExactRow {
                    entropy_bits: Some(e.estimate_bits),
                    mi_bits: Some(mi),
                    p_eff: Some(mi + key.k as f64),
                    ..base.clone()
                },
                samples,
                estimator: e.estimator,
                estimate_bits: Some(e.estimate_bits),
                ci_low_bits: Some(e.ci_low_bits),
                ci_high_bits: Some(e.ci_high_bits),
            });
        }
    }
    Ok(Some(out))
}

/// One row of `peff converge`: an estimator's estimate from the first `samples` sampled
/// datasets, beside the exact value from enumeration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConvergenceRow {
    /// Task preset name.
    pub task: String,
    /// Pruning method.
    pub method: String,
    /// Kept parameters.
    pub k: usize,
    /// Number of sampled datasets N.
    pub samples: u64,
    /// Estimator name.
    pub estimator: String,
    /// Estimate of `H(m | init)`, bits.
    pub estimate_bits: f64,
    /// Lower end of the 95 % bootstrap basic interval, bits.
    pub ci_low_bits: f64,
    /// Upper end of the 95 % bootstrap basic interval, bits.
    pub ci_high_bits: f64,
    /// Exact `H(m | init)` from enumeration, bits.
    pub exact_bits: f64,
    /// `estimate − exact`, bits.
    pub error_bits: f64,
    /// Whether the interval contains the exact value.
    pub covered: bool,
}
