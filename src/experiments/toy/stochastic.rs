//! Mask information under stochastic training (docs/methods.md §"Stochastic training"): every
//! dataset `D` of the space, with its multinomial probability `P(D)`, trained with `S` seeds
//! (minibatch order and gradient noise, [`Stochastic`]), so that the mask is a random function of
//! `D` and
//!
//! ```text
//! I(m; D | init) = H(m | init) − E_D H(m | D, init)
//! H(m | init)       = H(Σ_D P(D) p̂(m | D))            plug-in of the mixture over all runs
//! E_D H(m | D, init) = Σ_D P(D) Ĥ_CWJ(counts of m over D's S runs)
//! ```
//!
//! `Ĥ_CWJ` is Chao–Wang–Jost's estimator ([`chao_wang_jost`]): 0 when every run gives the same
//! mask, and the least biased of peff's estimators at `S` ≤ 64 samples of a pmf with unseen
//! masks; the plug-in `Ĥ_ML` is reported beside it. A diverged run is counted (`diverged`) and
//! left out of both pmfs, as in `peff exact`: the joint law is that of the valid runs, each run
//! of `D` weighing `w_D = n!/Π c_j!`, so dataset `D` weighs `w_D · (valid runs of D)` in the
//! average.
//!
//! The interval is a bootstrap over the seeds: each replicate redraws, for every dataset, its
//! `S` runs with replacement, and recomputes `I`. The bootstrap world's truth is the plug-in
//! value `I_ML = H(m | init) − Σ_D P(D) H_ML(m | D)`, so the 95 % **basic** interval is
//! `(Î − (q_{0.975} − I_ML), Î − (q_{0.025} − I_ML))` of the replicates' type-7 quantiles,
//! widened to contain `Î` and cut to `[0, log2 C(p, k)]`, as every estimator's interval in
//! [`crate::info::estimators::estimate_all`].
//!
//! Summaries `f(m)` ([`Summary`]: kept count per layer, per hidden unit, per input) go through
//! the same estimate with `f(m)` in place of `m`; by data processing `I(f(m); D | init) ≤
//! I(m; D | init)`.
//!
//! With `B = n` and `σ² = 0` training is full-batch descent: every seed gives the same mask, so
//! the runs of seed 0 stand for all `S` (nothing is drawn from a stream), `Ĥ(m | D) = 0`, and
//! `H(m | init)` is `peff exact`'s value bit for bit (its weights are `S` times exact's, summed
//! in the same mask order by [`entropy_of_weights`]).

use std::sync::atomic::{AtomicBool, Ordering};

use hashbrown::HashMap;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Dataset, RowKey, ToyExperiment, LANES, NOISY_LANES};
use crate::data::log2_binomial;
use crate::info::estimators::{bounded_interval, chao_wang_jost, plugin};
use crate::info::tally::{entropy_of_weights, Mass};
use crate::model::toy::lanes::{Stochastic, ToyBatch};
use crate::model::toy::{Dims, ToyShape};

/// Runs (dataset × seed pairs) per parallel task.
const CHUNK: usize = 128;
/// The mask word of a diverged run (no toy mask has all 64 bits set: `k < p ≤ 64`).
const DIVERGED: u64 = u64::MAX;

/// A summary `f(m)` of a mask (docs/methods.md, "Lower bounds via summaries").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Summary {
    /// The mask itself.
    Mask,
    /// Kept count of each layer: `(#W1 + #b1, #W2 + #b2)`.
    Layer,
    /// Kept count of each hidden unit `j`: `#W1[j, ·] + b1[j] + #W2[·, j]`.
    Unit,
    /// Kept count of each input `t`'s weights: `#W1[·, t]`.
    Input,
}

impl Summary {
    /// Every summary, in table order.
    pub const ALL: [Summary; 4] = [Summary::Mask, Summary::Layer, Summary::Unit, Summary::Input];

