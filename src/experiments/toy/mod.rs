//! The toy experiment of Appendix B.2: one init, a space of datasets, a set of pruning methods,
//! and the engine that runs every method on every dataset and tallies the masks.
//!
//! For a deterministic method the mask is a function of (init, dataset), so
//!
//! ```text
//! I(m; D | init) = H(m | init) − H(m | D, init) = H(m | init)
//! ```
//!
//! Datasets are processed in lockstep batches of [`LANES`] (one SIMD lane each) and chunks of
//! batches in parallel with rayon; tallies are integer sums, so the result does not depend on
//! the thread count or on how datasets are split. Data-free deterministic methods (SynFlow) are
//! evaluated once; random pruning is tallied only when sampling (its exact entropy is
//! `log2 C(p, k)` in closed form).
//!
//! The engines that run only on the toy live beside it: [`run`] (one pass over a shard's
//! datasets as the pipeline drives it, the mask-pmf hash), [`convergence`], [`scaling`],
//! [`stochastic`]; [`partial`] holds its shard and checkpoint files, [`report`] its rows and
//! [`primitives`] the pieces `peff.toy` exposes.

pub mod convergence;
pub mod partial;
pub mod primitives;
pub mod report;
pub mod run;
pub mod scaling;
pub mod settings;
pub mod stochastic;

use rayon::prelude::*;

use crate::record::RunRecord;

use crate::data::DataSpace;
use crate::info::tally::MaskTally;
use crate::mask::Cut;
use crate::model::toy::lanes::{ToyBatch, TrainParams};
use crate::model::toy::ToyShape;
use crate::prune::{Method, PruneSettings, Pruner};

/// Datasets trained together in SIMD lockstep, chosen for the CPU the crate is built for (the
/// build targets the machine's own CPU, `.cargo/config.toml`): 16 with AVX-512 (two 512-bit
/// vectors per lane vector), 8 otherwise. With AVX2's sixteen 256-bit registers, 16 lanes
/// spill the trainer's interleaved sums (six points' hidden sums alone take 24 registers); 8
/// lanes train the default configuration 1.33× faster on an AVX2 AMD EPYC (Zen 3; `cargo bench
/// -- train-T2000/regression`, docs/performance.md). Results are the same bits for every lane
/// count.
pub const LANES: usize = if cfg!(target_feature = "avx512f") {
    16
} else {
    8
};
/// Datasets trained together by gradient-noise training (`peff stochastic` with `σ² > 0`): 16
/// whatever the CPU. Its normal draws (a logarithm, a sine and a cosine polynomial per parameter
/// and step) are long dependent chains, and 16 lanes overlap more of them: on an AVX2 AMD EPYC
/// (Zen 3) 6.8 M network-steps/s against 5.7 M with 8 lanes (`cargo bench -- sgd-T2000`).
pub const NOISY_LANES: usize = 16;
/// Datasets per parallel task.
const CHUNK: usize = 256;
/// Datasets held in memory at once; checkpoints and interruptions happen between windows.
pub const WINDOW: usize = 1 << 13;

/// One dataset of a run: its key (enumeration or sample index), sorted ids and weight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    /// Enumeration index (exact) or sample index (sampled); keys per-dataset random streams.
    pub key: u64,
    /// Sorted point ids.
    pub ids: Vec<u32>,
    /// Multinomial weight `n!/Π c_j!` (exact) or 1 (sampled).
    pub weight: u128,
}

/// A fully specified toy experiment.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ToyExperiment {
    /// Preset name (`regression`, `classification`).
    pub task: String,
    /// Architecture and loss.
    pub shape: ToyShape,
    /// Dataset space.
    pub space: DataSpace,
    /// Gradient-descent settings.
    pub train: TrainParams,
    /// Pruning-method settings.
    pub prune: PruneSettings,
    /// Methods, in table order.
    pub methods: Vec<Method>,
    /// Requested kept counts (IMP reports its schedule down to the smallest).
    pub requested_k: Vec<usize>,
    /// Initial parameters `θ0`.
    pub init: Vec<f64>,
    /// The seed `θ0` was drawn from, or `None` when it came from an init file.
    pub init_seed: Option<u64>,
}

