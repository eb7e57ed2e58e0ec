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
//! Pruning goes through [`crate::prune`]'s implementations on [`ModelNetworks`] (scores in `f64`
//! from `θ0`); training runs in `f32`, as the PyTorch baseline does (see
//! [`crate::model::mlp`]). A run whose loss or parameters become non-finite is *diverged*:
//! counted in the `diverged` column and left out of the mean.
//!
//! **Seeds.** Seed `s` seeds one `ChaCha8Rng`, whose first draws are the sub-seeds of the init,
//! the data, random pruning, the trainer's streams and (FashionMNIST) the subset and the noise.
//! Seeds are independent, so they run in parallel (one network per thread) and any slice of them
//! (`--shard`) gives the same per-seed results; the table reduces them in seed order, so it is
//! the same bytes for any thread count and any sharding.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::cifar;
use crate::data::gaussian::GaussianData;
use crate::data::images::ImageSet;
use crate::memory::{try_with_capacity, OutOfMemory};
use crate::model::conv::Conv;
use crate::model::mlp::Mlp;
use crate::model::networks::SCORE_WORKSPACE_BYTES;
use crate::model::{
    Control, Dataset, Loss, Model, ModelNetworks, Networks, Optimizer, Plateau, Scalar, Targets,
    TrainConfig, TrainOutcome, Trainer,
};
use crate::prune::{Grasp, Imp, ImpLevel, Method, PruneSettings};
use crate::record::{RunRecord, ShardFile, ShardPayload};

/// The precision training runs in.
type T = f32;

/// The memorisation threshold on a point's loss, `ln 2 / 10` (Appendix B.1.1).
pub const MEMORISED_LOSS: f64 = std::f64::consts::LN_2 / 10.0;

/// The default IMP levels of the density grid, `j = 3, 6, …, 30`.
pub const DEFAULT_LEVELS: [usize; 10] = [3, 6, 9, 12, 15, 18, 21, 24, 27, 30];

/// Bytes a seed holds per weight of the network, whatever the data: parameters, gradients
/// and Adam's moments of two trainers, the initial, dense-trained and rewound copies (`f64`
/// and `f32`), masks, `f64` pruning scores and their sort order. Measured as the slope of the
/// peak resident memory over the weight count (193–222 B, `docs/large-runs.md`, "Memory"),
/// rounded up.
pub const BYTES_PER_WEIGHT: u128 = 240;

/// FashionMNIST training points per seed unless `--train-size` says otherwise (the paper does
/// not state its size; see docs/figures.md for the cost of the full 60,000).
pub const DEFAULT_FASHION_TRAIN_SIZE: usize = 2_000;

/// SynFlow's rounds (Tanaka et al. 2020).
pub const DEFAULT_SYNFLOW_ROUNDS: usize = 100;

/// Where the training points come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum DataSource {
    /// `n` points `x ~ N(0, I_d)` with random ±1 labels ([`GaussianData`]).
    Gaussian {
        /// Points `n`.
        n: usize,
        /// Input dimension `d`.
        input_dim: usize,
    },
    /// A random subset of `train_size` FashionMNIST training images, pixels scaled to [0, 1],
    /// plus Gaussian noise of variance `noise_variance` drawn once per seed; true labels.
    FashionMnist {
        /// Training points per seed.
        train_size: usize,
        /// Variance of the input noise.
        noise_variance: f64,
        /// Images in the training files.
        images: usize,
        /// Pixels per image (the input dimension).
        pixels: usize,
        /// SHA-256 (hex) of the training set's pixels and labels, so that shards computed on
        /// different machines are checked to have read the same files.
        data_sha256: String,
    },
    /// A random subset of `train_size` CIFAR-10 training images (`3 × 32 × 32`), pixels scaled
    /// to [0, 1], plus Gaussian noise of variance `noise_variance` drawn once per seed; true
    /// labels (as for FashionMNIST: the paper states no noise for Fig. 1c).
    Cifar10 {
        /// Training points per seed.
        train_size: usize,
        /// Variance of the input noise.
        noise_variance: f64,
        /// Images in the training files.
        images: usize,
        /// SHA-256 (hex) of the training set's pixels and labels.
        data_sha256: String,
    },
}