    /// The name in tables and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Summary::Mask => "mask",
            Summary::Layer => "layer",
            Summary::Unit => "unit",
            Summary::Input => "input",
        }
    }

    /// The summary named `name`.
    pub fn from_name(name: &str) -> Option<Summary> {
        Summary::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The counts `f(m)` of a mask word (bit `i`: parameter `i` kept), in the order named above.
    pub fn counts(self, shape: &ToyShape, word: u64) -> Vec<u32> {
        let kept = |i: usize| u32::from(word >> i & 1 == 1);
        let (d, h, o) = (shape.input_dim, shape.hidden, shape.outputs);
        match self {
            Summary::Mask => (0..shape.num_params()).map(kept).collect(),
            Summary::Layer => {
                let first = h * (d + 1);
                let c1 = (0..first).map(kept).sum();
                let c2 = (first..shape.num_params()).map(kept).sum();
                vec![c1, c2]
            }
            Summary::Unit => (0..h)
                .map(|j| {
                    (0..d).map(|t| kept(shape.w1(j, t))).sum::<u32>()
                        + kept(shape.b1(j))
                        + (0..o).map(|k| kept(shape.w2(k, j))).sum::<u32>()
                })
                .collect(),
            Summary::Input => (0..d)
                .map(|t| (0..h).map(|j| kept(shape.w1(j, t))).sum())
                .collect(),
        }
    }

    /// `f(m)` packed into one word (mixed radix 65, injective since every count is ≤ 64 and at
    /// most 10 of them are packed beyond `mask`, which is the word itself).
    pub fn key(self, shape: &ToyShape, word: u64) -> u64 {
        match self {
            Summary::Mask => word,
            _ => self.counts(shape, word).iter().fold(0u64, |acc, &c| {
                acc.wrapping_mul(65).wrapping_add(u64::from(c))
            }),
        }
    }

    /// A label for `f(m)` as `peff entropy` reads it in a `mask,count` file: the mask's bit
    /// string, or the counts joined by spaces (e.g. `9 3` for `layer`).
    pub fn label(self, shape: &ToyShape, word: u64) -> String {
        let counts = self.counts(shape, word);
        match self {
            Summary::Mask => counts.iter().map(|c| c.to_string()).collect(),
            _ => counts
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// One point of the study: a minibatch size and a gradient-noise variance, and which sweep it
/// belongs to (`batch-size`, `grad-noise`, or `grid` for a full product).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Setting {
    /// `batch-size`, `grad-noise` or `grid`.
    pub sweep: String,
    /// The training settings.
    pub training: Stochastic,
}

/// A validated stochastic study (the `config` of its run record).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StochasticStudy {
    /// The toy experiment (init, methods, k; its `train` gives `steps` and `lr`).
    pub experiment: ToyExperiment,
    /// The settings, in table order.
    pub settings: Vec<Setting>,
    /// Training seeds `S` at which to estimate, ascending; the largest is run, and each smaller
    /// one uses the first `S` seeds of the same runs.
    pub train_seeds: Vec<usize>,
    /// Summaries, in table order.
    pub summaries: Vec<Summary>,
    /// Bootstrap replicates (0: no interval).
    pub bootstrap: usize,
    /// Seed of the bootstrap streams.
    pub bootstrap_seed: u64,
}

/// The masks of every run of one setting, per row: `masks[d · S + s]` is the mask word of
/// dataset `d` trained with seed `s` (`DIVERGED` if the run diverged), `ties` whether its cut
/// fell inside a tie. `None` for random pruning when it is not tallied (closed form).
#[derive(Clone, Debug)]
pub struct SettingRuns {
    /// `w_D` of each dataset, in enumeration order.
    pub weights: Vec<u128>,
    /// Seeds per dataset `S`.
    pub seeds: usize,
    /// Per row of [`ToyExperiment::rows`].
    pub rows: Vec<Option<RowRuns>>,
}

/// The runs of one (method, k).
#[derive(Clone, Debug)]
pub struct RowRuns {
    /// Mask word per run.
    pub masks: Vec<u64>,
    /// Tie flag per run.
    pub ties: Vec<bool>,
}

/// Trains and prunes every (dataset, seed) run of one setting. `on_progress` gets the number of
/// runs finished (a deterministic setting trains seed 0 only and reports `S` per dataset). Once
/// `stop` is set, the remaining work is skipped and the result is `None`.
pub fn run_setting(
    exp: &ToyExperiment,
    training: Stochastic,
    datasets: &[Dataset],
    seeds: usize,
    stop: Option<&AtomicBool>,
    on_progress: &(dyn Fn(u64) + Sync),
) -> Option<SettingRuns> {
    let stopped = || stop.is_some_and(|s| s.load(Ordering::Relaxed));
    let rows = exp.rows();
    let plan = exp.plan(false, &rows);
    let deterministic = training.is_deterministic(exp.space.n);
    let trained = if deterministic { 1 } else { seeds };
    let jobs: Vec<(usize, u64)> = (0..datasets.len())
        .flat_map(|d| (0..trained as u64).map(move |s| (d, s)))
        .collect();
    let per_job: Vec<Vec<(u64, bool)>> = jobs
        .par_chunks(CHUNK)
        .flat_map_iter(|chunk| {
            let mut out = Vec::with_capacity(chunk.len());
            if stopped() {
                return out;
            }
            if training.grad_noise > 0.0 {
                train_jobs::<NOISY_LANES>(
                    exp,
                    training,
                    datasets,
                    chunk,
                    &plan,
                    rows.len(),
                    &mut out,
                );
            } else {
                train_jobs::<LANES>(exp, training, datasets, chunk, &plan, rows.len(), &mut out);
            }
            on_progress((chunk.len() * seeds / trained) as u64);
            out
        })
        .collect();
    if stopped() || per_job.len() != jobs.len() {
        return None;
    }
    let tallied: Vec<bool> = rows
        .iter()
        .map(|r| exp.is_tallied(r.method, false))
        .collect();
    let runs = datasets.len() * seeds;
    let mut out_rows: Vec<Option<RowRuns>> = tallied
        .iter()
        .map(|&t| {
            t.then(|| RowRuns {
                masks: vec![DIVERGED; runs],
                ties: vec![false; runs],
            })
        })
        .collect();
    for (r, row) in out_rows.iter_mut().enumerate() {
        let Some(row) = row else { continue };
        for d in 0..datasets.len() {
            for s in 0..seeds {
                let job = d * trained + if deterministic { 0 } else { s };
                let (word, tie) = per_job[job][r];
                row.masks[d * seeds + s] = word;
                row.ties[d * seeds + s] = tie;
            }
        }
    }
    Some(SettingRuns {
        weights: datasets.iter().map(|d| d.weight).collect(),
        seeds,
        rows: out_rows,
    })
}

/// Trains the runs `jobs` (dataset index, training seed) in lockstep batches of `L` and appends,
/// per run, the mask word and tie flag of every row (`num_rows`, in `plan`'s order).
fn train_jobs<const L: usize>(
    exp: &ToyExperiment,
    training: Stochastic,
    datasets: &[Dataset],
    jobs: &[(usize, u64)],
    plan: &[super::Planned],
    num_rows: usize,
    out: &mut Vec<Vec<(u64, bool)>>,
) {
    for batch in jobs.chunks(L) {
        let lanes: Vec<(u64, Vec<u32>)> = batch
            .iter()
            .map(|&(d, _)| (datasets[d].key, datasets[d].ids.clone()))
            .collect();
        let seeds: Vec<u64> = batch.iter().map(|&(_, s)| s).collect();
        let nets = ToyBatch::<L>::new(exp.shape, exp.space, exp.train, &exp.init, &lanes)
            .with_stochastic(training, &seeds);
        let mut results = vec![vec![(DIVERGED, false); num_rows]; batch.len()];
        for step in plan {
            let cuts: Vec<Vec<Option<crate::mask::Cut>>> = match &step.fixed {
                Some(cuts) => cuts.iter().map(|c| vec![c.clone(); batch.len()]).collect(),
                None => step
                    .pruner
                    .prune(&nets, &step.ks)
                    .into_iter()
                    .map(|p| p.lanes)
                    .collect(),
            };
            for (offset, lane_cuts) in cuts.iter().enumerate() {
                for (j, cut) in lane_cuts.iter().take(batch.len()).enumerate() {
                    results[j][step.first_row + offset] = match cut {
                        Some(c) => (mask_word(&c.mask), c.tie),
                        None => (DIVERGED, false),
                    };
                }
            }
        }
        out.extend(results);
    }
}

fn mask_word(mask: &crate::mask::Mask) -> u64 {
    mask.kept().fold(0u64, |w, i| w | 1u64 << i)
}

/// The estimate of one (setting, method, k, summary, S).
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// `H(f(m) | init)`, plug-in of the mixture, bits.
    pub h_mask_bits: f64,
    /// `E_D H(f(m) | D, init)` by Chao–Wang–Jost, bits.
    pub h_cond_bits: f64,
    /// `I(f(m); D | init) = h_mask − h_cond`, bits.
    pub mi_bits: f64,
    /// Bootstrap basic interval of `mi_bits` (`None` without bootstrap).
    pub mi_ci: Option<(f64, f64)>,
    /// `E_D H(f(m) | D, init)` by the plug-in, bits.
    pub h_cond_plugin_bits: f64,
    /// `h_mask − h_cond_plugin`, bits.
    pub mi_plugin_bits: f64,
    /// Distinct values of `f(m)` over all runs.
    pub distinct: u64,
    /// Diverged runs.
    pub diverged: u64,
    /// Probability of the runs whose cut fell inside a tie.
    pub tie_mass: f64,
}