/// What a toy run computes, as its [`RunRecord`] records it: the experiment, the init seeds it
/// runs over and, for `peff sample`, the sampling.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ToyRun {
    /// The experiment (with the init of the first seed).
    pub experiment: ToyExperiment,
    /// Init seeds (`--inits K`: K seeds; one entry otherwise, or none for an init file).
    pub init_seeds: Vec<u64>,
    /// Sampled datasets `N` (`peff sample`); `None` for exact enumeration.
    pub samples: Option<u64>,
    /// Seed of the dataset streams (`peff sample`).
    pub sample_seed: Option<u64>,
}

/// The record of a toy run (`exact`, `sample`).
pub type ToyRecord = RunRecord<ToyRun>;

impl ToyRun {
    /// The subcommand that computes this run.
    pub fn command(&self) -> &'static str {
        if self.samples.is_some() {
            "sample"
        } else {
            "exact"
        }
    }

    /// The inits the run covers: each init seed, or `[None]` for the init of an init file.
    pub fn inits(&self) -> Vec<Option<u64>> {
        if self.init_seeds.is_empty() {
            vec![None]
        } else {
            self.init_seeds.iter().copied().map(Some).collect()
        }
    }

    /// The same run for one init: `seed`'s init, or the recorded init (an init file) for `None`.
    pub fn for_init(&self, seed: Option<u64>) -> ToyRun {
        ToyRun {
            experiment: match seed {
                Some(seed) => self.experiment.with_init_seed(seed),
                None => self.experiment.clone(),
            },
            init_seeds: seed.into_iter().collect(),
            ..self.clone()
        }
    }

    /// Checks the recorded experiment and seeds (for files read back).
    pub fn validate(&self) -> anyhow::Result<()> {
        self.experiment.validate()?;
        if self.experiment.init_seed.is_some()
            && self.init_seeds.first() != self.experiment.init_seed.as_ref()
        {
            anyhow::bail!("the init seeds do not match the experiment's init seed");
        }
        if self.samples.is_some() != self.sample_seed.is_some() {
            anyhow::bail!("samples and sample seed must be recorded together");
        }
        Ok(())
    }
}

/// One (method, k) row of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowKey {
    /// Pruning method.
    pub method: Method,
    /// Kept parameters.
    pub k: usize,
}

impl ToyExperiment {
    /// Checks a configuration that did not come from the command line (a result or
    /// partial-result file): every size in range, the init of the right length and finite.
    pub fn validate(&self) -> anyhow::Result<()> {
        use crate::model::toy::lanes::MAX_INPUT_DIM;
        use crate::model::toy::Loss;
        use anyhow::ensure;
        let (s, space) = (&self.shape, &self.space);
        ensure!(
            (1..=MAX_INPUT_DIM).contains(&s.input_dim),
            "input_dim must be in [1, {MAX_INPUT_DIM}], got {}",
            s.input_dim
        );
        ensure!(
            space.input_dim == s.input_dim,
            "data input_dim {} differs from the model's {}",
            space.input_dim,
            s.input_dim
        );
        ensure!(
            (1..=64).contains(&s.hidden),
            "hidden must be in [1, 64], got {}",
            s.hidden
        );
        let outputs_ok = match s.loss {
            Loss::Mse => (1..=8).contains(&s.outputs),
            Loss::CrossEntropy => (2..=8).contains(&s.outputs),
        };
        ensure!(
            outputs_ok,
            "outputs {} do not suit the {:?} loss",
            s.outputs,
            s.loss
        );
        let p = s.num_params();
        ensure!(
            p <= 64,
            "p = {p} parameters; the toy pipeline supports p ≤ 64"
        );
        ensure!(
            (1..=30).contains(&space.n),
            "n must be in [1, 30], got {}",
            space.n
        );
        ensure!(self.train.steps >= 1, "steps must be ≥ 1");
        ensure!(
            self.train.lr.is_finite() && self.train.lr > 0.0,
            "lr must be finite and > 0"
        );
        ensure!(
            self.prune.imp_rate > 0.0 && self.prune.imp_rate < 1.0,
            "imp_rate must be in (0, 1)"
        );
        ensure!(
            self.prune.grasp_temperature.is_finite() && self.prune.grasp_temperature > 0.0,
            "grasp_temperature must be finite and > 0"
        );
        ensure!(
            (1..=100_000).contains(&self.prune.synflow_rounds),
            "synflow_rounds must be in [1, 100000]"
        );
        ensure!(!self.methods.is_empty(), "no methods");
        ensure!(
            !self.requested_k.is_empty() && self.requested_k.iter().all(|k| (1..p).contains(k)),
            "requested k must be in [1, {}] (p = {p})",
            p - 1
        );
        let rows = self.rows();
        if let Some(m) = self
            .methods
            .iter()
            .find(|&&m| !rows.iter().any(|r| r.method == m))
        {
            anyhow::bail!("method {} has no row at the requested k", m.name());
        }
        ensure!(
            self.init.len() == p,
            "init has {} values, the model has p = {p}",
            self.init.len()
        );
        ensure!(
            self.init.iter().all(|w| w.is_finite()),
            "init has non-finite values"
        );
        Ok(())
    }