impl DataSource {
    /// The dataset name of the table (`gaussian`, `fashion-mnist`, `cifar10`).
    pub fn name(&self) -> &'static str {
        match self {
            DataSource::Gaussian { .. } => "gaussian",
            DataSource::FashionMnist { .. } => "fashion-mnist",
            DataSource::Cifar10 { .. } => "cifar10",
        }
    }

    /// Training points per seed.
    pub fn points(&self) -> usize {
        match *self {
            DataSource::Gaussian { n, .. } => n,
            DataSource::FashionMnist { train_size, .. }
            | DataSource::Cifar10 { train_size, .. } => train_size,
        }
    }

    /// Input dimension.
    pub fn input_dim(&self) -> usize {
        match *self {
            DataSource::Gaussian { input_dim, .. } => input_dim,
            DataSource::FashionMnist { pixels, .. } => pixels,
            DataSource::Cifar10 { .. } => cifar::SHAPE.iter().product(),
        }
    }

    /// Number of classes (2 for ±1 labels, 10 for the image sets).
    pub fn classes(&self) -> usize {
        match self {
            DataSource::Gaussian { .. } => 2,
            DataSource::FashionMnist { .. } | DataSource::Cifar10 { .. } => 10,
        }
    }

    /// Whether the points are images (an image set with noise), which a ConvNet can take.
    pub fn is_images(&self) -> bool {
        !matches!(self, DataSource::Gaussian { .. })
    }
}

/// The network a memorisation run prunes and trains (`--arch`). Serialised without a tag, by
/// its field names (an MLP as its `widths`, as before architectures were a choice), so that
/// result and shard files of earlier versions read as the same run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Arch {
    /// An MLP ([`Mlp`]) with widths `d, w, …, w, o`.
    Mlp {
        /// Widths `d, w, …, w, o`.
        widths: Vec<usize>,
    },
    /// Synaptic-Flow's ConvNet ([`Conv`]): `convolutions` 3 × 3 convolutions of `channels`
    /// channels on `image_shape` images, then one linear layer to `classes` outputs (the
    /// paper's "4-layer ConvNet" has 3 convolutions).
    Conv {
        /// Input shape `[C, H, W]`.
        image_shape: [usize; 3],
        /// Convolution layers (hidden layers; the weight layers are one more).
        convolutions: usize,
        /// Channels of every convolution.
        channels: usize,
        /// Outputs of the linear layer.
        classes: usize,
    },
}

impl Arch {
    /// The `--arch` name.
    pub fn name(&self) -> &'static str {
        match self {
            Arch::Mlp { .. } => "mlp",
            Arch::Conv { .. } => "conv",
        }
    }

    /// The MLP of `widths` with `loss`, checked.
    fn mlp(widths: &[usize], loss: Loss) -> Result<Mlp, ConfigError> {
        Mlp::new(widths, loss).map_err(|e| ConfigError(format!("widths {widths:?}: {e}")))
    }

    /// The ConvNet of these fields with `loss`, checked.
    fn conv(
        image_shape: [usize; 3],
        convolutions: usize,
        channels: usize,
        classes: usize,
        loss: Loss,
    ) -> Result<Conv, ConfigError> {
        Conv::new(image_shape, convolutions + 1, channels, classes, loss)
            .map_err(|e| ConfigError(format!("conv on {image_shape:?}: {e}")))
    }

    /// Checks that the network can be built for `loss` (sizes within the core's limits).
    pub fn check(&self, loss: Loss) -> Result<(), ConfigError> {
        self.shape(loss).map(|_| ())
    }

    /// Weights of each weight layer of the network, input to output.
    fn layer_sizes(&self, loss: Loss) -> Result<Vec<usize>, ConfigError> {
        fn of(model: &impl Model) -> Vec<usize> {
            model.weight_layers().iter().map(|l| l.len()).collect()
        }
        match self {
            Arch::Mlp { widths } => Ok(of(&Self::mlp(widths, loss)?)),
            &Arch::Conv {
                image_shape,
                convolutions,
                channels,
                classes,
            } => Ok(of(&Self::conv(
                image_shape,
                convolutions,
                channels,
                classes,
                loss,
            )?)),
        }
    }

    /// Input values per point, outputs, prunable weights, and workspace bytes per training
    /// point (`f32`) of the network.
    fn shape(&self, loss: Loss) -> Result<(usize, usize, usize, u128), ConfigError> {
        fn of(model: &impl Model) -> (usize, usize, usize, u128) {
            (
                model.input_len(),
                model.outputs(),
                model.weight_indices().len(),
                model.workspace_bytes::<T>(1),
            )
        }
        match self {
            Arch::Mlp { widths } => Ok(of(&Self::mlp(widths, loss)?)),
            &Arch::Conv {
                image_shape,
                convolutions,
                channels,
                classes,
            } => Ok(of(&Self::conv(
                image_shape,
                convolutions,
                channels,
                classes,
                loss,
            )?)),
        }
    }
}

