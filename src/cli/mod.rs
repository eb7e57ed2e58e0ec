//! The `peff` command line: every clap type and every subcommand's driver, and nothing else
//! of the library depends on it.
//!
//! One file per subcommand holds its `Args` and its `run`, which validates the flags into a
//! library configuration, calls the library (experiments, estimators, plots, records) and writes
//! or prints what it returns. [`args`] holds the flag groups several subcommands share
//! (`#[command(flatten)]`: output, shard, threads, pruning) and [`common`] the helpers they
//! share (progress bar, thread pool, where results go, the toy driver's last step). No command's
//! file imports another command's: what `peff merge` and `peff verify` need of each experiment
//! is one row of `EXPERIMENTS` here (its shard format, merge and verify steps), the toy
//! driver that `exact` and `sample` share is [`toy`], and what verification compares is
//! [`compare`]; every file → `args`, `common`, `compare`, `errors`, `signals`. Imports run one way: `cli` → `experiments`,
//! `plot`, `record`, `export` → `prune`, `info`, `data` → `model`, `mask`; no library module
//! imports `cli`.

pub mod args;
pub mod bench;
pub mod bound;
pub mod common;
pub mod compare;
pub mod converge;
pub mod drive;
pub mod entropy;
pub mod errors;
pub mod exact;
pub mod memorize;
pub mod merge;
pub mod noise_corr;
pub mod plot;
pub mod sample;
pub mod scaling;
pub mod signals;
pub mod stochastic;
pub mod toy;
pub mod verify;

use std::time::Instant;

use clap::{Parser, Subcommand};

use crate::experiments::memorize::MemorizeSeeds;
use crate::experiments::noise_corr::NoiseCorrSeeds;
use crate::experiments::toy::partial::TallySlice;
use crate::experiments::toy::scaling::{ScalingConfig, ScalingSlice};
use crate::experiments::toy::ToyRun;
use crate::record::ShardPayload;
use args::OutputArgs;
use common::{ShardInput, VerifyRequest};

pub use args::{Task, ToyArgs};