    /// The same experiment with its init drawn from `seed`; an experiment whose init came from
    /// a file (`init_seed = None`) keeps it.
    pub fn with_init_seed(&self, seed: u64) -> ToyExperiment {
        let mut exp = self.clone();
        if exp.init_seed.is_some() {
            exp.init = exp.shape.init_params(seed);
            exp.init_seed = Some(seed);
        }
        exp
    }

    /// Number of parameters `p`.
    pub fn num_params(&self) -> usize {
        self.shape.num_params()
    }

    /// The (method, k) rows in table order.
    pub fn rows(&self) -> Vec<RowKey> {
        self.methods
            .iter()
            .flat_map(|&method| {
                let pruner = method.pruner(&self.prune);
                pruner
                    .kept_counts(self.num_params(), &self.requested_k)
                    .into_iter()
                    .map(move |k| RowKey { method, k })
            })
            .collect()
    }

    /// Whether a method's masks are tallied over datasets (`false`: random pruning when
    /// enumerating, whose entropy is known in closed form).
    pub fn is_tallied(&self, method: Method, sampled: bool) -> bool {
        sampled || method.pruner(&self.prune).is_deterministic()
    }

    /// Runs every method on every dataset and tallies masks per row of [`ToyExperiment::rows`].
    /// `on_progress` is called with the number of datasets finished so far.
    pub fn tally(
        &self,
        datasets: impl Iterator<Item = Dataset>,
        sampled: bool,
        on_progress: &(dyn Fn(u64) + Sync),
    ) -> Vec<MaskTally> {
        let empty = vec![MaskTally::default(); self.rows().len()];
        self.tally_from(datasets, sampled, empty, on_progress, &mut |_, _| true)
            .0
    }

    /// Like [`ToyExperiment::tally`], adding to `totals` (e.g. from a checkpoint), in windows of
    /// [`WINDOW`] datasets: after each window `after_window(datasets consumed, totals)` may stop
    /// the run by returning `false`. Returns the totals and whether every dataset was consumed.
    pub fn tally_from(
        &self,
        datasets: impl Iterator<Item = Dataset>,
        sampled: bool,
        mut totals: Vec<MaskTally>,
        on_progress: &(dyn Fn(u64) + Sync),
        after_window: &mut dyn FnMut(u64, &[MaskTally]) -> bool,
    ) -> (Vec<MaskTally>, bool) {
        let rows = self.rows();
        let plan = self.plan(sampled, &rows);
        let mut datasets = datasets.peekable();
        let mut consumed = 0u64;
        while datasets.peek().is_some() {
            let window: Vec<Dataset> = datasets.by_ref().take(WINDOW).collect();
            let partial = window
                .par_chunks(CHUNK)
                .map(|chunk| {
                    let t = self.tally_chunk(chunk, &plan, rows.len());
                    on_progress(chunk.len() as u64);
                    t
                })
                .reduce(
                    || vec![MaskTally::default(); rows.len()],
                    |mut a, b| {
                        merge_into(&mut a, &b);
                        a
                    },
                );
            merge_into(&mut totals, &partial);
            consumed += window.len() as u64;
            if !after_window(consumed, &totals) {
                let finished = datasets.peek().is_none();
                return (totals, finished);
            }
        }
        (totals, true)
    }

