//! `peff memorize`: memorisation capacity of pruned networks (the paper's Fig. 1a on Gaussian
//! data, Fig. 1b on noisy FashionMNIST with an MLP, Fig. 1c with a ConvNet on noisy CIFAR-10 or
//! FashionMNIST); the engine is [`crate::experiments::memorize`].
//!
//! Validates every flag into a [`MemorizeConfig`], runs the seeds (or one `--shard i/N` of them)
//! in parallel, and writes `results/memorize-<dataset>.{csv,json}` (or a shard file for
//! `peff merge`).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};

use super::args::{
    split_list, CheckpointArgs, OutputArgs, PruneArgs, ShardArgs, SparseArgs, ThreadsArgs,
};
use super::common::{merged, Destination, ShardInput, VerifyRequest};
use super::errors::quote;
use crate::data::cifar::load_cifar10_images;
use crate::data::idx::{load_fashion_mnist_train, DataFile, DEBIAN_FASHION_MNIST_DIR};
use crate::data::images::ImageSet;
use crate::experiments::memorize::{
    self, Arch, DataSource, MemorizeConfig, MemorizeSeeds, SeedProfile, StopRule,
    DEFAULT_FASHION_TRAIN_SIZE, DEFAULT_LEVELS,
};
use crate::model::{Loss, Optimizer};
use crate::prune::Imp;
use crate::record::{ResultFile, RunRecord, Shard, Threads};

/// Which data `peff memorize` memorises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DatasetArg {
    /// `n` points `x ~ N(0, I_d)` with random ±1 labels (Fig. 1a).
    Gaussian,
    /// FashionMNIST training images with Gaussian noise of variance 3, true labels (Fig. 1b).
    FashionMnist,
    /// CIFAR-10 training images (binary version) with Gaussian noise of variance 3, true labels
    /// (Fig. 1c).
    Cifar10,
}

impl DatasetArg {
    fn name(self) -> &'static str {
        match self {
            DatasetArg::Gaussian => "gaussian",
            DatasetArg::FashionMnist => "fashion-mnist",
            DatasetArg::Cifar10 => "cifar10",
        }
    }
}

/// `--arch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ArchArg {
    /// ReLU MLP: `--depth` hidden layers of `--width` units.
    Mlp,
    /// Synaptic-Flow's ConvNet: `--depth` 3 × 3 convolutions of `--channels` channels (padding
    /// 1, ReLU, no pooling), then one linear layer.
    Conv,
}

/// `--loss`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LossArg {
    /// Softmax cross-entropy (one output per class).
    CrossEntropy,
    /// Mean squared error on ±1 targets (Gaussian) or one-hot targets (FashionMNIST).
    Mse,
}

/// `--stop`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StopArg {
    /// Every point memorised, or no 1 % loss improvement over `--patience` epochs (Fig. 1a).
    Plateau,
    /// The paper's Fig. 1b rule: loss converged to within `--converge-delta`, or train accuracy
    /// unchanged over `--converge-epochs` epochs.
    Converged,
}

/// `--optimizer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OptimizerArg {
    /// Gradient descent (full batch unless `--batch-size`).
    Gd,
    /// Adam (β = 0.9, 0.999, ε = 1e-8).
    Adam,
}

