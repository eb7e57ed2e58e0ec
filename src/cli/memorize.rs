//! `peff memorize`: memorisation capacity of pruned MLPs (the paper's Fig. 1a on Gaussian data,
//! Fig. 1b on noisy FashionMNIST); the engine is [`crate::experiments::memorize`].
//!
//! Validates every flag into a [`MemorizeConfig`], runs the seeds (or one `--shard i/N` of them)
//! in parallel, and writes `results/memorize-<dataset>.{csv,json}` (or a shard file for
//! `peff merge`).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};

use super::args::{parse_methods, split_list};
use super::errors::quote;
use super::exact::{progress_bar, thread_pool};
use crate::data::idx::{load_fashion_mnist_train, LabelledImages};
use crate::experiments::memorize::{
    self, Arch, DataSource, MemorizeConfig, MemorizeShard, SeedProfile, DEFAULT_LEVELS,
    MEMORISED_LOSS,
};
use crate::export::{self, render, write_atomic, Format};
use crate::model::{Loss, Optimizer};
use crate::prune::Imp;
use crate::record::{ResultFile, RunRecord, Shard};

/// Which data `peff memorize` memorises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DatasetArg {
    /// `n` points `x ~ N(0, I_d)` with random ±1 labels (Fig. 1a).
    Gaussian,
    /// FashionMNIST training images with Gaussian noise of variance 3, true labels (Fig. 1b).
    FashionMnist,
}

/// `--loss`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LossArg {
    /// Softmax cross-entropy (one output per class).
    CrossEntropy,
    /// Mean squared error on ±1 targets (Gaussian) or one-hot targets (FashionMNIST).
    Mse,
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
    /// The data: gaussian (Fig. 1a) or fashion-mnist (Fig. 1b, needs `--data`).
    #[arg(long, allow_hyphen_values = true, value_enum, default_value_t = DatasetArg::Gaussian)]
    pub dataset: DatasetArg,
    /// Directory holding train-images-idx3-ubyte and train-labels-idx1-ubyte (raw or .gz).
    #[arg(long, allow_hyphen_values = true)]
    pub data: Option<PathBuf>,
    /// FashionMNIST training points per seed (a random subset, drawn per seed).
    #[arg(long, allow_hyphen_values = true, default_value_t = 256)]
    pub train_size: i64,
    /// Variance of the Gaussian noise added to FashionMNIST pixels (scaled to [0, 1]).
    #[arg(long, allow_hyphen_values = true, default_value_t = 3.0)]
    pub noise_variance: f64,
    /// Number of seeds (networks and datasets) [default: 250 gaussian, 10 fashion-mnist].
    #[arg(long, allow_hyphen_values = true)]
    pub seeds: Option<i64>,
    /// First seed (seeds run from it upwards).
    #[arg(long, allow_hyphen_values = true, default_value_t = 0)]
    pub seed: u64,
    /// Training loss.
    #[arg(long, allow_hyphen_values = true, value_enum, default_value_t = LossArg::CrossEntropy)]
    pub loss: LossArg,
    /// Optimizer [default: gd for gaussian, adam for fashion-mnist].
    #[arg(long, allow_hyphen_values = true, value_enum)]
    pub optimizer: Option<OptimizerArg>,
    /// Learning rate [default: 1e-2 gaussian, 1e-3 fashion-mnist].
    #[arg(long, allow_hyphen_values = true)]
    pub lr: Option<f64>,
    /// Minibatch size (default: full batch).
    #[arg(long, allow_hyphen_values = true)]
    pub batch_size: Option<i64>,
    /// Hidden width.
    #[arg(long, allow_hyphen_values = true, default_value_t = 100)]
    pub width: i64,
    /// Hidden layers.
    #[arg(long, allow_hyphen_values = true, default_value_t = 2)]
    pub depth: i64,
    /// Gaussian training points n.
    #[arg(long, allow_hyphen_values = true, default_value_t = 30)]
    pub n: i64,
    /// Gaussian input dimension d.
    #[arg(long, allow_hyphen_values = true, default_value_t = 30)]
    pub input_dim: i64,
    /// Epoch cap of every training run.
    #[arg(long, allow_hyphen_values = true, default_value_t = 20_000)]
    pub max_epochs: i64,
    /// Stop a run once its loss has not improved by 1 % over this many epochs.
    #[arg(long, allow_hyphen_values = true, default_value_t = 200)]
    pub patience: i64,
    /// Comma-separated methods, or `all`: random, synflow, magnitude, imp, snip, grasp.
    #[arg(long, allow_hyphen_values = true, default_value = "all")]
    pub methods: String,
    /// Comma-separated densities in (0, 1], each moved to the nearest IMP level
    /// (default: 0.8^j, j = 3, 6, …, 30).
    #[arg(long, allow_hyphen_values = true)]
    pub densities: Option<String>,
    /// Worker threads (0: all cores); seeds run in parallel, one network per thread.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0)]
    pub threads: i64,
    /// Directory for result files.
    #[arg(long, allow_hyphen_values = true, default_value = "results")]
    pub out: PathBuf,
    /// Result file name stem (default: `memorize-<dataset>`); no path separators.
    #[arg(long, allow_hyphen_values = true, value_parser = super::args::parse_name)]
    pub name: Option<String>,
    /// Overwrite result (or shard) files that hold a result of another configuration.
    #[arg(long)]
    pub force: bool,
    /// Output format on stdout.
    #[arg(long, allow_hyphen_values = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Compute only shard i of N of the seeds (e.g. 0/10) and write a shard file for `peff merge`.
    #[arg(long, allow_hyphen_values = true)]
    pub shard: Option<String>,
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

