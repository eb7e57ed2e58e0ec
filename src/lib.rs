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
//! returns. Imports run one way (no module imports one above it, none imports `cli`):
//!
//! ```text
//! cli → experiments::{run, convergence}, bench → partial, report → experiments::toy
//!     → prune, info, data → model, mask
//! plot, export, bound: leaves that cli calls (plot takes plain structs, not result types)
//! ```
//!
//! - [`model`]: the networks (the [`model::Networks`] trait pruning methods see, the toy MLP,
//!   its SIMD lockstep trainer, init files);
//! - [`prune`]: one file per pruning method behind [`prune::Pruner`];
//! - [`data`]: the toy datasets, their multisets and multinomial weights; Gaussian memorisation
//!   data and the FashionMNIST IDX reader (Figure 1);
//! - [`info`]: mask tallies, counts files, and [`info::estimators`] (one file per estimator);
//! - [`experiments`]: the engines ([`experiments::toy`], a driven run with shards and
//!   checkpoints in [`experiments::run`], [`experiments::convergence`], memorisation capacity of
//!   pruned MLPs in [`experiments::memorize`]);
//! - [`plot`]: one file per figure on a shared house style;
//! - [`partial`] (shard and checkpoint files), [`report`] (result rows), [`export`] (formats,
//!   atomic writes), [`mask`], [`bench`](mod@bench) (`peff bench`'s measurements), [`bound`] (Theorem 5.6).
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
//! use peff::report::exact_rows;
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
pub mod bound;
pub mod cli;
pub mod data;
pub mod experiments;
pub mod export;
pub mod info;
pub mod mask;
pub mod model;
pub mod partial;
pub mod plot;
pub mod prune;
pub mod record;
pub mod report;
