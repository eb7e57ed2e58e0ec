//! The toy experiment's building blocks, each over a whole batch of datasets at once, so that a
//! pruning criterion written elsewhere (the Python `peff.toy` module) can be measured exactly:
//! the datasets with their probabilities, the init, the lockstep trainer of `peff exact`, the
//! gradient, the Hessian-vector product, SynFlow's gradient, the top-k rule and the mask
//! information.
//!
//! ```text
//! datasets      every multiset D of n points (P(D) = n!/Π c_j! · V^(−n)), or N sampled ones (1/N)
//! train         θ ← θ − η (m ⊙ ∇L(θ)), T steps from θ_start ⊙ m   (ToyBatch, as peff exact)
//! gradient      ∇L(θ) on each dataset, outputs divided by T_out     (ToyBatch::gradient_at)
//! hvp           ∇²L(θ) v on each dataset (R-operator)               (ToyBatch::hvp_at)
//! synflow       ∂/∂θ Σ_o f_o(1)                                     (ToyShape::synflow_gradient)
//! top_k         keep_top_k(s, k) per row: snapped scores, ties to the lower index
//! information   H(m | init) − E_D H(m | D, init), the mixture by plug-in, each
//!               dataset's S runs by Chao–Wang–Jost (stochastic::entropies); S = 1: H(m | init)
//! ```
//!
//! Parameter rows follow the index order of [`crate::model::toy`] (`W1` row-major, `b1`, `W2`
//! row-major, `b2`). Arrays are row-major, one row per dataset (`N × p`). Every function that
//! loops over datasets runs in batches of [`LANES`] on rayon's pool and checks `stop` before
//! each batch: once it is set, the function returns `None`. Values are checked before any
//! work; each refusal is a one-line [`InputError`] naming the argument.
//!
//! Each result is the bits of the engine behind `peff exact` (the same code, the same
//! operations), so a method rebuilt from these pieces reproduces its rows: with the datasets'
//! probabilities `w/V^n` (dyadic), [`information`] gives `peff exact`'s entropy bit for bit.

use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use super::stochastic::{entropies, key_counts};
use super::{enumerate_datasets, sample_datasets, Dataset, LANES};
use crate::data::DataSpace;
use crate::mask::keep_top_k;
use crate::model::toy::lanes::{ToyBatch, TrainParams, MAX_INPUT_DIM};
use crate::model::toy::{Loss, ToyShape};
use crate::model::Networks;

/// Largest hidden width of the toy (as `--hidden`).
pub const MAX_HIDDEN: usize = 64;
/// Largest number of points per dataset (as `--n`).
pub const MAX_POINTS: usize = 30;
/// Largest number of parameters of the toy pipeline (one mask word).
pub const MAX_PARAMS: usize = 64;
/// How far from 1 the probabilities given to [`information`] may sum.
pub const PROBABILITY_TOLERANCE: f64 = 1e-9;

/// Why an input was refused; each message is one line and names the argument.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InputError {
    /// A value out of its range, or of the wrong size; the message says which.
    #[error("{0}")]
    Invalid(String),
}

fn invalid(message: String) -> InputError {
    InputError::Invalid(message)
}

/// A validated toy configuration: the model and the dataset space.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ToySpec {
    /// Preset name.
    pub task: &'static str,
    /// The model.
    pub shape: ToyShape,
    /// The datasets.
    pub space: DataSpace,
}

impl ToySpec {
    /// The preset `task` with `n` points per dataset and the optional overrides of the input
    /// dimension and hidden width, checked as `peff exact` checks its flags.
    pub fn new(
        task: &str,
        n: i64,
        input_dim: Option<i64>,
        hidden: Option<i64>,
    ) -> Result<Self, InputError> {
        let Some(index) = ToyShape::TASKS.iter().position(|&t| t == task) else {
            return Err(invalid(format!(
                "task must be one of {}, got '{}'",
                ToyShape::TASKS.join(", "),
                task.chars().take(40).collect::<String>()
            )));
        };
        let task = ToyShape::TASKS[index];
        let preset = ToyShape::preset(task).expect("a preset name");
        let range = |name: &str, value: i64, max: usize| -> Result<usize, InputError> {
            if value < 1 || value > max as i64 {
                return Err(invalid(format!(
                    "{name} must be in [1, {max}], got {value}"
                )));
            }
            Ok(value as usize)
        };
        let input_dim = range(
            "input_dim",
            input_dim.unwrap_or(preset.input_dim as i64),
            MAX_INPUT_DIM,
        )?;
        let hidden = range("hidden", hidden.unwrap_or(preset.hidden as i64), MAX_HIDDEN)?;
        let n = range("n", n, MAX_POINTS)?;
        let shape = ToyShape {
            input_dim,
            hidden,
            ..preset
        };
        let p = shape.num_params();
        if p > MAX_PARAMS {
            return Err(invalid(format!(
                "the toy model has p = {p} parameters; peff's toy pipeline supports p ≤ {MAX_PARAMS} (reduce hidden or input_dim)"
            )));
        }
        Ok(ToySpec {
            task,
            shape,
            space: DataSpace { input_dim, n },
        })
    }

