//! The configuration of a memorisation run: the data (Gaussian points, FashionMNIST or
//! CIFAR-10 images), the network, the training protocol and stopping rule, the methods and the
//! density grid; the paper's defaults per dataset ([`MemorizeConfig::paper`]), validation, and
//! the memory one seed holds.

use serde::{Deserialize, Serialize};

use crate::data::cifar;
use crate::model::conv::Conv;
use crate::model::mlp::Mlp;
use crate::model::networks::SCORE_WORKSPACE_BYTES;
use crate::model::{Loss, Model, Optimizer};
use crate::prune::{Grasp, Imp, Method};

use super::*;

/// The precision training runs in.
pub(super) type T = f32;

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
    /// `n` points `x ~ N(0, I_d)` with random ±1 labels ([`GaussianData`](crate::data::gaussian::GaussianData)).
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
    pub(super) fn mlp(widths: &[usize], loss: Loss) -> Result<Mlp, ConfigError> {
        Mlp::new(widths, loss).map_err(|e| ConfigError(format!("widths {widths:?}: {e}")))
    }

    /// The ConvNet of these fields with `loss`, checked.
    pub(super) fn conv(
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

    /// The sizes of the network built for `loss` (checked).
    fn shape(&self, loss: Loss) -> Result<Shape, ConfigError> {
        fn of(model: &impl Model) -> Shape {
            Shape {
                input_len: model.input_len(),
                outputs: model.outputs(),
                weights: model.weight_indices().len(),
                layers: model.weight_layers().iter().map(|l| l.len()).collect(),
                bytes_per_point: model.workspace_bytes::<T>(1),
            }
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

/// The sizes of a network that the configuration's checks and memory estimate read.
struct Shape {
    /// Input values per point.
    input_len: usize,
    /// Outputs per point.
    outputs: usize,
    /// Prunable weights.
    weights: usize,
    /// Weights of each weight layer, input to output.
    layers: Vec<usize>,
    /// Workspace bytes per training point (`f32`).
    bytes_per_point: u128,
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
    /// ([`TrainConfig::sparse_below`](crate::model::TrainConfig::sparse_below)); never (dense) in files written before they existed.
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
    /// relative amount `plateau_rel` over `plateau_epochs` epochs ([`Plateau`](crate::model::Plateau)).
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
        let weights = arch.shape(loss).expect("the paper's network").weights;
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
            .shape(self.loss)
            .expect("validated architecture")
            .layers
    }

    /// Number of prunable weights.
    ///
    /// # Panics
    /// As [`Self::layer_sizes`].
    pub fn num_weights(&self) -> usize {
        self.arch
            .shape(self.loss)
            .expect("validated architecture")
            .weights
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
        let Shape {
            input_len: d,
            outputs: o,
            weights,
            bytes_per_point: per_row,
            ..
        } = self.arch.shape(self.loss).expect("validated architecture");
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
    pub(super) fn outputs(&self) -> usize {
        self.arch
            .shape(self.loss)
            .expect("validated architecture")
            .outputs
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
        let Shape {
            input_len: inputs,
            outputs: arch_outputs,
            ..
        } = self.arch.shape(self.loss)?;
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