/// The IMP levels nearest (in log density) to each requested density, descending density.
fn levels_for(list: Option<&str>, weights: usize) -> anyhow::Result<Vec<usize>> {
    let Some(list) = list else {
        return Ok(DEFAULT_LEVELS.to_vec());
    };
    let schedule = Imp { rate: 0.2 }.schedule(weights, 1);
    let items = split_list("--densities", list)?;
    let mut levels = Vec::new();
    for item in items {
        let d: f64 = item
            .parse()
            .map_err(|_| anyhow::anyhow!("`--densities`: not a number: {}", quote(item)))?;
        if !(d.is_finite() && d > 0.0 && d <= 1.0) {
            bail!("`--densities` must be in (0, 1], got {}", quote(item));
        }
        let lowest = *schedule.last().unwrap_or(&weights) as f64 / weights as f64;
        if d < lowest / 1.25 {
            bail!(
                "`--densities` {} is below the sparsest IMP level of {weights} weights (density {lowest:.3e})",
                quote(item)
            );
        }
        let level = std::iter::once(weights)
            .chain(schedule.iter().copied())
            .enumerate()
            .min_by(|a, b| {
                let dist = |k: usize| ((k as f64 / weights as f64).ln() - d.ln()).abs();
                dist(a.1).total_cmp(&dist(b.1))
            })
            .map(|(level, _)| level)
            .unwrap_or(0);
        if !levels.contains(&level) {
            levels.push(level);
        }
    }
    levels.sort_unstable();
    Ok(levels)
}