/// Flags of `peff memorize`.
#[derive(Debug, Args, Clone)]
pub struct MemorizeArgs {
    /// The data: gaussian (Fig. 1a), fashion-mnist (Fig. 1b) or cifar10 (Fig. 1c).
    #[arg(long, allow_hyphen_values = true, value_enum, default_value_t = DatasetArg::Gaussian)]
    pub dataset: DatasetArg,
    /// The network [default: mlp; conv for cifar10].
    #[arg(long, allow_hyphen_values = true, value_enum)]
    pub arch: Option<ArchArg>,
    /// Images: the directory of the training files. fashion-mnist: train-images-idx3-ubyte and
    /// train-labels-idx1-ubyte (raw or .gz) [default: /usr/share/datasets/fashion-mnist,
    /// Debian's dataset-fashion-mnist]; cifar10: data_batch_1.bin … data_batch_5.bin (the
    /// cifar-10-batches-bin directory of the binary version; no default).
    #[arg(long, allow_hyphen_values = true)]
    pub data: Option<PathBuf>,
    /// Images: training points per seed, a random subset drawn per seed (up to the 60,000 or
    /// 50,000 the files hold) [default: 2000].
    #[arg(long, allow_hyphen_values = true)]
    pub train_size: Option<i64>,
    /// Images: variance of the Gaussian noise added to the pixels (scaled to [0, 1])
    /// [default: 3].
    #[arg(long, allow_hyphen_values = true)]
    pub noise_variance: Option<f64>,
    /// Number of seeds (networks and datasets) [default: 250 gaussian, 10 fashion-mnist and cifar10].
    #[arg(long, allow_hyphen_values = true)]
    pub seeds: Option<i64>,
    /// First seed (seeds run from it upwards).
    #[arg(long, allow_hyphen_values = true, default_value_t = 0)]
    pub seed: u64,
    /// Training loss.
    #[arg(long, allow_hyphen_values = true, value_enum, default_value_t = LossArg::CrossEntropy)]
    pub loss: LossArg,
    /// Optimizer [default: gd for gaussian, adam for fashion-mnist and cifar10].
    #[arg(long, allow_hyphen_values = true, value_enum)]
    pub optimizer: Option<OptimizerArg>,
    /// Learning rate [default: 1e-2 gaussian, 1e-3 fashion-mnist and cifar10].
    #[arg(long, allow_hyphen_values = true)]
    pub lr: Option<f64>,
    /// Minibatch size, reshuffled every epoch [default: full batch gaussian, 64 fashion-mnist
    /// and cifar10].
    #[arg(long, allow_hyphen_values = true)]
    pub batch_size: Option<i64>,
    /// MLP: hidden width [default: 100 gaussian, 200 fashion-mnist and cifar10].
    #[arg(long, allow_hyphen_values = true)]
    pub width: Option<i64>,
    /// ConvNet: channels of every convolution [default: 32].
    #[arg(long, allow_hyphen_values = true)]
    pub channels: Option<i64>,
    /// Hidden layers: the MLP's hidden layers, the ConvNet's convolutions [default: 2 mlp, 3
    /// conv (the paper's "4-layer ConvNet": 3 convolutions and the linear layer)].
    #[arg(long, allow_hyphen_values = true)]
    pub depth: Option<i64>,
    /// Gaussian: training points n [default: 30].
    #[arg(long, allow_hyphen_values = true)]
    pub n: Option<i64>,
    /// Gaussian: input dimension d [default: 30].
    #[arg(long, allow_hyphen_values = true)]
    pub input_dim: Option<i64>,
    /// Epoch cap of every training run [default: 20000 gaussian, 1000 fashion-mnist and
    /// cifar10].
    #[arg(long, allow_hyphen_values = true)]
    pub max_epochs: Option<i64>,
    /// When a run stops before the cap: plateau (every point memorised, or no 1 % loss
    /// improvement over `--patience` epochs; Fig. 1a) or converged (the paper's Fig. 1b rule:
    /// epoch loss changed by less than `--converge-delta`, or train accuracy unchanged over
    /// `--converge-epochs` epochs) [default: plateau gaussian, converged fashion-mnist and
    /// cifar10].
    #[arg(long, allow_hyphen_values = true, value_enum)]
    pub stop: Option<StopArg>,
    /// `--stop plateau`: the window in epochs [default: 200].
    #[arg(long, allow_hyphen_values = true)]
    pub patience: Option<i64>,
    /// `--stop converged`: the loss change between consecutive epochs that counts as converged
    /// [default: 0.01].
    #[arg(long, allow_hyphen_values = true)]
    pub converge_delta: Option<f64>,
    /// `--stop converged`: epochs without a change of train accuracy that stop a run
    /// [default: 3].
    #[arg(long, allow_hyphen_values = true)]
    pub converge_epochs: Option<i64>,
    /// The pruning methods and their settings.
    #[command(flatten)]
    pub prune: PruneArgs,
    /// Comma-separated densities in (0, 1], each moved to the nearest IMP level
    /// (default: 0.8^j, j = 3, 6, …, 30).
    #[arg(long, allow_hyphen_values = true)]
    pub densities: Option<String>,
    /// Worker threads (seeds run in parallel, one network per thread).
    #[command(flatten)]
    pub threads: ThreadsArgs,
    /// Where the results go.
    #[command(flatten)]
    pub output: OutputArgs,
    /// The slice of the seeds to compute.
    #[command(flatten)]
    pub shard: ShardArgs,
    /// Checkpointing of finished work (within a seed: the dense run, each row, IMP's levels).
    #[command(flatten)]
    pub checkpoint: CheckpointArgs,
    /// Sparse kernels for pruned layers.
    #[command(flatten)]
    pub sparse: SparseArgs,
    /// Print where one seed's time goes (dense run, each method) to stderr, per seed.
    #[arg(long)]
    pub profile: bool,
}

/// Most training points per seed.
const MAX_POINTS: i64 = 1_000_000;

fn in_range(flag: &str, value: i64, lo: i64, hi: i64) -> anyhow::Result<usize> {
    if value < lo || value > hi {
        bail!("`{flag}` must be in [{lo}, {hi}], got {value}");
    }
    Ok(value as usize)
}

