//! One seed of a memorisation run: its dataset, the dense run, every (method, density) cell
//! pruned and trained to its stopping rule, IMP's levels, and checkpoints within the seed
//! ([`PartialSeed`]); and the seeds of a run on the thread pool ([`run_seeds`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::gaussian::GaussianData;
use crate::data::images::ImageSet;
use crate::memory::{try_with_capacity, OutOfMemory};
use crate::model::{
    Control, Dataset, Loss, Model, ModelNetworks, Networks, Plateau, Scalar, Targets, TrainConfig,
    TrainOutcome, Trainer,
};
use crate::prune::{Imp, ImpLevel, Method, PruneSettings};

use super::*;

/// One (method, density) result of one seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// Training points memorised at the end of training (0 when diverged).
    pub memorised: u32,
    /// Training points classified correctly (argmax = label) at the end of training (0 when
    /// diverged); absent in files of versions before accuracy was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correct: Option<u32>,
    /// Epochs trained.
    pub epochs: u32,
    /// Whether training hit the epoch cap.
    pub capped: bool,
    /// Whether training (or the dense run the mask came from) diverged.
    pub diverged: bool,
}

impl Cell {
    const DIVERGED: Cell = Cell {
        memorised: 0,
        correct: Some(0),
        epochs: 0,
        capped: false,
        diverged: true,
    };
}

/// Everything one seed contributes: the dense run and one cell per row (methods × levels, in
/// table order). Integers only, so that shard files merge exactly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// The dense network trained from `θ0`.
    pub dense: Cell,
    /// One cell per row.
    pub cells: Vec<Cell>,
    /// Per cell, the kept weights of each weight layer under its mask (input to output; empty
    /// when no mask was found); absent in files of versions before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_kept: Option<Vec<Vec<u32>>>,
}

/// Wall time per method of one seed (`--profile`; not part of any result).
#[derive(Clone, Debug, Default)]
pub struct SeedProfile {
    /// The dense run.
    pub dense: Duration,
    /// Per method, in config order: pruning and training time.
    pub methods: Vec<Duration>,
}

/// The sub-seeds of one seed (module docs).
pub(super) struct SubSeeds {
    init: u64,
    data: u64,
    random: u64,
    train: u64,
    subset: u64,
    noise: u64,
}

impl SubSeeds {
    fn of(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        SubSeeds {
            init: rng.next_u64(),
            data: rng.next_u64(),
            random: rng.next_u64(),
            train: rng.next_u64(),
            subset: rng.next_u64(),
            noise: rng.next_u64(),
        }
    }
}

/// What to lower when a seed's training set does not fit.
pub(super) const LOWER_DATA: &str = "lower `--train-size` (or `--n`/`--input-dim`) or `--threads`";

/// The training set of one seed, for `model`; its buffers are allocated fallibly.
pub(super) fn dataset(
    config: &MemorizeConfig,
    model: &impl Model,
    images: Option<&ImageSet>,
    seeds: &SubSeeds,
) -> Result<Labelled, OutOfMemory> {
    let outputs = model.outputs();
    let (x, classes): (Vec<f64>, Vec<usize>) = match &config.dataset {
        DataSource::Gaussian { n, input_dim } => {
            let data = GaussianData::generate(*n, *input_dim, seeds.data);
            let classes = data.labels.iter().map(|&y| usize::from(y > 0)).collect();
            (data.x, classes)
        }
        DataSource::FashionMnist {
            train_size,
            noise_variance,
            ..
        }
        | DataSource::Cifar10 {
            train_size,
            noise_variance,
            ..
        } => {
            let set = images.expect("the images are loaded before the run");
            let d = set.pixels_per_image();
            let mut rng = ChaCha8Rng::seed_from_u64(seeds.subset);
            let mut chosen =
                rand::seq::index::sample(&mut rng, set.count(), *train_size).into_vec();
            chosen.sort_unstable();
            let noise = Normal::new(0.0, noise_variance.sqrt()).expect("validated variance");
            let mut rng = ChaCha8Rng::seed_from_u64(seeds.noise);
            let mut x =
                try_with_capacity(train_size * d, "the training set of a seed", LOWER_DATA)?;
            for &i in &chosen {
                for &px in set.image(i) {
                    x.push(px as f64 / 255.0 + noise.sample(&mut rng));
                }
            }
            let classes = chosen.iter().map(|&i| set.labels[i] as usize).collect();
            (x, classes)
        }
    };
    let targets = match config.loss {
        Loss::CrossEntropy => Targets::Classes(classes.clone()),
        Loss::Mse if outputs == 1 => Targets::Values(
            classes
                .iter()
                .map(|&c| if c == 1 { 1.0 } else { -1.0 })
                .collect(),
        ),
        Loss::Mse => Targets::Values(
            classes
                .iter()
                .flat_map(|&c| (0..outputs).map(move |o| if o == c { 1.0 } else { 0.0 }))
                .collect(),
        ),
    };
    let targets = match targets {
        Targets::Values(v) => Targets::Values(v.into_iter().map(T::from_f64).collect()),
        Targets::Classes(c) => Targets::Classes(c),
    };
    let mut narrow = try_with_capacity(x.len(), "the training set of a seed", LOWER_DATA)?;
    narrow.extend(x.into_iter().map(T::from_f64));
    let data =
        Dataset::new(model, narrow, targets).expect("generated data fit the validated network");
    Ok(Labelled { data, classes })
}