/// A validated `peff memorize` configuration: everything that determines the table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemorizeConfig {
    /// The data.
    pub dataset: DataSource,
    /// The loss (`cross_entropy`: one output per class; `mse`: ±1 targets on one output for
    /// Gaussian data, one-hot targets for FashionMNIST).
    pub loss: Loss,
    /// The network.
    #[serde(flatten)]
    pub arch: Arch,
    /// The optimizer.
    pub optimizer: Optimizer,
    /// Minibatch size (`None`: full batch).
    pub batch_size: Option<usize>,
    /// Epoch cap.
    pub max_epochs: usize,
    /// When a training run stops before the cap.
    #[serde(flatten)]
    pub stop: StopRule,
    /// A point is memorised when its loss is below this ([`MEMORISED_LOSS`]).
    pub memorised_loss: f64,
    /// Methods, in table order.
    pub methods: Vec<Method>,
    /// IMP levels `j` of the rows (0 is the dense network), descending density.
    pub levels: Vec<usize>,
    /// Kept weights at each level (IMP's schedule; the same for every method).
    pub kept: Vec<usize>,
    /// IMP's per-level pruning rate.
    pub imp_rate: f64,
    /// SynFlow rounds.
    pub synflow_rounds: usize,
    /// GraSP's output temperature.
    pub grasp_temperature: f64,
    /// Kept fractions below which a layer trains on its sparse kernel
    /// ([`TrainConfig::sparse_below`]); never (dense) in files written before they existed.
    #[serde(default)]
    pub sparse_below: crate::model::sparse::SparseBelow,
    /// First seed.
    pub seed: u64,
    /// Number of seeds (`seed`, `seed + 1`, …).
    pub seeds: u64,
}

/// When a memorisation training run stops (besides the epoch cap). Serialised without a tag, by
/// its field names, so that files of earlier versions (which knew only the plateau rule) read
/// as the same run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StopRule {
    /// Fig. 1a (SPEC §7): every point memorised, or the epoch loss has not improved by the
    /// relative amount `plateau_rel` over `plateau_epochs` epochs ([`Plateau`]).
    Plateau {
        /// Plateau window (epochs).
        plateau_epochs: usize,
        /// Relative improvement that resets the plateau window.
        plateau_rel: f64,
    },
    /// Fig. 1b (App. B.1.1): "till convergence in loss to within 0.01 (or until accuracy doesn't
    /// change for three consecutive epochs)", read as: stop after epoch `e ≥ 2` when
    /// `|L_e − L_{e−1}| < converge_loss_delta` (the epoch losses PyTorch reports, each batch's
    /// loss taken before its step), or when the training accuracy measured after each epoch is
    /// the same for `converge_accuracy_epochs + 1` consecutive epochs (it did not change over
    /// `converge_accuracy_epochs` epoch boundaries). Never stops on memorisation alone.
    Converged {
        /// Loss change between consecutive epochs below which training has converged (0.01).
        converge_loss_delta: f64,
        /// Epoch boundaries without a change of training accuracy that stop training (3).
        converge_accuracy_epochs: usize,
    },
}