/// IMP levels per seed above which a run is warned about (each level is a training run; the
/// default rate needs 30).
const IMP_LEVELS_WARNED: usize = 1_000;
/// IMP levels per seed above which a run is refused.
const IMP_LEVELS_REFUSED: usize = 100_000;

/// IMP's depth per seed (its deepest level; each level a training run): refused past
/// [`IMP_LEVELS_REFUSED`], a warning past [`IMP_LEVELS_WARNED`] when IMP runs.
fn imp_depth(config: &MemorizeConfig) -> anyhow::Result<Option<String>> {
    let deepest = config.levels.iter().copied().max().unwrap_or(0);
    if deepest > IMP_LEVELS_REFUSED {
        bail!(
            "`--imp-rate` {} would make IMP train {deepest} levels per seed to reach the sparsest density; at most {IMP_LEVELS_REFUSED} (raise the rate or give `--densities`)",
            config.imp_rate
        );
    }
    let imp = config.methods.contains(&crate::prune::Method::Imp);
    Ok((deepest > IMP_LEVELS_WARNED && imp).then(|| {
        format!(
            "warning: `--imp-rate` {} makes IMP train {deepest} levels per seed (a full training run each) to reach the sparsest density",
            config.imp_rate
        )
    }))
}

/// The IMP levels at `rate` nearest (in log density) to each requested density, descending
/// density. Without `--densities`: [`DEFAULT_LEVELS`] at the default rate, else the levels
/// nearest to their densities `0.8^j` (those above the sparsest level).
fn levels_for(list: Option<&str>, weights: usize, rate: f64) -> anyhow::Result<Vec<usize>> {
    let schedule = Imp { rate }.schedule(weights, 1);
    let lowest = *schedule.last().unwrap_or(&weights) as f64 / weights as f64;
    // The level whose density is nearest to `d` in log density (the earlier on a tie): the
    // schedule descends, so only the two levels around `d` are candidates.
    let nearest = |d: f64| {
        let kept_at = |level: usize| {
            if level == 0 {
                weights
            } else {
                schedule[level - 1]
            }
        };
        let dist = |level: usize| ((kept_at(level) as f64 / weights as f64).ln() - d.ln()).abs();
        let below = schedule.partition_point(|&k| k as f64 / weights as f64 >= d);
        [below, below + 1]
            .into_iter()
            .filter(|&level| level <= schedule.len())
            .min_by(|&a, &b| dist(a).total_cmp(&dist(b)))
            .unwrap_or(0)
    };
    let mut levels = Vec::new();
    match list {
        None if rate.to_bits() == Imp::DEFAULT_RATE.to_bits() => {
            // A small network's IMP schedule ends before the default's sparsest level: keep the
            // default levels it reaches, and say which were left out.
            let reached: Vec<usize> = DEFAULT_LEVELS
                .iter()
                .copied()
                .filter(|&j| j <= schedule.len())
                .collect();
            if reached.is_empty() {
                bail!("the network has {weights} weights: IMP at rate {rate} reaches no default level (the first is {}); give `--densities` or a wider network", DEFAULT_LEVELS[0]);
            }
            if reached.len() < DEFAULT_LEVELS.len() {
                eprintln!(
                    "note: the network's {weights} weights reach IMP level {} (density {lowest:.3e}) at the sparsest; the default densities below it are left out",
                    schedule.len()
                );
            }
            return Ok(reached);
        }
        None => {
            for j in DEFAULT_LEVELS {
                let d = (1.0 - Imp::DEFAULT_RATE).powi(j as i32);
                if d >= lowest / 1.25 && !levels.contains(&nearest(d)) {
                    levels.push(nearest(d));
                }
            }
        }
        Some(list) => {
            let mut given: Vec<(usize, &str)> = Vec::new();
            for item in split_list("--densities", list)? {
                let d: f64 = item
                    .parse()
                    .map_err(|_| anyhow::anyhow!("`--densities`: not a number: {}", quote(item)))?;
                if !(d.is_finite() && d > 0.0 && d <= 1.0) {
                    bail!("`--densities` must be in (0, 1], got {}", quote(item));
                }
                if d < lowest / 1.25 {
                    bail!(
                        "`--densities` {} is below the sparsest IMP level of {weights} weights (density {lowest:.3e})",
                        quote(item)
                    );
                }
                let level = nearest(d);
                if let Some((_, first)) = given.iter().find(|(l, _)| *l == level) {
                    let kept = if level == 0 {
                        weights
                    } else {
                        schedule[level - 1]
                    };
                    bail!(
                        "`--densities` {} and {} both map to IMP level {level} (density {:.6}); give each level once",
                        quote(first),
                        quote(item),
                        kept as f64 / weights as f64
                    );
                }
                given.push((level, item));
                levels.push(level);
            }
        }
    }
    levels.sort_unstable();
    Ok(levels)
}