    /// Number of parameters `p`.
    pub fn num_params(&self) -> usize {
        self.shape.num_params()
    }

    /// Every multiset of the space in enumeration order (`peff exact`'s keys), refused when
    /// there are more than `max_datasets`.
    pub fn enumerate(&self, max_datasets: u64) -> Result<Vec<Dataset>, InputError> {
        match self.space.num_multisets() {
            Some(count) if count <= u128::from(max_datasets) => {
                Ok(enumerate_datasets(self.space).collect())
            }
            count => Err(invalid(format!(
                "the enumeration has {} datasets, more than max_datasets = {max_datasets}; use sample_datasets, or raise max_datasets",
                count.map_or("more than 2^128".to_string(), |c| c.to_string())
            ))),
        }
    }

    /// Datasets `0..count` of `peff sample --seed seed` (weight 1 each).
    pub fn sample(&self, count: u64, seed: u64) -> Vec<Dataset> {
        sample_datasets(self.space, seed, 0..count).collect()
    }

    /// The probability of each dataset: `w / V^n` for enumerated datasets (exact: `V^n` is a
    /// power of two), `1/N` for `N` sampled ones.
    pub fn probabilities(&self, datasets: &[Dataset], sampled: bool) -> Vec<f64> {
        if sampled {
            let each = 1.0 / datasets.len() as f64;
            return vec![each; datasets.len()];
        }
        let total = f64::from(self.space.num_points()).powi(self.space.n as i32);
        datasets.iter().map(|d| d.weight as f64 / total).collect()
    }

    /// Inputs `x` (`N × n × d`) and targets `y` (`N × n × o`) of the datasets, row-major: `y`
    /// is the label `±1` on every output for MSE, the one-hot class `(y + 1)/2` for
    /// cross-entropy.
    pub fn inputs_and_targets(&self, datasets: &[Dataset]) -> (Vec<f64>, Vec<f64>) {
        let (d, o) = (self.shape.input_dim, self.shape.outputs);
        let points = datasets.len() * self.space.n;
        let (mut x, mut y) = (
            Vec::with_capacity(points * d),
            Vec::with_capacity(points * o),
        );
        for id in datasets.iter().flat_map(|ds| ds.ids.iter().copied()) {
            x.extend((0..d).map(|t| self.space.input(id, t)));
            let label = self.space.label(id);
            match self.shape.loss {
                Loss::Mse => y.extend(std::iter::repeat_n(label, o)),
                Loss::CrossEntropy => {
                    let class = usize::from(label > 0.0);
                    y.extend((0..o).map(|c| if c == class { 1.0 } else { 0.0 }));
                }
            }
        }
        (x, y)
    }

    /// The PyTorch-style init of `seed` (as `--init-seed`).
    pub fn init(&self, seed: u64) -> Vec<f64> {
        self.shape.init_params(seed)
    }

    /// Checks that `rows` holds `p` values (one row shared by every dataset) or `N·p` (one row
    /// per dataset); `what` names the argument.
    fn check_rows<T>(&self, rows: &Rows<'_, T>, n: usize, what: &str) -> Result<(), InputError> {
        let p = self.num_params();
        let (len, want) = match rows {
            Rows::Shared(r) => (r.len(), p),
            Rows::Each(r) => (r.len(), n * p),
        };
        if len != want {
            let shape = match rows {
                Rows::Shared(_) => format!("({p},)"),
                Rows::Each(_) => format!("({n}, {p})"),
            };
            return Err(invalid(format!(
                "{what} must have shape {shape} (p = {p} parameters, N = {n} datasets), got {len} values"
            )));
        }
        Ok(())
    }