impl StopRule {
    /// SPEC §7's rule for Fig. 1a: 200 epochs without a 1 % improvement.
    pub const FIG1A: StopRule = StopRule::Plateau {
        plateau_epochs: 200,
        plateau_rel: 0.01,
    };
    /// The paper's rule for Fig. 1b (App. B.1.1): loss change below 0.01, or accuracy unchanged
    /// over three epochs.
    pub const PAPER: StopRule = StopRule::Converged {
        converge_loss_delta: 0.01,
        converge_accuracy_epochs: 3,
    };
}

/// Validation failure of a [`MemorizeConfig`] (the CLI checks flags first; this guards files).
#[derive(Debug, thiserror::Error)]
#[error("invalid memorize configuration: {0}")]
pub struct ConfigError(String);

impl MemorizeConfig {
    /// The paper's settings for `dataset` (Fig. 1a for Gaussian data, Fig. 1b for FashionMNIST,
    /// Fig. 1c for CIFAR-10), with peff's choices where the paper states none; every field can
    /// then be changed (the CLI's flags) and the result checked with [`Self::validate`].
    /// CIFAR-10 takes FashionMNIST's column but for the network: Synaptic-Flow's ConvNet of 3
    /// convolutions of 32 channels ([`Self::conv_arch`]; the paper's "4-layer ConvNet"); its
    /// noise is FashionMNIST's (the paper states none for Fig. 1c).
    ///
    /// | field | Gaussian (Fig. 1a) | FashionMNIST (Fig. 1b) | valid range |
    /// |---|---|---|---|
    /// | data | `n = 30`, `d = 30` (paper) | its points, variance-3 noise (paper) | `n ≥ 1` |
    /// | network | `30-100-100-2` ReLU MLP (paper) | `784-200-200-10` (paper) | widths ≥ 1 |
    /// | loss | cross-entropy (paper) | cross-entropy (paper) | CE or MSE |
    /// | optimizer | full-batch GD, lr 1e-2 (SPEC §7) | Adam 1e-3 (paper) | lr > 0, finite |
    /// | batch | full (SPEC §7) | 64, reshuffled per epoch (paper) | `1..=n` |
    /// | stop | [`StopRule::FIG1A`] (SPEC §7) | [`StopRule::PAPER`] (paper) | windows ≥ 1 |
    /// | epoch cap | 20,000 (SPEC §7) | 1,000 (peff) | ≥ 1 |
    /// | memorised | loss < ln 2 / 10 (paper) | same | > 0 |
    /// | densities | IMP levels 3, 6, …, 30 (`0.8^j`, SPEC §7) | same | levels of the schedule |
    /// | IMP rate | 0.2 (OpenLTH) | same | (0, 1) |
    /// | SynFlow rounds | 100 (Tanaka et al.) | same | ≥ 1 |
    /// | GraSP temperature | 200 for CE, 1 for MSE (Tanaka et al.'s code) | same | > 0 |
    /// | seeds | 250 from 0 (paper) | 10 from 0 (paper) | ≥ 1 |
    pub fn paper(dataset: DataSource) -> MemorizeConfig {
        let loss = Loss::CrossEntropy;
        let fashion = dataset.is_images();
        let width = if fashion { 200 } else { 100 };
        let arch = match dataset {
            DataSource::Cifar10 { .. } => Self::conv_arch(cifar::SHAPE, &dataset, 32, 3),
            _ => Arch::Mlp {
                widths: vec![dataset.input_dim(), width, width, dataset.classes()],
            },
        };
        let weights = arch.shape(loss).expect("the paper's network").2;
        let kept = DEFAULT_LEVELS
            .iter()
            .map(|&l| Self::kept_at(weights, Imp::DEFAULT_RATE, l))
            .collect();
        MemorizeConfig {
            dataset,
            loss,
            arch,
            optimizer: if fashion {
                Optimizer::adam(1e-3)
            } else {
                Optimizer::sgd(1e-2)
            },
            batch_size: fashion.then_some(64),
            max_epochs: if fashion { 1_000 } else { 20_000 },
            stop: if fashion {
                StopRule::PAPER
            } else {
                StopRule::FIG1A
            },
            memorised_loss: MEMORISED_LOSS,
            methods: Method::ALL.to_vec(),
            levels: DEFAULT_LEVELS.to_vec(),
            kept,
            imp_rate: Imp::DEFAULT_RATE,
            synflow_rounds: DEFAULT_SYNFLOW_ROUNDS,
            grasp_temperature: Grasp::default_temperature(loss),
            sparse_below: crate::model::sparse::SparseBelow::MEASURED,
            seed: 0,
            seeds: if fashion { 10 } else { 250 },
        }
    }