/// peff: how much information a pruning mask carries about its training data.
#[derive(Debug, Parser)]
#[command(name = "peff", version, about, long_about = None, arg_required_else_help = true)]
pub struct Cli {
    /// What to compute.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Exact H(m | init) = I(m; D | init) per method and k, by enumerating every dataset.
    ///
    /// Examples:
    ///   peff exact
    ///   peff exact --task classification --methods imp,snip --format csv
    ///   peff exact --n 4 --steps 500 --threads 1
    #[command(verbatim_doc_comment)]
    Exact(ToyArgs),
    /// Sampled estimate of the mask entropy from N random datasets.
    ///
    /// Examples:
    ///   peff sample --samples 32000
    ///   peff sample --n 8 --samples 10000 --seed 7
    #[command(verbatim_doc_comment)]
    Sample(sample::SampleArgs),
    /// Every entropy estimator, with bootstrap intervals, on a counts file.
    ///
    /// Input: one count per line, or CSV `mask,count` (optional header); `-` reads stdin.
    /// Examples:
    ///   peff entropy counts.txt
    ///   peff entropy masks.csv --alphabet 352716 --format csv
    ///   printf '10\n5\n3\n1\n1\n' | peff entropy -
    #[command(verbatim_doc_comment)]
    Entropy(entropy::EntropyArgs),
    /// Estimator convergence to the exact entropy as the number of sampled datasets grows.
    ///
    /// Examples:
    ///   peff converge
    ///   peff converge --samples 500,2000,8000 --k 12,9 --methods imp,magnitude
    #[command(verbatim_doc_comment)]
    Converge(converge::ConvergeArgs),
    /// SVG figures from result files: figure3 (MI vs sparsity), convergence (estimators vs N),
    /// figure1a (memorised fraction vs density), figure1b and figure1c (train accuracy vs
    /// density, MLP and ConvNet), noise-corr (C vs epoch), scaling (I vs n) and stochastic (I per
    /// training-noise setting).
    ///
    /// Examples:
    ///   peff plot figure3
    ///   peff plot figure3 results/exact-regression.csv --out fig.svg
    ///   peff plot convergence
    ///   peff plot figure1a
    ///   peff plot figure1b results/memorize-fashion-mnist.csv --out results/figure1b.svg
    ///   peff plot figure1c
    ///   peff plot noise-corr results/noise-corr-lr.csv
    ///   peff plot scaling --k 16,9
    ///   peff plot stochastic results/stochastic-noise.csv
    #[command(verbatim_doc_comment)]
    Plot(plot::PlotArgs),
    /// Memorisation capacity of pruned networks vs density (Fig. 1a Gaussian, Fig. 1b FashionMNIST, Fig. 1c ConvNet).
    ///
    /// Examples:
    ///   peff memorize --seeds 250
    ///   peff memorize --seeds 16 --methods imp,random --densities 0.5,0.1 --format csv
    ///   peff memorize --dataset fashion-mnist --data ~/fashion --train-size 256
    ///   peff memorize --shard 3/10 --out shards   (then: peff merge shards/*.json)
    #[command(verbatim_doc_comment)]
    Memorize(memorize::MemorizeArgs),
    /// Merges the shard files of `--shard` runs (exact, sample, memorize, noise-corr, scaling) into the table of the unsharded run.
    ///
    /// Examples:
    ///   peff merge results/exact-regression.shard-*-of-7.json
    ///   peff merge shards/*.json --format csv --out results
    #[command(verbatim_doc_comment)]
    Merge(merge::MergeArgs),
    /// Reruns the configuration recorded in a JSON result (exact, sample, memorize, scaling, noise-corr, stochastic, or a merge of their shards) and checks its table (and the mask-pmf hash of exact and sample).
    ///
    /// Examples:
    ///   peff verify results/exact-regression.json
    ///   peff verify results/noise-corr.json --threads 4
    ///   peff verify results/scaling-n.json
    #[command(verbatim_doc_comment)]
    Verify(verify::VerifyArgs),
    /// Theorem 5.6 of the paper as a calculator: a lower bound on the Lipschitz constant.
    ///
    /// Example:
    ///   peff bound --n 1000 --d 50 --epsilon 0.1 --delta 0.05 --c 1 --w 10 --j 1 --mi 20 --k 100
    #[command(verbatim_doc_comment)]
    Bound(bound::BoundArgs),
    /// Toy-trainer throughput (network-steps/s, 1 thread and all threads) and its fraction of the FMA peak; MLP-core steps/s and GEMM fraction.
    ///
    /// Examples:
    ///   peff bench
    ///   peff bench --seconds 10 --format json
    ///   peff bench --exact
    #[command(verbatim_doc_comment)]
    Bench(bench::BenchArgs),
    /// Correlation of a student network with its label noise through IMP, or over a sweep.
    ///
    /// Examples:
    ///   peff noise-corr                      (Fig. 1d: 21 prunes, 25 seeds)
    ///   peff noise-corr --prunes 30          (Fig. 2)
    ///   peff noise-corr --sweep lr           (Fig. 1e)
    ///   peff noise-corr --sweep grad-noise --values 0,1e-3,1e-2
    #[command(verbatim_doc_comment)]
    NoiseCorr(noise_corr::NoiseCorrArgs),
    /// Exact I(m; D | init) over a grid of dataset sizes n and input dimensions d, beside H(D).
    ///
    /// Examples:
    ///   peff scaling --n 1..10 --name scaling-n
    ///   peff scaling --input-dim 4 --n 6 --name scaling-d4
    ///   peff scaling --n 1..5 --methods imp,snip --k 16,9,5 --format csv
    #[command(verbatim_doc_comment)]
    Scaling(scaling::ScalingArgs),
    /// I(m; D | init) = H(m | init) − E_D H(m | D, init) under stochastic training (minibatches,
    /// gradient noise; S seeds per dataset), for the mask and its summaries; table and SVG.
    ///
    /// Examples:
    ///   peff stochastic                                   (B = 1,2,3,6 and σ² sweep at n = 6)
    ///   peff stochastic --batch-size 2 --grad-noise 0.01 --grid product --train-seeds 16
    ///   peff stochastic --n 2 --batch-size 1 --grad-noise 0.01 --train-seeds 8,16,32,64,1024
    #[command(verbatim_doc_comment)]
    Stochastic(stochastic::StochasticArgs),
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Exact(args) => exact::run(&args),
        Command::Sample(args) => sample::run(&args),
        Command::Merge(args) => merge::run(&args),
        Command::Memorize(args) => memorize::run(&args),
        Command::Entropy(args) => entropy::run(&args),
        Command::Converge(args) => converge::run(&args),
        Command::Plot(args) => plot::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Bound(args) => bound::run(&args),
        Command::NoiseCorr(args) => noise_corr::run(&args),
        Command::Scaling(args) => scaling::run(&args),
        Command::Stochastic(args) => stochastic::run(&args),
    }
}