/// The predicted class of each row of outputs `f` (`o` per row): the argmax (ties to the lower
/// class, as `torch.argmax`), or for one output the sign (`f > 0` is class 1, the ±1 labels).
pub(super) fn predicted(f: &[T], o: usize) -> impl Iterator<Item = usize> + '_ {
    f.chunks_exact(o).map(move |row| {
        if o == 1 {
            usize::from(row[0] > 0.0)
        } else {
            (1..o).fold(0, |best, k| if row[k] > row[best] { k } else { best })
        }
    })
}

/// The training set of one seed with the class of each point (for the accuracy).
pub(super) struct Labelled {
    data: Dataset<T>,
    classes: Vec<usize>,
}

impl Labelled {
    /// Points whose predicted class is their label, at `trainer`'s parameters (one forward
    /// pass); `outputs` is scratch of `n × o` values.
    fn correct<M: Model>(&self, trainer: &mut Trainer<M, T>, outputs: &mut [T]) -> u32 {
        let n = self.data.len();
        let o = trainer.model().outputs();
        trainer.evaluate(self.data.inputs(), n, outputs);
        predicted(outputs, o)
            .zip(&self.classes)
            .filter(|(p, c)| p == *c)
            .count() as u32
    }
}

/// The stopping rule and the memorisation count (module docs).
#[derive(Clone, Copy)]
pub(super) struct Rule {
    max_epochs: usize,
    stop: StopRule,
    /// Threshold on the core's per-point loss `ℓ_i` (MSE: `ℓ_i = ½ Σ_o (f_o − y_o)²`, so the
    /// PyTorch per-point loss `2ℓ_i/o` is below `memorised_loss` iff `ℓ_i < memorised_loss · o/2`).
    threshold: f64,
}

impl Rule {
    fn of(config: &MemorizeConfig) -> Self {
        let o = config.outputs() as f64;
        Rule {
            max_epochs: config.max_epochs,
            stop: config.stop,
            threshold: match config.loss {
                Loss::CrossEntropy => config.memorised_loss,
                Loss::Mse => config.memorised_loss * o / 2.0,
            },
        }
    }