impl MemorizeArgs {
    /// Validates every flag (and refuses the flags of the other dataset or network); loads the
    /// image files for `--dataset fashion-mnist` and `cifar10`. Starts from
    /// [`MemorizeConfig::paper`] and changes what the flags say.
    pub fn validate(&self) -> anyhow::Result<(MemorizeConfig, Option<ImageSet>, usize)> {
        let images_data = self.dataset != DatasetArg::Gaussian;
        let arch = self.arch.unwrap_or(match self.dataset {
            DatasetArg::Cifar10 => ArchArg::Conv,
            _ => ArchArg::Mlp,
        });
        let not_applying: &[(&str, bool)] = if images_data {
            &[
                ("--n", self.n.is_some()),
                ("--input-dim", self.input_dim.is_some()),
            ]
        } else {
            &[
                ("--data", self.data.is_some()),
                ("--train-size", self.train_size.is_some()),
                ("--noise-variance", self.noise_variance.is_some()),
            ]
        };
        if let Some((flag, _)) = not_applying.iter().find(|(_, given)| *given) {
            bail!(
                "`{flag}` does not apply to `--dataset {}`",
                self.dataset.name()
            );
        }
        let other_arch = match arch {
            ArchArg::Mlp => ("--channels", "mlp", self.channels.is_some()),
            ArchArg::Conv => ("--width", "conv", self.width.is_some()),
        };
        if other_arch.2 {
            bail!(
                "`{}` does not apply to `--arch {}`",
                other_arch.0,
                other_arch.1
            );
        }
        if arch == ArchArg::Conv && !images_data {
            bail!("`--arch conv` needs images: `--dataset fashion-mnist` or `--dataset cifar10`");
        }
        let depth = in_range(
            "--depth",
            self.depth
                .unwrap_or(if arch == ArchArg::Conv { 3 } else { 2 }),
            1,
            100,
        )?;
        if let Some(seeds) = self.seeds {
            in_range("--seeds", seeds, 1, 100_000_000)?;
        }
        if let Some(lr) = self.lr {
            // Training runs in f32: a rate that rounds to 0 (or overflows) there trains nothing.
            if !(lr.is_finite() && lr > 0.0 && (lr as f32) > 0.0 && (lr as f32).is_finite()) {
                bail!("`--lr` must be a finite number > 0 in single precision (1.4e-45 to 3.4e38), got {lr}");
            }
        }
        let threads = self.threads.validate()?;
        let loss = match self.loss {
            LossArg::CrossEntropy => Loss::CrossEntropy,
            LossArg::Mse => Loss::Mse,
        };
        let prune = self.prune.validate(loss == Loss::CrossEntropy)?;
        let (dataset, images) = if images_data {
            let noise_variance = self.noise_variance.unwrap_or(3.0);
            // Noisy pixels must stay finite in the f32 the network trains in (and far below
            // where they would not): refuse variances no experiment needs.
            if !(noise_variance.is_finite() && (0.0..=1e12).contains(&noise_variance)) {
                bail!("`--noise-variance` must be in [0, 1e12], got {noise_variance}");
            }
            let requested = self.train_size.unwrap_or(DEFAULT_FASHION_TRAIN_SIZE as i64);
            in_range("--train-size", requested, 1, MAX_POINTS)?;
            let images = load_images(self.dataset, self.data.as_deref())?;
            let count = images.count();
            let train_size = in_range("--train-size", requested, 1, count as i64)
                .with_context(|| format!("the training files hold {count} images"))?;
            let source = if self.dataset == DatasetArg::Cifar10 {
                DataSource::Cifar10 {
                    train_size,
                    noise_variance,
                    images: count,
                    data_sha256: images.sha256(),
                }
            } else {
                DataSource::FashionMnist {
                    train_size,
                    noise_variance,
                    images: count,
                    pixels: images.pixels_per_image(),
                    data_sha256: images.sha256(),
                }
            };
            (source, Some(images))
        } else {
            let n = in_range("--n", self.n.unwrap_or(30), 1, MAX_POINTS)?;
            let input_dim = in_range("--input-dim", self.input_dim.unwrap_or(30), 1, 1_000_000)?;
            (DataSource::Gaussian { n, input_dim }, None)
        };
        let mut config = MemorizeConfig::paper(dataset);
        config.loss = loss;
        config.methods = prune.methods;
        config.imp_rate = prune.imp_rate;
        config.synflow_rounds = prune.synflow_rounds;
        config.grasp_temperature = prune.grasp_temperature;
        config.sparse_below = self.sparse.validate()?;
        if let Some(seeds) = self.seeds {
            config.seeds = seeds as u64;
        }
        config.seed = self.seed;
        if self.seed.checked_add(config.seeds - 1).is_none() {
            bail!(
                "`--seed` {} + `--seeds` {} exceeds the largest seed",
                self.seed,
                config.seeds
            );
        }
        let lr = self.lr.unwrap_or(config.optimizer.lr());
        config.optimizer = match self.optimizer {
            None => match config.optimizer {
                Optimizer::Sgd { .. } => Optimizer::sgd(lr),
                Optimizer::Adam { .. } => Optimizer::adam(lr),
            },
            Some(OptimizerArg::Gd) => Optimizer::sgd(lr),
            Some(OptimizerArg::Adam) => Optimizer::adam(lr),
        };
        let points = config.dataset.points() as i64;
        if let Some(b) = self.batch_size {
            let b = in_range("--batch-size", b, 1, points)
                .with_context(|| format!("a batch holds at most the {points} training points"))?;
            config.batch_size = Some(b);
        }
        if let Some(cap) = self.max_epochs {
            config.max_epochs = in_range("--max-epochs", cap, 1, 100_000_000)?;
        }
        let stop = self.stop.unwrap_or(match config.stop {
            StopRule::Plateau { .. } => StopArg::Plateau,
            StopRule::Converged { .. } => StopArg::Converged,
        });
        config.stop = match stop {
            StopArg::Plateau => {
                if self.converge_delta.is_some() || self.converge_epochs.is_some() {
                    bail!(
                        "`--converge-delta` and `--converge-epochs` apply only to `--stop converged`"
                    );
                }
                let window = self.patience.unwrap_or(200);
                StopRule::Plateau {
                    plateau_epochs: in_range("--patience", window, 1, 100_000_000)?,
                    plateau_rel: 0.01,
                }
            }
            StopArg::Converged => {
                if self.patience.is_some() {
                    bail!("`--patience` applies only to `--stop plateau`");
                }
                let delta = self.converge_delta.unwrap_or(0.01);
                if !(delta.is_finite() && delta >= 0.0) {
                    bail!("`--converge-delta` must be a finite number ≥ 0, got {delta}");
                }
                let epochs = self.converge_epochs.unwrap_or(3);
                StopRule::Converged {
                    converge_loss_delta: delta,
                    converge_accuracy_epochs: in_range(
                        "--converge-epochs",
                        epochs,
                        1,
                        100_000_000,
                    )?,
                }
            }
        };
        config.arch = match arch {
            ArchArg::Mlp => {
                let width = match self.width {
                    Some(w) => in_range("--width", w, 1, 100_000)?,
                    None => match config.dataset {
                        DataSource::Gaussian { .. } => 100,
                        _ => 200,
                    },
                };
                let widths = MemorizeConfig::mlp_widths(&config.dataset, loss, width, depth);
                let weights: usize = widths.windows(2).map(|w| w[0] * w[1]).sum();
                if weights > 200_000_000 {
                    bail!(
                        "`--width` {width} and `--depth` {depth} give {weights} weights, more than 2·10^8"
                    );
                }
                Arch::Mlp { widths }
            }
            ArchArg::Conv => {
                let channels = in_range("--channels", self.channels.unwrap_or(32), 1, 4096)?;
                let shape = images.as_ref().expect("images are loaded").shape;
                let arch = MemorizeConfig::conv_arch(shape, &config.dataset, channels, depth);
                if let Err(e) = arch.check(loss) {
                    bail!("`--arch conv` with `--depth` {depth} and `--channels` {channels}: {e}");
                }
                arch
            }
        };
        let weights = config.num_weights();
        config.levels = levels_for(self.densities.as_deref(), weights, config.imp_rate)?;
        if let Some(warning) = imp_depth(&config)? {
            eprintln!("{warning}");
        }
        config.kept = config
            .levels
            .iter()
            .map(|&l| MemorizeConfig::kept_at(weights, config.imp_rate, l))
            .collect();
        config.validate()?;
        check_memory(&config, images.as_ref(), threads)?;
        Ok((config, images, threads))
    }
}

