//! Memorisation capacity of pruned MLPs (SPEC §7 "Memorisation capacity", "Noisy images" and
//! "Pruning a general MLP"; the paper's Fig. 1a, 1b and Appendix B.1.1).
//!
//! For each seed: draw a dataset with labels that carry no signal (Gaussian inputs with random
//! ±1 labels, or FashionMNIST images with fixed Gaussian noise of variance 3), an MLP init, then
//! for every method and density prune the MLP, train the pruned network to convergence and count
//! the training points it memorised.
//!
//! ```text
//! memorised(i)   ⇔  ℓ_i < ln 2 / 10        (CE: ℓ_i = −log softmax(f(x_i))_{y_i};
//!                                           MSE: PyTorch's per-point loss (1/o) Σ_o (f_o − y_o)²)
//! stop training  ⇔  every point memorised, or no 1 % improvement of the epoch loss in 200
//!                   epochs ([`Plateau`]), or the epoch cap (default 20,000; such runs are `capped`)
//! kept counts    k_j = IMP's schedule after j levels (R ← R − ⌈0.2 R⌉ from R = #weights),
//!                j = 3, 6, …, 30 by default: density k_j / #weights ≈ 0.8^j, the same k for
//!                every method, so that IMP's levels land on the grid
//! row (method, k):  mean and standard error over seeds of memorised / n;
//!                   se = sd / √m (sample sd, m − 1), m = seeds whose run did not diverge
//! ```
//!
//! What each pruned network trains from (SPEC §7): `magnitude` from the dense network's trained
//! weights masked, with a fresh optimizer (Synaptic-Flow's single shot with pre-training); every
//! other method from `θ0 ⊙ m`. IMP is one trajectory: level `j` trains `θ0 ⊙ m_j` to
//! convergence and prunes `⌈0.2 R⌉` of its `R` kept weights by trained `|θ|`; that level's
//! training *is* the evaluation of `m_j`, so it is run once (a cache keyed by the mask serves
//! both). Magnitude pruning and IMP's level 0 share one dense run. Only weights are pruned
//! (biases kept), ranked globally over all layers; SynFlow's objective sees biases too.
//!
//! Pruning goes through [`crate::prune`]'s implementations on [`ModelNetworks`](crate::model::ModelNetworks) (scores in `f64`
//! from `θ0`); training runs in `f32`, as the PyTorch baseline does (see
//! [`crate::model::mlp`]). A run whose loss or parameters become non-finite is *diverged*:
//! counted in the `diverged` column and left out of the mean.
//!
//! **Seeds.** Seed `s` seeds one `ChaCha8Rng`, whose first draws are the sub-seeds of the init,
//! the data, random pruning, the trainer's streams and (FashionMNIST) the subset and the noise.
//! Seeds are independent, so they run in parallel (one network per thread) and any slice of them
//! (`--shard`) gives the same per-seed results; the table reduces them in seed order, so it is
//! the same bytes for any thread count and any sharding.

mod config;
mod table;
mod train;

pub use config::*;
pub use table::*;
pub use train::*;

use serde::{Deserialize, Serialize};

use crate::experiments::pipeline::{Experiment, Session};
use crate::record::{RunRecord, ShardFile, ShardPayload};

/// Format tag of `peff memorize --shard` files.
pub const SHARD_FORMAT: &str = "peff-memorize-shard-1";

/// What a `peff memorize --shard i/N` file holds beside the envelope of
/// [`ShardFile`]: the shard's seed indices and one result per seed. The results are integers,
/// so merging shards reproduces the unsharded table byte for byte.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemorizeSeeds {
    /// First seed index (offset from `config.seed`) of the shard.
    pub start: u64,
    /// End (exclusive) of the shard's seed indices.
    pub end: u64,
    /// One result per seed, in seed order.
    pub results: Vec<SeedResult>,
}

/// A `peff memorize --shard i/N` file.
pub type MemorizeShard = ShardFile<MemorizeConfig, MemorizeSeeds>;