    /// Trains `trainer` (already reset) to the stopping rule; returns the outcome and the
    /// counts of points memorised and classified correctly at the final parameters.
    /// A set `stop` ends the training at its next epoch (the cell is then no result).
    fn train<M: Model>(
        &self,
        trainer: &mut Trainer<M, T>,
        set: &Labelled,
        stop: &AtomicBool,
    ) -> (TrainOutcome, Cell) {
        let data = &set.data;
        let mut losses = vec![T::ZERO; data.len()];
        let mut outputs = vec![T::ZERO; data.len() * trainer.model().outputs()];
        let threshold = self.threshold;
        let all_memorised = |l: &[T]| l.iter().all(|&v| v.to_f64() < threshold);
        let outcome = match self.stop {
            StopRule::Plateau {
                plateau_epochs,
                plateau_rel,
            } => {
                let mut plateau = Plateau::new(plateau_epochs, plateau_rel);
                trainer.train(data, self.max_epochs, |t, stats| {
                    if stop.load(Ordering::SeqCst) {
                        return Control::Stop;
                    }
                    let done = match t.last_point_losses() {
                        Some(l) => all_memorised(l),
                        None => {
                            t.point_losses(data, &mut losses);
                            all_memorised(&losses)
                        }
                    };
                    if done || plateau.update(stats.loss) {
                        Control::Stop
                    } else {
                        Control::Continue
                    }
                })
            }
            StopRule::Converged {
                converge_loss_delta,
                converge_accuracy_epochs,
            } => {
                let mut last_loss = f64::NAN;
                let (mut last_correct, mut unchanged) = (u32::MAX, 0);
                trainer.train(data, self.max_epochs, |t, stats| {
                    if stop.load(Ordering::SeqCst) {
                        return Control::Stop;
                    }
                    let converged = (stats.loss - last_loss).abs() < converge_loss_delta;
                    last_loss = stats.loss;
                    let correct = set.correct(t, &mut outputs);
                    unchanged = if correct == last_correct {
                        unchanged + 1
                    } else {
                        0
                    };
                    last_correct = correct;
                    if converged || unchanged >= converge_accuracy_epochs {
                        Control::Stop
                    } else {
                        Control::Continue
                    }
                })
            }
        };
        let diverged = outcome.diverged || !trainer.params().iter().all(|w| w.is_finite());
        if diverged {
            return (outcome, Cell::DIVERGED);
        }
        trainer.point_losses(data, &mut losses);
        let memorised = losses.iter().filter(|&&v| v.to_f64() < threshold).count();
        let cell = Cell {
            memorised: memorised as u32,
            correct: Some(set.correct(trainer, &mut outputs)),
            epochs: outcome.epochs as u32,
            capped: !outcome.stopped && outcome.epochs == self.max_epochs,
            diverged: false,
        };
        (outcome, cell)
    }
}

/// [`mask_key`] of a mask given as booleans.
pub(super) fn bool_mask_key(keep: &[bool]) -> Vec<u64> {
    let mask: Vec<T> = keep
        .iter()
        .map(|&k| if k { T::ONE } else { T::ZERO })
        .collect();
    mask_key(Some(&mask))
}

/// A cache key: the kept parameters as bits, or empty for the dense network.
pub(super) fn mask_key(mask: Option<&[T]>) -> Vec<u64> {
    let Some(mask) = mask else {
        return Vec::new();
    };
    if mask.iter().all(|&m| m > T::ZERO) {
        return Vec::new();
    }
    let mut words = vec![0u64; mask.len().div_ceil(64)];
    for (i, &m) in mask.iter().enumerate() {
        if m > T::ZERO {
            words[i / 64] |= 1 << (i % 64);
        }
    }
    words
}

/// The finished part of a seed that was stopped midway: what `memorize --checkpoint` saves
/// within a seed, so that a resumed run repeats at most the training that was in progress.
/// Resuming from it gives the seed's result bit for bit (every training is a deterministic
/// function of its mask, and IMP resumes from its last level's trained weights).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartialSeed {
    /// The seed.
    pub seed: u64,
    /// The dense run, once finished.
    pub dense: Option<DenseRun>,
    /// Per row (methods × kept counts, table order), the cell once finished.
    pub cells: Vec<Option<FinishedCell>>,
    /// IMP's last trained level, from which its trajectory resumes.
    pub imp: Option<ImpLevel>,
}

/// The dense network's run within a [`PartialSeed`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenseRun {
    /// Its cell ([`Cell::diverged`] when it diverged).
    pub cell: Cell,
    /// The trained parameters (empty when it diverged): magnitude pruning and IMP start here.
    pub trained: Vec<f64>,
}