    /// The widths of an MLP with `depth` hidden layers of `width` units for this data and loss
    /// (one output for MSE on Gaussian ±1 labels, one per class otherwise).
    pub fn mlp_widths(dataset: &DataSource, loss: Loss, width: usize, depth: usize) -> Vec<usize> {
        let outputs = match (loss, dataset) {
            (Loss::Mse, DataSource::Gaussian { .. }) => 1,
            _ => dataset.classes(),
        };
        let mut widths = vec![dataset.input_dim()];
        widths.extend(std::iter::repeat_n(width, depth));
        widths.push(outputs);
        widths
    }

    /// The ConvNet of `convolutions` convolutions of `channels` channels on `image_shape` images
    /// of this data, one output per class.
    pub fn conv_arch(
        image_shape: [usize; 3],
        dataset: &DataSource,
        channels: usize,
        convolutions: usize,
    ) -> Arch {
        Arch::Conv {
            image_shape,
            convolutions,
            channels,
            classes: dataset.classes(),
        }
    }

    /// The default name of the result files: `memorize-<dataset>` for the paper's network of
    /// the data (the MLP for Gaussian points and FashionMNIST, the ConvNet for CIFAR-10), else
    /// `memorize-<arch>-<dataset>` (`memorize-conv-fashion-mnist`).
    pub fn default_name(&self) -> String {
        let paper_arch = Self::paper(self.dataset.clone()).arch;
        if std::mem::discriminant(&paper_arch) == std::mem::discriminant(&self.arch) {
            format!("memorize-{}", self.dataset.name())
        } else {
            format!("memorize-{}-{}", self.arch.name(), self.dataset.name())
        }
    }

    /// Whether `result` could come from this configuration: one cell per row, and every cell
    /// within its bounds (counts at most `n`, epochs at most the cap, `capped` only at the cap,
    /// a diverged cell empty).
    pub fn possible(&self, result: &SeedResult) -> bool {
        let n = self.dataset.points() as u32;
        let cap = self.max_epochs as u64;
        let cell_ok = |c: &Cell| {
            c.memorised <= n
                && c.correct.is_none_or(|k| k <= n)
                && u64::from(c.epochs) <= cap
                && (!c.capped || u64::from(c.epochs) == cap)
                && !(c.diverged && (c.memorised > 0 || c.capped))
        };
        let layers = self.layer_sizes();
        let layers_ok = result.layer_kept.as_ref().is_none_or(|per_cell| {
            per_cell.len() == result.cells.len()
                && per_cell.iter().all(|c| {
                    c.is_empty()
                        || (c.len() == layers.len()
                            && c.iter().zip(&layers).all(|(&k, &size)| k as usize <= size))
                })
        });
        layers_ok
            && result.cells.len() == self.methods.len() * self.kept.len()
            && std::iter::once(&result.dense)
                .chain(&result.cells)
                .all(cell_ok)
    }