impl MemorizeArgs {
    /// Validates every flag; loads the FashionMNIST files for `--dataset fashion-mnist`.
    pub fn validate(&self) -> anyhow::Result<(MemorizeConfig, Option<LabelledImages>, usize)> {
        let fashion = self.dataset == DatasetArg::FashionMnist;
        if !fashion && self.data.is_some() {
            bail!("`--data` is only for `--dataset fashion-mnist`");
        }
        let width = in_range("--width", self.width, 1, 100_000)?;
        let depth = in_range("--depth", self.depth, 1, 100)?;
        let max_epochs = in_range("--max-epochs", self.max_epochs, 1, 100_000_000)?;
        let patience = in_range("--patience", self.patience, 1, 100_000_000)?;
        let seeds = in_range(
            "--seeds",
            self.seeds.unwrap_or(if fashion { 10 } else { 250 }),
            1,
            100_000_000,
        )? as u64;
        if self.seed.checked_add(seeds - 1).is_none() {
            bail!(
                "`--seed` {} + `--seeds` {seeds} exceeds the largest seed",
                self.seed
            );
        }
        let lr = self.lr.unwrap_or(if fashion { 1e-3 } else { 1e-2 });
        if !(lr.is_finite() && lr > 0.0) {
            bail!("`--lr` must be a finite number > 0, got {lr}");
        }
        let optimizer = match self.optimizer.unwrap_or(if fashion {
            OptimizerArg::Adam
        } else {
            OptimizerArg::Gd
        }) {
            OptimizerArg::Gd => Optimizer::sgd(lr),
            OptimizerArg::Adam => Optimizer::adam(lr),
        };
        let loss = match self.loss {
            LossArg::CrossEntropy => Loss::CrossEntropy,
            LossArg::Mse => Loss::Mse,
        };
        if self.threads < 0 || self.threads > 1024 {
            bail!(
                "`--threads` must be in [0, 1024] (0: all cores), got {}",
                self.threads
            );
        }
        let threads = if self.threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            self.threads as usize
        };
        let methods = parse_methods(&self.methods)?;
        // Every flag is checked whichever dataset it applies to.
        if !(self.noise_variance.is_finite() && self.noise_variance >= 0.0) {
            bail!(
                "`--noise-variance` must be a finite number ≥ 0, got {}",
                self.noise_variance
            );
        }
        in_range("--train-size", self.train_size, 1, MAX_POINTS)?;
        let n = in_range("--n", self.n, 1, MAX_POINTS)?;
        let input_dim = in_range("--input-dim", self.input_dim, 1, 1_000_000)?;
        let (dataset, images) = if fashion {
            let dir = self
                .data
                .as_ref()
                .context("`--data DIR` is required with `--dataset fashion-mnist`")?;
            let images = load_fashion_mnist_train(dir).context("`--data`")?;
            let count = images.images.count;
            let train_size = in_range("--train-size", self.train_size, 1, count as i64)
                .with_context(|| format!("the training files hold {count} images"))?;
            let source = DataSource::FashionMnist {
                train_size,
                noise_variance: self.noise_variance,
                images: count,
                pixels: images.images.pixels_per_image(),
                data_sha256: data_sha256(&images),
            };
            (source, Some(images))
        } else {
            (DataSource::Gaussian { n, input_dim }, None)
        };
        let batch_size = match self.batch_size {
            None => None,
            Some(b) => Some(in_range("--batch-size", b, 1, dataset.points() as i64)?),
        };
        let outputs = match (loss, &dataset) {
            (Loss::Mse, DataSource::Gaussian { .. }) => 1,
            _ => dataset.classes(),
        };
        let mut widths = vec![dataset.input_dim()];
        widths.extend(std::iter::repeat_n(width, depth));
        widths.push(outputs);
        let weights: usize = widths.windows(2).map(|w| w[0] * w[1]).sum();
        if weights > 200_000_000 {
            bail!(
                "`--width` {width} and `--depth` {depth} give {weights} weights, more than 2·10^8"
            );
        }
        let levels = levels_for(self.densities.as_deref(), weights)?;
        let kept = levels
            .iter()
            .map(|&l| MemorizeConfig::kept_at(weights, 0.2, l))
            .collect();
        let config = MemorizeConfig {
            dataset,
            loss,
            arch: Arch::Mlp { widths },
            optimizer,
            batch_size,
            max_epochs,
            plateau_epochs: patience,
            plateau_rel: 0.01,
            memorised_loss: MEMORISED_LOSS,
            methods,
            levels,
            kept,
            imp_rate: 0.2,
            synflow_rounds: 100,
            grasp_temperature: match loss {
                Loss::CrossEntropy => 200.0,
                Loss::Mse => 1.0,
            },
            seed: self.seed,
            seeds,
        };
        config.validate()?;
        Ok((config, images, threads))
    }
}

/// SHA-256 (hex) of a training set's pixels then labels.
fn data_sha256(set: &LabelledImages) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(&set.images.pixels);
    hash.update(&set.labels);
    format!("{:x}", hash.finalize())
}