/// The training images of `dataset` from `dir` (FashionMNIST: Debian's directory by default).
fn load_images(dataset: DatasetArg, dir: Option<&std::path::Path>) -> anyhow::Result<ImageSet> {
    if dataset == DatasetArg::Cifar10 {
        let Some(dir) = dir else {
            bail!(
                "`--dataset cifar10` needs `--data DIR`: the cifar-10-batches-bin directory of \
                 cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html"
            );
        };
        return load_cifar10_images(dir).context("`--data`");
    }
    let dir = match dir {
        Some(dir) => dir.to_path_buf(),
        None => {
            let debian = PathBuf::from(DEBIAN_FASHION_MNIST_DIR);
            if !debian.is_dir() {
                bail!(
                    "no FashionMNIST files: install Debian's dataset-fashion-mnist package \
                     (it puts them in {DEBIAN_FASHION_MNIST_DIR}), or download \
                     train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz from the \
                     data/fashion directory of github.com/zalandoresearch/fashion-mnist \
                     and give their directory as `--data DIR`"
                );
            }
            debian
        }
    };
    Ok(load_fashion_mnist_train(&dir).context("`--data`")?.into())
}

/// Refuses a run whose estimate — the image set, plus [`MemorizeConfig::memory_per_seed`]
/// for each of the seeds that run at once (one per thread) — exceeds the memory this process
/// may use ([`super::common::check_memory`]); `peff verify` applies it too.
fn check_memory(
    config: &MemorizeConfig,
    images: Option<&ImageSet>,
    threads: usize,
) -> anyhow::Result<()> {
    let per_seed = config.memory_per_seed();
    let shared = images.map_or(0, |set| (set.pixels.len() + set.labels.len()) as u128);
    let parallel = (threads as u128).clamp(1, u128::from(config.seeds).max(1));
    let human = crate::memory::human_bytes;
    super::common::check_memory(
        shared + parallel * per_seed,
        &format!(
            "{} per seed × {parallel} threads{}",
            human(per_seed),
            if shared > 0 {
                format!(" + {} of images", human(shared))
            } else {
                String::new()
            }
        ),
        "`--train-size`, `--n`/`--input-dim`, the network's size (`--width`, `--depth`, `--channels`) or `--threads`",
    )
}