    /// Weights of each weight layer, input to output.
    ///
    /// # Panics
    /// If the architecture does not fit the loss (a configuration that failed [`Self::validate`]).
    pub fn layer_sizes(&self) -> Vec<usize> {
        self.arch
            .layer_sizes(self.loss)
            .expect("validated architecture")
    }

    /// Number of prunable weights.
    ///
    /// # Panics
    /// As [`Self::layer_sizes`].
    pub fn num_weights(&self) -> usize {
        self.arch
            .shape(self.loss)
            .expect("validated architecture")
            .2
    }

    /// Bytes one seed holds while it runs (one per thread), estimated from above: the noisy
    /// training set (drawn in `f64`, then held twice in `f32`: the run's and the pruning
    /// adapter's copy, so 12 bytes a value at the peak), the workspaces of two trainers
    /// (minibatch or evaluation chunk of 256 rows, whichever is larger), the `f64` chunk of a
    /// pruning score's data pass (at most [`SCORE_WORKSPACE_BYTES`], and its widened inputs), the
    /// per-point outputs, and [`BYTES_PER_WEIGHT`] for each weight. The image set itself is
    /// shared by all seeds.
    ///
    /// # Panics
    /// If the architecture does not fit the loss (a configuration that failed [`Self::validate`]).
    pub fn memory_per_seed(&self) -> u128 {
        let (d, o, weights, per_row) = self.arch.shape(self.loss).expect("validated architecture");
        let (n, f32_bytes) = (self.dataset.points() as u128, size_of::<T>() as u128);
        let rows = self.batch_size.unwrap_or(self.dataset.points()).max(256) as u128;
        let score_rows = (SCORE_WORKSPACE_BYTES / (2 * per_row).max(1)).clamp(1, n);
        3 * n * d as u128 * f32_bytes
            + 2 * rows * per_row
            + score_rows * 2 * per_row
            + score_rows * d as u128 * 8
            + n * (o as u128 + 2) * f32_bytes
            + BYTES_PER_WEIGHT * weights as u128
    }

    /// Outputs of the network.
    fn outputs(&self) -> usize {
        self.arch
            .shape(self.loss)
            .expect("validated architecture")
            .1
    }

    /// Kept weights after `level` IMP levels at `rate` from `weights` (level 0: all).
    pub fn kept_at(weights: usize, rate: f64, level: usize) -> usize {
        let imp = Imp { rate };
        let mut kept = weights;
        for _ in 0..level {
            if kept <= 1 {
                break;
            }
            kept = imp.next_level(kept, 1);
        }
        kept
    }