/// One experiment as the drivers `peff merge` and `peff verify` see it. A new experiment adds
/// its row to `EXPERIMENTS`; neither driver names a command.
pub(crate) struct Experiment {
    /// The `run.command` of its results (`exact` and `sample` share the toy's row).
    pub commands: &'static [&'static str],
    /// Its shard files, if its runs can be sharded.
    pub shards: Option<ShardKind>,
    /// Reruns a result's configuration and compares (`peff verify`).
    pub verify: fn(&VerifyRequest<'_>) -> anyhow::Result<()>,
    /// Whether its results read data files that `peff verify --data DIR` may relocate.
    pub data_files: bool,
}

/// The shard files of one experiment.
pub(crate) struct ShardKind {
    /// Their format tag ([`ShardPayload::FORMAT`]).
    pub format: &'static str,
    /// What one is, in words ([`ShardPayload::WHAT`]).
    pub what: &'static str,
    /// Whether the same format is also the experiment's checkpoint (a file without a shard).
    pub doubles_as_checkpoint: bool,
    /// The shard files of one run into the unsharded run's result files (`peff merge`).
    pub merge: fn(&[ShardInput<'_>], &OutputArgs, Instant) -> anyhow::Result<()>,
}

/// Every experiment whose results `peff verify` reruns, and whose shards `peff merge` reads.
pub(crate) const EXPERIMENTS: &[Experiment] =
    &[
        Experiment {
            commands: &["exact", "sample"],
            shards: Some(ShardKind {
                format: <TallySlice as ShardPayload<ToyRun>>::FORMAT,
                what: <TallySlice as ShardPayload<ToyRun>>::WHAT,
                doubles_as_checkpoint: true,
                merge: toy::merge,
            }),
            verify: toy::verify,
            data_files: false,
        },
        Experiment {
            commands: &["memorize"],
            shards: Some(ShardKind {
                format: <MemorizeSeeds as ShardPayload<
                    crate::experiments::memorize::MemorizeConfig,
                >>::FORMAT,
                what: <MemorizeSeeds as ShardPayload<
                    crate::experiments::memorize::MemorizeConfig,
                >>::WHAT,
                doubles_as_checkpoint: false,
                merge: memorize::merge,
            }),
            verify: memorize::verify,
            data_files: true,
        },
        Experiment {
            commands: &[noise_corr::COMMAND],
            shards: Some(ShardKind {
                format: <NoiseCorrSeeds as ShardPayload<
                    crate::experiments::noise_corr::NoiseCorrConfig,
                >>::FORMAT,
                what: <NoiseCorrSeeds as ShardPayload<
                    crate::experiments::noise_corr::NoiseCorrConfig,
                >>::WHAT,
                doubles_as_checkpoint: false,
                merge: noise_corr::merge,
            }),
            verify: noise_corr::verify,
            data_files: false,
        },
        Experiment {
            commands: &["scaling"],
            shards: Some(ShardKind {
                format: <ScalingSlice as ShardPayload<ScalingConfig>>::FORMAT,
                what: <ScalingSlice as ShardPayload<ScalingConfig>>::WHAT,
                doubles_as_checkpoint: false,
                merge: scaling::merge,
            }),
            verify: scaling::verify,
            data_files: false,
        },
        Experiment {
            commands: &["stochastic"],
            shards: None,
            verify: stochastic::verify,
            data_files: false,
        },
    ];

/// The row of `EXPERIMENTS` whose results `run.command` names.
pub(crate) fn experiment_of_command(command: &str) -> Option<&'static Experiment> {
    EXPERIMENTS.iter().find(|e| e.commands.contains(&command))
}

/// The shard files of the format tag `format`, with their experiment's row.
pub(crate) fn shards_of_format(format: &str) -> Option<&'static ShardKind> {
    EXPERIMENTS
        .iter()
        .filter_map(|e| e.shards.as_ref())
        .find(|s| s.format == format)
}