/// `peff memorize`.
pub fn run(args: &MemorizeArgs) -> anyhow::Result<()> {
    let shard = args.shard.validate()?;
    let (config, images, threads) = args.validate()?;
    let output = &args.output;
    let dest = Destination::of(output, || Ok(config.default_name()))?;
    let run = RunRecord {
        command: "memorize".to_string(),
        config: config.clone(),
        shard,
    };
    let range = shard.unwrap_or(Shard::WHOLE).range(config.seeds);
    let checkpoint = args.checkpoint.validate()?;
    if checkpoint.is_some() && args.profile {
        bail!("`--profile` times seeds one by one and keeps no checkpoint; leave out `--checkpoint` or `--profile`");
    }
    let checkpoint_path = checkpoint.as_ref().map(|cp| ("`--checkpoint`", cp.path()));
    let shard_path = dest.check_before_work(shard, &run, checkpoint_path.as_slice())?;
    let experiment = memorize::MemorizeRun {
        record: &run,
        images: images.as_ref(),
    };
    let on_stop =
        "stopping: the trainings in progress end at their next epoch, finished ones are kept…";
    let (results, started) = if args.profile {
        let started = Instant::now();
        super::signals::announce(on_stop);
        let stop = super::signals::install();
        let mut results = Vec::new();
        for i in range.clone() {
            let mut profile = SeedProfile::default();
            let t = Instant::now();
            let hooks = memorize::SeedHooks {
                stop,
                on_progress: &|_| {},
            };
            let seed = config.seed + i;
            let Some(r) = memorize::run_seed(
                &config,
                images.as_ref(),
                seed,
                Some(&mut profile),
                None,
                hooks,
            )?
            else {
                return Err(crate::experiments::pipeline::checkpoint::interrupted(None));
            };
            print_profile(&config, &r, &profile, t.elapsed().as_secs_f64());
            results.push(r);
        }
        (results, started)
    } else {
        let finished = super::drive::execute(&experiment, threads, checkpoint.as_ref(), on_stop)?;
        (finished.output, finished.started)
    };
    if let Some(path) = shard_path {
        return super::drive::write_shard(&path, &run, MemorizeSeeds::new(range, results));
    }
    let files = images.as_ref().map(|set| set.files.clone());
    finish(&dest, &run, &results, Threads::Ran(threads), files, started)
}