    /// Checks internal consistency (shapes, levels and kept counts, ranges).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |s: String| Err(ConfigError(s));
        let outputs = match (self.loss, &self.dataset) {
            (Loss::Mse, DataSource::Gaussian { .. }) => 1,
            _ => self.dataset.classes(),
        };
        let (inputs, arch_outputs, _, _) = self.arch.shape(self.loss)?;
        let hidden_ok = match &self.arch {
            Arch::Mlp { widths } => widths.len() >= 3,
            Arch::Conv { convolutions, .. } => *convolutions >= 1 && self.dataset.is_images(),
        };
        if !hidden_ok || inputs != self.dataset.input_dim() || arch_outputs != outputs {
            return bad(format!(
                "{} {:?} does not fit the data ({} inputs, {outputs} outputs)",
                self.arch.name(),
                self.arch,
                self.dataset.input_dim()
            ));
        }
        if self.dataset.points() == 0 || self.seeds == 0 || self.max_epochs == 0 {
            return bad("zero points, seeds or epochs".into());
        }
        if self.seed.checked_add(self.seeds - 1).is_none() {
            return bad("seeds overflow".into());
        }
        if self.methods.is_empty() || self.levels.is_empty() || self.levels.len() != self.kept.len()
        {
            return bad("no methods or levels".into());
        }
        if !(self.imp_rate > 0.0 && self.imp_rate < 1.0) || self.synflow_rounds == 0 {
            return bad("IMP rate or SynFlow rounds".into());
        }
        let w = self.num_weights();
        let schedule = Imp {
            rate: self.imp_rate,
        }
        .schedule(w, 1);
        for (&level, &k) in self.levels.iter().zip(&self.kept) {
            if level > schedule.len() || k != Self::kept_at(w, self.imp_rate, level) {
                return bad(format!("level {level} does not keep {k} weights"));
            }
        }
        if self.levels.windows(2).any(|l| l[0] >= l[1]) {
            return bad("levels must increase".into());
        }
        let positive = |v: f64| v.is_finite() && v > 0.0;
        let stop_ok = match self.stop {
            StopRule::Plateau {
                plateau_epochs,
                plateau_rel,
            } => plateau_epochs > 0 && plateau_rel.is_finite() && plateau_rel >= 0.0,
            StopRule::Converged {
                converge_loss_delta,
                converge_accuracy_epochs,
            } => {
                converge_loss_delta.is_finite()
                    && converge_loss_delta >= 0.0
                    && converge_accuracy_epochs > 0
            }
        };
        if !stop_ok {
            return bad(format!("stopping rule {:?}", self.stop));
        }
        if !self.sparse_below.is_valid() {
            return bad(format!(
                "sparse_below {:?} outside [0, 1]",
                self.sparse_below
            ));
        }
        let rates_ok = positive(self.optimizer.lr())
            && positive(self.grasp_temperature)
            && positive(self.memorised_loss);
        if !rates_ok {
            return bad("non-positive rate, temperature or threshold".into());
        }
        if let DataSource::FashionMnist {
            train_size,
            noise_variance,
            images,
            ..
        }
        | DataSource::Cifar10 {
            train_size,
            noise_variance,
            images,
            ..
        } = self.dataset
        {
            if train_size > images || !(noise_variance.is_finite() && noise_variance >= 0.0) {
                return bad("train size or noise variance".into());
            }
        }
        Ok(())
    }
}

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

/// The sub-seeds of one seed (module docs).
struct SubSeeds {
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
const LOWER_DATA: &str = "lower `--train-size` (or `--n`/`--input-dim`) or `--threads`";

/// The training set of one seed, for `model`; its buffers are allocated fallibly.
fn dataset(
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
fn predicted(f: &[T], o: usize) -> impl Iterator<Item = usize> + '_ {
    f.chunks_exact(o).map(move |row| {
        if o == 1 {
            usize::from(row[0] > 0.0)
        } else {
            (1..o).fold(0, |best, k| if row[k] > row[best] { k } else { best })
        }
    })
}

/// The training set of one seed with the class of each point (for the accuracy).
struct Labelled {
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
struct Rule {
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
fn bool_mask_key(keep: &[bool]) -> Vec<u64> {
    let mask: Vec<T> = keep
        .iter()
        .map(|&k| if k { T::ONE } else { T::ZERO })
        .collect();
    mask_key(Some(&mask))
}

/// A cache key: the kept parameters as bits, or empty for the dense network.
fn mask_key(mask: Option<&[T]>) -> Vec<u64> {
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

static NEVER_STOP: AtomicBool = AtomicBool::new(false);

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
struct SeedRun<'a> {
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
fn layer_counts(results: &[SeedResult], at: usize) -> Option<Vec<&[u32]>> {
    results
        .iter()
        .map(|r| r.layer_kept.as_ref().map(|l| l[at].as_slice()))
        .collect::<Option<Vec<_>>>()
        .map(|counts| counts.into_iter().filter(|c| !c.is_empty()).collect())
}

/// Mean and standard error (sample sd / √m) of `values`; `None` if empty, and the standard
/// error `None` for one value (one seed has no spread to estimate; 0 would claim none).
fn mean_se(values: &[f64]) -> (Option<f64>, Option<f64>) {
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

fn row(
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
fn layer_summary(config: &MemorizeConfig, results: &[SeedResult]) -> serde_json::Value {
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

#[cfg(test)]
mod tests {
    use super::*;

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