/// Every run of one dataset's first `s` seeds, mapped through the summary.
struct DatasetRuns {
    weight: u128,
    /// Summary key per run (`None`: diverged).
    keys: Vec<Option<u64>>,
}

impl DatasetRuns {
    /// `(key, count)` of the valid runs, keys ascending.
    fn counts(&self) -> Vec<(u64, u64)> {
        key_counts(self.keys.iter().flatten().copied())
    }
}

/// `(key, count)` of the distinct keys of one dataset's runs, keys ascending.
pub fn key_counts(keys: impl Iterator<Item = u64>) -> Vec<(u64, u64)> {
    let mut keys: Vec<u64> = keys.collect();
    keys.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for k in keys {
        match out.last_mut() {
            Some((last, c)) if *last == k => *c += 1,
            _ => out.push((k, 1)),
        }
    }
    out
}

/// The estimate of the module docs from per-dataset runs: each dataset's mass `w_D` (an integer
/// weight, or a probability) and the `(key, count)` of its valid runs ([`key_counts`]). Returns
/// `(H(m | init), E_D H(m | D, init) by Chao–Wang–Jost, the same by the plug-in, distinct keys)`
/// in bits; a dataset without valid runs is left out, and one whose runs agree has `Ĥ = 0`.
pub fn entropies<W: Mass>(per_dataset: &[(W, Vec<(u64, u64)>)]) -> (f64, f64, f64, u64) {
    let mut mixture: HashMap<u64, W> = HashMap::new();
    let (mut cond, mut cond_ml, mut mass) = (0.0, 0.0, 0.0);
    for (weight, counts) in per_dataset {
        let valid: u64 = counts.iter().map(|c| c.1).sum();
        if valid == 0 {
            continue;
        }
        for &(key, c) in counts {
            *mixture.entry(key).or_default() += weight.times(c);
        }
        let m = weight.to_f64() * valid as f64;
        mass += m;
        if counts.len() > 1 {
            let c: Vec<u64> = counts.iter().map(|c| c.1).collect();
            cond += m * chao_wang_jost(&c).expect("non-empty counts");
            cond_ml += m * plugin(&c).expect("non-empty counts");
        }
    }
    let mut pmf: Vec<(u64, W)> = mixture.into_iter().collect();
    // Keys are distinct: the order of the keys alone.
    pmf.sort_unstable_by_key(|p| p.0);
    let total = pmf.iter().fold(W::default(), |acc, p| acc + p.1);
    let h = entropy_of_weights(pmf.iter().map(|p| p.1), total);
    if mass > 0.0 {
        (cond, cond_ml) = (cond / mass, cond_ml / mass);
    }
    (h, cond, cond_ml, pmf.len() as u64)
}