    /// Trains every dataset's network with `peff exact`'s lockstep trainer: from
    /// `start ⊙ mask` (`mask` absent: dense), `params.steps` steps of `params.lr`. Returns the
    /// `N × p` trained parameters, with a diverged run's row all NaN (non-finite loss or
    /// parameters: what `peff exact` counts in `diverged`); `None` once `stop` is set.
    pub fn train(
        &self,
        datasets: &[Dataset],
        start: Rows<'_, f64>,
        mask: Option<Rows<'_, bool>>,
        params: TrainParams,
        stop: &AtomicBool,
    ) -> Result<Option<Vec<f64>>, InputError> {
        let n = datasets.len();
        self.check_rows(&start, n, "theta")?;
        if let Some(mask) = &mask {
            self.check_rows(mask, n, "masks")?;
        }
        check_finite(start.values(), self.num_params(), "theta")?;
        check_train_params(params)?;
        let p = self.num_params();
        Ok(self.over_batches(
            datasets,
            stop,
            |first, batch, nets, out| {
                let lanes = nets.lanes();
                let mut start_soa = vec![0.0; p * lanes];
                let mut mask_soa = vec![1.0; p * lanes];
                for l in 0..lanes {
                    let d = first + l.min(batch - 1);
                    for i in 0..p {
                        start_soa[i * lanes + l] = start.row(d, p)[i];
                        if let Some(mask) = &mask {
                            mask_soa[i * lanes + l] = f64::from(u8::from(mask.row(d, p)[i]));
                        }
                    }
                }
                let mut trained = vec![0.0; p * lanes];
                let mut diverged = vec![false; lanes];
                nets.train_from(&start_soa, &mask_soa, &mut trained, &mut diverged);
                for (l, row) in out.chunks_mut(p).enumerate() {
                    for (i, v) in row.iter_mut().enumerate() {
                        *v = if diverged[l] {
                            f64::NAN
                        } else {
                            trained[i * lanes + l]
                        };
                    }
                }
            },
            params,
        ))
    }

    /// `∇L(θ)` on every dataset (`N × p`), with the outputs divided by `temperature` (GraSP's
    /// `T_g`; 1 otherwise); `None` once `stop` is set.
    pub fn gradient(
        &self,
        datasets: &[Dataset],
        theta: Rows<'_, f64>,
        temperature: f64,
        stop: &AtomicBool,
    ) -> Result<Option<Vec<f64>>, InputError> {
        self.check_rows(&theta, datasets.len(), "theta")?;
        check_finite(theta.values(), self.num_params(), "theta")?;
        check_temperature(temperature)?;
        let p = self.num_params();
        Ok(self.over_batches(
            datasets,
            stop,
            |first, batch, nets, out| {
                let soa = to_lanes(&theta, first, batch, nets.lanes(), p);
                let mut grad = vec![0.0; soa.len()];
                nets.gradient_at(&soa, temperature, &mut grad);
                from_lanes(&grad, nets.lanes(), p, out);
            },
            UNUSED_TRAINING,
        ))
    }

    /// `∇²L(θ) v` on every dataset (`N × p`), outputs divided by `temperature`; `None` once
    /// `stop` is set.
    pub fn hvp(
        &self,
        datasets: &[Dataset],
        theta: Rows<'_, f64>,
        v: Rows<'_, f64>,
        temperature: f64,
        stop: &AtomicBool,
    ) -> Result<Option<Vec<f64>>, InputError> {
        let n = datasets.len();
        self.check_rows(&theta, n, "theta")?;
        self.check_rows(&v, n, "v")?;
        check_finite(theta.values(), self.num_params(), "theta")?;
        check_finite(v.values(), self.num_params(), "v")?;
        check_temperature(temperature)?;
        let p = self.num_params();
        Ok(self.over_batches(
            datasets,
            stop,
            |first, batch, nets, out| {
                let lanes = nets.lanes();
                let (theta_soa, v_soa) = (
                    to_lanes(&theta, first, batch, lanes, p),
                    to_lanes(&v, first, batch, lanes, p),
                );
                let mut hv = vec![0.0; theta_soa.len()];
                nets.hvp_at(&theta_soa, temperature, &v_soa, &mut hv);
                from_lanes(&hv, lanes, p, out);
            },
            UNUSED_TRAINING,
        ))
    }