/// One finished row of a [`PartialSeed`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinishedCell {
    /// The cell.
    pub cell: Cell,
    /// The kept weights of each weight layer under its mask (empty when no mask was found).
    pub layer_kept: Vec<u32>,
}

/// What a running seed obeys and reports.
#[derive(Clone, Copy)]
pub struct SeedHooks<'a> {
    /// Set by a stop signal: the training in progress ends at its next epoch and the seed
    /// returns `None`; what finished before was reported to `on_progress`.
    pub stop: &'a AtomicBool,
    /// Receives the seed's finished part after each finished training (dense run, row, IMP
    /// level).
    pub on_progress: &'a (dyn Fn(&PartialSeed) + Sync),
}

impl SeedHooks<'_> {
    /// Hooks that never stop and report nothing.
    pub const NONE: SeedHooks<'static> = SeedHooks {
        stop: &NEVER_STOP,
        on_progress: &|_| {},
    };

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

pub(super) static NEVER_STOP: AtomicBool = AtomicBool::new(false);

/// Runs one seed, resuming from `resume` (its finished part) if given; `profile` receives
/// per-method wall times. `None` when `hooks.stop` ended it; an error when its training set
/// could not be allocated.
///
/// # Panics
/// If `config` did not pass [`MemorizeConfig::validate`], or `resume` is not a part of this
/// seed under `config`.
pub fn run_seed(
    config: &MemorizeConfig,
    images: Option<&ImageSet>,
    seed: u64,
    profile: Option<&mut SeedProfile>,
    resume: Option<&PartialSeed>,
    hooks: SeedHooks<'_>,
) -> Result<Option<SeedResult>, OutOfMemory> {
    let run = SeedRun {
        config,
        images,
        seed,
        hooks,
    };
    match &config.arch {
        Arch::Mlp { widths } => {
            let mlp = Arch::mlp(widths, config.loss).expect("validated architecture");
            run.on(&mlp, profile, resume)
        }
        &Arch::Conv {
            image_shape,
            convolutions,
            channels,
            classes,
        } => {
            let conv = Arch::conv(image_shape, convolutions, channels, classes, config.loss)
                .expect("validated architecture");
            run.on(&conv, profile, resume)
        }
    }
}

/// One seed's run: what [`run_seed`] was given.
pub(super) struct SeedRun<'a> {
    config: &'a MemorizeConfig,
    images: Option<&'a ImageSet>,
    seed: u64,
    hooks: SeedHooks<'a>,
}