/// Writes the table of a whole run (`<stem>.csv`, `<stem>.json`) and prints it.
/// Writes and prints the table of a whole run; `files` are the data files read (their paths and
/// SHA-256), recorded in the summary as `data_files`.
fn finish(
    dest: &Destination<'_>,
    run: &RunRecord<MemorizeConfig>,
    results: &[memorize::SeedResult],
    threads: Threads,
    files: Option<Vec<DataFile>>,
    started: Instant,
) -> anyhow::Result<()> {
    let rows = memorize::rows(&run.config, results);
    let unscored = non_finite_scores(&run.config, results);
    let diverged: u64 = rows
        .iter()
        .map(|r| r.diverged)
        .sum::<u64>()
        .saturating_sub(unscored.iter().map(|(_, n)| n).sum::<u64>());
    let levels = run.config.kept.len() as u64;
    for (method, count) in &unscored {
        super::common::warn_non_finite_scores(
            method.name(),
            *count,
            levels * results.len() as u64,
            "masks (seeds × densities)",
        );
    }
    if diverged > 0 {
        eprintln!(
            "warning: {diverged} of {} training runs diverged (NaN/∞ loss); they are counted in \
             `diverged` and left out of the means",
            rows.len() as u64 * run.config.seeds
        );
    }
    let mut file = ResultFile::new(run, threads, started.elapsed().as_secs_f64(), &rows);
    let mut summary = memorize::summary(&run.config, results);
    if let Some(files) = files {
        summary["data_files"] = serde_json::to_value(files)?;
    }
    file.summary = Some(summary);
    dest.emit(file)
}

/// Per method that scores the initial network (SynFlow, SNIP, GraSP), the cells without a
/// mask because its scores were not all finite (counted in `diverged`, but no training
/// diverged there); methods without such cells are left out. Results from before the kept
/// weights were recorded tell nothing, and count none.
fn non_finite_scores(
    config: &MemorizeConfig,
    results: &[memorize::SeedResult],
) -> Vec<(crate::prune::Method, u64)> {
    let levels = config.kept.len();
    let mut out = Vec::new();
    for (m, &method) in config.methods.iter().enumerate() {
        if !super::common::scores_at_init(method.name()) {
            continue;
        }
        let count = results
            .iter()
            .filter_map(|r| Some((r, r.layer_kept.as_ref()?)))
            .flat_map(|(r, kept)| {
                (m * levels..(m + 1) * levels).filter(move |&i| {
                    r.cells[i].diverged && kept.get(i).is_some_and(|k| k.is_empty())
                })
            })
            .count() as u64;
        if count > 0 {
            out.push((method, count));
        }
    }
    out
}

/// The FashionMNIST files of a merged run: those in Debian's directory when they hold exactly
/// the data the shards recorded (`data_sha256`), else none (the merge reads no `--data`).
fn default_data_files(config: &MemorizeConfig) -> Option<Vec<DataFile>> {
    let DataSource::FashionMnist {
        data_sha256: want, ..
    } = &config.dataset
    else {
        return None;
    };
    let set: ImageSet = load_fashion_mnist_train(std::path::Path::new(DEBIAN_FASHION_MNIST_DIR))
        .ok()?
        .into();
    (set.sha256() == *want).then_some(set.files)
}

fn print_profile(config: &MemorizeConfig, r: &memorize::SeedResult, p: &SeedProfile, total: f64) {
    let levels = config.kept.len();
    eprintln!(
        "seed {}: {total:.2} s; dense {:.3} s, {} epochs, {} memorised{}",
        r.seed,
        p.dense.as_secs_f64(),
        r.dense.epochs,
        r.dense.memorised,
        if r.dense.capped { ", capped" } else { "" }
    );
    for (m, method) in config.methods.iter().enumerate() {
        let cells = &r.cells[m * levels..(m + 1) * levels];
        let epochs: u64 = cells.iter().map(|c| c.epochs as u64).sum();
        eprintln!(
            "  {:<9} {:>7.3} s  epochs {:>6} (per level {:?})  capped {}  diverged {}",
            method.name(),
            p.methods[m].as_secs_f64(),
            epochs,
            cells.iter().map(|c| c.epochs).collect::<Vec<_>>(),
            cells.iter().filter(|c| c.capped).count(),
            cells.iter().filter(|c| c.diverged).count()
        );
    }
}