/// The estimate for one row's runs at the first `s` seeds, through `summary`, with a bootstrap
/// of `bootstrap` replicates drawn from `ChaCha8Rng::seed_from_u64(stream)`. The interval is
/// cut to `[0, ceiling_bits]`, an upper bound of `I` (`log2 C(p, k)` for a row of `k` kept).
#[allow(clippy::too_many_arguments)]
pub fn estimate(
    shape: &ToyShape,
    runs: &SettingRuns,
    row: &RowRuns,
    s: usize,
    summary: Summary,
    bootstrap: usize,
    stream: u64,
    ceiling_bits: f64,
) -> Estimate {
    let per: Vec<DatasetRuns> = runs
        .weights
        .iter()
        .enumerate()
        .map(|(d, &weight)| DatasetRuns {
            weight,
            keys: row.masks[d * runs.seeds..d * runs.seeds + s]
                .iter()
                .map(|&w| (w != DIVERGED).then(|| summary.key(shape, w)))
                .collect(),
        })
        .collect();
    let counts: Vec<(u128, Vec<(u64, u64)>)> = per.iter().map(|d| (d.weight, d.counts())).collect();
    let (h, cond, cond_ml, distinct) = entropies(&counts);
    let mi = h - cond;
    let (mut diverged, mut tie_weight, mut total_weight) = (0u64, 0u128, 0u128);
    for (d, &weight) in runs.weights.iter().enumerate() {
        for j in d * runs.seeds..d * runs.seeds + s {
            total_weight += weight;
            if row.masks[j] == DIVERGED {
                diverged += 1;
            } else if row.ties[j] {
                tie_weight += weight;
            }
        }
    }
    // Datasets whose runs all agree resample to themselves; when every dataset does, every
    // replicate is the estimate itself.
    let fixed: Vec<bool> = per
        .iter()
        .zip(&counts)
        .map(|(d, c)| c.1.len() <= 1 && d.keys.iter().all(Option::is_some))
        .collect();
    let all_fixed = fixed.iter().all(|&f| f);
    let mi_ci = (bootstrap >= 2).then(|| {
        if all_fixed {
            return (mi, mi);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(stream);
        let mut replicates: Vec<f64> = (0..bootstrap)
            .map(|_| {
                let resampled: Vec<(u128, Vec<(u64, u64)>)> = per
                    .iter()
                    .zip(&counts)
                    .zip(&fixed)
                    .map(|((d, counts), &fixed)| {
                        if fixed {
                            return counts.clone();
                        }
                        let draw = DatasetRuns {
                            weight: d.weight,
                            keys: (0..s).map(|_| d.keys[rng.random_range(0..s)]).collect(),
                        };
                        (d.weight, draw.counts())
                    })
                    .collect();
                let (h, cond, _, _) = entropies(&resampled);
                h - cond
            })
            .collect();
        replicates.sort_by(f64::total_cmp);
        // The bootstrap world's truth is the plug-in value `H − H_ML(m | D)` of the observed
        // pmfs, so `Î* − I_ML` stands in for `Î − I` (the pivot of docs/methods.md §5.10).
        let truth = h - cond_ml;
        bounded_interval(
            mi,
            mi - (quantile(&replicates, 0.975) - truth),
            mi - (quantile(&replicates, 0.025) - truth),
            ceiling_bits,
        )
    });
    Estimate {
        h_mask_bits: h,
        h_cond_bits: cond,
        mi_bits: mi,
        mi_ci,
        h_cond_plugin_bits: cond_ml,
        mi_plugin_bits: h - cond_ml,
        distinct,
        diverged,
        tie_mass: if total_weight == 0 {
            0.0
        } else {
            tie_weight as f64 / total_weight as f64
        },
    }
}

/// Linear-interpolation sample quantile (R type 7) of sorted values, as the estimators'
/// bootstrap uses.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// One row of `peff stochastic`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StochasticRow {
    /// Task preset.
    pub task: String,
    /// `batch-size`, `grad-noise` or `grid`.
    pub sweep: String,
    /// Minibatch size `B`.
    pub batch_size: usize,
    /// Gradient-noise variance `σ²`.
    pub grad_noise: f64,
    /// Training seeds per dataset `S`.
    pub train_seeds: usize,
    /// Pruning method.
    pub method: String,
    /// Kept parameters.
    pub k: usize,
    /// `mask`, `layer`, `unit` or `input`.
    pub summary: String,
    /// `H(f(m) | init)`, bits (empty when every run diverged).
    pub h_bits: Option<f64>,
    /// `E_D H(f(m) | D, init)` (Chao–Wang–Jost per dataset), bits.
    pub h_cond_bits: Option<f64>,
    /// `I(f(m); D | init)`, bits.
    pub mi_bits: Option<f64>,
    /// Lower end of the 95 % bootstrap basic interval of `mi_bits` over the seeds.
    pub mi_ci_low_bits: Option<f64>,
    /// Upper end of that interval.
    pub mi_ci_high_bits: Option<f64>,
    /// `E_D H(f(m) | D, init)` by the plug-in, bits.
    pub h_cond_plugin_bits: Option<f64>,
    /// `H − h_cond_plugin`, bits.
    pub mi_plugin_bits: Option<f64>,
    /// `mi_bits` over the same row's `mi_bits` for `summary = mask` (empty when that is 0).
    pub mi_fraction: Option<f64>,
    /// Distinct values of `f(m)` over all runs.
    pub distinct: u64,
    /// Diverged runs (of `datasets × S`).
    pub diverged: u64,
    /// Probability of the runs whose cut fell inside a tie.
    pub tie_mass: f64,
}