    /// SynFlow's gradient `∂/∂θ Σ_o f_o(1)` at `theta` (`p` values).
    pub fn synflow_gradient(&self, theta: &[f64]) -> Result<Vec<f64>, InputError> {
        self.check_rows(&Rows::Shared(theta), 1, "theta")?;
        check_finite(theta, self.num_params(), "theta")?;
        let mut out = vec![0.0; theta.len()];
        self.shape.synflow_gradient(theta, &mut out);
        Ok(out)
    }

    /// Runs `fill(first, count, nets, out)` for each batch of up to [`LANES`] datasets, in
    /// parallel, with `out` the batch's `count × p` rows of the result.
    fn over_batches(
        &self,
        datasets: &[Dataset],
        stop: &AtomicBool,
        fill: impl Fn(usize, usize, &ToyBatch<LANES>, &mut [f64]) + Sync,
        train: TrainParams,
    ) -> Option<Vec<f64>> {
        let p = self.num_params();
        let mut out = vec![0.0; datasets.len() * p];
        let zeros = vec![0.0; p];
        out.par_chunks_mut(LANES * p)
            .enumerate()
            .for_each(|(b, rows)| {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let first = b * LANES;
                let batch = &datasets[first..first + rows.len() / p];
                let lanes: Vec<(u64, Vec<u32>)> =
                    batch.iter().map(|d| (d.key, d.ids.clone())).collect();
                let nets = ToyBatch::<LANES>::new(self.shape, self.space, train, &zeros, &lanes);
                fill(first, batch.len(), &nets, rows);
            });
        (!stop.load(Ordering::Relaxed)).then_some(out)
    }
}

/// Training settings of a batch that is never trained (gradients and Hessian products).
const UNUSED_TRAINING: TrainParams = TrainParams { steps: 1, lr: 1.0 };

/// One row of `p` values shared by every dataset, or one row per dataset (`N × p`,
/// row-major).
#[derive(Clone, Copy, Debug)]
pub enum Rows<'a, T> {
    /// One row for all datasets.
    Shared(&'a [T]),
    /// Row `d` is `values[d·p .. (d+1)·p]`.
    Each(&'a [T]),
}

impl<'a, T> Rows<'a, T> {
    /// Dataset `d`'s row of `p` values.
    pub fn row(&self, d: usize, p: usize) -> &'a [T] {
        match *self {
            Rows::Shared(r) => r,
            Rows::Each(r) => &r[d * p..(d + 1) * p],
        }
    }

    /// Every value.
    pub fn values(&self) -> &'a [T] {
        match *self {
            Rows::Shared(r) | Rows::Each(r) => r,
        }
    }
}

/// The rows of datasets `first..first + count` as `lanes` lane vectors of `p` (missing lanes
/// repeat the last row).
fn to_lanes(rows: &Rows<'_, f64>, first: usize, count: usize, lanes: usize, p: usize) -> Vec<f64> {
    let mut soa = vec![0.0; p * lanes];
    for l in 0..lanes {
        let row = rows.row(first + l.min(count - 1), p);
        for (i, &v) in row.iter().enumerate() {
            soa[i * lanes + l] = v;
        }
    }
    soa
}

/// Lane vectors back to rows: `out` holds as many rows of `p` as there are real lanes.
fn from_lanes(soa: &[f64], lanes: usize, p: usize, out: &mut [f64]) {
    for (l, row) in out.chunks_mut(p).enumerate() {
        for (i, v) in row.iter_mut().enumerate() {
            *v = soa[i * lanes + l];
        }
    }
}

fn check_finite(values: &[f64], p: usize, what: &str) -> Result<(), InputError> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(invalid(format!(
            "{what}{} is not finite: {}",
            index_text(i, values.len(), p),
            values[i]
        ))),
    }
}

/// `[i]` or `[row, column]` of flat index `i` in rows of `p`.
fn index_text(i: usize, len: usize, p: usize) -> String {
    if len == p {
        format!("[{i}]")
    } else {
        format!("[{}, {}]", i / p, i % p)
    }
}

fn check_train_params(params: TrainParams) -> Result<(), InputError> {
    if !(1..=10_000_000).contains(&params.steps) {
        return Err(invalid(format!(
            "steps must be in [1, 10000000], got {}",
            params.steps
        )));
    }
    if !(params.lr.is_finite() && params.lr > 0.0) {
        return Err(invalid(format!(
            "lr must be a finite number > 0, got {}",
            params.lr
        )));
    }
    Ok(())
}

