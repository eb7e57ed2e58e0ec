//! The table of a memorisation run: one row per (method, density) reduced over seeds in seed
//! order (mean and standard error of the memorised fraction and the train accuracy; `capped`,
//! `diverged`, `collapsed` counts), and the JSON summary (the dense row, mean epochs, per-layer
//! kept fractions).

use serde::{Deserialize, Serialize};

use super::*;

/// One row of the table (SPEC §8 columns, plus `diverged`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemorizeRow {
    /// `gaussian` or `fashion-mnist`.
    pub dataset: String,
    /// Pruning method.
    pub method: String,
    /// Kept weights / all weights.
    pub density: f64,
    /// Kept weights.
    pub kept: usize,
    /// Mean memorised fraction over the seeds that did not diverge (empty if none).
    pub memorised_mean: Option<f64>,
    /// Its standard error (sample sd / √seeds; empty for one seed, which has no spread to
    /// estimate, or none).
    pub memorised_se: Option<f64>,
    /// Mean training accuracy (fraction of training points whose predicted class is their
    /// label) over the seeds that did not diverge (empty if none, or if a shard of a version
    /// before accuracy was recorded is among the inputs; absent from tables of such versions).
    #[serde(default)]
    pub accuracy_mean: Option<f64>,
    /// Its standard error (as `memorised_se`).
    #[serde(default)]
    pub accuracy_se: Option<f64>,
    /// Seeds averaged: the seeds whose run did not diverge (`diverged` counts the others).
    pub seeds: u64,
    /// Runs that hit the epoch cap.
    pub capped: u64,
    /// Runs that diverged (not averaged).
    pub diverged: u64,
    /// Runs whose mask left some weight layer with no kept weight (layer collapse), diverged
    /// runs included; absent from tables of versions before masks' layers were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collapsed: Option<u64>,
}

/// The table: one row per (method, level), reduced over `results` in the order given (seed
/// order).
pub fn rows(config: &MemorizeConfig, results: &[SeedResult]) -> Vec<MemorizeRow> {
    let n = config.dataset.points() as f64;
    let weights = config.num_weights();
    let mut rows = Vec::new();
    for (m, method) in config.methods.iter().enumerate() {
        for (j, &kept) in config.kept.iter().enumerate() {
            let at = m * config.kept.len() + j;
            let cells = results.iter().map(|r| r.cells[at]);
            let mut row = row(
                config.dataset.name(),
                method.name(),
                kept as f64 / weights as f64,
                kept,
                n,
                cells,
            );
            row.collapsed = layer_counts(results, at)
                .map(|counts| counts.iter().filter(|c| c.contains(&0)).count() as u64);
            rows.push(row);
        }
    }
    rows
}

/// Per seed, cell `at`'s kept weights per layer (seeds whose mask was not found left out);
/// `None` when some result predates their recording.
pub(super) fn layer_counts(results: &[SeedResult], at: usize) -> Option<Vec<&[u32]>> {
    results
        .iter()
        .map(|r| r.layer_kept.as_ref().map(|l| l[at].as_slice()))
        .collect::<Option<Vec<_>>>()
        .map(|counts| counts.into_iter().filter(|c| !c.is_empty()).collect())
}

/// Mean and standard error (sample sd / √m) of `values`; `None` if empty, and the standard
/// error `None` for one value (one seed has no spread to estimate; 0 would claim none).
pub(super) fn mean_se(values: &[f64]) -> (Option<f64>, Option<f64>) {
    let m = values.len();
    if m == 0 {
        return (None, None);
    }
    let mean = values.iter().sum::<f64>() / m as f64;
    if m < 2 {
        return (Some(mean), None);
    }
    let ss: f64 = values.iter().map(|f| (f - mean).powi(2)).sum();
    (Some(mean), Some((ss / (m - 1) as f64 / m as f64).sqrt()))
}