/// Format tag of `peff stochastic` checkpoints.
pub const CHECKPOINT_FORMAT: &str = "peff-stochastic-checkpoint-1";

/// What a `peff stochastic --checkpoint` holds beside the envelope: the rows of the settings
/// finished so far, in the study's order (a setting, every dataset × `S` runs, is the unit of
/// work).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StochasticProgress {
    /// The rows of settings `0 .. settings.len()`, as [`StochasticStudy::rows`] gave them.
    pub settings: Vec<Vec<StochasticRow>>,
}

/// A stochastic study as the [`Executor`](crate::experiments::pipeline::Executor) drives it:
/// its settings one after another, each every dataset × `S` training runs on the current pool
/// ([`run_setting`]), then its rows; a finished setting is the progress reported.
pub struct StochasticRun<'a> {
    /// The run (a whole study; it has no shards).
    pub record: &'a crate::record::RunRecord<StochasticStudy>,
}

impl StochasticRun<'_> {
    /// Training runs per setting: datasets × the largest `S` (0 where it overflows; the
    /// study's validation refuses such).
    fn runs_per_setting(&self) -> u64 {
        let study = &self.record.config;
        let datasets = study.experiment.space.num_multisets().unwrap_or(0);
        let s_max = study.train_seeds.last().copied().unwrap_or(0) as u128;
        u64::try_from(datasets.saturating_mul(s_max)).unwrap_or(0)
    }
}

impl crate::experiments::pipeline::Experiment for StochasticRun<'_> {
    type Config = StochasticStudy;
    type Progress = StochasticProgress;
    type Output = Vec<Vec<StochasticRow>>;

    fn record(&self) -> &crate::record::RunRecord<StochasticStudy> {
        self.record
    }

    fn work(&self) -> (u64, &'static str) {
        let settings = self.record.config.settings.len() as u64;
        (self.runs_per_setting().saturating_mul(settings), "runs")
    }

    fn start(&self) -> StochasticProgress {
        StochasticProgress {
            settings: Vec::new(),
        }
    }

    fn describe(&self, progress: &StochasticProgress) -> String {
        format!(
            "{} of {} settings finished",
            progress.settings.len(),
            self.record.config.settings.len()
        )
    }

    fn advance(
        &self,
        from: &StochasticProgress,
        session: &crate::experiments::pipeline::Session<'_, Self>,
    ) -> anyhow::Result<Option<Self::Output>> {
        use anyhow::Context;
        let study = &self.record.config;
        let s_max = *study.train_seeds.last().context("the study has no `S`")?;
        let datasets: Vec<Dataset> = super::enumerate_datasets(study.experiment.space).collect();
        let mut finished = from.settings.clone();
        session.work_done(self.runs_per_setting() * finished.len() as u64);
        for setting in &study.settings[finished.len().min(study.settings.len())..] {
            let runs = run_setting(
                &study.experiment,
                setting.training,
                &datasets,
                s_max,
                Some(session.stop_flag()),
                &|k| session.work_done(k),
            );
            let Some(runs) = runs.filter(|_| !session.stopped()) else {
                return Ok(None);
            };
            let rows = study.rows(setting, &runs);
            finished.push(rows.clone());
            session.update(|p| p.settings.push(rows));
        }
        Ok(Some(finished))
    }
}