/// `peff memorize`.
pub fn run(args: &MemorizeArgs) -> anyhow::Result<()> {
    let shard = args.shard.as_deref().map(Shard::parse).transpose()?;
    let (config, images, threads) = args.validate()?;
    export::check_out_dir(&args.out)?;
    let stem = args
        .name
        .clone()
        .unwrap_or_else(|| format!("memorize-{}", config.dataset.name()));
    let run = RunRecord {
        command: "memorize".to_string(),
        config: config.clone(),
        shard,
    };
    let shard_path = export::check_destination(
        &args.out,
        &stem,
        shard,
        &serde_json::to_value(&run)?,
        args.force,
    )?;
    let range = shard.unwrap_or(Shard::WHOLE).range(config.seeds);
    let stop = super::signals::install();
    let pool = thread_pool(threads)?;
    let started = Instant::now();
    let results = if args.profile {
        let mut results = Vec::new();
        for i in range.clone() {
            if stop.load(std::sync::atomic::Ordering::SeqCst) {
                bail!("interrupted; no results written");
            }
            let mut profile = SeedProfile::default();
            let t = Instant::now();
            let r = memorize::run_seed(
                &config,
                images.as_ref(),
                config.seed + i,
                Some(&mut profile),
            );
            print_profile(&config, &r, &profile, t.elapsed().as_secs_f64());
            results.push(r);
        }
        results
    } else {
        let bar = progress_bar(range.end - range.start);
        let results = pool.install(|| {
            memorize::run_seeds(&config, images.as_ref(), range.clone(), stop, &|| {
                bar.inc(1)
            })
        });
        let Some(results) = results else {
            bar.abandon();
            bail!("interrupted; no results written");
        };
        bar.finish_and_clear();
        results
    };
    if let Some(path) = shard_path {
        let file = MemorizeShard::new(run, range, results);
        write_atomic(&path, serde_json::to_string(&file)?.as_bytes())?;
        println!("{}", path.display());
        return Ok(());
    }
    finish(
        &args.out,
        &stem,
        args.format,
        &run,
        &results,
        threads,
        started,
    )
}

/// Writes the table of a whole run (`<stem>.csv`, `<stem>.json`) and prints it.
pub(crate) fn finish(
    out: &std::path::Path,
    stem: &str,
    format: Format,
    run: &RunRecord<MemorizeConfig>,
    results: &[memorize::SeedResult],
    threads: usize,
    started: Instant,
) -> anyhow::Result<()> {
    let rows = memorize::rows(&run.config, results);
    let mut file = ResultFile::new(run, threads, started.elapsed().as_secs_f64(), &rows);
    file.summary = Some(memorize::summary(&run.config, results));
    export::write_result_files(&[
        (
            out.join(format!("{stem}.csv")),
            export::to_csv(&rows)?.into_bytes(),
        ),
        (
            out.join(format!("{stem}.json")),
            (serde_json::to_string_pretty(&file)? + "\n").into_bytes(),
        ),
    ])?;
    print!("{}", render(&rows, format)?);
    Ok(())
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

/// Whether `path` reads as a `peff memorize` shard file (its `format` tag), for `peff merge`'s
/// dispatch; unreadable files are left to the toy reader's errors.
pub(crate) fn is_shard_file(path: &std::path::Path) -> bool {
    #[derive(serde::Deserialize)]
    struct Tag {
        format: String,
    }
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str::<Tag>(&text).ok())
        .is_some_and(|tag| tag.format.starts_with("peff-memorize-shard"))
}

/// `peff merge` of `peff memorize` shard files.
pub(crate) fn merge(args: &super::merge::MergeArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let parts = args
        .files
        .iter()
        .map(|p| MemorizeShard::read(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (run, results) = memorize::merge_shards(&parts)?;
    export::check_out_dir(&args.out)?;
    let stem = args
        .name
        .clone()
        .unwrap_or_else(|| format!("memorize-{}", run.config.dataset.name()));
    export::check_destination(
        &args.out,
        &stem,
        None,
        &serde_json::to_value(&run)?,
        args.force,
    )?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    finish(
        &args.out,
        &stem,
        args.format,
        &run,
        &results,
        threads,
        started,
    )
}