pub(super) fn row(
    dataset: &str,
    method: &str,
    density: f64,
    kept: usize,
    n: f64,
    cells: impl Iterator<Item = Cell>,
) -> MemorizeRow {
    let (mut fractions, mut accuracies, mut capped, mut diverged) = (Vec::new(), Vec::new(), 0, 0);
    let mut accuracy_known = true;
    for cell in cells {
        if cell.diverged {
            diverged += 1;
            continue;
        }
        capped += u64::from(cell.capped);
        fractions.push(cell.memorised as f64 / n);
        match cell.correct {
            Some(c) => accuracies.push(c as f64 / n),
            None => accuracy_known = false,
        }
    }
    let (memorised_mean, memorised_se) = mean_se(&fractions);
    let (accuracy_mean, accuracy_se) = if accuracy_known {
        mean_se(&accuracies)
    } else {
        (None, None)
    };
    MemorizeRow {
        dataset: dataset.to_string(),
        method: method.to_string(),
        density,
        kept,
        memorised_mean,
        memorised_se,
        accuracy_mean,
        accuracy_se,
        seeds: fractions.len() as u64,
        capped,
        diverged,
        collapsed: None,
    }
}

/// Summary for the JSON result: the dense network's row and, per method, the mean epochs of its
/// training runs and its capped and diverged counts.
pub fn summary(config: &MemorizeConfig, results: &[SeedResult]) -> serde_json::Value {
    let n = config.dataset.points() as f64;
    let dense = row(
        config.dataset.name(),
        "dense",
        1.0,
        config.num_weights(),
        n,
        results.iter().map(|r| r.dense),
    );
    let mean_epochs = |cells: &mut dyn Iterator<Item = Cell>| {
        let (mut sum, mut count) = (0u64, 0u64);
        for c in cells.filter(|c| !c.diverged) {
            sum += c.epochs as u64;
            count += 1;
        }
        (count > 0).then(|| sum as f64 / count as f64)
    };
    let per_method: Vec<serde_json::Value> = config
        .methods
        .iter()
        .enumerate()
        .map(|(m, method)| {
            let levels = config.kept.len();
            let cells = || {
                results
                    .iter()
                    .flat_map(move |r| r.cells[m * levels..(m + 1) * levels].iter().copied())
            };
            serde_json::json!({
                "method": method.name(),
                "mean_epochs": mean_epochs(&mut cells()),
                "capped": cells().filter(|c| c.capped).count(),
                "diverged": cells().filter(|c| c.diverged).count(),
            })
        })
        .collect();
    serde_json::json!({
        "dense": {
            "memorised_mean": dense.memorised_mean,
            "memorised_se": dense.memorised_se,
            "accuracy_mean": dense.accuracy_mean,
            "accuracy_se": dense.accuracy_se,
            "seeds": dense.seeds,
            "capped": dense.capped,
            "diverged": dense.diverged,
            "mean_epochs": mean_epochs(&mut results.iter().map(|r| r.dense)),
        },
        "methods": per_method,
        "layers": layer_summary(config, results),
    })
}

/// Per method and density, the mean kept fraction of each weight layer over the seeds whose
/// mask was found, and the runs whose mask left a layer empty; `null` when some result predates
/// their recording.
pub(super) fn layer_summary(config: &MemorizeConfig, results: &[SeedResult]) -> serde_json::Value {
    let sizes = config.layer_sizes();
    let mut out = Vec::new();
    for (m, method) in config.methods.iter().enumerate() {
        for (j, &kept) in config.kept.iter().enumerate() {
            let Some(counts) = layer_counts(results, m * config.kept.len() + j) else {
                return serde_json::Value::Null;
            };
            let fractions: Vec<Option<f64>> = sizes
                .iter()
                .enumerate()
                .map(|(l, &size)| {
                    (!counts.is_empty()).then(|| {
                        counts.iter().map(|c| c[l] as f64).sum::<f64>()
                            / (counts.len() * size) as f64
                    })
                })
                .collect();
            out.push(serde_json::json!({
                "method": method.name(),
                "density": kept as f64 / config.num_weights() as f64,
                "kept_fraction": fractions,
                "collapsed": counts.iter().filter(|c| c.contains(&0)).count(),
            }));
        }
    }
    serde_json::Value::Array(out)
}