fn check_temperature(t: f64) -> Result<(), InputError> {
    if !(t.is_finite() && t > 0.0) {
        return Err(invalid(format!(
            "temperature must be a finite number > 0, got {t}"
        )));
    }
    Ok(())
}

/// The masks of `top_k`: row `r` of `scores` (`rows × p`) keeps its `k` largest snapped scores,
/// ties to the lower index ([`keep_top_k`], the rule of every built-in method). Returns the
/// masks (`rows × p`) and, per row, whether the cut fell inside a tie (the k-th and (k+1)-th
/// ranked scores snap to the same value).
pub fn top_k(scores: &[f64], p: usize, k: i64) -> Result<(Vec<bool>, Vec<bool>), InputError> {
    if p < 2 || !scores.len().is_multiple_of(p) {
        return Err(invalid(format!(
            "scores must have rows of p ≥ 2 values, got {} values in rows of {p}",
            scores.len()
        )));
    }
    if k < 1 || k > p as i64 - 1 {
        return Err(invalid(format!(
            "k must be in [1, p − 1] = [1, {}], got {k}",
            p - 1
        )));
    }
    check_finite(scores, p, "scores")?;
    let k = k as usize;
    let mut masks = vec![false; scores.len()];
    let mut ties = vec![false; scores.len() / p];
    masks
        .par_chunks_mut(p)
        .zip(ties.par_iter_mut())
        .zip(scores.par_chunks(p))
        .for_each(|((mask, tie), row)| {
            let cut = keep_top_k(row, 0..p, k);
            for i in cut.mask.kept() {
                mask[i] = true;
            }
            *tie = cut.tie;
        });
    Ok((masks, ties))
}

/// Mask information in bits.
#[derive(Clone, Debug, PartialEq)]
pub struct Information {
    /// `I(m; D | init) = h_bits − h_cond_bits`.
    pub bits: f64,
    /// `H(m | init)`, the plug-in entropy of the mixture `Σ_D P(D) p̂(m | D)`.
    pub h_bits: f64,
    /// `E_D H(m | D, init)`, each dataset's runs by Chao–Wang–Jost (0 with one run each).
    pub h_cond_bits: f64,
    /// The same by the plug-in.
    pub h_cond_plugin_bits: f64,
    /// Distinct masks over all runs.
    pub distinct: u64,
}

/// The information of `masks` (`N × S × p`, row-major: `S` runs of each of `N` datasets) about
/// the datasets, with dataset probabilities `probabilities` (`N`): with `S = 1` (a deterministic
/// method) the exact `H(m | init)` of the pmf `q_m = Σ_{D: m(D) = m} P(D)`; with `S > 1`,
/// `I = H(m | init) − E_D H(m | D, init)` as `peff stochastic` computes it. The probabilities
/// must be finite, ≥ 0 and sum to 1 within [`PROBABILITY_TOLERANCE`].
pub fn information(
    masks: &[bool],
    runs: usize,
    p: usize,
    probabilities: &[f64],
) -> Result<Information, InputError> {
    let n = probabilities.len();
    if n == 0 {
        return Err(invalid("probabilities is empty: no datasets".to_string()));
    }
    if !(1..=MAX_PARAMS).contains(&p) || runs == 0 {
        return Err(invalid(format!(
            "masks must have 1 to {MAX_PARAMS} entries per mask and at least one run per dataset, got {p} entries and {runs} runs"
        )));
    }
    if masks.len() != n * runs * p {
        return Err(invalid(format!(
            "masks hold {} masks and probabilities {n} datasets; they must have one row per dataset",
            masks.len() / (runs * p)
        )));
    }
    if let Some((i, &q)) = probabilities
        .iter()
        .enumerate()
        .find(|(_, q)| !(q.is_finite() && **q >= 0.0))
    {
        return Err(invalid(format!(
            "probabilities[{i}] must be finite and ≥ 0, got {q}"
        )));
    }
    let total: f64 = probabilities.iter().sum();
    if (total - 1.0).abs() > PROBABILITY_TOLERANCE {
        return Err(invalid(format!(
            "probabilities must sum to 1 within {PROBABILITY_TOLERANCE:e}, got a sum of {total}"
        )));
    }
    let per_dataset: Vec<(f64, Vec<(u64, u64)>)> = masks
        .par_chunks(runs * p)
        .zip(probabilities.par_iter())
        .map(|(runs, &q)| (q, key_counts(runs.chunks(p).map(mask_word))))
        .collect();
    let (h, cond, cond_ml, distinct) = entropies(&per_dataset);
    Ok(Information {
        bits: h - cond,
        h_bits: h,
        h_cond_bits: cond,
        h_cond_plugin_bits: cond_ml,
        distinct,
    })
}