impl MemorizeSeeds {
    /// The payload for `results` of the seed indices `range`.
    pub fn new(range: std::ops::Range<u64>, results: Vec<SeedResult>) -> Self {
        MemorizeSeeds {
            start: range.start,
            end: range.end,
            results,
        }
    }
}

impl ShardPayload<MemorizeConfig> for MemorizeSeeds {
    const FORMAT: &'static str = SHARD_FORMAT;
    const WHAT: &'static str = "a peff memorize shard file";

    /// The configuration is valid, the file is a `--shard` run's, its seeds are exactly the
    /// shard's and every seed has one cell per row, each possible for its data.
    fn check(&self, run: &RunRecord<MemorizeConfig>) -> anyhow::Result<()> {
        use anyhow::{bail, Context};
        let config = &run.config;
        config.validate().context("recorded configuration")?;
        let Some(s) = run.shard else {
            bail!("not the file of a `--shard i/N` run");
        };
        if s.range(config.seeds) != (self.start..self.end) {
            bail!("seed range does not match shard {}/{}", s.index, s.count);
        }
        let expected = (self.start..self.end).map(|i| config.seed + i);
        if self.results.len() as u64 != self.end - self.start
            || self
                .results
                .iter()
                .zip(expected)
                .any(|(r, seed)| r.seed != seed || !config.possible(r))
        {
            bail!("per-seed results do not match the recorded configuration");
        }
        Ok(())
    }
}

/// What a `peff memorize --checkpoint` file holds beside the envelope of [`ShardFile`]: the
/// seeds finished so far, and the finished part of each seed that was stopped midway, both
/// ascending.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemorizeProgress {
    /// One result per finished seed, ascending by seed.
    pub results: Vec<SeedResult>,
    /// The seeds stopped midway (absent in checkpoints of versions that saved whole seeds).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partial: Vec<PartialSeed>,
}

impl MemorizeProgress {
    /// Records a finished seed (replacing its partial state), keeping both lists ascending.
    pub fn finish(&mut self, result: &SeedResult) {
        self.partial.retain(|p| p.seed != result.seed);
        self.results.push(result.clone());
        self.results.sort_by_key(|r| r.seed);
    }

    /// Records a seed's finished part, keeping the list ascending.
    pub fn advance(&mut self, part: &PartialSeed) {
        match self.partial.binary_search_by_key(&part.seed, |p| p.seed) {
            Ok(i) => self.partial[i] = part.clone(),
            Err(i) => self.partial.insert(i, part.clone()),
        }
    }
}

/// The format tag of a memorize checkpoint.
pub const CHECKPOINT_FORMAT: &str = "peff-memorize-checkpoint-1";

impl ShardPayload<MemorizeConfig> for MemorizeProgress {
    const FORMAT: &'static str = CHECKPOINT_FORMAT;
    const WHAT: &'static str = "a peff memorize checkpoint";

    /// Every seed is one of the run's (shard's), once, ascending, its cells possible.
    fn check(&self, run: &RunRecord<MemorizeConfig>) -> anyhow::Result<()> {
        use anyhow::{bail, Context};
        let config = &run.config;
        config.validate().context("recorded configuration")?;
        let range = run
            .shard
            .unwrap_or(crate::record::Shard::WHOLE)
            .range(config.seeds);
        let seeds = (config.seed + range.start)..(config.seed + range.end);
        let ascending = self.results.windows(2).all(|w| w[0].seed < w[1].seed);
        if !ascending
            || self
                .results
                .iter()
                .any(|r| !seeds.contains(&r.seed) || !config.possible(r))
        {
            bail!("its seeds do not match the recorded configuration and shard");
        }
        let rows = config.methods.len() * config.kept.len();
        let weights = config.num_weights();
        let partial_ascending = self.partial.windows(2).all(|w| w[0].seed < w[1].seed);
        let fits = |part: &PartialSeed| {
            seeds.contains(&part.seed)
                && self.results.iter().all(|r| r.seed != part.seed)
                && part.cells.len() == rows
                && part
                    .imp
                    .as_ref()
                    .is_none_or(|l| l.level < weights && l.kept.len() == 1 && l.trained.len() == 1)
                && part.dense.as_ref().is_none_or(|d| {
                    d.cell.diverged == d.trained.is_empty()
                        && d.trained.iter().all(|w| w.is_finite())
                })
        };
        if !partial_ascending || !self.partial.iter().all(fits) {
            bail!("its partly finished seeds do not match the recorded configuration and shard");
        }
        Ok(())
    }
}