impl SeedRun<'_> {
    /// [`run_seed`] on the network `model`.
    fn on<M: Model>(
        &self,
        model: &M,
        profile: Option<&mut SeedProfile>,
        resume: Option<&PartialSeed>,
    ) -> Result<Option<SeedResult>, OutOfMemory> {
        let set = dataset(self.config, model, self.images, &SubSeeds::of(self.seed))?;
        Ok(self.with_data(model, set, profile, resume))
    }

    /// [`Self::on`] once the training set `set` is allocated.
    fn with_data<M: Model>(
        &self,
        model: &M,
        set: Labelled,
        mut profile: Option<&mut SeedProfile>,
        resume: Option<&PartialSeed>,
    ) -> Option<SeedResult> {
        let (config, hooks) = (self.config, self.hooks);
        let rows = config.methods.len() * config.kept.len();
        let mut part = resume.cloned().unwrap_or_else(|| PartialSeed {
            seed: self.seed,
            dense: None,
            cells: vec![None; rows],
            imp: None,
        });
        assert!(
            part.seed == self.seed && part.cells.len() == rows,
            "resumed seed"
        );
        let sub = SubSeeds::of(self.seed);
        let init = model.init_params(sub.init);
        let train_config = TrainConfig {
            optimizer: config.optimizer,
            batch_size: config.batch_size,
            grad_noise_variance: 0.0,
            seed: sub.train,
            sparse_below: config.sparse_below,
        };
        let rule = Rule::of(config);
        // Every training run from θ0 ⊙ m goes through this routine; its cells are cached by
        // mask, so that IMP's level trainings double as the evaluations of its masks. A
        // training cut short by a stop is not a result and is not cached.
        let cache: RefCell<HashMap<Vec<u64>, Cell>> = RefCell::new(HashMap::new());
        let routine = |trainer: &mut Trainer<M, T>, _: &Dataset<T>| {
            let (outcome, cell) = rule.train(trainer, &set, hooks.stop);
            if !hooks.stopped() {
                cache.borrow_mut().insert(mask_key(trainer.mask()), cell);
            }
            outcome
        };
        let nets = ModelNetworks::new(model, set.data.clone(), &init, 0, train_config, routine);
        let settings = PruneSettings {
            random_seed: sub.random,
            synflow_rounds: config.synflow_rounds,
            imp_rate: config.imp_rate,
            grasp_temperature: config.grasp_temperature,
        };
        let p = model.num_params();
        let started = Instant::now();
        let dense = match &part.dense {
            Some(dense) => {
                let trained = match dense.cell.diverged {
                    true => vec![f64::NAN; p],
                    false => dense.trained.clone(),
                };
                assert_eq!(trained.len(), p, "resumed dense weights");
                nets.set_dense_trained(trained, vec![dense.cell.diverged]);
                cache.borrow_mut().insert(Vec::new(), dense.cell);
                dense.clone()
            }
            None => {
                let (params, diverged) = nets.dense_trained();
                if hooks.stopped() {
                    return None;
                }
                let dense = match diverged[0] || cache.borrow()[&Vec::new()].diverged {
                    true => DenseRun {
                        cell: Cell::DIVERGED,
                        trained: Vec::new(),
                    },
                    false => DenseRun {
                        cell: cache.borrow()[&Vec::new()],
                        trained: params.to_vec(),
                    },
                };
                part.dense = Some(dense.clone());
                (hooks.on_progress)(&part);
                dense
            }
        };
        let dense_start: Vec<T> = nets
            .dense_trained()
            .0
            .iter()
            .map(|&v| T::from_f64(v))
            .collect();
        if let Some(p) = profile.as_deref_mut() {
            p.dense = started.elapsed();
        }
        let prunable = nets.prunable().into_owned();
        let weights = prunable.len();
        let layers = model.weight_layers();
        let layer_kept = |keep: &[bool]| -> Vec<u32> {
            layers
                .iter()
                .map(|l| keep[l.clone()].iter().filter(|&&k| k).count() as u32)
                .collect()
        };
        let mut trainer = Trainer::<M, T>::new(model, train_config, set.data.len());
        for (m, &method) in config.methods.iter().enumerate() {
            let started = Instant::now();
            let rows = m * config.kept.len()..(m + 1) * config.kept.len();
            if part.cells[rows.clone()].iter().all(Option::is_some) {
                if let Some(p) = profile.as_deref_mut() {
                    p.methods.push(started.elapsed());
                }
                continue;
            }
            // Level 0 is the dense network for every method; the pruner sees the others.
            let sparse: Vec<usize> = config
                .kept
                .iter()
                .copied()
                .filter(|&k| k < weights)
                .collect();
            let mut masks: HashMap<usize, Option<Vec<bool>>> = HashMap::new();
            if !sparse.is_empty() {
                let pruner = method.pruner(&settings);
                let ks = pruner.kept_counts(weights, &sparse);
                let pruned = if method == Method::Imp {
                    // IMP's levels are trainings: each one that lands on a row finishes it.
                    let resume = part.imp.clone();
                    let mut on_level = |level: &ImpLevel| {
                        if hooks.stopped() {
                            return;
                        }
                        let mut keep = vec![true; p];
                        for &i in &prunable {
                            keep[i] = false;
                        }
                        for &i in &level.kept[0] {
                            keep[i] = true;
                        }
                        let cell = cache.borrow().get(&bool_mask_key(&keep)).copied();
                        let row = config.kept.iter().position(|&k| k == ks[level.level]);
                        if let (Some(cell), Some(r)) = (cell, row) {
                            part.cells[rows.start + r] = Some(FinishedCell {
                                cell,
                                layer_kept: layer_kept(&keep),
                            });
                        }
                        part.imp = Some(level.clone());
                        (hooks.on_progress)(&part);
                    };
                    Imp {
                        rate: config.imp_rate,
                    }
                    .prune_from(&nets, &ks, resume.as_ref(), &mut on_level)
                } else {
                    pruner.prune(&nets, &ks)
                };
                if hooks.stopped() {
                    return None;
                }
                masks = pruned
                    .into_iter()
                    .filter(|pruned| sparse.contains(&pruned.k))
                    .map(|pruned| {
                        let keep = pruned.lanes[0]
                            .as_ref()
                            .map(|cut| (0..p).map(|i| cut.mask.is_kept(i)).collect());
                        (pruned.k, keep)
                    })
                    .collect();
            }
            for (r, &k) in rows.clone().zip(&config.kept) {
                if part.cells[r].is_some() {
                    continue;
                }
                let keep = if k == weights {
                    Some(vec![true; p])
                } else {
                    masks.get(&k).cloned().flatten()
                };
                let kept = keep.as_deref().map_or_else(Vec::new, layer_kept);
                let cell = match keep {
                    None => Cell::DIVERGED,
                    Some(_) if method == Method::Magnitude && dense.cell.diverged => Cell::DIVERGED,
                    Some(keep) if method == Method::Magnitude => {
                        trainer.reset(&dense_start, Some(&keep));
                        rule.train(&mut trainer, &set, hooks.stop).1
                    }
                    Some(keep) => {
                        let key = bool_mask_key(&keep);
                        let cached = cache.borrow().get(&key).copied();
                        match cached {
                            Some(cell) => cell,
                            None => {
                                nets.train_masked(Some(&keep));
                                match cache.borrow().get(&key) {
                                    Some(&cell) => cell,
                                    None => return None, // stopped: nothing was cached
                                }
                            }
                        }
                    }
                };
                if hooks.stopped() {
                    return None;
                }
                part.cells[r] = Some(FinishedCell {
                    cell,
                    layer_kept: kept,
                });
                (hooks.on_progress)(&part);
            }
            if let Some(p) = profile.as_deref_mut() {
                p.methods.push(started.elapsed());
            }
        }
        let (cells, layer_kept) = part
            .cells
            .into_iter()
            .map(|c| {
                let c = c.expect("every row finished");
                (c.cell, c.layer_kept)
            })
            .unzip();
        Some(SeedResult {
            seed: self.seed,
            dense: dense.cell,
            cells,
            layer_kept: Some(layer_kept),
        })
    }
}