    /// How each method is evaluated: per batch, once (data-free), or not at all.
    pub(crate) fn plan(&self, sampled: bool, rows: &[RowKey]) -> Vec<Planned> {
        let p = self.num_params();
        let mut planned = Vec::new();
        for &method in &self.methods {
            if !self.is_tallied(method, sampled) {
                continue;
            }
            let pruner = method.pruner(&self.prune);
            let ks = pruner.kept_counts(p, &self.requested_k);
            // A method without rows (no requested k it can reach; `validate` refuses such a
            // configuration) has nothing to tally.
            let Some(first_row) = rows.iter().position(|r| r.method == method) else {
                continue;
            };
            let fixed = if !pruner.uses_data() && pruner.is_deterministic() {
                // Data-free: evaluate on a batch of one arbitrary dataset, once.
                let probe = ToyBatch::<1>::new(
                    self.shape,
                    self.space,
                    self.train,
                    &self.init,
                    &[(0, vec![0; self.space.n])],
                );
                Some(
                    pruner
                        .prune(&probe, &ks)
                        .into_iter()
                        .map(|p| p.lanes[0].clone())
                        .collect(),
                )
            } else {
                None
            };
            planned.push(Planned {
                pruner,
                ks,
                first_row,
                fixed,
            });
        }
        planned
    }

    fn tally_chunk(&self, chunk: &[Dataset], plan: &[Planned], num_rows: usize) -> Vec<MaskTally> {
        let mut tallies = vec![MaskTally::default(); num_rows];
        for batch in chunk.chunks(LANES) {
            let lanes: Vec<(u64, Vec<u32>)> =
                batch.iter().map(|d| (d.key, d.ids.clone())).collect();
            let nets =
                ToyBatch::<LANES>::new(self.shape, self.space, self.train, &self.init, &lanes);
            for step in plan {
                match &step.fixed {
                    Some(cuts) => {
                        for (offset, cut) in cuts.iter().enumerate() {
                            for d in batch {
                                tallies[step.first_row + offset].add(cut.as_ref(), d.weight);
                            }
                        }
                    }
                    None => {
                        let pruned = step.pruner.prune(&nets, &step.ks);
                        for (offset, pr) in pruned.iter().enumerate() {
                            for (d, cut) in batch.iter().zip(&pr.lanes) {
                                tallies[step.first_row + offset].add(cut.as_ref(), d.weight);
                            }
                        }
                    }
                }
            }
        }
        tallies
    }
}

/// One tallied method of a run: its pruner, its kept counts (rows `first_row..`), and its cuts
/// when it is data-free (evaluated once).
pub(crate) struct Planned {
    pub(crate) pruner: Box<dyn Pruner>,
    pub(crate) ks: Vec<usize>,
    pub(crate) first_row: usize,
    pub(crate) fixed: Option<Vec<Option<Cut>>>,
}

fn merge_into(into: &mut [MaskTally], from: &[MaskTally]) {
    for (a, b) in into.iter_mut().zip(from) {
        a.merge(b);
    }
}

/// Every multiset of the space with its multinomial weight, keyed by enumeration index.
pub fn enumerate_datasets(space: DataSpace) -> impl Iterator<Item = Dataset> {
    space.multisets().enumerate().map(|(key, ids)| Dataset {
        key: key as u64,
        weight: crate::data::multinomial_weight(&ids),
        ids,
    })
}

/// Sampled datasets `0..count` (each from its own stream keyed by `(seed, index)`), weight 1.
pub fn sample_datasets(
    space: DataSpace,
    seed: u64,
    indices: std::ops::Range<u64>,
) -> impl Iterator<Item = Dataset> {
    indices.map(move |key| Dataset {
        key,
        ids: space.sample(seed, key),
        weight: 1,
    })
}

/// Multisets with enumeration indices in `range` (a shard, or the rest of a checkpointed run).
pub fn enumerate_range(
    space: DataSpace,
    range: std::ops::Range<u64>,
) -> impl Iterator<Item = Dataset> {
    enumerate_datasets(space)
        .skip(range.start as usize)
        .take((range.end - range.start) as usize)
}