/// Merges the shards of one run (same run, same shard count, each shard once) into the whole
/// run's record and its per-seed results in seed order.
pub fn merge_shards(
    parts: &[MemorizeShard],
) -> anyhow::Result<(RunRecord<MemorizeConfig>, Vec<SeedResult>)> {
    let (ordered, whole) = crate::record::order_shards(parts, |p: &MemorizeShard| &p.run)?;
    let results = ordered
        .into_iter()
        .flat_map(|s| s.payload.results.iter().cloned())
        .collect();
    Ok((whole, results))
}

/// A memorize run as the [`Executor`](crate::experiments::pipeline::Executor) drives it: its
/// seeds (its shard's) in parallel on the current pool ([`run_seeds`]), a seed's finished cells
/// and each finished seed reported as progress.
pub struct MemorizeRun<'a> {
    /// The run: configuration and shard.
    pub record: &'a RunRecord<MemorizeConfig>,
    /// The images of an image dataset (`None` for Gaussian data).
    pub images: Option<&'a crate::data::images::ImageSet>,
}

impl MemorizeRun<'_> {
    /// The run's seeds (offsets from `config.seed`), its shard's.
    pub fn seeds(&self) -> std::ops::Range<u64> {
        self.record
            .shard
            .unwrap_or(crate::record::Shard::WHOLE)
            .range(self.record.config.seeds)
    }
}