/// `peff merge` of `peff memorize` shard files (read and checked): the table and JSON of the
/// unsharded run.
pub(crate) fn merge(
    inputs: &[ShardInput<'_>],
    output: &OutputArgs,
    started: Instant,
) -> anyhow::Result<()> {
    let (dest, run, results, threads) = merged(inputs, output, memorize::merge_shards, |run| {
        Ok(run.config.default_name())
    })?;
    let files = default_data_files(&run.config);
    finish(&dest, &run, &results, threads, files, started)
}

/// `peff verify` of a `peff memorize` result: checks that the data files it recorded still have
/// their SHA-256, reruns every seed of its configuration on `threads` threads (the table does
/// not depend on the thread count) and compares the rows with the recorded ones, and the CSV
/// beside the file, when there is one, with the rerun's ([`super::compare::check_table`]).
///
/// `data` (`peff verify --data DIR`) replaces the directory the result records for image
/// data; the files there must still hold the data the result records (its SHA-256), and the
/// recorded files' own paths are not checked.
pub(crate) fn verify(request: &VerifyRequest<'_>) -> anyhow::Result<()> {
    let threads = request.threads.validate()?;
    let (path, text, data) = (request.file, request.text, request.data);
    #[derive(serde::Deserialize)]
    struct Recorded {
        run: RunRecord<MemorizeConfig>,
        summary: Option<serde_json::Value>,
    }
    let shown = path.display();
    let recorded: Recorded = serde_json::from_str(text)
        .with_context(|| format!("'{shown}' is not a peff memorize result"))?;
    let config = &recorded.run.config;
    config
        .validate()
        .with_context(|| format!("'{shown}': recorded configuration"))?;
    if recorded.run.shard.is_some() {
        bail!("'{shown}' is a shard's record, not a whole run's");
    }
    let files: Vec<DataFile> = match recorded.summary.as_ref().and_then(|s| s.get("data_files")) {
        Some(v) => serde_json::from_value(v.clone())
            .with_context(|| format!("'{shown}': summary.data_files"))?,
        None => Vec::new(),
    };
    if data.is_some() && matches!(config.dataset, DataSource::Gaussian { .. }) {
        bail!("'{shown}' is a result on Gaussian data, which is generated, not read: `--data` is for image results");
    }
    if data.is_none() {
        for file in &files {
            file.check()
                .map_err(|e| anyhow::anyhow!("'{shown}': {e}"))?;
        }
    }
    let images = match &config.dataset {
        DataSource::Gaussian { .. } => None,
        DataSource::FashionMnist {
            data_sha256: want, ..
        }
        | DataSource::Cifar10 {
            data_sha256: want, ..
        } => {
            let cifar = matches!(config.dataset, DataSource::Cifar10 { .. });
            let dir = data.map(|d| d.to_path_buf()).or_else(|| {
                files.first().and_then(|f| {
                    std::path::Path::new(&f.path)
                        .parent()
                        .map(|p| p.to_path_buf())
                })
            });
            let kind = if cifar {
                DatasetArg::Cifar10
            } else {
                DatasetArg::FashionMnist
            };
            let set = load_images(kind, dir.as_deref()).with_context(|| match data {
                Some(_) => "`peff verify --data`".to_string(),
                None => format!(
                    "the data of '{shown}' (give its directory with `peff verify --data DIR`)"
                ),
            })?;
            let dir = dir.unwrap_or_else(|| PathBuf::from(DEBIAN_FASHION_MNIST_DIR));
            if set.sha256() != *want {
                bail!(
                    "'{}' does not hold the data '{shown}' was computed on",
                    dir.display()
                );
            }
            Some(set)
        }
    };
    check_memory(config, images.as_ref(), threads)
        .with_context(|| format!("'{shown}': rerunning it"))?;
    let experiment = memorize::MemorizeRun {
        record: &recorded.run,
        images: images.as_ref(),
    };
    let results = super::drive::rerun(&experiment, threads)?;
    let rows = memorize::rows(config, &results);
    let table = super::compare::check_table(path, text, &rows)?;
    // The summary (dense row, mean epochs, …) is recomputed too; its data files were checked
    // above by their SHA-256.
    let mut summary = memorize::summary(config, &results);
    if let Some(files) = recorded.summary.as_ref().and_then(|s| s.get("data_files")) {
        summary["data_files"] = files.clone();
    }
    super::compare::check_envelope(path, text, Some(&summary))?;
    println!(
        "verified: '{shown}' reproduces {table}{}",
        if files.is_empty() {
            String::new()
        } else {
            format!("; its {} data files match their SHA-256", files.len())
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 28: a tiny `--imp-rate` meant thousands of IMP levels without a word.
    #[test]
    fn deep_imp_schedules_are_warned_about_then_refused() {
        let mut config = MemorizeConfig::paper(DataSource::Gaussian {
            n: 30,
            input_dim: 30,
        });
        assert_eq!(imp_depth(&config).unwrap(), None);
        config.imp_rate = 1e-4;
        config.levels = vec![1_500];
        let warning = imp_depth(&config).unwrap().unwrap();
        assert!(warning.contains("train 1500 levels per seed"), "{warning}");
        config.methods.retain(|&m| m != crate::prune::Method::Imp);
        assert_eq!(imp_depth(&config).unwrap(), None);
        config.levels = vec![100_001];
        let err = imp_depth(&config).unwrap_err().to_string();
        assert!(
            err.contains("100001 levels") && err.contains("at most 100000"),
            "{err}"
        );
    }
}