impl crate::record::ShardPayload<StochasticStudy> for StochasticProgress {
    const FORMAT: &'static str = CHECKPOINT_FORMAT;
    const WHAT: &'static str = "a peff stochastic checkpoint";

    /// At most the study's settings, each with exactly its rows: the setting's sweep, batch
    /// size and noise, and one row per (method and `k`, summary, `S`).
    fn check(&self, run: &crate::record::RunRecord<StochasticStudy>) -> anyhow::Result<()> {
        let study = &run.config;
        if self.settings.len() > study.settings.len() {
            anyhow::bail!(
                "the checkpoint holds {} settings, more than the study's {}",
                self.settings.len(),
                study.settings.len()
            );
        }
        for (i, (setting, rows)) in study.settings.iter().zip(&self.settings).enumerate() {
            let expected = study.row_count();
            let matches = |r: &StochasticRow| {
                r.sweep == setting.sweep
                    && r.batch_size == setting.training.batch_size
                    && r.grad_noise.to_bits() == setting.training.grad_noise.to_bits()
            };
            if rows.len() != expected || !rows.iter().all(matches) {
                anyhow::bail!(
                    "setting {} of the checkpoint does not hold that setting's {expected} rows",
                    i + 1
                );
            }
        }
        Ok(())
    }
}

/// Largest number of training seeds `S` per dataset of a study.
pub const MAX_TRAIN_SEEDS: usize = 1_000_000;
/// Largest number of bootstrap replicates of a study.
pub const MAX_BOOTSTRAP: usize = 100_000;
/// The sweeps a setting may belong to.
pub const SWEEPS: [&str; 3] = ["batch-size", "grad-noise", "grid"];

impl StochasticStudy {
    /// Checks a study that did not come from the command line (a result file read back by
    /// `peff verify`): the experiment ([`ToyExperiment::validate`]); at least one setting, each
    /// of one of the [`SWEEPS`], with `1 ≤ B ≤ n` and a finite `σ² ≥ 0`; the `S` ascending in
    /// `[1, MAX_TRAIN_SEEDS]`; at least one summary; `bootstrap` 0 or in `[2, MAX_BOOTSTRAP]`.
    pub fn validate(&self) -> anyhow::Result<()> {
        use anyhow::ensure;
        self.experiment.validate()?;
        let n = self.experiment.space.n;
        ensure!(!self.settings.is_empty(), "no settings");
        for (i, s) in self.settings.iter().enumerate() {
            ensure!(
                SWEEPS.contains(&s.sweep.as_str()),
                "setting {}: sweep must be one of {}, got '{}'",
                i + 1,
                SWEEPS.join(", "),
                s.sweep.chars().take(40).collect::<String>()
            );
            let t = s.training;
            ensure!(
                (1..=n).contains(&t.batch_size),
                "setting {}: batch size must be in [1, n = {n}], got {}",
                i + 1,
                t.batch_size
            );
            ensure!(
                t.grad_noise.is_finite() && t.grad_noise >= 0.0,
                "setting {}: gradient-noise variance must be finite and ≥ 0, got {}",
                i + 1,
                t.grad_noise
            );
        }
        ensure!(
            !self.train_seeds.is_empty()
                && self.train_seeds.windows(2).all(|w| w[0] <= w[1])
                && self
                    .train_seeds
                    .iter()
                    .all(|s| (1..=MAX_TRAIN_SEEDS).contains(s)),
            "train_seeds must be ascending, each in [1, {MAX_TRAIN_SEEDS}]"
        );
        ensure!(!self.summaries.is_empty(), "no summaries");
        ensure!(
            self.bootstrap == 0 || (2..=MAX_BOOTSTRAP).contains(&self.bootstrap),
            "bootstrap must be 0 or in [2, {MAX_BOOTSTRAP}], got {}",
            self.bootstrap
        );
        Ok(())
    }

    /// Rows per setting: one per (method and `k`, summary, `S`); a row in closed form
    /// (random pruning, not tallied) only as `summary = mask`.
    pub fn row_count(&self) -> usize {
        let keys = self.experiment.rows();
        let closed = keys
            .iter()
            .filter(|k| !self.experiment.is_tallied(k.method, false))
            .count();
        (closed + (keys.len() - closed) * self.summaries.len()) * self.train_seeds.len()
    }