impl Experiment for MemorizeRun<'_> {
    type Config = MemorizeConfig;
    type Progress = MemorizeProgress;
    type Output = Vec<SeedResult>;

    fn record(&self) -> &RunRecord<MemorizeConfig> {
        self.record
    }

    fn work(&self) -> (u64, &'static str) {
        (self.seeds().count() as u64, "seeds")
    }

    fn start(&self) -> MemorizeProgress {
        MemorizeProgress::default()
    }

    fn describe(&self, progress: &MemorizeProgress) -> String {
        format!(
            "{} of {} seeds finished, {} in progress",
            progress.results.len(),
            self.seeds().count(),
            progress.partial.len()
        )
    }

    fn advance(
        &self,
        from: &MemorizeProgress,
        session: &Session<'_, Self>,
    ) -> anyhow::Result<Option<Vec<SeedResult>>> {
        let on_progress = |part: &PartialSeed| session.update(|p| p.advance(part));
        let hooks = SeedHooks {
            stop: session.stop_flag(),
            on_progress: &on_progress,
        };
        Ok(run_seeds(
            &self.record.config,
            self.images,
            self.seeds(),
            from,
            hooks,
            &|| session.work_done(1),
            &|result| session.update(|p| p.finish(result)),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Loss, Optimizer};
    use crate::prune::{Imp, Method};
    use std::sync::atomic::{AtomicBool, Ordering};

    fn tiny(methods: Vec<Method>, levels: Vec<usize>) -> MemorizeConfig {
        let widths = vec![5, 8, 8, 2];
        let weights: usize = widths.windows(2).map(|w| w[0] * w[1]).sum();
        MemorizeConfig {
            dataset: DataSource::Gaussian { n: 6, input_dim: 5 },
            loss: Loss::CrossEntropy,
            arch: Arch::Mlp { widths },
            optimizer: Optimizer::sgd(0.1),
            batch_size: None,
            max_epochs: 300,
            stop: StopRule::Plateau {
                plateau_epochs: 50,
                plateau_rel: 0.01,
            },
            memorised_loss: MEMORISED_LOSS,
            methods,
            kept: levels
                .iter()
                .map(|&l| MemorizeConfig::kept_at(weights, 0.2, l))
                .collect(),
            levels,
            imp_rate: 0.2,
            synflow_rounds: 10,
            grasp_temperature: 200.0,
            sparse_below: crate::model::sparse::SparseBelow::MEASURED,
            seed: 0,
            seeds: 2,
        }
    }

    /// The IMP cells are those of IMP's own level trainings: rerunning a level's mask from θ0
    /// through the routine gives the same cell, and the dense cell is shared.
    #[test]
    fn kept_counts_follow_imp_levels() {
        let config = tiny(Method::ALL.to_vec(), vec![0, 3, 6]);
        config.validate().unwrap();
        // 5·8 + 8·8 + 8·2 = 120 weights: 120 → 96 → 76 → 60 (level 3) → 48 → 38 → 30 (level 6).
        assert_eq!(config.kept, vec![120, 60, 30]);
        let imp = Imp { rate: 0.2 }.schedule(120, 30);
        assert_eq!(imp, vec![96, 76, 60, 48, 38, 30]);
        let result = run_seed(&config, None, 4, None, None, SeedHooks::NONE)
            .unwrap()
            .unwrap();
        assert_eq!(result.cells.len(), 18);
        let rows = rows(&config, &[result]);
        for method in Method::ALL {
            let kept: Vec<usize> = rows
                .iter()
                .filter(|r| r.method == method.name())
                .map(|r| r.kept)
                .collect();
            assert_eq!(kept, vec![120, 60, 30]);
        }
    }

    /// Issue 28 (preemption): a seed stopped after any of its trainings resumes from its
    /// finished part (through its JSON form) to the uninterrupted result, bit for bit; the
    /// part grows with every training, IMP's levels included.
    #[test]
    fn a_seed_stopped_anywhere_resumes_to_the_same_result() {
        use std::sync::atomic::AtomicUsize;
        use std::sync::Mutex;
        let config = tiny(Method::ALL.to_vec(), vec![3, 6]);
        let whole = run_seed(&config, None, 1, None, None, SeedHooks::NONE)
            .unwrap()
            .unwrap();
        let mut reports = 0;
        let mut saw_imp_level = false;
        for cut in 1.. {
            let stop = AtomicBool::new(false);
            let count = AtomicUsize::new(0);
            let last: Mutex<Option<PartialSeed>> = Mutex::new(None);
            let on_progress = |part: &PartialSeed| {
                *last.lock().unwrap() = Some(part.clone());
                if count.fetch_add(1, Ordering::SeqCst) + 1 == cut {
                    stop.store(true, Ordering::SeqCst);
                }
            };
            let hooks = SeedHooks {
                stop: &stop,
                on_progress: &on_progress,
            };
            let Some(done) = run_seed(&config, None, 1, None, None, hooks).unwrap() else {
                let part = last.into_inner().unwrap().expect("a part before the stop");
                saw_imp_level |= part.imp.is_some();
                let part: PartialSeed =
                    serde_json::from_str(&serde_json::to_string(&part).unwrap()).unwrap();
                let resumed =
                    run_seed(&config, None, 1, None, Some(&part), SeedHooks::NONE).unwrap();
                assert_eq!(resumed.as_ref(), Some(&whole), "stopped after report {cut}");
                reports = cut;
                continue;
            };
            assert_eq!(done, whole);
            break;
        }
        // Reports: the dense run, 5 methods × 2 rows (kept 60 and 30), IMP's trained levels
        // 96, 76, 60 (its row), 48, 38, and its last level (30) trained after the schedule.
        // The last report ends the seed, so stopping there is no stop.
        assert_eq!(reports + 1, 1 + 5 * 2 + 5 + 1);
        assert!(saw_imp_level);
    }

    #[test]
    fn mask_keys_treat_full_as_dense() {
        assert_eq!(mask_key(None), Vec::<u64>::new());
        assert_eq!(mask_key(Some(&[1.0, 1.0])), Vec::<u64>::new());
        assert_eq!(mask_key(Some(&[1.0, 0.0, 1.0])), vec![0b101]);
    }
}