/// Runs seeds `config.seed + i` for `i` in `range` in parallel on the current rayon pool (one
/// network per thread), calling `done` after each; results in seed order. Seeds finished in
/// `resumed` (from a checkpoint) are taken from there, not run again, and its partly finished
/// seeds resume from their finished part; `on_seed` gets each seed that finishes here. When `hooks.stop` is set,
/// running seeds stop at their next epoch (their finished parts went to `hooks.on_progress`),
/// seeds not yet started are skipped, and the run returns `None`. A seed whose training set
/// cannot be allocated ends the run with that error.
pub fn run_seeds(
    config: &MemorizeConfig,
    images: Option<&ImageSet>,
    range: std::ops::Range<u64>,
    resumed: &MemorizeProgress,
    hooks: SeedHooks<'_>,
    done: &(dyn Fn() + Sync),
    on_seed: &(dyn Fn(&SeedResult) + Sync),
) -> Result<Option<Vec<SeedResult>>, OutOfMemory> {
    let results: Vec<Option<SeedResult>> = range
        .into_par_iter()
        .map(|i| {
            let seed = config.seed + i;
            if let Some(result) = resumed.results.iter().find(|r| r.seed == seed) {
                done();
                return Ok(Some(result.clone()));
            }
            if hooks.stopped() {
                return Ok(None);
            }
            let resume = resumed.partial.iter().find(|r| r.seed == seed);
            let Some(result) = run_seed(config, images, seed, None, resume, hooks)? else {
                return Ok(None);
            };
            on_seed(&result);
            done();
            Ok(Some(result))
        })
        .collect::<Result<_, OutOfMemory>>()?;
    Ok(results.into_iter().collect())
}