    /// The rows of one setting from its runs, for every row, summary and `S`: random pruning
    /// (closed form: `H(m | D) = H(m) = log2 C(p, k)`, `I = 0`) only as `summary = mask`.
    pub fn rows(&self, setting: &Setting, runs: &SettingRuns) -> Vec<StochasticRow> {
        let exp = &self.experiment;
        let keys = exp.rows();
        let mut units: Vec<(usize, RowKey, Summary, usize)> = Vec::new();
        for (r, &key) in keys.iter().enumerate() {
            for &summary in &self.summaries {
                if runs.rows[r].is_none() && summary != Summary::Mask {
                    continue;
                }
                for &s in &self.train_seeds {
                    units.push((r, key, summary, s));
                }
            }
        }
        let stream_base = self.bootstrap_seed;
        let estimates: Vec<Option<Estimate>> = units
            .par_iter()
            .enumerate()
            .map(|(u, &(r, key, summary, s))| {
                runs.rows[r].as_ref().map(|row| {
                    estimate(
                        &exp.shape,
                        runs,
                        row,
                        s,
                        summary,
                        self.bootstrap,
                        stream_base.wrapping_add(u as u64),
                        log2_binomial(exp.num_params(), key.k),
                    )
                })
            })
            .collect();
        let mut out: Vec<StochasticRow> = Vec::with_capacity(units.len());
        for (&(_, key, summary, s), est) in units.iter().zip(&estimates) {
            let base = StochasticRow {
                task: exp.task.clone(),
                sweep: setting.sweep.clone(),
                batch_size: setting.training.batch_size,
                grad_noise: setting.training.grad_noise,
                train_seeds: s,
                method: key.method.name().to_string(),
                k: key.k,
                summary: summary.name().to_string(),
                h_bits: None,
                h_cond_bits: None,
                mi_bits: None,
                mi_ci_low_bits: None,
                mi_ci_high_bits: None,
                h_cond_plugin_bits: None,
                mi_plugin_bits: None,
                mi_fraction: None,
                distinct: 0,
                diverged: 0,
                tie_mass: 0.0,
            };
            let row = match est {
                None => {
                    let ceiling = log2_binomial(exp.num_params(), key.k);
                    StochasticRow {
                        h_bits: Some(ceiling),
                        h_cond_bits: Some(ceiling),
                        mi_bits: Some(0.0),
                        mi_ci_low_bits: Some(0.0),
                        mi_ci_high_bits: Some(0.0),
                        h_cond_plugin_bits: Some(ceiling),
                        mi_plugin_bits: Some(0.0),
                        distinct: crate::data::binomial(exp.num_params() as u128, key.k as u128)
                            .map_or(u64::MAX, |c| c.min(u64::MAX as u128) as u64),
                        ..base
                    }
                }
                Some(e) if e.distinct == 0 => StochasticRow {
                    diverged: e.diverged,
                    ..base
                },
                Some(e) => StochasticRow {
                    h_bits: Some(e.h_mask_bits),
                    h_cond_bits: Some(e.h_cond_bits),
                    mi_bits: Some(e.mi_bits),
                    mi_ci_low_bits: e.mi_ci.map(|c| c.0),
                    mi_ci_high_bits: e.mi_ci.map(|c| c.1),
                    h_cond_plugin_bits: Some(e.h_cond_plugin_bits),
                    mi_plugin_bits: Some(e.mi_plugin_bits),
                    distinct: e.distinct,
                    diverged: e.diverged,
                    tie_mass: e.tie_mass,
                    ..base
                },
            };
            out.push(row);
        }
        // Fractions of the mask's information each summary keeps.
        let mask_mi: Vec<Option<f64>> = out
            .iter()
            .map(|r| {
                out.iter()
                    .find(|m| {
                        m.summary == "mask"
                            && m.method == r.method
                            && m.k == r.k
                            && m.train_seeds == r.train_seeds
                    })
                    .and_then(|m| m.mi_bits)
            })
            .collect();
        for (r, m) in out.iter_mut().zip(mask_mi) {
            r.mi_fraction = match (r.mi_bits, m) {
                (Some(mi), Some(m)) if m > 0.0 => Some(mi / m),
                _ => None,
            };
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // Exact values are what these tests pin.
mod tests {
    use super::*;
    use crate::model::Loss;

    fn shape() -> ToyShape {
        ToyShape {
            input_dim: 3,
            hidden: 4,
            outputs: 1,
            loss: Loss::Mse,
        }
    }

    /// Summaries count what they say: a mask keeping W1[0, ·], b1[0], W2[0, 0] and b2 has
    /// layer counts (4, 2), unit counts (5, 0, 0, 0) and input counts (1, 1, 1).
    #[test]
    fn summaries_count_kept_parameters() {
        let s = shape();
        let word = [
            s.w1(0, 0),
            s.w1(0, 1),
            s.w1(0, 2),
            s.b1(0),
            s.w2(0, 0),
            s.b2(0),
        ]
        .iter()
        .fold(0u64, |w, &i| w | 1 << i);
        assert_eq!(Summary::Layer.counts(&s, word), vec![4, 2]);
        assert_eq!(Summary::Unit.counts(&s, word), vec![5, 0, 0, 0]);
        assert_eq!(Summary::Input.counts(&s, word), vec![1, 1, 1]);
        assert_eq!(Summary::Mask.key(&s, word), word);
        assert_eq!(Summary::Layer.label(&s, word), "4 2");
        assert_ne!(
            Summary::Layer.key(&s, word),
            Summary::Layer.key(&s, word & !1)
        );
    }

    fn runs_of(weights: &[u128], seeds: usize, masks: &[u64]) -> (SettingRuns, RowRuns) {
        let row = RowRuns {
            masks: masks.to_vec(),
            ties: vec![false; masks.len()],
        };
        let runs = SettingRuns {
            weights: weights.to_vec(),
            seeds,
            rows: vec![Some(row.clone())],
        };
        (runs, row)
    }

    /// Closed forms: two equally likely datasets, each with its own mask every time, carry
    /// `H = 1` bit and `H(m | D) = 0`, so `I = 1`; two datasets whose runs split 50/50 over the
    /// same two masks carry `I = 0` in the plug-in (`H = 1`, `H(m | D) = 1`), and the
    /// Chao–Wang–Jost value of counts (2, 2) stands in for `H(m | D)`.
    #[test]
    fn estimate_matches_closed_forms() {
        let s = shape();
        let (runs, row) = runs_of(&[1, 1], 4, &[1, 1, 1, 1, 2, 2, 2, 2]);
        let e = estimate(&s, &runs, &row, 4, Summary::Mask, 50, 0, 21.0);
        assert_eq!((e.h_mask_bits, e.h_cond_bits, e.mi_bits), (1.0, 0.0, 1.0));
        assert_eq!(e.mi_ci, Some((1.0, 1.0)));
        let (runs, row) = runs_of(&[1, 3], 4, &[1, 2, 1, 2, 2, 1, 2, 1]);
        let e = estimate(&s, &runs, &row, 4, Summary::Mask, 0, 0, 21.0);
        assert_eq!(e.h_mask_bits, 1.0);
        assert_eq!(e.h_cond_plugin_bits, 1.0);
        assert_eq!(e.mi_plugin_bits, 0.0);
        assert_eq!(e.h_cond_bits, chao_wang_jost(&[2, 2]).unwrap());
        assert!(e.h_cond_bits > 1.0, "CWJ corrects upwards");
        // The first two seeds only: dataset 0 saw (1, 2), dataset 1 (2, 1).
        let e2 = estimate(&s, &runs, &row, 2, Summary::Mask, 0, 0, 21.0);
        assert_eq!(e2.h_cond_plugin_bits, 1.0);
    }

    /// Weights: datasets weigh `w_D · valid runs`; a diverged run is counted and dropped. Data
    /// set 0 (weight 3, masks a, a) and dataset 1 (weight 1, masks b and a diverged run): the
    /// mixture is (6/7, 1/7).
    #[test]
    fn divergence_is_counted_and_excluded() {
        let s = shape();
        let (runs, row) = runs_of(&[3, 1], 2, &[5, 5, 6, DIVERGED]);
        let e = estimate(&s, &runs, &row, 2, Summary::Mask, 0, 0, 21.0);
        let q: f64 = 6.0 / 7.0;
        let h = -q * q.log2() - (1.0 - q) * (1.0 - q).log2();
        assert!((e.h_mask_bits - h).abs() < 1e-15);
        assert_eq!(e.h_cond_bits, 0.0);
        assert_eq!(e.diverged, 1);
        assert_eq!(e.distinct, 2);
    }

    /// The interval contains the estimate and lies in `[0, ceiling]`, even when `S` is far
    /// below the number of masks (where the textbook `2Î − q` interval lay wholly below `Î`).
    #[test]
    fn interval_contains_the_estimate_and_is_bounded() {
        let s = shape();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let masks: Vec<u64> = (0..30 * 8)
            .map(|i| ((i / 8) as u64) << 8 | u64::from(rng.random_range(0..64u8)))
            .collect();
        let (runs, row) = runs_of(&[1; 30], 8, &masks);
        for ceiling in [21.0, 3.0] {
            let e = estimate(&s, &runs, &row, 8, Summary::Mask, 200, 1, ceiling);
            let (low, high) = e.mi_ci.unwrap();
            assert!(
                0.0 <= low && low <= e.mi_bits.min(ceiling) && high >= e.mi_bits.min(ceiling),
                "{low} ≤ {} ≤ {high}",
                e.mi_bits
            );
            assert!(
                high <= ceiling && low < high,
                "[{low}, {high}] in [0, {ceiling}]"
            );
        }
    }

    /// Data processing: a summary never carries more than the mask, here on random masks.
    #[test]
    fn summaries_carry_at_most_the_mask_information_in_plugin() {
        let s = shape();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let masks: Vec<u64> = (0..40 * 8)
            .map(|i| {
                let d = i / 8;
                ((d as u64 * 2_654_435_761) ^ u64::from(rng.random_range(0..3u8))) & ((1 << 21) - 1)
            })
            .collect();
        let (runs, row) = runs_of(&[1; 40], 8, &masks);
        let full = estimate(&s, &runs, &row, 8, Summary::Mask, 0, 0, 21.0);
        for summary in [Summary::Layer, Summary::Unit, Summary::Input] {
            let e = estimate(&s, &runs, &row, 8, summary, 0, 0, 21.0);
            assert!(
                e.mi_plugin_bits <= full.mi_plugin_bits + 1e-12,
                "{summary:?}: {} > {}",
                e.mi_plugin_bits,
                full.mi_plugin_bits
            );
        }
    }
}