/// A mask of at most 64 entries as one word (bit `i`: entry `i` kept).
fn mask_word(mask: &[bool]) -> u64 {
    mask.iter()
        .enumerate()
        .fold(0, |w, (i, &kept)| w | (u64::from(kept) << i))
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // Exact values are what these tests pin.
mod tests {
    use super::*;
    use crate::experiments::toy::ToyExperiment;
    use crate::info::tally::MaskTally;
    use crate::prune::{Method, PruneSettings};

    fn small(task: &str) -> ToySpec {
        ToySpec::new(task, 2, None, None).unwrap()
    }

    /// Magnitude pruning rebuilt from the primitives gives `peff exact`'s tally bit for bit:
    /// fails if `train` left the trainer's operations, or `top_k` or `information` the rule of
    /// the built-in methods.
    #[test]
    fn magnitude_from_primitives_equals_the_engine() {
        for task in ToyShape::TASKS {
            let spec = small(task);
            let datasets = spec.enumerate(1 << 20).unwrap();
            let init = spec.init(0);
            let train = TrainParams { steps: 60, lr: 0.1 };
            let never = AtomicBool::new(false);
            let trained = spec
                .train(&datasets, Rows::Shared(&init), None, train, &never)
                .unwrap()
                .unwrap();
            let scores: Vec<f64> = trained.iter().map(|w| w.abs()).collect();
            let p = spec.num_params();
            let (masks, _) = top_k(&scores, p, 7).unwrap();
            let probs = spec.probabilities(&datasets, false);
            let info = information(&masks, 1, p, &probs).unwrap();
            let exp = ToyExperiment {
                task: task.to_string(),
                shape: spec.shape,
                space: spec.space,
                train,
                prune: PruneSettings {
                    random_seed: 0,
                    synflow_rounds: 100,
                    imp_rate: 0.2,
                    grasp_temperature: 1.0,
                },
                methods: vec![Method::Magnitude],
                requested_k: vec![7],
                init: init.clone(),
                init_seed: Some(0),
            };
            let tallies: Vec<MaskTally> = exp.tally(datasets.into_iter(), false, &|_| {});
            assert_eq!(
                info.bits.to_bits(),
                tallies[0].entropy_bits().to_bits(),
                "{task}"
            );
            assert_eq!(info.distinct, tallies[0].distinct() as u64);
            assert_eq!(info.h_cond_bits, 0.0);
        }
    }

    /// Training from per-dataset rows equals training each from its shared row, and a mask
    /// starts the run from `θ ⊙ m` (pruned entries stay 0).
    #[test]
    fn per_dataset_rows_and_masks() {
        let spec = small("regression");
        let datasets: Vec<Dataset> = spec.enumerate(1 << 20).unwrap()[..20].to_vec();
        let p = spec.num_params();
        let train = TrainParams { steps: 30, lr: 0.1 };
        let never = AtomicBool::new(false);
        let (a, b) = (spec.init(1), spec.init(2));
        let each: Vec<f64> = (0..datasets.len())
            .flat_map(|d| if d % 2 == 0 { a.clone() } else { b.clone() })
            .collect();
        let mask: Vec<bool> = (0..p).map(|i| i % 3 != 0).collect();
        let run = |start: Rows<'_, f64>| {
            spec.train(&datasets, start, Some(Rows::Shared(&mask)), train, &never)
                .unwrap()
                .unwrap()
        };
        let (mixed, all_a, all_b) = (
            run(Rows::Each(&each)),
            run(Rows::Shared(&a)),
            run(Rows::Shared(&b)),
        );
        for d in 0..datasets.len() {
            let want = if d % 2 == 0 { &all_a } else { &all_b };
            assert_eq!(mixed[d * p..(d + 1) * p], want[d * p..(d + 1) * p]);
            assert!((0..p).all(|i| mask[i] || mixed[d * p + i] == 0.0));
        }
        let stopped = AtomicBool::new(true);
        assert!(spec
            .train(&datasets, Rows::Shared(&a), None, train, &stopped)
            .unwrap()
            .is_none());
    }

    /// Top-k keeps exactly k, breaks ties to the lower index and reports them.
    #[test]
    fn top_k_ties_and_refusals() {
        let (masks, ties) = top_k(&[1.0, 2.0, 2.0, 0.5, 3.0, 3.0, 1.0, 0.0], 4, 1).unwrap();
        assert_eq!(
            masks,
            [false, true, false, false, true, false, false, false]
        );
        assert_eq!(ties, [true, true]);
        assert!(top_k(&[1.0, f64::NAN], 2, 1)
            .unwrap_err()
            .to_string()
            .contains("scores[1]"));
        assert!(top_k(&[1.0, 2.0], 2, 2)
            .unwrap_err()
            .to_string()
            .starts_with("k must be"));
    }

    /// With S runs per dataset that all agree, the information is the S = 1 value; with
    /// disagreeing runs, `I = H − E_D Ĥ`; bad probabilities are refused.
    #[test]
    fn information_of_runs() {
        let p = 3;
        let m = |bits: [bool; 3]| bits.to_vec();
        let one: Vec<bool> = [m([true, false, false]), m([false, true, false])].concat();
        let probs = [0.25, 0.75];
        let single = information(&one, 1, p, &probs).unwrap();
        assert!((single.bits - 0.811_278_124_459_133).abs() < 1e-15);
        let doubled: Vec<bool> = [
            m([true, false, false]),
            m([true, false, false]),
            m([false, true, false]),
            m([false, true, false]),
        ]
        .concat();
        assert_eq!(information(&doubled, 2, p, &probs).unwrap(), single);
        // Every dataset's runs are the same two masks: H = 1, and I = H − Ĥ_CWJ(1, 1).
        let mixed: Vec<bool> = [
            m([true, false, false]),
            m([false, true, false]),
            m([true, false, false]),
            m([false, true, false]),
        ]
        .concat();
        let info = information(&mixed, 2, p, &probs).unwrap();
        assert_eq!(info.h_bits, 1.0);
        assert_eq!(info.h_cond_plugin_bits, 1.0);
        assert_eq!(info.distinct, 2);
        assert!(information(&one, 1, p, &[0.5, 0.6]).is_err());
        assert!(information(&one, 1, p, &[-0.5, 1.5]).is_err());
        assert!(information(&one, 1, p, &[f64::NAN, 1.0]).is_err());
        assert!(information(&one, 1, p, &[1.0]).is_err());
    }

    /// `S` masks per dataset with probabilities `w / W` give `peff stochastic`'s estimate from
    /// the integer weights `w` (to rounding): the mixture entropy, both conditional entropies,
    /// the information and the distinct count.
    #[test]
    fn information_of_runs_is_peff_stochastics_estimate() {
        use super::super::stochastic::{estimate, RowRuns, SettingRuns, Summary};
        use rand::{Rng, SeedableRng};
        let spec = small("regression");
        let p = spec.num_params();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (datasets, seeds) = (40, 6);
        let weights: Vec<u128> = (0..datasets).map(|_| rng.random_range(1..5)).collect();
        // Three masks in all, so that a dataset's runs sometimes agree and sometimes not.
        let words: Vec<u64> = (0..datasets * seeds)
            .map(|_| [0b1011u64, 0b0111, 0b1101 << 5][rng.random_range(0..3)])
            .collect();
        let runs = SettingRuns {
            weights: weights.clone(),
            seeds,
            rows: vec![],
        };
        let row = RowRuns {
            masks: words.clone(),
            ties: vec![false; words.len()],
        };
        let want = estimate(&spec.shape, &runs, &row, seeds, Summary::Mask, 0, 0, 64.0);
        let total: u128 = weights.iter().sum();
        let probs: Vec<f64> = weights.iter().map(|&w| w as f64 / total as f64).collect();
        let masks: Vec<bool> = words
            .iter()
            .flat_map(|w| (0..p).map(move |i| w >> i & 1 == 1))
            .collect();
        let got = information(&masks, seeds, p, &probs).unwrap();
        assert!(want.h_cond_bits > 0.1 && want.mi_bits.abs() > 0.0);
        assert!((got.h_bits - want.h_mask_bits).abs() < 1e-12);
        assert!((got.h_cond_bits - want.h_cond_bits).abs() < 1e-12);
        assert!((got.h_cond_plugin_bits - want.h_cond_plugin_bits).abs() < 1e-12);
        assert!((got.bits - want.mi_bits).abs() < 1e-12);
        assert_eq!(got.distinct, want.distinct);
    }
}
