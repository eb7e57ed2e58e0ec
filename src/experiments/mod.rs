//! The experiment engines: each takes a validated configuration and returns data (tallies,
//! rows), never touching the command line.
//!
//! - [`toy`]: the toy experiment of Appendix B.2 — every pruning method on every dataset (or a
//!   sample of datasets), masks tallied per (method, k), so `I(m; D | init) = H(m | init)`.
//! - [`run`]: one toy run as the `exact`, `sample`, `merge` and `verify` commands drive it: a
//!   shard of the datasets, checkpoints, Ctrl-C between windows, the mask-pmf hash.
//! - [`pipeline`]: the run loop every experiment shares ([`pipeline::Experiment`],
//!   [`pipeline::Executor`]) and its `--checkpoint FILE` ([`pipeline::checkpoint`]): resumed
//!   by a rerun, saved on an interval, on a stop signal and at the end.
//! - [`convergence`]: each entropy estimator against the exact value as the sample grows.
//! - [`scaling`]: exact MI over a grid of dataset sizes and input dimensions, beside `H(D)`.
//! - [`memorize`]: memorisation capacity of pruned general MLPs (Fig. 1a, 1b), per seed.
//! - [`noise_corr`]: the student network's correlation with its label noise through IMP levels
//!   and learning-rate / gradient-noise sweeps (Fig. 1d–f, Fig. 2).

pub mod convergence;
pub mod memorize;
pub mod noise_corr;
pub mod pipeline;
pub mod run;
pub mod scaling;
pub mod toy;
