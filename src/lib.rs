//! peff: the effective parameter count of pruned networks,
//! `p_eff = I(m; D) + E[#kept weights]` (Kumar, Luo & Sellke, "No Free Prune", ICML 2024).
//!
//! peff trains the paper's toy MLP on every possible dataset (or a sample of them), prunes it
//! with six methods, and measures how much information each mask carries about its data:
//! exactly by enumeration, or with bias-corrected entropy estimators when sampling.
//!
//! # Layout
//!
//! The library knows no command line: [`cli`] holds every clap type and one driver per
//! subcommand, turns flags into validated configurations, calls the library and writes what it
//! returns. Imports run one way (no module imports one above it, none imports `cli`; nothing at
//! the top of `src/` imports from `experiments`):
//!
//! ```text
//! cli → experiments::{memorize, noise_corr, toy::{run, convergence, scaling, stochastic}}, bench
//!     → experiments::pipeline (the Experiment trait and the Executor every run goes through)
//!     → experiments::toy (with its report and partial files)
//!     → record, prune, info, data → model, mask
//! plot, export, info::bound: leaves that cli calls (plot takes plain structs, not result types)
//! ```
//!
//! - [`model`]: what every trainable network shares — the [`model::Model`] trait, the loss head,
//!   optimizers, the trainer, the dataset types and the pruning adapter
//!   [`model::ModelNetworks`] — beside the [`model::Networks`] trait the pruning methods see;
//!   the networks side by side: [`model::toy`] (the paper's toy MLP, its SIMD lockstep trainer
//!   and init files), [`model::mlp`] (any depth and width) and [`model::conv`] (Synaptic-Flow's
//!   ConvNet), each stating its weight index order;
//! - [`prune`]: one file per pruning method behind [`prune::Pruner`];
//! - [`data`]: the toy datasets, their multisets and multinomial weights; Gaussian memorisation
//!   data, the teacher of the noise correlation, the FashionMNIST IDX reader and the CIFAR-10
//!   binary reader (Figure 1);
//! - [`info`]: mask tallies, counts files, [`info::estimators`] (one file per estimator) and
//!   [`info::bound`] (Theorem 5.6 as a calculator);
//! - [`experiments`]: the engines ([`experiments::toy`] with its result rows
//!   ([`experiments::toy::report`]) and its shard and checkpoint files
//!   ([`experiments::toy::partial`]), a driven run with shards and checkpoints in
//!   [`experiments::toy::run`], [`experiments::toy::convergence`], [`experiments::toy::scaling`], memorisation
//!   capacity of pruned MLPs in [`experiments::memorize`], [`experiments::noise_corr`]);
//! - [`plot`]: one file per figure on a shared house style;
//! - [`record`] (the run record of every result and shard file, and the one shard-file
//!   envelope, [`record::ShardFile`]), [`export`] (formats, atomic writes, capped reads), [`mask`],
//!   [`bench`](mod@bench) (`peff bench`'s measurements, the toy's and the MLP core's).
//!
//! # Example: an exact run
//!
//! Every dataset of `n = 2` points of the default regression model, magnitude pruning at `k = 12`
//! after 200 steps; the mask entropy is at most `log2 C(21, 12)`:
//!
//! ```
//! use peff::data::DataSpace;
//! use peff::experiments::toy::{enumerate_datasets, ToyExperiment};
//! use peff::model::toy::lanes::TrainParams;
//! use peff::model::toy::{Loss, ToyShape};
//! use peff::prune::{Method, PruneSettings};
//! use peff::experiments::toy::report::exact_rows;
//!
//! let shape = ToyShape { input_dim: 3, hidden: 4, outputs: 1, loss: Loss::Mse };
//! let exp = ToyExperiment {
//!     task: "regression".to_string(),
//!     shape,
//!     space: DataSpace { input_dim: 3, n: 2 },
//!     train: TrainParams { steps: 200, lr: 0.1 },
//!     prune: PruneSettings { random_seed: 0, synflow_rounds: 100, imp_rate: 0.2, grasp_temperature: 1.0 },
//!     methods: vec![Method::Magnitude],
//!     requested_k: vec![12],
//!     init: shape.init_params(0),
//!     init_seed: Some(0),
//! };
//! exp.validate()?;
//! let tallies = exp.tally(enumerate_datasets(exp.space), false, &|_| {});
//! let rows = exact_rows(&exp, &tallies);
//! assert_eq!(rows.len(), 1);
//! let mi = rows[0].mi_bits.expect("no run diverged");
//! assert!(mi >= 0.0 && mi <= rows[0].ceiling_bits);
//! # Ok::<(), anyhow::Error>(())
//! ```
//!
//! # Example: estimators on a counts vector
//!
//! ```
//! use peff::info::estimators::{estimate_all, plugin, BootstrapConfig};
//! let counts = [10, 5, 3, 1, 1];
//! assert!((plugin(&counts)? - 1.842738).abs() < 1e-6);
//! let rows = estimate_all(&counts, 5.0, &BootstrapConfig::default())?;
//! assert!(rows.iter().all(|r| r.ci_low_bits <= r.ci_high_bits));
//! # Ok::<(), peff::info::estimators::EstimateError>(())
//! ```

#![warn(missing_docs)]
// Float comparisons must be deliberate (snapped scores, exact zeros); see `mask::snap`.
#![deny(clippy::float_cmp)]

pub mod bench;
pub mod cli;
pub mod data;
pub mod experiments;
pub mod export;
pub mod info;
pub mod input;
pub mod mask;
pub mod memory;
pub mod model;
pub mod plot;
pub mod prune;
pub mod record;
pub mod settings;
